"""Code lenses, inlay hints, document symbols and document links read a document through one
pass per version (`features/doclines.py`): the requests of one version share it, the next
version's pass parses only the lines whose text is new, a pass works in slices and stops when a
request is waiting, and what a request answers is capped. Work is counted (lines parsed for
tags), not timed; the daemon test below is the editor that asks after every change."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lsprotocol import types

from d5e_daemon.app import App
from d5e_daemon.client import Daemon
from d5e_daemon.features import doclines
from d5e_daemon.features import encounter_lens as lens
from d5e_daemon.features import markdown as md
from d5e_daemon.features import tags as tags_module
from d5e_daemon.features.doclines import MAX_ITEMS, DocumentFacts, facts_now
from d5e_daemon.features.tags import Resolver, Tag
from d5e_daemon.textdoc import LineDocument

URI = "file:///campaign/long.md"
EVERYWHERE = types.Range(types.Position(0, 0), types.Position(10**6, 0))


def doc(lines: list[str]) -> LineDocument:
    return LineDocument(URI, "\n".join(lines), version=1, language_id="markdown")


def edit(d: LineDocument, line: int, text: str) -> None:
    """Replace line `line` as an editor does: an incremental change of that line only."""
    end = len(d.lines[line].rstrip("\r\n")) if line < len(d.lines) else 0
    where = types.Range(types.Position(line, 0), types.Position(line, end))
    d.apply_change(types.TextDocumentContentChangePartial(range=where, text=text))
    d.version = (d.version or 0) + 1


def long_document() -> list[str]:
    """5,000 lines, every one different: tags that resolve and do not, prose names, counted
    creatures and an encounter block."""
    lines = [
        f"Room {i}: the {{@creature goblin}} and {{@spell nosuch{i}}}; *fireball* {i}."
        if i % 3 == 0
        else f"Line {i} of it, **wolves** here."
        for i in range(5000)
    ]
    lines[10:10] = ["```encounter", "name: Den", "creatures:", "  - 2: Wolf", "```"]
    return lines


def requests(resolver: Resolver, d: LineDocument, facts: DocumentFacts | None) -> list[Any]:
    return [
        lens.code_lenses(resolver, d, ("block",), facts),
        lens.inlay_hints(resolver, d, EVERYWHERE, ("line",), facts),
        md.document_symbols(resolver, d, facts),
        md.document_links(resolver, d, facts),
    ]


class Parsed:
    """Counts the lines parsed for tags (by the facts' pass or anything else)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.lines = 0
        parse = tags_module.iter_tags

        def counting(line: int, text: str, start: int = 0) -> Iterator[Tag]:
            self.lines += 1
            return parse(line, text, start)

        monkeypatch.setattr(doclines, "iter_tags", counting)
        monkeypatch.setattr(md, "find_tags", lambda *a: pytest.fail("the document was rescanned"))
        monkeypatch.setattr(lens, "tags_in_line", lambda *a: pytest.fail("rescanned"))


def test_the_requests_of_a_version_share_one_pass_and_an_edit_reads_one_line(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    resolver = Resolver(app)
    d = doc(long_document())
    parsed = Parsed(monkeypatch)
    facts = DocumentFacts(resolver, d)
    while not facts.run(1.0):
        pass
    assert parsed.lines == facts.lines_read == 1667
    first = requests(resolver, d, facts)
    assert [len(answer) for answer in first[:1]] == [1]  # the block's lens
    assert "Den" in [s.name for s in first[2]]

    parsed.lines = 0
    assert facts.run(1.0) and requests(resolver, d, facts) == first
    assert parsed.lines == 0  # the same version: nothing read again

    edit(d, 3000, "Room 3000: 4 {@creature goblin} and {@spell fireball}; the end.")
    assert not facts.current()
    assert facts.run(1.0)
    assert parsed.lines == facts.lines_read == 1
    again = requests(resolver, d, facts)
    assert again == requests(Resolver(app), d, facts_now(Resolver(app), d))
    fireball = next(s for s in again[2] if s.name == "Fireball")
    assert fireball.detail.startswith("1668 mentions")  # 1667 in prose, the new tag

    # packs changed: every line is read again (what a tag means may have changed)
    resolver.clear()
    parsed.lines = 0
    while not facts.run(1.0):
        pass
    assert parsed.lines == 1668  # the lines holding tags, the edited one among them


def test_a_pass_works_in_slices_and_stops_for_a_request(app: App) -> None:
    resolver = Resolver(app)
    d = doc(long_document())
    facts = DocumentFacts(resolver, d)
    asked = 0

    def arriving() -> bool:
        nonlocal asked
        asked += 1
        return asked >= 3

    assert not facts.run(60.0, arriving)  # a minute of time, but a request came: it stops
    assert asked == 3 and not facts.current()
    slices = 1
    while not facts.run(0.0):
        slices += 1
    assert slices > 100  # no slice did more than a few lines' work
    # a change in the middle of a pass: the pass begins again, for the new version
    edit(d, 0, "{@spell shield}")
    assert not facts.current()
    while not facts.run(0.0):
        pass
    assert facts.version == d.version and 0 in facts.tags


def test_what_a_request_answers_is_capped(app: App) -> None:
    resolver = Resolver(app)
    blocks = [
        f"```encounter\nname: E{i}\ncreatures:\n  - 2: Wolf\n```" for i in range(MAX_ITEMS + 7)
    ]
    lines = "\n".join(blocks).split("\n")
    lines += [f"{{@spell fireball}} {i}" for i in range(MAX_ITEMS + 3)]
    lines += [f"{i} {{@creature wolf}} meet 2 {{@creature goblin}}" for i in range(MAX_ITEMS + 1)]
    d = doc(lines)
    facts = facts_now(resolver, d)
    lenses = lens.code_lenses(resolver, d, ("block",), facts)
    assert len(lenses) == MAX_ITEMS + 1
    assert lenses[-1].command is not None
    assert lenses[-1].command.title.startswith("7 more encounter(s)")
    assert lenses[-1].range.start.line == 5 * MAX_ITEMS  # where the first not shown is
    assert len(md.document_links(resolver, d, facts)) == MAX_ITEMS
    hints = lens.inlay_hints(resolver, d, EVERYWHERE, ("line",), facts)
    assert len(hints) == MAX_ITEMS
    symbols = md.document_symbols(resolver, d, facts)
    assert len(symbols) == MAX_ITEMS + 1
    more = len(blocks) + (MAX_ITEMS + 1) + 3 - MAX_ITEMS  # encounters, then the entries
    assert symbols[-1].name == f"{more} more symbol(s) not shown"


# -- property: what a pass kept answers as a pass from scratch does ---------------------------


@pytest.fixture
def resolvers(app: App) -> tuple[Resolver, Resolver]:
    """The resolver the kept facts use, and one of its own for the passes from scratch, each
    made once for all of a property's examples, as a daemon keeps one until packs change: what
    a tag or a name means is the same in every example. (A resolver per pass loaded the
    profile's prose names again each time: ~0.2 s of CPU, most of these tests' time.)"""
    return Resolver(app), Resolver(app)


POOL = [
    "",
    "Plain prose, with *fireball* in italics and **goblins** in bold.",
    "4 wolves and {@creature wolf} x2; 2 {@creature goblinn}",
    "{@spell fireball} hits the {@creature goblin}.",
    "```encounter",
    "```",
    "creatures:",
    "  - 3: Goblin",
    "# A heading with {@spell shield}",
    "---",
    "ünïcödé 😀 {@spell fireball} ✨ 2 **dire wolves**",
]


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    start=st.lists(st.integers(0, len(POOL) - 1), min_size=1, max_size=25),
    edits=st.lists(st.tuples(st.integers(0, 40), st.integers(0, len(POOL) - 1)), max_size=6),
)
def test_answers_from_kept_lines_equal_answers_from_scratch(
    resolvers: tuple[Resolver, Resolver], start: list[int], edits: list[tuple[int, int]]
) -> None:
    resolver, fresh = resolvers
    d = doc([POOL[i] for i in start])
    facts = DocumentFacts(resolver, d)
    for where, what in [(0, start[0]), *edits]:
        edit(d, where % max(len(d.lines), 1), POOL[what])
        while not facts.run(0.0):
            pass
        assert requests(resolver, d, facts) == requests(fresh, d, facts_now(fresh, d))
        assert_encounters_as_read(resolver, d, facts)


def assert_encounters_as_read(resolver: Resolver, d: LineDocument, facts: DocumentFacts) -> None:
    """The encounters found from what the pass kept (and moved by edits) equal those found by
    reading the text itself, for hints and lenses and for document symbols; so do the entries
    the tags use (how often, where first)."""
    from d5e_daemon import campaign

    for kinds in (("line",), ("block", "line")):
        assert lens.inlay_hints(resolver, d, EVERYWHERE, kinds, facts) == lens.inlay_hints(
            resolver, d, EVERYWHERE, kinds, None
        )
    spots: dict[int, list[tuple[int, int, int]]] = {}
    for tag, row in facts.tags_in_order():  # every tag, read at the request as before
        spots.setdefault(row.id, []).append((tag.line, tag.start, tag.end))
    assert {i: (len(s), min(s)) for i, s in spots.items()} == {
        i: (times, first) for i, (_, times, first) in facts.tag_uses.items()
    }
    names = resolver.prose_names()
    kept = facts.all_tags(facts.counted_tag_lines)
    assert campaign.find_encounters(
        d.lines, names, facts.prose_walk, kept, facts.fences
    ) == campaign.find_encounters(d.lines, names)


def lines_edit(d: LineDocument, start: int, end: int, text: str) -> None:
    """Lines [start, end) replaced by `text` (lines ending in a newline): an incremental change."""
    where = types.Range(types.Position(start, 0), types.Position(end, 0))
    d.apply_change(types.TextDocumentContentChangePartial(range=where, text=text))
    d.version = (d.version or 0) + 1


@pytest.mark.slow
def test_a_pass_after_edits_looks_at_the_edited_lines_only(app: App) -> None:
    """The facts of the last version, moved by the edits `LineDocument` recorded since: the
    next pass looks at the lines the edits wrote, not at every line of the document."""
    resolver = Resolver(app)
    d = doc(long_document())
    facts = facts_now(resolver, d)
    assert facts.lines_looked_at == len(d.lines) == 5005
    # The passes from scratch share a resolver of their own: each pass is new, and what a tag
    # means is the same in all of them (the packs do not change; a resolver per pass resolved
    # the document's 1,667 names again each time, ~6 s of CPU in all).
    fresh = Resolver(app)

    def again() -> int:
        while not facts.run(1.0):
            pass
        assert requests(resolver, d, facts) == requests(fresh, d, facts_now(fresh, d))
        return facts.lines_looked_at

    edit(d, 3000, "Room 3000: 4 {@creature goblin} and {@spell fireball}; the end.")
    assert again() == 1
    # a line inserted above the encounter block moves it, and every tag below it
    lines_edit(d, 2, 2, "{@spell shield} first\n")
    assert again() == 2  # the new line, and the one it was typed in front of
    assert facts.fences[0] == 11
    # several edits before the next pass: a deletion of 3 lines, 2 lines inserted far below
    lines_edit(d, 100, 103, "")
    lines_edit(d, 4000, 4000, "{@creature goblin} here\n```\n")
    assert again() == 1 + 3
    assert len(d.lines) == 5005 + 1 - 3 + 2
    # a pass left unfinished by a newer edit: the next one starts from the last finished facts
    lines_edit(d, 50, 50, "{@spell fireball} inserted\n")
    while not facts._next[0]:  # until the last facts were moved by the edit, not done
        assert not facts.run(0.0)
    lines_edit(d, 60, 60, "{@creature goblin} inserted too\n")
    assert again() == 2 + 2
    # packs changed: every line is looked at again
    resolver.clear()
    assert again() == len(d.lines)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    start=st.lists(st.integers(0, len(POOL) - 1), min_size=1, max_size=25),
    batches=st.lists(
        st.lists(
            st.tuples(
                st.integers(0, 40), st.integers(0, 3), st.lists(st.integers(0, len(POOL) - 1))
            ),
            min_size=1,
            max_size=3,
        ),
        max_size=5,
    ),
)
def test_facts_that_follow_insertions_and_deletions_equal_facts_from_scratch(
    resolvers: tuple[Resolver, Resolver],
    start: list[int],
    batches: list[list[tuple[int, int, list[int]]]],
) -> None:
    """Lines inserted and deleted, several edits between two passes: what the requests answer
    from facts moved by the edits equals what they answer from a pass from scratch."""
    resolver, fresh = resolvers
    d = doc([POOL[i] for i in start])
    facts = facts_now(resolver, d)
    for batch in batches:
        for where, deleted, written in batch:
            at = where % len(d.lines) if d.lines else 0
            end = min(at + deleted, len(d.lines))
            lines_edit(d, at, end, "".join(POOL[i] + "\n" for i in written))
        while not facts.run(0.0):
            pass
        assert requests(resolver, d, facts) == requests(fresh, d, facts_now(fresh, d))
        assert_encounters_as_read(resolver, d, facts)


# -- the editor that asks after every change, over a real daemon -------------------------------


@pytest.mark.slow
def test_an_editor_asking_for_lenses_hints_and_symbols_after_each_change(
    indexed_db: Path,
) -> None:
    """A 300 KB document of 4,000 lines, an editor that edits a line then asks for code
    lenses, inlay hints, symbols and links, 8 times; lookups between them are answered while the
    answers are worked on (bench/bursts.py --cases editor measures this on 20 MB)."""
    lines = [
        f"Room {i}: 2 {{@creature goblin}} and {{@spell nosuch{i}}}; **3 wolves** {i}."
        for i in range(4000)
    ]
    text = "\n".join(lines)
    uri = "file:///campaign/big.md"
    with Daemon(indexed_db) as d:
        d.initialize()
        d.send(
            "textDocument/didOpen",
            {"textDocument": {"uri": uri, "languageId": "markdown", "version": 1, "text": text}},
            notify=True,
        )
        waits: list[float] = []
        for version in range(2, 10):
            at = version * 20  # among the first symbols (the others are counted)
            change = {
                "range": {
                    "start": {"line": at, "character": 0},
                    "end": {"line": at, "character": 4},
                },
                "text": "Hall",
            }
            d.send(
                "textDocument/didChange",
                {"textDocument": {"uri": uri, "version": version}, "contentChanges": [change]},
                notify=True,
            )
            asked = [
                d.send(method, {"textDocument": {"uri": uri}, **extra})
                for method, extra in [
                    ("textDocument/codeLens", {}),
                    ("textDocument/inlayHint", {"range": EVERYWHERE_JSON}),
                    ("textDocument/documentSymbol", {}),
                    ("textDocument/documentLink", {}),
                ]
            ]
            started = time.perf_counter()
            d.request("d5e/lookup", {"ref": "spells/fireball"}, timeout=60)
            waits.append(time.perf_counter() - started)
            answers = [result_of(d, i) for i in asked]
        lenses, hints, symbols, links = answers
        assert lenses == []  # no encounter block in it
        assert len(hints) == MAX_ITEMS and len(links) == MAX_ITEMS
        assert symbols[-1]["name"].endswith("more symbol(s) not shown")
        assert "Hall" in {s["name"][:4] for s in symbols}
        assert max(waits) < 5.0, sorted(waits)[-5:]


def result_of(d: Daemon, msg_id: int) -> Any:
    """The result of a request, whether it came already (kept while waiting for another)."""
    for message in d.received:
        if message.get("id") == msg_id and "method" not in message:
            return message["result"]
    return d.wait_for(msg_id, timeout=600)


EVERYWHERE_JSON = {"start": {"line": 0, "character": 0}, "end": {"line": 10**6, "character": 0}}


def test_a_request_for_a_version_already_replaced_is_answered_content_modified(
    app: App,
) -> None:
    """An editor's requests after each change of a burst: the ones whose document changed
    while they waited for the pass get LSP's ContentModified (the editor asks again), so the
    work is done for the last version only."""
    from pygls.exceptions import JsonRpcException

    from d5e_daemon.jsonrpc import CONTENT_MODIFIED
    from d5e_daemon.publishing import Publisher

    resolver = Resolver(app)
    d = doc(long_document())
    publisher = Publisher(lambda uri: d, lambda: resolver, lambda params: None)

    async def main() -> tuple[BaseException | None, DocumentFacts]:
        stale = asyncio.ensure_future(publisher.facts_of(d))
        await asyncio.sleep(0)  # its first slice ran: it waits for the next
        edit(d, 1, "Line 1, edited.")
        caught = None
        try:
            await stale
        except JsonRpcException as exc:
            caught = exc
        return caught, await publisher.facts_of(d)

    caught, facts = asyncio.run(main())
    assert isinstance(caught, JsonRpcException) and caught.code == CONTENT_MODIFIED
    assert facts.current() and facts.version == d.version


def test_the_prose_walk_of_a_long_document_is_in_slices_too(app: App) -> None:
    """A document of prose without tags: after the tag lines, the prose walk itself stops every
    few hundred lines, so a request waits for a slice, never for the whole walk."""
    from d5e_daemon import prose

    lines = [
        f"Scene {i}: {i % 7 + 2} wolves and **goblins**; *fireball* {i}." for i in range(20_000)
    ]
    facts = DocumentFacts(Resolver(app), doc(lines))
    slices = 1
    while not facts.run(0.0):
        slices += 1
    assert slices >= len(lines) // doclines.CHECK_EVERY + len(lines) // prose.WALK_SLICE
    assert len(facts.prose) == 3 * len(lines)


def test_the_requests_of_one_version_wait_for_one_pass(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lenses, hints and symbols asked together: one of them works the document's pass out
    and the others wait for it. When each worked the shared pass too, all three ran a slice
    in turn after every pause, and a request arriving meanwhile waited for all of them
    (`bench/bursts.py --cases editor`: lookup p50 185 ms, 6 ms once they wait)."""
    from d5e_daemon.publishing import Publisher

    resolver = Resolver(app)
    d = doc(long_document())
    publisher = Publisher(lambda uri: d, lambda: resolver, lambda params: None)
    ticks = 0  # how often something else (an arriving request, say) had its turn
    slices_at: list[int] = []
    run = DocumentFacts.run

    def counted(self: DocumentFacts, seconds: float, stop: Any = None) -> bool:
        slices_at.append(ticks)
        return run(self, seconds, stop)

    monkeypatch.setattr(DocumentFacts, "run", counted)

    async def main() -> list[DocumentFacts]:
        asked = asyncio.gather(*(publisher.facts_of(d) for _ in range(3)))
        while not asked.done():
            nonlocal ticks
            ticks += 1
            await asyncio.sleep(0)
        return list(await asked)

    asked = asyncio.run(main())
    assert asked[0] is asked[1] is asked[2] and asked[0].current()
    in_a_row = max(slices_at.count(t) for t in set(slices_at))
    assert len(slices_at) > 10 and in_a_row == 1


def test_no_step_of_a_pass_reads_more_than_a_batch_of_long_tag_dense_lines(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A slice can stop only between steps, so a request waits for the step under way: on
    lines of thousands of tags, or runs of prose lines of 100 tags each, no step of either pass
    resolves more than a few dozen tags or reads more than READ_CHARS of prose (before: every
    tag of a line in one step, and a run of 256 prose lines, 400,000 characters, as one batch
    of the prose walk: 30 ms)."""
    from d5e_daemon import prose

    resolver = Resolver(app)
    work = {"tags": 0, "chars": 0}
    resolve = resolver.resolve
    read = prose.ProseNames.refs_in_texts
    reader = prose.native()  # what it reads in a walk is counted by itself (`reads`)
    natively = [0, 0]
    """Code points the native reader read: in all, and inside `refs_in_texts` (counted there)."""

    def counted_resolve(tag: Tag, suggest: bool = True) -> Any:
        work["tags"] += 1
        return resolve(tag, suggest=suggest)

    def counted_read(names: prose.ProseNames, texts: Any) -> Any:
        work["chars"] += sum(map(len, texts))
        before = reader.reads()[1] if reader is not None else 0
        try:
            return read(names, texts)
        finally:
            natively[1] += reader.reads()[1] - before if reader is not None else 0

    monkeypatch.setattr(resolver, "resolve", counted_resolve)
    monkeypatch.setattr(prose.ProseNames, "refs_in_texts", counted_read)
    tags = "".join(f"{{@nosuch{i % 1000} x}} " for i in range(100))
    dense = "".join(f"{{@creature nosuch{i}}} " for i in range(3000))
    lines = [f"Line {n} {tags}" for n in range(600)] + [dense, "", dense + "x"]
    d = doc(lines)
    worst = {"tags": 0, "chars": 0}

    def steps(run: Any) -> int:
        count = 0
        while True:
            work.update(tags=0, chars=0)
            natively[:] = reader.reads()[1] if reader is not None else 0, 0
            done = run(0.0)  # one step at a time
            if reader is not None:  # read natively outside `refs_in_texts`
                work["chars"] += reader.reads()[1] - natively[0] - natively[1]
            worst.update({k: max(worst[k], work[k]) for k in work})
            count += 1
            if done:
                return count

    diagnostics = md.DiagnosticsPass(resolver, d)
    facts = DocumentFacts(resolver, d)
    assert steps(diagnostics.run) > 600 and steps(facts.run) > 600
    batch = max(prose.READ_CHARS, len(dense) + 1)  # a line longer than a batch: alone
    assert worst["tags"] <= 2 * doclines.TAGS_PER_STEP, worst
    assert worst["chars"] <= batch, worst
    assert len(facts.tags) == 2  # the creature tags of the dense lines, every one kept
    assert sum(len(found) for found in facts.tags.values()) == 6000
    edit(d, 300, "edited " + lines[300])
    steps(md.DiagnosticsPass(resolver, d, diagnostics).run)
    steps(facts.run)
    assert worst["tags"] <= 2 * doclines.TAGS_PER_STEP and worst["chars"] <= batch


def test_encounters_are_looked_for_among_the_counted_lines_only(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lenses, hints and symbols find the document's encounters at each request: from the
    lines that count a creature (kept by the pass), not from every creature tag of the document
    (a 20 MB document of resolving creature tags took seconds per request)."""
    from d5e_daemon import campaign

    named = [f"The {{@creature goblin}} and {{@creature wolf}} of room {n}." for n in range(3000)]
    counted = ["4 {@creature wolf} and the {@creature goblin}; 2 **dire wolves**", "3 wolves"]
    d = doc(named[:1500] + counted + named[1500:])
    resolver = Resolver(app)
    facts = facts_now(resolver, d)
    assert facts.counted_tag_lines == {1500}
    work = {"tags": 0, "counts": 0}
    resolve, count_before = resolver.resolve, campaign.count_before

    def counting_resolve(*args: Any, **kwargs: Any) -> Any:
        work["tags"] += 1
        return resolve(*args, **kwargs)

    def counting_count_before(*args: Any) -> Any:
        work["counts"] += 1
        return count_before(*args)

    monkeypatch.setattr(resolver, "resolve", counting_resolve)
    monkeypatch.setattr(campaign, "count_before", counting_count_before)
    hints = lens.inlay_hints(resolver, d, EVERYWHERE, ("line",), facts)
    symbols = md.document_symbols(resolver, d, facts)
    # The tags of line 1500 only (6,000 before): resolved for the hints, counted for both
    # the hints and the symbols (`campaign.counting_parts`, the one reader of both).
    assert work == {"tags": 2, "counts": 4}
    assert [h.position.line for h in hints] == [1500, 1500, 1501]
    assert [s.name for s in symbols if s.kind == types.SymbolKind.Event] == [
        "4 {@creature wolf} and the {@creature goblin}; 2 **dire wolves**",
        "3 wolves",
    ]
