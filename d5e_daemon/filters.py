"""The search filters, declared in one table: what the editor and the CLI can list and apply.

Each filter reads its values from an entry's record (`extract`); the indexer stores them in
`entry_attr` (name, value, entry) where one index backs every filter, and `d5e/search` applies
them inside its SQL. Text values are stored in lower case so they match case-insensitively;
numbers stay numbers (ranges: `{"min": 5, "max": 8}`); yes/no filters are stored as 1/0.

Records come in the 2014 and 2024 shapes of 5e-database and in whatever subset a homebrew
author writes, so every extractor takes what is there and returns nothing otherwise.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from .fields import describe, index_words, paragraphs
from .text import normalize

Kind = Literal["number", "text", "bool"]
Value = str | float | int


@dataclass(frozen=True)
class Measured:
    """A value with a distance in feet (`darkvision` 60, `fly` 80): stored as the value under
    the filter's name and as the number under `filter:value`, so `darkvision 60` finds the
    creatures that see at least 60 feet in the dark."""

    value: str
    feet: float


Condition = tuple[str, Value, Value]
"""(attribute name, lowest, highest) of `entry_attr` rows that satisfy a filter's value."""


@dataclass(frozen=True)
class Filter:
    name: str
    collections: tuple[str, ...]
    kind: Kind
    doc: str
    extract: Callable[[dict[str, Any]], Iterable[Value | Measured]]
    choices: tuple[str, ...] = ()
    """The values it takes, when they are a closed set (anything else is refused, named)."""
    read: Callable[[str], str] | None = None
    """A value as typed ("Fire damage", "bonus", "DEX") → as stored ("fire", "bonus action")."""
    measured: bool = False
    """Values may carry a minimum distance: `darkvision 60`, `fly 60 ft`, `range 120`."""

    def conditions(self, text: str) -> list[Condition]:
        """What one typed text value asks for; ValueError (saying why) for a value this
        filter never takes."""
        value, feet = _measure(text) if self.measured else (text, None)
        value = " ".join(value.strip().lower().split())
        if self.read is not None:
            value = self.read(value)
        if self.choices and value not in self.choices:
            raise ValueError(f"takes one of: {', '.join(self.choices)}")
        if feet is not None:
            return [(f"{self.name}:{value}", feet, 1e308)]
        return [(self.name, value, value)]


_MEASURE = re.compile(
    r"^(?P<value>.*?)\s*(?:>=?|≥|at least)?\s*(?P<n>\d+(?:\.\d+)?)\s*(?P<unit>ft\.?|feet|foot|"
    r"miles?)?$"
)


_FRACTIONS = {0.125: "1/8", 0.25: "1/4", 0.5: "1/2"}


def value_text(value: Any) -> str:
    """A filter value as it is typed in `-f NAME=VALUE`: `true`, `2` (not 2.0), `1/4` (not
    0.25: the challenge ratings below 1)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _FRACTIONS.get(value) or f"{value:g}"
    return str(value)


def _measure(text: str) -> tuple[str, float | None]:
    """`darkvision 60 ft.` → ("darkvision", 60); `1 mile` → ("", 5280); `fly` → ("fly", None)."""
    m = _MEASURE.match(text.strip().lower())
    if m is None:
        return text, None
    scale = 5280 if (m["unit"] or "").startswith("mile") else 1
    return m["value"], float(m["n"]) * scale


def _names(value: Any) -> list[Value]:
    """Names of references: `{"name": "Wizard"}`, a list of them, or plain strings."""
    items = value if isinstance(value, list) else [value]
    return [describe(v).lower() for v in items if describe(v)]


def number(value: Any) -> list[Value]:
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
    """The record's `{"damage": {"damage_type": …}}` (5etools' loader: every type in
    `damage_types`) and the damage its text deals ("takes 4d6 fire damage", "radiant damage (if
    you are good) or necrotic damage", "acid, cold, or fire damage"): only damage the spell
    deals, an amount (`_dealt`), not the damage of the attacks it makes possible."""
    damage = data.get("damage")
    found = _names(damage.get("damage_type")) if isinstance(damage, dict) else []
    found += _names(data.get("damage_types") or [])
    for text in _texts(data.get("desc")) + _texts(data.get("higher_level")):
        for sentence in _SENTENCE.split(text.lower()):
            found += _dealt(sentence)
    return list(dict.fromkeys(found))


def _item_kind(data: dict[str, Any]) -> list[Value]:
    """`wondrous item`, `weapon`, `potion`, `armor`…: the category, in the singular."""
    found = _names(data.get("equipment_category")) or _names(data.get("equipment_categories"))
    # the most specific category; `wondrous-items` (its index, as a pack may write it) as words
    return [re.sub(r"s$", "", index_words(str(name))) for name in found[-1:]]


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


# -- reverse and relational filters: what creatures withstand, sense and speak, what spells ask
# for and do, who casts what ---------------------------------------------------------------------

DAMAGE_TYPES = (
    "acid", "bludgeoning", "cold", "fire", "force", "lightning", "necrotic", "piercing",
    "poison", "psychic", "radiant", "slashing", "thunder",
)  # fmt: skip
# "nonmagical": the resistance of many fiends and undead to nonmagical weapons' blows
DAMAGE_CHOICES = (*DAMAGE_TYPES, "nonmagical")
CONDITIONS = (
    "blinded", "charmed", "deafened", "exhaustion", "frightened", "grappled", "incapacitated",
    "invisible", "paralyzed", "petrified", "poisoned", "prone", "restrained", "stunned",
    "unconscious",
)  # fmt: skip
SENSES = ("blindsight", "darkvision", "tremorsense", "truesight")
SPEEDS = ("walk", "burrow", "climb", "fly", "swim", "hover")
ABILITIES = {
    "str": "strength", "dex": "dexterity", "con": "constitution", "int": "intelligence",
    "wis": "wisdom", "cha": "charisma",
}  # fmt: skip
ALIGNMENT_WORDS = ("lawful", "neutral", "chaotic", "good", "evil", "unaligned", "any")
ALIGNMENTS = {
    "lg": "lawful good", "ng": "neutral good", "cg": "chaotic good", "ln": "lawful neutral",
    "n": "neutral", "tn": "neutral", "true neutral": "neutral", "cn": "chaotic neutral",
    "le": "lawful evil", "ne": "neutral evil", "ce": "chaotic evil",
}  # fmt: skip
CASTING_TIMES = ("action", "bonus action", "reaction", "minutes", "hours")
RANGES = ("self", "touch", "sight", "unlimited", "special", "distance")
COMPONENTS = ("v", "s", "m", "no v", "no s", "no m", "costly", "consumed")
_DAMAGE_RE = re.compile(r"\b(" + "|".join(DAMAGE_TYPES) + r"|nonmagical)\b")
_CONDITION_RE = re.compile(
    r"\b(" + "|".join(CONDITIONS) + r"|paralysed|unconsciousness|exhausted|exhaustion)\b"
)
_FEET = re.compile(r"(\d+(?:\.\d+)?)\s*(?:ft\b|feet|foot)")
_NOT_INFLICTED = re.compile(
    r"immun|can't be|cannot be|against being|advantage on saving throws|\bends?\b|\bend the|"
    r"suppress|remov|cure|isn't|aren't|\bwhile (?:you are|it is)",
    re.I,
)
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
_DEALT = re.compile(
    rf"\b(?:{'|'.join(DAMAGE_TYPES)})(?:(?:,|,? and|,? or) (?:{'|'.join(DAMAGE_TYPES)}))*"
    rf" damage\b"
)
# not dealt: granted resistance, damage that can't be dealt, damage dealt to what the spell
# makes ("the layer can be destroyed by dealing at least 25 cold damage to it")
_NOT_DEALT = re.compile(r"resist|immun|vulnerab|can't|cannot|\bdestroyed by\b|\bby dealing\b")
# Damage a spell deals is an amount: before it ("4d6 fire damage", "50 bludgeoning damage",
# "{@damage 8d6} fire damage", "2d8 points of fire damage") or after it ("force damage equal
# to twice …", "the radiant damage (your choice) increases by 1d6"); a damage named without one
# is a kind ("a slam attack with … bludgeoning damage determined by its size", "the GM might
# rule that an object inflicts slashing or piercing damage")
_AMOUNT_BEFORE = re.compile(r"(?:\d+d ?\d+|\b\d+)(?: ?[+-] ?\d+)?\}?(?: points? of)? $")
_AMOUNT_AFTER = re.compile(r"(?: \([^)]*\))? (?:equal to|increases by)\b")
# An attack or a strike (not a spell attack, not an attack roll) deals its weapon's or its
# maker's damage ("your unarmed strikes deal 1d6 bludgeoning, piercing, or slashing damage":
# Alter Self's natural weapons), unless the spell adds it ("an extra 1d8 necrotic damage")
_ATTACK = re.compile(r"\b(?<!spell )(?:attack|strike|weapon)s?\b(?! rolls?\b)")
_ADDED = re.compile(r"\b(?:extra|additional) (?:\d+d ?\d+|\d+)\}? $")


def _dealt(sentence: str) -> list[str]:
    """The damage types a sentence of a spell's text says the spell deals (lower case)."""
    if _NOT_DEALT.search(sentence):
        return []
    attack = _ATTACK.search(sentence) is not None
    found = []
    for m in _DEALT.finditer(sentence):
        before = sentence[: m.start()]
        if not (_AMOUNT_BEFORE.search(before) or _AMOUNT_AFTER.match(sentence, m.end())):
            continue
        if attack and not _ADDED.search(before):
            continue
        found += _DAMAGE_RE.findall(m[0])
    return found


def _texts(value: Any) -> list[str]:
    """The text of a field: a string, a list of strings, `{"desc": …}` items, nested lists."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [t for v in value for t in _texts(v)]
    if isinstance(value, dict):
        return _texts(value.get("desc")) + _texts(value.get("entries"))
    return []


def _damage(field: str) -> Callable[[dict[str, Any]], list[Value]]:
    """Damage types named in a list of immunities, resistances or vulnerabilities
    (`"fire"`, `"bludgeoning, piercing, and slashing from nonmagical weapons"`, 5etools'
    `{"resist": ["fire"], "note": …}`)."""

    def extract(data: dict[str, Any]) -> list[Value]:
        items = data.get(field) or []
        words: list[str] = []
        for item in items if isinstance(items, list) else [items]:
            if isinstance(item, dict):
                item = " ".join(str(v) for v in item.values() if isinstance(v, str | list))
            words += _DAMAGE_RE.findall(describe(item).lower() if item else "")
        return list(dict.fromkeys(words))

    return extract


def _read_damage(text: str) -> str:
    """ "Fire damage", "fire" → "fire"; "non-magical" → "nonmagical"."""
    text = re.sub(r"\s*damage$", "", text).replace("non-magical", "nonmagical")
    return text


def _read_condition(text: str) -> str:
    words = {"paralysed": "paralyzed", "exhausted": "exhaustion", "charm": "charmed",
             "frighten": "frightened", "fear": "frightened", "poison": "poisoned",
             "stun": "stunned", "restrain": "restrained", "grapple": "grappled",
             "paralyze": "paralyzed", "paralyse": "paralyzed", "blind": "blinded",
             "deaf": "deafened",
             "petrify": "petrified", "invisibility": "invisible", "paralysis": "paralyzed",
             "petrification": "petrified", "blindness": "blinded", "deafness": "deafened",
             "stunning": "stunned", "unconsciousness": "unconscious"}  # fmt: skip
    return words.get(text, text)


def _condition_immunities(data: dict[str, Any]) -> list[Value]:
    names = [str(n) for n in _names(data.get("condition_immunities") or [])]
    found = [_read_condition(w) for n in names for w in _CONDITION_RE.findall(n)]
    return list(dict.fromkeys(found))


def _feet(text: str) -> float | None:
    m = _FEET.search(text)
    return float(m[1]) if m else None


def _senses(data: dict[str, Any]) -> list[Value | Measured]:
    """`{"darkvision": "60 ft."}` (5e-database) or `"darkvision 60 ft., passive Perception 10"`."""
    senses = data.get("senses")
    found: list[Value | Measured] = []
    if isinstance(senses, dict):
        for key, value in senses.items():
            kind = str(key).lower()
            if kind in SENSES:
                feet = _feet(str(value)) if value is not None else None
                found.append(Measured(kind, feet) if feet is not None else kind)
    elif isinstance(senses, str | list):
        for text in _texts(senses):
            for m in re.finditer(r"\b(" + "|".join(SENSES) + r")\b\s*(\d+)?", text.lower()):
                found.append(Measured(m[1], float(m[2])) if m[2] else m[1])
    return found


def _speeds(data: dict[str, Any]) -> list[Value | Measured]:
    """`{"walk": "30 ft.", "fly": "60 ft.", "hover": true}`; 5etools' `{"fly": {"number": 60,
    "condition": "(hover)"}, "canHover": true}`; or `"30 ft., fly 60 ft. (hover)"`."""
    speed = data.get("speed")
    found: list[Value | Measured] = []
    if isinstance(speed, dict):
        for key, value in speed.items():
            kind = str(key).lower()
            if kind in ("hover", "canhover"):
                if value:
                    found.append("hover")
                continue
            if kind not in SPEEDS:
                continue
            if isinstance(value, dict):
                text = f"{value.get('number', '')} ft. {value.get('condition', '')}"
            else:
                text = f"{value} ft." if isinstance(value, int | float) else str(value)
            feet = _feet(text)
            if feet == 0:
                continue
            found.append(Measured(kind, feet) if feet is not None else kind)
            if "hover" in text.lower():
                found.append("hover")
    elif isinstance(speed, str):
        text = speed.lower()
        walk = re.match(r"\s*(\d+)\s*ft", text)
        if walk:
            found.append(Measured("walk", float(walk[1])))
        for m in re.finditer(r"\b(burrow|climb|fly|swim)\s+(\d+)", text):
            found.append(Measured(m[1], float(m[2])))
        if "hover" in text:
            found.append("hover")
    return found


def _languages(data: dict[str, Any]) -> list[Value | Measured]:
    """The languages a creature speaks ("Common, Draconic"), and "telepathy" (with its range)."""
    value = data.get("languages")
    texts = [describe(v) for v in value] if isinstance(value, list) else _texts(value)
    found: list[Value | Measured] = []
    for text in texts:
        text = re.sub(r"\([^)]*\)", "", text)  # "(usually Common)"
        for part in re.split(r",|;|\band\b|\bbut\b", text):
            item = " ".join(part.strip().strip(".").lower().split())
            if not item or item in ("—", "-", "none"):
                continue
            if item.startswith("telepathy"):
                feet = _feet(item)
                found.append(Measured("telepathy", feet) if feet is not None else "telepathy")
            elif len(item.split()) <= 2 and not re.search(
                r"\b(any|all|understands?|speaks?|knew|know|can't|language|languages|plus)\b",
                item,
            ):
                found.append(item)
    return found


def _alignment(data: dict[str, Any]) -> list[Value]:
    """ "chaotic evil" as itself and as "chaotic" and "evil"; "any non-good alignment" as "any"."""
    text = describe(data.get("alignment")).lower()
    if not text:
        return []
    words = [w for w in re.findall(r"[a-z-]+", text) if w in ALIGNMENT_WORDS]
    whole = " ".join(text.split())
    kept = [whole] if len(whole.split()) <= 2 and "alignment" not in whole else []
    return list(dict.fromkeys([*kept, *words]))


def _read_alignment(text: str) -> str:
    return ALIGNMENTS.get(text.replace(" ", "") if len(text) <= 3 else text, text)


def _environments(data: dict[str, Any]) -> list[Value]:
    """5etools' `environment` (`["forest", "hill"]`) and d5e/homebrew `environments`."""
    return _names(data.get("environment") or data.get("environments") or [])


def _spell_names(names: Iterable[str]) -> list[Value]:
    return list(dict.fromkeys(n for n in (normalize(str(x)) for x in names) if n))


# Spell names that hold the word "or", which separates the names of a list otherwise.
_JOINED = re.compile(r"\b(?:create or destroy water|locate animals or plants)\b", re.I)
_STUB_WORDS = frozenset({"version", "spell", "spells", "same", "following", "level"})
_STUB_ENDS = frozenset({"the", "a", "an", "of", "this", "that", "your", "its", "their", "and"})


def _split_names(text: str) -> list[str]:
    """A list of spell names as text writes them ("burning hands, fireball, or create or
    destroy water") → each name."""
    kept = _JOINED.sub(lambda m: m[0].replace(" ", "_"), text)
    return [part.replace("_", " ") for part in re.split(r",|\bor\b", kept)]


def _plausible(name: str) -> bool:
    """Whether a name read from prose can be a spell's: not a piece of the sentence around one
    ("the 3rd-level version of the spell" gives "version of the")."""
    words = name.split()
    return (
        0 < len(words) <= 5
        and not _STUB_WORDS.intersection(words)
        and words[-1] not in _STUB_ENDS
        and name not in _NOT_SPELLS
    )


_SPELL_LIST_LINE = re.compile(
    r"^\s*[-*•]?\s*(?:cantrips?|at will|\d+/day(?: each)?|\d+(?:st|nd|rd|th) level[^:]*"
    r"|level \d[^:]*)\s*(?:\([^)]*\))?\s*:\s*(.+)$",
    re.I | re.M,
)


def _casts(data: dict[str, Any]) -> list[Value]:
    """The spells in a creature's spellcasting: its structured list (5e-database, 2014 and
    2024), else the lists its Spellcasting text writes ("3rd level (3 slots): fireball, …")."""
    names: list[str] = []
    for key in ("special_abilities", "actions", "bonus_actions", "reactions", "legendary_actions"):
        for ability in data.get(key) or []:
            if not isinstance(ability, dict):
                continue
            casting = ability.get("spellcasting")
            if isinstance(casting, dict) and isinstance(casting.get("spells"), list):
                names += [describe(spell) for spell in casting["spells"]]
            elif "spellcasting" in str(ability.get("name", "")).lower():
                for text in _texts(ability.get("desc")):
                    for m in _SPELL_LIST_LINE.finditer(text):
                        names += _split_names(re.sub(r"\([^)]*\)|\*", "", m[1]))
    return [n for n in _spell_names(names) if _plausible(str(n))]


_CAST_PATTERNS = (
    # 2014 prose: "cast the fireball spell", "as a 3rd-level fireball spell"
    re.compile(r"\bcast(?:s|ing)? (?:the |a |an )?(?:\d+(?:st|nd|rd|th)-level )?"
               r"([a-z][a-z'’ -]{1,40}?) spell\b"),
    re.compile(r"\b\d+(?:st|nd|rd|th)-level ([a-z][a-z'’ -]{1,40}?) spell\b"),
    # 2024 prose names spells in title case: "cast Dimension Door", "as a level 3 Fireball"
    # ("Enlarge/Reduce", "Enlarge/ Reduce")
    re.compile(r"\b(?:cast|level \d+) ((?:[A-Z][\w'’-]*)"
               r"(?:(?: |/ ?)(?:of|the|and|[A-Z][\w'’-]*))*)"),
)  # fmt: skip
_FOLLOWING = re.compile(r"following spells[^:.]*:\s*([^.]+)", re.I)
# The 2024 SRD's tables of spells and charges, flattened into the text: "Stone Shape (2
# charges)", and "SpellChargeCostAnimal Friendship1Awaken5…"
_TITLE = r"[A-Z][\w'’-]*(?:(?: |/ ?)(?:of|the|and|or|with|without|from|[A-Z][\w'’-]*))*"
_CHARGES = re.compile(rf"({_TITLE}) \((?:\d+|one|two|three) charges?\b")
_CHARGE_TABLE = re.compile(r"Spell\s*Charge\s*Cost\s*((?:[A-Z][A-Za-z'’/ -]*?\d+\s*)+)")
_CHARGE_ROW = re.compile(r"([A-Z][A-Za-z'’/ -]*?)\s*\d+")
_NOT_SPELLS = frozenset(
    {"a", "the", "any", "one", "that", "this", "your", "its", "their", "spell", "spells"}
)


def _grants(data: dict[str, Any]) -> list[Value]:
    """The spells an item lets its bearer cast, as its text names them: "cast the fireball
    spell", "one of the following spells: burning hands (1 charge), fireball (3 charges)…",
    "cast Dimension Door"; or 5etools' `attachedSpells`."""
    names: list[str] = []
    attached = data.get("attachedSpells") or data.get("attached_spells")
    if isinstance(attached, list):
        names += [describe(a) for a in attached]
    for text in _texts(data.get("desc")) + _texts(data.get("description")):
        for m in _FOLLOWING.finditer(text):
            names += _split_names(re.sub(r"\([^)]*\)", "", m[1]))
        names += [m[1] for m in _CHARGES.finditer(text)]
        for m in _CHARGE_TABLE.finditer(text):
            names += _CHARGE_ROW.findall(m[1])
        for pattern in _CAST_PATTERNS:
            # "Telekinesisfrom": a space missing in the 2024 SRD's Ring of Telekinesis
            names += [re.sub(r"(?<=[a-z]{3})from$", "", m[1]) for m in pattern.finditer(text)]
    normal = _spell_names(re.sub(r"^\s*(?:and|or)\s+", "", n) for n in names)
    return [n for n in normal if _plausible(str(n))]


# "must make a Wisdom saving throw" (one save, singular); not "advantage on Wisdom saving
# throws", a bonus or a penalty to them
_ASKED_SAVE = re.compile(
    r"\b(strength|dexterity|constitution|intelligence|wisdom|charisma) saving throw\b(?!s)"
)
_NOT_ASKED = re.compile(r"advantage|bonus|penalty|proficien")


def _save(data: dict[str, Any]) -> list[Value]:
    """The abilities of a spell's saving throws: the record's `{"dc": {"dc_type": {"name":
    "DEX"}}}` and every save its text asks for ("must make a Dexterity saving throw"), not the
    saves it helps or hinders ("advantage on Wisdom saving throws")."""
    dc = data.get("dc")
    kind = describe(dc.get("dc_type") or dc.get("type")).lower() if isinstance(dc, dict) else ""
    found: list[Value] = [ABILITIES.get(kind[:3], kind)] if kind else []
    for text in _texts(data.get("desc")) + _texts(data.get("higher_level")):
        for sentence in _SENTENCE.split(text.lower()):
            if not _NOT_ASKED.search(sentence):
                found += _ASKED_SAVE.findall(sentence)
    return list(dict.fromkeys(found))


def _read_save(text: str) -> str:
    word = re.sub(r"\s*(saving throw|save|st)s?$", "", text)
    return ABILITIES.get(word[:3], word) if word[:3] in ABILITIES else word


def _attack(data: dict[str, Any]) -> list[Value]:
    kind = describe(data.get("attack_type")).lower()
    if kind:
        return [kind]
    return list(dict.fromkeys(re.findall(r"\b(melee|ranged) spell attack", " ".join(
        _texts(data.get("desc"))).lower())))  # fmt: skip


def _casting_time(data: dict[str, Any]) -> list[Value]:
    """ "1 bonus action" → "bonus action"; "10 minutes" → "10 minutes" and "minutes"."""
    text = describe(data.get("casting_time")).lower().split(",")[0].strip()
    if not text:
        return []
    for kind in ("bonus action", "reaction", "action"):
        if re.search(rf"\b{kind}\b", text):
            return [kind]
    m = re.match(r"(\d+)\s*(minute|hour|round)s?", text)
    if m:
        unit = m[2]
        exact = f"{m[1]} {unit}{'s' if m[1] != '1' else ''}"
        return [exact, f"{unit}s"]
    return [text]


def _read_casting_time(text: str) -> str:
    """ "1 bonus action", "a reaction" → "bonus action", "reaction"; "an hour", "1 minute" →
    "1 hour", "1 minute" (exactly); "minute", "hours" → "minutes", "hours" (any number)."""
    text = re.sub(r"^(?:1|one|an?)\s+(?=(?:bonus )?action|reaction)", "", text)
    text = re.sub(r"^(?:one|an?)\s+(?=minute|hour|round)", "1 ", text)
    text = {"bonus": "bonus action", "ba": "bonus action", "minute": "minutes", "min": "minutes",
            "hour": "hours"}.get(text, text)  # fmt: skip
    m = re.match(r"(\d+)\s*(min|minute|hour|hr|round)s?$", text)
    if m:
        unit = {"min": "minute", "hr": "hour"}.get(m[2], m[2])
        return f"{m[1]} {unit}{'s' if m[1] != '1' else ''}"
    return text


def _range(data: dict[str, Any]) -> list[Value | Measured]:
    """ "Touch", "Self (15-foot cone)", "60 feet", "1 mile": the kind, and a distance in feet."""
    text = describe(data.get("range")).lower()
    if not text:
        return []
    for kind in RANGES[:5]:
        if text.startswith(kind):
            return [kind]
    feet = data.get("range_feet")  # a loader's own reading, in units of its format's own
    if isinstance(feet, int | float) and not isinstance(feet, bool):
        return [Measured("distance", float(feet))]
    m = re.match(r"(\d+(?:\.\d+)?)\s*(feet|foot|ft|miles?)", text)
    if m:
        scale = 5280 if m[2].startswith("mile") else 1
        return [Measured("distance", float(m[1]) * scale)]
    return [text]


def _read_range(text: str) -> str:
    return "distance" if text in ("", "ranged", "feet", "ft") else text.split(" (")[0]


def _components(data: dict[str, Any]) -> list[Value]:
    """V, S, M; "no v", "no s", "no m" for those it does without; and "costly" when the
    material has a price, "consumed" when the spell uses it up."""
    found: list[Value] = [
        c for c in (str(x).strip().lower()[:1] for x in data.get("components") or []) if c
    ]
    if found:
        found += [f"no {c}" for c in "vsm" if c not in found]
    material = " ".join(_texts(data.get("material"))).lower()
    if re.search(r"\d[\d,]*\+?\s*gp|worth", material):
        found.append("costly")
    if re.search(r"consume", material):
        found.append("consumed")
    return list(dict.fromkeys(found))


_COMPONENT_WORDS = {"verbal": "v", "somatic": "s", "material": "m"}


def _read_component(text: str) -> str:
    """ "verbal" → "v"; "no material", "without m", "non-verbal" → "no m", "no v"; "costs",
    "expensive" → "costly"; "consumes" → "consumed"."""
    text = re.sub(r"\s*components?$", "", text)
    m = re.fullmatch(r"(?:no|without|non)[ -]?(\w+)", text)
    if m:
        return f"no {_COMPONENT_WORDS.get(m[1], m[1])}"
    return _COMPONENT_WORDS.get(text) or {
        "consumes": "consumed", "consume": "consumed", "costs": "costly", "cost": "costly",
        "expensive": "costly",
    }.get(text, text)  # fmt: skip


def _duration(data: dict[str, Any]) -> list[Value]:
    """ "Concentration, up to 1 minute" and "Up to 1 minute" → "1 minute"."""
    text = describe(data.get("duration")).lower()
    text = re.sub(r"^(?:concentration,?\s*)?(?:up to\s+)?", "", text).strip()
    return [text] if text else []


def _read_duration(text: str) -> str:
    """ "up to 1 hour", "an hour", "24-hour", "1 hours" → "1 hour", "24 hours"."""
    text = re.sub(r"^(?:concentration,?\s*)?(?:up to\s+)?", "", text).strip()
    m = re.fullmatch(r"(\d+|an?|one)[ -](round|minute|hour|day)s?", text)
    if m:
        n = "1" if m[1] in ("a", "an", "one") else m[1]
        return f"{n} {m[2]}{'s' if n != '1' else ''}"
    return text


def _inflicts(data: dict[str, Any]) -> list[Value]:
    """Conditions the text imposes ("or be frightened", "is knocked prone"): sentences that
    only protect from one ("can't be charmed", "immune", "ends the condition") are skipped."""
    if "challenge_rating" in data or "cr" in data:
        fields = ("actions", "bonus_actions", "reactions", "legendary_actions")
        texts = [t for key in fields for t in _texts(data.get(key))]
    else:
        texts = _texts(data.get("desc")) + _texts(data.get("higher_level"))
    found: list[str] = []
    for text in texts:
        for sentence in _SENTENCE.split(text):
            if _CONDITION_RE.search(sentence.lower()) and not _NOT_INFLICTED.search(sentence):
                found += [_read_condition(w) for w in _CONDITION_RE.findall(sentence.lower())]
    return [{"unconsciousness": "unconscious"}.get(w, w) for w in dict.fromkeys(found)]


def _legendary(data: dict[str, Any]) -> list[Value]:
    """Whether a creature takes legendary actions (5e-database's, Open5e's and 5etools'
    `legendary_actions`)."""
    if "challenge_rating" not in data and "cr" not in data:
        return []
    return [int(bool(data.get("legendary_actions")))]


def _lair(data: dict[str, Any]) -> list[Value]:
    """Whether a creature has lair actions: Open5e's `lair_actions`, 5etools' legendary group
    (the card of its lair actions and regional effects). The SRD gives none."""
    if "challenge_rating" not in data and "cr" not in data:
        return []
    return [int(bool(data.get("lair_actions") or data.get("legendary_group")))]


WEAPON_KINDS = ("simple", "martial")
WEAPON_RANGES = ("melee", "ranged")
ARMOR_KINDS = ("light", "medium", "heavy", "shield")


def _category_kinds(data: dict[str, Any], kinds: tuple[str, ...], noun: str) -> list[Value]:
    """The kinds the 2024 SRD says only in `equipment_categories`: "Martial Melee Weapons" is
    martial and melee, "Heavy Armor" heavy, "Shields" a shield."""
    found: list[Value] = []
    for name in _names(data.get("equipment_categories") or []):
        *before, last = re.split(r"[\s-]+", str(name))
        last = last.removesuffix("s")
        if last == noun:
            found += [w for w in before if w in kinds]
        elif last in kinds:
            found.append(last)
    return list(dict.fromkeys(found))


def _weapon(field: str, kinds: tuple[str, ...]) -> Callable[[dict[str, Any]], list[Value]]:
    """A weapon's category ("Martial") or whether it is a melee or ranged one ("Melee")."""

    def extract(data: dict[str, Any]) -> list[Value]:
        kind = describe(data.get(field)).lower()
        return [kind] if kind in kinds else _category_kinds(data, kinds, "weapon")

    return extract


def _armor(data: dict[str, Any]) -> list[Value]:
    kind = describe(data.get("armor_category")).lower()
    return [kind] if kind in ARMOR_KINDS else _category_kinds(data, ARMOR_KINDS, "armor")


def _read_property(text: str) -> str:
    """ "two handed", "2-handed" → "two-handed"."""
    return re.sub(r"^(?:two|2)[ -]?hand(?:ed)?$", "two-handed", text)


_SPELLS = ("spells",)
_MONSTERS = ("monsters",)
_ITEMS = ("magic-items", "equipment")

FILTERS: tuple[Filter, ...] = (
    Filter("level", _SPELLS, "number", "spell level, 0 for cantrips",
           lambda d: number(d.get("level"))),
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
           lambda d: number(d.get("challenge_rating"))),
    Filter("type", (*_MONSTERS, *_ITEMS), "text",
           "creature type (undead, dragon…) or item type (wondrous item, weapon…)",
           lambda d: _monster_type(d) if "challenge_rating" in d else _item_kind(d)),
    Filter("size", _MONSTERS, "text", "creature size",
           lambda d: _names(d.get("size"))),
    Filter("legendary", _MONSTERS, "bool", "takes legendary actions", _legendary),
    Filter("lair", _MONSTERS, "bool", "has lair actions (Open5e, 5etools; the SRD gives none)",
           _lair),
    Filter("rarity", ("magic-items",), "text", "item rarity", _rarity),
    Filter("attunement", ("magic-items",), "bool", "requires attunement", _attunement),
    # what creatures withstand, sense, move and speak
    Filter("immune", _MONSTERS, "text", "immune to a damage type (fire, poison…)",
           _damage("damage_immunities"), DAMAGE_CHOICES, _read_damage),
    Filter("resist", _MONSTERS, "text", "resistant to a damage type",
           _damage("damage_resistances"), DAMAGE_CHOICES, _read_damage),
    Filter("vulnerable", _MONSTERS, "text", "vulnerable to a damage type",
           _damage("damage_vulnerabilities"), DAMAGE_CHOICES, _read_damage),
    Filter("conditionImmune", _MONSTERS, "text", "immune to a condition (charmed, poisoned…)",
           _condition_immunities, CONDITIONS, _read_condition),
    Filter("sense", _MONSTERS, "text",
           "a sense, with a minimum range if given: darkvision, blindsight 30, truesight 120 ft",
           _senses, SENSES, measured=True),
    Filter("speed", _MONSTERS, "text",
           "a way of moving, with a minimum speed if given: fly, swim 40, climb, burrow, hover",
           _speeds, SPEEDS, measured=True),
    Filter("language", _MONSTERS, "text", "a language it speaks (common, draconic, telepathy…)",
           _languages, measured=True),
    Filter("alignment", _MONSTERS, "text",
           "alignment, whole or a part of it: chaotic evil, evil, lawful, unaligned, LE",
           _alignment, read=_read_alignment),
    Filter("environment", _MONSTERS, "text", "where it lives, when its pack says (forest…)",
           _environments),
    Filter("casts", _MONSTERS, "text", "a spell in its spellcasting: who can cast fireball",
           _casts, read=normalize),
    # what spells ask for and do
    Filter("save", _SPELLS, "text", "the ability of its saving throw (dexterity, DEX save…)",
           _save, tuple(ABILITIES.values()), _read_save),
    Filter("attack", _SPELLS, "text", "a spell attack: melee or ranged",
           _attack, ("melee", "ranged"), lambda t: re.sub(r"\s*(spell\s*)?attack$", "", t)),
    Filter("castingTime", _SPELLS, "text",
           "action, bonus action, reaction, minutes, hours, or exactly: 10 minutes",
           _casting_time, read=_read_casting_time),
    Filter("range", _SPELLS, "text",
           "self, touch, sight, unlimited, or a distance: at least 120 (feet), 1 mile",
           _range, read=_read_range, measured=True),
    Filter("component", _SPELLS, "text",
           "v, s, m (verbal, somatic, material), no v, no s, no m (without it), costly, consumed",
           _components, COMPONENTS, _read_component),
    Filter("duration", _SPELLS, "text", "instantaneous, 1 minute, 8 hours, until dispelled…",
           _duration, read=_read_duration),
    Filter("inflicts", (*_SPELLS, *_MONSTERS), "text",
           "a condition its text imposes (frightened, prone…)",
           _inflicts, CONDITIONS, _read_condition),
    # what items do
    Filter("grants", _ITEMS, "text", "a spell the item lets you cast", _grants, read=normalize),
    Filter("property", _ITEMS, "text", "a weapon property (finesse, two-handed, light, reach…)",
           lambda d: _names(d.get("properties")), read=_read_property),
    Filter("weapon", _ITEMS, "text", "a weapon's category: simple or martial",
           _weapon("weapon_category", WEAPON_KINDS), WEAPON_KINDS),
    Filter("weaponRange", _ITEMS, "text", "a melee or a ranged weapon",
           _weapon("weapon_range", WEAPON_RANGES), WEAPON_RANGES),
    Filter("armor", _ITEMS, "text", "an armor's kind: light, medium, heavy, shield",
           _armor, ARMOR_KINDS, lambda t: re.sub(r"\s*armou?r$", "", t)),
)  # fmt: skip
BY_NAME = {f.name: f for f in FILTERS}
# Bump when an extractor changes what it returns (the declarations alone are hashed anyway).
EXTRACT_VERSION = 9


def attributes(collection: str, data: dict[str, Any]) -> list[tuple[str, Value]]:
    """Every (filter, value) pair of one record, for `entry_attr`."""
    found: list[tuple[str, Value]] = []
    for f in FILTERS:
        if collection in f.collections:
            for v in dict.fromkeys(f.extract(data)):
                if isinstance(v, Measured):
                    found += [(f.name, v.value), (f"{f.name}:{v.value}", v.feet)]
                else:
                    found.append((f.name, v))
    return list(dict.fromkeys(found))


@functools.cache
def version() -> str:
    """Changes when the declarations change, so stored attributes are extracted again (the
    declarations are constants: computed once)."""
    seed = "|".join(f"{f.name}:{f.kind}:{','.join(f.collections)}" for f in FILTERS)
    return hashlib.sha256(f"{EXTRACT_VERSION}|{seed}".encode()).hexdigest()[:12]
