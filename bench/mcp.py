"""`d5e mcp` beside `d5e serve`, in the same run, on one database holding the SRD.

    .venv/bin/python bench/mcp.py [--runs 3] [--starts 10] [--requests 500] [--json FILE]

Each run measures, alternating the two faces: spawn → `initialize` result (`--starts` fresh
processes of each); the p50/p99 round trip of a `lookup` tool call against `d5e/lookup`, and of
a `search` tool call against `d5e/search` (keyword and hybrid, 10 hits; and hybrid asking 500,
which `d5e mcp` cuts to fit a model's context), `--requests` each. The MCP
client here is a plain newline-delimited JSON one (as `d5e_daemon.client` is for LSP framing),
so both figures are the servers' own cost plus one pipe round trip.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from driver import Daemon, Figures, compile_sources, timed_requests
from rpc import LOOKUPS

QUERIES = [
    "breathe under water",
    "undead whose touch paralyses",
    "fire damage in a sphere",
    "a chest that is secretly a monster",
    "heal a friend from afar",
    "turn someone into a frog",
]


class Mcp:
    """`d5e mcp` on a pipe: one request at a time, newline-delimited JSON."""

    def __init__(self, db: Path) -> None:
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "d5e_daemon", "mcp", "--db", str(db)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=os.environ.copy(),
        )
        self.next_id = 0

    def send(self, method: str, params: Any = None, notify: bool = False) -> int:
        assert self.proc.stdin is not None
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        if not notify:
            self.next_id += 1
            message["id"] = self.next_id
        self.proc.stdin.write(json.dumps(message).encode() + b"\n")
        self.proc.stdin.flush()
        return self.next_id

    def request(self, method: str, params: Any = None) -> Any:
        msg_id = self.send(method, params)
        assert self.proc.stdout is not None
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise EOFError("d5e mcp closed its output")
            message = json.loads(line)
            if message.get("id") == msg_id:
                if "error" in message:
                    raise RuntimeError(message["error"])
                return message["result"]

    def initialize(self) -> float:
        self.request(
            "initialize",
            {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "bench", "version": "0"},
            },
        )
        elapsed = time.perf_counter() - self.started
        self.send("notifications/initialized", notify=True)
        return elapsed

    def call(self, tool: str, arguments: dict[str, Any]) -> Any:
        result = self.request("tools/call", {"name": tool, "arguments": arguments})
        if result.get("isError"):
            raise RuntimeError(result["content"])
        return result

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def timed_calls(server: Mcp, tool: str, arguments: list[dict[str, Any]], n: int) -> list[float]:
    times = []
    for i in range(n):
        started = time.perf_counter()
        server.call(tool, arguments[i % len(arguments)])
        times.append((time.perf_counter() - started) * 1000)
    return times


def wait_for_index(daemon: Daemon, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        index = daemon.request("d5e/status").get("index") or {}
        if index.get("ready"):
            return
        time.sleep(1)
    raise TimeoutError("the search index was not ready in time")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--starts", type=int, default=10)
    ap.add_argument("--requests", type=int, default=500)
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    figures = Figures("mcp", "`d5e mcp` beside `d5e serve` (`bench/mcp.py`)", "bench/mcp.py")
    compile_sources()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "d5e.sqlite3"
        with Daemon(db) as first:
            first.initialize()  # builds the database on the SRD and its search index
            wait_for_index(first)
        searches = {
            mode: [{"query": q, "mode": mode, "limit": 10} for q in QUERIES]
            for mode in ("keyword", "hybrid")
        }
        # an answer longer than a model's context: `d5e mcp` cuts it to fit (`ANSWER_CHARS`)
        searches["hybrid, 500 hits"] = [{"query": q, "limit": 500} for q in QUERIES]
        for _ in range(args.runs):
            serve_starts, mcp_starts = [], []
            for _ in range(args.starts):
                daemon = Daemon(db)
                serve_starts.append(daemon.initialize() * 1000)
                daemon.close()
                server = Mcp(db)
                mcp_starts.append(server.initialize() * 1000)
                server.close()
            figures.latency("spawn → `initialize` result", "`d5e serve`", serve_starts)
            figures.latency("spawn → `initialize` result", "`d5e mcp`", mcp_starts)
            with Daemon(db) as daemon:
                daemon.initialize()
                server = Mcp(db)
                server.initialize()
                try:
                    timed_requests(daemon, "d5e/lookup", LOOKUPS, 100)  # warm-up
                    timed_calls(server, "lookup", LOOKUPS, 100)
                    for params in searches.values():  # the model loads on the first
                        timed_requests(daemon, "d5e/search", params, 10)
                        timed_calls(server, "search", params, 10)
                    lookups = timed_requests(daemon, "d5e/lookup", LOOKUPS, args.requests)
                    tool_lookups = timed_calls(server, "lookup", LOOKUPS, args.requests)
                    figures.latency("lookup", "`d5e/lookup` (d5e serve)", lookups)
                    figures.latency("lookup", "`lookup` tool call (d5e mcp)", tool_lookups)
                    for mode, params in searches.items():
                        n = max(args.requests // 5, 20)
                        served = timed_requests(daemon, "d5e/search", params, n)
                        called = timed_calls(server, "search", params, n)
                        figures.latency(f"search, {mode}", "`d5e/search` (d5e serve)", served)
                        figures.latency(f"search, {mode}", "`search` tool call (d5e mcp)", called)
                finally:
                    server.close()
    figures.save(args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
