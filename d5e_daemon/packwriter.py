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
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from . import packfiles, packformat
from .errors import PackError
from .packformat import PackFile
from .records import Entry, PackProblem
from .text import slugify


def scaffold(folder: Path, pack_id: str, title: str) -> list[Path]:
    """Create a new folder pack with pack.toml, a README and one example entry."""
    if folder.exists() and any(folder.iterdir()):
        raise PackError(f"{folder} already exists and is not empty; choose another folder")
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
        "spells/ember-lance.md": (
            "---\n"
            "name: Ember Lance\n"
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
    written = []
    try:
        for rel, text in files.items():
            path = folder / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, "utf-8")
            written.append(path)
    except OSError as exc:  # not a folder, not ours, the disk full
        raise PackError(f"cannot create the pack in {folder}: {exc}") from exc
    return written


# ---- upload ---------------------------------------------------------------------------------


def markdown_text(fields: dict[str, Any]) -> str:
    """An entry as a Markdown file: YAML front matter, then its description as the body."""
    front = {k: v for k, v in fields.items() if k != "desc"}
    desc = fields.get("desc", [])
    body = "\n\n".join(desc) if isinstance(desc, list) else str(desc)
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


def write(root: Path, plan: UploadPlan) -> tuple[list[str], list[str]]:
    """Apply a validated plan: every new text is written beside its file first, then each
    file is replaced atomically; a write that fails (the disk full) changes no file. Return
    (written, removed) paths."""
    staged: list[tuple[Path, Path]] = []
    try:
        for rel, text in plan.writes.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            staged.append((path.with_name(f".{path.name}.{os.getpid()}.tmp"), path))
            staged[-1][0].write_text(text, "utf-8")
    except OSError as exc:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        raise PackError(f"cannot write the files of {root}: {exc}; no file was changed") from exc
    written, removed = [], []
    for tmp, path in staged:
        os.replace(tmp, path)
        written.append(str(path))
    for rel in plan.deletes:
        (root / rel).unlink(missing_ok=True)
        removed.append(str(root / rel))
    return written, removed


@contextlib.contextmanager
def applied(root: Path, plan: UploadPlan) -> Iterator[tuple[list[str], list[str]]]:
    """`write(root, plan)` for the duration of the block (the install of the files): if the
    block fails (the disk full, say), every file is put back as it was, so the folder and the
    database still agree."""
    touched = [root / rel for rel in [*plan.writes, *plan.deletes]]
    before = {path: path.read_bytes() if path.is_file() else None for path in touched}
    written, removed = write(root, plan)
    try:
        yield written, removed
    except BaseException:
        for path, data in before.items():
            if data is None:
                path.unlink(missing_ok=True)
            else:
                tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
                tmp.write_bytes(data)
                os.replace(tmp, path)
        raise
