"""The renderer of last resort: a clean generic layout for any record of any collection."""

from __future__ import annotations

from typing import Any

from ..hookspecs import hookimpl
from ..records import Entry
from ..text import flatten

_SKIP = frozenset({"index", "name", "url", "image", "desc", "description", "extends"})


def describe(value: Any) -> str:
    """A value as a reader wants it: references by name, lists joined, objects as `key value`."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        if "name" in value and isinstance(value["name"], str):
            return value["name"]
        parts = [f"{label(k)} {describe(v)}" for k, v in value.items() if k not in _SKIP]
        return ", ".join(p for p in parts if p.strip())
    if isinstance(value, list):
        return ", ".join(describe(v) for v in value if v not in (None, "", [], {}))
    return "" if value is None else str(value)


def singular(collection: str) -> str:
    """`magic-items` → `magic item`, `classes` → `class`, `weapon-properties` → `weapon
    property`, `species` stays `species`."""
    words = collection.replace("-", " ")
    if words.endswith("species"):
        return words
    if words.endswith("ies"):
        return words[:-3] + "y"
    if words.endswith(("sses", "shes", "ches")):
        return words[:-2]
    return words[:-1] if words.endswith("s") else words


def label(key: str) -> str:
    return key.replace("_", " ").capitalize()


def paragraphs(data: dict[str, Any]) -> list[str]:
    """The description of a record: `desc` (2014: list or string) or `description` (2024)."""
    desc = data.get("desc", data.get("description"))
    if isinstance(desc, str):
        return [desc] if desc.strip() else []
    if isinstance(desc, list):
        return [str(p) for p in desc if isinstance(p, str) and p.strip()]
    return []


def generic_markdown(entry: Entry) -> str:
    lines = [f"## {entry.name}", f"*{entry.collection.replace('-', ' ')}*", ""]
    for para in paragraphs(entry.data):
        lines += [para, ""]
    facts = [
        (label(k), describe(v)) for k, v in entry.data.items() if k not in _SKIP and describe(v)
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
