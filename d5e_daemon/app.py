"""The composition root shared by the CLI and the daemon: settings, database, plugins, profile.

Feature functions (`features/*`) take an `App` and typed params and return typed results; the
CLI and the JSON-RPC handlers are thin wrappers around them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import cached_property, partial
from pathlib import Path
from typing import TYPE_CHECKING

import apsw

from . import packs, queries
from .db import Database, default_path
from .plugins import Plugins, get_plugins
from .records import Entry, PackSource
from .settings import Settings

if TYPE_CHECKING:
    from .index import SearchIndex

log = logging.getLogger(__name__)


def _install_source(conn: apsw.Connection, source: PackSource) -> packs.InstallResult:
    return packs.install(conn, source.pack, source.load(), source.origin)


class App:
    def __init__(self, settings: Settings, plugins: Plugins | None = None) -> None:
        self.settings = settings
        self.db_path = Path(settings.db).expanduser() if settings.db else default_path()
        self.plugins = plugins if plugins is not None else get_plugins()
        self.db = Database(self.db_path)
        self.warnings: list[str] = []
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

    def render(self, entry: Entry, purpose: str) -> str:
        return self.plugins.render(entry, purpose)

    # -- start-up and profile ------------------------------------------------------------------

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
            result = self.db.write(partial(_install_source, source=source))
            if result.action != "unchanged":
                log.info("%s %s (%d entries)", result.action, result.pack, result.entries)
            results.append(result)
        return results

    def sync_profile(self) -> bool:
        """Make the stored profile match the settings; True when it changed."""
        installed = {row.pack.id: row.pack for row in queries.installed_packs(self.conn)}
        priorities = packs.profile_priorities(
            self.settings, installed, self.plugins.priority_rules()
        )
        return self.db.write(lambda conn: packs.apply_profile(conn, self.profile, priorities))

    def on_packs_changed(self, listener: Callable[[list[str]], None]) -> None:
        """Call `listener(pack_ids)` after packs were installed, upgraded or removed."""
        self._on_packs_changed.append(listener)

    def packs_changed(self, pack_ids: list[str]) -> None:
        for listener in self._on_packs_changed:
            try:
                listener(pack_ids)
            except Exception:
                log.exception("a packs-changed listener failed")

    def start(self) -> None:
        """Everything a fresh database needs before the first answer."""
        changed = [r.pack for r in self.install_builtin_packs() if r.action != "unchanged"]
        self.sync_profile()
        if changed:
            self.packs_changed(changed)

    def close(self) -> None:
        self.db.close()
