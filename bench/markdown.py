"""Markdown features on a 5,000-line document: in process and over real stdio.

    .venv/bin/python bench/markdown.py [--lines 5000] [--repeat 30] [--runs 3] [--json FILE]

The document is generated (seeded): prose lines, about one tag per line (`{@spell …}`,
`{@creature …}`, `{@item …}`, …) naming real SRD entries, one in ten misspelt, some unknown
tag names. Reports p50/p99 (ms) of: diagnostics of the whole document (cached and cold),
document links, completion, hover, the code actions at a point and "link rules terms" over 200
lines; over stdio: didOpen → diagnostics, one-character didChange → diagnostics, completion and
hover round trips.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from driver import Daemon, Figures
from lsprotocol import types
from pygls.workspace import TextDocument

from d5e_daemon import queries
from d5e_daemon.app import App
from d5e_daemon.features import markdown as md
from d5e_daemon.features.tags import COLLECTION_TAG, Resolver
from d5e_daemon.settings import build

URI = "file:///bench/adventure.md"
PROSE = (
    "The party reaches the ruined watchtower at dusk, and the wind carries smoke from the east.",
    "Read aloud: torchlight flickers on wet stone; something moves behind the broken portcullis.",
    "If the characters search the room, they find a chest bound in iron and a map of the valley.",
    "Fireball and Shield are the wizard's favourites; the goblin drinks a Potion of Healing.",
)


def make_document(app: App, lines: int, seed: int = 5) -> str:
    rng = random.Random(seed)
    names = [
        (collection, name)
        for _, collection, name in queries.winner_names(app.conn, app.profile, list(COLLECTION_TAG))
        if collection in ("spells", "monsters", "magic-items", "equipment", "conditions")
    ]
    names.sort()
    out = []
    for i in range(lines):
        if i % 50 == 0:
            out.append(f"## Part {i // 50 + 1}")
            continue
        collection, name = rng.choice(names)
        ref = name.lower()
        if rng.random() < 0.1:  # a typo
            k = rng.randrange(len(ref))
            ref = ref[:k] + ref[k + 1 :]
        tag = COLLECTION_TAG[collection] if rng.random() > 0.02 else "spel"
        out.append(f"{rng.choice(PROSE)} See {{@{tag} {ref}}} for details.")
    return "\n".join(out) + "\n"


def timed(fn: Callable[[], Any], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return times


def in_process(app: App, text: str, repeat: int) -> dict[str, list[float]]:
    resolver = Resolver(app)
    doc = TextDocument(URI, text, version=1, language_id="markdown")
    lines = text.splitlines()
    rng = random.Random(7)
    tag_positions = [
        types.Position(i, line.index("{@") + 9) for i, line in enumerate(lines) if "{@" in line
    ]

    def cold() -> None:
        resolver.clear()
        md.diagnostics(resolver, doc)

    figures = {"diagnostics, cold cache": timed(cold, max(3, repeat // 10))}
    md.diagnostics(resolver, doc)
    figures["diagnostics, cached"] = timed(lambda: md.diagnostics(resolver, doc), repeat)
    figures["document links"] = timed(lambda: md.document_links(resolver, doc), repeat)

    def completion() -> None:
        p = rng.choice(tag_positions)
        md.completion(resolver, doc, types.Position(p.line, p.character - 3))

    figures["completion in a tag"] = timed(completion, repeat * 10)
    figures["hover"] = timed(
        lambda: md.hover(resolver, doc, rng.choice(tag_positions)), repeat * 10
    )

    def actions_at_point() -> None:
        p = rng.choice(tag_positions)
        md.code_actions(resolver, doc, types.Range(p, p))

    figures["code actions at a point"] = timed(actions_at_point, repeat * 10)

    def link_terms() -> None:
        start = rng.randrange(len(lines) - 200)
        md.code_actions(
            resolver,
            doc,
            types.Range(types.Position(start, 0), types.Position(start + 200, 0)),
            [md.LINK_TERMS_KIND],
        )

    figures["link rules terms, 200 lines"] = timed(link_terms, repeat)
    return figures


def wait_for_diagnostics(daemon: Daemon, version: int) -> dict[str, Any]:
    """The first diagnostics published for `version` of the document (those of earlier
    versions, such as the follow-up passes of a first check, are skipped)."""
    while True:
        message = daemon.receive(timeout=120)
        if (
            message.get("method") == "textDocument/publishDiagnostics"
            and message["params"].get("version") == version
        ):
            return message


def over_stdio(db: Path, text: str, repeat: int) -> dict[str, list[float]]:
    daemon = Daemon(db)
    daemon.initialize()
    lines = text.splitlines()
    rng = random.Random(11)
    opens = []
    for version in range(max(3, repeat // 10)):
        t = time.perf_counter()
        daemon.send(
            "textDocument/didOpen",
            {
                "textDocument": {
                    "uri": URI,
                    "languageId": "markdown",
                    "version": version,
                    "text": text,
                }
            },
            notify=True,
        )
        wait_for_diagnostics(daemon, version)
        opens.append((time.perf_counter() - t) * 1000)
    edits = []
    for version in range(100, 100 + repeat * 5):
        line = rng.randrange(len(lines))
        t = time.perf_counter()
        daemon.send(
            "textDocument/didChange",
            {
                "textDocument": {"uri": URI, "version": version},
                "contentChanges": [
                    {
                        "range": {
                            "start": {"line": line, "character": 0},
                            "end": {"line": line, "character": 0},
                        },
                        "text": "x",
                    }
                ],
            },
            notify=True,
        )
        wait_for_diagnostics(daemon, version)
        edits.append((time.perf_counter() - t) * 1000)
    current = daemon.request("d5e/status")  # nothing pending
    assert current is not None
    tagged = [i for i, line in enumerate(lines) if "{@" in line]

    def position() -> dict[str, Any]:
        i = rng.choice(tagged)
        return {
            "textDocument": {"uri": URI},
            "position": {"line": i, "character": lines[i].index("{@") + 10},
        }

    completion = timed(lambda: daemon.request("textDocument/completion", position()), repeat * 10)
    hover = timed(lambda: daemon.request("textDocument/hover", position()), repeat * 10)
    daemon.close()
    return {
        "didOpen → diagnostics": opens,
        "didChange → diagnostics": edits,
        "completion round trip": completion,
        "hover round trip": hover,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lines", type=int, default=5000)
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    figures = Figures(
        "markdown",
        f"Markdown features on a {args.lines:,}-line document (`bench/markdown.py`)",
        "bench/markdown.py",
    )
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "d5e.sqlite3"
        app = App(build({"db": str(db)}))
        app.start()
        text = make_document(app, args.lines)
        figures.fact("tags in the document", f"{text.count('{@'):,}")
        for _ in range(args.runs):
            for label, values in in_process(app, text, args.repeat).items():
                figures.latency("in process", label, values)
        app.close()
        for _ in range(args.runs):
            for label, values in over_stdio(db, text, args.repeat).items():
                figures.latency("over stdio (a fresh daemon each run)", label, values)
    figures.save(args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
