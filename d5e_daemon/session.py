"""One editor's session of `d5e serve`, without the language server: the App opened at
`initialize`, the open documents d5e reads and their diagnostics, the campaign's unsaved texts,
what happens when packs or settings change, the watchers and the background indexer.

`server.py` turns each lifecycle message and notification of the editor into one call here.
What the session tells the editor goes through a `Client` (the language server, or a test's
recorder), and the open documents come from a `documents()` getter (pygls' workspace), so a
test drives a whole session without stdio: tests/test_session.py.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import msgspec
from lsprotocol import types
from pygls.uris import to_fs_path
from pygls.workspace import TextDocument

from . import jsonrpc, protocol, workspace
from .app import App
from .errors import AlreadyInitialized, D5eError, NotInitialized
from .features import markdown
from .features import packs as pack_features
from .features.references import open_campaign
from .features.tags import Resolver
from .publishing import Publisher, edit_end
from .settings import Settings, build, for_d5e
from .watch import PackWatcher

log = logging.getLogger(__name__)

EXTERNAL_CHECK_SECONDS = 1.0
"""How often the daemon looks for packs changed by another process (CLI, another editor)."""
INDEX_WHEN_IDLE_SECONDS = (1.0, 5.0)
"""The background indexer starts once the editor has sent nothing for the first of these (the
writer reads or thinks), at the latest after the second: the first requests of a start (the
document opened, the first `{@spell fir`) are answered without it competing for the CPU (on a
first start it makes the filter attributes, with the real model it loads and runs it). A
request that needs the index (`d5e/status`, `d5e/search`) starts it at once."""
NOT_APPLIED = workspace.NOT_APPLIED
RECOVER_SECONDS = (1.0, 60.0)
"""A read-only service looks whether its database can be written again after the first of
these, then twice as long each time, at most the second (and at each change asked for)."""


class Client(Protocol):
    """What a session sends to the editor."""

    def notify(self, method: str, params: Any) -> None:
        """A notification (`d5e/packsChanged`)."""

    def show_warning(self, text: str) -> None:
        """A warning the user sees (`window/showMessage`)."""

    def refresh_hints(self) -> None:
        """Ask the editor to ask again for code lenses and inlay hints, where it can."""

    def publish_diagnostics(self, params: types.PublishDiagnosticsParams) -> None:
        """`textDocument/publishDiagnostics`."""

    @property
    def work_done_progress(self) -> Any:
        """pygls' work-done progress, used only when the editor said it shows progress."""


_SEVERITY = {
    "error": types.DiagnosticSeverity.Error,
    "warning": types.DiagnosticSeverity.Warning,
    "info": types.DiagnosticSeverity.Information,
}


class Session:
    def __init__(
        self,
        env: dict[str, Any],
        flags: dict[str, Any],
        client: Client,
        documents: Callable[[], Mapping[str, TextDocument]],
        reader: Callable[[], jsonrpc.BoundedReader | None] = lambda: None,
    ) -> None:
        self.env, self.flags, self.client, self.documents = env, flags, client, documents
        self.reader = reader
        self.options: dict[str, Any] | None = None
        """The editor's settings (`initializationOptions`, then `didChangeConfiguration`)."""
        self.root: Path | None = None
        self.config_text: bytes | None = None
        """The workspace's d5e.toml as last applied (None: none, or unreadable)."""
        self.config_problem: str | None = None
        """What was wrong with d5e.toml at start (its other settings applied, these at their
        defaults): shown at `initialized`."""
        self.app: App | None = None
        self.resolver: Resolver | None = None
        self.progress = False
        """The editor shows work-done progress (indexing is reported to it)."""
        self.loop: asyncio.AbstractEventLoop | None = None
        self.watcher: PackWatcher | None = None
        self.campaign_watcher: PackWatcher | None = None
        self.indexer: Any = None
        self.tasks: set[asyncio.Task[Any]] = set()
        self.told_overrides: set[str] = set()
        """Override reports already shown to the user (each once: `tell_overrides`)."""
        self.publisher = Publisher(
            self.prose,
            lambda: self.resolver,
            client.publish_diagnostics,
            reader,
            lambda uri: self.pack_problems().get(uri, []),
        )
        """Publishes the diagnostics of open documents, in slices, after changes settle."""

    def settings(self, config: dict[str, Any] | None = None) -> Settings:
        """defaults → environment → the workspace's d5e.toml (or `config`, what start could
        take of it) → flags → the editor's options."""
        if config is None:
            config = workspace.layer(self.root)
        return build(self.env, config, self.flags, self.options)

    def require_app(self) -> App:
        if self.app is None:
            raise NotInitialized("d5e is not initialized yet")
        return self.app

    def require_resolver(self) -> Resolver:
        if self.resolver is None:
            raise NotInitialized("d5e is not initialized yet")
        return self.resolver

    def prose(self, uri: str) -> TextDocument | None:
        """The open document `uri` if d5e reads it (Markdown or plain text). A document the
        client never opened is none of ours (pygls would read it from disk, or fail to)."""
        doc = self.documents().get(uri)
        return doc if doc is not None and markdown.is_prose(doc) else None

    # -- lifecycle ----------------------------------------------------------------------------

    def initialize(self, options: Any, root: Path | None, progress: bool = False) -> App:
        """Open the database and the packs the settings name (a failure leaves nothing open:
        the client may try again, with another database say)."""
        if self.app is not None:  # a second App would leak the first's threads and database
            raise AlreadyInitialized("d5e is already initialized (once per session)")
        self.options = options if isinstance(options, dict) else None
        # A folder inside a campaign (its chapters/, opened alone) is the campaign's, as on the
        # command line: its d5e.toml is the nearest one upwards.
        self.root = root and (workspace.find_root(root) or root)
        self.config_text = workspace.config_text(self.root)
        # A broken d5e.toml does not refuse the start (the editor would have no server until
        # a restart): what it cannot give stays at the default, and saving it fixed applies it.
        config, self.config_problem = workspace.applicable(self.root)
        app = App(self.settings(config))
        try:
            # Filter attributes and keyword texts of new or changed entries (a second for the
            # SRD on a database's first start) are the indexer's first phase: completion, hover
            # and diagnostics need none, and the requests that do wait for them off the event
            # loop (`features.search.attributes_ready`).
            app.start()
        except Exception:
            app.close()
            raise
        app.campaign = open_campaign(app)
        self.app = app
        self.resolver = Resolver(app)
        self.progress = progress
        app.library.on_change(self.packs_changed)
        if self.config_problem:  # shown at `initialized`, listed by `d5e/status` at once
            app.library.warnings.append(f"{NOT_APPLIED}{self.config_problem}")
        # What start-up made (modules, the profile's names) lives as long as the daemon: out of
        # the garbage collector's way, a full collection takes a millisecond, not tens of them
        # in the middle of a request.
        gc.freeze()
        return app

    def initialized(self, loop: asyncio.AbstractEventLoop) -> None:
        """Watch the packs' folders and the campaign, follow other processes."""
        app = self.require_app()
        self.loop = loop
        if self.config_problem:
            self.warn_client(f"{NOT_APPLIED}{self.config_problem}")
        if app.settings.watch:
            self.watcher = PackWatcher(self.reload_soon)
            self.rewatch()
            if app.campaign is not None:
                self.campaign_watcher = PackWatcher(self.campaign_files_changed)
                self.campaign_watcher.watch({"campaign": app.campaign.root})
        self.spawn(self.watch_others())
        if app.db.read_only is not None:
            app.on_recover.append(self.recovered)
            self.spawn(self.recover_later(app))

    async def recover_later(self, app: App) -> None:
        """Look, less and less often, whether the database can be written again."""
        wait, most = RECOVER_SECONDS
        while self.app is app and app.db.read_only is not None:
            await asyncio.sleep(wait)
            wait = min(wait * 2, most)
            if self.app is not app:
                return
            try:
                if app.recover():
                    app.library.changed([])
            except Exception:
                log.exception("looking whether the database can be written again failed")

    def recovered(self) -> None:
        """The database can be written again: say so, and index what was not."""
        self.client.show_warning(
            "d5e: the database can be written again: changes and indexing work again"
        )
        self.start_indexing()

    def index_when_idle(self) -> None:
        """Start the background indexer once the editor is idle (`INDEX_WHEN_IDLE_SECONDS`)."""
        reader = self.reader()
        if reader is None:  # no stdin to watch (a session driven by a test): at once
            self.start_indexing()
            return

        async def when_idle() -> None:
            await reader.requests_first(*INDEX_WHEN_IDLE_SECONDS)
            self.start_indexing()

        self.spawn(when_idle())

    def index_now(self) -> None:
        """A request that follows the index arrived: the indexer starts now if it waits for the
        editor to be idle (before `initialized`, that schedules it as usual)."""
        if self.loop is not None:
            self.start_indexing()

    def start_indexing(self) -> None:
        """Index for search in the background (not on a database d5e may not write)."""
        if self.app is not None and self.indexer is None and self.app.db.read_only is None:
            from .background import BackgroundIndexer  # the daemon's, not the CLI's import

            assert self.loop is not None, "initialized() first"
            self.indexer = BackgroundIndexer(self.app, self.client, self.loop, self.progress)
            self.indexer.schedule()

    def shutdown(self) -> None:
        # Work under way (a settings change installing packs, a reload) stops at its next
        # step, before the database closes under it: a write begun is finished first (the
        # writer thread is shut down with its jobs done); the rest is done at the next start.
        for task in self.tasks:
            task.cancel()
        for watcher in (self.watcher, self.campaign_watcher):
            if watcher is not None:
                watcher.stop()
        self.watcher = self.campaign_watcher = None
        if self.indexer is not None:
            self.indexer.stop()
            self.indexer = None
        if self.app is not None:
            self.app.close()
            self.app = None
            self.resolver = None

    # -- documents ----------------------------------------------------------------------------

    def opened(self, uri: str) -> None:
        if doc := self.prose(uri):
            self.publisher.soon(doc.uri, 0.0)
            self.campaign_text(doc)

    def changed(
        self, uri: str, changes: Sequence[types.TextDocumentContentChangeEvent] = ()
    ) -> None:
        if doc := self.prose(uri):
            self.publisher.edited(doc.uri, edit_end(changes, doc.position_codec.encoding))
            self.publisher.soon(doc.uri)
            self.campaign_text(doc)

    def saved(self, uri: str) -> None:
        self.publisher.saved(uri)
        path = to_fs_path(uri)
        if path and uri.startswith("file:"):
            self.campaign_changed([Path(path)])

    def closed(self, uri: str) -> None:
        self.publisher.closed(uri)
        campaign = self.app.campaign if self.app is not None else None
        path = to_fs_path(uri)
        if campaign is not None and path and uri.startswith("file:"):
            campaign.close_text(Path(path))

    def campaign_text(self, doc: TextDocument) -> None:
        """Hand an open campaign document's text (unsaved changes included) to the campaign."""
        campaign = self.app.campaign if self.app is not None else None
        path = to_fs_path(doc.uri) if doc.uri.startswith("file:") else None
        if campaign is not None and path:
            campaign.open_text(Path(path), doc.lines)

    def campaign_files_changed(self, changes: dict[str, set[str]]) -> None:
        """From the watcher's thread: campaign files changed on disk."""
        paths = [Path(p) for found in changes.values() for p in found if p != "."]
        if any("." in found for found in changes.values()):
            paths.append(self.root or Path("."))  # a folder: walk again
        if self.loop is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self.campaign_seen, paths)

    def campaign_seen(self, paths: list[Path]) -> None:
        """The campaign watcher saw files change: d5e.toml (settings), campaign files."""
        self.config_changed(paths)
        self.campaign_changed(paths)

    def campaign_changed(self, paths: list[Path]) -> None:
        campaign = self.app.campaign if self.app is not None else None
        if campaign is not None:
            campaign.changed(paths)

    def files_changed(self, paths: list[Path]) -> None:
        """The client saw files change: d5e.toml (settings), pack files, campaign files."""
        app = self.require_app()
        self.config_changed(paths)
        changes = app.library.packs_holding(paths)
        if changes:
            self.spawn(self.reload(changes))
        self.campaign_changed(paths)

    # -- settings -----------------------------------------------------------------------------

    def config_changed(self, paths: list[Path]) -> None:
        """If the workspace's d5e.toml is among `paths`, apply it: the editor said so
        (`didChangeWatchedFiles`) or the campaign watcher saw it (Neovim on Linux watches no
        files for its language servers). Whichever comes first applies it; the same text is
        not applied twice."""
        if self.root is None or not any(workspace.is_config(self.root, p) for p in paths):
            return
        text = workspace.config_text(self.root)
        if text != self.config_text:
            self.config_text = text
            self.spawn(self.reconfigure())

    def configuration_changed(self, settings: Any) -> None:
        """The editor's settings changed (`workspace/didChangeConfiguration`)."""
        options = for_d5e(settings)
        if options is not None:  # else nothing for d5e: the settings stay as they are
            self.options = options
            self.spawn(self.reconfigure())

    async def reconfigure(self) -> None:
        """Settings changed (d5e.toml or the editor's): apply what can be applied to the running
        daemon, and report each problem to the client (as start-up does)."""
        app = self.require_app()
        try:
            settings = self.settings()
        except D5eError as exc:  # nothing of the change applies: the settings before stay
            self.warn_client(f"{NOT_APPLIED}{exc.message}")
            return
        for old in [w for w in app.library.warnings if w.startswith(NOT_APPLIED)]:
            app.library.warnings.remove(old)  # applied now: no longer a problem
        for message in await app.reconfigure(settings):
            self.warn_client(message)
        self.client.refresh_hints()  # the party may have changed

    def warn_client(self, message: str) -> None:
        """A problem the user must see: logged, shown, and listed by `d5e/status`."""
        log.warning("%s", message)
        warnings = self.app.library.warnings if self.app is not None else []
        if message not in warnings:
            warnings.append(message)
        self.client.show_warning(f"d5e: {message}")

    # -- packs changing -----------------------------------------------------------------------

    def packs_changed(self, pack_ids: list[str]) -> None:
        """Tell the client, watch the folders of the packs installed now, forget cached
        resolutions and check the open documents again (answers may differ now)."""
        app = self.require_app()
        note = protocol.PacksChanged(packs=pack_ids, warnings=app.library.tie_warnings)
        self.client.notify(protocol.PACKS_CHANGED, msgspec.to_builtins(note))
        self.rewatch()
        if self.resolver is not None:
            self.resolver.clear()
        for doc in list(self.documents().values()):
            if markdown.is_prose(doc):
                self.publisher.soon(doc.uri, 0.0)
        self.client.refresh_hints()
        self.tell_overrides(pack_ids)

    def tell_overrides(self, pack_ids: list[str]) -> None:
        """Show, once, what the changed packs now override of other enabled packs by accident
        (the same ref, no `extends`): an install that silently changed what `{@spell shatter}`
        means is what writers must hear about. Intended overrides (the edition's SRD order, an
        `extends`, a rule) are in the install's result and `d5e packs list`, not a pop-up."""
        app = self.require_app()
        lines = pack_features.new_override_warnings(app, pack_ids, self.told_overrides)
        if lines:
            self.client.show_warning("d5e: " + "\n".join(lines))

    def rewatch(self) -> None:
        app = self.require_app()
        if self.watcher is not None:
            self.watcher.watch(app.library.origins())

    def spawn(self, work: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def reload(self, changes: dict[str, set[str]]) -> None:
        before = self.pack_problems()
        try:
            await self.require_app().library.reload(changes)
        except Exception:
            log.exception("live reload of %s failed", ", ".join(changes))
        after = self.pack_problems()
        for uri in sorted(before.keys() | after.keys()):
            if before.get(uri) != after.get(uri):  # shown in the file, or cleared from it
                self.publisher.extra_changed(uri)

    def pack_problems(self) -> dict[str, list[types.Diagnostic]]:
        """The problems of the packs whose latest live reload failed, by the URI of the file
        each is in: a homebrew author sees them in the pack file saved, not only in
        `d5e/status`."""
        found: dict[str, list[types.Diagnostic]] = {}
        if self.app is None:
            return found
        for problems in self.app.library.reload_problems.values():
            for problem in problems:
                path = Path(str(problem.get("file", "")))
                if not path.is_absolute() or not path.is_file():  # a zip's member, a folder
                    continue
                line = max(int(problem.get("line") or 1) - 1, 0)
                at = types.Position(
                    line=line, character=max(int(problem.get("column") or 1) - 1, 0)
                )
                field, said = problem.get("field"), str(problem.get("message", ""))
                found.setdefault(path.as_uri(), []).append(
                    types.Diagnostic(
                        range=types.Range(start=at, end=at),
                        message=f"{field}: {said}" if field else said,
                        severity=_SEVERITY.get(str(problem.get("severity")), _SEVERITY["error"]),
                        source="d5e",
                        code="pack-problem",
                    )
                )
        return found

    def reload_soon(self, changes: dict[str, set[str]]) -> None:
        """From the watcher's thread: re-import these packs on the event loop."""
        if self.loop is not None and not self.loop.is_closed():
            asyncio.run_coroutine_threadsafe(self.reload(changes), self.loop)

    def follow_soon(self) -> None:
        """A client changed packs by other means (the CLI): follow the database now rather
        than at the next periodic check."""
        if self.app is not None:
            self.spawn(self.follow_database())

    async def watch_others(self) -> None:
        """Notice packs and profiles changed by other processes; re-sync and tell the client."""
        app = self.require_app()
        await app.library.watch(lambda: self.app is app, EXTERNAL_CHECK_SECONDS)

    async def follow_database(self) -> None:
        """If another process changed packs or this profile: re-sync and tell the client."""
        await self.require_app().library.follow_database()
