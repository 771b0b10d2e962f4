"""Shapes found in real homebrew files nobody here wrote (fourteenth session:
TheGiddyLimit/homebrew's Trick Arrows, Reincarnate Tables Expanded and Badooga's Psion;
Stabbath's 5etools-stabby), each in a small file of our own."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from fivetools_files import card, data, install, write

from d5e_daemon.app import App
from d5e_daemon.cli import main
from d5e_daemon.features.lookup import lookup
from d5e_daemon.features.packs import validate
from d5e_daemon.protocol import LookupParams, ValidateParams

S = "Realworld"


def test_two_items_of_one_name_and_source_are_both_installed_with_a_warning(
    app: App, tmp_path: Path
) -> None:
    """Trick Arrows holds two "Arrows, Acid (10)" of one source (an uncommon and a rare one):
    5etools' site lists both, so the file installs, both cards are there, and the author is
    told where each is and which one a tag reaches."""

    def arrows(rarity: str, damage: str) -> dict[str, object]:
        extra = f"Each arrow deals an extra {{@damage {damage}}} acid damage."
        return {"name": "Arrows, Acid (10)", "source": S, "type": "A", "rarity": rarity,
                "entries": [extra]}  # fmt: skip

    doc = {
        "item": [arrows("uncommon", "1d4"), arrows("rare", "2d4")],
        "spell": [{"name": "Etch", "source": S, "level": 1, "school": "V",
                   "time": [{"number": 1, "unit": "action"}], "range": {"type": "point",
                   "distance": {"type": "self"}}, "components": {"v": True},
                   "duration": [{"type": "instant"}],
                   "entries": ["Coat {@item Arrows, Acid (10)|Realworld|your arrows}."]}],
    }  # fmt: skip
    path = write(tmp_path, S, doc)
    report = asyncio.run(validate(app, ValidateParams(path=str(path))))
    assert report.ok
    (warning,) = [p for p in report.problems if "duplicate" in p.message]
    assert warning.severity == "warning"
    assert warning.field == "item[1].name"
    assert "first at" in warning.message and "item[0]" in warning.message
    assert "both are installed" in warning.message and "reaches the first" in warning.message
    text = path.read_text("utf-8").splitlines()
    assert '"name": "Arrows, Acid (10)"' in text[warning.line - 1]

    result = install(app, path)
    assert result.entries == 3
    assert "1d4 acid" in card(app, "realworld:magic-items/arrows-acid-10")
    rare = card(app, "realworld:magic-items/arrows-acid-10-rare")  # named by what differs
    assert "*Ammunition, rare*" in rare and "2d4 acid" in rare
    assert data(app, "realworld:magic-items/arrows-acid-10-rare")["rarity"] == {"name": "Rare"}
    # a tag reaches the first, as 5etools' links do
    etch = card(app, "realworld:spells/etch")
    assert "[your arrows](d5e://realworld/magic-items/arrows-acid-10.md)" in etch
    # looking the name up finds the first and offers the other
    found = lookup(app, LookupParams(name="Arrows, Acid (10)"))
    assert found.entry.qualified_ref == "realworld:magic-items/arrows-acid-10"
    also = [(a.pack, a.ref) for a in found.also]
    assert also == [("realworld", "magic-items/arrows-acid-10-rare")]


def test_a_table_cell_keeps_its_tags_whole(app: App, tmp_path: Path) -> None:
    """A cell's `|` is escaped for the Markdown table, but not the `|` inside its tags:
    `{@race Aasimar|VGM}` showed as `Aasimar\\` and a table link as `[Reincarnate: Dwarf\\](…)`."""
    cell = {"type": "cell", "roll": {"min": 1, "max": 50}}
    doc = {
        "table": [
            {"name": "Rebirth", "source": S, "colLabels": ["{@dice d100}", "Race", "Then"],
             "rows": [[cell, "{@race Aasimar|VGM}",
                       "Roll on {@table Rebirth: Dwarf|Realworld} | or {@race dwarf||Standard}"],
                      [{"type": "cell", "roll": {"exact": 100}},
                       "{@coinflip Flip coin|Mark|Marked|Unmarked}", "\u2014"]]},
            {"name": "Rebirth: Dwarf", "source": S, "colLabels": ["Subrace"],
             "rows": [["Hill"]]},
        ]
    }  # fmt: skip
    install(app, write(tmp_path, S, doc))
    shown = card(app, "realworld:tables/rebirth")
    assert "\\](" not in shown and "Aasimar\\" not in shown and "Flip coin\\" not in shown
    assert (
        "| 1–50 | Aasimar | Roll on [Rebirth: Dwarf](d5e://realworld/tables/rebirth-dwarf.md) "
        "\\| or [Standard](d5e://srd-2014/races/dwarf.md) |"
    ) in shown
    assert "| 100 | Flip coin | — |" in shown


def test_ability_dc_and_attack_modifier_are_labelled_as_5etools_labels_them(
    app: App, tmp_path: Path
) -> None:
    """`{"type": "abilityDc", "name": "Discipline"}` read `**Discipline** = 8 + …` and its
    attack modifier `**Discipline** = …`: two lines of one label; 5etools writes
    `Discipline save DC` and `Discipline attack modifier`."""
    dc = {"type": "abilityDc", "name": "Discipline", "attributes": ["int"]}
    mod = {"type": "abilityAttackMod", "name": "Discipline", "attributes": ["int", "wis"]}
    doc = {"feat": [{"name": "Mind Over Matter", "source": S, "entries": ["Focus.", dc, mod]}]}
    install(app, write(tmp_path, S, doc))
    shown = card(app, "realworld:feats/mind-over-matter")
    assert (
        "**Discipline save DC** = 8 + your proficiency bonus + your Intelligence modifier"
    ) in shown
    assert (
        "**Discipline attack modifier** = your proficiency bonus + your Intelligence or "
        "Wisdom modifier (your choice)"
    ) in shown


def test_a_generic_variant_belongs_to_its_own_files_source(app: App, tmp_path: Path) -> None:
    """A generic variant's source is in `inherits`: installed as a folder (Stabbath's
    5etools-stabby: backgrounds.json, items.json, magicvariants-expanded.json), the items made
    from "+1 Echoing Weapon" of items.json's source went to the folder's first pack (its
    backgrounds, 869 items); a variant re-doing the DMG's Berserker Weapon goes to its own
    file's pack."""
    folder = tmp_path / "brew"
    folder.mkdir()
    write(folder, "Aback", {"background": [{"name": "Drifter", "source": "Aback",
                                            "entries": ["You drift."]}]})  # fmt: skip

    def variant(name: str, source: str) -> dict[str, object]:
        return {"name": f"{name} Weapon", "type": "GV", "requires": [{"weapon": True}],
                "inherits": {"namePrefix": f"{name} ", "source": source, "rarity": "rare",
                             "entries": [f"It {name.lower()}s."]}}  # fmt: skip

    write(folder, "Bitems", {"magicvariant": [variant("Echoing", "Bitems")]})
    write(folder, "Cvariants", {"magicvariant": [variant("Berserker", "DMG")]})
    install(app, folder)
    echo = lookup(app, LookupParams(name="Echoing Dagger"))
    assert echo.entry.qualified_ref == "bitems:magic-items/echoing-dagger"
    assert "It echoings." in echo.markdown
    assert lookup(app, LookupParams(name="Echoing Weapon")).entry.pack == "bitems"
    berserker = lookup(app, LookupParams(name="Berserker Dagger"))
    assert berserker.entry.qualified_ref == "cvariants:magic-items/berserker-dagger"
    assert lookup(app, LookupParams(name="Berserker Weapon")).entry.pack == "cvariants"
    drifter = lookup(app, LookupParams(name="Drifter")).entry
    assert drifter.pack == "aback"


def test_a_folder_of_several_sources_tells_each_problem_once(
    db_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Stabbath's 5etools-stabby as a folder of 19 sources: a warning of one file was printed
    19 times (once per pack: every problem is every pack's), and an error of one file was said
    to be the first pack's (`pack stabbybackgrounds has 2 problem(s)`); a line break typed
    inside a string read `invalid JSON: Invalid control character at`."""
    folder = tmp_path / "brew"
    folder.mkdir()
    spell = {"name": "Ping", "source": "Bspells", "level": 0, "school": "V",
             "entries": ["Ping."]}  # fmt: skip
    write(folder, "Aback", {"background": [{"name": "Drifter", "source": "Aback",
                                            "entries": ["You drift."]}]})  # fmt: skip
    write(folder, "Bspells", {"spell": [spell, spell]})
    write(folder, "Cfeats", {"feat": [{"name": "Keen", "source": "Cfeats", "entries": ["K."]}]})
    db = ("--db", str(db_path))
    assert main(["packs", "install", str(folder), *db]) == 0
    out = capsys.readouterr().out
    assert out.count("duplicate spell 'Ping'") == 1
    assert "aback: installed" in out and "cfeats: installed" in out

    broken = folder / "Someone; Dfeats.json"
    broken.write_text('{"_meta": {"sources": [{"json": "Dfeats"}]},\n"feat": [{"name": "A\nB"}]}')
    assert main(["packs", "install", str(folder), *db]) == 1
    err = capsys.readouterr().err
    assert "the 3 packs (aback, bspells, cfeats) have 1 problem; nothing was installed" in err
    assert (
        f"{broken}:2:21: invalid JSON: a line break inside a string (JSON writes it \\n)"
    ) in err


def test_a_class_card_reads_as_its_5etools_page(app: App, tmp_path: Path) -> None:
    """Stabbath's Animancer and Badooga's Psion: the class table was a line of field names
    (`Class table groups: Col labels Cantrips Known, …, Rows 3, 2, 3, 3, …`), starting
    proficiencies `Skills Choose From arcana, history, Count 2`, equipment with the builder's
    `Default data Equipment type weaponSimple, Quantity 1, A blowgun|phb`, `Spellcasting
    ability: con`, `Class spells: Fireball|PHB`. Now: one table by level (features in it, a spell
    slot of 0 as —), the proficiencies and equipment as 5etools words them, links to spells."""
    groups = [
        {
            "colLabels": ["{@filter Cantrips Known|spells|level=0}", "Essence"],
            "rows": [[3, {"type": "dice", "toRoll": [{"number": 1, "faces": 6}]}]] * 20,
        },
        {
            "title": "Spell Slots per Spell Level",
            "colLabels": ["1st", "2nd"],
            "rowsSpellProgression": [[2, 0], [3, 0], [4, 2]] + [[4, 3]] * 17,
        },
    ]
    doc = {
        "class": [{
            "name": "Soulwright", "source": S, "hd": {"number": 1, "faces": 6},
            "proficiency": ["con", "wis"], "spellcastingAbility": "con",
            "classTableGroups": groups, "cantripProgression": [3] * 20,
            "startingProficiencies": {
                "armor": ["light", {"proficiency": "shield", "full": "shields"}],
                "weapons": ["simple", "{@item dagger|phb|daggers}"], "tools": ["none"],
                "skills": [{"choose": {"from": ["animal handling", "arcana", "insight"],
                                       "count": 2}}]},
            "startingEquipment": {
                "additionalFromBackground": True,
                "default": ["(a) a {@item dagger|phb} or (b) a {@item sling|phb}", "a pouch"],
                "goldAlternative": "{@dice 4d4×10|4d4 × 10|Starting Gold}",
                "defaultData": [{"a": ["dagger|phb"], "b": ["sling|phb"]}]},
            "multiclassing": {"requirements": {"con": 13},
                              "proficienciesGained": {"armor": ["light"]}},
            "classSpells": ["Fireball|PHB", {"name": "Ping", "source": S}],
            "classFeatures": ["Essence Well|Soulwright|Realworld|1",
                              {"classFeature": "Soul Path|Soulwright|Realworld|1",
                               "gainSubclassFeature": True},
                              "Deep Well|Soulwright|Realworld|3"],
            "subclassTitle": "Soul Path",
        }],
        "classFeature": [
            {"name": n, "source": S, "className": "Soulwright", "classSource": S, "level": lv,
             "entries": [f"{n} text."]}
            for n, lv in (("Essence Well", 1), ("Soul Path", 1), ("Deep Well", 3))
        ],
        "spell": [{"name": "Ping", "source": S, "level": 0, "school": "V",
                   "time": [{"number": 1, "unit": "action"}],
                   "range": {"type": "point", "distance": {"type": "feet", "amount": 60}},
                   "components": {"v": True}, "duration": [{"type": "instant"}],
                   "entries": ["Ping."]}],
    }  # fmt: skip
    install(app, write(tmp_path, S, doc))
    shown = card(app, "realworld:classes/soulwright")
    for raw in ("Col labels", "Rows", "Choose From", "Count 2", "Default data", "weaponSimple",
                "|phb", "Fireball|PHB", "Cantrip progression", "**Class features:**"):  # fmt: skip
        assert raw not in shown, raw
    assert "**Spellcasting ability:** Constitution  \n" in shown
    assert (
        "**Starting proficiencies:** Armor: light armor, shields; Weapons: simple weapons, "
        "[daggers](d5e://srd-2014/equipment/dagger.md); Tools: none; Skills: Choose two from "
        "Animal Handling, Arcana, and Insight  \n"
    ) in shown
    assert (
        "**Multiclassing:** Prerequisites: Constitution 13; Proficiencies gained: Armor: light "
        "armor"
    ) in shown
    assert "[Fireball](d5e://srd-2014/spells/fireball.md)" in shown
    assert "[Ping](d5e://realworld/spells/ping.md)" in shown
    assert (
        "**Starting equipment:** You start with the following items, plus anything provided by "
        "your background:\n\n- (a) a [dagger](d5e://srd-2014/equipment/dagger.md) or (b) a "
        "[sling](d5e://srd-2014/equipment/sling.md)\n- a pouch\n\nAlternatively, you may start "
        "with 4d4 × 10 gp to buy your own equipment."
    ) in shown
    assert "*Spell Slots per Spell Level*: 1st, 2nd" in shown
    assert (
        "| Level | Proficiency Bonus | Features | Cantrips Known | Essence | 1st | 2nd |\n"
        "|---|---|---|---|---|---|---|\n"
        "| 1 | +2 | Essence Well, Soul Path | 3 | 1d6 | 2 | — |\n"
        "| 2 | +2 | — | 3 | 1d6 | 3 | — |\n"
        "| 3 | +2 | Deep Well | 3 | 1d6 | 4 | 2 |\n"
    ) in shown
    assert "| 20 | +6 | — | 3 | 1d6 | 4 | 3 |" in shown


def test_an_older_class_lists_its_features_by_level(app: App, tmp_path: Path) -> None:
    """5etools' first class format (Badooga's Psion): `classFeatures` is a list of levels,
    each a list of feature objects; the table names them at their level."""
    first = [
        {"name": "Psionics", "entries": ["Mind."]},
        {"name": "Psionic Order", "entries": ["Order."], "gainSubclassFeature": True},
    ]
    doc = {"class": [{"name": "Mindwright", "source": S, "hd": {"number": 1, "faces": 8},
                      "classTableGroups": [{"colLabels": ["Psi Points"], "rows": [[4]] * 20}],
                      "classFeatures": [first, [{"name": "Psychic Barrier",
                                                 "entries": ["Wall."]}]]}]}  # fmt: skip
    install(app, write(tmp_path, S, doc))
    shown = card(app, "realworld:classes/mindwright")
    assert "| 1 | +2 | Psionics, Psionic Order | 4 |\n| 2 | +2 | Psychic Barrier | 4 |" in shown
    assert "**Class table groups**" not in shown


def test_a_psionic_modes_cost_and_concentration_read_as_5etools_titles_them(
    app: App, tmp_path: Path
) -> None:
    """Badooga's Psion: `Vortex of Flame (cost Min 1, Max 7)`, and a mode's concentration
    (`{"duration": 1, "unit": "min"}`) and submodes were not shown at all."""
    doc = {
        "_meta": {"psionicTypes": {"LD": {"full": "Lesser Discipline", "short": "L."}}},
        "psionic": [{
            "name": "Ember Flux", "source": S, "type": "LD", "entries": ["Fire."],
            "modes": [
                {"name": "Vortex", "cost": {"min": 1, "max": 7}, "entries": ["Bigger."]},
                {"name": "Rolling Flame", "cost": {"min": 4, "max": 4},
                 "concentration": {"duration": 1, "unit": "min"}, "entries": ["It rolls."]},
                {"name": "Shapes", "entries": ["Choose one:"],
                 "submodes": [{"name": "Ring", "cost": {"min": 2, "max": 2},
                               "entries": ["A ring."]}]},
            ],
        }],
    }  # fmt: skip
    path = tmp_path / "Someone; Flux.json"
    doc["_meta"]["sources"] = [{"json": S, "full": "Flux", "version": "1"}]
    path.write_text(json.dumps(doc), "utf-8")
    install(app, path)
    shown = card(app, "realworld:psionics/ember-flux")
    assert "**Type:** Lesser Discipline" in shown
    assert "***Vortex (1–7 psi).*** Bigger." in shown
    assert "***Rolling Flame (4 psi; conc., 1 min.).*** It rolls." in shown
    assert "***Ring (2 psi).*** A ring." in shown
    assert "Min 1" not in shown


def test_an_items_own_template_fields_fill_its_text(app: App, tmp_path: Path) -> None:
    """Stabbath's +4 Shield (an item, not a generic variant) writes `{=bonusAc}` in its own
    text: it showed `you have a {=bonusAc} bonus to AC`."""
    text = "While holding it, you have a {=bonusAc} bonus to AC."
    doc = {"item": [{"name": "+4 Buckler", "source": S, "type": "S", "rarity": "legendary",
                     "ac": 2, "bonusAc": "+4", "entries": [text]}]}  # fmt: skip
    install(app, write(tmp_path, S, doc))
    shown = card(app, "realworld:magic-items/4-buckler")
    assert "you have a +4 bonus to AC." in shown and "{=" not in shown


def test_a_deitys_custom_properties_are_lines_of_their_own(app: App, tmp_path: Path) -> None:
    """AAW Games' Deities of the World of Aventyr: `customProperties` read `Custom properties:
    Domains Protection, Water, Favored animal, Favored weapons Longspear, Form of worship and
    holidays, Garb/portfolio Cold, …` (one line, the labels lower-cased, blank ones dangling)."""
    doc = {"deity": [{"name": "Arnut", "source": S, "pantheon": "Aventyr", "alignment": ["L", "N"],
                      "customProperties": {"Favored Animal": " ",
                                           "Favored Weapons": "{@item Spear|phb|Longspear}",
                                           "Garb/Portfolio": "Cold, Winter", "Home": ""},
                      "entries": ["The North Wind."]}]}  # fmt: skip
    install(app, write(tmp_path, S, doc))
    shown = card(app, "realworld:deities/arnut")
    assert "Custom properties" not in shown and "Favored Animal" not in shown
    assert (
        "**Favored Weapons:** [Longspear](d5e://srd-2014/equipment/spear.md)  \n"
        "**Garb/Portfolio:** Cold, Winter\n"
    ) in shown


def test_a_custom_lineage_race_gets_its_ability_increases_and_languages(
    app: App, tmp_path: Path
) -> None:
    """Waltega's Buds' Half-Dragon (Scorn), `"lineage": "VRGR"`: the card said `Lineage: VRGR`
    and nothing of the ability increases and languages 5etools gives such a race."""
    doc = {"race": [{"name": "Scornling", "source": S, "lineage": "VRGR", "size": ["M"],
                     "speed": 30, "entries": [{"type": "entries", "name": "Scorn",
                                               "entries": ["You scorn."]}]},
                    {"name": "Trialling", "source": S, "lineage": "UA1", "size": ["M"],
                     "speed": 30, "ability": [{"str": 2}], "entries": ["Trial."]}]}  # fmt: skip
    install(app, write(tmp_path, S, doc))
    shown = card(app, "realworld:races/scornling")
    assert "VRGR" not in shown and "Lineage" not in shown
    assert (
        "**Ability:** +2 and +1 to two abilities of your choice; or +1 and +1 and +1 to three "
        "abilities of your choice  \n**Language proficiencies:** Common, one other standard "
        "language of your choice"
    ) in shown
    assert shown.index("***Scorn.***") < shown.index("***Languages.*** You can speak, read")
    assert "**Ability:** Strength +2" in card(app, "realworld:races/trialling")  # its own


def test_an_adventure_card_lists_its_chapters_as_links(app: App, tmp_path: Path) -> None:
    """Michael Galvis' A Familiar's Quandary: the adventure's card showed its group, author and
    dates but not its chapters (`contents`) nor its level, and each chapter's card began with
    `Type: section`."""
    doc = {
        "adventure": [{"name": "Tower Trouble", "id": "TT", "source": S,
                       "level": {"start": 1, "end": 3}, "author": "Someone",
                       "contents": [{"name": "Arrival", "headers": ["The Gate", {"header": "Moat",
                                                                                 "depth": 1}]},
                                    {"name": "The Top", "ordinal": {"type": "chapter",
                                                                    "identifier": 2}}]}],
        "adventureData": [{"id": "TT", "source": S, "data": [
            {"type": "section", "name": "Arrival", "entries": ["You arrive."]},
            {"type": "section", "name": "The Top", "entries": ["You climb."]}]}],
    }  # fmt: skip
    install(app, write(tmp_path, S, doc))
    shown = card(app, "realworld:adventures/tower-trouble")
    assert "**Level:** 1–3  \n" in shown
    assert (
        "**Contents**\n\n"
        "1. [Arrival](d5e://realworld/adventures/tower-trouble-01-arrival.md)\n"
        "   - The Gate\n   - Moat\n"
        # its ordinal before it since the seventeenth session, as 5etools' contents show it
        "2. [Ch. 2: The Top](d5e://realworld/adventures/tower-trouble-02-the-top.md)"
    ) in shown
    chapter = card(app, "realworld:adventures/tower-trouble-01-arrival")
    assert "Type" not in chapter and "You arrive." in chapter


def test_an_other_summary_prerequisite_reads_as_its_entry(app: App, tmp_path: Path) -> None:
    """Stabbath's Dual Shielder: `{"otherSummary": {"entry": "Proficiency with shields",
    "entrySummary": "Prof shield"}}` read `Other summary Entry Proficiency with shields, Entry
    summary Prof shield`."""
    need = {"otherSummary": {"entry": "Proficiency with {@item shield|phb|shields}",
                             "entrySummary": "Prof shield"}}  # fmt: skip
    doc = {"feat": [{"name": "Shield Twin", "source": S, "prerequisite": [need],
                     "entries": ["Two shields."]}]}  # fmt: skip
    install(app, write(tmp_path, S, doc))
    shown = card(app, "realworld:feats/shield-twin")
    assert (
        "**Prerequisite:** Proficiency with [shields](d5e://srd-2014/equipment/shield.md)\n"
    ) in shown


def test_a_creatures_spellcasting_without_header_text_and_its_filter_hints(
    app: App, tmp_path: Path
) -> None:
    """Stabbath's NPCs: a `spellcasting` block with no `headerEntries` read `***Spellcasting.***
    - At will: …` (the list's first item run into the name's line), and 5etools' filter hints
    were listed at the end (`Damage tags spell: Y`, `Is named creature: yes`, `Is npc: yes`)."""
    doc = {"monster": [{
        "name": "Alice", "source": S, "size": ["M"], "type": "humanoid", "alignment": ["C", "E"],
        "ac": [12], "hp": {"average": 9, "formula": "2d8"}, "speed": {"walk": 30},
        "str": 7, "dex": 14, "con": 12, "int": 10, "wis": 10, "cha": 18, "cr": "1",
        "spellcasting": [{"name": "Spellcasting", "type": "spellcasting",
                          "will": ["{@spell charm person}"],
                          "daily": {"1": ["{@spell suggestion}"]}}],
        "damageTagsSpell": ["Y"], "conditionInflictSpell": ["charmed"], "isNamedCreature": True,
        "isNpc": True, "savingThrowForcedSpell": ["wisdom"], "familiar": True,
    }]}  # fmt: skip
    install(app, write(tmp_path, S, doc))
    shown = card(app, "realworld:monsters/alice")
    assert "***Spellcasting.***\n\n- At will: [charm person](" in shown
    for hint in ("Damage tags", "Condition inflict", "Is named", "Is npc", "Saving throw forced",
                 "Familiar"):  # fmt: skip
        assert hint not in shown, hint
