"""What a 2024 profile says when it answers with the 2014 SRD: 5e-database 5.10.0's 2024 SRD
has no spells, so `{@spell Healing Word|XPHB}` (as 5etools writes it) matched nothing and `d5e
lookup "Healing Word"` answered the 2014 spell without a word. The tag now resolves to the 2014
SRD's spell with an information diagnostic saying so; the hover and the lookup say it above the
card."""

from __future__ import annotations

from lsprotocol import types
from pygls.workspace import TextDocument

from d5e_daemon.app import App
from d5e_daemon.features import markdown as md
from d5e_daemon.features.lookup import lookup
from d5e_daemon.features.tags import Resolver
from d5e_daemon.protocol import LookupParams
from d5e_daemon.tagsyntax import tags_in_line

NOTE = (
    "The 2024 SRD (srd-2024, 5.10.0) has no spells: this is the 2014 SRD's Healing Word (srd-2014)."
)


def test_a_2024_spell_tag_is_the_2014_spell_and_says_so(app2024: App) -> None:
    resolver = Resolver(app2024)
    (tag,) = tags_in_line(0, "{@spell Healing Word|XPHB}")
    found = resolver.resolve(tag)
    assert found.row is not None and found.row.qualified_ref == "srd-2014:spells/healing-word"
    assert (found.code, found.message) == (
        "other-edition",
        "the 2024 SRD (srd-2024, 5.10.0) has no spells: this is the 2014 SRD's Healing Word "
        "(srd-2014)",
    )
    text = "The priest casts {@spell Healing Word|XPHB} and {@spell Healing Word}."
    doc = TextDocument("file:///tmp/a.md", text)
    # the untagged one says it too (it was silent): the 2014 spell in a 2024 profile
    problems = md.diagnostics(resolver, doc)
    assert [(p.code, p.range.start.character, p.severity) for p in problems] == [
        ("other-edition", 25, types.DiagnosticSeverity.Information),
        ("other-edition", 56, types.DiagnosticSeverity.Information),
    ]
    assert problems[1].message == NOTE.removesuffix(".")
    for column in (26, 55):  # either tag's hover says it above the card
        hover = md.hover(resolver, doc, types.Position(0, column))
        assert hover is not None and isinstance(hover.contents, types.MarkupContent)
        assert hover.contents.value.startswith(f"*{NOTE}*\n\n## Healing Word")
    # a spell that is nowhere is still unknown; a name the 2024 SRD has is its own, unsaid
    (tag,) = tags_in_line(0, "{@spell Healing Wordd|XPHB}")
    assert resolver.resolve(tag).code == "unknown-ref"
    (tag,) = tags_in_line(0, "{@condition Grappled|XPHB}")
    assert resolver.resolve(tag).code is None


def test_a_2024_lookup_answered_by_the_2014_srd_says_so(app2024: App) -> None:
    found = lookup(app2024, LookupParams(name="Healing Word"))
    assert found.entry.pack == "srd-2014" and found.note == NOTE
    assert found.markdown.startswith(f"*{NOTE}*\n\n## Healing Word")
    goblin = lookup(app2024, LookupParams(name="goblin"))  # the 2024 SRD has monsters
    assert goblin.note is not None and "has no 'Goblin' among its monsters" in goblin.note
    # the 2014 race ranks before the 2024 species of the same name: the note names that one
    elf = lookup(app2024, LookupParams(name="Elf"))
    assert (elf.entry.pack, elf.entry.collection) == ("srd-2014", "races")
    assert (
        elf.note == "This is the 2014 SRD's Elf (srd-2014); the 2024 SRD's is srd-2024:species/elf."
    )
    # the 2024 SRD's own entries and a lookup naming the pack: no note
    assert lookup(app2024, LookupParams(name="Grappled")).note is None
    asked = lookup(app2024, LookupParams(name="Healing Word", pack="srd-2014"))
    assert asked.note is None and asked.markdown.startswith("## Healing Word")


def test_a_2014_profile_says_nothing_of_the_2014_srd(app: App) -> None:
    assert lookup(app, LookupParams(name="Healing Word")).note is None


def test_a_2024_tag_naming_no_pack_answered_by_the_2014_srd_says_so(app2024: App) -> None:
    """`{@race Elf}` in a 2024 profile is the 2014 SRD's Elf race (a race tag's races rank
    before species), though the 2024 SRD has the Elf species: it was silent, and says so now,
    offering the 2024 one; so does any tag the 2024 SRD has nothing of that name for."""
    resolver = Resolver(app2024)
    text = "An {@race Elf}, a {@race Hill Dwarf}, a {@creature Goblin} and an {@race Elf|PHB}."
    doc = TextDocument("file:///tmp/a.md", text)
    problems = md.diagnostics(resolver, doc)
    assert [(p.code, p.severity, p.message) for p in problems] == [
        (
            "other-edition",
            types.DiagnosticSeverity.Information,
            "This is the 2014 SRD's Elf (srd-2014); the 2024 SRD's is srd-2024:species/elf",
        ),
        (
            "other-edition",
            types.DiagnosticSeverity.Information,
            "The 2024 SRD (srd-2024, 5.10.0) has no 'Hill Dwarf' among its subraces: this is "
            "the 2014 SRD's Hill Dwarf (srd-2014)",
        ),
        (
            "other-edition",
            types.DiagnosticSeverity.Information,
            "The 2024 SRD (srd-2024, 5.10.0) has no 'Goblin' among its monsters: this is the "
            "2014 SRD's Goblin (srd-2014)",
        ),
    ]  # `|PHB` asked for the 2014 race: nothing to say
    (elf,) = tags_in_line(0, "{@race Elf}")
    found = resolver.resolve(elf)
    assert found.row is not None and found.row.qualified_ref == "srd-2014:races/elf"
    (fix,) = found.fixes  # the 2024 species, which the quick fix writes
    assert fix.text == "{@race Elf|srd-2024}"
    (fixed,) = tags_in_line(0, fix.text)
    newer = resolver.resolve(fixed)
    assert newer.row is not None and newer.row.qualified_ref == "srd-2024:species/elf"
    assert newer.code is None
    hover = md.hover(resolver, doc, types.Position(0, 9))
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    assert hover.contents.value.startswith("*This is the 2014 SRD's Elf (srd-2014); the 2024")


def test_a_2014_profile_says_nothing_of_its_own_srd(app: App) -> None:
    doc = TextDocument("file:///tmp/a.md", "An {@race Elf} casts {@spell Fireball}.")
    assert md.diagnostics(Resolver(app), doc) == []
