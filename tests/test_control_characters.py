"""Control characters in `pack.toml` (issue 12): refused in every field by every reader (folder
and zip packs) with file:line:column and the field, and by every writer (create over the wire,
the core function, the CLI) before a byte is written."""

from __future__ import annotations

import asyncio
import json
from functools import partial
from pathlib import Path

import pytest

from d5e_daemon.app import App
from d5e_daemon.cli import main
from d5e_daemon.errors import InvalidParams, PackError
from d5e_daemon.features import packs as features
from d5e_daemon.protocol import CreateParams, UploadParams, decode

from .packtools import MANIFEST, pack_entries, pack_installed, write_pack, zip_folder

SPELL = {"spells/spark.md": "---\nname: Spark\nlevel: 0\n---\nA spark.\n"}
BASE = {
    "id": '"brew"',
    "title": '"Brew"',
    "version": '"1"',
    "authors": '["Ann"]',
    "license": '"CC-BY-4.0"',
    "attribution": '"Ann, 2026"',
    "description": '"A brew."',
    "homepage": '"https://example.org/brew"',
}
# Each field with a control character where TOML lets one in: an escape in a basic string,
# an item of a list. Each is written as an escape: the one backslash of its line.
BAD = {
    "id": ('"br\\u0000ew"', "U+0000"),
    "title": ('"Brew \\u001b[31mred"', "U+001B"),
    "version": ('"1\\b"', "U+0008"),
    "authors": ('["Ann", "Bob\\u007f"]', "U+007F"),
    "license": ('"CC\\u0085BY"', "U+0085"),
    "attribution": ('"Ann\\u001b, 2026"', "U+001B"),
    "description": ('"A \\u0007brew."', "U+0007"),
    "homepage": ('"https://example.org/\\rbrew"', "U+000D"),
}


def manifest(**changed: str) -> str:
    return "".join(f"{key} = {changed.get(key, value)}\n" for key, value in BASE.items())


def refused(app: App, path: Path) -> list[str]:
    """Install `path`: refused, nothing installed; its errors as `file:line:col: field: …`."""
    before = app.conn.execute("SELECT count(*) FROM entry").fetchone()
    with pytest.raises(PackError) as caught:
        app.db.write(partial(app.library.install_path, path=path))
    assert not pack_installed(app.conn, "brew") and pack_entries(app.conn, "brew") == 0
    assert app.conn.execute("SELECT count(*) FROM entry").fetchone() == before
    return [
        f"{p['file']}:{p['line']}:{p['column']}: {p['field']}: {p['message']}"
        for p in caught.value.data["problems"]
        if p["severity"] == "error"
    ]


@pytest.mark.parametrize("field", list(BAD))
def test_every_field_of_a_folder_pack(app: App, tmp_path: Path, field: str) -> None:
    value, code = BAD[field]
    root = write_pack(tmp_path / "p", SPELL, manifest=manifest(**{field: value}))
    line = list(BASE).index(field) + 1
    column = f"{field} = {value}".index("\\") + 1
    assert refused(app, root) == [
        f"{root}/pack.toml:{line}:{column}: {field}: control character {code} is not "
        "allowed here; write plain text"
    ]


def test_a_zip_pack_is_read_the_same_way(app: App, tmp_path: Path) -> None:
    folder = write_pack(tmp_path / "p", SPELL, manifest=manifest(title=BAD["title"][0]))
    archive = zip_folder(folder, tmp_path / "brew.zip")
    (problem,) = refused(app, archive)
    assert problem.startswith(f"{archive}!/pack.toml:2:15: title: control character U+001B")


def test_prose_keeps_line_breaks_and_tabs_and_nothing_else(app: App, tmp_path: Path) -> None:
    prose = '"""\nFirst line,\n\tthen a tab."""'
    root = write_pack(tmp_path / "p", SPELL, manifest=manifest(description=prose))
    info = app.db.write(partial(app.library.install_path, path=root))
    assert (info.pack, info.action) == ("brew", "installed")
    (description,) = app.conn.execute("SELECT meta ->> '$.description' FROM pack WHERE id = 'brew'")
    assert description == ("First line,\n\tthen a tab.",)
    # A line break is a control character in a one-line field.
    other = write_pack(tmp_path / "q", SPELL, manifest=manifest(title='"""Brew\nTwo"""'))
    asyncio.run(app.library.remove("brew"))
    (problem,) = refused(app, other)
    assert ": title: control character U+000A" in problem


def test_the_whole_manifest_is_reported_at_once(app: App, tmp_path: Path) -> None:
    changed = {key: value for key, (value, _) in BAD.items()}
    root = write_pack(tmp_path / "p", SPELL, manifest=manifest(**changed))
    problems = refused(app, root)
    assert [p.split(": ")[1] for p in problems] == list(BAD)  # one each, in file order


@pytest.mark.parametrize("title", ["a\x1bb", "a\x00b", "two\nlines", "del\x7f", "c1\x85"])
def test_params_with_a_control_character_name_it_and_its_path(title: str) -> None:
    """Over JSON-RPC and from the CLI: the character, not the pattern that refused it."""
    with pytest.raises(InvalidParams) as caught:
        decode({"id": "brew", "title": title}, CreateParams)
    char = next(c for c in title if not c.isalnum())
    assert str(caught.value) == (
        f"control character U+{ord(char):04X} is not allowed here; write plain text - at `$.title`"
    )
    assert caught.value.data == {"path": "$.title"}


@pytest.mark.parametrize("title", ["a\x1bb", "a\x00b", "two\nlines", "del\x7f", "c1\x85"])
def test_create_refuses_before_writing(app: App, tmp_path: Path, title: str) -> None:
    """The core function (a caller that skipped the protocol's check of `$.title`)."""
    parent = tmp_path / "packs"
    params = CreateParams(id="brew", title=title, directory=str(parent))
    with pytest.raises(PackError, match=r"cannot create pack brew: title: control character"):
        asyncio.run(features.create(app, params))
    assert not parent.exists() or list(parent.iterdir()) == []
    assert not pack_installed(app.conn, "brew")


def test_the_cli_refuses_a_title_with_a_control_character(
    capsys: pytest.CaptureFixture[str], db_path: Path, tmp_path: Path
) -> None:
    code = main(
        [
            "packs",
            "new",
            "brew",
            "--title",
            "Brew\x1b[2J",
            "--dir",
            str(tmp_path),
            "--db",
            str(db_path),
        ]
    )
    _, err = capsys.readouterr()
    assert code == 1
    # checked as a request's params are (the protocol's check): the character and the option
    assert "title: control character U+001B is not allowed here; write plain text" in err
    assert "\x1b" not in err
    assert list(tmp_path.iterdir()) == [db_path.parent] or not (tmp_path / "brew").exists()
    assert not (tmp_path / "brew").exists()


def test_an_upload_to_a_pack_whose_manifest_went_bad_writes_nothing(
    app: App, tmp_path: Path
) -> None:
    """A pack edited by hand after its install: the upload reads the whole pack and refuses."""
    root = write_pack(tmp_path / "p", SPELL, manifest=MANIFEST)
    app.db.write(partial(app.library.install_path, path=root))
    (root / "pack.toml").write_text(MANIFEST.replace('"Brew"', '"Brew\\u001b"'))
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    params = UploadParams(pack="brew", collection="spells", entries=[{"name": "Zap"}])
    with pytest.raises(PackError) as caught:
        asyncio.run(features.upload(app, params))
    assert "control character U+001B" in json.dumps(caught.value.data)
    assert {p: p.read_bytes() for p in root.rglob("*") if p.is_file()} == before


# Characters that rewrite what a terminal or an editor shows: C0 and C1 controls (an escape
# sequence sets the clipboard, the title, clears the screen), NUL, and the bidirectional
# controls that make a name read otherwise than it is stored ("Trojan Source").
HIDDEN = "\x1b\x07\x00\u202e\u2066\u2069\u200f\u061c\u2028\x85\x7f"


def test_entry_names_and_aliases_from_pack_files_are_plain_text(app: App, tmp_path: Path) -> None:
    """Entry names and aliases (and a 5etools source's title) from pack files were stored as
    written: `Evil\\x1b]52;…\\x07 Bolt`, a NUL, a right-to-left override, reaching every
    completion list, symbol, hover, card and the MCP face's answers. Now every install strips
    them (a line break or tab is a space), says so as a warning at the entry's file, line and
    field, and installs the rest; a name of nothing else is an empty name, an error."""
    names = {
        "spells/a.md": '---\nname: "Evil\\e]52;c;aGk=\\a Bolt"\naliases: ["\\u202eBolt Evil"]\n'
        "level: 1\n---\nA.\n",
        "spells/b.json": json.dumps({"name": "Nul\u0000 Name\u200f", "level": 1}),
        "spells/c.json": json.dumps({"name": "\u2066Iso\u2069late\u2028Line", "level": 1}),
    }
    root = write_pack(tmp_path / "p", names, manifest=MANIFEST)
    result = app.db.write(partial(app.library.install_path, path=root))
    said = [w for w in result.warnings if "U+" in w.message]
    assert {(Path(w.file).name, w.field) for w in said} == {
        ("a.md", "name"),
        ("a.md", "aliases[0]"),
        ("b.json", "name"),
        ("c.json", "name"),
    }
    assert all(w.line >= 1 for w in said)
    assert "control character U+001B removed" in next(w.message for w in said)
    meta = {"sources": [{"json": "Evil", "abbreviation": "EV", "full": "Evil\u0007 Book\u202e"}]}
    spell = {"name": "Secret\u001b[2J Spell", "source": "Evil", "level": 1, "school": "V"}
    (tmp_path / "evil.json").write_text(json.dumps({"_meta": meta, "spell": [spell]}))
    app.db.write(partial(app.library.install_path, path=tmp_path / "evil.json"))
    stored = app.conn.execute(
        "SELECT name, json_extract(data, '$.name'), ifnull(data ->> '$.aliases', '') FROM entry "
        "WHERE pack_id IN ('brew', 'evil')"
    ).fetchall()
    assert sorted(r[0] for r in stored) == [
        "Evil]52;c;aGk= Bolt",
        "Isolate Line",
        "Nul Name",
        "Secret[2J Spell",
    ]
    assert all(r[0] == r[1] for r in stored)
    titles = [r[0] for r in app.conn.execute("SELECT title FROM pack WHERE id = 'evil'")]
    assert titles == ["Evil Book"]
    everything = json.dumps(stored + titles, ensure_ascii=False)
    assert not set(HIDDEN) & set(everything), everything
    (root / "spells" / "d.json").write_text(
        json.dumps({"name": "\u202e\u2066", "slug": "d", "level": 1})
    )
    with pytest.raises(PackError) as caught:
        app.db.write(partial(app.library.install_path, path=root))
    assert "empty name" in json.dumps(caught.value.data)
