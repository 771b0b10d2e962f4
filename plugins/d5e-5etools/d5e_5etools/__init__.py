"""5etools homebrew for d5e: `d5e packs install "Some Author; Some Spells.json"`.

A loader plugin, and the reference for writing one for another format: it registers one path
loader through the public `register_loaders` hook and imports only d5e's public API. Each
source of a file's `_meta.sources` becomes a pack (id: the source's `json`, lower-cased), its
entries mapped to d5e's collections and field names (see `convert.py`), `_copy`/`_mod`
resolved as 5etools does (`copy.py`), and `entries` rendered as Markdown (`entries.py`).
"""

from __future__ import annotations

from collections.abc import Callable

from d5e_daemon import Entry, hookimpl
from d5e_daemon.records import PathLoader

from . import render
from .loader import load


@hookimpl
def register_loaders(register: Callable[[str, PathLoader], None]) -> None:
    register("5etools", load)


@hookimpl
def render_text(entry: Entry, purpose: str) -> str | None:
    """Cards and search text of the 5etools entries d5e draws no card of its own for."""
    return render.render_text(entry, purpose)
