"""Profiles and resolution: which pack wins each ref, choices, priority ties."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass

import apsw


# A profile is named by the caller and keyed by an integer id in the tables (schema 0012): the
# name is stored once, in `profile`; statements find the id by a subquery on the name (one
# index lookup, evaluated once per statement).
def _id(conn: apsw.Connection, profile_id: str) -> int | None:
    row = conn.execute("SELECT id FROM profile WHERE name = ?", (profile_id,)).fetchone()
    return None if row is None else int(row[0])


# Who owns a profile: the workspace folder that uses it (NULL: the user's), kept in
# `profile.config` beside the priorities it was made from; saving the profile keeps it.
def profile_owner(conn: apsw.Connection, profile_id: str) -> tuple[bool, str | None]:
    """Whether the profile exists, and the workspace folder that owns it (None: the user's)."""
    row = conn.execute(
        "SELECT config ->> '$.workspace' FROM profile WHERE name = ?", (profile_id,)
    ).fetchone()
    return (False, None) if row is None else (True, row[0])


def claim_profile(conn: apsw.Connection, profile_id: str, workspace: str | None) -> None:
    """Create the profile owned by `workspace` (None: the user's) unless it exists."""
    conn.execute(
        "INSERT INTO profile (name, config) VALUES (?, json_object('workspace', ?)) "
        "ON CONFLICT (name) DO NOTHING",
        (profile_id, workspace),
    )


def adopt_profile(conn: apsw.Connection, profile_id: str, workspace: str) -> None:
    """Give a profile nobody owns to `workspace` (its name is the folder's)."""
    conn.execute(
        "UPDATE profile SET config = json_set(config, '$.workspace', ?) "
        "WHERE name = ? AND config ->> '$.workspace' IS NULL",
        (workspace, profile_id),
    )


def move_profile(conn: apsw.Connection, profile_id: str, workspace: str) -> None:
    """Give a workspace's profile to the folder it moved to."""
    conn.execute(
        "UPDATE profile SET config = json_set(config, '$.workspace', ?) WHERE name = ?",
        (workspace, profile_id),
    )


def profile_hash(conn: apsw.Connection, profile_id: str) -> str | None:
    row = conn.execute("SELECT config_hash FROM profile WHERE name = ?", (profile_id,)).fetchone()
    return None if row is None else str(row[0])


@dataclass(frozen=True)
class SavedProfile:
    """A profile as it is stored: which packs it enables at which priority (`packs`), their
    per-collection priorities (`collections`), all of it as JSON (`config`) and its digest."""

    name: str
    config: str
    config_hash: str
    packs: dict[str, int]
    collections: dict[str, dict[str, int]]


def save_profile(conn: apsw.Connection, profile: SavedProfile) -> None:
    """Store which packs a profile enables, at which priority, and per-collection priorities."""
    conn.execute(
        "INSERT INTO profile (name, config, config_hash) VALUES (?, ?, ?) "
        "ON CONFLICT (name) DO UPDATE SET config_hash = excluded.config_hash, "
        "config = json_set(excluded.config, '$.workspace', profile.config ->> '$.workspace')",
        (profile.name, profile.config, profile.config_hash),
    )
    key = _id(conn, profile.name)
    conn.execute("DELETE FROM profile_pack WHERE profile_id = ?", (key,))
    conn.execute("DELETE FROM profile_collection WHERE profile_id = ?", (key,))
    conn.executemany(
        "INSERT INTO profile_pack (profile_id, pack_id, priority) VALUES (?, ?, ?)",
        ((key, pack, prio) for pack, prio in profile.packs.items()),
    )
    conn.executemany(
        "INSERT INTO profile_collection (profile_id, pack_id, collection, priority) "
        "VALUES (?, ?, ?, ?)",
        (
            (key, pack, collection, prio)
            for pack, by_collection in profile.collections.items()
            for collection, prio in by_collection.items()
        ),
    )


def profile_packs(conn: apsw.Connection, profile_id: str) -> dict[str, int]:
    return {
        pack: prio
        for pack, prio in conn.execute(
            "SELECT pack_id, priority FROM profile_pack "
            "WHERE profile_id = (SELECT id FROM profile WHERE name = ?) "
            "ORDER BY priority DESC, pack_id",
            (profile_id,),
        )
    }


def profile_collections(conn: apsw.Connection, profile_id: str) -> dict[str, dict[str, int]]:
    found: dict[str, dict[str, int]] = {}
    for pack, collection, prio in conn.execute(
        "SELECT pack_id, collection, priority FROM profile_collection "
        "WHERE profile_id = (SELECT id FROM profile WHERE name = ?) "
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
            "WHERE profile_id = (SELECT id FROM profile WHERE name = ?) "
            "ORDER BY pack_id, collection",
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
        VALUES ((SELECT id FROM profile WHERE name = ?1), ?2, ?3, ?4, ?5)
        ON CONFLICT (profile_id, pack_id, collection) DO UPDATE SET
            enabled = coalesce(excluded.enabled, enabled),
            priority = CASE WHEN ?6 THEN excluded.priority
                            ELSE coalesce(excluded.priority, priority) END
        """,
        (profile_id, pack_id, collection, enabled, priority, clear_priority),
    )
    conn.execute(
        "DELETE FROM profile_choice WHERE enabled IS NULL AND priority IS NULL "
        "AND profile_id = (SELECT id FROM profile WHERE name = ?) AND pack_id = ?",
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
    if refs is None:
        conn.execute(
            "DELETE FROM resolved WHERE :profile IS NULL "
            "OR profile_id = (SELECT id FROM profile WHERE name = :profile)",
            {"profile": profile_id},
        )
        conn.execute(_RESOLVE_ALL_SQL, {"profile": profile_id})
        return
    args = {"profile": profile_id, "refs": json.dumps(sorted({(c, s) for c, s in refs}))}
    # Every entry of the refs loses its row (of any pack: one disabled since has one too;
    # deleted entries left none, by trigger), then the refs' winners are written again.
    conn.execute(
        f"""
        DELETE FROM resolved
        WHERE (:profile IS NULL
               OR profile_id = (SELECT id FROM profile WHERE name = :profile))
          AND entry_id IN (SELECT e.id FROM {_REFS_ENTRIES})
        """,  # noqa: S608 (a constant)
        args,
    )
    conn.execute(_RESOLVE_REFS_SQL, args)


# A profile as a command that only reads wants it, on one connection: TEMP tables and views of
# the names of the profile tables shadow the database's on that connection (SQLite looks names
# up in `temp` first; a view of `main` reads `main`'s tables, so the views are copied too).
_OVERLAID = ("profile", "profile_pack", "profile_collection", "resolved")
_TEMP = re.compile(r"CREATE (TABLE|VIEW|INDEX|UNIQUE INDEX) (IF NOT EXISTS )?")


def overlay_profile(conn: apsw.Connection, profile: SavedProfile) -> None:
    """Give `conn` its own copy of the profile tables, holding only `profile` saved as
    `save_profile` would save it, with its winners: what the connection reads is that
    profile's, and the database file is not written (temporary objects live apart from it)."""
    made = conn.execute(
        "SELECT type, sql FROM main.sqlite_schema WHERE sql IS NOT NULL AND (type = 'view' "
        "OR tbl_name IN (SELECT value FROM json_each(?)) AND type IN ('table', 'index')) "
        "ORDER BY type = 'view', type = 'index', rowid",
        (json.dumps(_OVERLAID),),
    ).fetchall()
    for kind, made_as in made:  # made again in `temp`, from the schema's own words
        sql = str(made_as)
        head = _TEMP.match(sql)
        assert head is not None, sql
        if kind == "index":  # an index is made in its table's schema: named temp.NAME
            conn.execute(f"CREATE {head[1]} {head[2] or ''}temp.{sql[head.end() :]}")
        else:
            conn.execute(f"CREATE TEMP {head[1]} {head[2] or ''}{sql[head.end() :]}")
    conn.execute(
        "INSERT INTO temp.profile SELECT * FROM main.profile WHERE name = ?", (profile.name,)
    )
    save_profile(conn, profile)
    rebuild_resolved(conn, profile.name)


def refs_of(
    conn: apsw.Connection, scopes: Iterable[tuple[str, str | None]]
) -> set[tuple[str, str]]:
    """The refs (collection, slug) of the entries of each (pack, collection) scope; collection
    None: all of the pack's entries."""
    return {
        (c, s)
        for c, s in conn.execute(
            """
            SELECT e.collection, e.slug
            FROM json_each(?) j CROSS JOIN entry e
            ON e.pack_id = j.value ->> 0
               AND (j.value ->> 1 IS NULL OR e.collection = j.value ->> 1)
            """,
            (json.dumps(list(scopes)),),
        )
    }


# The winners of a set of candidate rows (profile_id, entry_id, pack_id, collection, slug,
# priority): the first of each ref by priority, then pack id, with how many it shadows.
_WINNERS = """
    INSERT INTO resolved (profile_id, entry_id, shadows)
    SELECT profile_id, entry_id, n - 1 FROM (
        SELECT profile_id, entry_id,
               row_number() OVER refs AS rank,
               count(*) OVER (PARTITION BY profile_id, collection, slug) AS n
        FROM ({candidates})
        WINDOW refs AS (PARTITION BY profile_id, collection, slug
                        ORDER BY priority DESC, pack_id)
    ) WHERE rank = 1
"""
_RESOLVE_ALL_SQL = _WINNERS.format(
    candidates="SELECT * FROM enabled_entry WHERE :profile IS NULL "
    "OR profile_id = (SELECT id FROM profile WHERE name = :profile)"
)
# `:refs` (a JSON list of distinct [collection, slug]): each ref through `entry_by_ref`, so the
# cost follows the refs, not the profile's size (CROSS JOIN keeps json_each the outer loop).
_REFS_ENTRIES = """
    json_each(:refs) j CROSS JOIN entry e
    ON e.collection = j.value ->> 0 AND e.slug = j.value ->> 1
"""
_RESOLVE_REFS_SQL = _WINNERS.format(
    candidates=f"""
        SELECT pp.profile_id, e.id AS entry_id, e.pack_id, e.collection, e.slug,
               coalesce(pc.priority, pp.priority) AS priority
        FROM {_REFS_ENTRIES}
        CROSS JOIN profile_pack pp ON pp.pack_id = e.pack_id
        LEFT JOIN profile_collection pc
               ON pc.profile_id = pp.profile_id AND pc.pack_id = e.pack_id
              AND pc.collection = e.collection
        WHERE :profile IS NULL
           OR pp.profile_id = (SELECT id FROM profile WHERE name = :profile)
    """  # noqa: S608 (constants)
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
            WHERE r.profile_id = (SELECT id FROM profile WHERE name = ?) AND r.shadows > 0
            GROUP BY w.pack_id, o.pack_id, w.priority
            ORDER BY 1, 2
            """,
            (profile_id,),
        )
    ]


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
            FROM entry w CROSS JOIN resolved r ON r.entry_id = w.id AND r.profile_id = (
                SELECT id FROM profile WHERE name = ?1)
            JOIN enabled_entry le ON le.profile_id = r.profile_id AND le.collection = w.collection
                 AND le.slug = w.slug AND le.pack_id != w.pack_id
            WHERE w.pack_id = ?2 AND r.shadows > 0
            ORDER BY w.collection, w.name, le.pack_id
            """,
            (profile_id, pack_id),
        )
    ]


@dataclass(frozen=True)
class Shadowed:
    """An enabled entry of a pack that another enabled pack's entry of the same ref hides."""

    collection: str
    slug: str
    name: str
    by: str
    """The pack whose entry wins."""


def shadowed(conn: apsw.Connection, profile_id: str, pack_id: str) -> list[Shadowed]:
    """The entries of `pack_id` that lose, in the profile, to another pack's entry."""
    return [
        Shadowed(*row)
        for row in conn.execute(
            """
            SELECT e.collection, e.slug, e.name, w.pack_id
            FROM entry e
            JOIN profile_pack pp ON pp.profile_id = (SELECT id FROM profile WHERE name = ?1)
                 AND pp.pack_id = e.pack_id
            JOIN entry w ON w.collection = e.collection AND w.slug = e.slug AND w.id != e.id
            CROSS JOIN resolved r ON r.entry_id = w.id AND r.profile_id = pp.profile_id
            WHERE e.pack_id = ?2
            ORDER BY e.collection, e.name, w.pack_id
            """,
            (profile_id, pack_id),
        )
    ]
