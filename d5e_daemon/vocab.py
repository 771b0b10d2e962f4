"""How many rows of an FTS5 index hold a term: asked once per term, remembered until packs change.

Name matching and keyword search use these counts to decide which of a query's terms to hand
to FTS5 (see `features/complete.py` and `retrieval.py`); a count that is a little stale only
changes that choice, so they are forgotten on `packs_changed`, not on every commit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import apsw

if TYPE_CHECKING:
    from .app import App

Lookup = Callable[[apsw.Connection, Sequence[str]], dict[str, int]]


class DocCounts:
    """`counts(terms)`: rows holding each term; `rows()`: rows in the index."""

    def __init__(self, app: App, lookup: Lookup, total: Callable[[apsw.Connection], int]) -> None:
        self.app = app
        self.lookup = lookup
        self.total = total
        self.known: dict[str, int] = {}
        self._rows: int | None = None
        app.on_packs_changed(self.forget)

    def forget(self, pack_ids: list[str] | None = None) -> None:
        self.known = {}  # a new dict: a call under way on another thread keeps its own
        self._rows = None

    def __call__(self, terms: Sequence[str], conn: apsw.Connection | None = None) -> dict[str, int]:
        """The counts of `terms`, those not known yet looked up through `conn` (the calling
        thread's; the app's by default)."""
        known = self.known
        missing = [t for t in terms if t not in known]
        if missing:
            known.update(self.lookup(conn or self.app.conn, missing))
        return {t: known[t] for t in terms}

    def rows(self, conn: apsw.Connection | None = None) -> int:
        if self._rows is None:
            self._rows = self.total(conn or self.app.conn)
        return self._rows
