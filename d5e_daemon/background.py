"""The daemon's background indexing: after start, install and live reload, off the main thread,
reporting LSP work-done progress (`window/workDoneProgress/create`, then `$/progress`
begin/report/end) to clients that support it.

Lookups and keyword search go on meanwhile: the indexer reads through a connection of its own,
embeds in its thread (onnxruntime releases the GIL) and hands each batch's writes to the single
writer thread. A change that arrives during a run makes the run go round once more.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from typing import Any

from .app import App
from .errors import D5eError

log = logging.getLogger(__name__)

REPORT_EVERY_S = 0.5
RETRY_FIRST_S = 5.0
RETRY_MAX_S = 300.0
"""A failed run (the disk full, the database failing) is tried again after 5 s, then after
twice as long each time, at most 5 minutes; meanwhile `d5e/status` says why."""


class BackgroundIndexer:
    def __init__(self, app: App, server: Any, loop: asyncio.AbstractEventLoop, progress: bool):
        self.app = app
        self.server = server
        self.loop = loop
        self.progress = progress
        self._lock = threading.Lock()
        self._again = False
        self._thread: threading.Thread | None = None
        self._runs = 0
        self._failure: str | None = None
        self._stop_event = threading.Event()
        self.stopped = False
        app.search.background = True
        app.library.on_change(lambda pack_ids: self.schedule())

    def schedule(self) -> None:
        """Index now, or once more after the run under way."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                self._again = True
                return
            self._thread = threading.Thread(target=self._loop, name="d5e-index", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 30.0, wait_for_load: bool = True) -> None:
        """Stop after the current batch and wait for the thread (onnxruntime must not be
        running when the interpreter exits), and for a model loading unless not
        `wait_for_load` (`SearchIndex.stop`)."""
        self.stopped = True
        self._stop_event.set()
        self.app.search.stop(wait_for_load)
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _loop(self) -> None:
        delay = RETRY_FIRST_S
        while True:
            try:
                self._run()
            except Exception as exc:
                if self.stopped:
                    return
                self._report(exc, delay)
                if self._stop_event.wait(delay):
                    return
                delay = min(delay * 2, RETRY_MAX_S)
                continue
            self._report(None, 0)
            delay = RETRY_FIRST_S
            with self._lock:
                if not self._again or self.stopped:
                    return
                self._again = False

    def _report(self, exc: Exception | None, delay: float) -> None:
        """Say in `d5e/status` (warnings) why indexing stopped and when it tries again; forget
        it once a run succeeds."""
        warnings = self.app.library.warnings
        if self._failure in warnings:
            warnings.remove(self._failure)
        self._failure = None
        if exc is None:
            return
        what = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
        if not isinstance(exc, D5eError):
            log.exception("background indexing failed")
        else:
            log.warning("background indexing failed: %s", what)
        self._failure = f"search indexing failed: {what}; trying again in {delay:.0f} s"
        warnings.append(self._failure)

    def _run(self) -> None:
        index = self.app.search
        if self.stopped:
            return
        self._runs += 1
        token = f"d5e-index-{self._runs}"
        reporter = _Reporter(self, token) if self.progress else None
        state = index.build(progress=reporter)
        if reporter is not None:
            reporter.end(f"{state.indexed} of {state.entries} entries indexed")

    # -- sending from this thread through the server's event loop ---------------------------------

    def call(self, fn: Any, *args: Any) -> None:
        self.loop.call_soon_threadsafe(fn, *args)

    def create_token(self, token: str) -> bool:
        future = asyncio.run_coroutine_threadsafe(
            self.server.work_done_progress.create_async(token), self.loop
        )
        try:
            future.result(timeout=10)
            return True
        except Exception as exc:
            log.info("client refused work-done progress: %s", exc)
            return False


class _Reporter:
    """`progress(done, total)` → `$/progress` begin (first call), reports at most every 0.5 s."""

    def __init__(self, owner: BackgroundIndexer, token: str) -> None:
        self.owner = owner
        self.token = token
        self.begun = False
        self.usable = True
        self.last = 0.0

    def __call__(self, done: int, total: int) -> None:
        if not self.usable or (total == 0 and not self.begun):
            return
        progress = self.owner.server.work_done_progress
        percentage = 100 * done // total if total else 100
        message = f"{done}/{total} entries"
        from lsprotocol import types  # here: `d5e mcp` runs the indexer without LSP types

        if not self.begun:
            self.usable = self.owner.create_token(self.token)
            if not self.usable:
                return
            self.begun = True
            value = types.WorkDoneProgressBegin(
                title="d5e: indexing for semantic search",
                cancellable=False,
                message=message,
                percentage=percentage,
            )
            self.owner.call(progress.begin, self.token, value)
            return
        now = time.monotonic()
        if now - self.last >= REPORT_EVERY_S or done == total:
            self.last = now
            report = types.WorkDoneProgressReport(message=message, percentage=percentage)
            self.owner.call(progress.report, self.token, report)

    def end(self, message: str) -> None:
        from lsprotocol import types

        if self.begun:
            progress = self.owner.server.work_done_progress
            self.owner.call(progress.end, self.token, types.WorkDoneProgressEnd(message=message))
