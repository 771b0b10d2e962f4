"""Writer's tools over real stdio, as an editor uses them in a campaign folder: references across
files that are not open (kept current by the daemon's own file watcher, by the editor's
didChangeWatchedFiles and by unsaved text), prose names without tags (hover, definition),
document and workspace symbols, the "Insert stat block" code action and `d5e/references`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest_asyncio
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import LanguageClient

from .conftest import start_client

ROAD = (
    "# Wolves on the road\n"
    "\n"
    "Scene 1 (road): 4 wolves; Flame's den: Flame + 2 wolves + 1 dire wolf.\n"
    "\n"
    "The **goblins** flee while the mage casts *fireball*.\n"
)
CAMP = "A {@creature wolf} howls by the fire.\n"
TIMEOUT = 20


def pos(line: int, character: int) -> types.Position:
    return types.Position(line=line, character=character)


def places(locations: list[types.Location] | None) -> list[tuple[str, int, int, int]]:
    return sorted(
        (
            Path(loc.uri).name,
            loc.range.start.line,
            loc.range.start.character,
            loc.range.end.character,
        )
        for loc in locations or []
    )


@pytest_asyncio.fixture
async def campaign(db_path: Path, tmp_path: Path) -> AsyncIterator[tuple[LanguageClient, Path]]:
    root = tmp_path / "campaign"
    (root / "scenes").mkdir(parents=True)
    (root / "scenes" / "road.md").write_text(ROAD)
    (root / "camp.md").write_text(CAMP)
    (root / "d5e.toml").write_text('statBlocks = "homebrewery"\n')
    client = await start_client(db_path, root=root)
    yield client, root
    await client.shutdown_session()
    await client.stop()


def open_doc(client: LanguageClient, path: Path, text: str, version: int = 1) -> str:
    uri = path.as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            types.TextDocumentItem(uri=uri, language_id="markdown", version=version, text=text)
        )
    )
    return uri


async def references(
    client: LanguageClient, uri: str, at: types.Position
) -> list[tuple[str, int, int, int]]:
    found = await client.text_document_references_async(
        types.ReferenceParams(
            text_document=types.TextDocumentIdentifier(uri),
            position=at,
            context=types.ReferenceContext(include_declaration=False),
        )
    )
    return places(found)


async def eventually(check: Any, expected: Any) -> Any:
    """Ask again until the answer is `expected` (file events take a moment), or give up."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        got = await check()
        if got == expected or time.monotonic() > deadline:
            return got
        await asyncio.sleep(0.1)


async def test_references_reach_files_that_are_not_open_and_follow_changes(
    campaign: tuple[LanguageClient, Path],
) -> None:
    client, root = campaign
    uri = open_doc(client, root / "camp.md", CAMP)
    wolf = [("camp.md", 0, 2, 18), ("road.md", 2, 16, 24), ("road.md", 2, 47, 55)]
    assert await references(client, uri, pos(0, 5)) == wolf

    # a new file on disk, seen by the daemon's own watcher (no notification from the editor)
    (root / "scenes" / "later.md").write_text("Later: 3 wolves.\n")
    more = sorted([*wolf, ("later.md", 0, 7, 15)])
    got = await eventually(lambda: references(client, uri, pos(0, 5)), more)
    assert got == more

    # the editor's unsaved text of an open document counts, and its notification of a change
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text="No wolf here.\n")],
        )
    )
    (root / "scenes" / "road.md").write_text("Only 1 dire wolf now.\n")
    client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams(
            changes=[
                types.FileEvent(
                    uri=(root / "scenes" / "road.md").as_uri(), type=types.FileChangeType.Changed
                )
            ]
        )
    )
    uri_road = (root / "scenes" / "later.md").as_uri()
    open_doc(client, root / "scenes" / "later.md", "Later: 3 wolves.\n")
    got = await eventually(
        lambda: references(client, uri_road, pos(0, 9)), [("later.md", 0, 7, 15)]
    )
    assert got == [("later.md", 0, 7, 15)]


async def test_hover_definition_and_references_on_prose_names(
    campaign: tuple[LanguageClient, Path],
) -> None:
    client, root = campaign
    uri = open_doc(client, root / "scenes" / "road.md", ROAD)
    hover = await client.text_document_hover_async(
        types.HoverParams(types.TextDocumentIdentifier(uri), pos(2, 19))
    )
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    assert hover.contents.value.startswith("## Wolf")
    definition = await client.text_document_definition_async(
        types.DefinitionParams(types.TextDocumentIdentifier(uri), pos(4, 46))
    )
    assert isinstance(definition, types.Location)
    assert definition.uri == "d5e://srd-2014/spells/fireball.md"
    assert await references(client, uri, pos(4, 8)) == [("road.md", 4, 6, 13)]
    # prose names are never diagnostics
    assert list(client.diagnostics.get(uri, [])) == []


async def test_document_and_workspace_symbols(campaign: tuple[LanguageClient, Path]) -> None:
    client, root = campaign
    uri = open_doc(client, root / "scenes" / "road.md", ROAD)
    symbols = await client.text_document_document_symbol_async(
        types.DocumentSymbolParams(types.TextDocumentIdentifier(uri))
    )
    assert symbols is not None
    assert [(s.name, s.kind) for s in symbols] == [
        (ROAD.splitlines()[2], types.SymbolKind.Event),
        ("Wolf", types.SymbolKind.Class),
        ("Dire Wolf", types.SymbolKind.Class),
        ("Goblin", types.SymbolKind.Class),
        ("Fireball", types.SymbolKind.Function),
    ]
    found = await client.workspace_symbol_async(types.WorkspaceSymbolParams(query="dire wolf"))
    assert found is not None
    first = found[0]
    assert isinstance(first, types.SymbolInformation)
    assert (first.name, first.kind, Path(first.location.uri).name) == (
        ROAD.splitlines()[2],
        types.SymbolKind.Event,
        "road.md",
    )
    assert any(s.name == "Dire Wolf" and s.location.uri.startswith("d5e:") for s in found[1:])


async def test_insert_a_homebrewery_stat_block(campaign: tuple[LanguageClient, Path]) -> None:
    client, root = campaign
    uri = open_doc(client, root / "scenes" / "road.md", ROAD)
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri),
            range=types.Range(pos(4, 8), pos(4, 8)),
            context=types.CodeActionContext(diagnostics=[], only=["refactor"]),
        )
    )
    assert actions is not None
    (action,) = actions
    assert isinstance(action, types.CodeAction)
    assert action.title == "Insert Homebrewery stat block: Goblin"
    assert action.edit is not None and action.edit.changes is not None
    (edit,) = action.edit.changes[uri]
    assert edit.range == types.Range(pos(4, 53), pos(4, 53))
    assert edit.new_text.startswith("\n\n{{monster,frame\n## Goblin\n*Small humanoid")
    assert edit.new_text.endswith("\n}}")


async def test_d5e_references_over_the_wire(campaign: tuple[LanguageClient, Path]) -> None:
    client, root = campaign
    result = await client.protocol.send_request_async("d5e/references", {"ref": "spells/fireball"})
    assert result["entry"]["name"] == "Fireball"
    assert result["workspace"] == str(root.resolve())
    assert [(Path(m["path"]).name, m["line"], m["kind"]) for m in result["mentions"]] == [
        ("road.md", 4, "italic")
    ]
    assert {
        "ref": "monsters/mage",
        "pack": "srd-2014",
        "name": "Mage",
        "collection": "monsters",
        "how": "casts",
    } in result["linkedFrom"]
    try:
        await client.protocol.send_request_async(
            "d5e/references", {"ref": "spells/fireball", "x": 1}
        )
    except JsonRpcException as exc:
        assert exc.code == -32602 and "x" in exc.message
    else:
        raise AssertionError("unknown field accepted")
