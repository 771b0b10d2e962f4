"""Read-only service (issue 12): when d5e cannot write its database (the file or its folder
read-only, the disk full at start, writes failing later) the daemon still answers lookups,
search and completion, says so in `d5e/status`, and refuses every change with -32004 in plain
words. Each is a real daemon over stdio; the disk is "full" by its file size limit
(RLIMIT_FSIZE, what a full quota looks like to it), a folder read-only by its permissions or,
for root, by a read-only bind mount in a mount namespace of the daemon's own."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import apsw
import pytest

from d5e_daemon.client import Daemon, RpcError

from .fixtures import built_once, private_copy
from .forks import FORKS, _forks_end  # noqa: F401 (_forks_end: the servers end with each test)
from .packtools import write_pack
from .test_limits import big_pack, limit_file_size


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="session")
def used_template(srd_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The database as a daemon leaves it: keyword texts and filter attributes made. Made once
    by a real daemon (each test made its own: a daemon's start and a first search, ~3 s of CPU
    a test); never written (tests copy it)."""
    home = tmp_path_factory.mktemp("used-home")  # the session's: no test's D5E_HOME yet
    env = {
        "D5E_HOME": str(home / "d5e-home"),
        "XDG_DATA_HOME": str(home / "xdg-data"),
        "XDG_CACHE_HOME": str(home / "xdg-cache"),
        "D5E_EMBEDDER": "fake",
    }

    def make(path: Path) -> None:
        shutil.copy(srd_template, path)
        with Daemon(path, env=env) as d:
            d.initialize(initialized=False)  # no background indexing
            d.request("d5e/search", {"query": "fireball", "mode": "keyword"})  # makes them
        assert os.listdir(path.parent) == [path.name]  # nothing left beside it (no WAL)

    return built_once(tmp_path_factory, "used", make)


@pytest.fixture
def used(used_template: Path, tmp_path: Path) -> Path:
    """A private copy of `used_template`."""
    return private_copy(used_template, tmp_path)


def serves_reads(d: Daemon) -> None:
    """Lookups, completion and keyword search answer from what the database holds."""
    assert d.request("d5e/lookup", {"ref": "spells/fireball"})["entry"]["name"] == "Fireball"
    items = d.request("d5e/complete", {"prefix": "firebal", "limit": 5})["items"]
    assert "spells/fireball" in [i["ref"] for i in items]
    hits = d.request("d5e/search", {"query": "fireball", "mode": "keyword"})["hits"]
    assert hits and hits[0]["ref"] == "spells/fireball"


def refuses_changes(d: Daemon, tmp_path: Path) -> list[str]:
    """Every kind of change is -32004 saying nothing was changed; returns the refusals, each
    with the read-only reason it quotes cut out: what they say must be their own words (the
    reason, a storage error's, may hold the same ones: "nothing was changed", "restart d5e")."""
    reason = read_only_reason(d)
    pack = write_pack(tmp_path / "brew", {"spells/zap.json": '{"name": "Zap"}'})
    refusals = []
    for method, params in [
        ("d5e/packs/disable", {"pack": "srd-2024"}),
        ("d5e/packs/setPriority", {"pack": "srd-2014", "priority": 70}),
        ("d5e/packs/install", {"path": str(pack)}),
        ("d5e/packs/remove", {"pack": "srd-2014"}),
    ]:
        with pytest.raises(RpcError) as refused:
            d.request(method, params, timeout=60)
        message = refused.value.message
        assert refused.value.code == -32004, (method, message)
        assert f"({reason})" in message, (method, message)
        own = message.replace(f"({reason})", "(…)")
        assert "serves it read-only (…); nothing was changed" in own, (method, own)
        refusals.append(own)
    assert d.request("d5e/lookup", {"ref": "spells/fireball"})["entry"]["pack"] == "srd-2014"
    return refusals


def read_only_warning(d: Daemon) -> str:
    (warning,) = [w for w in d.request("d5e/status")["warnings"] if w.startswith("read-only:")]
    return warning


def read_only_reason(d: Daemon) -> str:
    """Why the daemon serves its database read-only, as its warning says it."""
    warning = read_only_warning(d)
    reason, said, _ = warning.removeprefix("read-only: ").partition(". d5e answers lookups")
    assert said, warning
    return reason


def read_only_folder(folder: Path) -> list[str]:
    """What makes `folder` read-only for a daemon: its permissions for a user who obeys them;
    for root, a private mount namespace with the folder bound read-only (else: skip)."""
    if os.geteuid() != 0:
        for item in folder.iterdir():
            item.chmod(0o444)
        folder.chmod(0o555)
        return []
    script = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"'
    wrapper = ["unshare", "-m", "--propagation", "private", "sh", "-c", script, str(folder)]
    if shutil.which("unshare") is None or subprocess.run([*wrapper, "true"]).returncode != 0:
        pytest.skip("root without a way to make a folder read-only (no mount namespace)")
    return wrapper


def test_a_database_in_a_read_only_folder_is_served(used: Path, tmp_path: Path) -> None:
    """Before: initialize answered -32004 and the daemon served nothing."""
    before = digest(used)
    wrapper = read_only_folder(used.parent)
    try:
        with Daemon(used, wrapper=wrapper) as d:
            d.initialize()
            serves_reads(d)
            warning = read_only_warning(d)
            assert str(used) in warning and "answers lookups, search and completion" in warning
            for refusal in refuses_changes(d, tmp_path):
                assert "restart d5e" in refusal
    finally:
        used.parent.chmod(0o755)
    assert digest(used) == before


def test_a_full_disk_at_start(used: Path, tmp_path: Path) -> None:
    """Not even the WAL index (32 KiB) fits: the database is read as it is; once there is room
    the next start writes again."""
    with Daemon(used) as d:
        limit_file_size(d.proc.pid, 16 * 1024)  # before initialize opens the database
        d.initialize()
        serves_reads(d)
        assert "cannot use the database" in read_only_warning(d)
        refuses_changes(d, tmp_path)
    with Daemon(used) as d:
        d.initialize()
        assert not [w for w in d.request("d5e/status")["warnings"] if "read-only" in w]
        d.request("d5e/packs/disable", {"pack": "srd-2024"})
    conn = apsw.Connection(str(used))
    assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    conn.close()


def test_writes_of_the_start_that_fail(used: Path, tmp_path: Path) -> None:
    """The database opens, but the start's own writes (here: a 1,500-entry pack of the
    editor's `packPaths`) meet a full disk: served read-only, nothing half-installed."""
    big = big_pack(tmp_path)
    with Daemon(used) as d:
        limit_file_size(d.proc.pid, 1024 * 1024)
        d.initialize({"packPaths": [str(big)]})
        serves_reads(d)
        assert "File too large" in read_only_warning(d)
        assert "big" not in [p["id"] for p in d.request("d5e/status")["packs"]]
        refuses_changes(d, tmp_path)


def test_writes_that_fail_later_are_reported_until_one_succeeds(used: Path, tmp_path: Path) -> None:
    big = big_pack(tmp_path)
    small = write_pack(tmp_path / "small", {"spells/zap.json": '{"name": "Zap"}'})
    with Daemon(used) as d:
        d.initialize(initialized=False)  # no indexing: its writes would clear the warning
        limit_file_size(d.proc.pid, 1024 * 1024)
        with pytest.raises(RpcError) as refused:
            d.request("d5e/packs/install", {"path": str(big)}, timeout=60)
        assert refused.value.code == -32004 and "File too large" in refused.value.message
        warnings = d.request("d5e/status")["warnings"]
        assert f"the last change failed: {refused.value.message}" in warnings
        serves_reads(d)
        limit_file_size(d.proc.pid, None)
        d.request("d5e/packs/install", {"path": str(small)}, timeout=60)
        assert not [w for w in d.request("d5e/status")["warnings"] if "failed" in w]


def test_no_database_in_a_read_only_folder(tmp_path: Path) -> None:
    """Nothing to serve: -32004 naming the file, the daemon still there (it was skipped as
    root in test_faults.py: root may write anywhere, but not on a read-only mount)."""
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "notes.txt").write_text("not a database")
    path = folder / "d5e.sqlite3"
    wrapper = read_only_folder(folder)
    try:
        with Daemon(path, wrapper=wrapper) as d:
            with pytest.raises(RpcError) as refused:
                d.initialize()
            assert refused.value.code == -32004
            assert f"cannot use the database {path}" in refused.value.message
            assert d.proc.poll() is None
    finally:
        folder.chmod(0o755)
    assert not path.exists()


def test_a_workspace_profile_never_saved_reads_the_default_one(
    db_path: Path, tmp_path: Path
) -> None:
    """A campaign opened for the first time on a database d5e cannot write: its own profile
    cannot be made, so the user's default profile is read (nothing is written to it)."""
    from d5e_daemon import workspace
    from d5e_daemon.app import App
    from d5e_daemon.features.lookup import lookup
    from d5e_daemon.protocol import LookupParams
    from d5e_daemon.settings import build

    root = tmp_path / "campaign"
    root.mkdir()
    app = App(build({"db": str(db_path)}, workspace.layer(root)))
    app.db.refuse_writes("the disk is full")  # as `Database` does when it cannot write
    app.start()
    try:
        assert app.profile == "default"
        assert any(
            "is not in the database and cannot be made now" in w for w in app.library.warnings
        )
        assert lookup(app, LookupParams(ref="spells/fireball")).entry.name == "Fireball"
        assert app.conn.execute("SELECT name FROM profile").fetchall() == [("default",)]
    finally:
        app.close()


def told(d: Daemon, words: str) -> bool:
    """Whether the client was shown a message holding `words`."""
    return any(
        words in m["params"]["message"]
        for m in d.received
        if m.get("method") == "window/showMessage"
    )


def test_a_read_only_service_writes_again_once_it_can(used: Path, tmp_path: Path) -> None:
    """Before: read-only service lasted until a restart. Now the daemon looks again (after 1 s,
    then less and less often), and leaves it: the warning goes, the client is told, changes
    are made and read back (the connection read immutable is opened again)."""
    with Daemon(used) as d:
        limit_file_size(d.proc.pid, 16 * 1024)  # before initialize opens the database
        d.initialize()
        assert "cannot use the database" in read_only_warning(d)
        refuses_changes(d, tmp_path)
        limit_file_size(d.proc.pid, None)  # space again
        deadline = time.monotonic() + 60
        while [w for w in d.request("d5e/status")["warnings"] if w.startswith("read-only:")]:
            assert time.monotonic() < deadline, "still read-only a minute after"
            time.sleep(0.2)
        assert told(d, "the database can be written again")
        d.request("d5e/packs/disable", {"pack": "srd-2024"})
        packs = {p["id"]: p for p in d.request("d5e/status")["packs"]}
        assert packs["srd-2024"]["enabled"] is False
        serves_reads(d)
    conn = apsw.Connection(str(used))
    assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    conn.close()


def test_the_writes_of_the_start_are_made_once_it_can(used: Path, tmp_path: Path) -> None:
    """The first writes of the start failed (the disk full for a 1,500-entry pack of the
    settings); once there is room, the start's writes are made (the pack installed: by the
    next look, or the next change asked for, whichever comes first), and the change."""
    big = big_pack(tmp_path)
    with Daemon(used) as d:
        limit_file_size(d.proc.pid, 1024 * 1024)
        d.initialize({"packPaths": [str(big)]})
        assert "File too large" in read_only_warning(d)
        limit_file_size(d.proc.pid, None)
        time.sleep(1.1)  # at most one look a second
        d.request("d5e/packs/setPriority", {"pack": "srd-2014", "priority": 70}, timeout=120)
        status = d.request("d5e/status")
        assert not [w for w in status["warnings"] if w.startswith("read-only:")]
        assert "big" in [p["id"] for p in status["packs"]]
        assert told(d, "the database can be written again")


def cli(db: Path, *args: str, wrapper: Sequence[str] = ()) -> subprocess.CompletedProcess[str]:
    """`d5e ARGS --db DB`: a process forked from one that imported d5e (tests/forks.py), or a
    process of its own under `wrapper`."""
    if not wrapper:
        return FORKS.d5e(*args, "--db", str(db))
    return subprocess.run(
        [*wrapper, sys.executable, "-m", "d5e_daemon", *args, "--db", str(db)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_commands_that_read_leave_a_current_database_as_it_was(used: Path, tmp_path: Path) -> None:
    """A database that is current (migrated, its packs installed, its profile saved, its
    keyword texts made): each command that reads leaves its bytes, its mtime and its folder as
    they were."""
    page = tmp_path / "notes.md"
    page.write_text("The {@creature goblin} casts {@spell firebal}.\n")
    assert cli(used, "lookup", "fireball").returncode == 0  # a first command: nothing to do
    before = (digest(used), used.stat().st_mtime_ns, sorted(os.listdir(used.parent)))
    for args in (
        ["lookup", "fireball"],
        ["lookup", "--json", "srd-2014:monsters/goblin"],
        ["search", "fire", "--mode", "keyword"],
        ["search", "--collection", "spells", "--filter", "level=3"],
        ["complete", "fireb"],
        ["check", str(page)],
        ["filters"],
        ["encounter", "--party", "3,3,3", "4", "goblin"],
        ["statblock", "goblin"],
        ["status"],
    ):
        done = cli(used, *args)
        assert done.returncode in (0, 1), (args, done.stderr)  # check: 1, a warning
        after = (digest(used), used.stat().st_mtime_ns, sorted(os.listdir(used.parent)))
        assert after == before, args


def test_a_command_for_other_settings_than_the_saved_profile_writes_nothing(
    used: Path, tmp_path: Path
) -> None:
    """The profile is saved for edition 2014; `--edition 2024` answers from 2024 (srd-2024's
    Grappled, srd-2024 on in the status) and leaves the database as it was, bytes and mtime:
    it saved the profile anew for 2024 (its winners rewritten, and again by the next command
    or the editor's daemon of 2014)."""
    before = (digest(used), used.stat().st_mtime_ns, sorted(os.listdir(used.parent)))

    def pack_of(*args: str) -> str:
        done = cli(used, "lookup", "grappled", "--json", *args)
        assert done.returncode == 0, done.stderr
        pack: str = json.loads(done.stdout)["entry"]["pack"]
        return pack

    assert pack_of("--edition", "2024") == "srd-2024"
    status = cli(used, "status", "--json", "--edition", "2024")
    packs = {p["id"]: p["enabled"] for p in json.loads(status.stdout)["packs"]}
    assert packs == {"srd-2014": True, "srd-2024": True}
    assert (digest(used), used.stat().st_mtime_ns, sorted(os.listdir(used.parent))) == before
    assert pack_of() == "srd-2014"  # the saved profile, as it was
    conn = apsw.Connection(str(used))
    saved = conn.execute("SELECT pack_id FROM profile_pack ORDER BY pack_id").fetchall()
    conn.close()
    assert saved == [("srd-2014",)]


def test_a_profile_a_read_only_database_cannot_save_is_read_as_the_command_asks(
    used: Path, tmp_path: Path
) -> None:
    """The profile is saved for edition 2014; `--edition 2024` on a database that cannot be
    written answers from 2024, as on one that can (it said "the answers are the saved
    profile's", and answered from 2014)."""
    wrapper = read_only_folder(used.parent)
    try:
        done = cli(used, "lookup", "grappled", "--json", "--edition", "2024", wrapper=wrapper)
    finally:
        used.parent.chmod(0o755)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["entry"]["pack"] == "srd-2024"
    assert "saved for other packs" not in done.stderr


def test_a_daemon_on_a_profile_a_read_only_database_cannot_save_says_so(
    used: Path, tmp_path: Path
) -> None:
    """The profile is saved for edition 2014; a daemon set to 2024 needs it saved anew, which
    a database that cannot be written refuses: its status says the answers are the saved
    profile's (it answered from 2014 as if it were 2024, without a word). A daemon follows the
    database as other processes change it, so it reads the profile as it is stored."""
    wrapper = read_only_folder(used.parent)
    try:
        with Daemon(used, wrapper=wrapper) as d:
            d.initialize({"edition": "2024"})
            warnings = d.request("d5e/status")["warnings"]
    finally:
        used.parent.chmod(0o755)
    assert (
        "profile 'default' is saved for other packs or priorities than these settings ask "
        "(srd-2014 at 10; asked: srd-2014 at 10, srd-2024 at 20) and the database cannot be "
        "written: the answers are the saved profile's"
    ) in warnings
