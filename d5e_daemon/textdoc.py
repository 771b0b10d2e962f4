"""Open documents kept as lines, changed where the editor changed them.

pygls keeps a document as one string: each incremental change splits the whole text into lines,
rebuilds it, and every `doc.lines` splits it again, so a 20 MB document costs a full copy per
keystroke and per request. `LineDocument` keeps the list of lines instead: an incremental change
replaces the lines it touches; a full-text change (a client without incremental sync) is
compared with the old lines so that what changed is known too. The whole text is joined only
when something asks for `source`.

Each change is recorded as an `Edit` (lines `start` to `old_end` became lines `start` to
`new_end`) with a running `generation`, so that what is kept per line of a document
(`features/doclines.py`) follows the edits instead of reading every line again.

`doc.lines` is the document's own list: read it, never change it, and do not keep it across a
change (a holder checks `doc.version`, as diagnostics passes do).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, NamedTuple

from lsprotocol import types
from pygls.workspace import PositionCodec, TextDocument, Workspace

MAX_EDITS = 1000
"""Edits remembered per document: a reader further behind reads the whole document again."""
_CHUNK = 1024


class Edit(NamedTuple):
    """Lines [start, old_end) of the old text are lines [start, new_end) of the new one."""

    start: int
    old_end: int
    new_end: int


def moved_ranges(ranges: list[tuple[int, int]], edit: Edit) -> list[tuple[int, int]]:
    """Line ranges [a, b) of the text before `edit`, as lines of the text after it, with the
    lines the edit wrote added: sorted, merged where they touch. What a holder of per-line
    results must look at again after several edits (`features/markdown.DiagnosticsPass`)."""
    start, old_end, new_end = edit
    moved = new_end - old_end
    found = [(start, new_end)] if new_end > start else []
    for a, b in ranges:
        a = a if a < start else start if a < old_end else a + moved
        b = b if b <= start else new_end if b <= old_end else b + moved
        if a < b:
            found.append((a, b))
    found.sort()
    merged: list[tuple[int, int]] = []
    for a, b in found:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
"""What `str.splitlines` ends a line at."""


def _ends_line(text: str) -> bool:
    return text[-1:] in _BREAKS


def _common_prefix(old: list[str], new: list[str]) -> int:
    """How many first lines `old` and `new` share (compared a chunk at a time, in C)."""
    n, most = 0, min(len(old), len(new))
    while n < most and old[n : n + _CHUNK] == new[n : n + _CHUNK]:
        n += _CHUNK
    while n < most and old[n] == new[n]:
        n += 1
    return min(n, most)


def _common_suffix(old: list[str], new: list[str], most: int) -> int:
    """How many last lines they share, at most `most`."""
    n = 0
    while n < most:
        step = min(_CHUNK, most - n)
        if old[len(old) - n - step : len(old) - n] != new[len(new) - n - step : len(new) - n]:
            break
        n += step
    while n < most and old[len(old) - n - 1] == new[len(new) - n - 1]:
        n += 1
    return n


def line_diff(old: list[str], new: list[str]) -> Edit:
    """The one range of lines in which `old` and `new` differ."""
    start = _common_prefix(old, new)
    tail = _common_suffix(old, new, min(len(old), len(new)) - start)
    return Edit(start, len(old) - tail, len(new) - tail)


_SURROGATE = re.compile("[\ud800-\udfff]")


def client_units(text: str, encoding: str | None) -> int:
    """The length of `text` in the client's code units (UTF-16 unless it said UTF-8 or
    UTF-32), counted in C: pygls counts a character at a time in Python (a 5 MB line: 0.7 s,
    for each end of each change)."""
    if text.isascii() or encoding == types.PositionEncodingKind.Utf32:
        return len(text)
    if encoding == types.PositionEncodingKind.Utf8:
        return len(text.encode("utf-8", "surrogatepass"))
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def from_client_units(
    encoding: str | None, lines: Sequence[str], position: types.Position
) -> tuple[int, int]:
    """A client's position as (line, code point): exactly what pygls'
    `PositionCodec.position_from_client_units` gives (a position past the end of a line is
    clamped the way it clamps it), found with C loops."""
    if not lines:
        return 0, 0
    if position.line >= len(lines):
        return len(lines) - 1, client_units(lines[-1], encoding)
    text = lines[position.line].replace("\r\n", "\n")
    units = client_units(text, encoding)
    if units == 0:
        return position.line, 0
    character = units - 1 if position.character > units else position.character
    if character >= units:
        return position.line, len(text)
    if text.isascii() or encoding == types.PositionEncodingKind.Utf32:
        return position.line, character
    if _SURROGATE.search(text):  # lone surrogates would pair up below: pygls' own count
        found = PositionCodec(encoding).position_from_client_units(lines, position)
        return found.line, found.character
    # the characters whose units begin before `character` (one cut in two counts, as in pygls)
    if encoding == types.PositionEncodingKind.Utf8:
        return position.line, len(text.encode("utf-8")[:character].decode("utf-8", "replace"))
    head = text.encode("utf-16-le")[: 2 * character]
    return position.line, len(head.decode("utf-16-le", "replace"))


class LineDocument(TextDocument):
    """A pygls `TextDocument` whose text is its list of lines (see the module's docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lines: list[str] | None = None
        self.generation = 0
        """How many changes were made to the text since it was opened."""
        self.edits: list[Edit] = []
        """The last changes (at most MAX_EDITS), the last one is generation `generation`."""

    @property
    def source(self) -> str:
        if self._source is None and self._lines is not None:
            self._source = "".join(self._lines)
        return super().source

    @property
    def lines(self) -> list[str]:  # a list: no copy made
        if self._lines is None:
            self._lines = self.source.splitlines(True)
        return self._lines

    @property
    def last_edited_line(self) -> int | None:
        """The first line the latest change wrote (where the writer is working, as far as d5e
        can tell); None before any change."""
        if not self.edits:
            return None
        return min(self.edits[-1].start, max(len(self.lines) - 1, 0))

    def edits_since(self, generation: int) -> list[Edit] | None:
        """The edits made after `generation`, in order; None when they are not all known."""
        behind = self.generation - generation
        if behind < 0 or behind > len(self.edits):
            return None
        return self.edits[len(self.edits) - behind :] if behind else []

    def _record(self, edit: Edit) -> None:
        self.generation += 1
        self.edits.append(edit)
        if len(self.edits) > MAX_EDITS:
            del self.edits[: len(self.edits) - MAX_EDITS]

    def _apply_full_change(self, change: types.TextDocumentContentChangeEvent) -> None:
        old = self._lines
        new = change.text.splitlines(True)
        self._source, self._lines = change.text, new
        self._record(line_diff(old, new) if old is not None else Edit(0, 0, len(new)))

    def _apply_incremental_change(self, change: types.TextDocumentContentChangePartial) -> None:
        lines = self.lines
        encoding = self.position_codec.encoding
        start, start_at = from_client_units(encoding, lines, change.range.start)
        end, end_at = from_client_units(encoding, lines, change.range.end)
        if not lines or start > end:  # pygls' own way (an empty text, a reversed range)
            old = len(lines)
            super()._apply_incremental_change(change)
            self._lines = None
            self._record(Edit(0, old, len(self.lines)))
            return
        text = lines[start][:start_at] + change.text
        text += lines[end][end_at:]
        end += 1
        # The new lines must end where a line of the old text begins, as in the joined text.
        while end < len(lines) and (
            not _ends_line(text) or (text.endswith("\r") and lines[end].startswith("\n"))
        ):
            text += lines[end]
            end += 1
        while start > 0 and lines[start - 1].endswith("\r") and text.startswith("\n"):
            start -= 1
            text = lines[start] + text
        new = text.splitlines(True)
        lines[start:end] = new
        self._source = None
        self._record(Edit(start, end, start + len(new)))


class LineWorkspace(Workspace):
    """pygls' workspace, whose text documents are `LineDocument`s."""

    def _create_text_document(
        self,
        doc_uri: str,
        source: str | None = None,
        version: int | None = None,
        language_id: str | None = None,
    ) -> TextDocument:
        return LineDocument(
            doc_uri,
            source=source,
            version=version,
            language_id=language_id,
            sync_kind=self._sync_kind,
            position_codec=self._position_codec,
        )
