"""`d5e serve | lookup | complete | status | packs … | db …` — the shell face of the same functions
the daemon calls. Readable output in a terminal; `--json` prints exactly what the daemon returns.
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import apsw
import msgspec

from . import __version__, db
from .errors import D5eError, DatabaseError, InvalidParams
from .settings import Settings, build, from_env

log = logging.getLogger("d5e")
Handler = Callable[[argparse.Namespace, Settings], int]


# -- output -----------------------------------------------------------------------------------


def _console() -> Any:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False)


def _console_err() -> Any:
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def _print_json(value: Any) -> None:
    sys.stdout.write(msgspec.json.format(msgspec.json.encode(value)).decode() + "\n")


def _print_markdown(text: str) -> None:
    from rich.markdown import Markdown

    _console().print(Markdown(text))


def _fail(error: D5eError, as_json: bool) -> int:
    if as_json:
        _print_json({"error": {"code": error.code, "message": error.message, "data": error.data}})
    else:
        sys.stderr.write(f"d5e: {error.message}\n")
    return 1


# -- commands ---------------------------------------------------------------------------------


def _open(settings: Settings) -> Any:
    from .app import App

    app = App(settings)
    app.start()
    return app


def cmd_lookup(args: argparse.Namespace, settings: Settings) -> int:
    from .features.lookup import lookup
    from .protocol import LookupParams

    text = " ".join(args.query)
    is_ref = "/" in text and " " not in text
    params = LookupParams(
        ref=text if is_ref else None,
        name=None if is_ref else text,
        collection=args.collection,
        pack=args.pack,
    )
    app = _open(settings)
    try:
        result = lookup(app, params)
    finally:
        app.close()
    if args.json:
        _print_json(result)
        return 0
    _print_markdown(result.markdown)
    console = _console()
    for s in result.shadowed:
        console.print(f"[dim]overrides {s.pack}:{s.ref} (priority {s.priority})[/dim]")
    for s in result.shadowed_by:
        console.print(f"[yellow]overridden by {s.pack}:{s.ref} (priority {s.priority})[/yellow]")
    for a in result.also:
        console.print(f"[dim]also named so: {a.pack}:{a.ref}[/dim]")
    return 0


def cmd_complete(args: argparse.Namespace, settings: Settings) -> int:
    from .features.complete import complete
    from .protocol import CompleteParams

    params = CompleteParams(
        prefix=" ".join(args.prefix),
        collections=args.collection or [],
        pack=args.pack,
        limit=args.limit,
    )
    app = _open(settings)
    try:
        result = complete(app, params)
    finally:
        app.close()
    if args.json:
        _print_json(result)
        return 0
    if not result.items:
        sys.stderr.write("no matches\n")
        return 0
    _print_completions(result.items)
    return 0


def _print_completions(items: Sequence[Any]) -> None:
    from rich.table import Table

    table = Table(box=None, pad_edge=False, show_header=True, header_style="bold")
    table.add_column("name")
    table.add_column("ref", no_wrap=True)
    table.add_column("detail")
    table.add_column("match")
    for item in items:
        table.add_row(item.name, f"{item.pack}:{item.ref}", item.detail, item.match)
    _console().print(table)


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    from .features.status import status

    app = _open(settings)
    try:
        result = status(app)
    finally:
        app.close()
    if args.json:
        _print_json(result)
        return 0
    console = _console()
    console.print(
        f"[bold]d5e {result.version}[/bold]  database {result.database} "
        f"(schema v{result.schema_version})"
    )
    console.print(
        f"profile [bold]{result.profile}[/bold], edition {result.edition}, "
        f"{result.entries} entries visible"
    )
    for p in result.packs:
        state = f"on, priority {p.priority}" if p.enabled else "off"
        console.print(
            f"\n[bold]{p.id}[/bold] {p.title} {p.version} — {p.entries} entries ({state})"
        )
        console.print(f"  license: {p.license or 'unknown'}")
        if p.attribution:
            console.print(f"  [dim]{p.attribution}[/dim]")
    if result.index is not None:
        idx = result.index
        state = "ready" if idx.ready else f"{idx.indexed} of {idx.entries} entries indexed"
        hint = "" if idx.ready else " (run `d5e index`, or let `d5e serve` do it)"
        console.print(f"\nsearch index: {state}{hint}\n  [dim]model {idx.model}[/dim]")
    for name, why in result.failed_plugins.items():
        console.print(f"[red]plugin {name} skipped: {why}[/red]")
    for warning in result.warnings:
        console.print(f"[yellow]{warning}[/yellow]")
    return 0


def _number(text: str) -> int | float | None:
    """`3` → 3, `0.25` or `1/4` → 0.25, anything else → None."""
    text = text.strip()
    if re.fullmatch(r"\d+/[1-9]\d*", text):
        top, bottom = text.split("/")
        return int(top) / int(bottom)
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return None


def _filter_value(text: str) -> Any:
    """`3` → 3, `5..8` → {"min": 5, "max": 8} (either end optional), `true` → True,
    `wizard,bard` → any of them, anything else as text."""
    low, dots, high = text.partition("..")
    if dots:
        ends = (("min", low), ("max", high))
        return {k: v if _number(v) is None else _number(v) for k, v in ends if v.strip()}
    if text.lower() in ("true", "yes", "false", "no"):
        return text.lower() in ("true", "yes")
    if "," in text:
        return [_filter_value(part.strip()) for part in text.split(",") if part.strip()]
    number = _number(text)
    return text if number is None else number


def _filters(pairs: Sequence[str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for pair in pairs:
        name, eq, value = pair.partition("=")
        if not eq or not name.strip():
            raise InvalidParams(f"--filter takes NAME=VALUE (e.g. level=3, cr=5..8), not {pair!r}")
        found[name.strip()] = _filter_value(value.strip())
    return found


def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    from .features.search import search
    from .protocol import SearchParams, decode

    raw = {
        "query": " ".join(args.query),
        "collections": args.collection or [],
        "packs": args.pack or [],
        "edition": args.edition_filter,
        "filters": _filters(args.filter or []),
        "limit": args.limit,
        "offset": args.offset,
        "mode": args.mode,
    }
    params = decode({k: v for k, v in raw.items() if v is not None}, SearchParams)
    app = _open(settings)
    try:
        if params.mode != "keyword" and params.query.strip() and app.search.vectors_ready():
            app.search.embedder.load()
        result = search(app, params)
        ready = app.search.vectors_ready()
    finally:
        app.close()
    if args.json:
        _print_json(result)
        return 0
    if params.query.strip() and params.mode == "hybrid" and not ready:
        sys.stderr.write(
            "d5e: the semantic index is not built yet: keyword results only (run `d5e index`)\n"
        )
    if not result.hits:
        sys.stderr.write("no matches\n")
        return 0
    console = _console()
    for rank, hit in enumerate(result.hits, params.offset + 1):
        console.print(
            f"[bold]{rank:>3}. {hit.name}[/bold]  [cyan]{hit.pack}:{hit.ref}[/cyan]"
            + (f"  [dim]{hit.score:.3f}[/dim]" if params.query.strip() else "")
        )
        console.print(_snippet_text(hit.snippet))
    return 0


def _snippet_text(snippet: str) -> Any:
    """The snippet on one line, dim, its `**matched**` words bold."""
    from rich.text import Text

    text = Text("     ", style="dim")
    for i, part in enumerate(" ".join(snippet.split()).split("**")):
        text.append(part, style="bold" if i % 2 else "dim")
    return text


def cmd_filters(args: argparse.Namespace, settings: Settings) -> int:
    from .features.search import search_filters
    from .protocol import SearchFiltersParams

    app = _open(settings)
    try:
        result = search_filters(app, SearchFiltersParams(collections=args.collection or []))
    finally:
        app.close()
    if args.json:
        _print_json(result)
        return 0
    console = _console()
    for f in result.filters:
        values = ", ".join(str(v) for v in f.values[:30]) + (" …" if len(f.values) > 30 else "")
        console.print(
            f"[bold]{f.name}[/bold] ({f.type}; {', '.join(f.collections)}): {f.description}"
        )
        console.print(f"  [dim]{values}[/dim]")
    return 0


def cmd_index(args: argparse.Namespace, settings: Settings) -> int:
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    app = _open(settings)
    console = _console()
    started = time.perf_counter()
    try:
        with Progress(
            TextColumn("indexing"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("entries"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=_console_err(),
            transient=False,
        ) as bar:
            task = bar.add_task("index", total=None)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            state = app.search.build(progress=progress)
    except KeyboardInterrupt:
        app.search.stop()
        sys.stderr.write("d5e: interrupted; `d5e index` resumes where it stopped\n")
        return 130
    finally:
        app.close()
    elapsed = time.perf_counter() - started
    if args.json:
        _print_json(
            {
                "entries": state.entries,
                "indexed": state.indexed,
                "ready": state.ready,
                "model": state.model,
                "seconds": round(elapsed, 2),
            }
        )
        return 0
    console.print(
        f"search index: {state.indexed} of {state.entries} entries of profile "
        f"{app.profile} indexed ({'ready' if state.ready else 'incomplete'}) in {elapsed:.1f} s"
    )
    return 0


def cmd_db(args: argparse.Namespace, settings: Settings) -> int:
    path = Path(settings.db).expanduser() if settings.db else db.default_path()
    out = sys.stdout
    if args.action == "check":
        version, todo = db.check(path)
        out.write(f"{path}: schema v{version}, latest v{db.latest_version()}\n")
        if not todo:
            out.write("no pending migrations\n")
        for m in todo:
            out.write(f"pending {m.version:04d}_{m.name}\n")
        return 0
    if args.action == "migrate":
        conn = db.connect(path, migrate_now=False)
        try:
            done = db.migrate(conn, path)
        finally:
            conn.close()
        out.write("".join(f"{line}\n" for line in done) or f"{path}: already up to date\n")
        return 0
    out.write(db.rollback(path) + "\n")
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from .codecache import CodeCache

    cache = CodeCache().install()  # before pygls and lsprotocol are imported
    from .server import serve

    serve(settings, on_initialized=cache.uninstall)
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    """What `make run` shows: build the database on the SRD, one lookup, one completion."""
    from . import queries
    from .features.complete import complete
    from .features.lookup import lookup
    from .protocol import CompleteParams, LookupParams

    console = _console()
    console.print("[bold]Building the d5e database on the built-in SRD…[/bold]")
    app = _open(settings)
    try:
        for row in queries.installed_packs(app.conn):
            console.print(f"  {row.pack.id}: {row.entries} entries ({row.pack.title})")
        console.print(f"  database: {app.db_path}\n")
        console.print("[bold]$ d5e lookup fireball[/bold]")
        _print_markdown(lookup(app, LookupParams(name="fireball")).markdown)
        console.print("\n[bold]$ d5e complete 'magic misile'[/bold]")
        _print_completions(complete(app, CompleteParams(prefix="magic misile", limit=5)).items)
    finally:
        app.close()
    console.print(
        "\nFor an editor, start the daemon with [bold].venv/bin/d5e serve[/bold] "
        "(JSON-RPC over stdio); see README.md for VS Code, Neovim and Emacs."
    )
    return 0


# -- argument parsing -------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", help="database file (default: $D5E_HOME/d5e.sqlite3 or XDG data)")
    common.add_argument("--edition", choices=["2014", "2024"], help="which SRD is on")
    common.add_argument("--profile", help="profile (campaign) name")
    common.add_argument("--log-level", choices=["debug", "info", "warning", "error"])
    common.add_argument("--log-file", help="write logs here instead of stderr")

    top = argparse.ArgumentParser(prog="d5e", description=__doc__)
    top.add_argument("--version", action="version", version=f"d5e {__version__}")
    sub = top.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", parents=[common], help="run the JSON-RPC/LSP daemon on stdio")
    p.set_defaults(run=cmd_serve)

    p = sub.add_parser("lookup", parents=[common], help="show an entry by ref or name")
    p.add_argument("query", nargs="+", help="spells/fireball, srd-2024:monsters/aboleth or a name")
    p.add_argument("--collection")
    p.add_argument("--pack")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_lookup)

    p = sub.add_parser("complete", parents=[common], help="names matching a prefix, best first")
    p.add_argument("prefix", nargs="+")
    p.add_argument("--collection", action="append", help="limit to this collection (repeatable)")
    p.add_argument("--pack")
    p.add_argument("--limit", type=int)
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_complete)

    p = sub.add_parser("status", parents=[common], help="versions, database, packs")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_status)

    p = sub.add_parser(
        "search", parents=[common], help="search by meaning and keywords, or list by filters"
    )
    p.add_argument("query", nargs="*", help="words or a sentence (may be empty with --filter)")
    p.add_argument("--collection", action="append", help="only this collection (repeatable)")
    p.add_argument("--pack", action="append", help="only this pack (repeatable)")
    p.add_argument("--in-edition", dest="edition_filter", help="only packs of this edition")
    p.add_argument(
        "--filter",
        "-f",
        action="append",
        metavar="NAME=VALUE",
        help="level=3, school=evocation, cr=5..8, class=wizard,bard, ritual=true",
    )
    p.add_argument("--limit", type=int)
    p.add_argument("--offset", type=int)
    p.add_argument("--mode", choices=["hybrid", "keyword", "semantic"])
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_search)

    p = sub.add_parser("filters", parents=[common], help="the search filters and their values")
    p.add_argument("--collection", action="append")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_filters)

    p = sub.add_parser("index", parents=[common], help="build the semantic search index now")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_index)

    p = sub.add_parser("db", parents=[common], help="database migrations")
    p.add_argument("action", choices=["check", "migrate", "rollback"])
    p.set_defaults(run=cmd_db)

    p = sub.add_parser("demo", parents=[common], help="build the database and show what d5e does")
    p.set_defaults(run=cmd_demo)
    return top


def setup_logging(level: str, log_file: str | None) -> None:
    handler: logging.Handler = (
        logging.FileHandler(log_file, encoding="utf-8")
        if log_file
        else logging.StreamHandler(sys.stderr)
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("pygls").setLevel(max(logging.WARNING, root.level))


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    flags = {
        "db": args.db,
        "edition": args.edition,
        "profile": args.profile,
        "logLevel": args.log_level,
    }
    as_json = bool(getattr(args, "json", False))
    try:
        settings = build(from_env(), flags)
        setup_logging(settings.log_level, args.log_file)
        code: int = args.run(args, settings)
        return code
    except D5eError as exc:
        return _fail(exc, as_json)
    except apsw.Error as exc:
        message = f"database error: {exc} (is the file damaged? `PRAGMA integrity_check` tells)"
        return _fail(DatabaseError(message), as_json)
    except KeyboardInterrupt:
        return 130
