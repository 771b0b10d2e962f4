"""The composition root shared by the CLI and the daemon: settings, database, plugins, profile.

Feature functions (`features/*`) take an `App` and typed params and return typed results; the
CLI and the JSON-RPC handlers are thin wrappers around them.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable
from functools import cached_property, partial
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import apsw
import msgspec

from . import packfiles, packs, packwriter, queries, tagtext, workspace
from .db import Database, default_path, transaction
from .errors import PackError
from .plugins import Plugins, get_plugins
from .records import Entry, LoadedPack, PackSource
from .settings import Settings
from .vocab import DocCounts

if TYPE_CHECKING:
    from .campaign import Campaign
    from .index import SearchIndex

log = logging.getLogger(__name__)
T = TypeVar("T")


def _install_source(
    conn: apsw.Connection,
    source: PackSource,
    then: Callable[[apsw.Connection], bool],
    claim: packs.Claim,
) -> packs.InstallResult | None:
    """Install a built-in pack, unless the user replaced its id with another origin (then
    None: start-up never takes the id back)."""
    current = queries.pack_origin(conn, source.pack.id)
    if current is not None and current != source.origin:
        return None
    return packs.install(conn, source.pack, source.load(), source.origin, then, claim=claim)


class App:
    def __init__(self, settings: Settings, plugins: Plugins | None = None) -> None:
        self.settings = settings
        self.db_path = Path(settings.db).expanduser() if settings.db else default_path()
        self.plugins = plugins if plugins is not None else get_plugins()
        self.db = Database(self.db_path)
        self.warnings: list[str] = []
        self.tie_warnings: list[str] = []
        self._reported_ties: set[str] = set()
        self._on_packs_changed: list[Callable[[list[str]], None]] = []

    @property
    def conn(self) -> apsw.Connection:
        """The read connection of the calling (main) thread."""
        return self.db.conn

    @property
    def profile(self) -> str:
        return self.settings.profile

    @cached_property
    def search(self) -> SearchIndex:
        """The search index (attributes, vectors, the embedding model), made on first use."""
        from .index import SearchIndex

        return SearchIndex(self)

    @cached_property
    def campaign(self) -> Campaign | None:
        """The workspace folder's Markdown files and the references in them, read on first use
        (None without a workspace). Its resolver follows pack changes."""
        if not self.settings.workspace:
            return None
        from .campaign import Campaign
        from .features.tags import Resolver

        resolver = Resolver(self)
        self.on_packs_changed(lambda _packs: resolver.clear())
        return Campaign(Path(self.settings.workspace), resolver)

    @cached_property
    def trigram_counts(self) -> DocCounts:
        """How many names hold each trigram (typo-tolerant name matching chooses by it)."""
        return DocCounts(self, queries.trigram_counts, queries.entry_count)

    @cached_property
    def term_counts(self) -> DocCounts:
        """How many entries hold each (stemmed) word of keyword search."""
        return DocCounts(self, queries.term_counts, queries.entry_count)

    def render(self, entry: Entry, purpose: str) -> str:
        """A renderer's text; for search and detail lines, `{@tags}` become their text (cards
        get links too: `features/lookup.py`)."""
        text = self.plugins.render(entry, purpose)
        return text if purpose == "markdown" else tagtext.plain(text)

    async def write(self, fn: Callable[[apsw.Connection], T]) -> T:
        """Run `fn(conn)` on the writer thread without blocking the caller's event loop."""
        return await asyncio.wrap_future(self.db.submit(fn))

    # -- packs ----------------------------------------------------------------------------------

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

    def claim(self, *, replace: bool = False, workspace: bool = False) -> packs.Claim:
        """What an install may take over (see `packs.check_claim`): built-in ids are taken."""
        builtin = {pack_id: s.origin for pack_id, s in self.plugins.pack_sources().items()}
        return packs.Claim(replace, builtin, self.profile if workspace else None)

    def install_path(
        self, conn: apsw.Connection, path: Path, claim: packs.Claim | None = None
    ) -> packs.InstallResult:
        """Load and install the pack at `path` (on the writer thread: `app.write(partial(…))`).
        The files' stamp is taken before they are read: an edit meanwhile is read again at the
        next start."""
        stamp = packfiles.stamp(path) if path.exists() else None
        _, loaded = self.load_path(path)
        first, *others = packs.install_loaded(
            conn, loaded, str(path.resolve()), self.update_profile, claim or self.claim()
        )
        if stamp is not None:
            for result in (first, *others):
                queries.set_pack_stamp(conn, result.pack, stamp)
        return dataclasses.replace(first, also=tuple(others)) if others else first

    def recheck_file_packs(self) -> list[packs.InstallResult]:
        """Folder and zip packs whose files changed while no daemon watched them (an edit, an
        upload a crash interrupted) are read again; an interrupted change of a folder is
        finished or undone first (`packwriter.recover`), and stale temporaries go."""
        results = []
        for row in queries.installed_packs(self.conn):
            origin = Path(row.origin)
            if row.origin.startswith("plugin:") or not origin.is_absolute():
                continue
            try:
                if origin.is_dir():
                    packwriter.recover(origin)
                if not origin.exists() or packfiles.stamp(origin) == row.stamp:
                    continue
                results.append(self.db.write(partial(self.install_path, path=origin)))
            except (PackError, OSError) as exc:
                message = exc.message if isinstance(exc, PackError) else str(exc)
                log.warning("%s: %s", row.pack.id, message)
                self.warnings.append(f"pack {row.pack.id}: {message}")
        return results

    def install_builtin_packs(self) -> list[packs.InstallResult]:
        """Install or upgrade the built-in packs named by the settings (unchanged ones: no-op)."""
        sources = self.plugins.pack_sources()
        results = []
        for pack_id in self.settings.builtin_packs:
            source = sources.get(pack_id)
            if source is None:
                msg = f"built-in pack {pack_id} is not available (is its plugin installed?)"
                log.warning(msg)
                self.warnings.append(msg)
                continue
            install = partial(
                _install_source, source=source, then=self.update_profile, claim=self.claim()
            )
            result = self.db.write(install)
            if result is None:
                log.info("built-in pack %s is replaced by another origin; left as it is", pack_id)
                continue
            if result.action != "unchanged":
                log.info("%s %s (%d entries)", result.action, result.pack, result.entries)
            results.append(result)
        return results

    def install_pack_path(self, conn: apsw.Connection, path: Path) -> packs.InstallResult:
        """Install one of the workspace's `packPaths`: it never replaces a pack, and it is on by
        default in this profile only."""
        return self.install_path(conn, path, self.claim(workspace=True))

    def install_pack_paths(self) -> list[packs.InstallResult]:
        """Install the workspace's `packPaths`; a broken one is reported and skipped."""
        results = []
        for path in self.settings.pack_paths:
            try:
                results.append(self.db.write(partial(self.install_pack_path, path=Path(path))))
            except PackError as exc:
                log.warning("%s", exc.message)
                self.warnings.append(exc.message)
        return results

    # -- the profile ----------------------------------------------------------------------------

    def own_profile(self, conn: apsw.Connection) -> None:
        """A workspace's profile is its own: a `d5e.toml` (or the editor's settings in a
        workspace) cannot name the user's default profile or one another folder uses; such a
        name is refused with a warning and the profile named after the folder is used instead.
        Call before anything writes the profile."""
        root = self.settings.workspace
        with transaction(conn):
            if root is not None:
                derived = workspace.profile_name(Path(root))
                exists, owner = queries.profile_owner(conn, self.profile)
                taken = self.profile == "default" or (exists and owner != root)
                if taken and self.profile != derived:
                    whose = f"the workspace {owner}" if owner else "the user, not to a workspace"
                    message = (
                        f"{Path(root) / workspace.CONFIG}: profile {self.profile!r} belongs to "
                        f"{whose}; this workspace uses its own profile {derived!r} instead"
                    )
                    log.warning("%s", message)
                    self.warnings.append(message)
                    self.settings = msgspec.structs.replace(self.settings, profile=derived)
                if self.profile == derived:  # its own name: a profile made before owners
                    queries.adopt_profile(conn, derived, root)
            queries.claim_profile(conn, self.profile, root)

    def priorities(self, conn: apsw.Connection) -> packs.Priorities:
        """This profile's priorities as the settings, plugins' rules and choices make them."""
        rows = queries.installed_packs(conn)
        return packs.profile_priorities(
            self.settings,
            {row.pack.id: row.pack for row in rows},
            self.plugins.priority_rules(),
            queries.profile_choices(conn, self.profile),
            {row.pack.id for row in rows if row.workspace_profile not in (None, self.profile)},
        )

    def update_profile(self, conn: apsw.Connection) -> bool:
        """Store this profile's priorities; call inside a transaction. True when they changed."""
        return packs.apply_profile(conn, self.profile, self.priorities(conn))

    def sync_in_transaction(self, conn: apsw.Connection) -> bool:
        with transaction(conn):
            return self.update_profile(conn)

    def sync_profile(self) -> bool:
        """Make the stored profile match the settings; True when it changed."""
        changed = self.db.write(self.sync_in_transaction)
        self.check_ties()
        return changed

    def check_ties(self) -> list[str]:
        """Warn about packs whose shared refs only their ids decide: logged once per tie."""
        self.tie_warnings = [
            f"packs {t.winner} and {t.loser} have the same priority ({t.priority}) for "
            f"{t.count} ref(s) such as {t.example}: {t.winner} wins (pack ids in order); give "
            f"one of them another priority to choose"
            for t in queries.priority_ties(self.conn, self.profile)
        ]
        for warning in self.tie_warnings:
            if warning not in self._reported_ties:
                self._reported_ties.add(warning)
                log.warning("%s", warning)
        return self.tie_warnings

    def on_packs_changed(self, listener: Callable[[list[str]], None]) -> None:
        """Call `listener(pack_ids)` after packs were installed, upgraded or removed."""
        self._on_packs_changed.append(listener)

    def packs_changed(self, pack_ids: list[str]) -> None:
        self.check_ties()
        for listener in self._on_packs_changed:
            try:
                listener(pack_ids)
            except Exception:
                log.exception("a packs-changed listener failed")

    def start(self) -> None:
        """Everything a fresh database needs before the first answer."""
        self.db.write(self.own_profile)
        results = self.install_builtin_packs() + self.install_pack_paths()
        results += self.recheck_file_packs()
        changed = [r.pack for r in results if r.action != "unchanged"]
        self.sync_profile()
        if changed:
            self.packs_changed(changed)

    def close(self) -> None:
        self.db.close()
