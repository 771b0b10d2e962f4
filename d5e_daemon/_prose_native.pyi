# The native first reading of prose (`_prose_native.c`): see `prose.py`.
from collections.abc import Callable, Sequence
from typing import Any

def walk(
    lines: Sequence[str],
    n: int,
    stop: int,
    state: tuple[str | None, bool, bool, bool, bool],
    names: tuple[object, ...] | None,
    old_states: list[Any] | None,
    same_from: int,
    moved: int,
    keep: bool,
    states: list[Any],
    texts: list[str | None],
    line_refs: list[Any],
    pending: list[tuple[int, str]],
    interned: dict[Any, Any],
    max_states: int,
    blank_spans: Callable[[str], str],
    read_chars: int,
) -> tuple[int, tuple[str | None, bool, bool, bool, bool], bool]: ...
def read(names: tuple[object, ...], text: str) -> tuple[Any, ...] | None: ...
def blank(text: str) -> str | None: ...
def reads() -> tuple[int, int]: ...
def memo(most: int) -> object: ...
