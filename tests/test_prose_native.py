"""The native prose reader (`d5e_daemon/_prose_native.c`) against the Python one
(`d5e_daemon/prose.py`, the reference): the same block walk, the same texts, the same references,
on random Markdown-ish text; and a check that a normal install really uses it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from types import ModuleType
from unittest import mock

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from lsprotocol import types

from d5e_daemon import prose
from d5e_daemon.app import App
from d5e_daemon.prose import ProseNames, ProseWalk, walk_prose
from d5e_daemon.textdoc import LineDocument
from tests.test_prose import step

NATIVE = prose.native()


@pytest.fixture
def reader() -> ModuleType:
    if NATIVE is None:
        pytest.skip("the native prose reader is switched off (D5E_PROSE_NATIVE=0)")
    return NATIVE


def test_a_normal_install_reads_prose_natively(app: App) -> None:
    """`make setup` (`pip install -e .`) builds the native reader and prose is read with it: a
    build that failed silently (the extension is optional) would leave every document read by
    the Python reader, several times slower. Switched off on purpose, it is not used."""
    if os.environ.get("D5E_PROSE_NATIVE") == "0":
        pytest.skip("the native prose reader is switched off (D5E_PROSE_NATIVE=0)")
    module = prose.native()
    assert module is not None, (
        "d5e_daemon._prose_native was not built: run make setup (docs/development.md)"
    )
    assert module.__name__ == "d5e_daemon._prose_native"
    names = ProseNames.load(app.conn, app.profile)
    with mock.patch.object(module, "walk", wraps=module.walk) as walked:
        refs = prose.find_prose(["The **goblins** and 4 wolves.", "She casts *fireball*."], names)
    assert walked.called
    assert [(r.line, r.text, r.style, r.count) for r in refs] == [
        (0, "goblins", "bold", 1),
        (0, "wolves", "count", 4),
        (1, "fireball", "italic", 1),
    ]
    with mock.patch.object(prose, "USE_NATIVE", False), mock.patch.object(module, "walk") as off:
        assert prose.find_prose(["4 wolves"], ProseNames.load(app.conn, app.profile))
    assert not off.called


PIECES = [
    "*", "**", "***", "****", "_", "__", "___", "\\", " ", "  ", "\t", "4", "12", "0",
    "123456789", "1234567890", "x", "X", " x ", "×", "one", "Two", "THREE", "eleven",
    "a dozen", "a  pair of", "A\tdozen", "six", "sixx", "often", "someone", "ten",
    "wolves", "wolf", "Wolves", "dire wolves", "giant spiders", "goblin", "Ogre", "ogres",
    "fireball", "shield", "potion of healing", "potions of healing", "wand of fireballs",
    "swarms of rats", "swarm of insects", "a very important note", ".", ",", ":", ";", "/",
    "+", "-", "'", "'s", "{@creature wolf}", "{@spell fireball|x}", "{@", "}", "{", "`", "``",
    "`code 2 wolves`", "[", "]", "(", ")", "[link](u)", "[[Wiki]]", "![i](x (y))", "[r][x]",
    "<", ">", "<b>", "</i>", "<!--", "-->", "<https://x.y>", "http://a.b/c", "https://",
    "://", "h", "é", "Æ", "二", "’", "ſix", "\u212a", "\u00a0", "\u3000", "\r\n", "\r", "\n",
    "\x0b", "\x1c", "\x85", "#", "## ", "####### ", "---", "...", "===", "```", "~~~", "````",
    "    ", "- ", "+ ", "* ", "1. ", "3) ", "[ref]: ", "Flame + 2 wolves", "The ", "the ",
    "**Guard.**", "2 x ", "5 × ", "—", "“", "”", "…", "•", "©", "\u0301", "½", "wolf’s", "’",
    "\x01", "\x02",
]  # fmt: skip
# Lines built like prose: what begins a line, then phrases (a count, markers, a name) with what
# comes before and after each, so that counts meet names and markers meet words often.
STARTS = st.sampled_from(["", "", "", "", "---", "...", "```", "~~~", "````", "~~~~ x", "    ",
                          "\t", "# ", "## ", "####### ", "#", "- ", "* ", "+ ", "1. ",
                          "1234567890. ", "3) ", "[ref]: ", "[]: ", "[r]:", "===", "  ===",
                          "<!--", "-->", " ", "   ", "---- ", "..", "\u3000"])  # fmt: skip
COUNTS = st.sampled_from(["", "", "1", "4", "12", "123456789", "1234567890", "one", "Two",
                          "THREE", "six", "sixx", "eleven", "twelve", "ten", "a dozen",
                          "A  dozen", "a\tpair of", "a pair  of", "0", "nine", "ſix"])  # fmt: skip
AFTER_COUNT = st.sampled_from([" ", " ", "  ", "\t", " x ", "x ", " X  ", " × ", "", ", ",
                               "-", ".", "\x0b", " x", "x", " \t"])  # fmt: skip
NAMES = st.sampled_from(["wolves", "wolf", "Wolves", "dire wolves", "dire wolf", "giant spiders",
                         "giant  spiders", "giant\tspiders", "goblin", "goblins", "Ogre",
                         "ogres", "fireball", "shield", "potion of healing", "potions of healing",
                         "wand of fireballs", "swarms of rats", "swarm of insects", "wolf-bat",
                         "zombies", "bats", "x", "someone's", "a very important note", "Guard.",
                         "Wolf:", "Æther", "naïve", "二", "wolves Æ", "3 ogres", "wolves-1",
                         "dire-wolves", "ogres'", "wolf’s", "ogres’", "“wolves”", "dire—wolves",
                         "fire…ball", "giant ’ spiders", "wolf captain", "goblin guards",
                         "ogre guard", "wolves guard"])  # fmt: skip
MARKERS = st.sampled_from(["", "", "*", "**", "***", "_", "__", "____", "\\*", "*_"])
BEFORE = st.sampled_from(["", "", " ", "the ", "The ", "(", ".", "-", "/", "+", ",", "x", "a",
                          "1", "6-", "1d4+", "2d", "2D", "x-", "1.5-", "{@creature ", "`",
                          "``", "[", "[[", "![", "<b>", "<!--", "http://x/", "<https://",
                          "é", "\\", "“", "—", "’", "•"])  # fmt: skip
AFTER = st.sampled_from(["", "", " ", ".", ",", ":", "}", "`", "``", "]", "](u)", "](u (v))",
                         "][r]", "]]", "</b>", "-->", ">", "'s", "s", "é", "\\", "*",
                         "_", "”", "…", "’s", " —", "’", " captain", " guards",
                         "  boss", " pelts"])  # fmt: skip


@st.composite
def phrases(draw: st.DrawFn) -> str:
    opening = draw(MARKERS)
    closing = opening if draw(st.booleans()) else draw(MARKERS)
    count = draw(COUNTS) + draw(AFTER_COUNT) if draw(st.booleans()) else ""
    return draw(BEFORE) + count + opening + draw(NAMES) + closing + draw(AFTER)


PROSE = st.builds(
    lambda start, parts, gap, end: start + gap.join(parts) + end,
    STARTS,
    st.lists(phrases(), max_size=4),
    st.sampled_from([" ", "; ", " + ", "", " and ", "\t"]),
    st.sampled_from(["", "", "\r\n", "\n", " ", "\r", "  "]),
)
TEXT = PROSE | st.lists(st.sampled_from(PIECES), max_size=16).map("".join) | st.text(max_size=40)
LINES = st.lists(PROSE | TEXT, max_size=12)


@pytest.fixture
def two_names(app: App) -> tuple[ProseNames, ProseNames]:
    """The profile's names twice: one read natively, one by Python (nothing shared)."""
    return ProseNames.load(app.conn, app.profile), ProseNames.load(app.conn, app.profile)


def forget_lines(*names: ProseNames) -> None:
    """Every line new again (what each way of writing a name means stays known: both paths of
    the native reader, a name known and a name read the first time, are taken by the texts)."""
    for n in names:
        n._lines.clear()
        n._plain.clear()
        n._quiet.clear()


@settings(
    max_examples=700,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=TEXT)
@example("wolves4 wolves, 1234567890 ogres, .5 bats, -2 rats, 2x wolves, 3 x ogres, 4 x 5")
@example("someone, stone: often a dozen wolves, a  pair of ogres, ELEVEN bats, six wolves")
@example("*fireball* **4 wolves** _shield_ __ogre__ ***x*** \\*no* a*b* *c*d **Guard.**")
@example("Two **dire wolves** and the **goblins**, six **ogres**, 3 x **wolves**, a dozen _x_")
@example("``a` `b` ```c`` `` d ``` [*fireball*](u (v)) [[2 wolves]] <b x='2 wolves'> 2 wolves")
@example("**2 wolves Æ** and 3 **ogres**, *2 fireball* ***4 wolves*** **Wolf.** 2 wolves\r\n")
@example("2 dire wolves, 2 giant  spiders, 4 swarms of rats 1 wolf-bat, 3 giant\tspiders")
@example("a pair of **wolves**, six **ogres**, 3 x **bats**, two  x\t**wolves**, 12**wolves**")
@example("one **wolf** three **ogres** four **bats** five **rats** seven **wolves** eight **x**")
@example("nine **bats** ten **rats** eleven **wolves** twelve **ogres** a dozen **bats** 1.5 **x**")
@example("2 wolf’s, 3 ogres’ den, 4 “wolves” — 2 dire—wolves, *fire…ball*, **Ogre’s**, “*shield*”")
@example("1 wolf captain, 2 goblin guards, 1 ogre guard, 2 ogre guards, 2 wolves guard, 1 wolf rat")
@example("\\*fireball* \\**ogres** 4 xwolves, 4 x wolves, 2 wolves-1, 3 dire-wolves, 5 ogres'")
@example("a **wolf** captain, 2 **ogre** guards, 4 **wolf** pelts, **_potion of healing_**")
@example("Goblins x4, wolves (2d4), **ogre** (x1), Bandits: 6, goblin ×3, Pell (12), `x4` (4)")
def test_a_text_is_read_natively_as_python_reads_it(
    reader: ModuleType, two_names: tuple[ProseNames, ProseNames], text: str
) -> None:
    """Spans blanked, emphases, counts in digits and words, the count before a bold name, the
    words a count's name takes: the native reading of a text is the Python one (a text it does
    not read, one above U+007F or with a newline of its own, it leaves to Python; a count
    written after a name, "Goblins x4", Python adds to its reading)."""
    native, python = two_names
    forget_lines(native, python)
    if text.isascii():
        assert reader.blank(text) == prose._blank_spans(text)
    with mock.patch.object(prose, "USE_NATIVE", False):
        expected = prose._read_texts([text], python)[0]
    got = reader.read(native.native_table(), text)
    body = text.rstrip("\r\n") if text[-1:] in "\r\n" else text
    if got is not None and prose._AFTER_TRIGGER.search(blanked := prose._blank_spans(body)):
        # a count that may be written after a name: added to the native reading in Python
        got = tuple(prose._counts_after(blanked, list(got), native) or got)
    if text.isascii() and "\n" not in body:
        assert got == expected
    elif got is not None:  # above U+007F, punctuation only: read as ASCII with marks
        assert got == expected
        assert not any(c.isalnum() or c.isspace() or c in "×\x01\x02\n" for c in body if c > "\x7f")
    assert prose._read_texts([text], native)[0] == expected


def walks(lines: list[str], native: ProseNames, python: ProseNames) -> Iterator[object]:
    """The walks of `lines` by both readers, one pair at a time: kept, not kept, without names."""
    forget_lines(native, python)
    for names, use in ((python, False), (native, True)):
        with mock.patch.object(prose, "USE_NATIVE", use):
            yield (
                ProseWalk(lines, names),
                ProseWalk(lines, names, keep=False),
                ProseWalk(lines, None, keep=False),
            )


@settings(
    max_examples=500,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(lines=LINES)
@example(["---", "title: 4 wolves", "---", "4 wolves", "```", "2 ogres", "```", "*fireball*"])
@example(["Wolves and *fireball*", "===", "2 wolves", "  ---", "- 3 ogres", "---", "4 bats"])
@example(["<!-- 2 wolves", "*fireball* --> 3 ogres <!-- x", "y --> 4 bats", "<!-->2 wolves"])
@example(["", "    4 wolves", "- item", "", "    2 ogres", "\t*fireball*", "# 2 wolves"])
@example(["~~~~", "```", "~~~ x", "~~~~~ ", "2 wolves é", "[ref]: x 2 wolves", "[ref] 2 ogres"])
@example(["---", "a: 1", "----", "2 wolves", "--- ", "3 ogres", "...", "4 bats"])
@example(["", "", "<!--", "Ā-->0 2 wolves", "<!-- é", "é --> 3 ogres"])
@example(["123456789. x", "", "    2 wolves", "1234567890. y", "", "    3 ogres"])
def test_a_document_is_walked_natively_as_python_walks_it(
    reader: ModuleType, two_names: tuple[ProseNames, ProseNames], lines: list[str]
) -> None:
    """The block walk (code fences, front matter, HTML comments, headings, setext underlines,
    lists and indented code) and every line's text and references: the native walk is the
    Python one, for lines as an editor sends them (line ends kept, CRLF) and as given."""
    native, python = two_names
    for document in (lines, "".join(line + "\n" for line in lines).splitlines(keepends=True)):
        (kept, unkept, bare), (n_kept, n_unkept, n_bare) = walks(document, native, python)
        assert (n_kept.texts, n_kept.states, n_kept.line_refs) == (
            kept.texts,
            kept.states,
            kept.line_refs,
        )
        assert (n_unkept.texts, n_unkept.line_refs) == (unkept.texts, unkept.line_refs)
        assert n_bare.texts == bare.texts
        assert n_kept.refs == kept.refs


def test_a_first_reading_in_steps_reads_long_lines_a_slice_at_a_time(
    reader: ModuleType, app: App
) -> None:
    """The native walk stops between slices too (`WALK_SLICE` lines, or `READ_CHARS` of new
    text), so a long document's first walk can be left to answer a request."""
    names = ProseNames.load(app.conn, app.profile)
    line = "Scene: 4 wolves and **goblins**; *fireball*. " * 200  # ~9,000 characters
    lines = [f"{i} {line}\n" for i in range(40)]
    steps = prose.walk_prose_steps(lines, names, "file:///long-lines.md")
    taken = 0
    while (walk := step(steps)) is None:
        taken += 1
    assert taken >= len(lines) * len(line) // prose.READ_CHARS
    with mock.patch.object(prose, "USE_NATIVE", False):
        expected = ProseWalk(lines, ProseNames.load(app.conn, app.profile))
    assert (walk.texts, walk.line_refs) == (expected.texts, expected.line_refs)


def test_a_document_under_edits_is_walked_natively_as_python_walks_it(
    reader: ModuleType, app: App
) -> None:
    """The walk kept by key and taken again after edits (the server's shared pass) finds, line
    for line, what the Python reader finds walking the same versions."""
    lines = [
        f"Scene {i}: {i % 7 + 2} wolves and **goblins**; *fireball* {i}.\n" for i in range(400)
    ]
    lines[::40] = ["```\n"] * 10
    lines[1::3] = [line.replace("Scene", "Scène") for line in lines[1::3]]  # some above U+007F
    text = "".join(lines)
    doc = LineDocument("file:///edited.md", text, version=1, language_id="markdown")
    native = ProseNames.load(app.conn, app.profile)
    python = ProseNames.load(app.conn, app.profile)
    edits = [(3, "2 ogres and *shield*\n"), (40, "no fence\n"), (41, "<!-- 3 bats\n"), (200, "")]
    for line, new in edits:
        where = types.Range(types.Position(line, 0), types.Position(line + 1, 0))
        doc.apply_change(types.TextDocumentContentChangePartial(range=where, text=new))
        walk = walk_prose(doc.lines, native, doc.uri, doc)
        with mock.patch.object(prose, "USE_NATIVE", False):
            expected = ProseWalk(list(doc.lines), python)
        assert (walk.texts, walk.states, walk.line_refs) == (
            expected.texts,
            expected.states,
            expected.line_refs,
        )
