"""Plugins are isolated: a broken one is logged, listed and skipped; the rest goes on."""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable
from pathlib import Path

import msgspec
import pytest

from d5e_daemon import Entry, Pack, PackSource, hookimpl
from d5e_daemon.app import App
from d5e_daemon.features.lookup import lookup
from d5e_daemon.features.status import status
from d5e_daemon.plugins import get_plugins
from d5e_daemon.protocol import LookupParams
from d5e_daemon.records import LoadedPack, PathLoader
from d5e_daemon.settings import build


class RaisesInRegister:
    __name__ = "raises-in-register"

    @hookimpl
    def register_packs(self, register: Callable[[PackSource], None]) -> None:
        raise RuntimeError("boom")


class UnknownHook:
    __name__ = "unknown-hook"

    @hookimpl
    def register_pakcs(self, register: object) -> None:  # misspelt hook name
        pass


class WrongArguments:
    __name__ = "wrong-arguments"

    @hookimpl
    def render_text(self, entry: Entry, purpose: str, colour: str) -> str:
        return "never"


class RaisingRenderer:
    __name__ = "raising-renderer"

    @hookimpl
    def render_text(self, entry: Entry, purpose: str) -> str | None:
        raise ValueError("cannot render")


class ShoutingRenderer:
    __name__ = "shouting-renderer"

    @hookimpl
    def render_text(self, entry: Entry, purpose: str) -> str | None:
        return (
            entry.name.upper() if purpose == "markdown" and entry.collection == "spells" else None
        )


def test_the_srd_pack_arrives_through_its_entry_point() -> None:
    plugins = get_plugins()
    assert plugins.failed == {}
    assert "srd" in dict(plugins.pm.list_name_plugin())
    # the example plugin pack (plugins/d5e-example-brew) is installed in the dev venv too
    assert set(plugins.pack_sources()) - {"clockwork"} == {"srd-2014", "srd-2024"}


def test_broken_plugins_are_listed_and_skipped(db_path: Path) -> None:
    plugins = get_plugins(extra=(RaisesInRegister(), UnknownHook(), WrongArguments()))
    app = App(build({"db": str(db_path)}), plugins=plugins)
    app.start()
    try:
        failed = status(app).failed_plugins
        assert "boom" in failed["raises-in-register"]
        assert "register_pakcs" in failed["unknown-hook"]
        assert "colour" in failed["wrong-arguments"]
        assert lookup(app, LookupParams(ref="spells/fireball")).entry.name == "Fireball"
    finally:
        app.close()


def test_a_plugin_that_fails_to_import_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.metadata.entry_points
    broken = importlib.metadata.EntryPoint(name="broken", value="no_such_module_d5e", group="d5e")

    def entry_points(**kw: str) -> list[importlib.metadata.EntryPoint]:
        return [broken, *real(**kw)]

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)
    plugins = get_plugins()
    assert "ModuleNotFoundError" in plugins.failed["broken"]
    assert "srd-2014" in plugins.pack_sources()


def test_a_renderer_that_raises_falls_through_to_the_next(app: App) -> None:
    app.plugins = get_plugins(extra=(ShoutingRenderer(), RaisingRenderer()))
    result = lookup(app, LookupParams(ref="spells/fireball"))
    assert result.markdown.startswith("FIREBALL")
    assert "cannot render" in app.plugins.failed["raising-renderer"]
    # a collection the shouting renderer ignores reaches the built-in renderers
    assert "Goblin" in lookup(app, LookupParams(ref="monsters/goblin")).markdown


class JsonListLoader:
    """Reads a `*.d5e.json` file holding a list of entries (a format a plugin might add)."""

    __name__ = "json-list-loader"

    @hookimpl
    def register_loaders(self, register: Callable[[str, PathLoader], None]) -> None:
        def load(path: Path) -> LoadedPack | None:
            if not path.name.endswith(".d5e.json"):
                return None
            entries = msgspec.json.decode(path.read_bytes(), type=list[Entry])
            return LoadedPack(
                pack=Pack(id=path.name.split(".")[0], title=path.stem), entries=entries
            )

        register("json-list", load)


def test_path_loaders_are_collected_and_read_their_format(tmp_path: Path) -> None:
    plugins = get_plugins(extra=(JsonListLoader(),))
    loaders = dict(plugins.path_loaders())
    assert "json-list" in loaders
    path = tmp_path / "tiny.d5e.json"
    path.write_text('[{"collection": "spells", "slug": "spark", "name": "Spark"}]')
    loaded = loaders["json-list"](path)
    assert loaded is not None and loaded.pack.id == "tiny"
    assert [e.ref for e in loaded.entries] == ["spells/spark"]
    assert loaders["json-list"](tmp_path / "other.txt") is None
