"""Errors a client can see. Each carries its JSON-RPC code and optional structured data."""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

STOP: ContextVar[Callable[[], bool] | None] = ContextVar("d5e_stop", default=None)
"""Whether the call being worked on was cancelled (set by the face that can cancel one:
`mcp_server.Cancels.stopping`); None where nothing can."""


class Interrupted(Exception):
    """A long step stopped at a `stop_point`: its call was cancelled."""


def stop_point() -> None:
    """Where a long loop of Python, which no SQLite step interrupts, stops once its call is
    cancelled (well under a µs when it is not)."""
    cancelled = STOP.get()
    if cancelled is not None and cancelled():
        raise Interrupted


class D5eError(Exception):
    """Base of every error d5e reports on purpose (never a crash).

    `flag` names a boolean parameter of the request that would have let it through (`replace`):
    each face says how to pass it in its own words (`said`), and a face whose request has no
    such parameter (an MCP tool) does not offer it."""

    code = -32000

    def __init__(self, message: str, data: Any = None, *, flag: Flag | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.data = data
        self.flag = flag

    def said(self, how: Callable[[str], str | None]) -> str:
        """The message, with the flag's way out as the face writes a flag of that name
        (`replace: true`, `--replace`); the message alone when there is no flag or `how` says
        None (the face's request cannot pass it)."""
        written = how(self.flag.name) if self.flag is not None else None
        if self.flag is None or written is None:
            return self.message
        return f"{self.message}, or pass {written} {self.flag.effect}"


class Flag:
    """A boolean request parameter that lets a refused request through (see `D5eError.flag`)."""

    def __init__(self, name: str, effect: str) -> None:
        self.name = name  # the wire name: `replace`
        self.effect = effect  # what passing it does: `to replace it`


class InvalidParams(D5eError):
    """Params that do not decode, or values that make no sense (the message names the JSON path)."""

    code = -32602


class NotFound(D5eError):
    """No entry matches; `data` is `{"suggestions": [...]}`."""

    code = -32001


class PackError(D5eError):
    """A pack could not be loaded, validated, installed or changed."""

    code = -32002


class IndexNotReady(D5eError):
    """Semantic search was demanded but the vectors are not built yet."""

    code = -32003


class DatabaseError(D5eError):
    """The database file is foreign, corrupt, too new, or cannot be migrated."""

    code = -32004


class StorageError(DatabaseError):
    """What the disk or the file refused: full, read-only, an I/O error, locked, damaged; or a
    write to a database d5e serves read-only. `unwritable`: the file cannot be written (full,
    read-only, no permission, cannot be opened, an I/O error), so reading it may still work;
    not for damage or a lock."""

    def __init__(self, message: str, data: object = None, *, unwritable: bool = False) -> None:
        super().__init__(message, data)
        self.unwritable = unwritable


class NotInitialized(D5eError):
    """A request before `initialize` (or after `shutdown`): LSP's ServerNotInitialized."""

    code = -32002


class AlreadyInitialized(D5eError):
    """A second `initialize` in one session (LSP allows one): an invalid request."""

    code = -32600
