"""The renderer of last resort: a clean generic layout for any record of any collection."""

from __future__ import annotations

from ..fields import SKIP, describe, label, paragraphs, singular
from ..hookspecs import hookimpl
from ..records import Entry
from ..text import flatten


def generic_markdown(entry: Entry) -> str:
    lines = [f"## {entry.name}", f"*{entry.collection.replace('-', ' ')}*", ""]
    for para in paragraphs(entry.data):
        lines += [para, ""]
    facts = [
        (label(k), describe(v)) for k, v in entry.data.items() if k not in SKIP and describe(v)
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
        # first line "Name: kind", the header the indexer repeats on every passage
        return f"{entry.name}: {singular(entry.collection)}\n{flatten(entry.data)}"
    return None
