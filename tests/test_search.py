"""d5e/search in process, with the fake embedder: filters, browsing, modes, bad input, winners,
and the index (incremental, cached across databases, resumable). The real model: test_embed.py.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import apsw
import msgspec
import pytest

from d5e_daemon import Entry, Pack, PackSource, db, hookimpl, queries
from d5e_daemon.app import App
from d5e_daemon.errors import IndexNotReady, InvalidParams, NotFound
from d5e_daemon.features import search as ranking
from d5e_daemon.features.complete import complete
from d5e_daemon.features.lookup import lookup
from d5e_daemon.features.packs import set_priority
from d5e_daemon.features.search import (
    BELOW_SRD_PRIOR,
    DISGUISE_WEIGHT,
    FIRST_PERSON_WEIGHT,
    FORM_WEIGHT,
    KEYWORD_DOUBT,
    KEYWORD_WEIGHT,
    QUESTION_KEYWORD_SHARE,
    SCENE_SHARE,
    VECTOR_SPREAD_FLOOR,
    asks,
    first_person,
    fuse,
    guises,
    keyword_weight,
    named_as,
    pack_groups,
    query_vector,
    query_words,
    scene,
    search,
    search_filters,
    settle,
    without_scene,
)
from d5e_daemon.plugins import get_plugins
from d5e_daemon.protocol import (
    CompleteParams,
    LookupParams,
    SearchFiltersParams,
    SearchParams,
    SetPriorityParams,
    decode,
)
from d5e_daemon.queries import SearchScope
from d5e_daemon.search import retrieval
from d5e_daemon.search.embed import FakeEmbedder
from d5e_daemon.search.passages import PassageIndex, split
from d5e_daemon.settings import build

from .brew import BREW, ENTRIES, BrewPlugin
from .conftest import make_app


def ask(app: App, **params: Any) -> Any:
    return search(app, decode(params, SearchParams))


def srd_rows(app: App, collection: str) -> list[tuple[str, dict[str, Any]]]:
    """(ref, data) of the profile's winners in a collection, straight from the database."""
    return [
        (f"{collection}/{slug}", json.loads(data))
        for slug, data in app.conn.execute(
            "SELECT e.slug, e.data FROM entry e JOIN resolved r ON r.entry_id = e.id "
            "AND r.profile_id = (SELECT id FROM profile WHERE name = ?) WHERE e.collection = ?",
            (app.profile, collection),
        )
    ]


# -- browsing by attributes -------------------------------------------------------------------


def test_third_level_evocation_spells_are_listed_by_name(attributed: App) -> None:
    result = ask(attributed, filters={"level": 3, "school": "Evocation"}, limit=100)
    expected = sorted(
        ref
        for ref, data in srd_rows(attributed, "spells")
        if data["level"] == 3 and data["school"]["name"] == "Evocation"
    )
    assert sorted(h.ref for h in result.hits) == expected
    assert "spells/fireball" in expected and len(expected) >= 5
    names = [h.name for h in result.hits]
    assert names == sorted(names, key=str.lower)
    assert result.semantic is False
    assert all(h.snippet.startswith("3rd-level evocation") for h in result.hits)


def test_undead_of_cr_5_to_8_match_case_insensitively(attributed: App) -> None:
    result = ask(attributed, filters={"cr": {"min": 5, "max": 8}, "type": "UNDEAD"}, limit=100)
    expected = {
        ref
        for ref, data in srd_rows(attributed, "monsters")
        if data["type"] == "undead" and 5 <= data["challenge_rating"] <= 8
    }
    assert {h.ref for h in result.hits} == expected and expected


def test_browsing_pages_through_the_whole_list(attributed: App) -> None:
    everything = [h.ref for h in ask(attributed, filters={"level": 1}, limit=500).hits]
    paged = []
    for offset in range(0, len(everything), 7):
        paged += [h.ref for h in ask(attributed, filters={"level": 1}, limit=7, offset=offset).hits]
    assert paged == everything and len(everything) > 40


def test_list_values_mean_any_of_them_and_booleans_filter(attributed: App) -> None:
    hits = ask(attributed, filters={"class": ["bard", "Warlock"], "ritual": True}, limit=200).hits
    expected = {
        ref
        for ref, data in srd_rows(attributed, "spells")
        if data.get("ritual") is True and {c["name"] for c in data["classes"]} & {"Bard", "Warlock"}
    }
    assert {h.ref for h in hits} == expected and expected


def test_filters_narrow_a_text_search_inside_the_query(indexed: App) -> None:
    """Only fire spells of level 3 come back, however many other entries match the words:
    the filter is applied in SQL, not to a cut top-k."""
    hits = ask(indexed, query="fire", filters={"level": 3, "damage": "fire"}, limit=50).hits
    assert hits and all(h.collection == "spells" for h in hits)
    data = dict(srd_rows(indexed, "spells"))
    assert all(data[h.ref]["level"] == 3 for h in hits)
    assert "spells/fireball" in [h.ref for h in hits]


@pytest.fixture
def app2024(attributed_db: Path) -> Iterator[App]:
    """A 2024 profile on the attributed SRD copy (its keyword searches make no attributes)."""
    app = make_app(attributed_db, edition="2024")
    yield app
    app.close()


def test_collections_packs_and_edition_limit_the_results(app2024: App) -> None:
    hits = ask(app2024, query="dragon", collections=["monsters"], limit=50, mode="keyword").hits
    assert hits and {h.collection for h in hits} == {"monsters"}
    only_2014 = ask(app2024, query="sword", edition="2014", limit=50, mode="keyword").hits
    assert only_2014 and {h.pack for h in only_2014} == {"srd-2014"}
    by_pack = ask(app2024, query="sword", packs=["srd-2024"], limit=50, mode="keyword").hits
    assert by_pack and {h.pack for h in by_pack} == {"srd-2024"}


def test_only_the_winners_of_the_profile_are_returned(attributed_db: Path) -> None:
    settings = build({"db": str(attributed_db), "builtinPacks": ["srd-2014", "srd-2024", BREW.id]})
    app = App(settings, plugins=get_plugins(extra=(BrewPlugin(),)))
    app.start()
    try:
        hits = ask(app, query="goblin", mode="keyword", limit=50).hits
        goblins = [h for h in hits if h.ref == "monsters/goblin"]
        assert [h.pack for h in goblins] == [BREW.id]  # the homebrew one replaces the SRD's
        listed = ask(app, filters={"type": "humanoid", "cr": 0.5}, limit=100).hits
        assert [h.pack for h in listed if h.ref == "monsters/goblin"] == [BREW.id]
    finally:
        app.close()


COPIES = Pack(
    id="test-copies", title="Copies", version="1", license="CC0", edition="2024", default_priority=5
)
COPY_ENTRIES = [
    Entry(  # the SRD's Fireball under another slug, as Open5e's copies of the SRD name theirs
        collection="spells",
        slug="srd-fireball",
        name="Fireball",
        data={"level": 3, "school": {"name": "Evocation"}, "desc": ["A ball of flame."]},
    ),
    Entry(
        collection="spells",
        slug="blazing-orb",
        name="Blazing Orb",
        data={"level": 3, "school": {"name": "Evocation"}, "desc": ["An orb of flame."]},
    ),
]


class CopiesPlugin:
    __name__ = "test-copies-plugin"

    @hookimpl
    def register_packs(self, register: Callable[[PackSource], None]) -> None:
        register(PackSource(pack=COPIES, load=lambda: list(COPY_ENTRIES)))


def copies_app(db_path: Path, **settings: Any) -> App:
    packs = {"builtinPacks": ["srd-2014", COPIES.id], "packs": {"srd-2014": 10, COPIES.id: 5}}
    app = App(
        build({"db": str(db_path), **packs, **settings}),
        plugins=get_plugins(extra=(CopiesPlugin(),)),
    )
    app.start()
    return app


def test_same_named_entries_of_several_packs_are_one_hit(attributed_db: Path) -> None:
    """A large library holds the same entry in several packs under other slugs (Open5e's copy
    of the SRD, a 2024 edition beside a 2014 one): it is one hit, the entry of the pack the
    profile ranks highest, naming the others; a search of that pack alone still finds its own."""
    app = copies_app(attributed_db)
    try:
        for mode in ("keyword", "hybrid"):
            hits = ask(app, query="fireball", mode=mode, limit=50).hits
            fireballs = [h for h in hits if h.name == "Fireball"]
            assert [(h.pack, h.ref) for h in fireballs] == [("srd-2014", "spells/fireball")]
            assert [(a.pack, a.ref) for a in fireballs[0].also] == [
                (COPIES.id, "spells/srd-fireball")
            ]
        wire = msgspec.to_builtins(ask(app, query="fireball", mode="keyword").hits[0])
        assert wire["also"] == [
            {"ref": "spells/srd-fireball", "pack": COPIES.id, "name": "Fireball",
             "collection": "spells"}
        ]  # fmt: skip
        own = ask(app, query="fireball", packs=[COPIES.id], mode="keyword").hits
        assert [(h.pack, h.ref, h.also) for h in own][:1] == [
            (COPIES.id, "spells/srd-fireball", [])
        ]
        other = ask(app, query="orb of flame", mode="keyword").hits
        assert "also" not in msgspec.to_builtins(other[0])  # left off when there are none
    finally:
        app.close()


def test_the_pack_the_profile_ranks_highest_stands_for_the_others(attributed_db: Path) -> None:
    app = copies_app(attributed_db, packs={COPIES.id: 50})
    try:
        hits = [h for h in ask(app, query="fireball", mode="keyword").hits if h.name == "Fireball"]
        assert [(h.pack, [a.pack for a in h.also]) for h in hits] == [(COPIES.id, ["srd-2014"])]
    finally:
        app.close()


def test_entries_of_another_edition_than_the_profiles_weigh_less(attributed_db: Path) -> None:
    app = copies_app(attributed_db)
    try:
        (orb,) = [i for (i,) in app.conn.execute("SELECT id FROM entry WHERE slug = 'blazing-orb'")]
        (ball,) = [i for (i,) in app.conn.execute(
            "SELECT id FROM entry WHERE pack_id = 'srd-2014' AND slug = 'fireball'"
        )]  # fmt: skip
        ranked = [(orb, 1.5), (ball, 1.0)]
        settled, _ = settle(app, ranked, SearchScope(profile=app.profile), 1.0)
        assert [i for i, _ in settled] == [ball, orb]  # a 2024 spell in a 2014 profile
        assert dict(settled)[orb] == pytest.approx(0.5)
        asked = SearchScope(profile=app.profile, edition="2024")  # the edition asked for
        assert settle(app, ranked, asked, 1.0)[0] == ranked
    finally:
        app.close()


def test_entries_of_packs_the_profile_ranks_below_its_srd_weigh_less(attributed_db: Path) -> None:
    """A document installed beneath the SRD (Open5e's, by their loader) answers when the SRD
    does not, but does not crowd it out: the prior is taken from its fused score and noted in
    its boosts. Put at or above the SRD (homebrew's 50), it weighs as the SRD does."""
    app = copies_app(attributed_db)
    try:
        (orb,) = [i for (i,) in app.conn.execute("SELECT id FROM entry WHERE slug = 'blazing-orb'")]
        (ball,) = [i for (i,) in app.conn.execute(
            "SELECT id FROM entry WHERE pack_id = 'srd-2014' AND slug = 'fireball'"
        )]  # fmt: skip
        ranked = [(orb, 1.5), (ball, 1.0)]
        scope = SearchScope(profile=app.profile)
        taken: dict[int, dict[str, float]] = {}
        settled, _ = settle(app, ranked, scope, 0.0, 1.0, taken)
        assert [i for i, _ in settled] == [ball, orb]  # the copies' pack is at 5, the SRD at 10
        assert dict(settled)[orb] == pytest.approx(0.5)
        assert taken == {orb: {"below the SRD": -1.0}}
        assert settle(app, ranked, scope, 0.0, 0.0)[0] == ranked  # keyword and semantic modes
    finally:
        app.close()
    app = copies_app(attributed_db, packs={COPIES.id: 50})
    try:
        assert settle(app, ranked, scope, 0.0, 1.0)[0] == ranked
    finally:
        app.close()
    app = copies_app(attributed_db, packs={"srd-2014": 3})  # the SRD put beneath everything
    try:
        assert settle(app, ranked, scope, 0.0, 1.0)[0] == ranked
    finally:
        app.close()


async def test_a_commands_priority_for_a_collection_moves_lookup_completion_and_search(
    attributed_db: Path,
) -> None:
    """The settings give each pack its priority (`[packs]`); a command's priority for one
    collection is the more specific and stands: the Fireball it puts first is first in a
    lookup, in completion and in search, and a hybrid search no longer takes the below-the-SRD
    prior from the pack the profile now ranks above the SRD there. A command's priority for the
    whole pack is the settings' to overrule, and it says so."""
    app = copies_app(attributed_db)

    def firsts() -> tuple[str, list[str], list[str]]:
        named = lookup(app, LookupParams(name="fireball")).entry.pack
        offered = complete(app, CompleteParams(prefix="fireball", collections=["spells"])).items
        found = ask(app, query="fireball", mode="keyword").hits
        return (
            named,
            [i.pack for i in offered if i.name == "Fireball"],
            [h.pack for h in found if h.name == "Fireball"],
        )

    try:
        assert firsts() == ("srd-2014", ["srd-2014"], ["srd-2014"])
        whole = await set_priority(app, SetPriorityParams(pack=COPIES.id, priority=50))
        assert whole.warnings == [
            f"the settings set {COPIES.id}'s priority to 5; that wins over this command"
        ]
        assert firsts() == ("srd-2014", ["srd-2014"], ["srd-2014"])
        spells = SetPriorityParams(pack="srd-2014", priority=1, collection="spells")
        assert (await set_priority(app, spells)).warnings == []
        assert firsts() == (COPIES.id, [COPIES.id], [COPIES.id])
        (orb,) = [i for (i,) in app.conn.execute("SELECT id FROM entry WHERE slug = 'blazing-orb'")]
        taken: dict[int, dict[str, float]] = {}
        settle(app, [(orb, 1.0)], SearchScope(profile=app.profile), 0.0, 1.0, taken)
        assert taken == {}  # at 5 above the SRD's spells at 1
    finally:
        app.close()


async def test_a_connection_opened_again_serves_no_answer_remembered_by_the_old_one(
    attributed_db: Path,
) -> None:
    """What a search remembers until the database changes (`db.UntilChanged`: which pack's
    Fireball stands first) is keyed by the connection too: a connection opened in place of
    the main one (`writable_again`, leaving read-only service) counts `data_version` from its
    own start, and once it counts what the old one had counted, it must not be taken for it."""
    app = copies_app(attributed_db)
    try:

        def fireballs() -> list[str]:
            hits = ask(app, query="fireball", mode="keyword").hits
            return [h.pack for h in hits if h.name == "Fireball"]

        assert fireballs() == ["srd-2014"]
        seen = queries.data_version(app.conn)
        other = copies_app(attributed_db)  # another process puts the copies' Fireball first
        try:
            spells = SetPriorityParams(pack="srd-2014", priority=1, collection="spells")
            await set_priority(other, spells)
        finally:
            other.close()
        assert app.db.writable_again()
        commits = apsw.Connection(str(attributed_db))
        for _ in range(seen):  # other commits, until it counts as many
            if queries.data_version(app.conn) >= seen:
                break
            commits.execute("CREATE TABLE counted (x); DROP TABLE counted")
        assert queries.data_version(app.conn) == seen
        commits.close()
        assert lookup(app, LookupParams(name="fireball")).entry.pack == COPIES.id
        assert fireballs() == [COPIES.id]
    finally:
        app.close()


def test_explain_says_what_a_hybrid_search_took_from_a_hit(indexed_db: Path) -> None:
    from d5e_daemon.cli import _explain_text

    app = copies_app(indexed_db)  # the SRD's vectors made: the build embeds the copies' only
    try:
        assert app.search.build().ready
        hits = ask(app, query="blazing orb of flame", explain=True, limit=5).hits
        (orb,) = [h for h in hits if h.ref == "spells/blazing-orb"]
        assert orb.explain and orb.explain.boosts["below the SRD"] == -BELOW_SRD_PRIOR
        assert orb.explain.boosts["other edition"] == -1.0  # a 2024 pack in a 2014 profile
        srd = [h for h in hits if h.pack == "srd-2014"]
        assert srd and all(h.explain and "below the SRD" not in h.explain.boosts for h in srd)
        keyword = ask(app, query="blazing orb of flame", mode="keyword", explain=True).hits
        assert all(h.explain and not h.explain.boosts for h in keyword)
        line = _explain_text(orb.explain).plain
        assert f"-1.000 other edition, -{BELOW_SRD_PRIOR:.3f} below the SRD" in line
    finally:
        app.close()


# -- the filter list --------------------------------------------------------------------------


def test_filters_are_listed_with_their_types_and_values(attributed: App) -> None:
    listed = {f.name: f for f in search_filters(attributed, SearchFiltersParams()).filters}
    assert {"level", "school", "class", "concentration", "ritual", "damage"} <= set(listed)
    assert {"cr", "type", "size", "rarity", "attunement"} <= set(listed)
    assert listed["school"].type == "text" and "evocation" in listed["school"].values
    assert listed["cr"].type == "number" and 0.25 in listed["cr"].values
    assert listed["ritual"].values == [False, True]
    assert "very rare" in listed["rarity"].values
    only = search_filters(attributed, SearchFiltersParams(collections=["monsters"])).filters
    assert {f.name for f in only} == {
        *("cr", "type", "size", "immune", "resist", "vulnerable", "conditionImmune", "sense"),
        *("speed", "language", "alignment", "environment", "casts", "inflicts", "legendary"),
        "lair",
    }
    assert search_filters(attributed, SearchFiltersParams(collections=["conditions"])).filters == []
    with pytest.raises(NotFound) as caught:  # it answered an empty list: "No filters."
        search_filters(attributed, SearchFiltersParams(collections=["spells", "monster"]))
    assert caught.value.message == (
        "no installed pack has a collection 'monster'; did you mean 'monsters'?"
    )
    assert caught.value.data == {"path": "$.collections[1]"}


def test_a_search_waits_for_the_attributes_the_indexer_is_extracting(app: App) -> None:
    """Phase 1 (filter attributes, keyword texts) runs once: a search arriving while the
    background indexer extracts them waits for that run instead of doing the work again."""
    app.conn.execute("UPDATE entry_index SET attrs = NULL")  # as after a first install
    rendered: list[str] = []
    render = app.search.render

    def counting(entry: Any, purpose: str) -> str:
        rendered.append(entry.ref)
        return render(entry, purpose)

    app.search.render = counting
    barrier = threading.Barrier(2)

    def extract() -> None:
        conn = db.connect(app.search.db.path, migrate_now=False)  # the indexer's own
        barrier.wait()
        try:
            app.search.sync_attributes(conn)
        finally:
            conn.close()

    background = threading.Thread(target=extract)
    background.start()
    barrier.wait()
    result = ask(app, filters={"level": 3, "school": "Evocation"}, limit=100)
    background.join()
    entries = len(app.conn.execute("SELECT entry_id FROM entry_index").fetchall())
    assert len(rendered) == entries  # each entry extracted once, by one of the two
    assert "spells/fireball" in {h.ref for h in result.hits}


def test_every_filter_is_backed_by_an_index(attributed: App) -> None:
    """EXPLAIN QUERY PLAN: the attribute conditions are index searches, not table scans."""
    attributed.search.ensure_attributes()
    scope = queries.SearchScope(
        profile=attributed.profile, filters=[{"name": "level", "min": 3, "max": 3}]
    )
    args = scope.args() | {"limit": 20, "offset": 0}
    plan = " | ".join(str(row[3]) for row in attributed.conn.execute(
        "EXPLAIN QUERY PLAN " + queries.BROWSE_SQL, args
    ))  # fmt: skip
    assert "SEARCH a USING PRIMARY KEY (name=? AND value>? AND value<?)" in plan
    assert "SCAN a" not in plan and "SCAN entry_attr" not in plan
    assert "SCAN e" not in plan and "SCAN entry" not in plan  # entries by rowid only


# -- keyword, semantic and hybrid ---------------------------------------------------------------


def test_keyword_search_weighs_names_and_text(attributed: App) -> None:
    # the Necklace of Fireballs says "fireball" ten times; a name typed in full wins
    hits = ask(attributed, query="Fireball", mode="keyword", limit=5).hits
    assert hits[0].ref == "spells/fireball"
    assert "magic-items/necklace-of-fireballs" in [h.ref for h in hits]
    hits = ask(attributed, query="undead claws paralyzed unless elf", mode="keyword", limit=5).hits
    assert hits[0].ref == "monsters/ghoul"
    assert "**" in hits[0].snippet  # the matched words, in bold


def test_keywords_find_what_the_index_text_says(attributed: App) -> None:
    """Keyword search reads the index text: kinds and values the way players write them."""
    hits = ask(attributed, query="1st-level evocation", mode="keyword", limit=5).hits
    assert {h.collection for h in hits} == {"spells"}
    for hit in hits:
        data = queries.entry_in_pack(attributed.conn, hit.pack, "spells", hit.ref.split("/")[1])
        assert data is not None and data.entry().data["level"] == 1, hit.ref
        assert data.entry().data["school"]["name"] == "Evocation", hit.ref
    assert ask(attributed, query="bard cantrip psychic", mode="keyword").hits[0].ref == (
        "spells/vicious-mockery"
    )
    # a die written without its count finds the rolls that use it ("d8": "1d8 piercing damage"),
    # and its snippet shows the roll
    rapier = [
        h for h in ask(attributed, query="d8", mode="keyword", limit=50).hits if h.name == "Rapier"
    ]
    assert rapier and "**1d8** piercing damage" in rapier[0].snippet  # after its line of lore


def test_a_changed_entry_is_found_by_its_new_words_at_once(attributed_db: Path) -> None:
    """Live reload: the next search reads the new text, without waiting for the vectors."""
    settings = build({"db": str(attributed_db), "builtinPacks": ["srd-2014", BREW.id]})
    app = App(settings, plugins=get_plugins(extra=(BrewPlugin(),)))
    app.start()
    try:
        from d5e_daemon import packs

        goblin = next(e for e in ENTRIES if e.slug == "goblin")
        assert "monsters/goblin" not in refs(ask(app, query="marmalade", mode="keyword"))
        changed = goblin.__class__(**{
            **{f: getattr(goblin, f) for f in goblin.__struct_fields__},
            "data": {**goblin.data, "desc": "A goblin who hoards marmalade."},
        })  # fmt: skip
        others = [e for e in ENTRIES if e.slug != "goblin"]
        origin = app.plugins.pack_sources()[BREW.id].origin  # the plugin's pack, changed
        app.db.write(lambda conn: packs.install(conn, BREW, [*others, changed], origin))
        assert "monsters/goblin" in refs(ask(app, query="marmalade", mode="keyword"))
    finally:
        app.close()


def refs(result: Any) -> list[str]:
    return [h.ref for h in result.hits]


def test_hybrid_scores_keyword_hits_by_their_real_similarity() -> None:
    """An entry found by keywords but not among the nearest passages is not given a guessed
    similarity: of two such entries with the same keyword score, the closer in meaning wins."""
    keyword = [(1, 9.0), (2, 5.0), (3, 5.0)]
    nearest = [(10 + i, 0.6 - i / 100) for i in range(50)]
    semantic = [*nearest, (3, 0.40), (2, 0.10)]  # 2 and 3: similarities asked for afterwards
    ranked = [entry_id for entry_id, _ in fuse(keyword, semantic, {})]
    assert ranked.index(3) < ranked.index(2)


def test_a_dense_vector_list_does_not_magnify_hundredths_of_similarity() -> None:
    """A large library packs its nearest passages close together (here the best 50 within
    0.03 of similarity). An entry whose words match best (keyword first by far) and whose
    meaning is 0.06 behind the nearest is not buried by fifty entries that match no query word:
    the vector list's spread is taken as at least `VECTOR_SPREAD_FLOOR`. A list as spread out
    as the SRD's is standardised as before."""
    keyword = [(1, 10.5)] + [(100 + i, 9.0 - i * 0.08) for i in range(49)]
    dense = [(200 + i, 0.56 - i * 0.0006) for i in range(50)]
    semantic = [*dense, *((100 + i, 0.40) for i in range(49)), (1, 0.50)]
    assert fuse(keyword, semantic, {})[0][0] == 1

    spread_out = [(200 + i, 0.70 - i * 0.006) for i in range(50)]  # spread 0.087
    semantic = [*spread_out, *((100 + i, 0.30) for i in range(49)), (1, 0.50)]
    ranked = fuse(keyword, semantic, {})
    scores = [s for _, s in spread_out]
    mean = sum(scores) / 50
    spread = (sum((s - mean) ** 2 for s in scores) / 50) ** 0.5
    assert spread > VECTOR_SPREAD_FLOOR
    keyword_z = dict(keyword)[1] - sum(s for _, s in keyword) / 50
    keyword_z /= (sum((s - sum(s for _, s in keyword) / 50) ** 2 for _, s in keyword) / 50) ** 0.5
    expected = KEYWORD_WEIGHT * keyword_z + (1 - KEYWORD_WEIGHT) * (0.50 - mean) / spread
    assert dict(ranked)[1] == pytest.approx(expected)


def test_explain_gives_each_part_of_a_hits_score(indexed: App) -> None:
    """With `explain`, every hit says its keyword and vector scores and ranks, the passage
    that scored, and the boosts added; the fused score is what the parts add up to."""
    plain = ask(indexed, query="fire damage explosion", limit=5)
    result = ask(indexed, query="fire damage explosion", limit=5, explain=True)
    assert [h.ref for h in result.hits] == [h.ref for h in plain.hits]
    assert all(h.explain is None for h in plain.hits)
    for hit in result.hits:
        why = hit.explain
        assert why is not None and why.vector is not None and why.vector_rank is not None
        assert why.passage and why.passage.startswith(hit.name)
        assert why.coverage is not None and why.boosts["coverage"] == pytest.approx(
            2.0 * why.coverage, abs=1e-3
        )
    found = [h for h in result.hits if h.explain and h.explain.keyword is not None]
    assert found and all(h.explain and h.explain.keyword_rank for h in found)
    named = ask(indexed, query="Fireball", limit=3, explain=True).hits[0]
    assert named.ref == "spells/fireball" and named.explain and named.explain.named
    keyword = ask(indexed, query="fire damage", mode="keyword", limit=3, explain=True).hits[0]
    assert keyword.explain and keyword.explain.vector is None and keyword.explain.keyword


def test_explain_is_left_off_the_wire_unless_asked(indexed: App) -> None:
    import msgspec  # what the server sends: msgspec.to_builtins of the result

    plain = msgspec.to_builtins(ask(indexed, query="fireball", limit=1))
    assert "explain" not in plain["hits"][0]
    asked = msgspec.to_builtins(ask(indexed, query="fireball", limit=1, explain=True))
    why = asked["hits"][0]["explain"]
    assert {"keyword", "keywordRank", "vector", "vectorRank", "passage"} <= set(why)


def test_hybrid_answers_from_keywords_until_vectors_are_ready(attributed: App) -> None:
    app = attributed
    app.search = app.search_index(FakeEmbedder())
    result = ask(app, query="fireball")
    assert result.semantic is False and result.hits[0].ref == "spells/fireball"
    with pytest.raises(IndexNotReady) as err:
        ask(app, query="fireball", mode="semantic")
    assert err.value.code == -32003
    assert app.search.build().ready
    result = ask(app, query="fireball")
    assert result.semantic is True and result.hits[0].ref == "spells/fireball"


def test_semantic_search_ranks_by_the_best_passage(indexed: App) -> None:
    """A query equal to one passage of a long entry finds that entry first, scored ~1."""
    (text,) = indexed.conn.execute(
        "SELECT p.text FROM passage p JOIN entry e ON e.id = p.entry_id "
        "WHERE e.slug = 'adult-red-dragon' AND e.pack_id = 'srd-2014' AND p.ord = 2"
    ).fetchone()
    result = ask(indexed, query=text[:1900], mode="semantic", limit=5)
    assert result.semantic is True
    assert result.hits[0].ref == "monsters/adult-red-dragon"
    assert result.hits[0].score == pytest.approx(1.0, abs=0.01)
    scores = [h.score for h in result.hits]
    assert scores == sorted(scores, reverse=True) and all(-1.0 <= x <= 1.0 for x in scores)


def test_hybrid_pages_do_not_overlap(indexed: App) -> None:
    first = [h.ref for h in ask(indexed, query="fire damage", limit=10).hits]
    second = [h.ref for h in ask(indexed, query="fire damage", limit=10, offset=10).hits]
    both = [h.ref for h in ask(indexed, query="fire damage", limit=20).hits]
    assert first + second == both and not set(first) & set(second)


def pages_of(app: App, size: int, end: int, start: int = 0, **params: Any) -> list[str]:
    """The refs of pages of `size` from hit `start` to the `end`th, concatenated."""
    refs: list[str] = []
    for offset in range(start, end, size):
        refs += [h.ref for h in ask(app, limit=size, offset=offset, **params).hits]
    return refs


def shown(hits: Sequence[Any]) -> list[str]:
    """Every entry a page shows: each hit's and those it stands for (`also`)."""
    return [
        ref for h in hits for ref in (f"{h.pack}:{h.ref}", *(f"{a.pack}:{a.ref}" for a in h.also))
    ]


@pytest.mark.parametrize("mode", ["hybrid", "keyword", "semantic"])
def test_pages_are_slices_of_one_ranking_whatever_their_size(indexed: App, mode: str) -> None:
    """A hybrid search ranked `offset + limit` candidates of each list, so page 2 (offset 20)
    ranked another pool than page 1 and repeated or skipped hits. Pages of 1, 5, 10 and 20,
    across the first tiers' ends (the 50th and the 100th hit), are the one page of the most
    (500), each hit once, in one order; past its last hit a page is empty."""
    query = "fire damage to creatures in an area"
    everything = ask(indexed, query=query, limit=500, mode=mode).hits
    refs = [h.ref for h in everything]
    assert len(refs) > 120 and len(shown(everything)) == len(set(shown(everything)))
    for size in (5, 10, 20):
        assert pages_of(indexed, size, 120, query=query, mode=mode) == refs[:120], size
    assert pages_of(indexed, 1, 12, query=query, mode=mode) == refs[:12]
    assert pages_of(indexed, 1, 51, 48, query=query, mode=mode) == refs[48:51]
    again = ask(indexed, query=query, limit=500, mode=mode).hits
    assert [(h.ref, h.score) for h in again] == [(h.ref, h.score) for h in everything]
    with pytest.raises(InvalidParams, match="limit"):
        ask(indexed, query=query, limit=0, mode=mode)
    with pytest.raises(InvalidParams, match="limit"):
        ask(indexed, query=query, limit=501, mode=mode)


def test_a_page_past_the_last_hit_is_empty(indexed: App) -> None:
    query = "fireball"
    found = [h.ref for h in ask(indexed, query=query, limit=500, mode="keyword").hits]
    assert 0 < len(found) < 500
    last = ask(indexed, query=query, limit=1, offset=len(found) - 1, mode="keyword").hits
    assert [h.ref for h in last] == found[-1:]
    assert ask(indexed, query=query, limit=10, offset=len(found), mode="keyword").hits == []
    assert pages_of(indexed, 7, len(found) + 7, query=query, mode="keyword") == found


def test_pages_of_a_large_library_show_each_entry_once(attributed_db: Path) -> None:
    """Ranked in groups (`pack_groups`) and folded by name (`settle`): the pages of 10 are the
    page of 150, and no entry shows twice, neither as a hit nor as one a hit stands for."""
    app = copies_app(attributed_db)
    try:
        for mode in ("keyword", "hybrid"):
            everything = ask(app, query="fireball flame", limit=150, mode=mode).hits
            assert len(shown(everything)) == len(set(shown(everything)))
            paged = pages_of(app, 10, 150, query="fireball flame", mode=mode)
            assert paged == [h.ref for h in everything]
    finally:
        app.close()


def test_hybrid_runs_its_keyword_half_beside_the_semantic_half(
    indexed: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The keyword half of a hybrid search runs on the database's reader thread with its own
    connection while the calling thread does the semantic half, and finds what it finds on
    the caller's thread and connection; a keyword search runs it on the caller's thread."""
    calls: list[tuple[str, Any, tuple[Any, ...], Any]] = []
    keyword_hits = retrieval.keyword_hits

    def watched(*args: Any, **kwargs: Any) -> Any:
        found = keyword_hits(*args, **kwargs)
        calls.append((threading.current_thread().name, args, kwargs, found))
        return found

    monkeypatch.setattr(retrieval, "keyword_hits", watched)
    assert ask(indexed, query="breathe under water", limit=10).semantic is True
    ((thread, (conn,), kwargs, found),) = calls
    assert thread.startswith("d5e-db-reader") and conn is not indexed.conn
    assert found and keyword_hits(indexed.conn, **kwargs) == found
    ask(indexed, query="breathe under water", mode="keyword", limit=10)
    assert calls[1][:2] == (threading.current_thread().name, (indexed.conn,))


def test_an_entry_gone_between_the_two_halves_is_left_out(
    indexed: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The halves read on two connections: an entry removed by a commit in between (a pack
    removed) is missing from the second; the search answers without it instead of failing."""
    keyword_hits = retrieval.keyword_hits

    def with_a_ghost(*args: Any, **kwargs: Any) -> Any:
        return [(10**9, 99.0, False), *keyword_hits(*args, **kwargs)]

    monkeypatch.setattr(retrieval, "keyword_hits", with_a_ghost)
    result = ask(indexed, query="fireball", limit=10)
    assert result.hits and result.hits[0].ref == "spells/fireball"


def test_the_reader_thread_has_its_own_connection_and_closes_it(tmp_path: Path) -> None:
    from d5e_daemon.db import Database

    database = Database(tmp_path / "d5e.sqlite3")
    conn = database.read_beside(lambda c: c)()
    assert conn is not database.conn
    assert database.read_beside(lambda c: c)() is conn  # one per thread, kept
    assert conn.execute("SELECT count(*) FROM entry").fetchone() == (0,)
    database.close()
    with pytest.raises(apsw.ConnectionClosedError):
        conn.execute("SELECT 1")


# -- bad input -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "path", "words"),
    [
        (
            {"query": "x", "filters": {"lvl": 3}},
            "$.filters.lvl",
            "unknown filter 'lvl'; did you mean 'level'? The filters are: alignment,",
        ),
        ({"query": "", "filters": {"level": "high"}}, "$.filters.level", "filter 'level'"),
        ({"query": "", "filters": {"ritual": "yes"}}, "$.filters.ritual", "true or false"),
        ({"query": "", "filters": {"school": 3}}, "$.filters.school", "a string"),
        (
            {"query": "", "filters": {"cr": {"min": 8, "max": 5}}},
            "$.filters.cr",
            "filter 'cr': min 8 is above max 5: nothing is in it",
        ),
        ({"query": ""}, "$.query", "empty query"),
        ({"query": "   "}, "$.query", "empty query"),
    ],
)
def test_bad_filters_and_empty_queries_name_what_is_wrong(
    attributed: App, params: dict[str, Any], path: str, words: str
) -> None:
    with pytest.raises(InvalidParams) as err:
        ask(attributed, **params)
    assert err.value.code == -32602
    assert err.value.data == {"path": path} and words in err.value.message


@pytest.mark.parametrize("huge", [10**23, 10**400])
def test_a_number_past_sqlite_s_integers_in_a_filter_is_only_a_large_number(
    attributed: App, huge: int
) -> None:
    """`d5e search -f cr=99999999999999999999999` raised OverflowError from the database."""
    assert ask(attributed, query="", filters={"cr": huge}).hits == []
    assert ask(attributed, query="", filters={"level": huge}).hits == []
    if huge < 2**1024:  # a range's ends are doubles: a larger one is refused by the decoder
        wide = ask(attributed, query="", filters={"cr": {"min": 20, "max": huge}}, limit=50)
        assert wide.hits and all(hit.ref.startswith("monsters/") for hit in wide.hits)
    else:
        with pytest.raises(InvalidParams) as err:
            ask(attributed, query="", filters={"cr": {"min": 20, "max": huge}})
        assert err.value.data == {"path": "$.filters.cr.max"}


def test_huge_queries_and_wrong_types_are_refused_by_the_decoder() -> None:
    with pytest.raises(InvalidParams) as err:
        decode({"query": "fire " * 20_000}, SearchParams)
    assert err.value.data == {"path": "$.query"}
    with pytest.raises(InvalidParams) as err:
        decode({"query": "x", "mode": "fuzzy"}, SearchParams)
    assert err.value.data == {"path": "$.mode"}
    with pytest.raises(InvalidParams) as err:
        decode({"query": "x", "filters": {"cr": {"min": 5, "mx": 8}}}, SearchParams)
    assert "mx" in err.value.message
    # a bad value inside the filters mapping is named by its filter, not msgspec's `[...]`
    with pytest.raises(InvalidParams) as err:
        decode({"query": "", "filters": {"level": 3, "cr": {"min": 5, "max": "x"}}}, SearchParams)
    assert err.value.message == "Expected `float | null`, got `str` - at `$.filters.cr.max`"
    assert err.value.data == {"path": "$.filters.cr.max"}
    with pytest.raises(InvalidParams) as err:  # a closed set names its choices
        decode({"query": "x", "mode": "fuzzy"}, SearchParams)
    assert err.value.message == (
        "Invalid enum value 'fuzzy' (one of 'hybrid', 'keyword', 'semantic') - at `$.mode`"
    )


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ('fire" OR "', ["fire"]),  # "or" is a stop word
        ("NEAR(fire ice)", ["near", "fire", "ice"]),
        ("fire AND NOT ice", ["fire", "not", "ice"]),
        ("col:fire", ["col", "fire"]),
        ("^fire*", ["fire"]),
    ],
)
def test_fts_operators_and_quotes_are_plain_words(
    indexed: App, query: str, words: list[str]
) -> None:
    assert keyword_query(query) == " OR ".join(f'"{w}"' for w in words)
    hits = ask(indexed, query=query, limit=5, mode="keyword").hits
    assert hits and all(any(w in (h.name + h.snippet).lower() for w in words) for h in hits)
    assert ask(indexed, query=query, limit=5).hits


@pytest.mark.parametrize("query", ['"', "*", "(((", "-- ;"])
def test_a_query_without_words_is_an_empty_query(indexed: App, query: str) -> None:
    with pytest.raises(InvalidParams) as err:
        ask(indexed, query=query)
    assert err.value.data == {"path": "$.query"}
    assert ask(indexed, query=query, filters={"level": 9}).hits  # then filters list entries


def test_query_words_are_split_where_the_index_splits_them() -> None:
    """Apostrophes split words in the index ("can't" is "can" and "t"): a query's contractions
    leave nothing to match, its possessives their word."""
    assert keyword_query("the ghoul can't hear; isn't it an elf?") == '"ghoul" OR "hear" OR "elf"'
    possessives = keyword_query("a foe's body, thieves' tools")
    assert possessives == '"foe" OR "body" OR "thieves" OR "tools"'


def keyword_query(text: str) -> str:
    """The FTS5 query keyword search hands to FTS5 for `text`."""
    return queries.fts_any(query_words(text))


def test_a_query_of_stop_words_only_finds_no_keywords_but_no_error(attributed: App) -> None:
    assert keyword_query("what is the") == ""
    assert ask(attributed, query="what is the", mode="keyword").hits == []


# -- the index ---------------------------------------------------------------------------------


def test_status_shows_the_index_state(attributed: App) -> None:
    from d5e_daemon.features.status import status

    app = attributed  # attributes made, no vector yet
    app.search = app.search_index(FakeEmbedder())
    before = status(app).index
    assert before is not None and not before.ready and before.indexed == 0
    assert before.entries > 1500 and before.model == "fake-bow-384"
    app.search.build()
    after = status(app).index
    assert after is not None and after.ready and after.indexed == after.entries


def test_only_new_or_changed_entries_are_embedded_again(attributed_db: Path) -> None:
    settings = build({"db": str(attributed_db), "builtinPacks": ["srd-2014", "srd-2024", BREW.id]})
    plugin = BrewPlugin()
    app = App(settings, plugins=get_plugins(extra=(plugin,)))
    app.start()
    try:
        fake = FakeEmbedder()
        app.search = app.search_index(fake)
        app.search.build()
        first = fake.texts_embedded
        assert first > 1500
        app.search.build()
        assert fake.texts_embedded == first  # nothing changed: nothing embedded

        changed = [*ENTRIES[:1], ENTRIES[1].__class__(**{
            **{f: getattr(ENTRIES[1], f) for f in ENTRIES[1].__struct_fields__},
            "data": {**ENTRIES[1].data, "desc": "A goblin who breathes fire."},
        })]  # fmt: skip
        from d5e_daemon import packs

        origin = app.plugins.pack_sources()[BREW.id].origin  # the plugin's pack, changed
        app.db.write(lambda conn: packs.install(conn, BREW, changed, origin))
        app.library.changed([BREW.id])
        # the reinstalled pack's entries are new rows; only the changed text is not cached
        state = app.search.build()
        assert state.ready
        assert 1 <= fake.texts_embedded - first <= 2
    finally:
        app.close()


class Renderer:
    __name__ = "test-renderer-plugin"

    @hookimpl
    def render_text(self, entry: Entry, purpose: str) -> str | None:
        return None


def test_a_plugin_that_renders_nothing_keeps_the_index_and_a_renderer_does_not(
    indexed_db: Path,
) -> None:
    """The index's texts and vectors are keyed by the plugins that render (`render_text`): a
    plugin that only brings a pack adds its entries' vectors to the SRD's (it made the whole
    library's again); a renderer's texts are others, so the index is not ready for it."""
    settings = build({"db": str(indexed_db), "builtinPacks": ["srd-2014", "srd-2024", BREW.id]})
    app = App(settings, plugins=get_plugins(extra=(BrewPlugin(),)))
    app.start()
    try:
        assert "test-brew-plugin" not in app.renderers()
        fake = FakeEmbedder()
        app.search = app.search_index(fake)
        assert app.search.build().ready
        assert 0 < fake.texts_embedded <= 2 * len(ENTRIES)  # the brew's passages only
    finally:
        app.close()
    app = App(build({"db": str(indexed_db)}), plugins=get_plugins(extra=(Renderer(),)))
    app.start()
    try:
        assert "test-renderer-plugin" in app.renderers()
        state = app.search_index(FakeEmbedder()).state()
        assert state.indexed == 0 and not state.ready
    finally:
        app.close()


@pytest.mark.slow
def test_vectors_are_cached_across_databases(
    attributed: App, attributed_template: Path, tmp_path: Path
) -> None:
    """Both databases are copies of the SRD with its filter attributes and keyword texts made
    (the first phase of a build, ~half its CPU, holds no vector)."""
    fake = FakeEmbedder()
    attributed.search = attributed.search_index(fake)
    attributed.search.build()
    assert fake.texts_embedded > 1500
    # another SRD database: a copy (a first start installing both packs was ~1 s of CPU)
    path = tmp_path / "other" / "d5e.sqlite3"
    path.parent.mkdir()
    shutil.copy(attributed_template, path)
    other = make_app(path)
    try:
        second = FakeEmbedder()
        other.search = other.search_index(second)
        assert other.search.build().ready
        assert second.texts_embedded == 0  # every text came from the cache
        assert ask(other, query="fireball").semantic is True
    finally:
        other.close()


def test_another_model_embeds_everything_again(indexed: App) -> None:
    other = FakeEmbedder(model_id="fake-bow-384-v2")
    indexed.search = indexed.search_index(other)
    assert not indexed.search.state().ready
    assert indexed.search.build().ready
    assert other.texts_embedded > 1500
    rows = indexed.conn.execute("SELECT DISTINCT model FROM passage").fetchall()
    assert rows == [("fake-bow-384-v2",)]


def test_an_interrupted_index_resumes_where_it_stopped(attributed: App) -> None:
    app = attributed  # the vectors' phase is the one interrupted
    fake = FakeEmbedder()
    app.search = app.search_index(fake)
    seen: list[tuple[int, int]] = []

    def stop_after_two_batches(done: int, total: int) -> None:
        seen.append((done, total))
        if len(seen) == 3:
            app.search.stop()

    partial = app.search.build(progress=stop_after_two_batches)
    assert 0 < partial.indexed < partial.entries and not partial.ready
    app.search.resume()
    done = app.search.build(progress=lambda d, t: seen.append((d, t)))
    assert done.ready
    # the second run started from what was left, and the first run's texts were not redone
    assert seen[3] == (0, partial.entries - partial.indexed)
    distinct = app.conn.execute("SELECT count(DISTINCT text_hash) FROM passage").fetchone()[0]
    assert fake.texts_embedded == distinct  # every text embedded exactly once


def test_shutting_down_stops_the_first_phase_within_its_batch_and_keeps_what_it_made(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The daemon's `shutdown` waits for the indexer: the attribute phase (the whole SRD is one
    batch) stops at the next entry, and what it made is kept for the next start."""
    from d5e_daemon import filters

    real = filters.attributes
    calls: list[str] = []

    def stop_at_the_tenth(collection: str, data: dict[str, Any]) -> list[tuple[str, Any]]:
        calls.append(collection)
        if len(calls) == 10:
            app.search.stop()
        return real(collection, data)

    monkeypatch.setattr(filters, "attributes", stop_at_the_tenth)
    assert app.search.sync_attributes() == 10
    assert not app.search.attributes_current()
    app.search.resume()
    monkeypatch.setattr(filters, "attributes", real)
    assert app.search.sync_attributes() > 300  # the rest, not those ten again
    assert app.search.attributes_current()


def test_deleting_a_pack_removes_its_vectors(indexed: App) -> None:
    def count(conn: apsw.Connection) -> tuple[int, int]:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM passage), "
            "(SELECT count(*) FROM passage_vector) + (SELECT count(*) FROM passage_code)"
        ).fetchone()
        assert row is not None
        return int(row[0]), int(row[1])

    passages, vectors_and_codes = count(indexed.conn)
    assert 2 * passages == vectors_and_codes > 3000
    indexed.db.write(lambda conn: conn.execute("DELETE FROM entry WHERE pack_id = 'srd-2014'"))
    assert count(indexed.conn) == (0, 0)


def test_long_entries_are_split_into_passages_that_repeat_the_header() -> None:
    fake = FakeEmbedder()
    paragraphs = [f"Paragraph {i} says " + "many words " * 30 + "." for i in range(6)]
    text = "Big Thing: rules\n" + "\n".join(paragraphs)
    passages = split(text, fake.count_tokens, 100)
    assert len(passages) >= 3
    assert all(p.startswith("Big Thing: rules\n") for p in passages)
    assert all(fake.count_tokens([p])[0] <= 100 for p in passages)
    body = " ".join(p.split("\n", 1)[1] for p in passages)
    assert all(f"Paragraph {i}" in body for i in range(6))
    assert split("Small: spell\nshort text", fake.count_tokens, 100) == ["Small: spell\nshort text"]


def test_a_lead_paragraph_is_also_a_passage_of_its_own() -> None:
    """With `lead` (monsters, spells, conditions, …), the first paragraph (what it is and
    does) is embedded alone as well, without the header's challenge rating or level, before
    the passages of the whole text; a text of one paragraph needs no such passage."""
    fake = FakeEmbedder()
    text = "Ghoul: CR 1 medium undead\nGhoul is a medium undead.\nchaotic evil.\nClaws: paralyzed."
    passages = split(text, fake.count_tokens, 100, lead=True)
    assert passages == ["Ghoul is a medium undead.", text]
    assert split(text, fake.count_tokens, 100) == [text]
    one = "Blob: ooze\nBlob is an ooze."
    assert split(one, fake.count_tokens, 100, lead=True) == [one]


def test_the_keyword_list_weighs_less_when_its_best_hits_hold_few_query_words() -> None:
    """A description in other words than the entries' ("winged horse"): BM25 still ranks
    whatever shares one word, and that list then counts for less in the fusion."""
    keyword = [(1, 9.0), (2, 5.0), (3, 4.0)]
    full = keyword_weight(keyword, {1: 0.5, 3: 1.0})
    assert full == pytest.approx(KEYWORD_WEIGHT)
    half = keyword_weight(keyword, {1: 0.5, 2: 0.5})
    assert half == pytest.approx(KEYWORD_WEIGHT * (1 - KEYWORD_DOUBT * 0.5))
    assert keyword_weight(keyword, {}) == pytest.approx(KEYWORD_WEIGHT * (1 - KEYWORD_DOUBT))
    assert keyword_weight([], {}) == pytest.approx(KEYWORD_WEIGHT)
    asked = keyword_weight(keyword, {1: 0.5, 2: 0.5}, question=True)
    assert asked == pytest.approx(half * QUESTION_KEYWORD_SHARE) and asked < half


@pytest.mark.parametrize(
    "query",
    [
        "how long can I hold my breath?",
        "What happens when I fall 60 feet",
        "can a wizard copy spells from a scroll",
        "Does rage end when I'm knocked out",
        "  which ring makes you invisible",
        "breath weapon recharge?",
        "is this wine poisoned ?",
    ],
)
def test_a_question_is_known_by_its_first_word_or_question_mark(query: str) -> None:
    assert asks(query)


@pytest.mark.parametrize(
    "query",
    [
        "undead whose touch paralyses",
        "we need to swim down to the sunken temple",
        "the door is locked and nobody can pick it",
        "whatever hits it takes fire damage",  # "what" only as a whole word
        "Howling wind that knocks creatures prone",
        "a cantrip I can cast at will",
        "",
    ],
)
def test_statements_and_requests_are_not_questions(query: str) -> None:
    assert not asks(query)


@pytest.mark.parametrize(
    ("query", "given", "left"),
    [
        (
            "the trolls chased us up a tree, get us down",
            {"troll", "chased"},
            "us up a tree, get us down",
        ),
        ("how do we get down? the trolls chased us up a tree", {"troll", "chased"}, None),
        (
            "we hide from the bandit captain's men in a barrel",
            {"bandit", "captain", "men"},
            "we hide from in a barrel",
        ),
        ("The Wizards cast a spell at us", {"wizard", "cast"}, "a spell at us"),
    ],
)
def test_a_situation_s_scene_is_what_follows_the(
    query: str, given: set[str], left: str | None
) -> None:
    """A situation's scene: up to two words after `the` (a possessive ends a phrase), singular;
    a question keeps its words (its `the` is mostly its topic)."""
    assert scene(query) == given
    assert without_scene(query) == left


@pytest.mark.parametrize(
    "query",
    [
        "a toad so big it swallows a halfling whole",  # a description: its nouns are the answer
        "what is the ethereal plane",  # the topic of a question
        "how does the proficiency bonus grow",
        "cast the sleep spell on them",  # a phrase naming a collection: what is asked
        "fireball",
        "",
    ],
)
def test_descriptions_topics_and_named_kinds_are_no_scene(query: str) -> None:
    assert not scene(query)
    assert without_scene(query) is None


@pytest.mark.parametrize(
    ("query", "found", "forms"),
    [
        ("turn someone into a frog", [["frog"]], [["frog"]]),
        ("the druid shifts into a dire wolf", [["dire", "wolf"]], [["dire", "wolf"]]),
        ("a chest that is secretly a monster", [["chest"]], []),
        ("a treasure chest which is really a mimic", [["treasure", "chest"]], []),
        ("a shapeshifter pretending to be the baron's knight", [["baron"]], []),
        ("a gargoyle that looks like a statue", [["statue"]], []),
        ("we pass ourselves off as merchants", [["merchant"]], []),
        ("a monster disguised as a door", [["door"]], []),
        ("walk into the camp", [], []),  # no turning: a place, not a form
        ("turn the key, the door swings into the room", [], []),  # punctuation ends the reach
        ("it looks at the statue", [], []),
    ],
)
def test_what_a_query_turns_into_or_disguises_as_is_a_guise(
    query: str, found: list[list[str]], forms: list[list[str]]
) -> None:
    """The form something is turned into, the guise it wears: up to two words, singular."""
    assert guises(query) == found
    assert guises(query, disguises=False) == forms


def test_entries_a_guise_names_are_those_whose_name_ends_in_it() -> None:
    names = {
        1: "frog",
        2: "giant frog",
        3: "cloak of the bat",
        4: "bat",
        5: "frog prince king",
        6: "polymorph",
    }
    assert named_as(names, [["frog"]]) == {1, 2}
    assert named_as(names, [["bat"]]) == {4}  # the Cloak of the Bat is not a bat
    assert named_as(names, []) == set()


def test_turning_into_a_frog_asks_for_what_turns_not_the_frog(
    indexed: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Hybrid: the entries a query names as the form weigh `FORM_WEIGHT` less (explain says
    so) and fall below the spell that turns; without the rule they are 2nd and 3rd."""
    query = "turn someone into a frog"
    hits = ask(indexed, query=query, limit=200, explain=True).hits
    refs = [h.ref for h in hits]
    boosts = {h.ref: h.explain.boosts for h in hits if h.explain}
    assert boosts["monsters/frog"]["named as a guise"] == -FORM_WEIGHT
    assert "named as a guise" not in boosts["spells/polymorph"]
    assert refs[0] == "spells/polymorph"
    assert not {"monsters/frog", "monsters/giant-frog"} & set(refs[:5])
    monkeypatch.setattr(ranking, "FORM_WEIGHT", 0.0)
    unruled = [h.ref for h in ask(indexed, query=query, limit=10).hits]
    assert {"monsters/frog", "monsters/giant-frog"} <= set(unruled[:3])


def test_a_chest_that_is_secretly_a_monster_is_the_mimic(
    indexed: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Hybrid: a disguise told by the query lifts the entries whose text tells one (the
    Mimic, a shapechanger) by `DISGUISE_WEIGHT` and puts the Chest below them; without the
    rule the Chest is first."""
    query = "a treasure chest that is secretly a monster"
    hits = ask(indexed, query=query, limit=100, explain=True).hits
    refs = [h.ref for h in hits]
    boosts = {h.ref: h.explain.boosts for h in hits if h.explain}
    assert boosts["monsters/mimic"]["tells a disguise"] == DISGUISE_WEIGHT
    assert boosts["equipment/chest"]["named as a guise"] == -FORM_WEIGHT
    assert "tells a disguise" not in boosts["equipment/chest"]
    assert refs[0] == "monsters/mimic"
    assert refs.index("equipment/chest") > 5
    monkeypatch.setattr(ranking, "FORM_WEIGHT", 0.0)
    monkeypatch.setattr(ranking, "DISGUISE_WEIGHT", 0.0)
    unruled = [h.ref for h in ask(indexed, query=query, limit=10).hits]
    assert unruled[0] == "equipment/chest"


@pytest.mark.parametrize(
    ("query", "told"),
    [
        ("we want to walk across the lake", True),
        ("I'm surrounded by goblins", True),
        ("how long can I hold my breath?", True),
        ("the ogre has our wizard in its fist", True),
        ("a dog that teleports short distances", False),
        ("mimic", False),
        ("inside the dome of force", False),  # a word holding `me` or `us` is not one
        ("spells banned in the US", False),  # the country, not the pronoun
        ("a wand made in the U.S.", False),
        ("the ogre chased us", True),
        ("Us three against the dragon", True),
        ("HELP US CROSS THE RIVER", True),  # all in capitals: the pronoun
    ],
)
def test_a_query_told_in_the_first_person(query: str, told: bool) -> None:
    assert first_person(query) is told


def test_a_first_person_situation_asks_for_the_means_not_the_creature(
    indexed: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Hybrid: a query told in the first person weighs monsters, equipment and magic items
    `FIRST_PERSON_WEIGHT` less (explain says so), spells and rules not: fewer of them stay
    among the first hits. A query in the third person keeps their weight."""
    query = "I want to walk on water past the giant crocodile"
    hits = ask(indexed, query=query, limit=100, explain=True).hits
    boosts = {h.ref: h.explain.boosts for h in hits if h.explain}
    assert boosts["monsters/giant-crocodile"]["told in the first person"] == -FIRST_PERSON_WEIGHT
    assert boosts["magic-items/ring-of-water-walking"]["told in the first person"] < 0
    assert "told in the first person" not in boosts["spells/water-walk"]
    assert hits[0].ref == "spells/water-walk"
    told = ask(indexed, query="the giant crocodile lives in the lake", limit=20, explain=True)
    assert not any("told in the first person" in h.explain.boosts for h in told.hits)
    country = ask(indexed, query="the giant crocodile in the US", limit=20, explain=True)
    assert not any("told in the first person" in h.explain.boosts for h in country.hits)

    def things(refs: list[str]) -> int:
        return sum(r.split("/")[0] in ranking.FIRST_PERSON_COLLECTIONS for r in refs)

    ruled = [h.ref for h in hits[:6]]
    monkeypatch.setattr(ranking, "FIRST_PERSON_WEIGHT", 0.0)
    unruled = [h.ref for h in ask(indexed, query=query, limit=6).hits]
    assert things(ruled) < things(unruled)
    assert "magic-items/ring-of-water-walking" in unruled


def test_a_situation_is_compared_by_the_mean_of_both_vectors() -> None:
    """The query vector of a situation: the unit mean of its vector and its words' without the
    scene (`SCENE_SHARE` the second's), from one call to the model; other queries: their own."""
    import numpy as np

    embedder = FakeEmbedder()
    calls: list[list[str]] = []
    real = embedder.embed
    embedder.embed = lambda texts: calls.append(list(texts)) or real(texts)  # type: ignore[method-assign]
    query = "the goblins dragged us into a dark cave and nobody can see"
    rest = "us into a dark cave and nobody can see"
    assert without_scene(query) == rest
    got = np.frombuffer(query_vector(embedder, query, rest), dtype="<f4")
    assert calls == [[query, rest]]
    whole, asked = (np.frombuffer(v, dtype="<f4") for v in real([query, rest]))
    mean = (1 - SCENE_SHARE) * whole + SCENE_SHARE * asked
    assert np.allclose(got, mean / np.linalg.norm(mean), atol=1e-6)
    assert np.linalg.norm(got) == pytest.approx(1.0, abs=1e-5)
    assert not np.allclose(got, whole)
    plain = "a bright light that burns away shadows"
    assert query_vector(embedder, plain, without_scene(plain)) == real([plain])[0]
    assert query_vector(embedder, query) == real([query])[0]  # semantic mode: no `rest`


def test_a_situation_finds_what_it_asks_for_over_its_scene(indexed: App) -> None:
    """Hybrid search of a situation compares the asking, not only the scene; semantic search
    alone does not (it keeps the query's own vector)."""
    calls: list[list[str]] = []
    embedder = indexed.search.embedder
    real = embedder.embed
    embedder.embed = lambda texts: calls.append(list(texts)) or real(texts)  # type: ignore[method-assign]
    try:
        ask(indexed, query="the goblins trapped us in a cave, we need light", limit=5)
        ask(indexed, query="the goblins trapped us in the dark", limit=5, mode="semantic")
    finally:
        embedder.embed = real  # type: ignore[method-assign]
    assert calls[0] == [
        "the goblins trapped us in a cave, we need light",
        "us in a cave, we need light",
    ]
    assert calls[1] == ["the goblins trapped us in the dark"]


def test_explain_says_a_situation_was_compared_without_its_scene(indexed: App) -> None:
    """`explain` gives the words the query was compared by besides its own (hybrid); no such
    words for a query without a scene, nor in semantic or keyword mode."""
    query = "the goblins trapped us in a cave, we need light"
    hits = ask(indexed, query=query, limit=5, explain=True).hits
    assert hits and all(
        h.explain and h.explain.without_scene == "us in a cave, we need light"
        for h in hits
        if h.explain and h.explain.vector is not None
    )
    assert any(h.explain and h.explain.vector is not None for h in hits)
    for params in (
        {"query": "a light that burns away shadows"},
        {"query": query, "mode": "semantic"},
        {"query": query, "mode": "keyword"},
    ):
        found = ask(indexed, limit=5, explain=True, **params).hits
        assert found and all(h.explain and h.explain.without_scene is None for h in found)


def test_a_question_leans_on_meaning_more_than_keywords(indexed: App) -> None:
    """The same words asked as a question weigh the keyword list `QUESTION_KEYWORD_SHARE` as
    much, and `explain` says so for every hit; vectors weigh the same."""
    plain = ask(indexed, query="fire damage explosion", limit=5, explain=True).hits
    asked = ask(indexed, query="fire damage explosion?", limit=5, explain=True).hits
    weights = {(h.explain.keyword_weight, h.explain.vector_weight) for h in plain if h.explain}
    ((said, vector),) = weights
    assert said is not None and vector == pytest.approx(1 - KEYWORD_WEIGHT)
    assert asked and all(
        h.explain and h.explain.keyword_weight == pytest.approx(said * QUESTION_KEYWORD_SHARE)
        for h in asked
    )
    keyword = ask(indexed, query="fire damage?", mode="keyword", limit=3, explain=True).hits
    assert all(h.explain and h.explain.keyword_weight is None for h in keyword)


# -- the CLI -----------------------------------------------------------------------------------


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    from d5e_daemon.cli import main

    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_index_then_search(attributed_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = ("--db", str(attributed_db))
    code, out, err = cli(capsys, "search", "fireball", "--limit", "3", *db)
    assert code == 0 and "Fireball" in out and "srd-2014:spells/fireball" in out
    assert "not built yet" in err  # keyword results only, and the user is told why

    code, out, _ = cli(capsys, "index", "--json", *db)
    assert code == 0 and json.loads(out)["ready"] is True
    code, out, _ = cli(capsys, "index", *db)
    assert code == 0 and "(ready)" in out

    code, out, _ = cli(capsys, "search", "fireball", "--json", "--limit", "3", *db)
    result = json.loads(out)
    assert result["semantic"] is True and result["hits"][0]["ref"] == "spells/fireball"

    code, out, _ = cli(capsys, "search", "fire", "explosion", "--explain", "--limit", "2", *db)
    assert code == 0 and "why: keyword" in out and "vector" in out and "passage: " in out
    assert "weighed keyword 0.60 : vector 0.40" in " ".join(out.split())
    code, out, _ = cli(capsys, "search", "fire", "explosion?", "--explain", "--limit", "1", *db)
    assert code == 0 and "weighed keyword 0.15 : vector 0.40" in " ".join(out.split())

    # a pack installed since: the index is there but behind, and the user is told so
    example = Path(__file__).parents[1] / "examples" / "ashen-hills"
    assert cli(capsys, "packs", "install", str(example), *db)[0] == 0
    code, out, err = cli(capsys, "search", "fireball", "--limit", "3", *db)
    assert code == 0 and "srd-2014:spells/fireball" in out
    assert re.search(
        r"^d5e: the semantic index is not up to date \(\d+ of \d+ entries indexed\): keyword "
        r"results only \(run `d5e index`\)$",
        err,
        re.M,
    ), err


def test_cli_pages_are_slices_of_one_ranking(
    indexed_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`d5e search --offset N --limit M`, each a process of its own in real use: the pages of 20
    are the page of 60, numbered on from the offset; past the last hit, no matches."""
    db = ("--db", str(indexed_db))

    def refs(*argv: str) -> list[str]:
        code, out, _ = cli(capsys, "search", "fire", "damage", "--json", *argv, *db)
        assert code == 0
        return [h["ref"] for h in json.loads(out)["hits"]]

    everything = refs("--limit", "60")
    paged = [r for offset in (0, 20, 40) for r in refs("--offset", str(offset), "--limit", "20")]
    assert paged == everything and len(set(everything)) == 60
    code, out, _ = cli(capsys, "search", "fire", "damage", "--offset", "40", "--limit", "20", *db)
    assert code == 0 and out.startswith(" 41. ") and "\n 60. " in out
    code, out, err = cli(capsys, "search", "fire", "damage", "--offset", "10000", *db)
    assert code == 0 and out == "" and "no matches" in err


def test_cli_says_why_a_hit_named_as_searched_is_above_higher_scores(
    attributed_db: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`d5e search wondrous items` listed "1. Wondrous Items … 5.001" above "2. … 5.646": the
    entry named as searched goes first whatever its score, and now its score says so (the
    others' do not; `--json` is the wire's result, without explanations unless asked)."""
    monkeypatch.delenv("COLUMNS", raising=False)  # one line a hit (a $COLUMNS wraps them)
    db = ("--db", str(attributed_db), "--mode", "keyword", "--limit", "3")
    code, out, _ = cli(capsys, "search", "wondrous", "items", *db)
    lines = [line for line in out.splitlines() if line[:5].strip().rstrip(".").isdigit()]
    assert code == 0 and len(lines) == 3, out
    score = re.compile(r"  (\d+\.\d{3})(, named as searched)?$")
    found = [score.search(line) for line in lines]
    assert all(found) and "Wondrous Items" in lines[0], out
    assert [bool(m and m[2]) for m in found] == [True, False, False], out
    first, second = found[0], found[1]
    assert first and second and float(first[1]) < float(second[1])  # why it is said
    assert "why:" not in out
    code, out, _ = cli(capsys, "search", "wondrous", "items", "--json", *db)
    assert "explain" not in json.loads(out)["hits"][0]


def test_cli_browses_by_filters(attributed_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = ("--db", str(attributed_db))
    code, out, _ = cli(capsys, "search", "-f", "cr=5..8", "-f", "type=undead", "--json", *db)
    assert code == 0
    assert [h["name"] for h in json.loads(out)["hits"]] == ["Vampire Spawn", "Wraith"]
    code, out, _ = cli(capsys, "search", "-f", "cr=..1/8", "-f", "size=tiny", "--json", *db)
    crs = {h["ref"] for h in json.loads(out)["hits"]}
    assert "monsters/bat" in crs and "monsters/imp" not in crs
    code, out, _ = cli(capsys, "search", "-f", "class=bard,warlock", "-f", "ritual=true", *db)
    assert code == 0 and "Comprehend Languages" in out
    code, out, _ = cli(capsys, "filters", "--collection", "monsters", *db)
    assert code == 0 and "cr" in out and "undead" in out and "school" not in out


def test_cli_bad_filters_exit_1_naming_them(
    attributed_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = ("--db", str(attributed_db))
    code, _, err = cli(capsys, "search", "-f", "lvl=3", *db)
    assert code == 1 and "unknown filter 'lvl'" in err
    code, _, err = cli(capsys, "search", "-f", "level", *db)
    assert code == 1 and "NAME=VALUE" in err
    code, out, _ = cli(capsys, "search", "-f", "cr=high..8", "--json", *db)
    assert code == 1 and json.loads(out)["error"]["code"] == -32602
    code, _, err = cli(capsys, "search", *db)
    assert code == 1 and "empty query" in err


def test_a_profile_change_is_seen_without_a_packs_changed_event(indexed: App) -> None:
    """Settings that change the winners (edition 2024 here) make the 2014 vectors incomplete,
    and once indexed again, results come from the new winners only."""
    assert ask(indexed, query="cloak displacement illusion").semantic is True
    indexed.settings = build({"db": str(indexed.db_path), "edition": "2024"})
    assert indexed.library.sync_profile()
    assert ask(indexed, query="cloak displacement illusion").semantic is False
    assert indexed.search.build().ready
    # the words of its text: with the fake embedder, a bag of words, three words alone put
    # short passages that share one of them (spells "that make an illusion") above it
    query = "cloak of displacement projects an illusion"
    result = ask(indexed, query=query, mode="semantic", limit=50)
    cloaks = [h for h in result.hits if h.ref == "magic-items/cloak-of-displacement"]
    assert result.semantic and [h.pack for h in cloaks] == ["srd-2024"]


def test_british_and_american_spellings_find_each_other(attributed: App) -> None:
    """The SRD writes `armor` and `gray`; a player writes `armour` and `grey`. The other
    spelling is used when the index holds it more often, and never a made-up word."""
    from d5e_daemon.search.spelling import variants

    assert variants("paralysed") == ["paralyzed"] and variants("armor") == ["armour"]
    assert variants("fire") == [] and "monstre" in variants("monster")  # the index decides
    assert ask(attributed, query="grey ooze", mode="keyword").hits[0].ref == "monsters/gray-ooze"
    paralysed = [
        h.ref for h in ask(attributed, query="paralysed humanoid", mode="keyword").hits[:3]
    ]
    assert "spells/hold-person" in paralysed
    armour = ask(attributed, query="plate armour", mode="keyword", limit=3).hits[0].ref
    assert armour == ask(attributed, query="plate armor", mode="keyword", limit=3).hits[0].ref


def test_a_query_is_ranked_by_the_meaning_of_the_words_searched_for(indexed: App) -> None:
    """A hybrid query is embedded while its words are read (`_search`), in the index's
    spellings: a query the index respells (`armour`, `grey`) is ranked by the meaning of the
    words searched for, as if typed so, and one that denies a filter ("that don't need
    attunement") by its words without the filter's: the same similarity for each hit."""

    def similarities(query: str) -> dict[str, float | None]:
        result = ask(indexed, query=query, limit=5, explain=True)
        assert result.semantic and result.hits
        return {h.ref: h.explain.vector for h in result.hits}

    for typed, searched in [
        ("grey ooze that dissolves armour", "gray ooze that dissolves armor"),
        ("rings that don't need attunement", "rings that don't need"),
    ]:
        found, other = similarities(typed), similarities(searched)
        both = found.keys() & other.keys()
        assert both and {r: found[r] for r in both} == {r: other[r] for r in both}


def test_filter_words_in_a_query_are_soft_boosts(indexed: App) -> None:
    """`3rd-level`, `cantrip`, `CR 1/4` and words that are filter values (`undead`, `very
    rare`) raise the entries that have them; entries without them are still found."""
    from d5e_daemon.features.search import filter_words

    assert filter_words(indexed, "a 3rd-level evocation for CR 1/4 undead") == [
        ("level", 3),
        ("cr", 0.25),
        ("type", "undead"),
        ("school", "evocation"),
    ]
    assert sorted(filter_words(indexed, "very rare wands and dragons")) == [
        ("rarity", "very rare"),
        ("type", "dragon"),
        ("type", "wand"),
    ]
    assert filter_words(indexed, "cantrip that burns") == [("level", 0)]
    assert filter_words(indexed, "a glowing sword") == []
    hits = ask(indexed, query="CR 1/4 undead that rises again", explain=True, limit=20).hits
    boosted = {h.ref for h in hits if h.explain and "filter words" in h.explain.boosts}
    assert {"monsters/zombie", "monsters/skeleton"} <= boosted
    full = next(h for h in hits if h.ref == "monsters/zombie")
    # both filters met, and the query is made of them (4 of its 6 words: FILTER_QUERY_WEIGHT)
    boost = full.explain and full.explain.boosts["filter words"]
    made_of_filters = ranking.FILTER_QUERY_WEIGHT * (4 / 6) ** ranking.FILTER_SHARE_POWER
    assert boost == pytest.approx(1 + made_of_filters, abs=1e-4)
    assert any(h.collection != "monsters" for h in hits)  # a boost, not a filter


def test_filter_phrases_are_read_with_the_filters_vocabulary(indexed: App) -> None:
    """Levels, challenge ratings and their ranges, damage types, classes' spell lists, sizes,
    conditions, resistances, yes/no filters and casting times are read from a query as `-f`
    would take them; a word that only names a filter of a collection the query does not ask
    for is a word ("what does a charmed creature do", "a rogue at 3rd level")."""
    from d5e_daemon.features.search import asked_filters

    def labels(text: str) -> list[str]:
        return [label for ls in asked_filters(indexed, text).labels().values() for label in ls]

    assert labels("fiends under CR 3") == ["cr<3", "type=fiend"]
    assert labels("fey of CR 1 to 4") == ["cr=1..4", "type=fey"]
    assert labels("necrotic damage spells of 4th level or higher") == [
        "level>=4",
        "damage=necrotic",
    ]
    assert labels("level six cleric spells") == ["level=6", "class=cleric"]
    assert labels("low-level necromancy") == ["level<=3", "school=necromancy"]
    assert labels("2nd level spells that don't need concentration") == [
        "level=2",
        "concentration=false",
    ]
    assert labels("huge giants") == ["type=giant", "size=huge"]
    assert labels("monsters with resistance to cold") == ["resist=cold"]
    assert labels("ranger spells cast as a bonus action") == [
        "class=ranger",
        "castingTime=bonus action",
    ]
    assert labels("what does a charmed creature have to do?") == []
    assert labels("what does a rogue get at 3rd level") == []
    assert labels("the bard got knocked out cold") == []
    assert asked_filters(indexed, "CR 5 undead").share == 1.0


def test_searches_past_the_standings_kept_answer_as_before(
    indexed: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What settle remembers of each candidate's standing is dropped when it would hold more
    than `STANDINGS_KEPT` entries: the searches after it answer as they did (the next search
    raised KeyError when it asked for an entry remembered before the drop)."""
    asked = ["fireball", "wish"]
    before = [[(h.ref, h.score) for h in ask(indexed, query=q).hits] for q in asked]
    monkeypatch.setattr(ranking, "STANDINGS_KEPT", 60)
    for other in ["undead whose touch paralyses", "a treasure chest that is secretly a monster"]:
        assert ask(indexed, query=other).hits
    after = [[(h.ref, h.score) for h in ask(indexed, query=q).hits] for q in asked]
    assert after == before


def test_a_query_made_of_filters_finds_what_meets_them(indexed: App) -> None:
    """ "CR 5 undead" and "3rd-level fire spells" (audit15): the entries meeting every filter
    named come first, not Destroy Undead ("CR 1/2") or a class's level table; `--explain`
    names the filters each hit meets. A boost, not a filter: other entries are still found."""
    hits = ask(indexed, query="CR 5 undead", explain=True, limit=50).hits
    met = {h.ref: h.explain.boosts["filter words"] for h in hits if h.explain and h.explain.filters}
    both = {h.ref for h in hits if h.explain and h.explain.filters == ["cr=5", "type=undead"]}
    assert both == {"monsters/wraith", "monsters/vampire-spawn"}
    assert all(met[ref] == max(met.values()) for ref in both)
    assert both & {h.ref for h in hits[:5]}
    assert any(h.ref.startswith("features/") for h in hits)  # a boost, not a filter
    assert "spells/fireball" in [
        h.ref for h in ask(indexed, query="3rd-level fire spells").hits[:3]
    ]
    fiends = [h.ref for h in ask(indexed, query="fiends under CR 3", limit=5).hits]
    assert {"monsters/imp", "monsters/quasit", "monsters/lemure", "monsters/dretch"} & set(fiends)


def test_a_query_naming_a_collection_boosts_its_entries(indexed: App) -> None:
    """ "a ranger spell …", "which condition …": the collection named counts as one filter
    more, a boost and not a filter; "creature" names none (spells are asked for by what
    they do to creatures)."""
    from d5e_daemon.features.search import collection_words

    assert collection_words("a ranger spell for extra damage") == {"spells"}
    assert collection_words("which conditions stop you moving") == {"conditions"}
    assert collection_words("monsters and magic items that fly") == {"monsters", "magic-items"}
    assert collection_words("the rage class") == {"classes"}
    assert collection_words("a spell that paralyses any creature") == {"spells"}
    assert collection_words("a creature that burns") == set()
    hits = ask(indexed, query="undead spell", explain=True, limit=50).hits
    # two filters asked (the type, the collection): a spell has one, an undead monster the
    # other, a damage type or a class feature neither
    boosts = {h.ref: h.explain.boosts.get("filter words") for h in hits if h.explain}
    # half the filters each, of a query made of them (its whole share: FILTER_QUERY_WEIGHT)
    assert boosts["spells/animate-dead"] == pytest.approx((1 + ranking.FILTER_QUERY_WEIGHT) / 2)
    assert boosts["monsters/lich"] == pytest.approx((1 + ranking.FILTER_QUERY_WEIGHT) / 2)
    assert boosts["damage-types/necrotic"] is None
    assert {h.collection for h in hits} > {"spells"}  # a boost, not a filter


# -- installs first --------------------------------------------------------------------------


def test_indexing_waits_while_packs_are_being_written(app: App) -> None:
    """While an install writes (the library says so), the indexer does not start another batch:
    the install has the CPU; indexing goes on when it is over."""
    app.search = app.search_index(FakeEmbedder())
    writing = threading.Event()
    writing.set()
    app.search.packs_writing = writing.is_set
    rendered: list[str] = []
    render = app.search.render

    def counted(entry: Entry, purpose: str) -> str:
        rendered.append(entry.ref)
        return render(entry, purpose)

    app.search.render = counted
    state: dict[str, Any] = {}
    builder = threading.Thread(target=lambda: state.setdefault("end", app.search.build()))
    builder.start()
    builder.join(1.0)
    assert builder.is_alive() and rendered == []
    done = "SELECT count(*) FROM entry_index WHERE attrs IS NOT NULL OR vectors IS NOT NULL"
    assert app.conn.execute(done).fetchone() == (0,)
    writing.clear()
    builder.join(120)
    assert state["end"].ready and rendered


def reached(condition: Callable[[], object], seconds: float = 120) -> None:
    """Wait until another thread has made `condition` true (a fixed wait fails on a loaded
    machine)."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "never reached"
        time.sleep(0.01)


def test_an_install_in_the_middle_of_an_attribute_batch_stops_the_indexer_at_once(
    app: App,
) -> None:
    """An install that begins while the indexer is half way through a batch of the first phase
    does not wait for the batch: the indexer stops before the next entry and saves nothing
    until the install is over (an install queued behind a batch's save waited up to 0.8 s)."""
    app.search = app.search_index(FakeEmbedder())
    writing = threading.Event()
    app.search.packs_writing = writing.is_set
    rendered: list[str] = []
    render = app.search.render

    def counted(entry: Entry, purpose: str) -> str:
        rendered.append(entry.ref)
        if len(rendered) == 3:
            writing.set()  # an install begins while the third entry is rendered
        return render(entry, purpose)

    app.search.render = counted
    state: dict[str, Any] = {}
    builder = threading.Thread(
        target=lambda: state.setdefault("end", app.search.build()), daemon=True
    )
    builder.start()
    reached(lambda: len(rendered) >= 3)  # however loaded the machine
    builder.join(1.0)
    assert builder.is_alive() and len(rendered) == 3
    done = "SELECT count(*) FROM entry_index WHERE attrs IS NOT NULL OR vectors IS NOT NULL"
    assert app.conn.execute(done).fetchone() == (0,)
    writing.clear()
    builder.join(120)
    assert state["end"].ready and len(rendered) > 3


def test_an_install_in_the_middle_of_embedding_stops_the_indexer_between_two_batches(
    attributed: App,
) -> None:
    """The same while the model embeds a batch of entries: the embedder pauses between its
    batches of 8 passages, not at the end of all the batch's passages."""
    app = attributed
    writing = threading.Event()
    calls: list[int] = []

    class Installing(FakeEmbedder):
        def embed(self, texts: Sequence[str]) -> list[bytes]:
            calls.append(len(texts))
            writing.set()  # an install begins while the first batch is embedded
            return super().embed(texts)

    app.search = app.search_index(Installing())
    app.search.sync_attributes()
    app.search.packs_writing = writing.is_set
    state: dict[str, Any] = {}
    builder = threading.Thread(
        target=lambda: state.setdefault("end", app.search.build()), daemon=True
    )
    builder.start()
    reached(lambda: calls)
    builder.join(1.0)
    assert builder.is_alive() and calls == [8]
    assert app.conn.execute("SELECT count(*) FROM passage").fetchone() == (0,)
    writing.clear()
    app.search.packs_writing = lambda: False
    builder.join(120)
    assert state["end"].ready and len(calls) > 1


def test_a_request_that_brings_attributes_up_to_date_never_waits_for_an_install(
    app: App,
) -> None:
    """Only the background indexer steps aside for installs: a search that makes the keyword
    texts itself runs on the event loop, which the install needs to finish."""
    app.search = app.search_index(FakeEmbedder())
    app.db.write(lambda conn: conn.execute("UPDATE entry_index SET attrs = NULL"))
    app.search.packs_writing = lambda: True  # an install that never ends
    state: dict[str, Any] = {}
    asking = threading.Thread(
        target=lambda: state.setdefault("done", app.search.sync_attributes()), daemon=True
    )
    asking.start()
    asking.join(120)
    assert not asking.is_alive() and state["done"] > 3000  # the SRD's attributes, made


async def test_an_install_is_over_for_the_indexer_when_its_write_is_done(app: App) -> None:
    """The writer thread counts a write done, not the event loop when it next runs: an indexer
    pausing for the install never waits for a loop that may be waiting for it."""
    task = asyncio.ensure_future(app.library.write(lambda conn: time.sleep(0.3) or 1))
    await asyncio.sleep(0)  # the write is submitted; from here the loop is held by this test
    assert app.library.writing
    deadline = time.monotonic() + 30
    while app.library.writing and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not app.library.writing and not task.done()
    assert await task == 1


async def test_the_library_says_when_packs_are_being_written(app: App) -> None:
    index = app.search_index(FakeEmbedder())
    assert await app.library.write(lambda conn: index.packs_writing()) is True
    assert not app.library.writing and not index.packs_writing()


def test_a_spells_use_in_plain_words_is_a_passage_of_its_own(indexed: App) -> None:
    """A spell's lead (the line of what it is for, from the SRD's lore table) is embedded
    alone as well, as a monster's is: a situation ("open a locked door without a key") meets
    it undiluted by the rules text, or by the header's level and classes. So is a condition's
    (how you come to be in it), a skill's and a rules chapter's."""

    def passages(collection: str, slug: str) -> list[str]:
        return [
            text
            for (text,) in indexed.conn.execute(
                "SELECT p.text FROM passage p JOIN entry e ON e.id = p.entry_id "
                "WHERE e.collection = ? AND e.slug = ? AND e.pack_id = 'srd-2014' "
                "ORDER BY p.ord",
                (collection, slug),
            )
        ]

    lead, *rest = passages("spells", "knock")
    assert lead.startswith("Open a locked door") and "\n" not in lead and rest
    assert all(text.startswith("Knock: 2nd-level transmutation spell") for text in rest)
    lead, *rest = passages("conditions", "grappled")
    assert lead.startswith("Grabbed and held by a creature") and rest[0].startswith("Grappled:")
    assert passages("skills", "athletics")[0].startswith("Strength skill for climbing")


def test_proficiencies_get_no_vectors_and_lose_those_an_older_index_made(indexed: App) -> None:
    """Proficiencies are lists of names (a proficiency's classes and items): no passages.
    Passages an older d5e made for them go when the index is rebuilt under another key."""

    def listed() -> int:
        (n,) = indexed.conn.execute(
            "SELECT count(*) FROM passage p JOIN entry e ON e.id = p.entry_id "
            "WHERE e.collection = 'proficiencies'"
        ).fetchone()
        return int(n)

    assert listed() == 0
    (entry_id,) = indexed.conn.execute(
        "SELECT id FROM entry WHERE collection = 'proficiencies' LIMIT 1"
    ).fetchone()
    model = indexed.search.embedder.model_id
    indexed.conn.execute(
        "INSERT INTO passage (entry_id, ord, model, text_hash, text) VALUES (?, 0, ?, 'h', ?)",
        (entry_id, model, "Bagpipes: proficiency"),
    )
    indexed.conn.execute("UPDATE entry_index SET vectors = 'older'")
    assert listed() == 1
    assert indexed.search.build().ready
    assert listed() == 0


# -- a large library: the SRD's answers are ranked apart ----------------------------------------

CROWD = Pack(id="test-crowd", title="Crowd", version="1", license="CC0", default_priority=50)
CROWD_WORDS = "spell target reduced pile fine gray dust creature".split()  # noqa: SIM905


def crowd_entries(count: int) -> list[Entry]:
    """Spells made of the SRD's words, as a generated library's are (`bench/brew.py`): each
    holds most of a query's words, scattered, so it looks nearer to any query than it is."""
    pick = random.Random(5)
    return [
        Entry(
            collection="spells",
            slug=f"crowd-{i}",
            name=f"{pick.choice(CROWD_WORDS).title()} {pick.choice(CROWD_WORDS).title()} {i}",
            data={
                "level": pick.randint(1, 9),
                "school": {"name": "Transmutation"},
                "desc": [" ".join(pick.choices(CROWD_WORDS, k=40)) + "."],
            },
        )
        for i in range(count)
    ]


class CrowdPlugin:
    __name__ = "test-crowd-plugin"

    @hookimpl
    def register_packs(self, register: Callable[[PackSource], None]) -> None:
        register(PackSource(pack=CROWD, load=lambda: crowd_entries(400)))


def crowd_app(db_path: Path) -> App:
    """The crowd's pack beside the SRD, indexed (on the indexed SRD copy the build embeds the
    crowd's 400 spells only: a plugin that brings packs and renders nothing keeps the SRD's
    texts and vectors)."""
    packs = {"builtinPacks": ["srd-2014", CROWD.id], "packs": {"srd-2014": 10, CROWD.id: 50}}
    app = App(build({"db": str(db_path), **packs}), plugins=get_plugins(extra=(CrowdPlugin(),)))
    app.start()
    assert app.search.build().ready
    return app


def test_a_pack_many_times_the_srds_size_does_not_crowd_out_its_answers(
    indexed_db: Path,
) -> None:
    """400 generated spells of the SRD's words beside it: ranked in one list, they fill its
    best 50 by meaning and coverage and push Disintegrate below three of theirs; ranked apart
    (the profile's SRD, and the rest, each against its own best) the SRD's answer stays first,
    and the generated pack's best are still among the first."""
    app = crowd_app(indexed_db)
    try:
        query = "a spell that reduces a target to a pile of fine gray dust"
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(ranking, "PACK_GROUPS", False)
            alone = [h.ref for h in ask(app, query=query).hits[:5]]
        # what the library did before (out of the top 5 until every spell's text said what it
        # does to whom, the generated spells' too; since then 4th)
        assert alone[:3] and "spells/disintegrate" not in alone[:3]
        hits = ask(app, query=query, explain=True).hits
        assert hits[0].ref == "spells/disintegrate"
        assert {h.pack for h in hits[:5]} == {"srd-2014", CROWD.id}
        # `explain`'s ranks are within each group: each has its first by keywords
        firsts = [h.pack for h in hits if h.explain and h.explain.keyword_rank == 1]
        assert sorted(firsts) == ["srd-2014", CROWD.id]
    finally:
        app.close()


def test_the_profiles_srd_is_ranked_apart_only_beside_other_packs(indexed_db: Path) -> None:
    app = make_app(indexed_db)  # the SRD alone: one list, as before
    try:
        scope = SearchScope(profile=app.profile)
        assert pack_groups(app, scope) == [scope]
    finally:
        app.close()
    app = crowd_app(indexed_db)
    try:
        rules, rest = pack_groups(app, scope)
        assert (rules.packs, rest.packs) == (["srd-2014"], [CROWD.id])
        low, high = app.conn.execute(
            "SELECT min(id), max(id) FROM entry WHERE pack_id = 'srd-2014'"
        ).fetchone()
        assert rules.rows == (low, high) and rest.rows is None
        # the entries meeting the filters a query names, in the SRD's group: the SRD's, as
        # listing the SRD by them finds (read within its ids; the pack beside holds 40-odd
        # 3rd-level transmutation spells of its own)
        conditions = ranking.asked_filters(app, "3rd-level transmutation spells").conditions()
        met = ranking.filtered(app, rules, conditions, {"spells"}, 3)
        listed = queries.browse(
            app.conn, replace(rules, collections=["spells"], filters=conditions), 51, 0
        )
        assert sorted(met) == sorted(listed)
        refs = {row.ref for row in queries.rows_by_ids(app.conn, met)}
        assert refs >= {"spells/haste", "spells/slow"}
        assert pack_groups(app, SearchScope(profile=app.profile, packs=[CROWD.id])) == [
            SearchScope(profile=app.profile, packs=[CROWD.id])
        ]
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(ranking, "PACK_GROUPS", False)
            assert pack_groups(app, scope) == [scope]
    finally:
        app.close()


def test_a_small_scope_is_searched_by_meaning_in_memory_as_in_the_database(indexed: App) -> None:
    """The SRD's passages ranked apart are scored from their vectors in memory: the same
    entries, similarities and passages as the exact search through the database, with
    collections and filters asked for too (one set of vectors kept for the packs)."""
    app = indexed
    model = app.search.embedder.model_id
    exact = PassageIndex(lambda: app.conn, exact_limit=10**7)
    rows = queries.pack_id_range(app.conn, ["srd-2014"])
    level3 = {"filter": "level", "name": "level", "min": 3, "max": 3}
    scopes = [
        SearchScope(profile=app.profile, packs=["srd-2014"]),
        SearchScope(profile=app.profile, packs=["srd-2014"], collections=["monsters"]),
        SearchScope(profile=app.profile, packs=["srd-2014"], filters=[level3]),
    ]
    for scope, k in zip(scopes, (100, 1000, 1000), strict=True):  # k: past ties at the k-th
        for text in ("a green ray that turns a creature to dust", "undead whose touch paralyses"):
            (vector,) = app.search.embedder.embed([text])
            plain = retrieval.semantic_hits(app.conn, exact, scope, vector, model, k, 50)
            small = retrieval.semantic_hits(
                app.conn, app.search.passages, replace(scope, rows=rows), vector, model, k, 50
            )
            assert plain
            # the same order but for ties (equal bags of words)
            assert {e: p for e, _, p in small} == {e: p for e, _, p in plain}
            assert [s for _, s, _ in small] == pytest.approx([s for _, s, _ in plain], abs=1e-5)
    assert len(app.search.passages.scopes) == 1


def test_an_entry_named_as_the_query_is_found_in_every_collection(
    attributed: App, tmp_path: Path
) -> None:
    """A homebrew class "Commoner" (a long text, and many features of its own whose short
    texts say "commoner") is among the answers to "Commoner", beside the SRD's creature: its
    text scored below ~60 other entries', past the keyword candidates (realworld19's 5etools
    *The Commoner*)."""
    from .packtools import write_pack

    filler = " ".join(f"word{i} of the table" for i in range(400))
    files = {"classes/commoner.md": f"---\nname: Commoner\nhit_die: 6\n---\n{filler}\n"}
    for n in range(70):
        files[f"feats/commoner-trick-{n}.md"] = (
            f"---\nname: Commoner Trick {n}\n---\nA commoner's trick: the commoner wins.\n"
        )
    folder = write_pack(tmp_path / "commoner", files)
    app = attributed  # the search extracts the new pack's attributes only
    app.db.write(lambda conn: app.library.install_path(conn, folder))
    hits = search(app, SearchParams(query="Commoner", mode="keyword", limit=10)).hits
    assert {(h.collection, h.name) for h in hits[:2]} == {
        ("monsters", "Commoner"),
        ("classes", "Commoner"),
    }
