"""The database: opening it safely, migrating it, backing it up, and the single writer thread.

Rules kept here:
- A file that is not SQLite, or is another application's database, is refused before anything is
  written to it (WAL mode is switched on only after the identity check).
- A database written by a newer d5e (higher `user_version`) is refused.
- Before migrating an existing database, a backup is taken with the APSW backup API and kept in
  `<db>.backups/`; `rollback()` restores the newest one.
- Every migration runs in one `BEGIN IMMEDIATE` transaction with its `migration_history` row, so two
  processes migrating at once apply each step exactly once.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import functools
import hashlib
import json
import logging
import os
import re
import threading
import weakref
from collections.abc import Callable, Hashable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Generic, TypeVar, cast
from urllib.parse import quote

import apsw

from . import names, text
from .errors import DatabaseError, StorageError

log = logging.getLogger(__name__)

APPLICATION_ID = 0x64356531  # "d5e1"
BUSY_TIMEOUT_MS = 30_000
T = TypeVar("T")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


SCHEMA = Path(__file__).with_name("schema")
"""The migrations' folder (read as files: `importlib.resources` would cost a start ~8 ms)."""


def migrations() -> list[Migration]:
    """The migrations shipped in `d5e_daemon/schema/NNNN_name.sql`, in order."""
    return list(_shipped())


@functools.cache
def _shipped() -> tuple[Migration, ...]:
    """The schema folder, read once a process (every connection asks: 3 x 17 files a start)."""
    found = []
    for item in SCHEMA.iterdir():
        m = re.fullmatch(r"(\d{4})_(\w+)\.sql", item.name)
        if m:
            found.append(Migration(int(m[1]), m[2], item.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    if [m.version for m in found] != list(range(1, len(found) + 1)):
        raise RuntimeError("migrations must be numbered 0001, 0002, … without gaps")
    return tuple(found)


def latest_version() -> int:
    return len(migrations())


def _uri(path: Path, mode: str) -> str:
    return f"file:{quote(str(path))}?mode={mode}"


# SQL functions used by inserts (set-wise copies included) and migrations; pure and deterministic.
_SQL_FUNCTIONS: dict[str, tuple[Callable[..., str], int]] = {
    "d5e_norm": (text.normalize, 1),
    "d5e_hash": (text.content_hash, 1),
    "d5e_fallback_name": (text.fallback_name, 2),
    "d5e_inverted": (names.inverted_json, 2),
}


def _fts_totals(api: apsw.FTS5ExtensionApi, *args: Any) -> str:
    """FTS5 auxiliary function: `[rows, tokens]` of the table, the figures its bm25 reads
    (`search/retrieval.py` scores a few rows by them)."""
    return json.dumps([api.row_count, api.column_total_size(-1)])


def _register_functions(conn: apsw.Connection) -> None:
    for name, (fn, nargs) in _SQL_FUNCTIONS.items():
        conn.create_scalar_function(name, cast(Any, fn), nargs, deterministic=True)
    conn.register_fts5_function("d5e_fts_totals", _fts_totals)


def _load_vec(conn: apsw.Connection) -> None:
    # sqlite-vec's Python module imports numpy at import time; find the library without it.
    import importlib.util

    spec = importlib.util.find_spec("sqlite_vec")
    if spec is None or not spec.submodule_search_locations:
        raise DatabaseError("sqlite-vec is not installed")
    conn.enable_load_extension(True)
    conn.load_extension(os.path.join(next(iter(spec.submodule_search_locations)), "vec0"))
    conn.enable_load_extension(False)


def _check_identity(conn: apsw.Connection, path: Path) -> int:
    """Return the schema version; refuse foreign, corrupt or too-new files. Writes nothing."""
    try:
        # One statement, one snapshot: another process may be creating the schema right now.
        app_id, version, tables = conn.execute(
            "SELECT (SELECT application_id FROM pragma_application_id()),"
            " (SELECT user_version FROM pragma_user_version()),"
            " (SELECT count(*) FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%')"
        ).fetchone()  # type: ignore[misc]
    except (apsw.NotADBError, apsw.CorruptError) as exc:
        raise DatabaseError(f"{path} is not a SQLite database (or is corrupt): {exc}") from exc
    if app_id not in (0, APPLICATION_ID) or (app_id == 0 and tables):
        raise DatabaseError(
            f"{path} is a SQLite database of another application "
            f"(application_id {app_id:#x}, {tables} tables); d5e will not touch it"
        )
    if version > latest_version():
        raise DatabaseError(
            f"{path} was written by a newer d5e (schema version {version}, this d5e knows "
            f"{latest_version()}); upgrade d5e or use another --db"
        )
    return int(version)


def connect(
    path: Path, *, readonly: bool = False, migrate_now: bool = True, immutable: bool = False
) -> apsw.Connection:
    """Open (and by default create and migrate) the database at `path`. What the disk or the
    file refuses (a folder at the path, no permission, a full disk) is a DatabaseError that
    says so. `immutable` (read-only only): no lock and no WAL index, for a database in a
    folder d5e cannot write whose WAL is gone (SQLite deletes it at a clean close)."""
    if path.is_dir():
        raise DatabaseError(
            f"cannot use the database {path}: it is a folder, not a file; give another --db "
            "(or D5E_HOME)"
        )
    try:
        return _connect(path, readonly=readonly, migrate_now=migrate_now, immutable=immutable)
    except apsw.Error as exc:
        error = storage_error(exc, path, "; nothing was changed")
        if error is None:
            raise
        raise error from exc


def _connect(
    path: Path, *, readonly: bool, migrate_now: bool, immutable: bool = False
) -> apsw.Connection:
    if readonly:
        if not path.exists():
            raise DatabaseError(f"there is no database at {path}")
        flags = apsw.SQLITE_OPEN_READONLY | apsw.SQLITE_OPEN_URI
        uri = _uri(path, "ro") + ("&immutable=1" if immutable else "")
        conn = apsw.Connection(uri, flags=flags)
    else:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # a read-only home, a full disk, a file where a folder goes
            raise DatabaseError(
                f"cannot create the folder of the database {path}: {exc.strerror or exc}; "
                "give a database where you can write (--db FILE, D5E_HOME or XDG_DATA_HOME)"
            ) from exc
        flags = apsw.SQLITE_OPEN_READWRITE | apsw.SQLITE_OPEN_CREATE | apsw.SQLITE_OPEN_URI
        conn = apsw.Connection(_uri(path, "rwc"), flags=flags)
    conn.set_busy_timeout(BUSY_TIMEOUT_MS)
    try:
        _check_identity(conn, path)
    except DatabaseError:
        conn.close()
        raise
    if not readonly:
        conn.pragma("journal_mode", "wal")
        conn.pragma("synchronous", "normal")
    conn.pragma("foreign_keys", True)
    # No memory map: pages read through it count in the daemon's RSS (138 MB idle with 100,000
    # entries, against 18 MB without, at the same speed: bench/scale.py --db), and a database
    # file cut shorter by another program made the next read fault (SIGBUS) instead of failing.
    conn.pragma("mmap_size", 0)
    conn.pragma("cache_size", -8192)  # KiB: 8 MiB of pages per connection
    conn.config(apsw.SQLITE_DBCONFIG_DQS_DML, 0)
    conn.config(apsw.SQLITE_DBCONFIG_DQS_DDL, 0)
    _register_functions(conn)
    _load_vec(conn)
    if migrate_now and not readonly:
        migrate(conn, path)
    return conn


def shrink_memory(conn: apsw.Connection) -> None:
    """Free the connection's page cache (up to the 8 MiB above, kept until it closes otherwise):
    after an install, before the embedding model loads, so that the two do not add up."""
    conn.pragma("shrink_memory")


@contextlib.contextmanager
def transaction(conn: apsw.Connection) -> Iterator[apsw.Connection]:
    """`BEGIN IMMEDIATE` … `COMMIT`, rolled back on any exception (nothing half-written).

    A failed COMMIT (disk full) is rolled back too, so the connection is never left inside a
    transaction; and where SQLite has already rolled back by itself (SQLITE_FULL, SQLITE_IOERR
    mid-statement), no second ROLLBACK hides the error that caused it.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


# What the disk or the file did, in words; anything else from SQLite is a bug of ours.
_STORAGE_ERRORS: tuple[tuple[type[apsw.Error], str], ...] = (
    (apsw.FullError, "the disk is full (or the database reached its size limit)"),
    (apsw.ReadOnlyError, "the database file is read-only"),
    (apsw.PermissionsError, "no permission to use the database file"),
    (apsw.CantOpenError, "the database file cannot be opened"),
    (apsw.IOError, "a disk I/O error"),
    (apsw.CorruptError, "the database file is damaged (`PRAGMA integrity_check` tells where)"),
    (apsw.NotADBError, "the file is not a SQLite database (or is damaged)"),
    (apsw.BusyError, f"another process kept the database locked for {BUSY_TIMEOUT_MS // 1000} s"),
    (apsw.LockedError, "the database is locked"),
)


# What stops writes but may let d5e read: the database is then served read-only.
_UNWRITABLE = (
    apsw.FullError,
    apsw.ReadOnlyError,
    apsw.PermissionsError,
    apsw.CantOpenError,
    apsw.IOError,
)


def storage_error(
    exc: BaseException,
    path: Path | None = None,
    outcome: str = "",
    conn: apsw.Connection | None = None,
) -> StorageError | None:
    """A clear `DatabaseError` for what the disk or the file did (disk full, I/O error, damage,
    locked), with the system's word for it when `conn` knows it ("File too large"), ending with
    `outcome`; None for any other error (a bug, reported as such)."""
    what = next((what for kind, what in _STORAGE_ERRORS if isinstance(exc, kind)), None)
    if what is None:
        return None
    where = f" {path}" if path is not None else ""
    errno = conn.system_errno if conn is not None else 0
    detail = f"{exc}: {os.strerror(errno)}" if errno else str(exc)
    unwritable = isinstance(exc, _UNWRITABLE)
    message = f"cannot use the database{where}: {what} ({detail}){outcome}"
    return StorageError(message, unwritable=unwritable)


# -- migrations -----------------------------------------------------------------------------


def _history(conn: apsw.Connection) -> dict[int, tuple[str, str]]:
    exists = conn.execute(
        "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'migration_history'"
    ).fetchone()
    if not exists:
        return {}
    return {
        v: (name, checksum)
        for v, name, checksum in conn.execute(
            "SELECT version, name, checksum FROM migration_history"
        )
    }


def pending(conn: apsw.Connection) -> list[Migration]:
    """Migrations not yet applied; refuses a history whose applied scripts were edited since."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]  # type: ignore[index]
    history = _history(conn)
    for m in migrations():
        if m.version in history and history[m.version][1] != m.checksum:
            raise DatabaseError(
                f"migration {m.version:04d}_{m.name} differs from the one applied to this "
                "database (checksum mismatch): it was made by another build of d5e; refusing "
                "to continue. Keep it aside and start a new one (move the file, or give "
                "--db another path): d5e installs the SRD packs again by itself"
            )
    return [m for m in migrations() if m.version > version]


def backups_dir(path: Path) -> Path:
    return path.with_name(path.name + ".backups")


def backup(path: Path, label: str) -> Path:
    """Copy the database (consistently, with the backup API) into `<db>.backups/`.

    It reads through a connection of its own, so it may run while the caller holds the write
    lock (WAL readers are never blocked) and sees the last committed state. The copy is made
    under a `.partial` name and renamed when complete, so a process killed meanwhile never
    leaves a truncated file that `rollback` would take for a backup; partial files left by such
    a kill are deleted here (the caller holds the write lock: nobody else is making one).
    """
    folder = backups_dir(path)
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.partial*"):
        stale.unlink(missing_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    target = folder / f"{stamp}-{label}.sqlite3"
    partial = target.with_suffix(".partial")
    source = apsw.Connection(
        _uri(path, "ro"), flags=apsw.SQLITE_OPEN_READONLY | apsw.SQLITE_OPEN_URI
    )
    dest = apsw.Connection(str(partial))
    try:
        with dest.backup("main", source, "main") as b:
            b.step()
    finally:
        dest.close()
        source.close()
    with open(partial, "rb") as f:
        os.fsync(f.fileno())  # on disk before its name says it is complete
    partial.replace(target)
    return target


_CREATE_HISTORY = """
CREATE TABLE IF NOT EXISTS migration_history (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    checksum   TEXT NOT NULL,
    applied_at TEXT NOT NULL
) STRICT
"""


def migrate(conn: apsw.Connection, path: Path) -> list[str]:
    """Apply pending migrations; return one line per thing done (backup, each migration)."""
    if not pending(conn):
        return []
    done: list[str] = []
    with transaction(conn):
        todo = pending(conn)  # again, under the write lock: another process may have won
        if not todo:
            return []
        current = conn.execute("PRAGMA user_version").fetchone()[0]  # type: ignore[index]
        if current > 0:
            saved = backup(path, f"before-v{todo[-1].version}")
            done.append(f"backed up schema v{current} to {saved}")
        conn.execute(_CREATE_HISTORY)
        for m in todo:
            conn.execute(m.sql)
            conn.execute(
                "INSERT INTO migration_history (version, name, checksum, applied_at) "
                "VALUES (?, ?, ?, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))",
                (m.version, m.name, m.checksum),
            )
            conn.pragma("user_version", m.version)
            done.append(f"applied {m.version:04d}_{m.name}")
        conn.pragma("application_id", APPLICATION_ID)
    for line in done:
        log.info("%s: %s", path, line)
    return done


def check(path: Path) -> tuple[int, list[Migration]]:
    """(current version, pending migrations) without changing anything, not even creating."""
    if not path.exists():
        return 0, migrations()
    conn = apsw.Connection(_uri(path, "ro"), flags=apsw.SQLITE_OPEN_READONLY | apsw.SQLITE_OPEN_URI)
    try:
        version = _check_identity(conn, path)
        return version, pending(conn)
    finally:
        conn.close()


def _check_backup(conn: apsw.Connection, path: Path) -> None:
    """Refuse to restore a file that is not a whole d5e database (it would replace the user's
    database with less than it had)."""
    try:
        version = _check_identity(conn, path)
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]  # type: ignore[index]
        damaged = conn.execute("PRAGMA quick_check").fetchone() != ("ok",)
    except apsw.Error as exc:
        raise DatabaseError(f"backup {path} cannot be read ({exc}); nothing was restored") from exc
    if version == 0 or app_id != APPLICATION_ID or damaged:
        raise DatabaseError(
            f"backup {path} is not a complete d5e database (empty, cut short or damaged); "
            "nothing was restored"
        )


def rollback(path: Path) -> str:
    """Restore the newest pre-migration backup over the database; return what was done."""
    folder = backups_dir(path)
    saved = sorted(folder.glob("*.sqlite3")) if folder.is_dir() else []
    if not saved:
        raise DatabaseError(f"no backup to roll back to in {folder}")
    newest = saved[-1]
    source = apsw.Connection(
        _uri(newest, "ro"), flags=apsw.SQLITE_OPEN_READONLY | apsw.SQLITE_OPEN_URI
    )
    try:
        _check_backup(source, newest)
    except BaseException:
        source.close()
        raise
    conn = connect(path, migrate_now=False)
    try:
        with conn.backup("main", source, "main") as b:
            b.step()
        version = conn.execute("PRAGMA user_version").fetchone()[0]  # type: ignore[index]
    finally:
        source.close()
        conn.close()
    newest.rename(newest.with_suffix(".restored"))
    return f"restored {newest.name} (schema v{version}) over {path}"


@contextlib.contextmanager
def file_lock(lock: IO[Any], wait: bool = True) -> Iterator[bool]:
    """Hold an exclusive `flock` on the open file `lock` through the block: True; False at once
    when another process holds it and not `wait`. The kernel lets go of the lock of a process
    that dies, so a crash blocks nobody."""
    try:
        fcntl.flock(lock, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        yield False
        return
    try:
        yield True
    finally:
        fcntl.flock(lock, fcntl.LOCK_UN)


class UntilChanged(Generic[T]):
    """Values read from the database, remembered for each owner (an `App`, a passage index:
    held weakly) and key until the owner's stamp moves (`queries.stamp`: any commit of another
    connection, or another connection read through). A new stamp forgets all the owner's
    values at once."""

    def __init__(self) -> None:
        self._held: weakref.WeakKeyDictionary[Any, tuple[object, dict[Hashable, T]]] = (
            weakref.WeakKeyDictionary()
        )

    def get(self, owner: object, stamp: object, key: Hashable, read: Callable[[], T]) -> T:
        """The value of `key` for `owner` read at `stamp`: remembered, or `read()` now."""
        held = self._held.get(owner)
        if held is None or held[0] != stamp:
            held = self._held[owner] = (stamp, {})
        values = held[1]
        if key not in values:
            values[key] = read()
        return values[key]

    def forget(self, owner: object) -> None:
        """Forget the owner's values now: what they depend on changed without a commit the
        stamp sees (another database file, a setting)."""
        self._held.pop(owner, None)


# -- the database as the daemon holds it ------------------------------------------------------


@dataclass(frozen=True)
class _Seen:
    """A connection's `PRAGMA data_version` as its last read transaction began."""

    conn: apsw.Connection
    version: int


@dataclass
class _Snapshot:
    """`Database.snapshot`'s block: the other connections' `_Seen` before it began, and the
    connection that reads vectors in it (once asked for)."""

    reader_seen: _Seen | None
    vectors_seen: _Seen | None
    vectors: apsw.Connection | None = None


def _begin_at(conn: apsw.Connection, seen: _Seen | None) -> tuple[bool, _Seen]:
    """Begin a read transaction on `conn`; whether it sees what it saw when `seen` was taken
    (nothing committed since), and what it sees now. When not, the transaction is ended."""
    conn.execute("BEGIN")
    row = conn.execute("PRAGMA data_version").fetchone()  # a read: the transaction starts here
    now = _Seen(conn, int(row[0]) if row else 0)
    if now == seen:
        return True, now
    _end_read(conn)
    return False, now


def _end_read(conn: apsw.Connection) -> None:
    if conn.in_transaction:
        conn.execute("COMMIT")


class Database:
    """A read connection for the calling thread, one owner thread for every write, and one
    reader thread for a query run beside the caller's.

    Readers never wait for writers (WAL); writes are serialised on the owner thread, so a long
    pack install never blocks lookups. In the CLI the same calls simply wait for their result.
    Each thread has its own connection: one connection runs one statement at a time.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.read_only: str | None = None
        """Why writes are refused (the database could not be written when opened, or at
        start), or None. Reads go on."""
        self.write_failure: str | None = None
        """What the last write met (the disk full, the file read-only…), until one succeeds."""
        self._readonly: dict[str, bool] = {}
        try:
            self.conn = connect(path)
        except StorageError as exc:
            self.conn = self._open_read_only(exc)
        self._files = self._identity()
        self._local = threading.local()
        self._opened: list[apsw.Connection] = []
        self._vectors: apsw.Connection | None = None
        self._overlay: Callable[[apsw.Connection], None] | None = None
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="d5e-db-writer")
        self._reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="d5e-db-reader")
        self._reader_seen: _Seen | None = None
        self._vectors_seen: _Seen | None = None
        self._snapshot: _Snapshot | None = None

    def _open_read_only(self, refused: StorageError) -> apsw.Connection:
        """The database opened for reading only, when it cannot be opened for writing (the
        file or its folder read-only, the disk too full for the WAL index): d5e serves what
        it holds. Not when it needs a migration, or is not there at all."""
        if not refused.unwritable or not self.path.is_file():
            raise refused
        # Without a WAL index (the -shm cannot be made) only an immutable read works; safe
        # when the WAL holds no frames (a clean close, or the attempt to open it just now).
        wal = Path(f"{self.path}-wal")
        unwritten = not wal.exists() or wal.stat().st_size == 0
        options: list[dict[str, bool]] = [{"readonly": True}]
        if unwritten:
            options.append({"readonly": True, "immutable": True})
        for option in options:
            try:
                conn = connect(self.path, **option)
            except DatabaseError:
                continue
            try:
                if pending(conn):
                    raise DatabaseError(
                        f"{refused.message}; the database needs a migration, which cannot be "
                        "written: free some space or make it writable"
                    ) from refused
            except BaseException:
                conn.close()
                raise
            self._readonly = option
            self.read_only = refused.message
            log.warning("%s: serving it read-only", refused.message)
            return conn
        raise refused

    def overlay(self, fn: Callable[[apsw.Connection], None]) -> None:
        """`fn(conn)` on each connection that reads (the calling thread's, the reader
        thread's, the vectors'), now and when one is opened again: temporary objects that
        shadow the database's on them (`queries.overlay_profile`). The writer's is left as it
        is; a connection opened for writing again (`writable_again`) reads the database."""
        self._overlay = fn
        with self.conn:
            fn(self.conn)
        self._reader.submit(self._forget_thread_conn).result()
        if self._vectors is not None:
            self._vectors.close()
            self._vectors = None

    def _overlaid(self, conn: apsw.Connection) -> apsw.Connection:
        if self._overlay is not None:
            with conn:
                self._overlay(conn)
        return conn

    def refuse_writes(self, reason: str) -> None:
        """From now on every write is refused with `reason` (reads go on)."""
        self.read_only = reason

    def writable_again(self) -> bool:
        """Whether the database of a read-only service can be opened for writing now (space
        freed, the folder writable again). If so every connection is opened again as a
        writing one (one opened immutable would never see a change); `read_only` stays set:
        the caller makes the writes of a start (`App.recover`) and clears it. Call from the
        thread that owns `conn` (the event loop's)."""
        if not self._writer.submit(self._reopen_writer).result():
            return False
        self._overlay = None
        old, self.conn = self.conn, connect(self.path, migrate_now=False)
        old.close()
        if self._vectors is not None:
            self._vectors.close()
            self._vectors = None
        self._reader.submit(self._forget_thread_conn).result()
        self._files = self._identity()
        return True

    def _reopen_writer(self) -> bool:
        """On the writer thread: its connection opened for writing, if the file allows it."""
        try:
            conn = connect(self.path)
        except DatabaseError:
            return False
        self._forget_thread_conn()
        self._readonly = {}
        self._local.conn = conn
        self._opened.append(conn)
        return True

    def _forget_thread_conn(self) -> None:
        """Close the calling thread's connection; its next query opens one as `_readonly` says."""
        conn: apsw.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            self._local.conn = None
            self._opened.remove(conn)
            conn.close()

    def _thread_conn(self, reads: bool = False) -> apsw.Connection:
        """The calling thread's connection (`reads`: the reader thread's, `overlay`'s too)."""
        conn: apsw.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = connect(self.path, migrate_now=False, **self._readonly)
            self._opened.append(conn)
            if reads:
                self._overlaid(conn)
        return conn

    @property
    def vectors(self) -> apsw.Connection:
        """A second connection of the thread that owns `conn`, with a small page cache, for
        reading passages' vectors by id (the semantic half's exact scores at scale): a query's
        ~1,200 random leaf pages would otherwise push every other page out of `conn`'s cache
        (the calling thread's CPU a search at SRD + 100,000: 36.1 -> 33.7 ms). Inside
        `snapshot`, it reads what `conn` reads (or is `conn`, when it cannot be shown to)."""
        if self._vectors is None:
            self._vectors = connect(self.path, migrate_now=False, **self._readonly)
            self._vectors.pragma("cache_size", -VECTOR_CACHE_KB)
            self._overlaid(self._vectors)
        taken = self._snapshot
        if taken is None:
            return self._vectors
        if taken.vectors is None:
            begun, self._vectors_seen = _begin_at(self._vectors, taken.vectors_seen)
            taken.vectors = self._vectors if begun else self.conn
        return taken.vectors

    @contextlib.contextmanager
    def snapshot(
        self,
        begin: Callable[[apsw.Connection], contextlib.AbstractContextManager[None]],
        beside: bool = False,
    ) -> Iterator[None]:
        """The block's reads as of one moment, on every connection it reads through: `conn`'s
        in one read transaction (`begin(conn)`: `queries.snapshot`), and those of `vectors` and
        of `read_beside` on the reader thread in a read transaction of their own that sees the
        same database, or else read through `conn` (a search's halves on two connections saw
        a pack half installed, or ids another install had given to other entries).

        SQLite cannot open a transaction at another connection's snapshot (its snapshot API is
        not built in), and `PRAGMA data_version` of one connection is no measure of another's;
        but two readings of one connection's `data_version` are equal only when nothing was
        committed between them. So each other connection remembers its `data_version` as its
        last transaction began (`_Seen`), the block takes those values before `conn`'s
        transaction begins, and an other connection's new transaction reads as `conn`'s when
        its `data_version` is still the one taken: nothing was committed from before `conn`'s
        transaction began to after its own did. Else (something was committed since that
        connection last read, even long before) its reads go through `conn` this time: slower
        (on one core), never torn; and the next block finds its value current. `beside`: the
        block reads beside; a reader thread that has not read yet reads first (a first search
        would have read on one core)."""
        if self._snapshot is not None:  # nested: the outer block's snapshot
            yield
            return
        if beside and self._reader_seen is None:
            self._reader.submit(self._reader_reads).result()
        taken = _Snapshot(self._reader_seen, self._vectors_seen)  # before `conn`'s begins
        try:
            with begin(self.conn):
                self._snapshot = taken
                yield
        finally:
            self._snapshot = None
            if taken.vectors is not None and taken.vectors is not self.conn:
                _end_read(taken.vectors)

    def read_beside(self, fn: Callable[[apsw.Connection], T]) -> Callable[[], T]:
        """Run `fn(conn)` on the reader thread, with its own connection, while the caller goes
        on with its own queries (SQLite works without Python's lock, so the two use both
        cores): hybrid search's keyword half. Returns what collects its result. Inside
        `snapshot`, `fn` reads what the caller's `conn` reads: on the reader thread when its
        read transaction can be shown to see the same database, else on `conn`, when the
        result is collected."""
        taken = self._snapshot
        if taken is None:
            return self._reader.submit(lambda: fn(self._thread_conn(reads=True))).result
        pending = self._reader.submit(self._read_at, fn, taken.reader_seen)

        def result() -> T:
            done = pending.result()
            return fn(self.conn) if done is None else done[0]

        return result

    def _reader_reads(self) -> None:
        """On the reader thread: what its connection sees now (`snapshot`)."""
        _, self._reader_seen = _begin_at(self._thread_conn(reads=True), None)

    def _read_at(self, fn: Callable[[apsw.Connection], T], seen: _Seen | None) -> tuple[T] | None:
        """On the reader thread: `(fn(conn),)` in a read transaction seeing what the caller's
        snapshot sees (`snapshot`), or None when that cannot be shown."""
        conn = self._thread_conn(reads=True)
        begun, self._reader_seen = _begin_at(conn, seen)
        if not begun:
            return None
        try:
            return (fn(conn),)
        finally:
            _end_read(conn)

    def submit(self, fn: Callable[[apsw.Connection], T]) -> Future[T]:
        """Run `fn(conn)` on the writer thread; `fn` opens its own transaction(s). What the disk
        or the file refuses (disk full, I/O error) comes back as a `DatabaseError` saying so;
        the transaction that met it was rolled back."""
        return self._writer.submit(self._run, fn)

    def _identity(self) -> dict[str, tuple[int, int]]:
        """Device and inode of the database file and its WAL, as they are now."""
        found = {}
        for name in (str(self.path), f"{self.path}-wal"):
            try:
                st = os.stat(name)
            except OSError:
                continue
            found[name] = (st.st_dev, st.st_ino)
        return found

    def check_files(self) -> None:
        """Refuse to write when the database file or its WAL was deleted or replaced under the
        daemon: SQLite would go on writing into the unlinked file, and every write acknowledged
        from then on would be lost. (The WAL is known once it exists: SQLite keeps it while any
        connection is open.)"""
        now = self._identity()
        for name, ids in self._files.items():
            if now.get(name) != ids:
                what = "deleted" if name not in now else "replaced"
                raise StorageError(
                    f"cannot use the database {self.path}: {name} was {what} while d5e was "
                    "running; nothing was changed (a write now would be lost): restart d5e",
                    unwritable=True,
                )
        self._files = {**now, **self._files}

    def _run(self, fn: Callable[[apsw.Connection], T]) -> T:
        if self.read_only is not None:
            raise StorageError(
                f"d5e cannot change its database now and serves it read-only ({self.read_only}); "
                "nothing was changed. Lookups, search and completion go on; d5e writes again as "
                "soon as the database can be written (or restart d5e then)",
                unwritable=True,
            )
        conn = None
        try:
            self.check_files()
            conn = self._thread_conn()
            result = fn(conn)
        except StorageError as exc:
            self.write_failure = exc.message
            raise
        except apsw.Error as exc:
            error = storage_error(exc, self.path, "; nothing was changed", conn)
            if error is None:
                raise
            self.write_failure = error.message
            raise error from exc
        self.write_failure = None
        return result

    def write(self, fn: Callable[[apsw.Connection], T]) -> T:
        return self.submit(fn).result()

    def close(self) -> None:
        self._writer.shutdown()
        self._reader.shutdown()
        for conn in [*self._opened, self.conn, self._vectors]:
            if conn is not None:
                conn.close()


VECTOR_CACHE_KB = 256
"""`Database.vectors`'s page cache (SQLite's default is 2 MB; `conn`'s 8 MB)."""


def default_path() -> Path:
    """`D5E_HOME/d5e.sqlite3`, else `$XDG_DATA_HOME/d5e/d5e.sqlite3` (~/.local/share)."""
    home = os.environ.get("D5E_HOME")
    if home:
        return Path(home).expanduser() / "d5e.sqlite3"
    xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(xdg) / "d5e" / "d5e.sqlite3"
