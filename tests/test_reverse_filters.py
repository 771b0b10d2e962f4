"""Reverse and relational filters of `d5e/search`: which monsters are immune to fire, who can
cast counterspell, which items grant fireball; values typed the way players type them, every
filter backed by the `entry_attr` index, homebrew packs alike."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from d5e_daemon import filters, queries
from d5e_daemon.app import App
from d5e_daemon.cli import main
from d5e_daemon.errors import InvalidParams, NotFound
from d5e_daemon.features.encounter import encounter
from d5e_daemon.features.lookup import lookup
from d5e_daemon.features.search import search, search_filters
from d5e_daemon.protocol import (
    EncounterParams,
    LookupParams,
    SearchFiltersParams,
    SearchFiltersResult,
    SearchParams,
    SearchResult,
    decode,
)

from .fixtures import private_copy
from .packtools import write_pack

NEW = (
    "immune", "resist", "vulnerable", "conditionImmune", "sense", "speed", "language",
    "alignment", "environment", "casts", "save", "attack", "castingTime", "range", "component",
    "duration", "inflicts", "grants", "property", "weapon", "weaponRange", "armor",
)  # fmt: skip


@pytest.fixture
def db_path(attributed_template: Path, tmp_path: Path) -> Path:
    """The SRD with its filter attributes made once per run: these tests are about what the
    filters find (each test's first search made them again, ~2 s of CPU a test); making them
    is tested on the bare SRD (tests/test_search.py, tests/test_crash.py)."""
    return private_copy(attributed_template, tmp_path)


def slugs(app: App, **filters_: Any) -> set[str]:
    params = decode({"query": "", "filters": filters_, "limit": 500}, SearchParams)
    return {hit.ref.split("/")[1] for hit in search(app, params).hits}


def test_monsters_by_what_they_withstand(app: App) -> None:
    fire = slugs(app, immune="fire")
    assert {"adult-red-dragon", "fire-elemental", "hell-hound"} <= fire
    assert "wolf" not in fire
    assert slugs(app, immune="Fire damage") == slugs(app, immune="FIRE") == fire
    assert {"skeleton", "zombie"} <= slugs(app, conditionImmune="poisoned")
    assert slugs(app, conditionImmune="charm") == slugs(app, conditionImmune="charmed")
    assert {"mummy", "treant"} <= slugs(app, vulnerable="fire")
    werewolf = slugs(app, resist="nonmagical") | slugs(app, immune="nonmagical")
    assert "werewolf-wolf" in werewolf
    both = slugs(app, immune="fire", vulnerable="cold")  # every filter must hold
    assert both and all(s in fire for s in both) and "wolf" not in both


def test_senses_and_speeds_with_a_minimum(app: App) -> None:
    dark = slugs(app, sense="darkvision")
    far = slugs(app, sense="darkvision 120 ft.")
    assert "goblin" in dark and "goblin" not in far  # 60 feet
    assert "drow" in far and far < dark
    assert "purple-worm" in slugs(app, sense="tremorsense")
    assert "lich" in slugs(app, sense="truesight 120")
    either = slugs(app, sense=["tremorsense", "truesight 120"])  # a list: any of them
    assert {"purple-worm", "lich"} <= either
    fly = slugs(app, speed="fly")
    assert {"adult-red-dragon", "giant-eagle"} <= fly and "wolf" not in fly
    assert "ghost" in slugs(app, speed="hover")
    assert "adult-red-dragon" in slugs(app, speed="fly 80") and "bat" not in slugs(
        app, speed="fly 80"
    )
    assert "bat" in slugs(app, speed="fly 30")


def test_languages_alignment_and_casters(app: App) -> None:
    assert "kobold" in slugs(app, language="Draconic")
    assert "wolf" not in slugs(app, language="common")
    evil = slugs(app, alignment="evil")
    assert {"goblin", "lich"} <= evil and "unicorn" not in evil
    assert slugs(app, alignment="LE") == slugs(app, alignment="lawful evil")
    assert slugs(app, casts="Counterspell") == {"archmage", "lich", "mage"}
    assert "lich" in slugs(app, casts="fireball")


def test_spells_by_what_they_ask_for(app: App) -> None:
    assert "fireball" in slugs(app, save="dexterity")
    assert slugs(app, save="DEX save") == slugs(app, save="Dexterity") == slugs(app, save="dex")
    assert "fire-bolt" in slugs(app, attack="ranged spell attack")
    bonus = slugs(app, castingTime="bonus")
    assert {"healing-word", "misty-step"} <= bonus and "fireball" not in bonus
    assert slugs(app, castingTime="1 bonus action") == bonus
    assert {"counterspell", "shield", "feather-fall"} <= slugs(app, castingTime="reaction")
    assert "raise-dead" in slugs(app, castingTime="hour") | slugs(app, castingTime="1 hour")
    assert "cure-wounds" in slugs(app, range="touch")
    far = slugs(app, range=150)
    assert "fireball" in far and "magic-missile" not in far  # 150 feet; 120 feet
    assert slugs(app, range="150 feet") == far
    assert "revivify" in slugs(app, component="costly") & slugs(app, component="consumed")
    assert slugs(app, component="verbal") == slugs(app, component="V")
    assert "fireball" in slugs(app, duration="Instantaneous")
    assert "bless" in slugs(app, duration="up to 1 minute")
    assert "fear" in slugs(app, inflicts="frightened")
    assert "hold-person" in slugs(app, inflicts="paralyzed")


def test_items_by_the_spells_they_grant(app: App) -> None:
    grants = slugs(app, grants="fireball")
    assert {"wand-of-fireballs", "necklace-of-fireballs", "staff-of-fire"} <= grants
    assert "bag-of-holding" not in grants
    assert "cape-of-the-mountebank" in slugs(app, grants="Dimension Door")
    assert slugs(app, type="wand", grants="fireball") == {"wand-of-fireballs"}


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"immune": "firey"}, "filter 'immune' takes one of: acid, bludgeoning"),
        ({"sense": "x-ray vision"}, "filter 'sense' takes one of: blindsight, darkvision"),
        ({"castingTime": 3}, "filter 'castingTime' takes a string"),
        ({"component": ["v", "q"]}, "filter 'component' takes one of: v, s, m"),
        ({"save": "luck"}, "filter 'save' takes one of: strength"),
    ],
)
def test_unknown_values_are_named(app: App, given: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidParams) as caught:
        search(app, decode({"query": "", "filters": given}, SearchParams))
    assert message in caught.value.message
    assert caught.value.data == {"path": f"$.filters.{next(iter(given))}"}


HINTS = [
    ({"language": "Elvsh"}, "no monster speaks 'Elvsh'; did you mean 'elvish'?"),
    ({"casts": "firebal"}, "no monster casts 'firebal'; did you mean 'fireball'"),
    ({"grants": "cure wonds"}, "no item grants 'cure wonds'; did you mean 'cure wounds'"),
    ({"duration": "1 minit"}, "no spell lasts '1 minit'; did you mean '1 minute'"),
    ({"alignment": "chaotic evl"}, "no monster is 'chaotic evl'; did you mean 'chaotic evil'"),
    (
        {"environment": "forest"},
        "no monster lives in 'forest': the profile's packs give no environment at all",
    ),
    ({"range": "slef"}, "no spell has the range 'slef'; did you mean 'self'?"),
    ({"casts": ["fireball", "zzyzx"]}, "no monster casts 'zzyzx' (`d5e/search/filters` lists"),
]


@pytest.mark.parametrize(("given", "hint"), HINTS)
def test_open_set_values_no_entry_has_get_a_hint(
    app: App, given: dict[str, Any], hint: str
) -> None:
    """Filters without a closed list of values cannot refuse a value, but one no entry of the
    profile has is named, with the nearest held values, instead of an unexplained empty list."""
    app.search.ensure_attributes()
    for query in ("", "dragon"):
        result = search(app, decode({"query": query, "filters": given}, SearchParams))
        name = next(iter(given))
        assert len(result.hints) == 1 and f"filter {name!r}: {hint}" in result.hints[0]
    listed = search(app, decode({"query": "", "filters": given}, SearchParams))
    assert bool(listed.hits) == ("fireball" in str(given))  # the held value still lists


def test_held_values_and_distances_get_no_hint(app: App) -> None:
    app.search.ensure_attributes()
    for given in ({"language": "Common"}, {"casts": "Fireball"}, {"language": "telepathy 9000"}):
        result = search(app, decode({"query": "", "filters": given}, SearchParams))
        assert result.hints == []  # telepathy is held: only none reaches 9000 feet


def test_a_pack_collection_or_edition_nothing_installed_has_gets_a_hint(app: App) -> None:
    """`--pack nope`, `--collection spell`, `--in-edition 2030`: named, not an unexplained
    empty list; what is installed gets no hint."""
    asked = {"query": "fire", "packs": ["nope"], "collections": ["spell"], "edition": "2030"}
    result = search(app, decode(asked, SearchParams))
    assert result.hits == []
    assert result.hints == [
        "packs: no pack 'nope' is installed (`d5e packs list` names them)",
        "collections: no installed pack has a collection 'spell'; did you mean 'spells'?",
        "edition: no installed pack is of edition '2030' (installed: 2014, 2024)",
    ]
    asked = {"query": "fire", "packs": ["srd-2014"], "collections": ["spells"], "edition": "2014"}
    result = search(app, decode(asked, SearchParams))
    assert result.hits and result.hints == []
    # a pack id written without its dash is the id it may mean, in a search as in a lookup
    result = search(app, decode({"query": "fire", "packs": ["srd2014"]}, SearchParams))
    assert result.hints == [
        "packs: no pack 'srd2014' is installed; did you mean 'srd-2014' or 'srd-2024'?"
    ]
    with pytest.raises(NotFound, match="did you mean 'srd-2014' or 'srd-2024'"):
        lookup(app, LookupParams(name="fireball", pack="srd2014"))


def test_a_pack_or_edition_installed_but_off_in_the_profile_gets_a_hint(app: App) -> None:
    """`--in-edition 2024` or `--pack srd-2024` in a 2014 profile: installed, but off here."""
    asked = {"query": "aboleth", "packs": ["srd-2024"]}
    result = search(app, decode(asked, SearchParams))
    assert result.hits == []
    assert result.hints == [
        "packs: pack 'srd-2024' is off in this profile (`d5e packs enable srd-2024`)"
    ]
    result = search(app, decode({"query": "aboleth", "edition": "2024"}, SearchParams))
    assert result.hits == []
    assert result.hints == [
        "edition: the packs of edition '2024' (srd-2024) are off in this profile"
        " (`d5e packs enable` turns one on)"
    ]


def test_hints_on_the_cli_and_mcp_faces(db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from d5e_daemon.mcp_server import _search_text

    code = main(["search", "-f", "language=elvsh", "--db", str(db_path)])
    _, err = capsys.readouterr()
    assert code == 0 and "no monster speaks 'elvsh'; did you mean 'elvish'?" in err
    code = main(["search", "-f", "language=elvsh", "--json", "--db", str(db_path)])
    out, _ = capsys.readouterr()
    assert json.loads(out)["hints"] == [
        "filter 'language': no monster speaks 'elvsh'; did you mean 'elvish'?"
    ]
    text = _search_text(decode({"hits": [], "semantic": False, "hints": ["x y"]}, SearchResult))
    assert "No entries found." in text and "(x y.)" in text


def test_filter_values_are_listed_as_they_are_typed(
    db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`d5e filters` and the MCP `filters` tool show values as `-f NAME=VALUE` takes them:
    `true`, `1/4` and `2`, not Python's `True`, `0.25` and `2.0`."""
    from d5e_daemon.mcp_server import _filters_text

    assert main(["filters", "--collection", "monsters", "--db", str(db_path)]) == 0
    out, _ = capsys.readouterr()
    assert "  0, 1/8, 1/4, 1/2, 1, 2, 3," in out
    assert main(["filters", "--collection", "spells", "--db", str(db_path)]) == 0
    out, _ = capsys.readouterr()
    assert "needs concentration\n  false, true\n" in out
    info = {"name": "cr", "type": "number", "collections": ["monsters"], "description": "CR"}
    listed = decode({"filters": [info | {"values": [0.125, 2.0, True]}]}, SearchFiltersResult)
    assert _filters_text(listed).endswith("values: 1/8, 2, true")


def test_the_new_filters_are_listed_with_values(app: App) -> None:
    listed = {f.name: f for f in search_filters(app, SearchFiltersParams()).filters}
    assert set(NEW) <= set(listed)
    assert "fire" in listed["immune"].values and "darkvision" in listed["sense"].values
    assert (
        "counterspell" in listed["casts"].values and "bonus action" in listed["castingTime"].values
    )
    assert "sense:darkvision" not in listed  # the distances are no filter of their own


def plan_of(app: App, conditions: list[dict[str, Any]]) -> str:
    """The plan of a listing by these conditions (the query `queries.browse` runs for each
    value of the filter, read in listing order)."""
    scope = queries.SearchScope(profile=app.profile, filters=conditions)
    first = conditions[0]
    args = scope.args() | {"limit": 20, "offset": 0, "others": "[]", "nothers": 0}
    args |= {"name": first["name"], "value": first["min"]}
    rows = app.conn.execute("EXPLAIN QUERY PLAN " + queries.BROWSE_ORDERED_SQL, args)
    return " | ".join(str(row[3]) for row in rows)


SAMPLES = {
    "immune": "fire", "resist": "cold", "vulnerable": "fire", "conditionImmune": "charmed",
    "sense": "darkvision 60", "speed": "fly", "language": "common", "alignment": "evil",
    "environment": "forest", "casts": "fireball", "save": "dex", "attack": "melee",
    "castingTime": "bonus", "range": "120 feet", "component": "m", "duration": "1 hour",
    "inflicts": "prone", "grants": "fireball", "property": "finesse", "weapon": "martial",
    "weaponRange": "ranged", "armor": "heavy",
}  # fmt: skip


@pytest.mark.parametrize("name", NEW)
def test_each_new_filter_is_an_index_search(app: App, name: str) -> None:
    app.search.ensure_attributes()
    declared = filters.BY_NAME[name]
    conditions = [
        {"filter": name, "name": a, "min": low, "max": high}
        for a, low, high in declared.conditions(SAMPLES[name])
    ]
    plan = plan_of(app, conditions)
    # the entries having the value, read in listing order: no sort, it stops at the page
    assert "SEARCH a USING PRIMARY KEY (name=? AND value=?)" in plan
    assert "TEMP B-TREE FOR ORDER BY" not in plan
    assert "SCAN a" not in plan and "SCAN entry_attr" not in plan
    assert "SEARCH e USING INTEGER PRIMARY KEY" in plan  # only the entries having them
    assert "SEARCH r USING COVERING INDEX resolved_by_entry" in plan  # winners by entry
    assert "SCAN e" not in plan and "SCAN r" not in plan and "SCAN resolved" not in plan


@pytest.mark.parametrize(
    "given",
    [
        {"immune": "fire"},
        {"sense": ["darkvision 120", "tremorsense"], "speed": "fly"},
        {"level": 3, "school": "evocation"},
        {"cr": {"min": 5, "max": 8}, "type": "undead"},
        {"casts": "fireball"},
    ],
)
def test_a_filtered_listing_finds_what_the_profile_wide_query_finds(
    app: App, given: dict[str, Any]
) -> None:
    """Listings start from the entries having the filters: the same entries, in the same order,
    as the query that reads every winner of the profile."""
    from d5e_daemon.features.search import _scope

    app.search.ensure_attributes()
    params = decode({"query": "", "filters": given}, SearchParams)
    args = _scope(app, params).args() | {"limit": 500, "offset": 0}
    wide = list(app.conn.execute(queries.BROWSE_SQL, args))
    assert wide and list(app.conn.execute(queries.BROWSE_FILTERED_SQL, args)) == wide
    assert list(app.conn.execute(queries.BROWSE_WALK_SQL, args)) == wide  # by name, checked
    edition = args | {"edition": "2024", "collections": '["monsters"]'}
    for sql in (queries.BROWSE_FILTERED_SQL, queries.BROWSE_WALK_SQL):
        assert list(app.conn.execute(sql, edition)) == list(
            app.conn.execute(queries.BROWSE_SQL, edition)
        )
    page = args | {"limit": 7, "offset": 3}
    assert list(app.conn.execute(queries.BROWSE_WALK_SQL, page)) == wide[3:10]
    ids = [entry_id for (entry_id,) in wide]
    scope = _scope(app, params)
    assert queries.browse(app.conn, scope, 500, 0) == ids  # by values read in order, merged
    assert queries.browse(app.conn, scope, 7, 3) == ids[3:10]
    assert queries.browse(app.conn, scope, 7, len(ids) - 2) == ids[-2:]
    narrowed = queries.SearchScope(**{**scope.__dict__, "edition": "2024"})
    expected = list(
        app.conn.execute(queries.BROWSE_SQL, narrowed.args() | {"limit": 500, "offset": 0})
    )
    assert queries.browse(app.conn, narrowed, 500, 0) == [i for (i,) in expected]


def test_a_renamed_entry_moves_in_filtered_listings(app: App) -> None:
    """Each attribute row keeps its entry's place in listings; renaming the entry in place (a
    pack reinstalled with a new name for the same slug) moves it, before attributes are read
    again."""
    app.search.ensure_attributes()
    wolf = app.conn.execute(
        "SELECT e.id FROM entry e JOIN resolved r ON r.entry_id = e.id "
        "AND r.profile_id = (SELECT id FROM profile WHERE name = ?) "
        "WHERE e.collection = 'monsters' AND e.slug = 'wolf'",
        (app.profile,),
    ).get
    app.conn.execute("UPDATE entry SET norm_name = 'aaaa wolf' WHERE id = ?", (wolf,))
    order = "SELECT DISTINCT sort_key FROM entry_attr_order WHERE entry_id = ?"
    pack = app.conn.execute("SELECT pack_id FROM entry WHERE id = ?", (wolf,)).get
    assert [k for (k,) in app.conn.execute(order, (wolf,))] == [f"aaaa wolf\x01monsters\x01{pack}"]
    params = decode({"query": "", "filters": {"speed": "walk"}, "limit": 3}, SearchParams)
    from d5e_daemon.features.search import _scope

    assert queries.browse(app.conn, _scope(app, params), 3, 0)[0] == wolf


def test_many_values_of_a_range_are_sorted_instead(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A range over more values than are merged (a wide CR range) lists the same entries."""
    from d5e_daemon.features.search import _scope

    app.search.ensure_attributes()
    params = decode({"query": "", "filters": {"cr": {"min": 0, "max": 30}}}, SearchParams)
    scope = _scope(app, params)
    merged = queries.browse(app.conn, scope, 50, 10)
    monkeypatch.setattr(queries.search, "MERGED_VALUES", 3)
    assert queries.browse(app.conn, scope, 50, 10) == merged


def test_homebrew_of_any_shape_gets_them_too(app: App, tmp_path: Path) -> None:
    monster = (
        "---\nname: Cinder Hound\nchallenge_rating: 2\ndamage_immunities: [fire]\n"
        "senses: darkvision 90 ft., passive Perception 12\nspeed: 40 ft., climb 20 ft.\n"
        "languages: understands Ignan but can't speak\nalignment: neutral evil\n"
        "special_abilities:\n  - name: Innate Spellcasting\n    desc: |\n"
        "      The hound's innate spellcasting ability is Charisma.\n"
        "      At will: produce flame\n      1/day each: fireball, scorching ray\n---\n"
    )
    pack = write_pack(tmp_path / "brew", {"monsters/cinder-hound.md": monster})
    app.db.write(partial(app.library.install_path, path=pack))
    app.search.ensure_attributes()
    assert "cinder-hound" in slugs(app, immune="fire", sense="darkvision 90", speed="climb")
    assert "cinder-hound" in slugs(app, casts="fireball") & slugs(app, casts="Produce Flame")
    assert "cinder-hound" not in slugs(app, sense="darkvision 120")
    assert "cinder-hound" in slugs(app, alignment="ne")


def test_cli_filters(db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["search", "-f", "casts=counterspell", "--json", "--db", str(db_path)])
    out, _ = capsys.readouterr()
    assert code == 0
    assert {h["name"] for h in json.loads(out)["hits"]} == {"Archmage", "Lich", "Mage"}
    code = main(["search", "-f", "range=150", "-f", "save=dex", "--db", str(db_path)])
    out, _ = capsys.readouterr()
    assert code == 0 and "Fireball" in out
    code = main(["search", "-f", "immune=plasma", "--db", str(db_path)])
    _, err = capsys.readouterr()
    assert code == 1 and "filter 'immune' takes one of" in err


def test_a_5etools_homebrew_file_gets_them_and_counts_in_encounters(app: App) -> None:
    """The 5etools loader writes d5e's fields: its monsters are found by the same filters and
    counted by their CR."""
    fixture = Path(__file__).parents[1] / "plugins/d5e-5etools/tests/fixtures"
    app.db.write(partial(app.library.install_path, path=fixture / "Test Author; Ember Wilds.json"))
    app.search.ensure_attributes()
    found = slugs(app, immune="fire", speed="hover", sense="darkvision 60", environment="forest")
    assert "ash-wolf" in found
    params = {"party": [1, 1], "monsters": [{"name": "Ash Wolf", "count": 2}]}
    result = encounter(app, decode(params, EncounterParams))
    assert (result.per_monster[0].cr, result.xp) == (1.0, 400)


def test_casts_and_grants_read_spell_names_only(app: App) -> None:
    """Precision of the text fallback on the SRD: every name `casts` and `grants` read from the
    SRD's monsters and magic items is a spell's (the SRD's, or a real spell it does not hold),
    never a piece of the sentence around one; names holding "or" and the 2024 text's flattened
    tables of charges are read whole."""
    from d5e_daemon.text import normalize

    spells = {
        normalize(name)
        for (name,) in app.conn.execute("SELECT name FROM entry WHERE collection = 'spells'")
    }
    not_in_the_srd = {"vitriolic sphere", "tsunami"}
    read: dict[tuple[str, str], list[Any]] = {}
    for pack, collection, name, data in app.conn.execute(
        "SELECT pack_id, collection, name, data FROM entry "
        "WHERE collection IN ('monsters', 'magic-items') AND pack_id LIKE 'srd-%'"
    ):
        which = filters.BY_NAME["casts" if collection == "monsters" else "grants"]
        read[(pack, name)] = list(which.extract(json.loads(data)))
    names = [v for values in read.values() for v in values]
    assert len(names) > 500
    assert {v for v in names if v not in spells} <= not_in_the_srd
    assert "create or destroy water" in read[("srd-2014", "Ring of Elemental Command")]
    assert {"locate animals or plants", "pass without trace", "wall of thorns"} <= set(
        read[("srd-2024", "Staff of the Woodlands")]
    )
    assert {"earthquake", "stone shape"} <= set(read[("srd-2024", "Ring of Elemental Command")])
    assert read[("srd-2014", "Wand of Fireballs")] == ["fireball"]  # not "version of the"
    assert read[("srd-2024", "Ring of Telekinesis")] == ["telekinesis"]
    assert read[("srd-2024", "Wand of Wonder")] == ["enlarge reduce"]
