"""The JSON Schema of the pack format, made from the declarations in `packformat.py`.

    python -m d5e_daemon.packschema schema/     # writes the files below (a test checks they match)

- `pack.schema.json`: `pack.toml` (editors with TOML schema support use it, e.g. Taplo).
- `entry.schema.json`: a JSON content file of any collection: one entry or a list of entries.
- `<collection>.schema.json`: the same, with the known fields of that collection typed
  (`spells`, `monsters`, `magic-items`, `equipment`).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import msgspec

from .packformat import COLLECTION_FIELDS, COMMON_FIELDS, RESERVED, Manifest

DRAFT = "https://json-schema.org/draft/2020-12/schema"


def _schemas(types: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(property schemas, shared $defs) of the given field → type map."""
    names = list(types)
    found, defs = msgspec.json.schema_components(
        [types[n] for n in names], ref_template="#/$defs/{name}"
    )
    return dict(zip(names, found, strict=True)), defs


def pack_schema() -> dict[str, Any]:
    schema = msgspec.json.schema(Manifest)
    body = schema.get("$defs", {}).get("Manifest", schema)
    return {
        "$schema": DRAFT,
        "title": "d5e pack.toml",
        "description": "The description of a d5e homebrew pack (pack.toml).",
        **{k: v for k, v in body.items() if k != "title"},
    }


def entry_schema(collection: str | None) -> dict[str, Any]:
    fields = {**COMMON_FIELDS, **COLLECTION_FIELDS.get(collection or "", {})}
    properties, defs = _schemas({**RESERVED, **fields})
    descriptions = {
        "name": "The entry's name (required unless it extends another entry).",
        "slug": "Its ref is collection/slug; default: made from the name.",
        "index": "Same as slug (5e-database's name for it).",
        "collection": "Must match the folder the file is in.",
        "extends": "pack:collection/slug of the entry this one changes (set, append, remove).",
        "append": "Items to add at the end of list fields of the extended entry.",
        "remove": "Fields of the extended entry to drop, or {field: [item names]} to drop items.",
        "desc": "The description: one text, or a list of paragraphs.",
        "aliases": "Other names it is found by (lookup, completion, tags, search): "
        "\"Mordenkainen's Sword\" for Arcane Sword. No alias may be another entry's name.",
        "lore": 'What it is, looks like or is used for, in the words people ask with ("a winged '
        'horse"): searched with the entry, not shown in its card.',
    }
    for key, text in descriptions.items():
        if key in properties:
            properties[key] = {"description": text, **properties[key]}
    entry = {
        "type": "object",
        "properties": properties,
        "additionalProperties": True,
        "anyOf": [{"required": ["name"]}, {"required": ["extends"]}],
    }
    what = f"a {collection} entry" if collection else "an entry"
    return {
        "$schema": DRAFT,
        "title": f"d5e pack content: {what}, or a list of them",
        "oneOf": [{"$ref": "#/$defs/entry"}, {"type": "array", "items": {"$ref": "#/$defs/entry"}}],
        "$defs": {"entry": entry, **defs},
    }


def all_schemas() -> dict[str, dict[str, Any]]:
    found = {"pack.schema.json": pack_schema(), "entry.schema.json": entry_schema(None)}
    for collection in COLLECTION_FIELDS:
        found[f"{collection}.schema.json"] = entry_schema(collection)
    return found


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    folder = Path(argv[0] if argv else "schema")
    folder.mkdir(parents=True, exist_ok=True)
    for name, schema in all_schemas().items():
        (folder / name).write_text(render(schema), "utf-8")
        sys.stderr.write(f"wrote {folder / name}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
