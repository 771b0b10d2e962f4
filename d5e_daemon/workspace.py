"""A workspace (campaign) folder and its `d5e.toml`: the profile's packs and priorities.

    # d5e.toml, at the root of the campaign's folder
    profile = "strahd"              # optional: the name the profile is stored under
    edition = "2014"
    packPaths = ["homebrew/"]       # folder or zip packs installed (and watched) with the workspace
    disabled = ["srd-2024"]
    party = [3, 3, 3, 3]            # the characters' levels, for encounter difficulty
    [packs]                         # priorities: higher wins
    my-brew = 60
    [collectionPriorities.my-brew]  # for some collections only
    spells = 5
    [[rules]]                       # "my-brew wins over srd-2014 for monsters"
    pack = "my-brew"
    over = "srd-2014"
    collections = ["monsters"]

The keys are the editor settings' names. Without `profile`, the profile is named after the
folder (plus a short hash of its path), so two campaigns never share one by accident.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import re
import stat
import tomllib
from pathlib import Path
from typing import Any, Literal

import msgspec

from . import locate
from .errors import InvalidParams
from .protocol import Limit
from .settings import (
    CollectionPriorities,
    Edition,
    PackIds,
    Paths,
    Priorities,
    ProfileName,
    Rules,
    Settings,
)
from .text import slugify

CONFIG = "d5e.toml"


class WorkspaceConfig(
    msgspec.Struct, kw_only=True, rename="camel", forbid_unknown_fields=True, omit_defaults=True
):
    profile: ProfileName | None = None
    edition: Edition | None = None
    packs: Priorities = {}
    collection_priorities: CollectionPriorities = {}
    rules: Rules = []
    disabled: PackIds = []
    pack_paths: Paths = []
    completion_limit: Limit | None = None
    stat_blocks: Literal["markdown", "homebrewery"] | None = None
    party: list[int] = []


def find_root(start: Path) -> Path | None:
    """The nearest folder from `start` upwards that holds a `d5e.toml`."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / CONFIG).is_file():
            return folder
    return None


MAX_CONFIG_BYTES = 1024 * 1024
"""A d5e.toml is typed by hand; a larger one (a link to a huge file) is refused unread."""


def read_config(path: Path) -> bytes:
    """The bytes of a d5e.toml (a link is followed); InvalidParams when it is no regular file
    (a pipe would block, a device never end) or larger than MAX_CONFIG_BYTES, OSError when it
    cannot be read."""
    with os.fdopen(os.open(path, os.O_RDONLY | os.O_NONBLOCK), "rb") as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise InvalidParams(f"{path}: not a file (a pipe, a socket or a device): not read")
        data = f.read(MAX_CONFIG_BYTES + 1)
    if len(data) > MAX_CONFIG_BYTES:
        raise InvalidParams(
            f"{path}: {max(st.st_size, len(data)):,} bytes: a d5e.toml is at most "
            f"{MAX_CONFIG_BYTES:,}; none of it was read"
        )
    return data


def config_text(root: Path | None) -> bytes | None:
    """The bytes of the `d5e.toml` at `root` (None: there is none, or it cannot be read)."""
    try:
        return read_config(root / CONFIG) if root is not None else None
    except (OSError, InvalidParams):
        return None


def is_config(root: Path, path: Path) -> bool:
    """Whether `path` is the `d5e.toml` of the workspace at `root` (links resolved)."""
    return path.name == CONFIG and path.parent.resolve() == root.resolve()


def profile_name(root: Path) -> str:
    """The folder's own profile: its name (at most 57 characters) and a hash of its path."""
    digest = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:6]
    name = slugify(root.resolve().name)[:57].strip("-")
    return f"{name or 'workspace'}-{digest}"


def _key_line(text: str, path: list[str | int]) -> tuple[int, int]:
    """Where a top-level key or `[key…]` table starts in the TOML text, or the key inside it
    that `path` goes on to (`packs.srd-2014`: the line `srd-2014 = …` after `[packs]`)."""
    found, start = (1, 1), 0
    lines = text.splitlines()
    keys = [k for k in path if isinstance(k, str)]
    for key in keys:
        for number in range(start, len(lines)):
            line = lines[number]
            stripped = line.strip()
            names = stripped.lstrip("[").split("=", 1)[0].split("]", 1)[0].split(".")
            names = [n.strip().strip("\"'") for n in names]
            if key in names:
                found, start = (number + 1, len(line) - len(line.lstrip()) + 1), number
                break
        else:
            break
    return found


def _not_a_key(key: str) -> str:
    """Why `key` is refused in a d5e.toml, and the keys it takes."""
    taken = WorkspaceConfig.__struct_encode_fields__
    keys = ", ".join(taken)
    if key in Settings.__struct_encode_fields__:
        why = "a setting a campaign folder cannot make (set it in the editor, flags or environment)"
    else:
        why = "not a d5e.toml setting"
        by_case = {k.lower(): k for k in taken}
        close = difflib.get_close_matches(key.lower(), by_case, n=1, cutoff=0.75)
        if close:  # `statblocks`, `party_size`…
            return f"{why}; did you mean {by_case[close[0]]}?"
    return f"{why}; d5e.toml takes {keys}"


def layer(root: Path | None) -> dict[str, Any]:
    """The settings a workspace gives (camelCase, as `settings.build` takes them)."""
    if root is None:
        return {}
    root = root.resolve()
    path = root / CONFIG
    if not path.is_file():
        return _own(root)
    text, values = _parse(path)
    return _own(root) | _convert(root, text, values)


NOT_APPLIED = "settings not applied: "
"""How a setting that could not be applied (a broken d5e.toml, say) is reported."""


def applicable(root: Path | None) -> tuple[dict[str, Any], str | None]:
    """`layer(root)`, or for a broken d5e.toml what of it can be applied and what is wrong
    (a running daemon never refuses a campaign for it: the writer fixes the file, saves, and it
    applies). A bad value leaves its setting at the default and the others apply; a file that
    is no TOML at all leaves every setting at the default."""
    try:
        return layer(root), None
    except InvalidParams as exc:
        problem = exc.message
    assert root is not None
    root = root.resolve()
    path = root / CONFIG
    try:
        text, values = _parse(path)
    except InvalidParams:
        try:
            written = _keys_written(read_config(path).decode("utf-8", errors="replace"))
        except (OSError, InvalidParams):
            written = []
        defaults = ", ".join(written) or "every setting"
        return _own(root), f"{problem} (none of it applied: defaults for {defaults})"
    problems, unset = [], []
    while True:
        try:
            found = _own(root) | _convert(root, text, values)
        except InvalidParams as exc:
            problems.append(exc.message)
            field = exc.data.get("field", "") if isinstance(exc.data, dict) else ""
            key = field.split(".")[0].split("[")[0]
            if key not in values:  # cannot tell which setting: none applied
                return _own(root), f"{problem} (none of it applied: defaults for every setting)"
            unset.append(key)
            del values[key]
            continue
        return found, f"{'; '.join(problems)} (defaults for {', '.join(unset)}; the rest applied)"


def _keys_written(text: str) -> list[str]:
    """The d5e.toml settings a text that is no TOML seems to set (a key or `[table]` at a
    line's start), to say which fall back to their defaults."""
    taken = {k.lower(): k for k in WorkspaceConfig.__struct_encode_fields__}
    seen = []
    for line in text.splitlines():
        name = line.strip().lstrip("[").split("=", 1)[0].split("]", 1)[0].split(".")[0]
        key = taken.get(name.strip().strip("\"'").lower())
        if key and key not in seen:
            seen.append(key)
    return seen


def _own(root: Path) -> dict[str, Any]:
    """What every campaign folder gives: itself, and its own profile."""
    return {"workspace": str(root), "profile": profile_name(root)}


def _parse(path: Path) -> tuple[str, dict[str, Any]]:
    """The text of a d5e.toml and its TOML values (InvalidParams naming file, line, column)."""
    try:
        text = read_config(path).decode("utf-8")
        deep = locate.toml_too_deep(text)
        if deep is not None:
            line, column = deep
            raise InvalidParams(
                f"{path}:{line}:{column}: arrays, tables or dotted keys nested more than "
                f"{locate.TOML_DEPTH} deep",
                {"path": str(path), "line": line, "column": column, "field": ""},
            )
        values = tomllib.loads(text)
    except UnicodeDecodeError as exc:
        raise InvalidParams(f"{path}: not UTF-8 text (byte {exc.start})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise _toml_error(path, text, str(exc)) from exc
    return text, values


def _toml_error(path: Path, text: str, said: str) -> InvalidParams:
    """tomllib's "Unclosed array (at line 2, column 13)" or "(at end of document)" as
    `path:line:column: Unclosed array`, the place first as every other d5e.toml problem."""
    at = re.search(r" \(at line (\d+), column (\d+)\)$", said)
    if at:
        line, column = int(at[1]), int(at[2])
    elif said.endswith(" (at end of document)"):
        lines = text.split("\n")
        line, column = len(lines), len(lines[-1]) + 1
    else:
        return InvalidParams(f"{path}: {said}")
    message = said[: said.rindex(" (at ")]
    return InvalidParams(
        f"{path}:{line}:{column}: {message}",
        {"path": str(path), "line": line, "column": column, "field": ""},
    )


def _convert(root: Path, text: str, values: dict[str, Any]) -> dict[str, Any]:
    """The settings of a d5e.toml's values (InvalidParams naming the file, line and setting)."""
    path = root / CONFIG
    edition = values.get("edition")
    if isinstance(edition, int) and not isinstance(edition, bool):
        values["edition"] = str(edition)  # `edition = 2014`, as the docs write it
    try:
        config = locate.convert(values, WorkspaceConfig)
    except msgspec.ValidationError as exc:
        message, where = locate.split_message(str(exc))
        key = str(where[0]) if where else ""
        if not where and "unknown field" in message:
            key = message.split("`")[1] if "`" in message else ""
            message = _not_a_key(key)
        if key == "packs" and len(where) == 2 and message.startswith("Expected `int`, got"):
            message = _not_a_priority(str(where[1]))
        line, column = _key_line(text, [key, *where[1:]]) if key else (1, 1)
        if where:  # a value refused: its own place (an array's item), not its key's
            keys = [i for i, step in enumerate(where) if isinstance(step, str)]
            items = [s for s in where[keys[-1] + 1 :] if isinstance(s, int)] if keys else []
            line, column = locate.toml_value_position(text, line, column, items)
        field = locate.show_path(where) or key
        raise InvalidParams(
            f"{path}:{line}:{column}: {field + ': ' if field else ''}{message}",
            {"path": str(path), "line": line, "column": column, "field": field},
        ) from exc
    settings: dict[str, Any] = msgspec.to_builtins(config)
    if "party" in settings:  # the campaign's party wins over the editor's (Settings.party_levels)
        settings["workspaceParty"] = settings.pop("party")
    if "packPaths" in settings:  # installed where the user's settings allow: see below
        settings["workspacePackPaths"] = [
            str((root / Path(p).expanduser()).resolve()) for p in settings.pop("packPaths")
        ]
    return settings


def pack_path_line(root: Path, origin: Path) -> int | None:
    """The line of the d5e.toml at `root` whose `packPaths` entry installs `origin` (the
    folder or zip itself, or a folder holding it); None when none does (or it is no TOML)."""
    path = root / CONFIG
    try:
        text, values = _parse(path)
    except (InvalidParams, OSError):
        return None
    written = values.get("packPaths")
    for entry in written if isinstance(written, list) else []:
        if not isinstance(entry, str):
            continue
        where = (root / Path(entry).expanduser()).resolve()
        if origin == where or where in origin.parents:
            lines = text.splitlines()
            quoted = (f'"{entry}"', f"'{entry}'")
            found = [n for n, line in enumerate(lines, 1) if any(q in line for q in quoted)]
            return found[0] if found else _key_line(text, ["packPaths"])[0]
    return None


def _not_a_priority(pack: str) -> str:
    """What `[packs]` takes, for a value that is no priority (`srd-2014 = "off"`, `= false`):
    msgspec said "Expected `int`, got `str`"."""
    return (
        f"a pack's priority is a whole number, higher wins ({pack} = 60); to turn it off, "
        f'write disabled = ["{pack}"]'
    )


def campaign_pack_paths(settings: Settings) -> tuple[list[Path], list[str]]:
    """The packs a campaign's d5e.toml may bring (`packPaths`), and why each other is refused.

    A campaign folder cannot change packs or profiles outside itself: its packs are inside it
    (after `~` is expanded and links are followed: `../x`, `/etc` or a link to elsewhere are
    not), or inside a folder the user's own settings trust (`trustedPackFolders`)."""
    if not settings.workspace_pack_paths:
        return [], []
    root = Path(settings.workspace or "/nowhere").resolve()
    trusted = [root, *(Path(p).expanduser().resolve() for p in settings.trusted_pack_folders)]
    allowed, refused = [], []
    for written in settings.workspace_pack_paths:
        path = Path(written)
        if any(path == folder or folder in path.parents for folder in trusted):
            allowed.append(path)
            continue
        refused.append(
            f"{root / CONFIG}: packPaths: {path} is outside the campaign folder; a campaign "
            "cannot bring packs from elsewhere: move the pack into the campaign folder, or "
            "trust its folder in your own settings (D5E_TRUSTED_PACK_FOLDERS, or the "
            "editor's trustedPackFolders)"
        )
    return allowed, refused
