"""Encounter difficulty (`d5e/encounter`, `d5e encounter`): the 2014 and 2024 DMG rules, monsters
of every pack counted by their records, and bad input named."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from pygls.exceptions import JsonRpcException
from pytest_lsp import LanguageClient

from d5e_daemon.app import App
from d5e_daemon.cli import main
from d5e_daemon.errors import InvalidParams, NotFound
from d5e_daemon.features.encounter import Group, encounter, maths, multiplier_2014
from d5e_daemon.protocol import EncounterParams, decode
from d5e_daemon.quantity import parse_groups, parse_quantity, quantity_ending

from .packtools import write_pack


def run(app: App, party: list[int], monsters: list[dict[str, Any]], **more: Any) -> Any:
    return encounter(app, decode({"party": party, "monsters": monsters, **more}, EncounterParams))


def group(xp: int, count: int = 1) -> Group:
    return Group(name="x", count=count, xp=xp)


# -- the rules ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("monsters", "characters", "expected"),
    [
        (1, 4, 1.0), (2, 4, 1.5), (3, 4, 2.0), (6, 4, 2.0), (7, 4, 2.5), (10, 4, 2.5),
        (11, 4, 3.0), (14, 4, 3.0), (15, 4, 4.0), (40, 4, 4.0),
        # fewer than three characters: one step up (×5 past the last row)
        (1, 2, 1.5), (2, 1, 2.0), (15, 2, 5.0),
        # six or more: one step down (×0.5 for a single monster)
        (1, 6, 0.5), (2, 6, 1.0), (7, 8, 2.0), (15, 6, 3.0),
    ],
)  # fmt: skip
def test_2014_multiplier_and_party_size(monsters: int, characters: int, expected: float) -> None:
    assert multiplier_2014(monsters, characters) == expected


def test_2014_thresholds_and_difficulty() -> None:
    party = [3, 3, 3, 3]  # thresholds: easy 300, medium 600, hard 900, deadly 1600
    result = maths(party, [group(50, 4), group(200)], "2014")  # 5 monsters: ×2
    assert result.thresholds == {"easy": 300, "medium": 600, "hard": 900, "deadly": 1600}
    assert (result.xp, result.multiplier, result.adjusted_xp) == (400, 2.0, 800)
    assert result.difficulty == "medium"
    assert result.summary == "Medium · 800 XP (adjusted) for 4 × level 3"
    assert maths(party, [group(50, 4)], "2014").difficulty == "easy"  # 200 × 2 = 400
    assert maths(party, [group(25, 2)], "2014").difficulty == "trivial"  # 75: below easy
    assert maths(party, [group(900)], "2014").difficulty == "hard"  # exactly the threshold
    assert maths(party, [group(1800)], "2014").difficulty == "deadly"


def test_2014_mixed_levels_sum_each_characters_threshold() -> None:
    result = maths([1, 5, 20], [group(10)], "2014")
    assert result.thresholds["deadly"] == 100 + 1100 + 12700
    assert result.summary.endswith("for 1 × level 1, 1 × level 5, 1 × level 20")


def test_2024_budget_has_no_multiplier() -> None:
    party = [1, 1, 1, 1]  # budgets: low 200, moderate 300, high 400
    one = maths(party, [group(200)], "2024")
    assert one.thresholds == {"low": 200, "moderate": 300, "high": 400}
    assert (one.xp, one.adjusted_xp, one.multiplier, one.difficulty) == (200, 200, 1.0, "low")
    assert one.summary == "Low · 200 XP for 4 × level 1"
    assert maths(party, [group(50, 6)], "2024").difficulty == "moderate"  # 300, six monsters
    assert maths(party, [group(100)], "2024").difficulty == "trivial"
    beyond = maths(party, [group(200, 3)], "2024")
    assert beyond.difficulty == "high" and "beyond the High budget (400 XP)" in beyond.notes[0]


# -- monsters from packs --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "ends"),
    [
        ("4", (4, 4)), ("four", (4, 4)), ("a dozen", (12, 12)), ("Half a dozen", (6, 6)),
        ("6-8", (6, 8)), ("2–4", (2, 4)), ("two or three", (2, 3)), ("3 or 4", (3, 4)),
        ("two to four", (2, 4)), ("between 2 and 4", (2, 4)), ("up to 5", (1, 5)),
        ("2d6", (2, 12)), ("1d4+1", (2, 5)), ("1d4 + 2", (3, 6)), ("2d4-1", (1, 7)),
        ("1d4-2", (0, 2)),
    ],
)  # fmt: skip
def test_counts_as_writers_write_them(written: str, ends: tuple[int, int]) -> None:
    assert parse_quantity(written) == ends


@pytest.mark.parametrize(
    ("line", "count", "ends"),
    [
        ("A pack of 6-8 wolves", "8 wolves", (6, 8, "6-8 wolves")),
        ("Crypt: 1d4+1 orcs", "1 orcs", (2, 5, "1d4+1 orcs")),
        ("Two or three bandits", "three", (2, 3, "Two or three bandits")),
        ("half a dozen stirges", "a dozen", (6, 6, "half a dozen stirges")),
        ("up to 5 zombies", "5", (1, 5, "up to 5 zombies")),
        ("Room 2 - 4 goblins", "4", (4, 4, "4 goblins")),  # a room and four goblins
        ("8-6 wolves", "6", (6, 6, "6 wolves")),  # no range: the count read
        ("1.6-8 wolves", "8", (8, 8, "8 wolves")),
    ],
)
def test_the_quantity_written_before_a_count(
    line: str, count: str, ends: tuple[int, int, str]
) -> None:
    """`quantity_ending` reads what a writer wrote before the count the prose reader read
    (its last number: `count`)."""
    low, high, at = quantity_ending(line, line.rindex(count)) or (0, 0, 0)
    assert (low, high, line[at:]) == ends


def test_srd_monsters_by_name_and_ref(app: App) -> None:
    result = run(app, [3, 3, 3, 3], [{"name": "Wolf", "count": 4}, {"ref": "monsters/dire-wolf"}])
    assert [(m.name, m.count, m.cr, m.xp, m.total_xp) for m in result.per_monster] == [
        ("Wolf", 4, 0.25, 50, 200),
        ("Dire Wolf", 1, 1.0, 200, 200),
    ]
    assert result.per_monster[0].ref == "monsters/wolf" and result.per_monster[0].pack == "srd-2014"
    assert (result.rules, result.adjusted_xp, result.difficulty) == ("2014", 800, "medium")


def test_rules_follow_the_edition_unless_given(app: App, app2024: App) -> None:
    monsters = [{"name": "wolf", "count": 4}]
    assert run(app, [1, 1, 1, 1], monsters).rules == "2014"
    assert run(app2024, [1, 1, 1, 1], monsters).rules == "2024"
    assert run(app2024, [1, 1, 1, 1], monsters, rules="2014").rules == "2014"


def test_homebrew_monsters_count_by_their_cr_or_xp(app: App, tmp_path: Path) -> None:
    pack = write_pack(
        tmp_path / "brew",
        {
            "monsters/ember-hound.md": "---\nname: Ember Hound\nchallenge_rating: 0.5\n---\nHot.\n",
            "monsters/old-flame.md": "---\nname: Old Flame\nchallenge_rating: 3\nxp: 650\n---\n",
            "monsters/nameless.md": "---\nname: Nameless Thing\n---\nNo CR.\n",
        },
    )
    app.db.write(partial(app.library.install_path, path=pack))
    result = run(app, [3, 3, 3, 3], [{"name": "ember hound", "count": 2}, {"name": "Old Flame"}])
    assert [(m.pack, m.cr, m.xp) for m in result.per_monster] == [
        ("brew", 0.5, 100),  # CR 1/2 through the XP table
        ("brew", 3.0, 650),  # the record's own XP wins
    ]
    assert result.xp == 850
    with pytest.raises(InvalidParams) as caught:
        run(app, [3], [{"name": "Nameless Thing"}])
    assert (
        "Nameless Thing (brew:monsters/nameless-thing) has no CR and no XP" in caught.value.message
    )
    assert caught.value.data["path"] == "$.monsters[0]"
    given = run(app, [3], [{"name": "Nameless Thing", "cr": "1/4"}])
    assert given.per_monster[0].xp == 50


def test_a_creature_no_pack_has_counts_by_the_cr_or_xp_given(app: App) -> None:
    result = run(app, [3, 3], [{"name": "Flame", "cr": 3}, {"name": "Cinder", "xp": 120}])
    assert [(m.ref, m.name, m.xp) for m in result.per_monster] == [
        (None, "Flame", 700),
        (None, "Cinder", 120),
    ]


# -- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "path", "message"),
    [
        ({"party": [], "monsters": [{"name": "wolf"}]}, "$.party", "the party is empty"),
        ({"party": [3, 0], "monsters": [{"name": "wolf"}]}, "$.party[1]", "level 0: levels are"),
        ({"party": [31], "monsters": [{"name": "wolf"}]}, "$.party[0]", "level 31: levels are"),
        ({"party": [3], "monsters": []}, "$.monsters", "no monsters"),
        (
            {"party": [3], "monsters": [{"name": "wolf", "count": 0}]},
            "$.monsters[0].count",
            "count 0: a group holds 1 to 1000",
        ),
        (
            {"party": [3], "monsters": [{"name": "wolf", "count": 10**9}]},
            "$.monsters[0].count",
            "count 1000000000",
        ),
        (
            {"party": [3], "monsters": [{"count": 2}]},
            "$.monsters[0]",
            "give one of `ref` or `name`",
        ),
        (
            {"party": [3], "monsters": [{"name": "Flame", "cr": 0.3}]},
            "$.monsters[0].cr",
            "challenge rating 0.3 is not on the XP table",
        ),
        (
            {"party": [3], "monsters": [{"name": "Flame", "cr": "strong"}]},
            "$.monsters[0].cr",
            "'strong' is not a number",
        ),
        (
            {"party": [3], "monsters": [{"ref": "wolf"}]},
            "$.monsters[0].ref",
            "invalid ref 'wolf'",
        ),
    ],
)
def test_bad_input_names_the_field(
    app: App, params: dict[str, Any], path: str, message: str
) -> None:
    with pytest.raises(InvalidParams) as caught:
        encounter(app, decode(params, EncounterParams))
    assert message in caught.value.message
    assert caught.value.data["path"] == path


def test_an_unknown_monster_is_not_found_with_suggestions(app: App) -> None:
    with pytest.raises(NotFound) as caught:
        run(app, [3], [{"name": "wolf"}, {"name": "dire wolff", "count": 2}])
    assert "did you mean srd-2014:monsters/dire-wolf" in caught.value.message
    assert caught.value.data["path"] == "$.monsters[1]"


# -- the CLI --------------------------------------------------------------------------------------


def cli(capsys: pytest.CaptureFixture[str], db_path: Path, *argv: str) -> tuple[int, str, str]:
    code = main(["encounter", *argv, "--db", str(db_path)])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_counts_before_names(db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, db_path, "--party", "3,3,3,3", "4", "wolf", "dire wolf")
    assert code == 0
    assert "Medium · 800 XP (adjusted) for 4 × level 3" in out
    assert "4 × Wolf (CR 1/4, 50 XP each) = 200 XP" in out
    code, out, _ = cli(capsys, db_path, "--party", "3,3,3,3", "4xwolf", "--rules", "2024", "--json")
    result = json.loads(out)
    assert (result["rules"], result["xp"], result["difficulty"]) == ("2024", 200, "trivial")
    assert result["perMonster"][0]["totalXp"] == 200


def test_cli_takes_the_encounter_as_said(db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`d5e encounter 2 bugbears and a goblin` said "no entry named 'and'"; a negative count
    was looked up as a creature ("no entry named '-2'")."""
    said = ["2", "bugbears", "and", "a", "goblin"]
    code, out, _ = cli(capsys, db_path, "--party", "5,5,5,5", *said)
    assert code == 0
    assert "2 × Bugbear (CR 1, 200 XP each) = 400 XP" in out
    assert "1 × Goblin (CR 1/4, 50 XP each) = 50 XP" in out
    code, out, _ = cli(capsys, db_path, "--party", "5", "3", "wolves,", "an", "ape", "--json")
    assert [(m["count"], m["name"]) for m in json.loads(out)["perMonster"]] == [
        (3, "Wolf"),
        (1, "Ape"),
    ]
    code, _, err = cli(capsys, db_path, "--party", "5", "-2", "bugbear")
    assert code == 1 and "count -2: a group holds 1 to 1000 creatures" in err


def test_cli_takes_counts_after_names_and_groups_said_in_one_string(
    db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """As encounter tables write them ("Ogre x3", "Goblin ×4", "Wolves (2d4)") and as an
    assistant sends one MCP string ("3 goblins and a hobgoblin"): each was "no entry named
    'ogre x3'" (or 'goblins and a hobgoblin'). A name with a comma stays whole."""
    said = ["Ogre x3", "goblin", "×2", "wolves (2d4)", "3 bandits and a bandit captain"]
    code, out, err = cli(capsys, db_path, "--party", "5,5,5,5", *said, "--json")
    assert code == 0, err
    assert [(m["name"], m["count"], m["countMax"]) for m in json.loads(out)["perMonster"]] == [
        ("Ogre", 3, 3), ("Goblin", 2, 2), ("Wolf", 2, 8), ("Bandit", 3, 3),
        ("Bandit Captain", 1, 1),
    ]  # fmt: skip
    assert parse_groups(["Werewolf, Human Form", "between 2 and 4 wolves"]) == [
        {"name": "Werewolf, Human Form", "count": 1},
        {"name": "wolves", "count": "between 2 and 4"},
    ]


def test_cli_takes_ranges_and_rolls(db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`d5e encounter 6-8 wolf`: the difficulty at both ends, as the editor's hints give it."""
    code, out, _ = cli(capsys, db_path, "--party", "3,3,3,3", "6-8", "wolf")
    assert code == 0
    assert out.splitlines()[:3] == [
        "Medium–Hard · 600–1,000 XP (adjusted) for 4 × level 3  (2014 rules)",
        "  6–8 × Wolf (CR 1/4, 50 XP each) = 300–400 XP  srd-2014:monsters/wolf",
        "  300–400 XP × 2–2.5 = 600–1,000 XP adjusted",
    ]
    said = ["1d4+1 orcs", "two", "or", "three", "bandits", "and", "a", "goblin", "--json"]
    code, out, _ = cli(capsys, db_path, "--party", "3,3,3,3", *said)
    result = json.loads(out)
    assert [(m["name"], m["count"], m["countMax"]) for m in result["perMonster"]] == [
        ("Orc", 2, 5), ("Bandit", 2, 3), ("Goblin", 1, 1)
    ]  # fmt: skip
    assert (result["xp"], result["xpMax"]) == (300, 625)  # 200 + 50 + 50, 500 + 75 + 50
    assert (result["adjustedXp"], result["adjustedXpMax"]) == (600, 1562)  # × 2, × 2.5
    assert (result["difficulty"], result["difficultyMax"]) == ("medium", "hard")
    code, out, _ = cli(capsys, db_path, "--party", "3,3,3,3", "half a dozen stirges")
    assert out.startswith("Easy · 300 XP (adjusted) for 4 × level 3")  # one end: said once
    code, _, err = cli(capsys, db_path, "--party", "3", "8-6", "wolf")
    assert code == 1 and "count '8-6': the low end 8 is above the high end 6" in err


def test_cli_party_from_the_campaign(
    db_path: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = cli(capsys, db_path, "wolf")
    assert code == 1 and "no party: give the characters' levels with --party" in err
    (tmp_path / "d5e.toml").write_text("party = [5, 5, 5]\n")
    monkeypatch.chdir(tmp_path)
    code, out, _ = cli(capsys, db_path, "2", "wolf")
    assert code == 0 and "for 3 × level 5" in out
    code, out, _ = cli(capsys, db_path, "--party", "2", "wolf")  # the flag wins
    assert "for 1 × level 2" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--party", "3,three", "wolf"], "--party takes the characters' levels"),
        (["--party", "3", "4"], "the count 4 is not followed by a creature's name"),
        (["--party", "0", "wolf"], "character level 0: levels are 1 to 20"),
        (["--party", "3", "0", "wolf"], "count 0: a group holds 1 to 1000 creatures"),
    ],
)
def test_cli_bad_input(
    db_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, _, err = cli(capsys, db_path, *argv)
    assert code == 1 and message in err


# -- the wire -------------------------------------------------------------------------------------


async def test_d5e_encounter_over_stdio(lsp: LanguageClient) -> None:
    result = await lsp.protocol.send_request_async(
        "d5e/encounter",
        {"party": [3, 3, 3, 3], "monsters": [{"name": "wolf", "count": 4}], "rules": "2024"},
    )
    assert (result["xp"], result["adjustedXp"], result["difficulty"]) == (200, 200, "trivial")
    assert result["perMonster"][0]["ref"] == "monsters/wolf"
    with pytest.raises(JsonRpcException) as caught:
        await lsp.protocol.send_request_async(
            "d5e/encounter", {"party": [31], "monsters": [{"name": "wolf"}]}
        )
    assert caught.value.code == -32602 and "level 31" in str(caught.value)
    with pytest.raises(JsonRpcException) as caught:
        await lsp.protocol.send_request_async(
            "d5e/encounter", {"party": [3], "monsters": [{"name": "wolf", "count": "many"}]}
        )
    assert caught.value.code == -32602 and "$.monsters[0].count" in str(caught.value)
    result = await lsp.protocol.send_request_async(
        "d5e/encounter",
        {"party": [3, 3, 3, 3], "monsters": [{"name": "wolf", "count": "6-8"}], "rules": "2014"},
    )  # a count as writers write it: both ends
    assert (result["difficulty"], result["difficultyMax"]) == ("medium", "hard")
    assert result["summary"] == "Medium–Hard · 600–1,000 XP (adjusted) for 4 × level 3"
    assert (result["perMonster"][0]["count"], result["perMonster"][0]["countMax"]) == (6, 8)
