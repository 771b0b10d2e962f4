"""Open5e's documents beside the SRD, measured over real stdio against `d5e serve`.

    .venv/bin/python bench/open5e.py --data PATH/TO/open5e-api/data/v2 [--runs 3] [--json FILE]
        [--skip-srd-copies]

The data is Open5e's (the open5e/open5e-api repository, `data/v2`): it is not in this repository,
so its path is given. Per run (a fresh daemon on a fresh copy of a database holding both SRD
packs; the fake embedder, so that no background indexing with the model competes):
- install: `d5e/packs/install` of each document folder in turn, largest first (seconds each),
  and their sum; then the whole `data/v2` folder in one request in another fresh daemon;
- lookup and completion round-trips on the SRD alone and with every document installed (the
  names and typos of `../shared/eval/lookup-dev.jsonl`, and prefixes of them);
- search quality (keyword mode; recall@5, MRR@10) on `../shared/eval/search-dev.jsonl`, SRD
  alone and with every document installed (in-process, once: it is deterministic).
`--skip-srd-copies` leaves out Open5e's own copies of the SRD (wizards-of-the-coast/*).
`--old CHECKOUT` (`git worktree add /tmp/old COMMIT`) makes each run on the d5e of that checkout
too (its daemon and its plugins), in turn with this one: old and new measured in one session on
a shared machine; labels then end in "[old]" or "[new]". The SRD database is then built by the
old d5e (this one migrates its copy), and search quality is measured on this one only.
`--quality-only` installs the documents in-process (no timings) and measures search quality
only. The quality table has a third row, every document at priority 50 above the SRD (the
homebrew default, and Open5e's before documents installed below the SRD), set in the profile's
settings on the same database.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import sys
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any

from driver import (
    Daemon,
    Figures,
    RpcError,
    add_eval_dir,
    cpu_seconds,
    eval_set,
    old_env,
    timed_requests,
    wait_for_index,
)

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from d5e_daemon.app import App  # noqa: E402
from d5e_daemon.settings import build  # noqa: E402

ENV = {"D5E_EMBEDDER": "fake"}
REQUESTS = 300
SRD_COPIES = ("open5e-srd-2014", "open5e-srd-2024")  # below the SRD in every row


def documents(data: Path, skip_srd: bool) -> list[Path]:
    found = sorted(p.parent for p in data.glob("*/*/Document.json"))
    if skip_srd:
        found = [p for p in found if p.parent.name != "wizards-of-the-coast"]
    return sorted(found, key=lambda p: -sum(f.stat().st_size for f in p.iterdir()))


def build_srd(base: Path, env: dict[str, str] | None = None) -> Path:
    db = base / "srd.sqlite3"
    with Daemon(db, env={**ENV, **(env or {})}) as daemon:
        daemon.initialize()
        wait_for_index(daemon)  # so that each measured daemon starts idle
    return db


def name_queries() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    rows = [json.loads(line) for line in eval_set("lookup-dev.jsonl").read_text().splitlines()]
    names = [{"name": r["query"]} for r in rows]
    prefixes = [{"prefix": r["query"][: max(3, len(r["query"]) // 2)]} for r in rows]
    return names, prefixes


def timed_names(daemon: Daemon, figures: Figures, label: str) -> None:
    names, prefixes = name_queries()
    lookups = []
    for i in range(REQUESTS):  # a typo may find nothing: that answer is timed too
        started = time.perf_counter()
        with contextlib.suppress(RpcError):  # not found, with suggestions: an answer too
            daemon.request("d5e/lookup", names[i % len(names)])
        lookups.append((time.perf_counter() - started) * 1000)
    figures.latency("names", f"`d5e/lookup` by name, {label}", lookups)
    completes = timed_requests(daemon, "d5e/complete", prefixes, REQUESTS)
    figures.latency("names", f"`d5e/complete`, {label}", completes)


def measure(
    base: Path,
    srd: Path,
    docs: list[Path],
    data: Path,
    figures: Figures,
    env: dict[str, str] | None = None,
    tag: str = "",
) -> Path:
    """One run: each document installed in turn in a running daemon, then all in one request.
    `env` and `tag`: the old checkout's daemon (`old_env`) and the labels' suffix."""
    env = {**ENV, **(env or {})}
    base = Path(tempfile.mkdtemp(dir=base))  # each run its own files (no WAL left by another)
    db = base / "open5e.sqlite3"
    shutil.copy(srd, db)
    total = cpu_total = 0.0
    entries = 0
    with Daemon(db, env=env) as daemon:
        daemon.initialize()
        wait_for_index(daemon)
        daemon.request("d5e/lookup", {"ref": "spells/fireball"})
        timed_names(daemon, figures, f"SRD alone{tag}")
        for doc in docs:
            cpu = cpu_seconds(daemon.proc.pid)
            started = time.perf_counter()
            result = daemon.request("d5e/packs/install", {"path": str(doc)})
            seconds = time.perf_counter() - started
            cpu_total += cpu_seconds(daemon.proc.pid) - cpu
            total += seconds
            entries += result["entries"]
            figures.value(
                "install", f"{doc.parent.name}/{doc.name} ({result['entries']}){tag}", seconds, "s"
            )
        figures.value(
            "install",
            f"all {len(docs)} documents, one request each ({entries:,} entries){tag}",
            total,
            "s",
        )
        figures.value(
            "install",
            f"all documents: the daemon's CPU time during the requests{tag}",
            cpu_total,
            "s",
        )
        timed_names(daemon, figures, f"with Open5e{tag}")
    whole = base / "whole.sqlite3"
    shutil.copy(srd, whole)
    with Daemon(whole, env=env) as daemon:
        daemon.initialize()
        wait_for_index(daemon)
        daemon.request("d5e/lookup", {"ref": "spells/fireball"})
        started = time.perf_counter()
        daemon.request("d5e/packs/install", {"path": str(data)}, timeout=600)
        figures.value(
            "install",
            f"the whole data/v2 folder in one request{tag}",
            time.perf_counter() - started,
            "s",
        )
    return db


def install_in_process(base: Path, srd: Path, data: Path, skip_srd: bool) -> Path:
    db = base / "open5e-quality.sqlite3"
    shutil.copy(srd, db)
    app = App(build({"db": str(db)}))
    app.start()
    try:
        for doc in documents(data, skip_srd):
            app.db.write(partial(app.library.install_path, path=doc))
    finally:
        app.close()
    return db


def quality(db: Path, priorities: dict[str, int] | None = None) -> dict[str, float]:
    from quality import evaluate
    from quality import figures as score

    queries = [json.loads(line) for line in eval_set("search-dev.jsonl").read_text().splitlines()]
    app = App(build({"db": str(db), "packs": priorities or {}}))
    app.start()
    try:
        ranks = evaluate(app, queries, ("keyword",))["keyword"]
    finally:
        app.close()
    return score(ranks)


def packs_of(db: Path) -> list[str]:
    """The ids of the packs in `db` other than d5e's SRD: the Open5e documents."""
    from d5e_daemon import queries

    app = App(build({"db": str(db)}))
    app.start()
    try:
        rows = queries.installed_packs(app.conn)
        return [r.pack.id for r in rows if r.pack.id not in ("srd-2014", "srd-2024")]
    finally:
        app.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="open5e-api's data/v2 folder")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip-srd-copies", action="store_true")
    parser.add_argument("--quality-only", action="store_true")
    parser.add_argument("--old", type=Path, help="a checkout of older d5e: each run on it too")
    parser.add_argument("--json", type=Path)
    add_eval_dir(parser)
    args = parser.parse_args()
    figures = Figures(
        "open5e", "Open5e beside the SRD (`bench/open5e.py`)", "bench/open5e.py --data …"
    )
    docs = documents(args.data, args.skip_srd_copies)
    figures.fact("documents", len(docs))
    with tempfile.TemporaryDirectory(prefix="d5e-bench-open5e-") as tmp:
        base = Path(tmp)
        trees: list[tuple[str, dict[str, str]]] = [("", {})]
        if args.old is not None:
            trees = [(" [old]", old_env(args.old)), (" [new]", {})]
        srd = build_srd(base, trees[0][1])
        db = srd
        if args.quality_only:
            db = install_in_process(base, srd, args.data, args.skip_srd_copies)
        for _ in range(0 if args.quality_only else args.runs):
            for tag, env in trees:
                db = measure(base, srd, docs, args.data, figures, env, tag)
        ids = packs_of(db)
        rows = []
        for label, path, chosen in (
            ("SRD alone", srd, None),
            ("with Open5e, default priorities", db, None),
            ("with Open5e, every document at 50", db, {i: 50 for i in ids if i not in SRD_COPIES}),
        ):
            q = quality(path, chosen)
            rows.append(
                [
                    label,
                    q["n"],
                    f"{q['recall@1']:.3f}",
                    f"{q['recall@5']:.3f}",
                    f"{q['mrr@10']:.3f}",
                ]
            )
        figures.table(
            "search quality, keyword mode (search-dev.jsonl)",
            ["database", "queries", "recall@1", "recall@5", "MRR@10"],
            rows,
        )
    figures.save(args.json)


if __name__ == "__main__":
    main()
