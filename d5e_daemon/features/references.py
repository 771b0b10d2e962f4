"""`d5e/references`: where an entry is mentioned in the campaign's Markdown files (tags and
prose names), and which entries' own text links to it (the monsters that cast a spell, the
items that grant it, the variants that extend an entry).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.workspace import TextDocument

from .. import queries
from ..app import App
from ..campaign import Campaign, Mention
from ..errors import NotFound
from ..protocol import (
    EntryRef,
    LinkedEntry,
    MentionOut,
    ReferencesParams,
    ReferencesResult,
)
from ..queries import fts_any
from ..refs import parse_ref
from ..text import normalize
from . import markdown
from .search import attributes_ready
from .tags import COLLECTION_TAG, Resolver

LIMIT = 500


def find_entry(app: App, ref: str) -> queries.EntryRow:
    """The entry a ref means: the profile's winner, or the pack's entry of a qualified ref."""
    pack, collection, slug = parse_ref(ref)
    if pack:
        row = queries.entry_in_pack(app.conn, pack, collection, slug)
    else:
        rows = queries.entries_for_ref(app.conn, app.profile, collection, slug)
        row = rows[0] if rows else None
    if row is None:
        raise NotFound(f"no entry with ref {ref}")
    return row


def references(app: App, params: ReferencesParams, campaign: Campaign | None) -> ReferencesResult:
    row = find_entry(app, params.ref)
    mentions: list[Mention] = campaign.mentions(row.id) if campaign is not None else []
    return ReferencesResult(
        entry=EntryRef(ref=row.ref, pack=row.pack, name=row.name, collection=row.collection),
        mentions=[mention_out(m) for m in mentions[: params.limit]],
        linked_from=linked_from(app, row) if params.links else [],
        workspace=str(campaign.root) if campaign is not None else None,
        files=len(campaign.files) if campaign is not None else 0,
        skipped=[f"{p}: {why}" for p, why in sorted(campaign.skipped.items())] if campaign else [],
        truncated=len(mentions) > params.limit,
    )


def open_campaign(app: App) -> Campaign | None:
    """The campaign of the app's workspace (None without one), read on first use; its resolver
    follows pack changes."""
    if not app.settings.workspace:
        return None
    resolver = Resolver(app)
    app.library.on_change(lambda _packs: resolver.clear())
    return Campaign(Path(app.settings.workspace), resolver)


async def ready_campaign(app: App) -> Campaign | None:
    """The app's campaign with its folder read. The first reading (every Markdown file of the
    folder: a second for a large campaign) runs in a worker thread, so the daemon goes on
    answering other requests meanwhile; questions arriving meanwhile wait for the same reading.
    What changed during it is read again at the question, on the event loop (one file each)."""
    campaign = app.campaign
    if campaign is None or campaign.walked:
        return campaign
    if campaign.reading is None:
        names = campaign.resolver.prose_names()
        loop = asyncio.get_running_loop()
        campaign.reading = loop.run_in_executor(None, campaign.read_folder, names)
    reading = campaign.reading
    try:
        read = await asyncio.shield(reading)
    finally:
        if campaign.reading is reading and reading.done():
            campaign.reading = None  # a failed reading is tried again at the next question
    campaign.adopt(read)
    return campaign


async def document_references(
    app: App, resolver: Resolver, doc: TextDocument, position: types.Position, declaration: bool
) -> list[types.Location] | None:
    """LSP `textDocument/references`, once the campaign's folder is read."""
    campaign = await ready_campaign(app)
    return markdown.references(resolver, campaign, doc, position, declaration)


async def workspace_symbols(app: App, params: types.WorkspaceSymbolParams) -> list[Any]:
    """LSP `workspace/symbol`: the campaign's encounters (once its folder is read), then the
    profile's entries."""
    campaign = await ready_campaign(app)
    return markdown.campaign_symbols(campaign, params.query) + markdown.workspace_symbols(
        app, params.query
    )


async def references_in_workspace(app: App, params: ReferencesParams) -> ReferencesResult:
    """`d5e/references` in the daemon: the mentions in its workspace's Markdown files."""
    if params.links:
        await attributes_ready(app)  # linked_from reads the filter attributes
    return references(app, params, await ready_campaign(app))


def mention_out(m: Mention) -> MentionOut:
    return MentionOut(
        path=str(m.path),
        uri=m.path.as_uri(),
        line=m.line,
        start=m.start,
        end=m.end,
        kind=m.kind,  # type: ignore[arg-type]
        count=m.count,
        count_max=m.count_max,
        context=m.text,
    )


def linked_from(app: App, row: queries.EntryRow) -> list[LinkedEntry]:
    """Entries whose records link to `row`: the monsters that cast a spell and the items that
    grant it (the `casts` and `grants` search filters), the entries written as changes to it
    (`extends`), and those whose text links to it otherwise: by the 5e-database API link
    (`/api/2014/spells/fireball`), a tag (`{@spell fireball}`) or naming a spell the way item
    texts do ("the fireball spell"). The keyword index finds the few entries that hold the
    name at all before their records are read."""
    app.search.ensure_attributes()  # the filter attributes and keyword texts
    conn, profile = app.conn, app.profile
    norm = normalize(row.name)
    found: list[tuple[str, queries.EntryRow]] = []
    if row.collection == "spells" and norm:
        found += [
            ("casts", r) for r in queries.winners_with_attr(conn, profile, "casts", norm, LIMIT)
        ]
        found += [
            ("grants", r) for r in queries.winners_with_attr(conn, profile, "grants", norm, LIMIT)
        ]
    extending = queries.entries_extending(conn, profile, [row.qualified_ref, row.ref], LIMIT)
    found += [("extends", r) for r in extending]
    name = row.name.lower()
    needles = [f'/{row.collection}/{row.slug}"']
    tag = COLLECTION_TAG.get(row.collection)
    if tag:
        needles += [f"{{@{tag} {name}}}", f"{{@{tag} {name}|"]
    if row.collection == "spells":
        needles += [f"{name} spell", f"{name} cantrip"]
    if norm:
        match = fts_any([norm])
        found += [
            ("mentions", r)
            for r in queries.entries_linking_to(conn, profile, match, needles, LIMIT)
        ]
    out: dict[int, LinkedEntry] = {}
    for how, other in found:
        if other.id != row.id and other.id not in out:
            out[other.id] = LinkedEntry(
                ref=other.ref,
                pack=other.pack,
                name=other.name,
                collection=other.collection,
                how=how,  # type: ignore[arg-type]
            )
    return list(out.values())[:LIMIT]
