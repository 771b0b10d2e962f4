"""Run every benchmark and write `bench/report.md` (and each one's JSON in `bench/results/`).

    .venv/bin/python bench/report.py [--quick] [--only rpc,scale] [--render]

`make bench` runs this. Each benchmark runs as its own process (`bench/NAME.py --json
bench/results/NAME.json`); its printed output goes to `bench/results/NAME.txt`. The report
gives each figure as the median of its runs with their spread, and states the machine, the
commit and the load on the machine. The whole run takes about 65 minutes on the bench machine,
most of it the cold index build of 100,000 entries (`bench/scale.py`); `--quick` runs every
benchmark small (minutes, for checking the benchmarks themselves, not for figures), and
`--render` only writes the report again from the JSON already there.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from driver import RESULTS, load, machine, markdown

REPO = Path(__file__).resolve().parents[1]
REPORT = REPO / "bench" / "report.md"

# name → (arguments, quick arguments); in the order they run and appear
BENCHMARKS: dict[str, tuple[list[str], list[str]]] = {
    "rpc": ([], ["--runs", "1", "--starts", "3", "--requests", "200"]),
    "names": (["--synthetic", "300"], ["--synthetic", "50"]),
    "markdown": ([], ["--runs", "1", "--lines", "500", "--repeat", "5"]),
    "start": ([], ["--runs", "1", "--lines", "500", "--reopen", "3"]),
    "packs": ([], ["--runs", "1", "--entries", "1000", "--reloads", "3"]),
    "fivetools": ([], ["--runs", "1", "--entries", "500", "--monsters", "100"]),
    "search": ([], ["--runs", "1", "--queries", "30"]),
    "mcp": ([], ["--runs", "1", "--starts", "3", "--requests", "100"]),
    "activation": ([], ["--runs", "1"]),
    "quality": ([], []),
    "scale": ([], ["--sizes", "0,2000", "--runs", "1", "--cold-runs", "1"]),
}


def commit() -> str:
    done = subprocess.run(
        ["git", "-C", str(REPO), "log", "-1", "--format=%h %s"], capture_output=True, text=True
    )
    dirty = subprocess.run(
        [
            "git",
            "-C",
            str(REPO),
            "status",
            "--porcelain",
            "--untracked-files=no",
            "--",
            ".",
            ":!bench/report.md",
        ],
        capture_output=True,
        text=True,
    ).stdout.strip()
    return done.stdout.strip()[:90] + (" (with uncommitted changes)" if dirty else "")


def run(name: str, args: list[str]) -> tuple[bool, float]:
    started = time.perf_counter()
    out = RESULTS / f"{name}.txt"
    print(f"[bench] {name} …", file=sys.stderr, flush=True)
    with out.open("w") as log:
        done = subprocess.run(
            [sys.executable, str(REPO / "bench" / f"{name}.py"), *args,
             "--json", str(RESULTS / f"{name}.json")],
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    seconds = time.perf_counter() - started
    status = "done" if done.returncode == 0 else f"FAILED ({done.returncode}), see {out}"
    print(f"[bench] {name}: {status} in {seconds:.0f} s", file=sys.stderr, flush=True)
    return done.returncode == 0, seconds


def render(names: list[str], failed: list[str], header: list[str]) -> None:
    parts = ["# d5e benchmark report", "", *header, ""]
    parts += [
        "Each figure is the median of its runs, the spread (min–max) in brackets; a run is a "
        "fresh daemon or database as each benchmark says. Latencies are p50 and p99 of many "
        "requests per run. The machine is shared with other work: the load average before and "
        "after each benchmark is given, and figures from a loaded machine are higher. "
        "docs/benchmarks.md reads them.",
        "",
    ]
    for name in names:
        path = RESULTS / f"{name}.json"
        if name in failed or not path.exists():
            parts += [f"## {name}: failed (see bench/results/{name}.txt)", ""]
            continue
        parts += [markdown(json.loads(path.read_text())), ""]
    # re-measurements of the requests after a change (`bench/scale.py --db`), kept beside the
    # full run they follow
    for path in sorted(RESULTS.glob("scale-requests-*.json")):
        parts += [markdown(json.loads(path.read_text())), ""]
    REPORT.write_text("\n".join(parts).rstrip() + "\n")
    print(f"[bench] wrote {REPORT}", file=sys.stderr)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small runs, to check the benchmarks")
    ap.add_argument("--only", help="comma-separated benchmarks (default: all)")
    ap.add_argument("--render", action="store_true", help="only write the report from JSON")
    args = ap.parse_args()
    names = args.only.split(",") if args.only else list(BENCHMARKS)
    unknown = set(names) - set(BENCHMARKS)
    if unknown:
        ap.error(f"unknown benchmarks: {', '.join(sorted(unknown))}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    failed: list[str] = []
    started = time.time()
    load_before = load()
    if not args.render:
        for name in names:
            full, quick = BENCHMARKS[name]
            ok, _ = run(name, quick if args.quick else full)
            if not ok:
                failed.append(name)
    hours = (time.time() - started) / 3600
    header = [
        f"- machine: {machine()}",
        f"- commit: {commit()}",
        f"- run: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(started))}, "
        f"{hours:.1f} h{' (--quick: not figures to quote)' if args.quick else ''}; "
        f"load average before {load_before}, after {load()}",
    ]
    if args.render:
        header = [
            f"- machine: {machine()}",
            f"- commit: {commit()} (rendered from the JSON of each benchmark's last run; each "
            "section gives its run's time, and docs/benchmarks.md which changes came between)",
        ]
    render(list(BENCHMARKS), failed, header)  # those not run now: from their last JSON
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
