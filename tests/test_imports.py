"""No import cycle in the house: the modules of `d5e_daemon` import each other in layers. Every
import counts, those inside functions and under `TYPE_CHECKING` too (a cycle hidden behind a
lazy import is still one: a module cannot be read or tested without the other)."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

from .conftest import REPO

PACKAGE = REPO / "d5e_daemon"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, modules: set[str]) -> set[str]:
    return imports_in(
        path.read_text("utf-8"), module_name(path), path.name == "__init__.py", modules
    )


def imports_in(text: str, name: str, is_package: bool, modules: set[str]) -> set[str]:
    """The modules of `modules` that module `name` imports anywhere in its text (a name
    imported from a package is the submodule when there is one)."""
    here = name.split(".") if is_package else name.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = here[: len(here) - node.level + 1] if node.level else []
            prefix = ".".join([*base, *([node.module] if node.module else [])])
            for alias in node.names:
                sub = f"{prefix}.{alias.name}"
                found.add(sub if sub in modules else prefix)
    return (found & modules) - {name}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_lazy_and_type_checking_imports_count() -> None:
    modules = {"d5e_daemon.app", "d5e_daemon.features", "d5e_daemon.features.tags"}
    text = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from ..app import App\n"
        "def f():\n    from . import tags\n"
    )
    found = imports_in(text, "d5e_daemon.features.lookup", False, modules)
    assert found == {"d5e_daemon.app", "d5e_daemon.features.tags"}


def test_no_import_cycle_in_the_package() -> None:
    files = sorted(PACKAGE.rglob("*.py"))
    modules = {module_name(p) for p in files}
    graph = {module_name(p): imports_of(p, modules) for p in files}
    assert graph["d5e_daemon.server"] >= {"d5e_daemon.app", "d5e_daemon.jsonrpc"}
    assert cycles(graph) == []


def framed(*messages: dict[str, object]) -> bytes:
    """LSP messages as an editor writes them on the daemon's stdin."""
    out = b""
    for message in messages:
        body = json.dumps(message).encode()
        out += b"Content-Length: %d\r\n\r\n" % len(body) + body
    return out


# What an editor's first `{@spell fir` needs none of: they are imported when first used (an
# install, an upload, an encounter block, search), not while the writer waits for completion.
NOT_AT_START = (
    "yaml",
    "importlib.metadata",  # the plugins' entry points are read without it
    "importlib.resources",  # the migrations are read as files
    "d5e_daemon.search.builder",
    "d5e_5etools.loader",
    "d5e_5etools.render",
    "d5e_open5e.loader",
)


def test_the_first_completion_imports_nothing_it_does_not_need(
    db_path: Path, tmp_path: Path
) -> None:
    """`d5e serve` as an editor starts it: initialize, a document, the first completion."""
    uri = (tmp_path / "adventure.md").as_uri()
    text = "# The Ambush\n\nCast {@spell fir\n"
    session = framed(
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}}},
        {"jsonrpc": "2.0", "method": "initialized", "params": {}},
        {
            "jsonrpc": "2.0",
            "method": "textDocument/didOpen",
            "params": {
                "textDocument": {"uri": uri, "languageId": "markdown", "version": 1, "text": text}
            },
        },
        {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "textDocument/completion",
            "params": {"textDocument": {"uri": uri}, "position": {"line": 2, "character": 16}},
        },
        {"jsonrpc": "2.0", "id": 3, "method": "shutdown"},
        {"jsonrpc": "2.0", "method": "exit"},
    )
    command = [sys.executable, "-X", "importtime", "-m", "d5e_daemon", "serve"]
    done = subprocess.run(
        [*command, "--db", str(db_path)],
        input=session,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    assert b'"label": "Fireball"' in done.stdout, done.stdout[-2000:]
    imported = set(re.findall(r"^import time:.*\| +([\w.]+)$", done.stderr.decode(), re.M))
    assert {"lsprotocol.types", "d5e_daemon.features.markdown"} <= imported
    assert not imported & set(NOT_AT_START), sorted(imported & set(NOT_AT_START))


# What a command that reads (`d5e lookup`, `complete`, `search`, `status`, `packs list`) needs
# none of: the daemon's event loop and LSP code are the daemon's; numpy is search's vectors'.
NOT_FOR_A_LOOKUP = ("asyncio", "ssl", "lsprotocol", "pygls", "numpy", *NOT_AT_START)


def test_a_lookup_on_the_command_line_imports_no_daemon_code(db_path: Path) -> None:
    """`d5e lookup` as a shell or script runs it: its answer, with none of `NOT_FOR_A_LOOKUP`
    imported (~60 ms of its CPU were asyncio's and ssl's alone)."""
    command = [sys.executable, "-X", "importtime", "-m", "d5e_daemon", "lookup", "fireball"]
    done = subprocess.run(
        [*command, "--db", str(db_path)], capture_output=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr.decode()
    assert b"3rd-level evocation" in done.stdout
    imported = set(re.findall(r"^import time:.*\| +([\w.]+)$", done.stderr.decode(), re.M))
    assert {"d5e_daemon.app", "d5e_daemon.features.lookup"} <= imported
    assert not imported & set(NOT_FOR_A_LOOKUP), sorted(imported & set(NOT_FOR_A_LOOKUP))
