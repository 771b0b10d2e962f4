"""Reading Open5e document folders into d5e packs: one pack per `Document.json`.

Each file of a document folder is a Django fixture: a JSON list of `{"model", "pk", "fields"}`
records. The parts (`CreatureAction`, `CreatureActionAttack`, `CreatureTrait`,
`SpellCastingOption`, `FeatBenefit`, …) name their whole through `fields.parent` and are joined
back into it. Every problem of every file is reported at once, with file, line and column; a
document with an error installs nothing. Files d5e does not read are reported as warnings.
"""

from __future__ import annotations

import bisect
import functools
import glob
import itertools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from d5e_daemon import Entry, LoadedPack, Pack, PackProblem, Source, locate, packfiles
from d5e_daemon.packfiles import read_data_file
from d5e_daemon.text import json_error

from . import convert, markup

DOCUMENT = "Document.json"
LICENSES = "License.json"
# Open5e's licence keys → how d5e names them (packs list, cards); others are refused.
LICENSE_NAMES = {"ogl-10a": "OGL-1.0a", "cc-by-40": "CC-BY-4.0", "cc0": "CC0-1.0"}
# d5e's own SRD packs: Open5e's copies of the SRD are installed beside them, under these ids
# and below them in priority, so that d5e's SRD keeps answering `{@spell fireball}`.
SRD_PACKS = {"srd-2014", "srd-2024"}
SRD_COPY_PRIORITY = {"2014": 4, "2024": 5}  # below d5e's SRD (10, 20), in the same order
# Published third-party documents install below d5e's SRD too (10, 20) and below homebrew (50):
# installing Level Up's Adventurer's Guide adds its spells but leaves `{@spell fireball}` the
# SRD's (its own is `a5e-ag:spells/fireball`); a user who wants a document to win says so
# (`d5e packs set-priority a5e-ag 60`, `[packs]` in d5e.toml), and the install then reports
# what it overrides.
DEFAULT_PRIORITY = 8
EDITIONS = {"5e-2014": "2014", "5e-2024": "2024"}
# Documents renamed between Open5e's older layout (data/v1) and data/v2; the others' data/v1
# Document.json names theirs (`v2_related_key`).
V1_RENAMED = {"srd": "srd-2014", "a5e": "a5e-ag"}

# Files of a document folder that hold the wholes (model → collection) and their parts.
WHOLES = {
    "Creature.json": "monsters",
    "Spell.json": "spells",
    "MagicItem.json": "magic-items",
    "Item.json": "equipment",
    "Feat.json": "feats",
    "Background.json": "backgrounds",
    "Species.json": "races",
    "Rule.json": "rule-sections",
    "CharacterClass.json": "classes",  # a subclass (`subclass_of`) in `subclasses`
    # Records that are a name and a text (the 5e-database's collections of the same things).
    "RuleSet.json": "rules",
    "Language.json": "languages",
    "SpellSchool.json": "magic-schools",
    "WeaponProperty.json": "weapon-properties",
    "ItemSet.json": "equipment-categories",
    "Service.json": "services",
}
PARTS = {
    "CreatureAction.json": "Creature.json",
    "CreatureTrait.json": "Creature.json",
    "SpellCastingOption.json": "Spell.json",
    "FeatBenefit.json": "Feat.json",
    "BackgroundBenefit.json": "Background.json",
    "SpeciesTrait.json": "Species.json",
    "ClassFeature.json": "CharacterClass.json",
}
# The text of something another table names (`describes`: a key of Open5e's lookup tables).
DESCRIBED = {
    "ConditionDescription.json": "conditions",
    "AbilityDescription.json": "ability-scores",
    "SkillDescription.json": "skills",
    "AlignmentDescription.json": "alignments",
    "DamageTypeDescription.json": "damage-types",
    "CreatureTypeDescription.json": "creature-types",
}
# Parts of parts: an attack belongs to an action, a class feature's levels to the feature.
ATTACKS = "CreatureActionAttack.json"
FEATURE_LEVELS = "ClassFeatureItem.json"
PARTS_OF_PARTS = {ATTACKS: "CreatureAction.json", FEATURE_LEVELS: "ClassFeature.json"}
# What an item is, when it is a weapon or armor: `Item.weapon` / `Item.armor` name a record of
# these; a weapon's properties are WeaponPropertyAssignment rows (weapon, property, detail).
WEAPONS, ARMOR = "Weapon.json", "Armor.json"
PROPERTIES, ASSIGNMENTS = "WeaponProperty.json", "WeaponPropertyAssignment.json"
DETAILS = {WEAPONS, ARMOR, PROPERTIES, ASSIGNMENTS}
# Open5e's lookup tables: the names and keys that entries use (a creature's `size`, `type`,
# `environments`, a spell's `school`), and links between records: nothing to read as entries.
REFERENCE = {
    "Publisher.json", "GameSystem.json", "Environment.json", "Size.json", "Ability.json",
    "Alignment.json", "DamageType.json", "Skill.json", "CreatureType.json", "ItemCategory.json",
    "ItemRarity.json", "Condition.json", "CrossReference.json",
}  # fmt: skip
# Records d5e does not read: reported (a warning naming the file and how many records).
NOT_READ = {
    "Image.json": "images (d5e's cards show none)",
    "CreatureSet.json": "creature sets (lists of creatures, such as the SRD's common mounts)",
    "Services.json": "services (the same records as Service.json)",
}
SLUG_CLEAN = re.compile(r"[^a-z0-9()-]+")
_WS = re.compile(r"[ \t\n\r]*")
_NEWLINE = re.compile("\n")
_DECODER = json.JSONDecoder()


@dataclass
class Fixture:
    """One file's records and where each starts."""

    shown: str
    path: str
    text: str
    records: list[dict[str, Any]]
    offsets: list[int]

    def where(self, index: int, key: str = "") -> tuple[int, int]:
        """Line and column of record `index` (of its `key` in `fields`, when given)."""
        offset = self.offsets[index] if index < len(self.offsets) else 0
        if key:
            end = self.offsets[index + 1] if index + 1 < len(self.offsets) else len(self.text)
            # the key, not the same word as a value (`"category": "weapon"`)
            found = re.compile(rf'"{re.escape(key)}"\s*:').search(self.text, offset, end)
            offset = found.start() if found else offset
        line = bisect.bisect_left(self.newlines, offset) + 1
        return line, offset - (self.newlines[line - 2] + 1 if line > 1 else 0) + 1

    @functools.cached_property
    def newlines(self) -> list[int]:
        return [m.start() for m in _NEWLINE.finditer(self.text)]


@dataclass
class Document:
    """What one document folder read into, before its pack is described."""

    folder: Path
    shown: str
    problems: list[PackProblem] = field(default_factory=list)
    files: dict[str, Fixture] = field(default_factory=dict)

    def problem(
        self,
        fixture: Fixture | str,
        message: str,
        at: tuple[int, int] = (0, 0),
        *,
        warn: bool = False,
        info: bool = False,
    ) -> None:
        shown = fixture.shown if isinstance(fixture, Fixture) else fixture
        self.problems.append(
            PackProblem(
                file=shown,
                line=at[0],
                column=at[1],
                message=message,
                severity="info" if info else "warning" if warn else "error",
            )
        )


LONG_NUMBER = "a number of more than 4,300 digits, which no JSON reader of Python reads"


def read_fixture(path: Path, shown: str) -> tuple[Fixture | None, str, tuple[int, int]]:
    """A fixture file, or what is wrong with it and where."""
    try:  # as a folder pack's files: no link followed, no pipe read, a bounded size
        text = read_data_file(path).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return None, f"not UTF-8 text: {exc.reason}", (1, 1)
    except OSError as exc:
        return None, f"cannot read: {exc.strerror}", (0, 0)
    dense = locate.too_dense(text)  # `[{},{},…]`: some 70 bytes of memory each
    if dense is not None:
        return None, dense, (1, 1)
    pos = _WS.match(text, 0).end()  # type: ignore[union-attr]
    if not text.startswith("[", pos):
        return None, "an Open5e data file is a JSON list of records", (1, 1)
    records: list[dict[str, Any]] = []
    offsets: list[int] = []
    pos = _WS.match(text, pos + 1).end()  # type: ignore[union-attr]
    try:
        while not text.startswith("]", pos):
            offsets.append(pos)
            value, pos = _DECODER.raw_decode(text, pos)
            if not isinstance(value, dict) or not isinstance(value.get("fields"), dict):
                line = text.count("\n", 0, offsets[-1]) + 1
                return None, "each record is an object with `model`, `pk` and `fields`", (line, 1)
            for key, field_value in value["fields"].items():  # HTML in the text: Markdown
                if isinstance(field_value, str) and markup.needs_markdown(field_value):
                    value["fields"][key] = markup.markdown(field_value)
            records.append(value)
            pos = _WS.match(text, pos).end()  # type: ignore[union-attr]
            if text.startswith(",", pos):
                pos = _WS.match(text, pos + 1).end()  # type: ignore[union-attr]
            elif not text.startswith("]", pos):
                raise json.JSONDecodeError("Expecting ',' delimiter", text, pos)
        if text[pos + 1 :].strip():
            raise json.JSONDecodeError("Extra data", text, _WS.match(text, pos + 1).end())  # type: ignore[union-attr]
    except json.JSONDecodeError as exc:
        return None, json_error(exc), (exc.lineno, exc.colno)
    except ValueError:  # `int()`'s: Python reads no integer of more than 4,300 digits
        return None, LONG_NUMBER, (1, 1)
    except RecursionError:
        return None, "arrays and objects nested too deep to read", (1, 1)
    return Fixture(shown, str(path.resolve()), text, records, offsets), "", (0, 0)


def _reached_plainly(top: Path, path: Path) -> bool:
    """Whether `path`, below `top`, is a file reached through no link from `top`: the files
    read beside and above a document are never read through a link (a campaign's folder
    linking to the user's own files would point d5e's reads at them)."""
    parts = path.relative_to(top).parts
    steps = (top.joinpath(*parts[: i + 1]) for i in range(len(parts)))
    return not any(step.is_symlink() for step in steps) and path.is_file()


def _licenses(folder: Path) -> dict[str, dict[str, Any]]:
    """Open5e's `License.json` (at the top of `data/v2`, above publisher and document)."""
    for parent in (folder, folder.parent, folder.parent.parent):
        path = parent / LICENSES
        if _reached_plainly(parent, path):
            fixture, _, _ = read_fixture(path, str(path))
            if fixture is not None:
                return {str(r.get("pk")): r["fields"] for r in fixture.records}
    return {}


def _publisher(folder: Path, key: str) -> str:
    """The publisher's name as `Publisher.json` (beside the document's folder) writes it
    ("Wizards of the Coast"), else its key in title case."""
    path = folder.parent / "Publisher.json"
    fixture = read_fixture(path, str(path))[0] if _reached_plainly(folder.parent, path) else None
    for record in fixture.records if fixture else []:
        if record.get("pk") == key and isinstance(record["fields"].get("name"), str):
            return str(record["fields"]["name"]).strip()
    return key.replace("-", " ").title()


def _older_layout(folder: Path, fields: dict[str, Any]) -> str:
    """What to install instead of a document of Open5e's older layout (`data/v1`): its
    `data/v2` folder, found beside it by `v2_related_key`."""
    key = str(fields.get("v2_related_key") or fields.get("slug") or "")
    key = V1_RENAMED.get(key, key)
    v2 = folder.resolve().parent.parent / "v2"
    found = sorted(v2.glob(f"*/{glob.escape(key)}/{DOCUMENT}")) if key and v2.is_dir() else []
    instead = (
        f"install {found[0].parent} instead"
        if found
        else f"install its data/v2 folder instead (open5e-api/data/v2/<publisher>/{key or '…'})"
    )
    return (
        "this is a document of Open5e's older layout (data/v1, model api.document), which d5e "
        f"does not read; the same document is in data/v2: {instead}"
    )


def slug(pk: Any, document: str) -> str:
    """`tob_aboleth-nihilith` → `aboleth-nihilith`: Open5e's key without the document's."""
    text = str(pk)
    for prefix in (f"{document}_", "srd_", "srd-2024_"):
        if text.startswith(prefix):
            text = text[len(prefix) :]
            break
    return SLUG_CLEAN.sub("-", text.lower()).strip("-")[:128] or "entry"


def pack_id(document: str) -> str:
    key = SLUG_CLEAN.sub("-", document.lower()).strip("-()")[:57] or "document"
    return f"open5e-{key}" if key in SRD_PACKS else key


def _describe(doc: Document, fixture: Fixture) -> Pack | None:
    """The pack of a document: its id, title, licence and attribution (from Document.json and
    License.json); None (and the problems) when Document.json says too little."""
    documents = [r for r in fixture.records if r.get("model") == "api_v2.document"]
    older = [r for r in fixture.records if r.get("model") == "api.document"]
    if older and not documents:
        doc.problem(fixture, _older_layout(doc.folder, older[0]["fields"]), fixture.where(0))
        return None
    if len(documents) != 1:
        doc.problem(fixture, "Document.json holds one record of model api_v2.document", (1, 1))
        return None
    index = fixture.records.index(documents[0])
    record, fields = documents[0], documents[0]["fields"]
    key, name = record.get("pk"), fields.get("name")
    if not isinstance(key, str) or not key or not isinstance(name, str) or not name.strip():
        doc.problem(
            fixture, "the document needs a `pk` (its key) and a `name`", fixture.where(index)
        )
        return None
    licenses = fields.get("licenses")
    if not isinstance(licenses, list) or not licenses:
        doc.problem(fixture, "`licenses` names no licence", fixture.where(index, "licenses"))
        return None
    known = _licenses(doc.folder)
    texts = []
    for lic in licenses:
        if lic not in LICENSE_NAMES:
            doc.problem(
                fixture,
                f"licence {lic!r} is not known: d5e installs documents under "
                f"{', '.join(sorted(LICENSE_NAMES))}",
                fixture.where(index, "licenses"),
            )
            return None
        if lic in known:
            texts.append(f"{known[lic].get('name', lic)}\n\n{known[lic].get('desc', '')}")
    author = str(fields.get("author") or "").strip().rstrip(".")  # "…Dave Arneson."
    year = str(fields.get("publication_date") or "")[:4]
    publisher = _publisher(doc.folder, str(fields.get("publisher") or ""))
    credit = f"{name}" + (f" by {author}" if author else "")
    credit += f", {publisher}" if publisher else ""
    credit += f" ({year})" if year else ""
    names = " and ".join(LICENSE_NAMES[lic] for lic in licenses)
    attribution = f"{credit}. Released under the {names}; from Open5e (open5e-api, data/v2)."
    description = str(fields.get("desc") or "").strip()
    if texts:
        description += "\n\n" + "\n\n".join(texts)
    is_srd = str(fields.get("publisher")) == "wizards-of-the-coast"
    edition = EDITIONS.get(str(fields.get("gamesystem")))
    return Pack(
        id=pack_id(key),
        title=str(fields.get("display_name") or name).strip(),
        version=str(fields.get("publication_date") or "")[:10],
        edition=edition,
        license=" / ".join(LICENSE_NAMES[lic] for lic in licenses),
        attribution=attribution,
        authors=[author] if author else [],
        description=description,
        homepage=str(fields.get("permalink") or ""),
        default_priority=SRD_COPY_PRIORITY.get(edition or "", 4) if is_srd else DEFAULT_PRIORITY,
    )


def _read_files(doc: Document) -> None:
    lookups = []
    for path in sorted(doc.folder.iterdir()):
        name = path.name
        shown = f"{doc.shown}/{name}"
        if name == DOCUMENT or not path.is_file():
            continue
        if name in REFERENCE:
            fixture, _, _ = read_fixture(path, shown)
            lookups.append(f"{name} ({len(fixture.records) if fixture else '?'})")
            continue
        if name in NOT_READ:
            fixture, _, _ = read_fixture(path, shown)
            count = f"{len(fixture.records)} " if fixture is not None else ""
            doc.problem(shown, f"not read: {count}{NOT_READ[name]}", warn=True)
            continue
        if not (
            name in WHOLES
            or name in PARTS
            or name in PARTS_OF_PARTS
            or name in DETAILS
            or name in DESCRIBED
        ):
            doc.problem(shown, "not read: not a file of an Open5e document", warn=True)
            continue
        fixture, message, at = read_fixture(path, shown)
        if fixture is None:
            doc.problem(shown, message, at)
            continue
        doc.files[name] = fixture
    if lookups:
        doc.problem(
            doc.shown,
            "not read: Open5e's lookup tables, whose keys the entries carry: " + ", ".join(lookups),
            info=True,
        )


def _parts(
    doc: Document, name: str, wholes: set[str]
) -> dict[str, list[tuple[dict[str, Any], Fixture, int]]]:
    """The records of part file `name` by the key of their whole; a part whose whole is not
    there is an error, located at its `parent`."""
    found: dict[str, list[tuple[dict[str, Any], Fixture, int]]] = {}
    fixture = doc.files.get(name)
    if fixture is None:
        return found
    whole_file = PARTS.get(name) or PARTS_OF_PARTS[name]
    for i, record in enumerate(fixture.records):
        parent = record["fields"].get("parent")
        if parent not in wholes:
            doc.problem(
                fixture,
                f"{record.get('pk')}: its parent {parent!r} is not in {whole_file}",
                fixture.where(i, "parent"),
            )
            continue
        found.setdefault(str(parent), []).append((record["fields"], fixture, i))
    return found


def _records(doc: Document, name: str) -> dict[str, dict[str, Any]]:
    fixture = doc.files.get(name)
    return {str(r.get("pk")): r["fields"] for r in fixture.records} if fixture else {}


@dataclass
class Details:
    """The weapons and armor of a document, by key, as d5e's item fields (with `names`: the
    weapon's or armor's own name, by key)."""

    weapons: dict[str, dict[str, Any]]
    armor: dict[str, dict[str, Any]]
    names: dict[str, str] = field(default_factory=dict)

    def named(self, key: Any) -> dict[str, Any] | None:
        """The weapon or armor `key` with its name as `base_item` (what a magic item is made
        from: "Weapon (dagger)"), None when this document has no such key."""
        found = self.weapons.get(str(key)) or self.armor.get(str(key))
        if found is None:
            return None
        name = self.names.get(str(key), "")
        base = {"index": SLUG_CLEAN.sub("-", name.lower()).strip("-()"), "name": name}
        return {**found, "base_item": base} if name else found

    def of(
        self, doc: Document, fixture: Fixture, index: int, *, strict: bool
    ) -> dict[str, Any] | None:
        """The details of item `index`; a weapon or armor not in this document is an error
        when `strict` (an Item.json of the document), nothing otherwise."""
        fields = fixture.records[index]["fields"]
        for key, found, file in (
            ("weapon", self.weapons, WEAPONS),
            ("armor", self.armor, ARMOR),
        ):
            target = fields.get(key)
            if not target:
                continue
            if str(target) in found:
                return found[str(target)]
            if strict:
                doc.problem(
                    fixture,
                    f"{fixture.records[index].get('pk')}: its {key} {target!r} is not in {file}",
                    fixture.where(index, key),
                )
        return None


def _details(doc: Document) -> Details:
    weapons, properties = _records(doc, WEAPONS), _records(doc, PROPERTIES)
    assigned: dict[str, list[tuple[dict[str, Any], Any]]] = {}
    fixture = doc.files.get(ASSIGNMENTS)
    links = (("weapon", weapons, WEAPONS), ("property", properties, PROPERTIES))
    for i, record in enumerate(fixture.records if fixture else []):
        assert fixture is not None
        fields = record["fields"]
        missing = next((link for link in links if str(fields.get(link[0])) not in link[1]), None)
        if missing is not None:
            doc.problem(
                fixture,
                f"{record.get('pk')}: its {missing[0]} {fields.get(missing[0])!r} is not in "
                f"{missing[2]}",
                fixture.where(i, missing[0]),
            )
            continue
        prop = properties[str(fields["property"])]
        assigned.setdefault(str(fields["weapon"]), []).append((prop, fields.get("detail")))
    armor = _records(doc, ARMOR)
    return Details(
        weapons={k: convert.weapon(w, assigned.get(k, [])) for k, w in weapons.items()},
        armor={k: convert.armor(a) for k, a in armor.items()},
        names={k: str(r.get("name") or "") for k, r in (weapons | armor).items()},
    )


def _older_classes(folder: Path, key: str) -> dict[str, list[dict[str, str]]]:
    """The classes of each spell (by lower-case name) of document `key` in data/v1 of the same
    clone of open5e-api: data/v2 names none for most of Deep Magic's, Level Up's, Tome of
    Heroes' and Warlock's spells, and data/v1's `dnd_class` says them ("Bard, Sorcerer,
    Wizard"). Empty when data/v1 is not there."""
    data = folder.resolve().parent.parent.parent
    v1 = data / "v1"
    found_v1 = sorted(v1.glob(f"*/{DOCUMENT}")) if v1.is_dir() else []
    for document in [d for d in found_v1 if _reached_plainly(data, d)]:
        fixture = read_fixture(document, str(document))[0]
        fields = fixture.records[0].get("fields", {}) if fixture and fixture.records else {}
        related = str(fields.get("v2_related_key") or fields.get("slug") or "")
        if V1_RENAMED.get(related, related) != key:
            continue
        spell_file = document.parent / "Spell.json"
        plain = _reached_plainly(document.parent, spell_file)
        spells = read_fixture(spell_file, "Spell.json")[0] if plain else None
        found: dict[str, list[dict[str, str]]] = {}
        for record in spells.records if spells else []:
            names = str(record["fields"].get("dnd_class") or "").split(",")
            classes = [convert.class_ref(n) for n in names if n.strip()]
            name = str(record["fields"].get("name") or "").strip().lower()
            if classes and name:
                found[name] = classes
        return found
    return {}


def _beside(folder: Path) -> Details:
    """The weapons and armor of the other documents in the same `data/v2` tree as `folder`:
    Vault of Magic's magic items name the SRD document's (`srd_dagger`, `srd_plate`), which
    its own folder does not hold. Only those four files of each are read; their problems are
    theirs (reported when that document is installed)."""
    root = folder.resolve().parent.parent
    found = [p for name in (WEAPONS, ARMOR) for p in root.glob(f"*/*/{name}")]
    others = sorted({p.parent for p in found if _reached_plainly(root, p)} - {folder.resolve()})
    stamps = tuple(
        (str(p), p.stat().st_mtime_ns, p.stat().st_size)
        for other in others
        for p in sorted(other.glob("*.json"))
        if p.name in DETAILS
    )
    return _details_of(stamps)


@functools.lru_cache(maxsize=4)
def _details_of(stamps: tuple[tuple[str, int, int], ...]) -> Details:
    """`_beside`'s details, remembered while the files stay as they were (a whole `data/v2`
    reads the SRD document's weapons once, not once per document)."""
    merged = Details({}, {}, {})
    folders = sorted({Path(path).parent for path, _, _ in stamps})
    for folder in folders:
        other = Document(folder, str(folder))
        if not (folder / DOCUMENT).is_file():
            continue
        for name in sorted(DETAILS):
            fixture, _, _ = read_fixture(folder / name, name)
            if fixture is not None:
                other.files[name] = fixture
        found = _details(other)
        merged.weapons |= found.weapons
        merged.armor |= found.armor
        merged.names |= found.names
    return merged


@dataclass
class Entries:
    """The entries of a document as they are made: one slug per (collection, key)."""

    doc: Document
    key: str
    found: list[Entry] = field(default_factory=list)
    seen: dict[tuple[str, str], tuple[Fixture, int]] = field(default_factory=dict)

    def add(
        self, collection: str, pk: str, title: str, data: dict[str, Any], fixture: Fixture, i: int
    ) -> None:
        ident = slug(pk, self.key)
        first = self.seen.setdefault((collection, ident), (fixture, i))
        if first != (fixture, i):
            ident = slug(f"{pk}-{i}", self.key)  # two records of one name: keep both
        self.found.append(
            Entry(
                collection=collection,
                slug=ident,
                name=title.strip(),
                data={"index": ident, "name": title.strip(), **data},
                source=Source(path=fixture.path, line=fixture.where(i)[0]),
            )
        )


def _classes(
    doc: Document, made: Entries, keys: set[str]
) -> dict[str, tuple[list[convert.Feature], list[tuple[str, str]]]]:
    """Each class's features (with their levels) and subclasses, by the class's key; each
    feature that has a level is also an entry of `features`."""
    features = _parts(doc, "ClassFeature.json", keys)
    feature_file = doc.files.get("ClassFeature.json")
    feature_keys = {str(r.get("pk")) for r in feature_file.records} if feature_file else set()
    levels = _parts(doc, FEATURE_LEVELS, feature_keys)
    classes = doc.files.get("CharacterClass.json")
    records = {str(r.get("pk")): r["fields"] for r in classes.records} if classes else {}
    joined: dict[str, tuple[list[convert.Feature], list[tuple[str, str]]]] = {}
    for pk, fields in records.items():
        parent = str(fields.get("subclass_of") or "")
        if parent in records:
            joined.setdefault(parent, ([], []))[1].append((pk, str(fields.get("name") or "")))
    for owner, parts in features.items():
        owner_fields = records[owner]
        subclass_of = owner_fields.get("subclass_of")
        for feature, fixture, i in parts:
            pk = str(fixture.records[i].get("pk"))
            items = [item for item, _, _ in levels.get(pk, [])]
            one = convert.Feature(feature, items)
            joined.setdefault(owner, ([], []))[0].append(one)
            if one.column or one.level is None or not str(feature.get("name") or "").strip():
                continue  # a column of the class table, or part of the class's description
            own = convert.ref(owner, str(owner_fields.get("name") or ""))
            if subclass_of:
                base = records.get(str(subclass_of), {}).get("name")
                data = convert.class_feature(one, convert.ref(str(subclass_of), base), own)
            else:
                data = convert.class_feature(one, own, None)
            made.add("features", pk, str(feature["name"]), data, fixture, i)
    return joined


def _described(doc: Document, made: Entries) -> None:
    """`ConditionDescription` and the like: the text of a condition, skill, ability…"""
    for name, collection in DESCRIBED.items():
        fixture = doc.files.get(name)
        for i, record in enumerate(fixture.records if fixture else []):
            assert fixture is not None
            describes = str(record["fields"].get("describes") or "").strip()
            if not describes:
                doc.problem(
                    fixture, f"{record.get('pk')}: describes nothing", fixture.where(i, "describes")
                )
                continue
            title = convert.described_name(slug(describes, made.key), collection)
            data = {"desc": convert.paragraphs(record["fields"].get("desc"))}
            made.add(collection, describes, title, data, fixture, i)


def _sections(doc: Document, key: str) -> dict[str, list[dict[str, str]]]:
    """The sections of each chapter of rules (`Rule.json` by its `ruleset`, in their `index`
    order) as references, as the SRD's `rules` list their `subsections` (Open5e's chapter's
    card named none: Combat, Spellcasting…)."""
    found: dict[str, list[tuple[float, dict[str, str]]]] = {}
    for pk, fields in _records(doc, "Rule.json").items():
        if fields.get("ruleset") and isinstance(fields.get("name"), str):
            order = convert.number(fields.get("index")) or 0.0
            reference = {"index": slug(pk, key), "name": str(fields["name"]).strip()}
            found.setdefault(str(fields["ruleset"]), []).append((order, reference))
    return {k: [r for _, r in sorted(v, key=lambda o: o[0])] for k, v in found.items()}


def _entries(doc: Document, key: str, edition: str | None) -> list[Entry]:
    made = Entries(doc, key)
    keys = {
        name: {str(r.get("pk")) for r in doc.files[name].records} if name in doc.files else set()
        for name in WHOLES
    }
    actions = _parts(doc, "CreatureAction.json", keys["Creature.json"])
    action_file = doc.files.get("CreatureAction.json")
    action_keys = {str(r.get("pk")) for r in action_file.records} if action_file else set()
    attacks = _parts(doc, ATTACKS, action_keys)
    traits = _parts(doc, "CreatureTrait.json", keys["Creature.json"])
    options = _parts(doc, "SpellCastingOption.json", keys["Spell.json"])
    details = _details(doc)
    benefits = {
        name: _parts(doc, name, keys[PARTS[name]])
        for name in ("FeatBenefit.json", "BackgroundBenefit.json", "SpeciesTrait.json")
    }
    classes = _classes(doc, made, keys["CharacterClass.json"])
    sections = _sections(doc, key)
    unknown: list[str] = []  # weapons and armor magic items name that are nowhere to be found
    beside: Details | None = None  # those of the other documents, read once when needed
    older: dict[str, list[dict[str, str]]] | None = None  # data/v1's classes of spells
    classless: list[bool] = []  # each spell that names no class: whether data/v1 named them
    for name, collection in WHOLES.items():
        fixture = doc.files.get(name)
        if fixture is None:
            continue
        if name == "Species.json" and edition == "2024":
            collection = "species"
        for i, record in enumerate(fixture.records):
            fields, pk = record["fields"], str(record.get("pk"))
            title = fields.get("name")
            if not isinstance(title, str) or not title.strip():
                doc.problem(fixture, f"{pk}: a record without a name", fixture.where(i))
                continue
            data: dict[str, Any]
            if name == "Creature.json":
                own_actions = sorted(
                    actions.get(pk, []), key=lambda a: a[0].get("order_in_statblock") or 0
                )
                joined = []
                for action, afix, ai in own_actions:
                    action_key = str(afix.records[ai].get("pk"))
                    joined.append((action, [a for a, _, _ in attacks.get(action_key, [])]))
                data = convert.creature(fields, joined, [t for t, _, _ in traits.get(pk, [])])
            elif name == "Spell.json":
                data = convert.spell(fields, [o for o, _, _ in options.get(pk, [])])
                if not data["classes"]:
                    older = older if older is not None else _older_classes(doc.folder, key)
                    data["classes"] = older.get(title.strip().lower(), [])
                    classless.append(bool(data["classes"]))
            elif name == "MagicItem.json":
                target = fields.get("weapon") or fields.get("armor")
                base = details.named(target) if target else None
                if base is None and target:
                    beside = beside or _beside(doc.folder)
                    base = beside.named(target)
                    if base is None:
                        unknown.append(str(target))
                data = convert.magic_item(fields, base)
            elif name == "Item.json":
                data = convert.item(fields, details.of(doc, fixture, i, strict=True))
            elif name == "Rule.json":
                data = convert.rule(fields)
            elif name == "CharacterClass.json":
                features, subclasses = classes.get(pk, ([], []))
                data = convert.character_class(fields, features, subclasses)
                collection = "subclasses" if fields.get("subclass_of") else "classes"
            elif name in PARTS.values():
                part_file = next(p for p, w in PARTS.items() if w == name)
                parts = [p for p, _, _ in benefits[part_file].get(pk, [])]
                data = convert.with_parts(fields, parts, "traits" if name == "Species.json" else "")
            else:
                data = convert.named(fields)
                if name == "RuleSet.json" and sections.get(pk):
                    data["subsections"] = sections[pk]
            made.add(collection, pk, title, data, fixture, i)
    if unknown:
        names = sorted(set(unknown))
        shown = ", ".join(names[:5]) + ("…" if len(names) > 5 else "")
        doc.problem(
            doc.files["MagicItem.json"],
            f"{len(unknown)} magic items are made from a weapon or armor of another document "
            f"({shown}) that is not beside this one (in the same data/v2 folder): their cards "
            "show no damage, range or armor class",
            warn=True,
        )
    if classless:
        _report_classless(doc, classless)
    _described(doc, made)
    return made.found


def _report_classless(doc: Document, classless: list[bool]) -> None:
    """Say how many spells of the document name no class, and how many of them data/v1 named."""
    found = sum(classless)
    message = f"{len(classless)} spells name no class in data/v2 (Open5e leaves them out); " + (
        f"the classes of {found} of them were read from its data/v1 folder, "
        f"{len(classless) - found} have none there either"
        if found
        else "a clone of open5e-api holds them in data/v1, which is not beside this folder: "
        "their cards name no class and class filters do not find them"
    )
    doc.problem(doc.files["Spell.json"], message, info=bool(found), warn=not found)


def load_document(folder: Path, shown: str) -> LoadedPack:
    doc = Document(folder, shown)
    fallback = Pack(id=pack_id(folder.name), title=folder.name)
    fixture, message, at = read_fixture(folder / DOCUMENT, f"{shown}/{DOCUMENT}")
    if fixture is None:
        doc.problem(f"{shown}/{DOCUMENT}", message, at)
        return LoadedPack(pack=fallback, problems=doc.problems, root=folder)
    pack = _describe(doc, fixture)
    if pack is None:
        return LoadedPack(pack=fallback, problems=doc.problems, root=folder)
    key = str(next(r for r in fixture.records if r.get("model") == "api_v2.document")["pk"])
    _read_files(doc)
    entries = _entries(doc, key, pack.edition)
    return LoadedPack(pack=pack, entries=entries, problems=doc.problems, root=folder)


def _too_large(folders: list[Path]) -> str | None:
    """Why the documents in `folders` are too many files or too large to read together (each
    is read whole into memory), from their listing alone; None when they are not."""
    files: list[Path] = []
    for folder in folders:
        try:
            files += itertools.islice(folder.iterdir(), packfiles.MAX_FILES + 1 - len(files))
        except OSError:
            continue
        if len(files) > packfiles.MAX_FILES:
            return (
                f"the documents hold more than {packfiles.MAX_FILES:,} files (the limit); "
                "install them one by one"
            )
    json_files = [f for f in files if f.suffix.lower() == ".json"]
    large = packfiles.data_too_large(json_files, "the documents' .json files")
    return f"{large}; install them one by one" if large else None


def _documents(path: Path) -> list[Path]:
    """The document folders at or below `path` (a document, a publisher, `data/v2`)."""
    if (path / DOCUMENT).is_file():
        return [path]
    found = sorted(p.parent for p in path.glob(f"*/{DOCUMENT}"))
    found += sorted(p.parent for p in path.glob(f"*/*/{DOCUMENT}"))
    # a linked folder is no part of it (as in a folder pack: nothing outside it is read)
    return [f for f in found if not any(p.is_symlink() for p in (f, f.parent) if p != path)]


# What a JSON file of Open5e's that is no document folder starts with: a page of its web API
# (`{"count": …, "results": [{… "document__slug": …` in v1, `"url": "https://api.open5e.com/v2/…`)
# or one file of a document folder (`[{"model": "api_v2.creature", …`).
_API_PAGE = re.compile(r'^\s*\{\s*"(?:count|next|previous|results)"\s*:')
_FIXTURE = re.compile(r'"model"\s*:\s*"api(?:_v2)?\.')
HEAD = 65536


def _open5e_file(path: Path) -> LoadedPack | None:
    """A JSON file of Open5e's that d5e does not install by itself, refused with what to
    install instead; None for any other file (another loader's)."""
    if path.suffix.lower() != ".json":
        return None
    try:
        with path.open("rb") as handle:
            head = handle.read(HEAD).decode("utf-8-sig", errors="replace")
    except OSError:
        return None
    if _API_PAGE.match(head) and ("open5e" in head or "document__slug" in head):
        message = (
            "a page of Open5e's web API (api.open5e.com), which d5e does not read: install "
            "Open5e's data files instead (git clone https://github.com/open5e/open5e-api; "
            "d5e packs install open5e-api/data/v2/<publisher>/<document>)"
        )
    elif head.lstrip().startswith("[") and _FIXTURE.search(head):
        message = (
            "one file of an Open5e document: install its folder (the one holding "
            f"{DOCUMENT}), {path.parent}"
        )
    else:
        return None
    pack = Pack(id=pack_id(path.stem), title=path.name)
    problem = PackProblem(file=str(path), line=1, column=1, message=message, severity="error")
    return LoadedPack(pack=pack, problems=[problem], root=path.parent)


def load(path: Path) -> LoadedPack | list[LoadedPack] | None:
    """The Open5e documents at `path`, one pack each; None when `path` holds none. A clone of
    open5e-api, or its `data` folder, is its `data/v2` (its older `data/v1` is not read)."""
    if path.is_file():
        return _open5e_file(path)
    if not path.is_dir() or (path / "pack.toml").exists():
        return None
    for inner in ("v2", "data/v2"):
        if not (path / DOCUMENT).is_file() and _documents(path / inner):
            path = path / inner
            break
    folders = _documents(path)
    if not folders:
        return None
    too_large = _too_large(folders)
    if too_large:
        problem = PackProblem(file=str(path), message=too_large)
        pack = Pack(id=pack_id(path.name), title=path.name)
        return LoadedPack(pack=pack, problems=[problem], root=path)
    shown: Callable[[Path], str] = lambda f: str(f)  # noqa: E731
    packs = [load_document(f, shown(f)) for f in folders]
    return packs[0] if (path / DOCUMENT).is_file() else packs
