"""How the two candidate lists of `d5e/search` are fetched quickly at any library size.

`features/search.py` decides what is searched and how lists are ranked and fused; this module
only executes those queries, with the same results as the plain SQL would give:

- keyword: BM25 over the query's words, as `queries.KEYWORD_SQL` computes it. With 100,000
  entries an OR of common words matches nearly every entry, and scoring each matching row
  joined with its entry and profile took 60-120 ms. So:
  1. words that more than half of all entries hold are left out: FTS5 gives them an IDF of
     1e-6 (`log((N - n + 0.5) / (n + 0.5))` clamped), so they cannot change an order, yet their
     lists are the longest to read;
  2. FTS5 ranks alone (no join per row), and only its best rows are checked against the
     scope: when enough of them are in scope they are the answer, in the same order.
  Whenever either shortcut might change the answer (too few rows in scope, too few matching
  at all), the plain query runs instead.
- semantic: the `k` passages nearest to the query vector, by cosine. Every passage has a
  384-bit code (the sign of each dimension); the codes are scanned in memory (numpy, 5 ms for
  270,000) for the `CANDIDATES_PER_NEIGHBOUR` x `k` nearest by Hamming distance, and those are
  scored exactly against their float32 vectors in SQLite. sqlite-vec's own KNN costs grow with
  vectors x k (170 ms for 100 of 270,000 float vectors), see docs/benchmarks.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import queries

if TYPE_CHECKING:
    from .app import App

NIL_IDF_SHARE = 0.5
"""Words held by at least this share of all entries have a nil BM25 weight in FTS5."""
OVERFETCH = 2
"""FTS5 ranks this many times the rows wanted, for the rows that fall out of scope."""


def weighty_words(app: App, words: list[str]) -> list[str]:
    """`words` without those that more than half of all entries hold (all of them if every
    word is that common)."""
    terms = {w: queries.index_terms(app.conn, [w]) for w in words}
    counts = app.term_counts([t for ts in terms.values() for t in ts])
    limit = NIL_IDF_SHARE * app.term_counts.rows()
    kept = [w for w in words if all(counts[t] < limit for t in terms[w])]
    return kept or words


def keyword_hits(
    app: App,
    scope: queries.SearchScope,
    words: list[str],
    name_weight: float,
    norm_name: str,
    limit: int,
) -> list[tuple[int, float, bool]]:
    """As `queries.keyword_hits` for the FTS5 query "any of `words`": (entry id, BM25 score,
    whether its name is `norm_name`), best first, at most `limit`."""
    if not words:
        return []
    kept = weighty_words(app, words)
    match = queries.fts_any(kept)
    wanted = limit * OVERFETCH
    top = queries.keyword_top(app.conn, match, name_weight, wanted)
    ours = queries.in_scope(app.conn, scope, [i for i, _ in top], norm_name)
    found = [(i, score, ours[i]) for i, score in top if i in ours][:limit]
    if len(found) == limit:
        return found
    if len(top) == wanted:  # more rows match: rank them all in scope
        found = queries.keyword_hits(app.conn, scope, match, name_weight, norm_name, limit)
    if len(found) < limit and kept != words:  # the common words would add rows at the end
        found = queries.keyword_hits(
            app.conn, scope, queries.fts_any(words), name_weight, norm_name, limit
        )
    return found


# -- semantic ---------------------------------------------------------------------------------


class PassageCodes:
    """Every passage's 384-bit code (`passage_code`) in memory, for the coarse scan: 56 bytes a
    passage (15 MB for 270,000), loaded on the first semantic search.

    Kept current cheaply: new passages have higher ids and are read on their own; when passages
    went away (an entry changed or a pack was removed: the counts differ) all are read again.
    """

    def __init__(self, app: App) -> None:
        self.app = app
        self.ids: Any = None  # numpy int64 [n]
        self.codes: Any = None  # numpy uint64 [n, 6]
        self.stamp: object = None

    def current(self) -> tuple[Any, Any]:
        import numpy as np

        conn = self.app.conn
        stamp = queries.data_version(conn)
        if self.ids is not None and stamp == self.stamp:
            return self.ids, self.codes
        last = int(self.ids[-1]) if self.ids is not None and len(self.ids) else 0
        new_ids, new_codes = self._read(conn, last if self.ids is not None else 0)
        if self.ids is None:
            self.ids, self.codes = new_ids, new_codes
        elif len(new_ids):
            self.ids = np.concatenate([self.ids, new_ids])
            self.codes = np.concatenate([self.codes, new_codes])
        if len(self.ids) != queries.passage_code_count(conn):  # some went away
            self.ids, self.codes = self._read(conn, 0)
        self.stamp = stamp
        return self.ids, self.codes

    @staticmethod
    def _read(conn: Any, after: int) -> tuple[Any, Any]:
        import numpy as np

        ids: list[int] = []
        blobs: list[bytes] = []
        for passage_id, bits in queries.passage_codes(conn, after):
            ids.append(passage_id)
            blobs.append(bits)
        codes = np.frombuffer(b"".join(blobs), dtype=np.uint64).reshape(len(ids), CODE_WORDS)
        return np.array(ids, dtype=np.int64), codes


CODE_WORDS = 6
"""384 bits = 6 words of 64."""
EXACT_PASSAGES = 10_000
"""Up to this many passages, every one in scope is scored exactly (1 µs each)."""
SMALL_SCOPE = 8
"""When fewer than 1/8 of the nearest codes are in scope, search the scope's passages instead."""
CANDIDATES_PER_NEIGHBOUR = 32
"""Passages scored exactly per passage wanted: the nearest by Hamming distance of their codes.
32 keeps ~95 % of the exact 100 nearest (docs/benchmarks.md, `bench/vectors.py`)."""


def coarse_candidates(
    app: App, vector: bytes, wanted: int, allowed: list[int] | None = None
) -> list[int]:
    """Passage ids whose codes are nearest to `vector`'s: `wanted` of them, among `allowed`
    if given (all of those when there are no more)."""
    import numpy as np

    if allowed is not None and len(allowed) <= wanted:
        return allowed
    ids, codes = app.search.codes.current()
    if allowed is not None:
        keep = np.isin(ids, np.array(allowed, dtype=np.int64))
        ids, codes = ids[keep], codes[keep]
    if len(ids) <= wanted:
        return [int(i) for i in ids]
    query = np.frombuffer(queries.query_code(app.conn, vector), dtype=np.uint64)
    distance = np.bitwise_count(codes ^ query).sum(axis=1, dtype=np.uint32)
    return [int(i) for i in ids[np.argpartition(distance, wanted)[:wanted]]]


def semantic_hits(
    app: App, scope: queries.SearchScope, vector: bytes, model: str, k: int, limit: int
) -> list[tuple[int, float, int]]:
    """(entry id, cosine similarity of its best passage, that passage's id), best first: the
    `k` nearest passages among the entries in scope, grouped by entry. Their similarities are
    exact (float32); which passages are nearest is found among `CANDIDATES_PER_NEIGHBOUR` x
    `k` candidates by code: the nearest of all passages, kept if in scope; or, when the scope
    holds few of them (filters, a small collection), the nearest of the passages in scope.
    Up to `EXACT_PASSAGES` passages, all are scored."""
    ids, _ = app.search.codes.current()
    if len(ids) <= EXACT_PASSAGES:
        return queries.nearest_in_scope(app.conn, scope, vector, model, k, limit)
    wanted = k * CANDIDATES_PER_NEIGHBOUR
    nearest = coarse_candidates(app, vector, wanted)
    candidates = queries.passages_in_scope(app.conn, scope, model, nearest)
    if len(candidates) < wanted // SMALL_SCOPE and len(nearest) == wanted:
        allowed = queries.passages_in_scope(app.conn, scope, model)
        candidates = coarse_candidates(app, vector, wanted, allowed)
    return queries.nearest_of(app.conn, vector, candidates, k, limit)
