"""When the daemon publishes the diagnostics of an open document: a quiet moment after changes
(a burst of edits is published once), in slices that let requests in between, and never for a
version the editor has already replaced.

`Publisher` takes what it uses: how to find an open document d5e reads, the current resolver
(None before `initialize` and after `shutdown`), how to send `publishDiagnostics`, and the
stdin reader that says when a request is arriving (None: slices are only paced by time).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pygls.workspace import TextDocument

from . import jsonrpc
from .collector import COLLECTOR
from .features.doclines import DocumentFacts
from .features.markdown import DiagnosticsPass
from .features.tags import Resolver
from .textdoc import LineDocument, client_units

SLICE_SECONDS = 0.01
"""How long a diagnostics pass works before it lets requests in."""
PASS_GAP_SECONDS = 0.002
"""The pause between two slices when stdin is read by a thread (`BoundedReader.on_loop`
False), in which a message already sent is noticed (the thread takes the GIL while the event
loop waits); a pass then waits for it to be read and answered (`BoundedReader.requests_first`),
and a slice stops as soon as one arrives. Read on the loop, a message waits in the pipe where
`busy` sees it: slices follow each other with no pause (each pause lost the CPU to other
processes on a loaded machine)."""
REQUESTS_FIRST_SECONDS = 1.0
"""At most this long a pass waits for a message that is arriving to be read and answered."""
QUIET_SECONDS = 0.2
"""Changes to a document are published together, this long after the first of them: a burst
of 1,000 `didChange` costs a few passes, not 1,000."""


class Publisher:
    def __init__(
        self,
        document: Callable[[str], TextDocument | None],
        resolver: Callable[[], Resolver | None],
        send: Callable[[types.PublishDiagnosticsParams], None],
        reader: Callable[[], jsonrpc.BoundedReader | None] = lambda: None,
        extra: Callable[[str], list[types.Diagnostic]] = lambda uri: [],
    ) -> None:
        self.document, self.resolver, self.send, self.reader = document, resolver, send, reader
        self.extra = extra
        """Diagnostics of a file beside its tags' (a pack file's problems after a broken save),
        sent with them: a publication replaces all of a document's."""
        self.due: dict[str, asyncio.TimerHandle] = {}
        """Documents whose diagnostics are to be published, and when."""
        self.passes: dict[str, asyncio.Task[None]] = {}
        """Diagnostics passes under way, by document."""
        self.published: dict[str, DiagnosticsPass] = {}
        """The last diagnostics pass done, by document: the next looks only at what the
        edits since then changed."""
        self.facts: dict[str, DocumentFacts] = {}
        """What the other requests about a document read of it (`facts_of`), by document."""
        self.typing: dict[str, types.Position] = {}
        """Where the writer's latest edit of each document ended (where the cursor is, as far
        as d5e can tell): a tag left unclosed there is being typed (`{@spell fir`), and is not
        flagged until the writer edits elsewhere or saves (`while_typing`)."""
        self.working: dict[str, asyncio.Lock] = {}
        """Held by the one request working a document's facts out; the others of the same
        version wait for it instead of working the same pass in turn (each slice of each of
        them made an arriving request wait longer)."""

    def soon(self, uri: str, quiet: float = QUIET_SECONDS) -> None:
        """Publish the document's diagnostics `quiet` seconds from now, unless a publication is
        due already (changes meanwhile are published with it); a pass under way for an older
        version stops at its next slice."""
        if uri in self.due:
            return
        loop = asyncio.get_running_loop()
        self.due[uri] = loop.call_later(quiet, self._start_pass, uri)

    def edited(self, uri: str, at: types.Position | None) -> None:
        """The document's latest edit ended `at` (None: not known, a whole new text)."""
        if at is None:
            self.typing.pop(uri, None)
        else:
            self.typing[uri] = at

    def saved(self, uri: str) -> None:
        """Saved: the writer is done with what they typed; a tag left unclosed is flagged."""
        if self.typing.pop(uri, None) is not None and uri in self.published:
            self.soon(uri, 0.0)

    def extra_changed(self, uri: str) -> None:
        """`extra(uri)` changed: published again with the document's last pass (or alone,
        for a file the editor has not open)."""
        done = self.published.get(uri)
        shown = while_typing(done.diagnostics(), self.typing.get(uri)) if done else []
        self.send(types.PublishDiagnosticsParams(uri=uri, diagnostics=shown + self.extra(uri)))

    def closed(self, uri: str) -> None:
        """The editor closed the document: nothing more is published for it, and its
        diagnostics are cleared."""
        due = self.due.pop(uri, None)
        if due is not None:
            due.cancel()
        self.facts.pop(uri, None)
        self.typing.pop(uri, None)
        self.published.pop(uri, None)
        self.working.pop(uri, None)
        self.send(types.PublishDiagnosticsParams(uri=uri, diagnostics=self.extra(uri)))

    async def facts_of(self, doc: TextDocument) -> DocumentFacts:
        """The facts of the document as it is now (`features/doclines.py`), found in slices
        with requests answered in between, as diagnostics are; shared by the requests of one
        version, and kept line by line for the next one. When the document changes meanwhile
        the request is answered ContentModified (LSP -32801: the editor asks again, for the new
        version) rather than worked on for a version nobody shows: a burst of changes, each
        followed by an editor's requests, costs work for the last version only."""
        version = doc.version
        async with self.working.setdefault(doc.uri, asyncio.Lock()):
            if doc.version != version:
                raise _content_modified()
            resolver = self.resolver()
            if resolver is None:
                raise RuntimeError("d5e is not initialized")
            facts = self.facts.get(doc.uri)
            if facts is None or facts.doc is not doc or facts.resolver is not resolver:
                facts = self.facts[doc.uri] = DocumentFacts(resolver, doc)
            reader = self.reader()
            busy = reader.busy if reader is not None else None
            while not facts.run(SLICE_SECONDS, busy):
                COLLECTOR.after_slice()
                if reader is None:
                    await asyncio.sleep(PASS_GAP_SECONDS)
                else:
                    await reader.requests_first(_gap(reader), REQUESTS_FIRST_SECONDS)
                if doc.version != version:
                    raise _content_modified()
            return facts

    def _start_pass(self, uri: str) -> None:
        self.due.pop(uri, None)
        running = self.passes.pop(uri, None)
        if running is not None:
            running.cancel()
        task = asyncio.ensure_future(self._publish(uri))
        self.passes[uri] = task

        def done(finished: asyncio.Task[None]) -> None:
            if self.passes.get(uri) is finished:
                del self.passes[uri]

        task.add_done_callback(done)

    async def _publish(self, uri: str) -> None:
        doc, resolver = self.document(uri), self.resolver()
        if doc is None or resolver is None:
            return
        version = doc.version
        focus = doc.last_edited_line if isinstance(doc, LineDocument) else None
        work = DiagnosticsPass(resolver, doc, self.published.get(uri), focus)
        reader = self.reader()
        busy = reader.busy if reader is not None else None
        try:
            while not work.run(SLICE_SECONDS, busy):
                COLLECTOR.after_slice()
                if reader is None:
                    await asyncio.sleep(PASS_GAP_SECONDS)
                else:  # a request first: the pass goes on when no message is arriving
                    await reader.requests_first(_gap(reader), REQUESTS_FIRST_SECONDS)
                if self.document(uri) is not doc or doc.version != version:
                    return  # closed, or changed: the next pass publishes
                if self.resolver() is not resolver:
                    return
        except Exception as exc:
            jsonrpc.failure("publishDiagnostics", exc)  # logged; the next change tries again
            return
        self.published[uri] = work
        shown = while_typing(work.diagnostics(), self.typing.get(uri)) + self.extra(uri)
        self.send(types.PublishDiagnosticsParams(uri=uri, diagnostics=shown, version=version))


def while_typing(
    diagnostics: list[types.Diagnostic], cursor: types.Position | None
) -> list[types.Diagnostic]:
    """The diagnostics but an unclosed tag's whose text the latest edit ended in: the writer
    is typing it (`{@spell fir`, completion closes it), and a warning at every keystroke says
    nothing they do not know. Edited elsewhere, or saved, it is flagged (as `d5e check` flags
    it in a file)."""
    if cursor is None:
        return diagnostics
    return [
        d
        for d in diagnostics
        if not (
            d.code == "unclosed-tag"
            and d.range.start.line == cursor.line
            and d.range.start.character < cursor.character <= d.range.end.character
        )
    ]


def edit_end(
    changes: Sequence[types.TextDocumentContentChangeEvent], encoding: str | None
) -> types.Position | None:
    """Where the last of a `didChange`'s changes ended (the cursor after typing or pasting),
    in the client's units; None for a whole new text."""
    if not changes:
        return None
    last = changes[-1]
    if not isinstance(last, types.TextDocumentContentChangePartial):
        return None
    start = last.range.start
    *before, tail = last.text.split("\n")
    if before:
        return types.Position(start.line + len(before), client_units(tail, encoding))
    return types.Position(start.line, start.character + client_units(tail, encoding))


def _gap(reader: jsonrpc.BoundedReader) -> float:
    return 0.0 if reader.on_loop else PASS_GAP_SECONDS


def _content_modified() -> JsonRpcException:
    return JsonRpcException(
        "the document changed while this was worked out", jsonrpc.CONTENT_MODIFIED
    )
