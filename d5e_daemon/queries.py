"""Every SQL statement d5e runs (besides the migrations in `schema/`).

Plain functions `(conn, args) -> records`. User text only ever reaches SQL as a bound parameter;
FTS5 query strings are built from normalised words, each quoted (see `fts_phrase`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import apsw

from .records import Entry, Pack, Source


@dataclass(frozen=True)
class EntryRow:
    """An entry as stored, with the pack facts a result needs."""

    id: int
    pack: str
    collection: str
    slug: str
    name: str
    data_json: str
    source_path: str | None
    source_line: int | None
    extends: str | None
    priority: int | None = None

    @property
    def ref(self) -> str:
        return f"{self.collection}/{self.slug}"

    @property
    def qualified_ref(self) -> str:
        return f"{self.pack}:{self.collection}/{self.slug}"

    def entry(self) -> Entry:
        source = (
            Source(path=self.source_path, line=self.source_line or 1) if self.source_path else None
        )
        return Entry(
            collection=self.collection,
            slug=self.slug,
            name=self.name,
            data=json.loads(self.data_json),
            pack=self.pack,
            source=source,
        )


_ENTRY_COLUMNS = (
    "e.id, e.pack_id, e.collection, e.slug, e.name, e.data, e.source_path, e.source_line, e.extends"
)


def _rows(cursor: Iterable[Sequence[Any]]) -> list[EntryRow]:
    return [EntryRow(*row) for row in cursor]


def fts_phrase(word: str) -> str:
    """One FTS5 string token, quoted so that operators and quotes in it mean nothing."""
    return '"' + word.replace('"', '""') + '"'


def fts_any(words: Sequence[str]) -> str:
    """An FTS5 query matching any of `words`, each quoted."""
    return " OR ".join(fts_phrase(w) for w in words)


# -- packs ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PackRow:
    pack: Pack
    origin: str
    content_hash: str
    installed_at: str
    entries: int


_PACK_COLUMNS = (
    "p.id, p.title, p.version, p.edition, p.license, p.attribution, p.meta, p.default_priority"
)


def _pack(row: Sequence[Any]) -> Pack:
    pid, title, version, edition, lic, attribution, meta, prio = row
    extra = json.loads(meta)
    return Pack(
        id=pid,
        title=title,
        version=version,
        edition=edition,
        license=lic,
        attribution=attribution,
        authors=extra.get("authors", []),
        description=extra.get("description", ""),
        homepage=extra.get("homepage", ""),
        default_priority=prio,
        source_id=extra.get("source_id", ""),
        abbreviation=extra.get("abbreviation", ""),
    )


def pack_by_source(conn: apsw.Connection, name: str) -> str | None:
    """The installed pack a tag's source part names: its id, or its original source id or
    abbreviation (5etools), case aside."""
    row = conn.execute(
        """
        SELECT id FROM pack
        WHERE lower(id) = lower(?1)
           OR lower(json_extract(meta, '$.source_id')) = lower(?1)
           OR lower(json_extract(meta, '$.abbreviation')) = lower(?1)
        ORDER BY lower(id) = lower(?1) DESC, id LIMIT 1
        """,
        (name,),
    ).fetchone()
    return None if row is None else str(row[0])


def get_pack(conn: apsw.Connection, pack_id: str) -> Pack | None:
    row = conn.execute(f"SELECT {_PACK_COLUMNS} FROM pack p WHERE p.id = ?", (pack_id,)).fetchone()  # noqa: S608
    return None if row is None else _pack(row)


def installed_packs(conn: apsw.Connection) -> list[PackRow]:
    rows = conn.execute(
        f"""
        SELECT {_PACK_COLUMNS}, p.origin, p.content_hash, p.installed_at,
               (SELECT count(*) FROM entry e WHERE e.pack_id = p.id)
        FROM pack p ORDER BY p.id
        """  # noqa: S608
    )
    return [PackRow(_pack(row[:8]), *row[8:]) for row in rows]


def pack_content_hash(conn: apsw.Connection, pack_id: str) -> str | None:
    row = conn.execute("SELECT content_hash FROM pack WHERE id = ?", (pack_id,)).fetchone()
    return None if row is None else str(row[0])


def delete_pack(conn: apsw.Connection, pack_id: str) -> None:
    conn.execute("DELETE FROM entry WHERE pack_id = ?", (pack_id,))
    conn.execute("DELETE FROM pack WHERE id = ?", (pack_id,))


def set_pack_hash(conn: apsw.Connection, pack_id: str, content_hash: str) -> None:
    conn.execute("UPDATE pack SET content_hash = ? WHERE id = ?", (content_hash, pack_id))


def pack_origin(conn: apsw.Connection, pack_id: str) -> str | None:
    row = conn.execute("SELECT origin FROM pack WHERE id = ?", (pack_id,)).fetchone()
    return None if row is None else str(row[0])


def upsert_pack(conn: apsw.Connection, pack: Pack, origin: str, content_hash: str) -> None:
    """Insert or update a pack's row; its entries stay (an update never cascades)."""
    meta: dict[str, Any] = {
        "authors": pack.authors,
        "description": pack.description,
        "homepage": pack.homepage,
    }
    if pack.source_id:
        meta["source_id"] = pack.source_id
    if pack.abbreviation:
        meta["abbreviation"] = pack.abbreviation
    conn.execute(
        """
        INSERT INTO pack (id, title, version, edition, license, attribution, meta, origin,
                          default_priority, content_hash)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (id) DO UPDATE SET
            title = excluded.title, version = excluded.version, edition = excluded.edition,
            license = excluded.license, attribution = excluded.attribution, meta = excluded.meta,
            origin = excluded.origin, default_priority = excluded.default_priority,
            content_hash = excluded.content_hash,
            installed_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')
        """,
        (
            pack.id,
            pack.title,
            pack.version,
            pack.edition,
            pack.license,
            pack.attribution,
            json.dumps(meta),
            origin,
            pack.default_priority,
            content_hash,
        ),
    )


class StoredEntry(NamedTuple):
    """What an upgrade compares to decide whether an entry changed (a tuple: packs of 100,000
    entries are read whole on every upgrade)."""

    id: int
    content_hash: str
    name: str
    extends: str | None
    source_path: str | None
    source_line: int | None


def stored_entries(conn: apsw.Connection, pack_id: str) -> dict[tuple[str, str], StoredEntry]:
    return {
        (c, s): StoredEntry(*rest)
        for c, s, *rest in conn.execute(
            "SELECT collection, slug, id, content_hash, name, extends, source_path, source_line "
            "FROM entry WHERE pack_id = ?",
            (pack_id,),
        )
    }


@dataclass(frozen=True)
class NewEntry:
    """An entry ready to be written: its data already encoded, and the hash of that text."""

    collection: str
    slug: str
    name: str
    data_json: str
    content_hash: str
    extends: str | None
    source_path: str | None
    source_line: int | None


def delete_entries(conn: apsw.Connection, ids: Sequence[int]) -> None:
    conn.execute(
        "DELETE FROM entry WHERE id IN (SELECT value FROM json_each(?))", (json.dumps(list(ids)),)
    )


def upsert_entries(conn: apsw.Connection, pack_id: str, entries: Iterable[NewEntry]) -> None:
    """Insert entries, or replace the content of the same ref in the pack (its id stays, so
    whatever is keyed by entry id, such as vectors, sees a changed `content_hash`)."""
    conn.executemany(
        """
        INSERT INTO entry (pack_id, collection, slug, name, norm_name, data, content_hash,
                           extends, source_path, source_line)
        VALUES (?1, ?2, ?3, ?4, d5e_norm(?4), ?5, ?6, ?7, ?8, ?9)
        ON CONFLICT (pack_id, collection, slug) DO UPDATE SET
            name = excluded.name, norm_name = excluded.norm_name, data = excluded.data,
            content_hash = excluded.content_hash,
            extends = excluded.extends, source_path = excluded.source_path,
            source_line = excluded.source_line
        """,
        (
            (
                pack_id,
                e.collection,
                e.slug,
                e.name,
                e.data_json,
                e.content_hash,
                e.extends,
                e.source_path,
                e.source_line,
            )
            for e in entries
        ),
    )


def move_entries(conn: apsw.Connection, pack_id: str, entries: Iterable[NewEntry]) -> None:
    """Update where unchanged entries are written (their text and indexes stay as they are)."""
    conn.executemany(
        "UPDATE entry SET extends = ?4, source_path = ?5, source_line = ?6 "
        "WHERE pack_id = ?1 AND collection = ?2 AND slug = ?3",
        ((pack_id, e.collection, e.slug, e.extends, e.source_path, e.source_line) for e in entries),
    )


def entry_record(
    conn: apsw.Connection, pack_id: str, collection: str, slug: str
) -> tuple[str, dict[str, Any]] | None:
    """(name, data) of one stored entry: the base of an entry that extends it."""
    row = conn.execute(
        "SELECT name, data FROM entry WHERE pack_id = ? AND collection = ? AND slug = ?",
        (pack_id, collection, slug),
    ).fetchone()
    return None if row is None else (str(row[0]), json.loads(row[1]))


def packs_extending(conn: apsw.Connection, pack_id: str) -> list[str]:
    """Other packs with entries derived from entries of `pack_id`."""
    return [
        p
        for (p,) in conn.execute(
            "SELECT DISTINCT pack_id FROM entry WHERE extends >= ?1 AND extends < ?1 || x'ff' "
            "AND pack_id != ?2 ORDER BY 1",
            (pack_id + ":", pack_id),
        )
    ]


def packs_state(conn: apsw.Connection) -> list[tuple[str, str]]:
    """(pack id, content hash) of every installed pack: changes whenever a pack does."""
    return [(p, h) for p, h in conn.execute("SELECT id, content_hash FROM pack ORDER BY id")]


def attach_readonly(conn: apsw.Connection, uri: str, alias: str) -> None:
    conn.execute("ATTACH DATABASE ? AS " + alias, (uri,))


def detach(conn: apsw.Connection, alias: str) -> None:
    conn.execute("DETACH DATABASE " + alias)


def attached_tables(conn: apsw.Connection, alias: str) -> list[str]:
    return [
        name
        for (name,) in conn.execute(
            f"SELECT name FROM {alias}.sqlite_schema WHERE type = 'table' "  # noqa: S608 (alias is ours)
            "AND name NOT LIKE 'sqlite_%' AND name != 'metadata' ORDER BY name"
        )
    ]


def attached_metadata(conn: apsw.Connection, alias: str) -> dict[str, str]:
    return {k: v for k, v in conn.execute(f"SELECT key, value FROM {alias}.metadata")}  # noqa: S608


def copy_table(conn: apsw.Connection, pack_id: str, alias: str, table: str, collection: str) -> int:
    """Copy one 5e-database-shaped table set-wise; return the number of rows copied.

    `table` must be one of `attached_tables(conn, alias)` (checked by the caller): identifiers
    cannot be bound, so it is quoted here and never comes from a client.
    """
    quoted = '"' + table.replace('"', '""') + '"'
    conn.execute(
        f"""
        INSERT INTO entry (pack_id, collection, slug, name, norm_name, data, content_hash)
        SELECT ?1, ?2, slug, name, d5e_norm(name), data, d5e_hash(data)
        FROM (SELECT "index" AS slug, coalesce(nullif(name, ''), d5e_fallback_name("index", data))
                     AS name, data
              FROM {alias}.{quoted})
        """,  # noqa: S608
        (pack_id, collection),
    )
    return int(conn.changes())


# -- profiles and resolution --------------------------------------------------------------------


def profile_hash(conn: apsw.Connection, profile_id: str) -> str | None:
    row = conn.execute("SELECT config_hash FROM profile WHERE id = ?", (profile_id,)).fetchone()
    return None if row is None else str(row[0])


def save_profile(
    conn: apsw.Connection,
    profile_id: str,
    config: str,
    config_hash: str,
    packs: dict[str, int],
    collections: dict[str, dict[str, int]],
) -> None:
    """Store which packs a profile enables, at which priority, and per-collection priorities."""
    conn.execute(
        "INSERT INTO profile (id, config, config_hash) VALUES (?, ?, ?) "
        "ON CONFLICT (id) DO UPDATE SET config = excluded.config, "
        "config_hash = excluded.config_hash",
        (profile_id, config, config_hash),
    )
    conn.execute("DELETE FROM profile_pack WHERE profile_id = ?", (profile_id,))
    conn.execute("DELETE FROM profile_collection WHERE profile_id = ?", (profile_id,))
    conn.executemany(
        "INSERT INTO profile_pack (profile_id, pack_id, priority) VALUES (?, ?, ?)",
        ((profile_id, pack, prio) for pack, prio in packs.items()),
    )
    conn.executemany(
        "INSERT INTO profile_collection (profile_id, pack_id, collection, priority) "
        "VALUES (?, ?, ?, ?)",
        (
            (profile_id, pack, collection, prio)
            for pack, by_collection in collections.items()
            for collection, prio in by_collection.items()
        ),
    )


def profile_packs(conn: apsw.Connection, profile_id: str) -> dict[str, int]:
    return {
        pack: prio
        for pack, prio in conn.execute(
            "SELECT pack_id, priority FROM profile_pack WHERE profile_id = ? "
            "ORDER BY priority DESC, pack_id",
            (profile_id,),
        )
    }


def profile_collections(conn: apsw.Connection, profile_id: str) -> dict[str, dict[str, int]]:
    found: dict[str, dict[str, int]] = {}
    for pack, collection, prio in conn.execute(
        "SELECT pack_id, collection, priority FROM profile_collection WHERE profile_id = ? "
        "ORDER BY pack_id, collection",
        (profile_id,),
    ):
        found.setdefault(pack, {})[collection] = prio
    return found


@dataclass(frozen=True)
class Choice:
    """A choice made with a command: `collection` '' is the whole pack; None is no choice."""

    pack: str
    collection: str
    enabled: bool | None
    priority: int | None


def profile_choices(conn: apsw.Connection, profile_id: str) -> list[Choice]:
    return [
        Choice(pack, collection, None if enabled is None else bool(enabled), prio)
        for pack, collection, enabled, prio in conn.execute(
            "SELECT pack_id, collection, enabled, priority FROM profile_choice "
            "WHERE profile_id = ? ORDER BY pack_id, collection",
            (profile_id,),
        )
    ]


def save_choice(
    conn: apsw.Connection,
    profile_id: str,
    pack_id: str,
    collection: str,
    *,
    enabled: bool | None = None,
    priority: int | None = None,
    clear_priority: bool = False,
) -> None:
    """Record an enable/disable (`enabled`) or a priority; other parts of the choice stay."""
    conn.execute(
        """
        INSERT INTO profile_choice (profile_id, pack_id, collection, enabled, priority)
        VALUES (?1, ?2, ?3, ?4, ?5)
        ON CONFLICT (profile_id, pack_id, collection) DO UPDATE SET
            enabled = coalesce(excluded.enabled, enabled),
            priority = CASE WHEN ?6 THEN excluded.priority
                            ELSE coalesce(excluded.priority, priority) END
        """,
        (profile_id, pack_id, collection, enabled, priority, clear_priority),
    )
    conn.execute(
        "DELETE FROM profile_choice WHERE enabled IS NULL AND priority IS NULL "
        "AND profile_id = ? AND pack_id = ?",
        (profile_id, pack_id),
    )


def delete_choices(conn: apsw.Connection, pack_id: str) -> None:
    """Forget every profile's choices about a pack (it was removed)."""
    conn.execute("DELETE FROM profile_choice WHERE pack_id = ?", (pack_id,))


def rebuild_resolved(
    conn: apsw.Connection,
    profile_id: str | None = None,
    refs: Iterable[tuple[str, str]] | None = None,
) -> None:
    """Recompute the winner of every ref (or of `refs` only), for one profile or all; call inside
    a transaction.

    Highest effective priority wins (a pack's priority for the collection, else its priority);
    equal priorities fall back to the pack id, so the result never depends on insertion order.
    """
    args = {
        "profile": profile_id,
        "refs": None if refs is None else json.dumps([list(r) for r in refs]),
    }
    # Either scope may be absent; `:refs IS NULL` short-circuits the json_each lookup.
    in_scope = """
        (:profile IS NULL OR profile_id = :profile)
        AND (:refs IS NULL OR (collection, slug) IN
             (SELECT value ->> 0, value ->> 1 FROM json_each(:refs)))
    """
    if refs is None:
        conn.execute("DELETE FROM resolved WHERE :profile IS NULL OR profile_id = :profile", args)
    else:
        # Entries deleted since left no rows (trigger); drop those of the refs' current entries.
        conn.execute(
            f"DELETE FROM resolved WHERE (:profile IS NULL OR profile_id = :profile) "  # noqa: S608
            f"AND entry_id IN (SELECT entry_id FROM enabled_entry WHERE {in_scope})",
            args,
        )
    conn.execute(
        f"""
        INSERT INTO resolved (profile_id, entry_id, shadows)
        SELECT profile_id, entry_id, n - 1 FROM (
            SELECT profile_id, entry_id,
                   row_number() OVER refs AS rank,
                   count(*) OVER (PARTITION BY profile_id, collection, slug) AS n
            FROM enabled_entry
            WHERE {in_scope}
            WINDOW refs AS (PARTITION BY profile_id, collection, slug
                            ORDER BY priority DESC, pack_id)
        ) WHERE rank = 1
        """,  # noqa: S608 (in_scope is a constant)
        args,
    )


@dataclass(frozen=True)
class Tie:
    """Two enabled packs give the same priority to `count` refs they share (`example` one)."""

    winner: str
    loser: str
    priority: int
    count: int
    example: str


def priority_ties(conn: apsw.Connection, profile_id: str) -> list[Tie]:
    """Pairs of packs whose shared refs are decided by pack id alone, one row per pair."""
    return [
        Tie(*row)
        for row in conn.execute(
            """
            SELECT w.pack_id, o.pack_id, w.priority, count(*),
                   min(w.collection || '/' || w.slug)
            FROM resolved r
            JOIN enabled_entry w ON w.profile_id = r.profile_id AND w.entry_id = r.entry_id
            JOIN enabled_entry o ON o.profile_id = w.profile_id AND o.collection = w.collection
                                AND o.slug = w.slug AND o.pack_id != w.pack_id
                                AND o.priority = w.priority
            WHERE r.profile_id = ? AND r.shadows > 0
            GROUP BY w.pack_id, o.pack_id, w.priority
            ORDER BY 1, 2
            """,
            (profile_id,),
        )
    ]


# -- overrides ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Override:
    """An entry of a pack that wins, in a profile, over an entry of another enabled pack."""

    collection: str
    slug: str
    name: str
    extends: str | None
    over: str
    """The pack whose entry it hides."""


def overrides(conn: apsw.Connection, profile_id: str, pack_id: str) -> list[Override]:
    """What `pack_id` overrides in the profile, by collection and name."""
    return [
        Override(*row)
        for row in conn.execute(
            """
            SELECT w.collection, w.slug, w.name, w.extends, le.pack_id
            FROM entry w CROSS JOIN resolved r ON r.entry_id = w.id AND r.profile_id = ?1
            JOIN enabled_entry le ON le.profile_id = ?1 AND le.collection = w.collection
                 AND le.slug = w.slug AND le.pack_id != w.pack_id
            WHERE w.pack_id = ?2 AND r.shadows > 0
            ORDER BY w.collection, w.name, le.pack_id
            """,
            (profile_id, pack_id),
        )
    ]


# -- lookup -----------------------------------------------------------------------------------


def entries_for_ref(
    conn: apsw.Connection, profile_id: str, collection: str, slug: str
) -> list[EntryRow]:
    """Every enabled entry with this ref, the winner first."""
    return _rows(
        conn.execute(
            f"""
            SELECT {_ENTRY_COLUMNS}, ee.priority
            FROM enabled_entry ee JOIN entry e ON e.id = ee.entry_id
            WHERE ee.profile_id = ? AND ee.collection = ? AND ee.slug = ?
            ORDER BY ee.priority DESC, e.pack_id
            """,  # noqa: S608
            (profile_id, collection, slug),
        )
    )


def entry_in_pack(
    conn: apsw.Connection, pack_id: str, collection: str, slug: str
) -> EntryRow | None:
    rows = _rows(
        conn.execute(
            f"SELECT {_ENTRY_COLUMNS}, NULL FROM entry e "  # noqa: S608
            "WHERE e.pack_id = ? AND e.collection = ? AND e.slug = ?",
            (pack_id, collection, slug),
        )
    )
    return rows[0] if rows else None


# CROSS JOIN: the few entries of that name first (entry_by_norm_name), then whether each wins;
# without statistics SQLite walked every winner of the profile instead (55 ms at 100,000).
WINNERS_BY_NAME_SQL = f"""
    SELECT {_ENTRY_COLUMNS}, NULL
    FROM entry e CROSS JOIN resolved r ON r.entry_id = e.id AND r.profile_id = ?1
    WHERE e.norm_name = ?2
      AND (?3 = '[]' OR e.collection IN (SELECT value FROM json_each(?3)))
    ORDER BY e.collection, e.slug
"""  # noqa: S608


def winners_by_norm_name(
    conn: apsw.Connection, profile_id: str, norm_name: str, collections: Sequence[str]
) -> list[EntryRow]:
    args = (profile_id, norm_name, json.dumps(list(collections)))
    return _rows(conn.execute(WINNERS_BY_NAME_SQL, args))


def entries_in_pack_by_norm_name(
    conn: apsw.Connection, pack_id: str, norm_name: str, collections: Sequence[str]
) -> list[EntryRow]:
    return _rows(
        conn.execute(
            f"""
            SELECT {_ENTRY_COLUMNS}, NULL FROM entry e
            WHERE e.pack_id = ?1 AND e.norm_name = ?2
              AND (?3 = '[]' OR e.collection IN (SELECT value FROM json_each(?3)))
            ORDER BY e.collection, e.slug
            """,  # noqa: S608
            (pack_id, norm_name, json.dumps(list(collections))),
        )
    )


# -- aliases (d5e_daemon/names.py) -------------------------------------------------------------

# Declared aliases then inverted-name forms of the given entries (all of a pack when `ids` is
# NULL); d5e_inverted is names.inverted_json. The migration 0007 runs the same statements.
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
      AND e.name LIKE '%,%' AND d5e_norm(f.value) != e.norm_name
      AND NOT EXISTS (SELECT 1 FROM entry_alias x
                      WHERE x.entry_id = e.id AND x.norm_name = d5e_norm(f.value))
"""


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


def set_declared_aliases(
    conn: apsw.Connection, pack_id: str, aliases: dict[str, list[str]]
) -> set[tuple[str, str]]:
    """Make `aliases` (`collection/slug` → names) the `aliases` of those entries' data, and
    drop the `aliases` of the pack's other entries (a pack copied from SQLite: its alias
    table). Refs the pack lacks are left out. Returns the refs whose data changed."""
    current = {
        f"{c}/{s}": json.loads(a) if a is not None else None
        for c, s, a in conn.execute(
            """
            SELECT collection, slug, data -> '$.aliases' FROM entry
            WHERE pack_id = ?1 AND (data -> '$.aliases' IS NOT NULL
                  OR collection || '/' || slug IN (SELECT key FROM json_each(?2)))
            """,
            (pack_id, json.dumps(aliases)),
        )
    }
    changed = {ref: aliases.get(ref) for ref, had in current.items() if had != aliases.get(ref)}
    conn.executemany(
        """
        UPDATE entry SET
            data = CASE WHEN ?3 IS NULL THEN json_remove(data, '$.aliases')
                        ELSE json_set(data, '$.aliases', json(?3)) END,
            content_hash = d5e_hash(CASE WHEN ?3 IS NULL THEN json_remove(data, '$.aliases')
                                         ELSE json_set(data, '$.aliases', json(?3)) END)
        WHERE pack_id = ?1 AND collection || '/' || slug = ?2
        """,
        (
            (pack_id, ref, None if names is None else json.dumps(names))
            for ref, names in changed.items()
        ),
    )
    return {(ref.split("/", 1)[0], ref.split("/", 1)[1]) for ref in changed}


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
            SELECT {_ENTRY_COLUMNS}, NULL, a.name, a.kind
            FROM entry_alias a CROSS JOIN entry e ON e.id = a.entry_id
            WHERE a.norm_name = :norm
              AND (:collections = '[]'
                   OR e.collection IN (SELECT value FROM json_each(:collections)))
              AND (:pack IS NULL OR e.pack_id = :pack)
              AND (:profile IS NULL OR EXISTS (
                    SELECT 1 FROM resolved r WHERE r.entry_id = e.id AND r.profile_id = :profile))
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


# -- name matching (completion, suggestions) ---------------------------------------------------


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
    CROSS JOIN resolved r ON r.entry_id = e.id AND r.profile_id = :profile
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
        for row in _rows(
            conn.execute(
                f"SELECT {_ENTRY_COLUMNS}, NULL FROM entry e "  # noqa: S608
                "WHERE e.id IN (SELECT value FROM json_each(?))",
                (json.dumps(list(ids)),),
            )
        )
    }
    return [found[i] for i in ids if i in found]


# -- status -----------------------------------------------------------------------------------


def counts_by_collection(conn: apsw.Connection, pack_id: str) -> dict[str, int]:
    return {
        c: n
        for c, n in conn.execute(
            "SELECT collection, count(*) FROM entry WHERE pack_id = ? GROUP BY collection "
            "ORDER BY collection",
            (pack_id,),
        )
    }


def resolved_count(conn: apsw.Connection, profile_id: str) -> int:
    row = conn.execute(
        "SELECT count(*) FROM resolved WHERE profile_id = ?", (profile_id,)
    ).fetchone()
    return int(row[0]) if row else 0


# -- references in documents (features/tags.py) -----------------------------------------------


def entries_by_norm_name(
    conn: apsw.Connection, norm_name: str, collections: Sequence[str]
) -> list[EntryRow]:
    """Entries of every installed pack, enabled or not, with this normalised name."""
    return _rows(
        conn.execute(
            f"""
            SELECT {_ENTRY_COLUMNS}, NULL FROM entry e
            WHERE e.norm_name = ?1
              AND (?2 = '[]' OR e.collection IN (SELECT value FROM json_each(?2)))
            ORDER BY e.pack_id, e.collection, e.slug
            """,  # noqa: S608
            (norm_name, json.dumps(list(collections))),
        )
    )


def winner_names(
    conn: apsw.Connection, profile_id: str, collections: Sequence[str]
) -> list[tuple[str, str, str]]:
    """(normalised name, collection, name) of every winner in these collections."""
    return [
        (norm, collection, name)
        for norm, collection, name in conn.execute(
            """
            SELECT e.norm_name, e.collection, e.name
            FROM entry e JOIN resolved r ON r.entry_id = e.id AND r.profile_id = ?1
            WHERE e.collection IN (SELECT value FROM json_each(?2))
            """,
            (profile_id, json.dumps(list(collections))),
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
    """Every winner of these collections, with its normalised name."""
    return [
        NamedEntry(*row)
        for row in conn.execute(
            """
            SELECT e.id, e.pack_id, e.collection, e.slug, e.name, e.norm_name
            FROM entry e JOIN resolved r ON r.entry_id = e.id AND r.profile_id = ?1
            WHERE e.collection IN (SELECT value FROM json_each(?2))
            """,
            (profile_id, json.dumps(list(collections))),
        )
    ]


def entries_linking_to(
    conn: apsw.Connection,
    profile_id: str,
    match: str,
    needles: Sequence[str],
    limit: int,
) -> list[EntryRow]:
    """Winners whose keyword text matches `match` (an FTS5 phrase of a name) and whose record
    holds one of `needles` (lower case: an API link, a tag, "fireball spell")."""
    return _rows(
        conn.execute(
            f"""
            SELECT {_ENTRY_COLUMNS}, NULL
            FROM entry_text t
            CROSS JOIN entry e ON e.id = t.rowid
            CROSS JOIN resolved r ON r.entry_id = e.id AND r.profile_id = ?1
            WHERE entry_text MATCH ?2
              AND EXISTS (SELECT 1 FROM json_each(?3) n WHERE instr(lower(e.data), n.value) > 0)
            ORDER BY e.collection, e.norm_name, e.pack_id
            LIMIT ?4
            """,  # noqa: S608
            (profile_id, match, json.dumps(list(needles)), limit),
        )
    )


def winners_with_attr(
    conn: apsw.Connection, profile_id: str, name: str, value: str, limit: int
) -> list[EntryRow]:
    """Winners with this filter attribute (`casts` = `fireball`), by collection and name."""
    return _rows(
        conn.execute(
            f"""
            SELECT {_ENTRY_COLUMNS}, NULL
            FROM entry_attr a
            CROSS JOIN entry e ON e.id = a.entry_id
            CROSS JOIN resolved r ON r.entry_id = e.id AND r.profile_id = ?1
            WHERE a.name = ?2 AND a.value = ?3
            ORDER BY e.collection, e.norm_name, e.pack_id
            LIMIT ?4
            """,  # noqa: S608
            (profile_id, name, value, limit),
        )
    )


def entries_extending(
    conn: apsw.Connection, profile_id: str, refs: Sequence[str], limit: int
) -> list[EntryRow]:
    """Winners written as changes to one of `refs` (`extends`, qualified or not)."""
    return _rows(
        conn.execute(
            f"""
            SELECT {_ENTRY_COLUMNS}, NULL
            FROM entry e JOIN resolved r ON r.entry_id = e.id AND r.profile_id = ?1
            WHERE e.extends IN (SELECT value FROM json_each(?2))
            ORDER BY e.collection, e.norm_name, e.pack_id
            LIMIT ?3
            """,  # noqa: S608
            (profile_id, json.dumps(list(refs)), limit),
        )
    )


# -- search index: attributes, passages, vectors -------------------------------------------------


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


_TODO_COLUMNS = f"{_ENTRY_COLUMNS}, NULL, e.content_hash"


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


def attrs_pending(conn: apsw.Connection, key: str) -> bool:
    """Whether any entry lacks attributes extracted with the filter declarations `key`."""
    row = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM entry_index WHERE attrs IS NULL OR attrs < ?1 OR attrs > ?1)",
        (key,),
    ).fetchone()
    return bool(row and row[0])


def attrs_todo(conn: apsw.Connection, limit: int) -> list[IndexTodo]:
    """Up to `limit` entries without attributes (after `forget_other_keys`)."""
    return _todos(
        conn.execute(
            f"""
            SELECT {_TODO_COLUMNS}
            FROM entry_index ei INDEXED BY entry_index_by_attrs JOIN entry e ON e.id = ei.entry_id
            WHERE ei.attrs IS NULL
            ORDER BY ei.entry_id
            LIMIT ?
            """,  # noqa: S608
            (limit,),
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


def save_attrs(
    conn: apsw.Connection, key: str, rows: Iterable[tuple[int, str, list[tuple[str, Any]]]]
) -> set[int]:
    """Replace the attributes of entries: (entry id, content hash, [(filter, value)]); entries
    gone or changed since they were read are left alone. Return the ids saved. Call in a
    transaction."""
    rows = list(rows)
    live = unchanged_entries(conn, ((entry_id, h) for entry_id, h, _ in rows))
    for entry_id, _, attrs in rows:
        if entry_id not in live:
            continue
        conn.execute("DELETE FROM entry_attr WHERE entry_id = ?", (entry_id,))
        conn.executemany(
            "INSERT OR IGNORE INTO entry_attr (entry_id, name, value) VALUES (?, ?, ?)",
            ((entry_id, name, value) for name, value in attrs),
        )
        conn.execute("UPDATE entry_index SET attrs = ? WHERE entry_id = ?", (key, entry_id))
    return live


def save_keyword_texts(
    conn: apsw.Connection, rows: Iterable[tuple[int, str, str, str]], live: set[int]
) -> None:
    """Replace the keyword text of entries: (entry id, name, index text, aliases); only those
    of `live` (`save_attrs`)."""
    for entry_id, name, text, aliases in rows:
        if entry_id not in live:
            continue
        conn.execute("DELETE FROM entry_text WHERE rowid = ?", (entry_id,))
        conn.execute(
            "INSERT INTO entry_text (rowid, name, text, aliases) VALUES (?, ?, ?, ?)",
            (entry_id, name, text, aliases),
        )


# Entries without vectors (after `forget_other_keys`) that get them: winners of the profile
# (`:profile`), or of any profile (NULL), outside the collections left out.
_VECTORS_TODO = f"""
    SELECT {_TODO_COLUMNS}
    FROM entry_index ei INDEXED BY entry_index_by_vectors JOIN entry e ON e.id = ei.entry_id
    WHERE ei.vectors IS NULL
      AND e.collection NOT IN (SELECT value FROM json_each(:skip))
      AND EXISTS (SELECT 1 FROM resolved r WHERE r.entry_id = e.id
                  AND (:profile IS NULL OR r.profile_id = :profile))
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
                           WHERE r.profile_id = :profile AND r.entry_id = e.id) AS mine
            FROM entry_index ei JOIN entry e ON e.id = ei.entry_id
            WHERE (ei.vectors IS NULL OR ei.vectors < :key OR ei.vectors > :key)
              AND e.collection NOT IN (SELECT value FROM json_each(:skip))
              AND EXISTS (SELECT 1 FROM resolved r WHERE r.entry_id = e.id))
        SELECT (SELECT count(*) FROM resolved WHERE profile_id = :profile)
               - (SELECT count(*) FROM entry e INDEXED BY entry_by_collection_name
                  JOIN resolved r ON r.entry_id = e.id AND r.profile_id = :profile
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
            "INSERT INTO passage (entry_id, ord, model, text_hash, text) VALUES (?, ?, ?, ?, ?)",
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


# -- search ---------------------------------------------------------------------------------------

# Every search query is limited to the same entries: winners of the profile, in the asked
# collections, packs and edition, having every asked attribute. `:filters` is a JSON array of
# {"filter", "name", "min", "max"} (an `entry_attr` name and range; equality is min = max;
# several rows of one filter mean any of them: `sense` "darkvision" is the name `sense`,
# "darkvision 60" the name `sense:darkvision` from 60 up) and `:nfilters` the number of distinct
# filters; the entries having all of them are found through the `entry_attr` primary key
# (name, value, entry_id), one range scan per condition.
_SEARCH_SCOPE = """
    JOIN resolved r ON r.entry_id = e.id AND r.profile_id = :profile
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
    """Conditions `{"name", "min", "max"}` (see `_SEARCH_SCOPE`)."""

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
    SELECT e.id FROM entry e {_SEARCH_SCOPE}
    ORDER BY e.norm_name, e.collection, e.pack_id
    LIMIT :limit OFFSET :offset
"""  # noqa: S608


def browse(conn: apsw.Connection, scope: SearchScope, limit: int, offset: int) -> list[int]:
    """Entries in scope by name: "all 3rd-level evocation spells"."""
    args = scope.args() | {"limit": limit, "offset": offset}
    return [entry_id for (entry_id,) in conn.execute(BROWSE_SQL, args)]


KEYWORD_SQL = f"""
    SELECT e.id, -bm25(entry_text, :name_weight, 1.0, 1.0),
           e.norm_name = :norm_name OR EXISTS (
               SELECT 1 FROM entry_alias a WHERE a.entry_id = e.id AND a.norm_name = :norm_name)
    FROM entry_text JOIN entry e ON e.id = entry_text.rowid {_SEARCH_SCOPE}
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
    """(entry id, BM25 score (higher is better), whether its name is `norm_name`) for an FTS5
    query built of quoted words."""
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
    conn: apsw.Connection, match: str, name_weight: float, limit: int
) -> list[tuple[int, float]]:
    """(entry id, BM25 score) of the best `limit` rows of the whole index, no scope: FTS5
    alone, without a join per matching row."""
    return [
        (entry_id, float(score))
        for entry_id, score in conn.execute(
            "SELECT rowid, -bm25(entry_text, ?2, 1.0, 1.0) FROM entry_text "
            "WHERE entry_text MATCH ?1 ORDER BY bm25(entry_text, ?2, 1.0, 1.0) LIMIT ?3",
            (match, name_weight, limit),
        )
    ]


IN_SCOPE_SQL = f"""
    SELECT e.id, e.norm_name = :norm_name FROM entry e {_SEARCH_SCOPE}
      AND e.id IN (SELECT value FROM json_each(:ids))
"""  # noqa: S608


def in_scope(
    conn: apsw.Connection, scope: SearchScope, ids: Sequence[int], norm_name: str
) -> dict[int, bool]:
    """Which of `ids` are in scope, each with whether its name is `norm_name`."""
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
    SELECT p.id, p.entry_id FROM passage p JOIN entry e ON e.id = p.entry_id {_SEARCH_SCOPE}
      AND p.model = :model
"""  # noqa: S608
PASSAGES_AMONG_SQL = f"""
    SELECT p.id, p.entry_id FROM json_each(:ids) j CROSS JOIN passage p ON p.id = j.value
    JOIN entry e ON e.id = p.entry_id {_SEARCH_SCOPE}
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


_NEAREST_IN_SCOPE_SQL = f"""
    SELECT p.entry_id, min(c.distance), p.id
    FROM (SELECT p.id, vec_distance_cosine(v.embedding, :vector) AS distance
          FROM passage p JOIN passage_vector v ON v.id = p.id
          JOIN entry e ON e.id = p.entry_id {_SEARCH_SCOPE} AND p.model = :model
          ORDER BY distance LIMIT :k) c
    JOIN passage p ON p.id = c.id
    GROUP BY p.entry_id
    ORDER BY 2
    LIMIT :limit
"""  # noqa: S608


def nearest_in_scope(
    conn: apsw.Connection, scope: SearchScope, vector: bytes, model: str, k: int, limit: int
) -> list[tuple[int, float, int]]:
    """(entry id, cosine similarity of its best passage, that passage's id), best first: the
    `k` nearest of every passage (of `model`) of the entries in scope, grouped by entry. Exact,
    and slow for a large library (1.5 µs a passage): the reference the tests and benchmarks
    compare `retrieval.semantic_hits` with."""
    args = scope.args() | {"vector": vector, "model": model, "k": k, "limit": limit}
    return [
        (entry_id, 1.0 - float(distance), passage_id)
        for entry_id, distance, passage_id in conn.execute(_NEAREST_IN_SCOPE_SQL, args)
        if distance is not None
    ]


def data_version(conn: apsw.Connection) -> int:
    """Changes whenever another connection commits to the database."""
    row = conn.execute("PRAGMA data_version").fetchone()
    return int(row[0]) if row else 0


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


def keyword_snippets(conn: apsw.Connection, match: str, ids: Sequence[int]) -> dict[int, str]:
    """FTS5 snippets of the index text around the matched words, `**bold**`. One query per entry:
    with `rowid = ?` FTS5 reads only that row's part of each word's list, where `rowid IN
    (…)` would walk every row that matches."""
    found = {}
    for entry_id in ids:
        row = conn.execute(
            "SELECT snippet(entry_text, 1, '**', '**', '…', 16) FROM entry_text "
            "WHERE entry_text MATCH ? AND rowid = ?",
            (match, entry_id),
        ).fetchone()
        if row is not None:
            found[entry_id] = row[0]
    return found


# The tokenizer of `entry_text` (schema/0004_keyword_text.sql), to turn query words into indexed
# terms.
_FTS_TOKENIZER = ("porter", ["unicode61", "remove_diacritics", "2"])


def index_terms(conn: apsw.Connection, words: Sequence[str]) -> list[str]:
    """`words` as `entry_text` indexes them (stemmed: "claws" → "claw"), each once."""
    tokenize = conn.fts5_tokenizer(*_FTS_TOKENIZER)
    terms = [
        str(token)
        for word in words
        for token in tokenize(
            word.encode(),
            apsw.FTS5_TOKENIZE_QUERY,
            None,
            include_offsets=False,
            include_colocated=False,
        )
    ]
    return list(dict.fromkeys(terms))


def term_spans(conn: apsw.Connection, text: bytes, terms: set[str]) -> list[tuple[int, int]]:
    """Byte ranges of the words of `text` (UTF-8) that `entry_text` would index as one of
    `terms`: the same stemming as the search, for highlighting."""
    tokenize = conn.fts5_tokenizer(*_FTS_TOKENIZER)
    return [
        (int(token[0]), int(token[1]))
        for token in tokenize(text, apsw.FTS5_TOKENIZE_DOCUMENT, None, include_colocated=False)
        if token[2] in terms  # type: ignore[misc]
    ]


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
    for entry_id, name, text, aliases in conn.execute(
        "SELECT rowid, name, text, aliases FROM entry_text "
        "WHERE rowid IN (SELECT value FROM json_each(?))",
        (json.dumps(list(ids)),),
    ):
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
        JOIN resolved r ON r.entry_id = a.entry_id AND r.profile_id = ?
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


def entries_with_attributes(
    conn: apsw.Connection, ids: Sequence[int], asked: Sequence[tuple[str, Any]]
) -> dict[int, set[str]]:
    """For each of `ids` that has any of the `asked` (filter, value) pairs: those filters."""
    found: dict[int, set[str]] = {}
    if not ids or not asked:
        return found
    for entry_id, name in conn.execute(
        """
        SELECT a.entry_id, a.name FROM json_each(:asked) p
        JOIN entry_attr a ON a.name = p.value ->> 0 AND a.value = p.value ->> 1
        WHERE a.entry_id IN (SELECT value FROM json_each(:ids))
        """,
        {"asked": json.dumps([list(pair) for pair in asked]), "ids": json.dumps(list(ids))},
    ):
        found.setdefault(entry_id, set()).add(name)
    return found


def has_collection(conn: apsw.Connection, collection: str) -> bool:
    """Whether any installed pack has an entry of `collection`."""
    query = "SELECT EXISTS (SELECT 1 FROM entry WHERE collection = ?)"
    return bool(conn.execute(query, (collection,)).get)
