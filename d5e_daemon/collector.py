"""Python's garbage collector paced by the daemon's work, so that it never stalls a request.

A full collection scans every object the collector tracks. The first pass over a large document
makes millions of objects (each line's tags, facts, references), and full collections in the
middle of it held the event loop: 0.8 s in one go and 7 s in all for a 20 MB document, while
lookups waited. So each slice of a pass ends with `after_slice`: what the slice made and still
holds is frozen (`gc.freeze`, out of the collector's way, as start-up's objects are), and a
collection then scans only what the next slice makes.

Objects that die by their reference count are freed whether frozen or not; only cyclic garbage
among frozen objects waits. `sweep` collects it: everything is unfrozen, collected once and
frozen again, `SWEEP_AFTER` seconds after the last slice, when nothing is being worked on.
"""

from __future__ import annotations

import asyncio
import gc
import time

SWEEP_AFTER = 30.0
"""Seconds without a slice before what slices froze is swept for cyclic garbage."""


class Collector:
    def __init__(self) -> None:
        self.unswept = False
        """Whether objects were frozen since the last sweep."""
        self._last_slice = 0.0
        self._sweep: asyncio.TimerHandle | None = None

    def after_slice(self) -> None:
        """A slice of work is done: freeze what it left, and sweep once the work has stopped."""
        gc.freeze()
        self.unswept = True
        self._last_slice = time.monotonic()
        if self._sweep is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # outside the event loop: the caller sweeps
                return
            self._sweep = loop.call_later(SWEEP_AFTER, self._sweep_if_quiet)

    def _sweep_if_quiet(self) -> None:
        self._sweep = None
        quiet = time.monotonic() - self._last_slice
        if quiet >= SWEEP_AFTER:
            self.sweep()
        else:  # slices since: look again when they will have stopped long enough
            loop = asyncio.get_running_loop()
            self._sweep = loop.call_later(SWEEP_AFTER - quiet, self._sweep_if_quiet)

    def sweep(self) -> None:
        """Collect the cyclic garbage among what slices froze; freeze the survivors again."""
        if not self.unswept:
            return
        gc.unfreeze()
        gc.collect()
        gc.freeze()
        self.unswept = False


COLLECTOR = Collector()
"""The daemon's one collector pacing (the garbage collector is one per process)."""
