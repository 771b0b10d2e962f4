"""A corpus of broken packs: one test per kind of failure, each asserting the exact place
(file:line:col) and field of the problem, and that the install imported nothing."""

from __future__ import annotations

import os
import random
import stat
import time
import zipfile
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from d5e_daemon import locate, packfiles
from d5e_daemon.app import App
from d5e_daemon.errors import PackError

from .packtools import MANIFEST, pack_entries, pack_installed, write_pack

SPELL = "---\nname: Spark\nlevel: 0\n---\nA spark.\n"
GOOD = {"spells/spark.md": SPELL}


def refuse(app: App, path: Path) -> list[str]:
    """Install `path`; it must fail, import nothing; return its problems as `file:…` lines."""
    before = app.conn.execute("SELECT count(*) FROM entry").fetchone()
    with pytest.raises(PackError) as caught:
        app.db.write(partial(app.library.install_path, path=path))
    assert caught.value.code == -32002
    assert not pack_installed(app.conn, "brew")
    assert pack_entries(app.conn, "brew") == 0
    assert app.conn.execute("SELECT count(*) FROM entry").fetchone() == before
    problems = caught.value.data["problems"]
    return [
        f"{p['file']}:{p['line']}:{p['column']}: {p['field']}: {p['message']}"
        for p in problems
        if p["severity"] == "error"
    ]


def only(problems: list[str], where: str, field: str, text: str) -> None:
    """Exactly one error, at `where` (file:line:col), about `field`, saying `text`."""
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{where}: {field}: "), problems[0]
    assert text in problems[0], problems[0]


# -- pack.toml ----------------------------------------------------------------------------------


def test_missing_pack_toml(app: App, tmp_path: Path) -> None:
    root = write_pack(tmp_path / "p", GOOD, manifest=None)
    only(refuse(app, root), f"{root}:0:0", "", "needs pack.toml")


def test_toml_syntax_error(app: App, tmp_path: Path) -> None:
    root = write_pack(tmp_path / "p", GOOD, manifest='id = "brew"\ntitle = Brew\nversion = "1"\n')
    only(refuse(app, root), f"{root}/pack.toml:2:9", "", "Invalid value")


def test_toml_wrong_type(app: App, tmp_path: Path) -> None:
    """A value refused is pointed at (the column of `"high"`), not the key before it."""
    root = write_pack(tmp_path / "p", GOOD, manifest=MANIFEST + 'priority = "high"\n')
    only(refuse(app, root), f"{root}/pack.toml:4:12", "priority", "Expected `int`, got `str`")
    # an array's item: that item's place, on a later line too (a comment between)
    manifest = MANIFEST + 'authors = [\n  "Ann", # the first\n  "Bo, Cy", 7,\n]\n'
    root = write_pack(tmp_path / "q", GOOD, manifest=manifest)
    only(refuse(app, root), f"{root}/pack.toml:6:13", "authors[2]", "Expected `str`, got `int`")


def test_toml_unknown_key(app: App, tmp_path: Path) -> None:
    root = write_pack(tmp_path / "p", GOOD, manifest=MANIFEST + "  colour = 3\n")
    only(refuse(app, root), f"{root}/pack.toml:4:3", "colour", "unknown key 'colour'")
    # a typo of a key it knows is said so, as a d5e.toml's is (it listed every key)
    root = write_pack(tmp_path / "q", GOOD, manifest=MANIFEST + 'author = "me"\n')
    said = "unknown key 'author' (did you mean 'authors'?)"
    only(refuse(app, root), f"{root}/pack.toml:4:1", "author", said)


def test_toml_missing_id(app: App, tmp_path: Path) -> None:
    root = write_pack(tmp_path / "p", GOOD, manifest='title = "Brew"\nversion = "1"\n')
    only(refuse(app, root), f"{root}/pack.toml:1:1", "id", "missing required key 'id'")


def test_toml_invalid_id(app: App, tmp_path: Path) -> None:
    manifest = 'id = "My Brew"\ntitle = "Brew"\nversion = "1"\n'
    root = write_pack(tmp_path / "p", GOOD, manifest=manifest)
    # in words, not as the regex (`^[a-z0-9][a-z0-9-]{0,63}$`)
    said = "id: Expected lower-case letters, digits and '-', up to 64, starting with a letter"
    only(refuse(app, root), f"{root}/pack.toml:1:6", "id", said)


def test_toml_edition_and_version_as_numbers(app: App, tmp_path: Path) -> None:
    """`edition = 2014` and `version = 1` without quotes, as d5e.toml takes its edition (each
    was "Expected `str`, got `int`")."""
    manifest = 'id = "brew"\ntitle = "Brew"\nversion = 1\nedition = 2014\n'
    _, loaded = app.library.load_path(write_pack(tmp_path / "p", GOOD, manifest=manifest))
    assert not isinstance(loaded, list) and loaded.problems == []
    assert (loaded.pack.version, loaded.pack.edition) == ("1", "2014")


# -- JSON -------------------------------------------------------------------------------------


def test_json_syntax_error(app: App, tmp_path: Path) -> None:
    root = write_pack(tmp_path / "p", {"spells/a.json": '[\n  {"name": "A",}\n]\n'})
    only(refuse(app, root), f"{root}/spells/a.json:2:16", "", "trailing comma")


def test_json_wrong_type(app: App, tmp_path: Path) -> None:
    text = '[\n  {"name": "A", "level": 1},\n  {"name": "B",\n   "level": "three"}\n]\n'
    root = write_pack(tmp_path / "p", {"spells/a.json": text})
    only(refuse(app, root), f"{root}/spells/a.json:4:13", "level", "Expected `int`, got `str`")


def test_json_wrong_type_deep_inside(app: App, tmp_path: Path) -> None:
    text = (
        '{"name": "Ogre Boss",\n "actions": [\n  {"name": "Club", "desc": "Hit."},\n'
        '  {"name": "Roar", "desc": 7}\n ]\n}\n'
    )
    root = write_pack(tmp_path / "p", {"monsters/ogre.json": text})
    only(refuse(app, root), f"{root}/monsters/ogre.json:4:28", "actions[1].desc", "`str`")


def test_json_value_out_of_range(app: App, tmp_path: Path) -> None:
    root = write_pack(tmp_path / "p", {"spells/a.json": '{"name": "A", "level": 12}'})
    only(refuse(app, root), f"{root}/spells/a.json:1:24", "level", "<= 9")


def test_json_that_is_not_an_entry(app: App, tmp_path: Path) -> None:
    root = write_pack(tmp_path / "p", {"spells/a.json": '\n  "fireball"\n'})
    only(refuse(app, root), f"{root}/spells/a.json:2:3", "", "not str")


def test_missing_name(app: App, tmp_path: Path) -> None:
    text = '[\n  {"name": "A"},\n  {"level": 2}\n]'
    root = write_pack(tmp_path / "p", {"spells/a.json": text})
    only(refuse(app, root), f"{root}/spells/a.json:3:3", "name", "every entry has a name")


def test_invalid_slug(app: App, tmp_path: Path) -> None:
    root = write_pack(tmp_path / "p", {"spells/a.json": '{"name": "A", "slug": "Fire Ball"}'})
    said = "Expected a slug: lower-case letters, digits, '-' and brackets"
    only(refuse(app, root), f"{root}/spells/a.json:1:23", "slug", said)


def test_challenge_rating_said_in_words(app: App, tmp_path: Path) -> None:
    text = '{"name": "Ash Imp", "challenge_rating": "1/3"}'
    root = write_pack(tmp_path / "p", {"monsters/imp.json": text})
    said = "Expected a challenge rating: a number, 1/8, 1/4 or 1/2"
    only(refuse(app, root), f"{root}/monsters/imp.json:1:41", "challenge_rating", said)


def test_collection_that_is_not_the_folder(app: App, tmp_path: Path) -> None:
    text = '{"name": "A",\n "collection": "monsters"}'
    root = write_pack(tmp_path / "p", {"spells/a.json": text})
    only(refuse(app, root), f"{root}/spells/a.json:2:16", "collection", "this file is in spells/")


def test_duplicate_slugs(app: App, tmp_path: Path) -> None:
    files = {
        "spells/a.md": SPELL,
        "spells/b.json": '[\n  {"name": "Other"},\n  {"name": "SPARK"}\n]',
    }
    root = write_pack(tmp_path / "p", files)
    only(
        refuse(app, root),
        f"{root.resolve()}/spells/b.json:3:0",
        "slug",
        f"duplicate ref spells/spark (first at {root.resolve()}/spells/a.md:1)",
    )


# -- Markdown ---------------------------------------------------------------------------------


def test_markdown_without_front_matter(app: App, tmp_path: Path) -> None:
    root = write_pack(tmp_path / "p", {"spells/a.md": "# Spark\n\nA spark.\n"})
    only(refuse(app, root), f"{root}/spells/a.md:1:1", "", "starts with front matter")


def test_markdown_front_matter_not_closed(app: App, tmp_path: Path) -> None:
    root = write_pack(tmp_path / "p", {"spells/a.md": "---\nname: Spark\nlevel: 0\n"})
    only(refuse(app, root), f"{root}/spells/a.md:4:1", "", "not closed")


def test_yaml_syntax_error(app: App, tmp_path: Path) -> None:
    text = "---\nname: Spark\nclasses: [wizard, sorcerer\nlevel: 0\n---\nA spark.\n"
    root = write_pack(tmp_path / "p", {"spells/a.md": text})
    only(refuse(app, root), f"{root}/spells/a.md:4:6", "", "invalid front matter")


def test_yaml_wrong_type(app: App, tmp_path: Path) -> None:
    text = "---\nname: Spark\nlevel: 0\nritual: maybe\n---\nA spark.\n"
    root = write_pack(tmp_path / "p", {"spells/a.md": text})
    only(refuse(app, root), f"{root}/spells/a.md:4:9", "ritual", "Expected `bool`, got `str`")


def test_a_value_written_as_people_write_it_says_how_to_write_it(app: App, tmp_path: Path) -> None:
    """`level: 3rd` and `components: V, S, M` were "Expected `int`, got `str`" and "Expected
    `array`, got `str`" alone."""
    text = "---\nname: Spark\nlevel: 3rd\ncomponents: V, S, M\n---\nA spark.\n"
    root = write_pack(tmp_path / "p", {"spells/a.md": text})
    assert refuse(app, root) == [
        f"{root}/spells/a.md:3:8: level: Expected `int`, got `str` (write the number: 3)",
        f"{root}/spells/a.md:4:13: components: Expected `array`, got `str` (write a list: "
        "[V, S, M])",
    ]


def test_yaml_aliases_are_refused(app: App, tmp_path: Path) -> None:
    """A "billion laughs" front matter never gets expanded."""
    lines = ["---", "name: Laughs", 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}]" for i in range(9)]
    root = write_pack(tmp_path / "p", {"spells/a.md": "\n".join([*lines, "---", ""])})
    only(refuse(app, root), f"{root}/spells/a.md:2:1", "", "aliases")


def test_description_given_twice(app: App, tmp_path: Path) -> None:
    text = "---\nname: Spark\ndesc: A spark.\n---\nA spark, again.\n"
    root = write_pack(tmp_path / "p", {"spells/a.md": text})
    only(refuse(app, root), f"{root}/spells/a.md:3:7", "desc", "given twice")


# -- bytes and files --------------------------------------------------------------------------


def test_not_utf8(app: App, tmp_path: Path) -> None:
    text = "---\nname: Caf\xe9 Spell\n---\n".encode("latin-1")
    root = write_pack(tmp_path / "p", {"spells/a.md": text})
    only(refuse(app, root), f"{root}/spells/a.md:2:10", "", "not UTF-8 text (byte 0xe9)")


def test_file_over_the_size_limit(app: App, tmp_path: Path) -> None:
    big = '{"name": "Big", "desc": "' + "x" * packfiles.MAX_FILE_BYTES + '"}'
    root = write_pack(tmp_path / "p", {"spells/big.json": big})
    only(refuse(app, root), f"{root}/spells/big.json:0:0", "", "file too large")


def test_link_out_of_the_pack(app: App, tmp_path: Path) -> None:
    secret = tmp_path / "secret.json"
    secret.write_text('{"name": "Secret"}')
    root = write_pack(tmp_path / "p", GOOD)
    os.symlink(secret, root / "spells" / "secret.json")
    only(refuse(app, root), f"{root}/spells/secret.json:0:0", "", "points outside the pack")


def test_link_inside_the_pack(app: App, tmp_path: Path) -> None:
    root = write_pack(tmp_path / "p", GOOD)
    os.symlink(root / "spells", root / "monsters")
    only(refuse(app, root), f"{root}/monsters:0:0", "", "links are not allowed")


# -- zips -------------------------------------------------------------------------------------


def _zip(tmp_path: Path, members: dict[str, bytes]) -> Path:
    target = tmp_path / "brew.zip"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("pack.toml", MANIFEST)
        for name, data in members.items():
            z.writestr(name, data)
    return target


@pytest.mark.parametrize(
    ("member", "why"),
    [("../evil/spells/x.json", "'..' in path"), ("/etc/spells/x.json", "absolute path")],
)
def test_zip_paths_escaping_the_pack(app: App, tmp_path: Path, member: str, why: str) -> None:
    target = _zip(tmp_path, {"spells/spark.md": SPELL.encode(), member: b'{"name": "X"}'})
    only(refuse(app, target), f"{target}!/{member}:0:0", "", f"unsafe path in zip ({why})")


def test_zip_bomb(app: App, tmp_path: Path) -> None:
    bomb = '{"name": "Bomb", "desc": "' + "0" * (4 * 2**20) + '"}'  # ~1000:1 deflated
    target = _zip(tmp_path, {"spells/bomb.json": bomb.encode()})
    only(refuse(app, target), f"{target}!/spells/bomb.json:0:0", "", "possible zip bomb")


def test_zip_member_over_the_size_limit(app: App, tmp_path: Path) -> None:
    big = os.urandom(packfiles.MAX_FILE_BYTES + 10)  # random: not compressible, not a bomb
    target = _zip(tmp_path, {"spells/big.json": big})
    only(refuse(app, target), f"{target}!/spells/big.json:0:0", "", "file too large")


def test_zip_with_a_link(app: App, tmp_path: Path) -> None:
    target = _zip(tmp_path, {"spells/spark.md": SPELL.encode()})
    with zipfile.ZipFile(target, "a") as z:
        info = zipfile.ZipInfo("spells/passwd.json")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        z.writestr(info, "/etc/passwd")
    only(refuse(app, target), f"{target}!/spells/passwd.json:0:0", "", "links are not allowed")


def test_not_a_zip(app: App, tmp_path: Path) -> None:
    target = tmp_path / "brew.zip"
    target.write_bytes(b"PK\x03\x04 certainly not a zip")
    only(refuse(app, target), f"{target}:0:0", "", "not a readable zip file")


# -- extends ----------------------------------------------------------------------------------


def test_extends_an_entry_that_does_not_exist(app: App, tmp_path: Path) -> None:
    text = "---\nname: Gobbo\nextends: srd-2014:monsters/gobbo\n---\n"
    root = write_pack(tmp_path / "p", {"monsters/gobbo.md": text})
    only(
        refuse(app, root),
        f"{root.resolve()}/monsters/gobbo.md:3:10",
        "extends",
        "srd-2014 has no monsters/gobbo",
    )


def test_extends_a_pack_that_is_not_installed(app: App, tmp_path: Path) -> None:
    text = '[{"name": "Gobbo", "extends": "srd-2099:monsters/goblin"}]'
    root = write_pack(tmp_path / "p", {"monsters/gobbo.json": text})
    only(
        refuse(app, root),
        f"{root.resolve()}/monsters/gobbo.json:1:31",
        "extends",
        "pack 'srd-2099' is not installed",
    )


def test_extends_in_a_cycle(app: App, tmp_path: Path) -> None:
    text = '[\n {"name": "A", "extends": "monsters/b"},\n {"name": "B", "extends": "monsters/a"}\n]'
    root = write_pack(tmp_path / "p", {"monsters/ab.json": text})
    problems = refuse(app, root)
    assert len(problems) == 1 and "a cycle" in problems[0], problems
    assert problems[0].startswith(f"{root.resolve()}/monsters/ab.json:2:"), problems


def test_append_to_a_field_that_is_not_a_list(app: App, tmp_path: Path) -> None:
    text = "---\nextends: srd-2014:monsters/goblin\nappend:\n  hit_points: [3]\n---\n"
    root = write_pack(tmp_path / "p", {"monsters/goblin.md": text})
    only(
        refuse(app, root),
        f"{root.resolve()}/monsters/goblin.md:4:15",
        "append.hit_points",
        "'hit_points' of srd-2014:monsters/goblin is not a list",
    )


def test_append_without_extends(app: App, tmp_path: Path) -> None:
    text = "---\nname: Spark\nappend:\n  classes: [wizard]\n---\n"
    root = write_pack(tmp_path / "p", {"spells/a.md": text})
    only(refuse(app, root), f"{root}/spells/a.md:4:3", "append", "add `extends`")


# -- all at once ------------------------------------------------------------------------------


def test_every_problem_is_reported_at_once(app: App, tmp_path: Path) -> None:
    files = {
        "spells/a.json": '{"name": "A", "level": "x"}',
        "spells/b.md": "no front matter",
        "monsters/c.json": "[1, 2",
        "monsters/d.md": "---\nname: D\nhit_points: -4\n---\n",
    }
    root = write_pack(tmp_path / "p", files, manifest=MANIFEST + "bogus = 1\n")
    problems = refuse(app, root)
    assert [p.split(": ", 1)[0].removeprefix(f"{root}/") for p in problems] == [
        "monsters/c.json:1:6",
        "monsters/d.md:3:13",
        "pack.toml:4:1",
        "spells/a.json:1:24",
        "spells/b.md:1:1",
    ]


def test_warnings_do_not_stop_an_install(app: App, tmp_path: Path) -> None:
    files = {**GOOD, "spells/notes.txt": "not content", "Drafts/x.md": SPELL}
    root = write_pack(tmp_path / "p", files)
    result = app.db.write(partial(app.library.install_path, path=root))
    assert result.action == "installed" and result.entries == 1
    warnings = sorted(str(w) for w in result.warnings)
    assert warnings == [
        f"{root}/Drafts: warning: folder not read: its name is not a collection name (a-z, 0-9, -)",
        f"{root}/spells/notes.txt: warning: not read: content files end in .json or .md",
    ]


def test_a_typo_of_an_srd_school_or_class_is_a_warning(app: App, tmp_path: Path) -> None:
    """`school: evocaton`, `classes: [sorceror]` were kept without a word, and `-f
    school=evocation` never found the spell; a school or class of the pack's own (far from
    every SRD one) is still kept without a word, and a warning keeps its entry."""
    spell = (
        "---\nname: Zap\nlevel: 1\nschool: evocaton\n"
        "classes: [wizard, sorceror, blood hunter]\n---\nZap.\n"
    )
    root = write_pack(tmp_path / "p", {"spells/zap.md": spell})
    result = app.db.write(partial(app.library.install_path, path=root))
    assert result.action == "installed" and result.entries == 1
    assert sorted(str(w) for w in result.warnings) == [
        f"{root}/spells/zap.md:4:9: warning: school: 'evocaton' is none of the SRD's schools; "
        "did you mean 'Evocation'? (kept as written: a filter for evocation would not find it)",
        f"{root}/spells/zap.md:5:19: warning: classes[1]: 'sorceror' is none of the SRD's "
        "classes; did you mean 'Sorcerer'? (kept as written: a filter for sorcerer would not "
        "find it)",
    ]


def test_the_root_folder_or_proc_given_as_a_pack_is_a_pack_error(app: App) -> None:
    """Found by the wire fuzzer: stamping `/` walked the whole disk and met a file of /proc that
    vanished meanwhile (-32603 FileNotFoundError). It is a refused pack like any other folder."""
    for path in (Path("/"), Path("/proc/self")):
        with pytest.raises(PackError) as caught:
            app.db.write(partial(app.library.install_path, path=path))
        assert caught.value.code == -32002


def test_a_folder_that_is_no_pack_is_refused_before_its_tree_is_walked(
    app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`/` or a home folder given as a pack: its tree was stamped (up to 100,000 files, 5-40 s)
    before the reader said it has no pack.toml. A stamp is taken only of a pack that reads."""
    stamped: list[Path] = []
    real = packfiles.stamp
    monkeypatch.setattr(packfiles, "stamp", lambda p, **kw: stamped.append(p) or real(p, **kw))
    with pytest.raises(PackError):
        app.db.write(partial(app.library.install_path, path=Path("/")))
    assert stamped == []
    root = write_pack(tmp_path / "p", GOOD)
    app.db.write(partial(app.library.install_path, path=root))
    assert stamped and set(stamped) == {root}


def test_a_pack_changed_while_it_is_read_is_read_again_after_a_stamp(
    app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stamp is taken after the read; files changed shortly before or during it are read
    once more after a stamp, so the stored stamp never covers an edit the read missed."""
    root = write_pack(tmp_path / "p", GOOD)
    old = time.time_ns() - 60 * 10**9
    for path in [root, *root.rglob("*")]:
        os.utime(path, ns=(old, old))
    assert packfiles.stamp(root, read_since=time.time_ns()) == packfiles.stamp(root)
    reads: list[Path] = []
    real_load = app.library.load_path

    def load_path(path: Path) -> Any:
        reads.append(path)
        if len(reads) == 1:  # an editor saves a file while the pack is being read
            (root / "spells" / "spark.md").write_text(SPELL.replace("A spark", "A bright spark"))
        return real_load(path)

    monkeypatch.setattr(app.library, "load_path", load_path)
    app.db.write(partial(app.library.install_path, path=root))
    assert reads == [root, root]
    assert app.library.unchanged_at(app.db.conn, root) is not None  # the stamp is the files'
    ((body,),) = app.conn.execute("SELECT data FROM entry WHERE slug = 'spark'").fetchall()
    assert "A bright spark" in body


def test_a_stamp_leaves_out_files_that_vanish_while_it_looks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = write_pack(tmp_path / "brew", GOOD)
    before = packfiles.stamp(folder)
    real = os.lstat
    vanishing = str(folder / "spells" / "spark.md")

    def lstat(name: str | os.PathLike[str]) -> os.stat_result:
        if os.fspath(name) == vanishing:
            raise FileNotFoundError(name)
        return real(name)

    monkeypatch.setattr(os, "lstat", lstat)
    assert packfiles.stamp(folder) != before  # computed, without the file


def test_line_and_column_of_many_offsets_are_those_counted_from_the_start() -> None:
    """A JSON list's entries are located through `locate.Lines` (its newlines found once):
    every offset gets the line and column counting from the start of the text gives."""
    rng = random.Random(3)
    for _ in range(300):
        text = "".join(rng.choice("ab\n\n é\r") for _ in range(rng.randint(0, 40)))
        lines = locate.Lines(text)
        for offset in range(-2, len(text) + 3):
            assert lines.line_col(offset) == locate.line_col(text, offset), (text, offset)


def test_lore_that_is_not_text_is_refused_where_it_stands(app: App, tmp_path: Path) -> None:
    spell = "---\nname: Spark\nlevel: 0\nlore: [a, b]\n---\nA spark.\n"
    root = write_pack(tmp_path / "brew", {"spells/spark.md": spell})
    only(refuse(app, root), f"{root}/spells/spark.md:4:7", "lore", "Expected `str`")
