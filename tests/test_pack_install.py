"""Installing folder and zip packs: content as authored, extends resolved, atomic upgrades,
no-op re-installs, removal of everything."""

from __future__ import annotations

import shutil
from functools import partial
from pathlib import Path

import apsw
import pytest

from d5e_daemon import packs, queries
from d5e_daemon.app import App
from d5e_daemon.errors import PackError
from d5e_daemon.features.lookup import lookup
from d5e_daemon.protocol import LookupParams
from d5e_daemon.records import Entry, Extends, Pack

from .conftest import REPO
from .packtools import pack_entries, pack_installed, write_pack, zip_folder

EXAMPLE = REPO / "examples" / "ashen-hills"


def install(app: App, path: Path) -> packs.InstallResult:
    return app.db.write(partial(app.library.install_path, path=path))


def entry_ids(conn: apsw.Connection, pack_id: str) -> dict[str, int]:
    return {
        f"{c}/{s}": i
        for i, c, s in conn.execute(
            "SELECT id, collection, slug FROM entry WHERE pack_id = ?", (pack_id,)
        )
    }


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """A private copy of the example pack, free to edit."""
    return Path(shutil.copytree(EXAMPLE, tmp_path / "ashen-hills"))


def test_the_example_pack_installs_with_its_content_as_written(app: App, example: Path) -> None:
    result = install(app, example)
    assert (result.pack, result.action, result.entries) == ("ashen-hills", "installed", 6)
    assert result.warnings == ()
    spell = lookup(app, LookupParams(ref="spells/cinder-step"))
    assert spell.entry.pack == "ashen-hills"
    data = spell.entry.data
    assert data["index"] == "cinder-step" and data["name"] == "Cinder Step"
    assert data["school"] == {"index": "conjuration", "name": "conjuration"}
    assert data["classes"][0] == {"index": "sorcerer", "name": "sorcerer"}
    assert data["desc"][0].startswith("You vanish in a puff of embers")
    assert len(data["desc"]) == 2  # the body's two paragraphs
    assert spell.entry.source is not None
    assert spell.entry.source.path == str(example.resolve() / "spells" / "cinder-step.md")
    assert spell.entry.source.line == 1
    # the built-in spell card serves homebrew: level, school, components, higher levels
    assert "*2nd-level conjuration*" in spell.markdown
    assert "V, S, M (a pinch of warm ash)" in spell.markdown
    assert "***At Higher Levels.***" in spell.markdown
    item = lookup(app, LookupParams(name="ashwalker boots"))
    assert item.entry.source is not None and item.entry.source.line == 11  # its "{"
    assert "*Wondrous item, rare (requires attunement)*" in item.markdown
    place = lookup(app, LookupParams(ref="locations/emberfall"))
    assert "**Ruler:** Chief Skarn" in place.markdown  # a new collection: the generic card


def test_a_partial_override_changes_only_what_it_says(app: App, example: Path) -> None:
    srd = lookup(app, LookupParams(ref="srd-2014:monsters/goblin")).entry.data
    install(app, example)
    result = lookup(app, LookupParams(ref="monsters/goblin"))
    goblin = result.entry
    assert (goblin.pack, goblin.name, goblin.extends) == (
        "ashen-hills",
        "Goblin",
        "srd-2014:monsters/goblin",
    )
    assert [(s.pack, s.ref) for s in result.shadowed] == [("srd-2014", "monsters/goblin")]
    data = goblin.data
    assert data["hit_points"] == 12 and data["hit_points_roll"] == "3d6+2"  # set
    assert [a["name"] for a in data["actions"]] == ["Scimitar", "Shortbow", "Ash Bomb"]  # append
    assert "Nimble Escape" not in [a["name"] for a in data.get("special_abilities", [])]
    assert data["armor_class"] == srd["armor_class"]  # everything else inherited
    assert "url" not in data  # the SRD's API link is not the homebrew's
    assert "Ash Bomb." in result.markdown and "Hit Points:** 12 (3d6 + 2)" in result.markdown


def test_a_variant_is_a_new_entry_made_from_its_base(app: App, example: Path) -> None:
    install(app, example)
    shaman = lookup(app, LookupParams(name="Ash Goblin Shaman")).entry
    assert (shaman.ref, shaman.extends) == (
        "monsters/ash-goblin-shaman",
        "srd-2014:monsters/goblin",
    )
    assert shaman.data["challenge_rating"] == 1 and shaman.data["strength"] == 8
    assert [a["name"] for a in shaman.data["special_abilities"]] == [
        "Nimble Escape",
        "Spellcasting",
    ]
    # the SRD goblin is still there under its own ref
    assert lookup(app, LookupParams(ref="srd-2014:monsters/goblin")).entry.name == "Goblin"


def test_entries_may_extend_entries_of_their_own_pack_in_any_order(
    app: App, tmp_path: Path
) -> None:
    files = {
        "monsters/a.json": '{"name": "Ash Elite", "extends": "monsters/ash-boss", "xp": 900}',
        "monsters/b.json": '{"name": "Ash Boss", "extends": "srd-2014:monsters/goblin", "xp": 450}',
    }
    install(app, write_pack(tmp_path / "p", files))
    elite = lookup(app, LookupParams(ref="monsters/ash-elite")).entry
    assert elite.extends == "brew:monsters/ash-boss"
    assert elite.data["xp"] == 900 and elite.data["size"] == "Small"


def test_a_zip_installs_like_its_folder(app: App, tmp_path: Path) -> None:
    target = zip_folder(EXAMPLE, tmp_path / "ashen-hills.zip", prefix="ashen-hills/")
    result = install(app, target)
    assert (result.pack, result.entries) == ("ashen-hills", 6)
    source = lookup(app, LookupParams(ref="spells/cinder-step")).entry.source
    assert source is not None
    assert source.path == f"{target.resolve()}!/ashen-hills/spells/cinder-step.md"


def test_installing_unchanged_content_again_is_a_no_op(app: App, example: Path) -> None:
    install(app, example)
    ids = entry_ids(app.conn, "ashen-hills")
    stamp = app.conn.execute("SELECT installed_at, content_hash FROM pack").fetchall()
    again = install(app, example)
    assert (again.action, again.changed) == ("unchanged", 0)
    assert entry_ids(app.conn, "ashen-hills") == ids
    assert app.conn.execute("SELECT installed_at, content_hash FROM pack").fetchall() == stamp


def test_an_upgrade_writes_only_what_changed(app: App, example: Path) -> None:
    install(app, example)
    ids = entry_ids(app.conn, "ashen-hills")
    spell = example / "spells" / "cinder-step.md"
    spell.write_text(spell.read_text().replace("level: 2", "level: 3"))
    (example / "locations" / "emberfall.md").unlink()
    (example / "spells" / "new.json").write_text('{"name": "Smoke Veil", "level": 1}')
    result = install(app, example)
    assert (result.action, result.entries, result.changed) == ("upgraded", 6, 3)
    after = entry_ids(app.conn, "ashen-hills")
    assert "locations/emberfall" not in after and "spells/smoke-veil" in after
    assert after["spells/cinder-step"] == ids["spells/cinder-step"]  # same id, new content
    assert lookup(app, LookupParams(ref="spells/cinder-step")).entry.data["level"] == 3
    unchanged = set(ids) - {"locations/emberfall"}
    assert {r: after[r] for r in unchanged} == {r: ids[r] for r in unchanged}


def test_a_broken_upgrade_leaves_the_installed_version_whole(app: App, example: Path) -> None:
    install(app, example)
    before = entry_ids(app.conn, "ashen-hills")
    (example / "spells" / "cinder-step.md").write_text("---\nname: Cinder Step\nlevel: x\n---\n")
    with pytest.raises(PackError, match="nothing was installed"):
        install(app, example)
    assert entry_ids(app.conn, "ashen-hills") == before
    assert lookup(app, LookupParams(ref="spells/cinder-step")).entry.data["level"] == 2


def test_a_failure_inside_the_transaction_rolls_everything_back(app: App, example: Path) -> None:
    install(app, example)
    before = app.conn.execute("SELECT id, data FROM entry WHERE pack_id = 'ashen-hills'").fetchall()
    spell = example / "spells" / "cinder-step.md"
    spell.write_text(spell.read_text().replace("level: 2", "level: 4"))
    _, loaded = app.library.load_path(example)

    def fail_at_the_end(conn: apsw.Connection) -> None:
        raise RuntimeError("disk full, say")

    with pytest.raises(RuntimeError):
        app.db.write(
            lambda conn: packs.install_loaded(conn, loaded, str(example.resolve()), fail_at_the_end)
        )
    after = app.conn.execute("SELECT id, data FROM entry WHERE pack_id = 'ashen-hills'").fetchall()
    assert after == before


def test_remove_deletes_the_pack_its_entries_indexes_and_choices(app: App, example: Path) -> None:
    install(app, example)
    named = "SELECT count(*) FROM name_words WHERE name_words MATCH 'emberfall'"
    assert app.conn.execute(named).fetchone()[0] == 1
    app.db.write(
        lambda conn: queries.save_choice(conn, app.profile, "ashen-hills", "", priority=70)
    )
    count = app.db.write(
        partial(packs.remove, pack_id="ashen-hills", then=app.library.update_profile)
    )
    assert count == 6
    assert not pack_installed(app.conn, "ashen-hills")
    assert pack_entries(app.conn, "ashen-hills") == 0
    assert queries.profile_choices(app.conn, app.profile) == []
    assert app.conn.execute(named).fetchone()[0] == 0
    assert lookup(app, LookupParams(ref="monsters/goblin")).entry.pack == "srd-2014"
    orphans = "SELECT count(*) FROM resolved WHERE entry_id NOT IN (SELECT id FROM entry)"
    assert app.conn.execute(orphans).fetchone()[0] == 0
    with pytest.raises(PackError, match="not installed"):
        app.db.write(partial(packs.remove, pack_id="ashen-hills"))


def test_python_packs_can_extend_too(app: App) -> None:
    """A plugin's entries go through the same resolution as a folder's."""
    pack = Pack(id="py-brew", title="Py Brew", default_priority=30)
    entries = [
        Entry(
            collection="monsters",
            slug="goblin",
            name="",
            data={"hit_points": 30},
            extends=Extends(ref="srd-2014:monsters/goblin", remove=["actions"]),
        )
    ]
    app.db.write(
        lambda conn: packs.install(conn, pack, entries, "test", app.library.update_profile)
    )
    goblin = lookup(app, LookupParams(ref="monsters/goblin")).entry
    assert (goblin.pack, goblin.name, goblin.data["hit_points"]) == ("py-brew", "Goblin", 30)
    assert "actions" not in goblin.data


def test_resolution_after_many_changes_equals_a_full_rebuild(app: App, example: Path) -> None:
    """Installs resolve only the refs they touch; that must agree with resolving everything."""
    install(app, example)
    goblin = example / "monsters" / "goblin.md"
    for hp in (20, 21):
        goblin.write_text(goblin.read_text().replace("hit_points: 12", f"hit_points: {hp}"))
        install(app, example)
        goblin.write_text(goblin.read_text().replace(f"hit_points: {hp}", "hit_points: 12"))
    (example / "monsters" / "goblin.md").unlink()
    install(app, example)
    current = sorted(app.conn.execute("SELECT * FROM resolved").fetchall())

    def rebuild(conn: apsw.Connection) -> None:
        conn.execute("BEGIN IMMEDIATE")
        queries.rebuild_resolved(conn)
        conn.execute("COMMIT")

    app.db.write(rebuild)
    assert sorted(app.conn.execute("SELECT * FROM resolved").fetchall()) == current
    assert lookup(app, LookupParams(ref="monsters/goblin")).entry.pack == "srd-2014"


def test_each_entry_of_a_json_list_knows_the_line_it_starts_on(app: App, tmp_path: Path) -> None:
    """Go to definition opens an entry's line; the items of a list are located in one pass."""
    import json

    items = [
        {"name": f"Listed {i}", "desc": [f"Line one of {i}.", "Line two."], "tags": {"n": i}}
        for i in range(40)
    ]
    text = "[\n" + ",\n".join(json.dumps(item, indent=2) for item in items) + "\n]\n"
    folder = write_pack(tmp_path / "listed", {"spells/listed.json": text})
    install(app, folder)
    lines = text.splitlines()
    for i in range(40):
        found = lookup(app, LookupParams(name=f"Listed {i}")).entry
        assert found.source is not None
        assert lines[found.source.line - 1] in ("{", "{\n"), (i, found.source.line)
        assert f'"Listed {i}"' in lines[found.source.line]  # the line after its "{"


def test_the_parse_cache_keeps_the_files_read_last_within_its_bytes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Parsed files are kept (encoded) for the next read of the same folder, at most
    `_CACHE_BYTES` of them: a pack of 100,000 entries kept ~240 MB in the process that read it.
    The files read last stay cached (not read again), the first are dropped, and what is kept
    is counted as it is."""
    from d5e_daemon import packformat

    monkeypatch.setattr(packformat, "_cache", packformat.OrderedDict())
    monkeypatch.setattr(packformat, "_cached", [0])
    monkeypatch.setattr(packformat, "_CACHE_BYTES", 20_000)
    reads: list[str] = []

    def spell(i: int) -> packformat.PackFile:
        text = f"---\nname: Spell {i}\nlevel: 1\n---\n" + f"Words of spell {i}. " * 40

        def read() -> bytes:
            reads.append(f"{i}")
            return text.encode()

        rel = f"spells/spell-{i}.md"
        return packformat.PackFile(rel, rel, f"/brew/{rel}", read, stamp=(i, 1))

    files = [spell(i) for i in range(60)]
    entries, problems = packformat.parse_files(files)
    assert len(entries) == 60 and not problems and len(reads) == 60
    kept = packformat._cache
    assert 0 < len(kept) < 60 and packformat._cached[0] == sum(len(v) for _, v in kept.values())
    assert packformat._cached[0] <= 20_000
    reads.clear()
    last, first = sorted(files, key=lambda f: f.rel)[-1], sorted(files, key=lambda f: f.rel)[0]
    assert packformat.parse_files([last])[0] == [e for e in entries if e.source.path == last.source]
    assert reads == []  # the last read is cached
    assert packformat.parse_files([first])[0][0].name == "Spell 0" and reads == ["0"]
