"""The shortcuts that keep search and completion quick on large libraries give the answers of the
plain queries: keyword BM25 without nil-IDF words and ranked by FTS5 alone, the two plans of
prefix completion, and passage vectors found by their codes (see d5e_daemon/search/retrieval.py)."""

from __future__ import annotations

import json
import os
import random
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from unittest import mock

import apsw
import numpy as np
import pytest

from d5e_daemon import packs, queries
from d5e_daemon.app import App
from d5e_daemon.db import connect, transaction
from d5e_daemon.matching import COMMON_PREFIX, match_names
from d5e_daemon.search import passages as search_passages
from d5e_daemon.search import retrieval
from d5e_daemon.text import normalize
from tests.conftest import make_app
from tests.fixtures import built_once, private_copy
from tests.packtools import write_pack

COMMON_WORD = "zorblax"


_NEAREST_IN_SCOPE_SQL = f"""
    SELECT p.entry_id, min(c.distance), p.id
    FROM (SELECT p.id, vec_distance_cosine(v.embedding, :vector) AS distance
          FROM passage p JOIN passage_vector v ON v.id = p.id
          JOIN entry e ON e.id = p.entry_id {queries.SEARCH_SCOPE} AND p.model = :model
          ORDER BY distance LIMIT :k) c
    JOIN passage p ON p.id = c.id
    GROUP BY p.entry_id
    ORDER BY 2
    LIMIT :limit
"""


def nearest_in_scope(
    conn: apsw.Connection,
    scope: queries.SearchScope,
    vector: bytes,
    model: str,
    k: int,
    limit: int,
) -> list[tuple[int, float, int]]:
    """The reference semantic search is compared with: (entry id, cosine similarity of its best
    passage, that passage's id), best first, of the `k` nearest of every passage (of `model`)
    of the entries in scope, by sqlite-vec's exact distance (slow for a large library)."""
    args = scope.args() | {"vector": vector, "model": model, "k": k, "limit": limit}
    return [
        (entry_id, 1.0 - float(distance), passage_id)
        for entry_id, distance, passage_id in conn.execute(_NEAREST_IN_SCOPE_SQL, args)
        if distance is not None
    ]


def _make_crowded(pack_folder: Path, srd_template: Path) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        shutil.copy(srd_template, path)
        words = ["fire", "undead", "touch", "shadow", "frost", "poison", "radiant", "beast"]
        files = {
            f"monsters/m{start}.json": json.dumps(
                [
                    {
                        "name": f"Zorblax Thing {i}",
                        "desc": f"A {COMMON_WORD} of {words[i % 8]} and {words[i * 3 % 8]}, "
                        f"no. {i}.",
                    }
                    for i in range(start, start + 100)
                ]
            )
            for start in range(0, 4000, 100)
        }
        pack = write_pack(pack_folder, files)
        app = make_app(path)
        app.db.write(lambda conn: app.library.install_path(conn, pack))
        app.search.ensure_attributes()  # the keyword texts
        app.close()

    return make


@pytest.fixture(scope="module")
def crowded(srd_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    """The SRD plus 4,000 entries that all say `zorblax`: more than half of all entries. Built
    once a run (with pytest-xdist each worker built its own: ~10 s of CPU), copied for each
    module."""
    pack_folder = tmp_path_factory.mktemp("crowd")
    template = built_once(tmp_path_factory, "crowded", _make_crowded(pack_folder, srd_template))
    app = make_app(private_copy(template, tmp_path_factory.mktemp("crowded")))
    yield app
    app.close()


SCOPES = [
    {},
    {"collections": ["monsters"]},
    {"collections": ["spells"], "filters": [{"name": "level", "min": 3, "max": 3}]},
]


@pytest.mark.parametrize("extra", SCOPES)
def test_keyword_shortcuts_rank_as_the_plain_query(crowded: App, extra: dict[str, object]) -> None:
    scope = queries.SearchScope(profile=crowded.profile, **extra)  # type: ignore[arg-type]
    for text in ["zorblax fire undead touch", "fire damage", "zorblax", "frost poison beast"]:
        words = normalize(text).split()
        shortcut = retrieval.keyword_hits(
            crowded.conn, crowded.term_counts, scope, words, 2.0, normalize(text), 50
        )
        plain = queries.keyword_hits(
            crowded.conn, scope, queries.fts_any(words), 2.0, normalize(text), 50
        )
        assert plain or extra, text  # every text matches some entries of the whole profile
        assert [h[0] for h in shortcut] == [h[0] for h in plain], text
        assert [h[2] for h in shortcut] == [h[2] for h in plain]
        assert all(abs(a[1] - b[1]) < 1e-4 for a, b in zip(shortcut, plain, strict=True))
    assert retrieval.weighty_words(crowded.conn, crowded.term_counts, ["zorblax", "fire"]) == [
        "fire"
    ]
    assert retrieval.weighty_words(crowded.conn, crowded.term_counts, ["zorblax"]) == [
        "zorblax"
    ]  # nothing else to ask


@pytest.mark.parametrize("bound", [retrieval.LEFT_OUT_BOUND, 4.0])
def test_keyword_top_leaves_common_words_out_and_gives_fts5s_own_ranking(
    crowded: App, bound: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same rows, the same scores to the last bit and the same order (ties by rowid) as
    FTS5 ranking every row, while FTS5 only ranks the rows of the rarer words."""
    monkeypatch.setattr(retrieval, "POSTINGS", False)  # FTS5 ranks (the term frequencies: below)
    monkeypatch.setattr(retrieval, "LEFT_OUT_BOUND", bound)
    monkeypatch.setattr(retrieval, "RESCORED_MOST", 5000)  # the Zorblax Things' scores tie
    monkeypatch.setattr(retrieval, "LEFT_OUT_ROWS", 1000)  # 7,653 rows here, not 100,000
    conn = crowded.conn
    plain = queries.keyword_top
    ranked_all: list[str] = []
    monkeypatch.setattr(queries, "keyword_top", lambda *a: ranked_all.append(a[1]) or plain(*a))
    crowded.term_counts.agree((0, 0))  # counted before the index changed: wrong now
    crowded.term_counts.known.update(dict.fromkeys(["zorblax", "thing", "fire", "undead"], 9999))
    texts = [
        "zorblax fire undead touch",  # zorblax: in more than half of the rows
        "zorblax thing frost poison beast",  # thing: in every Zorblax Thing's name
        "thing fires fire zorblax",  # one term twice: counted twice, as FTS5 does
        "zorblax radiant shadow",
        "zorblax thing",  # nothing but common words: FTS5 ranks them all
        "zorblax gibberish",  # too few rows hold the others
    ]
    crowd = queries.pack_id_range(conn, ["brew"])  # the group of the packs beside the SRD
    assert crowd is not None
    for text in texts:
        words = normalize(text).split()
        for limit in (5, 20, 100):
            expected = plain(conn, queries.fts_any(words), 2.0, limit)
            found = retrieval.keyword_top(conn, crowded.term_counts, words, 2.0, limit)
            assert found == expected, (text, limit)
            expected = plain(conn, queries.fts_any(words), 2.0, limit, crowd)
            found = retrieval.keyword_top(conn, crowded.term_counts, words, 2.0, limit, crowd)
            assert found == expected, (text, limit, crowd)
            assert all(crowd[0] <= entry_id <= crowd[1] for entry_id, _ in found)
    shortcut = {t for t in texts if queries.fts_any(normalize(t).split()) not in ranked_all}
    assert "zorblax fire undead touch" in shortcut
    assert "thing fires fire zorblax" in shortcut
    assert "zorblax thing" not in shortcut and "zorblax gibberish" not in shortcut


POSTINGS_TEXTS = [
    "zorblax fire undead touch",
    "zorblax thing frost poison beast",
    "thing fires fire zorblax",  # one term twice: counted twice, as FTS5 does
    "zorblax radiant shadow",
    "zorblax thing",
    "zorblax gibberish",
    "fire damage",
    "undead touch paralysed",
    "dragon",
    "gibberish",
]


def _same_as_fts5(app: App, texts: list[str]) -> None:
    """`keyword_top` from the kept term frequencies: FTS5's rows, scores to the last bit and
    order (ties by rowid), over the whole index and over the packs beside the SRD, without
    FTS5 ranking anything."""
    conn = app.conn
    assert queries.postings_in_step(conn) is not None  # else FTS5 ranks, and this proves nothing
    crowd = queries.pack_id_range(conn, ["brew"])
    for text in texts:
        words = normalize(text).split()
        for limit in (5, 20, 100):
            for rows in (None, crowd, (1, 3000)):
                expected = queries.keyword_top(conn, queries.fts_any(words), 2.0, limit, rows)
                found = retrieval.keyword_top(conn, app.term_counts, words, 2.0, limit, rows)
                assert found == expected, (text, limit, rows)


def test_keyword_top_from_the_term_frequencies_is_fts5s_ranking(
    crowded: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert queries.postings_state(crowded.conn)[0]
    plain = queries.keyword_top
    _same_as_fts5(crowded, POSTINGS_TEXTS)
    asked: list[str] = []
    monkeypatch.setattr(queries, "keyword_top", lambda *a: asked.append(a[1]) or plain(*a))
    for text in POSTINGS_TEXTS:
        words = normalize(text).split()
        retrieval.keyword_top(crowded.conn, crowded.term_counts, words, 2.0, 20)
    assert asked == []  # FTS5 ranked nothing
    # a word of two tokens (a phrase) is FTS5's to match
    retrieval.keyword_top(crowded.conn, crowded.term_counts, ["zorblax", "o'brien"], 2.0, 20)
    assert asked == [queries.fts_any(["zorblax", "o'brien"])]


def test_the_term_frequencies_follow_installs_removals_and_new_texts(
    attributed_template: Path, tmp_path: Path
) -> None:
    """Kept by the code that writes `entry_text`: a pack installed (a few entries: kept batch
    by batch; many: built once at the end), its entries' texts written again, entries gone
    from an upgrade, the pack removed: at every step the same as built from scratch, and
    keyword search FTS5's ranking. The SRD's texts are made already (on the bare SRD the
    first install's 30 were made with the SRD's 3,653, built at the end, not batch by batch)."""
    shutil.copy(attributed_template, tmp_path / "d5e.sqlite3")
    app = make_app(tmp_path / "d5e.sqlite3")
    try:
        conn = app.conn

        def kept() -> tuple[object, ...]:
            rows = conn.execute(
                "SELECT term, chunk, ids, freqs FROM keyword_posting ORDER BY term, chunk"
            ).fetchall()
            sizes = conn.execute("SELECT chunk, sizes FROM keyword_size ORDER BY chunk").fetchall()
            return queries.postings_state(conn), rows, sizes

        def check() -> None:
            before = kept()
            assert before[0][0]  # built
            app.db.write(lambda c: _in_transaction(c, queries.rebuild_postings))
            assert kept() == before
            app.term_counts.forget()
            _same_as_fts5(app, POSTINGS_TEXTS)

        def install(n: int, word: str) -> None:
            files = {
                "monsters/m.json": json.dumps(
                    [
                        {"name": f"Zorblax Thing {i}", "desc": f"A {word} of fire, no. {i}."}
                        for i in range(n)
                    ]
                )
            }
            pack = write_pack(tmp_path / "crowd", files)
            app.db.write(lambda c: app.library.install_path(c, pack))
            app.search.ensure_attributes()

        install(30, "zorblax")  # kept batch by batch
        check()
        install(20, "gibberish zorblax")  # ten entries gone, twenty texts written again
        check()
        install(1500, "zorblax undead")  # built again at the end
        check()
        app.db.write(lambda c: packs.remove(c, "brew"))
        check()
    finally:
        app.close()


RANDOM_WORDS = [
    *("fire", "fires", "Firing", "ZORBLAX", "o'brien", "3d6", "d6", "the", "a", "x" * 70),
    *("élan", "naïve", "cafe\u0301", "ﬁre", "Straße", "İstanbul", "日本語", "𝒜𝒷", "…", "-", ""),
]


def _random_text(rng: random.Random) -> str | None:
    if rng.random() < 0.2:
        return None
    words = rng.choices(RANDOM_WORDS, k=rng.choice([0, 1, 3, 10, 60, 300]))
    return " ".join(w + rng.choice(["", ",", ".", "s", "ing", "!"]) for w in words)


@pytest.mark.parametrize("seed", range(2))
def test_the_term_frequencies_built_from_scratch_are_those_kept_row_by_row(
    tmp_path: Path, seed: int
) -> None:
    """`rebuild_postings` (a block's rows counted at once) keeps what `add_postings` keeps of
    the same rows written batch by batch (each row counted by `row_term_counts`), byte for
    byte: random texts of many scripts, missing and empty columns, rows in several blocks and
    at their edges, rows written again, and a term more than 65,535 times in a row."""
    rng = random.Random(seed)
    conn = connect(tmp_path / "d5e.sqlite3")
    block = queries.POSTING_BLOCK
    ids = {rng.randrange(1, 3 * block) for _ in range(500)} | {block - 1, block, 2 * block + 1}
    rows = [(i, _random_text(rng), _random_text(rng), _random_text(rng)) for i in sorted(ids)]
    rows.append((3 * block + 7, "Fire", " ".join(["fire"] * 70_000), "fire"))
    rows += [(i, _random_text(rng), _random_text(rng), None) for i in rng.sample(sorted(ids), 50)]

    def kept() -> tuple[object, ...]:
        postings = conn.execute(
            "SELECT term, chunk, ids, freqs FROM keyword_posting ORDER BY term, chunk"
        ).fetchall()
        sizes = conn.execute("SELECT chunk, sizes FROM keyword_size ORDER BY chunk").fetchall()
        return queries.postings_state(conn), postings, sizes

    assert queries.postings_state(conn) == (True, 0, 0)  # an empty index: kept row by row
    for at in range(0, len(rows), 97):
        batch = rows[at : at + 97]
        with transaction(conn):
            queries.remove_postings(conn, [row[0] for row in batch])
            for row in batch:
                conn.execute("DELETE FROM entry_text WHERE rowid = ?", (row[0],))
                conn.execute(
                    "INSERT INTO entry_text (rowid, name, text, aliases) VALUES (?, ?, ?, ?)", row
                )
            queries.add_postings(conn, batch)
    by_rows = kept()
    assert queries.postings_in_step(conn) is not None  # FTS5's own totals
    with transaction(conn):
        queries.rebuild_postings(conn)
    assert kept() == by_rows
    conn.close()


def _in_transaction(conn: apsw.Connection, fn: object) -> None:
    with transaction(conn):
        fn(conn)  # type: ignore[operator]


def test_term_counts_are_counted_again_when_the_index_changed(crowded: App) -> None:
    counts = crowded.term_counts
    looked_up: list[list[str]] = []
    lookup = counts.lookup
    counts.lookup = lambda conn, terms: looked_up.append(list(terms)) or lookup(conn, terms)
    try:
        counts.agree((1, 2))
        counts(["fire"])
        counts.agree((1, 2))
        counts(["fire"])
        assert looked_up == [["fire"]]  # remembered while the index is the same
        counts.agree((1, 3))
        counts(["fire"])
        assert looked_up == [["fire"], ["fire"]]
    finally:
        counts.lookup = lookup
        counts.forget()


@pytest.mark.parametrize("prefix", ["s", "c", "st", "fi", "the", "zzz"])
@pytest.mark.parametrize("collections", [[], ["spells"], ["conditions"]])
def test_both_prefix_plans_give_the_same_names(
    app: App, prefix: str, collections: list[str]
) -> None:
    args = (app.conn, app.profile, prefix, collections, None, 20)
    rare = queries.names_exact_or_prefix(*args, common=False)
    common = queries.names_exact_or_prefix(*args, common=True)
    assert common == rare
    assert [r.norm_name for r in rare] == sorted(
        (r.norm_name for r in rare), key=lambda n: (len(n), n)
    )


def test_a_common_prefix_takes_the_first_letter_plan(app: App) -> None:
    assert queries.names_in_range(app.conn, "s", COMMON_PREFIX) == COMMON_PREFIX
    assert queries.names_in_range(app.conn, "fireb", COMMON_PREFIX) < COMMON_PREFIX
    assert [m.row.name for m in match_names(app, "s", limit=3)] == ["Spy", "STR", "Sack"]


def _clustered_vectors(n: int, seed: int) -> np.ndarray:
    """Unit vectors in clusters, as sentence embeddings are (not uniformly spread)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(40, 384))
    x = centres[rng.integers(0, 40, size=n)] + 0.8 * rng.normal(size=(n, 384))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype("<f4")


@pytest.fixture(scope="session")
def vectored_template(attributed_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The SRD database with its filter attributes and one passage with a clustered random
    vector per entry; never written (tests copy it: each test wrote its own, and made the
    attributes, ~3 s of CPU a test)."""

    def make(path: Path) -> None:
        shutil.copy(attributed_template, path)
        app = make_app(path)
        _with_vectors(app)
        app.close()

    return built_once(tmp_path_factory, "vectored", make)


@pytest.fixture
def coded(
    vectored_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[App]:
    """One passage with a clustered random vector per entry, and codes always used."""
    monkeypatch.setattr(search_passages, "EXACT_PASSAGES", 0)
    app = make_app(private_copy(vectored_template, tmp_path))
    yield app
    app.close()


@pytest.fixture
def exactly(vectored_template: Path, tmp_path: Path) -> Iterator[App]:
    """One passage with a clustered random vector per entry, all held in memory (exact)."""
    app = make_app(private_copy(vectored_template, tmp_path))
    yield app
    app.close()


def _with_vectors(app: App) -> None:
    rows = [
        (int(entry_id), str(content_hash))
        for entry_id, content_hash in app.conn.execute(
            "SELECT id, content_hash FROM entry ORDER BY id"
        )
    ]
    vectors = _clustered_vectors(len(rows), seed=7)
    passages = [
        queries.NewPassage(entry_id, 0, f"h{entry_id}", f"text {entry_id}", vectors[i].tobytes())
        for i, (entry_id, _) in enumerate(rows)
    ]

    def save(conn: apsw.Connection) -> None:
        with transaction(conn):
            queries.save_passages(conn, "k", "test-model", rows, passages)

    app.db.write(save)


def test_codes_find_the_nearest_passages_with_exact_similarities(coded: App) -> None:
    """Queries close to a stored passage: it comes first, and the exact 10 nearest are found
    among 320 candidates of 3,653 (by chance: 9 % of them; the real model's recall is in
    docs/benchmarks.md)."""
    scope = queries.SearchScope(profile=coded.profile)
    stored = _clustered_vectors(3653, seed=7)
    noise = np.random.default_rng(5).normal(size=(20, 384)) * 0.02
    recalls = []
    for q in stored[100:2100:100] + noise:
        vector = (q / np.linalg.norm(q)).astype("<f4").tobytes()
        exact = nearest_in_scope(coded.conn, scope, vector, "test-model", 10, 10)
        found = retrieval.semantic_hits(
            coded.conn, coded.search.passages, scope, vector, "test-model", 10, 10
        )
        index = coded.search.passages.current()
        assert not index.exact and len(index.nearest(vector, 320)) == 320  # codes were used
        similarity = {entry_id: sim for entry_id, sim, _ in exact}
        for entry_id, sim, _ in found:  # scores are the float vectors' own
            if entry_id in similarity:
                assert sim == pytest.approx(similarity[entry_id], abs=1e-6)
        assert found[0][0] == exact[0][0]
        recalls.append(len({e for e, _, _ in found} & set(similarity)) / len(similarity))
    assert np.mean(recalls) >= 0.9


def test_a_small_scope_is_searched_exactly(coded: App) -> None:
    scope = queries.SearchScope(profile=coded.profile, collections=["conditions"])
    for q in _clustered_vectors(5, seed=12):
        exact = nearest_in_scope(coded.conn, scope, q.tobytes(), "test-model", 10, 10)
        found = retrieval.semantic_hits(
            coded.conn, coded.search.passages, scope, q.tobytes(), "test-model", 10, 10
        )
        assert found == exact and len(found) == 10


def test_coverage_from_the_index_or_from_the_text_agree(
    attributed: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = attributed
    app.search.ensure_attributes()  # the keyword texts
    terms = queries.index_terms(app.conn, ["fire", "damage", "undead", "touch", "paralyzed"])
    match = queries.fts_any(terms)
    ids = [entry_id for entry_id, _ in queries.keyword_top(app.conn, match, 2.0, 80)]
    assert len(ids) == 80
    by_index = queries.term_coverage(app.conn, terms, ids)
    assert by_index == queries.term_coverage_by_text(app.conn, terms, ids)
    assert max(by_index.values()) >= 3
    assert queries.postings_in_step(app.conn) is not None
    counts = app.term_counts
    assert retrieval.term_coverage(app.conn, counts, terms, ids) == by_index  # the kept postings
    assert retrieval.term_coverage(app.conn, counts, terms, [*ids, 10**6]) == by_index
    # every row's, counted before the candidates are known (beside the keyword half)
    every = retrieval.covered_rows(app.conn, counts, terms)
    assert every is not None
    assert {i: every[i] for i in ids if i in every} == by_index
    low, high = sorted(ids)[10], sorted(ids)[-10]
    within = retrieval.covered_rows(app.conn, counts, terms, (low, high))
    assert within == {i: n for i, n in every.items() if low <= i <= high}
    monkeypatch.setattr(retrieval, "COVERED_EARLY_MOST", 10)  # too many rows: the caller counts
    assert retrieval.covered_rows(app.conn, counts, terms) is None


def test_fts5s_totals_are_read_from_its_averages_record(crowded: App) -> None:
    assert queries.keyword_index_totals(crowded.conn) == queries.keyword_totals(
        crowded.conn, '"zorblax"'
    )


def test_a_name_lookup_starts_from_the_name_index(app: App) -> None:
    """Lookups by name (and tags in documents) find the entries of that name through their
    index, then check that each wins: not the other way round, which read every winner of the
    profile (55 ms a lookup with 100,000 entries)."""
    plan = [
        row[3]
        for row in app.conn.execute(
            "EXPLAIN QUERY PLAN " + queries.WINNERS_BY_NAME_SQL, (app.profile, "goblin", "[]")
        )
    ]
    assert plan[0] == "SEARCH e USING INDEX entry_by_norm_name (norm_name=?)", plan
    names = [r.name for r in queries.winners_by_norm_name(app.conn, app.profile, "goblin", [])]
    assert names and set(names) == {"Goblin"}


@pytest.mark.parametrize("native", [True, False], ids=["C", "numpy"])
def test_distances_in_memory_are_sqlite_vecs_to_the_bit(exactly: App, native: bool) -> None:
    """The exact index scores its candidates from the vectors it holds, as sqlite-vec's
    `vec_distance_cosine` does (float32 sums in order): the same doubles, the same order; the
    dot products summed by `_codes_native.dots` or by numpy alike."""
    if native and os.environ.get("D5E_CODES_NATIVE") == "0":
        pytest.skip("the native code is switched off (D5E_CODES_NATIVE=0)")
    assert not native or search_passages.native() is not None, "_codes_native was not built"
    conn = exactly.conn
    index = exactly.search.passages.current()
    assert index.exact
    every = [int(i) for i in index.ids]
    rng = np.random.default_rng(3)
    with mock.patch.object(search_passages, "USE_NATIVE", native):
        for q in [*_clustered_vectors(5, seed=11), index.rows[7] * 3.0]:
            vector = q.astype("<f4").tobytes()
            for size in (1, 2, 3, 4, 5, 50, len(every)):
                ids = [int(i) for i in rng.choice(every, size, replace=False)]
                expected = queries.passage_distances(conn, vector, ids)
                assert retrieval._cosine_distances(index, vector, ids) == expected, size
        zero = bytes(4 * 384)  # no direction: sqlite-vec gives NULL, no distance
        assert retrieval._cosine_distances(index, zero, every[:5]) == []
    assert queries.passage_distances(conn, zero, every[:5]) == []


@pytest.mark.parametrize("extra", SCOPES)
def test_the_exact_index_finds_the_nearest_with_sqlite_vecs_scores(
    exactly: App, extra: dict[str, object]
) -> None:
    scope = queries.SearchScope(profile=exactly.profile, **extra)  # type: ignore[arg-type]
    for q in _clustered_vectors(8, seed=12):
        vector = q.tobytes()
        expected = nearest_in_scope(exactly.conn, scope, vector, "test-model", 40, 20)
        found = retrieval.semantic_hits(
            exactly.conn, exactly.search.passages, scope, vector, "test-model", 40, 20
        )
        assert found == expected and found


def test_similarities_of_entries_from_memory_are_the_databases(exactly: App) -> None:
    scope = queries.SearchScope(profile=exactly.profile)
    held = queries.passages_in_scope(exactly.conn, scope, "test-model").values()
    ids = sorted(set(held), reverse=True)[::7]  # entries in scope, as keyword search finds
    for q in _clustered_vectors(4, seed=13):
        assert_similarities_are_the_databases(exactly, scope, q.tobytes(), ids)


def assert_similarities_are_the_databases(
    app: App, scope: queries.SearchScope, vector: bytes, ids: list[int]
) -> None:
    expected = queries.passage_similarities(app.conn, vector, "test-model", ids)
    found = retrieval.similarities(app.conn, app.search.passages, scope, vector, "test-model", ids)
    assert found == expected and len(found) == len(ids)


def test_a_packs_passages_are_held_in_memory_as_the_database_gives_them(
    exactly: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A scope of some of the profile's packs (a group of `pack_groups`) is ranked from the
    passages held in memory, with the database's similarities and nearest passages."""
    packs = list(queries.profile_packs(exactly.conn, exactly.profile))
    scope = queries.SearchScope(profile=exactly.profile, packs=packs[:1])
    held = queries.passages_in_scope(exactly.conn, scope, "test-model")
    index = exactly.search.passages.current()
    assert held and retrieval._owners(exactly.conn, index, scope, "test-model") == held
    ids = sorted(set(held.values()))[::5]
    for q in _clustered_vectors(3, seed=15):
        vector = q.tobytes()
        assert_similarities_are_the_databases(exactly, scope, vector, ids)
        near = retrieval.semantic_hits(
            exactly.conn, exactly.search.passages, scope, vector, "test-model", 20, 20
        )
        with monkeypatch.context() as m:
            m.setattr(retrieval, "_owned", lambda *args: None)  # each batch asked of SQLite
            asked = retrieval.semantic_hits(
                exactly.conn, exactly.search.passages, scope, vector, "test-model", 20, 20
            )
        assert near == asked and len(near) == 20


def test_the_passages_held_in_memory_follow_the_database(exactly: App) -> None:
    """A passage written after the index was read is found at once: the entries of the
    passages in scope, held beside the vectors, are read again when the database changed."""
    scope = queries.SearchScope(profile=exactly.profile)
    q = _clustered_vectors(1, seed=14)[0]
    first = retrieval.semantic_hits(
        exactly.conn, exactly.search.passages, scope, q.tobytes(), "test-model", 10, 10
    )
    target = min(
        int(i)
        for (i,) in exactly.conn.execute("SELECT id FROM entry")
        if int(i) not in {e for e, _, _ in first}
    )
    (content_hash,) = exactly.conn.execute(
        "SELECT content_hash FROM entry WHERE id = ?", (target,)
    ).fetchone()
    new = queries.NewPassage(target, 0, "near", "near the query", q.tobytes())

    def save(conn: apsw.Connection) -> None:
        with transaction(conn):
            queries.save_passages(conn, "k2", "test-model", [(target, str(content_hash))], [new])

    exactly.db.write(save)
    found = retrieval.semantic_hits(
        exactly.conn, exactly.search.passages, scope, q.tobytes(), "test-model", 10, 10
    )
    assert found[0][0] == target and found[0][1] == pytest.approx(1.0, abs=1e-6)


def test_the_packs_beside_the_srd_rank_their_own_rows(
    crowded: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The group of the packs beside the SRD (`pack_groups`) has FTS5 rank only its packs'
    rows: the SRD's entries, out of its scope, never fill the best rows FTS5 gives (which made
    it rank every matching row again, joined with the scope: 100-190 ms at the SRD + 100,000)."""
    from d5e_daemon.features import search as ranking
    from d5e_daemon.protocol import SearchParams

    scope = queries.SearchScope(profile=crowded.profile)
    groups = ranking.pack_groups(crowded, scope)
    assert [g.packs for g in groups] == [["srd-2014"], ["brew"]]
    words = ["fire", "damage", "creature"]  # the SRD's words: its entries rank first
    plain = queries.keyword_hits(crowded.conn, groups[1], queries.fts_any(words), 2.0, "", 10)
    ranked_all = queries.keyword_top(crowded.conn, queries.fts_any(words), 2.0, 20)
    assert all(entry_id < min(e for e, _, _ in plain) for entry_id, _ in ranked_all)

    def unwanted(*args: object) -> object:
        raise AssertionError("ranked every matching row in scope")

    monkeypatch.setattr(queries, "keyword_hits", unwanted)
    params = SearchParams(query=" ".join(words), limit=10)
    found, _ = ranking._keyword_half(crowded, params, groups[1], words, "", 10, False)()
    assert [(e, exact) for e, _, exact in found] == [(e, exact) for e, _, exact in plain]
    # (`creature`, in more than half of the rows, is left out: an idf of 1e-6 less)
    assert all(abs(a[1] - b[1]) < 1e-4 for a, b in zip(found, plain, strict=True))


def test_the_vectors_in_memory_are_the_databases_after_the_last_entry_is_indexed_again(
    exactly: App,
) -> None:
    """The entry with the last passage is indexed again: its passage is deleted and a new one
    written. Were its id given again (SQLite's default: the largest id plus one), the index in
    memory would keep the old vector under it and score the entry by its old text."""
    exactly.search.passages.current()  # read before the change
    last, target = exactly.conn.execute(
        "SELECT id, entry_id FROM passage ORDER BY id DESC LIMIT 1"
    ).fetchone()
    (content_hash,) = exactly.conn.execute(
        "SELECT content_hash FROM entry WHERE id = ?", (target,)
    ).fetchone()
    q = _clustered_vectors(1, seed=15)[0]
    new = queries.NewPassage(int(target), 0, "near", "near the query", q.tobytes())

    def save(conn: apsw.Connection) -> None:
        with transaction(conn):
            queries.save_passages(
                conn, "k3", "test-model", [(int(target), str(content_hash))], [new]
            )

    exactly.db.write(save)
    (again,) = exactly.conn.execute("SELECT max(id) FROM passage").fetchone()
    assert again == last + 1  # ids are never given twice
    index = exactly.search.passages.current()
    stored = list(exactly.conn.execute("SELECT id, embedding FROM passage_vector ORDER BY id"))
    assert [int(i) for i in index.ids] == [i for i, _ in stored]
    assert index.rows.tobytes() == b"".join(v for _, v in stored)


def test_the_codes_estimate_is_the_query_against_their_signs(coded: App) -> None:
    """The candidates scored exactly are those the codes estimate nearest: `<q, s>`, s being
    each code's bits as ±1 in the vector's dimensions (the codes are sqlite-vec's own)."""
    index = coded.search.passages.current()
    stored = dict(coded.conn.execute("SELECT id, embedding FROM passage_vector"))
    signs = np.array(
        [np.where(np.frombuffer(stored[int(i)], dtype="<f4") > 0, 1.0, -1.0) for i in index.ids]
    )
    positions = np.arange(0, len(index.ids), 3)
    for q in _clustered_vectors(5, seed=21):
        found = search_passages.estimates(index.rows, positions, q)
        assert found == pytest.approx(signs[positions] @ q, abs=1e-4)
        # the nearest 40 by Hamming distance, of which the best 10 by the estimate
        near = index.nearest(q.tobytes(), 40)
        chosen = index.nearest(q.tobytes(), 10, scanned=40)
        best = np.argsort(-(signs[np.searchsorted(index.ids, near)] @ q), kind="stable")[:10]
        assert chosen == sorted(np.array(near)[best].tolist())


def test_the_nearest_among_some_codes_scanned_in_chunks_are_those_of_one_scan(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`scan_among` (the codes of a scope scanned `SCAN_CHUNK` at a time) gives what one scan
    of a copy of them all gives: the same positions in the same order, the many at the cut
    distance the first by position; with the C scan and with numpy's."""
    rng = np.random.default_rng(8)
    monkeypatch.setattr(search_passages, "SCAN_CHUNK", 300)
    for bits in (1, 64):  # few distinct distances (ties everywhere), or many
        words = rng.integers(0, 2**bits, size=(6, 5000), dtype=np.uint64)
        code = rng.integers(0, 2**bits, size=6, dtype=np.uint64).tobytes()
        at = np.sort(rng.choice(5000, size=4100, replace=False))
        for native in (True, False):
            monkeypatch.setattr(search_passages, "USE_NATIVE", native)
            for wanted in (1, 40, 299, 300, 301, 1000, 4099, 4100, 5000):
                one = search_passages.scan_codes(np.take(words, at, axis=1), code, wanted)
                chunked = search_passages.scan_among(words, at, code, wanted)
                assert chunked.tolist() == one.tolist(), (bits, native, wanted)


@pytest.mark.parametrize("chunk", [search_passages.SCAN_CHUNK, 500])
def test_the_nearest_among_some_passages_are_those_of_an_index_of_them_alone(
    coded: App, chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`PassageIndex.nearest(..., allowed)`: the ids of a scope (most passages of the library,
    as a large homebrew group holds; or a few), ascending, as a list or an array, ids the index
    does not hold left out: the candidates an index holding only those passages finds (they
    were found from `np.isin`'s mask and a dictionary of the scope's passages read from the
    database: ~45 MB at SRD + 100,000). And `_scope_passages` gives the scope's ids as the
    database does, held for the scope or read."""
    monkeypatch.setattr(search_passages, "SCAN_CHUNK", chunk)  # 500: scanned in chunks
    index = coded.search.passages.current()
    rng = np.random.default_rng(3)
    for share in (0.95, 0.1):
        allowed = np.sort(rng.choice(index.ids, size=int(len(index.ids) * share), replace=False))
        alone = search_passages.PassageIndex(index.conn, index.exact_limit)
        keep = np.isin(index.ids, allowed)
        alone.ids, alone.rows, alone.exact = index.ids[keep], index.rows[:, keep], False
        asked = [*allowed.tolist(), int(index.ids[-1]) + 1000]  # one it does not hold
        for q in _clustered_vectors(4, seed=31):
            for wanted, scanned in ((40, None), (10, 40)):
                expected = alone.nearest(q.tobytes(), wanted, scanned=scanned)
                assert index.nearest(q.tobytes(), wanted, allowed, scanned) == expected
                assert index.nearest(q.tobytes(), wanted, asked, scanned) == expected
    for scope in (
        queries.SearchScope(profile=coded.profile),
        queries.SearchScope(profile=coded.profile, collections=["spells"]),
    ):
        in_scope = sorted(queries.passages_in_scope(coded.conn, scope, "test-model"))
        for _ in range(3):  # read, then held from the scope's second search on
            found = retrieval._scope_passages(coded.conn, index, scope, "test-model")
            assert found.tolist() == in_scope


def test_the_codes_candidates_at_the_cut_distance_are_the_first_by_id() -> None:
    """Many passages share the Hamming distance where the candidates are cut: which of them are
    taken is fixed (the first by position, so by passage id), not whatever order a selection
    algorithm leaves them in: the same database finds the same candidates on any machine."""
    rng = np.random.default_rng(5)
    for n, spread, wanted in [(1000, 4, 100), (5000, 40, 3200), (300, 1, 7), (50, 385, 0)]:
        far = rng.integers(0, spread, size=n).astype(np.uint32)
        chosen = search_passages.nearest_codes(far, wanted)
        expected = np.argsort(far, kind="stable")[:wanted]
        assert sorted(chosen.tolist()) == sorted(expected.tolist()), (n, spread, wanted)


def test_the_native_scan_of_the_codes_finds_what_numpy_finds() -> None:
    """`_codes_native` (C) against numpy, the reference: the same candidates in the same order
    (those at the cut distance by position, more wanted than there are: all in order) and the
    same estimates to the bit, on codes that share many distances and on random ones; and a
    normal install (`make setup`) has it built."""
    if os.environ.get("D5E_CODES_NATIVE") == "0":
        pytest.skip("the native scan of the codes is switched off (D5E_CODES_NATIVE=0)")
    assert search_passages.native() is not None, (
        "d5e_daemon._codes_native was not built: run make setup (docs/development.md)"
    )
    rng = np.random.default_rng(8)
    for n, wanted in [(0, 0), (1, 0), (1, 1), (7, 3), (300, 300), (300, 301), (5000, 1200)]:
        for few_bits in (True, False):
            # few set bits: hundreds of codes at the same distance
            bits = rng.random((n, 384)) < (0.02 if few_bits else 0.5)
            packed = np.packbits(bits, axis=1, bitorder="little").view(np.uint64)
            words = np.ascontiguousarray(packed.T)  # as PassageIndex.rows: [6, n]
            code = np.packbits(rng.random(384) < 0.02, bitorder="little").tobytes()
            query = rng.standard_normal(384).astype(np.float32)
            found = {}
            for native in (True, False):
                with mock.patch.object(search_passages, "USE_NATIVE", native):
                    near = search_passages.scan_codes(words, code, wanted)
                    sums = search_passages.estimates(words, near, query)
                found[native] = (near.tolist(), sums.tobytes())
            assert found[True] == found[False], (n, wanted, few_bits)
            assert len(found[True][0]) == min(n, wanted)


def test_the_passages_in_scope_held_for_the_codes_are_the_databases(coded: App) -> None:
    """An index of codes asks which candidates are in scope of the database on a scope's first
    search, and holds its passages from the second on (`_coded_owners`): the same answers, the
    same hits; a change to the database (a pack's entries turned off) is seen at once."""
    index = coded.search.passages.current()
    packs = list(queries.profile_packs(coded.conn, coded.profile))
    scopes = [
        queries.SearchScope(profile=coded.profile),
        queries.SearchScope(profile=coded.profile, packs=packs[:1]),
    ]
    ids = [*index.ids[::7].tolist(), 10**9]  # and one that is no passage
    vectors = [q.tobytes() for q in _clustered_vectors(6, seed=31)]
    for scope in scopes:
        first = [
            retrieval.semantic_hits(
                coded.conn, coded.search.passages, scope, v, "test-model", 10, 10
            )
            for v in vectors
        ]
        held = retrieval._coded_owners(coded.conn, index, scope, "test-model")
        assert held is not None
        assert held.among(ids) == queries.passages_in_scope(coded.conn, scope, "test-model", ids)
        again = [
            retrieval.semantic_hits(
                coded.conn, coded.search.passages, scope, v, "test-model", 10, 10
            )
            for v in vectors
        ]
        assert again == first and all(len(hits) == 10 for hits in first)
    spells = queries.SearchScope(profile=coded.profile, collections=["spells"])
    assert retrieval._coded_owners(coded.conn, index, spells, "test-model") is None

    def drop_some(conn: apsw.Connection) -> None:  # a tenth of the passages go
        with transaction(conn):
            conn.execute("DELETE FROM passage WHERE id % 10 = 3")

    coded.db.write(drop_some)
    for scope in scopes:
        for v in vectors:
            hits = retrieval.semantic_hits(
                coded.conn, coded.search.passages, scope, v, "test-model", 10, 10
            )
            with mock.patch.object(retrieval, "_coded_owners", lambda *_: None):
                asked = retrieval.semantic_hits(
                    coded.conn, coded.search.passages, scope, v, "test-model", 10, 10
                )
            assert hits == asked and not any(p % 10 == 3 for _, _, p in hits)
        index = coded.search.passages.current()
        held = retrieval._coded_owners(coded.conn, index, scope, "test-model")
        assert held is not None and not any(p % 10 == 3 for p in held.passages.tolist())


def test_the_srds_group_ranks_its_rows_again_with_the_common_words(
    crowded: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A query with a word most entries hold (left out first: `weighty_words`) whose other
    words the SRD's rows hold fewer than the limit of: the SRD's group ranks its own rows again
    with every word, and finds what FTS5 ranking every matching row in scope finds (which took
    0.2 s for a word held by 60,000 rows at SRD + 100,000), without asking it."""
    from d5e_daemon.features import search as ranking

    srd = ranking.pack_groups(crowded, queries.SearchScope(profile=crowded.profile))[0]
    assert srd.packs == ["srd-2014"] and srd.rows is not None
    for text in ["zorblax tarrasque", "zorblax lycanthropy curse", "zorblax"]:
        words = normalize(text).split()
        plain = queries.keyword_hits(crowded.conn, srd, queries.fts_any(words), 2.0, text, 50)
        with monkeypatch.context() as patched:
            patched.setattr(queries, "keyword_hits", mock.Mock(side_effect=AssertionError))
            found = retrieval.keyword_hits(
                crowded.conn, crowded.term_counts, srd, words, 2.0, text, 50
            )
        assert found == plain and (plain or text == "zorblax"), text
