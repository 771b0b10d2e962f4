"""The examples in d5e's docstrings (`>>> normalize("Ætherfang Œil")`) are run: they are part of
what the code promises, and a stale one misleads whoever reads it."""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

import d5e_daemon

ROOT = Path(d5e_daemon.__file__).parent


def modules_with_examples() -> list[str]:
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        if ">>> " in path.read_text(encoding="utf-8"):
            parts = path.relative_to(ROOT.parent).with_suffix("").parts
            found.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return found


def test_some_modules_have_examples() -> None:
    assert "d5e_daemon.names" in modules_with_examples()


@pytest.mark.parametrize("name", modules_with_examples())
def test_the_examples_in_docstrings_hold(name: str) -> None:
    failed, tried = doctest.testmod(importlib.import_module(name))
    assert tried and not failed
