"""Stat blocks written into a document: an entry's card as Markdown, or a creature's card in
Homebrewery's block syntax (`{{monster,frame … }}`, the V3 renderer's stat block).

The card is the one hover shows (`render_text(entry, "markdown")`), so every pack format and
renderer gets both styles; the Homebrewery form only rewrites its layout: `**Label:** value`
lines become `**Label** :: value`, and `___` rules separate the sections as Homebrewery's
monster snippet does.
"""

from __future__ import annotations

import re
from typing import Literal

StatBlockStyle = Literal["markdown", "homebrewery"]

_FACT = re.compile(r"^\*\*(?P<label>[^*]+?):\*\*\s?(?P<value>.*?)\s*$")


def stat_block(card: str, collection: str, style: StatBlockStyle) -> str:
    """The text to insert for an entry's card: the card itself, or for a creature in the
    Homebrewery style its `{{monster,frame` block."""
    if style != "homebrewery" or collection != "monsters":
        return card.rstrip("\n") + "\n"
    return homebrewery_monster(card)


def homebrewery_monster(card: str) -> str:
    blocks = [b.strip("\n") for b in re.split(r"\n[ \t]*\n", card.strip()) if b.strip()]
    out: list[str] = []
    for i, block in enumerate(blocks):
        lines = block.split("\n")
        facts = [_FACT.match(line) for line in lines]
        if all(facts):
            block = "\n".join(f"**{m['label']}** :: {m['value']}" for m in facts if m)
        out.append(block)
        following = blocks[i + 1] if i + 1 < len(blocks) else ""
        structural = all(facts) or block.startswith("|") or (i == 1 and block.startswith("*"))
        if structural and following and not following.startswith("#"):
            out.append("___")
    # Blank lines are kept between traits and actions; the rules and facts stay together.
    text = ""
    for prev, block in zip([None, *out], out, strict=False):
        if prev is None:
            text = block
        elif block == "___" or prev == "___" or (prev.startswith("## ") and block[:1] == "*"):
            text += "\n" + block
        else:
            text += "\n\n" + block
    return "{{monster,frame\n" + text + "\n}}\n"
