"""Processes forked from a server that imported d5e once (`tests/killpoint.py --serve`): the
kills of test_crash.py and test_atomic_upload.py, and CLI processes of the tests that start
many. Each is a process of its own (killed for real, its environment, folder and output set
after the fork), without an interpreter's start and d5e's imports (~0.2 s of CPU each)."""

from __future__ import annotations

import json
import os
import queue
import select
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

KILLPOINT = Path(__file__).with_name("killpoint.py")


class Forks:
    """`killpoint.py --serve` processes, one for each run at once (started as needed), ended at
    each test's end (`_forks_end`, autouse where imported): their children's CPU is the test's."""

    def __init__(self) -> None:
        self.idle: queue.SimpleQueue[subprocess.Popen[str]] = queue.SimpleQueue()
        self.started: list[subprocess.Popen[str]] = []
        self.lock = threading.Lock()

    def run(
        self, args: list[str], env: dict[str, str], cwd: Path, output: Path, d5e: bool = False
    ) -> int:
        """Run `killpoint.py ARGS` (or with `d5e`, `d5e ARGS`) in a process forked by a server
        (started if none is idle); its exit code. Its stdout and stderr go to `output` +
        `.out` and `.err`."""
        try:
            server = self.idle.get_nowait()
        except queue.Empty:
            server = subprocess.Popen(
                [sys.executable, str(KILLPOINT), "--serve"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                start_new_session=True,  # a timeout ends it with the child it forked
            )
            with self.lock:
                self.started.append(server)
        assert server.stdin is not None and server.stdout is not None
        request = {
            "args": args,
            "env": env,
            "cwd": str(cwd),
            "stdout": f"{output}.out",
            "stderr": f"{output}.err",
            "d5e": d5e,
        }
        server.stdin.write(json.dumps(request) + "\n")
        server.stdin.flush()
        if not select.select([server.stdout], [], [], 120)[0]:
            os.killpg(server.pid, signal.SIGKILL)
            raise AssertionError(f"killpoint.py {' '.join(args)}: still running after 120 s")
        code: int = json.loads(server.stdout.readline())["returncode"]
        self.idle.put(server)
        return code

    def end(self) -> None:
        with self.lock:
            started, self.started = self.started, []
        for server in started:
            if server.stdin is not None:
                server.stdin.close()
            server.wait(timeout=60)
        self.idle = queue.SimpleQueue()

    def d5e(
        self, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """`d5e ARGS` (`python -m d5e_daemon ARGS`) in a forked process, in this environment
        (with `env` over it) and folder: a CLI process of its own without an interpreter's
        start and d5e's imports."""
        with tempfile.TemporaryDirectory(prefix="d5e-fork-") as folder:
            output = Path(folder) / "d5e"
            environment = {**os.environ, **(env or {})}
            code = self.run(list(args), environment, Path.cwd(), output, d5e=True)
            out, err = (Path(f"{output}.{kind}").read_text() for kind in ("out", "err"))
        return subprocess.CompletedProcess(["d5e", *args], code, out, err)


FORKS = Forks()


@pytest.fixture(autouse=True)
def _forks_end() -> Iterator[None]:
    yield
    FORKS.end()
