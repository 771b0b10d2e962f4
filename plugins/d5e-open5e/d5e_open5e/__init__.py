"""Open5e documents for d5e: `d5e packs install open5e-api/data/v2/kobold-press/tob`.

A loader plugin registered through the public `register_loaders` hook, importing only d5e's
public API. Open5e publishes its data (open5e/open5e-api, `data/v2/<publisher>/<document>/`) as
Django fixtures: one JSON file per model (`Creature.json`, `CreatureAction.json`, `Spell.json`,
…), each record pointing at its parent. A document folder (the one holding `Document.json`)
becomes one pack; a publisher folder or the whole `data/v2` folder one pack per document.
`loader.py` reads and joins the files; `convert.py` maps the joined records onto d5e's field
names (those of the SRD's records), so cards, filters, browse and search serve them as they
serve the SRD.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from d5e_daemon import LoadedPack, PriorityRule, hookimpl
from d5e_daemon.records import PathLoader

# Where two documents hold the same ref, the one published later wins (a plugin priority rule:
# one above the other, 9), whichever was installed first: a revision over what it revises, a
# later book's take on a monster or spell over an earlier book's. A tie decided by pack ids
# (what the core does, with a warning) would be an accident of spelling. These are the documents
# of open5e-api (7d44bb0) that share refs, with their `publication_date` and the refs shared;
# the earlier ones all stay at 8, so no rule lifts a document above 9 (below the SRD's 10).
WINS_OVER = {
    "tob-2023": ("tob", "a5e-mm"),  # 2024-03 over 2016-01 (337 monsters), 2021-12 (2)
    "bfrd": ("a5e-mm", "tob2"),  # 2023-10 over 2021-12 (7 monsters), 2020-10 (1)
    "spells-that-dont-suck": ("deepm", "toh"),  # 2025-03 over 2020-02 (3 spells), 2022-06 (1)
    "open5e": ("toh",),  # 2024-02 over 2022-06 (1 background)
}


@hookimpl
def register_loaders(register: Callable[[str, PathLoader], None]) -> None:
    register("open5e", load)


def load(path: Path) -> LoadedPack | list[LoadedPack] | None:
    """`loader.load`, imported at the first install: the loader is no part of a daemon's
    start (`d5e serve` answers its first completion without it)."""
    from . import loader

    return loader.load(path)


@hookimpl
def priority_rules() -> list[PriorityRule]:
    """Of two documents that share refs, the one published later wins (tob-2023 over tob,
    Black Flag over Monstrous Menagerie): `WINS_OVER`."""
    return [PriorityRule(pack=new, over=old) for new, olds in WINS_OVER.items() for old in olds]
