"""Lookup of one entry by ref, qualified ref or name, rendered for reading."""

from __future__ import annotations

import difflib
import re

from .. import names, queries, tagtext
from ..app import App
from ..errors import InvalidParams, NotFound
from ..matching import collection_rank, match_names
from ..protocol import EntryInfo, EntryRef, LookupParams, LookupResult, PackCredit, Shadowed
from ..refs import parse_ref
from .tags import card_links, edition_note

SUGGESTIONS = 5
_ARTICLE = re.compile(r"^\s*(?:the|an?)\s+(?=\S)", re.IGNORECASE)
"""A leading article people type before a creature's name ("the goblin boss")."""


def _ref(row: queries.EntryRow) -> EntryRef:
    return EntryRef(ref=row.ref, pack=row.pack, name=row.name, collection=row.collection)


def _shadow(row: queries.EntryRow) -> Shadowed:
    return Shadowed(
        ref=row.ref,
        pack=row.pack,
        name=row.name,
        collection=row.collection,
        priority=row.priority or 0,
    )


def suggestions(app: App, text: str, collections: list[str], pack: str | None) -> list[str]:
    """Up to five qualified refs of names close to `text` ("did you mean")."""
    matches = match_names(app, text, collections=collections, pack=pack, limit=SUGGESTIONS)
    if not matches and collections:
        matches = match_names(app, text, pack=pack, limit=SUGGESTIONS)
    if not matches and pack:  # Fireball asked of the 2024 SRD, which has no spells: the others'
        matches = match_names(app, text, collections=collections, limit=SUGGESTIONS)
    return [f"{m.row.pack}:{m.row.collection}/{m.row.slug}" for m in matches]


def _not_found(
    app: App, what: str, text: str, collections: list[str], pack: str | None
) -> NotFound:
    found = suggestions(app, text, collections, pack)
    hint = f"; did you mean {', '.join(found[:3])}?" if found else ""
    return NotFound(f"no entry {what}{hint}", {"suggestions": found})


def unknown_collection(app: App, collection: str) -> str | None:
    """A collection no installed pack has, said with the nearest names (`spell`: did you mean
    'spells'?); None when some pack has it."""
    if queries.has_collection(app.conn, collection):
        return None
    close = difflib.get_close_matches(collection, queries.collection_names(app.conn), 3, 0.6)
    mean = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    return f"no installed pack has a collection {collection!r}{mean}"


def installed_pack(app: App, pack: str | None) -> str | None:
    """The installed pack a lookup names: by its id, or by the source id or abbreviation of
    its file (`dndwiki_rabbit` is the pack `dndwiki-rabbit`); none installed is an error."""
    if not pack:
        return None
    found = queries.pack_by_source(app.conn, pack)
    if found is None:
        raise NotFound(f"no pack {pack!r} is installed{pack_hint(app, pack)}")
    return found


def pack_hint(app: App, pack: str) -> str:
    """What to say after "no pack 'srd2014' is installed": the ids it may mean (close to it, or
    starting with it: 'srd' is srd-2014 or srd-2024), else where the installed ones are
    listed."""
    ids = queries.pack_ids(app.conn)
    said = pack.lower()
    close = difflib.get_close_matches(said, ids, 3, 0.6)
    close += [i for i in ids if said and i.startswith(said) and i not in close][: 3 - len(close)]
    if close:
        return f"; did you mean {' or '.join(repr(c) for c in close)}?"
    return " (`d5e packs list` names them)"


def _find_by_ref(app: App, params: LookupParams, ref: str) -> queries.EntryRow:
    pack, collection, slug = parse_ref(ref)
    pack = installed_pack(app, pack or params.pack)
    if pack:
        row = queries.entry_in_pack(app.conn, pack, collection, slug)
    else:
        rows = queries.entries_for_ref(app.conn, app.profile, collection, slug)
        row = rows[0] if rows else None
    if row is None:
        shown = f"{pack}:{collection}/{slug}" if pack else f"{collection}/{slug}"
        raise _not_found(app, f"with ref {shown}", slug.replace("-", " "), [collection], pack)
    return row


def _find_by_name(
    app: App, params: LookupParams, name: str
) -> tuple[queries.EntryRow, list[EntryRef], names.Found]:
    collections = [params.collection] if params.collection else []
    pack = installed_pack(app, params.pack)
    if params.collection and (problem := unknown_collection(app, params.collection)):
        raise NotFound(problem, {"path": "$.collection"})
    bare = _ARTICLE.sub("", name, count=1)
    found = names.find(app.conn, name, collections, profile_id=app.profile, pack=pack)
    if found is None and bare != name:  # "the owlbear", "a goblin"
        found = names.find(app.conn, bare, collections, profile_id=app.profile, pack=pack)
    for natural in names.inverted_forms(bare, "")[:1] if found is None else []:
        # "rat, giant": a name typed inverted, as Open5e and books' indexes write them
        found = names.find(app.conn, natural, collections, profile_id=app.profile, pack=pack)
    if found is None:
        where = f" in {params.collection}" if params.collection else ""
        anywhere = names.find(app.conn, name, collections) if pack is None else None
        # turned off by the user (a command, the settings), not another campaign's pack (of
        # which nothing here speaks) nor the other edition's SRD
        chosen = {"command", "settings"}
        why = app.library.priorities(app.conn).off if anywhere else {}
        off = [r for r in anywhere.rows if why.get(r.pack) in chosen] if anywhere else []
        if off:  # only in packs this profile turns off: say which, as a tag's hover does
            packs = sorted({r.pack for r in off})
            how = (
                f"`d5e packs enable {packs[0]}` turns it on"
                if why[packs[0]] == "command"
                else "the settings' `disabled` turn it off: d5e.toml's, or the editor's"
            )
            raise NotFound(
                f"no entry named {name!r}{where} in this profile ({app.profile}): "
                f"{off[0].name!r} is in {', '.join(packs)}, off here ({how})",
                {"suggestions": [r.qualified_ref for r in off]},
            )
        raise _not_found(app, f"named {name!r}{where}", bare, collections, pack)
    # within a collection, in the order names.find gives: the same name in several packs by
    # the profile's priorities (what tags and completion give), else by slug
    newer = app.settings.edition == "2024"
    rows = sorted(found.rows, key=lambda r: (_rank(r.collection, newer), r.collection))
    return rows[0], [_ref(r) for r in rows[1:]], found


def _rank(collection: str, newer: bool) -> float:
    """`collection_rank`, with a 2024 profile's species and subspecies before the races and
    subraces of the same name: `d5e lookup elf` in a 2024 campaign was the 2014 Elf race (a
    note named the 2024 species). A tag keeps 5etools' reading: `{@race Elf}` is the 2014
    race, `{@race Elf|XPHB}` the species."""
    rank = collection_rank(collection)
    return rank - 1.5 if newer and collection in ("species", "subspecies") else rank


def find_how(
    app: App, params: LookupParams
) -> tuple[queries.EntryRow, list[EntryRef], names.Found | None]:
    """The entry `params` mean (by ref or by name), the others of the same name, and how a
    name was read (None for a ref)."""
    if (params.ref is None) == (params.name is None):
        raise InvalidParams("give exactly one of `ref` or `name` - at `$`", {"path": "$"})
    if params.ref is not None:
        return _find_by_ref(app, params, params.ref), [], None
    return _find_by_name(app, params, params.name or "")


def find(app: App, params: LookupParams) -> tuple[queries.EntryRow, list[EntryRef]]:
    """The entry `params` mean (by ref or by name) and the others of the same name."""
    row, also, _ = find_how(app, params)
    return row, also


def lookup(app: App, params: LookupParams) -> LookupResult:
    row, also, found = find_how(app, params)
    same_ref = queries.entries_for_ref(app.conn, app.profile, row.collection, row.slug)
    ids = [r.id for r in same_ref]
    position = ids.index(row.id) if row.id in ids else len(ids)
    priority = same_ref[position].priority if position < len(ids) else None
    entry = row.entry()
    pack = queries.get_pack(app.conn, row.pack)
    assert pack is not None  # an entry's pack row exists (foreign key)
    credit = PackCredit(
        id=pack.id,
        title=pack.title,
        version=pack.version,
        license=pack.license,
        attribution=pack.attribution,
    )
    card = tagtext.render(app.render(entry, "markdown"), card_links(app)).rstrip()
    pack_named = params.pack or (params.ref is not None and ":" in params.ref)
    note = None if pack_named else edition_note(app, row)
    if note:  # asked for by name (or a ref of no pack): the 2014 SRD's, in a 2024 profile
        card = f"*{note}*\n\n{card}"
    other = names.declared_aliases(entry.data)
    if other:  # the names players know it by ("Mordenkainen's Sword")
        card += "\n\n*Also called " + ", ".join(other) + ".*"
    markdown = card + "\n\n---\n" + _credit_line(credit)
    return LookupResult(
        entry=EntryInfo(
            ref=row.ref,
            pack=row.pack,
            name=row.name,
            collection=row.collection,
            slug=row.slug,
            qualified_ref=row.qualified_ref,
            data=entry.data,
            source=entry.source,
            extends=row.extends,
            priority=priority,
        ),
        markdown=markdown,
        pack_info=credit,
        shadowed=[_shadow(r) for r in same_ref[position + 1 :]],
        shadowed_by=[_shadow(r) for r in same_ref[:position]],
        also=also,
        found_by=found.how if found is not None and found.how != "name" else None,
        matched=found.matched if found is not None and found.how != "name" else None,
        note=note,
    )


def _credit_line(credit: PackCredit) -> str:
    line = f"*{credit.title}* (`{credit.id}`"
    line += f", {credit.license})" if credit.license else ")"
    if credit.attribution:
        line += f"  \n<sub>{credit.attribution}</sub>"
    return line + "\n"
