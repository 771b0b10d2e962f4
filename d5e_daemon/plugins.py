"""The plugin manager: built-ins registered as ordinary plugins, then entry points of group `d5e`.

Hooks are called through pluggy (`pm.hook.<name>`). Plugins are isolated: one that fails to
import, declares a hook that does not exist or with the wrong arguments, or raises inside a hook
is logged, listed in `Plugins.failed`, and skipped. `D5E_TRACE_PLUGINS=1` logs every hook call.
"""

from __future__ import annotations

import functools
import importlib
import importlib.machinery
import logging
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from typing import Any

import pluggy

from . import hookspecs
from .records import Entry, PackSource, PathLoader, PriorityRule

log = logging.getLogger(__name__)

DEFAULT_PLUGINS = (
    "d5e_daemon.default_plugins.fallback",
    "d5e_daemon.default_plugins.cards",
    "d5e_daemon.default_plugins.folder",
    "d5e_daemon.default_plugins.index_text",
)


TRACE_ENV = "D5E_TRACE_PLUGINS"
"""Set (to anything but "" or "0"), every hook call is logged on stderr: hook, arguments,
implementations in call order and result (as datasette's DATASETTE_TRACE_PLUGINS)."""
_calling: ContextVar[str] = ContextVar("d5e_plugin", default="")
"""The plugin whose implementation is running (`register_packs` names its packs' origin)."""


@dataclass
class Plugins:
    """The plugin manager plus what d5e learned while loading it. Hooks are called through
    pluggy (`pm.hook.<name>`), so `firstresult` and wrappers behave as pluggy documents; each
    plain implementation is guarded: one that raises is logged, listed in `failed`, and
    counts as having returned None."""

    pm: pluggy.PluginManager
    failed: dict[str, str] = field(default_factory=dict)

    def _guard(self, name: str, hook: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            token = _calling.set(name)
            try:
                return fn(*args, **kwargs)
            except Exception as exc:
                log.exception("plugin %s failed in %s", name, hook)
                self.failed[name] = f"{hook}: {type(exc).__name__}: {exc}"
                return None
            finally:
                _calling.reset(token)

        return guarded

    def guard(self, plugin: object, name: str) -> None:
        """Guard the plain implementations of a newly registered plugin (wrappers run as
        pluggy runs them: what they raise is `call`'s to report)."""
        for caller in self.pm.get_hookcallers(plugin) or []:
            for impl in caller.get_hookimpls():
                if impl.plugin is plugin and not (impl.wrapper or impl.hookwrapper):
                    impl.function = self._guard(name, caller.name, impl.function)  # type: ignore[misc]

    def call(self, hook: str, **kwargs: Any) -> Any:
        """`pm.hook.<hook>(**kwargs)`; an exception out of a wrapper is logged and listed,
        and the call answers None."""
        try:
            return getattr(self.pm.hook, hook)(**kwargs)
        except Exception as exc:
            log.exception("a wrapper of %s failed", hook)
            self.failed[f"{hook} wrapper"] = f"{type(exc).__name__}: {exc}"
            return None

    def pack_sources(self) -> dict[str, PackSource]:
        """Every pack the plugins register, by id (the first registration of an id wins)."""
        found: dict[str, PackSource] = {}

        def register(source: PackSource) -> None:
            if source.pack.id in found:
                log.warning("pack %s registered twice; keeping the first", source.pack.id)
                return
            origin = f"plugin:{_calling.get()}"
            found[source.pack.id] = source if source.origin else replace(source, origin=origin)

        self.call("register_packs", register=register)
        return found

    def path_loaders(self) -> list[tuple[str, PathLoader]]:
        found: list[tuple[str, PathLoader]] = []
        self.call("register_loaders", register=lambda n, fn: found.append((n, fn)))
        return found

    def priority_rules(self) -> list[PriorityRule]:
        rules: list[PriorityRule] = []
        for result in self.call("priority_rules") or []:
            rules.extend(result or [])
        return rules

    def render(self, entry: Entry, purpose: str) -> str:
        """The first renderer's non-None text (`render_text` is firstresult); a renderer that
        raises is skipped, not fatal."""
        text = self.call("render_text", entry=entry, purpose=purpose)
        return entry.name if text is None else str(text)


def _register(plugins: Plugins, plugin: object, name: str) -> None:
    pm = plugins.pm
    try:
        pm.register(plugin, name=name)
    except Exception as exc:  # pluggy.PluginValidationError and friends
        log.error("plugin %s skipped: %s", name, exc)
        plugins.failed[name] = str(exc)
        return
    unknown = [c.name for c in pm.get_hookcallers(plugin) or [] if c.spec is None]
    if unknown:
        pm.unregister(plugin)
        plugins.failed[name] = f"implements unknown hooks: {', '.join(unknown)}"
        log.error("plugin %s skipped: %s", name, plugins.failed[name])
        return
    plugins.guard(plugin, name)


def _trace(pm: pluggy.PluginManager) -> None:
    """Log every hook call (D5E_TRACE_PLUGINS): stderr only, never the wire."""
    trace = logging.getLogger("d5e_daemon.plugins.trace")
    if not trace.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("d5e plugins: %(message)s"))
        trace.addHandler(handler)
    trace.setLevel(logging.INFO)
    trace.propagate = False

    def before(hook: str, impls: Sequence[Any], kwargs: Mapping[str, Any]) -> None:
        names = [impl.plugin_name for impl in reversed(impls)]
        args = ", ".join(f"{k}={_short(v)}" for k, v in kwargs.items())
        trace.info("%s(%s) → %s", hook, args, ", ".join(names))

    def after(outcome: Any, hook: str, impls: Sequence[Any], kwargs: Mapping[str, Any]) -> None:
        error = outcome.exception
        shown = f"raised {type(error).__name__}: {error}" if error else _short(outcome.get_result())
        trace.info("%s → %s", hook, shown)

    pm.add_hookcall_monitoring(before, after)


def _short(value: Any, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- entry points -------------------------------------------------------------------------------


def installed_entry_points(group: str) -> list[tuple[str, str]]:
    """(name, value) of the entry points of `group` that `importlib.metadata.entry_points(group=
    group)` gives, in its order: the installed distributions found along `sys.path` (the first
    of a name wins), each one's `entry_points.txt` as importlib.metadata reads it. Read here
    without importlib.metadata, which imports email, csv and zipfile and builds an object per
    distribution: ~20 ms of the daemon's start for four lines. A `sys.path` entry that is a file
    (a zip) or an egg is left to importlib.metadata, as are the distributions an import hook
    adds."""
    if any(os.path.isfile(path) or path.endswith(".egg") for path in sys.path) or any(
        hasattr(finder, "find_distributions") and finder is not importlib.machinery.PathFinder
        for finder in sys.meta_path
    ):
        from importlib import metadata

        return [(ep.name, ep.value) for ep in metadata.entry_points(group=group)]
    found: list[tuple[str, str]] = []
    seen: set[str] = set()
    for path in sys.path:
        try:
            children = os.listdir(path or ".")
        except OSError:
            continue
        infos: dict[str, list[str]] = {}  # importlib.metadata's `Lookup`: by name, first seen first
        for child in children:
            low = child.lower()
            if low.endswith((".dist-info", ".egg-info")):
                name = _normalized(low.rpartition(".")[0].partition("-")[0])
                infos.setdefault(name, []).append(child)
        for name, dirs in infos.items():
            for child in dirs:
                if name in seen:
                    continue
                seen.add(name)
                try:
                    with open(
                        os.path.join(path or ".", child, "entry_points.txt"), encoding="utf-8"
                    ) as f:
                        text = f.read()
                except OSError:
                    continue
                found += _section(text, group)
    return found


def _normalized(name: str) -> str:
    """A distribution's name as importlib.metadata compares them (`Prepared.normalize`)."""
    return re.sub(r"[-_.]+", "-", name).lower().replace("-", "_")


def _section(text: str, group: str) -> list[tuple[str, str]]:
    """The `name = value` lines of `[group]` in an `entry_points.txt`, as importlib.metadata's
    `Sectioned` reads them (stripped lines; blank ones and `#` comments skipped)."""
    pairs, section = [], None
    for line in (line.strip() for line in text.splitlines()):
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line.strip("[]")
        elif section == group:
            name, _, value = line.partition("=")
            pairs.append((name.strip(), value.strip()))
    return pairs


_ENTRY_POINT = re.compile(
    r"(?P<module>[\w.]+)\s*(:\s*(?P<attr>[\w.]+)\s*)?((?P<extras>\[.*\])\s*)?$"
)
"""`module:attr [extras]` (importlib.metadata's `EntryPoint.pattern`)."""


def load_entry_point(value: str) -> Any:
    """The object an entry point's value names, as `EntryPoint.load` finds it."""
    match = _ENTRY_POINT.match(value)
    if match is None:
        raise ValueError(f"not an entry point: {value!r}")
    found: Any = importlib.import_module(match["module"])
    for attr in filter(None, (match["attr"] or "").split(".")):
        found = getattr(found, attr)
    return found


def get_plugins(*, entry_points: bool = True, extra: tuple[object, ...] = ()) -> Plugins:
    """Built-ins, then installed plugins (entry point group `d5e`), then `extra` (for tests)."""
    pm = pluggy.PluginManager("d5e")
    pm.add_hookspecs(hookspecs)
    if os.environ.get(TRACE_ENV, "") not in ("", "0"):
        _trace(pm)
    plugins = Plugins(pm)
    for module in DEFAULT_PLUGINS:
        _register(plugins, importlib.import_module(module), module)
    if entry_points:
        for name, value in installed_entry_points("d5e"):
            try:
                plugin = load_entry_point(value)
            except Exception as exc:
                log.error("plugin %s failed to import: %s", name, exc)
                plugins.failed[name] = f"import failed: {type(exc).__name__}: {exc}"
                continue
            _register(plugins, plugin, name)
    for i, plugin in enumerate(extra):
        _register(plugins, plugin, getattr(plugin, "__name__", f"extra-{i}"))
    return plugins
