"""`d5e serve`: the pygls language server. Lifecycle, settings, and thin handlers.

Every custom method goes through `_method`, which decodes params with msgspec (unknown fields
and wrong types → -32602 naming the JSON path), maps `D5eError`s to their JSON-RPC codes, turns
any other exception into a plain -32603 (logged with its traceback on stderr, never on the wire),
and returns `msgspec.to_builtins(result)` because pygls cannot serialise msgspec Structs.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import cattrs
import msgspec
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pygls.lsp.server import LanguageServer
from pygls.protocol import JsonRPCNotification, JsonRPCRequestMessage, default_converter

from . import __version__, protocol
from .app import App
from .errors import D5eError
from .features.complete import complete
from .features.lookup import lookup
from .features.search import search, search_filters
from .features.status import status
from .settings import Settings, build

log = logging.getLogger(__name__)
P = TypeVar("P", bound=protocol.Params)

SERVER_NOT_INITIALIZED = -32002
INTERNAL_ERROR = -32603


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


class D5eServer(LanguageServer):
    def __init__(self, base: Settings, on_initialized: Callable[[], None] | None = None) -> None:
        super().__init__("d5e", __version__, converter_factory=_converter)
        self.base = base
        self.on_initialized = on_initialized
        self.app: App | None = None
        self.indexer: Any = None
        self.client_progress = False

    def require_app(self) -> App:
        if self.app is None:
            raise JsonRpcException("d5e is not initialized yet", SERVER_NOT_INITIALIZED)
        return self.app


def _method(
    server: D5eServer, name: str, params_type: type[P], fn: Callable[[App, P], Any]
) -> None:
    @server.feature(name)
    def handler(ls: D5eServer, params: Any) -> Any:
        app = ls.require_app()
        try:
            return msgspec.to_builtins(fn(app, protocol.decode(params, params_type)))
        except D5eError as exc:
            raise JsonRpcException(exc.message, exc.code, exc.data) from exc
        except JsonRpcException:
            raise
        except Exception as exc:
            log.exception("%s failed", name)
            raise JsonRpcException(
                f"internal error in {name}: {type(exc).__name__}", INTERNAL_ERROR
            ) from exc


def create_server(base: Settings, on_initialized: Callable[[], None] | None = None) -> D5eServer:
    server = D5eServer(base, on_initialized)

    @server.feature(types.INITIALIZE)
    def initialize(ls: D5eServer, params: types.InitializeParams) -> None:
        options = params.initialization_options
        try:
            settings = build(
                msgspec.to_builtins(ls.base), options if isinstance(options, dict) else None
            )
            ls.app = App(settings)
            ls.app.start()
            # filter attributes now (milliseconds, only for new entries), not in a first search
            # racing the background indexer for the same work
            ls.app.search.ensure_attributes()
        except D5eError as exc:
            raise JsonRpcException(exc.message, exc.code, exc.data) from exc

        window = params.capabilities.window
        ls.client_progress = bool(window and window.work_done_progress)

    @server.feature(types.INITIALIZED)
    def initialized(ls: D5eServer, params: types.InitializedParams) -> None:
        if ls.on_initialized is not None:
            ls.on_initialized()
            ls.on_initialized = None
        if ls.app is not None and ls.indexer is None:
            from .background import BackgroundIndexer

            ls.indexer = BackgroundIndexer(
                ls.app, ls, asyncio.get_running_loop(), ls.client_progress
            )
            ls.indexer.schedule()

    @server.feature(types.SHUTDOWN)
    def shutdown(ls: D5eServer, params: Any) -> None:
        if ls.indexer is not None:
            ls.indexer.stop()
            ls.indexer = None
        if ls.app is not None:
            ls.app.close()
            ls.app = None

    _method(server, protocol.LOOKUP, protocol.LookupParams, lookup)
    _method(server, protocol.COMPLETE, protocol.CompleteParams, complete)
    _method(server, protocol.STATUS, protocol.StatusParams, status)
    _method(server, protocol.SEARCH, protocol.SearchParams, search)
    _method(server, protocol.SEARCH_FILTERS, protocol.SearchFiltersParams, search_filters)
    return server


def serve(base: Settings, on_initialized: Callable[[], None] | None = None) -> None:
    """Run on stdio until the client says exit. stdout is the wire: anything else that tries to
    print (a plugin, a library) is sent to stderr instead."""
    logging.getLogger("pygls").setLevel(max(logging.WARNING, logging.getLogger().level))
    logging.getLogger("pygls.protocol.json_rpc").addFilter(_ExpectedErrors())
    wire_in, wire_out = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr
    create_server(base, on_initialized).start_io(wire_in, wire_out)
