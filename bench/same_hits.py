"""Whether a change to how search runs changed what it answers: the hits of every query of the
dev, held-out and homebrew sets, written by one checkout and compared with another's.

    .venv/bin/python bench/same_hits.py --db F --write new.jsonl [--limit 10] [--mode hybrid]
    .venv/bin/python bench/same_hits.py --db F --write old.jsonl --old CHECKOUT
    .venv/bin/python bench/same_hits.py --compare old.jsonl new.jsonl
    .venv/bin/python bench/same_hits.py --quality old.jsonl new.jsonl

`--write` asks `d5e/search`'s function (in process, on the database `--db`, read as it is) every
query of the sets and writes one line per query: its text and its hits (ref, pack and score); with
`--old CHECKOUT` (a checkout or an unpacked `git archive`), in a process that imports that
checkout's d5e (`driver.run_old`: not the archive's script run by this venv's Python, which would
import this checkout's C modules). Write the old and the new on the same database (a copy: the
daemon may bring a database up to date), then `--compare` the two files: it lists every query
whose refs differ (in order) and every one whose scores differ, and exits 1 if any does.
`--quality` gives, for each file, each set's recall@1 / recall@5 / MRR@10 from the hits written
(as `bench/quality.py` counts them): how much an approximation that changes some hits changes
what is found.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def sets() -> list[Path]:
    """The dev set (`eval_set`: outside the repository), then the held-out and homebrew sets
    (in bench/)."""
    from driver import eval_set

    return [eval_set("search-dev.jsonl"), *sorted((REPO / "bench").glob("search-*.jsonl"))]


def queries() -> list[str]:
    found = []
    for path in sets():
        found += [json.loads(line)["query"] for line in path.open() if line.strip()]
    return list(dict.fromkeys(found))


def write(db: Path, out: Path, limit: int, mode: str) -> None:
    from driver import imported

    from d5e_daemon.app import App
    from d5e_daemon.features import search as ranking
    from d5e_daemon.protocol import SearchParams
    from d5e_daemon.settings import build

    print(imported(), flush=True)
    app = App(build({"db": str(db)}))
    app.start()
    try:
        with out.open("w") as f:
            for text in queries():
                result = ranking.search(app, SearchParams(query=text, limit=limit, mode=mode))
                hits = [[h.ref, h.pack, h.score] for h in result.hits]
                f.write(
                    json.dumps({"query": text, "semantic": result.semantic, "hits": hits}) + "\n"
                )
    finally:
        app.close()


def compare(old: Path, new: Path) -> int:
    def read(path: Path) -> dict[str, dict[str, object]]:
        return {r["query"]: r for r in map(json.loads, path.open())}

    a, b = read(old), read(new)
    refs = scores = 0
    for text in a.keys() & b.keys():
        hits_a, hits_b = a[text]["hits"], b[text]["hits"]
        assert isinstance(hits_a, list) and isinstance(hits_b, list)
        if [h[:2] for h in hits_a] != [h[:2] for h in hits_b]:
            refs += 1
            print(f"refs differ: {text!r}")
            print(f"  old {[h[0] for h in hits_a]}\n  new {[h[0] for h in hits_b]}")
        elif hits_a != hits_b:
            scores += 1
            print(f"scores differ: {text!r}\n  old {hits_a}\n  new {hits_b}")
    only = len(a.keys() ^ b.keys())
    both = len(a.keys() & b.keys())
    print(f"{both} queries compared: {refs} with other hits, {scores} with other scores,", end=" ")
    print(f"{only} in one file only")
    return 1 if refs or scores or only else 0


def quality(files: list[Path]) -> int:
    for path in files:
        hits = {r["query"]: [h[0] for h in r["hits"]] for r in map(json.loads, path.open())}
        print(path)
        for source in sets():
            asked = [json.loads(line) for line in source.open() if line.strip()]
            ranks = []
            for q in asked:
                refs = hits.get(q["query"])
                if refs is not None:
                    found = [i + 1 for i, ref in enumerate(refs) if ref in q["relevant"]]
                    ranks.append(found[0] if found else None)
            if not ranks:
                continue
            r1, r5 = (sum(r is not None and r <= k for r in ranks) / len(ranks) for k in (1, 5))
            mrr = sum(1 / r for r in ranks if r is not None and r <= 10) / len(ranks)
            print(f"  {source.name} ({len(ranks)}): {r1:.3f} / {r5:.3f} / {mrr:.3f}")
    return 0


def main() -> int:
    from driver import add_eval_dir, run_old

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", type=Path)
    ap.add_argument("--write", type=Path)
    ap.add_argument("--limit", type=int, default=10)
    ap.add_argument("--mode", default="hybrid", choices=("hybrid", "keyword", "semantic"))
    ap.add_argument("--compare", type=Path, nargs=2)
    ap.add_argument("--quality", type=Path, nargs="+")
    ap.add_argument("--old", type=Path, help="--write with the d5e of this older checkout")
    add_eval_dir(ap)
    args = ap.parse_args()
    if args.compare:
        return compare(*args.compare)
    if args.quality:
        return quality(args.quality)
    if not (args.db and args.write):
        ap.error("give --db and --write, or --compare OLD NEW")
    if args.old:
        argv = ["--db", str(args.db.resolve()), "--write", str(args.write.resolve())]
        run_old(args.old, Path(__file__), [*argv, "--limit", str(args.limit), "--mode", args.mode])
        return 0
    write(args.db, args.write, args.limit, args.mode)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
