"""Class and subclass features shown where they are referenced, as 5etools shows them.

A class lists its features (`classFeatures`: `"Name|Class|ClassSource|Level|Source"`), a
subclass its own (`subclassFeatures`), and feature text holds `refClassFeature`,
`refSubclassFeature` and `refOptionalfeature` entries. 5etools renders the referenced feature
there: its name and its text. So does d5e for the features of the same files: the reference
becomes a named block whose name is a tag (a link to the feature's card) and whose body is the
feature's own text, references inside it expanded in turn (to a few levels; a feature that
refers back to one being shown stays a link). A feature of other files stays a link.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .render import prerequisite

# The default source of a class when a reference leaves it out (as 5etools' `unpackUid`).
DEFAULT_SOURCE = "PHB"
KINDS = frozenset({"classFeature", "subclassFeature", "optionalfeature", "feat"})
# The 5etools types whose text may reference features.
USERS = frozenset(
    {"class", "subclass", "classFeature", "subclassFeature", "optionalfeature", "charoption",
     "feat", "race", "subrace", "background"}
)  # fmt: skip
_REF_TYPES = {
    "refClassFeature": ("classFeature", "classFeature"),
    "refSubclassFeature": ("subclassFeature", "subclassFeature"),
    "refOptionalfeature": ("optionalfeature", "optfeature"),
    "refFeat": ("feat", "feat"),
}
_DEPTH = 4

Key = tuple[str, ...]


def _low(value: Any) -> str:
    return str(value if value is not None else "").strip().lower()


def key_of(kind: str, raw: dict[str, Any]) -> Key:
    """The identity of a feature object, as its references spell it (lower case)."""
    name, source = _low(raw.get("name")), _low(raw.get("source"))
    if kind == "classFeature":
        cls_source = _low(raw.get("classSource") or DEFAULT_SOURCE)
        return (kind, name, _low(raw.get("className")), cls_source, _low(raw.get("level")),
                source or cls_source)  # fmt: skip
    if kind == "subclassFeature":
        cls_source = _low(raw.get("classSource") or DEFAULT_SOURCE)
        sub_source = _low(raw.get("subclassSource") or DEFAULT_SOURCE)
        return (kind, name, _low(raw.get("className")), cls_source,
                _low(raw.get("subclassShortName")), sub_source, _low(raw.get("level")),
                source or sub_source)  # fmt: skip
    return (kind, name, source or DEFAULT_SOURCE.lower())


def key_of_ref(kind: str, uid: str) -> Key:
    """The identity a reference (`"Name|Class|ClassSource|Level|Source"`…) names."""
    parts = [p.strip() for p in uid.split("|")]
    if kind == "classFeature":
        name, cls, cls_source, level, source = (parts + [""] * 5)[:5]
        raw = {"name": name, "className": cls, "classSource": cls_source, "level": level,
               "source": source}  # fmt: skip
    elif kind == "subclassFeature":
        name, cls, cls_source, short, sub_source, level, source = (parts + [""] * 7)[:7]
        raw = {"name": name, "className": cls, "classSource": cls_source,
               "subclassShortName": short, "subclassSource": sub_source, "level": level,
               "source": source}  # fmt: skip
    else:
        raw = {"name": parts[0], "source": parts[1] if len(parts) > 1 else ""}
    return key_of(kind, raw)


class Features:
    """The features of the files read, by identity; expands references to them."""

    def __init__(self, items: Iterable[tuple[str, dict[str, Any]]]) -> None:
        self.by_key: dict[Key, dict[str, Any]] = {}
        for kind, raw in items:
            if kind in KINDS:
                self.by_key.setdefault(key_of(kind, raw), raw)

    def find(self, kind: str, uid: str) -> dict[str, Any] | None:
        return self.by_key.get(key_of_ref(kind, uid))

    def expand(self, value: Any, seen: frozenset[Key] = frozenset()) -> Any:
        """`value` (entries) with each reference to a feature of these files replaced by the
        feature: `{"type": "entries", "name": "{@tag uid}", "entries": [its text]}`."""
        if isinstance(value, list):
            return [self.expand(v, seen) for v in value]
        if not isinstance(value, dict):
            return value
        ref_type = _REF_TYPES.get(str(value.get("type")))
        if ref_type is not None:
            kind, tag = ref_type
            uid = str(value.get(kind) or "")
            key = key_of_ref(kind, uid)
            found = self.by_key.get(key)
            if found is None or key in seen or len(seen) >= _DEPTH:
                return value
            return self.block(tag, uid, found, seen | {key})
        return {k: self.expand(v, seen) if isinstance(v, list | dict) else v
                for k, v in value.items()}  # fmt: skip

    def block(
        self, tag: str, uid: str, feature: dict[str, Any], seen: frozenset[Key] = frozenset()
    ) -> dict[str, Any]:
        body = feature.get("entries") or []
        if tag in ("optfeature", "feat") and feature.get("prerequisite"):
            body = [f"*Prerequisite: {prerequisite(feature['prerequisite'])}*", *body]
        return {"type": "entries", "name": f"{{@{tag} {uid}}}", "entries": self.expand(body, seen)}

    def listed(self, raw: dict[str, Any], kind: str) -> list[dict[str, Any]]:
        """A class's `classFeatures` (or a subclass's `subclassFeatures`) as blocks, in order,
        each headed by its level; a feature of other files is its link alone."""
        key = "classFeatures" if kind == "class" else "subclassFeatures"
        feature_kind = key[:-1]
        out = []
        for ref in raw.get(key) or []:
            if isinstance(ref, list) or (isinstance(ref, dict) and feature_kind not in ref):
                # the old format: the features written out in the list
                out.extend(self.expand(ref if isinstance(ref, list) else [ref]))
                continue
            uid = str(ref.get(feature_kind, "") if isinstance(ref, dict) else ref)
            if not uid:
                continue
            found = self.find(feature_kind, uid)
            level = key_of_ref(feature_kind, uid)[-2]
            if found is None:
                out.append(
                    {
                        "type": "entries",
                        "name": f"Level {level}",
                        "entries": [f"{{@{feature_kind} {uid}}}"],
                    }
                )
                continue
            made = self.block(feature_kind, uid, found, frozenset({key_of_ref(feature_kind, uid)}))
            made["name"] = f"Level {level}: {made['name']}"
            out.append(made)
        return out
