"""`d5e serve`: the pygls language server. Lifecycle, settings, and thin handlers.

Every custom method goes through `_method`, which decodes params with msgspec (unknown fields
and wrong types → -32602 naming the JSON path), maps `D5eError`s to their JSON-RPC codes, turns
any other exception into a plain -32603 (logged with its traceback on stderr, never on the wire),
and returns `msgspec.to_builtins(result)` because pygls cannot serialise msgspec Structs.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import cattrs
import msgspec
from lsprotocol import types
from lsprotocol.types import ResponseError
from pygls.exceptions import JsonRpcException
from pygls.lsp.server import LanguageServer
from pygls.protocol import (
    JsonRPCNotification,
    JsonRPCRequestMessage,
    LanguageServerProtocol,
    default_converter,
)
from pygls.workspace import TextDocument

from . import __version__, protocol
from .app import App
from .errors import D5eError
from .features import markdown
from .features.complete import complete
from .features.lookup import lookup
from .features.status import status
from .features.tags import Resolver, tag_for_entry
from .settings import Settings, build

log = logging.getLogger(__name__)
P = TypeVar("P", bound=protocol.Params)
R = TypeVar("R")

SERVER_NOT_INITIALIZED = -32002
INTERNAL_ERROR = -32603
INVALID_REQUEST = -32600
PARSE_ERROR = -32700


def _converter() -> cattrs.Converter:
    """pygls' converter, except that custom methods keep their params as plain JSON values
    (pygls would turn them into namedtuples); msgspec decodes them in `_method`."""
    converter: cattrs.Converter = default_converter()  # type: ignore[no-untyped-call]

    def keep_params(obj: dict[str, Any], cls: type[Any]) -> Any:
        fields = {
            "method": obj.get("method"),
            "jsonrpc": obj.get("jsonrpc"),
            "params": obj.get("params"),
        }
        if cls is JsonRPCRequestMessage:
            fields["id"] = obj.get("id")
        return cls(**fields)

    converter.register_structure_hook(JsonRPCRequestMessage, keep_params)
    converter.register_structure_hook(JsonRPCNotification, keep_params)
    return converter


class _ExpectedErrors(logging.Filter):
    """pygls logs every error response with a traceback; ours (not found, bad params) are
    answers, not failures, so they stay out of the log."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not (isinstance(exc, JsonRpcException) and exc.code != INTERNAL_ERROR)


class D5eProtocol(LanguageServerProtocol):
    """pygls' protocol, answering what pygls would silently drop or answer with a traceback:
    a message that is not a JSON-RPC object, a method that is not a string, and a request after
    `shutdown` get -32600 (LSP: "InvalidRequest"); no error response carries a traceback."""

    def handle_message(self, message: Any) -> None:
        msg_id = message.get("id") if isinstance(message, dict) else getattr(message, "id", None)
        method = getattr(message, "method", None)
        if isinstance(message, dict | list) or not hasattr(message, "jsonrpc"):
            self.send_error(msg_id, INVALID_REQUEST, "not a JSON-RPC 2.0 message object")
        elif method is not None and not isinstance(method, str):
            self.send_error(msg_id, INVALID_REQUEST, "`method` must be a string")
        elif self._shutdown and method not in (None, types.EXIT) and msg_id is not None:
            self.send_error(msg_id, INVALID_REQUEST, "the server is shutting down")
        else:
            super().handle_message(message)

    def send_error(self, msg_id: Any, code: int, message: str) -> None:
        # A plain dict: pygls would drop `"id": null`, which JSON-RPC 2.0 requires when an
        # error cannot be tied to a request.
        self._send_data(
            {"jsonrpc": "2.0", "id": msg_id, "error": {"code": code, "message": message}}
        )

    def _send_response(
        self, msg_id: Any, result: Any | None = None, error: ResponseError | None = None
    ) -> None:
        if error is not None and isinstance(error.data, dict) and "traceback" in error.data:
            log.error("%s\n%s", error.message, "".join(error.data["traceback"]))
            error = ResponseError(code=error.code, message=error.message)
        super()._send_response(msg_id, result, error)


class D5eServer(LanguageServer):
    def __init__(self, base: Settings, on_initialized: Callable[[], None] | None = None) -> None:
        super().__init__("d5e", __version__, protocol_cls=D5eProtocol, converter_factory=_converter)
        self.base = base
        self.on_initialized = on_initialized
        self.app: App | None = None
        self.resolver: Resolver | None = None
        self.init_options: dict[str, Any] | None = None

    def report_server_error(self, error: Exception, source: Any) -> None:
        """A body that is not JSON (or nests too deep to parse) gets -32700 with id null."""
        if source is JsonRpcException and isinstance(error, ValueError | RecursionError):
            assert isinstance(self.protocol, D5eProtocol)
            self.protocol.send_error(None, PARSE_ERROR, f"parse error: {error}")
            return
        super().report_server_error(error, source)

    def require_app(self) -> App:
        if self.app is None:
            raise JsonRpcException("d5e is not initialized yet", SERVER_NOT_INITIALIZED)
        return self.app

    def require_resolver(self) -> Resolver:
        if self.resolver is None:
            raise JsonRpcException("d5e is not initialized yet", SERVER_NOT_INITIALIZED)
        return self.resolver

    def prose(self, uri: str) -> TextDocument | None:
        """The open document `uri` if d5e reads it (Markdown or plain text)."""
        doc = self.workspace.get_text_document(uri)
        return doc if markdown.is_prose(doc) else None

    def publish(self, doc: TextDocument) -> None:
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(
                uri=doc.uri,
                diagnostics=markdown.diagnostics(self.require_resolver(), doc),
                version=doc.version,
            )
        )

    def packs_changed(self) -> None:
        """Answers may differ now: forget cached resolutions and check open documents again."""
        if self.resolver is not None:
            self.resolver.clear()
        for doc in list(self.workspace.text_documents.values()):
            if markdown.is_prose(doc):
                self.publish(doc)


def _answer(name: str, fn: Callable[[], R]) -> R:
    """`fn()`; d5e errors become their JSON-RPC codes, any other exception a logged -32603."""
    try:
        return fn()
    except D5eError as exc:
        raise JsonRpcException(exc.message, exc.code, exc.data) from exc
    except JsonRpcException:
        raise
    except Exception as exc:
        log.exception("%s failed", name)
        raise JsonRpcException(
            f"internal error in {name}: {type(exc).__name__}", INTERNAL_ERROR
        ) from exc


def _method(
    server: D5eServer, name: str, params_type: type[P], fn: Callable[[App, P], Any]
) -> None:
    @server.feature(name)
    def handler(ls: D5eServer, params: Any) -> Any:
        app = ls.require_app()
        return _answer(
            name, lambda: msgspec.to_builtins(fn(app, protocol.decode(params, params_type)))
        )


def create_server(base: Settings, on_initialized: Callable[[], None] | None = None) -> D5eServer:
    server = D5eServer(base, on_initialized)

    @server.feature(types.INITIALIZE)
    def initialize(ls: D5eServer, params: types.InitializeParams) -> None:
        options = params.initialization_options
        ls.init_options = options if isinstance(options, dict) else None
        try:
            settings = build(msgspec.to_builtins(ls.base), ls.init_options)
            ls.app = App(settings)
            ls.app.start()
        except D5eError as exc:
            raise JsonRpcException(exc.message, exc.code, exc.data) from exc
        ls.resolver = Resolver(ls.app)
        ls.app.on_packs_changed(lambda pack_ids: ls.packs_changed())

    @server.feature(types.INITIALIZED)
    def initialized(ls: D5eServer, params: types.InitializedParams) -> None:
        if ls.on_initialized is not None:
            ls.on_initialized()
            ls.on_initialized = None

    @server.feature(types.SHUTDOWN)
    def shutdown(ls: D5eServer, params: Any) -> None:
        if ls.app is not None:
            ls.app.close()
            ls.app = None
            ls.resolver = None

    _method(server, protocol.LOOKUP, protocol.LookupParams, lookup)
    _method(server, protocol.COMPLETE, protocol.CompleteParams, complete)
    _method(server, protocol.STATUS, protocol.StatusParams, status)
    _method(server, protocol.DOCUMENT, protocol.DocumentParams, markdown.document)
    _method(server, protocol.TAG_FOR, protocol.TagForParams, tag_for_entry)
    _register_settings(server)
    _register_prose_features(server)
    return server


def _register_settings(server: D5eServer) -> None:
    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    def did_change_configuration(ls: D5eServer, params: types.DidChangeConfigurationParams) -> None:
        """New editor settings: the profile follows them (edition, packs, priorities)."""
        app = ls.app
        if app is None or not isinstance(params.settings, dict):
            return  # a client that only says "something changed" keeps its initial settings
        try:
            settings = build(msgspec.to_builtins(ls.base), ls.init_options, params.settings)
        except D5eError as exc:
            ls.window_show_message(
                types.ShowMessageParams(types.MessageType.Error, f"d5e: {exc.message}")
            )
            return
        if settings.db != app.settings.db:
            log.warning(
                "the database cannot change while d5e runs; restart it to use %s", settings.db
            )
            settings = msgspec.structs.replace(settings, db=app.settings.db)
        app.settings = settings
        app.sync_profile()
        ls.packs_changed()

    @server.feature(protocol.PACKS_CHANGED)
    def packs_changed(ls: D5eServer, params: Any) -> None:
        """A client installed or removed packs (e.g. with the CLI): follow the database."""
        if ls.app is not None:
            ls.app.sync_profile()
            ls.packs_changed()


def _on_prose(
    ls: D5eServer,
    name: str,
    uri: str,
    fn: Callable[[Resolver, TextDocument], R],
    otherwise: R,
) -> R:
    """`fn(resolver, document)` for a document d5e reads; `otherwise` for any other."""
    resolver = ls.require_resolver()
    doc = ls.prose(uri)
    return otherwise if doc is None else _answer(name, lambda: fn(resolver, doc))


def _register_prose_features(server: D5eServer) -> None:
    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: D5eServer, params: types.DidOpenTextDocumentParams) -> None:
        if doc := ls.prose(params.text_document.uri):
            _answer("didOpen", lambda: ls.publish(doc))

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: D5eServer, params: types.DidChangeTextDocumentParams) -> None:
        if doc := ls.prose(params.text_document.uri):
            _answer("didChange", lambda: ls.publish(doc))

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: D5eServer, params: types.DidCloseTextDocumentParams) -> None:
        ls.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=params.text_document.uri, diagnostics=[])
        )

    @server.feature(
        types.TEXT_DOCUMENT_COMPLETION,
        types.CompletionOptions(trigger_characters=["@", " "], resolve_provider=True),
    )
    def completion(ls: D5eServer, params: types.CompletionParams) -> types.CompletionList | None:
        return _on_prose(
            ls,
            "completion",
            params.text_document.uri,
            lambda resolver, doc: markdown.completion(resolver, doc, params.position),
            None,
        )

    @server.feature(types.COMPLETION_ITEM_RESOLVE)
    def completion_resolve(ls: D5eServer, item: types.CompletionItem) -> types.CompletionItem:
        app = ls.require_app()
        return _answer("completionItem/resolve", lambda: markdown.resolve_completion(app, item))

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    def hover(ls: D5eServer, params: types.HoverParams) -> types.Hover | None:
        return _on_prose(
            ls,
            "hover",
            params.text_document.uri,
            lambda resolver, doc: markdown.hover(resolver, doc, params.position),
            None,
        )

    @server.feature(types.TEXT_DOCUMENT_DEFINITION)
    def definition(ls: D5eServer, params: types.DefinitionParams) -> types.Location | None:
        return _on_prose(
            ls,
            "definition",
            params.text_document.uri,
            lambda resolver, doc: markdown.definition(resolver, doc, params.position),
            None,
        )

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(
            code_action_kinds=[types.CodeActionKind.QuickFix, markdown.LINK_TERMS_KIND]
        ),
    )
    def code_action(ls: D5eServer, params: types.CodeActionParams) -> list[types.CodeAction]:
        return _on_prose(
            ls,
            "codeAction",
            params.text_document.uri,
            lambda resolver, doc: markdown.code_actions(
                resolver, doc, params.range, params.context.only
            ),
            [],
        )

    @server.feature(types.TEXT_DOCUMENT_DOCUMENT_LINK, types.DocumentLinkOptions())
    def document_link(ls: D5eServer, params: types.DocumentLinkParams) -> list[types.DocumentLink]:
        return _on_prose(ls, "documentLink", params.text_document.uri, markdown.document_links, [])

    @server.feature(types.WORKSPACE_SYMBOL)
    def workspace_symbol(
        ls: D5eServer, params: types.WorkspaceSymbolParams
    ) -> list[types.SymbolInformation]:
        app = ls.require_app()
        return _answer("workspace/symbol", lambda: markdown.workspace_symbols(app, params.query))


def serve(base: Settings, on_initialized: Callable[[], None] | None = None) -> None:
    """Run on stdio until the client says exit. stdout is the wire: anything else that tries to
    print (a plugin, a library) is sent to stderr instead."""
    logging.getLogger("pygls").setLevel(max(logging.WARNING, logging.getLogger().level))
    logging.getLogger("pygls.protocol.json_rpc").addFilter(_ExpectedErrors())
    wire_in, wire_out = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr
    create_server(base, on_initialized).start_io(wire_in, wire_out)
