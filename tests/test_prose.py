"""Names in prose without tags (`d5e_daemon/prose.py`): bold creatures, italic spells and items,
counted plurals, and everything that is not prose (code, headings, links, tags, HTML)."""

from __future__ import annotations

import pytest
from pygls.workspace import TextDocument

from d5e_daemon.app import App
from d5e_daemon.features import markdown as md
from d5e_daemon.features.tags import Resolver
from d5e_daemon.names import singular_forms
from d5e_daemon.prose import ProseNames, count_before, find_prose, prose_at


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


def test_plurals_are_read_by_the_shared_name_matching() -> None:
    assert singular_forms("dire wolves")[0] == "dire wolf"
    assert "giant spider" in singular_forms("giant spiders")
    assert "potion of healing" in singular_forms("potions of healing")
    assert "swarm of rats" in singular_forms("swarms of rats")
    assert singular_forms("fireball") == []


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
