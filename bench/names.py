"""Name matching quality: recall@1, recall@5 and MRR of `d5e/complete` on an eval set.

    .venv/bin/python bench/names.py [--eval FILE] [--synthetic 300] [-v] [--json FILE]

A query counts as found at rank k when any of its relevant refs is among the first k items.
`--synthetic N` adds N queries made from random SRD names of the main collections with one or two
random typos (deterministic seed): a check that the matching generalises beyond the eval set.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import string
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

from driver import Figures, add_eval_dir, eval_set

from d5e_daemon.app import App
from d5e_daemon.features.complete import complete
from d5e_daemon.protocol import CompleteParams
from d5e_daemon.settings import build


def typo(word: str, rng: random.Random) -> str:
    i = rng.randrange(len(word))
    letter = rng.choice(string.ascii_lowercase)
    kind = rng.choice(["drop", "add", "swap", "replace"])
    if kind == "drop" and len(word) > 3:
        return word[:i] + word[i + 1 :]
    if kind == "add":
        return word[:i] + letter + word[i:]
    if kind == "swap" and i < len(word) - 1:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    return word[:i] + letter + word[i + 1 :]


def synthetic(app: App, n: int, seed: int = 5) -> list[dict[str, object]]:
    rng = random.Random(seed)
    rows = list(
        app.conn.execute(
            "SELECT collection, slug, name FROM entry WHERE pack_id = 'srd-2014' AND collection IN "
            "('spells', 'monsters', 'magic-items', 'equipment', 'conditions') ORDER BY id"
        )
    )
    out: list[dict[str, object]] = []
    for collection, slug, name in rng.sample(rows, n):
        query = name.lower()
        for _ in range(rng.choice([1, 1, 2])):
            query = typo(query, rng)
        out.append({"query": query, "relevant": [f"{collection}/{slug}"], "type": "synthetic"})
    return out


def ranks_by_type(
    app: App, queries: list[dict[str, Any]], verbose: bool = False
) -> dict[str, list[int | None]]:
    """The rank of each query's first relevant item in `d5e/complete` (top 10), by query type."""
    ranks: dict[str, list[int | None]] = defaultdict(list)
    for q in queries:
        items = complete(app, CompleteParams(prefix=q["query"], limit=10)).items
        refs = [i.ref for i in items]
        rank = next((i + 1 for i, r in enumerate(refs) if r in q["relevant"]), None)
        ranks[q["type"]].append(rank)
        ranks["all"].append(rank)
        if verbose and rank != 1:
            miss = f"{q.get('id', '-')} {q['query']!r}: rank {rank}; got {refs[:5]}"
            print(miss, file=sys.stderr)
    return ranks


def table(ranks: dict[str, list[int | None]]) -> tuple[list[str], list[list[Any]]]:
    rows: list[list[Any]] = []
    for kind, rs in sorted(ranks.items(), key=lambda kv: (kv[0] != "all", kv[0])):
        r1 = sum(r == 1 for r in rs) / len(rs)
        r5 = sum(r is not None and r <= 5 for r in rs) / len(rs)
        mrr = statistics.fmean(1 / r if r else 0.0 for r in rs)
        rows.append([kind, len(rs), r1, r5, mrr])
    return ["query type", "n", "recall@1", "recall@5", "MRR@10"], rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--eval", type=Path, help="default: lookup-dev.jsonl (--eval-dir)")
    add_eval_dir(ap)
    ap.add_argument("--db", help="database to use (default: a fresh one in a temp dir)")
    ap.add_argument("--synthetic", type=int, default=0, help="add N generated typo queries")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every miss")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    args.eval = args.eval or eval_set("lookup-dev.jsonl")
    queries = [json.loads(line) for line in args.eval.read_text().splitlines() if line.strip()]
    figures = Figures(
        "names",
        "Name matching quality (`bench/names.py`)",
        f"bench/names.py --synthetic {args.synthetic}",
    )
    with tempfile.TemporaryDirectory() as tmp:
        app = App(build({"db": args.db or str(Path(tmp) / "d5e.sqlite3")}))
        app.start()
        queries += synthetic(app, args.synthetic)
        ranks = ranks_by_type(app, queries, args.verbose)
        app.close()
    header, rows = table(ranks)
    title = f"`d5e/complete` on {args.eval.name} + {args.synthetic} typo queries"
    figures.table(title, header, rows)
    figures.save(args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
