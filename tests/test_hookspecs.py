"""Every hook is documented (docstring and README) and implemented somewhere in the tests."""

from __future__ import annotations

import inspect
import re

import pytest

from d5e_daemon import hookspecs

from .conftest import REPO

HOOKS = [
    name
    for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
    if hasattr(fn, "d5e_spec")
]


def test_there_are_hooks() -> None:
    assert set(HOOKS) >= {"register_packs", "register_loaders", "priority_rules", "render_text"}


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_is_documented(hook: str) -> None:
    assert (getattr(hookspecs, hook).__doc__ or "").strip(), f"{hook} has no docstring"
    readme = (REPO / "README.md").read_text()
    assert f"`{hook}" in readme, f"{hook} is not described in README.md"


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_is_implemented_by_a_test_plugin(hook: str) -> None:
    sources = [
        p.read_text() for p in [*REPO.glob("tests/**/*.py"), *REPO.glob("plugins/*/tests/**/*.py")]
    ]
    pattern = re.compile(rf"@hookimpl[^\n]*\n\s*def {hook}\(")
    assert any(pattern.search(s) for s in sources), f"no test implements {hook}"
