"""5etools `entries` → Markdown blocks.

5etools text is a tree: strings, and objects with a `type` (`entries`, `list`, `table`, `inset`,
`quote`, `item`, `image`, …). Each becomes one Markdown block (a paragraph, a list, a table, a
quote); the `{@tags}` inside strings are kept as written, since d5e turns them into text and links
when it shows a card (against the packs enabled then). A type this module does not know keeps
its text: its `entries`/`entry`/`items`/`text` are rendered, never dropped.
"""

from __future__ import annotations

import math
import re
import unicodedata
from typing import Any

from d5e_daemon.tagsyntax import FORMAT_TAGS, TAG_COLLECTIONS
from d5e_daemon.text import small_int

from .copy import split_by_tags

_COUNTS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def count_word(n: Any) -> str:
    """A count as 5etools' pages say it: `2` → "two" up to ten, else the number as written."""
    return _COUNTS[n] if isinstance(n, int) and 0 <= n < len(_COUNTS) else str(n)


ABILITY_NAMES = {
    "str": "Strength",
    "dex": "Dexterity",
    "con": "Constitution",
    "int": "Intelligence",
    "wis": "Wisdom",
    "cha": "Charisma",
}


_ATTACK_TYPES = {"MW": "Melee Weapon", "RW": "Ranged Weapon", "MS": "Melee Spell",
                 "RS": "Ranged Spell"}  # fmt: skip
_MONSTER_BLOCKS = (
    ("trait", ""), ("action", "Actions"), ("bonus", "Bonus Actions"),
    ("reaction", "Reactions"), ("legendary", "Legendary Actions"), ("mythic", "Mythic Actions"),
)  # fmt: skip


def _inline_statblock(entry: dict[str, Any]) -> list[str]:
    """A `statblockInline`: the object it holds, shown where it stands (5etools draws the whole
    stat block there). A creature's: its facts, scores and blocks; another type's: its name
    and text, every other field as `**Label:** value`."""
    from .convert import monster
    from .render import describe, label

    data: dict[str, Any] = entry["data"]
    name = str(data.get("name") or _name(entry))
    out = [f"**{name}**"] if name else []
    if entry.get("dataType", "monster") != "monster":
        shown = {"name", "source", "page", "entries", "entry"}
        facts = [
            f"**{label(k)}:** {describe(v)}"
            for k, v in data.items()
            if k not in shown and not k.endswith("Tags") and describe(v)
        ]
        return (
            out
            + (["  \n".join(facts)] if facts else [])
            + blocks(data.get("entries", data.get("entry", [])))
        )
    m = monster(data)
    kind = " ".join(str(m[k]) for k in ("size", "type") if m.get(k))
    if m.get("alignment"):
        kind += f", {m['alignment']}"
    if kind:
        out.append(f"*{kind}*")
    facts = []
    acs = [str(a.get("value")) for a in m.get("armor_class") or [] if isinstance(a, dict)]
    if acs:
        facts.append(f"**Armor Class** {', '.join(acs)}")
    if m.get("hit_points") is not None:
        roll = f" ({m['hit_points_roll']})" if m.get("hit_points_roll") else ""
        facts.append(f"**Hit Points** {m['hit_points']}{roll}")
    if isinstance(m.get("speed"), dict):
        speeds = [
            str(v) if k == "walk" else f"{k} {v}"
            for k, v in m["speed"].items()
            if not isinstance(v, bool)
        ]
        facts.append(f"**Speed** {', '.join(speeds)}")
    if facts:
        out.append(" · ".join(facts))
    scores = [m.get(long) for long in ("strength", "dexterity", "constitution",
                                       "intelligence", "wisdom", "charisma")]  # fmt: skip
    if any(s is not None for s in scores):
        cells = [
            f"{s} ({(s - 10) // 2:+d})" if isinstance(s, int) else str(s or "—") for s in scores
        ]
        out.append(
            "| STR | DEX | CON | INT | WIS | CHA |\n|:---:|:---:|:---:|:---:|:---:|:---:|\n| "
            + " | ".join(cells)
            + " |"
        )
    more = []
    if isinstance(m.get("senses"), dict):
        more.append("**Senses** " + describe(m["senses"]))
    if m.get("languages"):
        more.append(f"**Languages** {m['languages']}")
    if data.get("cr") is not None:
        cr = data["cr"].get("cr") if isinstance(data["cr"], dict) else data["cr"]
        more.append(f"**Challenge** {cr}")
    if more:
        out.append(" · ".join(more))
    for key, heading in _MONSTER_BLOCKS:
        found = data.get(key)
        if isinstance(found, list) and found:
            if heading:
                out.append(f"**{heading}**")
            out += blocks(found)
    return out


_REF_TAGS = {
    "refClassFeature": ("classFeature", "classFeature"),
    "refSubclassFeature": ("subclassFeature", "subclassFeature"),
    "refOptionalfeature": ("optionalfeature", "optfeature"),
    "refFeat": ("feat", "feat"),
    "refItemEntry": ("itemEntry", "item"),
}


# a data key's tag where they differ (5etools' `Parser.getPropTag`)
_PROP_TAGS = {"monster": "creature", "optionalfeature": "optfeature",
              "legendaryGroup": "legroup", "vehicleUpgrade": "vehupgrade",
              "baseitem": "item", "magicvariant": "item", "charoption": "charoption"}  # fmt: skip


def blocks(value: Any, depth: int = 0) -> list[str]:
    """The Markdown blocks of an `entries` value (a list, one entry, or a string)."""
    out: list[str] = []
    items = value if isinstance(value, list) else [value]
    for item in items:
        out.extend(_entry(item, depth))
    return [b for b in out if b.strip()]


def text(value: Any) -> str:
    """An `entries` value as one Markdown string, blocks separated by blank lines."""
    return "\n\n".join(blocks(value))


def _name(entry: dict[str, Any]) -> str:
    name = entry.get("name")
    return name.strip() if isinstance(name, str) else ""


_RUN_IN = re.compile(r"\*\*\*?[^*\n]+[.:!?]\*\*\*?(?: |$)")


def _run_in(name: str, rest: list[str], heading: str = "") -> list[str]:
    """`**Name.** first paragraph` then the rest; a heading when the first block is no
    paragraph (a list, a table)."""
    if not name:
        return rest
    if heading:
        return [f"{heading} {name}", *rest]
    title = name if name.endswith((".", "!", "?", ":")) else name + "."
    captioned = len(rest) > 1 and rest[0].startswith("**") and rest[1].startswith("|")
    # a named entry first (Conflux's Skeletons' `Skeleton Lore` holding `Arcana DC 10:`): its
    # own run-in name, not the parent's text, so the parent's name stands on a line of its own
    named = _RUN_IN.match(rest[0]) is not None if rest else False
    if (
        rest
        and not (captioned or named)
        and not rest[0].startswith(("|", "- ", "> ", "#", "!", "1. "))
    ):
        return [f"***{title}*** {rest[0]}", *rest[1:]]
    return [f"***{title}***", *rest]


def _quote(lines: list[str]) -> str:
    text = "\n\n".join(lines)
    return "\n".join("> " + line if line else ">" for line in text.split("\n"))


_BREAK = re.compile(r"\s*<br\s*/?>\s*", re.IGNORECASE)
_NEW_LINE = re.compile(r"[ \t]*\n[ \t]*")


def cell(value: Any) -> str:
    """A table's cell or column label on one line (a Markdown table's cell holds one): its
    line breaks, `<br>` too (`No Corruption<br>(0 Points)`), a space, since editors' hovers
    show HTML as written."""
    if isinstance(value, dict) and value.get("type") == "cell":
        roll = value.get("roll")
        if isinstance(roll, dict):
            if "exact" in roll:
                shown = str(roll["exact"])
            elif roll.get("min") == roll.get("max"):
                shown = str(roll.get("min", ""))
            else:
                shown = f"{roll.get('min', '')}–{roll.get('max', '')}"
            return shown if "entry" not in value else f"{shown} {cell(value['entry'])}"
        value = value.get("entry", value.get("entries", ""))
    if isinstance(value, dict) and value.get("type") == "list":
        # a list in a cell (KibblesTasty's summons: one creature a line): its items, one after
        # another (a Markdown table's cell holds one line, so no bullets run together)
        items = value.get("items") or []
        flat = "; ".join(i if isinstance(i, str) else " ".join(blocks(i)) for i in items)
    else:
        flat = " ".join(blocks(value)) if not isinstance(value, str) else _with_ats(value)
    # a cell's own `|` is escaped for the Markdown table; a tag's (`{@race Elf|PHB}`) is the
    # tag's, read when the card is shown
    return "".join(
        p if p.startswith("{@") else p.replace("|", "\\|")
        for p in split_by_tags(_BREAK.sub(" ", _NEW_LINE.sub(" ", flat)))
    ).strip()


def table(entry: dict[str, Any]) -> list[str]:
    labels = [str(label) for label in entry.get("colLabels") or []]
    rows = []
    for row in entry.get("rows") or []:
        if isinstance(row, dict):
            row = row.get("row", [])
        if isinstance(row, list):
            rows.append([cell(c) for c in row])
    width = max([len(labels), *(len(r) for r in rows)])
    if not width:
        return []
    labels = [cell(label) for label in labels] + [""] * (width - len(labels))
    lines = [
        "| " + " | ".join(labels) + " |",
        "|" + "---|" * width,
        *("| " + " | ".join(r + [""] * (width - len(r))) + " |" for r in rows),
    ]
    caption = entry.get("caption")
    out = [f"**{caption}**"] if isinstance(caption, str) and caption.strip() else []
    out.append("\n".join(lines))
    # a footnote's own marker (`* Apply this modifier…`), not a Markdown list's bullet
    out += [re.sub(r"^([*+-])(?=\s)", r"\\\1", b) for b in blocks(entry.get("footnotes") or [])]
    return out


_ITEM_NAME_ENDS = (".", ",", "!", "?", ";", ":", '"')  # 5etools' _INLINE_HEADER_TERMINATORS


def _list(entry: dict[str, Any], depth: int) -> list[str]:
    """A list, its `name` above it (5etools' `rd__list-name`), numbered when its `style` says
    `list-decimal` (a quiz's questions and answers)."""
    name = _name(entry)
    if "list-no-bullets" in str(entry.get("style") or ""):
        bare = _list_lines(entry, depth)
        if bare:
            return ([f"**{name}**"] if name else []) + ["  \n".join(bare)]
    lines: list[str] = []
    numbered = "list-decimal" in str(entry.get("style") or "")
    count = 0
    pad = ""
    for item in entry.get("items") or []:
        parts = _entry(item, depth + 1)
        if not parts:
            continue
        if lines and isinstance(item, dict) and item.get("type") == "list":
            # a list among the items (Font of Life's rolls): under the item before it, as
            # 5etools draws it, not `- - …` on one line
            lines += [pad + p.replace("\n", "\n" + pad) for p in parts]
            continue
        first, *rest = parts
        count += 1
        mark = f"{count}. " if numbered else "- "
        pad = " " * len(mark)
        # an item's paragraphs each on a line of its own (a hard break: Markdown runs lines of
        # one item together, `*Prerequisite: …* You infuse…` in a class's rites)
        said = [mark + first.replace("\n", "\n" + pad)]
        said += [pad + p.replace("\n", "\n" + pad) for p in rest]
        lines.append("  \n".join(said))
    return ([f"**{name}**"] if name and lines else []) + (["\n".join(lines)] if lines else [])


def _homebrew(entry: dict[str, Any], depth: int) -> list[str]:
    """A `homebrew` entry, as 5etools' `_renderHomebrew` shows it: its new text; what it
    replaced (`oldEntries`, a box: *Replaced content*, or *Moved content*, *Removed content*);
    with no new text, that it was moved (`movedTo`) or deleted."""
    out = _run_in(_name(entry), blocks(entry.get("entries") or [], depth + 1))
    moved = entry.get("movedTo")
    if not entry.get("entries"):
        out.append(f"*This content has been moved to {moved}.*" if moved else "")
        out[-1] = out[-1] or "*This content has been deleted.*"
    old = blocks(entry.get("oldEntries") or [], depth + 1)
    if old:
        what = "Moved" if moved else "Replaced" if entry.get("entries") else "Removed"
        out.append(_quote([f"**{what} content**", *old]))
    return out


def _list_lines(entry: dict[str, Any], depth: int) -> list[str] | None:
    """A `list-no-bullets` list (Kingdoms & Warfare's domain skills, `Diplomacy: -1`) as
    lines without bullets, when each item is one line."""
    lines = []
    for item in entry.get("items") or []:
        parts = _entry(item, depth + 1)
        if len(parts) > 1 or any("\n" in p for p in parts):
            return None
        lines += parts
    return lines


_ALT_TAG = re.compile(r"\{@\w+ ([^{}|]*)(?:\|[^{}]*)?\}")


def _image(entry: dict[str, Any]) -> list[str]:
    href: dict[str, Any] = entry["href"] if isinstance(entry.get("href"), dict) else {}
    # a `credit` is the art's (The Magus - 2024's images): 5etools says `Art credit: …` under the
    # image and in its tooltip; it was the alt text alone, as if the picture's name
    credit = f"Art credit: {entry['credit']}" if entry.get("credit") else ""
    alt = entry.get("altText") or entry.get("title") or credit or "image"
    while isinstance(alt, str) and _ALT_TAG.search(alt):  # no link inside the alt text
        alt = _ALT_TAG.sub(r"\1", alt)  # (Modern Handbook's `Art Credit: {@link Tangent|…}`)
    url = href.get("url") if href.get("type") == "external" else None
    title = f" — {entry['title']}" if entry.get("title") and entry.get("altText") else ""
    shown = f"![{alt}]({url})" if url else f"*[image: {alt}{title}]*"
    return [f"{shown}  \n*{credit}*" if credit else shown]


def _ability_line(entry: dict[str, Any], what: str, formula: str) -> str:
    """5etools' `abilityDc` / `abilityAttackMod`: `**Spell save DC** = 8 + …`, the entry's name
    before `save DC` or `attack modifier` (`Ki`, `Discipline`), as its Renderer writes it."""
    names = [ABILITY_NAMES.get(a, str(a)) for a in entry.get("attributes") or []]
    joined = " or ".join(names) if names else "chosen"
    choice = " (your choice)" if len(names) > 1 else ""
    return f"**{_name(entry) or 'Spell'} {what}** = {formula}your {joined} modifier{choice}"


def _spell_list(spells: Any) -> str:
    """A list of spells as written: strings, or `{"entry": …}` objects; those 5etools marks
    `hidden` (listed for filters, not shown in the stat block) left out, as it does."""
    shown = []
    for spell in spells if isinstance(spells, list) else []:
        if isinstance(spell, dict):
            if spell.get("hidden"):
                continue
            spell = spell.get("entry", "")
        if str(spell).strip():
            shown.append(str(spell))
    return ", ".join(shown)


def _spell_levels(entry: dict[str, Any]) -> list[str]:
    """The spell lists of a spellcasting block: `spells` by level, `daily`/`will`/… uses."""
    lines = []
    will = _spell_list(entry.get("will"))
    if will:
        lines.append(f"At will: {will}")
    constant = _spell_list(entry.get("constant"))
    if constant:
        lines.append(f"Constant: {constant}")
    for key, label in (("daily", "/day"), ("rest", "/rest"), ("weekly", "/week"),
                       ("monthly", "/month"), ("yearly", "/year")):  # fmt: skip
        group = entry.get(key)
        if isinstance(group, dict):
            for uses, spells in group.items():
                each = " each" if uses.endswith("e") else ""
                names = _spell_list(spells)
                if names:
                    lines.append(f"{uses.rstrip('e')}{label}{each}: {names}")
    ritual = _spell_list(entry.get("ritual"))
    if ritual:
        lines.append(f"Rituals: {ritual}")
    spells = entry.get("spells")
    if isinstance(spells, dict):
        for level, info in sorted(
            spells.items(),
            key=lambda kv: small_int(str(kv[0])) if small_int(str(kv[0])) is not None else 99,
        ):
            if not isinstance(info, dict):
                continue
            names = _spell_list(info.get("spells"))
            slots = info.get("slots")
            if level == "0":
                lines.append(f"Cantrips (at will): {names}")
            else:
                slot_text = f" ({slots} slot{'s' if slots != 1 else ''})" if slots else ""
                lines.append(f"Level {level}{slot_text}: {names}")
    return ["- " + line for line in lines]


def spellcasting(entry: dict[str, Any]) -> list[str]:
    body = blocks(entry.get("headerEntries") or [])
    listed = _spell_levels(entry)
    if listed:
        body.append("\n".join(listed))
    body += blocks(entry.get("footerEntries") or [])
    return body


_FRACTIONS = {0.125: "⅛", 0.167: "⅙", 0.25: "¼", 0.333: "⅓", 0.5: "½", 0.667: "⅔",
              0.75: "¾", 0.833: "⅚"}  # fmt: skip
_PROPERTY = re.compile(r"\{=([^}/]+)(?:/([a-z]+))?\}")
_UNIT = re.compile(r"\{@unit ([^|}]*)\|([^|}]*)\|([^|}]*)\}")
_NUMBER_WORDS = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen", "twenty",
)  # fmt: skip


def apply_properties(text: str, props: dict[str, Any]) -> str:
    """`{=prop}` and `{=prop/modifiers}` filled from `props`, as 5etools'
    `Renderer.applyProperties` fills them: `r`/`f`/`c` round, floor, ceil; `v` a vulgar
    fraction (`1½`); `x` a number as a word; `l`/`t`/`u` lower, title, upper case; `a` "a" or
    "an" for the value."""

    def one(m: re.Match[str]) -> str:
        got = props.get(m[1])
        if got is None:
            return ""
        for mod in sorted(m[2] or "", key=lambda c: "rfcvxltua".find(c)):
            number = got if isinstance(got, int | float) and not isinstance(got, bool) else None
            text = str(got)
            if mod in "rfc" and number is not None:
                got = {"r": round, "f": math.floor, "c": math.ceil}[mod](number)
            elif mod == "v" and number is not None:
                got = amount(number)
            elif mod == "x" and number is not None and float(number).is_integer():
                n = int(number)
                got = _NUMBER_WORDS[n] if 0 <= n < len(_NUMBER_WORDS) else str(n)
            elif mod == "l":
                got = text.lower()
            elif mod == "t":
                got = text.title()
            elif mod == "u":
                got = text.upper()
            elif mod == "a":
                got = "an" if text[:1].lower() in "aeiou" else "a"
        return str(got)

    return _PROPERTY.sub(one, text)


def amount(value: Any) -> str:
    """`1.5` → `1½` (5etools' recipe amounts as a cook reads them)."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return str(value)
    whole, part = int(value), value - int(value)
    frac = next((f for v, f in _FRACTIONS.items() if abs(part - v) < 0.01), None)
    if part == 0:
        return str(whole)
    if frac is None:
        return f"{value:g}"
    return f"{whole}{frac}" if whole else frac


def ingredient(entry: dict[str, Any]) -> str:
    """An `ingredient`: its text with `{=amount1/v}` filled from its `amount1`… and
    `{@unit N|egg|eggs}` as the word for that number."""
    text = apply_properties(str(entry.get("entry", "")), entry)
    return _UNIT.sub(lambda m: m[3] if _more_than_one(m[1]) else m[2], text)


def _more_than_one(said: str) -> bool:
    """Whether `{@unit N|tin|tins}` says the plural: 5etools' is `N > 1` (half a tin, `0.5` or
    `½`, is a tin; Lyra's Dad's Chilli); a word for a number counts as that number."""
    said = said.strip().lower()
    if said in _NUMBER_WORDS:
        return _NUMBER_WORDS.index(said) > 1
    try:
        return float(said) > 1
    except ValueError:
        pass
    try:  # `1½`, `½`
        return (
            sum(unicodedata.numeric(c) if not c.isdigit() else 0 for c in said)
            + float("".join(c for c in said if c.isdigit()) or 0)
            > 1
        )
    except (TypeError, ValueError):
        return False


_EDGE_BREAKS = re.compile(r"^(?:\s*<br\s*/?>)+\s*|\s*(?:<br\s*/?>\s*)+$", re.IGNORECASE)


# a tag written without its `@` (Herbalism & Alchemy's `{dice d100}`, Aventyr's `{b …}`):
# 5etools shows the braces as written; read as the tag, its words are shown (not `{h}`/`{m}`,
# which hold no words)
_AT_LESS = re.compile(
    r"(?<![{@])\{("
    + "|".join(sorted((FORMAT_TAGS | TAG_COLLECTIONS.keys()) - {"h", "m"}, key=len)[::-1])
    + r")([ \t]+[^{}\r\n]+\})",
    re.IGNORECASE,
)


def _with_ats(text: str) -> str:
    text = _html_emphasis(text)
    return _AT_LESS.sub(lambda m: f"{{@{m[1].lower()}{m[2]}", text) if "{" in text else text


# HTML emphasis written in a string (Brewskii's Silver Thorn: `your two <b>Features</b>`):
# 5etools' renderer writes a string's text into the page as HTML, so it shows bold; read as the
# tag, a card shows it so too (editors' hovers and terminals show HTML as written)
_HTML_EMPHASIS = re.compile(r"<(b|strong|i|em|u)>(.*?)</\1>", re.IGNORECASE | re.DOTALL)
_EMPHASIS_TAG = {"b": "b", "strong": "b", "i": "i", "em": "i", "u": "u"}


def _html_emphasis(text: str) -> str:
    if "<" not in text:
        return text
    return _HTML_EMPHASIS.sub(lambda m: f"{{@{_EMPHASIS_TAG[m[1].lower()]} {m[2]}}}", text)


# what would make a paragraph's start a Markdown quote or heading (Midgard Worldbook's Druidic:
# `">A degenerate form of Elvish…"`): 5etools shows the characters
_BLOCK_START = re.compile(r"^(?=>|#{1,6}(?:\s|$))")


def _paragraph(text: str) -> str:
    """A paragraph's `<br>` a Markdown line break (`  ` and a new line: editors' hovers show
    HTML as written), none at its start or end; a tag missing its `@` read as the tag; a
    leading `>` or `#` as written, not a quote or heading."""
    text = _with_ats(text)
    if text[:1] in ">#" and _BLOCK_START.match(text):
        text = "\\" + text
    if "<" not in text:
        return text
    return _BREAK.sub("  \n", _EDGE_BREAKS.sub("", text))


def _entry(entry: Any, depth: int) -> list[str]:
    if isinstance(entry, str):
        return [_paragraph(entry)]
    if isinstance(entry, int | float) and not isinstance(entry, bool):
        return [str(entry)]
    if not isinstance(entry, dict):
        return []
    kind = entry.get("type", "entries")
    name = _name(entry)
    if kind == "homebrew":
        return _homebrew(entry, depth)
    if kind in ("entries", "section", "chapter", "flowBlock", "optfeature"):
        inner = blocks(entry.get("entries") or [], depth + 1)
        heading = (
            "#" * min(3 + depth, 6)
            if kind in ("section", "chapter")
            or (
                depth == 0
                and name
                and any(not isinstance(e, str) for e in entry.get("entries") or [])
            )
            else ""
        )
        return _run_in(name, inner, heading)
    if kind in ("inset", "insetReadaloud", "variant", "variantSub", "variantInner"):
        title = name
        if kind == "variant" and name and not name.lower().startswith("variant"):
            title = "Variant: " + name
        inner = blocks(entry.get("entries") or [], depth + 1)
        return [_quote(([f"**{title}**"] if title else []) + inner)] if inner or title else []
    if kind == "quote":
        inner = blocks(entry.get("entries") or [], depth + 1)
        by = entry.get("by")
        if by:
            source = f", *{entry['from']}*" if entry.get("from") else ""
            inner.append(f"— {by}{source}")
        return [_quote(inner)] if inner else []
    if kind == "list":
        return _list(entry, depth)
    if kind in ("table", "tableGroup"):
        if kind == "tableGroup":
            return [b for t in entry.get("tables") or [] for b in table(t)]
        return table(entry)
    if kind in ("item", "itemSub", "itemSpell"):
        inner = blocks(entry.get("entries", entry.get("entry", [])), depth + 1)
        if name and inner:
            # 5etools' `_renderItemSubtypes_isAddPeriod`: no period after a name that ends in
            # one of its terminators (TEB's `"{@race Dwarf (Ember)|TEB|Ember Dwarves},"`) or
            # says `"nameDot": false`
            written = str(entry.get("name") or "")
            bare = entry.get("nameDot") is False or written.endswith(_ITEM_NAME_ENDS)
            sep = "" if bare or name.endswith(_ITEM_NAME_ENDS) else "."
            return [f"**{name}{sep}** {inner[0]}", *inner[1:]]
        return ([f"**{name}**"] if name else []) + inner
    if kind == "options":
        return _list({"items": entry.get("entries") or []}, depth)
    if kind == "image":
        return _image(entry)
    if kind == "gallery":
        return [b for image in entry.get("images") or [] for b in _image(image)]
    if kind == "hr":
        return ["---"]
    if kind == "link":
        href: dict[str, Any] = entry["href"] if isinstance(entry.get("href"), dict) else {}
        url = href.get("url")
        label = entry.get("text", url or "")
        return [f"[{label}]({url})" if url else str(label)]
    if kind in ("inline", "inlineBlock"):
        return ["".join(" ".join(_entry(e, depth)) for e in entry.get("entries") or [])]
    if kind == "abilityDc":
        return [_ability_line(entry, "save DC", "8 + your proficiency bonus + ")]
    if kind == "abilityAttackMod":
        return [_ability_line(entry, "attack modifier", "your proficiency bonus + ")]
    if kind == "abilityGeneric":
        line = str(entry.get("text", ""))
        return [f"**{name}** = {line}" if name else line]
    if kind == "spellcasting":
        return _run_in(name, spellcasting(entry))
    if kind == "attack":  # 5etools' Renderer: *Melee Weapon Attack:* … *Hit:* …
        kinds = str(entry.get("attackType", "MW")).upper().replace(" ", "").split(",")
        said = " or ".join(_ATTACK_TYPES.get(k, k) for k in kinds)
        hit = " ".join(blocks(entry.get("hitEntries") or [], depth + 1))
        line = f"*{said} Attack:* {' '.join(blocks(entry.get('attackEntries') or []))}"
        return _run_in(name, [f"{line} *Hit:* {hit}".strip()])
    if kind == "ingredient":
        return [ingredient(entry)]
    if kind == "wrapper":
        return blocks(entry.get("wrapped"), depth)
    if kind == "statblockInline" and isinstance(entry.get("data"), dict):
        return [_quote(_inline_statblock(entry))]
    if kind == "statblock" or kind == "statblockInline":
        # the kind by `tag`, or by the data's `prop` (Modern Handbook's `"prop": "subclass"`)
        prop = str(entry.get("prop") or "")
        # a fluff's (Honkrasque's `"prop": "monsterFluff"`, 5etools draws its text there): a
        # link to what it describes, whose card holds that text (was the name alone)
        prop = (
            prop.removesuffix("Fluff") if prop.endswith("Fluff") and not entry.get("tag") else prop
        )
        tag = str(entry.get("tag") or _PROP_TAGS.get(prop, prop) or "creature")
        target = entry.get("name") or (entry.get("data") or {}).get("name", "")
        source = f"|{entry['source']}" if entry.get("source") else ""
        if tag == "subclass" and entry.get("className"):  # `{@subclass Name|Class|…|Source}`
            source = f"|{entry['className']}|{entry.get('classSource', '')}{source or '|'}"
        return [f"{{@{tag} {target}{source}}}"] if target else []
    if kind in _REF_TAGS:  # a feature of other files: a link to it (see refs.py)
        field, tag = _REF_TAGS[kind]
        ref = str(entry.get(field) or "")
        return [f"{{@{tag} {ref}}}"] if ref.split("|")[0] else []
    if kind == "dice":
        roll = entry.get("toRoll")
        if isinstance(roll, list):
            return [
                " + ".join(
                    f"{r.get('number', 1)}d{r.get('faces', '')}"
                    for r in roll
                    if isinstance(r, dict)
                )
            ]
        return [str(roll or "")]
    if kind == "bonus":
        value = entry.get("value", 0)
        return [f"{value:+d}" if isinstance(value, int) else str(value)]
    if kind == "bonusSpeed":
        value = entry.get("value", 0)
        return [f"{value:+d} ft." if isinstance(value, int) else str(value)]
    if kind == "flowchart":
        return [b for block in entry.get("blocks") or [] for b in _entry(block, depth)]
    # Anything else: its text is kept.
    for key in ("entries", "entry", "items", "text"):
        if key in entry:
            return _run_in(name, blocks(entry[key], depth + 1))
    return [name] if name else []
