"""Search: the scope every search query shares, keyword and semantic candidates, snippets,
filter values."""

from __future__ import annotations

import contextlib
import heapq
import itertools
import json
import re
import weakref
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any, NamedTuple, cast

import apsw

# Every search query is limited to the same entries: winners of the profile, in the asked
# collections, packs and edition, having every asked attribute. `:filters` is a JSON array of
# {"filter", "name", "min", "max"} (an `entry_attr` name and range; equality is min = max;
# several rows of one filter mean any of them: `sense` "darkvision" is the name `sense`,
# "darkvision 60" the name `sense:darkvision` from 60 up) and `:nfilters` the number of distinct
# filters; the entries having all of them are found through the `entry_attr` primary key
# (name, value, entry_id), one range scan per condition.
SEARCH_SCOPE = """
    JOIN resolved r ON r.entry_id = e.id
        AND r.profile_id = (SELECT id FROM profile WHERE name = :profile)
    WHERE (:collections = '[]' OR e.collection IN (SELECT value FROM json_each(:collections)))
      AND (:packs = '[]' OR e.pack_id IN (SELECT value FROM json_each(:packs)))
      AND (:edition IS NULL OR e.pack_id IN (SELECT id FROM pack WHERE edition = :edition))
      AND (:nfilters = 0 OR e.id IN (
            SELECT a.entry_id
            FROM json_each(:filters) f
            JOIN entry_attr a ON a.name = f.value ->> 'name'
                             AND a.value BETWEEN f.value ->> 'min' AND f.value ->> 'max'
            GROUP BY a.entry_id
            HAVING count(DISTINCT coalesce(f.value ->> 'filter', f.value ->> 'name')) = :nfilters))
"""


@dataclass(frozen=True)
class SearchScope:
    profile: str
    collections: Sequence[str] = ()
    packs: Sequence[str] = ()
    edition: str | None = None
    filters: Sequence[dict[str, Any]] = ()
    """Conditions `{"name", "min", "max"}` (see `SEARCH_SCOPE`)."""
    rows: tuple[int, int] | None = None
    """The ids every entry in scope has between (`pack_id_range`), or None: lets FTS5 skip
    the rows of other packs (a hint; the scope decides)."""

    @property
    def restricted(self) -> bool:
        """Anything beyond the profile's winners: collections, packs, edition or filters."""
        return bool(self.collections or self.packs or self.edition or self.filters)

    def args(self) -> dict[str, Any]:
        return {
            "profile": self.profile,
            "collections": json.dumps(list(self.collections)),
            "packs": json.dumps(list(self.packs)),
            "edition": self.edition,
            "filters": json.dumps(list(self.filters)),
            "nfilters": len({f.get("filter", f["name"]) for f in self.filters}),
        }


BROWSE_SQL = f"""
    SELECT e.id FROM entry e {SEARCH_SCOPE}
    ORDER BY e.norm_name, e.collection, e.pack_id
    LIMIT :limit OFFSET :offset
"""  # noqa: S608


# With filters, a listing starts from the entries having them (the `entry_attr` primary key)
# and keeps the profile's winners among them (`resolved` by entry): its cost follows the
# matches, not the profile's size (from the profile's winners, "immune to fire" read all of
# them: 150 ms at 10,000 entries).
BROWSE_FILTERED_SQL = """
    SELECT e.id
    FROM (SELECT a.entry_id AS id
          FROM json_each(:filters) f
          JOIN entry_attr a ON a.name = f.value ->> 'name'
                           AND a.value BETWEEN f.value ->> 'min' AND f.value ->> 'max'
          GROUP BY a.entry_id
          HAVING count(DISTINCT coalesce(f.value ->> 'filter', f.value ->> 'name')) = :nfilters
         ) m
    CROSS JOIN entry e ON e.id = m.id
    CROSS JOIN resolved r ON r.entry_id = e.id
        AND r.profile_id = (SELECT id FROM profile WHERE name = :profile)
    WHERE (:collections = '[]' OR e.collection IN (SELECT value FROM json_each(:collections)))
      AND (:packs = '[]' OR e.pack_id IN (SELECT value FROM json_each(:packs)))
      AND (:edition IS NULL OR e.pack_id IN (SELECT id FROM pack WHERE edition = :edition))
    ORDER BY e.norm_name, e.collection, e.pack_id
    LIMIT :limit OFFSET :offset
"""


# When every filter is shared by many entries, sorting all of them by name to give one page
# costs more than walking the entries by name and keeping those that have the filters (each
# checked through `entry_attr` by entry), which stops at the page.
BROWSE_WALK_SQL = """
    SELECT e.id FROM entry e INDEXED BY entry_by_norm_name
    CROSS JOIN resolved r ON r.entry_id = e.id
        AND r.profile_id = (SELECT id FROM profile WHERE name = :profile)
    WHERE (:collections = '[]' OR e.collection IN (SELECT value FROM json_each(:collections)))
      AND (:packs = '[]' OR e.pack_id IN (SELECT value FROM json_each(:packs)))
      AND (:edition IS NULL OR e.pack_id IN (SELECT id FROM pack WHERE edition = :edition))
      AND (SELECT count(DISTINCT coalesce(f.value ->> 'filter', f.value ->> 'name'))
           FROM entry_attr a INDEXED BY entry_attr_by_entry
           JOIN json_each(:filters) f ON a.name = f.value ->> 'name'
                                     AND a.value BETWEEN f.value ->> 'min' AND f.value ->> 'max'
           WHERE a.entry_id = e.id) = :nfilters
    ORDER BY e.norm_name, e.collection, e.pack_id
    LIMIT :limit OFFSET :offset
"""
FILTER_MATCHES_SQL = """
    SELECT count(*) FROM entry_attr a
    WHERE a.name = :name AND a.value BETWEEN :min AND :max
"""
WALK_FROM = 1000
"""Walk by name when the rarest filter still matches more entries than this."""


# A listing by filters reads the entries having one value of the rarest filter in listing
# order (`entry_attr_order`: attribute, value, then the entry's name, collection and pack:
# schema/0011_attr_order.sql), keeps the profile's winners in scope that have the other filters
# (each checked through `entry_attr` by entry) and stops at the page: its cost follows the page,
# not how many entries match (resist cold at the SRD + 100,000 entries: 2,953 matches).
BROWSE_ORDERED_SQL = """
    SELECT a.sort_key, a.entry_id
    FROM entry_attr_order a
    CROSS JOIN entry e ON e.id = a.entry_id
    CROSS JOIN resolved r
    ON r.profile_id = (SELECT id FROM profile WHERE name = :profile) AND r.entry_id = a.entry_id
    WHERE a.name = :name AND a.value = :value
      AND (:collections = '[]' OR e.collection IN (SELECT value FROM json_each(:collections)))
      AND (:packs = '[]' OR e.pack_id IN (SELECT value FROM json_each(:packs)))
      AND (:edition IS NULL OR e.pack_id IN (SELECT id FROM pack WHERE edition = :edition))
      AND (:nothers = 0 OR (
           SELECT count(DISTINCT coalesce(f.value ->> 'filter', f.value ->> 'name'))
           FROM entry_attr o INDEXED BY entry_attr_by_entry
           JOIN json_each(:others) f ON o.name = f.value ->> 'name'
                                     AND o.value BETWEEN f.value ->> 'min' AND f.value ->> 'max'
           WHERE o.entry_id = a.entry_id) = :nothers)
    ORDER BY a.sort_key
    LIMIT :limit OFFSET :offset
"""
ATTR_VALUE_FIRST_SQL = """
    SELECT min(value) FROM entry_attr WHERE name = :name AND value BETWEEN :min AND :max
"""
ATTR_VALUE_AFTER_SQL = """
    SELECT min(value) FROM entry_attr WHERE name = :name AND value > :after AND value <= :max
"""
FILTER_MATCHES_CAPPED_SQL = """
    SELECT count(*) FROM (SELECT 1 FROM entry_attr a
                          WHERE a.name = :name AND a.value BETWEEN :min AND :max LIMIT :cap)
"""
MERGED_VALUES = 64
"""A filter's values read in order and merged, at most; more (a wide range of numbers), and the
listing sorts the matches instead (`BROWSE_FILTERED_SQL`, or `BROWSE_WALK_SQL`)."""
COUNT_CAP = 20_000


def browse(conn: apsw.Connection, scope: SearchScope, limit: int, offset: int) -> list[int]:
    """Entries in scope by name: "all 3rd-level evocation spells"."""
    args = scope.args() | {"limit": limit, "offset": offset}
    if not scope.filters:
        return [entry_id for (entry_id,) in conn.execute(BROWSE_SQL, args)]
    driver = _rarest_filter(conn, scope)
    mine = [c for c in scope.filters if _key(c) == driver]
    others = [c for c in scope.filters if _key(c) != driver]
    pairs = _values(conn, mine, MERGED_VALUES + 1)
    if len(pairs) > MERGED_VALUES:
        sql = BROWSE_WALK_SQL if _rarest(conn, scope) > WALK_FROM else BROWSE_FILTERED_SQL
        return [entry_id for (entry_id,) in conn.execute(sql, args)]
    args |= {"others": json.dumps(others), "nothers": len({_key(c) for c in others})}
    if len(pairs) == 1:
        ((name, value),) = pairs
        rows = conn.execute(BROWSE_ORDERED_SQL, args | {"name": name, "value": value})
        return [entry_id for _, entry_id in rows]
    wanted = args | {"limit": offset + limit, "offset": 0}
    cursors = [conn.execute(BROWSE_ORDERED_SQL, wanted | {"name": n, "value": v}) for n, v in pairs]
    found: dict[int, None] = {}
    for _, entry_id in heapq.merge(*cursors, key=lambda row: str(row[0])):
        found.setdefault(entry_id)  # once: an entry may have two of the values
        if len(found) == offset + limit:
            break
    return list(found)[offset:]


ATTR_ENTRIES_SQL = """
    SELECT entry_id FROM entry_attr
    WHERE name = :name AND value BETWEEN :min AND :max AND entry_id BETWEEN :lo AND :hi
"""
ATTR_ENTRIES_EQUAL_SQL = """
    SELECT entry_id FROM entry_attr
    WHERE name = :name AND value = :min AND entry_id BETWEEN :lo AND :hi
"""


def meeting_within(conn: apsw.Connection, scope: SearchScope) -> list[int]:
    """The entries in scope meeting its filters (in no order), read within the ids of
    `scope.rows` from `entry_attr`'s primary key (attribute, value, entry): for the profile's
    SRD ranked apart in a large library, where `browse` walks every entry having the rarest
    filter's value in name order, the library's too ("cr 1/2 humanoids": ~60 ms of CPU at
    SRD + 100,000), to keep those of the SRD packs."""
    assert scope.rows is not None
    lo, hi = scope.rows
    per_filter: dict[str, set[int]] = {}
    for c in scope.filters:
        sql = ATTR_ENTRIES_EQUAL_SQL if c["min"] == c["max"] else ATTR_ENTRIES_SQL
        bounds = {"name": c["name"], "min": c["min"], "max": c["max"], "lo": lo, "hi": hi}
        per_filter.setdefault(_key(c), set()).update(i for (i,) in conn.execute(sql, bounds))
    ids = set.intersection(*per_filter.values()) if per_filter else set()
    if not ids:
        return []
    return list(in_scope(conn, replace(scope, filters=()), sorted(ids), ""))


def _key(condition: dict[str, Any]) -> str:
    return str(condition.get("filter", condition["name"]))


def _values(
    conn: apsw.Connection, conditions: list[dict[str, Any]], most: int
) -> list[tuple[str, Any]]:
    """The (attribute, value) pairs some entry has that satisfy any of `conditions`, up to
    `most` (one seek each; an equality is taken as it is)."""
    pairs: list[tuple[str, Any]] = []
    for c in conditions:
        if c["min"] == c["max"]:
            pairs.append((c["name"], c["min"]))
            continue
        bounds = {"name": c["name"], "min": c["min"], "max": c["max"]}
        value = conn.execute(ATTR_VALUE_FIRST_SQL, bounds).get
        while value is not None and len(pairs) < most:
            pairs.append((c["name"], value))
            value = conn.execute(ATTR_VALUE_AFTER_SQL, bounds | {"after": value}).get
    return list(dict.fromkeys(pairs))[:most]


def _rarest_filter(conn: apsw.Connection, scope: SearchScope) -> str:
    """The filter matching the fewest entries (attribute rows counted on the primary key, up to
    `COUNT_CAP`); not counted when there is one."""
    keys = list(dict.fromkeys(_key(c) for c in scope.filters))
    if len(keys) == 1:
        return keys[0]
    per_filter = dict.fromkeys(keys, 0)
    for c in scope.filters:
        bounds = {k: c[k] for k in ("name", "min", "max")} | {"cap": COUNT_CAP}
        per_filter[_key(c)] += int(conn.execute(FILTER_MATCHES_CAPPED_SQL, bounds).get or 0)
    return min(keys, key=lambda k: per_filter[k])


def _rarest(conn: apsw.Connection, scope: SearchScope) -> int:
    """How many entries the rarest of the filters matches at most (attribute rows, counted on
    the primary key)."""
    per_filter: dict[str, int] = {}
    for c in scope.filters:
        key = c.get("filter", c["name"])
        row = conn.execute(FILTER_MATCHES_SQL, {k: c[k] for k in ("name", "min", "max")}).fetchone()
        per_filter[key] = per_filter.get(key, 0) + (int(row[0]) if row else 0)
    return min(per_filter.values())


KEYWORD_SQL = f"""
    SELECT e.id, -bm25(entry_text, :name_weight, 1.0, 1.0),
           e.norm_name = :norm_name OR EXISTS (
               SELECT 1 FROM entry_alias a WHERE a.entry_id = e.id AND a.norm_name = :norm_name)
    FROM entry_text JOIN entry e ON e.id = entry_text.rowid {SEARCH_SCOPE}
      AND entry_text MATCH :match
    ORDER BY bm25(entry_text, :name_weight, 1.0, 1.0)
    LIMIT :limit
"""  # noqa: S608


def keyword_hits(
    conn: apsw.Connection,
    scope: SearchScope,
    match: str,
    name_weight: float,
    norm_name: str,
    limit: int,
) -> list[tuple[int, float, bool]]:
    """(entry id, BM25 score (higher is better), whether its name (or an alias) is
    `norm_name`) for an FTS5 query built of quoted words."""
    args = scope.args() | {
        "match": match,
        "name_weight": name_weight,
        "norm_name": norm_name,
        "limit": limit,
    }
    return [
        (entry_id, float(score), bool(exact))
        for entry_id, score, exact in conn.execute(KEYWORD_SQL, args)
    ]


def keyword_top(
    conn: apsw.Connection,
    match: str,
    name_weight: float,
    limit: int,
    rows: tuple[int, int] | None = None,
) -> list[tuple[int, float]]:
    """(entry id, BM25 score) of the best `limit` rows of the whole index (of the ids between
    `rows` if given: FTS5 skips the others), no scope: FTS5 alone, without a join per
    matching row."""
    return [
        (entry_id, float(score))
        for entry_id, score in keyword_ranked(conn, match, name_weight, limit, rows)
    ]


def pack_id_range(conn: apsw.Connection, packs: Sequence[str]) -> tuple[int, int] | None:
    """The lowest and highest entry id of `packs` (None: they have no entries); read on the
    `(pack_id, …)` key, so its cost follows the packs' size."""
    found = [
        (low, high)
        for pack in packs
        for low, high in conn.execute(
            "SELECT min(id), max(id) FROM entry WHERE pack_id = ?", (pack,)
        )
        if low is not None
    ]
    if not found:
        return None
    return min(low for low, _ in found), max(high for _, high in found)


def keyword_ranked(
    conn: apsw.Connection,
    match: str,
    name_weight: float,
    limit: int,
    rows: tuple[int, int] | None = None,
) -> Iterator[tuple[int, float]]:
    """As `keyword_top`, read lazily: the caller stops where it has what it needs."""
    if rows is None:
        found: Iterator[tuple[int, float]] = conn.execute(
            "SELECT rowid, -bm25(entry_text, ?2, 1.0, 1.0) FROM entry_text "
            "WHERE entry_text MATCH ?1 ORDER BY bm25(entry_text, ?2, 1.0, 1.0) LIMIT ?3",
            (match, name_weight, limit),
        )
    else:
        found = conn.execute(
            "SELECT rowid, -bm25(entry_text, ?2, 1.0, 1.0) FROM entry_text "
            "WHERE entry_text MATCH ?1 AND rowid BETWEEN ?4 AND ?5 "
            "ORDER BY bm25(entry_text, ?2, 1.0, 1.0) LIMIT ?3",
            (match, name_weight, limit, *rows),
        )
    return found


def keyword_totals(conn: apsw.Connection, match: str) -> tuple[int, int] | None:
    """The rows of `entry_text` and their tokens (all columns), as FTS5's bm25 reads them
    (`d5e_fts_totals`, db.py); None when no row matches `match`."""
    row = conn.execute(
        "SELECT d5e_fts_totals(entry_text) FROM entry_text WHERE entry_text MATCH ? LIMIT 1",
        (match,),
    ).fetchone()
    if row is None:
        return None
    rows, tokens = json.loads(row[0])
    return int(rows), int(tokens)


def keyword_texts(
    conn: apsw.Connection, ids: Sequence[int]
) -> Iterator[tuple[int, tuple[str | None, str | None, str | None]]]:
    """(entry id, its `entry_text` columns: name, text, aliases) of `ids`."""
    for entry_id, name, text, aliases in conn.execute(
        "SELECT rowid, name, text, aliases FROM entry_text "
        "WHERE rowid IN (SELECT value FROM json_each(?))",
        (json.dumps(list(ids)),),
    ):
        yield entry_id, (name, text, aliases)


def text_terms(conn: apsw.Connection, text: str) -> list[str]:
    """The terms `entry_text` indexes for `text`, in order, once per occurrence."""
    return terms_of(conn)(text)


def terms_of(conn: apsw.Connection) -> Callable[[str], list[str]]:
    """`text_terms` of `conn` as one function, its tokenizer looked up once (for many texts)."""
    tokenize = conn.fts5_tokenizer(*_FTS_TOKENIZER)
    flags = apsw.FTS5_TOKENIZE_DOCUMENT

    def terms(text: str) -> list[str]:
        tokens = tokenize(
            text.encode(), flags, None, include_offsets=False, include_colocated=False
        )
        return cast(list[str], tokens)  # without offsets nor colocated tokens: the tokens

    return terms


IN_SCOPE_SQL = f"""
    SELECT e.id, e.norm_name = :norm_name OR EXISTS (
               SELECT 1 FROM entry_alias a WHERE a.entry_id = e.id AND a.norm_name = :norm_name)
    FROM entry e {SEARCH_SCOPE}
      AND e.id IN (SELECT value FROM json_each(:ids))
"""  # noqa: S608


def in_scope(
    conn: apsw.Connection, scope: SearchScope, ids: Sequence[int], norm_name: str
) -> dict[int, bool]:
    """Which of `ids` are in scope, each with whether its name (or an alias) is `norm_name`."""
    args = scope.args() | {"ids": json.dumps(list(ids)), "norm_name": norm_name}
    return {entry_id: bool(exact) for entry_id, exact in conn.execute(IN_SCOPE_SQL, args)}


def passage_codes(conn: apsw.Connection, after: int) -> Iterator[tuple[int, bytes]]:
    """(passage id, 48-byte code) of the passages with ids above `after`, by id."""
    rows: Iterator[tuple[int, bytes]] = conn.execute(
        "SELECT id, bits FROM passage_code WHERE id > ? ORDER BY id", (after,)
    )
    return rows


def passage_vectors(conn: apsw.Connection, after: int) -> Iterator[tuple[int, bytes]]:
    """(passage id, float32 vector) of the passages with ids above `after`, by id."""
    rows: Iterator[tuple[int, bytes]] = conn.execute(
        "SELECT id, embedding FROM passage_vector WHERE id > ? ORDER BY id", (after,)
    )
    return rows


def passage_code_count(conn: apsw.Connection) -> int:
    row = conn.execute("SELECT count(*) FROM passage_code").fetchone()
    return int(row[0]) if row else 0


def query_code(conn: apsw.Connection, vector: bytes) -> bytes:
    """The code of a query vector, made as the passages' codes are."""
    row = conn.execute("SELECT vec_quantize_binary(?)", (vector,)).fetchone()
    assert row is not None
    return bytes(row[0])


PASSAGES_IN_SCOPE_SQL = f"""
    SELECT p.id, p.entry_id FROM passage p JOIN entry e ON e.id = p.entry_id {SEARCH_SCOPE}
      AND p.model = :model
"""  # noqa: S608
PASSAGES_AMONG_SQL = f"""
    SELECT p.id, p.entry_id FROM json_each(:ids) j CROSS JOIN passage p ON p.id = j.value
    JOIN entry e ON e.id = p.entry_id {SEARCH_SCOPE}
      AND p.model = :model
"""  # noqa: S608


def passages_in_scope(
    conn: apsw.Connection, scope: SearchScope, model: str, among: Sequence[int] | None = None
) -> dict[int, int]:
    """Passage id → entry id of the passages (of `model`) of the entries in scope; only those
    `among` if given."""
    args = scope.args() | {"model": model}
    if among is None:
        return dict(conn.execute(PASSAGES_IN_SCOPE_SQL, args))
    args["ids"] = json.dumps(list(among))
    return dict(conn.execute(PASSAGES_AMONG_SQL, args))


def passages_in_scope_rows(
    conn: apsw.Connection, scope: SearchScope, model: str
) -> Iterator[tuple[int, int]]:
    """(passage id, entry id) of every passage (of `model`) of the entries in scope, as
    `passages_in_scope` but one row at a time (no dictionary of them all)."""
    rows: Iterator[tuple[int, int]] = conn.execute(
        PASSAGES_IN_SCOPE_SQL, scope.args() | {"model": model}
    )
    return rows


def passage_distances(
    conn: apsw.Connection, vector: bytes, ids: Sequence[int]
) -> list[tuple[int, float]]:
    """(passage id, cosine distance of its float32 vector to `vector`) of `ids`, nearest first
    (none for a zero query vector, which has no direction)."""
    return [
        (passage_id, float(distance))
        for passage_id, distance in conn.execute(
            "SELECT id, vec_distance_cosine(embedding, ?1) AS distance FROM passage_vector "
            "WHERE id IN (SELECT value FROM json_each(?2)) ORDER BY distance",
            (vector, json.dumps(list(ids))),
        )
        if distance is not None
    ]


def vectors_of(conn: apsw.Connection, ids: Sequence[int]) -> list[tuple[int, bytes]]:
    """(passage id, float32 vector) of the passages of `ids` that have one, by id."""
    rows: list[tuple[int, bytes]] = list(
        conn.execute(
            "SELECT id, embedding FROM passage_vector "
            "WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id",
            (json.dumps(list(ids)),),
        )
    )
    return rows


_SNAPSHOT_VERSIONS: weakref.WeakKeyDictionary[apsw.Connection, int] = weakref.WeakKeyDictionary()


def data_version(conn: apsw.Connection) -> int:
    """Changes whenever another connection commits to the database. Inside `snapshot(conn)`,
    the version read when it began (nothing another connection commits is seen until it ends)."""
    held = _SNAPSHOT_VERSIONS.get(conn)
    if held is not None:
        return held
    row = conn.execute("PRAGMA data_version").fetchone()
    return int(row[0]) if row else 0


_SERIALS: weakref.WeakKeyDictionary[apsw.Connection, int] = weakref.WeakKeyDictionary()
_NEXT_SERIAL = itertools.count()


def stamp(conn: apsw.Connection) -> tuple[int, int]:
    """What a value read through `conn` is remembered by (`db.UntilChanged`): `data_version`,
    and which connection it counts for. Each connection counts from its own start, so a
    connection opened in place of another (`Database.writable_again`) may count what the old
    one counted: the connection's serial (never reused, where `id` is) tells them apart."""
    serial = _SERIALS.get(conn)
    if serial is None:
        serial = _SERIALS[conn] = next(_NEXT_SERIAL)
    return serial, data_version(conn)


@contextlib.contextmanager
def snapshot(conn: apsw.Connection) -> Iterator[None]:
    """The block's reads on `conn` in one read transaction, so `data_version` is asked once:
    a search asked it ~4 times on the SRD alone and ~9 at SRD + 100,000, each a statement that
    lets the reader thread take Python's lock while it runs (the calling thread then waits for
    it back). Nothing when `conn` is in a transaction already. Only for reads: a write through
    another connection during the block is not seen by `conn` until the block ends."""
    if conn.in_transaction or conn in _SNAPSHOT_VERSIONS:
        yield
        return
    conn.execute("BEGIN")
    try:
        _SNAPSHOT_VERSIONS[conn] = data_version(conn)  # a read: the snapshot starts here
        yield
    finally:
        _SNAPSHOT_VERSIONS.pop(conn, None)
        if conn.in_transaction:
            conn.execute("COMMIT")


PASSAGE_SIMILARITY_SQL = """
    SELECT p.entry_id, min(vec_distance_cosine(v.embedding, :vector)), p.id
    FROM passage p JOIN passage_vector v ON v.id = p.id
    WHERE p.entry_id IN (SELECT value FROM json_each(:ids)) AND p.model = :model
    GROUP BY p.entry_id
"""


def passage_similarities(
    conn: apsw.Connection, vector: bytes, model: str, ids: Sequence[int]
) -> list[tuple[int, float, int]]:
    """(entry id, cosine similarity of its best passage, that passage's id) of the entries of
    `ids` that have vectors: for entries found by keywords beyond the nearest neighbours."""
    args = {"vector": vector, "model": model, "ids": json.dumps(list(ids))}
    return [
        (entry_id, 1.0 - float(distance), passage_id)
        for entry_id, distance, passage_id in conn.execute(PASSAGE_SIMILARITY_SQL, args)
        if distance is not None
    ]


class Standing(NamedTuple):
    """Where an entry stands in a profile: what names it, and its pack's priority and edition.
    (A tuple: a search makes one for each of its 100-250 candidates, ~4 times quicker than a
    frozen dataclass.)"""

    collection: str
    norm_name: str
    pack: str
    priority: int
    edition: str | None

    @property
    def rank(self) -> tuple[int, str]:
        """Among same-named entries of several packs in one collection, the lowest stands for
        them all: the pack the profile ranks highest for the collection, ties by pack id (as
        resolution breaks them). Lookup, tags, completion and search go by it."""
        return (-self.priority, self.pack)


# `enabled_entry`'s priority, without the view's second read of each entry
STANDINGS_SQL = """
    SELECT e.id, e.collection, e.norm_name, e.pack_id, coalesce(pc.priority, pp.priority),
           p.edition
    FROM json_each(:ids) j
    CROSS JOIN entry e ON e.id = j.value
    JOIN profile_pack pp
        ON pp.pack_id = e.pack_id AND pp.profile_id = (SELECT id FROM profile WHERE name = :profile)
    LEFT JOIN profile_collection pc
        ON pc.profile_id = pp.profile_id AND pc.pack_id = e.pack_id AND pc.collection = e.collection
    JOIN pack p ON p.id = e.pack_id
"""


def standings(conn: apsw.Connection, profile_id: str, ids: Sequence[int]) -> dict[int, Standing]:
    """The `Standing` of each entry of `ids` enabled in the profile (its pack's priority for the
    entry's collection, as resolution reads it)."""
    args = {"ids": json.dumps(list(ids)), "profile": profile_id}
    return {row[0]: Standing._make(row[1:]) for row in conn.execute(STANDINGS_SQL, args)}


def keyword_snippets(
    conn: apsw.Connection, match: str, ids: Sequence[int]
) -> dict[int, tuple[str, str]]:
    """FTS5 snippets of the index text around the matched words, `**bold**`, each with the
    whole text (a word matched only in another column, a die's alias, has no place in the
    snippet: the caller finds it in the text). One query per entry: with `rowid = ?` FTS5 reads
    only that row's part of each word's list, where `rowid IN (…)` would walk every row that
    matches."""
    found = {}
    for entry_id in ids:
        row = conn.execute(
            "SELECT snippet(entry_text, 1, '**', '**', '…', 16), text FROM entry_text "
            "WHERE entry_text MATCH ? AND rowid = ?",
            (match, entry_id),
        ).fetchone()
        if row is not None:
            found[entry_id] = (row[0], row[1])
    return found


# The tokenizer of `entry_text` (schema/0004_keyword_text.sql), to turn query words into indexed
# terms.
_FTS_TOKENIZER = ("porter", ["unicode61", "remove_diacritics", "2"])


_WORD_TERMS: dict[str, tuple[str, ...]] = {}
"""`index_terms` of each word met, the same in every connection (SQLite's own tokenizer)."""
_MAX_WORD_TERMS = 10_000


def index_terms(conn: apsw.Connection, words: Sequence[str]) -> list[str]:
    """`words` as `entry_text` indexes them (stemmed: "claws" → "claw"), each once. Each word's
    are remembered: a search asked ~15 times for the same few words (~17 µs a time)."""
    known = {word: _WORD_TERMS.get(word) for word in words}
    missing = [word for word, terms in known.items() if terms is None]
    if missing:
        if len(_WORD_TERMS) + len(missing) > _MAX_WORD_TERMS:
            _WORD_TERMS.clear()
        tokenize = conn.fts5_tokenizer(*_FTS_TOKENIZER)
        for word in missing:
            tokens = tokenize(
                word.encode(),
                apsw.FTS5_TOKENIZE_QUERY,
                None,
                include_offsets=False,
                include_colocated=False,
            )
            known[word] = _WORD_TERMS[word] = tuple(str(token) for token in tokens)
    return list(dict.fromkeys(term for word in words for term in known[word] or ()))


def term_spans(conn: apsw.Connection, text: bytes, terms: set[str]) -> list[tuple[int, int]]:
    """Byte ranges of the words of `text` (UTF-8) that `entry_text` would index as one of
    `terms`: the same stemming as the search, for highlighting."""
    tokenize = conn.fts5_tokenizer(*_FTS_TOKENIZER)
    return [
        (int(token[0]), int(token[1]))
        for token in tokenize(text, apsw.FTS5_TOKENIZE_DOCUMENT, None, include_colocated=False)
        if (word := token[2]) in terms  # type: ignore[misc]
        or (word[:1].isdigit() and _DIE_COUNTED.sub("d", word) in terms)
    ]


_DIE_COUNTED = re.compile(r"^\d+d(?=\d+$)")
"""A die with its count (`1d8`), whose alias without it (`d8`, `text.dice_aliases`) a query
may name: highlighted as that word (tried only on a token that begins with a digit: a passage's
~40 tokens a hit, each a regular expression's call, were a third of the highlighting)."""


def term_coverage(
    conn: apsw.Connection, terms: Sequence[str], ids: Sequence[int]
) -> dict[int, int]:
    """How many of `terms` each entry of `ids` contains (in its name or text), read from the
    index: walks every occurrence of the terms (quick for rare terms, see `retrieval.py`)."""
    return {
        entry_id: int(count)
        for entry_id, count in conn.execute(
            "SELECT doc, count(DISTINCT term) FROM entry_text_terms "
            "WHERE term IN (SELECT value FROM json_each(?1)) "
            "AND doc IN (SELECT value FROM json_each(?2)) GROUP BY doc",
            (json.dumps(list(terms)), json.dumps(list(ids))),
        )
    }


def term_coverage_by_text(
    conn: apsw.Connection, terms: Sequence[str], ids: Sequence[int]
) -> dict[int, int]:
    """As `term_coverage`, from the entries' keyword texts tokenized as `entry_text` tokenizes
    them: its cost follows the texts' length, not how common the terms are."""
    wanted = set(terms)
    tokenize = conn.fts5_tokenizer(*_FTS_TOKENIZER)
    found = {}
    for entry_id, (name, text, aliases) in keyword_texts(conn, ids):
        tokens = tokenize(
            f"{name}\n{text}\n{aliases}".encode(),
            apsw.FTS5_TOKENIZE_DOCUMENT,
            None,
            include_offsets=False,
            include_colocated=False,
        )
        count = len(wanted.intersection(tokens))
        if count:
            found[entry_id] = count
    return found


def passage_texts(conn: apsw.Connection, ids: Sequence[int]) -> dict[int, str]:
    return {
        pid: text
        for pid, text in conn.execute(
            "SELECT id, text FROM passage WHERE id IN (SELECT value FROM json_each(?))",
            (json.dumps(list(ids)),),
        )
    }


def filter_values(conn: apsw.Connection, profile_id: str) -> dict[str, list[Any]]:
    """Every value each filter takes among the profile's winners, with how many entries."""
    found: dict[str, list[Any]] = {}
    for name, value in conn.execute(
        """
        SELECT a.name, a.value FROM entry_attr a
        JOIN resolved r ON r.entry_id = a.entry_id
            AND r.profile_id = (SELECT id FROM profile WHERE name = ?)
        GROUP BY a.name, a.value ORDER BY a.name, a.value
        """,
        (profile_id,),
    ):
        found.setdefault(name, []).append(value)
    return found


def attribute_values_held(conn: apsw.Connection, name: str, values: Sequence[Any]) -> list[Any]:
    """Those of `values` that some entry has for the filter `name` (one index seek each)."""
    return [
        v
        for v in values
        if conn.execute(
            "SELECT 1 FROM entry_attr WHERE name = ? AND value = ? LIMIT 1", (name, v)
        ).fetchone()
    ]


def attribute_held(conn: apsw.Connection, profile_id: str, name: str, low: Any, high: Any) -> bool:
    """Whether a winner of the profile has a value of the attribute `name` from `low` to
    `high` (a range scan of `entry_attr`'s primary key, stopping at the first winner)."""
    return bool(
        conn.execute(
            """
            SELECT EXISTS (SELECT 1 FROM entry_attr a
                           CROSS JOIN resolved r
                           ON r.profile_id = (SELECT id FROM profile WHERE name = ?1)
                              AND r.entry_id = a.entry_id
                           WHERE a.name = ?2 AND a.value BETWEEN ?3 AND ?4)
            """,
            (profile_id, name, low, high),
        ).get
    )


def attribute_distinct_values(conn: apsw.Connection, name: str, limit: int) -> list[Any]:
    """Up to `limit` distinct values of the attribute `name` in any pack, in order: one seek
    of `entry_attr`'s primary key per value (not a scan of every entry's row)."""
    found: list[Any] = []
    value = conn.execute("SELECT min(value) FROM entry_attr WHERE name = ?", (name,)).get
    while value is not None and len(found) < limit:
        found.append(value)
        value = conn.execute(
            "SELECT min(value) FROM entry_attr WHERE name = ? AND value > ?", (name, value)
        ).get
    return found


def attribute_value_collections(conn: apsw.Connection, name: str) -> dict[Any, frozenset[str]]:
    """The collections whose entries hold each value of the attribute `name` (`type`: "dragon"
    of monsters, "weapon" of magic items and equipment): one pass over its rows."""
    found: dict[Any, set[str]] = {}
    for value, collection in conn.execute(
        """
        SELECT DISTINCT a.value, e.collection FROM entry_attr a JOIN entry e ON e.id = a.entry_id
        WHERE a.name = ?
        """,
        (name,),
    ):
        found.setdefault(value, set()).add(collection)
    return {value: frozenset(held) for value, held in found.items()}


def entries_meeting(
    conn: apsw.Connection, ids: Sequence[int], conditions: Sequence[dict[str, Any]]
) -> dict[int, set[str]]:
    """For each of `ids` that meets any of `conditions` (`{"filter", "name", "min", "max"}`,
    as `SearchScope.filters`): the filters it meets. Read from each entry's attributes (a few
    rows each), not from every entry that has a value in a range."""
    found: dict[int, set[str]] = {}
    if not ids or not conditions:
        return found
    for entry_id, name in conn.execute(
        """
        SELECT a.entry_id, c.value ->> 'filter'
        FROM json_each(:ids) i
        CROSS JOIN entry_attr a ON a.entry_id = i.value
        CROSS JOIN json_each(:conditions) c
        WHERE a.name = c.value ->> 'name'
          AND a.value BETWEEN c.value ->> 'min' AND c.value ->> 'max'
        """,
        {"conditions": json.dumps(list(conditions)), "ids": json.dumps(list(ids))},
    ):
        found.setdefault(entry_id, set()).add(name)
    return found


def entry_collections(conn: apsw.Connection, ids: Sequence[int]) -> dict[int, str]:
    """The collection of each of `ids`."""
    return dict(
        conn.execute(
            "SELECT id, collection FROM entry WHERE id IN (SELECT value FROM json_each(?))",
            (json.dumps(list(ids)),),
        )
    )


def entry_names(conn: apsw.Connection, ids: Sequence[int]) -> dict[int, str]:
    """The normalised name of each of `ids`."""
    return dict(
        conn.execute(
            "SELECT id, norm_name FROM entry WHERE id IN (SELECT value FROM json_each(?))",
            (json.dumps(list(ids)),),
        )
    )


def has_collection(conn: apsw.Connection, collection: str) -> bool:
    """Whether any installed pack has an entry of `collection`."""
    query = "SELECT EXISTS (SELECT 1 FROM entry WHERE collection = ?)"
    return bool(conn.execute(query, (collection,)).get)


def pack_editions(conn: apsw.Connection) -> list[str]:
    """The editions of the installed packs."""
    query = "SELECT DISTINCT edition FROM pack WHERE edition IS NOT NULL ORDER BY 1"
    return [row[0] for row in conn.execute(query)]


def collection_names(conn: apsw.Connection) -> list[str]:
    """Every collection some installed pack has an entry of (a scan of an index)."""
    return [row[0] for row in conn.execute("SELECT DISTINCT collection FROM entry ORDER BY 1")]
