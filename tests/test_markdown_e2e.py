"""The Markdown features over real stdio, driven by pytest-lsp as an editor would use them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import ClientServerConfig, LanguageClient

from . import sourced_brew
from .conftest import _client, server_command, start_client

URI = "file:///campaign/ambush.md"
TEXT = (
    "# Ambush\n"
    "The {@creature goblinn} casts {@spell firebal}.\n"
    "Then {@feat alert} and {@spell ember lance}.\n"
    "Cast Fireball, Shield and Magic Missile.\n"  # a one-word spell: capitalised in a sentence
)


def pos(line: int, character: int) -> types.Position:
    return types.Position(line=line, character=character)


def rng(a: int, b: int, c: int, d: int) -> types.Range:
    return types.Range(pos(a, b), pos(c, d))


def span(r: types.Range) -> tuple[int, int, int, int]:
    return (r.start.line, r.start.character, r.end.line, r.end.character)


async def diagnostics_after(client: LanguageClient, send: Any) -> list[types.Diagnostic]:
    """Send a notification and wait for the diagnostics it causes."""
    waiting = asyncio.ensure_future(client.wait_for_notification("textDocument/publishDiagnostics"))
    await asyncio.sleep(0)
    send()
    await asyncio.wait_for(waiting, 30)
    return list(client.diagnostics[URI])


@pytest_asyncio.fixture
async def brew_lsp(db_path: Path, tmp_path: Path) -> AsyncIterator[tuple[LanguageClient, Path]]:
    source = sourced_brew.install(db_path, tmp_path / "table-brew")
    client = await start_client(db_path)
    yield client, source
    await client.shutdown_session()
    await client.stop()


async def open_ambush(client: LanguageClient) -> list[types.Diagnostic]:
    return await diagnostics_after(
        client,
        lambda: client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                types.TextDocumentItem(uri=URI, language_id="markdown", version=1, text=TEXT)
            )
        ),
    )


async def test_capabilities(db_path: Path) -> None:
    client: LanguageClient = await ClientServerConfig(  # type: ignore[assignment]
        server_command=server_command(db_path), client_factory=_client
    ).start()
    result = await client.initialize_session(
        types.InitializeParams(capabilities=types.ClientCapabilities())
    )
    await client.shutdown_session()
    await client.stop()
    caps = result.capabilities
    assert caps.completion_provider is not None
    assert caps.completion_provider.trigger_characters == ("@", " ")
    assert caps.completion_provider.resolve_provider is True
    sync = caps.text_document_sync
    assert isinstance(sync, types.TextDocumentSyncOptions)
    assert sync.change == types.TextDocumentSyncKind.Incremental
    assert caps.hover_provider and caps.definition_provider and caps.workspace_symbol_provider
    assert caps.document_link_provider is not None
    assert isinstance(caps.code_action_provider, types.CodeActionOptions)
    assert caps.code_action_provider.code_action_kinds == (
        "quickfix",
        "refactor.rewrite",
        "refactor.statBlock",
    )
    assert caps.references_provider and caps.document_symbol_provider


async def test_diagnostics_follow_incremental_edits(
    brew_lsp: tuple[LanguageClient, Path],
) -> None:
    client, _ = brew_lsp
    found = await open_ambush(client)
    assert [(span(d.range), d.code, d.message) for d in found] == [
        (
            (1, 15, 1, 22),
            "unknown-ref",
            'unknown creature \'goblinn\'; did you mean "goblin" or "hobgoblin"?',
        ),
        (
            (1, 38, 1, 45),
            "unknown-ref",
            'unknown spell \'firebal\'; did you mean "fireball", "delayed blast fireball" '
            'or "fire bolt"?',
        ),
        (
            (2, 12, 2, 17),
            "disabled-pack",
            "feat 'alert' is only in srd-2024, not enabled in this profile (default, edition 2014)",
        ),
    ]
    # Type the missing "l" of "firebal": one incremental change, diagnostics published anew.
    after = await diagnostics_after(
        client,
        lambda: client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=URI, version=2),
                content_changes=[
                    types.TextDocumentContentChangePartial(range=rng(1, 45, 1, 45), text="l")
                ],
            )
        ),
    )
    assert [d.code for d in after] == ["unknown-ref", "disabled-pack"]
    assert span(after[0].range) == (1, 15, 1, 22)


async def test_settings_change_republishes_diagnostics(lsp: LanguageClient) -> None:
    before = [d.code for d in await open_ambush(lsp)]
    assert before == ["unknown-ref", "unknown-ref", "disabled-pack", "unknown-ref"]
    after = await diagnostics_after(
        lsp,
        lambda: lsp.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings={"d5e": {"edition": "2024"}})
        ),
    )
    # srd-2024 is on now: the feat resolves; the brew spell is not installed here
    assert [(d.code, d.message.split(";")[0]) for d in after] == [
        ("unknown-ref", "unknown creature 'goblinn'"),
        ("unknown-ref", "unknown spell 'firebal'"),
        ("unknown-ref", "unknown spell 'ember lance'"),
    ]


async def test_a_configuration_without_d5e_settings_keeps_them(lsp: LanguageClient) -> None:
    """eglot sends `{}` (its whole, empty configuration) right after initializing: that says
    nothing about d5e and must not erase the settings the editor gave at `initialize`; an
    explicit `d5e` section, even empty, replaces them."""
    await open_ambush(lsp)

    async def edition() -> str:
        return str((await lsp.protocol.send_request_async("d5e/status", None))["edition"])

    async def applied(settings: Any) -> str:  # a change republishes the open document's
        await diagnostics_after(
            lsp,
            lambda: lsp.workspace_did_change_configuration(
                types.DidChangeConfigurationParams(settings)
            ),
        )
        return await edition()

    async def ignored(settings: Any) -> str:
        lsp.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings))
        await asyncio.sleep(0.5)  # time for a change to be applied, were it taken as one
        return await edition()

    assert await applied({"d5e": {"edition": "2024"}}) == "2024"
    assert await ignored({}) == "2024"
    assert await ignored({"python": {"analysis": True}}) == "2024"
    assert await applied({"edition": "2014"}) == "2014"  # a bare object of d5e's settings
    assert await applied({"d5e": {"edition": "2024"}}) == "2024"
    assert await applied({"d5e": {}}) == "2014"  # the default again


async def test_completion_and_resolve(lsp: LanguageClient) -> None:
    await open_ambush(lsp)
    lsp.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=URI, version=2),
            content_changes=[
                types.TextDocumentContentChangePartial(range=rng(4, 0, 4, 0), text="{@spell fir")
            ],
        )
    )
    result = await lsp.text_document_completion_async(
        types.CompletionParams(types.TextDocumentIdentifier(URI), pos(4, 11))
    )
    assert isinstance(result, types.CompletionList) and result.is_incomplete
    top = [
        (i.label, i.detail, i.text_edit.new_text, span(i.text_edit.range))
        for i in result.items[:2]
        if isinstance(i.text_edit, types.TextEdit)
    ]
    assert top == [
        ("Fireball", "3rd-level evocation", "fireball}", (4, 8, 4, 11)),
        ("Fire Bolt", "Evocation cantrip", "fire bolt}", (4, 8, 4, 11)),
    ]
    resolved = await lsp.completion_item_resolve_async(result.items[0])
    assert isinstance(resolved.documentation, types.MarkupContent)
    assert resolved.documentation.value.startswith("## Fireball\n\n*3rd-level evocation*")

    tags = await lsp.text_document_completion_async(
        types.CompletionParams(types.TextDocumentIdentifier(URI), pos(4, 3))
    )
    assert isinstance(tags, types.CompletionList)
    assert [i.label for i in tags.items] == ["spell", "subclass", "species", "subrace", "skill"]


async def test_completion_after_the_pipe_offers_the_packs_holding_the_name(
    lsp: LanguageClient,
) -> None:
    """`{@condition grappled|`: the packs that have Grappled, the profile's first, each closing
    the tag (or not, when it goes on). It offered nothing."""
    text = "{@condition grappled|\n{@condition grappled|s|held}\n{@classFeature Extra Attack|\n"
    lsp.text_document_did_open(
        types.DidOpenTextDocumentParams(
            types.TextDocumentItem(uri=URI, language_id="markdown", version=1, text=text)
        )
    )

    async def offered(line: int, character: int) -> list[tuple[str, str | None, str, Any]]:
        result = await lsp.text_document_completion_async(
            types.CompletionParams(types.TextDocumentIdentifier(URI), pos(line, character))
        )
        assert isinstance(result, types.CompletionList)
        return [
            (i.label, i.detail, i.text_edit.new_text, span(i.text_edit.range))
            for i in result.items
            if isinstance(i.text_edit, types.TextEdit)
        ]

    assert await offered(0, 21) == [
        ("srd-2014", "System Reference Document 5.1 (2014)", "srd-2014}", (0, 21, 0, 21)),
        (
            "srd-2024",
            "System Reference Document 5.2 (2024) (not enabled in this profile)",
            "srd-2024}",
            (0, 21, 0, 21),
        ),
    ]
    assert [(new, where) for _, _, new, where in await offered(1, 22)] == [
        ("srd-2014", (1, 21, 1, 22)),
        ("srd-2024", (1, 21, 1, 22)),
    ]
    assert await offered(2, 28) == []  # a class feature's second part is its class


async def test_hover_on_a_tag_of_a_pack_not_enabled_shows_its_entry_and_says_so(
    lsp: LanguageClient,
) -> None:
    """`{@feat alert}` in a 2014 campaign (the feat is srd-2024's): the card, under a line
    saying the pack is off. The hover was empty; only the diagnostic said anything."""
    await open_ambush(lsp)
    hover = await lsp.text_document_hover_async(
        types.HoverParams(types.TextDocumentIdentifier(URI), pos(2, 12))
    )
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    assert hover.range is not None and span(hover.range) == (2, 5, 2, 18)
    assert hover.contents.value.startswith(
        "*srd-2024 is not enabled in this profile (default); its entry:*\n\n## Alert\n"
    )
    none = await lsp.text_document_hover_async(  # a name no pack has: still nothing
        types.HoverParams(types.TextDocumentIdentifier(URI), pos(1, 18))
    )
    assert none is None


async def test_hover_definition_and_d5e_document(
    brew_lsp: tuple[LanguageClient, Path],
) -> None:
    client, source = brew_lsp
    await open_ambush(client)
    ember = pos(2, 30)
    hover = await client.text_document_hover_async(
        types.HoverParams(types.TextDocumentIdentifier(URI), ember)
    )
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    assert hover.range is not None and span(hover.range) == (2, 23, 2, 43)
    assert hover.contents.value.startswith("## Ember Lance\n\n*2nd-level evocation*")
    assert hover.contents.value.endswith(
        "*Table Brew* (`table-brew`, CC0)  \n<sub>Written at our table.</sub>\n"
    )

    homebrew = await client.text_document_definition_async(
        types.DefinitionParams(types.TextDocumentIdentifier(URI), ember)
    )
    line = sourced_brew.SOURCE_LINE - 1
    assert homebrew == types.Location(uri=source.as_uri(), range=rng(line, 0, line, 0))

    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=URI, version=2),
            content_changes=[
                types.TextDocumentContentChangePartial(
                    range=rng(4, 0, 4, 0), text="{@spell fireball}"
                )
            ],
        )
    )
    srd = await client.text_document_definition_async(
        types.DefinitionParams(types.TextDocumentIdentifier(URI), pos(4, 3))
    )
    assert srd == types.Location(uri="d5e://srd-2014/spells/fireball.md", range=rng(0, 0, 0, 0))
    assert isinstance(srd, types.Location)
    document = await client.protocol.send_request_async("d5e/document", {"uri": srd.uri})
    assert document["text"].startswith("## Fireball\n\n*3rd-level evocation*")
    assert "System Reference Document 5.1" in document["text"]
    with pytest.raises(JsonRpcException) as bad:
        await client.protocol.send_request_async("d5e/document", {"uri": "d5e://x"})
    assert (bad.value.code, bad.value.data) == (-32602, {"path": "$.uri"})


async def test_quick_fix_and_link_rules_terms(lsp: LanguageClient) -> None:
    await open_ambush(lsp)
    fixes = await lsp.text_document_code_action_async(
        types.CodeActionParams(
            types.TextDocumentIdentifier(URI),
            rng(1, 40, 1, 40),
            types.CodeActionContext(diagnostics=[], only=[types.CodeActionKind.QuickFix]),
        )
    )
    assert fixes is not None
    first = fixes[0]
    assert isinstance(first, types.CodeAction) and first.edit and first.edit.changes
    assert (first.title, first.is_preferred) == ('Replace with "fireball"', True)
    assert [(span(e.range), e.new_text) for e in first.edit.changes[URI]] == [
        ((1, 38, 1, 45), "fireball")
    ]

    link = await lsp.text_document_code_action_async(
        types.CodeActionParams(
            types.TextDocumentIdentifier(URI),
            rng(3, 0, 3, 40),
            types.CodeActionContext(diagnostics=[]),
        )
    )
    assert link is not None
    (action,) = link
    assert isinstance(action, types.CodeAction) and action.edit and action.edit.changes
    assert action.title == "Link rules terms (2); ambiguous, left alone: Shield"
    assert [(span(e.range), e.new_text) for e in action.edit.changes[URI]] == [
        ((3, 5, 3, 13), "{@spell fireball}"),
        ((3, 26, 3, 39), "{@spell magic missile}"),
    ]


async def test_a_tag_naming_the_wrong_pack_is_fixed_to_the_profiles_entry(
    lsp: LanguageClient,
) -> None:
    """A pack that lacks the name (srd-2024 has no goblin) or is not installed (XGE): the
    preferred quick fix drops the pack part when the profile has the name. There was no fix
    ("pack 'xge' is not installed", nothing else) and the writer retyped the tag."""
    text = "The {@creature goblin|srd-2024} and {@spell fireball|xge|the blast}.\n"
    found = await diagnostics_after(
        lsp,
        lambda: lsp.text_document_did_open(
            types.DidOpenTextDocumentParams(
                types.TextDocumentItem(uri=URI, language_id="markdown", version=1, text=text)
            )
        ),
    )
    assert [d.message for d in found] == [
        "unknown creature 'goblin' in pack srd-2024; did you mean \"{@creature goblin}\" or "
        '"{@language goblin|srd-2024}"?',
        "pack 'xge' is not installed; did you mean \"{@spell fireball||the blast}\"?",
    ]
    for at, whole, fixed in [
        (10, (0, 4, 0, 31), "{@creature goblin}"),
        (45, (0, 36, 0, 67), "{@spell fireball||the blast}"),
    ]:
        fixes = await lsp.text_document_code_action_async(
            types.CodeActionParams(
                types.TextDocumentIdentifier(URI),
                rng(0, at, 0, at),
                types.CodeActionContext(diagnostics=[], only=[types.CodeActionKind.QuickFix]),
            )
        )
        assert fixes is not None
        first = fixes[0]
        assert isinstance(first, types.CodeAction) and first.edit and first.edit.changes
        assert (first.title, first.is_preferred) == (f'Replace with "{fixed}"', True)
        assert [(span(e.range), e.new_text) for e in first.edit.changes[URI]] == [(whole, fixed)]


async def test_document_links_and_workspace_symbols(
    brew_lsp: tuple[LanguageClient, Path],
) -> None:
    lsp, source = brew_lsp
    await open_ambush(lsp)
    links = await lsp.text_document_document_link_async(
        types.DocumentLinkParams(types.TextDocumentIdentifier(URI))
    )
    assert links is not None
    assert [(span(link.range), link.target) for link in links] == [
        ((2, 23, 2, 43), source.as_uri())  # the only tag that resolves
    ]
    symbols = await lsp.workspace_symbol_async(types.WorkspaceSymbolParams(query="gelatinous cub"))
    assert isinstance(symbols, list) and symbols
    first = symbols[0]
    assert isinstance(first, types.SymbolInformation)
    assert (first.name, first.container_name) == ("Gelatinous Cube", "srd-2014 · monsters")
    assert first.location.uri == "d5e://srd-2014/monsters/gelatinous-cube.md"


async def test_other_languages_are_left_alone(lsp: LanguageClient) -> None:
    uri = "file:///campaign/tool.py"
    lsp.text_document_did_open(
        types.DidOpenTextDocumentParams(
            types.TextDocumentItem(uri=uri, language_id="python", version=1, text="{@spell x}")
        )
    )
    hover = await lsp.text_document_hover_async(
        types.HoverParams(types.TextDocumentIdentifier(uri), pos(0, 3))
    )
    assert hover is None
    assert uri not in lsp.diagnostics


async def test_packs_changed_notification_republishes_diagnostics(
    lsp: LanguageClient, indexed_db: Path, tmp_path: Path
) -> None:
    before = await open_ambush(lsp)
    assert "unknown spell 'ember lance'" in before[-1].message
    # Another process (the CLI, a pack manager) installs a pack, then tells the daemon.
    sourced_brew.install(indexed_db, tmp_path / "table-brew")
    after = await diagnostics_after(
        lsp, lambda: lsp.protocol.notify("d5e/packsChanged", {"packs": ["table-brew"]})
    )
    assert [d.code for d in after] == ["unknown-ref", "unknown-ref", "disabled-pack"]


async def test_unknown_tags_disabled_packs_and_plain_word_completion(lsp: LanguageClient) -> None:
    uri = "file:///campaign/notes.txt"
    text = "{@spel fireball} {@condition grappled|srd-2024}\nThe mage casts firebal\n"
    waiting = asyncio.ensure_future(lsp.wait_for_notification("textDocument/publishDiagnostics"))
    await asyncio.sleep(0)
    lsp.text_document_did_open(
        types.DidOpenTextDocumentParams(
            types.TextDocumentItem(uri=uri, language_id="plaintext", version=1, text=text)
        )
    )
    await asyncio.wait_for(waiting, 30)
    assert [(span(d.range), d.code, d.message) for d in lsp.diagnostics[uri]] == [
        ((0, 0, 0, 16), "unknown-tag", 'unknown tag @spel; did you mean "@spell"?'),
        (
            (0, 29, 0, 37),
            "disabled-pack",
            "pack srd-2024 is not enabled in this profile (default, edition 2014)",
        ),
    ]
    fixes = await lsp.text_document_code_action_async(
        types.CodeActionParams(
            types.TextDocumentIdentifier(uri), rng(0, 3, 0, 3), types.CodeActionContext([])
        )
    )
    assert fixes is not None
    (fix,) = fixes
    assert isinstance(fix, types.CodeAction) and fix.edit and fix.edit.changes
    assert [(span(e.range), e.new_text) for e in fix.edit.changes[uri]] == [
        ((0, 0, 0, 16), "{@spell fireball}")
    ]
    result = await lsp.text_document_completion_async(
        types.CompletionParams(types.TextDocumentIdentifier(uri), pos(1, 22))
    )
    assert isinstance(result, types.CompletionList)
    first = result.items[0]
    assert isinstance(first.text_edit, types.TextEdit)
    assert (first.label, first.text_edit.new_text, span(first.text_edit.range)) == (
        "Fireball",
        "{@spell fireball}",
        (1, 15, 1, 22),
    )


async def test_a_tag_being_typed_is_not_flagged_unclosed_until_the_writer_moves_on(
    lsp: LanguageClient,
) -> None:
    """`{@spell fir` while the writer types it is no warning (completion closes it); edited
    elsewhere, or saved, the tag left unclosed is one (`d5e check` flags it in a file)."""

    def typed(version: int, at: tuple[int, int], text: str) -> Any:
        return lambda: lsp.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=URI, version=version),
                content_changes=[
                    types.TextDocumentContentChangePartial(range=rng(*at, *at), text=text)
                ],
            )
        )

    def unclosed(found: list[types.Diagnostic]) -> list[tuple[int, int, int, int]]:
        return [span(d.range) for d in found if d.code == "unclosed-tag"]

    opened = await diagnostics_after(
        lsp,
        lambda: lsp.text_document_did_open(
            types.DidOpenTextDocumentParams(
                types.TextDocumentItem(URI, "markdown", 1, "# Ambush\nThey cast \n")
            )
        ),
    )
    assert opened == []
    assert unclosed(await diagnostics_after(lsp, typed(2, (1, 10), "{@spell fir"))) == []
    assert unclosed(await diagnostics_after(lsp, typed(3, (1, 21), "e"))) == []
    # the writer goes on elsewhere: the tag left behind is flagged
    assert unclosed(await diagnostics_after(lsp, typed(4, (0, 8), "!"))) == [(1, 10, 1, 22)]
    # typing in it again, then saving
    assert unclosed(await diagnostics_after(lsp, typed(5, (1, 22), "b"))) == []
    saved = await diagnostics_after(
        lsp,
        lambda: lsp.text_document_did_save(
            types.DidSaveTextDocumentParams(types.TextDocumentIdentifier(URI))
        ),
    )
    assert unclosed(saved) == [(1, 10, 1, 23)]
    # a new line typed after it: the tag on the line above is flagged
    after = await diagnostics_after(lsp, typed(6, (1, 23), "\nThen"))
    assert unclosed(after) == [(1, 10, 1, 23)]


async def test_a_typo_near_the_end_of_a_chapter_with_more_problems_than_are_shown(
    lsp: LanguageClient,
) -> None:
    """More problems than MAX_DIAGNOSTICS: on opening, the first are shown; once the writer
    edits, those nearest the edit are, so a typo just made near the end is flagged (it was
    never shown: the first 500 came before it), and one diagnostic says how many are not."""
    lines = [f"Scene {n}: the {{@creature nosuch{n}}} waits.\n" for n in range(1200)]
    lines[1190] = "The wizard casts \n"
    opened = await diagnostics_after(
        lsp,
        lambda: lsp.text_document_did_open(
            types.DidOpenTextDocumentParams(
                types.TextDocumentItem(URI, "markdown", 1, "".join(lines))
            )
        ),
    )
    more = opened[-1]
    assert (len(opened), more.code) == (501, "more")
    assert more.message == "699 more problem(s) in this document are not shown (the first 500 are)"
    assert [d.range.start.line for d in opened[:-1]] == list(range(500))

    typed = await diagnostics_after(
        lsp,
        lambda: lsp.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=URI, version=2),
                content_changes=[
                    types.TextDocumentContentChangePartial(
                        range=rng(1190, 17, 1190, 17), text="{@spell fierball}"
                    )
                ],
            )
        ),
    )
    (typo,) = [d for d in typed if d.range.start.line == 1190]
    assert typo.message.startswith("unknown spell 'fierball'; did you mean \"fireball\"")
    assert span(typo.range) == (1190, 25, 1190, 33)
    shown = [d.range.start.line for d in typed[:-1]]
    assert len(shown) == 500 and shown == sorted(shown) and shown[-1] == 1199
    assert typed[-1].message == (
        "700 more problem(s) in this document are not shown (those shown are the 500 nearest "
        f"your last edit, lines {shown[0] + 1}-1200)"
    )


async def test_smart_quotes_typed_or_pasted_are_read_as_the_writer_meant(
    lsp: LanguageClient,
) -> None:
    """Editors on macOS and text pasted from Word write ‘ ’ “ ”: `{@spell ‘fir` completes as
    `{@spell fir` does (Fireball first, the quote replaced), and a name in curly quotes or
    with a curly apostrophe names its entry (no warning)."""
    text = "{@spell “fireball”} {@spell ‘shield’} {@spell Mordenkainen’s Sword}\n"
    found = await diagnostics_after(
        lsp,
        lambda: lsp.text_document_did_open(
            types.DidOpenTextDocumentParams(types.TextDocumentItem(URI, "markdown", 1, text))
        ),
    )
    assert [(d.code, d.message) for d in found] == [
        ("alias", "Mordenkainen’s Sword is called Arcane Sword in srd-2014")
    ]
    for version, typed in enumerate(["{@spell ‘fir", "{@spell “fir", "{@spell fir"], 2):
        lsp.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=URI, version=version),
                content_changes=[types.TextDocumentContentChangeWholeDocument(text=typed)],
            )
        )
        result = await lsp.text_document_completion_async(
            types.CompletionParams(types.TextDocumentIdentifier(URI), pos(0, len(typed)))
        )
        assert isinstance(result, types.CompletionList)
        first = result.items[0]
        assert isinstance(first.text_edit, types.TextEdit)
        assert (first.label, first.text_edit.new_text, span(first.text_edit.range)) == (
            "Fireball",
            "fireball}",
            (0, 8, 0, len(typed)),
        )
