"""Homebrew packs at scale, measured over real stdio against `d5e serve`.

    .venv/bin/python bench/packs.py [--entries 10000] [--runs 3] [--reloads 20] [--json FILE]

Generates a pack of `--entries` entries (`bench/brew.py`: made from SRD records, seed 5; spells
as Markdown files, monsters and magic items in JSON lists of 100, a tenth of the monsters
extending the SRD goblin), then reports, per run (a fresh daemon on a fresh copy of a database
holding both SRD packs):
- install: `d5e/packs/install` of the new pack;
- re-install unchanged: the same request again (a no-op by content hash), 5 times;
- live reload: one spell's file edited on disk → the time until `d5e/lookup` returns the new
  content, through the daemon's watcher, and through `workspace/didChangeWatchedFiles`;
- lookup round-trips while an upgrade of the pack runs in the same daemon, and the daemon's
  RSS after the install.
"""

from __future__ import annotations

import argparse
import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from brew import generate
from driver import Daemon, Figures, memory

RELOAD = "live reload: a saved edit → a lookup showing it"


def rss_mb(daemon: Daemon) -> float:
    return memory(daemon.proc.pid)["VmRSS"]


def timed(fn: Any) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def shown(daemon: Daemon, ref: str) -> Any:
    return daemon.request("d5e/lookup", {"ref": ref})["entry"]["data"]["range"]


def spell_file(pack: Path) -> tuple[Path, str]:
    """A spell of the pack to edit, and its ref."""
    path = sorted((pack / "spells").glob("*.md"))[42]
    return path, f"spells/{path.stem}"


def with_range(text: str, value: str) -> str:
    return re.sub(r"^range: .*$", f"range: {value}", text, count=1, flags=re.MULTILINE)


def measure_install(base: Path, pack: Path, figures: Figures) -> None:
    db = base / "install.sqlite3"
    shutil.copy(base / "srd.sqlite3", db)
    noops, during = [], []
    with Daemon(db) as daemon:
        daemon.initialize()
        daemon.request("d5e/lookup", {"ref": "spells/fireball"})
        install = timed(lambda: daemon.request("d5e/packs/install", {"path": str(pack)}))
        for _ in range(5):
            noops.append(timed(lambda: daemon.request("d5e/packs/install", {"path": str(pack)})))
        rss = rss_mb(daemon)
        # lookups answered while an upgrade runs in the same daemon (pipelined requests)
        spell, _ = spell_file(pack)
        original = spell.read_text()
        spell.write_text(with_range(original, "61 feet"))
        install_id = daemon.send("d5e/packs/install", {"path": str(pack)})
        sent = {}
        for _ in range(20):
            sent[daemon.send("d5e/lookup", {"ref": "spells/fireball"})] = time.perf_counter()
        pending = set(sent) | {install_id}
        while pending:
            message = daemon.receive()
            if message.get("id") in sent:
                during.append((time.perf_counter() - sent[message["id"]]) * 1000)
            pending.discard(message.get("id", -1))
        spell.write_text(original)
    figures.value("install", "install of the new pack (fresh daemon)", install, "s")
    figures.latency("install", "re-install unchanged (no-op by content hash)", noops, "s")
    figures.latency("install", "`d5e/lookup` while an upgrade of the pack runs", during)
    figures.value("install", "daemon RSS after the install", rss, "MB")


def measure_reload(base: Path, pack: Path, reloads: int, *, watcher: bool) -> list[float]:
    """Edit one entry; seconds until a lookup shows it (watcher, or the editor's notice)."""
    db = base / f"reload-{watcher}.sqlite3"
    shutil.copy(base / "srd.sqlite3", db)
    spell, ref = spell_file(pack)
    original = spell.read_text()
    times = []
    with Daemon(db) as daemon:
        try:
            daemon.initialize({"watch": watcher})
            daemon.request("d5e/packs/install", {"path": str(pack)})
            for i in range(reloads):
                wanted = f"{100 + i} feet"
                start = time.perf_counter()
                spell.write_text(with_range(original, wanted))
                if not watcher:
                    change = {"changes": [{"uri": spell.resolve().as_uri(), "type": 2}]}
                    daemon.send("workspace/didChangeWatchedFiles", change, notify=True)
                while shown(daemon, ref) != wanted:
                    if time.perf_counter() - start > 10:
                        raise RuntimeError("the edit never showed up")
                times.append(time.perf_counter() - start)
                time.sleep(0.05)
        finally:
            spell.write_text(original)
    return times


def build_srd(base: Path) -> None:
    daemon = Daemon(base / "srd.sqlite3")
    try:
        daemon.initialize()
    finally:
        daemon.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--reloads", type=int, default=20)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    figures = Figures(
        "packs", "Homebrew packs (`bench/packs.py`)", f"bench/packs.py --entries {args.entries}"
    )
    with tempfile.TemporaryDirectory(prefix="d5e-bench-packs-") as tmp:
        base = Path(tmp)
        build_srd(base)
        pack = generate(base, args.entries)
        figures.fact("pack", f"{args.entries:,} generated entries")
        for _ in range(args.runs):
            measure_install(base, pack, figures)
            for watcher, label in ((True, "watcher"), (False, "`workspace/didChangeWatchedFiles`")):
                times = measure_reload(base, pack, args.reloads, watcher=watcher)
                figures.latency(RELOAD, label, times, "s")
    figures.save(args.json)


if __name__ == "__main__":
    main()
