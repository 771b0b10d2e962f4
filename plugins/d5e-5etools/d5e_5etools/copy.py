"""`_copy`, `_mod` and `_versions`, as 5etools' `_doc/Spec_Copy.md` defines them and its
`DataUtil.generic.copyApplier.getCopy` applies them.

An entry with `_copy: {name, source, _mod, _preserve, _templates}` is its own root fields, then
the base's fields it does not set (a field set to `null` is removed; the fields of
`NOT_COPIED` only when `_preserve`d), then the templates' `_root` fields it does not set, then
every `_mod`: the templates' operations joined to the copy's own (after them, per key), keys in
the order written except `"_"` and `"*"`, which come last in that order; each key's operations
in order. `<$variables$>` in the operations are resolved against the copy before any applies.
Arrays keep their order. `_versions` are more entries made the same way from their parent.

Everything here works on plain 5etools JSON; a problem is raised as `ModError` with the JSON
path (from the entry) where it was written, and the caller locates it in the file.
"""

from __future__ import annotations

import contextlib
import math
import re
import threading
from collections.abc import Callable, Iterator
from re import _constants, _parser  # type: ignore[attr-defined]
from typing import Any

import msgspec

Path = tuple[str | int, ...]

# Fields a copy takes from its base only when `_preserve`d (5etools'
# `_MERGE_REQUIRES_PRESERVE_BASE`, and per type `_MERGE_REQUIRES_PRESERVE`): page numbers,
# reprint notes and tokens are of the original, not of the copy.
NOT_COPIED = frozenset(
    {
        "page", "otherSources", "referenceSources", "srd", "srd52", "basicRules",
        "basicRules2024", "reprintedAs", "hasFluff", "hasFluffImages", "hasToken",
        "tokenCredit", "tokenCustom", "foundryTokenScale", "altArt", "_versions",
    }
)  # fmt: skip
NOT_COPIED_BY_KIND = {
    "monster": frozenset(
        {"legendaryGroup", "environment", "soundClip", "altArt", "variant",
         "dragonCastingColor", "familiar"}
    ),
    "item": frozenset({"lootTables", "tier"}),
    "magicvariant": frozenset({"lootTables", "tier"}),
    "variant": frozenset({"lootTables", "tier"}),
}  # fmt: skip

# The properties a `"*"` mod applies to (5etools' `COPY_ENTRY_PROPS`: a creature's text).
TEXT_PROPS = (
    "action", "bonus", "reaction", "trait", "legendary", "mythic", "variant", "spellcasting",
    "actionHeader", "bonusHeader", "reactionHeader", "legendaryHeader", "mythicHeader",
)  # fmt: skip

ABILITIES = ("str", "dex", "con", "int", "wis", "cha")
SIZES = ("T", "S", "M", "L", "H", "G", "V")  # 5etools' `Parser.SIZE_ABVS`, in order

MODES = frozenset(
    {
        "replaceTxt", "appendStr", "prependArr", "appendArr", "insertArr", "replaceArr",
        "replaceOrAppendArr", "appendIfNotExistsArr", "removeArr", "renameArr", "setProp",
        "calculateProp", "scalarAddProp", "scalarMultProp", "addSenses", "addSkills",
        "addSaves", "addAllSaves", "addAllSkills", "addSpells", "removeSpells",
        "replaceSpells", "scalarAddHit", "scalarAddDc", "maxSize", "scalarMultXp",
        "replaceName", "prefixSuffixStringProp",
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


MAX_COPIED = 256 * 1024 * 1024
"""The bytes (as JSON) the copies of one load, or of one install, may take from their bases: a
copy holds all of its base, so a chain of copies each adding a little, or many copies of one
large object, made gigabytes of a small file. Real homebrew copies a few MB."""


class Copying:
    """What the copies of one load or install may still take (`copying`): the bytes of their
    bases, and the steps of the files' regular expressions (`REGEX_STEPS`)."""

    def __init__(self) -> None:
        self.left = MAX_COPIED
        self.steps = REGEX_STEPS


_COPYING = threading.local()


@contextlib.contextmanager
def copying(budget: Copying | None = None) -> Iterator[Copying]:
    """The copies derived inside share `budget` (a new one: `MAX_COPIED`)."""
    before = getattr(_COPYING, "budget", None)
    _COPYING.budget = budget = budget or Copying()
    try:
        yield budget
    finally:
        _COPYING.budget = before


def _copied(value: Any, path: Path) -> Any:
    """`_clone` of a base's value, counted against the current `copying` budget."""
    data = _encode(value)
    budget = getattr(_COPYING, "budget", None)
    if budget is not None:
        budget.left -= len(data)
        if budget.left < 0:
            raise ModError(
                f"the copies copy more than {MAX_COPIED // 2**20:,} MiB of their bases (the "
                "limit): a chain of copies each adding a little, or many copies of one large "
                "object; nothing was installed",
                path,
            )
    return _decode(data)


class ModError(Exception):
    """A `_mod` that cannot be applied: what is wrong, and where it was written."""

    def __init__(self, message: str, path: Path = ()) -> None:
        super().__init__(message)
        self.message = message
        self.path = path


class MissingTarget(ModError):
    """A `_mod` whose target is not in the copied object (no item of that name, no
    spellcasting): well formed, but written for a fuller base than the one found."""


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


REGEX_STEPS = 10**10
"""The estimated steps (see `_Regex.charge`) the files' regular expressions may take in one load
or one install (a `Copying`): ~3 s of CPU at worst, while Python's `re` holds the interpreter
(no request is answered meanwhile). Real homebrew's take thousands. Each load has its own: a
hostile file spending its share leaves every other install its whole (until session
twenty-three it was one budget a minute for the whole process)."""
_REPEATS = {_constants.MAX_REPEAT, _constants.MIN_REPEAT, _constants.POSSESSIVE_REPEAT}
_BOUNDED = 16
"""A repetition of at most this many is counted as a fixed length (`{1,3}`)."""


class _Regex:
    """A file's regular expression that cannot backtrack without bound: at most one unbounded
    repetition, none inside another, and the work of each run estimated and charged first."""

    def __init__(self, pattern: re.Pattern[str], unbounded: int, path: Path) -> None:
        self.pattern = pattern
        self.unbounded = unbounded
        self.path = path

    def charge(self, text: str) -> None:
        """Before a run over `text`: its worst case, text length × pattern length, or squared
        for one unbounded repetition (`.*x` over text without `x`: each start scans the rest)."""
        n = len(text) + 1
        steps = n * n if self.unbounded else n * (len(self.pattern.pattern) + 1)
        budget = getattr(_COPYING, "budget", None)
        if budget is None:
            # outside a load or an install (a caller of `derive` of its own): this run alone
            budget = Copying()
        if steps > budget.steps:
            raise ModError(
                f"regular expression {self.pattern.pattern!r} over too much text ({len(text):,}"
                " characters; the file's regular expressions took their share of this install):"
                " not run",
                self.path,
            )
        budget.steps -= steps

    def sub(self, repl: str, text: str) -> str:
        self.charge(text)
        return self.pattern.sub(repl, text)

    def search(self, text: str) -> re.Match[str] | None:
        self.charge(text)
        return self.pattern.search(text)


def _backtracking(parsed: Any, inside: bool = False) -> tuple[str | None, int]:
    """Why a parsed pattern could backtrack without bound (None: it cannot), and how many
    unbounded repetitions it holds."""
    unbounded = 0
    for op, av in parsed:
        inner: list[Any] = []
        if op in (_constants.GROUPREF, _constants.GROUPREF_EXISTS):
            return "a backreference", unbounded
        if op in _REPEATS:
            _low, high, sub = av
            if high > 1 and inside:
                return "a repetition inside a repetition", unbounded
            unbounded += high > _BOUNDED
            why, more = _backtracking(sub, inside or high > 1)
            if why:
                return why, unbounded
            unbounded += more
            continue
        if op is _constants.BRANCH:
            if inside:
                return "alternatives inside a repetition", unbounded
            inner = list(av[1])
        elif op is _constants.SUBPATTERN:
            inner = [av[-1]]
        elif op in (_constants.ASSERT, _constants.ASSERT_NOT):
            inner = [av[1]]
        elif op is _constants.ATOMIC_GROUP:
            inner = [av]
        for sub in inner:
            why, more = _backtracking(sub, inside)
            if why:
                return why, unbounded
            unbounded += more
    return None, unbounded


def _regex(pattern: Any, flags: Any = "", path: Path = ()) -> _Regex:
    """A `_mod`'s regular expression (JavaScript's, as 5etools runs it), refused when it could
    backtrack without bound: Python's `re` holds the interpreter while it matches, and `(a+)+$`
    over 40 `a`s and a `!` takes days."""
    py = 0
    for f in str(flags or ""):
        py |= {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL}.get(f, 0)
    try:
        compiled = re.compile(str(pattern), py)
        why, unbounded = _backtracking(_parser.parse(str(pattern), py))
    except re.error as exc:
        raise ModError(f"invalid regular expression {pattern!r}: {exc}", path) from exc
    if why is None and unbounded > 1:
        why = "more than one unbounded repetition (*, + or {n,})"
    if why is not None:
        raise ModError(
            f"regular expression {str(pattern)!r} refused: {why} can take d5e hours to run; "
            "write it without",
            path,
        )
    return _Regex(compiled, unbounded, path)


def _js_replacement(text: str) -> str:
    """JavaScript's `$1`, `$<name>`, `$&`, `$$` in a replacement → Python's `\\g<…>`."""
    out = []
    i = 0
    while i < len(text):
        c = text[i]
        nxt = text[i + 1] if i + 1 < len(text) else ""
        if c == "\\":
            out.append("\\\\")
        elif c == "$" and nxt == "$":
            out.append("$")
            i += 1
        elif c == "$" and nxt == "&":
            out.append(r"\g<0>")
            i += 1
        elif c == "$" and nxt.isdigit():
            digits = re.match(r"\d{1,2}", text[i + 1 :])
            assert digits is not None
            out.append(rf"\g<{int(digits[0])}>")
            i += len(digits[0])
        elif c == "$" and nxt == "<" and ">" in text[i:]:
            end = text.index(">", i)
            out.append(rf"\g<{text[i + 2 : end]}>")
            i = end
        else:
            out.append(c)
        i += 1
    return "".join(out)


def _walk_strings(value: Any, fn: Callable[[str], str]) -> Any:
    """Every string of `value` through `fn` (as 5etools' walker; `type` keys are left alone)."""
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, list):
        return [_walk_strings(v, fn) for v in value]
    if isinstance(value, dict):
        return {k: v if k == "type" else _walk_strings(v, fn) for k, v in value.items()}
    return value


def split_by_tags(text: str) -> list[str]:
    """`"a {@b c {@d e}} f"` → `["a ", "{@b c {@d e}}", " f"]` (5etools' `splitByTags`)."""
    parts: list[str] = []
    depth = 0
    start = 0
    i = 0
    while i < len(text):
        if text.startswith("{@", i):
            if depth == 0 and i > start:
                parts.append(text[start:i])
                start = i
            depth += 1
            i += 2
            continue
        if text[i] == "}" and depth:
            depth -= 1
            if depth == 0:
                parts.append(text[start : i + 1])
                start = i + 1
        i += 1
    if start < len(text):
        parts.append(text[start:])
    return parts


def _replacer(op: dict[str, Any], path: Path) -> Callable[[str], str]:
    """A `replaceTxt`'s replacement of one string: outside tags unless `tagInsensitive`."""
    pattern = _regex(op.get("replace", ""), op.get("flags", ""), (*path, "replace"))
    repl = _js_replacement(str(op.get("with", "")))
    if op.get("tagInsensitive"):
        return lambda text: pattern.sub(repl, text)

    def outside_tags(text: str) -> str:
        if "{@" not in text:
            return pattern.sub(repl, text)
        return "".join(
            p if p.startswith("{@") else pattern.sub(repl, p) for p in split_by_tags(text)
        )

    return outside_tags


# ---- property paths (`_mod` keys may be dotted: `"hp.average"`) ------------------------------


def _get(obj: Any, keys: list[str]) -> Any:
    for key in keys:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def _set(obj: dict[str, Any], keys: list[str], value: Any) -> None:
    for key in keys[:-1]:
        nxt = obj.get(key)
        if not isinstance(nxt, dict):
            nxt = obj[key] = {}
        obj = nxt
    obj[keys[-1]] = value


def _array_at(obj: dict[str, Any], keys: list[str], path: Path) -> list[Any]:
    value = _get(obj, keys)
    if not isinstance(value, list):
        what = "missing" if value is None else f"a {type(value).__name__}, not an array"
        raise ModError(f"cannot modify {'.'.join(keys)!r}: it is {what}", path)
    return value


def _named(item: Any) -> str | None:
    name = item.get("name") if isinstance(item, dict) else None
    return name if isinstance(name, str) and name else None


# ---- numbers -----------------------------------------------------------------------------------


def _js_number(value: Any) -> float | None:
    """JavaScript's `Number(value)` for the values found in 5etools data (None for NaN)."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return 0.0
        try:
            return float(text)
        except ValueError:
            return None
    return None


def _js_shown(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def eval_fraction(text: str) -> float:
    if "/" in text:
        top, bottom = text.split("/", 1)
        return int(top) / int(bottom)
    return float(text)


def _cr_number(obj: dict[str, Any]) -> float | None:
    cr = obj.get("cr")
    cr = cr.get("cr") if isinstance(cr, dict) else cr
    try:
        return eval_fraction(str(cr))
    except (ValueError, ZeroDivisionError):
        return None


def proficiency_bonus(obj: dict[str, Any]) -> int:
    """5etools' `Parser.crToPb`: 2 below CR 5, then one more every 4 CR (0 without a CR)."""
    cr = _cr_number(obj)
    if cr is None or cr < 0:
        return 0
    return 2 if cr < 5 else math.ceil(cr / 4) + 1


def _modifier(obj: dict[str, Any], ability: str) -> int:
    score = _js_number(obj.get(ability))
    return math.floor((score - 10) / 2) if score is not None else 0


def _arithmetic(expr: str, path: Path) -> float:
    """5etools' `eval(getCleanMathExpression(…))`: every character but `-+/*0-9.,` dropped."""
    clean = re.sub(r"[^-+/*0-9.,]+", "", expr).split(",")[-1]
    if not clean or not re.fullmatch(r"[-+/*0-9.]+", clean):
        raise ModError(f"cannot calculate {expr!r}", path)
    try:
        value = eval(clean, {"__builtins__": {}})  # digits and + - * / only
    except (SyntaxError, ZeroDivisionError) as exc:
        raise ModError(f"cannot calculate {expr!r}", path) from exc
    return float(value)


_SKILL_ABILITY = {
    "athletics": "str", "acrobatics": "dex", "sleight of hand": "dex", "stealth": "dex",
    "arcana": "int", "history": "int", "investigation": "int", "nature": "int",
    "religion": "int", "animal handling": "wis", "insight": "wis", "medicine": "wis",
    "perception": "wis", "survival": "wis", "deception": "cha", "intimidation": "cha",
    "performance": "cha", "persuasion": "cha",
}  # fmt: skip
_SIZE_MULT = {"L": 2, "H": 3, "G": 4}


# ---- `<$variables$>` (5etools' `variableResolver`) --------------------------------------------

_VARIABLE = re.compile(r"<\$([^$]+)\$>")


def short_name(obj: dict[str, Any], title: bool = False) -> str:
    """5etools' `Renderer.monster.getShortName`, which `<$short_name$>` and
    `<$title_short_name$>` read: "the goblin boss" (`title`: "The goblin boss"), its `shortName`
    lower-cased after "the", a named creature's first word ("Strahd") or `shortName` as written;
    a name before a comma, a dragon without its age ("the dragon" for an adult red dragon)."""
    name, short = str(obj.get("name", "")), obj.get("shortName")
    named = bool(obj.get("isNamedCreature"))
    prefix = "" if named else "The " if title else "the "
    if short is True:
        return prefix + name
    if isinstance(short, str) and short:
        return prefix + (short.title() if named and title else short.lower())
    base = re.sub(
        r"(?:adult|ancient|young) \w+ (dragon|dracolich)", r"\1", name.split(",")[0], flags=re.I
    )
    return prefix + (base.split(" ")[0] if named else base.lower())


def _variable(obj: dict[str, Any], text: str, path: Path) -> str | None:
    mode, _, detail = text.partition("__")
    if mode == "name":
        return str(obj.get("name", ""))
    if mode in ("short_name", "title_short_name"):
        return short_name(obj, mode == "title_short_name")
    if mode in ("dc", "spell_dc", "to_hit", "damage_mod"):
        if detail not in ("str", "dex", "con", "int", "wis", "cha"):
            raise ModError(f"unknown ability score {detail!r} in <${text}$>", path)
        mod = _modifier(obj, detail)
        if mode in ("dc", "spell_dc"):
            return str(8 + mod + proficiency_bonus(obj))
        if mode == "to_hit":
            total = proficiency_bonus(obj) + mod
            return f"+{total}" if total >= 0 else str(total)
        return "" if mod == 0 else f" + {mod}" if mod > 0 else f" - {abs(mod)}"
    size = _as_list(obj.get("size") or ["M"])[0]
    mult = _SIZE_MULT.get(str(size), 1)
    if mode == "damage_avg":
        expr = re.sub(
            r"\b(str|dex|con|int|wis|cha)\b",
            lambda m: str(_modifier(obj, m[1].lower())),
            detail,
            flags=re.IGNORECASE,
        )
        expr = re.sub(r"\bsize_mult\b", str(mult), expr)
        return str(math.floor(_arithmetic(expr, path)))
    if mode == "size_mult":
        return str(mult) if not detail else str(math.floor(mult * _arithmetic(detail, path)))
    return None  # not a variable 5etools knows: left as written


def resolve_variables(value: Any, obj: dict[str, Any], path: Path) -> Any:
    def sub(text: str) -> str:
        if "<$" not in text:
            return text

        def one(m: re.Match[str]) -> str:
            found = _variable(obj, m[1], path)
            return m[0] if found is None else found

        return _VARIABLE.sub(one, text)

    return _walk_strings(value, sub)


# ---- the modes ----------------------------------------------------------------------------------


def _replace_txt(obj: dict[str, Any], keys: list[str], op: dict[str, Any], path: Path) -> None:
    items = _get(obj, keys)
    if not isinstance(items, list):
        return
    fix = _replacer(op, path)
    props = op.get("props") if isinstance(op.get("props"), list) else None
    props = props if props is not None else [None, "entries", "headerEntries", "footerEntries"]
    if None in props:  # the array's own strings (`"legendaryHeader"`)
        items[:] = [fix(i) if isinstance(i, str) else i for i in items]
    for item in items:
        if isinstance(item, dict):
            for prop in props:
                if prop is not None and item.get(prop):
                    item[prop] = _walk_strings(item[prop], fix)


def _replace_name(obj: dict[str, Any], keys: list[str], op: dict[str, Any], path: Path) -> None:
    items = _get(obj, keys)
    if not isinstance(items, list):
        return
    fix = _replacer(op, path)
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("name"), str) and item["name"]:
            item["name"] = fix(item["name"])


def _replace_arr(
    obj: dict[str, Any], keys: list[str], op: dict[str, Any], path: Path, strict: bool
) -> bool:
    arr = _get(obj, keys)
    if not isinstance(arr, list):
        if strict:
            raise MissingTarget(
                f"cannot replace in {'.'.join(keys)!r}: there is no such array", path
            )
        return False
    wanted = op.get("replace")
    items = _clone(_as_list(op.get("items", [])))
    index = -1
    if isinstance(wanted, dict) and wanted.get("regex") is not None:
        pattern = _regex(wanted["regex"], wanted.get("flags", ""), (*path, "replace"))
        for i, item in enumerate(arr):
            name = _named(item) or (item if isinstance(item, str) else None)
            if name is not None and pattern.search(name):
                index = i
                break
    elif isinstance(wanted, dict) and wanted.get("index") is not None:
        index = wanted["index"] if isinstance(wanted["index"], int) else -1
        if index >= len(arr):
            index = -1
    else:
        for i, item in enumerate(arr):
            if (_named(item) == wanted) if _named(item) else item == wanted:
                index = i
                break
    if index >= 0:
        arr[index : index + 1] = items
        return True
    if strict:
        raise MissingTarget(
            f"{'.'.join(keys)} has no item {wanted!r} to replace", (*path, "replace")
        )
    return False


def _remove_arr(obj: dict[str, Any], keys: list[str], op: dict[str, Any], path: Path) -> None:
    arr = _get(obj, keys)
    if "names" in op:
        if not isinstance(arr, list):
            if op.get("force"):
                return
            raise MissingTarget(
                f"cannot remove from {'.'.join(keys)!r}: there is no such array", path
            )
        for name in _as_list(op["names"]):
            found = next((i for i, it in enumerate(arr) if _named(it) == name), None)
            if found is not None:
                del arr[found]
            elif not op.get("force"):
                raise MissingTarget(
                    f"{'.'.join(keys)} has no item {name!r} to remove", (*path, "names")
                )
    elif "items" in op:
        if not isinstance(arr, list):
            raise MissingTarget(
                f"cannot remove from {'.'.join(keys)!r}: there is no such array", path
            )
        for wanted in _as_list(op["items"]):
            if wanted in arr:
                arr.remove(wanted)
            else:
                raise MissingTarget(
                    f"{'.'.join(keys)} has no item {wanted!r} to remove", (*path, "items")
                )
    else:
        raise ModError('removeArr needs "names" or "items"', path)


def _rename_arr(obj: dict[str, Any], keys: list[str], op: dict[str, Any], path: Path) -> None:
    arr = _array_at(obj, keys, path)
    for rename in _as_list(op.get("renames", [])):
        wanted = rename.get("rename") if isinstance(rename, dict) else None
        found = next((it for it in arr if _named(it) == wanted), None)
        if found is None:
            raise MissingTarget(
                f"{'.'.join(keys)} has no item {wanted!r} to rename", (*path, "renames")
            )
        found["name"] = rename.get("with")


def _scalar(
    obj: dict[str, Any], keys: list[str], op: dict[str, Any], path: Path, mult: bool
) -> None:
    target = _get(obj, keys)
    if not isinstance(target, dict):
        return
    scalar = op.get("scalar")
    if isinstance(scalar, bool) or not isinstance(scalar, int | float):
        raise ModError("`scalar` must be a number", (*path, "scalar"))
    for key in list(target) if op.get("prop") == "*" else [str(op.get("prop"))]:
        number = _js_number(target.get(key))
        if number is None or key not in target:
            raise ModError(f"{'.'.join(keys)}.{key} is not a number", (*path, "prop"))
        out = number * scalar if mult else number + scalar
        if mult and op.get("floor"):
            out = math.floor(out)
        if isinstance(target[key], str):
            target[key] = f"{'+' if out >= 0 else ''}{_js_shown(out)}"
        else:
            target[key] = _js_shown(out)


def _senses(obj: dict[str, Any], op: dict[str, Any]) -> None:
    senses = obj.get("senses") or []
    if not isinstance(senses, list):
        senses = [senses]
    obj["senses"] = senses
    for sense in _as_list(op.get("senses", [])):
        if not isinstance(sense, dict):
            continue
        kind, rng = str(sense.get("type", "")), sense.get("range", 0)
        pattern = re.compile(re.escape(kind) + r" (\d+)", re.IGNORECASE)
        for i, have in enumerate(senses):
            m = pattern.search(str(have))
            if m:
                if int(m[1]) < (_js_number(rng) or 0):
                    senses[i] = f"{kind} {rng} ft."
                break
        else:
            senses.append(f"{kind} {rng} ft.")


def _add_bonuses(obj: dict[str, Any], prop: str, wanted: Any) -> None:
    have = obj.get(prop)
    if not isinstance(have, dict):
        have = obj[prop] = {}
    for key, level in (wanted or {}).items():
        ability = key if prop == "save" else _SKILL_ABILITY.get(key, "")
        total = int(_js_number(level) or 0) * proficiency_bonus(obj) + _modifier(obj, ability)
        shown = f"+{total}" if total >= 0 else str(total)
        old = _js_number(have.get(key)) if have.get(key) else None
        if old is None or old < total:
            have[key] = shown


def _spellcasting(obj: dict[str, Any], op: dict[str, Any], path: Path) -> dict[str, Any]:
    blocks = obj.get("spellcasting")
    if not isinstance(blocks, list) or not blocks:
        raise MissingTarget("the creature has no spellcasting to change", path)
    if op.get("name"):
        found = next(
            (b for b in blocks if isinstance(b, dict) and b.get("name") == op["name"]), None
        )
        if found is None:
            raise MissingTarget(
                f"the creature has no spellcasting named {op['name']!r}", (*path, "name")
            )
        return found
    if not isinstance(blocks[0], dict):
        raise MissingTarget("the creature has no spellcasting to change", path)
    return blocks[0]


_USES = ("recharge", "legendary", "charges", "rest", "restLong", "daily", "weekly", "monthly",
         "yearly")  # fmt: skip
_USE_KEYS = [k for i in range(1, 10) for k in (str(i), f"{i}e")]


def _sorted_lower(items: list[Any]) -> list[Any]:
    return sorted(items, key=lambda s: str(s).lower())


def _add_spells(obj: dict[str, Any], op: dict[str, Any], path: Path) -> None:
    block = _spellcasting(obj, op, path)
    for level, spec in (op.get("spells") or {}).items():
        levels = block.setdefault("spells", {})
        if level not in levels:
            levels[level] = _clone(spec)
            continue
        old = levels[level]
        for key, value in (spec or {}).items():
            if not old.get(key):
                old[key] = _clone(value)
            elif isinstance(old[key], list):
                old[key] = _sorted_lower(old[key] + _clone(_as_list(value)))
            elif isinstance(old[key], dict):
                raise ModError(f"spells.{level}.{key} is not an array", (*path, "spells"))
            else:
                old[key] = _clone(value)
    for key in ("constant", "will", "ritual"):
        for spell in op.get(key) or []:
            block.setdefault(key, []).append(spell)
    for key in _USES:
        if not op.get(key):
            continue
        group = block.setdefault(key, {})
        for uses in _USE_KEYS:
            for spell in op[key].get(uses) or []:
                group.setdefault(uses, []).append(spell)


def _replace_spells(obj: dict[str, Any], op: dict[str, Any], path: Path) -> None:
    if not isinstance(obj.get("spellcasting"), list) or not obj["spellcasting"]:
        raise MissingTarget("the creature has no spellcasting to change", path)
    block = obj["spellcasting"][0]

    def replace(target: Any, meta: dict[str, Any], where: Path) -> None:
        if not isinstance(target, list) or meta.get("replace") not in target:
            raise MissingTarget(f"no spell {meta.get('replace')!r} to replace", where)
        i = target.index(meta["replace"])
        target[i : i + 1] = _clone(_as_list(meta.get("with", [])))
        target.sort(key=lambda s: str(s).lower())

    for level, metas in (op.get("spells") or {}).items():
        info = (block.get("spells") or {}).get(level)
        if isinstance(info, dict):
            for meta in metas:
                replace(info.get("spells"), meta, (*path, "spells", level))
    for uses in _USE_KEYS:
        for meta in (op.get("daily") or {}).get(uses) or []:
            replace((block.get("daily") or {}).get(uses), meta, (*path, "daily", uses))


def _remove_spells(obj: dict[str, Any], op: dict[str, Any], path: Path) -> None:
    if not isinstance(obj.get("spellcasting"), list) or not obj["spellcasting"]:
        raise MissingTarget("the creature has no spellcasting to change", path)
    block = obj["spellcasting"][0]
    for level, spells in (op.get("spells") or {}).items():
        info = (block.get("spells") or {}).get(level)
        if isinstance(info, dict) and isinstance(info.get("spells"), list):
            info["spells"] = [s for s in info["spells"] if s not in spells]
    for key in ("constant", "will", "ritual"):
        if op.get(key) and isinstance(block.get(key), list):
            block[key] = [s for s in block[key] if s not in op[key]]
    for key in _USES:
        group = block.get(key)
        if not op.get(key) or not isinstance(group, dict):
            continue
        for uses in _USE_KEYS:
            if op[key].get(uses) and isinstance(group.get(uses), list):
                group[uses] = [s for s in group[uses] if s not in op[key][uses]]


_HIT = re.compile(r"\{@hit ([-+]?\d+)\}")
_DC = re.compile(r"\{@dc (\d+)(?:\|[^}]+)?\}")


def _scalar_tags(
    obj: dict[str, Any], keys: list[str] | None, op: dict[str, Any], path: Path
) -> None:
    scalar = op.get("scalar")
    if isinstance(scalar, bool) or not isinstance(scalar, int | float):
        raise ModError("`scalar` must be a number", (*path, "scalar"))
    pattern, tag = (_HIT, "hit") if op["mode"] == "scalarAddHit" else (_DC, "dc")

    def shift(text: str) -> str:
        return pattern.sub(lambda m: f"{{@{tag} {_js_shown(int(m[1]) + scalar)}}}", text)

    if keys is None:  # "_": the whole creature
        obj.update(_walk_strings(obj, shift))
        return
    value = _get(obj, keys)
    if value:
        _set(obj, keys, _walk_strings(value, shift))


def _max_size(obj: dict[str, Any], op: dict[str, Any], path: Path) -> None:
    wanted = op.get("max")
    sizes = _as_list(obj.get("size") or [])
    if wanted not in SIZES or any(s not in SIZES for s in sizes):
        raise ModError(f"unknown size {wanted!r}", (*path, "max"))
    kept = sorted({SIZES.index(s) for s in sizes if SIZES.index(s) <= SIZES.index(wanted)})
    obj["size"] = [SIZES[i] for i in kept] or [wanted]


def _mult_xp(obj: dict[str, Any], op: dict[str, Any], path: Path) -> None:
    scalar = _js_number(op.get("scalar"))
    if scalar is None:
        raise ModError("`scalar` must be a number", (*path, "scalar"))

    def out(xp: float) -> int | float:
        value = xp * scalar
        return math.floor(value) if op.get("floor") else _js_shown(value)

    cr = obj.get("cr")
    if isinstance(cr, dict) and cr.get("xp"):
        cr["xp"] = out(float(cr["xp"]))
        return
    shown = str(cr.get("cr") if isinstance(cr, dict) else cr)
    if shown not in CR_XP:
        raise MissingTarget("the creature has no challenge rating to take its XP from", path)
    if not isinstance(cr, dict) or not cr.get("cr"):
        cr = obj["cr"] = {"cr": cr}
    cr["xp"] = out(CR_XP[shown])


def _handle(obj: dict[str, Any], prop: str | None, op: Any, path: Path) -> None:
    """One operation on `obj` (the copy being built), in place; `prop` None for `"_"`."""
    keys = prop.split(".") if prop is not None else None
    if isinstance(op, str):
        if op == "remove":
            if prop is not None:
                obj.pop(prop, None)
            return
        raise ModError(f"unknown _mod operation {op!r}", path)
    if not isinstance(op, dict):
        raise ModError(f'a _mod operation must be an object or "remove", not {op!r}', path)
    mode = op.get("mode")
    if mode not in MODES:
        raise ModError(f"unknown _mod mode {mode!r}", (*path, "mode"))
    if mode in ("addSenses", "addSaves", "addSkills", "addAllSaves", "addAllSkills"):
        if mode == "addSenses":
            _senses(obj, op)
        elif mode in ("addSkills", "addAllSkills"):
            skills = op.get("skills")
            every = {k: skills for k in _SKILL_ABILITY} if mode == "addAllSkills" else skills
            _add_bonuses(obj, "skill", every)
        else:
            saves = op.get("saves")
            every = {k: saves for k in ABILITIES} if mode == "addAllSaves" else saves
            _add_bonuses(obj, "save", every)
        return
    if mode == "addSpells":
        return _add_spells(obj, op, path)
    if mode == "replaceSpells":
        return _replace_spells(obj, op, path)
    if mode == "removeSpells":
        return _remove_spells(obj, op, path)
    if mode == "maxSize":
        return _max_size(obj, op, path)
    if mode == "scalarMultXp":
        return _mult_xp(obj, op, path)
    if mode in ("scalarAddHit", "scalarAddDc"):
        return _scalar_tags(obj, keys, op, path)
    if mode in ("setProp", "prefixSuffixStringProp"):
        where = str(op["prop"]).split(".") if op.get("prop") else []
        if keys is not None and keys != ["*"]:
            where = keys + where
        if not where:
            raise ModError(f"{mode} needs a `prop`", path)
        if mode == "setProp":
            _set(obj, where, _clone(op.get("value")))
        elif isinstance(_get(obj, where), str):
            _set(obj, where, f"{op.get('prefix') or ''}{_get(obj, where)}{op.get('suffix') or ''}")
        return
    if keys is None:
        raise ModError(f'{mode} needs a property, not "_"', (*path, "mode"))
    if mode == "appendStr":
        old = _get(obj, keys)
        _set(obj, keys, f"{old}{op.get('joiner') or ''}{op.get('str')}" if old else op.get("str"))
    elif mode == "replaceTxt":
        _replace_txt(obj, keys, op, path)
    elif mode == "replaceName":
        _replace_name(obj, keys, op, path)
    elif mode in ("prependArr", "appendArr", "appendIfNotExistsArr"):
        items = _clone(_as_list(op.get("items", [])))
        old = _get(obj, keys)
        if not old:
            _set(obj, keys, items)
        elif not isinstance(old, list):
            raise ModError(f"cannot add to {prop!r}: it is not an array", path)
        elif mode == "prependArr":
            old[:0] = items
        elif mode == "appendArr":
            old.extend(items)
        else:
            old.extend([i for i in items if i not in old])
    elif mode == "insertArr":
        arr = _array_at(obj, keys, path)
        index = op.get("index")
        if isinstance(index, bool) or not isinstance(index, int):
            raise ModError("insertArr needs an integer `index`", (*path, "index"))
        at = len(arr) if index == -1 else index
        arr[at:at] = _clone(_as_list(op.get("items", [])))
    elif mode in ("replaceArr", "replaceOrAppendArr"):
        if not _replace_arr(obj, keys, op, path, mode == "replaceArr"):
            old = _get(obj, keys)
            items = _clone(_as_list(op.get("items", [])))
            if isinstance(old, list) and old:
                old.extend(items)
            else:
                _set(obj, keys, items)
    elif mode == "removeArr":
        _remove_arr(obj, keys, op, path)
    elif mode == "renameArr":
        _rename_arr(obj, keys, op, path)
    elif mode == "calculateProp":
        target = _get(obj, keys)
        if not isinstance(target, dict):
            target = {}
            _set(obj, keys, target)

        def value(m: re.Match[str]) -> str:
            if m[1] == "prof_bonus":
                return str(proficiency_bonus(obj))
            if m[1] == "dex_mod":
                return str(_modifier(obj, "dex"))
            raise ModError(f"unknown variable {m[1]!r}", (*path, "formula"))

        formula = re.sub(r"<\$([^$]+)\$>", value, str(op.get("formula", "")))
        target[str(op.get("prop"))] = _js_shown(_arithmetic(formula, (*path, "formula")))
    elif mode in ("scalarAddProp", "scalarMultProp"):
        _scalar(obj, keys, op, path, mode == "scalarMultProp")


def _ordered(mods: dict[str, list[Any]]) -> list[str]:
    """The keys in the order written, but `"_"` then `"*"` last (5etools' `_sortProps`)."""
    tail = {"_": 0, "*": 1}
    return sorted(mods, key=lambda k: tail.get(k, -1))


def apply_mods(
    obj: dict[str, Any],
    mods: dict[str, list[tuple[Any, Path]]],
    skipped: list[ModError] | None = None,
) -> None:
    """Every operation (each with where it was written), keys as `_ordered` says. With
    `skipped`, an operation whose target is missing is left out and listed there, the others
    applied (a copy of a stand-in base: the SRD's version of a Monster Manual creature)."""
    resolved = {
        k: [(resolve_variables(op, obj, where), where) for op, where in ops]
        for k, ops in mods.items()
    }
    for prop in _ordered(resolved):
        for op, where in resolved[prop]:
            try:
                if prop == "*":
                    for text_prop in TEXT_PROPS:
                        _handle(obj, text_prop, op, where)
                else:
                    _handle(obj, None if prop == "_" else prop, op, where)
            except MissingTarget as exc:
                if skipped is None:
                    raise
                skipped.append(exc)


def _mods_of(mods: Any, path: Path) -> dict[str, list[tuple[Any, Path]]]:
    if not isinstance(mods, dict):
        raise ModError("_mod must be an object", path)
    return {
        prop: [
            (op, (*path, prop, i) if isinstance(ops, list) else (*path, prop))
            for i, op in enumerate(_as_list(ops))
        ]
        for prop, ops in mods.items()
    }


def derive(
    base: dict[str, Any],
    entry: dict[str, Any],
    templates: list[dict[str, Any]],
    kind: str = "",
    meta_path: Path = ("_copy",),
    skipped: list[ModError] | None = None,
) -> dict[str, Any]:
    """`entry` (which has `_copy`) laid over `base`: the resolved 5etools object.

    `templates` are the `_templates` already looked up (each with its `apply`); `kind` the data
    key (what a copy keeps only when preserved depends on it); `meta_path` where `_copy` was
    written (problems are located from it); `skipped`: see `apply_mods`."""
    meta = entry.get("_copy") or {}
    preserve = meta.get("_preserve") or {}
    mods = _mods_of(meta.get("_mod") or {}, (*meta_path, "_mod"))
    for i, template in enumerate(templates):
        apply = template.get("apply") or {}
        if apply.get("_mod"):
            for prop, ops in _mods_of(apply["_mod"], (*meta_path, "_templates", i)).items():
                mods[prop] = mods.get(prop, []) + ops
    result = {k: _clone(v) for k, v in entry.items() if k != "_copy"}
    own = set(result)
    not_copied = NOT_COPIED | NOT_COPIED_BY_KIND.get(kind, frozenset())
    for key, value in base.items():
        if key == "_copy" or (key in result and result[key] is not None):
            continue
        if key in result:  # `null` in the copy: the field is removed
            del result[key]
        elif key not in not_copied or preserve.get("*") or preserve.get(key):
            result[key] = _copied(value, meta_path)
    for key in [k for k, v in result.items() if v is None]:
        del result[key]
    for template in templates:
        for key, value in ((template.get("apply") or {}).get("_root") or {}).items():
            if key not in own:
                result[key] = _clone(value)
    apply_mods(result, mods, skipped)
    return result


# ---- `_versions` ------------------------------------------------------------------------------

_TEMPLATE_VARIABLE = re.compile(r"\{\{([^}]+)\}\}")


def _as_copy(version: dict[str, Any]) -> dict[str, Any]:
    """A version with its `_mod`, `_templates`, `_preserve` moved into a `_copy` (by default
    preserving everything: a version is its parent, changed)."""
    out = {k: v for k, v in version.items() if k not in ("_mod", "_templates", "_preserve")}
    out["_copy"] = {
        "_mod": version.get("_mod"),
        "_templates": version.get("_templates"),
        "_preserve": version.get("_preserve") or {"*": True},
    }
    return {k: v for k, v in out.items()}


def versions(parent: dict[str, Any]) -> list[tuple[dict[str, Any], Path]]:
    """The versions of `parent` (5etools' `DataUtil.generic.getVersions`) as `_copy` entries of
    it, each with where its `_copy` was written: `_versions` items, each implementation of an
    `_abstract` version (its `{{variables}}` filled in), and for creatures the `variant`s that
    carry a `_version` (`addAs`/`addHeadersAs`)."""
    return [(version, at) for version, at, _ in versions_written(parent)]


def versions_written(parent: dict[str, Any]) -> list[tuple[dict[str, Any], Path, Path]]:
    """`versions`, each with the path of the object that makes it too: the `_versions` item,
    the implementation (whose `_copy` is its `_abstract`), or the variant: its place in the
    file, as an entry."""
    out: list[tuple[dict[str, Any], Path, Path]] = []
    raw_versions = parent.get("_versions")
    for i, version in enumerate(raw_versions if isinstance(raw_versions, list) else []):
        if not isinstance(version, dict):
            raise ModError("each version must be an object", ("_versions", i))
        abstract, impls = version.get("_abstract"), version.get("_implementations")
        if isinstance(abstract, dict) and isinstance(impls, list) and impls:
            for j, impl in enumerate(impls):
                if not isinstance(impl, dict):
                    raise ModError(
                        "each implementation must be an object",
                        ("_versions", i, "_implementations", j),
                    )
                made_impl = _as_copy(_clone(abstract))
                variables = impl.get("_variables") or {}

                def fill(text: str, variables: dict[str, Any] = variables) -> str:
                    return _TEMPLATE_VARIABLE.sub(
                        lambda m: str(variables.get(m[1], "undefined")), text
                    )

                if variables:
                    made_impl = _walk_strings(made_impl, fill)
                made_impl.update({k: _clone(v) for k, v in impl.items() if k != "_variables"})
                out.append(
                    (
                        made_impl,
                        ("_versions", i, "_abstract"),
                        ("_versions", i, "_implementations", j),
                    )
                )
        else:
            out.append((_as_copy(_clone(version)), ("_versions", i), ("_versions", i)))
    variants = parent.get("variant")
    for k, variant in enumerate(variants if isinstance(variants, list) else []):
        meta = variant.get("_version") if isinstance(variant, dict) else None
        if not isinstance(meta, dict):
            continue
        made: dict[str, Any] = {
            "name": meta.get("name") or variant.get("name"),
            "source": meta.get("source") or variant.get("source") or parent.get("source"),
            "variant": None,
        }
        if meta.get("addAs"):
            item = {
                key: _clone(value)
                for key, value in variant.items()
                if key not in ("_version", "type", "source", "page")
            }
            made["_mod"] = {meta["addAs"]: {"mode": "appendArr", "items": item}}
        elif meta.get("addHeadersAs"):
            items = [
                {key: _clone(value) for key, value in e.items() if key not in ("type", "source")}
                for e in variant.get("entries") or []
                if isinstance(e, dict) and e.get("name") and e.get("entries")
            ]
            made["_mod"] = {meta["addHeadersAs"]: {"mode": "appendArr", "items": items}}
        else:
            continue
        out.append((_as_copy(made), ("variant", k, "_version"), ("variant", k)))
    return out


def version_parent(parent: dict[str, Any], version: dict[str, Any]) -> dict[str, Any]:
    """What a version copies: its parent, less its versions, tokens, and the other sources that
    are the version's own."""
    out = {
        k: v
        for k, v in parent.items()
        if k not in ("_versions", "hasToken", "hasFluff", "hasFluffImages")
    }
    for key in ("additionalSources", "otherSources", "referenceSources"):
        kept = [
            s
            for s in out.get(key) or []
            if not (isinstance(s, dict) and s.get("source") == version.get("source"))
        ]
        if kept:
            out[key] = kept
        else:
            out.pop(key, None)
    return out
