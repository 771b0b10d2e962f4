"""An editor's first completion after it starts `d5e serve`: old and new in one run.

    .venv/bin/python bench/activation.py [--runs 5] [--old CHECKOUT] [--starts-only] [--json FILE]

What the VS Code extension waits for between its activation and the first `{@spell fir`
suggestions, without VS Code: spawn → `initialize` result, and spawn → the answer to a
`textDocument/completion` sent right after `initialized` and `didOpen` (as an editor does when a
writer types at once), and the daemon's CPU time until `initialize` is answered (user + system:
what the machine's load changes least); then the completions of a writer typing on for 3 s (a
keystroke every 150 ms), meanwhile the background indexer may start (with `D5E_EMBEDDER=real`,
loading and running the model). Two cases, each run on a fresh copy of its database:

- first start: the SRD installed (as `d5e packs install`, an upgrade, or tests/test_vscode.py's
  database leave it): no filter attributes, keyword texts or vectors yet, and fresh caches
  (`XDG_CACHE_HOME`: the code cache of attrs' generated code, the vector cache);
- later start: the database after a first start (its index complete) and warm caches.

With `--old`, each run starts a daemon of another checkout too (`git worktree add /tmp/old
COMMIT`), in turn with this one (with `--old-plugins`, that checkout's plugins too). The
daemons use the embedder `D5E_EMBEDDER` names (default here: the fake one, as the tests; the
real model only changes what the indexer does meanwhile).

Each start's own account (its log at info level) is kept too: Python and imports, the database
and packs, its CPU until `initialize`. The table at the end gives medians and p90 of every start,
with the machine's load (1 minute) before each. With `--starts-only` the writer's 3 s after the
first completion are left out: many starts in little time (`--runs 20 --starts-only`).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from driver import Daemon, Figures, compile_sources, cpu_seconds, load, old_env, percentile

INSTALLED = """import sys
from d5e_daemon.app import App
from d5e_daemon.settings import build
app = App(build({"db": sys.argv[1]}))
app.start()  # the SRD installed
if sys.argv[2] == "indexed":
    app.search.build()  # the index complete, as after a daemon's first start
app.close()
"""

URI = "file:///bench/adventure.md"
TEXT = "# The Ambush\n\nFour {@creature goblinn} wait by the road.\n\nCast {@spell fir\n"


WRITING_S = 3.0
KEYSTROKE_S = 0.15
WORD = "fireball"


def writing(d: Daemon) -> list[float]:
    """The writer goes on typing after the first completion: a keystroke every 150 ms for 3 s
    (`didChange`, then `textDocument/completion` where the tag's name ends, as VS Code asks
    after each), while the background indexer may start. The completions' milliseconds."""
    took: list[float] = []
    began = time.perf_counter()
    version = 1
    while time.perf_counter() - began < WRITING_S:
        version += 1
        name = WORD[: 3 + version % (len(WORD) - 2)]
        text = TEXT.replace("{@spell fir", "{@spell " + name)
        changed = {"textDocument": {"uri": URI, "version": version}}
        d.send(
            "textDocument/didChange", {**changed, "contentChanges": [{"text": text}]}, notify=True
        )
        where = {"textDocument": {"uri": URI}, "position": {"line": 4, "character": 13 + len(name)}}
        asked = time.perf_counter()
        result = d.request("textDocument/completion", where)
        took.append(1000 * (time.perf_counter() - asked))
        items = result["items"] if isinstance(result, dict) else result
        assert items and items[0]["label"] == "Fireball", (name, items[:3])
        time.sleep(max(0.0, KEYSTROKE_S - (time.perf_counter() - asked)))
    return took


START_LOG = re.compile(
    r"initialize answered (\d+) ms after the process started \(Python and imports (\d+) ms, "
    r"the database and packs (\d+) ms"
)


def first_completion(
    db: Path, env: dict[str, str], write_on: bool = True
) -> tuple[float, float, float, list[float], dict[str, float]]:
    """Milliseconds from spawn to the `initialize` result, and to the first completion; the
    daemon's CPU milliseconds until the `initialize` result (less moved by the machine's load);
    the completions' milliseconds while the writer goes on (`writing`, unless not `write_on`);
    the daemon's own account of its start (its log: `imports`, `database`, ms)."""
    log = db.with_suffix(".log")
    with (
        log.open("wb") as stderr,
        Daemon(db, env={**env, "D5E_LOG_LEVEL": "info"}, stderr=stderr.fileno()) as d,
    ):
        started = d.started
        d.initialize({}, initialized=False)
        initialized = time.perf_counter()
        cpu = cpu_seconds(d.proc.pid)
        d.send("initialized", {}, notify=True)
        document = {"uri": URI, "languageId": "markdown", "version": 1, "text": TEXT}
        d.send("textDocument/didOpen", {"textDocument": document}, notify=True)
        where = {"textDocument": {"uri": URI}, "position": {"line": 4, "character": 16}}
        result = d.request("textDocument/completion", where)
        completed = time.perf_counter()
        items = result["items"] if isinstance(result, dict) else result
        assert items and items[0]["label"] == "Fireball", items[:3]
        typing = writing(d) if write_on else []
    m = START_LOG.search(log.read_text(errors="replace"))
    own = {"imports": float(m[2]), "database": float(m[3])} if m else {}
    return 1000 * (initialized - started), 1000 * (completed - started), 1000 * cpu, typing, own


def summary(starts: dict[tuple[str, str], list[dict[str, float]]]) -> list[list[str]]:
    """Median and p90 of each figure over every start, with the load before them."""
    rows = []
    for (label, tag), runs in starts.items():
        for name in ("spawn → first completion", "daemon CPU until initialize", "imports"):
            values = [r[name] for r in runs if name in r]
            if values:
                rows.append([
                    f"{label}{tag}", name, f"{statistics.median(values):,.0f}",
                    f"{percentile(values, 90):,.0f}", str(len(values)),
                ])  # fmt: skip
        loads = [r["load"] for r in runs]
        rows.append([f"{label}{tag}", "load average before", f"{statistics.median(loads):.1f}",
                     f"{min(loads):.1f}–{max(loads):.1f}", str(len(loads))])  # fmt: skip
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--old", type=Path, help="a checkout of older d5e: each run starts it too")
    ap.add_argument(
        "--old-plugins",
        action="store_true",
        help="the old checkout's plugins too (by default both daemons load this checkout's)",
    )
    ap.add_argument(
        "--starts-only",
        action="store_true",
        help="leave out the writer's 3 s after the first completion (many starts quickly)",
    )
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    trees: list[tuple[str, dict[str, str]]] = [("", {})]
    if args.old is not None:
        old = old_env(args.old, plugins=args.old_plugins)  # d5e_daemon of the old checkout
        trees = [(" (old)", old), (" (new)", {})]
    figures = Figures(
        "activation",
        "An editor's first completion after starting the daemon (`bench/activation.py`)",
        "bench/activation.py",
    )
    compile_sources()
    os.environ.setdefault("D5E_EMBEDDER", "fake")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        os.environ["D5E_HOME"] = str(root / "home")
        databases: dict[tuple[str, str], Path] = {}
        for tag, env in trees:  # each tree its own: the old may not read a newer schema
            for kind in ("installed", "indexed"):
                databases[tag, kind] = path = root / f"{kind}{tag.strip(' ()')}.sqlite3"
                cache = {"XDG_CACHE_HOME": str(root / f"cache{tag.strip(' ()')}")}
                command = [sys.executable, "-c", INSTALLED, str(path), kind]
                subprocess.run(command, env={**os.environ, **env, **cache}, check=True)
            # the code cache saved by a daemon's start, as any start after the first finds it
            warm = root / f"warm{tag.strip(' ()')}.sqlite3"
            shutil.copy(databases[tag, "indexed"], warm)
            first_completion(warm, {**env, **cache}, write_on=False)
        starts: dict[tuple[str, str], list[dict[str, float]]] = {}
        for run in range(args.runs):
            for tag, env in trees:
                for kind, label in (("installed", "first start"), ("indexed", "later start")):
                    db = root / f"run-{run}-{kind}{tag.strip(' ()')}.sqlite3"
                    shutil.copy(databases[tag, kind], db)
                    fresh = f"-{run}" if kind == "installed" else ""
                    cache = {"XDG_CACHE_HOME": str(root / f"cache{tag.strip(' ()')}{fresh}")}
                    before = load()[0]
                    init, complete, cpu, typing, own = first_completion(
                        db, {**env, **cache}, write_on=not args.starts_only
                    )
                    starts.setdefault((label, tag), []).append({
                        "spawn → first completion": complete, "daemon CPU until initialize": cpu,
                        **own, "load": before,
                    })  # fmt: skip
                    db.unlink()
                    figures.value(label, f"spawn → initialize result{tag}", init, "ms")
                    figures.value(label, f"spawn → first completion{tag}", complete, "ms")
                    figures.value(label, f"daemon CPU until the initialize result{tag}", cpu, "ms")
                    figures.latency(label, f"completion while writing on, 3 s{tag}", typing)
                    for name, ms in own.items():
                        figures.value(label, f"the daemon's log: {name}{tag}", ms, "ms")
    header = ["start", "measure (ms)", "median", "p90 (load: min–max)", "starts"]
    figures.table("Every start, in turn", header, summary(starts))
    figures.save(args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
