"""Search speed and memory, measured on the daemon over real stdio with the real model.

    .venv/bin/python bench/search.py [--queries 300] [--json bench/results/search.json]

In one run, on a fresh database and an empty cache folder (nothing embedded before):

1. indexing: seconds from spawn to the SRD 2014 index being ready (the daemon indexes in the
   background after `initialized`), the daemon's peak RSS (VmHWM) meanwhile, and the round-trip
   of `d5e/lookup` and keyword `d5e/search` requests sent all the while;
2. queries: p50/p99 round-trip of hybrid `d5e/search` (query embedding included) over the
   search eval queries, of semantic-only search, and of browsing by filters;
3. memory: the daemon's RSS after those queries, with the model loaded;
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

from driver import Daemon, machine, row, save, summary

EVAL = Path(__file__).resolve().parents[2] / "shared" / "eval" / "search-dev.jsonl"
LOOKUPS = [{"name": "fireball"}, {"ref": "monsters/ghoul"}, {"name": "bag of holding"}]
BROWSE = [
    {"query": "", "filters": {"level": 3, "school": "evocation"}},
    {"query": "", "filters": {"cr": {"min": 5, "max": 8}, "type": "undead"}},
    {"query": "", "filters": {"rarity": "rare", "attunement": True}, "limit": 50},
    {"query": "", "collections": ["conditions"]},
]


def memory(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM (peak) of a process, in MB."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0]) / 1024
    return found


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
    elapsed = time.perf_counter() - spawned
    mem = memory(daemon.proc.pid)
    return daemon, {
        "seconds": elapsed,
        "entries": index["entries"],
        "peak_rss_mb": mem["VmHWM"],
        "lookup_ms_while_indexing": summary(lookups),
        "keyword_ms_while_indexing": summary(keyword),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--queries", type=int, default=300, help="hybrid queries to time")
    ap.add_argument("--eval", type=Path, default=EVAL)
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    texts = [json.loads(line)["query"] for line in args.eval.read_text().splitlines() if line]

    os.environ.pop("D5E_EMBEDDER", None)  # the real model
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        env = {"XDG_CACHE_HOME": str(folder / "cache")}
        # The SRD database is built first, in a daemon with another cache folder: installing
        # packs is not what is measured, and its own background indexing fills only that folder.
        for name in ("a.sqlite3", "b.sqlite3"):
            setup = Daemon(folder / name, env={"XDG_CACHE_HOME": str(folder / "scratch")})
            setup.initialize()
            setup.close()

        daemon, indexing = build_index(folder / "a.sqlite3", env)
        for q in texts[:10]:  # warm-up
            daemon.request("d5e/search", {"query": q})
        hybrid, semantic, browse = [], [], []
        for i in range(args.queries):
            ms, result = timed(daemon, "d5e/search", {"query": texts[i % len(texts)], "limit": 10})
            assert result["semantic"], "hybrid search did not use the vectors"
            hybrid.append(ms)
        for i in range(args.queries // 3):
            q = {"query": texts[i % len(texts)], "mode": "semantic", "limit": 10}
            semantic.append(timed(daemon, "d5e/search", q)[0])
        for i in range(args.queries // 3):
            browse.append(timed(daemon, "d5e/search", BROWSE[i % len(BROWSE)])[0])
        loaded = memory(daemon.proc.pid)
        daemon.close()

        other, from_cache = build_index(folder / "b.sqlite3", env)
        other.close()

    figures = {
        "machine": machine(),
        "index": indexing,
        "index_from_cache_seconds": from_cache["seconds"],
        "hybrid_ms": summary(hybrid),
        "semantic_ms": summary(semantic),
        "browse_ms": summary(browse),
        "rss_model_loaded_mb": loaded["VmRSS"],
        "peak_rss_mb": loaded["VmHWM"],
    }
    print(f"machine: {figures['machine']}")
    print(
        f"SRD 2014 index, cold cache: {indexing['seconds']:.1f} s from spawn to ready "
        f"({indexing['entries']} entries), peak RSS {indexing['peak_rss_mb']:.0f} MB"
    )
    print(f"second database, same cache: {from_cache['seconds']:.1f} s from spawn to ready")
    print(f"{'measure':<28} {'p50':>9} {'p99':>9} {'min':>9} {'max':>9} {'n':>6}")
    print(row("lookup while indexing (ms)", indexing["lookup_ms_while_indexing"]))
    print(row("keyword while indexing (ms)", indexing["keyword_ms_while_indexing"]))
    print(row("hybrid search (ms)", figures["hybrid_ms"]))
    print(row("semantic search (ms)", figures["semantic_ms"]))
    print(row("browse by filters (ms)", figures["browse_ms"]))
    print(
        f"daemon RSS with the model loaded: {loaded['VmRSS']:.0f} MB "
        f"(peak over the whole run {loaded['VmHWM']:.0f} MB)"
    )
    save(args.json, figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
