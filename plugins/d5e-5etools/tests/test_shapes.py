"""Shapes of 5etools data found in real files (checked against 5etools' own data and
TheGiddyLimit/homebrew files), each in a small file of our own: generic variants whose source is
in `inherits`, `{=prop}` injection, subclasses of two editions of a class, a race's nameless
"base" subrace, subrace versions, item properties named by their entries, `{#itemEntry}`, and
top-level keys that are not content."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Any

from fivetools_files import data

from d5e_daemon.app import App
from d5e_daemon.features.lookup import lookup
from d5e_daemon.packs import InstallResult
from d5e_daemon.protocol import LookupParams

S = "Shapes"
META = {"sources": [{"json": S, "full": "Shapes"}]}


def install(app: App, tmp_path: Path, doc: dict[str, Any]) -> InstallResult:
    path = tmp_path / "Someone; Shapes.json"
    path.write_text(json.dumps({"_meta": META, **doc}, indent="\t"), "utf-8")
    return app.db.write(partial(app.library.install_path, path=path))


def test_a_generic_variant_with_its_source_in_inherits(app: App, tmp_path: Path) -> None:
    doc = {
        "baseitem": [
            {
                "name": "Glass Sword", "source": S, "type": "M", "rarity": "none",
                "weaponCategory": "martial", "dmg1": "1d8", "dmgType": "S", "weapon": True,
                "sword": True, "entries": ["It is fragile."],
            },
            {
                "name": "Glass Mace", "source": S, "type": "M", "rarity": "none",
                "weaponCategory": "simple", "dmg1": "1d6", "dmgType": "B", "weapon": True,
                "mace": True,
            },
        ],
        "magicvariant": [
            {
                "name": "Sharpened Weapon",  # no `source`: it is in `inherits`, as in 5etools
                "type": "GV",
                "requires": [{"sword": True}, {"mace": True}],
                "inherits": {
                    "nameSuffix": " of Sharpness", "source": S, "rarity": "rare",
                    "bonusWeapon": "+1",
                    "entries": ["You have a {=bonusWeapon} bonus; it deals {=dmgType} damage."],
                },
            },
            {
                "name": "Heavy Weapon",
                "type": "GV",
                "requires": [{"mace": True}],
                "inherits": {"namePrefix": "Heavy ", "source": S, "rarity": "uncommon"},
            },
        ],
    }  # fmt: skip
    install(app, tmp_path, doc)
    sword = data(app, "shapes:magic-items/glass-sword-of-sharpness")
    assert sword["desc"] == [
        "You have a +1 bonus; it deals slashing damage.",  # the variant's text first
        "It is fragile.",  # then the base item's
    ]
    assert data(app, "shapes:magic-items/glass-mace-of-sharpness")["desc"][0].endswith(
        "bludgeoning damage."
    )
    assert data(app, "shapes:magic-items/heavy-glass-mace")["rarity"]["name"] == "Uncommon"
    assert data(app, "shapes:magic-items/sharpened-weapon")["name"] == "Sharpened Weapon"


def test_subclasses_of_two_editions_of_a_class(app: App, tmp_path: Path) -> None:
    def moth(class_source: str, text: str) -> dict[str, Any]:
        return {
            "name": "Moth Keeper", "shortName": "Moth", "source": S, "className": "Fighter",
            "classSource": class_source, "subclassFeatures": [], "entries": [text],
        }  # fmt: skip

    result = install(app, tmp_path, {"subclass": [moth("PHB", "2014"), moth("XPHB", "2024")]})
    assert result.entries == 2  # not a duplicate: 5etools tells them apart by the class
    assert data(app, "shapes:subclasses/fighter-moth-keeper")["desc"] == ["2014"]
    assert data(app, "shapes:subclasses/fighter-moth-keeper-xphb")["desc"] == ["2024"]


def test_a_nameless_subrace_is_the_race_and_subraces_have_versions(
    app: App, tmp_path: Path
) -> None:
    doc = {
        "race": [
            {
                "name": "Wisp", "source": S, "size": ["S"], "speed": 30,
                "entries": [
                    {"type": "entries", "name": "Glow", "entries": ["You shed dim light."]},
                    {"type": "entries", "name": "Flicker", "entries": ["You flicker."]},
                ],
            }
        ],
        "subrace": [
            {
                # no name: what every wisp has (5etools merges it into the race)
                "raceName": "Wisp", "raceSource": S, "source": S,
                "ability": [{"dex": 2}],
                "entries": [{"type": "entries", "name": "Drift", "entries": ["You drift."]}],
            },
            {
                "name": "Marsh", "raceName": "Wisp", "raceSource": S, "source": S,
                "entries": [
                    {"type": "entries", "name": "Marsh Glow", "data": {"overwrite": "Glow"},
                     "entries": ["You shed green light."]},
                ],
                "_versions": [
                    {
                        "_abstract": {
                            "name": "Wisp (Marsh; {{hue}})", "source": S,
                            "_mod": {"entries": {"mode": "removeArr", "names": "Flicker"}},
                        },
                        "_implementations": [{"_variables": {"hue": "Green"}}],
                    }
                ],
            },
        ],
    }  # fmt: skip
    result = install(app, tmp_path, doc)
    wisp = data(app, "shapes:races/wisp")
    assert [b["ability_score"]["name"] for b in wisp["ability_bonuses"]] == ["DEX"]
    assert wisp["5etools"]["entries"][-1]["name"] == "Drift"
    # the version is of the race with the subrace merged in ("Glow" overwritten by the subrace)
    green = lookup(app, LookupParams(ref="shapes:subraces/wisp-marsh-green-wisp")).entry
    names = [e["name"] for e in green.data["5etools"]["entries"]]
    assert names == ["Marsh Glow", "Drift"]  # Glow overwritten, Flicker removed by the version
    assert result.entries == 3  # the race, the Marsh subrace, its version


def test_item_properties_item_entries_and_other_top_level_keys(app: App, tmp_path: Path) -> None:
    doc = {
        "itemProperty": [
            {
                "abbreviation": "BR", "source": S,
                "entries": [{"type": "entries", "name": "Brittle",
                             "entries": ["It breaks on a 1."]}],
            }
        ],
        "itemEntry": [
            {"name": "Warding Charm", "source": S,
             "entriesTemplate": ["You resist {{item.resist}} damage while wearing it."]},
        ],
        "item": [
            {"name": "Charm of Embers", "source": S, "rarity": "rare", "wondrous": True,
             "resist": ["fire"], "entries": [f"{{#itemEntry Warding Charm|{S}}}"]},
            {"name": "Charm of Far Places", "source": S, "rarity": "rare", "wondrous": True,
             "entries": ["{#itemEntry Ring of Resistance|DMG}"]},
        ],
        "linkedLootTables": {S: {"Charm of Embers": ["Table A"]}},  # an object, not an array
    }  # fmt: skip
    result = install(app, tmp_path, doc)
    # named by its entry, whose text is the card's (the name not run in again: test_realworld21)
    assert data(app, "shapes:weapon-properties/brittle")["desc"][0] == "It breaks on a 1."
    assert data(app, "shapes:magic-items/charm-of-embers")["desc"] == [
        "You resist fire damage while wearing it."
    ]
    far = lookup(app, LookupParams(ref="shapes:magic-items/charm-of-far-places"))
    assert "Ring of Resistance" in far.markdown and "{#" not in far.markdown
    # read as 5etools reads it: the item is on that table, nothing is left unread
    assert not any("linkedLootTables" in str(w) for w in result.warnings)
    charm = data(app, "shapes:magic-items/charm-of-embers")
    assert charm["5etools"]["lootTables"] == ["Table A"]
    assert charm["5etools"]["entries"] == [f"{{#itemEntry Warding Charm|{S}}}"]


def test_an_alias_that_is_another_entrys_name_and_a_copy_by_abbreviation(
    app: App, tmp_path: Path
) -> None:
    doc = {
        "monsterTemplate": [
            # 5etools aliases both to a name that is a template of its own
            {"name": "Hill Wisp", "source": S, "alias": ["Bog Wisp"], "apply": {"_root": {}}},
            {"name": "Bog Wisp", "source": S, "apply": {"_root": {}}},
            {"name": "Cave Wisp", "source": S, "alias": ["Deep Wisp"], "apply": {"_root": {}}},
        ],
        "itemType": [
            {"name": "Glass Gear", "abbreviation": "GG", "source": S,
             "entries": ["Fragile gear."]},
            {"name": "Glass Tools", "abbreviation": "GT", "source": S,
             "_copy": {"abbreviation": "GG", "source": S}},
        ],
    }  # fmt: skip
    result = install(app, tmp_path, doc)
    assert result.action == "installed"
    # the name keeps meaning its own entry; the alias stays in the 5etools object
    hill = data(app, "shapes:monster-templates/hill-wisp")
    assert hill.get("aliases", []) == [] and hill["5etools"]["alias"] == ["Bog Wisp"]
    found = lookup(app, LookupParams(name="bog wisp")).entry
    assert found.slug == "bog-wisp"
    assert data(app, "shapes:monster-templates/cave-wisp")["aliases"] == ["Deep Wisp"]
    # an item type copied by its abbreviation, as 5etools identifies them
    assert data(app, "shapes:item-types/glass-tools")["desc"] == ["Fragile gear."]
