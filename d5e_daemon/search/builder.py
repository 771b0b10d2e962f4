"""The search index: filter attributes and passage vectors of every searchable entry.

Two phases, both incremental and resumable (each batch is its own transaction, and the state of
every entry is kept in `entry_index`: the key of the work done for its current content, or NULL
while there is work to do; see `queries.forget_other_keys`):

1. attributes and keyword text, for every entry: its filter attributes (`entry_attr`) and its
   index text (`render_text(entry, "index")`) in the keyword index (`entry_text`); plain Python,
   a fraction of a second for the SRD, done before any search so that browsing by attributes
   and keyword search never wait for the model;
2. vectors: the index text of each winner of some profile (in the collections that get
   vectors), as phase 1 rendered and kept it, is split into passages, and each passage
   embedded, unless the vector cache
   (`$XDG_CACHE_HOME/d5e/vectors.sqlite3`, keyed by model and text hash, shared by every
   database of the user) already has it. Entries of the current profile go first.

Keyword and vector search read the same text, so a word players use for what an entry is
("cantrip", "undead", "condition") finds it both ways. Phase 1 is keyed by the filter
declarations and the renderers, the vectors by the model id, the passage size and the
renderers, each plus the entry's content hash: a changed entry is indexed again, a new
renderer re-renders everything, and another model re-embeds everything.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import apsw

from .. import __version__, db, filters, names, queries, text
from ..errors import StorageError
from ..records import Entry
from .embed import Embedder, cache_dir, default_embedder
from .passages import PassageIndex, split

log = logging.getLogger(__name__)

# Collections left out of the vector index: tables of numbers by level and lists of names (an
# equipment category's items, a proficiency's classes and items), which match any query loosely
# and rank above the entries a writer means (keywords still find them). Not `rules`: the SRD's
# are lists of section titles too, but a pack's house rules may be written there.
VECTOR_SKIP = ("levels", "equipment-categories", "proficiencies")
# Collections whose index text leads with a short account of what the entry is and does (a
# monster's kind, movement, attacks and their effects; a spell's use in plain words, when its
# pack gives one as its lore, else its first paragraph): that lead is embedded on its own too.
LEAD_PASSAGE = frozenset(
    {
        "monsters",
        "spells",
        "conditions",
        "skills",
        "rule-sections",
        "damage-types",
        "magic-schools",
        "weapon-properties",
        "languages",
        "traits",
        "races",
        "classes",
        "subclasses",
    }
)
PASSAGE_TOKENS = 128
ENTRIES_PER_BATCH = 64
ATTRS_PER_BATCH = 100
POSTINGS_REBUILT_FROM = 1000
"""When at least this many keyword texts are to be written, the term frequencies kept beside them
(`queries.postings`) are dropped and built once at the end instead of kept batch by batch."""
"""Entries whose attributes and keyword texts are saved in one transaction: a batch's save
(~0.04 s here; 2,000 took 0.5-0.8 s) is what an install that arrives meanwhile may wait for
on the writer thread. The SRD's first phase takes as long in batches of 100 as of 2,000."""
YIELD_POLL_S = 0.02
OTHER_INDEXER_POLL_S = 0.5
"""How often a process waiting for another's indexing of the same database tries again."""
LOAD_WAIT_S = 30.0
"""How long shutting down waits for the embedding model being loaded."""
# Bump when the built-in index renderers change what they write (or which passages are made).
RENDER_VERSION = 7

Progress = Callable[[int, int], None]
"""`progress(done, total)` of the vector phase, called after each batch."""


@dataclass(frozen=True)
class IndexState:
    entries: int
    indexed: int
    pending_other: int
    model: str
    model_loaded: bool
    running: bool

    @property
    def ready(self) -> bool:
        return self.indexed == self.entries


class VectorCache:
    """Vectors by (model, text hash) in a SQLite file of the user's cache directory."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or cache_dir() / "vectors.sqlite3"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.conn = apsw.Connection(str(self.path))
            self.conn.set_busy_timeout(db.BUSY_TIMEOUT_MS)
            self.conn.pragma("journal_mode", "wal")
            self.conn.execute(queries.VECTOR_CACHE_SCHEMA)
        except (OSError, apsw.Error) as exc:  # a read-only home, a full disk: this run only
            log.warning(
                "cannot keep vectors in %s (%s): indexing embeds what it needs without them; "
                "set XDG_CACHE_HOME to a folder you can write",
                self.path,
                exc,
            )
            self.conn = apsw.Connection(":memory:")
            self.conn.execute(queries.VECTOR_CACHE_SCHEMA)

    def get(self, model: str, hashes: list[str]) -> dict[str, bytes]:
        return queries.cached_vectors(self.conn, model, hashes)

    def put(self, model: str, vectors: dict[str, bytes]) -> None:
        with db.transaction(self.conn):
            queries.cache_vectors(self.conn, model, vectors)

    def shrink(self) -> None:
        db.shrink_memory(self.conn)

    def close(self) -> None:
        self.conn.close()


@contextlib.contextmanager
def indexing_alone(
    path: Path, stop: threading.Event, waiting: Callable[[str], None] | None = None
) -> Iterator[bool]:
    """Hold `DATABASE-index-lock` while indexing: the other processes on the database (a daemon
    per campaign, `d5e index`) wait for it, then read what is left to do (after a whole run by
    another process, nothing) instead of doing the same work beside it. The kernel lets go of
    the lock of a process that dies, so a crash mid-run blocks nobody: the next one finishes
    the run. False if `stop` was set while waiting. `waiting(message)` when it must wait (`d5e
    index` says so on screen, where its progress bar would show nothing meanwhile)."""
    try:
        lock = open(f"{path}-index-lock", "a")  # noqa: SIM115 (closed below, after waiting)
    except OSError as exc:  # a read-only folder: nothing can be indexed into it anyway
        log.info("no index lock beside %s: %s", path, exc)
        yield True
        return
    with lock:
        waited = False
        while True:
            with db.file_lock(lock, wait=False) as held:
                if held:
                    yield True
                    return
            if not waited:
                message = f"another process is indexing {path}; waiting for it"
                log.info("%s", message)
                if waiting is not None:
                    waiting(message)
                waited = True
            if stop.wait(OTHER_INDEXER_POLL_S):
                yield False
                return


def _forget_other_attrs(conn: apsw.Connection, key: str, texts: str, legacy: str) -> None:
    with db.transaction(conn):
        queries.forget_other_attrs(conn, key, texts, legacy)


def _forget_other_keys(
    conn: apsw.Connection, key: str, vectors: bool, skip: tuple[str, ...] = ()
) -> None:
    with db.transaction(conn):
        if queries.forget_other_keys(conn, key, vectors) and skip:
            # vectors of collections an older d5e embedded and this one skips
            queries.drop_passages_of(conn, skip)


def _save_attrs(
    conn: apsw.Connection,
    key: str,
    attrs: list[tuple[int, str, list[tuple[str, Any]]]],
    texts: list[tuple[int, str, str, str]],
) -> None:
    with db.transaction(conn):
        live = queries.save_attrs(conn, key, attrs)
        queries.save_keyword_texts(conn, texts, live)


def _drop_postings(conn: apsw.Connection) -> None:
    with db.transaction(conn):
        queries.drop_postings(conn)


def _rebuild_postings(conn: apsw.Connection) -> None:
    with db.transaction(conn):
        queries.rebuild_postings(conn)


def _save(
    conn: apsw.Connection,
    key: str,
    model: str,
    entries: list[tuple[int, str]],
    rows: list[queries.NewPassage],
) -> None:
    with db.transaction(conn):
        queries.save_passages(conn, key, model, entries, rows)
    db.shrink_memory(conn)  # see `SearchIndex._build`


Render = Callable[[Entry, str], str]
"""`render(entry, purpose)`: the plugins' text of an entry (`Plugins.render`)."""


_READY = db.UntilChanged[bool]()
"""Whether an index's vectors are ready (`SearchIndex.vectors_ready`, asked by every search),
until the database changes (`PRAGMA data_version`: any commit of another connection, the
writer thread's or another process's) or the profile does; forgotten when packs change and
when a build ends (its vectors may be in the cache's own file, whose commits the stamp does
not see)."""


@functools.lru_cache(maxsize=8)
def _attrs_key(filters_version: str, render_key: str) -> str:
    """`SearchIndex.attrs_key` (hashes: asked twice a search): `TEXTS:FILTERS`, what the
    keyword texts depend on (the renderers), then what the attributes do (the filters)."""
    return f"{_texts_key(render_key)}{text.content_hash(filters_version)[:8]}"


@functools.lru_cache(maxsize=8)
def _texts_key(render_key: str) -> str:
    """The first part of an attributes key, with its colon: the keyword texts' renderers."""
    return f"{text.content_hash(render_key)[:8]}:"


def _legacy_attrs_key(filters_version: str, render_key: str) -> str:
    """The attributes key of a d5e before the nineteenth session: one hash of both."""
    return text.content_hash(f"{filters_version}|{render_key}")[:16]


_ATTRS_CURRENT = db.UntilChanged[bool]()
"""Whether filter attributes and keyword texts are current (`SearchIndex.attributes_current`,
asked twice a search: ~0.1 ms each, two statements and the key's hashes), until the database
changes: every write is a commit of the writer thread's connection, which the main
connection's stamp sees."""


class SearchIndex:
    """Builds and describes the search index of one database, for one profile at a time. One
    run at a time. It reads through `database.conn` (the main thread's connection) or the
    connection it is given, writes through `database.write`, renders entries with `render`,
    and keys what it wrote by the plugins' names (`plugin_names()`, which renderers there are).
    Whoever changes packs calls `forget` (the `App` wires that)."""

    def __init__(
        self,
        database: db.Database,
        profile: Callable[[], str],
        render: Render,
        plugin_names: Callable[[], list[str]],
        embedder: Embedder | None = None,
    ) -> None:
        self.db = database
        self.profile = profile
        self.render = render
        self.plugin_names = plugin_names
        self.embedder = embedder or default_embedder()
        self.passage_tokens = PASSAGE_TOKENS
        self.skip = VECTOR_SKIP
        self._run_lock = threading.Lock()
        self._attrs_lock = threading.Lock()  # phase 1 once at a time: a second caller waits
        self._stop = threading.Event()
        self._loading = threading.Event()
        self._loader: threading.Thread | None = None
        self.running = False
        self.background = False
        """True in the daemon: a search never waits for the model to load, it starts loading
        it and answers from keywords meanwhile."""
        self.passages = PassageIndex(lambda: self.db.conn, vectors=lambda: self.db.vectors)
        self._builder: int | None = None  # the thread running `build`
        self.packs_writing: Callable[[], bool] = lambda: False
        """True while packs are being installed (the `App` wires it to its library): indexing
        pauses meanwhile, so an install neither shares the CPU with it nor waits behind its
        writes."""

    def _yield_to_installs(self) -> None:
        """In the thread of `build` (the background indexer), wait while packs are being
        written. Called before each entry is rendered, between the embedder's batches and
        before each save: an install that arrives in the middle of a batch has the CPU (and
        the writer thread) within one entry's or one embedding batch's time; the batch goes on
        afterwards (its save leaves out entries the install changed or removed:
        `queries.unchanged_entries`). A request that brings the attributes up to date itself
        never waits: on the event loop it would wait for an install whose end that same loop
        has to run."""
        if threading.get_ident() != self._builder:
            return
        while self.packs_writing() and not self._stop.wait(YIELD_POLL_S):
            pass

    def forget(self, pack_ids: list[str] | None = None) -> None:
        """Packs changed: what was remembered about the index is asked again."""
        _READY.forget(self)

    def _db_stamp(self) -> object:
        return (self.profile(), queries.stamp(self.db.conn))

    def ensure_attributes(self, conn: apsw.Connection | None = None) -> None:
        """Make filter attributes and keyword texts current before a search (an index probe when
        they are). When they cannot be written (the database served read-only, the disk full),
        the search reads what is there. `conn` reads (default: the main thread's)."""
        if self.db.read_only is not None:
            return
        try:
            self.sync_attributes(conn)
        except StorageError as exc:
            log.warning("keyword texts not brought up to date: %s", exc.message)

    def attributes_current(self) -> bool:
        """Nothing for `ensure_attributes` to do (an index probe)."""
        return self.db.read_only is not None or self._attributes_current(self.db.conn)

    def _attributes_current(self, conn: apsw.Connection) -> bool:
        """Filter attributes and keyword texts current, as `conn` reads them; the main
        connection's answer is remembered until the database changes (`_ATTRS_CURRENT`)."""
        key = self.attrs_key

        def read() -> bool:
            return not queries.attrs_pending(conn, key) and queries.postings_state(conn)[0]

        if conn is not self.db.conn:
            return read()
        return _ATTRS_CURRENT.get(self, queries.stamp(conn), key, read)

    def ensure_attributes_apart(self) -> None:
        """`ensure_attributes` through a connection of its own: for a worker thread, while the
        main thread goes on answering."""
        conn = db.connect(self.db.path, migrate_now=False)
        try:
            self.ensure_attributes(conn)
        finally:
            conn.close()

    def vectors_ready(self) -> bool:
        """Every entry of the profile has current vectors."""
        return _READY.get(self, self._db_stamp(), "ready", lambda: self.state().ready)

    def semantic_available(self) -> bool:
        """Vectors ready and the model at hand (in the daemon: loaded, else loading begins)."""
        if not self.vectors_ready():
            return False
        if self.embedder.loaded or not self.background:
            return True
        self.load_in_background()
        return False

    def load_in_background(self) -> None:
        if not self.embedder.loaded and not self._loading.is_set():
            self._loading.set()
            self._loader = threading.Thread(
                target=self._load_quietly, name="d5e-model", daemon=True
            )
            self._loader.start()

    def wait_for_model(self, timeout: float) -> bool:
        """Wait up to `timeout` for the model being loaded in the background (by
        `load_in_background`); whether it is loaded."""
        loader = self._loader
        if loader is not None and loader is not threading.current_thread():
            loader.join(timeout)
        return self.embedder.loaded

    def _load_quietly(self) -> None:
        try:
            self.embedder.load()
        except Exception:
            log.exception("the embedding model could not be loaded")
        finally:
            self._loading.clear()

    @property
    def render_key(self) -> str:
        """What index texts depend on besides the entry: the renderers (d5e, plugins)."""
        plugins = ",".join(sorted(self.plugin_names()))
        return f"{RENDER_VERSION}|{__version__}|{plugins}"

    @property
    def key(self) -> str:
        """What the vectors depend on besides the entry: model, passage size, renderers."""
        seed = f"{self.embedder.model_id}|{self.passage_tokens}|{self.render_key}"
        return text.content_hash(seed)[:16]

    @property
    def attrs_key(self) -> str:
        """What phase 1 depends on besides the entry: filter declarations, renderers."""
        return _attrs_key(filters.version(), self.render_key)

    def state(self, conn: apsw.Connection | None = None) -> IndexState:
        counts = queries.index_counts(conn or self.db.conn, self.key, self.skip, self.profile())
        return IndexState(
            entries=counts.entries,
            indexed=counts.indexed,
            pending_other=counts.pending_other,
            model=self.embedder.model_id,
            model_loaded=self.embedder.loaded,
            running=self.running,
        )

    def stop(self, wait_for_load: bool = True) -> None:
        """Make a running `build` stop after its current batch, and later ones return at once
        (until `resume`): for shutting down. A model still loading is waited for (up to
        `LOAD_WAIT_S`) unless not `wait_for_load`: onnxruntime loading when the interpreter
        exits aborts the process ("terminate called without an active exception", exit -6,
        when an MCP client closed within a second of its first search); a process that does
        not wait leaves without finalizing the interpreter (`cli.cmd_mcp`)."""
        self._stop.set()
        loader = self._loader
        if wait_for_load and loader is not None and loader is not threading.current_thread():
            loader.join(LOAD_WAIT_S)

    def loading(self) -> bool:
        """Whether the model is being loaded in the background (`load_in_background`)."""
        loader = self._loader
        return loader is not None and loader.is_alive()

    def resume(self) -> None:
        self._stop.clear()

    # -- phase 1: attributes and keyword text --------------------------------------------------

    def sync_attributes(self, conn: apsw.Connection | None = None) -> int:
        """Extract filter attributes and keyword texts of new or changed entries; return how
        many.

        `conn` reads (default: the main thread's); writes go to the writer thread.
        """
        key = self.attrs_key
        read = conn or self.db.conn
        if self._attributes_current(read):
            return 0
        with self._attrs_lock:  # a search waits for the background indexer's run, not redoes it
            return self._sync_attributes(read, key)

    def _sync_attributes(self, read: apsw.Connection, key: str) -> int:
        texts_key = _texts_key(self.render_key)
        legacy = _legacy_attrs_key(filters.version(), self.render_key)
        self.db.write(partial(_forget_other_attrs, key=key, texts=texts_key, legacy=legacy))
        if queries.texts_pending(read, POSTINGS_REBUILT_FROM) >= POSTINGS_REBUILT_FROM:
            self.db.write(_drop_postings)  # built once at the end
        done = 0
        while not self._stop.is_set():  # shutting down: the rest waits for the next start
            self._yield_to_installs()
            # entries without keyword texts first, then those whose texts are current (the
            # filters changed, not the renderers: their attributes only)
            todo = queries.attrs_todo(read, ATTRS_PER_BATCH)
            with_texts = bool(todo)
            if not todo:
                todo = queries.attrs_todo(read, ATTRS_PER_BATCH, texts=texts_key)
            if not todo:
                break
            attrs, texts = [], []
            for item in todo:
                if self._stop.is_set():  # shutting down: what is made is kept, not the rest
                    break
                self._yield_to_installs()
                entry = item.entry()
                attrs.append(
                    (item.id, item.content_hash, filters.attributes(entry.collection, entry.data))
                )
                if not with_texts:
                    continue
                body = self.render(entry, "index")
                # The entry's other names are searched too ("mordenkainens sword").
                other = names.declared_aliases(entry.data)
                other += names.inverted_forms(entry.name, entry.collection)
                searched = " ".join([*other, text.dice_aliases(body)])
                texts.append((item.id, entry.name, body, searched))
            self._yield_to_installs()
            if attrs:
                self.db.write(partial(_save_attrs, key=key, attrs=attrs, texts=texts))
            done += len(attrs)
        if not self._stop.is_set() and not queries.postings_state(read)[0]:
            self.db.write(_rebuild_postings)
        return done

    # -- phase 2: vectors ------------------------------------------------------------------------

    def build(
        self, progress: Progress | None = None, waiting: Callable[[str], None] | None = None
    ) -> IndexState:
        """Index what is missing, batch by batch; return the final state. Thread-safe: a second
        caller waits for the running build and then finds nothing left to do. `waiting`: told
        when another process is indexing the database and this one waits (`indexing_alone`)."""
        with self._run_lock:
            conn = db.connect(self.db.path, migrate_now=False)
            cache: VectorCache | None = None
            self._builder = threading.get_ident()
            try:
                if not self._stop.is_set():
                    self.running = True
                    with indexing_alone(self.db.path, self._stop, waiting) as alone:
                        if alone:
                            cache = VectorCache()
                            self.sync_attributes(conn)
                            self._build(conn, cache, progress)
                self.running = False
                return self.state(conn)
            finally:
                self._builder = None
                self.embedder.release()
                self.running = False
                _READY.forget(self)  # the vectors it wrote may be in the cache's own file
                if cache is not None:
                    cache.close()
                conn.close()

    def _build(self, conn: apsw.Connection, cache: VectorCache, progress: Progress | None) -> None:
        key, model = self.key, self.embedder.model_id
        self.db.write(partial(_forget_other_keys, key=key, vectors=True, skip=self.skip))
        counts = queries.index_counts(conn, key, self.skip, self.profile())
        total = counts.entries - counts.indexed + counts.pending_other
        if total:
            # what the install that made this work left in SQLite's page caches goes back
            # before the model's memory comes (the embedder frees Python's garbage): the
            # install and the indexing it triggers are one peak (docs/benchmarks.md, 5etools)
            self.db.write(db.shrink_memory)
            db.shrink_memory(conn)
        if total and self.background:
            # in the daemon, the query model first, so that hybrid search has it when the
            # vectors are ready; with nothing to embed it stays unloaded until a query needs it
            # (an indexed library idles without it: see docs/benchmarks.md, idle memory)
            self.embedder.load()
        done = 0
        started = time.perf_counter()
        if progress:
            progress(0, total)
        while not self._stop.is_set():
            self._yield_to_installs()
            todo = queries.vectors_todo(conn, self.skip, self.profile(), ENTRIES_PER_BATCH)
            if not todo:
                break
            passages = self._passages(conn, todo)
            vectors = cache.get(model, [h for _, _, h, _ in passages])
            missing = {h: t for _, _, h, t in passages if h not in vectors}
            if missing:
                fresh = self._embed(missing)
                cache.put(model, fresh)
                vectors.update(fresh)
            rows = [
                queries.NewPassage(eid, order, h, t, vectors[h]) for eid, order, h, t in passages
            ]
            entries = [(item.id, item.content_hash) for item in todo]
            self._yield_to_installs()
            self.db.write(partial(_save, key=key, model=model, entries=entries, rows=rows))
            # the pages this batch read and wrote leave SQLite's caches (the reader's, the
            # vector cache's, the writer's in `_save`): kept, they grew by ~7 MB over an
            # index run, on top of the model's memory (docs/benchmarks.md, 5etools); the next
            # batch reads other entries, and the file system's cache still holds these pages
            db.shrink_memory(conn)
            cache.shrink()
            done += len(todo)
            if progress:
                progress(min(done, total), total)
        log.info("indexed %d entries in %.1f s", done, time.perf_counter() - started)

    def _passages(
        self, conn: apsw.Connection, todo: list[queries.IndexTodo]
    ) -> list[tuple[int, int, str, str]]:
        """(entry id, order, text hash, text) of every passage of the entries: of the index
        text phase 1 rendered and kept (`entry_text`), rendered again only when it is not
        there for the entry's content."""
        kept = queries.index_texts(
            conn, _texts_key(self.render_key), [(i.id, i.content_hash) for i in todo]
        )
        out = []
        for item in todo:
            self._yield_to_installs()
            body = kept.get(item.id)
            if body is None:
                body = self.render(item.entry(), "index")
            lead = item.row.collection in LEAD_PASSAGE
            for order, passage in enumerate(
                split(body, self.embedder.count_tokens, self.passage_tokens, lead)
            ):
                out.append((item.id, order, text.content_hash(passage), passage))
        return out

    def _embed(self, texts: dict[str, str]) -> dict[str, bytes]:
        """Embed in batches of similar lengths (little padding); keyed like `texts`."""
        hashes = list(texts)
        sizes = self.embedder.count_tokens([texts[h] for h in hashes])
        ordered = [h for _, h in sorted(zip(sizes, hashes, strict=True))]
        vectors = self.embedder.embed_many(
            [texts[h] for h in ordered], pause=self._yield_to_installs
        )
        return dict(zip(ordered, vectors, strict=True))
