"""Name matching quality: recall@1, recall@5 and MRR of `d5e/complete` on an eval set.

    .venv/bin/python bench/names.py [--eval ../shared/eval/lookup-dev.jsonl] [--db PATH] [-v]

A query counts as found at rank k when any of its relevant refs is among the first k items.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

from d5e_daemon.app import App
from d5e_daemon.features.complete import complete
from d5e_daemon.protocol import CompleteParams
from d5e_daemon.settings import build

DEFAULT_EVAL = Path(__file__).resolve().parents[2] / "shared" / "eval" / "lookup-dev.jsonl"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--eval", type=Path, default=DEFAULT_EVAL)
    ap.add_argument("--db", help="database to use (default: a fresh one in a temp dir)")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every miss")
    args = ap.parse_args()
    queries = [json.loads(line) for line in args.eval.read_text().splitlines() if line.strip()]
    with tempfile.TemporaryDirectory() as tmp:
        app = App(build({"db": args.db or str(Path(tmp) / "d5e.sqlite3")}))
        app.start()
        ranks: dict[str, list[int | None]] = defaultdict(list)
        for q in queries:
            items = complete(app, CompleteParams(prefix=q["query"], limit=10)).items
            refs = [i.ref for i in items]
            rank = next((i + 1 for i, r in enumerate(refs) if r in q["relevant"]), None)
            ranks[q["type"]].append(rank)
            ranks["all"].append(rank)
            if args.verbose and rank != 1:
                print(f"{q['id']} {q['query']!r}: rank {rank}; got {refs[:5]}", file=sys.stderr)
        app.close()
    print(f"{'type':<8} {'n':>3} {'R@1':>6} {'R@5':>6} {'MRR@10':>7}")
    for kind, rs in sorted(ranks.items(), key=lambda kv: (kv[0] != "all", kv[0])):
        r1 = sum(r == 1 for r in rs) / len(rs)
        r5 = sum(r is not None and r <= 5 for r in rs) / len(rs)
        mrr = statistics.fmean(1 / r if r else 0.0 for r in rs)
        print(f"{kind:<8} {len(rs):>3} {r1:>6.3f} {r5:>6.3f} {mrr:>7.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
