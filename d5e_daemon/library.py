"""The packs of one database as one profile sees them: install, reload, remove, choose, follow
other processes' changes, and the one event that says packs changed.

Every change goes through here and ends with `changed(pack_ids)`: priority ties are checked
again, then each listener (`on_change`) is called: the search index and counts forget what they
remembered, the daemon tells its client (`d5e/packsChanged`), re-checks open documents and
schedules indexing. After a change the folder packs whose entries extend entries of the changed
packs are read again (their bases changed), each pack at most once per change.

Whatever writes runs on the database's writer thread (`await library.write(fn)` in the daemon),
so a long install never blocks lookups.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Collection
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import apsw

from . import packfiles, packformat, packs, packwriter, queries, workspace
from .db import Database, transaction
from .errors import PackError
from .plugins import Plugins
from .records import LoadedPack, PackSource
from .settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")
STAMP_CHECK_SECONDS = 5.0
"""How often the files of folder and zip packs are compared with their stamps (`watch`)."""
STAMP_CHECK_SHARE = 0.01
"""At most this share of the time goes to comparing stamps: a check that took longer than
`STAMP_CHECK_SHARE * STAMP_CHECK_SECONDS` (a folder pack of 40,000 files: ~0.2-1 s) waits
proportionally longer before the next, so a large pack does not keep a core busy while idle."""
Listener = Callable[[list[str]], None]


def origin_kind(origin: str) -> str:
    """`plugin`, `folder`, `zip` or `file`: where an installed pack comes from."""
    if origin.startswith("plugin:") or not origin:
        return "plugin"
    path = Path(origin)
    if path.is_dir():
        return "folder"
    return "zip" if path.suffix.lower() == ".zip" else "file"


class Library:
    def __init__(self, db: Database, settings: Callable[[], Settings], plugins: Plugins) -> None:
        self.db = db
        self.settings = settings
        """The current settings (the daemon replaces them when the workspace's change)."""
        self.plugins = plugins
        self.warnings: list[str] = []
        """Packs that could not be installed or reloaded (`d5e/status` lists them)."""
        self._reload_warnings: dict[str, str] = {}
        self.reload_problems: dict[str, list[dict[str, Any]]] = {}
        """The located problems (`PackProblem` as JSON) of each pack whose latest live reload
        failed, for the editor to show in the pack's own files; gone once a reload succeeds."""
        self.tie_warnings: list[str] = []
        self.log_ties = True
        """Ties are logged once (a command that reads turns it off: `d5e status` and `d5e packs
        list` print them, and each `d5e lookup` said them again, its own process)."""
        self._reported_ties: set[str] = set()
        self._listeners: list[Listener] = []
        self.known_state: tuple[Any, ...] = ()
        self._writes = 0
        self._writes_lock = threading.Lock()
        self._unreadable: dict[str, str] = {}
        """Packs whose files at this stamp could not be read again (`recheck_stamps`)."""
        self.stamps_took = 0.0
        """Seconds the last `recheck_stamps` took to stamp the files (`watch` paces by it)."""

    @property
    def profile(self) -> str:
        return self.settings().profile

    async def write(self, fn: Callable[[apsw.Connection], T]) -> T:
        """Run `fn(conn)` on the writer thread without blocking the caller's event loop."""
        import asyncio  # here: a command that only reads never loads it (~60 ms of its start)

        with self._writes_lock:
            self._writes += 1
        try:
            future = self.db.submit(fn)
        except BaseException:
            self._written()
            raise
        # Counted down by the writer thread as soon as `fn` is done, not when this coroutine
        # resumes: the indexer pausing for the write must not wait for the event loop (which
        # may itself be waiting for the indexer).
        future.add_done_callback(self._written)
        return await asyncio.wrap_future(future)

    def _written(self, _: object = None) -> None:
        with self._writes_lock:
            self._writes -= 1

    @property
    def writing(self) -> bool:
        """A change of packs (install, reload, remove, choice) is being written: the search
        indexer waits between its batches meanwhile, so the install has the CPU."""
        return self._writes > 0

    # -- the change event --------------------------------------------------------------------------

    def on_change(self, listener: Listener) -> None:
        """Call `listener(pack_ids)` after packs were installed, upgraded, removed or chosen."""
        self._listeners.append(listener)

    def changed(self, pack_ids: list[str]) -> None:
        """The one place that says packs changed."""
        self.known_state = self.state()
        self.check_ties()
        for listener in self._listeners:
            try:
                listener(pack_ids)
            except Exception:
                log.exception("a packs-changed listener failed")

    def state(self) -> tuple[Any, ...]:
        """What changes whenever packs or this profile do, in any process."""
        conn = self.db.conn
        return (tuple(queries.packs_state(conn)), queries.profile_hash(conn, self.profile))

    async def after(self, changed: list[str], seen: frozenset[str] = frozenset()) -> None:
        """Say which packs changed, then re-read the folder packs whose entries extend entries
        of those (their bases changed); each pack at most once per change."""
        if not changed:
            return
        self.changed(changed)
        seen = seen | set(changed)
        conn = self.db.conn
        dependents = {d for p in changed for d in queries.packs_extending(conn, p)} - seen
        if dependents:
            await self.reload({d: set() for d in sorted(dependents)}, seen)

    # -- reading and installing ------------------------------------------------------------------

    def load_path(self, path: Path) -> tuple[str, LoadedPack | list[LoadedPack]]:
        """Read a pack (or the packs of a file holding several) from `path` with the first
        loader that recognises it."""
        shown = packfiles.printable(str(path))
        if shown != str(path):
            raise PackError(f"{shown}: the path is not UTF-8 text; rename it")
        if not path.exists():
            raise PackError(f"{path}: no such file or folder")
        for name, loader in self.plugins.path_loaders():
            try:
                loaded = loader(path)
            except Exception as exc:
                log.exception("pack loader %s failed on %s", name, path)
                raise PackError(
                    f"{path}: loader {name} failed: {type(exc).__name__}: {exc}"
                ) from exc
            if isinstance(loaded, list) and not loaded:
                raise PackError(f"{path}: loader {name} found no pack in it")
            if loaded is not None:
                return name, loaded
        raise PackError(f"{path}: no loader recognises it (a pack is a folder, or a .zip of one)")

    def claim(
        self, *, replace: bool = False, workspace: bool = False, user: bool = False
    ) -> packs.Claim:
        """What an install may take over (see `packs.check_claim`): built-in ids are taken.
        `workspace`: the campaign's `packPaths` install it; `user`: the user asked for it."""
        builtin = {pack_id: s.origin for pack_id, s in self.plugins.pack_sources().items()}
        return packs.Claim(replace, builtin, self.profile if workspace else None, user)

    def install_path(
        self,
        conn: apsw.Connection,
        path: Path,
        claim: packs.Claim | None = None,
        *,
        in_place: bool = False,
    ) -> packs.InstallResult:
        """Load and install the pack at `path` (on the writer thread). The files' stamp is
        taken once they are read, so a path that is no pack (`/`, a home folder) is refused
        before its whole tree is walked; files changed just before or during the read are
        read again after a stamp, so that an edit meanwhile is read at the next start.
        `in_place`: a path checked before (a stored origin, a campaign's `packPaths`), which
        must have no link on it before and after it is read (`packs.check_in_place`)."""
        started = time.time_ns()
        if in_place:
            packs.check_in_place(path)
        with packfiles.in_place() if in_place else contextlib.nullcontext():
            _, loaded = self.load_path(path)
            stamp = None
            if path.exists() and not any(one.errors for one in _every(loaded)):
                stamp = packfiles.stamp(path, read_since=started)
                if stamp == packfiles.CHANGED_WHILE_READ:
                    stamp = packfiles.stamp(path)
                    _, loaded = self.load_path(path)
        if in_place:
            packs.check_in_place(path)  # swapped while it was read
        first, *others = packs.install_loaded(
            conn, loaded, str(path.resolve()), self.update_profile, claim or self.claim()
        )
        if stamp is not None:
            for result in (first, *others):
                queries.set_pack_stamp(conn, result.pack, stamp)
        return dataclasses.replace(first, also=tuple(others)) if others else first

    def install_pack_path(self, conn: apsw.Connection, path: Path) -> packs.InstallResult:
        """Install one of the `packPaths`: it never replaces a pack. The editor's own are the
        user's (on in every profile); a campaign's is on by default in this profile only."""
        users = path in {Path(p) for p in self.settings().pack_paths}
        claim = self.claim(workspace=not users, user=users)
        claim = dataclasses.replace(claim, pack_paths=True)
        return self.install_path(conn, path, claim, in_place=not users)

    def unchanged_at(
        self, conn: apsw.Connection, path: Path, users: bool = False
    ) -> packs.InstallResult | None:
        """The packs installed from `path`, when its files' stamp is still the one stored when
        they were read (nothing to read again); None when they must be read, or when `users`
        (the editor's packPaths) and a campaign's `packPaths` brought one of them (it becomes
        the user's)."""
        try:
            origin, now = str(path.resolve()), packfiles.stamp(path)
        except OSError:
            return None
        rows = [row for row in queries.installed_packs(conn) if row.origin == origin]
        if not rows or any(row.stamp != now or (users and row.workspace_profile) for row in rows):
            return None
        first, *others = (packs.InstallResult(r.pack.id, "unchanged", r.entries) for r in rows)
        return dataclasses.replace(first, also=tuple(others)) if others else first

    def install_source(
        self, conn: apsw.Connection, source: PackSource, claim: packs.Claim | None = None
    ) -> packs.InstallResult:
        """Install or upgrade a plugin's pack (on the writer thread)."""
        return packs.install(
            conn,
            source.pack,
            source.load(),
            source.origin,
            self.update_profile,
            claim=claim or self.claim(),
        )

    def _install_builtin(
        self, conn: apsw.Connection, source: PackSource
    ) -> packs.InstallResult | None:
        """A built-in pack, unless the user replaced its id with another origin (then None:
        start-up never takes the id back)."""
        current = queries.pack_origin(conn, source.pack.id)
        if current is not None and current != source.origin:
            return None
        return self.install_source(conn, source)

    def install_builtin_packs(self) -> list[packs.InstallResult]:
        """Install or upgrade the built-in packs named by the settings (unchanged ones: no-op)."""
        sources = self.plugins.pack_sources()
        results = []
        for pack_id in self.settings().builtin_packs:
            source = sources.get(pack_id)
            if source is None:
                msg = f"built-in pack {pack_id} is not available (is its plugin installed?)"
                log.warning(msg)
                self.warnings.append(msg)
                continue
            result = self.db.write(partial(self._install_builtin, source=source))
            if result is None:
                log.info("built-in pack %s is replaced by another origin; left as it is", pack_id)
                continue
            if result.action != "unchanged":
                log.info("%s %s (%d entries)", result.action, result.pack, result.entries)
            results.append(result)
        return results

    def install_pack_paths(self, reread: bool = True) -> list[packs.InstallResult]:
        """Install the workspace's `packPaths`; a broken one is reported and skipped. Without
        `reread`, a path whose files have the stamp stored when they were last read is not read
        again (parsing every file of a homebrew folder at each start, to find it unchanged)."""
        results = []
        paths, refused = self.pack_paths()
        users = {Path(p) for p in self.settings().pack_paths}
        for message in refused:
            log.warning("%s", message)
            self.warnings.append(message)
        for path in paths:
            same = None if reread else self.unchanged_at(self.db.conn, Path(path), path in users)
            if same is not None:
                results.append(same)
                continue
            try:
                results.append(self.db.write(partial(self.install_pack_path, path=Path(path))))
            except PackError as exc:
                message = exc.message + self._kept(Path(path))
                log.warning("%s", message)
                self.warnings.append(message)
        return results

    def _reload_failed(self, pack_id: str, message: str | None) -> None:
        """The warning of a pack's latest live reload that failed, in place of its earlier one
        (the same broken save seen twice, by the watcher and by the editor, said it twice);
        none once a reload succeeds (the fixed pack was still reported broken)."""
        old = self._reload_warnings.pop(pack_id, None)
        if old is not None and old in self.warnings:
            self.warnings.remove(old)
        if message is not None:
            self._reload_warnings[pack_id] = message
            self.warnings.append(message)

    def _kept(self, path: Path) -> str:
        """What stays of the packs installed from `path` when its files cannot be read now
        ("nothing was installed" read as if the pack were gone, its old entries answering)."""
        try:
            origin = str(path.resolve())
        except OSError:
            return ""
        kept = [r for r in queries.installed_packs(self.db.conn) if r.origin == origin]
        return "".join(
            f"\n(pack {r.pack.id} stays as it was last read, {r.entries} "
            f"entr{'y' if r.entries == 1 else 'ies'}, until the problems are fixed)"
            for r in kept
        )

    def pack_paths(self) -> tuple[list[Path], list[str]]:
        """The `packPaths` to install: the user's, and the campaign's that are inside it or a
        folder the user trusts; and why each other campaign path is refused."""
        settings = self.settings()
        allowed, refused = workspace.campaign_pack_paths(settings)
        return [Path(p) for p in settings.pack_paths] + allowed, refused

    async def install_pack_paths_now(self) -> list[str]:
        """Install the workspace's `packPaths` (settings changed): each that can be, and the
        problem of each that cannot (a missing folder, an id another origin owns)."""
        paths, problems = self.pack_paths()
        changed: list[str] = []
        for path in paths:
            try:
                result = await self.write(partial(self.install_pack_path, path=Path(path)))
            except PackError as exc:
                problems.append(exc.message)
                continue
            changed += [r.pack for r in (result, *result.also) if r.action != "unchanged"]
        await self.after(changed)
        return problems

    def origins(self) -> dict[str, Path]:
        """Installed folder and file packs that exist on disk, by id (the daemon watches them)."""
        found = {}
        for row in queries.installed_packs(self.db.conn):
            path = Path(row.origin)
            if not row.origin.startswith("plugin:") and path.is_absolute() and path.exists():
                found[row.pack.id] = path
        return found

    def packs_holding(self, paths: list[Path]) -> dict[str, set[str]]:
        """Installed folder and file packs that hold any of `paths`, with those paths (what
        `reload` takes after files changed on disk)."""
        found: dict[str, set[str]] = {}
        for row in queries.installed_packs(self.db.conn):
            if row.origin.startswith("plugin:"):
                continue
            origin = Path(row.origin)
            mine = {str(p) for p in paths if p == origin or origin in p.parents}
            if mine:
                found[row.pack.id] = mine
        return found

    def recheck_file_packs(self, skip: Collection[str] = ()) -> list[packs.InstallResult]:
        """Folder and zip packs whose files changed while no daemon watched them (an edit, an
        upload a crash interrupted) are read again; an interrupted change of a folder is
        finished or undone first (`packwriter.recover`), and stale temporaries go. Not those
        whose origin is in `skip` (read just now)."""
        results = []
        for row in queries.installed_packs(self.db.conn):
            origin = Path(row.origin)
            if row.origin.startswith("plugin:") or not origin.is_absolute() or row.origin in skip:
                continue
            try:
                packs.check_in_place(origin)  # swapped for a link: neither read nor written
                if origin.is_dir():
                    packwriter.recover(origin)
                if not origin.exists() or packfiles.stamp(origin) == row.stamp:
                    continue
                write = partial(self.install_path, path=origin, in_place=True)
                results.append(self.db.write(write))
            except (PackError, OSError) as exc:
                message = exc.message if isinstance(exc, PackError) else str(exc)
                log.warning("%s: %s", row.pack.id, message)
                self.warnings.append(f"pack {row.pack.id}: {message}")
        return results

    def start(self, save_profile: bool = True) -> None:
        """Everything a fresh database needs before the first answer. The workspace's packs
        whose files are as they were read are not read again, unless a built-in pack changed
        (what they extend may have). Not `save_profile`: see `sync_profile`."""
        builtin = self.install_builtin_packs()
        unchanged = all(r.action == "unchanged" for r in builtin)
        results = builtin + self.install_pack_paths(reread=not unchanged)
        # the packPaths were just read (or found unchanged): not read again, nor their
        # problems told twice
        read = {str(p.resolve()) for p in self.pack_paths()[0]}
        results += self.recheck_file_packs(skip=read)
        changed = [r.pack for r in results if r.action != "unchanged"]
        self.sync_profile(save_profile)
        if changed:
            self.changed(changed)
        self.known_state = self.state()

    async def install(
        self, path: Path | None = None, plugin: str | None = None, replace: bool = False
    ) -> Any:
        """Install or upgrade the pack at `path`, or the plugin pack `plugin`; atomic, and a
        no-op when unchanged; an id another origin owns only with `replace`. Returns the
        `packs.InstallResult`."""
        claim = self.claim(replace=replace, user=True)
        if plugin is not None:
            source = self.plugins.pack_sources().get(plugin)
            if source is None:
                raise PackError(f"no plugin offers a pack {plugin!r}; `d5e packs list` shows them")
            result = await self.write(partial(self.install_source, source=source, claim=claim))
        else:
            assert path is not None
            result = await self.write(partial(self.install_path, path=path, claim=claim))
        done = (result, *result.also)
        await self.after([r.pack for r in done if r.action != "unchanged" or r.adopted])
        return result

    def _reload_one(
        self, conn: apsw.Connection, pack_id: str, origin: Path, paths: set[str]
    ) -> packs.InstallResult:
        """Only the changed files when that is enough (see `packs.update_files`), else all."""
        packs.check_in_place(origin)
        rels = set()
        for path in paths:
            try:
                rels.add(Path(path).resolve().relative_to(origin).as_posix())
            except ValueError:
                rels.add(".")  # outside the folder, or a folder event: read it all
        if rels and "." not in rels and (origin / packformat.MANIFEST).is_file():
            stamp = packfiles.stamp(origin)  # before the files are read, as `install_path`
            with packfiles.in_place():
                result = packs.update_files(conn, pack_id, rels, self.update_profile)
            if result is not None:
                queries.set_pack_stamp(conn, pack_id, stamp)
                return result
        return self.install_path(conn, origin, in_place=True)

    async def reload(
        self, changes: dict[str, set[str]], seen: frozenset[str] = frozenset()
    ) -> list[packs.InstallResult]:
        """Re-import installed packs from their folder or file (live reload) after `changes`
        (pack id → changed paths; none: read the whole pack). A pack that became invalid keeps
        its last good version, and the problems are logged and listed by `d5e/status`."""
        results = []
        for pack_id, paths in changes.items():
            origin = queries.pack_origin(self.db.conn, pack_id)
            if origin is None or origin_kind(origin) == "plugin" or not Path(origin).exists():
                continue
            try:
                result = await self.write(
                    partial(self._reload_one, pack_id=pack_id, origin=Path(origin), paths=paths)
                )
            except PackError as exc:
                message = f"live reload of {pack_id}: {exc.message}{self._kept(Path(origin))}"
                log.warning("%s", message)
                self._reload_failed(pack_id, message)
                found = exc.data.get("problems") if isinstance(exc.data, dict) else None
                self.reload_problems[pack_id] = list(found or [])
                continue
            self._reload_failed(pack_id, None)
            self.reload_problems.pop(pack_id, None)
            results.append(result)
        await self.after([r.pack for r in results if r.action != "unchanged"], seen)
        return results

    async def remove(self, pack_id: str) -> int:
        """Remove a pack; return how many entries went with it. The packs derived from its
        entries are read again: each that cannot be without it keeps its last good version, and
        `d5e/status` says why."""
        back = self.brought_back(pack_id)
        if back:
            raise PackError(back)
        count = await self.write(partial(packs.remove, pack_id=pack_id, then=self.update_profile))
        await self.after([pack_id])
        return count

    def brought_back(self, pack_id: str) -> str | None:
        """Why removing `pack_id` would not last: a `packPaths` (the campaign's d5e.toml that
        installed it or this one, or the editor's setting) installs it again at the next start.
        Every face (CLI, JSON-RPC) removes through `remove`, which refuses with this."""
        rows = [r for r in queries.installed_packs(self.db.conn) if r.pack.id == pack_id]
        if not rows or not Path(rows[0].origin).is_absolute():
            return None  # not installed (remove says so), or a plugin's pack
        origin = Path(rows[0].origin)
        settings = self.settings()
        turn_off = f"or keep it installed and turn it off: d5e packs disable {pack_id}"
        for written in settings.pack_paths:
            where = Path(written).expanduser().resolve()
            if origin == where or where in origin.parents:
                return (
                    f"pack {pack_id} is not removed: the editor's packPaths setting ({written}) "
                    f"installs it again at the next start; remove {written} from it, {turn_off}"
                )
        folders = [settings.workspace]
        if rows[0].workspace_profile:
            folders.append(queries.profile_owner(self.db.conn, rows[0].workspace_profile)[1])
        for folder in dict.fromkeys(f for f in folders if f is not None):
            line = workspace.pack_path_line(Path(folder), origin)
            if line is not None:
                config = Path(folder) / workspace.CONFIG
                return (
                    f"{config}:{line}: pack {pack_id} is not removed: this packPaths entry "
                    f"installs it again at the next start; delete the entry from {config}, "
                    f"{turn_off}"
                )
        return None

    async def choose(
        self,
        pack_id: str,
        collection: str = "",
        *,
        enabled: bool | None = None,
        priority: int | None = None,
        clear_priority: bool = False,
    ) -> None:
        """Store this profile's choice for a pack (enabled, priority, for one collection)."""

        def choose(conn: apsw.Connection) -> bool:
            with transaction(conn):
                if queries.pack_content_hash(conn, pack_id) is None:
                    raise PackError(
                        f"pack {pack_id} is not installed; `d5e packs install` it first"
                    )
                queries.save_choice(
                    conn,
                    self.profile,
                    pack_id,
                    collection,
                    enabled=enabled,
                    priority=priority,
                    clear_priority=clear_priority,
                )
                return self.update_profile(conn)

        if await self.write(choose):
            self.changed([pack_id])

    # -- the profile --------------------------------------------------------------------------

    def priorities(self, conn: apsw.Connection) -> packs.Priorities:
        """This profile's priorities as the settings, plugins' rules and choices make them.
        A pack another workspace's `packPaths` brought is foreign here (off by default) unless
        this workspace's own `packPaths` bring it too (a shared, trusted folder; the editor's)."""
        rows = queries.installed_packs(conn)
        own = {str(path.resolve()) for path in self.pack_paths()[0]}
        return packs.profile_priorities(
            self.settings(),
            {row.pack.id: row.pack for row in rows},
            self.plugins.priority_rules(),
            queries.profile_choices(conn, self.profile),
            {
                row.pack.id
                for row in rows
                if row.workspace_profile not in (None, self.profile) and row.origin not in own
            },
        )

    def update_profile(self, conn: apsw.Connection) -> bool:
        """Store this profile's priorities; call inside a transaction. True when they changed."""
        return packs.apply_profile(conn, self.profile, self.priorities(conn))

    def sync_in_transaction(self, conn: apsw.Connection) -> bool:
        with transaction(conn):
            return self.update_profile(conn)

    def sync_profile(self, save: bool = True) -> bool:
        """Make the stored profile match the settings; True when it changed. Not `save` (a
        command that only reads): a profile saved before is left as it is and read as these
        settings make it (`packs.overlay_profile`: `--edition 2024` rewrote the winners of a
        profile saved for 2014); one never saved is saved (a campaign's first command)."""
        if not save and queries.profile_hash(self.db.conn, self.profile):
            self.read_profile_as_set()
            self.check_ties()
            return False
        changed = self.db.write(self.sync_in_transaction)
        self.check_ties()
        return changed

    def read_profile_as_set(self) -> None:
        """Read this profile as the settings make it, without saving it: when it is saved
        for other settings, the connections that read get their own copy (`Database.overlay`)."""
        priorities = self.priorities(self.db.conn)
        if packs.profile_unsaved(self.db.conn, self.profile, priorities) is not None:
            self.db.overlay(partial(packs.overlay_profile, self.profile, priorities))

    async def follow_database(self) -> None:
        """If another process changed packs or this profile: re-sync and say what changed."""
        before = self.known_state
        if self.state() == before:
            return
        if self.db.read_only is None:  # else the profile is read as it is stored
            await self.write(self.sync_in_transaction)
        old, new = dict(before[0]) if before else {}, dict(self.state()[0])
        self.changed(sorted(p for p in old.keys() | new.keys() if old.get(p) != new.get(p)))

    async def watch(self, running: Callable[[], bool], every: float) -> None:
        """While `running()`: every `every` seconds, if the database changed (another process
        wrote), follow it; every STAMP_CHECK_SECONDS (longer when a check is slow:
        `STAMP_CHECK_SHARE`), read again the folder and zip packs whose files changed unseen
        (`recheck_stamps`). The daemons of every face run this."""
        import asyncio

        seen = self.db.conn.execute("PRAGMA data_version").fetchone()
        next_check = time.monotonic() + STAMP_CHECK_SECONDS
        while running():
            await asyncio.sleep(every)
            if not running():
                return
            version = self.db.conn.execute("PRAGMA data_version").fetchone()
            if version != seen:
                seen = version
                await self.follow_database()
            if time.monotonic() >= next_check:
                took = 0.0
                if self.settings().watch:
                    await self.recheck_stamps()
                    took = self.stamps_took
                next_check = time.monotonic() + stamp_check_pause(took)

    async def recheck_stamps(self) -> list[packs.InstallResult]:
        """Folder and zip packs whose files changed on disk while the daemon runs, unseen by
        the watcher (it missed the events, or cannot watch that file system), are read again,
        as at start-up (`recheck_file_packs`). A pack whose new files cannot be read keeps its
        last good version and is tried again only once its files change again."""
        if self.db.read_only is not None:
            return []
        rows = [
            (row.pack.id, Path(row.origin), row.stamp)
            for row in queries.installed_packs(self.db.conn)
            if not row.origin.startswith("plugin:") and Path(row.origin).is_absolute()
        ]
        import asyncio

        started = time.monotonic()
        stale = await asyncio.to_thread(_stale_packs, rows, self._unreadable)
        self.stamps_took = time.monotonic() - started
        if not stale:
            return []
        log.info("files changed unseen: reading %s again", ", ".join(stale))
        results = await self.reload({pack_id: set() for pack_id in stale})
        read = {r.pack for r in results}
        self._unreadable.update((p, stamp) for p, stamp in stale.items() if p not in read)
        return results

    def check_ties(self) -> list[str]:
        """Warn about packs whose shared refs only their ids decide: logged once per tie."""
        self.tie_warnings = [
            f"packs {t.winner} and {t.loser} have the same priority ({t.priority}) for "
            f"{t.count} ref(s) such as {t.example}: {t.winner} wins (pack ids in order); give "
            f"one of them another priority to choose"
            for t in queries.priority_ties(self.db.conn, self.profile)
        ]
        for warning in self.tie_warnings if self.log_ties else ():
            if warning not in self._reported_ties:
                self._reported_ties.add(warning)
                log.warning("%s", warning)
        return self.tie_warnings


def stamp_check_pause(took: float) -> float:
    """Seconds from a check of the stamps that took `took` seconds to the next: at most
    `STAMP_CHECK_SHARE` of the time goes to them."""
    return max(STAMP_CHECK_SECONDS, took / STAMP_CHECK_SHARE)


def _every(loaded: LoadedPack | list[LoadedPack]) -> list[LoadedPack]:
    return loaded if isinstance(loaded, list) else [loaded]


def _stale_packs(
    rows: list[tuple[str, Path, str | None]], unreadable: dict[str, str]
) -> dict[str, str]:
    """Pack id → its files' stamp now, for the packs whose stamp is not the one stored (nor
    one that could not be read); off the event loop (a stamp stats every file of a pack)."""
    stale = {}
    for pack_id, origin, stored in rows:
        try:
            if not origin.exists():
                continue
            now = packfiles.stamp(origin)
        except OSError:
            continue
        if now != stored and unreadable.get(pack_id) != now:
            stale[pack_id] = now
    return stale
