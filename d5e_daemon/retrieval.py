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
  scored exactly against their float32 vectors in SQLite. Up to `EXACT_PASSAGES` passages the
  float32 vectors themselves are held in memory and every one is scored. sqlite-vec's own KNN
  costs grow with vectors x k (170 ms for 100 of 270,000 float vectors), see
  docs/benchmarks.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import apsw

from . import queries

if TYPE_CHECKING:
    from .app import App

NIL_IDF_SHARE = 0.5
"""Words held by at least this share of all entries have a nil BM25 weight in FTS5."""
OVERFETCH = 2
"""FTS5 ranks this many times the rows wanted, for the rows that fall out of scope."""


def weighty_words(app: App, words: list[str], conn: apsw.Connection | None = None) -> list[str]:
    """`words` without those that more than half of all entries hold (all of them if every
    word is that common)."""
    conn = conn or app.conn
    terms = {w: queries.index_terms(conn, [w]) for w in words}
    counts = app.term_counts([t for ts in terms.values() for t in ts], conn)
    limit = NIL_IDF_SHARE * app.term_counts.rows(conn)
    kept = [w for w in words if all(counts[t] < limit for t in terms[w])]
    return kept or words


def keyword_hits(
    app: App,
    scope: queries.SearchScope,
    words: list[str],
    name_weight: float,
    norm_name: str,
    limit: int,
    conn: apsw.Connection | None = None,
) -> list[tuple[int, float, bool]]:
    """As `queries.keyword_hits` for the FTS5 query "any of `words`": (entry id, BM25 score,
    whether its name is `norm_name`), best first, at most `limit`. Through `conn` if given
    (another thread's connection), else the app's."""
    if not words:
        return []
    conn = conn or app.conn
    kept = weighty_words(app, words, conn)
    match = queries.fts_any(kept)
    wanted = limit * OVERFETCH
    top = queries.keyword_top(conn, match, name_weight, wanted)
    ours = queries.in_scope(conn, scope, [i for i, _ in top], norm_name)
    found = [(i, score, ours[i]) for i, score in top if i in ours][:limit]
    if len(found) == limit:
        return found
    if len(top) == wanted:  # more rows match: rank them all in scope
        found = queries.keyword_hits(conn, scope, match, name_weight, norm_name, limit)
    if len(found) < limit and kept != words:  # the common words would add rows at the end
        found = queries.keyword_hits(
            conn, scope, queries.fts_any(words), name_weight, norm_name, limit
        )
    return found


COVERAGE_POSTINGS = 20_000
"""Up to this many entries holding the terms in all, coverage is read from the index."""


def term_coverage(app: App, terms: list[str], ids: list[int]) -> dict[int, int]:
    """How many of `terms` each entry of `ids` contains: from the index when the terms are
    rare (1 ms on the SRD), else by tokenizing the entries (the index walk took up to 80 ms
    with 100,000 entries, the tokenizing 2-4 ms)."""
    held = sum(app.term_counts(terms).values())
    if held <= COVERAGE_POSTINGS:
        return queries.term_coverage(app.conn, terms, ids)
    return queries.term_coverage_by_text(app.conn, terms, ids)


# -- semantic ---------------------------------------------------------------------------------


class PassageIndex:
    """Every passage's vector in memory for the first stage of semantic search: the float32
    vectors while there are at most `exact_limit` passages (exact scores; 15 MB for 10,000),
    above that their 384-bit codes (56 bytes a passage: 15 MB for 270,000), stored word by word
    (6 arrays of 64-bit words: one XOR and popcount pass over each, 1 ms for 270,000). Loaded on
    the first semantic search.

    Kept current cheaply: new passages have higher ids and are read on their own; when passages
    went away (an entry changed or a pack was removed: the counts differ) all are read again.
    """

    def __init__(self, app: App, exact_limit: int | None = None) -> None:
        self.app = app
        self.exact_limit = exact_limit
        self.ids: Any = None  # numpy int64 [n], ascending
        self.rows: Any = None  # numpy float32 [n, 384] (exact) or uint64 [6, n] (codes)
        self.exact = True
        self.stamp: object = None

    def current(self) -> PassageIndex:
        conn = self.app.conn
        stamp = queries.data_version(conn)
        if self.ids is not None and stamp == self.stamp:
            return self
        count = queries.passage_code_count(conn)
        limit = EXACT_PASSAGES if self.exact_limit is None else self.exact_limit
        exact = count <= limit
        if self.ids is None or exact != self.exact:
            self.exact = exact
            self.ids, self.rows = self._read(0)
        else:
            self._extend(*self._read(int(self.ids[-1]) if len(self.ids) else 0))
        if len(self.ids) != count:  # some went away
            self.ids, self.rows = self._read(0)
        self.stamp = stamp
        return self

    def _extend(self, ids: Any, rows: Any) -> None:
        import numpy as np

        if len(ids):
            self.ids = np.concatenate([self.ids, ids])
            self.rows = np.concatenate([self.rows, rows], axis=0 if self.exact else 1)

    def _read(self, after: int) -> tuple[Any, Any]:
        import numpy as np

        read = queries.passage_vectors if self.exact else queries.passage_codes
        ids: list[int] = []
        blobs: list[bytes] = []
        for passage_id, blob in read(self.app.conn, after):
            ids.append(passage_id)
            blobs.append(blob)
        data = b"".join(blobs)
        if self.exact:
            rows = np.frombuffer(data, dtype="<f4").reshape(len(ids), DIMENSIONS)
        else:
            words = np.frombuffer(data, dtype=np.uint64).reshape(len(ids), CODE_WORDS)
            rows = np.ascontiguousarray(words.T)
        return np.array(ids, dtype=np.int64), rows

    def nearest(self, vector: bytes, wanted: int, allowed: list[int] | None = None) -> list[int]:
        """Passage ids nearest to `vector`, `wanted` of them (among `allowed` if given): by
        cosine when exact, else by the Hamming distance of the codes."""
        import numpy as np

        ids, rows = self.ids, self.rows
        if allowed is not None:
            keep = np.isin(ids, np.array(allowed, dtype=np.int64))
            ids = ids[keep]
            rows = rows[keep] if self.exact else rows[:, keep]
        if len(ids) <= wanted:
            return [int(i) for i in ids]
        if self.exact:
            far = -(rows @ np.frombuffer(vector, dtype="<f4"))
        else:
            code = np.frombuffer(queries.query_code(self.app.conn, vector), dtype=np.uint64)
            far = np.zeros(len(ids), dtype=np.uint32)
            for word in range(CODE_WORDS):
                far += np.bitwise_count(rows[word] ^ code[word])
        return [int(i) for i in ids[np.argpartition(far, wanted)[:wanted]]]


DIMENSIONS = 384
CODE_WORDS = 6
"""384 bits = 6 words of 64."""
EXACT_PASSAGES = 10_000
"""Up to this many passages, the first stage scores every one exactly (in memory)."""
EXACT_MARGIN = 4
"""Exact first stage: this many times the passages wanted, for those that fall out of scope."""
CANDIDATES_PER_NEIGHBOUR = 32
"""Codes: passages scored exactly per passage wanted, the nearest by Hamming distance of their
codes. 32 keeps ~92 % of the exact 100 nearest among 270,000 passages, and hybrid search's top
10 unchanged on the dev set (docs/benchmarks.md, `bench/vectors.py`)."""
SMALL_SCOPE = 8
"""Codes: when fewer than 1/8 of the candidates are in scope, search the scope's passages."""


def semantic_hits(
    app: App, scope: queries.SearchScope, vector: bytes, model: str, k: int, limit: int
) -> list[tuple[int, float, int]]:
    """(entry id, cosine similarity of its best passage, that passage's id), best first: the
    `k` nearest passages among the entries in scope, grouped by entry. Similarities are exact
    (float32, in SQLite). The candidates: the nearest passages of all (`PassageIndex`), taken
    in order of their exact distance while in scope; or, when the scope holds too few of them
    (filters, a small collection), the nearest passages of the scope."""
    index = app.search.passages.current()
    wanted = k * (EXACT_MARGIN if index.exact else CANDIDATES_PER_NEIGHBOUR)
    share = 0.0 if index.exact else 1 / SMALL_SCOPE
    nearest = index.nearest(vector, wanted)
    complete = len(nearest) < wanted  # every passage is a candidate
    chosen = _in_scope_first(app, scope, model, vector, nearest, k, share, complete)
    if chosen is None:
        allowed = list(queries.passages_in_scope(app.conn, scope, model))
        candidates = index.nearest(vector, wanted, allowed)
        chosen = _in_scope_first(app, scope, model, vector, candidates, k, 0.0, True) or []
    best: dict[int, tuple[int, float, int]] = {}
    for passage_id, entry_id, distance in chosen:
        if entry_id not in best:
            best[entry_id] = (entry_id, 1.0 - distance, passage_id)
    return list(best.values())[:limit]


def _in_scope_first(
    app: App,
    scope: queries.SearchScope,
    model: str,
    vector: bytes,
    candidates: list[int],
    k: int,
    share: float,
    complete: bool,
) -> list[tuple[int, int, float]] | None:
    """The `k` candidates nearest to `vector` that are in scope, as (passage, entry, distance),
    nearest first. They are checked in order of exact distance, a few at a time, so most
    queries check only the first few. None when they may not be the scope's nearest: fewer than
    `k` in scope, or in scope fewer than `share` of the candidates checked (the candidates,
    the nearest of all passages, then tell little about the scope), unless `complete`."""
    chosen: list[tuple[int, int, float]] = []
    ranked = queries.passage_distances(app.conn, vector, candidates)
    checked = 0
    batch = 2 * k
    for start in range(0, len(ranked), batch):
        part = ranked[start : start + batch]
        entries = queries.passages_in_scope(app.conn, scope, model, [p for p, _ in part])
        chosen += [(p, entries[p], d) for p, d in part if p in entries]
        checked += len(part)
        if len(chosen) >= k:
            break
    if complete or (len(chosen) >= k and len(chosen) >= share * checked):
        return chosen[:k]
    return None
