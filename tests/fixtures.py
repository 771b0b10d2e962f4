"""Fixtures every test of the repository shares, the core's and the plugins' (the root
`conftest.py` loads them): no test touches the user's data, and a database built once on the
real SRD data is copied for each test."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from d5e_daemon.app import App
from d5e_daemon.settings import build


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
