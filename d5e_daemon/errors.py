"""Errors a client can see. Each carries its JSON-RPC code and optional structured data."""

from __future__ import annotations

from typing import Any


class D5eError(Exception):
    """Base of every error d5e reports on purpose (never a crash)."""

    code = -32000

    def __init__(self, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.data = data


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
