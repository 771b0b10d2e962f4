"""Built-in `render_text(entry, "index")`: the text an entry is searched by (keywords and vectors).

It leads with what the entry is and does, in the words players use: a header line
(`Fireball: 3rd-level evocation spell of Sorcerer, Wizard`, `Ghoul: CR 1 medium undead`), then
the first paragraph of the description (what it does), then the facts as players write them
(`8d6 fire damage`, `d12 hit die`, `requires attunement`), then the rest of the description.
Numbers that only a stat block reads (ability scores, hit points, costs, attack bonuses, the
average beside a die roll) are left out: they match nothing a writer asks and dilute the
meaning of the rest; a monster's attack reads `Claws: melee weapon attack, 2d4 + 2 slashing
damage`. The header is repeated by the indexer at the start of every passage of a long entry,
so that a passage about a monster's Claws still says whose claws they are.

The same text is what keyword search reads (see `search/builder.py`), so a word a player uses for an
entry's kind ("cantrip", "undead", "condition") finds it by keywords too.

Collections without a renderer here get `fallback.py`'s (name and every text field).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ..fields import (
    challenge_rating,
    describe,
    equipment_kind,
    listing,
    magic_item_parts,
    paragraphs,
    plain,
    singular,
    spell_components,
    spell_duration,
    spell_kind,
    spell_range,
    text_paragraphs,
    weapon_damage,
)
from ..filters import FILTERS
from ..hookspecs import hookimpl
from ..records import Entry

# "Melee Weapon Attack: +6 to hit, reach 5 ft., one target. Hit: " (2014) and
# "Melee Attack Roll: +9, reach 15 ft. Hit: " (2024): everything but the kind of attack is
# stat-block arithmetic.
_ATTACK = re.compile(
    r"\b(Melee or Ranged|Melee|Ranged) (?:(Weapon|Spell) Attack|Attack Roll): [+-]?\d.*?\bHit: "
)
# "17 (2d12 + 4)": the average first, then the roll players write.
_AVERAGE_ROLL = re.compile(r"\b\d+ \((\d+d\d+(?: ?[+-] ?\d+)?)\)")


def _doc(header: str, facts: list[str], body: list[str]) -> str:
    """`header` on the first line, then what the entry does (the body's first paragraph), then
    the facts as one sentence, then the rest of the body."""
    lead = ". ".join(f.rstrip(".") for f in facts if f) + ("." if any(facts) else "")
    paras = [plain(b) for b in body]
    return "\n".join(p for p in (header, *paras[:1], lead, *paras[1:]) if p.strip()) + "\n"


def players_words(text: str) -> str:
    """Stat-block lines as players say them: `melee weapon attack, 2d12 + 4 slashing damage`."""
    text = _ATTACK.sub(
        lambda m: " ".join(p.lower() for p in m.groups() if p) + " attack, ",
        text,
    )
    return _AVERAGE_ROLL.sub(r"\1", text)


def _blocks(items: Any) -> list[str]:
    """Traits or actions as `Name: description` paragraphs."""
    out = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict):
            name = describe(item.get("name")).strip().rstrip(".")
            desc = players_words(" ".join(text_paragraphs(item.get("desc"))))
            out.append(f"{name}: {desc}" if name else desc)
    return out


_ABILITY_NAMES = {
    "STR": "Strength",
    "DEX": "Dexterity",
    "CON": "Constitution",
    "INT": "Intelligence",
    "WIS": "Wisdom",
    "CHA": "Charisma",
}


def _abilities(value: Any) -> str:
    """`[{"name": "DEX"}, {"name": "INT"}]` → `Dexterity, Intelligence`."""
    names = [describe(v) for v in value] if isinstance(value, list) else [describe(value)]
    return ", ".join(_ABILITY_NAMES.get(n.upper(), n) for n in names if n)


def _saving_throw(data: dict[str, Any]) -> str:
    dc = data.get("dc")
    if not isinstance(dc, dict):
        return ""
    ability = _abilities(dc.get("dc_type"))
    success = describe(dc.get("dc_success"))
    return f"{ability} saving throw" + (" for half damage" if success == "half" else "")


def _spell_damage(data: dict[str, Any]) -> str:
    damage = data.get("damage")
    if not isinstance(damage, dict):
        return ""
    kind = describe(damage.get("damage_type")).lower()
    for key in ("damage_at_slot_level", "damage_at_character_level"):
        table = damage.get(key)
        if isinstance(table, dict) and table:
            return f"{next(iter(table.values()))} {kind} damage".strip()
    return f"{kind} damage" if kind else ""


# What a spell does, read from its record for `spell_summary` (a condition as the verb a table
# asks with, a creature type as the text names it).
_INFLICTED = next(f for f in FILTERS if f.name == "inflicts").extract
_CONDITION_VERBS = {
    "blinded": "blind",
    "charmed": "charm",
    "deafened": "deafen",
    "frightened": "frighten",
    "grappled": "grapple",
    "incapacitated": "incapacitate",
    "invisible": "make invisible",
    "paralyzed": "paralyze",
    "petrified": "turn to stone",
    "poisoned": "poison",
    "prone": "knock prone",
    "restrained": "restrain",
    "stunned": "stun",
    "unconscious": "knock unconscious",
    "exhaustion": "exhaust",
}
_CREATURE_TYPES = re.compile(
    r"\b(beasts?|humanoids?|undead|plants?|fiends?|celestials?|elementals?|fey|constructs?|"
    r"dragons?|giants?|aberrations?|monstrosit(?:y|ies)|oozes?)\b"
)
_SPARES = re.compile(r"\bno effect|unaffected|immune|\bisn't\b|\baren't\b|can't be|\bnot\b")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def _plural(kind: str) -> str:
    if kind in ("undead", "fey"):
        return kind
    return kind[:-1] + "ies" if kind.endswith("y") else kind + "s"


def spell_summary(data: dict[str, Any]) -> str:
    """What a spell does to whom, in one line read from its record: the conditions it inflicts
    (the `inflicts` filter's reading), the kinds of creature its text names (not in a sentence
    sparing them: "no effect on undead"), whether it heals, its area. `It can paralyze
    humanoids.`, `It can charm beasts or plants.`, `It affects beasts.` A table asks for a
    spell by what it does to whom ("make the guard freeze", "talk to the squirrel"); the text
    says so in passing, mid-sentence, among the rules."""
    sentences = _SENTENCE_END.split(" ".join(text_paragraphs(data.get("desc"))))
    kinds = [
        _plural(singular(kind))
        for sentence in sentences
        if not _SPARES.search(sentence)
        for kind in _CREATURE_TYPES.findall(sentence)
    ]
    whom = " or ".join(dict.fromkeys(kinds)) or "creatures"
    verbs = [_CONDITION_VERBS.get(str(c), str(c)) for c in _INFLICTED(data)]
    said = [f"It can {' and '.join(verbs)} {whom}." if verbs else ""]
    if kinds and not verbs:
        said.append(f"It affects {whom}.")
    if data.get("heal_at_slot_level"):
        said.append("It heals hit points.")
    area = data.get("area_of_effect")
    if isinstance(area, dict) and area.get("type") and area.get("size"):
        said.append(f"It fills a {describe(area['size'])}-foot {describe(area['type'])}.")
    return " ".join(s for s in said if s)


def spell(entry: Entry) -> str:
    data = entry.data
    classes = describe(data.get("classes"))
    kind = spell_kind(data).replace(" (ritual)", "")
    kind = kind if kind.lower().endswith(("cantrip", "spell")) else f"{kind} spell"
    header = f"{entry.name}: {kind}" + (f" of {classes}" if classes else "")
    facts = [
        "ritual" if data.get("ritual") is True else "",
        _spell_damage(data),
        _saving_throw(data),
        f"range {spell_range(data)}" if spell_range(data) else "",
        f"casting time {describe(data.get('casting_time'))}" if data.get("casting_time") else "",
        spell_duration(data),
        f"components {spell_components(data)}" if data.get("components") else "",
    ]
    higher = text_paragraphs(data.get("higher_level"))
    heading = describe(data.get("higher_level_name", "At higher levels"))
    said = f"{heading}: " if heading else ""
    body = paragraphs(data) + ([f"{said}{' '.join(higher)}"] if higher else [])
    # what it does to whom after its first paragraph (its lore, when its pack gives one): in
    # the lead passage it weighed down the lore line's meaning (seventeenth session)
    body = _with_lore(data, body)
    summary = spell_summary(data)
    return _doc(header, facts, [*body[:1], summary, *body[1:]] if summary else body)


def _speeds(value: Any) -> str:
    if not isinstance(value, dict):
        return ""
    modes = {"fly": "flies", "swim": "swims", "climb": "climbs", "burrow": "burrows"}
    return ", ".join(modes[m] for m in value if m in modes)


_MONSTER_LISTS = (
    ("damage_immunities", "immune to {} damage"),
    ("damage_resistances", "resists {} damage"),
    ("damage_vulnerabilities", "vulnerable to {} damage"),
    ("condition_immunities", "cannot be {}"),
)


# What a monster's attack or trait does to its target, as its text says it ("… or be paralyzed
# for 1 minute"), in the words players ask with ("undead whose touch paralyses").
_INFLICTS = (
    (r"\bparalyzed\b", "paralyze"),
    (r"\bpetrified\b|\bturns? to stone\b", "turn to stone"),
    (r"\bpoisoned\b", "poison"),
    (r"\bfrightened\b", "frighten"),
    (r"\bcharmed\b", "charm"),
    (r"\bstunned\b", "stun"),
    (r"\bblinded\b", "blind"),
    (r"\brestrained\b", "restrain"),
    (r"\bgrappled\b", "grab"),
    (r"\bknocked prone\b|\bfalls? prone\b", "knock down"),
    (r"\bswallowed\b", "swallow whole"),
    (r"\bhit point maximum is reduced\b", "drain life"),
    (
        r"\b(?:Strength|Dexterity|Constitution|Intelligence|Wisdom|Charisma) score is reduced\b",
        "drain strength",
    ),
    (r"\bdisease", "spread disease"),
)
_INFLICTS_RE = tuple((re.compile(pattern), verb) for pattern, verb in _INFLICTS)
_INFLICTS_ANY = re.compile("|".join(pattern for pattern, _ in _INFLICTS))
"""Whether a text says any of them: one pass, where most texts (an attack's hit and damage)
say none; those that do are read for each (~10 % of a 100,000-entry index's first phase went to
the 14 searches of every action's text)."""
_MOVES = {"fly": "flies", "swim": "swims", "climb": "climbs", "burrow": "burrows"}
_PARENTHESES = re.compile(r"\s*\(.*?\)")


def _lore(data: dict[str, Any]) -> str:
    """The entry's `lore`, if its pack gives one: what it is and looks like in plain words
    (the SRD's from `d5e-srd`'s lore table), which its record itself never says."""
    lore = data.get("lore")
    return " ".join(lore.split()) if isinstance(lore, str) else ""


def _with_lore(data: dict[str, Any], body: list[str]) -> list[str]:
    """`body` after the entry's lore, if it has one (then the lore is what the entry does)."""
    return [_lore(data), *body] if _lore(data) else body


def _items(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def monster_summary(entry: Entry) -> str:
    """What a monster is and does in plain words, from its stat block: its kind, how it moves,
    its `lore` if its pack gives one (what it looks like and is known for, which a stat block
    never says), what it attacks with and what its attacks and traits do to a target.

    `Ghoul is a medium undead. It attacks with its bite, claws. Its claws can paralyze.`
    """
    data = entry.data
    kind = " ".join(describe(data.get(k)) for k in ("size", "type") if describe(data.get(k)))
    kind = kind.lower() or "creature"
    subtype = describe(data.get("subtype"))
    article = "an" if kind[0] in "aeiou" else "a"
    speed = data.get("speed")
    moves = [_MOVES[m] for m in speed if m in _MOVES] if isinstance(speed, dict) else []
    sentences = [
        f"{entry.name} is {article} {kind}"
        + (f" ({subtype})" if subtype else "")
        + (" that " + " and ".join(moves) if moves else "")
        + "."
    ]
    if _lore(data):
        sentences.append(_lore(data))
    actions = _items(data.get("actions"))
    weapons: list[str] = []
    effects: list[str] = []
    for item in actions + _items(data.get("special_abilities")):
        name = _PARENTHESES.sub("", describe(item.get("name"))).strip().rstrip(".").lower()
        desc = " ".join(text_paragraphs(item.get("desc")))
        if not name or name == "multiattack":
            continue
        if item in actions and "Attack" in desc:
            weapons.append(name)
        does = (
            [verb for pattern, verb in _INFLICTS_RE if pattern.search(desc)]
            if _INFLICTS_ANY.search(desc)
            else []
        )
        if does:
            effects.append(f"its {name} can " + " and ".join(dict.fromkeys(does)))
    if weapons:
        sentences.append("It attacks with its " + ", ".join(dict.fromkeys(weapons)) + ".")
    if effects:
        sentences.append(("; ".join(effects) + ".").capitalize())
    return " ".join(sentences)


def monster(entry: Entry) -> str:
    data = entry.data
    kind = " ".join(describe(data.get(k)) for k in ("size", "type") if describe(data.get(k)))
    subtype = describe(data.get("subtype"))
    cr = (
        f"CR {challenge_rating(data['challenge_rating'])}"
        if data.get("challenge_rating") is not None
        else ""
    )
    header = f"{entry.name}: {' '.join(p for p in (cr, kind.lower()) if p)}"
    header += f" ({subtype})" if subtype else ""
    facts = [describe(data.get("alignment")), _speeds(data.get("speed"))]
    for key, template in _MONSTER_LISTS:
        listed = listing(data.get(key), lower=key == "condition_immunities")
        facts.append(template.format(listed) if listed else "")
    languages = describe(data.get("languages"))
    facts.append(f"languages {languages}" if languages else "")
    # what it is and does in plain words first: the lead, also embedded alone (see
    # `search/passages.py`)
    body = [monster_summary(entry), *paragraphs(data), *_blocks(data.get("special_abilities"))]
    for key, title in (
        ("actions", ""),
        ("bonus_actions", "Bonus action "),
        ("reactions", "Reaction "),
        ("legendary_actions", "Legendary action "),
    ):
        body += [title + block for block in _blocks(data.get(key))]
    return _doc(header, facts, body)


def magic_item(entry: Entry) -> str:
    kind, body = magic_item_parts(entry.data)
    kind = kind[:1].lower() + kind[1:]
    return _doc(f"{entry.name}: magic item, {kind}", [], _with_lore(entry.data, body))


def equipment(entry: Entry) -> str:
    data = entry.data
    kind = equipment_kind(data)
    facts = [
        weapon_damage(data) + " damage" if weapon_damage(data) else "",
        f"properties {describe(data.get('properties')).lower()}" if data.get("properties") else "",
        "disadvantage on Stealth" if data.get("stealth_disadvantage") is True else "",
    ]
    body = (
        paragraphs(data) + text_paragraphs(data.get("special")) + text_paragraphs(data.get("notes"))
    )
    return _doc(f"{entry.name}: {kind.lower()}", facts, _with_lore(data, body))


def feature(entry: Entry) -> str:
    data = entry.data
    owner = describe(data.get("subclass")) or describe(data.get("class"))
    cls = describe(data.get("class"))
    if describe(data.get("subclass")) and cls:
        owner = f"{owner} ({cls} subclass)"
    level = data.get("level")
    if isinstance(level, dict):  # 2024: a reference to the class level, "Barbarian 4"
        facts = [f"gained at {describe(level)}"]
    else:
        facts = [f"{cls or 'class'} level {describe(level)}" if describe(level) else ""]
    header = f"{entry.name}: {owner} class feature".strip()
    return _doc(header, facts, _with_lore(data, paragraphs(data)))


def trait(entry: Entry) -> str:
    data = entry.data
    owners = describe(data.get("races") or data.get("species")) or describe(data.get("subraces"))
    header = f"{entry.name}: racial trait" + (f" of {owners}" if owners else "")
    return _doc(header, [], _with_lore(data, paragraphs(data)))


def condition(entry: Entry) -> str:
    return _doc(f"{entry.name}: condition", [], _with_lore(entry.data, paragraphs(entry.data)))


def rule_section(entry: Entry) -> str:
    body = paragraphs(entry.data)
    if body and body[0].lstrip("# ").strip() == entry.name:
        body = body[1:]
    lines = [line for para in body for line in para.split("\n")]
    if lines and lines[0].lstrip("# ").strip() == entry.name:
        lines = lines[1:]
    return _doc(f"{entry.name}: rules", [], _with_lore(entry.data, ["\n".join(lines)]))


def character_class(entry: Entry) -> str:
    data = entry.data
    saves = _abilities(data.get("saving_throws"))
    listed = data.get("proficiencies")
    listed = listed if isinstance(listed, list) else []
    # saving throws are said above, in words
    proficiencies = describe([p for p in listed if not describe(p).startswith("Saving Throw")])
    facts = [
        f"d{describe(data.get('hit_die'))} hit die" if data.get("hit_die") else "",
        f"saving throws {saves}" if saves else "",
        f"proficiencies {proficiencies}" if proficiencies else "",
    ]
    return _doc(f"{entry.name}: class", facts, _with_lore(data, paragraphs(data)))


def race(entry: Entry) -> str:
    data = entry.data
    facts = [
        describe(data.get("size")),
        f"speed {describe(data.get('speed'))} feet" if data.get("speed") else "",
        f"traits {describe(data.get('traits'))}" if data.get("traits") else "",
        f"languages {describe(data.get('languages'))}" if data.get("languages") else "",
    ]
    body = [describe(data.get(k)) for k in ("age", "alignment", "size_description")]
    return _doc(
        f"{entry.name}: {singular(entry.collection)}",
        facts,
        _with_lore(data, paragraphs(data) + body),
    )


_INDEX: dict[str, Callable[[Entry], str]] = {
    "spells": spell,
    "monsters": monster,
    "magic-items": magic_item,
    "equipment": equipment,
    "features": feature,
    "traits": trait,
    "conditions": condition,
    "rule-sections": rule_section,
    "classes": character_class,
    "races": race,
    "species": race,
    "subraces": race,
    "subspecies": race,
}


@hookimpl
def render_text(entry: Entry, purpose: str) -> str | None:
    if purpose == "index" and entry.collection in _INDEX:
        return _INDEX[entry.collection](entry)
    return None
