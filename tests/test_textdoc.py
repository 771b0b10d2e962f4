"""Open documents kept as lines (`textdoc.LineDocument`): every change gives exactly the text
pygls' own `TextDocument` gives, each change is recorded as the range of lines it replaced, and
a one-line edit of a long document touches that line only (no split of the whole text)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lsprotocol import types
from pygls.workspace import PositionCodec, TextDocument

from d5e_daemon.textdoc import MAX_EDITS, Edit, LineDocument, from_client_units, line_diff

PIECES = ["a", "bc", "\n", "\r\n", "\r", "😀", "é", "\u2028", "{@spell x}", ""]
text_st = st.lists(st.sampled_from(PIECES), max_size=12).map("".join)
position_st = st.tuples(st.integers(0, 6), st.integers(0, 8))
change_st = st.one_of(
    st.tuples(position_st, position_st, text_st),  # incremental
    text_st.map(lambda text: (None, None, text)),  # full text
)
ENCODINGS = [types.PositionEncodingKind.Utf16, types.PositionEncodingKind.Utf8]


def change(
    start: tuple[int, int] | None, end: tuple[int, int] | None, text: str
) -> types.TextDocumentContentChangeEvent:
    if start is None or end is None:
        return types.TextDocumentContentChangeWholeDocument(text=text)
    return types.TextDocumentContentChangePartial(
        range=types.Range(types.Position(*start), types.Position(*end)), text=text
    )


@settings(max_examples=200, deadline=None)
@given(
    text_st,
    st.lists(change_st, max_size=8),
    st.sampled_from(ENCODINGS),
)
def test_every_change_gives_the_text_pygls_gives(
    first: str,
    changes: list[tuple[tuple[int, int] | None, tuple[int, int] | None, str]],
    encoding: str,
) -> None:
    codec = PositionCodec(encoding=encoding)
    ours = LineDocument("file:///a.md", first, position_codec=codec)
    theirs = TextDocument("file:///a.md", first, position_codec=PositionCodec(encoding=encoding))
    for start, end, text in changes:
        before = list(ours.lines)
        ours.apply_change(change(start, end, text))
        theirs.apply_change(change(start, end, text))
        assert ours.source == theirs.source
        assert ours.lines == list(theirs.lines)
        # the recorded edit says which lines changed: the others are the old ones
        edit = ours.edits[-1]
        assert ours.lines[: edit.start] == before[: edit.start]
        assert ours.lines[edit.new_end :] == before[edit.old_end :]
        assert len(ours.lines) - edit.new_end == len(before) - edit.old_end
    assert ours.generation == len(changes)


def test_a_one_line_edit_of_a_long_document_replaces_that_line_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lines = [f"line {i} {{@spell nosuch{i}}}\n" for i in range(100_000)]
    doc = LineDocument("file:///long.md", "".join(lines))
    held = doc.lines
    assert held == lines

    def no_split(*args: object) -> None:
        raise AssertionError("the whole text was split or rebuilt")

    monkeypatch.setattr(LineDocument, "source", property(no_split))
    edit = types.Range(types.Position(70_000, 5), types.Position(70_000, 10))
    doc.apply_change(types.TextDocumentContentChangePartial(range=edit, text="X"))
    assert doc.lines is held and doc.lines[70_000] == "line X {@spell nosuch70000}\n"
    assert doc.edits_since(0) == [Edit(70_000, 70_001, 70_001)]
    two = types.Range(types.Position(10, 0), types.Position(10, 0))
    doc.apply_change(types.TextDocumentContentChangePartial(range=two, text="new\nlines\n"))
    assert doc.lines[10:13] == ["new\n", "lines\n", lines[10]]
    assert doc.edits_since(1) == [Edit(10, 11, 13)] and len(doc.lines) == 100_002
    monkeypatch.undo()
    assert doc.source == "".join(doc.lines)


def test_a_full_text_change_is_compared_with_the_old_lines() -> None:
    old = [f"{i}\n" for i in range(5000)]
    new = [*old[:1234], "changed\n", "and added\n", *old[1235:]]
    assert line_diff(old, new) == Edit(1234, 1235, 1236)
    assert line_diff(old, old) == Edit(5000, 5000, 5000)
    assert line_diff(old, []) == Edit(0, 5000, 0)
    doc = LineDocument("file:///a.md", "".join(old))
    assert len(doc.lines) == 5000  # read once: the change is compared with them
    doc.apply_change(types.TextDocumentContentChangeWholeDocument(text="".join(new)))
    assert doc.edits == [Edit(1234, 1235, 1236)]


def test_a_reader_too_far_behind_is_told_to_read_everything() -> None:
    doc = LineDocument("file:///a.md", "x\n")
    for i in range(MAX_EDITS + 5):
        at = types.Range(types.Position(0, 0), types.Position(0, 0))
        doc.apply_change(types.TextDocumentContentChangePartial(range=at, text=str(i % 10)))
    assert doc.edits_since(doc.generation) == []
    assert doc.edits_since(doc.generation - MAX_EDITS) is not None
    assert doc.edits_since(4) is None
    assert len(doc.edits) == MAX_EDITS


@settings(max_examples=300, deadline=None)
@given(
    st.lists(text_st, max_size=4),
    st.integers(0, 5),
    st.integers(0, 30),
    st.sampled_from([*ENCODINGS, types.PositionEncodingKind.Utf32, None]),
)
def test_positions_are_read_as_pygls_reads_them(
    texts: list[str], line: int, character: int, encoding: str | None
) -> None:
    lines = "".join(texts).splitlines(True)
    lines += ["\ud83d\ude00 lone \udc00 surrogates\n"] if line == 5 else []
    theirs = PositionCodec(encoding).position_from_client_units(
        lines, types.Position(line, character)
    )
    assert from_client_units(encoding, lines, types.Position(line, character)) == (
        theirs.line,
        theirs.character,
    )


def test_a_change_on_a_long_line_counts_no_character_in_python(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An edit at the end of a 2 MB line: pygls counted the line's UTF-16 units a character
    at a time, in Python, for each end of each change (a 5 MB line: 0.7 s a keystroke)."""
    from pygls.workspace import position_codec

    def counted(*args: object) -> int:
        raise AssertionError("a character counted in Python")

    long = "é {@spell fireball} 😀 " * 100_000
    doc = LineDocument("file:///long.md", f"first\n{long}\nlast\n")
    for unit in (position_codec.Utf16, position_codec.Utf8, position_codec.Utf32):
        monkeypatch.setattr(unit, "code_units_for_char", counted)
    at = types.Position(1, len(long.encode("utf-16-le")) // 2)
    doc.apply_change(types.TextDocumentContentChangePartial(range=types.Range(at, at), text="!"))
    assert doc.lines[1] == long + "!\n" and doc.lines[2] == "last\n"
