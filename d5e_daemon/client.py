"""A small synchronous JSON-RPC client for `d5e serve`, for scripts, tests and benchmarks.

    from d5e_daemon.client import Daemon
    with Daemon(db=Path("campaign.sqlite3")) as d5e:
        d5e.initialize()
        card = d5e.request("d5e/lookup", {"name": "fireball"})["markdown"]

It starts the daemon as a subprocess and speaks JSON-RPC 2.0 with LSP framing over its stdio.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any


class RpcError(Exception):
    """An error response: `.code`, `.message` and `.data` as the daemon sent them."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(f"{error.get('code')}: {error.get('message')}")
        self.code: int = error.get("code", 0)
        self.message: str = error.get("message", "")
        self.data: Any = error.get("data")


class Daemon:
    """`d5e serve` as a subprocess; `request()` sends one request and waits for its answer.

    Notifications and requests from the daemon that arrive meanwhile are kept in `received`.
    """

    def __init__(
        self,
        db: Path | None = None,
        *args: str,
        env: dict[str, str] | None = None,
        stderr: int | None = subprocess.DEVNULL,
        wrapper: Sequence[str] = (),
    ) -> None:
        """`wrapper`: a command the daemon's command line is given to (tests run it in a
        private mount namespace with it)."""
        command = [*wrapper, sys.executable, "-m", "d5e_daemon", "serve"]
        if db is not None:
            command += ["--db", str(db)]
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            [*command, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            env={**os.environ, **(env or {})},
        )
        self.next_id = 0
        self.received: list[dict[str, Any]] = []
        self._buffer = bytearray()
        self._eof = False  # the daemon closed its stdout

    def __enter__(self) -> Daemon:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def write(self, data: bytes) -> None:
        """Raw bytes onto the wire (also for framing tests). What the daemon writes meanwhile is
        read into the buffer: a daemon blocked on a full stdout pipe (diagnostics of a large
        document) reads nothing more, and a client blocked on its stdin would wait forever."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        sink, source = self.proc.stdin.fileno(), self.proc.stdout.fileno()
        os.set_blocking(sink, False)
        view = memoryview(data)
        while view:
            readable, writable, _ = select.select([] if self._eof else [source], [sink], [])
            if readable:
                chunk = os.read(source, 1 << 16)
                self._eof = not chunk
                self._buffer += chunk
            if writable:
                try:
                    view = view[os.write(sink, view[: 1 << 16]) :]
                except BlockingIOError:
                    continue

    def send(self, method: str, params: Any = None, *, notify: bool = False) -> int:
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        if not notify:
            self.next_id += 1
            message["id"] = self.next_id
        body = json.dumps(message).encode()
        self.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        return self.next_id

    def _fill(self, deadline: float | None) -> None:
        """Read what the daemon has written into the buffer, waiting until `deadline`."""
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
        if not select.select([fd], [], [], timeout)[0]:
            raise TimeoutError("no answer from the daemon in time")
        chunk = b"" if self._eof else os.read(fd, 1 << 16)
        if not chunk:
            self._eof = True
            raise EOFError("the daemon closed its stdout")
        self._buffer += chunk

    def receive(self, timeout: float | None = None) -> dict[str, Any]:
        """The next message from the daemon; raises TimeoutError after `timeout` seconds."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while b"\r\n\r\n" not in self._buffer:
            self._fill(deadline)
        head, _, rest = bytes(self._buffer).partition(b"\r\n\r\n")
        length = None
        for line in head.split(b"\r\n"):
            name, _, value = line.decode("ascii").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        if length is None:
            raise ValueError(f"a message without Content-Length: {head!r}")
        while len(rest) < length:
            self._fill(deadline)
            rest = bytes(self._buffer).partition(b"\r\n\r\n")[2]
        self._buffer = bytearray(rest[length:])
        message: dict[str, Any] = json.loads(rest[:length])
        return message

    def wait_for(self, msg_id: int, timeout: float | None = None) -> Any:
        """The result of request `msg_id` (RpcError for an error), keeping other messages."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            message = self.receive(left)
            if message.get("id") == msg_id and "method" not in message:
                if "error" in message:
                    raise RpcError(message["error"])
                return message.get("result")
            self.received.append(message)

    def request(self, method: str, params: Any = None, timeout: float | None = None) -> Any:
        return self.wait_for(self.send(method, params), timeout)

    def initialize(
        self, options: dict[str, Any] | None = None, *, initialized: bool = True
    ) -> float:
        """Initialize (and send `initialized` unless told not to: the daemon starts its
        background work on it); return seconds from spawn to the result."""
        self.request(
            "initialize",
            {"processId": os.getpid(), "capabilities": {}, "initializationOptions": options or {}},
        )
        elapsed = time.perf_counter() - self.started
        if initialized:
            self.send("initialized", {}, notify=True)
        return elapsed

    def close(self) -> int:
        """Shut down politely (or kill); return the exit code."""
        if self.proc.poll() is None:
            try:
                self.request("shutdown", timeout=10)
                self.send("exit", notify=True)
                self.proc.wait(timeout=10)
            except (OSError, EOFError, ValueError, RpcError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()
        return self.proc.returncode
