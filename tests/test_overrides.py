"""Installs say what they override: result warnings, `packs list`, `--overrides PACK`, and one
`window/showMessage` in the editor."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest

from d5e_daemon.app import App
from d5e_daemon.cli import main
from d5e_daemon.client import Daemon
from d5e_daemon.features import packs as features
from d5e_daemon.protocol import PackInstallParams, PacksListParams, UploadParams

from .conftest import make_app
from .packtools import write_pack

MANIFEST = 'id = "loud"\ntitle = "Loud"\nversion = "1"\n'
SPELLS = {
    # Same refs as the SRD's, no extends: accidents.
    **{
        f"spells/{slug}.md": f"---\nname: {name}\nlevel: 2\n---\nLouder.\n"
        for slug, name in [
            ("shatter", "Shatter"),
            ("thunderwave", "Thunderwave"),
            ("fireball", "Fireball"),
            ("light", "Light"),
            ("message", "Message"),
            ("silence", "Silence"),
        ]
    },
    "equipment/club.json": '{"name": "Club"}',
    # On purpose: extends the SRD's entry under its own ref.
    "spells/fly.md": "---\nname: Fly\nextends: srd-2014:spells/fly\nlevel: 4\n---\n",
    # New names override nothing.
    "spells/roar.md": "---\nname: Roar\nlevel: 1\n---\nA roar.\n",
}


def _install(app: App, folder: Path) -> list[tuple[str, str]]:
    result = asyncio.run(features.install(app, PackInstallParams(path=str(folder))))
    return [(p.severity, p.message) for p in result.warnings]


def test_an_install_reports_what_it_overrides(app: App, tmp_path: Path) -> None:
    folder = write_pack(tmp_path / "loud", SPELLS, MANIFEST)
    found = _install(app, folder)
    assert found == [
        (
            "warning",
            "loud overrides 7 entries of srd-2014 with the same refs and no `extends`: "
            "spells 6 (Fireball, Light, Message, Shatter, Silence, …); equipment 1 (Club). "
            "`d5e packs list --overrides loud` lists them all",
        ),
        (
            "info",
            "loud overrides 1 entries of srd-2014 on purpose (extends, or a priority rule): "
            "spells 1 (Fly). `d5e packs list --overrides loud` lists them all",
        ),
    ]
    listed = features.list_packs(app, PacksListParams(overrides="loud"))
    assert {(o.ref, o.over, o.intended) for o in listed.overrides} == {
        *((f"spells/{s}", "srd-2014", False) for s in
          ("shatter", "thunderwave", "fireball", "light", "message", "silence")),
        ("equipment/club", "srd-2014", False),
        ("spells/fly", "srd-2014", True),
    }  # fmt: skip
    info = next(p for p in listed.packs if p.pack.id == "loud")
    assert info.overrides == {"srd-2014": {"spells": 7, "equipment": 1}}
    srd = next(p for p in listed.packs if p.pack.id == "srd-2014")
    assert srd.overrides == {}


def test_each_accidental_override_is_told_once(app: App, tmp_path: Path) -> None:
    """What the editor's pop-up says after packs changed (`new_override_warnings`): the
    accidental overrides only, and each once however often the pack changes."""
    _install(app, write_pack(tmp_path / "loud", SPELLS, MANIFEST))
    told: set[str] = set()
    (line,) = features.new_override_warnings(app, ["loud", "srd-2014"], told)
    assert line.startswith("loud overrides 7 entries of srd-2014 with the same refs")
    assert told == {line}
    assert features.new_override_warnings(app, ["loud"], told) == []


def test_a_chosen_priority_makes_an_override_intended(db_path: Path, tmp_path: Path) -> None:
    folder = write_pack(
        tmp_path / "loud", {"spells/shatter.md": SPELLS["spells/shatter.md"]}, MANIFEST
    )
    app = make_app(db_path, packs={"loud": 70})
    try:
        assert [s for s, _ in _install(app, folder)] == ["info"]
    finally:
        app.close()


def test_an_upload_reports_the_override_it_makes(app: App, tmp_path: Path) -> None:
    folder = write_pack(tmp_path / "loud", {"spells/roar.md": SPELLS["spells/roar.md"]}, MANIFEST)
    assert _install(app, folder) == []
    params = UploadParams(
        pack="loud", collection="spells", entries=[{"name": "Shatter", "level": 2}]
    )
    result = asyncio.run(features.upload(app, params))
    assert [p.severity for p in result.install.warnings] == ["warning"]
    assert "spells 1 (Shatter)" in result.install.warnings[0].message


def test_cli_lists_every_override(
    db_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = write_pack(tmp_path / "loud", SPELLS, MANIFEST)
    assert main(["packs", "install", str(folder), "--db", str(db_path)]) == 0
    out = capsys.readouterr().out
    assert "warning: loud overrides 7 entries of srd-2014" in out
    assert main(["packs", "list", "--db", str(db_path)]) == 0
    assert "loud overrides 8 entries of srd-2014 (7 spells, 1 equipment)" in " ".join(
        capsys.readouterr().out.split()
    )
    assert main(["packs", "list", "--overrides", "loud", "--db", str(db_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "spells/shatter\tShatter\tover srd-2014\tsame ref, no extends" in lines
    assert "spells/fly\tFly\tover srd-2014\ton purpose" in lines
    assert lines[-1] == "loud overrides 8 entries"
    assert main(["packs", "list", "--overrides", "loud", "--json", "--db", str(db_path)]) == 0
    assert len(json.loads(capsys.readouterr().out)["overrides"]) == 8


def test_the_editor_is_told_once(srd_template: Path, tmp_path: Path) -> None:
    db = tmp_path / "d5e.sqlite3"
    db.write_bytes(srd_template.read_bytes())
    folder = write_pack(tmp_path / "loud", SPELLS, MANIFEST)
    with Daemon(db, env={"D5E_EMBEDDER": "fake", "XDG_CACHE_HOME": str(tmp_path)}) as d:
        d.request("initialize", {"processId": os.getpid(), "capabilities": {}}, timeout=180)
        d.send("initialized", {}, notify=True)
        first = d.request("d5e/packs/install", {"path": str(folder)}, timeout=180)
        (folder / "spells" / "growl.md").write_text("---\nname: Growl\nlevel: 1\n---\nGrr.\n")
        # The daemon's watcher may have reloaded the pack already: then this is unchanged.
        again = d.request("d5e/packs/install", {"path": str(folder)}, timeout=180)
        assert first["action"] == "installed"
        if again["action"] == "upgraded":
            assert again["warnings"] == first["warnings"]  # the result says it every time
        assert d.request("d5e/lookup", {"name": "growl"}, timeout=180)["entry"]["pack"] == "loud"
        d.request("d5e/lookup", {"ref": "spells/shatter"}, timeout=180)
        shown = [m for m in d.received if m.get("method") == "window/showMessage"]
    assert len(shown) == 1
    assert shown[0]["params"]["type"] == 2  # a warning
    assert "loud overrides 7 entries of srd-2014" in shown[0]["params"]["message"]
    assert "on purpose" not in shown[0]["params"]["message"]  # intended ones: no pop-up
