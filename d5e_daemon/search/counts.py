"""How many rows of an FTS5 index hold a term: asked once per term, remembered until packs change.

Name matching and keyword search use these counts to decide which of a query's terms to hand
to FTS5 (see `matching.py` and `search/retrieval.py`); a count that is a little stale only
changes that choice, so they are forgotten when packs change (`forget`), not on every commit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import apsw

Lookup = Callable[[apsw.Connection, Sequence[str]], dict[str, int]]


class DocCounts:
    """`counts(terms)`: rows holding each term; `rows()`: rows in the index. `conn()` gives the
    calling thread's connection, used when a call names none."""

    def __init__(
        self,
        conn: Callable[[], apsw.Connection],
        lookup: Lookup,
        total: Callable[[apsw.Connection], int],
    ) -> None:
        self.conn = conn
        self.lookup = lookup
        self.total = total
        self.known: dict[str, int] = {}
        self._rows: int | None = None
        self._stamp: object = None

    def forget(self, pack_ids: list[str] | None = None) -> None:
        self.known = {}  # a new dict: a call under way on another thread keeps its own
        self._rows = None

    def agree(self, stamp: object) -> None:
        """Forget the counts unless they were counted while the index had the same `stamp`
        (what changes with its contents: its rows and tokens), and remember it. Keyword search
        computes FTS5's own scores from them (`search/retrieval.py`), so they must not be
        stale even where packs did not change (keyword texts rewritten)."""
        if stamp != self._stamp:
            self.forget()
            self._stamp = stamp

    def __call__(self, terms: Sequence[str], conn: apsw.Connection | None = None) -> dict[str, int]:
        """The counts of `terms`, those not known yet looked up through `conn` (the calling
        thread's; `self.conn()` by default)."""
        known = self.known
        missing = [t for t in terms if t not in known]
        if missing:
            known.update(self.lookup(conn or self.conn(), missing))
        return {t: known[t] for t in terms}

    def rows(self, conn: apsw.Connection | None = None) -> int:
        if self._rows is None:
            self._rows = self.total(conn or self.conn())
        return self._rows
