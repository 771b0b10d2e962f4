"""Installing, upgrading and removing packs; turning settings into a profile's priorities.

Every change is one transaction that also rebuilds the resolved winners of every profile, so a
reader in any process sees the old state or the new one, never a half-installed pack.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import apsw
import msgspec

from . import extends, locate, names, packfiles, packformat, queries, text
from .db import storage_error, transaction
from .errors import Flag, PackError
from .records import (
    Derive,
    Entry,
    LoadedPack,
    Pack,
    PackContent,
    PackProblem,
    PriorityRule,
    SqliteTables,
)
from .settings import Settings

log = logging.getLogger(__name__)

ID_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
SLUG_RE = re.compile(packformat.SLUG_PATTERN.strip("^$"))
COLLECTION_RE = re.compile(r"[a-z][a-z0-9-]{0,63}")


@dataclass(frozen=True)
class InstallResult:
    pack: str
    action: str  # "installed" | "upgraded" | "unchanged"
    entries: int
    changed: int = 0
    """Entries added, changed or removed (all of them for a SQLite copy)."""
    warnings: tuple[PackProblem, ...] = ()
    also: tuple[InstallResult, ...] = ()
    """The other packs read from the same path (a 5etools file with several sources)."""
    adopted: str | None = None
    """The user installed a pack a campaign's `packPaths` had brought: it is theirs now (on in
    every profile), its content unchanged or not; the profile of that campaign."""


@dataclass(frozen=True)
class Claim:
    """Who installs a pack, and what they may do with an id another origin owns. A pack id has
    one owner, its origin: the folder or zip it was installed from, or the plugin offering it."""

    replace: bool = False
    """The caller said `replace: true` (CLI `--replace`): the id moves to the new origin."""
    builtin: Mapping[str, str] = field(default_factory=dict)
    """Pack id → origin of the packs plugins offer: their ids are taken even when not installed."""
    workspace: str | None = None
    """The profile of the workspace whose `packPaths` install the pack: it never replaces a pack,
    and a pack it brings is on by default in that profile only."""
    user: bool = False
    """The user asked for the pack (`d5e packs install`, an editor's "Install pack…", the
    editor's own `packPaths`): it is theirs, on in every profile, even when a campaign's
    `packPaths` brought it first; that campaign's next start does not take it back."""
    pack_paths: bool = False
    """Installed because a `packPaths` setting names it (the editor's, a campaign's): it never
    replaces a pack."""


def check_claim(
    conn: apsw.Connection, pack_id: str, origin: str, claim: Claim, *, created: bool = False
) -> None:
    """Refuse to install `origin` under an id owned by another origin, unless `claim.replace`.
    `created`: a pack about to be made (`d5e packs new`), whose id is the request's, not yet
    a pack.toml's."""
    current = queries.pack_origin(conn, pack_id)
    holder = current if current is not None else claim.builtin.get(pack_id)
    if holder is None or holder == origin:
        return
    if current is not None and _moved_with_its_campaign(conn, pack_id, current, origin, claim):
        return
    what = (
        f"is already installed from {holder}"
        if current is not None
        else f"belongs to a built-in pack ({holder})"
    )
    data = {"pack": pack_id, "owner": holder, "origin": origin}
    where = "" if created else " in its pack.toml"
    if origin.lower().endswith(".json"):
        # a 5etools homebrew file: its pack is a source, and a source's entries may be spread
        # over several files (a book's creatures, its adventure…)
        where = (
            " (its `_meta.sources` `json`); files of one source are one pack: put them in one "
            "folder and install the folder"
        )
    advice = f"give this pack another id{where}"
    if current is not None and Path(current).is_absolute() and not os.path.lexists(current):
        # moved, or a database brought from another machine: the same pack, most likely
        what += " (not there any more: moved here?)"
    if current is not None and _inside(origin, current):
        # one document of Open5e's data/v2 after the whole folder: the same pack, not another
        advice = f"it came with {current}, which holds this folder: install that again"
    if claim.pack_paths:
        whose = "a workspace's" if claim.workspace is not None else "the editor's"
        raise PackError(
            f"{origin}: pack id {pack_id} {what}; {whose} packPaths never replace a pack: {advice}",
            data,
        )
    if not claim.replace:
        raise PackError(
            f"{origin}: pack id {pack_id} {what}; installing this would replace it: {advice}",
            data,
            flag=Flag("replace", "to replace it"),
        )


def _moved_with_its_campaign(
    conn: apsw.Connection, pack_id: str, current: str, origin: str, claim: Claim
) -> bool:
    """A campaign's `packPaths` pack read from where its campaign is now: the folder it was
    installed from is gone, and it was brought by this campaign's profile (a folder renamed
    inside it), or by a campaign whose folder is gone too, from the same place in it (the
    campaign moved: `a/camp/homebrew` → `b/camp/homebrew`). The id then moves with it (it was
    refused: "give this pack another id", and the campaign's entries were not found)."""
    if claim.workspace is None or os.path.lexists(current):
        return False
    brought_by = queries.pack_workspace(conn, pack_id)
    if brought_by is None:  # the user's pack: a campaign never takes it
        return False
    if brought_by == claim.workspace:
        return True
    old_root = queries.profile_owner(conn, brought_by)[1]
    new_root = queries.profile_owner(conn, claim.workspace)[1]
    if old_root is None or new_root is None or os.path.lexists(old_root):
        return False
    old, new = Path(current), Path(origin)
    return (
        old.is_relative_to(old_root)
        and new.is_relative_to(new_root)
        and old.relative_to(old_root) == new.relative_to(new_root)
    )


def check_in_place(path: Path) -> None:
    """A pack read again where it was checked or installed (a stored origin; a campaign's
    `packPaths`, checked when its d5e.toml was read) must be there still: a folder or zip
    swapped for a link since (or a folder on its path) would read, and an upload write,
    somewhere else. PackError when a link is on its path now."""
    real = os.path.realpath(path)
    if real != os.path.abspath(path):
        raise PackError(
            f"{path} is now a link (to {real}): d5e reads a pack where it was installed, never "
            f"through a link; nothing was read nor written (install {real} itself if it is "
            "yours)"
        )


def _inside(path: str, folder: str) -> bool:
    return path != folder and Path(path).is_relative_to(Path(folder))


def check_pack_id(pack_id: str) -> None:
    if not ID_RE.fullmatch(pack_id):
        raise PackError(
            f"invalid pack id {pack_id!r}: use lower-case letters, digits and '-' (max 64)"
        )


def entry_problems(entries: list[Entry]) -> list[PackProblem]:
    """The invariants every entry must meet, whatever loader produced it, located."""
    problems = []
    seen: dict[tuple[str, str], Entry] = {}
    for i, e in enumerate(entries):
        file = e.source.path if e.source else f"entry {i}"
        line = e.source.line if e.source else 0

        def problem(field: str, message: str, file: str = file, line: int = line) -> None:
            problems.append(PackProblem(file=file, line=line, field=field, message=message))

        if not COLLECTION_RE.fullmatch(e.collection):
            problem("collection", f"invalid collection {e.collection!r}")
        if not SLUG_RE.fullmatch(e.slug):
            problem("slug", f"invalid slug {e.slug!r}")
        if not e.name.strip():
            problem("name", "empty name")
        first = seen.setdefault((e.collection, e.slug), e)
        if first is not e:
            where = f" (first at {first.source.path}:{first.source.line})" if first.source else ""
            problem("slug", f"duplicate ref {e.ref}{where}")
    return problems + alias_problems(entries)


def plain_names(entries: list[Entry]) -> tuple[list[Entry], list[PackProblem]]:
    """Entries whose names and aliases hold no control, bidirectional or line-breaking
    character (`packformat.plain_text`), each taken out said as a warning at its entry: a
    pack file's name reaches completion lists, hovers, cards, terminals and MCP answers."""
    out, problems = [], []
    for e in entries:
        changed: dict[str, Any] = {}
        name, char = packformat.plain_text(e.name)
        said = [("name", char)] if char else []
        aliases = e.data.get("aliases")
        if isinstance(aliases, list) and any(isinstance(a, str) for a in aliases):
            plain = []
            for i, alias in enumerate(aliases):
                text_, found = (
                    packformat.plain_text(alias) if isinstance(alias, str) else (alias, None)
                )
                plain.append(text_)
                if found:
                    said.append((f"aliases[{i}]", found))
            if plain != aliases:
                changed["aliases"] = plain
        if not said:
            out.append(e)
            continue
        if e.data.get("name") == e.name:
            changed["name"] = name
        out.append(msgspec.structs.replace(e, name=name, data={**e.data, **changed}))
        for field_, found in said:
            problems.append(
                PackProblem(
                    file=e.source.path if e.source else "",
                    line=e.source.line if e.source else 0,
                    field=field_,
                    message=packformat.hidden_message(found),
                    severity="warning",
                )
            )
    return out, problems


def plain_pack(pack: Pack, shown: str) -> tuple[Pack, list[PackProblem]]:
    """A pack's description without control, bidirectional or line-breaking characters
    (`description` and `attribution` keep line breaks and tabs), each said as a warning:
    pack.toml refuses them, other formats' files (a 5etools source's `full`) may hold them."""
    changed: dict[str, Any] = {}
    problems = []
    for name in ("title", "version", "license", "attribution", "description", "homepage"):
        value = getattr(pack, name)
        plain, char = packformat.plain_text(value, prose=name in ("description", "attribution"))
        if char:
            changed[name] = plain
            problems.append(
                PackProblem(
                    file=shown,
                    field=name,
                    message=packformat.hidden_message(char),
                    severity="warning",
                )
            )
    authors = [packformat.plain_text(a) for a in pack.authors]
    if any(char for _, char in authors):
        changed["authors"] = [a for a, _ in authors]
        char = next(char for _, char in authors if char)
        problems.append(
            PackProblem(
                file=shown,
                field="authors",
                message=packformat.hidden_message(char),
                severity="warning",
            )
        )
    return (msgspec.structs.replace(pack, **changed) if changed else pack), problems


def alias_problems(entries: list[Entry]) -> list[PackProblem]:
    """Declared aliases that are another entry's name in the pack: the name would mean two
    entries. (Entries may share an alias, as a copy shares its original's: the alias then
    finds both.)"""
    problems = []
    named: dict[str, Entry] = {}
    for e in entries:
        named.setdefault(text.normalize(e.name), e)
    for e in entries:
        for i, alias in enumerate(names.declared_aliases(e.data)):
            other = named.get(text.normalize(alias))
            if other is None or other is e:
                continue
            where = f" ({other.source.path}:{other.source.line})" if other.source else ""
            problems.append(
                PackProblem(
                    file=e.source.path if e.source else f"{e.ref}",
                    line=e.source.line if e.source else 0,
                    field=f"aliases[{i}]",
                    message=f"alias {alias!r} of {e.ref} is the name of {other.ref}{where}: "
                    "a name must mean one entry",
                )
            )
    return problems


def pack_error(
    pack_id: str | list[str], problems: list[PackProblem], *, unnamed_at: str | None = None
) -> PackError:
    """Every problem in one error: the message shows the first few, `data` holds them all. The
    problems of files read together (a folder of several sources) are all the packs': the
    message names them all, not the first as if the problems were its own. A pack nothing
    named (no valid pack.toml) is called by its path, `unnamed_at`, not by a made-up id: `/`
    was "pack pack"."""
    errors = [p for p in problems if p.severity == "error"]
    shown = "\n".join(str(p) for p in errors[:20])
    more = f"\n… and {len(errors) - 20} more" if len(errors) > 20 else ""
    ids = [pack_id] if isinstance(pack_id, str) else pack_id
    named = ", ".join(ids[:3]) + (", …" if len(ids) > 3 else "")
    if unnamed_at is not None:
        which = f"the {'folder' if Path(unnamed_at).is_dir() else 'file'} at {unnamed_at} has"
    elif len(ids) == 1:
        which = f"pack {ids[0]} has"
    else:
        which = f"the {len(ids)} packs ({named}) have"
    count = f"{len(errors)} problem" + ("" if len(errors) == 1 else "s")
    data: dict[str, Any] = {"problems": problems}
    if len(problems) > MAX_PROBLEMS_SENT:  # the errors first, then what else fits
        rest = [p for p in problems if p.severity != "error"]
        data = {
            "problems": (errors + rest)[:MAX_PROBLEMS_SENT],
            "more": len(problems) - MAX_PROBLEMS_SENT,
        }
    data["problems"] = [msgspec.to_builtins(p) for p in data["problems"]]
    return PackError(f"{which} {count}; nothing was installed:\n{shown}{more}", data)


MAX_PROBLEMS_SENT = 1_000
"""The problems an install's error holds (`data.more` counts the others): a file of a million
nameless records made an answer of 150 MB."""


def _file_fingerprint(path: Path, pack: Pack) -> str:
    """Pack description + file size + the SQLite header: checked at every start, so it must
    not read 4 MB. The header holds the file's change counter and schema cookie, which move with
    every write; the path and times are left out, since every install of the package (a new
    virtualenv, a reinstall) writes the same file somewhere else at another time, and taking
    that for new content copied the SRD again and dropped its search index."""
    with path.open("rb") as f:
        header = f.read(100)
    seed = msgspec.json.encode(pack) + f"|{path.stat().st_size}|".encode() + header
    return hashlib.sha256(seed).hexdigest()[:32]


Fingerprint = tuple[str, str, str, str, str | None, str | None, int | None]


def _fingerprint(e: queries.NewEntry) -> Fingerprint:
    return (e.collection, e.slug, e.name, e.content_hash, e.extends, e.source_path, e.source_line)


def _entries_hash(pack: Pack, rows: list[Fingerprint], origin: str) -> str:
    """The pack's description, origin and every entry as stored (its data through its content
    hash): the same whether computed from what is about to be written or from what was."""
    digest = hashlib.sha256(msgspec.json.encode(pack) + origin.encode())
    digest.update(msgspec.json.encode(sorted(rows, key=lambda r: (r[0], r[1]))))
    return digest.hexdigest()[:32]


def _readonly_uri(path: Path) -> str:
    return f"file:{path}?mode=ro&immutable=1"


def _finder(conn: apsw.Connection, read: set[str] | None = None) -> extends.FindBase:
    """`find` of installed entries; `read` collects the packs asked."""

    def find(pack: str, collection: str, slug: str) -> tuple[str, dict[str, Any]] | None:
        if read is not None:
            read.add(pack)
        return queries.entry_record(conn, pack, collection, slug)

    return find


def prepare(
    conn: apsw.Connection,
    pack: Pack,
    entries: list[Entry],
    derive: Derive | None = None,
    read: set[str] | None = None,
) -> tuple[list[Entry], list[PackProblem]]:
    """Entries with `extends` resolved against the database, and every problem found; `read`
    collects the packs whose entries the resolution read (bases, and what a loader's `derive`
    reads besides them: 5etools' monster templates).

    Reads only: `validate` uses it to report, `install` inside its write transaction.
    """
    check_pack_id(pack.id)
    own = [msgspec.structs.replace(e, pack=pack.id) for e in entries]
    installed = {p for p, _ in queries.packs_state(conn)}
    find = _finder(conn, read)
    resolved, problems = extends.resolve(own, pack.id, find, installed, derive=derive)
    resolved, plain = plain_names(resolved)
    problems += plain
    return resolved, problems + entry_problems(resolved) + other_names(conn, pack.id, resolved)


def other_names(conn: apsw.Connection, pack_id: str, entries: list[Entry]) -> list[PackProblem]:
    """Declared aliases and names that meet another installed pack's entry of the same
    collection.

    - A declared alias that is the name of an entry of an enabled pack (one some profile
      enables) is an error, at the alias's file, line and column: a tag or lookup of that name
      would mean two entries, and the author fixes it by renaming or dropping the alias.
      A pack nobody enables only gets a warning (the name would win once it is enabled).
    - An entry's name that another pack declares as an alias is a warning: a name is never
      wrong, and it wins over the alias (the name now means this entry)."""
    problems = []
    enabled: set[str] | None = None
    for e in entries:
        for i, alias in enumerate(names.declared_aliases(e.data)):
            others = [
                row
                for row in queries.entries_by_norm_name(conn, text.normalize(alias), [e.collection])
                if row.pack != pack_id
            ]
            if not others:
                continue
            if enabled is None:
                enabled = queries.enabled_packs(conn)
            on = [o for o in others if o.pack in enabled]
            shown = ", ".join(f"{o.pack}:{o.ref}" for o in (on or others)[:3])
            file, line, column = _alias_at(e, alias)
            if on:
                message = (
                    f"alias {alias!r} of {e.ref} is the name of {shown}: a name must mean one "
                    "entry; rename or drop the alias"
                )
            else:
                message = (
                    f"alias {alias!r} of {e.ref} is the name of {shown} (not enabled): once "
                    f"enabled, the name wins over the alias"
                )
            problems.append(
                PackProblem(
                    file=file,
                    line=line,
                    column=column,
                    field=f"aliases[{i}]",
                    severity="error" if on else "warning",
                    message=message,
                )
            )
    by_name = {(e.collection, text.normalize(e.name)): e for e in entries}
    for other in queries.declared_aliases_named(conn, by_name, pack_id):
        e = by_name[(other.collection, other.norm_name)]
        where = f" ({other.source_path}:{other.source_line})" if other.source_path else ""
        problems.append(
            PackProblem(
                file=e.source.path if e.source else e.ref,
                line=e.source.line if e.source else 0,
                field="name",
                severity="warning",
                message=f"name {e.name!r} of {e.ref} is an alias of {other.pack}:{other.ref}"
                f"{where}: a name wins over an alias, so {other.alias!r} now means {e.ref}",
            )
        )
    return problems


def _alias_at(e: Entry, alias: str) -> tuple[str, int, int]:
    """File, line and column of a declared alias as written in the entry's file (the entry's
    first line when it cannot be found there: a zip member, a converted format)."""
    if e.source is None:
        return e.ref, 0, 0
    needles = [json.dumps(alias, ensure_ascii=False), f"'{alias}'", alias]
    found = locate.text_position(e.source.path, e.source.line, needles, after="alias")
    line, column = found or (e.source.line, 0)
    return e.source.path, line, column


def missing_requirements(conn: apsw.Connection, loaded: LoadedPack) -> list[PackProblem]:
    """A warning for each pack `loaded` requires that is not installed."""
    installed = {p for p, _ in queries.packs_state(conn)}
    return [
        PackProblem(
            file=str(loaded.root or loaded.pack.id),
            severity="warning",
            message=f"pack {loaded.pack.id} depends on {need}, which is not installed",
        )
        for need in dict.fromkeys(loaded.requires)
        if need not in installed and need != loaded.pack.id
    ]


_encode = msgspec.json.Encoder().encode


def _new_entry(e: Entry) -> queries.NewEntry:
    data_json = _encode(e.data).decode()
    return queries.NewEntry(
        collection=e.collection,
        slug=e.slug,
        name=e.name,
        data_json=data_json,
        content_hash=text.content_hash(data_json),
        extends=e.extends.ref if e.extends else None,
        source_path=e.source.path if e.source else None,
        source_line=e.source.line if e.source else None,
    )


def _write_entries(
    conn: apsw.Connection,
    pack_id: str,
    entries: list[queries.NewEntry],
    stored: dict[tuple[str, str], queries.StoredEntry],
) -> set[tuple[str, str]]:
    """Bring the `stored` entries (all of the pack's, or those of some files) to `entries`,
    touching only what changed; return the refs whose content changed, appeared or went."""
    new = {(e.collection, e.slug): e for e in entries}
    gone = [stored[ref].id for ref in stored.keys() - new.keys()]
    changed, moved = [], []
    for ref, e in new.items():
        old = stored.get(ref)
        if old is None or (old.content_hash, old.name) != (e.content_hash, e.name):
            changed.append(e)
        elif (old.extends, old.source_path, old.source_line) != (
            e.extends,
            e.source_path,
            e.source_line,
        ):
            moved.append(e)
    queries.delete_entries(conn, gone)
    queries.upsert_entries(conn, pack_id, changed)
    queries.move_entries(conn, pack_id, moved)
    return (stored.keys() - new.keys()) | {(e.collection, e.slug) for e in changed}


def install(
    conn: apsw.Connection,
    pack: Pack,
    content: PackContent,
    origin: str,
    then: Callable[[apsw.Connection], object] | None = None,
    derive: Derive | None = None,
    claim: Claim = Claim(),
) -> InstallResult:
    """Install or upgrade `pack` atomically; unchanged content is a no-op. An id owned by
    another origin is refused unless the claim says replace (see `check_claim`).

    Entries with `extends` are resolved here, inside the transaction, so a base cannot change
    between check and write. An upgrade writes only the entries that changed (the others keep
    their ids) and re-resolves only their refs. `then(conn)` runs in the same transaction (the
    caller's profile update), so no reader ever sees the pack installed but not yet enabled.
    """
    check_pack_id(pack.id)
    if isinstance(content, SqliteTables):
        return _install_sqlite(conn, pack, content, origin, then, claim)
    with transaction(conn):
        result = _install_entries(conn, pack, list(content), origin, derive, claim)
        if then is not None and (result.action != "unchanged" or result.adopted):
            then(conn)
    return result


def _install_entries(
    conn: apsw.Connection,
    pack: Pack,
    content: list[Entry],
    origin: str,
    derive: Derive | None = None,
    claim: Claim = Claim(),
) -> InstallResult:
    """The body of `install`, inside the caller's transaction."""
    check_claim(conn, pack.id, origin, claim)
    adopted = _adopt(conn, pack.id, claim)
    read: set[str] = set()
    entries, problems = prepare(conn, pack, content, derive, read)
    if any(p.severity == "error" for p in problems):
        raise pack_error(pack.id, problems)
    warnings = tuple(problems)
    rows = [_new_entry(e) for e in entries]
    digest = _entries_hash(pack, [_fingerprint(r) for r in rows], origin)
    previous = queries.pack_content_hash(conn, pack.id)
    if previous == digest:
        queries.set_pack_reads(conn, pack.id, sorted(read))  # (stored before 0013: none)
        return InstallResult(pack.id, "unchanged", len(entries), 0, warnings, adopted=adopted)
    moved = queries.pack_origin(conn, pack.id) != origin
    queries.upsert_pack(conn, pack, origin, digest)
    # what its entries were derived from besides their bases: a change there reads it again
    queries.set_pack_reads(conn, pack.id, sorted(read))
    if moved:
        queries.set_pack_workspace(conn, pack.id, claim.workspace)
    refs = _write_entries(conn, pack.id, rows, queries.stored_entries(conn, pack.id))
    queries.refresh_aliases(conn, pack.id, refs)
    queries.rebuild_resolved(conn, refs=refs)
    action = "upgraded" if previous else "installed"
    return InstallResult(pack.id, action, len(entries), len(refs), warnings, adopted=adopted)


def _adopt(conn: apsw.Connection, pack_id: str, claim: Claim) -> str | None:
    """The user's install of a pack a campaign's `packPaths` brought makes it theirs (see
    `Claim.user`); the campaign's profile when it was the campaign's."""
    owner = queries.pack_workspace(conn, pack_id) if claim.user else None
    if owner is not None:
        queries.set_pack_workspace(conn, pack_id, None)
    return owner


def update_files(
    conn: apsw.Connection,
    pack_id: str,
    rels: set[str],
    then: Callable[[apsw.Connection], object] | None = None,
) -> InstallResult | None:
    """Live reload of some files of an installed folder pack: only they are read and parsed, the
    rest of the pack is taken as stored, and the result is what a full re-install would give
    (the same entries, the same pack hash). None when the whole pack must be read again:
    pack.toml or a folder changed, or entries of other files extend entries of these."""
    origin = queries.pack_origin(conn, pack_id)
    pack = queries.get_pack(conn, pack_id)
    if origin is None or pack is None or not Path(origin).is_dir():
        return None
    tree = packfiles.read_changed(Path(origin), rels, origin)
    if tree is None:
        return None
    files, problems = tree
    entries, found = packformat.parse_files(files)
    problems = sorted(problems + found, key=lambda p: (p.file, p.line, p.column))
    if any(p.severity == "error" for p in problems):
        raise pack_error(pack_id, problems)
    sources = {os.path.join(origin, *rel.split("/")) for rel in rels}
    with transaction(conn):
        previous = queries.pack_content_hash(conn, pack_id)
        stored = queries.stored_entries(conn, pack_id)
        mine = {ref: e for ref, e in stored.items() if e.source_path in sources}
        touched = {
            f"{pack_id}:{c}/{s}" for c, s in mine.keys() | {(e.collection, e.slug) for e in entries}
        }
        if any(e.extends in touched for ref, e in stored.items() if ref not in mine):
            return None
        own = [msgspec.structs.replace(e, pack=pack_id) for e in entries]
        installed = {p for p, _ in queries.packs_state(conn)}
        resolved, found = extends.resolve(own, pack_id, _finder(conn), installed, stored_own=True)
        resolved, plain = plain_names(resolved)
        problems += found + plain + entry_problems(resolved) + other_names(conn, pack_id, resolved)
        for e in resolved:
            other = stored.get((e.collection, e.slug))
            if other is not None and (e.collection, e.slug) not in mine:
                where = f" (first at {other.source_path}:{other.source_line})"
                problems.append(
                    PackProblem(
                        file=e.source.path if e.source else origin,
                        line=e.source.line if e.source else 0,
                        field="slug",
                        message=f"duplicate ref {e.ref}{where}",
                    )
                )
        if any(p.severity == "error" for p in problems):
            raise pack_error(pack_id, problems)
        rows = [_new_entry(e) for e in resolved]
        refs = _write_entries(conn, pack_id, rows, mine)
        queries.refresh_aliases(conn, pack_id, refs)
        after = {
            (c, s): (c, s, e.name, e.content_hash, e.extends, e.source_path, e.source_line)
            for (c, s), e in stored.items()
            if (c, s) not in mine
        }
        after.update({(r.collection, r.slug): _fingerprint(r) for r in rows})
        digest = _entries_hash(pack, list(after.values()), origin)
        queries.set_pack_hash(conn, pack_id, digest)
        queries.rebuild_resolved(conn, refs=refs)
        if then is not None:
            then(conn)
    total = sum(queries.counts_by_collection(conn, pack_id).values())
    action = "unchanged" if digest == previous else "upgraded"
    return InstallResult(pack_id, action, total, len(refs), tuple(problems))


def install_loaded(
    conn: apsw.Connection,
    loaded: LoadedPack | list[LoadedPack],
    origin: str,
    then: Callable[[apsw.Connection], object] | None = None,
    claim: Claim = Claim(),
) -> list[InstallResult]:
    """Install what a path loader read (one pack, or the several packs of one file) in one
    transaction; any error (the loader's or ours, in any of the packs) imports nothing."""
    packs = loaded if isinstance(loaded, list) else [loaded]
    for one in packs:
        if one.errors:
            unnamed_at = None if one.named else origin
            raise pack_error([p.pack.id for p in packs], one.problems, unnamed_at=unnamed_at)
    results = []
    with transaction(conn):
        for one in packs:
            check_pack_id(one.pack.id)
            pack, plain = plain_pack(one.pack, origin)
            result = _install_entries(conn, pack, one.entries, origin, one.derive, claim)
            warnings = (
                tuple(one.problems)
                + tuple(plain)
                + tuple(missing_requirements(conn, one))
                + result.warnings
            )
            results.append(dataclasses.replace(result, warnings=warnings))
        if then is not None and any(r.action != "unchanged" or r.adopted for r in results):
            then(conn)
    return results


def _set_declared(
    conn: apsw.Connection, pack_id: str, source: SqliteTables
) -> set[tuple[str, str]]:
    """The aliases and lore `source` declares, into its entries' data; the refs changed."""
    refs = queries.set_declared(conn, pack_id, "aliases", source.aliases)
    return refs | queries.set_declared(conn, pack_id, "lore", source.lore)


def _install_sqlite(
    conn: apsw.Connection,
    pack: Pack,
    source: SqliteTables,
    origin: str,
    then: Callable[[apsw.Connection], object] | None,
    claim: Claim,
) -> InstallResult:
    path = Path(source.path)
    if not path.is_file():
        raise PackError(f"pack {pack.id}: data file {path} does not exist")
    # The stored hash is the file's fingerprint, then (after a colon) that of the data declared
    # beside it (aliases, lore): new declarations change the few entries they name, without
    # copying the file again.
    # As every install: the user's claim and `then` (the caller's profile update) in the same
    # transaction as the change, `then` whenever something changed or the pack became theirs.
    check_claim(conn, pack.id, origin, claim)
    file_digest = _file_fingerprint(path, pack)
    declared = [source.aliases, source.lore] if source.lore else source.aliases
    declared_digest = hashlib.sha256(msgspec.json.encode(declared)).hexdigest()[:16]
    digest = f"{file_digest}:{declared_digest}"
    previous = queries.pack_content_hash(conn, pack.id)
    if previous is not None and previous.split(":")[0] == file_digest:
        count = sum(queries.counts_by_collection(conn, pack.id).values())
        refs: set[tuple[str, str]] = set()
        with transaction(conn):
            adopted = _adopt(conn, pack.id, claim)
            if previous != digest:
                refs = _set_declared(conn, pack.id, source)
                queries.refresh_aliases(conn, pack.id, refs)
                queries.set_pack_hash(conn, pack.id, digest)
            if then is not None and (adopted or previous != digest):
                then(conn)
        action = "unchanged" if previous == digest else "upgraded"
        return InstallResult(pack.id, action, count, len(refs), adopted=adopted)
    queries.attach_readonly(conn, _readonly_uri(path), "src")
    try:
        available = queries.attached_tables(conn, "src")
        tables = source.tables or {t: t.replace("_", "-") for t in available}
        missing = sorted(set(tables) - set(available))
        if missing:
            raise PackError(f"pack {pack.id}: {path} has no table(s) {', '.join(missing)}")
        total = 0
        with transaction(conn):
            check_claim(conn, pack.id, origin, claim)
            adopted = _adopt(conn, pack.id, claim)
            owner = queries.pack_workspace(conn, pack.id)
            moved = queries.pack_origin(conn, pack.id) != origin
            queries.delete_pack(conn, pack.id)
            queries.upsert_pack(conn, pack, origin, digest)
            # a campaign's next start never takes a pack back from the user (`Claim.user`)
            queries.set_pack_workspace(conn, pack.id, claim.workspace if moved else owner)
            for table, collection in sorted(tables.items()):
                total += queries.copy_table(conn, pack.id, "src", table, collection)
            _set_declared(conn, pack.id, source)
            queries.refresh_aliases(conn, pack.id)
            queries.rebuild_resolved(conn)
            if then is not None:
                then(conn)
    except apsw.Error as exc:
        # the disk full or the database's file failing is the database's error, not the pack's
        error = storage_error(exc, outcome="; nothing was changed", conn=conn)
        if error is not None:
            raise error from exc
        raise PackError(f"pack {pack.id}: cannot copy {path}: {exc}") from exc
    finally:
        queries.detach(conn, "src")
    action = "upgraded" if previous else "installed"
    return InstallResult(pack.id, action, total, total, adopted=adopted)


def remove(
    conn: apsw.Connection, pack_id: str, then: Callable[[apsw.Connection], object] | None = None
) -> int:
    """Delete a pack, all its entries and every profile's choices about it; return how many
    entries went."""
    with transaction(conn):
        count = sum(queries.counts_by_collection(conn, pack_id).values())
        if queries.pack_content_hash(conn, pack_id) is None:
            raise PackError(f"pack {pack_id} is not installed")
        refs = queries.refs_of(conn, [(pack_id, None)])
        queries.delete_pack(conn, pack_id)
        queries.delete_choices(conn, pack_id)
        queries.rebuild_resolved(conn, refs=refs)  # the entries it hid win again
        if then is not None:
            then(conn)
    return count


# -- overrides --------------------------------------------------------------------------------

OVERRIDE_NAMES = 5
"""How many names an override report shows per collection (`--overrides PACK` lists all)."""


@dataclass(frozen=True)
class Overridden:
    """An entry of another enabled pack that a pack's entry hides, and whether on purpose: the
    entry `extends` the same ref, or a priority rule puts the pack over the other, or its
    priority was chosen (the edition's SRD order, a command, the settings), not its default."""

    override: queries.Override
    intended: bool


def overrides(
    conn: apsw.Connection,
    profile_id: str,
    pack_id: str,
    rules: Iterable[PriorityRule],
    chosen: bool = False,
) -> list[Overridden]:
    rules = list(rules)

    def intended(o: queries.Override) -> bool:
        if chosen:
            return True
        if o.extends is not None and o.extends.endswith(f":{o.collection}/{o.slug}"):
            return True
        return any(
            r.pack == pack_id
            and r.over == o.over
            and (not r.collections or o.collection in r.collections)
            for r in rules
        )

    return [Overridden(o, intended(o)) for o in queries.overrides(conn, profile_id, pack_id)]


def override_problems(pack_id: str, where: str, found: list[Overridden]) -> list[PackProblem]:
    """One line per other pack and kind: how many entries of each collection `pack_id`
    overrides and the first names. Accidental overrides (the same ref, no `extends`) are
    warnings; intended ones information."""
    groups: dict[tuple[str, bool], dict[str, list[str]]] = {}
    for item in found:
        o = item.override
        groups.setdefault((o.over, item.intended), {}).setdefault(o.collection, []).append(o.name)
    problems = []
    for (over, intended), by_collection in sorted(groups.items(), key=lambda g: (g[0][1], g[0][0])):
        total, parts = _names_by_collection(by_collection)
        how = (
            "on purpose (extends, or a priority rule)"
            if intended
            else "with the same refs and no `extends`"
        )
        problems.append(
            PackProblem(
                file=where,
                message=f"{pack_id} overrides {total} entries of {over} {how}: "
                f"{'; '.join(parts)}. `d5e packs list --overrides {pack_id}` lists them all",
                severity="info" if intended else "warning",
            )
        )
    return problems


def _names_by_collection(by_collection: dict[str, list[str]]) -> tuple[int, list[str]]:
    """How many names in all, and "collection N (first names, …)" per collection, largest
    first."""
    total = sum(len(n) for n in by_collection.values())
    parts = []
    for collection, found_names in sorted(by_collection.items(), key=lambda c: -len(c[1])):
        shown = ", ".join(found_names[:OVERRIDE_NAMES])
        more = ", …" if len(found_names) > OVERRIDE_NAMES else ""
        parts.append(f"{collection} {len(found_names)} ({shown}{more})")
    return total, parts


def shadow_problems(pack_id: str, where: str, found: list[queries.Shadowed]) -> list[PackProblem]:
    """One information line per pack that wins over some of `pack_id`'s entries: how many of
    each collection and the first names, and how to choose otherwise. An install that hides its
    own entries behind another pack's (a document below the SRD) says so, as one that hides
    another pack's says what it overrides."""
    groups: dict[str, dict[str, list[str]]] = {}
    for item in found:
        groups.setdefault(item.by, {}).setdefault(item.collection, []).append(item.name)
    problems = []
    for by, by_collection in sorted(groups.items()):
        total, parts = _names_by_collection(by_collection)
        problems.append(
            PackProblem(
                file=where,
                message=f"{total} entries of {pack_id} have the refs of entries of {by}, which "
                f"wins: {'; '.join(parts)}. They stay reachable as {pack_id}:COLLECTION/SLUG; "
                f"`d5e packs set-priority {pack_id} N` above {by}'s makes them win",
                severity="info",
            )
        )
    return problems


# -- profiles ---------------------------------------------------------------------------------

EDITION_PACKS = {"2014": {"srd-2014": 10}, "2024": {"srd-2014": 10, "srd-2024": 20}}
FOREIGN_CAP = 9
"""The priority a pack brought by another workspace's `packPaths` has when a command turns it on
here without giving one: below the SRD (10, 20) and the homebrew default (50)."""


@dataclass
class Priorities:
    """Which packs a profile enables, their priorities, and per-collection priorities."""

    packs: dict[str, int] = field(default_factory=dict)
    collections: dict[str, dict[str, int]] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)
    """Why each pack has its (whole-pack) priority: edition, default, rule, command, settings."""
    off: dict[str, str] = field(default_factory=dict)
    """Why each pack that is off is: edition (the other edition's SRD), command (`d5e packs
    disable`), settings (`disabled` in d5e.toml or the editor's settings), campaign (another
    campaign's `packPaths` brought it)."""

    def of(self, pack: str, collection: str) -> int:
        return self.collections.get(pack, {}).get(collection, self.packs[pack])

    def set(self, pack: str, collection: str, priority: int, reason: str) -> None:
        if collection:
            self.collections.setdefault(pack, {})[collection] = priority
        else:
            self.packs[pack] = priority
            self.reasons[pack] = reason
            self.off.pop(pack, None)

    def drop(self, pack: str, why: str) -> None:
        self.packs.pop(pack, None)
        self.collections.pop(pack, None)
        self.reasons.pop(pack, None)
        self.off[pack] = why

    def lift(self, rule: PriorityRule, reason: str) -> None:
        """Make `rule.pack` win over `rule.over` (in its collections, or everywhere)."""
        if rule.pack not in self.packs or rule.over not in self.packs:
            return
        if not rule.collections:
            if self.packs[rule.pack] <= self.packs[rule.over]:
                self.set(rule.pack, "", self.packs[rule.over] + 1, reason)
            specific = set(self.collections.get(rule.pack, {}))
            specific |= set(self.collections.get(rule.over, {}))
        else:
            specific = set(rule.collections)
        for collection in sorted(specific):
            if self.of(rule.pack, collection) <= self.of(rule.over, collection):
                self.set(rule.pack, collection, self.of(rule.over, collection) + 1, reason)


def profile_priorities(
    settings: Settings,
    installed: dict[str, Pack],
    rules: Iterable[PriorityRule] = (),
    choices: Iterable[queries.Choice] = (),
    foreign: Iterable[str] = (),
) -> Priorities:
    """Which packs are on in the settings' profile, and their priorities (higher wins).

    Layers, later ones winning: the edition turns the SRD packs on; other installed packs are on
    at their default priority; plugins' priority rules lift a pack above the one it must win over
    (for some collections or all); choices made with `d5e packs enable|disable|setPriority`;
    the workspace's settings (`d5e.toml`, then the editor's): `packs` and
    `collectionPriorities` set priorities, its own `rules` lift, `disabled` turns packs off.

    `foreign` packs came with another workspace's `packPaths`: they are off here until a command
    or these settings turn them on (a command at most at FOREIGN_CAP unless it gives a
    priority), so a campaign folder cannot change the user's other profiles: its pack neither
    wins nor adds names (completion, lookups, what overrides what) anywhere else.
    """
    foreign = set(foreign)
    result = Priorities()
    for pack_id, prio in EDITION_PACKS[settings.edition].items():
        result.set(pack_id, "", prio, "edition")
    for pack_id in EDITION_PACKS["2024"].keys() - result.packs.keys():
        result.off[pack_id] = "edition"
    for pack_id, pack in installed.items():
        if pack_id in EDITION_PACKS["2024"] or pack_id in result.packs:
            continue
        if pack_id in foreign:
            result.off[pack_id] = "campaign"
            continue
        result.set(pack_id, "", pack.default_priority, "default")
    for rule in rules:
        result.lift(rule, "rule")
    for choice in choices:
        if choice.enabled is False:
            result.drop(choice.pack, "command")
            continue
        if choice.enabled and choice.pack not in result.packs:
            default = installed[choice.pack].default_priority if choice.pack in installed else 0
            if choice.pack in foreign:
                default = min(default, FOREIGN_CAP)
            result.set(choice.pack, "", default, "command")
        if choice.priority is not None and choice.pack in result.packs:
            result.set(choice.pack, choice.collection, choice.priority, "command")
    for pack_id, prio in settings.packs.items():
        result.set(pack_id, "", prio, "settings")
    for pack_id, by_collection in settings.collection_priorities.items():
        if pack_id in result.packs:
            for collection, prio in by_collection.items():
                result.set(pack_id, collection, prio, "settings")
    for rule in settings.rules:
        result.lift(rule, "settings")
    for pack_id in settings.disabled:
        result.drop(pack_id, "settings")
    return result


def _saved(profile_id: str, priorities: Priorities) -> queries.SavedProfile:
    """The profile's priorities as stored, with their digest."""
    config = json.dumps(
        {"packs": dict(sorted(priorities.packs.items())), "collections": priorities.collections},
        sort_keys=True,
    )
    digest = hashlib.sha256(config.encode()).hexdigest()[:32]
    return queries.SavedProfile(
        profile_id, config, digest, priorities.packs, priorities.collections
    )


def profile_unsaved(conn: apsw.Connection, profile_id: str, priorities: Priorities) -> str | None:
    """What a saved profile lacks of `priorities` (which packs at which priority: "srd-2014 at
    10; asked: srd-2014 at 10, srd-2024 at 20"), None when it is saved as they are."""
    if queries.profile_hash(conn, profile_id) == _saved(profile_id, priorities).config_hash:
        return None

    def said(packs: dict[str, int]) -> str:
        return ", ".join(f"{p} at {n}" for p, n in sorted(packs.items())) or "no packs"

    saved = said(queries.profile_packs(conn, profile_id))
    asked = said(priorities.packs)
    if saved == asked:
        return f"{saved}; asked: the same with other priorities of collections"
    return f"{saved}; asked: {asked}"


def overlay_profile(profile_id: str, priorities: Priorities, conn: apsw.Connection) -> None:
    """The profile as `apply_profile` would store it, on `conn` alone (`queries.overlay_profile`):
    a command that only reads answers for its settings and writes nothing."""
    queries.overlay_profile(conn, _saved(profile_id, priorities))


def apply_profile(conn: apsw.Connection, profile_id: str, priorities: Priorities) -> bool:
    """Store the profile's priorities and rebuild its winners if they changed; call inside a
    transaction."""
    saved = _saved(profile_id, priorities)
    stored = queries.profile_hash(conn, profile_id)
    if stored == saved.config_hash:
        return False
    before = Priorities(
        queries.profile_packs(conn, profile_id), queries.profile_collections(conn, profile_id)
    )
    queries.save_profile(conn, saved)
    # Only the refs of packs whose effective priority changed (turned on or off, another
    # priority, for the pack or a collection) can have another winner: a pack installed
    # beside 12,000 entries re-resolves its own refs, not the whole profile.
    refs = None if not stored else queries.refs_of(conn, changed_scopes(before, priorities))
    if refs is not None and len(refs) * 3 > queries.entry_count(conn):
        refs = None  # most of the profile: one pass over everything is cheaper
    queries.rebuild_resolved(conn, profile_id, refs)
    return True


def changed_scopes(before: Priorities, after: Priorities) -> list[tuple[str, str | None]]:
    """(pack, collection) whose effective priority differs between two priorities of a
    profile; collection None: all of the pack's (it was turned on or off, or its own priority
    changed)."""
    scopes: list[tuple[str, str | None]] = []
    for pack in sorted(before.packs.keys() | after.packs.keys()):
        if before.packs.get(pack) != after.packs.get(pack):
            scopes.append((pack, None))
            continue
        old, new = before.collections.get(pack, {}), after.collections.get(pack, {})
        scopes += [(pack, c) for c in sorted(old.keys() | new.keys()) if old.get(c) != new.get(c)]
    return scopes
