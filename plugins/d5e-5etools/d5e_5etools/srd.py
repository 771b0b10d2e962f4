"""An installed record that did not come from 5etools (the SRD's, a folder pack's) → the 5etools
fields a `_copy` can modify.

A 5etools `_mod` names 5etools fields (`action`, `trait`, `senses`, `save`…). When the copied
entry is the SRD's goblin, its record is in 5e-database's shape; these functions give the
fields `_mod` works on, in 5etools' shape, in the record's order. What is not turned back
stays in the record as it was (the copy keeps it unless the mods replace it).
"""

from __future__ import annotations

import re
from typing import Any

from .convert import SCHOOLS, SIZES

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


def _desc(value: Any) -> list[Any]:
    if isinstance(value, list):
        return [str(v) for v in value]
    return [p for p in str(value or "").split("\n") if p.strip()]


def _blocks(items: Any) -> list[dict[str, Any]]:
    return [
        {"name": _name(i), "entries": _desc(i.get("desc"))}
        for i in items or []
        if isinstance(i, dict)
    ]


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
