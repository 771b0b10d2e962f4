"""Rules references written in prose: the 5etools tag syntax and what each tag refers to.

`{@spell fireball}`, `{@creature goblin|srd-2014|the goblin}`: a tag name, the entry's name, then
optionally the pack it must come from (or, as 5etools writes it, the SRD book: `|PHB`, `|XPHB`)
and the text to display. The syntax and the table from tag names to collections are in
`tagsyntax.py` (re-exported here); `Resolver` answers, with a cache, which entry a reference
means or what is wrong with it (unknown tag, unknown name with suggestions, disabled pack).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from rapidfuzz import fuzz, process

from .. import names, queries
from ..app import App
from ..errors import NotFound
from ..matching import collection_rank, match_names
from ..prose import ProseNames
from ..protocol import TagForParams, TagForResult
from ..refs import parse_ref
from ..tagsyntax import (
    ALWAYS_OFFERED,
    COLLECTION_TAG,
    FORMAT_TAGS,
    LINKED_COLLECTIONS,
    TAG_COLLECTIONS,
    TAG_RE,
    TAGGED_COLLECTIONS,
    Tag,
    TagKey,
    find_tags,
    iter_tags,
    tag_at,
    tags_in_line,
    unclosed_tags,
)
from ..tagtext import QUALIFIER_PARTS, Link, Qualifiers, coded_name, compose
from ..text import normalize, slugify

__all__ = [
    "ALWAYS_OFFERED",
    "COLLECTION_TAG",
    "FORMAT_TAGS",
    "LINKED_COLLECTIONS",
    "TAGGED_COLLECTIONS",
    "TAG_COLLECTIONS",
    "TAG_RE",
    "Resolution",
    "Resolver",
    "Tag",
    "find_tags",
    "iter_tags",
    "tag_at",
    "tag_for",
    "tag_for_entry",
    "tag_for_found",
    "tag_for_row",
    "tags_in_line",
    "unclosed_tags",
]

# 5etools writes a tag's source as its book's abbreviation: those of the books the SRD comes from
# mean the SRD pack of that edition (other books are not in the SRD: their abbreviation stays
# a pack id, unknown unless a pack has it).
FIVETOOLS_SOURCES = {
    "phb": "srd-2014",
    "mm": "srd-2014",
    "dmg": "srd-2014",
    "xphb": "srd-2024",
    "xmm": "srd-2024",
    "xdmg": "srd-2024",
}
SRD_PACKS = frozenset(FIVETOOLS_SOURCES.values())

SUGGESTIONS = 3
CACHE_SIZE = 50_000
"""Resolutions a Resolver keeps (a long document repeats its references)."""
LINE_CACHE_LINES = 100_000
LINE_CACHE_CHARS = 32 * 2**20
"""Lines whose problems a Resolver keeps, and their text at most (a 20 MB document fits)."""


# -- resolution -------------------------------------------------------------------------------

ProblemCode = Literal[
    "unknown-tag", "unknown-ref", "unknown-pack", "disabled-pack", "empty-ref", "alias",
    "unclosed-tag", "other-edition",
]  # fmt: skip
"""What is wrong with a reference; `alias` is no problem but a note: the tag names an entry by
another name ("Mordenkainen's Sword" for the SRD's Arcane Sword), and resolves; so is
`other-edition`: the tag's source is an SRD with nothing of the kind (`{@spell Healing
Word|XPHB}`: 5e-database 5.10.0's 2024 SRD has no spells), and it resolves to the other SRD's."""


@dataclass(frozen=True)
class Fix:
    """A replacement that would make the reference resolve: tag name and entry name (or the
    whole tag's `text`, when other parts change: the class of a class feature)."""

    tag: str
    name: str
    label: str
    text: str | None = None


@dataclass(frozen=True)
class Resolution:
    """The entry a reference means, or what is wrong with it."""

    row: queries.EntryRow | None = None
    code: ProblemCode | None = None
    message: str = ""
    fixes: tuple[Fix, ...] = ()
    partial: bool = False
    """An unknown reference whose "did you mean" was not looked for yet."""
    elsewhere: queries.EntryRow | None = None
    """The entry it names in a pack the profile does not enable (`disabled-pack`)."""
    once: str | None = None
    """A note a document tells once, at its first tag of this key (`DiagnosticsPass`): a 2024
    profile answering with the 2014 SRD's spells, where the 2024 SRD has none of that name
    (told per tag, the spells of a page would each say the same)."""


@dataclass(frozen=True)
class LineProblems:
    """The problems of one line's reference tags, kept by the line's text so that a document
    read again after an edit resolves only its changed lines (`DiagnosticsPass`): how many
    there are, and the first of them with their tag (at line 0) and full resolution ("did you
    mean" included): all of them, unless the per-document cap cut the line short."""

    count: int
    found: tuple[tuple[Tag, Resolution], ...]
    notes: tuple[tuple[Tag, Resolution], ...] = ()
    """Its tags whose resolution a document tells once (`Resolution.once`): not counted."""


@dataclass(frozen=True)
class KnownName:
    """A name that `link rules terms` may turn into a tag."""

    tags: frozenset[str]
    name: str
    entries: int = 1
    """How many entries it names (an alias two entries share names both)."""

    @property
    def ambiguous(self) -> bool:
        return len(self.tags) > 1 or self.entries > 1


def _what(tag: Tag) -> str:
    """What the tag names, for messages: "spell", "class feature", "optional feature"."""
    return _WHAT.get(tag.kind) or tag.kind.replace("feature", " feature")


_WHAT = {
    "optfeature": "optional feature", "variantrule": "variant rule", "legroup": "legendary group",
    "vehupgrade": "vehicle upgrade", "charoption": "character option", "itemmastery":
    "weapon mastery property", "itemproperty": "item property", "itemtype": "item type",
}  # fmt: skip


@dataclass
class Resolver:
    """Resolves references against one App's profile. Call `clear()` when packs or settings
    change: answers are cached, since a long document repeats the same references."""

    app: App
    _cache: dict[TagKey, Resolution] = field(default_factory=dict)
    _unsuggested: dict[TagKey, Resolution] = field(default_factory=dict)
    """Unknown references whose "did you mean" is not found yet (`suggest=False`)."""
    _names: dict[str, KnownName] | None = None
    _longest: int = 1
    _prose: ProseNames | None = None
    _languages: frozenset[str] | None = None
    _npcs: frozenset[str] | None = None
    _bonus_bases: dict[str, str] | None = None
    _offered: list[str] | None = None
    _sections: dict[str, tuple[str, queries.EntryRow]] | None = None
    _lines: dict[str, LineProblems] = field(default_factory=dict)
    _line_chars: int = 0
    generation: int = 0
    """How many times the answers were forgotten (`clear`): what was kept of a document's
    lines by an older generation is to be read again (`doclines.py`)."""

    def clear(self) -> None:
        self.generation += 1
        self._cache.clear()
        self._unsuggested.clear()
        self._lines.clear()
        self._line_chars = 0
        self._names = None
        self._offered = None
        self._prose = None
        self._languages = None
        self._npcs = None
        self._bonus_bases = None
        self._sections = None

    def offered_tags(self) -> list[str]:
        """The tag names completion offers: the common ones, and each other 5etools tag once
        an installed pack has entries of its own collection (its first, when no common tag
        names that collection already)."""
        if self._offered is None:
            conn = self.app.conn
            common = {c for t in ALWAYS_OFFERED for c in TAG_COLLECTIONS[t]}
            self._offered = [
                tag
                for tag, collections in TAG_COLLECTIONS.items()
                if tag in ALWAYS_OFFERED
                or (collections[0] not in common and queries.has_collection(conn, collections[0]))
            ]
        return self._offered

    def prose_names(self) -> ProseNames:
        """The names prose may use without tags in this profile (see `prose.py`)."""
        if self._prose is None:
            self._prose = ProseNames.load(self.app.conn, self.app.profile)
        return self._prose

    def line_problems(self, text: str) -> LineProblems | None:
        """What `remember_line` kept of a line with this text (None: look at it)."""
        return self._lines.get(text)

    def remember_line(self, text: str, problems: LineProblems) -> None:
        """Keep a line's problems until packs or settings change (`clear`), within bounds."""
        if text not in self._lines:
            if len(self._lines) >= LINE_CACHE_LINES or self._line_chars > LINE_CACHE_CHARS:
                self._lines.clear()
                self._line_chars = 0
            self._line_chars += len(text)
        self._lines[text] = problems

    def knows(self, tag: Tag) -> bool:
        """Whether `tag`'s resolution is cached (resolving it again costs nothing)."""
        return tag.key in self._cache

    def entry_id(self, tag: Tag) -> int | None:
        """The id of the entry `tag` means, or None (the campaign's question)."""
        row = self.resolve(tag).row
        return None if row is None else row.id

    def resolve(self, tag: Tag, *, suggest: bool = True) -> Resolution:
        """What `tag` refers to. With `suggest=False` an unknown reference that is not cached
        yet comes back without its "did you mean" (the costly part), `partial`."""
        if tag.unclosed:
            return self._unclosed(tag)
        key = tag.key
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        unsuggested = self._unsuggested.get(key)
        if unsuggested is not None and not suggest:
            return unsuggested
        if unsuggested is not None:  # known to be unknown: only the suggestions are left
            resolution = self._unknown_ref(tag, _what(tag), TAG_COLLECTIONS[tag.kind])
        else:
            resolution = self._resolve(tag, suggest)
        if len(self._cache) + len(self._unsuggested) >= CACHE_SIZE:
            self._cache.clear()  # a document of endless new references must not grow it
            self._unsuggested.clear()
        if resolution.partial:
            self._unsuggested[key] = resolution
        else:
            self._cache[key] = resolution
            self._unsuggested.pop(key, None)
        return resolution

    def _unclosed(self, tag: Tag) -> Resolution:
        """A tag never closed on its line (`unclosed_tags`), and the fix that closes it after
        the most words of what follows that name an entry, when some do: `{@spell fireball at
        them.` → `{@spell fireball} at them.`."""
        opened = "{@" + tag.tag + (" " + tag.name if tag.name else "")
        message = f'tag "{_shortened(opened)}" is not closed: a tag ends with "}}" on its line'
        words = list(_WORD_ENDS.finditer(tag.name))[:UNCLOSED_WORDS]
        if tag.kind in FORMAT_TAGS or tag.kind not in TAG_COLLECTIONS:
            words = []  # a format tag holds any text: where it ends is the writer's to say
        rest = tag.parts[0] if tag.parts else ""
        offset = tag.name_start - (tag.start + 2 + len(tag.tag))  # the name's place in `rest`
        for word in reversed(words):
            end = offset + word.end()
            closed = next(iter_tags(0, "{@" + tag.tag + rest[:end] + "}"), None)
            if closed is not None and self.resolve(closed, suggest=False).row is not None:
                text = "{@" + tag.tag + rest[:end] + "}" + rest[end:]
                fix = Fix(tag=tag.tag, name=closed.name, label=closed.name, text=text)
                hint = f'; did you mean "{_shortened("{@" + tag.tag + rest[:end] + "}")}"?'
                return Resolution(code="unclosed-tag", message=message + hint, fixes=(fix,))
        return Resolution(code="unclosed-tag", message=message)

    def _pack(self, tag: Tag) -> str | None:
        """The pack a tag's second part names, in any case: a pack's id, original source id
        or abbreviation (a 5etools homebrew's `|MyBrew`, `|MB`), else the SRD pack of a
        5etools source of its books (`{@spell fireball|PHB}` as 5etools writes it)."""
        if tag.pack is None:
            return None
        found = queries.packs_by_source(self.app.conn, tag.pack)
        if len(found) > 1:  # an abbreviation several packs give: the one holding the name
            collections = TAG_COLLECTIONS.get(tag.kind) or ()
            for pack in found:
                if names.find(self.app.conn, tag.name, collections, pack=pack) is not None:
                    return pack
        if found:
            return found[0]
        return FIVETOOLS_SOURCES.get(tag.pack.lower(), tag.pack)

    def _resolve(self, tag: Tag, suggest: bool) -> Resolution:
        collections = TAG_COLLECTIONS.get(tag.kind)
        if collections is None:
            return _unknown_tag(tag)
        if tag.kind == "class" and tag.qualifiers.subclass:
            return self._subclass_of_class(tag, suggest)
        found = self._resolve_name(tag, collections, suggest)
        if found.row is None and found.code == "unknown-ref":
            for reading in _other_readings(tag) + self._bonus_item_readings(tag):
                row = self.resolve(reading, suggest=False).row
                if row is not None:
                    return self._said_edition(tag, Resolution(row=row))
            row = self._srd_reading(tag)
            if row is not None:
                return self._said_edition(tag, Resolution(row=row))
            other = self._other_edition(tag, collections)
            if other is not None:
                return other
        return self._said_edition(tag, found)

    def _said_edition(self, tag: Tag, found: Resolution) -> Resolution:
        """A tag naming no pack that a 2024 profile answers with the 2014 SRD's entry says so,
        as `{@spell Healing Word|XPHB}` does (`edition_note`): `{@race Elf}` is the 2014 race
        (the race tag's races rank before species) where the 2024 SRD has the Elf species,
        offered as `{@race Elf|srd-2024}`; `{@spell Fireball}` the 2014 spell, the 2024 SRD
        having no spells. A tag naming its pack (`|PHB`, `|srd-2014`) asked for it."""
        if found.row is None or found.code is not None or tag.pack is not None:
            return found
        note = edition_note(self.app, found.row)
        if note is None:
            return found
        own = _newer_entry(self.app, found.row)
        fixes = found.fixes
        once: str | None = found.row.collection  # nothing of the 2024 SRD: once a document
        if own is not None:  # the 2024 SRD's Elf species: each tag may be meant for it
            text = compose(tag.tag, tag.name, own.pack, tag.qualifiers, tag.display)
            fixes, once = (Fix(tag=tag.tag, name=tag.name, label=own.name, text=text),), None
        message = note.rstrip(".")
        return replace(found, code="other-edition", message=message, fixes=fixes, once=once)

    def _other_edition(self, tag: Tag, collections: tuple[str, ...]) -> Resolution | None:
        """`{@spell Healing Word|XPHB}` where the 2024 SRD has no spells at all (5e-database
        5.10.0): the 2014 SRD's Healing Word, with a note saying so (and the other way
        round); None when the tag's SRD has entries of the kind, or the other has none of
        the name."""
        pack = self._pack(tag) if tag.pack is not None else None
        if pack not in SRD_PACKS:
            return None
        conn = self.app.conn
        if any(queries.pack_has_collection(conn, pack, c) for c in collections):
            return None
        other = min(SRD_PACKS - {pack})
        if other not in queries.profile_packs(conn, self.app.profile):
            return None
        found = names.find(conn, tag.name, collections, pack=other)
        rows = rank(found.rows, tag.kind, tag.qualifiers)[0] if found is not None else []
        if not rows:
            return None
        row = min(rows, key=lambda r: collections.index(r.collection))
        stored = queries.get_pack(conn, pack)
        version = f", {stored.version}" if stored is not None and stored.version else ""
        words = row.collection.replace("-", " ")
        return Resolution(
            row=row,
            code="other-edition",
            message=f"the {pack[-4:]} SRD ({pack}{version}) has no {words}: this is the "
            f"{other[-4:]} SRD's {row.name} ({other})",
            once=row.collection,
        )

    def _srd_reading(self, tag: Tag) -> queries.EntryRow | None:
        """What the SRD has where no pack has the entry a 5etools tag names: a heading inside
        its rule sections (`{@action Dash}`), an equipment category (`{@itemType M}`: "Melee
        Weapons"). A source of the SRD's books reads the SRD of either edition:
        `{@variantrule Falling|XPHB}` where the 2024 SRD has no rule sections is the 2014's."""
        if tag.kind not in SECTION_KINDS and tag.kind != "itemtype":
            return None
        if tag.pack is not None and self._pack(tag) not in SRD_PACKS:
            return None
        if tag.kind != "itemtype":
            section = self.sections().get(normalize(tag.name))
            return None if section is None else section[1]
        name = coded_name(tag.kind, tag.name)
        for reading in (name, f"{name}s"):
            found = names.find(
                self.app.conn, reading, ("equipment-categories",), profile_id=self.app.profile
            )
            if found is not None:
                return found.rows[0]
        return None

    def sections(self) -> dict[str, tuple[str, queries.EntryRow]]:
        """The headings inside the profile's rule sections → the section holding each:
        5etools' `{@action Dash}` or `{@sense darkvision}` where no pack has actions or senses
        is the SRD's "Dash" of "Actions in Combat", "Darkvision" of "The Environment".
        Each normalised heading → the heading as written and its section."""
        if self._sections is None:
            self._sections = {}
            for row in queries.winner_rows(self.app.conn, self.app.profile, SECTION_COLLECTIONS):
                for heading in _headings(json.loads(row.data_json)):
                    self._sections.setdefault(normalize(heading), (heading, row))
        return self._sections

    def _bonus_item_readings(self, tag: Tag) -> list[Tag]:
        """5etools' `{@item +1 longsword|DMG}` names a concrete item of a generic variant; the
        SRD has the variant: "Weapon, +1" (2014), "Weapon +1" (2024), armor, shields and
        ammunition alike, told by the base item's equipment categories."""
        m = _BONUS_ITEM.fullmatch(tag.name) if tag.kind == "item" else None
        if m is None:
            return []
        pack = self._pack(tag)
        app = self.app
        base = names.find(
            app.conn, m[2], ("equipment",), profile_id=None if pack else app.profile, pack=pack
        )
        if base is None:
            return []
        data = _data(base.rows[0])
        fields = ("equipment_category", "equipment_categories", "gear_category")
        cats = set().union(*(_names_of(data.get(f)) for f in fields))
        kinds = [kind for kind, words in _BONUS_KINDS if any(w in c for w in words for c in cats)]
        return [
            replace(tag, name=f"{kind}{comma} +{m[1]}", parts=())
            for kind in kinds[:1] + (["Armor"] if kinds[:1] == ["Shield"] else [])
            for comma in (",", "")
        ]

    def _resolve_name(self, tag: Tag, collections: tuple[str, ...], suggest: bool) -> Resolution:
        what = _what(tag)
        norm = normalize(tag.name)
        if not norm:
            return Resolution(code="empty-ref", message=f"{{@{tag.tag}}} names no {what}")
        app = self.app
        enabled = queries.profile_packs(app.conn, app.profile)
        pack = self._pack(tag)
        if pack is not None:
            if queries.get_pack(app.conn, pack) is None:
                fixes = self._without_pack(tag, collections)
                said = [fix_text(tag, f) for f in fixes]
                hint = f"; did you mean {_either(said)}?" if said else ""
                return Resolution(
                    code="unknown-pack",
                    message=f"pack {pack!r} is not installed{hint}",
                    fixes=fixes,
                )
            found = names.find(app.conn, tag.name, collections, pack=pack)
            if found is not None and pack not in enabled:
                return Resolution(
                    code="disabled-pack",
                    message=f"pack {pack} is not enabled in this profile "
                    f"({app.profile}, edition {app.settings.edition})",
                    elsewhere=found.rows[0],
                )
        else:
            found = names.find(app.conn, tag.name, collections, profile_id=app.profile)
            if found is None and tag.kind == "subclass":
                # `Life Domain` where the profile's SRD says `Life` (the 2014 SRD's short
                # names; the 2024 SRD's whole ones): that subclass, not another pack's
                worded = self._subclass_in_words(tag)
                if len(worded) == 1:
                    row = self.resolve(replace(tag, name=worded[0].label), suggest=False).row
                    if row is not None:
                        return _called(tag, row)
            if found is None:
                anywhere = names.find(app.conn, tag.name, collections)
                elsewhere = sorted({r.pack for r in anywhere.rows} if anywhere else ())
                if anywhere and elsewhere:
                    return Resolution(
                        code="disabled-pack",
                        message=f"{what} {tag.name!r} is only in {', '.join(elsewhere)}, "
                        f"not enabled in this profile ({app.profile}, edition "
                        f"{app.settings.edition})",
                        elsewhere=min(anywhere.rows, key=lambda r: r.pack),
                    )
        if found is not None:
            rows, ruled_out = rank(found.rows, tag.kind, tag.qualifiers)
            if not rows:
                return _ruled_out(tag, what, ruled_out)
            row = min(rows, key=lambda r: collections.index(r.collection))
            if found.how != "alias" or _is_short_name(row, tag.name):
                return Resolution(row=row)
            return _called(tag, row)  # a declared alias
        if not suggest:
            where = f" in pack {pack}" if pack else ""
            return Resolution(
                code="unknown-ref", message=f"unknown {what} {tag.name!r}{where}", partial=True
            )
        return self._unknown_ref(tag, what, collections)

    def _subclass_of_class(self, tag: Tag, suggest: bool) -> Resolution:
        """`{@class Fighter|PHB|Champion|Champion}` means the Fighter's Champion subclass."""
        sub = replace(
            tag,
            tag="subclass",
            name=tag.qualifiers.subclass,
            qualifiers=Qualifiers(cls=tag.name),
            parts=(),
        )
        found = self.resolve(sub, suggest=suggest)
        if found.row is not None or found.code != "unknown-ref":
            return found
        if suggest:  # the class's subclass the name says in other words, first
            found = replace(found, fixes=(*self._subclass_in_words(sub), *found.fixes))
        fixes = tuple(
            Fix(
                tag=tag.tag,
                name=tag.name,
                label=f"{tag.name}: {fix.label}",
                text=tag.rewritten(tag.tag, tag.name, Qualifiers(subclass=fix.label)),
            )
            for fix in found.fixes
            if fix.tag == sub.tag and fix.text is None
        ) + tuple(fix for fix in found.fixes if fix.text is not None)
        unique: dict[str, Fix] = {}  # a fix once (one in words, one by its spelling)
        for fix in fixes:
            unique.setdefault(fix_text(tag, fix), fix)
        fixes = tuple(unique.values())
        hint = f"; did you mean {_either([fix_text(tag, f) for f in fixes])}?" if fixes else ""
        message = found.message.split("; did you mean")[0]
        return replace(found, message=f"{message} (of class {tag.name}){hint}", fixes=fixes)

    def _subclass_in_words(self, sub: Tag) -> list[Fix]:
        """The profile's subclasses of the tag's class whose name is the written one with
        words fewer or more: `Life` for `Life Domain` (the 2014 SRD's short names), `Path of
        the Berserker` for `Berserker` (the 2024 SRD's whole ones)."""
        written = set(normalize(sub.name).split())
        out = []
        for norm, _, name in queries.winner_names(self.app.conn, self.app.profile, ("subclasses",)):
            words = set(norm.split())
            fewer = min(words, written, key=len)
            if not (words < written or written < words) or not fewer - _SMALL:
                continue  # not the same name in fewer words (`of`, `the` alone are none)
            if self.resolve(replace(sub, name=name), suggest=False).row is not None:
                out.append(Fix(tag=sub.tag, name=norm, label=name))
        return sorted(out, key=lambda f: f.label)[:SUGGESTIONS]

    def _unknown_ref(self, tag: Tag, what: str, collections: tuple[str, ...]) -> Resolution:
        app = self.app
        # The right name under the wrong tag ({@spell goblin}) first, then close names.
        pack = self._pack(tag)
        other = names.find(
            app.conn,
            tag.name,
            TAGGED_COLLECTIONS,
            profile_id=app.profile if pack is None else None,
            pack=pack,
        )
        elsewhere = other.rows if other is not None else []
        elsewhere.sort(key=lambda r: collection_rank(r.collection))
        rows: list[tuple[str, str]] = [(r.collection, r.name) for r in elsewhere]
        rows += [
            (m.row.collection, m.row.name)
            for m in match_names(
                app, tag.name, collections=list(collections), pack=pack, limit=SUGGESTIONS
            )
        ]
        if tag.kind in SECTION_KINDS and pack is None:  # "Dahs": the heading "Dash"
            sections = self.sections()
            close = process.extract(
                normalize(tag.name), list(sections), scorer=fuzz.ratio, score_cutoff=75, limit=2
            )
            rows += [(collections[0], sections[norm][0]) for norm, _, _ in close]
        fixes = tuple(
            Fix(
                tag=tag.tag if collection in collections else COLLECTION_TAG[collection],
                name=name.lower(),
                label=name,
            )
            for collection, name in dict.fromkeys(rows)
        )[:SUGGESTIONS]
        if pack is not None:  # {@spell fireball|ashen-hills}: the profile's Fireball, first
            fixes = (*self._without_pack(tag, collections), *fixes)[:SUGGESTIONS]
        where = f" in pack {pack}" if pack else ""
        hint = f"; did you mean {_either([fix_text(tag, f) for f in fixes])}?" if fixes else ""
        return Resolution(
            code="unknown-ref", message=f"unknown {what} {tag.name!r}{where}{hint}", fixes=fixes
        )

    def language_names(self) -> frozenset[str]:
        """The normalised names of the profile's languages ("goblin", "deep speech"): what
        prose names after "speaks" is a language, not the creature or race named so."""
        if self._languages is None:
            rows = queries.winner_names(self.app.conn, self.app.profile, ("languages",))
            self._languages = frozenset(norm for norm, _, _ in rows)
        return self._languages

    def npc_names(self) -> frozenset[str]:
        """The normalised one-word names of the profile's creatures of any race ("guard",
        "noble", "bandit", "spy": the SRD's nonplayer characters), words of trades and ranks
        that prose also uses for what is no creature ("bandit attacks", "noble cut")."""
        if self._npcs is None:
            self._npcs = frozenset(
                norm
                for (norm,) in self.app.conn.execute(
                    """
                    SELECT e.norm_name FROM entry e JOIN resolved r ON r.entry_id = e.id
                        AND r.profile_id = (SELECT id FROM profile WHERE name = ?)
                    WHERE e.collection = 'monsters' AND instr(e.norm_name, ' ') = 0
                      AND lower(json_extract(e.data, '$.subtype')) = 'any race'
                    """,
                    (self.app.profile,),
                )
            )
        return self._npcs

    def bonus_bases(self) -> dict[str, str]:
        """The normalised names of the profile's weapons and armor → "weapon", "armor" or
        "shield": what a magic bonus is written with ("+1 longsword", "Chain Mail +2", "+1
        shield"), the magic item "Weapon, +1", "Armor +2", "Shield +1" being meant. A weapon
        is equipment with damage (`damage`; 5etools' `dmg1`, Open5e's `damage_dice`), an
        armor equipment with an armor class (`armor_class`; 5etools' `ac`), a shield one of
        those named or categorised so."""
        if self._bonus_bases is None:
            bases: dict[str, str] = {}
            for norm, weapon, armor, kind in self.app.conn.execute(
                """
                SELECT e.norm_name,
                       coalesce(e.data -> '$.damage', e.data -> '$.dmg1',
                                e.data -> '$.damage_dice') IS NOT NULL,
                       coalesce(e.data -> '$.armor_class', e.data -> '$.ac') IS NOT NULL,
                       lower(coalesce(e.data ->> '$.armor_category', e.data ->> '$.type', ''))
                FROM entry e JOIN resolved r ON r.entry_id = e.id
                    AND r.profile_id = (SELECT id FROM profile WHERE name = ?)
                WHERE e.collection = 'equipment'
                """,
                (self.app.profile,),
            ):
                if weapon:
                    bases[norm] = "weapon"
                elif armor:
                    shield = kind in ("shield", "s") or norm.split()[-1:] == ["shield"]
                    bases[norm] = "shield" if shield else "armor"
            self._bonus_bases = bases
        return self._bonus_bases

    def _without_pack(self, tag: Tag, collections: tuple[str, ...]) -> tuple[Fix, ...]:
        """The tag without its pack part, when the profile has the name as written."""
        if names.find(self.app.conn, tag.name, collections, profile_id=self.app.profile) is None:
            return ()
        text = replace(tag, pack=None, parts=()).rewritten(tag.tag, tag.name)
        return (Fix(tag=tag.tag, name=tag.name, label=tag.name, text=text),)

    def known_names(self) -> tuple[dict[str, KnownName], int]:
        """Every winner's normalised name → the tags it could get; and the most words in one."""
        if self._names is None:
            tags: dict[str, set[str]] = {}
            spelled: dict[str, str] = {}
            named: list[tuple[str, str, str]] = []  # (norm, tag, name) of names and aliases
            for norm, collection, name in queries.winner_names(
                self.app.conn, self.app.profile, LINKED_COLLECTIONS
            ):
                tags.setdefault(norm, set()).add(COLLECTION_TAG[collection])
                spelled.setdefault(norm, name)
                named.append((norm, COLLECTION_TAG[collection], name))
            # The other names after them (a name wins): "the vampire" is "Vampire, Vampire
            # Form", written as its tag with the words as written (`link_edits`).
            meant: dict[str, set[tuple[str, str]]] = {}
            for norm, entry in names.give_way(
                queries.winner_aliases(self.app.conn, self.app.profile, LINKED_COLLECTIONS)
            ):
                kind = COLLECTION_TAG[entry.collection]
                named.append((norm, kind, entry.name))
                if norm not in tags:
                    meant.setdefault(norm, set()).add((kind, entry.name))
            # Then each in its other spellings, as a lookup reads them ("grey ooze": Gray Ooze)
            spelt: dict[str, set[tuple[str, str]]] = {}
            for norm, kind, name in named:
                for form in names.spelling_forms(norm):
                    if form not in tags and form not in meant:
                        spelt.setdefault(form, set()).add((kind, name))
            meant.update(spelt)
            self._names = {n: KnownName(frozenset(t), spelled[n]) for n, t in tags.items()}
            for norm, found in meant.items():
                kinds = frozenset(kind for kind, _ in found)
                self._names[norm] = KnownName(kinds, min(found)[1], len(found))
            self._longest = max((len(n.split()) for n in self._names), default=1)
        return self._names, self._longest


# Tags that may name a part of the rules text rather than an entry (5etools has entries for
# them; the SRD has them as headings inside its rule sections).
SECTION_KINDS = frozenset({"action", "sense", "status", "variantrule", "rule"})
SECTION_COLLECTIONS = ("rule-sections", "rules")
_HEADING = re.compile(r"^#{2,6}[ \t]+(.+?)[ \t#]*$", re.MULTILINE)


def _headings(value: Any) -> list[str]:
    """The Markdown headings (`## …` to `###### …`) in a record's texts."""
    if isinstance(value, str):
        return _HEADING.findall(value) if "#" in value else []
    if isinstance(value, dict):
        return [h for v in value.values() for h in _headings(v)]
    if isinstance(value, list):
        return [h for v in value for h in _headings(v)]
    return []


_BONUS_ITEM = re.compile(r"\+([1-3])\s+(.+)")
# The SRD's generic bonus items, by the words of the base item's categories (first match).
_BONUS_KINDS = (("Shield", ("shield",)), ("Ammunition", ("ammunition",)),
                ("Weapon", ("weapon",)), ("Armor", ("armor",)))  # fmt: skip
_PARENTHESISED = re.compile(r"(.+?)\s*\((.+)\)")
# The SRD's names of the features 5etools keeps as optional features (`{@optfeature Agonizing
# Blast|PHB}` is the SRD's "Eldritch Invocation: Agonizing Blast").
_OPTIONAL_FEATURE_KINDS = ("Eldritch Invocation", "Fighting Style", "Metamagic")


def _other_readings(tag: Tag) -> list[Tag]:
    """What a tag naming nothing by its name may mean as 5etools writes it for the SRD's
    entries: a race tag a subrace, an optional feature tag the SRD's feature of that kind, an
    item property's or type's code its name, a version's name (`Magic Initiate; Cleric`) the
    entry it is a version of."""
    if tag.kind in ("race", "species"):
        return _subrace_readings(tag)
    if coded_name(tag.kind, tag.name) != tag.name:  # `{@itemProperty T|XPHB}`: Thrown
        return [replace(tag, name=coded_name(tag.kind, tag.name), parts=())]
    if tag.kind == "optfeature":
        return [
            replace(tag, tag="classfeature", name=f"{kind}: {tag.name}", parts=())
            for kind in _OPTIONAL_FEATURE_KINDS
        ]
    if ";" in tag.name:  # a 5etools version, `Magic Initiate; Cleric` (XPHB): the entry it is of
        return [replace(tag, name=tag.name.split(";", 1)[0].strip(), parts=())]
    return []


def _subrace_readings(tag: Tag) -> list[Tag]:
    """What a race tag naming no race may mean: a subrace by that name ("Hill Dwarf"), or as
    5etools names them, "Race (Subrace)": the SRD's "Hill Dwarf", a 5etools subrace "Hill"
    of the race "Dwarf"."""
    readings = [replace(tag, tag="subrace", parts=())]
    if m := _PARENTHESISED.fullmatch(tag.name):
        race, sub = m[1].strip(), m[2].strip()
        readings.append(replace(tag, tag="subrace", name=f"{sub} {race}", parts=()))
        readings.append(
            replace(tag, tag="subrace", name=sub, qualifiers=Qualifiers(group=race), parts=())
        )
    return readings


def fix_text(tag: Tag, fix: Fix) -> str:
    """What a fix would write: the whole tag, or only the name when the tag name stays."""
    if fix.text is not None:
        return fix.text
    return tag.rewritten(fix.tag, fix.name) if fix.tag != tag.tag else fix.name


_SMALL = frozenset({"a", "an", "of", "the"})


# -- qualified references: which of same-named entries a tag's other parts mean ---------------

# The record fields that say an entry's class, subclass and group (the SRD's and 5etools'
# `class`, `subclass`; a deity's `pantheon`, a card's deck, a subrace's race). A record without
# them is matched by its slug ("fighter-…", "deck-of-flames-spark"), else not ruled out.
_FIELDS: dict[str, tuple[str, ...]] = {
    "cls": ("class",),
    "subclass": ("subclass", "short_name"),
    "group": ("pantheon", "deck", "set", "race"),
}
_TRAILING_NUMBER = re.compile(r"(\d+)\s*$")


def _names_of(value: Any) -> set[str]:
    """The normalised names a field holds: "Fighter", `{"index", "name"}`, or a list."""
    if isinstance(value, str):
        return {normalize(value)} - {""}
    if isinstance(value, dict):
        return _names_of(value.get("name")) | _names_of(value.get("index"))
    if isinstance(value, list):
        return set().union(*(_names_of(v) for v in value))
    return set()


def _level_of(value: Any) -> int | None:
    """A level field: 5, "5", or the SRD 2024's `{"index": "fighter-5", "name": "Fighter 5"}`."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and (m := _TRAILING_NUMBER.search(value)):
        return int(m[1])
    if isinstance(value, dict):
        return _level_of(value.get("name")) or _level_of(value.get("index"))
    return None


def _data(row: queries.EntryRow) -> dict[str, Any]:
    try:
        data = json.loads(row.data_json)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _says(row: queries.EntryRow, data: dict[str, Any], key: str, wanted: str) -> bool | None:
    """Whether an entry has this class / subclass / group (None: it does not say)."""
    names: set[str] = set().union(*(_names_of(data.get(f)) for f in _FIELDS[key]))
    want = normalize(wanted)
    if names:
        if key == "subclass":  # the short name "Soot" is "Path of Soot"'s
            return any(f" {want} " in f" {n} " for n in names)
        return want in names
    if key == "subclass" and _names_of(data.get("class")):
        return False  # a feature of the class itself, not of one of its subclasses
    prefix = slugify(wanted) + "-"
    return True if prefix != "-" and row.slug.startswith(prefix) else None


def rank(
    rows: Sequence[queries.EntryRow], kind: str, quals: Qualifiers
) -> tuple[list[queries.EntryRow], list[queries.EntryRow]]:
    """Same-named entries a tag may mean, best first by what its qualifiers say (class,
    subclass and group must not differ; the level is preferred), and those they rule out."""
    if not quals:
        return list(rows), []
    kept: list[tuple[int, queries.EntryRow]] = []
    out: list[queries.EntryRow] = []
    for row in rows:
        data = _data(row)
        score = 0
        for key in ("cls", "subclass", "group"):
            wanted = getattr(quals, key)
            says = _says(row, data, key, wanted) if wanted else None
            if says is False:
                out.append(row)
                break
            score += 4 if says else 0
        else:
            level = _level_of(data.get("level"))
            if quals.level and level is not None and str(level) == quals.level.strip():
                score += 2
            if kind == "classfeature" and not _names_of(data.get("subclass")):
                score += 1
            kept.append((score, row))
    kept.sort(key=lambda t: -t[0])
    return [row for _, row in kept], out


# the 2024 SRD's collections named otherwise than the 2014 SRD's
_NEWER_COLLECTION = {"races": "species", "subraces": "subspecies"}


def _newer_entry(app: App, row: queries.EntryRow) -> queries.EntryRow | None:
    """The 2024 SRD's entry of the 2014 SRD entry's name and kind (the Elf species of the
    Elf race), or None."""
    collection = _NEWER_COLLECTION.get(row.collection, row.collection)
    own = names.find(app.conn, row.name, [collection], pack="srd-2024")
    return own.rows[0] if own is not None else None


def edition_note(app: App, row: queries.EntryRow) -> str | None:
    """What to say when a profile of edition 2024 answers with the 2014 SRD's entry (the 2014
    SRD stands below the 2024 one there): what the 2024 SRD lacks, and which entry this is.
    5e-database 5.10.0's 2024 SRD has no spells: `Healing Word` is the 2014 spell."""
    if app.settings.edition != "2024" or row.pack != "srd-2014":
        return None
    newer = queries.get_pack(app.conn, "srd-2024")
    if newer is None:
        return None
    words = row.collection.replace("-", " ")
    collection = _NEWER_COLLECTION.get(row.collection, row.collection)
    if not queries.pack_has_collection(app.conn, "srd-2024", collection):
        lacks = f"has no {words}"
    else:
        mine = _newer_entry(app, row)
        if mine is not None:  # `Elf`: the 2014 race ranks before the 2024 species
            return (
                f"This is the 2014 SRD's {row.name} (srd-2014); the 2024 SRD's is "
                f"{mine.qualified_ref}."
            )
        lacks = f"has no {row.name!r} among its {words}"
    return (
        f"The 2024 SRD (srd-2024, {newer.version}) {lacks}: "
        f"this is the 2014 SRD's {row.name} (srd-2014)."
    )


def _called(tag: Tag, row: queries.EntryRow) -> Resolution:
    """The entry a tag means by another name than the one its pack calls it: say so, and
    offer its name."""
    fix = Fix(tag=tag.tag, name=row.name.lower(), label=row.name)
    return Resolution(
        row=row,
        code="alias",
        message=f"{tag.name} is called {row.name} in {row.pack}",
        fixes=(fix,),
    )


def _is_short_name(row: queries.EntryRow, name: str) -> bool:
    """Whether `name` is what 5etools' tags call a subclass ("Soot" for "Path of Soot"): an
    alias that needs no note."""
    short = _data(row).get("short_name")
    return isinstance(short, str) and normalize(short) == normalize(name)


def _shown(value: Any) -> str:
    """A field's name as its pack writes it."""
    if isinstance(value, dict):
        value = value.get("name") or value.get("index")
    if isinstance(value, list) and value:
        return _shown(value[0])
    return str(value) if isinstance(value, str | int) and not isinstance(value, bool) else ""


def row_qualifiers(row: queries.EntryRow, kind: str) -> Qualifiers:
    """What a tag of `kind` writes to mean this entry among same-named ones."""
    data = _data(row)
    group = next((_shown(data[f]) for f in _FIELDS["group"] if data.get(f)), "")
    level = _level_of(data.get("level"))
    quals = Qualifiers(
        cls=_shown(data.get("class")),
        subclass=_shown(data.get("subclass")),
        level="" if level is None else str(level),
        group=group,
    )
    return Qualifiers(**{key: getattr(quals, key) for key in QUALIFIER_PARTS.get(kind, {})})


def _whose(quals: Qualifiers, kind: str) -> str:
    """What qualifiers say, for messages: "Fighter", "Fighter (Champion)", "pantheon Ember"."""
    if quals.group:
        return f"{'deck' if kind == 'card' else 'pantheon'} {quals.group}"
    if quals.subclass:
        return f"{quals.cls} ({quals.subclass})" if quals.cls else quals.subclass
    return quals.cls


def _ruled_out(tag: Tag, what: str, rows: list[queries.EntryRow]) -> Resolution:
    """A tag whose class (subclass, pantheon, deck) has no entry of its name, while others
    have: which have it, and the tag rewritten for each as fixes."""
    level = tag.qualifiers.level
    theirs: dict[str, Qualifiers] = {}
    for row in rows:
        quals = row_qualifiers(row, tag.kind)
        quals = replace(quals, level=quals.level if level else "")
        theirs.setdefault(_whose(quals, tag.kind) or row.pack, quals)
    fixes = tuple(
        Fix(tag=tag.tag, name=tag.name, label=whose,
            text=tag.rewritten(tag.tag, tag.name, replace(tag.qualifiers, **_set(quals))))
        for whose, quals in sorted(theirs.items())
    )[:SUGGESTIONS]  # fmt: skip
    wanted = _whose(tag.qualifiers, tag.kind)
    hint = f"; did you mean {_either([fix_text(tag, f) for f in fixes])}?" if fixes else ""
    return Resolution(
        code="unknown-ref",
        message=f"no {what} {tag.name!r} of {wanted}; there is one of {_and(sorted(theirs))}{hint}",
        fixes=fixes,
    )


UNCLOSED_WORDS = 8
"""Words after an unclosed tag's name tried as its name, the most first (`_unclosed`)."""
_WORD_ENDS = re.compile(r"[^\s.,;:!?]+(?:[.,;:!?]+[^\s.,;:!?]+)*")
"""Words, each with the punctuation inside it ("Tasha's", "St. Ives" is two) and none after."""


def _shortened(text: str, most: int = 60) -> str:
    return text if len(text) <= most else text[: most - 1] + "…"


def _set(quals: Qualifiers) -> dict[str, str]:
    return {k: v for k, v in vars(quals).items() if v}


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _either(options: list[str]) -> str:
    quoted = [f'"{o}"' for o in options]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]


def _unknown_tag(tag: Tag) -> Resolution:
    close = process.extract(tag.kind, list(TAG_COLLECTIONS), scorer=fuzz.ratio, limit=2)
    fixes = tuple(
        Fix(tag=name, name=tag.name, label=name) for name, score, _ in close if score >= 60
    )
    hint = f"; did you mean {_either(['@' + f.tag for f in fixes])}?" if fixes else ""
    return Resolution(code="unknown-tag", message=f"unknown tag @{tag.tag}{hint}", fixes=fixes)


def tag_for(collection: str, name: str, pack: str | None = None) -> str | None:
    """The tag that refers to an entry: `{@spell fireball}` (`{@spell fireball|my-brew}` with a
    pack); None for collections no tag refers to."""
    kind = COLLECTION_TAG.get(collection)
    if kind is None:
        return None
    return "{@" + kind + " " + name.lower() + (f"|{pack}" if pack else "") + "}"


def tag_for_row(app: App, row: queries.EntryRow, pack: str | None = None) -> str | None:
    """`tag_for` an entry found, with the parts that tell it from the same-named entries of
    the profile where its tag has them: `{@classfeature extra attack|Fighter||5}`."""
    kind = COLLECTION_TAG.get(row.collection)
    if kind not in QUALIFIER_PARTS:
        return tag_for(row.collection, row.name, pack)
    same = queries.winners_by_norm_name(
        app.conn, app.profile, normalize(row.name), TAG_COLLECTIONS[kind]
    )
    if all(r.id == row.id for r in same):
        return tag_for(row.collection, row.name, pack)
    if kind == "classfeature" and _names_of(_data(row).get("subclass")):
        kind = "subclassfeature"
    return compose(kind, row.name.lower(), pack, row_qualifiers(row, kind))


def tag_for_found(app: App, pack: str, ref: str, name: str) -> str | None:
    """`tag_for_row` of an entry found by completion or search (`ref`: `collection/slug`);
    its record is read only where its tag may need qualifiers."""
    collection, _, slug = ref.partition("/")
    if COLLECTION_TAG.get(collection) not in QUALIFIER_PARTS:
        return tag_for(collection, name)
    row = queries.entry_in_pack(app.conn, pack, collection, slug)
    return tag_for(collection, name) if row is None else tag_for_row(app, row)


def tag_for_entry(app: App, params: TagForParams) -> TagForResult:
    """`d5e/tagFor`: what an editor inserts for an entry it found (a search hit, a pick).

    The pack is written into the tag only when the entry would not win without it."""
    pack, collection, slug = parse_ref(params.ref)
    winners = queries.entries_for_ref(app.conn, app.profile, collection, slug)
    row = (
        queries.entry_in_pack(app.conn, pack, collection, slug)
        if pack
        else (winners[0] if winners else None)
    )
    if row is None:
        raise NotFound(f"no entry with ref {params.ref}")
    pinned = bool(winners) and winners[0].pack != row.pack
    text = tag_for_row(app, row, row.pack if pinned else None)
    return TagForResult(
        ref=row.ref,
        pack=row.pack,
        name=row.name,
        collection=row.collection,
        text=text or row.name,
        tag=COLLECTION_TAG.get(row.collection),
    )


def card_links(app: App) -> Link:
    """`link(tag, name, source, qualifiers)` for `tagtext.render`: the `d5e:` URI of the entry
    a reference in a card means (as a tag in a document would resolve it), or None."""
    resolver = Resolver(app)

    def link(kind: str, name: str, source: str | None, quals: Qualifiers) -> str | None:
        if kind not in TAG_COLLECTIONS:
            return None
        end = len(name)
        tag = Tag(line=0, start=0, end=end, tag=kind, name=name, name_start=0, name_end=end,
                  pack=source, qualifiers=quals)  # fmt: skip
        row = resolver.resolve(tag, suggest=False).row
        if row is None and kind == "class" and quals.subclass:
            # a subclass part naming none (`{@class cleric|phb|Life|Life Domain}`, the SRD's is
            # "Life"): 5etools' link opens the class's page all the same; the source the tag
            # gives is the subclass's (`{@class Bard||College of Discord|Discord|XLNEE}` of a
            # pack without it): the class of the profile, then
            for pack in dict.fromkeys((source, None)):
                plain = replace(tag, qualifiers=Qualifiers(), pack=pack)
                row = row or resolver.resolve(plain, suggest=False).row
        return f"d5e://{row.pack}/{row.collection}/{row.slug}.md" if row else None

    return link
