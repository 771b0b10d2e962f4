"""Installing, upgrading and removing packs; turning settings into a profile's priorities.

Every change is one transaction that also rebuilds the resolved winners of every profile, so a
reader in any process sees the old state or the new one, never a half-installed pack.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import apsw
import msgspec

from . import queries
from .db import transaction
from .errors import PackError
from .records import Entry, Pack, PackContent, PriorityRule, SqliteTables
from .settings import Settings

log = logging.getLogger(__name__)

ID_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
SLUG_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,127}")
COLLECTION_RE = re.compile(r"[a-z][a-z0-9-]{0,63}")


@dataclass(frozen=True)
class InstallResult:
    pack: str
    action: str  # "installed" | "upgraded" | "unchanged"
    entries: int


def check_pack_id(pack_id: str) -> None:
    if not ID_RE.fullmatch(pack_id):
        raise PackError(
            f"invalid pack id {pack_id!r}: use lower-case letters, digits and '-' (max 64)"
        )


def check_entries(entries: list[Entry]) -> None:
    """The invariants every entry must meet, whatever loader produced it."""
    problems = []
    seen: set[tuple[str, str]] = set()
    for i, e in enumerate(entries):
        where = f"entry {i} ({e.collection}/{e.slug})"
        if not COLLECTION_RE.fullmatch(e.collection):
            problems.append(f"{where}: invalid collection {e.collection!r}")
        if not SLUG_RE.fullmatch(e.slug):
            problems.append(f"{where}: invalid slug {e.slug!r}")
        if not e.name.strip():
            problems.append(f"{where}: empty name")
        if (e.collection, e.slug) in seen:
            problems.append(f"{where}: duplicate ref")
        seen.add((e.collection, e.slug))
    if problems:
        raise PackError("invalid entries: " + "; ".join(problems[:20]), {"problems": problems})


def _file_fingerprint(path: Path, pack: Pack) -> str:
    """Pack description + file size and mtime: checked at every start, so it must not read 4 MB.

    SQLite sources are package data files, replaced (new mtime) whenever their package is.
    """
    st = path.stat()
    seed = msgspec.json.encode(pack) + f"|{path}|{st.st_size}|{st.st_mtime_ns}".encode()
    return hashlib.sha256(seed).hexdigest()[:32]


def _entries_hash(pack: Pack, entries: list[Entry]) -> str:
    digest = hashlib.sha256(msgspec.json.encode(pack))
    for e in sorted(entries, key=lambda e: (e.collection, e.slug)):
        digest.update(msgspec.json.encode(e))
    return digest.hexdigest()[:32]


def _readonly_uri(path: Path) -> str:
    return f"file:{path}?mode=ro&immutable=1"


def install(conn: apsw.Connection, pack: Pack, content: PackContent, origin: str) -> InstallResult:
    """Install or upgrade `pack` atomically; unchanged content is a no-op."""
    check_pack_id(pack.id)
    if isinstance(content, SqliteTables):
        return _install_sqlite(conn, pack, content, origin)
    entries = [msgspec.structs.replace(e, pack=pack.id) for e in content]
    check_entries(entries)
    digest = _entries_hash(pack, entries)
    previous = queries.pack_content_hash(conn, pack.id)
    if previous == digest:
        return InstallResult(pack.id, "unchanged", len(entries))
    with transaction(conn):
        queries.delete_pack(conn, pack.id)
        queries.insert_pack(conn, pack, origin, digest)
        queries.insert_entries(conn, pack.id, entries)
        queries.rebuild_resolved(conn)
    return InstallResult(pack.id, "upgraded" if previous else "installed", len(entries))


def _install_sqlite(
    conn: apsw.Connection, pack: Pack, source: SqliteTables, origin: str
) -> InstallResult:
    path = Path(source.path)
    if not path.is_file():
        raise PackError(f"pack {pack.id}: data file {path} does not exist")
    digest = _file_fingerprint(path, pack)
    previous = queries.pack_content_hash(conn, pack.id)
    if previous == digest:
        count = sum(queries.counts_by_collection(conn, pack.id).values())
        return InstallResult(pack.id, "unchanged", count)
    queries.attach_readonly(conn, _readonly_uri(path), "src")
    try:
        available = queries.attached_tables(conn, "src")
        tables = source.tables or {t: t.replace("_", "-") for t in available}
        missing = sorted(set(tables) - set(available))
        if missing:
            raise PackError(f"pack {pack.id}: {path} has no table(s) {', '.join(missing)}")
        total = 0
        with transaction(conn):
            queries.delete_pack(conn, pack.id)
            queries.insert_pack(conn, pack, origin, digest)
            for table, collection in sorted(tables.items()):
                total += queries.copy_table(conn, pack.id, "src", table, collection)
            queries.rebuild_resolved(conn)
    except apsw.Error as exc:
        raise PackError(f"pack {pack.id}: cannot copy {path}: {exc}") from exc
    finally:
        queries.detach(conn, "src")
    return InstallResult(pack.id, "upgraded" if previous else "installed", total)


def remove(conn: apsw.Connection, pack_id: str) -> int:
    """Delete a pack and all its entries; return how many entries went."""
    with transaction(conn):
        count = sum(queries.counts_by_collection(conn, pack_id).values())
        if queries.pack_content_hash(conn, pack_id) is None:
            raise PackError(f"pack {pack_id} is not installed")
        queries.delete_pack(conn, pack_id)
        queries.rebuild_resolved(conn)
    return count


# -- profiles ---------------------------------------------------------------------------------

EDITION_PACKS = {"2014": {"srd-2014": 10}, "2024": {"srd-2014": 10, "srd-2024": 20}}


def profile_priorities(
    settings: Settings, installed: dict[str, Pack], rules: Iterable[PriorityRule] = ()
) -> dict[str, int]:
    """Which packs are on in the settings' profile, and their priorities (higher wins).

    The edition turns the SRD packs on; installed packs that are not SRD are on at their
    default priority; plugin priority rules lift a pack above the one it must win over; the
    settings' explicit `packs` come last and override everything; `disabled` turns packs off.
    """
    wanted: dict[str, int] = dict(EDITION_PACKS[settings.edition])
    for pack_id, pack in installed.items():
        if pack_id not in EDITION_PACKS["2024"]:
            wanted.setdefault(pack_id, pack.default_priority)
    for rule in rules:
        if rule.pack in wanted and rule.over in wanted and wanted[rule.pack] <= wanted[rule.over]:
            wanted[rule.pack] = wanted[rule.over] + 1
    wanted.update(settings.packs)
    for pack_id in settings.disabled:
        wanted.pop(pack_id, None)
    return wanted


def apply_profile(conn: apsw.Connection, profile_id: str, priorities: dict[str, int]) -> bool:
    """Store the profile's priorities and rebuild its winners if they changed."""
    config = json.dumps(dict(sorted(priorities.items())))
    digest = hashlib.sha256(config.encode()).hexdigest()[:32]
    if queries.profile_hash(conn, profile_id) == digest:
        return False
    with transaction(conn):
        queries.save_profile(conn, profile_id, config, digest, priorities)
        queries.rebuild_resolved(conn, profile_id)
    return True
