"""`d5e serve`'s start-up and idle cost, and its diagnostics over stdio: old and new in one run.

    .venv/bin/python bench/start.py [--runs 5] [--lines 5000] [--reopen 10] [--old CHECKOUT]
        [--json FILE]

With `--old`, every run starts a daemon of another checkout too (`git worktree add /tmp/old
COMMIT`), in turn with this one, so both are measured on the same busy machine. Each tree gets a
database holding the SRD with its search index complete, built by its own code (the real model
unless `D5E_EMBEDDER=fake`; the vectors go to a private cache, so the second build reads the
first's); the plugins (the SRD's among them) are this checkout's for both. Each run starts a
fresh daemon on a copy of it and reports:

- CPU seconds (user + system, all threads) of the daemon from spawn until it has answered
  `initialize`, been sent `initialized`, and its background indexer has found nothing to do;
- its RSS after one `d5e/lookup` and a second of idling: on an indexed database nothing needs
  embedding, so the model must not be loaded (issue 11: ~60 MB, not ~166 MB);
- `didOpen` → `publishDiagnostics` of a `--lines` document of tags (bench/markdown.py's): the
  first, with the profile's names read cold, then the same document closed and opened again
  `--reopen` times (names cached): the round trip's p50/p99, and the daemon's CPU for it (less
  moved by other work on the machine than the wall clock).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from driver import Daemon, Figures, compile_sources, cpu_seconds, memory, old_env, wait_for_index
from markdown import URI, make_document, wait_for_diagnostics

from d5e_daemon.app import App
from d5e_daemon.settings import build

INDEXED = """import sys
from d5e_daemon.app import App
from d5e_daemon.settings import build
app = App(build({"db": sys.argv[1]}))
app.start()
app.search.build()  # the index complete, as after a daemon's first start
app.close()
"""


def open_document(daemon: Daemon, text: str, version: int) -> float:
    """Milliseconds from `didOpen` to the document's diagnostics."""
    started = time.perf_counter()
    document = {"uri": URI, "languageId": "markdown", "version": version, "text": text}
    daemon.send("textDocument/didOpen", {"textDocument": document}, notify=True)
    wait_for_diagnostics(daemon, version)
    return (time.perf_counter() - started) * 1000


def one_daemon(
    db: Path, env: dict[str, str], text: str, reopen: int, figures: Figures, tag: str
) -> None:
    with Daemon(db, env=env) as d:
        d.initialize()
        wait_for_index(d, poll=0.05)
        figures.value(
            "start", f"CPU to initialized and indexer idle{tag}", cpu_seconds(d.proc.pid), "s"
        )
        d.request("d5e/lookup", {"ref": "spells/fireball"})
        time.sleep(1.0)
        idle: dict[str, Any] = memory(d.proc.pid)
        figures.value("idle", f"RSS after initialize + one lookup{tag}", idle["VmRSS"], "MB")
        first = open_document(d, text, 1)
        again, cpu = [], []
        for version in range(2, 2 + reopen):
            d.send("textDocument/didClose", {"textDocument": {"uri": URI}}, notify=True)
            before = cpu_seconds(d.proc.pid)
            again.append(open_document(d, text, version))
            cpu.append((cpu_seconds(d.proc.pid) - before) * 1000)
    section = "diagnostics over stdio"
    figures.value(section, f"didOpen → diagnostics, names cold{tag}", first, "ms")
    figures.latency(section, f"didOpen again → diagnostics, names cached{tag}", again)
    figures.latency(section, f"the same, the daemon's CPU{tag}", cpu)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--lines", type=int, default=5000)
    ap.add_argument("--reopen", type=int, default=10, help="openings with names cached, per run")
    ap.add_argument("--old", type=Path, help="a checkout of older d5e: each run starts it too")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    trees: list[tuple[str, dict[str, str]]] = [("", {})]
    if args.old is not None:
        old = old_env(args.old, plugins=False)  # d5e_daemon of the old checkout, these plugins
        trees = [(" (old)", old), (" (new)", {})]
    figures = Figures(
        "start", "Start-up, idle memory and diagnostics (`bench/start.py`)", "bench/start.py"
    )
    compile_sources()
    if args.old is not None:  # its bytecode too: compiling at each start is no start-up cost
        compile_old = [sys.executable, "-m", "compileall", "-q", str(args.old / "d5e_daemon")]
        subprocess.run(compile_old, check=True, stdout=subprocess.DEVNULL)
    with tempfile.TemporaryDirectory() as tmp:
        private = {"XDG_CACHE_HOME": str(Path(tmp) / "cache"), "D5E_HOME": str(Path(tmp) / "home")}
        os.environ.update(private)
        indexed = {}
        for tag, env in trees:  # each tree its own: the old may not read a newer schema
            indexed[tag] = path = Path(tmp) / f"indexed{tag.strip(' ()')}.sqlite3"
            subprocess.run(
                [sys.executable, "-c", INDEXED, path], env={**os.environ, **env}, check=True
            )
        app = App(build({"db": str(indexed[trees[-1][0]])}))
        text = make_document(app, args.lines)
        app.close()
        for run in range(args.runs):
            for tag, env in trees:
                db = Path(tmp) / f"run-{run}{tag.strip(' ()')}.sqlite3"
                shutil.copy(indexed[tag], db)
                one_daemon(db, env, text, args.reopen, figures, tag)
    figures.save(args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
