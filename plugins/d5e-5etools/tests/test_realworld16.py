"""Shapes found in real homebrew files nobody here wrote (sixteenth session: TheGiddyLimit/
homebrew's Gem Dragons of Faerûn, Warlock Invocations Reforged, the Tarocchi, Keys from the Golden
Vault's Calling Cards, the Midgard Worldbook's languages, The Lost Lands' deities…), each in a
small file of our own."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fivetools_files import card, data, install, write

from d5e_daemon import queries
from d5e_daemon.app import App
from d5e_daemon.errors import PackError
from d5e_daemon.features.tags import Resolver
from d5e_daemon.tagsyntax import tags_in_line

S = "Realworld"


def test_a_creatures_senses_and_languages_written_as_one_string(app: App, tmp_path: Path) -> None:
    """Gem Dragons of Faerûn (an older file) writes `"senses": "blindsight 60 ft., darkvision
    120 ft."` and `"languages": "Common, Draconic"`: the file was refused (`senses must be an
    array, not a string`); 5etools' renderer reads a string as a list of one ("handle legacy
    format")."""
    doc = {
        "monster": [
            {"name": "Amethyst Wyrmling", "source": S, "size": "M", "type": "dragon",
             "alignment": ["N"], "ac": [17], "hp": {"average": 75, "formula": "10d8 + 30"},
             "speed": {"walk": 30}, "str": 17, "dex": 10, "con": 17, "int": 12, "wis": 11,
             "cha": 15, "senses": "blindsight 10 ft., darkvision 60 ft. (blind beyond), "
             "tremorsense 5 ft.", "passive": 10, "languages": "Common, Draconic, Terran",
             "cr": "3"},
        ]
    }  # fmt: skip
    install(app, write(tmp_path, S, doc))
    text = card(app, "realworld:monsters/amethyst-wyrmling")
    assert "blindsight 10 ft., darkvision 60 ft. (blind beyond), tremorsense 5 ft." in text
    assert "Common, Draconic, Terran" in text
    senses = data(app, "realworld:monsters/amethyst-wyrmling")["senses"]
    assert senses["darkvision"] == "60 ft. (blind beyond)" and senses["tremorsense"] == "5 ft."


def test_a_prerequisite_spell_is_named_as_5etools_names_it(app: App, tmp_path: Path) -> None:
    """Warlock Invocations Reforged requires cantrips (`"spell": ["Sword Burst|scag#c"]`): the
    card read `Spell Sword Burst|scag#c`; 5etools' `Parser.prereqSpellToFull` shows the spell
    (a link) and `cantrip` for `#c`, hex or a curse for `#x`, alternatives joined by `or`."""
    doc = {
        "optionalfeature": [
            {"name": "Added Time", "source": S, "featureType": ["EI"], "entries": ["More."],
             "prerequisite": [{"level": {"level": 5, "class": {"name": "Warlock"}},
                               "spell": ["Spare the Dying#c"]}]},
            {"name": "Blade Weaving", "source": S, "featureType": ["EI"], "entries": ["Cut."],
             "prerequisite": [{"spell": ["Sword Burst|scag#c", "fireball|phb", "#x"]}]},
        ]
    }  # fmt: skip
    install(app, write(tmp_path, S, doc))
    added = card(app, "realworld:optional-features/added-time")
    assert (
        "**Prerequisite:** Warlock level 5, "
        "[Spare the Dying](d5e://srd-2014/spells/spare-the-dying.md) cantrip" in added
    )
    weaving = card(app, "realworld:optional-features/blade-weaving")
    assert (
        "**Prerequisite:** Sword Burst cantrip, [fireball](d5e://srd-2014/spells/fireball.md) or "
        "hex spell or a warlock feature that curses" in weaving
    )
    assert "#c" not in weaving and "scag" not in weaving and "Spell " not in weaving


def test_a_class_table_cell_holding_a_filter_tag(app: App, tmp_path: Path) -> None:
    """The Tarocchi's table names each level's spells by a filter (`{@filter 1st|spells|
    level=1|class=Tarocchi (ATT)}`): the cell read `1st\\`, the tag's `|` escaped as a table's
    before the tag was read."""
    doc = {
        "class": [
            {"name": "Dealer", "source": S, "hd": {"number": 1, "faces": 8},
             "classTableGroups": [{"colLabels": ["Spell Level"], "rows": [
                 ["{@filter 1st|spells|level=1|class=Dealer}"], ["a|b"]]}]},
        ]
    }  # fmt: skip
    install(app, write(tmp_path, S, doc))
    text = card(app, "realworld:classes/dealer")
    assert "| 1 | +2 | — | 1st |" in text and "| 2 | +2 | — | a\\|b |" in text


def test_bookkeeping_fields_are_not_listed(app: App, tmp_path: Path) -> None:
    """5etools' bookkeeping on the cards: a subclass feature's `header` (`Header: 1`), a
    subclass's `shortName` and the list of its features it draws below, a language's `fonts`
    (font files), a deck's `hasCardArt`, a creature's `tokenURL` (Gem Dragons' spelling) and
    its bestiary `group` (Blood Above, Blood Below's `Group: Beholders`)."""
    uid = "Kitty Card|Dealer|Realworld|Spades|Realworld|3"
    doc = {
        "class": [{"name": "Dealer", "source": S, "hd": {"number": 1, "faces": 8},
                   "classFeatures": []}],
        "subclass": [{"name": "Spades", "shortName": "Spades", "source": S,
                      "className": "Dealer", "classSource": S, "subclassFeatures": [uid]}],
        "subclassFeature": [{"name": "Kitty Card", "source": S, "className": "Dealer",
                             "classSource": S, "subclassShortName": "Spades",
                             "subclassSource": S, "level": 3, "header": 1,
                             "entries": ["Pass a card."]}],
        "language": [{"name": "Pigpen", "source": S, "type": "secret",
                      "fonts": ["https://example.com/Pigpen.otf"], "entries": ["A cipher."]}],
        "deck": [{"name": "Calling Cards", "source": S, "cards": [], "hasCardArt": True,
                  "entries": ["Which are you?"]}],
        "monster": [{"name": "Gem Drake", "source": S, "size": ["M"], "type": "dragon",
                     "ac": [15], "hp": {"average": 10, "formula": "3d8"}, "speed": {"walk": 30},
                     "str": 10, "dex": 10, "con": 10, "int": 10, "wis": 10, "cha": 10,
                     "cr": "1", "tokenURL": "https://example.com/drake.png",
                     "group": ["Dragons"]}],
    }  # fmt: skip
    install(app, write(tmp_path, S, doc))
    feature = card(app, "realworld:features/dealer-spades-kitty-card-3")
    assert "Pass a card." in feature and "Header" not in feature
    spades = card(app, "realworld:subclasses/dealer-spades")
    assert "Level 3: [Kitty Card]" in spades
    assert "Short name" not in spades and "Subclass features" not in spades
    pigpen = card(app, "realworld:languages/pigpen")
    assert "A cipher." in pigpen and "Fonts" not in pigpen and ".otf" not in pigpen
    assert "card art" not in card(app, "realworld:decks/calling-cards")
    drake = card(app, "realworld:monsters/gem-drake")
    assert "Token" not in drake and "Group" not in drake and "Dragons" not in drake


def test_a_decks_cards_are_links_to_them(app: App, tmp_path: Path) -> None:
    """Keys from the Golden Vault's Calling Cards lists its cards as 5etools' uids (`"The
    Decoy|Calling Cards|KftGV:CC"`; the 2024 Deck of Many More Things as `{"uid": …,
    "replacement": true}`): the card read `Cards: The Decoy|Calling Cards|KftGV:CC`."""
    doc = {
        "deck": [{"name": "Calling Cards", "source": S,
                  "cards": ["The Decoy|Calling Cards|Realworld",
                            {"uid": "The Muscle|Calling Cards|Realworld", "replacement": True}],
                  "entries": ["Which are you?"]}],
        "card": [{"name": n, "source": S, "set": "Calling Cards", "entries": ["A role."]}
                 for n in ("The Decoy", "The Muscle")],
    }  # fmt: skip
    install(app, write(tmp_path, S, doc))
    text = card(app, "realworld:decks/calling-cards")
    assert (
        "**Cards:** [The Decoy](d5e://realworld/cards/calling-cards-the-decoy.md), "
        "[The Muscle](d5e://realworld/cards/calling-cards-the-muscle.md)" in text
    )
    # and a card names its deck (5etools' `set`; the card read `Set: Calling Cards`)
    decoy = card(app, "realworld:cards/calling-cards-the-decoy")
    assert "**Deck:** [Calling Cards](d5e://realworld/decks/calling-cards.md)" in decoy
    assert "Set:" not in decoy


def test_a_lists_name_and_numbering(app: App, tmp_path: Path) -> None:
    """The Calling Cards' quiz is lists named by their questions (`"name": "Question 1: Where
    can you usually be found?"`, `"style": "list-decimal"`): the questions were lost, the
    answers bullets; 5etools shows the name above the list, numbered."""
    doc = {
        "deck": [{"name": "Quiz Deck", "source": S, "cards": [], "entries": [
            {"type": "list", "style": "list-decimal", "name": "Question 1: Where are you?",
             "items": ["On stage", "In the {@i library}"]},
            {"type": "list", "items": ["plain"]},
        ]}],
    }  # fmt: skip
    install(app, write(tmp_path, S, doc))
    text = card(app, "realworld:decks/quiz-deck")
    assert "**Question 1: Where are you?**\n\n1. On stage\n2. In the *library*" in text
    assert "\n- plain" in text


def test_subraces_written_inside_their_race(app: App, tmp_path: Path) -> None:
    """Middle Finger of Vecna's Thri-Kreen (an older file) writes its subraces inside the race
    (`"subraces": [{"name": "Hunter", "ability": […], "entries": […]}]`): they were one
    `Subraces` section run into the race's card (`***Hunter.*** ***Chitinous Carapace.***`),
    their ability increases lost; 5etools' `Renderer.race.mergeSubraces` reads them as
    subraces of their own."""
    doc = {
        "race": [
            {"name": "Thri-Kreen", "source": S, "size": "M", "speed": {"walk": 30},
             "ability": [{"dex": 1}], "entries": ["Four arms."],
             "subraces": [
                 {"name": "Hunter", "entries": ["A thick carapace."],
                  "ability": [{"choose": {"from": ["str", "con"], "count": 1, "amount": 1}}]},
                 {"name": "Psion", "entries": ["Innate psionics."]},
                 {"entries": ["Every thri-kreen is sleepless."]},
                 "not an object",
             ]},
        ]
    }  # fmt: skip
    path = write(tmp_path, S, doc)
    with pytest.raises(PackError) as refused:  # a subrace that is no object: located
        install(app, path)
    text = path.read_text("utf-8")
    line = text[: text.index('"not an object"')].count("\n") + 1
    assert f":{line}:" in str(refused.value) and "race[0].subraces[3]" in str(refused.value)
    doc["race"][0]["subraces"].pop()
    install(app, write(tmp_path, S, doc))
    race = card(app, "realworld:races/thri-kreen")
    assert "Four arms." in race and "Every thri-kreen is sleepless." in race
    assert "Subraces" not in race and "A thick carapace." not in race
    hunter = card(app, "realworld:subraces/hunter-thri-kreen")
    assert "*Thri-Kreen subrace*" in hunter
    assert "+1 to Strength or Constitution" in hunter and "A thick carapace." in hunter
    assert "Innate psionics." in card(app, "realworld:subraces/psion-thri-kreen")


def test_a_cards_subtitle_keeps_the_names_capitals(app: App, tmp_path: Path) -> None:
    """A subclass of the Blood Hunter read `*Blood hunter subclass*`, a Thri-Kreen subrace
    `*Thri-kreen subrace*`: the subtitle's first letter is raised, the name kept."""
    doc = {
        "class": [{"name": "Blood Hunter", "source": S, "hd": {"number": 1, "faces": 10}}],
        "subclass": [{"name": "Order of the Lycan", "shortName": "Lycan", "source": S,
                      "className": "Blood Hunter", "classSource": S, "entries": ["Howl."]}],
    }  # fmt: skip
    install(app, write(tmp_path, S, doc))
    text = card(app, "realworld:subclasses/blood-hunter-order-of-the-lycan")
    assert "*Blood Hunter subclass*" in text


def test_a_variant_rules_type_is_named(app: App, tmp_path: Path) -> None:
    """Matthew Mercer's Corruption Rules is an optional rule (`"ruleType": "O"`): the card read
    `Rule type: O`; 5etools names it (`Parser.RULE_TYPE_TO_FULL`)."""
    doc = {
        "variantrule": [
            {"name": "Corruption", "source": S, "ruleType": "O", "entries": ["Taint."]},
            {"name": "Odd Rule", "source": S, "ruleType": "ZZ", "entries": ["Its own code."]},
        ]
    }
    install(app, write(tmp_path, S, doc))
    assert "**Rule type:** Optional" in card(app, "realworld:variant-rules/corruption")
    assert "**Rule type:** ZZ" in card(app, "realworld:variant-rules/odd-rule")


def test_a_class_tag_whose_subclass_part_names_none_links_the_class(
    app: App, tmp_path: Path
) -> None:
    """The Lost Lands' deities name their domains `{@class cleric|phb|Life|Life Domain}` (the
    SRD calls the subclass "Life"): the card showed `Life` and no link; 5etools' link opens the
    class's page whatever its subclass part says. A document's tag is still told (`d5e check`
    warns of the subclass)."""
    doc = {
        "deity": [
            {"name": "Archeillus", "source": S, "pantheon": "Lostlands",
             "customProperties": {"Domains": "{@class cleric|phb|Life|Life Domain}, "
                                  "{@class cleric|phb|the Life domain|Life}"},
             "entries": ["A god of rightful rule."]},
        ]
    }  # fmt: skip
    install(app, write(tmp_path, S, doc))
    text = card(app, "realworld:deities/archeillus")
    assert (
        "**Domains:** [Life](d5e://srd-2014/classes/cleric.md), "
        "[the Life domain](d5e://srd-2014/subclasses/life.md)" in text
    )


def test_legendary_actions_say_how_many(app: App, tmp_path: Path) -> None:
    """Griffons of the Multiverse's Sphinx Griffon (and Gem Dragons' dragons) write legendary
    actions without a `legendaryHeader`: the card listed them without saying how many the
    creature can take; 5etools says it (`Renderer.monster.getLegendaryActionIntro`), with the
    creature's short name, a named creature's as written, a 2024 lair's uses."""
    base = {"source": S, "size": ["L"], "type": "monstrosity", "ac": [16],
            "hp": {"average": 127, "formula": "15d10 + 45"}, "speed": {"walk": 40},
            "str": 18, "dex": 15, "con": 16, "int": 17, "wis": 17, "cha": 14, "cr": "10",
            "legendary": [{"name": "Teleport (Costs 2 Actions)", "entries": ["It blinks."]}],
    }  # fmt: skip
    doc = {
        "monster": [
            {**base, "name": "Sphinx Griffon"},
            {**base, "name": "Queen Aurel the Bright", "shortName": "Aurel",
             "isNamedCreature": True, "legendaryActions": 2},
            {**base, "name": "Storm Drake", "legendaryActions": 3, "legendaryActionsLair": 4},
            {**base, "name": "Old One", "legendaryHeader": ["Its own words."]},
        ]
    }  # fmt: skip
    install(app, write(tmp_path, S, doc))
    griffon = card(app, "realworld:monsters/sphinx-griffon")
    assert (
        "### Legendary Actions\n\nThe sphinx griffon can take 3 legendary actions, choosing "
        "from the options below. Only one legendary action can be used at a time and only at "
        "the end of another creature's turn. The sphinx griffon regains spent legendary actions "
        "at the start of its turn.\n\n***Teleport (Costs 2 Actions).*** It blinks." in griffon
    )
    assert "Aurel can take 2 legendary actions" in card(
        app, "realworld:monsters/queen-aurel-the-bright"
    )
    assert (
        "*Legendary Action Uses:* 3 (4 in Lair). Immediately after another creature's turn, "
        "the storm drake can expend a use" in card(app, "realworld:monsters/storm-drake")
    )
    old = card(app, "realworld:monsters/old-one")
    assert "Its own words." in old and "can take" not in old


def test_a_2024_class_of_another_homebrews_spells(app: App, tmp_path: Path) -> None:
    """Drakkenheim: Eldritch Experiments' Apothecary (which depends on three other homebrews):
    its `optionalfeatureProgression` read `Optionalfeature progression: Esoteric Theory` (the
    character builder's data; the class table has the column), and its additional spells
    named `Apothecary (Dk:Ee'24)` for the filter `class=apothecary (dk:ee'24)`."""
    doc = {
        "class": [
            {"name": "Apothecary", "source": S, "hd": {"number": 1, "faces": 8},
             "optionalfeatureProgression": [{"name": "Esoteric Theory", "featureType": ["ET"],
                                             "progression": {"1": 1, "2": 3}}],
             "classTableGroups": [{"colLabels": ["{@filter Theories|optionalfeatures|"
                                                 "feature type=et}"], "rows": [[1], [3]]}],
             "additionalSpells": [{"prepared": {"6": {"daily": {"1e": [
                 {"choose": "level=1|class=druid;apothecary (dk:ee'24)", "count": 1}]}}}}]},
        ]
    }  # fmt: skip
    install(app, write(tmp_path, S, doc))
    text = card(app, "realworld:classes/apothecary")
    assert "| 1 | +2 | — | 1 |" in text and "progression" not in text.lower()
    assert "one 1st-level Druid or Apothecary spell of your choice" in text


def test_an_alignment_of_one_side_is_named_as_5etools_names_it(app: App, tmp_path: Path) -> None:
    """Foxfire94's Chaos Dragons are `["C", "G", "NY", "E"]`: the card read `chaotic good
    neutral evil`; 5etools' `Parser.alignmentListToFull` says `any chaotic alignment` (and
    `any non-evil`, `any lawful`, `any neutral alignment`…)."""
    base = {"source": S, "size": ["H"], "type": "dragon", "ac": [19],
            "hp": {"average": 243, "formula": "18d12 + 126"}, "speed": {"walk": 40},
            "str": 25, "dex": 10, "con": 25, "int": 18, "wis": 16, "cha": 20, "cr": "16",
    }  # fmt: skip
    lists = {
        "Chaos Dragon": (["C", "G", "NY", "E"], "any chaotic alignment"),
        "Law Dragon": (["L", "G", "NY", "E"], "any lawful alignment"),
        "Kind Dragon": (["L", "NX", "C", "G", "NY"], "any non-evil alignment"),
        "Grey Dragon": (["NX", "NY", "N"], "any neutral alignment"),
        "Odd Dragon": (["C", "E"], "chaotic evil"),
    }
    doc = {"monster": [{**base, "name": n, "alignment": a} for n, (a, _) in lists.items()]}
    install(app, write(tmp_path, S, doc))
    for name, (_, said) in lists.items():
        slug = name.lower().replace(" ", "-")
        assert f"*Huge dragon, {said}*" in card(app, f"realworld:monsters/{slug}")


def test_a_features_index_text_reads_its_references_by_name(app: App, tmp_path: Path) -> None:
    """Blood in the Company's Path of the Spore refers to its features by seven-part uids: its
    search snippet read `Spore Inhalation Barbarian PHB Spore BITCSubclasses 3` (the index
    text took the tags' `|` for table bars before reading the tags); now the name."""
    uid = "Spore Inhalation|Barbarian|PHB|Spore|Realworld|3|Realworld"
    feature = {"source": S, "className": "Barbarian", "classSource": "PHB",
               "subclassShortName": "Spore", "subclassSource": S, "level": 3}  # fmt: skip
    doc = {
        "subclassFeature": [
            {**feature, "name": "Path of the Spore", "entries": [
                "Inhale mushroom spores.", {"type": "refSubclassFeature", "subclassFeature": uid}]},
            {**feature, "name": "Spore Inhalation", "header": 2,
             "entries": ["Choose a spore when you {@classFeature Rage|Barbarian|PHB|1|PHB}."]},
        ]
    }  # fmt: skip
    install(app, write(tmp_path, S, doc))
    row = queries.entry_in_pack(
        app.conn, "realworld", "features", "barbarian-spore-path-of-the-spore-3"
    )
    assert row is not None
    text = app.render(row.entry(), "index")
    assert "Spore Inhalation" in text and "Choose a spore when you Rage." in text
    assert "PHB" not in text and "Realworld" not in text


def test_an_item_of_a_type_of_the_files_own(app: App, tmp_path: Path) -> None:
    """Beasts of the Jungle Rot sells dinosaur eggs and hides of its own item type (`"type":
    "Dino|DDHC-TOA-3"`, an `itemType` "Dinosaur Part" abbreviated `Dino`): their cards said
    what they cost and weigh but not what they are; 5etools names the type."""
    doc = {
        "itemType": [{"name": "Dinosaur Part", "abbreviation": "Dino", "source": S,
                      "entries": ["Sold in Port Nyanzaru."]}],
        "item": [
            {"name": "Allosaurus Egg", "source": S, "type": f"Dino|{S}", "rarity": "unknown",
             "weight": 5, "value": 12000, "entries": ["Clutches of {@dice 1d6} eggs."]},
            {"name": "Odd Egg", "source": S, "type": "Nope|Elsewhere", "rarity": "unknown",
             "value": 100},
        ],
    }  # fmt: skip
    install(app, write(tmp_path, S, doc))
    egg = card(app, "realworld:equipment/allosaurus-egg")
    assert egg.startswith("## Allosaurus Egg\n\n*Dinosaur part*\n") and "**Cost:** 120 gp" in egg
    assert "**Cost:** 1 gp" in card(app, "realworld:equipment/odd-egg")  # no such type: as before


def test_a_fluffs_images_are_on_the_card(app: App, tmp_path: Path) -> None:
    """Various Ciphers' Pigpen Cipher keeps its key as a fluff image: the card showed the
    cipher's words but not its key; 5etools shows the fluff's images with its text."""
    key = {"type": "image", "href": {"type": "external", "url": "https://example.com/key.png"}}
    doc = {
        "language": [
            {"name": "Pigpen Cipher", "source": S, "type": "secret",
             "entries": ["A geometric substitution cipher."], "fluff": {"images": [key]}},
        ]
    }  # fmt: skip
    install(app, write(tmp_path, S, doc))
    text = card(app, "realworld:languages/pigpen-cipher")
    assert text.index("A geometric substitution cipher.") < text.index(
        "![image](https://example.com/key.png)"
    )


def test_a_cards_value_and_suit_are_named_as_5etools_names_them(app: App, tmp_path: Path) -> None:
    """Wyrmwood's Corrupted Tarot gives each card a `suit`, a `value` and a `valueName`: the
    card listed `Suit: Cups`, `Value: 1`, `Value name: ace`; 5etools'
    `Renderer.card.getFullEntries` says them in words above the text (`Ace of Cups`) unless
    the card's name does."""
    doc = {
        "deck": [{"name": "Odd Tarot", "source": S, "cards": [], "entries": ["A deck."]}],
        "card": [
            {"name": "Ace of Cups", "source": S, "set": "Odd Tarot", "suit": "Cups",
             "value": 1, "valueName": "ace", "entries": ["Spill."]},
            {"name": "The Drowned Chalice", "source": S, "set": "Odd Tarot", "suit": "cups",
             "value": 3, "entries": ["Sink."]},
        ],
    }  # fmt: skip
    install(app, write(tmp_path, S, doc))
    ace = card(app, "realworld:cards/odd-tarot-ace-of-cups")
    assert (
        "Spill." in ace and "Value" not in ace and "Suit" not in ace and "*Ace of Cups*" not in ace
    )
    chalice = card(app, "realworld:cards/odd-tarot-the-drowned-chalice")
    assert "\n\n*Three of Cups*\n\nSink." in chalice
    assert "Value" not in chalice and "Suit" not in chalice


def test_a_line_break_in_a_tables_labels(app: App, tmp_path: Path) -> None:
    """Matthew Mercer's Corruption Rules breaks its column labels with HTML (`No Corruption<br>
    (0 Points)`): the card's table and the rule's search text kept `<br>`; editors' hovers
    show HTML as written and a Markdown table's cell holds one line, so the label reads with a
    space, and the index text never holds the tag. A paragraph's `<br>` (not a table's) stayed
    in the card as written: it is a Markdown line break, in a list's item and a quote too."""
    table = {"type": "table", "caption": "Corruption Tiers",
             "colLabels": ["Save DC", "No Corruption<br>(0 Points)", "Mild<BR/>(1-2 Points)"],
             "rows": [["10", "Untouched<br>by it", "Whispers"]]}  # fmt: skip
    doc = {
        "variantrule": [
            {"name": "Corruption", "source": S, "entries": [
                "Taint.<br>It spreads.", table, {"type": "list", "items": ["Once<BR/>twice<br>"]},
                {"type": "inset", "entries": ["Mark<br> ward"]}]}
        ],
        "class": [
            {"name": "Dealer", "source": S, "hd": {"number": 1, "faces": 8},
             "classTableGroups": [{"colLabels": ["Cards<br>Drawn"], "rows": [["1"]]}]},
        ],
    }  # fmt: skip
    install(app, write(tmp_path, S, doc))
    text = card(app, "realworld:variant-rules/corruption")
    assert "| Save DC | No Corruption (0 Points) | Mild (1-2 Points) |" in text
    assert "| 10 | Untouched by it | Whispers |" in text
    assert "<br" not in text.lower()
    assert "Taint.  \nIt spreads." in text  # a paragraph's: a Markdown line break
    assert "- Once  \n  twice\n" in text and "> Mark  \n> ward" in text
    assert "| Cards Drawn |" in card(app, "realworld:classes/dealer")
    row = queries.entry_in_pack(app.conn, "realworld", "variant-rules", "corruption")
    assert row is not None
    index = app.render(row.entry(), "index")
    assert "No Corruption" in index and "(0 Points)" in index and "It spreads." in index
    assert "<br" not in index.lower()  # a paragraph's too (`fields.plain`)


def test_a_races_age_is_read_as_its_text_says_it(app: App, tmp_path: Path) -> None:
    """Foxfire94's Chaos Dragonborn writes `"age": {"mature": 15, "max": 80}` beside an `Age`
    block of its text: the card listed `Age: Mature 15, Max 80` too. 5etools' page shows the
    text (`age` is its Adult Age filter's); a race whose text says nothing of age gets it in
    words."""
    doc = {
        "race": [
            {"name": "Wyrmkin", "source": S, "size": ["M"], "speed": 30,
             "age": {"mature": 15, "max": 80},
             "entries": [{"type": "entries", "name": "Age",
                          "entries": ["Wyrmkin grow quickly and live to be around 80."]}]},
            {"name": "Mothfolk", "source": S, "size": ["S"], "speed": 25,
             "age": {"mature": 3, "max": 40}, "entries": ["Short-lived."]},
        ]
    }  # fmt: skip
    install(app, write(tmp_path, S, doc))
    wyrmkin = card(app, "realworld:races/wyrmkin")
    assert "live to be around 80." in wyrmkin and "Mature" not in wyrmkin
    assert "**Age:**" not in wyrmkin
    mothfolk = card(app, "realworld:races/mothfolk")
    assert "**Age:** Matures at 3, lives to about 40 years" in mothfolk


def test_a_dependency_is_named_against_the_source_that_needs_it(app: App, tmp_path: Path) -> None:
    """Drakkenheim: Eldritch Experiments has two sources (2014 and 2024), its one class of the
    2024 one, and depends on three other homebrews: each missing one was reported against the
    2014 pack, which installs nothing (`pack eldritch14 depends on …`); now against the pack
    whose entries need it."""
    path = tmp_path / "Someone; Eldritch.json"
    doc = {
        "_meta": {
            "sources": [{"json": "Eldritch14", "full": "Eldritch (2014)", "version": "1"},
                        {"json": "Eldritch24", "full": "Eldritch (2024)", "version": "1"}],
            "dependencies": {"spell": ["SpellsElsewhere"]},
        },
        "class": [{"name": "Brewer", "source": "Eldritch24", "hd": {"number": 1, "faces": 8}}],
    }  # fmt: skip
    path.write_text(json.dumps(doc), "utf-8")
    result = install(app, path)
    warned = [w.message for r in (result, *result.also) for w in r.warnings]
    needs = "depends on spellselsewhere, which is not installed"
    assert f"pack eldritch24 {needs}" in warned, warned
    assert not any(m.startswith("pack eldritch14 depends") for m in warned), warned


def test_a_class_tags_subclass_in_other_words_is_offered(app: App, tmp_path: Path) -> None:
    """The Lost Lands write `{@class cleric|phb|Life|Life Domain}` where the SRD's subclass is
    `Life`: `d5e check` said `unknown subclass 'Life Domain' … (of class cleric)` with nothing
    to offer (`Life` is too far a spelling); now the class's subclass named with fewer words,
    or more (`Spades` for the file's `House of Spades`), is the quick fix."""
    doc = {
        "class": [{"name": "Dealer", "source": S, "hd": {"number": 1, "faces": 8}}],
        "subclass": [{"name": "House of Spades", "shortName": "House of Spades", "source": S,
                      "className": "Dealer", "classSource": S}],
    }  # fmt: skip
    install(app, write(tmp_path, S, doc))
    resolver = Resolver(app)
    (life,) = tags_in_line(0, "{@class cleric|phb|Life|Life Domain}")
    found = resolver.resolve(life)
    assert found.row is None and found.message == (
        "unknown subclass 'Life Domain' in pack srd-2014 (of class cleric); "
        'did you mean "{@class cleric|phb|Life|Life}"?'
    )
    assert [f.text for f in found.fixes] == ["{@class cleric|phb|Life|Life}"]
    (spades,) = tags_in_line(0, f"{{@class Dealer|{S}||Spades}}")
    found = resolver.resolve(spades)
    assert [f.text for f in found.fixes] == [f"{{@class Dealer|{S}||House of Spades}}"]
