"""Where things are in a text: byte offsets and JSON paths to 1-based line and column.

Pack problems name the file, line and column; the parsers give a byte offset (msgspec, the
UTF-8 decoder) or a JSON path (`$[2].level`, from msgspec's validation errors), and these
functions turn them into a position an editor can jump to.
"""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Sequence
from typing import Any, TypeVar

import msgspec

T = TypeVar("T")

_WS = re.compile(r"[ \t\n\r]*")
_NEWLINE = re.compile("\n")
_DECODER = json.JSONDecoder()
_PATH_STEP = re.compile(r"\[(\d+)\]|\.([^.\[]+)|\[\.\.\.\]")
_AT_PATH = re.compile(r" - at `\$([^`]*)`$")

Path = tuple[str | int, ...]
_SAID: dict[str, str] = {}
"""msgspec's refusal of a pattern (`Expected `str` matching regex '^[a-z0-9]…$'`) → the words
its owner gave it (`said_as`)."""
MAX_LOCATED_BYTES = 64 * 1024 * 1024
"""`text_position` reads at most this much of a file."""


def line_col(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column (in characters) of `offset` in `text`."""
    offset = max(0, min(offset, len(text)))
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


class Lines:
    """`line_col` of many offsets in one text: its newlines are found once (a JSON list of
    1,000 entries asks for each entry's line), not counted from the start for each offset."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._newlines: list[int] | None = None

    def line_col(self, offset: int) -> tuple[int, int]:
        if self._newlines is None:
            self._newlines = [m.start() for m in _NEWLINE.finditer(self.text)]
        offset = max(0, min(offset, len(self.text)))
        before = bisect.bisect_left(self._newlines, offset)  # newlines before the offset
        start = self._newlines[before - 1] + 1 if before else 0
        return before + 1, offset - start + 1


def byte_line_col(data: bytes, offset: int) -> tuple[int, int]:
    """1-based line and column (in characters) of byte `offset` of UTF-8 `data`."""
    offset = max(0, min(offset, len(data)))
    start = data.rfind(b"\n", 0, offset) + 1
    column = len(data[start:offset].decode("utf-8", "replace")) + 1
    return data.count(b"\n", 0, offset) + 1, column


def said_as(pattern: str, words: str) -> str:
    """`pattern`, whose refusals `split_message` says in `words` rather than as the regex (an
    author writing `id = "My Brew"` reads what an id is, not `^[a-z0-9][a-z0-9-]{0,63}$`)."""
    _SAID[f"Expected `str` matching regex {pattern!r}"] = f"Expected {words}"
    return pattern


def split_message(message: str) -> tuple[str, Path]:
    """`Expected int, got str - at $[0].level` → (`Expected int, got str`, (0, "level")); a
    pattern's refusal in its words (`said_as`)."""
    m = _AT_PATH.search(message)
    if not m:
        return _SAID.get(message, message), ()
    steps: list[str | int] = []
    for index, key in _PATH_STEP.findall(m[1]):
        if not index and not key:
            break  # `[...]`: a value of a mapping, which msgspec does not name
        steps.append(int(index) if index else key)
    text = message[: m.start()]
    return _SAID.get(text, text), tuple(steps)


def _only(value: Any, prefix: Sequence[str | int], key: str) -> Any:
    """`value` with the mapping at `prefix` cut down to its item `key`."""
    if not prefix:
        return {key: value[key]}
    head, *tail = prefix
    copy = list(value) if isinstance(value, list) else dict(value)
    copy[head] = _only(value[head], tail, key)  # type: ignore[index]
    return copy


def convert(value: Any, kind: type[T]) -> T:
    """`msgspec.convert`, except that a bad value inside a mapping is named by its key in the
    error's path (`$.packs.srd-2014`, where msgspec says `$.packs[...]`): each key is tried
    alone until the one that fails is found; and a value a closed set does not hold is told
    the choices (`Invalid enum value 'fancy' (one of 'markdown', 'homebrewery')`)."""
    try:
        return msgspec.convert(value, kind)
    except msgspec.ValidationError as exc:
        m = _AT_PATH.search(str(exc))
        if not m:
            raise
        text = str(exc)[: m.start()]
        steps: list[str | int] = []
        node = value
        for index, key in _PATH_STEP.findall(m[1]) or []:
            if index or key:
                step: str | int = int(index) if index else key
            elif isinstance(node, dict):
                same = (k for k in node if _error(_only(value, steps, k), kind) == str(exc))
                found = next(same, None)
                if found is None:
                    raise
                step = found
            else:
                raise
            steps.append(step)
            node = node[step] if isinstance(node, dict | list) else None  # type: ignore[index]
        choices = _choices(kind, steps) if text.startswith("Invalid enum value") else []
        if "[...]" not in m[1] and not choices:
            raise
        if choices:
            text += f" (one of {', '.join(repr(c) for c in choices)})"
        shown = "".join(f"[{s}]" if isinstance(s, int) else f".{s}" for s in steps)
        raise msgspec.ValidationError(f"{text} - at `${shown}`") from exc


def _choices(kind: type[Any], steps: Sequence[str | int]) -> list[Any]:
    """The values of the `Literal` at `steps` inside `kind` (none when there is none)."""
    info = msgspec.inspect.type_info(kind)
    for step in [*steps, None]:
        while isinstance(info, msgspec.inspect.Metadata):
            info = info.type
        members = info.types if isinstance(info, msgspec.inspect.UnionType) else (info,)
        if step is None:
            return [
                v for t in members if isinstance(t, msgspec.inspect.LiteralType) for v in t.values
            ]
        for member in members:
            if isinstance(member, msgspec.inspect.StructType) and isinstance(step, str):
                field = next((f for f in member.fields if f.encode_name == step), None)
                if field is not None:
                    info = field.type
                    break
            elif isinstance(member, msgspec.inspect.DictType) and isinstance(step, str):
                info = member.value_type
                break
            elif isinstance(member, msgspec.inspect.ListType) and isinstance(step, int):
                info = member.item_type
                break
        else:
            return []
    return []


def _error(value: Any, kind: type[Any]) -> str | None:
    try:
        msgspec.convert(value, kind)
    except msgspec.ValidationError as exc:
        return str(exc)
    return None


def show_path(path: Sequence[str | int]) -> str:
    """(0, "actions", 2, "name") → `actions[2].name` (leading list indexes dropped by callers)."""
    out = ""
    for step in path:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else str(step))
    return out


def _skip_ws(text: str, pos: int) -> int:
    m = _WS.match(text, pos)
    return m.end() if m else pos


def json_item_offsets(text: str) -> list[int]:
    """Offsets of the items of the JSON array `text` (valid JSON), found in one pass: locating
    each item with `json_offset` would skip all the items before it again."""
    pos = _skip_ws(text, 0)
    offsets: list[int] = []
    if not text.startswith("[", pos):
        return offsets
    item = _skip_ws(text, pos + 1)
    while item < len(text) and not text.startswith("]", item):
        offsets.append(item)
        _, end = _DECODER.raw_decode(text, item)
        item = _skip_ws(text, end)
        if text.startswith(",", item):
            item = _skip_ws(text, item + 1)
    return offsets


def json_offset(text: str, path: Sequence[str | int], start: int | None = None) -> int:
    """Offset of the value at `path` in JSON `text` (from the value at offset `start`, if
    given), or of the deepest part of it that exists.

    `text` must be valid JSON (errors are located after parsing succeeded). Values before the
    one wanted are skipped with the stdlib's C scanner, so this is fast enough for large files.
    """
    pos = _skip_ws(text, 0) if start is None else start
    for step in path:
        if isinstance(step, int) and text.startswith("[", pos):
            item = _skip_ws(text, pos + 1)
            for _ in range(step):
                if text.startswith("]", item):
                    return pos
                _, end = _DECODER.raw_decode(text, item)
                item = _skip_ws(text, end)
                if text.startswith(",", item):
                    item = _skip_ws(text, item + 1)
            if text.startswith("]", item):
                return pos
            pos = item
        elif isinstance(step, str) and text.startswith("{", pos):
            key_pos = _skip_ws(text, pos + 1)
            while text.startswith('"', key_pos):
                key, end = json.decoder.scanstring(text, key_pos + 1)  # type: ignore[attr-defined]
                value = _skip_ws(text, _skip_ws(text, end) + 1)  # past the ':'
                if key == step:
                    break
                _, end = _DECODER.raw_decode(text, value)
                key_pos = _skip_ws(text, end)
                if text.startswith(",", key_pos):
                    key_pos = _skip_ws(text, key_pos + 1)
            else:
                return pos  # no such key: the object it would be in
            pos = value
        else:
            return pos
    return pos


def text_position(
    path: str, line: int, needles: Sequence[str], after: str = ""
) -> tuple[int, int] | None:
    """1-based line and column of the first of `needles` written in the file at `path` at or
    after `line` (an entry's first line: where one of its values is) and after the first
    `after` there (the field's name), trying each needle in turn; None when the file cannot be
    read (a zip member) or holds none of them."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read(MAX_LOCATED_BYTES)
    except OSError:
        return None
    lines = Lines(text)
    start = 0
    for _ in range(max(0, line - 1)):
        start = text.find("\n", start) + 1
        if not start:
            return None
    if after and (anchor := text.find(after, start)) >= 0:
        start = anchor + len(after)
    for needle in needles:
        at = text.find(needle, start) if needle else -1
        if at >= 0:
            return lines.line_col(at)
    return None


def _toml_skip(text: str, pos: int) -> int:
    """Past spaces, line breaks and comments in TOML `text` from `pos`."""
    while pos < len(text):
        if text[pos] in " \t\r\n":
            pos += 1
        elif text[pos] == "#":
            end = text.find("\n", pos)
            pos = len(text) if end < 0 else end
        else:
            break
    return pos


def _toml_value_end(text: str, pos: int) -> int:
    """The end of the TOML value starting at `pos` (valid TOML: tomllib read it): strings of
    the four kinds skipped whole, arrays and inline tables to their closing bracket."""
    depth = 0
    while pos < len(text):
        quote = next((q for q in ('"""', "'''", '"', "'") if text.startswith(q, pos)), "")
        if quote:
            pos += len(quote)
            while pos < len(text) and not text.startswith(quote, pos):
                pos += 2 if text[pos] == "\\" and quote[0] == '"' else 1
            pos += len(quote)
            continue
        char = text[pos]
        if char == "#":
            pos = _toml_skip(text, pos)
            continue
        if not depth and char in ",]}\n":
            break
        depth += 1 if char in "[{" else -1 if char in "]}" else 0
        pos += 1
    return pos


def toml_value_position(
    text: str, line: int, column: int, items: Sequence[int] = ()
) -> tuple[int, int]:
    """Line and column of the value of the TOML key written at `line`:`column` (past its
    `=`), or of its item `items[0]` (then `items[1]` inside that one, …) when the value is an
    array: a value refused is pointed at, not the key before it. The key's own place when the
    text is not as expected."""
    lines = Lines(text)
    start = 0
    for _ in range(line - 1):
        start = text.find("\n", start) + 1
    equals = text.find("=", start + column - 1)
    end = text.find("\n", start)
    if equals < 0 or (0 <= end < equals):
        return line, column
    pos = equals + 1
    while pos < len(text) and text[pos] in " \t":
        pos += 1
    for index in items:
        if not text.startswith("[", pos):
            break
        item = _toml_skip(text, pos + 1)
        for _ in range(index):
            item = _toml_skip(text, _toml_value_end(text, item))
            if not text.startswith(",", item):
                break
            item = _toml_skip(text, item + 1)
        if item >= len(text) or text[item] == "]":
            break
        pos = item
    return lines.line_col(pos)


TOML_DEPTH = 64
"""How deep a d5e.toml or pack.toml may nest: brackets (arrays, tables, inline tables), or the
parts of one dotted key (`a.b.c`). tomllib recurses on the first and takes quadratic time on the
second (16,000 parts: 3.3 s): deeper is refused before it is parsed."""
_TOML_MARKS = re.compile(r"""[\n#"'\[\]{}.]""")


def toml_too_deep(text: str) -> tuple[int, int] | None:
    """Where TOML text first nests deeper than TOML_DEPTH (brackets, or dots of a line outside
    strings and comments: a dotted key's parts), as 1-based line and column; None if nowhere."""
    depth = dots = 0
    line, line_start = 1, 0
    pos = 0
    while (m := _TOML_MARKS.search(text, pos)) is not None:
        i, char = m.start(), m[0]
        pos = i + 1
        if char == "\n":
            line, line_start, dots = line + 1, i + 1, 0
        elif char == "#":
            end = text.find("\n", i)
            pos = len(text) if end < 0 else end
        elif char in "\"'":
            quote = text[i : i + 3] if text.startswith(char * 3, i) else char
            end = i + len(quote)
            while True:  # the closing quote (a basic string's escaped ones skipped)
                end = text.find(quote, end)
                if end < 0 or char == "'" or text[end - 1] != "\\":
                    break
                end += 1
            if end < 0 or (len(quote) == 1 and "\n" in text[i:end]):
                end = text.find("\n", i)  # unclosed: tomllib says so
                pos = len(text) if end < 0 else end
                continue
            line_start = text.rfind("\n", 0, end) + 1 if "\n" in text[i:end] else line_start
            line += text.count("\n", i, end)
            pos = end + len(quote)
        elif char in "[{":
            depth += 1
            if depth > TOML_DEPTH:
                return line, i - line_start + 1
        elif char in "]}":
            depth = max(depth - 1, 0)
        else:
            dots += 1
            if dots > TOML_DEPTH:
                return line, i - line_start + 1
    return None


YAML_DEPTH = 64
"""How deep YAML (a pack's front matter, an encounter block) may nest."""


DENSE_CONTAINERS = 200_000
"""Past this many arrays and objects, a JSON file must hold no more than one every
`CONTAINER_CHARS` characters (`too_dense`)."""
CONTAINER_CHARS = 12


def too_dense(text: str) -> str | None:
    """Why JSON text is refused before it is parsed: more than `DENSE_CONTAINERS` arrays and
    objects, more than one every `CONTAINER_CHARS` characters. Each becomes a Python object of
    some 70 bytes (and often an entry, a problem), so `[{},{},…]` took 130 times its size;
    real pack files hold one every 25-50 characters (a minified 5etools bestiary 48). None
    when it is not. Counted with `str.count` (over strings' text too: it only overcounts)."""
    containers = text.count("{") + text.count("[")
    if containers <= DENSE_CONTAINERS or containers * CONTAINER_CHARS <= len(text):
        return None
    return (
        f"{containers:,} arrays and objects in {len(text):,} characters: more than one every "
        f"{CONTAINER_CHARS}, which no real pack file holds (each takes some 70 bytes of "
        "memory); not read"
    )


YAML_VALUES = 100_000
"""The values (scalars, lists, mappings) one piece of YAML may hold: real front matter holds
hundreds, and each is a PyYAML node of some 600 bytes while it is composed (8 MiB of
`x: [0,0,…]` took 2.5 GB)."""


def yaml_refused(text: str, aliases: bool = True) -> tuple[str, int, int] | None:
    """Why YAML text is refused before it is composed, and where (0-based line and column, as
    YAML's marks): nested deeper than YAML_DEPTH, more than YAML_VALUES values, or (not
    `aliases`) an alias. Read from
    libyaml's events: its parser keeps a stack of its own, while PyYAML's C composer recurses
    on the C stack (100,000 nested `[` crashed the process with a segmentation fault). None
    when neither, or when the text is no YAML (the loader says why)."""
    import yaml  # where YAML is read: no part of the daemon's start

    depth = values = 0
    try:
        for event in yaml.parse(text, Loader=yaml.CSafeLoader):
            mark = event.start_mark
            if isinstance(event, yaml.NodeEvent):
                values += 1
                if values > YAML_VALUES:
                    why = f"holds more than {YAML_VALUES:,} values; not read"
                    return why, mark.line, mark.column
            if isinstance(event, yaml.SequenceStartEvent | yaml.MappingStartEvent):
                depth += 1
                if depth > YAML_DEPTH:
                    return (
                        f"nested too deep (more than {YAML_DEPTH} levels)",
                        mark.line,
                        mark.column,
                    )
            elif isinstance(event, yaml.SequenceEndEvent | yaml.MappingEndEvent):
                depth -= 1
            elif isinstance(event, yaml.AliasEvent) and not aliases:
                return "YAML aliases (*name) are not allowed", mark.line, mark.column
    except yaml.YAMLError:
        return None
    return None
