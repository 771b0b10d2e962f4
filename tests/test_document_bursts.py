"""No document can stall the daemon: a 20 MB Markdown file of unknown tags, and 1,000 `didChange`
on a 100 KB document, over a real `d5e serve`. Diagnostics are capped per document (one more
says how many are not shown), changes are published together after a quiet period, and the
work is done in slices with requests answered between them. The bounds here are loose (a loaded
machine); `bench/markdown.py --bursts` measures the latencies."""

from __future__ import annotations

import asyncio
import json
import os
import select
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from pygls.workspace import TextDocument

from d5e_daemon.app import App
from d5e_daemon.client import Daemon
from d5e_daemon.features.markdown import MAX_DIAGNOSTICS, DiagnosticsPass
from d5e_daemon.features.tags import Resolver
from d5e_daemon.jsonrpc import BoundedReader

URI = "file:///campaign/notes.md"


def open_doc(d: Daemon, text: str) -> None:
    d.send(
        "textDocument/didOpen",
        {"textDocument": {"uri": URI, "languageId": "markdown", "version": 1, "text": text}},
        notify=True,
    )


def timed_lookup(d: Daemon) -> float:
    started = time.perf_counter()
    assert d.request("d5e/lookup", {"ref": "spells/fireball"}, timeout=60)["entry"]["pack"]
    return time.perf_counter() - started


def published(d: Daemon) -> list[dict[str, Any]]:
    return [
        m["params"]
        for m in d.received
        if m.get("method") == "textDocument/publishDiagnostics" and m["params"]["uri"] == URI
    ]


def output_bytes(d: Daemon) -> int:
    return sum(len(json.dumps(m)) for m in d.received)


def wait_published(d: Daemon, version: int, seconds: float) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        done = [p for p in published(d) if p.get("version") == version]
        if done:
            return done[-1]
        timed_lookup(d)  # reads what arrived meanwhile
        time.sleep(0.05)
    raise AssertionError(f"version {version} was never published")


@pytest.mark.slow
def test_a_20_mb_document_of_unknown_tags(db_path: Path) -> None:
    line = "".join(f"{{@nosuch{i % 1000} x}} " for i in range(100)) + "\n"
    text = line * (20_000_000 // len(line))
    with Daemon(db_path) as d:
        d.initialize()
        timed_lookup(d)
        open_doc(d, text)
        timed_lookup(d)  # waits for the 20 MB message to be read and decoded
        waits = []
        deadline = time.monotonic() + 300
        while not published(d) and time.monotonic() < deadline:
            waits.append(timed_lookup(d))
            time.sleep(0.05)
        (result,) = published(d)
        assert len(result["diagnostics"]) == MAX_DIAGNOSTICS + 1
        more = result["diagnostics"][-1]
        assert more["code"] == "more"
        shown = text.count("{@") - MAX_DIAGNOSTICS
        assert more["message"].startswith(f"{shown} more problem(s)")
        assert output_bytes(d) < 1_000_000  # was 321 MB
        assert waits and max(waits) < 2.0, sorted(waits)[-5:]  # was 33 s


@pytest.mark.slow
def test_a_burst_of_1000_changes(db_path: Path) -> None:
    line = "A {@spell fireball} and {@spell nosuch} and {@creature gobbo}.\n"
    text = line * (100_000 // len(line))
    with Daemon(db_path) as d:
        d.initialize()
        open_doc(d, text)
        wait_published(d, 1, 60)
        before = output_bytes(d)
        waits = []
        for version in range(2, 1002):
            edited = text + f"edit {version}\n"
            d.send(
                "textDocument/didChange",
                {
                    "textDocument": {"uri": URI, "version": version},
                    "contentChanges": [{"text": edited}],
                },
                notify=True,
            )
            if version % 50 == 0:
                waits.append(timed_lookup(d))
        last = wait_published(d, 1001, 120)
        assert len(last["diagnostics"]) == MAX_DIAGNOSTICS + 1
        passes = len(published(d)) - 1
        assert passes < 100, passes  # published together, not once per change
        assert output_bytes(d) - before < 40_000_000  # was 846 MB
        assert max(waits) < 2.0, sorted(waits)[-5:]  # was 12.7 s


# -- requests first: a pass yields to a message as soon as it arrives ---------------------------


def test_the_reader_says_when_a_message_is_arriving() -> None:
    """`BoundedReader.idle` is True only while it waits for a message of which nothing has
    come yet; a diagnostics pass runs only then."""

    async def main() -> list[bool]:
        read_end, write_end = os.pipe()
        seen: list[bool] = []
        with os.fdopen(read_end, "rb") as stdin, ThreadPoolExecutor(1) as pool:
            reader = BoundedReader(stdin, pool, lambda message: None)
            header = asyncio.ensure_future(reader.readline())
            await asyncio.sleep(0.05)
            seen.append(reader.idle)  # waiting, nothing sent: idle
            os.write(write_end, b"Content-Length: 2\r\n")
            await header
            seen.append(reader.idle)  # a message is arriving
            blank = asyncio.ensure_future(reader.readline())
            await asyncio.sleep(0.05)
            seen.append(reader.idle)  # half a message: still arriving
            os.write(write_end, b"\r\n{}")
            await blank
            await reader.readexactly(2)
            waiting = asyncio.ensure_future(reader.readline())
            await asyncio.sleep(0.05)
            seen.append(reader.idle)  # the message was read: idle again
            started = time.monotonic()
            await reader.requests_first(0.0, 1.0)
            seen.append(time.monotonic() - started < 0.5)  # idle: no wait
            os.write(write_end, b"Content-Length: 2\r\n")
            await waiting
            started = time.monotonic()
            await reader.requests_first(0.0, 0.2)  # arriving, never finished: waits, bounded
            seen.append(0.15 < time.monotonic() - started < 1.0)
            os.close(write_end)
        return seen

    assert asyncio.run(main()) == [True, False, False, True, True, True]


def test_a_message_waits_on_stdin_until_the_event_loop_reads_it() -> None:
    """While the event loop works (a slice of a pass, no await), an arriving message stays in
    the pipe, where `busy` sees it, and is read by the loop once the slice is over. A reader's
    thread blocked in `read` took the bytes out of the pipe at once and then waited for
    Python's lock, which the loop, releasing it for every database call, kept taking back
    first: slices saw no bytes waiting and went on, and a lookup waited 0.2-0.3 s."""

    async def main() -> None:
        read_end, write_end = os.pipe()
        with os.fdopen(read_end, "rb") as stdin, ThreadPoolExecutor(1) as pool:
            reader = BoundedReader(stdin, pool, lambda message: None)
            header = asyncio.ensure_future(reader.readline())
            await asyncio.sleep(0.05)  # the reader waits for a message
            assert not reader.busy()
            os.write(write_end, b"Content-Length: 2\r\n\r\n{}")
            time.sleep(0.2)  # the loop busy with a slice: no await (any thread could run)
            assert select.select([read_end], [], [], 0)[0], "a thread took the bytes"
            assert reader.busy()
            time.sleep(0.01)
            assert reader.busy()  # still: nothing was read yet
            assert await header == b"Content-Length: 2\r\n"
            assert await reader.readline() == b"\r\n"
            assert await reader.readexactly(2) == b"{}"
            waiting = asyncio.ensure_future(reader.readline())
            await asyncio.sleep(0.05)
            assert reader.idle and not reader.busy()
            os.close(write_end)
            assert await waiting == b""  # the end of stdin

    asyncio.run(main())


def test_messages_from_a_file_are_read_too(tmp_path: Path) -> None:
    """A stdin the event loop cannot watch (a regular file: `d5e serve < requests`) is read
    by a thread: the same messages, the same bounds."""
    huge = b"Content-Length: 99999999999\r\n\r\n" + b"x" * 5000
    sent = huge + b"Content-Length: 2\r\n\r\n{}" + b"Content-Length: 4\r\n\r\n[1] "
    path = tmp_path / "requests"
    path.write_bytes(sent)
    refused: list[str] = []

    async def main() -> list[bytes]:
        with path.open("rb") as stdin, ThreadPoolExecutor(1) as pool:
            reader = BoundedReader(stdin, pool, refused.append)
            got = []
            for size in (2, 4):
                assert (await reader.readline()).startswith(b"Content-Length: ")
                assert await reader.readline() == b"\r\n"
                got.append(await reader.readexactly(size))
            assert await reader.readline() == b""
            return got

    assert asyncio.run(main()) == [b"{}", b"[1] "]
    assert len(refused) == 1 and "message too large" in refused[0]


def test_a_slice_stops_when_a_request_arrives(app: App) -> None:
    resolver = Resolver(app)
    lines = [f"{{@spell nosuch{i}}} {{@spell fireball}}" for i in range(50)]
    work = DiagnosticsPass(resolver, TextDocument(URI, "\n".join(lines), version=1))
    asked = 0

    def arriving() -> bool:
        nonlocal asked
        asked += 1
        return asked >= 3

    assert not work.run(60.0, arriving)  # a minute of time, but a message came: it stops
    # asked before the first step, then after each tag: the second tag of line 0 was the last
    assert (work.line, asked) == (0, 3)
    while not work.run(60.0):
        pass
    assert len(work.diagnostics()) == 50


def test_bytes_waiting_on_stdin_make_the_reader_busy_before_its_thread_reads_them() -> None:
    """A slice stops for a message whose bytes wait on stdin even while the reader's thread
    has not had the GIL yet to read them (`busy` looks at the file descriptor)."""
    read_end, write_end = os.pipe()
    with os.fdopen(read_end, "rb") as stdin, ThreadPoolExecutor(1) as pool:
        reader = BoundedReader(stdin, pool, lambda message: None)
        reader.idle = True  # as while its thread waits for a message
        time.sleep(0.01)
        assert not reader.busy()
        os.write(write_end, b"Content-Length: 2\r\n\r\n{}")
        time.sleep(0.01)
        assert reader.busy()
        os.close(write_end)
