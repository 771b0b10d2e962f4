"""`{@tags}` in a card: text as 5etools shows it, and links for references."""

from __future__ import annotations

import re

from d5e_daemon import tagtext
from d5e_daemon.tagsyntax import FORMAT_TAGS, TAG_COLLECTIONS


def link(kind: str, name: str, source: str | None, quals: object = None) -> str | None:
    known = {("spell", "fireball"): "d5e://srd-2014/spells/fireball.md"}
    return known.get((kind, name.lower()))


def test_rolls_and_attack_labels_read_as_5etools_prints_them() -> None:
    cases = {
        "{@damage 2d6}": "2d6",
        "{@dice 1d20+3|a d20}": "a d20",
        # the third part names the roll (Badooga's Psion's starting gold): the display is shown
        "{@dice 5d4×10|5d4 × 10|Starting Gold}": "5d4 × 10",
        "{@damage 2d6||Fire}": "2d6",
        "{@hit 5}": "+5",
        "{@hit -1}": "-1",
        "{@dc 15}": "DC 15",
        "{@atk mw}": "*Melee Weapon Attack:*",
        # 5etools says a letter of the last group there only (`Renderer.attackTagToFull`)
        "{@atk rs,ms}": "*Ranged or Melee Spell Attack:*",
        "{@atkr m}": "*Melee Attack Roll:*",
        "{@h}": "*Hit:* ",
        "{@recharge 5}": "(Recharge 5–6)",
        "{@recharge}": "(Recharge 6)",
        "{@actSave wis}": "*Wisdom Saving Throw:*",
        "{@chance 25}": "25 percent",
        "{@scaledamage 3d8|2-9|1d8}": "1d8",
        "{@b bold} and {@i it}": "**bold** and *it*",
        "{@book the rules|PHB|1}": "the rules",
        "{@filter fire spells|spells|level=3}": "fire spells",
        "{@link d5e|https://example.org}": "[d5e](https://example.org)",
        # a footnote's note, which 5etools shows on hover, was lost (KibblesTasty's Doggo)
        "{@footnote Doggo|Any good dog.|Note}": "Doggo (Any good dog.)",
        "{@footnote plain}": "plain",
        # a quick reference's display text is its fifth part (Path of the Honey Badger: "use
        # the creature as {@quickref Cover|PHB|3|0|half cover}" read "as Cover")
        "{@quickref Cover|PHB|3|0|half cover}": "half cover",
        "{@quickref difficult terrain||3}": "difficult terrain",
    }
    for written, shown in cases.items():
        assert tagtext.render(written) == shown, written


def test_references_are_links_when_found_and_their_text_otherwise() -> None:
    text = "Cast {@spell Fireball|PHB|a fireball} at {@creature goblin|srd-2014|the goblins}."
    assert tagtext.render(text, link) == (
        "Cast [a fireball](d5e://srd-2014/spells/fireball.md) at the goblins."
    )
    feature = "{@classFeature Rage|Barbarian||1|PHB|raging}"
    assert tagtext.render(feature, link) == "raging"


def test_nested_tags_and_broken_ones() -> None:
    assert tagtext.render("{@b {@spell fireball}}", link) == (
        "**[fireball](d5e://srd-2014/spells/fireball.md)**"
    )
    assert tagtext.render("an {@spell unclosed", link) == "an {@spell unclosed"
    assert tagtext.plain("{@b {@damage 1d6}} fire") == "1d6 fire"


def test_a_feature_tag_without_its_own_source_takes_its_class_source() -> None:
    assert (
        tagtext.source_part(
            "subclassfeature", ["Gravity", "Barbarian", "", "Meteor", "Meteors", "3"]
        )
        == "Meteors"
    )
    assert tagtext.source_part("classfeature", ["Rage", "Barbarian", "PHB", "1"]) == "PHB"
    assert tagtext.source_part("classfeature", ["Rage", "Barbarian", "PHB", "1", "XPHB"]) == "XPHB"


def test_emphasis_with_spaces_inside_the_tag() -> None:
    """5 High Level Villains writes `{@b Backstory }` and `{@b Goals} `: the card read
    `**Backstory **`, which Markdown shows as asterisks, not bold; the spaces go outside."""
    assert tagtext.render("{@b Backstory }") == "**Backstory** "
    assert tagtext.render("a {@i quiet } word") == "a *quiet*  word"
    assert tagtext.render("{@strike gone }.") == "~~gone~~ ."
    assert tagtext.render("x{@b }y") == "xy"  # nothing to stress


# Every tag of 5etools' renderer (`Renderer.tag.TAGS` of its js/render.js, 2026: 112 tags), as
# its page shows it: each written as its files write it → what the card shows. References are
# links when the entry is found (`every_link`), their display text otherwise.
EVERY_TAG = {
    # text styles: Markdown where it has them, the text where it has none
    "{@b bold}": "**bold**",
    "{@bold bold}": "**bold**",
    "{@i it}": "*it*",
    "{@italic it}": "*it*",
    "{@s gone}": "~~gone~~",
    "{@strike gone}": "~~gone~~",
    "{@s2 gone}": "~~gone~~",
    "{@strikeDouble gone}": "~~gone~~",
    "{@u under}": "under",
    "{@underline under}": "under",
    "{@u2 under}": "under",
    "{@underlineDouble under}": "under",
    "{@sup st}": "st",
    "{@sub 2}": "2",
    "{@kbd Ctrl}": "Ctrl",
    "{@code x = 1}": "`x = 1`",
    "{@style small words|small-caps}": "small words",
    "{@font Dwarvish runes|Davek}": "Dwarvish runes",
    "{@comic POW}": "POW",
    "{@comicH1 POW}": "POW",
    "{@comicH2 POW}": "POW",
    "{@comicH3 POW}": "POW",
    "{@comicH4 POW}": "POW",
    "{@comicNote pow}": "pow",
    "{@note an aside}": "*an aside*",  # 5etools' muted italics (was plain)
    "{@tip hover me|the tip}": "hover me",
    "{@color red words|ff0000}": "red words",
    "{@highlight marked|yellow}": "marked",
    "{@help word|what it means}": "word",
    # a unit's word for its amount (was the amount: `{@unit 2|tin|tins}` read "2")
    "{@unit 2|tin|tins}": "tins",
    "{@unit 1|tin|tins}": "tin",
    "{@unit 3|box}": "boxes",
    # 2024 stat blocks' labels
    "{@actSave wis}": "*Wisdom Saving Throw:*",
    "{@actSaveSuccess}": "*Success:*",
    "{@actSaveFail}": "*Failure:*",
    "{@actSaveFail 2}": "*Second Failure:*",  # was *Failure:*
    "{@actSaveFailBy 5}": "*Failure by 5 or More:*",
    "{@actSaveSuccessOrFail}": "*Failure or Success:*",  # was *Success or Failure:*
    "{@actTrigger}": "*Trigger:*",
    "{@actResponse}": "*Response:*",
    "{@actResponse d}": "*Response—*",  # was *Response:*
    "{@h}": "*Hit:* ",
    "{@m}": "*Miss:* ",
    "{@hom}": "*Hit or Miss:* ",
    "{@atk mw}": "*Melee Weapon Attack:*",
    "{@atk mw,rw}": "*Melee or Ranged Weapon Attack:*",  # was Melee Weapon or Ranged Weapon
    "{@atkr m,r}": "*Melee or Ranged Attack Roll:*",
    "{@hitYourSpellAttack}": "your spell attack modifier",
    "{@dc 15}": "DC 15",
    "{@dcYourSpellSave}": "your spell save DC",
    # rolls
    "{@chance 25}": "25 percent",
    "{@d20 -2}": "-2",
    "{@damage 2d6}": "2d6",
    "{@damage 1d8 + summonSpellLevel}": "1d8 + the spell's level",  # was summonSpellLevel
    "{@dice 1d6;2d6}": "1d6/2d6",  # was 1d6;2d6
    "{@autodice 1d4}": "1d4",
    "{@hit 5}": "+5",
    "{@hit 5|five}": "five",  # a display text (was +5)
    "{@initiative 3}": "+3",
    "{@recharge 5}": "(Recharge 5–6)",
    "{@recharge 5|m}": "Recharge 5–6",  # `m`: no brackets
    "{@ability str 20}": "20\u00a0(+5)",  # was Str 20
    "{@savingThrow dex 5}": "+5",  # was Dex 5
    "{@savingThrow str + PB}": "+ PB",
    "{@skillCheck animal_handling 5}": "+5",  # was Animal Handling 5
    "{@scaledice 2d6|3-9|1d6}": "1d6",
    "{@scaledamage 2d6|3-9|1d6|psi|one more die}": "one more die",
    "{@coinflip}": "flip a coin",  # was nothing at all
    # links to pages of 5etools' site: their text
    "{@5etools the bestiary|bestiary.html}": "the bestiary",
    "{@5etoolsImg the map|adventure/map.webp}": "the map",
    "{@adventure the mines|LMoP|1}": "the mines",
    "{@book the rules|PHB|1}": "the rules",
    "{@filter fire spells|spells|level=3}": "fire spells",
    "{@footnote Doggo|Any good dog.}": "Doggo (Any good dog.)",
    "{@link d5e|https://example.org}": "[d5e](https://example.org)",
    "{@link the shop|www.example.org/shop}": "[the shop](http://www.example.org/shop)",
    "{@loader Some Brew|collection/Some Brew.json}": "Some Brew",
    "{@quickref Cover|PHB|3|0|half cover}": "half cover",
    "{@area 3|a1b2}": "area 3",  # was 3
    "{@area 3|a1b2|u}": "Area 3",
    "{@area B|a1b2|x}": "B",
    "{@homebrew new words|old words}": (
        'new words [this is a homebrew addition, replacing the following: "old words"]'
    ),  # was "new words", the old lost
    "{@homebrew |old words}": "[the following text has been removed due to homebrew: old words]",
    # references
    "{@action Dash}": "[Dash](d5e://x/action.md)",
    "{@background Sage|PHB|the sage}": "[the sage](d5e://x/background.md)",
    "{@boon Boon of Luck}": "[Boon of Luck](d5e://x/boon.md)",
    "{@charoption Dark Gift}": "[Dark Gift](d5e://x/charoption.md)",
    "{@class Fighter}": "[Fighter](d5e://x/class.md)",
    "{@condition grappled}": "[grappled](d5e://x/condition.md)",
    "{@creature goblin||goblins}": "[goblins](d5e://x/creature.md)",
    "{@creatureFluff goblin}": "[goblin](d5e://x/creaturefluff.md)",
    "{@cult Cult of the Dragon}": "[Cult of the Dragon](d5e://x/cult.md)",
    "{@deck Deck of Many Things}": "[Deck of Many Things](d5e://x/deck.md)",
    "{@disease cackle fever}": "[cackle fever](d5e://x/disease.md)",
    "{@facility Library|XDMG}": "[Library](d5e://x/facility.md)",
    "{@feat Alert}": "[Alert](d5e://x/feat.md)",
    "{@hazard brown mold}": "[brown mold](d5e://x/hazard.md)",
    "{@item longsword}": "[longsword](d5e://x/item.md)",
    "{@itemProperty T|XPHB}": "[Thrown](d5e://x/itemproperty.md)",
    "{@itemMastery Vex|XPHB}": "[Vex](d5e://x/itemmastery.md)",
    "{@language Common}": "[Common](d5e://x/language.md)",
    "{@legroup Red Dragon}": "[Red Dragon](d5e://x/legroup.md)",
    "{@object Cannon}": "[Cannon](d5e://x/object.md)",
    "{@optfeature Agonizing Blast}": "[Agonizing Blast](d5e://x/optfeature.md)",
    "{@psionic Mastery of Fire}": "[Mastery of Fire](d5e://x/psionic.md)",
    "{@race Elf}": "[Elf](d5e://x/race.md)",
    "{@raceFluff Elf}": "[Elf](d5e://x/racefluff.md)",
    "{@recipe Honey Cake}": "[Honey Cake](d5e://x/recipe.md)",
    "{@reward Blessing of Health}": "[Blessing of Health](d5e://x/reward.md)",
    "{@vehicle Galley}": "[Galley](d5e://x/vehicle.md)",
    "{@vehupgrade Armored Hull}": "[Armored Hull](d5e://x/vehupgrade.md)",
    "{@sense darkvision}": "[darkvision](d5e://x/sense.md)",
    "{@skill Stealth}": "[Stealth](d5e://x/skill.md)",
    "{@spell fireball|PHB|a fireball}": "[a fireball](d5e://x/spell.md)",
    "{@status concentration}": "[concentration](d5e://x/status.md)",
    "{@table Trinkets}": "[Trinkets](d5e://x/table.md)",
    "{@trap Pit}": "[Pit](d5e://x/trap.md)",
    "{@variantrule Falling|XPHB}": "[Falling](d5e://x/variantrule.md)",
    "{@cite Lore|MyBrew|*}": "[\\*](d5e://x/cite.md)",
    "{@card The Fool|Tarot Deck|MyBrew|the fool}": "[the fool](d5e://x/card.md)",
    "{@deity Ra|Egyptian|PHB|the sun}": "[the sun](d5e://x/deity.md)",
    "{@subclass Champion|Fighter|PHB|PHB|the champion}": "[the champion](d5e://x/subclass.md)",
    "{@classFeature Rage|Barbarian||1||raging}": "[raging](d5e://x/classfeature.md)",
    "{@subclassFeature Frenzy|Barbarian||Berserker||3||frenzy}": (
        "[frenzy](d5e://x/subclassfeature.md)"
    ),
}


def every_link(kind: str, name: str, source: str | None, quals: object = None) -> str:
    return f"d5e://x/{kind}.md"


def test_every_tag_of_5etools_reads_as_its_page_shows_it() -> None:
    """Each of the 111 `{@…}` tags of 5etools' renderer: none left raw, each as 5etools'
    page shows it (the ones marked `was` read otherwise before)."""
    tags = {re.match(r"\{@(\w+)", written)[1] for written in EVERY_TAG}  # type: ignore[index]
    assert len(tags) == 111, len(tags)  # and `{#itemEntry}`, below
    for written, shown in EVERY_TAG.items():
        assert tagtext.render(written, every_link) == shown, written
    # and documents know each: a format tag, or one naming a collection's entry
    known = FORMAT_TAGS | set(TAG_COLLECTIONS)
    assert not {tag.lower() for tag in tags} - known
    # `{#itemEntry}` is 5etools' one tag of another kind: an item's text (see the loader)
