"""JSON-RPC input hardening: what the daemon answers to messages pygls would drop, answer with a
traceback, or die on.

- `D5eProtocol`: a message that is not a JSON-RPC object, a method that is not a string, or a
  request after `shutdown` gets -32600; lone surrogates in LSP params become U+FFFD; LSP params
  that do not fit their types get -32602 naming the field; no error carries a traceback.
- `BoundedReader`: a message larger than `MAX_MESSAGE_BYTES`, or a header line without an end,
  is refused unread and skipped up to the next header.
- `failure` / `answer`: d5e errors keep their JSON-RPC codes, a storage error is a
  `DatabaseError`, anything else a logged -32603.
- `converter`: custom (`d5e/`) methods keep their params as plain JSON for msgspec to decode.
- `encoded`: a custom method's result as msgspec encoded it, written as it is (`D5eProtocol`).
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import logging
import os
import re
import select
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, BinaryIO, TypeVar

import cattrs
import msgspec
from cattrs.errors import ClassValidationError
from lsprotocol import types
from lsprotocol.types import ResponseError
from pygls.exceptions import JsonRpcException, JsonRpcInternalError
from pygls.io_ import StdinAsyncReader
from pygls.protocol import (
    JsonRPCNotification,
    JsonRPCRequestMessage,
    LanguageServerProtocol,
    default_converter,
)
from pygls.workspace import Workspace

from .db import storage_error
from .errors import D5eError
from .textdoc import LineWorkspace

log = logging.getLogger(__name__)
R = TypeVar("R")


SERVER_NOT_INITIALIZED = -32002
INTERNAL_ERROR = -32603
INVALID_PARAMS = -32602
INVALID_REQUEST = -32600
PARSE_ERROR = -32700
CONTENT_MODIFIED = -32801
"""LSP: the document changed while a request about it was worked on (the editor asks again)."""


def converter() -> cattrs.Converter:
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


class ExpectedErrors(logging.Filter):
    """pygls logs every error response with a traceback; ours (not found, bad params) are
    answers, not failures, so they stay out of the log, as do cancels of requests already
    answered (editors send them all the time)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg == "Unable to deserialize message\n%s":
            return False  # params that do not fit: answered by D5eProtocol.structure_message
        if record.msg == 'Cancel notification for unknown message id "%s"':
            return False  # a request answered before its cancel arrived: everyday traffic
        exc = record.exc_info[1] if record.exc_info else None
        return not (isinstance(exc, JsonRpcException) and exc.code != INTERNAL_ERROR)


def encoded(result: Any) -> msgspec.Raw:
    """A custom method's result, encoded by msgspec: `D5eProtocol` writes it into the response
    as it is. pygls would turn it into plain values (`msgspec.to_builtins`), unstructure those
    through cattrs value by value and encode them again (~0.2 ms of CPU for ten search hits,
    against ~10 µs)."""
    return msgspec.Raw(msgspec.json.encode(result))


_ENCODER = msgspec.json.Encoder()


class Unreadable(msgspec.Struct):
    """A request whose params do not fit its LSP method's types, or a message with no method,
    result or error: answered with this error."""

    id: int | str | None
    code: int
    message: str


def params_errors(exc: BaseException) -> str:
    """What cattrs found wrong, as `… @ $.params.position.line` lines, joined."""
    cause = exc.__cause__
    if isinstance(cause, ClassValidationError):
        return "; ".join(cattrs.transform_error(cause, path="$"))
    return str(cause or exc)


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def replace_lone_surrogates(value: Any) -> Any:
    """LSP params with every lone surrogate (JSON may escape one: `"\\ud800"`) replaced by
    U+FFFD, as editors show a broken character: a document holding one made diagnostics,
    completion and code actions fail. (`d5e/` params are refused instead, naming the field.)"""
    if isinstance(value, str):
        if value.isascii():  # known without reading it (a 20 MB document took 0.1 s to search)
            return value
        return _LONE_SURROGATE.sub("\ufffd", value) if _LONE_SURROGATE.search(value) else value
    if isinstance(value, list):
        return [replace_lone_surrogates(v) for v in value]
    if isinstance(value, dict):
        return {replace_lone_surrogates(k): replace_lone_surrogates(v) for k, v in value.items()}
    return value


IGNORED = object()
"""A message d5e drops quietly (a `$/cancelRequest` whose id is no request's id)."""


class D5eProtocol(LanguageServerProtocol):
    """pygls' protocol, answering what pygls would silently drop or answer with a traceback:
    a message that is not a JSON-RPC object, a method that is not a string, and a request after
    `shutdown` get -32600 (LSP: "InvalidRequest"); lone surrogates in LSP params become U+FFFD;
    a request whose params do not fit its LSP method (pygls logged it and sent nothing: the
    client waited forever) gets -32602 naming what is wrong; no error response carries a
    traceback. Open documents are `textdoc.LineDocument`s (kept as lines, changed where the
    editor changed them)."""

    @property
    def workspace(self) -> Workspace:
        workspace = super().workspace
        if type(workspace) is Workspace:  # pygls made it at `initialize`: ours reads lines
            workspace.__class__ = LineWorkspace
        return workspace

    def structure_message(self, data: dict[str, Any]) -> Any:
        method = data.get("method")
        if method == types.CANCEL_REQUEST and "id" not in data:
            params = data.get("params")
            if not isinstance(params, dict) or not isinstance(params.get("id"), int | str):
                return IGNORED  # a cancel of no request there can be: nothing to do, nor say
        if "jsonrpc" in data and not {"method", "result", "error"} & data.keys():
            # neither a request, a notification nor a response: pygls logged two tracebacks
            msg_id = data.get("id") if isinstance(data.get("id"), int | str) else None
            return Unreadable(msg_id, INVALID_REQUEST, "a message with no method, result or error")
        if isinstance(method, str) and not method.startswith("d5e/") and "params" in data:
            data["params"] = replace_lone_surrogates(data["params"])
        try:
            return super().structure_message(data)
        except JsonRpcException as exc:
            if "id" not in data or "method" not in data:
                raise  # a notification or a response: there is nobody to answer
            msg_id = data["id"] if isinstance(data["id"], int | str) else None
            message = f"invalid params for {data['method']}: {params_errors(exc)}"
            return Unreadable(msg_id, INVALID_PARAMS, message)

    def handle_message(self, message: Any) -> None:
        if message is IGNORED:
            log.debug("ignored a $/cancelRequest without a request id")
            return
        if isinstance(message, Unreadable):
            log.warning("%s", message.message)
            self.send_error(message.id, message.code, message.message)
            return
        msg_id = message.get("id") if isinstance(message, dict) else getattr(message, "id", None)
        method = getattr(message, "method", None)
        if isinstance(message, dict | list) or not hasattr(message, "jsonrpc"):
            self.send_error(msg_id, INVALID_REQUEST, "not a JSON-RPC 2.0 message object")
        elif method is not None and not isinstance(method, str):
            self.send_error(msg_id, INVALID_REQUEST, "`method` must be a string")
        elif self._shutdown and method not in (None, types.EXIT) and msg_id is not None:
            self.send_error(msg_id, INVALID_REQUEST, "the server is shutting down")
        elif type(message) is JsonRPCRequestMessage and message.jsonrpc == self.VERSION:
            # a custom method's request: what pygls does, without asking which of its four
            # runtime-checked protocols the message is (~35 µs each)
            context = contextvars.copy_context()
            context.run(self._handle_request, message.id, message.method, message.params)
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
        if error is None and isinstance(result, msgspec.Raw):  # `encoded`: written as it is
            self._send_body(_ENCODER.encode({"jsonrpc": "2.0", "id": msg_id, "result": result}))
            return
        super()._send_response(msg_id, result, error)

    def _send_body(self, body: bytes) -> None:
        """`_send_data` of a body already encoded (UTF-8: Content-Length counts its bytes)."""
        if self.writer is None:
            log.error("Unable to send data, no available transport!")
            return
        header = f"Content-Length: {len(body)}\r\nContent-Type: {self.CONTENT_TYPE}; "
        header += f"charset={self.CHARSET}\r\n\r\n"
        try:
            written = self.writer.write(header.encode() + body)
            if inspect.isawaitable(written):  # an async writer, as pygls' `_send_data` does
                asyncio.ensure_future(written)  # noqa: RUF006
        except BrokenPipeError:
            log.exception("Error sending data. BrokenPipeError", exc_info=True)
            raise
        except Exception as error:
            log.exception("Error sending data", exc_info=True)
            self._server._report_server_error(error, JsonRpcInternalError)


MAX_MESSAGE_BYTES = 64 * 2**20
"""A message body declared larger than this is refused unread. The largest real request, a
`d5e/packs/upload` of many entries, is a few MiB; a 100 TB `Content-Length` (garbage, or a
hostile client) once made the daemon die allocating it."""
MAX_HEADER_LINE = 8 * 1024
"""A header line is read at most this much at a time: bytes without a newline never pile up."""
SKIP_CHUNK = 1 << 20
READ_CHUNK = 1 << 18
"""Bytes read from stdin at a time on the event loop (a pipe holds 64 KiB)."""
READ_AHEAD = 1 << 20
"""Bytes read ahead of what a message needs; the rest waits in the pipe (where `busy` sees it)."""
REQUEST_POLL_SECONDS = 0.0005
"""How often work that waits for a message to be read and answered looks again, and how
often a diagnostics slice looks for bytes arriving on stdin."""
_CONTENT_LENGTH = re.compile(rb"^Content-Length: (\d+)\r\n$")
_HEADER = b"Content-Length:"


class BoundedReader(StdinAsyncReader):
    """pygls' stdin reader within bounds (see MAX_MESSAGE_BYTES, MAX_HEADER_LINE). A refused
    message gets -32600 (id null: it was not read) and is skipped up to the next
    `Content-Length:` header, even one glued to the end of its body, so the next message is
    answered whether the refused one was garbage or an honest, huge message.

    Stdin is read on the event loop itself (`loop.add_reader`, a chunk at a time, into a
    buffer) wherever it can be watched (a pipe, a socket, a terminal), not by a thread as pygls
    does: a thread blocked in `read` takes the bytes of an arriving request out of the pipe at
    once, then waits for Python's lock, which the event loop, working through a document's
    passes and releasing the lock for every database call, took back first each time for
    hundreds of milliseconds, while the passes, seeing no bytes waiting, went on (a lookup
    waited 0.2-0.3 s on an idle machine). Read on the loop, the bytes wait in the pipe, where
    `busy` sees them, until the loop reads them between two slices. A stdin the loop cannot
    watch (a regular file; Windows' pipes) is read by a thread, as before."""

    def __init__(
        self, stdin: BinaryIO, executor: ThreadPoolExecutor, refuse: Callable[[str], None]
    ) -> None:
        super().__init__(stdin, executor)
        self.refuse = refuse
        self.skipping = False
        self.tail = b""
        self.idle = False
        """True while the reader waits for a message of which nothing has been read: work that
        can wait (a diagnostics pass) runs only then, and stops when a message arrives (`busy`),
        so that a request is read and answered first (`requests_first`)."""
        self._message_start = True
        self._idle_since = 0.0
        self._polled = 0.0
        self._waiting = False
        """Bytes were seen waiting on stdin, not read yet."""
        try:
            self._fd: int | None = stdin.fileno()
        except (AttributeError, OSError, ValueError):
            self._fd = None
        self._on_loop: bool | None = None
        """Whether stdin is read on the event loop (None: not decided before the first read)."""
        self._buffer = bytearray()
        self._eof = False
        self._watched = False
        self._wanted = 0
        """Bytes the read under way needs in the buffer."""
        self._arrived: asyncio.Future[None] | None = None

    # -- the source: the loop's own reads, or a thread's ------------------------------------

    @property
    def on_loop(self) -> bool:
        """Whether stdin is read on the event loop (a message waits in the pipe until then)."""
        return bool(self._on_loop)

    def _read_on_loop(self) -> bool:
        if self._on_loop is None:
            self._on_loop = False
            if self._fd is not None:
                try:
                    self.loop.add_reader(self._fd, self._readable)
                except (NotImplementedError, OSError, ValueError):
                    pass  # a regular file (epoll refuses it), Windows' pipes: a thread reads
                else:
                    self._on_loop = self._watched = True
        return self._on_loop

    def _readable(self) -> None:
        """On the loop: stdin has bytes (or its end): read what is there, without waiting."""
        assert self._fd is not None
        try:
            chunk = os.read(self._fd, READ_CHUNK)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        self._waiting = False
        if chunk:
            self._buffer += chunk
            self.idle = False
        else:
            self._eof = True
        if self._eof or len(self._buffer) >= max(self._wanted, READ_AHEAD):
            self._watch(False)  # enough for now: the rest waits in the pipe
        if self._arrived is not None and not self._arrived.done():
            self._arrived.set_result(None)

    def _watch(self, on: bool) -> None:
        assert self._fd is not None
        if on and not self._watched and not self._eof:
            self.loop.add_reader(self._fd, self._readable)
            self._watched = True
        elif not on and self._watched:
            self.loop.remove_reader(self._fd)
            self._watched = False

    async def _more(self, wanted: int) -> None:
        """Wait until the buffer holds more bytes, up to `wanted` of them (or stdin ended)."""
        self._wanted = wanted
        self._arrived = self.loop.create_future()
        self._watch(True)
        try:
            await self._arrived
        finally:
            self._arrived = None

    async def _line(self, limit: int) -> bytes:
        """A line, at most `limit` bytes of it (b"" at the end of stdin)."""
        if not self._read_on_loop():
            line: bytes = await self.loop.run_in_executor(self.executor, self._readline, limit)
            return line
        while True:
            end = self._buffer.find(b"\n", 0, limit)
            if end >= 0 or len(self._buffer) >= limit or self._eof:
                size = end + 1 if end >= 0 else min(limit, len(self._buffer))
                line = bytes(self._buffer[:size])
                del self._buffer[:size]
                self._resume()
                return line
            await self._more(limit)

    async def _exactly(self, n: int) -> bytes:
        """`n` bytes (fewer at the end of stdin)."""
        if not self._read_on_loop():
            body: bytes = await self.loop.run_in_executor(self.executor, self.stdin.read, n)
            return body
        while len(self._buffer) < n and not self._eof:
            await self._more(n)
        with memoryview(self._buffer) as view:
            body = bytes(view[:n])  # one copy of a 20 MB body, not two
        del self._buffer[:n]
        self._resume()
        return body

    def _resume(self) -> None:
        if len(self._buffer) < READ_AHEAD:
            self._watch(True)

    def _readline(self, limit: int) -> bytes:
        """In the reader's thread: a line, and the news that a message is arriving."""
        line: bytes = self.stdin.readline(limit)
        self.idle = False
        return line

    # -- messages ------------------------------------------------------------------------------

    async def readline(self) -> bytes:
        while True:
            limit = SKIP_CHUNK if self.skipping else MAX_HEADER_LINE
            self.idle = self._message_start and not self.skipping and not self._buffer
            self._idle_since = time.monotonic()
            line = await self._line(limit)
            self._message_start = False
            if not line:
                return line
            if self.skipping:
                seen = self.tail + line
                at = seen.find(_HEADER)
                if at < 0 or not line.endswith(b"\n"):
                    self.tail = seen[-len(_HEADER) :]
                    continue
                self.skipping, self.tail, line = False, b"", seen[at:]
            m = _CONTENT_LENGTH.fullmatch(line)
            if m and int(m[1]) > MAX_MESSAGE_BYTES:
                self.refuse(
                    f"message too large: Content-Length {int(m[1]):,} bytes, the limit is "
                    f"{MAX_MESSAGE_BYTES:,}; skipped"
                )
                self.skipping = True
                self._message_start = True
                continue
            return line

    async def readexactly(self, n: int) -> bytes:
        body = await self._exactly(n)
        self._message_start = True  # the message is handled before the next line is asked for
        return body

    def busy(self) -> bool:
        """Whether a message is arriving or waiting to be read. Bytes waiting on stdin are
        seen here (looked for every REQUEST_POLL_SECONDS at most; once seen, busy until they
        are read) before the loop reads them, or a reader's thread could say so."""
        if not self.idle or self._buffer or self._waiting:
            return True
        now = time.monotonic()
        if self._fd is None or now - self._polled < REQUEST_POLL_SECONDS:
            return False
        self._polled = now
        try:
            waiting = bool(select.select([self._fd], [], [], 0)[0])
        except (OSError, ValueError):
            return False
        if self._on_loop:  # they stay there until the loop reads them
            self._waiting = waiting
        return waiting

    async def requests_first(self, pause: float, most: float) -> None:
        """Let requests in: pause at least `pause` seconds, and until the reader has been idle
        that long with no bytes waiting (the next message may be read already, with the last
        one, or wait on stdin) — at most `most` seconds, so that a client stopping half-way
        through a message cannot stop the daemon's other work."""
        deadline = self.loop.time() + most
        await asyncio.sleep(pause)
        while self.loop.time() < deadline:
            quiet = not self.busy()
            waited = time.monotonic() - self._idle_since
            if quiet and waited >= pause:
                return
            await asyncio.sleep(pause - waited if quiet else REQUEST_POLL_SECONDS)


def failure(name: str, exc: Exception) -> JsonRpcException:
    """d5e errors keep their JSON-RPC codes, and what the disk or the database file did (a
    damaged page met by a lookup, say) is a DatabaseError; any other exception is a logged
    -32603."""
    exc = storage_error(exc) or exc
    if isinstance(exc, D5eError):
        return JsonRpcException(exc.said(lambda flag: f"{flag}: true"), exc.code, exc.data)
    if isinstance(exc, JsonRpcException):
        return exc
    log.exception("%s failed", name)
    return JsonRpcException(f"internal error in {name}: {type(exc).__name__}", INTERNAL_ERROR)


def answer(name: str, fn: Callable[[], R]) -> R:
    try:
        return fn()
    except Exception as exc:
        raise failure(name, exc) from exc
