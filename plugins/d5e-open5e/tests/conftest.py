"""Fixtures of the Open5e loader's tests: a database with the SRD built once, copied per test."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from d5e_daemon.app import App
from d5e_daemon.settings import build


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("D5E_HOME", str(tmp_path / "d5e-home"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.setenv("D5E_EMBEDDER", "fake")
    for var in ("D5E_DB", "D5E_EDITION", "D5E_PROFILE", "D5E_LOG_LEVEL"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture(scope="session")
def srd_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("srd-open5e") / "d5e.sqlite3"
    app = App(build({"db": str(path)}))
    app.start()
    app.close()
    return path


@pytest.fixture
def db_path(srd_db: Path, tmp_path: Path) -> Path:
    path = tmp_path / "db" / "d5e.sqlite3"
    path.parent.mkdir()
    shutil.copy(srd_db, path)
    return path


@pytest.fixture
def app(db_path: Path) -> Iterator[App]:
    a = App(build({"db": str(db_path)}))
    a.start()
    yield a
    a.close()
