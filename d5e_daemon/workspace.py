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

import hashlib
import tomllib
from pathlib import Path
from typing import Any, Literal

import msgspec

from . import locate
from .errors import InvalidParams
from .records import PriorityRule
from .settings import Edition
from .text import slugify

CONFIG = "d5e.toml"


class WorkspaceConfig(
    msgspec.Struct, kw_only=True, rename="camel", forbid_unknown_fields=True, omit_defaults=True
):
    profile: str | None = None
    edition: Edition | None = None
    packs: dict[str, int] = {}
    collection_priorities: dict[str, dict[str, int]] = {}
    rules: list[PriorityRule] = []
    disabled: list[str] = []
    pack_paths: list[str] = []
    completion_limit: int | None = None
    stat_blocks: Literal["markdown", "homebrewery"] | None = None
    party: list[int] = []


def find_root(start: Path) -> Path | None:
    """The nearest folder from `start` upwards that holds a `d5e.toml`."""
    start = start.resolve()
    for folder in (start, *start.parents):
        if (folder / CONFIG).is_file():
            return folder
    return None


def profile_name(root: Path) -> str:
    digest = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:6]
    return f"{slugify(root.resolve().name) or 'workspace'}-{digest}"


def _key_line(text: str, key: str) -> tuple[int, int]:
    """Where a top-level key or `[key…]` table starts in the TOML text."""
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        name = stripped.lstrip("[").split("=", 1)[0].split("]", 1)[0].split(".", 1)[0].strip()
        if name.strip("\"'") == key:
            return number, len(line) - len(line.lstrip()) + 1
    return 1, 1


def layer(root: Path | None) -> dict[str, Any]:
    """The settings a workspace gives (camelCase, as `settings.build` takes them)."""
    if root is None:
        return {}
    root = root.resolve()
    found: dict[str, Any] = {"workspace": str(root), "profile": profile_name(root)}
    path = root / CONFIG
    if not path.is_file():
        return found
    try:
        text = path.read_text("utf-8")
        values = tomllib.loads(text)
    except UnicodeDecodeError as exc:
        raise InvalidParams(f"{path}: not UTF-8 text (byte {exc.start})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise InvalidParams(f"{path}: {exc}") from exc
    try:
        config = msgspec.convert(values, WorkspaceConfig)
    except msgspec.ValidationError as exc:
        message, where = locate.split_message(str(exc))
        key = str(where[0]) if where else ""
        if not where and "unknown field" in message:
            key = message.split("`")[1] if "`" in message else ""
        line, column = _key_line(text, key) if key else (1, 1)
        field = locate.show_path(where) or key
        raise InvalidParams(
            f"{path}:{line}:{column}: {field + ': ' if field else ''}{message}",
            {"path": str(path), "line": line, "column": column, "field": field},
        ) from exc
    settings: dict[str, Any] = msgspec.to_builtins(config)
    if "party" in settings:  # the campaign's party wins over the editor's (Settings.party_levels)
        settings["workspaceParty"] = settings.pop("party")
    if config.pack_paths:
        settings["packPaths"] = [str((root / p).resolve()) for p in config.pack_paths]
    return found | settings
