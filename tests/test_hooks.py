"""One test per hook, named `test_hook_<name>` (as datasette's): a plugin implementing the hook,
registered as an installed plugin is, changes what a user sees. `tests/test_hookspecs.py`
checks that every hook has one. Also: hooks are called through pluggy, so `firstresult` and
wrappers behave as pluggy documents, and `D5E_TRACE_PLUGINS` logs each call."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Generator
from pathlib import Path

import msgspec
import pytest

from d5e_daemon import Entry, Pack, PackSource, hookimpl
from d5e_daemon.app import App
from d5e_daemon.features.lookup import lookup
from d5e_daemon.plugins import get_plugins
from d5e_daemon.protocol import LookupParams
from d5e_daemon.records import LoadedPack, PathLoader, PriorityRule
from d5e_daemon.settings import build

from .conftest import REPO


class SparkPack:
    __name__ = "spark-pack"

    @hookimpl
    def register_packs(self, register: Callable[[PackSource], None]) -> None:
        pack = Pack(id="sparks", title="Sparks", version="1")
        register(
            PackSource(
                pack=pack,
                load=lambda: [Entry(collection="spells", slug="spark", name="Spark", data={})],
            )
        )


def test_hook_register_packs(db_path: Path) -> None:
    plugins = get_plugins(extra=(SparkPack(),))
    source = plugins.pack_sources()["sparks"]
    assert source.origin == "plugin:spark-pack"  # named after the plugin that registered it
    settings = {"db": str(db_path), "builtinPacks": ["srd-2014", "sparks"], "packs": {"sparks": 60}}
    app = App(build(settings), plugins)
    try:
        app.start()
        found = lookup(app, LookupParams(ref="spells/spark"))
        assert (found.entry.pack, found.entry.name) == ("sparks", "Spark")
    finally:
        app.close()


class ListLoader:
    __name__ = "list-loader"

    @hookimpl
    def register_loaders(self, register: Callable[[str, PathLoader], None]) -> None:
        def load(path: Path) -> LoadedPack | None:
            if not path.name.endswith(".list.json"):
                return None
            entries = msgspec.json.decode(path.read_bytes(), type=list[Entry])
            return LoadedPack(pack=Pack(id="listed", title="Listed"), entries=entries)

        register("list", load)


def test_hook_register_loaders(db_path: Path, tmp_path: Path) -> None:
    path = tmp_path / "mine.list.json"
    path.write_text('[{"collection": "spells", "slug": "glimmer", "name": "Glimmer"}]')
    app = App(build({"db": str(db_path)}), get_plugins(extra=(ListLoader(),)))
    try:
        app.start()
        name, _ = app.library.load_path(path)
        assert name == "list"
        result = app.db.write(lambda conn: app.library.install_path(conn, path))
        assert (result.pack, result.action) == ("listed", "installed")
        assert lookup(app, LookupParams(ref="spells/glimmer")).entry.pack == "listed"
    finally:
        app.close()


class Srd2014Conditions:
    __name__ = "srd-2014-conditions"

    @hookimpl
    def priority_rules(self) -> list[PriorityRule]:
        return [PriorityRule(pack="srd-2014", over="srd-2024", collections=["conditions"])]


def _grappled(db_path: Path, *extra: object) -> tuple[str, str]:
    """Which pack's grappled and fireball win in a 2024 campaign (both SRDs on)."""
    app = App(build({"db": str(db_path), "edition": "2024"}), get_plugins(extra=extra))
    try:
        app.start()
        return (
            lookup(app, LookupParams(ref="conditions/grappled")).entry.pack,
            lookup(app, LookupParams(ref="spells/fireball")).entry.pack,
        )
    finally:
        app.close()


def test_hook_priority_rules(db_path: Path) -> None:
    assert _grappled(db_path) == ("srd-2024", "srd-2014")  # srd-2024's default priority
    assert _grappled(db_path, Srd2014Conditions()) == ("srd-2014", "srd-2014")


class Stamp:
    __name__ = "stamp"

    @hookimpl
    def render_text(self, entry: Entry, purpose: str) -> str | None:
        return f"STAMPED {entry.name}" if purpose == "markdown" else None


class Silent:
    __name__ = "silent"

    @hookimpl
    def render_text(self, entry: Entry, purpose: str) -> str | None:
        return None


def test_hook_render_text(app: App) -> None:
    app.plugins = get_plugins(extra=(Stamp(), Silent()))
    card = lookup(app, LookupParams(ref="spells/fireball")).markdown
    assert card.startswith("STAMPED Fireball")  # Silent said None: the next renderer answered
    assert app.render(Entry(collection="spells", slug="x", name="X"), "detail") != "STAMPED X"


class Framing:
    """A pluggy wrapper (new style) around every renderer: it sees the first result."""

    __name__ = "framing"

    @hookimpl(wrapper=True)
    def render_text(self, entry: Entry, purpose: str) -> Generator[None, str | None, str | None]:
        text = yield
        return None if text is None else f"[{text.strip()}]"


def test_render_text_is_firstresult_and_wrappers_wrap_it(app: App) -> None:
    app.plugins = get_plugins(extra=(Stamp(), Framing()))
    card = lookup(app, LookupParams(ref="spells/fireball")).markdown
    assert card.startswith("[STAMPED Fireball]")
    assert "generator" not in card


class BrokenWrapper:
    __name__ = "broken-wrapper"

    @hookimpl(wrapper=True)
    def render_text(self, entry: Entry, purpose: str) -> Generator[None, str | None, str | None]:
        yield
        raise RuntimeError("wrapped badly")


def test_a_wrapper_that_raises_is_listed_and_the_entry_keeps_a_text(app: App) -> None:
    app.plugins = get_plugins(extra=(BrokenWrapper(),))
    assert app.plugins.render(Entry(collection="spells", slug="x", name="X"), "markdown") == "X"
    assert "wrapped badly" in app.plugins.failed["render_text wrapper"]


def test_trace_plugins_logs_each_hook_call(tmp_path: Path) -> None:
    code = (
        "from d5e_daemon.plugins import get_plugins\n"
        "from d5e_daemon import Entry\n"
        "p = get_plugins(entry_points=False)\n"
        "p.render(Entry(collection='spells', slug='x', name='X'), 'detail')\n"
    )
    env = {"D5E_TRACE_PLUGINS": "1", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=REPO
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""  # stdout is the wire
    lines = [line for line in done.stderr.splitlines() if "render_text" in line]
    assert any(
        "purpose='detail'" in line and "d5e_daemon.default_plugins" in line for line in lines
    )
    assert any("→ 'Spell'" in line for line in lines), lines


@pytest.mark.parametrize("value", ["", "0"])
def test_trace_plugins_off_logs_nothing(tmp_path: Path, value: str) -> None:
    code = "from d5e_daemon.plugins import get_plugins\nget_plugins(entry_points=False)\n"
    env = {"D5E_TRACE_PLUGINS": value, "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=REPO
    )
    assert done.returncode == 0 and "d5e plugins:" not in done.stderr
