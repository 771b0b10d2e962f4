"""Live reload of some files of a folder pack (`packs.update_files`): only they are read, and the
result is exactly what a full re-install gives; when it cannot be, the whole pack is read."""

from __future__ import annotations

import shutil
from functools import partial
from pathlib import Path

import pytest

from d5e_daemon import packs
from d5e_daemon.app import App
from d5e_daemon.errors import PackError
from d5e_daemon.features.lookup import lookup
from d5e_daemon.protocol import LookupParams

from .conftest import REPO
from .test_pack_install import entry_ids


@pytest.fixture
def installed(app: App, tmp_path: Path) -> Path:
    pack = Path(shutil.copytree(REPO / "examples" / "ashen-hills", tmp_path / "ashen-hills"))
    app.db.write(partial(app.library.install_path, path=pack))
    return pack


def update(app: App, *rels: str) -> packs.InstallResult | None:
    return app.db.write(
        lambda conn: packs.update_files(conn, "ashen-hills", set(rels), app.library.update_profile)
    )


def full_reinstall_is_a_no_op(app: App, pack: Path) -> bool:
    return app.db.write(partial(app.library.install_path, path=pack)).action == "unchanged"


def test_an_edited_file_is_read_alone_and_gives_what_a_full_install_gives(
    app: App, installed: Path
) -> None:
    before = entry_ids(app.conn, "ashen-hills")
    items = installed / "magic-items" / "items.json"
    items.write_text(items.read_text().replace('"Rare"', '"Very Rare"'))
    result = update(app, "magic-items/items.json")
    assert result is not None and (result.action, result.changed) == ("upgraded", 1)
    boots = lookup(app, LookupParams(ref="magic-items/ashwalker-boots")).entry
    assert boots.data["rarity"] == {"index": "very-rare", "name": "Very Rare"}
    assert entry_ids(app.conn, "ashen-hills") == before
    assert full_reinstall_is_a_no_op(app, installed)


def test_new_and_deleted_files(app: App, installed: Path) -> None:
    (installed / "locations" / "emberfall.md").unlink()
    (installed / "locations" / "cinderholm.md").write_text("---\nname: Cinderholm\n---\nA town.\n")
    result = update(app, "locations/emberfall.md", "locations/cinderholm.md")
    assert result is not None and result.changed == 2
    assert "locations/emberfall" not in entry_ids(app.conn, "ashen-hills")
    assert lookup(app, LookupParams(name="cinderholm")).entry.pack == "ashen-hills"
    assert full_reinstall_is_a_no_op(app, installed)


def test_a_changed_file_may_extend_entries_of_other_files(app: App, installed: Path) -> None:
    (installed / "monsters" / "elite.md").write_text(
        "---\nname: Ash Elite\nextends: monsters/ash-goblin-shaman\nxp: 700\n---\n"
    )
    result = update(app, "monsters/elite.md")
    assert result is not None
    elite = lookup(app, LookupParams(name="ash elite")).entry
    assert (elite.extends, elite.data["xp"], elite.data["hit_points"]) == (
        "ashen-hills:monsters/ash-goblin-shaman",
        700,
        18,
    )
    assert full_reinstall_is_a_no_op(app, installed)


def test_when_other_files_extend_the_changed_one_the_whole_pack_is_read(
    app: App, installed: Path
) -> None:
    (installed / "monsters" / "elite.json").write_text(
        '{"name": "Ash Elite", "extends": "monsters/ash-goblin-shaman"}'
    )
    app.db.write(partial(app.library.install_path, path=installed))
    variants = installed / "monsters" / "variants.json"
    variants.write_text(variants.read_text().replace('"hit_points": 18', '"hit_points": 40'))
    assert update(app, "monsters/variants.json") is None  # the caller reads the whole pack
    assert update(app, "pack.toml") is None


def test_a_duplicate_with_another_file_is_refused_and_changes_nothing(
    app: App, installed: Path
) -> None:
    before = entry_ids(app.conn, "ashen-hills")
    (installed / "spells" / "copy.md").write_text("---\nname: Cinder Step\nlevel: 1\n---\n")
    with pytest.raises(PackError) as caught:
        update(app, "spells/copy.md")
    problem = caught.value.data["problems"][0]
    assert problem["file"] == str(installed.resolve() / "spells" / "copy.md")
    assert (
        problem["line"] == 1 and "duplicate ref spells/cinder-step (first at" in problem["message"]
    )
    assert entry_ids(app.conn, "ashen-hills") == before


async def test_packs_extending_a_changed_pack_are_resolved_again(app: App, tmp_path: Path) -> None:
    from d5e_daemon.features.packs import install
    from d5e_daemon.protocol import PackInstallParams

    from .packtools import write_pack

    base = write_pack(
        tmp_path / "base",
        {"monsters/ogre.json": '{"name": "Bog Ogre", "hit_points": 40, "size": "Large"}'},
        manifest='id = "base"\ntitle = "Base"\nversion = "1"\n',
    )
    derived = write_pack(
        tmp_path / "derived",
        {"monsters/elite.md": "---\nname: Bog Ogre Elite\nextends: base:monsters/bog-ogre\n---\n"},
        manifest='id = "derived"\ntitle = "Derived"\nversion = "1"\n',
    )
    await install(app, PackInstallParams(path=str(base)))
    await install(app, PackInstallParams(path=str(derived)))
    assert lookup(app, LookupParams(name="bog ogre elite")).entry.data["hit_points"] == 40
    (base / "monsters" / "ogre.json").write_text('{"name": "Bog Ogre", "hit_points": 55}')
    await install(app, PackInstallParams(path=str(base)))
    elite = lookup(app, LookupParams(name="bog ogre elite")).entry
    assert (elite.pack, elite.data["hit_points"]) == ("derived", 55)
    assert "size" not in elite.data


def test_changed_paths_go_to_the_pack_holding_them(app: App, installed: Path) -> None:
    """What the daemon reloads after `workspace/didChangeWatchedFiles`: the files under an
    installed folder pack (or the folder itself), never a path beside it or a plugin's pack."""
    inside = installed / "spells" / "cinder-step.md"
    beside = installed.parent / "ashen-hills-notes.md"
    assert app.library.packs_holding([inside, beside, installed]) == {
        "ashen-hills": {str(inside), str(installed)}
    }
    assert app.library.packs_holding([beside]) == {}
    assert app.library.origins() == {"ashen-hills": installed.resolve()}
