"""Every hook is documented (its docstring and docs/plugins.md) and has its own test,
`test_hook_<name>` (tests/test_hooks.py), that a plugin implementing it changes what a user sees."""

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
    page = (REPO / "docs" / "plugins.md").read_text()
    assert re.search(rf"^#+ `{hook}", page, re.MULTILINE), (
        f"docs/plugins.md has no `{hook}` heading"
    )


@pytest.mark.parametrize("hook", HOOKS)
def test_each_hook_has_its_own_test(hook: str) -> None:
    from . import test_hooks

    test = getattr(test_hooks, f"test_hook_{hook}", None)
    assert callable(test), f"tests/test_hooks.py has no test_hook_{hook}"
    plugins = [  # the test module's plugins that implement the hook (`@hookimpl def <hook>`)
        name
        for name, cls in inspect.getmembers(test_hooks, inspect.isclass)
        if hasattr(getattr(cls, hook, None), "d5e_impl")
    ]
    assert plugins, f"no plugin of tests/test_hooks.py implements {hook}"
    used = inspect.getsource(test)
    assert any(f"{name}(" in used for name in plugins), (
        f"test_hook_{hook} registers none of {plugins}, the plugins implementing {hook}"
    )
