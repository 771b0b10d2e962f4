"""The read-only `d5e:` documents (an entry's card by `d5e://PACK/COLLECTION/SLUG.md`) and the
resolution of a text's tags into links to them: shared by the LSP, JSON-RPC and MCP faces, and
free of LSP types (`d5e mcp` does not load them).
"""

from __future__ import annotations

import re

from .. import queries
from ..app import App
from ..errors import InvalidParams, stop_point
from ..packformat import SLUG_CHARS
from ..protocol import (
    DocumentParams,
    DocumentResult,
    LookupParams,
    ResolvedTag,
    ResolveTagsParams,
    ResolveTagsResult,
    UnresolvedTag,
)
from .lookup import lookup
from .tags import Resolver, Tag, find_tags

SCHEME = "d5e"


def entry_uri(row: queries.EntryRow) -> str:
    """`d5e://srd-2014/spells/fireball.md`: the read-only rendered card of one entry."""
    return f"{SCHEME}://{row.pack}/{row.collection}/{row.slug}.md"


_URI_RE = re.compile(
    rf"{SCHEME}://(?P<pack>[a-z0-9][a-z0-9-]*)/(?P<collection>[a-z][a-z0-9-]*)/"
    rf"(?P<slug>[a-z0-9][{SLUG_CHARS}]*)\.md"
)


def uri_ref(uri: str) -> str | None:
    """`d5e://srd-2014/spells/fireball.md` as the ref `srd-2014:spells/fireball`; None for
    anything else."""
    m = _URI_RE.fullmatch(uri)
    return f"{m['pack']}:{m['collection']}/{m['slug']}" if m else None


def document(app: App, params: DocumentParams) -> DocumentResult:
    """`d5e/document`: the text behind a `d5e:` URI (the entry's card with its credits)."""
    m = _URI_RE.fullmatch(params.uri)
    if not m:
        raise InvalidParams(
            f"invalid d5e document URI {params.uri!r}: expected {SCHEME}://PACK/COLLECTION/SLUG.md",
            {"path": "$.uri"},
        )
    result = lookup(app, LookupParams(ref=f"{m['pack']}:{m['collection']}/{m['slug']}"))
    return DocumentResult(
        uri=params.uri,
        text=result.markdown,
        name=result.entry.name,
        ref=result.entry.ref,
        pack=result.entry.pack,
        collection=result.entry.collection,
    )


def resolve_tags(app: App, params: ResolveTagsParams) -> ResolveTagsResult:
    """`d5e/resolveTags`: each reference tag of a text resolved to its entry (name, card link,
    one-line summary); the text comes back with resolved tags written as Markdown links, and
    the tags that resolve to nothing are listed with what is wrong and the names meant."""
    resolver = Resolver(app)
    lines = params.text.split("\n")
    resolved: list[ResolvedTag] = []
    unknown: list[UnresolvedTag] = []
    links: list[tuple[Tag, str]] = []
    for tag in find_tags(lines):
        stop_point()  # a chapter's thousands of tags: ~40 µs of Python each
        written = lines[tag.line][tag.start : tag.end]
        resolution = resolver.resolve(tag)
        row = resolution.row
        if row is None:
            suggestions = [fix.text or fix.name for fix in resolution.fixes]
            unknown.append(
                UnresolvedTag(
                    tag=written, line=tag.line, message=resolution.message, suggestions=suggestions
                )
            )
            continue
        uri = entry_uri(row)
        resolved.append(
            ResolvedTag(
                ref=row.ref,
                pack=row.pack,
                name=row.name,
                collection=row.collection,
                tag=written,
                line=tag.line,
                uri=uri,
                summary=app.render(row.entry(), "detail"),
            )
        )
        label = (tag.display or "").strip() or row.name
        links.append((tag, f"[{label}]({uri})"))
    for tag, link in reversed(links):  # from the end, so that earlier columns stay right
        line = lines[tag.line]
        lines[tag.line] = line[: tag.start] + link + line[tag.end :]
    return ResolveTagsResult(text="\n".join(lines), tags=resolved, unknown=unknown)
