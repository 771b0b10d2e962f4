"""`d5e/references`: where an entry is mentioned in the campaign's Markdown files (tags and
prose names), and which entries' own text links to it (the monsters that cast a spell, the
items that grant it, the variants that extend an entry).
"""

from __future__ import annotations

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
from ..text import normalize
from .lookup import parse_ref
from .tags import COLLECTION_TAG

LIMIT = 500
HOW_ORDER = ("casts", "grants", "extends", "mentions")
SPELL_GIVERS = {"monsters": "casts", "magic-items": "grants", "equipment": "grants"}


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


def references_in_workspace(app: App, params: ReferencesParams) -> ReferencesResult:
    """`d5e/references` in the daemon: the mentions in its workspace's Markdown files."""
    return references(app, params, app.campaign)


def mention_out(m: Mention) -> MentionOut:
    return MentionOut(
        path=str(m.path),
        uri=m.path.as_uri(),
        line=m.line,
        start=m.start,
        end=m.end,
        kind=m.kind,  # type: ignore[arg-type]
        count=m.count,
        context=m.text,
    )


def linked_from(app: App, row: queries.EntryRow) -> list[LinkedEntry]:
    """Entries whose records link to `row`: by the 5e-database API link (`/api/2014/spells/
    fireball`, how the SRD lists a monster's spells), by a tag in their text (`{@spell
    fireball}`), by naming a spell the way item texts do ("the fireball spell"), or by
    `extends`. The keyword index finds the few entries that hold the name at all first."""
    app.search.ensure_attributes()  # the keyword texts
    name = row.name.lower()
    needles = [f'/{row.collection}/{row.slug}"']
    tag = COLLECTION_TAG.get(row.collection)
    if tag:
        needles += [f"{{@{tag} {name}}}", f"{{@{tag} {name}|"]
    if row.collection == "spells":
        needles += [f"{name} spell", f"{name} cantrip"]
    words = normalize(row.name).split()
    found = (
        queries.entries_extending(app.conn, app.profile, [row.qualified_ref, row.ref], LIMIT)
        + queries.entries_linking_to(
            app.conn, app.profile, fts_any([" ".join(words)]), needles, LIMIT
        )
        if words
        else []
    )
    out: dict[int, LinkedEntry] = {}
    for other in found:
        if other.id == row.id or other.id in out:
            continue
        if other.extends in (row.qualified_ref, row.ref):
            how = "extends"
        elif row.collection == "spells":
            how = SPELL_GIVERS.get(other.collection, "mentions")
        else:
            how = "mentions"
        out[other.id] = LinkedEntry(
            ref=other.ref,
            pack=other.pack,
            name=other.name,
            collection=other.collection,
            how=how,  # type: ignore[arg-type]
        )
    return sorted(out.values(), key=lambda e: (HOW_ORDER.index(e.how), e.collection, e.name))[
        :LIMIT
    ]
