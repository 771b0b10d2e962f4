"""An untrusted campaign folder cannot take over: a pack id has one owner (its origin), built-in
ids are taken, a workspace's `packPaths` never replace a pack and bring it into no other profile
(off there until the user turns it on), and a workspace's profile is its own (a `d5e.toml`
cannot name the user's default or another folder's profile; names are capped)."""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from d5e_daemon import packfiles, packs, queries, workspace
from d5e_daemon.app import App
from d5e_daemon.cli import main as cli_main
from d5e_daemon.client import Daemon, RpcError
from d5e_daemon.errors import InvalidParams, NotFound, PackError
from d5e_daemon.features import packs as features
from d5e_daemon.features.lookup import lookup
from d5e_daemon.library import Library
from d5e_daemon.protocol import (
    CreateParams,
    LookupParams,
    PackIdParams,
    PackInstallParams,
    SetPriorityParams,
    UploadParams,
)
from d5e_daemon.settings import build, from_env

from .conftest import make_app
from .packtools import pack_entries, write_pack

SPELL = '{"name": "Magic Missile", "level": 9, "desc": ["Not the SRD one."]}'


def manifest(pack_id: str, priority: int = 50) -> str:
    return f'id = "{pack_id}"\ntitle = "T"\nversion = "1"\npriority = {priority}\n'


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def workspace_app(db_path: Path, root: Path, **extra: Any) -> App:
    app = App(build({"db": str(db_path)}, workspace.layer(root), extra or None))
    app.start()
    return app


def winner(app: App, ref: str) -> tuple[str, int | None]:
    found = lookup(app, LookupParams(ref=ref))
    return found.entry.pack, found.entry.priority


# -- pack ids have an owner ---------------------------------------------------------------------


def test_create_cannot_take_the_srd_id_without_replace(app: App, tmp_path: Path) -> None:
    params = CreateParams(id="srd-2014", directory=str(tmp_path))
    with pytest.raises(PackError, match=r"pack id srd-2014 is already installed from plugin:"):
        run(features.create(app, params))
    assert not (tmp_path / "srd-2014").exists(), "a refused create writes no folder"
    assert pack_entries(app.conn, "srd-2014") == 2317
    assert lookup(app, LookupParams(ref="spells/magic-missile")).entry.pack == "srd-2014"
    # said on purpose, it is a replace
    run(features.create(app, CreateParams(id="srd-2014", directory=str(tmp_path), replace=True)))
    assert queries.pack_origin(app.conn, "srd-2014") == str((tmp_path / "srd-2014").resolve())
    with pytest.raises(NotFound):
        lookup(app, LookupParams(ref="spells/magic-missile"))


def test_install_refuses_an_id_another_folder_owns(app: App, tmp_path: Path) -> None:
    mine = write_pack(tmp_path / "mine", {"spells/a.json": '{"name": "Mine"}'}, manifest("brew"))
    theirs = write_pack(tmp_path / "theirs", {"spells/b.json": SPELL}, manifest("brew"))
    run(features.install(app, PackInstallParams(path=str(mine))))
    with pytest.raises(PackError) as refused:
        run(features.install(app, PackInstallParams(path=str(theirs))))
    assert f"pack id brew is already installed from {mine.resolve()}" in refused.value.message
    assert refused.value.message.endswith("give this pack another id in its pack.toml")
    assert refused.value.flag is not None and refused.value.flag.name == "replace"
    assert refused.value.data["owner"] == str(mine.resolve())
    assert queries.pack_origin(app.conn, "brew") == str(mine.resolve())
    assert lookup(app, LookupParams(ref="spells/mine")).entry.pack == "brew"
    run(features.install(app, PackInstallParams(path=str(theirs), replace=True)))
    assert queries.pack_origin(app.conn, "brew") == str(theirs.resolve())


def test_each_face_offers_replace_in_its_own_words(
    db_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The refusal told every face to "pass replace: true (`--replace`)", and MCP's
    create_pack, which takes no `replace`, too (tests/test_mcp.py). Each face now says the
    parameter it has: JSON-RPC `replace: true`, the CLI `--replace`."""
    mine = write_pack(tmp_path / "mine", {"spells/a.json": '{"name": "Mine"}'}, manifest("brew"))
    theirs = write_pack(tmp_path / "theirs", {"spells/b.json": SPELL}, manifest("brew"))
    said = f"{theirs.resolve()}: pack id brew is already installed from {mine.resolve()}; "
    said += "installing this would "
    assert cli_main(["packs", "install", str(mine), "--db", str(db_path)]) == 0
    assert cli_main(["packs", "install", str(theirs), "--db", str(db_path)]) == 1
    assert capsys.readouterr().err == (
        f"d5e: {said}replace it: give this pack another id in its pack.toml, or pass --replace "
        "to replace it\n"
    )
    assert cli_main(["packs", "new", "brew", "--dir", str(tmp_path), "--db", str(db_path)]) == 1
    assert capsys.readouterr().err.endswith(
        "replace it: give this pack another id, or pass --replace to replace it\n"
    )
    with Daemon(db_path) as d:
        d.initialize()
        with pytest.raises(RpcError) as refused:
            d.request("d5e/packs/install", {"path": str(theirs)})
    assert refused.value.code == -32002
    assert refused.value.message == (
        f"{said}replace it: give this pack another id in its pack.toml, or pass replace: true "
        "to replace it"
    )


def test_a_built_in_id_is_taken_even_when_not_installed(db_path: Path, tmp_path: Path) -> None:
    app = make_app(db_path, builtinPacks=["srd-2014"])
    try:
        app.db.write(lambda conn: packs.remove(conn, "srd-2024"))
        fake = write_pack(tmp_path / "fake", {"spells/b.json": SPELL}, manifest("srd-2024"))
        with pytest.raises(PackError, match=r"srd-2024 belongs to a built-in pack \(plugin:"):
            run(features.install(app, PackInstallParams(path=str(fake))))
        assert queries.pack_origin(app.conn, "srd-2024") is None
    finally:
        app.close()


def test_a_replaced_built_in_pack_stays_replaced_at_the_next_start(
    db_path: Path, tmp_path: Path
) -> None:
    app = make_app(db_path)
    mine = write_pack(tmp_path / "mine", {"spells/b.json": SPELL}, manifest("srd-2014"))
    try:
        run(features.install(app, PackInstallParams(path=str(mine), replace=True)))
    finally:
        app.close()
    app = make_app(db_path)
    try:
        assert queries.pack_origin(app.conn, "srd-2014") == str(mine.resolve())
        run(features.install(app, PackInstallParams(id="srd-2014", replace=True)))
        assert pack_entries(app.conn, "srd-2014") == 2317
    finally:
        app.close()


# -- a workspace's packPaths ---------------------------------------------------------------------


def test_pack_paths_never_replace_a_pack(db_path: Path, tmp_path: Path) -> None:
    """A campaign folder whose pack claims the id of the user's own pack: refused, reported,
    and the user's next upload still writes into the user's folder."""
    user = make_app(db_path)
    mine = write_pack(tmp_path / "mine", {"spells/a.json": '{"name": "Mine"}'}, manifest("brew"))
    try:
        run(features.install(user, PackInstallParams(path=str(mine))))
    finally:
        user.close()
    root = tmp_path / "campaign"
    write_pack(root / "evil", {"spells/b.json": SPELL}, manifest("brew", 1_000_000))
    (root / "d5e.toml").write_text('packPaths = ["evil"]\n')
    campaign = workspace_app(db_path, root)
    try:
        assert any("packPaths never replace a pack" in w for w in campaign.library.warnings)
        assert queries.pack_origin(campaign.conn, "brew") == str(mine.resolve())
        # and not through a workspace with replace in the editor's settings either
        with pytest.raises(PackError, match="packPaths never replace"):
            campaign.db.write(lambda c: campaign.library.install_pack_path(c, root / "evil"))
    finally:
        campaign.close()
    user = make_app(db_path)
    try:
        upload = UploadParams(pack="brew", collection="spells", entries=[{"name": "Mine Too"}])
        result = run(features.upload(user, upload))
        assert result.written == [str(mine / "spells" / "mine-too.json")]
        assert not (root / "evil" / "spells" / "mine-too.json").exists()
    finally:
        user.close()


def test_a_moved_campaign_keeps_its_pack_and_its_named_profile(
    db_path: Path, tmp_path: Path
) -> None:
    """A campaign folder moved (`a/strahd` → `b/strahd`): its packPaths pack was refused ("pack
    id … is already installed from a/strahd/brew; … give this pack another id") and its
    entries were not found; a d5e.toml's named profile "belonged to the workspace a/strahd",
    so the choices made in it were left behind. Now both go with the folder; a copy (the first
    folder still there) is refused as before, and a pack the user installed is never taken."""
    first = tmp_path / "a" / "strahd"
    mist = '{"name": "Mist of Barovia"}'
    write_pack(first / "brew", {"spells/b.json": mist}, manifest("strahd-brew"))
    (first / "d5e.toml").write_text('profile = "strahd"\npackPaths = ["brew"]\n')
    campaign = workspace_app(db_path, first)
    try:
        run(features.set_priority(campaign, SetPriorityParams(pack="srd-2014", priority=5)))
    finally:
        campaign.close()
    copy = tmp_path / "copy" / "strahd"
    shutil.copytree(first, copy)
    campaign = workspace_app(db_path, copy)  # the first is still there: not a move
    try:
        assert campaign.profile == workspace.profile_name(copy)
        assert any("packPaths never replace a pack" in w for w in campaign.library.warnings)
    finally:
        campaign.close()
    shutil.rmtree(copy)
    moved = tmp_path / "b" / "strahd"
    moved.parent.mkdir()
    first.rename(moved)
    campaign = workspace_app(db_path, moved)
    try:
        assert (campaign.profile, campaign.library.warnings) == ("strahd", [])
        assert queries.profile_owner(campaign.conn, "strahd") == (True, str(moved))
        assert winner(campaign, "spells/fireball") == ("srd-2014", 5)  # its choice
        assert queries.pack_origin(campaign.conn, "strahd-brew") == str(moved / "brew")
        assert lookup(campaign, LookupParams(name="mist of barovia")).entry.pack == "strahd-brew"
    finally:
        campaign.close()
    # a folder without a named profile, moved: a new profile, but its pack follows it
    (moved / "d5e.toml").write_text('packPaths = ["brew"]\n')
    again = tmp_path / "c" / "strahd"
    again.parent.mkdir()
    moved.rename(again)
    campaign = workspace_app(db_path, again)
    try:
        assert campaign.profile == workspace.profile_name(again) and not campaign.library.warnings
        assert lookup(campaign, LookupParams(name="mist of barovia")).entry.pack == "strahd-brew"
    finally:
        campaign.close()


def test_a_users_pack_moved_is_said_to_be_gone_from_where_it_was(app: App, tmp_path: Path) -> None:
    """A folder pack the user installed, then moved (or a database brought from another
    machine): its install from the new place is refused as taking another's id; the refusal
    now says the old place is gone, and `replace` moves it."""
    first = write_pack(
        tmp_path / "brew1", {"spells/a.json": '{"name": "Moved Bolt"}'}, manifest("mv")
    )
    run(features.install(app, PackInstallParams(path=str(first))))
    moved = first.rename(tmp_path / "brew2")
    with pytest.raises(PackError) as refused:
        run(features.install(app, PackInstallParams(path=str(moved))))
    assert f"is already installed from {first} (not there any more: moved here?)" in str(
        refused.value.message
    )
    run(features.install(app, PackInstallParams(path=str(moved), replace=True)))
    assert queries.pack_origin(app.conn, "mv") == str(moved)


def test_a_hostile_d5e_toml_brings_no_pack_from_outside_its_folder(
    db_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A campaign's packPaths named any folder: `/etc`, `..`, the user's packs elsewhere, a
    link out of the campaign, and `~` was a folder named `~` inside it. Now `~` is the home
    folder, and a path outside the campaign (links followed) is refused, each with a line in
    `d5e status`, unless the user's own settings trust its folder; the campaign's own pack
    is installed."""
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    write_pack(home / "brew", {"spells/h.json": '{"name": "Home Spell"}'}, manifest("home-brew"))
    write_pack(tmp_path / "shared", {"spells/s.json": '{"name": "Shared"}'}, manifest("shared"))
    root = tmp_path / "campaign"
    write_pack(root / "homebrew", {"spells/c.json": '{"name": "Campaign Spell"}'}, manifest("own"))
    (root / "sneaky").symlink_to(tmp_path / "shared")
    (root / "d5e.toml").write_text(
        'packPaths = ["homebrew", "/etc", "..", "../shared", "sneaky", "~/brew", '
        f'"{tmp_path / "shared"}"]\n'
    )
    said = "is outside the campaign folder; a campaign cannot bring packs from elsewhere"
    campaign = workspace_app(db_path, root)
    try:
        assert pack_entries(campaign.conn, "own") == 1
        for pack_id in ("home-brew", "shared"):
            assert not queries.pack_origin(campaign.conn, pack_id)
        refused = [w for w in campaign.library.warnings if said in w]
        assert [w.split(": ")[2].split(" is ")[0] for w in refused] == [
            "/etc",
            str(tmp_path),
            str(tmp_path / "shared"),
            str(tmp_path / "shared"),  # the link, followed
            str(home / "brew"),  # `~` expanded
            str(tmp_path / "shared"),
        ]
        assert refused[0].startswith(f"{root / 'd5e.toml'}: packPaths: /etc {said}")
        assert "trustedPackFolders" in refused[0]
    finally:
        campaign.close()
    # the user trusts a folder (the editor's settings, or D5E_TRUSTED_PACK_FOLDERS): its
    # packs may come; `..`, `/etc` and the home folder's brew still may not
    monkeypatch.setenv("D5E_TRUSTED_PACK_FOLDERS", str(tmp_path / "shared"))
    trusted = App(build({"db": str(db_path)}, from_env(), workspace.layer(root)))
    trusted.start()
    try:
        assert pack_entries(trusted.conn, "shared") == 1
        assert not queries.pack_origin(trusted.conn, "home-brew")
        assert len([w for w in trusted.library.warnings if said in w]) == 3
    finally:
        trusted.close()


def test_a_workspace_pack_is_off_in_other_profiles(db_path: Path, tmp_path: Path) -> None:
    """A pack a campaign's packPaths brings is on in that campaign only: it was on at priority
    9 in every other profile (the user's default, another campaign's), where its new entries
    were found and completed and the SRD's overrides of it were reported."""
    root = tmp_path / "campaign"
    brew = {"spells/b.json": SPELL, "spells/c.json": '{"name": "Cinder Step", "level": 2}'}
    write_pack(root / "brew", brew, manifest("loud", 1_000_000))
    (root / "d5e.toml").write_text('packPaths = ["brew"]\n')
    other = tmp_path / "other-campaign"
    other.mkdir()
    (other / "d5e.toml").write_text('edition = "2024"\n')
    campaign = workspace_app(db_path, root)
    try:
        assert winner(campaign, "spells/magic-missile") == ("loud", 1_000_000)  # its own profile
        assert winner(campaign, "spells/cinder-step") == ("loud", 1_000_000)
    finally:
        campaign.close()
    # the user's default profile, another profile, another campaign
    for start in (
        lambda: make_app(db_path),
        lambda: make_app(db_path, profile="other"),
        lambda: workspace_app(db_path, other),
    ):
        user = start()
        try:
            found = lookup(user, LookupParams(ref="spells/magic-missile"))
            assert found.entry.pack.startswith("srd-")
            assert "loud" not in [s.pack for s in found.shadowed]
            with pytest.raises(NotFound):
                lookup(user, LookupParams(name="Cinder Step"))
            info = {i.pack.id: i for i in features.list_packs(user).packs}["loud"]
            assert (info.enabled, info.overrides) == (False, {})
            assert info.off == (
                f"another campaign's packPaths brought it ({root / 'd5e.toml'}): on there only "
                "(d5e packs enable loud turns it on here)"
            )
            listed = features.list_packs(user).packs
            assert not [i.pack.id for i in listed if "loud" in i.overrides]
            # the user may still choose it on purpose: below the SRD, or at a priority given
            run(features.enable(user, PackIdParams(pack="loud")))
            assert winner(user, "spells/cinder-step") == ("loud", packs.FOREIGN_CAP)
            assert winner(user, "spells/magic-missile")[0].startswith("srd-")
            run(features.set_priority(user, SetPriorityParams(pack="loud", priority=99)))
            assert winner(user, "spells/magic-missile") == ("loud", 99)
        finally:
            user.close()
    campaign = workspace_app(db_path, root)  # still its own, as its d5e.toml says
    try:
        assert winner(campaign, "spells/magic-missile") == ("loud", 1_000_000)
    finally:
        campaign.close()
    # a campaign whose own packPaths bring the same pack (a folder the user trusts) has it on
    sharing = tmp_path / "sharing"
    sharing.mkdir()
    (sharing / "d5e.toml").write_text(f'packPaths = ["{root / "brew"}"]\n')
    shared = workspace_app(db_path, sharing, trustedPackFolders=[str(root)])
    try:
        assert winner(shared, "spells/cinder-step") == ("loud", 1_000_000)
    finally:
        shared.close()


def test_the_users_install_makes_a_campaigns_pack_theirs(
    db_path: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A pack campaign-a's packPaths brought stayed campaign-a's when the user then installed the
    same folder themselves (`d5e packs install` outside the campaign, an editor's "Install
    pack…"), so it stayed off everywhere else though the user asked for it; and a Neovim user's
    own `packPaths` pack was the first campaign's that installed it. Both are the user's now: on
    in every profile, and campaign-a's next start (its pack edited meanwhile) does not take it
    back. Through the CLI, two campaigns on one D5E_HOME."""
    home = Path(os.environ["D5E_HOME"])
    home.mkdir(parents=True)
    shutil.copy(db_path, home / "d5e.sqlite3")
    a, b, outside = tmp_path / "campaign-a", tmp_path / "campaign-b", tmp_path / "elsewhere"
    brew = write_pack(a / "brew", {"spells/c.json": '{"name": "Cinder Step"}'}, manifest("ashen"))
    (a / "d5e.toml").write_text('packPaths = ["brew"]\n')
    b.mkdir()
    (b / "d5e.toml").write_text('edition = "2014"\n')
    outside.mkdir()

    def found(folder: Path, ref: str = "spells/cinder-step") -> bool:
        monkeypatch.chdir(folder)
        code = cli_main(["lookup", ref])
        capsys.readouterr()
        return code == 0

    assert [found(a), found(b), found(outside)] == [True, False, False]  # campaign-a's
    monkeypatch.chdir(outside)
    assert cli_main(["packs", "install", str(brew)]) == 0
    assert capsys.readouterr().out == (
        "ashen: unchanged (1 entry); now yours, on in every profile (a campaign's packPaths "
        f"had brought it, on there only: {a / 'd5e.toml'})\n"
    )
    assert cli_main(["packs", "install", str(brew)]) == 0  # once: it was yours already
    assert capsys.readouterr().out == "ashen: unchanged (1 entry)\n"
    assert [found(outside), found(b)] == [True, True]  # the user's now
    (brew / "spells" / "d.json").write_text('{"name": "Dusk Ward"}')
    assert found(a, "spells/dusk-ward")  # campaign-a starts again and reads the edit
    assert [found(outside, "spells/dusk-ward"), found(b, "spells/dusk-ward")] == [True, True]

    # the editor's own packPaths (Neovim's settings) are the user's wherever they are installed
    mine = write_pack(tmp_path / "mine", {"spells/m.json": '{"name": "Mine"}'}, manifest("mine"))
    editor = workspace_app(home / "d5e.sqlite3", a, packPaths=[str(mine)])
    try:
        assert winner(editor, "spells/mine")[0] == "mine"
    finally:
        editor.close()
    assert [found(outside, "spells/mine"), found(b, "spells/mine")] == [True, True]


def test_an_editors_install_pack_makes_it_the_users_in_a_running_campaign(
    db_path: Path, tmp_path: Path
) -> None:
    """The editor's "Install pack…" (JSON-RPC `d5e/packs/install`, the user's daemon) of a
    folder campaign-a's packPaths brought: campaign-b's daemon, running beside it, follows and
    finds its entries (it stayed off there, the pack still campaign-a's)."""
    a, b = tmp_path / "campaign-a", tmp_path / "campaign-b"
    brew = write_pack(a / "brew", {"spells/c.json": '{"name": "Cinder Step"}'}, manifest("ashen"))
    (a / "d5e.toml").write_text('packPaths = ["brew"]\n')
    b.mkdir()
    (b / "d5e.toml").write_text('edition = "2014"\n')
    workspace_app(db_path, a).close()
    with Daemon(db_path) as mine, Daemon(db_path) as theirs:
        mine.initialize()
        theirs.request("initialize", {"processId": None, "capabilities": {}, "rootUri": b.as_uri()})
        theirs.send("initialized", {}, notify=True)
        with pytest.raises(RpcError):
            theirs.request("d5e/lookup", {"ref": "spells/cinder-step"})
        result = mine.request("d5e/packs/install", {"path": str(brew)})
        assert (result["action"], result["adopted"]) == ("unchanged", True)
        assert result["adoptedFrom"] == str(a / "d5e.toml")
        deadline = time.monotonic() + 30
        while True:
            try:
                found = theirs.request("d5e/lookup", {"ref": "spells/cinder-step"})
                break
            except RpcError:
                assert time.monotonic() < deadline, "campaign-b never found the user's pack"
                time.sleep(0.2)
        assert found["entry"]["pack"] == "ashen"


# -- profiles -------------------------------------------------------------------------------------


def test_a_workspace_cannot_use_the_default_profile(db_path: Path, tmp_path: Path) -> None:
    root = tmp_path / "evil"
    root.mkdir()
    (root / "d5e.toml").write_text('profile = "default"\ndisabled = ["srd-2014"]\n')
    campaign = workspace_app(db_path, root)
    try:
        assert campaign.profile == workspace.profile_name(root)
        assert any("profile 'default' belongs to the user" in w for w in campaign.library.warnings)
    finally:
        campaign.close()
    user = make_app(db_path)
    try:
        assert winner(user, "spells/fireball") == ("srd-2014", 10)
    finally:
        user.close()


def test_a_workspace_cannot_use_another_workspaces_profile(db_path: Path, tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    for root in (first, second):
        root.mkdir()
    (first / "d5e.toml").write_text('profile = "strahd"\nedition = "2024"\n')
    (second / "d5e.toml").write_text('profile = "strahd"\ndisabled = ["srd-2014", "srd-2024"]\n')
    a = workspace_app(db_path, first)
    a.close()
    b = workspace_app(db_path, second)
    try:
        assert b.profile == workspace.profile_name(second)
        assert any(f"belongs to the workspace {first.resolve()}" in w for w in b.library.warnings)
    finally:
        b.close()
    a = workspace_app(db_path, first)  # the first one keeps its profile as it made it
    try:
        assert (a.profile, a.library.warnings) == ("strahd", [])
        assert winner(a, "conditions/prone") == ("srd-2024", 20)
    finally:
        a.close()


PROFILE_WORDS = "d5e.toml:1:11: profile: Expected lower-case letters, digits and '-', up to 64"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("p" * 1_000_000, PROFILE_WORDS),
        ("p" * 65, PROFILE_WORDS),
        ("Strahd Campaign", PROFILE_WORDS),
    ],
)
def test_profile_names_are_capped(tmp_path: Path, name: str, message: str) -> None:
    (tmp_path / "d5e.toml").write_text(f'profile = "{name}"\n')
    with pytest.raises(InvalidParams, match=message):
        workspace.layer(tmp_path)
    with pytest.raises(InvalidParams, match="profile"):
        build({"profile": name})


def test_a_folder_profile_name_fits_the_cap(tmp_path: Path) -> None:
    root = tmp_path / ("campaign-" * 20)
    root.mkdir()
    name = workspace.profile_name(root)
    assert len(name) <= 64 and build({"profile": name}).profile == name


def test_a_long_profile_name_over_the_wire_leaves_the_database_small(
    db_path: Path, tmp_path: Path
) -> None:
    """The black-box reproduction: 1,000,000 characters of profile name in a d5e.toml made the
    database 4.7 GB. Now initialize answers (within the request's timeout: speed is measured by
    bench/, not by a test), with the folder's own profile (a broken d5e.toml no longer refuses
    the start), the file:line among the warnings, and writes no such name."""
    (tmp_path / "d5e.toml").write_text(f'profile = "{"p" * 1_000_000}"\n')
    size = os.path.getsize(db_path)
    with Daemon(db_path) as d:
        d.request(
            "initialize",
            {"processId": None, "capabilities": {}, "rootUri": tmp_path.as_uri()},
            timeout=60,
        )
        status = d.request("d5e/status")
    assert status["profile"] == workspace.profile_name(tmp_path)
    said = f"settings not applied: {tmp_path / 'd5e.toml'}:1:11: profile"
    assert any(w.startswith(said) for w in status["warnings"]), status["warnings"]
    assert os.path.getsize(db_path) <= size + 1_000_000


@pytest.mark.slow
def test_two_daemons_two_workspaces(indexed_db: Path, tmp_path: Path) -> None:
    """The user's daemon (default profile) keeps the SRD on while a daemon in a campaign whose
    d5e.toml names the default profile and disables the SRD runs beside it."""
    evil = tmp_path / "evil"
    evil.mkdir()
    (evil / "d5e.toml").write_text('profile = "default"\ndisabled = ["srd-2014"]\n')
    with Daemon(indexed_db) as mine, Daemon(indexed_db) as theirs:
        mine.initialize()
        theirs.request(
            "initialize", {"processId": None, "capabilities": {}, "rootUri": evil.as_uri()}
        )
        theirs.send("initialized", {}, notify=True)
        status = theirs.request("d5e/status")
        assert status["profile"] == workspace.profile_name(evil)
        assert any("belongs to the user" in w for w in status["warnings"])
        with pytest.raises(RpcError):
            theirs.request("d5e/lookup", {"ref": "spells/fireball"})  # off in its own profile
        time.sleep(2.5)  # longer than the daemons' check for changes by other processes
        assert mine.request("d5e/lookup", {"ref": "spells/fireball"})["entry"]["pack"] == (
            "srd-2014"
        )
        # nor can it turn the SRD off in the default profile by command: it has its own
        theirs.request("d5e/packs/disable", {"pack": "srd-2014"})
        time.sleep(2.5)
        assert mine.request("d5e/lookup", {"ref": "spells/fireball"})["entry"]["pack"] == (
            "srd-2014"
        )


def test_a_profile_name_is_stored_once(db_path: Path, tmp_path: Path) -> None:
    """Profiles are keyed by an integer id: the longest name a workspace may give is written
    once, in `profile`, not in each of the thousands of winners and their index."""
    name = "p" * 64
    root = tmp_path / "campaign"
    root.mkdir()
    (root / "d5e.toml").write_text(f'profile = "{name}"\n')
    app = workspace_app(db_path, root)
    try:
        assert app.profile == name
        conn = app.conn
        assert queries.resolved_count(conn, name) > 2000
        found = []
        tables = [
            t for (t,) in conn.execute("SELECT name FROM pragma_table_list WHERE type = 'table'")
        ]
        for table in tables:
            if table.startswith("sqlite_"):
                continue
            for column in [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]:
                hits = conn.execute(
                    f"SELECT count(*) FROM {table} WHERE instr({column}, ?) > 0",
                    (name,),
                ).fetchone()[0]
                if hits:
                    found.append((table, column, hits))
        assert found == [("profile", "name", 1)]
    finally:
        app.close()


def test_a_workspace_pack_is_read_again_only_when_its_files_changed(
    db_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each start installs the workspace's `packPaths`; one whose files are as they were read
    (their stamp) is not parsed again to be found unchanged, unless a built-in pack changed at
    that start (what it extends may have)."""
    read: list[Path] = []
    real_load = Library.load_path

    def counting(library: Library, path: Path) -> Any:
        read.append(path)
        return real_load(library, path)

    monkeypatch.setattr(Library, "load_path", counting)
    root = tmp_path / "campaign"
    brew = write_pack(root / "brew", {"spells/b.json": SPELL}, manifest("brew"))
    (root / "d5e.toml").write_text('packPaths = ["brew"]\n')

    def start() -> str:
        app = workspace_app(db_path, root)
        try:
            return (
                winner(app, "spells/magic-missile")[0]
                + " "
                + str(
                    lookup(app, LookupParams(ref="brew:spells/magic-missile")).entry.data["level"]
                )
            )
        finally:
            app.close()

    # A file written within RACY_NS of a read is read again (an edit during the read may share
    # its time stamp): the writer here is done a moment before each start, as a user would be.
    settle = packfiles.RACY_NS / 1e9 + 0.01
    time.sleep(settle)
    assert (start(), len(read)) == ("brew 9", 1)
    assert (start(), len(read)) == ("brew 9", 1)  # as it was: not read again
    (brew / "spells" / "b.json").write_text(SPELL.replace('"level": 9', '"level": 8'))
    time.sleep(settle)
    assert (start(), len(read)) == ("brew 8", 2)  # edited while no daemon watched
    assert (start(), len(read)) == ("brew 8", 2)
    upgraded = [packs.InstallResult("srd-2014", "upgraded", 1)]
    monkeypatch.setattr(Library, "install_builtin_packs", lambda library: upgraded)
    assert (start(), len(read)) == ("brew 8", 3)  # a built-in pack changed: read again
