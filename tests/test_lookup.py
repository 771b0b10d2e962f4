"""d5e/lookup: by ref, qualified ref and name; shadowing; not found with suggestions."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from d5e_daemon.app import App
from d5e_daemon.errors import InvalidParams, NotFound
from d5e_daemon.features.lookup import lookup
from d5e_daemon.plugins import get_plugins
from d5e_daemon.protocol import LookupParams
from d5e_daemon.settings import build

from .brew import BrewPlugin


@pytest.fixture
def brew_app(db_path: Path) -> Iterator[App]:
    settings = build({"db": str(db_path), "builtinPacks": ["srd-2014", "srd-2024", "test-brew"]})
    app = App(settings, plugins=get_plugins(extra=(BrewPlugin(),)))
    app.start()
    yield app
    app.close()


def test_lookup_by_ref(app: App) -> None:
    result = lookup(app, LookupParams(ref="spells/fireball"))
    assert (result.entry.ref, result.entry.pack, result.entry.name) == (
        "spells/fireball",
        "srd-2014",
        "Fireball",
    )
    assert result.entry.collection == "spells"
    assert result.entry.data["level"] == 3
    assert (
        result.markdown.startswith("## Fireball") or "Fireball" in result.markdown.splitlines()[0]
    )
    assert result.pack_info.license == "CC-BY-4.0"
    assert "System Reference Document 5.1" in result.markdown  # the attribution, where users see it


def test_lookup_by_qualified_ref_reaches_a_disabled_pack(app: App) -> None:
    result = lookup(app, LookupParams(ref="srd-2024:monsters/aboleth"))
    assert (result.entry.pack, result.entry.qualified_ref) == (
        "srd-2024",
        "srd-2024:monsters/aboleth",
    )
    assert "System Reference Document 5.2" in result.markdown


@pytest.mark.parametrize(
    ("name", "ref"),
    [
        ("fireball", "spells/fireball"),
        ("FIREBALL", "spells/fireball"),
        ("hunters mark", "spells/hunters-mark"),
        ("Hunter’s Mark", "spells/hunters-mark"),
        ("alchemists fire flask", "equipment/alchemists-fire-flask"),
        ("cure-wounds", "spells/cure-wounds"),
    ],
)
def test_lookup_by_name_ignores_case_apostrophes_and_punctuation(
    app: App, name: str, ref: str
) -> None:
    assert lookup(app, LookupParams(name=name)).entry.ref == ref


def test_lookup_by_name_of_a_homebrew_entry(brew_app: App) -> None:
    result = lookup(brew_app, LookupParams(name="mordenkainens sword"))
    assert (result.entry.pack, result.entry.ref) == ("test-brew", "spells/mordenkainens-sword")


def test_same_name_in_two_collections_prefers_the_common_one_and_lists_the_other(app: App) -> None:
    result = lookup(app, LookupParams(name="thieves tools"))
    assert result.entry.ref == "equipment/thieves-tools"
    assert [a.ref for a in result.also] == ["proficiencies/thieves-tools"]
    assert (
        lookup(app, LookupParams(name="thieves tools", collection="proficiencies")).entry.ref
        == "proficiencies/thieves-tools"
    )


def test_homebrew_override_wins_and_lists_what_it_shadows(brew_app: App) -> None:
    result = lookup(brew_app, LookupParams(ref="monsters/goblin"))
    assert result.entry.pack == "test-brew"
    assert result.entry.priority == 50
    assert [(s.pack, s.priority) for s in result.shadowed] == [("srd-2014", 10)]
    assert result.shadowed_by == []

    srd = lookup(brew_app, LookupParams(ref="srd-2014:monsters/goblin"))
    assert srd.entry.pack == "srd-2014"
    assert [s.pack for s in srd.shadowed_by] == ["test-brew"]


def test_edition_2024_puts_srd_2024_above_2014(app2024: App) -> None:
    result = lookup(app2024, LookupParams(ref="conditions/grappled"))
    assert result.entry.pack == "srd-2024"
    assert [s.pack for s in result.shadowed] == ["srd-2014"]
    # refs the 2024 data lacks still come from 2014
    assert lookup(app2024, LookupParams(ref="spells/fireball")).entry.pack == "srd-2014"


def test_not_found_carries_typo_tolerant_suggestions(app: App) -> None:
    with pytest.raises(NotFound) as caught:
        lookup(app, LookupParams(name="goblinn"))
    assert caught.value.code == -32001
    suggestions = caught.value.data["suggestions"]
    assert "srd-2014:monsters/goblin" in suggestions
    assert len(suggestions) <= 5

    with pytest.raises(NotFound) as caught:
        lookup(app, LookupParams(ref="spells/firebal"))
    assert caught.value.data["suggestions"][0] == "srd-2014:spells/fireball"


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("wolvs", "srd-2014:monsters/wolf"),  # "wolves" misspelt: far from "wolf" itself
        ("giant spidrs", "srd-2014:monsters/giant-spider"),
        ("potions of healng", "srd-2014:magic-items/potion-of-healing"),
    ],
)
def test_a_misspelt_plural_suggests_its_singular_first(app: App, typed: str, meant: str) -> None:
    # first: "wolvs" is the Wolf before "Werewolf, Wolf Form" (whose alias begins "wol…")
    with pytest.raises(NotFound) as caught:
        lookup(app, LookupParams(name=typed))
    assert caught.value.data["suggestions"][0] == meant


def test_a_name_typed_with_its_article_is_found_and_suggested_without_it(app: App) -> None:
    assert lookup(app, LookupParams(name="the owlbear")).entry.ref == "monsters/owlbear"
    assert lookup(app, LookupParams(name="An Ogre")).entry.ref == "monsters/ogre"
    with pytest.raises(NotFound) as caught:  # the SRD has no goblin boss: its goblin is meant
        lookup(app, LookupParams(name="the goblin boss"))
    assert str(caught.value).startswith(
        "no entry named 'the goblin boss'; did you mean srd-2014:monsters/goblin"
    )


def test_a_name_typed_inverted_is_found_in_its_natural_order(app: App) -> None:
    """As Open5e and books' indexes write names ("Rat, Giant"), for the SRD's "Giant Rat"."""
    assert lookup(app, LookupParams(name="rat, giant")).entry.ref == "monsters/giant-rat"
    assert lookup(app, LookupParams(name="Dragon, Adult Red")).entry.name == "Adult Red Dragon"
    # a name written so is its own first: the SRD's "Crossbow, hand" is not "hand Crossbow"
    assert lookup(app, LookupParams(name="crossbow, hand")).entry.name == "Crossbow, hand"
    with pytest.raises(NotFound) as caught:  # nothing named either way: the message as before
        lookup(app, LookupParams(name="rat, enormous"))
    assert str(caught.value).startswith("no entry named 'rat, enormous'")


def test_a_collection_no_pack_has_is_named_with_the_nearest(app: App) -> None:
    with pytest.raises(NotFound) as caught:
        lookup(app, LookupParams(name="fireball", collection="spell"))
    assert str(caught.value) == "no installed pack has a collection 'spell'; did you mean 'spells'?"
    assert caught.value.data == {"path": "$.collection"}


def test_not_found_in_a_pack_names_the_pack(app: App) -> None:
    with pytest.raises(NotFound, match="srd-2024:spells/fireball"):
        lookup(app, LookupParams(ref="srd-2024:spells/fireball"))


@pytest.mark.parametrize(
    "params",
    [
        LookupParams(),
        LookupParams(ref="spells/fireball", name="Fireball"),
        LookupParams(ref="Fireball"),
        LookupParams(ref="spells/fire ball"),
        LookupParams(ref="../../etc/passwd"),
    ],
)
def test_invalid_lookups_are_invalid_params(app: App, params: LookupParams) -> None:
    with pytest.raises(InvalidParams):
        lookup(app, params)


@pytest.mark.parametrize(
    "name", ['"', "*", "NEAR(", "fire OR ice", "'; DROP TABLE entry; --", "%", "_", ""]
)
def test_hostile_names_are_just_not_found(app: App, name: str) -> None:
    with pytest.raises(NotFound):
        lookup(app, LookupParams(name=name))
    assert lookup(app, LookupParams(ref="spells/fireball")).entry.name == "Fireball"


def test_priority_rule_lifts_a_pack_over_the_srd(db_path: Path) -> None:
    from .brew import BrewRulesPlugin

    settings = build({"db": str(db_path), "builtinPacks": ["srd-2014", "test-brew"]})
    app = App(settings, plugins=get_plugins(extra=(BrewRulesPlugin(),)))
    app.start()
    try:
        result = lookup(app, LookupParams(ref="monsters/goblin"))
        assert result.entry.pack == "test-brew"
        assert result.entry.priority == 11  # one above srd-2014's 10, not its own default of 1
        # explicit workspace priorities override the rule
        app.settings = build({"db": str(db_path), "packs": {"test-brew": 5}})
        app.library.sync_profile()
        assert lookup(app, LookupParams(ref="monsters/goblin")).entry.pack == "srd-2014"
    finally:
        app.close()
