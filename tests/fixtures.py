"""Fixtures every test of the repository shares, the core's and the plugins' (the root
`conftest.py` loads them): no test touches the user's data, and a database built once on the
real SRD data is copied for each test."""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from d5e_daemon.app import App
from d5e_daemon.search.embed import FakeEmbedder
from d5e_daemon.settings import build


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The slow tests first, the others in their order: with pytest-xdist (`make test` runs the
    tests in one process per core) the longest ones start early, not last and alone."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


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


def built_once(
    tmp_path_factory: pytest.TempPathFactory, name: str, make: Callable[[Path], None]
) -> Path:
    """`NAME/d5e.sqlite3`, made by `make(path)` once per run of the tests: when pytest-xdist
    runs them in several processes (`make test`), the first one to need it makes it while the
    others wait, and all of them read the same file."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the run's folder, holding each worker's own
    path = root / name / "d5e.sqlite3"
    with (root / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not path.exists():
            making = root / f"{name}.making"
            shutil.rmtree(making, ignore_errors=True)  # what a failed attempt left
            making.mkdir()
            make(making / path.name)
            making.rename(path.parent)
    return path


def _build_srd(path: Path) -> None:
    app = App(build({"db": str(path)}))
    app.start()
    app.close()


@pytest.fixture(scope="session")
def srd_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database holding both SRD packs; never written (tests copy it)."""
    return built_once(tmp_path_factory, "srd", _build_srd)


def _make_attributes(srd_template: Path) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        shutil.copy(srd_template, path)
        app = make_app(path)
        app.search.ensure_attributes()
        app.close()

    return make


@pytest.fixture(scope="session")
def attributed_template(srd_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The SRD database with the filter attributes and keyword texts a first search makes (~2 s
    of CPU); never written (tests copy it)."""
    return built_once(tmp_path_factory, "attributed", _make_attributes(srd_template))


def _make_index(srd_template: Path) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        shutil.copy(srd_template, path)
        app = make_app(path)
        app.search = app.search_index(FakeEmbedder())
        assert app.search.build().ready
        app.close()

    return make


@pytest.fixture(scope="session")
def indexed_template(srd_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The SRD database with its search index built by the fake embedder; never written (tests
    copy it)."""
    return built_once(tmp_path_factory, "indexed", _make_index(srd_template))


@pytest.fixture
def indexed(indexed_template: Path, tmp_path: Path) -> Iterator[App]:
    """An app on a private copy of the indexed SRD database, searching with the fake embedder
    (test_search and test_filter_words each had a copy of this fixture)."""
    path = tmp_path / "indexed" / "d5e.sqlite3"
    path.parent.mkdir()
    shutil.copy(indexed_template, path)
    app = make_app(path)
    app.search = app.search_index(FakeEmbedder())
    yield app
    app.close()


def private_copy(template: Path, tmp_path: Path) -> Path:
    path = tmp_path / "db" / "d5e.sqlite3"
    path.parent.mkdir()
    shutil.copy(template, path)
    return path


@pytest.fixture
def db_path(srd_template: Path, tmp_path: Path) -> Path:
    """A private copy of a database holding both SRD packs."""
    return private_copy(srd_template, tmp_path)


@pytest.fixture
def attributed(attributed_template: Path, tmp_path: Path) -> Iterator[App]:
    """An app on a private copy of the SRD database whose filter attributes and keyword texts
    are made: for the tests of what a search finds, not of how a first search makes them (on
    `app` each such test paid ~2 s of CPU for them)."""
    a = make_app(private_copy(attributed_template, tmp_path))
    yield a
    a.close()


@pytest.fixture
def attributed_db(attributed_template: Path, tmp_path: Path) -> Path:
    """A private copy of the SRD database whose filter attributes and keyword texts are made."""
    return private_copy(attributed_template, tmp_path)


@pytest.fixture
def indexed_db(indexed_template: Path, tmp_path: Path) -> Path:
    """A private copy of the SRD database with its search index (fake embedder): a daemon
    started on it has nothing to index (on `db_path` it indexes the SRD in the background, a few
    seconds of CPU, while the test runs)."""
    return private_copy(indexed_template, tmp_path)


def make_app(db_path: Path, **settings: Any) -> App:
    app = App(build({"db": str(db_path), **settings}))
    app.start()
    return app


@pytest.fixture
def app(db_path: Path) -> Iterator[App]:
    a = make_app(db_path)
    yield a
    a.close()
