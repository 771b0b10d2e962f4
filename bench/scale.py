"""Scale: the SRD alone, and with generated homebrew packs of 10,000 and 100,000 entries.

    .venv/bin/python bench/scale.py [--sizes 0,10000,100000] [--runs 3] [--cold-runs 3]
                                    [--cold-runs-large 1] [--json bench/results/scale.json]

For each size (0: the SRD alone; the profile is the 2014 SRD, 2,300 entries, plus the pack):
1. database: both SRD packs installed, then the generated pack (`bench/brew.py`, seed 5:
   realistic names, field sizes and texts), installed with `d5e packs install`;
2. index build over real stdio: a daemon with the real model indexes in the background; the
   time from spawn until `d5e/status` says ready, and its peak RSS (VmHWM). "Cold": an empty
   vector cache, every passage embedded (`--cold-runs`, `--cold-runs-large` for 100,000, whose
   cold build takes most of an hour); "from cache": another copy of the database indexed with
   the vector cache the cold run filled (`--runs`), which is what a second database, a
   reinstall or a changed profile costs;
3. each run (`--runs`), on the indexed database: spawn → `initialize` result (10 fresh
   processes); idle RSS (after `initialize` and 200 lookups and completions, before
   `initialized`, which starts the background indexer and loads the model); then p50/p99 of
   `d5e/lookup`, `d5e/complete` (keystroke by keystroke over 12 names, and typos), hybrid and
   keyword `d5e/search` over the 60 queries of ../shared/eval/search-dev.jsonl (after one
   untimed pass), RSS with the model loaded; pipelined lookups on one connection (req/s); 8
   clients (8 daemons on the database, as 8 editors) sending lookups at once;
4. the database's size, by part;
5. vector layouts and their recall against exact search (`bench/vectors.py`).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import apsw
import vectors
from brew import PACK_ID, generate, sample
from driver import (
    RESULTS,
    Daemon,
    Figures,
    add_eval_dir,
    compile_sources,
    eval_set,
    memory,
    timed_requests,
)
from rpc import LOOKUPS, PREFIXES

REPO = Path(__file__).resolve().parents[1]
SEED = 5
TYPED_NAMES = ["Fireball", "Magic Missile", "Gelatinous Cube", "Bag of Holding", "Cure Wounds"]
CLIENTS = 8


def label(size: int) -> str:
    return "SRD 2014 alone" if size == 0 else f"SRD + {size:,} entries"


def cli(*args: str, env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "d5e_daemon", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def generated_pack(size: int) -> Path:
    """The generated pack of `size` entries, made once and kept in bench/results/packs."""
    folder = RESULTS / "packs" / f"{PACK_ID}-{size}-seed{SEED}"
    if not (folder / ".complete").exists():
        shutil.rmtree(folder, ignore_errors=True)
        started = time.perf_counter()
        generate(folder, size, SEED)
        (folder / ".complete").write_text(f"{time.perf_counter() - started:.1f} s\n")
    return folder / PACK_ID


def build_database(folder: Path, size: int, figures: Figures, section: str) -> Path:
    path = folder / "d5e.sqlite3"
    env = {"XDG_CACHE_HOME": str(folder / "scratch-cache")}
    cli("status", "--db", str(path), env=env)  # creates it, with both SRD packs
    if size:
        pack = generated_pack(size)
        started = time.perf_counter()
        cli("packs", "install", str(pack), "--db", str(path), env=env)
        seconds = time.perf_counter() - started
        figures.value(section, "install of the pack (`d5e packs install`)", seconds, "s")
    return path


def wait_index(daemon: Daemon, poll: float) -> dict[str, Any]:
    """`d5e/status` until the index is ready and its run over."""
    while True:
        index: dict[str, Any] = daemon.request("d5e/status")["index"]
        if index["ready"] and not index["running"] and index["modelLoaded"]:
            return index
        time.sleep(poll)


def index_build(db: Path, cache: Path, poll: float) -> tuple[float, float, dict[str, Any]]:
    """Seconds from spawn until indexed, peak RSS (MB), the final index state."""
    with Daemon(db, env={"XDG_CACHE_HOME": str(cache)}) as daemon:
        daemon.initialize()
        index = wait_index(daemon, poll)
        seconds = time.perf_counter() - daemon.started
        peak = memory(daemon.proc.pid)["VmHWM"]
    return seconds, peak, index


def completion_prefixes(names: list[str]) -> list[dict[str, Any]]:
    """What an editor asks while a name is typed: every prefix, then the typos of rpc.py."""
    typed = [name.lower()[:n] for name in names for n in range(1, min(len(name), 12) + 1)]
    return [{"prefix": p} for p in typed + PREFIXES]


def pipelined(daemon: Daemon, params: list[dict[str, Any]], n: int) -> float:
    """Requests per second when `n` lookups are written without waiting for answers."""
    started = time.perf_counter()
    sender = threading.Thread(
        target=lambda: [daemon.send("d5e/lookup", params[i % len(params)]) for i in range(n)]
    )
    sender.start()
    answered = 0
    while answered < n:
        if "id" in daemon.receive(timeout=60):
            answered += 1
    sender.join()
    return n / (time.perf_counter() - started)


def concurrent_clients(
    db: Path, env: dict[str, str], params: list[dict[str, Any]], n: int
) -> tuple[float, list[float]]:
    """`CLIENTS` daemons on one database, each sent `n` lookups at once: req/s, latencies."""
    daemons = [Daemon(db, env=env) for _ in range(CLIENTS)]
    try:
        for d in daemons:
            d.initialize()
        for d in daemons:  # their model loads are over before the clock starts
            wait_index(d, 0.2)
        times: list[list[float]] = [[] for _ in daemons]
        gate = threading.Barrier(CLIENTS + 1)

        def work(i: int) -> None:
            gate.wait()
            times[i] = timed_requests(daemons[i], "d5e/lookup", params[i:] + params[:i], n)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(CLIENTS)]
        for t in threads:
            t.start()
        gate.wait()
        started = time.perf_counter()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started
    finally:
        for d in daemons:
            d.close()
    return CLIENTS * n / elapsed, [x for ts in times for x in ts]


def requests_run(
    db: Path,
    cache: Path,
    lookups: list[dict[str, Any]],
    prefixes: list[dict[str, Any]],
    searches: list[str],
    figures: Figures,
    name: str,
) -> None:
    env = {"XDG_CACHE_HOME": str(cache)}
    starts = []
    for _ in range(10):
        with Daemon(db, env=env) as d:
            starts.append(d.initialize(initialized=False) * 1000)
    figures.latency(f"{name}: over stdio", "spawn → `initialize` result", starts)
    with Daemon(db, env=env) as d:
        d.initialize(initialized=False)
        timed_requests(d, "d5e/lookup", lookups, 100)
        timed_requests(d, "d5e/complete", prefixes, 100)
        idle = memory(d.proc.pid)
        d.send("initialized", {}, notify=True)
        wait_index(d, 0.2)
        lookup = timed_requests(d, "d5e/lookup", lookups, 1000)
        complete = timed_requests(d, "d5e/complete", prefixes, 1000)
        hybrid_params = [{"query": q, "limit": 10} for q in searches]
        keyword_params = [{"query": q, "limit": 10, "mode": "keyword"} for q in searches]
        timed_requests(d, "d5e/search", hybrid_params, len(searches))  # untimed pass
        hybrid = timed_requests(d, "d5e/search", hybrid_params, 2 * len(searches))
        keyword = timed_requests(d, "d5e/search", keyword_params, 2 * len(searches))
        loaded = memory(d.proc.pid)
        rate = pipelined(d, lookups, 2000)
    section = f"{name}: over stdio"
    figures.latency(section, "`d5e/lookup`", lookup)
    figures.latency(section, "`d5e/complete`", complete)
    figures.latency(section, "hybrid `d5e/search`", hybrid)
    figures.latency(section, "keyword `d5e/search`", keyword)
    section = f"{name}: throughput"
    figures.value(section, "pipelined lookups, one connection", rate, "req/s")
    rate, times = concurrent_clients(db, env, lookups, 250)
    figures.value(section, f"{CLIENTS} clients (daemons) at once, lookups in all", rate, "req/s")
    figures.latency(section, f"lookup round trip with {CLIENTS} clients at once", times)
    section = f"{name}: memory"
    figures.value(section, "idle RSS, before the model loads", idle["VmRSS"], "MB")
    figures.value(section, "idle RSS: anonymous (heap)", idle["RssAnon"], "MB")
    figures.value(section, "idle RSS: mapped database pages", idle["RssFile"], "MB")
    figures.value(section, "RSS after the requests, model loaded", loaded["VmRSS"], "MB")


PARTS = {
    "entries (records, names, resolution)": ("entry", "sqlite_autoindex_entry", "resolved", "pack"),
    "keyword index (FTS5 over the index texts)": ("entry_text",),
    "name indexes (FTS5 words and trigrams)": ("name_words", "name_trigrams"),
    "passages (text)": ("passage", "sqlite_autoindex_passage"),
    "passage vectors (float32)": ("passage_vector",),
    "passage codes (bits)": ("passage_code",),
    "filter attributes and index state": ("entry_attr", "entry_index"),
}


def database_parts(db: Path) -> dict[str, float]:
    """MB of the database by part (SQLite's dbstat); a table goes to its longest prefix."""
    conn = apsw.Connection(f"file:{db}?mode=ro", flags=apsw.SQLITE_OPEN_URI | 1)
    try:
        rows = conn.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name").fetchall()
    except apsw.SQLError:
        return {}
    finally:
        conn.close()
    sizes: dict[str, float] = {}
    for table, size in rows:
        matches = [(len(p), g) for g, prefixes in PARTS.items() for p in prefixes
                   if table.startswith(p)]  # fmt: skip
        group = max(matches)[1] if matches else "other"
        sizes[group] = sizes.get(group, 0) + size / 1e6
    return sizes


def request_params(size: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The lookups and completion prefixes sent at `size`: SRD names and the pack's."""
    brew = sample(generated_pack(size), 12) if size else []
    lookups = [*LOOKUPS, *({"ref": r} for r, _ in brew[::2])]
    lookups += [{"name": n} for _, n in brew[1::2]]
    return lookups, completion_prefixes(TYPED_NAMES + [n for _, n in brew[:5]])


def measure(size: int, args: argparse.Namespace, searches: list[str], figures: Figures) -> None:
    name = label(size)
    with tempfile.TemporaryDirectory(prefix=f"d5e-bench-scale-{size}-") as tmp:
        folder = Path(tmp)
        print(f"[scale] {name}: building the database", file=sys.stderr, flush=True)
        base = build_database(folder, size, figures, f"{name}: index")
        poll = 0.5 if size <= 10_000 else 2.0
        cache = folder / "cache"
        cold_runs = args.cold_runs if size < 100_000 else args.cold_runs_large
        for run in range(cold_runs):
            print(f"[scale] {name}: cold index {run + 1}/{cold_runs}", file=sys.stderr, flush=True)
            shutil.rmtree(cache, ignore_errors=True)
            db = folder / f"cold-{run}.sqlite3"
            shutil.copy(base, db)
            seconds, peak, index = index_build(db, cache, poll)
            what = "index build, cold (every passage embedded)"
            figures.value(f"{name}: index", what, seconds, "s")
            figures.value(f"{name}: index", "peak RSS, cold index build", peak, "MB")
            db.unlink()
        for run in range(args.runs):
            print(f"[scale] {name}: index from cache {run + 1}", file=sys.stderr, flush=True)
            db = folder / "indexed.sqlite3"
            shutil.copy(base, db)
            seconds, peak, index = index_build(db, cache, poll)
            figures.value(f"{name}: index", "index build from the vector cache", seconds, "s")
            figures.value(f"{name}: index", "peak RSS, index build from cache", peak, "MB")
        conn = apsw.Connection(str(db))
        passages = conn.execute("SELECT count(*) FROM passage").fetchone()[0]  # type: ignore[index]
        conn.close()
        figures.fact(name, f"{index['entries']:,} entries in the profile, {passages:,} passages")
        for part, mb in database_parts(db).items():
            figures.value(f"{name}: database size", part, mb, "MB")
        figures.value(f"{name}: database size", "whole file", db.stat().st_size / 1e6, "MB")

        lookups, prefixes = request_params(size)
        for run in range(args.runs):
            print(f"[scale] {name}: requests {run + 1}/{args.runs}", file=sys.stderr, flush=True)
            requests_run(db, cache, lookups, prefixes, searches, figures, name)
        if args.vectors:
            print(f"[scale] {name}: vector layouts", file=sys.stderr, flush=True)
            layouts = Figures("vectors", "", "")
            vectors.analyze(db, searches, args.runs, layouts)
            figures.merge(layouts, f"{name}: vectors, ")


def targets(figures: Figures, name: str) -> None:
    """The issue's targets, read from the figures of `name` (the largest size)."""

    def p50(section: str, row: str) -> float:
        return statistics.median(r["p50"] for r in figures.sections[section][row].runs)

    def value(section: str, row: str) -> float:
        return statistics.median(r["value"] for r in figures.sections[section][row].runs)

    stdio, memory_ = f"{name}: over stdio", f"{name}: memory"
    checks = [
        ("spawn → `initialize` p50", p50(stdio, "spawn → `initialize` result"), 400, "ms"),
        ("`d5e/complete` p50", p50(stdio, "`d5e/complete`"), 5, "ms"),
        ("hybrid `d5e/search` p50", p50(stdio, "hybrid `d5e/search`"), 30, "ms"),
        ("idle RSS", value(memory_, "idle RSS, before the model loads"), 100, "MB"),
    ]
    for what, got, limit, unit in checks:
        verdict = "met" if got <= limit else "**not met**"
        figures.notes.insert(0, f"target at {name}: {what} {got:.1f} {unit} (≤ {limit}): {verdict}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="0,10000,100000")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--cold-runs", type=int, default=3)
    ap.add_argument("--cold-runs-large", type=int, default=1, help="cold builds at 100,000")
    ap.add_argument("--no-vectors", dest="vectors", action="store_false")
    ap.add_argument("--json", type=Path)
    ap.add_argument(
        "--db",
        type=Path,
        help="only the requests, on this database indexed beforehand, holding the SRD and the "
        "generated pack of the one size given (to measure a change without the cold index; "
        "the daemons use the embedder of D5E_EMBEDDER, the one the index was built with)",
    )
    add_eval_dir(ap)
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    dev = eval_set("search-dev.jsonl").read_text()
    searches = [json.loads(line)["query"] for line in dev.splitlines() if line]
    if args.db:
        (size,) = sizes
        name = f"{label(size)}, requests only ({os.environ.get('D5E_EMBEDDER') or 'real'} model)"
        figures = Figures(
            "scale-requests", f"Scale: {name}", f"bench/scale.py --db … --sizes {size}"
        )
        lookups, prefixes = request_params(size)
        compile_sources()
        for _ in range(args.runs):
            with tempfile.TemporaryDirectory() as cache:
                # one daemon that gets `initialized` saves the code cache (d5e_daemon/codecache.py),
                # as a user's first start does; the timed starts then are a user's later ones
                with Daemon(args.db, env={"XDG_CACHE_HOME": cache}) as d:
                    d.initialize()
                requests_run(args.db, Path(cache), lookups, prefixes, searches, figures, name)
        if size == 100_000:
            targets(figures, name)
        figures.save(args.json)
        return 0
    os.environ.pop("D5E_EMBEDDER", None)  # the real model
    # in this process (bench/vectors.py) the model is prepared once, in a cache of its own
    os.environ["XDG_CACHE_HOME"] = str(RESULTS / "cache")
    compile_sources()
    command = f"bench/scale.py --sizes {args.sizes} --runs {args.runs}"
    figures = Figures("scale", "Scale: 2.3k, 10k and 100k entries (`bench/scale.py`)", command)
    for size in sizes:
        measure(size, args, searches, figures)
    targets(figures, label(max(sizes)))
    figures.save(args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
