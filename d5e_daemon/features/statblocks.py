"""`d5e/statBlock`: an entry's card to paste into a document, as Markdown or (creatures) in
Homebrewery's `{{monster,frame …}}` block: what the "Insert stat block" code action inserts."""

from __future__ import annotations

from .. import queries
from ..app import App
from ..protocol import LookupParams, StatBlockParams, StatBlockResult
from ..statblocks import stat_block
from .lookup import lookup


def stat_block_of(app: App, row: queries.EntryRow, style: str) -> str:
    return stat_block(app.render(row.entry(), "markdown"), row.collection, style)  # type: ignore[arg-type]


def stat_block_entry(app: App, params: StatBlockParams) -> StatBlockResult:
    found = lookup(
        app, LookupParams(ref=params.ref, name=params.name, collection=params.collection)
    ).entry
    row = queries.entry_in_pack(app.conn, found.pack, found.collection, found.slug)
    assert row is not None  # lookup just found it
    style = params.style or app.settings.stat_blocks
    return StatBlockResult(
        ref=row.ref,
        pack=row.pack,
        name=row.name,
        collection=row.collection,
        style=style,
        text=stat_block_of(app, row, style),
    )
