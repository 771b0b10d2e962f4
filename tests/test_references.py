"""References across a campaign folder, the entries linking to one, symbols, stat blocks, hover
on prose names and "Link rules terms" over whole files, as plain functions; and the CLI."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from lsprotocol import types
from pygls.workspace import TextDocument

from d5e_daemon import campaign as campaign_module
from d5e_daemon.app import App
from d5e_daemon.campaign import Campaign, find_encounters
from d5e_daemon.cli import main
from d5e_daemon.errors import InvalidParams, NotFound
from d5e_daemon.features import markdown as md
from d5e_daemon.features.references import find_entry, linked_from, references
from d5e_daemon.features.tags import Resolver, find_tags
from d5e_daemon.protocol import ReferencesParams, decode
from d5e_daemon.statblocks import stat_block

ROAD = (
    "# Wolves on the road\n"
    "\n"
    "Scene 1 (road): 4 wolves; Flame's den: Flame + 2 wolves + 1 dire wolf.\n"
    "\n"
    "The **goblins** flee while the mage casts *fireball*.\n"
    "\n"
    "```encounter\n"
    "name: Flame's den\n"
    "creatures:\n"
    "  - 4: Wolf\n"
    "```\n"
)
CAMP = "A {@creature wolf} howls by the fire; `4 wolves` in code are no wolves.\n"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "campaign"
    (root / "scenes").mkdir(parents=True)
    (root / "scenes" / "road.md").write_text(ROAD)
    (root / "camp.markdown").write_text(CAMP)
    (root / "notes.txt").write_text("4 wolves (not Markdown)\n")
    (root / ".obsidian").mkdir()
    (root / ".obsidian" / "cache.md").write_text("4 wolves\n")
    (root / "node_modules").mkdir()
    (root / "node_modules" / "x.md").write_text("4 wolves\n")
    return root


@pytest.fixture
def campaign(app: App, folder: Path) -> Campaign:
    return Campaign(folder, Resolver(app))


def wolf_id(app: App) -> int:
    return find_entry(app, "monsters/wolf").id


def where(mentions: list[campaign_module.Mention], root: Path) -> list[tuple[str, int, int, str]]:
    return [(str(m.path.relative_to(root)), m.line, m.start, m.kind) for m in mentions]


def test_mentions_in_every_markdown_file_tags_and_prose(
    app: App, campaign: Campaign, folder: Path
) -> None:
    mentions = campaign.mentions(wolf_id(app))
    assert where(mentions, folder) == [
        ("camp.markdown", 0, 2, "tag"),
        ("scenes/road.md", 2, 16, "count"),
        ("scenes/road.md", 2, 47, "count"),
    ]
    assert [m.count for m in mentions] == [1, 4, 2]
    assert mentions[1].text == ROAD.splitlines()[2]
    fireball = find_entry(app, "spells/fireball").id
    assert where(campaign.mentions(fireball), folder) == [("scenes/road.md", 4, 43, "italic")]


def test_a_mention_counted_by_a_range_or_a_roll_has_both_ends(
    app: App, campaign: Campaign, folder: Path
) -> None:
    (folder / "scenes" / "pack.md").write_text("A pack of 6-8 wolves; later 1d4+1 wolves.\n")
    campaign.changed([folder / "scenes" / "pack.md"])
    mentions = [m for m in campaign.mentions(wolf_id(app)) if m.path.name == "pack.md"]
    assert [(m.text[m.start : m.end], m.count, m.count_max) for m in mentions] == [
        ("6-8 wolves", 6, 8),
        ("1d4+1 wolves", 2, 5),
    ]


def test_kept_current_by_changes_and_by_the_editors_text(
    app: App, campaign: Campaign, folder: Path
) -> None:
    wolf = wolf_id(app)
    assert len(campaign.mentions(wolf)) == 3
    road = folder / "scenes" / "road.md"
    road.write_text("No wolves any more.\n")
    new = folder / "scenes" / "new.md"
    new.write_text("Later, 3 wolves.\n")
    campaign.changed([road, new])
    assert where(campaign.mentions(wolf), folder) == [
        ("camp.markdown", 0, 2, "tag"),
        ("scenes/new.md", 0, 7, "count"),
    ]
    # unsaved text of an open document wins over the file, until it is closed
    campaign.open_text(new, ["Later, 3 wolves and 2 wolves."])
    assert len(campaign.mentions(wolf)) == 3
    campaign.close_text(new)
    assert len(campaign.mentions(wolf)) == 2
    # a folder that goes away: the next question walks again
    (folder / "scenes" / "new.md").unlink()
    road.unlink()
    (folder / "scenes").rmdir()
    campaign.changed([folder / "scenes"])
    assert where(campaign.mentions(wolf), folder) == [("camp.markdown", 0, 2, "tag")]


def test_pack_changes_read_the_prose_again(app: App, campaign: Campaign, folder: Path) -> None:
    assert len(campaign.mentions(wolf_id(app))) == 3
    old = campaign.files[folder / "scenes" / "road.md"].names
    campaign.resolver.clear()  # what the daemon does when packs or the profile change
    assert len(campaign.mentions(wolf_id(app))) == 3
    assert campaign.files[folder / "scenes" / "road.md"].names is not old


def test_an_untrusted_folder_is_read_within_bounds(
    app: App, folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.md").write_text("4 wolves\n")
    os.symlink(outside, folder / "linked-folder")
    os.symlink(outside / "secret.md", folder / "linked.md")
    (folder / "huge.md").write_text("4 wolves\n" + "x" * 2000)
    monkeypatch.setattr(campaign_module, "MAX_FILE_BYTES", 1000)
    campaign = Campaign(folder, Resolver(app))
    mentions = campaign.mentions(wolf_id(app))
    assert {m.path.name for m in mentions} == {"road.md", "camp.markdown"}
    assert set(campaign.files) == {folder / "scenes" / "road.md", folder / "camp.markdown"}
    assert campaign.skipped == {
        folder / "huge.md": "larger than 1,000 bytes",
        folder / "linked.md": "a symbolic link or not a file",
    }
    monkeypatch.setattr(campaign_module, "MAX_FILES", 1)
    few = Campaign(folder, Resolver(app))
    few.refresh()
    assert len(few.files) == 1
    assert "more than 1 Markdown files" in few.skipped.values()
    monkeypatch.setattr(campaign_module, "MAX_WALK", 3)
    walked = Campaign(folder, Resolver(app))
    walked.refresh()
    assert "more than 3 files and folders looked at" in walked.skipped.values()


def test_a_file_that_is_not_utf8_is_read_with_replacement(
    app: App, campaign: Campaign, folder: Path
) -> None:
    (folder / "latin1.md").write_bytes("Caf\xe9: 2 wolves\n".encode("latin-1"))
    paths = {m.path.name for m in campaign.mentions(wolf_id(app))}
    assert "latin1.md" in paths


def test_references_result_and_entries_linking_to_a_spell(attributed: App, folder: Path) -> None:
    app = attributed  # linked_from reads the filter attributes: made already (~1 s of CPU)
    campaign = Campaign(folder, Resolver(app))
    result = references(app, ReferencesParams(ref="spells/fireball"), campaign)
    assert result.entry.name == "Fireball" and result.files == 2
    assert [(m.line, m.kind, m.context) for m in result.mentions] == [
        (4, "italic", "The **goblins** flee while the mage casts *fireball*.")
    ]
    linked = {(e.name, e.how) for e in result.linked_from}
    assert {("Mage", "casts"), ("Lich", "casts"), ("Wand of Fireballs", "grants")} <= linked
    assert ("Necklace of Fireballs", "grants") in linked
    assert all(e.ref != "spells/fireball" for e in result.linked_from)
    counter = references(app, ReferencesParams(ref="spells/counterspell", links=True), None)
    assert counter.mentions == [] and counter.workspace is None
    assert {e.name for e in counter.linked_from} == {"Archmage", "Lich", "Mage"}
    assert (
        references(app, ReferencesParams(ref="monsters/wolf", links=False), None).linked_from == []
    )


async def test_entries_extending_one_are_linked(attributed: App, tmp_path: Path) -> None:
    from d5e_daemon.features.packs import install
    from d5e_daemon.protocol import PackInstallParams

    from .packtools import write_pack

    app = attributed  # the SRD's filter attributes made: the installed pack's are made here

    brew = write_pack(
        tmp_path / "brew",
        {
            "monsters/pup.md": "---\nname: Winter Wolf Pup\nextends: srd-2014:monsters/wolf\n---\n",
            "spells/howl.md": "---\nname: Howl\nlevel: 1\n---\nCalls {@creature wolf|srd-2014}.\n",
        },
    )
    await install(app, PackInstallParams(path=str(brew)))
    app.search.ensure_attributes()
    linked = linked_from(app, find_entry(app, "monsters/wolf"))
    assert [(e.name, e.pack, e.how) for e in linked] == [
        ("Winter Wolf Pup", "brew", "extends"),
        ("Howl", "brew", "mentions"),
    ]


def test_references_bad_params(app: App) -> None:
    with pytest.raises(InvalidParams) as bad:
        references(app, ReferencesParams(ref="fireball"), None)
    assert "invalid ref 'fireball'" in bad.value.message
    with pytest.raises(InvalidParams) as bad:
        decode({"ref": "spells/fireball", "limit": 0}, ReferencesParams)
    assert bad.value.data == {"path": "$.limit"}
    with pytest.raises(NotFound):
        references(app, ReferencesParams(ref="spells/no-such-spell"), None)


# -- symbols ----------------------------------------------------------------------------------


def test_encounters_of_a_document(app: App) -> None:
    names = Resolver(app).prose_names()
    found = find_encounters(
        [*ROAD.splitlines(), "Then 2 {@creature wolf} and 1 {@creature ogre}."], names
    )
    assert [(e.line, e.end_line, e.name, e.detail) for e in found] == [
        (
            2,
            2,
            "Scene 1 (road): 4 wolves; Flame's den: Flame + 2 wolves + 1 dire wolf.",
            "4 × Wolf, 2 × Wolf, 1 × Dire Wolf",
        ),
        (6, 10, "Flame's den", "1 creature line"),
        (11, 11, "Then 2 {@creature wolf} and 1 {@creature ogre}.", "2 × wolf, 1 × ogre"),
    ]


def test_document_symbols_encounters_then_entries_used(app: App) -> None:
    text = ROAD + "Again, *fireball*.\nTreasure: **2 potions of healing**.\n"  # no encounter
    doc = TextDocument("file:///c/road.md", text, language_id="markdown")
    symbols = md.document_symbols(Resolver(app), doc)
    assert [(s.name, s.kind, s.detail) for s in symbols] == [
        (
            "Scene 1 (road): 4 wolves; Flame's den: Flame + 2 wolves + 1 dire wolf.",
            types.SymbolKind.Event,
            "4 × Wolf, 2 × Wolf, 1 × Dire Wolf",
        ),
        ("Flame's den", types.SymbolKind.Event, "1 creature line"),
        ("Wolf", types.SymbolKind.Class, "2 mentions · srd-2014:monsters/wolf"),
        ("Dire Wolf", types.SymbolKind.Class, "1 mention · srd-2014:monsters/dire-wolf"),
        ("Goblin", types.SymbolKind.Class, "1 mention · srd-2014:monsters/goblin"),
        ("Fireball", types.SymbolKind.Function, "2 mentions · srd-2014:spells/fireball"),
        (
            "Potion of Healing",
            types.SymbolKind.Object,
            "1 mention · srd-2014:magic-items/potion-of-healing",
        ),
    ]
    assert symbols[2].range.start == types.Position(2, 16)


def test_an_encounter_line_counts_one_named_by_a_or_an(app: App) -> None:
    names = Resolver(app).prose_names()
    lines = ["Ford: 6 bandits and a bandit captain.", "2 bugbears and a goblin boss wait."]
    assert [(e.line, e.detail) for e in find_encounters(lines, names)] == [
        (0, "6 × Bandit, 1 × Bandit Captain"),
        (1, "2 × Bugbear"),  # no pack has a goblin boss: no goblin
    ]


def test_campaign_symbols_find_encounters_by_name_or_creature(campaign: Campaign) -> None:
    assert [s.name for s in md.campaign_symbols(campaign, "flame's")] == [
        "Scene 1 (road): 4 wolves; Flame's den: Flame + 2 wolves + 1 dire wolf.",
        "Flame's den",
    ]
    (road,) = md.campaign_symbols(campaign, "dire wolf")
    assert road.location.uri.endswith("/scenes/road.md")
    assert road.location.range.start.line == 2
    assert md.campaign_symbols(None, "wolf") == []


# -- hover, definition and references on prose names -----------------------------------------


def test_hover_and_definition_on_prose_names(app: App) -> None:
    resolver = Resolver(app)
    doc = TextDocument("file:///c/road.md", ROAD, language_id="markdown")
    hover = md.hover(resolver, doc, types.Position(2, 19))
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    assert hover.contents.value.startswith("## Wolf")
    assert hover.range == types.Range(types.Position(2, 16), types.Position(2, 24))
    definition = md.definition(resolver, doc, types.Position(4, 46))
    assert definition is not None and definition.uri == "d5e://srd-2014/spells/fireball.md"
    assert md.hover(resolver, doc, types.Position(0, 12)) is None  # a heading
    assert md.hover(resolver, doc, types.Position(9, 8)) is None  # an encounter block


def test_references_on_a_tag_or_a_prose_name(app: App, campaign: Campaign, folder: Path) -> None:
    resolver = Resolver(app)
    uri = (folder / "camp.markdown").as_uri()
    doc = TextDocument(uri, CAMP, language_id="markdown")
    found = md.references(resolver, campaign, doc, types.Position(0, 5))
    assert found is not None
    assert [
        (Path(loc.uri.removeprefix("file://")).name, loc.range.start.line) for loc in found
    ] == [
        ("camp.markdown", 0),
        ("road.md", 2),
        ("road.md", 2),
    ]
    with_declaration = md.references(resolver, campaign, doc, types.Position(0, 5), True)
    assert with_declaration is not None
    assert with_declaration[0].uri == "d5e://srd-2014/monsters/wolf.md"
    assert md.references(resolver, campaign, doc, types.Position(0, 30)) is None


def test_references_in_a_document_outside_the_campaign(app: App) -> None:
    doc = TextDocument(
        "file:///elsewhere/a.md", "2 wolves\n\nA **wolf**.\n", language_id="markdown"
    )
    found = md.references(Resolver(app), None, doc, types.Position(0, 3))
    assert found is not None
    assert [(loc.range.start.line, loc.range.start.character) for loc in found] == [(0, 0), (2, 4)]


def test_utf16_columns_of_mentions(app: App, campaign: Campaign, folder: Path) -> None:
    (folder / "emoji.md").write_text("🐺🐺 then 2 wolves\n")
    doc = TextDocument(
        (folder / "emoji.md").as_uri(), "🐺🐺 then 2 wolves\n", language_id="markdown"
    )
    found = md.references(Resolver(app), campaign, doc, types.Position(0, 12))
    assert found is not None
    emoji = [loc for loc in found if loc.uri.endswith("emoji.md")]
    assert [(loc.range.start.character, loc.range.end.character) for loc in emoji] == [(10, 18)]


# -- stat blocks ------------------------------------------------------------------------------


def stat_block_edit(app: App, text: str, position: types.Position) -> tuple[str, str]:
    doc = TextDocument("file:///c/a.md", text, language_id="markdown")
    action = md.stat_block_action(Resolver(app), doc, position)
    assert action is not None and action.edit is not None and action.edit.changes is not None
    (edit,) = action.edit.changes["file:///c/a.md"]
    lines = text.split("\n")
    at = edit.range.start
    assert edit.range.start == edit.range.end
    offset = sum(len(line) + 1 for line in lines[: at.line]) + at.character
    return action.title, text[:offset] + edit.new_text + text[offset:]


def test_insert_a_stat_block_below_the_paragraph(app: App) -> None:
    text = "The **goblins** attack\nfrom the trees.\n\nNext paragraph.\n"
    title, after = stat_block_edit(app, text, types.Position(0, 8))
    assert title == "Insert stat block: Goblin"
    assert after.startswith(
        "The **goblins** attack\nfrom the trees.\n\n## Goblin\n\n*Small humanoid"
    )
    assert "**Armor Class:** 15 (leather armor, shield)" in after
    assert after.endswith(
        "slashing damage.\n\n***Shortbow.*** Ranged Weapon Attack: +4 to hit, "
        "range 80/320 ft., one target. Hit: 5 (1d6 + 2) piercing damage.\n\n"
        "Next paragraph.\n"
    )
    _, spell = stat_block_edit(app, "She casts {@spell fireball}", types.Position(0, 15))
    assert spell.startswith("She casts {@spell fireball}\n\n## Fireball\n\n*3rd-level evocation*")


def test_insert_a_homebrewery_stat_block(db_path: Path) -> None:
    from .conftest import make_app

    app = make_app(db_path, statBlocks="homebrewery")
    try:
        title, after = stat_block_edit(app, "Then 4 wolves.", types.Position(0, 8))
    finally:
        app.close()
    assert title == "Insert Homebrewery stat block: Wolf"
    block = after.split("\n\n", 1)[1]
    assert block.startswith("{{monster,frame\n## Wolf\n*Medium beast, unaligned*\n___\n")
    assert "**Armor Class** :: 13 (natural armor)\n**Hit Points** :: 11 (2d8 + 2)\n" in block
    assert "\n___\n| STR | DEX | CON | INT | WIS | CHA |\n" in block
    assert "**Challenge** :: 1/4 (50 XP)\n___\n***Keen Hearing and Smell.***" in block
    assert block.endswith("\n}}")


def test_stat_block_style_is_a_checked_setting(db_path: Path) -> None:
    from .conftest import make_app

    with pytest.raises(InvalidParams) as bad:
        make_app(db_path, statBlocks="5etools")
    assert "statBlocks" in bad.value.message


def test_no_stat_block_for_what_has_none(app: App) -> None:
    doc = TextDocument(
        "file:///c/a.md", "{@condition grappled} and plain text", language_id="markdown"
    )
    resolver = Resolver(app)
    assert md.stat_block_action(resolver, doc, types.Position(0, 3)) is None
    assert md.stat_block_action(resolver, doc, types.Position(0, 30)) is None
    spells = stat_block("## Fireball\n\ntext\n", "spells", "homebrewery")
    assert spells == "## Fireball\n\ntext\n"  # Homebrewery's frame is for creatures


def test_stat_block_is_offered_among_code_actions(app: App) -> None:
    doc = TextDocument("file:///c/a.md", "The **ogre** waits.", language_id="markdown")
    at = types.Range(types.Position(0, 7), types.Position(0, 7))
    actions = md.code_actions(Resolver(app), doc, at)
    assert [a.kind for a in actions] == [md.STAT_BLOCK_KIND]
    assert md.code_actions(Resolver(app), doc, at, [types.CodeActionKind.QuickFix]) == []


# -- link rules terms over whole files --------------------------------------------------------


def test_link_text_converts_prose_and_leaves_code_headings_links_alone(app: App) -> None:
    text = (
        "# The Fireball chapter\r\n"
        "Scene 1: 4 wolves; the **goblins** flee from *fireball*.\r\n"
        "```\r\n4 wolves and Fireball\r\n```\r\n"
        "[Fireball](https://example.com) and `Fireball` and {@spell fireball} and *Shield*\r\n"
    )
    new, edits, skipped = md.link_text(Resolver(app), text)
    assert new == (
        "# The Fireball chapter\r\n"
        "Scene 1: 4 {@creature wolf||wolves}; the **{@creature goblin||goblins}** flee from "
        "*{@spell fireball}*.\r\n"
        "```\r\n4 wolves and Fireball\r\n```\r\n"
        "[Fireball](https://example.com) and `Fireball` and {@spell fireball} and "
        "*{@spell shield}*\r\n"
    )
    assert len(edits) == 4 and skipped == []
    # what it writes resolves
    resolver = Resolver(app)
    tags = find_tags(new.splitlines())
    assert all(resolver.resolve(t).row is not None for t in tags)
    assert md.link_text(resolver, new)[0] == new  # nothing left to link


# -- the CLI ----------------------------------------------------------------------------------


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_references(
    attributed_db: Path, folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        capsys, "references", "monsters/wolf", "--in", str(folder), "--db", str(attributed_db)
    )
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == f"Wolf (srd-2014:monsters/wolf): 3 mention(s) in {folder} (2 Markdown files)"
    assert lines[2].endswith("scenes/road.md:3:17: [count ×4] " + ROAD.splitlines()[2])
    code, out, _ = run(
        capsys,
        "references",
        "spells/fireball",
        "--in",
        str(folder),
        "--json",
        "--db",
        str(attributed_db),
    )
    result = json.loads(out)
    assert result["mentions"][0]["kind"] == "italic"
    assert {
        "ref": "monsters/mage",
        "pack": "srd-2014",
        "name": "Mage",
        "collection": "monsters",
        "how": "casts",
    } in result["linkedFrom"]
    # a name, as `d5e lookup` takes it (it said "invalid ref 'fireball'…: use `name`")
    code, out, _ = run(
        capsys, "references", "dire", "wolf", "--in", str(folder), "--db", str(attributed_db)
    )
    assert code == 0
    assert out.startswith("Dire Wolf (srd-2014:monsters/dire-wolf): 1 mention(s)")
    code, _, err = run(
        capsys, "references", "firebal", "--in", str(folder), "--db", str(attributed_db)
    )
    assert code == 1
    assert err.startswith("d5e: no entry named 'firebal'; did you mean srd-2014:spells/fireball")


def test_cli_link_diff_check_and_write(
    db_path: Path, folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    road = folder / "scenes" / "road.md"
    code, out, _ = run(capsys, "link", "--check", str(road), "--db", str(db_path))
    assert code == 1 and out == f"{road}: would link 6 term(s)\n"
    assert road.read_text() == ROAD
    code, out, _ = run(capsys, "link", "--diff", str(road), "--db", str(db_path))
    assert code == 0 and road.read_text() == ROAD
    assert "-Scene 1 (road): 4 wolves;" in out
    assert "+Scene 1 (road): 4 {@creature wolf||wolves}; Flame's den: Flame + 2 " in out
    code, out, _ = run(capsys, "link", str(road), "--db", str(db_path))
    assert code == 0 and out == f"{road}: linked 6 term(s)\n"
    assert "**{@creature goblin||goblins}**" in road.read_text()
    assert "```encounter\nname: Flame's den\n" in road.read_text()
    code, out, _ = run(capsys, "link", "--check", str(road), "--db", str(db_path))
    assert code == 0
    code, _, err = run(capsys, "link", str(folder / "missing.md"), "--db", str(db_path))
    assert code == 2 and "cannot read" in err


def test_cli_check_and_link_take_a_campaign_folder(
    db_path: Path, folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`d5e check notes/` said "cannot read notes: [Errno 21] Is a directory": a folder stands
    for its Markdown files, read as the campaign is (hidden folders, node_modules left out)."""
    (folder / "scenes" / "ambush.md").write_text("A {@creature goblinn} waits.\n")
    (folder / ".obsidian" / "typo.md").write_text("A {@creature goblinn}.\n")
    code, out, err = run(capsys, "check", str(folder), "--db", str(db_path))
    assert (code, err) == (1, "")
    assert out.splitlines() == [
        f"{folder / 'scenes' / 'ambush.md'}:1:14: warning [unknown-ref] unknown creature "
        """'goblinn'; did you mean "goblin" or "hobgoblin"?"""
    ]
    # a file that cannot be read is named; the others' diagnostics are still given (none were)
    missing = folder / "missing.md"
    code, out, err = run(capsys, "check", str(missing), str(folder), "--db", str(db_path))
    assert code == 2 and err.startswith(f"d5e: cannot read {missing}: ")
    assert "ambush.md:1:14: warning [unknown-ref]" in out
    code, out, _ = run(capsys, "link", "--check", str(folder), "--db", str(db_path))
    assert code == 1
    assert str(folder / "camp.markdown") in out and str(folder / "scenes" / "road.md") in out
    assert ".obsidian" not in out and "node_modules" not in out


def test_cli_link_json_names_every_file_and_each_link(
    db_path: Path, folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`d5e link --json`: per file, how many terms are (or would be) linked, each link with its
    line, column and text, and a file that cannot be read with what is wrong (exit 2)."""
    road = folder / "scenes" / "road.md"
    missing = folder / "missing.md"
    code, out, err = run(
        capsys, "link", "--check", "--json", str(road), str(missing), "--db", str(db_path)
    )
    assert code == 2 and f"cannot read {missing}" in err
    report = json.loads(out)
    assert [r["file"] for r in report] == [str(road), str(missing)]
    assert report[0]["links"] == 6 and len(report[0]["edits"]) == 6
    assert {"line": 3, "column": 19, "text": "{@creature wolf||wolves}"} in report[0]["edits"]
    assert report[1]["links"] == 0 and report[1]["error"].startswith("cannot read: ")
    assert road.read_text() == ROAD  # --check writes nothing
    code, out, _ = run(capsys, "link", "--check", "--json", str(road), "--db", str(db_path))
    assert code == 1 and json.loads(out)[0]["links"] == 6


def test_cli_link_keeps_line_ends_and_permissions_and_goes_past_a_bad_file(
    db_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "docs").mkdir()
    first, second = tmp_path / "docs" / "first.md", tmp_path / "docs" / "second.md"
    first.write_bytes(b"Intro.\r\n\r\nThe **goblins** wait with 4 wolves.\r\n")
    first.chmod(0o600)
    second.write_text("She casts *fireball*.\n")
    missing = tmp_path / "docs" / "missing.md"
    code, out, _ = run(capsys, "link", "--diff", str(first), "--db", str(db_path))
    assert out.startswith(f"--- {first}\n+++ {first}\n")  # a path as given, no "a//tmp/…"
    code, out, err = run(
        capsys, "link", str(first), str(missing), str(second), "--db", str(db_path)
    )
    assert code == 2 and f"cannot read {missing}" in err
    assert out == f"{first}: linked 2 term(s)\n{second}: linked 1 term(s)\n"
    assert first.read_bytes() == (
        b"Intro.\r\n\r\nThe **{@creature goblin||goblins}** wait with 4 "
        b"{@creature wolf||wolves}.\r\n"
    )
    assert first.stat().st_mode & 0o777 == 0o600
    assert second.read_text() == "She casts *{@spell fireball}*.\n"
    assert sorted(p.name for p in first.parent.iterdir()) == ["first.md", "second.md"]


def test_d5e_stat_block(app: App) -> None:
    from d5e_daemon.features.statblocks import stat_block_entry
    from d5e_daemon.protocol import StatBlockParams

    plain = stat_block_entry(app, StatBlockParams(name="goblin"))
    assert (plain.ref, plain.style) == ("monsters/goblin", "markdown")
    assert plain.text.startswith("## Goblin\n\n*Small humanoid")
    frame = stat_block_entry(app, StatBlockParams(ref="monsters/goblin", style="homebrewery"))
    assert frame.text.startswith("{{monster,frame\n## Goblin\n") and frame.text.endswith("}}\n")
    spell = stat_block_entry(app, StatBlockParams(name="fireball", style="homebrewery"))
    assert spell.text.startswith("## Fireball")
    with pytest.raises(NotFound) as missing:
        stat_block_entry(app, StatBlockParams(name="goblinn"))
    assert "did you mean" in missing.value.message
    with pytest.raises(InvalidParams) as bad:
        decode({"ref": "monsters/goblin", "style": "5etools"}, StatBlockParams)
    assert bad.value.data == {"path": "$.style"}


def test_cli_statblock(db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "statblock", "goblin", "--style", "homebrewery", "--db", str(db_path)
    )
    assert code == 0 and out.startswith("{{monster,frame\n## Goblin\n") and out.endswith("}}\n")
    code, out, _ = run(capsys, "statblock", "monsters/wolf", "--json", "--db", str(db_path))
    result = json.loads(out)
    assert (result["name"], result["style"]) == ("Wolf", "markdown")
    assert result["text"].startswith("## Wolf")


async def test_the_first_reading_runs_off_the_event_loop(
    app: App, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first question reads every Markdown file of the campaign in a worker thread: the
    event loop goes on (the daemon answers other requests meanwhile), questions arriving
    meanwhile wait for the same reading, and a file changed during it is read again."""
    import asyncio
    import threading

    from d5e_daemon.features.references import ready_campaign, references_in_workspace

    app.campaign = Campaign(folder, Resolver(app))
    release, threads, real = threading.Event(), set(), campaign_module.read_file

    def slow_read(*args: object) -> object:
        threads.add(threading.current_thread().name)
        assert release.wait(10)
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(campaign_module, "read_file", slow_read)
    first = asyncio.ensure_future(ready_campaign(app))
    params = decode({"ref": "monsters/wolf", "links": False}, ReferencesParams)
    second = asyncio.ensure_future(references_in_workspace(app, params))
    ticks = 0
    for _ in range(20):  # the loop runs while the folder is being read
        await asyncio.sleep(0.005)
        ticks += 1
    assert ticks == 20 and not first.done() and not second.done()
    reading = app.campaign.reading
    assert reading is not None and threads and threading.current_thread().name not in threads
    later = folder / "later.md"
    later.write_text("Then 5 wolves.\n")  # written during the reading, told by the watcher
    app.campaign.changed([later])
    release.set()
    assert await first is app.campaign and app.campaign.reading is None
    result = await second
    assert [(Path(m.path).name, m.count) for m in result.mentions] == [
        ("camp.markdown", 1),
        ("later.md", 5),
        ("road.md", 4),
        ("road.md", 2),
    ]
    assert app.campaign.walked and await ready_campaign(app) is app.campaign


async def test_a_failed_first_reading_is_tried_again(
    app: App, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from d5e_daemon.features.references import ready_campaign

    app.campaign = Campaign(folder, Resolver(app))

    def broken(self: Campaign, names: object) -> object:
        raise OSError("the disk went away")

    with monkeypatch.context() as patch:
        patch.setattr(Campaign, "read_folder", broken)
        with pytest.raises(OSError, match="disk went away"):
            await ready_campaign(app)
    assert app.campaign.reading is None and not app.campaign.walked
    assert await ready_campaign(app) is app.campaign and app.campaign.walked
    assert len(app.campaign.mentions(wolf_id(app))) == 3
