"""Names in prose without tags (`d5e_daemon/prose.py`): bold creatures, italic spells and items,
counted plurals, and everything that is not prose (code, headings, links, tags, HTML)."""

from __future__ import annotations

import random
import re
from collections.abc import Generator
from unittest import mock

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from lsprotocol import types
from pygls.workspace import TextDocument

from d5e_daemon import prose, queries
from d5e_daemon.app import App
from d5e_daemon.features import markdown as md
from d5e_daemon.features.tags import Resolver
from d5e_daemon.names import singular_forms
from d5e_daemon.prose import (
    ProseNames,
    ProseWalk,
    count_before,
    find_prose,
    fold_edits,
    prose_at,
    walk_prose,
)
from d5e_daemon.text import normalize
from d5e_daemon.textdoc import Edit, LineDocument


@pytest.fixture(autouse=True, params=["native", "python"])
def reader(request: pytest.FixtureRequest) -> Generator[str, None, None]:
    """Every test here runs with each reader: the native one (`_prose_native`, when built) and
    the Python one (the reference, and what runs without a compiler)."""
    if request.param == "native" and prose._native_module() is None:
        pytest.skip("the native prose reader was not built")
    with mock.patch.object(prose, "USE_NATIVE", request.param == "native"):
        yield request.param


@pytest.fixture
def names(app: App) -> ProseNames:
    return ProseNames.load(app.conn, app.profile)


def found(text: str, names: ProseNames) -> list[tuple[int, str, str, str, int]]:
    """(line, text as written, style, ref, count) of every prose reference."""
    return [
        (r.line, r.text, r.style, r.entry.ref, r.count)
        for r in find_prose(text.splitlines(), names)
    ]


def test_counted_creatures_as_adventures_write_them(names: ProseNames) -> None:
    line = "Scene 1 (road): 4 wolves; Flame's den: Flame + 2 wolves + 1 dire wolf."
    refs = find_prose([line], names)
    assert [(r.text, r.entry.ref, r.count) for r in refs] == [
        ("wolves", "monsters/wolf", 4),
        ("wolves", "monsters/wolf", 2),
        ("dire wolf", "monsters/dire-wolf", 1),
    ]
    first = refs[0]
    assert line[first.start : first.end] == "wolves"
    assert first.count_start is not None and line[first.count_start : first.end] == "4 wolves"
    assert first.span == (16, 24)
    assert first.entry.pack == "srd-2014" and first.entry.name == "Wolf"


def test_counts_in_words_and_plurals_of_several_words(names: ProseNames) -> None:
    assert found("Three giant spiders and a dozen bandits, 2 x ogres, 5 × zombies.", names) == [
        (0, "giant spiders", "count", "monsters/giant-spider", 3),
        (0, "bandits", "count", "monsters/bandit", 12),
        (0, "ogres", "count", "monsters/ogre", 2),
        (0, "zombies", "count", "monsters/zombie", 5),
    ]


def test_bold_creatures_italic_spells_and_items(names: ProseNames) -> None:
    text = (
        "The **goblins** attack; **Guard.** A run-in heading is no creature.\n"
        "She casts *fireball* from a _wand of fireballs_ and drinks *potions of healing*.\n"
        "4 **wolves**, **3 ogres**, ***shield***; *goblin* in italics and **fireball** in bold "
        "are not the house style, **a very important note** names nothing."
    )
    assert found(text, names) == [
        (0, "goblins", "bold", "monsters/goblin", 1),
        (1, "fireball", "italic", "spells/fireball", 1),
        (1, "wand of fireballs", "italic", "magic-items/wand-of-fireballs", 1),
        (1, "potions of healing", "italic", "magic-items/potion-of-healing", 1),
        (2, "wolves", "bold", "monsters/wolf", 4),
        (2, "ogres", "bold", "monsters/ogre", 3),
        (2, "shield", "italic", "spells/shield", 1),
    ]


def test_a_bold_name_no_creature_has_is_a_spell_or_an_item(names: ProseNames) -> None:
    """Notes and homebrew set spells and items in bold too: a bold name is a creature's first,
    else a spell's or an item's (one word only capitalised: "the **darkness**" is a word)."""
    text = (
        "- **Ring of Protection** x2 and **Cure Wounds**, **Bless**; **3 potions of healing**\n"
        "The **darkness** spreads, **wolf** and **Shield**; ***sleep*** is italic too.\n"
    )
    assert found(text, names) == [
        (0, "Ring of Protection", "bold", "magic-items/ring-of-protection", 1),
        (0, "Cure Wounds", "bold", "spells/cure-wounds", 1),
        (0, "Bless", "bold", "spells/bless", 1),
        (0, "potions of healing", "bold", "magic-items/potion-of-healing", 3),
        (1, "wolf", "bold", "monsters/wolf", 1),
        (1, "Shield", "bold", "spells/shield", 1),
        (1, "sleep", "italic", "spells/sleep", 1),
    ]


def test_never_inside_code_headings_links_tags_or_html(names: ProseNames) -> None:
    text = "\n".join(
        [
            "---",
            "title: 4 wolves",
            "---",
            "# The **Wolf** den with 4 wolves",
            "Wolves and *fireball*",
            "=====================",
            "```",
            "4 wolves and *fireball*",
            "```",
            "~~~~encounter",
            "- 4: wolves",
            "~~~~",
            "`4 wolves` and `` *fireball* `` and {@spell *fireball*} and {@creature 4 wolves}",
            "[*fireball*](https://example.com/4-wolves) and [[4 wolves]]",
            '<img alt="4 wolves"> and https://example.com/4-wolves',
            "<!-- 4 wolves",
            "*fireball* -->",
            "",
            "    4 wolves in an indented code block",
            "",
            "[ref]: https://example.com *fireball*",
            "After all that, 2 wolves.",
        ]
    )
    assert found(text, names) == [(21, "wolves", "count", "monsters/wolf", 2)]


def test_list_items_are_prose_even_indented(names: ProseNames) -> None:
    text = "- Scene 1:\n\n    4 wolves on the road\n- **Ogre**"
    assert found(text, names) == [
        (2, "wolves", "count", "monsters/wolf", 4),
        (3, "Ogre", "bold", "monsters/ogre", 1),
    ]


def test_numbers_that_count_nothing(names: ProseNames) -> None:
    assert found("It costs 50 gp, deals 2d6 damage, lasts 10 minutes; a +2 longsword.", names) == []
    assert found("DC 15, 1.5 wolves, 3/4 wolves", names) == []


def test_a_count_after_the_name_as_tables_and_notes_write_it(names: ProseNames) -> None:
    """ "Goblins x4", "goblin ×3", "wolves (4)", "Skeletons (x3)", "Wolves (2d4)", "Bandits: 6",
    "**mummy** (x1)": the name before the count, counted (hover and definition on it); its
    count is written after it. A longer name no pack has is none ("Hobgoblin Captain ×1"), nor
    is a name in an initiative order ("Pell (12), wolves (9)"), nor a count of hit points."""
    line = "Goblins x4, goblin ×3, wolves (4); Skeletons (x3), Wolves (2d4), a **mummy** (x1)"
    refs = find_prose([line], names)
    assert [(r.text, r.style, r.entry.ref, r.count) for r in refs] == [
        ("Goblins", "count", "monsters/goblin", 4),
        ("goblin", "count", "monsters/goblin", 3),
        ("wolves", "count", "monsters/wolf", 4),
        ("Skeletons", "count", "monsters/skeleton", 3),
        ("Wolves", "count", "monsters/wolf", 2),
        ("mummy", "bold", "monsters/mummy", 1),
    ]
    first = refs[0]
    assert first.count_start == line.index("4") and first.span == (0, len("Goblins"))
    assert refs[-1].count_start == line.index("1)")
    ref = prose_at([line], names, 0, line.index("Skeletons") + 2)
    assert ref is not None and ref.entry.ref == "monsters/skeleton"
    assert found("Bandits: 6\nStirges: 2d4 (in the rafters)", names) == [
        (0, "Bandits", "count", "monsters/bandit", 6),
        (1, "Stirges", "count", "monsters/stirge", 2),
    ]
    assert found("**Creatures:** Hobgoblin Captain ×1", names) == []
    assert found("Running order: goblins (init 14), Pell (12), wolves (9)", names) == []
    # after a creature's name, a job is that creature's, a rank another creature's, and a
    # capitalised one a name no pack has (the 2024 Goblin Warrior)
    assert found("Goblin Warriors ×4; Bugbear Warrior (1); Kobold Scouts: 3", names) == []
    assert found(
        "Animated armor guards (2); kobold cultist ×2; Flying swords patrol (2-4)", names
    ) == [
        (0, "Animated armor", "count", "monsters/animated-armor", 2),
        (0, "Flying swords", "count", "monsters/flying-sword", 2),
    ]
    # past a bracket of stats; a name counted once
    assert found("**Thug** (AC 11, HP 32) ×3; Goblin (CR 1/4) x4; Wolves (4) (2)", names) == [
        (0, "Thug", "bold", "monsters/thug", 3),
        (0, "Goblin", "count", "monsters/goblin", 4),
        (0, "Wolves", "count", "monsters/wolf", 4),
    ]
    assert found("The ogre: 59 hp; Guard post: 3 orcs", names) == [
        (0, "orcs", "count", "monsters/orc", 3)
    ]


def test_prose_at_a_position(names: ProseNames) -> None:
    lines = ["Flame + 2 wolves + 1 dire wolf and *fireball*"]
    ref = prose_at(lines, names, 0, 9)
    assert ref is not None and ref.entry.ref == "monsters/wolf"
    assert prose_at(lines, names, 0, 8) == ref  # on the count
    ref = prose_at(lines, names, 0, 40)
    assert ref is not None and ref.entry.ref == "spells/fireball"
    assert prose_at(lines, names, 0, 2) is None
    assert prose_at(lines, names, 5, 0) is None
    assert prose_at(["4 wolves", "========"], names, 0, 3) is None  # a heading


def test_count_before_a_tag() -> None:
    line = "Flame + 2 {@creature wolf} and three {@creature dire wolf|srd-2014}"
    assert count_before(line, line.index("{@creature wolf")) == (2, 8)
    assert count_before(line, line.index("{@creature dire")) == (3, 31)
    assert count_before(line, 0) is None


PIECES = [
    *prose.NUMBER_WORDS,
    *(w.upper() for w in prose.NUMBER_WORDS),
    "a  dozen",
    "A\tpair  of",
    "Ten",
    "0",
    "4",
    "4 ",
    "2 x ",
    "12",
    "12 ",
    "three ",
    "123456789",
    "1234567890",
    " ",
    "  ",
    "\t",
    "x",
    "×",
    "*",
    "**",
    "***",
    "_",
    "__",
    "\\",
    "wolves",
    "dire wolf",
    "stone",
    "often",
    "someone",
    ".",
    ",",
    "/",
    "+",
    "-",
    ":",
    "é",
    "ſix",
    "\u212a",
    "µ",
    "²",
    "\x01",
    "'s",
    "-",
    "’",
    "sixx",
    "d",
    "D",
    "6-",
    "1d4+",
    "2d",
    "–",
]


@settings(max_examples=600, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=14).map("".join) | st.text(max_size=30))
@example("wolves4 wolves, 1234567890 ogres, .5 bats, -2 rats, 2x wolves, 3 × ogres")
@example("someone, stone: often a dozen wolves, a  pair of ogres, ELEVEN bats, ſix wolves")
@example("4 éclairs, é4 wolves, 2 µ, ²3 bats, 5 _x, 1,5 ogres, 3-4 rats, 6 x×, 7 'tis, 8 a-b")
@example("six wolves, sixx ogres, Six bats, SIX  x rats, a dozen sixes, one pair of x")
@example("SIX one, SIXX wolves, TWO X bats")
@example("6-8 wolves, 1d4+1 orcs, 2d6 bats, 2D4 rats, d4 x, 1.5-2 ogres, a-2 bats, 12-345 x, é")
@example("0 \n")
@example("*fireball* **4 wolves** _shield_ __ogre__ ***x*** \\*no* a*b* *c*d")
def test_the_fast_patterns_find_what_the_reference_patterns_find(text: str) -> None:
    """Counts, emphasis and the count before a name are looked for with patterns written for
    the regex engine's fast scan (`_COUNT_DIGITS`, `_COUNT_WORDS`, `_STAR`, `_UNDERSCORE`, a
    count read backwards): they find exactly what the plain patterns (`_COUNT`, `_EMPHASIS`,
    `_COUNT_BEFORE`) find, which took most of a first reading's time."""
    counts = [(a, b, prose.parse_count(written)) for a, b, written in prose._counts(text)]
    assert counts == [
        (m.start(), m.end(), prose.parse_count(m["count"])) for m in prose._COUNT.finditer(text)
    ]
    # with the word after each count, as `_WORD` reads it there (what `_counted` looks up)
    words = [(a, b, written, prose._WORD.match(text, b).end()) for a, b, written in counts]  # type: ignore[union-attr]
    assert [
        (a, b, prose.parse_count(w), end) for a, b, w, end in prose._counts_with_words(text)
    ] == words
    low = prose._lowered(text)
    if low is not None:  # the lowered text as a first reading reads it (Latin-1 or not)
        assert [
            (a, b, prose.parse_count(w), end) for a, b, w, end in prose._counts_in(low)
        ] == words
    expected = []
    for m in prose._EMPHASIS.finditer(text):
        group = 1 if m[1] else 3
        expected.append((m.start(), m.end(), len(m[group]), m.start(group + 1), m[group + 1]))
    assert list(prose._emphases(text)) == expected
    for start in range(len(text) + 1):
        if text[start - 1 : start] == "\n":
            continue  # the reference's `$` matches before a last newline; no name follows one
        m = prose._COUNT_BEFORE.search(text, 0, start)
        before = None if m is None else (prose.parse_count(m["count"]), m.start())
        assert count_before(text, start) == before


SPANS = ["`code 2 wolves`", "``a ` b``", "{@spell fireball}", "{@creature wolf|x}", "<b>",
         "</i>", "<!-- 2 ogres -->", "[link](u (v))", "[[Wiki]]", "<https://x.y>", "http://a.b/c",
         "[r]", "*x*", "4 wolves", " ", "\r\n", "\n", "`", "{@", "<", "[", "://", "\u2028",
         "é"]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.sampled_from(SPANS), max_size=8).map("".join), max_size=8))
def test_spans_are_blanked_in_many_lines_as_in_each(lines: list[str]) -> None:
    """Code spans, tags, HTML and links are blanked in the new lines of a slice at once (no
    pattern matches across a newline): the same as line by line."""
    ends = ["\n", "", "\r\n"] * 3
    lines = [
        line.replace("\n", "") + end for line, end in zip(lines, ends[: len(lines)], strict=True)
    ]
    assert prose._blank_spans_of_lines(lines) == [prose._blank_spans_of_line(x) for x in lines]

    def blank(m: re.Match[str]) -> str:
        return " " * len(m[0])

    for line in lines:  # split and joined in C: what `re.sub` with a blank of each match makes
        plain = line.rstrip("\r\n")
        for pattern in (prose._INLINE_CODE, prose._TAG, prose._HTML, prose._LINK):
            plain = pattern.sub(blank, plain)
        assert prose._blank_spans_of_line(line) == plain


def test_number_words_in_any_case_the_patterns_match(names: ProseNames) -> None:
    """`re.I` matches "ſix" and "nıne" as number words: their counts are read, where they
    raised ValueError and every request reading the document's prose failed."""
    assert found("ſix wolves, nıne ogres and TWELVE bats", names) == [
        (0, "wolves", "count", "monsters/wolf", 6),
        (0, "ogres", "count", "monsters/ogre", 9),
        (0, "bats", "count", "monsters/bat", 12),
    ]


def test_plurals_are_read_by_the_shared_name_matching() -> None:
    assert singular_forms("dire wolves")[0] == "dire wolf"
    assert "giant spider" in singular_forms("giant spiders")
    assert "potion of healing" in singular_forms("potions of healing")
    assert "swarm of rats" in singular_forms("swarms of rats")
    assert singular_forms("fireball") == []


def test_other_names_as_prose_writes_them(names: ProseNames) -> None:
    """A creature the SRD splits into forms by its bare name, a renamed spell by the name in
    the books (`names.py`): what lookups and tags find, prose finds."""
    text = (
        "A **Vampire** waits; 4 werewolves and **2 wererats**. She casts *Mordenkainen's Sword*.\n"
        "**Vampire Spawn** and a **Vampire, Bat Form**."
    )
    assert found(text, names) == [
        (0, "Vampire", "bold", "monsters/vampire-vampire", 1),
        (0, "werewolves", "count", "monsters/werewolf-human", 4),
        (0, "wererats", "bold", "monsters/wererat-human", 2),
        (0, "Mordenkainen's Sword", "italic", "spells/arcane-sword", 1),
        (1, "Vampire Spawn", "bold", "monsters/vampire-spawn", 1),
        (1, "Vampire, Bat Form", "bold", "monsters/vampire-bat", 1),
    ]


def test_link_writes_the_entrys_name_keeping_the_other_name_written(app: App) -> None:
    text = "The vampire rises. A **Werewolf** and 2 wolves; *Bigby's Hand*.\n"
    linked, _, skipped = md.link_text(Resolver(app), text)
    assert linked == (
        "The {@creature vampire, vampire form||vampire} rises. "
        "A **{@creature werewolf, human form||Werewolf}** and 2 {@creature wolf||wolves}; "
        "*{@spell arcane hand||Bigby's Hand}*.\n"
    )
    assert skipped == []
    assert md.diagnostics(Resolver(app), TextDocument("file:///a.md", linked)) == []


def test_prose_names_are_never_diagnostics(app: App) -> None:
    resolver = Resolver(app)
    text = "The **goblinn** and 4 wargz; *firebal*; **goblin**, 2 wolves, *fireball*."
    doc = TextDocument("file:///c/a.md", text, version=1, language_id="markdown")
    assert md.diagnostics(resolver, doc) == []
    assert [r.entry.ref for r in find_prose(doc.lines, resolver.prose_names())] == [
        "monsters/goblin",
        "monsters/wolf",
        "spells/fireball",
    ]


def test_the_profile_decides_what_a_name_means(app2024: App) -> None:
    names = ProseNames.load(app2024.conn, app2024.profile)
    (ref,) = find_prose(["She opens a *bag of holding*."], names)
    assert ref.entry.qualified_ref == "srd-2024:magic-items/bag-of-holding"


# -- the walk of a document kept between its versions --------------------------------------------

BLOCKS = [
    "",
    "Scene 1: 4 wolves and **goblins**, she casts *fireball*.",
    "A {@creature wolf} and 2 ogres.\r\n",
    "---",
    "...",
    "===",
    "# A heading with 3 wolves",
    "```",
    "~~~~",
    "`````encounter",
    "<!-- 2 wolves",
    "--> then 5 wolves",
    "<!-- a whole comment --> and *shield*",
    "- 6 zombies in a list",
    "1. **Ogre**",
    "    4 bandits, indented",
    "\t*fireball* after a tab",
    "[ref]: https://example.com 2 wolves",
    "<div>3 wolves</div>",
    "Then 3 bats and *shield*.",
    "Then 3 bats and *shield*.",
    "Prose that opens <!-- a comment with 2 wolves",
    "Setext underlined next",
    "   ",
    "   ## An indented heading, 2 wolves",
    "    # code after a blank line, 2 wolves",
]


def assert_walk_is_fresh(walk: ProseWalk, lines: list[str], names: ProseNames) -> None:
    fresh = ProseWalk(lines, names)
    assert (walk.texts, walk.refs, walk.states) == (fresh.texts, fresh.refs, fresh.states)
    unkept = ProseWalk(lines, names, keep=False)  # runs of blank lines and headings seen before
    assert (unkept.texts, unkept.line_refs) == (fresh.texts, fresh.line_refs)
    one_by_one = mock.patch.object(prose, "_plain_run", lambda lines, n, end, comments=True: n)
    no_known_runs = mock.patch.object(names, "_plain", {})
    no_known_quiet = mock.patch.object(names, "_quiet", {})
    with one_by_one, no_known_runs, no_known_quiet:  # each line walked on its own: the same
        single = ProseWalk(lines, names)
    assert (single.texts, single.refs, single.states) == (fresh.texts, fresh.refs, fresh.states)
    assert list(walk.by_line()) == list(fresh.by_line())
    assert [(n, r) for n, on_line in walk.by_line() for r in on_line] == [
        (r.line, r._replace(line=0)) for r in walk.refs
    ]


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    start=st.lists(st.integers(0, len(BLOCKS) - 1), max_size=25),
    edits=st.lists(
        st.tuples(
            st.sampled_from(["insert", "delete", "replace", "append", "cut"]),
            st.integers(0, 30),
            st.integers(0, len(BLOCKS) - 1),
        ),
        max_size=10,
    ),
)
def test_a_walk_after_edits_equals_a_walk_from_scratch(
    names: ProseNames, start: list[int], edits: list[tuple[str, int, int]]
) -> None:
    """Random edits of block structure (fences, front matter, comments, setext headings,
    lists, indented code): the walk taken from the last version's finds what a walk of the
    document from scratch finds, line for line, and so does `find_prose`."""
    key = object()
    lines = [BLOCKS[i] for i in start]
    assert_walk_is_fresh(walk_prose(lines, names, key), lines, names)
    for op, where, what in edits:
        at = where % (len(lines) + 1)
        if op == "insert":
            lines.insert(at, BLOCKS[what])
        elif lines and op == "delete":
            del lines[at % len(lines)]
        elif lines and op == "replace":
            lines[at % len(lines)] = BLOCKS[what]
        elif lines and op == "append":
            lines[at % len(lines)] += " " + BLOCKS[what]
        elif op == "cut":
            lines = lines[:at]  # a view of the first lines only (inlay hints ask for those)
        assert_walk_is_fresh(walk_prose(lines, names, key), lines, names)
        assert find_prose(lines, names, key) == find_prose(lines, names)
        for n, line in enumerate(lines):  # what hover and definition find under the cursor
            for column in range(0, len(line), 3):
                at = prose_at(lines, names, n, column)
                assert prose_at(lines, names, n, column, key) == at


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    start=st.lists(st.integers(0, len(BLOCKS) - 1), max_size=25),
    rounds=st.lists(
        st.tuples(
            st.lists(
                st.tuples(
                    st.integers(0, 30),
                    st.integers(0, 3),
                    st.integers(0, 40),
                    st.lists(st.integers(0, len(BLOCKS) - 1), max_size=3),
                    st.booleans(),
                ),
                max_size=3,
            ),
            st.sampled_from(["walk", "walk", "reopen", "lines", "interleaved", "abandoned"]),
        ),
        max_size=8,
    ),
)
def test_a_walk_that_follows_the_documents_edits_equals_a_walk_from_scratch(
    names: ProseNames,
    start: list[int],
    rounds: list[tuple[list[tuple[int, int, int, list[int], bool]], str]],
) -> None:
    """The walk given the document (`walk_prose(…, doc=)`) takes what changed from the
    document's record of its edits instead of comparing lines: after random incremental
    changes (several between two walks, inside lines and across them, blocks of structure
    pasted), a document closed and opened again under the same key (its own count of edits
    starts again: not the walk's), or a walk without the document between, it finds what a
    walk from scratch finds. So do a walk left between its slices while another of the same
    document is made whole (a request between the slices of the shared document pass: the
    first puts its lines in the last walk's lists, the other copies them), and the walks after
    one left unfinished."""
    key = "file:///edited.md"
    text = "".join(BLOCKS[i] + "\n" for i in start)
    doc = LineDocument(key, text, version=1, language_id="markdown")
    assert_walk_is_fresh(walk_prose(doc.lines, names, key, doc), list(doc.lines), names)
    for changes, then in rounds:
        for line, end_lines, column, blocks, whole in changes:
            lines = doc.lines
            first = line % (len(lines) + 1)
            last = min(first + end_lines, len(lines))
            at = min(column, len(lines[first]) if first < len(lines) else 0)
            to = 0 if whole else min(column, len(lines[last]) if last < len(lines) else 0)
            new = "".join(BLOCKS[i] + "\n" for i in blocks)
            where = types.Range(types.Position(first, 0 if whole else at), types.Position(last, to))
            doc.apply_change(types.TextDocumentContentChangePartial(range=where, text=new))
        if then == "reopen":  # the same key, a new count of edits
            doc = LineDocument(key, doc.source, version=1, language_id="markdown")
            doc.apply_change(types.TextDocumentContentChangeWholeDocument(text=doc.source))
        if then == "lines":
            walk = walk_prose(list(doc.lines), names, key)
        elif then in ("interleaved", "abandoned"):
            with mock.patch.object(prose, "WALK_SLICE", 2):  # a step every other line
                steps = prose.walk_prose_steps(doc.lines, names, key, doc)
                lazy = None
                for _ in range(3):  # a few slices of it, then a request's walk
                    lazy = step(steps)
                    if lazy is not None:
                        break
                between = walk_prose(doc.lines, names, key, doc)
                assert_walk_is_fresh(between, list(doc.lines), names)
                walk = between
                if then == "interleaved":
                    while lazy is None:
                        lazy = step(steps)
                    walk = lazy
                    assert_walk_is_fresh(between, list(doc.lines), names)
        else:
            walk = walk_prose(doc.lines, names, key, doc)
        assert_walk_is_fresh(walk, list(doc.lines), names)


def step(steps: Generator[None, None, ProseWalk]) -> ProseWalk | None:
    """One step of a walk in steps: the walk once it is whole, else None."""
    try:
        next(steps)
    except StopIteration as done:
        return done.value
    return None


def test_a_walk_given_the_document_walks_only_what_its_edits_wrote(names: ProseNames) -> None:
    """Given the document, a walk follows its record of edits: a pasted block walks the block
    (and the line before it), an unchanged document nothing, and so after a walk of the same
    key without the document (its lines compared: none changed)."""
    key = "file:///record.md"
    doc = LineDocument(key, "\n".join(adventure(2000)) + "\n", version=1, language_id="markdown")
    find_prose(list(doc.lines), names, key)  # no document: its lines kept, compared next time
    assert walk_prose(doc.lines, names, key, doc).walked == 0
    block = "".join(f"Pasted {i}: {i % 5 + 2} wolves and *shield*.\n" for i in range(40))
    where = types.Range(types.Position(700, 0), types.Position(700, 0))
    doc.apply_change(types.TextDocumentContentChangePartial(range=where, text=block))
    walk = walk_prose(doc.lines, names, key, doc)
    assert walk.walked <= 42
    assert_walk_is_fresh(walk, list(doc.lines), names)
    assert walk_prose(doc.lines, names, key, doc).walked == 0


def test_fold_edits_covers_every_changed_line() -> None:
    """The edits of a document made in turn, folded into one: the lines before and after it
    are the same in the first text and the last."""
    rng = random.Random(7)
    for _ in range(2000):
        text = [f"line {i}" for i in range(rng.randrange(12))]
        first, edits = list(text), []
        for k in range(rng.randrange(4)):
            a = rng.randrange(len(text) + 1)
            b = rng.randrange(a, len(text) + 1)
            new = [f"new {k} {j}" for j in range(rng.randrange(3))]
            text[a:b] = new
            edits.append(Edit(a, b, a + len(new)))
        folded = fold_edits(len(first), edits)
        assert folded.start <= min(folded.old_end, folded.new_end)
        assert first[: folded.start] == text[: folded.start]
        assert first[folded.old_end :] == text[folded.new_end :]
        assert len(first) - folded.old_end == len(text) - folded.new_end


def adventure(size: int) -> list[str]:
    """A long document, every line different, with each kind of block now and then."""
    lines = []
    for i in range(size):
        if i % 100 == 0:
            lines += [f"## Part {i}", ""]
        elif i % 250 == 7:
            lines += ["```encounter", f"- {i % 9 + 1}: Wolf", "```"]
        else:
            lines.append(f"Scene {i}: {i % 7 + 2} wolves and **goblins**; *fireball* {i}.")
    return lines


def test_an_edit_walks_the_changed_lines_only(names: ProseNames) -> None:
    """A one-line edit of a 5,000-line document walks a line or two; one that opens a code fence
    walks every line after it (all of them change); refs after an inserted line move down."""
    lines = adventure(5000)
    assert 5000 < len(lines) < 5200
    key = "file:///long.md"
    first = walk_prose(lines, names, key)
    assert first.walked == len(lines)
    count = len(first.refs)
    assert count > 3 * 4900

    lines[2500] = "Scene 2500: 3 ogres instead."
    walk = walk_prose(lines, names, key)
    assert walk.walked <= 2
    assert len(walk.refs) == count - 3 + 1
    assert_walk_is_fresh(walk, lines, names)

    lines.insert(10, "A new line with 2 wolves.")
    walk = walk_prose(lines, names, key)
    assert walk.walked <= 2
    assert walk.refs[-1].line == len(lines) - 1
    assert_walk_is_fresh(walk, lines, names)

    del lines[3000]
    walk = walk_prose(lines, names, key)
    assert walk.walked <= 2
    assert_walk_is_fresh(walk, lines, names)

    assert walk_prose(lines, names, key).walked == 0  # the same text again

    lines.insert(4000, "```")  # code down to the next fence, which closes it now
    walk = walk_prose(lines, names, key)
    fence = lines.index("```encounter", 4001)
    assert fence - 4000 <= walk.walked <= fence - 4000 + 250  # up to the fence after it
    assert not [r for r in walk.refs if 4000 <= r.line <= fence]
    assert_walk_is_fresh(walk, lines, names)

    del lines[4000]  # and prose again
    assert walk_prose(lines, names, key).walked >= fence - 4000 - 1

    lines[0] = "---"  # front matter opened: never closed, so nothing is prose
    walk = walk_prose(lines, names, key)
    assert walk.refs == [] and walk.walked == len(lines)

    lines[1] = "---"  # closed at once: prose again from line 2
    walk = walk_prose(lines, names, key)
    assert walk.walked == len(lines)
    assert_walk_is_fresh(walk, lines, names)


def test_lines_that_move_keep_their_references(names: ProseNames) -> None:
    """A line inserted, deleted or pasted moves every line below it: their references are
    taken as they were (the same objects, by line), none is made again, and they are placed on
    their new lines only when asked. Placing thousands after every keystroke cost more than
    the diagnostics pass (`bench/references.py`: 45% of it for one line inserted)."""
    lines = adventure(5000)
    key = "file:///moves.md"
    first = walk_prose(lines, names, key)
    before = first.line_refs
    assert sum(map(len, before)) > 3 * 4900

    lines.insert(20, "A new line with 2 wolves.")
    walk = walk_prose(lines, names, key)
    assert walk.walked <= 2
    assert all(a is b for a, b in zip(walk.line_refs[21:], before[20:], strict=True))
    assert [(r.text, r.count) for r in walk.refs_on(20)] == [("wolves", 2)]
    assert walk.refs_on(20)[0].line == 20
    assert walk._refs is None  # nothing placed yet
    assert walk.refs[-1].line == len(lines) - 1
    assert_walk_is_fresh(walk, lines, names)

    del lines[20:23]
    walk = walk_prose(lines, names, key)
    assert walk.walked <= 2
    assert all(a is b for a, b in zip(walk.line_refs[20:], before[22:], strict=True))
    assert_walk_is_fresh(walk, lines, names)

    pasted = [f"Pasted {i}: {i % 5 + 2} ogres and *shield*." for i in range(40)]
    lines[100:100] = pasted
    walk = walk_prose(lines, names, key)
    assert walk.walked <= 42
    assert all(a is b for a, b in zip(walk.line_refs[140:], before[102:], strict=True))
    assert set(range(100, 140)) <= {n for n, _ in walk.by_line()}
    assert_walk_is_fresh(walk, lines, names)


def test_walks_are_kept_per_document_within_bounds(names: ProseNames) -> None:
    for i in range(prose.WALKS + 5):
        walk_prose([f"Doc {i}: 2 wolves."], names, f"file:///{i}.md")
    assert len(names._walks) == prose.WALKS
    assert "file:///0.md" not in names._walks
    assert walk_prose(["Doc 40: 2 wolves."], names, f"file:///{prose.WALKS + 4}.md").walked == 1
    assert walk_prose([f"Doc {prose.WALKS + 4}: 2 wolves."], names, "file:///x.md").walked == 1


def test_a_first_walk_can_stop_between_slices(names: ProseNames) -> None:
    """A long document's first walk is taken in steps of `WALK_SLICE` lines, so the daemon can
    answer a request in between (a 20 MB document walked in one go held every request for half
    a second); the walk in steps is the walk in one go, and it is kept only once it is whole."""
    lines = adventure(5000)
    key = "file:///steps.md"
    steps = prose.walk_prose_steps(lines, names, key)
    for _ in range(3):
        next(steps)
    assert key not in names._walks  # left unfinished: nothing kept
    taken = 3
    while (walk := step(steps)) is None:
        taken += 1
    assert taken >= len(lines) // prose.WALK_SLICE
    assert names._walks[key] is walk
    assert_walk_is_fresh(walk, lines, names)
    assert walk_prose(lines, names, key).walked == 0  # the kept walk serves the next version


# -- what a straightforward recogniser finds in a large realistic document -----------------------


def reference_find(norm: str, style: prose.Style, names: ProseNames) -> object:
    """The entry a name means, read plainly: as written in the style's collections, the likelier
    first, else each singular reading of it."""
    tables = [names._by_collection.get(c, {}) for c in prose.STYLE_COLLECTIONS[style]]
    for form in [norm, *singular_forms(norm)]:
        for table in tables:
            if form in table:
                return table[form]
    return None


def reference_line(text: str, names: ProseNames) -> list[tuple[object, ...]]:
    """The prose references of one line (spans blanked), found the plain way: the reference
    patterns (`_EMPHASIS`, `_COUNT`, `_COUNT_BEFORE`), a lookup per candidate, every run of
    words after a count tried from the longest."""
    refs: list[tuple[object, ...]] = []
    taken: list[tuple[int, int]] = []
    for m in prose._EMPHASIS.finditer(text):
        group = 1 if m[1] else 3
        markers, inner, name_start = len(m[group]), m[group + 1], m.start(group + 1)
        if len(inner) > prose.MAX_EMPHASIS or not inner.strip():
            continue
        styles: list[prose.Style] = (
            ["italic"] if markers == 1 else ["bold"] if markers == 2 else ["bold", "italic"]
        )
        count, name = None, inner
        if "bold" in styles:
            inside = prose._COUNT_INSIDE.match(inner)
            before = prose._COUNT_BEFORE.search(text, 0, m.start())
            if inside is not None:
                count = (prose.parse_count(inside["count"]), name_start)
                name_start, name = name_start + inside.end(), inner[inside.end() :]
            elif before is not None:
                count = (prose.parse_count(before["count"]), before.start())
            if name.rstrip().endswith((".", ":")):
                continue
        norm = normalize(name)
        for style in styles if norm else []:
            entry = reference_find(norm, style, names)
            if entry is not None and style == "bold" and entry.collection != "monsters":
                # a bold spell or item: italic when both ("***shield***"), and one word only
                # when capitalised ("**Bless**", not "the **darkness**")
                if len(styles) > 1:
                    continue
                if " " not in norm and not name.lstrip()[:1].isupper():
                    break
            if entry is not None:
                value, at = count if count and style == "bold" else (1, None)
                refs.append((name_start, name_start + len(name), name, style, entry, value, at))
                taken.append((m.start(), m.end()))
                break
    for m in prose._COUNT.finditer(text):
        if any(a <= m.start() < b for a, b in taken):
            continue
        words: list[re.Match[str]] = []
        for w in re.finditer(r"([^\W_][\w'’]*(?:-[^\W_][\w'’]*)*)([ \t]+|$)?", text[m.end() :]):
            if w.start() != sum(len(x[0]) for x in words):
                break
            words.append(w)
            if not w[2] or len(words) == names.longest_creature:
                break
        for size in range(len(words), 0, -1):
            joined = " ".join(normalize(w[1]) for w in words[:size])
            entry = reference_find(joined, "count", names) if joined.split() else None
            if entry is not None:
                start, end = m.end() + words[0].start(1), m.end() + words[size - 1].end(1)
                if not any(a < end and start < b for a, b in taken):
                    value = prose.parse_count(m["count"])
                    refs.append((start, end, text[start:end], "count", entry, value, m.start()))
                break
    return sorted(refs, key=lambda r: (r[0] if r[6] is None else r[6], r[1]))


def realistic_adventure(app: App, size: int, seed: int = 15) -> list[str]:
    """A long adventure as writers write them: the profile's names in bold, in italics, counted
    in digits and words, in the singular and the plural, often repeated; tags, links, code,
    headings, comments, lists, typographic quotes, non-Latin text and names that mean nothing."""
    rng = random.Random(seed)
    by = {c: [n for _, coll, n in queries.winner_names(app.conn, app.profile, [c]) if coll == c]
          for c in ("monsters", "spells", "magic-items")}  # fmt: skip
    common = {c: rng.sample(sorted(v), 12) for c, v in by.items()}

    def pick(c: str) -> str:
        return rng.choice(common[c] if rng.random() < 0.7 else by[c])

    def plural(name: str) -> str:
        return name + ("es" if name.endswith(("s", "x")) else "s")

    def count() -> str:
        return rng.choice(["2", "3", "4 x", "10", "two", "Three", "a dozen", "a pair of", "5 ×"])

    sentences = [
        "The **{M}** waits; {count} {ms} circle.",
        "She casts *{s}* and drinks _{I}_.",
        "Scene {d}: {count} {m} + 1 {M}.",
        "{count} **{Ms}** and ***{S}*** near {d} gp.",
        "**{count} {ms}**, **Guard.** Then *{I}*.",
        "See {{@creature {m}}} and [*{S}*](x.md) or `3 wolves`.",
        "It’s Ætherhold’s “*nonesuch spell*” — 3 naïve wolves, ſix ogres, 二 goblins.",
        "Two wolves Æ, 3 {ms} 二 wait, 2 ogres Æther ogres; **{count} {Ms}** and {count} ×{ms}.",
        "- {count} {Ms} in a list, *{S}* too",
        "A stone, often someone’s, *a very long italic sentence that names nothing at all here*.",
        "<span>{count} wolves</span> and <!-- 2 ogres --> **{M}**",
    ]

    def sentence() -> str:
        monster, creatures = pick("monsters"), plural(pick("monsters"))
        spell, item = pick("spells"), pick("magic-items")
        return rng.choice(sentences).format(
            M=monster, m=monster.lower(), Ms=creatures, ms=creatures.lower(), S=spell,
            s=spell.lower(), I=item, d=rng.randint(1, 99), count=count(),
        )  # fmt: skip

    lines: list[str] = []
    while len(lines) < size:
        roll = rng.random()
        if roll < 0.02:
            lines += [f"## {pick('monsters')} lair", ""]
        elif roll < 0.03:
            lines += ["```encounter", f"- 3: {pick('monsters')}", "```"]
        elif roll < 0.035:
            lines += ["<!--", f"{count()} {plural(pick('monsters'))}", "-->"]
        elif roll < 0.05:
            lines += ["", f"    {count()} ogres in code", ""]
        else:
            lines.append(sentence())
    return lines[:size]


def test_a_large_document_is_recognised_as_a_plain_reader_would(app: App) -> None:
    """Every prose reference of a 6,000-line realistic document, found by `find_prose` (a
    first reading with cold caches, a second with every line known, a walk kept by key and
    taken again after edits), is what a straightforward recogniser finds line by line: the
    fast patterns, memos and batched reading change nothing."""
    lines = realistic_adventure(app, 6000)
    names = ProseNames.load(app.conn, app.profile)
    expected = [
        (n, *ref) for n, text in prose.prose_lines(lines) for ref in reference_line(text, names)
    ]
    assert len(expected) > 6000
    assert len({r[5] for r in expected}) > 100  # many different entries
    assert {r[4] for r in expected} == {"bold", "italic", "count"}

    def got(refs: list[prose.ProseRef]) -> list[tuple[object, ...]]:
        return [
            (r.line, r.start, r.end, r.text, r.style, r.entry, r.count, r.count_start) for r in refs
        ]

    assert got(find_prose(lines, names)) == expected  # never seen
    assert got(find_prose(lines, names)) == expected  # every line seen before
    assert got(find_prose(lines, ProseNames.load(app.conn, app.profile), "k")) == expected
    key = "file:///realistic.md"
    assert got(find_prose(lines, names, key)) == expected
    lines.insert(3000, "Two **dire wolves** and *fireball*.")
    del lines[10]
    again = [
        (n, *ref) for n, text in prose.prose_lines(lines) for ref in reference_line(text, names)
    ]
    assert got(find_prose(lines, names, key)) == again


def test_lines_read_together_as_each_alone(app: App) -> None:
    """The new lines of a slice are read together; a line that holds a newline of its own (a
    client's text can) is read alone, as are the others then: the same references either way."""
    texts = ["2 wolves and *fireball*\r\n", "a\nb 3 ogres, **goblins**", "", "x 4 bats\n"]
    names, fresh = (ProseNames.load(app.conn, app.profile) for _ in range(2))
    alone = [fresh.refs_in_text(t) for t in texts]
    assert names.refs_in_texts(texts) == alone
    assert [len(refs) for refs in alone] == [2, 2, 0, 1]


@pytest.mark.parametrize(
    "line",
    [
        "2 wolves Æ and 2 wolves  Æ, 2 wolves\tÆ; 2 wolves Æther 3 ogres 二 4 bats _x 5 bats",
        "2 dire wolves Æ, 2 giant  spiders, 3 giant Æ spiders, 4 swarms of rats Æ 1 wolf-bat",
        "**2 wolves Æ** and 3 **ogres Æ**, *2 fireball* ***4 wolves*** **Wolf.** 2 wolves\n",
    ],
)
def test_words_after_a_count_as_a_plain_reader_reads_them(names: ProseNames, line: str) -> None:
    """A word with no letter a name keeps ("Æ", "二") after a count's name is read as the plain
    recogniser reads it, whatever space is before it."""
    found = [(r.start, r.end, r.text, r.style, r.entry, r.count, r.count_start)
             for r in names.refs_in_text(line)]  # fmt: skip
    assert found == reference_line(line.rstrip("\n"), names)


def test_a_count_before_a_longer_creature_name_counts_no_shorter_creature(app: App) -> None:
    """ "1 hobgoblin captain": a creature no pack has, neither counted as a hobgoblin nor linked
    as one; the longest name after a count wins ("3 giant spiders", "2 bandit captains"), and
    a name ends where a verb follows it ("1 goblin guards the door", "2 wolves guard it"). A
    job after the name is what the creature does: "2 kobold guards" are two kobolds, no
    guards (the SRD's Guard)."""
    resolver = Resolver(app)
    text = (
        "Barracks: 1 hobgoblin captain and 3 hobgoblins; kennel: 2 kobold guards.\n"
        "Pit: 3 giant spiders, 2 bandit captains; 1 goblin guards the door, 2 wolves guard it.\n"
    )
    assert found(text, resolver.prose_names()) == [
        (0, "hobgoblins", "count", "monsters/hobgoblin", 3),
        (0, "kobold", "count", "monsters/kobold", 2),
        (1, "giant spiders", "count", "monsters/giant-spider", 3),
        (1, "bandit captains", "count", "monsters/bandit-captain", 2),
        (1, "goblin", "count", "monsters/goblin", 1),
        (1, "wolves", "count", "monsters/wolf", 2),
    ]
    linked, _, _ = md.link_text(resolver, text)
    assert linked.splitlines()[0] == (
        "Barracks: 1 hobgoblin captain and 3 {@creature hobgoblin||hobgoblins}; "
        "kennel: 2 {@creature kobold} guards."
    )


def test_a_count_of_a_thing_the_creature_only_names_is_no_creatures(names: ProseNames) -> None:
    """After a count of more than one, a creature's name in the singular before a plural is
    whose the counted things are: "two Druid cantrips" (the SRD 2024's Druidic Warrior) and
    "a pair of bat wings" (the SRD 2014's Cloak of the Bat) count no druids and no bats, so no
    encounter; "2 kobold guards" are kobolds doing a job, and the plural's own name counts."""
    text = (
        "You learn two Druid cantrips; a pair of bat wings; four wolf pelts.\n"
        "2 kobold guards, a pair of bats, two druids, 3 wolves.\n"
    )
    assert found(text, names) == [
        (1, "kobold", "count", "monsters/kobold", 2),
        (1, "bats", "count", "monsters/bat", 2),
        (1, "druids", "count", "monsters/druid", 2),
        (1, "wolves", "count", "monsters/wolf", 3),
    ]


def test_link_leaves_a_longer_creature_like_run_alone(app: App) -> None:
    """ "a goblin boss", "an orc war chief", "Spider-centaurs": no pack has them, and they are
    no goblin, no orc, no spider; "the goblin guards the door" is one, and so are "the Drow
    guards" (a job the drow do: no guards)."""
    text = (
        "A goblin boss and an orc war chief lead them; the goblin guards the door.\n"
        "The Spider-centaurs wait; the Drow guards play; the kobold sentries sleep.\n"
    )
    linked, _, _ = md.link_text(Resolver(app), text)
    assert linked == (
        "A goblin boss and an orc war chief lead them; the {@creature goblin} guards the door.\n"
        "The Spider-centaurs wait; the {@creature drow} guards play; "
        "the {@creature kobold} sentries sleep.\n"
    )


def test_a_bold_creature_before_another_creatures_rank_is_none(names: ProseNames) -> None:
    """A bold creature's name followed by another creature's rank or kind, as a count's is
    ("a **bandit** captain", "a **hobgoblin** warlord", "4 **wolf** pelts"), names a creature
    no pack has, not the bold one; a job it does is no other creature ("2 **kobold** guards")."""
    text = "a **bandit** captain, a **hobgoblin** warlord, 4 **wolf** pelts, 2 **kobold** guards"
    assert found(text, names) == [(0, "kobold", "bold", "monsters/kobold", 2)]


def test_an_emphasis_inside_another_names_what_it_holds(names: ProseNames) -> None:
    """ "**_potion of healing_**", "__*fireball*__", "**_3 ogres_**": the name is what the inner
    markers hold (its columns too: the link keeps the markers outside the tag)."""
    line = "A **_potion of healing_**, __*fireball*__ and **_3 ogres_**."
    refs = find_prose([line], names)
    assert [(line[r.start : r.end], r.entry.ref, r.count) for r in refs] == [
        ("potion of healing", "magic-items/potion-of-healing", 1),
        ("fireball", "spells/fireball", 1),
        ("ogres", "monsters/ogre", 3),
    ]
    assert [line[r.span[0] : r.span[1]] for r in refs][2] == "3 ogres"
