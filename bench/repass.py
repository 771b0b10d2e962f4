"""What a one-line edit costs the passes of a large open document, in process.

    .venv/bin/python bench/repass.py [--runs 3] [--mb 20] [--edits 20] [--old CHECKOUT] [--json F]

A `--mb` MB Markdown document of short lines (a third hold a tag that resolves and one that does
not) is opened as the daemon opens it (`textdoc.LineDocument`); its diagnostics pass and its
document-facts pass (lenses, hints, symbols) are worked out once, then `--edits` one-line edits
(an incremental change, as an editor sends it; every other one inserts a line) are each followed
by both passes, as the publisher and the editor's requests run them. Reports, per edit, the
time of each pass (the sum of its slices: CPU work on the event loop) and the longest step
(what a request arriving meanwhile may wait for). With `--old`, the same in a process importing
the d5e of another checkout, in turn with this one.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from driver import Figures, old_env

CHILD = r"""
import inspect, json, sys, time
from lsprotocol import types
from d5e_daemon.app import App
from d5e_daemon.settings import build
from d5e_daemon.features.doclines import DocumentFacts
from d5e_daemon.features.markdown import DiagnosticsPass
from d5e_daemon.features.tags import Resolver
from d5e_daemon.textdoc import LineDocument

db, mb, edits = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
app = App(build({"db": db}))
app.start()
resolver = Resolver(app)
lines = [
    f"Room {i}: the {{@creature goblin}} and {{@spell nosuch{i}}}.\n" if i % 3 == 0
    else f"Line {i} of the adventure, plain prose.\n"
    for i in range(mb * 1_000_000 // 40)
]
doc = LineDocument("file:///bench/long.md", "".join(lines), version=1, language_id="markdown")
takes_earlier = "earlier" in inspect.signature(DiagnosticsPass).parameters


def timed(run):
    total = longest = 0.0
    while True:
        started = time.perf_counter()
        done = run(0.01)
        took = time.perf_counter() - started
        total, longest = total + took, max(longest, took)
        if done:
            return total * 1000, longest * 1000


facts = DocumentFacts(resolver, doc)
last = DiagnosticsPass(resolver, doc)
timed(last.run)
timed(facts.run)
out = {"diagnostics": [], "diagnostics_longest": [], "facts": [], "facts_longest": []}
for k in range(edits):
    at = (k * 7919) % len(doc.lines)
    if k % 2:
        where = types.Range(types.Position(at, 0), types.Position(at, 0))
        text = f"An inserted line, {{@spell nosuch new {k}}}.\n"
    else:
        where = types.Range(types.Position(at, 0), types.Position(at, 4))
        text = "Edited"
    doc.apply_change(types.TextDocumentContentChangePartial(range=where, text=text))
    doc.version = k + 2
    work = DiagnosticsPass(resolver, doc, last) if takes_earlier else DiagnosticsPass(resolver, doc)
    total, longest = timed(work.run)
    last = work
    out["diagnostics"].append(total)
    out["diagnostics_longest"].append(longest)
    total, longest = timed(facts.run)
    out["facts"].append(total)
    out["facts_longest"].append(longest)
out["lines"] = len(doc.lines)
print(json.dumps(out))
app.close()
"""

TEMPLATE = """import sys
from d5e_daemon.app import App
from d5e_daemon.settings import build
app = App(build({"db": sys.argv[1]}))
app.start()
app.close()
"""


def run_child(db: Path, mb: int, edits: int, env: dict[str, str]) -> dict[str, Any]:
    found = subprocess.run(
        [sys.executable, "-c", CHILD, str(db), str(mb), str(edits)],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(found.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--mb", type=int, default=20)
    parser.add_argument("--edits", type=int, default=20)
    parser.add_argument("--old", type=Path, help="a checkout of older d5e, run in turn")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    trees: list[tuple[str, dict[str, str]]] = [("", {})]
    if args.old is not None:
        trees = [(" (old)", old_env(args.old)), (" (new)", {})]
    figures = Figures("repass", "A one-line edit's passes of a large document", "bench/repass.py")
    section = (
        f"one-line edits of a {args.mb} MB document of short lines, each followed by both passes"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for tag, env in trees:
            db = Path(tmp) / f"d5e{tag.strip(' ()')}.sqlite3"
            subprocess.run([sys.executable, "-c", TEMPLATE, db], env={**os.environ, **env})
        for _ in range(args.runs):
            for tag, env in trees:
                db = Path(tmp) / f"d5e{tag.strip(' ()')}.sqlite3"
                started = time.perf_counter()
                out = run_child(db, args.mb, args.edits, env)
                figures.latency(section, f"diagnostics pass{tag}", out["diagnostics"])
                figures.latency(section, f"its longest slice{tag}", out["diagnostics_longest"])
                figures.latency(section, f"document-facts pass{tag}", out["facts"])
                figures.latency(section, f"its longest slice (facts){tag}", out["facts_longest"])
                figures.value(section, f"lines{tag}", out["lines"], "")
                figures.value(section, f"whole run{tag}", time.perf_counter() - started, "s")
    figures.save(args.json)


if __name__ == "__main__":
    main()
