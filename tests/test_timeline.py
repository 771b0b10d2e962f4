"""`D5E_TIMELINE`'s record (tests/timeline.py) read by `bench/timeline.py`: each worker's idle
time at the end and the tail, on a made-up run of two workers (no pytest run inside)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from .timeline import Recorder

REPO = Path(__file__).resolve().parents[1]


def bench_timeline() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_timeline", REPO / "bench" / "timeline.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def record(recorder: Recorder, nodeid: str, start: float, stop: float) -> None:
    for when, (a, b) in (
        ("setup", (start, start)),
        ("call", (start, stop)),
        ("teardown", (stop, stop)),
    ):
        report = pytest.TestReport(nodeid, ("x.py", 0, nodeid), {}, "passed", None, when)
        report.start, report.stop = a, b
        recorder.pytest_runtest_logreport(report)


def test_the_tail_and_each_workers_idle_time_at_the_end(tmp_path: Path) -> None:
    path = tmp_path / "timeline.jsonl"
    long, short = Recorder(str(path), "gw0", tests=True), Recorder(str(path), "gw1", tests=True)
    for recorder in (long, short):
        recorder.write("start", t=1000.0, configured=1001.0, load=[1.0, 1.0, 1.0])
        recorder.write("collected", t=1010.0, cpu=5.0)
    record(long, "tests/test_a.py::test_long", 1010.0, 1100.0)
    record(short, "tests/test_b.py::test_one", 1010.0, 1030.0)
    record(short, "tests/test_b.py::test_two", 1031.0, 1040.0)
    timeline = bench_timeline()
    text = timeline.report(timeline.read(path), top=5)
    rows = {line.split()[0]: line.split() for line in text.splitlines() if line[:2] == "gw"}
    # worker, start+collect, first test, busy, idle, idle at end: gw1 waits 60 s for gw0
    assert rows["gw0"][1:8] == ["10.0", "s", "10.0", "s", "90.0", "0.0", "0.0"]
    assert rows["gw1"][1:8] == ["10.0", "s", "10.0", "s", "29.0", "1.0", "60.0"]
    tail = text.split("the tail:")[1].splitlines()[1:]
    assert [line.split()[-1] for line in tail] == ["tests/test_a.py::test_long"]
