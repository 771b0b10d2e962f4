"""`{@tags}` in a card: text as 5etools shows it, and links for references."""

from __future__ import annotations

from d5e_daemon import tagtext


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
        "{@atk rs,ms}": "*Ranged Spell or Melee Spell Attack:*",
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
