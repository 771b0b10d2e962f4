"""A folder of 5etools homebrew from somebody else (a campaign's `packPaths`): its files are read
as a folder pack's are (session twenty-one; each check failed before)."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from d5e_5etools import copy, loader

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


def copy_with_mod(path: Path, texts: list[str], replace: str) -> Path:
    """A creature and a `_copy` of it whose `_mod` runs `replace` over every string."""
    meta = {"sources": [{"json": "Evil", "abbreviation": "EV", "full": "Evil"}]}
    trait = {"name": "Trait", "entries": texts}
    base = {"name": "Base", "source": "Evil", "type": "humanoid", "cr": "0", "trait": [trait]}
    mod = {"*": {"mode": "replaceTxt", "replace": replace, "with": "X"}}
    copied = {
        "name": "Copy",
        "source": "Evil",
        "_copy": {"name": "Base", "source": "Evil", "_mod": mod},
    }
    path.write_text(json.dumps({"_meta": meta, "monster": [base, copied]}))
    return path


def copied_texts(packs: list[Any]) -> list[Any]:
    copied = next(e for e in packs[0].entries if e.name == "Copy")
    return [t for a in copied.data["special_abilities"] for t in [a["desc"]]]


def test_regular_expressions_that_backtrack_are_refused_before_they_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A `_mod`'s `replaceTxt` is a regular expression of the file's, run by Python's `re`,
    which holds the interpreter while it matches: `(a+)+$` over 40 `a`s and a `!` takes days
    (24 took 1.1 s, each one more doubles it), and the daemon answered nothing meanwhile;
    `.*x` over one 100,000-character string took 3.6 s, over 64 MiB years. Now a pattern
    that can backtrack without bound (a repetition inside a repetition, alternatives inside
    one, a backreference, more than one unbounded repetition) is refused before it runs, at
    its line and column, and the work of the others is estimated before each run (text
    length², for one unbounded repetition) against `copy.REGEX_STEPS` a minute. Real
    homebrew's patterns (words, `\\b`, alternatives, one `.*`) run as before."""
    start = time.process_time()
    for n, bad in enumerate(["(a+)+$", "(a|aa)*b", "(\\w+\\s?)*$", "(.*a){12}", "(a)\\1", ".*.*x"]):
        path = copy_with_mod(tmp_path / f"evil-{n}.json", ["a" * 40 + "!"], bad)
        packs = loader.load(path)
        assert packs is not None
        said = [p for p in packs[0].problems if p.severity == "error"]
        assert len(said) == 1 and "monster[1]._copy._mod" in said[0].field, said
        assert said[0].message.startswith(f"regular expression {bad!r} refused: "), said
    monkeypatch.setattr(copy, "REGEX_STEPS", 10**8)
    packs = loader.load(copy_with_mod(tmp_path / "long.json", ["a" * 20_000] * 300, ".*x"))
    assert packs is not None
    said = [p.message for p in packs[0].problems if p.severity == "error"]
    assert len(said) == 1 and "over too much text" in said[0], said
    assert time.process_time() - start < 5
    monkeypatch.setattr(copy, "REGEX_STEPS", 10**10)
    real = {
        "\\bmage\\b": ("the mage casts", "the X casts"),
        "(Acid|Cold|Fire) Breath": ("Cold Breath", "X"),
        "(^| )mage": ("mage", "X"),
        "^(The dragon exhales .* damage\\.$)": ("The dragon exhales fire for 3 damage.", "X"),
    }
    for n, (pattern, (text, wanted)) in enumerate(real.items()):
        packs = loader.load(copy_with_mod(tmp_path / f"real-{n}.json", [text], pattern))
        assert packs is not None and not packs[0].errors
        assert copied_texts(packs) == [wanted]


def test_one_files_regular_expressions_never_starve_another_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The regular expressions' budget (`copy.REGEX_STEPS`) was one for the whole process a
    minute: a hostile pack spending it made every honest install of the next minute fail
    ("over too much text") though its own patterns were tiny. Now each load (and each
    install's derived copies) has its own; the hostile one is still stopped at its share."""
    monkeypatch.setattr(copy, "REGEX_STEPS", 10**8)
    hostile = copy_with_mod(tmp_path / "hostile.json", ["a" * 9_999] * 3, ".*x")
    honest = copy_with_mod(tmp_path / "honest.json", ["the mage casts"], "\\bmage\\b")
    for _ in range(3):
        packs = loader.load(hostile)
        assert packs is not None
        said = [p.message for p in packs[0].problems if p.severity == "error"]
        assert len(said) == 1 and "over too much text" in said[0], said
        loader._CACHE.clear()
    packs = loader.load(honest)
    assert packs is not None and not packs[0].errors, packs[0].problems
    assert copied_texts(packs) == ["the X casts"]


def test_copies_copy_a_bounded_amount_of_their_bases(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A `_copy` holds all of its base: a chain of 2,000 copies, each adding one trait to the
    one before (a 300 KB file), made 2 million traits, 17 s and 1.4 GB (10,000: some 35 GB, the
    daemon killed); 10,000 copies of one creature of 1 MB of text, 10 GB. Now the copies of
    one load (and of one install, for copies of installed entries) copy at most
    `copy.MAX_COPIED` bytes of their bases (256 MiB; 1 MiB here): past it, a located problem
    and nothing installed."""
    monkeypatch.setattr(copy, "MAX_COPIED", 2**20)
    meta = {"sources": [{"json": "Evil", "abbreviation": "EV", "full": "Evil"}]}
    trait = {"name": "T", "entries": ["x" * 1000]}
    chain: list[dict[str, Any]] = [{"name": "M0", "source": "Evil", "trait": [trait]}]
    for i in range(1, 200):
        add = {"trait": {"mode": "appendArr", "items": {**trait, "name": f"T{i}"}}}
        chain.append(
            {
                "name": f"M{i}",
                "source": "Evil",
                "_copy": {"name": f"M{i - 1}", "source": "Evil", "_mod": add},
            }
        )
        # 200 copies of up to 200 KB: 20 MB copied
    wide = [{"name": "Big", "source": "Evil", "trait": [{"name": "T", "entries": ["x" * 100_000]}]}]
    wide += [
        {"name": f"C{i}", "source": "Evil", "_copy": {"name": "Big", "source": "Evil"}}
        for i in range(20)
    ]
    start = time.process_time()
    for n, monsters in enumerate([chain, wide]):
        path = tmp_path / f"evil-{n}.json"
        path.write_text(json.dumps({"_meta": meta, "monster": monsters}))
        packs = loader.load(path)
        assert packs is not None
        said = [p for p in packs[0].problems if p.severity == "error"]
        assert said and "copy more than 1 MiB of their bases" in said[0].message, said
        assert said[0].column > 1 and said[0].field.startswith("monster[")
    assert time.process_time() - start < 5
    path = tmp_path / "fine.json"
    path.write_text(json.dumps({"_meta": meta, "monster": wide[:5]}))
    packs = loader.load(path)
    assert packs is not None and not packs[0].errors and len(packs[0].entries) == 5


def test_a_file_of_tiny_values_is_refused_before_it_is_parsed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 64 MiB file of `[]` items (22 million arrays, each a list and an offset kept by the
    reader) took over 2 GB; 512 MiB of them several times that. A file holding more than one
    array or object every 12 characters, past `locate.DENSE_CONTAINERS` (lowered here), is
    refused before it is parsed; the real file beside it installs."""
    from d5e_daemon import locate

    monkeypatch.setattr(locate, "DENSE_CONTAINERS", 1_000)
    folder = tmp_path / "brew"
    folder.mkdir()
    shutil.copy(BREW, folder / "ember.json")
    meta = {"sources": [{"json": "Dense", "abbreviation": "DN", "full": "Dense"}]}
    text = json.dumps({"_meta": meta, "monster": [[] for _ in range(2_000)]})
    (folder / "dense.json").write_text(text)
    packs = loader.load(folder)
    assert packs is not None and [p.pack.id for p in packs] == ["emberwilds"]
    said = [(Path(p.file).name, p.message) for p in packs[0].problems if p.severity == "error"]
    assert said == [("dense.json", locate.too_dense(text))]
    assert "more than one every 12" in str(said[0][1])


def test_numbers_of_thousands_of_digits_are_text_not_a_failed_loader(tmp_path: Path) -> None:
    """Python's `int()` refuses more than 4,300 digits (ValueError), and `"²".isdigit()` is
    true though `int("²")` raises: an item's `range` of "9" × 5,000 + "/1", a `strength` of
    5,000 digits, a spellcaster's `daily` uses or spell level of 5,000 digits, a
    `{@actSaveFail 999…}` made the install "loader 5etools failed: ValueError" (a traceback
    in the log; nothing of the file installed). Now a number of more than 18 digits, or of
    digits that are not ASCII, stays the text it was."""
    from d5e_daemon import tagtext

    big = "9" * 5_000
    meta = {"sources": [{"json": "Big", "abbreviation": "BG", "full": "Big"}]}
    bow = {"name": "Long Bow", "source": "Big", "type": "R", "weapon": True, "range": f"{big}/1"}
    plate = {"name": "Strong Plate", "source": "Big", "type": "HA", "armor": True, "ac": 18}
    sharp = {"name": "Sharp Bow", "source": "Big", "type": "R", "weapon": True, "range": "²/³"}
    casting = {"name": "Spellcasting", "daily": {f"{big}e": ["fireball"]}}
    casting["spells"] = {big: {"spells": ["light"]}, "1": {"slots": 2, "spells": ["sleep"]}}
    mage = {"name": "Mage", "source": "Big", "type": "humanoid", "cr": "1"}
    mage["spellcasting"] = [{**casting, "headerEntries": [f"{{@actSaveFail {big}}}"]}]
    path = tmp_path / "big.json"
    path.write_text(
        json.dumps(
            {"_meta": meta, "item": [bow, plate | {"strength": big}, sharp], "monster": [mage]}
        )
    )
    packs = loader.load(path)
    assert packs is not None and not packs[0].errors, packs[0].problems
    found = {e.name: e.data for e in packs[0].entries}
    assert found["Long Bow"]["range"] == {"normal": big, "long": 1}
    assert found["Strong Plate"]["str_minimum"] == big
    assert found["Sharp Bow"]["range"] == {"normal": "²", "long": "³"}
    assert "Mage" in found
    assert tagtext.render(f"{{@actSaveFail {big}}} x").endswith(" x")
