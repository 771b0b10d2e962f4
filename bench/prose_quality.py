"""What a writer sees on prose written without tags: precision and recall of `d5e link`, of the
prose names the editor recognises (hover, definition), of the encounters it counts, and the
diagnostics `d5e check` gives, on the hand-labelled sample `bench/prose-eval.jsonl` (or
`--eval bench/prose-heldout-2.jsonl`: 108 pieces in other styles, written and committed before
session twenty-one measured or changed anything; `--eval bench/prose-heldout-3.jsonl`: 73 more,
written and committed before session twenty-two measured anything; `--eval
bench/prose-heldout-4.jsonl`: 82 more, written and committed before session twenty-three
measured anything; docs/writers-tools.md).

    .venv/bin/python bench/prose_quality.py [--eval bench/prose-eval.jsonl] [--db FILE]
        [--old CHECKOUT] [--corpus DIR] [-v]

`--old CHECKOUT` (a checkout or an unpacked `git archive`) measures that checkout's d5e too, in a
process that imports it (`driver.run_old`); each side prints the files its d5e_daemon came from.

Each item of the sample is a short piece of prose in one of the styles adventures and campaign
notes are written in (a published adventure's, a player's session journal, a DM's notes, a
one-page adventure's monster list), written for this sample, with its labels:

- `want`: `[written, "kind name", "p"?]`: the names a writer wants linked, each with the tag it
  should get (`"creature wolf"`); `"p"` when the editor should recognise it as a prose name
  too (bold, italic or counted: hover, definition);
- `maybe`: what may be linked or not (a class in "Human Fighter", "the guard" who may be the
  Guard): neither counted right nor wrong;
- `edition` (optional): `"2024"` measures the item in a profile of the 2024 rules (2014 else);
- `encounters`: what each encounter the text counts holds (`{"wolf": 4}`; a range as its low
  and high ends, `{"wolf": [6, 8]}` for "6-8 wolves", `[2, 5]` for "1d4+1"), in order.

A link (or prose name) is right when its written text and tag are a `want` (each once), and
wrong when its text is neither a `want` nor a `maybe`. An encounter is right when the creatures
d5e counts in it are exactly the labelled ones. `--old CHECKOUT` measures another checkout's
d5e on the same sample and database in the same run (its own process, started from /tmp), to
give old → new. `--corpus DIR` also prints, for each Markdown file of DIR (adventures nobody
here wrote, never committed), how many links `d5e link` would write and which diagnostics
`d5e check` gives: the figures to read beside the sample's. `-v` lists every wrong or missed
link.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from driver import imported, run_old

from d5e_daemon.app import App
from d5e_daemon.features import markdown as md
from d5e_daemon.features.encounter_lens import find_encounters
from d5e_daemon.features.tags import Resolver, tag_for
from d5e_daemon.prose import find_prose
from d5e_daemon.settings import build

REPO = Path(__file__).resolve().parents[1]
EVAL = REPO / "bench" / "prose-eval.jsonl"


def _target(tag: str) -> str:
    """`{@creature wolf||wolves}` → `creature wolf`."""
    return tag[2:-1].split("||")[0].split("|")[0]


def _ends(count: int | str) -> tuple[int, int]:
    """The low and high ends of a monster's count: a number, or a range as written ("6-8")."""
    if isinstance(count, str):
        from d5e_daemon.quantity import parse_quantity

        return parse_quantity(count)
    return count, count


def _score(found: list[tuple[str, str]], want: list[tuple[str, str]], maybe: list[str]) -> dict:
    left = Counter(want)
    right, wrong = 0, []
    for pair in found:
        if left[pair] > 0:
            left[pair] -= 1
            right += 1
        elif pair[0] not in maybe:
            wrong.append(pair)
    missed = list(left.elements())
    return {"right": right, "wrong": wrong, "missed": missed, "want": len(want)}


def measure(apps: dict[str, App], items: list[dict[str, Any]]) -> dict[str, Any]:
    """`apps`: an App for each edition the items name (`"edition"`, else "2014")."""
    resolvers = {edition: Resolver(app) for edition, app in apps.items()}
    known = {edition: resolver.prose_names() for edition, resolver in resolvers.items()}
    totals: dict[str, Any] = {}
    details: dict[str, list[Any]] = {"link": [], "prose": [], "encounters": [], "check": []}
    for item in items:
        resolver = resolvers[item.get("edition", "2014")]
        names = known[item.get("edition", "2014")]
        text = item["text"] + "\n"
        lines = text.splitlines()
        want = [(w[0], w[1]) for w in item["want"]]
        _, edits, _ = md.link_text(resolver, text)
        links = [(lines[e.line][e.start : e.end], _target(e.new_text)) for e in edits]
        refs = []
        for ref in find_prose(lines, names):
            tag = tag_for(ref.entry.collection, ref.entry.name)
            if tag is not None:
                refs.append((ref.text, _target(tag)))
        prose_want = [(w[0], w[1]) for w in item["want"] if w[2:] == ["p"]]
        for kind, found, wanted in (("link", links, want), ("prose", refs, prose_want)):
            score = _score(found, wanted, item["maybe"])
            details[kind].append((item["id"], score))
            total = totals.setdefault(kind, Counter())
            total.update(
                right=score["right"], found=score["right"] + len(score["wrong"]),
                wrong=len(score["wrong"]), want=score["want"],
            )  # fmt: skip
        counted = []
        for found in find_encounters(resolver, lines):
            ends: dict[str, tuple[int, int]] = {}
            for monster in found.monsters:
                name = (monster.ref or "").rsplit("/", 1)[-1].replace("-", " ")
                low, high = _ends(monster.count)
                was = ends.get(name, (0, 0))
                ends[name] = (was[0] + low, was[1] + high)
            counted.append(
                {k: low if low == high else [low, high] for k, (low, high) in ends.items()}
            )
        labelled = item.get("encounters", [])
        right = sum(1 for group in counted if group in labelled)
        enc = totals.setdefault("encounters", Counter())
        enc.update(right=right, found=len(counted), want=len(labelled))
        details["encounters"].append((item["id"], counted, labelled))
        problems = md.diagnostics(resolver, md.TextDocument(f"file:///{item['id']}.md", text))
        totals.setdefault("check", Counter()).update(diagnostics=len(problems))
        details["check"].append((item["id"], [p.message for p in problems]))
    totals = {k: dict(v) for k, v in totals.items()}
    return {"totals": totals, "details": details, "imported": imported()}


def corpus(app: App, folder: Path) -> list[dict[str, Any]]:
    resolver = Resolver(app)
    out = []
    for path in sorted(folder.glob("*.md")):
        text = path.read_text(encoding="utf-8", errors="replace")
        _, edits, _ = md.link_text(resolver, text)
        lines = text.splitlines()
        kinds = Counter(_target(e.new_text).split()[0] for e in edits)
        written = Counter(lines[e.line][e.start : e.end].lower() for e in edits)
        problems = md.diagnostics(resolver, md.TextDocument(path.as_uri(), text))
        encounters = find_encounters(resolver, lines)
        out.append(
            {
                "file": path.name, "lines": len(lines), "links": len(edits),
                "kinds": dict(kinds), "top": written.most_common(12),
                "encounters": len(encounters), "diagnostics": len(problems),
            }
        )  # fmt: skip
    return out


def _ratio(a: int, b: int) -> str:
    return f"{a / b:.3f}" if b else "–"


def report(label: str, result: dict[str, Any], verbose: bool) -> None:
    t = result["totals"]
    link, prose, enc = t["link"], t["prose"], t["encounters"]
    print(
        f"{label}: link precision {_ratio(link['right'], link['found'])} "
        f"({link['right']}/{link['found']}, {link['wrong']} wrong) recall "
        f"{_ratio(link['right'], link['want'])} ({link['right']}/{link['want']}); "
        f"prose names precision {_ratio(prose['right'], prose['found'])} recall "
        f"{_ratio(prose['right'], prose['want'])} ({prose['right']}/{prose['want']}); "
        f"encounters right {enc['right']} of {enc['want']} labelled ({enc['found']} counted); "
        f"diagnostics {t['check']['diagnostics']}"
    )
    if verbose:
        for kind in ("link", "prose"):
            for item_id, score in result["details"][kind]:
                for pair in score["wrong"]:
                    print(f"  {kind} wrong  {item_id}: {pair[0]!r} → {pair[1]}")
                for pair in score["missed"]:
                    print(f"  {kind} missed {item_id}: {pair[0]!r} → {pair[1]}")
        for item_id, counted, labelled in result["details"]["encounters"]:
            if counted != labelled:
                print(f"  encounters {item_id}: counted {counted}, labelled {labelled}")
        for item_id, messages in result["details"]["check"]:
            for message in messages:
                print(f"  check {item_id}: {message}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--eval", type=Path, default=EVAL)
    ap.add_argument("--db", type=Path, help="a database holding the SRD (else one is built)")
    ap.add_argument("--old", type=Path, help="another checkout, measured in the same run")
    ap.add_argument("--corpus", type=Path, help="a folder of Markdown adventures to read too")
    ap.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    items = [json.loads(line) for line in args.eval.read_text().splitlines() if line.strip()]
    with tempfile.TemporaryDirectory(prefix="prose-quality-") as tmp:
        db = args.db or Path(tmp) / "d5e.sqlite3"
        if args.old is not None:
            argv = ["--eval", str(args.eval.resolve()), "--db", str(db), "--json"]
            if args.corpus is not None:
                argv += ["--corpus", str(args.corpus.resolve())]
            if args.db is None:  # built by this d5e first, at a schema both read
                App(build({"db": str(db)})).start()
            old = json.loads(run_old(args.old, Path(__file__), argv, capture=True))
        editions = sorted({item.get("edition", "2014") for item in items} | {"2014"})
        # a profile of each edition: one name in one database is one profile, the last saved
        apps = {
            edition: App(build({"db": str(db), "edition": edition, "profile": f"prose-{edition}"}))
            for edition in editions
        }
        try:
            for app in apps.values():
                app.start()
            new = measure(apps, items)
            if args.corpus is not None:
                new["corpus"] = corpus(apps["2014"], args.corpus)
        finally:
            for app in apps.values():
                app.close()
    if args.json:
        print(json.dumps(new))
        return 0
    results = [("old", old), ("new", new)] if args.old is not None else [("d5e", new)]
    for label, result in results:
        print(f"{label}: {result['imported']}")
        report(label, result, args.verbose)
    for label, result in results:
        for row in result.get("corpus", []):
            print(f"{label} {row['file']}: {row['lines']} lines, {row['links']} links "
                  f"{row['kinds']}, {row['encounters']} encounters, "
                  f"{row['diagnostics']} diagnostics; most linked {row['top']}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
