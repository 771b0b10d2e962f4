"""The composition root shared by the CLI and the daemon: settings, database, plugins, the
packs (`library`), search (`search`, the counts), wired once and told when packs change.

Feature functions (`features/*`) take an `App` and typed params and return typed results; the
CLI and the JSON-RPC handlers are thin wrappers around them.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import apsw
import msgspec

from . import packs, queries, tagtext, workspace
from .campaign import Campaign
from .db import Database, default_path, transaction
from .errors import StorageError
from .library import Library
from .plugins import Plugins, get_plugins
from .records import Entry
from .search.counts import DocCounts
from .settings import Settings

if TYPE_CHECKING:
    from .search.builder import SearchIndex
    from .search.embed import Embedder

log = logging.getLogger(__name__)
T = TypeVar("T")
READ_ONLY = "read-only: "
"""How the `d5e/status` warning of a read-only service begins."""
NOT_MADE = "is not in the database and cannot be made now"
RECOVER_GAP_SECONDS = 1.0
"""A read-only service looks whether it can write again at most this often (`App.recover`)."""


def _moved(owner: str | None, root: str) -> bool:
    """A profile a d5e.toml names whose campaign folder is gone: the campaign moved (to `root`),
    and its profile, with the choices made in it, goes with it."""
    return owner is not None and owner != root and not os.path.lexists(owner)


class App:
    def __init__(self, settings: Settings, plugins: Plugins | None = None) -> None:
        self.settings = settings
        self.db_path = Path(settings.db).expanduser() if settings.db else default_path()
        self.plugins = plugins if plugins is not None else get_plugins()
        self.db = Database(self.db_path)
        self.library = Library(self.db, lambda: self.settings, self.plugins)
        """The packs: install, reload, remove, choose, and the one event saying they changed."""
        self.campaign: Campaign | None = None
        """The workspace folder's Markdown files and the references in them, for the faces that
        read them (`d5e serve` opens it: `features.references.open_campaign`)."""
        self.on_recover: list[Callable[[], None]] = []
        """Called when a read-only service can write its database again (`recover`)."""
        self._wanted = settings
        """The settings asked for (a read-only start may read another profile)."""
        self._tried = -RECOVER_GAP_SECONDS

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
        return self.search_index()

    def search_index(self, embedder: Embedder | None = None) -> SearchIndex:
        """A search index of this database and profile (the default model unless `embedder`),
        told when packs change. (Imported here: the index is no part of a daemon's start.)"""
        from .search.builder import SearchIndex

        index = SearchIndex(
            self.db,
            lambda: self.profile,
            self.render,
            self.renderers,
            embedder,
        )
        self.library.on_change(index.forget)
        index.packs_writing = lambda: self.library.writing
        return index

    def renderers(self) -> list[str]:
        """The plugins that render entries' texts (`render_text`): what the search index's
        texts and vectors are keyed by. A plugin that only brings packs or loaders renders
        nothing, so adding it leaves the library's texts and vectors as they were."""
        return [impl.plugin_name for impl in self.plugins.pm.hook.render_text.get_hookimpls()]

    @cached_property
    def trigram_counts(self) -> DocCounts:
        """How many names hold each trigram (typo-tolerant name matching chooses by it)."""
        counts = DocCounts(lambda: self.conn, queries.trigram_counts, queries.entry_count)
        self.library.on_change(counts.forget)
        return counts

    @cached_property
    def alias_trigram_counts(self) -> DocCounts:
        """How many aliases hold each trigram (the same choice, for typos in aliases)."""
        counts = DocCounts(lambda: self.conn, queries.alias_trigram_counts, queries.entry_count)
        self.library.on_change(counts.forget)
        return counts

    @cached_property
    def term_counts(self) -> DocCounts:
        """How many entries hold each (stemmed) word of keyword search."""
        counts = DocCounts(lambda: self.conn, queries.term_counts, queries.entry_count)
        self.library.on_change(counts.forget)
        return counts

    def render(self, entry: Entry, purpose: str) -> str:
        """A renderer's text; for search and detail lines, `{@tags}` become their text (cards
        get links too: `features/lookup.py`)."""
        text = self.plugins.render(entry, purpose)
        return text if purpose == "markdown" else tagtext.plain(text)

    async def write(self, fn: Callable[[apsw.Connection], T]) -> T:
        """Run `fn(conn)` on the writer thread without blocking the caller's event loop (on
        a read-only service, after looking whether the database can be written again)."""
        import asyncio

        if self.db.read_only is not None and self.recover():
            self.library.changed([])
        return await asyncio.wrap_future(self.db.submit(fn))

    def own_profile(self, conn: apsw.Connection) -> None:
        """A workspace's profile is its own: a `d5e.toml` (or the editor's settings in a
        workspace) cannot name the user's default profile or one another folder uses; such a
        name is refused with a warning and the profile named after the folder is used instead.
        Call before anything writes the profile."""
        root = self.settings.workspace
        with transaction(conn):
            if self.choose_profile(conn) and root is not None:
                queries.adopt_profile(conn, self.profile, root)  # a profile made before owners
            owner = queries.profile_owner(conn, self.profile)[1]
            if root is not None and _moved(owner, root):  # the campaign's named profile
                queries.move_profile(conn, self.profile, root)
            queries.claim_profile(conn, self.profile, root)

    def choose_profile(self, conn: apsw.Connection) -> bool:
        """The profile this App may use (see `own_profile`), reading only; True when it is the
        workspace's own, folder-named one."""
        root = self.settings.workspace
        if root is None:
            return False
        derived = workspace.profile_name(Path(root))
        exists, owner = queries.profile_owner(conn, self.profile)
        taken = self.profile == "default" or (exists and owner != root and not _moved(owner, root))
        if taken and self.profile != derived:
            whose = f"the workspace {owner}" if owner else "the user, not to a workspace"
            message = (
                f"{Path(root) / workspace.CONFIG}: profile {self.profile!r} belongs to "
                f"{whose}; this workspace uses its own profile {derived!r} instead"
            )
            log.warning("%s", message)
            self.library.warnings.append(message)
            self.settings = msgspec.structs.replace(self.settings, profile=derived)
        return self.profile == derived

    async def reconfigure(self, settings: Settings) -> list[str]:
        """Apply changed settings (the workspace's d5e.toml, the editor's) to the running app:
        the profile, the workspace's `packPaths`, the priorities. The database stays the one
        opened at start. Returns the problems the user must hear about, in order."""
        problems = []
        if settings.db != self.settings.db:
            problems.append("a new database path takes effect when the daemon restarts")
            settings = msgspec.structs.replace(settings, db=self.settings.db)
        known = len(self.library.warnings)
        self.settings = settings
        await self.write(self.own_profile)
        not_installed = await self.library.install_pack_paths_now()
        problems += self.library.warnings[known:] + not_installed
        if await self.write(self.library.sync_in_transaction):
            self.library.changed([])
        return problems

    def start(self, reads_only: bool = False) -> None:
        """Everything a fresh database needs before the first answer. When the database cannot
        be written (read-only, the disk full), d5e serves what it holds: the reason is a
        `d5e/status` warning, and every change is refused with it until `recover` finds that
        it can be written again. `reads_only` (a command that only reads): a profile saved
        for other settings is read as these settings make it, not saved again."""
        self._wanted = self.settings
        if self.db.read_only is None:
            try:
                self.db.write(self.own_profile)
                self.library.start(save_profile=not reads_only)
                return
            except StorageError as exc:
                if not exc.unwritable:  # damage, a lock: not a database to serve
                    raise
                # said as connecting read-only says it: a command's "no entry named
                # 'fireball'" on a database the disk left without its SRD said nothing of why
                log.warning("%s: serving it read-only", exc.message)
                self.db.refuse_writes(exc.message)
        self.choose_profile(self.conn)
        if not queries.profile_owner(self.conn, self.profile)[0]:  # never saved: nothing in it
            self.library.warnings.append(
                f"profile {self.profile!r} {NOT_MADE}: the user's default profile is read instead"
            )
            self.settings = msgspec.structs.replace(self.settings, profile="default")
        elif reads_only:  # a command: its answers are the settings', whatever is saved
            self.library.read_profile_as_set()
        elif unsaved := packs.profile_unsaved(
            self.conn, self.profile, self.library.priorities(self.conn)
        ):
            message = (
                f"profile {self.profile!r} is saved for other packs or priorities than these "
                f"settings ask ({unsaved}) and the database cannot be written: the answers are "
                "the saved profile's"
            )
            log.warning("%s", message)
            self.library.warnings.append(message)
        self.library.warnings.append(
            f"{READ_ONLY}{self.db.read_only}. d5e answers lookups, search and completion "
            "from what the database holds; installs, enable/disable, uploads and indexing are "
            "refused until it can be written (d5e tries again now and then, and at each change "
            "asked for)"
        )
        self.library.known_state = self.library.state()

    def recover(self) -> bool:
        """Leave read-only service if the database can be written again: the writes of a
        start are made (the workspace's own profile, the packs the settings name) and the
        read-only warnings dropped. True when writable (or it was all along); on the event
        loop's thread (the one that reads `conn`)."""
        if self.db.read_only is None:
            return True
        now = time.monotonic()
        if now - self._tried < RECOVER_GAP_SECONDS:
            return False  # a burst of changes asked for: one look is enough
        self._tried = now
        if not self.db.writable_again():
            return False
        reason, self.db.read_only = self.db.read_only, None
        self.settings = self._wanted  # the workspace's profile, if it had to read the default
        try:
            self.db.write(self.own_profile)
            self.library.start()
        except StorageError as exc:
            if not exc.unwritable:
                raise
            self.db.refuse_writes(exc.message)
            return False
        warnings = self.library.warnings
        warnings[:] = [w for w in warnings if not w.startswith(READ_ONLY) and NOT_MADE not in w]
        log.warning("the database can be written again (it could not: %s)", reason)
        for listener in self.on_recover:
            listener()
        return True

    def close(self) -> None:
        self.db.close()
