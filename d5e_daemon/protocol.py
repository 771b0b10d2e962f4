"""The wire contract: custom method names and their params/result types.

Params are decoded with msgspec: unknown fields are rejected, and a wrong value is reported
as `-32602` with msgspec's message, which names the JSON path (`... - at $.limit`).
"""

from __future__ import annotations

import difflib
import re
from typing import Annotated, Any, Literal, TypeVar

import msgspec
from msgspec import Meta

from . import locate
from .errors import InvalidParams
from .packformat import control_character, control_message
from .records import Base, Pack, PackProblem, Source

LOOKUP = "d5e/lookup"
COMPLETE = "d5e/complete"
STATUS = "d5e/status"
DOCUMENT = "d5e/document"
TAG_FOR = "d5e/tagFor"
PACKS_LIST = "d5e/packs/list"
PACKS_INSTALL = "d5e/packs/install"
PACKS_ENABLE = "d5e/packs/enable"
PACKS_DISABLE = "d5e/packs/disable"
PACKS_REMOVE = "d5e/packs/remove"
PACKS_VALIDATE = "d5e/packs/validate"
PACKS_SET_PRIORITY = "d5e/packs/setPriority"
PACKS_CREATE = "d5e/packs/create"
PACKS_UPLOAD = "d5e/packs/upload"
PACKS_CHANGED = "d5e/packsChanged"
"""Notification, both ways. The daemon sends `{packs: [ids], warnings: [...]}` to its client after
any change of packs (so editors refresh); a client may send it to the daemon after changing packs
by other means (the CLI), and the daemon re-reads its profile and re-publishes diagnostics."""
SEARCH = "d5e/search"
SEARCH_FILTERS = "d5e/search/filters"
REFERENCES = "d5e/references"
STAT_BLOCK = "d5e/statBlock"
RESOLVE_TAGS = "d5e/resolveTags"
ENCOUNTER = "d5e/encounter"

# Names are short; anything longer is a mistake or an attack, refused with the field's path.
Text = Annotated[str, Meta(max_length=1000)]
Limit = Annotated[int, Meta(ge=1, le=500)]
PackId = Annotated[str, Meta(max_length=64)]
CollectionName = Annotated[str, Meta(max_length=64)]


class Params(Base):
    """Base of every request's params."""


P = TypeVar("P", bound=Params)
_PATH = re.compile(r" - at `(\$[^`]*)`$")
_STEP = re.compile(r"\.([^.\[]+)|\[(\d+)\]")


def decode(params: Any, type_: type[P]) -> P:
    """Params as `type_`; `None` reads as `{}` so that all-optional params may be omitted."""
    bad = _lone_surrogate(params, "$")  # first: msgspec itself fails on them (UnicodeError)
    if bad is not None:
        raise InvalidParams(
            f"text with a lone surrogate (\\ud800-\\udfff): not Unicode - at `{bad}`",
            {"path": bad},
        )
    try:
        return locate.convert({} if params is None else params, type_)
    except msgspec.ValidationError as exc:
        message = str(exc)
        if (unknown := _UNKNOWN.match(message)) is not None:
            message = _unknown_field(unknown[1], unknown[2] or "$", params, type_)
        m = _PATH.search(message)
        if m is None:  # the params themselves (an array, a string): say so
            message += " - at `$`"
        elif repr(NO_CONTROL) in message:  # the character, not the pattern that refused it
            char = control_character(_value_at(params, m[1]))
            if char is not None:
                message = f"{control_message(char)} - at `{m[1]}`"
        raise InvalidParams(message, {"path": m[1] if m else "$"}) from exc


_UNKNOWN = re.compile(r"Object contains unknown field `([^`]*)`(?: - at `(\$[^`]*)`)?$", re.S)


def _unknown_field(key: str, at: str, params: Any, type_: type[Any]) -> str:
    """msgspec's "Object contains unknown field `nmae` - at `$`" as the MCP face says it:
    the field's own path, and the nearest field the params take (`did you mean 'name'?`;
    nested objects' fields are not named)."""
    path = f"{at}.{key}" if re.fullmatch(r"[A-Za-z_][\w-]*", key) else at
    known: list[str] = []
    if at == "$":
        info = msgspec.inspect.type_info(type_)
        if isinstance(info, msgspec.inspect.StructType):
            known = [f.encode_name for f in info.fields]
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    mean = f": did you mean {close[0]!r}?" if close else ""
    return f"unknown field {key!r}{mean} - at `{path}`"


def _value_at(value: Any, path: str) -> Any:
    """The value at a JSON path of an error (`$.party[1].name`), or None."""
    for key, index in _STEP.findall(path):
        try:
            value = value[int(index)] if index else value[key]
        except (KeyError, IndexError, TypeError):
            return None
    return value


def _lone_surrogate(value: Any, path: str) -> str | None:
    """The JSON path of the first string holding a lone surrogate: JSON may escape one
    (`"\\ud800"`), but it is no character, and SQLite, files and UTF-8 refuse it."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return path
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            found = _lone_surrogate(key, path) or _lone_surrogate(item, f"{path}.{key}")
            if found is not None:
                return found
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found = _lone_surrogate(item, f"{path}[{i}]")
            if found is not None:
                return found
    return None


# -- shared result pieces ---------------------------------------------------------------------


class EntryRef(Base):
    """What every result a client sees carries."""

    ref: str
    pack: str
    name: str
    collection: str


class EntryInfo(EntryRef):
    slug: str
    qualified_ref: str
    data: dict[str, Any]
    source: Source | None = None
    extends: str | None = None
    priority: int | None = None


class PackCredit(Base):
    id: str
    title: str
    version: str
    license: str
    attribution: str


# -- d5e/lookup -------------------------------------------------------------------------------


class LookupParams(Params):
    """Exactly one of `ref` (`spells/fireball`, `srd-2024:magic-items/bag-of-holding`) or `name`."""

    ref: Text | None = None
    name: Text | None = None
    collection: CollectionName | None = None
    pack: PackId | None = None


class Shadowed(EntryRef):
    priority: int


class LookupResult(Base):
    entry: EntryInfo
    markdown: str
    pack_info: PackCredit
    shadowed: list[Shadowed] = []
    """Entries with the same ref in lower-priority packs, which this one overrides."""
    shadowed_by: list[Shadowed] = []
    """Entries with the same ref that win over this one (only for a qualified ref)."""
    also: list[EntryRef] = []
    """Other entries with the same name (name lookups): in other collections, and of other
    packs in the entry's collection, which the profile ranks lower."""
    found_by: str | None = None
    """How a name lookup found the entry when not by its name: `alias` (one of its other
    names: "Mordenkainen's Sword" for Arcane Sword), `inverted` ("Darakhul" for "Ghoul,
    Darakhul", "werewolf" for "Werewolf, Human Form"), `plural` ("wolves") or `spelling`
    ("grey ooze" for Gray Ooze: British or American)."""
    matched: str | None = None
    """The alias, the singular or the spelling the name was read as."""
    note: str | None = None
    """What the answer is not, when that is not what was asked for: in a profile of edition
    2024, an entry of the 2014 SRD, where the 2024 SRD has none of that name (5e-database
    5.10.0's has no spells): `The 2024 SRD (srd-2024, 5.10.0) has no spells: this is the 2014
    SRD's Healing Word (srd-2014).`; where the 2024 SRD has the name in its own collection
    (`Elf`, a species), its ref. Also the first line of `markdown`. None otherwise (and for a
    ref or `pack` naming the pack)."""


# -- d5e/complete -----------------------------------------------------------------------------


class CompleteParams(Params):
    prefix: Text
    collections: list[CollectionName] = []
    pack: PackId | None = None
    limit: Limit | None = None


class CompletionItem(EntryRef):
    detail: str
    match: str
    """How it matched: `exact`, `prefix`, `word` (a word of the name) or `fuzzy`."""
    alias: str | None = None
    """The other name of the entry that matched ("Mordenkainen's Sword" for the SRD's Arcane
    Sword, "Darakhul Ghoul" for "Ghoul, Darakhul"); None when its name matched."""
    shadows: bool = False
    """True where this entry overrides entries of lower-priority packs."""


class CompleteResult(Base):
    items: list[CompletionItem]


# -- d5e/search -------------------------------------------------------------------------------

# A query is a sentence or a paragraph; 100 KB of text is refused with its path, not searched.
Query = Annotated[str, Meta(max_length=2000)]
Offset = Annotated[int, Meta(ge=0, le=10_000)]


class Range(Base):
    """A number range for a filter: `{"min": 5, "max": 8}`; either end may be left out."""

    min: float | None = None
    max: float | None = None


FilterValue = str | int | float | bool | Range | list[str | int | float]


class SearchParams(Params):
    query: Query = ""
    """Words or a sentence; may be empty when `filters`, `collections`, `packs` or `edition`
    are given (then the matching entries are listed by name)."""
    collections: list[CollectionName] = []
    packs: list[PackId] = []
    edition: Annotated[str, Meta(max_length=16)] | None = None
    filters: dict[Annotated[str, Meta(max_length=64)], FilterValue] = {}
    """`{"level": 3, "school": "evocation"}`, `{"cr": {"min": 5, "max": 8}, "type": "undead"}`;
    a list means any of its values. `d5e/search/filters` lists them."""
    limit: Limit = 20
    """How many hits (1-500): a page of the search's one ranking."""
    offset: Offset = 0
    """Hits to skip (0-10,000): the next page starts at offset + limit. Pages are slices of one
    ranking, whatever their size: each hit once, in one order (docs/search.md, "Pages")."""
    mode: Literal["hybrid", "keyword", "semantic"] = "hybrid"
    explain: bool = False
    """Add to each hit what placed it (`SearchHit.explain`)."""


class SearchExplain(Base, omit_defaults=True):
    """Why a hit ranks where it does: each part of its score. Absent parts took no part (a
    keyword score for an entry that holds none of the query's words, a vector score in keyword
    mode)."""

    keyword: float | None = None
    """BM25 of the query's words in the entry's index text (higher is better)."""
    keyword_rank: int | None = None
    vector: float | None = None
    """Cosine similarity of the query and the entry's best passage."""
    vector_rank: int | None = None
    passage: str | None = None
    """That best passage, as it was embedded."""
    coverage: float | None = None
    """Share of the query's words the entry contains (0 to 1)."""
    boosts: dict[str, float] = {}
    """What was added to the fused score, by name (`coverage`, `filter words`; negative: what was
    taken, `other edition`, `below the SRD`)."""
    filters: list[str] = []
    """The filters the query names in words that the entry meets, as `-f` writes them
    (`cr=5`, `type=undead`, `level>=4`, `cr<3`): what its `filter words` boost is for."""
    named: bool = False
    """The query is the entry's whole name: it goes first."""
    keyword_weight: float | None = None
    """Hybrid: what the keyword list's z-score was multiplied by in the fused score (the same
    for every hit of a search: less when the list's best hits hold few of the query's words, and
    less again when the query is asked as a question)."""
    vector_weight: float | None = None
    """Hybrid: what the vector list's z-score was multiplied by in the fused score."""
    without_scene: str | None = None
    """Hybrid, a query that tells a situation: its words without the scene it names after `the`
    ("the goblins dragged us …"); the passages were compared with the mean of the query's
    vector and this text's (the same for every hit of a search)."""


class SearchHit(EntryRef, omit_defaults=True):
    score: float
    snippet: str
    """A short excerpt showing why it matched (matched words in `**bold**`)."""
    explain: SearchExplain | None = None
    """Only when `explain` was asked."""
    also: list[EntryRef] = []
    """Entries of other packs with the same name in the same collection, folded into this hit
    (the one of the pack the profile ranks highest): Open5e's copy of the SRD's Fireball, a
    2024 Fireball beside the 2014 one. Absent when there are none."""


class SearchResult(Base):
    hits: list[SearchHit]
    semantic: bool
    """True when vectors took part in the ranking (false: keywords only, or a listing)."""
    hints: list[str] = []
    """Filter values no entry of the profile has, each named with the nearest held values:
    `no monster speaks 'elvsh'; did you mean 'elvish'?`; and a pack, collection or edition
    asked for that nothing installed has (`no installed pack has a collection 'spell'; did you
    mean 'spells'?`)."""


class SearchFiltersParams(Params):
    collections: list[CollectionName] = []


class FilterInfo(Base):
    name: str
    type: Literal["number", "text", "bool"]
    """`number` takes a number or `{"min", "max"}`; `text` a string or a list of strings
    (any of them); `bool` true or false."""
    collections: list[str]
    description: str
    values: list[str | float | int | bool]
    """Values found among the current profile's entries."""


class SearchFiltersResult(Base):
    filters: list[FilterInfo]


# -- d5e/encounter ----------------------------------------------------------------------------

Rules = Literal["2014", "2024"]


class EncounterMonster(Base):
    """One group of creatures: `ref` or `name` (a monster of the profile's packs), how many,
    and optionally its `cr` or `xp` (for a creature no pack has, or to override its record)."""

    ref: Text | None = None
    name: Text | None = None
    count: int | Annotated[str, Meta(max_length=40)] = 1
    """How many: a number, or as writers write it, a number in words (`"a dozen"`), a range
    (`"6-8"`, `"two or three"`, `"up to 5"`) or a roll (`"1d4+1"`, `"2d6"`): the result then
    gives the difficulty at both ends."""
    cr: float | Annotated[str, Meta(max_length=16)] | None = None
    xp: int | None = None


class EncounterParams(Params):
    party: Annotated[list[int], Meta(max_length=100)]
    """The characters' levels (1 to 20): `[3, 3, 3, 3]`."""
    monsters: Annotated[list[EncounterMonster], Meta(max_length=200)]
    rules: Rules | None = None
    """2014 (DMG 2014: thresholds, multiplier) or 2024 (DMG 2024: XP budget); default: the
    profile's edition."""


class MonsterXp(Base):
    ref: str | None
    """`monsters/wolf`; null for a creature given only by its name and CR or XP."""
    pack: str | None
    name: str
    count: int
    """How many; the low end of a range."""
    count_max: int
    """How many at the high end of a range (`count` for an exact count)."""
    cr: float | None
    xp: int
    """XP of one creature."""
    total_xp: int
    total_xp_max: int


class EncounterResult(Base):
    rules: Rules
    party: list[int]
    xp: int
    """The monsters' XP added up (at the low end of their counts, where one is a range)."""
    adjusted_xp: int
    """2014: `xp` times the multiplier; 2024: `xp` (the 2024 rules have no multiplier)."""
    multiplier: float
    difficulty: str
    """2014: trivial (below Easy), easy, medium, hard, deadly; 2024: trivial (below Low),
    low, moderate, high."""
    xp_max: int
    """`xp`, `adjustedXp`, `multiplier` and `difficulty` at the high end of the monsters'
    counts ("6-8 wolves": 8); the same as they when every count is exact."""
    adjusted_xp_max: int
    multiplier_max: float
    difficulty_max: str
    thresholds: dict[str, int]
    """The party's thresholds (2014) or budgets (2024), each summed over the characters."""
    per_monster: list[MonsterXp]
    summary: str
    """One line for people: `Medium · 400 XP (adjusted) for 4 × level 3`; with a range, both
    ends where they differ: `Easy–Medium · 400–600 XP (adjusted) for 4 × level 3`."""
    notes: list[str] = []
    """What the figures leave out (beyond the High budget, a party-size adjustment)."""


# -- d5e/status -------------------------------------------------------------------------------


class StatusParams(Params):
    pass


class PackStatus(Base):
    id: str
    title: str
    version: str
    edition: str | None
    license: str
    attribution: str
    origin: str
    entries: int
    collections: dict[str, int]
    enabled: bool
    priority: int | None


class IndexStatus(Base):
    entries: int
    """Entries of the profile that get vectors."""
    indexed: int
    """Of those, the ones with up-to-date vectors."""
    ready: bool
    """Semantic search is available (every entry indexed)."""
    running: bool
    """An indexing run is under way in this process."""
    model: str
    model_loaded: bool
    pending_other_profiles: int = 0


class StatusResult(Base):
    version: str
    database: str
    schema_version: int
    profile: str
    edition: str
    packs: list[PackStatus]
    entries: int
    """Entries visible in the profile (winners only)."""
    failed_plugins: dict[str, str] = {}
    warnings: list[str] = []
    index: IndexStatus | None = None
    """The search index of the profile (None when the database cannot tell)."""


# -- d5e/document: the read-only `d5e:` documents editors open (go to definition) -------------


class DocumentParams(Params):
    uri: Text
    """`d5e://PACK/COLLECTION/SLUG.md`, as returned by go to definition and document links."""


class DocumentResult(EntryRef):
    uri: str
    text: str
    """The entry's card in Markdown, ending with its pack's title, license and attribution."""


# -- d5e/tagFor: the tag an editor inserts for an entry (search results, pickers) -------------


class TagForParams(Params):
    ref: Text
    """`collection/slug` or `pack:collection/slug`, as in search hits."""


class TagForResult(EntryRef):
    text: str
    """`{@spell fireball}`; the plain name for collections no tag refers to."""
    tag: str | None


# -- d5e/resolveTags: text with tags, each one resolved (for assistants and other tools) ------

# A chapter of an adventure, not a book: 200 KB of text is refused with its path.
ProseText = Annotated[str, Meta(max_length=200_000)]


class ResolveTagsParams(Params):
    text: ProseText


class ResolvedTag(EntryRef):
    tag: str
    """The tag as written: `{@spell fireball}`."""
    line: int
    """0-based line of the text where the tag is."""
    uri: str
    """The entry's card as a `d5e://PACK/COLLECTION/SLUG.md` document."""
    summary: str
    """One line on what the entry is: `3rd-level evocation spell`."""


class UnresolvedTag(Base):
    tag: str
    line: int
    message: str
    """What is wrong (`no spell named "firebal"; did you mean "Fireball"?`)."""
    suggestions: list[str] = []
    """Names that would resolve; whole tags where other parts must change too
    (`{@classFeature Extra Attack|Fighter||5}` for a Wizard's Extra Attack)."""


class ResolveTagsResult(Base):
    text: str
    """The text with each resolved tag written as a Markdown link to its card
    (`[Fireball](d5e://srd-2014/spells/fireball.md)`); other tags are left as written."""
    tags: list[ResolvedTag]
    unknown: list[UnresolvedTag] = []


# -- d5e/packs/* ------------------------------------------------------------------------------

NO_CONTROL = "^[^\\x00-\\x1f\\x7f-\\x9f]*$"
"""Text without control characters (a title goes into pack.toml: TOML forbids some of them)."""
PathText = Annotated[str, Meta(min_length=1, max_length=4096)]
Priority = Annotated[int, Meta(ge=-1_000_000, le=1_000_000)]


class PacksListParams(Params):
    overrides: PackId | None = None
    """List every entry this pack overrides in the profile (`overrides` of the result)."""


class PackInfo(Base):
    """An installed pack (or one a plugin offers), and what the current profile does with it."""

    pack: Pack
    installed: bool
    kind: str
    """`plugin`, `folder`, `zip` or `file`: where its content comes from."""
    origin: str
    entries: int = 0
    collections: dict[str, int] = {}
    enabled: bool = False
    priority: int | None = None
    collection_priorities: dict[str, int] = {}
    reason: str | None = None
    """Why it has this priority: `edition`, `default`, `rule`, `command` or `settings`."""
    off: str | None = None
    """Why an installed pack is off, in words to show ("disabled in …/d5e.toml")."""
    installed_at: str | None = None
    overrides: dict[str, dict[str, int]] = {}
    """Entries of other enabled packs it hides in this profile: pack → collection → count."""


class OverrideInfo(Base):
    """An entry of a pack that hides the same ref of another enabled pack."""

    ref: str
    name: str
    collection: str
    over: str
    """The pack whose entry it hides."""
    intended: bool
    """It `extends` that entry, or a priority rule puts its pack first; else an accident?"""


class PacksListResult(Base):
    profile: str
    packs: list[PackInfo]
    warnings: list[str] = []
    overrides: list[OverrideInfo] = []
    """With `overrides: PACK`: every entry that pack overrides."""


class PackInstallParams(Params):
    """Exactly one of `path` (a folder or .zip; relative to the workspace) or `id` (a pack a
    plugin offers)."""

    path: PathText | None = None
    id: PackId | None = None
    replace: bool = False
    """True: take the pack id over from the origin it is installed from (or from the built-in
    pack that owns it); without it such an install is refused."""


class PackInstallResult(Base):
    pack: str
    action: str
    """`installed`, `upgraded` or `unchanged`."""
    entries: int
    changed: int
    warnings: list[PackProblem] = []
    also: list[PackInstallResult] = []
    """The other packs installed from the same path (a 5etools file with several sources)."""
    adopted: bool = False
    """A campaign's `packPaths` had brought the pack (on in that campaign only): this install
    made it the user's, on in every profile, whatever its `action`."""
    adoptedFrom: str | None = None
    """With `adopted`: the `d5e.toml` of that campaign (`profile NAME` when its folder is not
    known)."""


class PackIdParams(Params):
    pack: PackId


class PackChangeResult(Base):
    info: PackInfo
    warnings: list[str] = []


class PackRemoveResult(Base):
    pack: str
    entries: int


class SetPriorityParams(Params):
    """`priority: null` forgets the priority set before (the default applies again)."""

    pack: PackId
    priority: Priority | None
    collection: CollectionName | None = None


class ValidateParams(Params):
    path: PathText


class ValidateResult(Base):
    ok: bool
    pack: Pack | None
    entries: int
    problems: list[PackProblem]
    """Errors and warnings, each with file, line, column and field."""
    also: list[Pack] = []
    """The other packs the path holds (a 5etools file with several sources)."""


class CreateParams(Params):
    id: PackId
    title: Annotated[str, Meta(max_length=200, pattern=NO_CONTROL)] | None = None
    directory: PathText | None = None
    """Where to create the pack's folder; default: `packs/` of the workspace, else of the data
    directory."""
    replace: bool = False
    """True: the new pack takes its id over from the origin that owns it."""


class CreateResult(Base):
    path: str
    files: list[str]
    install: PackInstallResult


class UploadParams(Params):
    pack: PackId
    collection: CollectionName
    entries: Annotated[list[dict[str, Any]], Meta(max_length=10_000)]
    replace: bool = False
    """True: the collection becomes exactly `entries` (its other entries are deleted)."""


class UploadResult(Base):
    pack: str
    written: list[str]
    removed: list[str]
    install: PackInstallResult


class PacksChanged(Base):
    packs: list[str]
    warnings: list[str] = []


# -- d5e/references ---------------------------------------------------------------------------


class ReferencesParams(Params):
    """`ref`: `spells/fireball` (the profile's winner) or `srd-2024:magic-items/bag-of-holding`."""

    ref: Text
    links: bool = True
    """Also list the entries whose text links to this one (`linkedFrom`)."""
    limit: Annotated[int, Meta(ge=1, le=100_000)] = 10_000
    """At most this many mentions."""


class MentionOut(Base):
    """A mention in a campaign file. `line` and the columns count from 0, in code points."""

    path: str
    uri: str
    line: int
    start: int
    end: int
    kind: Literal["tag", "bold", "italic", "count"]
    count: int
    """How many the text counts ("4 wolves"): 1 without a count; the low end of a range or a
    roll ("6-8 wolves": 6, "1d4+1 orcs": 2)."""
    context: str
    """The line of text, as it is in the file."""
    count_max: int = 1
    """The high end of the count (`count` for an exact count: "6-8 wolves": 8)."""


class LinkedEntry(EntryRef):
    how: Literal["casts", "grants", "extends", "mentions"]


class ReferencesResult(Base):
    entry: EntryRef
    mentions: list[MentionOut]
    linked_from: list[LinkedEntry] = []
    workspace: str | None = None
    """The campaign folder searched (None: no workspace, so no mentions)."""
    files: int = 0
    """Markdown files read in the campaign folder."""
    skipped: list[str] = []
    """Campaign files left out (too large, too many, a link out of the folder), with why."""
    truncated: bool = False


# -- d5e/statBlock ----------------------------------------------------------------------------


class StatBlockParams(Params):
    """Exactly one of `ref` or `name`, as for `d5e/lookup`."""

    ref: Text | None = None
    name: Text | None = None
    collection: CollectionName | None = None
    style: Literal["markdown", "homebrewery"] | None = None
    """How to write a creature; default: the `statBlocks` setting."""


class StatBlockResult(EntryRef):
    style: Literal["markdown", "homebrewery"]
    text: str
    """The card to paste into a document: Markdown, or a creature's Homebrewery block."""
