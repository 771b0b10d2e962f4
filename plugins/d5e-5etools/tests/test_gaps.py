"""The last gaps found against real files, each in a small file of our own in the real format:
an alias that is the SRD's name of another entry, copies of packs that are not installed, the
heading of a spell's higher-level text, feats granting a spell of the reader's choice, a file's
own currencies and distance units, and the keys of the homebrew schema that are not content."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from fivetools_files import card, data, install, write

from d5e_daemon import queries
from d5e_daemon.app import App
from d5e_daemon.errors import PackError
from d5e_daemon.features.lookup import lookup
from d5e_daemon.features.packs import validate
from d5e_daemon.protocol import LookupParams, ValidateParams


def test_an_alias_that_is_the_srds_name_of_another_entry_is_not_registered(
    app: App, tmp_path: Path
) -> None:
    # 5etools' alias is its search's: a race renamed in a later book keeps its old name as an
    # alias, which the SRD uses for its own race; the name keeps meaning the SRD's race
    race = {
        "name": "Lanternkin", "source": "Kin", "alias": ["Half-Elf", "Lantern Folk"],
        "size": ["M"], "speed": 30, "entries": ["Born of lamplight."],
    }  # fmt: skip
    result = install(app, write(tmp_path, "Kin", {"race": [race]}))
    assert result.entries == 1, result.warnings
    got = data(app, "kin:races/lanternkin")
    assert got["aliases"] == ["Lantern Folk"]
    assert got["5etools"]["alias"] == ["Half-Elf", "Lantern Folk"]  # nothing lost
    assert lookup(app, LookupParams(name="Half-Elf")).entry.pack == "srd-2014"
    assert lookup(app, LookupParams(name="Lantern Folk")).entry.ref == "races/lanternkin"


def test_a_copy_of_a_dependency_not_installed_is_an_error_and_nothing_installs(
    app: App, tmp_path: Path
) -> None:
    # a homebrew source someone could install: the file says it needs it; the copy fails
    doc = {
        "spell": [
            {"name": "Echo", "source": "Needy", "_copy": {"name": "Call", "source": "Lender"}},
            {"name": "Fine", "source": "Needy", "level": 1, "school": "V", "entries": ["ok"]},
        ],
        "monster": [  # beside it, a Monster Manual creature the SRD lacks: only a warning
            {"name": "Gamma", "source": "Needy", "_copy": {"name": "Nobody", "source": "MM"}}
        ],
    }
    path = write(tmp_path, "Needy", doc, dependencies={"spell": ["Lender"]})
    report = asyncio.run(validate(app, ValidateParams(path=str(path))))
    assert not report.ok
    errors = [p for p in report.problems if p.severity == "error"]
    (error,) = errors
    assert error.field == "spell[0]._copy"  # the JSON path of the copy, with its line/column
    assert "unknown entry lender:spells/call ('Call' of source 'Lender')" in error.message
    assert "pack 'lender' is not installed" in error.message
    line = path.read_text("utf-8").splitlines()[error.line - 1]
    assert line[error.column - 1 :].startswith('"Call"')
    warned = [p for p in report.problems if p.severity == "warning"]
    assert any("depends on lender, which is not installed" in p.message for p in warned)
    (book,) = [p for p in warned if "nobody" in p.message]
    assert book.field == "monster[0]._copy"
    assert "monsters/gamma left out" in book.message
    assert "('Nobody' of source 'MM'): srd-2014 has no monsters/nobody" in book.message
    # an invalid file imports nothing, not even its entries that stand alone
    with pytest.raises(PackError, match="nothing was installed"):
        install(app, path)
    assert queries.get_pack(app.conn, "needy") is None
    # once the dependency is installed, the copy resolves against it
    lender = {"name": "Call", "source": "Lender", "level": 2, "school": "D", "entries": ["Hi."]}
    install(app, write(tmp_path, "Lender", {"spell": [lender]}))
    result = install(app, path)
    assert result.entries == 2
    assert data(app, "needy:spells/echo")["level"] == 2


def test_the_higher_level_heading_is_the_one_the_source_writes(app: App, tmp_path: Path) -> None:
    def spell(name: str, level: int, heading: str | None) -> dict[str, Any]:
        higher: dict[str, Any] = {"type": "entries", "entries": ["It grows by {@dice 1d6}."]}
        if heading is not None:
            higher["name"] = heading
        return {
            "name": name, "source": "Slots", "level": level, "school": "V",
            "time": [{"number": 1, "unit": "action"}],
            "range": {"type": "point", "distance": {"type": "feet", "amount": 60}},
            "components": {"v": True}, "duration": [{"type": "instant"}],
            "entries": ["A bolt of lamplight."], "entriesHigherLevel": [higher],
        }  # fmt: skip

    doc = {
        "spell": [
            spell("Lamp Bolt", 1, "Using a Higher-Level Spell Slot"),  # as the 2024 books
            spell("Lamp Spark", 0, "Cantrip Upgrade"),
            spell("Old Lamp Bolt", 1, "At Higher Levels"),  # as the 2014 books
            spell("Plain Lamp Bolt", 1, None),  # no heading written: none shown
        ]
    }
    install(app, write(tmp_path, "Slots", doc, edition="one"))
    bolt = card(app, "slots:spells/lamp-bolt")
    assert "***Using a Higher-Level Spell Slot.*** It grows by 1d6." in bolt
    assert "At Higher Levels" not in bolt
    assert "***Cantrip Upgrade.*** It grows by 1d6." in card(app, "slots:spells/lamp-spark")
    assert "***At Higher Levels.*** It grows" in card(app, "slots:spells/old-lamp-bolt")
    plain = card(app, "slots:spells/plain-lamp-bolt")
    assert "\n\nIt grows by 1d6." in plain and "***" not in plain.split("A bolt")[1]
    assert data(app, "slots:spells/lamp-bolt")["higher_level"] == ["It grows by {@dice 1d6}."]


def test_spells_a_feat_grants_of_the_readers_choice_read_as_words(app: App, tmp_path: Path) -> None:
    feats = [
        {
            "name": "Lamplighter Initiate", "source": "Grants", "category": "O",
            "entries": ["You learn the lamplighters' magic."],
            "additionalSpells": [
                {
                    "name": "Wizard", "ability": "int",
                    "known": {"_": [{"choose": "level=0|class=Wizard", "count": 2}]},
                    "innate": {"_": {"daily": {"1": [{"choose": "level=1|class=Wizard"}]}}},
                },
                {
                    "name": "Cleric", "ability": {"choose": ["wis", "cha"]},
                    "innate": {"_": {"daily": {"1e": [{"choose": "level=2|school=E;N"}]}}},
                    "expanded": {"s1": ["fire bolt|xphb#c", {"all": "level=1|class=Cleric"}]},
                    "known": {"_": [{"choose": {"from": ["light", "mending"]}}]},
                },
            ],
        }
    ]  # fmt: skip
    install(app, write(tmp_path, "Grants", {"feat": feats}))
    shown = card(app, "grants:feats/lamplighter-initiate")
    line = next(x for x in shown.splitlines() if x.startswith("**Additional spells:**")).rstrip()
    assert line == (
        "**Additional spells:** Wizard: Innate, 1/day: one 1st-level Wizard spell of your "
        "choice; Known: two Wizard cantrips of your choice; spellcasting ability Intelligence; "
        "or Cleric: Innate, 1/day each: one 2nd-level enchantment or necromancy spell of your "
        "choice; Known: one of your choice: [light](d5e://srd-2014/spells/light.md) or "
        "[mending](d5e://srd-2014/spells/mending.md); Added to your spell list (1st-level "
        # `fire bolt|xphb`: the 2024 SRD has no spells, the 2014 SRD's (test_other_edition)
        "spells): [fire bolt](d5e://srd-2014/spells/fire-bolt.md), every 1st-level Cleric "
        "spell; spellcasting ability Wisdom or "
        "Charisma (your choice)"
    ), line
    assert "choose" not in shown and "level=" not in shown


def test_a_files_own_currencies_and_distance_units(attributed: App, tmp_path: Path) -> None:
    app = attributed  # the SRD's filter attributes made (its first search made them: ~1 s)
    meta = {
        "currencyConversions": {
            "lampCoins": [
                {"coin": "wick", "mult": 1}, {"coin": "lamp", "mult": 0.05},
                {"coin": "lantern", "mult": 0.0025, "isFallback": True},
            ]
        },
        "spellDistanceUnits": {
            "leagues": {"feetPerUnit": 15840},
            "lamplengths": {"feetPerUnit": 3, "singular": "lamplength"},
        },
    }  # fmt: skip
    items = [
        {"name": "Brass Lamp", "source": "Coins", "type": "G", "rarity": "none",
         "value": 800, "currencyConversion": "lampCoins"},  # 800 wicks = 2 lanterns
        {"name": "Oil Flask", "source": "Coins", "type": "G", "rarity": "none",
         "value": 60, "currencyConversion": "lampCoins"},  # 3 lamps
        {"name": "Tallow", "source": "Coins", "type": "G", "rarity": "none", "value": 7,
         "currencyConversion": "lampCoins"},  # 7 wicks
        {"name": "Copper Candle", "source": "Coins", "type": "G", "rarity": "none",
         "value": 250},  # no table named: 5etools' own coins, 25 sp
    ]  # fmt: skip

    def spell(name: str, rng: dict[str, Any]) -> dict[str, Any]:
        return {"name": name, "source": "Coins", "level": 1, "school": "C", "range": rng,
                "entries": ["Far."]}  # fmt: skip

    spells = [
        spell("Far Lamp", {"type": "point", "distance": {"type": "leagues", "amount": 3}}),
        spell("Near Lamp", {"type": "point", "distance": {"type": "leagues", "amount": 1}}),
        spell("Arm Lamp", {"type": "point", "distance": {"type": "lamplengths", "amount": 1}}),
        spell("Lamp Cone", {"type": "cone", "distance": {"type": "lamplengths", "amount": 5}}),
        spell("Yard Lamp", {"type": "point", "distance": {"type": "yards", "amount": 1}}),
    ]
    install(app, write(tmp_path, "Coins", {"item": items, "spell": spells}, **meta))
    assert data(app, "coins:equipment/brass-lamp")["cost"] == {"quantity": 2, "unit": "lantern"}
    assert data(app, "coins:equipment/oil-flask")["cost"] == {"quantity": 3, "unit": "lamp"}
    assert data(app, "coins:equipment/tallow")["cost"] == {"quantity": 7, "unit": "wick"}
    assert data(app, "coins:equipment/copper-candle")["cost"] == {"quantity": 25, "unit": "sp"}
    assert "2 lantern" in card(app, "coins:equipment/brass-lamp")
    assert data(app, "coins:spells/far-lamp")["range"] == "3 leagues"
    assert data(app, "coins:spells/near-lamp")["range"] == "1 league"
    assert data(app, "coins:spells/arm-lamp")["range"] == "1 lamplength"
    assert data(app, "coins:spells/lamp-cone")["range"] == "Self (5-lamplength cone)"
    assert data(app, "coins:spells/yard-lamp")["range"] == "1 yard"
    assert "**Range:** 1 lamplength" in card(app, "coins:spells/arm-lamp")
    # the range filter reads the distance in feet: a league is 15,840 feet, a yard 3
    from d5e_daemon.features.search import search
    from d5e_daemon.protocol import SearchParams, decode

    def refs(**filters: Any) -> set[str]:
        params = decode({"query": "", "filters": filters, "limit": 500}, SearchParams)
        return {hit.ref for hit in search(app, params).hits if hit.pack == "coins"}

    assert refs(range="at least 20000") == {"spells/far-lamp"}
    assert refs(range="at least 3") == {
        "spells/far-lamp", "spells/near-lamp", "spells/arm-lamp", "spells/yard-lamp",
    }  # fmt: skip
    assert data(app, "coins:spells/yard-lamp")["range_feet"] == 3


def test_keys_of_the_schema_that_are_not_content_are_named_with_their_count(
    app: App, tmp_path: Path
) -> None:
    doc = {
        "spell": [{"name": "Kept", "source": "Keys", "level": 0, "school": "V", "entries": ["x"]}],
        "encounterShape": [{"name": "Pair", "source": "Keys"}, {"name": "Trio", "source": "Keys"}],
        "blocklist": [{"displayName": "Kept", "hash": "kept_keys", "category": "spell",
                       "source": "Keys"}],
        "raceFluffMeta": {"uncommon": {"type": "entries", "entries": ["Rare folk."]}},
        "roll20Spell": [{"name": "Kept", "source": "Keys", "data": {"Save": "Dexterity"}}],
        "foundrySpell": [{"name": "Kept", "source": "Keys", "system": {}}],
        "psionicDisciplineFocus": [{"name": "Kept", "source": "Keys", "system": {}}],
        "lampPost": [{"name": "A Post", "source": "Keys"}],
    }  # fmt: skip
    path = write(tmp_path, "Keys", doc)
    report = asyncio.run(validate(app, ValidateParams(path=str(path))))
    assert report.ok
    said = {p.field: p for p in report.problems if p.severity == "warning"}
    assert said["encounterShape"].message == (
        "2 `encounterShape` entries not read: the encounter builder's party shapes, "
        "not content to look up"
    )
    assert said["blocklist"].message.startswith("1 `blocklist` entry not read: what the 5etools")
    assert said["raceFluffMeta"].message.startswith("1 `raceFluffMeta` entry not read")
    assert "Roll20" in said["roll20Spell"].message
    assert said["foundrySpell"].message == (
        "1 `foundrySpell` entry not read: Foundry VTT automation data, not content"
    )
    assert said["psionicDisciplineFocus"].message.endswith(
        "Foundry VTT automation data, not content"
    )
    assert said["lampPost"].message == (
        "1 `lampPost` entry not read: d5e does not map this 5etools type yet"
    )
    lines = path.read_text("utf-8").splitlines()
    for key, problem in said.items():  # each at its key in the file
        assert lines[problem.line - 1].strip().startswith(f'"{key}"'), (key, problem)
    assert install(app, path).entries == 1


def test_an_item_groups_item_entry_is_filled_in_or_a_link(app: App, tmp_path: Path) -> None:
    # 5etools' own items.json: the 2024 Ioun Stone is an itemGroup whose entries begin with
    # `{#itemEntry Ioun Stone|XDMG}` (the itemEntry is in another file, items-base.json)
    doc = {
        "itemEntry": [{"name": "Lamp Set", "source": "Groups",
                       "entriesTemplate": ["Each lamp of this set is {{item.rarity}}."]}],
        "item": [
            {"name": "Lamp of Dawn", "source": "Groups", "rarity": "rare", "wondrous": True,
             "entries": ["It dawns."]},
        ],
        "itemGroup": [
            {"name": "Lamp Set", "source": "Groups", "rarity": "rare", "wondrous": True,
             "items": ["Lamp of Dawn|Groups"], "entries": ["{#itemEntry Lamp Set|Groups}"]},
            {"name": "Far Lamp Set", "source": "Groups", "rarity": "rare", "wondrous": True,
             "items": ["Lamp of Dawn|Groups"], "entries": ["{#itemEntry Lamp of Dawn|Groups}",
                                                          "More lamps."]},
        ],
    }  # fmt: skip
    install(app, write(tmp_path, "Groups", doc))
    shown = card(app, "groups:magic-items/lamp-set")
    assert "Each lamp of this set is rare." in shown and "{#" not in shown
    far = card(app, "groups:magic-items/far-lamp-set")
    assert "[Lamp of Dawn](d5e://groups/magic-items/lamp-of-dawn.md)" in far and "{#" not in far


def test_every_problem_at_once_each_at_its_json_path(app: App, tmp_path: Path) -> None:
    doc = {
        "spell": [
            {"name": "A", "source": "Broke", "level": "two"},
            {"name": "A", "source": "Broke", "level": 1},
            {"name": "B", "source": "Broke",
             "_copy": {"name": "A", "source": "Broke", "_mod": {"entries": {"mode": "explode"}}}},
            # its target is not in the files: told with the rest, not once they are fixed
            {"name": "C", "source": "Broke", "_copy": {"name": "Zzz", "source": "Broke"}},
            {"name": "D", "source": "Broke", "_copy": {"name": "Call", "source": "OtherBrew"}},
            {"name": "E", "source": "Broke",
             "_copy": {"name": "Fireball", "source": "PHB",
                       "_mod": {"entries": {"mode": "replaceArr", "replace": "Nope",
                                            "items": "x"}}}},
        ]
    }  # fmt: skip
    path = write(tmp_path, "Broke", doc)
    report = asyncio.run(validate(app, ValidateParams(path=str(path))))
    errors = {p.field: p.message for p in report.problems if p.severity == "error"}
    assert set(errors) == {
        "spell[2]._copy._mod.entries.mode", "spell[3]._copy.name", "spell[4]._copy",
    }, errors  # fmt: skip
    assert errors["spell[3]._copy.name"] == (
        "cannot copy 'Zzz' of source 'Broke': no spell of that name and source is in these files"
    )
    warned = {p.field: p.message for p in report.problems if p.severity == "warning"}
    assert "entries has no item 'Nope'" in warned["spell[5]._copy._mod.entries.replace"]
    # a level of the wrong type is told at its path too, a warning since the twenty-third
    # session (the level left out; one bad value refuses no file: test_realworld23)
    assert warned["spell[0].level"] == "`level` must be an integer, not a string: left out"
    # a second 'A' is a warning since the fourteenth session (both installed, see
    # test_realworld14), located all the same
    assert warned["spell[1].name"].startswith("duplicate spell 'A' of source 'Broke'")
    assert not any("'Broke', which `_meta.dependencies`" in m for m in warned.values())


def test_an_entry_naming_its_source_by_the_abbreviation(app: App, tmp_path: Path) -> None:
    # real files write the abbreviation where 5etools wants the source's `json`
    path = tmp_path / "Someone; Short.json"
    doc = {
        "_meta": {"sources": [{"json": "ShortAndSweet", "abbreviation": "SaS", "full": "S"}]},
        "item": [{"name": "Sweet Lamp", "source": "SaS", "rarity": "common", "wondrous": True,
                  "entries": ["Sweet."]}],
        "monster": [{"name": "Sweet Imp", "source": "SaS", "size": ["T"], "type": "fiend",
                     "cr": "1", "_copy": {"name": "Master Thief", "source": "MPMM"}},
                    {"name": "Sour Imp", "source": "SaS", "_copy": {"name": "Sweet Lamp Imp",
                                                                    "source": "SaS"}}],
    }  # fmt: skip
    path.write_text(json.dumps(doc, indent="\t"), "utf-8")
    report = asyncio.run(validate(app, ValidateParams(path=str(path))))
    errors = [p for p in report.problems if p.severity == "error"]
    # a copy of the files' own source, named by its abbreviation, is looked for in them
    assert [p.field for p in errors] == ["monster[1]._copy.name"], errors
    warned = {p.field: p.message for p in report.problems if p.severity == "warning"}
    assert warned["item[0].source"] == (
        "3 entries give their source as 'SaS', the abbreviation of source 'ShortAndSweet': read "
        "as that source (5etools names a source by its `json`)"
    )
    # a book of 5etools' own is said to be one: nothing to install
    assert warned["monster[0]._copy"].endswith(
        "('Master Thief' of source 'MPMM', a book of 5etools' own that no pack provides): "
        "pack 'mpmm' is not installed"
    )
    doc["monster"].pop()
    path.write_text(json.dumps(doc, indent="\t"), "utf-8")
    assert install(app, path).entries == 1
    assert "Sweet." in card(app, "shortandsweet:magic-items/sweet-lamp")


def test_a_subclass_short_name_that_is_the_srds_subclass_is_no_alias(
    app: App, tmp_path: Path
) -> None:
    # a playtest's subclass copied from an earlier playtest (resolved at install time), its
    # short name "Land" the 2014 SRD's name of its Circle of the Land
    first = {
        "name": "Circle of the Land", "shortName": "Land", "source": "TestOne",
        "className": "Druid", "classSource": "TestOne", "entries": ["Old text."],
    }  # fmt: skip
    install(app, write(tmp_path, "TestOne", {"subclass": [first]}))
    later = {
        "name": "Circle of the Land", "shortName": "Land", "source": "TestTwo",
        "className": "Druid", "classSource": "TestTwo",
        "_copy": {"name": "Circle of the Land", "shortName": "Land", "source": "TestOne",
                  "className": "Druid", "classSource": "TestOne"},
    }  # fmt: skip
    path = write(tmp_path, "TestTwo", {"subclass": [later]}, dependencies={"subclass": ["TestOne"]})
    assert install(app, path).entries == 1
    got = data(app, "testtwo:subclasses/druid-circle-of-the-land")
    assert "Land" not in got.get("aliases", []) and got["5etools"]["shortName"] == "Land"
    assert lookup(app, LookupParams(name="Land")).entry.pack == "srd-2014"
