"""A folder of 5etools homebrew from somebody else (a campaign's `packPaths`): its files are read
as a folder pack's are (session twenty-one; each check failed before)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from d5e_5etools import loader

from d5e_daemon import packfiles

BREW = Path(__file__).parent / "fixtures" / "Test Author; Ember Wilds.json"


def other_brew(path: Path) -> Path:
    """Homebrew of another source, kept outside the campaign."""
    meta = {"sources": [{"json": "Elsewhere", "abbreviation": "EL", "full": "Elsewhere"}]}
    spell = {"name": "Secret Spell", "source": "Elsewhere", "level": 1, "school": "V"}
    path.write_text(json.dumps({"_meta": meta, "spell": [spell]}))
    return path


def test_huge_linked_and_deep_files_in_a_folder(tmp_path: Path) -> None:
    """A (sparse) 3 GB file in the folder was read whole (a MemoryError under a 1.5 GB limit,
    the daemon killed without one); a link to homebrew outside the folder brought its source
    in as a pack; `[` × 50,000 was a RecursionError out of the loader ("loader 5etools
    failed", a traceback). The file the user names may still be a link."""
    folder = tmp_path / "campaign" / "brew"
    folder.mkdir(parents=True)
    shutil.copy(BREW, folder / "ember.json")
    with (folder / "huge.json").open("wb") as f:
        f.truncate(3 * 2**30)
    (folder / "deep.json").write_text('{"spell": ' + "[" * 50_000 + "]" * 50_000 + "}")
    (folder / "linked.json").symlink_to(other_brew(tmp_path / "elsewhere.json"))
    packs = loader.load(folder)
    assert packs is not None
    assert [p.pack.id for p in packs] == ["emberwilds"]
    errors = [(Path(p.file).name, p.message) for p in packs[0].problems if p.severity == "error"]
    assert errors == [
        ("deep.json", loader.TOO_DEEP),
        ("huge.json", "cannot read: file too large (3,221,225,472 bytes; the limit is 67,108,864)"),
    ]
    named = tmp_path / "named.json"
    named.symlink_to(tmp_path / "elsewhere.json")
    by_link = loader.load(named)
    assert by_link is not None and [p.pack.id for p in by_link] == ["elsewhere"]


def test_a_pipe_is_never_opened(tmp_path: Path) -> None:
    folder = tmp_path / "brew"
    folder.mkdir()
    shutil.copy(BREW, folder / "ember.json")
    os.mkfifo(folder / "pipe.json")
    packs = loader.load(folder)
    assert packs is not None and [p.pack.id for p in packs] == ["emberwilds"]


def test_a_folder_past_the_limits_is_refused_before_a_file_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each file was bounded (64 MiB), the folder not: 100 sparse files of 60 MiB (6 GB of
    zeros on no disk) were all read, and a folder of millions of files all listed. Now the
    files of one install count against a folder pack's limits (`packfiles.MAX_FILES`) and
    `packfiles.MAX_DATA_BYTES` (512 MiB; 1 MiB and 5 files here), checked from the listing
    before a byte is read."""
    folder = tmp_path / "campaign" / "brew"
    folder.mkdir(parents=True)
    shutil.copy(BREW, folder / "ember.json")
    for n in range(3):
        with (folder / f"zeros-{n}.json").open("wb") as f:
            f.truncate(2**19)
    monkeypatch.setattr(packfiles, "MAX_DATA_BYTES", 2**20)
    read: list[Path] = []
    real = loader.read_data_file
    monkeypatch.setattr(loader, "read_data_file", lambda p, **kw: read.append(p) or real(p, **kw))
    packs = loader.load(folder)
    assert packs is not None and read == []
    assert [p.message for p in packs[0].problems] == [
        "the folder's .json files hold more than 1 MiB (the limit); install its folders one by one"
    ]
    for n in range(3):
        (folder / f"zeros-{n}.json").unlink()
    for n in range(5):
        (folder / "notes" / f"{n}").mkdir(parents=True)
    monkeypatch.setattr(packfiles, "MAX_FILES", 5)
    packs = loader.load(folder)
    assert packs is not None and read == []
    assert [p.message for p in packs[0].problems] == [
        "the folder holds more than 5 files and folders (the limit); install its folders one by one"
    ]
    monkeypatch.setattr(packfiles, "MAX_FILES", 100)
    packs = loader.load(folder)
    assert packs is not None and [p.pack.id for p in packs] == ["emberwilds"]
