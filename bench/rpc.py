"""Daemon speed and name-matching quality on the SRD, measured over real stdio.

    .venv/bin/python bench/rpc.py [--runs 3] [--starts 10] [--requests 2000] [--json FILE]

Each run is a fresh daemon on a database that already holds the SRD. Reports: time from spawn
to the `initialize` result (`--starts` fresh processes per run); p50/p99 round-trip of
`d5e/lookup` and `d5e/complete` (`--requests` each per run), of a keyword `d5e/search`
(`--requests` / 10) and of `d5e/packs/disable` + `enable` of srd-2024 (`--toggles` each, every
one rebuilding the profile's winners); recall@1/@5 of `d5e/complete` on
`../shared/eval/lookup-dev.jsonl` (deterministic: one run).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from driver import Daemon, Figures, add_eval_dir, compile_sources, eval_set, timed_requests

LOOKUPS = [
    {"ref": "spells/fireball"},
    {"name": "goblin"},
    {"ref": "monsters/adult-red-dragon"},
    {"name": "bag of holding"},
    {"ref": "conditions/grappled"},
    {"name": "Longsword"},
    {"ref": "srd-2024:monsters/aboleth"},
    {"name": "hunters mark"},
]
SEARCHES = [
    {"query": q, "mode": "keyword"}
    for q in ("fireball", "breathe under water", "undead paralysing claws", "invisible")
]
PREFIXES = [
    "fi",
    "fireb",
    "magic misile",
    "gelatinous cub",
    "sword",
    "adult red",
    "bag of h",
    "cure w",
    "wolf",
    "thaumaturgey",
    "potion of",
    "drag",
]


def name_matching(daemon: Daemon, eval_file: Path) -> tuple[float, float, int]:
    ranks = []
    for line in eval_file.read_text().splitlines():
        q = json.loads(line)
        items = daemon.request("d5e/complete", {"prefix": q["query"], "limit": 10})["items"]
        refs = [i["ref"] for i in items]
        ranks.append(next((i + 1 for i, r in enumerate(refs) if r in q["relevant"]), None))
    n = len(ranks)
    return (
        sum(r == 1 for r in ranks) / n,
        sum(r is not None and r <= 5 for r in ranks) / n,
        n,
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--starts", type=int, default=10)
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--toggles", type=int, default=20)
    ap.add_argument("--eval", type=Path, help="default: lookup-dev.jsonl (--eval-dir)")
    add_eval_dir(ap)
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    args.eval = args.eval or eval_set("lookup-dev.jsonl")
    figures = Figures("rpc", "Daemon speed on the SRD (`bench/rpc.py`)", "bench/rpc.py")
    compile_sources()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "d5e.sqlite3"
        with Daemon(db) as first:
            first.initialize()  # builds the database on the SRD
        for _ in range(args.runs):
            starts = []
            for _ in range(args.starts):
                d = Daemon(db)
                starts.append(d.initialize() * 1000)
                d.close()
            figures.latency("over stdio", "spawn → `initialize` result", starts)
            with Daemon(db) as d:
                d.initialize()
                timed_requests(d, "d5e/lookup", LOOKUPS, 200)  # warm-up
                lookups = timed_requests(d, "d5e/lookup", LOOKUPS, args.requests)
                prefixes = [{"prefix": p} for p in PREFIXES]
                completions = timed_requests(d, "d5e/complete", prefixes, args.requests)
                searches = timed_requests(d, "d5e/search", SEARCHES, args.requests // 10)
                toggles = [{"pack": "srd-2024"}]
                disables, enables = [], []
                for _ in range(args.toggles):
                    disables += timed_requests(d, "d5e/packs/disable", toggles, 1)
                    enables += timed_requests(d, "d5e/packs/enable", toggles, 1)
            figures.latency("over stdio", "`d5e/lookup`", lookups)
            figures.latency("over stdio", "`d5e/complete`", completions)
            figures.latency("over stdio", "`d5e/search` (keyword)", searches)
            figures.latency("over stdio", "`d5e/packs/disable` srd-2024", disables)
            figures.latency("over stdio", "`d5e/packs/enable` srd-2024", enables)
        with Daemon(db) as d:
            d.initialize()
            r1, r5, n = name_matching(d, args.eval)
    section = f"name matching on {args.eval.name} ({n} queries, deterministic)"
    figures.value(section, "recall@1", r1, "")
    figures.value(section, "recall@5", r5, "")
    figures.save(args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
