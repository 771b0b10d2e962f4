"""Migrations, identity checks, backups and rollback of the database file."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import apsw
import pytest

from d5e_daemon import db
from d5e_daemon.cli import main
from d5e_daemon.errors import DatabaseError

from .oldschema import older_database


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def pragma(path: Path, name: str) -> int:
    conn = apsw.Connection(str(path))
    try:
        return int(conn.execute(f"PRAGMA {name}").fetchone()[0])  # type: ignore[index]
    finally:
        conn.close()


@pytest.fixture
def extra_migration(monkeypatch: pytest.MonkeyPatch) -> db.Migration:
    """Pretend this d5e ships one more migration than the real ones."""
    real = db.migrations()
    extra = db.Migration(
        len(real) + 1, "add_notes", "CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT);"
    )
    monkeypatch.setattr(db, "migrations", lambda: [*real, extra])
    return extra


def test_empty_to_latest_records_history_and_identity(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite3"
    conn = db.connect(path)
    history = list(conn.execute("SELECT version, name, checksum FROM migration_history"))
    conn.close()
    assert [(v, n) for v, n, _ in history] == [(m.version, m.name) for m in db.migrations()]
    assert all(len(c) == 64 for _, _, c in history)
    assert pragma(path, "user_version") == db.latest_version()
    assert pragma(path, "application_id") == db.APPLICATION_ID
    assert not db.backups_dir(path).exists(), "a new database needs no backup"


def test_migrate_is_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "d.sqlite3"
    db.connect(path).close()
    conn = db.connect(path, migrate_now=False)
    assert db.migrate(conn, path) == []
    assert (
        conn.execute("SELECT count(*) FROM migration_history").fetchone()[0] == db.latest_version()
    )  # type: ignore[index]
    conn.close()


def test_database_from_a_newer_d5e_is_refused_and_untouched(tmp_path: Path) -> None:
    path = tmp_path / "future.sqlite3"
    db.connect(path).close()
    conn = apsw.Connection(str(path))
    conn.pragma("user_version", db.latest_version() + 5)
    conn.close()
    before = digest(path)
    with pytest.raises(DatabaseError, match="newer d5e"):
        db.connect(path)
    assert digest(path) == before


def test_foreign_sqlite_database_is_refused_and_untouched(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite3"
    conn = apsw.Connection(str(path))
    conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
    conn.close()
    before = digest(path)
    with pytest.raises(DatabaseError, match="another application"):
        db.connect(path)
    assert digest(path) == before
    assert not Path(str(path) + "-wal").exists()


def test_other_application_id_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "app.sqlite3"
    conn = apsw.Connection(str(path))
    conn.pragma("application_id", 0x12345678)
    conn.close()
    with pytest.raises(DatabaseError, match="0x12345678"):
        db.connect(path)


def test_file_that_is_not_sqlite_is_refused_and_untouched(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(b"This is not a database, just some notes.\n" * 100)
    before = digest(path)
    with pytest.raises(DatabaseError, match="not a SQLite database"):
        db.connect(path)
    assert digest(path) == before


def test_edited_migration_is_detected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "d.sqlite3"
    db.connect(path).close()
    real = db.migrations()
    edited = [db.Migration(real[0].version, real[0].name, real[0].sql + "\n-- edited"), *real[1:]]
    monkeypatch.setattr(db, "migrations", lambda: edited)
    with pytest.raises(DatabaseError, match="checksum mismatch"):
        db.connect(path)


def test_check_lists_pending_and_changes_nothing(
    tmp_path: Path, extra_migration: db.Migration
) -> None:
    missing = tmp_path / "missing.sqlite3"
    version, todo = db.check(missing)
    assert (version, len(todo)) == (0, db.latest_version())
    assert not missing.exists(), "check must not create the database"

    path = tmp_path / "d.sqlite3"
    conn = db.connect(path, migrate_now=False)
    db.migrate(conn, path)
    conn.execute("DROP TABLE note")  # as if created by the older d5e
    conn.pragma("user_version", extra_migration.version - 1)
    conn.close()
    before = digest(path)
    version, todo = db.check(path)
    assert version == extra_migration.version - 1
    assert [m.name for m in todo] == ["add_notes"]
    assert digest(path) == before


def test_backup_before_migrating_and_rollback_restores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "d.sqlite3"
    conn = db.connect(path)
    conn.execute("INSERT INTO pack (id, title) VALUES ('mine', 'My pack')")
    conn.close()
    old_version = pragma(path, "user_version")

    real = db.migrations()
    extra = db.Migration(len(real) + 1, "add_notes", "CREATE TABLE note (id INTEGER PRIMARY KEY);")
    monkeypatch.setattr(db, "migrations", lambda: [*real, extra])
    conn = db.connect(path, migrate_now=False)
    done = db.migrate(conn, path)
    conn.close()
    assert done[0].startswith(f"backed up schema v{old_version}")
    assert done[1] == f"applied {extra.version:04d}_add_notes"
    backups = list(db.backups_dir(path).glob("*.sqlite3"))
    assert len(backups) == 1
    assert pragma(backups[0], "user_version") == old_version
    assert pragma(path, "user_version") == extra.version

    message = db.rollback(path)
    assert f"schema v{old_version}" in message
    assert pragma(path, "user_version") == old_version
    conn = apsw.Connection(str(path))
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_schema WHERE type = 'table'")}
    packs = list(conn.execute("SELECT id FROM pack"))
    conn.close()
    assert "note" not in tables
    assert packs == [("mine",)], "data written before the migration survives the rollback"


def test_rollback_without_backup_says_so(tmp_path: Path) -> None:
    path = tmp_path / "d.sqlite3"
    db.connect(path).close()
    with pytest.raises(DatabaseError, match="no backup"):
        db.rollback(path)


def test_two_processes_migrating_at_once_apply_each_step_once(tmp_path: Path) -> None:
    path = tmp_path / "d.sqlite3"
    errors: list[BaseException] = []

    def open_it() -> None:
        try:
            db.connect(path).close()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    conn = apsw.Connection(str(path))
    assert (
        conn.execute("SELECT count(*) FROM migration_history").fetchone()[0] == db.latest_version()
    )  # type: ignore[index]
    conn.close()


def test_cli_db_commands_print_what_they_did(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra_migration: db.Migration
) -> None:
    path = tmp_path / "d.sqlite3"
    assert main(["db", "check", "--db", str(path)]) == 0
    out = capsys.readouterr().out
    assert "schema v0" in out and "pending 0001_init" in out
    assert not path.exists()

    assert main(["db", "migrate", "--db", str(path)]) == 0
    out = capsys.readouterr().out
    assert "applied 0001_init" in out
    assert f"applied {extra_migration.version:04d}_add_notes" in out
    assert main(["db", "migrate", "--db", str(path)]) == 0
    assert "already up to date" in capsys.readouterr().out
    assert main(["db", "check", "--db", str(path)]) == 0
    assert "no pending migrations" in capsys.readouterr().out
    assert main(["db", "rollback", "--db", str(path)]) == 1
    assert "no backup" in capsys.readouterr().err


def test_upgrade_drops_the_unused_keyword_index_and_names_still_match(
    srd_template: Path, tmp_path: Path
) -> None:
    """0006 drops `entry_fts` (read by nothing) and `entry.body` from a database holding the
    SRD; the names stay matched as entries come, change and go (its triggers were replaced)."""
    from d5e_daemon import queries
    from d5e_daemon.app import App
    from d5e_daemon.features.complete import complete
    from d5e_daemon.protocol import CompleteParams
    from d5e_daemon.settings import build

    path = tmp_path / "d5e.sqlite3"
    assert db.migrations()[5].name == "drop_entry_fts"
    older_database(srd_template, path, 5)
    old = apsw.Connection(str(path))
    entries = old.execute("SELECT count(*) FROM entry").fetchone()
    assert "entry_fts" in {n for (n,) in old.execute("SELECT name FROM sqlite_schema")}
    old.close()

    app = App(build({"db": str(path)}))
    app.start()
    conn = app.conn
    tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_schema")}
    assert not {n for n in tables if n.startswith(("entry_fts", "entry_terms"))}
    assert "body" not in {row[1] for row in conn.execute("PRAGMA table_info(entry)")}
    assert conn.execute("SELECT count(*) FROM entry").fetchone() == entries

    def matched(word: str) -> set[int]:
        """Entries whose name has `word`, by word and by trigrams (what completion asks)."""
        by_word = conn.execute("SELECT rowid FROM name_words WHERE name_words MATCH ?", (word,))
        by_trigram = conn.execute(
            "SELECT rowid FROM name_trigrams WHERE name_trigrams MATCH ?", (word,)
        )
        return {i for (i,) in by_word} | {-i for (i,) in by_trigram}

    assert matched("fireball")
    assert complete(app, CompleteParams(prefix="firebal")).items[0].name == "Fireball"
    new = queries.NewEntry("spells", "zorblax", "Zorblax Ray", "{}", "h1", None, None, None)
    with db.transaction(conn):
        queries.upsert_entries(conn, "srd-2014", [new])
    ((entry_id,),) = conn.execute("SELECT id FROM entry WHERE slug = 'zorblax'")
    assert matched("zorblax") == {entry_id, -entry_id}
    renamed = queries.NewEntry("spells", "zorblax", "Quux Ray", "{}", "h2", None, None, None)
    with db.transaction(conn):
        queries.upsert_entries(conn, "srd-2014", [renamed])
    assert matched("zorblax") == set() and matched("quux") == {entry_id, -entry_id}
    with db.transaction(conn):
        conn.execute("DELETE FROM entry WHERE id = ?", (entry_id,))
    assert matched("quux") == set()
    app.close()


def test_upgrade_of_an_indexed_database_keeps_search_as_it_was(
    indexed_template: Path, tmp_path: Path
) -> None:
    """A user's database indexed before 0006 answers every search mode afterwards as the same
    database of today's schema does, without indexing again (the migrations since touch
    neither keyword texts nor vectors). Today's is the session's SRD copy indexed by the same
    fake embedder (it was indexed here, ~5 s of CPU)."""
    import shutil

    from d5e_daemon.app import App
    from d5e_daemon.features.search import search
    from d5e_daemon.protocol import SearchParams
    from d5e_daemon.search.embed import FakeEmbedder
    from d5e_daemon.settings import build

    today = tmp_path / "today.sqlite3"
    shutil.copy(indexed_template, today)
    path = tmp_path / "d5e.sqlite3"
    queries = ["fireball", "breathe under water", "undead that paralyses with its claws"]

    def answers(path: Path) -> tuple[list[list[tuple[str, float]]], tuple[int, int, bool]]:
        app = App(build({"db": str(path)}))
        app.start()
        app.search = app.search_index(FakeEmbedder())
        indexed = app.search.state().ready
        assert app.search.build().ready
        embedded = app.conn.execute("SELECT count(*) FROM passage_vector").fetchone()[0]
        found = [
            [(h.ref, h.score) for h in search(app, SearchParams(query=q, mode=mode)).hits]
            for q in queries
            for mode in ("hybrid", "keyword", "semantic")
        ]
        version = app.conn.execute("PRAGMA user_version").fetchone()[0]
        app.close()
        return found, (version, embedded, indexed)

    before, (latest, embedded, was_indexed) = answers(today)
    older_database(today, path, 5)
    after, (new, still, indexed) = answers(path)
    assert latest == new == len(db.migrations()) and was_indexed and indexed
    assert embedded == still > 3000
    assert after == before and all(before)


def test_the_queries_package_exports_every_query_of_its_modules() -> None:
    """`from d5e_daemon import queries; queries.x(...)` reaches every public name of the
    subject modules (queries/packs.py, queries/search.py…), so callers need not know them."""
    import importlib
    import pkgutil

    from d5e_daemon import queries

    for info in pkgutil.iter_modules(queries.__path__):
        module = importlib.import_module(f"d5e_daemon.queries.{info.name}")
        public = {
            name
            for name, value in vars(module).items()
            if not name.startswith("_")
            and getattr(value, "__module__", module.__name__) == module.__name__
            and not isinstance(value, type(importlib))
            and name not in {"annotations"}
        }
        missing = sorted(n for n in public if getattr(queries, n, None) is not getattr(module, n))
        assert not missing, f"queries/{info.name}.py: {missing} not exported by queries/__init__.py"


def test_profiles_keyed_by_name_become_integer_ids(srd_template: Path, tmp_path: Path) -> None:
    """0012: a database of schema 11 (profiles keyed by their name in every table) keeps every
    profile, priority, choice and winner, now under an integer id with the name stored once;
    the migrated database answers and changes as a new one does."""
    import asyncio

    from d5e_daemon import queries
    from d5e_daemon.app import App
    from d5e_daemon.features.lookup import lookup
    from d5e_daemon.protocol import LookupParams
    from d5e_daemon.settings import build

    path = tmp_path / "d5e.sqlite3"
    assert db.migrations()[11].name == "profile_ids"
    older_database(srd_template, path, 11)
    old = apsw.Connection(str(path))
    campaign = "c" * 64  # the longest name a profile may have
    with db.transaction(old):
        old.execute(
            "INSERT INTO profile (id, config, config_hash) VALUES (?, ?, 'h')",
            (campaign, '{"workspace": "/w"}'),
        )
        old.execute(
            "INSERT INTO profile_pack SELECT ?, pack_id, priority FROM profile_pack "
            "WHERE profile_id = 'default' AND pack_id = 'srd-2024'",
            (campaign,),
        )
        old.execute(
            "INSERT INTO profile_collection VALUES (?, 'srd-2024', 'spells', 70)", (campaign,)
        )
        old.execute("INSERT INTO profile_choice VALUES (?, 'srd-2014', '', 0, NULL)", (campaign,))
        old.execute("INSERT INTO profile_choice VALUES ('gone', 'srd-2014', 'monsters', NULL, 5)")
        old.execute(
            "INSERT INTO resolved SELECT ?, entry_id, shadows FROM resolved "
            "WHERE profile_id = 'default' AND entry_id IN (SELECT id FROM entry "
            "WHERE pack_id = 'srd-2024')",
            (campaign,),
        )

    def contents(conn: apsw.Connection) -> list[list[tuple[object, ...]]]:
        return [
            sorted(conn.execute(f"SELECT * FROM {table}"))
            for table in ("profile_pack", "profile_collection", "profile_choice", "resolved")
        ]

    before = contents(old)
    profiles = sorted(old.execute("SELECT id, config, config_hash FROM profile"))
    old.close()

    conn = db.connect(path)  # migrates
    try:
        assert conn.execute("PRAGMA user_version").fetchone() == (db.latest_version(),)
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        names = dict(conn.execute("SELECT id, name FROM profile"))
        assert sorted(names.values()) == sorted([campaign, "default", "gone"])
        assert (
            sorted(
                conn.execute("SELECT name, config, config_hash FROM profile WHERE name != 'gone'")
            )
            == profiles
        )
        for table in ("profile_pack", "profile_collection", "profile_choice", "resolved"):
            kinds = conn.execute(f"SELECT DISTINCT typeof(profile_id) FROM {table}")
            assert kinds.fetchall() == [("integer",)], table
        # Each row is the old one with the name given back for the id.
        after = [sorted((names[row[0]], *row[1:]) for row in rows) for rows in contents(conn)]
        assert after == before
        winners = sorted(conn.execute("SELECT * FROM resolved"))
        with db.transaction(conn):
            queries.rebuild_resolved(conn)
        assert sorted(conn.execute("SELECT * FROM resolved")) == winners
        assert queries.profile_owner(conn, campaign) == (True, "/w")
        assert queries.profile_collections(conn, campaign) == {"srd-2024": {"spells": 70}}
    finally:
        conn.close()

    app = App(build({"db": str(path), "edition": "2014"}))
    app.start()
    try:
        assert lookup(app, LookupParams(ref="spells/fireball")).entry.name == "Fireball"
        asyncio.run(app.library.choose("srd-2014", enabled=False))
        assert "srd-2014" not in queries.profile_packs(app.conn, "default")
        asyncio.run(app.library.choose("srd-2014", enabled=True))
        assert lookup(app, LookupParams(ref="spells/fireball")).entry.pack == "srd-2014"
    finally:
        app.close()


def test_upgrade_gives_attributes_their_listing_order(
    attributed_template: Path, tmp_path: Path
) -> None:
    """Attributes extracted before migration 0011 get their entry's listing order from it:
    filtered listings read in that order list what the query over every winner lists. Today's
    database is the session's SRD copy with its attributes made (they were made here, ~2 s of
    CPU)."""
    import shutil

    from d5e_daemon import queries as queries_module
    from d5e_daemon.app import App
    from d5e_daemon.features.search import _scope
    from d5e_daemon.protocol import SearchParams, decode
    from d5e_daemon.settings import build

    today = tmp_path / "today.sqlite3"
    shutil.copy(attributed_template, today)
    path = tmp_path / "d5e.sqlite3"
    assert db.migrations()[10].name == "attr_order"
    older_database(today, path, 10)
    app = App(build({"db": str(path)}))
    app.start()
    try:
        both = "SELECT count(*) FROM entry_attr UNION ALL SELECT count(*) FROM entry_attr_order"
        rows, ordered = (n for (n,) in app.conn.execute(both))
        assert rows == ordered > 10_000  # every attribute row, with its entry's order
        for given in ({"speed": "fly"}, {"sense": "darkvision 60", "alignment": "evil"}):
            params = decode({"query": "", "filters": given}, SearchParams)
            scope = _scope(app, params)
            wide = app.conn.execute(
                queries_module.BROWSE_SQL, scope.args() | {"limit": 300, "offset": 0}
            )
            assert queries_module.browse(app.conn, scope, 300, 0) == [i for (i,) in wide]
    finally:
        app.close()


def test_values_are_remembered_until_the_database_changes(tmp_path: Path) -> None:
    """`UntilChanged` answers from memory while no other connection committed, reads again
    once one did (`PRAGMA data_version`), keeps each owner's and key's value apart, and lets
    go of an owner nobody holds."""
    import gc
    import weakref

    from d5e_daemon import queries

    path = tmp_path / "d5e.sqlite3"
    reader, writer = db.connect(path), db.connect(path)

    class Owner:
        pass

    held = db.UntilChanged[int]()
    reads: list[str] = []

    def count(key: str) -> int:
        def read() -> int:
            reads.append(key)
            return int(reader.execute("SELECT count(*) FROM pack").fetchone()[0])

        return held.get(owner, queries.data_version(reader), key, read)

    try:
        owner = Owner()
        assert (count("a"), count("a"), count("b")) == (0, 0, 0)
        assert reads == ["a", "b"]
        writer.execute("INSERT INTO pack (id, title) VALUES ('brew', 'Brew')")
        assert (count("a"), count("a")) == (1, 1)
        assert reads == ["a", "b", "a"]
        other = Owner()
        assert held.get(other, queries.data_version(reader), "a", lambda: 7) == 7
        assert count("a") == 1 and reads == ["a", "b", "a"]
        gone = weakref.ref(other)
        del other
        gc.collect()
        assert gone() is None  # not kept alive by what it remembered
    finally:
        reader.close()
        writer.close()


def test_a_snapshot_reads_as_of_its_start_and_the_next_one_sees_what_changed(
    tmp_path: Path,
) -> None:
    """`queries.snapshot` (one search's reads): its reads and its `data_version` stay as they
    were when it began while another connection commits; once it ends, the next read sees the
    commit and the version moves. A snapshot inside one, or inside a transaction, changes
    nothing, and one left by an exception leaves no transaction open."""
    from d5e_daemon import queries

    path = tmp_path / "d5e.sqlite3"
    reader, writer = db.connect(path), db.connect(path)

    def packs() -> int:
        return int(reader.execute("SELECT count(*) FROM pack").fetchone()[0])

    try:
        before = queries.data_version(reader)
        with queries.snapshot(reader):
            assert queries.data_version(reader) == before
            writer.execute("INSERT INTO pack (id, title) VALUES ('brew', 'Brew')")
            with queries.snapshot(reader):
                assert (packs(), queries.data_version(reader)) == (0, before)
        assert not reader.in_transaction
        assert packs() == 1 and queries.data_version(reader) != before
        with pytest.raises(ZeroDivisionError), queries.snapshot(reader):
            1 / 0  # noqa: B018
        assert not reader.in_transaction
    finally:
        reader.close()
        writer.close()
