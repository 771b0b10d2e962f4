"""Resource limits: the disk filling up in the middle of an install, an upgrade, an upload or an
index run. The change is refused with a DatabaseError that says so (-32004 on the wire, not an
internal error), the old state is intact (the old pack whole, the pack's files as they were),
and once there is room again the same command succeeds.

In process the disk is "full" by `PRAGMA max_page_count` on the writer's connection; over the
wire the daemon's file size limit (RLIMIT_FSIZE, what a full quota looks like to it) is lowered
under its feet, so SQLite's writes fail as they would on a full disk.
"""

from __future__ import annotations

import json
import resource
from pathlib import Path

import apsw
import pytest

from d5e_daemon import protocol
from d5e_daemon.app import App
from d5e_daemon.client import Daemon, RpcError
from d5e_daemon.errors import DatabaseError
from d5e_daemon.features import packs as pack_features
from d5e_daemon.features.lookup import lookup
from d5e_daemon.search.embed import FakeEmbedder

from .packtools import write_pack
from .test_hostile import run

MAX_PAGES = 4294967294  # SQLite's own ceiling: "no limit"


def big_pack(root: Path, version: int = 1, count: int = 1500) -> Path:
    """`big` at `version`: enough text that it cannot fit in a few spare pages."""
    files = {
        f"spells/part-{p}.json": json.dumps(
            [
                {"name": f"Big {i:04d}", "level": i % 10, "desc": f"v{version} " + "Lore. " * 150}
                for i in range(p, count, 10)
            ]
        )
        for p in range(10)
    }
    manifest = f'id = "big"\ntitle = "Big"\nversion = "{version}"\n'
    return write_pack(root / f"big-v{version}", files, manifest=manifest)


def fill_disk(app: App, spare_pages: int = 30) -> None:
    """From now on the database may grow by `spare_pages` pages only."""

    def limit(conn: apsw.Connection) -> None:
        pages = conn.execute("PRAGMA page_count").fetchone()[0]  # type: ignore[index]
        conn.pragma("max_page_count", pages + spare_pages)

    app.db.write(limit)


def free_disk(app: App) -> None:
    app.db.write(lambda conn: conn.pragma("max_page_count", MAX_PAGES))


def snapshot(app: App, pack_id: str) -> tuple[str | None, list[tuple[str, str]]]:
    row = app.conn.execute("SELECT version FROM pack WHERE id = ?", (pack_id,)).fetchone()
    entries = app.conn.execute(
        "SELECT slug, content_hash FROM entry WHERE pack_id = ? ORDER BY slug", (pack_id,)
    ).fetchall()
    return (row[0] if row else None), entries


def assert_disk_full(caught: pytest.ExceptionInfo[DatabaseError]) -> None:
    assert caught.value.code == -32004
    assert "the disk is full" in caught.value.message
    assert "nothing was changed" in caught.value.message


def check_whole(app: App) -> None:
    assert app.conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert lookup(app, protocol.LookupParams(ref="spells/fireball")).entry.name == "Fireball"


def test_a_full_disk_during_an_install_installs_nothing_and_says_so(
    app: App, tmp_path: Path
) -> None:
    """It used to surface as "cannot rollback - no transaction is active" (SQLite had rolled
    back by itself; a second ROLLBACK hid the real error): an internal error."""
    folder = big_pack(tmp_path)
    before = app.conn.execute("SELECT count(*) FROM entry").fetchone()
    fill_disk(app)
    with pytest.raises(DatabaseError) as caught:
        run(pack_features.install(app, protocol.PackInstallParams(path=str(folder))))
    assert_disk_full(caught)
    assert snapshot(app, "big") == (None, [])
    assert app.conn.execute("SELECT count(*) FROM entry").fetchone() == before
    check_whole(app)
    free_disk(app)  # and the writer's connection is not left inside a transaction
    result = run(pack_features.install(app, protocol.PackInstallParams(path=str(folder))))
    assert (result.action, result.entries) == ("installed", 1500)


def upgrade_params(folder: Path) -> protocol.PackInstallParams:
    """The new version is another folder: installing it under the same id is a replace."""
    return protocol.PackInstallParams(path=str(folder), replace=True)


def test_a_full_disk_during_an_upgrade_keeps_the_old_version_whole(
    app: App, tmp_path: Path
) -> None:
    run(pack_features.install(app, protocol.PackInstallParams(path=str(big_pack(tmp_path, 1)))))
    old = snapshot(app, "big")
    upgrade = big_pack(tmp_path, 2, count=1800)
    fill_disk(app)
    with pytest.raises(DatabaseError) as caught:
        run(pack_features.install(app, upgrade_params(upgrade)))
    assert_disk_full(caught)
    assert snapshot(app, "big") == old
    check_whole(app)
    free_disk(app)
    result = run(pack_features.install(app, upgrade_params(upgrade)))
    assert (result.action, result.entries) == ("upgraded", 1800)


def test_a_full_disk_during_an_upload_puts_the_files_back(app: App, tmp_path: Path) -> None:
    """An upload writes the pack's files, then installs them: if the install fails, the files
    go back to what they were, or the folder and the database would disagree."""
    created = run(
        pack_features.create(app, protocol.CreateParams(id="notes", directory=str(tmp_path)))
    )
    root = Path(created.path)
    files_before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    old = snapshot(app, "notes")
    entries = [{"name": f"Note {i}", "level": 1, "desc": "Lore. " * 200} for i in range(300)]
    fill_disk(app, spare_pages=5)
    with pytest.raises(DatabaseError) as caught:
        run(
            pack_features.upload(
                app,
                protocol.UploadParams(pack="notes", collection="spells", entries=entries),
            )
        )
    assert_disk_full(caught)
    assert {p: p.read_bytes() for p in root.rglob("*") if p.is_file()} == files_before
    assert snapshot(app, "notes") == old
    free_disk(app)
    params = protocol.UploadParams(pack="notes", collection="spells", entries=entries)
    assert len(run(pack_features.upload(app, params)).written) == 300


def test_a_full_disk_stops_indexing_which_resumes_once_there_is_room(app: App) -> None:
    fake = FakeEmbedder()
    app.search = app.search_index(fake)
    app.search.ensure_attributes()  # the keyword texts first: the vectors fill the disk
    fill_disk(app, spare_pages=800)
    with pytest.raises(DatabaseError) as caught:
        app.search.build()
    # Here the disk fills up when the passages' vectors and codes are written
    assert caught.value.code == -32004
    assert "the disk is full" in caught.value.message
    assert "nothing was changed" in caught.value.message
    partial_state = app.search.state()
    assert 0 < partial_state.indexed < partial_state.entries  # whole batches were saved
    free_disk(app)
    assert app.search.build().ready


# -- over the wire ----------------------------------------------------------------------------


def limit_file_size(pid: int, size: int | None) -> None:
    """The daemon may write files up to `size` bytes from now on (None: no limit)."""
    _, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.prlimit(pid, resource.RLIMIT_FSIZE, (hard if size is None else size, hard))


def refused_for_a_full_disk(d: Daemon, folder: Path) -> None:
    with pytest.raises(RpcError) as caught:
        params = {"path": str(folder), "replace": True}  # v2 is another folder: a replace
        d.request("d5e/packs/install", params, timeout=60)
    assert caught.value.code == -32004, caught.value.message
    assert "cannot use the database" in caught.value.message
    assert "File too large" in caught.value.message  # what the system said
    assert "nothing was changed" in caught.value.message


def entries_of(d: Daemon, pack_id: str) -> int:
    status = d.request("d5e/status", {}, timeout=20)
    return sum(p["entries"] for p in status["packs"] if p["id"] == pack_id)


@pytest.mark.slow
def test_a_daemon_whose_disk_fills_up_refuses_installs_and_goes_on(
    db_path: Path, tmp_path: Path
) -> None:
    v1, v2 = big_pack(tmp_path, 1), big_pack(tmp_path, 2, count=1800)
    with Daemon(db_path) as d:
        d.initialize()
        assert d.request("d5e/packs/install", {"path": str(v1)}, timeout=60)["entries"] == 1500
        try:
            limit_file_size(d.proc.pid, 2**20)  # the WAL may not grow past 1 MiB
            refused_for_a_full_disk(d, v2)  # an upgrade: the old version stays, whole
            assert entries_of(d, "big") == 1500
            entry = d.request("d5e/lookup", {"ref": "spells/big-0001"}, timeout=20)["entry"]
            assert entry["data"]["desc"].startswith("v1 ")

            limit_file_size(d.proc.pid, None)
            d.request("d5e/packs/remove", {"pack": "big"}, timeout=60)
            limit_file_size(d.proc.pid, 2**20)
            refused_for_a_full_disk(d, v1)  # a fresh install: nothing of it
            assert entries_of(d, "big") == 0
            fireball = d.request("d5e/lookup", {"ref": "spells/fireball"}, timeout=20)
            assert fireball["entry"]["name"] == "Fireball"
        finally:
            limit_file_size(d.proc.pid, None)
        assert d.request("d5e/packs/install", {"path": str(v2)}, timeout=60)["entries"] == 1800
        assert d.proc.poll() is None
