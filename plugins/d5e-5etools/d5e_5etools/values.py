"""Values of the fields d5e reads that 5etools' homebrew schema (`homebrew.json` of
`TheGiddyLimit/5etools-utils` and the schemas it names) would refuse, or that no reader can take
for what the field means (`"cr": "banana"`): each a warning at its JSON path, saying what was
expected. The value stays as written (the card shows it so, as 5etools' page would) and the rest
of the entry and the file install: one bad value never refuses a file.

Only what the schema refuses is told, so that what real files hold and 5etools reads stays
silent: a `cr` of `"1/2"`, `"Unknown"` or `"—"`, an object with `lair` or `coven`; a spell
school of the file's own `_meta.spellSchools`; a rarity of `"varies"`; a spell of level 10."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

Path = tuple[str | int, ...]
Found = Iterator[tuple[Path, str]]

SIZES = ("F", "D", "T", "S", "M", "L", "H", "G", "C", "V")
ALIGNMENTS = ("L", "N", "NX", "NY", "C", "G", "E", "U", "A")
RARITIES = (
    "common", "uncommon", "rare", "very rare", "legendary", "artifact",
    "none", "unknown", "unknown (magic)", "varies",
)  # fmt: skip
SCHOOL_NAMES = (
    "Abjuration", "Conjuration", "Divination", "Enchantment", "Evocation", "Illusion",
    "Necromancy", "Transmutation", "Psychic",
)  # fmt: skip
RANGE_TYPES = (
    "special", "point", "line", "cube", "cone", "emanation", "radius", "sphere", "hemisphere",
    "cylinder",
)  # fmt: skip
DURATION_TYPES = ("instant", "timed", "permanent", "special")
SPEED_MODES = ("walk", "burrow", "climb", "fly", "swim")
ABILITIES = ("str", "dex", "con", "int", "wis", "cha")
PREREQUISITES = (
    "level", "pact", "patron", "spell", "feat", "featCategory", "exclusiveFeatCategory",
    "optionalfeature", "feature", "item", "itemType", "itemProperty", "other", "otherSummary",
    "race", "background", "ability", "spellcasting", "spellcasting2020", "spellcastingFeature",
    "spellcastingPrepared", "psionics", "spellcastingFocus", "proficiency", "expertise",
    "alignment", "campaign", "culture", "membership", "group", "note", "subclass",
    "subclassFeature", "class", "classFeature", "levelRaw", "race2024",
)  # fmt: skip
_CR = re.compile(r"(?:[12]?\d|30|1/[248]|0?\.(?:125|25|5))")
_DIGIT = re.compile(r"\d")
CR_WORDS = ("Unknown", "\u2014", "-", "--")
_CR_WANTED = (
    "a challenge rating: 0 to 30, 1/8, 1/4 or 1/2, 'Unknown' or '\u2014' (5etools reads no "
    "other as one: no XP, no challenge filter)"
)


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _said(value: Any) -> str:
    return repr(value) if isinstance(value, str) else _json(value)


def _json(value: Any) -> str:
    if value is True or value is False:
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    return str(value)


def _want(path: Path, value: Any, wanted: str) -> tuple[Path, str]:
    key = ".".join(str(p) if isinstance(p, str) else f"[{p}]" for p in path).replace(".[", "[")
    return path, f"`{key}` is {_said(value)}: expected {wanted}; kept as written"


def _cr(value: Any, path: Path) -> Found:
    if isinstance(value, str):
        # 5etools' schema takes any string; one holding a number is someone's notation of a
        # challenge (a minion's `"M1"`, Conflux's Skeletons), shown as written and said nothing
        # of; one holding none (`"banana"`) is no challenge rating at all
        said = value.strip()
        if said not in CR_WORDS and not _CR.fullmatch(said) and not _DIGIT.search(said):
            yield _want(path, value, _CR_WANTED)
    elif isinstance(value, dict):
        if "cr" not in value:
            yield _want(path, value, "an object with a `cr` (and `lair`, `coven`, `xp`)")
        for key in ("cr", "lair", "coven"):
            if key in value:
                yield from _cr(value[key], (*path, key))
        for key in ("xp", "xpLair"):
            if key in value and not _int(value[key]):
                yield _want((*path, key), value[key], "a whole number of experience points")


def _size(value: Any, path: Path) -> Found:
    for i, size in enumerate(value if isinstance(value, list) else [value]):
        at = (*path, i) if isinstance(value, list) else path
        if size not in SIZES:
            yield _want(at, size, f"a size code, one of {', '.join(SIZES)}")


def _alignment(value: Any, path: Path) -> Found:
    for i, part in enumerate(value if isinstance(value, list) else []):
        if isinstance(part, dict):
            if "special" in part:
                continue
            yield from _alignment(part.get("alignment"), (*path, i, "alignment"))
        elif part not in ALIGNMENTS:
            wanted = f"an alignment code, one of {', '.join(ALIGNMENTS)}, or an object"
            yield _want((*path, i), part, wanted)


def _ac(value: Any, path: Path) -> Found:
    for i, part in enumerate(value if isinstance(value, list) else []):
        if isinstance(part, dict):
            if "special" not in part and not _int(part.get("ac")):
                yield _want((*path, i, "ac"), part.get("ac"), "a whole number")
        elif not _int(part):
            yield _want((*path, i), part, "a whole number, or an object with `ac`")


def _hp(value: Any, path: Path) -> Found:
    if not isinstance(value, dict) or "special" in value:
        return
    if not _int(value.get("average")):
        yield _want((*path, "average"), value.get("average"), "a whole number")
    if "formula" in value and not isinstance(value["formula"], str):
        yield _want((*path, "formula"), value["formula"], "a dice formula such as '2d8 + 2'")


def _speed(value: Any, path: Path) -> Found:
    if not isinstance(value, dict):
        return
    for mode in SPEED_MODES:
        if mode not in value:
            continue
        speed = value[mode]
        if isinstance(speed, dict):
            if not _int(speed.get("number")):
                yield _want((*path, mode, "number"), speed.get("number"), "a whole number of feet")
        elif not (_int(speed) or speed is True):
            yield _want((*path, mode), speed, "a whole number of feet, or `{number, condition}`")


def _score(value: Any, path: Path) -> Found:
    if isinstance(value, dict) and not isinstance(value.get("special"), str):
        yield _want(path, value, 'a whole number, or `{"special": "…"}`')


def _level(value: Any, path: Path) -> Found:
    if _int(value) and value < 0:
        yield _want(path, value, "a spell level of 0 (a cantrip) or more")


def _school(value: Any, path: Path) -> Found:
    if isinstance(value, str) and value.strip().title() in SCHOOL_NAMES:
        code = "V" if value.strip().title() == "Evocation" else value.strip()[0].upper()
        yield _want(path, value, f"the school's code ({code!r}), as 5etools writes it")


def _time(value: Any, path: Path) -> Found:
    for i, part in enumerate(value if isinstance(value, list) else []):
        if not isinstance(part, dict) or not isinstance(part.get("unit"), str):
            yield _want((*path, i), part, "an object with a `unit` ('action', 'minute'…)")
        elif "number" in part and not _int(part["number"]):
            yield _want((*path, i, "number"), part["number"], "a whole number")


def _range(value: Any, path: Path) -> Found:
    if not isinstance(value, dict):
        return
    if value.get("type") not in RANGE_TYPES:
        yield _want((*path, "type"), value.get("type"), f"one of {', '.join(RANGE_TYPES)}")
    distance = value.get("distance")
    if distance is not None and not isinstance(distance, dict):
        yield _want((*path, "distance"), distance, "an object with a `type` and an `amount`")
    elif isinstance(distance, dict):
        if not isinstance(distance.get("type"), str):
            yield _want((*path, "distance", "type"), distance.get("type"), "a unit ('feet'…)")
        if "amount" in distance and not _int(distance["amount"]):
            yield _want((*path, "distance", "amount"), distance["amount"], "a whole number")


def _duration(value: Any, path: Path) -> Found:
    for i, part in enumerate(value if isinstance(value, list) else []):
        if not isinstance(part, dict):
            yield _want((*path, i), part, "an object with a `type`")
            continue
        if part.get("type") not in DURATION_TYPES:
            wanted = f"one of {', '.join(DURATION_TYPES)}"
            yield _want((*path, i, "type"), part.get("type"), wanted)
        timed = part.get("duration")
        if isinstance(timed, dict) and "amount" in timed and not _int(timed["amount"]):
            yield _want((*path, i, "duration", "amount"), timed["amount"], "a whole number")
        if "concentration" in part and not isinstance(part["concentration"], bool):
            yield _want((*path, i, "concentration"), part["concentration"], "true or false")


def _components(value: Any, path: Path) -> Found:
    if not isinstance(value, dict):
        return
    for key in ("v", "s", "r"):
        if key in value and not isinstance(value[key], bool):
            yield _want((*path, key), value[key], "true or false")
    material = value.get("m")
    if isinstance(material, dict):
        if not isinstance(material.get("text"), str):
            yield _want((*path, "m", "text"), material.get("text"), "the material's words")
        if "cost" in material and not _number(material["cost"]):
            yield _want((*path, "m", "cost"), material["cost"], "a number of copper pieces")
    elif material is not None and not isinstance(material, bool | str):
        yield _want((*path, "m"), material, "the material's words, or an object with `text`")


def _rarity(value: Any, path: Path) -> Found:
    if isinstance(value, str) and value not in RARITIES:
        yield _want(path, value, f"one of {', '.join(repr(r) for r in RARITIES)}")


def _prerequisite(value: Any, path: Path) -> Found:
    if not isinstance(value, list):
        yield _want(path, value, "an array of prerequisite objects")
        return
    for i, part in enumerate(value):
        if not isinstance(part, dict):
            yield _want((*path, i), part, "a prerequisite object (`level`, `race`, `ability`…)")
            continue
        for key in part:
            if key not in PREREQUISITES:
                wanted = "a prerequisite 5etools knows (`level`, `race`, `ability`, `spell`…)"
                yield (*path, i, key), f"`{key}` is not a prerequisite: expected {wanted}; ignored"
        level = part.get("level")
        if isinstance(level, dict):
            if not _int(level.get("level")):
                yield _want((*path, i, "level", "level"), level.get("level"), "a whole number")
        elif "level" in part and not _int(level):
            yield _want((*path, i, "level"), level, "a whole number, or `{level, class}`")
        for j, scores in enumerate(part.get("ability") or []):
            for ability, score in scores.items() if isinstance(scores, dict) else ():
                if ability not in ABILITIES or not _int(score):
                    wanted = "an ability (str, dex…) and a whole-number score"
                    yield _want((*path, i, "ability", j, ability), score, wanted)


_MONSTER: dict[str, Callable[[Any, Path], Found]] = {
    "cr": _cr, "size": _size, "alignment": _alignment, "ac": _ac, "hp": _hp, "speed": _speed,
    **dict.fromkeys(ABILITIES, _score),
}  # fmt: skip
CHECKS: dict[str, dict[str, Callable[[Any, Path], Found]]] = {
    "monster": _MONSTER,
    "spell": {
        "level": _level, "school": _school, "time": _time, "range": _range,
        "duration": _duration, "components": _components,
    },
    "item": {"rarity": _rarity},
    "race": {"size": _size, "speed": _speed},
    "subrace": {"speed": _speed},
}  # fmt: skip
CHECKS["baseitem"] = CHECKS["magicvariant"] = CHECKS["item"]
PREREQUISITE_KINDS = ("feat", "optionalfeature", "background", "race", "reward", "charoption")


def value_problems(kind: str, raw: dict[str, Any]) -> list[tuple[Path, str]]:
    """Each value of `raw` (an object of 5etools key `kind`) the schema would refuse: its path
    inside `raw` and what to say."""
    found: list[tuple[Path, str]] = []
    for key, check in CHECKS.get(kind, {}).items():
        if raw.get(key) is not None:
            found += check(raw[key], (key,))
    if kind in PREREQUISITE_KINDS and raw.get("prerequisite") is not None:
        found += _prerequisite(raw["prerequisite"], ("prerequisite",))
    return found
