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
from typing import Literal, NamedTuple

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
LINE_CACHE = 50_000  # lines whose prose references are remembered (per profile's names)

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


class ProseRef(NamedTuple):
    """A reference written in prose, on one line. `start`/`end` cover the name as written
    (inside the emphasis markers); `count_start` is where its count is written (None without
    one), so `count_start or start` … `end` is "4 wolves" whole."""

    line: int
    start: int
    end: int
    text: str
    style: Style
    entry: NamedEntry
    count: int = 1  # type: ignore[assignment]  # the field, not tuple.count (unused here)
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
        creatures = [n for c in COUNT_COLLECTIONS for n in self._by_collection.get(c, {})]
        self.longest_creature = max((len(n.split()) for n in creatures), default=1)
        self._creature_words = frozenset(n.split()[0] for n in creatures if n)
        self._lines: dict[str, tuple[ProseRef, ...]] = {}
        self._placed: dict[tuple[int, str], tuple[ProseRef, ...]] = {}
        """Prose references by line text (line number 0), and by line number and text: a
        document read again after an edit looks only its changed lines up again."""

    def may_start_creature(self, word: str) -> bool:
        """Whether a creature's name may begin with this normalised word (or its singular)."""
        words = self._creature_words
        return word in words or any(form in words for form in singular_forms(word))

    def refs_in_text(self, text: str) -> tuple[ProseRef, ...]:
        """`refs_in_line` of a line's text at line 0, remembered."""
        found = self._lines.get(text)
        if found is None:
            if len(self._lines) >= LINE_CACHE:
                self._lines.clear()
            found = self._lines[text] = tuple(_refs_in_text(0, _blank_spans_of_line(text), self))
        return found

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


def prose_lines(lines: Sequence[str], masked: bool = True) -> Iterator[tuple[int, str]]:
    """(line number, text) of each line that holds prose, with code spans, tags, links and HTML
    blanked out (columns are kept): what names are looked for in (`masked=False`: left in, for
    `ProseNames.refs_in_text`, which blanks them only for a line it has not seen). Every line
    of a long document passes here on each change: the block rules test a line's first
    character before any pattern."""
    blank_spans = _blank_spans_of_line if masked else _as_is
    fence: str | None = None
    in_comment = False
    front_matter = bool(lines) and lines[0].rstrip() == "---"
    previous_blank = True
    in_list = False
    count = len(lines)
    for n, raw in enumerate(lines):
        if (
            raw[:1] in _PLAIN_FIRST
            and fence is None
            and not (in_comment or front_matter)
            and "<!--" not in raw
        ):
            # A line that begins with a letter: prose, unless the next line underlines it.
            if previous_blank:
                in_list = previous_blank = False
            following = lines[n + 1] if n + 1 < count else ""
            if following[:1] in _SETEXT_FIRST and _SETEXT_UNDERLINE.match(following):
                continue
            yield n, blank_spans(raw)
            continue
        line = raw.rstrip("\r\n")
        stripped = line.lstrip(" ")
        first = stripped[:1]
        if front_matter:
            if n > 0 and line.rstrip() in ("---", "..."):
                front_matter = False
            continue
        if fence is not None:
            if first == fence[0]:
                m = _FENCE.match(line)
                closes = m is not None and m[1][0] == fence[0] and len(m[1]) >= len(fence)
                if closes and m is not None and not line[m.end() :].strip():
                    fence = None
            continue
        if first in _FENCE_FIRST and (m := _FENCE.match(line)):
            fence = m[1]
            continue
        if in_comment:
            end = line.find("-->")
            if end < 0:
                continue
            in_comment = False
            line = " " * (end + 3) + line[end + 3 :]
        if "<!--" in line:
            start = line.find("<!--")
            if line.find("-->", start) < 0:
                in_comment = True
                line = line[:start]
        blank = not line.strip()
        was_blank, previous_blank = previous_blank, blank
        if blank:
            continue
        indented = line[:1] == "\t" or len(line) - len(stripped) >= 4
        if first in _LIST_FIRST and _LIST_ITEM.match(line):
            in_list = True
        elif was_blank and not indented:
            in_list = False
        if indented and was_blank and not in_list:
            previous_blank = True  # an indented code block: the next indented line is code too
            continue
        if first == "#" and _ATX_HEADING.match(line):
            continue
        if first == "[" and _REFERENCE_DEFINITION.match(line):
            continue
        if first in "=-" and _SETEXT_UNDERLINE.match(line):
            continue
        if n + 1 < count:
            following = lines[n + 1].lstrip(" ")[:1]
            underlined = following in _SETEXT_FIRST and _SETEXT_UNDERLINE.match(lines[n + 1])
            if underlined and not (first in _LIST_FIRST and _LIST_ITEM.match(line)):
                continue  # a heading underlined with === or ---
        yield n, _blank_spans(line)


_PLAIN_FIRST = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_EOL = frozenset("\r\n")
_FENCE_FIRST = frozenset("`~")
_LIST_FIRST = frozenset("-+*0123456789")
_SETEXT_FIRST = frozenset("=-")


def _as_is(line: str) -> str:
    return line


def _blank_spans_of_line(line: str) -> str:
    return _blank_spans(line.rstrip("\r\n") if line[-1:] in _EOL else line)


def _blank(m: re.Match[str]) -> str:
    return " " * len(m[0])


def _blank_spans(line: str) -> str:
    if "`" in line:
        line = _INLINE_CODE.sub(_blank, line)
    if "{@" in line:
        line = _TAG.sub(_blank, line)
    if "<" in line:
        line = _HTML.sub(_blank, line)
    if "[" in line or "<" in line or "://" in line:
        line = _LINK.sub(_blank, line)
    return line


def find_prose(lines: Sequence[str], names: ProseNames) -> list[ProseRef]:
    """Every prose reference of a document, in document order."""
    found: list[ProseRef] = []
    placed = names._placed
    if len(placed) >= LINE_CACHE:
        placed.clear()
    for n, text in prose_lines(lines, masked=False):
        refs = placed.get((n, text))
        if refs is None:
            refs = placed[n, text] = tuple(_at_line(ref, n) for ref in names.refs_in_text(text))
        if refs:
            found += refs
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
    return [_at_line(ref, n) for ref in names.refs_in_text(text)]


def _at_line(ref: ProseRef, n: int) -> ProseRef:
    return tuple.__new__(ProseRef, (n, *ref[1:]))


def _refs_in_text(n: int, text: str, names: ProseNames) -> list[ProseRef]:
    refs: list[ProseRef] = []
    taken: list[tuple[int, int]] = []
    if "*" in text or "_" in text:
        for m in _EMPHASIS.finditer(text):
            ref = _emphasised(n, text, m, names)
            if ref is not None:
                refs.append(ref)
                taken.append((m.start(), m.end()))
    if _COUNT_HINT.search(text):
        for m in _COUNT.finditer(text):
            if any(a <= m.start() < b for a, b in taken):
                continue
            ref = _counted(n, text, m, names)
            if ref is not None and not any(a < ref.end and ref.start < b for a, b in taken):
                refs.append(ref)
    refs.sort(key=lambda r: r.span)
    return refs


_COUNT_HINT = re.compile(
    r"\d|\b(?:" + "|".join({w.split()[1] if " " in w else w for w in NUMBER_WORDS}) + r")\b",
    re.I,
)


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
    norms: list[str] = []
    pos = m.end()
    while len(words) < names.longest_creature:
        w = _WORD.match(text, pos)
        if w is None:
            break
        norm = normalize(w[0])
        if not words and not names.may_start_creature(norm.split()[0] if norm else ""):
            return None
        words.append(w)
        norms.append(norm)
        gap = _WORD_GAP.match(text, w.end())
        if gap is None:
            break
        pos = gap.end()
    for size in range(len(words), 0, -1):
        start, end = words[0].start(), words[size - 1].end()
        entry = names.find(" ".join(norms[:size]), "count")
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
