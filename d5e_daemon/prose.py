"""Rules references written the way published adventures write them, without tags.

    The **wolves** circle the camp.            bold: a creature
    She casts *fireball* from a *wand of fireballs*.   italics: a spell or an item
    Scene 1 (road): 4 wolves; Flame's den: Flame + 2 wolves + 1 dire wolf.   a count: creatures

`find_prose(lines, names)` finds them in a document's lines: each `ProseRef` has its range (the
name as written, and where its count is written), the entry it means and how many the prose
counts. Nothing is recognised inside code (fenced, indented after a blank line, or inline),
headings, links, HTML tags and comments, front matter or `{@tags}`; a bold run-in heading
("**Guard.** The guard…") is no creature. Prose names are never diagnostics: prose that names
nothing known is just prose.

`ProseNames` holds the names of one profile's winners (built once, `ProseNames.load`); a name in
the plural ("dire wolves", "potions of healing") means its singular (`names.singular_forms`).
Columns are code points, as in `features/tags.py`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

import apsw

from . import queries
from .names import singular_forms
from .queries import NamedEntry
from .text import normalize

Style = Literal["italic", "bold", "count"]

# What each way of writing a name may refer to, the likelier first: published adventures
# italicise spells and magic items, and set creatures in bold.
ITALIC_COLLECTIONS = ("spells", "magic-items", "poisons", "equipment")
BOLD_COLLECTIONS = ("monsters",)
COUNT_COLLECTIONS = ("monsters",)
STYLE_COLLECTIONS: dict[Style, tuple[str, ...]] = {
    "italic": ITALIC_COLLECTIONS,
    "bold": BOLD_COLLECTIONS,
    "count": COUNT_COLLECTIONS,
}
PROSE_COLLECTIONS = tuple(dict.fromkeys(ITALIC_COLLECTIONS + BOLD_COLLECTIONS))

NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "a dozen": 12, "a pair of": 2,
}  # fmt: skip
MAX_COUNT_DIGITS = 9  # a longer number is no count of creatures ("10000000000 gp")
MAX_EMPHASIS = 80  # code points: longer emphasised text is a sentence, not a name

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_ATX_HEADING = re.compile(r"^ {0,3}#{1,6}(?:[ \t]|$)")
_SETEXT_UNDERLINE = re.compile(r"^ {0,3}(?:=+|-+)[ \t]*$")
_REFERENCE_DEFINITION = re.compile(r"^ {0,3}\[[^\]]+\]:")
_INDENTED = re.compile(r"^(?: {4}|\t)")
_LIST_ITEM = re.compile(r"^[ \t]*(?:[-+*]|\d{1,9}[.)])[ \t]")
# Inline spans blanked out before looking for names (their text is no prose name).
_INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1")
_TAG = re.compile(r"\{@[^{}\r\n]*\}")
_LINK = re.compile(
    r"!?\[\[[^\]\n]*\]\]"  # [[wiki link]] (Obsidian)
    r"|!?\[(?:[^\[\]\n]|\[[^\[\]\n]*\])*\](?:\([^()\n]*(?:\([^()\n]*\)[^()\n]*)*\)|\[[^\]\n]*\])?"
    r"|<[a-zA-Z][a-zA-Z0-9+.-]*:[^\s<>]*>"  # <https://…> autolinks
    r"|https?://[^\s<>()]+"
)
_HTML = re.compile(r"<!--.*?-->|</?[A-Za-z][^<>\n]*>")
_EMPHASIS = re.compile(
    r"(?<![*\\\w])(\*{1,3})(?![\s*])([^*\n]+?)(?<![\s\\])\1(?![*\w])"
    r"|(?<![_\\\w])(_{1,3})(?![\s_])([^_\n]+?)(?<![\s\\])\3(?![_\w])"
)
_NUMBER = "|".join(
    [rf"\d{{1,{MAX_COUNT_DIGITS}}}"] + [w.replace(" ", r"\s+") for w in NUMBER_WORDS]
)
_COUNT = re.compile(rf"(?<![\w.,/+\-])(?P<count>{_NUMBER})(?:[ \t]*[x×])?[ \t]+(?=[^\W\d_])", re.I)
_COUNT_BEFORE = re.compile(rf"(?<![\w.,/+\-])(?P<count>{_NUMBER})(?:[ \t]*[x×])?[ \t]+$", re.I)
_COUNT_INSIDE = re.compile(rf"^(?P<count>{_NUMBER})(?:[ \t]*[x×])?[ \t]+(?=[^\W\d_])", re.I)
_WORD = re.compile(r"[^\W_][\w'’]*(?:-[^\W_][\w'’]*)*")
_WORD_GAP = re.compile(r"[ \t]+")


@dataclass(frozen=True)
class ProseRef:
    """A reference written in prose, on one line. `start`/`end` cover the name as written
    (inside the emphasis markers); `count_start` is where its count is written (None without
    one), so `count_start or start` … `end` is "4 wolves" whole."""

    line: int
    start: int
    end: int
    text: str
    style: Style
    entry: NamedEntry
    count: int = 1
    count_start: int | None = None

    @property
    def span(self) -> tuple[int, int]:
        """Columns of the whole reference: count, markers and name."""
        return (self.start if self.count_start is None else self.count_start), self.end


class ProseNames:
    """The names prose may use in one profile: normalised name → the winner it means, per
    collection group. Build it with `load` and again when packs or the profile change."""

    def __init__(self, entries: Iterable[NamedEntry]) -> None:
        self._by_collection: dict[str, dict[str, NamedEntry]] = {}
        for entry in entries:
            self._by_collection.setdefault(entry.collection, {}).setdefault(entry.norm_name, entry)
        monsters = (n for c in COUNT_COLLECTIONS for n in self._by_collection.get(c, {}))
        self.longest_creature = max((len(n.split()) for n in monsters), default=1)

    @classmethod
    def load(cls, conn: apsw.Connection, profile: str) -> ProseNames:
        return cls(queries.winner_entries(conn, profile, PROSE_COLLECTIONS))

    def find(self, norm: str, style: Style) -> NamedEntry | None:
        """The entry `norm` means written this way, itself or as the plural of a name."""
        collections = STYLE_COLLECTIONS[style]
        for name in (norm, *singular_forms(norm)):
            for collection in collections:
                found = self._by_collection.get(collection, {}).get(name)
                if found is not None:
                    return found
        return None


def parse_count(text: str) -> int:
    """`4` → 4, `two` → 2, `a dozen` → 12."""
    words = " ".join(text.lower().split())
    return NUMBER_WORDS[words] if words in NUMBER_WORDS else int(words)


def count_before(line: str, start: int) -> tuple[int, int] | None:
    """The count written just before column `start` of `line` ("4 {@creature wolf}", "4 ×
    **wolves**"): (count, its column), or None."""
    m = _COUNT_BEFORE.search(line, 0, start)
    return None if m is None else (parse_count(m["count"]), m.start())


def prose_lines(lines: Sequence[str]) -> Iterator[tuple[int, str]]:
    """(line number, text) of each line that holds prose, with code spans, tags, links and HTML
    blanked out (columns are kept): what names are looked for in."""
    fence: str | None = None
    in_comment = False
    front_matter = bool(lines) and lines[0].rstrip() == "---"
    previous_blank = True
    in_list = False
    for n, raw in enumerate(lines):
        line = raw.rstrip("\r\n")
        blank = not line.strip()
        if front_matter:
            if n > 0 and line.rstrip() in ("---", "..."):
                front_matter = False
            continue
        if fence is not None:
            m = _FENCE.match(line)
            closing = m is not None and m[1][0] == fence[0] and len(m[1]) >= len(fence)
            if closing and m is not None and not line[m.end() :].strip():
                fence = None
            continue
        if m := _FENCE.match(line):
            fence = m[1]
            continue
        if in_comment:
            end = line.find("-->")
            if end < 0:
                continue
            in_comment = False
            line = " " * (end + 3) + line[end + 3 :]
        start = line.find("<!--")
        if start >= 0 and line.find("-->", start) < 0:
            in_comment = True
            line = line[:start]
        was_blank, previous_blank = previous_blank, blank
        if blank:
            continue
        if _LIST_ITEM.match(line):
            in_list = True
        elif was_blank and not _INDENTED.match(line):
            in_list = False
        if _INDENTED.match(line) and was_blank and not in_list:
            previous_blank = True  # an indented code block: the next indented line is code too
            continue
        if _ATX_HEADING.match(line) or _REFERENCE_DEFINITION.match(line):
            continue
        following = lines[n + 1] if n + 1 < len(lines) else ""
        if _SETEXT_UNDERLINE.match(following) and not _LIST_ITEM.match(line):
            continue  # a heading underlined with === or ---
        if _SETEXT_UNDERLINE.match(line):
            continue
        yield n, _blank_spans(line)


def _blank_spans(line: str) -> str:
    for pattern in (_INLINE_CODE, _TAG, _HTML, _LINK):
        if pattern is _TAG and "{@" not in line:
            continue
        line = pattern.sub(lambda m: " " * len(m[0]), line)
    return line


def find_prose(lines: Sequence[str], names: ProseNames) -> list[ProseRef]:
    """Every prose reference of a document, in document order."""
    found: list[ProseRef] = []
    for n, text in prose_lines(lines):
        found.extend(refs_in_line(n, text, names))
    return found


def prose_at(lines: Sequence[str], names: ProseNames, line: int, column: int) -> ProseRef | None:
    """The prose reference at a position (on its name, count or markers)."""
    if not 0 <= line < len(lines):
        return None
    for n, text in prose_lines(lines[: line + 2]):  # the next line decides a setext heading
        if n == line:
            for ref in refs_in_line(n, text, names):
                start, end = ref.span
                if start <= column <= end:
                    return ref
    return None


def refs_in_line(n: int, text: str, names: ProseNames) -> list[ProseRef]:
    """The prose references of line `n`, given as `prose_lines` yields it (spans blanked)."""
    refs: list[ProseRef] = []
    taken: list[tuple[int, int]] = []
    if "*" in text or "_" in text:
        for m in _EMPHASIS.finditer(text):
            ref = _emphasised(n, text, m, names)
            if ref is not None:
                refs.append(ref)
                taken.append((m.start(), m.end()))
    if any(c.isdigit() for c in text) or _has_number_word(text):
        for m in _COUNT.finditer(text):
            if any(a <= m.start() < b for a, b in taken):
                continue
            ref = _counted(n, text, m, names)
            if ref is not None and not any(a < ref.end and ref.start < b for a, b in taken):
                refs.append(ref)
    refs.sort(key=lambda r: r.span)
    return refs


_NUMBER_WORD_RE = re.compile(r"\b(?:" + "|".join(NUMBER_WORDS) + r")\b", re.I)


def _has_number_word(text: str) -> bool:
    return _NUMBER_WORD_RE.search(text) is not None


def _emphasised(n: int, text: str, m: re.Match[str], names: ProseNames) -> ProseRef | None:
    markers = m[1] or m[3]
    inner_start = m.start(2) if m[1] else m.start(4)
    inner = m[2] if m[1] else m[4]
    if len(inner) > MAX_EMPHASIS or not inner.strip():
        return None
    styles: tuple[Style, ...] = (
        ("italic",) if len(markers) == 1 else ("bold",) if len(markers) == 2 else ("bold", "italic")
    )
    count: tuple[int, int] | None = None
    name_start, name = inner_start, inner
    if (inside := _COUNT_INSIDE.match(inner)) is not None and "bold" in styles:
        count = (parse_count(inside["count"]), inner_start)
        name_start, name = inner_start + inside.end(), inner[inside.end() :]
    elif "bold" in styles and (before := count_before(text, m.start())) is not None:
        count = before
    if "bold" in styles and name.rstrip().endswith((".", ":")):
        return None  # "**Guard.** The guard post…": a run-in heading, not a creature
    norm = normalize(name)
    if not norm:
        return None
    for style in styles:
        entry = names.find(norm, style)
        if entry is not None:
            counted = count if style == "bold" else None
            return ProseRef(
                line=n,
                start=name_start,
                end=name_start + len(name),
                text=name,
                style=style,
                entry=entry,
                count=counted[0] if counted else 1,
                count_start=counted[1] if counted else None,
            )
    return None


def _counted(n: int, text: str, m: re.Match[str], names: ProseNames) -> ProseRef | None:
    """ "4 dire wolves": the longest run of words after the count that names a creature."""
    words: list[re.Match[str]] = []
    pos = m.end()
    while len(words) < names.longest_creature:
        w = _WORD.match(text, pos)
        if w is None:
            break
        words.append(w)
        gap = _WORD_GAP.match(text, w.end())
        if gap is None:
            break
        pos = gap.end()
    for size in range(len(words), 0, -1):
        start, end = words[0].start(), words[size - 1].end()
        entry = names.find(normalize(text[start:end]), "count")
        if entry is not None:
            return ProseRef(
                line=n,
                start=start,
                end=end,
                text=text[start:end],
                style="count",
                entry=entry,
                count=parse_count(m["count"]),
                count_start=m.start(),
            )
    return None
