"""Aliases: the other names an entry is found by (see `d5e_daemon/names.py`)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import apsw

from .common import ENTRY_COLUMNS, EntryRow

# Declared aliases then derived names (inverted forms, a name without its bracketed
# qualifier) of the given entries (all of a pack when `ids` is NULL); d5e_inverted is
# names.inverted_json. Migrations 0007, 0018, 0019, 0021 and 0022 run the same statements.
_DECLARED_ALIASES_SQL = """
    INSERT INTO entry_alias (entry_id, name, norm_name, kind)
    SELECT DISTINCT e.id, trim(a.value), d5e_norm(a.value), 'alias'
    FROM entry e, json_each(e.data, '$.aliases') a
    WHERE e.pack_id = :pack AND (:ids IS NULL OR e.id IN (SELECT value FROM json_each(:ids)))
      AND json_type(e.data, '$.aliases') = 'array' AND a.type = 'text'
      AND d5e_norm(a.value) NOT IN ('', e.norm_name)
"""
_INVERTED_SQL = """
    INSERT INTO entry_alias (entry_id, name, norm_name, kind)
    SELECT DISTINCT e.id, f.value, d5e_norm(f.value), 'inverted'
    FROM entry e, json_each(d5e_inverted(e.name, e.collection)) f
    WHERE e.pack_id = :pack AND (:ids IS NULL OR e.id IN (SELECT value FROM json_each(:ids)))
      AND (e.name LIKE '%,%' OR e.name LIKE '%)' OR e.name LIKE '% or %')
      AND d5e_norm(f.value) != e.norm_name
      AND NOT EXISTS (SELECT 1 FROM entry_alias x
                      WHERE x.entry_id = e.id AND x.norm_name = d5e_norm(f.value))
"""
# A derived form is stored whatever else is installed: it depends on its entry alone, so no
# install, removal or profile change has to derive anyone's again. Where it is also a winner's
# own name, the profile decides which entry it means when it is read (`name_contest`, schema
# 0018: the pack of higher priority, at equal priority the entry named so). Declared aliases
# are checked at install instead (`packs.other_names`), where a clash is the author's to fix.

# The derived names a profile's winners lose to an entry named so, and the names they take
# (`name_contest`), of `:profile` (the profile's name): for reading every winner's names.
BEATEN_ALIASES = """
    SELECT alias_id FROM name_contest
    WHERE profile_id = (SELECT id FROM profile WHERE name = :profile) AND NOT derived_wins
"""
TAKEN_NAMES = """
    SELECT named_id FROM name_contest
    WHERE profile_id = (SELECT id FROM profile WHERE name = :profile) AND derived_wins
"""


@dataclass(frozen=True)
class Contest:
    """Of a profile's winners, those a name does not mean where it is both an entry's own
    name and another's derived name (`name_contest`)."""

    taken: frozenset[int]
    """Entries named so, whose name a derived name of a winner of higher priority takes."""
    beaten: frozenset[int]
    """Entries with that derived name, which an entry named so (of a priority as high) takes."""


NO_CONTEST = Contest(frozenset(), frozenset())


def name_contest(conn: apsw.Connection, profile_id: str, norm_name: str) -> Contest:
    """Who loses the normalised name `norm_name` in the profile: nobody unless some entry
    derives that name (one probe of the index of derived names, the usual answer)."""
    derived = conn.execute(
        "SELECT 1 FROM entry_alias INDEXED BY entry_alias_inverted "
        "WHERE kind = 'inverted' AND norm_name = ?",
        (norm_name,),
    ).fetchone()
    if derived is None:
        return NO_CONTEST
    taken, beaten = set(), set()
    for derived_id, named_id, derived_wins in conn.execute(
        """
        SELECT derived_id, named_id, derived_wins FROM name_contest
        WHERE profile_id = (SELECT id FROM profile WHERE name = ?) AND norm_name = ?
        """,
        (profile_id, norm_name),
    ):
        if derived_wins:
            taken.add(named_id)
        else:
            beaten.add(derived_id)
    return Contest(frozenset(taken), frozenset(beaten))


def refresh_aliases(
    conn: apsw.Connection, pack_id: str, refs: Iterable[tuple[str, str]] | None = None
) -> None:
    """Derive the aliases of a pack's entries again: those of `refs` (collection, slug), or
    all of them. Call in the transaction that wrote the entries."""
    if refs is None:
        ids: str | None = None
        conn.execute(
            "DELETE FROM entry_alias WHERE entry_id IN (SELECT id FROM entry WHERE pack_id = ?)",
            (pack_id,),
        )
    else:
        wanted = json.dumps([list(r) for r in refs])
        ids = json.dumps(
            [
                row[0]
                for row in conn.execute(
                    # CROSS JOIN: each ref through the (pack, collection, slug) index
                    "SELECT e.id FROM json_each(?2) j CROSS JOIN entry e ON e.pack_id = ?1 "
                    "AND e.collection = j.value ->> 0 AND e.slug = j.value ->> 1",
                    (pack_id, wanted),
                )
            ]
        )
        conn.execute(
            "DELETE FROM entry_alias WHERE entry_id IN (SELECT value FROM json_each(?))", (ids,)
        )
    args = {"pack": pack_id, "ids": ids}
    conn.execute(_DECLARED_ALIASES_SQL, args)
    conn.execute(_INVERTED_SQL, args)


_DECLARED_FIELDS = ("aliases", "lore")
"""The fields of an entry's data a pack copied from SQLite declares beside its file."""


def set_declared(
    conn: apsw.Connection, pack_id: str, field: str, values: Mapping[str, object]
) -> set[tuple[str, str]]:
    """Make `values` (`collection/slug` → value) the `field` of those entries' data, and drop
    the `field` of the pack's other entries (a pack copied from SQLite: its alias table, its
    lore). Refs the pack lacks are left out. Returns the refs whose data changed."""
    if field not in _DECLARED_FIELDS:
        raise ValueError(f"not a declared field: {field}")
    path = f"$.{field}"
    current = {
        (c, s): json.loads(a) if a is not None else None
        for c, s, a in conn.execute(
            """
            SELECT collection, slug, data -> ?3 FROM entry
            WHERE pack_id = ?1 AND (data -> ?3 IS NOT NULL
                  OR collection || '/' || slug IN (SELECT key FROM json_each(?2)))
            """,
            (pack_id, json.dumps(values), path),
        )
    }
    wanted = {(c, s): values.get(f"{c}/{s}") for c, s in current}
    changed = {ref: value for ref, value in wanted.items() if current[ref] != value}
    conn.executemany(
        """
        UPDATE entry SET
            data = CASE WHEN ?3 IS NULL THEN json_remove(data, ?4)
                        ELSE json_set(data, ?4, json(?3)) END,
            content_hash = d5e_hash(CASE WHEN ?3 IS NULL THEN json_remove(data, ?4)
                                         ELSE json_set(data, ?4, json(?3)) END)
        WHERE pack_id = ?1 AND collection = ?2 AND slug = ?5
        """,
        (
            (pack_id, collection, None if value is None else json.dumps(value), path, slug)
            for (collection, slug), value in changed.items()
        ),
    )
    return set(changed)


@dataclass(frozen=True)
class AliasRow:
    """An entry found by one of its aliases."""

    row: EntryRow
    alias: str
    kind: str


def entries_by_alias(
    conn: apsw.Connection,
    norm_name: str,
    collections: Sequence[str],
    *,
    profile_id: str | None = None,
    pack: str | None = None,
) -> list[AliasRow]:
    """Entries with this normalised alias: winners of `profile_id`, or entries of `pack`, or
    (neither given) of every installed pack."""
    return [
        AliasRow(EntryRow(*row[:-2]), row[-2], row[-1])
        for row in conn.execute(
            f"""
            SELECT {ENTRY_COLUMNS}, NULL, a.name, a.kind
            FROM entry_alias a CROSS JOIN entry e ON e.id = a.entry_id
            WHERE a.norm_name = :norm
              AND (:collections = '[]'
                   OR e.collection IN (SELECT value FROM json_each(:collections)))
              AND (:pack IS NULL OR e.pack_id = :pack)
              AND (:profile IS NULL OR EXISTS (
                    SELECT 1 FROM resolved r WHERE r.entry_id = e.id
                        AND r.profile_id = (SELECT id FROM profile WHERE name = :profile)))
            ORDER BY e.pack_id, e.collection, e.slug
            """,  # noqa: S608
            {
                "norm": norm_name,
                "collections": json.dumps(list(collections)),
                "pack": pack,
                "profile": profile_id,
            },
        )
    ]


def alias_names(conn: apsw.Connection, entry_id: int) -> list[str]:
    """An entry's aliases as written, declared ones first."""
    return [
        str(row[0])
        for row in conn.execute(
            "SELECT name FROM entry_alias WHERE entry_id = ? ORDER BY kind, id", (entry_id,)
        )
    ]


def aliases_by_entry(conn: apsw.Connection, ids: Sequence[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    for entry_id, name in conn.execute(
        "SELECT entry_id, name FROM entry_alias WHERE entry_id IN (SELECT value FROM json_each(?)) "
        "ORDER BY entry_id, kind, id",
        (json.dumps(list(ids)),),
    ):
        found.setdefault(int(entry_id), []).append(str(name))
    return found


def enabled_packs(conn: apsw.Connection) -> set[str]:
    """The installed packs some profile enables."""
    return {
        str(row[0])
        for row in conn.execute(
            "SELECT DISTINCT pp.pack_id FROM profile_pack pp JOIN pack p ON p.id = pp.pack_id"
        )
    }


@dataclass(frozen=True)
class DeclaredAlias:
    """A declared alias of an installed entry, with the entry it belongs to."""

    collection: str
    norm_name: str
    alias: str
    pack: str
    ref: str
    source_path: str | None
    source_line: int | None


def declared_aliases_named(
    conn: apsw.Connection, names: Iterable[tuple[str, str]], but_pack: str
) -> list[DeclaredAlias]:
    """Declared aliases of other packs' entries that are one of `names` (collection,
    normalised name) in the same collection."""
    wanted = json.dumps(sorted(set(names)))
    return [
        DeclaredAlias(*row)
        for row in conn.execute(
            """
            SELECT e.collection, a.norm_name, a.name, e.pack_id, e.collection || '/' || e.slug,
                   e.source_path, e.source_line
            FROM json_each(?1) j
            CROSS JOIN entry_alias a ON a.norm_name = j.value ->> 1 AND a.kind = 'alias'
            JOIN entry e ON e.id = a.entry_id
            WHERE e.collection = j.value ->> 0 AND e.pack_id != ?2
            ORDER BY e.pack_id, e.collection, e.slug
            """,
            (wanted, but_pack),
        )
    ]
