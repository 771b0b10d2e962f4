"""Cards and search text for the 5etools entries d5e has no card of its own for (feats, races,
class features, deities, tables, …).

Spells, monsters and items get d5e's cards (their records have d5e's field names). The others
get a card here: the description, then every field of the 5etools object that is not already
shown, as `**Label:** value` — nothing the source holds is missing from the card. Tags stay as
written; d5e renders them as text and links when it shows the card.
"""

from __future__ import annotations

import json
import re
from typing import Any

from d5e_daemon import Entry
from d5e_daemon.fields import plain
from d5e_daemon.text import small_int

from . import classes
from .convert import (
    EDITIONS,
    FEAT_CATEGORIES,
    RAW,
    SCHOOLS,
    SIZES,
    also_found,
    code_name,
    is_vtt,
    plain_tags,
)
from .convert import _casting_time as casting_time
from .convert import _speed as speed_parts
from .convert import alignment as alignment_text
from .entries import ABILITY_NAMES, blocks, count_word

# Collections whose cards and search text d5e draws itself.
CORE_CARDS = frozenset({"spells", "monsters", "magic-items", "equipment"})
CORE_INDEX = CORE_CARDS | {
    "features", "traits", "conditions", "rule-sections", "classes", "races",
}  # fmt: skip
# 5etools fields a card does not list: identity, bookkeeping, and what the card shows already.
HIDDEN = frozenset(
    {
        "name", "source", "page", "entries", "entry", "srd", "srd52", "basicRules",
        "basicRules2024", "otherSources", "additionalSources", "reprintedAs", "hasFluff",
        "hasFluffImages", "fluff", "_copy", "alias", "lairActions", "regionalEffects",
        "mythicEncounter", "rows", "colLabels", "colStyles", "caption", "footnotes",
        "className", "classSource", "subclassShortName", "subclassSource", "level",
        "raceName", "raceSource", "hasToken", "tokenUrl", "tokenHref", "tokenCredit",
        "tokenCustom", "token", "isReprinted", "id", "data",
        "contents", "_versions", "reprintAlias", "freeRules2024", "legacy", "template",
        "ingredients", "instructions", "noteCook", "equipment", "intro", "outro", "yarn",
        "hook", "notions", "gauge", "stitches", "notes", "abbreviations", "soundClip",
        "classTableGroups", "subclassTableGroups", "lineage", "sizeEntry", "speedEntry",
        "tokenURL",
        "shortName", "header", "fonts", "hasCardArt", "isClassFeatureVariant",
    }
)  # fmt: skip
# values of `type` that are 5etools' entry types, not what the entry is
_ENTRY_TYPES = {"tables": ("table", "section", "entries")}
_WORDS = re.compile(r"(?<=[a-z])(?=[A-Z])")


_LABELS = {
    "trapHazType": "Type",
    "optionalfeatureProgression": "Optional feature progression",
    "symbolImg": "Symbol image",  # a deity's: its picture
    # a race's or subrace's (Awakened Shrub's Redbark: `Resist: fire, piercing`)
    "resist": "Damage resistances", "immune": "Damage immunities",
    "vulnerable": "Damage vulnerabilities", "conditionImmune": "Condition immunities",
}  # fmt: skip
"""Keys whose words make no label ("Trap haz type")."""


def label(key: str) -> str:
    """`damageVulnerable` → `Damage vulnerable`; `trapHazType` → `Type`."""
    return _LABELS.get(key) or _WORDS.sub(" ", key).replace("_", " ").capitalize()


_FORMULA_VARIABLE = re.compile(r"<\$([a-z_]+)\$>")


def _formula_word(m: re.Match[str]) -> str:
    """`<$level$>` → `level`, `<$int_mod$>` → `Intelligence modifier` (class formulas)."""
    name = m[1]
    if name.endswith("_mod") and name[:-4] in ABILITY_NAMES:
        return f"{ABILITY_NAMES[name[:-4]]} modifier"
    return name.replace("_", " ")


def describe(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return _FORMULA_VARIABLE.sub(_formula_word, value) if "<$" in value else value
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        return ", ".join(d for d in (describe(v) for v in value) if d)
    if isinstance(value, dict):
        if value.get("type") == "image":  # a deity's symbol: the picture, linked
            return " ".join(blocks(value))
        if isinstance(value.get("name"), str):
            return str(value["name"])
        parts = [f"{label(k)} {describe(v)}".strip() for k, v in value.items()]
        return ", ".join(p for p in parts if p)
    return ""


def _race_name(value: Any) -> str:
    """A race prerequisite (`{"name": "genasi (air)  "}`, with its `subrace`) in title case,
    as 5etools' `Renderer.utils.prerequisite` shows it; `displayEntry` as written."""
    if not isinstance(value, dict):
        return describe(value)
    if value.get("displayEntry"):
        return str(value["displayEntry"])
    name = re.sub(
        r"(^|[\s(-])([a-z])", lambda m: m[1] + m[2].upper(), str(value.get("name", "")).strip()
    )
    return f"{name} ({value['subrace']})" if value.get("subrace") else name


def _prerequisite_spell(spell: Any) -> str:
    """A spell a prerequisite names, as 5etools' `Parser.prereqSpellToFull` shows it:
    `"Eldritch Blast#c"` → `{@spell Eldritch Blast} cantrip`, `"#x"` → hex or a curse, a
    `{"entry": …, "choose": …}` object → its words."""
    if isinstance(spell, dict):
        return str(spell.get("entry") or spell.get("entrySummary") or "")
    name, _, suffix = str(spell).partition("#")
    if suffix == "x":
        return "{@spell hex} spell or a warlock feature that curses"
    if "{@" in name:  # written as a tag already (Notes from the Far Realm: `"{@spell light}"`)
        return name + (" cantrip" if suffix == "c" else "")
    return f"{{@spell {name}}}" + (" cantrip" if suffix == "c" else "") if name.strip() else ""


def _abilities_needed(groups: list[dict[str, Any]]) -> str:
    """A prerequisite's `ability`, each object an alternative, as 5etools' page says them:
    `Wisdom or Charisma 13` (one score for all), else `Strength 13 or Dexterity 15`."""
    wanted = [(ABILITY_NAMES.get(a, a), n) for group in groups for a, n in group.items()]
    if len({str(n) for _, n in wanted}) == 1:
        return f"{_either([a for a, _ in wanted])} {wanted[0][1]}"
    return _either([f"{a} {n}" for a, n in wanted])


def _proficiency_needed(need: Any) -> str:
    """A prerequisite's proficiency as 5etools' `Renderer.utils.prerequisite` says it:
    `{"weapon": "martial"}` → `Proficiency with a martial weapon`, `{"armor": "shield"}` →
    `Proficiency with shields`, `{"armor": "medium"}` → `Proficiency with medium armor`."""
    if not isinstance(need, dict):
        return describe(need)
    said = []
    for kind, what in need.items():
        if kind == "armor":
            said.append("shields" if what == "shield" else f"{what} armor")
        elif kind == "weapon":
            said.append(f"a {what} weapon")
        elif kind == "weaponGroup":
            said.append(f"{what} weapons")
        else:
            said.append(f"{label(kind)} {describe(what)}".strip())
    return "Proficiency with " + " and ".join(said) if said else ""


def _feat_category(code: Any, codes: Any) -> str:
    own = (codes or {}).get("category", {}) if isinstance(codes, dict) else {}
    return str(own.get(code) or FEAT_CATEGORIES.get(str(code), code))


def prerequisite(value: Any, codes: Any = None) -> str:
    """5etools `prerequisite` (a list of alternatives, each a set of conditions) as a line;
    `codes`: the file's own (`_meta.featCategories`)."""
    options = []
    for option in value if isinstance(value, list) else []:
        if not isinstance(option, dict):
            continue
        parts = []
        for key, need in option.items():
            if key == "level":
                level = need.get("level") if isinstance(need, dict) else need
                cls = need.get("class", {}).get("name") if isinstance(need, dict) else None
                sub = need.get("subclass") if isinstance(need, dict) else None
                sub = sub.get("name") if isinstance(sub, dict) else None
                # the subclass too, as 5etools' page says it: `12th level Occultist (Tradition
                # of the Witch)` (KibblesTasty's Occultist's rites)
                said = f"{cls + ' ' if cls else ''}level {level}"
                parts.append(f"{said} ({sub})" if sub else said)
            elif key == "ability":  # its objects are alternatives (LaserLlama's feats)
                groups = [g for g in (need if isinstance(need, list) else [need]) if g]
                parts.append(_abilities_needed([g for g in groups if isinstance(g, dict)]))
            elif key == "spellcasting" or key == "spellcasting2020":
                parts.append("the ability to cast at least one spell")
            elif key == "race":  # as 5etools' prerequisite names it: `Genasi (Air)`
                parts.append(" or ".join(_race_name(n) for n in need if _race_name(n)))
            elif key == "proficiency" and isinstance(need, list):
                parts.append(_either([_proficiency_needed(p) for p in need if p]))
            elif key == "feat" and isinstance(need, list):  # uids, as links: `fey pact|brew`
                parts.append(_either([f"{{@feat {n}}}" for n in need if isinstance(n, str)]))
            elif key == "exclusiveFeatCategory" and isinstance(need, list):
                # as 5etools' page says it (D&D Beyond Drops' Planar Pacts: it read `Exclusive
                # feat category PPact`)
                said = _either([_feat_category(c, codes) for c in need])
                parts.append(f"No other {said} feat")
            elif key == "featCategory" and isinstance(need, list):
                parts.append(_either([_feat_category(c, codes) + " feat" for c in need]))
            elif key in ("background", "feat", "proficiency", "feature"):
                parts.append(" or ".join(describe(n) for n in need if describe(n)))
            elif key == "other":
                parts.append(str(need))
            elif key == "item" and isinstance(need, list):  # the items, as 5etools lists them
                parts.append(_either([describe(n) for n in need if describe(n)]))
            elif key == "otherSummary" and isinstance(need, dict):
                # 5etools shows `entry` on the page (`entrySummary` is its list's short form;
                # an empty `entry` says nothing there)
                parts.append(
                    str(need["entry"] if "entry" in need else need.get("entrySummary", ""))
                )
            elif key == "pact" and isinstance(need, str):  # "Chain", or "Pact of the Claw"
                parts.append(need if need.lower().startswith("pact") else f"Pact of the {need}")
            elif key == "patron" and isinstance(need, str):
                parts.append(f"{need} patron")
            elif key == "spell" and isinstance(need, list):
                parts.append(_either([s for s in map(_prerequisite_spell, need) if s]))
            else:
                parts.append(f"{label(key)} {describe(need)}".strip())
        options.append(", ".join(p for p in parts if p))
    return "; or ".join(o for o in options if o)


_SPELL_KINDS = (("innate", "Innate"), ("known", "Known"), ("prepared", "Always prepared"),
                ("expanded", "Added to your spell list"))  # fmt: skip
_USES = {"will": "at will", "ritual": "as a ritual", "_": ""}


def _school(code: str, codes: Any) -> str:
    own = (codes or {}).get("school", {}) if isinstance(codes, dict) else {}
    return str(own.get(code) or SCHOOLS.get(code.upper(), code))


def _either(words: list[str]) -> str:
    """`a`, `a or b`, `a, b or c`."""
    return ", ".join(words[:-1]) + " or " + words[-1] if len(words) > 1 else "".join(words)


def spell_filter(expression: str, count: Any = 1, codes: Any = None, every: bool = False) -> str:
    """A 5etools spell filter (`level=1|class=Wizard`, `level=2|school=E;N`) as words: `one
    1st-level Wizard spell of your choice`, `one 2nd-level enchantment or necromancy spell of
    your choice`; `every` (an `all`): `every Wizard cantrip`."""
    levels: list[str] = []
    schools: list[str] = []
    classes: list[str] = []
    other: list[str] = []
    for part in expression.split("|"):
        key, _, value = part.partition("=")
        values = [v.strip() for v in value.split(";") if v.strip()]
        key = key.strip().lower()
        if key == "level":
            levels += values
        elif key == "school":
            schools += [_school(v, codes).lower() for v in values]
        elif key == "class":  # a homebrew class with its source: `apothecary (dk:ee'24)`
            classes += [re.sub(r"\s*\([^()]*\)$", "", v).title() for v in values]
        elif key == "components & miscellaneous":
            other += [v.lower() for v in values]
        elif values:
            other.append(f"{key} {' or '.join(values)}".strip())
    cantrips = bool(levels) and all(v == "0" for v in levels)
    numbers = sorted({small_int(v) or 0 for v in levels if v.isdigit() and v != "0"} - {0})
    shown = [_ordinal(str(n)).replace(" ", "-") for n in numbers]
    if len(numbers) > 2 and numbers == list(range(numbers[0], numbers[-1] + 1)):
        shown = [f"{shown[0].removesuffix('level')} to {shown[-1]}"]  # `1st- to 5th-level`
    level_words = _either(shown)
    if levels and not cantrips and "0" in levels:
        # `level=0;1;2;3;4;5` (Drakkenheim's Stolen Secrets): it read `one 1st-level, …
        # or 5th-level cantrip or spell`
        level_words = f"cantrip or {level_words}"
    words = [level_words, _either(other), _either(schools), _either(classes)]
    plural = every or count != 1
    noun = ("cantrip" if cantrips else "spell") + ("s" if plural and not every else "")
    what = " ".join(w for w in [*words, noun] if w)
    if every:
        return f"every {what}"
    return f"{count_word(count)} {what} of your choice"


def _spell_ref(value: Any, codes: Any) -> str:
    """An item of a 5etools `additionalSpells` list: a spell (`"fireball|phb"`, `"light#c"`,
    as a link) or a choice (`{"choose": "level=1|class=Wizard"}`, `{"choose": {"from": […]}}`,
    `{"all": "level=0|class=Wizard"}`)."""
    if isinstance(value, str):
        return f"{{@spell {value.split('#')[0]}}}"
    if not isinstance(value, dict):
        return describe(value)
    count = value.get("count", 1)
    choose = value.get("choose")
    if isinstance(choose, str):
        return spell_filter(choose, count, codes)
    if isinstance(choose, dict):
        count = choose.get("count", count)
        options = [_spell_ref(v, codes) for v in choose.get("from") or []]
        return f"{count_word(count)} of your choice: {_either(options)}" if options else ""
    if isinstance(value.get("all"), str):
        return spell_filter(value["all"], codes=codes, every=True)
    return describe(value)


def _chosen(value: Any) -> Any:
    """A race's resistance (immunity…) to choose: `{"choose": {"from": ["acid", "cold"]}}` →
    `one of acid or cold` (it read `Choose From acid, cold`); anything else as it is."""
    choose = value.get("choose") if isinstance(value, dict) else None
    if not isinstance(choose, dict) or not isinstance(choose.get("from"), list):
        return value
    options = [describe(v) for v in choose["from"]]
    return f"{count_word(choose.get('count', 1))} of {_either(options)}"


def _counted(choice: dict[str, Any], times: int) -> dict[str, Any]:
    """A spell choice written `times` times, as one choice of that many."""
    if isinstance(choice.get("choose"), dict):
        inner = choice["choose"]
        return {**choice, "choose": {**inner, "count": inner.get("count", 1) * times}}
    return {**choice, "count": choice.get("count", 1) * times}


def _spell_uses(value: Any, codes: Any, resource: str) -> list[tuple[str, str]]:
    """One level's spells of a kind, as (how they are cast, the spells): a list, or by use
    (`will`, `ritual`, `daily` {"1e": […]}, `rest`, `resource`)."""

    def listed(spells: Any) -> str:
        if not isinstance(spells, list):
            return describe(spells)
        # the same choice written twice is one choice of two (`[{"choose": "level=0"},
        # {"choose": "level=0"}]`: `two cantrips of your choice`, not the words twice)
        said: dict[str, int] = {}
        for v in spells:
            key = json.dumps(v, sort_keys=True) if isinstance(v, dict) else str(v)
            said[key] = said.get(key, 0) + 1
        return ", ".join(
            _spell_ref(_counted(json.loads(k), n) if n > 1 else json.loads(k), codes)
            if k.startswith("{")
            else _spell_ref(k, codes)
            for k, n in said.items()
        )

    if not isinstance(value, dict):
        return [("", listed(value))]
    out = []
    for use, spells in value.items():
        if use in ("daily", "rest", "resource") and isinstance(spells, dict):
            per = {"daily": "/day", "rest": "/rest"}.get(use, f" {resource or 'uses'}")
            for times, these in spells.items():
                each = " each" if str(times).endswith("e") else ""
                out.append((f"{str(times).rstrip('e')}{per}{each}", listed(these)))
        else:
            out.append((_USES.get(use, use), listed(spells)))
    return out


def additional_spells(value: Any, codes: Any = None) -> str:
    """5etools' `additionalSpells` (the spells a feat, race, background… grants; several blocks
    are alternatives) as a line: `Known: one Sorcerer cantrip of your choice; Innate, 1/rest:
    one 1st-level Sorcerer spell of your choice; spellcasting ability Constitution`."""
    options = []
    for block in value if isinstance(value, list) else [value]:
        if not isinstance(block, dict):
            continue
        parts = []
        resource = str(block.get("resourceName") or "")
        for kind, word in _SPELL_KINDS:
            levels = block.get(kind)
            for level, spells in (levels if isinstance(levels, dict) else {}).items():
                at = ""
                if str(level).isdigit():
                    at = f" (level {level})"
                elif str(level) == "s0":  # a spell level's: `s0` are cantrips
                    at = " (cantrips)"
                elif str(level).startswith("s") and str(level)[1:].isdigit():
                    at = f" ({_ordinal(str(level)[1:]).replace(' ', '-')} spells)"
                for use, said in _spell_uses(spells, codes, resource):
                    parts.append(f"{word}{at}{', ' + use if use else ''}: {said}")
        ability = block.get("ability")
        if isinstance(ability, dict) and isinstance(ability.get("choose"), list):
            names = [ABILITY_NAMES.get(str(a), str(a)) for a in ability["choose"]]
            parts.append(f"spellcasting ability {_either(names)} (your choice)")
        elif isinstance(ability, str) and ability != "inherit":
            parts.append(f"spellcasting ability {ABILITY_NAMES.get(ability, ability)}")
        text = "; ".join(parts)
        if block.get("name"):
            text = f"{block['name']}: {text}"
        if text:
            options.append(text)
    return "; or ".join(options)


def _signed(n: Any) -> str:
    return f"+{n}" if isinstance(n, int) and not isinstance(n, bool) and n >= 0 else str(n)


def ability_scores(value: Any) -> str:
    """A race's, feat's or background's `ability` (alternatives, each fixed increases and
    choices) as words: `Strength +2, Constitution +1`, `+1 to two of Strength, Dexterity or
    Constitution`, `+2 and +1 to two of …` (5etools' `Renderer.getAbilityData`)."""
    options = []
    for block in value if isinstance(value, list) else [value]:
        if not isinstance(block, dict):
            continue
        parts = [f"{ABILITY_NAMES[k]} {_signed(n)}" for k, n in block.items() if k in ABILITY_NAMES]
        choose = block.get("choose")
        for choice in choose if isinstance(choose, list) else [choose]:
            if not isinstance(choice, dict):
                continue
            weighted = choice.get("weighted")
            pick = weighted if isinstance(weighted, dict) else choice
            names = [ABILITY_NAMES.get(str(a), str(a)) for a in _listed(pick.get("from"))]
            weighted = weighted if isinstance(weighted, dict) else None
            weights = (
                [_signed(w) for w in _listed(weighted.get("weights") or [])] if weighted else []
            )
            count = len(weights) if weights else choice.get("count", 1)
            amount = " and ".join(weights) or _signed(choice.get("amount", 1))
            if len(set(names)) == len(ABILITY_NAMES):
                target = f"{count_word(count)} {'ability' if count == 1 else 'abilities'}"
                parts.append(f"{amount} to {target} of your choice")
            else:
                target = (
                    _either(names) if count == 1 else f"{count_word(count)} of {_either(names)}"
                )
                parts.append(f"{amount} to {target}")
        if parts:
            options.append(", ".join(parts))
        elif block:
            options.append(describe(block))
    return "; or ".join(options)


# 5etools' `any…` counts in proficiency objects: `anyStandard: 1` → one other standard language
_ANY = {"any": "", "anyStandard": "standard language", "anyExotic": "exotic language",
        "anyArtisansTool": "artisan's tool", "anyMusicalInstrument": "musical instrument",
        "anyGamingSet": "gaming set", "anySkill": "skill", "anyTool": "tool",
        "anyWeapon": "weapon", "anyArmor": "armor", "anyLanguage": "language"}  # fmt: skip


def _proficiency_name(key: str) -> str:
    """`old ermorian|eddiegpantheonofmyr` → `Old Ermorian`; `anyArtisansTool` as words."""
    name = key.split("|")[0]
    if name in _ANY:
        return _ANY[name] or "any"
    return " ".join(w[:1].upper() + w[1:] for w in _WORDS.sub(" ", name).split(" "))


def _choice_name(key: str) -> str:
    """An option of a `choose`: `anyArtisansTool` there is `any artisan's tool` (the Black Fist
    Double Agent's `one of any artisan's tool or Gaming Set`)."""
    name = _proficiency_name(key)
    return f"any {name}" if _ANY.get(key.split("|")[0]) else name


def proficiencies(value: Any, kind: str = "") -> str:
    """5etools' proficiency objects (`languageProficiencies`, `skillProficiencies`, …: a list
    of alternatives, each names set to true, `any…` counts and `choose`) as words: `Common,
    Elvish, one standard language of your choice`. `kind` (`skillToolLanguage`) names what an
    `any` counts."""
    kinds = _WORDS.sub(" ", kind).lower().split()
    options = []
    for block in value if isinstance(value, list) else [value]:
        if not isinstance(block, dict):
            options.append(describe(block))
            continue
        parts, chosen = [], []  # the choices after the names, as 5etools says them
        named = any(said is True and k.split("|")[0] not in _ANY for k, said in block.items())
        for key, said in block.items():
            if key == "choose" and isinstance(said, dict):
                names = [_choice_name(str(f)) for f in _listed(said.get("from"))]
                count = said.get("count", 1)
                chosen.append(f"{count_word(count)} of {_either(names)} (your choice)")
            elif key.split("|")[0] in _ANY and isinstance(said, int) and not isinstance(said, bool):
                plural = "s" if said != 1 else ""
                what = _either([f"{w}{plural}" for w in ([_ANY[key]] if _ANY[key] else kinds)])
                # `Common, Undercommon, one other language of your choice` (Heliana's Guide's
                # Cyclopian read `one language of your choice, Common, Undercommon`)
                other = "other " if named else ""
                chosen.append(f"{count_word(said)} {other}{what} of your choice".replace("  ", " "))
            elif said is True and key == "other" and "language" in kinds:
                # a language the text names (Awakened Shrub's "one … your creator knew"): 5etools'
                # filter calls it "Other"
                parts.append("one other language")
            elif said is True:
                parts.append(_proficiency_name(key))
            elif said not in (False, None):
                parts.append(f"{_proficiency_name(key)} ({describe(said)})")
        options.append(", ".join(parts + chosen))
    return "; or ".join(o for o in options if o)


def feat_choices(value: list[Any], codes: Any = None) -> str:
    """The feats a background or species grants (`[{"alert|xphb": true}]`, `[{"anyFromCategory":
    {"category": ["O"], "count": 1}}]`) as words, alternatives with `or`: `Alert`, `one Origin
    feat of your choice`."""
    options = []
    for option in value:
        if not isinstance(option, dict):
            continue
        parts = []
        for key, said in option.items():
            if key in ("any", "anyFromCategory"):
                count = said.get("count", 1) if isinstance(said, dict) else said
                cats = [
                    code_name("feats", "category", c, codes or {})
                    for c in _listed(said.get("category") if isinstance(said, dict) else [])
                ]
                kind = f"{_either(cats)} " if cats else ""
                feats = "feat" if count == 1 else "feats"
                parts.append(f"{count_word(count)} {kind}{feats} of your choice")
            elif said:
                parts.append(f"{{@feat {key}}}")
        options.append(", ".join(parts))
    return "; or ".join(o for o in options if o)


def height_and_weight(value: dict[str, Any]) -> str:
    """A race's `heightAndWeight` as 5etools' table reads it: `height 4 ft. 6 in. + 2d6 in.;
    weight 200 lb. + (2d6 × 2d4) lb.` (the height roll times the weight roll)."""
    base_height, height_mod = value.get("baseHeight"), value.get("heightMod")
    base_weight, weight_mod = value.get("baseWeight"), value.get("weightMod")
    parts = []
    if isinstance(base_height, int) and not isinstance(base_height, bool):
        feet, inches = divmod(base_height, 12)
        added = f" + {height_mod} in." if height_mod else ""
        parts.append(f"height {feet} ft. {inches} in.{added}")
    if isinstance(base_weight, int | float) and not isinstance(base_weight, bool):
        roll = f"({height_mod} × {weight_mod})" if height_mod and weight_mod else height_mod
        parts.append(f"weight {base_weight} lb." + (f" + {roll} lb." if roll else ""))
    return "; ".join(parts)


def age(value: dict[str, Any]) -> str:
    """A race's `age` (`{"mature": 15, "max": 80}`, 5etools' data for its Adult Age filter)
    as a reader says it: `Matures at 15, lives to about 80 years`."""
    mature, most = value.get("mature"), value.get("max")
    parts = [f"matures at {mature}" if mature is not None else ""]
    parts.append(f"lives to about {most} years" if most is not None else "")
    said = ", ".join(p for p in parts if p)
    return said[:1].upper() + said[1:]


def _named(entries: Any, name: str) -> bool:
    """Whether `entries` hold a block named `name` (a race's `Age`), at any depth."""
    if isinstance(entries, list):
        return any(_named(e, name) for e in entries)
    if not isinstance(entries, dict):
        return False
    said = entries.get("name")
    return (isinstance(said, str) and said.strip().lower() == name.lower()) or _named(
        entries.get("entries"), name
    )


def recipe_times(value: dict[str, Any]) -> list[tuple[str, str]]:
    """A recipe's `time` (minutes) as 5etools' `Renderer.recipe` shows it: total, preparation
    and cooking first, each `N hours M minutes` (a `{min, max}` as `20 to 30 minutes`)."""
    out = []
    for prop in dict.fromkeys(["total", "preparation", "cooking", *value]):
        said = value.get(prop)
        if not said:
            continue
        span = [said.get("min"), said.get("max")] if isinstance(said, dict) else [said]
        if not all(isinstance(m, int | float) and not isinstance(m, bool) for m in span):
            out.append((f"{prop.capitalize()} time", describe(said)))
            continue
        shown = [_minutes(m) for m in span]
        unit = shown[-1].rsplit(" ", 1)[-1]  # `20 to 30 minutes`, not `20 minutes to 30 minutes`
        if len(shown) == 2 and all(s.count(" ") == 1 and s.endswith(unit) for s in shown):
            shown[0] = shown[0].rsplit(" ", 1)[0]
        out.append((f"{prop.capitalize()} time", " to ".join(shown)))
    return out


def _minutes(total: float) -> str:
    """`80` → `1 hour 20 minutes` (5etools' `Parser.getMinutesToFull`)."""
    days, rest = divmod(int(total), 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [(days, "day"), (hours, "hour"), (minutes, "minute")]
    return " ".join(f"{n} {word}{'s' if n > 1 else ''}" for n, word in parts if n) or "0 minutes"


def _subtitle(entry: Entry, raw: dict[str, Any]) -> str:
    kind = entry.collection.replace("-", " ").rstrip("s")
    kind = {"statuse": "status", "classe": "class"}.get(kind, kind)
    if kind.endswith("ie"):  # deities, weapon properties, facilities
        kind = kind[:-2] + "y"
    if raw.get("className") and entry.collection == "subclasses":
        # a subclass of the 2024 class beside its namesake of the 2014 one (Tal'Dorei Reborn's
        # `"classSource": "XPHB"` copies): the two cards said the same
        of = " (2024)" if str(raw.get("classSource", "")).upper() == "XPHB" else ""
        return f"{raw['className']}{of} subclass"
    if raw.get("className"):
        owner = raw.get("subclassShortName") or raw["className"]
        level = f", level {raw['level']}" if raw.get("level") is not None else ""
        return f"{owner} feature{level}"
    if raw.get("raceName"):
        return f"{raw['raceName']} subrace"
    if entry.collection == "races" and raw.get("edition") == "one":
        return "species"  # a 2024 race is a species, as the 2024 rules and 5etools name it
    return kind


_CARD_FACE = ("suit", "value", "valueName")


def _capitalized(text: str) -> str:
    """Each word's first letter up (`ace` → `Ace`), the rest as written."""
    return " ".join(w[:1].upper() + w[1:] for w in text.split())


def _card_face(entry: Entry, raw: dict[str, Any]) -> list[str]:
    """A card's value and suit in words above its text (`*Ace of Swords*`; `value` 3, no
    `valueName`: `*Three of Cups*`), unless its name says them, as 5etools'
    `Renderer.card.getFullEntries` shows them."""
    suit, value = raw.get("suit"), raw.get("valueName") or raw.get("value")
    if entry.collection != "cards" or not isinstance(suit, str) or not value:
        return []
    word = describe(value) if isinstance(value, str) else count_word(value)
    face = f"{_capitalized(word)} of {_capitalized(suit)}"
    return [] if face.lower() == entry.name.lower() else [f"*{face}*"]


def _facts(raw: dict[str, Any], collection: str = "", codes: Any = None) -> list[str]:
    facts = []
    codes = codes if isinstance(codes, dict) else {}
    if raw.get("prerequisite"):
        facts.append(("Prerequisite", prerequisite(raw["prerequisite"], codes)))
    size_entry = raw.get("sizeEntry")
    if isinstance(size_entry, dict) and size_entry.get("entries"):
        # a 2024 species' words for its size ("Medium (about 6-7 feet tall) or Small…, chosen
        # when you select this species"): 5etools shows them as its Size
        facts.append(("Size", " ".join(blocks(size_entry["entries"])).replace("\n", " ")))
    elif raw.get("size"):
        sizes = raw["size"] if isinstance(raw["size"], list) else [raw["size"]]
        facts.append(
            (
                "Size",
                " or ".join(SIZES.get(s, s) if isinstance(s, str) else describe(s) for s in sizes),
            )
        )
    level = raw.get("level") if collection == "adventures" else None
    if isinstance(level, dict):  # `{"start": 1, "end": 5}`, or `{"custom": "…"}`
        start, end = level.get("start"), level.get("end")
        span = f"{start}–{end}" if start is not None and end not in (None, start) else start
        facts.append(("Level", str(level.get("custom") or span or "")))
    if collection == "adventures" and (raw.get("alId") or isinstance(raw.get("alLength"), dict)):
        # an Adventurers League adventure's code and length in hours (DDEX1-01 - Defiance in
        # Phlan: `"alLength": {"exact": 5}`; the card said `Al length: Exact 5`)
        hours = raw.get("alLength") if isinstance(raw.get("alLength"), dict) else {}
        low, high = hours.get("min"), hours.get("max")
        span = hours.get("exact") or (f"{low}–{high}" if low and high else low or high)
        said = str(raw.get("alId") or "")
        if span:
            said += f"{', ' if said else ''}{span} hour{'' if str(span) == '1' else 's'}"
        facts.append(("Adventurers League", said))
    if isinstance(raw.get("hd"), dict) and raw["hd"].get("faces"):
        facts.append(("Hit die", f"d{raw['hd']['faces']}"))
    if raw.get("alignment"):
        facts.append(("Alignment", alignment_text(raw["alignment"])))
    done = {"prerequisite", "size", "hd", "alignment", "classFeatures", "subclassFeatures",
            "additionalSpells", "startingEquipment", "alId", "alLength"}  # fmt: skip
    if raw.get("classTableGroups") or raw.get("subclassTableGroups"):
        done |= classes.BUILDER_DATA  # the class's (subclass's) table shows them (`classes.table`)
    for key, value in raw.items():
        if key in HIDDEN or key in done or key.endswith("Tags") or is_vtt(key) or _texty(value):
            continue  # text fields are sections of the card (`_sections`)
        if collection == "cards" and key in _CARD_FACE:
            continue  # in words above the card's text (`_card_face`)
        if key in _CLASS_FACTS:  # a class's, in the words of its 5etools page
            facts.append((label(key), _CLASS_FACTS[key](value)))
            continue
        if key in ("type", "group") and collection in ("adventures", "books"):
            continue  # a section's `"type": "section"`; 5etools' shelf for the book's list
        if key == "type" and value in _ENTRY_TYPES.get(collection, ("section", "entries")):
            # the entry's own 5etools type, what its renderer draws it as (Herbalism &
            # Alchemy's table `"type": "table"`, Exploits' variant rule `"type": "section"`)
            continue
        if key in ("cover", "coverUrl") and _cover_url(value):
            facts.append(("Cover", f"![Cover]({_cover_url(value)})"))  # the picture
            continue
        if key == "customProperties" and isinstance(value, dict):
            # a deity's own labels, each a line as 5etools shows them (blank ones left out)
            facts += [(str(k), describe(v).strip()) for k, v in value.items()]
            continue
        if key == "proficiency" and isinstance(value, list):
            value = [ABILITY_NAMES.get(str(v), v) for v in value]
        if key == "speed" and isinstance(value, int | dict) and not isinstance(value, bool):
            parts = speed_parts(value)  # as a monster's: `30 ft., fly 30 ft. (hover)`
            if parts.pop("hover", None) and "fly" in parts:
                parts["fly"] += " (hover)"
            value = ", ".join(v if m == "walk" else f"{m} {v}" for m, v in parts.items()) or value
            said = raw.get("speedEntry")
            if isinstance(said, dict) and said.get("entries"):
                # a 2024 species' words for its speed, as for its size (The Crooked Moon's
                # Azureborn: `30 feet, Fly Speed equal to your Speed`; it read `fly equal to its
                # walking speed`, and the words again in a `Speed entry` section at the end)
                value = " ".join(blocks(said["entries"])).replace("\n", " ")
        if key == "edition":
            value = EDITIONS.get(str(value), value)
        if key == "senses" and isinstance(value, list):  # a feat's `[{"darkvision": 30}]`
            value = [
                ", ".join(f"{k} {n} ft." for k, n in v.items()) if isinstance(v, dict) else v
                for v in value
            ]
        if key in ("resist", "immune", "vulnerable", "conditionImmune") and isinstance(value, list):
            value = [_chosen(v) for v in value]  # `one of acid, cold or fire` (Slime Folk)
        if key == "age" and isinstance(value, dict) and collection in ("races", "subraces"):
            if _named(raw.get("entries"), "Age"):
                continue  # its text says it (5etools shows the text; `age` is its filter's)
            value = age(value) or value
        if key == "heightAndWeight" and isinstance(value, dict):
            value = height_and_weight(value) or value
        if key in _SENSES and isinstance(value, int) and not isinstance(value, bool):
            value = f"{value} ft."
        if key == "ability" and isinstance(value, list | dict):  # older files: one dict
            value = ability_scores(value)
        if key == "feats" and isinstance(value, list):  # a background's or species' feat
            value = feat_choices(value, codes)
        elif key.endswith("Proficiencies") and isinstance(value, list):
            value = proficiencies(value, key.removesuffix("Proficiencies"))
        if (collection, key) in _CODED:  # `EI` → Eldritch Invocation, or the file's own
            value = [code_name(collection, key, v, codes) for v in _listed(value)]
            if any("," in str(v) for v in value):  # Exploits' `Exploit, Rank 4`: one each
                facts.append((label(key), "; ".join(str(v) for v in value)))
                continue
        if key == "time" and isinstance(value, list) and casting_time(value):
            value = casting_time(value)  # an action's (Fighter Rework's Steal): `1 action`
        if key == "time" and collection == "recipes" and isinstance(value, dict):
            facts += recipe_times(value)  # `Preparation time: 1 hour 20 minutes`
            continue
        if key == "serves" and isinstance(value, dict):  # a recipe's: 4, or 4–6
            low, high = value.get("exact", value.get("min")), value.get("max")
            value = f"{low}–{high}" if high is not None and low is not None else low or high
        if key == "spells" and isinstance(value, list):  # a spell list's: links to the spells
            value = [f"{{@spell {v}}}" if isinstance(v, str) else v for v in value]
        if (collection, key) == ("cards", "set") and isinstance(value, str) and value.strip():
            # the deck it is a card of (5etools' `set`), a link to the deck's card
            source = f"|{raw['source']}" if isinstance(raw.get("source"), str) else ""
            facts.append(("Deck", f"{{@deck {value.strip()}{source}}}"))
            continue
        if (collection, key) == ("decks", "cards") and isinstance(value, list):
            value = [_card_link(v) for v in value]  # `Name|Deck|Source`, or `{"uid": …}`
        text = describe(value)
        if text:  # a class's `proficiency`: its saving throws, as its page says
            saves = (collection, key) == ("classes", "proficiency")
            facts.append(("Saving throw proficiencies" if saves else label(key), text))
    if raw.get("additionalSpells"):  # long: after the others
        facts.append(("Additional spells", additional_spells(raw["additionalSpells"], codes)))
    facts += list(also_found(raw).items())
    return [f"**{k}:** {v}" for k, v in facts if v]


def _cover_url(value: Any) -> str:
    """An adventure's or book's `cover` (`{"type": "external", "url": …}`) or older `coverUrl`
    when it is an address: the picture 5etools' `getCoverUrl` shows."""
    if isinstance(value, dict) and value.get("type") == "external":
        value = value.get("url")
    return value if isinstance(value, str) and value.startswith(("https://", "http://")) else ""


def _card_link(card: Any) -> Any:
    """A deck's card (`"The Fates|Deck of Many Things|DMG"`, or `{"uid": …}` with
    `replacement`) as a link to its card, as 5etools' deck page lists it."""
    uid = card.get("uid") if isinstance(card, dict) else card
    return f"{{@card {uid}}}" if isinstance(uid, str) and uid.strip() else card


_SENSES = ("darkvision", "blindsight", "tremorsense", "truesight")
_CLASS_FACTS = {
    "startingProficiencies": classes.proficiencies,
    "multiclassing": classes.multiclassing,
    "classSpells": classes.class_spells,
    "subclassSpells": classes.class_spells,
    "spellcastingAbility": lambda v: ABILITY_NAMES.get(str(v), describe(v)),
    "primaryAbility": classes.primary_ability,
}
_CODED = {
    ("optional-features", "featureType"), ("feats", "category"), ("psionics", "type"),
    ("traps", "trapHazType"), ("hazards", "trapHazType"), ("vehicles", "vehicleType"),
    ("vehicle-upgrades", "upgradeType"), ("objects", "objectType"),
    ("character-options", "optionType"), ("recipes", "diet"), ("variant-rules", "ruleType"),
}  # fmt: skip
# figures a named block of a vehicle or object carries besides its text (a weapon's AC, HP…)
_BLOCK_FIGURES = (("count", "×"), ("ac", "AC"), ("hp", "HP"), ("dt", "damage threshold"),
                  ("mt", "mishap threshold"), ("cost", "cost"), ("crew", "crew"))  # fmt: skip


_TEXT_KEYS = ("entries", "entry", "items", "locomotion", "speed", "action", "rows")


def _texty(value: Any) -> bool:
    """Whether a field holds text to read (named blocks with `entries`: a vehicle's weapons,
    an object's actions; entries such as lists: a trap's countermeasures), not a value to
    list. Plain strings beside them are text too."""
    items = value if isinstance(value, list) else [value]
    dicts = [i for i in items if isinstance(i, dict)]
    return bool(dicts) and all(
        isinstance(i, str) or (isinstance(i, dict) and any(k in i for k in _TEXT_KEYS))
        for i in items
    )


def _named_block(item: dict[str, Any]) -> list[str]:
    """A named block with its figures and text: `***Ember Thrower (AC 15; HP 30).*** …`."""
    # a psionic discipline's mode, as 5etools titles it: `Rolling Flame (4 psi; conc., 1 min.)`
    cost, held = item.get("cost"), item.get("concentration")
    psi = isinstance(cost, dict) and "min" in cost
    figures = [
        (f"{item[k]}{word}" if word == "×" else f"{word} {describe(item[k])}")
        for k, word in _BLOCK_FIGURES
        if item.get(k) not in (None, "", []) and not (psi and k == "cost")
    ]
    if isinstance(cost, dict) and "min" in cost:
        low, high = cost["min"], cost.get("max", cost["min"])
        figures.append(f"{low} psi" if low == high else f"{low}–{high} psi")
    if isinstance(held, dict) and held.get("duration"):
        figures.append(f"conc., {held['duration']} {held.get('unit', '')}.".replace(" .", "."))
    if "type" in item and item.get("type") not in ("entries", "actions"):
        return blocks(item)  # an entry of its own: a list, a table…
    if "rows" in item:  # a table without its type (a class's table groups)
        return blocks({**item, "type": "table"})
    name = str(item.get("name") or "")
    if name and figures:
        name = f"{name} ({'; '.join(figures)})"
    body = blocks(item.get("entries", item.get("entry", [])), 1)
    if item.get("hpNote"):
        body.append(f"*{item['hpNote']}*")
    for move in item.get("locomotion") or item.get("speed") or []:
        if isinstance(move, dict):
            body += blocks({"type": "entries", "name": str(move.get("mode", "")).capitalize(),
                            "entries": move.get("entries") or []}, 1)  # fmt: skip
    for action in [*(item.get("action") or []), *(item.get("submodes") or [])]:
        body += _named_block(action) if isinstance(action, dict) else blocks(action)
    return blocks({"type": "entries", "name": name, "entries": body}, 1) if name else body


def _sections(raw: dict[str, Any], shown: frozenset[str] = frozenset()) -> list[str]:
    """The fields holding text (see `_texty`), each under its label (but those `shown`
    already)."""
    out = []
    for key, value in raw.items():
        if key in HIDDEN or key in shown or is_vtt(key) or not _texty(value):
            continue
        items = value if isinstance(value, list) else [value]
        out.append(f"**{label(key)}**")
        for item in items:
            out += _named_block(item) if isinstance(item, dict) else blocks(item)
    return out


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _ordinal(level: str) -> str:
    n = int(level)
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix} level"


def markdown(entry: Entry) -> str:
    raw = entry.data[RAW]
    subtitle = _subtitle(entry, raw)  # its first letter up, a name's own capitals kept
    parts = [f"## {entry.name}", f"*{subtitle[:1].upper()}{subtitle[1:]}*"]
    facts = _facts(raw, entry.collection, entry.data.get("5etools_codes"))
    if facts:
        parts.append("  \n".join(facts))
    if entry.data.get("5etools_contents"):
        parts.append(contents(entry))
    shown: frozenset[str] = frozenset()
    if entry.collection == "classes":
        equipment = classes.equipment(raw.get("startingEquipment"))
        parts += [f"**Starting equipment:** {equipment[0]}", *equipment[1:]] if equipment else []
        parts += classes.table(raw)
        shown = frozenset({"startingEquipment"})  # its `entries` were the line above
    if entry.collection == "subclasses":
        parts += classes.table(raw)  # a third-caster's spells and slots by level
    parts += _card_face(entry, raw)
    parts += [str(p) for p in entry.data.get("desc") or []]
    parts += _sections(raw, shown)
    fluff = raw.get("fluff") if isinstance(raw.get("fluff"), dict) else {}
    if isinstance(fluff.get("images"), list):  # what 5etools shows with its text (a cipher's key)
        parts += blocks(fluff["images"])
    return "\n\n".join(parts) + "\n"


def contents(entry: Entry) -> str:
    """An adventure's or book's chapters as links to their sections' cards, each with its
    headers (what 5etools' contents list)."""
    lines = ["**Contents**", ""]
    for i, chapter in enumerate(entry.data["5etools_contents"], 1):
        name, slug = chapter.get("name", ""), chapter.get("slug")
        shown = f"[{name}](d5e://{entry.pack}/{entry.collection}/{slug}.md)" if slug else name
        lines.append(f"{i}. {shown}")
        lines += [f"   - {header}" for header in chapter.get("headers") or []]
    return "\n".join(lines)


def index(entry: Entry) -> str:
    raw = entry.data[RAW]
    header = f"{entry.name}: {_subtitle(entry, raw)}"
    text = [*_card_face(entry, raw), *(entry.data.get("desc") or []), *_sections(raw)]
    body = [plain_tags(str(p)) for p in text]
    codes = entry.data.get("5etools_codes")
    facts = [plain_tags(f) for f in _facts(raw, entry.collection, codes)]
    return plain("\n".join([header, *facts, *body]))  # no Markdown: a snippet's `**` is a match


def render_text(entry: Entry, purpose: str) -> str | None:
    if not isinstance(entry.data.get(RAW), dict):
        return None
    if purpose == "markdown" and entry.collection not in CORE_CARDS:
        return markdown(entry)
    if purpose == "index" and entry.collection not in CORE_INDEX:
        return index(entry)
    if (
        purpose == "detail"
        and entry.collection == "races"
        and entry.data[RAW].get("edition") == "one"
    ):
        return "species"  # a 2024 species, as its card says (The Crooked Moon's Azureborn)
    return None
