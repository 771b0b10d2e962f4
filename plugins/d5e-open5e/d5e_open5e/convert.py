"""Open5e records, joined with their parts, as d5e records: the SRD's field names and shapes.

`d5e lookup ghost --json` shows the target shape: `speed` as `{"walk": "30 ft.", "hover":
true}`, `armor_class` as `[{"type": "natural", "value": 17}]`, actions as `{"name", "desc",
"attack_bonus", "damage": [{"damage_type": {...}, "damage_dice": "3d6+5"}]}`, a spell's
`school`, `classes` and `dc` as `{"index", "name"}` references. Open5e's own keys that d5e has
no name for are left out; its text (`desc`) is kept as written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

Record = dict[str, Any]
SLUG = re.compile(r"[^a-z0-9]+")

ABILITIES = ("strength", "dexterity", "constitution", "intelligence", "wisdom", "charisma")
ABBREVIATIONS = {a: a[:3] for a in ABILITIES}
SKILLS = (
    "acrobatics", "animal_handling", "arcana", "athletics", "deception", "history", "insight",
    "intimidation", "investigation", "medicine", "nature", "perception", "performance",
    "persuasion", "religion", "sleight_of_hand", "stealth", "survival",
)  # fmt: skip
SPEEDS = ("walk", "burrow", "climb", "fly", "swim")
SENSES = ("blindsight", "darkvision", "tremorsense", "truesight")
# The XP a challenge rating is worth (SRD 5.1, "Experience Points by Challenge Rating").
XP = {
    0: 10, 0.125: 25, 0.25: 50, 0.5: 100, 1: 200, 2: 450, 3: 700, 4: 1100, 5: 1800, 6: 2300,
    7: 2900, 8: 3900, 9: 5000, 10: 5900, 11: 7200, 12: 8400, 13: 10000, 14: 11500, 15: 13000,
    16: 15000, 17: 18000, 18: 20000, 19: 22000, 20: 25000, 21: 33000, 22: 41000, 23: 50000,
    24: 62000, 25: 75000, 26: 90000, 27: 105000, 28: 120000, 29: 135000, 30: 155000,
}  # fmt: skip
ACTION_FIELDS = {
    "ACTION": "actions",
    "BONUS_ACTION": "bonus_actions",
    "REACTION": "reactions",
    "LEGENDARY_ACTION": "legendary_actions",
    "LAIR_ACTION": "lair_actions",
    "MYTHIC_ACTION": "mythic_actions",
}
CASTING_TIMES = {
    "action": "1 action",
    "bonus-action": "1 bonus action",
    "reaction": "1 reaction",
    "turn": "1 turn",
    "round": "1 round",
}


def ref(key: str, name: str | None = None) -> Record:
    """`{"index": "evocation", "name": "Evocation"}` from an Open5e key (`srd_wizard` → wizard)."""
    index = key.split("_", 1)[-1] if "_" in key else key
    return {"index": index, "name": name or index.replace("-", " ").title()}


def class_ref(name: str) -> Record:
    """A class Open5e's data/v1 names (`dnd_class`: "Sorceror, Warlock") as a reference."""
    name = name.strip().replace("Sorceror", "Sorcerer")
    return {"index": SLUG.sub("-", name.lower()).strip("-"), "name": name}


def paragraphs(text: Any) -> list[str]:
    """Open5e's text (Markdown, paragraphs split by blank lines) as d5e's list of paragraphs."""
    if not isinstance(text, str):
        return []
    return [p.strip() for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]


def number(value: Any) -> float | None:
    """A number Open5e writes as a number or a string (`"12.000"`), None otherwise."""
    return _number(value)


def _number(value: Any) -> float | None:
    try:
        return float(value) if value is not None and value != "" else None
    except (TypeError, ValueError):
        return None


def _int(value: Any) -> int | None:
    number = _number(value)
    return int(number) if number is not None and number.is_integer() else None


def _feet(value: Any) -> str:
    number = _number(value)
    return f"{number:g} ft." if number is not None else ""


def challenge_rating(value: Any) -> float | None:
    """`"0.125"`, `"12.000"` → 0.125, 12.0 (as the SRD's records hold it)."""
    return _number(value)


# ---- creatures --------------------------------------------------------------------------------


def _armor_class(fields: Record) -> list[Record]:
    value = _int(fields.get("armor_class"))
    if value is None:
        return []
    detail = str(fields.get("armor_detail") or "").strip()
    if not detail:
        return [{"type": "dex", "value": value}]
    if detail.lower() == "natural armor":
        return [{"type": "natural", "value": value}]
    return [{"type": "armor", "value": value, "desc": detail}]


def _speed(fields: Record) -> dict[str, Any]:
    speed: dict[str, Any] = {}
    for mode in SPEEDS:
        if fields.get(mode) is not None:
            speed[mode] = _feet(fields[mode])
    if fields.get("hover"):
        speed["hover"] = True
    return speed


def _proficient(fields: Record, ability: str) -> bool:
    """Whether a save goes on the Saving Throws line. A document that gives all six (Black
    Flag, the 2024 SRD: each save, proficient or not) lists those above the ability modifier;
    all six at 0 (Open5e's copy of the 2014 SRD's mounts: Donkey, Pony…) is none given; a
    document that gives some lists them as its book prints them."""
    saves = [fields.get(f"saving_throw_{a}") for a in ABILITIES]
    if fields.get(f"saving_throw_{ability}") is None:
        return False
    if any(s is None for s in saves):
        return True
    score = _int(fields.get(f"ability_score_{ability}"))
    plain = (score - 10) // 2 if score is not None else None
    return any(saves) and fields[f"saving_throw_{ability}"] != plain


def _proficiencies(fields: Record) -> list[Record]:
    found = []
    for ability in ABILITIES:
        bonus = fields.get(f"saving_throw_{ability}")
        if _proficient(fields, ability):
            short = ABBREVIATIONS[ability]
            found.append(
                {
                    "value": bonus,
                    "proficiency": {
                        "index": f"saving-throw-{short}",
                        "name": f"Saving Throw: {short.upper()}",
                    },
                }
            )
    for skill in SKILLS:
        bonus = fields.get(f"skill_bonus_{skill}")
        if bonus is not None:
            name = skill.replace("_", " ").title()
            found.append(
                {
                    "value": bonus,
                    "proficiency": {
                        "index": f"skill-{skill.replace('_', '-')}",
                        "name": f"Skill: {name}",
                    },
                }
            )
    return found


def _damage_list(fields: Record, key: str) -> list[str]:
    """As the SRD writes them: each type alone, a qualified group as one phrase
    (`"bludgeoning, piercing, and slashing from nonmagical attacks"`)."""
    shown = str(fields.get(f"{key}_display") or "").strip()
    if not shown:
        found = [str(t) for t in fields.get(key) or []]
        flag = {"damage_resistances": "resistance", "damage_immunities": "immunity"}.get(key)
        physical = [t for t in found if t in PHYSICAL]
        if flag and fields.get(f"nonmagical_attack_{flag}") and physical:
            # Tome of Beasts' Vampire Warlock: the list and the flag, no text saying it
            rest = [t for t in found if t not in PHYSICAL]
            return [*rest, f"{_and(physical)} from nonmagical attacks"]
        return found
    parts = [p.strip() for p in shown.split(";") if p.strip()]
    found: list[str] = []
    for i, part in enumerate(parts):
        if i == 0 and not any(w in part for w in (" from ", " that ", " while ", " only ")):
            found += [t.strip() for t in part.split(",") if t.strip()]
        else:
            found.append(part)
    return found


PHYSICAL = ("bludgeoning", "piercing", "slashing")


def _and(words: list[str]) -> str:
    """`bludgeoning, piercing, and slashing`."""
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])}, and {words[-1]}"


def _senses(fields: Record) -> dict[str, Any]:
    senses: dict[str, Any] = {}
    for sense in SENSES:
        if fields.get(f"{sense}_range") is not None:
            senses[sense] = _feet(fields[f"{sense}_range"])
    if fields.get("passive_perception") is not None:
        senses["passive_perception"] = fields["passive_perception"]
    return senses


def _dice(count: Any, die: Any, bonus: Any) -> str:
    if not count or not die:
        return ""
    text = f"{count}{str(die).lower()}"
    return text + (f"{int(bonus):+d}" if _int(bonus) else "")


def _attack_parts(attacks: list[Record]) -> dict[str, Any]:
    """An action's attack bonus and damage dice, the SRD's way."""
    if not attacks:
        return {}
    first = attacks[0]
    parts: dict[str, Any] = {}
    if first.get("to_hit_mod") is not None:
        parts["attack_bonus"] = first["to_hit_mod"]
    damage = []
    for attack in attacks:
        for prefix in ("", "extra_"):
            dice = _dice(
                attack.get(f"{prefix}damage_die_count"),
                attack.get(f"{prefix}damage_die_type"),
                attack.get(f"{prefix}damage_bonus"),
            )
            kind = attack.get(f"{prefix}damage_type") or (
                attack.get("extra_damage_type") if not prefix else None
            )
            if dice or (kind and prefix):
                item: Record = {"damage_dice": dice} if dice else {}
                if kind:
                    item["damage_type"] = ref(str(kind))
                damage.append(item)
    if damage:
        parts["damage"] = damage
    return parts


# A name that already says how often ("Petrifying Gaze (Recharge 4-6)", "Charm (1/Day)"): the
# card adds no second note of it.
_USAGE_IN_NAME = re.compile(r"\((?:recharge|\d+/day)", re.IGNORECASE)


def _usage(action: Record) -> Record | None:
    kind, param = action.get("uses_type"), action.get("uses_param")
    if _USAGE_IN_NAME.search(str(action.get("name") or "")):
        return None
    if kind in ("RECHARGE_ON_ROLL", "RECHARGE") and param:  # the 2024 SRD's: RECHARGE
        return {"type": "recharge on roll", "dice": "1d6", "min_value": param}
    if kind == "PER_DAY" and param:
        return {"type": "per day", "times": param}
    if kind == "RECHARGE_AFTER_REST":
        return {"type": "recharge after rest", "rest_types": ["short", "long"]}
    return None


def _action_name(action: Record) -> str:
    """`Claw (Hag Form Only)`: an action of one form names it, as the stat block does (Open5e
    keeps it apart, in `limited_to_form`)."""
    name = str(action.get("name") or "").strip()
    form = str(action.get("limited_to_form") or "").strip()
    if form and form.lower() not in name.lower():
        return f"{name} ({form})"
    return name


def _initiative(bonus: Any) -> str | None:
    """A 2024 stat block's initiative, `+7 (17)`: the bonus and the score it makes."""
    value = _int(bonus)
    return f"{value:+d} ({10 + value})" if value is not None else None


def _languages(text: Any) -> str:
    """Open5e's `languages_desc`, a comma always followed by a space (Black Flag writes
    `Infernal,Common`; not `1,000 ft.`)."""
    return re.sub(r",(?=[^\s\d])", ", ", str(text or "").strip())


def creature(
    fields: Record,
    actions: list[tuple[Record, list[Record]]],
    traits: list[Record],
) -> Record:
    """A creature with its actions (each with its attacks) and traits, as an SRD monster."""
    cr = challenge_rating(fields.get("challenge_rating"))
    data: Record = {
        "size": str(fields.get("size") or "").title() or None,
        "type": fields.get("type"),
        "subtype": fields.get("subcategory"),
        "alignment": fields.get("alignment"),
        "armor_class": _armor_class(fields),
        "hit_points": fields.get("hit_points"),
        "hit_dice": fields.get("hit_dice"),
        "hit_points_roll": fields.get("hit_dice"),
        "speed": _speed(fields),
        **{a: fields.get(f"ability_score_{a}") for a in ABILITIES},
        "proficiencies": _proficiencies(fields),
        "damage_vulnerabilities": _damage_list(fields, "damage_vulnerabilities"),
        "damage_resistances": _damage_list(fields, "damage_resistances"),
        "damage_immunities": _damage_list(fields, "damage_immunities"),
        "condition_immunities": [ref(str(c)) for c in fields.get("condition_immunities") or []],
        "senses": _senses(fields),
        "languages": _languages(fields.get("languages_desc")),
        "initiative": _initiative(fields.get("initiative_bonus")),
        "challenge_rating": cr,
        "proficiency_bonus": fields.get("proficiency_bonus"),
        "xp": fields.get("experience_points_integer") or (XP.get(cr) if cr is not None else None),
        "special_abilities": [{"name": t["name"], "desc": t.get("desc") or ""} for t in traits],
        "environments": [ref(str(e)) for e in fields.get("environments") or []] or None,
    }
    for action, attacks in actions:
        item: Record = {"name": _action_name(action), "desc": action.get("desc") or ""}
        item |= _attack_parts(attacks)
        usage = _usage(action)
        if usage:
            item["usage"] = usage
        if action.get("legendary_action_cost") and action["legendary_action_cost"] != 1:
            item["cost"] = action["legendary_action_cost"]
        key = ACTION_FIELDS.get(str(action.get("action_type")), "actions")
        data.setdefault(key, []).append(item)
    return {k: v for k, v in data.items() if v is not None}


# ---- spells -----------------------------------------------------------------------------------


_AMOUNT_UNIT = re.compile(r"^(\d+)([a-z]+)$")


def _casting_time(value: Any) -> str:
    text = str(value or "")
    if text in CASTING_TIMES:
        return CASTING_TIMES[text]
    found = _AMOUNT_UNIT.match(text)  # "10minutes", "1week" (Level Up's Writhing Transformation)
    return f"{found[1]} {found[2]}" if found else text


def spell(fields: Record, options: list[Record]) -> Record:
    """A spell with its casting options (damage by slot or character level) as an SRD spell."""
    components = [
        c for c, key in (("V", "verbal"), ("S", "somatic"), ("M", "material")) if fields.get(key)
    ]
    data: Record = {
        "desc": paragraphs(fields.get("desc")),
        "higher_level": paragraphs(fields.get("higher_level")),
        "range": fields.get("range_text") or _feet(fields.get("range")),
        "components": components,
        "material": fields.get("material_specified") or None,
        "ritual": bool(fields.get("ritual")),
        "duration": str(fields.get("duration") or "").capitalize(),
        "concentration": bool(fields.get("concentration")),
        "casting_time": _casting_time(fields.get("casting_time")),
        "level": fields.get("level"),
        "school": ref(str(fields["school"])) if fields.get("school") else None,
        "classes": [ref(str(c)) for c in fields.get("classes") or []],
    }
    if fields.get("reaction_condition"):
        data["casting_time"] += f", {fields['reaction_condition']}"
    types = fields.get("damage_types") or []
    by_slot = {
        o["type"].rsplit("_", 1)[1]: o["damage_roll"]
        for o in options
        if str(o.get("type", "")).startswith("slot_level_") and o.get("damage_roll")
    }
    by_level = {
        o["type"].rsplit("_", 1)[1]: o["damage_roll"]
        for o in options
        if str(o.get("type", "")).startswith("player_level_") and o.get("damage_roll")
    }
    if types or by_slot or by_level or fields.get("damage_roll"):
        damage: Record = {}
        if types:
            damage["damage_type"] = ref(str(types[0]))
        if by_slot:
            damage["damage_at_slot_level"] = (
                {str(fields.get("level")): fields.get("damage_roll")} | by_slot
                if fields.get("damage_roll")
                else by_slot
            )
        elif by_level:
            damage["damage_at_character_level"] = by_level
        elif fields.get("damage_roll"):
            damage["damage_at_slot_level"] = {str(fields.get("level")): fields["damage_roll"]}
        data["damage"] = damage
    if fields.get("saving_throw_ability"):
        ability = str(fields["saving_throw_ability"])
        short = ABBREVIATIONS.get(ability, ability[:3])
        data["dc"] = {"dc_type": {"index": short, "name": short.upper()}}
    if fields.get("shape_type") and fields.get("shape_size"):
        data["area_of_effect"] = {
            "type": fields["shape_type"],
            "size": _int(fields["shape_size"]) or fields["shape_size"],
        }
    if fields.get("attack_roll"):
        data["attack_type"] = "ranged" if (_number(fields.get("range")) or 0) > 5 else "melee"
    return {k: v for k, v in data.items() if v is not None}


# ---- items ------------------------------------------------------------------------------------


def _gp(value: Any) -> Record | None:
    cost = _number(value)
    return {"quantity": int(cost) if cost.is_integer() else cost, "unit": "gp"} if cost else None


def _category(key: Any) -> Record | None:
    return ref(str(key)) if key else None


_ATTUNED_BY = re.compile(r"requires attunement by a (.+)", re.IGNORECASE)


def magic_item(fields: Record, details: Record | None = None) -> Record:
    """A magic item, with the details of the weapon or armor it is made from (`details`: its
    damage, properties, ranges or armor class, and `base_item`, that weapon's or armor's name),
    from its own document or another beside it (Vault of Magic's name the SRD document's)."""
    rarity = str(fields.get("rarity") or "")
    data: Record = {
        "desc": paragraphs(fields.get("desc")),
        "rarity": {"name": rarity.replace("-", " ").title()} if rarity else None,
        "equipment_category": _category(fields.get("category")),
        "attunement": bool(fields.get("requires_attunement")),
        **(details or {}),
    }
    if fields.get("attunement_detail"):
        data["attunement_detail"] = fields["attunement_detail"]
        # who may attune, as the card's "(requires attunement by a Paladin)" reads it (the 2024
        # SRD's `limited-to`); the card said only "(requires attunement)" (50 items)
        by = _ATTUNED_BY.match(str(fields["attunement_detail"]).strip())
        if by:
            data["limited-to"] = by[1]
    cost = _gp(fields.get("cost"))  # most are "0.00": none given
    if cost:
        data["cost"] = cost
    return {k: v for k, v in data.items() if v is not None}


def _damage_of(dice: Any, kind: Any) -> Record | None:
    """`{"damage_dice": "1d8", "damage_type": {...}}`; None for a weapon that deals none (a
    net's `"0"`)."""
    text = str(dice or "").strip()
    if not text or text == "0":
        return None
    found: Record = {"damage_dice": text}
    if kind:
        found["damage_type"] = ref(str(kind))
    return found


def _range_of(normal: Any, long: Any) -> Record:
    found: Record = {"normal": _int(normal) or _number(normal)}
    if _number(long):
        found["long"] = _int(long) or _number(long)
    return found


def weapon(fields: Record, properties: list[tuple[Record, Any]]) -> Record:
    """A weapon's details (Weapon.json, with its WeaponPropertyAssignment rows: each property's
    WeaponProperty record and the assignment's `detail`) in the SRD's fields: `weapon_category`,
    `weapon_range`, `category_range`, `damage`, `two_handed_damage`, `properties`, `mastery`
    (2024), `range`, `throw_range`, `ammunition`.

    Open5e does not say melee or ranged: a weapon with ammunition, or with a range and not
    thrown, is ranged; thrown ones (a dagger, a javelin, but also the SRD's dart and net) melee.
    """
    names = [str(p.get("name") or "") for p, _ in properties]
    lowered = [n.lower() for n in names]
    thrown = "thrown" in lowered
    far = bool(_number(fields.get("range")))
    ranged = "ammunition" in lowered or (far and not thrown)
    category = "Simple" if fields.get("is_simple") else "Martial"
    kind = "Ranged" if ranged else "Melee"
    data: Record = {
        "weapon_category": category,
        "weapon_range": kind,
        "category_range": f"{category} {kind}",
        "damage": _damage_of(fields.get("damage_dice"), fields.get("damage_type")),
        "range": _range_of(fields.get("range"), fields.get("long_range"))
        if ranged
        else {"normal": 5},
    }
    if thrown and far:
        data["throw_range"] = _range_of(fields.get("range"), fields.get("long_range"))
    found: list[Record] = []
    for (prop, detail), name in zip(properties, names, strict=True):
        if not name:
            continue
        if str(prop.get("type") or "").lower() == "mastery":
            data["mastery"] = {"index": SLUG.sub("-", name.lower()).strip("-"), "name": name}
            continue
        found.append({"index": SLUG.sub("-", name.lower()).strip("-"), "name": name})
        text = str(detail or "").strip()
        if name.lower() == "versatile" and text:
            data["two_handed_damage"] = _damage_of(text, fields.get("damage_type"))
        if name.lower() == "ammunition" and ";" in text:
            data["ammunition"] = text.split(";", 1)[1].strip()
    data["properties"] = found
    return {k: v for k, v in data.items() if v is not None}


def armor(fields: Record) -> Record:
    """Armor's details (Armor.json) in the SRD's fields: `armor_category` (Open5e does not say:
    a shield by its name, heavy without Dex, medium with a Dex cap, light otherwise),
    `armor_class`, `str_minimum`, `stealth_disadvantage`."""
    name = str(fields.get("name") or "").lower()
    dex, cap = bool(fields.get("ac_add_dexmod")), _int(fields.get("ac_cap_dexmod"))
    if "shield" in name:
        category = "Shield"
    elif not dex:
        category = "Heavy"
    else:
        category = "Medium" if cap is not None else "Light"
    armor_class: Record = {"base": _int(fields.get("ac_base")), "dex_bonus": dex}
    if dex and cap is not None:
        armor_class["max_bonus"] = cap
    return {
        "armor_category": category,
        "armor_class": armor_class,
        "str_minimum": _int(fields.get("strength_score_required")) or 0,
        "stealth_disadvantage": bool(fields.get("grants_stealth_disadvantage")),
    }


def item(fields: Record, details: Record | None = None) -> Record:
    """An item with the details of the weapon or armor it is (`weapon`, `armor`), if any."""
    data: Record = {
        "desc": paragraphs(fields.get("desc")),
        "equipment_category": _category(fields.get("category")),
        **(details or {}),
    }
    data["cost"] = _gp(fields.get("cost"))
    weight = _number(fields.get("weight"))
    if weight:
        data["weight"] = int(weight) if weight.is_integer() else weight
    return {k: v for k, v in data.items() if v is not None}


# ---- character options and rules ----------------------------------------------------------------


def with_parts(fields: Record, parts: list[Record], heading: str = "") -> Record:
    """A feat, background or species: its text, then each part (`**Name.** text`) that the
    text does not already say (Level Up's feats repeat their one benefit in their `desc`)."""
    desc = paragraphs(fields.get("desc"))
    said = " ".join(" ".join(desc).split())
    for part in parts:
        name = str(part.get("name") or "").strip()
        text = str(part.get("desc") or "").strip()
        if text and not (not name and " ".join(text.split()) in said):
            desc.append(f"**{name}.** {text}" if name else text)
    data: Record = {"desc": desc}
    if fields.get("prerequisite"):  # text, shown as written (it read "Type text")
        data["prerequisites"] = [str(fields["prerequisite"]).strip("* ")]
    if str(fields.get("type") or "").strip() not in ("", "GENERAL"):  # a feat's: the 2024
        # SRD's Origin, General, Fighting Style, Epic Boon; the others say "GENERAL" of all
        data["type"] = str(fields["type"]).replace("_", " ").strip().title()
    if parts and heading:
        data[heading] = [{"name": p.get("name") or "", "desc": p.get("desc") or ""} for p in parts]
    if fields.get("subspecies_of"):
        data["subspecies_of"] = ref(str(fields["subspecies_of"]))
    return data


def rule(fields: Record) -> Record:
    return {"desc": paragraphs(fields.get("desc"))}


def named(fields: Record) -> Record:
    """A record that is a name and a text (a language, a school of magic, a weapon property, a
    service, a chapter of rules, a set of items), with the few facts it has beside them."""
    data: Record = {"desc": [p for p in paragraphs(fields.get("desc")) if p != "[None provided]"]}
    if fields.get("type"):
        data["type"] = fields["type"]  # a weapon property's: "Mastery"
    if fields.get("script_language"):
        data["script"] = str(fields["script_language"]).title()
    if "is_exotic" in fields:
        data["type"] = "Exotic" if fields["is_exotic"] else "Standard"
    data["cost"] = _gp(fields.get("cost"))
    if fields.get("detail"):
        data["detail"] = fields["detail"]
    items = fields.get("items")
    if isinstance(items, str):  # Open5e writes this list as Python's repr: "['srd_orb', …]"
        items = re.findall(r"'([^']+)'", items)
    if isinstance(items, list):
        data["equipment"] = [ref(str(i)) for i in items]
    return {k: v for k, v in data.items() if v is not None}


_SHORT = {a[:3]: a for a in ABILITIES}


def described_name(key: str, collection: str) -> str:
    """The name of what a `*Description` record describes: `cha` → Charisma, `animal-handling`
    → Animal Handling, `chaotic-evil` → Chaotic Evil."""
    if collection == "ability-scores" and key in _SHORT:
        return _SHORT[key].title()
    return key.replace("-", " ").title()


# ---- classes ----------------------------------------------------------------------------------


@dataclass
class Feature:
    """A class feature (ClassFeature.json) with its rows of ClassFeatureItem.json: the levels it
    is gained at, and for a column of the class table (Rages, Proficiency Bonus) the value at
    each level."""

    fields: Record
    items: list[Record]

    @property
    def name(self) -> str:
        return str(self.fields.get("name") or "").strip()

    @property
    def levels(self) -> list[int]:
        return sorted({lv for i in self.items if (lv := _int(i.get("level"))) is not None})

    @property
    def level(self) -> int | None:
        return self.levels[0] if self.levels else None

    @property
    def column(self) -> bool:
        text = str(self.fields.get("desc") or "").strip()
        return text == "[Column data]" or any(i.get("column_value") is not None for i in self.items)

    def value_at(self, level: int) -> str:
        for item in self.items:
            if _int(item.get("level")) == level:
                return str(item.get("column_value") or item.get("detail") or "")
        return ""


def class_feature(feature: Feature, of_class: Record, subclass: Record | None) -> Record:
    """A feature as an SRD feature: its class (and subclass), the level it comes at, its text;
    what changes with level (`Brutal Critical`: 1 die at 9th, 2 at 13th) as a last paragraph."""
    desc = paragraphs(feature.fields.get("desc"))
    details = [f"{lv}: {feature.value_at(lv)}" for lv in feature.levels if feature.value_at(lv)]
    if details:
        desc.append("By level — " + "; ".join(details) + ".")
    data: Record = {"level": feature.level, "class": of_class, "desc": desc}
    if subclass is not None:
        data["subclass"] = subclass
    if len(feature.levels) > 1:
        data["levels"] = feature.levels
    return data


def character_class(
    fields: Record, features: list[Feature], subclasses: list[tuple[str, str]]
) -> Record:
    """A class or subclass: hit die, saving throws, its text with the features that have no
    level (Proficiencies, Equipment) as paragraphs, and its table (level, the columns, the
    features gained) as a Markdown table."""
    desc = paragraphs(fields.get("desc"))
    for feature in features:
        if feature.level is None and not feature.column and feature.name:
            first, *rest = paragraphs(feature.fields.get("desc")) or [""]
            desc += [f"**{feature.name}.** {first}".strip(), *rest]
    columns = [f for f in features if f.column and f.name]
    gained = [f for f in features if not f.column and f.level is not None and f.name]
    if columns or gained:
        levels = sorted({lv for f in (*columns, *gained) for lv in f.levels})
        head = ["Level", *(c.name for c in columns), "Features"]
        rows = [
            [
                str(lv),
                *(c.value_at(lv) or "—" for c in columns),
                ", ".join(f.name for f in gained if lv in f.levels) or "—",
            ]
            for lv in levels
        ]
        table = [f"| {' | '.join(head)} |", f"|{'---|' * len(head)}"]
        table += [f"| {' | '.join(row)} |" for row in rows]
        desc.append("\n".join(table))
    data: Record = {"desc": desc}
    die = str(fields.get("hit_dice") or "").lower().lstrip("d")
    if die.isdigit():
        data["hit_die"] = int(die)
    saves = [str(a).lower()[:3] for a in fields.get("saving_throws") or []]
    if saves:
        data["saving_throws"] = [{"index": a, "name": a.upper()} for a in saves]
    if fields.get("caster_type") and fields["caster_type"] != "NONE":
        data["caster_type"] = str(fields["caster_type"]).lower()
    if fields.get("subclass_of"):
        data["class"] = ref(str(fields["subclass_of"]))
    if subclasses:
        data["subclasses"] = [ref(pk, name) for pk, name in subclasses]
    data["features"] = [
        {"name": f.name, "level": f.level} for f in sorted(gained, key=lambda f: f.level or 0)
    ]
    return data
