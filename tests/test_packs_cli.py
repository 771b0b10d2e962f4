"""`d5e packs …`: the same functions as `d5e/packs/*`, readable output, `--json`, exit codes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from d5e_daemon.cli import main

from .conftest import REPO
from .packtools import write_pack

EXAMPLE = REPO / "examples" / "ashen-hills"
GOOD_SPELL = {"spells/spark.md": "---\nname: Spark\nlevel: 0\n---\nA spark.\n"}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_validate_a_good_pack(capsys: pytest.CaptureFixture[str], db_path: Path) -> None:
    code, out, err = run(capsys, "packs", "validate", str(EXAMPLE), "--db", str(db_path))
    assert code == 0
    assert out == ""
    assert err == "ashen-hills: ok, 0 warnings, 6 entries\n"


def test_a_duplicate_names_the_first_file_as_it_names_its_own(
    capsys: pytest.CaptureFixture[str],
    db_path: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`spells/spark.md:1: slug: duplicate ref spells/spark (first at /home/…/brew/spells/
    more.json:1)`: the first file was the only absolute path of the list."""
    write_pack(tmp_path / "brew", GOOD_SPELL | {"spells/more.json": '[{"name": "Spark"}]'})
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(capsys, "packs", "validate", "brew", "--db", str(db_path))
    said = "brew/spells/spark.md:1: slug: duplicate ref spells/spark"
    said += " (first at brew/spells/more.json:1)"
    assert (code, out) == (1, said + "\n")


def test_a_tie_is_said_by_status_and_packs_list_not_by_every_command(
    capsys: pytest.CaptureFixture[str], db_path: Path, tmp_path: Path
) -> None:
    """Two packs made with `d5e packs new` (each with the example spell spells/ember-lance, at
    the default priority) tie; every `d5e lookup` and `d5e encounter` then logged the tie on
    stderr, and `d5e packs list` said it twice (its log and its output)."""
    db = ("--db", str(db_path))
    for pack in ("brew-a", "brew-b"):
        manifest = f'id = "{pack}"\ntitle = "{pack}"\nversion = "1"\n'
        run(capsys, "packs", "install", str(write_pack(tmp_path / pack, GOOD_SPELL, manifest)), *db)
    tie = "packs brew-a and brew-b have the same priority (50) for 1 ref(s) such as spells/spark"
    code, out, err = run(capsys, "lookup", "goblin", *db)
    assert (code, err) == (0, "")
    for command in ("packs list", "status"):  # once, in the output
        code, out, err = run(capsys, *command.split(), *db)
        assert (code, err.count(tie), " ".join(out.split()).count(tie)) == (0, 0, 1), command


def test_validate_prints_every_problem_as_file_line_col_and_exits_1(
    capsys: pytest.CaptureFixture[str],
    db_path: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    files = {
        "spells/a.json": '[\n  {"name": "A", "level": "three"}\n]',
        "monsters/b.md": "---\nextends: srd-2014:monsters/gobbo\n---\n",
        "spells/notes.txt": "",
    }
    write_pack(tmp_path / "brew", files)
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "packs", "validate", "brew", "--db", str(db_path))
    assert code == 1
    # every problem at once: the extends of another pack's entry is checked against the
    # database even while the files have errors (its base does not depend on them)
    assert out.splitlines() == [
        "brew/spells/a.json:2:26: level: Expected `int`, got `str`",
        "brew/spells/notes.txt: warning: not read: content files end in .json or .md",
        "brew/monsters/b.md:2:10: extends: unknown entry srd-2014:monsters/gobbo: "
        "srd-2014 has no monsters/gobbo",
    ]
    assert err == "brew: 2 errors, 1 warning, 1 entry\n"
    # once the files are right, the extends problem is the first
    (tmp_path / "brew" / "spells" / "a.json").write_text('{"name": "A", "level": 3}')
    code, out, _ = run(capsys, "packs", "validate", "brew", "--db", str(db_path))
    assert code == 1
    assert out.splitlines()[0] == (
        "brew/monsters/b.md:2:10: extends: unknown entry srd-2014:monsters/gobbo: "
        "srd-2014 has no monsters/gobbo"
    )
    code, out, _ = run(capsys, "packs", "validate", "brew", "--json", "--db", str(db_path))
    result = json.loads(out)
    assert code == 1 and result["ok"] is False
    assert result["problems"][0] == {
        "file": str(tmp_path / "brew" / "monsters" / "b.md"),
        "line": 2,
        "column": 10,
        "field": "extends",
        "message": "unknown entry srd-2014:monsters/gobbo: srd-2014 has no monsters/gobbo",
        "severity": "error",
    }


def test_install_list_priorities_and_remove(
    capsys: pytest.CaptureFixture[str], db_path: Path, tmp_path: Path
) -> None:
    pack = shutil.copytree(EXAMPLE, tmp_path / "ashen-hills")
    db = ("--db", str(db_path))
    code, out, _ = run(capsys, "packs", "install", str(pack), *db)
    assert (code, out) == (
        0,
        f"{pack}: info: ashen-hills overrides 1 entries of srd-2014 on purpose (extends, or a "
        "priority rule): monsters 1 (Goblin). `d5e packs list --overrides ashen-hills` lists "
        "them all\nashen-hills: installed, 6 entries (6 changed)\n",
    )
    code, out, _ = run(capsys, "packs", "install", str(pack), *db)
    assert (code, out) == (0, "ashen-hills: unchanged (6 entries)\n")

    code, out, _ = run(capsys, "packs", "list", "--json", *db)
    listed = {p["pack"]["id"]: p for p in json.loads(out)["packs"]}
    assert (listed["ashen-hills"]["enabled"], listed["ashen-hills"]["priority"]) == (True, 50)
    assert listed["ashen-hills"]["kind"] == "folder"
    assert listed["clockwork"]["installed"] is False  # offered by the example plugin

    code, out, _ = run(
        capsys, "packs", "set-priority", "ashen-hills", "5", "--collection", "monsters", *db
    )
    assert (code, out) == (0, "ashen-hills: on, priority 50; monsters 5\n")
    _, out, _ = run(capsys, "lookup", "monsters/goblin", "--json", *db)
    assert json.loads(out)["entry"]["pack"] == "srd-2014"

    code, out, _ = run(capsys, "packs", "disable", "ashen-hills", *db)
    assert (code, out) == (0, "ashen-hills: off\n")
    code, _, err = run(capsys, "lookup", "cinder step", *db)
    assert code == 1 and "no entry named 'cinder step'" in err
    # where it is, and how to have it (it said nothing more, or suggested another name)
    assert err.rstrip().endswith(
        ": 'Cinder Step' is in ashen-hills, off here (`d5e packs enable ashen-hills` turns it on)"
    )
    run(capsys, "packs", "enable", "ashen-hills", *db)
    code, out, _ = run(capsys, "packs", "set-priority", "ashen-hills", "often", *db)
    assert code == 1

    code, out, _ = run(capsys, "packs", "remove", "ashen-hills", *db)
    assert (code, out) == (0, "ashen-hills: removed (6 entries)\n")
    code, out, err = run(capsys, "packs", "remove", "ashen-hills", *db)
    assert code == 1 and "not installed" in err


def test_install_a_broken_pack_prints_its_problems_and_imports_nothing(
    capsys: pytest.CaptureFixture[str], db_path: Path, tmp_path: Path
) -> None:
    root = write_pack(tmp_path / "brew", {"spells/a.json": '{"name": 3}'})
    code, out, err = run(capsys, "packs", "install", str(root), "--db", str(db_path))
    assert code == 1
    assert f"{root}/spells/a.json:1:10: name: Expected `str`, got `int`" in err
    assert "nothing was installed" in err
    _, out, _ = run(capsys, "packs", "list", "--json", "--db", str(db_path))
    assert "brew" not in {p["pack"]["id"] for p in json.loads(out)["packs"]}


def test_a_folder_no_pack_toml_names_is_called_by_its_path(
    capsys: pytest.CaptureFixture[str], db_path: Path, tmp_path: Path
) -> None:
    """`d5e packs install /` said "pack pack has 1 problem(s)": the placeholder id of a folder
    named nothing. A folder whose pack.toml is missing or broken is no named pack. (An empty
    folder of the test's own: `/` holds whatever the machine holds, and a loader may claim it.)"""
    nowhere = tmp_path / "nowhere"
    nowhere.mkdir()
    code, _, err = run(capsys, "packs", "install", str(nowhere), "--db", str(db_path))
    assert code == 1
    assert err.splitlines() == [
        f"d5e: the folder at {nowhere} has 1 problem; nothing was installed:",
        f"{nowhere}: a pack needs pack.toml at its top (id, title, version); none found",
    ]
    root = write_pack(tmp_path / "brew", GOOD_SPELL, manifest='title = "Brew"\nversion = "1"\n')
    code, _, err = run(capsys, "packs", "install", str(root), "--db", str(db_path))
    assert code == 1
    assert err.splitlines()[:2] == [
        f"d5e: the folder at {root} has 1 problem; nothing was installed:",
        f"{root}/pack.toml:1:1: id: missing required key 'id'",
    ]
    # a pack that pack.toml names is called by its id, the count in words
    root = write_pack(tmp_path / "named", {"spells/a.json": '[{"name": 3}, {"name": 4}]'})
    code, _, err = run(capsys, "packs", "install", str(root), "--db", str(db_path))
    assert err.splitlines()[0] == "d5e: pack brew has 2 problems; nothing was installed:"


def test_new_scaffolds_a_pack_that_validates_and_is_installed(
    capsys: pytest.CaptureFixture[str], db_path: Path, tmp_path: Path
) -> None:
    db = ("--db", str(db_path))
    code, out, _ = run(capsys, "packs", "new", "my-brew", "--dir", str(tmp_path), *db)
    assert code == 0
    folder = tmp_path / "my-brew"
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.*")) == [
        "README.md",
        "pack.toml",
        "spells/my-brew-ember-lance.md",
    ]
    assert out.splitlines()[-1] == "my-brew: installed, 1 entry (1 changed)"
    _, out, _ = run(capsys, "lookup", "my brew ember lance", "--json", *db)
    assert json.loads(out)["entry"]["pack"] == "my-brew"
    # a second pack made so names its example after itself: the two do not tie (each pack's
    # spells/ember-lance did, and every `d5e status` said so)
    code, out, err = run(capsys, "packs", "new", "mistwood", "--dir", str(tmp_path), *db)
    assert (code, err) == (0, "")
    _, out, _ = run(capsys, "complete", "ember lance", "--json", *db)
    found = {(i["name"], i["pack"], i["ref"]) for i in json.loads(out)["items"]}
    assert {
        ("My Brew Ember Lance", "my-brew", "spells/my-brew-ember-lance"),
        ("Mistwood Ember Lance", "mistwood", "spells/mistwood-ember-lance"),
    } <= found
    _, out, _ = run(capsys, "status", *db)
    assert "same priority" not in out
    code, _, err = run(capsys, "packs", "new", "my-brew", "--dir", str(tmp_path), *db)
    assert code == 1 and "already exists" in err


def test_upload_writes_entries_as_files_and_installs_them(
    capsys: pytest.CaptureFixture[str], db_path: Path, tmp_path: Path
) -> None:
    db = ("--db", str(db_path))
    run(capsys, "packs", "new", "my-brew", "--dir", str(tmp_path), *db)
    upload = tmp_path / "up.json"
    upload.write_text(
        json.dumps(
            [
                {"name": "My Brew Ember Lance", "level": 2, "school": "evocation"},
                {"name": "Smoke Veil", "level": 1, "desc": "A veil of smoke."},
            ]
        )
    )
    code, out, _ = run(capsys, "packs", "upload", "my-brew", "spells", str(upload), *db)
    assert code == 0
    folder = tmp_path / "my-brew"
    assert out.splitlines() == [
        f"wrote {folder / 'spells/my-brew-ember-lance.md'}",
        f"wrote {folder / 'spells/smoke-veil.json'}",
        "my-brew: upgraded, 2 entries (2 changed)",
    ]
    assert (
        (folder / "spells" / "my-brew-ember-lance.md")
        .read_text()
        .startswith("---\nname: My Brew Ember Lance\nlevel: 2\nschool: evocation\n---\n")
    )
    _, out, _ = run(capsys, "lookup", "spells/smoke-veil", "--json", *db)
    assert json.loads(out)["entry"]["data"]["desc"] == "A veil of smoke."

    upload.write_text('[{"name": "Bad", "level": "x"}]')
    code, _, err = run(capsys, "packs", "upload", "my-brew", "spells", str(upload), *db)
    assert code == 1 and "level: Expected `int`, got `str`" in err
    assert not (folder / "spells" / "bad.json").exists()
    # a file that is not there, or a collection name too long: a message, not a traceback
    missing = tmp_path / "missing.json"
    code, _, err = run(capsys, "packs", "upload", "my-brew", "spells", str(missing), *db)
    assert (code, err) == (1, f"d5e: {missing}: cannot read: No such file or directory\n")
    code, _, err = run(capsys, "packs", "upload", "my-brew", "x" * 80, str(upload), *db)
    assert (code, err) == (1, "d5e: collection: Expected `str` of length <= 64\n")


def test_choices_are_checked_as_a_request_is(
    capsys: pytest.CaptureFixture[str], db_path: Path
) -> None:
    """A priority past ±1,000,000 was an OverflowError traceback, a collection name of 100
    characters was stored; both are now the request's message, naming the argument (not its
    JSON path, "- at `$.priority`"), and nothing is saved."""
    db = ("--db", str(db_path))
    code, _, err = run(capsys, "packs", "set-priority", "srd-2014", "9" * 20, *db)
    assert (code, err) == (1, "d5e: priority: Expected `int` <= 1000000\n")
    long = "x" * 100
    code, _, err = run(capsys, "packs", "set-priority", "srd-2014", "5", "--collection", long, *db)
    assert (code, err) == (1, "d5e: collection: Expected `str` of length <= 64\n")
    code, out, _ = run(capsys, "packs", "list", *db)
    assert code == 0 and long not in out


def test_remove_refuses_a_pack_the_campaign_brings_back(
    capsys: pytest.CaptureFixture[str],
    db_path: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`d5e packs remove` of a pack the campaign's d5e.toml lists in packPaths said "removed",
    and the pack was back at the next command. Now it is refused, in the campaign and outside
    it, naming the d5e.toml line and what to do; once the line is gone, remove lasts."""
    root = tmp_path / "strahd"
    shutil.copytree(EXAMPLE, root / "homebrew")
    config = root / "d5e.toml"
    config.write_text('edition = "2014"\npackPaths = [\n  "homebrew",\n]\n')
    monkeypatch.chdir(root)
    code, out, _ = run(capsys, "packs", "list", "--db", str(db_path))
    assert code == 0 and "ashen-hills" in out
    for where in (root, tmp_path):  # in the campaign, and outside it (the pack's campaign)
        monkeypatch.chdir(where)
        code, out, err = run(capsys, "packs", "remove", "ashen-hills", "--db", str(db_path))
        assert code != 0 and "removed" not in out
        said = f"{config}:3: pack ashen-hills is not removed: this packPaths entry installs it"
        assert said in err
        assert "d5e packs disable ashen-hills" in err
    monkeypatch.chdir(root)
    code, out, _ = run(capsys, "packs", "list", "--db", str(db_path))
    assert "ashen-hills" in out
    config.write_text('edition = "2014"\n')
    code, out, _ = run(capsys, "packs", "remove", "ashen-hills", "--db", str(db_path))
    assert (code, out) == (0, "ashen-hills: removed (6 entries)\n")
    code, out, _ = run(capsys, "packs", "list", "--db", str(db_path))
    assert code == 0 and "ashen-hills" not in out


def test_list_says_why_each_off_pack_is_off(
    capsys: pytest.CaptureFixture[str],
    db_path: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`d5e packs list` said only "off"; now the daemon's reason is beside it (as in the
    editors' pack lists), in the table and in --json: the campaign's d5e.toml, the edition,
    `d5e packs disable`."""
    root = tmp_path / "strahd"
    shutil.copytree(EXAMPLE, root / "homebrew")
    config = root / "d5e.toml"
    config.write_text('edition = "2014"\npackPaths = ["homebrew"]\ndisabled = ["ashen-hills"]\n')
    monkeypatch.chdir(root)
    monkeypatch.setenv("COLUMNS", "1000")  # one line a pack, however long its paths
    db = ("--db", str(db_path))

    def rows() -> dict[str, str]:
        code, out, _ = run(capsys, "packs", "list", *db)
        assert code == 0
        lines = [" ".join(line.split()) for line in out.splitlines()]
        return {line.split()[0]: line for line in lines if line}

    listed = rows()
    assert listed["ashen-hills"] == (
        f"ashen-hills 1.0.0 off: disabled in {config} 6 {root / 'homebrew'}"
    )
    edition = "off: the SRD of the other edition (this profile's edition is 2014)"
    assert edition in listed["srd-2024"]
    assert listed["srd-2014"].startswith("srd-2014 5.10.0 on, 10 (edition)")
    _, out, _ = run(capsys, "packs", "list", "--json", *db)
    off = {p["pack"]["id"]: p["off"] for p in json.loads(out)["packs"]}
    assert off["ashen-hills"] == f"disabled in {config}"
    assert off["srd-2014"] is None

    config.write_text('edition = "2014"\npackPaths = ["homebrew"]\n')
    assert run(capsys, "packs", "disable", "ashen-hills", *db)[:2] == (0, "ashen-hills: off\n")
    command = "off: turned off in this profile (d5e packs disable; enable turns it on)"
    assert command in rows()["ashen-hills"]


def test_a_campaign_pack_broken_since_it_was_read_is_told_once_and_kept(
    capsys: pytest.CaptureFixture[str],
    db_path: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A campaign's `packPaths` pack, read once, then a file of it broken: each command told
    the problem twice (read by the packPaths, then again as a pack whose files changed: every
    file parsed twice), both "nothing was installed" while its last good version answered.
    Now once, saying that version stays."""
    campaign = tmp_path / "strahd"
    write_pack(campaign / "brew", GOOD_SPELL)
    (campaign / "d5e.toml").write_text('packPaths = ["brew"]\n')
    monkeypatch.chdir(campaign)
    code, out, _ = run(capsys, "lookup", "spark", "--db", str(db_path))
    assert code == 0 and out.startswith("Spark")
    (campaign / "brew" / "spells" / "spark.md").write_text("---\nname: Spark\nlevel: one\n---\n")
    code, out, _ = run(capsys, "status", "--json", "--db", str(db_path))
    (warning,) = [w for w in json.loads(out)["warnings"] if "brew" in w]
    assert warning.startswith("pack brew has 1 problem; nothing was installed:\n")
    assert "spark.md:3:8: level: Expected `int`, got `str`" in warning
    assert warning.endswith(
        "(pack brew stays as it was last read, 1 entry, until the problems are fixed)"
    )
    code, out, _ = run(capsys, "lookup", "spark", "--db", str(db_path))
    assert code == 0 and out.startswith("Spark")


def test_another_campaigns_pack_is_not_spoken_of_here(
    capsys: pytest.CaptureFixture[str],
    db_path: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two campaigns on one database, A's packPaths bringing the Ashen Hills: in B, `d5e packs
    list` said "srd-2014 overrides 1 entries of ashen-hills …" and B found and completed A's
    entries (the pack was on at priority 9 there). Now B lists it off, saying whose it is, and
    nothing else of B speaks of it."""
    a, b = tmp_path / "a", tmp_path / "b"
    shutil.copytree(EXAMPLE, a / "brew")
    (a / "d5e.toml").write_text('edition = "2014"\npackPaths = ["brew/"]\n')
    b.mkdir()
    (b / "d5e.toml").write_text('edition = "2014"\n')
    monkeypatch.setenv("COLUMNS", "1000")
    db = ("--db", str(db_path))
    monkeypatch.chdir(a)
    code, out, _ = run(capsys, "packs", "list", *db)
    assert code == 0 and "ashen-hills overrides 1 entries of srd-2014" in " ".join(out.split())
    assert run(capsys, "lookup", "Cinder Step", *db)[0] == 0
    monkeypatch.chdir(b)
    code, out, err = run(capsys, "packs", "list", *db)
    lines = [" ".join(line.split()) for line in out.splitlines()]
    assert code == 0 and err == ""
    assert [line for line in lines if "ashen-hills" in line] == [
        f"ashen-hills 1.0.0 off: another campaign's packPaths brought it ({a / 'd5e.toml'}): "
        f"on there only (d5e packs enable ashen-hills turns it on here) 6 {a / 'brew'}"
    ]
    assert not [line for line in lines if "overrides" in line]
    code, out, err = run(capsys, "lookup", "Cinder Step", *db)
    assert code != 0 and "no entry named 'Cinder Step'" in err
    assert "ashen-hills" not in err  # another campaign's pack: not named here
    code, out, _ = run(capsys, "complete", "cinder", *db)
    assert "Cinder Step" not in out
