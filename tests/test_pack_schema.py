"""The JSON Schema in schema/ is generated from the same declarations the loader checks, and
editors using it accept the example pack and reject what the loader rejects."""

from __future__ import annotations

import json
import tomllib
from typing import Any

import jsonschema
import pytest

from d5e_daemon import packschema

from .conftest import REPO

SCHEMA = REPO / "schema"
EXAMPLE = REPO / "examples" / "ashen-hills"


def schema(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SCHEMA / name).read_text())
    return loaded


def test_the_published_schema_is_the_generated_one() -> None:
    generated = packschema.all_schemas()
    assert sorted(p.name for p in SCHEMA.glob("*.json")) == sorted(generated)
    for name, value in generated.items():
        assert (SCHEMA / name).read_text() == packschema.render(value), (
            f"schema/{name} is stale: run `python -m d5e_daemon.packschema schema`"
        )


def test_the_example_pack_is_valid_for_editors() -> None:
    jsonschema.validate(
        tomllib.loads((EXAMPLE / "pack.toml").read_text()), schema("pack.schema.json")
    )
    for path in EXAMPLE.glob("*/*.json"):
        name = f"{path.parent.name}.schema.json"
        which = name if (SCHEMA / name).exists() else "entry.schema.json"
        jsonschema.validate(json.loads(path.read_text()), schema(which))


@pytest.mark.parametrize(
    ("name", "document", "why"),
    [
        ("spells.schema.json", {"name": "A", "level": "three"}, "'three' is not of type 'integer'"),
        ("spells.schema.json", [{"name": "A", "level": 10}], "10 is greater than the maximum of 9"),
        ("monsters.schema.json", {"hit_points": 3}, "is not valid under any of the given schemas"),
        ("entry.schema.json", {"name": "A", "slug": "Not A Slug"}, "does not match"),
        ("pack.schema.json", {"id": "x", "title": "X"}, "'version' is a required property"),
    ],
)
def test_the_schema_rejects_what_the_loader_rejects(name: str, document: Any, why: str) -> None:
    with pytest.raises(jsonschema.ValidationError, match=why.replace("(", r"\(")):
        jsonschema.validate(document, schema(name))
