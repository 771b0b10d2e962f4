"""`d5e serve | lookup | complete | status | packs … | db …` — the shell face of the same functions
the daemon calls. Readable output in a terminal; `--json` prints exactly what the daemon returns.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import re
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import apsw
import msgspec

from . import __version__, db, workspace
from .errors import D5eError, DatabaseError, InvalidParams, PackError
from .settings import Settings, build, check, from_env

log = logging.getLogger("d5e")
Handler = Callable[[argparse.Namespace, Settings], int]


# -- output -----------------------------------------------------------------------------------
#
# What the shell prints comes from packs, documents and file names that may be somebody else's
# (a campaign folder): a control character there is shown as `\x1b`, never sent to the terminal
# (an escape sequence can set the clipboard or the title, hide or rewrite lines), and so is a
# bidirectional override (`\u202e`: text shown in another order than it is). Rich's markup is
# written only by d5e (`_m` escapes what is interpolated), so a name cannot make a link or
# break the line's markup.

_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def safe_text(text: str) -> str:
    """`text` with its control characters (but newlines and tabs) and bidirectional overrides
    written as escapes (`\x1b`, `\u202e`)."""
    return _UNSAFE.sub(lambda m: m[0].encode("unicode_escape").decode("ascii"), text)


class _SafeStream:
    """A text stream whose writes go through `safe_text` (the CLI's stdout and stderr)."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        self.stream.write(safe_text(text))
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def write_document(self, text: str) -> None:
        """A document's text (a diff, a stat block): as it is into a file or a pipe."""
        self.stream.write(safe_text(text) if self.stream.isatty() else text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


def _raw(stream: Any) -> Any:
    return stream.stream if isinstance(stream, _SafeStream) else stream


def _write_document(text: str) -> None:
    out = sys.stdout
    out.write_document(text) if isinstance(out, _SafeStream) else out.write(text)


def _m(value: object) -> str:
    """A value interpolated into Rich markup, as text."""
    from rich.markup import escape

    return escape(str(value))


def _safe_console(**options: Any) -> Any:
    """A Rich console writing to the real stream, its text (not its own styles) made safe."""
    from rich.console import Console
    from rich.segment import Segment

    class SafeConsole(Console):
        def _render_buffer(self, buffer: Any) -> str:
            return super()._render_buffer(
                s if s.control else Segment(safe_text(s.text), s.style) for s in buffer
            )

    stream = sys.stderr if options.pop("stderr", False) else sys.stdout
    return SafeConsole(file=_raw(stream), **options)


PIPE_WIDTH = 10_000
"""The width of what is printed into a file or a pipe (no terminal, no `$COLUMNS`): a line is
not cut at 80 columns mid-phrase for the tool that reads it (`grep`, an editor, a script);
`COLUMNS=100 d5e …` still wraps at 100."""


def _console() -> Any:
    console = _safe_console(highlight=False, soft_wrap=False)
    if not console.is_terminal and not os.environ.get("COLUMNS"):
        console.width = PIPE_WIDTH
    return console


def _console_err() -> Any:
    return _safe_console(stderr=True, highlight=False)


def _print_json(value: Any) -> None:
    sys.stdout.write(msgspec.json.format(msgspec.json.encode(value)).decode() + "\n")


def _markdown(text: str) -> Any:
    """`text` for rich to render; into a pipe (the console `PIPE_WIDTH` wide) its horizontal
    rules and centred headings (`# …`) at most 80 columns wide (a heading was centred at
    column 5,000)."""
    from rich.markdown import Heading, HorizontalRule, Markdown

    def narrow(kind: Any) -> Any:
        class Narrow(kind):  # type: ignore[misc]
            def __rich_console__(self, console: Any, options: Any) -> Any:
                if console.is_terminal:  # the terminal's width, as rich gives it
                    yield from super().__rich_console__(console, options)
                    return
                within = options.update(width=min(options.max_width, 80))
                for part in super().__rich_console__(console, within):
                    yield from console.render(part, within)

        return Narrow

    class Card(Markdown):
        elements = {
            **Markdown.elements,
            "hr": narrow(HorizontalRule),
            "heading_open": narrow(Heading),
        }

    return Card(text)


def _print_markdown(text: str) -> None:
    """Rendered for the terminal; into a pipe or file, without the spaces rich pads each line
    to the console's width with."""
    console = _console()
    if console.is_terminal:
        console.print(_markdown(text))
        return
    with console.capture() as captured:
        console.print(_markdown(text))
    sys.stdout.write("".join(line.rstrip() + "\n" for line in captured.get().splitlines()))


def _fail(error: D5eError, as_json: bool) -> int:
    message = error.said(_option)
    if as_json:
        _print_json({"error": {"code": error.code, "message": message, "data": error.data}})
    else:
        sys.stderr.write(f"d5e: {message}\n")
    return 1


def _fail_on(exc: D5eError | apsw.Error, as_json: bool) -> int:
    """`_fail` with a database's error said as d5e says it."""
    if isinstance(exc, D5eError):
        return _fail(exc, as_json)
    error: DatabaseError | None = db.storage_error(exc)
    if error is None:
        message = f"database error: {exc} (is the file damaged? `PRAGMA integrity_check` tells)"
        error = DatabaseError(message)
    return _fail(error, as_json)


def _option(name: str) -> str:
    """A request's parameter as this face's option: `replace` → `--replace`, `dryRun` →
    `--dry-run`."""
    return "--" + re.sub(r"[A-Z]", lambda m: "-" + m[0].lower(), name)


@contextmanager
def _said_as_options(options: dict[str, str]) -> Iterator[None]:
    """A request's invalid param said as the option that gave it (`options`: the request's
    field → its option): "Expected `int` >= 1 - at `$.limit`" → "--limit: Expected `int` >=
    1"; a filter's range as `-f` takes it (`5..8`), not as JSON."""
    from .features.search import RANGE

    try:
        yield
    except InvalidParams as exc:
        path = exc.data.get("path", "") if isinstance(exc.data, dict) else ""
        field = re.match(r"\$\.(\w+)", path)
        if field is None or field[1] not in options:
            raise
        message = exc.message.removesuffix(f" - at `{path}`")
        message = message.replace(RANGE, "a range (5..8, 5.., ..1/2)")
        if field[1] != "filters":  # a filter's message names it
            message = f"{options[field[1]]}: {message}"
        raise InvalidParams(message, exc.data, flag=exc.flag) from None


# -- commands ---------------------------------------------------------------------------------


@contextmanager
def _opened(settings: Settings, reads_only: bool = False) -> Iterator[Any]:
    """The app on the settings' database, started, and closed however the command ends.
    `reads_only`: a command that reads, which leaves a profile saved for other settings as
    it is (`App.start`)."""
    from .app import App

    app = App(settings)
    app.library.log_ties = not reads_only  # status and packs list print them; others need not
    app.start(reads_only)
    try:
        yield app
    finally:
        app.close()


def _ref_or_name(words: Sequence[str]) -> tuple[str | None, str | None]:
    """The words of `d5e lookup fire ball` as (ref, name): `spells/fireball` is a ref; anything
    else, `../etc/passwd` too, is a name, looked up and suggested for as one."""
    from .refs import REF_RE

    text = " ".join(words)
    return (text, None) if REF_RE.fullmatch(text) else (None, text)


_FILES_HELP = "Markdown files, or folders (their *.md and *.markdown files)"


def _markdown_files(names: Sequence[str]) -> list[Path]:
    """The files `d5e check` and `d5e link` are given, a folder standing for its Markdown
    files (`*.md`, `*.markdown`, as a campaign is read: hidden folders and `node_modules`
    left out)."""
    from .campaign import list_markdown

    files: list[Path] = []
    for name in names:
        path = Path(name)
        files.extend(list_markdown(path)[0] if path.is_dir() else [path])
    return files


def _pasted_ref(app: Any, text: str) -> str | None:
    """The ref of what a writer pastes from a document or a card: a whole tag (`{@spell
    fireball}`, `{@creature imp, enhanced|EnhancedDevils}`: the entry the editor's hover shows
    for it; one that names nothing is NotFound with the editor's message) or a card's link
    (`d5e://srd-2014/spells/fireball.md`). None for a name."""
    from .errors import NotFound
    from .features.documents import uri_ref
    from .features.tags import Resolver
    from .tagsyntax import find_tags

    text = text.strip()
    if text.startswith("d5e://"):
        return uri_ref(text)
    tags = find_tags([text]) if text.startswith("{@") else []
    if len(tags) != 1 or (tags[0].start, tags[0].end) != (0, len(text)):
        return None
    resolution = Resolver(app).resolve(tags[0])
    if resolution.row is None:
        raise NotFound(resolution.message)
    return resolution.row.qualified_ref


def _entry_words(app: Any, words: Sequence[str]) -> tuple[str | None, str | None]:
    """`_ref_or_name`, a pasted tag or card link (`_pasted_ref`) read as its ref."""
    ref, name = _ref_or_name(words)
    if name is not None and (pasted := _pasted_ref(app, name)) is not None:
        return pasted, None
    return ref, name


def cmd_lookup(args: argparse.Namespace, settings: Settings) -> int:
    from .features.lookup import lookup
    from .protocol import LookupParams

    with _opened(settings, reads_only=True) as app:
        ref, name = _entry_words(app, args.query)
        params = LookupParams(ref=ref, name=name, collection=args.collection, pack=args.pack)
        result = lookup(app, params)
    if args.json:
        _print_json(result)
        return 0
    _print_markdown(result.markdown)
    console = _console()
    for s in result.shadowed:
        console.print(f"[dim]overrides {_m(s.pack)}:{_m(s.ref)} (priority {s.priority})[/dim]")
    for s in result.shadowed_by:
        console.print(
            f"[yellow]overridden by {_m(s.pack)}:{_m(s.ref)} (priority {s.priority})[/yellow]"
        )
    for a in result.also:
        console.print(f"[dim]also named so: {_m(a.pack)}:{_m(a.ref)}[/dim]")
    return 0


def cmd_complete(args: argparse.Namespace, settings: Settings) -> int:
    from .features.complete import complete
    from .protocol import CompleteParams, decode

    raw = {
        "prefix": " ".join(args.prefix),
        "collections": args.collection or [],
        "pack": args.pack,
        "limit": args.limit,
    }
    with _said_as_options({"limit": "--limit", "collections": "--collection", "pack": "--pack"}):
        params = decode({k: v for k, v in raw.items() if v is not None}, CompleteParams)
    with _opened(settings, reads_only=True) as app:
        result = complete(app, params)
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
        table.add_row(_m(item.name), _m(f"{item.pack}:{item.ref}"), _m(item.detail), _m(item.match))
    _console().print(table)


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    from .features.status import status

    with _opened(settings, reads_only=True) as app:
        result = status(app)
    if args.json:
        _print_json(result)
        return 0
    console = _console()
    console.print(
        f"[bold]d5e {result.version}[/bold]  database {_m(result.database)} "
        f"(schema v{result.schema_version})"
    )
    console.print(
        f"profile [bold]{_m(result.profile)}[/bold], edition {result.edition}, "
        f"{result.entries} entries visible"
    )
    for p in result.packs:
        state = f"on, priority {p.priority}" if p.enabled else "off"
        console.print(
            f"\n[bold]{_m(p.id)}[/bold] {_m(p.title)} {_m(p.version)} — {_entries(p.entries)} "
            f"({state})"
        )
        console.print(f"  license: {_m(p.license or 'unknown')}")
        if p.attribution:
            console.print(f"  [dim]{_m(p.attribution)}[/dim]")
    if result.index is not None:
        idx = result.index
        state = "ready" if idx.ready else f"{idx.indexed} of {idx.entries} entries indexed"
        hint = "" if idx.ready else " (run `d5e index`, or let `d5e serve` do it)"
        console.print(f"\nsearch index: {state}{hint}\n  [dim]model {idx.model}[/dim]")
    for name, why in result.failed_plugins.items():
        console.print(f"[red]plugin {_m(name)} skipped: {_m(why)}[/red]")
    for warning in result.warnings:
        console.print(f"[yellow]{_m(warning)}[/yellow]")
    return 0


def cmd_check(args: argparse.Namespace, settings: Settings) -> int:
    """The editor's diagnostics for Markdown files, as `file:line:col: severity [code] message`
    (columns count characters); exits 1 when there are warnings, 2 when a file could not be
    read."""
    from lsprotocol import types
    from pygls.workspace import TextDocument
    from pygls.workspace.position_codec import PositionCodec

    from .features.markdown import diagnostics
    from .features.tags import Resolver

    # no file named: the campaign's (the folder of the nearest d5e.toml), as `d5e references`
    # reads it, else the current folder's; it answered with a usage error
    names = args.files or [os.path.relpath(settings.workspace or Path.cwd())]
    with _opened(settings, reads_only=True) as app:
        found: list[dict[str, Any]] = []
        unread = 0  # named, and the other files still checked (as `d5e link` does)
        resolver = Resolver(app)
        files = _markdown_files(names)
        if not files:  # it said nothing: as if every file were fine
            sys.stderr.write(f"d5e: no Markdown files (*.md, *.markdown) in {', '.join(names)}\n")
        for path in files:
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                sys.stderr.write(f"d5e: cannot read {path}: {exc}\n")
                unread += 1
                continue
            doc = TextDocument(
                path.absolute().as_uri(),
                text,
                language_id="markdown",
                position_codec=PositionCodec(types.PositionEncodingKind.Utf32),
            )
            # every problem: a file checked is read to its end (the editor shows 500)
            for d in diagnostics(resolver, doc, cap=sys.maxsize):
                severity = types.DiagnosticSeverity(d.severity or 1).name.lower()
                found.append(
                    {
                        "file": str(path),
                        "line": d.range.start.line + 1,
                        "column": d.range.start.character + 1,
                        "endLine": d.range.end.line + 1,
                        "endColumn": d.range.end.character + 1,
                        "severity": severity,
                        "code": d.code,
                        "message": d.message,
                    }
                )
    if args.json:
        _print_json(found)
    else:
        for f in found:
            sys.stdout.write(
                f"{f['file']}:{f['line']}:{f['column']}: {f['severity']} [{f['code']}] "
                f"{f['message']}\n"
            )
    if unread:
        return 2
    return 1 if any(f["severity"] in ("error", "warning") for f in found) else 0


def cmd_references(args: argparse.Namespace, settings: Settings) -> int:
    """Where an entry is mentioned in the campaign's Markdown files (tags and prose names),
    and the entries whose text links to it."""
    from .campaign import Campaign
    from .features.lookup import find
    from .features.references import references
    from .features.tags import Resolver
    from .protocol import LookupParams, ReferencesParams

    folder = Path(args.folder) if args.folder else Path(settings.workspace or Path.cwd())
    if not folder.is_dir():
        raise InvalidParams(f"{folder}: not a folder")
    with _opened(settings, reads_only=True) as app:
        ref, name = _entry_words(app, args.ref)
        if name is not None:  # `d5e references goblin`, as `d5e lookup goblin` finds it
            ref = find(app, LookupParams(name=name))[0].qualified_ref
        params = ReferencesParams(ref=ref or "", links=not args.no_links)
        result = references(app, params, Campaign(folder, Resolver(app)))
    if args.json:
        _print_json(result)
        return 0
    out = sys.stdout
    entry = result.entry
    out.write(f"{entry.name} ({entry.pack}:{entry.ref}): {len(result.mentions)} mention(s) ")
    out.write(f"in {result.workspace} ({result.files} Markdown files)\n")
    for m in result.mentions:
        count = f" ×{m.count}" if m.count == m.count_max else f" ×{m.count}–{m.count_max}"
        count = "" if count == " ×1" else count
        shown = os.path.relpath(m.path, Path.cwd())
        out.write(f"{shown}:{m.line + 1}:{m.start + 1}: [{m.kind}{count}] {m.context.strip()}\n")
    if result.linked_from:
        out.write("Linked from:\n")
        for linked in result.linked_from:
            out.write(f"  {linked.how:8} {linked.name} ({linked.pack}:{linked.ref})\n")
    for skipped in result.skipped:
        sys.stderr.write(f"d5e: left out {skipped}\n")
    return 0


def cmd_statblock(args: argparse.Namespace, settings: Settings) -> int:
    """An entry's card to paste into a document (Markdown, or Homebrewery's block)."""
    from .features.statblocks import stat_block_entry
    from .protocol import StatBlockParams, decode

    with _opened(settings, reads_only=True) as app:
        ref, name = _entry_words(app, args.query)
        params = StatBlockParams(ref=ref, name=name, collection=args.collection, style=args.style)
        result = stat_block_entry(app, decode(msgspec.to_builtins(params), StatBlockParams))
    if args.json:
        _print_json(result)
    else:
        _write_document(result.text)
    return 0


def cmd_link(args: argparse.Namespace, settings: Settings) -> int:
    """`d5e link`: "Link rules terms" over whole files; names and prose names become tags.
    Writes the files (atomically, keeping their permissions), or with --diff prints the change,
    or with --check only says whether something would be linked (exit 1). A file that cannot be
    read or written is named and left as it was; the others are still done (exit 2)."""
    import difflib
    import shutil
    import tempfile

    from .features.markdown import link_text
    from .features.tags import Resolver

    with _opened(settings, reads_only=True) as app:
        changed = failed = 0
        report: list[dict[str, Any]] = []
        resolver = Resolver(app)
        for path in _markdown_files(args.files):
            try:
                data = path.read_bytes()
                text = data.decode("utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                sys.stderr.write(f"d5e: cannot read {path}: {exc}\n")
                failed += 1
                if args.json:  # each file named in the report, the one left alone too
                    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
                    report.append(
                        {"file": str(path), "links": 0, "ambiguous": [], "edits": [],
                         "error": f"cannot read: {reason}"}
                    )  # fmt: skip
                continue
            new, edits, skipped = link_text(resolver, text)
            report.append(
                {
                    "file": str(path),
                    "links": len(edits),
                    "ambiguous": skipped,
                    "edits": [
                        {"line": e.line + 1, "column": e.start + 1, "text": e.new_text}
                        for e in edits
                    ],
                }
            )
            if new == text:
                continue
            changed += 1
            if args.diff and not args.json:
                old_name, new_name = (
                    (str(path), str(path)) if path.is_absolute() else (f"a/{path}", f"b/{path}")
                )
                _write_document(
                    "".join(
                        difflib.unified_diff(
                            text.splitlines(keepends=True),
                            new.splitlines(keepends=True),
                            old_name,
                            new_name,
                        )
                    )
                )
            elif not args.check and not args.diff:
                # a new file of its own (O_EXCL: never one planted there, never through a
                # link), renamed over the document
                tmp: Path | None = None
                try:
                    fd, name = tempfile.mkstemp(".d5e-link", f".{path.name}.", path.parent)
                    tmp = Path(name)
                    with os.fdopen(fd, "wb") as f:
                        f.write(new.encode("utf-8"))
                    shutil.copymode(path, tmp)
                    os.replace(tmp, path)
                except OSError as exc:
                    if tmp is not None:
                        tmp.unlink(missing_ok=True)
                    sys.stderr.write(f"d5e: cannot write {path}: {exc}\n")
                    report[-1]["error"] = f"cannot write: {exc.strerror or exc}"
                    failed += 1
    if args.json:
        _print_json(report)
    elif not args.diff:
        for r in report:
            verb = "would link" if args.check else "linked"
            line = f"{r['file']}: {verb} {r['links']} term(s)"
            if "error" in r:
                line = f"{r['file']}: {r['links']} term(s) not linked, {r['error']}"
            if r["ambiguous"]:
                line += f"; ambiguous, left alone: {', '.join(r['ambiguous'])}"
            sys.stdout.write(line + "\n")
    return 2 if failed else 1 if args.check and changed else 0


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


_SCOPES = ("collections", "packs", "edition")
"""The fields whose hints (`unknown_scope_hints`) start with their name."""


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
        # the text's scores say why a hit is above higher ones (its name): asked of each hit
        "explain": args.explain or not args.json or None,
    }
    options = {
        **{name: f"--{name}" for name in ("limit", "offset", "mode")},
        "query": "WORDS",  # what the command line calls them (`d5e search [WORDS …]`)
        **{"collections": "--collection", "packs": "--pack", "edition": "--in-edition"},
        "filters": "--filter",
    }
    with _said_as_options(options):
        params = decode({k: v for k, v in raw.items() if v is not None}, SearchParams)
    with _opened(settings, reads_only=True) as app, _said_as_options(options):
        if params.mode != "keyword" and params.query.strip() and app.search.vectors_ready():
            app.search.embedder.load()
        result = search(app, params)
        state = None if app.search.vectors_ready() else app.search.state()
    if args.json:
        _print_json(result)
        return 0
    if params.query.strip() and params.mode == "hybrid" and state is not None:
        how = (
            f"is not up to date ({state.indexed} of {state.entries} entries indexed)"
            if state.indexed
            else "is not built yet"
        )
        sys.stderr.write(f"d5e: the semantic index {how}: keyword results only (run `d5e index`)\n")
    for hint in result.hints:  # the scope's hints name the request's field: say the option
        field, colon, rest = hint.partition(": ")
        said = options.get(field) if colon and field in _SCOPES else None
        sys.stderr.write(f"d5e: {said}: {rest}\n" if said else f"d5e: {hint}\n")
    if not result.hits:
        sys.stderr.write("no matches\n")
        return 0
    _print_hits(
        result.hits, params.offset + 1, scores=bool(params.query.strip()), explain=args.explain
    )
    return 0


def _print_hits(
    hits: Sequence[Any], first: int = 1, scores: bool = True, explain: bool = False
) -> None:
    """Each hit: rank, name, ref and score; a hit named as searched, which goes first whatever
    its score, says so beside it (`0.108, named as searched`), so that a higher score below it
    is no puzzle. `explain`: the lines of why."""
    console = _console()
    for rank, hit in enumerate(hits, first):
        why = getattr(hit, "explain", None)
        named = ", named as searched" if why is not None and why.named else ""
        console.print(
            f"[bold]{rank:>3}. {_m(hit.name)}[/bold]  [cyan]{_m(hit.pack)}:{_m(hit.ref)}[/cyan]"
            + (f"  [dim]{hit.score:.3f}{named}[/dim]" if scores else "")
        )
        console.print(_snippet_text(hit.snippet))
        if getattr(hit, "also", None):
            also = ", ".join(f"{a.pack}:{a.ref}" for a in hit.also)
            console.print(f"     [dim]also in {_m(also)}[/dim]", highlight=False)
        if explain and why is not None:
            console.print(_explain_text(why))


def _explain_text(why: Any) -> Any:
    """A hit's explanation (`SearchExplain`) on a few dim lines."""
    from rich.text import Text

    def part(label: str, score: float | None, rank: int | None) -> str:
        return f"{label} {score:.3f} (#{rank})" if score is not None else f"{label} -"

    parts = [part("keyword", why.keyword, why.keyword_rank)]
    parts.append(part("vector", why.vector, why.vector_rank))
    if why.coverage is not None:
        parts.append(f"words {why.coverage:.0%}")
    for name, value in why.boosts.items():
        met = f" ({', '.join(why.filters)})" if name == "filter words" and why.filters else ""
        parts.append(f"{value:+.3f} {name}{met}")
    if why.keyword_weight is not None and why.vector_weight is not None:
        parts.append(f"weighed keyword {why.keyword_weight:.2f} : vector {why.vector_weight:.2f}")
    if why.named:
        parts.append("the whole name: first")
    if why.without_scene:
        parts.append(f"meaning also without the scene: “{why.without_scene}”")
    text = Text("     why: " + ", ".join(parts), style="dim italic")
    if why.passage:
        text.append("\n     passage: " + " ".join(why.passage.split())[:300], style="dim")
    return text


def _snippet_text(snippet: str) -> Any:
    """The snippet on one line, dim, its `**matched**` words bold."""
    from rich.text import Text

    text = Text("     ", style="dim")
    for i, part in enumerate(" ".join(snippet.split()).split("**")):
        text.append(part, style="bold" if i % 2 else "dim")
    return text


def cmd_filters(args: argparse.Namespace, settings: Settings) -> int:
    from .features.search import search_filters
    from .filters import value_text
    from .protocol import SearchFiltersParams

    with _opened(settings, reads_only=True) as app:
        result = search_filters(app, SearchFiltersParams(collections=args.collection or []))
    if args.json:
        _print_json(result)
        return 0
    console = _console()
    for f in result.filters:
        values = ", ".join(value_text(v) for v in f.values[:30]) + (
            " …" if len(f.values) > 30 else ""
        )
        console.print(
            f"[bold]{f.name}[/bold] ({f.type}; {_m(', '.join(f.collections))}): {_m(f.description)}"
        )
        console.print(f"  [dim]{_m(values)}[/dim]")
    return 0


def _party(text: str) -> list[int]:
    try:
        return [int(level) for level in re.split(r"[\s,]+", text.strip()) if level]
    except ValueError:
        raise InvalidParams(
            f"--party takes the characters' levels, e.g. 3,3,3,3 (not {text!r})",
            {"path": "--party"},
        ) from None


def cmd_encounter(args: argparse.Namespace, settings: Settings) -> int:
    from .features.encounter import cr_text, encounter, ends_text
    from .protocol import EncounterParams, decode
    from .quantity import parse_groups

    party, _ = settings.party_levels()
    if args.party is not None:
        party = _party(args.party)
    if not party:
        raise InvalidParams(
            "no party: give the characters' levels with --party 3,3,3,3, or write "
            "party = [3, 3, 3, 3] in the campaign's d5e.toml"
        )
    raw = {"party": party, "monsters": parse_groups(args.monsters), "rules": args.rules}
    params = decode({k: v for k, v in raw.items() if v is not None}, EncounterParams)
    result = _run_feature(settings, encounter, params, reads_only=True)
    if args.json:
        _print_json(result)
        return 0
    console = _console()
    console.print(f"[bold]{_m(result.summary)}[/bold]  [dim]({result.rules} rules)[/dim]")
    for m in result.per_monster:
        cr = f"CR {cr_text(m.cr)}, " if m.cr is not None else ""
        where = f"  [cyan]{_m(m.pack)}:{_m(m.ref)}[/cyan]" if m.ref else ""
        count, total = ends_text(m.count, m.count_max), ends_text(m.total_xp, m.total_xp_max)
        console.print(f"  {count} × {_m(m.name)} ({cr}{m.xp:,} XP each) = {total} XP{where}")
    if result.rules == "2014":
        xp = ends_text(result.xp, result.xp_max, " XP")
        multiplier = ends_text(result.multiplier, result.multiplier_max, spec="g")
        adjusted = ends_text(result.adjusted_xp, result.adjusted_xp_max, " XP adjusted")
        console.print(f"  {xp} × {multiplier} = {adjusted}")
    limits = " · ".join(f"{name} {xp:,}" for name, xp in result.thresholds.items())
    console.print(
        f"  [dim]party {'thresholds' if result.rules == '2014' else 'budget'}: {limits}[/dim]"
    )
    for note in result.notes:
        console.print(f"  [yellow]{_m(note)}[/yellow]")
    return 0


def _waiting_line(message: str) -> str:
    return f"d5e: {message} to finish, then indexing what it left"


def _build_index(app: Any) -> Any:
    """Build the profile's search index with a progress bar and ETA on stderr (none when the
    index is ready: it said "indexing … 0/0 entries")."""
    if app.search.vectors_ready():  # another indexer may still hold the lock: say so
        return app.search.build(waiting=lambda m: sys.stderr.write(_waiting_line(m) + "\n"))
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

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

        def waiting(message: str) -> None:  # above the bar, which shows no total meanwhile
            bar.console.print(_waiting_line(message), markup=False, highlight=False, soft_wrap=True)

        return app.search.build(progress=progress, waiting=waiting)


def cmd_index(args: argparse.Namespace, settings: Settings) -> int:
    with _opened(settings) as app:
        console = _console()
        started = time.perf_counter()
        try:
            state = _build_index(app)
        except KeyboardInterrupt:
            app.search.stop()
            sys.stderr.write("d5e: interrupted; `d5e index` resumes where it stopped\n")
            return 130
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
    from .codecache import CodeCache, installed

    began = time.perf_counter() - process_age()  # the start, as the log tells it
    _told_it_waits("d5e serve", "an editor's language client (docs/editors.md)")
    # Importing pygls and lsprotocol builds hundreds of classes: the garbage collector would
    # walk every object made so far many times over (~10 % of the start) to find no garbage.
    # It is back on once `initialize` is answered (`server._initialize`, after `gc.freeze`).
    gc.disable()
    # Before pygls and lsprotocol are imported (`d5e serve` installed it before d5e's modules).
    cache = installed() or CodeCache().install()
    from .server import serve

    return serve(from_env(), _flags(args), on_initialized=cache.uninstall, began=began)


def _told_it_waits(command: str, whom: str) -> None:
    """Typed in a terminal, a server seemed to hang: it waits for its client's messages on
    stdin. Said on stderr then (never when a client started it: its stdin is a pipe)."""
    if sys.stdin.isatty():
        sys.stderr.write(
            f"{command}: waiting for {whom} on stdin (JSON-RPC); it is started by that client, "
            "not typed. Ctrl-C stops it; `d5e --help` lists the commands to type.\n"
        )


def process_age() -> float:
    """Seconds since this process started (Linux; elsewhere 0: since `main`)."""
    try:
        stat = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        started = int(stat[19]) / os.sysconf("SC_CLK_TCK")  # field 22: starttime, in ticks
        return max(0.0, time.clock_gettime(time.CLOCK_BOOTTIME) - started)
    except (OSError, ValueError, IndexError, AttributeError):
        return 0.0


def cmd_mcp(args: argparse.Namespace, settings: Settings) -> int:
    """The MCP server for AI assistants, on stdio, over the same database and profile."""
    # Importing the MCP SDK builds ~560 pydantic models: the garbage collector would walk
    # every object made so far again and again (~10 % of the start) to find no garbage. It is
    # back on once the server is made (`mcp_server.serve`, after `gc.freeze`), as for `serve`.
    gc.disable()
    _told_it_waits("d5e mcp", "an MCP client: an AI assistant (docs/mcp.md)")
    from .mcp_server import allow_writes, serve

    failed: Exception | None = None
    with _opened(settings) as app:
        if problem := getattr(
            args, "config_problem", None
        ):  # as `d5e serve` says it (the client is told: `mcp_server`)
            log.warning("%s%s", workspace.NOT_APPLIED, problem)
            app.library.warnings.insert(0, f"{workspace.NOT_APPLIED}{problem}")
        app.search.ensure_attributes()
        try:
            code = serve(app, writes=allow_writes(args.allow_writes))
        except Exception as exc:  # said once the database is closed, then the exit below
            failed, code = exc, 1
    if isinstance(failed, D5eError | apsw.Error):
        _fail_on(failed, as_json=False)
    elif failed is not None:  # a bug: its traceback to the log
        log.error("the MCP server stopped on an error", exc_info=failed)
        sys.stderr.write(f"d5e: the MCP server stopped on an error: {failed!r}\n")
    if app.search.loading():
        # The model still loading (begun when the client said `initialized`): it cannot be
        # interrupted (onnxruntime makes its session in C++), and an interpreter finalized
        # while it runs aborts the process (exit -6). The database is closed: leave now,
        # output flushed, rather than wait ~1.4 s for a model nobody will use.
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


# -- d5e packs … ------------------------------------------------------------------------------


def _run_feature(
    settings: Settings, fn: Callable[..., Any], *params: Any, reads_only: bool = False
) -> Any:
    """Open the app, run one feature function (plain or async), close the app. Params built
    from the command line are checked as a request's are (`--collection` of 100 characters,
    a priority past ±1,000,000), and a refusal names the argument ("priority: Expected `int`
    <= 1000000"; over JSON-RPC "- at `$.priority`", the path `--json` keeps in its data)."""
    import inspect

    from .protocol import decode

    fields = {f for p in params for f in p.__struct_encode_fields__}
    with _said_as_options({field: field for field in fields}):
        params = tuple(decode(msgspec.to_builtins(p), type(p)) for p in params)
    with _opened(settings, reads_only) as app:
        result = fn(app, *params)
        if not inspect.iscoroutine(result):
            return result
        import asyncio  # only then: a command that reads never loads it (~60 ms of its start)

        return asyncio.run(result)


def _print_problems(problems: Sequence[Any]) -> None:
    """`file:line:col: field: message`, with files under the current folder shown relative,
    also where the message names one (`duplicate ref … (first at spells/a.json:1)`)."""
    here = str(Path.cwd()) + os.sep
    for problem in problems:
        if problem.file.startswith(here):
            problem = msgspec.structs.replace(problem, file=problem.file[len(here) :])
        if f" {here}" in problem.message:
            problem = msgspec.structs.replace(
                problem, message=problem.message.replace(f" {here}", " ")
            )
        sys.stdout.write(f"{problem}\n")


def _packs_list(args: argparse.Namespace, settings: Settings) -> int:
    from .features.packs import list_packs
    from .protocol import PacksListParams

    result = _run_feature(
        settings, list_packs, PacksListParams(overrides=args.overrides), reads_only=True
    )
    if args.json:
        _print_json(result)
        return 0
    if args.overrides:
        for o in result.overrides:
            how = "on purpose" if o.intended else "same ref, no extends"
            sys.stdout.write(f"{o.ref}\t{o.name}\tover {o.over}\t{how}\n")
        sys.stdout.write(f"{args.overrides} overrides {len(result.overrides)} entries\n")
        return 0
    from rich.table import Table

    table = Table(box=None, pad_edge=False, header_style="bold")
    table.add_column("pack", no_wrap=True)
    table.add_column("version", no_wrap=True)
    table.add_column("state", overflow="fold")
    table.add_column("entries", justify="right")
    table.add_column("from", overflow="fold")
    for info in result.packs:
        if not info.installed:
            state = "not installed"
        elif info.enabled:
            state = f"on, {info.priority} ({info.reason})"
            extra = ", ".join(f"{c} {p}" for c, p in sorted(info.collection_priorities.items()))
            state += f"; {extra}" if extra else ""
        else:
            state = f"off: {info.off}" if info.off else "off"
        table.add_row(
            _m(info.pack.id), _m(info.pack.version), _m(state), str(info.entries), _m(info.origin)
        )
    console = _console()
    console.print(f"profile [bold]{_m(result.profile)}[/bold]")
    console.print(table)
    for info in result.packs:
        for over, counts in sorted(info.overrides.items()):
            listed = ", ".join(f"{n} {c}" for c, n in sorted(counts.items(), key=lambda i: -i[1]))
            console.print(
                f"{info.pack.id} overrides {sum(counts.values())} entries of {over} ({listed}): "
                f"d5e packs list --overrides {info.pack.id}",
                markup=False,
            )
    for warning in result.warnings:
        console.print(f"[yellow]{_m(warning)}[/yellow]")
    return 0


def _entries(count: int) -> str:
    return f"{count} entr{'y' if count == 1 else 'ies'}"


def _install_summary(result: Any) -> str:
    from .features.packs import adopted_text

    line = f"{result.pack}: unchanged ({_entries(result.entries)})"
    if result.action != "unchanged":
        line = f"{result.pack}: {result.action}, {_entries(result.entries)}"
        line += f" ({result.changed} changed)"
    adopted = adopted_text(result)
    return f"{line}; {adopted}" if adopted else line


def _packs_install(args: argparse.Namespace, settings: Settings) -> int:
    from .features.packs import install
    from .protocol import PackInstallParams

    target = args.target
    as_path = Path(target).exists() or "/" in target or target.endswith(".zip")
    params = PackInstallParams(
        path=str(Path(target).resolve()) if as_path else None,
        id=None if as_path else target,
        replace=args.replace,
    )
    result = _run_feature(settings, install, params)
    if args.json:
        _print_json(result)
        return 0
    told: set[str] = set()  # the problems of files read together are each pack's: told once
    for each in (result, *result.also):  # a folder of several packs: each one's report
        _print_problems([w for w in each.warnings if str(w) not in told])
        told.update(str(w) for w in each.warnings)
        sys.stdout.write(_install_summary(each) + "\n")
    return 0


def _packs_choice(args: argparse.Namespace, settings: Settings) -> int:
    from .features import packs as features
    from .protocol import PackIdParams, SetPriorityParams

    if args.packs_command == "set-priority":
        priority = None if args.priority == "default" else _priority(args.priority)
        params: Any = SetPriorityParams(
            pack=args.pack, priority=priority, collection=args.collection
        )
        fn: Callable[..., Any] = features.set_priority
    else:
        params = PackIdParams(pack=args.pack)
        fn = features.enable if args.packs_command == "enable" else features.disable
    result = _run_feature(settings, fn, params)
    if args.json:
        _print_json(result)
        return 0
    info = result.info
    state = f"on, priority {info.priority}" if info.enabled else "off"
    extra = ", ".join(f"{c} {p}" for c, p in sorted(info.collection_priorities.items()))
    sys.stdout.write(f"{info.pack.id}: {state}{'; ' + extra if extra else ''}\n")
    for warning in result.warnings:
        sys.stderr.write(f"d5e: {warning}\n")
    return 0


def _priority(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise PackError(f"priority must be a whole number or 'default', not {text!r}") from None


def _packs_remove(args: argparse.Namespace, settings: Settings) -> int:
    from .features.packs import remove
    from .protocol import PackIdParams

    result = _run_feature(settings, remove, PackIdParams(pack=args.pack))
    if args.json:
        _print_json(result)
    else:
        sys.stdout.write(f"{result.pack}: removed ({_entries(result.entries)})\n")
    return 0


def _packs_validate(args: argparse.Namespace, settings: Settings) -> int:
    from .features.packs import validate
    from .protocol import ValidateParams

    result = _run_feature(
        settings, validate, ValidateParams(path=str(Path(args.path).absolute())), reads_only=True
    )
    if args.json:
        _print_json(result)
    else:
        _print_problems(result.problems)
        errors = sum(1 for p in result.problems if p.severity == "error")
        warnings = len(result.problems) - errors
        verdict = "ok" if result.ok else f"{errors} error{'s' * (errors != 1)}"
        name = result.pack.id if result.pack else args.path
        name += "".join(f", {other.id}" for other in result.also)
        said = f"{verdict}, {warnings} warning{'s' * (warnings != 1)}, {_entries(result.entries)}"
        sys.stderr.write(f"{name}: {said}\n")
    return 0 if result.ok else 1


def _packs_new(args: argparse.Namespace, settings: Settings) -> int:
    from .features.packs import create
    from .protocol import CreateParams

    params = CreateParams(
        id=args.id,
        title=args.title,
        directory=str(Path(args.dir).resolve()),
        replace=args.replace,
    )
    result = _run_feature(settings, create, params)
    if args.json:
        _print_json(result)
        return 0
    sys.stdout.write(f"created {result.path}\n")
    for path in result.files:
        sys.stdout.write(f"  {path}\n")
    sys.stdout.write(_install_summary(result.install) + "\n")
    return 0


def _packs_upload(args: argparse.Namespace, settings: Settings) -> int:
    from .features.packs import upload
    from .protocol import UploadParams, decode

    try:
        raw = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
    except OSError as exc:
        raise PackError(f"{args.file}: cannot read: {exc.strerror or exc}") from exc
    try:
        value = msgspec.json.decode(raw)
    except msgspec.DecodeError as exc:
        raise PackError(f"{args.file}: not JSON: {exc}") from exc
    entries = value if isinstance(value, list) else [value]
    with _said_as_options({"pack": "pack", "collection": "collection"}):  # entries: by path
        params = decode(
            {
                "pack": args.pack,
                "collection": args.collection,
                "entries": entries,
                "replace": args.replace,
            },
            UploadParams,
        )
    result = _run_feature(settings, upload, params)
    if args.json:
        _print_json(result)
        return 0
    for path in result.written:
        sys.stdout.write(f"wrote {path}\n")
    for path in result.removed:
        sys.stdout.write(f"removed {path}\n")
    sys.stdout.write(_install_summary(result.install) + "\n")
    return 0


_PACKS_COMMANDS: dict[str, Handler] = {
    "list": _packs_list,
    "install": _packs_install,
    "enable": _packs_choice,
    "disable": _packs_choice,
    "set-priority": _packs_choice,
    "remove": _packs_remove,
    "validate": _packs_validate,
    "new": _packs_new,
    "upload": _packs_upload,
}


def cmd_packs(args: argparse.Namespace, settings: Settings) -> int:
    return _PACKS_COMMANDS[args.packs_command](args, settings)


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    """What `make run` shows: build the database on the SRD, one lookup, one completion, and
    (after building the search index: once, then cached) one search by meaning."""
    from . import queries
    from .features.complete import complete
    from .features.lookup import lookup
    from .features.search import search
    from .protocol import CompleteParams, LookupParams, SearchParams

    console = _console()
    console.print("[bold]Building the d5e database on the built-in SRD…[/bold]")
    with _opened(settings) as app:
        for row in queries.installed_packs(app.conn):
            console.print(f"  {row.pack.id}: {row.entries} entries ({_m(row.pack.title)})")
        console.print(f"  database: {_m(app.db_path)}\n")
        console.print("[bold]$ d5e lookup fireball[/bold]")
        _print_markdown(lookup(app, LookupParams(name="fireball")).markdown)
        console.print("\n[bold]$ d5e complete 'magic misile'[/bold]")
        _print_completions(complete(app, CompleteParams(prefix="magic misile", limit=5)).items)
        question = "the spell that lets the party breathe under water"
        console.print(f"\n[bold]$ d5e search '{question}'[/bold]")
        if not app.search.vectors_ready():
            console.print(
                "[dim](the search index is built once, about half a minute; then cached)[/dim]"
            )
        _build_index(app)
        app.search.embedder.load()
        _print_hits(search(app, SearchParams(query=question, limit=3)).hits)
    console.print(
        "\nFor an editor, start the daemon with [bold].venv/bin/d5e serve[/bold] "
        "(JSON-RPC over stdio); see README.md for VS Code, Neovim and Emacs."
    )
    return 0


# -- argument parsing -------------------------------------------------------------------------


def parser(serve_only: bool = False) -> argparse.ArgumentParser:
    """The command line; with `serve_only`, only `d5e serve`'s (what an editor starts: the
    other commands' parsers are no part of its start)."""
    # Before the command or after it (`d5e --db x.sqlite3 lookup goblin` was "invalid choice:
    # 'x.sqlite3'"): an option not given is absent (SUPPRESS), so the command's parser does
    # not overwrite what was given before it, and `_flags` reads each with getattr.
    common = argparse.ArgumentParser(add_help=False, argument_default=argparse.SUPPRESS)
    common.add_argument("--db", help="database file (default: $D5E_HOME/d5e.sqlite3 or XDG data)")
    common.add_argument("--edition", choices=["2014", "2024"], help="which SRD is on")
    common.add_argument("--profile", help="profile (campaign) name")
    common.add_argument("--log-level", choices=["debug", "info", "warning", "error"])
    common.add_argument("--log-file", help="write logs here instead of stderr")

    top = argparse.ArgumentParser(prog="d5e", description=__doc__, parents=[common])
    top.add_argument("--version", action="version", version=f"d5e {__version__}")
    sub = top.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", parents=[common], help="run the JSON-RPC/LSP daemon on stdio")
    p.set_defaults(run=cmd_serve)
    if serve_only:
        return top

    p = sub.add_parser(
        "mcp", parents=[common], help="run the MCP server for AI assistants on stdio"
    )
    p.add_argument(
        "--workspace",
        help="the campaign folder whose d5e.toml to read (default: the current folder or above)",
    )
    p.add_argument(
        "--allow-writes",
        action="store_true",
        help="offer the tools that create packs and save entries (also D5E_MCP_ALLOW_WRITES=1)",
    )
    p.set_defaults(run=cmd_mcp)

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
        "check", parents=[common], help="check the rules references ({@spell …}) of Markdown files"
    )
    p.add_argument(
        "files",
        nargs="*",
        metavar="PATH",
        help=f"{_FILES_HELP}; default: the campaign's (the folder of the nearest d5e.toml), "
        "else the current folder's",
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_check)

    p = sub.add_parser(
        "references",
        parents=[common],
        help="where an entry is mentioned in the campaign's Markdown files, and what links to it",
    )
    p.add_argument(
        "ref", nargs="+", metavar="NAME", help="fireball, spells/fireball or srd-2024:monsters/wolf"
    )
    p.add_argument("--in", dest="folder", help="the campaign folder (default: d5e.toml's, or .)")
    p.add_argument("--no-links", action="store_true", help="leave out the entries linking to it")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_references)

    p = sub.add_parser(
        "statblock",
        parents=[common],
        help="an entry's card to paste into a document (Markdown or Homebrewery)",
    )
    p.add_argument("query", nargs="+", help="monsters/goblin, srd-2024:monsters/wolf or a name")
    p.add_argument("--collection")
    p.add_argument(
        "--style",
        choices=["markdown", "homebrewery"],
        help="how to write a creature (default: the statBlocks setting, else markdown)",
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_statblock)

    p = sub.add_parser(
        "link",
        parents=[common],
        help="turn rules names (and bold creatures, italic spells, '4 wolves') into tags",
    )
    p.add_argument("files", nargs="+", metavar="PATH", help=_FILES_HELP)
    how = p.add_mutually_exclusive_group()
    how.add_argument("--diff", action="store_true", help="print the change, write nothing")
    how.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if something would be linked"
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_link)

    p = sub.add_parser(
        "search", parents=[common], help="search by meaning and keywords, or list by filters"
    )
    p.add_argument(
        "query", nargs="*", metavar="WORDS", help="words or a sentence (may be empty with --filter)"
    )
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
    p.add_argument(
        "--explain",
        action="store_true",
        help="show what placed each hit: keyword and vector scores, passage, boosts",
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_search)

    p = sub.add_parser("filters", parents=[common], help="the search filters and their values")
    p.add_argument("--collection", action="append")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_filters)

    p = sub.add_parser(
        "encounter", parents=[common], help="encounter difficulty for a party (2014 or 2024 DMG)"
    )
    p.add_argument(
        "monsters", nargs="+", metavar="[COUNT] MONSTER", help='4 wolf "dire wolf" monsters/ogre'
    )
    p.add_argument("--party", help="the characters' levels: 3,3,3,3 (default: d5e.toml's party)")
    p.add_argument("--rules", choices=["2014", "2024"], help="default: the profile's edition")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_encounter)

    p = sub.add_parser("index", parents=[common], help="build the semantic search index now")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_index)

    p = sub.add_parser("db", parents=[common], help="database migrations")
    p.add_argument("action", choices=["check", "migrate", "rollback"])
    p.set_defaults(run=cmd_db)

    p = sub.add_parser("demo", parents=[common], help="build the database and show what d5e does")
    p.set_defaults(run=cmd_demo)

    packs = sub.add_parser("packs", help="homebrew and other packs: list, install, validate, …")
    packs_sub = packs.add_subparsers(dest="packs_command", required=True)
    with_json = argparse.ArgumentParser(add_help=False, parents=[common])
    with_json.add_argument("--json", action="store_true")
    p = packs_sub.add_parser("list", parents=[with_json], help="packs and the profile's order")
    p.add_argument(
        "--overrides",
        metavar="PACK",
        help="list every entry of other enabled packs that PACK overrides",
    )
    p = packs_sub.add_parser(
        "install",
        parents=[with_json],
        help="install or upgrade a folder, a .zip, or a plugin's pack",
    )
    p.add_argument("target", help="a folder or .zip, or the id of a pack a plugin offers")
    replace_help = "take the pack id over from the folder, zip or plugin it belongs to now"
    p.add_argument("--replace", action="store_true", help=replace_help)
    for name, what in (("enable", "turn a pack on"), ("disable", "turn a pack off")):
        p = packs_sub.add_parser(name, parents=[with_json], help=f"{what} in this profile")
        p.add_argument("pack")
    p = packs_sub.add_parser(
        "set-priority", parents=[with_json], help="a pack's priority in this profile (higher wins)"
    )
    p.add_argument("pack")
    p.add_argument("priority", help="a whole number, or 'default' to forget the one set before")
    p.add_argument("--collection", help="only for this collection (e.g. monsters)")
    p = packs_sub.add_parser("remove", parents=[with_json], help="delete a pack and its entries")
    p.add_argument("pack")
    p = packs_sub.add_parser(
        "validate",
        parents=[with_json],
        help="report every problem (file:line:col); exit 1 on an error",
    )
    p.add_argument("path")
    p = packs_sub.add_parser("new", parents=[with_json], help="create a folder pack and install it")
    p.add_argument("id")
    p.add_argument("--title")
    p.add_argument("--dir", default=".", help="where to create its folder (default: here)")
    p.add_argument("--replace", action="store_true", help=replace_help)
    p = packs_sub.add_parser(
        "upload", parents=[with_json], help="add or replace entries of a folder pack from JSON"
    )
    p.add_argument("pack")
    p.add_argument("collection")
    p.add_argument("file", help="a JSON file with one entry or a list; - reads stdin")
    p.add_argument("--replace", action="store_true", help="the collection becomes exactly these")
    packs.set_defaults(run=cmd_packs)
    return top


def setup_logging(level: str, log_file: str | None, terse: bool = False) -> None:
    """Logs to `log_file`, else stderr. `terse`: a one-shot command's stderr, read by a person
    beside its output: `d5e: warning: …` as its other messages, no time nor module (a daemon's
    log, and every log file, keep them; so does `--log-level debug`)."""
    handler: logging.Handler = (
        logging.FileHandler(log_file, encoding="utf-8")
        if log_file
        else logging.StreamHandler(sys.stderr)
    )
    if terse and not log_file and level.lower() != "debug":
        handler.setFormatter(_TerseFormatter("%(message)s"))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("pygls").setLevel(max(logging.WARNING, root.level))


class _TerseFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return f"d5e: {record.levelname.lower()}: {super().format(record)}"


def _flags(args: argparse.Namespace) -> dict[str, Any]:
    given = {
        "db": getattr(args, "db", None),
        "edition": getattr(args, "edition", None),
        "profile": getattr(args, "profile", None),
        "logLevel": getattr(args, "log_level", None),
    }
    check({k: v for k, v in given.items() if v is not None}, lambda k, v: f"{_option(k)} {v!r}")
    return given


def main(argv: Sequence[str] | None = None) -> int:
    given = sys.argv[1:] if argv is None else argv
    args = parser(serve_only=list(given[:1]) == ["serve"]).parse_args(argv)
    if args.command in ("serve", "mcp"):  # stdout carries the protocol
        return _main(args)
    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _SafeStream(out), _SafeStream(err)
    try:
        return _main(args)
    finally:
        sys.stdout, sys.stderr = out, err


def _main(args: argparse.Namespace) -> int:
    as_json = bool(getattr(args, "json", False))
    try:
        # A d5e.toml in this folder or above makes its profile the CLI's (the daemon reads the
        # editor's workspace instead, at initialize).
        given_folder = getattr(args, "workspace", None)
        if given_folder and not Path(given_folder).is_dir():
            raise InvalidParams(f"--workspace {given_folder}: not a folder")
        start = Path(given_folder or Path.cwd())
        here = None if args.command == "serve" else workspace.find_root(start)
        if args.command == "mcp":  # a server, as `d5e serve`: a broken d5e.toml never refuses it
            config, args.config_problem = workspace.applicable(here)
        else:
            config = workspace.layer(here)
        settings = build(from_env(), config, _flags(args))
        terse = args.command not in ("serve", "mcp")
        setup_logging(settings.log_level, getattr(args, "log_file", None), terse)
        code: int = args.run(args, settings)
        return code
    except (D5eError, apsw.Error) as exc:
        return _fail_on(exc, as_json)
    except KeyboardInterrupt:
        return 130
