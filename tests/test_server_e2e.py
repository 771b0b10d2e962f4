"""The daemon over real stdio, driven by pytest-lsp: lifecycle, lookup, complete, status, errors."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import apsw
import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import ClientServerConfig, LanguageClient

from d5e_daemon import __version__
from d5e_daemon.client import Daemon

from .conftest import _client, server_command, start_client
from .test_limits import big_pack


async def call(client: LanguageClient, method: str, params: Any) -> Any:
    return await client.protocol.send_request_async(method, params)


async def error_of(client: LanguageClient, method: str, params: Any) -> JsonRpcException:
    with pytest.raises(JsonRpcException) as caught:
        await call(client, method, params)
    return caught.value


async def test_initialize_shutdown_exit(db_path: Path) -> None:
    client: LanguageClient = await ClientServerConfig(  # type: ignore[assignment]
        server_command=server_command(db_path), client_factory=_client
    ).start()
    result = await client.initialize_session(
        types.InitializeParams(capabilities=types.ClientCapabilities())
    )
    assert result.server_info is not None
    assert (result.server_info.name, result.server_info.version) == ("d5e", __version__)
    await client.shutdown_session()  # shutdown, then exit; waits for the process to end
    assert client._server is not None and client._server.returncode == 0
    await client.stop()


async def test_lookup_complete_status(lsp: LanguageClient, indexed_db: Path) -> None:
    result = await call(lsp, "d5e/lookup", {"ref": "spells/fireball"})
    assert result["entry"]["ref"] == "spells/fireball"
    assert result["entry"]["pack"] == "srd-2014"
    assert result["entry"]["qualifiedRef"] == "srd-2014:spells/fireball"
    assert result["packInfo"]["license"] == "CC-BY-4.0"
    assert "Fireball" in result["markdown"]

    by_name = await call(lsp, "d5e/lookup", {"name": "HUNTERS MARK"})
    assert by_name["entry"]["ref"] == "spells/hunters-mark"

    items = (await call(lsp, "d5e/complete", {"prefix": "magic misile", "limit": 3}))["items"]
    assert items[0]["name"] == "Magic Missile"
    assert set(items[0]) >= {"ref", "pack", "name", "collection", "detail"}

    status = await call(lsp, "d5e/status", None)
    assert status["database"] == str(indexed_db)
    assert {p["id"]: p["entries"] for p in status["packs"]} == {"srd-2014": 2317, "srd-2024": 1336}


async def test_errors_have_codes_and_paths(lsp: LanguageClient) -> None:
    missing = await error_of(lsp, "d5e/lookup", {"name": "goblinn"})
    assert missing.code == -32001
    assert "srd-2014:monsters/goblin" in missing.data["suggestions"]

    wrong_type = await error_of(lsp, "d5e/complete", {"prefix": "x", "limit": "5"})
    assert wrong_type.code == -32602
    assert "$.limit" in wrong_type.message

    unknown = await error_of(lsp, "d5e/lookup", {"ref": "spells/fireball", "verbose": True})
    assert unknown.code == -32602
    assert "verbose" in unknown.message

    not_an_object = await error_of(lsp, "d5e/lookup", ["spells/fireball"])
    assert not_an_object.code == -32602

    no_method = await error_of(lsp, "d5e/teleport", {})
    assert no_method.code == -32601

    # and the daemon is still fine
    assert (await call(lsp, "d5e/lookup", {"ref": "monsters/goblin"}))["entry"]["name"] == "Goblin"


async def test_hostile_text_never_crashes(lsp: LanguageClient) -> None:
    for text in ['"', "*", "NEAR(", "a OR b", "'; DROP TABLE entry; --", "x" * 1000]:
        await call(lsp, "d5e/complete", {"prefix": text})
    huge = await error_of(lsp, "d5e/lookup", {"name": "x" * 10_240})
    assert huge.code == -32602
    assert (await call(lsp, "d5e/lookup", {"ref": "spells/fireball"}))["entry"][
        "name"
    ] == "Fireball"


async def test_initialization_options_choose_the_edition(db_path: Path) -> None:
    client = await start_client(db_path, {"edition": "2024"})
    try:
        result = await call(client, "d5e/lookup", {"ref": "conditions/grappled"})
        assert result["entry"]["pack"] == "srd-2024"
        assert [s["pack"] for s in result["shadowed"]] == ["srd-2014"]
    finally:
        await client.shutdown_session()
        await client.stop()


async def test_bad_initialization_options_are_an_error_naming_the_field(db_path: Path) -> None:
    client: LanguageClient = await ClientServerConfig(  # type: ignore[assignment]
        server_command=server_command(db_path), client_factory=_client
    ).start()
    client.capabilities = types.ClientCapabilities()  # what initialize_session would record
    try:
        with pytest.raises(JsonRpcException) as caught:
            await client.initialize_async(
                types.InitializeParams(
                    capabilities=types.ClientCapabilities(),
                    initialization_options={"edition": "2019"},
                )
            )
        assert "edition" in caught.value.message
    finally:
        client.exit(None)
        await client.stop()


async def test_concurrent_requests_are_all_answered(lsp: LanguageClient) -> None:
    names = ["Fireball", "Goblin", "Shield", "Wish", "Prone", "Longsword"] * 5
    results = await asyncio.gather(*(call(lsp, "d5e/lookup", {"name": n}) for n in names))
    assert [r["entry"]["name"] for r in results] == names


@pytest.mark.parametrize("after", [0.0, 0.3])
def test_shutdown_while_a_settings_change_installs_packs(
    db_path: Path, tmp_path: Path, after: float
) -> None:
    """A settings change that installs a pack, and the client shuts the daemon down before the
    install is done: the daemon exits 0 and its log holds no "Task exception was never
    retrieved" (the change's task went on against the closed database: ConnectionClosedError,
    or "cannot schedule new futures after shutdown"); the database is whole, and the next
    start with these settings installs the pack."""
    pack = big_pack(tmp_path)
    log = tmp_path / "d5e.log"
    with Daemon(db_path, "--log-file", str(log)) as d:
        d.initialize()
        settings = {"d5e": {"packPaths": [str(pack)]}}
        d.send("workspace/didChangeConfiguration", {"settings": settings}, notify=True)
        time.sleep(after)  # the install under way (0.3 s) or not begun yet (0 s)
    assert d.proc.returncode == 0
    said = log.read_text() if log.exists() else ""
    assert "never retrieved" not in said and "Traceback" not in said, said
    conn = apsw.Connection(str(db_path))
    assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    conn.close()
    with Daemon(db_path) as d:
        d.initialize({"packPaths": [str(pack)]}, initialized=False)
        assert "big" in [p["id"] for p in d.request("d5e/status")["packs"]]
