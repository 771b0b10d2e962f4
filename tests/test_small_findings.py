"""The small findings of issue 12: warned-about files count against the pack's limits and their
warnings are folded; a zip's member count is checked from its end record before its central
directory is read; a title with a control character is refused (and a refused or failed create
leaves no folder); go to definition on a zip pack's entry opens its `d5e://` card; a
`$/cancelRequest` with a bad id is ignored quietly."""

from __future__ import annotations

import asyncio
import time
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from d5e_daemon import packfiles
from d5e_daemon.app import App
from d5e_daemon.client import Daemon
from d5e_daemon.errors import InvalidParams
from d5e_daemon.features import markdown as md
from d5e_daemon.features import packs as features
from d5e_daemon.protocol import CreateParams, PackInstallParams, decode

from .packtools import write_pack, zip_folder


def test_files_warned_about_count_and_their_warnings_are_folded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(packfiles, "MAX_FILES", 1_000)
    notes = {f"spells/note-{i:05d}.txt": "x" for i in range(3_000)}
    root = write_pack(tmp_path / "brew", {"spells/a.json": '{"name": "A"}', **notes})
    started = time.perf_counter()
    _, problems = packfiles.read_folder(root, str(root))
    assert time.perf_counter() - started < 5
    assert any("the pack is too large (over 1000 files" in p.message for p in problems)
    warnings = [p for p in problems if p.severity == "warning"]
    assert len(warnings) == packfiles.SAME_WARNINGS + 1
    assert warnings[-1].message.startswith("… and ")
    assert warnings[-1].message.endswith("more files: not read: content files end in .json or .md")


def test_warnings_are_folded_below_the_limit_too(tmp_path: Path) -> None:
    notes = {f"spells/note-{i:04d}.txt": "x" for i in range(500)}
    root = write_pack(tmp_path / "brew", {"spells/a.json": '{"name": "A"}', **notes})
    files, problems = packfiles.read_folder(root, str(root))
    assert len(files) == 2  # pack.toml and a.json
    assert [p.message for p in problems][-1] == (
        f"… and {500 - packfiles.SAME_WARNINGS} more files: "
        "not read: content files end in .json or .md"
    )


def test_a_zip_of_too_many_members_is_refused_from_its_end_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(packfiles, "MAX_FILES", 2_000)
    target = tmp_path / "many.zip"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_STORED) as z:
        for i in range(20_000):
            z.writestr(f"spells/{i}.json", "")
    tracemalloc.start()
    _, problems = packfiles.read_zip(target, str(target))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert [p.message for p in problems] == ["the zip holds 20,000 files; the limit is 2,000"]
    assert peak < 1_000_000, peak  # the central directory was never read (about 10 MB here)


@pytest.mark.parametrize("title", ["Bad\x7fTitle", "Two\nLines", "Bell\x07"])
def test_a_title_with_a_control_character_is_refused(title: str) -> None:
    with pytest.raises(InvalidParams, match=r"\$\.title"):
        decode({"id": "brew", "title": title}, CreateParams)


def test_a_create_that_fails_leaves_no_folder(
    app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from d5e_daemon import packwriter

    calls = 0
    real = packwriter._write_synced

    def full_after_two(path: Path, data: bytes) -> None:
        nonlocal calls
        calls += 1
        if calls > 2:
            raise OSError(28, "No space left on device")
        real(path, data)

    monkeypatch.setattr(packwriter, "_write_synced", full_after_two)
    parent = tmp_path / "packs"
    with pytest.raises(features.PackError, match="No space left on device"):
        asyncio.run(features.create(app, CreateParams(id="brew", directory=str(parent))))
    assert list(parent.iterdir()) == []


def test_definition_into_a_zip_pack_opens_its_card(app: App, tmp_path: Path) -> None:
    folder = write_pack(tmp_path / "brew", {"spells/zap.json": '{"name": "Zap"}'})
    archive = zip_folder(folder, tmp_path / "brew.zip")
    asyncio.run(features.install(app, PackInstallParams(path=str(archive))))
    (row,) = [r for r in md.queries.entries_for_ref(app.conn, app.profile, "spells", "zap")]
    assert row.source_path and "!/" in row.source_path
    location = md.entry_location(row)
    assert location.uri == md.entry_uri(row) and location.uri.startswith("d5e:")


def test_a_bad_cancel_id_is_ignored_quietly(db_path: Path, tmp_path: Path) -> None:
    """Nothing shown, nothing logged: editors cancel requests already answered all the time."""
    log = tmp_path / "stderr.log"
    with log.open("wb") as stderr, Daemon(db_path, stderr=stderr.fileno()) as d:
        d.initialize()
        answered = d.request("d5e/status", timeout=30)
        assert answered is not None
        for params in ({"id": {"a": 1}}, {"id": [1]}, {"id": None}, {}, None, {"id": 99999}):
            d.send("$/cancelRequest", params, notify=True)
        d.send("$/cancelRequest", {"id": d.next_id}, notify=True)  # the one just answered
        d.request("d5e/status", timeout=30)
        time.sleep(0.3)
        d.request("d5e/status", timeout=30)
        assert [m for m in d.received if m.get("method") == "window/showMessage"] == []
    assert "cancel" not in log.read_text().lower()
