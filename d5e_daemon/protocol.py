"""The wire contract: custom method names and their params/result types.

Params are decoded with msgspec: unknown fields are rejected, and a wrong value is reported
as `-32602` with msgspec's message, which names the JSON path (`... - at $.limit`).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, TypeVar

import msgspec
from msgspec import Meta

from .errors import InvalidParams
from .records import Base, Source

LOOKUP = "d5e/lookup"
COMPLETE = "d5e/complete"
STATUS = "d5e/status"
DOCUMENT = "d5e/document"
TAG_FOR = "d5e/tagFor"
PACKS_CHANGED = "d5e/packsChanged"
"""Notification: packs were installed, changed or removed (diagnostics are published anew)."""

# Names are short; anything longer is a mistake or an attack, refused with the field's path.
Text = Annotated[str, Meta(max_length=1000)]
Limit = Annotated[int, Meta(ge=1, le=500)]
PackId = Annotated[str, Meta(max_length=64)]
CollectionName = Annotated[str, Meta(max_length=64)]


class Params(Base):
    """Base of every request's params."""


P = TypeVar("P", bound=Params)
_PATH = re.compile(r" - at `(\$[^`]*)`$")


def decode(params: Any, type_: type[P]) -> P:
    """Params as `type_`; `None` reads as `{}` so that all-optional params may be omitted."""
    try:
        return msgspec.convert({} if params is None else params, type_)
    except msgspec.ValidationError as exc:
        message = str(exc)
        m = _PATH.search(message)
        raise InvalidParams(message, {"path": m[1] if m else "$"}) from exc


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
    """Exactly one of `ref` (`spells/fireball`, `srd-2024:spells/fireball`) or `name`."""

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
    """Other entries with the same name in other collections (name lookups)."""


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
    shadows: bool = False
    """True where this entry overrides entries of lower-priority packs."""


class CompleteResult(Base):
    items: list[CompletionItem]


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
