"""A 5etools class as its page shows it (5etools' `Renderer.class`): starting proficiencies and
equipment in words, multiclassing requirements, the class's spell list as links, and one table
of the class by level: Level, Proficiency Bonus, Features, then the columns of its
`classTableGroups` (`rows`, or `rowsSpellProgression` with `—` for no slot)."""

from __future__ import annotations

from typing import Any

from d5e_daemon.text import small_int

from .entries import ABILITY_NAMES, cell, count_word

_ARMOR = {"light": "light armor", "medium": "medium armor", "heavy": "heavy armor"}
_WEAPONS = {"simple": "simple weapons", "martial": "martial weapons"}
# what the class's page does not show: data for 5etools' character builder, shown by the table
BUILDER_DATA = frozenset(
    {
        "classTableGroups", "subclassTableGroups", "cantripProgression", "spellsKnownProgression",
        "spellsKnownProgressionFixed", "spellsKnownProgressionFixedAllowLowerLevel",
        "spellsKnownProgressionFixedByLevel", "preparedSpellsProgression",
        "preparedSpellsChange", "preparedSpells", "featProgression",
        "optionalfeatureProgression",
    }
)  # fmt: skip


_SMALL_WORDS = frozenset({"of", "the", "and", "a", "an", "in", "on", "to"})


def _title(word: str) -> str:
    """A skill's name as the books write it: `sleight of hand` → Sleight of Hand."""
    return " ".join(
        w if i and w in _SMALL_WORDS else w[:1].upper() + w[1:]
        for i, w in enumerate(word.split(" "))
    )


def _conjunct(words: list[str]) -> str:
    """`a`, `a and b`, `a, b, and c` (Hippocamper's Gourmet: `Animal Handling, and Insight`)."""
    if len(words) < 3:
        return " and ".join(words)
    return ", ".join(words[:-1]) + f", and {words[-1]}"


def _text(value: Any) -> str:
    if isinstance(value, dict):  # `{"proficiency": "shield", "full": "shields"}`
        return str(value.get("full") or value.get("proficiency") or value.get("name") or "")
    return str(value)


def _skills(value: Any) -> str:
    out = []
    for block in value if isinstance(value, list) else [value]:
        if not isinstance(block, dict):
            out.append(_text(block))
        elif isinstance(block.get("choose"), dict):
            names = [_title(str(s)) for s in block["choose"].get("from") or []]
            count = count_word(block["choose"].get("count", 1))
            out.append(f"Choose {count} from {_conjunct(names)}" if names else "")
        elif isinstance(block.get("any"), int):
            out.append(f"Choose any {count_word(block['any'])}")
        else:
            out.append(", ".join(_title(k) for k, v in block.items() if v is True))
    return "; or ".join(o for o in out if o)


def proficiencies(value: Any) -> str:
    """`startingProficiencies` (and a multiclass's `proficienciesGained`): `Armor: light armor;
    Weapons: simple weapons; Tools: none; Skills: Choose two from Arcana and History`."""
    if not isinstance(value, dict):
        return ""
    parts = []
    for key, word, names in (("armor", "Armor", _ARMOR), ("weapons", "Weapons", _WEAPONS),
                             ("tools", "Tools", {})):  # fmt: skip
        items = value.get(key)
        if isinstance(items, list) and items:
            parts.append(f"{word}: " + ", ".join(names.get(_text(i), _text(i)) for i in items))
    if value.get("skills"):
        parts.append(f"Skills: {_skills(value['skills'])}")
    return "; ".join(parts)


def equipment(value: Any) -> list[str]:
    """`startingEquipment` as 5etools words it: the items (a 2024 class's `entries` as
    written), and the gold one may take instead; `defaultData` is the builder's."""
    if not isinstance(value, dict):
        return []
    if value.get("entries"):
        return [str(e) for e in value["entries"] if isinstance(e, str)]
    plus = (
        ", plus anything provided by your background"
        if value.get("additionalFromBackground")
        else ""
    )
    out = [f"You start with the following items{plus}:"]
    items = [f"- {item}" for item in value.get("default") or [] if isinstance(item, str)]
    out += ["\n".join(items)] if items else []
    if value.get("goldAlternative"):
        gold = value["goldAlternative"]
        out.append(f"Alternatively, you may start with {gold} gp to buy your own equipment.")
    return out


def primary_ability(value: Any) -> str:
    """A 2024 class's `primaryAbility` (alternatives, each abilities together) as 5etools'
    `Renderer.class.getHtmlPtPrimaryAbility` reads it: `Strength or Dexterity`,
    `Strength and Charisma`."""
    options = [
        " and ".join(ABILITY_NAMES.get(k, k) for k, v in option.items() if v)
        for option in (value if isinstance(value, list) else [value])
        if isinstance(option, dict)
    ]
    if len(options) > 1:
        return ", ".join(options[:-1]) + " or " + options[-1]
    return "".join(options)


def multiclassing(value: Any) -> str:
    """`multiclassing`: `Prerequisites: Constitution 13; Proficiencies gained: Armor: …`."""
    if not isinstance(value, dict):
        return ""
    parts = []
    need = value.get("requirements")
    if isinstance(need, dict):
        groups = [need["or"][0]] if isinstance(need.get("or"), list) and need["or"] else []
        scores = [f"{ABILITY_NAMES.get(a, a)} {n}" for a, n in need.items() if a != "or"]
        alternatives = [
            " or ".join(f"{ABILITY_NAMES.get(a, a)} {n}" for a, n in g.items())
            for g in groups
            if isinstance(g, dict)
        ]
        parts.append("Prerequisites: " + ", ".join(scores + alternatives))
    gained = proficiencies(value.get("proficienciesGained"))
    if gained:
        parts.append(f"Proficiencies gained: {gained}")
    return "; ".join(parts)


def class_spells(value: Any) -> str:
    """`classSpells`, a subclass's `subclassSpells` (`"Fireball|PHB"`, `{"name", "source"}`)
    as spell tags; `{"className", "classSource"}`, another class's whole list, as that."""
    tags = []
    for spell in value if isinstance(value, list) else []:
        if isinstance(spell, dict) and spell.get("className"):
            cls = f"{spell['className']}|{spell.get('classSource', '')}".rstrip("|")
            tags.append(f"the {{@class {cls}}} spell list")
            continue
        if isinstance(spell, dict) and spell.get("name"):
            spell = f"{spell['name']}|{spell.get('source', '')}".rstrip("|")
        if isinstance(spell, str) and spell:
            tags.append(f"{{@spell {spell}}}")
    return ", ".join(tags)


def _features_by_level(raw: dict[str, Any]) -> dict[int, list[str]]:
    """Feature names by level: references `"Name|Class|Source|Level"` (or objects holding
    one), or the older format's list of levels, each a list of feature objects."""
    out: dict[int, list[str]] = {}
    for i, feature in enumerate(raw.get("classFeatures") or []):
        if isinstance(feature, list):  # the older format: one list per level
            names = [str(f.get("name")) for f in feature if isinstance(f, dict) and f.get("name")]
            out.setdefault(i + 1, []).extend(names)
            continue
        if isinstance(feature, dict):
            feature = feature.get("classFeature", "")
        parts = str(feature).split("|")
        level = small_int(parts[3]) if len(parts) > 3 and parts[3].strip().isdigit() else None
        if level is not None:
            out.setdefault(level, []).append(parts[0])
    return out


def _cell(value: Any) -> str:
    if isinstance(value, dict):
        kind = value.get("type")
        if kind == "dice":
            rolls = value.get("toRoll") or []
            return " + ".join(
                f"{r.get('number', 1)}d{r.get('faces', '')}" for r in rolls if isinstance(r, dict)
            )
        if kind in ("bonus", "bonusSpeed") and isinstance(value.get("value"), int):
            sign = "+" if value["value"] >= 0 else ""
            return f"{sign}{value['value']}" + (" ft." if kind == "bonusSpeed" else "")
        return str(value.get("value", value.get("name", "")))
    return cell(str(value))  # a tag's `|` (`{@filter 1st|spells|level=1}`) is the tag's


def table(raw: dict[str, Any]) -> list[str]:
    """The class table, one row a level, with a line naming the titled groups' columns
    (`Spell Slots per Spell Level: 1st, 2nd, …`): what 5etools shows above them. A subclass's
    `subclassTableGroups` (a third-caster's spells and slots), the columns 5etools adds to the
    class's table when the subclass is shown: Level, then those columns (its features are
    drawn below the table, by level)."""
    subclass = "subclassTableGroups" in raw
    features = {} if subclass else _features_by_level(raw)
    key = "subclassTableGroups" if subclass else "classTableGroups"
    groups = [g for g in raw.get(key) or [] if isinstance(g, dict)]
    if not features and not groups:
        return []
    labels = ["Level"] if subclass else ["Level", "Proficiency Bonus", "Features"]
    columns: list[list[str]] = []
    titled = []
    for group in groups:
        names = [cell(label) for label in group.get("colLabels") or []]
        slots = "rowsSpellProgression" in group
        rows = group.get("rowsSpellProgression" if slots else "rows") or []
        for c in range(len(names)):
            cells = []
            for row in rows[:20]:
                value = row[c] if isinstance(row, list) and c < len(row) else ""
                cells.append("—" if slots and value == 0 else _cell(value))
            columns.append(cells)
        labels += names
        if group.get("title") and names:
            titled.append(f"*{group['title']}*: {', '.join(names)}")
    lines = ["| " + " | ".join(labels) + " |", "|" + "---|" * len(labels)]
    for level in range(1, 21):
        cells = [c[level - 1] if level - 1 < len(c) else "" for c in columns]
        if subclass:
            lines.append("| " + " | ".join([str(level), *cells]) + " |")
            continue
        bonus = f"+{2 + (level - 1) // 4}"
        named = ", ".join(features.get(level, [])) or "—"
        lines.append("| " + " | ".join([str(level), bonus, named, *cells]) + " |")
    return ["; ".join(titled)] * bool(titled) + ["\n".join(lines)]
