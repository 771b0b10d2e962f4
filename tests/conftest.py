"""Fixtures of the core tests: real clients over real stdio. The database fixtures that the
plugins' tests use too (`db_path`, `app`, …) are in `tests/fixtures.py`, loaded for every test
by the root `conftest.py`."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from lsprotocol import types
from pygls.protocol import JsonRPCNotification, JsonRPCResponseMessage, default_converter
from pytest_lsp import ClientServerConfig, LanguageClient
from pytest_lsp.client import register_lsp_features

from d5e_daemon.app import App

from .fixtures import make_app

__all__ = ["REPO", "make_app", "server_command", "start_client"]

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def app2024(db_path: Path) -> Iterator[App]:
    a = make_app(db_path, edition="2024")
    yield a
    a.close()


# -- a real client over real stdio -------------------------------------------------------------


def _client() -> LanguageClient:
    """pytest-lsp's client, except that custom results stay plain JSON (not namedtuples)."""

    def converter() -> Any:
        conv = default_converter()
        conv.register_structure_hook(
            JsonRPCResponseMessage,
            lambda obj, cls: cls(**{k: obj.get(k) for k in ("id", "jsonrpc", "result")}),
        )
        conv.register_structure_hook(
            JsonRPCNotification,
            lambda obj, cls: cls(**{k: obj.get(k) for k in ("method", "jsonrpc", "params")}),
        )
        return conv

    client = LanguageClient(converter_factory=converter)
    register_lsp_features(client)
    return client


def server_command(db_path: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "d5e_daemon", "serve", "--db", str(db_path), *extra]


async def start_client(
    db_path: Path, options: dict[str, Any] | None = None, *extra: str, root: Path | None = None
) -> LanguageClient:
    config = ClientServerConfig(
        server_command=server_command(db_path, *extra), client_factory=_client
    )
    client: LanguageClient = await config.start()  # type: ignore[assignment]
    await client.initialize_session(
        types.InitializeParams(
            capabilities=types.ClientCapabilities(),
            initialization_options=options or {},
            root_uri=root.as_uri() if root else None,
        )
    )
    return client


@pytest_asyncio.fixture
async def lsp(indexed_db: Path) -> AsyncIterator[LanguageClient]:
    """A daemon on the indexed SRD copy: no background indexing competes with the test's
    requests (each test on the bare copy paid a few seconds of CPU for an index it never used)."""
    client = await start_client(indexed_db)
    yield client
    await client.shutdown_session()
    await client.stop()
