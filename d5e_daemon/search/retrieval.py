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
  384-bit code (the sign of each dimension); the codes are scanned in memory (in C,
  `_codes_native`, ~1.5 ms for 257,000; numpy without it) for the
  `CANDIDATES_PER_NEIGHBOUR` x `k` nearest by Hamming distance; of those, the
  `SCORED_PER_NEIGHBOUR` x `k` best by the codes' estimate of their similarity (the query's
  float32 vector against each code's signs: the query keeps its magnitudes, so it ranks them far
  better than the Hamming distance does) are scored exactly against their float32 vectors in
  SQLite. Up to `EXACT_PASSAGES` passages the
  float32 vectors themselves are held in memory and every one is scored; the best candidates'
  exact distances are then computed from them as sqlite-vec computes them (to the bit), and
  the passages of the profile's winners are held beside them, so a search of the SRD alone
  reads no vector and asks no scope of the database (`_cosine_distances`, `_owned`).
  sqlite-vec's own KNN costs grow with vectors x k (170 ms for 100 of 270,000 float vectors),
  see docs/benchmarks.md.
"""

from __future__ import annotations

import json
import math
import weakref
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

import apsw

from .. import numeric, queries
from ..db import UntilChanged
from .counts import DocCounts
from .passages import PassageIndex
from .passages import native as passages_native

NIL_IDF_SHARE = 0.5
"""Words held by at least this share of all entries have a nil BM25 weight in FTS5."""
OVERFETCH = 2
"""FTS5 ranks this many times the rows wanted, for the rows that fall out of scope."""


def weighty_words(conn: apsw.Connection, term_counts: DocCounts, words: list[str]) -> list[str]:
    """`words` without those that more than half of all entries hold (all of them if every
    word is that common)."""
    terms = {w: queries.index_terms(conn, [w]) for w in words}
    counts = term_counts([t for ts in terms.values() for t in ts], conn)
    limit = NIL_IDF_SHARE * term_counts.rows(conn)
    kept = [w for w in words if all(counts[t] < limit for t in terms[w])]
    return kept or words


def keyword_hits(
    conn: apsw.Connection,
    term_counts: DocCounts,
    scope: queries.SearchScope,
    words: list[str],
    name_weight: float,
    norm_name: str,
    limit: int,
) -> list[tuple[int, float, bool]]:
    """As `queries.keyword_hits` for the FTS5 query "any of `words`": (entry id, BM25 score,
    whether its name is `norm_name`), best first, at most `limit`, read through `conn` (the
    calling thread's connection)."""
    if not words:
        return []
    kept = weighty_words(conn, term_counts, words)
    found = _in_scope_top(conn, term_counts, scope, kept, name_weight, norm_name, limit)
    if len(found) < limit and kept != words:  # the common words would add rows at the end
        found = _in_scope_top(conn, term_counts, scope, words, name_weight, norm_name, limit)
    return found + _named_beyond(conn, scope, norm_name, found)


def _named_beyond(
    conn: apsw.Connection,
    scope: queries.SearchScope,
    norm_name: str,
    found: list[tuple[int, float, bool]],
) -> list[tuple[int, float, bool]]:
    """The entries in scope named `norm_name` that `found` lacks, each at its last score: an
    entry whose name is the query is an answer in every collection that has one, however
    little its text scores (a homebrew class "Commoner", its long table and features below
    the SRD's Commoner and the words "common")."""
    if not norm_name:
        return []
    have = {entry_id for entry_id, _, _ in found}
    ids = [r.id for r in queries.entries_by_norm_name(conn, norm_name, scope.collections)]
    missing = [i for i in ids if i not in have]
    if not missing:
        return []
    last = found[-1][1] if found else 0.0
    ours = queries.in_scope(conn, scope, missing, norm_name)
    return [(entry_id, last, True) for entry_id in missing if entry_id in ours]


OVERFETCH_MOST = 64
"""`_in_scope_top` ranks at most this many times the rows wanted before FTS5 ranks them in scope
(the scope then holds few of the rows matching: a filter, a small collection)."""


def _in_scope_top(
    conn: apsw.Connection,
    term_counts: DocCounts,
    scope: queries.SearchScope,
    words: list[str],
    name_weight: float,
    norm_name: str,
    limit: int,
) -> list[tuple[int, float, bool]]:
    """`queries.keyword_hits` for "any of `words`": the best rows of all (`keyword_top`, among
    the ids between `scope.rows` when given: the other group's best rows cannot crowd out this
    one's) that are in scope, ranked again four times deeper while fewer than `limit` of them
    are and more rows match, up to `OVERFETCH_MOST` times `limit`; past that, FTS5 ranks every
    matching row in scope. When the common words were left out (`weighty_words`), the SRD's
    range at SRD + 100,000 often holds fewer than `limit` rows of the others, and FTS5 ranking
    every row of a word held by 60,000 rows in scope took 0.2 s."""
    wanted = limit * OVERFETCH
    while True:
        top = keyword_top(conn, term_counts, words, name_weight, wanted, scope.rows)
        ours = queries.in_scope(conn, scope, [i for i, _ in top], norm_name)
        found = [(i, score, ours[i]) for i, score in top if i in ours][:limit]
        if len(found) == limit or len(top) < wanted:  # enough, or every matching row
            return found
        if wanted >= limit * OVERFETCH_MOST:
            match = queries.fts_any(words)
            return queries.keyword_hits(conn, scope, match, name_weight, norm_name, limit)
        wanted *= 4


BM25_K1 = 1.2
BM25_B = 0.75
"""The constants of FTS5's bm25 (fts5_aux.c)."""
COMMON_SHARE = 0.02
"""`keyword_top` leaves out of its first query the words held by more than this share of rows."""
LEFT_OUT_BOUND = 1.4
"""... as long as the most those words can add to a row's score stays under this (the 100th
best score of a query is 7-11 at the SRD + 100,000 entries)."""
LEFT_OUT_ROWS = 20_000
"""`keyword_top` ranks every row when the common words' lists hold fewer rows than this in
all (ranking them costs FTS5 ~0.5 µs a row; the shortcut's own work, 2-10 ms)."""
RESCORED_MOST = 400
"""`keyword_top` scores at most this many rows itself; past that FTS5 ranks every row."""


def keyword_top(
    conn: apsw.Connection,
    term_counts: DocCounts,
    words: list[str],
    name_weight: float,
    limit: int,
    rows: tuple[int, int] | None = None,
) -> list[tuple[int, float]]:
    """The same rows, scores and order as `queries.keyword_top` for the FTS5 query "any of
    `words`" (among the ids between `rows`, if given).

    When the term frequencies kept beside FTS5 are in step with it (`queries.postings_in_step`)
    and every word is one token, the rows are scored from those with numpy (`_postings_top`:
    3-7 ms where FTS5 took 15-80 ms at the SRD + 100,000 entries). Else FTS5 ranks, without
    scoring every row that holds only common words (MaxScore, below).

    In FTS5's bm25 each word adds `idf × f(k1 + 1) / (f + k1(1 - b + b·D/avgdl))` to a row's
    score, which is less than `idf × (k1 + 1)` whatever the row: a word held by a third of
    100,000 rows (idf 0.7) adds at most 1.5, while the 100th best score of a query is 7-11. Its
    list is the longest to read and score, though (FTS5 scores a row in ~0.5 µs, reading its
    positions: 30-80 ms a query at the SRD + 100,000 entries). So FTS5 ranks the rows holding
    the other words (`rest`); the `limit`-th score among them, θ, is at most the `limit`-th
    score of the whole query (a row's whole score is at least its score over `rest`). A row
    whose score over `rest` is below θ minus the common words' bound cannot be among the best
    `limit`, nor can a row without any of `rest`'s words (the bound being below θ). The rows
    left are scored here over every word as FTS5's bm25 does, operation for operation (the
    same doubles; the rows tokenized as `entry_text` tokenizes them), and ranked as FTS5 ranks
    them (ties by rowid). Whenever the shortcut does not apply (a word of several tokens, too
    few rows, a bound not below θ, too many rows to score), FTS5 ranks every row."""
    terms = [queries.index_terms(conn, [w]) for w in words]
    if POSTINGS and name_weight.is_integer() and words and all(len(t) == 1 for t in terms):
        found = _postings_top(
            conn, term_counts, words, [t for (t,) in terms], name_weight, limit, rows
        )
        if found is not None:
            return found
    return _maxscore_top(conn, term_counts, words, terms, name_weight, limit, rows)


POSTINGS = True
"""Score from the term frequencies kept beside FTS5 (`queries.postings`) when they are in step."""


def _postings_top(
    conn: apsw.Connection,
    term_counts: DocCounts,
    words: list[str],
    tokens: list[str],
    name_weight: float,
    limit: int,
    rows: tuple[int, int] | None,
) -> list[tuple[int, float]] | None:
    """`keyword_top` from the term frequencies kept beside FTS5 (`queries.postings`): every
    row holding a term is scored with numpy, operation for operation as FTS5's bm25 scores it
    (the same doubles: weighted frequencies are whole numbers, exact in any order; each term's
    share `idf × f(k1 + 1) / (f + k1(1 - b + b·D/avgdl))` element by element; the shares added
    in the query's order, a row without the term adding FTS5's 0.0), then ranked as FTS5 ranks
    (ties by rowid). None when what is kept is not FTS5's index now (not built, or its totals
    differ from FTS5's): the caller asks FTS5."""
    numeric.import_numpy()
    import numpy as np

    totals = queries.postings_in_step(conn)
    if totals is None:
        return None
    term_counts.agree(totals)  # the counts must be FTS5's own now: counted again if stale
    held = term_counts(tokens, conn)
    n_rows, n_tokens = totals
    avgdl = n_tokens / n_rows
    low, high = rows if rows is not None else (0, 2**62)
    first, last = low >> queries.POSTING_BLOCK_BITS, high >> queries.POSTING_BLOCK_BITS
    width = queries.POSTING_BLOCK
    found: dict[str, tuple[Any, Any]] = {}
    blocks: set[int] = set()
    for term in dict.fromkeys(tokens):
        parts = []
        for block, ids, freqs in queries.term_postings(conn, term, first, last):
            offsets, names, rests = queries.decode_postings(ids, freqs)
            at = offsets.astype(np.int64) + block * width
            f = names.astype(np.float64) * name_weight + rests.astype(np.float64)
            parts.append((at, f))
            blocks.add(block)
        if parts:
            at = np.concatenate([a for a, _ in parts])
            f = np.concatenate([f for _, f in parts])
            inside = (at >= low) & (at <= high)
            found[term] = (at[inside], f[inside])
    if not blocks:
        return []
    base = min(blocks) * width
    sizes = np.zeros((max(blocks) + 1) * width - base, dtype=np.float64)
    for block, held_sizes in queries.posting_sizes(conn, min(blocks), max(blocks)):
        start = block * width - base
        sizes[start : start + width] = np.frombuffer(held_sizes, dtype="<u4")
    k1, b = BM25_K1, BM25_B
    shares = {}
    for term, (at, f) in found.items():
        size = sizes[at - base] - 1.0  # kept as tokens + 1
        shares[term] = (f * (k1 + 1.0)) / (f + k1 * (1 - b + b * size / avgdl))
    score = np.zeros(len(sizes), dtype=np.float64)
    for term in tokens:  # in the query's order, a term twice counted twice
        if term in found:
            score[found[term][0] - base] += _idf(n_rows, held[term]) * shares[term]
    matched = np.flatnonzero(score)
    scored = score[matched]
    if len(scored) > limit:
        cut = -np.partition(-scored, limit - 1)[limit - 1]
        keep = scored >= cut
        matched, scored = matched[keep], scored[keep]
    order = np.lexsort((matched, -scored))[:limit]
    return list(zip((matched[order] + base).tolist(), scored[order].tolist(), strict=True))


def _maxscore_top(
    conn: apsw.Connection,
    term_counts: DocCounts,
    words: list[str],
    terms: list[list[str]],
    name_weight: float,
    limit: int,
    rows: tuple[int, int] | None,
) -> list[tuple[int, float]]:
    """`keyword_top` by FTS5, leaving the common words out of what it ranks when it can
    (MaxScore: `keyword_top`'s docstring)."""
    every = partial(queries.keyword_top, conn, queries.fts_any(words), name_weight, limit, rows)
    if len(words) < 2 or any(len(t) != 1 for t in terms):
        return every()
    tokens = [t for (t,) in terms]
    held = term_counts(tokens, conn)
    all_rows = term_counts.rows(conn)
    common_rows = COMMON_SHARE * all_rows
    # of the rows between `rows`: about their share of the common words' rows
    share = 1.0 if rows is None else min(1.0, (rows[1] - rows[0] + 1) / max(all_rows, 1))
    if share * sum(n for n in held.values() if n > common_rows) < LEFT_OUT_ROWS:
        return every()  # FTS5 ranks them in a few ms
    totals = queries.keyword_totals(conn, queries.fts_any(words))
    if totals is None:
        return every()
    term_counts.agree(totals)  # the counts must be FTS5's own now: counted again if stale
    held = term_counts(tokens, conn)
    n_rows, n_tokens = totals
    idf = [_idf(n_rows, held[t]) for t in tokens]
    common = sorted(
        (i for i, t in enumerate(tokens) if held[t] > COMMON_SHARE * n_rows),
        key=lambda i: idf[i],
    )
    left_out: set[int] = set()
    bound = 0.0
    for i in common:  # the lowest bounds (and longest lists) first
        if bound + idf[i] * (BM25_K1 + 1) > LEFT_OUT_BOUND or len(left_out) == len(words) - 1:
            break
        left_out.add(i)
        bound += idf[i] * (BM25_K1 + 1)
    if not left_out:
        return every()
    rest = queries.fts_any([w for i, w in enumerate(words) if i not in left_out])
    candidates: list[int] = []
    theta: float | None = None
    for entry_id, score in queries.keyword_ranked(conn, rest, name_weight, RESCORED_MOST + 1, rows):
        if theta is not None and score < theta - bound - SLACK:
            break
        candidates.append(entry_id)
        if len(candidates) == limit:
            theta = score
    if theta is None or theta - bound <= SLACK or len(candidates) > RESCORED_MOST:
        return every()
    scores = _bm25(conn, candidates, tokens, idf, n_tokens / n_rows, name_weight)
    return sorted(scores.items(), key=lambda pair: (-pair[1], pair[0]))[:limit]


SLACK = 1e-9
"""Kept between bounds and scores: sums of the same terms in another order may differ by ulps."""


def _idf(rows: int, held: int) -> float:
    """A word's idf as FTS5's bm25 computes it (negative ones clamped)."""
    idf = math.log((rows - held + 0.5) / (held + 0.5))
    return idf if idf > 0.0 else 1e-6


def _bm25(
    conn: apsw.Connection,
    ids: list[int],
    terms: list[str],
    idf: list[float],
    avgdl: float,
    name_weight: float,
) -> dict[int, float]:
    """Each row's bm25 score (higher is better) for the query "any of `terms`" (each one
    token), computed as FTS5 computes it: weighted frequencies (the name column weighing
    `name_weight`; sums of whole numbers, exact in any order), the row's size in tokens, the
    words added in the query's order (a term twice in the query counts twice, as in FTS5)."""
    k1, b = BM25_K1, BM25_B
    weights = (name_weight, 1.0, 1.0)
    distinct = list(dict.fromkeys(terms))
    scores = {}
    for entry_id, columns in queries.keyword_texts(conn, ids):
        found = dict.fromkeys(distinct, 0.0)
        size = 0
        for column, weight in zip(columns, weights, strict=True):
            tokens = queries.text_terms(conn, column) if column else []
            size += len(tokens)
            for term in distinct:
                found[term] += tokens.count(term) * weight
        score = 0.0
        for i, term in enumerate(terms):
            f = found[term]
            score += idf[i] * ((f * (k1 + 1.0)) / (f + k1 * (1 - b + b * size / avgdl)))
        scores[entry_id] = score
    return scores


COVERAGE_POSTINGS = 20_000
"""Up to this many entries holding the terms in all, coverage is read from the index."""


def term_coverage(
    conn: apsw.Connection, term_counts: DocCounts, terms: list[str], ids: list[int]
) -> dict[int, int]:
    """How many of `terms` each entry of `ids` contains: from the index when the terms are
    rare (1 ms on the SRD), else by tokenizing the entries (the index walk took up to 80 ms
    with 100,000 entries, the tokenizing 2-4 ms)."""
    if POSTINGS and queries.postings_in_step(conn) is not None:
        return _coverage_from_postings(conn, terms, ids)
    held = sum(term_counts(terms, conn).values())
    if held <= COVERAGE_POSTINGS:
        return queries.term_coverage(conn, terms, ids)
    return queries.term_coverage_by_text(conn, terms, ids)


COVERED_EARLY_MOST = 50_000
"""`covered_rows` counts every row's terms when the terms' rows number at most this in all."""


def covered_rows(
    conn: apsw.Connection,
    term_counts: DocCounts,
    terms: list[str],
    rows: tuple[int, int] | None = None,
) -> dict[int, int] | None:
    """`term_coverage` of every row holding any of `terms` (among the ids between `rows`, if
    given), by id, from the term frequencies kept beside FTS5: what the keyword half counts
    on the reader thread while the calling thread embeds the query, before the candidates by
    meaning are known (a row's count does not depend on which others are asked for). None
    when the frequencies are not in step with FTS5 or the terms' rows are more than
    `COVERED_EARLY_MOST`: the caller then counts its candidates' (`term_coverage`)."""
    numeric.import_numpy()
    import numpy as np

    if not (POSTINGS and terms) or queries.postings_in_step(conn) is None:
        return None
    if sum(term_counts(terms, conn).values()) > COVERED_EARLY_MOST:
        return None
    bits = queries.POSTING_BLOCK_BITS
    low, high = rows if rows is not None else (0, 2**62)
    holding = [
        queries.decode_postings(held, freqs)[0].astype(np.int64) + (block << bits)
        for term in dict.fromkeys(terms)
        for block, held, freqs in queries.term_postings(conn, term, low >> bits, high >> bits)
    ]
    if not holding:
        return {}
    every = np.concatenate(holding)  # a term's rows each once (`_coverage_from_postings`)
    ids, counts = np.unique(every[(every >= low) & (every <= high)], return_counts=True)
    return dict(zip(ids.tolist(), counts.tolist(), strict=True))


def _coverage_from_postings(
    conn: apsw.Connection, terms: list[str], ids: list[int]
) -> dict[int, int]:
    """As `term_coverage`, from the term frequencies kept beside FTS5 (`queries.postings`):
    a row holds a term when it has a posting of it, in any column."""
    numeric.import_numpy()
    import numpy as np

    if not ids or not terms:
        return {}
    bits = queries.POSTING_BLOCK_BITS
    wanted = np.unique(np.asarray(ids, dtype=np.int64))
    count = np.zeros(len(wanted), dtype=np.int64)
    first, last = int(wanted[0]) >> bits, int(wanted[-1]) >> bits
    blocks = set((wanted >> bits).tolist())
    for term in dict.fromkeys(terms):
        holding = [
            queries.decode_postings(held, freqs)[0].astype(np.int64) + (block << bits)
            for block, held, freqs in queries.term_postings(conn, term, first, last)
            if block in blocks
        ]
        if holding:
            count += np.isin(wanted, np.concatenate(holding), assume_unique=True)
    return {i: n for i, n in zip(wanted.tolist(), count.tolist(), strict=True) if n}


# -- semantic ---------------------------------------------------------------------------------


EXACT_MARGIN = 4
"""Exact first stage: this many times the passages wanted, for those that fall out of scope."""
CANDIDATES_PER_NEIGHBOUR = 48
"""Codes: passages taken per passage wanted by the Hamming distance of their codes, of which
the `SCORED_PER_NEIGHBOUR` best by the codes' estimate of their similarity
(`passages.estimates`, ~0.2 µs a code) are scored exactly."""
SCORED_PER_NEIGHBOUR = 12
"""Codes: passages scored exactly (their float32 vectors read from SQLite, ~4 µs each) per
passage wanted. 48 by Hamming distance then 12 by the estimate find as many of the exact
nearest as 32 by Hamming distance all scored did, or more, for 3/8 of the reads
(docs/benchmarks.md, "the thirteenth session"; `bench/candidates.py`)."""
SMALL_SCOPE = 8
"""Codes: when fewer than 1/8 of the candidates are in scope, search the scope's passages."""


def semantic_hits(
    conn: apsw.Connection,
    passages: PassageIndex,
    scope: queries.SearchScope,
    vector: bytes,
    model: str,
    k: int,
    limit: int,
) -> list[tuple[int, float, int]]:
    """(entry id, cosine similarity of its best passage, that passage's id), best first: the
    `k` nearest passages among the entries in scope, grouped by entry. Similarities are exact
    (float32, in SQLite). The candidates: the nearest passages of all (`PassageIndex`), taken
    in order of their exact distance while in scope; or, when the scope holds too few of them
    (filters, a small collection), the nearest passages of the scope. A scope of a few packs
    (`scope.rows` given: the profile's SRD ranked apart) of at most `EXACT_PASSAGES` passages is
    scored exactly from their vectors held in memory (`PassageIndex.among`)."""
    if scope.rows is not None:  # the profile's SRD ranked apart: its vectors in memory
        packs = replace(scope, collections=(), edition=None, filters=())
        key = json.dumps([packs.args(), model], sort_keys=True)
        small = passages.among(key, lambda: queries.passages_in_scope(conn, packs, model))
        if small is not None:
            narrower = scope.collections or scope.edition or scope.filters
            kept = queries.passages_in_scope(conn, scope, model) if narrower else None
            return small.nearest(vector, k, limit, kept)
    index = passages.current()
    wanted = k * (EXACT_MARGIN if index.exact else SCORED_PER_NEIGHBOUR)
    share = 0.0 if index.exact else 1 / SMALL_SCOPE
    scanned = None if index.exact else k * CANDIDATES_PER_NEIGHBOUR
    nearest = index.nearest(vector, wanted, scanned=scanned)
    complete = len(nearest) < wanted  # every passage is a candidate
    chosen = _in_scope_first(conn, index, scope, model, vector, nearest, k, share, complete)
    if chosen is None:
        allowed = _scope_passages(conn, index, scope, model)
        candidates = index.nearest(vector, wanted, allowed, scanned)
        chosen = _in_scope_first(conn, index, scope, model, vector, candidates, k, 0.0, True) or []
    best: dict[int, tuple[int, float, int]] = {}
    for passage_id, entry_id, distance in chosen:
        if entry_id not in best:
            best[entry_id] = (entry_id, 1.0 - distance, passage_id)
    return list(best.values())[:limit]


def _scope_passages(
    conn: apsw.Connection, index: PassageIndex, scope: queries.SearchScope, model: str
) -> Any:
    """The ids of the passages (of `model`) in scope, ascending (numpy int64): those held for
    the scope (`_coded_owners`), else read from the database one row at a time. At SRD +
    100,000 the homebrew group's are ~285,000: as a dictionary of Python ints they raised the
    daemon's peak by ~30 MB (docs/benchmarks.md, the twenty-second session)."""
    numeric.import_numpy()
    import numpy as np

    held = _coded_owners(conn, index, scope, model)
    if held is not None:
        return held.passages
    rows = queries.passages_in_scope_rows(conn, scope, model)
    return np.sort(np.fromiter((passage_id for passage_id, _ in rows), dtype=np.int64))


def _in_scope_first(
    conn: apsw.Connection,
    index: PassageIndex,
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
    owners = _owners(conn, index, scope, model)
    held = None if owners is not None else _coded_owners(conn, index, scope, model)
    if index.exact:  # every vector in memory: as sqlite-vec computes it, without a read
        ranked = _cosine_distances(index, vector, candidates)
    else:
        ranked = queries.passage_distances(index.vectors(), vector, candidates)
    checked = 0
    batch = 2 * k
    for start in range(0, len(ranked), batch):
        part = ranked[start : start + batch]
        if held is not None:
            entries = held.among([p for p, _ in part])
        elif owners is None:
            entries = queries.passages_in_scope(conn, scope, model, [p for p, _ in part])
        else:
            entries = owners
        chosen += [(p, e, d) for p, d in part if (e := entries.get(p)) is not None]
        checked += len(part)
        if len(chosen) >= k:
            break
    if complete or (len(chosen) >= k and len(chosen) >= share * checked):
        return chosen[:k]
    return None


def _cosine_distances(
    index: PassageIndex, vector: bytes, ids: list[int]
) -> list[tuple[int, float]]:
    """As `queries.passage_distances` (sqlite-vec's `vec_distance_cosine`, to the bit), from the
    vectors `index` holds in memory (`index.exact`): each sum taken in float32 element by
    element, as sqlite-vec's loop takes it (not numpy's pairwise sum), the
    square roots and the quotient in double, the distance rounded to float32. Nearest first,
    ties by id; none for a zero query vector (sqlite-vec gives NULL), nor for a zero passage
    vector."""
    numeric.import_numpy()
    import numpy as np

    if not ids:
        return []
    query = np.frombuffer(vector, dtype="<f4")
    wanted = np.sort(np.asarray(ids, dtype=np.int64))
    at = np.searchsorted(index.ids, wanted)
    fast = passages_native()
    if fast is not None:  # the same sums in C, without the copies (`_codes_native.c`)
        dot = np.frombuffer(fast.dots(index.rows, at, vector), dtype=np.float32)
    else:
        dot = _sums_in_order(index.rows[at] * query)
    sizes = _squared_sizes(index)[at]
    size = np.cumsum(query * query, dtype=np.float32)[-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.sqrt(sizes.astype(np.float64)) * np.sqrt(np.float64(size))
        distance = (1.0 - dot.astype(np.float64) / scale).astype(np.float32)
    keep = scale != 0
    order = np.argsort(distance[keep], kind="stable")
    found = wanted[keep][order].tolist()
    return list(zip(found, distance[keep][order].astype(np.float64).tolist(), strict=True))


def _sums_in_order(rows: Any) -> Any:
    """Each row's sum in float32, its elements added one after the other (sqlite-vec's loop).
    Reducing the rows of a C-contiguous array of several columns adds them in order, each
    column's sum on its own (numpy sums pairwise only along the contiguous axis, which a single
    column would become): so one column per row, and a zero column more."""
    numeric.import_numpy()
    import numpy as np

    columns = np.zeros((rows.shape[1], len(rows) + 1), dtype=np.float32)
    columns[:, :-1] = rows.T
    return np.add.reduce(columns, axis=0)[:-1]


_SIZES: weakref.WeakKeyDictionary[PassageIndex, tuple[Any, Any]] = weakref.WeakKeyDictionary()


def _squared_sizes(index: PassageIndex) -> Any:
    """Each vector's squared length as sqlite-vec sums it, for the vectors `index` holds (kept
    until they are read again)."""
    held = _SIZES.get(index)
    if held is None or held[0] is not index.rows:
        held = _SIZES[index] = (index.rows, _sums_in_order(index.rows * index.rows))
    return held[1]


@dataclass
class _Owned:
    """The passages of the profile's winners, by passage and by entry (`_owners`)."""

    entries: dict[int, int]
    passages: dict[int, list[int]] = field(default_factory=dict)


_OWNED = UntilChanged[_Owned]()


def _owned(
    conn: apsw.Connection, index: PassageIndex, scope: queries.SearchScope, model: str
) -> _Owned | None:
    """Passage id -> entry id of the passages (of `model`) of the profile's winners, or of its
    winners in some of its packs (a group of `pack_groups`: the SRD beside a homebrew pack),
    held in memory beside the vectors of an exact index (at most `EXACT_PASSAGES` passages:
    the SRD and a few packs) until the database changes; None for a scope narrowed otherwise
    (collections, edition, filters: they change from search to search), or an index of codes
    (its scope is asked of the database). A group's passages were asked of the database for
    each batch of candidates: ~0.8 ms of the homebrew group's ~2 ms semantic half."""
    if not index.exact or scope.collections or scope.edition or scope.filters:
        return None

    def read() -> _Owned:
        entries = queries.passages_in_scope(conn, scope, model)
        passages: dict[int, list[int]] = {}
        for passage_id, entry_id in sorted(entries.items()):
            passages.setdefault(entry_id, []).append(passage_id)
        return _Owned(entries, passages)

    return _OWNED.get(index, index.stamp, (scope.profile, tuple(scope.packs), model), read)


def _owners(
    conn: apsw.Connection, index: PassageIndex, scope: queries.SearchScope, model: str
) -> dict[int, int] | None:
    owned = _owned(conn, index, scope, model)
    return None if owned is None else owned.entries


class _CodedOwners:
    """Passage id → entry id of every passage (of one model) in one scope, as two arrays sorted
    by passage: what `_in_scope_first` asks of the database for each batch of candidates
    (`queries.passages_in_scope` among them: ~3 ms a search at SRD + 100,000), held for an index
    of codes (`_coded_owners`). 4 MB for 250,000 passages."""

    def __init__(self, rows: Any) -> None:
        numeric.import_numpy()
        import numpy as np

        order = np.argsort(rows["passage"], kind="stable")
        self.passages = rows["passage"][order]
        self.entries = rows["entry"][order]

    def among(self, ids: list[int]) -> dict[int, int]:
        """As `queries.passages_in_scope(..., among=ids)`."""
        numeric.import_numpy()
        import numpy as np

        if not len(self.passages):
            return {}
        wanted = np.asarray(ids, dtype=np.int64)
        at = np.minimum(np.searchsorted(self.passages, wanted), len(self.passages) - 1)
        found = self.passages[at] == wanted
        return dict(zip(wanted[found].tolist(), self.entries[at[found]].tolist(), strict=True))


_CODED = UntilChanged[_CodedOwners]()
_CODED_ASKED = UntilChanged[bool]()


def _coded_owners(
    conn: apsw.Connection, index: PassageIndex, scope: queries.SearchScope, model: str
) -> _CodedOwners | None:
    """The passages in `scope` held in memory (`_CodedOwners`) for an index of codes, when the
    scope is the profile's or some of its packs (not collections, an edition or filters: those
    change from search to search), from the second search of that scope on with the database
    unchanged (one read of every passage in scope, ~0.4 s at SRD + 100,000, is not repeated
    for each search while an index run writes). None otherwise: the caller asks the database."""
    numeric.import_numpy()
    import numpy as np

    if index.exact or scope.collections or scope.edition or scope.filters:
        return None
    key = json.dumps([replace(scope, rows=None).args(), model], sort_keys=True)
    first: list[bool] = []

    def asked() -> bool:
        first.append(True)
        return True

    _CODED_ASKED.get(index, index.stamp, key, asked)
    if first:  # the scope's first search since the database changed
        return None

    def read() -> _CodedOwners:
        rows = queries.passages_in_scope_rows(conn, scope, model)
        return _CodedOwners(np.fromiter(rows, dtype=[("passage", np.int64), ("entry", np.int64)]))

    return _CODED.get(index, index.stamp, key, read)


def similarities(
    conn: apsw.Connection,
    passages: PassageIndex,
    scope: queries.SearchScope,
    vector: bytes,
    model: str,
    ids: list[int],
) -> list[tuple[int, float, int]]:
    """As `queries.passage_similarities` (entry id, cosine similarity of its best passage,
    that passage's id) for `ids` of entries in `scope` (keyword hits): from the vectors in
    memory when the index holds them all and the scope is the profile's (`_owned`), else from
    the database."""
    index = passages.current()
    owned = _owned(conn, index, scope, model)
    if owned is None:
        return queries.passage_similarities(conn, vector, model, ids)
    mine = [p for entry_id in ids for p in owned.passages.get(entry_id, [])]
    best: dict[int, tuple[int, float, int]] = {}
    for passage_id, distance in _cosine_distances(index, vector, mine):
        entry_id = owned.entries[passage_id]
        if entry_id not in best:  # the nearest first, ties by passage id: SQLite's min()
            best[entry_id] = (entry_id, 1.0 - distance, passage_id)
    return [best[entry_id] for entry_id in sorted(best)]  # by entry, as SQL's GROUP BY
