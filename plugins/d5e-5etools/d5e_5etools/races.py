"""A race with one of its subraces, merged as 5etools merges them (`Renderer.race.
_getMergedSubrace`): what a subrace's `_versions` apply to, and what a race's "base" subrace
(one without a name) adds to the race itself."""

from __future__ import annotations

import re
from typing import Any

from .copy import _clone

_NOT_MERGED = ("subraces", "srd", "srd52", "basicRules", "basicRules2024", "_versions",
               "hasFluff", "hasFluffImages", "reprintedAs")  # fmt: skip


def subrace_name(race: str, subrace: str) -> str:
    """`("Elf", "High")` → `"Elf (High)"`; `("Elf (Sea)", "Pale")` → `"Elf (Sea; Pale)"`."""
    if not subrace:
        return race
    m = re.match(r"^(.*?)(\(.*?\))$", race or "")
    if not m:
        return f"{race} ({subrace})"
    return f"{m[1]}({m[2][1:-1]}; {subrace})"


def merge(race: dict[str, Any], subrace: dict[str, Any]) -> dict[str, Any]:
    out = {k: _clone(v) for k, v in race.items() if k not in _NOT_MERGED}
    sub = _clone(subrace)
    if isinstance(sub.get("ability"), dict):  # older files: one dict, not a list of them
        sub["ability"] = [sub["ability"]]
    if isinstance(out.get("ability"), dict):
        out["ability"] = [out["ability"]]
    overwrite = sub.get("overwrite") if isinstance(sub.get("overwrite"), dict) else {}
    if sub.get("name"):
        out["name"] = subrace_name(str(out.get("name", "")), str(sub.pop("name")))
    if isinstance(sub.get("ability"), list):
        if overwrite.get("ability") or not isinstance(out.get("ability"), list):
            out["ability"] = [{} for _ in sub["ability"]]
        if len(out["ability"]) == len(sub["ability"]):
            for mine, theirs in zip(out["ability"], sub.pop("ability"), strict=True):
                if isinstance(mine, dict) and isinstance(theirs, dict):
                    mine.update(theirs)
    if isinstance(sub.get("entries"), list):
        entries = out.setdefault("entries", [])
        for entry in sub.pop("entries"):
            target = (entry.get("data") or {}).get("overwrite") if isinstance(entry, dict) else None
            found = next(
                (
                    i
                    for i, e in enumerate(entries)
                    if isinstance(target, str)
                    and isinstance(e, dict)
                    and str(e.get("name", "")).lower().strip() == target.lower().strip()
                ),
                None,
            )
            if found is None:
                entries.append(entry)
            else:
                entries[found] = entry
    for key in ("traitTags", "languageProficiencies"):
        if isinstance(sub.get(key), list):
            mine = out.get(key) if isinstance(out.get(key), list) else []
            out[key] = sub.pop(key) if overwrite.get(key) else [*mine, *sub.pop(key)]
    out.update(sub)
    return {k: v for k, v in out.items() if v is not None}


_ABILITIES = ["str", "dex", "con", "int", "wis", "cha"]
_LINEAGE_ABILITY = {
    "VRGR": [{"choose": {"weighted": {"from": _ABILITIES, "weights": [2, 1]}}},
             {"choose": {"weighted": {"from": _ABILITIES, "weights": [1, 1, 1]}}}],
    "UA1": [{"choose": {"weighted": {"from": _ABILITIES, "weights": [2, 1]}}}],
}  # fmt: skip
_LINEAGE_LANGUAGES = {
    "type": "entries",
    "name": "Languages",
    "entries": [
        "You can speak, read, and write Common and one other language that you and your DM "
        "agree is appropriate for your character."
    ],
}


def lineage(race: dict[str, Any]) -> dict[str, Any]:
    """A race of 5etools' custom-lineage rules (`"lineage": "VRGR"`, Van Richten's and Tasha's
    `+2/+1 or +1/+1/+1`; `"UA1"`, `+2/+1`) with what 5etools' data loader gives it: those
    ability increases (unless it writes its own), Common and one other language, and their
    Languages trait."""
    ability = _LINEAGE_ABILITY.get(str(race.get("lineage")))
    if ability is None:
        return race
    entries = race.get("entries") if isinstance(race.get("entries"), list) else []
    return {
        **race,
        "ability": race.get("ability") or _clone(ability),
        "languageProficiencies": race.get("languageProficiencies")
        or [{"common": True, "anyStandard": 1}],
        "entries": [*entries, _clone(_LINEAGE_LANGUAGES)],
    }
