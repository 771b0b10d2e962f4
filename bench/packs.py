"""Homebrew packs at scale, measured over real stdio against `d5e serve`.

    .venv/bin/python bench/packs.py [--entries 10000] [--runs 3] [--reloads 20] [--json FILE]

Generates a pack of `--entries` entries (deterministic: half Markdown files of one spell each,
half monsters in JSON lists of 100, a tenth of those extending the SRD goblin), then reports:
- install: `d5e/packs/install` of the new pack into a database holding the SRD, each run in a
  fresh daemon on a fresh copy of the database;
- re-install unchanged: the same request again in the same daemon (a no-op by content hash);
- live reload: one entry's file edited on disk → the time until `d5e/lookup` returns the new
  content, through the daemon's watcher, and through `workspace/didChangeWatchedFiles`;
- lookup round-trips while an install runs in the same daemon, and the daemon's RSS after it.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from driver import Daemon, machine, percentile

SCHOOLS = ["abjuration", "conjuration", "divination", "enchantment", "evocation", "illusion"]
WORDS = [
    "ash",
    "bone",
    "cinder",
    "dusk",
    "ember",
    "frost",
    "gloom",
    "hollow",
    "iron",
    "mire",
    "night",
    "oak",
    "pale",
    "rust",
    "thorn",
]


def generate(root: Path, entries: int, seed: int = 5) -> Path:
    """A pack of `entries` entries under `root/bench-brew`."""
    rng = random.Random(seed)
    pack = root / "bench-brew"
    (pack / "spells").mkdir(parents=True)
    (pack / "monsters").mkdir()
    (pack / "pack.toml").write_text('id = "bench-brew"\ntitle = "Bench Brew"\nversion = "1"\n')
    spells = entries // 2
    for i in range(spells):
        name = f"{rng.choice(WORDS).title()} {rng.choice(WORDS).title()} {i}"
        text = " ".join(rng.choice(WORDS) for _ in range(60))
        (pack / "spells" / f"spell-{i:05d}.md").write_text(
            f"---\nname: {name}\nslug: spell-{i:05d}\nlevel: {rng.randint(0, 9)}\n"
            f"school: {rng.choice(SCHOOLS)}\n"
            f"casting_time: 1 action\nrange: 60 feet\ncomponents: [V, S]\n"
            f"duration: Instantaneous\nclasses: [wizard, sorcerer]\n---\n{text}.\n\n{text}.\n"
        )
    monsters = entries - spells
    for start in range(0, monsters, 100):
        batch = []
        for i in range(start, min(start + 100, monsters)):
            name = f"{rng.choice(WORDS).title()} Horror {i}"
            if i % 10 == 0:
                batch.append({"name": name, "extends": "srd-2014:monsters/goblin", "xp": i})
            else:
                batch.append(
                    {
                        "name": name,
                        "size": "Medium",
                        "type": "aberration",
                        "hit_points": rng.randint(5, 200),
                        "challenge_rating": rng.randint(0, 20),
                        "actions": [
                            {"name": "Claw", "desc": " ".join(rng.choice(WORDS) for _ in range(20))}
                        ],
                        "desc": " ".join(rng.choice(WORDS) for _ in range(80)),
                    }
                )
        (pack / "monsters" / f"horrors-{start // 100:03d}.json").write_text(json.dumps(batch))
    return pack


def summary(values: list[float]) -> dict[str, float]:
    return {
        "p50": statistics.median(values),
        "p90": percentile(values, 90),
        "min": min(values),
        "max": max(values),
        "n": len(values),
    }


def rss_mb(daemon: Daemon) -> float:
    for line in Path(f"/proc/{daemon.proc.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def timed(fn: Any) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def measure_install(base: Path, pack: Path, runs: int) -> dict[str, Any]:
    installs, noops, during = [], [], []
    rss = 0.0
    for run in range(runs):
        db = base / f"run-{run}.sqlite3"
        shutil.copy(base / "srd.sqlite3", db)
        daemon = Daemon(db)
        try:
            daemon.initialize()
            daemon.request("d5e/lookup", {"ref": "spells/fireball"})
            installs.append(
                timed(lambda d=daemon: d.request("d5e/packs/install", {"path": str(pack)}))
            )
            for _ in range(5):
                noops.append(
                    timed(lambda d=daemon: d.request("d5e/packs/install", {"path": str(pack)}))
                )
            rss = rss_mb(daemon)
            # lookups answered while an upgrade runs in the same daemon (pipelined requests)
            spell = pack / "spells" / "spell-00000.md"
            original = spell.read_text()
            spell.write_text(original.replace("range: 60 feet", f"range: {run + 61} feet"))
            install_id = daemon.send("d5e/packs/install", {"path": str(pack)})
            sent = {}
            for _ in range(20):
                sent[daemon.send("d5e/lookup", {"ref": "spells/fireball"})] = time.perf_counter()
            pending = set(sent) | {install_id}
            while pending:
                message = daemon.receive()
                if message.get("id") in sent:
                    during.append(time.perf_counter() - sent[message["id"]])
                pending.discard(message.get("id", -1))
            spell.write_text(original)
        finally:
            daemon.close()
    return {
        "install": summary(installs),
        "reinstall_unchanged": summary(noops),
        "lookup_during_install": summary(during),
        "rss_mb_after_install": rss,
    }


def measure_reload(base: Path, pack: Path, reloads: int, *, watcher: bool) -> dict[str, float]:
    """Edit one entry; time until a lookup shows it (watcher, or the editor's notification)."""
    db = base / f"reload-{watcher}.sqlite3"
    shutil.copy(base / "srd.sqlite3", db)
    daemon = Daemon(db)
    spell = pack / "spells" / "spell-00042.md"
    original = spell.read_text()
    times = []
    try:
        daemon.initialize({"watch": watcher})
        daemon.request("d5e/packs/install", {"path": str(pack)})
        for i in range(reloads):
            wanted = f"{100 + i} feet"
            start = time.perf_counter()
            spell.write_text(original.replace("60 feet", wanted))
            if not watcher:
                uri = spell.resolve().as_uri()
                change = {"changes": [{"uri": uri, "type": 2}]}
                daemon.send("workspace/didChangeWatchedFiles", change, notify=True)
            while True:
                found = daemon.request("d5e/lookup", {"ref": "spells/spell-00042"})
                if found["entry"]["data"]["range"] == wanted:
                    break
                if time.perf_counter() - start > 10:
                    raise RuntimeError("the edit never showed up")
            times.append(time.perf_counter() - start)
            time.sleep(0.05)
    finally:
        spell.write_text(original)
        daemon.close()
    return summary(times)


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
    with tempfile.TemporaryDirectory(prefix="d5e-bench-packs-") as tmp:
        base = Path(tmp)
        build_srd(base)
        pack = generate(base, args.entries)
        result: dict[str, Any] = {"machine": machine(), "entries": args.entries}
        result.update(measure_install(base, pack, args.runs))
        result["reload_watcher"] = measure_reload(base, pack, args.reloads, watcher=True)
        result["reload_notification"] = measure_reload(base, pack, args.reloads, watcher=False)
    print(f"machine: {result['machine']}")
    print(f"pack: {args.entries} entries (half Markdown files, half JSON lists)\n")
    print(f"{'seconds':<34} {'p50':>8} {'p90':>8} {'min':>8} {'max':>8} {'n':>4}")
    for key, label in (
        ("install", "install (new pack, fresh daemon)"),
        ("reinstall_unchanged", "re-install unchanged"),
        ("reload_watcher", "live reload, watcher"),
        ("reload_notification", "live reload, didChangeWatchedFiles"),
        ("lookup_during_install", "lookup while an upgrade runs"),
    ):
        f = result[key]
        print(
            f"{label:<34} {f['p50']:>8.3f} {f['p90']:>8.3f} {f['min']:>8.3f} {f['max']:>8.3f}"
            f" {int(f['n']):>4}"
        )
    print(f"\ndaemon RSS after install: {result['rss_mb_after_install']:.0f} MB")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
