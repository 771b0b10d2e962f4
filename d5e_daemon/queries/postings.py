"""The keyword index's term frequencies (schema/0015_keyword_postings.sql), kept beside
`entry_text` by the code that writes it, and read by keyword search to score rows as FTS5's bm25
does without asking FTS5 to (`search/retrieval.py`).

For each term and each block of `POSTING_BLOCK` entry ids: the rows holding the term (their ids
less the block's start, ascending) and how often it occurs in the row's name column and in its
other columns. For each block: every row's size in tokens plus one (0: no row). `keyword_state`:
whether all of it is kept (`built`), and the rows and tokens kept, which are FTS5's own totals
whenever the two are in step (search checks that before it reads anything here:
`postings_in_step`).

Rows are tokenized as `entry_text` tokenizes them (`text_terms`). Writing many texts (a pack of
thousands installed, an index built anew) drops what is kept (`drop_postings`) and builds it
again once at the end (`rebuild_postings`), a block at a time.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import apsw

from .. import numeric
from .search import keyword_texts, terms_of, text_terms

POSTING_BLOCK_BITS = 12
POSTING_BLOCK = 1 << POSTING_BLOCK_BITS
"""Entry ids per block: a row of `keyword_posting` holds at most this many rows' counts."""

_Counts = tuple[int, dict[str, tuple[int, int]]]
"""A row's size in tokens, and for each of its terms (occurrences in the name, in the rest)."""


def postings_state(conn: apsw.Connection) -> tuple[bool, int, int]:
    """(built, rows kept, tokens kept); not built in a database of an older schema (read
    only, not migrated)."""
    try:
        row = conn.execute("SELECT built, rows, tokens FROM keyword_state").fetchone()
    except apsw.SQLError:  # no such table
        return False, 0, 0
    if row is None:
        return False, 0, 0
    built, rows, tokens = row
    return bool(built), int(rows), int(tokens)


def _set_state(conn: apsw.Connection, built: bool, rows: int, tokens: int) -> None:
    conn.execute("UPDATE keyword_state SET built = ?, rows = ?, tokens = ?", (built, rows, tokens))


def row_term_counts(conn: apsw.Connection, columns: Sequence[str | None]) -> _Counts:
    """The size and term counts of an `entry_text` row (name, text, aliases) as FTS5 sees it."""
    size = 0
    found: dict[str, tuple[int, int]] = {}
    for i, column in enumerate(columns):
        tokens = text_terms(conn, column) if column else []
        size += len(tokens)
        for term, n in Counter(tokens).items():
            name, rest = found.get(term, (0, 0))
            found[term] = (name + n, rest) if i == 0 else (name, rest + n)
    return size, found


def encode_postings(offsets: Any, names: Any, rests: Any) -> tuple[bytes, bytes]:
    numeric.import_numpy()
    import numpy as np

    freqs = np.concatenate([names, rests])
    wide = len(freqs) and int(freqs.max()) > 0xFFFF
    return (
        np.asarray(offsets, dtype="<u2").tobytes(),
        freqs.astype("<u4" if wide else "<u2").tobytes(),
    )


def decode_postings(ids: bytes, freqs: bytes) -> tuple[Any, Any, Any]:
    """(offsets in the block, name counts, other counts) as numpy arrays."""
    numeric.import_numpy()
    import numpy as np

    offsets = np.frombuffer(ids, dtype="<u2")
    n = len(offsets)
    counts = np.frombuffer(freqs, dtype="<u2" if len(freqs) == 2 * 2 * n else "<u4")
    return offsets, counts[:n], counts[n:]


def term_postings(
    conn: apsw.Connection, term: str, first: int, last: int
) -> Iterator[tuple[int, bytes, bytes]]:
    """(block, ids, freqs) of `term` in the blocks `first` to `last`."""
    return conn.execute(
        "SELECT chunk, ids, freqs FROM keyword_posting WHERE term = ? AND chunk BETWEEN ? AND ?",
        (term, first, last),
    )


def posting_sizes(conn: apsw.Connection, first: int, last: int) -> Iterator[tuple[int, bytes]]:
    """(block, sizes) of the blocks `first` to `last` that hold rows."""
    return conn.execute(
        "SELECT chunk, sizes FROM keyword_size WHERE chunk BETWEEN ? AND ?", (first, last)
    )


def _block_sizes(conn: apsw.Connection, block: int) -> Any:
    numeric.import_numpy()
    import numpy as np

    row = conn.execute("SELECT sizes FROM keyword_size WHERE chunk = ?", (block,)).fetchone()
    if row is None:
        return np.zeros(POSTING_BLOCK, dtype=np.uint32)
    return np.frombuffer(row[0], dtype="<u4").astype(np.uint32)


def _save_block_sizes(conn: apsw.Connection, block: int, held: Any) -> None:
    if not held.any():
        conn.execute("DELETE FROM keyword_size WHERE chunk = ?", (block,))
        return
    conn.execute(
        "INSERT INTO keyword_size (chunk, sizes) VALUES (?, ?) "
        "ON CONFLICT (chunk) DO UPDATE SET sizes = excluded.sizes",
        (block, held.astype("<u4").tobytes()),
    )


def _save_posting(
    conn: apsw.Connection, term: str, block: int, offsets: Any, names: Any, rests: Any
) -> None:
    if not len(offsets):
        conn.execute("DELETE FROM keyword_posting WHERE term = ? AND chunk = ?", (term, block))
        return
    ids, freqs = encode_postings(offsets, names, rests)
    conn.execute(
        "INSERT INTO keyword_posting (term, chunk, ids, freqs) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (term, chunk) DO UPDATE SET ids = excluded.ids, freqs = excluded.freqs",
        (term, block, ids, freqs),
    )


def _block_postings(conn: apsw.Connection, term: str, block: int) -> tuple[Any, Any, Any] | None:
    row = conn.execute(
        "SELECT ids, freqs FROM keyword_posting WHERE term = ? AND chunk = ?", (term, block)
    ).fetchone()
    return None if row is None else decode_postings(row[0], row[1])


def _by_block(ids: Iterable[int]) -> dict[int, list[int]]:
    found: dict[int, list[int]] = {}
    for entry_id in sorted(set(ids)):
        found.setdefault(entry_id >> POSTING_BLOCK_BITS, []).append(entry_id)
    return found


def remove_postings(conn: apsw.Connection, ids: Sequence[int]) -> None:
    """Forget the rows of `ids` (their `entry_text` rows still there: their terms are read from
    them). Call in the transaction that deletes or rewrites those rows."""
    built, rows, tokens = postings_state(conn)
    if not built or not ids or not rows:  # nothing kept: nothing to forget (nor numpy to load)
        return
    numeric.import_numpy()
    import numpy as np

    for block, members in _by_block(ids).items():
        held = _block_sizes(conn, block)
        offsets = np.asarray(members, dtype=np.int64) - (block << POSTING_BLOCK_BITS)
        doomed = offsets[held[offsets] > 0]
        if not len(doomed):
            continue
        rows -= len(doomed)
        tokens -= int(held[doomed].sum()) - len(doomed)
        if int(np.count_nonzero(held)) == len(doomed):  # the whole block goes
            conn.execute("DELETE FROM keyword_posting WHERE chunk = ?", (block,))
        else:
            terms: set[str] = set()
            doomed_ids = [int(o) + (block << POSTING_BLOCK_BITS) for o in doomed]
            for _, columns in keyword_texts(conn, doomed_ids):
                terms.update(row_term_counts(conn, columns)[1])
            for term in sorted(terms):
                found = _block_postings(conn, term, block)
                if found is None:
                    continue
                at, names, rests = found
                keep = ~np.isin(at, doomed)
                _save_posting(conn, term, block, at[keep], names[keep], rests[keep])
        held[doomed] = 0
        _save_block_sizes(conn, block, held)
    _set_state(conn, True, rows, tokens)


def add_postings(
    conn: apsw.Connection, texts: Sequence[tuple[int, str | None, str | None, str | None]]
) -> None:
    """Keep the rows `texts` (entry id, name, text, aliases) just written to `entry_text` (after
    `remove_postings` of any they replace). Call in the same transaction."""
    built, rows, tokens = postings_state(conn)
    if not built or not texts:
        return
    numeric.import_numpy()
    import numpy as np

    counted = {entry_id: row_term_counts(conn, columns) for entry_id, *columns in texts}
    for block, members in _by_block(counted).items():
        held = _block_sizes(conn, block)
        per_term: dict[str, list[tuple[int, int, int]]] = {}
        for entry_id in members:
            offset = entry_id - (block << POSTING_BLOCK_BITS)
            size, counts = counted[entry_id]
            if held[offset]:  # not removed first: counted once only
                rows -= 1
                tokens -= int(held[offset]) - 1
            held[offset] = size + 1
            rows += 1
            tokens += size
            for term, (name, rest) in counts.items():
                per_term.setdefault(term, []).append((offset, name, rest))
        for term in sorted(per_term):
            new = np.asarray(per_term[term], dtype=np.int64).reshape(-1, 3)
            found = _block_postings(conn, term, block)
            if found is not None:
                at, names, rests = found
                keep = ~np.isin(at, new[:, 0])
                old = np.stack([at[keep], names[keep], rests[keep]], axis=1).astype(np.int64)
                new = np.concatenate([old, new])
            new = new[np.argsort(new[:, 0], kind="stable")]
            _save_posting(conn, term, block, new[:, 0], new[:, 1], new[:, 2])
        _save_block_sizes(conn, block, held)
    _set_state(conn, True, rows, tokens)


def drop_postings(conn: apsw.Connection) -> None:
    """Keep nothing until `rebuild` (search asks FTS5 meanwhile): many texts are about to be
    written, and one build at the end costs less than keeping each batch."""
    conn.execute("DELETE FROM keyword_posting")
    conn.execute("DELETE FROM keyword_size")
    _set_state(conn, False, 0, 0)


def rebuild_postings(conn: apsw.Connection) -> None:
    """Keep every row of `entry_text` again, from scratch, a block at a time."""
    numeric.import_numpy()
    import numpy as np

    drop_postings(conn)
    terms = terms_of(conn)
    rows = tokens = 0
    block = -1
    while True:
        row = conn.execute(
            "SELECT min(rowid) FROM entry_text WHERE rowid >= ?",
            ((block + 1) << POSTING_BLOCK_BITS,),
        ).fetchone()
        if row is None or row[0] is None:
            break
        block = int(row[0]) >> POSTING_BLOCK_BITS
        start = block << POSTING_BLOCK_BITS
        texts = conn.execute(
            "SELECT rowid, name, text, aliases FROM entry_text WHERE rowid BETWEEN ? AND ?",
            (start, start + POSTING_BLOCK - 1),
        )
        held, postings = _count_block(texts, start, terms)
        conn.executemany(
            "INSERT INTO keyword_posting (term, chunk, ids, freqs) VALUES (?, ?, ?, ?)",
            ((term, block, ids, freqs) for term, ids, freqs in postings),
        )
        _save_block_sizes(conn, block, held)
        kept = int(np.count_nonzero(held))
        rows += kept
        tokens += int(held.sum(dtype=np.int64)) - kept
    _set_state(conn, True, rows, tokens)


def _count_block(
    texts: Iterable[tuple[int, str | None, str | None, str | None]],
    start: int,
    terms: Callable[[str], list[str]],
) -> tuple[Any, Iterator[tuple[str, bytes, bytes]]]:
    """The sizes and the postings (term, ids, freqs; by term) of a block's rows `texts` (entry
    id, name, text, aliases), counted as `row_term_counts` counts a row: each token numbered by
    its term as it is read, and every (term, row, name or not) counted at once with numpy."""
    import numpy as np

    numbers: dict[str, int] = {}
    fresh = itertools.count()  # a new term's number (unique, not dense)
    found: list[int] = []  # each token's term number
    places: list[int] = []  # each column's row offset, twice, plus 1 past the name column
    lengths: list[int] = []  # and its tokens
    held = np.zeros(POSTING_BLOCK, dtype=np.uint32)
    for entry_id, *columns in texts:
        offset = int(entry_id) - start
        size = 0
        for i, column in enumerate(columns):
            tokens = terms(column) if column else []
            found.extend(map(numbers.setdefault, tokens, fresh))
            places.append(2 * offset + (i > 0))
            lengths.append(len(tokens))
            size += len(tokens)
        held[offset] = size + 1
    vocabulary = sorted(numbers)
    rank = np.zeros(next(fresh), dtype=np.int64)
    rank[[numbers[term] for term in vocabulary]] = np.arange(len(vocabulary))
    place = np.repeat(np.asarray(places, dtype=np.int64), lengths)
    token_rank = rank[np.asarray(found, dtype=np.int64)]
    keys, counts = np.unique(token_rank * (2 * POSTING_BLOCK) + place, return_counts=True)
    # one posting per (term, row): its name count and its other columns' count
    pair = keys >> 1
    first = np.ones(len(pair), dtype=bool)
    first[1:] = pair[1:] != pair[:-1]
    at = np.cumsum(first) - 1
    pair = pair[first]
    names = np.zeros(len(pair), dtype=np.int64)
    rests = np.zeros(len(pair), dtype=np.int64)
    in_name = (keys & 1) == 0
    names[at[in_name]] = counts[in_name]
    rests[at[~in_name]] = counts[~in_name]
    term = pair >> POSTING_BLOCK_BITS
    offsets = pair & (POSTING_BLOCK - 1)
    bounds = np.flatnonzero(np.r_[True, term[1:] != term[:-1], True]).tolist()
    return held, _encoded(vocabulary, term, offsets, names, rests, bounds)


def _encoded(
    vocabulary: list[str], term: Any, offsets: Any, names: Any, rests: Any, bounds: list[int]
) -> Iterator[tuple[str, bytes, bytes]]:
    """`encode_postings` of each term's run of postings (from `bounds[i]` to `bounds[i + 1]`):
    cut from the whole block's bytes, but for the rare term counted past 16 bits in a row."""
    import numpy as np

    ids = offsets.astype("<u2").tobytes()
    name_freqs = names.astype("<u2").tobytes()
    rest_freqs = rests.astype("<u2").tobytes()
    wide = np.maximum(names, rests) > 0xFFFF
    for a, b in itertools.pairwise(bounds):
        word = vocabulary[int(term[a])]
        if wide[a:b].any():
            yield word, *encode_postings(offsets[a:b], names[a:b], rests[a:b])
        else:
            yield word, ids[2 * a : 2 * b], name_freqs[2 * a : 2 * b] + rest_freqs[2 * a : 2 * b]


def keyword_index_totals(conn: apsw.Connection) -> tuple[int, int] | None:
    """FTS5's rows and tokens of `entry_text` (all columns), the figures its bm25 reads, from
    its averages record (`entry_text_data` row 1: SQLite varints, the rows then each column's
    tokens); None when the table holds no row. The same figures as `keyword_totals` without
    starting a query (~0.5 ms at 100,000 rows)."""
    row = conn.execute("SELECT block FROM entry_text_data WHERE id = 1").fetchone()
    if row is None or not row[0]:
        return None
    data: bytes = row[0]
    values = []
    at = 0
    while at < len(data):
        value, at = _varint(data, at)
        values.append(value)
    if not values or values[0] == 0:
        return None
    return values[0], sum(values[1:])


def _varint(data: bytes, at: int) -> tuple[int, int]:
    """SQLite's varint at `at` (big-endian, 7 bits a byte, the ninth byte whole), and where the
    next begins."""
    value = 0
    for i in range(9):
        byte = data[at + i]
        if i == 8:
            return (value << 8) | byte, at + 9
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            return value, at + i + 1
    raise AssertionError("unreachable")


def postings_in_step(conn: apsw.Connection) -> tuple[int, int] | None:
    """FTS5's totals when what is kept here is FTS5's index now (built, and the same rows and
    tokens), else None."""
    built, rows, tokens = postings_state(conn)
    totals = keyword_index_totals(conn) if built else None
    return totals if totals == (rows, tokens) else None


def texts_pending(conn: apsw.Connection, cap: int) -> int:
    """How many entries wait for their keyword text (attributes), counted up to `cap`."""
    row = conn.execute(
        "SELECT count(*) FROM (SELECT 1 FROM entry_index WHERE attrs IS NULL LIMIT ?)", (cap,)
    ).fetchone()
    return int(row[0]) if row else 0
