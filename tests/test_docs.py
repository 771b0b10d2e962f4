"""The documentation: docs/protocol.md's reference matches protocol.py, and every relative link
of the README and docs/ leads to a file of this repository."""

from __future__ import annotations

import re

import pytest

from d5e_daemon import protocol_doc

from .conftest import REPO

PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def test_protocol_page_is_generated_from_protocol_py() -> None:
    current = protocol_doc.PAGE.read_text()
    assert protocol_doc.MARKER in current
    assert protocol_doc.page(current) == current, "docs/protocol.md is stale: run `make docs`"


def test_protocol_page_lists_every_method_with_its_fields() -> None:
    from d5e_daemon.server import METHODS

    text = protocol_doc.PAGE.read_text()
    for name, params, _ in METHODS:
        assert f"### `{name}`" in text and f"Params: `{params.__name__}`" in text
    assert "| `query` | `str` |" in text  # d5e/search's query, by its wire name


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_links_stay_in_the_repository_and_resolve(page: object) -> None:
    assert hasattr(page, "read_text")
    text = page.read_text()  # type: ignore[attr-defined]
    text = re.sub(r"```.*?```|`[^`\n]*`", "", text, flags=re.DOTALL)  # code is not a link
    for target in LINK.findall(text):
        if "://" in target or target.startswith(("mailto:", "#")):
            continue
        path = (page.parent / target.split("#")[0]).resolve()  # type: ignore[attr-defined]
        assert path.is_relative_to(REPO), f"{page}: {target} leaves the repository"
        assert path.exists(), f"{page}: {target} does not exist"


def test_readme_is_short_and_keeps_the_two_commands() -> None:
    text = (REPO / "README.md").read_text()
    assert "make run" in text and "make test" in text
    assert len(text.splitlines()) <= 160


def test_cli_page_names_every_command_and_option() -> None:
    """A new user reads docs/cli.md for what `--help` offers: `--offset`, `--in-edition`,
    `packs new --title` and `d5e packs remove` were in `--help` only."""
    import argparse

    from d5e_daemon.cli import parser

    text = (REPO / "docs" / "cli.md").read_text()

    def walk(p: argparse.ArgumentParser, words: str) -> list[tuple[str, str]]:
        found = [(words, o) for a in p._actions for o in a.option_strings if o.startswith("--")]
        for action in p._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, child in action.choices.items():
                    found += walk(child, f"{words} {name}")
        return found

    missing = []
    for command, option in walk(parser(), "d5e"):
        *before, last = command.split()  # `d5e packs disable` in `d5e packs enable|disable`
        named = rf"`{re.escape(' '.join(before))} (?:[\w-]+\\?\|)*{re.escape(last)}\b"
        if before and not re.search(named, text):
            missing.append(command)
        if option not in ("--help", "--version") and option not in text:
            missing.append(f"{command} {option}")
    assert not missing, f"docs/cli.md does not name: {sorted(set(missing))}"
