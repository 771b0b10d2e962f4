"""One snapshot for both halves: a search reads the database as of one moment, on every connection
it reads through, while another writer installs, removes and reinstalls a pack (docs/search.md).
Each test makes the other writer's commits land at one chosen point of a search (no timing)."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import apsw
import pytest

from d5e_daemon import packs, queries
from d5e_daemon.app import App
from d5e_daemon.features import search as search_feature
from d5e_daemon.protocol import SearchParams
from d5e_daemon.search import builder

from .packtools import write_pack

SIZE = 120
"""More than `builder.ATTRS_PER_BATCH`: a pack's keyword texts are written in two batches."""


def spell_pack(root: Path, pack_id: str) -> Path:
    spells = [
        {"name": f"{pack_id.upper()} Spell {i:03d}", "level": i % 10, "desc": f"Lore of {pack_id}."}
        for i in range(SIZE)
    ]
    manifest = f'id = "{pack_id}"\ntitle = "{pack_id}"\nversion = "1"\n'
    return write_pack(root / pack_id, {"spells/all.json": json.dumps(spells)}, manifest=manifest)


def install(app: App, folder: Path) -> None:
    app.db.write(lambda conn: app.library.install_path(conn, folder))
    app.library.changed([folder.name])


def remove(app: App, pack_id: str) -> None:
    app.db.write(lambda conn: packs.remove(conn, pack_id))
    app.library.changed([pack_id])


def hits(app: App, pack_id: str, mode: str) -> list[tuple[str, str, float]]:
    params = SearchParams(query=f"{pack_id} spell", packs=[pack_id], limit=500, mode=mode)  # type: ignore[arg-type]
    return [(h.pack, h.ref, h.score) for h in search_feature.search(app, params).hits]


def test_a_keyword_search_finds_a_pack_whole_while_another_writer_indexes_it(
    indexed: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CI failure "a search found 99 entries of pg": another process installed the pack and
    wrote the keyword texts of its first 100 entries (`ATTRS_PER_BATCH`) just before the
    search's snapshot began; the search found those 100 only."""
    assert SIZE > builder.ATTRS_PER_BATCH
    folder = spell_pack(tmp_path / "packs", "pq")
    real_snapshot = queries.snapshot
    real_save = builder._save_attrs
    landed: list[int] = []

    def save_one_batch(conn: apsw.Connection, **kw: Any) -> None:
        real_save(conn, **kw)
        indexed.search._stop.set()  # the other writer's next batch comes later

    @contextlib.contextmanager
    def after_another_writer(conn: apsw.Connection) -> Iterator[None]:
        if not landed:  # the install and its first batch of keyword texts, then the snapshot
            landed.append(1)
            install(indexed, folder)
            monkeypatch.setattr(builder, "_save_attrs", save_one_batch)
            indexed.search.sync_attributes()
            monkeypatch.setattr(builder, "_save_attrs", real_save)
            indexed.search.resume()
            assert queries.attrs_pending(conn, indexed.search.attrs_key)
        with real_snapshot(conn):
            yield

    monkeypatch.setattr(queries, "snapshot", after_another_writer)
    found = hits(indexed, "pq", "keyword")
    assert landed
    assert len(found) == SIZE
    assert {pack for pack, _, _ in found} == {"pq"}


@pytest.fixture
def with_pack(indexed: App, tmp_path: Path) -> Path:
    """`indexed` with the pack pq installed and indexed (vectors too: hybrid search)."""
    folder = spell_pack(tmp_path / "packs", "pq")
    install(indexed, folder)
    assert indexed.search.build().ready
    return folder


def reinstall(app: App, folder: Path) -> None:
    """Remove pq, install another pack (its entries take ids pq's had), install pq again: the
    same entries under other ids."""
    remove(app, "pq")
    install(app, spell_pack(folder.parent, "pz"))
    install(app, folder)
    app.search.ensure_attributes_apart()


def test_the_keyword_half_on_the_reader_thread_reads_the_callers_snapshot(
    indexed: App, with_pack: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reinstall committed while the reader thread's keyword half is about to read: the
    search answers as before it (the keyword half read the new ids' range before: no keyword
    score, every score lower)."""
    hits(indexed, "pq", "hybrid")  # the reader thread has read once
    before = hits(indexed, "pq", "hybrid")
    real = search_feature.retrieval.keyword_hits
    landed: list[int] = []

    def reinstall_first(*args: Any, **kw: Any) -> Any:
        if not landed and threading.current_thread().name.startswith("d5e-db-reader"):
            landed.append(1)
            reinstall(indexed, with_pack)
        return real(*args, **kw)

    monkeypatch.setattr(search_feature.retrieval, "keyword_hits", reinstall_first)
    assert hits(indexed, "pq", "hybrid") == before
    assert landed


def test_a_commit_before_the_reader_thread_begins_sends_its_reads_to_the_calling_thread(
    indexed: App, with_pack: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reinstall committed after the search's snapshot began and before the reader thread's
    transaction does: the reader thread cannot read that snapshot, so the calling thread reads
    the keyword half itself, and the search answers as before the reinstall."""
    hits(indexed, "pq", "hybrid")
    before = hits(indexed, "pq", "hybrid")
    real_snapshot = queries.snapshot
    landed: list[int] = []

    @contextlib.contextmanager
    def then_a_reinstall(conn: apsw.Connection) -> Iterator[None]:
        with real_snapshot(conn):
            if not landed:
                landed.append(1)
                reinstall(indexed, with_pack)
            yield

    monkeypatch.setattr(queries, "snapshot", then_a_reinstall)
    assert hits(indexed, "pq", "hybrid") == before
    assert landed


def test_reads_beside_and_through_the_vectors_connection_see_the_snapshot(indexed: App) -> None:
    """`Database.snapshot`: a commit of another connection after the block began is seen by
    none of its reads, whichever connection reads."""
    database = indexed.db
    database.write(lambda conn: conn.execute("CREATE TABLE counted (x)"))

    def rows(conn: apsw.Connection) -> int:
        return int(conn.execute("SELECT count(*) FROM counted").fetchone()[0])

    for commit_in_the_block in (False, True, False, True, True):
        with database.snapshot(queries.snapshot):
            held = rows(database.conn)
            if commit_in_the_block:
                database.write(lambda conn: conn.execute("INSERT INTO counted VALUES (1)"))
            beside = database.read_beside(rows)
            assert (beside(), rows(database.vectors), rows(database.conn)) == (held, held, held)
    assert rows(database.conn) == 3
