"""Shapes found in real homebrew files nobody here wrote (twentieth session: files of
TheGiddyLimit/homebrew not tried before — MonkeyDM's Poison Rework 3.0, …), each in a small
file of our own."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from fivetools_files import card, install, write

from d5e_daemon.app import App
from d5e_daemon.features.lookup import lookup
from d5e_daemon.features.packs import validate
from d5e_daemon.protocol import LookupParams, ValidateParams

S = "Realworld"


def test_a_poisons_kinds_are_on_its_type_line(app: App, tmp_path: Path) -> None:
    """MonkeyDM's Poison Rework 3.0 writes its poisons as `"type": "G|XPHB", "poison": true,
    "poisonTypes": ["ingested"]`: 5etools' type line says `Adventuring Gear, poison
    (ingested)`; the card said `Adventuring gear` and listed `Poison: yes`, `Poison types:
    ingested` at its end. A magic poison's line keeps its rarity after them."""
    doc = {"item": [
        {"name": "Bitter Dram", "source": S, "type": "G", "rarity": "none", "poison": True,
         "poisonTypes": ["ingested"], "entries": ["Tastes of almonds."]},
        {"name": "Grey Cloud", "source": S, "type": "G", "rarity": "none", "poison": True,
         "poisonTypes": ["contact", "inhaled", "injury"], "entries": ["A grey puff."]},
        {"name": "Wyrm Gall", "source": S, "type": "G", "rarity": "rare", "poison": True,
         "entries": ["Drawn from a wyrm."]},
    ]}  # fmt: skip
    install(app, write(tmp_path, S, doc))
    text = card(app, "realworld:equipment/bitter-dram")
    assert "*Adventuring gear, poison (ingested)*" in text
    assert "Poison: yes" not in text.replace("*", "") and "Poison types" not in text
    text = card(app, "realworld:equipment/grey-cloud")
    assert "*Adventuring gear, poison (contact, inhaled or injury)*" in text
    assert "*Adventuring gear, poison, rare*" in card(app, "realworld:magic-items/wyrm-gall")


def test_cantrips_a_background_adds_and_a_choice_of_any_tool(app: App, tmp_path: Path) -> None:
    """DMsGuild's The Great Dale adds spells by spell level, `"expanded": {"s0": […], "s1":
    […]}`: its cantrips were `Added to your spell list (0th-level spells)`. The Adventurers
    League's Curse of Strahd options choose `{"from": ["anyArtisansTool", "gaming set"]}`:
    that read `one of artisan's tool or Gaming Set`, as if one tool were named."""
    doc = {"background": [
        {"name": "Ash Touched", "source": S, "entries": ["Marked by ash."],
         "additionalSpells": [{"expanded": {"s0": ["light"], "s2": ["darkness"]}}],
         "toolProficiencies": [{"thieves' tools": True,
                                "choose": {"from": ["anyArtisansTool", "gaming set"]}}]},
    ]}  # fmt: skip
    install(app, write(tmp_path, S, doc))
    text = card(app, "realworld:backgrounds/ash-touched")
    assert "Added to your spell list (cantrips): [light](" in text
    assert "Added to your spell list (2nd-level spells): [darkness](" in text
    assert "0th" not in text
    assert "**Tool proficiencies:** Thieves' Tools, one of any artisan's tool or Gaming Set" in text


def test_a_challenge_no_number_says_stands_in_its_place(app: App, tmp_path: Path) -> None:
    """Conflux's Skeletons gives its minion Decrepit Skeleton `"cr": "M1"`: the card said
    `Challenge: M1` at its very end, after the actions and the creature's story; a stat block
    (5etools', the SRD's) has it under the languages."""
    doc = {"monster": [
        {"name": "Dust Minion", "source": S, "size": ["M"], "type": "undead", "ac": [12],
         "hp": {"average": 1, "formula": "1"}, "speed": {"walk": 30}, "str": 10, "dex": 12,
         "con": 10, "int": 6, "wis": 8, "cha": 5, "languages": ["none"], "cr": "M1",
         "trait": [{"name": "Brittle", "entries": ["It breaks."]}],
         "fluff": {"entries": ["Dust remembers."]}},
    ]}  # fmt: skip
    install(app, write(tmp_path, S, doc))
    text = card(app, "realworld:monsters/dust-minion")
    assert "**Languages:** none  \n**Challenge:** M1\n" in text
    assert text.count("Challenge") == 1
    assert text.index("Challenge") < text.index("***Brittle.***") < text.index("Dust remembers.")


def test_a_subrace_is_found_by_the_names_people_give_it(app: App, tmp_path: Path) -> None:
    """SabotageThis' Ash Elves writes an Elf with `"subraces": [{"name": "Ash", …}]`: the
    subrace's entry is named `Ash`, and a lookup of `Ash Elf`, or of 5etools' `Elf (Ash)`,
    said `no entry named 'Ash Elf'` with nothing to offer. Both now find it; a subrace whose
    name already says its race (`Deep Gnome` of `Gnome`) gets no such names."""
    doc = {"race": [
        {"name": "Cinder Folk", "source": S, "size": "M", "speed": 30, "entries": ["Warm."],
         "subraces": [{"name": "Ash", "ability": [{"con": 1}], "entries": ["Grey."]},
                      {"name": "Cinder Folk of the Deep", "entries": ["Deep."]}]},
    ]}  # fmt: skip
    install(app, write(tmp_path, S, doc))
    for name in ("Ash Cinder Folk", "Cinder Folk (Ash)", "Ash"):
        found = lookup(app, LookupParams(name=name))
        assert found.entry.ref == "subraces/ash-cinder-folk", name
        assert "Grey." in found.markdown
    deep = card(app, "realworld:subraces/cinder-folk-of-the-deep-cinder-folk")
    assert "Also called" not in deep


def test_a_creatures_gear_stands_with_its_senses(app: App, tmp_path: Path) -> None:
    """Michael J Winegar's Inns and Taverns by Lifestyle gives its Professional Bounty Hunter
    `"attachedItems": ["heavy crossbow|phb", "longsword|phb"]`: the card's Gear line came at
    its very end, after the actions and the creature's story; 5etools' stat block has it among
    the other lines, before the senses (`gear` likewise)."""
    doc = {"monster": [
        {"name": "Ledger Hound", "source": S, "size": ["M"], "type": "humanoid", "ac": [12],
         "hp": {"average": 9, "formula": "2d8"}, "speed": {"walk": 30}, "str": 10, "dex": 12,
         "con": 10, "int": 10, "wis": 10, "cha": 10, "passive": 10, "languages": ["Common"],
         "cr": "1", "attachedItems": ["longsword|phb"],
         "action": [{"name": "Bite", "entries": ["It bites."]}],
         "fluff": {"entries": ["It keeps accounts."]}},
    ]}  # fmt: skip
    install(app, write(tmp_path, S, doc))
    text = card(app, "realworld:monsters/ledger-hound")
    longsword = "[longsword](d5e://srd-2014/equipment/longsword.md)"
    assert f"**Gear:** {longsword}  \n**Senses:** passive Perception 10" in text
    assert text.count("**Gear:**") == 1
    assert text.index("**Gear:**") < text.index("***Bite.***") < text.index("It keeps accounts.")


def test_an_empty_object_is_left_out_with_a_warning(app: App, tmp_path: Path) -> None:
    """Modnar's 5e Tools and Services (a file of 16 sources, 550 KB) holds `"variantrule":
    [{}]`, a placeholder: the whole file was refused (`variantrule[0]: each `variantrule`
    entry must be an object with a `name``), nothing installed. An empty object holds nothing
    to install: it is left out, a located warning says so; an object with content and no name
    is still an error."""
    doc = {"variantrule": [{}], "condition": [{"name": "Soaked", "source": S, "entries": ["Wet."]}]}
    path = write(tmp_path, S, doc)
    report = asyncio.run(validate(app, ValidateParams(path=str(path))))
    assert [(p.severity, p.field, p.message) for p in report.problems] == [
        ("warning", "variantrule[0]", "an empty object: left out")
    ]
    assert install(app, path).entries == 1
    assert "Wet." in card(app, "realworld:conditions/soaked")
    doc["variantrule"] = [{"entries": ["A rule with no name."]}]
    path.write_text(json.dumps({"_meta": {"sources": [{"json": S}]}, **doc}), "utf-8")
    report = asyncio.run(validate(app, ValidateParams(path=str(path))))
    assert [(p.severity, p.field) for p in report.problems] == [("error", "variantrule[0]")]


def test_a_range_of_no_5etools_type_reads_its_area(app: App, tmp_path: Path) -> None:
    """Carreau's Warlock's Exclusive Spells gives Power Word: Blind `"range": {"type": "self",
    "distance": {"type": "feet", "amount": 60}, "area": {"type": "radius", "amount": 60}}`,
    no range type of 5etools': the card said `Self (60-foot self)`. Its area is read (`Self
    (60-foot radius)`); a type naming nothing is its distance (`30 feet`)."""
    spell = {
        "source": S,
        "level": 1,
        "school": "N",
        "time": [{"number": 1, "unit": "action"}],
        "components": {"v": True},
        "duration": [{"type": "instant"}],
        "entries": ["Dim."],
    }
    doc = {"spell": [
        {**spell, "name": "Dimming Word", "range": {"type": "self", "distance": {
            "type": "feet", "amount": 60}, "area": {"type": "radius", "amount": 60}}},
        {**spell, "name": "Odd Reach", "range": {"type": "reach", "distance": {
            "type": "feet", "amount": 30}}},
    ]}  # fmt: skip
    install(app, write(tmp_path, S, doc))
    assert "**Range:** Self (60-foot radius)" in card(app, "realworld:spells/dimming-word")
    assert "**Range:** 30 feet" in card(app, "realworld:spells/odd-reach")


def test_a_list_among_a_lists_items_is_nested(app: App, tmp_path: Path) -> None:
    """Paragon_Of_Honor_369's Font of Life writes a list as an item of a list (the rolls under
    `Every time you cast a healing spell, roll a {@dice d10}.`): the card drew `- - If you
    roll a 10, …`, a bullet inside a bullet's line, the other rolls under it; 5etools nests it
    under the item before it (a numbered list's too)."""
    inner = {"type": "list", "items": ["On a 10, keep the slot.", "Otherwise, spend it."]}
    doc = {"feat": [
        {"name": "Spring Step", "source": S, "entries": [
            {"type": "list", "items": ["Roll a {@dice d10}.", inner, "Then rest."]},
            {"type": "list", "style": "list-decimal", "items": ["First.", inner]}]},
    ]}  # fmt: skip
    install(app, write(tmp_path, S, doc))
    text = card(app, "realworld:feats/spring-step")
    assert (
        "- Roll a d10.\n  - On a 10, keep the slot.\n  - Otherwise, spend it.\n- Then rest." in text
    )
    assert "1. First.\n   - On a 10, keep the slot.\n   - Otherwise, spend it." in text
    assert "- - " not in text
