"""`d5e/encounter`: how hard a fight is for a party, by the 2014 or the 2024 DMG.

- 2014: the monsters' XP added up, times the Encounter Multiplier of their number (one step up
  for a party of fewer than three, one step down for six or more), compared with the party's
  thresholds (each character's Easy / Medium / Hard / Deadly threshold, summed). The encounter
  is the hardest threshold its adjusted XP reaches; below Easy it is "trivial".
- 2024: the monsters' XP added up (no multiplier), compared with the party's XP budget (each
  character's Low / Moderate / High budget, summed): the highest budget the XP reaches; below
  Low, "trivial"; beyond High it stays "high", with a note.

A group's count may be a range or a roll as writers write it ("6-8", "1d4+1", "two or three",
"up to 5": `quantity.parse_quantity`, the one reader of them): the difficulty is then given at
both ends, every group at its low end and every group at its high end.

A monster counts by its record: `xp` when the record has it, else its `challenge_rating`
through the XP-by-CR table, so homebrew of every pack format counts as the SRD does. The
tables are in `encounter_tables.py`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from .. import encounter_tables as tables
from .. import queries
from ..app import App
from ..errors import InvalidParams, NotFound
from ..protocol import (
    EncounterMonster,
    EncounterParams,
    EncounterResult,
    LookupParams,
    MonsterXp,
    Rules,
)
from ..quantity import parse_quantity
from ..text import normalize
from .lookup import find

MAX_COUNT = 1000
NEEDS_XP = "a creature no pack has needs its `cr` or `xp`"
"""Said after an unknown creature's "did you mean"; its JSON path is in the error's data."""
"""Creatures in one group at most: more is a typo (the multiplier table stops at 15)."""
MAX_XP = 10_000_000
"""XP of one creature at most (CR 30 is worth 155,000)."""
MONSTERS = "monsters"


@dataclass(frozen=True)
class Group:
    """Creatures of one kind, resolved: how much XP each is worth."""

    name: str
    count: int
    xp: int
    cr: float | None = None
    ref: str | None = None
    pack: str | None = None
    high: int | None = None
    """How many at the high end of a range (None: `count`, exactly)."""

    @property
    def most(self) -> int:
        return self.count if self.high is None else self.high


def ends_text(low: object, high: object, unit: str = "", spec: str = ",") -> str:
    """`400`, or both ends where they differ: `400–600`; formatted by `spec` (thousands:
    `1,200`), the unit after: `400–600 XP`."""
    shown = format(low, spec) if low == high else f"{low:{spec}}–{high:{spec}}"
    return f"{shown}{unit}"


def counts(monster: EncounterMonster, where: str) -> tuple[int, int]:
    """The low and the high end of a group's count: a number, or a range or a roll as written
    ("6-8", "1d4+1"; a range's low end may be 0: "1d4-1")."""
    count = monster.count
    if isinstance(count, str):
        try:
            low, high = parse_quantity(count)
        except ValueError as exc:  # said with its JSON path, as msgspec says a wrong type
            at = f" - at `{where}.count`" if where.startswith("$") else ""
            raise InvalidParams(f"{exc}{at}", {"path": f"{where}.count"}) from None
    else:
        low = high = count
    if high > MAX_COUNT or low < (1 if low == high else 0):
        raise InvalidParams(
            f"count {count}: a group holds 1 to {MAX_COUNT} creatures", {"path": f"{where}.count"}
        )
    return low, high


def _fraction(text: str) -> float | None:
    text = text.strip()
    top, slash, bottom = text.partition("/")
    try:
        if slash:
            return int(top) / int(bottom) if int(bottom) else None
        return float(text)
    except ValueError:
        return None


def challenge_rating(value: Any) -> float | None:
    """A CR as a number: `2`, `0.25`, `"1/4"`, `"1/8"`; None if it is not one."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        return _fraction(value)
    if isinstance(value, dict):  # 5etools' {"cr": "1/4", "lair": "2"}
        return challenge_rating(value.get("cr"))
    return None


def cr_text(cr: float) -> str:
    return {0.125: "1/8", 0.25: "1/4", 0.5: "1/2"}.get(cr, f"{cr:g}")


def xp_for_cr(cr: float, where: str) -> int:
    xp = tables.XP_BY_CR.get(cr)
    if xp is None:
        raise InvalidParams(
            f"challenge rating {cr_text(cr)} is not on the XP table (0, 1/8, 1/4, 1/2, 1 to "
            "30): give the creature's `xp`",
            {"path": where},
        )
    return xp


class _Challenge(msgspec.Struct):
    """The fields of a monster record that say what it is worth (the rest is skipped unread)."""

    xp: Any = None
    challenge_rating: Any = None
    cr: Any = None


def _challenge(data_json: str) -> dict[str, Any]:
    try:
        found = msgspec.json.decode(data_json, type=_Challenge)
    except msgspec.ValidationError:  # a record that is no object: worth nothing it says
        return {}
    return {k: v for k, v in msgspec.structs.asdict(found).items() if v is not None}


def record_xp(data: dict[str, Any]) -> tuple[float | None, int | None]:
    """(CR, XP of one creature) from a monster record; XP None when it has neither field."""
    cr = challenge_rating(data.get("challenge_rating", data.get("cr")))
    xp = data.get("xp")
    if isinstance(xp, int) and not isinstance(xp, bool) and 0 <= xp <= MAX_XP:
        return cr, xp
    if cr is not None and cr in tables.XP_BY_CR:
        return cr, tables.XP_BY_CR[cr]
    return cr, None


def _given(monster: EncounterMonster, where: str) -> tuple[float | None, int | None]:
    """The CR and XP the request itself gives for a group."""
    cr = None
    if monster.cr is not None:
        cr = challenge_rating(monster.cr)
        if cr is None:
            raise InvalidParams(
                f"challenge rating {monster.cr!r} is not a number (2, 0.25 or 1/4)",
                {"path": f"{where}.cr"},
            )
    if monster.xp is not None:
        if not 0 <= monster.xp <= MAX_XP:
            raise InvalidParams(
                f"xp {monster.xp}: a creature is worth 0 to {MAX_XP:,} XP", {"path": f"{where}.xp"}
            )
        return cr, monster.xp
    if cr is not None:
        return cr, xp_for_cr(cr, f"{where}.cr")
    return None, None


def resolve(app: App, monster: EncounterMonster, where: str) -> Group:
    """One group of the request, with the XP each of its creatures is worth."""
    count, high = counts(monster, where)
    most = None if high == count else high
    if (monster.ref is None) == (monster.name is None):
        raise InvalidParams("give one of `ref` or `name`", {"path": where})
    cr, xp = _given(monster, where)
    if xp is not None and monster.name is not None:
        # named with its own CR or XP: a creature of the writer's, unless a pack has it (no
        # "did you mean" looked for: it is not missing)
        rows = queries.winners_by_norm_name(
            app.conn, app.profile, normalize(monster.name), [MONSTERS]
        )
        if not rows:
            return Group(name=monster.name, count=count, xp=xp, cr=cr, high=most)
    try:
        row, _ = find(app, LookupParams(ref=monster.ref, name=monster.name, collection=MONSTERS))
    except NotFound as exc:
        data = exc.data if isinstance(exc.data, dict) else {}
        raise NotFound(
            f"{exc.message} ({NEEDS_XP})",
            {**data, "path": where},
        ) from exc
    except InvalidParams as exc:
        raise InvalidParams(exc.message, {"path": f"{where}.ref"}) from exc
    if xp is None:
        cr, xp = record_xp(_challenge(row.data_json))
        if xp is None:
            have = f"challenge rating {cr_text(cr)} is not on the XP table" if cr else "no CR"
            raise InvalidParams(
                f"{row.name} ({row.qualified_ref}) has {have} and no XP in its record: "
                "give its `cr` or `xp`",
                {"path": where, "ref": row.qualified_ref},
            )
    return Group(name=row.name, count=count, xp=xp, cr=cr, ref=row.ref, pack=row.pack, high=most)


def check_party(party: Sequence[int], where: str = "$.party") -> None:
    if not party:
        raise InvalidParams(
            "the party is empty: give each character's level, e.g. [3, 3, 3, 3]",
            {"path": where},
        )
    for i, level in enumerate(party):
        if level not in tables.LEVELS:
            raise InvalidParams(
                f"character level {level}: levels are 1 to 20", {"path": f"{where}[{i}]"}
            )


def multiplier_2014(monsters: int, characters: int) -> float:
    """The Encounter Multiplier for this many monsters, adjusted for the party's size."""
    step = max(i for fewest, i in tables.MULTIPLIERS_2014 if monsters >= fewest)
    if characters < tables.SMALL_PARTY_2014:
        step += 1
    elif characters >= tables.LARGE_PARTY_2014:
        step -= 1
    return tables.MULTIPLIER_STEPS_2014[step]


def party_text(party: Sequence[int]) -> str:
    """`4 × level 3`; `2 × level 3, 1 × level 5`."""
    counts = Counter(party)
    return ", ".join(f"{counts[level]} × level {level}" for level in sorted(counts))


def _difficulty(
    party: Sequence[int], xp: int, creatures: int, rules: Rules
) -> tuple[float, int, str, dict[str, int]]:
    """(multiplier, adjusted XP, difficulty, thresholds) of `creatures` worth `xp` in all."""
    if rules == "2014":
        names: tuple[str, ...] = tables.DIFFICULTIES_2014
        levels: list[tuple[int, ...]] = [tables.THRESHOLDS_2014[level] for level in party]
        multiplier = multiplier_2014(creatures, len(party)) if creatures else 1.0
        adjusted = int(xp * multiplier)
    else:
        names = tables.DIFFICULTIES_2024
        levels = [tables.BUDGET_2024[level] for level in party]
        multiplier, adjusted = 1.0, xp
    thresholds = {name: sum(row[i] for row in levels) for i, name in enumerate(names)}
    reached = [name for name in names if adjusted >= thresholds[name]]
    return multiplier, adjusted, reached[-1] if reached else "trivial", thresholds


def maths(party: Sequence[int], groups: Sequence[Group], rules: Rules) -> EncounterResult:
    """The difficulty of `groups` against `party` (levels checked already), at the low end of
    their counts and at the high end."""
    xp = sum(g.xp * g.count for g in groups)
    xp_max = sum(g.xp * g.most for g in groups)
    creatures = sum(g.count for g in groups)
    most = sum(g.most for g in groups)
    multiplier, adjusted, difficulty, thresholds = _difficulty(party, xp, creatures, rules)
    multiplier_max, adjusted_max, difficulty_max, _ = _difficulty(party, xp_max, most, rules)
    notes: list[str] = []
    if rules == "2014" and most and len(party) < tables.SMALL_PARTY_2014:
        notes.append(f"a party of {len(party)}: the multiplier is one step higher")
    elif rules == "2014" and most and len(party) >= tables.LARGE_PARTY_2014:
        notes.append(f"a party of {len(party)}: the multiplier is one step lower")
    if rules == "2024" and adjusted_max > thresholds["high"]:
        notes.append(
            f"beyond the High budget ({thresholds['high']:,} XP): the 2024 DMG has no harder tier"
        )
    shown = ends_text(adjusted, adjusted_max, " XP")
    if rules == "2014":
        shown += " (adjusted)"
    level = ends_text(difficulty.capitalize(), difficulty_max.capitalize(), spec="")
    return EncounterResult(
        rules=rules,
        party=list(party),
        xp=xp,
        adjusted_xp=adjusted,
        multiplier=multiplier,
        difficulty=difficulty,
        xp_max=xp_max,
        adjusted_xp_max=adjusted_max,
        multiplier_max=multiplier_max,
        difficulty_max=difficulty_max,
        thresholds=thresholds,
        per_monster=[
            MonsterXp(
                ref=g.ref,
                pack=g.pack,
                name=g.name,
                count=g.count,
                count_max=g.most,
                cr=g.cr,
                xp=g.xp,
                total_xp=g.xp * g.count,
                total_xp_max=g.xp * g.most,
            )
            for g in groups
        ],
        summary=f"{level} · {shown} for {party_text(party)}",
        notes=notes,
    )


def encounter(app: App, params: EncounterParams) -> EncounterResult:
    check_party(params.party)
    if not params.monsters:  # the budget asked before the monsters: said, to pick them by
        rules = params.rules or app.settings.edition
        *_, thresholds = _difficulty(params.party, 0, 0, rules)
        budget = ", ".join(f"{name} {xp:,}" for name, xp in thresholds.items())
        adjusted = (
            " (adjusted XP: multiplied for the number of monsters)" if rules == "2014" else ""
        )
        raise InvalidParams(
            'no monsters: give at least one, e.g. {"name": "wolf", "count": 4}; '
            f"{party_text(params.party)} by the {rules} rules: {budget} XP{adjusted}",
            {"path": "$.monsters"},
        )
    groups = [resolve(app, m, f"$.monsters[{i}]") for i, m in enumerate(params.monsters)]
    return maths(params.party, groups, params.rules or app.settings.edition)
