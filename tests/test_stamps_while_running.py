"""A folder pack changed on disk while the daemon runs, unseen by its watcher (it missed the
events, or cannot watch that file system), is read again: its files' stamp is compared with the
stored one every few seconds (`Library.recheck_stamps`, run by every face's `watch` loop), as
at start-up. Before, stamps were compared at start-up only."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

import pytest

from d5e_daemon import library as library_module
from d5e_daemon.app import App
from d5e_daemon.features.lookup import lookup
from d5e_daemon.protocol import LookupParams

from .packtools import write_pack


def zap(level: int) -> str:
    return f'{{"name": "Zap", "level": {level}, "desc": "Level {level} zap."}}'


def card(app: App) -> str:
    return lookup(app, LookupParams(ref="brew:spells/zap")).markdown


def touch_later(path: Path) -> None:
    """Make sure the next write shows a new modification time, even on a coarse clock."""
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


def test_an_edit_behind_the_daemons_back_is_read_again(app: App, tmp_path: Path) -> None:
    pack = write_pack(tmp_path / "brew", {"spells/zap.json": zap(1)})
    asyncio.run(app.library.install(path=pack))
    assert "Level 1 zap." in card(app)
    assert asyncio.run(app.library.recheck_stamps()) == []  # nothing changed: nothing read

    (pack / "spells" / "zap.json").write_text(zap(2))
    touch_later(pack / "spells" / "zap.json")
    (result,) = asyncio.run(app.library.recheck_stamps())
    assert result.pack == "brew"
    assert "Level 2 zap." in card(app)
    assert asyncio.run(app.library.recheck_stamps()) == []  # its new stamp was kept

    # files that cannot be read: the last good version stays, said once, not tried each time
    (pack / "spells" / "zap.json").write_text("{not json")
    touch_later(pack / "spells" / "zap.json")
    assert asyncio.run(app.library.recheck_stamps()) == []
    assert "Level 2 zap." in card(app)
    problems = [w for w in app.library.warnings if "zap.json" in w]
    assert len(problems) == 1
    # it said "nothing was installed" alone, as if the pack were gone
    assert problems[0].startswith("live reload of brew: pack brew has 1 problem")
    assert problems[0].endswith(
        "(pack brew stays as it was last read, 1 entry, until the problems are fixed)"
    )
    assert asyncio.run(app.library.recheck_stamps()) == []
    assert [w for w in app.library.warnings if "zap.json" in w] == problems
    (pack / "spells" / "zap.json").write_text(
        "[{not json"
    )  # broken again: one warning, the new one
    touch_later(pack / "spells" / "zap.json")
    assert asyncio.run(app.library.recheck_stamps()) == []
    again = [w for w in app.library.warnings if "zap.json" in w]
    assert len(again) == 1 and again != problems
    (pack / "spells" / "zap.json").write_text(zap(3))  # fixed: read again
    touch_later(pack / "spells" / "zap.json")
    assert [r.pack for r in asyncio.run(app.library.recheck_stamps())] == ["brew"]
    assert "Level 3 zap." in card(app)
    assert not [w for w in app.library.warnings if "zap.json" in w]  # a fixed pack is not broken


def test_the_watch_loop_of_every_face_compares_the_stamps(
    app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`Library.watch` (what `d5e serve` and `d5e mcp` run beside their requests) reads the
    edited pack again within STAMP_CHECK_SECONDS, with no file watcher at all."""
    monkeypatch.setattr(library_module, "STAMP_CHECK_SECONDS", 0.2)
    pack = write_pack(tmp_path / "brew", {"spells/zap.json": zap(1)})
    asyncio.run(app.library.install(path=pack))
    (pack / "spells" / "zap.json").write_text(zap(2))
    touch_later(pack / "spells" / "zap.json")
    changed: list[list[str]] = []
    app.library.on_change(changed.append)

    async def watch_a_while() -> None:
        started = time.monotonic()
        await app.library.watch(lambda: not changed and time.monotonic() - started < 10, 0.05)

    asyncio.run(watch_a_while())
    assert changed == [["brew"]]
    assert "Level 2 zap." in card(app)


def test_a_slow_check_of_the_stamps_waits_longer_before_the_next(
    app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A folder pack of tens of thousands of files takes about a second to stamp: checked every
    STAMP_CHECK_SECONDS it kept a core ~20 % busy while the daemon sat idle. The next check
    waits at least `took / STAMP_CHECK_SHARE`; a quick one keeps the usual pace."""
    assert library_module.stamp_check_pause(0.01) == library_module.STAMP_CHECK_SECONDS == 5.0
    assert library_module.stamp_check_pause(1.0) == 100.0  # 1 s of 1 %

    monkeypatch.setattr(library_module, "STAMP_CHECK_SECONDS", 0.05)
    pack = write_pack(tmp_path / "brew", {"spells/zap.json": zap(1)})
    asyncio.run(app.library.install(path=pack))
    checks: list[float] = []
    stamp = library_module._stale_packs

    def slow_stamps(*args: Any) -> dict[str, str]:
        checks.append(time.monotonic())
        time.sleep(0.02)
        return stamp(*args)

    monkeypatch.setattr(library_module, "_stale_packs", slow_stamps)
    started = time.monotonic()
    asyncio.run(app.library.watch(lambda: time.monotonic() - started < 1.0, 0.01))
    assert len(checks) == 1, checks  # the first after 0.05 s, the next not before 2 s
