"""`d5e serve`: the pygls language server: start-up, shutdown, and registration from tables.

- `EVENTS`: the session's lifecycle and notifications, each one call of `session.Session`;
- `METHODS`: the `d5e/…` methods, each `fn(app, params)` of `features/` (docs/protocol.md is
  generated from this table);
- `PROSE`: the editor features on one document, each a call of `features/markdown.py` or
  `features/encounter_lens.py`;
- `ON_APP`: the other LSP requests.

The logic is elsewhere, in plain functions and objects tests call without a server: the open
documents, the campaign and what a pack or settings change does in `session.py`, the pack
lifecycle in `library.py`, a settings change in `App.reconfigure`, diagnostics publishing in
`publishing.py`, the input hardening in `jsonrpc.py`.

Every custom method goes through `_method`, which decodes params with msgspec (unknown fields
and wrong types → -32602 naming the JSON path), maps `D5eError`s to their JSON-RPC codes, turns
any other exception into a plain -32603 (logged with its traceback on stderr, never on the wire),
and returns the result encoded by msgspec (`jsonrpc.encoded`: pygls cannot serialise msgspec
Structs, and it is written into the response as it is).
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import logging
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Generic, TypeVar

from lsprotocol import types
from pygls.exceptions import FeatureRequestError, JsonRpcException
from pygls.io_ import StdoutWriter, run_async
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path
from pygls.workspace import TextDocument

from . import __version__, jsonrpc, protocol, workspace
from .app import App
from .features import documents, encounter_lens, markdown
from .features import packs as pack_features
from .features.complete import complete
from .features.doclines import DocumentFacts
from .features.encounter import encounter
from .features.lookup import lookup
from .features.references import document_references, references_in_workspace, workspace_symbols
from .features.search import once_attributes_ready, search, search_filters
from .features.statblocks import stat_block_entry
from .features.status import status
from .features.tags import Resolver, tag_for_entry
from .session import Session

log = logging.getLogger(__name__)
P = TypeVar("P", bound=protocol.Params)
Q = TypeVar("Q")


def _not_handled_yet(record: logging.LogRecord) -> bool:
    """pygls' reading loop logs the traceback of a message it could not handle, then calls
    `report_server_error`, which logs it (a body that is not JSON: one line; anything else:
    with its traceback): its own record is left out."""
    return record.msg != "Unable to handle message"


READER_LOG = logging.getLogger(f"{__name__}.reader")
"""The logger pygls' reading loop is given."""
READER_LOG.addFilter(_not_handled_yet)


class D5eServer(LanguageServer):
    """pygls' server over stdio, with d5e's input hardening (`jsonrpc.py`); the session (the
    App, the open documents, pack and settings changes) is `session.Session`, to which this
    server is the `Client`."""

    def __init__(
        self,
        env: dict[str, Any],
        flags: dict[str, Any],
        on_initialized: Callable[[], None] | None = None,
        began: float | None = None,
    ) -> None:
        self.began = began
        """When the process started (`time.perf_counter()`), for the log of the start."""
        self.imported = time.perf_counter()
        super().__init__(
            "d5e",
            __version__,
            protocol_cls=jsonrpc.D5eProtocol,
            converter_factory=jsonrpc.converter,
        )
        self.on_initialized = on_initialized
        self.exit_code = 0
        self.reader: jsonrpc.BoundedReader | None = None
        self.session = Session(
            env, flags, self, lambda: self.workspace.text_documents, lambda: self.reader
        )

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
                    logger=READER_LOG,
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
            log.warning("a message that is not JSON, answered %d: %s", jsonrpc.PARSE_ERROR, error)
            return
        if source is FeatureRequestError and isinstance(error, JsonRpcException):
            return
        log.error("%s", error, exc_info=error)  # pygls only shows it to the user
        super().report_server_error(error, source)

    def require_app(self) -> App:
        return jsonrpc.answer("a request", self.session.require_app)

    def require_resolver(self) -> Resolver:
        return jsonrpc.answer("a request", self.session.require_resolver)

    # -- the session's `Client` ------------------------------------------------------------------

    def notify(self, method: str, params: Any) -> None:
        self.protocol.notify(method, params)

    async def with_facts(self, doc: TextDocument, answer: Callable[[DocumentFacts], Q]) -> Q:
        """`answer` from the facts of the document as it is now, found in slices with other
        requests answered in between (`Publisher.facts_of`)."""
        return answer(await self.session.publisher.facts_of(doc))

    def show_warning(self, text: str) -> None:
        self.window_show_message(types.ShowMessageParams(types.MessageType.Warning, text))

    def publish_diagnostics(self, params: types.PublishDiagnosticsParams) -> None:
        self.text_document_publish_diagnostics(params)

    def refresh_hints(self) -> None:
        """Ask the client to ask again for code lenses and inlay hints (encounter difficulty
        follows the party and the packs), where it says it can."""
        caps = self.client_capabilities.workspace
        if caps and caps.code_lens and caps.code_lens.refresh_support:
            self.protocol.send_request(types.WORKSPACE_CODE_LENS_REFRESH, None)
        if caps and caps.inlay_hint and caps.inlay_hint.refresh_support:
            self.protocol.send_request(types.WORKSPACE_INLAY_HINT_REFRESH, None)


# -- the session: lifecycle and notifications (registered from `EVENTS`) -------------------------


def _initialize(ls: D5eServer, params: types.InitializeParams) -> None:
    window = params.capabilities.window
    progress = bool(window and window.work_done_progress)
    options = params.initialization_options
    try:
        jsonrpc.answer(
            "initialize", lambda: ls.session.initialize(options, _root(params), progress)
        )
    finally:
        gc.enable()  # off while the daemon started (`cli.cmd_serve`)
    if ls.began is not None:
        now = time.perf_counter()
        log.info(
            "initialize answered %.0f ms after the process started (Python and imports %.0f ms, "
            "the database and packs %.0f ms; CPU %.0f ms)",
            1000 * (now - ls.began),
            1000 * (ls.imported - ls.began),
            1000 * (now - ls.imported),
            1000 * time.process_time(),  # the whole process's, Python's own start included
        )


def _initialized(ls: D5eServer, params: types.InitializedParams) -> None:
    """Watch the packs' folders and the campaign, follow other processes, start indexing."""
    jsonrpc.answer("initialized", lambda: ls.session.initialized(asyncio.get_event_loop()))
    _register_file_watchers(ls)
    if ls.on_initialized is not None:
        ls.on_initialized()
        ls.on_initialized = None
    ls.session.index_when_idle()


def _did_change_watched_files(ls: D5eServer, params: types.DidChangeWatchedFilesParams) -> None:
    ls.require_app()
    paths = [Path(to_fs_path(change.uri) or "") for change in params.changes]
    ls.session.files_changed(paths)


def _did_open(ls: D5eServer, params: types.DidOpenTextDocumentParams) -> None:
    jsonrpc.answer("didOpen", lambda: ls.session.opened(params.text_document.uri))


def _did_change(ls: D5eServer, params: types.DidChangeTextDocumentParams) -> None:
    jsonrpc.answer(
        "didChange",
        lambda: ls.session.changed(params.text_document.uri, params.content_changes),
    )


EVENTS: tuple[tuple[str, Callable[[D5eServer, Any], None]], ...] = (
    (types.INITIALIZE, _initialize),
    (types.INITIALIZED, _initialized),
    (types.SHUTDOWN, lambda ls, params: ls.session.shutdown()),
    (types.WORKSPACE_DID_CHANGE_WATCHED_FILES, _did_change_watched_files),
    (
        types.WORKSPACE_DID_CHANGE_CONFIGURATION,
        lambda ls, params: ls.session.configuration_changed(params.settings),
    ),
    (protocol.PACKS_CHANGED, lambda ls, params: ls.session.follow_soon()),
    (types.TEXT_DOCUMENT_DID_OPEN, _did_open),
    (types.TEXT_DOCUMENT_DID_CHANGE, _did_change),
    (types.TEXT_DOCUMENT_DID_SAVE, lambda ls, params: ls.session.saved(params.text_document.uri)),
    (
        types.TEXT_DOCUMENT_DID_CLOSE,
        lambda ls, params: ls.session.closed(params.text_document.uri),
    ),
)
"""The session's lifecycle and notifications: (method, `fn(server, params)`), each one call of
`session.Session`."""

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
    (protocol.SEARCH, protocol.SearchParams, once_attributes_ready(search)),
    (
        protocol.SEARCH_FILTERS,
        protocol.SearchFiltersParams,
        once_attributes_ready(search_filters),
    ),
    (protocol.REFERENCES, protocol.ReferencesParams, references_in_workspace),
    (protocol.STAT_BLOCK, protocol.StatBlockParams, stat_block_entry),
    (protocol.ENCOUNTER, protocol.EncounterParams, encounter),
)
"""Every custom method: (name, params type, `fn(app, params)`, a coroutine when it writes or
waits)."""

INDEX_NOW = frozenset({protocol.STATUS, protocol.SEARCH, protocol.SEARCH_FILTERS})
"""Methods whose answers follow the search index: the background indexer starts at once for
them, not once the editor is idle (`Session.index_when_idle`)."""


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
    index_now = name in INDEX_NOW
    if inspect.iscoroutinefunction(fn):

        @server.feature(name)
        async def async_handler(ls: D5eServer, params: Any) -> Any:
            app = ls.require_app()
            if index_now:
                ls.session.index_now()
            try:
                return jsonrpc.encoded(await fn(app, protocol.decode(params, params_type)))
            except Exception as exc:
                raise jsonrpc.failure(name, exc) from exc

        return

    @server.feature(name)
    def handler(ls: D5eServer, params: Any) -> Any:
        app = ls.require_app()
        if index_now:
            ls.session.index_now()
        return jsonrpc.answer(
            name, lambda: jsonrpc.encoded(fn(app, protocol.decode(params, params_type)))
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
            doc = ls.session.prose(params.text_document.uri)
            if doc is None:
                return feature.otherwise
            return await _awaited(name, lambda: feature.answer(ls, resolver, doc, params))

        return

    @server.feature(feature.method, feature.options)
    def handler(ls: D5eServer, params: Any) -> Any:
        resolver = ls.require_resolver()
        doc = ls.session.prose(params.text_document.uri)
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
    began: float | None = None,
) -> D5eServer:
    """The language server with every method of the tables above registered."""
    server = D5eServer(env, flags, on_initialized, began)
    for method, event in EVENTS:
        _event(server, method, event)
    for name, params_type, fn in METHODS:
        _method(server, name, params_type, fn)
    for feature in PROSE:
        _on_prose(server, feature)
    for method, fn in ON_APP:
        _on_app(server, method, fn)
    return server


def generate_start_code() -> None:
    """What a start of the server generates with attrs and cattrs, without running it: the
    server with its features (lsprotocol's classes, pygls' converter), and the converter's
    functions for every method it registers: the messages it reads and the answers it writes
    (`codecache.fill_seed` keeps their code)."""
    server = create_server({}, {})
    protocol = server.protocol
    converter = protocol._converter
    methods = {*protocol.fm.builtin_features, *protocol.fm.features}
    for method in sorted(methods):
        message, answer, *_ = types.METHOD_TO_TYPES.get(method, (None, None))
        if message is not None:
            converter.get_structure_hook(message)
        if answer is not None:
            converter.get_unstructure_hook(answer)


def serve(
    env: dict[str, Any],
    flags: dict[str, Any],
    on_initialized: Callable[[], None] | None = None,
    began: float | None = None,
) -> int:
    """Run on stdio until the client says exit; return the exit status. stdout is the wire:
    anything else that tries to print (a plugin, a library) is sent to stderr instead."""
    logging.getLogger("pygls").setLevel(max(logging.WARNING, logging.getLogger().level))
    logging.getLogger("pygls.protocol.json_rpc").addFilter(jsonrpc.ExpectedErrors())
    logging.getLogger("watchdog").setLevel(max(logging.WARNING, logging.getLogger().level))
    wire_in, wire_out = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr
    server = create_server(env, flags, on_initialized, began)
    server.start_io(wire_in, wire_out)
    return server.exit_code
