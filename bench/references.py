"""Writer's tools: prose names on a 5,000-line document, references across a campaign folder.

    .venv/bin/python bench/references.py [--lines 5000] [--files 200] [--megabytes 2] [--repeat 30]
                                     [--runs 3] [--json FILE] [--old REVISION] [--only prose]

Prose names: a generated (seeded) document whose lines hold a tag each (as in
`bench/markdown.py`) and prose names as published adventures write them (a **bold** creature,
an *italic* spell or item, "4 wolves"). One run times, in one process and alternately, the
diagnostics pass and the prose recognition (`prose.walk_prose` with the document's key and the
document, whose record of its edits says what changed, as the server's shared document pass
calls it) of the same version of the document: unchanged, after one line edited, one
inserted, one deleted, 40 new lines pasted, walked whole, never seen before, and never seen by
a daemon that has read another (`prose_figures`). The target is prose ≤ 20% of a diagnostics
pass. `--old REVISION` times `prose.py` of a git revision in the same loop (old and new in one
run, taking turns going first: the first after the diagnostics pass has the colder caches);
`--cpu` times them in the process's CPU time (on a shared machine, wall time also counts the
waits for a core).

References: a generated campaign folder of `--files` Markdown files, `--megabytes` in all, with
tags and prose names. Times the first scan, then `Campaign.mentions` of random entries after it
(target ≤ 20 ms), the same after one file changed, and `d5e/references` over stdio to a daemon
whose workspace is the folder (with and without the entries linking to it).
"""

from __future__ import annotations

import argparse
import functools
import inspect
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from driver import Daemon, Figures, timed_requests
from lsprotocol import types

from d5e_daemon import queries
from d5e_daemon.app import App
from d5e_daemon.campaign import Campaign
from d5e_daemon.features import markdown as md
from d5e_daemon.features.tags import COLLECTION_TAG, Resolver
from d5e_daemon.prose import ProseNames, find_prose, native, walk_prose
from d5e_daemon.settings import build
from d5e_daemon.textdoc import LineDocument

URI = "file:///bench/adventure.md"
CLOCK = time.perf_counter
"""What the prose figures are timed with (`--cpu`: the process's CPU time)."""
Change = types.TextDocumentContentChangePartial
SENTENCES = (
    "The party reaches the ruined watchtower at dusk; {bold} waits behind the portcullis.",
    "Read aloud: the wizard casts *{spell}* while the {count} close in from the trees.",
    "If the characters search the room they find *{item}* in an iron-bound chest.",
    "Scene {n} (road): {count}; the den: Flame + {count} + 1 {monster}.",
    "Torchlight flickers on wet stone and something moves in the dark.",
)


def _names(app: App) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {"monsters": [], "spells": [], "magic-items": []}
    for _, collection, name in queries.winner_names(app.conn, app.profile, list(found)):
        found[collection].append(name)
    for names in found.values():
        names.sort()
    return found


def _plural(name: str) -> str:
    word = name.lower()
    if word.endswith("f"):
        return word[:-1] + "ves"
    if word.endswith(("s", "x", "ch", "sh")):
        return word + "es"
    if word.endswith("y") and word[-2:-1] not in "aeiou":
        return word[:-1] + "ies"
    return word + "s"


def prose_line(rng: random.Random, names: dict[str, list[str]], n: int) -> str:
    monster = rng.choice(names["monsters"])
    return rng.choice(SENTENCES).format(
        bold=f"**{rng.choice(names['monsters'])}**",
        spell=rng.choice(names["spells"]).lower(),
        item=rng.choice(names["magic-items"]).lower(),
        count=f"{rng.randint(2, 9)} {_plural(rng.choice(names['monsters']))}",
        monster=monster.lower(),
        n=n,
    )


def make_document(app: App, lines: int, seed: int = 5) -> str:
    rng = random.Random(seed)
    names = _names(app)
    tagged = [(c, n) for c, ns in names.items() for n in ns]
    out = []
    for i in range(lines):
        if i % 50 == 0:
            out.append(f"## Part {i // 50 + 1}")
            continue
        collection, name = rng.choice(tagged)
        tag = f"{{@{COLLECTION_TAG[collection]} {name.lower()}}}"
        out.append(f"{prose_line(rng, names, i)} See {tag}.")
    return "\n".join(out) + "\n"


def make_campaign(app: App, root: Path, files: int, megabytes: float, seed: int = 9) -> int:
    """`files` Markdown files of about `megabytes` in all; returns the bytes written."""
    rng = random.Random(seed)
    names = _names(app)
    per_file = int(megabytes * 2**20 / files)
    total = 0
    for i in range(files):
        folder = root / f"chapter-{i // 20:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        lines = [f"# Scene {i}", ""]
        size = 0
        while size < per_file:
            line = prose_line(rng, names, i)
            if rng.random() < 0.3:
                monster = rng.choice(names["monsters"]).lower()
                line += f" A {{@creature {monster}}} watches."
            lines.append(line)
            size += len(line) + 1
        text = "\n".join(lines) + "\n"
        (folder / f"scene-{i:03d}.md").write_text(text)
        total += len(text.encode())
    return total


def load_old_prose(revision: str) -> ModuleType:
    """`d5e_daemon/prose.py` as it is at `revision` (git), as a module beside today's: the rest
    of the package is today's (what the old module imports did not change in what it uses)."""
    root = Path(__file__).resolve().parent.parent
    source = subprocess.run(
        ["git", "show", f"{revision}:d5e_daemon/prose.py"],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    module = ModuleType("d5e_daemon.prose_old")
    module.__package__ = "d5e_daemon"
    sys.modules[module.__name__] = module
    exec(compile(source, f"{revision}:d5e_daemon/prose.py", "exec"), module.__dict__)
    return module


def edited_line(rng: random.Random, names: dict[str, list[str]], i: int) -> str:
    return f"{prose_line(rng, names, i)} Edit {i}."


def _change(
    line: int, start: int, end_line: int, end: int, text: str
) -> types.TextDocumentContentChangePartial:
    where = types.Range(types.Position(line, start), types.Position(end_line, end))
    return types.TextDocumentContentChangePartial(range=where, text=text)


def recognise(
    module: ModuleType, doc: LineDocument, names: object, key: str | None = None
) -> object:
    """The prose recognition of `module` (today's `prose.py` or an older one) as the server's
    shared document pass runs it: `walk_prose` with the document's key (what lenses, hints and
    symbols read) and the document (whose record of its edits says what changed, where a
    revision takes it), `find_prose` where a revision has no `walk_prose`."""
    walk = getattr(module, "walk_prose", None)
    if walk is None:
        return module.find_prose(doc.lines, names)
    if _takes_doc(walk):
        return walk(doc.lines, names, key, doc=doc)
    return walk(doc.lines, names, key)


@functools.cache
def _takes_doc(walk: Callable[..., object]) -> bool:
    return "doc" in inspect.signature(walk).parameters


def prose_figures(
    figures: Figures, app: App, text: str, repeat: int, old: ModuleType | None, run: int = 0
) -> None:
    """Prose recognition beside the diagnostics pass of the same version of the document, as
    every change runs both, on the document as the server keeps it (`textdoc.LineDocument`,
    changed by incremental changes): unchanged, one line edited (typing), one line inserted
    (every line below moves), one line deleted, a block of 40 new lines pasted, a walk of
    every line (no walk kept), a document never seen (cold caches, both: the first document
    after a start or a change of packs) and one never seen by a daemon that has read another
    (its tags' resolutions and prose names known: `known`). `--old` times
    the prose recognition of an older revision in the same loop, on the same versions; which
    version's names and first reading come first takes turns by `run` (use an even `--runs`)."""
    rng = random.Random(11)
    pool = _names(app)
    lines = text.splitlines(keepends=True)
    new_module = sys.modules[walk_prose.__module__]

    def cold(i: int) -> None:
        """Fresh resolver and names, a document whose text is new to both."""
        fresh = "".join(f"{line.rstrip()} Cold {i}.\n" for line in lines)
        doc = LineDocument(URI, fresh, version=1, language_id="markdown")
        t0 = CLOCK()
        md.diagnostics(Resolver(app), doc)
        diag = (CLOCK() - t0) * 1000

        def first_reading(module: ModuleType) -> float:
            t = CLOCK()
            recognise(module, doc, module.ProseNames.load(app.conn, app.profile), URI + "c")
            return (CLOCK() - t) * 1000

        before = first_reading(old) if old is not None and i % 2 else None  # turns go first
        prose = first_reading(new_module)
        if old is not None and before is None:
            before = first_reading(old)
        section = "prose: a document never seen"
        figures.value(section, "diagnostics pass", diag, "ms")
        figures.value(section, "prose recognition", prose, "ms")
        figures.value(section, "prose / diagnostics", prose / diag * 100, "%")
        if before is not None:
            figures.value(section, "prose recognition, --old", before, "ms")
            figures.value(section, "--old prose / diagnostics", before / diag * 100, "%")

    for i in range(3):
        cold(i)
    known(app, lines, figures, old, new_module)
    resolver = Resolver(app)
    doc = LineDocument(URI, text, version=1, language_id="markdown")
    md.diagnostics(resolver, doc)  # suggestions cached: a pass as every change runs it
    # The names and first reading of one version, then the other's, taking turns by run: the
    # objects made last were found faster afterwards (a walk of every line: by ~15% with the
    # same code in both places), which one order alone gives to one version.
    old_names = None
    if old is not None and run % 2:
        old_names = old.ProseNames.load(app.conn, app.profile)
        recognise(old, doc, old_names, URI)
    names = ProseNames.load(app.conn, app.profile)
    figures.fact("prose names found", f"{len(find_prose(doc.lines, names, URI)):,}")
    if old is not None and old_names is None:
        old_names = old.ProseNames.load(app.conn, app.profile)
        recognise(old, doc, old_names, URI)

    def unchanged(i: int) -> tuple[Change | None, Change | None]:
        return None, None

    def edited(i: int) -> tuple[Change | None, Change | None]:
        n = rng.randrange(len(lines))
        width = len(lines[n].rstrip("\n"))
        new = edited_line(rng, pool, i)
        return _change(n, 0, n, width, new), _change(n, 0, n, len(new), lines[n].rstrip("\n"))

    def inserted(i: int) -> tuple[Change | None, Change | None]:
        n = rng.randrange(len(lines))
        return _change(n, 0, n, 0, edited_line(rng, pool, i) + "\n"), _change(n, 0, n + 1, 0, "")

    def deleted(i: int) -> tuple[Change | None, Change | None]:
        n = rng.randrange(len(lines) - 1)
        return _change(n, 0, n + 1, 0, ""), _change(n, 0, n, 0, lines[n])

    def pasted(i: int) -> tuple[Change | None, Change | None]:
        n = rng.randrange(len(lines))
        block = "".join(f"{edited_line(rng, pool, i)} Pasted {j}.\n" for j in range(40))
        return _change(n, 0, n, 0, block), _change(n, 0, n + 40, 0, "")

    cases = {
        "unchanged": unchanged,
        "line edited": edited,
        "line inserted": inserted,
        "line deleted": deleted,
        "40 new lines pasted": pasted,
    }
    for case, make in cases.items():
        section = f"prose: {case}"
        diag, new, before, walked = [], [], [], []
        for i in range(repeat):
            change, undo = make(i)
            if change is not None:
                doc.apply_change(change)
            t0 = CLOCK()
            md.diagnostics(resolver, doc)
            diag.append((CLOCK() - t0) * 1000)
            if old is not None and i % 2:  # old and new take turns going first
                before.append(timed(recognise, old, doc, old_names, URI))
            new.append(timed(recognise, new_module, doc, names, URI))
            walked.append(names._walks[URI].walked)
            if old is not None and not i % 2:
                before.append(timed(recognise, old, doc, old_names, URI))
            if undo is not None:  # back to the base text, so each pass is one edit away
                doc.apply_change(undo)
                md.diagnostics(resolver, doc)
                recognise(new_module, doc, names, URI)
                if old is not None:
                    recognise(old, doc, old_names, URI)
        assert doc.lines == lines
        figures.latency(section, "diagnostics pass", diag)
        figures.latency(section, "prose recognition", new)
        figures.value(section, "prose / diagnostics (median of pairs)", _ratio(new, diag), "%")
        figures.value(section, "lines walked (median)", sorted(walked)[len(walked) // 2], "")
        if before:
            figures.latency(section, "prose recognition, --old", before)
            figures.value(section, "--old prose / diagnostics", _ratio(before, diag), "%")
    diag, new, before = [], [], []
    for i in range(repeat):
        t0 = CLOCK()
        md.diagnostics(resolver, doc)
        diag.append((CLOCK() - t0) * 1000)
        if old is not None and i % 2:
            before.append(timed(recognise, old, doc, old_names))
        new.append(timed(recognise, new_module, doc, names))  # no key: every line walked
        if old is not None and not i % 2:
            before.append(timed(recognise, old, doc, old_names))
    section = "prose: a walk of every line (lines seen before)"
    figures.latency(section, "diagnostics pass", diag)
    figures.latency(section, "prose recognition", new)
    figures.value(section, "prose / diagnostics (median of pairs)", _ratio(new, diag), "%")
    if before:
        figures.latency(section, "prose recognition, --old", before)
        figures.value(section, "--old prose / diagnostics", _ratio(before, diag), "%")


def known(
    app: App, lines: list[str], figures: Figures, old: ModuleType | None, new_module: ModuleType
) -> None:
    """A document never seen by a daemon that has read another (its tags resolved and its
    prose names known before): the diagnostics pass parses each new line's tags and finds
    their resolutions cached, prose recognition reads each new line's names."""
    resolver = Resolver(app)
    base = LineDocument(URI, "".join(lines), version=1, language_id="markdown")
    md.diagnostics(resolver, base)
    names = {new_module: new_module.ProseNames.load(app.conn, app.profile)}
    if old is not None:
        names[old] = old.ProseNames.load(app.conn, app.profile)
    for module, module_names in names.items():
        recognise(module, base, module_names, URI)
    section = "prose: a document never seen, its tags and names known"
    for i in range(3):
        text = "".join(f"{line.rstrip()} Known {i}.\n" for line in lines)
        doc = LineDocument(f"{URI}.{i}", text, version=1, language_id="markdown")
        diag = timed(md.diagnostics, resolver, doc)
        order = list(names) if i % 2 == 0 else list(reversed(names))  # turns go first
        took = {m: timed(recognise, m, doc, names[m], doc.uri) for m in order}
        figures.value(section, "diagnostics pass", diag, "ms")
        figures.value(section, "prose recognition", took[new_module], "ms")
        figures.value(section, "prose / diagnostics", took[new_module] / diag * 100, "%")
        if old is not None:
            figures.value(section, "prose recognition, --old", took[old], "ms")
            figures.value(section, "--old prose / diagnostics", took[old] / diag * 100, "%")


def timed(fn: Callable[..., object], *args: object) -> float:
    """Milliseconds `fn(*args)` takes (`CLOCK`)."""
    t = CLOCK()
    fn(*args)
    return (CLOCK() - t) * 1000


def _ratio(part: list[float], whole: list[float]) -> float:
    return sorted(p / w for p, w in zip(part, whole, strict=True))[len(part) // 2] * 100


def reference_figures(figures: Figures, app: App, root: Path, repeat: int, db: Path) -> None:
    campaign = Campaign(root, Resolver(app))
    monsters = queries.winner_entries(app.conn, app.profile, ["monsters", "spells"])
    rng = random.Random(3)
    t = time.perf_counter()
    campaign.refresh()
    figures.value("references", "first scan", (time.perf_counter() - t) * 1000, "ms")
    picks = [rng.choice(monsters).id for _ in range(repeat * 10)]
    found = []

    def ask() -> None:
        found.append(len(campaign.mentions(picks[len(found) % len(picks)])))

    times = []
    for _ in range(repeat * 10):
        t = time.perf_counter()
        ask()
        times.append((time.perf_counter() - t) * 1000)
    figures.latency("references", "mentions of an entry, after the first scan", times)
    figures.fact("mentions per entry asked (median)", sorted(found)[len(found) // 2])
    files = sorted(campaign.files)
    changed = []
    for i in range(repeat):
        path = files[i % len(files)]
        path.write_text(path.read_text() + f"Later: {i + 2} wolves.\n")
        campaign.changed([path])
        t = time.perf_counter()
        ask()
        changed.append((time.perf_counter() - t) * 1000)
    figures.latency("references", "mentions after one file changed", changed)

    daemon = Daemon(db)
    daemon.request(
        "initialize", {"processId": None, "capabilities": {}, "rootUri": root.as_uri()}, timeout=120
    )
    daemon.send("initialized", {}, notify=True)
    refs = [f"{m.qualified_ref}" for m in rng.sample(monsters, 50)]
    daemon.request("d5e/references", {"ref": refs[0], "links": False}, timeout=120)  # first scan
    figures.latency(
        "references over stdio",
        "d5e/references, mentions only",
        timed_requests(
            daemon, "d5e/references", [{"ref": r, "links": False} for r in refs], repeat * 3
        ),
    )
    figures.latency(
        "references over stdio",
        "d5e/references with linkedFrom",
        timed_requests(daemon, "d5e/references", [{"ref": r} for r in refs], repeat * 3),
    )
    daemon.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lines", type=int, default=5000)
    ap.add_argument("--files", type=int, default=200)
    ap.add_argument("--megabytes", type=float, default=2.0)
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json", type=Path, help="also write the figures here")
    ap.add_argument("--old", metavar="REVISION", help="also time prose.py of this git revision")
    ap.add_argument("--only", choices=["prose", "references"], help="one half of the bench")
    ap.add_argument(
        "--cpu",
        action="store_true",
        help="prose figures in this process's CPU time (a loaded machine's waits left out)",
    )
    args = ap.parse_args()
    if args.cpu:
        global CLOCK
        CLOCK = time.process_time
    figures = Figures(
        "references",
        f"Writer's tools: prose names on {args.lines:,} lines, references over {args.files} "
        f"files / {args.megabytes} MB (`bench/references.py`)",
        "bench/references.py",
    )
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "d5e.sqlite3"
        app = App(build({"db": str(db)}))
        app.start()
        app.search.ensure_attributes()
        text = make_document(app, args.lines)
        figures.fact("document", f"{args.lines:,} lines, {len(text.encode()):,} bytes")
        root = Path(tmp) / "campaign"
        size = make_campaign(app, root, args.files, args.megabytes)
        figures.fact("campaign folder", f"{args.files} files, {size:,} bytes")
        old = load_old_prose(args.old) if args.old else None
        reader = native()
        figures.fact("prose reader", f"native ({reader.__name__})" if reader else "Python")
        for run in range(args.runs if args.only != "references" else 0):
            prose_figures(figures, app, text, args.repeat, old, run)
        for run in range(args.runs if args.only != "prose" else 0):
            copy = Path(tmp) / f"campaign-{run}"
            make_campaign(app, copy, args.files, args.megabytes)
            reference_figures(figures, app, copy, args.repeat, db)
        app.close()
    figures.save(args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
