"""Entries by ref and by name (lookup, references in documents)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import NamedTuple

import apsw

from .aliases import BEATEN_ALIASES, TAKEN_NAMES
from .common import ENTRY_COLUMNS, EntryRow, entry_rows


def entries_for_ref(
    conn: apsw.Connection, profile_id: str, collection: str, slug: str
) -> list[EntryRow]:
    """Every enabled entry with this ref, the winner first."""
    return entry_rows(
        conn.execute(
            f"""
            SELECT {ENTRY_COLUMNS}, ee.priority
            FROM enabled_entry ee JOIN entry e ON e.id = ee.entry_id
            WHERE ee.profile_id = (SELECT id FROM profile WHERE name = ?) AND ee.collection = ?
                AND ee.slug = ?
            ORDER BY ee.priority DESC, e.pack_id
            """,  # noqa: S608
            (profile_id, collection, slug),
        )
    )


def entry_in_pack(
    conn: apsw.Connection, pack_id: str, collection: str, slug: str
) -> EntryRow | None:
    rows = entry_rows(
        conn.execute(
            f"SELECT {ENTRY_COLUMNS}, NULL FROM entry e "  # noqa: S608
            "WHERE e.pack_id = ? AND e.collection = ? AND e.slug = ?",
            (pack_id, collection, slug),
        )
    )
    return rows[0] if rows else None


# CROSS JOIN: the few entries of that name first (entry_by_norm_name), then whether each wins;
# without statistics SQLite walked every winner of the profile instead (55 ms at 100,000).
WINNERS_BY_NAME_SQL = f"""
    SELECT {ENTRY_COLUMNS}, NULL
    FROM entry e CROSS JOIN resolved r ON r.entry_id = e.id
        AND r.profile_id = (SELECT id FROM profile WHERE name = ?1)
    WHERE e.norm_name = ?2
      AND (?3 = '[]' OR e.collection IN (SELECT value FROM json_each(?3)))
    ORDER BY e.collection, e.slug
"""  # noqa: S608


def winners_by_norm_name(
    conn: apsw.Connection, profile_id: str, norm_name: str, collections: Sequence[str]
) -> list[EntryRow]:
    args = (profile_id, norm_name, json.dumps(list(collections)))
    return entry_rows(conn.execute(WINNERS_BY_NAME_SQL, args))


def entries_in_pack_by_norm_name(
    conn: apsw.Connection, pack_id: str, norm_name: str, collections: Sequence[str]
) -> list[EntryRow]:
    return entry_rows(
        conn.execute(
            f"""
            SELECT {ENTRY_COLUMNS}, NULL FROM entry e
            WHERE e.pack_id = ?1 AND e.norm_name = ?2
              AND (?3 = '[]' OR e.collection IN (SELECT value FROM json_each(?3)))
            ORDER BY e.collection, e.slug
            """,  # noqa: S608
            (pack_id, norm_name, json.dumps(list(collections))),
        )
    )


def entries_by_norm_name(
    conn: apsw.Connection, norm_name: str, collections: Sequence[str]
) -> list[EntryRow]:
    """Entries of every installed pack, enabled or not, with this normalised name."""
    return entry_rows(
        conn.execute(
            f"""
            SELECT {ENTRY_COLUMNS}, NULL FROM entry e
            WHERE e.norm_name = ?1
              AND (?2 = '[]' OR e.collection IN (SELECT value FROM json_each(?2)))
            ORDER BY e.pack_id, e.collection, e.slug
            """,  # noqa: S608
            (norm_name, json.dumps(list(collections))),
        )
    )


def _winners_args(profile_id: str, collections: Sequence[str]) -> dict[str, str]:
    return {"profile": profile_id, "collections": json.dumps(list(collections))}


def winner_names(
    conn: apsw.Connection, profile_id: str, collections: Sequence[str]
) -> list[tuple[str, str, str]]:
    """(normalised name, collection, name) of every winner in these collections, but names a
    derived name of a winner of higher priority takes (`name_contest`)."""
    return [
        (norm, collection, name)
        for norm, collection, name in conn.execute(
            f"""
            SELECT e.norm_name, e.collection, e.name
            FROM entry e JOIN resolved r ON r.entry_id = e.id
                AND r.profile_id = (SELECT id FROM profile WHERE name = :profile)
            WHERE e.collection IN (SELECT value FROM json_each(:collections))
              AND e.id NOT IN ({TAKEN_NAMES})
            """,  # noqa: S608
            _winners_args(profile_id, collections),
        )
    ]


class NamedEntry(NamedTuple):
    """A winner as prose names it: enough to show it, and to read it (`rows_by_ids`)."""

    id: int
    pack: str
    collection: str
    slug: str
    name: str
    norm_name: str

    @property
    def ref(self) -> str:
        return f"{self.collection}/{self.slug}"

    @property
    def qualified_ref(self) -> str:
        return f"{self.pack}:{self.collection}/{self.slug}"


def winner_entries(
    conn: apsw.Connection, profile_id: str, collections: Sequence[str]
) -> list[NamedEntry]:
    """Every winner of these collections, with its normalised name (unless a derived name of a
    winner of higher priority takes it: `name_contest`)."""
    return [
        NamedEntry(*row)
        for row in conn.execute(
            f"""
            SELECT e.id, e.pack_id, e.collection, e.slug, e.name, e.norm_name
            FROM entry e JOIN resolved r ON r.entry_id = e.id
                AND r.profile_id = (SELECT id FROM profile WHERE name = :profile)
            WHERE e.collection IN (SELECT value FROM json_each(:collections))
              AND e.id NOT IN ({TAKEN_NAMES})
            """,  # noqa: S608
            _winners_args(profile_id, collections),
        )
    ]


def winner_aliases(
    conn: apsw.Connection, profile_id: str, collections: Sequence[str]
) -> list[tuple[str, NamedEntry]]:
    """(normalised alias, the winner it names) of every alias of the winners in these
    collections (`names.py`: "vampire" for "Vampire, Vampire Form"), declared ones first,
    but derived ones an entry named so takes (`name_contest`). Read from the aliases (far
    fewer than the winners: the SRD 90 of 1,252 prose names)."""
    return [
        (str(row[0]), NamedEntry(*row[1:]))
        for row in conn.execute(
            f"""
            SELECT a.norm_name, e.id, e.pack_id, e.collection, e.slug, e.name, e.norm_name
            FROM entry_alias a CROSS JOIN entry e ON e.id = a.entry_id
            WHERE e.collection IN (SELECT value FROM json_each(:collections)) AND EXISTS (
                SELECT 1 FROM resolved r WHERE r.entry_id = e.id
                    AND r.profile_id = (SELECT id FROM profile WHERE name = :profile))
              AND a.id NOT IN ({BEATEN_ALIASES})
            ORDER BY a.kind, a.id
            """,  # noqa: S608
            _winners_args(profile_id, collections),
        )
    ]


def winner_rows(
    conn: apsw.Connection, profile_id: str, collections: Sequence[str]
) -> list[EntryRow]:
    """Every winner of these collections, whole, by name."""
    return entry_rows(
        conn.execute(
            f"""
            SELECT {ENTRY_COLUMNS}, NULL
            FROM entry e JOIN resolved r ON r.entry_id = e.id
                AND r.profile_id = (SELECT id FROM profile WHERE name = ?1)
            WHERE e.collection IN (SELECT value FROM json_each(?2))
            ORDER BY e.norm_name, e.collection, e.pack_id
            """,  # noqa: S608
            (profile_id, json.dumps(list(collections))),
        )
    )


def entries_linking_to(
    conn: apsw.Connection,
    profile_id: str,
    match: str,
    needles: Sequence[str],
    limit: int,
) -> list[EntryRow]:
    """Winners whose keyword text matches `match` (an FTS5 phrase of a name) and whose record
    holds one of `needles` (lower case: an API link, a tag, "fireball spell")."""
    return entry_rows(
        conn.execute(
            f"""
            SELECT {ENTRY_COLUMNS}, NULL
            FROM entry_text t
            CROSS JOIN entry e ON e.id = t.rowid
            CROSS JOIN resolved r ON r.entry_id = e.id
                AND r.profile_id = (SELECT id FROM profile WHERE name = ?1)
            WHERE entry_text MATCH ?2
              AND EXISTS (SELECT 1 FROM json_each(?3) n WHERE instr(lower(e.data), n.value) > 0)
            ORDER BY e.collection, e.norm_name, e.pack_id
            LIMIT ?4
            """,  # noqa: S608
            (profile_id, match, json.dumps(list(needles)), limit),
        )
    )


def entries_extending(
    conn: apsw.Connection, profile_id: str, refs: Sequence[str], limit: int
) -> list[EntryRow]:
    """Winners written as changes to one of `refs` (`extends`, qualified or not)."""
    return entry_rows(
        conn.execute(
            f"""
            SELECT {ENTRY_COLUMNS}, NULL
            FROM entry e JOIN resolved r ON r.entry_id = e.id
                AND r.profile_id = (SELECT id FROM profile WHERE name = ?1)
            WHERE e.extends IN (SELECT value FROM json_each(?2))
            ORDER BY e.collection, e.norm_name, e.pack_id
            LIMIT ?3
            """,  # noqa: S608
            (profile_id, json.dumps(list(refs)), limit),
        )
    )


def winners_with_attr(
    conn: apsw.Connection, profile_id: str, name: str, value: str, limit: int
) -> list[EntryRow]:
    """Winners with this filter attribute (`casts` = `fireball`), by collection and name."""
    return entry_rows(
        conn.execute(
            f"""
            SELECT {ENTRY_COLUMNS}, NULL
            FROM entry_attr a
            CROSS JOIN entry e ON e.id = a.entry_id
            CROSS JOIN resolved r ON r.entry_id = e.id
                AND r.profile_id = (SELECT id FROM profile WHERE name = ?1)
            WHERE a.name = ?2 AND a.value = ?3
            ORDER BY e.collection, e.norm_name, e.pack_id
            LIMIT ?4
            """,  # noqa: S608
            (profile_id, name, value, limit),
        )
    )
