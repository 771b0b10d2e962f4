"""Tags whose other parts tell same-named entries apart, on the SRD: `{@classFeature Extra
Attack|Fighter||5}` is the Fighter's Extra Attack (the SRD has one for five classes), at the
level it names; a class that has no feature of that name is a problem with the classes that
do (and quick fixes), never another class's feature. Resolved alike in documents over real
stdio and in cards; what completion and `d5e/tagFor` insert names the class when names collide.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio
from lsprotocol import types
from pytest_lsp import LanguageClient

from d5e_daemon import queries, tagtext
from d5e_daemon.app import App
from d5e_daemon.campaign import Campaign
from d5e_daemon.features.documents import resolve_tags
from d5e_daemon.features.tags import Resolver, card_links, tag_for_entry
from d5e_daemon.protocol import ResolveTagsParams, TagForParams
from d5e_daemon.tagsyntax import tags_in_line

from .conftest import start_client


def resolve(app: App, text: str) -> tuple[str | None, str | None, str]:
    (tag,) = tags_in_line(0, text)
    found = Resolver(app).resolve(tag)
    return (found.row.qualified_ref if found.row else None, found.code, found.message)


def test_a_class_feature_tag_means_its_class_s_feature(app: App) -> None:
    fighter = "srd-2014:features/extra-attack-1"  # the SRD's slug does not say the class
    assert resolve(app, "{@classFeature Extra Attack|Fighter||5}")[0] == fighter
    assert resolve(app, "{@classFeature Extra Attack|fighter|PHB|5}")[0] == fighter
    assert resolve(app, "{@classFeature Extra Attack|Monk||5}")[0] == (
        "srd-2014:features/monk-extra-attack"
    )
    assert resolve(app, "{@classFeature Extra Attack|Paladin||5||twice}")[0] == (
        "srd-2014:features/paladin-extra-attack"
    )
    # the level picks among a class's same-named features
    assert resolve(app, "{@classFeature Ability Score Improvement|Fighter||6}")[0] == (
        "srd-2014:features/fighter-ability-score-improvement-2"
    )
    assert resolve(app, "{@classFeature Ability Score Improvement|Rogue||10}")[0] == (
        "srd-2014:features/rogue-ability-score-improvement-3"
    )
    # without a class the name alone decides, as before
    assert resolve(app, "{@classFeature Extra Attack}")[1] is None


def test_the_2024_srd_levels_read_as_numbers(app2024: App) -> None:
    assert resolve(app2024, "{@classFeature Extra Attack|Ranger|XPHB|5|XPHB}")[0] == (
        "srd-2024:features/ranger-extra-attack"
    )
    assert resolve(app2024, "{@classFeature Ability Score Improvement|Fighter||4}")[0] == (
        "srd-2024:features/fighter-ability-score-improvement"
    )
    assert resolve(app2024, "{@classFeature Extra Attack|Rogue||5}")[1] == "unknown-ref"


def test_a_class_without_that_feature_is_a_problem_naming_the_classes_that_have_it(
    app: App,
) -> None:
    ref, code, message = resolve(app, "{@classFeature Extra Attack|Wizard||5}")
    assert (ref, code) == (None, "unknown-ref")
    assert message.startswith(
        "no class feature 'Extra Attack' of Wizard; there is one of Barbarian, Fighter, Monk, "
        "Paladin and Ranger; did you mean "
    )
    (tag,) = tags_in_line(0, "{@classFeature Extra Attack|Wizard||5|PHB|two attacks}")
    fixes = Resolver(app).resolve(tag).fixes
    assert [f.text for f in fixes] == [
        "{@classFeature Extra Attack|Barbarian||5|PHB|two attacks}",
        "{@classFeature Extra Attack|Fighter||5|PHB|two attacks}",
        "{@classFeature Extra Attack|Monk||5|PHB|two attacks}",
    ]


def test_subclass_features_subclasses_and_a_class_tag_naming_a_subclass(app: App) -> None:
    assert resolve(app, "{@subclassFeature Improved Critical|Fighter||Champion||3}")[0] == (
        "srd-2014:features/improved-critical"
    )
    ref, code, message = resolve(app, "{@subclassFeature Improved Critical|Fighter||Thief||3}")
    assert (ref, code) == (None, "unknown-ref")
    assert message.startswith(
        "no subclass feature 'Improved Critical' of Fighter (Thief); there is one of "
        "Fighter (Champion); did you mean "
        '"{@subclassFeature Improved Critical|Fighter||Champion||3}"'
    )
    assert resolve(app, "{@subclass Champion|Fighter}")[0] == "srd-2014:subclasses/champion"
    assert resolve(app, "{@subclass Champion|Wizard}")[1] == "unknown-ref"
    # 5etools' class tag with a subclass part points at the subclass
    assert resolve(app, "{@class Fighter|PHB|Champion|Champion}")[0] == (
        "srd-2014:subclasses/champion"
    )
    assert resolve(app, "{@class Fighter|PHB|the fighter}")[0] == "srd-2014:classes/fighter"
    ref, code, message = resolve(app, "{@class Fighter|PHB|champs|Champio}")
    assert (ref, code) == (None, "unknown-ref")
    assert '"{@class Fighter|PHB|champs|Champion}"' in message


def test_a_subclass_named_as_the_other_srd_names_it_is_the_profile_s(app: App) -> None:
    """`{@subclass Life Domain|cleric}` (the 2024 SRD's name, 5etools' too) in a 2014 profile
    is its Life subclass, with a note and a fix to the name its SRD uses: it said the
    subclass is only in srd-2024, and offered nothing."""
    assert resolve(app, "{@subclass Life Domain|cleric}") == (
        "srd-2014:subclasses/life",
        "alias",
        "Life Domain is called Life in srd-2014",
    )
    assert resolve(app, "{@subclass Circle of the Land|Druid}")[0] == "srd-2014:subclasses/land"
    assert resolve(app, "{@subclass Life Domain|Wizard}")[0] is None  # not the Wizard's


def test_a_subclass_named_as_its_srd_names_it_is_that_one(app2024: App) -> None:
    assert resolve(app2024, "{@subclass Life Domain|cleric}") == (
        "srd-2024:subclasses/life-domain",
        None,
        "",
    )


def test_a_race_tag_names_a_subrace_as_5etools_writes_it(app: App) -> None:
    assert resolve(app, "{@race Dwarf (Hill)|PHB}")[0] == "srd-2014:subraces/hill-dwarf"
    assert resolve(app, "{@race Elf (High)}")[0] == "srd-2014:subraces/high-elf"
    assert resolve(app, "{@race Hill Dwarf}")[0] == "srd-2014:subraces/hill-dwarf"
    assert resolve(app, "{@race Dwarf|PHB}")[0] == "srd-2014:races/dwarf"
    assert resolve(app, "{@race Dwarf (Mountain)|PHB}")[1] == "unknown-ref"
    assert tagtext.render("{@race Dwarf (Hill)||hill dwarves}", card_links(app)) == (
        "[hill dwarves](d5e://srd-2014/subraces/hill-dwarf.md)"
    )


def test_an_optional_feature_tag_finds_the_srd_s_feature_of_that_kind(app: App) -> None:
    assert resolve(app, "{@optfeature Agonizing Blast|PHB}")[0] == (
        "srd-2014:features/eldritch-invocation-agonizing-blast"
    )
    assert resolve(app, "{@optfeature Quickened Spell}")[0] == (
        "srd-2014:features/metamagic-quickened-spell"
    )
    ref = resolve(app, "{@optfeature Archery|PHB}")[0]
    assert ref is not None and ref.endswith("fighting-style-archery")
    assert resolve(app, "{@optfeature Agonizing Bolt}")[2].startswith(
        "unknown optional feature 'Agonizing Bolt'"
    )
    # a British spelling is the SRD's feature (names.spelling_forms), as in a lookup
    assert resolve(app, "{@optfeature Agonising Blast}")[0] == (
        "srd-2014:features/eldritch-invocation-agonizing-blast"
    )


def test_a_bonus_item_is_the_srd_s_generic_variant(app: App) -> None:
    assert resolve(app, "{@item +1 Longsword|DMG}")[0] == "srd-2014:magic-items/weapon-1"
    assert resolve(app, "{@item +2 chain mail}")[0] == "srd-2014:magic-items/armor-2"
    assert resolve(app, "{@item +3 arrow|DMG}")[0] == "srd-2014:magic-items/ammunition-3"
    assert resolve(app, "{@item +1 nonsense}")[1] == "unknown-ref"
    assert tagtext.render("{@item +1 longsword|DMG|a +1 longsword}", card_links(app)) == (
        "[a +1 longsword](d5e://srd-2014/magic-items/weapon-1.md)"
    )


def test_a_bonus_item_of_the_2024_srd(app2024: App) -> None:
    assert resolve(app2024, "{@item +1 Longsword|XDMG}")[0] == "srd-2024:magic-items/weapon-1"
    assert resolve(app2024, "{@item +1 Shield|XDMG}")[0] == "srd-2024:magic-items/shield-1"
    assert resolve(app2024, "{@item +2 Chain Mail}")[0] == "srd-2024:magic-items/armor-2"


def test_item_properties_and_types_by_their_5etools_codes(app: App) -> None:
    assert resolve(app, "{@itemProperty T|PHB}")[0] == "srd-2014:weapon-properties/thrown"
    assert resolve(app, "{@itemProperty 2h}")[0] == "srd-2014:weapon-properties/two-handed"
    assert resolve(app, "{@itemProperty Versatile}")[0] == "srd-2014:weapon-properties/versatile"
    text = "{@itemProperty T|PHB}, {@itemProperty LD|PHB|loading} and {@itemType M|PHB}"
    assert tagtext.render(text, card_links(app)) == (
        "[Thrown](d5e://srd-2014/weapon-properties/thrown.md), "
        "[loading](d5e://srd-2014/weapon-properties/loading.md) and "
        "[Melee Weapon](d5e://srd-2014/equipment-categories/melee-weapons.md)"
    )


def test_cards_link_the_feature_of_the_class_the_tag_names(app: App) -> None:
    text = (
        "{@classFeature Extra Attack|Fighter||5}, {@classFeature Extra Attack|Ranger||5|PHB|"
        "the ranger's}, {@classFeature Extra Attack|Wizard||5} and "
        "{@class Fighter|PHB|a champion|Champion}"
    )
    assert tagtext.render(text, card_links(app)) == (
        "[Extra Attack](d5e://srd-2014/features/extra-attack-1.md), "
        "[the ranger's](d5e://srd-2014/features/ranger-extra-attack.md), "
        "Extra Attack and [a champion](d5e://srd-2014/subclasses/champion.md)"
    )


def test_resolve_tags_links_the_class_s_feature_and_suggests_whole_tags(app: App) -> None:
    text = "{@classFeature Extra Attack|Monk||5} and {@classFeature Extra Attack|Wizard||5}"
    result = resolve_tags(app, ResolveTagsParams(text=text))
    assert [t.ref for t in result.tags] == ["features/monk-extra-attack"]
    assert result.text.startswith("[Extra Attack](d5e://srd-2014/features/monk-extra-attack.md)")
    (unknown,) = result.unknown
    assert unknown.suggestions[:2] == [
        "{@classFeature Extra Attack|Barbarian||5}",
        "{@classFeature Extra Attack|Fighter||5}",
    ]


def test_tag_for_names_the_class_when_names_collide(app: App) -> None:
    def tag_for(ref: str) -> str:
        return tag_for_entry(app, TagForParams(ref=ref)).text

    assert tag_for("srd-2014:features/extra-attack-1") == (
        "{@classfeature extra attack|Fighter||5}"
    )
    assert tag_for("features/fighter-ability-score-improvement-2") == (
        "{@classfeature ability score improvement|Fighter||6}"
    )
    assert tag_for("features/improved-critical") == "{@classfeature improved critical}"
    # what it writes resolves to the entry it was asked for
    for ref in ("features/monk-extra-attack", "features/rogue-ability-score-improvement-3"):
        assert resolve(app, tag_for(ref))[0] == f"srd-2014:{ref}"


def test_references_tell_the_classes_features_apart(app: App, tmp_path: Path) -> None:
    (tmp_path / "party.md").write_text(
        "Mira: {@classFeature Extra Attack|Fighter||5}.\n"
        "Oak: {@classFeature Extra Attack|Monk||5}, {@classFeature Extra Attack|Fighter||5}.\n"
    )
    campaign = Campaign(tmp_path, Resolver(app))

    def mentions(slug: str) -> list[tuple[int, int]]:
        row = queries.entry_in_pack(app.conn, "srd-2014", "features", slug)
        assert row is not None
        return [(m.line, m.start) for m in campaign.mentions(row.id)]

    assert mentions("extra-attack-1") == [(0, 6), (1, 43)]
    assert mentions("monk-extra-attack") == [(1, 5)]
    assert mentions("barbarian-extra-attack") == []


# -- over real stdio --------------------------------------------------------------------------

URI = "file:///campaign/fighters.md"
TEXT = (
    "# Fighters\n"
    "At 5th level: {@classFeature Extra Attack|Fighter||5}.\n"
    "Not this: {@classFeature Extra Attack|Wizard||5}.\n"
    "{@classfeature extra att\n"
)


@pytest_asyncio.fixture
async def fighters(db_path: Path) -> AsyncIterator[LanguageClient]:
    client = await start_client(db_path)
    waiting = asyncio.ensure_future(client.wait_for_notification("textDocument/publishDiagnostics"))
    await asyncio.sleep(0)
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            types.TextDocumentItem(uri=URI, language_id="markdown", version=1, text=TEXT)
        )
    )
    await asyncio.wait_for(waiting, 30)
    yield client
    await client.shutdown_session()
    await client.stop()


def at(line: int, character: int) -> types.Position:
    return types.Position(line=line, character=character)


async def test_hover_definition_diagnostics_and_fixes_over_stdio(fighters: LanguageClient) -> None:
    client = fighters
    doc = types.TextDocumentIdentifier(URI)
    hover = await client.text_document_hover_async(types.HoverParams(doc, at(1, 33)))
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    assert "- **Class:** Fighter" in hover.contents.value
    assert "The number of attacks increases to three" in hover.contents.value  # the Fighter's
    definition = await client.text_document_definition_async(types.DefinitionParams(doc, at(1, 33)))
    assert isinstance(definition, types.Location)
    assert definition.uri == "d5e://srd-2014/features/extra-attack-1.md"

    (problem,) = [d for d in client.diagnostics[URI] if d.range.start.line != 3]
    assert problem.code == "unknown-ref"
    assert (problem.range.start, problem.range.end) == (at(2, 25), at(2, 37))
    assert problem.message.startswith(
        "no class feature 'Extra Attack' of Wizard; there is one of Barbarian, Fighter"
    )
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(doc, problem.range, types.CodeActionContext(diagnostics=[problem]))
    )
    titles = [a.title for a in actions or [] if isinstance(a, types.CodeAction)]
    assert 'Replace with "{@classFeature Extra Attack|Fighter||5}"' in titles
    fix = next(
        a
        for a in actions or []
        if isinstance(a, types.CodeAction) and "Fighter" in a.title and a.edit is not None
    )
    assert fix.edit is not None and fix.edit.changes is not None
    (edit,) = fix.edit.changes[URI]
    assert (edit.range.start, edit.range.end) == (at(2, 10), at(2, 48))

    completion = await client.text_document_completion_async(types.CompletionParams(doc, at(3, 24)))
    assert completion is not None
    items = completion.items if isinstance(completion, types.CompletionList) else completion
    texts = [i.text_edit.new_text for i in items if isinstance(i.text_edit, types.TextEdit)]
    assert "extra attack|Fighter||5}" in texts
    assert "extra attack|Monk||5}" in texts
