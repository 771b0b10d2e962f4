"""`_copy`/`_mod` as 5etools' `copyApplier` applies them, mode by mode, on plain 5etools JSON
(the install-level tests check the same through records and cards)."""

from __future__ import annotations

from typing import Any

import pytest
from d5e_5etools.copy import ModError, derive, short_name, versions

BASE: dict[str, Any] = {
    "name": "Bandit Chief",
    "source": "Brew",
    "page": 3,
    "size": ["M"],
    "str": 14, "dex": 16, "con": 14, "int": 10, "wis": 11, "cha": 14,
    "cr": "4",
    "environment": ["urban"],
    "save": {"dex": "+5"},
    "hp": {"average": 40, "formula": "9d8"},
    "senses": ["darkvision 30 ft."],
    "trait": [{"name": "Pack Tactics", "entries": ["The chief helps. {@spell the chief}"]}],
    "action": [
        {"name": "Multiattack", "entries": ["The chief attacks twice."]},
        {"name": "Scimitar", "entries": ["{@atk mw} {@hit 5} to hit. {@dc 13|13|Str} save."]},
    ],
    "legendaryHeader": ["The chief can take 3 actions."],
    "spellcasting": [
        {
            "name": "Spellcasting",
            "type": "spellcasting",
            "spells": {"1": {"slots": 2, "spells": ["{@spell shield}", "{@spell sleep}"]}},
            "daily": {"1e": ["{@spell blur}"]},
        }
    ],
}  # fmt: skip


def copy_of(mods: dict[str, Any], **root: Any) -> dict[str, Any]:
    entry = {"name": "Copy", "source": "Brew", **root}
    entry["_copy"] = {"name": "Bandit Chief", "source": "Brew", "_mod": mods}
    return derive(BASE, entry, [], "monster")


def test_root_fields_null_and_preserved_fields() -> None:
    made = copy_of({}, hp=None, cr="5")
    assert "hp" not in made  # a root `null` removes the base's field
    assert made["cr"] == "5"
    # page and (for creatures) environment are the original's, unless preserved
    assert "page" not in made and "environment" not in made
    entry = {"name": "C", "_copy": {"name": "x", "source": "y", "_preserve": {"page": True}}}
    assert derive(BASE, entry, [], "monster")["page"] == 3
    assert derive(BASE, entry, [], "item").get("environment") == ["urban"]


def test_star_and_underscore_mods_come_last() -> None:
    made = copy_of(
        {
            "*": {"mode": "replaceTxt", "replace": "chief", "with": "boss"},
            "_": {"mode": "scalarAddHit", "scalar": 1},
            "action": {
                "mode": "appendArr",
                "items": {"name": "Shove", "entries": ["The chief shoves."]},
            },
        }
    )
    # "action" first (its new item is then changed by "*"), then "_", then "*"
    assert made["action"][2]["entries"] == ["The boss shoves."]
    assert "{@hit 6}" in made["action"][1]["entries"][0]
    # replaceTxt leaves tags and names alone; header strings of the array are changed
    assert made["trait"][0]["entries"] == ["The boss helps. {@spell the chief}"]
    assert made["trait"][0]["name"] == "Pack Tactics"


def test_array_modes_with_exact_names() -> None:
    made = copy_of(
        {
            "action": [
                {
                    "mode": "replaceArr",
                    "replace": "Scimitar",
                    "items": {"name": "Saber", "entries": []},
                },
                {"mode": "insertArr", "index": -1, "items": {"name": "Last", "entries": []}},
                {"mode": "renameArr", "renames": {"rename": "Multiattack", "with": "Flurry"}},
                {"mode": "removeArr", "names": "multiattack", "force": True},  # exact: no match
            ],
            "senses": {"mode": "removeArr", "items": "darkvision 30 ft."},
        }
    )
    assert [a["name"] for a in made["action"]] == ["Flurry", "Saber", "Last"]
    assert made["senses"] == []
    with pytest.raises(ModError, match="no item 'scimitar' to replace"):
        copy_of({"action": {"mode": "replaceArr", "replace": "scimitar", "items": []}})
    with pytest.raises(ModError) as caught:
        copy_of({"senses": {"mode": "removeArr", "items": "blindsight 10 ft.", "force": True}})
    assert caught.value.path == ("_copy", "_mod", "senses", "items")


def test_props_scalars_and_calculations() -> None:
    made = copy_of(
        {
            "hp.average": {"mode": "setProp", "value": 99},  # a dotted key is a path
            "save": [
                {"mode": "scalarAddProp", "prop": "dex", "scalar": -10},
                {"mode": "scalarMultProp", "prop": "*", "scalar": 2},
            ],
            "skill": {
                "mode": "calculateProp",
                "prop": "stealth",
                "formula": "(<$prof_bonus$> * 2) + <$dex_mod$>",
            },
            "_": [
                {"mode": "prefixSuffixStringProp", "prop": "name", "prefix": "Elite "},
                {"mode": "addSaves", "saves": {"wis": 1}},
                {"mode": "addSenses", "senses": {"type": "darkvision", "range": 60}},
                {"mode": "scalarMultXp", "scalar": 2},
                {"mode": "maxSize", "max": "S"},
            ],
        }
    )
    assert made["hp"] == {"average": 99, "formula": "9d8"}
    assert made["save"]["dex"] == "-10"  # "+5" - 10 = "-5", doubled; a string keeps its sign
    assert made["skill"]["stealth"] == 7  # CR 4: +2, times 2, plus Dex +3
    assert made["name"] == "Elite Copy"
    assert made["save"]["wis"] == "+2"
    assert made["senses"] == ["darkvision 60 ft."]
    assert made["cr"] == {"cr": "4", "xp": 2200}
    assert made["size"] == ["S"]


def test_spell_modes_and_variables() -> None:
    made = copy_of(
        {
            "_": [
                {
                    "mode": "addSpells",
                    "spells": {"1": {"spells": ["{@spell alarm}"]}},
                    "daily": {"1e": ["{@spell fly}"]},
                },
                {
                    "mode": "replaceSpells",
                    "spells": {"1": [{"replace": "{@spell sleep}", "with": "{@spell bane}"}]},
                },
                {"mode": "removeSpells", "daily": {"1e": ["{@spell blur}"]}},
            ],
            "action": {
                "mode": "appendArr",
                "items": {
                    "name": "Shout",
                    "entries": [
                        "<$title_short_name$> shouts ({@dc <$dc__cha$>}, {@hit <$to_hit__str$>})."
                    ],
                },
            },
        },
        shortName="Chief",
    )
    block = made["spellcasting"][0]
    assert block["spells"]["1"]["spells"] == ["{@spell alarm}", "{@spell bane}", "{@spell shield}"]
    assert block["daily"]["1e"] == ["{@spell fly}"]
    # 5etools' getShortName: "the" and the short name lower-cased, for a creature not named
    assert made["action"][-1]["entries"] == ["The chief shouts ({@dc 12}, {@hit +4})."]


def test_templates_join_the_copys_mods() -> None:
    template = {
        "name": "Tough",
        "apply": {
            "_root": {"cr": "6", "name": "Not Used"},
            "_mod": {"action": {"mode": "appendArr", "items": {"name": "T", "entries": []}}},
        },
    }
    entry = {
        "name": "Copy",
        "_copy": {
            "name": "x",
            "source": "y",
            "_mod": {"action": {"mode": "appendArr", "items": {"name": "C", "entries": []}}},
        },
    }
    made = derive(BASE, entry, [template], "monster")
    assert [a["name"] for a in made["action"]][-2:] == ["C", "T"]
    assert made["name"] == "Copy" and made["cr"] == "6"


def test_versions_of_an_object() -> None:
    parent = {
        **BASE,
        "_versions": [
            {
                "name": "Chief (Mounted)",
                "_mod": {"action": {"mode": "removeArr", "names": "Multiattack"}},
            },
            {
                "_abstract": {
                    "name": "Chief of {{clan}}",
                    "_mod": {"*": {"mode": "replaceTxt", "replace": "chief", "with": "{{title}}"}},
                },
                "_implementations": [
                    {"_variables": {"clan": "Crows", "title": "crow-lord"}, "cr": "5"}
                ],
            },
        ],
    }
    made = [(v["name"], at) for v, at in versions(parent)]
    assert made == [
        ("Chief (Mounted)", ("_versions", 0)),
        ("Chief of Crows", ("_versions", 1, "_abstract")),
    ]
    crows = versions(parent)[1][0]
    assert crows["_copy"]["_preserve"] == {"*": True} and crows["cr"] == "5"
    result = derive({k: v for k, v in parent.items() if k != "_versions"}, crows, [], "monster")
    assert result["trait"][0]["entries"][0] == "The crow-lord helps. {@spell the chief}"
    assert result["page"] == 3


def test_short_name_variables_say_the_creature_as_5etools_does() -> None:
    """`<$short_name$>` is 5etools' `Renderer.monster.getShortName`: its own data writes "While
    enlarged, <$short_name$> is Large" (the duergar's template), so it reads "the duergar";
    d5e read "duergar" (and "Chief" for "The chief"). Checked against 5etools' copyApplier."""
    made = derive(
        {"name": "Adult Red Dragon", "source": "HB", "cr": "17"},
        {
            "name": "Adult Blue Dragon",
            "_copy": {
                "name": "Adult Red Dragon",
                "source": "HB",
                "_mod": {
                    "trait": {
                        "mode": "appendArr",
                        "items": {
                            "name": "Grown",
                            "entries": ["While enlarged, <$short_name$> is Large."],
                        },
                    }
                },
            },
        },
        [],
        "monster",
    )
    assert made["trait"][0]["entries"] == ["While enlarged, the dragon is Large."]
    # a comma's tail and a dragon's age are left out; a named creature is its first name
    assert short_name({"name": "Young Red Dracolich"}) == "the dracolich"
    assert short_name({"name": "Goblin, Boss"}, title=True) == "The goblin"
    assert short_name({"name": "Strahd von Zarovich", "isNamedCreature": True}) == "Strahd"
    assert short_name({"name": "Chief", "shortName": True}) == "the Chief"
