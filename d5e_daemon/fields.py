"""The field helpers every renderer and the search filters share: how a record's values read
(`describe`, `paragraphs`, `label`), and the facts of spells, monsters and items as the SRD's
2014 and 2024 records and homebrew give them (`spell_kind`, `challenge_rating`, `item_type`…).

Public: loader and renderer plugins import them (`from d5e_daemon.fields import describe`).
Records come in the 2014 and 2024 shapes of 5e-database and in whatever subset a homebrew
author writes, so every helper takes what is there and returns "" or [] otherwise.
"""

from __future__ import annotations

import re
from typing import Any

from . import tagtext
from .text import small_int

SKIP = frozenset({"index", "name", "url", "image", "desc", "description", "extends"})


def describe(value: Any) -> str:
    """A value as a reader wants it: references by name, lists joined, objects as `key value`."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        if "name" in value and isinstance(value["name"], str):
            return value["name"]
        parts = [f"{label(k)} {describe(v)}" for k, v in value.items() if k not in SKIP]
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


FRACTIONS = {0.125: "1/8", 0.25: "1/4", 0.5: "1/2"}


ORDINALS = {1: "1st", 2: "2nd", 3: "3rd"}


# Words that show a line already names the rarity ("uncommon" and "very rare" included).
RARITY_WORDS = ("common", "rare", "legendary", "artifact", "rarity", "varies")


# First words of the "Wondrous item, uncommon" line that opens a magic item's description
# ("Wondous" is a typo in the 2014 data, kept so that line is still recognised).
ITEM_TYPES = frozenset(
    {"ammunition", "armor", "potion", "ring", "rod", "scroll", "staff", "wand", "weapon"}
    | {"wondrous", "wondous"}
)


def as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        return small_int(value)
    return None


def plain_number(value: Any) -> str:
    """`3.0` → `3`, `0.25` → `0.25`, anything else as `describe` shows it."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return describe(value)


def index_words(text: str) -> str:
    """A category written as the SRD's index (`wondrous-items`, a pack's front matter) as the
    words of its name (`wondrous items`); a name with spaces stays as it is (`Half-Plate`)."""
    return text if " " in text else text.replace("-", " ")


def sentence_case(text: str) -> str:
    """`Martial Melee weapon` → `Martial melee weapon`; a parenthesis keeps its own case."""
    head, paren, tail = text.partition("(")
    return head[:1].upper() + head[1:].lower() + paren + tail


def text_paragraphs(value: Any) -> list[str]:
    """A text field as paragraphs: a list of strings, or one string split at its line breaks."""
    if isinstance(value, str):
        return [line.strip() for line in value.split("\n") if line.strip()]
    if isinstance(value, list):
        return [p.strip() for p in value if isinstance(p, str) and p.strip()]
    return []


def spell_kind(data: dict[str, Any]) -> str:
    school = describe(data.get("school")).strip()
    level = as_int(data.get("level"))
    if level == 0:
        kind = f"{school} cantrip".strip().capitalize()
    elif level is not None:
        kind = f"{ORDINALS.get(level, f'{level}th')}-level {school.lower() or 'spell'}"
    else:
        kind = f"{school} spell".strip().capitalize()
    return kind + (" (ritual)" if data.get("ritual") is True else "")


def spell_range(data: dict[str, Any]) -> str:
    """`Self (15-foot cone)`: the range, then its area unless the range already names it in
    brackets (5etools' ranges do: `Self (10-foot-radius hemisphere)`)."""
    rng = describe(data.get("range"))
    area = data.get("area_of_effect")
    if isinstance(area, dict) and area.get("size") is not None and not rng.endswith(")"):
        shape = f"{plain_number(area['size'])}-foot {describe(area.get('type'))}".strip()
        return f"{rng} ({shape})" if rng else shape
    return rng


def spell_components(data: dict[str, Any]) -> str:
    comps = data.get("components")
    text = ", ".join(map(str, comps)) if isinstance(comps, list) else describe(comps)
    material = describe(data.get("material")).strip().rstrip(".")
    if material:
        text += f" ({material[:1].lower()}{material[1:]})"
    return text.strip()


def spell_duration(data: dict[str, Any]) -> str:
    duration = describe(data.get("duration"))
    if data.get("concentration") is True and "concentration" not in duration.lower():
        rest = duration[6:] if duration.lower().startswith("up to ") else duration
        return f"Concentration, up to {rest}" if rest else "Concentration"
    return duration


def challenge_rating(value: Any) -> str:
    if isinstance(value, float) and value in FRACTIONS:
        return FRACTIONS[value]
    return plain_number(value)


def listing(value: Any, lower: bool = False) -> str:
    items = [describe(v) for v in value] if isinstance(value, list) else [describe(value)]
    items = [i.lower() if lower else i for i in items if i]
    # "acid, fire; bludgeoning, piercing, and slashing from nonmagical attacks", as printed
    groups = [", ".join(i for i in items if "," not in i), *(i for i in items if "," in i)]
    return "; ".join(g for g in groups if g)


def is_type_line(para: str) -> bool:
    """The short first line `Wondrous item, uncommon` (2014) or `Wondrous Item` (2024)."""
    words = para.replace(",", " ").replace("(", " ").split()
    return bool(words) and words[0].lower() in ITEM_TYPES and not para.endswith((".", ":"))


def item_type(data: dict[str, Any], first: str | None) -> str:
    """The italic line under an item's name, from its description's first line when it has one."""
    rarity = describe(data.get("rarity")).lower()
    if first and (rarity == "" or any(word in first.lower() for word in RARITY_WORDS)):
        return first.replace("Wondous", "Wondrous")  # 2014: type, rarity and attunement
    category = index_words(describe(data.get("equipment_category")))  # "Wondrous Items"
    kind = first or (category[:-1] if category.endswith("s") else category)
    base = describe(data.get("base_item")).lower()  # "Weapon (dagger)", as the SRD writes it
    if not first and base and kind and base not in kind.lower():
        kind += f" ({base})"
    text = sentence_case(", ".join(p for p in (kind, *_more_types(data), rarity) if p))
    limited = describe(data.get("limited-to"))  # 2024: "Paladin", "Cleric, Druid, or Paladin"
    if data.get("attunement") is True:
        text += f" (requires attunement{' by a ' + limited if limited else ''})"
    return text


def magic_item_parts(data: dict[str, Any]) -> tuple[str, list[str]]:
    paras = text_paragraphs(data.get("desc", data.get("description")))
    first = paras.pop(0) if paras and is_type_line(paras[0]) else None
    return item_type(data, first), paras


def _more_types(data: dict[str, Any]) -> list[str]:
    """What an item is besides its kind (`more_types`: 5etools' `poison (ingested)`)."""
    return [describe(t) for t in data.get("more_types") or [] if describe(t)]


def equipment_kind(data: dict[str, Any]) -> str:
    """`Martial melee weapon`, `Light armor`, `Artisan's tools`, `Adventuring gear (kits)`;
    what else it is after a comma (`Adventuring gear, poison (ingested)`)."""
    return ", ".join([k for k in [_equipment_kind(data)] if k] + _more_types(data))


def _equipment_kind(data: dict[str, Any]) -> str:
    if isinstance(data.get("category_range"), str):
        return sentence_case(data["category_range"] + " weapon")
    if data.get("weapon_category") or data.get("weapon_range"):
        parts = (describe(data.get("weapon_category")), describe(data.get("weapon_range")))
        return sentence_case(" ".join(p for p in parts if p) + " weapon")
    armor = describe(data.get("armor_category"))
    if armor:
        return sentence_case(armor if armor.lower() == "shield" else f"{armor} armor")
    for key in ("tool_category", "vehicle_category"):
        if describe(data.get(key)):
            return sentence_case(describe(data[key]))
    # 2024: a list of categories from broad ("Weapons") to specific ("Martial Melee Weapons").
    names = [describe(c) for c in data.get("equipment_categories") or [] if describe(c)]
    names = names or [describe(data.get("equipment_category"))]
    gear = describe(data.get("gear_category"))
    if "Adventuring Gear" in names:
        extra = [n for n in names if n != "Adventuring Gear"]
        extra += [gear] if gear and gear != "Standard Gear" else []
        return "Adventuring gear" + (f" ({', '.join(extra).lower()})" if extra else "")
    kind = max(names, key=lambda n: (len(n.split()), len(n)))  # ["Armor", "Shields"]: Shields
    kind = kind[:-1] if kind.endswith(("Weapons", "Shields")) else kind
    return sentence_case(kind)


def damage(value: Any) -> str:
    if not isinstance(value, dict):
        return describe(value)
    dice, kind = describe(value.get("damage_dice")), describe(value.get("damage_type")).lower()
    return f"{dice} {kind}".strip()


def weapon_damage(data: dict[str, Any]) -> str:
    """`1d8 slashing`, and for a versatile weapon `1d8 slashing (1d10 two-handed)`."""
    one, two = data.get("damage"), data.get("two_handed_damage")
    text = damage(one) if one else ""
    if isinstance(two, dict):
        same_type = isinstance(one, dict) and one.get("damage_type") == two.get("damage_type")
        text += f" ({describe(two.get('damage_dice')) if same_type else damage(two)} two-handed)"
    return text.strip()


_MARKUP = re.compile(r"\\?[#*_|`]+|^\s*[-:]{3,}\s*$", re.MULTILINE)  # `\|`: its `\` too
_SPACES = re.compile(r"[ \t]+")
_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)


def plain(text: str) -> str:
    """Markdown to the words a reader sees: no `#`, `**`, table bars or rule lines (index
    text: a search snippet marks its matches with `**`); `{@tags}` read as their text first,
    their `|` no table bar (`{@subclassFeature Spore Inhalation|Barbarian|PHB|…}`); an HTML
    line break (`<br>`) a line break."""
    text = tagtext.plain(text) if "{@" in text else text
    text = _BREAK.sub("\n", text)
    lines = (_SPACES.sub(" ", _MARKUP.sub(" ", line)).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)
