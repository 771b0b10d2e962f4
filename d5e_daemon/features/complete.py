"""`d5e/complete`: names of the profile's winners, best first: exact, then prefix, then word
prefix, then typo-tolerant (the matching itself is `matching.py`, shared with lookup and tags)."""

from __future__ import annotations

from .. import queries
from ..app import App
from ..matching import COMMON_PREFIX, TIERS, collection_rank, match_names
from ..protocol import CompleteParams, CompleteResult, CompletionItem
from .lookup import installed_pack

__all__ = ["COMMON_PREFIX", "collection_rank", "complete", "match_names"]


def complete(app: App, params: CompleteParams) -> CompleteResult:
    limit = params.limit or app.settings.completion_limit
    pack = installed_pack(
        app, params.pack
    )  # as lookup: a source id names its pack; none is an error
    matches = match_names(
        app, params.prefix, collections=params.collections, pack=pack, limit=limit
    )
    rows = {r.id: r for r in queries.rows_by_ids(app.conn, [m.row.id for m in matches])}
    items = []
    for m in matches:
        if m.row.id not in rows:
            continue  # removed by another process between the two reads: not offered
        entry = rows[m.row.id].entry()
        items.append(
            CompletionItem(
                ref=entry.ref,
                pack=entry.pack,
                name=entry.name,
                collection=entry.collection,
                detail=app.render(entry, "detail"),
                match=TIERS[m.tier],
                alias=m.row.alias,
                shadows=m.row.shadows > 0,
            )
        )
    return CompleteResult(items=items)
