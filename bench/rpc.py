"""Daemon speed and name-matching quality, measured over real stdio.

    .venv/bin/python bench/rpc.py [--starts 15] [--requests 2000] [--json bench/results/rpc.json]

Reports: time from spawn to the `initialize` result (a fresh process each time, on a database
that already holds the SRD); p50/p99 round-trip of `d5e/lookup` and `d5e/complete` over many
requests; recall@1/@5 of `d5e/complete` on `../shared/eval/lookup-dev.jsonl`.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from driver import Daemon, machine, row, save, summary

EVAL = Path(__file__).resolve().parents[2] / "shared" / "eval" / "lookup-dev.jsonl"
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


def timed(daemon: Daemon, method: str, params_list: list[dict[str, Any]], n: int) -> list[float]:
    times = []
    for i in range(n):
        t = time.perf_counter()
        daemon.request(method, params_list[i % len(params_list)])
        times.append((time.perf_counter() - t) * 1000)
    return times


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--starts", type=int, default=15)
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--eval", type=Path, default=EVAL)
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "d5e.sqlite3"
        first = Daemon(db)
        first.initialize()  # builds the database on the SRD
        first.close()

        starts = []
        for _ in range(args.starts):
            d = Daemon(db)
            starts.append(d.initialize() * 1000)
            d.close()

        d = Daemon(db)
        d.initialize()
        timed(d, "d5e/lookup", LOOKUPS, 200)  # warm-up
        lookup = timed(d, "d5e/lookup", LOOKUPS, args.requests)
        complete = timed(d, "d5e/complete", [{"prefix": p} for p in PREFIXES], args.requests)

        ranks = []
        for line in args.eval.read_text().splitlines():
            q = json.loads(line)
            items = d.request("d5e/complete", {"prefix": q["query"], "limit": 10})["items"]
            refs = [i["ref"] for i in items]
            ranks.append(next((i + 1 for i, r in enumerate(refs) if r in q["relevant"]), None))
        d.close()

    figures = {
        "machine": machine(),
        "initialize_ms": summary(starts),
        "lookup_ms": summary(lookup),
        "complete_ms": summary(complete),
        "names": {
            "n": len(ranks),
            "recall@1": sum(r == 1 for r in ranks) / len(ranks),
            "recall@5": sum(r is not None and r <= 5 for r in ranks) / len(ranks),
        },
    }
    print(f"machine: {figures['machine']}")
    print(f"{'measure':<28} {'p50':>9} {'p99':>9} {'min':>9} {'max':>9} {'n':>6}")
    for key, label in (
        ("initialize_ms", "spawn → initialize (ms)"),
        ("lookup_ms", "d5e/lookup (ms)"),
        ("complete_ms", "d5e/complete (ms)"),
    ):
        print(row(label, figures[key]))
    n = figures["names"]
    print(
        f"name matching on {args.eval.name} (n={n['n']}): "
        f"recall@1 {n['recall@1']:.3f}, recall@5 {n['recall@5']:.3f}"
    )
    save(args.json, figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
