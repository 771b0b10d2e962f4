"""Reading 5etools homebrew files into d5e packs: one pack per `_meta.sources[]` source.

A file (or a folder of them) is read whole before anything is returned: every problem of every
file is reported at once, with file, line and column, and a file with an error installs nothing.
`_copy` is resolved here when the copied entry is in the files read; when it is in another
pack (the SRD's books, another installed homebrew), the entry is given to d5e with `extends`
and this module's `derive`, which d5e calls with the installed base at install time.
"""

from __future__ import annotations

import dataclasses
import functools
import gc
import hashlib
import itertools
import json
import logging
import os
import re
from collections import OrderedDict
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import msgspec

from d5e_daemon import (
    Entry,
    Extends,
    FindEntry,
    LoadedPack,
    Pack,
    PackProblem,
    Source,
    locate,
    packfiles,
)
from d5e_daemon.packfiles import read_data_file
from d5e_daemon.records import Derive
from d5e_daemon.text import json_error, normalize

from . import convert, copy, races, refs, srd
from .entries import apply_properties, blocks
from .srddb import srd_names
from .values import value_problems

log = logging.getLogger(__name__)

# 5etools sources of the books the SRD comes from → the d5e pack of that edition's SRD.
SRD_SOURCES = {
    "phb": "srd-2014", "mm": "srd-2014", "dmg": "srd-2014",
    "xphb": "srd-2024", "xmm": "srd-2024", "xdmg": "srd-2024",
}  # fmt: skip

# The books 5etools itself publishes (the source ids of 5etools-utils' `sources-5etools.json`).
# d5e holds none of them but the SRD's share of PHB/MM/DMG and XPHB/XMM/XDMG: a `_copy` of an
# entry of one of them that d5e does not have can never be resolved, whatever the user does.
OFFICIAL_SOURCES = frozenset({
    "aag", "aatm", "abh", "ai", "aitfr", "aitfr-avt", "aitfr-dn", "aitfr-fcd", "aitfr-isf",
    "aitfr-thp", "al", "awm", "azfyt", "bam", "bgdia", "bgg", "bmt", "bqgt", "cm", "coa",
    "cos", "crcotn", "dc", "dd", "dip", "ditlcot", "dmg", "dmtcrg", "dod", "dosi", "drde",
    "drde-acfas", "drde-bd", "drde-bts", "drde-das", "drde-dotsc", "drde-fwtvc", "drde-sd",
    "drde-tdon", "drde-tfv", "drde-twoo", "dsotdq", "eepc", "eet", "efa", "efr", "egw", "erlw",
    "esk", "ffotr", "fraif", "frhof", "fs", "ftd", "ggr", "gos", "gotsf", "hat-lmi", "hat-tg",
    "hbtd", "hf", "hfdomm", "hffotm", "hfstcm", "hftt", "hol", "hotb", "hotdq", "idrotf",
    "imr", "jttrc", "kftgv", "kkw", "lfl", "lk", "llk", "lmop", "lox", "lr", "lrdt", "mabjov",
    "mcv1sc", "mcv2dc", "mcv3mc", "mcv4ec", "mff", "mgelft", "mismv1", "mm", "mot", "mpmm",
    "mpp", "mtf", "nf", "nrh", "nrh-ass", "nrh-at", "nrh-avitw", "nrh-awol", "nrh-coi",
    "nrh-tcmc", "nrh-tlt", "oga", "oota", "oow", "pabtso", "paf", "paitm", "phb", "pip",
    "pota", "psa", "psd", "psi", "psk", "psx", "psz", "qftis", "rmbre", "rmr", "rot", "rotos",
    "rtg", "sac", "sads", "sais", "sato", "scag", "scc", "scc-arir", "scc-ck", "scc-hfmt",
    "scc-tmm", "scoee", "screen", "screendungeonkit", "screenspelljammer",
    "screenwildernesskit", "sdw", "sja", "skt", "slw", "tce", "td", "tftyp", "tftyp-atg",
    "tftyp-dit", "tftyp-tfof", "tftyp-thsot", "tftyp-toh", "tftyp-tsc", "tftyp-wpm", "tlk",
    "toa", "tod", "tofw", "tor", "ttp", "uathemysticclass", "us", "uthftlh", "vd", "veor",
    "vgm", "vnotee", "vrgr", "wbtw", "wdh", "wdmm", "wtthc", "xdmg", "xge", "xmm", "xmts",
    "xphb", "xsac", "xscreen",
})  # fmt: skip

# The Monster Manual's creatures of several forms are one object in 5etools and one record per
# form in the 2014 SRD (5e-database): a copy of one stands on this form of it.
SRD_FORMS = {
    "vampire": "vampire-vampire", "werebear": "werebear-hybrid", "wereboar": "wereboar-hybrid",
    "wererat": "wererat-hybrid", "weretiger": "weretiger-hybrid", "werewolf": "werewolf-hybrid",
}  # fmt: skip

# Keys of 5etools' homebrew schema (`homebrew.json` of 5etools-utils) that hold no content to
# look up: each is a warning with its count, saying what it is. (`foundry*` keys likewise.)
NOT_CONTENT = {
    "encounterShape": "the encounter builder's party shapes, not content to look up",
    "blocklist": "what the 5etools site should hide, not content",
    "raceFluffMeta": "5etools' notes beside uncommon and monstrous races, not an entry",
    "roll20Spell": "Roll20 automation data, not content",
    # Foundry VTT automation keys of older versions of the schema, without `foundry`
    "backgroundFeature": "Foundry VTT automation data, not content",
    "psionicDisciplineFocus": "Foundry VTT automation data, not content",
    "psionicDisciplineActive": "Foundry VTT automation data, not content",
}

ID_CLEAN = re.compile(r"[^a-z0-9]+")
_ITEM_ENTRY = re.compile(r"\{#itemEntry ([^}]+)\}")
_TEMPLATE_FIELD = re.compile(r"\{\{([^}]+)\}\}")
JsonPath = tuple[str | int, ...]
# The type whose objects `_copy._templates` names, by the type copied (5etools'
# `_pMergeCopy_pGetTemplates`).
TEMPLATE_KINDS = {"monster": "monsterTemplate", "legendaryGroup": "legendaryGroupTemplate"}


def pack_id(source: str) -> str:
    """`"EnhancedDevils"` → `enhanceddevils`: lower case, other characters as `-`."""
    ident = ID_CLEAN.sub("-", source.lower()).strip("-")[:64].strip("-")
    return ident or "5etools"


def looks_like_5etools(doc: Any) -> bool:
    if not isinstance(doc, dict):
        return False
    meta = doc.get("_meta")
    if isinstance(meta, dict) and "sources" in meta:
        return True
    keys = set(doc) - convert.IGNORED
    known = set(convert.COLLECTIONS) | set(convert.FLUFF) | set(convert.DOCUMENTS)
    return bool(keys) and keys <= known | {"_meta"}


# ---- reading a file with positions -----------------------------------------------------------

_WS = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


@dataclass
class File:
    path: str
    text: str
    doc: dict[str, Any]
    offsets: dict[tuple[str, int], int]
    """(data key, index) → offset of that item in the text."""
    resolved: str = ""
    """The file's absolute path, as entries name it."""
    _at: tuple[int, int] = (0, 1)
    """The last offset asked and its line: items are asked in file order, so each line is
    counted from the one before."""

    def line_col(self, offset: int) -> tuple[int, int]:
        last, line = self._at
        if offset >= last:
            line += self.text.count("\n", last, offset)
        else:
            line = self.text.count("\n", 0, offset) + 1
        self._at = (offset, line)
        return line, offset - (self.text.rfind("\n", 0, offset) + 1) + 1

    def locate(self, key: str, index: int, path: JsonPath = ()) -> tuple[int, int]:
        start = self.offsets.get((key, index), 0)
        return self.line_col(_json_offset(self.text, start, path))


def _skip(text: str, pos: int) -> int:
    m = _WS.match(text, pos)
    return m.end() if m else pos


def _json_offset(text: str, pos: int, path: JsonPath) -> int:
    """Offset of the value at `path` below the value at `pos` (or the deepest part found)."""
    for step in path:
        if isinstance(step, int) and text.startswith("[", pos):
            item = _skip(text, pos + 1)
            for _ in range(step):
                if text.startswith("]", item):
                    return pos
                _, end = _DECODER.raw_decode(text, item)
                item = _skip(text, end)
                item = _skip(text, item + 1) if text.startswith(",", item) else item
            if text.startswith("]", item):
                return pos
            pos = item
        elif isinstance(step, str) and text.startswith("{", pos):
            key_pos = _skip(text, pos + 1)
            while text.startswith('"', key_pos):
                key, end = json.decoder.scanstring(text, key_pos + 1)  # type: ignore[attr-defined]
                value = _skip(text, _skip(text, end) + 1)
                if key == step:
                    break
                _, end = _DECODER.raw_decode(text, value)
                key_pos = _skip(text, end)
                key_pos = _skip(text, key_pos + 1) if text.startswith(",", key_pos) else key_pos
            else:
                return pos
            pos = value
        else:
            return pos
    return pos


TOO_DEEP = "arrays and objects nested too deep to read (5etools homebrew nests a few dozen)"


def parse(path: Path, shown: str) -> tuple[File | None, list[PackProblem]]:
    """One file: its JSON and where each item of each top-level array starts (one pass)."""
    try:  # a link in a folder was left out by `_files`: this one is the file the user named
        text = read_data_file(path, follow=True).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return None, [PackProblem(file=shown, line=1, message=f"not UTF-8 text: {exc.reason}")]
    except OSError as exc:
        return None, [PackProblem(file=shown, message=f"cannot read: {exc.strerror}")]
    dense = locate.too_dense(text)  # `[[],[],…]`: some 70 bytes of memory each
    if dense is not None:
        return None, [PackProblem(file=shown, line=1, column=1, message=dense)]
    pos = _skip(text, 0)
    offsets: dict[tuple[str, int], int] = {}
    doc: dict[str, Any] = {}
    try:
        if not text.startswith("{", pos):
            raise ValueError("a 5etools homebrew file is one JSON object")
        pos = _skip(text, pos + 1)
        while not text.startswith("}", pos):
            if not text.startswith('"', pos):
                raise json.JSONDecodeError(
                    "Expecting property name enclosed in double quotes", text, pos
                )
            key, pos = json.decoder.scanstring(text, pos + 1)  # type: ignore[attr-defined]
            pos = _skip(text, pos)
            if not text.startswith(":", pos):
                raise json.JSONDecodeError("Expecting ':' delimiter", text, pos)
            pos = _skip(text, pos + 1)
            if text.startswith("[", pos):
                items: list[Any] = []
                pos = _skip(text, pos + 1)
                while not text.startswith("]", pos):
                    offsets[(key, len(items))] = pos
                    value, pos = _DECODER.raw_decode(text, pos)
                    items.append(value)
                    pos = _skip(text, pos)
                    if text.startswith(",", pos):
                        pos = _skip(text, pos + 1)
                    elif not text.startswith("]", pos):
                        raise json.JSONDecodeError("Expecting ',' delimiter", text, pos)
                doc[key] = items
                pos = _skip(text, pos + 1)
            else:
                doc[key], pos = _DECODER.raw_decode(text, pos)
                pos = _skip(text, pos)
            if text.startswith(",", pos):
                pos = _skip(text, pos + 1)
            elif not text.startswith("}", pos):
                raise json.JSONDecodeError("Expecting ',' delimiter", text, pos)
        if _skip(text, pos + 1) < len(text):
            raise json.JSONDecodeError("Extra data", text, _skip(text, pos + 1))
    except json.JSONDecodeError as exc:
        return None, [
            PackProblem(file=shown, line=exc.lineno, column=exc.colno, message=json_error(exc))
        ]
    except ValueError as exc:
        return None, [PackProblem(file=shown, line=1, column=1, message=str(exc))]
    except RecursionError:
        return None, [PackProblem(file=shown, line=1, column=1, message=TOO_DEEP)]
    return File(shown, text, doc, offsets, str(path.resolve())), []


# ---- from files to packs ---------------------------------------------------------------------


@dataclass
class Item:
    """One object of a data key, where it was written."""

    kind: str
    raw: dict[str, Any]
    file: File
    index: int
    written: str = ""
    """The key it was written under, when 5etools reads it as another (`KIND_ALIASES`)."""
    inside: JsonPath = ()
    """Where in that object it was written: a race's `subraces[1]` (5etools' older form)."""

    @property
    def at(self) -> JsonPath:
        """Its JSON path from the file's root: `("race", 3, "subraces", 1)`."""
        return (self.written or self.kind, self.index, *self.inside)

    def where(self, path: JsonPath = ()) -> tuple[int, int]:
        return self.file.locate(self.written or self.kind, self.index, (*self.inside, *path))

    def problem(self, message: str, path: JsonPath = (), severity: str = "error") -> PackProblem:
        """A problem at `path` inside this object; its field is the JSON path from the file's
        root (`monster[3].action[0].name`), so that a bad entry of a long file is found."""
        line, column = self.where(path)
        shown = json_path((*self.at, *path))
        return PackProblem(
            file=self.file.path,
            line=line,
            column=column,
            field=shown,
            message=message,
            severity="warning" if severity == "warning" else "error",
        )

    @property
    def key(self) -> tuple[str, str, str]:
        return (
            self.kind,
            str(self.raw.get("name", "")).lower(),
            str(entity_source(self.raw) or "").lower(),
        )


def json_path(parts: JsonPath) -> str:
    """`("monster", 3, "action", 0)` → `monster[3].action[0]`."""
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _files(path: Path) -> tuple[list[Path], str | None]:
    """The `.json` files of a file or folder, in order, hidden folders and files left out, or
    why the folder is too large to read (more than `packfiles.MAX_FILES` files and folders, or
    `packfiles.MAX_DATA_BYTES` of `.json` files: nothing of it is read). The walk follows no
    link and passes over what vanishes or cannot be read meanwhile (a folder under `/tmp`
    another program clears; `/proc`): what it cannot list holds no homebrew."""
    if path.is_file():
        return [path], None
    found: list[Path] = []
    seen = 0
    for folder, dirs, files in os.walk(path):  # errors ignored; links to folders not followed
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        seen += len(dirs) + len(files)
        if seen > packfiles.MAX_FILES:
            return [], (
                f"the folder holds more than {packfiles.MAX_FILES:,} files and folders (the "
                "limit); install its folders one by one"
            )
        found += [
            Path(folder, name)
            for name in files
            if not name.startswith(".") and name.lower().endswith(".json")
        ]
    listed = []
    for child in sorted(found):
        if child.is_symlink():  # as in a folder pack: nothing outside the folder is read
            log.warning("%s: links are not allowed in packs: not read", child)
        elif child.is_file():
            listed.append(child)
    large = packfiles.data_too_large(listed, "the folder's .json files")
    return ([], f"{large}; install its folders one by one") if large else (listed, None)


def recognises(path: Path) -> bool:
    """A `.json` file (no other loader reads one; a JSON file that is not 5etools homebrew is
    told so), or a folder without `pack.toml` holding 5etools homebrew files."""
    if path.is_file():
        return path.suffix.lower() == ".json"
    if path.is_dir() and not (path / "pack.toml").exists():
        # its own files only, a few: a folder that is not homebrew (a home, `/`) is not walked
        try:
            children = sorted(itertools.islice(path.iterdir(), 1000))
        except OSError:
            return False
        found = [c for c in children if c.suffix.lower() == ".json" and c.is_file()][:20]
        for child in [c for c in children if c.is_dir() and not c.name.startswith(".")][:50]:
            try:  # a folder of type folders, as the homebrew repository (`creature/`, …)
                inner = sorted(itertools.islice(child.iterdir(), 200))
            except OSError:
                continue
            # a type folder is one of homebrew files: every one of its first few looks it (one
            # 5etools file dropped among others in `/tmp` does not make `/` homebrew)
            files = [c for c in inner if c.suffix.lower() == ".json" and c.is_file()][:3]
            if files and all(_looks_5etools(p) for p in files):
                return True
        return any(_looks_5etools(p) for p in found)
    return False


def _looks_5etools(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            head = f.read(65536).decode("utf-8-sig", "replace")
    except OSError:
        return False
    if not head.lstrip().startswith("{"):  # 5etools homebrew is one object (Open5e's: lists)
        return False
    return '"_meta"' in head or any(f'"{k}"' in head for k in ("monster", "spell", "item"))


# The JSON types of the fields d5e reads, as 5etools' schema has them: a value of another type is
# a problem at its line and column (the schema is larger; these are the fields mapped).
_LIST, _DICT, _STR, _INT = list, dict, str, int
_NUMBER = (int, float)
FIELD_TYPES: dict[str, dict[str, tuple[type, ...]]] = {
    "*": {"name": (_STR,), "source": (_STR,), "entries": (_LIST,), "page": (_INT, _STR)},
    "spell": {
        "level": (_INT,), "school": (_STR,), "time": (_LIST,), "range": (_DICT,),
        "components": (_DICT,), "duration": (_LIST,), "classes": (_DICT,),
        "entriesHigherLevel": (_LIST,), "damageInflict": (_LIST,), "savingThrow": (_LIST,),
    },
    "monster": {
        "size": (_LIST, _STR), "type": (_STR, _DICT), "alignment": (_LIST,), "ac": (_LIST,),
        "hp": (_DICT,), "speed": (_DICT, _INT), "str": (_INT, _DICT), "dex": (_INT, _DICT),
        "con": (_INT, _DICT), "int": (_INT, _DICT), "wis": (_INT, _DICT), "cha": (_INT, _DICT),
        "save": (_DICT,), "skill": (_DICT,),
        "senses": (_LIST,), "passive": (_INT, _STR), "immune": (_LIST,), "resist": (_LIST,),
        "vulnerable": (_LIST,), "conditionImmune": (_LIST,), "languages": (_LIST,),
        "cr": (_STR, _DICT, _INT), "trait": (_LIST,), "action": (_LIST,), "bonus": (_LIST,),
        "reaction": (_LIST,), "legendary": (_LIST,), "mythic": (_LIST,),
        "spellcasting": (_LIST,), "legendaryActions": (_INT,),
    },
    "item": {
        "rarity": (_STR,), "type": (_STR,), "value": _NUMBER, "weight": _NUMBER,
        "reqAttune": (_STR, bool), "wondrous": (bool,), "charges": (_INT, _STR),
        "attachedSpells": (_LIST, _DICT), "property": (_LIST,),
    },
}  # fmt: skip
FIELD_TYPES["baseitem"] = FIELD_TYPES["item"]
# a book's or adventure's sections; one section object alone is read as the only one
FIELD_TYPES["bookData"] = FIELD_TYPES["adventureData"] = {"data": (_LIST, _DICT)}
_TYPE_NAMES = {list: "an array", dict: "an object", str: "a string", int: "an integer",
               float: "a number", bool: "true or false"}  # fmt: skip


# fields without which an entry cannot be placed or its text read: a wrong type is an error
_VITAL = frozenset({("*", "source"), ("bookData", "data"), ("adventureData", "data")})


def type_problems(item: Item) -> list[PackProblem]:
    """A problem for each mapped field whose JSON type is not the schema's. One bad value does
    not refuse the file: it is a warning and the field is left out of the entry (the readers of
    its fields rely on their types), but for the few without which the entry cannot be placed
    or read (`_VITAL`), which stay errors. Then a warning for each value of the right type that
    5etools' schema would refuse (`values.value_problems`: `"cr": "banana"`), kept as written."""
    found = []
    for scope in ("*", item.kind):
        for key, types in FIELD_TYPES.get(scope, {}).items():
            value = item.raw.get(key)
            if value is None:
                continue
            if isinstance(value, types) and (bool in types or not isinstance(value, bool)):
                continue
            wanted = " or ".join(dict.fromkeys(_TYPE_NAMES[t] for t in types))
            got = (
                "true or false"
                if isinstance(value, bool)
                else _TYPE_NAMES.get(type(value), type(value).__name__)
            )
            message = f"`{key}` must be {wanted}, not {got}"
            if (scope, key) in _VITAL or (item.kind, key) in _VITAL:
                found.append(item.problem(message, (key,)))
                continue
            found.append(item.problem(f"{message}: left out", (key,), severity="warning"))
            del item.raw[key]
    for path, message in value_problems(item.kind, item.raw):
        found.append(item.problem(message, path, severity="warning"))
    return found


def _embedded_subraces(race: dict[str, Any]) -> list[Any]:
    """A race's `subraces` written inside it (5etools' older form, read by its
    `Renderer.race.mergeSubraces` as subraces of their own): taken out of the race, each with
    the race it belongs to (and the race's source unless it has its own)."""
    subraces = race.pop("subraces", None)
    if not isinstance(subraces, list):
        if subraces is not None:
            race["subraces"] = subraces  # not 5etools' form: left for the card to show
        return []
    owner = {"raceName": race.get("name"), "raceSource": race.get("source")}
    return [
        {**owner, **sub, "source": sub.get("source") or race.get("source")}
        if isinstance(sub, dict)
        else sub
        for sub in subraces
    ]


_TOP_COMMAS = re.compile(r",\s*(?![^()]*\))")


def _legacy_forms(kind: str, raw: dict[str, Any]) -> None:
    """Older files' forms 5etools still reads, in today's: a creature's `senses` and `languages`
    written as one string (`"blindsight 60 ft., darkvision 120 ft."`; its renderer wraps them in
    a list, "handle legacy format") become the list they stand for."""
    if kind != "monster":
        return
    if isinstance(raw.get("senses"), str):
        raw["senses"] = [s for s in _TOP_COMMAS.split(raw["senses"]) if s.strip()]
    if isinstance(raw.get("languages"), str):
        raw["languages"] = [raw["languages"]]


_ITEM_KINDS = ("item", "baseitem", "magicvariant", "variant", "itemGroup")
_copy_kinds = {"magicvariant": ("magicvariant", "variant"), "variant": ("magicvariant", "variant")}


class Reader:
    """Everything read from the files, then turned into packs."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.problems: list[PackProblem] = []
        self.files: list[File] = []
        self.sources: dict[str, dict[str, Any]] = {}  # lower-cased json → the source
        self.declared_at: dict[str, tuple[str, int, int, str]] = {}  # where each is declared
        self.order: list[str] = []
        self.dependencies: dict[str, list[str]] = {}
        """A source another homebrew declares (`_meta.dependencies`) → the sources of the
        files that declare it (their packs are the ones that need it)."""
        self.items: list[Item] = []
        self.by_key: dict[tuple[str, str, str], Item] = {}
        self.fluff: dict[tuple[str, str, str], Item] = {}
        self.documents: list[Item] = []
        self.unmapped: dict[str, tuple[int, str, int, int]] = {}
        """Keys not read: key → (how many entries, the file, line and column of its first)."""
        self.identities: dict[tuple[str, ...], Item] = {}
        self.base_subraces: dict[tuple[str, str], Item] = {}
        self.item_entries: dict[tuple[str, str], dict[str, Any]] = {}
        self.type_entries: dict[tuple[str, str], list[Any]] = {}
        """`itemTypeAdditionalEntries` by the item type they apply to (abbreviation, source)."""
        self.codes: dict[str, dict[str, Any]] = {}
        """The codes the files' `_meta` names (their spell schools…), by field."""
        self.loot_tables: dict[tuple[str, str], list[Any]] = {}
        """`linkedLootTables`: (source, item name) → the loot tables that item is on."""

    def read(self) -> None:
        files, too_large = _files(self.root)
        if too_large:
            self.problems.append(PackProblem(file=str(self.root), message=too_large))
        for file_path in files:
            shown = str(file_path)
            parsed, problems = parse(file_path, shown)
            self.problems += problems
            if parsed is None:
                continue
            if not looks_like_5etools(parsed.doc):
                if self.root.is_dir():
                    continue  # another JSON file in the folder
                self.problems.append(
                    PackProblem(
                        file=shown,
                        line=1,
                        column=1,
                        message="not a 5etools homebrew file (no `_meta.sources`)",
                    )
                )
                continue
            self.files.append(parsed)
            self._meta(parsed)
            self._items(parsed)

    def _meta(self, f: File) -> None:
        meta = f.doc.get("_meta")
        if not isinstance(meta, dict):
            return
        for field, named in convert.meta_codes(meta).items():
            self.codes.setdefault(field, {}).update(named)
        own: list[str] = []  # this file's sources
        for i, source in enumerate(meta.get("sources") or []):
            if not isinstance(source, dict) or not isinstance(source.get("json"), str):
                line, column = f.line_col(_json_offset(f.text, 0, ("_meta", "sources", i)))
                self.problems.append(
                    PackProblem(
                        file=f.path,
                        line=line,
                        column=column,
                        field=f"_meta.sources[{i}]",
                        message="a source needs a `json` id",
                    )
                )
                continue
            key = source["json"].lower()
            own.append(key)
            if key not in self.sources:
                line, column = f.line_col(_json_offset(f.text, 0, ("_meta", "sources", i)))
                self.declared_at[key] = (f.path, line, column, f"_meta.sources[{i}]")
                edition = convert.EDITIONS.get(str(meta.get("edition", "")))
                self.sources[key] = {**source, "_edition": edition} if edition else source
                self.order.append(key)
        # `includes` are sources whose content 5etools loads along (as it loads dependencies)
        for which in ("dependencies", "includes"):
            dependencies = meta.get(which)
            for kind, keys in (dependencies if isinstance(dependencies, dict) else {}).items():
                for key in keys if isinstance(keys, list) else []:
                    if kind in _CLASS_KINDS and str(key).lower() in CLASS_IDENTIFIERS:
                        continue  # a class of 5etools' own (`"fighter"`): the SRD's
                    if str(key).lower() in OFFICIAL_SOURCES:
                        continue  # a book of 5etools' own: the SRD's part, or nothing
                    self.dependencies.setdefault(str(key), []).extend(own)

    def _items(self, f: File) -> None:
        for written, values in f.doc.items():
            kind = convert.KIND_ALIASES.get(written, written)
            if kind in convert.IGNORED:
                continue
            if kind == "linkedLootTables" and isinstance(values, dict):
                # {source: {item name: [tables]}}: added to those items' `lootTables`, as
                # 5etools adds them to the magic variants it makes
                for src, by_name in values.items():
                    for name, tables in (by_name if isinstance(by_name, dict) else {}).items():
                        if isinstance(tables, list):
                            self.loot_tables.setdefault((_low(src), _low(name)), []).extend(tables)
                continue
            known = (
                kind in convert.COLLECTIONS
                or kind in convert.FLUFF
                or kind in convert.DOCUMENTS
                or kind in ("itemEntry", "itemTypeAdditionalEntries")
            )
            if not isinstance(values, list) and known:
                line, column = f.line_col(_json_offset(f.text, 0, (written,)))
                self.problems.append(
                    PackProblem(
                        file=f.path,
                        line=line,
                        column=column,
                        field=written,
                        message=f"`{written}` must be an array",
                    )
                )
                continue
            if not known:
                count = len(values) if isinstance(values, list | dict) else 1
                if count:
                    before = self.unmapped.get(written)
                    line, column = f.line_col(_json_offset(f.text, 0, (written,)))
                    first = before[1:] if before else (f.path, line, column)
                    self.unmapped[written] = (count + (before[0] if before else 0), *first)
                continue
            for i, raw in enumerate(values):
                self._read(Item(kind, raw, f, i, written if written != kind else ""))
                if kind == "race" and isinstance(raw, dict):
                    for j, sub in enumerate(_embedded_subraces(raw)):
                        self._read(Item("subrace", sub, f, i, written, ("subraces", j)))

    def _read(self, item: Item) -> None:
        """One object of the files: checked, then kept where it belongs."""
        kind, raw = item.kind, item.raw
        if kind == "itemTypeAdditionalEntries":
            self._type_entries(item)
            return
        if isinstance(raw, dict) and not isinstance(raw.get("name", raw.get("id")), str):
            named = _implicit_name(kind, raw)
            if named is not None:
                item.raw = raw = named
        older = isinstance(raw, dict) and isinstance(raw.get("class"), str)
        if kind == "subclass" and older and "className" not in raw:
            # an older file's `class` (Deep Magic 14's Elementalist): its `className`
            item.raw = raw = {
                **{k: v for k, v in raw.items() if k != "class"},
                "className": raw["class"],
            }
        if kind == "subrace" and isinstance(raw, dict) and "name" not in raw:
            # a race's "base" subrace: merged into the race, as 5etools does
            race = (_low(raw.get("raceName")), _low(raw.get("raceSource")))
            self.base_subraces.setdefault(race, item)
            return
        if raw == {}:  # a placeholder (Modnar's `"variantrule": [{}]`): nothing to install
            self.problems.append(item.problem("an empty object: left out", severity="warning"))
            return
        if not isinstance(raw, dict) or not isinstance(raw.get("name", raw.get("id")), str):
            what = "an object" if not isinstance(raw, dict) else "an object with a `name`"
            self.problems.append(item.problem(f"each `{kind}` entry must be {what}"))
            return
        _legacy_forms(kind, raw)
        self.problems += type_problems(item)
        if kind in convert.FLUFF:
            self.fluff[(convert.FLUFF[kind], *item.key[1:])] = item
        elif kind in convert.DOCUMENTS:
            self.documents.append(item)
        elif kind == "itemEntry":
            self.item_entries.setdefault(item.key[1:], raw)
        else:
            self._add(item)

    def _type_entries(self, item: Item) -> None:
        """Entries every item of a type shows after its own (5etools'
        `Renderer.item._addAdditionalTypeEntries`: the first for a type is kept)."""
        raw = item.raw
        applies = raw.get("appliesTo") if isinstance(raw, dict) else None
        if not isinstance(applies, str) or not isinstance(raw.get("entries"), list):
            self.problems.append(
                item.problem(
                    "an `itemTypeAdditionalEntries` entry needs `appliesTo` (a type, as "
                    '`"GS|PHB"`) and `entries`'
                )
            )
            return
        self.type_entries.setdefault(item_type_key(applies), raw["entries"])

    def _add(self, item: Item) -> None:
        ident = identity(item.kind, item.raw)
        first = self.identities.get(ident)
        if first is not None:
            # 5etools' site lists both (its links reach the first): both are installed, this
            # one under a slug of its own (`_unique_slugs`), and the author is told
            line, _ = first.where()
            first_path = json_path(first.at)
            self.problems.append(
                item.problem(
                    f"duplicate {item.kind} {item.raw.get('name')!r} of source "
                    f"{entity_source(item.raw)!r} (first at {first.file.path}:{line}, "
                    f"{first_path}): both are installed, this one under a slug of its own; "
                    "a tag or `_copy` naming them reaches the first, as on 5etools' site",
                    ("name",),
                    "warning",
                )
            )
            self.items.append(item)
            return
        self.identities[ident] = item
        self.by_key.setdefault(item.key, item)
        self.items.append(item)


def _item_source(item: Item, known: Collection[str]) -> str:
    """The source an object belongs to, lower-cased: its `source`; a generic magic variant's is
    in `inherits` (`"+1 Echoing Weapon"` of `stabbyitems`), one of another book's
    (`"inherits": {"source": "DMG"}`, a file's own take on the DMG's Berserker Weapon) is the
    file's; without one, the file's first source ("" when its `_meta` names none)."""
    own = _low(entity_source(item.raw))
    if own and (item.raw.get("source") or own in known):
        return own
    meta = item.file.doc.get("_meta")
    sources = meta.get("sources") if isinstance(meta, dict) else None
    head = sources[0] if isinstance(sources, list) and sources else None
    return _low(head.get("json")) if isinstance(head, dict) else ""


def _restates_srd(item: Item, source: str) -> bool:
    """Whether `item` is an entry of a book the SRD comes from (`"source": "PHB"`), of a
    name the SRD holds in its collection, in a file that does not declare that source: the
    book's entry written again, not the file's own."""
    if source not in SRD_SOURCES or item.kind in ("classFeature", "subclassFeature"):
        return False
    name = normalize(str(item.raw.get("name", "")))
    race = normalize(str(item.raw.get("raceName", "")))
    if item.kind == "subrace" and race not in name:  # `High` of `Elf`: the SRD's High Elf
        name = f"{name} {race}"
    collection = convert.collection_of(item.kind, item.raw)
    names = srd_names()
    return name in names.get(collection, frozenset()) | names.get(
        _SPECIES.get(collection, ""), frozenset()
    )


_SPECIES = {"races": "species", "subraces": "subspecies"}


def _only_source(item: Item) -> str:
    """The `json` of the one source the item's file declares, lower-cased; "" when it declares
    none or several."""
    meta = item.file.doc.get("_meta")
    sources = meta.get("sources") if isinstance(meta, dict) else None
    if isinstance(sources, list) and len(sources) == 1 and isinstance(sources[0], dict):
        return _low(sources[0].get("json"))
    return ""


def _low(value: Any) -> str:
    return str(value if value is not None else "").strip().lower()


def item_type_key(uid: str) -> tuple[str, str]:
    """`"GS|XPHB"` → `("gs", "xphb")`; without a source, the PHB's (5etools'
    `DataUtil.itemType.unpackUid`)."""
    abbreviation, _, source = uid.partition("|")
    return _low(abbreviation), _low(source.partition("|")[0]) or "phb"


def entity_source(raw: dict[str, Any]) -> Any:
    """An object's source; a generic magic variant's is in `inherits` (5etools'
    `SourceUtil.getEntitySource`)."""
    inherits = raw.get("inherits")
    return raw.get("source") or (inherits.get("source") if isinstance(inherits, dict) else None)


def identity(kind: str, raw: dict[str, Any]) -> tuple[str, ...]:
    """What makes an object of `kind` unique in 5etools (its hash): name and source, and for
    some types the class, race, pantheon or deck it belongs to."""
    base = (kind, _low(raw.get("name")), _low(entity_source(raw)))
    if kind in ("itemProperty", "itemType") and raw.get("abbreviation"):
        return (kind, _low(raw["abbreviation"]), _low(entity_source(raw)))
    if kind in ("classFeature", "subclassFeature"):
        return refs.key_of(kind, raw)
    extra = {
        "subclass": ("className", "classSource"),
        "subrace": ("raceName", "raceSource"),
        "deity": ("pantheon",),
        "card": ("set",),
    }.get(kind, ())
    return (*base, *(_low(raw.get(k)) for k in extra))


def _implicit_name(kind: str, raw: dict[str, Any]) -> dict[str, Any] | None:
    """An item property without a `name` is named by its first entry, as 5etools names it."""
    if kind not in ("itemProperty", "itemType"):
        return None
    first = (raw.get("entries") or [None])[0]
    name = first.get("name") if isinstance(first, dict) else None
    name = name or raw.get("abbreviation")
    return {**raw, "name": str(name)} if name else None


# `_meta.dependencies` of (sub)classes and their features name 5etools' own classes by these
# identifiers (its `data/class/index.json`), homebrew ones by source.
CLASS_IDENTIFIERS = frozenset(
    {"artificer", "barbarian", "bard", "cleric", "druid", "fighter", "monk", "mystic",
     "paladin", "ranger", "rogue", "sidekick", "sorcerer", "warlock", "wizard"}
)  # fmt: skip
_CLASS_KINDS = frozenset({"class", "subclass", "classFeature", "subclassFeature"})


def _pack(source: dict[str, Any]) -> Pack:
    authors = source.get("authors") or []
    converted = source.get("convertedBy") or []
    return Pack(
        id=pack_id(source["json"]),
        title=str(source.get("full") or source["json"]),
        version=str(source.get("version", "")),
        edition=source.get("_edition"),
        authors=[str(a) for a in authors] + [f"{c} (conversion)" for c in converted],
        homepage=str(source.get("url", "")),
        description=f"5etools homebrew source {source['json']}"
        + (f" ({source['abbreviation']})" if source.get("abbreviation") else ""),
        source_id=str(source["json"]),
        abbreviation=str(source.get("abbreviation", "")),
    )


@dataclass
class Version:
    """One entry an object's `_versions` make: `raw` resolved, or None when a template it uses
    is in another pack (then `derive` makes it at install time from `parent`)."""

    raw: dict[str, Any] | None
    version: dict[str, Any]
    at: JsonPath
    written: JsonPath
    templates: dict[int, dict[str, Any]]
    parent: dict[str, Any]


class Builder:
    """Resolves copies and fluff, and turns items into entries of their packs."""

    def __init__(self, reader: Reader) -> None:
        self.r = reader
        self.resolved: dict[int, dict[str, Any] | None] = {}
        self.visiting: set[int] = set()
        self.index = {id(i): i for i in reader.items}
        self._features: refs.Features | None = None
        self._has_tables = any(i.kind == "table" for i in reader.items)

    def features(self) -> refs.Features:
        """The class, subclass and optional features of these files, resolved."""
        if self._features is None:
            found = []
            for item in self.r.items:
                if item.kind in refs.KINDS:
                    raw = self.resolve(item)
                    if raw is not None:
                        found.append((item.kind, raw))
            self._features = refs.Features(found)
        return self._features

    def type_entries(self, raw: dict[str, Any]) -> list[Any]:
        """The `itemTypeAdditionalEntries` of the item's type, as one section after its own
        entries (5etools shows them under a rule after the item's text)."""
        kind = raw.get("type")
        found = self.r.type_entries.get(item_type_key(kind)) if isinstance(kind, str) else None
        return [{"type": "entries", "entries": copy._clone(found)}] if found else []

    def item_entries(self, raw: dict[str, Any]) -> list[Any]:
        """An item's `entries` with each `"{#itemEntry Name|Source}"` replaced by that
        itemEntry's `entriesTemplate`, its `{{item.field}}` filled from the item."""
        out: list[Any] = []
        for entry in raw.get("entries") or []:
            m = _ITEM_ENTRY.fullmatch(entry.strip()) if isinstance(entry, str) else None
            found = None
            if m is not None:
                name, _, source = m[1].partition("|")
                found = self.r.item_entries.get((_low(name), _low(source or "DMG")))
            if found is None:  # of other files: a reference to the item it describes
                out.append(f"{{@item {m[1]}}}" if m is not None else entry)
                continue

            def fill(text: str) -> str:
                def value(v: re.Match[str]) -> str:
                    path = v[1].strip().split(" ")[-1].split(".")
                    got: Any = raw
                    for part in path[1:] if path[0] == "item" else []:
                        got = got.get(part) if isinstance(got, dict) else None
                    if isinstance(got, list):
                        return ", ".join(map(str, got))
                    return "" if got is None else str(got)

                return _TEMPLATE_FIELD.sub(value, text)

            out.extend(copy._walk_strings(found.get("entriesTemplate") or [], fill))
        return out

    def draw_tables(self, value: Any, source: str = "") -> Any:
        """`value` (entries) with each `statblock` of a table of these files (`"tag": "table"`,
        MonkeyDM's Poison Rework's Foraging Table) replaced by the table, drawn where it stands
        as 5etools draws it: its intro, the table captioned with its name (a link to its card),
        its outro. A table of other files stays a link."""
        if not self._has_tables:
            return value
        if isinstance(value, list):
            drawn_items = [self.draw_tables(v, source) for v in value]
            same = all(a is b for a, b in zip(drawn_items, value, strict=True))
            return value if same else drawn_items  # unchanged: the same object, not a copy
        if not isinstance(value, dict):
            return value
        if (
            value.get("type") == "statblock"
            and (value.get("tag") or value.get("prop")) == "table"
            and isinstance(value.get("name"), str)
        ):
            own = _low(value.get("source") or source)
            found = self.r.identities.get(("table", _low(value["name"]), own))
            table = self.resolve(found) if found is not None else None
            if table is None or not (table.get("rows") or table.get("tables")):
                return value
            caption = f"{{@table {table.get('name')}|{table.get('source') or own}}}"
            drawn: list[Any] = [
                {"type": "table", "caption": caption, **{k: v for k, v in table.items()
                 if k in ("colLabels", "colStyles", "rows", "footnotes")}}
            ] if table.get("rows") else [
                {"type": "entries", "name": caption, "entries": [
                    {"type": "table", **t} for t in table["tables"] if isinstance(t, dict)]}
            ]  # fmt: skip
            return {"type": "entries", "entries": [
                *(table.get("intro") or []), *drawn, *(table.get("outro") or [])]}  # fmt: skip
        drawn_value = {
            k: self.draw_tables(v, source) if isinstance(v, list | dict) else v
            for k, v in value.items()
        }
        return value if all(drawn_value[k] is v for k, v in value.items()) else drawn_value

    def record(self, kind: str, raw: dict[str, Any]) -> dict[str, Any]:
        """`convert.record`, with the features this object references shown in its text (a
        class's and a subclass's listed features too), the tables of these files it shows
        drawn in place, and an item's `{#itemEntry}` texts, its type's additional entries and
        the name of a type of the files' own; the stored 5etools object unchanged."""
        drawn = self.draw_tables(raw, str(raw.get("source") or ""))
        data = self._record(kind, drawn)
        if drawn is not raw and data.get(convert.RAW) is drawn:
            data[convert.RAW] = raw
        if kind in _ITEM_KINDS and not data.get("equipment_category"):
            # `"type": "Dino|DDHC-TOA-3"`: an `itemType` of these files, named on the card as
            # 5etools names it (`Dinosaur Part`)
            code = raw.get("type")
            key = item_type_key(code) if isinstance(code, str) and code else None
            own = self.r.identities.get(("itemType", *key)) if key else None
            name = own.raw.get("name") if own is not None else None
            if isinstance(name, str) and name.strip():
                data["equipment_category"] = {"index": convert.slug(name), "name": name.strip()}
        return data

    def _record(self, kind: str, raw: dict[str, Any]) -> dict[str, Any]:
        if kind in _ITEM_KINDS:
            extra = self.type_entries(raw)
            loot = self.r.loot_tables.get((_low(raw.get("source")), _low(raw.get("name"))))
            shown = raw
            if any(isinstance(e, str) and "{#itemEntry" in e for e in raw.get("entries") or []):
                shown = {**shown, "entries": self.item_entries(raw)}
            if "{=" in json.dumps(shown.get("entries") or []):
                # `{=bonusAc}` in an item's own text (Stabbath's +4 Shield): its own field, as
                # a generic variant's fills from what it makes (`_inject`)
                props = {**(raw.get("inherits") or {}), **raw}
                shown = {**shown, "entries": _inject(shown.get("entries"), props)}
            if extra:
                shown = {**shown, "entries": [*(shown.get("entries") or []), *extra]}
            if loot:
                tables = [*(raw.get("lootTables") or []), *loot]
                raw = {**raw, "lootTables": list(dict.fromkeys(tables))}
                shown = {**shown, "lootTables": raw["lootTables"]}
            if shown is not raw or loot:
                data = convert.record(kind, shown)
                data[convert.RAW] = raw
                return data
        if kind not in refs.USERS:
            return convert.record(kind, raw)
        features = self.features()
        shown = dict(raw)
        if isinstance(raw.get("entries"), list):
            shown["entries"] = features.expand(raw["entries"])
        if kind in ("class", "subclass"):
            shown["entries"] = [*(shown.get("entries") or []), *features.listed(raw, kind)]
        data = convert.record(kind, shown)
        data[convert.RAW] = raw
        return data

    def base_of(self, item: Item) -> Item | None:
        meta = item.raw["_copy"]
        name, source = str(meta.get("name", "")).lower(), str(meta.get("source", "")).lower()
        if item.kind in ("itemProperty", "itemType") and meta.get("abbreviation"):
            return self.r.identities.get((item.kind, _low(meta["abbreviation"]), source))
        for kind in _copy_kinds.get(item.kind, (item.kind,)):
            # the whole identity first: a subclass copying the one of the same name and
            # source written for another class (`"className": "Generic"`) is not itself
            found = self.r.identities.get(identity(kind, meta))
            if found is None or found is item:
                found = self.r.by_key.get((kind, name, source))
            if (found is None or found is item) and kind in (
                "classFeature",
                "subclassFeature",
                "subclass",
                "subrace",
                "card",
            ):
                found = next(
                    (
                        i
                        for i in self.r.items
                        if i.kind == kind
                        and i is not item
                        and str(i.raw.get("name", "")).lower() == name
                        and str(i.raw.get("source", "")).lower() == source
                    ),
                    found,
                )
            if found is not None:
                return found  # itself only when nothing else fits: a cycle
        return None

    def templates(self, item: Item) -> tuple[dict[int, dict[str, Any]], list[int]]:
        """The item's `_copy._templates` found in these files, and those that are not."""
        return self.template_refs(item.kind, item.raw["_copy"])

    def resolve(self, item: Item) -> dict[str, Any] | None:
        """The item's full 5etools object; None when its copy failed (a problem says why) or
        it is resolved by d5e at install time (see `deferred`)."""
        if id(item) in self.resolved:
            return self.resolved[id(item)]
        raw = item.raw
        if "_copy" not in raw:
            result: dict[str, Any] | None = self._finish(item, raw)
            self.resolved[id(item)] = result
            return result
        if not isinstance(raw["_copy"], dict):
            self.r.problems.append(item.problem("`_copy` must be an object", ("_copy",)))
            self.resolved[id(item)] = None
            return None
        base = self.base_of(item)
        found, missing = self.templates(item)
        if base is None or missing:
            self.resolved[id(item)] = None  # resolved by d5e against the installed packs
            return None
        if id(item) in self.visiting:
            self.r.problems.append(
                item.problem(
                    f"`_copy` of {raw['_copy'].get('name')!r} leads back to "
                    f"{raw.get('name')!r} (a cycle)",
                    ("_copy",),
                )
            )
            self.resolved[id(item)] = None
            return None
        self.visiting.add(id(item))
        base_raw = self.resolve(base)
        self.visiting.discard(id(item))
        if base_raw is None:  # its base failed (a problem says why) or is in another pack
            self.resolved[id(item)] = None
            return None
        try:
            result = copy.derive(base_raw, raw, [found[i] for i in sorted(found)], item.kind)
        except copy.ModError as exc:
            self.r.problems.append(item.problem(exc.message, exc.path))
            result = None
        if result is not None:
            result = self._finish(item, result)
        self.resolved[id(item)] = result
        return result

    def _finish(self, item: Item, raw: dict[str, Any]) -> dict[str, Any]:
        """The object with its fluff, and a race with its "base" subrace merged in."""
        raw = self._with_fluff(item, raw)
        if item.kind == "race":
            base = self.r.base_subraces.get((_low(raw.get("name")), _low(raw.get("source"))))
            if base is not None:
                raw = races.merge(raw, base.raw)
            raw = races.lineage(raw)
        return raw

    def deferred(self, item: Item, seen: frozenset[int] = frozenset()) -> bool:
        """Whether the item is a copy d5e resolves at install time (see `derive`): of an entry
        of another pack, or using a template of another pack, directly or through copies in
        these files."""
        if not isinstance(item.raw.get("_copy"), dict) or id(item) in seen:
            return False
        base = self.base_of(item)
        return (
            base is None or bool(self.templates(item)[1]) or self.deferred(base, seen | {id(item)})
        )

    def external_ref(self, item: Item) -> str | None:
        """The ref of what a deferred item copies: another pack's entry, or the entry its
        base in these files becomes."""
        base = self.base_of(item)
        if base is None:
            return _external_ref(item)
        if not self.deferred(base):
            resolved = self.resolve(base)
            if resolved is None:
                return None
            collection = convert.collection_of(base.kind, resolved)
        else:
            ref = self.external_ref(base)
            if ref is None:
                return None
            collection = ref.split(":", 1)[1].split("/", 1)[0]
        pack = pack_id(str(base.raw.get("source") or self.r.order[0]))
        return f"{pack}:{collection}/{convert.slug_for(base.kind, base.raw)}"

    def template_refs(
        self, kind: str, meta: dict[str, Any]
    ) -> tuple[dict[int, dict[str, Any]], list[int]]:
        """A `_copy`'s `_templates` found in these files (by position), and the positions of
        those that are not (looked up in the installed packs by `derive`)."""
        found: dict[int, dict[str, Any]] = {}
        missing = []
        refs = meta.get("_templates") or []
        for i, ref in enumerate(refs if isinstance(refs, list) else []):
            if not isinstance(ref, dict):
                missing.append(i)  # told by `derive`
                continue
            key = (
                TEMPLATE_KINDS.get(kind, "monsterTemplate"),
                str(ref.get("name", "")).lower().strip(),
                str(ref.get("source", "")).lower().strip(),
            )
            template = self.r.by_key.get(key)
            if template is None:
                missing.append(i)
            else:
                found[i] = template.raw
        return found, missing

    def unheld_template(self, kind: str, meta: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
        """The first of a `_copy`'s `_templates` that is neither in these files nor ever
        installable: of a book 5etools publishes (the SRD holds no templates)."""
        refs = meta.get("_templates")
        for i in self.template_refs(kind, meta)[1]:
            ref = refs[i] if isinstance(refs, list) else None
            if isinstance(ref, dict) and _low(ref.get("source")) in OFFICIAL_SOURCES:
                return i, ref
        return None

    def left_out(
        self, item: Item, seen: frozenset[int] = frozenset()
    ) -> tuple[JsonPath, str] | None:
        """Why a copy can never be made (where, and what): a template of a book d5e does not
        hold, its own or that of the copy in these files it is built on."""
        meta = item.raw.get("_copy")
        if not isinstance(meta, dict) or id(item) in seen:
            return None
        unheld = self.unheld_template(item.kind, meta)
        if unheld is not None:
            i, ref = unheld
            return ("_copy", "_templates", i), (
                f"its template {ref.get('name')!r} is of {ref.get('source')!r}, a book d5e does "
                "not hold (the SRD has no creature templates)"
            )
        base = self.base_of(item)
        if base is None or base is item or self.left_out(base, seen | {id(item)}) is None:
            return None
        return ("_copy",), f"it is built on {base.raw.get('name')!r}, which is left out"

    def versions(self, item: Item, resolved: dict[str, Any]) -> list[Version]:
        """The entries the item's `_versions` make (5etools' `getVersions`), each resolved
        against the item, with where it was written; a problem for each that cannot be. A
        version using a template of another pack is left to `derive` (its `raw` is None)."""
        parent = resolved
        if item.kind == "subrace":  # a subrace's versions are of the race it makes
            race = self.r.by_key.get(
                ("race", _low(resolved.get("raceName")), _low(resolved.get("raceSource")))
            )
            race_raw = self.resolve(race) if race is not None else None
            if race_raw is not None:
                parent = races.merge(race_raw, resolved)
        try:
            made = copy.versions_written(parent)
        except copy.ModError as exc:
            self.r.problems.append(item.problem(exc.message, exc.path))
            return []
        out = []
        for version, at, written in made:
            found, missing = self.template_refs(item.kind, version["_copy"])
            if missing:
                out.append(Version(None, version, at, written, found, parent))
                continue
            try:
                raw = copy.derive(
                    copy.version_parent(parent, version),
                    version,
                    [found[i] for i in sorted(found)],
                    item.kind,
                    at,
                )
            except copy.ModError as exc:
                self.r.problems.append(item.problem(exc.message, exc.path))
                continue
            out.append(Version(raw, version, at, written, found, parent))
        return out

    def _with_fluff(self, item: Item, raw: dict[str, Any]) -> dict[str, Any]:
        """The object with its fluff, as 5etools' `Renderer.utils.pGetFluff` finds it: the
        object's own `fluff`, laid over by the fluff entry its `_{kind}Fluff` names and followed
        by the one its `_append{Kind}Fluff` names (a recipe's `{"_recipeFluff": {"name":
        "Slayer's Cake"}}`); else the fluff entry of its own name."""
        own = raw.get("fluff")
        if not isinstance(own, dict):
            fluff = self._fluff_body(item, item.key)
            return raw if fluff is None else {**raw, "fluff": fluff}
        kind = item.kind
        mapped, appended = f"_{kind}Fluff", f"_append{kind[:1].upper()}{kind[1:]}Fluff"
        if mapped not in own and appended not in own:
            return raw
        fluff = {k: v for k, v in own.items() if k in ("entries", "images")}
        for prop in (mapped, appended):
            ref = own.get(prop)
            if not isinstance(ref, dict):
                continue
            name = str(ref.get("name", "")).lower()
            source = str(ref.get("source") or entity_source(raw) or "").lower()
            found = self._fluff_body(item, (kind, name, source))
            if found is None:
                continue
            if prop == mapped:
                fluff.update({k: v for k, v in found.items() if v})
            else:
                for key in ("entries", "images"):
                    if found.get(key):
                        fluff[key] = [*(fluff.get(key) or []), *found[key]]
        return {**raw, "fluff": fluff}

    def _fluff_body(self, item: Item, key: tuple[str, str, str]) -> dict[str, Any] | None:
        """The `entries` and `images` of the fluff entry of `key` (its `_copy` applied)."""
        fluff = self.r.fluff.get(key)
        if fluff is None:
            return None
        body = fluff.raw
        if "_copy" in body:
            base = self.r.fluff.get(
                (
                    item.kind,
                    str(body["_copy"].get("name", "")).lower(),
                    str(body["_copy"].get("source", "")).lower(),
                )
            )
            if base is not None:
                try:
                    body = copy.derive(base.raw, body, [])
                except copy.ModError as exc:
                    self.r.problems.append(fluff.problem(exc.message, exc.path))
        return {k: v for k, v in body.items() if k in ("entries", "images")}


def _external_ref(item: Item) -> str | None:
    meta = item.raw["_copy"]
    source = str(meta.get("source", ""))
    name = str(meta.get("name") or meta.get("abbreviation") or "")
    if not convert.slug(name):
        return None
    pack = SRD_SOURCES.get(source.lower()) or pack_id(source)
    collection = convert.COLLECTIONS.get(item.kind)
    if collection is None:
        return None
    if item.kind in ("item", "baseitem") and pack.startswith("srd-"):
        # the Dungeon Master's Guide's items are magic, the Player's Handbook's mundane
        collection = "magic-items" if source.lower() in ("dmg", "xdmg") else "equipment"
    if pack == "srd-2024":  # 5e-database's 2024 names: species, not races
        collection = {"races": "species", "subraces": "subspecies"}.get(collection, collection)
    form = (
        SRD_FORMS.get(convert.slug(name))
        if (pack, collection) == ("srd-2014", "monsters")
        else None
    )
    if form is not None:
        return f"{pack}:{collection}/{form}"
    if pack == "srd-2014" and item.kind == "subclass" and meta.get("shortName"):
        name = str(meta["shortName"])  # 5e-database names the 2014 subclasses so: `Berserker`
    if pack.startswith("srd-") and item.kind != "subrace":  # `Hill` of `Dwarf`: `hill-dwarf`
        return f"{pack}:{collection}/{convert.slug(name)}"
    # another 5etools pack: its slugs name the class, race or deck (`druid-circle-of-the-land`)
    return f"{pack}:{collection}/{convert.slug_for(item.kind, {**meta, 'name': name})}"


def _left_out_version(
    builder: Builder, item: Item, version: dict[str, Any], written: JsonPath, loaded: LoadedPack
) -> bool:
    """Whether a version uses a template of a book d5e does not hold: then it is left out,
    and a warning says so."""
    unheld = builder.unheld_template(item.kind, version.get("_copy") or {})
    if unheld is None:
        return False
    name = version.get("name") or item.raw.get("name")
    loaded.problems.append(
        item.problem(
            f"version {name!r} left out: its template {unheld[1].get('name')!r} is of "
            f"{unheld[1].get('source')!r}, a book d5e does not hold",
            (*written, "_templates", unheld[0]) if written else (),
            "warning",
        )
    )
    return True


def _located(entry: Entry, exc: copy.ModError, base_ref: str) -> PackProblem:
    where = entry.data.get("5etools_at", {})
    shown = ".".join(map(str, exc.path))
    fallback = (entry.source.line if entry.source else 0, 0)
    line, column = where.get(shown, fallback)
    root = entry.data.get("5etools_path")  # the JSON path from the file's root
    return PackProblem(
        file=entry.source.path if entry.source else "",
        line=line,
        column=column,
        field=f"{root}.{shown}" if root and shown else shown or str(root or ""),
        message=f"{exc.message} (copying {base_ref})",
    )


def _installed_templates(
    entry: Entry,
    refs: Any,
    in_files: dict[str, Any],
    find: FindEntry | None,
    base_ref: str,
    at: JsonPath = ("_copy",),
) -> tuple[list[dict[str, Any]], list[PackProblem]]:
    """The `_templates` of a deferred entry: those of its own files (`in_files`, by
    position), the others read from the installed packs (`monster-templates`, or for a
    legendary group `legendary-group-templates`, of the pack of their source); a problem names
    each that is nowhere."""
    kind = TEMPLATE_KINDS.get(str(entry.data.get("5etools_type")), "monsterTemplate")
    collection = convert.COLLECTIONS[kind]
    out, problems = [], []
    for i, ref in enumerate(refs if isinstance(refs, list) else []):
        if str(i) in in_files:
            out.append(in_files[str(i)])
            continue
        if not isinstance(ref, dict):
            exc = copy.ModError("a template is {name, source}", (*at, "_templates", i))
            problems.append(_located(entry, exc, base_ref))
            continue
        name, source = str(ref.get("name", "")), str(ref.get("source", ""))
        pack = SRD_SOURCES.get(source.lower()) or pack_id(source)
        record = find(pack, collection, convert.slug(name)) if find else None
        if record is None or not isinstance(record[1].get(convert.RAW), dict):
            where = (
                f"the SRD holds no {collection.replace('-', ' ')}"
                if pack.startswith("srd-")
                else f"pack {pack!r} has no {collection}/{convert.slug(name)}"
            )
            exc = copy.ModError(
                f"template {name!r} of source {source!r} is neither in these files nor "
                f"installed ({where})",
                (*at, "_templates", i),
            )
            problems.append(_located(entry, exc, base_ref))
            continue
        out.append(record[1][convert.RAW])
    return out, problems


def derive(
    entry: Entry,
    base_ref: str,
    base_name: str,
    base: dict[str, Any],
    find: FindEntry | None = None,
) -> tuple[Entry, list[PackProblem]]:
    """A `_copy` whose base or templates are installed in another pack, resolved at install
    time by d5e (then, for a version, the version laid over that)."""
    kind = entry.data["5etools_type"]
    if "5etools_parent" in entry.data:
        return _derive_version(entry, base_ref, find)
    own = entry.data[convert.RAW]
    collection = base_ref.split(":", 1)[1].split("/", 1)[0]
    base_raw = srd.to_5etools(collection, base_name, base)
    in_files = entry.data.get("5etools_templates", {})
    templates, problems = _installed_templates(
        entry, own["_copy"].get("_templates"), in_files, find, base_ref
    )
    version = entry.data.get("5etools_version")
    if version is not None:
        at = tuple(version["at"])
        refs = version["raw"]["_copy"].get("_templates")
        version_templates, found = _installed_templates(
            entry, refs, version.get("templates", {}), find, base_ref, at
        )
        problems += found
    if problems:
        return entry, problems
    # a base of another format (the SRD's records) stands in for the book's object the copy
    # was written for: a change whose target it lacks (an action the Monster Manual has and
    # the SRD not) is left out with a warning, the others applied
    stand_in = not isinstance(base.get(convert.RAW), dict)
    skipped: list[copy.ModError] | None = [] if stand_in else None
    try:
        raw = copy.derive(base_raw, own, templates, kind, skipped=skipped)
        if version is not None:
            parent = copy.version_parent(raw, version["raw"])
            raw = copy.derive(parent, version["raw"], version_templates, kind, at)
    except copy.ModError as exc:
        return entry, [_located(entry, exc, base_ref)]
    warnings = [
        msgspec.structs.replace(
            _located(entry, exc, base_ref),
            severity="warning",
            message=f"{exc.message} (copying {base_ref}, which stands in for "
            f"{own['_copy'].get('source')}'s {own['_copy'].get('name')!r}: this change is "
            "left out)",
        )
        for exc in skipped or []
    ]
    data = {k: v for k, v in base.items() if k not in ("index", "name", "url", convert.RAW)}
    made = convert.record(kind, raw)
    if stand_in:  # a field the copy removes (`"action": null`, Kraken's Gamble's Lord Artan)
        # is gone from the record too, not left as the SRD's record has it
        for key in convert.record(kind, base_raw).keys() - made.keys():
            data.pop(key, None)
    data.update(made)
    convert.apply_codes(
        convert.collection_of(kind, raw), data, entry.data.get("5etools_codes") or {}
    )
    name = convert.plain_tags(str(raw.get("name", entry.name)))
    resolved = msgspec.structs.replace(
        entry,
        collection=convert.collection_of(kind, raw),
        name=name,
        data=data,
        extends=Extends(ref=base_ref),
    )
    return resolved, warnings


def _derive_version(
    entry: Entry, base_ref: str, find: FindEntry | None
) -> tuple[Entry, list[PackProblem]]:
    """A version of an object resolved in its files, using a template of another installed
    pack: made from that object as read (`5etools_parent`), with the templates found."""
    kind = entry.data["5etools_type"]
    version = entry.data["5etools_version"]
    at = tuple(version["at"])
    refs = version["raw"]["_copy"].get("_templates")
    templates, problems = _installed_templates(
        entry, refs, version.get("templates", {}), find, base_ref, at
    )
    if problems:
        return entry, problems
    parent = entry.data["5etools_parent"]
    try:
        raw = copy.derive(
            copy.version_parent(parent, version["raw"]), version["raw"], templates, kind, at
        )
    except copy.ModError as exc:
        return entry, [_located(entry, exc, base_ref)]
    resolved = msgspec.structs.replace(
        entry,
        collection=convert.collection_of(kind, raw),
        name=convert.plain_tags(str(raw.get("name", entry.name))),
        data=convert.record(kind, raw),
        extends=Extends(ref=base_ref),
    )
    return resolved, []


def _mod_positions(item: Item) -> dict[str, tuple[int, int]]:
    """Where each part of `_copy` and `_versions` was written (to a few levels), for problems
    found at install time."""
    out: dict[str, tuple[int, int]] = {}

    def walk(value: Any, path: JsonPath, depth: int) -> None:
        out[".".join(map(str, path))] = item.where(path)
        if depth == 0:
            return
        if isinstance(value, dict):
            for key, inner in value.items():
                if isinstance(inner, dict | list) or key in ("mode", "replace", "names", "name"):
                    walk(inner, (*path, key), depth - 1)
        elif isinstance(value, list):
            for i, inner in enumerate(value):
                if isinstance(inner, dict | list):
                    walk(inner, (*path, i), depth - 1)

    for key in ("_copy", "_versions"):
        if key in item.raw:
            walk(item.raw[key], (key,), 6)
    return out


def _headed(entries: list[Any]) -> list[Any]:
    """A section's named entries as headings, as 5etools draws a section's children (its block
    headers, the contents' headers: Wolves of Welton's `Summary`, `Scene 1: …`), not run into
    their first paragraph."""
    return [
        {**e, "type": "section"}
        if isinstance(e, dict) and e.get("type", "entries") == "entries" and e.get("name")
        else e
        for e in entries
    ]


def _document_entries(
    item: Item, titles: dict[str, str], builder: Builder
) -> list[tuple[str, str, dict[str, Any]]]:
    """An adventure's or book's data: one entry per top-level section, named after the
    adventure (its entry in `adventure`/`book`, by `id`) and the section; the tables of these
    files it shows drawn in place (`Builder.draw_tables`)."""
    kind = convert.DOCUMENTS[item.kind]
    collection = convert.COLLECTIONS[kind]
    ident = str(item.raw.get("id", ""))
    title = str(item.raw.get("name") or titles.get(ident.lower()) or ident)
    out = []
    sections = item.raw.get("data")
    for i, section in enumerate(sections if isinstance(sections, list) else [sections]):
        if not isinstance(section, dict):
            continue
        name = str(section.get("name") or f"Section {i + 1}")
        data = {
            "index": "",
            "name": name,
            "desc": blocks(
                _headed(
                    builder.draw_tables(section.get("entries") or [], _low(item.raw.get("source")))
                )
            ),
            kind: str(item.raw.get("id", "")),
            "section": i + 1,
            convert.RAW: section,
        }
        out.append((collection, f"{title} {i + 1:02d} {name}", data))
    return out


# The last few paths read, by their files' content: a re-install of unchanged files (a save
# that changed nothing, `packPaths` at every start) skips the conversion. What is cached is
# only what the files say; copies of installed entries are resolved by d5e at each install.
# The entries and problems are kept encoded (msgspec JSON, like the folder packs' parse cache):
# 2,800 converted entries took ~21 MB as objects, held while the search indexer loads the model
# and embeds them after the install; encoded they take ~5 MB and decode in ~50 ms.
class _Converted(msgspec.Struct):
    entries: list[Entry]
    problems: list[PackProblem]


_CACHE: OrderedDict[tuple[str, str], list[tuple[LoadedPack, bytes]]] = OrderedDict()
_CACHED = 4
_encode_converted = msgspec.json.Encoder().encode
_decode_converted = msgspec.json.Decoder(_Converted).decode


def _fingerprint(path: Path) -> str:
    digest = hashlib.sha256()
    files, too_large = _files(path)
    digest.update((too_large or "").encode())
    for file in files:
        digest.update(str(file).encode() + b"\0")
        try:
            digest.update(read_data_file(file, follow=True))
        except OSError:
            digest.update(b"unreadable")
    return digest.hexdigest()


def load(path: Path) -> list[LoadedPack] | None:
    """The packs of a 5etools file or folder; None when `path` is not 5etools homebrew."""
    if not recognises(path):
        return None
    key = (str(path.resolve()), _fingerprint(path))
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return [_thawed(shell, blob) for shell, blob in _CACHE[key]]
    try:
        with copy.copying():
            packs = _load(path)
    finally:
        # the slugs memoised during the conversion: a few small strings per entry, scattered
        # over the memory the conversion used and freed, kept it from going back to the system
        # (~20 MB for 2,800 entries, beside the model the search indexer loads next)
        convert.slug.cache_clear()
    _CACHE[key] = [
        (
            dataclasses.replace(p, entries=[], problems=[], requires=list(p.requires)),
            _encode_converted(_Converted(p.entries, p.problems)),
        )
        for p in packs
    ]
    while len(_CACHE) > _CACHED:
        _CACHE.popitem(last=False)
    return packs


def _thawed(shell: LoadedPack, blob: bytes) -> LoadedPack:
    """A cached pack as new objects. The cyclic garbage collector is paused meanwhile: the
    thousands of containers decoded at once triggered collections of the whole heap, which
    made a 50 ms decode take 0.1-0.5 s."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        converted = _decode_converted(blob)
    finally:
        if collecting:
            gc.enable()
    return dataclasses.replace(
        shell,
        entries=converted.entries,
        problems=converted.problems,
        requires=list(shell.requires),
        derive=_derive(),
    )


def _derive() -> Derive:
    """`derive` for one load's packs: their copies of installed entries share one budget
    (`copy.MAX_COPIED`) at the install."""
    budget = copy.Copying()

    @functools.wraps(derive)
    def derive_counted(
        entry: Entry,
        base_ref: str,
        base_name: str,
        base: dict[str, Any],
        find: FindEntry | None = None,
    ) -> tuple[Entry, list[PackProblem]]:
        with copy.copying(budget):
            return derive(entry, base_ref, base_name, base, find)

    return derive_counted


def _load(path: Path) -> list[LoadedPack]:
    reader = Reader(path)
    reader.read()
    shown = str(path)
    if not reader.order:
        if not any(p.severity == "error" for p in reader.problems):
            reader.problems.append(
                PackProblem(
                    file=shown,
                    line=1,
                    column=1,
                    field="_meta.sources",
                    message="no `_meta.sources`: 5etools homebrew names its sources there",
                )
            )
        return [
            LoadedPack(
                pack=Pack(id=pack_id(path.stem), title=path.stem),
                problems=reader.problems,
                root=path.resolve(),
            )
        ]
    builder = Builder(reader)
    packs = {
        key: LoadedPack(pack=_pack(reader.sources[key]), root=path.resolve(), derive=_derive())
        for key in reader.order
    }
    first = reader.order[0]
    for kind, (count, file, line, column) in sorted(reader.unmapped.items()):
        why = NOT_CONTENT.get(kind) or (
            "Foundry VTT automation data, not content"
            if kind.startswith("foundry")
            else "d5e does not map this 5etools type yet"
        )
        reader.problems.append(
            PackProblem(
                file=file,
                line=line,
                column=column,
                field=kind,
                severity="warning",
                message=f"{count} `{kind}` entr{'y' if count == 1 else 'ies'} not read: {why}",
            )
        )
    declared = {d.lower() for d in reader.dependencies}
    expansions: dict[str, list[Entry]] = {p.pack.id: [] for p in packs.values()}
    # an entry whose `source` is a declared source's abbreviation (5etools wants its `json`)
    # is of that source: said once per abbreviation, with how many entries do it
    abbreviated = {
        str(s["abbreviation"]).lower(): key
        for key, s in reader.sources.items()
        if isinstance(s.get("abbreviation"), str) and s["abbreviation"].lower() not in packs
    }
    by_abbreviation: dict[str, list[Item]] = {}
    undeclared: dict[str, list[Item]] = {}
    restated: dict[str, list[Item]] = {}
    for item in reader.items:
        raw = item.raw
        source = _item_source(item, packs.keys() | abbreviated.keys()) or first
        loaded = packs.get(source)
        if loaded is None and _restates_srd(item, source):
            # the SRD's book's own entry written again (SabotageThis' Ash Elves: the PHB's Elf,
            # `"source": "PHB"`, to hold its `Ash` subrace): not this file's, the SRD holds it;
            # its subraces, the file's own, are still read with it
            restated.setdefault(source, []).append(item)
            continue
        if loaded is None and source in abbreviated:
            loaded = packs[abbreviated[source]]
            by_abbreviation.setdefault(source, []).append(item)
        elif loaded is None and _only_source(item) in packs:
            # a source the file does not declare, in a file of one source (Cyrus' Orog:
            # `"source": "MyHomebrew"` under `"json": "cyrushomebrewstuff"`): 5etools lists it
            # all the same; it is that source's
            loaded = packs[_only_source(item)]
            undeclared.setdefault(source, []).append(item)
        if loaded is None:
            reader.problems.append(
                item.problem(
                    f"source {raw.get('source')!r} is not one of the file's `_meta.sources`",
                    ("source",),
                )
            )
            continue
        line, _ = item.where()
        where = Source(path=item.file.resolved, line=line)
        resolved = builder.resolve(item)
        if resolved is None and builder.deferred(item):
            reason = builder.left_out(item)
            if reason is not None:
                loaded.problems.append(
                    item.problem(
                        f"{item.kind} {raw.get('name')!r} left out: {reason[1]}",
                        reason[0],
                        "warning",
                    )
                )
                continue
            ref = builder.external_ref(item)
            if ref is None:
                what = f"cannot copy a {item.kind}"
                if not (raw["_copy"].get("name") or raw["_copy"].get("abbreviation")):
                    what = "`_copy` needs the `name` and `source` of what it copies"
                reader.problems.append(item.problem(what, ("_copy",)))
                continue
            base_pack = ref.split(":", 1)[0]
            copied_source = str(raw["_copy"].get("source", "")).lower()
            own_source = copied_source in reader.sources or copied_source in abbreviated
            if builder.base_of(item) is None and own_source:
                # a source of these files: what it copies can only be in them (told now, with
                # the files' other problems, not after they are fixed)
                copied = raw["_copy"]
                reader.problems.append(
                    item.problem(
                        f"cannot copy {copied.get('name', copied.get('abbreviation'))!r} of "
                        f"source {copied.get('source')!r}: no {item.kind} of that name and "
                        "source is in these files",
                        ("_copy", "name") if "name" in copied else ("_copy",),
                    )
                )
                continue
            # a copy of a 5etools book d5e cannot hold (TCE, or a PHB spell the SRD lacks):
            # left out with a warning when it is not there, the rest of the file installs
            official = builder.base_of(item) is None and copied_source in OFFICIAL_SOURCES
            missing: Literal["error", "warning"] = "warning" if official else "error"
            if (
                builder.base_of(item) is None
                and not base_pack.startswith("srd-")
                and not official
                and copied_source not in declared
            ):
                loaded.problems.append(
                    item.problem(
                        f"copies from source {raw['_copy'].get('source')!r}, which "
                        "`_meta.dependencies` does not declare",
                        ("_copy", "source"),
                        "warning",
                    )
                )
            if base_pack != loaded.pack.id and not (official and not base_pack.startswith("srd-")):
                loaded.requires.append(base_pack)
            found, _ = builder.templates(item)
            # a base that is nowhere is told where the copy names it, as the file names it
            data_at = _mod_positions(item)
            copied_at = data_at.get("_copy.name") or data_at.get("_copy") or item.where()
            copy_path = json_path((*item.at, "_copy"))
            copied = raw["_copy"]
            what = (
                f"{copied.get('name', copied.get('abbreviation'))!r} of source "
                f"{copied.get('source')!r}"
            )
            if official and not base_pack.startswith("srd-"):
                what += ", a book of 5etools' own that no pack provides"
            data = {
                convert.RAW: raw,
                "5etools_type": item.kind,
                "5etools_at": data_at,
                "5etools_path": json_path(item.at),
                "5etools_templates": {str(i): t for i, t in found.items()},
            }
            collection = (
                convert.collection_of(item.kind, raw)
                if item.kind not in ("item", "baseitem")
                else ref.split(":", 1)[1].split("/")[0]
            )
            # the copy and each of its versions extend the same base, as the file names it
            extends = Extends(
                ref=ref, at={"extends": copied_at}, missing=missing, field=copy_path, what=what
            )
            loaded.entries.append(
                Entry(
                    collection=collection,
                    slug=convert.slug_for(item.kind, raw),
                    name=convert.plain_tags(str(raw["name"])),
                    data=data,
                    source=where,
                    extends=extends,
                )
            )
            try:
                versions = copy.versions_written(raw)
            except copy.ModError as exc:
                reader.problems.append(item.problem(exc.message, exc.path))
                continue
            for version, at, written in versions:
                if _left_out_version(builder, item, version, written, loaded):
                    continue
                home = packs.get(str(version.get("source") or "").lower(), loaded)
                name = str(version.get("name") or raw["name"])
                home.entries.append(
                    Entry(
                        collection=collection,
                        slug=convert.slug_for(item.kind, {**raw, "name": name}),
                        name=convert.plain_tags(name),
                        data={
                            **data,
                            "5etools_version": {
                                "raw": version,
                                "at": list(at),
                                "templates": {
                                    str(i): t
                                    for i, t in builder.template_refs(item.kind, version["_copy"])[
                                        0
                                    ].items()
                                },
                            },
                        },
                        source=Source(path=item.file.resolved, line=item.where(written)[0]),
                        extends=extends,
                    )
                )
            continue
        if resolved is None:
            continue
        loaded.entries.append(
            Entry(
                collection=convert.collection_of(item.kind, resolved),
                slug=convert.slug_for(item.kind, resolved),
                name=convert.plain_tags(str(resolved.get("name", ""))),
                data=builder.record(item.kind, resolved),
                source=where,
            )
        )
        for made in builder.versions(item, resolved):
            version = made.raw or made.version
            home = packs.get(str(version.get("source") or "").lower(), loaded)
            located = Source(path=item.file.resolved, line=item.where(made.written)[0])
            if made.raw is None and _left_out_version(
                builder, item, made.version, made.written, loaded
            ):
                continue
            if made.raw is None:  # a template of another pack: made by `derive` at install
                collection = convert.collection_of(item.kind, resolved)
                name = str(version.get("name") or resolved.get("name", ""))
                parent_ref = (
                    f"{loaded.pack.id}:{collection}/{convert.slug_for(item.kind, resolved)}"
                )
                home.entries.append(
                    Entry(
                        collection=collection,
                        slug=convert.slug_for(item.kind, {**resolved, "name": name}),
                        name=convert.plain_tags(name),
                        data={
                            convert.RAW: made.version,
                            "5etools_type": item.kind,
                            "5etools_at": _mod_positions(item),
                            "5etools_parent": made.parent,
                            "5etools_version": {
                                "raw": made.version,
                                "at": list(made.at),
                                "templates": {str(i): t for i, t in made.templates.items()},
                            },
                        },
                        source=located,
                        extends=Extends(ref=parent_ref, at={"extends": item.where(made.written)}),
                    )
                )
                continue
            home.entries.append(
                Entry(
                    collection=convert.collection_of(item.kind, version),
                    slug=convert.slug_for(item.kind, version),
                    name=convert.plain_tags(str(version.get("name", ""))),
                    data=builder.record(item.kind, version),
                    source=located,
                )
            )
        if item.kind in ("magicvariant", "variant"):
            expansions[loaded.pack.id] += _expand_variant(item, resolved, builder, where)
    for abbreviation, items in by_abbreviation.items():
        full = reader.sources[abbreviated[abbreviation]]["json"]
        count = len(items)
        reader.problems.append(
            items[0].problem(
                f"{count} entr{'y gives its' if count == 1 else 'ies give their'} source as "
                f"{items[0].raw.get('source')!r}, the abbreviation of source {full!r}: read as "
                "that source (5etools names a source by its `json`)",
                ("source",),
                "warning",
            )
        )
    for source, items in restated.items():
        said = ", ".join(f"{i.kind} {i.raw.get('name')!r}" for i in items[:3])
        said += f" and {len(items) - 3} more" if len(items) > 3 else ""
        reader.problems.append(
            items[0].problem(
                f"{said} of source {items[0].raw.get('source')!r}: the entr"
                f"{'y' if len(items) == 1 else 'ies'} of a book the SRD holds, written again "
                f"here, not this file's own: not installed ({SRD_SOURCES[source]} has "
                f"{'it' if len(items) == 1 else 'them'}; subraces of this file's source are "
                "read with their race)",
                ("source",),
                "warning",
            )
        )
    for items in undeclared.values():
        count = len(items)
        reader.problems.append(
            items[0].problem(
                f"{count} entr{'y gives its' if count == 1 else 'ies give their'} source as "
                f"{items[0].raw.get('source')!r}, which `_meta.sources` does not declare: read "
                f"as {_only_source(items[0])!r}, the file's one source (declare it, or name "
                "that source)",
                ("source",),
                "warning",
            )
        )
    for loaded in packs.values():
        _unique_slugs(loaded.entries)
        _fit_aliases(loaded.entries)
        for entry in loaded.entries:
            convert.apply_codes(entry.collection, entry.data, reader.codes)
    for pack_key, made in expansions.items():  # an item written out wins over an expansion
        loaded = next(p for p in packs.values() if p.pack.id == pack_key)
        taken = {(e.collection, e.slug) for e in loaded.entries}
        for entry in made:
            if (entry.collection, entry.slug) not in taken:
                taken.add((entry.collection, entry.slug))
                loaded.entries.append(entry)
    documents = [i for i in reader.items if i.kind in ("adventure", "book")]
    titles = {str(i.raw.get("id", "")).lower(): str(i.raw["name"]) for i in documents}
    for item in reader.documents:  # data whose `id` no book has: the one book of its source
        ident, source = str(item.raw.get("id", "")).lower(), _low(item.raw.get("source"))
        kind = convert.DOCUMENTS[item.kind]
        same = [i for i in documents if i.kind == kind and _low(i.raw.get("source")) == source]
        if ident not in titles and len(same) == 1:
            titles[ident] = str(same[0].raw["name"])
    for item in reader.documents:
        source = _item_source(item, packs.keys() | abbreviated.keys())
        loaded = packs.get(source) or packs.get(abbreviated.get(source, "")) or packs[first]
        line, _ = item.where()
        for collection, name, data in _document_entries(item, titles, builder):
            data["index"] = convert.slug(name)
            loaded.entries.append(
                Entry(
                    collection=collection,
                    slug=convert.slug(name),
                    name=str(data["name"]),
                    data=data,
                    source=Source(path=item.file.resolved, line=line),
                )
            )
    for loaded in packs.values():
        _contents(loaded.entries)
    for dep, declaring in sorted(reader.dependencies.items()):
        if dep.lower() in reader.sources or dep.lower() in SRD_SOURCES:
            continue
        # the packs of the declaring files that install entries need it (a file of two
        # sources, one of them empty, warns against the other), else the files' first
        declared_by = [packs[key] for key in dict.fromkeys(declaring) if key in packs]
        for loaded in [p for p in declared_by if p.entries] or declared_by[:1] or [packs[first]]:
            loaded.requires.append(pack_id(dep))
    for (race, race_source), sub in reader.base_subraces.items():
        if ("race", race, race_source) not in reader.by_key:
            reader.problems.append(
                sub.problem(
                    f"a subrace without a name adds to its race, {sub.raw.get('raceName')!r} "
                    f"of source {sub.raw.get('raceSource')!r}, which is not in these files: "
                    "not read",
                    severity="warning",
                )
            )
    if any(p.entries for p in packs.values()):
        # a declared source no entry is of (The Psion's Primer declares two and writes one):
        # no pack of nothing, said once; a file of no entries at all keeps its packs
        for key, loaded in list(packs.items()):
            if not loaded.entries:
                del packs[key]
                file, line, column, field = reader.declared_at[key]
                reader.problems += loaded.problems
                reader.problems.append(
                    PackProblem(
                        file=file,
                        line=line,
                        column=column,
                        field=field,
                        severity="info",
                        message=f"source {reader.sources[key]['json']!r} has no entries to "
                        "install: no pack of it is installed",
                    )
                )
    result = list(packs.values())
    # every problem is every pack's: an error anywhere in the files imports nothing
    for loaded in result:
        loaded.problems = reader.problems + loaded.problems
    return result


def _contents(entries: list[Entry]) -> None:
    """An adventure's or book's chapters (`contents`, in the order of its data's sections), each
    with the slug of its section's entry and its headers, for its card (`render.contents`)."""
    sections: dict[tuple[str, str, int], str] = {}
    for e in entries:
        for kind in ("adventure", "book"):
            if isinstance(e.data, dict) and isinstance(e.data.get("section"), int):
                key = (e.collection, str(e.data.get(kind, "")).lower(), e.data["section"])
                sections.setdefault(key, e.slug)
    for e in entries:
        raw = e.data.get(convert.RAW) if isinstance(e.data, dict) else None
        if not isinstance(raw, dict) or not isinstance(raw.get("contents"), list):
            continue
        ident = str(raw.get("id", "")).lower()
        chapters = []
        for i, chapter in enumerate(raw["contents"]):
            if not isinstance(chapter, dict):
                continue
            headers = [h.get("header") if isinstance(h, dict) else h for h in _list(chapter)]
            chapters.append(
                {
                    "name": _ordinal(chapter.get("ordinal"))
                    + str(chapter.get("name") or "").strip(),
                    "slug": sections.get((e.collection, ident, i + 1), ""),
                    "headers": [h for h in headers if isinstance(h, str) and h],
                }
            )
        if any(c["slug"] for c in chapters):
            e.data["5etools_contents"] = chapters


_ORDINALS = {"part": "Part", "chapter": "Ch.", "episode": "Ep.", "appendix": "App.",
             "level": "Level", "section": "Sec."}  # fmt: skip


def _ordinal(ordinal: Any) -> str:
    """A chapter's `ordinal` before its name in the contents, as 5etools'
    `Parser.bookOrdinalToAbv` writes it: `Ch. 1: `, `Part 2 — `, `App. A: `."""
    if not isinstance(ordinal, dict) or ordinal.get("type") not in _ORDINALS:
        return ""
    ident = ordinal.get("identifier")
    shown = _ORDINALS[ordinal["type"]] + (f" {ident}" if ident is not None else "")
    return shown + (" — " if ordinal["type"] == "part" else ": ")


def _list(chapter: dict[str, Any]) -> list[Any]:
    headers = chapter.get("headers")
    return headers if isinstance(headers, list) else []


def _fit_aliases(entries: list[Entry]) -> None:
    """5etools' `alias` helps its search; in d5e an alias finds the entry by name, so one that
    is another entry's name (a template aliased "Shield Dwarf" beside the "Shield Dwarf"
    template) is not registered: the name keeps meaning its own entry. (It stays in the
    5etools object; those that are an SRD record's name `convert.record` leaves out.)"""
    named = {normalize(e.name): e for e in reversed(entries)}
    for entry in entries:
        aliases = entry.data.get("aliases") if isinstance(entry.data, dict) else None
        if isinstance(aliases, list):
            kept = [a for a in aliases if named.get(normalize(str(a)), entry) is entry]
            if len(kept) != len(aliases):
                entry.data["aliases"] = kept


def _unique_slugs(entries: list[Entry]) -> None:
    """Objects 5etools tells apart by more than their name (a subclass of the 2014 and of the
    2024 class, deities of two pantheons, versions without a name of their own) get slugs of
    their own: the first keeps its slug, the next take what tells them apart."""
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for i, entry in enumerate(entries):
        raw = entry.data.get(convert.RAW) if isinstance(entry.data, dict) else None
        raw = raw if isinstance(raw, dict) else {}
        first = seen.get((entry.collection, entry.slug))
        if first is not None:
            keys = ("classSource", "pantheon", "raceSource", "set", "abbreviation", "source")
            extras = [raw.get(k) for k in keys if raw.get(k) != first.get(k)]
            # two objects of one name and source (a file's slip): the first short field that
            # differs (`rarity`: `arrows-acid-10-rare`)
            extras += [
                v
                for k, v in raw.items()
                if isinstance(v, str) and 0 < len(v) <= 20 and v != first.get(k)
            ]
            candidates = [convert.slug(f"{entry.slug} {x}") for x in extras if x]
            candidates += [f"{entry.slug}-{n}" for n in range(2, len(entries) + 2)]
            slug = next(c for c in candidates if (entry.collection, c) not in seen)
            data = {**entry.data, "index": slug} if isinstance(entry.data, dict) else entry.data
            entries[i] = entry = msgspec.structs.replace(entry, slug=slug, data=data)
        seen[(entry.collection, entry.slug)] = raw


def _expand_variant(
    item: Item, generic: dict[str, Any], builder: Builder, where: Source
) -> list[Entry]:
    """A generic variant (`+1 Weapon`) applied to the base items it fits, read in these files:
    `requires` (any of) and `excludes` against the base item, `inherits` laid over it."""
    inherits = generic.get("inherits") or {}
    out = []
    own = [i.raw for i in builder.r.items if i.kind == "baseitem"]
    names = {str(b.get("name", "")).lower() for b in own}
    bases = own + [b for b in srd.srd_base_items() if b["name"].lower() not in names]
    for base in bases:
        if not _fits(base, generic.get("requires") or [], generic.get("excludes") or {}):
            continue
        made = specific_variant(base, inherits)
        made["source"] = inherits.get("source", generic.get("source"))
        made["baseItem"] = f"{base.get('name')}|{base.get('source')}"
        out.append(
            Entry(
                collection="magic-items",
                slug=convert.slug(made["name"]),
                name=convert.plain_tags(made["name"]),
                data=builder.record("item", made) | {"variant_of": generic.get("name")},
                source=where,
            )
        )
    return out


_NOT_INHERITED = ("value", "page", "srd", "srd52", "basicRules", "basicRules2024", "reprintedAs",
                   "referenceSources", "hasFluff", "hasFluffImages")  # fmt: skip


def _inject(value: Any, props: dict[str, Any]) -> Any:
    """`{=bonusWeapon}`, `{=dmgType/l}` in a variant's text → the values of the item made
    (5etools' `Renderer.applyProperties`, see `entries.apply_properties`)."""
    return copy._walk_strings(
        value, lambda text: apply_properties(text, props) if "{=" in text else text
    )


def specific_variant(base: dict[str, Any], inherits: dict[str, Any]) -> dict[str, Any]:
    """A base item with a generic variant's `inherits` laid over it, as 5etools'
    `_createSpecificVariants_createSpecificVariant` does (removals first, the variant's text
    before the base item's, `{=…}` filled in)."""
    made = {k: copy._clone(v) for k, v in base.items() if k not in _NOT_INHERITED}
    props = {
        "baseName": base.get("name"),
        "dmgType": convert.DAMAGE.get(str(base.get("dmgType"))) if base.get("dmgType") else None,
        **{k: inherits.get(k) for k in (
            "bonusAc", "bonusWeapon", "bonusWeaponAttack", "bonusWeaponDamage",
            "bonusWeaponCritDamage", "bonusSpellAttack", "bonusSpellSaveDc", "bonusSavingThrow",
        )},
    }  # fmt: skip
    for key, value in sorted(inherits.items(), key=lambda kv: 0 if "Remove" in kv[0] else 1):
        if key == "namePrefix":
            made["name"] = f"{value}{made.get('name', '')}"
        elif key == "nameSuffix":
            made["name"] = f"{made.get('name', '')}{value}"
        elif key == "nameRemove":
            made["name"] = str(made.get("name", "")).replace(str(value), "")
        elif key == "entries":
            made["entries"] = [*_inject(copy._clone(value), props), *(made.get("entries") or [])]
        elif key in ("vulnerable", "resist", "immune", "conditionImmune"):
            have = made.get(key) if isinstance(made.get(key), list) else []
            made[key] = [*have, *(v for v in value if v not in have)]
        elif key == "barding":
            made["bardingType"] = base.get("type")
        elif key == "propertyAdd":
            have = made.get("property") if isinstance(made.get("property"), list) else []
            made["property"] = [*have, *(v for v in value if v not in have)]
        elif key == "propertyRemove":
            kept = [
                p
                for p in made.get("property") or []
                if (p.get("uid") if isinstance(p, dict) else p) not in value
            ]
            if kept:
                made["property"] = kept
            else:
                made.pop("property", None)
        elif key not in ("weightExpression", "valueExpression"):
            made[key] = copy._clone(value)
    made["name"] = str(made.get("name", "")).strip()
    return made


def _fits(base: dict[str, Any], requires: list[Any], excludes: dict[str, Any]) -> bool:
    def matches(spec: dict[str, Any]) -> bool:
        for key, wanted in spec.items():
            have = base.get(key)
            if key == "type":
                have = convert.strip_source(have)
                wanted = convert.strip_source(wanted)
            if isinstance(wanted, list):
                if (
                    not (isinstance(have, list) and set(map(str, wanted)) & set(map(str, have)))
                    and have not in wanted
                ):
                    return False
            elif have != wanted:
                return False
        return True

    if requires and not any(matches(r) for r in requires if isinstance(r, dict)):
        return False
    for key, unwanted in excludes.items():
        have = base.get(key)
        values = unwanted if isinstance(unwanted, list) else [unwanted]
        if have in values or (
            isinstance(have, list) and set(map(str, have)) & set(map(str, values))
        ):
            return False
    return True
