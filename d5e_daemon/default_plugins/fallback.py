"""The renderer of last resort: a clean generic layout for any record of any collection."""

from __future__ import annotations

from ..fields import SKIP, describe, label, paragraphs, singular
from ..hookspecs import hookimpl
from ..records import Entry
from ..text import flatten

SEARCH_ONLY = frozenset({"lore"})
"""Fields a pack declares for search alone (what the entry is, in the words people ask with):
read by the index, never shown on a card."""


def generic_markdown(entry: Entry) -> str:
    lines = [f"## {entry.name}", f"*{singular(entry.collection).capitalize()}*", ""]
    for para in paragraphs(entry.data):
        lines += [para, ""]
    facts = [
        (label(k), describe(v))
        for k, v in entry.data.items()
        if k not in SKIP and k not in SEARCH_ONLY and describe(v)
    ]
    lines += [f"- **{k}:** {v}" for k, v in facts]
    return "\n".join(lines).rstrip() + "\n"


@hookimpl(trylast=True)
def render_text(entry: Entry, purpose: str) -> str | None:
    if purpose == "markdown":
        return generic_markdown(entry)
    if purpose == "detail":
        return singular(entry.collection)
    if purpose == "index":
        # first line "Name: kind", the header the indexer repeats on every passage; then the
        # entry's lore, if its pack gives one (what it is, in plain words), then its record
        lore = entry.data.get("lore")
        rest = {k: v for k, v in entry.data.items() if k not in SEARCH_ONLY}
        lead = " ".join(lore.split()) + "\n" if isinstance(lore, str) and lore.strip() else ""
        return f"{entry.name}: {singular(entry.collection)}\n{lead}{flatten(rest)}"
    return None
