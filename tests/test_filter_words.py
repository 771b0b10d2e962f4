"""Filters of weapons, armor and legendary creatures, spells without a component, and the query
words that name filters ("legendary dragons", "heavy armor", "monsters that can't be charmed",
"spells without material components"): the `-f` filters on the SRD and on each loader's
records, over the CLI and JSON-RPC, and the same vocabulary read from a query."""

from __future__ import annotations

import asyncio
import json
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from d5e_daemon.app import App
from d5e_daemon.cli import main
from d5e_daemon.client import Daemon
from d5e_daemon.errors import InvalidParams
from d5e_daemon.features.packs import set_priority
from d5e_daemon.features.search import asked_filters, fuse, search
from d5e_daemon.protocol import SearchParams, SetPriorityParams, decode

from .fixtures import private_copy
from .packtools import write_pack

PLUGINS = Path(__file__).parents[1] / "plugins"
OPEN5E_SRD = PLUGINS / "d5e-open5e/tests/fixtures/v2/wizards-of-the-coast/srd-2014"
OPEN5E_TOB = PLUGINS / "d5e-open5e/tests/fixtures/v2/kobold-press/tob"
FIVETOOLS = PLUGINS / "d5e-5etools/tests/fixtures/Test Author; Ember Wilds.json"


@pytest.fixture
def db_path(attributed_template: Path, tmp_path: Path) -> Path:
    return private_copy(attributed_template, tmp_path)


def refs(app: App, **filters_: Any) -> set[str]:
    params = decode({"query": "", "filters": filters_, "limit": 500}, SearchParams)
    return {f"{hit.pack}:{hit.ref}" for hit in search(app, params).hits}


def slugs(app: App, **filters_: Any) -> set[str]:
    return {ref.rsplit("/", 1)[1] for ref in refs(app, **filters_)}


def test_weapons_by_property_and_kind_and_armor_by_weight(app: App) -> None:
    finesse = slugs(app, property="finesse")
    assert {"rapier", "dagger", "shortsword", "whip"} <= finesse and "longsword" not in finesse
    assert slugs(app, property="Two Handed") == slugs(app, property="two-handed")
    assert {"greatsword", "longbow"} <= slugs(app, property="2-handed")
    martial_melee = slugs(app, weapon=["martial"], weaponRange="melee")
    assert "longsword" in martial_melee and not {"dagger", "longbow"} & martial_melee
    assert slugs(app, weapon="simple", weaponRange="ranged") == {
        "crossbow-light", "dart", "shortbow", "sling",
    }  # fmt: skip
    heavy = {"ring-mail", "chain-mail", "splint-armor", "plate-armor"}
    assert slugs(app, armor="heavy") == slugs(app, armor="Heavy Armor") == heavy
    assert "leather-armor" in slugs(app, armor="light")
    with pytest.raises(InvalidParams, match="filter 'armor' takes one of: light, medium, heavy"):
        search(app, decode({"query": "", "filters": {"armor": "plate"}}, SearchParams))


def test_2024_weapons_and_armor_by_kind(app2024: App) -> None:
    # The 2024 SRD says a weapon's and armor's kind only in `equipment_categories`.
    martial_melee = {
        ref for ref in refs(app2024, weapon="martial", weaponRange="melee")
        if ref.startswith("srd-2024:")
    }  # fmt: skip
    assert "srd-2024:equipment/longsword" in martial_melee
    assert not {"srd-2024:equipment/dagger", "srd-2024:equipment/longbow"} & martial_melee
    simple_ranged = {r for r in refs(app2024, weapon="simple", weaponRange="ranged") if "2024" in r}
    assert "srd-2024:equipment/shortbow" in simple_ranged and len(simple_ranged) == 4
    heavy = {r for r in refs(app2024, armor="heavy") if r.startswith("srd-2024:")}
    assert "srd-2024:equipment/chain-mail" in heavy and len(heavy) == 4
    assert "srd-2024:equipment/shield" in refs(app2024, armor="shield")


def test_legendary_creatures_and_lairs(app: App, tmp_path: Path) -> None:
    legendary = slugs(app, legendary=True)
    assert {"adult-red-dragon", "lich", "kraken", "unicorn"} <= legendary
    assert "wolf" not in legendary and "wolf" in slugs(app, legendary=False)
    assert len(legendary) == 32  # the SRD 2014's monsters with legendary actions
    assert slugs(app, lair=True) == set()  # the SRD prints no lair actions
    monster = (
        "---\nname: Cinder Queen\nchallenge_rating: 12\nlegendary_actions:\n"
        "  - name: Flare\n    desc: She flares.\nlair_actions:\n  - name: Smoke\n"
        "    desc: Smoke fills the hall.\n---\n"
    )
    pack = write_pack(tmp_path / "brew", {"monsters/cinder-queen.md": monster})
    app.db.write(partial(app.library.install_path, path=pack))
    app.search.ensure_attributes()
    assert "cinder-queen" in slugs(app, lair=True) & slugs(app, legendary=True)


def test_spells_without_a_component(app: App) -> None:
    no_material = slugs(app, component="no m")
    assert {"fire-bolt", "shield", "mage-armor"} & no_material == {"fire-bolt", "shield"}
    assert no_material == slugs(app, component="without material") == slugs(app, component="no M")
    assert "fireball" not in no_material  # a tiny ball of bat guano and sulfur
    assert slugs(app, component="non-verbal") == {
        "counterspell", "demiplane", "hypnotic-pattern", "illusory-script", "minor-illusion",
        "mislead", "true-strike",
    }  # fmt: skip


def test_each_loader_fills_them(app: App) -> None:
    """The Open5e and 5etools loaders write the SRD's fields (`properties`, `weapon_category`,
    `armor_category`, `legendary_actions`): the same filters find their records."""
    app.db.write(partial(app.library.install_path, path=OPEN5E_SRD))
    app.db.write(partial(app.library.install_path, path=OPEN5E_TOB))
    app.db.write(partial(app.library.install_path, path=FIVETOOLS))
    # Open5e's copy of the SRD installs below it: ranked above it, its records are the ones
    asyncio.run(set_priority(app, SetPriorityParams(pack="open5e-srd-2014", priority=60)))
    app.search.ensure_attributes()
    open5e = "open5e-srd-2014:equipment/"
    assert f"{open5e}longsword" in refs(app, property="versatile", weapon="martial")
    assert f"{open5e}chain-mail" in refs(app, armor="heavy")
    assert f"{open5e}longbow" in refs(app, weaponRange="ranged")
    assert "tob:monsters/aboleth-nihilith" in refs(app, legendary=True)
    assert "tob:monsters/ghoul-darakhul" in refs(app, legendary=False)
    fivetools = {ref.split(":")[1] for ref in refs(app, legendary=True) if "ember" in ref.lower()}
    assert "monsters/cinder-witch" in fivetools and "monsters/ash-wolf" not in fivetools
    bows = refs(app, property="ammunition", weapon="simple")
    assert "emberwilds:equipment/ashwood-bow" in bows
    assert "emberwilds:equipment/emberglass-blade" not in bows
    assert "emberwilds:equipment/emberglass-blade" in refs(app, weapon="martial")
    # a spell that grants resistance to fire deals none
    fire = refs(app, damage="fire")
    assert "emberwilds:spells/cinder-lance" in fire and "emberwilds:spells/ember-ward" not in fire


def test_damage_and_saves_written_in_prose(app: App) -> None:
    """A spell's damage types and saves are read from its text as well as from its record's
    fields: Spirit Guardians deals radiant or necrotic damage, Storm of Vengeance asks for a
    Dexterity save in its later rounds; not a damage the spell protects from, nor one its
    illusion can't deal, nor one dealt by attacks it makes possible or to what it makes, nor a
    save it gives advantage on."""
    assert {"spirit-guardians", "flame-strike"} <= slugs(app, damage="radiant")
    assert {"spirit-guardians", "bestow-curse"} <= slugs(app, damage="necrotic")
    assert "stoneskin" not in slugs(app, damage="slashing")  # resistance to slashing damage
    assert "major-image" not in slugs(app, damage="thunder")  # can't deal thunder damage
    # only damage the spell deals: not its forms' weapons (Alter Self's natural weapons), the
    # attacks of what it makes (Animate Objects' slams), nor damage dealt to it (a Prismatic
    # Wall's layer destroyed by 60 force damage); damage it adds to attacks is its own
    for kind in ("bludgeoning", "piercing", "slashing"):
        assert not {"alter-self", "animate-objects"} & slugs(app, damage=kind), kind
    assert "prismatic-wall" not in slugs(app, damage="force")
    assert "prismatic-wall" in slugs(app, damage="cold")  # its blue layer's 10d6
    assert {"arcane-hand", "spiritual-weapon"} <= slugs(app, damage="force")
    assert {"storm-of-vengeance", "fireball"} <= slugs(app, save="dexterity")
    assert "storm-of-vengeance" in slugs(app, save="constitution")  # its record's own save
    assert not {"heroes-feast", "beacon-of-hope"} & slugs(app, save="wisdom")
    assert "haste" not in slugs(app, save="dexterity")


def test_cli_and_json_rpc(db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["search", "-f", "armor=heavy", "--json", "--db", str(db_path)])
    out, _ = capsys.readouterr()
    assert code == 0
    assert {h["name"] for h in json.loads(out)["hits"]} == {
        "Chain Mail", "Plate Armor", "Ring Mail", "Splint Armor",
    }  # fmt: skip
    code = main(["search", "-f", "weapon=martial", "-f", "property=finesse", "--db", str(db_path)])
    out, _ = capsys.readouterr()
    assert code == 0 and "Rapier" in out and "Dagger" not in out
    assert main(["filters", "--collection", "equipment", "--db", str(db_path)]) == 0
    out, _ = capsys.readouterr()
    assert "two-handed" in out and "heavy" in out and "martial" in out
    d = Daemon(db_path)
    try:
        d.initialize()
        asked = {"query": "", "filters": {"legendary": True, "type": "undead"}, "limit": 50}
        found = d.request("d5e/search", asked, timeout=60)
        assert {h["name"] for h in found["hits"]} == {
            "Lich", "Mummy Lord", "Vampire, Bat Form", "Vampire, Mist Form",
            "Vampire, Vampire Form",
        }  # fmt: skip
        asked = {"query": "", "filters": {"component": ["no v"]}, "limit": 50}
        assert len(d.request("d5e/search", asked, timeout=60)["hits"]) == 7
    finally:
        d.close()


def labels(app: App, text: str) -> list[str]:
    return [label for ls in asked_filters(app, text).labels().values() for label in ls]


def test_query_words_read_with_the_filters_vocabulary(indexed: App) -> None:
    """Phrases of several words name a filter as `-f` takes it; a word two filters read
    ("legendary": a monster's actions, an item's rarity) is the one of the collection the rest
    of the query names; "creatures" names monsters beside a filter only monsters have."""
    assert sorted(labels(indexed, "legendary dragons")) == ["legendary=true", "type=dragon"]
    assert labels(indexed, "legendary magic items") == ["rarity=legendary"]
    assert labels(indexed, "legendary") == ["rarity=legendary"]
    assert sorted(labels(indexed, "heavy armor")) == ["armor=heavy", "type=armor"]
    assert labels(indexed, "light armour") == ["armor=light"]
    assert sorted(labels(indexed, "two-handed martial weapons")) == [
        "property=two-handed", "type=weapon", "weapon=martial",
    ]  # fmt: skip
    assert labels(indexed, "monsters that can't be charmed") == ["conditionImmune=charmed"]
    assert labels(indexed, "monsters immune to paralysis") == ["conditionImmune=paralyzed"]
    assert labels(indexed, "monsters immune to poison") == ["immune=poison"]
    assert sorted(labels(indexed, "creatures resistant to cold and fire damage")) == [
        "resist=cold", "resist=fire",
    ]  # fmt: skip
    assert labels(indexed, "acid-resistant monsters") == ["resist=acid"]
    assert labels(indexed, "creatures weak to radiant") == ["vulnerable=radiant"]
    assert labels(indexed, "monsters that resist nonmagical weapons") == ["resist=nonmagical"]
    assert labels(indexed, "spells without material components") == ["component=no m"]
    assert sorted(labels(indexed, "spells needing an expensive material component")) == [
        "component=costly", "component=m",
    ]  # fmt: skip
    assert labels(indexed, "spells lasting up to 1 hour") == ["duration=1 hour"]
    assert labels(indexed, "spells that take an hour to cast") == ["castingTime=1 hour"]
    assert labels(indexed, "spells with a range of 120 feet") == ["range=120 feet"]
    assert labels(indexed, "monsters with a flying speed of 90 feet or more") == ["speed=fly 90"]
    assert labels(indexed, "monsters with darkvision 120 ft") == ["sense=darkvision 120"]
    assert labels(indexed, "creatures that speak Draconic") == ["language=draconic"]
    assert labels(indexed, "challenge rating 1/8 creatures") == ["cr=1/8"]
    assert asked_filters(indexed, "tiny creatures").collections == {"monsters"}
    assert asked_filters(indexed, "a spell that charms creatures").collections == {"spells"}
    assert labels(indexed, "what happens to a creature that is charmed?") == []
    assert labels(indexed, "vulnerable to radiant") == ["vulnerable=radiant"]  # filters alone
    assert labels(indexed, "how does resistance to fire damage work?") == []
    # a damage type used as a verb names no damage; as a noun or an adjective it does
    assert labels(indexed, "spells that force a Wisdom saving throw") == ["save=wisdom"]
    assert labels(indexed, "a spell which forces saving throws") == []
    assert labels(indexed, "force damage spells") == ["damage=force"]
    assert labels(indexed, "cantrips that fire a bolt of fire") == ["level=0", "damage=fire"]


def test_a_query_naming_the_new_filters_finds_what_meets_them(indexed: App) -> None:
    """ "legendary dragons" (sixteenth session: read as the items' rarity) and "heavy armor":
    the entries meeting the filters come first, `--explain` names them."""
    hits = search(indexed, SearchParams(query="legendary dragons", explain=True, limit=5)).hits
    assert all(h.explain and "legendary=true" in h.explain.filters for h in hits)
    assert all(h.explain and "type=dragon" in h.explain.filters for h in hits)
    top = [h.ref for h in search(indexed, SearchParams(query="heavy armor", limit=5)).hits]
    assert {"equipment/plate-armor", "equipment/chain-mail"} & set(top)
    # "creatures" beside a challenge rating names monsters: the collection counts as one
    # filter more, and the monsters of CR 1/8 are among the candidates
    asked = SearchParams(query="challenge rating 1/8 creatures", explain=True, limit=50)
    met = {h.ref: h.explain.filters for h in search(indexed, asked).hits if h.explain}
    assert met["monsters/mastiff"] == ["collection=monsters", "cr=1/8"]


def test_entries_met_only_by_the_filters_rank_by_their_meaning() -> None:
    """An entry among the candidates only for meeting the filters a query is made of, found by
    neither list, is scored on the keyword side by its similarity (its z-score by meaning),
    not the keyword list's lowest: of two such entries the more similar one comes first, and
    neither sinks below the keyword list's last."""
    keyword = [(1, 9.0), (2, 5.0), (3, 1.0)]
    semantic = [(1, 0.8), (2, 0.7), (3, 0.5), (10, 0.75), (11, 0.45)]
    met = frozenset({10, 11})
    plain = dict(fuse(keyword, semantic, {}))
    by_meaning = dict(fuse(keyword, semantic, {}, by_meaning_only=met, meaning_share=1.0))
    assert by_meaning[10] > plain[10] and by_meaning[10] > by_meaning[3]
    assert by_meaning[11] == plain[11]  # less similar than the keyword list's last: its lowest
    # a query named its filters in passing (share 0): as before
    assert dict(fuse(keyword, semantic, {}, by_meaning_only=met, meaning_share=0.0)) == plain


def test_a_negated_filter_is_met_by_the_entries_without_it(indexed: App) -> None:
    """ "martial weapons that aren't heavy" asks for the martial weapons without the heavy
    property: those meet the filter (`property!=heavy`), the heavy ones do not, and "heavy"
    is not searched for; "magic items that don't need attunement" does not search for
    "attunement" (the rules on attunement came first)."""
    query = "martial weapons that aren't heavy"
    assert sorted(labels(indexed, query)) == ["property!=heavy", "type=weapon", "weapon=martial"]
    assert asked_filters(indexed, query).denied == {"heavy"}
    hits = search(indexed, SearchParams(query=query, explain=True, limit=5)).hits
    assert len(hits) == 5
    assert all(h.explain and "property!=heavy" in h.explain.filters for h in hits)
    assert "equipment/greatsword" not in {h.ref for h in hits}
    asked = asked_filters(indexed, "magic items that don't need attunement")
    assert asked.denied == {"attunement"} and asked.pairs == [("attunement", False)]
    assert asked_filters(indexed, "heavy martial weapons").negated == set()
