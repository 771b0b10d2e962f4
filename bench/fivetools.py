"""5etools homebrew files installed in a running daemon, beside a folder pack of the same size.

    .venv/bin/python bench/fivetools.py [--entries 2800] [--monsters 400] [--runs 3]
                                        [--old CHECKOUT] [--json F]

Generates (seed 5) two 5etools homebrew files in the real format: a mixed one of `--entries`
entries (spells, monsters, items, feats, backgrounds, conditions; one monster in ten a `_copy`
of another with `_mod`s, one in fifty a `_copy` of the SRD goblin) and one of `--monsters`
monsters. Per run, a fresh daemon on a fresh copy of a database holding both SRD packs:
- install of each file through `d5e/packs/install`, and of a folder pack (`bench/brew.py`) of
  as many entries, the figure to compare with;
- re-install unchanged (a no-op by content hash), 5 times;
- the daemon's RSS before the install (idle) and its peak (VmHWM) once the install and the
  background indexing it triggers are over: the real peak of an install (the indexer loads the
  embedding model and embeds the new entries); and the peak of the install alone (a daemon
  with the fake embedder);
- how long the background indexing of the new entries takes after the install (it does not
  count in the install's time, and the daemon answers meanwhile).
The database copied holds the SRD with its search index complete (the real model's, and the
fake embedder's for the memory runs), so the daemon is idle when the install starts. Each
daemon has an empty vector cache of its own (only the prepared model file copied into it), as
a user installing new content has: every passage of the new entries is embedded.
With `--old`, each run is made on the d5e of another checkout too (`git worktree add /tmp/old
COMMIT`), in turn with this one, each on SRD databases it made itself: old and new measured in
one session on a shared machine. Labels then end in "[old]" or "[new]".
Targets (issue 13): mixed ≤ 1.5 s, monsters ≤ 1 s, unchanged ≤ 0.3 s, peak ≤ idle + 150 MB.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from brew import generate
from driver import Daemon, Figures, compile_sources, cpu_seconds, memory, old_env, wait_for_index

from d5e_daemon.search.embed import cache_dir

SOURCE = "BenchBrew"
WORDS = [
    "ember",
    "ash",
    "cinder",
    "frost",
    "storm",
    "shadow",
    "iron",
    "glass",
    "moon",
    "thorn",
    "bone",
    "salt",
    "river",
    "stone",
    "wind",
    "vault",
    "hollow",
    "lantern",
    "crown",
    "veil",
]
SCHOOLS = "AVCDEINT"
SIZES = "TSMLHG"
KINDS = ("aberration", "beast", "construct", "fiend", "humanoid", "undead", "monstrosity")


def _name(rng: random.Random, i: int, kind: str) -> str:
    return f"{rng.choice(WORDS).title()} {rng.choice(WORDS).title()} {kind} {i}"


def _attack(rng: random.Random) -> dict[str, Any]:
    hit, dice = rng.randint(2, 12), f"{rng.randint(1, 4)}d{rng.choice((4, 6, 8, 10, 12))}"
    return {
        "name": rng.choice(("Bite", "Claw", "Slam", "Sting", "Glaive", "Ray")),
        "entries": [
            f"{{@atk mw}} {{@hit {hit}}} to hit, reach 5 ft., one target. {{@h}}9 "
            f"({{@damage {dice} + 3}}) slashing damage, and the target must succeed on a "
            f"{{@dc {10 + hit // 2}}} Constitution saving throw or be {{@condition poisoned}}."
        ],
    }


def monster(rng: random.Random, i: int) -> dict[str, Any]:
    return {
        "name": _name(rng, i, "Beast"),
        "source": SOURCE,
        "page": i,
        "size": [rng.choice(SIZES)],
        "type": {"type": rng.choice(KINDS), "tags": [rng.choice(WORDS)]},
        "alignment": rng.choice((["C", "E"], ["L", "G"], ["N"], ["U"])),
        "ac": [{"ac": rng.randint(10, 20), "from": ["natural armor"]}],
        "hp": {"average": rng.randint(5, 300), "formula": f"{rng.randint(2, 20)}d10 + 10"},
        "speed": {"walk": 30, "fly": {"number": 60, "condition": "(hover)"}, "canHover": True},
        **{a: rng.randint(3, 24) for a in ("str", "dex", "con", "int", "wis", "cha")},
        "save": {"dex": f"+{rng.randint(1, 9)}"},
        "skill": {"perception": f"+{rng.randint(1, 9)}", "stealth": f"+{rng.randint(1, 9)}"},
        "senses": [f"darkvision {rng.choice((30, 60, 120))} ft."],
        "passive": rng.randint(8, 20),
        "immune": ["poison", {"immune": ["bludgeoning", "piercing"], "note": "from nonmagical"}],
        "conditionImmune": ["poisoned"],
        "languages": ["Common", "Abyssal"],
        "cr": str(rng.randint(1, 20)),
        "trait": [
            {"name": "Magic Resistance", "entries": ["It has advantage on saving throws."]},
            {"name": "Keen Senses", "entries": ["{@skill Perception} checks have advantage."]},
        ],
        "action": [
            {"name": "Multiattack", "entries": ["It makes two attacks."]},
            _attack(rng),
            _attack(rng),
        ],
        "reaction": [{"name": "Parry", "entries": ["It adds 3 to its AC against one attack."]}],
        "legendary": [{"name": "Move", "entries": ["It moves up to half its speed."]}],
        "environment": ["forest", "underdark"],
    }


def spell(rng: random.Random, i: int) -> dict[str, Any]:
    return {
        "name": _name(rng, i, "Bolt"),
        "source": SOURCE,
        "level": rng.randint(0, 9),
        "school": rng.choice(SCHOOLS),
        "time": [{"number": 1, "unit": rng.choice(("action", "bonus", "minute"))}],
        "range": {"type": "point", "distance": {"type": "feet", "amount": rng.choice((30, 60))}},
        "components": {"v": True, "s": True, "m": "a bit of ash"},
        "duration": [{"type": "timed", "duration": {"type": "minute", "amount": 1}}],
        "entries": [
            "A bolt streaks toward a creature within range. Make a ranged spell attack; on a hit "
            f"it takes {{@damage {rng.randint(1, 8)}d10}} fire damage.",
            {"type": "list", "items": ["It sheds light.", "It ignites objects."]},
        ],
        "damageInflict": ["fire"],
        "classes": {"fromClassList": [{"name": "Wizard", "source": "PHB"}]},
    }


def item(rng: random.Random, i: int) -> dict[str, Any]:
    return {
        "name": _name(rng, i, "Charm"),
        "source": SOURCE,
        "rarity": rng.choice(("common", "uncommon", "rare", "very rare")),
        "wondrous": True,
        "reqAttune": True,
        "charges": 3,
        "entries": ["While wearing it you can cast {@spell fireball} once per day."],
    }


def simple(kind: str, rng: random.Random, i: int) -> dict[str, Any]:
    return {
        "name": _name(rng, i, kind.title()),
        "source": SOURCE,
        "entries": [
            {"type": "entries", "name": "Benefit", "entries": ["You gain a small benefit."]}
        ],
    }


def mixed_file(path: Path, entries: int, seed: int = 5) -> Path:
    rng = random.Random(seed)
    share = {"spell": 0.3, "monster": 0.3, "item": 0.2, "feat": 0.1, "background": 0.05}
    counts = {k: int(entries * v) for k, v in share.items()}
    counts["condition"] = entries - sum(counts.values())
    doc: dict[str, Any] = {"_meta": {"sources": [{"json": SOURCE, "full": "Bench Brew"}]}}
    doc["spell"] = [spell(rng, i) for i in range(counts["spell"])]
    monsters = [monster(rng, i) for i in range(counts["monster"])]
    for i in range(0, len(monsters), 10):  # one in ten: a copy of the one before it
        if i == 0:
            continue
        base = monsters[i - 1]
        mods: dict[str, Any] = {
            "*": {"mode": "replaceTxt", "replace": "It ", "with": "The copy "},
            "action": [{"mode": "appendArr", "items": _attack(rng)}],
            "_": [{"mode": "scalarAddHit", "scalar": 1}],
        }
        monsters[i] = {
            "name": f"{base['name']} Elder",
            "source": SOURCE,
            "_copy": {"name": base["name"], "source": SOURCE, "_mod": mods},
        }
        if i % 50 == 0:
            monsters[i]["_copy"] = {
                "name": "Goblin",
                "source": "MM",
                "_mod": {"action": {"mode": "removeArr", "names": "Shortbow"}},
            }
    doc["monster"] = monsters
    doc["item"] = [item(rng, i) for i in range(counts["item"])]
    for kind in ("feat", "background", "condition"):
        doc[kind] = [simple(kind, rng, i) for i in range(counts[kind])]
    path.write_text(json.dumps(doc, indent="\t"), "utf-8")
    return path


def monster_file(path: Path, count: int, seed: int = 7) -> Path:
    rng = random.Random(seed)
    doc = {
        "_meta": {"sources": [{"json": "BenchBeasts", "full": "Bench Beasts"}]},
        "monster": [monster(rng, i) | {"source": "BenchBeasts"} for i in range(count)],
    }
    path.write_text(json.dumps(doc, indent="\t"), "utf-8")
    return path


def timed(fn: Any) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def indexed_srd(db: Path, env: dict[str, str] | None = None) -> Path:
    """A database holding both SRD packs, its search index complete."""
    with Daemon(db, env=env) as daemon:
        daemon.initialize()
        wait_for_index(daemon)
    return db


def empty_cache(base: Path) -> Path:
    """A cache folder (`XDG_CACHE_HOME`) holding no vectors, only the prepared model file (its
    rewrite takes ~10 s and is not what is measured)."""
    folder = Path(tempfile.mkdtemp(prefix="cache-", dir=base))
    shutil.copytree(cache_dir() / "models", folder / "d5e" / "models")
    return folder


def install_memory(
    base: Path, label: str, path: Path, figures: Figures, env: dict[str, str]
) -> None:
    """Peak RSS of the install alone: the search indexer that starts after it loads the
    embedding model (most of the daemon's peak otherwise), so it runs with the fake one here."""
    db = base / f"{path.stem}-memory.sqlite3"
    shutil.copy(base / "srd-fake.sqlite3", db)
    with Daemon(db, env={**env, "D5E_EMBEDDER": "fake"}) as daemon:
        daemon.initialize()
        wait_for_index(daemon)
        daemon.request("d5e/lookup", {"ref": "spells/fireball"})
        idle = memory(daemon.proc.pid)["VmRSS"]
        daemon.request("d5e/packs/install", {"path": str(path)})
        peak = memory(daemon.proc.pid)["VmHWM"]
    figures.value(
        label, "peak RSS above idle, the install alone (fake embedder)", peak - idle, "MB"
    )


def measure(base: Path, label: str, path: Path, figures: Figures, env: dict[str, str]) -> None:
    db = base / f"{path.stem}.sqlite3"
    shutil.copy(base / "srd.sqlite3", db)
    cache = empty_cache(base)
    with Daemon(db, env={**env, "XDG_CACHE_HOME": str(cache)}) as daemon:
        daemon.initialize()
        wait_for_index(daemon)
        daemon.request("d5e/lookup", {"ref": "spells/fireball"})
        idle = memory(daemon.proc.pid)["VmRSS"]
        cpu = cpu_seconds(daemon.proc.pid)
        install = timed(lambda: daemon.request("d5e/packs/install", {"path": str(path)}))
        cpu = cpu_seconds(daemon.proc.pid) - cpu
        indexing = wait_for_index(daemon)
        noops = [
            timed(lambda: daemon.request("d5e/packs/install", {"path": str(path)}))
            for _ in range(5)
        ]
        peak = memory(daemon.proc.pid)["VmHWM"]
    shutil.rmtree(cache)
    figures.value(label, "install (a running daemon)", install, "s")
    figures.value(label, "install: the daemon's CPU time (user + system)", cpu, "s")
    figures.value(
        label,
        "then the background indexing of the new entries (real model, no vector cached)",
        indexing,
        "s",
    )
    figures.latency(label, "re-install unchanged", noops, "s")
    figures.value(label, "RSS before the install (idle)", idle, "MB")
    figures.value(
        label,
        "peak RSS above idle: the install and the indexing it triggers (real model)",
        peak - idle,
        "MB",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entries", type=int, default=2800)
    parser.add_argument("--monsters", type=int, default=400)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--old", type=Path, help="a checkout of older d5e: each run on it too")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    compile_sources()
    figures = Figures(
        "fivetools",
        "5etools homebrew files (`bench/fivetools.py`)",
        f"bench/fivetools.py --entries {args.entries} --monsters {args.monsters}",
    )
    with tempfile.TemporaryDirectory(prefix="d5e-bench-5etools-") as tmp:
        trees: list[tuple[str, dict[str, str], Path]] = [("", {}, Path(tmp))]
        if args.old is not None:
            old = old_env(args.old)  # d5e_daemon and the plugins of the old checkout
            trees = [(" [old]", old, Path(tmp) / "old"), (" [new]", {}, Path(tmp) / "new")]
        for _, env, base in trees:
            base.mkdir(exist_ok=True)
            indexed_srd(base / "srd.sqlite3", env)
            indexed_srd(base / "srd-fake.sqlite3", {**env, "D5E_EMBEDDER": "fake"})
        files = Path(tmp)
        mixed = mixed_file(files / "Bench; Mixed.json", args.entries)
        beasts = monster_file(files / "Bench; Beasts.json", args.monsters)
        folder = generate(files, args.entries)
        figures.fact("mixed file", f"{args.entries:,} entries, {mixed.stat().st_size:,} bytes")
        figures.fact("monster file", f"{args.monsters:,} monsters, {beasts.stat().st_size:,} bytes")
        cases = [
            (f"5etools file of {args.entries:,} mixed entries", mixed),
            (f"5etools file of {args.monsters:,} monsters", beasts),
            (f"folder pack of {args.entries:,} entries (compare)", folder),
        ]
        for _ in range(args.runs):
            for label, path in cases:
                for tree, env, base in trees:
                    measure(base, label + tree, path, figures, env)
            for label, path in cases:
                for tree, env, base in trees:
                    install_memory(base, label + tree, path, figures, env)
    figures.save(args.json)


if __name__ == "__main__":
    main()
