"""Lookups while a document stalls the daemon's diagnostics: over real stdio.

    .venv/bin/python bench/bursts.py [--runs 3] [--changes 1000] [--mb 20] [--json FILE]
        [--cases idle,big,burst,editor,editor-burst] [--edits 5] [--old CHECKOUT] [--unindexed]

With `--old`, each case runs on the d5e of another checkout too (`git worktree add /tmp/old
COMMIT`), in turn with this one: old and new measured in one run on a shared machine.

Three cases per run, each on a fresh daemon and a fresh copy of the database: lookups with
nothing else to do (the baseline); lookups every 20 ms from `didOpen` of a document of `--mb`
MB of unknown tags (no two lines alike: nothing kept of one line serves another) until its
diagnostics are published; lookups after every 10th of
`--changes` full-text `didChange` of a 100 KB document (each edits one line, writing a new
unknown name). Two more cases are an editor that asks for code lenses, inlay hints and document
symbols after each change, as VS Code does: `editor` edits one line of the `--mb` MB document
`--edits` times (an incremental change), asking after each and looking up every 20 ms until
the answers are in; `editor-burst` asks them after each change of the burst above. Each daemon
starts on a copy of a database whose search index is built, as a user's usually is;
`--unindexed` starts it on one that is not, so that the indexer builds it meanwhile (a first
start): its thread then competes with the event loop for Python's lock. Reports the
lookups' p50/p99 (ms, the
round trip as the client sees it, `d5e/lookup` of `spells/fireball`), the bytes the daemon
wrote, the publications and how long the document took to be published. Issue 12's target: p99
≤ 50 ms during every burst.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from driver import Daemon, Figures, old_env, wait_for_index

URI = "file:///bench/notes.md"
TEMPLATE = """import sys
from d5e_daemon.app import App
from d5e_daemon.settings import build
app = App(build({"db": sys.argv[1]}))
app.start()
app.search.build()  # indexed, as a daemon is after its first start: no indexer running
app.close()
"""


def lookup(d: Daemon) -> float:
    started = time.perf_counter()
    d.request("d5e/lookup", {"ref": "spells/fireball"}, timeout=1800)
    return (time.perf_counter() - started) * 1000


def published(d: Daemon) -> list[dict[str, Any]]:
    return [
        m["params"]
        for m in d.received
        if m.get("method") == "textDocument/publishDiagnostics" and m["params"]["uri"] == URI
    ]


def written(d: Daemon) -> int:
    return sum(len(json.dumps(m)) for m in d.received)


def open_doc(d: Daemon, text: str) -> None:
    doc = {"uri": URI, "languageId": "markdown", "version": 1, "text": text}
    d.send("textDocument/didOpen", {"textDocument": doc}, notify=True)


def idle(db: Path, figures: Figures, env: dict[str, str], tag: str) -> None:
    with Daemon(db, env=env) as d:
        d.initialize()
        lookup(d)
        figures.latency("lookup", f"idle{tag}", [lookup(d) for _ in range(200)])


def big_document(db: Path, figures: Figures, mb: int, env: dict[str, str], tag: str) -> None:
    line = "".join(f"{{@nosuch{i % 1000} x}} " for i in range(100))
    lines = mb * 1_000_000 // (len(line) + 8)
    text = "".join(f"{n} {line}\n" for n in range(lines))  # no two lines alike
    with Daemon(db, env=env) as d:
        d.initialize()
        lookup(d)
        started = time.perf_counter()
        open_doc(d, text)
        first = lookup(d)  # waits for the message itself to be read and decoded
        waits = []
        while not published(d):
            waits.append(lookup(d))
            time.sleep(0.02)
        section = f"lookup during the diagnostics of a {mb} MB document"
        figures.latency(section, f"lookup (after the document was read){tag}", waits)
        figures.value(section, f"first lookup (waits for the message){tag}", first, "ms")
        figures.value(section, f"published after{tag}", time.perf_counter() - started, "s")
        figures.value(section, f"bytes written{tag}", written(d), "B")
        figures.value(section, f"diagnostics{tag}", len(published(d)[-1]["diagnostics"]), "")


def burst(
    db: Path, figures: Figures, changes: int, env: dict[str, str], tag: str, asks: bool = False
) -> None:
    line = "A {@spell fireball} and {@spell nosuch} and {@creature gobbo}.\n"
    lines = [f"{n}: {line}" for n in range(100_000 // (len(line) + 6))]
    text = "".join(lines)
    with Daemon(db, env=env) as d:
        d.initialize()
        open_doc(d, text)
        while not published(d):
            lookup(d)
        before, count = written(d), len(published(d))
        waits: list[float] = []
        asked: list[int] = []
        started = time.perf_counter()
        for version in range(2, changes + 2):
            edit = {"textDocument": {"uri": URI, "version": version}}
            # one line edited, as typing does: a new name each time (a new "did you mean")
            at = version * 37 % len(lines)
            lines[at] = f"{at}: edited {{@spell nosuch{version}}}\n"
            edit["contentChanges"] = [{"text": "".join(lines)}]  # type: ignore[assignment]
            d.send("textDocument/didChange", edit, notify=True)
            if asks:
                asked += editor_asks(d)
            if version % 10 == 0:
                waits.append(lookup(d))
        while not any(p["version"] == changes + 1 for p in published(d)) or not answered(d, asked):
            waits.append(lookup(d))
            time.sleep(0.02)
        section = f"lookup during {changes} didChange of a 100 KB document"
        if asks:
            section += ", an editor asking lenses, hints and symbols after each"
        figures.latency(section, f"lookup{tag}", waits)
        figures.value(
            section, f"last change published after{tag}", time.perf_counter() - started, "s"
        )
        figures.value(section, f"bytes written{tag}", written(d) - before, "B")
        figures.value(section, f"publications{tag}", len(published(d)) - count, "")


EDITOR_ASKS = ("textDocument/codeLens", "textDocument/inlayHint", "textDocument/documentSymbol")
EVERYWHERE = {"start": {"line": 0, "character": 0}, "end": {"line": 10**7, "character": 0}}


def editor_asks(d: Daemon) -> list[int]:
    """What an editor asks after a change: code lenses, inlay hints, symbols (not waited for)."""
    asked = []
    for method in EDITOR_ASKS:
        params: dict[str, Any] = {"textDocument": {"uri": URI}}
        if method == "textDocument/inlayHint":
            params["range"] = EVERYWHERE
        asked.append(d.send(method, params))
    return asked


def answered(d: Daemon, asked: list[int]) -> bool:
    ids = {m.get("id") for m in d.received if "method" not in m}
    return all(i in ids for i in asked)


def editor(db: Path, figures: Figures, mb: int, edits: int, env: dict[str, str], tag: str) -> None:
    line = "".join(f"{{@nosuch{i % 1000} x}} " for i in range(100))
    count = mb * 1_000_000 // (len(line) + 8)
    text = "".join(f"{n} {line}\n" for n in range(count))
    with Daemon(db, env=env) as d:
        d.initialize()
        lookup(d)
        open_doc(d, text)
        lookup(d)  # waits for the message itself to be read and decoded
        waits, answers = [], []
        for version in range(2, edits + 2):
            at = version * 7919 % count
            change = {
                "range": {
                    "start": {"line": at, "character": 0},
                    "end": {"line": at, "character": 0},
                },
                "text": "edited ",
            }
            edit = {"textDocument": {"uri": URI, "version": version}, "contentChanges": [change]}
            d.send("textDocument/didChange", edit, notify=True)
            started = time.perf_counter()
            asked = editor_asks(d)
            while not answered(d, asked):
                waits.append(lookup(d))
                time.sleep(0.02)
            answers.append(time.perf_counter() - started)
        section = f"lookup while an editor asks lenses, hints, symbols after edits of {mb} MB"
        figures.latency(section, f"lookup{tag}", waits)
        figures.latency(section, f"lenses + hints + symbols answered after{tag}", answers, "s")
        figures.value(section, f"bytes written{tag}", written(d), "B")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--changes", type=int, default=1000)
    parser.add_argument("--mb", type=int, default=20)
    parser.add_argument("--edits", type=int, default=5, help="edits of the `editor` case")
    parser.add_argument("--cases", default="idle,big,burst", help="which cases, comma-separated")
    parser.add_argument(
        "--old", type=Path, help="a checkout of older d5e: each case runs on it too, in turn"
    )
    parser.add_argument(
        "--unindexed",
        action="store_true",
        help="start from a database whose search index is not built: the indexer runs beside",
    )
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    cases = {
        "idle": idle,
        "big": lambda db, f, env, tag: big_document(db, f, args.mb, env, tag),
        "burst": lambda db, f, env, tag: burst(db, f, args.changes, env, tag),
        "editor": lambda db, f, env, tag: editor(db, f, args.mb, args.edits, env, tag),
        "editor-burst": lambda db, f, env, tag: burst(db, f, args.changes, env, tag, asks=True),
    }
    trees: list[tuple[str, dict[str, str]]] = [("", {})]
    if args.old is not None:
        # d5e_daemon and its plugins from the old checkout (the installed plugins are this
        # checkout's, which may need a newer d5e)
        old = old_env(args.old)
        trees = [(" (old)", old), (" (new)", {})]
    figures = Figures("bursts", "Lookups while a document stalls diagnostics", "bench/bursts.py")
    with tempfile.TemporaryDirectory() as tmp:
        templates = {}
        for tag, env in trees:  # each tree its own: the old may not read a newer schema
            templates[tag] = template = Path(tmp) / f"template{tag.strip(' ()')}.sqlite3"
            subprocess.run([sys.executable, "-c", TEMPLATE, template], env={**os.environ, **env})
            if not args.unindexed:  # a user's usual daemon: the search index built already
                with Daemon(template, env=env) as d:
                    d.initialize()
                    wait_for_index(d)
        for run in range(args.runs):
            for name in args.cases.split(","):
                for tag, env in trees:
                    db = Path(tmp) / f"{name}-{run}{tag.strip(' ()')}.sqlite3"
                    shutil.copy(templates[tag], db)
                    cases[name](db, figures, env, tag)
    figures.save(args.json)


if __name__ == "__main__":
    main()
