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

A document read again as it is edited is not walked whole each time: `find_prose(lines, names,
key)` keeps the walk of the document's last version (`ProseWalk`: the block structure before
each line, what each line holds as prose, the references) and walks again only from the first
changed line until the structure is what it was (a few lines, unless a code fence, a comment or
front matter opened or closed). What a line of some text holds is kept by its text, so a new
line costs its own recognition only.

Two readers find the same references. The native one (`_prose_native`, a C extension built by
`pip install -e .`: see `docs/development.md`) walks the lines and reads each new ASCII line in
C (what `_walk` and `_recognise` do), looking every way of writing a name up in the memo
dictionaries of `ProseNames` (`native_table`; its methods fill them on a miss: what a name means
is decided here only) and leaving lines above U+007F to the Python reader. The Python reader
below is the reference and the fallback: it reads everything when the extension was not built
or is switched off (`USE_NATIVE`, `D5E_PROSE_NATIVE=0`); the tests compare the two.
"""

from __future__ import annotations

import os
import re
import threading
import weakref
from bisect import bisect_right, insort
from collections.abc import Generator, Hashable, Iterable, Iterator, Sequence
from functools import cache
from itertools import accumulate, chain, compress, count, repeat
from itertools import count as _count
from operator import add, is_, itemgetter, ne, not_, or_
from types import ModuleType
from typing import TYPE_CHECKING, Literal, NamedTuple, cast

import apsw

from . import queries
from .names import give_way, singular_forms, spelling_forms
from .queries import NamedEntry
from .text import CODE_SPAN_SPLIT, blanked, normalize

if TYPE_CHECKING:  # pygls' classes: `d5e mcp` reads prose without loading LSP code
    from pygls.workspace import TextDocument

    from .textdoc import Edit, LineDocument

Style = Literal["italic", "bold", "count"]

# What each way of writing a name may refer to, the likelier first: published adventures
# italicise spells and magic items, and set creatures in bold; notes and homebrew set spells
# and items in bold as well ("- **Ring of Protection**", "**Cure Wounds**, **Bless**"), so a
# bold name no creature has is a spell's or an item's.
ITALIC_COLLECTIONS = ("spells", "magic-items", "poisons", "equipment")
BOLD_COLLECTIONS = ("monsters", *ITALIC_COLLECTIONS)
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
ROLE_WORDS = frozenset(
    ["boss", "captain", "chief", "chieftain", "leader", "lieutenant", "sergeant", "warlord",
     "shaman", "champion", "elite", "king", "queen", "lord", "matron", "priest", "priestess",
     "mage", "witch", "rider", "cultist", "veteran"]
)  # fmt: skip
"""Words adventures put after a creature's name to name another creature, of a rank or a
calling of its own ("goblin boss", "hobgoblin captain", "orc war chief", "Bugbear leader",
"Drow Mage", "kobold cultist (cultist stats)"), beside the last word of every creature's name
of the profile (`ProseNames.heads`): a run of them is a creature of its own."""
JOB_WORDS = frozenset(
    ["guard", "sentry", "sentinel", "scout", "soldier", "minion", "warrior", "raider", "hunter",
     "tracker", "archer", "skirmisher", "patrol", "watchman", "servant", "worker", "slave"]
)  # fmt: skip
"""Words adventures put after a creature's name for a job the creature does ("2 kobold
guards", "Drow soldiers", "Animated armor guards (2)", "kobold sentries"): the creature is
meant and counted, and the word is no creature of its own (not the SRD's Guard or Scout)."""
MAX_COUNT_DIGITS = 9  # a longer number is no count of creatures ("10000000000 gp")
MAX_EMPHASIS = 80  # code points: longer emphasised text is a sentence, not a name
LINE_CACHE = 50_000  # lines whose prose references are remembered (per profile's names)
WALKS = 32  # documents whose last walk is kept (per profile's names)
WALK_SLICE = 256  # lines walked between the points where a lazy walk may stop
READ_CHARS = 32_768  # new text read between them at most (long lines: a slice's worth)

USE_NATIVE = os.environ.get("D5E_PROSE_NATIVE", "1") != "0"
"""The switch: read prose with the native reader (`_prose_native`, when it was built) or with
the Python one (`D5E_PROSE_NATIVE=0`, or tests patching this). Both find the same."""


def native() -> ModuleType | None:
    """The native reader when it is switched on and was built, else None (the Python one)."""
    return _native_module() if USE_NATIVE else None


@cache
def _native_module() -> ModuleType | None:
    """`_prose_native`, imported when prose is first read (not at the daemon's start)."""
    try:
        from . import _prose_native
    except ImportError:  # built without a C compiler: the Python reader
        return None
    return _prose_native


_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_ATX_HEADING = re.compile(r"^ {0,3}#{1,6}(?:[ \t]|$)")
_SETEXT_UNDERLINE = re.compile(r"^ {0,3}(?:=+|-+)[ \t]*$")
_REFERENCE_DEFINITION = re.compile(r"^ {0,3}\[[^\]]+\]:")
_INDENTED = re.compile(r"^(?: {4}|\t)")
_LIST_ITEM = re.compile(r"^[ \t]*(?:[-+*]|\d{1,9}[.)])[ \t]")
# Inline spans blanked out before looking for names (their text is no prose name).
_INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1")
_TAG = re.compile(r"\{@[^{}\r\n]*\}")
# No `[` inside a wiki link nor a reference label: `[` × 100,000 before a `]` was scanned from
# each `[[` to that `]` (17 s of a daemon's facts pass for a 400 KB line, requests waiting).
_LINK = re.compile(
    r"!?\[\[[^\[\]\n]*\]\]"  # [[wiki link]] (Obsidian)
    r"|!?\[(?:[^\[\]\n]|\[[^\[\]\n]*\])*\](?:\([^()\n]*(?:\([^()\n]*\)[^()\n]*)*\)|\[[^\[\]\n]*\])?"
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
_AFTER_ROLL = r"(?<=\d[-+dD])"
"""Where a number in digits is the last of a range or a roll ("6-8", "1d4+1", "2d6"): a count
may begin there, though not after another [\\w.,/+-] ("1.5", "-2", "1/2"). What the count is
then, the range or the roll written before it, is read by `quantity.quantity_ending`."""
_COUNT_START = rf"(?P<count>(?<![\w.,/+\-])(?:{_NUMBER})|{_AFTER_ROLL}\d{{1,{MAX_COUNT_DIGITS}}})"
_COUNT = re.compile(rf"{_COUNT_START}(?:[ \t]*[x×])?[ \t]+(?=[^\W\d_])", re.I)
_COUNT_BEFORE = re.compile(rf"{_COUNT_START}(?:[ \t]*[x×])?[ \t]+$", re.I)
_COUNT_INSIDE = re.compile(rf"^(?P<count>{_NUMBER})(?:[ \t]*[x×])?[ \t]+(?=[^\W\d_])", re.I)
# The same patterns written so that the regex engine skips ahead to the characters a match can
# begin with (a pattern that begins with a lookbehind or with `re.I` alternatives is tried at
# every column: most of a first reading's time). Each begins with its first character, then
# looks behind it; `_COUNT_DIGITS` and `_COUNT_WORDS` read lower-cased text (`_lowered`: the
# same columns, and no letter that `re.I` reads as another) and find together what `_COUNT`
# finds (a count in digits and one in words never overlap), `_STAR`/`_UNDERSCORE` lines with
# one kind of marker (`_EMPHASIS` reads those with both). `tests/test_prose.py` checks they
# find what the patterns above find.
_NOT_BEFORE_COUNT = r"[\w.,/+\-]"
_WORD_AFTER_COUNT = r"(?=(?P<word>[^\W\d_][\w'’‘]*(?:-[^\W_][\w'’‘]*)*))"
r"""What `(?=[^\W\d_])` checks after a count, capturing the word that begins there as
`_WORD` matches it (the name a count counts begins with it: `_counted`)."""
_COUNT_DIGITS, _COUNT_ASCII_DIGITS = (
    re.compile(
        rf"(?P<count>{d}(?:(?<!{_NOT_BEFORE_COUNT}{d})|(?<={d}[-+dD]{d}))"
        rf"{d}{{0,{MAX_COUNT_DIGITS - 1}}})"
        r"(?:[ \t]*[x×])?[ \t]+" + _WORD_AFTER_COUNT
    )
    for d in (r"\d", "[0-9]")  # the same on ASCII text; a range is scanned for faster
)
_COUNT_WORDS = re.compile(
    "(?P<count>"
    + "|".join(
        rf"{w[0]}(?<!{_NOT_BEFORE_COUNT}{w[0]})" + w[1:].replace(" ", r"\s+") for w in NUMBER_WORDS
    )
    + r")(?:[ \t]*[x×])?[ \t]+"
    + _WORD_AFTER_COUNT
)
_COUNT_WITH_WORD = re.compile(rf"{_COUNT_START}(?:[ \t]*[x×])?[ \t]+{_WORD_AFTER_COUNT}", re.I)
"""`_COUNT`, capturing the word after the count (texts that `_lowered` cannot lower)."""
_NUMBER_WORD_PARTS = tuple(dict.fromkeys(w.split()[1] if " " in w else w for w in NUMBER_WORDS))
"""A word of each number word ("dozen" of "a dozen"): `_COUNT_WORDS` is tried only where a
line holds one (tried at every letter a number word may begin with, it took most of the time)."""
_AFTER_A = frozenset(w.split()[1] for w in NUMBER_WORDS if " " in w)
_STAR = re.compile(r"\*(?<![*\\\w]\*)(\*{0,2})(?![\s*])([^*\n]+?)(?<![\s\\])\*\1(?![*\w])")
_UNDERSCORE = re.compile(r"_(?<![_\\\w]_)(_{0,2})(?![\s_])([^_\n]+?)(?<![\s\\])_\1(?![_\w])")
# count_before: "4 x " read backwards from the name, anchored there (`_COUNT_BEFORE` searched
# the whole line before it).
_COUNT_BEFORE_REVERSED = re.compile(
    r"[ \t]+(?:[x×][ \t]*)?(?P<count>"
    + rf"\d{{1,{MAX_COUNT_DIGITS}}}(?:(?![\w.,/+\-])|(?=[-+dD]\d))|(?:"
    + "|".join(w[::-1].replace(" ", r"\s+") for w in NUMBER_WORDS)
    + r")(?![\w.,/+\-]))",
    re.I,
)
_COUNT_LAST = frozenset("".join(w[-1] + w[-1].upper() for w in NUMBER_WORDS) + "xX×")
"""The last character of a count in words, or the x of "4 x": what may come before the spaces
before a name that a count counts (else a digit: `count_before`)."""
_WORD = re.compile(r"[^\W_][\w'’‘]*(?:-[^\W_][\w'’‘]*)*")
_WORD_GAP = re.compile(r"[ \t]+")


class ProseRef(NamedTuple):
    """A reference written in prose, on one line. `start`/`end` cover the name as written
    (inside the emphasis markers); `count_start` is where its count is written (None without
    one), so `count_start or start` … `end` is "4 wolves" whole; a count written after the name
    ("Goblins x4", "wolves (2d4)") has its `count_start` after `end`."""

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
        """Columns of the whole reference: count, markers and name (the name alone where the
        count is written after it)."""
        return (
            self.start if self.count_start is None else min(self.start, self.count_start)
        ), self.end


class ProseNames:
    """The names prose may use in one profile: normalised name (or alias: "vampire",
    "mordenkainens sword") → the winner it means, per collection group. Build it with `load`
    and again when packs or the profile change."""

    def __init__(
        self, entries: Iterable[NamedEntry], aliases: Iterable[tuple[str, NamedEntry]] = ()
    ) -> None:
        self._by_collection: dict[str, dict[str, NamedEntry]] = {}
        for entry in entries:
            self._by_collection.setdefault(entry.collection, {}).setdefault(entry.norm_name, entry)
        other: dict[str, dict[str, NamedEntry]] = {}
        """The other names (`names.py`: "vampire" for "Vampire, Vampire Form") by collection."""
        for norm, entry in aliases:
            other.setdefault(entry.collection, {}).setdefault(norm, entry)
        self._merged: dict[Style, dict[str, NamedEntry]] = {}
        """Per style, what each name means: the entry of the likeliest collection that has it
        (`_find` looks up once instead of once per collection); a name before an alias."""
        for style, collections in STYLE_COLLECTIONS.items():
            merged = self._merged[style] = {}
            for table in (other, self._by_collection):
                for c in reversed(collections):
                    merged.update(table.get(c, {}))
        for collection, names in other.items():
            mine = self._by_collection.setdefault(collection, {})
            mine.update({n: e for n, e in names.items() if n not in mine})
        creatures = [n for c in COUNT_COLLECTIONS for n in self._by_collection.get(c, {})]
        self.longest_creature = max((len(n.split()) for n in creatures), default=1)
        self._creature_words = frozenset(n.split()[0] for n in creatures if n)
        kinds = [self._by_collection.get(c, {}) for c in COUNT_COLLECTIONS]
        heads = ROLE_WORDS | {_head(e.name) for kind in kinds for e in kind.values()}
        self.heads = heads - JOB_WORDS
        """The words that end a creature's name ("wolf", "spider", "captain") and `ROLE_WORDS`,
        but `JOB_WORDS`: a creature's name written before one of them is a part of a longer
        one."""
        self._goes_on: dict[tuple[str, str, bool], bool] = {}
        self._longest_from: dict[str, int] = {}
        """First word of a creature's name → the most words of a name that begins with it."""
        for n in creatures:
            words = n.split()
            if words and len(words) > self._longest_from.get(words[0], 0):
                self._longest_from[words[0]] = len(words)
        self._spans: dict[str, int] = {}
        self._norms: dict[str, str] = {}
        self._found: dict[tuple[str, Style], NamedEntry | None] = {}
        """What `find` answered (names and plurals repeat from line to line)."""
        self._starts: dict[str, bool] = {}
        self._emphases: dict[str, EmphasisName | None] = {}
        """What an emphasis means, by its text with its markers ("**wolves**")."""
        self._after_count: dict[str, tuple[int, int, NamedEntry | None]] = {}
        """The first word after a count → (the most words of a creature's name beginning with
        it, the words of its normalised form, what it means alone as a count)."""
        self._spans_named: dict[str, tuple[int, int, str, NamedEntry] | None] = {}
        """The words after a count (`words_after`) → what they begin with that names a creature
        (`_named_words`)."""
        self._words_after = re.compile(
            rf"{_WORD.pattern}(?:[ \t]+{_WORD.pattern}){{0,{max(self.longest_creature - 1, 0)}}}"
        )
        self._words_after_most: dict[int, re.Pattern[str]] = {}
        self._lines: dict[str, tuple[ProseRef, ...]] = {}
        """Prose references by line text (line number 0): a line seen before is not read again,
        and every line of the same text shares them (`ProseWalk.line_refs`)."""
        self._plain: dict[str, tuple[ProseRef, ...]] = {}
        """The texts of `_lines` that a walk takes as prose whole outside code, comments and
        front matter (they begin with a letter and hold no HTML comment): a run of them is
        walked with one lookup each (`_known_run`)."""
        self._quiet: dict[str, bool] = {}
        """Lines a walk found blank (True) or an ATX heading (False) outside code, comments
        and front matter: taken again with a lookup (`ProseWalk._walk`)."""
        self._native_memo: object = None
        """What the native reader keeps of the dictionaries' answers (`native_table`)."""
        self._walks: dict[Hashable, ProseWalk] = {}
        self._walks_lock = threading.Lock()
        """The last walk of each document read by key (`find_prose`), the least recent first."""

    def creature_words(self, word: str) -> int:
        """The most words of a creature's name that begins with this normalised word (or its
        singular): 0 when none does."""
        known = self._spans.get(word)
        if known is None:
            if len(self._spans) >= LINE_CACHE:
                self._spans.clear()
            longest = self._longest_from
            known = max(longest.get(form, 0) for form in (word, *singular_forms(word)))
            self._spans[word] = known
        return known

    def normalized(self, word: str) -> str:
        """`text.normalize` of a word, remembered (the words of prose repeat)."""
        norm = self._norms.get(word)
        if norm is None:
            if len(self._norms) >= LINE_CACHE:
                self._norms.clear()
            norm = self._norms[word] = _simple_lower(word) or normalize(word)
        return norm

    def may_start_creature(self, word: str) -> bool:
        """Whether a creature's name may begin with this normalised word (or its singular)."""
        known = self._starts.get(word)
        if known is None:
            if len(self._starts) >= LINE_CACHE:
                self._starts.clear()
            words = self._creature_words
            known = word in words or any(form in words for form in singular_forms(word))
            self._starts[word] = known
        return known

    def refs_in_text(self, text: str) -> tuple[ProseRef, ...]:
        """`refs_in_line` of a line's text at line 0, remembered."""
        found = self._lines.get(text)
        if found is None:
            if len(self._lines) >= LINE_CACHE:
                self._lines.clear()
                self._plain.clear()
                self._quiet.clear()
            found = self._lines[text] = _read_texts([text], self)[0]
            if _is_plain(text):
                self._plain[text] = found
        return found

    def refs_in_texts(self, texts: Sequence[str]) -> list[tuple[ProseRef, ...]]:
        """`refs_in_text` of several lines, those not seen before read together (each pattern
        run once over all of them: `_recognise`)."""
        known = self._lines
        new = [text for text in dict.fromkeys(texts) if text not in known]
        read: dict[str, tuple[ProseRef, ...]] = {}
        if new:
            read = dict(zip(new, _read_texts(new, self), strict=True))
        result = [read[text] if text in read else known[text] for text in texts]
        if len(known) + len(read) > LINE_CACHE:
            known.clear()
            self._plain.clear()
            self._quiet.clear()
        known.update(read)
        plain = self._plain
        for text in filter(_is_plain, read):
            plain[text] = read[text]
        return result

    @classmethod
    def load(cls, conn: apsw.Connection, profile: str) -> ProseNames:
        """The profile's winners by their names and other names, then every one of those in
        its other spellings (`names.spelling_forms`: "grey ooze" for Gray Ooze, "armour of
        resistance"), as a lookup reads them; a name or an alias wins over a spelling."""
        entries = list(queries.winner_entries(conn, profile, PROSE_COLLECTIONS))
        aliases = give_way(queries.winner_aliases(conn, profile, PROSE_COLLECTIONS))
        named = [(e.norm_name, e) for e in entries] + aliases
        spelt = [(form, e) for norm, e in named for form in spelling_forms(norm)]
        return cls(entries, [*aliases, *spelt])

    def find(self, norm: str, style: Style) -> NamedEntry | None:
        """The entry `norm` means written this way, itself or as the plural of a name."""
        key = (norm, style)
        try:
            return self._found[key]
        except KeyError:
            pass
        if len(self._found) >= LINE_CACHE:
            self._found.clear()
        found = self._found[key] = self._find(norm, style)
        return found

    def emphasis(self, written: str, markers: int, inner: str) -> EmphasisName | None:
        """What an emphasis means (`written`: with its markers), remembered: see `EmphasisName`."""
        try:
            return self._emphases[written]
        except KeyError:
            pass
        if len(self._emphases) >= LINE_CACHE:
            self._emphases.clear()
        found = self._emphases[written] = _emphasis_name(markers, inner, self)
        return found

    def after_count(self, word: str) -> tuple[int, int, NamedEntry | None]:
        """The first word after a count: (the most words of a creature's name that begins with
        it, the words of its normalised form, what it means alone), remembered."""
        try:
            return self._after_count[word]
        except KeyError:
            pass
        if len(self._after_count) >= LINE_CACHE:
            self._after_count.clear()
        norm = self.normalized(word)
        most = self.creature_words(norm.split()[0] if norm else "")
        known = (
            most,
            norm.count(" ") + 1 if norm else 0,
            self.find(norm, "count") if most else None,
        )
        self._after_count[word] = known
        return known

    def named_span(self, span: str, most: int) -> tuple[int, int, str, NamedEntry] | None:
        """What the words after a count (`words_after`) begin with that names a creature
        (`_named_words`), remembered by the words (they decide `most`: the most words of a
        name that begins with the first)."""
        spans = self._spans_named
        try:
            return spans[span]
        except KeyError:
            pass
        if len(spans) >= LINE_CACHE:
            spans.clear()
        known = spans[span] = _named_words(span, most, self)
        return known

    def goes_on(self, name: str, after: str, count: int) -> bool:
        """Whether what a count counts goes on past a creature's name read after it, with the
        next word `after`, when the name is written in the singular:

        - into the name of a creature no pack has: "1 hobgoblin captain", "2 orc shamans" are
          no hobgoblin, no orcs. The next word is a creature's (`heads`) in the count's number:
          one "captain", more "captains" ("1 goblin mages the door" is no sentence: the name
          ends there, as in "2 wolves guard it");
        - into a thing the name only says whose it is: after a count of more than one, a
          singular name before a plural counts the plural ("two Druid cantrips", "a pair of bat
          wings", "3 goblin arrows": no druids, bats or goblins), unless the plural is a job the
          creature does ("2 kobold guards" are kobolds: `JOB_WORDS`). A creature count needs a
          creature's reading; a plural is a word one of whose singular forms (of 3 letters at
          least: not "has", "its") is another word."""
        key = (name, after, count == 1)
        known = self._goes_on.get(key)
        if known is None:
            if len(self._goes_on) >= LINE_CACHE:
                self._goes_on.clear()
            known = self._goes_on[key] = self._merged["count"].get(
                self.normalized(name)
            ) is not None and self._counts_on(self.normalized(after), count == 1)
        return known

    def _counts_on(self, word: str, one: bool) -> bool:
        if self.is_head(word, one):
            return True
        if one:
            return False
        forms = [f for f in singular_forms(word) if f != word and len(f) >= 3]
        return bool(forms) and not any(f in JOB_WORDS for f in forms)

    def uncounted(self, ref: ProseRef) -> bool:
        """Whether a creature named without a count is written in the plural ("alerting the
        **bandits**"): how many it names is not said (a name the same in both numbers,
        "**lizardfolk**", is one)."""
        return (
            ref.count_start is None and self._merged["count"].get(self.normalized(ref.text)) is None
        )

    def is_head(self, word: str, one: bool) -> bool:
        """Whether the normalised `word` is a creature's word (`heads`): itself when `one`, else
        its plural."""
        if one:
            return word in self.heads
        return word not in self.heads and any(f in self.heads for f in singular_forms(word))

    def native_table(self) -> tuple[object, ...]:
        """What the native reader reads names with (`_prose_native`): the memo dictionaries
        it looks each way of writing a name up in, the methods that fill them, and its own
        memo of their answers by the bytes of each key (one per ProseNames: made once)."""
        if self._native_memo is None:
            reader = _native_module()
            self._native_memo = reader.memo(LINE_CACHE) if reader is not None else None
        return (
            self._lines, self._emphases, self._after_count, self._spans_named, _COUNT_VALUES,
            self.emphasis, self.after_count, self.named_span, _count_value, ProseRef, "count",
            self.longest_creature, LINE_CACHE, self._native_memo, self.goes_on,
        )  # fmt: skip

    def words_after(self, text: str, pos: int, most: int | None = None) -> str:
        """The words at `pos` (one at least) a count's name may take, as many as the longest
        creature's name has; `most`: as many as that (the most words of a name that begins
        with the first: `_named_words` reads no more of them when each is a word of its own
        once normalised, as ASCII words are, and so is the next, which it reads when it
        normalises to nothing: "2 wolves Æ")."""
        if most is not None and most < self.longest_creature:
            pattern = self._words_after_most.get(most)
            if pattern is None:
                pattern = self._words_after_most[most] = re.compile(
                    rf"(?>{_WORD.pattern}(?:[ \t]+{_WORD.pattern}){{0,{most - 1}}})"
                    r"(?![ \t]+[^\x00-\x7f])"  # a next word that may normalise to nothing
                )
            m = pattern.match(text, pos)
            if m is not None and m[0].isascii():
                return m[0]
        m = self._words_after.match(text, pos)
        return m[0] if m is not None else ""

    def _find(self, norm: str, style: Style) -> NamedEntry | None:
        merged = self._merged[style]
        found = merged.get(norm)
        if found is not None:
            return found
        for name in singular_forms(norm):  # only when the name as written is none
            found = merged.get(name)
            if found is not None:
                return found
        return None


def _head(name: str) -> str:
    """The word a creature's name ends with, before a comma, a bracket and "of": "Bandit
    Captain" → "captain", "Swarm of Rats" → "swarm", "Vampire, Vampire Form" → "vampire",
    "Giant Rat (Diseased)" → "rat"."""
    words = normalize(re.split(r"[,(]", name)[0]).split()
    if "of" in words[1:]:
        words = words[: words.index("of", 1)]
    return words[-1] if words else ""


def _simple_lower(text: str) -> str:
    """What `normalize` gives of words of ASCII letters, each after one space (its lower case:
    found faster), or "" for any other text."""
    if (
        text.isascii()
        and text.replace(" ", "").isalpha()
        and "  " not in text
        and text[0] != " "
        and text[-1] != " "
    ):
        return text.lower()
    return ""


def parse_count(text: str) -> int:
    """`4` → 4, `two` → 2, `a dozen` → 12."""
    words = " ".join(text.lower().split())
    if words in NUMBER_WORDS:
        return NUMBER_WORDS[words]
    if words.isdecimal():
        return int(words)
    for word, value in NUMBER_WORDS.items():
        # What `re.I` matches beside the lower case: "ſix", "nıne", "K"… (int() raised on
        # them: a document holding "ſix wolves" failed every request that read its prose)
        if re.fullmatch(word.replace(" ", r"\s+"), text, re.I):
            return value
    return int(words)


_ARTICLE = re.compile(r"(?<![\w'’‘])[Aa]n?[ \t]+(?=[^\W\d_])")
_NON_SPACE = re.compile(r"[^ \t]+")
_NAME_ENDS = re.compile(
    r"[ \t]*(?:$|[^\w\s'’‘]|(?:and|or|with|plus|in|on|at|by|from|who|which|that)(?![\w'’‘]))"
)


def named_by_article(
    names: ProseNames, line: str, taken: Iterable[tuple[int, int]]
) -> list[tuple[int, int, NamedEntry]]:
    """The creatures a line names once by "a" or "an" in plain words, (start, end, entry): the
    one more of a line that counts others ("6 bandits and a bandit captain"), each name ending
    where the line ends it (a punctuation mark, its end, "and", "with"…: "a goblin boss" is no
    goblin); none where `taken` (the (start, end) of what was read already) has a name."""
    spans = list(taken)
    out: list[tuple[int, int, NamedEntry]] = []
    for m in _ARTICLE.finditer(line):
        at = m.end()
        if any(start - 2 <= at <= end for start, end in spans):
            continue  # a name read already ("a **bandit captain**")
        words = list(_NON_SPACE.finditer(names.words_after(line, at)))
        for size in range(len(words), 0, -1):
            norm = " ".join(names.normalized(w[0]) for w in words[:size])
            entry = names.find(norm, "count")
            if entry is None:
                continue
            end = at + words[size - 1].end()
            if _NAME_ENDS.match(line, end):
                out.append((at, end, entry))
            break
    return out


_LIST_ELEMENT = re.compile(
    r"(?:(?<=[,;|])|(?<=[,;|][ \t])|(?<=\band[ \t]))[ \t]*(?:and[ \t]+)?"
    r"(?P<name>[^\W\d_][\w'’‘ \t-]*?)[ \t]*(?=$|[,;|.])"
)


def named_alone(
    names: ProseNames, line: str, taken: Iterable[tuple[int, int]]
) -> list[tuple[int, int, NamedEntry]]:
    """The creatures a line names once as a whole element of a list, in the singular and
    without a count ("Bandits (6), shambling mound, guards (2), swarm of rats"): one each of a
    line that counts others, (start, end, entry); none where `taken` has a name."""
    spans = list(taken)
    out: list[tuple[int, int, NamedEntry]] = []
    for m in _LIST_ELEMENT.finditer(line):
        start, end = m.span("name")
        if _overlaps(start, end, spans):
            continue
        norm = names.normalized(m["name"])
        entry = names._merged["count"].get(norm)
        if entry is not None:
            out.append((start, end, entry))
    return out


def count_before(line: str, start: int) -> tuple[int, int] | None:
    """The count written just before column `start` of `line` ("4 {@creature wolf}", "4 ×
    **wolves**"): (count, its column), or None."""
    if start < 2 or line[start - 1] not in " \t":
        return None  # no space before the name: no count
    last = start - 2
    while last > 0 and line[last] in " \t":
        last -= 1
    if not (line[last] in _COUNT_LAST or line[last].isdecimal()):
        return None  # what comes before the spaces is no count's last character, nor x
    m = _COUNT_BEFORE_REVERSED.match(line[start - 1 :: -1])
    if m is None:
        return None
    return parse_count(m["count"][::-1]), start - m.end("count")


def prose_lines(lines: Sequence[str], masked: bool = True) -> Iterator[tuple[int, str]]:
    """(line number, text) of each line that holds prose, with code spans, tags, links and HTML
    blanked out (columns are kept): what names are looked for in (`masked=False`: left in where
    the line needed no other change, for `ProseNames.refs_in_text`, which blanks them only for
    a line it has not seen)."""
    texts = ProseWalk(lines, keep=False).texts
    for n, text in enumerate(texts):
        if text is not None:
            yield n, (_blank_spans_of_line(text) if masked else text)


State = tuple[str | None, bool, bool, bool, bool]
"""The block structure before a line: (the open code fence, inside an HTML comment, inside
front matter, the previous line blank, inside a list)."""


class ProseWalk:
    """The block structure of a document, line by line: `texts[n]` is what line `n` holds as
    prose (None: code, a heading, front matter…), `states[n]` the structure before it,
    `line_refs[n]` the prose references of line `n` as found at line 0 (shared by every line
    of the same text: a line that moves makes nothing new), `refs` all of them placed on their
    lines, in order (made when first asked).

    Built from scratch, or from the walk of an earlier version of the same document
    (`ProseWalk(lines, names, old)`): the lines before the first changed one are taken as they
    were, the walk starts again one line above it (that line's setext heading depends on the
    next) and stops as soon as it reaches an unchanged line in the same state as before; the
    rest is taken too, moved by the lines added or removed. So a one-line edit of a long
    document walks a few lines, unless it opens or closes a code fence, a comment or front
    matter, which changes what every line after it is; and a line inserted or deleted moves
    the lines below it without a new object for any of their references."""

    __slots__ = (
        "_followed", "_refs", "_splice_at", "line_refs", "lines", "source", "states", "steps",
        "texts", "walked",
    )  # fmt: skip

    def __init__(
        self,
        lines: Sequence[str],
        names: ProseNames | None = None,
        old: ProseWalk | None = None,
        keep: bool = True,
        lazy: bool = False,
        edit: Edit | None = None,
        live: bool = False,
        splice: bool = False,
    ) -> None:
        """`keep=False`: a walk that is not kept for the next version (no `states`).
        `lazy=True`: nothing is walked yet; iterate `steps` to walk (it yields every
        `WALK_SLICE` lines, once the new lines among them are read, and after `READ_CHARS` of
        new text, so a caller can stop in between and answer something else). `edit`: the
        lines in which `lines` differ from `old.lines` (`LineDocument.edits_since`, folded by
        `fold_edits`), so that they are not compared to find it. `live`: `lines` is a
        document's own list (`LineDocument.lines`), which its edits change: not copied, and
        the next walk follows the document's record of its edits from this one or starts
        afresh, never comparing with it. `splice` (with `edit`): the lines walked replace
        those of `old` in `old`'s own lists once the walk is whole, and the walk takes them
        (`_splice`: nothing copied); the caller makes sure that no other walk follows `old`
        (`walk_prose_steps`: the first walk that follows it, `_followed`)."""
        self.lines: Sequence[str] = lines if live or not keep else tuple(lines)
        self.source: tuple[weakref.ref[LineDocument], int] | None = None
        """The document and its `generation` the walk is of, when a `LineDocument` was given."""
        self.states: list[State] = []
        self.texts: list[str | None] = []
        self.line_refs: list[tuple[ProseRef, ...]] = []
        self._refs: list[ProseRef] | None = None
        self._followed = False
        """Whether a walk that puts its lines in this walk's lists follows this one."""
        self._splice_at: int | None = None
        """Where the lines walked begin, when they are to replace those of the walk followed
        (`_splice`)."""
        self.walked = 0
        """Lines walked to build this (a test reads it)."""
        self.steps = self._build(names, old, keep, edit, splice)
        if not lazy:
            for _ in self.steps:
                pass

    def _build(
        self,
        names: ProseNames | None,
        old: ProseWalk | None,
        keep: bool,
        edit: Edit | None,
        splice: bool,
    ) -> Iterator[None]:
        lines = self.lines
        # A walk of a document's own list (`source`) is followed by the document's edits only.
        if old is None or not lines or not old.texts or (edit is None and old.source is not None):
            yield from self._walk(0, None, names, None, len(lines), 0, keep)
            return
        before = old.lines
        if type(before) is not type(lines):  # a list and a tuple: compared as one kind
            before = list(before) if isinstance(lines, list) else tuple(before)
        if edit is not None:  # the document's own record: nothing compared
            same_start, same_end = edit.start, len(lines) - edit.new_end
        elif lines == before:
            same_start = same_end = len(lines)
        else:
            shorter = min(len(lines), len(before))
            same_start = _same_lines(lines, before, shorter, 1)
            same_end = min(_same_lines(lines, before, shorter, -1), shorter - same_start)
        if same_start == len(lines) == len(old.texts):
            self.states, self.texts, self.line_refs = old.states, old.texts, old.line_refs
            self._refs = old._refs
            return
        start = max(same_start - 1, 0)  # a setext underline changed the line above it
        if splice and edit is not None and names is not None and keep:
            # Following the document's edits: the lines walked replace those of the old walk
            # in its own lists once the walk is whole (`_splice`), rather than copying the
            # lines before and after them (every object of a long document touched per edit).
            self._splice_at = start
        else:
            self.states = old.states[:start]
            self.texts = old.texts[:start]
            self.line_refs = old.line_refs[:start] if names is not None else []
        yield from self._walk(
            start,
            old.states[start] if start else None,
            names,
            old,
            len(lines) - same_end,
            len(lines) - len(old.texts),
        )

    def _walk(
        self,
        n: int,
        state: State | None,
        names: ProseNames | None,
        old: ProseWalk | None,
        same_from: int,
        moved: int,
        keep: bool = True,
    ) -> Iterator[None]:
        """Walk from line `n` in `state` (None: the document's start) to the end, or until
        line `same_from` or later of the unchanged rest (`moved` lines down from where it was
        in `old`) is reached in the state it had in `old`; then take the rest of `old`."""
        lines = self.lines
        reader = native()
        if reader is not None and type(lines) in (list, tuple):
            yield from self._walk_native(reader, n, state, names, old, same_from, moved, keep)
            return
        count = len(lines)
        states, texts = self.states, self.texts
        line_refs = self.line_refs
        known = names._lines if names is not None else {}
        plain = names._plain if names is not None else {}
        quiet = names._quiet if names is not None else {}
        slice_hits: list[tuple[ProseRef, ...] | None] = []
        """What `plain` holds for the lines from `hits_at` on, to the end of their slice."""
        hits_at = 0
        rest = False
        pending: list[tuple[int, str]] = []
        """Lines whose text is new: (index, text), read together (`ProseNames.refs_in_texts`)."""
        pending_chars = 0
        if state is None:
            fence: str | None = None
            in_comment = False
            front_matter = lines[0].rstrip() == "---" if lines else False
            previous_blank = True
            in_list = False
        else:
            fence, in_comment, front_matter, previous_blank, in_list = state
        old_states = old.states if old is not None else None
        walked = n
        comments, comments_until = True, -1
        while n < count:
            if n % WALK_SLICE == 0:
                if pending and names is not None:
                    yield from _read_batches(pending, line_refs, names)
                    pending, pending_chars = [], 0
                yield
            if (
                fence is None
                and not (in_comment or front_matter)
                and (old_states is None or n < same_from)
            ):
                # A run of prose lines seen before: one lookup each, a slice at a time.
                at = n - hits_at
                if not 0 <= at < len(slice_hits):
                    end = min(count, n - n % WALK_SLICE + WALK_SLICE)
                    if old_states is not None:
                        end = min(end, same_from)
                    slice_hits, hits_at, at = list(map(plain.get, lines[n:end])), n, 0
                if slice_hits[at] is not None:
                    try:
                        run = slice_hits.index(None, at) - at
                    except ValueError:
                        run = len(slice_hits) - at
                    following = lines[n + run] if n + run < count else ""
                    if following[:1] in _SETEXT_FIRST and _SETEXT_UNDERLINE.match(following):
                        run -= 1  # the last is a setext heading: walked alone
                    if run:
                        if keep:
                            in_list = _prose_run(states, run, previous_blank, in_list)
                        else:
                            in_list = in_list and not previous_blank
                        previous_blank = False
                        texts += lines[n : n + run]
                        line_refs += slice_hits[at : at + run]  # type: ignore[arg-type]
                        n += run
                        continue
            if (
                fence is None
                and not (in_comment or front_matter)
                and (old_states is None or n < same_from)
                and (blank_line := quiet.get(lines[n])) is not None
            ):
                # A blank line or a heading seen before: no prose, and the block structure
                # after it is known without reading it again.
                if keep:
                    state = (None, False, False, previous_blank, in_list)
                    states.append(_STATES.setdefault(state, state))
                texts.append(None)
                line_refs.append(())
                if blank_line:
                    previous_blank = True
                else:
                    in_list = in_list and not previous_blank
                    previous_blank = False
                n += 1
                continue
            if (
                fence is None
                and not (in_comment or front_matter)
                and (old_states is None or n < same_from)
                and lines[n][:1] in _PLAIN_FIRST
            ):
                # A run of lines that begin with letters, each followed by another: prose,
                # walked as one (the last is walked alone: the line after it may underline it).
                end = min(count, n - n % WALK_SLICE + WALK_SLICE)
                if old_states is not None:
                    end = min(end, same_from)  # (the lines an edit wrote: looked at alone)
                if n >= comments_until:  # whether the slice holds an HTML comment (rare)
                    comments = "<!--" in "".join(lines[n:end])
                    comments_until = end
                run = _plain_run(lines, n, end, comments) - 1 - n
                if run >= 2:
                    in_list = _prose_run(states if keep else None, run, previous_blank, in_list)
                    previous_blank = False
                    part = lines[n : n + run]
                    texts += part
                    if names is not None:
                        base = len(line_refs)
                        hits = list(map(known.get, part))
                        if None in hits:
                            for i in compress(_count(), map(is_, hits, repeat(None))):
                                pending.append((base + i, part[i]))
                                pending_chars += len(part[i])
                                hits[i] = ()
                        line_refs += cast(list[tuple[ProseRef, ...]], hits)
                    n += run
                    if pending_chars >= READ_CHARS and names is not None:
                        yield from _read_batches(pending, line_refs, names)
                        pending, pending_chars = [], 0
                        yield
                    continue
            if keep:
                state = (fence, in_comment, front_matter, previous_blank, in_list)
                state = _STATES.setdefault(state, state)  # a few: no new object kept per line
                if len(_STATES) > MAX_STATES:
                    _STATES.clear()  # fences of a hundred lengths: a hostile document
                if old_states is not None and n >= same_from and old_states[n - moved] == state:
                    rest = True
                    break
                states.append(state)
            texts.append(None)
            if names is not None:
                line_refs.append(())
            raw = lines[n]
            n += 1
            if (
                raw[:1] in _PLAIN_FIRST
                and fence is None
                and not (in_comment or front_matter)
                and "<!--" not in raw
            ):
                # A line that begins with a letter: prose, unless the next line underlines it.
                if previous_blank:
                    in_list = previous_blank = False
                following = lines[n] if n < count else ""
                if following[:1] in _SETEXT_FIRST and _SETEXT_UNDERLINE.match(following):
                    continue
                texts[-1] = raw
                if names is not None:
                    found = known.get(raw)
                    if found is not None:
                        line_refs[-1] = found
                    else:
                        pending.append((len(line_refs) - 1, raw))
                        pending_chars += len(raw)
                        if pending_chars >= READ_CHARS:  # long lines: a slice's worth
                            yield from _read_batches(pending, line_refs, names)
                            pending, pending_chars = [], 0
                            yield
                continue
            line = raw.rstrip("\r\n")
            stripped = line.lstrip(" ")
            first = stripped[:1]
            normal = fence is None and not (in_comment or front_matter)
            if front_matter:
                if n > 1 and line.rstrip() in ("---", "..."):
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
                if normal and names is not None and "<!--" not in raw:
                    if len(quiet) >= LINE_CACHE:
                        quiet.clear()
                    quiet[raw] = True
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
                if normal and names is not None and "<!--" not in raw:
                    if len(quiet) >= LINE_CACHE:
                        quiet.clear()
                    quiet[raw] = False
                continue
            if first == "[" and _REFERENCE_DEFINITION.match(line):
                continue
            if first in "=-" and _SETEXT_UNDERLINE.match(line):
                continue
            if n < count:
                following = lines[n].lstrip(" ")[:1]
                underlined = following in _SETEXT_FIRST and _SETEXT_UNDERLINE.match(lines[n])
                if underlined and not (first in _LIST_FIRST and _LIST_ITEM.match(line)):
                    continue  # a heading underlined with === or ---
            text = texts[-1] = _blank_spans(line)
            if names is not None:
                found = known.get(text)
                if found is not None:
                    line_refs[-1] = found
                else:
                    pending.append((len(line_refs) - 1, text))
                    pending_chars += len(text)
                    if pending_chars >= READ_CHARS:
                        yield from _read_batches(pending, line_refs, names)
                        pending, pending_chars = [], 0
                        yield
        if pending and names is not None:
            yield from _read_batches(pending, line_refs, names)
        yield from self._finish(n - walked, n, rest, names, old, moved)

    def _walk_native(
        self,
        reader: ModuleType,
        n: int,
        state: State | None,
        names: ProseNames | None,
        old: ProseWalk | None,
        same_from: int,
        moved: int,
        keep: bool,
    ) -> Iterator[None]:
        """`_walk` by the native reader: each slice of lines walked in C (`_prose_native.walk`,
        the same steps line by line), the new ASCII lines read there too; the lines it leaves
        (text above U+007F) are read by `_recognise` after each slice."""
        lines = self.lines
        count = len(lines)
        if state is None:
            state = (None, False, lines[0].rstrip() == "---" if lines else False, True, False)
        table = names.native_table() if names is not None else None
        old_states = old.states if old is not None else None
        walked = n
        rest = False
        pending: list[tuple[int, str]] = []
        while n < count:
            if n % WALK_SLICE == 0:
                yield
            stop = min(count, n - n % WALK_SLICE + WALK_SLICE)
            n, state, rest = reader.walk(
                lines, n, stop, state, table, old_states, same_from, moved, keep, self.states,
                self.texts, self.line_refs, pending, _STATES, MAX_STATES, _blank_spans,
                READ_CHARS,
            )  # fmt: skip
            if pending and names is not None:
                yield from _read_batches(pending, self.line_refs, names)
                pending.clear()
            if rest:
                break
            if n % WALK_SLICE and n < count:
                yield  # a slice's worth of new text read (long lines)
        yield from self._finish(n - walked, n, rest, names, old, moved)

    def _finish(
        self,
        walked: int,
        n: int,
        rest: bool,
        names: ProseNames | None,
        old: ProseWalk | None,
        moved: int,
    ) -> Iterator[None]:
        """After the walk stopped at line `n`: the rest taken from `old` (`rest`: at an
        unchanged line in the state it had there)."""
        self.walked = walked
        if self._splice_at is not None and old is not None:
            self._splice(old, n - moved if rest else len(old.texts))
        elif rest and old is not None:
            yield  # the rest is taken in one step (copies of lists: every line below)
            self._take_rest(old, n, moved, names is not None)

    def _take_rest(self, old: ProseWalk, n: int, moved: int, with_refs: bool) -> None:
        """Take `old`'s walk from its line `n - moved` on, as this walk's from line `n`."""
        was = n - moved
        self.states += old.states[was:]
        self.texts += old.texts[was:]
        if with_refs:
            self.line_refs += old.line_refs[was:]

    def _splice(self, old: ProseWalk, was: int) -> None:
        """Put the lines walked in the place of `old`'s lines from `_splice_at` to `was` in
        `old`'s own lists, and take them: in one step, once the walk is whole (a walk left
        unfinished changes nothing). `old` is the last walk of a document that changed since,
        read by nobody after this one is made (see `walk_prose_steps`)."""
        start = self._splice_at
        assert start is not None
        old.states[start:was] = self.states
        old.texts[start:was] = self.texts
        old.line_refs[start:was] = self.line_refs
        self.states, self.texts, self.line_refs = old.states, old.texts, old.line_refs
        self._splice_at = None

    @property
    def refs(self) -> list[ProseRef]:
        """Every prose reference, placed on its line, in document order: made when first asked
        (`by_line` makes nothing)."""
        if self._refs is None:
            line_refs = self.line_refs
            with_refs = list(compress(line_refs, line_refs))
            at = chain.from_iterable(map(repeat, compress(count(), line_refs), map(len, with_refs)))
            self._refs = list(_moved(chain.from_iterable(with_refs), at))
        return self._refs

    def by_line(self) -> Iterator[tuple[int, tuple[ProseRef, ...]]]:
        """(line number, its references as found at line 0) for each line that has some: the
        references without placing them (their `line` is 0: use the number beside them)."""
        line_refs = self.line_refs
        return zip(compress(count(), line_refs), compress(line_refs, line_refs), strict=True)

    def refs_on(self, n: int) -> list[ProseRef]:
        """The references of line `n`, placed on it."""
        found = self.line_refs[n] if 0 <= n < len(self.line_refs) else ()
        return list(_moved(found, repeat(n))) if n else list(found)


def _prose_run(states: list[State] | None, run: int, previous_blank: bool, in_list: bool) -> bool:
    """A run of `run` prose lines, each of which continues the paragraph the first begins:
    their block states appended to `states` (when the walk keeps them); whether a list is
    still open after them (a paragraph after a blank line ends it)."""
    after_list = in_list and not previous_blank
    if states is not None:
        first: State = (None, False, False, previous_blank, in_list)
        rest: State = (None, False, False, False, after_list)
        states.append(_STATES.setdefault(first, first))
        states += repeat(_STATES.setdefault(rest, rest), run - 1)
    return after_list


def _same_lines(a: Sequence[str], b: Sequence[str], most: int, way: int) -> int:
    """How many lines `a` and `b` have the same at their start (`way` 1) or end (-1), up to
    `most`: compared a block at a time (a sequence compares the same objects without calling
    their `==`: the lines an edit left alone), then line by line in the first block that
    differs."""
    n = 0
    while n < most:
        size = min(_SAME_BLOCK, most - n)
        if way > 0:
            x, y = a[n : n + size], b[n : n + size]
            if x != y:
                return n + next(compress(count(), map(ne, x, y)), size)
        else:  # the blocks compared as they are, read backwards only where they differ
            x, y = a[len(a) - n - size : len(a) - n], b[len(b) - n - size : len(b) - n]
            if x != y:
                return n + next(compress(count(), map(ne, reversed(x), reversed(y))), size)
        n += size
    return most


_SAME_BLOCK = 512


def _plain_run(lines: Sequence[str], n: int, end: int, comments: bool = True) -> int:
    """The first line from `n` to `end` that does not begin with a letter or holds an HTML
    comment (`end` if none; `comments=False`: none of them does): C loops only, stopping
    there."""
    window = lines[n:end]
    others = map(not_, map(_PLAIN_FIRST.__contains__, map(_FIRST, window)))
    if comments:
        others = map(or_, others, map(str.__contains__, window, repeat("<!--")))
    return n + next(compress(count(), others), len(window))


_FIRST = itemgetter(slice(0, 1))


def _is_plain(text: str) -> bool:
    """Whether a line of this text is prose whole outside code, comments and front matter."""
    return text[:1] in _PLAIN_FIRST and "<!--" not in text


def _read_batches(
    pending: list[tuple[int, str]], line_refs: list[tuple[ProseRef, ...]], names: ProseNames
) -> Iterator[None]:
    """Read the pending lines a batch of at most READ_CHARS at a time (a longer line alone),
    with a step before each batch: a run of 256 new lines of 1,600 characters read as one batch
    held the event loop for 30 ms."""
    start = 0
    while start < len(pending):
        end, size = start + 1, len(pending[start][1])
        while end < len(pending) and size + len(pending[end][1]) <= READ_CHARS:
            size += len(pending[end][1])
            end += 1
        yield
        _read(pending[start:end], line_refs, names)
        start = end


def _read(
    pending: list[tuple[int, str]], line_refs: list[tuple[ProseRef, ...]], names: ProseNames
) -> None:
    """Read the names of the pending lines, together, into `line_refs`."""
    found = names.refs_in_texts([text for _, text in pending])
    for (i, _), refs in zip(pending, found, strict=True):
        line_refs[i] = refs


_LINE = itemgetter(0)
_STATES: dict[State, State] = {}
MAX_STATES = 1000
_AFTER_LINE = itemgetter(slice(1, None))


def _moved(refs: Iterable[ProseRef], lines: Iterable[int]) -> map[ProseRef]:
    """The references on these lines: `_at_line(ref, line)` for each pair, in C loops only
    (map and zip, no Python call per reference: a third of the time). Every reference below an
    inserted line moves, and a long document holds thousands."""
    return map(tuple.__new__, repeat(ProseRef), map(add, zip(lines), map(_AFTER_LINE, refs)))


_PLAIN_FIRST = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_EOL = frozenset("\r\n")
_FENCE_FIRST = frozenset("`~")
_LIST_FIRST = frozenset("-+*0123456789")
_SETEXT_FIRST = frozenset("=-")


def _as_is(line: str) -> str:
    return line


def _blank_spans_of_line(line: str) -> str:
    return _blank_spans(line.rstrip("\r\n") if line[-1:] in _EOL else line)


def _blank_spans_of_lines(lines: list[str]) -> list[str]:
    """`_blank_spans_of_line` of each line, the patterns run once over all of them (none of
    them matches across a newline)."""
    if len(lines) <= 1:
        return [_blank_spans_of_line(line) for line in lines]
    joined = "\n".join(line.rstrip("\r\n") if line[-1:] in _EOL else line for line in lines)
    return _blank_spans(joined).split("\n")


def _blank_spans(line: str) -> str:
    if "`" in line:
        line = blanked(CODE_SPAN_SPLIT, 2, line)
    if "{@" in line:
        line = blanked(_TAG_SPLIT, 1, line)
    if "<" in line:
        line = blanked(_HTML_SPLIT, 1, line)
    if "[" in line or "<" in line or "://" in line:
        line = blanked(_LINK_SPLIT, 1, line)
    return line


_TAG_SPLIT, _HTML_SPLIT, _LINK_SPLIT = (re.compile(f"({p.pattern})") for p in (_TAG, _HTML, _LINK))


def find_prose(
    lines: Sequence[str], names: ProseNames, key: Hashable | None = None
) -> list[ProseRef]:
    """Every prose reference of a document, in document order. Give the document's `key` (its
    URI) when it is read again as it is edited: see `walk_prose`."""
    return list(walk_prose(lines, names, key).refs)


def walk_prose(
    lines: Sequence[str],
    names: ProseNames,
    key: Hashable | None = None,
    doc: TextDocument | None = None,
) -> ProseWalk:
    """The document's block structure and prose references. With a `key`, the walk of the
    document's last version read under that key is kept (in `names`, until packs or the
    profile change) and only what changed since is walked again. `doc`: the document `lines`
    are the lines of, whose record of its edits (`LineDocument.edits_since`) tells what
    changed since the last walk (without it, the lines are compared with the last walk's)."""
    if key is None:
        return ProseWalk(lines, names, keep=False)
    steps = walk_prose_steps(lines, names, key, doc)
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]


def walk_prose_steps(
    lines: Sequence[str], names: ProseNames, key: Hashable, doc: TextDocument | None = None
) -> Generator[None, None, ProseWalk]:
    """`walk_prose` in steps (`walk = yield from walk_prose_steps(…)`), so that a long
    document's first walk can be left between slices to answer a request. The walk is kept
    once it is whole; a walk left unfinished keeps nothing."""
    walks = names._walks
    with names._walks_lock:  # the campaign's first reading runs in a worker thread
        old = walks.get(key)
    if doc is not None and (not isinstance(doc, _textdoc().LineDocument) or doc.lines is not lines):
        doc = None  # its record of edits is not of these lines
    edit = _edit_since(old, lines, doc) if old is not None and doc is not None else None
    splice = False
    if edit is not None and old is not None:
        with names._walks_lock:
            # The first walk that follows the last one puts its lines in its lists; another
            # begun before that one is whole (a request between its slices) copies them.
            splice, old._followed = not old._followed, True
    walk = ProseWalk(lines, names, old, lazy=True, edit=edit, live=doc is not None, splice=splice)
    if doc is not None:
        walk.source = (weakref.ref(doc), doc.generation)
    yield from walk.steps
    if len(lines) <= LINE_CACHE:
        with names._walks_lock:
            walks.pop(key, None)  # put back last: the document read most recently
            if len(walks) >= WALKS:
                del walks[next(iter(walks))]  # the document read least recently
            walks[key] = walk
    return walk


def _edit_since(old: ProseWalk, lines: Sequence[str], doc: LineDocument) -> Edit | None:
    """The lines in which `lines` (the text of `doc`) differ from `old.lines`, from the
    document's record of its edits since `old` was walked; None when that is not known
    (another document, edits forgotten): then the lines are compared."""
    if old.source is None:
        return None
    walked, generation = old.source
    if walked() is not doc:
        return None
    edits = doc.edits_since(generation)
    if edits is None:
        return None
    edit = fold_edits(len(old.texts), edits)  # a walk has a text (or None) for each line
    if edit.new_end - edit.old_end != len(lines) - len(old.texts):
        return None  # not the edits of these lines
    return edit


def fold_edits(count: int, edits: Sequence[Edit]) -> Edit:
    """The edits made in turn to a text of `count` lines, as one: the lines from the first
    any of them touched to the last (lines [start, old_end) of the first text are lines
    [start, new_end) of the last)."""
    start, tail, first = count, count, count  # lines unchanged at the start and at the end
    for edit in edits:
        start = min(start, edit.start)
        tail = min(tail, count - edit.old_end)
        count += edit.new_end - edit.old_end
    tail = min(tail, first - start, count - start)
    folded: Edit = _textdoc().Edit(start, first - tail, count - tail)
    return folded


@cache
def _textdoc() -> ModuleType:
    """`textdoc` (pygls' classes), imported when first needed (see the imports): once, an
    import statement in a function cost a pasted block's walk 2%."""
    from . import textdoc

    return textdoc


def prose_at(
    lines: Sequence[str],
    names: ProseNames,
    line: int,
    column: int,
    key: Hashable | None = None,
    doc: TextDocument | None = None,
) -> ProseRef | None:
    """The prose reference at a position (on its name, count or markers); `key` and `doc`:
    the document's, as for `walk_prose`."""
    if not 0 <= line < len(lines):
        return None
    if key is not None:
        on_line = walk_prose(lines, names, key, doc).refs_on(line)
    else:
        walk = ProseWalk(lines[: line + 2], keep=False)  # the next line decides a setext heading
        text = walk.texts[line]
        on_line = [] if text is None else refs_in_line(line, text, names)
    for ref in on_line:
        start, end = ref.span
        if start <= column <= end:
            return ref
    return None


def refs_in_line(n: int, text: str, names: ProseNames) -> list[ProseRef]:
    """The prose references of line `n`, given as `prose_lines` yields it (spans blanked)."""
    return [_at_line(ref, n) for ref in names.refs_in_text(text)]


def _at_line(ref: ProseRef, n: int) -> ProseRef:
    return tuple.__new__(ProseRef, (n, *ref[1:]))


class EmphasisName(NamedTuple):
    """What an emphasis names, wherever it is written: the name's offset from the opening
    marker and its text, the style it was found in and the entry, and its count: written inside
    ("**3 ogres**": value and offset) or to be read before it (`before`: a bold name)."""

    offset: int
    name: str
    style: Style
    entry: NamedEntry
    count: int  # type: ignore[assignment]  # the field, not tuple.count (unused here)
    count_offset: int | None
    before: bool


def _emphasis_name(markers: int, inner: str, names: ProseNames) -> EmphasisName | None:
    if len(inner) > MAX_EMPHASIS or not inner.strip():
        return None
    offset = markers
    while len(inner) > 2 and inner[0] in "*_" and inner[-1] == inner[0]:
        inner, offset = inner[1:-1], offset + 1  # "**_potion of healing_**": the name inside
    styles: tuple[Style, ...] = (
        ("italic",) if offset == 1 else ("bold",) if offset == 2 else ("bold", "italic")
    )
    bold = "bold" in styles
    inside = _COUNT_INSIDE.match(inner) if bold else None
    name = inner
    if inside is not None:
        offset, name = offset + inside.end(), inner[inside.end() :]
    if bold and name.rstrip().endswith((".", ":")):
        return None  # "**Guard.** The guard post…": a run-in heading, not a creature
    norm = names.normalized(name)
    if not norm:
        return None
    for style in styles:
        entry = names.find(norm, style)
        if entry is not None and style == "bold" and entry.collection not in COUNT_COLLECTIONS:
            if len(styles) > 1:
                continue  # "***shield***": italic, the house style of spells and items
            if " " not in norm and not name.lstrip()[:1].isupper():
                return None  # "the **darkness** beyond": a word, not the spell
        if entry is not None:
            if style != "bold":
                return EmphasisName(offset, name, style, entry, 1, None, False)
            if inside is not None:
                return EmphasisName(
                    offset,
                    name,
                    style,
                    entry,
                    _count_value(inside["count"]),
                    offset - inside.end(),
                    False,
                )
            return EmphasisName(offset, name, style, entry, 1, None, True)
    return None


def _read_texts(texts: Sequence[str], names: ProseNames) -> list[tuple[ProseRef, ...]]:
    """`_recognise`, by the native reader where it is on: the texts it leaves (text above
    U+007F, a newline of their own) read by `_recognise` together, and the counts written after
    names (`_counts_after`) added to its reading of the others."""
    reader = native()
    if reader is None:
        return _recognise(texts, names)
    table = names.native_table()
    out: list[tuple[ProseRef, ...] | None] = [reader.read(table, text) for text in texts]
    for i, refs in enumerate(out):
        # a count written after a name ("Goblins x4"): read here, on the native reading
        if refs is not None and _AFTER_TRIGGER.search(texts[i]) is not None:
            blanked = _blank_spans_of_line(texts[i])
            if _AFTER_TRIGGER.search(blanked) is not None:
                with_after = _counts_after(blanked, list(refs), names)
                if with_after is not None:
                    out[i] = tuple(with_after)
    left = [i for i, refs in enumerate(out) if refs is None]
    if left:
        for i, refs in zip(left, _recognise([texts[i] for i in left], names), strict=True):
            out[i] = refs
    return cast(list[tuple[ProseRef, ...]], out)


def _recognise(texts: Sequence[str], names: ProseNames) -> list[tuple[ProseRef, ...]]:
    """The prose references of each of these lines at line 0 (the lines as a walk gives them:
    code spans, tags, links and HTML are blanked here), in order. Every pattern runs once over
    all of them joined by newlines (no match crosses one), and what each way of writing a name
    means is looked up once (`ProseNames.emphasis`, `ProseNames.after_count`): prose repeats
    its names, and a first reading spent most of its time on each name's Python work."""
    if len(texts) != 1:
        joined = "\n".join(text.rstrip("\r\n") if text[-1:] in _EOL else text for text in texts)
        if joined.count("\n") != len(texts) - 1:  # a line holding a newline of its own
            return [_recognise([text], names)[0] for text in texts]
        joined = _blank_spans(joined)
        lines = joined.split("\n")
    else:
        joined = _blank_spans_of_line(texts[0])
        lines = [joined]
    starts = list(accumulate(map(add, map(len, lines), repeat(1)), initial=0))
    by_line: dict[int, list[ProseRef]] = {}
    taken: dict[int, list[tuple[int, int]]] = {}
    """Per line: the emphases that name something (no count is read inside them)."""
    star, underscore = "*" in joined, "_" in joined
    if star or underscore:
        known = names._emphases
        pattern = _STAR_OR_UNDERSCORE if star and underscore else _STAR if star else _UNDERSCORE
        for m in pattern.finditer(joined):
            found = known.get(m[0], _NOT_YET)
            if found is _NOT_YET:
                group = m.lastindex or 0
                found = names.emphasis(m[0], len(m[group - 1]) + 1, m[group])
            if found is None:
                continue
            at = m.start()
            i = bisect_right(starts, at) - 1
            start = at - starts[i]
            name_start = start + found.offset
            value, count_start = found.count, found.count_offset
            if count_start is not None:
                count_start += start
            elif found.before and (before := count_before(lines[i], start)) is not None:
                value, count_start = before
            if (
                found.before
                and (after := _NEXT_WORD.match(joined, m.end())) is not None
                and names.goes_on(found.name, after[1], value)
            ):
                continue  # "a **bandit** captain", "a **hobgoblin** warlord": no bandit
            ref = tuple.__new__(
                ProseRef,
                (0, name_start, name_start + len(found.name), found.name, found.style, found.entry,
                 value, count_start),
            )  # fmt: skip
            by_line.setdefault(i, []).append(ref)
            taken.setdefault(i, []).append((start, m.end() - starts[i]))
    unsorted: set[int] = set()
    for written in _counts_of_lines(joined, lines, starts):
        at = written[0]
        i = bisect_right(starts, at) - 1
        base = starts[i]
        spans = taken.get(i)
        if spans and _inside(at - base, spans):
            continue
        counted = _counted(joined, written, names, base)
        if counted is None:
            continue
        if spans:
            if _overlaps(counted.start, counted.end, spans):
                continue
            unsorted.add(i)
        by_line.setdefault(i, []).append(counted)
    for i in unsorted:
        by_line[i].sort(key=_span_start)
    if _AFTER_TRIGGER.search(joined) is not None:
        for i, line in enumerate(lines):
            if _AFTER_TRIGGER.search(line) is not None:
                with_after = _counts_after(line, by_line.get(i, []), names)
                if with_after is not None:
                    by_line[i] = with_after
    out: list[tuple[ProseRef, ...]] = [()] * len(lines)
    for i, refs in by_line.items():
        out[i] = tuple(refs)
    return out


_NOT_YET: EmphasisName = cast(EmphasisName, object())

# A count written after a creature's name, as encounter tables and notes write it: "Goblins x4",
# "goblin ×3", "wolves (4)", "Skeletons (x3)", "Wolves (2d4)", "Bandits: 6", "Stirges: 2d4
# (nesting)". `_AFTER_TRIGGER` is what every such count begins with: a line without one has
# none, and a walk by the native reader leaves a line with one (`after_trigger` there) to
# `_read_texts`, which adds them to the native reading.
_AFTER_TRIGGER = re.compile(r"(?:(?<=[ \t])[xX]|×|\([ \t]*[xX×]|[(:])[ \t]*\d")
_AFTER_QUANTITY = r"\d{1,3}(?:[dD]\d{1,3}(?:[ \t]*[-+][ \t]*\d{1,3})?|[-–]\d{1,3})?"
_AFTER_COUNT = re.compile(
    rf"(?:(?<=[ \t])[xX]|×)[ \t]*(?P<times>{_AFTER_QUANTITY})(?![\w'’])"
    rf"|\([ \t]*(?:[xX×][ \t]*)?(?P<bracketed>{_AFTER_QUANTITY})[ \t]*\)"
    rf"|:[ \t]*(?P<colon>{_AFTER_QUANTITY})(?=[ \t]*(?:[(,;|.]|$))"
)
"""The count itself, from the mark it begins with (a search that scans for "x", "×", "(" or
":" only); the name ends before the spaces and the emphasis markers before it."""
_WORD_BEFORE = re.compile(r"[^\W_][\w'’‘]*(?:-[^\W_][\w'’‘]*)*")
_IN_WORD = frozenset("'’‘-")


def _counts_after(text: str, refs: list[ProseRef], names: ProseNames) -> list[ProseRef] | None:
    """`refs` (a line's, at line 0) with the creatures counted after their names ("Goblins
    x4", "**mummy** (x1)", "Bandits: 6"): the name is the longest run of words right before
    the count that names a creature (a bold or italic one already read takes the count), and
    never a part of a longer run that names none ("Hobgoblin Captain ×1" is no hobgoblin);
    its count is written at `count_start`, after it, maybe past a bracket ("**Thug** (AC 11)
    ×3", "Goblin (CR 1/4) x4"). A number alone in brackets after a word
    that names no creature says the brackets hold something else on that line: "Running
    order: goblins (init 14), Pell (12), wolves (9)" counts no wolves. None when there are
    none."""
    found: list[tuple[ProseRef, bool]] = []  # each with whether its count is a bare "(12)"
    bracketed_words = False  # a bare "(12)" after a word that names no creature
    for m in _AFTER_COUNT.finditer(text):
        written = m["times"] or m["bracketed"] or m["colon"]
        at = m.start("times" if m["times"] else "bracketed" if m["bracketed"] else "colon")
        value = int(_DIGITS.match(written)[0])  # type: ignore[index]
        bare = m["bracketed"] is not None and written.isdigit() and "x" not in m[0].lower()
        end = len(text[: m.start()].rstrip(" \t"))
        if text[end - 1 : end] == ")" and (opening := text.rfind("(", 0, end)) > 0:
            end = len(text[:opening].rstrip(" \t"))  # "Goblin (CR 1/4) x4": the name before
        closed = len(text[:end].rstrip("*_"))
        if closed < end:  # "**mummy** (x1)": the emphasis read before it takes the count
            for ref in refs:
                if (
                    ref.end == closed
                    and ref.count_start is None
                    and ref.entry.collection in COUNT_COLLECTIONS
                    and not any(r.start == ref.start for r, _ in found)
                ):
                    found.append((ref._replace(count=value, count_start=at), bare))
                    break
            continue
        named = _name_before(text, end, refs, names)
        if named is None:
            bracketed_words = bracketed_words or bare
            continue
        start, end, entry = named
        if any(r.start == start for r, _ in found):
            continue  # counted once: "Goblins (4) (2)"
        ref = ProseRef(0, start, end, text[start:end], "count", entry, value, at)
        found.append((ref, bare))
    counted = [ref for ref, bare in found if not (bare and bracketed_words)]
    if not counted:
        return None
    spans = {(r.start, r.end) for r in counted}
    kept = [r for r in refs if (r.start, r.end) not in spans]
    return sorted([*kept, *counted], key=_span_start)


_DIGITS = re.compile(r"\d+")


def _name_before(
    text: str, end: int, refs: list[ProseRef], names: ProseNames
) -> tuple[int, int, NamedEntry] | None:
    """The creature named by the longest run of words (as many as the longest creature's name
    has) that ends at `end` and is no part of a reference read before: (its columns, entry).
    After another creature's name, a job is that creature's ("Animated armor guards (2)" are
    two animated armors, "Flying swords patrol (2-4)" flying swords) and a rank another
    creature's ("kobold cultist ×2": none); a capitalised one a name no pack has ("Goblin
    Warriors ×4": the 2024 Goblin Warrior, no goblins)."""
    starts: list[int] = []
    pos = end
    while len(starts) < names.longest_creature:
        start = pos
        while start > 0 and (text[start - 1].isalnum() or text[start - 1] in _IN_WORD):
            start -= 1
        while start < pos and not text[start].isalnum():
            start += 1  # a word begins with a letter or a digit
        if start == pos or _WORD_BEFORE.fullmatch(text, start, pos) is None:
            break
        starts.append(start)
        gap = start
        while gap > 0 and text[gap - 1] in " \t":
            gap -= 1
        if gap == start or gap == 0:
            break
        pos = gap
    if not starts:
        return None
    spans = [(r.start, r.end) for r in refs]
    found = _longest_named(text, starts[::-1], end, spans, names)
    start = found[0] if found is not None else starts[0]
    word = names.normalized(text[start:end])
    if " " in word:
        return (start, end, found[1]) if found is not None else None
    before = text[:start].rstrip(" \t")
    kin = _longest_named(text, [s for s in starts[::-1] if s < start], len(before), spans, names)
    forms = {word, *singular_forms(word)}
    if kin is not None and forms & (JOB_WORDS | ROLE_WORDS) and text[start].isupper():
        return None  # "Goblin Warriors ×4", "Kobold Scout (1)": a name no pack has (2024's)
    if kin is not None and forms & JOB_WORDS:
        return kin[0], len(before), kin[1]  # "Flying swords patrol (2-4)": the swords
    if found is None or (kin is not None and forms & ROLE_WORDS):
        return None
    return start, end, found[1]


def _longest_named(
    text: str, starts: list[int], end: int, spans: list[tuple[int, int]], names: ProseNames
) -> tuple[int, NamedEntry] | None:
    """The first of `starts` (the longest run first) whose words up to `end` name a creature."""
    for start in starts:
        if _overlaps(start, end, spans):
            continue
        entry = names.find(names.normalized(text[start:end]), "count")
        if entry is not None:
            return start, entry
    return None


def _inside(at: int, spans: list[tuple[int, int]]) -> bool:
    """Whether `at` is inside one of the spans (a loop: `any` of a generator made a generator
    per count)."""
    for a, b in spans:  # noqa: SIM110
        if a <= at < b:
            return True
    return False


def _overlaps(start: int, end: int, spans: list[tuple[int, int]]) -> bool:
    """Whether `start`…`end` overlaps one of the spans (a loop, as `_inside`)."""
    for a, b in spans:  # noqa: SIM110
        if a < end and start < b:
            return True
    return False


def _span_start(ref: ProseRef) -> int:
    return ref.start if ref.count_start is None else min(ref.start, ref.count_start)


_STAR_OR_UNDERSCORE = re.compile(
    r"\*(?<![*\\\w]\*)(\*{0,2})(?![\s*])([^*\n]+?)(?<![\s\\])\*\1(?![*\w])"
    r"|_(?<![_\\\w]_)(_{0,2})(?![\s_])([^_\n]+?)(?<![\s\\])_\3(?![_\w])"
)
"""`_STAR` or `_UNDERSCORE`, whichever begins at a column: what `_EMPHASIS` finds, scanned for
by the first character (`tests/test_prose.py` checks it)."""


Emphasis = tuple[int, int, int, int, str]
"""(start, end, markers, start of the text inside, the text inside) of an emphasis."""


def _emphases(text: str) -> list[Emphasis]:
    """Each emphasis of a line, as `_EMPHASIS` finds them."""
    out = []
    for m in _STAR_OR_UNDERSCORE.finditer(text):
        group = m.lastindex or 0
        out.append((m.start(), m.end(), len(m[group - 1]) + 1, m.start(group), m[group]))
    return out


Count = tuple[int, int, str, int]
"""A count written in a line: (its column, the column after it and the spaces after, its text,
the column after the word that follows it)."""


def _counts(text: str) -> list[tuple[int, int, str]]:
    """The counts written in a line ("4 ", "two ", "a dozen "), as `_COUNT` finds them."""
    return [(a, b, written) for a, b, written, _ in _counts_with_words(text)]


def _counts_with_words(text: str) -> list[Count]:
    if _latin1(text) is None and _lowered(text) is None:
        return [
            (m.start(), m.end(), m["count"], m.end("word")) for m in _COUNT_WITH_WORD.finditer(text)
        ]
    return _counts_in(text)


def _counts_of_lines(joined: str, lines: list[str], starts: list[int]) -> list[Count]:
    """The counts of lines joined by newlines, in order, at their columns in `joined`."""
    if _latin1(joined) is not None or _lowered(joined) is not None:
        return _counts_in(joined)
    out: list[Count] = []
    for line, base in zip(lines, starts, strict=False):
        out += [(base + a, base + b, w, base + e) for a, b, w, e in _counts_with_words(line)]
    return out


def _lowered(text: str) -> str | None:
    """`text.lower()` when it keeps every column and `re.I` reads no letter of it as another
    ("ſ" as s, "ı" as i), else None."""
    low = text.lower()
    if text.isascii() or (
        len(low) == len(text) and "ſ" not in text and "ı" not in text and "İ" not in text
    ):
        return low
    return None


def _counts_in(text: str) -> list[Count]:
    """The counts in `text`, which is Latin-1 or which `_lowered` can lower, in order (none
    crosses a line: a newline is neither a count's space nor a word). A Latin-1 text is read as
    bytes (one a character: the same columns), its digits as zeros (`_COUNT_ZEROS`: scanned for
    as one character); the number words are looked for only where the text holds them as words
    of their own (`_WORD_BYTES`: its words split in C), and each is matched where it is in the
    line lower-cased (the whole text lower-cased, and each of fourteen words looked for in it,
    took most of a first reading's count time)."""
    found: list[Count] = []
    data = _latin1(text)
    if data is not None:
        found = [
            (m.start(), m.end(), text[m.start() : m.end(1)], m.end(2))
            for m in _COUNT_ZEROS.finditer(data.translate(_ZEROS))
        ]
    else:
        low = text.lower()  # the same columns (`_lowered`)
        if _ANY_DIGIT.search(low):
            found = [
                (m.start(), m.end(), m["count"], m.end("word")) for m in _COUNT_DIGITS.finditer(low)
            ]
        data = text.encode("latin-1", "replace")  # one byte a character too
    in_words = _word_counts(text, data)
    if in_words:  # few: put in their places among the counts in digits
        if found:
            for written in in_words:
                insort(found, written)
        else:
            found = in_words
    return found


def _word_counts(text: str, data: bytes) -> list[Count]:
    """The counts in words in `text` (`data`: its bytes, one a character), in order."""
    found: list[Count] = []
    words = data.translate(_WORD_BYTES).split()
    parts = [p for w in _NUMBER_WORD_BYTES.intersection(words) for p in _PARTS_OF[w]]
    lowered = data.lower() if parts else b""  # its ASCII letters: those of number words
    for part in parts:
        needle = part.encode()
        at = lowered.find(needle)
        while at >= 0:
            start = at
            if part in _AFTER_A:  # "a dozen", "a pair of": the count begins at the "a"
                while start > 0 and text[start - 1] in _SPACES:
                    start -= 1
                start -= start > 0 and text[start - 1] in "aA" and start < at
            first = max(start - 1, 0)  # the character before: `_COUNT_WORDS` looks behind
            end = text.find("\n", at)
            line = text[first : len(text) if end < 0 else end].lower()
            word = _COUNT_WORDS.match(line, start - first)
            if word is not None and word.end("count") > at - first:
                found.append((start, first + word.end(), word["count"], first + word.end("word")))
            at = lowered.find(needle, at + 1)
    if parts:
        found.sort()
    return found


_WORD_BYTES = bytes(
    32 if c in b"xX" else c + 32 if 65 <= c <= 90 else c if 97 <= c <= 122 else 32
    for c in range(256)
)
"""Lower-cased ASCII letters but x, and a space for every other byte (`bytes.translate`)."""
_PARTS_OF: dict[bytes, list[str]] = {}
for _part in _NUMBER_WORD_PARTS:
    _PARTS_OF.setdefault(_part.replace("x", " ").split()[0].encode(), []).append(_part)
_NUMBER_WORD_BYTES = frozenset(_PARTS_OF)


_SPACES = frozenset(
    " \t\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2001\u2002\u2003"
    "\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
"""What `\\s` matches but a newline (`str.isspace`)."""


_ANY_DIGIT, _ANY_ASCII_DIGIT = re.compile(r"\d"), re.compile("[0-9]")


def _latin1(text: str) -> bytes | None:
    """`text` in Latin-1 (one byte a character: the same columns), None when it holds a
    character above U+00FF (a copy in C of what Python keeps one byte a character)."""
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return None


def _zeros_table() -> bytes:
    """What `_COUNT_ZEROS` reads of each Latin-1 character: what `_COUNT_DIGITS` tells apart.
    A digit is 0 (Latin-1 has no other digits), a letter a (x is itself: "4x wolves"; d too:
    "2d6", `_AFTER_ROLL`), the other word characters _, the characters that may not come
    before a count "." (so no count is read inside "1.5" or "1/2"; + and - are themselves:
    "-2", but "1d4+1", "6-8"), × \x01, the space and tab themselves, ' itself (a name's word
    may hold it) and the rest #."""
    out = bytearray()
    for c in map(chr, range(256)):
        if _ANY_DIGIT.match(c):
            out += b"0"
        elif c in "xXdD":
            out += c.lower().encode()
        elif re.match(r"[^\W\d_]", c):
            out += b"a"
        elif re.match(r"\w", c):
            out += b"_"
        elif c in ".,/+-":
            out += c.encode() if c in "+-" else b"."
        elif c in " \t'":
            out += c.encode()
        elif c == "×":
            out += b"\x01"
        else:
            out += b"#"
    return bytes(out)


_ZEROS = _zeros_table()
_COUNT_ZEROS = re.compile(
    rb"(0(?:(?<![\w.+\-]0)|(?<=0[-+d]0))0{0,%d})(?:[ \t]*[x\x01])?[ \t]+"
    rb"(?=[a-z](?:[\w']*(?:-[a-z0][\w']*)*)())" % (MAX_COUNT_DIGITS - 1)
)
"""`_COUNT_DIGITS` on a text translated by `_ZEROS`: every digit a 0, so that the engine
scans for one character (a class of ten took twice as long). Group 1 is the count, group 2
is empty at the end of the word after it."""
_COUNT_VALUES: dict[str, int] = {}


def _count_value(written: str) -> int:
    """`parse_count`, remembered (counts repeat)."""
    value = _COUNT_VALUES.get(written)
    if value is None:
        if len(_COUNT_VALUES) >= LINE_CACHE:
            _COUNT_VALUES.clear()
        value = _COUNT_VALUES[written] = parse_count(written)
    return value


def _ref(
    n: int,
    start: int,
    end: int,
    text: str,
    style: Style,
    entry: NamedEntry,
    count: int,
    count_start: int | None,
) -> ProseRef:
    """`ProseRef(…)` without keywords (a tenth of a first reading's time went to them)."""
    return tuple.__new__(ProseRef, (n, start, end, text, style, entry, count, count_start))


_NEXT_WORD = re.compile(r"[ \t]+([^\W_][\w'’‘]*(?:-[^\W_][\w'’‘]*)*)")


def _counted(text: str, count: Count, names: ProseNames, base: int = 0) -> ProseRef | None:
    """ "4 dire wolves": the longest run of words after the count that names a creature (the
    columns of `text` less `base`: a line's own)."""
    count_start, pos, count_text, end = count
    word = text[pos:end]
    first = names._after_count.get(word)
    most, size, alone = first if first is not None else names.after_count(word)
    if not most:
        return None
    # No name has more words than the longest that begins with this word (or its singular):
    # when that is this word, no word after it is read, unless the next word has no letter a
    # name keeps (it adds no word to a name: the words are read one by one, below).
    if names.longest_creature <= 1 or most < size:
        final = True
    elif most == size:
        after = text[end : end + 2]
        if (
            len(after) < 2
            or after[0] not in " \t"
            or (after[1].isascii() and after[1] not in " \t")
        ):
            final = True  # no next word, or one that begins with an ASCII letter or digit
        else:
            next_word = _NEXT_WORD.match(text, end)
            final = next_word is None or bool(names.normalized(next_word[1]))
    else:
        final = False
    if final:
        if alone is None:
            return None
        start, name, entry = pos, word, alone
    else:
        # The words the loop may read (as many as the longest name has), as one key: what they
        # name depends on them only, and prose repeats its names.
        known = names.named_span(names.words_after(text, pos, most), most)
        if known is None:
            return None
        start, end, name, entry = known
        start, end = start + pos, end + pos
    value = _COUNT_VALUES.get(count_text)
    if value is None:
        value = _count_value(count_text)
    next_word = _NEXT_WORD.match(text, end)
    if next_word is not None and names.goes_on(name, next_word[1], value):
        return None  # "1 hobgoblin captain": a creature no pack has, no hobgoblin
    return tuple.__new__(
        ProseRef, (0, start - base, end - base, name, "count", entry, value, count_start - base)
    )


def _named_words(
    text: str, most: int, names: ProseNames
) -> tuple[int, int, str, NamedEntry] | None:
    """The longest run of the words at the start of `text` that names a creature, reading no
    more words of names than `most` (the longest that begins with the first): (start, end,
    the name as written, entry)."""
    words: list[re.Match[str]] = []
    norms: list[str] = []
    taken = pos = 0
    while len(words) < names.longest_creature:
        w = _WORD.match(text, pos)
        if w is None:
            break
        norm = names.normalized(w[0])
        size = norm.count(" ") + 1 if norm else 0
        if words and taken + size > most:
            break
        taken += size
        words.append(w)
        norms.append(norm)
        gap = _WORD_GAP.match(text, w.end())
        if gap is None:
            break
        pos = gap.end()
    for size in range(len(words), 0, -1):
        entry = names.find(" ".join(norms[:size]), "count")
        if entry is not None:
            start, end = words[0].start(), words[size - 1].end()
            return start, end, text[start:end], entry
    return None
