"""The search filters, declared in one table: what the editor and the CLI can list and apply.

Each filter reads its values from an entry's record (`extract`); the indexer stores them in
`entry_attr` (name, value, entry) where one index backs every filter, and `d5e/search` applies
them inside its SQL. Text values are stored in lower case so they match case-insensitively;
numbers stay numbers (ranges: `{"min": 5, "max": 8}`); yes/no filters are stored as 1/0.

Records come in the 2014 and 2024 shapes of 5e-database and in whatever subset a homebrew
author writes, so every extractor takes what is there and returns nothing otherwise.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from .fields import describe, paragraphs

Kind = Literal["number", "text", "bool"]
Value = str | float | int


@dataclass(frozen=True)
class Filter:
    name: str
    collections: tuple[str, ...]
    kind: Kind
    doc: str
    extract: Callable[[dict[str, Any]], Iterable[Value]]


def _names(value: Any) -> list[Value]:
    """Names of references: `{"name": "Wizard"}`, a list of them, or plain strings."""
    items = value if isinstance(value, list) else [value]
    return [describe(v).lower() for v in items if describe(v)]


def _number(value: Any) -> list[Value]:
    if isinstance(value, bool) or value is None:
        return []
    if isinstance(value, int | float):
        return [value]
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"\d+/\d+", text):  # "1/4"
            top, bottom = text.split("/")
            return [int(top) / int(bottom)] if int(bottom) else []
        try:
            return [float(text)]
        except ValueError:
            return []
    return []


def _flag(value: Any) -> list[Value]:
    return [int(value)] if isinstance(value, bool) else []


def _spell_damage_types(data: dict[str, Any]) -> list[Value]:
    damage = data.get("damage")
    if isinstance(damage, dict):
        return _names(damage.get("damage_type"))
    return []


def _item_kind(data: dict[str, Any]) -> list[Value]:
    """`wondrous item`, `weapon`, `potion`, `armor`…: the category, in the singular."""
    found = _names(data.get("equipment_category")) or _names(data.get("equipment_categories"))
    return [re.sub(r"s$", "", str(name)) for name in found[-1:]]  # the most specific category


def _rarity(data: dict[str, Any]) -> list[Value]:
    """`rare`; a rarity that varies (`Uncommon (+1), Rare (+2)…`) lists each one it names."""
    text = describe(data.get("rarity")).lower()
    found = re.findall(r"very rare|uncommon|common|rare|legendary|artifact", text)
    if "varies" in text:
        found.append("varies")
    return list(dict.fromkeys(found))


def _attunement(data: dict[str, Any]) -> list[Value]:
    if isinstance(data.get("attunement"), bool):  # 2024
        return _flag(data["attunement"])
    paras = paragraphs(data)  # 2014: "Wondrous item, rare (requires attunement)"
    if paras and len(paras[0]) < 120:
        return [int("requires attunement" in paras[0].lower())]
    return []


def _monster_type(data: dict[str, Any]) -> list[Value]:
    kind = describe(data.get("type")).lower()
    if kind.startswith("swarm"):  # "swarm of Tiny beasts": a swarm, and beasts
        return ["swarm", *re.findall(r"\b(beast|undead|fiend|monstrosit)", kind)]
    return [kind] if kind else []


_SPELLS = ("spells",)
_MONSTERS = ("monsters",)
_ITEMS = ("magic-items", "equipment")

FILTERS: tuple[Filter, ...] = (
    Filter("level", _SPELLS, "number", "spell level, 0 for cantrips",
           lambda d: _number(d.get("level"))),
    Filter("school", _SPELLS, "text", "school of magic",
           lambda d: _names(d.get("school"))),
    Filter("class", _SPELLS, "text", "a class that has the spell",
           lambda d: _names(d.get("classes"))),
    Filter("concentration", _SPELLS, "bool", "needs concentration",
           lambda d: _flag(d.get("concentration"))),
    Filter("ritual", _SPELLS, "bool", "can be cast as a ritual",
           lambda d: _flag(d.get("ritual"))),
    Filter("damage", _SPELLS, "text", "damage type the spell deals",
           _spell_damage_types),
    Filter("cr", _MONSTERS, "number", "challenge rating (1/4 is 0.25)",
           lambda d: _number(d.get("challenge_rating"))),
    Filter("type", (*_MONSTERS, *_ITEMS), "text",
           "creature type (undead, dragon…) or item type (wondrous item, weapon…)",
           lambda d: _monster_type(d) if "challenge_rating" in d else _item_kind(d)),
    Filter("size", _MONSTERS, "text", "creature size",
           lambda d: _names(d.get("size"))),
    Filter("rarity", ("magic-items",), "text", "item rarity", _rarity),
    Filter("attunement", ("magic-items",), "bool", "requires attunement", _attunement),
)  # fmt: skip
BY_NAME = {f.name: f for f in FILTERS}
# Bump when an extractor changes what it returns (the declarations alone are hashed anyway).
EXTRACT_VERSION = 2


def attributes(collection: str, data: dict[str, Any]) -> list[tuple[str, Value]]:
    """Every (filter, value) pair of one record, for `entry_attr`."""
    found: list[tuple[str, Value]] = []
    for f in FILTERS:
        if collection in f.collections:
            found += [(f.name, v) for v in dict.fromkeys(f.extract(data))]
    return found


def version() -> str:
    """Changes when the declarations change, so stored attributes are extracted again."""
    seed = "|".join(f"{f.name}:{f.kind}:{','.join(f.collections)}" for f in FILTERS)
    return hashlib.sha256(f"{EXTRACT_VERSION}|{seed}".encode()).hexdigest()[:12]
