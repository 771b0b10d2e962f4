"""Built-in renderers for the collections readers look at most (placeholder, filled below)."""

from __future__ import annotations

from ..hookspecs import hookimpl
from ..records import Entry


@hookimpl
def render_text(entry: Entry, purpose: str) -> str | None:
    return None
