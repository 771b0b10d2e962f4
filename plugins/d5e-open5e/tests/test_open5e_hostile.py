"""An Open5e document folder from somebody else (a campaign's `packPaths`): its files are read as
a folder pack's are (session twenty-one; each check failed before)."""

from __future__ import annotations

import json
import os
import shutil
import threading
from pathlib import Path

import pytest
from d5e_open5e import loader

from d5e_daemon import packfiles

FIXTURES = Path(__file__).parent / "fixtures" / "v2"


def problems_of(folder: Path) -> list[str]:
    loaded = loader.load(folder)
    assert loaded is not None and not isinstance(loaded, list)
    return [f"{Path(p.file).name}: {p.message}" for p in loaded.problems if p.severity == "error"]


def test_huge_linked_and_endless_files_are_never_read(tmp_path: Path) -> None:
    """A (sparse) 3 GB `Spell.json` was read whole: 3 GB of memory (a MemoryError under a
    1.5 GB limit, the daemon killed without one); a `Feat.json` linked to another document's
    file brought that document's entries in; a named pipe is never opened."""
    tob = shutil.copytree(FIXTURES / "kobold-press" / "tob", tmp_path / "campaign" / "tob")
    with (tob / "Spell.json").open("wb") as f:
        f.truncate(3 * 2**30)
    (tob / "Feat.json").symlink_to(FIXTURES / "kobold-press" / "deepm" / "Spell.json")
    os.mkfifo(tob / "Item.json")
    found: list[list[str]] = []
    reader = threading.Thread(target=lambda: found.append(problems_of(tob)))
    reader.start()
    reader.join(30)
    if reader.is_alive():  # blocked on the pipe: let it go, then fail
        os.close(os.open(tob / "Item.json", os.O_WRONLY | os.O_NONBLOCK))
        reader.join()
    assert found == [
        [
            "Feat.json: cannot read: links are not allowed in packs",
            "Spell.json: cannot read: file too large (3,221,225,472 bytes; the limit is "
            "67,108,864)",
        ]
    ]


def test_a_linked_document_folder_is_not_read(tmp_path: Path) -> None:
    """A publisher folder holding a link to a document elsewhere installed that document."""
    publisher = tmp_path / "campaign" / "kobold-press"
    shutil.copytree(FIXTURES / "kobold-press" / "vom", publisher / "vom")
    (publisher / "tob").symlink_to(FIXTURES / "kobold-press" / "tob")
    loaded = loader.load(publisher)
    packs = loaded if isinstance(loaded, list) else [loaded]
    assert [p.pack.id for p in packs if p is not None] == ["vom"]


def test_json_nested_too_deep_is_a_problem_of_its_file(tmp_path: Path) -> None:
    """`[` × 50,000 was a RecursionError out of the loader ("loader open5e failed")."""
    tob = shutil.copytree(FIXTURES / "kobold-press" / "tob", tmp_path / "tob")
    (tob / "Spell.json").write_text("[" * 50_000 + "]" * 50_000)
    assert problems_of(tob) == ["Spell.json: arrays and objects nested too deep to read"]


def test_documents_past_the_limits_are_refused_before_a_file_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each file was bounded (64 MiB), the documents not: a folder of documents, each with its
    thirty file names as sparse 60 MiB files, was read whole (2 GB a document). Now the files
    of one install count against `packfiles.MAX_FILES` and `packfiles.MAX_DATA_BYTES`
    (512 MiB; 1 MiB and 7 files here), checked from the listing before a byte is read."""
    publisher = tmp_path / "campaign" / "kobold-press"
    shutil.copytree(FIXTURES / "kobold-press" / "vom", publisher / "vom")
    tob = shutil.copytree(FIXTURES / "kobold-press" / "tob", publisher / "tob")
    with (tob / "Spell.json").open("wb") as f:
        f.truncate(2**20)
    monkeypatch.setattr(packfiles, "MAX_DATA_BYTES", 2**20)
    read: list[Path] = []
    real = loader.read_data_file
    monkeypatch.setattr(loader, "read_data_file", lambda p, *a: read.append(p) or real(p, *a))
    loaded = loader.load(publisher)
    packs = loaded if isinstance(loaded, list) else [loaded]
    assert read == [] and [p.pack.id for p in packs if p is not None] == ["kobold-press"]
    assert [p.message for p in packs[0].problems if p is not None] == [
        "the documents' .json files hold more than 1 MiB (the limit); install them one by one"
    ]
    (tob / "Spell.json").unlink()
    monkeypatch.setattr(packfiles, "MAX_FILES", 7)
    loaded = loader.load(publisher)
    packs = loaded if isinstance(loaded, list) else [loaded]
    assert read == [] and [p.message for p in packs[0].problems if p is not None] == [
        "the documents hold more than 7 files (the limit); install them one by one"
    ]


def test_files_read_beside_and_above_a_document_are_never_read_through_a_link(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Open5e's loader reads a few files above the document folder it is given: `License.json`
    up to two folders up, `Publisher.json` beside it, the weapons and armor of the documents
    beside it (`*/*/Weapon.json` two folders up), `data/v1`'s spells three up. The globs
    followed links: a campaign's document folder `campaign/kobold-press/vom` beside a link
    `campaign/wotc` to the user's own Open5e files made d5e read the user's weapons and armor
    into the campaign's pack. Now a file found through a linked folder is never read (as a
    linked document folder is not); the real files beside and above are read as before."""
    campaign = tmp_path / "campaign"
    vom = shutil.copytree(FIXTURES / "kobold-press" / "vom", campaign / "kobold-press" / "vom")
    made = {"name": "Needle", "category": "weapon", "rarity": "rare", "desc": "A blade."}
    needle = {"model": "api_v2.magicitem", "pk": "vom_needle", "fields": made}
    needle["fields"] |= {"document": "vom", "weapon": "srd_dagger", "cost": "0.00"}
    (vom / "MagicItem.json").write_text(json.dumps([needle]))
    shutil.copy(FIXTURES / "License.json", campaign / "License.json")
    users = shutil.copytree(FIXTURES / "wizards-of-the-coast", tmp_path / "home" / "wotc")
    (campaign / "wotc").symlink_to(users)
    (campaign / "kobold-press" / "Publisher.json").symlink_to(
        FIXTURES / "kobold-press" / "Publisher.json"
    )
    read: list[Path] = []
    real = loader.read_data_file
    monkeypatch.setattr(loader, "read_data_file", lambda p, **kw: read.append(p) or real(p, **kw))
    loader._details_of.cache_clear()
    loaded = loader.load(vom)
    assert loaded is not None and not isinstance(loaded, list)
    assert sorted(p.relative_to(campaign).as_posix() for p in read) == [
        "License.json",
        "kobold-press/vom/Document.json",
        "kobold-press/vom/MagicItem.json",
    ]
    assert "END OF LICENSE" in loaded.pack.description  # License.json, two folders up
    (item,) = [e for e in loaded.entries if e.name == "Needle"]
    assert "base_item" not in item.data
    (campaign / "wotc").unlink()
    shutil.copytree(users, campaign / "wotc")
    read.clear()
    loader._details_of.cache_clear()
    loaded = loader.load(vom)
    assert "wotc/srd-2014/Weapon.json" in {p.relative_to(campaign).as_posix() for p in read}
    assert loaded is not None and not isinstance(loaded, list)
    (item,) = [e for e in loaded.entries if e.name == "Needle"]
    assert item.data["base_item"] == {"index": "dagger", "name": "Dagger"}


def test_a_file_of_tiny_records_is_refused_before_it_is_parsed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 50 MB `Spell.json` of a million `{"model":…,"pk":…,"fields":{}}`-sized records took
    ~1 GB, and `[{},{},…]` more for its size. A file holding more than one array or object
    every 12 characters, past `locate.DENSE_CONTAINERS` (lowered here), is refused before
    it is parsed."""
    from d5e_daemon import locate

    monkeypatch.setattr(locate, "DENSE_CONTAINERS", 1_000)
    tob = shutil.copytree(FIXTURES / "kobold-press" / "tob", tmp_path / "tob")
    (tob / "CreatureTrait.json").write_text("[" + ",".join(["{}"] * 2_000) + "]")
    assert problems_of(tob) == [
        "CreatureTrait.json: 2,001 arrays and objects in 6,001 characters: more than one every "
        "12, which no real pack file holds (each takes some 70 bytes of memory); not read"
    ]


def test_a_number_of_thousands_of_digits_is_a_problem_of_its_file(tmp_path: Path) -> None:
    """Python's JSON reader refuses an integer of more than 4,300 digits with a ValueError
    that is no JSONDecodeError: a `CreatureTrait.json` holding one made the install "loader
    open5e failed: ValueError" (a traceback, nothing installed). Now a problem of its file."""
    tob = shutil.copytree(FIXTURES / "kobold-press" / "tob", tmp_path / "tob")
    text = (tob / "CreatureTrait.json").read_text()
    at = text.index('"pk"')
    (tob / "CreatureTrait.json").write_text(f'{text[:at]}"big": {"9" * 5_000}, {text[at:]}')
    assert problems_of(tob) == [f"CreatureTrait.json: {loader.LONG_NUMBER}"]
