"""Writer's tools: `d5e/encounter` and the reverse and relational search filters, over stdio.

    .venv/bin/python bench/writer.py [--size 100000] [--runs 3] [--requests 300]
                                     [--db FILE] [--old CHECKOUT] [--json bench/results/writer.json]

The database holds both SRD packs and the generated homebrew pack of `--size` entries
(`bench/brew.py`, seed 5, as `bench/scale.py` makes it; `--db` reuses a database holding them).
Each run spawns a daemon (no `initialized`: no background indexing competes; the filter
attributes are extracted at `initialize`), then times, one request after the other:

- `d5e/encounter` over five encounters (SRD monsters by name and by ref, a creature by its CR,
  2014 and 2024 rules): target ≤ 1 ms p50;
- each filter as a listing (`{"query": "", "filters": {…}, "limit": 20}`), the filters that
  were there before beside the new ones: target ≤ 5 ms p50 for each new filter;
- a keyword search narrowed by a new filter, for scale.

With `--old`, each run is made on the d5e of another checkout too (`git worktree add /tmp/old
COMMIT`), in turn with this one, each on its own copy of the database (`--db`, at a schema the
old d5e reads: this one migrates its copy): old and new measured in one session on a shared
machine. Labels then end in "[old]" or "[new]".
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from driver import Daemon, Figures, compile_sources, old_env, percentile, timed_requests
from scale import build_database

ENCOUNTERS = [
    {"party": [3, 3, 3, 3], "monsters": [{"name": "wolf", "count": 4}, {"name": "dire wolf"}]},
    {"party": [5, 5, 5, 5], "monsters": [{"ref": "monsters/ogre", "count": 2}], "rules": "2024"},
    {"party": [1, 2], "monsters": [{"name": "goblin", "count": 6}, {"name": "Boss", "cr": 2}]},
    {"party": [10] * 6, "monsters": [{"name": "adult red dragon"}]},
    {"party": [3, 3, 3], "monsters": [{"name": "skeleton", "count": 3}, {"name": "zombie"}]},
]
OLD = {"level": 3, "cr": {"min": 5, "max": 8}, "type": "undead", "school": "evocation"}
NEW: dict[str, Any] = {
    "immune": "fire",
    "resist": "cold",
    "vulnerable": "fire",
    "conditionImmune": "charmed",
    "sense": "darkvision 60",
    "speed": "fly",
    "language": "common",
    "alignment": "evil",
    "environment": "forest",
    "casts": "fireball",
    "save": "dexterity",
    "attack": "ranged",
    "castingTime": "bonus action",
    "range": "120 feet",
    "component": "costly",
    "duration": "1 minute",
    "inflicts": "frightened",
    "grants": "fireball",
}
TARGET_ENCOUNTER_MS = 1.0
TARGET_FILTER_MS = 5.0


def run(
    db: Path,
    requests: int,
    figures: Figures,
    p50s: dict[str, list[float]],
    env: dict[str, str] | None = None,
    tree: str = "",
) -> None:
    with tempfile.TemporaryDirectory() as cache:
        env = {"XDG_CACHE_HOME": cache, "D5E_EMBEDDER": "fake", **(env or {})}
        daemon = Daemon(db, env=env)
        try:
            daemon.initialize(initialized=False)
            for params in ENCOUNTERS:  # warm-up: caches of names, the code paths
                daemon.request("d5e/encounter", params)
            times = timed_requests(daemon, "d5e/encounter", ENCOUNTERS, requests)
            figures.latency("`d5e/encounter`", f"five encounters in turn{tree}", times)
            p50s.setdefault(f"d5e/encounter{tree}", []).append(percentile(times, 50))
            for kind, table in (("before", OLD), ("new", NEW)):
                for name, value in table.items():
                    params = [{"query": "", "filters": {name: value}, "limit": 20}]
                    daemon.request("d5e/search", params[0])
                    times = timed_requests(daemon, "d5e/search", params, requests // 3)
                    label = f"`{name}` = {value!r} ({kind}){tree}"
                    figures.latency(
                        "listing by one filter (`d5e/search`, empty query)", label, times
                    )
                    p50s.setdefault(label, []).append(percentile(times, 50))
            narrowed = [
                {"query": "fire breath", "mode": "keyword", "filters": {"immune": "fire"}},
                {"query": "charm", "mode": "keyword", "filters": {"save": "wisdom"}},
                {"query": "wand", "mode": "keyword", "filters": {"grants": "fireball"}},
            ]
            times = timed_requests(daemon, "d5e/search", narrowed, requests // 3)
            figures.latency(
                "keyword search narrowed by a new filter", f"three queries{tree}", times
            )
        finally:
            daemon.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=100_000, help="generated entries beside the SRD")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--db", type=Path, help="a database holding the SRD and the generated pack")
    ap.add_argument("--old", type=Path, help="a checkout of older d5e: each run on it too, in turn")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    if args.old is not None and args.db is None:
        ap.error("--old needs --db: a database at a schema the old d5e reads")
    compile_sources()
    size = f"SRD + {args.size:,} generated entries" if args.size else "the SRD alone"
    figures = Figures("writer", f"Writer's tools at {size} (`bench/writer.py`)", "bench/writer.py")
    p50s: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or build_database(Path(tmp), args.size, figures, "database")
        trees: list[tuple[str, dict[str, str], Path]] = [("", {}, db)]
        if args.old is not None:
            old = old_env(args.old, plugins=False)  # d5e_daemon of the old checkout
            copies = [Path(tmp) / f"{side}.sqlite3" for side in ("old", "new")]
            for copy in copies:
                shutil.copy(db, copy)
            trees = [(" [old]", old, copies[0]), (" [new]", {}, copies[1])]
        for _ in range(args.runs):
            for tree, env, tree_db in trees:
                run(tree_db, args.requests, figures, p50s, env, tree)
    figures.save(args.json)
    worst = {label: max(values) for label, values in p50s.items()}
    for label, p50 in worst.items():
        target = TARGET_ENCOUNTER_MS if label.startswith("d5e/encounter") else TARGET_FILTER_MS
        mark = "" if "(before)" in label or p50 <= target else "  ABOVE TARGET"
        print(f"{label}: p50 (worst run) {p50:.2f} ms{mark}")
    return 0


if __name__ == "__main__":
    os.environ.pop("D5E_EMBEDDER", None)
    raise SystemExit(main())
