"""What the requests about one open document read of it, found once per version of the
document, a slice of time at a time, and line by line only where the text is new.

Code lenses, inlay hints, document symbols and document links each read the same things of a
document: the reference tags that resolve (with their entries), the names written in its prose
(`prose.py`) and where its encounter blocks may begin. An editor asks for several of them after
each change; a 20 MB document read whole for each request held the daemon for seconds.
`DocumentFacts` finds them in a pass that works in slices (`run`, as `DiagnosticsPass` does,
stopping when a request is waiting) and keeps what it found per line: the next version's pass
takes it, moved by the edits `textdoc.LineDocument` recorded since, and looks only at the lines
the edits wrote (a document that is no `LineDocument`, or whose edits are no longer all
known, is read whole, each line's tags kept by its text so that only new texts are parsed and
resolved); the requests of one version share one pass. Prose names come from
`prose.walk_prose`, which keeps its own walk of the document (by URI) and walks again only
from the first changed line. What a request answers is capped (`MAX_ITEMS`, and where the
answer can say so, one item more saying how many are left out).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field, replace
from itertools import compress, count

from pygls.workspace import TextDocument

from .. import queries
from ..prose import ProseRef, ProseWalk, count_before, walk_prose_steps
from ..textdoc import LineDocument, moved_ranges
from .tags import TAG_COLLECTIONS, Resolver, Tag, iter_tags

CREATURE_TAGS = frozenset(t for t, c in TAG_COLLECTIONS.items() if "monsters" in c)
"""Tags that may name creatures: counted by encounters even when they do not resolve."""
Found = tuple[tuple[Tag, queries.EntryRow | None], ...]
"""A line's tags that resolve, with their entries, and its creature tags that do not."""
MAX_ITEMS = 500
"""Code lenses, inlay hints, symbols and links answered per request at most."""
CHECK_EVERY = 64
"""Lines worked through between two looks at the clock."""
TAGS_PER_STEP = 32
"""Tags of one line resolved between two looks at the clock (a line may hold thousands)."""


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
    tag_uses: dict[int, tuple[queries.EntryRow, int, tuple[int, int, int]]] = field(
        default_factory=dict
    )
    """Entry id → the entry, how many tags name it, and where the first is (line, start, end):
    what document symbols list, found in the pass's steps rather than at each request."""
    counted_tag_lines: set[int] = field(default_factory=set)
    """The lines of `tags` where a creature tag follows a count ("4 {@creature wolf}"): the
    only lines whose tags can make an encounter, so that encounters are not looked for
    among every tag of the document at each request."""
    lines_read: int = 0
    """Lines parsed for tags by the last pass (those whose text was not kept)."""
    lines_looked_at: int = 0
    """Lines the last pass looked at: every line the first time, then the lines the edits
    since the last pass wrote (`textdoc.LineDocument` records them)."""
    _kept_tags: dict[str, Found] = field(default_factory=dict)
    _per_line: list[Found] = field(default_factory=list)
    """Per line of the document as of `_generation`: its tags (at line 0), as in `tags`."""
    _fence_at: list[bool] = field(default_factory=list)
    _counted_at: list[bool] = field(default_factory=list)
    _next: tuple[list[Found], list[bool], list[bool], dict[int, Found]] = field(
        default_factory=lambda: ([], [], [], {})
    )
    """`_per_line`, `_fence_at`, `_counted_at` and `tags` moved by the edits, for the pass under
    way (kept apart: a pass left unfinished leaves the last facts as they were)."""
    _generation: int | None = None
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

    def _pass(self) -> Generator[None, None, None]:
        lines = self.doc.lines
        resolver = self.resolver
        generation: int | None = getattr(self.doc, "generation", None)
        kept_tags = self._kept_tags
        dirty = yield from self._follow_edits()
        if dirty is None:  # from scratch
            kept_tags = self._kept_tags if self._resolved_by == resolver.generation else {}
            per_line: list[Found] = [()] * len(lines)
            fence_at = [False] * len(lines)
            counted_at = [False] * len(lines)
            tags: dict[int, Found] = {}
            dirty = [(0, len(lines))] if lines else []
        else:
            per_line, fence_at, counted_at, tags = self._next
        if len(kept_tags) > max(4 * len(lines), 10_000):
            kept_tags = {}  # texts of lines long gone: kept no longer
        read = looked = 0
        for first, end in dirty:
            for n in range(first, end):
                if n % CHECK_EVERY == 0:
                    yield
                looked += 1
                text = lines[n]
                fence_at[n] = text.lstrip(" ")[:1] in ("`", "~")
                found: Found = ()
                if "{@" in text:
                    known = kept_tags.get(text)
                    if known is None:
                        read += 1
                        known = kept_tags[text] = yield from self._resolved_tags(text)
                        yield
                    found = known
                per_line[n] = found
                counted_at[n] = bool(found) and _counts_a_creature(text, found)
                if found:
                    tags[n] = tuple((replace(tag, line=n), row) for tag, row in found)
                else:
                    tags.pop(n, None)
        yield
        walk = yield from walk_prose_steps(lines, resolver.prose_names(), self.doc.uri, self.doc)
        yield  # each of the last steps below reads every line: one at a time
        texts = walk.texts
        fences = list(compress(count(), fence_at))
        counted_tag_lines = set(compress(count(), counted_at))
        yield
        # in C: a loop in Python over 170,000 lines of tags held the loop for 0.1-0.3 s (a
        # tagged line's prose text, if any, is never empty)
        prose_tag_lines = set(compress(tags, map(texts.__getitem__, tags)))
        yield
        uses: dict[int, tuple[queries.EntryRow, int, tuple[int, int, int]]] = {}
        for i, found in enumerate(tags.values()):
            if i % CHECK_EVERY == 0:
                yield
            for tag, row in found:
                if row is not None:
                    spot = (tag.line, tag.start, tag.end)
                    _, seen, earliest = uses.get(row.id, (row, 0, spot))
                    uses[row.id] = (row, seen + 1, min(earliest, spot))
        self.tags, self.prose_walk, self.fences, self.lines_read = tags, walk, fences, read
        self.lines_looked_at, self.prose_tag_lines = looked, prose_tag_lines
        self.counted_tag_lines, self.tag_uses = counted_tag_lines, uses
        self._kept_tags, self._per_line, self._fence_at = kept_tags, per_line, fence_at
        self._counted_at = counted_at
        self._generation, self._next = generation, ([], [], [], {})

    def _follow_edits(self) -> Generator[None, None, list[tuple[int, int]] | None]:
        """What the last pass found, moved by the edits made since (`LineDocument.edits`), into
        `_next` (copies: a pass left unfinished changes nothing): the line ranges to look at,
        or None when the document is to be read whole."""
        doc = self.doc
        if (
            self.version is None
            or self._resolved_by != self.resolver.generation
            or self._generation is None
            or not isinstance(doc, LineDocument)
        ):
            return None
        edits = doc.edits_since(self._generation)
        if edits is None:
            return None
        per_line, fence_at = list(self._per_line), list(self._fence_at)
        counted_at = list(self._counted_at)
        tags = dict(self.tags)
        dirty: list[tuple[int, int]] = []
        for edit in edits:
            added = edit.new_end - edit.start
            per_line[edit.start : edit.old_end] = [()] * added
            fence_at[edit.start : edit.old_end] = [False] * added
            counted_at[edit.start : edit.old_end] = [False] * added
            dirty = moved_ranges(dirty, edit)
            if edit.old_end - edit.start <= len(tags):
                for n in range(edit.start, edit.old_end):
                    tags.pop(n, None)
            else:
                tags = {n: f for n, f in tags.items() if not edit.start <= n < edit.old_end}
            moved = edit.new_end - edit.old_end
            if moved:  # the tags below the edit carry their new line
                shifted: dict[int, Found] = {}
                for i, (n, found) in enumerate(tags.items()):
                    if i % CHECK_EVERY == 0:
                        yield
                    if n < edit.start:
                        shifted[n] = found
                    else:
                        shifted[n + moved] = tuple(
                            (replace(tag, line=n + moved), row) for tag, row in found
                        )
                tags = shifted
        if len(per_line) != len(doc.lines):
            return None
        self._next = per_line, fence_at, counted_at, tags
        return dirty

    def _resolved_tags(self, text: str) -> Generator[None, None, Found]:
        """A line's tags that resolve (and its creature tags), with a step every
        TAGS_PER_STEP tags: a line of thousands of tags is no one step."""
        found: list[tuple[Tag, queries.EntryRow | None]] = []
        for i, tag in enumerate(iter_tags(0, text), 1):
            if i % TAGS_PER_STEP == 0:
                yield
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


def _counts_a_creature(text: str, found: Found) -> bool:
    """Whether a creature tag of the line follows a count ("4 {@creature wolf}")."""
    return any(
        tag.kind in CREATURE_TAGS and count_before(text, tag.start) is not None for tag, _ in found
    )


def facts_now(resolver: Resolver, doc: TextDocument) -> DocumentFacts:
    """The facts of a document found at once (tests, and callers outside the daemon)."""
    facts = DocumentFacts(resolver, doc)
    while not facts.run(1.0):
        pass
    return facts
