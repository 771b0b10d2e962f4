"""Search quality on the dev set: recall@1/@5/@10 and MRR@10 for keyword, semantic and hybrid.

    .venv/bin/python bench/quality.py [--eval ../shared/eval/search-dev.jsonl] [-v] [--json F]
        [--heldout FILE...] [--folds] [--passage-tokens 96,128,192] [--db F] [--ranks F]
        [--old CHECKOUT]

Builds a database on the SRD in a temporary folder, indexes it with the real model (vectors come
from the user's vector cache when they are already there), then asks `d5e/search`'s function
every query of the eval set in each mode (`--db`: on a database indexed beforehand instead, such
as the SRD with 100,000 generated entries). `-v` adds the figures per query type and the rank of
every query that missed the top 5 in hybrid mode. The held-out queries (written before looking
at any ranking, never used to choose anything) are measured the same way, each set and all of
them pooled. `--ranks F` writes every query's rank in each mode (set → id → mode → rank, null
outside the top 10), to compare two checkouts query by query.

`--folds` checks the ranking constants against overfitting: for every setting of a small grid
(name weight × keyword weight × coverage weight, and the passage sizes given), it measures
hybrid search on the odd and the even ids of the dev set; the setting that scores best
(recall@5 + MRR@10) on one half is reported on the other half, both ways round, next to the
shipped setting. Several `--passage-tokens` index the SRD once per size (one run each).

`--old CHECKOUT` (a checkout or an unpacked `git archive` of an older commit) measures it too,
first, on the same sets: this script run in a process that imports the old d5e (`driver.run_old`;
not the archive's quality.py run by this venv's Python, which measures this checkout), each on a
database it builds (`--db`: both on that one); then old → new per set and mode. Each side prints
the files its d5e_daemon was imported from.
"""

from __future__ import annotations

import argparse
import itertools
import json
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from driver import Figures, add_eval_dir, eval_set, imported, run_old

from d5e_daemon.app import App
from d5e_daemon.features import search as ranking
from d5e_daemon.protocol import SearchParams
from d5e_daemon.search.builder import PASSAGE_TOKENS
from d5e_daemon.settings import build

REPO = Path(__file__).resolve().parents[1]

HELDOUT = [
    REPO / "bench" / "search-heldout.jsonl",
    REPO / "bench" / "search-heldout-2.jsonl",
    REPO / "bench" / "search-heldout-3.jsonl",
    REPO / "bench" / "search-heldout-4.jsonl",
    REPO / "bench" / "search-heldout-5.jsonl",
    REPO / "bench" / "search-heldout-6.jsonl",
    REPO / "bench" / "search-heldout-7.jsonl",
    REPO / "bench" / "search-heldout-8.jsonl",
    REPO / "bench" / "search-heldout-9.jsonl",
    REPO / "bench" / "search-heldout-10.jsonl",
    REPO / "bench" / "search-heldout-11.jsonl",
    REPO / "bench" / "search-heldout-12.jsonl",
    REPO / "bench" / "search-heldout-13.jsonl",
    REPO / "bench" / "search-heldout-14.jsonl",
    REPO / "bench" / "search-heldout-15.jsonl",
    REPO / "bench" / "search-heldout-16.jsonl",
    REPO / "bench" / "search-heldout-17.jsonl",
    REPO / "bench" / "search-heldout-18.jsonl",
    REPO / "bench" / "search-heldout-19.jsonl",
    REPO / "bench" / "search-heldout-20.jsonl",
    REPO / "bench" / "search-heldout-filters.jsonl",
    REPO / "bench" / "search-heldout-filters-2.jsonl",
]
MODES = ("keyword", "semantic", "hybrid")
# The grid of `--folds`: the ranking constants of features/search.py and values around them.
GRID = {
    "NAME_WEIGHT": (1.0, 2.0, 3.0),
    "KEYWORD_WEIGHT": (0.4, 0.5, 0.6, 0.7),
    "COVERAGE_WEIGHT": (0.0, 1.0, 2.0, 3.0),
}
Ranks = list[int | None]


def rank_of(refs: list[str], relevant: list[str]) -> int | None:
    return next((i + 1 for i, ref in enumerate(refs) if ref in relevant), None)


def figures(ranks: Ranks) -> dict[str, float]:
    n = len(ranks) or 1
    return {
        "n": len(ranks),
        "recall@1": sum(r == 1 for r in ranks) / n,
        "recall@5": sum(r is not None and r <= 5 for r in ranks) / n,
        "recall@10": sum(r is not None and r <= 10 for r in ranks) / n,
        "mrr@10": sum(1 / r for r in ranks if r is not None and r <= 10) / n,
    }


def evaluate(
    app: App, queries: list[dict[str, Any]], modes: tuple[str, ...] = MODES
) -> dict[str, Ranks]:
    ranks: dict[str, Ranks] = {mode: [] for mode in modes}
    for q in queries:
        for mode in modes:
            result = ranking.search(app, SearchParams(query=q["query"], limit=10, mode=mode))  # type: ignore[arg-type]
            ranks[mode].append(rank_of([h.ref for h in result.hits], q["relevant"]))
    return ranks


@contextmanager
def constants(setting: dict[str, float]) -> Iterator[None]:
    """The ranking constants of features/search.py set to `setting` for a while."""
    saved = {name: getattr(ranking, name) for name in setting}
    for name, value in setting.items():
        setattr(ranking, name, value)
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(ranking, name, value)


def measure_rows(report: dict[str, dict[str, float]]) -> tuple[list[str], list[list[Any]]]:
    """`report` (mode → figures) as a header and rows for `Figures.table`."""
    header = ["mode", "recall@1", "recall@5", "recall@10", "MRR@10"]
    keys = ["recall@1", "recall@5", "recall@10", "mrr@10"]
    return header, [[mode, *(f[k] for k in keys)] for mode, f in report.items()]


def by_type(queries: list[dict[str, Any]], ranks: dict[str, Ranks]) -> list[list[Any]]:
    """Rows of recall@5 per query type and mode."""
    rows = []
    for kind in sorted({q.get("type", "?") for q in queries}):
        idx = [i for i, q in enumerate(queries) if q.get("type", "?") == kind]
        rows.append(
            [kind, len(idx)] + [figures([ranks[m][i] for i in idx])["recall@5"] for m in MODES]
        )
    return rows


def halves(queries: list[dict[str, Any]]) -> dict[str, list[int]]:
    """Indexes of the queries with odd and with even ids (`d001` is odd)."""
    number = [int("".join(c for c in q["id"] if c.isdigit())) for q in queries]
    return {
        "odd": [i for i, n in enumerate(number) if n % 2],
        "even": [i for i, n in enumerate(number) if not n % 2],
    }


def sizes_table(by_size: dict[int, dict[str, Ranks]], queries: list[dict[str, Any]]) -> Any:
    """Semantic and hybrid (shipped constants) per passage size: dev, odd and even ids."""
    parts = {"dev": list(range(len(queries))), **halves(queries)}
    out: dict[int, Any] = {}
    print("\npassage size: R@5 / MRR@10 on all, odd, even ids (hybrid with the shipped constants)")
    for size, modes in sorted(by_size.items()):
        out[size] = {
            mode: {p: figures([ranks[i] for i in idx]) for p, idx in parts.items()}
            for mode, ranks in modes.items()
        }
        row = "  ".join(
            f"{mode} "
            + ", ".join(f"{f['recall@5']:.3f}/{f['mrr@10']:.3f}" for f in out[size][mode].values())
            for mode in modes
        )
        print(f"  {size:>4} tokens: {row}")
    return out


def fold_check(
    results: dict[tuple[Any, ...], Ranks], shipped: tuple[Any, ...], queries: list[dict[str, Any]]
) -> dict[str, Any]:
    """Choose the best setting on one half, report it on the other (and the shipped one)."""
    parts = halves(queries)

    def on(setting: tuple[Any, ...], half: str) -> dict[str, float]:
        return figures([results[setting][i] for i in parts[half]])

    def objective(f: dict[str, float]) -> float:
        return f["recall@5"] + f["mrr@10"]

    names = [*GRID, "passage_tokens"]
    out: dict[str, Any] = {"settings": len(results), "folds": []}
    print(f"\n2-fold check over {len(results)} settings (hybrid; chosen by R@5 + MRR@10):")
    for chosen_on, reported_on in (("odd", "even"), ("even", "odd")):
        # ties go to the setting nearest the shipped one, then to the first in the grid
        best = max(
            results,
            key=lambda s: (
                objective(on(s, chosen_on)),
                -sum(a != b for a, b in zip(s, shipped, strict=True)),
            ),
        )
        train, test = on(best, chosen_on), on(best, reported_on)
        described = ", ".join(f"{n} {v:g}" for n, v in zip(names, best, strict=True))
        print(
            f"  chosen on {chosen_on:<4} ids: {described}\n"
            f"    {chosen_on} {train['recall@5']:.3f} / {train['mrr@10']:.3f} (chosen on),"
            f" {reported_on} {test['recall@5']:.3f} / {test['mrr@10']:.3f} (reported)"
        )
        out["folds"].append(
            {
                "chosen_on": chosen_on,
                "setting": dict(zip(names, best, strict=True)),
                "train": train,
                "test": test,
            }
        )
    reported = [f["test"] for f in out["folds"]]
    out["cross_validated"] = {
        k: (reported[0][k] * reported[0]["n"] + reported[1][k] * reported[1]["n"])
        / (reported[0]["n"] + reported[1]["n"])
        for k in ("recall@1", "recall@5", "recall@10", "mrr@10")
    }
    cv = out["cross_validated"]
    print(
        f"  cross-validated (each half reported with the setting chosen on the other):"
        f" R@1 {cv['recall@1']:.3f}  R@5 {cv['recall@5']:.3f}  R@10 {cv['recall@10']:.3f}"
        f"  MRR@10 {cv['mrr@10']:.3f}"
    )
    odd, even = on(shipped, "odd"), on(shipped, "even")
    described = ", ".join(f"{n} {v:g}" for n, v in zip(names, shipped, strict=True))
    print(
        f"  shipped ({described}): odd {odd['recall@5']:.3f} / {odd['mrr@10']:.3f},"
        f" even {even['recall@5']:.3f} / {even['mrr@10']:.3f}"
    )
    out["shipped"] = {"setting": dict(zip(names, shipped, strict=True)), "odd": odd, "even": even}
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--eval", type=Path, help="default: search-dev.jsonl (--eval-dir)")
    add_eval_dir(ap)
    ap.add_argument(
        "--heldout",
        type=Path,
        nargs="*",
        default=HELDOUT,
        help="held-out query files (none: skip them)",
    )
    ap.add_argument("-v", "--verbose", action="store_true", help="list the dev set's misses")
    ap.add_argument(
        "--show-heldout-misses",
        action="store_true",
        help="list the held-out sets' misses too (reading them spends the set)",
    )
    ap.add_argument("--folds", action="store_true", help="2-fold check of the ranking constants")
    ap.add_argument(
        "--passage-tokens",
        default=str(PASSAGE_TOKENS),
        help="passage size(s) in tokens, comma-separated; the first is reported",
    )
    ap.add_argument(
        "--db",
        type=Path,
        help="measure on this database, indexed beforehand with the real model (say the SRD with "
        "bench/scale.py's 100,000 generated entries beside it), instead of a fresh SRD one",
    )
    ap.add_argument("--json", type=Path, help="also write the figures here")
    ap.add_argument("--ranks", type=Path, help="write every query's rank in each mode here")
    ap.add_argument(
        "--old",
        type=Path,
        help="an older checkout (or git archive) measured first, in its own process; with "
        "--ranks, its ranks go to F.old",
    )
    args = ap.parse_args()
    args.eval = args.eval or eval_set("search-dev.jsonl")
    if args.db and (args.folds or "," in args.passage_tokens):
        ap.error("--db measures the database as it is indexed: no --folds, one passage size")
    if args.old and args.folds:
        ap.error("--old compares the shipped settings: no --folds")
    old = measure_old(args) if args.old else None
    print(imported(), flush=True)
    queries = [json.loads(line) for line in args.eval.read_text().splitlines() if line.strip()]
    heldout = {
        path.name: [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        for path in args.heldout
    }
    sizes = [int(n) for n in args.passage_tokens.split(",")]
    shipped = (*(getattr(ranking, name) for name in GRID), sizes[0])
    values = [sorted({*GRID[name], getattr(ranking, name)}) for name in GRID]
    grid = [(*s, size) for size in sizes for s in itertools.product(*values)]
    swept: dict[tuple[Any, ...], Ranks] = {}
    by_size: dict[int, dict[str, Ranks]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        app = App(build({"db": str(args.db or Path(tmp) / "d5e.sqlite3")}))
        app.start()
        for size in reversed(sizes):  # the reported size last: its index is the one left
            app.search.passage_tokens = size
            started = time.perf_counter()
            state = app.search.state() if args.db else app.search.build()
            took = time.perf_counter() - started
            if not state.ready:
                ap.error(f"{args.db}: {state.indexed} of {state.entries} entries indexed")
            print(f"indexed {state.indexed} entries ({size}-token passages) in {took:.1f} s")
            if args.folds:
                for setting in (s for s in grid if s[-1] == size):
                    with constants(dict(zip(GRID, setting[:-1], strict=True))):
                        swept[setting] = evaluate(app, queries, ("hybrid",))["hybrid"]
                by_size[size] = {
                    "semantic": evaluate(app, queries, ("semantic",))["semantic"],
                    "hybrid": swept[(*shipped[:-1], size)],
                }
        ranks = evaluate(app, queries)
        held_ranks = {name: evaluate(app, held) for name, held in heldout.items()}
        entries = state.entries
        app.close()

    report: dict[str, Any] = {mode: figures(r) for mode, r in ranks.items()}
    command = f"bench/quality.py --db {args.db}" if args.db else "bench/quality.py"
    out = Figures("quality", "Search quality (`bench/quality.py`)", command)
    if args.db:
        out.fact("database", f"{args.db}: {entries:,} entries in the profile")
    else:
        out.fact("index build (s)", round(took, 1))
    out.table(f"{args.eval.name}: {len(queries)} queries, profile 2014", *measure_rows(report))
    out.table("recall@5 by query type", ["type", "n", *MODES], by_type(queries, ranks))
    if args.verbose:
        for i, q in enumerate(queries):
            r = ranks["hybrid"][i]
            if r is None or r > 5:
                got = {m: ranks[m][i] for m in MODES}
                print(f"  miss {q['id']} {got} {q['query']!r} -> {q['relevant'][0]}")
    for name, held in heldout.items():
        report[name] = {mode: figures(r) for mode, r in held_ranks[name].items()}
        out.table(f"held out, {name}: {len(held)} queries", *measure_rows(report[name]))
        out.table(
            f"{name}: recall@5 by query type",
            ["type", "n", *MODES],
            by_type(held, held_ranks[name]),
        )
        if args.show_heldout_misses:
            for i, q in enumerate(held):
                got = {m: held_ranks[name][m][i] for m in MODES}
                if got["hybrid"] is None or got["hybrid"] > 5:
                    print(f"  miss {q['id']} {got} {q['query']!r} -> {q['relevant'][0]}")
    if len(heldout) > 1:
        pooled = {m: [r for name in heldout for r in held_ranks[name][m]] for m in MODES}
        report["pooled"] = {mode: figures(r) for mode, r in pooled.items()}
        count = sum(len(held) for held in heldout.values())
        out.table(f"held out, pooled: {count} queries", *measure_rows(report["pooled"]))
    if args.ranks:
        sets = {args.eval.name: (queries, ranks)}
        sets.update({name: (held, held_ranks[name]) for name, held in heldout.items()})
        args.ranks.write_text(
            json.dumps(
                {
                    name: {q["id"]: {m: r[m][i] for m in MODES} for i, q in enumerate(qs)}
                    for name, (qs, r) in sets.items()
                },
                indent=1,
            )
        )
    if args.folds:
        report["passage_sizes"] = sizes_table(by_size, queries)
        report["fold_check"] = fold_check(swept, shipped, queries)
        out.fact("passage sizes", report["passage_sizes"])
        out.fact("fold check", report["fold_check"])
    if old is not None:
        compare(old, out)
    out.save(args.json)
    return 0


def measure_old(args: argparse.Namespace) -> dict[str, Any]:
    """The figures of this script run on the d5e of `args.old` (its JSON)."""
    with tempfile.TemporaryDirectory(prefix="quality-old-") as tmp:
        saved = Path(tmp) / "old.json"
        argv = ["--eval", str(args.eval.resolve()), "--json", str(saved)]
        argv += ["--passage-tokens", args.passage_tokens, "--heldout"]
        argv += [str(path.resolve()) for path in args.heldout]
        if args.db:
            argv += ["--db", str(args.db.resolve())]
        if args.ranks:
            argv += ["--ranks", str(args.ranks.resolve()) + ".old"]
        print(f"old: {args.old}", flush=True)
        run_old(args.old, Path(__file__), argv)
        return json.loads(saved.read_text())  # type: ignore[no-any-return]


def compare(old: dict[str, Any], out: Figures) -> None:
    """Tables of old → new R@1 / R@5 / MRR@10 per mode, for every set both measured."""
    before = {t["title"]: t for t in old["tables"] if t["header"][0] == "mode"}
    for table in list(out.tables):
        if table["title"] not in before or table["header"][0] != "mode":
            continue
        was = {row[0]: row for row in before[table["title"]]["rows"]}
        rows = []
        for row in table["rows"]:
            if row[0] in was:
                a, b = (" / ".join(f"{r[i]:.3f}" for i in (1, 2, 4)) for r in (was[row[0]], row))
                rows.append([row[0], f"{a} → {b}"])
        out.table(f"old → new, {table['title']}", ["mode", "R@1 / R@5 / MRR@10"], rows)


if __name__ == "__main__":
    raise SystemExit(main())
