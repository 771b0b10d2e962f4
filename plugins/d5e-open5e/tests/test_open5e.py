"""Open5e documents installed as packs, checked as a user would: the joined records field by
field, the cards with their licence, names, filters, search, and the problems of bad data.

The fixtures are excerpts of Open5e's data (Tome of Beasts, Deep Magic, Vault of Magic), Open
Game Content under the OGL 1.0a: see fixtures/LICENSE-OGL.txt."""

from __future__ import annotations

import asyncio
import json
import shutil
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from d5e_open5e import loader

from d5e_daemon import LoadedPack, queries
from d5e_daemon.app import App
from d5e_daemon.errors import NotFound, PackError
from d5e_daemon.features.lookup import lookup
from d5e_daemon.features.packs import install as install_feature
from d5e_daemon.features.packs import list_packs, set_priority
from d5e_daemon.features.search import search
from d5e_daemon.packs import InstallResult
from d5e_daemon.protocol import (
    LookupParams,
    PackInstallParams,
    PacksListParams,
    SearchParams,
    SetPriorityParams,
)

V2 = Path(__file__).parent / "fixtures" / "v2"
TOB = V2 / "kobold-press" / "tob"
SRD = V2 / "wizards-of-the-coast" / "srd-2014"


def install(app: App, path: Path) -> InstallResult:
    return app.db.write(partial(app.library.install_path, path=path))


def data(app: App, ref: str) -> dict[str, Any]:
    return lookup(app, LookupParams(ref=ref)).entry.data


def test_a_document_folder_is_one_pack_with_its_licence(app: App) -> None:
    result = install(app, TOB)
    assert (result.pack, result.action, result.entries) == ("tob", "installed", 2)
    pack = queries.get_pack(app.conn, "tob")
    assert pack is not None
    assert (pack.title, pack.license, pack.edition) == ("Tome of Beasts", "OGL-1.0a", "2014")
    assert pack.attribution.startswith(
        "Tome of Beasts by Chris Harris, Dan Dillon, Rodrigo Garcia Carmona, and Wolfgang Baur, "
        "Kobold Press (2016). Released under the OGL-1.0a"
    )
    assert "OPEN GAME LICENSE Version 1.0a" in pack.description  # License.json's text
    card = lookup(app, LookupParams(name="Ghoul, Darakhul")).markdown
    assert "*Tome of Beasts* (`tob`, OGL-1.0a)" in card
    assert "Released under the OGL-1.0a" in card
    listed = {p.pack.id: p for p in list_packs(app).packs}
    assert listed["tob"].pack.license == "OGL-1.0a" and listed["tob"].entries == 2


def test_a_creature_is_joined_with_its_actions_attacks_and_traits(app: App) -> None:
    install(app, TOB)
    nihilith = data(app, "monsters/aboleth-nihilith")
    assert nihilith["name"] == "Aboleth, Nihilith"
    assert (nihilith["size"], nihilith["type"], nihilith["challenge_rating"]) == (
        "Large",
        "undead",
        12.0,
    )
    assert nihilith["speed"] == {"walk": "10 ft.", "fly": "50 ft.", "swim": "40 ft.", "hover": True}
    assert nihilith["armor_class"] == [{"type": "natural", "value": 17}]
    assert nihilith["xp"] == 8400
    assert nihilith["senses"]["darkvision"] == "120 ft."
    assert nihilith["damage_immunities"][:3] == ["cold", "necrotic", "poison"]
    assert [a["name"] for a in nihilith["special_abilities"]][:2] == [
        "Dual State",
        "Infecting Telepathy",
    ]
    # the stat block's "Tail (Material Form Only)": Open5e keeps the form in `limited_to_form`
    tail = next(a for a in nihilith["actions"] if a["name"] == "Tail (Material Form Only)")
    assert tail["attack_bonus"] == 9 and tail["damage"][0]["damage_dice"] == "3d6"
    assert tail["desc"].startswith("Melee Weapon Attack: +9 to hit, reach 10 ft.")
    assert [a["name"] for a in nihilith["legendary_actions"]] == [
        "Detect",
        "Tail Swipe",
        "Psychic Drain",
    ]
    assert nihilith["actions"][0]["name"] == "Multiattack"  # the stat block's order
    enslave = next(a for a in nihilith["actions"] if a["name"] == "Enslave")
    assert enslave["usage"] == {"type": "per day", "times": 3}
    card = lookup(app, LookupParams(name="nihilith")).markdown
    assert "fly 50 ft. (hover)" in card and "Legendary Actions" in card
    assert "Challenge:** 12 (8,400 XP)" in card


def test_inverted_names_and_filters_serve_open5e_creatures(attributed: App) -> None:
    app = attributed  # the SRD's filter attributes made (its first search made them: ~1 s)
    install(app, TOB)
    assert lookup(app, LookupParams(name="Darakhul")).entry.name == "Ghoul, Darakhul"
    assert lookup(app, LookupParams(name="darakhul ghoul")).entry.name == "Ghoul, Darakhul"
    listed = search(app, SearchParams(query="", filters={"cr": 12, "type": "undead"})).hits
    assert "tob:monsters/aboleth-nihilith" in {f"{h.pack}:{h.ref}" for h in listed}
    found = search(app, SearchParams(query="nihilith", mode="keyword")).hits
    assert found[0].ref == "monsters/aboleth-nihilith"


def test_spells_and_magic_items(attributed: App) -> None:
    app = attributed  # the SRD's filter attributes made (its first search made them: ~1 s)
    install(app, V2 / "kobold-press" / "deepm")
    install(app, V2 / "kobold-press" / "vom")
    touch = data(app, "spells/caustic-touch")
    assert touch["level"] == 0 and touch["school"]["index"] == "evocation"
    assert touch["damage"]["damage_at_character_level"]["5"] == "2d8"
    apparition = data(app, "spells/abhorrent-apparition")
    assert apparition["components"] == ["M"]  # as Open5e has it
    assert apparition["material"] == "a gourd with a face carved on it"
    assert apparition["damage"]["damage_at_slot_level"] == {"4": "6d8"}
    assert apparition["dc"]["dc_type"]["index"] == "wis"
    assert [c["index"] for c in apparition["classes"]] == ["bard", "sorcerer", "wizard"]
    hits = search(app, SearchParams(query="", filters={"level": 4, "class": "bard"})).hits
    assert "spells/abhorrent-apparition" in {h.ref for h in hits}
    agreement = data(app, "magic-items/aberrant-agreement")
    assert agreement["rarity"] == {"name": "Rare"}
    assert "Vault of Magic" in lookup(app, LookupParams(name="aberrant agreement")).markdown


def test_weapons_and_armor_have_their_details(attributed: App) -> None:
    """Item.json names its Weapon.json / Armor.json record; the weapon's properties are
    WeaponPropertyAssignment rows: joined into the SRD's fields, shown on the card, filtered."""
    app = attributed  # the SRD's filter attributes made (its first search made them: ~1 s)
    install(app, SRD)
    sword = data(app, "open5e-srd-2014:equipment/longsword")
    assert sword["category_range"] == "Martial Melee"
    assert sword["damage"] == {
        "damage_dice": "1d8",
        "damage_type": {"index": "slashing", "name": "Slashing"},
    }
    assert sword["two_handed_damage"]["damage_dice"] == "1d10"
    assert [p["name"] for p in sword["properties"]] == ["Versatile"]
    dagger = data(app, "open5e-srd-2014:equipment/dagger")
    assert dagger["throw_range"] == {"normal": 20, "long": 60} and dagger["weapon_range"] == "Melee"
    bow = data(app, "open5e-srd-2014:equipment/longbow")
    assert (bow["weapon_range"], bow["range"]) == ("Ranged", {"normal": 150, "long": 600})
    chain = data(app, "open5e-srd-2014:equipment/chain-mail")
    assert chain["armor_category"] == "Heavy"
    assert chain["armor_class"] == {"base": 16, "dex_bonus": False}
    assert (chain["str_minimum"], chain["stealth_disadvantage"]) == (13, True)
    plate = data(app, "open5e-srd-2014:equipment/breastplate")
    assert plate["armor_class"] == {"base": 14, "dex_bonus": True, "max_bonus": 2}
    card = lookup(app, LookupParams(ref="open5e-srd-2014:equipment/longsword")).markdown
    assert "Martial melee weapon" in card and "1d8 slashing (1d10 two-handed)" in card
    card = lookup(app, LookupParams(ref="open5e-srd-2014:equipment/chain-mail")).markdown
    assert "Heavy armor" in card and "Str 13" in card and "Disadvantage" in card
    card = lookup(app, LookupParams(ref="open5e-srd-2014:equipment/breastplate")).markdown
    assert "14 + Dex modifier (max 2)" in card
    asyncio.run(set_priority(app, SetPriorityParams(pack="open5e-srd-2014", priority=60)))
    hits = search(app, SearchParams(query="", filters={"type": "weapon"}, limit=100)).hits
    assert "open5e-srd-2014:equipment/longsword" in {f"{h.pack}:{h.ref}" for h in hits}


def test_magic_items_made_from_another_documents_weapons_show_them(
    app: App, tmp_path: Path
) -> None:
    """Vault of Magic's magic weapons and armor name the SRD document's (`srd_dagger`): joined
    from the document beside it in data/v2, the card shows the base item, its damage, its
    thrown range, its armor class. One that is nowhere to be found is a warning."""
    v2 = tmp_path / "v2"
    shutil.copytree(SRD, v2 / "wizards-of-the-coast" / "srd-2014")
    vault = _document(v2, "vault", "kobold-press", "Vault")
    made = {"category": "weapon", "rarity": "rare", "desc": "A test blade.", "cost": "0.00"}
    items = [
        ("vault_needle", made | {"name": "Needle", "weapon": "srd_dagger"}),
        ("vault_coat", made | {"name": "Coat", "category": "armor", "armor": "srd_chain-mail"}),
        ("vault_fork", made | {"name": "Fork", "weapon": "srd_trident"}),
    ]
    records = [{"model": "api_v2.magicitem", "pk": pk, "fields": f} for pk, f in items]
    (vault / "MagicItem.json").write_text(json.dumps(records, indent=1))
    result = install(app, vault)
    (warning,) = [w for w in result.warnings if "srd_trident" in w.message]
    assert warning.severity == "warning" and warning.file.endswith("MagicItem.json")
    assert "1 magic items are made from a weapon or armor of another document" in warning.message
    needle = data(app, "magic-items/needle")
    assert needle["base_item"] == {"index": "dagger", "name": "Dagger"}
    assert needle["throw_range"] == {"normal": 20, "long": 60}
    card = lookup(app, LookupParams(ref="magic-items/needle")).markdown
    assert "*Weapon (dagger), rare*" in card
    assert "**Damage:** 1d4 piercing" in card and "**Range:** 20/60 ft. (thrown)" in card
    assert "Finesse, Light, Thrown" in card
    card = lookup(app, LookupParams(ref="magic-items/coat")).markdown
    assert "*Armor (chain mail), rare*" in card and "**Armor Class:** 16" in card
    card = lookup(app, LookupParams(ref="magic-items/fork")).markdown
    assert "*Weapon, rare*" in card and "Damage" not in card


def test_classes_subclasses_and_features(app: App) -> None:
    """CharacterClass, ClassFeature and ClassFeatureItem joined: a class with its table, a
    subclass under its class, each feature with the level it comes at."""
    install(app, SRD)
    barbarian = data(app, "open5e-srd-2014:classes/barbarian")
    assert barbarian["hit_die"] == 12
    assert [s["index"] for s in barbarian["saving_throws"]] == ["con", "str"]
    assert barbarian["subclasses"] == [
        {"index": "path-of-the-berserker", "name": "Path of the Berserker"}
    ]
    assert any(p.startswith("**Proficiencies.** **Armor:** Light armor") for p in barbarian["desc"])
    table = next(p for p in barbarian["desc"] if p.startswith("| Level |"))
    lines = table.splitlines()
    assert lines[0] == "| Level | Proficiency Bonus | Rage Damage | Rages | Features |"
    assert lines[2] == "| 1 | +2 | +2 | 2 | Rage |"  # the columns' values at level 1
    assert "| 9 | +4 | +3 | 4 | Brutal Critical |" in lines
    assert [f["name"] for f in barbarian["features"]] == ["Rage", "Brutal Critical"]
    berserker = data(app, "open5e-srd-2014:subclasses/path-of-the-berserker")
    assert berserker["class"] == {"index": "barbarian", "name": "Barbarian"}
    frenzy = data(app, "open5e-srd-2014:features/path-of-the-berserker-frenzy")
    assert (frenzy["level"], frenzy["class"]["index"], frenzy["subclass"]["index"]) == (
        3,
        "barbarian",
        "path-of-the-berserker",
    )
    brutal = data(app, "open5e-srd-2014:features/barbarian-brutal-critical")
    assert (brutal["level"], brutal["levels"]) == (9, [9, 13, 17])
    assert brutal["desc"][-1] == "By level — 9: 1 dice; 13: 2 dice; 17: 3 dice."
    # The table's columns are not features; neither are the class's Proficiencies.
    for slug in ("barbarian-rages", "barbarian-proficiencies"):
        with pytest.raises(NotFound):
            lookup(app, LookupParams(ref=f"open5e-srd-2014:features/{slug}"))
    card = lookup(app, LookupParams(ref="open5e-srd-2014:classes/barbarian")).markdown
    assert "| 1 | +2 | +2 | 2 | Rage |" in card
    blinded = data(app, "open5e-srd-2014:conditions/blinded")
    assert blinded["name"] == "Blinded" and blinded["desc"][0].startswith("* A blinded creature")


def test_the_whole_data_folder_is_one_pack_per_document(app: App) -> None:
    result = asyncio.run(install_feature(app, PackInstallParams(path=str(V2))))
    packs = {r.pack: r.entries for r in (result, *result.also)}
    assert packs == {"deepm": 3, "tob": 2, "vom": 2, "open5e-srd-2014": packs["open5e-srd-2014"]}
    assert all(r.action == "installed" for r in (result, *result.also))


def test_open5e_copies_of_the_srd_install_below_the_srd(app: App, tmp_path: Path) -> None:
    srd = tmp_path / "wizards-of-the-coast" / "srd-2014"
    srd.mkdir(parents=True)
    document = json.loads((TOB / "Document.json").read_text())
    document[0]["pk"] = "srd-2014"
    document[0]["fields"] |= {
        "name": "System Reference Document 5.1",
        "publisher": "wizards-of-the-coast",
    }
    (srd / "Document.json").write_text(json.dumps(document))
    (srd / "Spell.json").write_text(
        json.dumps(
            [
                {
                    "model": "api_v2.spell",
                    "pk": "srd_fireball",
                    "fields": {
                        "name": "Fireball",
                        "level": 3,
                        "school": "evocation",
                        "desc": "Boom.",
                    },
                }
            ]
        )
    )
    result = install(app, srd)
    assert result.pack == "open5e-srd-2014"
    assert lookup(app, LookupParams(name="fireball")).entry.pack == "srd-2014"
    copy = lookup(app, LookupParams(ref="open5e-srd-2014:spells/fireball"))
    assert copy.entry.data["desc"] == ["Boom."]


def _document(tmp_path: Path, key: str, publisher: str, name: str) -> Path:
    """A document folder `publisher/key` made from the Tome of Beasts fixture's Document.json."""
    folder = tmp_path / publisher / key
    folder.mkdir(parents=True)
    document = json.loads((TOB / "Document.json").read_text())
    document[0]["pk"] = key
    document[0]["fields"] |= {"name": name, "publisher": publisher}
    (folder / "Document.json").write_text(json.dumps(document))
    return folder


def test_a_document_does_not_replace_the_srd_unless_asked(attributed: App, tmp_path: Path) -> None:
    """Level Up's Fireball: installing it adds a5e-ag's, `{@spell fireball}` stays the SRD's."""
    app = attributed  # the SRD's filter attributes made (its first search made them: ~1 s)
    folder = _document(tmp_path, "a5e-ag", "en-publishing", "Adventurer's Guide")
    fireball = {"name": "Fireball", "level": 3, "school": "evocation", "desc": "A5e boom."}
    spells = [
        {"model": "api_v2.spell", "pk": "a5e-ag_fireball", "fields": fireball},
        {"model": "api_v2.spell", "pk": "a5e-ag_own", "fields": fireball | {"name": "Own"}},
    ]
    (folder / "Spell.json").write_text(json.dumps(spells))
    result = asyncio.run(install_feature(app, PackInstallParams(path=str(folder))))
    assert not [w for w in result.warnings if "overrides" in w.message]  # it overrides nothing
    (note,) = [w for w in result.warnings if "srd-2014, which wins" in w.message]
    assert note.severity == "info" and note.message.startswith(
        "1 entries of a5e-ag have the refs of entries of srd-2014, which wins: spells 1 (Fireball)."
    )
    assert "`d5e packs set-priority a5e-ag N`" in note.message
    found = lookup(app, LookupParams(name="fireball"))
    assert found.entry.pack == "srd-2014"
    assert [s.pack for s in found.shadowed] == ["a5e-ag"]
    assert data(app, "a5e-ag:spells/fireball")["desc"] == ["A5e boom."]
    assert lookup(app, LookupParams(name="own")).entry.pack == "a5e-ag"
    hits = search(app, SearchParams(query="fireball", mode="keyword")).hits
    assert {h.pack for h in hits if h.ref == "spells/fireball"} == {"srd-2014"}
    # The user chooses the document: now it wins, on purpose, and `packs list` says over what.
    asyncio.run(set_priority(app, SetPriorityParams(pack="a5e-ag", priority=60)))
    assert lookup(app, LookupParams(name="fireball")).entry.pack == "a5e-ag"
    listed = list_packs(app, PacksListParams(overrides="a5e-ag")).overrides
    assert [(o.ref, o.over, o.intended) for o in listed] == [("spells/fireball", "srd-2014", True)]


def test_a_revised_document_wins_over_the_one_it_revises(app: App, tmp_path: Path) -> None:
    """Tome of Beasts 1 (2023 Edition) and Tome of Beasts share 337 monsters: the revision wins,
    on purpose (no tie decided by pack ids), whatever the order of installs."""
    revised = _document(tmp_path, "tob-2023", "kobold-press", "Tome of Beasts 1 (2023 Edition)")
    for name in ("Creature.json", "CreatureAction.json", "CreatureActionAttack.json"):
        text = (TOB / name).read_text().replace('"tob_', '"tob-2023_')
        (revised / name).write_text(text.replace('"Aboleth, Nihilith"', '"Nihilith (2023)"'))
    install(app, revised)
    result = install(app, TOB)
    assert not [w for w in result.warnings if "overrides" in w.message]
    assert lookup(app, LookupParams(ref="monsters/aboleth-nihilith")).entry.pack == "tob-2023"
    assert lookup(app, LookupParams(name="Nihilith (2023)")).entry.pack == "tob-2023"
    assert data(app, "tob:monsters/aboleth-nihilith")["name"] == "Aboleth, Nihilith"
    assert app.library.check_ties() == []
    listed = {p.pack.id: p for p in list_packs(app).packs}
    assert (listed["tob"].priority, listed["tob-2023"].priority) == (8, 9)


def test_of_two_documents_sharing_spells_the_later_one_wins(app: App, tmp_path: Path) -> None:
    """Deep Magic (2020) and Spells That Don't Suck (2025) share spells: the later publication
    wins whatever the order of installs, and nothing is left to pack ids (no tie warning)."""
    later = _document(tmp_path, "spells-that-dont-suck", "somanyrobots", "Spells That Don't Suck")
    deepm = V2 / "kobold-press" / "deepm"
    for name in ("Spell.json", "SpellCastingOption.json"):
        text = (deepm / name).read_text().replace('"deepm_', '"spells-that-dont-suck_')
        (later / name).write_text(text)
    install(app, later)
    install(app, deepm)
    assert lookup(app, LookupParams(ref="spells/blade-of-wrath")).entry.pack == (
        "spells-that-dont-suck"
    )
    assert lookup(app, LookupParams(ref="deepm:spells/blade-of-wrath")).entry.pack == "deepm"
    assert app.library.check_ties() == []
    listed = {p.pack.id: p for p in list_packs(app).packs}
    assert (listed["deepm"].priority, listed["spells-that-dont-suck"].priority) == (8, 9)


def _broken(tmp_path: Path) -> Path:
    folder = tmp_path / "tob"
    shutil.copytree(TOB, folder)
    shutil.copy(V2 / "License.json", tmp_path / "License.json")
    return folder


def _problems(app: App, folder: Path) -> list[dict[str, Any]]:
    with pytest.raises(PackError) as caught:
        install(app, folder)
    assert queries.get_pack(app.conn, "tob") is None  # nothing written
    assert caught.value.data is not None
    return [p for p in caught.value.data["problems"] if p["severity"] == "error"]


def test_a_malformed_document_json_is_located(app: App, tmp_path: Path) -> None:
    folder = _broken(tmp_path)
    (folder / "Document.json").write_text('[\n{"model": "api_v2.document",\n "pk": "tob" "x"}\n]\n')
    (problem,) = _problems(app, folder)
    assert problem["file"].endswith("tob/Document.json")
    assert (problem["line"], problem["column"]) == (3, 14)  # the stray "x"
    assert problem["message"].startswith("invalid JSON")


def test_actions_of_a_missing_creature_are_located(app: App, tmp_path: Path) -> None:
    folder = _broken(tmp_path)
    text = (folder / "CreatureAction.json").read_text()
    (folder / "CreatureAction.json").write_text(
        text.replace('"parent": "tob_ghoul-darakhul"', '"parent": "tob_ghoul-nobody"', 1)
    )
    problems = _problems(app, folder)
    assert problems[0]["file"].endswith("tob/CreatureAction.json")
    line = problems[0]["line"]
    assert (
        '"parent": "tob_ghoul-nobody"'
        in (folder / "CreatureAction.json").read_text().splitlines()[line - 1]
    )
    assert "its parent 'tob_ghoul-nobody' is not in Creature.json" in problems[0]["message"]


def test_an_unknown_licence_is_refused(app: App, tmp_path: Path) -> None:
    folder = _broken(tmp_path)
    text = (folder / "Document.json").read_text()
    (folder / "Document.json").write_text(text.replace('"ogl-10a"', '"all-rights-reserved"'))
    (problem,) = _problems(app, folder)
    assert "licence 'all-rights-reserved' is not known" in problem["message"]
    line = problem["line"]
    assert '"licenses"' in (folder / "Document.json").read_text().splitlines()[line - 1]


def test_unknown_files_are_warnings(app: App, tmp_path: Path) -> None:
    folder = _broken(tmp_path)
    (folder / "Notes.json").write_text("[]")
    image = {"model": "api_v2.image", "pk": "i", "fields": {"name": "Icon", "file_path": "i.png"}}
    (folder / "Image.json").write_text(json.dumps([image, image | {"pk": "j"}]))
    result = install(app, folder)
    warned = {(Path(w.file).name, w.message) for w in result.warnings if w.severity == "warning"}
    assert ("Notes.json", "not read: not a file of an Open5e document") in warned
    assert ("Image.json", "not read: 2 images (d5e's cards show none)") in warned
    assert not any(Path(w.file).name == "Environment.json" for w in result.warnings)
    (lookups,) = [w for w in result.warnings if "lookup tables" in w.message]
    assert lookups.severity == "info" and "Environment.json (1)" in lookups.message


def test_an_item_naming_a_missing_weapon_is_located(app: App, tmp_path: Path) -> None:
    folder = tmp_path / "srd-2014"
    shutil.copytree(SRD, folder)
    text = (folder / "Item.json").read_text()
    (folder / "Item.json").write_text(text.replace('"weapon": "srd_longsword"', '"weapon": "x"'))
    text = (folder / "WeaponPropertyAssignment.json").read_text()
    (folder / "WeaponPropertyAssignment.json").write_text(
        text.replace('"property": "srd-2014_versatile-wp"', '"property": "srd-2014_nope"')
    )
    with pytest.raises(PackError) as caught:
        install(app, folder)
    assert queries.get_pack(app.conn, "open5e-srd-2014") is None
    assert caught.value.data is not None
    found = {
        (Path(p["file"]).name, p["message"].split(": ", 1)[1]): p["line"]
        for p in caught.value.data["problems"]
        if p["severity"] == "error"
    }
    item_line = found[("Item.json", "its weapon 'x' is not in Weapon.json")]
    assert '"weapon": "x"' in (folder / "Item.json").read_text().splitlines()[item_line - 1]
    line = found[
        (
            "WeaponPropertyAssignment.json",
            "its property 'srd-2014_nope' is not in WeaponProperty.json",
        )
    ]
    assert (
        "srd-2014_nope"
        in (folder / "WeaponPropertyAssignment.json").read_text().splitlines()[line - 1]
    )


@pytest.mark.parametrize(
    ("file", "old", "new", "whole"),
    [
        (
            "ClassFeature.json",
            '"parent": "srd_barbarian"',
            '"parent": "srd_nobody"',
            "CharacterClass",
        ),
        (
            "ClassFeatureItem.json",
            '"parent": "srd_barbarian_rage"',
            '"parent": "srd_barbarian_nothing"',
            "ClassFeature",
        ),
    ],
)
def test_a_class_part_without_its_whole_is_located(
    app: App, tmp_path: Path, file: str, old: str, new: str, whole: str
) -> None:
    folder = tmp_path / "srd-2014"
    shutil.copytree(SRD, folder)
    (folder / file).write_text((folder / file).read_text().replace(old, new, 1))
    with pytest.raises(PackError) as caught:
        install(app, folder)
    assert queries.get_pack(app.conn, "open5e-srd-2014") is None
    assert caught.value.data is not None
    (problem,) = [p for p in caught.value.data["problems"] if p["severity"] == "error"]
    assert problem["file"].endswith(file) and f"is not in {whole}.json" in problem["message"]
    assert new in (folder / file).read_text().splitlines()[problem["line"] - 1]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d + d, "Document.json holds one record of model api_v2.document"),
        (lambda d: [d[0] | {"fields": d[0]["fields"] | {"name": ""}}], "needs a `pk`"),
        (lambda d: [d[0] | {"fields": d[0]["fields"] | {"licenses": []}}], "names no licence"),
        (lambda d: {"not": "a list"}, "an Open5e data file is a JSON list of records"),
    ],
)
def test_a_document_json_that_says_too_little_is_refused(
    app: App, tmp_path: Path, change: Any, message: str
) -> None:
    folder = _broken(tmp_path)
    document = json.loads((folder / "Document.json").read_text())
    (folder / "Document.json").write_text(json.dumps(change(document), indent=1))
    (problem,) = _problems(app, folder)
    assert problem["file"].endswith("tob/Document.json") and problem["line"] >= 1
    assert message in problem["message"]


def test_a_publisher_folder_is_one_pack_per_document(app: App) -> None:
    result = asyncio.run(install_feature(app, PackInstallParams(path=str(V2 / "kobold-press"))))
    assert {r.pack for r in (result, *result.also)} == {"deepm", "tob", "vom"}


def test_html_in_a_documents_text_reads_as_markdown(app: App, tmp_path: Path) -> None:
    """Spells That Don't Suck writes statistics tables, headings and lists in HTML, Black Flag
    `<br>` between an action's paragraphs: in a terminal the table (and a summoned creature's
    actions) was dropped and `<br>` ran sentences together (`acid damage.The cube…`); Open5e's
    copy of the 2014 SRD showed `\\n\\n` in the text of its tools and poisons."""
    folder = _document(tmp_path, "stds", "somanyrobots", "Spells")
    desc = (
        "You animate objects.\\n\\nAny of them.\n\n<h5>Object Statistics</h5>\n<table>\n"
        "<thead><tr>\n<th>Size</th>"
        "\n<th>HP</th>\n</tr></thead>\n<tbody>\n<tr>\n<td>Tiny</td>\n<td>5</td>\n</tr>\n<tr>\n"
        "<td>Small</td>\n<td>10 | more</td>\n</tr>\n</tbody>\n</table>\n\n<h3>Actions</h3>\n"
        "<em><strong>Bile.</strong></em> <em>Melee Weapon Attack:</em> +5 to hit.\n<ul>\n"
        "<li>1: frightened.</li>\n<li>2: poisoned.</li>\n</ul>\nThen it ends. A < B stays."
    )
    higher = "More.<br>Even more.<blockquote><p>Quoted.</p></blockquote>"
    spell = {"name": "Animate Things", "level": 5, "school": "transmutation", "desc": desc,
             "higher_level": higher}  # fmt: skip
    records = [{"model": "api_v2.spell", "pk": "stds_animate-things", "fields": spell}]
    (folder / "Spell.json").write_text(json.dumps(records))
    install(app, folder)
    card = lookup(app, LookupParams(name="Animate Things")).markdown
    text = card.split("\n---\n")[0]  # the card without d5e's attribution line
    assert "<" not in text.replace("A < B", "")
    assert "##### Object Statistics" in card
    # a line break written out (`\\n`, as Open5e's copy of the 2014 SRD writes 87 of them)
    assert "You animate objects.\n\nAny of them." in card and "\\n" not in card
    assert "| Size | HP |\n|---|---|\n| Tiny | 5 |\n| Small | 10 \\| more |" in card
    assert "### Actions" in card
    assert (
        "***Bile.*** *Melee Weapon Attack:* +5 to hit.\n\n- 1: frightened.\n- 2: poisoned." in card
    )
    assert "Then it ends. A < B stays." in card
    assert "More.\n\nEven more.\n\n> Quoted." in card


def test_a_line_starting_with_a_bold_label_stays_a_line(app: App, tmp_path: Path) -> None:
    """Level Up's Marshal writes its proficiencies one a line (`**Armor:** …\\r\\n**Weapons:**
    …`) and its feats their options so (`…options.\\r\\n**Attack.** …`): Markdown ran the lines
    into one paragraph (`…shields Weapons: Simple weapons… Tools: None Saving Throws: …`)."""
    folder = _document(tmp_path, "a5e-ag", "en-publishing", "Adventurer's Guide")
    desc = (
        "Your headlong rush devastates your foes. Choose one of the following options.\r\n"
        "**Attack.** Make one melee weapon attack. \r\n**Shove.** Use the Shove maneuver.\r\n\r\n"
        "**Armor:** Light armor\n**Weapons:** Simple weapons"
    )
    feat = {"name": "Bull Rush", "desc": desc, "type": "GENERAL"}
    (folder / "Feat.json").write_text(
        json.dumps([{"model": "api_v2.feat", "pk": "a5e-ag_bull-rush", "fields": feat}])
    )
    install(app, folder)
    card = lookup(app, LookupParams(name="Bull Rush")).markdown
    assert "following options.  \n**Attack.** Make one melee weapon attack.  \n**Shove.**" in card
    assert "**Armor:** Light armor  \n**Weapons:** Simple weapons" in card


def test_a_feat_benefit_its_text_already_says_is_not_repeated(app: App, tmp_path: Path) -> None:
    """Level Up's feats give their one benefit both in `desc` and as a FeatBenefit without a
    name (Bull Rush): the card said it twice."""
    folder = _document(tmp_path, "a5e-ag", "en-publishing", "Adventurer's Guide")
    said = "After dashing at least ten feet towards a foe, you may perform a bonus action."
    feats = [
        {"model": "api_v2.feat", "pk": "a5e-ag_bull-rush",
         "fields": {"name": "Bull Rush", "desc": f"Your rush devastates your foes. {said}"}},
        {"model": "api_v2.feat", "pk": "a5e-ag_other",
         "fields": {"name": "Other Feat", "desc": "A feat."}},
    ]  # fmt: skip
    benefits = [
        {"model": "api_v2.featbenefit", "pk": "a5e-ag_bull-rush_1",
         "fields": {"name": "", "desc": said.replace(" feet", "\r\nfeet"),
                    "parent": "a5e-ag_bull-rush"}},
        {"model": "api_v2.featbenefit", "pk": "a5e-ag_other_1",
         "fields": {"name": "", "desc": "Its own benefit.", "parent": "a5e-ag_other"}},
    ]  # fmt: skip
    (folder / "Feat.json").write_text(json.dumps(feats))
    (folder / "FeatBenefit.json").write_text(json.dumps(benefits))
    install(app, folder)
    card = lookup(app, LookupParams(name="Bull Rush")).markdown
    assert card.count("at least ten") == 1
    assert "Its own benefit." in lookup(app, LookupParams(name="Other Feat")).markdown


def _records(folder: Path, name: str, model: str, records: dict[str, dict[str, Any]]) -> None:
    """Write `name` (one of a document's files) holding `records` (by key) of `model`."""
    rows = [{"model": f"api_v2.{model}", "pk": pk, "fields": f} for pk, f in records.items()]
    (folder / name).write_text(json.dumps(rows))


def scores_of(scores: dict[str, int]) -> dict[str, int]:
    return {f"ability_score_{a}": s for a, s in scores.items()}


def test_a_stat_blocks_forms_recharges_initiative_and_saves(app: App, tmp_path: Path) -> None:
    """Fields Open5e keeps apart that the stat block says (a creature of this test's own, in
    Open5e's format): Black Flag's and the SRD's `limited_to_form` ("Claw (Hag Form Only)":
    262 actions showed no form), the 2024 SRD's `RECHARGE` (its Vampire's Charm showed no
    recharge) and `initiative_bonus` (331 creatures), saves equal to the ability modifier
    (Black Flag and the 2024 SRD list all six: "Str -2, Dex +3, …" on every card), Black Flag's
    `Infernal,Common`, Tome of Beasts' nonmagical resistance with no text saying it."""
    folder = _document(tmp_path, "bfrd", "kobold-press", "Black Flag SRD")
    scores = {"strength": 6, "dexterity": 16, "constitution": 12, "intelligence": 10,
              "wisdom": 12, "charisma": 18}  # fmt: skip
    shifter = {
        "name": "Test Shifter", "size": "small", "type": "fiend", "challenge_rating": "2.000",
        "armor_class": 13, "hit_points": 31, "walk": 20, "initiative_bonus": 3,
        "languages_desc": "Infernal,Common, telepathy 1,000 ft.",
        **scores_of(scores),
        **{f"saving_throw_{a}": (s - 10) // 2 for a, s in scores.items()},
        "saving_throw_charisma": 6,  # the one proficient save
        "damage_resistances": ["cold", "bludgeoning", "piercing", "slashing"],
        "damage_resistances_display": "", "nonmagical_attack_resistance": True,
    }  # fmt: skip
    # all six at 0 (Open5e's copy of the 2014 SRD's mounts) is none; of a document that gives
    # some, each as its book prints it (Tome of Beasts' Lich Hound: Dex +4 at Dex 18)
    mount = {"name": "Test Mount", **scores_of(scores), **{f"saving_throw_{a}": 0 for a in scores}}
    hound = {"name": "Test Hound", "ability_score_dexterity": 18, "saving_throw_dexterity": 4}
    _records(
        folder,
        "Creature.json",
        "creature",
        {"bfrd_test-shifter": shifter, "bfrd_test-mount": mount, "bfrd_test-hound": hound},
    )
    action = {"parent": "bfrd_test-shifter", "action_type": "ACTION", "desc": "It hits."}
    _records(
        folder,
        "CreatureAction.json",
        "creatureaction",
        {
            "bfrd_a": action | {"name": "Claw", "limited_to_form": "Hag Form Only"},
            "bfrd_b": action
            | {"name": "Sting (True Form Only)", "limited_to_form": "True Form Only"},
            "bfrd_c": action | {"name": "Charm", "uses_type": "RECHARGE", "uses_param": 5},
            "bfrd_d": action
            | {"name": "Gaze (Recharge 4-6)", "uses_type": "RECHARGE", "uses_param": 4},
        },
    )
    install(app, folder)
    card = lookup(app, LookupParams(name="Test Shifter")).markdown
    assert "***Claw (Hag Form Only).*** It hits." in card
    assert "***Sting (True Form Only).***" in card  # the name said it: not twice
    assert "***Charm (Recharge 5–6).***" in card
    assert "***Gaze (Recharge 4-6).***" in card  # the name said it: not twice
    assert "**Initiative:** +3 (13)" in card
    assert "**Saving Throws:** Cha +6  \n" in card
    assert "**Languages:** Infernal, Common, telepathy 1,000 ft." in card
    assert "Saving Throws" not in lookup(app, LookupParams(name="Test Mount")).markdown
    assert "**Saving Throws:** Dex +4" in lookup(app, LookupParams(name="Test Hound")).markdown
    assert (
        "**Damage Resistances:** cold; bludgeoning, piercing, and slashing from nonmagical at"
        in card
    )


def test_a_feats_prerequisite_and_type(app: App, tmp_path: Path) -> None:
    """A feat's prerequisite is text: its card read `Prerequisites: Type text` (44 feats of
    Level Up, Tome of Heroes and the SRDs); the 2024 SRD's kinds of feat (Origin, Fighting
    Style, Epic Boon) are shown, not the other documents' GENERAL of every feat."""
    folder = _document(tmp_path, "srd-2024", "wizards-of-the-coast", "5e 2024 Rules")
    _records(
        folder,
        "Feat.json",
        "feat",
        {
            "srd-2024_test-aim": {"name": "Test Aim", "desc": "You aim.", "type": "Fighting Style",
                                  "prerequisite": "Fighting Style Feature"},
            "srd-2024_test-plain": {"name": "Test Plain", "desc": "Plain.", "type": "GENERAL"},
        },
    )  # fmt: skip
    install(app, folder)
    card = lookup(app, LookupParams(name="Test Aim")).markdown
    assert "**Prerequisites:** Fighting Style Feature" in card
    assert "**Type:** Fighting Style" in card
    assert "Type text" not in card
    assert "Type:" not in lookup(app, LookupParams(name="Test Plain")).markdown


def _older(root: Path, slug: str, related: str, spells: dict[str, str]) -> Path:
    """A document of Open5e's older layout, `root/v1/slug`, with spells (name → `dnd_class`)."""
    folder = root / "v1" / slug
    folder.mkdir(parents=True)
    document = {"slug": slug, "title": slug, "v2_related_key": related}
    (folder / "Document.json").write_text(
        json.dumps([{"model": "api.document", "pk": 1, "fields": document}])
    )
    rows = [
        {"model": "api.spell", "pk": n.lower(), "fields": {"name": n, "dnd_class": c}}
        for n, c in spells.items()
    ]
    (folder / "Spell.json").write_text(json.dumps(rows))
    return folder


def test_the_older_layout_is_refused_with_what_to_install(app: App, tmp_path: Path) -> None:
    """Open5e's data/v1 (a clone of open5e-api holds both) is no document d5e reads: it said
    `Document.json holds one record of model api_v2.document`, and installing the clone's
    `data` folder tried data/v1's 17 documents; now the refusal names the data/v2 folder, and
    the clone or its `data` folder installs data/v2."""
    data_folder = tmp_path / "open5e-api" / "data"
    shutil.copytree(V2, data_folder / "v2")
    older = _older(data_folder, "dmag", "deepm", {})
    with pytest.raises(PackError) as caught:
        install(app, older)
    assert caught.value.data is not None
    (problem,) = caught.value.data["problems"]
    assert "Open5e's older layout (data/v1" in problem["message"]
    assert str(data_folder / "v2" / "kobold-press" / "deepm") in problem["message"]
    result = install(app, data_folder.parent)  # the clone
    assert {r.pack for r in (result, *result.also)} == {"deepm", "tob", "vom", "open5e-srd-2014"}
    loaded = loader.load(data_folder)
    assert isinstance(loaded, list) and len(loaded) == 4


def test_open5e_files_that_are_no_document_are_refused(tmp_path: Path) -> None:
    """A page saved from Open5e's web API (v1 or v2) or one file of a document folder was
    refused as `a 5etools homebrew file is one JSON object`."""
    pages = {
        "v1.json": {"count": 1, "next": None, "results": [{"slug": "x", "document__slug": "o5e"}]},
        "v2.json": {"count": 1, "results": [{"url": "https://api.open5e.com/v2/spells/x/"}]},
    }
    for name, page in pages.items():
        (tmp_path / name).write_text(json.dumps(page))
        loaded = loader.load(tmp_path / name)
        assert isinstance(loaded, LoadedPack)
        assert "a page of Open5e's web API" in loaded.problems[0].message
    loaded = loader.load(TOB / "Creature.json")
    assert isinstance(loaded, LoadedPack)
    assert loaded.problems[0].message.startswith(
        "one file of an Open5e document: install its folder"
    )
    (tmp_path / "brew.json").write_text('{"_meta": {"sources": []}, "spell": []}')
    assert loader.load(tmp_path / "brew.json") is None  # another loader's


def test_spells_without_classes_take_them_from_the_older_layout(tmp_path: Path) -> None:
    """data/v2 names no class for 446 of Deep Magic's 515 spells (and most of Level Up's, Tome
    of Heroes', Warlock's): data/v1 of the same clone does (`dnd_class`, "Sorceror" misspelt);
    each spell left without is reported."""
    shutil.copytree(V2, tmp_path / "v2")
    deepm = tmp_path / "v2" / "kobold-press" / "deepm"
    spells = json.loads((deepm / "Spell.json").read_text())
    for spell in spells:
        spell["fields"]["classes"] = []
    spells[0]["fields"]["casting_time"] = "1week"  # Level Up's Writhing Transformation
    (deepm / "Spell.json").write_text(json.dumps(spells))
    first = spells[0]["fields"]["name"]
    without = loader.load(deepm)
    assert isinstance(without, LoadedPack)
    (warned,) = [p for p in without.problems if "name no class" in p.message]
    assert warned.severity == "warning" and "not beside this folder" in warned.message
    _older(tmp_path, "dmag", "deepm", {first: "Bard, Sorceror"})
    loaded = loader.load(deepm)
    assert isinstance(loaded, LoadedPack)
    spell = next(e for e in loaded.entries if e.name == first)
    assert spell.data["casting_time"] == "1 week"  # was "1week"
    assert spell.data["classes"] == [
        {"index": "bard", "name": "Bard"},
        {"index": "sorcerer", "name": "Sorcerer"},
    ]
    (noted,) = [p for p in loaded.problems if "name no class" in p.message]
    assert noted.severity == "info"
    assert f"{len(spells)} spells name no class" in noted.message
    assert "the classes of 1 of them were read from its data/v1 folder" in noted.message


def test_who_may_attune_to_a_magic_item_is_on_its_card(tmp_path: Path) -> None:
    """Open5e's `attunement_detail` ("Requires Attunement by a Paladin": the SRD's Holy
    Avenger, 50 items) was kept but not shown: the card said `(requires attunement)`."""
    from d5e_daemon.default_plugins.cards import render_text

    folder = _document(tmp_path, "srd-2014", "wizards-of-the-coast", "5e 2014 Rules")
    avenger = {"name": "Test Avenger", "rarity": "legendary", "category": "weapon",
               "requires_attunement": True, "desc": "A blade.",
               "attunement_detail": "Requires Attunement by a Paladin"}  # fmt: skip
    night = avenger | {"name": "Test Night", "attunement_detail": "requires attunement outdoors"}
    _records(folder, "MagicItem.json", "magicitem", {"srd_a": avenger, "srd_b": night})
    loaded = loader.load(folder)
    assert isinstance(loaded, LoadedPack)
    cards = {e.name: render_text(e, "markdown") or "" for e in loaded.entries}
    assert "legendary (requires attunement by a Paladin)*" in cards["Test Avenger"]
    assert "legendary (requires attunement)*" in cards["Test Night"]  # no one named: as it was


def test_one_document_after_the_whole_folder_says_to_install_the_folder(
    app: App, tmp_path: Path
) -> None:
    """One document of data/v2 installed after the whole folder is the same pack: the refusal
    said `give this pack another id in its pack.toml` (an Open5e document has none)."""
    data_folder = tmp_path / "v2"
    shutil.copytree(V2, data_folder)
    install(app, data_folder)
    with pytest.raises(PackError) as caught:
        install(app, data_folder / "kobold-press" / "tob")
    message = caught.value.message
    assert f"it came with {data_folder.resolve()}, which holds this folder: install that again" in (
        message
    )
    assert "pack.toml" not in message


def test_a_paragraph_written_as_an_indent_is_a_paragraph(tmp_path: Path) -> None:
    """Tome of Heroes (and Deep Magic, Warlock: 185 texts) starts a paragraph with a line break
    and the book's indent (`…long rest.\\n  In addition, …`): Markdown ran it into the one
    before. A list item's indented next line stays the item's."""
    folder = _document(tmp_path, "toh", "kobold-press", "Tome of Heroes")
    desc = (
        "You rest.\n  In addition, you act.\n  \u201cQuoted,\u201d it says.\n\n"
        "- First item.\n  Still the first.\n- Second\n  item."
    )
    spell = {"name": "Test Indent", "level": 1, "school": "evocation", "desc": desc}
    _records(folder, "Spell.json", "spell", {"toh_test-indent": spell})
    loaded = loader.load(folder)
    assert isinstance(loaded, LoadedPack)
    assert loaded.entries[0].data["desc"] == [
        "You rest.",
        "In addition, you act.",
        "\u201cQuoted,\u201d it says.",
        "- First item.\n  Still the first.\n- Second\n  item.",
    ]


def test_a_chapter_of_rules_lists_its_sections(tmp_path: Path) -> None:
    """The SRD's `rules` list their `subsections` (its Combat card: The Order of Combat,
    Movement and Position…); Open5e's chapters (RuleSet.json) named none of their 283
    sections (Rule.json, each naming its `ruleset`, in its `index` order)."""
    folder = _document(tmp_path, "srd-2014", "wizards-of-the-coast", "5e 2014 Rules")
    _records(folder, "RuleSet.json", "ruleset", {"srd_test": {"name": "Test", "desc": "All."}})
    part = {"ruleset": "srd_test", "desc": "Text."}
    _records(
        folder,
        "Rule.json",
        "rule",
        {
            "srd_test_second": part | {"name": "Second", "index": 2},
            "srd_test_first": part | {"name": "First", "index": 1},
        },
    )
    loaded = loader.load(folder)
    assert isinstance(loaded, LoadedPack)
    chapter = next(e for e in loaded.entries if e.collection == "rules")
    assert chapter.data["subsections"] == [
        {"index": "test-first", "name": "First"},
        {"index": "test-second", "name": "Second"},
    ]
    sections = {e.slug for e in loaded.entries if e.collection == "rule-sections"}
    assert sections == {"test-first", "test-second"}
