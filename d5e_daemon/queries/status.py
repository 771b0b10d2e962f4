"""Counts for `d5e/status`."""

from __future__ import annotations

import apsw


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
        "SELECT count(*) FROM resolved WHERE profile_id = (SELECT id FROM profile WHERE name = ?)",
        (profile_id,),
    ).fetchone()
    return int(row[0]) if row else 0
