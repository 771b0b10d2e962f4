"""Search through the daemon over real stdio (pytest-lsp): background indexing with work-done
progress, d5e/search, d5e/search/filters, d5e/status, errors. The daemons here use the fake
embedder (see conftest.py); tests/test_embed.py runs the real model."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import apsw
import pytest
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from d5e_daemon.app import App
from d5e_daemon.client import Daemon

from .conftest import _client, server_command
from .test_server_e2e import call, error_of


async def start(db_path: Path, progress: bool) -> LanguageClient:
    client: LanguageClient = await ClientServerConfig(  # type: ignore[assignment]
        server_command=server_command(db_path), client_factory=_client
    ).start()
    window = types.WindowClientCapabilities(work_done_progress=progress)
    await client.initialize_session(
        types.InitializeParams(capabilities=types.ClientCapabilities(window=window))
    )
    return client


async def wait_until_indexed(client: LanguageClient, timeout: float = 120) -> dict[str, Any]:
    async def ready() -> dict[str, Any]:
        while True:
            index: dict[str, Any] = (await call(client, "d5e/status", None))["index"]
            if index["ready"] and not index["running"]:
                return index
            await asyncio.sleep(0.2)

    return await asyncio.wait_for(ready(), timeout)


@pytest.mark.slow
async def test_the_daemon_indexes_in_the_background_and_reports_progress(
    db_path: Path,
) -> None:
    client = await start(db_path, progress=True)
    try:
        # answered at once, while the index is being built
        first = await call(client, "d5e/lookup", {"name": "fireball"})
        assert first["entry"]["ref"] == "spells/fireball"
        early = await call(client, "d5e/search", {"query": "fireball", "limit": 3})
        assert early["hits"][0]["ref"] == "spells/fireball"

        index = await wait_until_indexed(client)
        assert index["indexed"] == index["entries"] > 1500
        assert index["model"] == "fake-bow-384" and index["modelLoaded"]

        (token,) = list(client.progress_reports)
        reports = client.progress_reports[token]

        async def ended() -> None:  # `end` may arrive just after the status that says ready
            while not isinstance(reports[-1], types.WorkDoneProgressEnd):
                await asyncio.sleep(0.05)

        await asyncio.wait_for(ended(), 10)
        assert isinstance(reports[0], types.WorkDoneProgressBegin)
        assert "index" in reports[0].title
        assert isinstance(reports[-1], types.WorkDoneProgressEnd)
        assert f"{index['entries']} of {index['entries']}" in (reports[-1].message or "")
        percentages = [r.percentage for r in reports[:-1] if r.percentage is not None]
        assert percentages == sorted(percentages) and percentages[-1] == 100

        result = await call(client, "d5e/search", {"query": "fireball", "limit": 3})
        assert result["semantic"] is True
        hit = result["hits"][0]
        assert hit["ref"] == "spells/fireball"
        assert set(hit) == {"ref", "pack", "name", "collection", "score", "snippet"}
        asked = {"query": "fire explosion", "limit": 3, "explain": True}
        for hit in (await call(client, "d5e/search", asked))["hits"]:
            why = hit["explain"]
            # the passage that placed the hit is one of its entry's (a lead passage is its first
            # paragraph alone, without the name: "Hurl a mote of fire…" for Fire Bolt)
            assert why["vector"] is not None and why["passage"] in passages_of(db_path, hit)
            assert "coverage" in why["boosts"] or why["keyword"] is None
    finally:
        await client.shutdown_session()
        await client.stop()


def passages_of(db_path: Path, hit: dict[str, Any]) -> list[str]:
    """The passages stored for a hit's entry (read beside the running daemon)."""
    collection, slug = hit["ref"].split("/")
    conn = apsw.Connection(str(db_path), flags=apsw.SQLITE_OPEN_READONLY)
    try:
        rows = conn.execute(
            "SELECT p.text FROM passage p JOIN entry e ON e.id = p.entry_id"
            " WHERE e.pack_id = ? AND e.collection = ? AND e.slug = ? ORDER BY p.ord",
            (hit["pack"], collection, slug),
        ).fetchall()
    finally:
        conn.close()
    return [text for (text,) in rows]


async def test_search_filters_and_errors_over_the_wire(db_path: Path) -> None:
    client = await start(db_path, progress=False)
    try:
        listed = await call(
            client, "d5e/search", {"query": "", "filters": {"cr": {"min": 5, "max": 8},
                                                            "type": "undead"}}
        )  # fmt: skip
        assert [h["name"] for h in listed["hits"]] == ["Vampire Spawn", "Wraith"]
        assert listed["semantic"] is False

        filters = await call(client, "d5e/search/filters", {"collections": ["spells"]})
        names = {f["name"]: f for f in filters["filters"]}
        assert "evocation" in names["school"]["values"] and names["level"]["type"] == "number"

        err = await error_of(client, "d5e/search", {"query": "x", "filters": {"lvl": 1}})
        assert err.code == -32602 and "lvl" in err.message
        err = await error_of(client, "d5e/search", {"query": "x" * 100_000})
        assert err.code == -32602 and "$.query" in err.message
        err = await error_of(client, "d5e/search", {"query": ""})
        assert err.code == -32602 and "empty query" in err.message
        err = await error_of(client, "d5e/search", {"query": "x", "limit": 0})
        assert err.code == -32602 and "$.limit" in err.message

        await wait_until_indexed(client)
        assert client.progress_reports == {}  # the client did not ask for progress
        result = await call(client, "d5e/search", {"query": "fire", "mode": "semantic"})
        assert result["semantic"] is True and result["hits"]
        # pages are slices of one ranking (tests/test_search.py: every mode and size)
        asked = {"query": "fire damage", "limit": 60}
        refs = [h["ref"] for h in (await call(client, "d5e/search", asked))["hits"]]
        paged = []
        for offset in (0, 20, 40):
            page = await call(client, "d5e/search", asked | {"limit": 20, "offset": offset})
            paged += [h["ref"] for h in page["hits"]]
        assert paged == refs and len(set(refs)) == 60
        past = await call(client, "d5e/search", asked | {"offset": 10_000, "limit": 500})
        assert past["hits"] == []
        err = await error_of(client, "d5e/search", {"query": "x", "limit": 501})
        assert err.code == -32602 and "$.limit" in err.message
    finally:
        await client.shutdown_session()
        await client.stop()


def test_initialize_leaves_the_filter_attributes_to_later_and_a_search_waits_for_them(
    db_path: Path, app: App
) -> None:
    """A first start on a database (the SRD installed, no filter attributes or keyword texts
    yet): `initialize` is answered without them, completion needs none, and a search made before
    the indexer starts (`initialized`) waits for them, made in a worker thread."""
    assert not app.search.attributes_current()
    with Daemon(db_path) as daemon:
        daemon.initialize({}, initialized=False)
        assert not app.search.attributes_current(), "initialize made the attributes"
        items = daemon.request("d5e/complete", {"prefix": "firebal"})["items"]
        assert items[0]["name"] == "Fireball"
        third = {"level": 3, "school": "evocation"}
        found = daemon.request(
            "d5e/search", {"query": "", "collections": ["spells"], "filters": third}
        )
        assert "Fireball" in {hit["name"] for hit in found["hits"]}
        assert app.search.attributes_current()
        filters = daemon.request("d5e/search/filters", {"collections": ["spells"]})
        assert "evocation" in next(f for f in filters["filters"] if f["name"] == "school")["values"]
