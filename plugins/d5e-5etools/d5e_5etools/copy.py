"""`_copy` and `_mod`, as 5etools' `_doc/Spec_Copy.md` defines them.

An entry with `_copy: {name, source, _mod, _preserve, _templates}` is its base (deep-copied, less
the fields a copy does not inherit unless `_preserve`d), with the entry's own root fields laid
over it, then the templates applied, then every `_mod` in the order written: the keys of
`_mod` in file order, and the operations of each key in order. Arrays keep their order.

Everything here works on plain 5etools JSON; a problem is raised as `ModError` with the JSON
path (from the entry) where it was written, and the caller locates it in the file.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import msgspec

Path = tuple[str | int, ...]

# Fields a copy drops unless `_preserve` keeps them (page numbers and reprint notes are of the
# original, not of the copy).
NOT_COPIED = frozenset(
    {
        "page", "otherSources", "additionalSources", "srd", "srd52", "basicRules",
        "basicRules2024", "reprintedAs", "hasFluff", "hasFluffImages", "hasToken",
        "_versions", "isReprinted", "legacy",
    }
)  # fmt: skip

# Text properties "*" applies to (creatures; other types have their `entries`).
TEXT_PROPS = (
    "action", "bonus", "reaction", "trait", "legendary", "mythic", "variant", "spellcasting",
    "actionHeader", "bonusHeader", "reactionHeader", "legendaryHeader", "mythicHeader",
    "entries", "entriesHigherLevel", "additionalEntries",
)  # fmt: skip

ABILITIES = ("str", "dex", "con", "int", "wis", "cha")
SIZES = ("F", "D", "T", "S", "M", "L", "H", "G", "C", "V")

MODES = frozenset(
    {
        "replaceTxt", "appendStr", "prependArr", "appendArr", "insertArr", "replaceArr",
        "replaceOrAppendArr", "appendIfNotExistsArr", "removeArr", "renameArr", "setProp",
        "calculateProp", "scalarAddProp", "scalarMultProp", "addSenses", "addSkills",
        "addSaves", "addAllSaves", "addAllSkills", "addSpells", "removeSpells",
        "replaceSpells", "scalarAddHit", "scalarAddDc", "maxSize", "scalarMultXp",
    }
)  # fmt: skip

CR_XP = {
    "0": 10, "1/8": 25, "1/4": 50, "1/2": 100, "1": 200, "2": 450, "3": 700, "4": 1100,
    "5": 1800, "6": 2300, "7": 2900, "8": 3900, "9": 5000, "10": 5900, "11": 7200,
    "12": 8400, "13": 10000, "14": 11500, "15": 13000, "16": 15000, "17": 18000,
    "18": 20000, "19": 22000, "20": 25000, "21": 33000, "22": 41000, "23": 50000,
    "24": 62000, "25": 75000, "26": 90000, "27": 105000, "28": 120000, "29": 135000,
    "30": 155000,
}  # fmt: skip


_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode


def _clone(value: Any) -> Any:
    """A deep copy of JSON values (a round trip through msgspec: faster than `deepcopy`)."""
    return _decode(_encode(value))


class ModError(Exception):
    """A `_mod` that cannot be applied: what is wrong, and where it was written."""

    def __init__(self, message: str, path: Path = ()) -> None:
        super().__init__(message)
        self.message = message
        self.path = path


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def _regex(pattern: str, flags: str = "", path: Path = ()) -> re.Pattern[str]:
    py = 0
    for f in flags or "":
        py |= {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL}.get(f, 0)
    try:
        return re.compile(pattern, py)
    except re.error as exc:
        raise ModError(f"invalid regular expression {pattern!r}: {exc}", path) from exc


def _js_replacement(text: str) -> str:
    """JavaScript's `$1`, `$&` in a replacement → Python's `\\g<1>`, `\\g<0>`."""
    text = text.replace("\\", "\\\\")
    text = re.sub(r"\$(\d+)", r"\\g<\1>", text)
    return text.replace("$&", r"\g<0>")


def _walk_strings(value: Any, fn: Callable[[str], str], names: bool = False) -> Any:
    """Every string of `value` through `fn` (object keys aside; `name` fields only if asked)."""
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, list):
        return [_walk_strings(v, fn, names) for v in value]
    if isinstance(value, dict):
        return {
            k: (v if (k == "name" and not names) or k == "type" else _walk_strings(v, fn, names))
            for k, v in value.items()
        }
    return value


def _name_of(item: Any) -> str | None:
    name = item.get("name") if isinstance(item, dict) else None
    return name if isinstance(name, str) else None


def _matches(item: Any, wanted: Any) -> bool:
    """An array item is the one named: by `name` (case-insensitively), else by value."""
    if isinstance(wanted, dict) and "regex" in wanted:
        name = _name_of(item) if _name_of(item) is not None else item
        return isinstance(name, str) and bool(
            _regex(wanted["regex"], wanted.get("flags", "")).search(name)
        )
    name = _name_of(item)
    if name is not None and isinstance(wanted, str):
        return name.lower() == wanted.lower()
    if isinstance(item, str) and isinstance(wanted, str):
        return item.lower() == wanted.lower()
    return bool(item == wanted)


def _replace_arr(arr: list[Any], op: dict[str, Any], path: Path) -> bool:
    """Replace the item named by `op["replace"]` with `op["items"]`; False when none matched."""
    wanted = op.get("replace")
    items = _as_list(op.get("items", []))
    if isinstance(wanted, dict) and "index" in wanted:
        index = wanted["index"]
        if not isinstance(index, int) or not 0 <= index < len(arr):
            return False
        arr[index : index + 1] = items
        return True
    for i, item in enumerate(arr):
        if _matches(item, wanted):
            arr[i : i + 1] = items
            return True
    return False


def _array(obj: dict[str, Any], prop: str, create: bool, path: Path) -> list[Any]:
    value = obj.get(prop)
    if value is None and create:
        obj[prop] = value = []
    if not isinstance(value, list):
        what = "missing" if value is None else f"a {type(value).__name__}, not an array"
        raise ModError(f"cannot modify {prop!r}: it is {what}", path)
    return value


def _get_prop(obj: dict[str, Any], dotted: str) -> tuple[dict[str, Any], str]:
    parts = dotted.split(".")
    for part in parts[:-1]:
        nxt = obj.get(part)
        if not isinstance(nxt, dict):
            nxt = obj[part] = {}
        obj = nxt
    return obj, parts[-1]


def _number(value: Any) -> tuple[float, str] | None:
    """A number or a number-like string (`"+4"`) → (value, how it was written)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value), "number"
    if isinstance(value, str) and re.fullmatch(r"[+-]?\d+(\.\d+)?", value.strip()):
        return float(value), "signed" if value.strip().startswith(("+", "-")) else "string"
    return None


def _written(value: float, how: str, floor: bool = False) -> Any:
    if floor:
        value = math.floor(value)
    number: int | float = int(value) if float(value).is_integer() else value
    if how == "signed":
        return f"{number:+}" if isinstance(number, int) else f"{number:+g}"
    return str(number) if how == "string" else number


def _scalar(obj: dict[str, Any], prop: str, op: dict[str, Any], path: Path, mult: bool) -> None:
    scalar = op.get("scalar")
    if _number(scalar) is None:
        raise ModError("`scalar` must be a number", (*path, "scalar"))
    s = float(scalar)  # type: ignore[arg-type]
    target = obj.get(prop)
    if not isinstance(target, dict):
        raise ModError(f"cannot modify {prop!r}: it is not an object", path)
    keys = list(target) if op.get("prop") == "*" else [str(op.get("prop"))]
    for key in keys:
        holder, last = _get_prop(target, key)
        found = _number(holder.get(last))
        if found is None:
            if op.get("prop") == "*":
                continue
            raise ModError(f"{prop}.{key} is not a number", (*path, "prop"))
        value, how = found
        holder[last] = _written(value * s if mult else value + s, how, bool(op.get("floor")))


def _first_spellcasting(obj: dict[str, Any], path: Path) -> dict[str, Any]:
    blocks = obj.get("spellcasting")
    if not isinstance(blocks, list) or not blocks or not isinstance(blocks[0], dict):
        raise ModError("the creature has no spellcasting to change", path)
    return blocks[0]


def _spell_groups(block: dict[str, Any], op: dict[str, Any]) -> list[tuple[list[Any], Any]]:
    """(target list, what the op says for it) for `spells` by level, `daily`, `will`, …"""
    out = []
    for level, spec in (op.get("spells") or {}).items():
        levels = block.setdefault("spells", {})
        info = levels.setdefault(level, {"spells": []})
        out.append(
            (
                info.setdefault("spells", []),
                spec.get("spells", spec) if isinstance(spec, dict) else spec,
            )
        )
    for key in ("daily", "rest", "weekly", "yearly", "monthly", "recharge", "charges"):
        for uses, spec in (op.get(key) or {}).items():
            group = block.setdefault(key, {})
            out.append((group.setdefault(uses, []), spec))
    if "will" in op:
        out.append((block.setdefault("will", []), op["will"]))
    if "ritual" in op:
        out.append((block.setdefault("ritual", []), op["ritual"]))
    return out


def _spells(obj: dict[str, Any], op: dict[str, Any], mode: str, path: Path) -> None:
    block = _first_spellcasting(obj, path)
    for target, spec in _spell_groups(block, op):
        for item in _as_list(spec):
            if mode == "addSpells":
                if item not in target:
                    target.append(item)
            elif mode == "removeSpells":
                if item in target:
                    target.remove(item)
            elif isinstance(item, dict) and item.get("replace") in target:
                i = target.index(item["replace"])
                target[i : i + 1] = _as_list(item.get("with", []))


def _text_tags(value: Any, tag: str, add: int) -> Any:
    pattern = re.compile(r"\{@" + tag + r" ([+-]?\d+)")

    def shift(text: str) -> str:
        def sub(m: re.Match[str]) -> str:
            number = int(m[1]) + add
            shown = f"{number:+d}" if m[1].startswith(("+", "-")) else str(number)
            return "{@" + tag + " " + shown

        return pattern.sub(sub, text)

    return _walk_strings(value, shift)


def _senses(obj: dict[str, Any], op: dict[str, Any]) -> None:
    senses = obj.setdefault("senses", [])
    if not isinstance(senses, list):
        senses = obj["senses"] = [senses]
    for sense in _as_list(op.get("senses", [])):
        kind, rng = str(sense.get("type", "")).lower(), int(sense.get("range", 0))
        for i, have in enumerate(senses):
            m = re.match(r"\s*(\w+)\s+(\d+)", str(have))
            if m and m[1].lower() == kind:
                if int(m[2]) < rng:
                    senses[i] = f"{kind} {rng} ft."
                break
        else:
            senses.append(f"{kind} {rng} ft.")


def _bonus(obj: dict[str, Any], level: int) -> int:
    """A creature's proficiency bonus from its CR, times the proficiency level."""
    cr = obj.get("cr")
    cr = cr.get("cr") if isinstance(cr, dict) else cr
    try:
        value = float(eval_fraction(str(cr)))
    except ValueError:
        value = 0
    pb = 2 + max(0, math.ceil(value) - 1) // 4 if value >= 1 else 2
    return pb * level


def eval_fraction(text: str) -> float:
    if "/" in text:
        top, bottom = text.split("/", 1)
        return int(top) / int(bottom)
    return float(text)


_SKILL_ABILITY = {
    "athletics": "str", "acrobatics": "dex", "sleight of hand": "dex", "stealth": "dex",
    "arcana": "int", "history": "int", "investigation": "int", "nature": "int",
    "religion": "int", "animal handling": "wis", "insight": "wis", "medicine": "wis",
    "perception": "wis", "survival": "wis", "deception": "cha", "intimidation": "cha",
    "performance": "cha", "persuasion": "cha",
}  # fmt: skip


def _modifier(obj: dict[str, Any], ability: str) -> int:
    score = obj.get(ability)
    return (int(score) - 10) // 2 if isinstance(score, int) else 0


def _add_bonuses(obj: dict[str, Any], prop: str, wanted: dict[str, Any]) -> None:
    have = obj.setdefault(prop, {})
    for key, level in wanted.items():
        ability = key if prop == "save" else _SKILL_ABILITY.get(key, "int")
        total = _modifier(obj, ability) + _bonus(obj, int(level))
        old = _number(have.get(key))
        if old is None or old[0] < total:
            have[key] = f"{total:+d}"


def apply_mod(obj: dict[str, Any], prop: str, op: Any, path: Path) -> None:
    """One operation on `obj` (the copy being built), in place."""
    if op == "remove":
        obj.pop(prop, None)
        return
    if not isinstance(op, dict):
        raise ModError(f'a _mod operation must be an object or "remove", not {op!r}', path)
    mode = op.get("mode")
    if mode not in MODES:
        raise ModError(f"unknown _mod mode {mode!r}", (*path, "mode"))
    if prop == "*" and mode != "replaceTxt":
        raise ModError(f'"*" only takes replaceTxt, not {mode}', (*path, "mode"))
    if mode == "replaceTxt":
        pattern = _regex(str(op.get("replace", "")), str(op.get("flags", "")), (*path, "replace"))
        repl = _js_replacement(str(op.get("with", "")))
        names = bool(op.get("props")) and None in op.get("props", [])

        def fix(text: str) -> str:
            return pattern.sub(repl, text)

        for p in TEXT_PROPS if prop == "*" else (prop,):
            if p in obj:
                obj[p] = _walk_strings(obj[p], fix, names)
        return
    if mode == "appendStr":
        old = obj.get(prop)
        joiner = str(op.get("joiner", ""))
        obj[prop] = f"{old}{joiner}{op.get('str', '')}" if isinstance(old, str) else op.get("str")
        return
    items = _as_list(op.get("items", []))
    if mode in ("prependArr", "appendArr", "insertArr", "appendIfNotExistsArr"):
        arr = _array(obj, prop, True, path)
        if mode == "prependArr":
            arr[:0] = _clone(items)
        elif mode == "appendArr":
            arr.extend(_clone(items))
        elif mode == "insertArr":
            index = op.get("index")
            if not isinstance(index, int):
                raise ModError("insertArr needs an integer `index`", (*path, "index"))
            arr[index:index] = _clone(items)
        else:
            for item in items:
                if not any(_matches(have, item) or have == item for have in arr):
                    arr.append(_clone(item))
        return
    if mode in ("replaceArr", "replaceOrAppendArr"):
        arr = _array(obj, prop, mode == "replaceOrAppendArr", path)
        if not _replace_arr(arr, _clone(op), path):
            if mode == "replaceOrAppendArr":
                arr.extend(_clone(items))
            else:
                raise ModError(
                    f"{prop} has no item {op.get('replace')!r} to replace", (*path, "replace")
                )
        return
    if mode == "removeArr":
        arr = _array(obj, prop, bool(op.get("force")), path)
        for wanted in _as_list(op.get("names", op.get("items", []))):
            for i, item in enumerate(arr):
                if _matches(item, wanted):
                    del arr[i]
                    break
            else:
                if not op.get("force"):
                    raise ModError(f"{prop} has no item {wanted!r} to remove", (*path, "names"))
        return
    if mode == "renameArr":
        arr = _array(obj, prop, False, path)
        for rename in _as_list(op.get("renames", [])):
            for item in arr:
                if isinstance(item, dict) and _matches(item, rename.get("rename")):
                    item["name"] = rename.get("with")
                    break
            else:
                raise ModError(
                    f"{prop} has no item {rename.get('rename')!r} to rename", (*path, "renames")
                )
        return
    if mode == "setProp":
        target = obj if prop == "_" else obj.setdefault(prop, {})
        if not isinstance(target, dict):
            raise ModError(f"cannot set a field of {prop!r}: it is not an object", path)
        holder, last = _get_prop(target, str(op.get("prop", "")))
        holder[last] = _clone(op.get("value"))
        return
    if mode == "calculateProp":
        target = obj.setdefault(prop, {})
        formula = str(op.get("formula", ""))
        dex = _modifier(obj, "dex")
        expr = formula.replace("<$prof_bonus$>", str(_bonus(obj, 1))).replace(
            "<$dex_mod$>", str(dex)
        )
        if not re.fullmatch(r"[\d\s+\-*/()]+", expr):
            raise ModError(f"cannot calculate {formula!r}", (*path, "formula"))
        target[str(op.get("prop"))] = int(
            eval(expr, {"__builtins__": {}})
        )  # digits and + - * / only
        return
    if mode in ("scalarAddProp", "scalarMultProp"):
        _scalar(obj, prop, op, path, mode == "scalarMultProp")
        return
    if mode == "addSenses":
        _senses(obj, op)
        return
    if mode in ("addSkills", "addSaves"):
        key = "skill" if mode == "addSkills" else "save"
        _add_bonuses(obj, key, op.get("skills" if key == "skill" else "saves") or {})
        return
    if mode in ("addAllSkills", "addAllSaves"):
        level = int(op.get((mode == "addAllSaves" and "saves") or "skills", 1))
        every = list(_SKILL_ABILITY) if mode == "addAllSkills" else list(ABILITIES)
        _add_bonuses(obj, "skill" if mode == "addAllSkills" else "save", {n: level for n in every})
        return
    if mode in ("addSpells", "removeSpells", "replaceSpells"):
        _spells(obj, op, mode, path)
        return
    if mode in ("scalarAddHit", "scalarAddDc"):
        tag = "hit" if mode == "scalarAddHit" else "dc"
        add = op.get("scalar")
        if not isinstance(add, int):
            raise ModError("`scalar` must be an integer", (*path, "scalar"))
        for p in TEXT_PROPS:
            if p in obj:
                obj[p] = _text_tags(obj[p], tag, add)
        return
    if mode == "maxSize":
        wanted = str(op.get("max", ""))
        if wanted not in SIZES:
            raise ModError(f"unknown size {wanted!r}", (*path, "max"))
        sizes = _as_list(obj.get("size", []))
        obj["size"] = [
            s if s in SIZES and SIZES.index(s) <= SIZES.index(wanted) else wanted for s in sizes
        ]
        obj["size"] = list(dict.fromkeys(obj["size"]))
        return
    if mode == "scalarMultXp":
        cr = obj.get("cr")
        cr_text = str(cr.get("cr") if isinstance(cr, dict) else cr)
        xp = obj.get("xp", CR_XP.get(cr_text))
        if not isinstance(xp, int | float):
            raise ModError("the creature has no XP to multiply", path)
        value = xp * float(op.get("scalar", 1))
        obj["xp"] = (
            math.floor(value) if op.get("floor") else (int(value) if value.is_integer() else value)
        )
        return


def apply_mods(obj: dict[str, Any], mods: Any, path: Path) -> None:
    """Every `_mod`, keys in the order written, each key's operations in order."""
    if not isinstance(mods, dict):
        raise ModError("_mod must be an object", path)
    for prop, ops in mods.items():
        for i, op in enumerate(_as_list(ops)):
            where = (*path, prop, i) if isinstance(ops, list) else (*path, prop)
            apply_mod(obj, prop, op, where)


def derive(
    base: dict[str, Any], entry: dict[str, Any], templates: list[dict[str, Any]]
) -> dict[str, Any]:
    """`entry` (which has `_copy`) laid over `base`: the resolved 5etools object.

    `templates` are the `_templates` already looked up (each with its `apply`)."""
    meta = entry["_copy"]
    preserve = meta.get("_preserve") or {}
    keep_all = preserve.get("*") is True
    result = {
        k: _clone(v)
        for k, v in base.items()
        if k != "_copy" and (keep_all or k not in NOT_COPIED or preserve.get(k))
    }
    for key, value in entry.items():
        if key != "_copy":
            result[key] = _clone(value)
    for i, template in enumerate(templates):
        apply = template.get("apply") or {}
        for key, value in (apply.get("_root") or {}).items():
            result[key] = _clone(value)
        if apply.get("_mod"):
            apply_mods(result, apply["_mod"], ("_copy", "_templates", i))
    if "_mod" in meta:
        apply_mods(result, meta["_mod"], ("_copy", "_mod"))
    return result
