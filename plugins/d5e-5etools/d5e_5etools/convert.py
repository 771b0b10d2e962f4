"""A 5etools object → a d5e record: the collection, and `data` with d5e's field names.

d5e's cards, filters and search read the 5e-database field names the SRD uses (`casting_time`,
`challenge_rating`, `damage_immunities`…), so each 5etools field with a d5e counterpart is
written under that name, in that shape. Nothing is dropped: the whole 5etools object stays in
`data["5etools"]` (what `_copy` of this entry starts from, and where unmapped fields are read).
Text keeps its `{@tags}`: d5e turns them into text and links when it shows a card.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from typing import Any

from d5e_daemon.tagtext import ITEM_PROPERTIES as PROPERTIES
from d5e_daemon.tagtext import ITEM_TYPES
from d5e_daemon.tagtext import plain as tag_words
from d5e_daemon.text import normalize, slugify, small_int

from . import RAW
from .copy import CR_XP, eval_fraction
from .entries import ABILITY_NAMES, blocks, spellcasting
from .races import subrace_name
from .srddb import srd_names

# 5etools data keys → d5e collections. The SRD's names where the SRD has the collection.
COLLECTIONS: dict[str, str] = {
    "spell": "spells",
    "monster": "monsters",
    "legendaryGroup": "legendary-groups",
    "item": "magic-items",  # mundane ones go to `equipment` (see `collection_of`)
    "baseitem": "equipment",
    "magicvariant": "magic-items",
    "variant": "magic-items",
    "itemGroup": "magic-items",
    "feat": "feats",
    "background": "backgrounds",
    "race": "races",
    "subrace": "subraces",
    "condition": "conditions",
    "disease": "diseases",
    "status": "statuses",
    "optionalfeature": "optional-features",
    "class": "classes",
    "subclass": "subclasses",
    "classFeature": "features",
    "subclassFeature": "features",
    "deity": "deities",
    "language": "languages",
    "table": "tables",
    "variantrule": "variant-rules",
    "action": "actions",
    "sense": "senses",
    "skill": "skills",
    "trap": "traps",
    "hazard": "hazards",
    "object": "objects",
    "vehicle": "vehicles",
    "vehicleUpgrade": "vehicle-upgrades",
    "reward": "rewards",
    "psionic": "psionics",
    "cult": "cults",
    "boon": "boons",
    "recipe": "recipes",
    "deck": "decks",
    "card": "cards",
    "charoption": "character-options",
    "facility": "facilities",
    "itemMastery": "weapon-mastery-properties",
    "itemProperty": "weapon-properties",
    "itemType": "item-types",
    "monsterTemplate": "monster-templates",
    "legendaryGroupTemplate": "legendary-group-templates",
    "encounter": "encounters",
    "name": "name-tables",
    "spellList": "spell-lists",
    "citation": "citations",
    "crochetPattern": "crochet-patterns",
    "makebrewCreatureTrait": "creature-traits",
    "makebrewCreatureAction": "creature-actions",
    "monsterfeatures": "monster-features",
    "book": "books",
    "adventure": "adventures",
}

# Keys merged into other entries or read as documents, not entries of their own.
FLUFF = {
    "monsterFluff": "monster",
    "itemFluff": "item",
    "raceFluff": "race",
    "backgroundFluff": "background",
    "featFluff": "feat",
    "spellFluff": "spell",
    "classFluff": "class",
    "subclassFluff": "subclass",
    "conditionFluff": "condition",
    "languageFluff": "language",
    "vehicleFluff": "vehicle",
    "objectFluff": "object",
    "rewardFluff": "reward",
    "deityFluff": "deity",
    "trapFluff": "trap",
    "hazardFluff": "hazard",
    "recipeFluff": "recipe",
    "cultFluff": "cult",
    "boonFluff": "boon",
    "charoptionFluff": "charoption",
    "diseaseFluff": "disease",
    "statusFluff": "status",
    "optionalfeatureFluff": "optionalfeature",
    "facilityFluff": "facility",
    "crochetPatternFluff": "crochetPattern",
}
# Keys 5etools reads as another one: the "reduced" item properties and types (of its card
# maker) are item properties and types.
KIND_ALIASES = {"reducedItemProperty": "itemProperty", "reducedItemType": "itemType"}
DOCUMENTS = {"adventureData": "adventure", "bookData": "book"}
IGNORED = frozenset({"_meta", "$schema", "siteVersion", "_test", "_dependencies"})

SIZES = {
    "F": "Fine", "D": "Diminutive", "T": "Tiny", "S": "Small", "M": "Medium", "L": "Large",
    "H": "Huge", "G": "Gargantuan", "C": "Colossal", "V": "Varies",
}  # fmt: skip
ALIGNMENTS = {
    "L": "lawful", "N": "neutral", "NX": "neutral", "NY": "neutral", "C": "chaotic",
    "G": "good", "E": "evil", "U": "unaligned", "A": "any alignment",
}  # fmt: skip
SCHOOLS = {
    "A": "Abjuration", "C": "Conjuration", "D": "Divination", "E": "Enchantment",
    "V": "Evocation", "I": "Illusion", "N": "Necromancy", "T": "Transmutation",
    "P": "Psionic",
}  # fmt: skip
DAMAGE = {
    "A": "acid", "B": "bludgeoning", "C": "cold", "F": "fire", "O": "force",
    "L": "lightning", "N": "necrotic", "P": "piercing", "I": "poison", "Y": "psychic",
    "R": "radiant", "S": "slashing", "T": "thunder",
}  # fmt: skip
ITEM_CATEGORY = {
    "M": "Weapon", "R": "Weapon", "LA": "Armor", "MA": "Armor", "HA": "Armor", "S": "Armor",
    "P": "Potion", "RG": "Ring", "RD": "Rod", "SC": "Scroll", "WD": "Wand", "A": "Ammunition",
    "AF": "Ammunition", "G": "Adventuring Gear", "SCF": "Adventuring Gear", "AT": "Tools",
    "T": "Tools", "GS": "Tools", "INS": "Tools", "MNT": "Mounts and Vehicles",
    "VEH": "Mounts and Vehicles", "SHP": "Mounts and Vehicles", "TAH": "Mounts and Vehicles",
}  # fmt: skip
CONDITIONS_TIME = {"action": "action", "bonus": "bonus action", "reaction": "reaction"}
SLUG_CLEAN = re.compile(r"[^a-z0-9]+")


@functools.lru_cache(maxsize=65536)
def slug(text: str) -> str:
    return slugify(text)[:128].strip("-")


def strip_source(value: Any) -> str:
    """`"M|XPHB"` → `"M"` (newer data names a code's source after a bar)."""
    return str(value).split("|")[0] if value is not None else ""


_TAG_TEXT = re.compile(r"\{@\w+ ([^{}|]*)(?:\|[^{}]*)?\}")


def plain_tags(value: str) -> str:
    """`{@spell fireball|PHB}` → `fireball`: tags to their text (for names and short fields)."""
    while "{@" in value:
        new = _TAG_TEXT.sub(r"\1", value)
        if new == value:
            break
        value = new
    return value


def _ref(name: str) -> dict[str, str]:
    return {"index": slug(name), "name": name}


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


# ---- creatures -------------------------------------------------------------------------------


def _size(value: Any) -> str:
    sizes = [SIZES.get(s, str(s)) for s in (value if isinstance(value, list) else [value]) if s]
    return " or ".join(sizes)


# A swarm's creatures, in the plural (5etools' `Parser.monTypeToPlural`).
_PLURAL_TYPES = {"fey": "fey", "monstrosity": "monstrosities", "undead": "undead"}


def _plural_type(kind: str) -> str:
    return _PLURAL_TYPES.get(kind.lower(), f"{kind}s")


def _type(value: Any) -> tuple[str, str]:
    if isinstance(value, str):
        return value, ""
    if not isinstance(value, dict):
        return "", ""
    kind = value.get("type")
    kinds = [str(k) for k in kind["choose"]] if isinstance(kind, dict) and "choose" in kind else []
    if kinds:
        kind = " or ".join(kinds)
    tags = []
    for tag in value.get("tags") or []:
        if isinstance(tag, dict):
            tags.append(f"{tag.get('prefix', '')} {tag.get('tag', '')}".strip())
        else:
            tags.append(str(tag))
    if value.get("swarmSize"):
        plural = " or ".join(map(_plural_type, kinds or [str(kind or "")]))
        kind = f"swarm of {SIZES.get(value['swarmSize'], value['swarmSize'])} {plural}"
    return str(kind or ""), ", ".join(tags)


_ALL_ALIGNMENTS = frozenset({"L", "NX", "C", "G", "NY", "E"})
# the lists 5etools' `Parser.alignmentListToFull` names: all but one, the four of one side (a
# chaotic creature of any moral bent: C, G, NY, E), the three neutrals
_ALIGNMENT_SETS = {
    _ALL_ALIGNMENTS - {"G"}: "any non-good alignment",
    _ALL_ALIGNMENTS - {"E"}: "any non-evil alignment",
    _ALL_ALIGNMENTS - {"L"}: "any non-lawful alignment",
    _ALL_ALIGNMENTS - {"C"}: "any non-chaotic alignment",
    _ALL_ALIGNMENTS - {"L", "NX"}: "any chaotic alignment",
    _ALL_ALIGNMENTS - {"G", "NY"}: "any evil alignment",
    _ALL_ALIGNMENTS - {"C", "NX"}: "any lawful alignment",
    _ALL_ALIGNMENTS - {"E", "NY"}: "any good alignment",
    frozenset({"NX", "NY", "N"}): "any neutral alignment",
}


def alignment(value: Any, prefix: str = "") -> str:
    if not isinstance(value, list):
        return str(value or "")
    if all(isinstance(a, str) for a in value):
        codes = list(value)
        text = _ALIGNMENT_SETS.get(frozenset(codes), "") if len(codes) > 2 else ""
        if set(codes) >= _ALL_ALIGNMENTS:
            text = "any alignment"
        elif codes == ["N"]:
            text = "neutral"
        elif not text:
            text = " ".join(ALIGNMENTS.get(c, c) for c in codes)
    else:
        parts = []
        for a in value:
            if isinstance(a, dict):
                if "special" in a:
                    parts.append(str(a["special"]))
                    continue
                part = alignment(a.get("alignment") or [])
                if a.get("chance"):
                    part += f" ({a['chance']}%)"
                if a.get("note"):
                    part += f" ({a['note']})"
                parts.append(part)
            else:
                parts.append(ALIGNMENTS.get(a, str(a)))
        text = " or ".join(parts)
    return f"{prefix}{text}".strip()


def _armor_class(value: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for ac in value if isinstance(value, list) else [value]:
        if isinstance(ac, int | float):
            out.append({"type": "dex", "value": ac})
        elif isinstance(ac, dict) and "special" in ac:
            out.append({"type": "special", "value": ac["special"]})
        elif isinstance(ac, dict):
            item: dict[str, Any] = {"type": "dex", "value": ac.get("ac")}
            sources = [plain_tags(str(f)) for f in ac.get("from") or []]
            if any("natural armor" in s.lower() for s in sources):
                item["type"] = "natural"
            elif sources:  # as written: the card shows a tag's display text, as 5etools does
                item["type"] = "armor"
                item["armor"] = [{"name": str(f)} for f in ac.get("from") or []]
            if ac.get("condition"):
                item["type"] = "condition"
                # as written: "while raging", "with mage armor" (the card adds no word to it)
                item["condition"] = {"name": plain_tags(str(ac["condition"])).strip()}
            if ac.get("braces") is True:  # in brackets after the one before it
                item["braces"] = True
            out.append(item)
    return out


def _speed(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        return {"walk": f"{value} ft."} if isinstance(value, int) else {}
    out: dict[str, Any] = {}
    for mode in ("walk", "burrow", "climb", "fly", "swim"):
        speed = value.get(mode)
        if speed is None or speed is False:
            continue
        if isinstance(speed, dict):
            shown = f"{speed.get('number', '')} ft."
            condition = str(speed.get("condition", "")).strip()
            if condition and condition != "(hover)":
                shown += f" {plain_tags(condition)}"
            if "hover" in condition:
                out["hover"] = True
        elif speed is True:
            shown = "equal to its walking speed"
        else:
            shown = f"{speed} ft."
        out[mode] = shown
    alternate = value.get("alternate")
    for mode in ("walk", "burrow", "climb", "fly", "swim"):
        # other speeds of a mode with their conditions (Mogogol's `{"walk": [{"number": 25,
        # "condition": "if small"}]}`), after its own as 5etools' `getSpeedString` lists them:
        # `30 ft., 25 ft. if small`, `fly 60 ft., fly 30 ft. in bat form`
        others = alternate.get(mode) if isinstance(alternate, dict) else None
        for other in others if isinstance(others, list) else []:
            if not isinstance(other, dict) or other.get("number") is None:
                continue
            said = f"{other['number']} ft. {plain_tags(str(other.get('condition', '')))}".strip()
            said = said if mode == "walk" else f"{mode} {said}"
            out[mode] = f"{out[mode]}, {said}" if mode in out else said.removeprefix(f"{mode} ")
    if value.get("canHover"):
        out["hover"] = True
    choose = value.get("choose")
    if isinstance(choose, dict) and choose.get("from"):
        # {"from": ["climb", "swim"], "amount": 20}: "climb or swim 20 ft."
        note = f" {plain_tags(str(choose['note']))}" if choose.get("note") else ""
        out[" or ".join(map(str, choose["from"]))] = f"{choose.get('amount', '')} ft.{note}"
    elif choose:
        out["choose"] = choose
    return out


def _signed(value: Any) -> int | None:
    m = re.match(r"\s*([+-]?\d+)", str(value))
    return int(m[1]) if m else None


def _bonus(name: str, index: str, value: int, bonus: Any, shown: str) -> dict[str, Any]:
    """A save or skill bonus; one that says more than its number (a summoned wolf's `+1 + PB`)
    is its words as written (`Str +1 + PB`), as 5etools shows it, not its first number."""
    written = plain_tags(str(bonus)).strip()
    if re.fullmatch(r"[+-]?\d+", written):
        return {"value": value, "proficiency": {"index": index, "name": name}}
    words = f"{name.partition(':')[0]}: {shown} {written}"
    return {"proficiency": {"index": index, "name": words}}


def _skill_name(skill: str) -> str:
    """`sleight of hand` → `Sleight of Hand`, as 5etools' `toTitleCase` and the SRD name it."""
    words = skill.split()
    return " ".join(
        w if i and w in ("of", "and", "the") else w[:1].upper() + w[1:] for i, w in enumerate(words)
    )


def _proficiencies(data: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for ability, bonus in (data.get("save") or {}).items():
        value = _signed(bonus)
        if value is not None and ability not in ("special", "other"):
            name = f"Saving Throw: {ability.upper()}"
            out.append(_bonus(name, slug(name), value, bonus, ability.capitalize()))
    for skill, bonus in (data.get("skill") or {}).items():
        value = _signed(bonus)
        if value is not None and skill not in ("special", "other"):
            name = f"Skill: {_skill_name(skill)}"
            out.append(_bonus(name, f"skill-{slug(skill)}", value, bonus, _skill_name(skill)))
    # the parts with no number of their own, after the others on the card's line as 5etools
    # writes them: `Perception +4, plus one of the following: Arcana +7 or History +7`
    for key, kind in (("save", "Saving Throw"), ("skill", "Skill")):
        for text in _other_bonuses(data.get(key)):
            index = f"{slug(kind)}-{slug(text)[:40]}"
            out.append({"proficiency": {"index": index, "name": f"{kind}: {text}"}})
    return out


def _senses(data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for sense in data.get("senses") or []:
        sense = plain_tags(str(sense))
        m = re.match(r"\s*([a-zA-Z ]+?)\s+(\d.*)$", sense)
        if m:
            out[m[1].strip().lower().replace(" ", "_")] = m[2].strip()
        elif sense.strip():
            out[sense.strip().lower()] = ""
    if isinstance(data.get("passive"), int | str):
        out["passive_perception"] = data["passive"]
    return out


def _damage_list(value: Any, key: str) -> list[str]:
    """5etools `immune`/`resist`/`vulnerable` (strings and groups) → printed phrases."""
    out: list[str] = []
    for item in value if isinstance(value, list) else []:
        if isinstance(item, str):
            out.append(item)
        elif isinstance(item, dict) and "special" in item:
            out.append(plain_tags(str(item["special"])))
        elif isinstance(item, dict):
            inner = [i for i in _damage_list(item.get(key, []), key)]
            words = (
                ", ".join(inner[:-1]) + (", and " if len(inner) > 2 else " and ") + inner[-1]
                if len(inner) > 1
                else "".join(inner)
            )
            phrase = " ".join(
                p for p in (str(item.get("preNote", "")), words, str(item.get("note", ""))) if p
            )
            out.append(plain_tags(phrase))
    return out


def _condition_list(value: Any) -> list[dict[str, str]]:
    out = []
    for item in value if isinstance(value, list) else []:
        if isinstance(item, str):
            out.append(_ref(_cap(item)))
        elif isinstance(item, dict):
            names = ", ".join(map(str, item.get("conditionImmune") or []))
            note = f" {item['note']}" if item.get("note") else ""
            if names or note:
                out.append(_ref(_cap(plain_tags(names + note).strip())))
    return out


def cr_value(value: Any) -> tuple[float | None, str]:
    cr = value.get("cr") if isinstance(value, dict) else value
    if cr is None:
        return None, ""
    try:
        return eval_fraction(str(cr)), str(cr)
    except (ValueError, ZeroDivisionError):
        return None, str(cr)


def _trait_order(trait: Any) -> tuple[int, float]:
    """Traits with a `sort` (Stibbles Codex's Rarity, Environment, Diet…) first, by it, as
    5etools' `SortUtil.monTraitSort` orders them; the others after, as written (5etools sorts
    those by name too; d5e keeps the author's order, which `_mod`s such as `insertArr` set)."""
    sort = trait.get("sort") if isinstance(trait, dict) else None
    if isinstance(sort, int | float) and not isinstance(sort, bool):
        return (0, sort)
    return (1, 0)


def _abilities(items: Any) -> list[dict[str, Any]]:
    """Traits and actions: `{name, entries}` → `{name, desc}` (the text keeps its tags)."""
    out = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict):
            row: dict[str, Any] = {"name": str(item.get("name", ""))}  # tags: shown in cards
            paras = blocks(item.get("entries", item.get("entry", [])))
            # one paragraph: a string, as the SRD writes it; several (a list, a table): a list,
            # so that a list's lines are not taken for paragraphs of their own
            row["desc"] = paras[0] if len(paras) == 1 else paras
            joined = "\n".join(paras)
            hit = re.search(r"\{@hit ([+-]?\d+)", joined)
            if hit:
                row["attack_bonus"] = int(hit[1])
            dc = re.search(r"\{@dc (\d+)", joined)
            if dc:
                row["dc"] = {"dc_value": int(dc[1])}
            out.append(row)
        elif isinstance(item, str):
            out.append({"name": "", "desc": item})
    return out


def _spell_names(block: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    def add(spells: Any, **usage: Any) -> None:
        for spell in spells if isinstance(spells, list) else []:
            name = plain_tags(str(spell.get("entry", "") if isinstance(spell, dict) else spell))
            name = re.sub(r"\s*\(.*\)$|\*$", "", name).strip()
            if name:
                found.append({"name": name, **usage})

    add(block.get("will"), usage={"type": "at will"})
    for key, label in (("daily", "per day"), ("rest", "per rest"), ("weekly", "per week")):
        for uses, spells in (block.get(key) or {}).items():
            times = small_int(re.sub(r"[^0-9]", "", str(uses))) or 1
            add(spells, usage={"type": label, "times": times})
    for level, info in (block.get("spells") or {}).items():
        if isinstance(info, dict) and small_int(str(level)) is not None:
            add(info.get("spells"), level=small_int(str(level)))
    return found


def _spellcasting(block: dict[str, Any]) -> dict[str, Any]:
    header = " ".join(s for s in block.get("headerEntries") or [] if isinstance(s, str))
    structured: dict[str, Any] = {"spells": _spell_names(block)}
    ability = block.get("ability")
    if ability:
        structured["ability"] = {"index": ability, "name": ABILITY_NAMES.get(ability, ability)}
    dc = re.search(r"\{@dc (\d+)\}|save DC (\d+)", header)
    if dc:
        structured["dc"] = int(dc[1] or dc[2])
    hit = re.search(r"\{@hit ([+-]?\d+)\}", header)
    if hit:
        structured["modifier"] = int(hit[1])
    slots = {
        level: info["slots"]
        for level, info in (block.get("spells") or {}).items()
        if isinstance(info, dict) and info.get("slots")
    }
    if slots:
        structured["slots"] = slots
    return {
        "name": str(block.get("name", "Spellcasting")),
        "desc": spellcasting(block),
        "spellcasting": structured,
    }


def monster(raw: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if "size" in raw:
        data["size"] = _size(raw["size"])
    if "type" in raw:
        data["type"], subtype = _type(raw["type"])
        if subtype:
            data["subtype"] = subtype
    if "alignment" in raw:
        data["alignment"] = alignment(raw["alignment"], str(raw.get("alignmentPrefix", "")))
    if "ac" in raw:
        data["armor_class"] = _armor_class(raw["ac"])
    hp = raw.get("hp")
    if isinstance(hp, dict):
        if "average" in hp:
            data["hit_points"] = hp["average"]
        if "formula" in hp:
            data["hit_points_roll"] = str(hp["formula"]).replace(" ", "")
            data["hit_dice"] = data["hit_points_roll"].split("+")[0].split("-")[0]
        if "special" in hp:
            data["hit_points"] = plain_tags(str(hp["special"]))
    if "speed" in raw:
        data["speed"] = _speed(raw["speed"])
    for short, long in (
        ("str", "strength"), ("dex", "dexterity"), ("con", "constitution"),
        ("int", "intelligence"), ("wis", "wisdom"), ("cha", "charisma"),
    ):  # fmt: skip
        score = raw.get(short)
        if isinstance(score, dict):  # {"special": "equal your Wisdom score"}
            data[long] = plain_tags(str(score.get("special", "")))
        elif score is not None:
            data[long] = score
    proficiencies = _proficiencies(raw)
    if proficiencies:
        data["proficiencies"] = proficiencies
    for key, field in (
        ("vulnerable", "damage_vulnerabilities"), ("resist", "damage_resistances"),
        ("immune", "damage_immunities"),
    ):  # fmt: skip
        if key in raw:
            data[field] = _damage_list(raw[key], key)
    if "conditionImmune" in raw:
        data["condition_immunities"] = _condition_list(raw["conditionImmune"])
    if "senses" in raw or "passive" in raw:
        data["senses"] = _senses(raw)
    languages = raw.get("languages")
    if "languages" in raw:
        data["languages"] = (
            ", ".join(plain_tags(str(x)) for x in languages) if isinstance(languages, list) else ""
        )
    if _initiative(raw):
        data["initiative"] = _initiative(raw)
    value, shown = cr_value(raw.get("cr"))
    if value is not None:
        data["challenge_rating"] = value
        cr_xp = raw["cr"].get("xp") if isinstance(raw["cr"], dict) else None
        data["xp"] = cr_xp if isinstance(cr_xp, int | float) else raw.get("xp", CR_XP.get(shown, 0))
        data["proficiency_bonus"] = 2 + max(0, int(-(-value // 1)) - 1) // 4
        lair = raw["cr"].get("lair") if isinstance(raw["cr"], dict) else None
        xp_lair = raw["cr"].get("xpLair") if isinstance(raw["cr"], dict) else None
        if isinstance(xp_lair, int) and not isinstance(xp_lair, bool):  # a 2024 lair's XP
            data["xp_in_lair"] = xp_lair  # (Monster Manual Expanded 5.5e's `"xpLair": 41000`)
        elif lair and CR_XP.get(str(lair)):
            data["xp_in_lair"] = CR_XP[str(lair)]
    elif shown:
        data["challenge_rating_text"] = shown
    gear = raw.get("gear") or raw.get("attachedItems")  # 5etools' `getGearPart`: the items
    if isinstance(gear, list) and gear:  # as links, where its stat block has them
        data["gear"] = ", ".join(str(_linked("item", g)) for g in gear)
    by_place: dict[str, list[dict[str, Any]]] = {}
    spell_traits = []
    for block in raw.get("spellcasting") or []:
        if isinstance(block, dict):
            place = str(block.get("displayAs", "trait"))
            if place == "trait":
                spell_traits.append(block)
            else:
                by_place.setdefault(place, []).append(_spellcasting(block))
    if "trait" in raw or spell_traits:
        traits = raw.get("trait") if isinstance(raw.get("trait"), list) else []
        ordered = sorted([*traits, *spell_traits], key=_trait_order)
        data["special_abilities"] = [
            a
            for t in ordered
            for a in ([_spellcasting(t)] if any(t is b for b in spell_traits) else _abilities([t]))
        ]
    for key, field in (
        ("action", "actions"), ("bonus", "bonus_actions"), ("reaction", "reactions"),
        ("legendary", "legendary_actions"), ("mythic", "mythic_actions"),
    ):  # fmt: skip
        items = _abilities(raw.get(key)) + by_place.get(key, [])
        if items:
            header = blocks(raw.get(f"{key}Header") or [])
            if key == "legendary" and not header and not _own_intro(raw.get(key)):
                header = [_legendary_intro(raw)]
            if header:
                items = [{"name": "", "desc": "\n\n".join(header)}, *items]
            data[field] = items
    if "legendary" in raw:
        data["legendary_actions_count"] = raw.get("legendaryActions", 3)
    group = raw.get("legendaryGroup")
    if isinstance(group, dict) and group.get("name"):
        data["legendary_group"] = group["name"]
    if raw.get("environment"):
        data["environment"] = raw["environment"]
    # text 5etools shows after the stat block: its footer, its variants (boxed), and a link to
    # its lair actions and regional effects (the legendary group's card)
    after = blocks(raw.get("footer") or []) + blocks(raw.get("variant") or [])
    if isinstance(group, dict) and group.get("name"):
        source = f"|{group['source']}" if group.get("source") else ""
        after.append(f"*Lair actions and regional effects:* {{@legroup {group['name']}{source}}}")
    if after:
        data["desc"] = after
    return data


def _own_intro(actions: Any) -> bool:
    """Whether a creature's legendary actions begin with their own intro: a nameless entry
    saying them (Tome of Horrors' Afanc: `{"name": "", "entries": ["The afanc can take three
    legendary actions…"]}`), which 5etools' intro would only repeat."""
    first = actions[0] if isinstance(actions, list) and actions else None
    return (
        isinstance(first, dict)
        and not str(first.get("name") or "").strip()
        and "legendary action" in json.dumps(first.get("entries") or []).lower()
    )


def _legendary_intro(raw: dict[str, Any]) -> str:
    """What 5etools' `Renderer.monster.getLegendaryActionIntro` says above a creature's
    legendary actions when it writes no `legendaryHeader`: how many it can take and when
    (a 2024 stat block's uses, with those in its lair)."""
    count = raw.get("legendaryActions", 3)
    who = _short_name(raw)
    if raw.get("legendaryActionsLair"):
        return (
            f"*Legendary Action Uses:* {count} ({raw['legendaryActionsLair']} in Lair). "
            f"Immediately after another creature's turn, {who} can expend a use to take one of "
            f"the following actions. {who[:1].upper()}{who[1:]} regains all expended uses at "
            "the start of each of its turns."
        )
    plural = "s" if count != 1 else ""
    return (
        f"{who[:1].upper()}{who[1:]} can take {count} legendary action{plural}, choosing from "
        "the options below. Only one legendary action can be used at a time and only at the end "
        f"of another creature's turn. {who[:1].upper()}{who[1:]} regains spent legendary "
        "actions at the start of its turn."
    )


def _short_name(raw: dict[str, Any]) -> str:
    """How 5etools' text calls a creature (`Renderer.monster.getShortName`): `the sphinx
    griffon`, its `shortName`, or a named creature's name as written."""
    name, short = str(raw.get("name", "")), raw.get("shortName")
    if raw.get("isNamedCreature"):
        return name if short is True or not isinstance(short, str) else short
    return "the " + (name if short is True or not isinstance(short, str) else short).lower()


# ---- spells ----------------------------------------------------------------------------------


def _casting_time(value: Any) -> str:
    parts = []
    for t in value if isinstance(value, list) else []:
        if not isinstance(t, dict):
            continue
        number, unit = t.get("number", 1), str(t.get("unit", ""))
        unit = CONDITIONS_TIME.get(unit, unit)
        shown = (
            f"{number} {unit}{'s' if number != 1 and unit in ('minute', 'hour', 'round') else ''}"
        )
        if t.get("condition"):
            shown += f", {plain_tags(str(t['condition']))}"
        parts.append(shown)
    return " or ".join(parts)


_SINGULAR_UNITS = {"feet": "foot", "inches": "inch", "yards": "yard", "miles": "mile"}


def _singular(unit: str, units: dict[str, Any] | None = None) -> str:
    """5etools' `Parser.getSingletonUnit`: `feet` → `foot`; a unit of the file's own
    `_meta.spellDistanceUnits` by its `singular`; any other without its trailing `s`."""
    if unit in _SINGULAR_UNITS:
        return _SINGULAR_UNITS[unit]
    own = (units or {}).get(unit)
    if isinstance(own, str) and own:
        return own
    return unit[:-1] if unit.endswith("s") else unit


_FEET_PER_UNIT = {"feet": 1, "inches": 1 / 12, "yards": 3, "miles": 5280}


def range_feet(value: Any, units: dict[str, Any] | None = None) -> float | None:
    """A point range's distance in feet (for the `range` filter): 5etools' units, or the
    file's own by their `feetPerUnit`; None for self, touch, areas and units of no length."""
    if not isinstance(value, dict) or value.get("type") != "point":
        return None
    distance = value.get("distance") or {}
    amount, unit = distance.get("amount"), str(distance.get("type", ""))
    per = (units or {}).get(unit, _FEET_PER_UNIT.get(unit))
    if isinstance(amount, bool) or not isinstance(amount, int | float):
        return None
    if isinstance(per, bool) or not isinstance(per, int | float):
        return None
    return float(amount * per)


# 5etools' range types of an area (`Parser.RNG_LINE`…): `Self (15-foot cone)`
_AREAS = frozenset({"line", "cube", "cone", "emanation", "radius", "sphere", "hemisphere",
                    "cylinder"})  # fmt: skip


def _range(value: Any, units: dict[str, Any] | None = None) -> tuple[str, dict[str, Any] | None]:
    """A spell's range as 5etools' `Parser.spRangeToFull` writes it (`60 feet`, `1 mile`,
    `Self (15-foot cone)`), units of the file's own named as its `_meta` names them."""
    if not isinstance(value, dict):
        return "", None
    kind = value.get("type")
    distance = value.get("distance") or {}
    dist_type, amount = str(distance.get("type", "")), distance.get("amount")
    if kind == "special":
        return "Special", None
    named = {"self": "Self", "touch": "Touch", "sight": "Sight", "unlimited": "Unlimited",
             "plane": "Unlimited on the same plane", "special": "Special"}  # fmt: skip
    if kind not in _AREAS and kind != "point":
        # no range type of 5etools' (Warlock's Exclusive Spells' `"type": "self"` with an
        # `area`, `{"type": "radius", "amount": 60}`): that area if it names one, else a point
        area = value.get("area") if isinstance(value.get("area"), dict) else {}
        if area.get("type") in _AREAS:
            kind, amount = area["type"], area.get("amount")
            dist_type = str(distance.get("type") or "feet")
        else:
            kind = "point"
    if kind == "point":
        if dist_type in named:
            return named[dist_type], None
        unit = _singular(dist_type, units) if amount == 1 else dist_type
        return f"{amount} {unit}", None
    area = {"type": kind, "size": amount}
    style = {"radius": " radius", "sphere": " radius", "hemisphere": "-radius hemisphere",
             "cylinder": "-radius"}.get(str(kind), f" {kind}")  # fmt: skip
    shown = f"Self ({amount}-{_singular(dist_type, units)}{style}"
    if kind == "cylinder" and distance.get("amountSecondary") is not None:
        secondary = _singular(str(distance.get("typeSecondary", dist_type)), units)
        shown += f", {distance['amountSecondary']}-{secondary}-high"
    return shown + (" cylinder)" if kind == "cylinder" else ")"), area


def _duration(value: Any) -> tuple[str, bool]:
    parts, concentration = [], False
    for d in value if isinstance(value, list) else []:
        if not isinstance(d, dict):
            continue
        kind = d.get("type")
        if kind == "instant":
            parts.append("Instantaneous")
        elif kind == "timed":
            inner = d.get("duration") or {}
            amount, unit = inner.get("amount", 1), inner.get("type", "")
            shown = f"{amount} {unit}{'s' if amount != 1 else ''}"
            if d.get("concentration"):
                concentration = True
                shown = f"Up to {shown}"
            parts.append(shown)
        elif kind == "permanent":
            ends = {"dispel": "dispelled", "trigger": "triggered", "discharge": "discharged"}
            words = [ends.get(e, e) for e in d.get("ends") or []]
            parts.append("Until " + " or ".join(words) if words else "Permanent")
        elif kind == "special":
            parts.append("Special")
    return " or ".join(parts), concentration


def _class_names(value: Any) -> list[dict[str, str]]:
    if not isinstance(value, dict):
        return []
    names = [c.get("name") for c in value.get("fromClassList") or [] if isinstance(c, dict)]
    names += [c.get("name") for c in value.get("fromClassListVariant") or [] if isinstance(c, dict)]
    return [_ref(str(n)) for n in dict.fromkeys(names) if n]


def spell(raw: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if "entries" in raw:
        data["desc"] = blocks(raw["entries"])
    if raw.get("entriesHigherLevel"):
        # 5etools shows these entries under their own name: "At Higher Levels" (2014), "Using
        # a Higher-Level Spell Slot" or "Cantrip Upgrade" (2024), none when there is none
        higher, heading = [], None
        for e in raw["entriesHigherLevel"]:
            higher += blocks(e.get("entries", []) if isinstance(e, dict) else e)
            if heading is None:
                named = e.get("name") if isinstance(e, dict) else None
                heading = plain_tags(named) if isinstance(named, str) else ""
        data["higher_level"] = higher
        data["higher_level_name"] = heading or ""
    if "level" in raw:
        data["level"] = raw["level"]
    if "school" in raw:
        school = SCHOOLS.get(str(raw["school"]), str(raw["school"]))
        data["school"] = {"index": slug(school), "name": school}
    if "time" in raw:
        data["casting_time"] = _casting_time(raw["time"])
    if "range" in raw:
        rng, area = _range(raw["range"])
        data["range"] = rng
        feet = range_feet(raw["range"])
        if feet is not None:
            data["range_feet"] = feet
        if area:
            data["area_of_effect"] = area
    if "components" in raw:
        comps = raw.get("components") or {}
        data["components"] = [k.upper() for k in ("v", "s", "m") if comps.get(k)]
        if comps.get("r"):
            data["components"].append("R")
        material = comps.get("m")
        if isinstance(material, dict):
            data["material"] = str(material.get("text", ""))
        elif isinstance(material, str):
            data["material"] = material
    if "duration" in raw:
        data["duration"], data["concentration"] = _duration(raw["duration"])
    if "meta" in raw or "time" in raw:
        data["ritual"] = bool((raw.get("meta") or {}).get("ritual"))
    classes = _class_names(raw.get("classes"))
    if classes:
        data["classes"] = classes
    subclasses = [
        _ref(str(s.get("subclass", {}).get("name", "")))
        for s in (raw.get("classes") or {}).get("fromSubclass") or []
        if isinstance(s, dict) and s.get("subclass")
    ]
    if subclasses:
        data["subclasses"] = subclasses
    damage = raw.get("damageInflict") or []
    if damage:
        data["damage"] = {"damage_type": _ref(_cap(str(damage[0])))}
        data["damage_types"] = [str(d) for d in damage]
    saves = raw.get("savingThrow") or []
    if saves:
        ability = str(saves[0])[:3].upper()
        data["dc"] = {"dc_type": {"index": ability.lower(), "name": ability}}
    attack = raw.get("spellAttack") or []
    if attack:
        data["attack_type"] = {"M": "melee", "R": "ranged"}.get(str(attack[0]), str(attack[0]))
    return data


# ---- items -----------------------------------------------------------------------------------


def is_magic(raw: dict[str, Any]) -> bool:
    """5etools' `Renderer.item.isMundane` is a `rarity` of "none" or "unknown": any other,
    an empty one too, is a magic item's; d5e reads an item without one as mundane unless it
    says it is magic (wondrous, attuned, charged; of no rarity, a ring, rod or wand)."""
    rarity = str(raw.get("rarity", "none")).lower()
    magic_type = "rarity" not in raw and strip_source(raw.get("type")) in _MAGIC_TYPES
    return (
        (rarity not in ("none", "unknown"))
        or magic_type
        or bool(raw.get("wondrous") or raw.get("reqAttune") or raw.get("charges"))
    )


_MAGIC_TYPES = frozenset({"RG", "RD", "WD"})  # ring, rod, wand
# rarities 5etools' type line leaves out (`Renderer.item.doRenderRarity`): the Griffon's
# Saddlebag's Pact Card of `"rarity": "varies"` read `Wondrous item, varies`
_HIDDEN_RARITIES = frozenset({"none", "unknown", "unknown (magic)", "varies"})


# 5etools' `Parser.DEFAULT_CURRENCY_CONVERSION_TABLE`: an item's `value` is in copper
_COINS = ({"coin": "cp", "mult": 1}, {"coin": "sp", "mult": 0.1},
          {"coin": "gp", "mult": 0.01, "isFallback": True})  # fmt: skip


def _whole(number: float) -> bool:
    return abs(number - round(number)) < 1e-9


def _cost(value: Any, table: Any = _COINS) -> dict[str, Any] | None:
    """An item's `value` as 5etools' `Parser._moneyToFull` shows it: in the largest coin of
    the conversion table (the default's, or the one of `_meta.currencyConversions` the item
    names) that makes it a whole number: 1500 → 15 gp, 25 → 2 sp 5 cp as 25 cp."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    coins = sorted(table, key=lambda c: -float(c["mult"]))
    chosen = coins[-1]
    if not value:
        chosen = next((c for c in coins if c.get("isFallback")), coins[0])
    elif len(coins) == 1 or (not _whole(value) and value < float(coins[0]["mult"])):
        chosen = coins[0]
    else:
        chosen = next((c for c in reversed(coins) if _whole(value * float(c["mult"]))), chosen)
    amount = value * float(chosen["mult"])
    quantity: int | float = round(amount) if _whole(amount) else round(amount, 6)
    return {"quantity": quantity, "unit": str(chosen["coin"])}


def item(raw: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {"desc": blocks(raw.get("entries") or [])}
    data["desc"] += blocks(raw.get("additionalEntries") or [])
    code = strip_source(raw.get("type", ""))
    category = "Wondrous Items" if raw.get("wondrous") else ITEM_CATEGORY.get(code, "")
    if raw.get("staff"):
        category = "Staff"
    if category:
        data["equipment_category"] = {"index": slug(category), "name": category}
    if code:
        data["item_type"] = ITEM_TYPES.get(code, code)
    rarity = str(raw.get("rarity", "")).strip()
    if rarity and rarity.lower() not in _HIDDEN_RARITIES:
        data["rarity"] = {"name": _cap(rarity)}
    base = raw.get("baseItem")
    if isinstance(base, str) and base.strip() and (raw.get("weaponCategory") or code):
        # 5etools' type line names it: `Weapon (whip), uncommon` (Vault of Magic), a link
        uid = base if base.startswith("{@") else f"{{@item {base}}}"
        data["base_item"] = {"name": uid}
    if raw.get("poison"):  # 5etools' type line: `Adventuring Gear, poison (ingested or inhaled)`
        kinds = [str(k) for k in raw.get("poisonTypes") or [] if k]
        said = ", ".join(kinds[:-1]) + (" or " if len(kinds) > 1 else "") + (kinds or [""])[-1]
        data["more_types"] = [f"poison ({said})" if said else "poison"]
    contents = []
    for part in raw.get("packContents") or []:  # an equipment pack's: `"rope, hempen|phb"`
        if isinstance(part, str):
            contents.append({"item": {"name": f"{{@item {part}}}"}, "quantity": 1})
        elif isinstance(part, dict) and isinstance(part.get("item"), str):
            quantity = part.get("quantity", 1)
            contents.append({"item": {"name": f"{{@item {part['item']}}}"}, "quantity": quantity})
        elif isinstance(part, dict) and part.get("special"):
            contents.append({"item": {"name": plain_tags(str(part["special"]))}, "quantity": 1})
    if contents:
        data["contents"] = contents
    attune = raw.get("reqAttune")
    if attune:
        data["attunement"] = True
        if isinstance(attune, str):
            data["attunement_note"] = plain_tags(attune)
            by = re.match(r"by an? (.+)$", data["attunement_note"].strip(), re.IGNORECASE)
            if by:  # d5e's card: "(requires attunement by a wizard)"
                data["limited-to"] = by[1]
    if raw.get("weaponCategory"):
        data["weapon_category"] = _cap(str(raw["weaponCategory"]))
        data["weapon_range"] = "Ranged" if code in ("R", "A", "AF") else "Melee"
        data["category_range"] = f"{data['weapon_category']} {data['weapon_range']}"
    if raw.get("dmg1"):
        kind = DAMAGE.get(str(raw.get("dmgType")), str(raw.get("dmgType", "")))
        data["damage"] = {"damage_dice": raw["dmg1"], "damage_type": _ref(_cap(kind))}
        if raw.get("dmg2"):
            data["two_handed_damage"] = {
                "damage_dice": raw["dmg2"],
                "damage_type": _ref(_cap(kind)),
            }
    if isinstance(raw.get("range"), str) and "/" in raw["range"]:
        normal, long = raw["range"].split("/", 1)
        data["range"] = {
            "normal": small_int(normal) if small_int(normal) is not None else normal,
            "long": small_int(long) if small_int(long) is not None else long,
        }
    codes = [p.get("uid") if isinstance(p, dict) else p for p in raw.get("property") or []]
    props = [PROPERTIES.get(strip_source(p), strip_source(p)) for p in codes if isinstance(p, str)]
    if props:
        data["properties"] = [_ref(p) for p in props]
    if raw.get("mastery"):
        found = [m.get("uid") if isinstance(m, dict) else m for m in raw["mastery"]]
        data["mastery"] = [plain_tags(strip_source(m)) for m in found if isinstance(m, str)]
    if code in ("LA", "MA", "HA", "S") and raw.get("ac") is not None:
        data["armor_class"] = {
            "base": raw["ac"],
            "dex_bonus": code in ("LA", "MA"),
            **({"max_bonus": 2} if code == "MA" else {}),
        }
        data["armor_category"] = {"LA": "Light", "MA": "Medium", "HA": "Heavy", "S": "Shield"}[code]
    if raw.get("strength"):
        strength = small_int(str(raw["strength"]))
        data["str_minimum"] = raw["strength"] if strength is None else strength
    if raw.get("stealth"):
        data["stealth_disadvantage"] = True
    cost = _cost(raw.get("value"))
    if cost:
        data["cost"] = cost
    if raw.get("weight") is not None:
        data["weight"] = raw["weight"]
    if raw.get("charges") is not None:
        data["charges"] = raw["charges"]
    spells = raw.get("attachedSpells")
    if isinstance(spells, list):
        data["attached_spells"] = [plain_tags(str(s)).split("|")[0] for s in spells]
    elif isinstance(spells, dict):
        found = [
            s
            for v in spells.values()
            for s in (v.values() if isinstance(v, dict) else v)
            for s in (s if isinstance(s, list) else [s])
        ]
        data["attached_spells"] = [plain_tags(str(s)).split("|")[0] for s in found]
    for key in (
        "bonusWeapon",
        "bonusAc",
        "bonusSpellAttack",
        "bonusSavingThrow",
        "bonusSpellSaveDc",
    ):
        if raw.get(key):
            data[re.sub(r"(?<!^)([A-Z])", r"_\1", key).lower()] = raw[key]
    if raw.get("items"):  # itemGroup
        data["items"] = [plain_tags(str(i)).split("|")[0] for i in raw["items"]]
    return data


# ---- everything else -------------------------------------------------------------------------


def _generic(raw: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    body = raw.get("entries")
    if body is None and "entry" in raw:
        body = raw["entry"]
    parts = (("lairActions", "Lair Actions"), ("regionalEffects", "Regional Effects"),
             ("mythicEncounter", "Mythic Encounter"))  # fmt: skip
    if body is None and any(raw.get(key) for key, _ in parts):
        body = [
            {"type": "entries", "name": title, "entries": raw[key]}
            for key, title in parts
            if raw.get(key)
        ]
    if body is None and raw.get("rows") is not None:  # a table, its intro and outro around it
        table = {k: v for k, v in raw.items() if k not in ("name", "intro", "outro")}
        if normalize(str(table.get("caption", ""))) == normalize(str(raw.get("name", ""))):
            table.pop("caption", None)  # the card's name again (100 Quirks and Peculiarities)
        body = [*(raw.get("intro") or []), {"type": "table", **table}, *(raw.get("outro") or [])]
    data["desc"] = blocks(body or [])
    return data


def item_property(raw: dict[str, Any]) -> dict[str, Any]:
    """An item property (or type) named only by its first entry (Modnar's *Oversized*:
    `{"abbreviation": "O", "entries": [{"name": "Oversized", "entries": […]}]}`): that entry is
    the card's name, so its text stands without the name run in again."""
    body = raw.get("entries")
    first = body[0] if isinstance(body, list) and body else None
    if (
        isinstance(first, dict)
        and first.get("type", "entries") == "entries"
        and isinstance(first.get("name"), str)
        and normalize(first["name"]) == normalize(str(raw.get("name", "")))
    ):
        raw = {**raw, "entries": [*(first.get("entries") or []), *body[1:]]}
    return _generic(raw)


def feature(raw: dict[str, Any]) -> dict[str, Any]:
    data = _generic(raw)
    if raw.get("className"):
        data["class"] = _ref(str(raw["className"]))
    if raw.get("subclassShortName"):
        data["subclass"] = _ref(str(raw["subclassShortName"]))
    if raw.get("shortName"):  # a subclass's: what tags call it ("Soot" for "Path of Soot")
        data["short_name"] = str(raw["shortName"])
    if raw.get("level") is not None:
        data["level"] = raw["level"]
    return data


def deity(raw: dict[str, Any]) -> dict[str, Any]:
    """A deity: its pantheon tells it from a same-named one (`{@deity Name|Pantheon}`)."""
    data = _generic(raw)
    if raw.get("pantheon"):
        data["pantheon"] = str(raw["pantheon"])
    return data


def card(raw: dict[str, Any]) -> dict[str, Any]:
    """A card: its deck tells it from a same-named one (`{@card Name|Deck}`)."""
    data = _generic(raw)
    if raw.get("set"):
        data["deck"] = _ref(str(raw["set"]))
    return data


def character_class(raw: dict[str, Any]) -> dict[str, Any]:
    data = _generic(raw)
    hd = raw.get("hd")
    if isinstance(hd, dict):
        data["hit_die"] = hd.get("faces")
    saves = raw.get("proficiency") or []
    data["saving_throws"] = [{"name": str(s).upper()} for s in saves]
    features = []
    for f in raw.get("classFeatures") or []:
        ref = f.get("classFeature") if isinstance(f, dict) else f
        parts = str(ref).split("|")
        features.append(
            {
                "name": parts[0],
                "level": int(parts[3]) if len(parts) > 3 and parts[3].isdigit() else None,
            }
        )
    if features:
        data["features"] = features
    return data


def race(raw: dict[str, Any]) -> dict[str, Any]:
    data = _generic(raw)
    if "size" in raw:
        data["size"] = _size(raw["size"])
    speed = raw.get("speed")
    if isinstance(speed, int):
        data["speed"] = speed
    elif isinstance(speed, dict) and isinstance(speed.get("walk"), int):
        data["speed"] = speed["walk"]
    bonuses = []
    groups = raw.get("ability") or []
    for group in groups if isinstance(groups, list) else [groups]:  # older files: one dict
        for ability, bonus in (group if isinstance(group, dict) else {}).items():
            if ability in ABILITY_NAMES and isinstance(bonus, int):
                bonuses.append(
                    {"ability_score": {"index": ability, "name": ability.upper()}, "bonus": bonus}
                )
    if bonuses:
        data["ability_bonuses"] = bonuses
    if raw.get("raceName"):
        data["race"] = _ref(str(raw["raceName"]))
    return data


# 5etools' names for its own codes (its `Parser`), and the `_meta` keys a file declares more
# in; `codes` below are those a file declared, by field.
OPTIONAL_FEATURE_TYPES = {
    "AI": "Artificer Infusion", "ED": "Elemental Discipline", "EI": "Eldritch Invocation",
    "MM": "Metamagic", "MV": "Maneuver", "MV:B": "Maneuver, Battle Master",
    "MV:C2-UA": "Maneuver, Cavalier V2 (UA)", "AS:V1-UA": "Arcane Shot, V1 (UA)",
    "AS:V2-UA": "Arcane Shot, V2 (UA)", "AS": "Arcane Shot", "OTH": "Other",
    "FS:F": "Fighting Style; Fighter", "FS:B": "Fighting Style; Bard",
    "FS:P": "Fighting Style; Paladin", "FS:R": "Fighting Style; Ranger", "PB": "Pact Boon",
    "OR": "Onomancy Resonant", "RN": "Rune Knight Rune", "AF": "Alchemical Formula",
    "TT": "Traveler's Trick", "RP": "Renown Perk",
}  # fmt: skip
FEAT_CATEGORIES = {
    "D": "Dragonmark", "DG": "Dark Gift", "G": "General", "O": "Origin", "FS": "Fighting Style",
    "FS:P": "Fighting Style Replacement (Paladin)", "FS:R": "Fighting Style Replacement (Ranger)",
    "EB": "Epic Boon",
}  # fmt: skip
# `edition` (`_meta`'s, an entry's): "classic" content is for the 2014 rules, "one" for 2024
EDITIONS = {"classic": "2014", "one": "2024"}
PSIONIC_TYPES = {"T": "Talent", "D": "Discipline"}
CHAR_OPTION_TYPES = {
    "SG": "Supernatural Gift", "OF": "Optional Feature", "DG": "Dark Gift",
    "RF:B": "Replacement Feature: Background", "CS": "Character Secret",
}  # fmt: skip
META_CODES = {  # `_meta` key → (the field it names values of, by collection)
    "spellSchools": ("spells", "school"),
    "optionalFeatureTypes": ("optional-features", "featureType"),
    "featCategories": ("feats", "category"),
    "psionicTypes": ("psionics", "type"),
    "vehicleUpgradeTypes": ("vehicle-upgrades", "upgradeType"),
    "charOption": ("character-options", "optionType"),
}
TRAP_HAZARD_TYPES = {
    "MECH": "Mechanical Trap", "MAG": "Magical Trap", "SMPL": "Simple Trap",
    "CMPX": "Complex Trap", "HAZ": "Hazard", "WTH": "Weather", "ENV": "Environmental Hazard",
    "WLD": "Wilderness Hazard", "GEN": "Generic", "EST": "Eldritch Storm", "TRP": "Trap",
    "HAUNT": "Haunted Trap",
}  # fmt: skip
VEHICLE_TYPES = {
    "SHIP": "Ship", "SPELLJAMMER": "Spelljammer Ship", "ELEMENTAL_AIRSHIP": "Elemental Airship",
    "INFWAR": "Infernal War Machine", "CREATURE": "Creature", "OBJECT": "Object",
    "SHP:H": "Ship Upgrade, Hull", "SHP:M": "Ship Upgrade, Movement",
    "SHP:W": "Ship Upgrade, Weapon", "SHP:F": "Ship Upgrade, Figurehead",
    "SHP:O": "Ship Upgrade, Miscellaneous", "IWM:W": "Infernal War Machine Variant, Weapon",
    "IWM:A": "Infernal War Machine Upgrade, Armor", "IWM:G": "Infernal War Machine Upgrade, Gadget",
}  # fmt: skip
OBJECT_TYPES = {"SW": "Siege Weapon", "GEN": "Generic"}
RULE_TYPES = {  # 5etools' `Parser.RULE_TYPE_TO_FULL`
    "C": "Core", "O": "Optional", "P": "Prerelease", "V": "Variant", "VO": "Variant Optional",
    "VV": "Variant Variant", "U": "Unknown",
}  # fmt: skip
_OFFICIAL_CODES = {
    ("traps", "trapHazType"): TRAP_HAZARD_TYPES,
    ("hazards", "trapHazType"): TRAP_HAZARD_TYPES,
    ("vehicles", "vehicleType"): VEHICLE_TYPES,
    ("vehicle-upgrades", "upgradeType"): VEHICLE_TYPES,
    ("objects", "objectType"): OBJECT_TYPES,
    ("variant-rules", "ruleType"): RULE_TYPES,
    ("optional-features", "featureType"): OPTIONAL_FEATURE_TYPES,
    ("feats", "category"): FEAT_CATEGORIES,
    ("psionics", "type"): PSIONIC_TYPES,
    ("character-options", "optionType"): CHAR_OPTION_TYPES,
    ("recipes", "diet"): {"V": "Vegan", "C": "Vegetarian", "X": "Omni"},  # its recipes' filter
}


def meta_codes(meta: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The codes a file's `_meta` names (`"spellSchools": {"CH": {"full": "Chronurgy"}}`,
    `"optionalFeatureTypes": {"EMB": "Ember Rite"}`…), by the field they are values of; its
    spell distance units (`distanceUnit`: unit → its singular) and currency conversion tables
    (`currencyConversion`: id → its coins)."""
    out: dict[str, dict[str, Any]] = {}
    for key, (_, field) in META_CODES.items():
        declared = meta.get(key)
        for code, said in (declared if isinstance(declared, dict) else {}).items():
            full = said.get("full") if isinstance(said, dict) else said
            if isinstance(full, str) and full.strip():
                out.setdefault(field, {})[str(code)] = full.strip()
    units = meta.get("spellDistanceUnits")
    for unit, said in (units if isinstance(units, dict) else {}).items():
        singular = said.get("singular") if isinstance(said, dict) else None
        shown = singular if isinstance(singular, str) and singular else _singular(str(unit))
        out.setdefault("distanceUnit", {})[str(unit)] = shown
        per = said.get("feetPerUnit") if isinstance(said, dict) else None
        if isinstance(per, int | float) and not isinstance(per, bool) and per > 0:
            out.setdefault("distanceFeet", {})[str(unit)] = per
    tables = meta.get("currencyConversions")
    for ident, coins in (tables if isinstance(tables, dict) else {}).items():
        if isinstance(coins, list) and coins and all(_is_coin(c) for c in coins):
            out.setdefault("currencyConversion", {})[str(ident)] = coins
    return out


def _is_coin(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and isinstance(value.get("coin"), str)
        and isinstance(value.get("mult"), int | float)
        and value["mult"] > 0
    )


def code_name(collection: str, field: str, code: Any, codes: dict[str, dict[str, Any]]) -> str:
    """A code's full name: the file's own, else 5etools'."""
    shown = str(code)
    return codes.get(field, {}).get(shown) or _OFFICIAL_CODES.get((collection, field), {}).get(
        shown, shown
    )


def apply_codes(collection: str, data: dict[str, Any], codes: dict[str, dict[str, Any]]) -> None:
    """A record's fields that show a code the file's `_meta` names (a spell school of its own),
    by that name; a spell's range in the file's own units, an item's value in the file's own
    coins (its `currencyConversion`); the codes kept in `data` for the card (`5etools_codes`)."""
    if not codes:
        return
    data["5etools_codes"] = codes
    raw = data.get(RAW)
    if not isinstance(raw, dict):
        return
    if collection == "spells" and "school" in raw:
        school = code_name(collection, "school", raw["school"], codes)
        if school != str(raw["school"]):
            data["school"] = {"index": slug(school), "name": school}
    more = data.get("more")
    if (
        collection == "spells"
        and isinstance(raw.get("subschools"), list)
        and isinstance(more, dict)
    ):
        # the file's own school codes name its subschools too (Psion's Primer's `AuAB`)
        names = [code_name(collection, "school", s, codes) for s in raw["subschools"]]
        more["Subschools"] = ", ".join(names)
    if collection == "spells" and "range" in raw and codes.get("distanceUnit"):
        data["range"] = _range(raw["range"], codes["distanceUnit"])[0]
        feet = range_feet(raw["range"], codes.get("distanceFeet"))
        if feet is not None:
            data["range_feet"] = feet
    table = codes.get("currencyConversion", {}).get(str(raw.get("currencyConversion")))
    if table and collection in ("magic-items", "equipment"):
        cost = _cost(raw.get("value"), table)
        if cost:
            data["cost"] = cost


_RECIPE_PARTS = (("ingredients", "Ingredients"), ("equipment", "Equipment"),
                 ("instructions", "Instructions"), ("noteCook", "Cook's Notes"))  # fmt: skip
_CROCHET_PARTS = (("yarn", "Yarn"), ("hook", "Hook"), ("notions", "Notions"),
                  ("gauge", "Gauge"), ("abbreviations", "Abbreviations"), ("stitches", "Stitches"),
                  ("notes", "Notes"), ("instructions", "Instructions"))  # fmt: skip


def crochet(raw: dict[str, Any]) -> dict[str, Any]:
    """A crochet pattern (5etools' homecrafts): its entries, then each part under its
    heading."""
    data = _generic(raw)
    parts = []
    for key, title in _CROCHET_PARTS:
        if raw.get(key):
            parts += [f"**{title}**", *blocks(raw[key])]
    data["desc"] = list(data["desc"]) + parts
    return data


def _listed_groups(items: Any) -> list[str]:
    """A recipe's ingredients (or equipment) as lists: a named group of them (Düngeonmeister's
    `For the Spiced Berry Coulis:`) its name in bold above its own list, as 5etools heads
    them; not a heading inside a bullet."""
    out: list[str] = []
    loose: list[str] = []
    for item in items if isinstance(items, list) else [items]:
        if (
            isinstance(item, dict)
            and item.get("type") in ("entries", "section")
            and item.get("name")
        ):
            out += [_bulleted(loose)] if loose else []
            loose = []
            out += [f"**{str(item['name']).strip()}**", *_listed_groups(item.get("entries") or [])]
        else:
            loose += blocks(item)
    return out + ([_bulleted(loose)] if loose else [])


def _bulleted(blocks_: list[str]) -> str:
    """Blocks as one list's items; a list among them (Lyra's Dad's Chilli's `Suggested Bean
    Types` in its ingredients) nested under the item before it, not `- - …` on one line."""
    return "\n".join(
        "\n".join("  " + line for line in b.split("\n")) if b.startswith("- ") else f"- {b}"
        for b in blocks_
    )


def recipe(raw: dict[str, Any]) -> dict[str, Any]:
    """A recipe's text as 5etools lays it out: its entries, then ingredients (amounts filled
    in), equipment, instructions and the cook's notes, each under its heading."""
    data = _generic(raw)
    parts = []
    for key, title in _RECIPE_PARTS:
        if raw.get(key):
            body = _listed_groups(raw[key]) if key in ("ingredients", "equipment") else None
            parts += [f"**{title}**", *(body if body is not None else blocks(raw[key]))]
    data["desc"] = list(data["desc"]) + parts
    return data


CONVERTERS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "spell": spell,
    "monster": monster,
    "item": item,
    "baseitem": item,
    "magicvariant": item,
    "variant": item,
    "itemGroup": item,
    "classFeature": feature,
    "subclassFeature": feature,
    "optionalfeature": feature,
    "class": character_class,
    "subclass": feature,
    "deity": deity,
    "card": card,
    "race": race,
    "subrace": race,
    "recipe": recipe,
    "crochetPattern": crochet,
    "itemProperty": item_property,
    "itemType": item_property,
}


# The 5etools fields the converters above turn into d5e fields, per type; what else the object
# holds is listed on the card (`more`), bookkeeping aside.
CONSUMED = {
    "monster": {
        "size", "type", "alignment", "alignmentPrefix", "ac", "hp", "speed", "str", "dex",
        "con", "int", "wis", "cha", "save", "skill", "senses", "passive", "immune", "resist",
        "vulnerable", "conditionImmune", "languages", "cr", "spellcasting", "trait", "action",
        "bonus", "reaction", "legendary", "mythic", "actionHeader", "bonusHeader",
        "reactionHeader", "legendaryHeader", "mythicHeader", "legendaryActions",
        "legendaryActionsLair",
        "legendaryGroup", "environment", "xp", "footer", "variant", "initiative",
    },
    "spell": {
        "level", "school", "time", "range", "components", "duration", "meta", "classes",
        "damageInflict", "savingThrow", "spellAttack", "entriesHigherLevel",
    },
    "item": {
        "type", "rarity", "wondrous", "reqAttune", "weaponCategory", "dmg1", "dmg2", "dmgType",
        "range", "property", "mastery", "ac", "strength", "stealth", "value", "weight",
        "charges", "attachedSpells", "bonusWeapon", "bonusAc", "bonusSpellAttack",
        "bonusSavingThrow", "bonusSpellSaveDc", "items", "additionalEntries", "weapon",
        "armor", "staff", "baseItem", "inherits", "requires", "excludes", "poison",
        "poisonTypes",
    },
}  # fmt: skip
BOOKKEEPING = frozenset(
    {
        "name", "source", "page", "entries", "srd", "srd52", "basicRules", "basicRules2024",
        "otherSources", "additionalSources", "reprintedAs", "hasFluff", "hasFluffImages",
        "fluff", "_copy", "alias", "hasToken", "tokenUrl", "tokenURL", "tokenHref",
        "tokenCredit", "tokenCustom", "isReprinted", "_versions",
        "soundClip", "altArt", "token", "foundryImg", "legacy", "freeRules2024", "_isCopy",
        "reprintAlias", "sword", "axe", "bow", "crossbow", "spear", "hammer", "mace",
        "dagger", "polearm", "net", "firearm", "age", "tier", "lootTables", "packContents",
    }
)  # fmt: skip
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")
# what 5etools' filters read, not its pages: `damageTags`, `damageTagsSpell`, `miscTags`,
# `conditionInflictLegendary`, `savingThrowForcedSpell`, and a creature's `isNpc`,
# `isNamedCreature` and `familiar` (seen on Stabbath's NPCs: `Damage tags spell: Y`)
_FILTER_HINT = re.compile(
    r"(Tags|Inflict)(Spell|Legendary|Mythic)?$|^savingThrowForced|"
    r"^(isNpc|isNamedCreature|familiar|dragonAge|curse)$"
)  # an item's `curse` (the Griffon's Saddlebag: `Curse: yes`; its text says the curse)


def is_vtt(key: str) -> bool:
    """A key holding a virtual tabletop's data, not the entry's text (Foundry's
    `foundryAdvancement`, `foundryImg`, `foundrySystem`…)."""
    return key.startswith("foundry")


def _shown(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str | int | float):
        return str(value)
    if isinstance(value, list):
        return ", ".join(s for s in map(_shown, value) if s)
    if isinstance(value, dict):
        if isinstance(value.get("name"), str):
            return str(value["name"])
        if value.get("type") in ("entries", "list", "table", "inset", "quote"):
            return " ".join(blocks(value)).replace("\n", " ")
        return ", ".join(
            f"{_CAMEL.sub(' ', k).lower()} {_shown(v)}".strip() for k, v in value.items()
        )
    return ""


def _linked(tag: str, value: Any) -> Any:
    """A uid (`"longsword|phb"`, or `{"item": uid, "quantity": 2}`) as a tag d5e links."""
    if isinstance(value, str):
        return f"{{@{tag} {value}}}"
    if isinstance(value, dict) and isinstance(value.get(tag), str):
        count = value.get("quantity")
        return f"{{@{tag} {value[tag]}}}" + (f" ({count})" if count and count != 1 else "")
    return value


def _other_bonuses(value: Any) -> list[str]:
    """`save`/`skill` parts with no number of their own, as 5etools' `getSkillsString` words
    them: `other` (`oneOf`: `plus one of the following: Arcana +7 or History +7`), then
    `special` as written."""
    if not isinstance(value, dict):
        return []
    parts = []
    for other in value.get("other") or []:
        if isinstance(other, dict) and isinstance(other.get("oneOf"), dict):
            skills = [f"{_skill_name(k)} {v}" for k, v in sorted(other["oneOf"].items())]
            either = (
                ", ".join(skills[:-1]) + " or " + skills[-1] if len(skills) > 1 else "".join(skills)
            )
            parts.append(f"plus one of the following: {either}")
    if value.get("special"):  # its tags as 5etools shows them: `{@skill Sava|KG} {@skillCheck
        # sava 5}` → `Sava +5` (Kraken's Gamble's Atalia; was `Sava sava 5`)
        parts.append(tag_words(str(value["special"])))
    return parts


def _scaling(value: Any) -> Any:
    """A cantrip's `scalingLevelDice` (`{"label": …, "scaling": {"1": "1d8", "5": …}}`, or a
    list of them) as a line: `fire damage: 1d8 (level 1), 2d8 (level 5)…`."""
    out = []
    for one in value if isinstance(value, list) else [value]:
        if not isinstance(one, dict) or not isinstance(one.get("scaling"), dict):
            return value
        steps = ", ".join(
            f"{str(dice).replace('{{spellcasting_mod}}', 'your spellcasting modifier')} "
            f"(level {level})"
            for level, dice in one["scaling"].items()
        )
        out.append(f"{one.get('label', 'damage')}: {steps}")
    return "; ".join(out)


def _initiative(raw: dict[str, Any]) -> str:
    """A creature's initiative as 5etools' 2024 stat block shows it, `+8 (18)`: its modifier
    (its own number, or the Dexterity modifier plus the proficiency bonus times its
    `proficiency`) and its passive initiative (10 + the modifier, ±5 with advantage or
    disadvantage); "" when it cannot be worked out."""
    value = raw.get("initiative")
    mode = value.get("advantageMode") if isinstance(value, dict) else None
    if isinstance(value, int) and not isinstance(value, bool):
        mod = value
    elif isinstance(value, dict) and isinstance(value.get("initiative"), int):
        mod = value["initiative"]
    elif isinstance(value, dict):
        dex = raw.get("dex")
        cr, _ = cr_value(raw.get("cr"))
        if not isinstance(dex, int) or cr is None:
            return ""
        bonus = 2 + max(0, int(-(-cr // 1)) - 1) // 4
        mod = (dex - 10) // 2 + bonus * int(value.get("proficiency") or 0)
    else:
        return ""
    passive = 10 + mod + {"adv": 5, "dis": -5}.get(str(mode), 0)
    return f"{mod:+d} ({passive})"


_SUMMONED = (
    "summonedByClass", "summonedScaleByPlayerLevel", "summonedBySpell", "summonedBySpellLevel",
)  # fmt: skip


def _summoned_by(raw: dict[str, Any]) -> str:
    """What a summon's `summonedBy…` fields tell a reader: 5etools' stat block scales it by its
    summoner's class level (`Class Level`, or `Level`) or the spell's level (`Spell Level`)."""
    spell, level = raw.get("summonedBySpell"), raw.get("summonedBySpellLevel")
    if isinstance(spell, str) and spell:
        cast = f" (cast at level {level} or higher)" if isinstance(level, int) else ""
        return f"{{@spell {spell}}}{cast}"
    if isinstance(level, int):
        return f"a spell cast at level {level} or higher"
    clazz = raw.get("summonedByClass")
    if isinstance(clazz, str) and clazz:
        return f"{{@class {clazz}}} (scales with the summoner's level in that class)"
    return "scales with the summoner's level" if raw.get("summonedScaleByPlayerLevel") else ""


_SPELL_SOURCES = {
    "races": ("race", "Races"), "backgrounds": ("background", "Backgrounds"),
    "feats": ("feat", "Feats"), "optionalfeatures": ("optfeature", "Other options/features"),
}  # fmt: skip


def _subclasses(value: Any) -> str:
    """A spell's `classes.fromSubclass` as 5etools' spell page lists them: `Cleric (Arcana),
    Fighter (Eldritch Knight)`, each a link to the class (a `{@class}` naming the subclass)."""
    out = []
    for one in (value.get("fromSubclass") if isinstance(value, dict) else None) or []:
        clazz = one.get("class") if isinstance(one, dict) else None
        sub = one.get("subclass") if isinstance(one, dict) else None
        if not isinstance(clazz, dict) or not isinstance(sub, dict) or not clazz.get("name"):
            continue
        short = str(sub.get("shortName") or sub.get("name") or "")
        shown = f"{clazz['name']} ({short})" if short else str(clazz["name"])
        out.append(
            f"{{@class {clazz['name']}|{clazz.get('source', '')}|{shown}|{short}|"
            f"{sub.get('source', '')}}}"
        )
    return ", ".join(dict.fromkeys(out))


# where else 5etools says an entry is printed (`Renderer.utils.getSourceAndPageTrHtml`)
ALSO_FOUND = {"otherSources": "Also found in", "additionalSources": "Additional information from"}


def also_found(raw: dict[str, Any]) -> dict[str, str]:
    """An entry's `otherSources` and `additionalSources` (Illyria's reprinted spells) as
    5etools' footer says them: `Also found in: XGE, page 150; TT2`."""
    out = {}
    for key, label in ALSO_FOUND.items():
        value = raw.get(key)
        said = [
            f"{s['source']}, page {s['page']}" if s.get("page") else str(s["source"])
            for s in value if isinstance(s, dict) and isinstance(s.get("source"), str)
        ] if isinstance(value, list) else []  # fmt: skip
        if said:
            out[label] = "; ".join(said)
    return out


def more(kind: str, raw: dict[str, Any]) -> dict[str, str]:
    """The fields of `raw` no d5e field holds, as card lines (label → text)."""
    base = {"baseitem": "item", "magicvariant": "item", "variant": "item", "itemGroup": "item"}
    consumed = CONSUMED.get(base.get(kind, kind), set())
    out = {}
    for key, value in raw.items():
        if key == "classes" and kind == "spell" and _subclasses(value):
            out["Subclasses"] = _subclasses(value)  # 5etools' spell page, after the classes
            continue
        if key in _SPELL_SOURCES and kind == "spell" and isinstance(value, list):
            # who else grants it, as 5etools lists them: links, under 5etools' labels
            tag, label = _SPELL_SOURCES[key]
            named = [v for v in value if isinstance(v, dict) and v.get("name")]
            if named:
                out[label] = ", ".join(
                    f"{{@{tag} {v['name']}|{v.get('source', '')}}}" for v in named
                )
                continue
        if key == "reqAttune" and isinstance(value, str) and not re.match(r"by an? ", value):
            out["Attunement"] = plain_tags(value)  # not "by a …": the card has no place for it
            continue
        if key == "cr" and kind == "monster" and cr_value(value)[0] is None:
            # not a number d5e can file (Conflux's Zombies' minion `"M5"`, `"Unknown"`): the
            # card says it as written, as 5etools does, in its place (`challenge_rating_text`)
            continue
        if key in consumed or key in BOOKKEEPING or _FILTER_HINT.search(key) or is_vtt(key):
            continue
        if key == "pbNote" and kind == "monster":  # a summon's `equals your bonus`
            out["Proficiency Bonus"] = plain_tags(str(value))  # as 5etools' `getPbPart`
            continue
        if key in ("shortName", "group") and kind == "monster":
            # what its text calls it ("the priest"): `_copy` variables read it; the bestiary
            # list's grouping ("Beholders"), on no 5etools stat block
            continue
        if key in _SUMMONED and kind == "monster":
            if _summoned_by(raw):
                out["Summoned by"] = _summoned_by(raw)
            continue
        if key in ("gear", "attachedItems") and kind == "monster" and isinstance(value, list):
            continue  # 5etools' `getGearPart`: the card's Gear line (`gear`, or else these)
        if key == "ammoType" and isinstance(value, str):  # `arrow|phb`: a link to the item
            key, value = "ammunition", _linked("item", value)
        if key == "scfType" and kind in ("item", "baseitem"):  # KibblesTasty's Occult Fetish
            key, value = "spellcasting focus", f"{value} focus"
        if key == "focus" and kind in ("item", "baseitem") and isinstance(value, list):
            # the classes that can use it as a focus (`Occultist|KT:O`): links to them
            key, value = "focus for", [_linked("class", v) for v in value if isinstance(v, str)]
        if key in _IMMUNITY_LABELS and kind != "monster":  # an item's (All the Weapons' Corona)
            key = _IMMUNITY_LABELS[key]
        if key == "modifySpeed" and isinstance(value, dict) and _speed_change(value):
            key, value = "speed", _speed_change(value)  # it read `Modify speed: bonus * 10`
        if key in ("gear", "attachedItems", "attachedSpells") and isinstance(value, list):
            tag = "spell" if key == "attachedSpells" else "item"
            value = [_linked(tag, v) for v in value]  # uids as links: `longsword|phb`
        elif key == "scalingLevelDice":
            value = _scaling(value)
        elif key == "edition":
            value = EDITIONS.get(str(value), value)
        shown = _shown(value)
        if shown:
            out[_CAMEL.sub(" ", key).replace("_", " ").capitalize()] = shown
    return out | also_found(raw)


_IMMUNITY_LABELS = {
    "immune": "damage immunities", "resist": "damage resistances",
    "vulnerable": "damage vulnerabilities", "conditionImmune": "condition immunities",
}  # fmt: skip
_SPEED_WORDS = {"*": "every speed", "walk": "walking speed"}


def _speed_change(value: dict[str, Any]) -> str:
    """An item's `modifySpeed` in words: `{"bonus": {"*": 10}}` → `+10 ft. to every speed`,
    `{"equal": {"fly": "walk"}}` → `fly speed equal to walking speed`, `{"static": {"fly":
    60}}` → `fly 60 ft.`, `{"multiply": {"walk": 2}}` → `walking speed ×2`."""

    def mode(m: Any) -> str:
        return _SPEED_WORDS.get(str(m), f"{m} speed")

    said = []
    for how, modes in value.items():
        for m, n in modes.items() if isinstance(modes, dict) else ():
            if how == "bonus":
                said.append(f"{'+' if isinstance(n, int) and n >= 0 else ''}{n} ft. to {mode(m)}")
            elif how == "equal":
                said.append(f"{mode(m)} equal to {mode(n)}")
            elif how == "static":
                said.append(f"{m} {n} ft.")
            elif how == "multiply":
                said.append(f"{mode(m)} ×{n}")
    return "; ".join(said)


def collection_of(kind: str, raw: dict[str, Any]) -> str:
    if kind in ("item", "baseitem") and not is_magic(raw):
        return "equipment"
    return COLLECTIONS[kind]


def record(kind: str, raw: dict[str, Any]) -> dict[str, Any]:
    """The d5e `data` of one (resolved) 5etools object of data key `kind`."""
    name = plain_tags(str(raw.get("name", "")))
    data: dict[str, Any] = {"index": slug(name), "name": name}
    data.update(CONVERTERS.get(kind, _generic)(raw))
    if kind in ("spell", "monster", "item", "baseitem", "magicvariant", "variant", "itemGroup"):
        extra = more(kind, raw)
        if extra:
            data["more"] = extra
    aliases = [str(a) for a in raw.get("alias") or []]
    short = str(raw.get("shortName") or "")
    if kind == "subclass" and short and slug(short) != slug(name):  # tags name it so
        aliases.append(short)
    race = str(raw.get("raceName") or "")
    if kind == "subrace" and race and name and normalize(race) not in normalize(name):
        # its name alone is the subrace's (`Ash`, of `Elf`): found as people say it, `Ash Elf`,
        # and as 5etools names it, `Elf (Ash)` (`races.subrace_name`)
        aliases += [f"{name} {race}", subrace_name(race, name)]
    # an alias that is an SRD record's name in the same collection is not one (5etools'
    # Khoravar aliased "Half-Elf"; a subclass's short name "Land", the SRD's subclass): the
    # name keeps meaning the SRD's entry (the alias stays in the 5etools object)
    taken = srd_names().get(collection_of(kind, raw), frozenset()) if aliases else frozenset()
    aliases = [a for a in aliases if normalize(a) not in taken]
    if aliases:
        data["aliases"] = aliases
    fluff = raw.get("fluff")
    if isinstance(fluff, list) and fluff:  # a class's, as entries (Hippocamper's Gourmet)
        fluff = {"entries": fluff}
    if isinstance(fluff, dict) and fluff.get("entries"):
        data.setdefault("desc", [])
        data["desc"] = list(data["desc"]) + blocks(fluff["entries"])
    if raw.get("source"):
        data["source_book"] = str(raw["source"])
    if raw.get("page"):
        data["page"] = raw["page"]
    data[RAW] = raw
    return data


def slug_for(kind: str, raw: dict[str, Any]) -> str:
    """Names repeat across classes and levels for features: the slug says whose."""
    name = plain_tags(str(raw.get("name", "")))
    if kind in ("classFeature", "subclassFeature"):
        parts = [raw.get("className"), raw.get("subclassShortName"), name, raw.get("level")]
        return slug(" ".join(str(p) for p in parts if p not in (None, "")))
    if kind == "subclass":
        return slug(f"{raw.get('className', '')} {name}")
    if kind == "subrace":
        return slug(f"{name} {raw.get('raceName', '')}")
    if kind == "card":
        return slug(f"{raw.get('set', '')} {name}")
    return slug(name)
