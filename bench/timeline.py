"""Where a run of the tests spent its wall time, from the file `D5E_TIMELINE=FILE` made
(tests/timeline.py): each worker's fixed costs (its start and collection, the session fixtures
it made or waited for), busy and idle time, the slowest tests, and the tail (what ran last, how
long each worker idled at the end).

    D5E_TIMELINE=/tmp/t.jsonl nice make test   # or any pytest command
    python bench/timeline.py /tmp/t.jsonl [--top 30]
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Test:
    nodeid: str
    start: float = 0.0
    stop: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)
    cpu: float = 0.0  # the worker's CPU (with its waited-for children) during the test
    outcome: str = "passed"

    @property
    def wall(self) -> float:
        return self.stop - self.start


@dataclass
class Worker:
    name: str
    started: float = 0.0
    collected: float = 0.0
    ended: float = 0.0
    cpu_collected: float = 0.0
    cpu_end: float = 0.0
    load: list[Any] = field(default_factory=list)
    tests: list[Test] = field(default_factory=list)
    fixtures: list[dict[str, Any]] = field(default_factory=list)


def read(path: Path) -> dict[str, Worker]:
    workers: dict[str, Worker] = {}
    open_tests: dict[tuple[str, str], Test] = {}
    last_cpu: dict[str, float] = {}
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        e = json.loads(line)
        w = workers.setdefault(e["w"], Worker(e["w"]))
        ev = e["ev"]
        if ev == "start":
            w.started, w.load = e["t"], [e["load"]]
        elif ev == "collected":
            w.collected, w.cpu_collected = e["t"], e["cpu"]
            last_cpu[w.name] = e["cpu"]
        elif ev == "end":
            w.ended, w.cpu_end = e["t"], e["cpu"]
            w.load.append(e["load"])
        elif ev == "fixture":
            w.fixtures.append(e)
        elif ev in ("setup", "call", "teardown"):
            key = (w.name, e["test"])
            t = open_tests.get(key)
            if t is None:
                t = open_tests[key] = Test(e["test"], start=e["start"])
                w.tests.append(t)
            t.phases[ev] = e["stop"] - e["start"]
            t.stop = e["stop"]
            if e["outcome"] != "passed" and not (ev == "call" and e["outcome"] == "skipped"):
                t.outcome = e["outcome"]
            if ev == "teardown":
                del open_tests[key]
                t.cpu = e["cpu"] - last_cpu.get(w.name, e["cpu"])
                last_cpu[w.name] = e["cpu"]
    return workers


def fmt(seconds: float) -> str:
    return f"{seconds:7.1f}"


def report(workers: dict[str, Worker], top: int) -> str:
    out: list[str] = []
    runners = {n: w for n, w in workers.items() if w.tests}
    if not runners:
        return "no test recorded"
    controller = workers.get("main")
    t0 = min(w.started for w in workers.values() if w.started)
    last = max(t.stop for w in runners.values() for t in w.tests)
    end = controller.ended if controller and controller.ended else last
    loads = [f"{w.name} {' -> '.join(f'{x[0]:.1f}' for x in w.load)}" for w in workers.values()]
    ntests = sum(len(w.tests) for w in runners.values())
    out.append(f"run: {ntests} tests, {end - t0:.1f} s wall from the first process's start")
    out.append(f"load average (1 min) at each process's start -> end: {'; '.join(loads)}")
    out.append("")
    out.append(
        "worker    start+collect  first test   busy    idle  idle at end  tests   CPU (tests)"
    )
    for w in sorted(runners.values(), key=lambda w: w.name):
        first = min(t.start for t in w.tests)
        wlast = max(t.stop for t in w.tests)
        busy = sum(t.wall for t in w.tests)
        idle = (wlast - first) - busy
        out.append(
            f"{w.name:8} {fmt(w.collected - w.started)} s  {fmt(first - t0)} s "
            f"{fmt(busy)} {fmt(idle)} {fmt(last - wlast)} s  {len(w.tests):5} "
            f"{fmt(w.cpu_end)} ({sum(t.cpu for t in w.tests):.1f}) s"
        )
    if controller and controller.ended:
        out.append(f"after the last test: {end - last:.1f} s until the controller ended")
    out.append("")
    out.append("session and module fixtures over 0.5 s, per worker (made, or waited for):")
    for w in sorted(runners.values(), key=lambda w: w.name):
        costs: dict[str, float] = defaultdict(float)
        for f in w.fixtures:
            costs[f"{f['name']} ({f['scope']})"] += f["stop"] - f["start"]
        shown = sorted(((v, k) for k, v in costs.items() if v >= 0.5), reverse=True)
        total = sum(v for v in costs.values())
        listed = ", ".join(f"{k} {v:.1f}" for v, k in shown)
        out.append(f"  {w.name}: {total:.1f} s in all; {listed or '-'}")
    out.append("")
    out.append(f"the {top} slowest tests (wall = setup + call + teardown; CPU with children):")
    everything = [(t, w.name) for w in runners.values() for t in w.tests]
    for t, name in sorted(everything, key=lambda x: -x[0].wall)[:top]:
        setup = t.phases.get("setup", 0.0)
        out.append(
            f"  {fmt(t.wall)} s (setup {setup:5.1f})  CPU {t.cpu:5.1f}  started at "
            f"{t.start - t0:6.1f} on {name}  {t.nodeid}"
        )
    slowest = sorted(everything, key=lambda x: -x[0].wall)[:top]
    out.append(f"  the {top}: {sum(t.wall for t, _ in slowest):.1f} s of wall in all")
    out.append("")
    out.append(f"the {top} test files of most CPU (wall and CPU of their tests, with children):")
    files: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    for t, _ in everything:
        row = files[t.nodeid.split("::")[0]]
        row[0] += t.wall
        row[1] += t.cpu
        row[2] += 1
    for name, (wall, cpu, count) in sorted(files.items(), key=lambda x: -x[1][1])[:top]:
        out.append(f"  {fmt(wall)} s  CPU {cpu:6.1f}  {int(count):4} tests  {name}")
    out.append("")
    # The tail: from the moment the first worker ran out of tests, what every worker ran.
    first_done = min(max(t.stop for t in w.tests) for w in runners.values())
    out.append(
        f"the tail: tests still running or started after the first worker's last test ended "
        f"({first_done - t0:.1f} s):"
    )
    tail = sorted(((t, n) for t, n in everything if t.stop > first_done), key=lambda x: x[0].start)
    for t, name in tail[-top:]:
        out.append(
            f"  {name} {t.start - t0:7.1f} -> {t.stop - t0:7.1f}  {fmt(t.wall)} s  {t.nodeid}"
        )
    failed = [t.nodeid for t, _ in everything if t.outcome not in ("passed", "skipped")]
    if failed:
        out.append("")
        out.append(f"not passed: {', '.join(failed)}")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    print(report(read(args.file), args.top))


if __name__ == "__main__":
    main()
