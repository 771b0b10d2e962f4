"""What real homebrew files showed (the Unearthed Arcana files of TheGiddyLimit, the homebrew
repository's samples), each in a small file of our own: a subclass copying the one of the same
name written for another class, copies of another 5etools pack's subclasses, ability scores
written as text, copies of books d5e cannot hold (left out with a warning, the rest installed),
and the homebrew schema's remaining content types."""

from __future__ import annotations

import asyncio
import json
from functools import partial
from pathlib import Path
from typing import Any

from fivetools_files import card, data, install, write

from d5e_daemon.app import App
from d5e_daemon.features.packs import validate
from d5e_daemon.protocol import ValidateParams


def test_a_subclass_copying_its_namesake_of_another_class_is_no_cycle(
    app: App, tmp_path: Path
) -> None:
    # one subclass written once for a made-up class ("Generic", as 5etools' own files do),
    # then given to a real class by a copy of the same name and source
    src = "LanternSchools"
    generic = {
        "name": "Keeper of Lanterns", "shortName": "Lanterns", "source": src,
        "className": "Generic", "classSource": "Generic",
        "entries": ["You carry a light that never gutters."],
    }  # fmt: skip
    bard = {
        "name": "Keeper of Lanterns", "shortName": "Lanterns", "source": src,
        "className": "Bard", "classSource": "PHB",
        "_copy": {
            "name": "Keeper of Lanterns", "source": src, "shortName": "Lanterns",
            "className": "Generic", "classSource": "Generic",
        },
    }  # fmt: skip
    result = install(app, write(tmp_path, src, {"subclass": [bard, generic]}))
    assert result.entries == 2
    got = data(app, "lanternschools:subclasses/bard-keeper-of-lanterns")
    assert got["5etools"]["className"] == "Bard"
    assert "never gutters" in card(app, "lanternschools:subclasses/bard-keeper-of-lanterns")


def test_a_copy_of_another_packs_subclass_finds_it_by_its_class(app: App, tmp_path: Path) -> None:
    first = {
        "name": "Circle of Ash", "shortName": "Ash", "source": "AshOne",
        "className": "Druid", "classSource": "PHB", "entries": ["Ash to ash."],
    }  # fmt: skip
    install(app, write(tmp_path, "AshOne", {"subclass": [first]}))
    second = {
        "name": "Circle of Ash", "shortName": "Ash", "source": "AshTwo",
        "className": "Druid", "classSource": "PHB",
        "_copy": {
            "name": "Circle of Ash", "source": "AshOne", "shortName": "Ash",
            "className": "Druid", "classSource": "PHB",
            "_mod": {"entries": {"mode": "appendArr", "items": "Dust to dust."}},
        },
    }  # fmt: skip
    meta_doc = {"subclass": [second]}
    path = write(tmp_path, "AshTwo", meta_doc)
    doc = json.loads(path.read_text("utf-8"))
    doc["_meta"]["dependencies"] = {"subclass": ["AshOne"]}
    path.write_text(json.dumps(doc, indent="\t"), "utf-8")
    result = install(app, path)
    assert result.entries == 1, result.warnings
    got = data(app, "ashtwo:subclasses/druid-circle-of-ash")
    assert got["5etools"]["entries"] == ["Ash to ash.", "Dust to dust."]


def test_a_copy_of_an_srd_subclass_or_subrace_finds_the_srd_name(app: App, tmp_path: Path) -> None:
    # 5etools names the PHB's subclass "Path of the Berserker" (short name "Berserker") and
    # its subrace "Hill" of the "Dwarf"; the SRD's records are `berserker` and `hill-dwarf`
    doc = {
        "subclass": [
            {
                "name": "Path of the Wroth", "shortName": "Wroth", "source": "Wroth",
                "className": "Barbarian", "classSource": "PHB",
                "_copy": {
                    "name": "Path of the Berserker", "shortName": "Berserker", "source": "PHB",
                    "className": "Barbarian", "classSource": "PHB",
                },
            }
        ],
        "subrace": [
            {
                "name": "Deep", "source": "Wroth", "raceName": "Dwarf", "raceSource": "PHB",
                "_copy": {"name": "Hill", "source": "PHB", "raceName": "Dwarf",
                          "raceSource": "PHB"},
            }
        ],
    }  # fmt: skip
    result = install(app, write(tmp_path, "Wroth", doc))
    assert result.entries == 2, result.warnings
    assert not result.warnings
    assert data(app, "wroth:subclasses/barbarian-path-of-the-wroth")["name"] == "Path of the Wroth"
    assert data(app, "wroth:subraces/deep-dwarf")["name"] == "Deep"


def test_ability_scores_written_as_text(app: App, tmp_path: Path) -> None:
    # a summoned shape whose scores are the caster's: `{"special": …}` is 5etools' schema
    scores = {k: {"special": "equal to yours"} for k in ("str", "dex", "con", "int", "wis")}
    doc = {
        "monster": [
            {
                "name": "Borrowed Shape", "source": "Shapes2", "size": ["M"], "type": "beast",
                "ac": [12], "hp": {"special": "half yours"}, "speed": {"walk": 30},
                **scores, "cha": 8, "cr": "1", "passive": 10,
            }
        ]
    }  # fmt: skip
    path = write(tmp_path, "Shapes2", doc)
    report = asyncio.run(validate(app, ValidateParams(path=str(path))))
    assert report.ok, [p.message for p in report.problems]
    install(app, path)
    shown = card(app, "shapes2:monsters/borrowed-shape")
    assert "| equal to yours | equal to yours |" in shown
    assert "8 (-1)" in shown
    assert data(app, "shapes2:monsters/borrowed-shape")["strength"] == "equal to yours"
    # a score of any other JSON type is a located warning (an error that refused the whole
    # file until the twenty-third session): the score is left out, the rest installed
    bad = write(
        tmp_path, "Shapes3", {"monster": [{"name": "Odd", "source": "Shapes3", "str": "x"}]}
    )
    report = asyncio.run(validate(app, ValidateParams(path=str(bad))))
    assert report.ok
    (problem,) = [p for p in report.problems if "`str`" in p.message]
    assert problem.severity == "warning"
    assert problem.message == "`str` must be an integer or an object, not a string: left out"
    assert problem.field == "monster[0].str"  # the JSON path from the file's root
    assert bad.read_text("utf-8").splitlines()[problem.line - 1].strip().startswith('"str"')
    install(app, bad)
    assert "strength" not in data(app, "shapes3:monsters/odd")


def test_copies_of_books_d5e_cannot_hold_are_left_out_with_a_warning(
    app: App, tmp_path: Path
) -> None:
    src = "Lanterns2"
    doc = {
        "spell": [
            {  # the Player's Handbook's, not the SRD's: nowhere d5e can read it
                "name": "Lantern Song", "source": src,
                "_copy": {"name": "Not In The SRD", "source": "PHB"},
            },
            {  # Tasha's: a book d5e never holds
                "name": "Lantern Hymn", "source": src,
                "_copy": {"name": "Tasha's Caustic Brew", "source": "TCE"},
            },
            {  # built on a copy that is left out: left out too, said so
                "name": "Lantern Chant", "source": src,
                "_copy": {"name": "Lantern Hymn", "source": src},
            },
            {  # the SRD's: copied as ever
                "name": "Lantern Bolt", "source": src,
                "_copy": {"name": "Fire Bolt", "source": "PHB",
                          "_mod": {"*": {"mode": "replaceTxt", "replace": "fire",
                                         "with": "light"}}},
            },
            {"name": "Lantern Glow", "source": src, "level": 0, "school": "V",
             "entries": ["A soft glow."]},
        ]
    }  # fmt: skip
    path = write(tmp_path, src, doc)
    report = asyncio.run(validate(app, ValidateParams(path=str(path))))
    assert report.ok
    warned = {p.message for p in report.problems if p.severity == "warning"}
    assert any(
        "spells/lantern-song left out" in m and "srd-2014 has no spells/not-in-the-srd" in m
        for m in warned
    )
    assert any("spells/lantern-hymn left out" in m and "'tce'" in m for m in warned)
    assert any(
        "spells/lantern-chant left out: it is built on" in m and "lantern-hymn" in m for m in warned
    )
    result = install(app, path)
    assert result.entries == 2
    assert data(app, "lanterns2:spells/lantern-glow")["level"] == 0
    assert data(app, "lanterns2:spells/lantern-bolt")["level"] == 0
    # no dependency on a pack that can never be installed
    assert not any("depends on tce" in w.message for w in result.warnings)


def test_a_copy_of_homebrew_not_installed_is_still_an_error(app: App, tmp_path: Path) -> None:
    copied = {"name": "Call", "source": "SomeoneElse"}
    doc = {"spell": [{"name": "Echo", "source": "Needy", "_copy": copied}]}
    path = write(tmp_path, "Needy", doc)
    report = asyncio.run(validate(app, ValidateParams(path=str(path))))
    assert not report.ok
    assert any(
        "pack 'someoneelse' is not installed" in p.message
        for p in report.problems
        if p.severity == "error"
    )


def test_the_remaining_types_of_the_homebrew_schema(app: App, tmp_path: Path) -> None:
    src = "Odds"
    doc = {
        "spell": [{"name": "Spark Step", "source": src, "level": 1, "school": "C",
                   "entries": ["You step."]}],
        "spellList": [{"name": "Ember Arts", "source": src, "spellListType": "groups",
                       "spells": ["spark step", "fire bolt|phb"]}],
        "citation": [{"name": "Odds, page 2", "source": src, "entries": ["From my notes."]}],
        "makebrewCreatureTrait": [{"name": "Ashen Hide", "source": src,
                                   "entries": ["Resistant to {@damage 1d4} fire."]}],
        "makebrewCreatureAction": [{"name": "Ash Spit", "source": src,
                                    "entries": ["{@atk rw} {@hit 3} to hit."]}],
        "monsterfeatures": [{"name": "Smoulder", "example": "Ember Imp",
                             "effect": "Deals extra fire damage.", "dpr": "+2"}],
        "disease": [{"name": "Cinder Cough", "source": src, "entries": ["A dry cough."]}],
        "diseaseFluff": [{"name": "Cinder Cough", "source": src, "entries": ["Miners fear it."]}],
        "status": [{"name": "Smouldering", "source": src, "entries": ["You smoke."]}],
        "statusFluff": [{"name": "Smouldering", "source": src, "entries": ["It smells."]}],
        "reducedItemProperty": [{"abbreviation": "EMB", "source": src,
                                 "entries": [{"type": "entries", "name": "Ember",
                                              "entries": ["It glows."]}]}],
        "encounterShape": [{"name": "Pair", "source": src}],
    }  # fmt: skip
    result = install(app, write(tmp_path, src, doc))
    warned = [w.message for w in result.warnings]
    # what is not content d5e can show is still named with its count
    assert any("1 `encounterShape` entry not read" in m for m in warned), warned
    assert not any("spellList" in m or "Fluff" in m or "reduced" in m for m in warned), warned
    ember = card(app, "odds:spell-lists/ember-arts")
    assert "*Spell list*" in ember
    assert "[spark step](d5e://odds/spells/spark-step.md)" in ember
    assert "[fire bolt](d5e://srd-2014/spells/fire-bolt.md)" in ember
    assert "From my notes." in card(app, "odds:citations/odds-page-2")
    assert "Resistant to 1d4 fire." in card(app, "odds:creature-traits/ashen-hide")
    assert "*Ranged Weapon Attack:* +3 to hit." in card(app, "odds:creature-actions/ash-spit")
    assert "**Effect:** Deals extra fire damage." in card(app, "odds:monster-features/smoulder")
    cough = card(app, "odds:diseases/cinder-cough")
    assert "A dry cough." in cough and "Miners fear it." in cough
    assert "It smells." in card(app, "odds:statuses/smouldering")
    prop = card(app, "odds:weapon-properties/ember")
    assert "*Weapon property*" in prop and "It glows." in prop


def test_entry_types_of_the_schema_keep_their_text(app: App, tmp_path: Path) -> None:
    # `attack`, `wrapper` and `statblockInline` lost their text (only a name was left)
    ember = {
        "name": "Tiny Ember", "source": "Ents", "size": ["T"], "type": "elemental",
        "alignment": ["N"], "ac": [12], "hp": {"average": 3, "formula": "1d4 + 1"},
        "speed": {"walk": 20}, "str": 3, "dex": 14, "con": 12, "int": 4, "wis": 10, "cha": 5,
        "passive": 10, "cr": "1/8",
        "action": [{"name": "Singe", "entries": ["{@atk ms} {@hit 4} to hit. {@h}1 fire."]}],
    }  # fmt: skip
    doc = {
        "variantrule": [
            {
                "name": "Every Entry", "source": "Ents",
                "entries": [
                    {"type": "attack", "attackType": "MW", "name": "Claw",
                     "attackEntries": ["{@hit 4} to hit, reach 5 ft."],
                     "hitEntries": ["5 ({@damage 1d6 + 2}) slashing damage."]},
                    {"type": "wrapper", "wrapped": "Wrapped text here."},
                    {"type": "statblockInline", "dataType": "monster", "data": ember},
                    {"type": "statblockInline", "dataType": "item",
                     "data": {"name": "Ash Jar", "source": "Ents", "rarity": "common",
                              "entries": ["Holds ash."]}},
                    {"type": "variant", "name": "Variant: Cold Ash", "entries": ["Cold."]},
                    {"type": "table", "colLabels": ["d4", "Result"],
                     "rows": [[{"type": "cell", "roll": {"min": 4, "max": 4, "pad": True}},
                               "Flame"]]},
                ],
            }
        ]
    }  # fmt: skip
    install(app, write(tmp_path, "Ents", doc))
    shown = card(app, "ents:variant-rules/every-entry")
    assert (
        "***Claw.*** *Melee Weapon Attack:* +4 to hit, reach 5 ft. *Hit:* 5 (1d6 + 2) "
        "slashing damage." in shown
    )
    assert "Wrapped text here." in shown
    assert "> **Tiny Ember**" in shown
    assert "> *Tiny elemental, neutral*" in shown
    assert "**Armor Class** 12 · **Hit Points** 3 (1d4+1) · **Speed** 20 ft." in shown
    assert "| 3 (-4) | 14 (+2) | 12 (+1) | 4 (-3) | 10 (+0) | 5 (-3) |" in shown
    assert "**Challenge** 1/8" in shown
    assert "> ***Singe.*** *Melee Spell Attack:* +4 to hit. *Hit:* 1 fire." in shown
    assert "> **Ash Jar**" in shown and "**Rarity:** common" in shown and "Holds ash." in shown
    assert "**Variant: Cold Ash**" in shown and "Variant: Variant" not in shown
    assert "| 4 | Flame |" in shown


def test_copies_of_monster_manual_creatures_stand_on_the_srds(app: App, tmp_path: Path) -> None:
    # 5etools names an action with its usage (`Web {@recharge 5}`, `Healing Touch (4/Day)`)
    # and keeps spellcasting apart from the traits; the SRD's records are read so, so that the
    # `_mod`s written against the Monster Manual apply. A change whose target the SRD's
    # version lacks is left out with a warning (the base only stands in for the book's).
    src = "SrdCopies"
    doc = {
        "monster": [
            {"name": "Web Mother", "source": src, "_copy": {
                "name": "Giant Spider", "source": "MM", "_mod": {"action": [
                    {"mode": "replaceArr", "replace": "Web {@recharge 5}",
                     "items": {"name": "Great Web {@recharge 4}", "entries": ["A big web."]}},
                    {"mode": "removeArr", "names": "Sting Of Nothing"},
                ]}}},
            {"name": "Hedge Archmage", "source": src, "_copy": {
                "name": "Archmage", "source": "MM", "_mod": {
                    "_": {"mode": "addSpells", "spells": {"1": {"spells": ["{@spell shield}"]}}},
                    "spellcasting": {"mode": "replaceSpells", "spells": {"9": [
                        {"replace": "{@spell time stop}", "with": "{@spell foresight}"}]}},
                }}},
            {"name": "Wing Healer", "source": src, "_copy": {
                "name": "Planetar", "source": "MM",
                "_mod": {"action": {"mode": "removeArr", "names": "Healing Touch (4/Day)"}}}},
            {"name": "Count Ash", "source": src, "_copy": {"name": "Vampire", "source": "MM"}},
        ],
        # the SRD's names for the PHB's: an alias of the SRD's Acid Arrow
        "spell": [{"name": "Ember Arrow", "source": src, "_copy": {
            "name": "Melf's Acid Arrow", "source": "PHB",
            "_mod": {"entries": {"mode": "replaceTxt", "replace": "acid", "with": "fire"}}}}],
        # the 2024 SRD's races are its species
        "race": [{"name": "Ember Elf", "source": src, "_copy": {"name": "Elf", "source": "XPHB"}}],
    }  # fmt: skip
    path = write(tmp_path, src, doc)
    result = install(app, path)
    assert result.entries == 6
    (warning,) = result.warnings
    assert warning.severity == "warning"
    assert "no item 'Sting Of Nothing' to remove" in warning.message
    assert "stands in for MM's 'Giant Spider': this change is left out" in warning.message
    assert path.read_text("utf-8").splitlines()[warning.line - 1].count("Sting Of Nothing")
    spider = data(app, "srdcopies:monsters/web-mother")
    assert [a["name"] for a in spider["actions"]] == ["Bite", "Great Web {@recharge 4}"]
    assert "***Great Web (Recharge 4–6).*** A big web." in card(
        app, "srdcopies:monsters/web-mother"
    )
    mage = data(app, "srdcopies:monsters/hedge-archmage")
    casting = mage["5etools"]["spellcasting"][0]
    assert "{@spell shield}" in casting["spells"]["1"]["spells"]
    assert casting["spells"]["9"]["spells"] == ["{@spell foresight}"]
    assert casting["will"] == ["{@spell disguise self}", "{@spell invisibility}"]
    assert "Magic Resistance" in [t["name"] for t in mage["special_abilities"]]
    shown = card(app, "srdcopies:monsters/hedge-archmage")
    assert "- Level 9 (1 slot): [foresight](d5e://srd-2014/spells/foresight.md)" in shown
    healer = data(app, "srdcopies:monsters/wing-healer")
    assert "Healing Touch (4/Day)" not in [a["name"] for a in healer["actions"]]
    assert data(app, "srdcopies:monsters/count-ash")["hit_points"] == 144  # the Vampire Form
    assert "fire" in data(app, "srdcopies:spells/ember-arrow")["desc"][0]
    assert data(app, "srdcopies:races/ember-elf")["name"] == "Ember Elf"


def test_a_monster_card_shows_what_follows_its_stat_block(app: App, tmp_path: Path) -> None:
    src = "Drakes"
    doc = {
        "monster": [
            {
                "name": "Cinder Drake", "source": src, "size": ["L"], "type": "dragon",
                "ac": [17], "hp": {"average": 90, "formula": "12d10 + 24"},
                "speed": {"walk": 40}, "str": 18, "dex": 12, "con": 15, "int": 10, "wis": 11,
                "cha": 13, "passive": 12, "cr": "7",
                "legendary": [{"name": "Tail", "entries": ["It swipes."]}],
                "mythicHeader": ["If its mythic trait is active, it can use these."],
                "mythic": [{"name": "Ash Storm", "entries": ["Ash falls."]}],
                "legendaryGroup": {"name": "Cinder Drake", "source": src},
                "footer": ["The drake never sleeps."],
                "variant": [{"type": "variant", "name": "Young Drakes",
                             "entries": ["They have half the hit points."]}],
                "gear": ["longsword|phb", {"item": "dagger|phb", "quantity": 2}],
                "initiative": {"proficiency": 1},
            }
        ],
        "legendaryGroup": [{"name": "Cinder Drake", "source": src,
                            "lairActions": ["The lair smokes."]}],
    }  # fmt: skip
    install(app, write(tmp_path, src, doc))
    shown = card(app, "drakes:monsters/cinder-drake")
    assert "### Mythic Actions" in shown and "***Ash Storm.*** Ash falls." in shown
    assert "If its mythic trait is active, it can use these." in shown
    assert "The drake never sleeps." in shown
    assert "> **Variant: Young Drakes**" in shown and "They have half the hit points." in shown
    assert (
        "*Lair actions and regional effects:* "
        "[Cinder Drake](d5e://drakes/legendary-groups/cinder-drake.md)" in shown
    )
    assert "[longsword](d5e://srd-2014/equipment/longsword.md)" in shown
    assert "[dagger](d5e://srd-2014/equipment/dagger.md) (2)" in shown
    assert "**Initiative:** +4 (14)" in shown  # Dex +1, proficiency bonus 3 at CR 7


def test_recipes_spell_lists_of_objects_and_cantrip_scaling(app: App, tmp_path: Path) -> None:
    src = "Kitchen"
    doc = {
        "recipe": [
            {
                "name": "Ember Bread", "source": src, "serves": {"min": 4, "max": 6},
                "ingredients": [
                    {"type": "ingredient", "entry": "{=amount1/v} cups flour", "amount1": 1.5},
                    {"type": "ingredient",
                     "entry": "{=amount1/x} {@unit {=amount1}|egg|eggs}", "amount1": 2},
                    {"type": "ingredient",
                     "entry": "{=amount1/c} {@unit {=amount1/c}|pinch|pinches} of ash",
                     "amount1": 0.6},
                    "Salt to taste",
                ],
                "instructions": ["Mix.", "Bake until golden."],
                "noteCook": ["Do not burn it."],
            }
        ],
        "monster": [
            {
                "name": "Hidden Caster", "source": src, "cr": "1",
                "spellcasting": [{"name": "Innate Spellcasting", "type": "spellcasting",
                                  "headerEntries": ["It casts:"],
                                  "will": ["{@spell light}",
                                           {"entry": "{@spell wish}", "hidden": True}],
                                  "daily": {"1e": [{"entry": "{@spell fly}"}]},
                                  "ability": "cha"}],
            }
        ],
        "spell": [
            {"name": "Ember Blade", "source": src, "level": 0, "school": "V",
             "entries": ["A blade of embers."],
             "scalingLevelDice": {"label": "fire damage",
                                  "scaling": {"1": "{{spellcasting_mod}}", "5": "1d8"}}}
        ],
    }  # fmt: skip
    install(app, write(tmp_path, src, doc))
    bread = card(app, "kitchen:recipes/ember-bread")
    assert "**Serves:** 4–6" in bread
    assert "- 1½ cups flour" in bread
    assert "- two eggs" in bread
    assert "- 1 pinch of ash" in bread
    assert "- Salt to taste" in bread
    assert "**Instructions**" in bread and "Bake until golden." in bread
    assert "Do not burn it." in bread
    assert "{=" not in bread and "{@" not in bread and "Type ingredient" not in bread
    caster = card(app, "kitchen:monsters/hidden-caster")
    assert "- At will: [light](d5e://srd-2014/spells/light.md)" in caster
    assert "wish" not in caster and "'entry'" not in caster
    assert "- 1/day each: [fly](d5e://srd-2014/spells/fly.md)" in caster
    blade = card(app, "kitchen:spells/ember-blade")
    assert "fire damage: your spellcasting modifier (level 1), 1d8 (level 5)" in blade, blade


def test_files_of_one_source_are_one_pack_installed_as_a_folder(app: App, tmp_path: Path) -> None:
    # a product's creatures and its adventure are often two files of one source
    folder = tmp_path / "odyssey"
    folder.mkdir()
    guard = {"name": "Bronze Guard", "source": "Odyssey", "cr": "4"}
    lance = {"name": "Sun Lance", "source": "Odyssey", "level": 2, "school": "V"}
    creatures = write(folder, "Odyssey", {"monster": [guard]}, "Someone; Odyssey Creatures.json")
    spells = write(folder, "Odyssey", {"spell": [lance]}, "Someone; Odyssey Spells.json")
    install(app, creatures)
    from d5e_daemon.errors import PackError

    try:
        install(app, spells)
    except PackError as exc:
        message = str(exc)
    else:
        raise AssertionError("a second file of the same source replaced the first")
    assert "files of one source are one pack: put them in one folder" in message
    assert "pack.toml" not in message
    from d5e_daemon import packs

    app.db.write(partial(packs.remove, pack_id="odyssey"))
    result = install(app, folder)
    assert result.entries == 2
    assert data(app, "odyssey:monsters/bronze-guard")["challenge_rating"] == 4
    assert data(app, "odyssey:spells/sun-lance")["level"] == 2


def test_creature_shapes_of_the_schema_on_the_card(app: App, tmp_path: Path) -> None:
    src = "OddShapes"
    odd = {
        "name": "Odd Thing", "source": src, "size": ["S", "M"], "type": "fey",
        "ac": [{"special": "12 + its Wisdom modifier"},
               {"ac": 14, "condition": "while raging", "braces": True}],
        "hp": {"special": "five times your level"},
        "speed": {"walk": {"number": 30, "condition": "(only on land)"},
                  "choose": {"from": ["climb", "swim"], "amount": 20}},
        "str": 10, "dex": 10, "con": 10, "int": 10, "wis": 10, "cha": 10,
        "save": {"dex": "+2", "special": "your proficiency bonus"},
        "skill": {"perception": "+4", "other": [{"oneOf": {"arcana": "+5", "history": "+5"}}]},
        "passive": 14, "cr": "5",
    }  # fmt: skip
    install(app, write(tmp_path, src, {"monster": [odd]}))
    shown = card(app, "oddshapes:monsters/odd-thing")
    assert "**Armor Class:** 12 + its Wisdom modifier (14 while raging)" in shown
    assert "**Hit Points:** five times your level" in shown
    assert "**Speed:** 30 ft. (only on land), climb or swim 20 ft." in shown
    # as 5etools' stat block: after the numbers, on their line
    assert "**Saving Throws:** Dex +2, your proficiency bonus" in shown
    assert "**Skills:** Perception +4, plus one of the following: Arcana +5 or History +5" in shown
    assert "Skills, also" not in shown and "Saving throws, also" not in shown


def test_codes_a_file_names_in_its_meta(app: App, tmp_path: Path) -> None:
    path = tmp_path / "Someone; Meta.json"
    doc = {
        "_meta": {
            "sources": [{"json": "MetaCodes", "full": "Meta Codes", "version": "1"}],
            "spellSchools": {"CH": {"full": "Chronurgy", "short": "Chron."}},
            "optionalFeatureTypes": {"EMB": "Ember Rite"},
            "featCategories": {"AS": "Ashen"},
            "psionicTypes": {"Q": {"full": "Quiet Discipline", "short": "Quiet"}},
        },
        "spell": [{"name": "Slow Ember", "source": "MetaCodes", "level": 1, "school": "CH",
                   "entries": ["Time slows."]}],
        "optionalfeature": [{"name": "Rite of Ash", "source": "MetaCodes",
                             "featureType": ["EMB", "EI"], "entries": ["A rite."]}],
        "feat": [{"name": "Ash Born", "source": "MetaCodes", "category": "AS",
                  "entries": ["Born of ash."]}],
        "psionic": [{"name": "Hush", "source": "MetaCodes", "type": "Q", "entries": ["Quiet."]}],
    }  # fmt: skip
    path.write_text(json.dumps(doc, indent="\t"), "utf-8")
    install(app, path)
    assert data(app, "metacodes:spells/slow-ember")["school"]["name"] == "Chronurgy"
    assert "*1st-level chronurgy*" in card(app, "metacodes:spells/slow-ember")
    rite = card(app, "metacodes:optional-features/rite-of-ash")
    assert "**Feature type:** Ember Rite, Eldritch Invocation" in rite  # its own, 5etools'
    assert "**Category:** Ashen" in card(app, "metacodes:feats/ash-born")
    assert "**Type:** Quiet Discipline" in card(app, "metacodes:psionics/hush")


def test_includes_are_dependencies_and_5etools_books_are_none(app: App, tmp_path: Path) -> None:
    path = tmp_path / "Someone; Needs.json"
    doc = {
        "_meta": {
            "sources": [{"json": "Needs", "full": "Needs", "version": "1"}],
            "dependencies": {"monster": ["VGM", "MM"]},
            "includes": {"monster": ["OtherBrew"]},
        },
        "monster": [{"name": "Needy", "source": "Needs", "cr": "1"}],
    }
    path.write_text(json.dumps(doc, indent="\t"), "utf-8")
    warned = [w.message for w in install(app, path).warnings]
    assert any("depends on otherbrew, which is not installed" in m for m in warned), warned
    assert not any("vgm" in m or "depends on mm" in m for m in warned), warned


def test_cards_of_vehicles_objects_traps_tables_and_deities(app: App, tmp_path: Path) -> None:
    # named blocks (a vehicle's weapons, an object's actions) kept their name only
    src = "Gear"
    doc = {
        "deity": [{"name": "Ignara", "source": src, "pantheon": "Ember",
                   "symbolImg": {"type": "image",
                                 "href": {"type": "external", "url": "https://example.org/c.png"}},
                   "entries": ["She warms."]}],
        "vehicle": [{"name": "Ash Skiff", "source": src, "vehicleType": "SHIP",
                     "control": [{"name": "Tiller", "ac": 12, "hp": 10, "entries": ["Steers."]}],
                     "movement": [{"name": "Sails", "ac": 12, "hp": 20,
                                   "locomotion": [{"mode": "water",
                                                   "entries": ["Speed 30 ft."]}]}],
                     "weapon": [{"name": "Ember Thrower", "count": 2, "ac": 15, "hp": 30,
                                 "entries": ["{@atk rw} {@hit 4} to hit."]}],
                     "entries": ["A small boat."]}],
        "object": [{"name": "Ember Shrine", "source": src, "objectType": "SW", "ac": 15,
                    "hp": 30, "entries": ["A shrine."],
                    "actionEntries": [{"type": "actions", "name": "Flare",
                                       "entries": ["It flares."]}]}],
        "trap": [{"name": "Coal Pit", "source": src, "trapHazType": "MECH",
                  "trigger": ["Stepping in."], "entries": []}],
        "table": [{"name": "Ember Omens", "source": src, "colLabels": ["d4", "Omen"],
                   "rows": [["1", "A spark"]], "intro": ["Omens come."], "outro": ["Or not."]}],
    }  # fmt: skip
    install(app, write(tmp_path, src, doc))
    assert "**Symbol image:** ![image](https://example.org/c.png)" in card(
        app, "gear:deities/ignara"
    )
    skiff = card(app, "gear:vehicles/ash-skiff")
    assert "**Vehicle type:** Ship" in skiff
    assert "***Tiller (AC 12; HP 10).*** Steers." in skiff
    assert "***Water.*** Speed 30 ft." in skiff
    assert "***Ember Thrower (2×; AC 15; HP 30).*** *Ranged Weapon Attack:* +4 to hit." in skiff
    shrine = card(app, "gear:objects/ember-shrine")
    assert "**Object type:** Siege Weapon" in shrine and "***Flare.*** It flares." in shrine
    assert "**Type:** Mechanical Trap" in card(app, "gear:traps/coal-pit")
    omens = card(app, "gear:tables/ember-omens")
    assert omens.index("Omens come.") < omens.index("| 1 | A spark |") < omens.index("Or not.")
    assert "**Intro:**" not in omens


def test_pack_contents_attunement_and_a_group_of_regional_effects(app: App, tmp_path: Path) -> None:
    src = "Packs"
    doc = {
        "item": [
            {"name": "Ember Pack", "source": src, "type": "G", "rarity": "none", "value": 1000,
             "packContents": ["rope, hempen (50 feet)|phb", {"item": "torch|phb", "quantity": 5},
                              {"special": "a lucky coal"}], "entries": ["A pack."]},
            {"name": "Ember Staff", "source": src, "type": "SCF", "rarity": "rare",
             "reqAttune": "by a sorcerer or wizard", "entries": ["A staff."]},
            {"name": "Ember Ring", "source": src, "type": "RG", "rarity": "rare",
             "reqAttune": "optional", "entries": ["A ring."]},
        ],
        "legendaryGroup": [{"name": "Ember Court", "source": src,
                            "regionalEffects": ["The land smoulders."]}],
    }  # fmt: skip
    install(app, write(tmp_path, src, doc))
    pack = card(app, "packs:equipment/ember-pack")
    assert "[torch](d5e://srd-2014/equipment/torch.md) (5)" in pack
    assert "a lucky coal" in pack and "rope, hempen (50 feet)" in pack
    assert "(requires attunement by a sorcerer or wizard)" in card(
        app, "packs:magic-items/ember-staff"
    )
    assert "**Attunement:** optional" in card(app, "packs:magic-items/ember-ring")
    assert "***Regional Effects.*** The land smoulders." in card(
        app, "packs:legendary-groups/ember-court"
    )


def test_a_swarms_creatures_are_named_in_the_plural(app: App, tmp_path: Path) -> None:
    def swarm(name: str, kind: Any) -> dict[str, Any]:
        return {
            "name": name, "source": "Swarms1", "size": ["L"],
            "type": {"type": kind, "swarmSize": "T"}, "ac": [12], "hp": {"average": 22},
            "speed": {"walk": 30}, "str": 10, "dex": 10, "con": 10, "int": 10, "wis": 10,
            "cha": 10, "cr": "2", "passive": 10,
        }  # fmt: skip

    doc = {
        "monster": [
            swarm("Choir of Sparks", {"choose": ["celestial", "fiend"]}),
            swarm("Grave Chatter", "undead"),
            swarm("Hungry Maws", "monstrosity"),
        ]
    }
    install(app, write(tmp_path, "Swarms1", doc))
    assert data(app, "swarms1:monsters/choir-of-sparks")["type"] == (
        "swarm of Tiny celestials or fiends"
    )
    assert data(app, "swarms1:monsters/grave-chatter")["type"] == "swarm of Tiny undead"
    assert data(app, "swarms1:monsters/hungry-maws")["type"] == "swarm of Tiny monstrosities"
