"""Writing the files of folder packs: a new pack's scaffold, and uploaded entries.

Uploaded entries become files the author can keep editing: an entry that already has a file of
its own is rewritten in place (Markdown stays Markdown), one inside a JSON list is replaced in
that list, and a new one gets `<collection>/<slug>.json`. Everything is validated, as the whole
pack would be read afterwards, before a byte is written; files are replaced atomically.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from . import packfiles, packformat
from .db import file_lock
from .errors import PackError
from .packformat import PackFile
from .records import Entry, PackProblem
from .text import slugify


def scaffold(folder: Path, pack_id: str, title: str) -> list[Path]:
    """Create a new folder pack with pack.toml, a README and one example entry."""
    if (char := packformat.control_character(title)) is not None:
        message = packformat.control_message(char)
        raise PackError(f"cannot create pack {pack_id}: title: {message}; nothing was written")
    if folder.exists() and any(folder.iterdir()):
        raise PackError(f"{folder} already exists and is not empty; choose another folder")
    # The example is named after its pack: two packs made so do not tie on one ref and name.
    example = f"{pack_id.replace('-', ' ').title()} Ember Lance"
    files = {
        "pack.toml": (
            f'id = "{pack_id}"\n'
            f"title = {json.dumps(title, ensure_ascii=False)}\n"
            'version = "0.1.0"\n'
            'edition = "2014"\n'
            "authors = []\n"
            'license = "CC-BY-4.0"\n'
            f"priority = {packformat.DEFAULT_PRIORITY}  # higher wins over other packs\n"
        ),
        "README.md": (
            f"# {title}\n\n"
            "A d5e homebrew pack. Each folder is a collection (`spells/`, `monsters/`,\n"
            "`magic-items/`, …); each file holds entries: Markdown with front matter (the body\n"
            "is the description) or JSON (one entry or a list). Check it with\n"
            f"`d5e packs validate {folder}`; an installed pack reloads when you save.\n"
        ),
        f"spells/{slugify(example)}.md": (
            "---\n"
            f"name: {example}\n"
            "level: 1\n"
            "school: evocation\n"
            "casting_time: 1 action\n"
            "range: 60 feet\n"
            "components: [V, S]\n"
            "duration: Instantaneous\n"
            "classes: [sorcerer, wizard]\n"
            "---\n"
            "A lance of cinders streaks toward a creature within range. Make a ranged spell\n"
            "attack; on a hit the target takes 2d8 fire damage.\n\n"
            "***At Higher Levels.*** The damage increases by 1d8 for each slot level above 1st.\n"
        ),
    }
    # What is written must read back: a title with a control character (the CLI's, or any
    # caller's that skipped the protocol's check) is refused before anything is made.
    manifest = PackFile(
        "pack.toml",
        str(folder / "pack.toml"),
        str(folder / "pack.toml"),
        packformat.constant(files["pack.toml"].encode("utf-8")),
    )
    _, problems = packformat.parse_manifest(manifest, pack_id, str(folder))
    if problems:
        found = "; ".join(f"{p.field}: {p.message}" if p.field else p.message for p in problems)
        raise PackError(f"cannot create pack {pack_id}: {found}; nothing was written")
    # Written beside it under a hidden name, then renamed into place: a failure (the disk full,
    # a kill) leaves no half-made pack behind.
    staging = folder.parent / f".{folder.name}.{os.getpid()}.new"
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        if staging.is_symlink():  # planted where the pack is made (a campaign folder)
            staging.unlink()
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()  # ours alone: never through a link to elsewhere
        for rel, text in files.items():
            path = staging / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            _write_synced(path, text.encode("utf-8"))
        if folder.exists():
            folder.rmdir()  # empty (checked above)
        os.rename(staging, folder)
    except OSError as exc:  # not a folder, not ours, the disk full
        shutil.rmtree(staging, ignore_errors=True)
        raise PackError(f"cannot create the pack in {folder}: {exc}") from exc
    return [folder / rel for rel in files]


# ---- upload ---------------------------------------------------------------------------------


def markdown_text(fields: dict[str, Any]) -> str:
    """An entry as a Markdown file: YAML front matter, then its description as the body."""
    front = {k: v for k, v in fields.items() if k != "desc"}
    desc = fields.get("desc", [])
    body = "\n\n".join(desc) if isinstance(desc, list) else str(desc)
    import yaml  # at the first upload: no part of the daemon's start

    dumped = yaml.safe_dump(front, sort_keys=False, allow_unicode=True, width=100)
    return f"---\n{dumped}---\n{body}\n" if body else f"---\n{dumped}---\n"


def json_text(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


@dataclass
class UploadPlan:
    """The pack's files after an upload: what to write, what to delete."""

    writes: dict[str, str] = field(default_factory=dict)
    """Path inside the pack → new text."""
    deletes: list[str] = field(default_factory=list)
    problems: list[PackProblem] = field(default_factory=list)


def _slug_of(raw: dict[str, Any]) -> str:
    for key in ("slug", "index"):
        if isinstance(raw.get(key), str):
            return str(raw[key])
    if isinstance(raw.get("name"), str) and slugify(raw["name"]):
        return slugify(raw["name"])
    if isinstance(raw.get("extends"), str):
        return str(raw["extends"]).rsplit("/", 1)[-1]
    return ""


def _raw_entries(file: PackFile) -> list[dict[str, Any]] | None:
    """The entries of an existing file as written (JSON only; None for Markdown)."""
    if file.kind != "json":
        return None
    value = json.loads(file.read())
    return value if isinstance(value, list) else [value]


def plan_upload(
    root: Path, collection: str, uploaded: list[dict[str, Any]], replace: bool
) -> tuple[UploadPlan, list[PackFile], list[PackProblem]]:
    """Where each uploaded entry goes, and the pack's files as they would be afterwards."""
    files, problems = packfiles.read_folder(root, str(root))
    plan = UploadPlan()
    current = {f.rel: f for f in files}
    owners: dict[str, tuple[PackFile, list[Entry]]] = {}
    for file in files:
        if file.collection == collection and file.kind is not None:
            parsed = packformat.parse_file(file)
            for entry in parsed.entries:
                owners[entry.slug] = (file, parsed.entries)
    lists: dict[str, list[dict[str, Any]]] = {}
    seen: dict[str, int] = {}
    for i, raw in enumerate(uploaded):
        slug = _slug_of(raw)
        if slug in seen:
            message = f"entries[{seen[slug]}] and entries[{i}] have the same slug {slug!r}"
            plan.problems.append(PackProblem(file="$.entries", message=message, field="slug"))
            continue
        seen[slug] = i
        owner = owners.get(slug)
        if owner is None:
            rel = f"{collection}/{slug or f'entry-{i}'}.json"
            n = 2
            while rel in current or rel in plan.writes:
                rel, n = f"{collection}/{slug}-{n}.json", n + 1
            plan.writes[rel] = json_text(raw)
        elif owner[0].kind == "markdown":
            plan.writes[owner[0].rel] = markdown_text(raw)
        elif len(owner[1]) == 1 and not isinstance(json.loads(owner[0].read()), list):
            plan.writes[owner[0].rel] = json_text(raw)
        else:
            items = lists.setdefault(owner[0].rel, _raw_entries(owner[0]) or [])
            items[:] = [raw if _slug_of(item) == slug else item for item in items]
    if replace:
        for slug, (file, entries) in owners.items():
            if slug in seen:
                continue
            if len(entries) == 1 and file.rel not in lists:
                plan.deletes.append(file.rel)
            else:
                items = lists.setdefault(file.rel, _raw_entries(file) or [])
                items[:] = [item for item in items if _slug_of(item) != slug]
    for rel, items in lists.items():
        if items:
            plan.writes[rel] = json_text(items)
        else:
            plan.deletes.append(rel)
    after = [f for f in files if f.rel not in plan.writes and f.rel not in plan.deletes]
    for rel, text in plan.writes.items():
        after.append(
            PackFile(
                rel=rel,
                shown=str(root / rel),
                source=str(root.resolve() / rel),
                read=packformat.constant(text.encode()),
            )
        )
    return plan, after, problems


# ---- atomic folder changes ------------------------------------------------------------------
#
# A change of several files of a folder pack (an upload, or putting the files back after its
# install failed) is journaled so that a crash at any point leaves the old files or the new:
#   1. every new text is written under `.d5e-change/` in the pack (a hidden folder: never read
#      as content), fsynced;
#   2. the journal `.d5e-change/journal.json` (what goes where, what is deleted) is written
#      beside it and renamed into place: the commit point;
#   3. each file is moved into place (`os.replace`), deleted files go; then `.d5e-change/` goes.
# `recover(root)` (at start-up, and before any change of the folder) finishes a committed change
# (step 3 again: each step can be repeated) or throws an uncommitted one away.
#
# The folder may be somebody else's (a campaign's `packPaths` pack): `.d5e-change/` and its
# journal are then theirs too. A `.d5e-change` that is a link (or no folder) is never used, and
# a journal is applied only when every path it names is a file of the pack reached through no
# link and every staged name is one d5e writes (`N.new`); otherwise nothing of it is applied.

WORK = ".d5e-change"
JOURNAL = "journal.json"
_STAGED = re.compile(r"\d+\.new")
MAX_JOURNAL_BYTES = packfiles.MAX_FILE_BYTES
_OLD_TMP = re.compile(r"\..+\.\d+\.tmp")
"""What earlier versions left behind when killed while writing a file (`.name.pid.tmp`)."""


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_synced(path: Path, data: bytes) -> None:
    with path.open("wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _check_work(root: Path) -> None:
    """Refuse a `.d5e-change` that is not a folder of the pack's own (a link to elsewhere would
    have d5e write, move and delete files there)."""
    work = root / WORK
    if not stat.S_ISDIR(os.lstat(work).st_mode):
        kind = "a link" if work.is_symlink() else "not a folder"
        raise PackError(
            f"{work} is {kind}: d5e keeps its unfinished changes there and never follows it "
            "out of the pack; nothing was changed (delete it to write to this pack)"
        )


@contextlib.contextmanager
def _locked(root: Path, wait: bool) -> Iterator[bool]:
    """Hold `.d5e-change/lock` (another process may be changing this folder right now)."""
    work = root / WORK
    with contextlib.suppress(FileExistsError):
        work.mkdir()
    _check_work(root)
    lock = work / "lock"
    try:
        fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o644)
    except OSError as exc:  # a link (never followed), a folder…
        raise PackError(f"{lock}: cannot be opened ({exc.strerror}); nothing was changed") from exc
    with os.fdopen(fd, "a") as held_file, file_lock(held_file, wait) as held:
        yield held


def _inside(root: Path, rel: object) -> bool:
    """Whether `rel` names a file of the pack at `root`: relative, no `..`, and its folder,
    links resolved, inside the pack."""
    if not isinstance(rel, str) or not rel or "\\" in rel or "\0" in rel:
        return False
    path = PurePosixPath(rel)
    if path.is_absolute() or ".." in path.parts:
        return False
    base = os.path.realpath(root)
    folder = os.path.realpath(root / path.parent)
    return folder == base or folder.startswith(base + os.sep)


def _journal(root: Path) -> tuple[dict[str, str], list[str]] | None:
    """The writes (pack path → staged name) and deletes of the journal of `root`; None when
    there is none. PackError when it is not one d5e wrote, naming why: it is not applied."""
    journal = root / WORK / JOURNAL
    try:
        st = os.lstat(journal)
    except FileNotFoundError:
        return None
    why = ""
    ops: object = None
    if not stat.S_ISREG(st.st_mode):
        why = "it is not a file"
    elif st.st_size > MAX_JOURNAL_BYTES:
        why = f"{st.st_size:,} bytes"
    else:
        try:
            ops = json.loads(journal.read_bytes())
        except (ValueError, RecursionError) as exc:
            why = f"not JSON: {exc}"
    if not why:
        writes = ops.get("writes") if isinstance(ops, dict) else None
        deletes = ops.get("deletes") if isinstance(ops, dict) else None
        if not isinstance(writes, dict) or not isinstance(deletes, list):
            why = "not what d5e writes"
        elif bad := [rel for rel in [*writes, *deletes] if not _inside(root, rel)]:
            why = f"{str(bad[0])[:200]!r} is not a file of the pack"
        elif bad := [
            s for s in writes.values() if not isinstance(s, str) or not _STAGED.fullmatch(s)
        ]:
            why = f"{str(bad[0])[:200]!r} is not a file d5e stages"
        else:
            return writes, deletes
    raise PackError(
        f"{journal}: not a change d5e made ({why}); nothing of it was applied, and it was "
        "thrown away"
    )


def _finish(root: Path) -> bool:
    """Finish the committed change of `root` (or throw away an uncommitted one); True if files
    changed. Call holding the lock."""
    work = root / WORK
    changed = False
    try:
        ops = _journal(root)
    except PackError:  # a journal that is none of d5e's: its files go with it
        _clear(work)
        raise
    if ops is not None:
        writes, deletes = ops
        for rel, staged in writes.items():
            if (work / staged).exists():
                os.replace(work / staged, root / rel)
                changed = True
        for rel in deletes:
            if (root / rel).is_file():
                (root / rel).unlink()
                changed = True
        for folder in {(root / rel).parent for rel in writes} | {root}:
            _fsync_dir(folder)
    _clear(work)
    return changed


def _clear(work: Path) -> None:
    """Remove what `work` (a folder of the pack, not a link) holds but its lock."""
    for item in work.iterdir():
        if item.name != "lock":
            shutil.rmtree(item) if item.is_dir() and not item.is_symlink() else item.unlink()


def recover(root: Path) -> bool:
    """Bring a folder pack whose change was interrupted (a crash, a kill) to the old or the new
    version, and remove temporaries left by earlier versions; True if files changed. A folder
    another process is changing right now is left alone. PackError for a `.d5e-change` or a
    journal d5e did not make (nothing of it is applied)."""
    changed = False
    if os.path.lexists(root / WORK):
        with _locked(root, wait=False) as mine:
            if not mine:
                return False
            changed = _finish(root)
        shutil.rmtree(root / WORK, ignore_errors=True)
    for tmp in _old_temporaries(root):
        tmp.unlink(missing_ok=True)
    return changed


def _old_temporaries(root: Path) -> list[Path]:
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        found += [Path(folder) / f for f in files if _OLD_TMP.fullmatch(f)]
    return found


def check_targets(root: Path, plan: UploadPlan) -> None:
    """Refuse a plan one of whose paths cannot be written or deleted (a folder where a file
    goes, a file where a folder goes), before a byte is written."""
    for rel in [*plan.writes, *plan.deletes]:
        path = root / rel
        if path.is_symlink() or (path.exists() and not path.is_file()):
            raise PackError(f"cannot write {path}: it is not a file; no file was changed")
        for parent in path.relative_to(root).parents:
            if (root / parent).exists() and not (root / parent).is_dir():
                raise PackError(
                    f"cannot write {path}: {root / parent} is not a folder; no file was changed"
                )


def change(root: Path, writes: dict[str, bytes], deletes: list[str]) -> None:
    """Apply the change atomically (see above): after a crash the folder holds the old files or
    the new ones, never a mix. Fails before touching a file when the texts cannot be staged."""
    with _locked(root, wait=True):
        _finish(root)  # a change a crash left behind comes first
        work = root / WORK
        ops: dict[str, Any] = {"writes": {}, "deletes": list(deletes)}
        try:
            for n, (rel, data) in enumerate(writes.items()):
                staged = f"{n}.new"
                _write_synced(work / staged, data)
                ops["writes"][rel] = staged
                (root / rel).parent.mkdir(parents=True, exist_ok=True)
            _write_synced(work / f"{JOURNAL}.tmp", json.dumps(ops).encode())
            _fsync_dir(work)
            os.replace(work / f"{JOURNAL}.tmp", work / JOURNAL)  # the commit point
            _fsync_dir(work)
        except OSError as exc:
            for item in work.iterdir():
                if item.name != "lock":
                    item.unlink(missing_ok=True)
            raise PackError(
                f"cannot write the files of {root}: {exc}; no file was changed"
            ) from exc
        _finish(root)
    shutil.rmtree(root / WORK, ignore_errors=True)


def write(root: Path, plan: UploadPlan) -> tuple[list[str], list[str]]:
    """Apply a validated plan atomically (see `change`). Return (written, removed) paths."""
    check_targets(root, plan)
    change(root, {rel: text.encode() for rel, text in plan.writes.items()}, plan.deletes)
    return [str(root / rel) for rel in plan.writes], [str(root / rel) for rel in plan.deletes]


@contextlib.contextmanager
def applied(root: Path, plan: UploadPlan) -> Iterator[tuple[list[str], list[str]]]:
    """`write(root, plan)` for the duration of the block (the install of the files): if the
    block fails (the disk full, say), every file is put back as it was (atomically too), so the
    folder and the database still agree."""
    check_targets(root, plan)
    touched = [*plan.writes, *plan.deletes]
    before = {rel: (root / rel).read_bytes() if (root / rel).is_file() else None for rel in touched}
    written, removed = write(root, plan)
    try:
        yield written, removed
    except BaseException:
        back = {rel: data for rel, data in before.items() if data is not None}
        change(root, back, [rel for rel, data in before.items() if data is None])
        raise
