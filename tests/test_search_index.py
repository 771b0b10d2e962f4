"""The search machinery without an `App`: a `SearchIndex` takes a database, the profile's name,
a renderer and the plugins' names, and `DocCounts` a connection getter and two queries, so a
test builds them from those alone. Also: the model is loaded only when something needs
embedding (issue 11: a daemon on an indexed database idles without it)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from d5e_daemon import queries
from d5e_daemon.db import Database
from d5e_daemon.records import Entry
from d5e_daemon.search.builder import SearchIndex
from d5e_daemon.search.counts import DocCounts
from d5e_daemon.search.embed import FakeEmbedder


class LazyModel(FakeEmbedder):
    """The fake model, which says when it was loaded, as the real one does."""

    def __init__(self) -> None:
        super().__init__()
        self.loads = 0

    @property
    def loaded(self) -> bool:
        return self.loads > 0

    def load(self) -> None:
        self.loads += 1


@pytest.fixture
def database(db_path: Path) -> Iterator[Database]:
    """The SRD database (both editions; the default profile is 2014's), not yet indexed."""
    database = Database(db_path)
    yield database
    database.close()


def index_of(
    database: Database, model: FakeEmbedder, plugins: list[str], tail: str = ""
) -> SearchIndex:
    """An index whose renderer writes each entry's name and collection, then `tail`."""
    rendered: list[tuple[str, str]] = []

    def render(entry: Entry, purpose: str) -> str:
        rendered.append((entry.name, purpose))
        return f"{entry.name}. {entry.collection}.{tail}"

    index = SearchIndex(database, lambda: "default", render, lambda: plugins, model)
    index.rendered = rendered  # type: ignore[attr-defined]
    return index


def test_an_index_is_built_from_a_database_a_profile_and_a_renderer(database: Database) -> None:
    model = LazyModel()
    index = index_of(database, model, ["renderer-a"])
    index.background = True  # as in the daemon
    before = index.state()
    assert (before.indexed, before.ready) == (0, False)
    state = index.build()
    assert state.ready and state.indexed == state.entries == before.entries > 1000
    assert model.loads == 1  # entries to embed: the model is loaded, once
    assert ("Fireball", "index") in index.rendered  # type: ignore[attr-defined]
    assert model.texts_embedded > 1000  # a text shared by entries is embedded once


def test_whether_vectors_are_ready_is_remembered_until_something_changes(
    database: Database,
) -> None:
    """What every search asks (`vectors_ready`) is read once per state of the database
    (`db.UntilChanged`, as the other caches of the kind), forgotten when a build ends (its
    vectors may be in the cache's own file) and when packs change."""
    index = index_of(database, LazyModel(), ["renderer-a"])
    reads = []
    state = index.state

    def counted(conn: object = None) -> object:
        reads.append(1)
        return state()

    index.state = counted  # type: ignore[method-assign]
    assert not index.vectors_ready() and not index.vectors_ready()
    assert len(reads) == 1
    index.build()
    assert index.vectors_ready()  # at once, not at the next commit
    assert len(reads) >= 2
    asked = len(reads)
    assert index.vectors_ready() and len(reads) == asked
    index.forget(["srd-2014"])
    assert index.vectors_ready() and len(reads) == asked + 1


def test_an_unchanged_index_embeds_nothing_and_a_new_renderer_embeds_all(
    database: Database,
) -> None:
    first = LazyModel()
    index_of(database, first, ["renderer-a"]).build()
    again = LazyModel()
    assert index_of(database, again, ["renderer-a"]).build().ready
    assert again.texts_embedded == 0
    other = LazyModel()  # another renderer: other texts, so other vectors
    index = index_of(database, other, ["renderer-a", "renderer-b"], " Also a spark.")
    assert index.build().ready
    assert other.texts_embedded == first.texts_embedded


def test_the_model_is_loaded_only_when_something_needs_embedding(database: Database) -> None:
    index_of(database, LazyModel(), ["renderer-a"]).build()
    model = LazyModel()
    index = index_of(database, model, ["renderer-a"])
    index.background = True  # as in the daemon, which indexes after every start
    assert index.build().ready
    assert model.loads == 0, "an indexed database needs no model"
    assert index.semantic_available() is False  # a hybrid search: loading begins
    for _ in range(100):
        if model.loads:
            break
        time.sleep(0.01)
    assert model.loads == 1
    assert index.semantic_available() is True


class SlowModel(LazyModel):
    """A model whose load takes a while, as the real one's (about a second)."""

    def load(self) -> None:
        time.sleep(0.5)
        super().load()


def test_stopping_waits_for_the_model_being_loaded(database: Database) -> None:
    """`d5e mcp` closed by its client within a second of the first search exited -6
    ("terminate called without an active exception"): onnxruntime was still loading in a
    daemon thread when the interpreter exited. Shutting down waits for the load."""
    index_of(database, LazyModel(), ["renderer-a"]).build()
    model = SlowModel()
    index = index_of(database, model, ["renderer-a"])
    index.background = True
    assert index.semantic_available() is False  # loading begins
    index.stop()
    assert model.loads == 1, "stop() returned while the model was loading"


def test_doc_counts_read_through_the_connection_they_are_given(database: Database) -> None:
    counts = DocCounts(lambda: database.conn, queries.term_counts, queries.entry_count)
    index_of(database, LazyModel(), ["renderer-a"]).ensure_attributes()  # keyword texts
    (fireball,) = queries.index_terms(database.conn, ["fireball"])
    found = counts([fireball, "zzzz"])
    assert found["zzzz"] == 0 and found[fireball] >= 2  # both editions' Fireball, at least
    assert counts.rows() == queries.entry_count(database.conn)


def test_each_entry_is_rendered_once_and_its_passages_are_its_index_text(
    database: Database,
) -> None:
    """A build renders each entry's index text once (phase 1, for the keyword index); the
    passages are split from that text as kept, the same passages as rendering it again gives."""
    from d5e_daemon.search.builder import LEAD_PASSAGE
    from d5e_daemon.search.passages import split

    model = LazyModel()
    tail = "\n" + "Words of a long paragraph.\n" * 60
    index = index_of(database, model, ["renderer-a"], tail)
    assert index.build().ready
    rendered = [name for name, purpose in index.rendered if purpose == "index"]  # type: ignore[attr-defined]
    conn = database.conn
    entries = conn.execute("SELECT count(*) FROM entry").fetchone()[0]
    assert len(rendered) == entries
    passages: dict[int, list[str]] = {}
    for entry_id, text in conn.execute("SELECT entry_id, text FROM passage ORDER BY entry_id, ord"):
        passages.setdefault(entry_id, []).append(text)
    assert len(passages) > 1000
    for entry_id, name, collection in conn.execute(
        "SELECT id, name, collection FROM entry WHERE id IN (SELECT entry_id FROM passage)"
    ):
        body = f"{name}. {collection}.{tail}"
        lead = collection in LEAD_PASSAGE
        assert passages[entry_id] == split(body, model.count_tokens, index.passage_tokens, lead)
    assert max(len(p) for p in passages.values()) > 1  # texts of several passages


def test_new_filters_redo_the_attributes_only(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When only the filters change (a d5e whose extractors read otherwise), phase 1 extracts
    every entry's attributes again but renders no keyword text again (they depend on the
    renderers only): at SRD + 100,000 the whole redo took 29 min. A database a d5e of one key
    for both brought up to date is current."""
    from d5e_daemon import filters
    from d5e_daemon.search.builder import _legacy_attrs_key

    index = index_of(database, LazyModel(), ["renderer-a"])
    entries = database.conn.execute("SELECT count(*) FROM entry").fetchone()[0]
    assert index.sync_attributes() == entries
    assert len(index.rendered) == entries  # type: ignore[attr-defined]
    texts = database.conn.execute("SELECT rowid, text FROM entry_text ORDER BY rowid").fetchall()
    attrs = "SELECT entry_id, name, value FROM entry_attr ORDER BY entry_id, name, value"
    before = database.conn.execute(attrs).fetchall()
    (fireball,) = database.conn.execute(
        "SELECT id FROM entry WHERE pack_id = 'srd-2014' AND slug = 'fireball'"
    ).fetchone()
    extract = filters.attributes
    dropped = next((n, v) for e, n, v in before if e == fireball)

    def another_extractor(collection: str, data: dict[str, Any]) -> list[tuple[str, Any]]:
        found = extract(collection, data)
        if data.get("name") == "Fireball":
            return [*(a for a in found if a != dropped), ("test", "another")]
        return found

    index.rendered.clear()  # type: ignore[attr-defined]
    monkeypatch.setattr(filters, "version", lambda: "filters of another d5e")
    monkeypatch.setattr(filters, "attributes", another_extractor)
    assert index.sync_attributes() == entries
    assert index.rendered == []  # type: ignore[attr-defined]
    assert index.attributes_current()
    after = database.conn.execute(attrs).fetchall()
    assert set(before) - set(after) == {(fireball, *dropped)}  # only what changed, written
    assert set(after) - set(before) == {(fireball, "test", "another")}
    assert (
        database.conn.execute("SELECT rowid, text FROM entry_text ORDER BY rowid").fetchall()
        == texts
    )
    legacy = _legacy_attrs_key(filters.version(), index.render_key)
    database.write(lambda conn: conn.execute("UPDATE entry_index SET attrs = ?", (legacy,)))
    assert index.sync_attributes() == 0
    assert index.attributes_current()
