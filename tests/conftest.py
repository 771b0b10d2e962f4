"""Shared fixtures: a database built once on the real SRD data, copied for each test."""

from __future__ import annotations

import shutil
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
from d5e_daemon.settings import build

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads or writes the user's real data directory."""
    monkeypatch.setenv("D5E_HOME", str(tmp_path / "d5e-home"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    # The fake embedder keeps every daemon's background indexing fast; the tests of the real
    # model (tests/test_embed.py) unset it.
    monkeypatch.setenv("D5E_EMBEDDER", "fake")
    for var in ("D5E_DB", "D5E_EDITION", "D5E_PROFILE", "D5E_LOG_LEVEL"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture(scope="session")
def srd_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("srd") / "d5e.sqlite3"
    app = App(build({"db": str(path)}))
    app.start()
    app.close()
    return path


@pytest.fixture
def db_path(srd_template: Path, tmp_path: Path) -> Path:
    """A private copy of a database holding both SRD packs."""
    path = tmp_path / "db" / "d5e.sqlite3"
    path.parent.mkdir()
    shutil.copy(srd_template, path)
    return path


def make_app(db_path: Path, **settings: Any) -> App:
    app = App(build({"db": str(db_path), **settings}))
    app.start()
    return app


@pytest.fixture
def app(db_path: Path) -> Iterator[App]:
    a = make_app(db_path)
    yield a
    a.close()


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
async def lsp(db_path: Path) -> AsyncIterator[LanguageClient]:
    client = await start_client(db_path)
    yield client
    await client.shutdown_session()
    await client.stop()
