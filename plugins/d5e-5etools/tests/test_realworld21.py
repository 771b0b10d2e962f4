"""Shapes found in real homebrew files nobody here wrote (twenty-first session: what the
twentieth left, and files of TheGiddyLimit/homebrew not tried before), each in a small file of
our own."""

from __future__ import annotations

import asyncio
from pathlib import Path

from fivetools_files import card, install, write

from d5e_daemon.app import App
from d5e_daemon.features.lookup import lookup
from d5e_daemon.features.packs import validate
from d5e_daemon.protocol import LookupParams, ValidateParams

S = "Realworld"


def test_a_statblock_of_a_table_is_drawn_where_it_stands(app: App, tmp_path: Path) -> None:
    """MonkeyDM's Poison Rework 3.0 shows its Foraging Table in a variant rule by `{"type":
    "statblock", "tag": "table", …}`: the card held a link where 5etools draws the table.
    A table of the same files is drawn in place (its intro, the table captioned with a link
    to its card, its outro), in a book's section too; one of no file stays a link."""
    block = {"type": "statblock", "tag": "table", "name": "Bramble Finds", "source": S}
    missing = {"type": "statblock", "tag": "table", "name": "Nowhere", "source": S}
    doc = {
        "table": [{"name": "Bramble Finds", "source": S, "intro": ["Roll each dawn."],
                   "colLabels": ["d6", "Find"], "rows": [["1", "Thorns"], ["2-6", "Sloe"]],
                   "outro": ["Sloe keeps a week."]}],
        "variantrule": [{"name": "Gleaning", "source": S,
                         "entries": ["When you glean:", block, missing]}],
        "book": [{"name": "Hedges", "id": "HDG", "source": S, "contents": [{"name": "One"}]}],
        "bookData": [{"id": "HDG", "source": S, "data": [
            {"type": "section", "name": "One", "entries": [block]}]}],
    }  # fmt: skip
    install(app, write(tmp_path, S, doc))
    link = "[Bramble Finds](d5e://realworld/tables/bramble-finds.md)"
    table = f"**{link}**\n\n| d6 | Find |\n|---|---|\n| 1 | Thorns |\n| 2-6 | Sloe |"
    for ref in ("realworld:variant-rules/gleaning", "realworld:books/hedges-01-one"):
        text = card(app, ref)
        assert f"Roll each dawn.\n\n{table}\n\nSloe keeps a week." in text, ref
    assert "Nowhere" in card(app, "realworld:variant-rules/gleaning")


def test_a_spell_printed_elsewhere_says_where(app: App, tmp_path: Path) -> None:
    """Luminagi's Illyria Spells reprints spells with `"otherSources": [{"source": "XGE",
    "page": 150}]`: 5etools' footer says *Also found in*; the card said nothing of it. Other
    types' cards say it too, and `additionalSources` as 5etools words them."""
    doc = {
        "spell": [{"name": "Cinder Call", "source": S, "level": 1, "school": "V",
                   "time": [{"number": 1, "unit": "action"}],
                   "range": {"type": "point", "distance": {"type": "feet", "amount": 60}},
                   "components": {"v": True}, "duration": [{"type": "instant"}],
                   "entries": ["Fire."],
                   "otherSources": [{"source": "XGE", "page": 150}, {"source": "Elsewhere"}]}],
        "feat": [{"name": "Cinder Born", "source": S, "entries": ["Warm."],
                  "additionalSources": [{"source": "TCE", "page": 7}]}],
    }  # fmt: skip
    install(app, write(tmp_path, S, doc))
    text = card(app, "realworld:spells/cinder-call")
    assert "Also found in:** XGE, page 150; Elsewhere" in text
    assert "**Additional information from:** TCE, page 7" in card(
        app, "realworld:feats/cinder-born"
    )


def test_an_item_property_named_by_its_entry_says_its_name_once(app: App, tmp_path: Path) -> None:
    """Modnar's 5e Tools and Services names its item property *Oversized* only inside its
    entries (`{"abbreviation": "O", "entries": [{"name": "Oversized", "entries": […]}]}`):
    the card, named *Oversized*, ran the name in again before its text (`***Oversized.***
    Big…`). Its text now stands alone; the abbreviation is said once."""
    doc = {"itemProperty": [
        {"abbreviation": "HV", "source": S, "entries": [
            {"type": "entries", "name": "Hefty", "entries": ["Needs two hands and a back."]}]},
    ]}  # fmt: skip
    install(app, write(tmp_path, S, doc))
    text = card(app, "realworld:weapon-properties/hefty")
    assert "Hefty." not in text and "Needs two hands and a back." in text
    assert text.count("HV") == 1


def test_a_named_entry_first_in_a_named_entry_is_not_run_in(app: App, tmp_path: Path) -> None:
    """Conflux's Skeletons' lore: `Skeleton Lore` holds `Arcana DC 10:`, `Arcana DC 15:`…, each
    named: the card ran them together, `***Skeleton Lore.*** ***Arcana DC 10:*** …`. The
    parent's name now stands on its line, each child's runs into its own text."""
    lore = {
        "type": "entries",
        "name": "Reed Lore",
        "entries": [
            {"type": "entries", "name": "Nature DC 10:", "entries": ["Reeds bend."]},
            {"type": "entries", "name": "Nature DC 15:", "entries": ["Reeds remember."]},
        ],
    }
    doc = {"monster": [
        {"name": "Reed Walker", "source": S, "size": ["M"], "type": "plant", "ac": [12],
         "hp": {"average": 9, "formula": "2d8"}, "speed": {"walk": 30}, "str": 10, "dex": 12,
         "con": 10, "int": 6, "wis": 8, "cha": 5, "cr": "1",
         "fluff": {"entries": [{"type": "entries", "entries": [lore]}]}},
    ]}  # fmt: skip
    install(app, write(tmp_path, S, doc))
    text = card(app, "realworld:monsters/reed-walker")
    assert "***Reed Lore.***\n\n***Nature DC 10:*** Reeds bend.\n\n***Nature DC 15:***" in text


def test_a_book_race_written_again_is_not_the_files_own(app: App, tmp_path: Path) -> None:
    """SabotageThis' Ash Elves writes the PHB's Elf again (`"source": "PHB"`) to hold its `Ash`
    subrace: the Elf was installed as the homebrew pack's own race, the PHB's text under the
    file's title. An entry of a book the SRD comes from, of a name the SRD holds, in a file
    not declaring that source, is left out with a located warning; the subrace of the file's
    own source is installed, its race read from the file."""
    doc = {"race": [
        {"name": "Elf", "source": "PHB", "size": "M", "speed": 30, "ability": [{"dex": 2}],
         "entries": [{"type": "entries", "name": "Trance", "entries": ["Elves rest."]}],
         "subraces": [{"name": "Soot", "source": S, "ability": [{"con": 1}],
                       "entries": [{"type": "entries", "name": "Kiln", "entries": ["Warm."]}]},
                      {"name": "High", "source": "PHB", "entries": ["A cantrip."]}]},
        {"name": "Brinefolk", "source": "PHB", "size": "M", "speed": 30, "entries": ["Salt."]},
    ]}  # fmt: skip
    path = write(tmp_path, S, doc)
    report = asyncio.run(validate(app, ValidateParams(path=str(path))))
    said = [(p.severity, p.field, bool(p.line)) for p in report.problems]
    assert ("warning", "race[0].source", True) in said
    message = next(p.message for p in report.problems if p.field == "race[0].source")
    assert message.startswith("race 'Elf', subrace 'High' of source 'PHB'")
    assert "not installed (srd-2014 has them" in message
    result = install(app, path)
    assert result.entries == 2  # the subrace, and the PHB's name the SRD lacks (its own)
    found = lookup(app, LookupParams(name="Elf"))
    assert found.entry.pack == "srd-2014"
    assert "Warm." in card(app, "realworld:subraces/soot-elf")
    assert "Salt." in card(app, "realworld:races/brinefolk")


def test_a_prerequisite_spell_written_as_a_tag_is_one_link(app: App, tmp_path: Path) -> None:
    """Sandwichbear's Notes from the Far Realm writes its invocations' prerequisites as tags,
    `"prerequisite": [{"spell": ["{@spell acid splash}"]}]`, where 5etools' form is the spell's
    uid (`"acid splash"`, `"eldritch blast#c"`): the card drew a link inside a link, `[[acid
    splash](…)](…)`. A spell written as a tag is that tag."""
    doc = {"optionalfeature": [
        {"name": "Sour Ripple", "source": S, "featureType": ["EI"], "entries": ["Wider."],
         "prerequisite": [{"spell": ["{@spell acid splash}", "{@spell light}#c"]}]},
    ]}  # fmt: skip
    install(app, write(tmp_path, S, doc))
    text = card(app, "realworld:optional-features/sour-ripple")
    splash = "[acid splash](d5e://srd-2014/spells/acid-splash.md)"
    assert f"**Prerequisite:** {splash} or [light](d5e://srd-2014/spells/light.md) cantrip" in text
    assert "[[" not in text


def test_codes_named_with_commas_and_a_rules_own_type(app: App, tmp_path: Path) -> None:
    """Damian Steele's Exploits (3 MB) names its optional feature types `"E:R4": "Exploit, Rank
    4"`: the card said `Exploit, Divination, Exploit, Rank 4`, one list of words; each is now
    one item (`; `). Its variant rule `Exploits` is written `"type": "section"` (5etools draws
    it so): the card said `Type: section`."""
    doc = {
        "variantrule": [{"name": "Gambits", "source": S, "type": "section",
                         "entries": [{"type": "entries", "name": "Using", "entries": ["Use."]}]}],
        "optionalfeature": [{"name": "Low Blow", "source": S, "featureType": ["G:D", "G:R4"],
                             "entries": ["{@variantrule Gambits|Realworld|Rank 4}: a blow."]}],
    }  # fmt: skip
    meta = {"optionalFeatureTypes": {"G:D": "Gambit, Dirty", "G:R4": "Gambit, Rank 4"}}
    install(app, write(tmp_path, S, doc, **meta))
    assert "Type:" not in card(app, "realworld:variant-rules/gambits")
    text = card(app, "realworld:optional-features/low-blow")
    assert "**Feature type:** Gambit, Dirty; Gambit, Rank 4" in text
    assert "[Rank 4](d5e://realworld/variant-rules/gambits.md): a blow." in text


def test_a_paragraph_beginning_with_a_quote_mark_is_not_a_quote(app: App, tmp_path: Path) -> None:
    """Kobold Press' Midgard Worldbook begins Druidic's text `">A degenerate form of Elvish…"`:
    the card made it a block quote; 5etools shows the `>` (a `#` likewise, not a heading)."""
    doc = {"language": [
        {"name": "Root Cant", "source": S, "type": "secret",
         "entries": [">A tongue of roots.", "# of speakers: few.", "#hashtag"]},
    ]}  # fmt: skip
    install(app, write(tmp_path, S, doc))
    text = card(app, "realworld:languages/root-cant")
    assert "\n\\>A tongue of roots.\n\n\\# of speakers: few.\n\n#hashtag\n" in text


def test_an_adventure_sections_named_entries_are_headings(app: App, tmp_path: Path) -> None:
    """Winghorn Press' Wolves of Welton: a section's named entries (`Summary`, `Scene 1: …`,
    the contents' headers) are 5etools' block headers; the card ran `Summary` into its first
    paragraph (`***Summary.*** It's been…`) when it held only text, and made a heading of
    `Scene 1` only because it held more. Both are headings; an entry inside one runs in."""
    doc = {
        "adventure": [{"name": "Hill Wolves", "id": "HW", "source": S,
                       "contents": [{"name": "Hill Wolves", "headers": ["Summary", "Scene 1"]}]}],
        "adventureData": [{"id": "HW", "source": S, "data": [{"type": "section",
            "name": "Hill Wolves", "entries": [
                {"type": "entries", "name": "Summary", "entries": ["Wolves take sheep."]},
                {"type": "entries", "name": "Scene 1", "entries": ["On the road.", {
                    "type": "entries", "name": "Tactics", "entries": ["They flee."]}]}]}]}],
    }  # fmt: skip
    install(app, write(tmp_path, S, doc))
    text = card(app, "realworld:adventures/hill-wolves-01-hill-wolves")
    assert "### Summary\n\nWolves take sheep.\n\n### Scene 1\n\nOn the road." in text
    assert "***Tactics.*** They flee." in text


def test_a_classs_fluff_and_its_skill_choice_in_words(app: App, tmp_path: Path) -> None:
    """Hippocamper's Complete Cookbook writes its Gourmet class's lore as `"fluff": [{"type":
    "section", …}]` (the class form, a list of entries): nowhere on the card. Its skills read
    `Choose one from Animal Handling, and Insight` and `Sleight Of Hand`."""
    doc = {"class": [
        {"name": "Larder Keeper", "source": S, "hd": {"number": 1, "faces": 10},
         "proficiency": ["con"],
         "startingProficiencies": {"skills": [{"choose": {
             "from": ["animal handling", "sleight of hand"], "count": 1}}]},
         "fluff": [{"type": "section", "name": "Larder Keeper", "entries": [
             "A keeper stirs the pot.",
             {"type": "entries", "name": "Fresh Stock", "entries": ["Eat what you kill."]}]}]},
    ]}  # fmt: skip
    install(app, write(tmp_path, S, doc))
    text = card(app, "realworld:classes/larder-keeper")
    assert "Choose one from Animal Handling and Sleight of Hand" in text
    assert "A keeper stirs the pot.\n\n***Fresh Stock.*** Eat what you kill." in text


def test_a_tables_caption_that_is_its_name_is_said_once(app: App, tmp_path: Path) -> None:
    """Dungeons-And-Danis' 100 Quirks and Peculiarities (like most table files) captions its
    table with its own name: the card, named so, said it again above the table. Another
    caption stays."""
    doc = {"table": [
        {"name": "Odd Habits", "source": S, "caption": "Odd Habits", "colLabels": ["d4", "Habit"],
         "rows": [["1", "Hums"], ["2-4", "Blinks"]]},
        {"name": "Odd Smells", "source": S, "caption": "What the nose finds",
         "colLabels": ["d2", "Smell"], "rows": [["1", "Tar"], ["2", "Rain"]]},
    ]}  # fmt: skip
    install(app, write(tmp_path, S, doc))
    text = card(app, "realworld:tables/odd-habits")
    assert text.count("Odd Habits") == 1 and "| 2-4 | Blinks |" in text
    assert "**What the nose finds**\n\n| d2 | Smell |" in card(app, "realworld:tables/odd-smells")


def test_an_actions_time_in_words(app: App, tmp_path: Path) -> None:
    """Dusk Zargoth's Fighter Rework adds actions (`Steal`, `Distract`) with `"time":
    [{"number": 1, "unit": "action"}]`: the card said `Time: Number 1, Unit action`; 5etools'
    action page says `1 action`, as a spell's casting time."""
    doc = {"action": [
        {"name": "Pilfer", "source": S, "entries": ["Take it."],
         "time": [{"number": 1, "unit": "action"}, {"number": 1, "unit": "bonus"}]},
    ]}  # fmt: skip
    install(app, write(tmp_path, S, doc))
    assert "**Time:** 1 action or 1 bonus action" in card(app, "realworld:actions/pilfer")


def test_a_creatures_own_legendary_intro_is_not_repeated(app: App, tmp_path: Path) -> None:
    """Frog God Games' Tome of Horrors writes each creature's legendary intro as a nameless
    first action (`{"name": "", "entries": ["The afanc can take three legendary actions…"]}`):
    the card said the intro twice, 5etools' words then the book's. The book's stands alone;
    a creature without one still gets 5etools'."""
    base = {
        "source": S,
        "size": "G",
        "type": "monstrosity",
        "ac": [18],
        "hp": {"average": 90, "formula": "12d10 + 24"},
        "speed": {"walk": 0, "swim": 70},
        "str": 20,
        "dex": 11,
        "con": 15,
        "int": 3,
        "wis": 12,
        "cha": 7,
        "cr": "9",
    }
    doc = {"monster": [
        {**base, "name": "Reed Leviathan", "legendary": [
            {"name": "", "entries": ["The leviathan can take two legendary actions."]},
            {"name": "Roll", "entries": ["It rolls."]}]},
        {**base, "name": "Reed Drake", "legendary": [{"name": "Roll", "entries": ["It rolls."]}]},
    ]}  # fmt: skip
    install(app, write(tmp_path, S, doc))
    text = card(app, "realworld:monsters/reed-leviathan")
    assert "The leviathan can take two legendary actions." in text
    assert text.count("legendary action") == 1
    assert "can take 3 legendary actions" in card(app, "realworld:monsters/reed-drake")
