"""Name matching (completion, suggestions): prefixes, words, trigrams and their counts."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import apsw

from .common import ENTRY_COLUMNS, EntryRow, entry_rows, fts_phrase


@dataclass(frozen=True)
class NameRow:
    id: int
    pack: str
    collection: str
    slug: str
    name: str
    norm_name: str
    shadows: int
    alias: str | None = None
    """The alias the name matched by (its normalised form is `norm_name`), if not the name."""


_NAME_COLUMNS = "e.id, e.pack_id, e.collection, e.slug, e.name, e.norm_name, r.shadows"
# CROSS JOIN keeps `entry` (reached through its name index or an FTS table) as the outer loop:
# otherwise the planner may walk every winner of the profile and look each name up.
_IN_SCOPE = """
    CROSS JOIN resolved r ON r.entry_id = e.id
        AND r.profile_id = (SELECT id FROM profile WHERE name = :profile)
    WHERE (:collections = '[]' OR e.collection IN (SELECT value FROM json_each(:collections)))
      AND (:pack IS NULL OR e.pack_id = :pack)
"""


def _scope(profile_id: str, collections: Sequence[str], pack: str | None) -> dict[str, Any]:
    return {"profile": profile_id, "collections": json.dumps(list(collections)), "pack": pack}


def names_in_range(conn: apsw.Connection, prefix: str, cap: int) -> int:
    """How many names (of any pack) start with `prefix`, counted up to `cap` (index only)."""
    row = conn.execute(
        "SELECT count(*) FROM (SELECT 1 FROM entry INDEXED BY entry_by_norm_name "
        "WHERE norm_name >= ? AND norm_name < ? LIMIT ?)",
        (prefix, prefix + "\uffff", cap),
    ).fetchone()
    return int(row[0]) if row else 0


# Two plans for the same answer (shortest names first; an exact match is the shortest):
# - a rare prefix: every name in its range of the name index, sorted (few rows);
# - a common one ("s": 11,000 names of 100,000): the names of its first letter in order of
#   length (`entry_by_initial_length`), kept if they start with the prefix, until the limit.
_PREFIX_SQL = f"""
    SELECT {_NAME_COLUMNS} FROM entry e INDEXED BY {{index}} {_IN_SCOPE}
      AND e.norm_name >= :lo AND e.norm_name < :hi {{initial}}
    ORDER BY length(e.norm_name), e.norm_name, e.collection
    LIMIT :limit
"""  # noqa: S608
PREFIX_RARE_SQL = _PREFIX_SQL.format(index="entry_by_norm_name", initial="")
PREFIX_COMMON_SQL = _PREFIX_SQL.format(
    index="entry_by_initial_length", initial="AND substr(e.norm_name, 1, 1) = :initial"
)


def names_exact_or_prefix(
    conn: apsw.Connection,
    profile_id: str,
    prefix: str,
    collections: Sequence[str],
    pack: str | None,
    limit: int,
    *,
    common: bool = False,
) -> list[NameRow]:
    """Winners whose normalised name starts with `prefix`, shortest first (so the exact match
    first). `common`: many names start with it (`names_in_range`), use the other plan."""
    args = _scope(profile_id, collections, pack) | {
        "lo": prefix,
        "hi": prefix + "\uffff",
        "initial": prefix[:1],
        "limit": limit,
    }
    sql = PREFIX_COMMON_SQL if common else PREFIX_RARE_SQL
    return [NameRow(*row) for row in conn.execute(sql, args)]


def names_word_prefix(
    conn: apsw.Connection,
    profile_id: str,
    words: Sequence[str],
    collections: Sequence[str],
    pack: str | None,
    limit: int,
) -> list[NameRow]:
    """Winners whose name has a word starting with each of `words`, in any order."""
    match = " ".join(fts_phrase(w) + "*" for w in words)
    args = _scope(profile_id, collections, pack) | {"match": match, "limit": limit}
    return [
        NameRow(*row)
        for row in conn.execute(
            f"""
            SELECT {_NAME_COLUMNS}
            FROM name_words JOIN entry e ON e.id = name_words.rowid {_IN_SCOPE}
              AND name_words MATCH :match
            ORDER BY length(e.norm_name), e.norm_name, e.collection
            LIMIT :limit
            """,  # noqa: S608
            args,
        )
    ]


_ALIAS_NAME_COLUMNS = (
    "e.id, e.pack_id, e.collection, e.slug, e.name, a.norm_name, r.shadows, a.name"
)


def aliases_exact_or_prefix(
    conn: apsw.Connection,
    profile_id: str,
    prefix: str,
    collections: Sequence[str],
    pack: str | None,
    limit: int,
) -> list[NameRow]:
    """Winners with an alias starting with `prefix`, shortest alias first."""
    args = _scope(profile_id, collections, pack) | {
        "lo": prefix,
        "hi": prefix + "\uffff",
        "limit": limit,
    }
    return [
        NameRow(*row)
        for row in conn.execute(
            f"""
            SELECT {_ALIAS_NAME_COLUMNS}
            FROM entry_alias a INDEXED BY entry_alias_by_norm_name
            CROSS JOIN entry e ON e.id = a.entry_id {_IN_SCOPE}
              AND a.norm_name >= :lo AND a.norm_name < :hi
            ORDER BY length(a.norm_name), a.norm_name, e.collection
            LIMIT :limit
            """,  # noqa: S608
            args,
        )
    ]


def aliases_word_prefix(
    conn: apsw.Connection,
    profile_id: str,
    words: Sequence[str],
    collections: Sequence[str],
    pack: str | None,
    limit: int,
) -> list[NameRow]:
    """Winners with an alias that has a word starting with each of `words`, in any order."""
    match = " ".join(fts_phrase(w) + "*" for w in words)
    args = _scope(profile_id, collections, pack) | {"match": match, "limit": limit}
    return [
        NameRow(*row)
        for row in conn.execute(
            f"""
            SELECT {_ALIAS_NAME_COLUMNS}
            FROM alias_words JOIN entry_alias a ON a.id = alias_words.rowid
            CROSS JOIN entry e ON e.id = a.entry_id {_IN_SCOPE}
              AND alias_words MATCH :match
            ORDER BY length(a.norm_name), a.norm_name, e.collection
            LIMIT :limit
            """,  # noqa: S608
            args,
        )
    ]


def names_sharing_trigrams(
    conn: apsw.Connection,
    profile_id: str,
    trigrams: Sequence[str],
    collections: Sequence[str],
    pack: str | None,
    limit: int,
) -> list[NameRow]:
    """Winners whose names share the most of `trigrams` (BM25 over the trigram index)."""
    if not trigrams:
        return []
    match = " OR ".join(fts_phrase(t) for t in trigrams)
    args = _scope(profile_id, collections, pack) | {"match": match, "limit": limit}
    return [
        NameRow(*row)
        for row in conn.execute(
            f"""
            SELECT {_NAME_COLUMNS}
            FROM name_trigrams JOIN entry e ON e.id = name_trigrams.rowid {_IN_SCOPE}
              AND name_trigrams MATCH :match
            ORDER BY name_trigrams.rank
            LIMIT :limit
            """,  # noqa: S608
            args,
        )
    ]


def aliases_sharing_trigrams(
    conn: apsw.Connection,
    profile_id: str,
    trigrams: Sequence[str],
    collections: Sequence[str],
    pack: str | None,
    limit: int,
) -> list[NameRow]:
    """Winners with an alias that shares the most of `trigrams` (BM25 over the aliases'
    trigram index), each with the alias (`norm_name` is the alias's)."""
    if not trigrams:
        return []
    match = " OR ".join(fts_phrase(t) for t in trigrams)
    args = _scope(profile_id, collections, pack) | {"match": match, "limit": limit}
    return [
        NameRow(*row)
        for row in conn.execute(
            f"""
            SELECT {_ALIAS_NAME_COLUMNS}
            FROM alias_trigrams JOIN entry_alias a ON a.id = alias_trigrams.rowid
            CROSS JOIN entry e ON e.id = a.entry_id {_IN_SCOPE}
              AND alias_trigrams MATCH :match
            ORDER BY alias_trigrams.rank
            LIMIT :limit
            """,  # noqa: S608
            args,
        )
    ]


def _vocabulary_counts(conn: apsw.Connection, table: str, terms: Sequence[str]) -> dict[str, int]:
    found = dict.fromkeys(terms, 0)
    for term in terms:  # one lookup each: fts5vocab answers `term = ?` without a scan
        row = conn.execute(f"SELECT doc FROM {table} WHERE term = ?", (term,)).fetchone()  # noqa: S608
        if row is not None:
            found[term] = int(row[0])
    return found


def trigram_counts(conn: apsw.Connection, trigrams: Sequence[str]) -> dict[str, int]:
    """How many names hold each of `trigrams` (absent ones: none)."""
    return _vocabulary_counts(conn, "name_trigram_terms", trigrams)


def alias_trigram_counts(conn: apsw.Connection, trigrams: Sequence[str]) -> dict[str, int]:
    """How many aliases hold each of `trigrams` (absent ones: none)."""
    return _vocabulary_counts(conn, "alias_trigram_terms", trigrams)


def term_counts(conn: apsw.Connection, terms: Sequence[str]) -> dict[str, int]:
    """How many entries hold each of `terms` (as `entry_text` indexes them) in any column."""
    return _vocabulary_counts(conn, "entry_text_rows", terms)


def entry_count(conn: apsw.Connection) -> int:
    row = conn.execute("SELECT count(*) FROM entry").fetchone()
    return int(row[0]) if row else 0


def rows_by_ids(conn: apsw.Connection, ids: Sequence[int]) -> list[EntryRow]:
    """Entries by id, in the order given."""
    found = {
        row.id: row
        for row in entry_rows(
            conn.execute(
                f"SELECT {ENTRY_COLUMNS}, NULL FROM entry e "  # noqa: S608
                "WHERE e.id IN (SELECT value FROM json_each(?))",
                (json.dumps(list(ids)),),
            )
        )
    }
    return [found[i] for i in ids if i in found]
