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
from d5e_daemon.plugins import get_plugins, installed_entry_points, load_entry_point
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


def test_a_plugin_that_fails_to_import_is_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # an installed distribution whose entry point names a module that is not there
    info = tmp_path / "d5e_broken-1.0.dist-info"
    info.mkdir()
    (info / "entry_points.txt").write_text("[d5e]\nbroken = no_such_module_d5e\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    plugins = get_plugins()
    assert "ModuleNotFoundError" in plugins.failed["broken"]
    assert "srd-2014" in plugins.pack_sources()


def _as_importlib_reads_them(group: str) -> list[tuple[str, str]]:
    return [(ep.name, ep.value) for ep in importlib.metadata.entry_points(group=group)]


def _read_without_importlib(group: str, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    with monkeypatch.context() as m:
        m.setattr(importlib.metadata, "entry_points", lambda **kw: pytest.fail("importlib used"))
        return installed_entry_points(group)


def test_entry_points_are_read_as_importlib_metadata_reads_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The daemon reads the installed distributions' entry points without importlib.metadata
    (~20 ms of its start): the same ones, in the same order (the order plugins register)."""
    for group in ("d5e", "console_scripts", "pytest11", "no-such-group"):
        expected = _as_importlib_reads_them(group)
        assert _read_without_importlib(group, monkeypatch) == expected, group
    # Two folders on the path: the first distribution of a name wins (whatever its version or
    # the spelling of its name), one without entry points still counts; comments, blank
    # lines, other groups, egg-info, `module:attr` values.
    first, second = tmp_path / "first", tmp_path / "second"
    files = {
        first / "Zeta_Plugin-2.0.dist-info": "[d5e]\nzeta = zeta_mod:plugin\n",
        first / "alpha-1.0.dist-info": "# a comment\n\n[console_scripts]\nx = y\n[d5e]\n"
        "  alpha   =   alpha_mod.sub : obj.attr [extra]  \n; not a comment here = kept\n",
        first / "quiet-1.0.dist-info": None,
        second / "zeta.plugin-1.0.dist-info": "[d5e]\nold-zeta = old_zeta\n",
        second / "quiet-0.9.dist-info": "[d5e]\nshadowed = never\n",
        second / "beta-3.egg-info": "[d5e]\nbeta = beta_mod\n[other]\nz = z\n",
    }
    for folder, text in files.items():
        folder.mkdir(parents=True)
        if text is not None:
            (folder / "entry_points.txt").write_text(text)
    monkeypatch.syspath_prepend(str(second))
    monkeypatch.syspath_prepend(str(first))
    read = _read_without_importlib("d5e", monkeypatch)
    assert read == _as_importlib_reads_them("d5e")
    names = [name for name, _ in read]
    assert "zeta" in names and "alpha" in names and "beta" in names
    assert "old-zeta" not in names and "shadowed" not in names


def test_an_entry_point_is_loaded_as_importlib_metadata_loads_it() -> None:
    for value in ("d5e_srd", "os.path:join", "os : path.join [extra]", "json:JSONDecoder.decode"):
        expected = importlib.metadata.EntryPoint(name="x", value=value, group="d5e").load()
        assert load_entry_point(value) is expected, value
    with pytest.raises(ModuleNotFoundError):
        load_entry_point("no_such_module_d5e:thing")


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
