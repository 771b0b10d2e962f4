"""Built-in cards for the collections readers look at most: spells, monsters, magic items and
equipment (`markdown`), plus the one-line `detail` shown in completion lists.

Records come in two shapes, 5e-database 2014 (`desc` a list of paragraphs) and 2024 (`desc` or
`description` one string, other field sets), and homebrew authors may give only a few fields:
every field is optional here, and a card simply leaves out what it doesn't know. Collections not
handled here return None and get the generic layout of `fallback.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import pairwise
from typing import Any

from ..hookspecs import hookimpl
from ..records import Entry
from .fallback import describe, label, paragraphs

_ABILITIES = ("strength", "dexterity", "constitution", "intelligence", "wisdom", "charisma")
_FRACTIONS = {0.125: "1/8", 0.25: "1/4", 0.5: "1/2"}
_ORDINALS = {1: "1st", 2: "2nd", 3: "3rd"}
# Words that show a line already names the rarity ("uncommon" and "very rare" included).
_RARITY_WORDS = ("common", "rare", "legendary", "artifact", "rarity", "varies")
# First words of the "Wondrous item, uncommon" line that opens a magic item's description
# ("Wondous" is a typo in the 2014 data, kept so that line is still recognised).
_ITEM_TYPES = frozenset(
    {"ammunition", "armor", "potion", "ring", "rod", "scroll", "staff", "wand", "weapon"}
    | {"wondrous", "wondous"}
)


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
        return int(value)
    return None


def _num(value: Any) -> str:
    """`3.0` → `3`, `0.25` → `0.25`, anything else as `describe` shows it."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return describe(value)


def _sentence(text: str) -> str:
    """`Martial Melee weapon` → `Martial melee weapon`; a parenthesis keeps its own case."""
    head, paren, tail = text.partition("(")
    return head[:1].upper() + head[1:].lower() + paren + tail


def _text(value: Any) -> list[str]:
    """A text field as paragraphs: a list of strings, or one string split at its line breaks."""
    if isinstance(value, str):
        return [line.strip() for line in value.split("\n") if line.strip()]
    if isinstance(value, list):
        return [p.strip() for p in value if isinstance(p, str) and p.strip()]
    return []


def _join(paras: list[str]) -> str:
    """Paragraphs separated by blank lines, except rows of one table or items of one list."""
    out = paras[:1]
    for prev, para in pairwise(paras):
        table = prev.startswith("|") and para.startswith("|")
        items = prev.startswith(("- ", "* ")) and para.startswith(("- ", "* "))
        out.append(("\n" if table or items else "\n\n") + para)
    return "".join(out)


def _facts(facts: list[tuple[str, str]]) -> str:
    """`**Label:** value` lines, ending in two spaces (a Markdown hard line break)."""
    return "  \n".join(f"**{k}:** {v}" for k, v in facts if v)


def _card(name: str, subtitle: str, body: list[str], data: dict[str, Any] | None = None) -> str:
    """Heading, italic subtitle, then the body's blocks (empty ones left out), then the
    record's `more`: fields a loader kept from another format with no d5e name (label → text)."""
    subtitle = subtitle[:1].upper() + subtitle[1:]
    more = (data or {}).get("more")
    extra = (
        _facts([(str(k), describe(v)) for k, v in more.items()]) if isinstance(more, dict) else ""
    )
    parts = [f"## {name}", f"*{subtitle}*" if subtitle else "", *body, extra]
    return "\n\n".join(p for p in parts if p) + "\n"


def _amount(value: Any) -> str:
    """`{"quantity": 15, "unit": "gp"}` → `15 gp`."""
    if isinstance(value, dict) and "quantity" in value:
        quantity = _int(value["quantity"])
        number = f"{quantity:,}" if quantity is not None else _num(value["quantity"])
        return f"{number} {describe(value.get('unit'))}".strip()
    return describe(value)


# ---- spells ----------------------------------------------------------------------------------


def _spell_kind(data: dict[str, Any]) -> str:
    school = describe(data.get("school")).strip()
    level = _int(data.get("level"))
    if level == 0:
        kind = f"{school} cantrip".strip().capitalize()
    elif level is not None:
        kind = f"{_ORDINALS.get(level, f'{level}th')}-level {school.lower() or 'spell'}"
    else:
        kind = f"{school} spell".strip().capitalize()
    return kind + (" (ritual)" if data.get("ritual") is True else "")


def _spell_range(data: dict[str, Any]) -> str:
    rng = describe(data.get("range"))
    area = data.get("area_of_effect")
    if isinstance(area, dict) and area.get("size") is not None:
        shape = f"{_num(area['size'])}-foot {describe(area.get('type'))}".strip()
        return f"{rng} ({shape})" if rng else shape
    return rng


def _spell_components(data: dict[str, Any]) -> str:
    comps = data.get("components")
    text = ", ".join(map(str, comps)) if isinstance(comps, list) else describe(comps)
    material = describe(data.get("material")).strip().rstrip(".")
    if material:
        text += f" ({material[:1].lower()}{material[1:]})"
    return text.strip()


def _spell_duration(data: dict[str, Any]) -> str:
    duration = describe(data.get("duration"))
    if data.get("concentration") is True and "concentration" not in duration.lower():
        rest = duration[6:] if duration.lower().startswith("up to ") else duration
        return f"Concentration, up to {rest}" if rest else "Concentration"
    return duration


def _spell(entry: Entry) -> str:
    data = entry.data
    facts = [
        ("Casting Time", describe(data.get("casting_time"))),
        ("Range", _spell_range(data)),
        ("Components", _spell_components(data)),
        ("Duration", _spell_duration(data)),
    ]
    body = paragraphs(data)
    higher = _text(data.get("higher_level"))
    if higher:
        body += [f"***At Higher Levels.*** {higher[0]}", *higher[1:]]
    classes = describe(data.get("classes"))
    if classes:
        body.append(f"*Classes: {classes}*")
    return _card(entry.name, _spell_kind(data), [_facts(facts), _join(body)], data)


# ---- monsters --------------------------------------------------------------------------------


def _cr(value: Any) -> str:
    if isinstance(value, float) and value in _FRACTIONS:
        return _FRACTIONS[value]
    return _num(value)


def _signed(value: Any) -> str:
    number = _int(value)
    return f"{number:+d}" if number is not None else describe(value)


def _monster_kind(data: dict[str, Any]) -> str:
    kind = " ".join(describe(data.get(k)) for k in ("size", "type") if describe(data.get(k)))
    subtype = describe(data.get("subtype"))
    if subtype:
        kind += f" ({subtype})"
    alignment = describe(data.get("alignment"))
    return ", ".join(p for p in (kind.strip(), alignment) if p)


def _armor_class(value: Any) -> str:
    if not isinstance(value, list):
        return describe(value)
    parts = []
    for ac in value:
        if not isinstance(ac, dict):
            parts.append(describe(ac))
            continue
        kind, text = ac.get("type"), _num(ac.get("value"))
        if kind == "natural":
            text += " (natural armor)"
        elif kind == "armor" and (ac.get("armor") or ac.get("desc")):
            text += f" ({describe(ac.get('armor') or ac.get('desc')).lower()})"
        elif kind in ("spell", "condition") and isinstance(ac.get(kind), dict):
            word = "with" if kind == "spell" else "while"
            text += f" {word} {describe(ac[kind]).lower()}"
        parts.append(text.strip())
    return ", ".join(parts)


def _hit_points(data: dict[str, Any]) -> str:
    hp = _num(data.get("hit_points"))
    roll = describe(data.get("hit_points_roll") or data.get("hit_dice"))
    roll = roll.replace(" ", "").replace("+", " + ").replace("-", " - ")
    return f"{hp} ({roll})" if hp and roll else hp or roll


def _speed(value: Any) -> str:
    if not isinstance(value, dict):
        return describe(value)
    parts = []
    for mode, speed in value.items():
        if mode == "hover":
            continue
        text = f"{speed} ft." if isinstance(speed, int | float) else describe(speed)
        if mode == "fly" and value.get("hover") is True:
            text += " (hover)"
        parts.append(text if mode == "walk" else f"{mode.replace('_', ' ')} {text}")
    return ", ".join(parts)


def _abilities(data: dict[str, Any]) -> str:
    if not any(k in data for k in _ABILITIES):
        return ""
    cells = []
    for key in _ABILITIES:
        score = _int(data.get(key))
        cells.append(f"{score} ({(score - 10) // 2:+d})" if score is not None else "—")
    return "\n".join(
        [
            "| " + " | ".join(k[:3].upper() for k in _ABILITIES) + " |",
            "|" + ":---:|" * len(_ABILITIES),
            "| " + " | ".join(cells) + " |",
        ]
    )


def _proficiencies(data: dict[str, Any], prefix: str) -> str:
    """`Saving Throw: DEX` with value 4 → `Dex +4`; `Skill: Stealth` with 6 → `Stealth +6`."""
    parts = []
    for item in data.get("proficiencies") or []:
        name = describe(item.get("proficiency")) if isinstance(item, dict) else ""
        if name.startswith(prefix):
            what = name[len(prefix) :].strip()
            what = what.capitalize() if what.isupper() else what
            parts.append(f"{what} {_signed(item.get('value'))}".strip())
    return ", ".join(parts)


def _list(value: Any, lower: bool = False) -> str:
    items = [describe(v) for v in value] if isinstance(value, list) else [describe(value)]
    items = [i.lower() if lower else i for i in items if i]
    # "acid, fire; bludgeoning, piercing, and slashing from nonmagical attacks", as printed
    groups = [", ".join(i for i in items if "," not in i), *(i for i in items if "," in i)]
    return "; ".join(g for g in groups if g)


def _senses(value: Any) -> str:
    if not isinstance(value, dict):
        return describe(value)
    parts = [f"{label(k).lower()} {_num(v)}" for k, v in value.items() if k != "passive_perception"]
    if "passive_perception" in value:
        parts.append(f"passive Perception {_num(value['passive_perception'])}")
    return ", ".join(parts)


def _challenge(data: dict[str, Any]) -> str:
    if data.get("challenge_rating") is None:
        return ""
    xp, lair = _int(data.get("xp")), _int(data.get("xp_in_lair"))
    text = _cr(data["challenge_rating"])
    if xp is not None and lair is not None:
        return f"{text} ({xp:,} XP, or {lair:,} XP in lair)"
    return f"{text} ({xp:,} XP)" if xp is not None else text


def _usage(value: Any) -> str:
    if not isinstance(value, dict):
        return ""
    kind = value.get("type")
    if kind == "per day" and value.get("times") is not None:
        lair = f", or {value['times_in_lair']}/Day in Lair" if "times_in_lair" in value else ""
        return f" ({value['times']}/Day{lair})"
    if kind == "recharge on roll" and _int(value.get("min_value")) is not None:
        low = _int(value["min_value"])
        return " (Recharge 6)" if low == 6 else f" (Recharge {low}–6)"
    if kind == "recharge after rest":
        rests = [str(r).capitalize() for r in value.get("rest_types") or []]
        return f" (Recharges after a {' or '.join(rests) or 'Long'} Rest)"
    return ""


def _abilities_block(items: Any) -> list[str]:
    """`***Name (Recharge 5–6).*** desc` for each trait or action."""
    out = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict):
            name = describe(item.get("name")).strip().rstrip(".") + _usage(item.get("usage"))
            desc = "\n\n".join(_text(item.get("desc")))
            out.append(f"***{name}.*** {desc}".strip() if name else desc)
    return out


def _monster(entry: Entry) -> str:
    data = entry.data
    facts = [
        ("Armor Class", _armor_class(data.get("armor_class"))),
        ("Hit Points", _hit_points(data)),
        ("Speed", _speed(data.get("speed"))),
    ]
    more = [
        ("Saving Throws", _proficiencies(data, "Saving Throw:")),
        ("Skills", _proficiencies(data, "Skill:")),
        ("Damage Vulnerabilities", _list(data.get("damage_vulnerabilities"))),
        ("Damage Resistances", _list(data.get("damage_resistances"))),
        ("Damage Immunities", _list(data.get("damage_immunities"))),
        ("Condition Immunities", _list(data.get("condition_immunities"), lower=True)),
        ("Senses", _senses(data.get("senses"))),
        ("Languages", describe(data.get("languages")) or ("—" if "languages" in data else "")),
        ("Challenge", _challenge(data)),
    ]
    body = [_facts(facts), _abilities(data), _facts(more)]
    body += _abilities_block(data.get("special_abilities"))
    for key, title in (
        ("actions", "Actions"),
        ("bonus_actions", "Bonus Actions"),
        ("reactions", "Reactions"),
        ("legendary_actions", "Legendary Actions"),
    ):
        block = _abilities_block(data.get(key))
        if block:
            body += [f"### {title}", *block]
    body += paragraphs(data)
    return _card(entry.name, _monster_kind(data), body, data)


def _monster_detail(data: dict[str, Any]) -> str:
    cr = f"CR {_cr(data['challenge_rating'])}" if data.get("challenge_rating") is not None else ""
    kind = " ".join(describe(data.get(k)) for k in ("size", "type"))
    return " ".join(f"{cr} {kind}".split())


# ---- magic items -----------------------------------------------------------------------------


def _is_type_line(para: str) -> bool:
    """The short first line `Wondrous item, uncommon` (2014) or `Wondrous Item` (2024)."""
    words = para.replace(",", " ").replace("(", " ").split()
    return bool(words) and words[0].lower() in _ITEM_TYPES and not para.endswith((".", ":"))


def _item_type(data: dict[str, Any], first: str | None) -> str:
    """The italic line under an item's name, from its description's first line when it has one."""
    rarity = describe(data.get("rarity")).lower()
    if first and (rarity == "" or any(word in first.lower() for word in _RARITY_WORDS)):
        return first.replace("Wondous", "Wondrous")  # 2014: type, rarity and attunement
    category = describe(data.get("equipment_category"))  # "Wondrous Items", "Staffs"
    kind = first or (category[:-1] if category.endswith("s") else category)
    text = _sentence(", ".join(p for p in (kind, rarity) if p))
    limited = describe(data.get("limited-to"))  # 2024: "Paladin", "Cleric, Druid, or Paladin"
    if data.get("attunement") is True:
        text += f" (requires attunement{' by a ' + limited if limited else ''})"
    return text


def _magic_item_parts(data: dict[str, Any]) -> tuple[str, list[str]]:
    paras = _text(data.get("desc", data.get("description")))
    first = paras.pop(0) if paras and _is_type_line(paras[0]) else None
    return _item_type(data, first), paras


def _magic_item(entry: Entry) -> str:
    kind, body = _magic_item_parts(entry.data)
    variants = entry.data.get("variants")
    if isinstance(variants, list) and variants:
        body.append(f"*Variants: {'; '.join(describe(v) for v in variants)}*")
    return _card(entry.name, kind, [_join(body)], entry.data)


# ---- equipment -------------------------------------------------------------------------------


def _equipment_kind(data: dict[str, Any]) -> str:
    """`Martial melee weapon`, `Light armor`, `Artisan's tools`, `Adventuring gear (kits)`."""
    if isinstance(data.get("category_range"), str):
        return _sentence(data["category_range"] + " weapon")
    if data.get("weapon_category") or data.get("weapon_range"):
        parts = (describe(data.get("weapon_category")), describe(data.get("weapon_range")))
        return _sentence(" ".join(p for p in parts if p) + " weapon")
    armor = describe(data.get("armor_category"))
    if armor:
        return _sentence(armor if armor.lower() == "shield" else f"{armor} armor")
    for key in ("tool_category", "vehicle_category"):
        if describe(data.get(key)):
            return _sentence(describe(data[key]))
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
    return _sentence(kind)


def _damage(value: Any) -> str:
    if not isinstance(value, dict):
        return describe(value)
    dice, kind = describe(value.get("damage_dice")), describe(value.get("damage_type")).lower()
    return f"{dice} {kind}".strip()


def _weapon_damage(data: dict[str, Any]) -> str:
    """`1d8 slashing`, and for a versatile weapon `1d8 slashing (1d10 two-handed)`."""
    one, two = data.get("damage"), data.get("two_handed_damage")
    text = _damage(one) if one else ""
    if isinstance(two, dict):
        same_type = isinstance(one, dict) and one.get("damage_type") == two.get("damage_type")
        text += f" ({describe(two.get('damage_dice')) if same_type else _damage(two)} two-handed)"
    return text.strip()


def _range(data: dict[str, Any]) -> str:
    parts = []
    for key, note in (("range", ""), ("throw_range", " (thrown)")):
        rng = data.get(key)
        if not isinstance(rng, dict) or rng.get("long") is None:
            continue  # a melee weapon's `range` is only its reach
        # Some thrown weapons repeat their throw range as `range`: say it once.
        if key == "range" or rng != data.get("range"):
            parts.append(f"{_num(rng.get('normal'))}/{_num(rng['long'])} ft.{note}")
    return ", ".join(parts)


def _armor_facts(value: Any, shield: bool) -> str:
    if not isinstance(value, dict):
        return describe(value)
    text = ("+" if shield else "") + _num(value.get("base"))
    if value.get("dex_bonus") is True:
        cap = value.get("max_bonus")
        text += " + Dex modifier" + (f" (max {_num(cap)})" if cap is not None else "")
    return text


def _cost(data: dict[str, Any]) -> str:
    cost = _amount(data.get("cost"))
    quantity = _int(data.get("quantity"))
    return f"{cost} for {quantity}" if cost and quantity and quantity > 1 else cost


def _contents(value: Any) -> str:
    parts = []
    for item in value if isinstance(value, list) else []:
        if isinstance(item, dict) and "item" in item:
            count = _int(item.get("quantity"))
            parts.append(describe(item["item"]) + (f" ({count})" if count and count > 1 else ""))
    return ", ".join(parts)


def _utilize(value: Any) -> str:
    """2024 tools: `Pick a lock (DC 15), Disarm a trap (DC 15)`."""
    parts = []
    for use in value if isinstance(value, list) else [value]:
        dc = use.get("dc") if isinstance(use, dict) else None
        dc_value = describe(dc.get("dc_value")) if isinstance(dc, dict) else ""
        parts.append(describe(use) + (f" (DC {dc_value})" if dc_value else ""))
    return ", ".join(p for p in parts if p)


def _equipment(entry: Entry) -> str:
    data, kind = entry.data, _equipment_kind(entry.data)
    weight = data.get("weight")
    strength = _int(data.get("str_minimum"))
    facts = [
        ("Cost", _cost(data)),
        ("Weight", f"{_num(weight)} lb." if weight else ""),
        ("Damage", _weapon_damage(data)),
        ("Properties", describe(data.get("properties"))),
        ("Mastery", describe(data.get("mastery"))),
        ("Range", _range(data)),
        ("Ammunition", describe(data.get("ammunition"))),
        ("Armor Class", _armor_facts(data.get("armor_class"), kind == "Shield")),
        ("Strength", f"Str {strength}" if strength else ""),
        ("Stealth", "Disadvantage" if data.get("stealth_disadvantage") is True else ""),
        ("Speed", _amount(data.get("speed"))),
        ("Capacity", describe(data.get("capacity"))),
        ("Contents", _contents(data.get("contents"))),
        ("Ability", describe(data.get("ability"))),
        ("Utilize", _utilize(data.get("utilize"))),
    ]
    body = paragraphs(data) + _text(data.get("special")) + _text(data.get("notes"))
    return _card(entry.name, kind, [_facts(facts), _join(body)], data)


def _equipment_detail(data: dict[str, Any]) -> str:
    return ", ".join(p for p in (_equipment_kind(data), _cost(data)) if p)


# ---- the hook --------------------------------------------------------------------------------

_MARKDOWN: dict[str, Callable[[Entry], str]] = {
    "spells": _spell,
    "monsters": _monster,
    "magic-items": _magic_item,
    "equipment": _equipment,
}

_DETAIL: dict[str, Callable[[dict[str, Any]], str]] = {
    "spells": _spell_kind,
    "monsters": _monster_detail,
    "magic-items": lambda data: _magic_item_parts(data)[0].split(" (requires")[0],
    "equipment": _equipment_detail,
    "conditions": lambda data: "condition",
}


@hookimpl
def render_text(entry: Entry, purpose: str) -> str | None:
    if purpose == "markdown" and entry.collection in _MARKDOWN:
        return _MARKDOWN[entry.collection](entry)
    if purpose == "detail" and entry.collection in _DETAIL:
        return _DETAIL[entry.collection](entry.data) or None
    return None
