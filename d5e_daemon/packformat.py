"""The homebrew pack format: `pack.toml`, JSON and Markdown entries, and every problem located.

A pack is a tree of files (read from a folder or a zip by `packfiles.py`):

    pack.toml                 id, title, version, … (`Manifest` below)
    spells/fire-bolt.md       Markdown: YAML front matter (the fields) + body (the description)
    monsters/goblins.json     JSON: one entry (an object) or a list of entries
    README.md, LICENSE, …     files at the top level besides pack.toml are not read

The first folder under the root names the collection (`spells`, `monsters`, `magic-items`, or a
new one). Fields follow 5e-database's records (`level`, `school`, `challenge_rating`, …) so the
same renderers, filters and search serve SRD and homebrew; the declarations below say which
types the known fields take, and `schema/` publishes them as JSON Schema for editors.

Parsing never stops at the first problem: every file is read, every entry checked, and each
problem carries file, line, column and field. Files are parsed once per content: results are
kept by file identity and modification stamp, so a live reload re-reads only the files that
changed.
"""

from __future__ import annotations

import difflib
import functools
import re
import threading
import tomllib
import typing
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal

import msgspec
from msgspec import Meta

from . import locate
from .records import Entry, Extends, LoadedPack, Pack, PackProblem, Source
from .text import slugify

if TYPE_CHECKING:
    import yaml

MANIFEST = "pack.toml"
CONTENT_SUFFIXES = {".json": "json", ".md": "markdown", ".markdown": "markdown"}
DEFAULT_PRIORITY = 50
"""Above the SRD (10, 20): a homebrew pack's entries win unless the pack says otherwise."""

ID_PATTERN = locate.said_as(
    "^[a-z0-9][a-z0-9-]{0,63}$",
    "lower-case letters, digits and '-', up to 64, starting with a letter or digit",
)
SLUG_CHARS = "a-z0-9()-"
"""What a slug is made of after its first letter or digit: the SRD's own slugs use parentheses
(`stone-of-good-luck-(luckstone)`)."""
SLUG_PATTERN = locate.said_as(
    f"^[a-z0-9][{SLUG_CHARS}]{{0,127}}$",
    "a slug: lower-case letters, digits, '-' and brackets, up to 128 (cinder-step)",
)
COLLECTION_PATTERN = locate.said_as(
    "^[a-z][a-z0-9-]{0,63}$",
    "a collection: lower-case letters, digits and '-', starting with a letter (spells)",
)
REF_PATTERN = locate.said_as(
    f"^([a-z0-9][a-z0-9-]*:)?[a-z][a-z0-9-]*/[a-z0-9][{SLUG_CHARS}]*$",
    "a ref: collection/slug or pack:collection/slug (srd-2014:monsters/goblin)",
)

# ---- pack.toml ------------------------------------------------------------------------------


class Manifest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """`pack.toml`: who made the pack and how it ranks."""

    id: Annotated[str, Meta(pattern=ID_PATTERN, description="lower-case letters, digits, '-'")]
    title: Annotated[str, Meta(min_length=1, max_length=200)]
    version: Annotated[str, Meta(min_length=1, max_length=64)]
    edition: Literal["2014", "2024"] | None = None
    authors: list[str] = []
    license: str = ""
    attribution: str = ""
    priority: int = DEFAULT_PRIORITY
    description: str = ""
    homepage: str = ""

    def pack(self) -> Pack:
        return Pack(
            id=self.id,
            title=self.title,
            version=self.version,
            edition=self.edition,
            license=self.license,
            attribution=self.attribution,
            authors=self.authors,
            description=self.description,
            homepage=self.homepage,
            default_priority=self.priority,
        )


# ---- the fields of entries ----------------------------------------------------------------------


class RefObject(msgspec.Struct, forbid_unknown_fields=False):
    """A reference the 5e-database way: `{"index": "evocation", "name": "Evocation"}`."""

    name: str
    index: str | None = None


RefLike = str | RefObject
"""Written `school: evocation` or as an object; stored as an object either way."""
Text = str | list[str]
"""One string, or a list of paragraphs (5e-database 2014)."""


class Named(msgspec.Struct, forbid_unknown_fields=False):
    """A trait, action or reaction: `{"name": "Nimble Escape", "desc": "…"}`."""

    name: str
    desc: str = ""


class Cost(msgspec.Struct, forbid_unknown_fields=False):
    quantity: int | float
    unit: str


Positive = Annotated[int, Meta(ge=0)]
CR_PATTERN = locate.said_as(r"^(1/8|1/4|1/2|\d+)$", "a challenge rating: a number, 1/8, 1/4 or 1/2")
ChallengeRating = Annotated[float, Meta(ge=0)] | Annotated[str, Meta(pattern=CR_PATTERN)]
"""A number (`0.25`, `5`) or as a stat block writes it (`"1/4"`, `"5"`)."""
Score = Annotated[int, Meta(ge=1, le=30)]

AliasName = Annotated[str, Meta(min_length=1, max_length=200)]
COMMON_FIELDS: dict[str, Any] = {
    "desc": Text,
    "description": Text,
    "aliases": list[AliasName],
    "lore": Annotated[str, Meta(max_length=2000)],
}
COLLECTION_FIELDS: dict[str, dict[str, Any]] = {
    "spells": {
        "level": Annotated[int, Meta(ge=0, le=9)],
        "school": RefLike,
        "casting_time": str,
        "range": str,
        "components": list[Literal["V", "S", "M"]],
        "material": str,
        "duration": str,
        "concentration": bool,
        "ritual": bool,
        "higher_level": Text,
        "classes": list[RefLike],
        "subclasses": list[RefLike],
        "attack_type": str,
    },
    "monsters": {
        "size": Literal["Tiny", "Small", "Medium", "Large", "Huge", "Gargantuan"],
        "type": str,
        "subtype": str | None,
        "alignment": str,
        "armor_class": Positive | list[dict[str, Any]],
        "hit_points": Positive,
        "hit_dice": str,
        "hit_points_roll": str,
        "speed": str | dict[str, str | int | bool],
        "strength": Score,
        "dexterity": Score,
        "constitution": Score,
        "intelligence": Score,
        "wisdom": Score,
        "charisma": Score,
        "proficiencies": list[dict[str, Any]],
        "damage_vulnerabilities": list[str],
        "damage_resistances": list[str],
        "damage_immunities": list[str],
        "condition_immunities": list[RefLike],
        "senses": str | dict[str, str | int],
        "languages": str,
        "challenge_rating": ChallengeRating,
        "xp": Positive,
        "special_abilities": list[Named],
        "actions": list[Named],
        "bonus_actions": list[Named],
        "reactions": list[Named],
        "legendary_actions": list[Named],
    },
    "magic-items": {
        "rarity": RefLike,
        "equipment_category": RefLike,
        "attunement": bool,
        "variants": list[RefLike],
    },
    "equipment": {
        "equipment_category": RefLike,
        "cost": Cost,
        "weight": Annotated[float, Meta(ge=0)],
        "weapon_category": str,
        "weapon_range": str,
        "armor_category": str,
        "properties": list[RefLike],
    },
}
_REF_FIELDS = {RefLike: "one", list[RefLike]: "list"}


def field_type(collection: str, field: str) -> Any:
    return COLLECTION_FIELDS.get(collection, {}).get(field, COMMON_FIELDS.get(field))


def _as_ref(value: Any) -> Any:
    return {"index": slugify(value), "name": value} if isinstance(value, str) else value


# ---- reserved keys of an entry (not stored as data) ----------------------------------------

Slug = Annotated[str, Meta(pattern=SLUG_PATTERN)]
RESERVED: dict[str, Any] = {
    "name": Annotated[str, Meta(min_length=1, max_length=200)],
    "slug": Slug,
    "index": Slug,
    "collection": Annotated[str, Meta(pattern=COLLECTION_PATTERN)],
    "extends": Annotated[str, Meta(pattern=REF_PATTERN)],
    "append": dict[str, list[Any]],
    "remove": list[str] | dict[str, bool | list[Any]],
}

# ---- files --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PackFile:
    """One file of a pack, however it is stored."""

    rel: str
    """Path inside the pack, with `/` (`spells/fire-bolt.md`)."""
    shown: str
    """How problems name it (the path as the user gave it, joined with `rel`)."""
    source: str
    """Where entries say they were written: an absolute path, or `pack.zip!/spells/x.md`."""
    read: Callable[[], bytes]
    stamp: tuple[int, ...] | None = None
    """(size, mtime_ns, inode, …) where the file can be cached by identity; else None."""

    @property
    def collection(self) -> str:
        return self.rel.split("/", 1)[0]

    @property
    def kind(self) -> str | None:
        return content_kind(self.rel)


def constant(data: bytes) -> Callable[[], bytes]:
    """A `PackFile.read` for bytes already in memory."""
    return lambda: data


def content_kind(rel: str) -> str | None:
    """`json` or `markdown` for a content file's path; None for any other file."""
    dot = rel.rfind(".")
    return CONTENT_SUFFIXES.get(rel[dot:].lower()) if dot > 0 else None


class _Parsed(msgspec.Struct):
    entries: list[Entry]
    problems: list[PackProblem]


_CACHE_FILES = 200_000
_CACHE_BYTES = 64 << 20
"""The cache holds at most this many bytes, the files read last. Bounded in files only, it held
every file of a 100,000-entry pack for the life of the process that read it (its install's peak
1,193 -> 1,073 MB with this: docs/benchmarks.md, the twenty-second session); a homebrew pack of
some hundred files is a few MB."""
_cache: OrderedDict[str, tuple[tuple[int, ...], bytes]] = OrderedDict()
"""File source → (stamp, encoded `_Parsed`): kept encoded, a few bytes per entry field."""
_cached = [0]
"""The bytes `_cache` holds."""
_cache_lock = threading.Lock()


def _parse_cached(file: PackFile) -> _Parsed:
    with _cache_lock:
        cached = _cache.get(file.source) if file.stamp is not None else None
        if cached is not None and cached[0] == file.stamp:
            _cache.move_to_end(file.source)
    if cached is not None and cached[0] == file.stamp:
        return msgspec.json.decode(cached[1], type=_Parsed)
    parsed = parse_file(file)
    if file.stamp is not None:
        encoded = msgspec.json.encode(parsed)
        with _cache_lock:
            before = _cache.pop(file.source, None)
            _cached[0] += len(encoded) - (len(before[1]) if before else 0)
            _cache[file.source] = (file.stamp, encoded)
            while _cache and (len(_cache) > _CACHE_FILES or _cached[0] > _CACHE_BYTES):
                _, (_, dropped) = _cache.popitem(last=False)
                _cached[0] -= len(dropped)
    return parsed


# ---- problems -----------------------------------------------------------------------------


def _problem(
    file: PackFile | str,
    message: str,
    at: tuple[int, int] = (0, 0),
    field: str = "",
    severity: Literal["error", "warning"] = "error",
) -> PackProblem:
    shown = file.shown if isinstance(file, PackFile) else file
    return PackProblem(
        file=shown, line=at[0], column=at[1], field=field, message=message, severity=severity
    )


Locator = Callable[[locate.Path], tuple[int, int]]


def _check(
    file: PackFile,
    values: dict[str, Any],
    types: Callable[[str], Any],
    where: Locator,
    problems: list[PackProblem],
) -> dict[str, Any]:
    """Each value converted to its declared type (undeclared ones kept as they are); every
    wrong value reported with its field path and position. Returns the values that passed."""
    good = {}
    for key, value in values.items():
        typ = types(key)
        if typ is None:
            good[key] = value
            continue
        try:
            msgspec.convert(value, typ)
        except msgspec.ValidationError as exc:
            message, inner = locate.split_message(str(exc))
            path = (key, *inner)
            if not inner:
                message += _written_as(message, value)
            problems.append(_problem(file, message, where(path), locate.show_path(path)))
            continue
        shape = _REF_FIELDS.get(typ)
        if shape == "one":
            value = _as_ref(value)
        elif shape == "list":
            value = [_as_ref(v) for v in value]
        good[key] = value
        for path, message in _misspelt(key, value):
            at = where(path)
            problems.append(_problem(file, message, at, locate.show_path(path), "warning"))
    return good


_ORDINAL = re.compile(r"(\d+)(?:st|nd|rd|th)(?: level)?", re.I)


def _written_as(message: str, value: Any) -> str:
    """How to write a value as the format takes it, when it was written as people write it:
    `level: 1st` (a number: 1), `components: V, S` (a list: [V, S])."""
    if not isinstance(value, str):
        return ""
    if message == "Expected `int`, got `str`":
        if m := _ORDINAL.fullmatch(value.strip()):
            return f" (write the number: {m[1]})"
        if value.strip().lower() == "cantrip":
            return " (write the number: a cantrip is 0)"
    if message == "Expected `array`, got `str`" and "," in value:
        items = ", ".join(item.strip() for item in value.split(","))
        return f" (write a list: [{items}])"
    return ""


# The SRD's values of the reference fields a filter reads (`-f school=evocation`, `-f
# class=wizard`): a value close to one of them but not it is a warning (a typo the filter would
# never find); one far from all is a new school or class of the pack's, kept without a word.
_KNOWN_NAMES = {
    "school": ("schools", "Abjuration Conjuration Divination Enchantment Evocation Illusion "
               "Necromancy Transmutation"),
    "classes": ("classes", "Barbarian Bard Cleric Druid Fighter Monk Paladin Ranger Rogue "
                "Sorcerer Warlock Wizard"),
}  # fmt: skip


def _misspelt(key: str, value: Any) -> Iterator[tuple[locate.Path, str]]:
    """Each value of a `_KNOWN_NAMES` field that looks like a typo of the SRD's, with what
    to say."""
    if key not in _KNOWN_NAMES:
        return
    kind, names = _KNOWN_NAMES[key]
    known = {name.lower(): name for name in names.split()}
    items = enumerate(value) if isinstance(value, list) else [(None, value)]
    for i, item in items:
        name = item.get("name") if isinstance(item, dict) else item
        if not isinstance(name, str) or name.lower() in known:
            continue
        close = difflib.get_close_matches(name.lower(), list(known), n=1, cutoff=0.8)
        if close:
            meant = known[close[0]]
            path: locate.Path = (key,) if i is None else (key, i)
            yield (
                path,
                (
                    f"{name!r} is none of the SRD's {kind}; did you mean {meant!r}? (kept as "
                    f"written: a filter for {meant.lower()} would not find it)"
                ),
            )


# ---- pack.toml ----------------------------------------------------------------------------


_TOML_AT = re.compile(r" \(at line (\d+), column (\d+)\)$")


def _toml_key_position(text: str, key: str) -> tuple[int, int]:
    """Line and column of a top-level `key = …` in TOML text (before any [table])."""
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.lstrip()
        if stripped.startswith("["):
            break
        name = stripped.split("=", 1)[0].strip().strip("\"'")
        if "=" in stripped and name == key:
            return number, len(line) - len(stripped) + 1
    return 1, 1


# Control characters (C0, DEL, C1) have no place in what pack.toml describes: they end up in
# listings, terminals and pack.toml files written back. TOML lets them in through escapes
# (`"\u001b"`) and multi-line strings; only the prose fields keep line breaks and tabs.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_PROSE_FIELDS = frozenset({"description", "attribution"})
_TOML_ESCAPES = {"\b": r"\\b", "\t": r"\\t", "\n": r"\\n", "\f": r"\\f", "\r": r"\\r"}


def control_character(value: Any, prose: bool = False) -> str | None:
    """The first control character in a value (strings, inside lists and tables too), or
    None; `prose` text may hold line breaks and tabs."""
    if isinstance(value, str):
        for m in _CONTROL.finditer(value):
            if not (prose and m[0] in "\n\t"):
                return m[0]
    elif isinstance(value, list | dict):
        for item in value.values() if isinstance(value, dict) else value:
            if (found := control_character(item, prose)) is not None:
                return found
    return None


def control_message(char: str) -> str:
    return f"control character U+{ord(char):04X} is not allowed here; write plain text"


# What may not stay in a name, an alias or a pack's description from any loader (a 5etools or
# Open5e file says nothing of pack.toml): controls, and the bidirectional and line-breaking
# characters that make a name show otherwise than it is stored ("Trojan Source").
_HIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_SPACES = frozenset("\t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\u2028\u2029")


def plain_text(text: str, prose: bool = False) -> tuple[str, str | None]:
    """`text` without the characters above (a line break or tab as a space; `prose` keeps
    them), and the first one taken out (None: `text` as it was)."""
    first = None

    def swap(m: re.Match[str]) -> str:
        nonlocal first
        if prose and m[0] in "\n\t":
            return m[0]
        first = first or m[0]
        return " " if m[0] in _SPACES else ""

    plain = _HIDDEN.sub(swap, text)
    if first is None:
        return text, None
    return (plain if prose else " ".join(plain.split())), first


def hidden_message(char: str) -> str:
    kind = "control character" if ord(char) < 0xA0 else "bidirectional or line-breaking character"
    return f"{kind} U+{ord(char):04X} removed: a name is plain text"


def _toml_char_position(text: str, key: str, char: str) -> tuple[int, int]:
    """Where the value of top-level `key` holds `char`, as written (an escape or the
    character itself); the key's own position if it cannot be told."""
    line, column = _toml_key_position(text, key)
    lines = text.splitlines()
    code = ord(char)
    written = [re.escape(char), rf"\\u{code:04x}", rf"\\U{code:08x}"]
    if char in _TOML_ESCAPES:
        written.append(_TOML_ESCAPES[char])
    pattern = re.compile("|".join(written), re.IGNORECASE)
    for number in range(line, len(lines) + 1):
        here = lines[number - 1]
        stripped = here.lstrip()
        if number > line and (stripped.startswith("[") or re.match(r"[\w\"'-]+\s*=", stripped)):
            break  # the next key: the value ended
        if (m := pattern.search(here, column - 1 if number == line else 0)) is not None:
            return number, m.start() + 1
    return line, column


def parse_manifest(
    file: PackFile | None, fallback_id: str, shown_root: str
) -> tuple[Pack, list[PackProblem]]:
    """The pack described by pack.toml, and its problems (a placeholder pack when broken)."""
    placeholder = Pack(id=fallback_id, title=fallback_id, default_priority=DEFAULT_PRIORITY)
    if file is None:
        message = "a pack needs pack.toml at its top (id, title, version); none found"
        return placeholder, [_problem(shown_root, message)]
    text, problems = _decode(file)
    if text is None:
        return placeholder, problems
    deep = locate.toml_too_deep(text)
    if deep is not None:
        message = f"arrays, tables or dotted keys nested more than {locate.TOML_DEPTH} deep"
        return placeholder, [_problem(file, message, deep)]
    try:
        values = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = _TOML_AT.search(str(exc))
        at = (int(m[1]), int(m[2])) if m else (1, 1)
        return placeholder, [_problem(file, str(exc)[: m.start()] if m else str(exc), at)]
    fields = Manifest.__struct_fields__
    for key in values:
        if key not in fields:
            close = difflib.get_close_matches(key.lower(), fields, n=1, cutoff=0.75)
            known = (
                f"did you mean {close[0]!r}?" if close else f"pack.toml knows: {', '.join(fields)}"
            )
            message = f"unknown key {key!r} ({known})"
            problems.append(_problem(file, message, _toml_key_position(text, key), key))
    for key in ("edition", "version"):  # `edition = 2014`, `version = 1`, as d5e.toml takes them
        if type(values.get(key)) is int:
            values[key] = str(values[key])
    for key in ("id", "title", "version"):
        if key not in values:
            problems.append(_problem(file, f"missing required key {key!r}", (1, 1), key))
    for key, value in list(values.items()):
        char = control_character(value, prose=key in _PROSE_FIELDS)
        if char is not None:
            at = _toml_char_position(text, key, char)
            problems.append(_problem(file, control_message(char), at, key))
            del values[key]  # one problem per field
    hints = typing.get_type_hints(Manifest, include_extras=True)

    def where(path: locate.Path) -> tuple[int, int]:  # the value refused, not its key
        line, column = _toml_key_position(text, str(path[0]))
        items = [step for step in path[1:] if isinstance(step, int)]
        return locate.toml_value_position(text, line, column, items)

    good = _check(file, values, lambda key: hints.get(key), where, problems)
    if problems:
        return placeholder, problems
    return msgspec.convert(good, Manifest).pack(), []


# ---- content files ------------------------------------------------------------------------


def _decode(file: PackFile) -> tuple[str | None, list[PackProblem]]:
    try:
        data = file.read()
    except OSError as exc:  # deleted since the folder was listed, or not ours to read
        return None, [_problem(file, f"cannot read: {exc}")]
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        at = locate.byte_line_col(data, exc.start)
        message = f"not UTF-8 text (byte {data[exc.start]:#04x}); save the file as UTF-8"
        return None, [_problem(file, message, at)]


def parse_file(file: PackFile) -> _Parsed:
    """The entries of one content file and its problems."""
    text, problems = _decode(file)
    if text is None:
        return _Parsed([], problems)
    if file.kind == "json":
        return _parse_json(file, text)
    return _parse_markdown(file, text)


MAX_FILE_PROBLEMS = 10_000
"""The problems one file is read for: past them it is not read further (a file of a million
nameless entries made a million problems, 130 times its size in memory)."""


def _parse_json(file: PackFile, text: str) -> _Parsed:
    dense = locate.too_dense(text)
    if dense is not None:
        return _Parsed([], [_problem(file, dense, (1, 1))])
    try:
        value = msgspec.json.decode(text)
    except RecursionError:
        return _Parsed([], [_problem(file, "arrays and objects nested too deep to read", (1, 1))])
    except msgspec.DecodeError as exc:
        message = str(exc)
        offset = message.rsplit("(byte ", 1)
        data = text.encode()
        at = locate.byte_line_col(data, len(data)) if "truncated" in message else (1, 1)
        if len(offset) == 2 and offset[1].rstrip(")").isdigit():
            at = locate.byte_line_col(data, int(offset[1].rstrip(")")))
            message = offset[0].strip()
        return _Parsed([], [_problem(file, message, at)])

    starts = locate.json_item_offsets(text) if isinstance(value, list) else []
    lines = locate.Lines(text)

    def where(base: locate.Path) -> Locator:
        if base:  # an item of a list: from where it starts
            start = starts[int(base[0])]
            return lambda path: lines.line_col(locate.json_offset(text, path, start))
        return lambda path: lines.line_col(locate.json_offset(text, path))

    items: list[tuple[locate.Path, Any]] = (
        [((i,), item) for i, item in enumerate(value)] if isinstance(value, list) else [((), value)]
    )
    entries: list[Entry] = []
    problems: list[PackProblem] = []
    for base, item in items:
        if len(problems) > MAX_FILE_PROBLEMS:
            del problems[MAX_FILE_PROBLEMS:]
            message = f"more than {MAX_FILE_PROBLEMS:,} problems in this file: not read further"
            problems.append(_problem(file, message, where(base)(())))
            break
        entry = build_entry(file, item, where(base), problems)
        if entry is not None:
            entries.append(entry)
    return _Parsed(entries, problems)


@functools.cache
def _loader() -> type[yaml.CSafeLoader]:
    """YAML without its surprises: only true/false are booleans (not yes/no/on/off), no
    sexagesimal numbers (`1:30` stays text) and no dates; plain JSON values come out. Made at
    the first front matter read: PyYAML is no part of a daemon's start (`d5e serve` answers
    its first completion without it)."""
    import yaml

    class Loader(yaml.CSafeLoader):
        pass

    Loader.yaml_implicit_resolvers = {}
    for tag, pattern, first in (
        ("bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
        ("int", r"^[-+]?(?:0|[1-9][0-9]*)$", "-+0123456789"),
        ("float", r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$", "-+.0123456789"),
        ("null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    ):
        Loader.add_implicit_resolver(  # type: ignore[no-untyped-call]
            f"tag:yaml.org,2002:{tag}", re.compile(pattern), list(first)
        )
    return Loader


def _yaml_positions(
    node: yaml.Node, line_offset: int, positions: dict[locate.Path, tuple[int, int]]
) -> str | None:
    """Record where every value is; return a problem message if the YAML uses aliases (which
    could expand into gigabytes) or keys that are not text."""
    import yaml

    seen: set[int] = set()
    stack: list[tuple[locate.Path, yaml.Node]] = [((), node)]
    while stack:
        path, current = stack.pop()
        if id(current) in seen:
            return "YAML aliases (*name) are not allowed in packs"
        seen.add(id(current))
        mark = current.start_mark
        positions[path] = (mark.line + 1 + line_offset, mark.column + 1)
        if isinstance(current, yaml.MappingNode):
            for key, value in current.value:
                if not isinstance(key, yaml.ScalarNode):
                    return "keys must be plain text"
                stack.append(((*path, key.value), value))
        elif isinstance(current, yaml.SequenceNode):
            stack.extend(((*path, i), item) for i, item in enumerate(current.value))
    return None


def _parse_markdown(file: PackFile, text: str) -> _Parsed:
    lines = text.split("\n")
    if not lines or lines[0].rstrip() != "---":
        message = "a Markdown entry starts with front matter: a '---' line, its fields, '---'"
        return _Parsed([], [_problem(file, message, (1, 1))])
    end = next((i for i in range(1, len(lines)) if lines[i].rstrip() in ("---", "...")), None)
    if end is None:
        message = "front matter is not closed: add a '---' line after the fields"
        return _Parsed([], [_problem(file, message, (len(lines), 1))])
    front = "\n".join(lines[1:end])
    positions: dict[locate.Path, tuple[int, int]] = {}
    import yaml

    refused = locate.yaml_refused(front)
    if refused is not None:
        why, line, column = refused
        return _Parsed([], [_problem(file, f"front matter {why}", (line + 2, column + 1))])
    loader = _loader()(front)
    try:
        node = loader.get_single_node()
        bad = None if node is None else _yaml_positions(node, 1, positions)
        if bad is not None:
            return _Parsed([], [_problem(file, bad, (2, 1))])
        value = {} if node is None else loader.construct_document(node)  # type: ignore[no-untyped-call]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        at = (mark.line + 2, mark.column + 1) if mark else (2, 1)
        message = f"invalid front matter: {exc.problem or exc.context}"
        return _Parsed([], [_problem(file, message, at)])
    except yaml.YAMLError as exc:
        return _Parsed([], [_problem(file, f"invalid front matter: {exc}", (2, 1))])
    finally:
        loader.dispose()
    problems: list[PackProblem] = []
    if not isinstance(value, dict):
        message = "front matter must be fields (name: …), not a list or a value"
        return _Parsed([], [_problem(file, message, (2, 1))])
    body = "\n".join(lines[end + 1 :]).strip()
    if body:
        if "desc" in value:
            at = positions.get(("desc",), (2, 1))
            message = "the description is given twice: as `desc` and as the body"
            problems.append(_problem(file, message, at, "desc"))
        value["desc"] = [p.strip() for p in body.split("\n\n") if p.strip()]

    def where(path: locate.Path) -> tuple[int, int]:
        if path[:1] == ("desc",) and ("desc",) not in positions:
            return end + 2, 1  # the body
        while path and path not in positions:
            path = path[:-1]
        return positions.get(path, (1, 1))

    entry = build_entry(file, value, where, problems, line=1)
    return _Parsed([entry] if entry else [], problems)


def _json_safe(value: Any, path: locate.Path = ()) -> locate.Path | None:
    """The path of the first value JSON cannot hold (YAML tags can make them), or None."""
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                return (*path, str(key))
            bad = _json_safe(item, (*path, key))
            if bad is not None:
                return bad
        return None
    if isinstance(value, list):
        for i, item in enumerate(value):
            bad = _json_safe(item, (*path, i))
            if bad is not None:
                return bad
        return None
    return None if value is None or isinstance(value, str | int | float | bool) else path


def build_entry(
    file: PackFile,
    raw: Any,
    where: Locator,
    problems: list[PackProblem],
    line: int | None = None,
) -> Entry | None:
    """One entry from the fields an author wrote; problems are appended, located."""
    start = where(())
    if not isinstance(raw, dict):
        message = f"an entry is an object with fields (name, …), not {type(raw).__name__}"
        problems.append(_problem(file, message, start))
        return None
    bad = _json_safe(raw)
    if bad is not None:
        message = "only text, numbers, true/false, lists and objects can be written here"
        problems.append(_problem(file, message, where(bad), locate.show_path(bad)))
        return None
    before = len(problems)
    reserved = {k: v for k, v in raw.items() if k in RESERVED}
    meta = _check(file, reserved, RESERVED.get, where, problems)
    fields = _check(
        file,
        {k: v for k, v in raw.items() if k not in RESERVED},
        lambda key: field_type(file.collection, key),
        where,
        problems,
    )
    collection = file.collection
    if "collection" in meta and meta["collection"] != collection:
        message = (
            f"this file is in {collection}/, so its entries are {collection}; "
            f"move it to {meta['collection']}/ or drop `collection`"
        )
        problems.append(_problem(file, message, where(("collection",)), "collection"))
    if "slug" in meta and "index" in meta and meta["slug"] != meta["index"]:
        message = f"slug {meta['slug']!r} and index {meta['index']!r} differ; give one"
        problems.append(_problem(file, message, where(("index",)), "index"))
    extends = meta.get("extends")
    name: str = meta.get("name", "")
    if not name and extends is None and "name" not in raw:
        message = "required: every entry has a name (unless it extends another entry)"
        problems.append(_problem(file, message, start, "name"))
    slug = meta.get("slug") or meta.get("index") or slugify(name)
    if not slug and extends:
        slug = extends.rsplit("/", 1)[-1]
    if name and not slug:
        message = f"cannot make a slug from the name {name!r}: give `slug`"
        problems.append(_problem(file, message, where(("name",)), "name"))
    if any(p.severity == "error" for p in problems[before:]):  # a warning keeps the entry
        return None
    source = Source(path=file.source, line=line or start[0])
    if extends is None:
        if "append" in meta or "remove" in meta:
            key = "append" if "append" in meta else "remove"
            message = f"`{key}` changes the entry named by `extends`; add `extends`"
            problems.append(_problem(file, message, where((key,)), key))
            return None
        data = {"index": slug, "name": name, **fields}
        return Entry(collection=collection, slug=slug, name=name, data=data, source=source)
    remove = meta.get("remove", [])
    at = {"extends": where(("extends",))}
    at |= {f"append.{k}": where(("append", k)) for k in meta.get("append", {})}
    at |= {f"remove.{k}": where(("remove", k)) for k in remove if isinstance(remove, dict)}
    if isinstance(remove, list):
        at |= {f"remove.{k}": where(("remove", i)) for i, k in enumerate(remove)}
    ext = Extends(
        ref=extends,
        append=meta.get("append", {}),
        remove=list(remove)
        if isinstance(remove, list)
        else [k for k, v in remove.items() if v is True],
        remove_items={k: v for k, v in remove.items() if isinstance(v, list)}
        if isinstance(remove, dict)
        else {},
        at=at,
    )
    return Entry(
        collection=collection, slug=slug, name=name, data=fields, source=source, extends=ext
    )


# ---- a whole pack ------------------------------------------------------------------------


def parse_files(files: list[PackFile]) -> tuple[list[Entry], list[PackProblem]]:
    """The entries and problems of content files (parsed once per file version)."""
    entries: list[Entry] = []
    problems: list[PackProblem] = []
    for file in sorted(files, key=lambda f: f.rel):
        if file.kind is None:
            continue
        parsed = _parse_cached(file)
        entries.extend(parsed.entries)
        problems.extend(parsed.problems)
    return entries, problems


def load(
    files: list[PackFile], problems: list[PackProblem], fallback_id: str, shown_root: str
) -> LoadedPack:
    """Parse a pack's files (as read by `packfiles`); `problems` are those found reading them.

    `shown_root` names the pack in problems that belong to no file (no pack.toml in it)."""
    manifest = next((f for f in files if f.rel == MANIFEST), None)
    pack, found = parse_manifest(manifest, fallback_id, shown_root)
    named = manifest is not None and not found
    if manifest is None and any(p.file == shown_root for p in problems):
        found = []  # nothing could be read at all (not a zip, say): that is the problem
    entries, parsed = parse_files(files)
    all_problems = list(problems) + found + parsed
    all_problems.sort(key=lambda p: (p.file, p.line, p.column))
    return LoadedPack(pack=pack, entries=entries, problems=all_problems, named=named)
