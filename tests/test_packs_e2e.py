"""`d5e/packs/*` over real stdio (pytest-lsp): management, notifications, errors, installs that
do not block lookups, live reload (watcher and didChangeWatchedFiles), a workspace d5e.toml."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from .conftest import REPO, start_client
from .packtools import write_pack
from .test_server_e2e import call, error_of

EXAMPLE = REPO / "examples" / "ashen-hills"


def collect(client: LanguageClient, method: str = "d5e/packsChanged") -> list[Any]:
    """Every notification `method` the daemon sends from now on, in order."""
    seen: list[Any] = []

    @client.feature(method)
    def record(ls: LanguageClient, params: Any) -> None:
        seen.append(params)

    return seen


async def until(check: Any, seconds: float = 10.0) -> Any:
    """Poll `check()` (a coroutine function) until it returns something truthy."""
    for _ in range(int(seconds / 0.05)):
        result = await check()
        if result:
            return result
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


async def stop(client: LanguageClient) -> None:
    await client.shutdown_session()
    await client.stop()


async def test_pack_management_over_json_rpc(db_path: Path, tmp_path: Path) -> None:
    client = await start_client(db_path)
    changed = collect(client)
    try:
        pack = shutil.copytree(EXAMPLE, tmp_path / "ashen-hills")
        report = await call(client, "d5e/packs/validate", {"path": str(pack)})
        assert (report["ok"], report["entries"], report["problems"]) == (True, 6, [])

        result = await call(client, "d5e/packs/install", {"path": str(pack)})
        assert (result["pack"], result["action"], result["entries"]) == (
            "ashen-hills",
            "installed",
            6,
        )
        await until(lambda: asyncio.sleep(0, changed))
        assert changed[0]["packs"] == ["ashen-hills"]

        listed = await call(client, "d5e/packs/list", {})
        info = next(p for p in listed["packs"] if p["pack"]["id"] == "ashen-hills")
        assert (info["enabled"], info["priority"], info["kind"], info["entries"]) == (
            True,
            50,
            "folder",
            6,
        )
        goblin = await call(client, "d5e/lookup", {"ref": "monsters/goblin"})
        assert goblin["entry"]["pack"] == "ashen-hills"
        assert goblin["entry"]["extends"] == "srd-2014:monsters/goblin"

        params = {"pack": "ashen-hills", "priority": 1, "collection": "monsters"}
        result = await call(client, "d5e/packs/setPriority", params)
        assert result["info"]["collectionPriorities"] == {"monsters": 1}
        goblin = await call(client, "d5e/lookup", {"ref": "monsters/goblin"})
        assert goblin["entry"]["pack"] == "srd-2014"
        assert [(s["pack"], s["priority"]) for s in goblin["shadowed"]] == [("ashen-hills", 1)]
        spell = await call(client, "d5e/lookup", {"ref": "spells/cinder-step"})
        assert spell["entry"]["priority"] == 50

        await call(client, "d5e/packs/disable", {"pack": "ashen-hills"})
        missing = await error_of(client, "d5e/lookup", {"ref": "spells/cinder-step"})
        assert missing.code == -32001
        await call(client, "d5e/packs/enable", {"pack": "ashen-hills"})
        assert (await call(client, "d5e/lookup", {"ref": "spells/cinder-step"}))["entry"]

        removed = await call(client, "d5e/packs/remove", {"pack": "ashen-hills"})
        assert removed == {"pack": "ashen-hills", "entries": 6}
        await until(lambda: asyncio.sleep(0, len(changed) >= 5))
        assert [c["packs"] for c in changed][-1] == ["ashen-hills"]
    finally:
        await stop(client)


async def test_pack_errors_carry_their_problems(db_path: Path, tmp_path: Path) -> None:
    client = await start_client(db_path)
    try:
        root = write_pack(tmp_path / "brew", {"spells/a.json": '{"name": "A", "level": -1}'})
        error = await error_of(client, "d5e/packs/install", {"path": str(root)})
        assert error.code == -32002
        assert error.data["problems"] == [
            {
                "file": f"{root}/spells/a.json",
                "line": 1,
                "column": 24,
                "field": "level",
                "message": "Expected `int` >= 0",
                "severity": "error",
            }
        ]
        report = await call(client, "d5e/packs/validate", {"path": str(root)})
        assert report["ok"] is False and report["problems"] == error.data["problems"]
        # a folder no pack.toml names is called by its path (it was "pack pack" for `/`; an
        # empty folder of the test's own: `/` holds whatever the machine holds)
        (tmp_path / "nowhere").mkdir()
        nowhere = await error_of(client, "d5e/packs/install", {"path": str(tmp_path / "nowhere")})
        assert nowhere.code == -32002
        assert nowhere.message.startswith(
            f"the folder at {tmp_path / 'nowhere'} has 1 problem; nothing was installed"
        )

        for params, path in [
            ({"path": str(root), "id": "x"}, "$"),
            ({"pack": "brew", "priority": "high"}, "$.priority"),
            ({"pack": "brew"}, "$"),
        ]:
            method = "d5e/packs/setPriority" if "pack" in params else "d5e/packs/install"
            bad = await error_of(client, method, params)
            assert bad.code == -32602 and bad.data["path"] == path, (params, bad.message)
        not_there = await error_of(client, "d5e/packs/enable", {"pack": "nope"})
        assert not_there.code == -32002 and "not installed" in not_there.message
        # and the daemon goes on
        assert (await call(client, "d5e/lookup", {"ref": "spells/fireball"}))["entry"]
    finally:
        await stop(client)


async def test_an_install_does_not_block_lookups(db_path: Path, tmp_path: Path) -> None:
    files = {
        f"spells/batch-{b}.json": json.dumps(
            [{"name": f"Spell {b}-{i}", "level": i % 10, "desc": "x " * 200} for i in range(500)]
        )
        for b in range(8)
    }
    root = write_pack(tmp_path / "big", files)
    client = await start_client(db_path)
    try:
        order: list[str] = []

        async def install() -> None:
            await call(client, "d5e/packs/install", {"path": str(root)})
            order.append("install")

        async def lookups() -> None:
            for _ in range(5):
                await call(client, "d5e/lookup", {"ref": "spells/fireball"})
                order.append("lookup")

        await asyncio.gather(install(), lookups())
        assert order.index("install") > order.index("lookup"), order
        assert order.count("lookup") == 5
        found = await call(client, "d5e/lookup", {"name": "Spell 7-499"})
        assert found["entry"]["pack"] == "brew"
    finally:
        await stop(client)


async def test_a_saved_edit_is_picked_up_by_the_watcher(db_path: Path, tmp_path: Path) -> None:
    pack = shutil.copytree(EXAMPLE, tmp_path / "ashen-hills")
    client = await start_client(db_path)
    changed = collect(client)
    try:
        await call(client, "d5e/packs/install", {"path": str(pack)})
        spell = pack / "spells" / "cinder-step.md"
        spell.write_text(spell.read_text().replace("level: 2", "level: 5"))

        async def level() -> bool:
            entry = (await call(client, "d5e/lookup", {"ref": "spells/cinder-step"}))["entry"]
            return bool(entry["data"]["level"] == 5)

        await until(level)
        await until(lambda: asyncio.sleep(0, len(changed) >= 2))
        assert changed[-1]["packs"] == ["ashen-hills"]

        # a broken save keeps the last good version, and the fix is picked up again
        spell.write_text("---\nname: Cinder Step\nlevel: banana\n---\n")
        await asyncio.sleep(0.5)
        entry = (await call(client, "d5e/lookup", {"ref": "spells/cinder-step"}))["entry"]
        assert entry["data"]["level"] == 5
        status = await call(client, "d5e/status", None)
        assert any("level: Expected `int`" in w for w in status["warnings"])
        spell.write_text("---\nname: Cinder Step\nlevel: 6\n---\n")

        async def fixed() -> bool:
            entry = (await call(client, "d5e/lookup", {"ref": "spells/cinder-step"}))["entry"]
            return bool(entry["data"]["level"] == 6)

        await until(fixed)
    finally:
        await stop(client)


async def test_did_change_watched_files_reloads_a_pack(db_path: Path, tmp_path: Path) -> None:
    pack = shutil.copytree(EXAMPLE, tmp_path / "ashen-hills")
    client = await start_client(db_path, {"watch": False})
    try:
        await call(client, "d5e/packs/install", {"path": str(pack)})
        item = pack / "magic-items" / "items.json"
        item.write_text(item.read_text().replace('"Rare"', '"Very Rare"'))
        await asyncio.sleep(0.3)  # without the notification, nothing happens
        boots = await call(client, "d5e/lookup", {"ref": "magic-items/ashwalker-boots"})
        assert boots["entry"]["data"]["rarity"]["name"] == "Rare"
        client.workspace_did_change_watched_files(
            types.DidChangeWatchedFilesParams(
                changes=[types.FileEvent(uri=item.as_uri(), type=types.FileChangeType.Changed)]
            )
        )

        async def very_rare() -> bool:
            found = await call(client, "d5e/lookup", {"ref": "magic-items/ashwalker-boots"})
            return bool(found["entry"]["data"]["rarity"]["name"] == "Very Rare")

        await until(very_rare)
    finally:
        await stop(client)


async def test_a_workspace_brings_its_profile_and_packs(db_path: Path, tmp_path: Path) -> None:
    root = tmp_path / "strahd"
    shutil.copytree(EXAMPLE, root / "homebrew")
    (root / "d5e.toml").write_text(
        'profile = "strahd"\nedition = "2024"\npackPaths = ["homebrew"]\n'
        "\n[packs]\nashen-hills = 15\n"
    )
    client = await start_client(db_path, root=root)
    try:
        status = await call(client, "d5e/status", None)
        assert (status["profile"], status["edition"]) == ("strahd", "2024")
        goblin = await call(client, "d5e/lookup", {"ref": "monsters/goblin"})
        assert (goblin["entry"]["pack"], goblin["entry"]["priority"]) == ("ashen-hills", 15)
        # removing it would not last (packPaths installs it again at the next start): refused
        refused = await error_of(client, "d5e/packs/remove", {"pack": "ashen-hills"})
        assert str(refused.message).startswith(
            f"{root / 'd5e.toml'}:3: pack ashen-hills is not removed: this packPaths entry"
        )
        goblin = await call(client, "d5e/lookup", {"ref": "monsters/goblin"})
        assert goblin["entry"]["pack"] == "ashen-hills"
        # editing d5e.toml (as the editor reports it) applies the new settings
        (root / "d5e.toml").write_text(
            'profile = "strahd"\nedition = "2014"\ndisabled = ["ashen-hills"]\n'
        )
        client.workspace_did_change_watched_files(
            types.DidChangeWatchedFilesParams(
                changes=[
                    types.FileEvent(
                        uri=(root / "d5e.toml").as_uri(), type=types.FileChangeType.Changed
                    )
                ]
            )
        )

        async def srd() -> bool:
            found = await call(client, "d5e/lookup", {"ref": "monsters/goblin"})
            return bool(found["entry"]["pack"] == "srd-2014")

        await until(srd)
    finally:
        await stop(client)


async def test_a_broken_d5e_toml_starts_with_defaults_and_applies_once_fixed(
    db_path: Path, tmp_path: Path
) -> None:
    """A d5e.toml that is no TOML at start: initialize was refused (-32602), so the editor had
    no language server until a restart. Now the daemon starts with the defaults for what the
    file sets, the writer is shown the file, line and column and which settings are at their
    defaults, and saving the fixed file applies it (as a live change always did)."""
    root = tmp_path / "strahd"
    shutil.copytree(EXAMPLE, root / "homebrew")
    config = root / "d5e.toml"
    config.write_text('edition = "2024"\npackPaths = ["homebrew"\n')
    client = await start_client(db_path, root=root)
    try:

        async def shown() -> list[str]:
            return [str(getattr(m, "message", m)) for m in client.messages]

        said = await until(shown)
        assert len(said) == 1 and said[0].startswith(f"d5e: settings not applied: {config}:3:1:")
        assert "(none of it applied: defaults for edition, packPaths)" in said[0]
        status = await call(client, "d5e/status", None)
        assert status["edition"] == "2014"
        assert said[0].removeprefix("d5e: ") in status["warnings"]
        lookup = await call(client, "d5e/lookup", {"ref": "conditions/prone"})
        assert lookup["entry"]["pack"] == "srd-2014"
        fixed = 'edition = "2024"\npackPaths = ["homebrew"]\n[packs]\nashen-hills = 15\n'
        config.write_text(fixed)  # fixed and saved
        client.workspace_did_change_watched_files(
            types.DidChangeWatchedFilesParams(
                changes=[types.FileEvent(uri=config.as_uri(), type=types.FileChangeType.Changed)]
            )
        )

        async def applied() -> bool:
            goblin = await call(client, "d5e/lookup", {"ref": "monsters/goblin"})
            return bool(goblin["entry"]["pack"] == "ashen-hills")

        await until(applied)
        status = await call(client, "d5e/status", None)
        assert status["edition"] == "2024"
        assert not [w for w in status["warnings"] if "settings not applied" in w]
    finally:
        await stop(client)


async def test_a_folder_inside_a_campaign_is_the_campaigns(db_path: Path, tmp_path: Path) -> None:
    """An editor opened on the campaign's chapters/ (VS Code's File > Open Folder, Emacs' eglot
    in a folder without version control): the campaign's d5e.toml, above it, applies, as it does
    for `d5e check` run there. It applied none: profile "chapters-…", edition 2014."""
    root = tmp_path / "strahd"
    (root / "chapters").mkdir(parents=True)
    (root / "d5e.toml").write_text('profile = "strahd"\nedition = "2024"\n')
    client = await start_client(db_path, root=root / "chapters")
    try:
        status = await call(client, "d5e/status", None)
        assert (status["profile"], status["edition"]) == ("strahd", "2024")
    finally:
        await stop(client)


@pytest.mark.parametrize("replace", [False, True])
async def test_create_then_upload(db_path: Path, tmp_path: Path, replace: bool) -> None:
    client = await start_client(db_path, root=tmp_path)
    try:
        created = await call(client, "d5e/packs/create", {"id": "table-brew", "title": "Table"})
        folder = Path(created["path"])
        assert folder == (tmp_path / "packs" / "table-brew").resolve()
        assert created["install"]["action"] == "installed"
        entries = [{"name": "Mire Hag", "challenge_rating": 3, "size": "Medium", "type": "fey"}]
        params = {"pack": "table-brew", "collection": "monsters", "entries": entries}
        result = await call(client, "d5e/packs/upload", {**params, "replace": replace})
        assert result["written"] == [str(folder / "monsters" / "mire-hag.json")]
        hag = await call(client, "d5e/lookup", {"name": "mire hag"})
        assert hag["entry"]["source"]["path"] == str(folder / "monsters" / "mire-hag.json")
        assert "*Medium fey*" in hag["markdown"]
        spells = {"pack": "table-brew", "collection": "spells", "replace": replace}
        result = await call(client, "d5e/packs/upload", {**spells, "entries": [{"name": "Bog"}]})
        if replace:  # the collection is exactly what was uploaded: the example spell is gone
            assert result["removed"] == [str(folder / "spells" / "table-brew-ember-lance.md")]
        else:
            assert result["removed"] == []
        bad = await error_of(
            client, "d5e/packs/upload", {**spells, "entries": [{"name": "X", "level": 99}]}
        )
        assert bad.code == -32002 and bad.data["problems"][0]["field"] == "level"
    finally:
        await stop(client)
