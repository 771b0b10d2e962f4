"""Markdown features as plain functions: tags, diagnostics, quick fixes, linking, completion,
hover, definition, links, workspace symbols and the `d5e:` documents."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from lsprotocol import types
from pygls.workspace import TextDocument

from d5e_daemon.app import App
from d5e_daemon.cli import main
from d5e_daemon.errors import InvalidParams, NotFound
from d5e_daemon.features import markdown as md
from d5e_daemon.features.documents import document
from d5e_daemon.features.lookup import lookup
from d5e_daemon.features.tags import Resolver, Tag, find_tags, tag_for_entry, tags_in_line
from d5e_daemon.protocol import DocumentParams, LookupParams, TagForParams
from d5e_daemon.textdoc import LineDocument

from . import sourced_brew
from .conftest import make_app

URI = "file:///campaign/ambush.md"


def doc(text: str, language: str = "markdown") -> TextDocument:
    return TextDocument(URI, text, version=1, language_id=language)


def span(r: types.Range) -> tuple[int, int, int, int]:
    return (r.start.line, r.start.character, r.end.line, r.end.character)


def pos(line: int, character: int) -> types.Position:
    return types.Position(line=line, character=character)


@pytest.fixture
def resolver(app: App) -> Resolver:
    return Resolver(app)


@pytest.fixture
def brew(db_path: Path, tmp_path: Path) -> Iterator[tuple[Resolver, Path]]:
    source = sourced_brew.install(db_path, tmp_path / "table-brew")
    app = make_app(db_path)
    yield Resolver(app), source
    app.close()


# -- tags -------------------------------------------------------------------------------------


def test_tags_with_pack_and_display_text() -> None:
    line = "Meet {@creature goblin|srd-2014|the goblin} and {@b not a ref} {@spell  fireball }."
    assert tags_in_line(3, line) == [
        Tag(3, 5, 43, "creature", "goblin", 16, 22, "srd-2014", "the goblin"),
        Tag(3, 63, 82, "spell", "fireball", 72, 80, None, None),
    ]
    goblin = tags_in_line(0, line)[0]
    assert goblin.rewritten("creature", "hobgoblin") == "{@creature hobgoblin|srd-2014|the goblin}"
    only_display = tags_in_line(0, "{@spell fireball||the ball}")[0]
    assert (only_display.pack, only_display.display) == (None, "the ball")
    assert only_display.rewritten("spell", "fire bolt") == "{@spell fire bolt||the ball}"


# -- diagnostics and quick fixes --------------------------------------------------------------

AMBUSH = """# Ambush
The {@creature goblinn} casts {@spell firebal} at {@spel fireball}.
Then {@item bag of holding|srd-2014|the bag}, {@feat alert} and {@spell fireball|xge}.
{@condition grappled|srd-2024} {@spell } {@skill stealth} {@race elf}
"""


def test_diagnostics_name_each_problem_with_a_suggestion(resolver: Resolver) -> None:
    found = [
        (span(d.range), d.code, d.severity, d.message)
        for d in md.diagnostics(resolver, doc(AMBUSH))
    ]
    warning, info = types.DiagnosticSeverity.Warning, types.DiagnosticSeverity.Information
    assert found == [
        (
            (1, 15, 1, 22),
            "unknown-ref",
            warning,
            'unknown creature \'goblinn\'; did you mean "goblin" or "hobgoblin"?',
        ),
        (
            (1, 38, 1, 45),
            "unknown-ref",
            warning,
            'unknown spell \'firebal\'; did you mean "fireball", "delayed blast fireball" '
            'or "fire bolt"?',
        ),
        ((1, 50, 1, 66), "unknown-tag", warning, 'unknown tag @spel; did you mean "@spell"?'),
        (
            (2, 53, 2, 58),
            "disabled-pack",
            info,
            "feat 'alert' is only in srd-2024, not enabled in this profile (default, edition 2014)",
        ),
        (
            (2, 64, 2, 85),
            "unknown-pack",
            warning,
            "pack 'xge' is not installed; did you mean \"{@spell fireball}\"?",
        ),
        (
            (3, 12, 3, 20),
            "disabled-pack",
            info,
            "pack srd-2024 is not enabled in this profile (default, edition 2014)",
        ),
        ((3, 31, 3, 40), "empty-ref", warning, "{@spell} names no spell"),
    ]


def test_5etools_sources_of_the_srd_books_mean_the_srd_packs(resolver: Resolver) -> None:
    """Text pasted from 5etools names each tag's book: `|PHB`, `|MM`, `|DMG` are the 2014 SRD's,
    `|XPHB`, `|XMM`, `|XDMG` the 2024 one's (any case); other books are not in the SRD."""
    text = (
        "{@spell fireball|PHB} {@creature goblin|mm|the goblin} {@item bag of holding|Dmg}\n"
        "{@item bag of holding|XDMG} {@spell toll the dead|XGE}\n"
    )
    lines = text.splitlines()
    tags = [resolver.resolve(t) for t in find_tags(lines)]
    assert [(r.row.pack, r.row.ref) for r in tags[:3] if r.row] == [
        ("srd-2014", "spells/fireball"),
        ("srd-2014", "monsters/goblin"),
        ("srd-2014", "magic-items/bag-of-holding"),
    ]
    assert [(d.code, d.message) for d in md.diagnostics(resolver, doc(text))] == [
        ("disabled-pack", "pack srd-2024 is not enabled in this profile (default, edition 2014)"),
        ("unknown-pack", "pack 'XGE' is not installed"),
    ]


def test_plain_text_is_checked_and_other_languages_are_not() -> None:
    assert md.is_prose(doc("x", "plaintext")) and md.is_prose(doc("x", "markdown"))
    assert not md.is_prose(doc("x", "python"))


def test_quick_fixes_replace_the_name_or_the_whole_tag(resolver: Resolver) -> None:
    d = doc(AMBUSH)
    on_goblin = md.code_actions(resolver, d, types.Range(pos(1, 18), pos(1, 18)))
    assert [(a.title, a.kind, a.is_preferred) for a in on_goblin] == [
        ('Replace with "goblin"', types.CodeActionKind.QuickFix, True),
        ('Replace with "hobgoblin"', types.CodeActionKind.QuickFix, False),
    ]
    edit = on_goblin[0].edit
    assert edit is not None and edit.changes is not None
    assert [(span(e.range), e.new_text) for e in edit.changes[URI]] == [((1, 15, 1, 22), "goblin")]
    assert on_goblin[0].diagnostics and on_goblin[0].diagnostics[0].code == "unknown-ref"

    on_tag_name = md.code_actions(resolver, d, types.Range(pos(1, 52), pos(1, 52)))
    assert len(on_tag_name) == 1
    assert on_tag_name[0].edit is not None and on_tag_name[0].edit.changes is not None
    assert [(span(e.range), e.new_text) for e in on_tag_name[0].edit.changes[URI]] == [
        ((1, 50, 1, 66), "{@spell fireball}")
    ]


def test_a_name_under_the_wrong_tag_gets_the_right_tag(resolver: Resolver) -> None:
    d = doc("{@spell goblin|srd-2014|the goblin}")
    (diag,) = md.diagnostics(resolver, d)
    assert diag.message == (
        "unknown spell 'goblin' in pack srd-2014; did you mean "
        '"{@creature goblin|srd-2014|the goblin}", "{@language goblin|srd-2014|the goblin}" '
        'or "blink"?'
    )
    fix, *others = md.code_actions(resolver, d, types.Range(pos(0, 0), pos(0, 0)))
    assert fix.is_preferred and len(others) == 2
    assert fix.edit is not None and fix.edit.changes is not None
    assert [(span(e.range), e.new_text) for e in fix.edit.changes[URI]] == [
        ((0, 0, 0, 35), "{@creature goblin|srd-2014|the goblin}")
    ]


def test_ranges_are_in_utf16_code_units(resolver: Resolver) -> None:
    (diag,) = md.diagnostics(resolver, doc("🐉 {@spell firebal}"))
    assert span(diag.range) == (0, 11, 0, 18)  # the dragon is 2 UTF-16 units


def test_quick_fix_kinds_can_be_filtered(resolver: Resolver) -> None:
    d = doc("The Fireball hits {@creature goblinn}.")
    everything = types.Range(pos(0, 0), pos(0, 38))
    kinds = [a.kind for a in md.code_actions(resolver, d, everything)]
    assert kinds == [types.CodeActionKind.QuickFix] * 2 + [types.CodeActionKind.RefactorRewrite]
    only_link = md.code_actions(resolver, d, everything, [types.CodeActionKind.Refactor])
    assert [a.kind for a in only_link] == [types.CodeActionKind.RefactorRewrite]


# -- link rules terms -------------------------------------------------------------------------


def test_link_rules_terms_tags_known_names_and_skips_ambiguous_ones(resolver: Resolver) -> None:
    text = (
        "Fireball, Shield and Magic Missile; the goblin drinks a Potion of Healing.\n"
        "Already {@spell fireball}; `Fireball` in code; Half-Orc and Hunter's Mark.\n"
    )
    d = doc(text)
    (action,) = md.code_actions(resolver, d, types.Range(pos(0, 0), pos(1, 74)))
    # "Fireball" begins the line: its capital says nothing, and a one-word spell's name in
    # plain text is linked only when capitalised in a sentence (`_plain_words_named`).
    assert action.title == "Link rules terms (5); ambiguous, left alone: Shield"
    assert action.kind == types.CodeActionKind.RefactorRewrite
    assert action.edit is not None and action.edit.changes is not None
    assert [(span(e.range), e.new_text) for e in action.edit.changes[URI]] == [
        ((0, 21, 0, 34), "{@spell magic missile}"),
        ((0, 40, 0, 46), "{@creature goblin}"),
        ((0, 56, 0, 73), "{@item potion of healing}"),
        ((1, 47, 1, 55), "{@race half-orc}"),
        ((1, 60, 1, 73), "{@spell hunter's mark}"),
    ]


def test_link_plain_names_as_a_writer_means_them(resolver: Resolver) -> None:
    """In plain text, a one-word name of a spell, an item or a rule is linked only when the
    writer capitalised it in a sentence; creatures and conditions however written, a
    creature's plural too; a name that goes on into a longer capitalised name is a part of
    that other name."""
    text = (
        "A light breeze; she will fly; they sleep in the inn; travel time; a locked chest.\n"
        "Calmul casts Sleep, then Fly; the goblin falls prone.\n"
        "The Bugbear Chief, a Stone Guard and the Wand of True Polymorph; a Bugbear.\n"
        "Sleep comes slowly. Combat starts.\n"
        "**Monsters:** Bandits (6), the goblins, swarms of rats; the wands and books.\n"
        "- [ ] Kobold Inventor (a longer name); roll vs. Wolf Perception (two names).\n"
        "Two thugs guard the door, wolves set to guard the young; a ghoul that waits.\n"
        "The runes are in Draconic, and the Thief hides (one-word subclasses: never alone).\n"
        "Stone Chest\n**Northcrest Investigation:** titles. The Wolf. Then Sleep.\n"
    )
    found = [(text.splitlines()[e.line][e.start : e.end], e.new_text) for e in link(resolver, text)]
    assert found == [
        ("Sleep", "{@spell sleep}"),
        ("Fly", "{@spell fly}"),
        ("goblin", "{@creature goblin}"),
        ("prone", "{@condition prone}"),
        ("Bugbear", "{@creature bugbear}"),
        ("Bandits", "{@creature bandit||Bandits}"),  # a creature's plural, as written
        ("goblins", "{@creature goblin||goblins}"),
        ("swarms of rats", "{@creature swarm of rats||swarms of rats}"),
        ("Wolf", "{@creature wolf}"),
        ("Perception", "{@skill perception}"),
        ("thugs", "{@creature thug||thugs}"),  # "guard" twice: a verb
        ("wolves", "{@creature wolf||wolves}"),
        ("ghoul", "{@creature ghoul}"),
        ("Wolf", "{@creature wolf}"),
        ("Sleep", "{@spell sleep}"),
    ]


def link(resolver: Resolver, text: str) -> list[md.LinkEdit]:
    return md.link_text(resolver, text)[1]


def test_a_left_quote_typed_for_an_apostrophe_is_one(resolver: Resolver) -> None:
    """Smart quotes (macOS, text pasted from Word) may write an apostrophe as ‘: "Tasha‘s
    Hideous Laughter" is the name it is with ' or ’ (it was cut at the ‘, and "Hideous
    Laughter" alone linked); a ‘ before a word is a quote, left outside the tag."""
    for mark in ("'", "’", "‘"):
        text = f"Cast Mordenkainen{mark}s Sword, Tasha{mark}s Hideous Laughter and ‘Sleep’."
        assert md.link_text(resolver, text)[0] == (
            f"Cast {{@spell arcane sword||Mordenkainen{mark}s Sword}}, {{@spell hideous "
            f"laughter||Tasha{mark}s Hideous Laughter}} and ‘{{@spell sleep}}’."
        )


def test_link_rules_terms_only_inside_the_selection(resolver: Resolver) -> None:
    d = doc("Fireball and Magic Missile\n")
    (action,) = md.code_actions(resolver, d, types.Range(pos(0, 9), pos(0, 26)))
    assert action.edit is not None and action.edit.changes is not None
    assert [e.new_text for e in action.edit.changes[URI]] == ["{@spell magic missile}"]
    assert md.code_actions(resolver, d, types.Range(pos(0, 9), pos(0, 12))) == []


# -- completion -------------------------------------------------------------------------------


def items_of(result: types.CompletionList) -> list[tuple[str, str | None, str, tuple[int, ...]]]:
    out = []
    for item in result.items:
        assert isinstance(item.text_edit, types.TextEdit)
        out.append((item.label, item.detail, item.text_edit.new_text, span(item.text_edit.range)))
    return out


def test_completion_of_tag_names(resolver: Resolver) -> None:
    result = md.completion(resolver, doc("See {@s"), pos(0, 7))
    assert [(label, new) for label, _, new, _ in items_of(result)] == [
        ("spell", "spell "),
        ("subclass", "subclass "),
        ("species", "species "),
        ("subrace", "subrace "),
        ("skill", "skill "),
    ]
    assert items_of(result)[0][3] == (0, 6, 0, 7)
    assert len(md.completion(resolver, doc("{@"), pos(0, 2)).items) == 20


def test_completion_of_names_closes_the_tag(resolver: Resolver) -> None:
    result = md.completion(resolver, doc("Cast {@spell fir"), pos(0, 16))
    assert result.is_incomplete
    assert items_of(result)[:3] == [
        ("Fireball", "3rd-level evocation", "fireball}", (0, 13, 0, 16)),
        ("Fire Bolt", "Evocation cantrip", "fire bolt}", (0, 13, 0, 16)),
        ("Fire Storm", "7th-level evocation", "fire storm}", (0, 13, 0, 16)),
    ]
    assert result.items[0].data == {"ref": "srd-2014:spells/fireball"}
    assert result.items[0].label_details == types.CompletionItemLabelDetails(description="srd-2014")


def test_completion_inside_a_closed_tag_replaces_the_whole_name(resolver: Resolver) -> None:
    result = md.completion(resolver, doc("{@creature gob|srd-2014} x"), pos(0, 14))
    assert items_of(result)[0] == ("Goblin", "CR 1/4 Small humanoid", "goblin", (0, 11, 0, 14))


def test_completion_of_names_forgives_typos(resolver: Resolver) -> None:
    result = md.completion(resolver, doc("{@spell magic misile"), pos(0, 20))
    assert items_of(result)[0] == (
        "Magic Missile",
        "1st-level evocation",
        "magic missile}",
        (0, 8, 0, 20),
    )
    # the client must not filter away what the server matched with typos
    assert result.items[0].filter_text == "magic misile"


def test_completion_of_items_spans_both_item_collections(resolver: Resolver) -> None:
    def first(text: str) -> object:
        item = md.completion(resolver, doc(text), pos(0, len(text))).items[0]
        return (item.label, item.data)

    assert first("{@item longsw") == ("Longsword", {"ref": "srd-2014:equipment/longsword"})
    assert first("{@item bag of h") == (
        "Bag of Holding",
        {"ref": "srd-2014:magic-items/bag-of-holding"},
    )


def test_completion_on_a_plain_word_offers_the_tagged_form(resolver: Resolver) -> None:
    result = md.completion(resolver, doc("The wizard casts firebal"), pos(0, 24))
    first = result.items[0]
    assert items_of(result)[0] == (
        "Fireball",
        "3rd-level evocation",
        "{@spell fireball}",
        (0, 17, 0, 24),
    )
    assert first.label_details is not None
    assert first.label_details.description == "{@spell fireball}"

    several_words = md.completion(resolver, doc("I cast magic mis"), pos(0, 16))
    assert items_of(several_words)[0] == (
        "Magic Missile",
        "1st-level evocation",
        "{@spell magic missile}",
        (0, 7, 0, 16),
    )
    assert md.completion(resolver, doc("an ox"), pos(0, 5)).items == []


def test_completion_item_resolve_adds_the_card(app: App, resolver: Resolver) -> None:
    item = md.completion(resolver, doc("{@spell firebal"), pos(0, 15)).items[0]
    resolved = md.resolve_completion(app, item)
    assert isinstance(resolved.documentation, types.MarkupContent)
    assert resolved.documentation.value == lookup(app, LookupParams(ref="spells/fireball")).markdown


# -- hover, definition, links, symbols, documents ----------------------------------------------


def test_hover_shows_the_card_with_pack_and_attribution(app: App, resolver: Resolver) -> None:
    hover = md.hover(resolver, doc("A {@creature goblin|srd-2014|the goblin} waits."), pos(0, 8))
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    assert hover.range is not None and span(hover.range) == (0, 2, 0, 40)
    card = hover.contents.value
    assert card == lookup(app, LookupParams(ref="srd-2014:monsters/goblin")).markdown
    assert card.startswith("## Goblin\n\n*Small humanoid (goblinoid), neutral evil*")
    assert "(`srd-2014`, CC-BY-4.0)" in card
    assert "System Reference Document 5.1" in card
    assert md.hover(resolver, doc("A {@creature goblinn} waits."), pos(0, 8)) is None
    assert md.hover(resolver, doc("plain text"), pos(0, 3)) is None


def test_definition_of_an_srd_entry_is_its_d5e_document(app: App, resolver: Resolver) -> None:
    location = md.definition(resolver, doc("{@spell fireball}"), pos(0, 3))
    assert location == types.Location(
        uri="d5e://srd-2014/spells/fireball.md", range=types.Range(pos(0, 0), pos(0, 0))
    )
    result = document(app, DocumentParams(uri=location.uri))
    assert result.text == lookup(app, LookupParams(ref="srd-2014:spells/fireball")).markdown
    assert (result.name, result.ref, result.pack) == ("Fireball", "spells/fireball", "srd-2014")


def test_definition_of_a_homebrew_entry_is_its_source_line(brew: tuple[Resolver, Path]) -> None:
    resolver, source = brew
    location = md.definition(resolver, doc("{@spell ember lance}"), pos(0, 10))
    line = sourced_brew.SOURCE_LINE - 1
    assert location == types.Location(
        uri=source.as_uri(), range=types.Range(pos(line, 0), pos(line, 0))
    )
    assert source.read_text().splitlines()[line] == 'name = "Ember Lance"'


def test_d5e_documents_reject_bad_uris_and_unknown_entries(app: App) -> None:
    with pytest.raises(InvalidParams) as bad:
        document(app, DocumentParams(uri="d5e://srd-2014/fireball"))
    assert bad.value.data == {"path": "$.uri"}
    with pytest.raises(NotFound):
        document(app, DocumentParams(uri="d5e://srd-2014/spells/firebal.md"))


def test_document_links_point_at_entries(brew: tuple[Resolver, Path]) -> None:
    resolver, source = brew
    links = md.document_links(resolver, doc("{@spell fireball} {@spell nope} {@spell ember lance}"))
    assert [(span(link.range), link.target, link.tooltip) for link in links] == [
        ((0, 0, 0, 17), "d5e://srd-2014/spells/fireball.md", "Fireball (srd-2014:spells/fireball)"),
        (
            (0, 32, 0, 52),
            source.as_uri(),
            "Ember Lance (table-brew:spells/ember-lance)",
        ),
    ]


def test_workspace_symbols_find_entries_by_name(app: App) -> None:
    symbols = md.workspace_symbols(app, "magic misile")[:3:2]
    assert [(s.name, s.kind, s.container_name, s.location) for s in symbols] == [
        (
            "Magic Missile",
            types.SymbolKind.Function,
            "srd-2014 · spells",
            types.Location(
                uri="d5e://srd-2014/spells/magic-missile.md",
                range=types.Range(pos(0, 0), pos(0, 0)),
            ),
        ),
        (
            "Wand of Magic Missiles",
            types.SymbolKind.Object,
            "srd-2014 · magic-items",
            types.Location(
                uri="d5e://srd-2014/magic-items/wand-of-magic-missiles.md",
                range=types.Range(pos(0, 0), pos(0, 0)),
            ),
        ),
    ]
    assert md.workspace_symbols(app, "  ") == []


def test_answers_follow_the_profile_after_clear(db_path: Path) -> None:
    app = make_app(db_path)
    resolver = Resolver(app)
    d = doc("{@feat alert}")
    assert [x.code for x in md.diagnostics(resolver, d)] == ["disabled-pack"]
    app.settings = app.settings.__class__(db=app.settings.db, edition="2024")
    app.library.sync_profile()
    resolver.clear()
    assert md.diagnostics(resolver, d) == []
    app.close()


def test_tag_for_an_entry_pins_the_pack_only_when_needed(app2024: App) -> None:
    def text(ref: str) -> tuple[str, str | None]:
        result = tag_for_entry(app2024, TagForParams(ref=ref))
        return result.text, result.tag

    assert text("spells/fireball") == ("{@spell fireball}", "spell")
    assert text("srd-2024:conditions/grappled") == ("{@condition grappled}", "condition")
    assert text("srd-2014:conditions/grappled") == ("{@condition grappled|srd-2014}", "condition")
    assert text("damage-types/fire") == ("Fire", None)
    with pytest.raises(NotFound):
        tag_for_entry(app2024, TagForParams(ref="spells/firebal"))


def test_cli_check_prints_the_editor_diagnostics(
    db_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "ambush.md"
    page.write_text("# Ambush\n🐉 {@creature goblinn} and {@feat alert}\n{@spell fireball}\n")
    code = main(["check", str(page), "--db", str(db_path)])
    out = capsys.readouterr().out
    assert code == 1
    assert out.splitlines() == [
        f"{page}:2:14: warning [unknown-ref] unknown creature 'goblinn'; "
        'did you mean "goblin" or "hobgoblin"?',
        f"{page}:2:34: information [disabled-pack] feat 'alert' is only in srd-2024, "
        "not enabled in this profile (default, edition 2014)",
    ]
    page.write_text("{@spell fireball} and {@feat alert}\n")
    assert main(["check", str(page), "--json", "--db", str(db_path)]) == 0  # information only
    (only,) = json.loads(capsys.readouterr().out)
    assert (only["line"], only["column"], only["code"]) == (1, 30, "disabled-pack")


def test_cli_check_without_files_checks_the_campaign(
    db_path: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`d5e check` in a campaign (here in its chapters/ folder) checks the campaign's Markdown
    files, as `d5e references` reads them; it answered with a usage error."""
    campaign = tmp_path / "strahd"
    (campaign / "chapters").mkdir(parents=True)
    (campaign / "d5e.toml").write_text('edition = "2014"\n')
    (campaign / "chapters" / "one.md").write_text("The {@creature goblinn} waits.\n")
    (campaign / "notes.md").write_text("{@spell fireball}\n")
    monkeypatch.chdir(campaign / "chapters")
    assert main(["check", "--db", str(db_path)]) == 1
    assert capsys.readouterr().out.splitlines() == [
        "../chapters/one.md:1:16: warning [unknown-ref] unknown creature 'goblinn'; "
        'did you mean "goblin" or "hobgoblin"?'
    ]
    # a folder without Markdown files says so (it said nothing, as if all were fine)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty").mkdir()
    assert main(["check", "empty", "--db", str(db_path)]) == 0
    assert capsys.readouterr().err == "d5e: no Markdown files (*.md, *.markdown) in empty\n"


def test_cli_check_lists_every_problem_of_a_long_chapter(
    db_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`d5e check` on a chapter of more problems than an editor shows lists every one: the
    typo on its last line was left out, behind "N more problem(s) … (the first 500 are)"."""
    page = tmp_path / "long.md"
    lines = [f"The {{@creature nosuch{n}}} waits." for n in range(md.MAX_DIAGNOSTICS + 100)]
    page.write_text("\n".join([*lines, "The wizard casts {@spell fierball}.\n"]))
    assert main(["check", str(page), "--db", str(db_path)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert len(out) == md.MAX_DIAGNOSTICS + 101
    assert out[-1].startswith(f"{page}:601:26: warning [unknown-ref] unknown spell 'fierball'")
    assert not [line for line in out if "[more]" in line]


UNCLOSED = """# Unclosed
Cast {@spell fireball
A {@spell cone of cold at them. And `{@spell fire` is code, {@b bold {@spell shield} too.
```
{@spell fire
```
{@creature gob"""


def test_cli_check_warns_of_a_tag_never_closed_on_its_line(
    db_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`{@spell fireball` at the end of a line (or of the file) said nothing: the writer saw no
    link and no warning. Each unclosed tag is a warning at its `{@`, with the tag that closes
    it when some of what follows names an entry; in a code span or fence it is code."""
    page = tmp_path / "unclosed.md"
    page.write_text(UNCLOSED)
    assert main(["check", str(page), "--db", str(db_path)]) == 1
    said = ' is not closed: a tag ends with "}" on its line'
    assert capsys.readouterr().out.splitlines() == [
        f'{page}:2:6: warning [unclosed-tag] tag "{{@spell fireball"{said}; '
        'did you mean "{@spell fireball}"?',
        f'{page}:3:3: warning [unclosed-tag] tag "{{@spell cone of cold at them. And"{said}; '
        'did you mean "{@spell cone of cold}"?',
        f'{page}:3:61: warning [unclosed-tag] tag "{{@b bold"{said}',
        f'{page}:7:1: warning [unclosed-tag] tag "{{@creature gob"{said}',
    ]


def test_the_quick_fix_closes_an_unclosed_tag_after_its_name(resolver: Resolver) -> None:
    d = doc(UNCLOSED)
    (fix,) = md.code_actions(resolver, d, types.Range(pos(2, 5), pos(2, 5)))
    assert (fix.title, fix.kind, fix.is_preferred) == (
        'Replace with "{@spell cone of cold} at them. And `{@spell fire` is code, {@b bold '
        '{@spell shield} too."',
        types.CodeActionKind.QuickFix,
        True,
    )
    assert fix.edit is not None and fix.edit.changes is not None
    ((where, text),) = [(span(e.range), e.new_text) for e in fix.edit.changes[URI]]
    fixed = UNCLOSED.splitlines()[2][: where[1]] + text + UNCLOSED.splitlines()[2][where[3] :]
    assert fixed.startswith("A {@spell cone of cold} at them.")
    (at_the_end,) = md.code_actions(resolver, d, types.Range(pos(1, 21), pos(1, 21)))
    assert at_the_end.edit is not None and at_the_end.edit.changes is not None
    assert [(span(e.range), e.new_text) for e in at_the_end.edit.changes[URI]] == [
        ((1, 5, 1, 21), "{@spell fireball}")
    ]
    # nothing obvious: no fix (a format tag ends where the writer says; `gob` names nothing)
    assert md.code_actions(resolver, d, types.Range(pos(6, 3), pos(6, 3))) == []
    on_bold = md.code_actions(resolver, d, types.Range(pos(2, 62), pos(2, 62)))
    assert [a.title for a in on_bold] == [fix.title]  # the spell's, whose range holds it


def test_a_fence_opened_above_an_unclosed_tag_makes_it_code(resolver: Resolver) -> None:
    """Which lines are in a fence is the document's, not the line's: an edit that opens a fence
    above an unchanged line holding `{@spell fire` hides its warning, and closing it back
    shows it."""
    d = LineDocument(URI, "intro\n\n{@spell fire\nmore\n", version=1, language_id="markdown")
    first = md.DiagnosticsPass(resolver, d)
    first.run(10.0)
    assert [x.code for x in first.diagnostics()] == ["unclosed-tag"]
    d.apply_change(
        types.TextDocumentContentChangePartial(range=types.Range(pos(1, 0), pos(1, 0)), text="~~~")
    )
    second = md.DiagnosticsPass(resolver, d, first)
    second.run(10.0)
    assert second.diagnostics() == []
    d.apply_change(
        types.TextDocumentContentChangePartial(range=types.Range(pos(1, 0), pos(1, 3)), text="")
    )
    third = md.DiagnosticsPass(resolver, d, second)
    third.run(10.0)
    assert [x.code for x in third.diagnostics()] == ["unclosed-tag"]


def test_tags_in_code_spans_and_fences_are_code_not_checked(resolver: Resolver) -> None:
    """A writer shows tag syntax in code (`` `{@spell nosuch}` ``, a fenced example): no
    warnings there, and the tags around it are checked as before; a fence opened above an
    unchanged line hides its warning, closing it back shows it."""
    text = (
        "Write `{@spell nosuch}` or ``{@creature nobody}`` to tag; {@spell firebal} is a typo.\n"
        "```markdown\n{@spell inexample}\n```\n"
        "{@creature goblinn}\n"
    )
    d = LineDocument(URI, text, version=1, language_id="markdown")
    first = md.DiagnosticsPass(resolver, d)
    first.run(10.0)
    assert [(x.range.start.line, x.message.split(";")[0]) for x in first.diagnostics()] == [
        (0, "unknown spell 'firebal'"),
        (4, "unknown creature 'goblinn'"),
    ]
    d.apply_change(
        types.TextDocumentContentChangePartial(
            range=types.Range(pos(4, 0), pos(4, 0)), text="~~~\n"
        )
    )
    second = md.DiagnosticsPass(resolver, d, first)
    second.run(10.0)
    assert [x.range.start.line for x in second.diagnostics()] == [0]
    d.apply_change(
        types.TextDocumentContentChangePartial(range=types.Range(pos(4, 0), pos(5, 0)), text="")
    )
    third = md.DiagnosticsPass(resolver, d, second)
    third.run(10.0)
    assert [x.range.start.line for x in third.diagnostics()] == [0, 4]


def test_a_pass_works_a_slice_at_a_time_and_finds_every_suggestion(resolver: Resolver) -> None:
    d = doc("{@spell firebal} {@creature goblinn}\n{@spell magic misile} {@spell shield}")
    work = md.DiagnosticsPass(resolver, d)
    slices = 1
    while not work.run(0.0):  # no time at all: one tag per slice
        slices += 1
        assert slices < 10, "each slice must make progress"
    assert 4 <= slices <= 6  # one tag at most per slice (a line's end may take one)
    found = work.diagnostics()
    assert [x.message.split(";")[0] for x in found] == [
        "unknown spell 'firebal'",
        "unknown creature 'goblinn'",
        "unknown spell 'magic misile'",
    ]
    assert all("did you mean" in x.message for x in found)
    assert [x.message for x in found] == [x.message for x in md.diagnostics(resolver, d)]


def test_diagnostics_are_capped_with_one_saying_how_many_more(resolver: Resolver) -> None:
    lines = [f"{{@spell nosuch{i}}} {{@spell fireball}}" for i in range(md.MAX_DIAGNOSTICS + 250)]
    found = md.diagnostics(resolver, doc("\n".join(lines)))
    assert len(found) == md.MAX_DIAGNOSTICS + 1
    assert found[-1].code == "more"
    assert found[-1].message.startswith("250 more problem(s) in this document are not shown")
    assert found[-2].message.startswith(f"unknown spell 'nosuch{md.MAX_DIAGNOSTICS - 1}'")


def test_a_single_huge_line_is_worked_through_in_slices(resolver: Resolver) -> None:
    line = "".join(f"{{@foo{i} x}}" for i in range(20_000))
    work = md.DiagnosticsPass(resolver, doc(line))
    slices = 1
    while not work.run(0.001):
        slices += 1
    assert slices > 1  # a slice stops inside the line
    found = work.diagnostics()
    assert len(found) == md.MAX_DIAGNOSTICS + 1
    assert found[-1].message.startswith(f"{20_000 - md.MAX_DIAGNOSTICS} more problem(s)")


def test_link_leaves_languages_alone(resolver: Resolver) -> None:
    """A language's name after "speaks", "understands", "knows", "reads", "writes" (a list of
    them too), after "Languages:" and in "in Goblin." is the language, not the creature or the
    race named so; the creature and the race are linked elsewhere."""
    text = (
        "The chieftain speaks Common, Goblin and Orc; the kobolds understand Halfling.\n"
        "Nobody reads Orc. He shouts in Goblin. Languages: Common, Goblin\n"
        "The Orc attacks, the Goblin flees; a Halfling bard.\n"
    )
    found = [(e.line, text.splitlines()[e.line][e.start : e.end]) for e in link(resolver, text)]
    assert found == [(0, "kobolds"), (2, "Orc"), (2, "Goblin"), (2, "Halfling")]


def test_link_leaves_trade_words_used_as_words_alone(resolver: Resolver) -> None:
    """A nonplayer character's one-word name (the SRD's creatures of any race: "bandit",
    "guard", "noble", "spy") in lower case is no creature before a noun without a determiner
    ("bandit attacks", "clothes of noble cut", "stands guard outside") or after one before a
    word that is no verb ("the guard room", "a spy for"), nor as a verb after a
    pronoun or before "this" ("you spy Drow", "guard this cavern"); it is one as a sentence's
    subject or object ("the bandit dumps", "a captive bandit is", "the mage casts", "the guard
    drew": the Mage, as adventures use it) and before "stats"."""
    text = (
        "Free from bandit attacks; clothes of noble cut; she stands guard outside the guard room.\n"
        "As you spy Drow, two thugs guard this cavern.\n"
        "The bandit dumps the bag; a captive bandit is questioned; the mage casts *shield*; "
        "Noke (mage stats); the guard drew.\n"
    )
    found = [(e.line, text.splitlines()[e.line][e.start : e.end]) for e in link(resolver, text)]
    assert found == [
        (1, "Drow"),
        (1, "thugs"),
        (2, "bandit"),
        (2, "bandit"),
        (2, "mage"),
        (2, "shield"),
        (2, "mage"),
        (2, "guard"),
    ]


def linked(resolver: Resolver, text: str) -> list[tuple[int, str, str]]:
    """(line, the words written, the tag) of each link `d5e link` writes."""
    lines = text.splitlines()
    return [(e.line, lines[e.line][e.start : e.end], e.new_text) for e in link(resolver, text)]


def test_link_reads_a_spell_by_cast_spell_or_cantrip(resolver: Resolver) -> None:
    """After "cast" or before "spell" or "cantrip" a spell's name is the spell, written in lower
    case, in a longer run of capitals or named by another entry too (Light: a weapon's
    property; Shield: an armor): it was left alone ("Tam's Light cantrip", "casts Shield", "a
    knock spell", "Wren's Mage Armour spell"). Without that, the words are still words."""
    text = (
        "Tam's Light cantrip; she casts Shield; a knock spell opens it.\n"
        "Wren's Mage Armour spell holds. A light breeze; the door will not knock.\n"
    )
    assert linked(resolver, text) == [
        (0, "Light", "{@spell light}"),
        (0, "Shield", "{@spell shield}"),
        (0, "knock", "{@spell knock}"),
        (1, "Mage Armour", "{@spell mage armor||Mage Armour}"),
    ]


def test_link_takes_the_creature_of_a_word_an_item_or_a_background_names_too(
    resolver: Resolver,
) -> None:
    """A creature's name in lower case that is also an item's (the SRD's mounts), a
    background's (Acolyte) or a subclass's (Berserker) is the creature, in the plural too: it
    was left alone as ambiguous. A class's name is not taken for the creature ("the druid"),
    and the same names capitalised stay ambiguous."""
    text = "The mastiffs bark; an acolyte and the tribe's berserkers; the druid; an Acolyte.\n"
    found, skipped = md.link_edits(resolver, text.splitlines(), (0, 0), (0, len(text)))
    assert [(text[e.start : e.end], e.new_text) for e in found] == [
        ("mastiffs", "{@creature mastiff||mastiffs}"),
        ("acolyte", "{@creature acolyte}"),
        ("berserkers", "{@creature berserker||berserkers}"),
    ]
    assert skipped == ["druid", "Acolyte"]


def test_link_a_name_alone_in_a_list_item_or_a_table_cell(resolver: Resolver) -> None:
    """A name that is a list item or a table cell whole is meant as the name, though its capital
    is a sentence's: "- Fireball", "| Counterspell |"; not a table's header ("| Cover | Time
    |"), nor a name with more words in its item ("- Sleep in the inn"), nor a rule's, which
    a session's agenda lists as a topic ("- Combat")."""
    text = (
        "Spells known:\n- Fireball\n- [x] **Counterspell**\n- Sleep in the inn\n- Combat\n\n"
        "| Cover | Time |\n|---|:-:|\n| Counterspell | 1 round |\n"
    )
    assert [(n, w) for n, w, _ in linked(resolver, text)] == [
        (1, "Fireball"),
        (2, "Counterspell"),
        (8, "Counterspell"),
    ]
    # the editor's "Link rules terms" reads its lines with their line endings: the same
    doc = TextDocument("file:///spells.md", text)
    everything = types.Range(types.Position(0, 0), types.Position(9, 0))
    (action,) = md.code_actions(resolver, doc, everything, only=[md.LINK_TERMS_KIND])
    assert action.edit is not None and action.edit.changes is not None
    assert [e.range.start.line for e in action.edit.changes[doc.uri]] == [1, 2, 8]


def test_link_leaves_a_name_split_by_a_line_break_alone(resolver: Resolver) -> None:
    """A creature's name that a hard-wrapped line splits is no creature of its parts: "a giant"
    / "spider" is no Spider, "the ogre" / "zombie" no Ogre and no Zombie, "a goblin" / "boss"
    no goblin; a name that ends its line before other words is still linked."""
    text = (
        "Above the door, a giant\nspider waits, and the ogre\nzombie shambles; a goblin\n"
        "boss shouts and the wolves\nhowl.\n"
    )
    assert [(n, w) for n, w, _ in linked(resolver, text)] == [(3, "wolves")]
    doc = TextDocument("file:///wrapped.md", text)
    everything = types.Range(types.Position(0, 0), types.Position(5, 0))
    (action,) = md.code_actions(resolver, doc, everything, only=[md.LINK_TERMS_KIND])
    assert action.edit is not None and action.edit.changes is not None
    assert [e.range.start.line for e in action.edit.changes[doc.uri]] == [3]


def test_link_reads_headings_idioms_and_titles_as_writers_write_them(resolver: Resolver) -> None:
    """A bold run-in heading ending in a period is a heading ("**Guard.**"); "stands guard at",
    "Prone to fits" and a verb that begins a list item ("- Scout the temple", "- Guard post:")
    are words; a name in a title with "of the" is a part of it ("Wizards of the Coast"); "in
    Orc and" is the language; a job word after a bold creature is no creature ("**drow**
    guards"), nor is a bold creature before another's rank ("a **bandit** captain")."""
    text = (
        "**Guard.** The knight stands guard at the gate, the **drow** guards beside her.\n"
        "- Scout the temple\n- Guard post: 3 orcs\n"
        "Prone to fits, the ogre is knocked prone to the ground, invisible to scout.\n"
        "© Wizards of the Coast. Gash shouts in Orc and they charge. A **bandit** captain.\n"
    )
    assert [(n, w) for n, w, _ in linked(resolver, text)] == [
        (0, "knight"),
        (0, "drow"),
        (2, "orcs"),
        (3, "ogre"),
        (3, "prone"),
        (3, "invisible"),
    ]


def test_link_a_creature_named_again_and_names_joined_at_a_sentences_start(
    resolver: Resolver,
) -> None:
    """A one-word creature's name that is the last word of a longer one the paragraph named
    before is that creature again ("the tiger's collar" after "a saber-toothed tiger": no
    Tiger); in another paragraph it is itself. A name that begins a sentence is a name when
    "and" or "or" joins it to another of its kind ("Guidance and Resistance are…")."""
    text = (
        "Two dire wolves and a saber-toothed tiger guard the pass; the tiger's collar shines.\n"
        "\n"
        "A tiger waits.\n"
        "Guidance and Resistance are cantrips. Sleep and rest.\n"
    )
    assert [(n, w) for n, w, _ in linked(resolver, text)] == [
        (0, "dire wolves"),
        (0, "saber-toothed tiger"),
        (2, "tiger"),
        (3, "Guidance"),
        (3, "Resistance"),
    ]


def test_link_leaves_a_creature_after_the_first_word_of_its_giant_kin_alone(
    resolver: Resolver,
) -> None:
    """ "giant ice frogs", "giant blue-skinned frogs" (Frozen Sick): the word a longer
    creature's name begins with ("Giant Frog") before other words makes another creature, no
    Frog; "the frogs croak" and "giant frogs" are linked."""
    text = "The resident giant ice frogs and two giant blue-skinned frogs.\n\nThe frogs croak.\n"
    text += "\nTwo giant frogs.\n"
    assert [(n, w) for n, w, _ in linked(resolver, text)] == [(2, "frogs"), (4, "giant frogs")]


def test_link_keeps_a_plurals_apostrophe_and_leaves_hyphened_words_alone(
    resolver: Resolver,
) -> None:
    """A plural's possessive apostrophe is in the label ("the {@creature ogre||ogres'} cave":
    the tag ended before it), not a quote's that closes; a name joined by a hyphen to a word
    is a part of that word ("Dwarf-forged", "goblin-infested", "were-crocodile"), while a
    hyphenated name is read whole ("saber-toothed tiger", "Half-orc"); a skill's name before
    a modifier is the skill wherever its capital stands ("**Skills** :: Medicine +6"); a stat
    block's senses are no race's trait ("darkvision 60 ft.")."""
    text = (
        "The ogres' cave; the harpies' victims; an ogre's club. He said 'the wolves' and left.\n"
        "A Dwarf-forged wagon, goblin-infested tunnels, a were-crocodile and a saber-toothed "
        "tiger; Half-orc guards.\n"
        "**Skills** :: Medicine +6, Religion +4\n"
        "Roll 1d8: 1-sheep, 2-wolf\n"
        "**Senses** darkvision 60 ft., passive Perception 14\n"
    )
    assert [(n, w, t) for n, w, t in linked(resolver, text)] == [
        (0, "ogres'", "{@creature ogre||ogres'}"),
        (0, "harpies'", "{@creature harpy||harpies'}"),
        (0, "ogre's", "{@creature ogre||ogre's}"),
        (0, "wolves", "{@creature wolf||wolves}"),
        (1, "saber-toothed tiger", "{@creature saber-toothed tiger}"),
        (1, "Half-orc", "{@race half-orc}"),
        (1, "guards", "{@creature guard||guards}"),
        (2, "Medicine", "{@skill medicine}"),
        (2, "Religion", "{@skill religion}"),
        (3, "wolf", "{@creature wolf}"),
        (4, "Perception", "{@skill perception}"),  # no race's trait "Darkvision (60 ft.)"
    ]


def test_link_leaves_capitals_titles_and_phrases_that_are_english(resolver: Resolver) -> None:
    """A creature's name in the singular or a condition's, capitalised only because it begins
    a sentence and followed by a noun, is a word before it ("Wolf tracks", "Ghost stories",
    "Shadow falls", "Frightened villagers"; "Goblins attack", "Kobold sentries", "Prone
    creatures" are still named); a nonplayer character's name after a word that makes it a
    title or a body of people is no stat block ("the village priest", "the town guard"; "a
    captive bandit" is); a spell's name of more words followed by "of" and what it is of is
    English ("the chill touch of the grave"; "a scroll of misty step" is the spell)."""
    text = (
        "Wolf tracks circle the camp. Ghost stories are told. Shadow falls across the door.\n"
        "Frightened villagers crowd the square. Goblins attack! Kobold sentries (6-8) wait.\n"
        "Remember: Prone creatures have disadvantage.\n"
        "The village priest and the town guard watch; a captive bandit is questioned.\n"
        "The chill touch of the grave is on everything; Ilsa reads a scroll of misty step.\n"
    )
    assert [(n, w) for n, w, _ in linked(resolver, text)] == [
        (1, "Goblins"),
        (1, "Kobold"),
        (2, "Prone"),
        (3, "bandit"),
        (4, "misty step"),
    ]


def test_link_reads_a_weapon_or_an_armor_by_its_magic_bonus(resolver: Resolver) -> None:
    """A weapon or an armor written with its bonus is the magic item named by the bonus,
    the label as written ("+1 longsword", "two +1 spears", "+2 chain mail", "Longsword +1");
    a bonus to anything else is none ("+1 to hit", "+2 gp", "Perception +3", "Dagger +3,
    1d4"), nor a shield, of which the SRD 2014 has no +1 item."""
    text = (
        "She carries a +1 longsword, two +1 spears and +2 chain mail; the **Longsword +1**.\n"
        "+1 to hit, +2 gp, Perception +3, Dagger +3, 1d4, a +1 shield.\n"
    )
    assert [(n, w, t) for n, w, t in linked(resolver, text) if "+" in w] == [
        (0, "+1 longsword", "{@item weapon, +1||+1 longsword}"),
        (0, "+1 spears", "{@item weapon, +1||+1 spears}"),
        (0, "+2 chain mail", "{@item armor, +2||+2 chain mail}"),
        (0, "Longsword +1", "{@item weapon, +1||Longsword +1}"),
    ]
    problems = md.diagnostics(
        resolver, TextDocument("file:///bonus.md", md.link_text(resolver, text)[0])
    )
    assert problems == []


def test_link_in_a_2024_profile_writes_the_species_not_the_2014_race(app2024: App) -> None:
    """In a 2024 profile "the Human fighter" was linked as `{@race human}`, which 5etools (and
    d5e) reads as the 2014 race, so `d5e check` then flagged link's own tag (other-edition).
    Link writes what the tag's quick fix writes: the 2024 SRD's species, its pack named."""
    text = "The Human fighter and the Elf wizard; a Goblin casts Fireball.\n"
    assert linked(Resolver(app2024), text) == [
        (0, "Human", "{@race human|srd-2024}"),
        (0, "Elf", "{@race elf|srd-2024}"),
        (0, "Goblin", "{@creature goblin}"),  # no 2024 goblin: the 2014 one, said once
        (0, "Fireball", "{@spell fireball}"),  # the 2024 SRD has no spells
    ]
    doc = TextDocument("file:///tmp/a.md", "The {@race human|srd-2024} fighter.\n")
    assert md.diagnostics(Resolver(app2024), doc) == []
