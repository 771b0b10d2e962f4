"""Encounter difficulty in Markdown: ```encounter blocks and prose lines that count creatures
get a code lens or an inlay hint; the party comes from the block, d5e.toml, then the setting."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from lsprotocol import types
from pygls.workspace import TextDocument

from d5e_daemon import campaign
from d5e_daemon.app import App
from d5e_daemon.features.encounter_lens import (
    code_lenses,
    find_encounters,
    inlay_hints,
    verdict,
)
from d5e_daemon.features.lookup import lookup
from d5e_daemon.features.tags import Resolver
from d5e_daemon.protocol import LookupParams

from .conftest import make_app, start_client

URI = "file:///adventure.md"
EVERYWHERE = types.Range(types.Position(0, 0), types.Position(10_000, 0))


def doc(text: str) -> TextDocument:
    return TextDocument(URI, text, version=1, language_id="markdown")


@pytest.fixture
def party_app(db_path: Path) -> Iterator[App]:
    a = make_app(db_path, party=[3, 3, 3, 3])
    yield a
    a.close()


def labels(resolver: Resolver, text: str) -> list[str]:
    return [verdict(resolver, e).label for e in find_encounters(resolver, doc(text).lines)]


BLOCK = """# Flame's den

```encounter
name: Flame's den
creatures:
  - 4: Wolf
  - Dire Wolf
```
"""


def test_a_block_gets_its_difficulty_as_a_code_lens(party_app: App) -> None:
    resolver = Resolver(party_app)
    (lens,) = code_lenses(resolver, doc(BLOCK))
    assert lens.range.start.line == 2  # the opening fence
    assert lens.command is not None
    assert lens.command.title == "Medium · 800 XP (adjusted) for 4 × level 3"  # 400 XP × 2


def test_the_blocks_party_and_rules_win(party_app: App) -> None:
    resolver = Resolver(party_app)
    text = BLOCK.replace("creatures:", "party: [5, 5]\nrules: 2024\ncreatures:")
    assert labels(resolver, text) == ["Trivial · 400 XP for 2 × level 5"]
    text = BLOCK.replace("creatures:", "party: 1, 1, 1\ncreatures:")
    assert labels(resolver, text) == ["Deadly · 800 XP (adjusted) for 3 × level 1"]


def test_several_encounters_in_one_block_and_the_tracker_syntax(party_app: App) -> None:
    resolver = Resolver(party_app)
    text = (
        "```encounter\ncreatures:\n  - 2: Goblin\n---\ncreatures:\n"
        '  - "3: [[Wolf]]"\n  - 1: Flame, 45, 15, 2, 700\n```\n'
    )
    found = find_encounters(resolver, doc(text).lines)
    assert [e.line for e in found] == [0, 3]
    assert labels(resolver, text) == [
        "Trivial · 150 XP (adjusted) for 4 × level 3",  # 2 goblins: 100 XP × 1.5
        "Deadly · 1,700 XP (adjusted) for 4 × level 3",  # (150 + 700) × 2 ≥ 1,600
    ]


def test_prose_lines_that_count_creatures_get_inlay_hints(party_app: App) -> None:
    resolver = Resolver(party_app)
    text = (
        "The road is quiet.\n"
        "Scene 1 (road): 4 wolves; Flame's den: Flame + 2 {@creature wolf} + 1 **dire wolf**\n"
        "The **wolves** howl.\n"  # names a creature without counting it: no encounter
        "```\n4 wolves in code\n```\n"
    )
    hints = inlay_hints(resolver, doc(text), EVERYWHERE)
    assert [(h.position.line, h.label) for h in hints] == [
        (1, "Easy · 400 XP (adjusted) for 4 × level 3"),  # 4 wolves: 200 × 2
        (1, "Medium · 600 XP (adjusted) for 4 × level 3"),  # 2 wolves + a dire wolf: 300 × 2
    ]
    line = doc(text).lines[1]
    assert hints[0].position.character == line.index("wolves;") + len("wolves")
    assert hints[1].position.character == line.index("dire wolf**") + len("dire wolf")
    assert "2 × Wolf (50 XP) + 1 × Dire Wolf (200 XP) = 300 XP × 2" in str(hints[1].tooltip)
    assert "Party (the d5e.party setting)" in str(hints[1].tooltip)
    assert code_lenses(resolver, doc(text)) == []  # prose lines: hints, blocks: lenses


def test_a_line_that_counts_creatures_counts_one_named_by_a_or_an(party_app: App) -> None:
    """ "6 bandits and a bandit captain": the captain is one more, where the name ends as the
    line says ("a goblin boss" is no goblin: no pack has a goblin boss)."""
    resolver = Resolver(party_app)
    text = "Ford: 6 bandits and a bandit captain; 2 bugbears and a goblin boss wait.\n"
    found = find_encounters(resolver, doc(text).lines)
    assert [[(m.ref, m.count) for m in e.monsters] for e in found] == [
        [("srd-2014:monsters/bandit", 6), ("srd-2014:monsters/bandit-captain", 1)],
        [("srd-2014:monsters/bugbear", 2)],
    ]
    assert labels(resolver, text) == [
        "Hard · 1,500 XP (adjusted) for 4 × level 3",  # (6 × 25 + 450) × 2.5
        "Medium · 600 XP (adjusted) for 4 × level 3",  # 2 × 200 × 1.5
    ]
    assert labels(resolver, "A bandit captain waits by the ford.\n") == []  # counts nothing
    # a creature named in the plural without a count is not one more: how many is not said
    text = "Three **mastiffs** bark, alerting the **bandits** and a **thug** in area B5.\n"
    found = find_encounters(resolver, doc(text).lines)
    assert [[(m.ref, m.count) for m in e.monsters] for e in found] == [
        [("srd-2014:monsters/mastiff", 3), ("srd-2014:monsters/thug", 1)]
    ]


def test_ranges_and_rolls_get_the_difficulty_at_both_ends(party_app: App) -> None:
    """ "6-8 wolves", "1d4+1 orcs", "two or three bandits": every creature at its low end, then
    every one at its high end (the 2014 multiplier follows how many there are)."""
    resolver = Resolver(party_app)
    text = (
        "A pack of 6-8 wolves circles the camp.\n"
        "Ford: 2–4 goblins; Crypt: 1d4+1 {@creature skeleton}; Bridge: two or three bandits\n"
        "Mill: up to 5 zombies; Barn: half a dozen stirges; Road: 4 wolves\n"
        "Rest 6-8 hours; the poison lasts 1d4+1 days; for level 3-5 characters, 2-4 players, "
        "pages 12-14, DC 13-15.\n"  # no creature: no encounter
    )
    hints = inlay_hints(resolver, doc(text), EVERYWHERE)
    assert [(h.position.line, h.label) for h in hints] == [
        (0, "Medium–Hard · 600–1,000 XP (adjusted) for 4 × level 3"),  # 300 × 2, 400 × 2.5
        (1, "Trivial–Easy · 150–400 XP (adjusted) for 4 × level 3"),  # 100 × 1.5, 200 × 2
        (1, "Trivial–Easy · 150–500 XP (adjusted) for 4 × level 3"),  # 2–5 × 50
        (1, "Trivial · 75–150 XP (adjusted) for 4 × level 3"),  # 2–3 × 25
        (2, "Trivial–Easy · 50–500 XP (adjusted) for 4 × level 3"),  # 1–5 × 50
        (2, "Easy · 300 XP (adjusted) for 4 × level 3"),  # 6 × 25 × 2
        (2, "Easy · 400 XP (adjusted) for 4 × level 3"),  # exact: as it was
    ]
    assert hints[0].position.character == len("A pack of 6-8 wolves")
    assert "6–8 × Wolf (50 XP) = 300–400 XP × 2–2.5 = 600–1,000 XP adjusted" in str(
        hints[0].tooltip
    )
    symbols = campaign.find_encounters(doc(text).lines, resolver.prose_names())
    assert [e.detail for e in symbols] == [
        "6–8 × Wolf",
        "2–4 × Goblin, 2–5 × skeleton, 2–3 × Bandit",  # a tag as written
        "1–5 × Zombie, 6 × Stirge, 4 × Wolf",
    ]
    (lens,) = code_lenses(resolver, doc("```encounter\ncreatures:\n  - 2d4: Wolf\n```\n"))
    assert lens.command is not None
    assert lens.command.title == "Trivial–Hard · 150–1,000 XP (adjusted) for 4 × level 3"


def test_a_count_after_the_name_counts_as_encounter_tables_write_it(party_app: App) -> None:
    """ "Goblins x4", "goblin ×3", "Wolves (2d4)", "Skeletons (x3)", "Bandits: 6": the count
    after the name counts it (its hint after the count); a longer name no pack has is no
    creature of its parts ("Hobgoblin Captain ×1"), brackets that hold an initiative order count
    nothing, and a list that counts some creatures counts each one named alone in it once."""
    resolver = Resolver(party_app)

    def counted(text: str) -> list[list[tuple[str | None, int | str]]]:
        found = find_encounters(resolver, doc(text).lines)
        return [[(m.ref, m.count) for m in e.monsters] for e in found]

    wolf, goblin = "srd-2014:monsters/wolf", "srd-2014:monsters/goblin"
    text = "Goblins x4, wolves x2 (their mounts)\n"
    assert counted(text) == [[(goblin, 4), (wolf, 2)]]
    (hint,) = inlay_hints(resolver, doc(text), EVERYWHERE)
    assert hint.label == "Medium · 600 XP (adjusted) for 4 × level 3"  # 300 × 2
    assert hint.position.character == text.index(" (their")  # after "x2"
    text = "| 1 | Wolves (2d4) | Skeletons (x3) |\n- goblin ×3\n- Bandits: 6\n"
    assert counted(text) == [
        [(wolf, "2–8")],
        [("srd-2014:monsters/skeleton", 3)],
        [(goblin, 3)],
        [("srd-2014:monsters/bandit", 6)],
    ]
    hints = inlay_hints(resolver, doc(text), EVERYWHERE)
    # 2 × 50 XP × 1.5 = 150 (below Easy's 300), 8 × 50 XP × 2.5 = 1,000 (Hard from 900)
    assert hints[0].label == "Trivial–Hard · 150–1,000 XP (adjusted) for 4 × level 3"
    assert hints[0].position.character == text.index(" | Skeletons")  # after "(2d4)"
    assert counted("**Creatures:** Hobgoblin ×3, Hobgoblin Captain ×1\n") == [
        [("srd-2014:monsters/hobgoblin", 3)]
    ]
    assert counted("Running order: goblins (init 14), Pell (12), wolves (9), Kira (7)\n") == []
    assert counted("**Monsters:** Bandits (6), shambling mound, guards (2), swarm of rats\n") == [
        [
            ("srd-2014:monsters/bandit", 6),
            ("srd-2014:monsters/shambling-mound", 1),
            ("srd-2014:monsters/guard", 2),
            ("srd-2014:monsters/swarm-of-rats", 1),
        ]
    ]


def test_a_row_of_an_encounter_table_that_names_one_creature_by_a_or_an(party_app: App) -> None:
    """A table's row or a list's item beside one that counts creatures, whose cell begins with
    a creature named by "a" or "an", is that one creature ("| 3 | A **brown bear** and its cub
    |", "4. A gray ooze in a puddle"); "Tracks of a **troll**" is none, nor is a row beside
    none that counts ("A brown bear sleeps." in a paragraph, "- A wolf pelt" after loot)."""
    resolver = Resolver(party_app)

    def counted(text: str) -> list[list[tuple[str | None, int | str]]]:
        found = find_encounters(resolver, doc(text).lines)
        return [[(m.ref, m.count) for m in e.monsters] for e in found]

    text = (
        "| d8 | Encounter |\n|:--:|:--|\n| 1 | 2d4 **wolves** |\n"
        "| 3 | A **brown bear** and its cub |\n| 7 | Tracks of a **troll** (no encounter) |\n"
    )
    assert counted(text) == [
        [("srd-2014:monsters/wolf", "2–8")],
        [("srd-2014:monsters/brown-bear", 1)],
    ]
    text = "1. 1d4 **kobolds**\n4. A **gray ooze** in a puddle\n5. A giant weasel\n8. Nothing\n"
    assert counted(text)[1:] == [
        [("srd-2014:monsters/gray-ooze", 1)],
        [("srd-2014:monsters/giant-weasel", 1)],
    ]
    assert counted("A brown bear sleeps.\nA wolf howls.\n") == []
    assert counted("- Loot: 2 potions\n- A wolf pelt and a wolf\n") == []


def test_a_count_after_the_name_by_the_2024_rules(db_path: Path) -> None:
    """The 2024 rules: the XP added up against the party's budget (4 × level 3: Low 600,
    Moderate 900, High 1,600), no multiplier: "Ogre x2" is 900 XP, Moderate."""
    app = make_app(db_path, party=[3, 3, 3, 3], edition="2024")
    try:
        (hint,) = inlay_hints(Resolver(app), doc("Ogre x2, goblin ×1\n"), EVERYWHERE)
        assert hint.label.startswith("Moderate · 950 XP for 4 × level 3")  # 2 × 450 + 50
    finally:
        app.close()


def test_each_cell_of_a_table_row_is_its_own_encounter(party_app: App) -> None:
    text = "| Scene | Foes |\n|---|---|\n| Road | 4 wolves | 1 dire wolf |\n"
    hints = inlay_hints(Resolver(party_app), doc(text), EVERYWHERE)
    assert [h.label for h in hints] == [
        "Easy · 400 XP (adjusted) for 4 × level 3",
        "Trivial · 200 XP (adjusted) for 4 × level 3",
    ]


def test_a_roll_table_flattened_into_a_line_is_no_encounter(party_app: App) -> None:
    """The SRD 2024's cards flatten their roll tables into one line ("1d20 Golem Time Cost 1-5
    Clay Golem 30 days 65,000 GP 6-17 Flesh Golem … 18 Iron Golem …"): the numbers each row is
    rolled on counted 1–5 clay golems, 18 iron golems, 45–51 riding horses. They count nothing;
    each row is a part, so a count in a row ("84-90  2 Mastiffs") is that row's encounter, as in
    the SRD 2014's Markdown table of the same robe. A level counts nothing either."""
    resolver = Resolver(party_app)

    def counted(text: str) -> list[str]:
        return [
            e.detail for e in campaign.find_encounters(text.splitlines(), resolver.prose_names())
        ]

    def card(ref: str) -> str:
        return lookup(party_app, LookupParams(ref=ref)).markdown

    assert counted(card("srd-2024:magic-items/manual-of-golems")) == []
    assert counted(card("srd-2024:magic-items/deck-of-illusions")) == []
    assert counted(card("srd-2024:magic-items/robe-of-useful-items")) == ["2 × Mastiff"]
    assert counted(card("srd-2014:magic-items/robe-of-useful-items")) == ["2 × Mastiff"]
    # a table of encounters written in prose: its rows' counts are counts
    text = "Roll 1d6: on 1-2, 3 goblins; on 3-4, 4 orcs; on 5-6, 1d4+1 wolves\n"
    assert counted(text) == ["3 × Goblin, 4 × Orc, 2–5 × Wolf"]
    hints = inlay_hints(resolver, doc(text), EVERYWHERE)
    assert len(hints) == 3
    # nor is a level a count (the SRD 2024's class features: "if you're a level 3 Druid")
    assert counted(card("srd-2024:features/druid-spellcasting")) == []
    assert counted("A level 5 wizard and 2 guards hold the gate.\n") == ["2 × Guard"]


def test_without_a_party_the_hint_says_how_to_set_one(app: App) -> None:
    resolver = Resolver(app)
    (label,) = labels(resolver, BLOCK)
    assert label.startswith("400 XP · set a party for the difficulty")
    assert "`party = [3, 3, 3, 3]` in the campaign's d5e.toml" in label


def test_d5e_toml_party_wins_over_the_setting(db_path: Path, tmp_path: Path) -> None:
    from d5e_daemon import workspace
    from d5e_daemon.settings import build

    (tmp_path / "d5e.toml").write_text("party = [7, 7, 7, 7, 7]\n")
    settings = build({"db": str(db_path)}, workspace.layer(tmp_path), {"party": [2]})
    app = App(settings)
    app.start()
    try:
        assert labels(Resolver(app), BLOCK)[0].endswith("for 5 × level 7")
    finally:
        app.close()


@pytest.mark.parametrize(
    ("block", "problem"),
    [
        ("creatures: [2: Wolf\n", "not valid YAML"),
        (
            "party: [3, 31]\ncreatures:\n  - Wolf\n",
            "party of the block: level 31: levels are 1 to 20",
        ),
        ("party: [0]\ncreatures:\n  - Wolf\n", "level 0: levels are 1 to 20"),
        ("creatures:\n  - 0: Wolf\n", "count 0: a group holds 1 to 1000"),
        ("creatures:\n  - 1000000000: Wolf\n", "count 1000000000"),
        ("creatures:\n  - 8-6: Wolf\n", "count '8-6': the low end 8 is above the high end 6"),
        ("creatures:\n  - lots: Wolf\n", "count 'lots': a number (4, four, a dozen), a range"),
        ("creatures:\n  - 1.5: Wolf\n", "the count 1.5 is not a number"),
        ("creatures:\n  - Wolff\n", "no entry named 'Wolff' in monsters; did you mean"),
        ("creatures:\n  - Flame, 45, 15, 2\n", "a creature no pack has needs its XP"),
        ("party: Heroes\ncreatures:\n  - Wolf\n", "party 'Heroes' names no levels"),
        ("rules: 2020\ncreatures:\n  - Wolf\n", "rules 2020: 2014 or 2024"),
        ("- just a list\n", "not a list or text"),
        ("name: empty\n", "no creatures"),
    ],
)
def test_bad_blocks_name_the_problem(party_app: App, block: str, problem: str) -> None:
    (label,) = labels(Resolver(party_app), f"```encounter\n{block}```\n")
    assert problem in label
    assert "·" not in label or label.startswith("⚠")  # never a difficulty beside a problem


def test_a_creature_without_cr_in_prose_is_named_not_miscounted(
    party_app: App, tmp_path: Path
) -> None:
    from functools import partial

    from .packtools import write_pack

    pack = write_pack(tmp_path / "brew", {"monsters/shade.md": "---\nname: Shade\n---\nDark.\n"})
    party_app.db.write(partial(party_app.library.install_path, path=pack))
    resolver = Resolver(party_app)
    (label,) = [h.label for h in inlay_hints(resolver, doc("Crypt: 3 shades\n"), EVERYWHERE)]
    assert "Shade (brew:monsters/shade) has no CR and no XP" in str(label)


async def test_code_lenses_and_inlay_hints_over_stdio(db_path: Path, tmp_path: Path) -> None:
    (tmp_path / "d5e.toml").write_text("party = [3, 3, 3, 3]\n")
    client = await start_client(db_path, root=tmp_path)
    try:
        uri = (tmp_path / "adventure.md").as_uri()
        text = BLOCK + "\nRoad: 4 wolves\nCamp: 6-8 wolves\n"
        client.text_document_did_open(
            types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "markdown", 1, text))
        )
        lenses = await client.text_document_code_lens_async(
            types.CodeLensParams(types.TextDocumentIdentifier(uri))
        )
        assert [(lens.range.start.line, lens.command.title) for lens in lenses or []] == [
            (2, "Medium · 800 XP (adjusted) for 4 × level 3")
        ]
        hints = await client.text_document_inlay_hint_async(
            types.InlayHintParams(types.TextDocumentIdentifier(uri), EVERYWHERE)
        )
        assert [msgspec.to_builtins(h.label) for h in hints or []] == [
            "Easy · 400 XP (adjusted) for 4 × level 3",
            "Medium–Hard · 600–1,000 XP (adjusted) for 4 × level 3",  # both ends of 6-8
        ]
    finally:
        await client.shutdown_session()
        await client.stop()


async def test_a_new_party_setting_refreshes_the_hints(db_path: Path) -> None:
    """The client is asked to ask again when the party changes (an inlay-hint capable client
    without code lenses: eglot's case, where blocks get inlay hints too)."""
    import asyncio

    from pytest_lsp import ClientServerConfig

    from .conftest import _client, server_command

    client: Any = await ClientServerConfig(
        server_command=server_command(db_path), client_factory=_client
    ).start()
    refreshed = asyncio.Event()

    @client.feature(types.WORKSPACE_INLAY_HINT_REFRESH)
    def on_refresh(params: Any) -> None:
        refreshed.set()

    capabilities = types.ClientCapabilities(
        text_document=types.TextDocumentClientCapabilities(
            inlay_hint=types.InlayHintClientCapabilities()
        ),
        workspace=types.WorkspaceClientCapabilities(
            inlay_hint=types.InlayHintWorkspaceClientCapabilities(refresh_support=True)
        ),
    )
    await client.initialize_session(
        types.InitializeParams(capabilities=capabilities, initialization_options={"party": [1]})
    )
    try:
        uri = "file:///tmp/den.md"
        client.text_document_did_open(
            types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "markdown", 1, BLOCK))
        )

        async def labels_now() -> list[Any]:
            hints = await client.text_document_inlay_hint_async(
                types.InlayHintParams(types.TextDocumentIdentifier(uri), EVERYWHERE)
            )
            return [h.label for h in hints or []]

        assert await labels_now() == ["Deadly · 1,000 XP (adjusted) for 1 × level 1"]  # 400 × 2.5
        client.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings={"d5e": {"party": [9, 9, 9, 9]}})
        )
        await asyncio.wait_for(refreshed.wait(), 20)
        assert await labels_now() == ["Trivial · 800 XP (adjusted) for 4 × level 9"]
    finally:
        await client.shutdown_session()
        await client.stop()


def test_lenses_and_hints_share_the_encounters_by_what_the_client_has() -> None:
    """Blocks get code lenses and prose lines inlay hints; a client with one of the two (eglot
    has no code lenses) gets every encounter through it."""
    from lsprotocol import types

    from d5e_daemon.features.encounter_lens import hint_kinds

    both = types.TextDocumentClientCapabilities(
        code_lens=types.CodeLensClientCapabilities(),
        inlay_hint=types.InlayHintClientCapabilities(),
    )
    hints_only = types.TextDocumentClientCapabilities(
        inlay_hint=types.InlayHintClientCapabilities()
    )
    lenses_only = types.TextDocumentClientCapabilities(code_lens=types.CodeLensClientCapabilities())
    assert hint_kinds(both) == (("block",), ("line",))
    assert hint_kinds(hints_only) == ((), ("block", "line"))
    assert hint_kinds(lenses_only) == (("block", "line"), ())
    assert hint_kinds(None) == (("block",), ("line",))
