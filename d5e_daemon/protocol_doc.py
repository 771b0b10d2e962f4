"""Write the reference half of docs/protocol.md from the wire contract (`protocol.py`) and the
daemon's method table (`server.METHODS`): every custom method, its params and its result, each
field with its wire name, type, default and the docstring written under it in `protocol.py`.

    python -m d5e_daemon.protocol_doc          # rewrite docs/protocol.md below its marker
    python -m d5e_daemon.protocol_doc --check  # exit 1 when the page is stale (CI: a test)

Everything above the marker line is written by hand; everything below it is generated.
"""

from __future__ import annotations

import ast
import inspect
import itertools
import sys
import typing
from pathlib import Path
from typing import Any

import msgspec

from . import protocol

PAGE = Path(__file__).resolve().parents[1] / "docs" / "protocol.md"
MARKER = (
    "<!-- generated from d5e_daemon/protocol.py by `python -m d5e_daemon.protocol_doc` "
    "(`make docs`); do not edit below this line -->"
)


def _field_docs() -> dict[str, dict[str, str]]:
    """`{class: {attribute: docstring}}` of protocol.py: the string under each attribute."""
    tree = ast.parse(Path(protocol.__file__).read_text())
    docs: dict[str, dict[str, str]] = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            found: dict[str, str] = {}
            body = node.body
            for prev, nxt in itertools.pairwise(body):
                if (
                    isinstance(prev, ast.AnnAssign)
                    and isinstance(prev.target, ast.Name)
                    and isinstance(nxt, ast.Expr)
                    and isinstance(nxt.value, ast.Constant)
                    and isinstance(nxt.value.value, str)
                ):
                    found[prev.target.id] = " ".join(nxt.value.value.split())
            docs[node.name] = found
    return docs


def _type_name(tp: Any) -> str:
    text = repr(tp) if not isinstance(tp, type) else tp.__name__
    for prefix in ("d5e_daemon.protocol.", "d5e_daemon.records.", "typing.", "<class '"):
        text = text.replace(prefix, "")
    return text.replace("'>", "").replace("NoneType", "null")


def _structs_in(tp: Any) -> list[type[msgspec.Struct]]:
    if isinstance(tp, type) and issubclass(tp, msgspec.Struct):
        return [tp]
    return [s for arg in typing.get_args(tp) for s in _structs_in(arg)]


def _fields(cls: type[msgspec.Struct], docs: dict[str, dict[str, str]]) -> list[str]:
    hints = typing.get_type_hints(cls, include_extras=False)
    own: dict[str, str] = {}
    for base in reversed(cls.__mro__):
        own.update(docs.get(base.__name__, {}))
    rows = ["| field | type | default | meaning |", "|---|---|---|---|"]
    for f in msgspec.structs.fields(cls):
        if f.required:
            default = "required"
        elif f.default is not msgspec.NODEFAULT:
            default = f"`{msgspec.json.encode(f.default).decode()}`"
        else:
            default = f"`{msgspec.json.encode(f.default_factory()).decode()}`"
        kind = _type_name(hints.get(f.name, f.type)).replace("|", "\\|")
        meaning = own.get(f.name, "").replace("|", "\\|")
        rows.append(f"| `{f.encode_name}` | `{kind}` | {default} | {meaning} |")
    return rows if len(rows) > 2 else ["(no fields)"]


def _summary(obj: Any) -> str:
    doc = inspect.getdoc(obj) or ""
    return " ".join(doc.split("\n\n")[0].split())


def generated() -> str:
    """The page's generated half."""
    from .server import METHODS

    docs = _field_docs()
    out = [MARKER, "", "## Methods", ""]
    out += [f"- [`{name}`](#{name.replace('/', '').lower()})" for name, _, _ in METHODS]
    seen: dict[str, type[msgspec.Struct]] = {}
    for name, params, fn in METHODS:
        result = typing.get_type_hints(fn).get("return")
        out += ["", f"### `{name}`", ""]
        if _summary(fn):
            out += [_summary(fn), ""]
        out += [f"Params: `{params.__name__}`", "", *_fields(params, docs), ""]
        out += [f"Result: `{_type_name(result)}`", ""]
        for struct in _structs_in(result):
            out += _fields(struct, docs)
            for f in msgspec.structs.fields(struct):
                for inner in _structs_in(typing.get_type_hints(struct).get(f.name, f.type)):
                    seen.setdefault(inner.__name__, inner)
        for f in msgspec.structs.fields(params):
            for inner in _structs_in(typing.get_type_hints(params).get(f.name, f.type)):
                seen.setdefault(inner.__name__, inner)
    out += ["", "## Types used above", ""]
    done: set[str] = set()
    queue = sorted(seen)
    while queue:
        tname = queue.pop(0)
        if tname in done:
            continue
        done.add(tname)
        struct = seen[tname]
        out += [f"### `{tname}`", ""]
        if _summary(struct):
            out += [_summary(struct), ""]
        out += [*_fields(struct, docs), ""]
        for f in msgspec.structs.fields(struct):
            for inner in _structs_in(typing.get_type_hints(struct).get(f.name, f.type)):
                if inner.__name__ not in done:
                    seen.setdefault(inner.__name__, inner)
                    queue.append(inner.__name__)
        queue.sort()
    return "\n".join(out).rstrip() + "\n"


def page(current: str) -> str:
    """`current` with everything below the marker generated anew."""
    head = current.split(MARKER)[0].rstrip()
    return f"{head}\n\n{generated()}"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    current = PAGE.read_text()
    wanted = page(current)
    if "--check" in args:
        if wanted != current:
            sys.stderr.write("docs/protocol.md is stale: run `make docs`\n")
            return 1
        return 0
    PAGE.write_text(wanted)
    return 0


if __name__ == "__main__":
    sys.exit(main())
