"""Hybrid `d5e/search` over stdio, this checkout against an older one, interleaved in one run.

    cd /tmp && /work/wt-X/.venv/bin/python /work/wt-X/bench/latency.py --db PATH \
        [--old CHECKOUT [--old-db PATH]] [--queries 200] [--seed 1] [--json FILE]

PATH: an indexed database (the SRD alone, or SRD + 100,000 generated entries: `bench/scale.py`).
Each daemon gets its own copy of it (a daemon may bring its database up to date), in a temporary
folder beside PATH; both are started from the current directory, which must not be inside a
checkout (`python -m d5e_daemon` run from inside one imports that one whatever PYTHONPATH says):
hence `cd /tmp`. OLD: a checkout or an unpacked `git archive` of an older commit. `--old-db`:
the old daemon's own database, for an old checkout that refuses PATH (a newer schema): made by
that checkout (`d5e status --db F`, then `d5e index --db F`, run with `driver.old_env`'s
environment); its hits are then another database's, and the two are not compared.

Each daemon is initialized (without watching folder packs: not what is measured), waits for its
index, and answers one untimed pass of 20 queries (the
model loaded, the vectors read). Then the queries (the dev and held-out sets, shuffled with
`--seed`, the first `--queries`) are asked of each daemon in turn, the order of the two switching
at each query, and each round trip is timed. Reported per daemon: p50 / p90 / p99 of the round
trips, the daemon's CPU a query (all threads, from /proc), its RSS and peak RSS (VmHWM) after
the run, model loaded, the machine's load before and after; and how many queries the two
answered with other hits (refs in order) or other scores.

On a machine loaded by other work the wall times say little; as root, `chrt -f 5 python
bench/latency.py ...` runs the driver and both daemons real-time (SCHED_FIFO, inherited), ahead
of every other process: a quiet machine's figures for a short run (docs/benchmarks.md, "Search
latency: the twentieth session").
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from driver import Daemon, cpu_seconds, load, memory, old_env, percentile, wait_for_index
from same_hits import queries as all_queries

REPO = Path(__file__).resolve().parents[1]
WARM_UP = 20


def start(db: Path, checkout: Path) -> Daemon:
    here = Path.cwd().resolve()
    if here.is_relative_to(checkout.resolve()) or here.is_relative_to(REPO):
        sys.exit(
            "run from outside the checkouts (cd /tmp): `python -m d5e_daemon` imports the one "
            "it is started in"
        )
    daemon = Daemon(db, env=old_env(checkout))
    # not the folder packs' watcher: a generated pack of 100,000 entries installed from a folder
    # is watched, and its polling took a growing share of a core (0.2 -> 1 s of CPU in 5 s)
    daemon.initialize({"watch": False})
    wait_for_index(daemon)
    # the first hybrid search starts loading the model in the background (keyword hits until
    # it is loaded): wait for it, or the warm-up's searches would not embed anything
    daemon.request("d5e/search", {"query": "fireball", "limit": 1})
    while not daemon.request("d5e/status", {})["index"]["modelLoaded"]:
        time.sleep(0.05)
    return daemon


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", type=Path, required=True)
    ap.add_argument("--old", type=Path, help="an older checkout to compare with")
    ap.add_argument("--old-db", type=Path, help="the old checkout's own database (default: --db)")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--limit", type=int, default=10)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    texts = all_queries()
    random.Random(args.seed).shuffle(texts)
    texts = texts[: args.queries]
    checkouts = {"new": REPO}
    if args.old:
        checkouts = {"old": args.old, "new": REPO}
    with tempfile.TemporaryDirectory(prefix="d5e-latency-", dir=args.db.parent) as tmp:
        daemons: dict[str, Daemon] = {}
        for name, checkout in checkouts.items():
            copy = Path(tmp) / f"{name}.sqlite3"
            shutil.copyfile(args.old_db if name == "old" and args.old_db else args.db, copy)
            daemons[name] = start(copy, checkout)
        try:
            for daemon in daemons.values():
                for text in texts[:WARM_UP]:
                    daemon.request("d5e/search", {"query": text, "limit": args.limit})
            times: dict[str, list[float]] = {name: [] for name in daemons}
            hits: dict[str, list[Any]] = {name: [] for name in daemons}
            cpu = {name: cpu_seconds(d.proc.pid) for name, d in daemons.items()}
            load_before = load()
            names = list(daemons)
            for i, text in enumerate(texts):
                for name in names if i % 2 == 0 else names[::-1]:
                    params = {"query": text, "limit": args.limit, "mode": "hybrid"}
                    started = time.perf_counter()
                    result = daemons[name].request("d5e/search", params)
                    times[name].append((time.perf_counter() - started) * 1000)
                    assert result["semantic"], "hybrid search did not use the vectors"
                    hits[name].append([(h["ref"], h["pack"], h["score"]) for h in result["hits"]])
            load_after = load()
            report: dict[str, Any] = {"db": str(args.db), "queries": len(texts)}
            report["load"] = {"before": load_before, "after": load_after}
            for name, daemon in daemons.items():
                spent = cpu_seconds(daemon.proc.pid) - cpu[name]
                mem = memory(daemon.proc.pid)
                ms = times[name]
                report[name] = {
                    "checkout": str(checkouts[name]),
                    "p50": percentile(ms, 50),
                    "p90": percentile(ms, 90),
                    "p99": percentile(ms, 99),
                    "cpu_ms": spent * 1000 / len(texts),
                    "rss_mb": mem["VmRSS"],
                    "peak_mb": mem["VmHWM"],
                }
            if args.old and not args.old_db:
                old, new = hits["old"], hits["new"]
                report["other_hits"] = sum(
                    [h[:2] for h in a] != [h[:2] for h in b] for a, b in zip(old, new, strict=True)
                )
                report["other_scores"] = sum(a != b for a, b in zip(old, new, strict=True))
        finally:
            for daemon in daemons.values():
                daemon.close()
    print(json.dumps(report, indent=1))
    for name in checkouts:
        r = report[name]
        print(
            f"{name}: p50 / p90 / p99 {r['p50']:.1f} / {r['p90']:.1f} / {r['p99']:.1f} ms, "
            f"CPU {r['cpu_ms']:.1f} ms a query, RSS {r['rss_mb']:.0f} MB (peak {r['peak_mb']:.0f})"
        )
    print(f"load {report['load']['before']} -> {report['load']['after']}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
