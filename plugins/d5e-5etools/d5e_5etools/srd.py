"""An installed record that did not come from 5etools (the SRD's, a folder pack's) → the 5etools
fields a `_copy` can modify.

A 5etools `_mod` names 5etools fields (`action`, `trait`, `senses`, `save`…). When the copied
entry is the SRD's goblin, its record is in 5e-database's shape; these functions give the
fields `_mod` works on, in 5etools' shape, in the record's order. What is not turned back
stays in the record as it was (the copy keeps it unless the mods replace it).
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

from .convert import SCHOOLS, SIZES
from .srddb import srd_rows

_SIZE_CODES = {v.lower(): k for k, v in SIZES.items()}
_SCHOOL_CODES = {v.lower(): k for k, v in SCHOOLS.items()}
_ABILITIES = {
    "strength": "str", "dexterity": "dex", "constitution": "con", "intelligence": "int",
    "wisdom": "wis", "charisma": "cha",
}  # fmt: skip


def _name(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("name", ""))
    return str(value) if value is not None else ""


# An attack bonus and a save DC in the SRD's words, as 5etools' Monster Manual tags them (the
# `{@hit}` and `{@dc}` that `scalarAddHit` / `scalarAddDc` change: Kraken's Gamble's Khemed is
# the Assassin with `"action": {"mode": "scalarAddHit", "scalar": 1}`, and kept +6 to hit)
_HIT_WORDS = re.compile(r"(?<![\w{])([+-]\d+) to hit\b")
_DC_WORDS = re.compile(r"\bDC (\d+)\b")


def _tagged(text: str) -> str:
    return _DC_WORDS.sub(r"{@dc \1}", _HIT_WORDS.sub(r"{@hit \1} to hit", text))


def _desc(value: Any) -> list[Any]:
    if isinstance(value, list):
        return [_tagged(str(v)) for v in value]
    return [_tagged(p) for p in str(value or "").split("\n") if p.strip()]


def _usage_name(item: dict[str, Any]) -> str:
    """The name as 5etools writes it, with its usage: `Web {@recharge 5}`, `Healing Touch
    (4/Day)` (the names a `_mod` of a Monster Manual creature names)."""
    name = _name(item)
    usage = item.get("usage")
    if not isinstance(usage, dict):
        return name
    kind = str(usage.get("type", ""))
    if kind == "recharge on roll":
        low = usage.get("min_value")
        return f"{name} {{@recharge {low}}}" if low and low != 6 else f"{name} {{@recharge}}"
    if kind == "per day" and usage.get("times"):
        return f"{name} ({usage['times']}/Day)"
    if kind == "recharge after rest":
        rests = [str(r).lower() for r in usage.get("rest_types") or []]
        said = " or ".join(r.capitalize() for r in rests) or "Short or Long"
        return f"{name} (Recharges after a {said} Rest)"
    return name


def _blocks(items: Any) -> list[dict[str, Any]]:
    return [
        {"name": _usage_name(i), "entries": _desc(i.get("desc"))}
        for i in items or []
        if isinstance(i, dict) and not isinstance(i.get("spellcasting"), dict)
    ]


_SPELL_LIST_LINE = re.compile(
    r"^\s*(?:[-*•]\s|at will|cantrips|\d+/day|\d+(?:st|nd|rd|th) level)", re.IGNORECASE
)


def _spellcasting(item: dict[str, Any]) -> dict[str, Any]:
    """An SRD spellcasting trait as 5etools' `spellcasting` block: its header, and its spells
    by level (with slots) or by use (at will, N/day each), as `{@spell}` tags."""
    info: dict[str, Any] = item["spellcasting"]
    lines = [line for line in str(item.get("desc") or "").split("\n") if line.strip()]
    header = []
    for line in lines:
        if _SPELL_LIST_LINE.match(line):
            break
        header.append(line)
    block: dict[str, Any] = {"name": _name(item), "type": "spellcasting",
                             "headerEntries": header or [_name(item)]}  # fmt: skip
    ability = info.get("ability")
    if isinstance(ability, dict) and ability.get("index"):
        block["ability"] = str(ability["index"])
    slots = info.get("slots") if isinstance(info.get("slots"), dict) else {}
    for spell in info.get("spells") or []:
        if not isinstance(spell, dict) or not spell.get("name"):
            continue
        tag = f"{{@spell {str(spell['name']).lower()}}}"
        notes = str(spell.get("notes") or "")
        usage = spell.get("usage") if isinstance(spell.get("usage"), dict) else {}
        kind = usage.get("type")
        if kind == "at will":
            block.setdefault("will", []).append(f"{tag} ({notes.lower()})" if notes else tag)
        elif kind == "per day":
            key = f"{usage.get('times', 1)}e"
            block.setdefault("daily", {}).setdefault(key, []).append(tag)
        else:
            level = str(spell.get("level", 0))
            group = block.setdefault("spells", {}).setdefault(level, {"spells": []})
            if level != "0" and slots.get(level):
                group["slots"] = slots[level]
            group["spells"].append(f"{tag}*" if notes else tag)
    footer = [line for line in lines[len(header) :] if line.lstrip().startswith("*")]
    if footer:
        block["footerEntries"] = [line.lstrip("* ").strip() for line in footer]
    return block


def _feet(value: Any) -> int | str:
    m = re.match(r"\s*(\d+)", str(value))
    return int(m[1]) if m else str(value)


def monster(data: dict[str, Any]) -> dict[str, Any]:
    raw: dict[str, Any] = {}
    if data.get("size"):
        raw["size"] = [_SIZE_CODES.get(str(data["size"]).lower(), str(data["size"])[:1])]
    if data.get("type"):
        raw["type"] = (
            {"type": data["type"], "tags": [data["subtype"]]}
            if data.get("subtype")
            else data["type"]
        )
    if data.get("alignment"):
        raw["alignment"] = [{"special": data["alignment"]}]
    acs = []
    for ac in data.get("armor_class") or []:
        if isinstance(ac, dict):
            item: dict[str, Any] = {"ac": ac.get("value")}
            if ac.get("type") == "natural":
                item["from"] = ["natural armor"]
            elif ac.get("armor"):
                item["from"] = [_name(a).lower() for a in ac["armor"]]
            acs.append(item)
    if acs:
        raw["ac"] = acs
    if data.get("hit_points") is not None:
        raw["hp"] = {"average": data["hit_points"]}
        roll = data.get("hit_points_roll") or data.get("hit_dice")
        if roll:
            raw["hp"]["formula"] = str(roll)
    if isinstance(data.get("speed"), dict):
        speed: dict[str, Any] = {}
        for mode, value in data["speed"].items():
            if mode == "hover":
                speed["canHover"] = bool(value)
            else:
                speed[mode] = _feet(value)
        raw["speed"] = speed
    for long, short in _ABILITIES.items():
        if data.get(long) is not None:
            raw[short] = data[long]
    for prof in data.get("proficiencies") or []:
        name = _name(prof.get("proficiency")) if isinstance(prof, dict) else ""
        value = prof.get("value") if isinstance(prof, dict) else None
        if name.startswith("Saving Throw:") and isinstance(value, int):
            raw.setdefault("save", {})[name.split(":")[1].strip().lower()] = f"{value:+d}"
        elif name.startswith("Skill:") and isinstance(value, int):
            raw.setdefault("skill", {})[name.split(":")[1].strip().lower()] = f"{value:+d}"
    for field, key in (
        ("damage_vulnerabilities", "vulnerable"),
        ("damage_resistances", "resist"),
        ("damage_immunities", "immune"),
    ):
        if data.get(field):
            raw[key] = [_name(v) for v in data[field]]
    if data.get("condition_immunities"):
        raw["conditionImmune"] = [_name(c).lower() for c in data["condition_immunities"]]
    senses = data.get("senses")
    if isinstance(senses, dict):
        raw["senses"] = [
            f"{k.replace('_', ' ')} {v}" for k, v in senses.items() if k != "passive_perception"
        ]
        if senses.get("passive_perception") is not None:
            raw["passive"] = senses["passive_perception"]
    if data.get("languages") is not None:
        raw["languages"] = [p.strip() for p in str(data["languages"]).split(",") if p.strip()]
    if data.get("challenge_rating") is not None:
        cr = data["challenge_rating"]
        raw["cr"] = {0.125: "1/8", 0.25: "1/4", 0.5: "1/2"}.get(
            cr, str(int(cr)) if float(cr).is_integer() else str(cr)
        )
    if data.get("xp") is not None:
        raw["xp"] = data["xp"]
    for field, key in (
        ("special_abilities", "trait"),
        ("actions", "action"),
        ("bonus_actions", "bonus"),
        ("reactions", "reaction"),
        ("legendary_actions", "legendary"),
    ):
        if data.get(field):
            raw[key] = _blocks(data[field])
    casting = [
        _spellcasting(i)
        for i in data.get("special_abilities") or []
        if isinstance(i, dict) and isinstance(i.get("spellcasting"), dict)
    ]
    if casting:
        raw["spellcasting"] = casting
    return raw


def spell(data: dict[str, Any]) -> dict[str, Any]:
    raw: dict[str, Any] = {}
    if data.get("desc") is not None:
        raw["entries"] = _desc(data["desc"])
    if data.get("higher_level"):
        raw["entriesHigherLevel"] = [
            {"type": "entries", "name": "At Higher Levels", "entries": _desc(data["higher_level"])}
        ]
    if data.get("level") is not None:
        raw["level"] = data["level"]
    school = _name(data.get("school")).lower()
    if school in _SCHOOL_CODES:
        raw["school"] = _SCHOOL_CODES[school]
    return raw


def generic(data: dict[str, Any]) -> dict[str, Any]:
    desc = data.get("desc", data.get("description"))
    return {"entries": _desc(desc)} if desc is not None else {}


def to_5etools(collection: str, name: str, data: dict[str, Any]) -> dict[str, Any]:
    """The 5etools fields of an installed record of `collection` (its 5etools original when it
    came from 5etools)."""
    if isinstance(data.get("5etools"), dict):
        return dict(data["5etools"])
    convert = {"monsters": monster, "spells": spell}.get(collection, generic)
    return {"name": name, **convert(data)}


# ---- the SRD's weapons and armor as 5etools base items (for magic variants) -----------------

_DAMAGE_CODES = {
    "acid": "A", "bludgeoning": "B", "cold": "C", "fire": "F", "force": "O", "lightning": "L",
    "necrotic": "N", "piercing": "P", "poison": "I", "psychic": "Y", "radiant": "R",
    "slashing": "S", "thunder": "T",
}  # fmt: skip
_PROPERTY_CODES = {
    "ammunition": "A", "finesse": "F", "heavy": "H", "light": "L", "loading": "LD",
    "reach": "R", "special": "S", "thrown": "T", "two-handed": "2H", "versatile": "V",
}  # fmt: skip
_ARMOR_CODES = {"light": "LA", "medium": "MA", "heavy": "HA", "shield": "S"}
# 5etools' flags for kinds of weapon, which magic variants require ("any sword")
_WEAPON_WORDS = ("sword", "axe", "bow", "crossbow", "spear", "hammer", "mace", "dagger", "polearm")


def base_item(data: dict[str, Any]) -> dict[str, Any] | None:
    """An SRD equipment record (5e-database 2014) as a 5etools base item, or None when it is
    neither a weapon nor armor."""
    name = str(data.get("name", ""))
    raw: dict[str, Any] = {"name": name, "source": "PHB", "rarity": "none"}
    cost = data.get("cost")
    if isinstance(cost, dict) and isinstance(cost.get("quantity"), int | float):
        raw["value"] = cost["quantity"] * {"gp": 100, "sp": 10, "cp": 1}.get(
            str(cost.get("unit")), 1
        )
    if data.get("weight") is not None:
        raw["weight"] = data["weight"]
    if data.get("weapon_category"):
        raw["type"] = "R" if data.get("weapon_range") == "Ranged" else "M"
        raw["weaponCategory"] = str(data["weapon_category"]).lower()
        raw["weapon"] = True
        damage = data.get("damage") or {}
        if damage.get("damage_dice"):
            raw["dmg1"] = damage["damage_dice"]
            raw["dmgType"] = _DAMAGE_CODES.get(_name(damage.get("damage_type")).lower(), "")
        two = data.get("two_handed_damage") or {}
        if two.get("damage_dice"):
            raw["dmg2"] = two["damage_dice"]
        props = [_PROPERTY_CODES.get(_name(p).lower()) for p in data.get("properties") or []]
        raw["property"] = [p for p in props if p]
        rng = data.get("range") or {}
        if rng.get("long"):
            raw["range"] = f"{rng.get('normal')}/{rng['long']}"
        lower = name.lower()
        for word in _WEAPON_WORDS:
            if word in lower and not (word == "bow" and "crossbow" in lower):
                raw[word] = True
        if lower == "net":
            raw["net"] = True
        return raw
    category = str(data.get("armor_category", "")).lower()
    if category in _ARMOR_CODES:
        raw["type"] = _ARMOR_CODES[category]
        armor_class = data.get("armor_class") or {}
        raw["ac"] = armor_class.get("base")
        if category != "shield":
            raw["armor"] = True
        if data.get("str_minimum"):
            raw["strength"] = str(data["str_minimum"])
        if data.get("stealth_disadvantage"):
            raw["stealth"] = True
        return raw
    return None


@functools.lru_cache(maxsize=1)
def srd_base_items() -> tuple[dict[str, Any], ...]:
    """The weapons and armor of the installed 2014 SRD data (the `d5e-srd` plugin's), as
    5etools base items; none when that data is not installed."""
    rows = [json.loads(data) for (data,) in srd_rows("2014", "SELECT data FROM equipment")]
    return tuple(item for item in map(base_item, rows) if item is not None)
