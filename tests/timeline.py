"""An opt-in record of where a run of the tests spends its wall time: with
`D5E_TIMELINE=FILE`, every pytest process (each xdist worker, and the controller) appends one
JSON line to FILE per event: its start, the end of its collection, each test's setup, call and
teardown (start, end, its process's CPU so far), each session or module fixture's making, and
its end. `bench/timeline.py FILE` reads it: each worker's busy and idle time, its fixed costs,
and the run's tail. Without the variable nothing is registered."""

from __future__ import annotations

import json
import os
import resource
import time
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

ENV = "D5E_TIMELINE"


def _started() -> float:
    """When this process started (epoch seconds): the interpreter's start and pytest's imports
    are part of a worker's fixed cost."""
    try:
        ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        boot = next(
            float(line.split()[1])
            for line in Path("/proc/stat").read_text().splitlines()
            if line.startswith("btime ")
        )
        return boot + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return time.time()


def _cpu() -> float:
    """This process's CPU and its waited-for children's (daemons and CLIs a test ran)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


class Recorder:
    def __init__(self, path: str, worker: str, tests: bool) -> None:
        self.path = path
        self.worker = worker
        self.tests = tests  # the xdist controller only sees its workers' reports again

    def write(self, event: str, **fields: Any) -> None:
        line = json.dumps({"w": self.worker, "ev": event, **fields}) + "\n"
        # One write of one line in append mode: the processes' lines do not mix.
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)

    def pytest_collection_finish(self) -> None:
        self.write("collected", t=time.time(), cpu=_cpu())

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if self.tests:
            self.write(
                report.when,
                test=report.nodeid,
                start=report.start,
                stop=report.stop,
                outcome=report.outcome,
                cpu=_cpu(),
            )

    @pytest.hookimpl(wrapper=True)
    def pytest_fixture_setup(
        self, fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest
    ) -> Generator[None, Any, Any]:
        if fixturedef.scope == "function":
            return (yield)
        start = time.time()
        try:
            return (yield)
        finally:
            self.write(
                "fixture",
                name=fixturedef.argname,
                scope=fixturedef.scope,
                start=start,
                stop=time.time(),
                test=request.node.nodeid,
            )

    def pytest_unconfigure(self) -> None:
        self.write("end", t=time.time(), cpu=_cpu(), load=os.getloadavg())


def pytest_configure(config: pytest.Config) -> None:
    path = os.environ.get(ENV)
    if not path:
        return
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    controller = worker is None and getattr(config.option, "numprocesses", None)
    recorder = Recorder(path, worker or "main", tests=not controller)
    recorder.write("start", t=_started(), configured=time.time(), load=os.getloadavg())
    config.pluginmanager.register(recorder, "d5e-timeline")
