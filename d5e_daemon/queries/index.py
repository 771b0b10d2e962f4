"""The search index's work: filter attributes, keyword texts, passages and their vectors,
and the vector cache (its own file)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import apsw

from ..records import Entry
from .common import ENTRY_COLUMNS, EntryRow
from .postings import add_postings, remove_postings


@dataclass(frozen=True)
class IndexTodo:
    """An entry whose attributes or vectors are not (or no longer) up to date."""

    row: EntryRow
    content_hash: str

    @property
    def id(self) -> int:
        return self.row.id

    def entry(self) -> Entry:
        return self.row.entry()


_TODO_COLUMNS = f"{ENTRY_COLUMNS}, NULL, e.content_hash"


def _todos(cursor: Iterable[Sequence[Any]]) -> list[IndexTodo]:
    return [IndexTodo(EntryRow(*row[:-1]), row[-1]) for row in cursor]


# `entry_index.attrs` and `.vectors` hold the key of the work done for an entry's current
# content, or NULL: triggers (schema/0005_scale.sql) set NULL when an entry is added or its
# content changes, and `forget_other_keys` when the key itself changes (another d5e, another
# model). So the work left is read through an index on each column, whatever the library's size.


def forget_other_keys(conn: apsw.Connection, key: str, vectors: bool) -> int:
    """Mark as to do the entries whose attributes (or vectors) were made with another key."""
    column = "vectors" if vectors else "attrs"
    conn.execute(
        f"UPDATE entry_index SET {column} = NULL WHERE {column} < ?1 OR {column} > ?1",  # noqa: S608
        (key,),
    )
    return int(conn.changes())


def forget_other_attrs(conn: apsw.Connection, key: str, texts: str, legacy: str) -> int:
    """Mark as to do the entries whose attributes were made with another `key`
    (`TEXTS:FILTERS`, `texts` its first part and the colon): those whose keyword texts were made
    with the same renderers (their key begins with `texts`) lose only their attributes (their
    key becomes `texts`: `attrs_todo(texts=…)`), the others both (NULL). `legacy`: the key a
    d5e of one hash for both gave the same work (taken as done)."""
    conn.execute("UPDATE entry_index SET attrs = ?1 WHERE attrs = ?2", (key, legacy))
    conn.execute(
        """
        UPDATE entry_index
        SET attrs = CASE WHEN substr(attrs, 1, length(?2)) = ?2 THEN ?2 END
        WHERE (attrs < ?1 OR attrs > ?1) AND (attrs < ?2 OR attrs > ?2)
        """,
        (key, texts),
    )
    return int(conn.changes())


def drop_passages_of(conn: apsw.Connection, collections: Sequence[str]) -> int:
    """Remove the passages (and so their vectors and codes) of entries of `collections`."""
    conn.execute(
        "DELETE FROM passage WHERE entry_id IN (SELECT id FROM entry "
        "WHERE collection IN (SELECT value FROM json_each(?)))",
        (json.dumps(list(collections)),),
    )
    return int(conn.changes())


def attrs_pending(conn: apsw.Connection, key: str) -> bool:
    """Whether any entry lacks attributes extracted with the filter declarations `key`."""
    row = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM entry_index WHERE attrs IS NULL OR attrs < ?1 OR attrs > ?1)",
        (key,),
    ).fetchone()
    return bool(row and row[0])


def attrs_todo(conn: apsw.Connection, limit: int, texts: str | None = None) -> list[IndexTodo]:
    """Up to `limit` entries without attributes nor keyword texts (after `forget_other_attrs`);
    `texts`: those whose keyword texts are current, without attributes."""
    return _todos(
        conn.execute(
            f"""
            SELECT {_TODO_COLUMNS}
            FROM entry_index ei INDEXED BY entry_index_by_attrs JOIN entry e ON e.id = ei.entry_id
            WHERE ei.attrs IS ?
            ORDER BY ei.entry_id
            LIMIT ?
            """,  # noqa: S608
            (texts, limit),
        )
    )


def unchanged_entries(conn: apsw.Connection, entries: Iterable[tuple[int, str]]) -> set[int]:
    """Of these (entry id, content hash), the ids still in the database with that content.

    The indexer reads entries, works on them outside any transaction, then saves: a pack
    removed or upgraded meanwhile (this process or another) must not get rows for entries that
    are gone (or whose ids a new entry took), nor vectors of its old text."""
    pairs = json.dumps([[entry_id, content_hash] for entry_id, content_hash in entries])
    return {
        row[0]
        for row in conn.execute(
            "SELECT e.id FROM json_each(?) j JOIN entry e "
            "ON e.id = j.value ->> 0 AND e.content_hash = j.value ->> 1",
            (pairs,),
        )
    }


def index_texts(
    conn: apsw.Connection, key: str, entries: Iterable[tuple[int, str]]
) -> dict[int, str]:
    """Of these (entry id, content hash), the index texts phase 1 keeps in `entry_text` for
    that content with the renderers `key` names (the first part of its `attrs` key, with the
    colon): what rendering them gives."""
    pairs = json.dumps([[entry_id, content_hash] for entry_id, content_hash in entries])
    return {
        int(entry_id): str(body)
        for entry_id, body in conn.execute(
            """
            SELECT e.id, t.text FROM json_each(?1) j
            CROSS JOIN entry e ON e.id = j.value ->> 0 AND e.content_hash = j.value ->> 1
            JOIN entry_index ei ON ei.entry_id = e.id
                 AND substr(ei.attrs, 1, length(?2)) = ?2
            JOIN entry_text t ON t.rowid = e.id
            """,
            (pairs, key),
        )
    }


def save_attrs(
    conn: apsw.Connection, key: str, rows: Iterable[tuple[int, str, list[tuple[str, Any]]]]
) -> set[int]:
    """Replace the attributes of entries: (entry id, content hash, [(filter, value)]); entries
    gone or changed since they were read are left alone. Return the ids saved. Call in a
    transaction."""
    rows = list(rows)
    live = unchanged_entries(conn, ((entry_id, h) for entry_id, h, _ in rows))
    # Only the rows that differ are written (each row written keeps `entry_attr_order` too, by
    # trigger): new filters change the attributes of few entries, if any.
    held: dict[int, set[tuple[str, type, Any]]] = {}
    for entry_id, name, value in conn.execute(
        "SELECT entry_id, name, value FROM entry_attr "
        "WHERE entry_id IN (SELECT value FROM json_each(?))",
        (json.dumps(sorted(live)),),
    ):
        held.setdefault(entry_id, set()).add((name, type(value), value))
    gone, added = [], []
    for entry_id, _, attrs in rows:
        if entry_id not in live:
            continue
        new = {(name, type(value), value) for name, value in attrs}
        old = held.get(entry_id, set())
        gone += [(entry_id, name, value) for name, _, value in old - new]
        added += [(entry_id, name, value) for name, _, value in new - old]
    conn.executemany(
        "DELETE FROM entry_attr WHERE name = ? AND value = ? AND entry_id = ?",
        ((name, value, entry_id) for entry_id, name, value in gone),
    )
    conn.executemany(
        "INSERT OR IGNORE INTO entry_attr (entry_id, name, value) VALUES (?, ?, ?)", added
    )
    conn.executemany(
        "UPDATE entry_index SET attrs = ? WHERE entry_id = ?",
        ((key, entry_id) for entry_id in sorted(live)),
    )
    return live


def save_keyword_texts(
    conn: apsw.Connection, rows: Iterable[tuple[int, str, str, str]], live: set[int]
) -> None:
    """Replace the keyword text of entries: (entry id, name, index text, aliases); only those
    of `live` (`save_attrs`). Their term frequencies are kept with them (`postings`)."""
    saved = [row for row in rows if row[0] in live]
    remove_postings(conn, [entry_id for entry_id, *_ in saved])  # their old texts' terms
    for entry_id, name, text, aliases in saved:
        conn.execute("DELETE FROM entry_text WHERE rowid = ?", (entry_id,))
        conn.execute(
            "INSERT INTO entry_text (rowid, name, text, aliases) VALUES (?, ?, ?, ?)",
            (entry_id, name, text, aliases),
        )
    add_postings(conn, saved)


# Entries without vectors (after `forget_other_keys`) that get them: winners of the profile
# (`:profile`), or of any profile (NULL), outside the collections left out.
_VECTORS_TODO = f"""
    SELECT {_TODO_COLUMNS}
    FROM entry_index ei INDEXED BY entry_index_by_vectors JOIN entry e ON e.id = ei.entry_id
    WHERE ei.vectors IS NULL
      AND e.collection NOT IN (SELECT value FROM json_each(:skip))
      AND EXISTS (SELECT 1 FROM resolved r WHERE r.entry_id = e.id
                  AND (:profile IS NULL
                       OR r.profile_id = (SELECT id FROM profile WHERE name = :profile)))
    ORDER BY ei.entry_id
    LIMIT :limit
"""  # noqa: S608


def vectors_todo(
    conn: apsw.Connection, skip: Sequence[str], profile_id: str, limit: int
) -> list[IndexTodo]:
    """Up to `limit` searchable entries (winners in some profile) without vectors, the current
    profile's first."""
    args = {"skip": json.dumps(list(skip)), "profile": profile_id, "limit": limit}
    mine = _todos(conn.execute(_VECTORS_TODO, args))
    return mine or _todos(conn.execute(_VECTORS_TODO, args | {"profile": None}))


@dataclass(frozen=True)
class IndexCounts:
    entries: int
    """Entries of the profile that get vectors."""
    indexed: int
    """Of those, the ones whose vectors are up to date."""
    pending_other: int
    """Entries of other profiles still waiting for vectors."""


def index_counts(
    conn: apsw.Connection, key: str, skip: Sequence[str], profile_id: str
) -> IndexCounts:
    """Counted from the profile's winners (an index range) and the entries left to do (through
    `entry_index_by_vectors`), so it stays quick when everything is indexed."""
    row = conn.execute(
        """
        WITH pending AS (
            SELECT e.id,
                   EXISTS (SELECT 1 FROM resolved r
                           WHERE r.profile_id = (SELECT id FROM profile WHERE name = :profile)
                               AND r.entry_id = e.id) AS mine
            FROM entry_index ei JOIN entry e ON e.id = ei.entry_id
            WHERE (ei.vectors IS NULL OR ei.vectors < :key OR ei.vectors > :key)
              AND e.collection NOT IN (SELECT value FROM json_each(:skip))
              AND EXISTS (SELECT 1 FROM resolved r WHERE r.entry_id = e.id))
        SELECT (SELECT count(*) FROM resolved
                WHERE profile_id = (SELECT id FROM profile WHERE name = :profile))
               - (SELECT count(*) FROM entry e INDEXED BY entry_by_collection_name
                  JOIN resolved r ON r.entry_id = e.id
                      AND r.profile_id = (SELECT id FROM profile WHERE name = :profile)
                  WHERE e.collection IN (SELECT value FROM json_each(:skip))),
               (SELECT count(*) FROM pending WHERE mine),
               (SELECT count(*) FROM pending WHERE NOT mine)
        """,
        {"key": key, "skip": json.dumps(list(skip)), "profile": profile_id},
    ).fetchone()
    assert row is not None
    entries, pending_mine, pending_other = (int(x or 0) for x in row)
    return IndexCounts(entries, entries - pending_mine, pending_other)


@dataclass(frozen=True)
class NewPassage:
    entry_id: int
    ord: int
    text_hash: str
    text: str
    vector: bytes


def save_passages(
    conn: apsw.Connection,
    key: str,
    model: str,
    entries: Sequence[tuple[int, str]],
    passages: Sequence[NewPassage],
) -> None:
    """Replace the passages and vectors of `entries` (id, content hash) and mark them done;
    call in a transaction. Entries gone or changed since they were read are left alone."""
    current = unchanged_entries(conn, entries)
    ids = json.dumps(sorted(current))
    # their vectors and codes go with them (trigger passage_ad_vector)
    conn.execute("DELETE FROM passage WHERE entry_id IN (SELECT value FROM json_each(?))", (ids,))
    for p in passages:
        if p.entry_id not in current:
            continue
        conn.execute(
            # the next id never given (schema 0014): ids only grow, as PassageIndex reads them
            "INSERT INTO passage (id, entry_id, ord, model, text_hash, text)"
            " VALUES ((SELECT id + 1 FROM passage_last_id), ?, ?, ?, ?, ?)",
            (p.entry_id, p.ord, model, p.text_hash, p.text),
        )
        passage_id = conn.last_insert_rowid()
        conn.execute(
            "INSERT INTO passage_vector (id, embedding) VALUES (?, ?)", (passage_id, p.vector)
        )
        conn.execute(
            "INSERT INTO passage_code (id, bits) VALUES (?, vec_quantize_binary(?))",
            (passage_id, p.vector),
        )
    conn.executemany(
        "UPDATE entry_index SET vectors = ? WHERE entry_id = ?",
        ((key, entry_id) for entry_id in sorted(current)),
    )


# -- the vector cache (its own file, shared by every database of the user) ------------------------

VECTOR_CACHE_SCHEMA = """
CREATE TABLE IF NOT EXISTS vector (
    model     TEXT NOT NULL,
    text_hash TEXT NOT NULL,
    embedding BLOB NOT NULL,
    PRIMARY KEY (model, text_hash)
) STRICT, WITHOUT ROWID
"""


def cached_vectors(conn: apsw.Connection, model: str, hashes: Sequence[str]) -> dict[str, bytes]:
    return {
        h: bytes(v)
        for h, v in conn.execute(
            "SELECT text_hash, embedding FROM vector "
            "WHERE model = ? AND text_hash IN (SELECT value FROM json_each(?))",
            (model, json.dumps(list(hashes))),
        )
    }


def cache_vectors(conn: apsw.Connection, model: str, vectors: dict[str, bytes]) -> None:
    conn.executemany(
        "INSERT OR IGNORE INTO vector (model, text_hash, embedding) VALUES (?, ?, ?)",
        ((model, h, v) for h, v in vectors.items()),
    )
