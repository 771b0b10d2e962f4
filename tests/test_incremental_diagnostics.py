"""A change to a document costs work in proportion to what changed (issue 12, "bounded work per
document"): a diagnostics pass after an edit parses and resolves only the lines whose text is
new, and finds exactly what a pass from scratch finds; given the document's last pass and the
edits since (`textdoc.LineDocument`), it looks at the edited lines only. Work is counted (lines
looked at, tags parsed, references resolved), not timed."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lsprotocol import types
from pygls.workspace import TextDocument

from d5e_daemon import campaign as campaign_module
from d5e_daemon import prose, tagsyntax
from d5e_daemon.app import App
from d5e_daemon.campaign import Campaign
from d5e_daemon.features import markdown as md
from d5e_daemon.features import tags
from d5e_daemon.features.tags import LineProblems, Resolution, Resolver, Tag
from d5e_daemon.textdoc import Edit, LineDocument, moved_ranges

URI = "file:///campaign/long.md"


def doc(lines: list[str], version: int = 1) -> TextDocument:
    return TextDocument(URI, "\n".join(lines), version=version, language_id="markdown")


class Counted:
    """Counts the lines a pass parses for tags and the references it resolves."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, resolver: Resolver) -> None:
        self.parsed = self.resolved = 0
        parse, resolve = tags.iter_tags, resolver.resolve

        def counting_parse(line: int, text: str, start: int = 0) -> Iterator[Tag]:
            self.parsed += 1
            return parse(line, text, start)

        def counting_resolve(tag: Tag, *, suggest: bool = True) -> Resolution:
            self.resolved += 1
            return resolve(tag, suggest=suggest)

        monkeypatch.setattr(md, "iter_tags", counting_parse)
        monkeypatch.setattr(resolver, "resolve", counting_resolve)

    def reset(self) -> None:
        self.parsed = self.resolved = 0


def long_document() -> list[str]:
    """5,000 lines, about 100 KB, every line different; a third hold two tags (one unknown)."""
    return [
        f"{i}: {{@spell nosuch{i % 50}}} {{@creature goblin}}" if i % 3 == 0 else f"Line {i} of it."
        for i in range(5000)
    ]


def test_an_edit_of_one_line_parses_and_resolves_that_line_only(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    resolver = Resolver(app)
    count = Counted(monkeypatch, resolver)
    lines = long_document()
    assert 90_000 < len("\n".join(lines)) < 130_000
    first = md.diagnostics(resolver, doc(lines))
    assert count.parsed == 1667 and count.resolved == 2 * 1667
    assert len(first) == md.MAX_DIAGNOSTICS + 1
    assert first[-1].message.startswith("1167 more problem(s)")

    # one line changed (a problem fixed, another made), far down the document
    lines[3000] = "3000: {@spell fireball} {@creature goblinn} {@spell shield}"
    count.reset()
    found = md.diagnostics(resolver, doc(lines, 2))
    assert (count.parsed, count.resolved) == (1, 3)
    assert found == md.diagnostics(Resolver(app), doc(lines, 2))
    assert found[-1].message.startswith("1167 more problem(s)")

    # a line inserted at the top moves every line: still one line looked at
    lines.insert(0, "# The {@spell magic misile} chapter")
    count.reset()
    found = md.diagnostics(resolver, doc(lines, 3))
    assert (count.parsed, count.resolved) == (1, 1)
    assert found == md.diagnostics(Resolver(app), doc(lines, 3))
    assert (found[0].range.start.line, found[1].range.start.line) == (0, 1)
    assert "did you mean" in found[0].message

    # the same text again: nothing to parse nor resolve
    count.reset()
    assert md.diagnostics(resolver, doc(lines, 4)) == found
    assert (count.parsed, count.resolved) == (0, 0)

    # packs changed: what a line resolves to may have changed, so every line is looked at
    resolver.clear()
    count.reset()
    assert md.diagnostics(resolver, doc(lines, 5)) == found
    assert count.parsed == 1668


def test_a_line_counted_past_the_cap_is_looked_at_again_when_it_is_shown(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the first MAX_DIAGNOSTICS problems a line is only counted (no "did you mean"
    looked for); once problems before it are fixed it is shown, with its suggestions."""
    monkeypatch.setattr(md, "MAX_DIAGNOSTICS", 3)
    resolver = Resolver(app)
    count = Counted(monkeypatch, resolver)
    lines = ["{@spell firebal} {@spell shild}", "{@creature goblinn}", "{@spell magic misile}"]
    before = md.diagnostics(resolver, doc(lines))
    assert [d.code for d in before] == ["unknown-ref"] * 3 + ["more"]
    lines[0] = "{@spell fireball}"
    count.reset()
    after = md.diagnostics(resolver, doc(lines, 2))
    assert count.parsed == 2  # the edited line, and the last one, shown now
    assert [d.range.start.line for d in after] == [1, 2]
    assert "did you mean" in after[1].message
    assert after == md.diagnostics(Resolver(app), doc(lines, 2))


# -- property: incremental == from scratch, over random edits ---------------------------------

POOL = [
    "",
    "Plain prose, with *fireball* in italics and **goblins** in bold: never a diagnostic.",
    "4 wolves and {@creature wolf} x2",
    "{@spell fireball} hits the {@creature goblin}.",
    "{@spell firebal} misses {@creature goblinn}",
    "{@nosuch x} and {@spel shield} and {@b bold}",
    "{@feat alert} only in the other edition",
    "{@spell fireball|nopack} and {@spell }",
    "{@item potion of healng|srd-2014}\r",
    "ünïcödé 😀 {@spell firebal} ✨ {@creature goblinn}",
    " ".join(f"{{@spell nosuch{i}}}" for i in range(6)),
    "```",
]


def edited(lines: list[str], edits: list[tuple[str, int, int]]) -> Iterator[list[str]]:
    for op, where, what in edits:
        at = where % (len(lines) + 1)
        if op == "insert":
            lines.insert(at, POOL[what])
        elif lines and op == "delete":
            del lines[at % len(lines)]
        elif lines and op == "replace":
            lines[at % len(lines)] = POOL[what]
        elif lines and op == "append":
            lines[at % len(lines)] += " " + POOL[what]
        yield lines


def incremental(resolver: Resolver, d: TextDocument, budget: float) -> list[types.Diagnostic]:
    work = md.DiagnosticsPass(resolver, d)
    while not work.run(budget):
        pass
    return work.diagnostics()


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    start=st.lists(st.integers(0, len(POOL) - 1), max_size=30),
    edits=st.lists(
        st.tuples(
            st.sampled_from(["insert", "delete", "replace", "append"]),
            st.integers(0, 40),
            st.integers(0, len(POOL) - 1),
        ),
        max_size=8,
    ),
    cap=st.sampled_from([2, 5, 500]),
    budget=st.sampled_from([0.0, 1.0]),
)
def test_incremental_diagnostics_equal_a_pass_from_scratch(
    app: App,
    monkeypatch: pytest.MonkeyPatch,
    start: list[int],
    edits: list[tuple[str, int, int]],
    cap: int,
    budget: float,
) -> None:
    with monkeypatch.context() as patched:
        patched.setattr(md, "MAX_DIAGNOSTICS", cap)
        resolver = Resolver(app)
        lines = [POOL[i] for i in start]
        versions: list[Any] = [lines[:], *(list(v) for v in edited(lines, edits))]
        for version, text in enumerate(versions, 1):
            d = doc(text, version)
            assert incremental(resolver, d, budget) == md.diagnostics(Resolver(app), d)


# -- a pass after the editor's edits looks at the edited lines only -----------------------------


def line_doc(lines: list[str]) -> LineDocument:
    return LineDocument(URI, "\n".join(lines), version=1, language_id="markdown")


def change(d: LineDocument, start: int, end: int, text: str, end_column: int = 0) -> None:
    """An editor's incremental change: lines [start, end) (to `end_column` of line `end`)
    become `text`."""
    where = types.Range(types.Position(start, 0), types.Position(end, end_column))
    d.apply_change(types.TextDocumentContentChangePartial(range=where, text=text))
    d.version = (d.version or 0) + 1


class Looked:
    """Counts the lines a pass looks at: a line's kept problems looked up, or the line parsed."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, resolver: Resolver) -> None:
        self.lines = 0
        kept, parse = resolver.line_problems, tags.iter_tags

        def looking_up(text: str) -> LineProblems | None:
            self.lines += 1
            return kept(text)

        def parsing(line: int, text: str, start: int = 0) -> Iterator[Tag]:
            self.parsed += 1
            return parse(line, text, start)

        self.parsed = 0
        monkeypatch.setattr(resolver, "line_problems", looking_up)
        monkeypatch.setattr(md, "iter_tags", parsing)

    def reset(self) -> None:
        self.lines = self.parsed = 0


def test_a_pass_after_edits_looks_at_the_edited_lines_only(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Given the document's last pass, the next one takes what it found per line, moved by the
    edits `LineDocument` recorded since, and looks at the lines the edits wrote: one line of a
    5,000-line document, not the 1,667 lines that hold tags."""
    resolver = Resolver(app)
    looked = Looked(monkeypatch, resolver)
    d = line_doc(long_document())
    last = md.DiagnosticsPass(resolver, d)
    assert last.run(60.0)
    assert looked.lines == last.looked_at == 1667

    def again() -> list[types.Diagnostic]:
        nonlocal last
        looked.reset()
        last = md.DiagnosticsPass(resolver, d, last)
        assert last.run(60.0)
        found = last.diagnostics()
        counted = looked.lines, looked.parsed
        assert found == md.diagnostics(Resolver(app), TextDocument(URI, d.source, version=1))
        looked.lines, looked.parsed = counted  # the pass from scratch is not counted
        return found

    # one line changed far down: a problem fixed, another made
    change(d, 3000, 3001, "3000: {@spell fireball} {@creature goblinn} {@spell shield}\n")
    found = again()
    assert (looked.lines, looked.parsed, last.looked_at) == (1, 1, 1)
    assert found[-1].message.startswith("1167 more problem(s)")

    # a line inserted at the top moves every line below it: the new line is read, and the one
    # it was typed in front of is looked up (the edit wrote it again, the same text)
    change(d, 0, 0, "# The {@spell magic misile} chapter\n")
    found = again()
    assert (looked.lines, looked.parsed) == (2, 1)
    assert [f.range.start.line for f in found[:2]] == [0, 1]
    assert "did you mean" in found[0].message

    # three edits before the next pass (a deletion, a two-line insertion, an edit within a line)
    change(d, 11, 14, "")
    change(d, 2000, 2000, "{@spell nosuch1} new\n{@creature wolff} new\n")
    change(d, 4000, 4000, "{@spell firebal} ", 0)
    found = again()
    assert looked.lines == 3  # the two inserted lines and the edited one; nothing for the deletion
    assert len(d.lines) == 5000 - 3 + 1 + 2

    # nothing changed: nothing looked at
    d.version = (d.version or 0) + 1
    assert again() == found and looked.lines == 0

    # packs changed: what a tag means may have changed, so every line is looked at again
    resolver.clear()
    again()
    assert looked.lines == 1670


def test_a_line_counted_past_the_cap_is_shown_with_suggestions_once_lines_above_it_are_fixed(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A line only counted (past the cap: no "did you mean" looked for) that an edit above it
    brings among the shown ones is read again for its suggestions, though no edit touched it."""
    monkeypatch.setattr(md, "MAX_DIAGNOSTICS", 3)
    resolver = Resolver(app)
    d = line_doc(
        ["{@spell firebal} {@spell shild}", "text", "{@creature goblinn}", "{@spell magic misile}"]
    )
    first = md.DiagnosticsPass(resolver, d)
    assert first.run(60.0)
    assert [f.range.start.line for f in first.diagnostics()] == [0, 0, 2, 3]  # 3, and "more"
    change(d, 0, 1, "{@spell fireball}\n")
    looked = Looked(monkeypatch, resolver)
    second = md.DiagnosticsPass(resolver, d, first)
    assert second.run(60.0)
    assert looked.lines == 1 and looked.parsed == 2  # the edited line, and the last one, shown now
    after = second.diagnostics()
    assert [f.range.start.line for f in after] == [2, 3]
    assert "did you mean" in after[1].message
    assert after == md.diagnostics(Resolver(app), TextDocument(URI, d.source, version=1))


def test_the_ranges_edits_leave_to_look_at() -> None:
    # lines 5-7 written, then 2 lines inserted above them: they moved down
    assert moved_ranges(moved_ranges([], Edit(5, 6, 7)), Edit(0, 0, 2)) == [(0, 2), (7, 9)]
    # a range that an edit deleted in part keeps the rest, and the edit's own lines
    assert moved_ranges([(10, 20)], Edit(15, 25, 16)) == [(10, 16)]
    # a deletion of whole lines leaves nothing of its own to look at
    assert moved_ranges([(30, 31)], Edit(0, 10, 0)) == [(20, 21)]
    # touching ranges merge
    assert moved_ranges([(0, 3)], Edit(3, 3, 4)) == [(0, 4)]


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    start=st.lists(st.integers(0, len(POOL) - 1), max_size=30),
    batches=st.lists(
        st.lists(
            st.tuples(
                st.sampled_from(["insert", "delete", "replace", "append"]),
                st.integers(0, 40),
                st.integers(0, len(POOL) - 1),
            ),
            max_size=4,
        ),
        max_size=5,
    ),
    cap=st.sampled_from([2, 5, 500]),
    budget=st.sampled_from([0.0, 1.0]),
)
def test_passes_that_follow_edits_equal_a_pass_from_scratch(
    app: App,
    monkeypatch: pytest.MonkeyPatch,
    start: list[int],
    batches: list[list[tuple[str, int, int]]],
    cap: int,
    budget: float,
) -> None:
    """Random edits, several between two passes (full-text changes: `LineDocument` finds the
    lines that changed): each pass given the last one finds what a pass from scratch finds."""
    with monkeypatch.context() as patched:
        patched.setattr(md, "MAX_DIAGNOSTICS", cap)
        resolver = Resolver(app)
        lines = [POOL[i] for i in start]
        d = line_doc(lines)
        last = md.DiagnosticsPass(resolver, d)
        while not last.run(budget):
            pass
        for batch in batches:
            for text in edited(lines, batch):
                d.apply_change(types.TextDocumentContentChangeWholeDocument("\n".join(text)))
            focus = d.last_edited_line  # the diagnostics nearest the last edit, as published
            last = md.DiagnosticsPass(resolver, d, last, focus)
            while not last.run(budget):
                pass
            scratch = TextDocument(URI, d.source, version=1)
            assert last.diagnostics() == md.diagnostics(Resolver(app), scratch, focus=focus)


# -- the campaign's view of an open document ---------------------------------------------------


def campaign_document() -> list[str]:
    """5,000 lines of an adventure, every line different: tags, counted and bold creatures."""
    kinds = [
        "{i}: the {{@creature wolf}} howls at {{@spell fireball}}",
        "Scene {i}: 4 wolves and **goblins** on the road",
        "Line {i} of plain prose.",
    ]
    return [kinds[i % 3].format(i=i) for i in range(5000)]


@pytest.mark.parametrize("native", [True, False], ids=["native reader", "Python reader"])
def test_an_edit_of_one_line_scans_that_line_only_for_references(
    app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, native: bool
) -> None:
    """An open campaign document's tags and prose names (references, encounters) are found
    again after an edit only on the lines whose text is new (read by either prose reader: the
    native one counts the texts it reads, `_prose_native.reads`)."""
    reader = prose.native()
    if native and reader is None:
        pytest.skip("the native prose reader was not built")
    monkeypatch.setattr(prose, "USE_NATIVE", native)
    root = tmp_path / "campaign"
    root.mkdir()
    page = root / "adventure.md"
    lines = campaign_document()
    page.write_text("\n".join(lines))
    resolver = Resolver(app)
    names = resolver.prose_names()
    wolf = names.find("wolf", "count")
    assert wolf is not None
    campaign = Campaign(root, resolver)
    work = {"parsed": 0, "recognised": 0, "resolved": 0}
    parse, recognise, entry_id = tagsyntax.iter_tags, prose._recognise, resolver.entry_id

    def counting(name: str, fn: Callable[..., Any], lines: bool = False) -> Callable[..., Any]:
        def counted(*args: Any, **kwargs: Any) -> Any:
            work[name] += len(args[0]) if lines else 1  # `_recognise` reads lines together
            return fn(*args, **kwargs)

        return counted

    monkeypatch.setattr(campaign_module, "iter_tags", counting("parsed", parse))
    monkeypatch.setattr(prose, "_recognise", counting("recognised", recognise, lines=True))
    monkeypatch.setattr(resolver, "entry_id", counting("resolved", entry_id))

    def scanned(text: list[str]) -> tuple[Any, Any]:
        for key in work:
            work[key] = 0
        before = reader.reads()[0] if native and reader is not None else 0
        campaign.open_text(page, text)
        found = campaign.mentions(wolf.id), [e for _, e in campaign.encounters()]
        if native and reader is not None:
            work["recognised"] += reader.reads()[0] - before
        return found

    first = scanned(lines)
    assert work["parsed"] == 1667 and work["recognised"] == 1667 + 1667 + 1666
    lines[2501] = "Scene 2501: 7 wolves, a **goblin** and 1 {@creature wolf|srd-2014} at camp"
    mentions, encounters = scanned(lines)
    assert work == {"parsed": 1, "recognised": 1, "resolved": 1}  # a tag written anew
    assert len(mentions) == len(first[0]) + 2  # was plain prose
    assert [e.line for e in encounters] == sorted([e.line for e in first[1]] + [2501])
    # a creature named without a count in a counting line is one, as the difficulty hint
    # counts it (one reader of encounters since ca96cec); one named in the plural ("**goblins**")
    # is none (how many is not said: test_encounter_lens)
    assert next(e for e in encounters if e.line == 2501).detail == (
        "7 × Wolf, 1 × Goblin, 1 × wolf"
    )

    # the same as a campaign that never saw the document before
    fresh = Campaign(root, Resolver(app))
    fresh.open_text(page, lines)
    assert fresh.mentions(wolf.id) == mentions
    assert [e for _, e in fresh.encounters()] == encounters
