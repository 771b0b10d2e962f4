"""Search quality on the dev set: recall@1/@5/@10 and MRR@10 for keyword, semantic and hybrid.

    .venv/bin/python bench/quality.py [--eval ../shared/eval/search-dev.jsonl] [-v] [--json F]

Builds a database on the SRD in a temporary folder, indexes it with the real model (vectors come
from the user's vector cache when they are already there), then asks `d5e/search`'s function
every query of the eval set in each mode. `-v` adds the figures per query type and the rank of
every query that missed the top 5 in hybrid mode.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from driver import Figures

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from d5e_daemon.app import App  # noqa: E402
from d5e_daemon.features.search import search  # noqa: E402
from d5e_daemon.protocol import SearchParams  # noqa: E402
from d5e_daemon.settings import build  # noqa: E402

EVAL = REPO.parent / "shared" / "eval" / "search-dev.jsonl"
MODES = ("keyword", "semantic", "hybrid")


def rank_of(refs: list[str], relevant: list[str]) -> int | None:
    return next((i + 1 for i, ref in enumerate(refs) if ref in relevant), None)


def figures_of(ranks: list[int | None]) -> dict[str, float]:
    n = len(ranks) or 1
    return {
        "n": len(ranks),
        "recall@1": sum(r == 1 for r in ranks) / n,
        "recall@5": sum(r is not None and r <= 5 for r in ranks) / n,
        "recall@10": sum(r is not None and r <= 10 for r in ranks) / n,
        "mrr@10": sum(1 / r for r in ranks if r is not None and r <= 10) / n,
    }


def evaluate(app: App, queries: list[dict[str, Any]]) -> dict[str, list[int | None]]:
    ranks: dict[str, list[int | None]] = {mode: [] for mode in MODES}
    for q in queries:
        for mode in MODES:
            result = search(app, SearchParams(query=q["query"], limit=10, mode=mode))  # type: ignore[arg-type]
            ranks[mode].append(rank_of([h.ref for h in result.hits], q["relevant"]))
    return ranks


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--eval", type=Path, default=EVAL)
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    queries = [json.loads(line) for line in args.eval.read_text().splitlines() if line.strip()]
    figures = Figures("quality", "Search quality (`bench/quality.py`)", "bench/quality.py")
    with tempfile.TemporaryDirectory() as tmp:
        app = App(build({"db": str(Path(tmp) / "d5e.sqlite3")}))
        app.start()
        started = time.perf_counter()
        state = app.search.build()
        seconds = time.perf_counter() - started
        print(f"indexed {state.indexed} entries in {seconds:.1f} s", file=sys.stderr)
        ranks = evaluate(app, queries)
        app.close()

    report = {mode: figures_of(r) for mode, r in ranks.items()}
    header = ["mode", "recall@1", "recall@5", "recall@10", "MRR@10"]
    rows = [
        [mode, f["recall@1"], f["recall@5"], f["recall@10"], f["mrr@10"]]
        for mode, f in report.items()
    ]
    figures.table(f"{args.eval.name}: {len(queries)} queries, profile 2014", header, rows)
    kinds = sorted({q.get("type", "?") for q in queries})
    rows = []
    for kind in kinds:
        idx = [i for i, q in enumerate(queries) if q.get("type", "?") == kind]
        rows.append(
            [kind, len(idx)]
            + [figures_of([ranks[mode][i] for i in idx])["recall@5"] for mode in MODES]
        )
    figures.table("recall@5 by query type", ["type", "n", *MODES], rows)
    if args.verbose:
        for i, q in enumerate(queries):
            r = ranks["hybrid"][i]
            if r is None or r > 5:
                got = {m: ranks[m][i] for m in MODES}
                print(f"  miss {q['id']} {got} {q['query']!r} -> {q['relevant'][0]}")
    figures.save(args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
