"""Packs and their entries: install, upgrade, remove, copy from an attached SQLite file."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import apsw
import msgspec

from ..records import Pack
from ..text import normalize
from .postings import remove_postings


@dataclass(frozen=True)
class PackRow:
    pack: Pack
    origin: str
    content_hash: str
    installed_at: str
    entries: int
    workspace_profile: str | None = None
    """The workspace profile whose `packPaths` installed it (on by default there only)."""
    stamp: str | None = None
    """Of a folder or zip pack: its files' stamp when last read (`packfiles.stamp`)."""


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
    found = packs_by_source(conn, name)
    return found[0] if found else None


def packs_by_source(conn: apsw.Connection, name: str) -> list[str]:
    """Every installed pack a tag's source part may name, the one `pack_by_source` answers
    first: an abbreviation is not unique (Middle Finger of Vecna's products are all `MFOV`)."""
    rows = conn.execute(
        """
        SELECT id FROM pack
        WHERE lower(id) = lower(?1)
           OR lower(json_extract(meta, '$.source_id')) = lower(?1)
           OR lower(json_extract(meta, '$.abbreviation')) = lower(?1)
        ORDER BY lower(id) = lower(?1) DESC,
                 lower(json_extract(meta, '$.source_id')) = lower(?1) DESC, id
        """,
        (name,),
    )
    return [str(r[0]) for r in rows]


def pack_ids(conn: apsw.Connection) -> list[str]:
    """The ids of the installed packs, in order."""
    return [str(row[0]) for row in conn.execute("SELECT id FROM pack ORDER BY id")]


class ListedEntry(NamedTuple):
    id: int
    pack: str
    collection: str
    slug: str
    name: str


def winners_after(conn: apsw.Connection, profile: str, after: int, limit: int) -> list[ListedEntry]:
    """A page of the profile's winners (every ref's entry that the profile sees), in the order
    of their ids from `after` on: a page goes on where the last one stopped, whatever was
    installed or removed meanwhile (`resolved`'s key: no scan of what came before)."""
    rows = conn.execute(
        """
        SELECT e.id, e.pack_id, e.collection, e.slug, e.name
        FROM resolved r CROSS JOIN entry e ON e.id = r.entry_id
        WHERE r.profile_id = (SELECT id FROM profile WHERE name = ?1) AND r.entry_id > ?2
        ORDER BY r.entry_id
        LIMIT ?3
        """,
        (profile, after, limit),
    )
    return [ListedEntry(*row) for row in rows]


def get_pack(conn: apsw.Connection, pack_id: str) -> Pack | None:
    row = conn.execute(f"SELECT {_PACK_COLUMNS} FROM pack p WHERE p.id = ?", (pack_id,)).fetchone()  # noqa: S608
    return None if row is None else _pack(row)


def pack_has_collection(conn: apsw.Connection, pack_id: str, collection: str) -> bool:
    """Whether the pack has an entry of `collection` (5e-database 5.10.0's 2024 SRD has no
    spells)."""
    query = "SELECT EXISTS (SELECT 1 FROM entry WHERE pack_id = ? AND collection = ?)"
    return bool(conn.execute(query, (pack_id, collection)).get)


def installed_packs(conn: apsw.Connection) -> list[PackRow]:
    rows = conn.execute(
        f"""
        SELECT {_PACK_COLUMNS}, p.origin, p.content_hash, p.installed_at,
               (SELECT count(*) FROM entry e WHERE e.pack_id = p.id),
               p.meta ->> '$.workspaceProfile', p.meta ->> '$.stamp'
        FROM pack p ORDER BY p.id
        """  # noqa: S608
    )
    return [PackRow(_pack(row[:8]), *row[8:]) for row in rows]


def pack_content_hash(conn: apsw.Connection, pack_id: str) -> str | None:
    row = conn.execute("SELECT content_hash FROM pack WHERE id = ?", (pack_id,)).fetchone()
    return None if row is None else str(row[0])


def delete_pack(conn: apsw.Connection, pack_id: str) -> None:
    ids = [int(i) for (i,) in conn.execute("SELECT id FROM entry WHERE pack_id = ?", (pack_id,))]
    remove_postings(conn, ids)  # before their keyword texts go (the entry_ad_text trigger)
    conn.execute("DELETE FROM entry WHERE pack_id = ?", (pack_id,))
    conn.execute("DELETE FROM pack_read WHERE pack_id = ?", (pack_id,))
    conn.execute("DELETE FROM pack WHERE id = ?", (pack_id,))


def set_pack_hash(conn: apsw.Connection, pack_id: str, content_hash: str) -> None:
    conn.execute("UPDATE pack SET content_hash = ? WHERE id = ?", (content_hash, pack_id))


def pack_origin(conn: apsw.Connection, pack_id: str) -> str | None:
    row = conn.execute("SELECT origin FROM pack WHERE id = ?", (pack_id,)).fetchone()
    return None if row is None else str(row[0])


# Who brought a pack: the profile of the workspace whose `packPaths` installed it (NULL: the
# user), kept in `pack.meta` beside what the pack says about itself; an upgrade keeps it.
def pack_workspace(conn: apsw.Connection, pack_id: str) -> str | None:
    """The workspace profile whose `packPaths` brought the pack (None: the user's, or none)."""
    row = conn.execute(
        "SELECT json_extract(meta, '$.workspaceProfile') FROM pack WHERE id = ?", (pack_id,)
    ).fetchone()
    return None if row is None else row[0]


def set_pack_workspace(conn: apsw.Connection, pack_id: str, profile_id: str | None) -> None:
    conn.execute(
        "UPDATE pack SET meta = json_set(meta, '$.workspaceProfile', ?) WHERE id = ?",
        (profile_id, pack_id),
    )


def set_pack_stamp(conn: apsw.Connection, pack_id: str, stamp: str) -> None:
    """The stamp of the files a folder or zip pack was read from (kept in `pack.meta`)."""
    conn.execute(
        "UPDATE pack SET meta = json_set(meta, '$.stamp', ?) WHERE id = ?", (stamp, pack_id)
    )


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
            license = excluded.license, attribution = excluded.attribution,
            meta = json_set(
                excluded.meta, '$.workspaceProfile', pack.meta ->> '$.workspaceProfile'
            ),
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
    remove_postings(conn, ids)  # before their keyword texts go (the entry_ad_text trigger)
    conn.execute(
        "DELETE FROM entry WHERE id IN (SELECT value FROM json_each(?))", (json.dumps(list(ids)),)
    )


_UPSERT_BATCH = 100
"""Entries written per statement: each batch is one step of SQLite, which runs without Python's
lock (a row at a time, every row took the lock back from the search indexer's thread: an
install beside indexing took 4-5 times as long). Small batches bound what a statement holds
(its JSON and the pages it changed): the install's peak RSS of 2,800 entries was 1 MB above a
row at a time with 100 to a statement, 8 MB with 500, 22 MB with 2,000."""


def upsert_entries(conn: apsw.Connection, pack_id: str, entries: Iterable[NewEntry]) -> None:
    """Insert entries, or replace the content of the same ref in the pack (its id stays, so
    whatever is keyed by entry id, such as vectors, sees a changed `content_hash`)."""
    rows = [
        [
            e.collection,
            e.slug,
            e.name,
            normalize(e.name),  # what d5e_norm gives, computed here: no Python inside the step
            e.data_json,
            e.content_hash,
            e.extends,
            e.source_path,
            e.source_line,
        ]
        for e in entries
    ]
    for start in range(0, len(rows), _UPSERT_BATCH):
        batch = _encode(rows[start : start + _UPSERT_BATCH]).decode()
        conn.execute(_UPSERT_SQL, {"pack": pack_id, "rows": batch})


_encode = msgspec.json.Encoder().encode
_UPSERT_SQL = """
    INSERT INTO entry (pack_id, collection, slug, name, norm_name, data, content_hash,
                       extends, source_path, source_line)
    SELECT :pack, r ->> 0, r ->> 1, r ->> 2, r ->> 3, r ->> 4, r ->> 5, r ->> 6, r ->> 7, r ->> 8
    FROM (SELECT value AS r FROM json_each(:rows)) WHERE true
    ON CONFLICT (pack_id, collection, slug) DO UPDATE SET
        name = excluded.name, norm_name = excluded.norm_name, data = excluded.data,
        content_hash = excluded.content_hash,
        extends = excluded.extends, source_path = excluded.source_path,
        source_line = excluded.source_line
"""


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
    """(name, data) of one stored entry: the base of an entry that extends it. A slug that is
    no entry's may be one of its other names (an alias of exactly one entry of that pack and
    collection): a 5etools copy of "Melf's Acid Arrow" finds the SRD's Acid Arrow."""
    row = conn.execute(
        "SELECT name, data FROM entry WHERE pack_id = ? AND collection = ? AND slug = ?",
        (pack_id, collection, slug),
    ).fetchone()
    if row is None:
        found = conn.execute(
            """
            SELECT DISTINCT e.name, e.data FROM entry_alias a JOIN entry e ON e.id = a.entry_id
            WHERE a.norm_name = ? AND e.pack_id = ? AND e.collection = ? AND a.kind = 'alias'
            LIMIT 2
            """,
            (slug.replace("-", " "), pack_id, collection),
        ).fetchall()
        row = found[0] if len(found) == 1 else None
    return None if row is None else (str(row[0]), json.loads(str(row[1])))


def packs_extending(conn: apsw.Connection, pack_id: str) -> list[str]:
    """Other packs with entries derived from entries of `pack_id`, or whose install read some
    of them (`set_pack_reads`)."""
    return [
        p
        for (p,) in conn.execute(
            "SELECT pack_id FROM entry WHERE extends >= ?1 AND extends < ?1 || x'ff' "
            "AND pack_id != ?2 "
            "UNION SELECT pack_id FROM pack_read WHERE read_pack = ?2 AND pack_id != ?2 "
            "ORDER BY 1",
            (pack_id + ":", pack_id),
        )
    ]


def set_pack_reads(conn: apsw.Connection, pack_id: str, read: list[str]) -> None:
    """The other packs whose entries installing `pack_id` read (written only when changed)."""
    stored = [
        p
        for (p,) in conn.execute(
            "SELECT read_pack FROM pack_read WHERE pack_id = ? ORDER BY 1", (pack_id,)
        )
    ]
    wanted = sorted(set(read) - {pack_id})
    if stored == wanted:
        return
    conn.execute("DELETE FROM pack_read WHERE pack_id = ?", (pack_id,))
    conn.executemany(
        "INSERT INTO pack_read (pack_id, read_pack) VALUES (?, ?)",
        [(pack_id, p) for p in wanted],
    )


def packs_state(conn: apsw.Connection) -> list[tuple[str, str]]:
    """(pack id, content hash and owning workspace) of every installed pack: changes whenever
    a pack does, or becomes the user's (`pack_workspace`)."""
    rows = conn.execute(
        "SELECT id, content_hash || ifnull(' ' || json_extract(meta, '$.workspaceProfile'), '') "
        "FROM pack ORDER BY id"
    )
    return [(p, h) for p, h in rows]


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
