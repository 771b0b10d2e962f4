"""Typed settings with a default for every field.

Sources, later ones winning: defaults → environment (`D5E_*`) → CLI flags or the editor's
`initializationOptions` / `workspace/didChangeConfiguration` (`{"d5e": {...}}` or the bare object).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from . import locate
from .errors import InvalidParams
from .protocol import CollectionName, Limit, PackId, PathText, Priority
from .records import PriorityRule

log = logging.getLogger(__name__)

Edition = Literal["2014", "2024"]
BUILTIN_SRD = ("srd-2014", "srd-2024")
PROFILE_PATTERN = locate.said_as(
    "^[a-z0-9][a-z0-9-]{0,63}$",
    "lower-case letters, digits and '-', up to 64, starting with a letter or digit",
)
ProfileName = Annotated[str, Meta(pattern=PROFILE_PATTERN)]
"""Pack-id rules, at most 64 characters: a profile's name is stored with its choices."""
Many = Meta(max_length=1000)
"""No list or table of settings holds more (a setting is typed by hand)."""
Priorities = Annotated[dict[PackId, Priority], Many]
ByCollection = Annotated[dict[CollectionName, Priority], Many]
CollectionPriorities = Annotated[dict[PackId, ByCollection], Many]
Rules = Annotated[list[PriorityRule], Many]
PackIds = Annotated[list[PackId], Many]
Paths = Annotated[list[PathText], Many]


class Settings(msgspec.Struct, kw_only=True, rename="camel"):
    db: str | None = None
    """Database file; default `$D5E_HOME/d5e.sqlite3` or the XDG data directory."""
    edition: Edition = "2014"
    """Which SRD is on: 2014 turns on srd-2014; 2024 turns on srd-2024 above srd-2014."""
    packs: Priorities = {}
    """Packs to enable, with their priorities (higher wins); overrides every default."""
    collection_priorities: CollectionPriorities = {}
    """`{"my-brew": {"monsters": 40}}`: a pack's priority for some collections only."""
    rules: Rules = []
    """`[{"pack": "my-brew", "over": "srd-2014", "collections": ["monsters"]}]`."""
    disabled: PackIds = []
    """Packs to turn off in this profile even if the edition or a default turns them on."""
    pack_paths: Paths = []
    """Folder or zip packs to install (and, in the daemon, watch) when the workspace opens."""
    workspace_pack_paths: Paths = []
    """The `packPaths` of the campaign's d5e.toml, resolved (`~` expanded, relative to the
    campaign folder, links followed): installed only when inside the campaign folder or a
    `trusted_pack_folders` folder (`workspace.campaign_pack_paths`)."""
    trusted_pack_folders: Paths = []
    """Folders outside campaigns whose packs a campaign's `packPaths` may name (`~/dnd/packs`):
    the user's own setting (the editor's, `D5E_TRUSTED_PACK_FOLDERS`), never a d5e.toml's."""
    workspace: str | None = None
    """The workspace (campaign) folder: where `d5e.toml` was read from."""
    watch: bool = True
    """The daemon re-imports installed folder packs when their files change."""
    builtin_packs: list[str] = msgspec.field(default_factory=lambda: list(BUILTIN_SRD))
    """Built-in packs installed on first start (installing does not enable them)."""
    profile: ProfileName = "default"
    """Name of the profile (campaign) these settings describe."""
    log_level: Literal["debug", "info", "warning", "error"] = "warning"
    completion_limit: Limit = 20
    """How many completion items to return when the request gives no limit."""
    stat_blocks: Literal["markdown", "homebrewery"] = "markdown"
    """How "Insert stat block" writes a creature: plain Markdown, or Homebrewery's
    `{{monster,frame …}}` block."""
    party: list[int] = []
    """The characters' levels (`[3, 3, 3, 3]`) that encounter difficulty is reckoned for."""
    workspace_party: list[int] = []
    """The party of the campaign's d5e.toml (`party = [3, 3, 3, 3]`): wins over `party`."""

    def party_levels(self) -> tuple[list[int], str]:
        """The party encounters are reckoned for, and where it was set."""
        if self.workspace_party:
            return self.workspace_party, "d5e.toml"
        return self.party, "the d5e.party setting"


ENV_NAMES = {
    "D5E_DB": "db",
    "D5E_EDITION": "edition",
    "D5E_PROFILE": "profile",
    "D5E_LOG_LEVEL": "logLevel",
}


def from_env(env: dict[str, str] | None = None) -> dict[str, Any]:
    """The settings given by `D5E_DB`, `D5E_EDITION`, `D5E_PROFILE`, `D5E_LOG_LEVEL` and
    `D5E_TRUSTED_PACK_FOLDERS` (folders separated as in PATH). A value no setting takes is
    an error naming the variable (`D5E_EDITION=2023: …`), not the setting's JSON path."""
    env = dict(os.environ) if env is None else env
    found: dict[str, Any] = {key: env[var] for var, key in ENV_NAMES.items() if env.get(var)}
    trusted = [p for p in env.get("D5E_TRUSTED_PACK_FOLDERS", "").split(os.pathsep) if p]
    if trusted:
        found["trustedPackFolders"] = trusted
    check({key: found[key] for key in ENV_NAMES.values() if key in found}, named_env)
    return found


def named_env(key: str, value: Any) -> str:
    var = next(var for var, name in ENV_NAMES.items() if name == key)
    return f"{var}={value!r}"


def check(given: dict[str, Any], named: Callable[[str, Any], str]) -> None:
    """Each of `given`'s settings alone: a value none takes is an error saying where it was
    given, as `named(key, value)` writes it (`D5E_EDITION='2023'`, `--profile 'My Campaign'`),
    in words (`Expected lower-case letters, …`, not the regex that refused it)."""
    for key, value in given.items():
        try:
            locate.convert({key: value}, Settings)
        except msgspec.ValidationError as exc:
            said, _ = locate.split_message(str(exc))
            raise InvalidParams(f"invalid setting: {named(key, value)}: {said}") from None


def for_d5e(settings: Any) -> dict[str, Any] | None:
    """The part of an editor's configuration that is d5e's: its `d5e` section, or the bare object
    when it names d5e settings; None when it holds nothing for d5e. Editors that send their whole
    configuration (eglot sends `{}` after initializing, by default) would otherwise erase the
    `initializationOptions` that carried the user's settings."""
    if not isinstance(settings, dict):
        return None
    if "d5e" in settings:
        return settings
    return settings if set(settings) & set(Settings.__struct_encode_fields__) else None


def build(*layers: dict[str, Any] | None) -> Settings:
    """Merge layers of camelCase settings (later wins) and validate them.

    Objects (`packs`, `collectionPriorities`) are merged key by key and lists (`disabled`,
    `rules`, `packPaths`) are joined, so that the editor's settings add to a workspace's
    `d5e.toml` instead of erasing it. Unknown keys are logged and ignored (an editor may send
    settings of a newer d5e); a known key with a wrong value is an error that names it.
    """
    merged: dict[str, Any] = {}
    for layer in layers:
        if layer:
            inner = layer.get("d5e", layer)
            if not isinstance(inner, dict):
                raise InvalidParams("invalid settings: expected an object")
            for key, value in inner.items():
                old = merged.get(key)
                if value is None:
                    continue
                if isinstance(old, dict) and isinstance(value, dict):
                    merged[key] = {**old, **value}
                elif isinstance(old, list) and isinstance(value, list):
                    merged[key] = [*old, *value]
                else:
                    merged[key] = value
    unknown = sorted(set(merged) - set(Settings.__struct_encode_fields__))
    if unknown:
        log.warning("ignoring unknown settings: %s", ", ".join(unknown))
    try:
        return locate.convert(merged, Settings)
    except msgspec.ValidationError as exc:
        what, at, where = str(exc).partition(" - at `")
        said, _ = locate.split_message(what)  # a pattern's refusal in words
        raise InvalidParams(f"invalid settings: {said}{at}{where}") from exc
