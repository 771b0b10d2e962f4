"""Several processes on one database: one daemon upgrades a pack again and again while another
daemon and CLI processes answer lookups. Nobody sees "database is locked", a half-installed pack
or a missing entry; the other daemon notices the change and tells its client. Then three daemons
and CLI processes mixing installs, removals, lookups and searches for a fixed number of
operations; and the indexer racing a writer inside one process."""

from __future__ import annotations

import asyncio
import json
import random
import re
import select
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from d5e_daemon import db, packs
from d5e_daemon.app import App
from d5e_daemon.client import Daemon, RpcError
from d5e_daemon.search.embed import FakeEmbedder
from d5e_daemon.settings import build

from .conftest import start_client
from .forks import FORKS, _forks_end  # noqa: F401 (_forks_end: the servers end with each test)
from .packtools import write_pack
from .test_crash import check_derived_rows
from .test_packs_e2e import collect, stop
from .test_server_e2e import call

SIZES = {"1": 1500, "2": 2000}


def version(root: Path, number: str) -> Path:
    """Pack `multi` at `number`: every entry says which version it belongs to."""
    count = SIZES[number]
    files = {
        f"spells/part-{b}.json": json.dumps(
            [
                {"name": f"M {i:04d}", "level": i % 10, "desc": f"version {number} " + "x" * 300}
                for i in range(b, count, 10)
            ]
        )
        for b in range(10)
    }
    manifest = f'id = "multi"\ntitle = "Multi"\nversion = "{number}"\n'
    return write_pack(root / f"v{number}", files, manifest=manifest)


async def cli(db_path: Path, *argv: str) -> tuple[int, str, str]:
    """`d5e ARGV --db DB` in a process forked from one that imported d5e (tests/forks.py)."""
    done = await asyncio.to_thread(FORKS.d5e, *argv, "--db", str(db_path))
    return done.returncode, done.stdout, done.stderr


@pytest.mark.slow
async def test_two_daemons_and_the_cli_share_one_database(db_path: Path, tmp_path: Path) -> None:
    folders = [version(tmp_path, "1"), version(tmp_path, "2")]
    writer = await start_client(db_path)
    reader = await start_client(db_path, {"edition": "2024"})
    heard = collect(reader)
    seen_counts: set[int] = set()
    problems: list[str] = []
    done = asyncio.Event()

    async def upgrade_again_and_again() -> None:
        try:
            for round_ in range(8):
                params = {"path": str(folders[round_ % 2]), "replace": True}  # two folders, one id
                result = await call(writer, "d5e/packs/install", params)
                assert result["action"] in ("installed", "upgraded"), result
        finally:
            done.set()

    def check_entry(entry: dict[str, Any]) -> None:
        marker = entry["data"]["desc"].split(" x")[0]
        if marker not in ("version 1", "version 2"):
            problems.append(f"odd entry: {marker}")

    async def read_in_the_other_daemon() -> None:
        while not done.is_set():
            status = await call(reader, "d5e/status", None)
            counts = {p["id"]: p["entries"] for p in status["packs"]}
            seen_counts.add(counts.get("multi", 0))
            if "multi" in counts:
                check_entry((await call(reader, "d5e/lookup", {"ref": "spells/m-0000"}))["entry"])
            await call(reader, "d5e/lookup", {"name": "fireball"})

    async def read_with_the_cli() -> None:
        while not done.is_set():
            code, out, err = await cli(db_path, "packs", "list", "--json")
            if code != 0:
                problems.append(f"cli packs list: {err.strip()}")
                continue
            for pack in json.loads(out)["packs"]:
                if pack["pack"]["id"] == "multi":
                    seen_counts.add(pack["entries"])
                    code, out, err = await cli(db_path, "lookup", "spells/m-0000", "--json")
                    if code != 0:
                        problems.append(f"cli lookup: {err.strip()}")
                    else:
                        check_entry(json.loads(out)["entry"])

    try:
        await asyncio.wait_for(
            asyncio.gather(
                upgrade_again_and_again(), read_in_the_other_daemon(), read_with_the_cli()
            ),
            timeout=120,
        )
        assert problems == []  # (an error in a daemon raises in `call` and fails the test)
        assert seen_counts <= {0, *SIZES.values()}, seen_counts  # never half a pack
        assert len(seen_counts & set(SIZES.values())) >= 1

        # the reading daemon noticed the other's installs by itself and told its client
        async def noticed() -> bool:
            await asyncio.sleep(0.1)
            return any("multi" in n["packs"] for n in heard)

        for _ in range(50):
            if await noticed():
                break
        assert any("multi" in n["packs"] for n in heard), heard
        final = (await call(reader, "d5e/lookup", {"ref": "spells/m-1999"}))["entry"]
        assert final["pack"] == "multi"  # the last round installed version 2
    finally:
        await stop(writer)
        await stop(reader)


# -- several daemons and CLI processes, a fixed number of mixed operations ----------------------

PACK_SIZE = 120
OWNERS = {"a": ["pa", "pb"], "b": ["pc", "pd"], "c": ["pg", "ph"], "cli": ["pe", "pf"]}
"""Each actor installs and removes only its own packs, so it knows what they hold after each of
its operations (read your writes); every actor reads everyone's packs, which must be whole or
absent, never half, never doubled."""
OPS_PER_DAEMON = 16
OPS_OF_THE_CLI = 10


def small_pack(root: Path, pack_id: str) -> Path:
    spells = [
        {"name": f"{pack_id.upper()} Spell {i:03d}", "level": i % 10, "desc": f"Lore of {pack_id}."}
        for i in range(PACK_SIZE - 1)
    ]
    files = {f"spells/part-{p}.json": json.dumps(spells[p::4]) for p in range(4)}
    # and each overrides the SRD's goblin, so winners move with every install and removal
    files["monsters/goblin.md"] = f"---\nname: Goblin\nhit_points: 9\n---\nA goblin of {pack_id}.\n"
    manifest = f'id = "{pack_id}"\ntitle = "{pack_id}"\nversion = "1"\n'
    return write_pack(root / pack_id, files, manifest=manifest)


@dataclass
class Tally:
    operations: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, what: str) -> None:
        with self.lock:
            self.operations[what] += 1

    def problem(self, what: str) -> None:
        with self.lock:
            self.problems.append(what)


def check_listing(packs: list[dict[str, Any]], tally: Tally, who: str) -> None:
    """Every homebrew pack in a listing is whole."""
    for info in packs:
        pack_id = info["pack"]["id"]
        if pack_id.startswith("p") and info["installed"] and info["entries"] != PACK_SIZE:
            tally.problem(f"{who} saw {pack_id} with {info['entries']} entries")


def check_hits(hits: list[dict[str, Any]], tally: Tally, who: str) -> None:
    refs = [(h["pack"], h["ref"]) for h in hits]
    if len(refs) != len(set(refs)):
        tally.problem(f"{who}: a search returned the same entry twice")
    for pack_id in {p for p, _ in refs if p.startswith("p")}:
        n = sum(1 for p, _ in refs if p == pack_id)
        if n not in (PACK_SIZE - 1, PACK_SIZE):  # its spells (and the goblin, if it wins)
            tally.problem(f"{who}: a search found {n} entries of {pack_id}")


def daemon_actor(d: Daemon, who: str, folders: dict[str, Path], tally: Tally, seed: int) -> None:
    rng = random.Random(seed)
    installed = dict.fromkeys(OWNERS[who], False)

    def call(method: str, params: Any) -> Any:
        tally.count(method)
        return d.request(method, params, timeout=60)

    for _ in range(OPS_PER_DAEMON):
        op = rng.choice(["toggle", "toggle", "lookup", "search", "hybrid", "list", "complete"])
        mine = rng.choice(OWNERS[who])
        other = rng.choice([p for ps in OWNERS.values() for p in ps])
        try:
            if op == "toggle":
                if installed[mine]:
                    assert call("d5e/packs/remove", {"pack": mine})["entries"] == PACK_SIZE
                else:
                    result = call("d5e/packs/install", {"path": str(folders[mine])})
                    assert (result["action"], result["entries"]) == ("installed", PACK_SIZE)
                installed[mine] = not installed[mine]
                ref = f"{mine}:spells/{mine}-spell-007"
                try:
                    found = call("d5e/lookup", {"ref": ref})["entry"]["pack"] == mine
                except RpcError as exc:
                    assert exc.code == -32001, exc.message
                    found = False
                if found != installed[mine]:
                    tally.problem(f"{who} does not see its own change of {mine}")
            elif op == "lookup":
                assert call("d5e/lookup", {"name": "fireball"})["entry"]["name"] == "Fireball"
                goblin = call("d5e/lookup", {"ref": "monsters/goblin"})["entry"]
                assert goblin["pack"] in (
                    "srd-2014",
                    "srd-2024",
                    *OWNERS["a"],
                    *OWNERS["b"],
                    *OWNERS["cli"],
                )
            elif op in ("search", "hybrid"):
                mode = "keyword" if op == "search" else "hybrid"
                params = {"query": f"{other} spell", "packs": [other], "limit": 500, "mode": mode}
                check_hits(call("d5e/search", params)["hits"], tally, who)
            elif op == "list":
                check_listing(call("d5e/packs/list", None)["packs"], tally, who)
            else:
                call("d5e/complete", {"prefix": f"{other} spell 01", "limit": 20})
        except (RpcError, AssertionError) as exc:
            tally.problem(f"{who} {op}: {exc}")
    tally.count(f"final:{who}:" + ",".join(p for p, on in sorted(installed.items()) if on))


def cli_actor(db: Path, folders: dict[str, Path], tally: Tally, seed: int) -> None:
    rng = random.Random(seed)
    installed = dict.fromkeys(OWNERS["cli"], False)

    def d5e(*argv: str) -> Any:
        tally.count(f"cli {argv[0]}{' ' + argv[1] if argv[0] == 'packs' else ''}")
        done = FORKS.d5e(*argv, "--db", str(db), "--json")  # a process of its own, forked
        if done.returncode != 0:
            tally.problem(f"cli {' '.join(argv)}: {done.stderr.strip() or done.stdout.strip()}")
            return None
        return json.loads(done.stdout)

    for _ in range(OPS_OF_THE_CLI):
        op = rng.choice(["toggle", "toggle", "lookup", "search", "list"])
        mine = rng.choice(OWNERS["cli"])
        other = rng.choice([p for ps in OWNERS.values() for p in ps])
        if op == "toggle":
            if installed[mine]:
                d5e("packs", "remove", mine)
            else:
                d5e("packs", "install", str(folders[mine]))
            installed[mine] = not installed[mine]
        elif op == "lookup":
            result = d5e("lookup", "spells/fireball")
            if result is not None and result["entry"]["name"] != "Fireball":
                tally.problem("cli lookup: not Fireball")
        elif op == "search":
            result = d5e(
                "search", f"{other} spell", "--pack", other, "--limit", "500", "--mode", "keyword"
            )
            if result is not None:
                check_hits(result["hits"], tally, "cli")
        else:
            result = d5e("packs", "list")
            if result is not None:
                check_listing(result["packs"], tally, "cli")
    tally.count("final:cli:" + ",".join(p for p, on in sorted(installed.items()) if on))


@pytest.mark.slow
def test_daemons_and_cli_processes_mixing_installs_removals_lookups_and_searches(
    indexed_db: Path, tmp_path: Path
) -> None:
    """Three daemons (three profiles, background indexing on) and a CLI process at a time, each
    doing a fixed list of operations (seeded) on one database: zero errors, every pack whole
    or absent in every reading, each actor sees its own changes at once, and at the end every
    pack holds exactly what its owner left, winners equal a full re-resolution, and no vector,
    attribute or passage is left over from a removed entry. On the indexed SRD copy: the
    indexers still run beside the actors (each pack installed is indexed, and campaign-b's
    profile indexes the 2024 SRD's winners), not the whole SRD's first index again."""
    folders = {p: small_pack(tmp_path / "packs", p) for ps in OWNERS.values() for p in ps}
    tally = Tally()
    daemons = {who: Daemon(indexed_db) for who in ("a", "b", "c")}
    try:
        daemons["a"].initialize()
        daemons["b"].initialize({"edition": "2024", "profile": "campaign-b"})
        daemons["c"].initialize({"profile": "campaign-c", "disabled": ["srd-2024"]})
        actors = [
            threading.Thread(target=daemon_actor, args=(d, who, folders, tally, seed))
            for seed, (who, d) in enumerate(daemons.items())
        ]
        actors.append(threading.Thread(target=cli_actor, args=(indexed_db, folders, tally, 9)))
        for actor in actors:
            actor.start()
        for actor in actors:
            actor.join(timeout=300)
        assert not any(actor.is_alive() for actor in actors), "an actor hung"
        assert tally.problems == []
    finally:
        for d in daemons.values():
            d.close()
    final = {k.split(":")[1]: k.split(":")[2] for k in tally.operations if k.startswith("final:")}
    expected = {p for who in OWNERS for p in final[who].split(",") if p}

    conn = db.connect(indexed_db, migrate_now=False)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        counts = dict(conn.execute("SELECT pack_id, count(*) FROM entry GROUP BY pack_id"))
        assert {p for p in counts if p.startswith("p")} == expected
        assert all(counts[p] == PACK_SIZE for p in expected)
        assert conn.execute(
            "SELECT count(*) FROM (SELECT 1 FROM entry GROUP BY pack_id, collection, slug "
            "HAVING count(*) > 1)"
        ).fetchone() == (0,)
        check_derived_rows(conn)  # winners, and no leftovers of removed entries
    finally:
        conn.close()
    done = {k: n for k, n in tally.operations.items() if not k.startswith("final:")}
    print(f"\nconcurrency: {sum(done.values())} operations: {done}; packs left: {final}")


# -- the indexer and a writer at the same time ------------------------------------------------


class WriterMeanwhile(FakeEmbedder):
    """While the first batch is being embedded, another writer changes the database."""

    def __init__(self, change: Any) -> None:
        super().__init__()
        self.change = change

    def embed_many(
        self, texts: Sequence[str], pause: Callable[[], None] | None = None
    ) -> list[bytes]:
        if self.calls == 0:
            self.change()
        return super().embed_many(texts, pause)


def brew_app(db_path: Path, tmp_path: Path) -> tuple[App, Path]:
    app = App(build({"db": str(db_path), "builtinPacks": []}))
    app.start()
    spells = [{"name": f"Brew {i:03d}", "desc": f"Brew lore {i}."} for i in range(100)]
    folder = write_pack(tmp_path / "brew", {"spells/all.json": json.dumps(spells)})
    app.db.write(partial(app.library.install_path, path=folder))
    app.library.sync_profile()
    return app, folder


def test_a_pack_removed_while_its_entries_are_embedded_leaves_no_vectors(
    tmp_path: Path,
) -> None:
    """The indexer reads a batch, embeds it (seconds with the real model), then saves: a pack
    removed meanwhile got passages, vectors and index marks for entries that no longer exist
    (whose ids the next install reuses)."""
    app, _ = brew_app(tmp_path / "d5e.sqlite3", tmp_path)
    try:
        remove = partial(packs.remove, pack_id="brew", then=app.library.update_profile)
        app.search = app.search_index(WriterMeanwhile(lambda: app.db.write(remove)))
        app.search.build()
        check_derived_rows(app.conn)
        assert app.conn.execute("SELECT count(*) FROM passage").fetchone() == (0,)
    finally:
        app.close()


def test_an_entry_changed_while_it_is_embedded_is_indexed_again_with_its_new_text(
    tmp_path: Path,
) -> None:
    app, folder = brew_app(tmp_path / "d5e.sqlite3", tmp_path)
    try:
        spells = [{"name": f"Brew {i:03d}", "desc": f"Changed lore {i}."} for i in range(100)]
        (folder / "spells" / "all.json").write_text(json.dumps(spells))
        upgrade = partial(app.library.install_path, path=folder)
        app.search = app.search_index(WriterMeanwhile(lambda: app.db.write(upgrade)))
        assert app.search.build().ready
        texts = [row[0] for row in app.conn.execute("SELECT text FROM passage")]
        assert len(texts) == 100 and all("Changed lore" in t for t in texts), texts[:3]
        check_derived_rows(app.conn)
    finally:
        app.close()


def _indexed(log: Path) -> list[int]:
    """The entries each finished run of a daemon's indexer embedded, from its log."""
    return [int(n) for n in re.findall(r"indexed (\d+) entries in", log.read_text())]


def _until_indexed(d: Daemon, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        index: dict[str, Any] = d.request("d5e/status", timeout=30)["index"]
        if index["ready"] and not index["running"]:
            return index
        assert time.monotonic() < deadline, index
        time.sleep(0.2)


def _daemon(db_path: Path, folder: Path, name: str) -> tuple[Daemon, Path]:
    """`d5e serve` logging at info to `folder/NAME.log`, with a vector cache of its own (what
    one embeds the other does not find there)."""
    log = folder / f"{name}.log"
    with log.open("wb") as err:
        env = {"D5E_LOG_LEVEL": "info", "XDG_CACHE_HOME": str(folder / f"{name}-cache")}
        return Daemon(db_path, env=env, stderr=err.fileno()), log


def _until_logged(log: Path, text: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while text not in log.read_text():
        assert time.monotonic() < deadline, f"{log.name} never said {text!r}"
        time.sleep(0.1)


def _lock_holder(db_path: Path) -> subprocess.Popen[bytes]:
    """Another process holding the database's index lock, as a daemon mid-run does."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, sys, time\n"
            "lock = open(sys.argv[1], 'a'); fcntl.flock(lock, fcntl.LOCK_EX)\n"
            "print('held', flush=True); time.sleep(600)",
            f"{db_path}-index-lock",
        ],
        stdout=subprocess.PIPE,
    )
    assert holder.stdout is not None and holder.stdout.readline() == b"held\n"
    return holder


def test_two_daemons_on_one_database_index_it_once_and_both_search_it(
    db_path: Path, tmp_path: Path
) -> None:
    """A daemon per campaign on one D5E_HOME database. Another process holds the index lock,
    as a daemon mid-run does, and is killed: nothing stays blocked; of the two daemons that
    waited for it, one indexes and the other then finds nothing left (was: both embedded and
    wrote every entry, side by side), and both search by meaning."""
    holder = _lock_holder(db_path)
    try:
        (a, a_log), (b, b_log) = (_daemon(db_path, tmp_path, n) for n in ("a", "b"))
        with a, b:
            for d in (a, b):
                d.initialize()
            for log in (a_log, b_log):
                _until_logged(log, "waiting for it")
            for d in (a, b):
                index = d.request("d5e/status", timeout=30)["index"]
                assert index["indexed"] == 0 and not index["ready"], index
            holder.kill()  # the kernel lets go of its lock
            states = [_until_indexed(d) for d in (a, b)]
            assert states[0]["indexed"] == states[1]["indexed"] == states[0]["entries"] > 1500
            for d in (a, b):
                query = {"query": "a ball of flame", "limit": 5}
                result = d.request("d5e/search", query, timeout=30)
                assert result["semantic"] is True
                assert "spells/fireball" in [hit["ref"] for hit in result["hits"]]
        runs = {"a": _indexed(a_log), "b": _indexed(b_log)}
        assert sorted(runs["a"] + runs["b"]) == [0, states[0]["entries"]], runs
    finally:
        holder.kill()
        holder.wait()


def test_d5e_index_says_it_waits_for_another_indexer(indexed_db: Path) -> None:
    """`d5e index` while another process (a daemon) held the index lock showed only its
    progress bar, with no total nor message, until the lock was free: it says so now, on
    stderr, and indexes once the other is done."""
    holder = _lock_holder(indexed_db)
    try:
        index = subprocess.Popen(
            [sys.executable, "-m", "d5e_daemon", "index", "--db", str(indexed_db)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=indexed_db.parent,
        )
        assert index.stderr is not None
        ready, _, _ = select.select([index.stderr], [], [], 60)
        assert ready, "d5e index said nothing while it waited"
        said = index.stderr.readline().decode()
        assert said == (
            f"d5e: another process is indexing {indexed_db}; waiting for it to finish, then "
            "indexing what it left\n"
        )
        assert index.poll() is None  # still waiting
        holder.kill()
        out, _ = index.communicate(timeout=120)
        assert index.returncode == 0
        assert b"indexed (ready)" in out
    finally:
        holder.kill()
        holder.wait()
