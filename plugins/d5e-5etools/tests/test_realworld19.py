"""Shapes found in real homebrew files nobody here wrote (nineteenth session: whole files of
TheGiddyLimit/homebrew — Kobold Press' Dhampir, Cyrus' Orog, Brewskii's Silver Thorn, Alex152's
Pebble Shower, Echidna Design's Honkrasque…), each in a small file of our own."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from fivetools_files import card, data, install, write

from d5e_daemon.app import App
from d5e_daemon.features.packs import validate
from d5e_daemon.protocol import ValidateParams
from tests.fixtures import make_app

S = "Realworld"


def test_a_races_ability_written_as_one_object(app: App, tmp_path: Path) -> None:
    """Kobold Press' Dhampir (2018) writes its increases as one object, `"ability": {"cha": 2,
    "dex": 1}`, not a list of them: the loader failed on the file (`AttributeError: 'str'
    object has no attribute 'items'`) and nothing installed; a subrace's written so too."""
    doc = {
        "race": [
            {"name": "Dusk Kin", "source": S, "size": "M", "speed": {"walk": 30},
             "ability": {"cha": 2, "dex": 1}, "entries": ["Kin of the dusk."],
             "subraces": [{"name": "Pale", "ability": {"wis": 1}, "entries": ["Pale."]}]},
        ]
    }  # fmt: skip
    install(app, write(tmp_path, S, doc))
    text = card(app, "realworld:races/dusk-kin")
    assert "**Ability:** Charisma +2, Dexterity +1" in text
    found = data(app, "races/dusk-kin")["ability_bonuses"]
    assert {b["ability_score"]["index"]: b["bonus"] for b in found} == {"cha": 2, "dex": 1}
    assert "**Ability:** Wisdom +1" in card(app, "realworld:subraces/pale-dusk-kin")


def test_a_source_the_file_does_not_declare_in_a_file_of_one_source(
    app: App, tmp_path: Path
) -> None:
    """Cyrus' Orog declares `"json": "cyrushomebrewstuff"` and writes its race with `"source":
    "MyHomebrew"`: the file was refused (`source 'MyHomebrew' is not one of the file's
    `_meta.sources``), nothing installed; 5etools lists it. In a file of one source it is that
    source's, with a warning; in a file of several it is still an error (whose is it?)."""
    race = {"name": "Deep Orc", "source": "MyHomebrew", "size": ["M"], "speed": 30,
            "entries": ["Strong."]}  # fmt: skip
    path = write(tmp_path, S, {"race": [race]})
    report = asyncio.run(validate(app, ValidateParams(path=str(path))))
    assert [(p.severity, p.field, p.message) for p in report.problems] == [
        ("warning", "race[0].source",
         "1 entry gives its source as 'MyHomebrew', which `_meta.sources` does not declare: "
         "read as 'realworld', the file's one source (declare it, or name that source)"),
    ]  # fmt: skip
    assert install(app, path).entries == 1
    assert "Strong." in card(app, "realworld:races/deep-orc")
    doc = json.loads(path.read_text("utf-8"))
    doc["_meta"]["sources"].append({"json": "Other", "full": "Other"})
    path.write_text(json.dumps(doc), "utf-8")
    report = asyncio.run(validate(app, ValidateParams(path=str(path))))
    assert [(p.severity, p.field) for p in report.problems] == [("error", "race[0].source")]


def test_html_emphasis_in_a_string_is_shown_as_emphasis(app: App, tmp_path: Path) -> None:
    """Brewskii's Knight of the Silver Thorn writes `one of your two <b>Features</b>`: 5etools'
    renderer writes a string into the page as HTML, so it is bold there; the card kept the tags
    as written (a hover or a terminal shows `<b>`). `<i>`/`<em>`, `<strong>` and a table's cells
    likewise; a `<` that opens no such tag stays."""
    table = {"type": "table", "colLabels": ["<b>Rank</b>", "Gift"], "rows": [["1", "<i>Sir</i>"]]}
    doc = {"background": [{"name": "Thorn Knight", "source": S, "entries": [
        "One of your two <b>Features</b> and an <em>oath</em>, <STRONG>loud</STRONG>.",
        "Where 2 < 3 and <Arbiter> is a title.", table]}]}  # fmt: skip
    install(app, write(tmp_path, S, doc))
    text = card(app, "realworld:backgrounds/thorn-knight")
    assert "One of your two **Features** and an *oath*, **loud**." in text
    assert "Where 2 < 3 and <Arbiter> is a title." in text
    assert "| **Rank** | Gift |" in text and "| 1 | *Sir* |" in text


def test_a_spells_subclasses_and_other_sources(app: App, tmp_path: Path) -> None:
    """Alex152's Pebble Shower (and Luriquen's Fiendish Transformation) name subclasses that
    have the spell (`classes.fromSubclass`): the card showed the classes only, the subclasses
    lost; its `optionalfeatures` were listed as `Optionalfeatures: Pact of the Tome`. As
    5etools' spell page: `Subclasses: Fighter (Eldritch Knight)`, links, `Other
    options/features`."""
    classes = {
        "fromClassList": [{"name": "Wizard", "source": "PHB"}],
        "fromSubclass": [
            {"class": {"name": "Fighter", "source": "PHB"},
             "subclass": {"name": "Eldritch Knight", "shortName": "Eldritch Knight",
                          "source": "PHB"}},
            {"class": {"name": "Cleric", "source": "PHB"},
             "subclass": {"name": "Arcana Domain", "shortName": "Arcana", "source": "SCAG"}},
        ],
    }  # fmt: skip
    pact = {"name": "Pact of the Tome", "source": "PHB"}
    doc = {"spell": [{"name": "Pebble Rain", "source": S, "level": 0, "school": "V",
                      "entries": ["Pebbles fall."], "classes": classes,
                      "races": [{"name": "Elf (High)", "source": "PHB", "baseName": "Elf"}],
                      "optionalfeatures": [pact]}]}  # fmt: skip
    install(app, write(tmp_path, S, doc))
    text = card(app, "realworld:spells/pebble-rain")
    assert "*Classes: Wizard*" in text
    # a subclass of a book no pack holds (SCAG's Arcana) links its class too, as the Fighter's
    # does and 5etools' link opens the class's page (realworld22)
    assert (
        "**Subclasses:** [Fighter (Eldritch Knight)](d5e://srd-2014/classes/fighter.md), "
        "[Cleric (Arcana)](d5e://srd-2014/classes/cleric.md)"
    ) in text
    assert "**Races:** [Elf (High)](d5e://srd-2014/subraces/high-elf.md)" in text
    assert "**Other options/features:** Pact of the Tome" in text
    assert "Optionalfeatures" not in text


def test_a_statblock_of_a_fluff_links_what_it_describes(app: App, tmp_path: Path) -> None:
    """Honkrasque's book draws the creature's fluff with `{"type": "statblock", "prop":
    "monsterFluff", "name": "Honkrasque"}` (5etools renders that fluff's text there): the
    section showed the name alone, the text nowhere in it; it links the creature, whose card
    holds the fluff's text."""
    doc = {
        "monster": [{"name": "Honker", "source": S, "size": ["G"], "type": "monstrosity",
                     "cr": "30", "hasFluff": True}],
        "monsterFluff": [{"name": "Honker", "source": S, "entries": ["Firstborn of geese."]}],
        "book": [{"name": "Honk Book", "id": "HB", "source": S,
                  "contents": [{"name": "The Honker"}]}],
        "bookData": [{"id": "HB", "source": S, "data": [
            {"type": "section", "name": "The Honker", "entries": [
                {"type": "statblock", "prop": "monsterFluff", "name": "Honker", "source": S},
                {"type": "statblock", "tag": "creature", "name": "Honker", "source": S}]}]}],
    }  # fmt: skip
    install(app, write(tmp_path, S, doc))
    link = "[Honker](d5e://realworld/monsters/honker.md)"
    section = card(app, "realworld:books/honk-book-01-the-honker")
    assert section.count(link) == 2, section
    assert "Firstborn of geese." in card(app, "realworld:monsters/honker")


def test_facts_that_were_raw_or_bookkeeping(app: App, tmp_path: Path) -> None:
    """enders' Oversized Longbow names its ammunition by uid (`Ammo type: arrow|phb` on the
    card); Awakened Shrub's `languageProficiencies` `"other": true` read `Common, Other`, its
    Redbark's `resist` was labelled `Resist`; the Reddit fighting styles' `isClassFeatureVariant`
    (5etools' filter) was listed, `Is class feature variant: yes`."""
    doc = {
        "baseitem": [{"name": "Huge Bow", "source": S, "type": "R", "rarity": "none",
                      "weaponCategory": "martial", "dmg1": "2d6", "dmgType": "P",
                      "ammoType": "arrow|phb", "entries": ["Big."]}],
        "race": [{"name": "Shrubkin", "source": S, "size": ["S"], "speed": 30,
                  "languageProficiencies": [{"common": True, "other": True}],
                  "resist": ["fire"], "entries": ["Leafy."]}],
        "optionalfeature": [{"name": "Akimbo Style", "source": S, "featureType": ["FS:F"],
                             "isClassFeatureVariant": True, "entries": ["Two bows."]}],
    }  # fmt: skip
    install(app, write(tmp_path, S, doc))
    bow = card(app, "realworld:equipment/huge-bow")
    assert "**Ammunition:** [arrow](d5e://srd-2014/equipment/arrow.md)" in bow
    assert "arrow|phb" not in bow
    shrub = card(app, "realworld:races/shrubkin")
    assert "**Language proficiencies:** Common, one other language" in shrub
    assert "**Damage resistances:** fire" in shrub
    style = card(app, "realworld:optional-features/akimbo-style")
    assert "**Feature type:** Fighting Style; Fighter" in style
    assert "variant" not in style


def test_a_tags_source_an_abbreviation_several_packs_give(app: App, tmp_path: Path) -> None:
    """Middle Finger of Vecna gives all its products the abbreviation `MFOV` (its Metamagic
    and More Metamagic, its Lovecraftian Backgrounds `MFoV`): `{@background Cultist|MFoV}`
    looked in the first pack of that abbreviation only (`unknown background 'Cultist' in pack
    mfov-m`); it is the one of them that holds the name."""
    metamagic = {"optionalfeature": [{"name": "Slow Spell", "source": "MFOV:M",
                                      "featureType": ["MM"], "entries": ["Slow."]}]}  # fmt: skip
    path = tmp_path / "Finger; Metamagic.json"
    meta = {"sources": [{"json": "MFOV:M", "abbreviation": "MFOV", "full": "Metamagic"}]}
    path.write_text(json.dumps({"_meta": meta, **metamagic}), "utf-8")
    install(app, path)
    doc = {"background": [{"name": "Cultist", "source": "MFoVBackgrounds", "entries": ["Ia!"]}],
           "feat": [{"name": "Eldritch Lore", "source": "MFoVBackgrounds",
                     "entries": ["As a {@background Cultist|MFoV} knows."]}]}  # fmt: skip
    path = tmp_path / "Finger; Backgrounds.json"
    meta = {"sources": [{"json": "MFoVBackgrounds", "abbreviation": "MFoV", "full": "Bg"}]}
    path.write_text(json.dumps({"_meta": meta, **doc}), "utf-8")
    install(app, path)
    text = card(app, "mfovbackgrounds:feats/eldritch-lore")
    assert "As a [Cultist](d5e://mfovbackgrounds/backgrounds/cultist.md) knows." in text


def test_a_speeds_alternates_with_their_conditions(app: App, tmp_path: Path) -> None:
    """D&D Wiki's Mogogol writes a second walking speed for its small folk, `"alternate":
    {"walk": [{"number": 25, "condition": "if small"}]}`: the card said `30 ft., swim 30 ft.`,
    the 25 feet lost; 5etools' `getSpeedString` lists each after its mode's own (a creature's
    too: `fly 60 ft., fly 30 ft. in bat form`)."""
    speed = {
        "walk": 30,
        "swim": 30,
        "alternate": {"walk": [{"number": 25, "condition": "if small"}]},
    }
    bat = {
        "walk": 30,
        "fly": 60,
        "alternate": {"fly": [{"number": 30, "condition": "in bat form"}]},
    }
    doc = {
        "race": [{"name": "Froggit", "source": S, "size": ["S", "M"], "speed": speed,
                  "entries": ["Hop."]}],
        "monster": [{"name": "Bat Lord", "source": S, "size": ["M"], "type": "undead",
                     "speed": bat, "cr": "1", "action": [{"name": "Bite", "entries": ["Ow."]}]}],
    }  # fmt: skip
    install(app, write(tmp_path, S, doc))
    assert "**Speed:** 30 ft., 25 ft. if small, swim 30 ft." in card(app, "realworld:races/froggit")
    assert "**Speed:** 30 ft., fly 60 ft., fly 30 ft. in bat form" in card(
        app, "realworld:monsters/bat-lord"
    )


def test_a_tag_of_a_5etools_version_reads_the_entry_it_is_of(db_path: Path, tmp_path: Path) -> None:
    """Jordan's AcolyteFixed grants `{"magic initiate; cleric|xphb": true}` and writes `{@feat
    Magic Initiate; Cleric|XPHB}` (5etools names the versions of the 2024 feat so): in a 2024
    profile neither linked (the SRD has no `Magic Initiate; Cleric`); a name `X; Y` that names
    nothing is read as `X`, the entry it is a version of."""
    doc = {"background": [{"name": "Templar", "source": S, "edition": "one",
                           "feats": [{"magic initiate; cleric|xphb": True}],
                           "entries": ["Take {@feat Magic Initiate; Cleric|XPHB}."]}]}  # fmt: skip
    app = make_app(db_path, edition="2024")
    try:
        install(app, write(tmp_path, S, doc))
        text = card(app, "realworld:backgrounds/templar")
    finally:
        app.close()
    link = "(d5e://srd-2024/feats/magic-initiate.md)"
    assert f"**Feats:** [magic initiate; cleric]{link}" in text
    assert f"Take [Magic Initiate; Cleric]{link}." in text


def test_a_recipes_nested_list_and_half_a_unit(app: App, tmp_path: Path) -> None:
    """Lyra's Dad's Chilli lists its suggested beans as a list among its ingredients: the card
    wrote `- - **Suggested Bean Types.** …` (a bullet inside a bullet's line); and `{@unit
    {=amount1}|tin|tins}` of 0.5 read `½ tins` where 5etools' `{@unit}` is plural above one
    only (`½ tin`)."""
    beans = {
        "type": "list",
        "style": "list-hang-notitle",
        "items": [{"type": "item", "name": "Bean Types", "entry": "Red, Black"}],
    }
    doc = {"recipe": [{"name": "Chilli", "source": S, "type": "Human", "ingredients": [
        {"type": "entries", "name": "Core", "entries": [
            {"type": "ingredient", "entry": "{=amount1/c} {@unit {=amount1}|can|cans} of beans",
             "amount1": 4}, beans,
            {"type": "ingredient", "entry": "{=amount1/v} {@unit {=amount1}|tin|tins} of tomatoes",
             "amount1": 0.5}]}]}]}  # fmt: skip
    install(app, write(tmp_path, S, doc))
    text = card(app, "realworld:recipes/chilli")
    assert "- 4 cans of beans\n  - **Bean Types.** Red, Black\n- ½ tin of tomatoes" in text
    assert "- -" not in text
