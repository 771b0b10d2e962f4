"""Twenty-third session: values of the wrong type or form in 5etools homebrew (a file of our own
in the real format), and shapes found in real files nobody here wrote."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from fivetools_files import card, data, install, write

from d5e_daemon.app import App
from d5e_daemon.features.complete import complete
from d5e_daemon.features.packs import validate
from d5e_daemon.protocol import CompleteParams, ValidateParams

S = "Values"


def test_values_5etools_schema_refuses_are_located_warnings(app: App, tmp_path: Path) -> None:
    """`"cr": "banana"` installed without a word (newuser22). Each value of a field d5e reads
    that 5etools' homebrew schema refuses (or, for a challenge rating, that 5etools reads as no
    number) is a warning naming the file, the JSON path, line and column and what was expected;
    the entry and the file install, the value kept as written. A value of the wrong JSON type
    (`"weight": "heavy"`) is a warning too, that field left out; only a `source` that is no
    string stays an error."""
    creature = {
        "source": S, "type": "beast", "str": 10, "dex": 12, "con": 10, "int": 10, "wis": 10,
        "cha": 10, "passive": 10,
    }  # fmt: skip
    doc = {
        "monster": [
            {**creature, "name": "Banana Beast", "size": ["Q"], "alignment": ["X"],
             "ac": ["twelve"], "hp": {"average": "lots", "formula": "2d8"},
             "speed": {"walk": "fast", "fly": {"number": "30", "condition": "(hover)"}},
             "cr": "banana"},
            # what real files hold and 5etools reads: no warning
            {**creature, "name": "Fine Beast", "size": ["M", "L"], "alignment": ["L", "E"],
             "ac": [12, {"ac": 14, "from": ["natural armor"]}, {"special": "varies"}],
             "hp": {"special": "half yours"}, "speed": {"walk": 30, "fly": {"number": 30,
             "condition": "(hover)"}, "canHover": True}, "cr": {"cr": "1/2", "lair": "2",
             "xp": 100}},
            {**creature, "name": "Unknown Beast", "cr": "Unknown", "size": ["M"]},
            {**creature, "name": "Dash Beast", "cr": "\u2014", "size": ["M"]},
            {**creature, "name": "Minion Beast", "cr": "M1", "size": ["M"]},  # Conflux's
            {**creature, "name": "Odd Lair", "cr": {"cr": "3", "coven": "pear", "xp": "many"}},
        ],
        "spell": [
            {"name": "Bad Bolt", "source": S, "level": -1, "school": "Evocation",
             "time": [{"number": "1", "unit": "action"}],
             "range": {"type": "pointy", "distance": {"type": "feet", "amount": "60"}},
             "components": {"v": "yes", "m": {"text": "a gem", "cost": "100gp"}},
             "duration": [{"type": "forever"}], "entries": ["Zap."]},
            {"name": "Good Bolt", "source": S, "level": 10, "school": "CH",
             "time": [{"number": 1, "unit": "action"}],
             "range": {"type": "point", "distance": {"type": "feet", "amount": 60}},
             "components": {"v": True, "m": {"text": "a gem", "cost": 10000, "consume": True}},
             "duration": [{"type": "timed", "duration": {"type": "minute", "amount": 1},
                           "concentration": True}], "entries": ["Zap."]},
        ],
        "item": [
            {"name": "Odd Ring", "source": S, "rarity": "mythic", "type": "RG",
             "weight": "heavy", "entries": ["A ring."]},
            {"name": "Many Rings", "source": S, "rarity": "varies", "type": "RG", "weight": 0.5,
             "entries": ["Rings."]},
        ],
        "feat": [
            {"name": "Odd Feat", "source": S, "prerequisite": [{"level": "four"},
             {"ability": [{"str": "13"}]}, {"lvl": 4}], "entries": ["x"]},
            {"name": "Fine Feat", "source": S, "category": "O", "prerequisite": [
             {"level": {"level": 4, "class": {"name": "Fighter"}}, "ability": [{"str": 13}],
              "spellcasting2020": True}], "entries": ["x"]},
        ],
    }  # fmt: skip
    path = write(tmp_path, S, doc, spellSchools={"CH": {"full": "Chronurgy"}})
    report = asyncio.run(validate(app, ValidateParams(path=str(path))))
    assert report.ok, [p.message for p in report.problems if p.severity == "error"]
    lines = path.read_text("utf-8").splitlines()
    said = {p.field: p for p in report.problems}
    assert all(p.severity == "warning" and p.file == str(path) for p in report.problems)
    banana = said["monster[0].cr"]
    assert banana.message.startswith(
        "`cr` is 'banana': expected a challenge rating: 0 to 30, 1/8, 1/4 or 1/2, 'Unknown' or"
    )
    assert '"cr": "banana"' in lines[banana.line - 1]
    assert lines[banana.line - 1][banana.column - 1 :].startswith('"banana"')
    assert sorted(said) == [
        "feat[0].prerequisite[0].level",
        "feat[0].prerequisite[1].ability[0].str",
        "feat[0].prerequisite[2].lvl",
        "item[0].rarity",
        "item[0].weight",
        "monster[0].ac[0]",
        "monster[0].alignment[0]",
        "monster[0].cr",
        "monster[0].hp.average",
        "monster[0].size[0]",
        "monster[0].speed.fly.number",
        "monster[0].speed.walk",
        "monster[5].cr.coven",
        "monster[5].cr.xp",
        "spell[0].components.m.cost",
        "spell[0].components.v",
        "spell[0].duration[0].type",
        "spell[0].level",
        "spell[0].range.distance.amount",
        "spell[0].range.type",
        "spell[0].school",
        "spell[0].time[0].number",
    ]
    assert said["spell[0].school"].message == (
        "`school` is 'Evocation': expected the school's code ('V'), as 5etools writes it; "
        "kept as written"
    )
    assert said["item[0].weight"].message == (
        "`weight` must be an integer or a number, not a string: left out"
    )
    assert said["feat[0].prerequisite[2].lvl"].message.startswith("`lvl` is not a prerequisite")
    # the whole file installs: the bad values kept as written, the mistyped weight left out
    install(app, path)
    assert "**Challenge:** banana" in card(app, "values:monsters/banana-beast")
    assert "weight" not in data(app, "values:magic-items/odd-ring")
    assert "Ring, mythic" in card(app, "values:magic-items/odd-ring")


def test_a_source_of_the_wrong_type_is_still_an_error(app: App, tmp_path: Path) -> None:
    """Without its source an entry has no pack: that one stays an error (nothing installed)."""
    path = write(tmp_path, S, {"spell": [{"name": "Lost", "source": 7, "level": 1}]})
    report = asyncio.run(validate(app, ValidateParams(path=str(path))))
    (problem,) = [p for p in report.problems if p.severity == "error"]
    assert problem.field == "spell[0].source"
    assert not report.ok


def test_a_subclass_of_the_2024_class_says_so(app: App, tmp_path: Path) -> None:
    """Darrington Press' Tal'Dorei Campaign Setting Reborn (TheGiddyLimit/homebrew, 2025
    conversion) writes each subclass twice: for the PHB's class, and for the XPHB's as a `_copy`
    of it (`_preserve` of `reprintedAs`, `srd`…, its fluff by `_subclassFluff`). Both cards read
    `*Barbarian subclass*`: nothing told the 2024 one apart but its slug."""
    src = "Reborn"
    base = {"name": "Path of the Bulwark", "shortName": "Bulwark", "source": src,
            "className": "Barbarian"}  # fmt: skip
    doc = {
        "subclass": [
            {**base, "classSource": "PHB", "edition": "classic", "subclassFeatures": []},
            {**base, "classSource": "XPHB",
             "_copy": {**base, "classSource": "PHB", "_preserve": {"page": True,
                                                                     "reprintedAs": True}}},
        ],
    }  # fmt: skip
    install(app, write(tmp_path, src, doc, internalCopies=["subclass"]))
    assert "*Barbarian subclass*" in card(app, "reborn:subclasses/barbarian-path-of-the-bulwark")
    newer = card(app, "reborn:subclasses/barbarian-path-of-the-bulwark-xphb")
    assert "*Barbarian (2024) subclass*" in newer


def test_prerequisites_of_proficiency_and_of_either_ability(app: App, tmp_path: Path) -> None:
    """LaserLlama's Compendium of Feats (TheGiddyLimit/homebrew feat/, read in part): `"ability":
    [{"wis": 13}, {"cha": 13}]` (alternatives) read `Wisdom 13, Charisma 13`, as if both were
    needed, and `"proficiency": [{"weapon": "martial"}]` read `Weapon martial`. 5etools' page
    says `Wisdom or Charisma 13` and `Proficiency with a martial weapon`."""
    src = "Llamas"
    doc = {
        "feat": [
            {"name": "Leader", "source": src, "prerequisite": [{"ability": [{"wis": 13},
             {"cha": 13}]}], "entries": ["x"]},
            {"name": "Initiate", "source": src, "prerequisite": [{"proficiency": [
             {"weapon": "martial"}]}], "entries": ["x"]},
            {"name": "Bulwark", "source": src, "prerequisite": [{"proficiency": [
             {"armor": "shield"}]}, {"ability": [{"str": 13}, {"con": 15}]}],
             "entries": ["x"], "foundryImg": "icons/x.webp"},
        ]
    }  # fmt: skip
    install(app, write(tmp_path, src, doc))
    assert "**Prerequisite:** Wisdom or Charisma 13\n" in card(app, "llamas:feats/leader")
    shown = card(app, "llamas:feats/initiate")
    assert "**Prerequisite:** Proficiency with a martial weapon\n" in shown
    assert "**Prerequisite:** Proficiency with shields; or Strength 13 or Constitution 15\n" in (
        card(app, "llamas:feats/bulwark")
    )


def test_spell_choices_of_cantrips_and_levels_and_twice_the_same(app: App, tmp_path: Path) -> None:
    """Drakkenheim: Community Pack (TheGiddyLimit/homebrew collection/, 2026, edition "one";
    read in part): Stolen Secrets' `{"choose": "level=0;1;2;3;4;5"}` read `one 1st-level,
    2nd-level, 3rd-level, 4th-level or 5th-level cantrip or spell of your choice`, and
    Extracurricular Research's two `{"choose": "level=0"}` `one cantrip of your choice, one
    cantrip of your choice`."""
    src = "Theories"
    doc = {
        "optionalfeature": [
            {"name": "Secrets", "source": src, "featureType": ["ET"], "entries": ["x"],
             "additionalSpells": [{"prepared": {"_": [{"choose": "level=0;1;2;3;4;5"}]}}]},
            {"name": "Research", "source": src, "featureType": ["ET"], "entries": ["x"],
             "additionalSpells": [{"prepared": {"_": {"will": [{"choose": "level=0"},
                                                              {"choose": "level=0"}]}}}]},
            {"name": "Pair", "source": src, "featureType": ["ET"], "entries": ["x"],
             "additionalSpells": [{"known": {"_": [{"choose": "level=1;3"}]}}]},
        ]
    }  # fmt: skip
    install(app, write(tmp_path, src, doc, optionalFeatureTypes={"ET": "Esoteric Theory"}))
    assert (
        "**Additional spells:** Always prepared: one cantrip or 1st- to 5th-level spell of your "
        "choice\n"
    ) in card(app, "theories:optional-features/secrets")
    assert "at will: two cantrips of your choice\n" in card(
        app, "theories:optional-features/research"
    )
    assert "one 1st-level or 3rd-level spell of your choice" in card(
        app, "theories:optional-features/pair"
    )


def test_a_subraces_resistance_to_choose(app: App, tmp_path: Path) -> None:
    """DM Tuz's Slime Folk Variant 2023 (TheGiddyLimit/homebrew race/): the Alchemical
    subrace's `"resist": [{"choose": {"from": ["acid", "cold", "fire", "lightning",
    "poison"]}}]` read `Damage resistances: Choose From acid, cold, fire, lightning, poison`."""
    src = "Oozes"
    doc = {
        "race": [{"name": "Ooze Folk", "source": src, "size": ["M"], "speed": 25,
                  "creatureTypes": ["humanoid", "ooze"], "entries": ["x"]}],
        "subrace": [{"name": "Acidic", "source": src, "raceName": "Ooze Folk",
                     "raceSource": src, "resist": [{"choose": {"from": ["acid", "cold"]}}],
                     "conditionImmune": ["charmed"], "entries": ["y"]}],
    }  # fmt: skip
    install(app, write(tmp_path, src, doc))
    shown = card(app, "oozes:subraces/acidic-ooze-folk")
    assert "**Damage resistances:** one of acid or cold  \n" in shown
    assert "**Condition immunities:** charmed\n" in shown


def test_a_2024_species_says_so_and_its_speed_in_its_words(app: App, tmp_path: Path) -> None:
    """Avantris' The Crooked Moon (TheGiddyLimit/homebrew collection/, two sources, 2014 and
    2024; read in part): its 2024 species (`"edition": "one"`, `sizeEntry`, `speedEntry`,
    `"speed": {"walk": 30, "fly": true}`) were `*Race*` cards whose speed read `30 ft., fly
    equal to its walking speed`, the species' own words again in a `Speed entry` section at the
    end. Now `*Species*` and the species' words on the Speed line, as for its size."""
    src = "Moonborn"
    doc = {
        "race": [
            {"name": "Skyborn", "source": src, "edition": "one", "size": ["M"],
             "speed": {"walk": 30, "fly": True}, "creatureTypes": ["humanoid"],
             "sizeEntry": {"type": "item", "name": "Size:", "entries": ["Medium (about 5 feet)"]},
             "speedEntry": {"type": "item", "name": "Speed:", "entries": [
                 "30 feet, {@variantrule Fly Speed|XPHB} equal to your {@variantrule Speed|XPHB}"]},
             "entries": [{"type": "entries", "name": "Winds", "entries": ["You fly."]}]},
            {"name": "Oldborn", "source": src, "size": ["M"], "speed": 30, "entries": ["x"]},
        ]
    }  # fmt: skip
    install(app, write(tmp_path, src, doc, edition="one"))
    shown = card(app, "moonborn:races/skyborn")
    assert shown.startswith("## Skyborn\n\n*Species*\n")
    (speed,) = [line for line in shown.splitlines() if line.startswith("**Speed:**")]
    words = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", speed)  # the rules' links as their words
    assert words.rstrip() == "**Speed:** 30 feet, Fly Speed equal to your Speed"
    assert "Speed entry" not in shown and shown.count("equal to your") == 1
    assert "*Race*" in card(app, "moonborn:races/oldborn")  # no edition of its own
    # and so completion details it
    found = complete(app, CompleteParams(prefix="Skyb", pack="moonborn")).items
    assert [(i.name, i.detail) for i in found] == [("Skyborn", "species")]


def test_feats_of_a_category_of_the_files_own(app: App, tmp_path: Path) -> None:
    """D&D Beyond Drops (TheGiddyLimit/homebrew collection/, 2026, edition "one"; read in part):
    its Planar Pact feats (`_meta.featCategories` `PPact`) need `"exclusiveFeatCategory":
    ["PPact"]`, read `Exclusive feat category PPact`; a feat needing another, `"feat": ["fey
    pact|dndbeyonddrops"]`, read `fey pact|dndbeyonddrops`; a feat's `"senses": [{"darkvision":
    30}]` read `Darkvision 30`. Now as 5etools' page: `No other Planar Pact feat`, a link to
    the feat, `darkvision 30 ft.`."""
    src = "Drops"
    doc = {
        "feat": [
            {"name": "Sea Pact", "source": src, "category": "SPact", "entries": ["x"],
             "prerequisite": [{"exclusiveFeatCategory": ["SPact"]}],
             "senses": [{"darkvision": 30}]},
            {"name": "Sea Sentinel", "source": src, "category": "G", "entries": ["y"],
             "prerequisite": [{"level": 4, "feat": ["sea pact|drops"]}]},
            {"name": "Pact Keeper", "source": src, "category": "G", "entries": ["z"],
             "prerequisite": [{"featCategory": ["O"]}]},
        ]
    }  # fmt: skip
    install(app, write(tmp_path, src, doc, featCategories={"SPact": "Sea Pact"}))
    pact = card(app, "drops:feats/sea-pact")
    assert "**Prerequisite:** No other Sea Pact feat  \n" in pact
    assert "**Senses:** darkvision 30 ft." in pact
    sentinel = card(app, "drops:feats/sea-sentinel")
    assert "**Prerequisite:** level 4, [sea pact](d5e://drops/feats/sea-pact.md)" in sentinel
    assert "**Prerequisite:** Origin feat" in card(app, "drops:feats/pact-keeper")


def test_languages_named_before_the_one_to_choose(app: App, tmp_path: Path) -> None:
    """Loot Tavern's Heliana's Guide to Monster Hunting; Races (TheGiddyLimit/homebrew race/):
    the Cyclopian's `{"any": 1, "common": true, "undercommon": true}` read `one language of your
    choice, Common, Undercommon`; 5etools says the named ones, then `one other language of your
    choice`."""
    src = "Libraries"
    doc = {"race": [{"name": "Shelfkin", "source": src, "size": ["M"], "speed": 30,
                     "ability": [{"int": 2, "choose": {"from": ["dex", "wis"], "amount": 1}}],
                     "languageProficiencies": [{"any": 1, "common": True, "undercommon": True}],
                     "entries": [{"name": "Top Shelf", "entries": ["You climb."]}]}]}  # fmt: skip
    install(app, write(tmp_path, src, doc))
    shown = card(app, "libraries:races/shelfkin")
    assert (
        "**Language proficiencies:** Common, Undercommon, one other language of your choice"
    ) in shown
    assert "**Ability:** Intelligence +2, +1 to Dexterity or Wisdom" in shown


def test_an_items_immunities_and_speed_in_words(app: App, tmp_path: Path) -> None:
    """CaelReader's All the Weapons (TheGiddyLimit/homebrew item/): Corona's `"immune":
    ["radiant"], "conditionImmune": ["blinded"]` read `Immune: radiant`, `Condition immune:
    blinded`; the Assegai of the Bull's `"modifySpeed": {"bonus": {"*": 10}}` read `Modify
    speed: bonus * 10`."""
    src = "Weapons"
    doc = {
        "item": [
            {"name": "Sun Mace", "source": src, "type": "M", "rarity": "legendary",
             "baseItem": "mace|phb", "weaponCategory": "simple", "dmg1": "1d6", "dmgType": "B",
             "immune": ["radiant"], "conditionImmune": ["blinded"], "entries": ["Bright."]},
            {"name": "Bull Javelin", "source": src, "type": "M", "rarity": "legendary",
             "baseItem": "javelin|phb", "weaponCategory": "simple", "dmg1": "1d6",
             "dmgType": "P", "modifySpeed": {"bonus": {"*": 10}}, "entries": ["Fast."]},
            {"name": "Wing Boots", "source": src, "type": "OTH", "rarity": "rare",
             "wondrous": True, "modifySpeed": {"equal": {"fly": "walk"}}, "entries": ["Up."]},
        ]
    }  # fmt: skip
    install(app, write(tmp_path, src, doc))
    mace = card(app, "weapons:magic-items/sun-mace")
    assert "**Damage immunities:** radiant" in mace
    assert "**Condition immunities:** blinded" in mace
    assert "**Speed:** +10 ft. to every speed" in card(app, "weapons:magic-items/bull-javelin")
    boots = card(app, "weapons:magic-items/wing-boots")
    assert "**Speed:** fly speed equal to walking speed" in boots
