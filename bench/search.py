"""Search speed and memory, measured on the daemon over real stdio with the real model.

    .venv/bin/python bench/search.py [--runs 2] [--queries 300] [--json FILE]

Each run, on a fresh database and an empty cache folder (nothing embedded before):

1. indexing: seconds from spawn to the SRD 2014 index being ready (the daemon indexes in the
   background after `initialized`), the daemon's peak RSS (VmHWM) meanwhile, and the round-trip
   of `d5e/lookup` and keyword `d5e/search` requests sent all the while;
2. queries: p50/p99 round-trip of hybrid `d5e/search` (query embedding included) over the
   search eval queries, of semantic-only search, and of browsing by filters;
3. memory: the daemon's RSS after those queries, with the model loaded, and idle after a
   restart on the indexed database (the model not loaded until a query needs it);
4. cache: a second database indexed from the same cache folder (nothing embedded again).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from driver import Daemon, Figures, add_eval_dir, compile_sources, eval_set, memory

LOOKUPS = [{"name": "fireball"}, {"ref": "monsters/ghoul"}, {"name": "bag of holding"}]
BROWSE = [
    {"query": "", "filters": {"level": 3, "school": "evocation"}},
    {"query": "", "filters": {"cr": {"min": 5, "max": 8}, "type": "undead"}},
    {"query": "", "filters": {"rarity": "rare", "attunement": True}, "limit": 50},
    {"query": "", "collections": ["conditions"]},
]


def timed(daemon: Daemon, method: str, params: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    result = daemon.request(method, params)
    return (time.perf_counter() - started) * 1000, result


def index_ready(daemon: Daemon) -> dict[str, Any]:
    index: dict[str, Any] = daemon.request("d5e/status")["index"]
    return index


def build_index(db: Path, env: dict[str, str]) -> tuple[Daemon, dict[str, Any]]:
    """Spawn, initialize, and keep asking lookups and keyword searches until the index is ready."""
    daemon = Daemon(db, env=env)
    spawned = daemon.started
    daemon.initialize()
    lookups: list[float] = []
    keyword: list[float] = []
    last_check = 0.0
    index: dict[str, Any] = {}
    i = 0
    while True:
        now = time.perf_counter()
        if now - last_check > 0.25:
            last_check = now
            index = index_ready(daemon)
            if index["ready"] and not index["running"]:
                break
        ms, _ = timed(daemon, "d5e/lookup", LOOKUPS[i % len(LOOKUPS)])
        lookups.append(ms)
        ms, _ = timed(daemon, "d5e/search", {"query": "fire damage", "mode": "keyword"})
        keyword.append(ms)
        i += 1
        time.sleep(0.02)  # a busy writer, not a flood
    return daemon, {
        "seconds": time.perf_counter() - spawned,
        "entries": index["entries"],
        "peak_rss_mb": memory(daemon.proc.pid)["VmHWM"],
        "lookups": lookups,
        "keyword": keyword,
    }


def idle_memory(db: Path, env: dict[str, str]) -> float:
    """VmRSS of a daemon started on a database whose index is complete, once it has checked
    the index and settled: nothing to embed, so the model stays unloaded until a query."""
    with Daemon(db, env=env) as daemon:
        daemon.initialize()
        while True:
            index = index_ready(daemon)
            if index["ready"] and not index["running"]:
                break
            time.sleep(0.25)
        time.sleep(2.0)
        return float(memory(daemon.proc.pid)["VmRSS"])


def run(folder: Path, texts: list[str], queries: int, figures: Figures) -> None:
    env = {"XDG_CACHE_HOME": str(folder / "cache")}
    # The SRD database is built first, in a daemon with another cache folder: installing
    # packs is not what is measured, and its own background indexing fills only that folder.
    for name in ("a.sqlite3", "b.sqlite3"):
        with Daemon(folder / name, env={"XDG_CACHE_HOME": str(folder / "scratch")}) as setup:
            setup.initialize()

    daemon, indexing = build_index(folder / "a.sqlite3", env)
    for q in texts[:10]:  # warm-up
        daemon.request("d5e/search", {"query": q})
    hybrid, semantic, browse = [], [], []
    for i in range(queries):
        ms, result = timed(daemon, "d5e/search", {"query": texts[i % len(texts)], "limit": 10})
        assert result["semantic"], "hybrid search did not use the vectors"
        hybrid.append(ms)
    for i in range(queries // 3):
        q = {"query": texts[i % len(texts)], "mode": "semantic", "limit": 10}
        semantic.append(timed(daemon, "d5e/search", q)[0])
    for i in range(queries // 3):
        browse.append(timed(daemon, "d5e/search", BROWSE[i % len(BROWSE)])[0])
    loaded = memory(daemon.proc.pid)
    daemon.close()
    other, from_cache = build_index(folder / "b.sqlite3", env)
    other.close()
    idle = idle_memory(folder / "a.sqlite3", env)

    figures.fact("entries indexed", f"{indexing['entries']:,}")
    section = "indexing the SRD 2014, real model"
    figures.value(section, "spawn → index ready, empty vector cache", indexing["seconds"], "s")
    figures.value(section, "peak RSS while indexing", indexing["peak_rss_mb"], "MB")
    figures.value(section, "second database, same vector cache", from_cache["seconds"], "s")
    figures.value(section, "RSS afterwards, model loaded", loaded["VmRSS"], "MB")
    figures.value(section, "RSS idle after start on the indexed database", idle, "MB")
    section = "round trips over stdio"
    figures.latency(section, "`d5e/lookup` while indexing", indexing["lookups"])
    figures.latency(section, "keyword `d5e/search` while indexing", indexing["keyword"])
    figures.latency(section, "hybrid `d5e/search` (query embedding included)", hybrid)
    figures.latency(section, "semantic-only `d5e/search`", semantic)
    figures.latency(section, "browsing by filters (empty query)", browse)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--queries", type=int, default=300, help="hybrid queries to time")
    ap.add_argument("--eval", type=Path, help="default: search-dev.jsonl (--eval-dir)")
    add_eval_dir(ap)
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    args.eval = args.eval or eval_set("search-dev.jsonl")
    texts = [json.loads(line)["query"] for line in args.eval.read_text().splitlines() if line]
    os.environ.pop("D5E_EMBEDDER", None)  # the real model
    compile_sources()
    figures = Figures("search", "Search on the SRD (`bench/search.py`)", "bench/search.py")
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            run(Path(tmp), texts, args.queries, figures)
    figures.save(args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
