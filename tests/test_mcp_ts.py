"""`d5e mcp` driven by the TypeScript MCP SDK's client (`@modelcontextprotocol/sdk`, the one
agent frameworks on Node use and the reference for many clients), as tests/test_mcp.py drives it
with the Python SDK's: `make test` installs it (tests/mcp-ts, the way it installs the VS Code
extension's packages). One server process and one Node process: tests/mcp-ts/client.mjs does
every request and prints what it got. The TypeScript client checks each tool's structured result
against the tool's output schema itself (it throws on a mismatch)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow

CLIENT = Path(__file__).parent / "mcp-ts"


def _text(result: dict[str, Any]) -> str:
    text = result["content"][0]["text"]
    assert isinstance(text, str)
    return text


def test_the_typescript_sdks_client_gets_what_the_python_sdks_gets(indexed_db: Path) -> None:
    if not (CLIENT / "node_modules" / ".d5e-key").exists() or shutil.which("node") is None:
        if os.environ.get("CI"):
            pytest.fail("the TypeScript MCP SDK is not installed: `make test` installs it")
        pytest.skip(
            "the TypeScript MCP SDK is not installed (make tests/mcp-ts/node_modules/.d5e-key)"
        )
    env = {**os.environ, "D5E_DB": str(indexed_db), "D5E_EMBEDDER": "fake"}
    server = json.dumps([sys.executable, "-m", "d5e_daemon", "mcp"])
    done = subprocess.run(
        ["node", "client.mjs", server],
        cwd=CLIENT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout)

    assert out["server"]["name"] == "d5e"
    assert out["capabilities"]["resources"]["listChanged"] is True
    assert set(out["tools"]) == {
        "lookup", "search", "filters", "complete", "resolve_tags", "encounter", "packs",
    }  # fmt: skip
    # each tool's title, output schema and annotations, true to what it does: all read only
    # (repeated, the same answer), none destructive, none reaching beyond the user's packs
    for name, described in out["described"].items():
        assert described["title"] and described["output"], name
        assert described["annotations"] == {
            "readOnlyHint": True,
            "destructiveHint": False,
            "idempotentHint": True,
            "openWorldHint": False,
        }, name
    # every tool, its empty answers and its errors, each structured result checked by the
    # client against the tool's output schema (it throws on a mismatch: the run would fail)
    calls = out["calls"]
    errors = {key for key, answer in calls.items() if answer.get("isError")}
    assert errors == {"encounterNone", "badArgument"}, errors
    assert "- at `$.monsters`" in _text(calls["encounterNone"])
    assert "- at `$.mode`" in _text(calls["badArgument"])
    assert calls["completeNone"]["structuredContent"]["items"] == []
    assert calls["searchNone"]["structuredContent"]["hits"] == []
    assert "no pack 'nope' is installed" in _text(calls["searchUnknownPack"])
    assert calls["resolveNone"]["structuredContent"]["tags"] == []
    assert "Fireball" in _text(calls["resolve"]) and "{@creature nosuch}" in _text(calls["resolve"])
    swimmers = [hit["name"] for hit in calls["listing"]["structuredContent"]["hits"]]
    assert "Crocodile" in swimmers and "Ape" not in swimmers  # CR 1/2 beasts that swim
    assert "ask again with offset" in _text(calls["long"])  # 500 hits cut to fit, and said
    assert calls["encounter2024"]["structuredContent"]["rules"] == "2024"
    assert calls["lookupRef"]["structuredContent"]["entry"]["name"] == "Mimic"
    assert {f["name"] for f in calls["filters"]["structuredContent"]["filters"]} >= {"level"}
    assert calls["packs"]["structuredContent"]["packs"]
    assert out["packsResource"]["contents"][0]["mimeType"] == "application/json"
    assert out["card"]["contents"][0]["mimeType"] == "text/markdown"
    assert out["difficulties"]["completion"]["values"] == ["deadly"]
    prompts = {p["name"]: [a["name"] for a in p["arguments"]] for p in out["prompts"]}
    assert prompts == {
        "prepare_encounter": ["party", "theme", "difficulty"],
        "explain_rule": ["question"],
    }
    # a name with an apostrophe (an alias of Arcane Sword), its structured entry checked
    assert not out["lookup"].get("isError"), out["lookup"]
    assert out["lookup"]["structuredContent"]["entry"]["name"] == "Arcane Sword"
    assert _text(out["lookup"]).startswith("## Arcane Sword")
    names = [hit["name"] for hit in out["search"]["structuredContent"]["hits"]]
    assert "Water Breathing" in names and len(names) == 3
    # levels and monsters as one text each, as models write them
    fight = out["encounter"]["structuredContent"]
    assert (fight["difficulty"], fight["adjustedXp"]) == ("deadly", 10800)
    assert out["misspelt"]["isError"] is True
    assert "did you mean srd-2014:spells/fireball" in _text(out["misspelt"])
    # every page of resources/list, by nextCursor
    resources = out["resources"]
    assert resources["first"] == "d5e://packs"
    assert resources["pages"] >= 2 and resources["count"] > 2000
    assert out["card"]["contents"][0]["text"].startswith("## Fireball")
    assert out["templates"] == ["d5e://{pack}/{collection}/{slug}.md"]
    assert "fireball" in out["completion"]["completion"]["values"]
    prompt = out["prompt"]["messages"][0]["content"]["text"]
    assert "How does grappling work?" in prompt
