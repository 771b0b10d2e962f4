"""The plugin manager: built-ins registered as ordinary plugins, then entry points of group `d5e`.

Plugins are isolated. One that fails to import, declares a hook that does not exist or with the
wrong arguments, or raises inside a hook is logged, listed in `Plugins.failed`, and skipped.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
from collections.abc import Callable, Iterator
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


@dataclass
class Plugins:
    """The plugin manager plus what d5e learned while loading it."""

    pm: pluggy.PluginManager
    failed: dict[str, str] = field(default_factory=dict)

    def _impls(self, hook: str) -> Iterator[tuple[str, Callable[..., Any], list[str]]]:
        """Implementations in call order (latest registered first, trylast ones last)."""
        caller = getattr(self.pm.hook, hook)
        for impl in reversed(caller.get_hookimpls()):
            yield impl.plugin_name, impl.function, list(impl.argnames)

    def _call(
        self,
        name: str,
        hook: str,
        fn: Callable[..., Any],
        argnames: list[str],
        kwargs: dict[str, Any],
    ) -> Any:
        try:
            return fn(*(kwargs[a] for a in argnames))
        except Exception as exc:
            log.exception("plugin %s failed in %s", name, hook)
            self.failed[name] = f"{hook}: {type(exc).__name__}: {exc}"
            return None

    def _call_each(self, hook: str, **kwargs: Any) -> Iterator[Any]:
        for name, fn, argnames in self._impls(hook):
            yield self._call(name, hook, fn, argnames, kwargs)

    def pack_sources(self) -> dict[str, PackSource]:
        """Every pack the plugins register, by id (the first registration of an id wins)."""
        found: dict[str, PackSource] = {}
        for name, fn, argnames in self._impls("register_packs"):

            def register(source: PackSource, origin: str = f"plugin:{name}") -> None:
                if source.pack.id in found:
                    log.warning("pack %s registered twice; keeping the first", source.pack.id)
                    return
                found[source.pack.id] = source if source.origin else replace(source, origin=origin)

            self._call(name, "register_packs", fn, argnames, {"register": register})
        return found

    def path_loaders(self) -> list[tuple[str, PathLoader]]:
        found: list[tuple[str, PathLoader]] = []
        for _ in self._call_each("register_loaders", register=lambda n, fn: found.append((n, fn))):
            pass
        return found

    def priority_rules(self) -> list[PriorityRule]:
        rules: list[PriorityRule] = []
        for result in self._call_each("priority_rules"):
            rules.extend(result or [])
        return rules

    def render(self, entry: Entry, purpose: str) -> str:
        """The first renderer's non-None text; a renderer that raises is skipped, not fatal."""
        for text in self._call_each("render_text", entry=entry, purpose=purpose):
            if text is not None:
                return str(text)
        return entry.name


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


def get_plugins(*, entry_points: bool = True, extra: tuple[object, ...] = ()) -> Plugins:
    """Built-ins, then installed plugins (entry point group `d5e`), then `extra` (for tests)."""
    pm = pluggy.PluginManager("d5e")
    pm.add_hookspecs(hookspecs)
    plugins = Plugins(pm)
    for module in DEFAULT_PLUGINS:
        _register(plugins, importlib.import_module(module), module)
    if entry_points:
        for ep in importlib.metadata.entry_points(group="d5e"):
            try:
                plugin = ep.load()
            except Exception as exc:
                log.error("plugin %s failed to import: %s", ep.name, exc)
                plugins.failed[ep.name] = f"import failed: {type(exc).__name__}: {exc}"
                continue
            _register(plugins, plugin, ep.name)
    for i, plugin in enumerate(extra):
        _register(plugins, plugin, getattr(plugin, "__name__", f"extra-{i}"))
    return plugins
