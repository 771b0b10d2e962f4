"""A minimal JSON-RPC client over a daemon's stdio (LSP framing), for benchmarks."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


class RpcError(Exception):
    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error.get("message"))
        self.error = error


class Daemon:
    """`d5e serve` as a subprocess; `request()` sends one message and waits for its answer."""

    def __init__(self, db: Path, *extra: str, env: dict[str, str] | None = None) -> None:
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "d5e_daemon", "serve", "--db", str(db), *extra],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
            cwd=REPO,
        )
        self.next_id = 0

    def send(self, method: str, params: Any = None, *, notify: bool = False) -> int:
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        if not notify:
            self.next_id += 1
            message["id"] = self.next_id
        body = json.dumps(message).encode()
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        self.proc.stdin.flush()
        return self.next_id

    def receive(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        length = 0
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise EOFError("the daemon closed its stdout")
            if line in (b"\r\n", b"\n"):
                break
            name, _, value = line.decode("ascii").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        message: dict[str, Any] = json.loads(self.proc.stdout.read(length))
        return message

    def request(self, method: str, params: Any = None) -> Any:
        msg_id = self.send(method, params)
        while True:
            message = self.receive()
            if message.get("id") == msg_id and "method" not in message:
                if "error" in message:
                    raise RpcError(message["error"])
                return message.get("result")

    def initialize(self, options: dict[str, Any] | None = None) -> float:
        """Initialize; return seconds from spawn to the initialize result."""
        self.request(
            "initialize",
            {"processId": os.getpid(), "capabilities": {}, "initializationOptions": options or {}},
        )
        elapsed = time.perf_counter() - self.started
        self.send("initialized", {}, notify=True)
        return elapsed

    def close(self) -> None:
        try:
            self.request("shutdown")
            self.send("exit", notify=True)
            self.proc.wait(timeout=10)
        except (OSError, EOFError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()


def save(path: Path | None, figures: dict[str, Any]) -> None:
    """Write the figures as JSON when `--json PATH` was given."""
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(figures, indent=2))


def summary(values: list[float]) -> dict[str, float]:
    """p50, p99, min, max and count of timings."""
    return {
        "p50": statistics.median(values),
        "p99": percentile(values, 99),
        "min": min(values),
        "max": max(values),
        "n": len(values),
    }


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def machine() -> str:
    """CPU model, cores, memory and Python: the context every figure needs."""
    import platform

    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{mem_kb / 1024 / 1024:.0f} GiB"
    except OSError:
        memory = "? GiB"
    python = f"{platform.python_implementation()} {platform.python_version()}"
    return f"{model}, {os.cpu_count()} cores, {memory}, {platform.machine()}, {python}"


def row(label: str, f: dict[str, float]) -> str:
    return (
        f"{label:<28} {f['p50']:>9.3f} {f['p99']:>9.3f} {f['min']:>9.3f} {f['max']:>9.3f}"
        f" {int(f['n']):>6}"
    )
