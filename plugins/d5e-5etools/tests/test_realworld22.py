"""Shapes found in real homebrew files nobody here wrote (twenty-second session: creature
compendia, classes with their rites, item collections of TheGiddyLimit/homebrew), each in a
small file of our own."""

from __future__ import annotations

from pathlib import Path

from fivetools_files import card, install, write

from d5e_daemon.app import App

S = "Realworld"


def test_an_armor_class_says_what_it_is_from_as_written(app: App, tmp_path: Path) -> None:
    """DMSGuild's Community Ravenloft Collection: `"from": ["{@item breastplate|phb}", "{@item
    Ring of Protection|DMG|ring of protection} (+3)", "Mountain Fane (+6)"]`. The card read
    `29 (breastplate, ring of protection (+3), mountain fane (+6))`: every name lower-cased (as
    the SRD's "Plate Armor" is) and a tag's display text lost (`studded leather armor` for
    Ezmerelda's Encyclopedia of Evil's `{@item studded leather armor|PHB|studded leather}`).
    5etools' `Parser.acToFull` renders each as written."""
    doc = {"monster": [{
        "name": "Fane Lord", "source": S, "size": ["M"], "type": "undead",
        "alignment": ["L", "E"], "hp": {"average": 10, "formula": "3d6"}, "speed": {"walk": 30},
        "str": 10, "dex": 10, "con": 10, "int": 10, "wis": 10, "cha": 10, "cr": "1",
        "ac": [{"ac": 16, "from": ["{@item studded leather armor|PHB|studded leather}"]},
               {"ac": 29, "from": ["{@item Ring of Protection|DMG|ring of protection} (+3)",
                                   "Mountain Fane (+6)"]}],
    }]}  # fmt: skip
    install(app, write(tmp_path, S, doc))
    text = card(app, "realworld:monsters/fane-lord")
    assert (
        "**Armor Class:** 16 ([studded leather](d5e://srd-2014/equipment/studded-leather-armor.md)"
        "), 29 ([ring of protection](d5e://srd-2014/magic-items/ring-of-protection.md) (+3), "
        "Mountain Fane (+6))"
    ) in text
    # the SRD's own stat blocks still say their armor in lower case
    assert "**Armor Class:** 18 (plate armor)" in card(app, "srd-2014:monsters/knight")


def test_a_rite_of_a_subclass_and_its_prerequisite_line(app: App, tmp_path: Path) -> None:
    """KibblesTasty's Occultist: rites with `"prerequisite": [{"level": {"level": 12, "class":
    {…}, "subclass": {"name": "Tradition of the Witch", "visible": true}}, "otherSummary":
    {"entry": "", "entrySummary": "Witch"}}]`. The card said `Occultist level 12, Witch` (the
    list's short form, the subclass lost), and in the class's list of rites the prerequisite
    ran into the rite's text (`…, Witch You infuse an object`): one Markdown paragraph."""
    prereq = {"level": {"level": 12, "class": {"name": "Hexer", "source": S},
                        "subclass": {"name": "Way of the Crone", "source": S, "visible": True}},
              "otherSummary": {"entry": "", "entrySummary": "Crone"}}  # fmt: skip
    doc = {
        "class": [{"name": "Hexer", "source": S, "hd": {"number": 1, "faces": 6},
                   "classFeatures": ["Rites|Hexer|Realworld|2"]}],
        "classFeature": [{"name": "Rites", "source": S, "className": "Hexer",
                          "classSource": S, "level": 2, "entries": [
                              "You learn a rite.",
                              {"type": "options", "count": 1, "entries": [
                                  {"type": "refOptionalfeature",
                                   "optionalfeature": "Broom Ride|Realworld"}]}]}],
        "optionalfeature": [{"name": "Broom Ride", "source": S, "featureType": ["HR"],
                             "prerequisite": [prereq], "entries": ["You fly on a broom.",
                                                                   "It lasts an hour."]},
                            {"name": "White Rite", "source": S, "featureType": ["HR"],
                             "prerequisite": [{**prereq, "otherSummary": {
                                 "entry": "White Coven", "entrySummary": "Crone (White)"}}],
                             "entries": ["Sanctuary."]}],
    }  # fmt: skip
    install(app, write(tmp_path, S, doc))
    assert "**Prerequisite:** Hexer level 12 (Way of the Crone)  \n" in card(
        app, "realworld:optional-features/broom-ride"
    )
    assert "**Prerequisite:** Hexer level 12 (Way of the Crone), White Coven" in card(
        app, "realworld:optional-features/white-rite"
    )
    text = card(app, "realworld:classes/hexer")
    assert (
        "- ***[Broom Ride](d5e://realworld/optional-features/broom-ride.md).*** *Prerequisite: "
        "Hexer level 12 (Way of the Crone)*  \n  You fly on a broom.  \n  It lasts an hour."
    ) in text


def test_a_spellcasting_focus_says_whose(app: App, tmp_path: Path) -> None:
    """KibblesTasty's Occultist's Occult Fetish (`"type": "SCF", "scfType": "occult", "focus":
    ["Occultist|KT:O"]`): the card ended `Scf type: occult` and `Focus: Occultist|KT:O`, the
    uid as written."""
    doc = {
        "class": [{"name": "Hexer", "source": S, "hd": {"number": 1, "faces": 6}}],
        "item": [{"name": "Hex Fetish", "source": S, "type": "SCF", "scfType": "occult",
                  "rarity": "none", "focus": ["Hexer|Realworld"], "value": 1000,
                  "entries": ["A focus for the {@class Hexer|Realworld}."]}],
    }  # fmt: skip
    install(app, write(tmp_path, S, doc))
    text = card(app, "realworld:equipment/hex-fetish")
    assert "**Spellcasting focus:** occult focus" in text
    assert "**Focus for:** [Hexer](d5e://realworld/classes/hexer.md)" in text
    assert "Scf type" not in text and "|Realworld" not in text


def test_a_subclass_of_an_older_file_names_its_class_by_class(app: App, tmp_path: Path) -> None:
    """Deep Magic 14's Elementalist (2019) writes `"class": "Wizard"` where newer files write
    `className`, its features written out in the list: the card read `*Subclasse*` with a
    `Class: Wizard` line, and no class owned it."""
    feature = {"name": "Stormcaller", "entries": ["You call storms."]}
    doc = {"subclass": [{"class": "Wizard", "name": "Stormcaller", "shortName": "Stormcaller",
                         "source": S, "subclassFeatures": [[feature]]}]}  # fmt: skip
    install(app, write(tmp_path, S, doc))
    text = card(app, "realworld:subclasses/wizard-stormcaller")
    assert text.startswith("## Stormcaller\n\n*Wizard subclass*\n\n")
    assert "You call storms." in text and "Class:" not in text


def test_a_magic_weapon_names_its_base_item(app: App, tmp_path: Path) -> None:
    """Kobold Press' Vault of Magic: `"baseItem": "whip|PHB", "type": "M"` read `*Weapon,
    uncommon*`; 5etools' type line names the base item (`Weapon (whip)`), a link. A base item
    written as a tag (`"{@item hooded lantern|PHB}"`) of a wondrous item is not on it."""
    doc = {"item": [
        {"name": "Storm Whip", "source": S, "baseItem": "whip|PHB", "type": "M",
         "rarity": "uncommon", "reqAttune": True, "weaponCategory": "martial",
         "property": ["F", "R"], "dmg1": "1d4", "dmgType": "S", "entries": ["It crackles."]},
        {"name": "Glow Lantern", "source": S, "baseItem": "{@item hooded lantern|PHB}",
         "rarity": "uncommon", "wondrous": True, "entries": ["It glows."]},
    ]}  # fmt: skip
    install(app, write(tmp_path, S, doc))
    assert (
        "*Weapon ([whip](d5e://srd-2014/equipment/whip.md)), uncommon (requires attunement)*"
        in card(app, "realworld:magic-items/storm-whip")
    )
    assert "*Wondrous item, uncommon*" in card(app, "realworld:magic-items/glow-lantern")


def test_an_adventurers_league_adventure_says_its_code_and_length(app: App, tmp_path: Path) -> None:
    """DDEX1-01 - Defiance in Phlan: `"alId": "DDEX1-01", "alLength": {"exact": 5}` read `Al
    length: Exact 5` and `Al id: DDEX1-01`."""
    doc = {
        "adventure": [{"name": "Phlan Nights", "id": "PN", "source": S, "alId": "DDEX9-99",
                       "alLength": {"min": 2, "max": 4}, "level": {"start": 1, "end": 4},
                       "contents": [{"name": "One"}]}],
        "adventureData": [{"id": "PN", "source": S, "data": [
            {"type": "section", "name": "One", "entries": ["Dark."]}]}],
    }  # fmt: skip
    install(app, write(tmp_path, S, doc))
    text = card(app, "realworld:adventures/phlan-nights")
    assert "**Adventurers League:** DDEX9-99, 2–4 hours" in text
    assert "Al length" not in text and "Al id" not in text


def test_copies_of_the_srds_creatures_as_the_monster_manual_is_copied(
    app: App, tmp_path: Path
) -> None:
    """Eventyr Games' Kraken's Gamble copies the Monster Manual's creatures, which the SRD's
    records stand in for: Khemed is the Assassin with `"action": {"mode": "scalarAddHit",
    "scalar": 1}` and kept +6 to hit (the SRD's text has no `{@hit}` tag to change); Lord
    Artan is the Noble with `"action": null`, and kept the Noble's Rapier; a skill's
    `special` (`{@skill Sava|KG} {@skillCheck sava 3}`) read `Sava sava 3`."""
    doc = {"monster": [
        {"name": "Quiet Knife", "source": S, "_copy": {"name": "Assassin", "source": "MM",
         "_mod": {"*": {"mode": "replaceTxt", "replace": "the assassin", "with": "Knife",
                        "flags": "i"},
                  "action": [{"mode": "scalarAddHit", "scalar": 1},
                             {"mode": "scalarAddDc", "scalar": 2}]}}},
        {"name": "Idle Lord", "source": S, "action": None,
         "_copy": {"name": "Noble", "source": "MM"}},
        {"name": "Croupier", "source": S, "_copy": {"name": "Commoner", "source": "MM"},
         "skill": {"insight": "+3", "special": "{@skill Sava|Realworld} {@skillCheck sava 3}"}},
    ]}  # fmt: skip
    install(app, write(tmp_path, S, doc))
    knife = card(app, "realworld:monsters/quiet-knife")
    assert "***Shortsword.*** Melee Weapon Attack: +7 to hit" in knife  # the Assassin's +6
    assert "must make a DC 17 Constitution saving throw" in knife  # the Assassin's DC 15
    assert "During its first turn, Knife has advantage" in knife
    lord = card(app, "realworld:monsters/idle-lord")
    assert "Rapier" not in lord and "### Actions" not in lord
    assert "***Parry.***" in lord  # what the copy does not remove stays
    assert "**Skills:** Insight +3, Sava +3" in card(app, "realworld:monsters/croupier")
    # the SRD's own Assassin is as it was
    assert "Melee Weapon Attack: +6 to hit" in card(app, "srd-2014:monsters/assassin")


def test_a_rarity_5etools_does_not_say_and_a_curse_flag(app: App, tmp_path: Path) -> None:
    """Griffin Macaulay's The Griffon's Saddlebag, Year 5: the Pact Card of `"rarity":
    "varies"` read `*Wondrous item, varies*`, and a cursed item's `"curse": true` ended its card
    `Curse: yes` (its text says the curse; 5etools' filter reads the flag). 5etools' type line
    leaves out `varies` and `unknown (magic)` (Kraken's Gamble's Aboleth Mucous)."""
    doc = {"item": [
        {"name": "Bond Card", "source": S, "rarity": "varies", "wondrous": True,
         "curse": True, "entries": ["It binds.", {"type": "entries", "name": "Curse",
                                                  "entries": ["You keep it."]}]},
        {"name": "Odd Mucus", "source": S, "rarity": "unknown (magic)", "entries": ["Ugh."]},
    ]}  # fmt: skip
    install(app, write(tmp_path, S, doc))
    text = card(app, "realworld:magic-items/bond-card")
    assert "*Wondrous item*" in text and "varies" not in text
    assert "***Curse.*** You keep it." in text and "Curse:" not in text
    mucus = card(app, "realworld:magic-items/odd-mucus")
    assert "unknown" not in mucus.lower()


def test_a_list_item_name_ending_in_a_comma_takes_no_period(app: App, tmp_path: Path) -> None:
    """Benevolent Evil's The Elements and Beyond names a list item `"{@race Dwarf (Ember)|TEB|
    Ember Dwarves},"` before `often mistaken for half-azer, are…`: the card read `**Ember
    Dwarves,.**`; 5etools adds no period after its terminators, nor with `"nameDot": false`.
    A `{@link www.…}` of no address is a link to it (5etools assumes http)."""
    items = [{"type": "item", "name": "{@race Ember Dwarf|Realworld|Ember Dwarves},",
              "entry": "often mistaken."},
             {"type": "item", "name": "Quiet", "nameDot": False, "entry": "ones hide."},
             {"type": "item", "name": "Loud", "entry": "ones shout."}]  # fmt: skip
    doc = {"variantrule": [{"name": "Kin", "source": S, "entries": [
        {"type": "list", "style": "list-hang-notitle", "items": items},
        "See {@link www.example.org}."]}]}  # fmt: skip
    install(app, write(tmp_path, S, doc))
    text = card(app, "realworld:variant-rules/kin")
    assert "**Ember Dwarves,** often mistaken." in text
    assert "**Quiet** ones hide." in text and "**Loud.** ones shout." in text
    assert "See [www.example.org](http://www.example.org)." in text


def test_a_class_tag_to_a_subclass_of_an_installed_pack_lacking_it(
    app: App, tmp_path: Path
) -> None:
    """DMsGuild's Xanathar's Lost Notes to Everything Else tables its subclasses as `{@class
    Bard||College of Discord|Discord|XLNEE}`: with the book installed but not that subclass
    (a part of the file), the card showed plain words; 5etools' link opens the class's page,
    as d5e's did for a subclass of the SRD by another name."""
    doc = {"variantrule": [{"name": "Colleges", "source": S, "entries": [
        "Try the {@class Bard||College of Discord|Discord|Realworld} or the "
        "{@class Cleric|PHB|Entropy Domain|Entropy|Realworld}."]}]}  # fmt: skip
    install(app, write(tmp_path, S, doc))
    assert (
        "Try the [College of Discord](d5e://srd-2014/classes/bard.md) or the "
        "[Entropy Domain](d5e://srd-2014/classes/cleric.md)."
    ) in card(app, "realworld:variant-rules/colleges")


def test_an_image_credit_is_said_under_the_image(app: App, tmp_path: Path) -> None:
    """Benjamin Huffman's The Magus - 2024 credits its art (`"credit": "Mick Cortes"`): the
    credit was the image's alt text alone, as if the picture's name; 5etools says `Art credit:
    Mick Cortes` under it (and in its tooltip). An image of a title keeps it as the alt."""
    url = "https://example.org/magus.webp"
    doc = {"variantrule": [{"name": "Art", "source": S, "entries": [
        {"type": "image", "href": {"type": "external", "url": url}, "credit": "Mick Cortes"},
        {"type": "image", "href": {"type": "external", "url": url}, "title": "A Magus",
         "credit": "Mick Cortes"}]}]}  # fmt: skip
    install(app, write(tmp_path, S, doc))
    text = card(app, "realworld:variant-rules/art")
    assert f"![Art credit: Mick Cortes]({url})  \n*Art credit: Mick Cortes*" in text
    assert f"![A Magus]({url})  \n*Art credit: Mick Cortes*" in text
