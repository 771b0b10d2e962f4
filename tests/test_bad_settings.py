"""Every setting is validated against the protocol's ranges, in `d5e.toml` (with file:line) and in
the editor's settings; a bad one never turns into -32603 for later requests, and a live change of
`d5e.toml` applies what it can and tells the client about each problem."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest

from d5e_daemon import workspace
from d5e_daemon.client import Daemon
from d5e_daemon.errors import InvalidParams
from d5e_daemon.settings import build

from .packtools import write_pack

DEEP = "x = " + "[" * 5000 + "]" * 5000 + "\n"


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (
            "[packs]\nsrd-2014 = 99999999999999999999999\n",
            ":2:12: packs.srd-2014: Expected `int` <=",
        ),
        ("[packs]\nsrd-2014 = -99999999999\n", ":2:12: packs.srd-2014: Expected `int` >="),
        (
            "[collectionPriorities.brew]\nspells = 10000001\n",
            ":2:10: collectionPriorities.brew.spells",
        ),
        (
            'edition = "2014"\n' + DEEP,
            ":2:69: arrays, tables or dotted keys nested more than 64 deep",
        ),
        (
            "disabled = " + "[" * 100 + "]" * 100 + "\n",
            ":1:76: arrays, tables or dotted keys nested",
        ),
        ("completionLimit = 0\n", ":1:19: completionLimit: Expected `int` >= 1"),
        ("completionLimit = 100000\n", ":1:19: completionLimit: Expected `int` <= 500"),
        (
            'disabled = ["' + "x" * 100 + '"]\n',
            ":1:13: disabled[0]: Expected `str` of length <= 64",
        ),
        (
            'party = [5, 5]\nstatblocks = "homebrewery"\n',
            ":2:1: statblocks: not a d5e.toml setting; did you mean statBlocks?",
        ),
        ("edition = 2015\n", ":1:11: edition: Invalid enum value '2015' (one of '2014', '2024')"),
        (  # it said "Expected `int`, got `str`"
            '[packs]\nsrd-2024 = "off"\n',
            ":2:12: packs.srd-2024: a pack's priority is a whole number, higher wins "
            '(srd-2024 = 60); to turn it off, write disabled = ["srd-2024"]',
        ),
        ("[packs]\nbrew = true\n", ":2:8: packs.brew: a pack's priority is a whole number"),
    ],
)
def test_a_bad_d5e_toml_names_file_line_and_setting(tmp_path: Path, text: str, where: str) -> None:
    (tmp_path / "d5e.toml").write_text(text)
    with pytest.raises(InvalidParams) as bad:
        workspace.layer(tmp_path)
    assert bad.value.message.startswith(str(tmp_path / "d5e.toml") + where.split(":", 2)[0])
    assert where in bad.value.message


def test_a_d5e_toml_edition_may_be_a_number(tmp_path: Path) -> None:
    """`edition = 2014`, as the docs write the edition, said "Expected `str | null`, got
    `int`"."""
    (tmp_path / "d5e.toml").write_text("edition = 2024\n")
    assert workspace.layer(tmp_path)["edition"] == "2024"


@pytest.mark.parametrize(
    ("options", "where"),
    [
        ({"packs": {"srd-2014": 10**23}}, "$.packs.srd-2014"),
        ({"completionLimit": 0}, "$.completionLimit"),
        (
            {"collectionPriorities": {"brew": {"spells": 10**12}}},
            "$.collectionPriorities.brew.spells",
        ),
        ({"packPaths": [""]}, "$.packPaths[0]"),
        ({"profile": "../../etc"}, "$.profile"),
    ],
)
def test_bad_editor_settings_name_their_path(options: dict[str, Any], where: str) -> None:
    with pytest.raises(InvalidParams, match=f"invalid settings: .* - at `{re.escape(where)}`") as e:
        build(options)
    assert "regex" not in e.value.message  # a profile's name is said in words


def test_a_bad_value_leaves_its_setting_at_the_default_and_the_rest_applies(
    tmp_path: Path,
) -> None:
    """What a running daemon takes of a broken d5e.toml (`workspace.applicable`): the edition of
    a file whose one priority is too big, and which settings are at their defaults and why."""
    config = tmp_path / "d5e.toml"
    config.write_text(
        'edition = "2024"\n[packs]\nsrd-2014 = 99999999999999999999999\n'
        'disabled = ["' + "x" * 100 + '"]\n'
    )
    found, problem = workspace.applicable(tmp_path)
    assert found["edition"] == "2024" and "packs" not in found and "disabled" not in found
    assert problem is not None and problem.startswith(f"{config}:3:12: packs.srd-2014: ")
    assert problem.endswith("(defaults for packs; the rest applied)")  # disabled is in [packs]
    config.write_text('edition = "2024"\nparty = [5, 5]\nstatblocks = "homebrewery"\n')
    found, problem = workspace.applicable(tmp_path)
    assert found["edition"] == "2024" and found["workspaceParty"] == [5, 5]
    assert problem == (
        f"{config}:3:1: statblocks: not a d5e.toml setting; did you mean statBlocks? "
        "(defaults for statblocks; the rest applied)"
    )
    config.write_text('profile = "strahd"\n' + DEEP)
    found, problem = workspace.applicable(tmp_path)
    assert found == {
        "workspace": str(tmp_path.resolve()),
        "profile": workspace.profile_name(tmp_path),
    }
    assert problem == (
        f"{config}:2:69: arrays, tables or dotted keys nested more than 64 deep "
        "(none of it applied: defaults for profile)"
    )
    none = tmp_path.parent / "none"
    assert workspace.applicable(none) == (workspace.layer(none), None)


def test_a_bad_d5e_toml_at_start_never_refuses_initialize(db_path: Path, tmp_path: Path) -> None:
    """Over the wire: initialize in a folder with a bad d5e.toml was refused with -32602 (the
    editor had no language server until a restart). Now it starts with the defaults for what
    the file cannot give, shows the file:line:column, and a fixed file applies when saved."""
    config = tmp_path / "d5e.toml"
    config.write_text('edition = "2024"\n[packs]\nsrd-2014 = 99999999999999999999999\n')
    with Daemon(db_path) as d:
        params = {"processId": None, "capabilities": {}, "rootUri": tmp_path.as_uri()}
        d.request("initialize", params, timeout=60)
        d.send("initialized", {}, notify=True)
        status = d.request("d5e/status")
        assert status["edition"] == "2024"  # the rest of the file applies
        assert any(
            w.startswith(f"settings not applied: {config}:3:12: packs.srd-2014")
            and w.endswith("(defaults for packs; the rest applied)")
            for w in status["warnings"]
        ), status["warnings"]
        deadline = time.monotonic() + 10
        while not _messages(d) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _messages(d)[0].startswith(f"d5e: settings not applied: {config}:3:12:")
        config.write_text('edition = "2014"\n')
        d.send(
            "workspace/didChangeWatchedFiles",
            {"changes": [{"uri": config.as_uri(), "type": 2}]},
            notify=True,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            status = d.request("d5e/status")
            if status["edition"] == "2014":
                break
            time.sleep(0.05)
        assert status["edition"] == "2014"
        assert not [w for w in status["warnings"] if "settings not applied" in w]
        assert d.request("d5e/packs/enable", {"pack": "srd-2014"})["info"]["enabled"]


def _messages(d: Daemon) -> list[str]:
    return [
        str(m["params"]["message"]) for m in d.received if m.get("method") == "window/showMessage"
    ]


def test_a_live_change_applies_what_it_can_and_reports_each_problem(
    db_path: Path, tmp_path: Path
) -> None:
    """d5e.toml changes to edition 2024 with a missing packPaths folder and a pack that would
    take the SRD's id: the edition applies, the good pack is installed, and each problem reaches
    the client (window/showMessage) and `d5e/status`."""
    root = tmp_path / "campaign"
    write_pack(root / "brew", {"spells/s.json": '{"name": "Sleet Ray"}'})
    write_pack(
        root / "fake",
        {"spells/f.json": '{"name": "F"}'},
        'id = "srd-2014"\ntitle = "F"\nversion = "1"\n',
    )
    (root / "d5e.toml").write_text('edition = "2014"\n')
    config = root / "d5e.toml"
    with Daemon(db_path) as d:
        d.request("initialize", {"processId": None, "capabilities": {}, "rootUri": root.as_uri()})
        d.send("initialized", {}, notify=True)
        assert d.request("d5e/lookup", {"ref": "conditions/prone"})["entry"]["pack"] == "srd-2014"
        config.write_text('edition = "2024"\npackPaths = ["missing", "fake", "brew"]\n')
        d.send(
            "workspace/didChangeWatchedFiles",
            {"changes": [{"uri": config.as_uri(), "type": 2}]},
            notify=True,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            prone = d.request("d5e/lookup", {"ref": "conditions/prone"})["entry"]["pack"]
            if prone == "srd-2024" and len(_messages(d)) >= 2:
                break
            time.sleep(0.1)
        assert prone == "srd-2024"
        assert d.request("d5e/lookup", {"name": "sleet ray"})["entry"]["pack"] == "brew"
        shown = _messages(d)
        assert any(f"{root / 'missing'}: no such file or folder" in m for m in shown), shown
        assert any("pack id srd-2014 is already installed" in m for m in shown), shown
        warnings = d.request("d5e/status")["warnings"]
        assert any("no such file or folder" in w for w in warnings)
        assert d.request("d5e/lookup", {"ref": "spells/fireball"})["entry"]["pack"] == "srd-2014"


async def test_reconfigure_applies_what_it_can_and_returns_each_problem(
    db_path: Path, tmp_path: Path
) -> None:
    """`App.reconfigure`, the plain function behind a live d5e.toml or editor-settings change:
    the edition and the good pack apply, the missing folder and the other database are told."""
    from d5e_daemon.features.lookup import lookup
    from d5e_daemon.protocol import LookupParams

    from .conftest import make_app

    root = tmp_path / "campaign"
    write_pack(root / "brew", {"spells/s.json": '{"name": "Sleet Ray"}'})
    app = make_app(db_path, **workspace.layer(root))
    events: list[list[str]] = []
    app.library.on_change(events.append)
    try:
        assert lookup(app, LookupParams(ref="conditions/prone")).entry.pack == "srd-2014"
        changed = build(
            {
                "db": str(tmp_path / "other.sqlite3"),
                **workspace.layer(root),
                "edition": "2024",
                "packPaths": [str(root / "missing"), str(root / "brew")],
            }
        )
        problems = await app.reconfigure(changed)
        assert problems[0] == "a new database path takes effect when the daemon restarts"
        assert problems[1:] == [f"{root / 'missing'}: no such file or folder"]
        assert app.settings.db == str(db_path) and app.settings.edition == "2024"
        assert lookup(app, LookupParams(ref="conditions/prone")).entry.pack == "srd-2024"
        assert lookup(app, LookupParams(name="sleet ray")).entry.pack == "brew"
        assert ["brew"] in events
    finally:
        app.close()


@pytest.mark.parametrize(
    ("argv", "env", "said"),
    [
        ([], {"D5E_EDITION": "2023"}, "D5E_EDITION='2023': Invalid enum value '2023' (one of "),
        ([], {"D5E_PROFILE": "My Campaign"}, "D5E_PROFILE='My Campaign': Expected lower-case "),
        (["--profile", "My Campaign"], {}, "--profile 'My Campaign': Expected lower-case letters"),
    ],
)
def test_a_bad_environment_variable_or_flag_is_named_as_given(
    argv: list[str],
    env: dict[str, str],
    said: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    """`D5E_EDITION=2023 d5e lookup goblin` said "invalid settings: … - at `$.edition`", and
    `--profile "My Campaign"` the regex that refused it: which variable or flag, in words."""
    from d5e_daemon.cli import main

    for var, value in env.items():
        monkeypatch.setenv(var, value)
    code = main(["lookup", "goblin", "--db", str(tmp_path / "never.sqlite3"), *argv])
    err = capsys.readouterr().err
    assert code == 1 and err.startswith(f"d5e: invalid setting: {said}"), err
    assert "$." not in err and "regex" not in err
    assert not (tmp_path / "never.sqlite3").exists()


def test_status_names_a_pack_the_settings_name_that_is_not_installed(
    db_path: Path, tmp_path: Path
) -> None:
    """`[packs] srd-20144 = 70` (a typo) or `disabled = ["nosuch"]` changed nothing and said
    nothing: `d5e status` (and the editor's status) now names each, with the nearest id."""
    from d5e_daemon.features.status import status

    from .fixtures import make_app

    (tmp_path / "d5e.toml").write_text("")
    rules = [{"pack": "srd-2014", "over": "homebrw"}]
    app = make_app(
        db_path,
        packs={"srd-20144": 70},
        disabled=["nosuch", "clockwork"],  # clockwork: a plugin's, not installed: no mistake
        rules=rules,
        workspace=str(tmp_path),
    )
    try:
        warnings = [w for w in status(app).warnings if "no installed pack" in w]
    finally:
        app.close()
    where = f"{tmp_path / 'd5e.toml'}: "
    assert warnings == [
        f"{where}rules: no installed pack is 'homebrw' (d5e packs list names them)",
        f"{where}disabled: no installed pack is 'nosuch' (d5e packs list names them)",
        f"{where}packs: no installed pack is 'srd-20144'; did you mean 'srd-2014'?",
    ]
