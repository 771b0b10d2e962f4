"""`{@tags}` in an entry's text → what a reader sees: text, and links for references.

Any pack's text may hold 5etools tags (`{@damage 2d6}`, `{@hit 5}`, `{@spell fireball}`). A card
shows them as 5etools does: dice and bonuses as text (`2d6`, `+5`, `DC 15`), attack labels in
italics (*Melee Weapon Attack:*), formatting as Markdown, and references as their display text —
a link when `link(kind, name, source, qualifiers)` finds the entry (the qualifiers: the class,
subclass, level, pantheon or deck that tell same-named entries apart). Tags nest
(`{@b {@spell light}}`) and are replaced innermost first; a tag that is not closed is left as
written.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .text import small_int

# `{@name rest}` with no braces inside: the innermost tags first, again until none is left.
INNER_TAG = re.compile(r"\{@([A-Za-z0-9][A-Za-z0-9]*)(?:[ \t]+([^{}]*))?\}")


_ATTACK_KINDS = {"m": "Melee ", "r": "Ranged ", "g": "Magical ", "a": "Area "}
_ATTACK_METHODS = {"w": "Weapon ", "s": "Spell ", "p": "Power "}
_ABILITY = {
    "str": "Strength", "dex": "Dexterity", "con": "Constitution", "int": "Intelligence",
    "wis": "Wisdom", "cha": "Charisma",
}  # fmt: skip
_LABELS = {
    "h": "*Hit:* ", "m": "*Miss:* ", "hom": "*Hit or Miss:* ",
    "actsavesuccess": "*Success:*", "actsavesuccessorfail": "*Failure or Success:*",
    "acttrigger": "*Trigger:*",
}  # fmt: skip
# `{@actSaveFail 2}` → *Second Failure:* (5etools' `Parser.numberToText`, ordinal form)
_ORDINALS = (
    "First", "Second", "Third", "Fourth", "Fifth", "Sixth", "Seventh", "Eighth", "Ninth", "Tenth",
)  # fmt: skip
# What 5etools' dice tags show for the variables of a summon's stat block and of a prompt
# (`Renderer.utils.getTagEntry`): `{@damage 1d8 + summonSpellLevel}` → 1d8 + the spell's level.
_ROLL_WORDS = (
    (re.compile(r"summonSpellLevel"), "the spell's level"),
    (re.compile(r"summonClassLevel"), "your class level"),
    (re.compile(r"#\$prompt_number[^$]*\$#"), "(𝑛)"),
)

# Where a reference tag keeps its source and its display text (`name|source|display` unless
# listed): 5etools puts the class and level of a feature before them.
PARTS: dict[str, tuple[int, int]] = {
    "classfeature": (4, 5),
    "subclassfeature": (6, 7),
    "card": (2, 3),
    "deity": (2, 3),
    "subclass": (3, 4),
}
# Where the source is when that part is empty: a feature's class's or subclass's.
SOURCE_FALLBACK = {"classfeature": 2, "subclassfeature": 4}


@dataclass(frozen=True)
class Qualifiers:
    """What a reference's other parts say about which of several same-named entries it means:
    `{@classFeature Extra Attack|Fighter||5}` is the Fighter's, at level 5 (empty: not said)."""

    cls: str = ""
    """The class of a feature or of a subclass."""
    subclass: str = ""
    """The subclass (its short name, "Champion") of a subclass feature, or the one a
    `{@class Fighter|PHB|Champion|Champion}` points at."""
    level: str = ""
    group: str = ""
    """A deity's pantheon, a card's deck."""

    def __bool__(self) -> bool:
        return bool(self.cls or self.subclass or self.level or self.group)


NO_QUALIFIERS = Qualifiers()

# Where a tag keeps its qualifiers, as 5etools lays them out (`_doc` and its renderer):
# `classFeature Name|Class|ClassSource|Level|Source|Display`,
# `subclassFeature Name|Class|ClassSource|Subclass|SubclassSource|Level|Source|Display`,
# `subclass Name|Class|ClassSource|Source|Display`, `deity Name|Pantheon|Source|Display`,
# `card Name|Deck|Source|Display`, `class Name|Source|Display|Subclass|SubclassSource|Feature`.
QUALIFIER_PARTS: dict[str, dict[str, int]] = {
    "classfeature": {"cls": 1, "level": 3},
    "subclassfeature": {"cls": 1, "subclass": 3, "level": 5},
    "subclass": {"cls": 1},
    "deity": {"group": 1},
    "card": {"group": 1},
    "class": {"subclass": 3},
}
# Where `{@class}` keeps the source of the subclass it points at.
_CLASS_SUBCLASS_SOURCE = 4

Link = Callable[[str, str, str | None, Qualifiers], str | None]
"""`link(tag, name, source, qualifiers)` → a URI for the entry the reference means, or None."""


def qualifiers(kind: str, parts: Sequence[str]) -> Qualifiers:
    """The qualifiers a reference tag's parts hold, per the tag's layout."""
    where = QUALIFIER_PARTS.get(kind)
    if where is None:
        return NO_QUALIFIERS
    found = {key: parts[at].strip() for key, at in where.items() if len(parts) > at}
    return Qualifiers(**found) if any(found.values()) else NO_QUALIFIERS


def source_part(kind: str, parts: Sequence[str]) -> str:
    """The source a reference tag names (`|PHB`), per the tag's layout, or "". A `{@class}`
    that points at a subclass names the subclass's source (else its class's)."""
    source_at, _ = PARTS.get(kind, (1, 2))
    ats: tuple[int | None, ...] = (source_at, SOURCE_FALLBACK.get(kind))
    if kind == "class" and qualifiers(kind, parts).subclass:
        ats = (_CLASS_SUBCLASS_SOURCE, source_at)
    for at in ats:
        if at is not None and len(parts) > at and parts[at].strip():
            return parts[at].strip()
    return ""


def compose(
    tag: str,
    name: str,
    source: str | None = None,
    quals: Qualifiers = NO_QUALIFIERS,
    display: str | None = None,
) -> str:
    """A reference tag's text with each part where the tag's layout keeps it:
    `compose("classFeature", "extra attack", None, Qualifiers(cls="Fighter", level="5"))` →
    `{@classFeature extra attack|Fighter||5}`."""
    kind = tag.lower()
    source_at, display_at = PARTS.get(kind, (1, 2))
    where = dict(QUALIFIER_PARTS.get(kind, {}))
    if kind == "class" and quals.subclass:
        source_at = _CLASS_SUBCLASS_SOURCE
    placed = {at: getattr(quals, key) for key, at in where.items()}
    if source:
        placed[source_at] = source
    if display:
        placed[display_at] = display
    parts = [name] + [placed.get(at, "") for at in range(1, max(placed, default=0) + 1)]
    return "{@" + tag + " " + "|".join(parts) + "}"


# 5etools names item types and properties by their codes, in its records and in tags
# (`{@itemType M|XPHB}`, `{@itemProperty T|XPHB|thrown}`): the names they stand for (its `Parser`).
ITEM_TYPES = {
    "A": "Ammunition", "AF": "Ammunition", "AT": "Artisan's Tools", "EM": "Eldritch Machine",
    "EXP": "Explosive", "FD": "Food and Drink", "G": "Adventuring Gear", "GS": "Gaming Set",
    "GV": "Generic Variant", "HA": "Heavy Armor", "INS": "Instrument", "LA": "Light Armor",
    "M": "Melee Weapon", "MA": "Medium Armor", "MNT": "Mount", "MR": "Master Rune",
    "OTH": "Other", "P": "Potion", "R": "Ranged Weapon", "RD": "Rod", "RG": "Ring",
    "S": "Shield", "SC": "Scroll", "SCF": "Spellcasting Focus", "SHP": "Vehicle (water)",
    "SPC": "Vehicle (space)", "T": "Tools", "TAH": "Tack and Harness", "TG": "Trade Good",
    "VEH": "Vehicle (land)", "AIR": "Vehicle (air)", "WD": "Wand", "$": "Treasure",
    "$A": "Treasure (art object)", "$C": "Treasure (coinage)", "$G": "Treasure (gemstone)",
    "IDG": "Illegal Drug",
}  # fmt: skip
ITEM_PROPERTIES = {
    "A": "Ammunition", "AF": "Ammunition", "BF": "Burst Fire", "F": "Finesse", "H": "Heavy",
    "L": "Light", "LD": "Loading", "R": "Reach", "RLD": "Reload", "S": "Special",
    "T": "Thrown", "2H": "Two-Handed", "V": "Versatile",
}  # fmt: skip
CODED_TAGS = {"itemtype": ITEM_TYPES, "itemproperty": ITEM_PROPERTIES}


def coded_name(kind: str, name: str) -> str:
    """What a tag naming a code means: `coded_name("itemproperty", "T")` → "Thrown"."""
    return CODED_TAGS.get(kind, {}).get(name.strip().upper(), name)


# Tags that point at books or site pages rather than entries: shown as their text.
_TEXT_ONLY = frozenset(
    {"book", "adventure", "quickref", "filter", "5etools", "5etoolsimg", "loader",
     "footnote", "link", "help", "tip", "comic", "style", "font",
     "color", "highlight", "kbd", "u", "underline", "sup", "sub", "code",
     "comich1", "comich2", "comich3", "comich4", "comicnote", "5etoolsaudio",
     "u2", "underlinedouble", "crochet", "crochetfluff", "itementry"}
)  # fmt: skip


def _signed(text: str) -> str:
    text = text.strip()
    return text if text.startswith(("+", "-")) else f"+{text}"


def _attack(codes: str, roll: bool) -> str:
    """5etools' `Renderer.attackTagToFull`: each group's letters say its kind (`m`elee,
    `r`anged, ma`g`ical, `a`rea) and method (`w`eapon, `s`pell, `p`ower); a letter a later group
    has is said there only: `mw,rw` → *Melee or Ranged Weapon Attack:*; 2024's `{@atkr m}` →
    *Melee Attack Roll:*."""
    groups = [list(g.strip()) for g in codes.lower().split(",") if g.strip()]
    seen: set[str] = set(groups[-1]) if groups else set()
    for at in range(len(groups) - 2, -1, -1):
        kept = [c for c in groups[at] if c not in seen]
        seen.update(groups[at])
        groups[at] = kept

    def words(letters: list[str]) -> str:
        kind = next((_ATTACK_KINDS[c] for c in "mrga" if c in letters), "")
        method = next((_ATTACK_METHODS[c] for c in "wsp" if c in letters), "")
        return kind + method

    said = " or ".join(words(g).strip() for g in groups)
    return f"*{said + ' ' if said else ''}Attack{' Roll' if roll else ''}:*"


def _roll_words(text: str) -> str:
    for pattern, words in _ROLL_WORDS:
        text = pattern.sub(words, text)
    return text


def _unit(parts: Sequence[str]) -> str:
    """`{@unit 2|tin|tins}` → tins: the word for the amount (5etools: plural above one)."""
    amount, one = parts[0].strip(), (parts[1].strip() if len(parts) > 1 else "")
    many = parts[2].strip() if len(parts) > 2 and parts[2].strip() else _plural(one)
    try:
        return many if float(amount) > 1 else one
    except ValueError:
        return one


def _plural(word: str) -> str:
    """A unit's plural where the tag gives none (`box` → boxes, `berry` → berries)."""
    if re.search(r"(s|x|z|ch|sh)$", word):
        return word + "es"
    if re.search(r"[^aeiou]y$", word):
        return word[:-1] + "ies"
    return word + "s" if word else word


def _ability_roll(kind: str, parts: Sequence[str]) -> str:
    """`{@ability str 20}` → 20 (+5); `{@savingThrow dex 5}`, `{@skillCheck stealth 5}` → +5
    (`{@savingThrow str + PB}` → + PB), as 5etools' `getTagEntry` shows them; a display text
    is shown instead."""
    if len(parts) > 1 and parts[1].strip():
        return parts[1].strip()
    said = parts[0].split(None, 1)
    value = said[1].strip() if len(said) > 1 else ""
    try:
        number = int(float(value or 0))
    except ValueError:
        return value
    if kind == "ability":
        return f"{number}\u00a0({number // 2 - 5:+d})"
    return f"{number:+d}"


def _homebrew(parts: Sequence[str]) -> str:
    """`{@homebrew new|old}` as 5etools' plain text says it (its page shows the old text on
    hover)."""
    new = parts[0].strip()
    old = parts[1].strip() if len(parts) > 1 else ""
    if new and old:
        return f'{new} [this is a homebrew addition, replacing the following: "{old}"]'
    if new:
        return f"{new} [this is a homebrew addition]"
    return f"[the following text has been removed due to homebrew: {old}]" if old else ""


def _emphasis(mark: str, text: str) -> str:
    """`{@b Backstory }` → `**Backstory** `: spaces inside the tag outside the marks (Markdown
    reads no emphasis whose mark follows a space, `**Backstory **`)."""
    inner = text.strip()
    if not inner:
        return text
    return (
        text[: len(text) - len(text.lstrip())] + f"{mark}{inner}{mark}" + text[len(text.rstrip()) :]
    )


def format_tag(tag: str, rest: str, link: Link | None = None) -> str:
    """One tag (`tag` as written, `rest` after the space) as Markdown."""
    kind = tag.lower()
    parts = rest.split("|") if rest else [""]
    first = parts[0].strip()
    if kind in _LABELS:
        return _LABELS[kind]
    if kind == "actsavefail":  # `{@actSaveFail 2}`: the second failure of a 2024 save
        nth = small_int(first) or 0
        said = _ORDINALS[nth - 1] if 0 < nth <= len(_ORDINALS) else (f"{first}th" if nth else "")
        return f"*{said} Failure:*" if said else "*Failure:*"
    if kind == "actresponse":  # `{@actResponse d}`: a response that runs on (5etools' dash)
        return "*Response—*" if "d" in rest else "*Response:*"
    if kind in ("b", "bold"):
        return _emphasis("**", rest)
    if kind in ("i", "italic"):
        return _emphasis("*", rest)
    if kind == "actsavefailby":
        return f"*Failure by {first or 'N'} or More:*"
    if kind in ("s", "strike", "s2", "strikedouble"):
        return _emphasis("~~", rest)
    if kind == "code":
        return f"`{rest}`"
    if kind in ("scaledice", "scaledamage"):  # `roll|levels|added per level|mode|display`
        return next(
            (parts[at].strip() for at in (4, 2) if len(parts) > at and parts[at].strip()), first
        )
    if kind in ("dice", "damage", "autodice", "d20", "hit", "chance", "initiative"):
        # `{@dice roll|display|name}`: 5etools shows the display text (the name is the roll's,
        # for its dice roller), else the roll (`1d6;2d6` as 1d6/2d6)
        said = parts[1].strip() if len(parts) > 1 else ""
        if said:
            return _roll_words(said)
        if kind in ("hit", "d20", "initiative"):
            if not first:
                return "initiative" if kind == "initiative" else "+0"
            return _signed(first) if first.lstrip("+-").isdigit() else _roll_words(first)
        if kind == "chance":
            return f"{first} percent"
        return _roll_words(first.replace(";", "/"))
    if kind in ("ability", "savingthrow", "skillcheck"):
        return _ability_roll(kind, parts)
    if kind == "coinflip":
        return first or "flip a coin"
    if kind == "unit":
        return _unit(parts)
    if kind == "area":  # `{@area 3|id|flags}`: "area 3", "Area 3" (`u`), "3" (`x`)
        flags = parts[2] if len(parts) > 2 else ""
        return first if "x" in flags else f"{'A' if 'u' in flags else 'a'}rea {first}"
    if kind == "homebrew":
        return _homebrew(parts)
    if kind == "note":  # 5etools' muted italics
        return _emphasis("*", rest)
    if kind == "dc":
        shown = parts[1].strip() if len(parts) > 1 and parts[1].strip() else first
        return f"DC {shown}"
    if kind == "hityourspellattack":
        return first or "your spell attack modifier"
    if kind == "dcyourspellsave":
        return first or "your spell save DC"
    if kind == "recharge":  # `{@recharge 5|m}`: without its brackets
        low = first or "6"
        shown = "Recharge 6" if low == "6" else f"Recharge {low}–6"
        return shown if len(parts) > 1 and "m" in parts[1] else f"({shown})"
    if kind in ("atk", "atkr"):
        return _attack(first, kind == "atkr")
    if kind == "actsave":
        return f"*{_ABILITY.get(first.lower(), first)} Saving Throw:*"
    if kind == "footnote":  # `{@footnote text|note|title}`: 5etools shows the note on hover
        note = parts[1].strip() if len(parts) > 1 else ""
        return f"{first} ({note})" if note else first
    if kind == "link":  # `{@link text|url}`; a url of no scheme is http's, as in 5etools
        url = parts[1].strip() if len(parts) > 1 else first
        if url and not re.match(r"[A-Za-z]+:", url) and re.match(r"[\w-]+(\.[\w-]+)+(/|$)", url):
            url = "http://" + url
        return f"[{first}]({url})" if url.startswith(("http://", "https://")) else first
    if kind == "quickref":  # `{@quickref Cover|PHB|3|0|half cover}`: its display text last
        return parts[4].strip() if len(parts) > 4 and parts[4].strip() else first
    if kind in _TEXT_ONLY:
        return first
    _, display_at = PARTS.get(kind, (1, 2))
    source = source_part(kind, parts)
    display = parts[display_at].strip() if len(parts) > display_at else ""
    shown = display or coded_name(kind, first)
    if not any(c.isalnum() for c in shown):  # a citation's mark (`{@cite …|…|*}`), not emphasis
        shown = re.sub(r"([*_])", r"\\\1", shown)
    quals = qualifiers(kind, parts)
    uri = link(kind, first, source or None, quals) if link is not None and first else None
    return f"[{shown}]({uri})" if uri else shown


def render(text: str, link: Link | None = None) -> str:
    """`text` with every complete tag replaced by its Markdown (innermost first)."""
    if "{@" not in text:
        return text
    for _ in range(8):  # nesting deeper than this is left as written
        new = INNER_TAG.sub(lambda m: format_tag(m[1], m[2] or "", link), text)
        if new == text:
            break
        text = new
    return text


def plain(text: str) -> str:
    """Tags as their text, without links or Markdown emphasis (for search and detail lines)."""
    return render(text).replace("**", "").replace("*", "") if "{@" in text else text
