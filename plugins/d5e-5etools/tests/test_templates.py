"""5etools monster templates (`monsterTemplate`, applied by `_copy._templates`): from the same
files, from another installed pack, and a clear problem naming the template when it is
nowhere. Applied as 5etools applies them: `_root` fields the copy does not set itself, the
template's `_mod` operations after the copy's own for the same key, `<$variables$>` resolved."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from fivetools_files import data, install

from d5e_daemon.app import App
from d5e_daemon.errors import PackError
from d5e_daemon.features.lookup import lookup
from d5e_daemon.features.packs import validate
from d5e_daemon.protocol import LookupParams, ValidateParams

ASHEN = {
    "name": "Ashen",
    "source": "AshTemplates",
    "apply": {
        "_root": {"alignment": ["N", "E"], "cr": "5"},
        "_mod": {
            "action": {
                "mode": "appendArr",
                "items": {
                    "name": "Ash Touch",
                    "entries": [
                        # 5etools' `<$title_short_name$>` is "The ashen brute" (its data's use)
                        "{@atk mw} {@hit <$to_hit__str$>} to hit. <$title_short_name$> chokes "
                        "its foe ({@dc <$dc__con$>} Constitution)."
                    ],
                },
            },
            "_": {"mode": "addSenses", "senses": {"type": "tremorsense", "range": 30}},
        },
    },
}
BRUTE = {
    "name": "Cave Brute",
    "source": "Caverns",
    "size": ["L"],
    "type": "giant",
    "alignment": ["C", "N"],
    "ac": [12],
    "hp": {"average": 45, "formula": "6d10 + 12"},
    "speed": {"walk": 40},
    "str": 18, "dex": 9, "con": 14, "int": 6, "wis": 8, "cha": 7,
    "senses": ["darkvision 60 ft."],
    "cr": "2",
    "action": [{"name": "Club", "entries": ["{@atk mw} {@hit 6} to hit."]}],
}  # fmt: skip


def ashen_brute(**extra: Any) -> dict[str, Any]:
    return {
        "name": "Ashen Brute",
        "source": "Caverns",
        "alignment": ["C", "E"],  # the copy's own root field: the template's does not replace it
        "_copy": {
            "name": "Cave Brute",
            "source": "Caverns",
            "_templates": [{"name": "Ashen", "source": "AshTemplates"}],
            "_mod": {
                "action": {
                    "mode": "appendArr",
                    "items": {"name": "Roar", "entries": ["The brute roars."]},
                }
            },
            **extra,
        },
    }


def write(tmp_path: Path, name: str, doc: dict[str, Any]) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc, indent="\t"), "utf-8")
    return path


def source(json_id: str) -> dict[str, Any]:
    return {"sources": [{"json": json_id, "full": json_id}]}


def check_ashen_brute(found: dict[str, Any]) -> None:
    # the copy's own mods first, then the template's for the same key
    assert [a["name"] for a in found["actions"]] == ["Club", "Roar", "Ash Touch"]
    # variables resolved against the copy once the template's root is laid: CR 5 → +3 bonus
    assert found["actions"][2]["desc"] == (
        "{@atk mw} {@hit +7} to hit. The ashen brute chokes its foe ({@dc 13} Constitution)."
    )
    assert found["alignment"] == "chaotic evil"  # the root field the copy sets wins
    assert found["challenge_rating"] == 5  # the template's _root
    assert found["senses"]["tremorsense"] == "30 ft."


def test_a_template_of_the_same_file(app: App, tmp_path: Path) -> None:
    doc = {
        "_meta": {"sources": [{"json": "Caverns"}, {"json": "AshTemplates"}]},
        "monsterTemplate": [ASHEN],
        "monster": [BRUTE, ashen_brute()],
    }
    install(app, write(tmp_path, "caverns.json", doc))
    check_ashen_brute(data(app, "caverns:monsters/ashen-brute"))
    assert data(app, "ashtemplates:monster-templates/ashen")["name"] == "Ashen"


def test_a_template_of_another_installed_pack(app: App, tmp_path: Path) -> None:
    templates = {"_meta": source("AshTemplates"), "monsterTemplate": [ASHEN]}
    install(app, write(tmp_path, "Someone; Ash Templates.json", templates))
    doc = {
        "_meta": {**source("Caverns"), "dependencies": {"monster": ["AshTemplates"]}},
        "monster": [BRUTE, ashen_brute()],
    }
    install(app, write(tmp_path, "Someone; Caverns.json", doc))
    entry = lookup(app, LookupParams(ref="caverns:monsters/ashen-brute")).entry
    check_ashen_brute(entry.data)
    assert entry.extends == "caverns:monsters/cave-brute"


def test_a_template_of_another_pack_on_a_copy_of_the_srd(app: App, tmp_path: Path) -> None:
    templates = {"_meta": source("AshTemplates"), "monsterTemplate": [ASHEN]}
    install(app, write(tmp_path, "templates.json", templates))
    goblin = {
        "name": "Ashen Goblin",
        "source": "Caverns",
        "_copy": {
            "name": "Goblin",
            "source": "MM",
            "_templates": [{"name": "ashen", "source": "ashtemplates"}],  # any case
        },
    }
    install(app, write(tmp_path, "goblins.json", {"_meta": source("Caverns"), "monster": [goblin]}))
    found = data(app, "caverns:monsters/ashen-goblin")
    assert found["actions"][-1]["name"] == "Ash Touch"
    assert found["challenge_rating"] == 5


@pytest.mark.parametrize(
    ("ref", "why", "severity"),
    [
        ({"name": "Ashen", "source": "AshTemplates"}, "pack 'ashtemplates' has no", "error"),
        # a book 5etools publishes: no user can install it, the copy is left out (a warning)
        ({"name": "Awakened", "source": "PHB"}, "the SRD has no creature templates", "warning"),
    ],
)
def test_a_missing_template_is_named_where_it_is_written(
    app: App, tmp_path: Path, ref: dict[str, str], why: str, severity: str
) -> None:
    brute = ashen_brute()
    brute["_copy"]["_templates"] = [ref]
    path = write(tmp_path, "caverns.json", {"_meta": source("Caverns"), "monster": [BRUTE, brute]})
    report = asyncio.run(validate(app, ValidateParams(path=str(path))))
    problem = next(p for p in report.problems if "template" in p.message)
    assert problem.severity == severity
    if severity == "error":
        assert f"template {ref['name']!r} of source {ref['source']!r}" in problem.message
    else:
        assert f"its template {ref['name']!r} is of {ref['source']!r}" in problem.message
        assert "left out" in problem.message
    assert why in problem.message
    # located at the template's reference: the object opening on that line names it
    lines = path.read_text("utf-8").splitlines()
    assert lines[problem.line - 1].strip() == "{"
    assert lines[problem.line - 2].strip() == '"_templates": ['
    assert ref["name"] in lines[problem.line]
    if severity == "warning":
        result = install(app, path)  # the rest of the file is installed
        assert result.entries == 1
        return
    with pytest.raises(PackError, match=f"template {ref['name']!r}"):
        install(app, path)


def test_a_copy_is_resolved_again_when_the_pack_of_its_template_changes_or_goes(
    app: App, tmp_path: Path
) -> None:
    """The template's pack is upgraded (its `_root` CR and its action changed), re-installed
    unchanged, then removed: the copy follows the first, and when its template is gone it keeps
    its last good version while `d5e/status` says why."""
    from d5e_daemon.features.packs import install as install_rpc
    from d5e_daemon.features.packs import remove
    from d5e_daemon.protocol import PackIdParams, PackInstallParams

    templates_path = write(
        tmp_path,
        "Someone; Ash Templates.json",
        {"_meta": source("AshTemplates"), "monsterTemplate": [ASHEN]},
    )
    caverns = write(
        tmp_path,
        "Someone; Caverns.json",
        {"_meta": source("Caverns"), "monster": [BRUTE, ashen_brute()]},
    )

    def put(path: Path) -> None:
        asyncio.run(install_rpc(app, PackInstallParams(path=str(path))))

    put(templates_path)
    put(caverns)
    check_ashen_brute(data(app, "caverns:monsters/ashen-brute"))

    harsher = json.loads(json.dumps(ASHEN))
    harsher["apply"]["_root"]["cr"] = "9"
    harsher["apply"]["_mod"]["action"]["items"]["name"] = "Cinder Touch"
    write(
        tmp_path,
        "Someone; Ash Templates.json",
        {"_meta": source("AshTemplates"), "monsterTemplate": [harsher]},
    )
    put(templates_path)
    found = data(app, "caverns:monsters/ashen-brute")
    assert found["challenge_rating"] == 9
    assert [a["name"] for a in found["actions"]] == ["Club", "Roar", "Cinder Touch"]
    # CR 9 → proficiency +4: the template's variables are worked out again from the new root
    assert found["actions"][2]["desc"].startswith("{@atk mw} {@hit +8} to hit.")

    asyncio.run(remove(app, PackIdParams(pack="ashtemplates")))
    assert data(app, "caverns:monsters/ashen-brute")["challenge_rating"] == 9  # last good one
    told = [w for w in app.library.warnings if "'Ashen'" in w]
    assert told and "AshTemplates" in told[0] and "neither in these files nor installed" in told[0]


SHADOWED = {
    "name": "Shadowed",
    "source": "AshTemplates",
    "apply": {
        "_mod": {
            "lairActions": {
                "mode": "appendArr",
                "items": {"type": "entries", "name": "Snuff", "entries": ["Lights go out."]},
            }
        }
    },
}
COURT = {
    "name": "Ember Court",
    "source": "Caverns",
    "lairActions": [
        "On initiative count 20, the court acts:",
        {"type": "list", "items": ["Heat."]},
    ],
}
SHADOW_COURT = {
    "name": "Shadow Court",
    "source": "Caverns",
    "_copy": {
        "name": "Ember Court",
        "source": "Caverns",
        "_templates": [{"name": "Shadowed", "source": "AshTemplates"}],
    },
}


@pytest.mark.parametrize("where", ["same file", "another pack"])
def test_a_legendary_group_template(app: App, tmp_path: Path, where: str) -> None:
    """A legendary group's `_templates` name `legendaryGroupTemplate`s (5etools'
    `_pMergeCopy_pGetTemplates`), from the same files or another installed pack."""
    doc: dict[str, Any] = {"legendaryGroup": [COURT, SHADOW_COURT]}
    if where == "same file":
        doc["_meta"] = {"sources": [{"json": "Caverns"}, {"json": "AshTemplates"}]}
        doc["legendaryGroupTemplate"] = [SHADOWED]
    else:
        templates = {"_meta": source("AshTemplates"), "legendaryGroupTemplate": [SHADOWED]}
        install(app, write(tmp_path, "templates.json", templates))
        assert data(app, "ashtemplates:legendary-group-templates/shadowed")["name"] == "Shadowed"
        doc["_meta"] = source("Caverns")
    install(app, write(tmp_path, "courts.json", doc))
    lair = data(app, "caverns:legendary-groups/shadow-court")["5etools"]["lairActions"]
    assert lair[0] == "On initiative count 20, the court acts:"
    assert lair[-1]["name"] == "Snuff"
    assert len(data(app, "caverns:legendary-groups/ember-court")["5etools"]["lairActions"]) == 2


def test_a_version_using_a_template_of_another_installed_pack(app: App, tmp_path: Path) -> None:
    """`_versions` look their `_templates` up as `_copy` does: in the same files, else in the
    installed packs; the version is made when the file is installed, and again when that
    pack changes."""
    templates = {"_meta": source("AshTemplates"), "monsterTemplate": [ASHEN]}
    templates_path = write(tmp_path, "Someone; Ash Templates.json", templates)
    install(app, templates_path)
    brute = {
        **BRUTE,
        "_versions": [
            {
                "name": "Ashen Cave Brute",
                "source": "Caverns",
                "_templates": [{"name": "Ashen", "source": "AshTemplates"}],
            }
        ],
    }
    caverns = write(
        tmp_path, "Someone; Caverns.json", {"_meta": source("Caverns"), "monster": [brute]}
    )
    install(app, caverns)
    found = data(app, "caverns:monsters/ashen-cave-brute")
    assert [a["name"] for a in found["actions"]] == ["Club", "Ash Touch"]
    assert found["challenge_rating"] == 5 and found["senses"]["tremorsense"] == "30 ft."
    assert data(app, "caverns:monsters/cave-brute")["challenge_rating"] == 2  # parent unchanged

    from d5e_daemon.features.packs import install as install_rpc
    from d5e_daemon.protocol import PackInstallParams

    harsher = json.loads(json.dumps(ASHEN))
    harsher["apply"]["_root"]["cr"] = "9"
    write(tmp_path, "Someone; Ash Templates.json", {**templates, "monsterTemplate": [harsher]})
    asyncio.run(install_rpc(app, PackInstallParams(path=str(templates_path))))
    assert data(app, "caverns:monsters/ashen-cave-brute")["challenge_rating"] == 9
