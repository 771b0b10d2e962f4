"""`Publisher`, in process: a burst of changes is published once, for the version the editor
has; a pass that a newer version overtakes publishes nothing; a closed document is cleared.
The same over real stdio, with a 20 MB document: tests/test_document_bursts.py."""

from __future__ import annotations

import asyncio

import pytest
from lsprotocol import types
from pygls.workspace import TextDocument

from d5e_daemon.app import App
from d5e_daemon.features import markdown as md
from d5e_daemon.features.tags import Resolver
from d5e_daemon.publishing import Publisher
from d5e_daemon.textdoc import LineDocument

URI = "file:///campaign/notes.md"


class Editor:
    def __init__(self, app: App) -> None:
        self.docs: dict[str, TextDocument] = {}
        self.resolver: Resolver | None = Resolver(app)
        self.sent: list[types.PublishDiagnosticsParams] = []
        self.publisher = Publisher(self.docs.get, lambda: self.resolver, self.sent.append)

    def write(self, text: str, version: int) -> None:
        self.docs[URI] = TextDocument(URI, text, version=version)
        self.publisher.soon(URI, 0.05)


async def settled(editor: Editor) -> None:
    for _ in range(200):
        await asyncio.sleep(0.02)
        if not editor.publisher.due and not editor.publisher.passes:
            return


async def published(editor: Editor, version: int) -> None:
    for _ in range(3000):
        if any(p.version == version for p in editor.sent):
            return
        await asyncio.sleep(0.02)


async def test_a_burst_is_published_once_for_the_last_version(app: App) -> None:
    editor = Editor(app)
    for version in range(1, 6):
        editor.write("{@spell fireball} and {@spell fierball}\n" * version, version)
    await settled(editor)
    assert [(p.version, len(p.diagnostics)) for p in editor.sent] == [(5, 5)]
    assert "fireball" in editor.sent[0].diagnostics[0].message.lower()


async def test_a_newer_version_stops_the_pass_under_way(app: App) -> None:
    editor = Editor(app)
    editor.write("".join(f"{{@spell nosuch spell {n}}}\n" for n in range(3000)), 1)
    await asyncio.sleep(0.1)  # the pass has started, in slices
    assert editor.publisher.passes
    editor.write("{@spell fireball}\n", 2)
    await settled(editor)
    assert [(p.version, p.diagnostics) for p in editor.sent] == [(2, [])]


async def test_closing_clears_and_cancels(app: App) -> None:
    editor = Editor(app)
    editor.write("{@spell fierball}\n", 1)
    del editor.docs[URI]
    editor.publisher.closed(URI)
    await settled(editor)
    assert [(p.uri, p.diagnostics) for p in editor.sent] == [(URI, [])]


async def test_nothing_is_published_without_a_resolver(app: App) -> None:
    editor = Editor(app)
    editor.resolver = None  # before initialize, after shutdown
    editor.write("{@spell fierball}\n", 1)
    await settled(editor)
    assert editor.sent == []


@pytest.mark.slow
async def test_the_next_publication_looks_at_the_edited_lines_only(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The publisher keeps a document's last pass: after a one-line edit of a 3,000-line
    document the next pass looks up one line's problems, not 3,000. (Every line names the same
    unknown spell: the resolver's cache answers all but the first, where 3,000 names each
    asked for suggestions, ~9 s of CPU in all.)"""
    editor = Editor(app)
    text = "".join(f"{{@spell nosuch spell}} line {n}\n" for n in range(3000))
    d = editor.docs[URI] = LineDocument(URI, text, version=1)
    editor.publisher.soon(URI, 0.0)
    await published(editor, 1)
    assert editor.resolver is not None
    looked: list[str] = []
    kept = editor.resolver.line_problems
    monkeypatch.setattr(editor.resolver, "line_problems", lambda t: looked.append(t) or kept(t))
    where = types.Range(types.Position(1500, 0), types.Position(1500, 0))
    d.apply_change(types.TextDocumentContentChangePartial(range=where, text="{@spell fierball} "))
    d.version = 2
    editor.publisher.soon(URI, 0.0)
    await published(editor, 2)
    assert [p.version for p in editor.sent] == [1, 2]
    assert looked == [d.lines[1500]]
    assert len(editor.sent[1].diagnostics) == md.MAX_DIAGNOSTICS + 1
    assert editor.sent[1].diagnostics[-1].message.startswith("2501 more problem(s)")
    editor.publisher.closed(URI)
    assert URI not in editor.publisher.published
