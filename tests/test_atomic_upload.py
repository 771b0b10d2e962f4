"""Uploads and every folder write are atomic from the user's point of view: `kill -9` at 16 points
of `d5e packs upload --replace` (160 entries: files rewritten, added and deleted) leaves the
folder as the old version or the new one, and after the next start the database matches the
folder; an edit made while no daemon ran is noticed at start-up (a cheap stamp of the files);
temporaries are swept; a target that is not a file is refused before any file is replaced."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import apsw
import pytest

from d5e_daemon import packwriter
from d5e_daemon.errors import NotFound, PackError
from d5e_daemon.features import packs as features
from d5e_daemon.features.lookup import lookup
from d5e_daemon.protocol import LookupParams, PackInstallParams, UploadParams

from .conftest import make_app
from .packtools import write_pack
from .test_crash import (  # _forks_end: the kill servers end with each test
    KillPlan,
    Operation,
    _forks_end,  # noqa: F401
    d5e_here,
    for_each_kill,
    report_figures,
    run_killpoint,
)

MANIFEST = 'id = "brew"\ntitle = "Brew"\nversion = "1"\n'


def old_version(root: Path) -> Path:
    """160 spells: 40 in one JSON list, 60 single JSON files, 60 Markdown files."""
    files: dict[str, str | bytes] = {
        "spells/list.json": json.dumps(
            [{"name": f"Listed {i:03d}", "level": i % 10, "desc": "Old."} for i in range(40)]
        )
    }
    for i in range(60):
        files[f"spells/single-{i:03d}.json"] = json.dumps(
            {"name": f"Single {i:03d}", "level": 1, "desc": "Old."}
        )
        files[f"spells/page-{i:03d}.md"] = f"---\nname: Page {i:03d}\nlevel: 2\n---\nOld.\n"
    return write_pack(root, files, MANIFEST)


def new_entries() -> list[dict[str, Any]]:
    """Half of each kind kept with new text, the other half gone, 80 new ones."""
    kept = [{"name": f"Listed {i:03d}", "level": 3, "desc": "New."} for i in range(0, 40, 2)]
    kept += [{"name": f"Single {i:03d}", "level": 3, "desc": "New."} for i in range(0, 60, 2)]
    kept += [{"name": f"Page {i:03d}", "level": 3, "desc": "New."} for i in range(0, 60, 2)]
    return kept + [{"name": f"Fresh {i:03d}", "level": 4, "desc": "New."} for i in range(80)]


def files_of(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def copy_case(base: Path, dest: Path) -> Path:
    """A copy of the database and the pack's folder, the pack's origin moved to the copy."""
    shutil.copytree(base, dest)
    conn = apsw.Connection(str(dest / "d5e.sqlite3"))
    conn.execute("UPDATE pack SET origin = ? WHERE id = 'brew'", (str((dest / "brew").resolve()),))
    conn.close()
    return dest


def stored(db_path: Path) -> dict[str, str]:
    """The pack's entries as the database holds them: slug → record."""
    conn = apsw.Connection(str(db_path))
    try:
        rows = conn.execute("SELECT slug, data FROM entry WHERE pack_id = 'brew'").fetchall()
        return {str(slug): str(data) for slug, data in rows}
    finally:
        conn.close()


@pytest.mark.slow
def test_kill_during_upload_leaves_the_old_or_the_new_version(
    db_path: Path, tmp_path: Path
) -> None:
    base = tmp_path / "base"
    base.mkdir()
    folder = old_version(base / "brew")
    db = base / "d5e.sqlite3"
    shutil.copy(db_path, db)
    d5e_here(db, "packs", "install", str(folder))
    upload = tmp_path / "upload.json"
    upload.write_text(json.dumps(new_entries()))
    args = ["packs", "upload", "brew", "spells", str(upload), "--replace"]

    # the old and the new version, each as files and as the database holds it
    old_files, old_db = files_of(folder), stored(db)
    done = copy_case(base, tmp_path / "done")
    calibrate = run_killpoint(
        done / "d5e.sqlite3", args, tmp_path / "calibrate.json", "d5e_daemon.features.packs:_upload"
    )
    new_files, new_db = files_of(done / "brew"), stored(done / "d5e.sqlite3")
    assert old_files != new_files and old_db != new_db
    assert len(new_db) == 160 and len(old_db) == 160
    assert files_of(folder) == old_files  # the copies are the ones changed
    op = Operation(args, "d5e_daemon.features.packs:_upload")
    op.calibrate(calibrate)
    # 6 kills at moments of the file writes (`packwriter.change`, well under a second, from its
    # first call), then the phases of the upload's SQL and moments anywhere in it
    plans = [KillPlan(i, delay=0.008 * i, on_call="d5e_daemon.packwriter:change") for i in range(6)]
    plans += [
        dataclasses.replace(plan, number=len(plans) + plan.number)
        for plan in op.plans(steps=4, moments=6)
    ]

    def run(plan: KillPlan) -> str:
        here = copy_case(base, tmp_path / f"kill-{plan.number}")
        pack = here / "brew"
        report = run_killpoint(here / "d5e.sqlite3", args, here / "report.json", op.on_call, plan)
        d5e_here(here / "d5e.sqlite3", "packs", "list")  # the next start
        files = files_of(pack)
        version = "old" if files == old_files else "new" if files == new_files else None
        assert version, f"{plan.describe()}: the folder is neither version"
        left = [p.name for p in pack.rglob("*") if p.name.startswith(".")]
        assert left == [], f"{plan.describe()}: temporaries left: {left}"
        data = stored(here / "d5e.sqlite3")
        assert data == (old_db if version == "old" else new_db), (
            f"{plan.describe()}: the database does not match the {version} folder"
        )
        return f"{version} ({'killed' if report['killed'] else 'finished'})"

    figures: Counter[str] = for_each_kill(plans, run)
    report_figures("upload kills", op, figures)
    assert sum(figures.values()) == len(plans)


def test_an_edit_made_while_no_daemon_ran_is_picked_up_at_start(
    db_path: Path, tmp_path: Path
) -> None:
    folder = old_version(tmp_path / "brew")
    app = make_app(db_path)
    try:
        asyncio.run(features.install(app, PackInstallParams(path=str(folder))))
    finally:
        app.close()
    page = folder / "spells" / "page-007.md"
    page.write_text(page.read_text().replace("Old.", "Edited offline."))
    (folder / "spells" / "single-003.json").unlink()
    app = make_app(db_path)
    try:
        found = lookup(app, LookupParams(ref="spells/page-007"))
        assert "Edited offline." in json.dumps(found.entry.data)
        with pytest.raises(NotFound):
            lookup(app, LookupParams(ref="brew:spells/single-003"))
    finally:
        app.close()


def test_stale_temporaries_are_swept_at_start(db_path: Path, tmp_path: Path) -> None:
    folder = old_version(tmp_path / "brew")
    app = make_app(db_path)
    try:
        asyncio.run(features.install(app, PackInstallParams(path=str(folder))))
    finally:
        app.close()
    stale = [folder / "spells" / f".page-001.md.{n}.tmp" for n in (123, 4567)]
    for path in stale:
        path.write_text("half")
    (folder / packwriter.WORK).mkdir()
    (folder / packwriter.WORK / "0.new").write_text("uncommitted")
    before = {k: v for k, v in files_of(folder).items() if not k.startswith(".")}
    before = {k: v for k, v in before.items() if "/." not in k}
    app = make_app(db_path)
    try:
        assert not any(p.exists() for p in stale)
        assert not (folder / packwriter.WORK).exists()
        assert files_of(folder) == before  # an uncommitted change is thrown away
    finally:
        app.close()


def test_a_target_that_is_a_folder_is_refused_before_any_file_changes(
    db_path: Path, tmp_path: Path
) -> None:
    folder = old_version(tmp_path / "brew")
    (folder / "spells" / "zzz.json").mkdir()  # where the upload's new entry would go
    app = make_app(db_path)
    try:
        asyncio.run(features.install(app, PackInstallParams(path=str(folder))))
        before = files_of(folder)
        entries = [{"name": "Single 000", "level": 9}, {"name": "Zzz", "level": 1}]
        params = UploadParams(pack="brew", collection="spells", entries=entries)
        with pytest.raises(PackError, match=r"zzz\.json: it is not a file; no file was changed"):
            asyncio.run(features.upload(app, params))
        assert files_of(folder) == before
        assert (folder / "spells" / "zzz.json").is_dir()
        single = lookup(app, LookupParams(ref="spells/single-000")).entry
        assert single.data["level"] == 1
    finally:
        app.close()


def test_a_committed_change_is_finished_by_recover(tmp_path: Path) -> None:
    """The journal is the commit point: with it written, `recover` moves every staged file into
    place even if the crash came before the first move."""
    root = write_pack(tmp_path / "brew", {"spells/a.json": '{"name": "A"}'}, MANIFEST)
    work = root / packwriter.WORK
    work.mkdir()
    (work / "0.new").write_text('{"name": "B"}')
    (work / packwriter.JOURNAL).write_text(
        json.dumps({"writes": {"spells/b.json": "0.new"}, "deletes": ["spells/a.json"]})
    )
    assert packwriter.recover(root)
    assert files_of(root) == {
        "pack.toml": MANIFEST.encode(),
        "spells/b.json": b'{"name": "B"}',
    }
    assert not os.path.exists(work)


def test_an_upload_into_a_folder_changed_behind_the_daemons_back_keeps_both(
    db_path: Path, tmp_path: Path
) -> None:
    """Files edited, deleted and added on disk while the daemon did not look (no watcher), then
    an upload of one entry: the folder keeps the edits, and the database matches the folder
    (the edits included), not the daemon's older view of it."""
    folder = old_version(tmp_path / "brew")
    app = make_app(db_path)
    try:
        asyncio.run(features.install(app, PackInstallParams(path=str(folder))))
        page = folder / "spells" / "page-007.md"
        page.write_text(page.read_text().replace("Old.", "Edited behind its back."))
        (folder / "spells" / "single-003.json").unlink()
        (folder / "spells" / "added.json").write_text(
            json.dumps({"name": "Added Behind", "level": 1, "desc": "Added."})
        )
        fresh = {"name": "Uploaded Now", "level": 2, "desc": "Up."}
        params = UploadParams(pack="brew", collection="spells", entries=[fresh])
        asyncio.run(features.upload(app, params))
        assert "Edited behind its back." in (folder / "spells" / "page-007.md").read_text()
        assert not (folder / "spells" / "single-003.json").exists()
        found = lookup(app, LookupParams(ref="spells/page-007"))
        assert "Edited behind its back." in json.dumps(found.entry.data)
        assert lookup(app, LookupParams(ref="spells/added-behind")).entry.name == "Added Behind"
        assert lookup(app, LookupParams(ref="spells/uploaded-now")).entry.name == "Uploaded Now"
        with pytest.raises(NotFound):
            lookup(app, LookupParams(ref="brew:spells/single-003"))
    finally:
        app.close()
    app = make_app(db_path)  # and the next start finds nothing to read again
    try:
        assert len(stored(db_path)) == 160 - 1 + 1 + 1
    finally:
        app.close()
