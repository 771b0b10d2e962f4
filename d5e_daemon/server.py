"""`d5e serve`: the pygls language server: start-up, shutdown, and registration from tables.

- `EVENTS`: the session's lifecycle and notifications, each a `D5eServer` method;
- `METHODS`: the `d5e/…` methods, each `fn(app, params)` of `features/` (docs/protocol.md is
  generated from this table);
- `PROSE`: the editor features on one document, each a call of `features/markdown.py` or
  `features/encounter_lens.py`;
- `ON_APP`: the other LSP requests.

The logic is elsewhere, in plain functions: the pack lifecycle and what changed in
`library.py`, a settings change in `App.reconfigure`, diagnostics publishing in
`publishing.py`, the input hardening in `jsonrpc.py`.

Every custom method goes through `_method`, which decodes params with msgspec (unknown fields
and wrong types → -32602 naming the JSON path), maps `D5eError`s to their JSON-RPC codes, turns
any other exception into a plain -32603 (logged with its traceback on stderr, never on the wire),
and returns `msgspec.to_builtins(result)` because pygls cannot serialise msgspec Structs.
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import logging
import sys
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Generic, TypeVar

import msgspec
from lsprotocol import types
from pygls.exceptions import FeatureRequestError, JsonRpcException
from pygls.io_ import StdoutWriter, run_async
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path
from pygls.workspace import TextDocument

from . import __version__, jsonrpc, protocol, workspace
from .app import App
from .errors import D5eError
from .features import documents, encounter_lens, markdown
from .features import packs as pack_features
from .features.complete import complete
from .features.doclines import DocumentFacts
from .features.encounter import encounter
from .features.lookup import lookup
from .features.references import (
    document_references,
    open_campaign,
    references_in_workspace,
    workspace_symbols,
)
from .features.search import search, search_filters
from .features.statblocks import stat_block_entry
from .features.status import status
from .features.tags import Resolver, tag_for_entry
from .publishing import Publisher
from .settings import Settings, build, for_d5e
from .watch import PackWatcher

log = logging.getLogger(__name__)
P = TypeVar("P", bound=protocol.Params)
Q = TypeVar("Q")

EXTERNAL_CHECK_SECONDS = 1.0
"""How often the daemon looks for packs changed by another process (CLI, another editor)."""


class D5eServer(LanguageServer):
    def __init__(
        self,
        env: dict[str, Any],
        flags: dict[str, Any],
        on_initialized: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(
            "d5e",
            __version__,
            protocol_cls=jsonrpc.D5eProtocol,
            converter_factory=jsonrpc.converter,
        )
        self.env, self.flags = env, flags
        self.resolver: Resolver | None = None
        self.options: dict[str, Any] | None = None
        self.root: Path | None = None
        self.on_initialized = on_initialized
        self.app: App | None = None
        self.watcher: PackWatcher | None = None
        self.campaign_watcher: PackWatcher | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.told_overrides: set[str] = set()
        """Override reports already shown to the user (each once: `tell_overrides`)."""
        self.tasks: set[asyncio.Task[Any]] = set()
        self.indexer: Any = None
        self.client_progress = False
        self.exit_code = 0
        self.reader: jsonrpc.BoundedReader | None = None
        self.publisher = Publisher(
            self.prose,
            lambda: self.resolver,
            self.text_document_publish_diagnostics,
            lambda: self.reader,
        )
        """Publishes the diagnostics of open documents, in slices, after changes settle."""

    def start_io(self, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> None:
        """pygls' stdio loop (`_start_io_async`), reading through `jsonrpc.BoundedReader`."""
        self._stop_event = threading.Event()
        protocol = self.protocol
        assert isinstance(protocol, jsonrpc.D5eProtocol)
        reader = self.reader = jsonrpc.BoundedReader(
            stdin or sys.stdin.buffer,
            self.thread_pool,
            lambda message: protocol.send_error(None, jsonrpc.INVALID_REQUEST, message),
        )
        protocol.set_writer(StdoutWriter(stdout or sys.stdout.buffer))
        try:
            asyncio.run(
                run_async(
                    stop_event=self._stop_event,
                    reader=reader,
                    protocol=protocol,
                    logger=log,
                    error_handler=self.report_server_error,
                )
            )
        except BrokenPipeError:
            log.error("the client closed the connection; shutting down")
        except KeyboardInterrupt:
            pass
        except SystemExit as exc:  # `exit`: 0 after `shutdown`, else 1 (LSP)
            self.exit_code = exc.code if isinstance(exc.code, int) else 1
        finally:
            self.shutdown()  # type: ignore[no-untyped-call]

    def report_server_error(self, error: Exception, source: Any) -> None:
        """A body that is not JSON (or nests too deep to parse) gets -32700 with id null. The
        error answer of a request is no server error: an expected one (not found, a refused
        pack) is not logged, an internal one was logged with its traceback by `jsonrpc.failure`."""
        if source is JsonRpcException and isinstance(error, ValueError | RecursionError):
            assert isinstance(self.protocol, jsonrpc.D5eProtocol)
            self.protocol.send_error(None, jsonrpc.PARSE_ERROR, f"parse error: {error}")
            return
        if source is FeatureRequestError and isinstance(error, JsonRpcException):
            return
        log.error("%s", error, exc_info=error)  # pygls only shows it to the user
        super().report_server_error(error, source)

    def require_app(self) -> App:
        if self.app is None:
            raise JsonRpcException("d5e is not initialized yet", jsonrpc.SERVER_NOT_INITIALIZED)
        return self.app

    def require_resolver(self) -> Resolver:
        if self.resolver is None:
            raise JsonRpcException("d5e is not initialized yet", jsonrpc.SERVER_NOT_INITIALIZED)
        return self.resolver

    def prose(self, uri: str) -> TextDocument | None:
        """The open document `uri` if d5e reads it (Markdown or plain text). A document the
        client never opened is none of ours (pygls would read it from disk, or fail to)."""
        doc = self.workspace.text_documents.get(uri)
        return doc if doc is not None and markdown.is_prose(doc) else None

    async def with_facts(self, doc: TextDocument, answer: Callable[[DocumentFacts], Q]) -> Q:
        """`answer` from the facts of the document as it is now, found in slices with other
        requests answered in between (`Publisher.facts_of`)."""
        return answer(await self.publisher.facts_of(doc))

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
            self.loop.call_soon_threadsafe(self.campaign_changed, paths)

    def campaign_changed(self, paths: list[Path]) -> None:
        campaign = self.app.campaign if self.app is not None else None
        if campaign is not None:
            campaign.changed(paths)

    def settings(self) -> Settings:
        """defaults → environment → the workspace's d5e.toml → flags → the editor's options."""
        return build(self.env, workspace.layer(self.root), self.flags, self.options)

    # -- packs changing ------------------------------------------------------------------------

    def packs_changed(self, pack_ids: list[str]) -> None:
        """Tell the client, watch the folders of the packs installed now, forget cached
        resolutions and check the open documents again (answers may differ now)."""
        app = self.require_app()
        note = protocol.PacksChanged(packs=pack_ids, warnings=app.library.tie_warnings)
        self.protocol.notify(protocol.PACKS_CHANGED, msgspec.to_builtins(note))
        self.rewatch()
        if self.resolver is not None:
            self.resolver.clear()
        for doc in list(self.workspace.text_documents.values()):
            if markdown.is_prose(doc):
                self.publisher.soon(doc.uri, 0.0)
        self.refresh_hints()
        self.tell_overrides(pack_ids)

    def tell_overrides(self, pack_ids: list[str]) -> None:
        """Show, once, what the changed packs now override of other enabled packs by accident
        (the same ref, no `extends`): an install that silently changed what `{@spell shatter}`
        means is what writers must hear about. Intended overrides (the edition's SRD order, an
        `extends`, a rule) are in the install's result and `d5e packs list`, not a pop-up."""
        app = self.require_app()
        lines = pack_features.new_override_warnings(app, pack_ids, self.told_overrides)
        if lines:
            text = "d5e: " + "\n".join(lines)
            self.window_show_message(types.ShowMessageParams(types.MessageType.Warning, text))

    def rewatch(self) -> None:
        app = self.require_app()
        if self.watcher is not None:
            self.watcher.watch(app.library.origins())

    def spawn(self, work: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def reload(self, changes: dict[str, set[str]]) -> None:
        try:
            await self.require_app().library.reload(changes)
        except Exception:
            log.exception("live reload of %s failed", ", ".join(changes))

    def reload_soon(self, changes: dict[str, set[str]]) -> None:
        """From the watcher's thread: re-import these packs on the event loop."""
        if self.loop is not None and not self.loop.is_closed():
            asyncio.run_coroutine_threadsafe(self.reload(changes), self.loop)

    async def watch_others(self) -> None:
        """Notice packs and profiles changed by other processes; re-sync and tell the client."""
        app = self.require_app()
        await app.library.watch(lambda: self.app is app, EXTERNAL_CHECK_SECONDS)

    async def follow_database(self) -> None:
        """If another process changed packs or this profile: re-sync and tell the client."""
        await self.require_app().library.follow_database()

    def warn_client(self, message: str) -> None:
        """A problem the user must see: logged, shown, and listed by `d5e/status`."""
        log.warning("%s", message)
        warnings = self.app.library.warnings if self.app is not None else []
        if message not in warnings:
            warnings.append(message)
        self.window_show_message(
            types.ShowMessageParams(types.MessageType.Warning, f"d5e: {message}")
        )

    async def reconfigure(self) -> None:
        """Settings changed (d5e.toml or the editor's): apply what can be applied to the running
        daemon, and report each problem to the client (as start-up does)."""
        app = self.require_app()
        try:
            settings = self.settings()
        except D5eError as exc:
            self.warn_client(f"settings not applied: {exc.message}")
            return
        for message in await app.reconfigure(settings):
            self.warn_client(message)
        self.refresh_hints()  # the party may have changed

    def refresh_hints(self) -> None:
        """Ask the client to ask again for code lenses and inlay hints (encounter difficulty
        follows the party and the packs), where it says it can."""
        caps = self.client_capabilities.workspace
        if caps and caps.code_lens and caps.code_lens.refresh_support:
            self.protocol.send_request(types.WORKSPACE_CODE_LENS_REFRESH, None)
        if caps and caps.inlay_hint and caps.inlay_hint.refresh_support:
            self.protocol.send_request(types.WORKSPACE_INLAY_HINT_REFRESH, None)

    # -- the session: lifecycle and notifications (registered from `EVENTS`) ---------------------

    def did_initialize(self, params: types.InitializeParams) -> None:
        """Open the database and the packs the settings name (a failure leaves nothing open:
        the client may try again, with another database say)."""
        if self.app is not None:  # a second App would leak the first's threads and database
            raise JsonRpcException(
                "d5e is already initialized (once per session)", jsonrpc.INVALID_REQUEST
            )
        options = params.initialization_options
        self.options = options if isinstance(options, dict) else None
        self.root = _root(params)
        try:
            app = App(self.settings())
        except D5eError as exc:
            raise JsonRpcException(exc.message, exc.code, exc.data) from exc
        try:
            app.start()
            # filter attributes and keyword texts now (only for new or changed entries: a
            # fraction of a second for the SRD), not in the first request that needs them
            # (a search, the campaign's references), which would wait for them on the event loop
            app.search.ensure_attributes()
        except Exception as exc:
            app.close()
            raise jsonrpc.failure("initialize", exc) from exc
        app.campaign = open_campaign(app)
        self.app = app
        self.resolver = Resolver(app)
        app.library.on_change(self.packs_changed)
        # What start-up made (modules, the profile's names) lives as long as the daemon: out of
        # the garbage collector's way, a full collection takes a millisecond, not tens of them
        # in the middle of a request.
        gc.freeze()
        window = params.capabilities.window
        self.client_progress = bool(window and window.work_done_progress)

    def did_initialized(self, params: types.InitializedParams) -> None:
        """Watch the packs' folders and the campaign, follow other processes, start indexing."""
        app = self.require_app()
        self.loop = asyncio.get_event_loop()
        if app.settings.watch:
            self.watcher = PackWatcher(self.reload_soon)
            self.rewatch()
            if app.campaign is not None:
                self.campaign_watcher = PackWatcher(self.campaign_files_changed)
                self.campaign_watcher.watch({"campaign": app.campaign.root})
        _register_file_watchers(self)
        self.spawn(self.watch_others())
        if self.on_initialized is not None:
            self.on_initialized()
            self.on_initialized = None
        if self.app is not None and self.indexer is None and self.app.db.read_only is None:
            from .background import BackgroundIndexer

            self.indexer = BackgroundIndexer(
                self.app, self, asyncio.get_running_loop(), self.client_progress
            )
            self.indexer.schedule()

    def did_shutdown(self, params: Any) -> None:
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

    def did_change_watched_files(self, params: types.DidChangeWatchedFilesParams) -> None:
        """The client saw files change: d5e.toml (settings), pack files, campaign files."""
        app = self.require_app()
        paths = [Path(to_fs_path(change.uri) or "") for change in params.changes]
        if self.root is not None and self.root / workspace.CONFIG in paths:
            self.spawn(self.reconfigure())
        changes = app.library.packs_holding(paths)
        if changes:
            self.spawn(self.reload(changes))
        self.campaign_changed(paths)

    def did_change_configuration(self, params: types.DidChangeConfigurationParams) -> None:
        options = for_d5e(params.settings)
        if options is not None:  # else nothing for d5e: the settings stay as they are
            self.options = options
            self.spawn(self.reconfigure())

    def client_changed_packs(self, params: Any) -> None:
        """A client changed packs by other means (the CLI): follow the database now rather
        than at the next periodic check."""
        if self.app is not None:
            self.spawn(self.follow_database())

    def did_open(self, params: types.DidOpenTextDocumentParams) -> None:
        if doc := self.prose(params.text_document.uri):
            self.publisher.soon(doc.uri, 0.0)
            jsonrpc.answer("didOpen", lambda: self.campaign_text(doc))

    def did_change(self, params: types.DidChangeTextDocumentParams) -> None:
        if doc := self.prose(params.text_document.uri):
            self.publisher.soon(doc.uri)
            jsonrpc.answer("didChange", lambda: self.campaign_text(doc))

    def did_save(self, params: types.DidSaveTextDocumentParams) -> None:
        path = to_fs_path(params.text_document.uri)
        if path and params.text_document.uri.startswith("file:"):
            self.campaign_changed([Path(path)])

    def did_close(self, params: types.DidCloseTextDocumentParams) -> None:
        self.publisher.closed(params.text_document.uri)
        campaign = self.app.campaign if self.app is not None else None
        path = to_fs_path(params.text_document.uri)
        if campaign is not None and path and params.text_document.uri.startswith("file:"):
            campaign.close_text(Path(path))


EVENTS: tuple[tuple[str, Callable[[D5eServer, Any], None]], ...] = (
    (types.INITIALIZE, D5eServer.did_initialize),
    (types.INITIALIZED, D5eServer.did_initialized),
    (types.SHUTDOWN, D5eServer.did_shutdown),
    (types.WORKSPACE_DID_CHANGE_WATCHED_FILES, D5eServer.did_change_watched_files),
    (types.WORKSPACE_DID_CHANGE_CONFIGURATION, D5eServer.did_change_configuration),
    (protocol.PACKS_CHANGED, D5eServer.client_changed_packs),
    (types.TEXT_DOCUMENT_DID_OPEN, D5eServer.did_open),
    (types.TEXT_DOCUMENT_DID_CHANGE, D5eServer.did_change),
    (types.TEXT_DOCUMENT_DID_SAVE, D5eServer.did_save),
    (types.TEXT_DOCUMENT_DID_CLOSE, D5eServer.did_close),
)
"""The session's lifecycle and notifications: (method, `D5eServer` method called with params)."""

Handler = Callable[[App, Any], Any] | Callable[[App, Any], Awaitable[Any]]
METHODS: tuple[tuple[str, type[protocol.Params], Handler], ...] = (
    (protocol.LOOKUP, protocol.LookupParams, lookup),
    (protocol.COMPLETE, protocol.CompleteParams, complete),
    (protocol.STATUS, protocol.StatusParams, status),
    (protocol.PACKS_LIST, protocol.PacksListParams, pack_features.list_packs),
    (protocol.PACKS_INSTALL, protocol.PackInstallParams, pack_features.install),
    (protocol.PACKS_ENABLE, protocol.PackIdParams, pack_features.enable),
    (protocol.PACKS_DISABLE, protocol.PackIdParams, pack_features.disable),
    (protocol.PACKS_REMOVE, protocol.PackIdParams, pack_features.remove),
    (protocol.PACKS_VALIDATE, protocol.ValidateParams, pack_features.validate),
    (protocol.PACKS_SET_PRIORITY, protocol.SetPriorityParams, pack_features.set_priority),
    (protocol.PACKS_CREATE, protocol.CreateParams, pack_features.create),
    (protocol.PACKS_UPLOAD, protocol.UploadParams, pack_features.upload),
    (protocol.DOCUMENT, protocol.DocumentParams, documents.document),
    (protocol.TAG_FOR, protocol.TagForParams, tag_for_entry),
    (protocol.RESOLVE_TAGS, protocol.ResolveTagsParams, documents.resolve_tags),
    (protocol.SEARCH, protocol.SearchParams, search),
    (protocol.SEARCH_FILTERS, protocol.SearchFiltersParams, search_filters),
    (protocol.REFERENCES, protocol.ReferencesParams, references_in_workspace),
    (protocol.STAT_BLOCK, protocol.StatBlockParams, stat_block_entry),
    (protocol.ENCOUNTER, protocol.EncounterParams, encounter),
)
"""Every custom method: (name, params type, `fn(app, params)`, a coroutine when it writes)."""


@dataclass(frozen=True)
class OnProse(Generic[Q]):
    """An LSP request about one document: `answer(ls, resolver, document, params)` for a
    document d5e reads (Markdown or plain text), `otherwise` for any other."""

    method: str
    params: type[Q]
    answer: Callable[[D5eServer, Resolver, TextDocument, Q], Any]
    otherwise: Any = None
    options: Any = None
    waits: bool = False
    """`answer` returns an awaitable (it may wait for the campaign's first reading)."""


PROSE: tuple[OnProse[Any], ...] = (
    OnProse(
        types.TEXT_DOCUMENT_COMPLETION,
        types.CompletionParams,
        lambda ls, resolver, doc, p: markdown.completion(resolver, doc, p.position),
        options=types.CompletionOptions(trigger_characters=["@", " "], resolve_provider=True),
    ),
    OnProse(
        types.TEXT_DOCUMENT_HOVER,
        types.HoverParams,
        lambda ls, resolver, doc, p: markdown.hover(resolver, doc, p.position),
    ),
    OnProse(
        types.TEXT_DOCUMENT_DEFINITION,
        types.DefinitionParams,
        lambda ls, resolver, doc, p: markdown.definition(resolver, doc, p.position),
    ),
    OnProse(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionParams,
        lambda ls, resolver, doc, p: markdown.code_actions(resolver, doc, p.range, p.context.only),
        [],
        types.CodeActionOptions(
            code_action_kinds=[
                types.CodeActionKind.QuickFix,
                markdown.LINK_TERMS_KIND,
                markdown.STAT_BLOCK_KIND,
            ]
        ),
    ),
    OnProse(
        types.TEXT_DOCUMENT_CODE_LENS,
        types.CodeLensParams,
        lambda ls, resolver, doc, p: ls.with_facts(
            doc,
            lambda facts: encounter_lens.code_lenses(
                resolver,
                doc,
                encounter_lens.hint_kinds(ls.client_capabilities.text_document)[0],
                facts,
            ),
        ),
        [],
        types.CodeLensOptions(),
        waits=True,
    ),
    OnProse(
        types.TEXT_DOCUMENT_INLAY_HINT,
        types.InlayHintParams,
        lambda ls, resolver, doc, p: ls.with_facts(
            doc,
            lambda facts: encounter_lens.inlay_hints(
                resolver,
                doc,
                p.range,
                encounter_lens.hint_kinds(ls.client_capabilities.text_document)[1],
                facts,
            ),
        ),
        [],
        types.InlayHintOptions(),
        waits=True,
    ),
    OnProse(
        types.TEXT_DOCUMENT_DOCUMENT_LINK,
        types.DocumentLinkParams,
        lambda ls, resolver, doc, p: ls.with_facts(
            doc, lambda facts: markdown.document_links(resolver, doc, facts)
        ),
        [],
        types.DocumentLinkOptions(),
        waits=True,
    ),
    OnProse(
        types.TEXT_DOCUMENT_REFERENCES,
        types.ReferenceParams,
        lambda ls, resolver, doc, p: document_references(
            ls.require_app(), resolver, doc, p.position, p.context.include_declaration
        ),
        waits=True,
    ),
    OnProse(
        types.TEXT_DOCUMENT_DOCUMENT_SYMBOL,
        types.DocumentSymbolParams,
        lambda ls, resolver, doc, p: ls.with_facts(
            doc, lambda facts: markdown.document_symbols(resolver, doc, facts)
        ),
        [],
        waits=True,
    ),
)
"""The editor features on a document; the logic is in `features/markdown.py` and
`features/encounter_lens.py`."""

ON_APP: tuple[tuple[str, Callable[[App, Any], Any]], ...] = (
    (types.COMPLETION_ITEM_RESOLVE, markdown.resolve_completion),
    (types.WORKSPACE_SYMBOL, workspace_symbols),
)
"""LSP requests about no one document: (method, `fn(app, params)`)."""


def _event(server: D5eServer, method: str, fn: Callable[[D5eServer, Any], None]) -> None:
    @server.feature(method)
    def handler(ls: D5eServer, params: Any) -> None:
        fn(ls, params)


def _method(
    server: D5eServer,
    name: str,
    params_type: type[P],
    fn: Callable[[App, P], Any] | Callable[[App, P], Awaitable[Any]],
) -> None:
    """Register a custom method; `fn` may be a coroutine function (one that writes)."""
    if inspect.iscoroutinefunction(fn):

        @server.feature(name)
        async def async_handler(ls: D5eServer, params: Any) -> Any:
            app = ls.require_app()
            try:
                return msgspec.to_builtins(await fn(app, protocol.decode(params, params_type)))
            except Exception as exc:
                raise jsonrpc.failure(name, exc) from exc

        return

    @server.feature(name)
    def handler(ls: D5eServer, params: Any) -> Any:
        app = ls.require_app()
        return jsonrpc.answer(
            name, lambda: msgspec.to_builtins(fn(app, protocol.decode(params, params_type)))
        )


def _root(params: types.InitializeParams) -> Path | None:
    """The first workspace folder (or the root the client gives) as a local path."""
    uri = params.workspace_folders[0].uri if params.workspace_folders else params.root_uri
    path = to_fs_path(uri) if uri else params.root_path
    return Path(path) if path else None


def _on_prose(server: D5eServer, feature: OnProse[Any]) -> None:
    name = feature.method.rsplit("/", 1)[-1]

    if feature.waits:  # a coroutine, answered after what arrives meanwhile

        @server.feature(feature.method, feature.options)
        async def async_handler(ls: D5eServer, params: Any) -> Any:
            resolver = ls.require_resolver()
            doc = ls.prose(params.text_document.uri)
            if doc is None:
                return feature.otherwise
            return await _awaited(name, lambda: feature.answer(ls, resolver, doc, params))

        return

    @server.feature(feature.method, feature.options)
    def handler(ls: D5eServer, params: Any) -> Any:
        resolver = ls.require_resolver()
        doc = ls.prose(params.text_document.uri)
        if doc is None:
            return feature.otherwise
        return jsonrpc.answer(name, lambda: feature.answer(ls, resolver, doc, params))


def _on_app(server: D5eServer, method: str, fn: Callable[[App, Any], Any]) -> None:
    if inspect.iscoroutinefunction(fn):

        @server.feature(method)
        async def async_handler(ls: D5eServer, params: Any) -> Any:
            app = ls.require_app()
            return await _awaited(method, lambda: fn(app, params))

        return

    @server.feature(method)
    def handler(ls: D5eServer, params: Any) -> Any:
        app = ls.require_app()
        return jsonrpc.answer(method, lambda: fn(app, params))


async def _awaited(name: str, answer: Callable[[], Awaitable[Any]]) -> Any:
    """The answer of a handler that waits (for the campaign's first reading), its failure
    told as every handler's is."""
    try:
        return await answer()
    except Exception as exc:
        raise jsonrpc.failure(name, exc) from exc


def _register_file_watchers(ls: D5eServer) -> None:
    """Ask the client to send `workspace/didChangeWatchedFiles` for d5e.toml and pack files."""
    caps = ls.client_capabilities.workspace
    watched = caps.did_change_watched_files if caps else None
    if not (watched and watched.dynamic_registration):
        return
    options = types.DidChangeWatchedFilesRegistrationOptions(
        watchers=[
            types.FileSystemWatcher(glob_pattern=f"**/{workspace.CONFIG}"),
            types.FileSystemWatcher(glob_pattern="**/*.{json,md,markdown,toml,zip}"),
        ]
    )
    registration = types.Registration(
        id="d5e-watched-files",
        method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
        register_options=options,
    )
    ls.client_register_capability(types.RegistrationParams(registrations=[registration]))


def create_server(
    env: dict[str, Any],
    flags: dict[str, Any],
    on_initialized: Callable[[], None] | None = None,
) -> D5eServer:
    """The language server with every method of the tables above registered."""
    server = D5eServer(env, flags, on_initialized)
    for method, event in EVENTS:
        _event(server, method, event)
    for name, params_type, fn in METHODS:
        _method(server, name, params_type, fn)
    for feature in PROSE:
        _on_prose(server, feature)
    for method, fn in ON_APP:
        _on_app(server, method, fn)
    return server


def serve(
    env: dict[str, Any],
    flags: dict[str, Any],
    on_initialized: Callable[[], None] | None = None,
) -> int:
    """Run on stdio until the client says exit; return the exit status. stdout is the wire:
    anything else that tries to print (a plugin, a library) is sent to stderr instead."""
    logging.getLogger("pygls").setLevel(max(logging.WARNING, logging.getLogger().level))
    logging.getLogger("pygls.protocol.json_rpc").addFilter(jsonrpc.ExpectedErrors())
    logging.getLogger("watchdog").setLevel(max(logging.WARNING, logging.getLogger().level))
    wire_in, wire_out = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr
    server = create_server(env, flags, on_initialized)
    server.start_io(wire_in, wire_out)
    return server.exit_code
