"""The `{@tag name|pack|display}` syntax as written in prose: finding the tags of a line, and the
one table from tag names to the collections they refer to (`TAG_COLLECTIONS`).

Which entry a tag means is `features/tags.py`'s (`Resolver`); what a tag reads as on a card is
`tagtext.py`'s. This module depends on neither, so the campaign's scan can use it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from .tagtext import (
    NO_QUALIFIERS,
    PARTS,
    QUALIFIER_PARTS,
    Qualifiers,
    compose,
    qualifiers,
    source_part,
)
from .text import CODE_SPAN_SPLIT, blanked

# Tag names (matched case-insensitively) → the collections they refer to, the preferred first.
# The 5etools names, plus `monster`, `species` and `rule` for readers of the d5e collections.
TAG_COLLECTIONS: dict[str, tuple[str, ...]] = {
    "spell": ("spells",),
    "creature": ("monsters",),
    "monster": ("monsters",),
    "item": ("magic-items", "equipment", "poisons"),
    "condition": ("conditions",),
    "class": ("classes",),
    "subclass": ("subclasses",),
    "classfeature": ("features",),
    "race": ("races", "species"),
    "species": ("species", "races"),
    "subrace": ("subraces", "subspecies"),
    "trait": ("traits",),
    "feat": ("feats",),
    "background": ("backgrounds",),
    "skill": ("skills",),
    "language": ("languages",),
    "rule": ("rule-sections", "rules"),
    "variantrule": ("variant-rules", "rule-sections", "rules"),
    "itemmastery": ("weapon-mastery-properties",),
    "itemproperty": ("weapon-properties",),
    # every other 5etools tag naming an entry (5etools homebrew packs fill their collections;
    # completion offers them once a pack has)
    "subclassfeature": ("features",),
    "optfeature": ("optional-features",),
    "disease": ("diseases",),
    "status": ("statuses", "conditions"),
    "sense": ("senses",),
    "action": ("actions",),
    "table": ("tables",),
    "deity": ("deities",),
    "hazard": ("hazards", "traps"),
    "trap": ("traps", "hazards"),
    "object": ("objects",),
    "vehicle": ("vehicles",),
    "vehupgrade": ("vehicle-upgrades",),
    "reward": ("rewards",),
    "psionic": ("psionics",),
    "cult": ("cults",),
    "boon": ("boons",),
    "recipe": ("recipes",),
    "deck": ("decks",),
    "card": ("cards",),
    "legroup": ("legendary-groups",),
    "charoption": ("character-options",),
    "facility": ("facilities",),
    "itemtype": ("item-types",),
    "creaturefluff": ("monsters",),
    "racefluff": ("races", "species"),
    "cite": ("citations",),  # `{@cite Name|Source|*}`: a book's citation (5etools' page)
}

# Tags completion always offers; the others only when an installed pack has their entries.
ALWAYS_OFFERED = frozenset(list(TAG_COLLECTIONS)[: list(TAG_COLLECTIONS).index("itemproperty") + 1])

# The tag written for an entry of a collection: the first tag that lists it.
COLLECTION_TAG: dict[str, str] = {}
for _tag, _collections in TAG_COLLECTIONS.items():
    for _collection in _collections:
        COLLECTION_TAG.setdefault(_collection, _tag)
TAGGED_COLLECTIONS = tuple(COLLECTION_TAG)
# Language names are the names of peoples and creatures too ("Goblin", "Giant"): as a bare word
# in prose they seldom mean the language, so "link rules terms" never turns them into tags.
LINKED_COLLECTIONS = tuple(c for c in TAGGED_COLLECTIONS if c != "languages")

# 5etools tags that format text or roll dice: they refer to nothing and are left alone.
FORMAT_TAGS = frozenset(
    {
        "b", "bold", "i", "italic", "s", "strike", "u", "underline", "sup", "sub", "kbd",
        "code", "style", "font", "color", "highlight", "help", "note", "tip", "unit", "comic",
        "dice", "damage", "d20", "hit", "chance", "recharge", "dc", "dcyourspellsave",
        "scaledice", "scaledamage", "atk", "atkr", "h", "m", "hom", "actsave", "actsavefail",
        "actsavesuccess", "actsavesuccessorfail", "acttrigger", "actresponse", "coinflip",
        "autodice", "initiative", "filter", "link", "5etools", "footnote", "homebrew", "area",
        "skillcheck", "savingthrow", "ability", "quickref", "book", "adventure", "loader",
        "5etoolsimg", "hityourspellattack", "comich1", "comich2", "comich3", "comich4",
        "comicnote", "5etoolsaudio", "actsavefailby", "s2", "strikedouble", "u2",
        "underlinedouble", "crochet", "crochetfluff", "itementry",
    }
)  # fmt: skip

# `{@name rest}`: no braces or line breaks inside; nested tags are matched innermost first.
TAG_RE = re.compile(r"\{@([A-Za-z0-9][A-Za-z0-9]*)(?:[ \t]+([^{}\r\n]*))?\}")


TagKey = tuple[str, str, str | None, Qualifiers]
"""What a tag's meaning depends on: kind, name, pack and qualifiers (`Tag.key`)."""


@dataclass(frozen=True)
class Tag:
    """One tag on one line; columns are code points, `end` is after the closing brace."""

    line: int
    start: int
    end: int
    tag: str
    name: str
    name_start: int
    name_end: int
    pack: str | None = None
    display: str | None = None
    qualifiers: Qualifiers = NO_QUALIFIERS
    """What its other parts say about which same-named entry it means (class, level…)."""
    parts: tuple[str, ...] = field(default=(), compare=False, repr=False)
    """Its parts as written, the name's first (empty when made by hand)."""
    unclosed: bool = False
    """A `{@spell fireball` whose `}` never comes on its line (`unclosed_tags`): `end` is the
    end of the line's text, `name` what follows the tag name up to there (or up to a tag
    inside it), its one part all that follows the tag name."""

    @property
    def kind(self) -> str:
        return self.tag.lower()

    @property
    def key(self) -> TagKey:
        """What it means depends on these only: tags with the same key mean the same entry."""
        return (self.kind, self.name, self.pack, self.qualifiers)

    def rewritten(self, tag: str, name: str, quals: Qualifiers | None = None) -> str:
        """This tag's text with another tag name and entry name, and other qualifiers when
        given; its other parts kept (each where the new tag's layout keeps it)."""
        if tag.lower() == self.kind and len(self.parts) > 1:
            parts = [name, *self.parts[1:]]
            if quals is not None:
                for key, at in QUALIFIER_PARTS.get(self.kind, {}).items():
                    value = getattr(quals, key)
                    if at < len(parts) or value:
                        parts += [""] * (at + 1 - len(parts))
                        parts[at] = value
            return "{@" + tag + " " + "|".join(parts) + "}"
        if tag.lower() in PARTS or self.kind in PARTS:
            return compose(tag, name, self.pack, quals or NO_QUALIFIERS, self.display)
        parts = [name, *([self.pack or ""] if self.pack is not None or self.display else [])]
        if self.display is not None:
            parts.append(self.display)
        return "{@" + tag + " " + "|".join(parts) + "}"


def tags_in_line(line_no: int, line: str) -> list[Tag]:
    """The reference tags of one line (formatting tags such as `{@b …}` left out)."""
    return list(iter_tags(line_no, line))


def iter_tags(line_no: int, line: str, start: int = 0) -> Iterator[Tag]:
    """The reference tags of one line from column `start`, one at a time (a 20 MB line holds
    hundreds of thousands: work on it can stop after any of them)."""
    for m in TAG_RE.finditer(line, start):
        if m[1].lower() in FORMAT_TAGS:
            continue
        rest = m[2] or ""
        rest_start = m.start(2) if m[2] is not None else m.end(1)
        name_part, *others = rest.split("|")
        stripped = name_part.strip()
        name_start = rest_start + len(name_part) - len(name_part.lstrip())
        _, display_at = PARTS.get(m[1].lower(), (1, 2))
        parts = [name_part, *others]
        pack = source_part(m[1].lower(), parts) or None
        display = parts[display_at] if len(parts) > display_at else None
        yield Tag(
            line=line_no,
            start=m.start(),
            end=m.end(),
            tag=m[1],
            name=stripped,
            name_start=name_start,
            name_end=name_start + len(stripped),
            pack=pack,
            display=display,
            qualifiers=qualifiers(m[1].lower(), parts),
            parts=tuple(parts),
        )


_CLOSED = re.compile(r"(\{[^{}\r\n]*\})")
_OPENING = re.compile(r"\{@([A-Za-z0-9]+)")
_NAME_ENDS = re.compile(r"[{`]")
_NESTING = 8
"""Tags inside tags inside… closed at most this deep are told apart; deeper is hostile text."""
UNCLOSED_PER_LINE = 20
"""Unclosed tags told of a line: each holds the rest of its line (what its fix rewrites), so a
line of `{@b ` × 200,000 held 200,000 copies of it (1 MB: 22 GB, `d5e check` killed)."""
UNCLOSED_REST = 64 * 1024
"""At most this much of the rest of the line is an unclosed tag's (its range and its fix)."""


def unclosed_tags(line_no: int, line: str) -> list[Tag]:
    """The tags of one line that open (`{@spell fireball`) and are never closed on it, outside
    code spans: a tag ends on its own line, so what follows is prose to the reader and the
    tag refers to nothing. Closed braces are blanked innermost first (`{@b {@spell x}}`
    closes both), a step per level, in C; what is left of an opening is unclosed."""
    text = line.rstrip("\r\n")
    if "`" in text:
        text = blanked(CODE_SPAN_SPLIT, 2, text)
    for _ in range(_NESTING):
        if "{@" not in text:
            return []
        inner = blanked(_CLOSED, 1, text)
        if inner == text:
            break
        text = inner
    line_end = len(line.rstrip())
    found: list[Tag] = []
    for m in _OPENING.finditer(text):
        if len(found) == UNCLOSED_PER_LINE:
            break
        rest_start = m.end()
        end = min(line_end, rest_start + UNCLOSED_REST)
        cut = _NAME_ENDS.search(line, rest_start, end)  # at a tag or a code span inside it
        rest = line[rest_start : end if cut is None else cut.start()]
        name = rest.strip()
        name_start = rest_start + len(rest) - len(rest.lstrip())
        found.append(
            Tag(
                line=line_no,
                start=m.start(),
                end=end,
                tag=m[1],
                name=name,
                name_start=name_start,
                name_end=name_start + len(name),
                parts=(line[rest_start:end],),  # the rest of the line: what a fix rewrites
                unclosed=True,
            )
        )
    return found


def find_tags(lines: Sequence[str]) -> list[Tag]:
    return [tag for i, line in enumerate(lines) if "{@" in line for tag in tags_in_line(i, line)]


def tag_at(lines: Sequence[str], line: int, column: int) -> Tag | None:
    if line >= len(lines):
        return None
    return next((t for t in tags_in_line(line, lines[line]) if t.start <= column < t.end), None)
