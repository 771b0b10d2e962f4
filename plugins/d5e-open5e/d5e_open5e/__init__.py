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

from d5e_daemon import PriorityRule, hookimpl
from d5e_daemon.records import PathLoader

from .loader import WINS_OVER, load


@hookimpl
def register_loaders(register: Callable[[str, PathLoader], None]) -> None:
    register("open5e", load)


@hookimpl
def priority_rules() -> list[PriorityRule]:
    """Of two documents that share refs, the one published later wins (tob-2023 over tob,
    Black Flag over Monstrous Menagerie): `loader.WINS_OVER`."""
    return [PriorityRule(pack=new, over=old) for new, olds in WINS_OVER.items() for old in olds]
