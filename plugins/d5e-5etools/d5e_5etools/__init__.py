"""5etools homebrew for d5e: `d5e packs install "Some Author; Some Spells.json"`.

A loader plugin, and the reference for writing one for another format: it registers one path
loader through the public `register_loaders` hook and imports only d5e's public API. Each
source of a file's `_meta.sources` becomes a pack (id: the source's `json`, lower-cased), its
entries mapped to d5e's collections and field names (see `convert.py`), `_copy`/`_mod`
resolved as 5etools does (`copy.py`), and `entries` rendered as Markdown (`entries.py`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from d5e_daemon import Entry, LoadedPack, hookimpl
from d5e_daemon.records import PathLoader

# The loader and the renderer are imported when first used, not with the plugin: they are no
# part of a daemon's start (`d5e serve` answers its first completion without them).

RAW = "5etools"
"""The key of an entry's `data` that holds its whole 5etools object (`convert.py`)."""


@hookimpl
def register_loaders(register: Callable[[str, PathLoader], None]) -> None:
    register("5etools", load)


def load(path: Path) -> LoadedPack | list[LoadedPack] | None:
    """`loader.load`: a 5etools homebrew file's packs."""
    from . import loader

    return loader.load(path)


@hookimpl
def render_text(entry: Entry, purpose: str) -> str | None:
    """Cards and search text of the 5etools entries d5e draws no card of its own for."""
    if not isinstance(entry.data.get(RAW), dict):
        return None  # not one of ours (the renderer is not even imported for it)
    from . import render

    return render.render_text(entry, purpose)
