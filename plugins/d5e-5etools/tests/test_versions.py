"""5etools `_versions`: each version is an entry of its own, made from its parent as 5etools'
`DataUtil.generic.getVersions` makes it (plain versions, `_abstract` templates with
`{{variables}}` per implementation, and creature variants carrying a `_version`)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from fivetools_files import data, install, names

from d5e_daemon.app import App
from d5e_daemon.errors import PackError
from d5e_daemon.features.lookup import lookup
from d5e_daemon.features.packs import validate
from d5e_daemon.protocol import LookupParams, ValidateParams

META = {"sources": [{"json": "DrakeLands", "abbreviation": "DL", "full": "Drake Lands"}]}

DRAKE: dict[str, Any] = {
    "name": "Ember Drake",
    "source": "DrakeLands",
    "page": 12,
    "size": ["L"],
    "type": "dragon",
    "alignment": ["C", "E"],
    "ac": [{"ac": 15, "from": ["natural armor"]}],
    "hp": {"average": 52, "formula": "7d10 + 14"},
    "speed": {"walk": 30, "fly": 60},
    "str": 17,
    "dex": 10,
    "con": 15,
    "int": 7,
    "wis": 10,
    "cha": 9,
    "cr": "4",
    "environment": ["mountain"],
    "trait": [{"name": "Heated Body", "entries": ["The drake glows."]}],
    "action": [
        {"name": "Bite", "entries": ["{@atk mw} {@hit 5} to hit. {@h}10 ({@damage 2d6 + 3})."]},
        {"name": "Tail", "entries": ["{@atk mw} {@hit 5} to hit."]},
        {"name": "Breath", "entries": ["Fire breath, {@dc 12} Dexterity saving throw."]},
    ],
    "variant": [
        {
            "type": "variant",
            "name": "Drake Rider",
            "entries": [
                "Some drakes carry riders.",
                {"type": "entries", "name": "Saddled", "entries": ["The drake wears a saddle."]},
            ],
            "_version": {"name": "Ember Drake (Saddled)", "addHeadersAs": "trait"},
        }
    ],
    "_versions": [
        {
            "name": "Ember Drake (Young)",
            "source": "DrakeLands",
            "_mod": {"action": {"mode": "removeArr", "names": "Tail"}},
            "size": ["M"],
            "trait": None,
        },
        {
            "_abstract": {
                "name": "{{color}} Ember Drake",
                "source": "DrakeLands",
                "_mod": {
                    "action": {
                        "mode": "replaceArr",
                        "replace": "Breath",
                        "items": {
                            "name": "Breath",
                            "entries": ["{{damage}} breath, {@dc 12} saving throw."],
                        },
                    },
                },
            },
            "_implementations": [
                {"_variables": {"color": "Blue", "damage": "Lightning"}, "resist": ["lightning"]},
                {"_variables": {"color": "White", "damage": "Cold"}, "resist": ["cold"]},
            ],
        },
    ],
}


def write(tmp_path: Path, doc: dict[str, Any]) -> Path:
    path = tmp_path / "Test Author; Drake Lands.json"
    path.write_text(json.dumps(doc, indent="\t"), "utf-8")
    return path


def test_versions_are_entries_of_their_own(app: App, tmp_path: Path) -> None:
    result = install(app, write(tmp_path, {"_meta": META, "monster": [DRAKE]}))
    assert result.entries == 5  # the drake, its plain version, two implementations, the variant
    drake = data(app, "drakelands:monsters/ember-drake")
    assert names(drake["actions"]) == ["Bite", "Tail", "Breath"]  # the parent is unchanged
    young = data(app, "drakelands:monsters/ember-drake-young")
    assert names(young["actions"]) == ["Bite", "Breath"]  # its _mod, in order
    assert young["size"] == "Medium"  # its root fields
    assert "special_abilities" not in young  # `"trait": null` removes the parent's traits
    # a version keeps what a copy leaves behind (`_preserve` is "*" for versions)
    assert young["page"] == 12 and young["5etools"]["environment"] == ["mountain"]
    assert "_versions" not in young["5etools"]
    blue = data(app, "drakelands:monsters/blue-ember-drake")
    white = data(app, "drakelands:monsters/white-ember-drake")
    assert blue["actions"][2]["desc"] == "Lightning breath, {@dc 12} saving throw."
    assert white["actions"][2]["desc"] == "Cold breath, {@dc 12} saving throw."
    assert (blue["damage_resistances"], white["damage_resistances"]) == (["lightning"], ["cold"])
    saddled = data(app, "drakelands:monsters/ember-drake-saddled")
    # addHeadersAs: the variant's named sections become traits; the variant itself is gone
    assert names(saddled["special_abilities"]) == ["Heated Body", "Saddled"]
    assert "variant" not in saddled["5etools"]


def test_versions_of_a_copy_of_the_srd(app: App, tmp_path: Path) -> None:
    scout = {
        "name": "Goblin Scout",
        "source": "DrakeLands",
        "_copy": {"name": "Goblin", "source": "MM"},
        "_versions": [
            {
                "name": "Goblin Scout (Mounted)",
                "source": "DrakeLands",
                "_mod": {
                    "action": {
                        "mode": "appendArr",
                        "items": {"name": "Trample", "entries": ["The mount tramples."]},
                    }
                },
            }
        ],
    }
    install(app, write(tmp_path, {"_meta": META, "monster": [scout]}))
    goblin = data(app, "srd-2014:monsters/goblin")
    mounted = lookup(app, LookupParams(ref="drakelands:monsters/goblin-scout-mounted")).entry
    assert mounted.extends == "srd-2014:monsters/goblin"
    assert names(mounted.data["actions"]) == [*names(goblin["actions"]), "Trample"]
    assert names(data(app, "drakelands:monsters/goblin-scout")["actions"]) == names(
        goblin["actions"]
    )


def test_a_version_that_cannot_apply_is_located(app: App, tmp_path: Path) -> None:
    broken = {
        **DRAKE,
        "_versions": [
            {
                "name": "Ember Drake (Wingless)",
                "_mod": {"action": {"mode": "removeArr", "names": "Wings"}},
            }
        ],
    }
    path = write(tmp_path, {"_meta": META, "monster": [broken]})
    report = asyncio.run(validate(app, ValidateParams(path=str(path))))
    text = path.read_text("utf-8").splitlines()
    problem = next(p for p in report.problems if "Wings" in p.message)
    assert problem.severity == "error"
    assert '"names": "Wings"' in text[problem.line - 1]
    with pytest.raises(PackError, match="no item 'Wings' to remove"):
        install(app, path)


def test_each_version_is_located_where_it_is_written(app: App, tmp_path: Path) -> None:
    """Go to definition of a version opens the file at the version (its `_versions` item, its
    implementation, its variant), not at its parent; a copy's versions too."""
    scout = {
        "name": "Goblin Scout",
        "source": "DrakeLands",
        "_copy": {"name": "Goblin", "source": "MM"},
        "_versions": [{"name": "Goblin Scout (Mounted)", "source": "DrakeLands"}],
    }
    path = write(tmp_path, {"_meta": META, "monster": [DRAKE, scout]})
    install(app, path)
    lines = path.read_text("utf-8").splitlines()

    def line_of(ref: str) -> str:
        source = lookup(app, LookupParams(ref=ref)).entry.source
        assert source is not None and source.path == str(path.resolve())
        return lines[source.line - 1].strip() + " " + lines[source.line].strip()

    assert line_of("drakelands:monsters/ember-drake") == '{ "name": "Ember Drake",'
    assert line_of("drakelands:monsters/ember-drake-young") == '{ "name": "Ember Drake (Young)",'
    # an implementation: the object holding its `_variables`
    assert line_of("drakelands:monsters/blue-ember-drake") == '{ "_variables": {'
    white = lookup(app, LookupParams(ref="drakelands:monsters/white-ember-drake")).entry.source
    blue = lookup(app, LookupParams(ref="drakelands:monsters/blue-ember-drake")).entry.source
    assert white is not None and blue is not None and white.line > blue.line
    assert line_of("drakelands:monsters/ember-drake-saddled") == '{ "type": "variant",'
    assert line_of("drakelands:monsters/goblin-scout-mounted") == (
        '{ "name": "Goblin Scout (Mounted)",'
    )
