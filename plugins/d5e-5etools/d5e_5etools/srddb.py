"""The installed SRD data (the `d5e-srd` plugin's SQLite files, read-only): rows of its tables,
and the names of its records by collection."""

from __future__ import annotations

import functools
from typing import Any

from d5e_daemon.text import normalize


def srd_rows(edition: str, sql: str) -> list[tuple[Any, ...]]:
    """Rows of the installed SRD data of `edition` (the `d5e-srd` plugin's); none when that
    data is not installed."""
    try:
        import apsw
        from d5e_srd import data_files  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        return []
    path = data_files().get(edition)
    if path is None:
        return []
    uri = f"file:{path}?mode=ro&immutable=1"
    conn = apsw.Connection(uri, flags=apsw.SQLITE_OPEN_READONLY | apsw.SQLITE_OPEN_URI)
    try:
        return list(conn.execute(sql))
    except apsw.Error:
        return []
    finally:
        conn.close()


@functools.lru_cache(maxsize=1)
def srd_names() -> dict[str, frozenset[str]]:
    """The names of the SRDs' records (both editions), normalized, by collection."""
    names: dict[str, set[str]] = {}
    for edition in ("2014", "2024"):
        tables = srd_rows(edition, "SELECT name FROM sqlite_master WHERE type = 'table'")
        for (table,) in tables:
            if table == "metadata" or not str(table).isidentifier():
                continue
            rows = srd_rows(edition, f"SELECT name FROM {table}")  # noqa: S608 (its own)
            found = names.setdefault(str(table).replace("_", "-"), set())
            found.update(normalize(str(name)) for (name,) in rows if name)
    return {collection: frozenset(found) for collection, found in names.items()}
