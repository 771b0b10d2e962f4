"""A database at an older schema version, holding what a database of today holds: how the
tests of a migration get the database a user of an older d5e has.

The older d5e's tables are made by its own migrations (`db.migrations()[:version]`); each is
filled with the columns it shares with today's. Tables that triggers fill (the name indexes,
`entry_fts` before 0006, `alias_words`) are filled by the older schema's triggers as the
entries come in; `entry_text` holds its own text and is copied. Before 0012, a profile was
keyed by its name in every table.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from d5e_daemon import db

_OWN_TEXT = {"entry_text": ["rowid", "name", "text", "aliases"]}


def _tables(conn: object, schema: str) -> list[str]:
    return [
        name
        for name, kind in conn.execute(  # type: ignore[attr-defined]
            f"SELECT s.name, t.type FROM {schema}.sqlite_schema s "
            f"JOIN pragma_table_list t ON t.name = s.name AND t.schema = '{schema}' "
            "WHERE s.type = 'table' ORDER BY s.rowid"
        )
        if kind == "table" or name in _OWN_TEXT
        if not name.startswith("sqlite_") and name != "migration_history"
    ]


def _columns(conn: object, schema: str, table: str) -> list[str]:
    if table in _OWN_TEXT:
        return _OWN_TEXT[table]
    return [row[1] for row in conn.execute(f"PRAGMA {schema}.table_info({table})")]  # type: ignore[attr-defined]


def older_database(source: Path, target: Path, version: int) -> None:
    """Write at `target` a database of schema `version` holding what `source` (a database of
    today's schema) holds."""
    real = db.migrations()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(db, "migrations", lambda: real[:version])
        conn = db.connect(target)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == version  # type: ignore[index]
        conn.pragma("foreign_keys", False)
        conn.execute("ATTACH DATABASE ? AS src", (f"file:{source}?mode=ro",))
        by_name = {c for c in _columns(conn, "main", "profile")} == {"id", "config", "config_hash"}
        with db.transaction(conn):
            for table in _tables(conn, "main"):
                if table not in _tables(conn, "src"):
                    continue
                have = set(_columns(conn, "src", table))
                columns = [c for c in _columns(conn, "main", table) if c in have]
                values = [f"s.{c}" for c in columns]
                if by_name and table == "profile":
                    values[columns.index("id")] = "s.name"
                elif by_name and "profile_id" in columns:
                    values[columns.index("profile_id")] = (
                        "(SELECT name FROM src.profile WHERE id = s.profile_id)"
                    )
                conn.execute(
                    f"INSERT OR REPLACE INTO main.{table} ({', '.join(columns)}) "
                    f"SELECT {', '.join(values)} FROM src.{table} s"
                )
        conn.execute("DETACH DATABASE src")
    finally:
        conn.close()
