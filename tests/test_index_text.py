"""The built-in `render_text(entry, "index")`: what an entry is searched by."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path

from d5e_daemon import Entry, queries
from d5e_daemon.app import App
from d5e_daemon.features.lookup import lookup
from d5e_daemon.features.search import search
from d5e_daemon.protocol import LookupParams, SearchParams

from .packtools import write_pack


def index_text(app: App, pack: str, collection: str, slug: str) -> list[str]:
    row = queries.entry_in_pack(app.conn, pack, collection, slug)
    assert row is not None
    return app.render(row.entry(), "index").splitlines()


def test_spells_lead_with_what_they_are_and_do_then_the_facts(app: App) -> None:
    lines = index_text(app, "srd-2014", "spells", "fireball")
    assert lines[0] == "Fireball: 3rd-level evocation spell of Sorcerer, Wizard"
    # what it is for, in the SRD pack's lore (a table's words), then the facts, then its text
    assert lines[1] == ("A huge explosion of fire that hits a whole group; the classic area blast.")
    assert lines[2].startswith("8d6 fire damage. Dexterity saving throw for half damage.")
    assert lines[3] == "It fills a 20-foot sphere."  # what it does, read from its record
    assert lines[4].startswith("A bright streak flashes")
    assert lines[5].startswith("The fire spreads around corners.")
    cantrip = index_text(app, "srd-2014", "spells", "vicious-mockery")
    assert cantrip[0] == "Vicious Mockery: Enchantment cantrip of Bard"


def test_spells_say_what_they_do_to_whom(app: App) -> None:
    """A line read from the spell's record: the conditions it inflicts, the creatures its text
    names (not those it spares), healing and area; "talk to the squirrel" meets "beasts"."""

    def said(slug: str) -> str:
        return index_text(app, "srd-2014", "spells", slug)[3]

    assert said("hold-person") == "It can paralyze humanoids."
    assert said("animal-friendship") == "It can charm beasts."
    assert said("speak-with-animals") == "It affects beasts."
    assert said("sleep") == "It can knock unconscious creatures. It fills a 20-foot sphere."
    # "This spell has no effect on undead or constructs": they are not whom it affects
    assert said("cure-wounds") == "It heals hit points."


def test_monsters_lead_with_cr_and_type_then_traits_and_actions(app: App) -> None:
    lines = index_text(app, "srd-2014", "monsters", "ghoul")
    assert lines[0] == "Ghoul: CR 1 medium undead"
    assert "cannot be poisoned, charmed, exhaustion" in lines[2]
    assert any(line.startswith("Claws: ") and "paralyzed" in line for line in lines)
    text = "\n".join(lines)
    assert "5d8" not in text and "passive" not in text  # stat-block numbers stay out


def test_monsters_say_what_they_are_and_do_in_plain_words(app: App) -> None:
    """The line after the header: kind, movement, attacks and what they do to a target, from
    the stat block ("undead whose claws paralyze", "a celestial that flies")."""
    ghoul = index_text(app, "srd-2014", "monsters", "ghoul")
    assert ghoul[1] == (
        "Ghoul is a medium undead. An undead eater of corpses that haunts graveyards; its claws"
        " paralyze living creatures. It attacks with its bite, claws. Its claws can paralyze."
    )
    pegasus = index_text(app, "srd-2014", "monsters", "pegasus")
    assert pegasus[1] == (
        "Pegasus is a large celestial that flies. A winged horse, a white flying steed of good"
        " heroes. It attacks with its hooves."
    )
    medusa = index_text(app, "srd-2014", "monsters", "medusa")[1]
    assert "its petrifying gaze can turn to stone" in medusa.lower()
    worm = index_text(app, "srd-2014", "monsters", "purple-worm")[1]
    assert "that burrows" in worm and "swallow whole" in worm
    wight = index_text(app, "srd-2014", "monsters", "wight")[1]
    assert "its life drain can drain life" in wight.lower()


def test_srd_monsters_say_what_they_look_like(app: App) -> None:
    """The SRD's stat blocks never describe a creature; the SRD pack's lore table does, in
    this project's words, after the kind: a dragon's colour says where it lairs."""
    mimic = index_text(app, "srd-2014", "monsters", "mimic")[1]
    assert "disguises itself as an object such as a treasure chest" in mimic
    for slug in ("red-dragon-wyrmling", "young-red-dragon", "ancient-red-dragon"):
        assert "lairs in volcanoes" in index_text(app, "srd-2014", "monsters", slug)[1]
    # the lore is searched, not shown: a lookup's card has only the SRD's own text
    card = lookup(app, LookupParams(ref="monsters/mimic", pack="srd-2014")).markdown
    assert "Adhesive" in card and "treasure chest" not in card


def test_srd_magic_items_say_what_they_are_for(app: App) -> None:
    """A magic item's use in plain words (the SRD pack's lore table) comes before the SRD's
    rules text; a lookup's card does not show it."""
    lines = index_text(app, "srd-2014", "magic-items", "immovable-rod")
    assert lines[0].startswith("Immovable Rod: magic item")
    assert lines[1].startswith("An iron rod that stays fixed in the air")
    card = lookup(app, LookupParams(ref="magic-items/immovable-rod", pack="srd-2014")).markdown
    assert "stays fixed in the air" not in card
    # variants have none of their own: found by their names
    assert "Magic armor that gives" in index_text(app, "srd-2014", "magic-items", "armor")[1]
    assert "Magic armor that gives" not in "\n".join(
        index_text(app, "srd-2014", "magic-items", "armor-1")
    )


def test_a_packs_own_lore_leads_its_monster(app: App) -> None:
    entry = Entry(
        collection="monsters",
        slug="glimmerwing",
        name="Glimmerwing",
        data={"size": "Tiny", "type": "fey", "lore": "  A moth of living\nmoonlight. "},
    )
    assert app.render(entry, "index").splitlines()[1] == (
        "Glimmerwing is a tiny fey. A moth of living moonlight."
    )


def test_a_packs_lore_leads_any_entry_and_its_words_find_it(
    attributed: App, tmp_path: Path
) -> None:
    """`lore` in a homebrew record: searched (first, as what the entry is), not shown."""
    app = attributed  # the SRD's filter attributes made (its first search made them: ~1 s)
    item = Entry(
        collection="magic-items",
        slug="lantern-of-ghosts",
        name="Lantern of Ghosts",
        data={"desc": "A lantern.", "lore": "Shows the dead walking nearby."},
    )
    assert app.render(item, "index").splitlines()[1] == "Shows the dead walking nearby."
    pack = write_pack(
        tmp_path / "brew",
        {
            "magic-items/lantern.md": "---\nname: Lantern of Ghosts\n"
            "lore: Shows the dead walking nearby, a spirit seer's light.\n---\nA lantern.\n"
        },
    )
    app.db.write(partial(app.library.install_path, path=pack))
    hits = search(app, SearchParams(query="spirit seer", mode="keyword")).hits
    assert hits and hits[0].ref == "magic-items/lantern-of-ghosts"
    card = lookup(app, LookupParams(ref="magic-items/lantern-of-ghosts")).markdown
    assert "A lantern." in card and "spirit seer" not in card


def test_lore_leads_a_collection_no_renderer_knows_and_stays_off_its_card(app: App) -> None:
    """A pack's own collection (or the SRD's skills, weapon properties, subclasses) gets the
    generic renderer: its lore comes right after the header, and its card does not show it."""
    entry = Entry(
        collection="vehicles",
        slug="sky-barge",
        name="Sky Barge",
        data={"desc": "Speed 60 ft.", "crew": 4, "lore": " A flying\nship of the cloud giants. "},
    )
    lines = app.render(entry, "index").splitlines()
    assert lines[:2] == ["Sky Barge: vehicle", "A flying ship of the cloud giants."]
    assert lines.count("A flying ship of the cloud giants.") == 1
    assert "Speed 60 ft." in lines and "4" in lines
    card = app.render(entry, "markdown")
    assert "Speed 60 ft." in card and "Crew" in card and "cloud giants" not in card
    skill = index_text(app, "srd-2014", "skills", "athletics")
    assert skill[0] == "Athletics: skill" and "climbing, jumping and swimming" in skill[1]
    reach = lookup(app, LookupParams(ref="weapon-properties/reach")).markdown
    assert "adds 5 feet to your reach" in reach and "10 feet away" not in reach


def test_attacks_read_as_players_say_them(app: App) -> None:
    """No attack bonus, reach or average damage: the kind of attack and the dice."""
    lines = index_text(app, "srd-2014", "monsters", "ghoul")
    assert "Bite: melee weapon attack, 2d6 + 2 piercing damage." in lines
    dragon = "\n".join(index_text(app, "srd-2014", "monsters", "adult-red-dragon"))
    assert "Fire Breath: The dragon exhales fire in a 60-foot cone." in dragon
    assert "taking 18d6 fire damage on a failed save" in dragon
    assert "to hit" not in dragon and "63 (18d6)" not in dragon
    archer = "\n".join(index_text(app, "srd-2014", "monsters", "scout"))
    assert "Longbow: ranged weapon attack, 1d8 + 2 piercing damage." in archer
    quarter = index_text(app, "srd-2014", "monsters", "goblin")
    assert quarter[0] == "Goblin: CR 1/4 small humanoid (goblinoid)"


def test_items_features_classes_and_others_say_what_they_are(app2024: App) -> None:
    app = app2024
    item = index_text(app, "srd-2014", "magic-items", "cloak-of-displacement")
    assert item[0] == (
        "Cloak of Displacement: magic item, wondrous item, rare (requires attunement)"
    )
    sneak = index_text(app, "srd-2014", "features", "sneak-attack")
    assert sneak[0] == "Sneak Attack: Rogue class feature"
    assert sneak[1].startswith("Beginning at 1st level, you know how to strike subtly")
    assert sneak[2] == "Rogue level 1."
    assert index_text(app, "srd-2024", "features", "barbarian-ability-score-improvement")[2] == (
        "gained at Barbarian 4."
    )
    rogue = index_text(app, "srd-2014", "classes", "rogue")
    assert rogue[0] == "Rogue: class"
    assert rogue[1].startswith("A thief, scout or assassin")  # the SRD pack's lore
    assert rogue[2].startswith("d8 hit die. saving throws Dexterity, Intelligence.")
    assert "Saving Throw:" not in rogue[2]
    tiefling = index_text(app, "srd-2014", "races", "tiefling")
    assert tiefling[:2] == [
        "Tiefling: race",
        ("Humanoids with infernal blood, horns, a tail and fiendish heritage who resist fire."),
    ]
    assert tiefling[2].startswith("Medium. speed 30 feet.")
    assert index_text(app, "srd-2014", "traits", "trance")[0] == "Trance: racial trait of Elf"
    assert index_text(app, "srd-2014", "conditions", "grappled")[0] == "Grappled: condition"
    madness = index_text(app, "srd-2014", "rule-sections", "madness")
    assert madness[0] == "Madness: rules" and not any("#" in line for line in madness)
    assert index_text(app, "srd-2024", "species", "dragonborn")[0] == "Dragonborn: species"
    # collections without a renderer of their own: the generic one, same first line
    assert index_text(app, "srd-2014", "damage-types", "fire")[0] == "Fire: damage type"
    assert index_text(app, "srd-2014", "weapon-properties", "light")[0] == "Light: weapon property"
    assert index_text(app, "srd-2014", "equipment-categories", "armor")[0] == (
        "Armor: equipment category"
    )


def test_every_srd_entry_renders_without_a_failing_plugin(app2024: App) -> None:
    ids = [row[0] for row in app2024.conn.execute("SELECT id FROM entry")]
    for row in queries.rows_by_ids(app2024.conn, ids):
        text = app2024.render(row.entry(), "index")
        assert text.splitlines()[0].startswith(f"{row.name}: "), row.qualified_ref
    assert app2024.plugins.failed == {}


def test_a_homebrew_record_with_few_fields_still_renders(app: App) -> None:
    sparse = Entry(collection="monsters", slug="blob", name="Blob", data={"type": "ooze"})
    assert app.render(sparse, "index") == "Blob: ooze\nBlob is an ooze.\n"
    odd = Entry(
        collection="spells",
        slug="odd",
        name="Odd",
        data={"level": "x", "classes": "Wizard", "desc": "One line.", "damage": 3},
    )
    assert app.render(odd, "index").splitlines()[0] == "Odd: Spell of Wizard"


def test_what_a_monster_inflicts_is_read_only_from_texts_that_say_some(app: App) -> None:
    """`_INFLICTS_ANY` (one pass before the 14 patterns) finds a text exactly when one of the
    patterns does, over every action and trait text of the SRD's monsters: the summaries, so
    the index, are what each pattern alone gave."""
    from d5e_daemon.default_plugins import index_text as texts

    said = [
        " ".join(texts.text_paragraphs(item.get("desc")))
        for (data,) in app.conn.execute(
            "SELECT data FROM entry WHERE pack_id = 'srd-2014' AND collection = 'monsters'"
        )
        for key in ("actions", "special_abilities", "legendary_actions", "reactions")
        for item in texts._items(json.loads(data).get(key))
    ]
    some = [t for t in said if any(p.search(t) for p, _ in texts._INFLICTS_RE)]
    assert len(said) > 1000 and 100 < len(some) < len(said)
    assert [t for t in said if texts._INFLICTS_ANY.search(t)] == some
