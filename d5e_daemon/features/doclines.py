"""What the requests about one open document read of it, found once per version of the
document, a slice of time at a time, and line by line only where the text is new.

Code lenses, inlay hints, document symbols and document links each read the same things of a
document: the reference tags that resolve (with their entries), the names written in its prose
(`prose.py`) and where its encounter blocks may begin. An editor asks for several of them after
each change; a 20 MB document read whole for each request held the daemon for seconds.
`DocumentFacts` finds them in a pass that works in slices (`run`, as `DiagnosticsPass` does,
stopping when a request is waiting) and keeps, by line text, the tags each line held: the next
version's pass parses and resolves only the lines whose text is new, and the requests of one
version share one pass. Prose names come from `prose.walk_prose`, which keeps its own walk of
the document (by URI) and walks again only from the first changed line. What a request
answers is capped (`MAX_ITEMS`, and where the answer can say so, one item more saying how many
are left out).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

from pygls.workspace import TextDocument

from .. import queries
from ..prose import ProseRef, ProseWalk, walk_prose_steps
from .tags import TAG_COLLECTIONS, Resolver, Tag, iter_tags

CREATURE_TAGS = frozenset(t for t, c in TAG_COLLECTIONS.items() if "monsters" in c)
"""Tags that may name creatures: counted by encounters even when they do not resolve."""
MAX_ITEMS = 500
"""Code lenses, inlay hints, symbols and links answered per request at most."""
CHECK_EVERY = 64
"""Lines worked through between two looks at the clock."""


@dataclass
class DocumentFacts:
    """The references and encounter fences of one version of a document (see the module)."""

    resolver: Resolver
    doc: TextDocument
    version: int | None = None
    """The version the facts are of (None: not found yet)."""
    tags: dict[int, tuple[tuple[Tag, queries.EntryRow | None], ...]] = field(default_factory=dict)
    """Line → its tags that resolve, with their entries, and its creature tags that do not
    (counted by encounters, with None); the tags carry their line."""
    prose_walk: ProseWalk = field(default_factory=lambda: ProseWalk(()))
    """The names its prose uses (`prose.walk_prose`, which keeps its own walk of the document
    and walks again only what changed): `prose_walk.by_line()` without placing them."""
    fences: list[int] = field(default_factory=list)
    """Lines that may open an encounter block (they begin with a fence's character)."""
    prose_tag_lines: set[int] = field(default_factory=set)
    """The lines of `tags` that are prose (not code, headings, front matter)."""
    lines_read: int = 0
    """Lines parsed for tags by the last pass (those whose text was not kept)."""
    _kept_tags: dict[str, tuple[tuple[Tag, queries.EntryRow | None], ...]] = field(
        default_factory=dict
    )
    _work: Iterator[None] | None = None
    _working_on: tuple[int | None, int] | None = None
    _resolved_by: int = -1

    @property
    def prose(self) -> list[ProseRef]:
        """The names its prose uses, in order, placed on their lines (made when first asked)."""
        return self.prose_walk.refs

    def current(self) -> bool:
        """Whether the facts are those of the document as it is now."""
        return self.version is not None and self._working_on is None and self._fresh()

    def _fresh(self) -> bool:
        return self.version == self.doc.version and self._resolved_by == self.resolver.generation

    def run(self, seconds: float, stop: Callable[[], bool] | None = None) -> bool:
        """Work for about `seconds`, or until `stop()` says a request is waiting (asked before
        the first step too); True when the facts are those of the document as it is now."""
        if self.current():
            return True
        state = (self.doc.version, self.resolver.generation)
        if self._work is None or self._working_on != state:
            self._work, self._working_on = self._pass(), state
        if stop is not None and stop():
            return False  # a request first, before any step (a step may read a long line)
        deadline = time.monotonic() + seconds
        for _ in self._work:
            if time.monotonic() >= deadline or (stop is not None and stop()):
                return False
        self._work = self._working_on = None
        self.version, self._resolved_by = state
        return True

    def _pass(self) -> Iterator[None]:
        lines = self.doc.lines
        resolver = self.resolver
        kept_tags = self._kept_tags
        if self._resolved_by != resolver.generation:
            kept_tags = {}
        tags: dict[int, tuple[tuple[Tag, queries.EntryRow | None], ...]] = {}

        new_tags: dict[str, tuple[tuple[Tag, queries.EntryRow | None], ...]] = {}
        fences: list[int] = []
        read = 0
        for n, text in enumerate(lines):
            if n % CHECK_EVERY == 0:
                yield
            if text.lstrip(" ")[:1] in ("`", "~"):
                fences.append(n)
            if "{@" not in text:
                continue
            found = new_tags.get(text)
            if found is None:
                found = kept_tags.get(text)
                if found is None:
                    read += 1
                    found = self._resolved_tags(text)
                    yield
                new_tags[text] = found
            if found:
                tags[n] = tuple((replace(tag, line=n), row) for tag, row in found)
        yield
        walk = yield from walk_prose_steps(lines, resolver.prose_names(), self.doc.uri)
        texts = walk.texts
        self.tags, self.prose_walk, self.fences, self.lines_read = tags, walk, fences, read
        self.prose_tag_lines = {n for n in tags if texts[n] is not None}
        self._kept_tags = new_tags

    def _resolved_tags(self, text: str) -> tuple[tuple[Tag, queries.EntryRow | None], ...]:
        found: list[tuple[Tag, queries.EntryRow | None]] = []
        for tag in iter_tags(0, text):
            row = self.resolver.resolve(tag, suggest=False).row
            if row is not None or tag.kind in CREATURE_TAGS:
                found.append((tag, row))
        return tuple(found)

    def tags_in_order(self) -> Iterator[tuple[Tag, queries.EntryRow]]:
        """The tags that resolve, with their entries, in document order."""
        for n in sorted(self.tags):
            for tag, row in self.tags[n]:
                if row is not None:
                    yield tag, row

    def all_tags(self, lines: set[int] | None = None) -> Iterator[tuple[int, Tag]]:
        """(line, tag) of every tag kept (resolved, and unresolved creatures), in order; only
        on `lines` if given."""
        for n in sorted(self.tags if lines is None else lines):
            for tag, _ in self.tags[n]:
                yield n, tag


def facts_now(resolver: Resolver, doc: TextDocument) -> DocumentFacts:
    """The facts of a document found at once (tests, and callers outside the daemon)."""
    facts = DocumentFacts(resolver, doc)
    while not facts.run(1.0):
        pass
    return facts
