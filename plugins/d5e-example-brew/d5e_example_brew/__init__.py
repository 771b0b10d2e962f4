"""The Clockwork Menagerie: an example of a d5e plugin pack, showing every hook.

- `register_packs`: the pack `clockwork` (installed only when asked: `d5e packs install
  clockwork`; until then nothing a user sees changes).
- `register_loaders`: reads a `*.inventions.csv` price list as a pack of its own, reporting
  problems with their line and column.
- `priority_rules`: clockwork wins over srd-2014 for monsters, and only for monsters.
- `render_text`: a card and a detail line for the new `inventions` collection.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

from d5e_daemon import (
    Entry,
    LoadedPack,
    Pack,
    PackProblem,
    PackSource,
    PriorityRule,
    Source,
    hookimpl,
)
from d5e_daemon.records import PathLoader
from d5e_daemon.text import slugify

PACK = Pack(
    id="clockwork",
    title="The Clockwork Menagerie",
    version="1.0.0",
    edition="2014",
    license="CC-BY-4.0",
    attribution="The Clockwork Menagerie, an example pack of d5e, CC-BY-4.0.",
    authors=["d5e contributors"],
    description="Clockwork creatures and the inventions that make them.",
    default_priority=5,  # below the SRD: only the rule below lifts it, for monsters
)

ENTRIES = [
    # The same ref as the SRD homunculus: the rule makes this one win.
    Entry(
        collection="monsters",
        slug="homunculus",
        name="Homunculus",
        data={
            "size": "Tiny",
            "type": "construct",
            "alignment": "neutral",
            "armor_class": [{"type": "natural", "value": 14}],
            "hit_points": 9,
            "hit_points_roll": "2d4+4",
            "speed": {"walk": "20 ft.", "fly": "40 ft."},
            "challenge_rating": 0.5,
            "xp": 100,
            "desc": "A brass homunculus, wound with a silver key.",
        },
    ),
    # The same ref as the SRD spell: the rule is for monsters only, so the SRD's wins.
    Entry(
        collection="spells",
        slug="mending",
        name="Mending",
        data={"level": 0, "school": {"name": "Transmutation"}, "desc": ["Gears mesh again."]},
    ),
    Entry(
        collection="inventions",
        slug="clockwork-songbird",
        name="Clockwork Songbird",
        data={"cost": "25 gp", "weight": 1, "effect": "Sings one tune you teach it."},
    ),
]


@hookimpl
def register_packs(register: Callable[[PackSource], None]) -> None:
    register(PackSource(pack=PACK, load=lambda: list(ENTRIES)))


@hookimpl
def priority_rules() -> list[PriorityRule]:
    return [PriorityRule(pack="clockwork", over="srd-2014", collections=["monsters"])]


# -- a loader for a format of our own: a CSV price list of inventions -------------------------

COLUMNS = ("name", "cost", "weight", "effect")


def load_inventions(path: Path) -> LoadedPack | None:
    """`my-shop.inventions.csv` → a pack `my-shop` with one invention per row."""
    if not (path.is_file() and path.name.endswith(".inventions.csv")):
        return None
    pack_id = slugify(path.name.removesuffix(".inventions.csv")) or "inventions"
    loaded = LoadedPack(pack=Pack(id=pack_id, title=f"Inventions of {pack_id}", version="1"))
    shown = str(path)
    try:
        text = path.read_text("utf-8")
    except UnicodeDecodeError as exc:
        loaded.problems.append(PackProblem(file=shown, line=1, message=f"not UTF-8: {exc}"))
        return loaded
    import csv  # when a price list is read: not at every start of d5e

    rows = list(csv.reader(io.StringIO(text)))
    if not rows or tuple(c.strip() for c in rows[0]) != COLUMNS:
        message = f"the first line must be the header {','.join(COLUMNS)}"
        loaded.problems.append(PackProblem(file=shown, line=1, column=1, message=message))
        return loaded
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != len(COLUMNS):
            message = f"expected {len(COLUMNS)} values, found {len(row)}"
            loaded.problems.append(PackProblem(file=shown, line=number, column=1, message=message))
            continue
        name, cost, weight, effect = (c.strip() for c in row)
        try:
            pounds = float(weight)
        except ValueError:
            column = len(",".join(row[:2])) + 2
            loaded.problems.append(
                PackProblem(
                    file=shown,
                    line=number,
                    column=column,
                    field="weight",
                    message=f"not a number: {weight!r}",
                )
            )
            continue
        loaded.entries.append(
            Entry(
                collection="inventions",
                slug=slugify(name),
                name=name,
                data={"name": name, "cost": cost, "weight": pounds, "effect": effect},
                source=Source(path=str(path.resolve()), line=number),
            )
        )
    return loaded


@hookimpl
def register_loaders(register: Callable[[str, PathLoader], None]) -> None:
    register("inventions-csv", load_inventions)


# -- a renderer for the new collection --------------------------------------------------------


@hookimpl
def render_text(entry: Entry, purpose: str) -> str | None:
    if entry.collection != "inventions":
        return None  # everything else is left to the other renderers
    data = entry.data
    if purpose == "detail":
        return f"invention, {data.get('cost', 'priceless')}"
    if purpose == "markdown":
        weight = data.get("weight")
        return (
            f"## {entry.name}\n\n*Clockwork invention*\n\n"
            f"**Cost:** {data.get('cost', '—')}  \n"
            f"**Weight:** {weight if weight is not None else '—'} lb.\n\n"
            f"{data.get('effect', '')}\n"
        )
    if purpose == "index":
        return f"{entry.name}. Clockwork invention. {data.get('effect', '')}"
    return None
