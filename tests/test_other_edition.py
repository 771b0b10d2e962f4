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
    # the untagged one is the 2014 spell too (it was silent until the twenty-second session);
    # since the twenty-third, a document says so once, at its first spell tag, with the count
    problems = md.diagnostics(resolver, doc)
    assert [(p.code, p.range.start.character, p.severity) for p in problems] == [
        ("other-edition", 25, types.DiagnosticSeverity.Information),
    ]
    assert problems[0].message == (
        "the 2024 SRD (srd-2024, 5.10.0) has no spells: this is the 2014 SRD's Healing Word "
        "(srd-2014); 1 more tag(s) of spells in this document are the 2014 SRD's too"
    )
    (alone,) = md.diagnostics(resolver, TextDocument("file:///tmp/b.md", text[46:]))
    assert alone.message == NOTE.removesuffix(".")
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
    # a name the 2024 SRD has as a species and the 2014 SRD as a race is the 2024 species in a
    # 2024 profile (it was the 2014 race, with a note naming the species: found as a new user
    # looking up "human" in a 2024 campaign); the race is among those also named so
    elf = lookup(app2024, LookupParams(name="Elf"))
    assert (elf.entry.pack, elf.entry.collection, elf.note) == ("srd-2024", "species", None)
    assert [(a.pack, a.ref) for a in elf.also] == [("srd-2014", "races/elf")]
    race = lookup(app2024, LookupParams(name="Elf", collection="races"))
    assert race.note == (
        "This is the 2014 SRD's Elf (srd-2014); the 2024 SRD's is srd-2024:species/elf."
    )
    # the 2024 SRD's own entries and a lookup naming the pack: no note
    assert lookup(app2024, LookupParams(name="Grappled")).note is None
    asked = lookup(app2024, LookupParams(name="Healing Word", pack="srd-2014"))
    assert asked.note is None and asked.markdown.startswith("## Healing Word")


def test_a_2014_profile_says_nothing_of_the_2014_srd(app: App) -> None:
    assert lookup(app, LookupParams(name="Healing Word")).note is None
    assert lookup(app, LookupParams(name="Elf")).entry.collection == "races"  # the 2014 race


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


def test_a_2024_page_of_ordinary_tags_says_each_note_once(app2024: App) -> None:
    """A 2024 adventure page (5etools' style: spells `|XPHB`, creatures and items by name, a
    species) got an information diagnostic for every spell and creature tag the 2014 SRD
    answered: 11 on this page, each saying the same (13 with the two Elves). Now a note with
    nothing of the 2024 SRD to offer is said once a document per kind, at its first tag,
    counting the others; a tag the
    2024 SRD has another entry for (`{@race Elf}`: its Elf species) is still told at each, with
    its quick fix; the hover of any of them says which SRD answers it."""
    page = [
        "## Area 3: The Drowned Chapel",
        "",
        "Two {@creature Ghoul||ghouls} and a {@creature Ghast} guard the nave. The ghast casts",
        "{@spell Fog Cloud|XPHB} on its first turn; a {@creature Goblin} hides behind the",
        "altar with a {@item Potion of Healing|XDMG}. An {@race Elf} priest, if freed, casts",
        "{@spell Cure Wounds|XPHB} and {@spell Bless|XPHB} on the party.",
        "",
        "```",
        "{@spell Fireball} is code here, not a tag",
        "```",
        "",
        "**Treasure.** A scroll of {@spell Light} and a {@spell Shield|XPHB} ward. The",
        "{@creature Ghoul} in the crypt flees from {@spell Sacred Flame}; an {@race Elf}",
        "ghost ({@creature Ghost}) watches.",
    ]
    doc = TextDocument("file:///tmp/chapel.md", "\n".join(page))
    resolver = Resolver(app2024)
    problems = md.diagnostics(resolver, doc)
    said = [(p.range.start.line, p.message) for p in problems]
    assert [p.code for p in problems] == ["other-edition"] * 4
    assert said[0][0] == 2 and said[0][1].startswith(
        "The 2024 SRD (srd-2024, 5.10.0) has no 'Ghoul' among its monsters: this is the 2014 "
        "SRD's Ghoul (srd-2014); 4 more tag(s) of monsters in this document are the 2014 SRD's"
    )
    assert said[1][0] == 3 and said[1][1].startswith(
        "the 2024 SRD (srd-2024, 5.10.0) has no spells: this is the 2014 SRD's Fog Cloud "
        "(srd-2014); 5 more tag(s) of spells"
    )  # the fenced Fireball is code: not counted
    # each Elf is told where it stands: it may be meant for the 2024 species
    assert [line for line, message in said[2:]] == [4, 12]
    assert all("the 2024 SRD's is srd-2024:species/elf" in m for _, m in said[2:])
    # the potion is the 2024 SRD's own: nothing to say
    assert not any("Potion" in m for _, m in said)
    # a later tag's hover still says which SRD answers it
    hover = md.hover(resolver, doc, types.Position(12, 45))
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    assert "this is the 2014 SRD's Sacred Flame (srd-2014)" in hover.contents.value
    # `d5e check`'s pass (every problem shown) says the same once
    assert len(md.diagnostics(resolver, doc, cap=10_000)) == 4
