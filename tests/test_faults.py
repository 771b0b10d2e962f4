"""Faults that left the user guessing: a folder at the database path, a database file or WAL
deleted under a running daemon, a first start on a full disk, an indexer that met a full disk.
Each is a DatabaseError (-32004) in plain words, and the indexer says so and tries again."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import msgspec
import pytest

from d5e_daemon import background
from d5e_daemon.app import App
from d5e_daemon.background import BackgroundIndexer
from d5e_daemon.client import Daemon, RpcError
from d5e_daemon.errors import DatabaseError
from d5e_daemon.features import packs as features
from d5e_daemon.features.lookup import lookup
from d5e_daemon.protocol import LookupParams, PackInstallParams
from d5e_daemon.settings import build

from .packtools import write_pack
from .test_limits import fill_disk, free_disk


def test_a_folder_at_the_database_path(tmp_path: Path) -> None:
    folder = tmp_path / "d5e.sqlite3"
    folder.mkdir()
    with pytest.raises(DatabaseError, match="it is a folder, not a file"):
        App(build({"db": str(folder)}))
    with Daemon(folder) as d:
        with pytest.raises(RpcError) as refused:
            d.initialize()
        assert refused.value.code == -32004
        assert f"cannot use the database {folder}: it is a folder" in refused.value.message
        assert d.proc.poll() is None  # the daemon is still there


def test_a_database_that_cannot_be_opened(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    path = locked / "d5e.sqlite3"
    os.chmod(locked, 0o500)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("running as a user who may write anywhere")
        with pytest.raises(DatabaseError) as refused:
            App(build({"db": str(path)}))
        assert refused.value.code == -32004
        assert "cannot use the database" in refused.value.message
    finally:
        os.chmod(locked, 0o700)


@pytest.mark.parametrize("gone", ["-wal", ""])
def test_a_database_file_deleted_under_the_daemon_refuses_writes(
    db_path: Path, tmp_path: Path, gone: str
) -> None:
    app = App(build({"db": str(db_path)}))
    app.start()
    try:
        pack = write_pack(tmp_path / "brew", {"spells/a.json": '{"name": "Zap"}'})
        asyncio.run(features.install(app, PackInstallParams(path=str(pack))))
        os.unlink(f"{db_path}{gone}")
        with pytest.raises(DatabaseError) as refused:
            asyncio.run(features.remove(app, features.PackIdParams(pack="brew")))
        assert refused.value.code == -32004
        assert f"{db_path}{gone} was deleted while d5e was running" in refused.value.message
        assert "restart d5e" in refused.value.message
        assert lookup(app, LookupParams(ref="spells/zap")).entry.pack == "brew"  # reads go on
    finally:
        app.close()


def test_a_first_start_on_a_full_disk_is_a_database_error(db_path: Path) -> None:
    """It said -32002 "pack srd-2024: cannot copy …", as if the pack were at fault."""
    app = App(build({"db": str(db_path), "builtinPacks": ["srd-2014"]}))
    app.start()
    try:
        app.db.write(lambda conn: conn.execute("DELETE FROM pack WHERE id = 'srd-2024'"))
        app.db.write(lambda conn: conn.execute("VACUUM"))  # no free pages to copy into
        fill_disk(app)
        app.settings = msgspec.structs.replace(app.settings, builtin_packs=["srd-2024"])
        with pytest.raises(DatabaseError) as full:
            app.library.install_builtin_packs()
        assert full.value.code == -32004
        assert "the disk is full" in full.value.message
        assert "nothing was changed" in full.value.message
        free_disk(app)
        assert app.library.install_builtin_packs()[0].action == "installed"
    finally:
        app.close()


def test_the_indexer_reports_a_full_disk_and_resumes(
    db_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(background, "RETRY_FIRST_S", 0.2)
    app = App(build({"db": str(db_path)}))
    app.start()
    entries = [f'{{"name": "Lore {i}", "desc": "{"Words of old. " * 40}"}}' for i in range(300)]
    pack = write_pack(tmp_path / "brew", {"spells/all.json": "[" + ",".join(entries) + "]"})
    asyncio.run(features.install(app, PackInstallParams(path=str(pack))))
    loop = asyncio.new_event_loop()
    indexer = BackgroundIndexer(app, None, loop, progress=False)
    try:
        fill_disk(app, spare_pages=5)
        indexer.schedule()
        deadline = time.monotonic() + 120
        while not any("search indexing failed" in w for w in app.library.warnings):
            assert time.monotonic() < deadline, "no warning"
            time.sleep(0.05)
        (warning,) = [w for w in app.library.warnings if "search indexing failed" in w]
        assert "the disk is full" in warning and "trying again in" in warning
        free_disk(app)
        while (
            any("search indexing failed" in w for w in app.library.warnings)
            or not app.search.vectors_ready()
        ):
            assert time.monotonic() < deadline, f"did not resume: {app.library.warnings}"
            time.sleep(0.1)
    finally:
        indexer.stop()
        loop.close()
        app.close()
