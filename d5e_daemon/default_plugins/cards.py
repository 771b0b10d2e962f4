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

from ..fields import (
    as_int,
    challenge_rating,
    describe,
    equipment_kind,
    label,
    listing,
    magic_item_parts,
    paragraphs,
    plain_number,
    spell_components,
    spell_duration,
    spell_kind,
    spell_range,
    text_paragraphs,
    weapon_damage,
)
from ..hookspecs import hookimpl
from ..records import Entry

_ABILITIES = ("strength", "dexterity", "constitution", "intelligence", "wisdom", "charisma")


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
        quantity = as_int(value["quantity"])
        number = f"{quantity:,}" if quantity is not None else plain_number(value["quantity"])
        return f"{number} {describe(value.get('unit'))}".strip()
    return describe(value)


# ---- spells ----------------------------------------------------------------------------------


def _spell(entry: Entry) -> str:
    data = entry.data
    facts = [
        ("Casting Time", describe(data.get("casting_time"))),
        ("Range", spell_range(data)),
        ("Components", spell_components(data)),
        ("Duration", spell_duration(data)),
    ]
    body = paragraphs(data)
    higher = text_paragraphs(data.get("higher_level"))
    # the heading as the source names it (2024: "Using a Higher-Level Spell Slot"; "" for none)
    heading = describe(data.get("higher_level_name", "At Higher Levels"))
    if higher:
        body += [f"***{heading}.*** {higher[0]}" if heading else higher[0], *higher[1:]]
    classes = describe(data.get("classes"))
    if classes:
        body.append(f"*Classes: {classes}*")
    return _card(entry.name, spell_kind(data), [_facts(facts), _join(body)], data)


# ---- monsters --------------------------------------------------------------------------------


def _signed(value: Any) -> str:
    number = as_int(value)
    return f"{number:+d}" if number is not None else describe(value)


def _monster_kind(data: dict[str, Any]) -> str:
    kind = " ".join(describe(data.get(k)) for k in ("size", "type") if describe(data.get(k)))
    subtype = describe(data.get("subtype"))
    if subtype:
        kind += f" ({subtype})"
    alignment = describe(data.get("alignment"))
    return ", ".join(p for p in (kind.strip(), alignment) if p)


_PREPOSITIONS = frozenset({"while", "with", "when", "in", "if", "against", "during", "without"})


def _armor_class(value: Any) -> str:
    if not isinstance(value, list):
        return describe(value)
    parts: list[str] = []
    for ac in value:
        if not isinstance(ac, dict):
            parts.append(describe(ac))
            continue
        if ac.get("braces") and parts:  # 5etools' `braces`: `15 (18 with mage armor)`
            inner = _armor_class([{**ac, "braces": False}])
            last = parts[-1]
            parts[-1] = f"{last[:-1]}; {inner})" if last.endswith(")") else f"{last} ({inner})"
            continue
        kind, text = ac.get("type"), plain_number(ac.get("value"))
        if kind == "natural":
            text += " (natural armor)"
        elif kind == "armor" and (ac.get("armor") or ac.get("desc")):
            text += f" ({_armor_worn(ac)})"
        elif kind in ("spell", "condition") and isinstance(ac.get(kind), dict):
            said = describe(ac[kind]).lower()
            word = "with" if kind == "spell" else "while"
            # a condition that says its own preposition ("with mage armor", "in bear form")
            text += f" {said}" if said.split(" ", 1)[0] in _PREPOSITIONS else f" {word} {said}"
        parts.append(text.strip())
    return ", ".join(parts)


def _armor_worn(ac: dict[str, Any]) -> str:
    """What an armor class is from: the SRD's items lower-cased, as a stat block says them
    ("Plate Armor" → plate armor); what a 5etools `from` writes, as written ("ring of
    protection", "Mountain Fane": a name keeps its capitals)."""
    armor = ac.get("armor")
    if isinstance(armor, list) and armor and all(isinstance(a, dict) for a in armor):
        return ", ".join(describe(a) if "index" not in a else describe(a).lower() for a in armor)
    return describe(armor or ac.get("desc")).lower()


def _hit_points(data: dict[str, Any]) -> str:
    hp = plain_number(data.get("hit_points"))
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
        score = as_int(data.get(key))
        said = data.get(key)
        if score is None and isinstance(said, str) and said.strip():
            cells.append(said.strip())  # a special score: "equal your Wisdom score"
            continue
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


def _senses(value: Any) -> str:
    if not isinstance(value, dict):
        return describe(value)
    parts = [
        f"{label(k).lower()} {plain_number(v)}"
        for k, v in value.items()
        if k != "passive_perception"
    ]
    if "passive_perception" in value:
        parts.append(f"passive Perception {plain_number(value['passive_perception'])}")
    return ", ".join(parts)


def _challenge(data: dict[str, Any]) -> str:
    if data.get("challenge_rating") is None:  # one no number says (a minion's `M1`): as written
        return describe(data.get("challenge_rating_text"))
    xp, lair = as_int(data.get("xp")), as_int(data.get("xp_in_lair"))
    text = challenge_rating(data["challenge_rating"])
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
    if kind == "recharge on roll" and as_int(value.get("min_value")) is not None:
        low = as_int(value["min_value"])
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
            desc = "\n\n".join(text_paragraphs(item.get("desc")))
            # a text that opens with a list or a table (a spellcasting block without header
            # text) starts below the name: on its line, the list's first item was not one
            joint = "\n\n" if desc.startswith(("- ", "* ", "| ", "1. ", "#", "> ")) else " "
            out.append(f"***{name}.***{joint}{desc}".strip() if name else desc)
    return out


def _monster(entry: Entry) -> str:
    data = entry.data
    facts = [
        ("Armor Class", _armor_class(data.get("armor_class"))),
        ("Initiative", describe(data.get("initiative"))),  # a 2024 stat block's: `+8 (18)`
        ("Hit Points", _hit_points(data)),
        ("Speed", _speed(data.get("speed"))),
    ]
    more = [
        ("Saving Throws", _proficiencies(data, "Saving Throw:")),
        ("Skills", _proficiencies(data, "Skill:")),
        ("Damage Vulnerabilities", listing(data.get("damage_vulnerabilities"))),
        ("Damage Resistances", listing(data.get("damage_resistances"))),
        ("Damage Immunities", listing(data.get("damage_immunities"))),
        ("Condition Immunities", listing(data.get("condition_immunities"), lower=True)),
        ("Gear", describe(data.get("gear"))),  # what it carries (2024 stat blocks)
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
        ("mythic_actions", "Mythic Actions"),
    ):
        block = _abilities_block(data.get(key))
        if block:
            body += [f"### {title}", *block]
    body += paragraphs(data)
    forms = data.get("forms")
    if isinstance(forms, list) and forms:  # the SRD's "Werewolf, Human Form" names the others
        body.append(f"*Other forms: {'; '.join(describe(f) for f in forms)}.*")
    return _card(entry.name, _monster_kind(data), body, data)


def _monster_detail(data: dict[str, Any]) -> str:
    cr = (
        f"CR {challenge_rating(data['challenge_rating'])}"
        if data.get("challenge_rating") is not None
        else ""
    )
    kind = " ".join(describe(data.get(k)) for k in ("size", "type"))
    return " ".join(f"{cr} {kind}".split())


# ---- magic items -----------------------------------------------------------------------------


def _magic_item(entry: Entry) -> str:
    """A magic item's cost and weight (5etools shows an item's value and weight, a magic
    one's too), and a magic weapon or armor that carries its base item's details (a loader
    joined them: Open5e's Vault of Magic) shows them as the equipment card does."""
    kind, body = magic_item_parts(entry.data)
    variants = entry.data.get("variants")
    if isinstance(variants, list) and variants:
        body.append(f"*Variants: {'; '.join(describe(v) for v in variants)}*")
    facts = _facts([*_cost_and_weight(entry.data), *_weapon_and_armor_facts(entry.data)])
    return _card(entry.name, kind, [facts, _join(body)], entry.data)


# ---- equipment -------------------------------------------------------------------------------


def _range(data: dict[str, Any]) -> str:
    parts = []
    for key, note in (("range", ""), ("throw_range", " (thrown)")):
        rng = data.get(key)
        if not isinstance(rng, dict) or rng.get("long") is None:
            continue  # a melee weapon's `range` is only its reach
        # Some thrown weapons repeat their throw range as `range`: say it once.
        if key == "range" or rng != data.get("range"):
            parts.append(f"{plain_number(rng.get('normal'))}/{plain_number(rng['long'])} ft.{note}")
    return ", ".join(parts)


def _armor_facts(value: Any, shield: bool) -> str:
    if not isinstance(value, dict):
        return describe(value)
    text = ("+" if shield else "") + plain_number(value.get("base"))
    if value.get("dex_bonus") is True:
        cap = value.get("max_bonus")
        text += " + Dex modifier" + (f" (max {plain_number(cap)})" if cap is not None else "")
    return text


def _cost(data: dict[str, Any]) -> str:
    cost = _amount(data.get("cost"))
    quantity = as_int(data.get("quantity"))
    return f"{cost} for {quantity}" if cost and quantity and quantity > 1 else cost


def _contents(value: Any) -> str:
    parts = []
    for item in value if isinstance(value, list) else []:
        if isinstance(item, dict) and "item" in item:
            count = as_int(item.get("quantity"))
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


def _weapon_and_armor_facts(data: dict[str, Any]) -> list[tuple[str, str]]:
    """Damage, properties, ranges (a thrown weapon's too), armor class…: what an item is as a
    weapon or armor (empty for anything else)."""
    strength = as_int(data.get("str_minimum"))
    shield = equipment_kind(data) == "Shield"
    return [
        ("Damage", weapon_damage(data)),
        ("Properties", describe(data.get("properties"))),
        ("Mastery", describe(data.get("mastery"))),
        ("Range", _range(data)),
        ("Ammunition", describe(data.get("ammunition"))),
        ("Armor Class", _armor_facts(data.get("armor_class"), shield)),
        ("Strength", f"Str {strength}" if strength else ""),
        ("Stealth", "Disadvantage" if data.get("stealth_disadvantage") is True else ""),
    ]


def _cost_and_weight(data: dict[str, Any]) -> list[tuple[str, str]]:
    weight = data.get("weight")
    return [("Cost", _cost(data)), ("Weight", f"{plain_number(weight)} lb." if weight else "")]


def _equipment(entry: Entry) -> str:
    data, kind = entry.data, equipment_kind(entry.data)
    facts = [
        *_cost_and_weight(data),
        *_weapon_and_armor_facts(data),
        ("Speed", _amount(data.get("speed"))),
        ("Capacity", describe(data.get("capacity"))),
        ("Contents", _contents(data.get("contents"))),
        ("Ability", describe(data.get("ability"))),
        ("Utilize", _utilize(data.get("utilize"))),
    ]
    body = (
        paragraphs(data) + text_paragraphs(data.get("special")) + text_paragraphs(data.get("notes"))
    )
    return _card(entry.name, kind, [_facts(facts), _join(body)], data)


def _equipment_detail(data: dict[str, Any]) -> str:
    return ", ".join(p for p in (equipment_kind(data), _cost(data)) if p)


# ---- the hook --------------------------------------------------------------------------------

_MARKDOWN: dict[str, Callable[[Entry], str]] = {
    "spells": _spell,
    "monsters": _monster,
    "magic-items": _magic_item,
    "equipment": _equipment,
}

_DETAIL: dict[str, Callable[[dict[str, Any]], str]] = {
    "spells": spell_kind,
    "monsters": _monster_detail,
    "magic-items": lambda data: magic_item_parts(data)[0].split(" (requires")[0],
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
