"""Crash safety: `kill -9` at random points while a database is migrated and the SRD packs are
installed. After each kill the file passes `PRAGMA integrity_check`, every pack is wholly present
or wholly absent (keyword indexes included), and the next start finishes the job."""

from __future__ import annotations

import random
import subprocess
import sys
import time
from pathlib import Path

import apsw
import pytest

from d5e_daemon import db

EXPECTED = {"srd-2014": 2317, "srd-2024": 1336}
SEEDS = range(16)


def start_and_kill(path: Path, delay: float) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "d5e_daemon", "status", "--db", str(path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(delay)
    proc.kill()  # SIGKILL: no cleanup, no rollback by the process itself
    proc.wait()


def check_consistent(path: Path) -> dict[str, int]:
    """Integrity, and for each pack all of its entries or none; returns entries per pack."""
    conn = apsw.Connection(str(path))  # a plain connection: what any SQLite tool would see
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        version = conn.execute("PRAGMA user_version").fetchone()[0]  # type: ignore[index]
        if version == 0:
            assert conn.execute("SELECT count(*) FROM sqlite_schema").fetchone() == (0,)
            return {}
        assert version == db.latest_version()
        counts = dict(conn.execute("SELECT pack_id, count(*) FROM entry GROUP BY pack_id"))
        packs = {r[0] for r in conn.execute("SELECT id FROM pack")}
        assert set(counts) == packs, "entries without their pack, or a pack without entries"
        for pack, n in counts.items():
            assert n == EXPECTED[pack], f"{pack} is half-installed: {n} entries"
        for table in ("entry_fts", "name_words"):
            conn.execute(f"INSERT INTO {table} ({table}) VALUES ('integrity-check')")
        return counts
    finally:
        conn.close()


@pytest.mark.parametrize("seed", SEEDS)
def test_kill_during_first_start_leaves_all_or_nothing(tmp_path: Path, seed: int) -> None:
    path = tmp_path / "d5e.sqlite3"
    rng = random.Random(seed)
    start_and_kill(path, rng.uniform(0.05, 0.45))
    if path.exists():
        check_consistent(path)
    done = subprocess.run(
        [sys.executable, "-m", "d5e_daemon", "status", "--db", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert check_consistent(path) == EXPECTED
