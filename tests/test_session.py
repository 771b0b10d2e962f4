"""`Session`, the editor's session of `d5e serve` without the language server: initialize once,
diagnostics of open documents, what a pack change or a settings change tells the editor, the
campaign's unsaved text, watchers and shutdown. The same over real stdio with real editors:
tests/test_server_e2e.py, tests/test_markdown_e2e.py, tests/test_live_reload.py,
tests/test_editors.py."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from lsprotocol import types
from pygls.workspace import TextDocument

from d5e_daemon import protocol
from d5e_daemon.errors import AlreadyInitialized, InvalidParams, NotInitialized
from d5e_daemon.features.lookup import lookup
from d5e_daemon.features.packs import install
from d5e_daemon.features.references import references_in_workspace
from d5e_daemon.session import Session

from .packtools import write_pack


class Editor:
    """The editor's side of a session: its open documents, and what it was told."""

    work_done_progress = None

    def __init__(self) -> None:
        self.docs: dict[str, TextDocument] = {}
        self.notes: list[tuple[str, Any]] = []
        self.warnings: list[str] = []
        self.refreshes = 0
        self.published: list[types.PublishDiagnosticsParams] = []

    def notify(self, method: str, params: Any) -> None:
        self.notes.append((method, params))

    def show_warning(self, text: str) -> None:
        self.warnings.append(text)

    def refresh_hints(self) -> None:
        self.refreshes += 1

    def publish_diagnostics(self, params: types.PublishDiagnosticsParams) -> None:
        self.published.append(params)

    def open(self, path: Path, text: str, language: str = "markdown") -> str:
        uri = path.as_uri()
        self.docs[uri] = TextDocument(uri, text, version=1, language_id=language)
        return uri

    def diagnostics(self, uri: str) -> list[str]:
        """The messages last published for `uri`."""
        last = [p for p in self.published if p.uri == uri][-1]
        return [d.message for d in last.diagnostics]


Opener = Callable[..., tuple[Session, Editor]]


@pytest_asyncio.fixture
async def start(db_path: Path) -> AsyncIterator[Opener]:
    """`start(root=None, **options)`: an initialized session on a copy of the SRD database."""
    sessions: list[Session] = []

    def opener(root: Path | None = None, **options: Any) -> tuple[Session, Editor]:
        editor = Editor()
        session = Session({}, {"db": str(db_path), "watch": False}, editor, lambda: editor.docs)
        sessions.append(session)
        session.initialize(options, root)
        return session, editor

    yield opener
    for session in sessions:
        session.shutdown()


async def settled(session: Session) -> None:
    """Wait for the session's tasks and due diagnostics."""
    for _ in range(300):
        await asyncio.sleep(0.02)
        publisher = session.publisher
        if not (session.tasks or publisher.due or publisher.passes):
            return
    raise AssertionError("the session did not settle")


async def test_requests_before_initialize_are_refused(db_path: Path) -> None:
    editor = Editor()
    session = Session({}, {"db": str(db_path)}, editor, lambda: editor.docs)
    with pytest.raises(NotInitialized) as refused:
        session.require_app()
    assert refused.value.code == -32002  # LSP's ServerNotInitialized
    with pytest.raises(NotInitialized):
        session.require_resolver()


async def test_initialize_opens_the_database_once(start: Opener) -> None:
    session, _ = start()
    app = session.require_app()
    with pytest.raises(AlreadyInitialized) as again:
        session.initialize({}, None)
    assert again.value.code == -32600
    assert session.app is app  # the first one still serves
    assert lookup(app, protocol.LookupParams(ref="spells/fireball")).entry.name == "Fireball"


async def test_a_refused_initialize_leaves_nothing_open(db_path: Path) -> None:
    editor = Editor()
    session = Session({}, {"db": str(db_path), "watch": False}, editor, lambda: editor.docs)
    with pytest.raises(InvalidParams) as refused:
        session.initialize({"edition": "1999"}, None)
    assert "edition" in refused.value.message
    assert session.app is None and session.resolver is None
    app = session.initialize({"edition": "2024"}, None)  # the client may try again
    try:
        assert app.settings.edition == "2024"
    finally:
        session.shutdown()


async def test_open_prose_gets_diagnostics_and_closing_clears_them(
    start: Opener, tmp_path: Path
) -> None:
    session, editor = start()
    notes = editor.open(tmp_path / "notes.md", "{@spell fierball}\n")
    script = editor.open(tmp_path / "tool.py", "{@spell fierball}\n", "python")
    session.opened(notes)
    session.opened(script)  # not prose: none of d5e's business
    await settled(session)
    assert [p.uri for p in editor.published] == [notes]
    assert "fireball" in editor.diagnostics(notes)[0].lower()

    editor.docs[notes] = TextDocument(
        notes, "{@spell fireball}\n", version=2, language_id="markdown"
    )
    session.changed(notes)
    await settled(session)
    assert editor.diagnostics(notes) == []
    assert editor.published[-1].version == 2

    del editor.docs[notes]
    session.closed(notes)
    await settled(session)
    assert editor.published[-1] == types.PublishDiagnosticsParams(uri=notes, diagnostics=[])


async def test_a_pack_change_tells_the_editor_and_checks_open_documents_again(
    start: Opener, tmp_path: Path
) -> None:
    session, editor = start()
    notes = editor.open(tmp_path / "notes.md", "The {@creature bog ogre} waits.\n")
    session.opened(notes)
    await settled(session)
    assert editor.diagnostics(notes), "an unknown creature is flagged"

    ogre = write_pack(
        tmp_path / "ogres",
        {"monsters/ogre.json": '{"name": "Bog Ogre", "hit_points": 40, "size": "Large"}'},
        manifest='id = "ogres"\ntitle = "Ogres"\nversion = "1"\n',
    )
    await install(session.require_app(), protocol.PackInstallParams(path=str(ogre)))
    await settled(session)
    assert [(method, params["packs"]) for method, params in editor.notes] == [
        (protocol.PACKS_CHANGED, ["ogres"])
    ]
    assert editor.diagnostics(notes) == [], "checked again against the new pack"
    assert editor.refreshes == 1  # encounter lenses and hints follow the packs
    assert editor.warnings == []  # a new creature overrides nothing


async def test_an_accidental_override_is_told_once(start: Opener, tmp_path: Path) -> None:
    session, editor = start()
    app = session.require_app()
    brew = write_pack(tmp_path / "brew", {"spells/fireball.json": '{"name": "Fireball"}'})
    await install(app, protocol.PackInstallParams(path=str(brew)))
    await settled(session)
    assert len(editor.warnings) == 1
    assert editor.warnings[0].startswith("d5e: ")
    assert "brew" in editor.warnings[0] and "fireball" in editor.warnings[0].lower()

    (brew / "spells" / "fireball.json").write_text('{"name": "Fireball", "level": 3}')
    await session.reload({"brew": {"spells/fireball.json"}})
    await settled(session)
    assert len(editor.notes) == 2, "the reload was told"
    assert len(editor.warnings) == 1, "the same override is not told again"


async def test_a_broken_save_of_a_pack_file_is_shown_in_that_file(
    start: Opener, tmp_path: Path
) -> None:
    """A homebrew author saving `level: three` in Neovim saw nothing in the file: the problem
    went to the log and `d5e/status` only. Now it is a diagnostic at its line and column in
    the file saved (open in the editor or not: a publication of its own, beside its tags'),
    cleared by the save that fixes it."""
    session, editor = start()
    spell = "---\nname: Frost Lance\nlevel: 2\n---\nA lance of ice, as {@spell fireball}.\n"
    brew = write_pack(tmp_path / "brew", {"spells/frost-lance.md": spell})
    await install(session.require_app(), protocol.PackInstallParams(path=str(brew)))
    path = brew / "spells" / "frost-lance.md"
    uri = editor.open(path, spell)
    session.opened(uri)
    await settled(session)
    assert editor.diagnostics(uri) == []
    editor.published.clear()

    path.write_text(spell.replace("level: 2", "level: three"))
    await session.reload({"brew": {str(path)}})
    await settled(session)
    shown = [p for p in editor.published if p.uri == uri][-1].diagnostics
    assert [(d.range.start.line, d.range.start.character, d.message) for d in shown] == [
        (2, 7, "level: Expected `int`, got `str`")
    ]
    assert shown[0].severity == types.DiagnosticSeverity.Error and shown[0].source == "d5e"
    editor.docs[uri] = TextDocument(uri, spell + "{@spell fierball}\n", 2, "markdown")
    session.changed(uri)  # the document's own diagnostics come with the pack's problem
    await settled(session)
    assert len(editor.diagnostics(uri)) == 2 and editor.diagnostics(uri)[1].startswith("level")

    path.write_text(spell)
    await session.reload({"brew": {str(path)}})
    await settled(session)
    assert not [m for m in editor.diagnostics(uri) if m.startswith("level")]


async def test_the_campaign_reads_the_editors_unsaved_text(start: Opener, tmp_path: Path) -> None:
    root = tmp_path / "campaign"
    root.mkdir()
    (root / "notes.md").write_text("Nothing yet.\n")
    session, editor = start(root)
    app = session.require_app()
    fireball = protocol.ReferencesParams(ref="spells/fireball", links=False)
    assert (await references_in_workspace(app, fireball)).mentions == []

    notes = editor.open(root / "notes.md", "Then {@spell fireball}.\n")
    session.opened(notes)
    found = (await references_in_workspace(app, fireball)).mentions
    assert [(Path(m.path).name, m.line) for m in found] == [("notes.md", 0)]

    del editor.docs[notes]
    session.closed(notes)  # unsaved: the file on disk counts again
    assert (await references_in_workspace(app, fireball)).mentions == []


async def test_a_settings_problem_is_shown_and_listed(start: Opener) -> None:
    session, editor = start()
    app = session.require_app()
    session.configuration_changed({"d5e": {"edition": "1999"}})
    await settled(session)
    assert len(editor.warnings) == 1
    assert editor.warnings[0].startswith("d5e: settings not applied: ")
    assert editor.warnings[0].removeprefix("d5e: ") in app.library.warnings  # d5e/status
    assert app.settings.edition == "2014"  # what was applied stays


async def test_settings_for_others_change_nothing(start: Opener) -> None:
    session, editor = start(edition="2024")
    session.configuration_changed({"editor": {"fontSize": 12}})  # eglot sends {} or others'
    assert not session.tasks
    assert session.options == {"edition": "2024"}
    session.configuration_changed({"d5e": {"edition": "2014"}})
    await settled(session)
    assert session.require_app().settings.edition == "2014"
    assert [method for method, _ in editor.notes] == [protocol.PACKS_CHANGED]  # the winners
    assert editor.refreshes == 2  # for the packs, and for the party
    assert editor.warnings == []


async def test_a_changed_d5e_toml_is_applied(start: Opener, tmp_path: Path) -> None:
    root = tmp_path / "campaign"
    write_pack(root / "brew", {"spells/s.json": '{"name": "Sleet Ray"}'})
    config = root / "d5e.toml"
    config.write_text('edition = "2014"\n')
    session, editor = start(root)
    app = session.require_app()
    config.write_text('edition = "2024"\npackPaths = ["missing", "brew"]\n')
    session.files_changed([config])
    await settled(session)
    assert app.settings.edition == "2024"
    assert lookup(app, protocol.LookupParams(name="sleet ray")).entry.pack == "brew"
    assert editor.warnings == [f"d5e: {root / 'missing'}: no such file or folder"]


async def test_watchers_follow_the_campaign_and_shutdown_stops_everything(
    db_path: Path, tmp_path: Path
) -> None:
    root = tmp_path / "campaign"
    root.mkdir()
    editor = Editor()
    session = Session({}, {"db": str(db_path)}, editor, lambda: editor.docs)
    app = session.initialize({}, root)
    try:
        session.initialized(asyncio.get_running_loop())
        session.start_indexing()
        assert session.watcher is not None and session.campaign_watcher is not None
        assert session.indexer is not None
        fireball = protocol.ReferencesParams(ref="spells/fireball", links=False)
        assert (await references_in_workspace(app, fireball)).mentions == []
        (root / "session.md").write_text("{@spell fireball}\n")  # saved by another program
        for _ in range(200):
            await asyncio.sleep(0.05)
            if (await references_in_workspace(app, fireball)).mentions:
                break
        assert [
            Path(m.path).name for m in (await references_in_workspace(app, fireball)).mentions
        ] == ["session.md"]
    finally:
        session.shutdown()
    assert session.app is None and session.watcher is None and session.indexer is None
    with pytest.raises(NotInitialized):
        session.require_app()
