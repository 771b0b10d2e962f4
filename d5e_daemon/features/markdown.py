"""Language features for prose (Markdown and plain text) that references rules with tags.

Plain functions of a `Resolver` (or `App`) and a pygls `TextDocument`, returning lsprotocol
types, so tests call them without a server; `server.py` only registers them. Columns inside
this module are code points; every range leaves through `_range`, which converts to the
client's position encoding (UTF-16 by default).
"""

from __future__ import annotations

import bisect
import itertools
import re
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from lsprotocol import types
from pygls.uris import to_fs_path
from pygls.workspace import TextDocument

from .. import queries
from ..app import App
from ..campaign import Campaign, Mention, find_encounters
from ..matching import match_names
from ..names import find as find_name
from ..names import singular_forms
from ..prose import (
    JOB_WORDS,
    ROLE_WORDS,
    ProseNames,
    ProseRef,
    prose_at,
    prose_lines,
    refs_in_line,
    walk_prose,
)
from ..protocol import CompleteParams, CompletionItem, LookupParams
from ..tagtext import QUALIFIER_PARTS
from ..text import code_spans, normalize
from ..textdoc import LineDocument, client_units, from_client_units, moved_ranges
from .complete import complete
from .doclines import CHECK_EVERY, MAX_ITEMS, DocumentFacts, facts_now
from .documents import entry_uri
from .lookup import lookup
from .statblocks import stat_block_of
from .tags import (
    TAG_COLLECTIONS,
    TAGGED_COLLECTIONS,
    Fix,
    KnownName,
    LineProblems,
    Resolution,
    Resolver,
    Tag,
    edition_note,
    find_tags,
    fix_text,
    iter_tags,
    tag_at,
    tag_for,
    tag_for_found,
    tags_in_line,
    unclosed_tags,
)

SOURCE = "d5e"
PROSE_LANGUAGES = frozenset({"markdown", "plaintext", "text"})
LINK_TERMS = "Link rules terms"
LINK_TERMS_KIND = types.CodeActionKind.RefactorRewrite
STAT_BLOCK_KIND = "refactor.statBlock"
STAT_BLOCK_COLLECTIONS = frozenset({"monsters", "spells", "magic-items", "equipment", "poisons"})
PLAIN_WORD_MIN = 3  # shorter words are not worth a list of rules entries
PLAIN_WORDS_MAX = 4  # a name typed in prose may be this many words long ("bag of hol")
SEVERITY: dict[str, types.DiagnosticSeverity] = {
    "unknown-tag": types.DiagnosticSeverity.Warning,
    "unknown-ref": types.DiagnosticSeverity.Warning,
    "unknown-pack": types.DiagnosticSeverity.Warning,
    "disabled-pack": types.DiagnosticSeverity.Information,
    "empty-ref": types.DiagnosticSeverity.Warning,
    "alias": types.DiagnosticSeverity.Information,
    "other-edition": types.DiagnosticSeverity.Information,
    "unclosed-tag": types.DiagnosticSeverity.Warning,
}
SYMBOL_KINDS = {
    "spells": types.SymbolKind.Function,
    "monsters": types.SymbolKind.Class,
    "magic-items": types.SymbolKind.Object,
    "equipment": types.SymbolKind.Object,
    "conditions": types.SymbolKind.EnumMember,
}

_TAG_NAME_BEFORE = re.compile(r"\{@([A-Za-z0-9]*)$")
_NAME_BEFORE = re.compile(r"\{@([A-Za-z0-9][A-Za-z0-9]*)[ \t]+([^{}|\r\n]*)$")
_PACK_BEFORE = re.compile(r"\{@([A-Za-z0-9]+)[ \t]+([^{}|\r\n]+)\|([^{}|\r\n]*)$")
_WORDS_BEFORE = re.compile(rf"(?:[^\W_][\w'’‘-]*[ \t]+){{0,{PLAIN_WORDS_MAX - 1}}}[^\W_][\w'’‘-]*$")
_WORD = re.compile(r"[^\W_]+(?:['’‘][^\W_]+)*")
_NAME_SEPARATOR = re.compile(r"(?:['’‘](?=-))?[ \t-]+")  # "will-o'-wisps"


def is_prose(doc: TextDocument) -> bool:
    return doc.language_id is None or doc.language_id in PROSE_LANGUAGES


def _range(doc: TextDocument, lines: Sequence[str], line: int, start: int, end: int) -> types.Range:
    text = lines[line] if line < len(lines) else ""
    encoding = doc.position_codec.encoding
    return types.Range(
        types.Position(line, client_units(text[:start], encoding)),
        types.Position(line, client_units(text[:end], encoding)),
    )


def _tag_range(doc: TextDocument, lines: Sequence[str], tag: Tag) -> types.Range:
    return _range(doc, lines, tag.line, tag.start, tag.end)


def _position(doc: TextDocument, lines: Sequence[str], pos: types.Position) -> tuple[int, int]:
    return from_client_units(doc.position_codec.encoding, lines, pos)


def entry_location(row: queries.EntryRow) -> types.Location:
    """Where an entry was written (homebrew: its file and line), else its `d5e:` document (also
    for an entry of a zip pack: `…/brew.zip!/spells/x.json` is no file an editor can open)."""
    if row.source_path and "!/" not in row.source_path:
        line = max((row.source_line or 1) - 1, 0)
        return types.Location(
            uri=Path(row.source_path).absolute().as_uri(),
            range=types.Range(types.Position(line, 0), types.Position(line, 0)),
        )
    return types.Location(
        uri=entry_uri(row), range=types.Range(types.Position(0, 0), types.Position(0, 0))
    )


# -- diagnostics and quick fixes --------------------------------------------------------------


def _problems(resolver: Resolver, tags: Sequence[Tag]) -> Iterator[tuple[Tag, Resolution]]:
    for tag in tags:
        resolution = resolver.resolve(tag)
        if resolution.code is not None:
            yield tag, resolution


MAX_DIAGNOSTICS = 500
"""Diagnostics shown per document (those nearest the writer's last edit, else the first); the
others are counted in one more diagnostic."""
NO_PROBLEMS = LineProblems(0, ())


class DiagnosticsPass:
    """A document's diagnostics, found a slice of time at a time so that requests are answered
    between slices (a 20 MB document of unknown tags held the daemon for half a minute). The
    first MAX_DIAGNOSTICS problems are shown, with their "did you mean"; the rest are only
    counted (no suggestions looked for), in one last diagnostic at the end of the document.
    Given a `focus` (the line of the writer's last edit, `LineDocument.last_edited_line`), the
    problems shown are the MAX_DIAGNOSTICS nearest it instead: a typo just made near the end of
    a long chapter is shown, not left out because 500 others come before it.

    Each line's problems are kept by its text (`Resolver.line_problems`): a line whose text was
    seen costs a lookup, not a parse. And a pass is kept per line (`problems`, `counts`): given
    the `earlier` pass of the same document (a `textdoc.LineDocument`, which records its
    edits), a pass looks only at the lines the edits since then replaced; the others keep what
    the earlier pass found, moved by the lines added or removed above them. Then the first
    MAX_DIAGNOSTICS problems are gathered (only the lines holding them are visited), and a line
    that is shown now but was only counted before is read again for its suggestions."""

    def __init__(
        self,
        resolver: Resolver,
        doc: TextDocument,
        earlier: DiagnosticsPass | None = None,
        focus: int | None = None,
        cap: int | None = None,
    ) -> None:
        self.resolver, self.doc, self.focus = resolver, doc, focus
        self.cap = MAX_DIAGNOSTICS if cap is None else cap
        """How many problems are shown (`d5e check` shows them all)."""
        self.lines = doc.lines
        self.generation: int | None = getattr(doc, "generation", None)
        """The document's count of changes the pass is of (`LineDocument.generation`)."""
        self.resolved_by = resolver.generation
        self.line = 0
        """The line being worked on."""
        self.shown: list[tuple[int, Tag, Resolution]] = []
        self.more = 0
        self.problems: list[LineProblems] = []
        """Per line: its problems (count, and the first of them with suggestions)."""
        self.counts: list[int] = []
        """Per line: how many problems it holds."""
        self.marks: list[bool] = []
        """Per line: whether it may open or close a code fence (where an unclosed `{@` is
        code, not a tag: `_fenced`)."""
        self.looked_at = 0
        """Lines holding tags whose problems this pass looked up or found (a test reads it)."""
        self.done = False
        self._steps = self._pass(earlier)

    def run(self, seconds: float, stop: Callable[[], bool] | None = None) -> bool:
        """Work for about `seconds` (at least one tag or line), or until `stop()` says a
        request is waiting (asked before the first step too); True when the document is done."""
        if self.done:
            return True
        if stop is not None and stop():
            return False
        deadline = time.monotonic() + seconds
        for _ in self._steps:
            if time.monotonic() >= deadline or (stop is not None and stop()):
                return False
        self.done = True
        return True

    def _dirty(self, earlier: DiagnosticsPass | None) -> list[tuple[int, int]]:
        """Take what `earlier` found, moved by the edits since: the line ranges to look at."""
        count = len(self.lines)
        edits = None
        if (
            earlier is not None
            and earlier.done
            and earlier.doc is self.doc
            and earlier.resolved_by == self.resolved_by
            and earlier.generation is not None
            and isinstance(self.doc, LineDocument)
        ):
            edits = self.doc.edits_since(earlier.generation)
        if earlier is None or edits is None:
            self.problems, self.counts = [NO_PROBLEMS] * count, [0] * count
            self.marks = [False] * count
            return [(0, count)] if count else []
        problems, counts = list(earlier.problems), list(earlier.counts)
        marks = list(earlier.marks)
        dirty: list[tuple[int, int]] = []
        for edit in edits:
            added = edit.new_end - edit.start
            problems[edit.start : edit.old_end] = [NO_PROBLEMS] * added
            counts[edit.start : edit.old_end] = [0] * added
            marks[edit.start : edit.old_end] = [False] * added
            dirty = moved_ranges(dirty, edit)
        self.problems, self.counts, self.marks = problems, counts, marks
        if len(problems) != count:  # not the edits of this text: read it all
            self.problems, self.counts = [NO_PROBLEMS] * count, [0] * count
            self.marks = [False] * count
            return [(0, count)] if count else []
        return dirty

    def _pass(self, earlier: DiagnosticsPass | None) -> Generator[None, None, None]:
        dirty = self._dirty(earlier)
        lines, counts, problems, marks = self.lines, self.counts, self.problems, self.marks
        before = 0  # problems on the lines before the one looked at
        summed = 0  # `before` counts the lines up to this one
        for start, end in dirty:
            before += sum(counts[summed:start])
            for n in range(start, end):
                if n % CHECK_EVERY == 0:
                    yield
                text = lines[n]
                marks[n] = text[:4].lstrip(" ")[:1] in _FENCE_FIRST
                if "{@" not in text:
                    continue
                self.line = n
                self.looked_at += 1
                room = max(self.cap - before, 0)
                found = self.resolver.line_problems(text)
                if found is None or len(found.found) < min(room, found.count):
                    found = yield from self._work(text, room)
                problems[n], counts[n] = found, found.count
                before += found.count
            summed = end
        # the first MAX_DIAGNOSTICS problems (or those nearest the focus), from the lines
        # holding any
        shown: list[tuple[int, Tag, Resolution]] = []
        fenced: _Fenced | None = None
        code = 0  # problems found in code fences: none (those past the shown ones are not
        # looked for: the count of more problems may hold a few)
        holding = itertools.compress(itertools.count(), counts)
        for n in holding if self.focus is None else _nearest(list(holding), self.focus):
            room = self.cap - len(shown)
            if room <= 0:
                break
            found = problems[n]
            if len(found.found) < min(room, found.count):  # only counted before: shown now
                self.line = n
                found = problems[n] = yield from self._work(lines[n], room)
            fenced = fenced or _Fenced(lines, marks)
            if fenced(n):  # code, not tags
                code += found.count
                continue
            shown += [(n, tag, resolution) for tag, resolution in found.found[:room]]
        shown += self._notes(fenced or _Fenced(lines, marks))
        shown.sort(key=lambda item: item[0])  # by line; a line's own in their order
        self.shown, self.more = shown, max(sum(counts) - len(shown) - code, 0)

    def _notes(self, fenced: _Fenced) -> list[tuple[int, Tag, Resolution]]:
        """The notes a document tells once (`Resolution.once`), at the first tag of each key
        outside code, saying how many more tags it holds of the kind: a 2024 adventure page of
        twenty spell tags gets one "the 2024 SRD has no spells", not twenty."""
        first: dict[str, tuple[int, Tag, Resolution]] = {}
        told: dict[str, int] = {}
        for n, found in enumerate(self.problems):
            if not found.notes or fenced(n):
                continue
            for tag, resolution in found.notes:
                key = resolution.once or ""
                told[key] = told.get(key, 0) + 1
                first.setdefault(key, (n, tag, resolution))
        out = []
        for key, (n, tag, resolution) in first.items():
            more = told[key] - 1
            if more:
                words = key.replace("-", " ")
                message = (
                    f"{resolution.message}; {more} more tag(s) of {words} in this document "
                    "are the 2014 SRD's too"
                )
                resolution = Resolution(
                    row=resolution.row, code=resolution.code, message=message, once=key
                )
            out.append((n, tag, resolution))
        return out

    def _work(self, text: str, room: int) -> Generator[None, None, LineProblems]:
        """Parse and resolve a line, with suggestions for its first `room` problems (a step
        per tag); what it finds is kept by the line's text."""
        resolver = self.resolver
        found: list[tuple[Tag, Resolution]] = []
        notes: list[tuple[Tag, Resolution]] = []
        count = 0
        spans = code_spans(text) if "`" in text else ()
        for tag in itertools.chain(iter_tags(0, text), unclosed_tags(0, text)):
            yield
            if spans and any(start <= tag.start < end for start, end in spans):
                continue  # code, not a tag (unclosed_tags leaves those out already)
            resolution = resolver.resolve(tag, suggest=len(found) < room)
            if resolution.once is not None:
                notes.append((tag, resolution))
            elif resolution.code is not None:
                count += 1
                if len(found) < room:
                    found.append((tag, resolution))
        problems = LineProblems(count, tuple(found), tuple(notes))
        resolver.remember_line(text, problems)
        return problems

    def diagnostics(self) -> list[types.Diagnostic]:
        doc, lines = self.doc, self.lines
        found = [_diagnostic(doc, lines, tag, res, line) for line, tag, res in self.shown]
        if not self.more:
            return found
        last = types.Position(max(len(self.lines) - 1, 0), 0)
        which = f"the first {self.cap} are"
        if self.focus is not None and self.shown:
            which = (
                f"those shown are the {len(self.shown)} nearest your last edit, lines "
                f"{self.shown[0][0] + 1}-{self.shown[-1][0] + 1}"
            )
        return [
            *found,
            types.Diagnostic(
                range=types.Range(last, last),
                message=f"{self.more} more problem(s) in this document are not shown ({which})",
                severity=types.DiagnosticSeverity.Information,
                code="more",
                source=SOURCE,
            ),
        ]


def _nearest(lines: list[int], focus: int) -> Iterator[int]:
    """The sorted `lines`, nearest `focus` first (the line below it first of two as near)."""
    right = bisect.bisect_left(lines, focus)
    left = right - 1
    while left >= 0 or right < len(lines):
        if right < len(lines) and (left < 0 or lines[right] - focus <= focus - lines[left]):
            yield lines[right]
            right += 1
        else:
            yield lines[left]
            left -= 1


_FENCE_FIRST = frozenset("`~")
_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})(.*)")


class _Fenced:
    """Whether a line is in a code fence (its opening and closing lines included), from the
    lines a pass marked as maybe opening or closing one (`DiagnosticsPass.marks`): asked only
    for lines holding problems, which are code there, not tags."""

    def __init__(self, lines: Sequence[str], marks: Sequence[bool]) -> None:
        self.spans: list[tuple[int, int]] = []  # (opening line, closing line) of each fence
        opened: tuple[int, str] | None = None
        for n in itertools.compress(itertools.count(), marks):
            m = _FENCE.match(lines[n].rstrip("\r\n"))
            if m is None:
                continue
            if opened is None:
                if not (m[1][0] == "`" and "`" in m[2]):  # a backtick fence's info has none
                    opened = (n, m[1])
            elif m[1][0] == opened[1][0] and len(m[1]) >= len(opened[1]) and not m[2].strip():
                self.spans.append((opened[0], n))
                opened = None
        if opened is not None:  # never closed: to the end of the document
            self.spans.append((opened[0], len(lines)))
        self.starts = [start for start, _ in self.spans]

    def __call__(self, line: int) -> bool:
        at = bisect.bisect_right(self.starts, line) - 1
        return at >= 0 and line <= self.spans[at][1]


def _diagnostic(
    doc: TextDocument,
    lines: Sequence[str],
    tag: Tag,
    resolution: Resolution,
    line: int | None = None,
) -> types.Diagnostic:
    """The diagnostic of a tag's problem, on the tag's line or on `line`."""
    assert resolution.code is not None
    whole = resolution.code in ("unknown-tag", "unknown-pack", "unclosed-tag") or not tag.name
    start, end = (tag.start, tag.end) if whole else (tag.name_start, tag.name_end)
    return types.Diagnostic(
        range=_range(doc, lines, tag.line if line is None else line, start, end),
        message=resolution.message,
        severity=SEVERITY[resolution.code],
        code=resolution.code,
        source=SOURCE,
    )


def diagnostics(
    resolver: Resolver,
    doc: TextDocument,
    earlier: DiagnosticsPass | None = None,
    focus: int | None = None,
    cap: int | None = None,
) -> list[types.Diagnostic]:
    """All of them at once (capped as a pass caps them)."""
    work = DiagnosticsPass(resolver, doc, earlier, focus, cap)
    while not work.run(1.0):
        pass
    return work.diagnostics()


def _fix_action(
    doc: TextDocument, lines: Sequence[str], tag: Tag, resolution: Resolution, fix: Fix, first: bool
) -> types.CodeAction:
    new_text = fix_text(tag, fix)
    whole = new_text.startswith("{@")
    edit_range = _range(
        doc, lines, tag.line, *((tag.start, tag.end) if whole else (tag.name_start, tag.name_end))
    )
    return types.CodeAction(
        title=f'Replace with "{new_text}"',
        kind=types.CodeActionKind.QuickFix,
        diagnostics=[_diagnostic(doc, lines, tag, resolution)],
        is_preferred=first,
        edit=types.WorkspaceEdit(changes={doc.uri: [types.TextEdit(edit_range, new_text)]}),
    )


def _wanted(kind: str, only: Sequence[str] | None) -> bool:
    return not only or any(kind == o or kind.startswith(o + ".") for o in only)


def code_actions(
    resolver: Resolver,
    doc: TextDocument,
    selection: types.Range,
    only: Sequence[str] | None = None,
) -> list[types.CodeAction]:
    """Quick fixes for the problems touching `selection`, then "Link rules terms" over it."""
    lines = doc.lines
    start = _position(doc, lines, selection.start)
    end = _position(doc, lines, selection.end)
    actions: list[types.CodeAction] = []
    if _wanted(types.CodeActionKind.QuickFix, only):
        touching = [
            t
            for n in range(start[0], min(end[0], len(lines) - 1) + 1)
            for t in (*tags_in_line(n, lines[n]), *unclosed_tags(n, lines[n]))
            if (t.line, t.end) >= start and (t.line, t.start) <= end
        ]
        for tag, resolution in _problems(resolver, touching):
            for i, fix in enumerate(resolution.fixes):
                actions.append(_fix_action(doc, lines, tag, resolution, fix, i == 0))
    if start != end and _wanted(LINK_TERMS_KIND, only):
        link = link_terms(resolver, doc, lines, start, end)
        if link is not None:
            actions.append(link)
    if _wanted(STAT_BLOCK_KIND, only):
        block = stat_block_action(resolver, doc, selection.start)
        if block is not None:
            actions.append(block)
    return actions


# -- link rules terms -------------------------------------------------------------------------


@dataclass(frozen=True)
class LinkEdit:
    """One name turned into a tag by "Link rules terms"; columns are code points."""

    line: int
    start: int
    end: int
    new_text: str


def link_edits(
    resolver: Resolver, lines: Sequence[str], start: tuple[int, int], end: tuple[int, int]
) -> tuple[list[LinkEdit], list[str]]:
    """The tags "Link rules terms" writes between `start` and `end`, and the names it leaves
    alone because they are ambiguous.

    Prose names first, as `prose.py` recognises them (**goblins** → `**{@creature
    goblin||goblins}**`, keeping what was written as the tag's display text), then any known
    name, longest first ("Potion of Healing" before "Healing"); a name that would get two
    different tags (Shield: a spell and an armor) is left as it is. Nothing inside code,
    headings, links, HTML or existing tags is linked."""
    names, longest = resolver.known_names()
    prose_names = resolver.prose_names()
    languages = resolver.language_names()
    npcs = resolver.npc_names()
    edits: list[LinkEdit] = []
    skipped: list[str] = []
    named = _NamedCreatures()
    last = min(end[0], len(lines) - 1)
    previous = -2
    for n, masked in prose_lines(lines[: last + 2]):
        if n < start[0] or n > last:
            continue
        if n != previous + 1:
            named = _NamedCreatures()  # a paragraph of its own
        previous = n
        text = lines[n]
        lo = start[1] if n == start[0] else 0
        hi = end[1] if n == end[0] else len(text)
        for ref in refs_in_line(n, masked, prose_names):
            if ref.start < lo or ref.end > hi:
                continue
            tag = tag_for(ref.entry.collection, ref.entry.name)
            if tag is None or _bold_word_starting(masked, ref):
                continue
            if normalize(ref.text) != ref.entry.norm_name:
                tag = tag[:-1] + "||" + ref.text + "}"
            edits.append(LinkEdit(n, ref.start, ref.end, tag))
            if ref.entry.collection == "monsters":
                named.add(ref.entry.norm_name)
            stop = ref.end
            past = len(masked) - len(masked[stop:].lstrip("*_"))  # "**drow** guards"
            if ref.entry.collection == "monsters" and (after := _JOB_AFTER.match(masked, past)):
                stop = after.end()  # "2 kobold guards": kobolds, and no guards
            masked = masked[: ref.start] + " " * (stop - ref.start) + masked[stop:]
        header = "|" in text and _table_header(lines, n)
        if "+" in masked:
            for at, to, new_text in _bonus_items(masked, names, resolver.bonus_bases()):
                if lo <= at and to <= hi:
                    edits.append(LinkEdit(n, at, to, new_text))
                    masked = masked[:at] + " " * (to - at) + masked[to:]
        if (run_in := _RUN_IN_HEADING.match(masked)) is not None:
            # "**Guard.** The guard…", "**B2. Guard Room.**": a heading, not prose
            masked = (
                masked[: run_in.start(1)]
                + " " * (run_in.end() - run_in.start(1))
                + masked[run_in.end() :]
            )
        words = [m for m in _WORD.finditer(masked) if m.start() >= lo and m.end() <= hi]
        norms = [normalize(m[0]) for m in words]
        # run[i]: how many words from the i-th on are joined by spaces or hyphens only (the
        # words a name may span)
        run = [1] * len(words)
        for j in range(len(words) - 2, -1, -1):
            if _joined(text, words[j], words[j + 1]):
                run[j] = run[j + 1] + 1
        i = 0
        while i < len(words):
            creature = prose_names.may_start_creature(norms[i])
            for size in range(min(longest, run[i]), 0, -1):
                known = _known_name(names, " ".join(norms[i : i + size]), creature)
                if known is None:
                    continue
                at, to = words[i].start(), words[i + size - 1].end()
                if _in_compound(text, words, i, size):
                    i += size  # "Dwarf-forged", "goblin-made", "were-crocodile": a word of its own
                    break
                if "trait" in known.tags and _SENSES_BEFORE.search(text, 0, at) is not None:
                    i += size  # a stat block's "Senses darkvision 60 ft.": no race's trait
                    break
                if (
                    "spell" in known.tags
                    and known.entries == 1
                    and _cast(text, words, norms, i, size)
                ):
                    # "casts Light", "the knock spell", "Wren's Mage Armour spell": the spell,
                    # however written and whatever else the name names (Light, Shield)
                    new_text = "{@spell " + known.name.lower() + "}"
                    if normalize(text[at:to]) != normalize(known.name):
                        new_text = new_text[:-1] + "||" + text[at:to] + "}"
                    edits.append(LinkEdit(n, at, to, new_text))
                    i += size
                    break
                if known.ambiguous and words[i][0][0].islower():
                    known = _creature_first(known)
                if known.tags == _CREATURE and (
                    _split_creature(names, prose_names, lines, n, words, norms, i, size)
                    or (size == 1 and named.again(normalize(known.name)))
                    or _kind_before(text, words, norms, i, normalize(known.name), names)
                ):
                    # "a giant / spider" across a line break: no Spider; "the tiger's collar"
                    # after "a saber-toothed tiger": the same creature, no Tiger
                    i += size
                    break
                if _spoken(text, words, norms, i, size, languages):
                    i += size  # "speaks Common and Goblin": the language, not the goblin
                    break
                if (
                    size == 1
                    and known.tags == _CREATURE
                    and (
                        _used_as_verb(text, words, i)
                        or (norms[i] in npcs and _modifier(text, words, norms, i))
                        or (norms[i] in npcs and _idiom(text, words, norms, i))
                        or (norms[i] in npcs and _titled(text, words, norms, i, names))
                    )
                ) or (size == 1 and known.tags == _CONDITION and _tendency(text, words, norms, i)):
                    i += 1
                    break
                if (size == 1 and _attributive(text, words, norms, i, known)) or (
                    size > 1 and known.tags == _SPELL and _of_phrase(text, words, norms, i, size)
                ):
                    i += size
                    break
                job = 0
                if known.tags == _CREATURE and " ".join(norms[i : i + size]) in names:
                    longer = _longer_creature(prose_names, text, words, norms, i + size)
                    if longer > 0:
                        i += size + longer
                        break
                    job = -longer  # "kobold guards": the kobolds, not guards
                named_next = i + size < len(words) and norms[i + size] in names
                passed = (
                    0
                    if _coordinated(text, words, norms, i, size, names, known)
                    or (known.tags == _SKILL and _MODIFIER_AFTER.match(text, to) is not None)
                    else _plain_words_named(text, words, i, size, known, named_next, header)
                )
                if passed:
                    i += passed
                    break
                if known.tags == _CREATURE and _plural_possessive(text, at, to):
                    to += 1  # "the ogres' cave": the label keeps the apostrophe
                written = text[at:to]
                if known.ambiguous:
                    skipped.append(written)
                else:
                    (kind,) = known.tags
                    new_text = "{@" + kind + " " + known.name.lower() + "}"
                    if normalize(written) != normalize(known.name):  # an alias: as written
                        new_text = new_text[:-1] + "||" + written + "}"
                    edits.append(LinkEdit(n, at, to, new_text))
                    if kind == "creature":
                        named.add(normalize(known.name))
                i += size + job
                break
            else:
                i += 1
    edits = _in_own_edition(resolver, edits)
    edits.sort(key=lambda e: (e.line, e.start))
    return edits, list(dict.fromkeys(skipped))


def _in_own_edition(resolver: Resolver, edits: list[LinkEdit]) -> list[LinkEdit]:
    """A tag the profile reads as the other edition's entry where its own edition has one
    (`{@race human}` in a 2024 profile: the 2014 race, as 5etools reads it, where the 2024
    SRD has the Human species) is written as its own edition's, as the tag's quick fix writes
    it (`{@race human|srd-2024}`): link never writes a tag that its own check then flags. Each
    different tag is resolved once."""
    written: dict[str, str] = {}
    for edit in edits:
        if edit.new_text not in written:
            tags = tags_in_line(edit.line, edit.new_text)
            found = resolver.resolve(tags[0], suggest=False) if len(tags) == 1 else None
            fix = (
                found.fixes[0] if found and found.code == "other-edition" and found.fixes else None
            )
            written[edit.new_text] = fix.text if fix and fix.text else edit.new_text
    return [LinkEdit(e.line, e.start, e.end, written[e.new_text]) for e in edits]


_ITEM = frozenset({"item"})
_BONUS_BEFORE = re.compile(r"(?<![\w+])\+([1-3])[ \t]+((?:[^\W\d_][\w'’-]*[ \t]*){1,3})")
_BONUS_AFTER = re.compile(
    r"((?:[^\W\d_][\w'’-]*[ \t]+){1,3})\+([1-3])(?![\w+])(?![ \t]*(?:to\b|[,;]?[ \t]*\d))"
)


def _bonus_items(
    text: str, names: dict[str, KnownName], bases: dict[str, str]
) -> Iterator[tuple[int, int, str]]:
    """(start, end, tag) of each weapon or armor written with its magic bonus: "+1
    longsword", "a +2 chain mail", "+1 shields", "Longsword +1", "Shield +1" are the magic
    item the profile names by the bonus ("Weapon, +1", "Armor, +2"; the 2024 SRD's "Weapon
    +1", "Shield +1"), the label as written; a bonus to something else ("+1 to hit", "+2 gp",
    "Perception +3", "Dagger +3, 1d4") is none, nor a kind the profile has no item of (the
    SRD 2014 has no shield +1)."""

    def tag(bonus: str, base: list[str], written: str) -> str | None:
        norm = " ".join(normalize(w) for w in base)
        kind = bases.get(norm) or next((bases[f] for f in singular_forms(norm) if f in bases), None)
        known = None if kind is None else names.get(f"{kind} {bonus}")
        if known is None or known.ambiguous or known.tags != _ITEM:
            return None
        label = "" if normalize(written) == normalize(known.name) else "||" + written
        return "{@item " + known.name.lower() + label + "}"

    for m in _BONUS_BEFORE.finditer(text):
        words = list(re.finditer(r"[^\s]+", m[2]))
        for size in range(len(words), 0, -1):
            end = m.start(2) + words[size - 1].end()
            found = tag(m[1], [w[0] for w in words[:size]], text[m.start() : end])
            if found is not None and not text[end : end + 1].isalnum():
                yield m.start(), end, found
                break
    for m in _BONUS_AFTER.finditer(text):
        words = list(re.finditer(r"[^\s]+", m[1]))
        for first in range(len(words)):
            start = m.start(1) + words[first].start()
            found = tag(m[2], [w[0] for w in words[first:]], text[start : m.end()])
            if found is not None and _capitalised(words[first][0]):
                yield start, m.end(), found
                break


_SENSES_BEFORE = re.compile(r"\bSenses\b[^.;|]*$")
"""A stat block's senses before a name ("**Senses** darkvision 60 ft., passive Perception 14"):
a race's trait of the same name ("Darkvision (60 ft.)") is not what it says."""
_SKILL = frozenset({"skill"})
_MODIFIER_AFTER = re.compile(r"[ \t]*[+\-−–]\d")
"""A modifier after a skill's name ("Perception +4", "**Skills** :: Medicine +6"): a stat
block's skill, wherever its capital stands."""
_OPENING_QUOTE = re.compile(r"(?:^|(?<=[\s(\[]))['‘](?=\w)")


def _in_compound(text: str, words: list[re.Match[str]], i: int, size: int) -> bool:
    """Whether `words[i : i + size]` are a part of a longer word joined by a hyphen to another
    word ("Dwarf-forged", "goblin-infested", "were-crocodile"): no name of their own (a
    hyphenated name the profile has, "saber-toothed tiger", "half-orc", is read whole before
    its parts)."""
    at, to = words[i].start(), words[i + size - 1].end()
    before = i > 0 and text[at - 1 : at] == "-" and words[i - 1].end() == at - 1
    after = i + size < len(words) and text[to : to + 1] == "-" and words[i + size].start() == to + 1
    # a number joined by a hyphen is a row's or a roll's ("1d8: 1-sheep, 2-wolf"): no word
    return (before and words[i - 1][0][-1].isalpha()) or (after and words[i + size][0][0].isalpha())


def _plural_possessive(text: str, at: int, to: int) -> bool:
    """Whether the plural at `at`…`to` is followed by its possessive apostrophe ("the ogres'
    cave", "the harpies' victims"), not by a quote closing one opened before it."""
    return (
        text[to - 1 : to] in ("s", "S")
        and text[to : to + 1] in ("'", "’")
        and not text[to + 1 : to + 2].isalnum()
        and _OPENING_QUOTE.search(text, 0, at) is None
    )


_RUN_IN_HEADING = re.compile(
    r"[ \t>]*(?:(?:[-+*]|\d{1,9}[.)])[ \t]+)?(\*\*|__)[^*_\n]+?\.\1(?=[ \t]+\S)"
)
"""A bold run-in heading that begins a line and ends in a period ("**Guard.** The guard
stands…", "**B4. Kennels.** Three mastiffs…"): nothing in it is linked (`prose.py` reads no
creature there either); a bold line alone is a sentence ("**The wolves lie still.**"), and a
label ending in a colon may list names ("**Monsters:** …")."""


def _kind_before(
    text: str,
    words: list[re.Match[str]],
    norms: list[str],
    i: int,
    name: str,
    names: dict[str, KnownName],
) -> bool:
    """Whether a word one or two words before a creature's name `name` begins a longer
    creature's name with it, the words between making another ("giant ice frogs", "giant
    blue-skinned frogs": the Giant Frog's kin, no Frog)."""
    for k in (2, 3):
        j = i - k
        if j < 0 or not all(_joined(text, words[m], words[m + 1]) for m in range(j, i)):
            return False
        longer = names.get(norms[j] + " " + name)
        if longer is not None and longer.tags == _CREATURE:
            return True
    return False


class _NamedCreatures:
    """The creatures a paragraph linked so far, for `again`: a one-word creature's name that
    is the last word of a longer creature's named before it in the paragraph, and not named
    alone before, is that creature named again ("a saber-toothed tiger … the tiger's collar",
    "Four giant crabs lair here … notices the crabs"), no creature of its own."""

    def __init__(self) -> None:
        self.alone: set[str] = set()
        self.last_words: set[str] = set()

    def add(self, norm: str) -> None:
        words = norm.split()
        if len(words) == 1:
            self.alone.add(norm)
        elif words:
            self.last_words.add(words[words.index("of") - 1] if "of" in words[1:] else words[-1])

    def again(self, norm: str) -> bool:
        return norm in self.last_words and norm not in self.alone


def _coordinated(
    text: str,
    words: list[re.Match[str]],
    norms: list[str],
    i: int,
    size: int,
    names: dict[str, KnownName],
    known: KnownName,
) -> bool:
    """Whether the capitalised name `words[i : i + size]` that begins a sentence is joined by
    "and" or "or" to a capitalised name of the same kind ("Guidance and Resistance are…",
    "Fireball or Lightning Bolt"): a name, as the other is."""
    j = i + size
    if (
        j + 1 >= len(words)
        or norms[j] not in ("and", "or")
        or not _capitalised(words[i][0])
        or not _capitalised(words[j + 1][0])
        or known.ambiguous
        or not _sentence_start(text, words[i].start())
        or not (_joined(text, words[j - 1], words[j]) and _joined(text, words[j], words[j + 1]))
    ):
        return False
    for other in range(min(PLAIN_WORDS_MAX, len(words) - j - 1), 0, -1):
        found = names.get(" ".join(norms[j + 1 : j + 1 + other]))
        if found is not None and found.tags == known.tags:
            return True
    return False


_SENTENCE_END = frozenset(".!?:")
_MARKUP = " \t*_~>|#([\"'“‘+-"
_PLAIN_WORD_KINDS = frozenset({"creature", "condition"})
"""The kinds whose one-word names are linked in plain text however they are written: a
creature's name is mostly what prose means by the word ("the goblin", "wolves"), and so is a
condition's ("falls prone"); a spell's, an item's or a rule's one-word name is mostly an English
word ("a light breeze", "she will fly", "travel time", "a locked chest")."""


def _known_name(names: dict[str, KnownName], norm: str, creature: bool) -> KnownName | None:
    """What `norm` names, itself or as the plural of a creature's name ("the goblins",
    "Bandits (6)"; `creature`: whether a creature's name may begin with its first word): the
    plural of another kind's name is mostly a word ("wands", "books")."""
    known = names.get(norm)
    if known is None and creature:
        for singular in singular_forms(norm):
            known = names.get(singular)
            if known is not None:
                return known if _creature_first(known).tags == _CREATURE else None
    return known


_CREATURE = frozenset({"creature"})
_CREATURE_FIRST = frozenset({"item", "background", "subclass"})
"""The kinds whose one-word names a creature's name in lower case outranks: the SRD's mounts
are items too ("the mastiffs bark"), its Acolyte a background, its Berserker a subclass ("the
tribe's berserkers"); a class's name is not (a "druid" is mostly a character)."""


def _creature_first(known: KnownName) -> KnownName:
    """The creature of a name that also names an item, a background or a subclass (only)."""
    if (
        "creature" in known.tags
        and known.entries == 1
        and known.tags - _CREATURE <= _CREATURE_FIRST
    ):
        return KnownName(_CREATURE, known.name)
    return known


_CASTS = frozenset(["cast", "casts", "casting", "recast", "recasts"])
_SPELL_WORDS = frozenset(["spell", "spells", "cantrip", "cantrips"])


def _cast(text: str, words: list[re.Match[str]], norms: list[str], i: int, size: int) -> bool:
    """Whether the words `words[i : i + size]` are a spell by what is written around them:
    after "cast" ("casts Light", "to cast sleep") or before "spell" or "cantrip" ("the knock
    spell", "Tam's Light cantrip")."""
    j = i + size
    if j < len(words) and norms[j] in _SPELL_WORDS and _joined(text, words[j - 1], words[j]):
        return True
    return i > 0 and norms[i - 1] in _CASTS and _joined(text, words[i - 1], words[i])


def _split_creature(
    names: dict[str, KnownName],
    prose_names: ProseNames,
    lines: Sequence[str],
    n: int,
    words: list[re.Match[str]],
    norms: list[str],
    i: int,
    size: int,
) -> bool:
    """Whether a creature's name `words[i : i + size]` is a part of a longer one that a line
    break splits: it ends its line and the next line of the paragraph goes on with a word of
    a longer name ("a giant" / "spider waits": no Spider, nor a goblin in "a goblin" / "boss"),
    or it begins its line and the line before ends with the first part of one ("the ogre" /
    "zombie shambles": no Zombie, no Ogre)."""
    line = lines[n]
    name = " ".join(norms[i : i + size])
    if i + size == len(words) and not line[words[-1].end() :].strip(" \t*_\r\n"):
        after = _edge_word(lines, n + 1, first=True)
        if after is not None:
            word = normalize(after)
            longer = _known_name(names, name + " " + word, True)
            if (
                (longer is not None and longer.tags == _CREATURE)
                or prose_names.is_head(word, True)
                or prose_names.is_head(word, False)
            ):
                return True
    if i == 0 and not line[: words[0].start()].strip(" \t*_>"):
        before = _edge_word(lines, n - 1, first=False)
        if before is not None:
            longer = _known_name(names, normalize(before) + " " + name, True)
            if longer is not None and longer.tags == _CREATURE:
                return True
    return False


def _edge_word(lines: Sequence[str], n: int, first: bool) -> str | None:
    """The first (or last) word of line `n` when it goes on with the paragraph of the line
    beside it (not blank, no list item, heading, quote, table row or fence)."""
    if not 0 <= n < len(lines):
        return None
    text = lines[n].strip()
    if not text or text[0] in "#>|`~" or (first and _LIST_ITEM_START.match(text)):
        return None
    found: list[str] = _WORD.findall(text)
    if not found:
        return None
    return found[0] if first else found[-1]


_LIST_ITEM_START = re.compile(r"(?:[-+*]|\d{1,9}[.)])[ \t]")


_DETERMINERS = frozenset(
    ["the", "a", "an", "his", "her", "their", "its", "our", "your", "my", "these", "those"]
)
_SENTENCE_OPENERS = _DETERMINERS | frozenset(
    ["this", "that", "each", "every", "some", "any", "no", "one", "two", "three", "four", "five",
     "six", "seven", "eight", "nine", "ten", "then", "when", "if", "as", "and", "but", "or"]
)  # fmt: skip
_TITLE_END = re.compile(r"[*_]*[ \t]*(?:[.:]|$)")
_BEFORE_VERBS = frozenset(
    ["to", "will", "would", "can", "could", "shall", "should", "may", "might", "must", "cannot"]
)


def _used_as_verb(text: str, words: list[re.Match[str]], i: int) -> bool:
    """Whether a one-word creature's name in lower case is a verb where it is written: after
    "to", a modal or a pronoun ("to guard", "will shadow them", "you spy Drow"), or before a
    determiner ("two thugs guard the door", "a fourth guards the eggs", "guard this cavern";
    "that" is left out: "a ghoul that waits")."""
    word = words[i]
    if not (word[0].islower() or _sentence_start(text, word.start())):
        return False  # a capital that only begins a sentence says nothing ("- Guard the door")
    before = words[i - 1] if i > 0 else None
    if (
        before is not None
        and _joined(text, before, word)
        and before[0].lower() in _BEFORE_VERBS | _PRONOUNS
    ):
        return True
    after = words[i + 1] if i + 1 < len(words) else None
    return (
        after is not None
        and text[word.end() : after.start()] == " "
        and after[0].lower() in _DETERMINERS | {"this"}
    )


_PRONOUNS = frozenset(["i", "you", "we", "they", "he", "she"])
_IDIOM_VERBS = frozenset(
    ["stand", "stands", "stood", "standing", "keep", "keeps", "kept", "keeping", "mount",
     "mounts", "mounted", "mounting", "on", "off"]
)  # fmt: skip
"""Words before a one-word creature's name in the singular with no article that make it an
idiom's noun: "stands guard at the gate", "keeps guard", "on guard"."""
_CONDITION = frozenset({"condition"})
_RULE = frozenset({"rule"})


def _idiom(text: str, words: list[re.Match[str]], norms: list[str], i: int) -> bool:
    """Whether a nonplayer creature's one-word name in lower case is a noun of an idiom
    (`_IDIOM_VERBS`: "stands guard at the gate")."""
    return (
        i > 0
        and words[i][0].islower()
        and norms[i - 1] in _IDIOM_VERBS
        and _joined(text, words[i - 1], words[i])
    )


_TENDENCY = frozenset(["prone"])
"""The conditions whose names English also uses for a tendency ("prone to anger"); "invisible
to scout the tower" is the condition."""


def _tendency(text: str, words: list[re.Match[str]], norms: list[str], i: int) -> bool:
    """Whether a condition's one-word name says a tendency, before "to" and no article ("Prone
    to fits of anger", "prone to flooding"; not "knocked prone to the ground")."""
    j = i + 1
    return (
        norms[i] in _TENDENCY
        and j + 1 < len(words)
        and norms[j] == "to"
        and _joined(text, words[i], words[j])
        and norms[j + 1] not in _DETERMINERS
    )


def _modifier(text: str, words: list[re.Match[str]], norms: list[str], i: int) -> bool:
    """Whether a one-word creature's name in lower case is a word before a noun: with no
    determiner or count just before it, "bandit attacks", "an equivalent bandit group", "guard
    patrols", "clothes of noble cut", "stands guard outside" (but "a captive bandit is
    questioned", "the first guard we question", "1 thug", "mage stats", "bandit guards"); just
    after a determiner, before a word that is no verb's form ("the guard room", "the spy
    network"; but "the bandit dumps it", "the mage casts", "the guard drew", "the priest
    quickly…")."""
    word = words[i]
    if i + 1 >= len(words):
        return False
    starts = not word[0].islower() and _sentence_start(text, word.start())
    if not (word[0].islower() or starts):
        return False
    after = words[i + 1]
    if text[word.end() : after.start()] != " " or not after[0].islower():
        return False
    if starts:  # "- Scout temple exterior", "Guard captain = …"; not "Mage casts"
        next_word = norms[i + 1]
        return not next_word.endswith(_VERB_ENDINGS) and next_word not in _PAST_VERBS
    if (
        norms[i + 1] in _FUNCTION_WORDS
        or norms[i + 1] in _NOT_NOUNS
        or _JOB_AFTER.match(text, word.end())
    ):
        return False
    if i > 0 and _joined(text, words[i - 1], word):
        before = norms[i - 1]
        if before in _DETERMINERS:  # "the guard room", not "the guard watches", "… drew"
            next_word = norms[i + 1]
            return not next_word.endswith(_VERB_ENDINGS) and next_word not in _PAST_VERBS
        if before in _SENTENCE_OPENERS or before.isdecimal() or not words[i - 1][0].islower():
            return False
    return True


_ATTRIBUTIVE_KINDS = frozenset({"creature", "condition"})
_CLAUSE_WORDS = frozenset(
    ["for", "until", "from", "to", "and", "or", "nor", "but", "as", "because", "while", "after",
     "before", "since", "though", "yet", "so", "than", "like", "again", "too"]
)  # fmt: skip


def _attributive(
    text: str, words: list[re.Match[str]], norms: list[str], i: int, known: KnownName
) -> bool:
    """Whether a one-word name of a creature (in the singular) or of a condition, capitalised
    only because it begins a sentence, is a word before a noun, as English writes none of
    them there: "Wolf tracks circle the camp", "Ghost stories are told", "Shadow falls
    across the door", "Veteran adventurers know", "Frightened villagers crowd the square",
    "Poisoned wells", "Prone figures lie in the mud" (but "Goblins attack", "Kobold sentries
    (6-8)", "Prone creatures have disadvantage", "Prone, the goblin…", "Poisoned for 1 hour",
    "Wolf and bear tracks", a name alone in a list item or a table cell)."""
    word = words[i]
    if (
        known.tags not in (_CREATURE, _CONDITION)
        or i + 1 >= len(words)
        or not _capitalised(word[0])
        or not _sentence_start(text, word.start())
    ):
        return False
    after = words[i + 1]
    if text[word.end() : after.start()] != " " or not after[0][0].islower():
        return False
    if norms[i + 1] in _FUNCTION_WORDS or norms[i + 1] in _CLAUSE_WORDS:
        return False
    if known.tags == _CONDITION:
        return norms[i + 1] not in _RULES_SUBJECTS
    return norms[i] == normalize(known.name) and _JOB_AFTER.match(text, word.end()) is None


_RULES_SUBJECTS = frozenset(
    ["creature", "creatures", "target", "targets", "character", "characters", "enemy",
     "enemies", "foe", "foes", "ally", "allies", "monster", "monsters", "opponent", "opponents",
     "attacker", "attackers", "player", "players", "pc", "pcs"]
)  # fmt: skip
"""Words after a condition's name that say the rules' condition, at a sentence's start too:
"Prone creatures have disadvantage", "vs. Prone targets"."""


_SELECTING = frozenset(
    ["first", "second", "third", "fourth", "fifth", "last", "next", "other", "another", "only",
     "lone", "single", "same", "remaining", "dead", "one", "said", "old", "young", "new"]
)  # fmt: skip
"""Words before a nonplayer character's name that pick one of those there, no title: "the
first guard we question", "the lone guard", "the other noble" ("the old priest" and "the young
noble" are a person's age, said of the one there)."""


def _titled(
    text: str,
    words: list[re.Match[str]],
    norms: list[str],
    i: int,
    names: dict[str, KnownName],
) -> bool:
    """Whether a nonplayer character's one-word name in lower case and the singular is a
    title or a body of people with the word in lower case before it: "the village priest",
    "the town guard has closed the gates", "the high priest", "her honour guard", "(town
    guard, friendly wizard)" (but "a captive bandit", "an orcish veteran": one brought in;
    "the first guard", "the nearest guard", "the sleeping guard", "the wounded guard", "the
    human guard", "the remaining guards", "1 guard", "the guard" alone)."""
    if i == 0 or not words[i][0].islower() or (i > 1 and norms[i - 2] in ("a", "an")):
        return False
    before = words[i - 1]
    word = norms[i - 1]
    return (
        text[before.end() : words[i].start()] == " "
        and before[0][0].islower()
        and word.isalpha()
        and word not in _FUNCTION_WORDS
        and word not in _CLAUSE_WORDS
        and word not in _SELECTING
        and word not in _NOT_NOUNS
        and word not in _IDIOM_VERBS
        and word not in _CASTS
        and not word.endswith(("est", "ing", "ed"))
        and word not in names
        and not any(f in names for f in singular_forms(word))
    )


_SPELL = frozenset({"spell"})
_OF_WHAT = _DETERMINERS | frozenset(["this", "that", "all", "everyone", "everything"])


def _of_phrase(text: str, words: list[re.Match[str]], norms: list[str], i: int, size: int) -> bool:
    """Whether a spell's name of more words, in lower case, is English words before "of" and
    what they are of: "the chill touch of the grave", "a mirror image of her younger self",
    "the sacred flame of Pelor" (a spell is named, not followed by "of": "a scroll of misty
    step", "casts hold person on the ogre")."""
    j = i + size
    if not words[i][0].islower() or j + 1 >= len(words) or norms[j] != "of":
        return False
    return (
        text[words[j - 1].end() : words[j].start()] == " "
        and text[words[j].end() : words[j + 1].start()] == " "
        and (norms[j + 1] in _OF_WHAT or _capitalised(words[j + 1][0]))
    )


_VERB_ENDINGS = ("s", "ed", "ly", "ing")
_PAST_VERBS = frozenset(
    ["drew", "ran", "fell", "saw", "took", "made", "went", "came", "said", "told", "gave",
     "knew", "stood", "fought", "threw", "shot", "struck", "hid", "slept", "woke", "sat", "lay",
     "rose", "fled", "led", "left", "kept", "held", "found", "caught", "brought", "got", "let",
     "put", "set", "cast", "hit", "cut", "bit", "spoke", "wrote", "read", "began", "became",
     "felt", "heard", "meant", "met", "paid", "sent", "spent", "thought", "won", "wore", "stole",
     "swung", "flew", "drank", "ate", "grew", "shook", "chose", "froze", "tore", "dove", "ducked"]
)  # fmt: skip
"""Verbs in the past a sentence's subject may be followed by that end in no "-ed"."""


_NOT_NOUNS = frozenset(
    ["stat", "stats", "who", "which", "that", "to", "from", "as", "so", "if", "when", "while",
     "can", "will", "would", "may", "might", "must", "does", "did", "not", "also", "then",
     "i", "you", "we", "they", "he", "she", "it", "him", "her", "them", "us"]
)  # fmt: skip


def _longer_creature(
    names: ProseNames, text: str, words: list[re.Match[str]], norms: list[str], j: int
) -> int:
    """How many words from `words[j]` on go on with the creature's name before them into a
    creature no pack has ("a goblin boss", "an orc war chief", "Spider-centaurs": no goblin,
    no orc, no spider), 0 when its name ends there ("the goblin attacks"): the next word is a
    creature's (`ProseNames.heads`, itself or its plural not used as a verb, not capitalised
    after a name in lower case: "you spy Drow"), or the word after it is a role's
    (`prose.ROLE_WORDS`: "war chief"). A negative number: the next word is a job the creature
    does (`prose.JOB_WORDS`: "kobold guards", "Drow soldiers"): the creature is meant, the
    job word is no creature of its own."""
    if (
        j >= len(words)
        or _EMPHASIS_GAP.fullmatch(text, words[j - 1].end(), words[j].start()) is None
    ):
        return 0  # (a name's emphasis may end before the next word: "a **bandit** captain")
    if words[j - 1][0][0].islower() and words[j][0][0].isupper():
        return 0
    norm = norms[j]
    if norm in JOB_WORDS or any(f in JOB_WORDS for f in singular_forms(norm)):
        return 0 if _used_as_verb(text, words, j) else -1
    if names.is_head(norm, True) or (
        names.is_head(norm, False) and not _used_as_verb(text, words, j)
    ):
        return 1
    k = j + 1
    if k < len(words) and _joined(text, words[j], words[k]) and norm not in _FUNCTION_WORDS:
        role = norms[k]
        if role in ROLE_WORDS or any(f in ROLE_WORDS for f in singular_forms(role)):
            return 2
    return 0


_EMPHASIS_GAP = re.compile(r"[*_]*[ \t-]+")
_JOB_FORMS = sorted({f for w in JOB_WORDS for f in (w, w + "s", w[:-1] + "ies")}, key=len)
_JOB_AFTER = re.compile(r"[ \t]+(?:" + "|".join(reversed(_JOB_FORMS)) + r")(?![\w'’‘])", re.I)
"""A job word (`prose.JOB_WORDS`) after a creature's name: "kobold guards", "sentries"."""
_FUNCTION_WORDS = (
    _SENTENCE_OPENERS
    | _BEFORE_VERBS
    | frozenset(["is", "are", "was", "were", "has", "had", "of", "in", "on", "at", "by", "with"])
)


_LANGUAGE_VERBS = frozenset(
    ["speak", "speaks", "spoke", "speaking", "know", "knows", "knew", "knowing", "understand",
     "understands", "understood", "understanding", "read", "reads", "reading", "write",
     "writes", "wrote", "writing", "written", "fluent", "language", "languages", "tongue"]
)  # fmt: skip
_LIST_GAP = re.compile(r"[ \t]*[,:]?[ \t]*")
_CLAUSE_END = re.compile(r"[ \t]*(?:$|[^\w\s'’‘-]|(?:and|or|but|then)(?![\w'’‘]))")
"""Where a clause ends after a word: a punctuation mark, the line's end, or "and", "or"…
("shouts in Orc and they charge")."""


def _spoken(
    text: str,
    words: list[re.Match[str]],
    norms: list[str],
    i: int,
    size: int,
    languages: frozenset[str],
) -> bool:
    """Whether the capitalised `words[i : i + size]`, a language's name, are a language where
    they are written: after "speaks", "knows", "understands", "reads", "writes", "Languages:"…
    and "in", or in a list of languages after one ("speaks Common, Goblin and Orc", "written
    in Orc"), or after "in" ending a clause ("shouts in Goblin.")."""
    if " ".join(norms[i : i + size]) not in languages or not _capitalised(words[i][0]):
        return False
    if i > 0 and norms[i - 1] == "in" and _CLAUSE_END.match(text, words[i + size - 1].end()):
        return True
    j = i - 1
    while j >= 0 and _LIST_GAP.fullmatch(text[words[j].end() : words[j + 1].start()]):
        word = norms[j]
        if word in _LANGUAGE_VERBS:
            return True
        if word not in ("and", "or", "in", "fluent") and not (
            word in languages and _capitalised(words[j][0])
        ):
            return False
        j -= 1
    return False


_NOT_ALONE_KINDS = frozenset({"subclass"})
"""The kinds whose one-word names are never linked alone in plain text: the SRD names a
subclass by the word that tells it from its class's others ("Life", "Land", "Draconic",
"Thief"), which prose uses alone for something else (the Draconic language, a thief) and
writes whole for the subclass ("the Life Domain", "Draconic Bloodline")."""


def _capitalised(word: str) -> bool:
    return len(word) > 1 and word[0].isupper()


def _sentence_start(text: str, at: int) -> bool:
    """Whether a sentence (or a list item, a task, a table cell, a line) begins at column `at`."""
    before = _TASK_BOX.sub("", text[:at].rstrip(_MARKUP)).rstrip(_MARKUP)
    return not before or before[-1] in _SENTENCE_END


_TASK_BOX = re.compile(r"\[[ xX]\]$")


def _bold_word_starting(text: str, ref: ProseRef) -> bool:
    """A bold one-word name of a spell or an item that begins a sentence ("**Silence** falls"):
    its capital says nothing (`prose.py` takes such a bold word only capitalised)."""
    return (
        ref.style == "bold"
        and ref.entry.collection != "monsters"
        and " " not in ref.entry.norm_name
        and _sentence_start(text, ref.start)
    )


_LIST_ITEM_BEFORE = re.compile(r"[ \t]*(?:[-+*]|\d{1,9}[.)])(?:[ \t]+\[[ xX]\])?[ \t]+[*_]*")
_CELL_BEFORE = re.compile(r"\|[ \t]*[*_]*$")
_CELL_AFTER = re.compile(r"[*_]*[ \t]*(?:\||$)")
_TABLE_DELIMITER = re.compile(r"[ \t]*\|?(?:[ \t]*:?-+:?[ \t]*\|)+[ \t]*(?::?-+:?[ \t]*)?")


def _whole_item(text: str, at: int, to: int, header: bool) -> bool:
    """Whether `text[at:to]` is the whole of a list item or of a table cell (emphasis around
    it aside) but a header's: a name alone there is meant as one, capitalised as it is at a
    sentence's start ("- Fireball", "| Counterspell | 3 |")."""
    if text.lstrip().startswith("|"):
        return (
            not header
            and _CELL_BEFORE.search(text, 0, at) is not None
            and _CELL_AFTER.match(text, to) is not None
        )
    return _LIST_ITEM_BEFORE.fullmatch(text, 0, at) is not None and not text[to:].strip(" \t*_\r\n")


def _table_header(lines: Sequence[str], n: int) -> bool:
    """Whether line `n` is a table's header row (the next line is its delimiter row)."""
    return (
        n + 1 < len(lines) and _TABLE_DELIMITER.fullmatch(lines[n + 1].rstrip("\r\n")) is not None
    )


def _joined(text: str, a: re.Match[str], b: re.Match[str]) -> bool:
    return _NAME_SEPARATOR.fullmatch(text[a.end() : b.start()]) is not None


def _run_end(text: str, words: list[re.Match[str]], i: int) -> int:
    """The index after the run of capitalised words (linked by "of") that `words[i]` ends."""
    while i + 1 < len(words) and _joined(text, words[i], words[i + 1]):
        after = words[i + 1][0]
        if _capitalised(after):
            i += 1
        elif after == "of" and i + 2 < len(words) and _capitalised(words[i + 2][0]):
            i += 2
        elif (
            after == "of"
            and i + 3 < len(words)
            and words[i + 2][0] == "the"
            and _capitalised(words[i + 3][0])
        ):
            i += 3  # "Wizards of the Coast", "the Order of the Silver Shield"
        else:
            break
    return i + 1


def _plain_words_named(
    text: str,
    words: list[re.Match[str]],
    i: int,
    size: int,
    known: KnownName,
    named_next: bool,
    header: bool = False,
) -> int:
    """0 when the plain words `words[i : i + size]` name `known` as a writer means it, else how
    many words to pass. A name capitalised in the middle of a sentence is one, unless it is a
    part of a longer run of capitalised words ("the Bugbear Chief", "a Stone Guard", "the Wand
    of True Polymorph", "Kobold Inventor" beginning a line: a name no pack has, passed whole;
    "Stone Chest", "**Northcrest Investigation:**": a title's or a label's first word is a
    part of the run too, unless it is a word that opens sentences, `_SENTENCE_OPENERS`: "The
    Wolf.", "Then Sleep."; not "Cast Fireball, …"; "Wolf Perception", `named_next`:
    the next word is a name of its own, two names); a one-word name of a spell, an item,
    a rule… is one only when so capitalised ("casts Sleep", not "sleep in the inn": see
    `_PLAIN_WORD_KINDS`)."""
    if size == 1 and (known.tags <= _NOT_ALONE_KINDS or (header and known.tags <= _RULE)):
        return size  # a table's header labels its column ("| Cover | Time |", not "Perception")
    first = words[i]
    if (
        _capitalised(first[0])
        and _whole_item(text, first.start(), words[i + size - 1].end(), header)
        and not known.tags <= _RULE
    ):
        return 0  # "- Fireball", "| Counterspell | 3 |": a list item or a table cell whole
    if _capitalised(first[0]):
        run = _run_end(text, words, i + size - 1)
        if run != i + size and not (named_next and words[i + size][0] != "of"):
            return run - i  # "Kobold Inventor (…)", at a sentence's start too
        if not _sentence_start(text, first.start()):
            before = words[i - 1] if i > 0 else None
            if (
                before is not None
                and _joined(text, before, first)
                and _capitalised(before[0])
                and (
                    not _sentence_start(text, before.start())
                    or (
                        before[0].lower() not in _SENTENCE_OPENERS
                        and _TITLE_END.match(text, words[i + size - 1].end()) is not None
                    )
                )
            ):
                return size
            return 0
    return 0 if size > 1 or known.tags & _PLAIN_WORD_KINDS else size


def link_terms(
    resolver: Resolver,
    doc: TextDocument,
    lines: Sequence[str],
    start: tuple[int, int],
    end: tuple[int, int],
) -> types.CodeAction | None:
    """Turn the known names in the selection into tags (Fireball → `{@spell fireball}`)."""
    found, skipped = link_edits(resolver, lines, start, end)
    if not found:
        return None
    edits = [types.TextEdit(_range(doc, lines, e.line, e.start, e.end), e.new_text) for e in found]
    title = f"{LINK_TERMS} ({len(edits)})"
    if skipped:
        title += f"; ambiguous, left alone: {', '.join(skipped)}"
    return types.CodeAction(
        title=title, kind=LINK_TERMS_KIND, edit=types.WorkspaceEdit(changes={doc.uri: edits})
    )


def link_text(resolver: Resolver, text: str) -> tuple[str, list[LinkEdit], list[str]]:
    """A whole document with "Link rules terms" applied (line endings kept): `d5e link`."""
    raw = text.splitlines(keepends=True)
    lines = [line.rstrip("\r\n") for line in raw]
    if not lines:
        return text, [], []
    edits, skipped = link_edits(resolver, lines, (0, 0), (len(lines) - 1, len(lines[-1])))
    for e in reversed(edits):
        line = raw[e.line]
        raw[e.line] = line[: e.start] + e.new_text + line[e.end :]
    return "".join(raw), edits, skipped


# -- completion -------------------------------------------------------------------------------


def _names_to_items(
    app: App,
    prefix: str,
    collections: Sequence[str],
    edit_range: types.Range,
    make_text: Callable[[CompletionItem], str],
    limit: int,
    tiers: tuple[str, ...] | None = None,
) -> list[types.CompletionItem]:
    found = complete(
        app, CompleteParams(prefix=prefix, collections=list(collections), limit=limit)
    ).items
    items: list[types.CompletionItem] = []
    for item in found:
        if tiers is not None and item.match not in tiers:
            continue
        new_text = make_text(item)
        items.append(
            types.CompletionItem(
                label=item.name,
                label_details=types.CompletionItemLabelDetails(
                    detail=f" ({item.alias})" if item.alias else None, description=item.pack
                ),
                kind=types.CompletionItemKind.Reference,
                detail=item.detail,
                # The server already filtered and ordered (typos included): keep its order.
                filter_text=prefix,
                sort_text=f"{len(items):04d}",
                text_edit=types.TextEdit(edit_range, new_text),
                data={"ref": f"{item.pack}:{item.ref}"},
            )
        )
    return items


def completion(
    resolver: Resolver, doc: TextDocument, position: types.Position, limit: int | None = None
) -> types.CompletionList:
    """After `{@`: tag names. After `{@spell `: names of that collection, best first. On a
    plain word: the entries it may name, inserted as tags."""
    app = resolver.app
    limit = limit or app.settings.completion_limit
    lines = doc.lines
    line_no, col = _position(doc, lines, position)
    text = lines[line_no] if line_no < len(lines) else ""
    before, after = text[:col], text[col:]
    if m := _TAG_NAME_BEFORE.search(before):
        return _tag_name_items(resolver, doc, lines, line_no, m, after)
    if m := _NAME_BEFORE.search(before):
        return _entry_name_items(app, doc, lines, line_no, m, after, limit)
    if m := _PACK_BEFORE.search(before):
        return _pack_part_items(app, doc, lines, line_no, m, after)
    if "{@" in before[before.rfind("}") + 1 :]:  # inside a tag's display part
        return types.CompletionList(is_incomplete=False, items=[])
    return types.CompletionList(
        is_incomplete=True, items=_plain_word_items(app, doc, lines, line_no, before, limit)
    )


def _tag_name_items(
    resolver: Resolver,
    doc: TextDocument,
    lines: Sequence[str],
    line_no: int,
    m: re.Match[str],
    after: str,
) -> types.CompletionList:
    typed = m[1].lower()
    rest = re.match(r"[A-Za-z0-9]*", after)
    end = m.end() + (len(rest[0]) if rest else 0)
    edit_range = _range(doc, lines, line_no, m.start(1), end)
    items: list[types.CompletionItem] = []
    for tag in resolver.offered_tags():
        collections = TAG_COLLECTIONS[tag]
        if tag.startswith(typed):
            items.append(
                types.CompletionItem(
                    label=tag,
                    kind=types.CompletionItemKind.Keyword,
                    detail=", ".join(collections),
                    sort_text=f"{len(items):04d}",
                    text_edit=types.TextEdit(edit_range, tag + " "),
                )
            )
    return types.CompletionList(is_incomplete=False, items=items)


_PART_REST = re.compile(r"[^{}|\r\n]*")


def _part_after(after: str) -> tuple[str, bool]:
    """The rest of the tag part the cursor is in (`ball` of `{@spell fire|ball|phb}`) and
    whether the tag goes on after it (a `|` or `}` follows): a completion replaces the rest
    and closes the tag only when it does not."""
    m = _PART_REST.match(after)
    rest = m[0] if m else ""
    return rest, after[len(rest) : len(rest) + 1] in ("|", "}")


def _entry_name_items(
    app: App,
    doc: TextDocument,
    lines: Sequence[str],
    line_no: int,
    m: re.Match[str],
    after: str,
    limit: int,
) -> types.CompletionList:
    """Names for `{@spell fir|`: the edit covers the whole name part and closes the tag."""
    collections = TAG_COLLECTIONS.get(m[1].lower())
    typed = m[2].strip()
    if collections is None or not typed:
        return types.CompletionList(is_incomplete=collections is not None, items=[])
    rest, closed = _part_after(after)
    start = m.start(2) + len(m[2]) - len(m[2].lstrip())
    edit_range = _range(doc, lines, line_no, start, m.end() + len(rest))
    suffix = "" if closed else "}"
    kind = m[1].lower()

    def name_part(item: CompletionItem) -> str:
        """The name, and where same-named entries need them the parts that tell this one
        apart (`extra attack|Fighter||5}`), unless the tag goes on already."""
        if not closed and kind in QUALIFIER_PARTS:
            full = tag_for_found(app, item.pack, item.ref, item.name) or ""
            if full.startswith("{@" + kind + " "):
                return full[len(kind) + 3 : -1] + suffix
        return item.name.lower() + suffix

    items = _names_to_items(app, typed, collections, edit_range, name_part, limit)
    return types.CompletionList(is_incomplete=True, items=items)


def _pack_part_items(
    app: App,
    doc: TextDocument,
    lines: Sequence[str],
    line_no: int,
    m: re.Match[str],
    after: str,
) -> types.CompletionList:
    """Packs for `{@spell fireball|`: those holding the name, the profile's enabled ones first
    (highest priority first); the edit covers the pack part and closes the tag. Not for tags
    whose second part is no pack (`{@classFeature Extra Attack|Fighter`)."""
    kind = m[1].lower()
    collections = TAG_COLLECTIONS.get(kind)
    found = None
    if collections is not None and kind not in QUALIFIER_PARTS:
        found = find_name(app.conn, m[2], collections)
    if found is None:
        return types.CompletionList(is_incomplete=False, items=[])
    enabled = queries.profile_packs(app.conn, app.profile)
    packs = sorted(
        {row.pack for row in found.rows}, key=lambda p: (p not in enabled, -enabled.get(p, 0), p)
    )
    rest, closed = _part_after(after)
    edit_range = _range(doc, lines, line_no, m.start(3), m.end() + len(rest))
    items: list[types.CompletionItem] = []
    for pack_id in packs:
        pack = queries.get_pack(app.conn, pack_id)
        title = pack.title if pack is not None else pack_id
        items.append(
            types.CompletionItem(
                label=pack_id,
                kind=types.CompletionItemKind.Module,
                detail=title if pack_id in enabled else f"{title} (not enabled in this profile)",
                sort_text=f"{len(items):04d}",
                text_edit=types.TextEdit(edit_range, pack_id + ("" if closed else "}")),
            )
        )
    return types.CompletionList(is_incomplete=False, items=items)


def _plain_word_items(
    app: App, doc: TextDocument, lines: Sequence[str], line_no: int, before: str, limit: int
) -> list[types.CompletionItem]:
    """The tagged forms of the entries the words before the cursor may name: the longest run
    of words that begins a name ("bag of hol"), else the last word, typos allowed."""
    m = _WORDS_BEFORE.search(before)
    if not m or len(_WORD.findall(m[0])[-1]) < PLAIN_WORD_MIN:
        return []
    starts = [w.start() + m.start() for w in re.finditer(r"[^\W_][\w'’‘-]*", m[0])]
    col = len(before)

    def tagged(item: CompletionItem) -> str:
        return tag_for_found(app, item.pack, item.ref, item.name) or item.name

    for i, start in enumerate(starts):
        single = i == len(starts) - 1
        items = _names_to_items(
            app,
            before[start:],
            TAGGED_COLLECTIONS,
            _range(doc, lines, line_no, start, col),
            tagged,
            limit,
            tiers=None if single else ("exact", "prefix"),
        )
        if items:
            for item in items:
                item.label_details = types.CompletionItemLabelDetails(
                    description=item.text_edit.new_text if item.text_edit else None
                )
            return items
    return []


def resolve_completion(app: App, item: types.CompletionItem) -> types.CompletionItem:
    """Add the rendered card to a completion item (`completionItem/resolve`)."""
    data = item.data if isinstance(item.data, dict) else {}
    ref = data.get("ref")
    if isinstance(ref, str):
        item.documentation = types.MarkupContent(
            kind=types.MarkupKind.Markdown, value=lookup(app, LookupParams(ref=ref)).markdown
        )
    return item


# -- hover, definition, links, symbols --------------------------------------------------------


@dataclass(frozen=True)
class RefAt:
    """The reference under the cursor (a tag or a prose name) and the entry it means."""

    lines: Sequence[str]
    line: int
    start: int
    end: int
    row: queries.EntryRow


def reference_at(resolver: Resolver, doc: TextDocument, position: types.Position) -> RefAt | None:
    """The tag, or else the prose name ("**goblins**", "*fireball*", "4 wolves"), at a
    position, with the entry it resolves to."""
    lines = doc.lines
    line_no, col = _position(doc, lines, position)
    tag = tag_at(lines, line_no, col)
    if tag is not None:
        row = resolver.resolve(tag).row
        return None if row is None else RefAt(lines, tag.line, tag.start, tag.end, row)
    ref = prose_at(lines, resolver.prose_names(), line_no, col, doc.uri, doc)
    if ref is None:
        return None
    rows = queries.rows_by_ids(resolver.app.conn, [ref.entry.id])
    return RefAt(lines, ref.line, *ref.span, rows[0]) if rows else None


def _disabled_reference_at(
    resolver: Resolver, doc: TextDocument, position: types.Position
) -> RefAt | None:
    """The tag at a position, with the entry it names in a pack the profile does not enable."""
    lines = doc.lines
    line_no, col = _position(doc, lines, position)
    tag = tag_at(lines, line_no, col)
    row = resolver.resolve(tag).elsewhere if tag is not None else None
    return None if tag is None or row is None else RefAt(lines, tag.line, tag.start, tag.end, row)


def hover(resolver: Resolver, doc: TextDocument, position: types.Position) -> types.Hover | None:
    """The card of the entry under the cursor, ending with its pack, license and attribution;
    a tag naming an entry of a pack the profile does not enable: that card, under a line
    saying so."""
    found = reference_at(resolver, doc, position)
    note = ""
    if found is None:
        found = _disabled_reference_at(resolver, doc, position)
        if found is None:
            return None
        note = (
            f"*{found.row.pack} is not enabled in this profile ({resolver.app.profile}); "
            "its entry:*\n\n"
        )
    newer = edition_note(resolver.app, found.row)  # the 2014 SRD's, in a 2024 profile
    note += f"*{newer}*\n\n" if newer else ""
    markdown = note + lookup(resolver.app, LookupParams(ref=found.row.qualified_ref)).markdown
    return types.Hover(
        contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=markdown),
        range=_range(doc, found.lines, found.line, found.start, found.end),
    )


def definition(
    resolver: Resolver, doc: TextDocument, position: types.Position
) -> types.Location | None:
    found = reference_at(resolver, doc, position)
    return None if found is None else entry_location(found.row)


# -- references and symbols -------------------------------------------------------------------


def _mention_location(m: Mention, encoding: str | None) -> types.Location:
    return types.Location(
        uri=m.path.as_uri(),
        range=types.Range(
            types.Position(m.line, client_units(m.text[: m.start], encoding)),
            types.Position(m.line, client_units(m.text[: m.end], encoding)),
        ),
    )


def references(
    resolver: Resolver,
    campaign: Campaign | None,
    doc: TextDocument,
    position: types.Position,
    include_declaration: bool = False,
) -> list[types.Location] | None:
    """Every mention, in the campaign's Markdown files, of the entry under the cursor (tags and
    prose names); the document itself is searched even when it lies outside the campaign."""
    found = reference_at(resolver, doc, position)
    if found is None:
        return None
    encoding = doc.position_codec.encoding
    mentions = campaign.mentions(found.row.id) if campaign is not None else []
    here = Path(to_fs_path(doc.uri) or "")
    if campaign is None or here not in campaign.files:
        mentions += _document_mentions(resolver, doc, found.row.id, here)
    locations = [_mention_location(m, encoding) for m in mentions]
    if include_declaration:
        locations.insert(0, entry_location(found.row))
    return locations


def _document_mentions(
    resolver: Resolver, doc: TextDocument, entry_id: int, path: Path
) -> list[Mention]:
    lines = doc.lines
    found = [
        Mention(path, t.line, t.start, t.end, "tag", lines[t.line])
        for t in find_tags(lines)
        if (row := resolver.resolve(t).row) is not None and row.id == entry_id
    ]
    walk = walk_prose(lines, resolver.prose_names(), doc.uri, doc)
    for n, on_line in walk.by_line():
        for ref in on_line:
            if ref.entry.id == entry_id:
                found.append(Mention(path, n, *ref.span, ref.style, lines[n], ref.count))
    return sorted(found, key=lambda m: (m.line, m.start))


def document_symbols(
    resolver: Resolver, doc: TextDocument, facts: DocumentFacts | None = None
) -> list[types.DocumentSymbol]:
    """The document's encounters (```` ```encounter ```` blocks, and lines that count
    creatures), then each entry it uses, once, with how often and where first: the first
    MAX_ITEMS of them, then one symbol saying how many more there are."""
    lines = doc.lines
    if facts is None:
        facts = facts_now(resolver, doc)
    symbols: list[types.DocumentSymbol] = []
    walk = facts.prose_walk
    encounters = find_encounters(
        lines, resolver.prose_names(), walk, facts.all_tags(facts.counted_tag_lines), facts.fences
    )
    for enc in encounters:
        where = _range(doc, lines, enc.line, 0, len(lines[enc.line].rstrip("\r\n")))
        if enc.end_line != enc.line:
            last = _range(doc, lines, enc.end_line, 0, len(lines[enc.end_line].rstrip("\r\n")))
            where = types.Range(where.start, last.end)
        symbols.append(
            types.DocumentSymbol(
                name=enc.name,
                detail=enc.detail,
                kind=types.SymbolKind.Event,
                range=where,
                selection_range=where,
            )
        )
    # entry id → how often it is mentioned, and where first
    used: dict[int, tuple[int, tuple[int, int, int]]] = {
        entry_id: (times, first) for entry_id, (_, times, first) in facts.tag_uses.items()
    }
    names = {entry_id: row for entry_id, (row, _, _) in facts.tag_uses.items()}
    prose_ids = set()
    for n, on_line in walk.by_line():
        for ref in on_line:
            spot = (n, *ref.span)
            seen, earliest = used.get(ref.entry.id, (0, spot))
            used[ref.entry.id] = (seen + 1, min(earliest, spot))
            prose_ids.add(ref.entry.id)
    missing = [i for i in prose_ids if i not in names]
    names.update({r.id: r for r in queries.rows_by_ids(resolver.app.conn, missing)})
    for entry_id, (mentions, spot) in sorted(used.items(), key=lambda item: item[1][1]):
        named = names.get(entry_id)
        if named is None:
            continue
        row = named
        first = _range(doc, lines, *spot)
        times = f"{mentions} mention" + ("s" if mentions > 1 else "")
        symbols.append(
            types.DocumentSymbol(
                name=row.name,
                detail=f"{times} · {row.pack}:{row.ref}",
                kind=SYMBOL_KINDS.get(row.collection, types.SymbolKind.Constant),
                range=first,
                selection_range=first,
            )
        )
    if len(symbols) <= MAX_ITEMS:
        return symbols
    more = len(symbols) - MAX_ITEMS
    at = symbols[MAX_ITEMS].range
    return [
        *symbols[:MAX_ITEMS],
        types.DocumentSymbol(
            name=f"{more} more symbol(s) not shown",
            detail=f"the first {MAX_ITEMS} are",
            kind=types.SymbolKind.Null,
            range=at,
            selection_range=at,
        ),
    ]


# -- stat blocks ------------------------------------------------------------------------------


def _paragraph_end(lines: Sequence[str], line: int) -> int:
    """The last line of the paragraph (or list, or table) holding `line`."""
    end = line
    while end + 1 < len(lines) and lines[end + 1].strip():
        end += 1
    return end


def stat_block_action(
    resolver: Resolver, doc: TextDocument, position: types.Position
) -> types.CodeAction | None:
    """ "Insert stat block": the card of the creature, spell or item under the cursor, below
    its paragraph, as Markdown or (setting `statBlocks: "homebrewery"`) in Homebrewery's
    `{{monster,frame …}}` block."""
    found = reference_at(resolver, doc, position)
    if found is None or found.row.collection not in STAT_BLOCK_COLLECTIONS:
        return None
    app = resolver.app
    style = app.settings.stat_blocks
    block = stat_block_of(app, found.row, style)
    lines = found.lines
    end = _paragraph_end(lines, found.line)
    at = types.Position(end, client_units(lines[end].rstrip("\r\n"), doc.position_codec.encoding))
    text = "\n\n" + block.rstrip("\n")  # the paragraph's line break and blank line follow it
    where = "Homebrewery" if style == "homebrewery" and found.row.collection == "monsters" else ""
    return types.CodeAction(
        title=f"Insert {where + ' ' if where else ''}stat block: {found.row.name}",
        kind=STAT_BLOCK_KIND,
        edit=types.WorkspaceEdit(changes={doc.uri: [types.TextEdit(types.Range(at, at), text)]}),
    )


def document_links(
    resolver: Resolver, doc: TextDocument, facts: DocumentFacts | None = None
) -> list[types.DocumentLink]:
    """A link to its entry on each tag that resolves: the first MAX_ITEMS of them (a link
    cannot say that others are left out)."""
    lines = doc.lines
    if facts is None:
        facts = facts_now(resolver, doc)
    links: list[types.DocumentLink] = []
    for tag, row in facts.tags_in_order():
        if len(links) >= MAX_ITEMS:
            break
        links.append(
            types.DocumentLink(
                range=_tag_range(doc, lines, tag),
                target=entry_location(row).uri,
                tooltip=f"{row.name} ({row.pack}:{row.ref})",
            )
        )
    return links


def campaign_symbols(
    campaign: Campaign | None, query: str, limit: int = 50
) -> list[types.SymbolInformation]:
    """The campaign's encounters whose name or creatures hold `query` (all for an empty one)."""
    if campaign is None:
        return []
    words = query.lower().split()
    found = []
    for path, enc in campaign.encounters():
        text = f"{enc.name} {enc.detail}".lower()
        if all(w in text for w in words):
            lines = campaign.files[path].lines
            end = len(lines[enc.end_line]) if enc.end_line < len(lines) else 0
            found.append(
                types.SymbolInformation(
                    name=enc.name,
                    kind=types.SymbolKind.Event,
                    container_name=f"{path.name} · {enc.detail}",
                    location=types.Location(
                        uri=path.as_uri(),
                        range=types.Range(
                            types.Position(enc.line, 0), types.Position(enc.end_line, end)
                        ),
                    ),
                )
            )
            if len(found) >= limit:
                break
    return found


def workspace_symbols(app: App, query: str, limit: int = 50) -> list[types.SymbolInformation]:
    """Entries whose names match `query`, typo-tolerant, best first (empty query: none).

    `SymbolInformation` rather than `WorkspaceSymbol`: every client reads it (older eglot
    versions read nothing else), and each entry has its location at hand anyway."""
    if not query.strip():
        return []
    matches = match_names(app, query, limit=limit)
    rows = queries.rows_by_ids(app.conn, [m.row.id for m in matches])
    return [
        types.SymbolInformation(
            name=row.name,
            kind=SYMBOL_KINDS.get(row.collection, types.SymbolKind.Constant),
            container_name=f"{row.pack} · {row.collection}",
            location=entry_location(row),
        )
        for row in rows
    ]
