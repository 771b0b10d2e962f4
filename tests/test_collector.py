"""The garbage collector paced by the daemon's passes (`collector.py`): a large document's pass
leaves the collector little to scan at any time, and cyclic garbage frozen meanwhile is still
collected by the sweep."""

from __future__ import annotations

import asyncio
import gc
import weakref

import pytest

from d5e_daemon import collector, publishing
from d5e_daemon.app import App
from d5e_daemon.collector import COLLECTOR, Collector
from d5e_daemon.features.tags import Resolver
from d5e_daemon.publishing import Publisher
from d5e_daemon.textdoc import LineDocument

URI = "file:///campaign/long.md"
LINES = 10_000
"""The large document's lines: its pass makes ~80,000 tracked objects (~8 a line), all of them in
a collection's way if slices froze nothing."""


class Cycle:
    def __init__(self) -> None:
        self.me = self


def test_the_sweep_collects_cyclic_garbage_that_a_slice_froze() -> None:
    collector = Collector()
    cycle = Cycle()
    alive = weakref.ref(cycle)
    collector.after_slice()  # the cycle was alive when the slice ended: frozen with it
    del cycle
    gc.collect()
    assert alive() is not None  # out of the collector's way until the sweep
    collector.sweep()
    assert alive() is None
    assert not collector.unswept


@pytest.mark.slow
async def test_a_large_pass_leaves_the_collector_little_to_scan(app: App) -> None:
    """A full collection scans every tracked object that is not frozen: during the pass of a
    large document that stays about what one slice makes, not what the whole pass made. Every
    line names the same unknown spell: the lines differ, each makes its tags and problem, and
    the resolver's cache answers all but the first (10,000 different ones, each asking for "did
    you mean" suggestions, were ~9.6 s of CPU; with slices freezing nothing the pass still
    leaves ~140,000 objects tracked)."""
    text = "".join(
        f"Room {n}: the {{@creature goblin}} meets {{@spell nosuch}}, **{n % 9} wolves**.\n"
        for n in range(LINES)
    )
    doc = LineDocument(URI, text, version=1, language_id="markdown")
    resolver = Resolver(app)
    publisher = Publisher({URI: doc}.get, lambda: resolver, lambda _: None)
    gc.collect()
    gc.freeze()
    tracked: list[int] = []

    async def watch() -> None:
        while True:  # runs in each pause between two slices (where nothing else runs)
            tracked.append(len(gc.get_objects()))
            await asyncio.sleep(publishing.PASS_GAP_SECONDS / 2)

    watcher = asyncio.ensure_future(watch())
    try:
        facts = await publisher.facts_of(doc)
    finally:
        watcher.cancel()
        COLLECTOR.sweep()
    assert len(facts.tags) >= LINES  # the pass did make its objects
    assert len(tracked) > 10  # it ran in slices, watched in between
    assert max(tracked) < LINES, max(tracked)


async def test_the_sweep_waits_until_slices_have_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(collector, "SWEEP_AFTER", 0.2)
    pacing = Collector()
    cycle = Cycle()
    alive = weakref.ref(cycle)
    pacing.after_slice()
    del cycle
    for _ in range(5):  # slices keep coming: no sweep in their midst
        await asyncio.sleep(0.1)
        pacing.after_slice()
    assert alive() is not None
    await asyncio.sleep(0.5)  # quiet for longer than SWEEP_AFTER
    assert alive() is None
    assert not pacing.unswept
