"""`d5e mcp`: the same packs and answers for AI assistants, over the Model Context Protocol.

A third face beside `d5e serve` (LSP/JSON-RPC) and the CLI, built on the official MCP SDK's
`MCPServer`, speaking newline-delimited JSON on its own stdio. Each tool decodes its arguments
with the wire contract's params types (`protocol.decode`: the same validation and messages as
JSON-RPC), calls the same feature function as `d5e serve`, and answers with the result as
structured content (the JSON-RPC result, with its JSON Schema as the tool's output schema) plus
readable Markdown for the model. d5e's errors become MCP tool errors with the same messages
(`no entry named …; did you mean …`); nothing kills the server.

The pack-writing tools (`create_pack`, `upload_entries`) exist only when the user turns them on
(`d5e mcp --allow-writes` or `D5E_MCP_ALLOW_WRITES=1`), never through a campaign's `d5e.toml`.
"""

from __future__ import annotations

import asyncio
import contextvars
import difflib
import gc
import inspect
import json
import logging
import os
import queue
import re
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Iterable, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from fractions import Fraction
from functools import partial
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import unquote

import anyio
import apsw
import msgspec
from mcp.server import MCPServer
from mcp.server.lowlevel.server import NotificationOptions
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ResourceNotFoundError, ToolError
from mcp.server.mcpserver.prompts.base import UserMessage
from mcp.server.stdio import stdio_server
from mcp.shared.exceptions import MCPError
from mcp.shared.subscriptions import ResourcesListChanged, ResourceUpdated
from mcp_types import (
    INVALID_PARAMS,
    CallToolResult,
    Completion,
    CompletionArgument,
    CompletionContext,
    ListResourcesResult,
    PaginatedRequestParams,
    PromptReference,
    Resource,
    ResourceTemplateReference,
    TextContent,
    ToolAnnotations,
)
from pydantic import Field, ValidationError

from . import __version__, protocol, queries
from .app import App
from .db import storage_error
from .encounter_tables import DIFFICULTIES_2014, DIFFICULTIES_2024
from .errors import STOP, D5eError, Interrupted, NotFound
from .features import packs as pack_features
from .features.complete import complete
from .features.documents import document, resolve_tags
from .features.encounter import cr_text, encounter, ends_text
from .features.lookup import lookup, unknown_collection
from .features.search import search, search_filters
from .filters import value_text
from .protocol import Params
from .quantity import parse_groups, parse_quantity
from .refs import REF_RE

log = logging.getLogger(__name__)

ALLOW_WRITES_ENV = "D5E_MCP_ALLOW_WRITES"
WRITE_TOOLS = ("create_pack", "upload_entries")
FOLLOW_SECONDS = 2.0
"""How often the server looks whether another process (the CLI, a `d5e serve`) changed packs."""
INDEX_FALLBACK_S = 2.0
"""When background work starts for a client that never says `notifications/initialized`."""
MODEL_WAIT_S = 10.0
"""How long a search ranked by meaning waits for the embedding model still loading (it loads
once the client says `initialized`, ~1.4 s on an idle machine) before it answers from
keywords and says so: an assistant asks once and trusts the answer, so the session's first
search is worth a second's wait; a load that hangs is not worth more."""

P = TypeVar("P", bound=Params)
R = TypeVar("R")

INSTRUCTIONS = """\
d5e answers D&D 5e rules questions from the System Reference Document (2014 and 2024) and the
homebrew packs this user installed, in the priority order of their campaign. Use `search` to find
entries by meaning, keywords or filters (`filters` lists them), `lookup` for one entry's full
card (give it a hit's `d5e://` link as `ref` to read that card), `resolve_tags` to check the
{@spell fireball}-style references in a text, `encounter` for the difficulty of a group of
monsters against a party. Cite entries by their `d5e://` links and name their pack: homebrew may
override the SRD."""


def _failure(name: str, exc: Exception, takes: Collection[str] = ()) -> Exception:
    """d5e's errors (and what the disk did) as tool errors with their own message; anything
    else is logged with its traceback and named only by its type. A way out through a flag
    (`replace: true`) is offered only when the tool `takes` that argument."""
    exc = storage_error(exc) or exc
    if isinstance(exc, D5eError):
        message = exc.said(lambda flag: f"{flag}: true" if flag in takes else None)
        path = exc.data.get("path") if isinstance(exc.data, dict) else None
        if (
            isinstance(path, str) and path != "$" and path not in message
        ):  # JSON-RPC has it in `data`
            return ToolError(f"{message} - at `{path}`")
        return ToolError(message)
    log.exception("tool %s failed", name)
    return ToolError(f"internal error in {name}: {type(exc).__name__}")


def _argument_errors(exc: ValidationError) -> str:
    """The SDK's check of a tool's arguments against its input schema, in d5e's words: each
    problem with its JSON path (`Input should be a valid string - at `$.name``)."""
    problems = []
    for error in exc.errors(include_url=False):
        path = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error["loc"])
        problems.append(f"{error['msg']} - at `{path}`")
    return "; ".join(problems)


def _unknown_arguments(schema: dict[str, Any], arguments: dict[str, Any]) -> str:
    """Arguments a tool does not take, named with the nearest one it does (`colection`: did
    you mean `collection`?), where the SDK dropped them and answered as if they were not
    given; empty when every one is known."""
    known = list(schema.get("properties", {}))
    problems = []
    for key in arguments:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
            takes = ", ".join(f"`{k}`" for k in known) or "no arguments"
            mean = f"did you mean `{close[0]}`?" if close else f"it takes {takes}"
            problems.append(f"unknown argument {key!r}: {mean} - at `$.{key}`")
    return "; ".join(problems)


def _as_lists(schema: dict[str, Any], arguments: dict[str, Any]) -> dict[str, Any]:
    """One value where a list goes, as models often write it, as that list: `"spells"` is
    `["spells"]`, `"spells, monsters"` is `["spells", "monsters"]` (a list of names: none has
    a comma), levels `"3,3,3,3"` are `[3, 3, 3, 3]` (a word that is no number is left for the
    check to name at its place), one encounter group `{"name": "wolf", "count": 4}` is a list
    of it."""
    properties = schema.get("properties", {})
    taken = dict(arguments)
    for key, value in arguments.items():
        described = properties.get(key, {})
        if described.get("type") != "array":
            continue
        items = described.get("items", {}).get("type")
        if isinstance(value, dict):
            taken[key] = [value]
        elif not isinstance(value, str):
            continue
        elif items == "integer":
            words = [word for word in re.split(r"[\s,]+", value.strip()) if word]
            # digits as a number when they can be one (5,000 of them were int()'s ValueError)
            taken[key] = [
                int(word) if word.isascii() and word.isdigit() and len(word) <= 18 else word
                for word in words
            ]
        elif items == "string":
            taken[key] = [word.strip() for word in value.split(",") if word.strip()] or [value]
        else:
            taken[key] = [value]
    return taken


RESOURCES_PAGE = 1000
"""Entries a `resources/list` page names (~150 characters each): the SRD's ~2,500 winners in
3 pages, a library of 100,000 in 100, each read from where the last stopped."""
PACKS_URI = "d5e://packs"


class _Server(MCPServer[Any]):
    def __init__(self, app: App, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.app = app
        low = self._lowlevel_server
        make_options = low.create_initialization_options

        def options(notifications: NotificationOptions | None = None, *args: Any) -> Any:
            """`resources.listChanged`: sent when packs change (`Follow`)."""
            said = notifications or NotificationOptions(resources_changed=True)
            return make_options(said, *args)

        low.create_initialization_options = options  # type: ignore[method-assign,assignment]
        self.cancels = Cancels()

    async def run_stdio_async(self) -> None:
        """The SDK's stdio transport, stdin read ahead by a thread (`ReadAhead`): a cancel is
        seen while a call holds the event loop."""
        stdin = anyio.wrap_file(ReadAhead(_claim_stdin(), self.cancels))  # type: ignore[arg-type]
        async with stdio_server(stdin=stdin) as (read, write):
            low = self._lowlevel_server
            await low.run(read, write, low.create_initialization_options())

    async def _handle_list_resources(
        self, ctx: Any, params: PaginatedRequestParams | None
    ) -> ListResourcesResult:
        """`d5e://packs`, then every entry this campaign's profile sees (the winner of each
        ref), `RESOURCES_PAGE` a page, `nextCursor` naming where the next one starts (a client
        that lists resources asks for each page; a picker shows the entries by name)."""
        cursor = params.cursor if params else None
        after = _cursor_id(cursor)
        listed = [await self._packs_resource()] if after == 0 else []
        rows = queries.winners_after(self.app.conn, self.app.profile, after, RESOURCES_PAGE)
        listed += [
            Resource(
                uri=f"d5e://{row.pack}/{row.collection}/{row.slug}.md",
                name=row.name,
                description=f"{row.collection}, {row.pack}",
                mime_type="text/markdown",
            )
            for row in rows
        ]
        more = len(rows) == RESOURCES_PAGE
        return ListResourcesResult(resources=listed, next_cursor=str(rows[-1].id) if more else None)

    async def read_resource(self, uri: Any, context: Any = None) -> Any:
        """A `d5e://` link that names no card (no pack in it, a pack not installed) is not
        found, naming the cards it may mean (the SDK said "Unknown resource" alone)."""
        try:
            return await super().read_resource(uri, context)
        except ResourceNotFoundError as exc:
            links = [] if "did you mean d5e://" in str(exc) else _links_for(self.app, str(uri))
            if not links:
                raise
            raise ResourceNotFoundError(f"{exc}; did you mean {', '.join(links)}?") from exc

    async def _packs_resource(self) -> Resource:
        (packs,) = [r for r in await self.list_resources() if str(r.uri) == PACKS_URI]
        return packs

    async def get_prompt(
        self, name: str, arguments: dict[str, Any] | None = None, context: Any = None
    ) -> Any:
        """A prompt asked for by a name it does not have, or without a required argument (or
        with a wrong one), is the client's mistake: an invalid-params error and one line in the
        log, where the SDK answered code 0 and logged its traceback. A failure of the prompt
        itself keeps its traceback. An argument the prompt does not take is refused, naming
        those it takes (the SDK said "Error rendering prompt explain_rule")."""
        prompt = self._prompt_manager.get_prompt(name)
        takes = [a.name for a in (prompt.arguments or [])] if prompt else []
        if prompt and (unknown := sorted(set(arguments or {}) - set(takes))):
            said = ", ".join(takes) or "no arguments"
            message = f"unknown argument {unknown[0]!r}: {name} takes {said}"
            log.warning("prompts/get %s: %s (answered %d)", name, message, INVALID_PARAMS)
            raise MCPError(INVALID_PARAMS, message)
        try:
            return await super().get_prompt(name, arguments, context)
        except ValueError as exc:  # the SDK's wrapping of what went wrong
            if exc.__cause__ is not None and not isinstance(exc.__cause__, ValueError):
                raise
            log.warning("prompts/get %s: %s (answered %d)", name, exc, INVALID_PARAMS)
            raise MCPError(INVALID_PARAMS, str(exc)) from exc

    async def call_tool(self, name: str, arguments: dict[str, Any], context: Any = None) -> Any:
        tool = self._tool_manager.get_tool(name)
        if tool is None and name in WRITE_TOOLS:  # it said "Unknown tool: create_pack" alone
            raise ToolError(
                f"Unknown tool: {name}: the tools that write packs are offered only when the "
                f"user starts d5e mcp with --allow-writes (or {ALLOW_WRITES_ENV}=1)"
            )
        if tool is None:  # the SDK said "Unknown tool: lookpu" alone
            known = [t.name for t in self._tool_manager.list_tools()]
            close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
            listed = ", ".join(f"`{k}`" for k in known)
            said = f"did you mean `{close[0]}`?" if close else f"d5e's tools are {listed}"
            raise ToolError(f"Unknown tool: {name}: {said}")
        if tool is not None and (unknown := _unknown_arguments(tool.parameters, arguments)):
            raise ToolError(f"Error executing tool {name}: {unknown}")
        if name == "encounter" and arguments.get("party") is not None:
            try:
                arguments = {**arguments, "party": _party_said(arguments["party"])}
            except ToolError as exc:  # said as the SDK says the schema's refusals
                raise ToolError(f"Error executing tool {name}: {exc}") from None
        if tool is not None:
            arguments = _as_lists(tool.parameters, arguments)
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            if isinstance(exc.__cause__, ValidationError):
                raise ToolError(
                    f"Error executing tool {name}: {_argument_errors(exc.__cause__)}"
                ) from exc.__cause__
            raise


def _off_packs(app: App, packs: list[str], edition: str | None) -> list[str]:
    """The installed packs a search was limited to (by id or edition) that this campaign's
    profile turns off: a search finds nothing in them, `lookup` given the pack still reads
    them (the other edition's rule, to compare)."""
    if not packs and edition is None:
        return []
    on = queries.profile_packs(app.conn, app.profile)
    asked = [
        row.pack.id
        for row in queries.installed_packs(app.conn)
        if row.pack.id in packs or (edition is not None and row.pack.edition == edition)
    ]
    return [pack for pack in asked if pack not in on]


def _card_uri(entry: Any) -> str:
    return f"d5e://{entry.pack}/{entry.collection}/{entry.slug}.md"


def _links_for(app: App, uri: str) -> list[str]:
    """The cards a `d5e://…/COLLECTION/SLUG.md` link may mean, whatever stands before its
    collection: the campaign's entry of that ref, else of that name, and the same-named
    entries of other packs."""
    said = unquote(uri.removeprefix("d5e://").removesuffix(".md")).split("/")
    if len(said) < 2 or not said[-1] or not said[-2]:
        return []
    collection, slug = said[-2], said[-1]
    for asked in ({"ref": f"{collection}/{slug}"}, {"name": slug, "collection": collection}):
        try:
            found = lookup(app, protocol.decode(asked, protocol.LookupParams))
        except D5eError:
            continue
        return [_card_uri(found.entry), *(_card_uri(a) for a in found.also)]
    return []


def _lookup_ref(ref: str) -> dict[str, Any]:
    """`lookup`'s `ref` as a model writes it after reading d5e's answers: the link a hit gave
    (`d5e://srd-2014/monsters/mimic.md`), pack/collection/slug, or a name where the slug goes
    (`monsters/Mimic`, `spells/Zariel's Ember Lash`: looked up by that name in that
    collection); else as it was said, for the lookup to refuse."""
    said = unquote(ref.strip().removeprefix("d5e://").removesuffix(".md"))
    parts = said.split("/")
    if len(parts) == 3 and ":" not in said:
        said = f"{parts[0]}:{parts[1]}/{parts[2]}"
    if REF_RE.fullmatch(said):
        return {"ref": said}
    head, _, name = said.rpartition("/")
    pack, _, collection = head.rpartition(":")
    if name.strip() and re.fullmatch(r"[a-z][a-z0-9-]*", collection):
        return {"name": name, "collection": collection, "pack": pack or None}
    return {"ref": ref}


LEVELS_SAID = re.compile(
    r"(?P<count>.+?)\s*(?:x|×|\*)?\s*(?:(?:characters?|pcs?|players?|adventurers?|heroes)\s+"
    r"(?:of\s+|at\s+)?)?(?:(?:level|lvl)[\s-]*(?P<level>\d+)|(?P<nth>\d+)(?:st|nd|rd|th)[\s-]*level)"
    r"(?:\s+(?:characters?|pcs?|players?|adventurers?|heroes))?",
    re.I,
)
PARTY_SHAPE = 'the characters\' levels, e.g. [5, 5, 5, 5] (or "four level 5 characters")'


def _party_said(party: Any) -> Any:
    """The encounter's `party` as a model may say it: levels (a list, or "5,5,5,5", left to
    the schema and `_as_lists`), or a sentence ("four level 5 characters", "4 x level 5",
    "four 5th-level characters") as those levels; anything else refused saying the shape."""
    if isinstance(party, list) or (
        isinstance(party, str) and re.fullmatch(r"[\d\s]*|.*,.*", party)
    ):
        return party  # levels, or a list whose items the check names (`3,x`: `$.party[1]`)
    if isinstance(party, str) and (m := LEVELS_SAID.fullmatch(party.strip())):
        try:
            low, high = parse_quantity(m["count"])
        except ValueError:
            low = high = 0
        if low == high and low > 0:
            return [int(m["level"] or m["nth"])] * low
    raise ToolError(f"party {party!r}: {PARTY_SHAPE} - at `$.party`")


def _ranges_said(filters: dict[str, Any] | None) -> dict[str, Any] | None:
    """A range's ends written as the `filters` tool writes values (`{"min": "1/2", "max":
    "1"}`: challenge ratings) as the numbers a range takes; another text is left for the
    check to name."""
    if not filters:
        return filters
    taken = dict(filters)
    for name, value in filters.items():
        if isinstance(value, dict):
            ends = {}
            for end, said in value.items():
                with suppress(ValueError, ZeroDivisionError):
                    said = float(Fraction(said.strip())) if isinstance(said, str) else said
                ends[end] = said
            taken[name] = ends
    return taken


def _cursor_id(cursor: str | None) -> int:
    """A `resources/list` cursor: the id of the last entry of the page before; else invalid
    params."""
    if cursor is None:
        return 0
    # an entry id: ASCII digits within SQLite's integers (a longer one was an OverflowError,
    # or Python's ValueError past 4,300 digits: internal errors)
    if not (cursor.isascii() and cursor.isdigit() and len(cursor) <= 18):
        shown = cursor if len(cursor) <= 40 else f"{cursor[:40]}…"
        message = f"cursor {shown!r} is none of d5e's: give the nextCursor of the page before"
        raise MCPError(INVALID_PARAMS, message)
    return int(cursor)


def _wire(arguments: dict[str, Any]) -> dict[str, Any]:
    """Python argument names → the camelCase of the wire contract; unset ones left out."""
    return {_camel(key): value for key, value in arguments.items() if value is not None}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(word.title() for word in rest)


def output_schema(result_type: type[Any]) -> dict[str, Any]:
    """The JSON Schema of a result type, its root inlined (MCP wants an object schema)."""
    (root,), components = msgspec.json.schema_components(
        [result_type], ref_template="#/$defs/{name}"
    )
    name = root["$ref"].rsplit("/", 1)[1]
    schema = dict(components[name])
    others = {key: value for key, value in components.items() if key != name}
    if others:
        schema["$defs"] = others
    return schema


def input_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A tool's input schema (pydantic's) in the shape every client takes: an optional argument
    one plain type (pydantic's `anyOf` with null and `default: null` trip clients that translate
    schemas: Gemini's, OpenAI's strict mode), no titles ("Name", "Ref": noise a model reads as
    names), and no argument beyond those listed. The SDK still validates against the Python
    signature, which takes an explicit null."""

    def plain(node: Any, names: bool = False) -> Any:
        if isinstance(node, list):
            return [plain(item) for item in node]
        if not isinstance(node, dict):
            return node
        if names:  # a `properties` map: its keys are argument names, not keywords
            return {key: plain(value) for key, value in node.items()}
        out = {key: plain(value, key == "properties") for key, value in node.items()}
        out.pop("title", None)
        options = out.get("anyOf")
        if isinstance(options, list) and {"type": "null"} in options:
            kept = [option for option in options if option != {"type": "null"}]
            del out["anyOf"]
            if out.get("default", "") is None:
                del out["default"]
            out = {**kept[0], **out} if len(kept) == 1 else {"anyOf": kept, **out}
        return out

    return {**plain(schema), "additionalProperties": False}


ANSWER_CHARS = 60_000
"""The longest answer of a tool, its Markdown and its structured JSON together (~15,000
tokens): a client puts the whole answer in the model's context (Claude Code refuses one over
25,000 tokens and warns over 10,000). A longer one is cut (hits, names, a card's text, a text's
links) and says so, and how to get the rest."""


_ESCAPED = re.compile(r"[^\x00-\x7f]")


def _size(result: Any, text: str) -> int:
    """The answer's characters, its JSON's as the longest a client may write it: a character
    past ASCII escaped (`\\u2014`: 6; Python's `json.dumps` writes them so)."""
    encoded = msgspec.json.encode(result).decode()
    escapes = (
        0
        if encoded.isascii()
        else sum(5 + 6 * (ord(c) > 0xFFFF) for c in _ESCAPED.findall(encoded))
    )
    return len(text) + len(encoded) + escapes


def _longest(answer: Callable[[int], tuple[R, str]], most: int) -> tuple[R, str]:
    """The answer of the most items (1 to `most`) that fits in `ANSWER_CHARS`; one at least."""
    low, high = 1, most
    best = answer(1)
    while low <= high:
        middle = (low + high) // 2
        result, text = answer(middle)
        if _size(result, text) <= ANSWER_CHARS:
            best, low = (result, text), middle + 1
        else:
            high = middle - 1
    return best


def _cut_note(kept: int, found: int, what: str, how: str) -> str:
    return (
        f"Only the first {kept} of the {found} {what} are shown, to fit the model's context: {how}"
    )


def _fit_hits(
    result: protocol.SearchResult,
    markdown: Callable[[protocol.SearchResult], str],
    params: protocol.SearchParams,
) -> tuple[protocol.SearchResult, str]:
    """The first hits that fit, and a hint saying where the next page starts (pages are slices
    of one ranking, whatever their size: docs/protocol.md)."""
    hits = result.hits

    def answer(kept: int) -> tuple[protocol.SearchResult, str]:
        how = (
            f"ask again with offset {params.offset + kept} and limit {params.limit - kept} "
            "for the next ones"
        )
        note = _cut_note(kept, len(hits), "hits", how)
        cut = msgspec.structs.replace(result, hits=hits[:kept], hints=[*result.hints, note])
        return cut, markdown(cut)

    return _longest(answer, len(hits) - 1)


def _fit_names(
    result: protocol.CompleteResult,
    markdown: Callable[[protocol.CompleteResult], str],
    params: protocol.CompleteParams,
) -> tuple[protocol.CompleteResult, str]:
    items = result.items

    def answer(kept: int) -> tuple[protocol.CompleteResult, str]:
        cut = msgspec.structs.replace(result, items=items[:kept])
        how = "give more of the name, or a collection"
        return cut, markdown(cut) + f"\n\n({_cut_note(kept, len(items), 'names', how)}.)"

    return _longest(answer, len(items) - 1)


def _fit_values(
    result: protocol.SearchFiltersResult,
    markdown: Callable[[protocol.SearchFiltersResult], str],
    params: protocol.SearchFiltersParams,
) -> tuple[protocol.SearchFiltersResult, str]:
    """A large library's filters (thousands of languages, environments, sources): each
    filter's first values that fit, the same number for each."""
    most = max((len(f.values) for f in result.filters), default=1)

    def answer(kept: int) -> tuple[protocol.SearchFiltersResult, str]:
        filters = [msgspec.structs.replace(f, values=f.values[:kept]) for f in result.filters]
        cut = msgspec.structs.replace(result, filters=filters)
        return cut, markdown(cut) + (
            f"\n\n(Each filter's values are cut to its first {kept}, to fit the model's "
            "context: ask for fewer collections for more; a search with a value no entry has "
            "hints the nearest ones.)"
        )

    return _longest(answer, most - 1)


def _cut_text(text: str, room: int) -> str:
    """The start of a Markdown text in at most `room` characters, at a paragraph's or a line's
    end where one is near."""
    if len(text) <= room:
        return text
    cut = text[: max(room, 0)]
    for end in ("\n\n", "\n"):
        at = cut.rfind(end)
        if at > room * 0.8:
            return cut[:at]
    return cut


def _fit_card(
    result: protocol.LookupResult,
    markdown: Callable[[protocol.LookupResult], str],
    params: protocol.LookupParams,
) -> tuple[protocol.LookupResult, str]:
    """A card too long for the model's context: the entry's record (`entry.data`, which the
    card says in words) left out first, then the card's text cut, its pack's credit kept; the
    whole card is the resource's."""
    entry = result.entry
    uri = f"d5e://{entry.pack}/{entry.collection}/{entry.slug}.md"
    card, _, credit = result.markdown.rpartition("\n\n---\n")
    if not card:
        card, credit = result.markdown, ""
    left_out = (
        "(This entry's record, `entry.data`, is left out of this answer to fit the model's "
        "context: the card says what it holds.)"
    )
    plain = msgspec.structs.replace(result, entry=msgspec.structs.replace(entry, data={}))

    def answer(room: int) -> tuple[protocol.LookupResult, str]:
        text = _cut_text(card, room)
        if len(text) < len(card):
            text += (
                f"\n\n(The card is cut here, at {len(text):,} of its {len(card):,} characters, to "
                f"fit the model's context: the resource {uri} holds the whole of it.)"
            )
        said = text + "\n\n" + left_out + ("\n\n---\n" + credit if credit else "")
        cut = msgspec.structs.replace(plain, markdown=said)
        return cut, markdown(cut)

    return _longest(answer, len(card))


def _fit_links(
    result: protocol.ResolveTagsResult,
    markdown: Callable[[protocol.ResolveTagsResult], str],
    params: protocol.ResolveTagsParams,
) -> tuple[protocol.ResolveTagsResult, str]:
    """A long text's first lines that fit, linked, with the tags of those lines (the rest is
    to send again, from the line said)."""
    lines = result.text.split("\n")

    def answer(kept: int) -> tuple[protocol.ResolveTagsResult, str]:
        note = (
            f"(Only the first {kept} of the text's {len(lines)} lines are linked and their tags "
            f"listed, to fit the model's context: send the text from line {kept + 1} on for "
            "the rest.)"
        )
        cut = msgspec.structs.replace(
            result,
            text="\n".join(lines[:kept]) + "\n\n" + note,
            tags=[t for t in result.tags if t.line < kept],
            unknown=[u for u in result.unknown if u.line < kept],
        )
        return cut, markdown(cut)

    return _longest(answer, len(lines) - 1)


REQUEST: contextvars.ContextVar[Any] = contextvars.ContextVar("mcp_request", default=None)
"""The id of the request being answered (set by `_Start.middleware`)."""
CHECK_EVERY = 10_000
"""SQLite virtual-machine steps between two looks at whether the running call was cancelled
(~0.1 ms of work; the look costs ~0.3 µs)."""
CANCEL_KEPT_S = 60.0
"""How long a cancel of a request not running is kept (its call may not have begun)."""


class Cancels:
    """The requests the client cancelled (`notifications/cancelled`), seen as their lines
    arrive, by the thread that reads stdin ahead (`ReadAhead`): a call works on the event
    loop's thread (d5e's reads go through that thread's connection), which reads no message
    while it runs. A call in `stopping` is interrupted at its next SQLite step once it is
    cancelled (`apsw.InterruptError`), so that the next request is answered at once."""

    def __init__(self) -> None:
        self._ids: dict[Any, float] = {}
        self._lock = threading.Lock()

    def seen(self, line: str) -> None:
        if "notifications/cancelled" not in line:  # most lines: no parse
            return
        with suppress(ValueError, LookupError, AttributeError, TypeError):  # said badly
            message = json.loads(line)
            if message.get("method") == "notifications/cancelled":
                request = message["params"]["requestId"]
                with self._lock:
                    now = time.monotonic()
                    self._ids = {k: t for k, t in self._ids.items() if now - t < CANCEL_KEPT_S}
                    self._ids[request] = now

    def __contains__(self, request: Any) -> bool:
        return request is not None and request in self._ids

    @contextmanager
    def stopping(self, conn: apsw.Connection, request: Any) -> Iterator[None]:
        """While the block runs, SQLite statements on `conn` stop once `request` is
        cancelled; a request cancelled before it began does not begin."""
        if request in self:
            raise Cancelled
        cancelled = partial(self.__contains__, request)
        conn.set_progress_handler(cancelled, CHECK_EVERY)
        stop = STOP.set(cancelled)  # the loops of Python: `errors.stop_point`
        try:
            yield
        except (apsw.InterruptError, Interrupted):
            if request in self:
                raise Cancelled from None
            raise
        finally:
            STOP.reset(stop)
            conn.set_progress_handler(None)
            with self._lock:
                self._ids.pop(request, None)


class Cancelled(Exception):
    """The client cancelled the call being worked on."""


class ReadAhead:
    """stdin's lines, read by a thread of their own as they arrive (each shown to `Cancels`),
    handed to the SDK's reader in turn: what `anyio.wrap_file` wraps (`readline`). What the
    SDK's own reader gives is kept: the lines in the order sent, each once, whatever their
    length; bytes that are no UTF-8 read as U+FFFD; the end of input (or a read that fails)
    as its end, after every line before it. A batch is taken as its messages (`_batch_lines`),
    where the SDK dropped it. Unlike the SDK's reader it does not wait for the
    server to take a line before it reads the next: a client's lines wait here, in memory."""

    def __init__(self, source: Any, cancels: Cancels) -> None:
        self._lines: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._source = source
        self._cancels = cancels
        threading.Thread(target=self._read, name="d5e-mcp-stdin", daemon=True).start()

    def _read(self) -> None:
        try:
            for read in self._source:
                for line in _batch_lines(read):
                    try:
                        self._cancels.seen(line)
                    except Exception:  # never the end of the input
                        log.exception("could not read a cancel")
                    self._lines.put(line)
        except (OSError, ValueError):
            log.debug("stdin could not be read", exc_info=True)
        finally:
            self._lines.put("")  # end of input

    def readline(self) -> str:
        line = self._lines.get()
        if not line:  # the end of input stays the end, for any reader after this one
            self._lines.put(line)
        return line


def _batch_lines(line: str) -> list[str]:
    """A JSON-RPC batch (an array of messages on one line) as one line for each: the
    2025-03-26 version of the protocol, which the SDK still negotiates, has servers take
    them, and the SDK's transport dropped the line whole (its requests never answered). Each
    is answered on its own line, as a client matches answers by id (the SDKs' clients read
    one message a line: an array of answers they would not read). Any other line as it is."""
    if not line.lstrip().startswith("["):
        return [line]
    try:
        messages = json.loads(line)
    except ValueError:
        return [line]
    if not messages or not all(isinstance(m, dict) for m in messages):
        return [line]  # for the SDK to drop, as it does
    return [json.dumps(m) + "\n" for m in messages]


def _claim_stdin() -> Any:
    """The wire's stdin on a descriptor of its own, fd 0 pointed at the null device (as the
    SDK's transport does: nothing else reads the protocol's bytes)."""
    wire = os.dup(0)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    return open(wire, encoding="utf-8", errors="replace", closefd=False)


class Tools:
    """The tools of one server, over one App (one database, settings and profile)."""

    def __init__(self, app: App, cancels: Cancels) -> None:
        self.app = app
        self.cancels = cancels

    async def call(
        self,
        name: str,
        fn: Callable[[App, P], R] | Callable[[App, P], Awaitable[R]],
        params_type: type[P],
        arguments: dict[str, Any],
        markdown: Callable[[R], str],
        fit: Callable[[R, Callable[[R], str], P], tuple[R, str]] | None = None,
    ) -> CallToolResult:
        """`fit` cuts an answer longer than `ANSWER_CHARS` (its Markdown and its structured
        JSON together) to that length, saying so."""
        try:
            params = protocol.decode(_wire(arguments), params_type)
            with self.cancels.stopping(self.app.conn, REQUEST.get()):
                result = fn(self.app, params)  # an async one's work is awaited below
            if inspect.isawaitable(result):
                result = await result
            text = markdown(result)
            if fit is not None and _size(result, text) > ANSWER_CHARS:
                result, text = fit(result, markdown, params)
        except Cancelled:
            raise ToolError("cancelled by the client") from None
        except Exception as exc:
            raise _failure(name, exc, {_camel(key) for key in arguments}) from exc
        return CallToolResult(
            content=[TextContent(type="text", text=text)],
            structured_content=msgspec.to_builtins(result),
        )


# -- Markdown for the model -------------------------------------------------------------------


def _lookup_text(result: protocol.LookupResult) -> str:
    text = result.markdown
    if result.shadowed:
        over = ", ".join(f"{s.pack}:{s.ref}" for s in result.shadowed)
        text += f"\n\n(Overrides {over}.)"
    if result.also:
        also = ", ".join(f"{a.name} ({a.collection}, {a.pack})" for a in result.also)
        text += f"\n\nOther entries of that name: {also}."
    return text


def _sentence(text: str) -> str:
    return text if text.endswith((".", "?", "!")) else text + "."


NOT_INDEXED = "the meaning index is not ready yet"
LOADING = "the search model is still loading; ask again in a moment"


def _search_text(
    result: protocol.SearchResult, ranked: bool = True, unready: str = NOT_INDEXED
) -> str:
    """The hits; `ranked` when meaning was to rank them (a query, not in keyword mode), which
    a note says it did not yet, and why (`unready`)."""
    hints = "".join(f"\n({_sentence(hint)})" for hint in result.hints)
    if not result.hits:
        return "No entries found." + hints
    lines = [
        f"{i}. **{hit.name}** ({hit.collection}, {hit.pack}) `d5e://{hit.pack}/{hit.ref}.md`"
        + (f": {hit.snippet}" if hit.snippet else "")
        + (f" (also in {', '.join(f'{a.pack}:{a.ref}' for a in hit.also)})" if hit.also else "")
        for i, hit in enumerate(result.hits, 1)
    ]
    if ranked and not result.semantic:
        lines.append(f"\n(Ranked by keywords only: {unready}.)")
    return "\n".join(lines) + hints


def _filters_text(result: protocol.SearchFiltersResult) -> str:
    lines = []
    for f in result.filters:
        values = ", ".join(value_text(v) for v in f.values[:12])
        more = ", …" if len(f.values) > 12 else ""
        shown = f"; values: {values}{more}" if values else ""
        lines.append(f"- `{f.name}` ({f.type}; {', '.join(f.collections)}): {f.description}{shown}")
    return "\n".join(lines) or "No filters."


def _complete_text(result: protocol.CompleteResult) -> str:
    lines = [
        f"- **{item.name}** ({item.collection}, {item.pack}) `d5e://{item.pack}/{item.ref}.md`: "
        f"{item.detail}"
        for item in result.items
    ]
    return "\n".join(lines) or "No names match."


def _tags_text(result: protocol.ResolveTagsResult) -> str:
    """The linked text, then each tag once: a chapter's thirty `{@creature goblin}` are one line
    (×30), an unknown tag's lines listed on its one line."""
    parts = [result.text]
    resolved: dict[str, list[protocol.ResolvedTag]] = {}
    for t in result.tags:
        resolved.setdefault(t.tag, []).append(t)
    if resolved:
        parts.append(
            "Resolved:\n"
            + "\n".join(
                f"- `{tag}`{_times(len(same))} → [{t.name}]({t.uri}): {t.summary}"
                for tag, same in resolved.items()
                for t in same[:1]
            )
        )
    unknown: dict[str, list[protocol.UnresolvedTag]] = {}
    for u in result.unknown:
        unknown.setdefault(u.tag, []).append(u)
    if unknown:
        parts.append(
            "Unresolved:\n"
            + "\n".join(
                f"- `{tag}`{_times(len(same))} ({_lines(sorted({u.line for u in same}))}): "
                f"{same[0].message}"
                for tag, same in unknown.items()
            )
        )
    return "\n\n".join(parts)


def _times(count: int) -> str:
    return f" (×{count})" if count > 1 else ""


def _lines(lines: list[int], shown: int = 10) -> str:
    said = ", ".join(str(line + 1) for line in lines[:shown])
    more = f", … ({len(lines)} in all)" if len(lines) > shown else ""
    return f"line{'s' if len(lines) > 1 else ''} {said}{more}"


def _monster_groups(monsters: list[dict[str, Any] | str]) -> list[dict[str, Any]]:
    """The encounter tool's groups: the strings said as `d5e encounter` takes its words ("6-8
    wolf", "1d4+1 orc"; each run of them read together: "2", "wolf"), the objects as they
    are."""
    groups: list[dict[str, Any]] = []
    said: list[str] = []

    def read_said() -> None:
        try:
            groups.extend(parse_groups(said))
        except D5eError as exc:
            raise ToolError(f"{exc.message} - at `$.monsters`") from None
        said.clear()

    for i, item in enumerate(monsters):
        if isinstance(item, str):
            said.append(item)
            continue
        read_said()
        takes = list(MONSTER_GROUP["properties"])
        for key in item:
            if key not in takes:  # "qty", "quantity", "number": said what it takes
                raise ToolError(
                    f"unknown field {key!r}: a group takes {', '.join(takes)} - at "
                    f"`$.monsters[{i}].{key}`"
                )
        groups.append(item)
    read_said()
    return groups


def _monster_about(m: protocol.MonsterXp) -> str:
    """` (CR 1/4, `d5e://srd-2014/monsters/wolf.md`)`: its link to cite it by (the
    prepare_encounter prompt asks for them); a creature no pack has, its CR alone."""
    said = [f"CR {cr_text(m.cr)}"] if m.cr is not None else []
    said += [f"`d5e://{m.pack}/{m.ref}.md`"] if m.pack and m.ref else []
    return f" ({', '.join(said)})" if said else ""


def _encounter_text(result: protocol.EncounterResult) -> str:
    lines = [f"**{result.summary}** ({result.rules} rules)", ""]
    lines += [
        f"- {ends_text(m.count, m.count_max)} × {m.name}{_monster_about(m)}"
        + f": {m.xp:,} XP each, {ends_text(m.total_xp, m.total_xp_max)} XP"
        for m in result.per_monster
    ]  # thousands separated as in the summary above them ("3,600 XP"; these said "1800 XP")
    thresholds = ", ".join(f"{name} {xp:,}" for name, xp in result.thresholds.items())
    if result.rules == "2014":
        xp = ends_text(result.xp, result.xp_max, " XP")
        multiplier = ends_text(result.multiplier, result.multiplier_max, spec="g")
        adjusted = ends_text(result.adjusted_xp, result.adjusted_xp_max, " XP adjusted")
        lines.append(f"\n{xp} × {multiplier} = {adjusted}.")
    lines.append(f"\nParty {result.party}: {thresholds}.")
    lines += [f"\nNote: {note}." for note in result.notes]
    return "\n".join(lines)


def _packs_text(result: protocol.PacksListResult) -> str:
    lines = [
        f"Profile `{result.profile}`:",
        "",
        "| pack | title | on | priority | entries | license |",
        "|---|---|---|---|---|---|",
    ]
    for info in result.packs:
        on = "yes" if info.enabled else f"off: {info.off}" if info.off else "no"
        if not info.installed:  # a plugin's pack, offered: a search finds nothing in it
            on = f"not installed (`d5e packs install {info.pack.id}`)"
        priority = "" if info.priority is None else str(info.priority)
        lines.append(
            f"| {info.pack.id} | {info.pack.title} | {on} | {priority} | {info.entries} "
            f"| {info.pack.license} |"
        )
    lines.extend(f"\nWarning: {w}" for w in result.warnings)
    return "\n".join(lines)


def _problems_text(app: App, heading: str) -> str:
    """What `d5e serve` lists in `d5e/status` and shows the editor: a campaign's d5e.toml that
    could not be applied, packs from outside the campaign refused, a profile taken over, a
    database served read-only."""
    problems = app.library.warnings
    return heading + "\n" + "\n".join(f"- {p}" for p in problems) if problems else ""


def _install_text(result: protocol.PackInstallResult) -> str:
    text = (
        f"Pack {result.pack}: {result.action}, {result.entries} entries ({result.changed} changed)."
    )
    if result.adopted:
        text += f" It is {pack_features.adopted_text(result)}."
    return text + "".join(f"\n- {w}" for w in result.warnings)


def _create_text(result: protocol.CreateResult) -> str:
    return f"Created {result.path}.\n" + _install_text(result.install)


def _upload_text(result: protocol.UploadResult) -> str:
    lines = [f"Wrote {len(result.written)} file(s) to pack {result.pack}."]
    lines += [f"- {path}" for path in result.written]
    if result.removed:
        lines.append(f"Removed {len(result.removed)} file(s).")
    return "\n".join(lines) + "\n" + _install_text(result.install)


# -- the server -------------------------------------------------------------------------------

Names = Annotated[
    list[str],
    Field(
        description='only entries of these collections, e.g. ["spells"] or ["monsters", '
        '"magic-items"]; others: conditions, equipment, classes, features, rule-sections'
    ),
]
PackName = Annotated[
    str | None,
    Field(
        description="only this pack's entries, e.g. srd-2014, srd-2024 or a homebrew pack's id "
        "(the `packs` tool lists them)"
    ),
]
Edition = Literal["2014", "2024"]
MONSTER_GROUP: dict[str, Any] = {
    "type": "object",
    "description": "one group: name or ref, and how many",
    "properties": {
        "name": {"type": "string", "description": "the creature's name, e.g. wolf"},
        "ref": {"type": "string", "description": "or its ref, e.g. monsters/dire-wolf"},
        "count": {
            "anyOf": [{"type": "integer", "minimum": 0}, {"type": "string"}],
            "description": 'how many: a number, a range or a roll ("2-4", "1d4+1"); default 1',
        },
        "cr": {
            "anyOf": [{"type": "number"}, {"type": "string"}],
            "description": 'a creature no pack has: its challenge rating, e.g. 3 or "1/2"',
        },
        "xp": {"type": "integer", "description": "or its XP each"},
    },
}
READ_ONLY = ToolAnnotations(
    read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)
"""Every hint said, not left to the protocol's defaults (destructive and not idempotent, which
a client that reads them without `readOnlyHint` would show): the read tools change nothing and
answer the same again; none reaches past the user's packs."""


def create_server(app: App, allow_writes: bool = False) -> MCPServer[Any]:
    """The MCP server over `app`, with its tools, resources and prompts."""
    start = _Start(app)
    server = _Server(
        app,
        name="d5e",
        version=__version__,
        instructions=INSTRUCTIONS + _problems_text(app, "\n\nTell the user: "),
        lifespan=_lifespan(start),
        middleware=[start.middleware],
    )
    start.bus = server._subscriptions
    tools = Tools(app, server.cancels)
    schemas: dict[str, type[Any]] = {}

    def tool(name: str, result_type: type[Any], **kwargs: Any) -> Callable[[Any], Any]:
        """A tool, described by its docstring without the indentation of the code (the SDK
        sent "Give         exactly one of …")."""
        schemas[name] = result_type

        def register(fn: Any) -> Any:
            described = " ".join((fn.__doc__ or "").split())
            return server.tool(name=name, description=described, **kwargs)(fn)

        return register

    @tool("lookup", protocol.LookupResult, title="Look up an entry", annotations=READ_ONLY)
    async def lookup_tool(
        name: Annotated[
            str | None,
            Field(
                description="the entry's name, any case, e.g. Fireball, goblin, Mordenkainen's "
                "Sword; a misspelt one answers with the names it may mean"
            ),
        ] = None,
        ref: Annotated[
            str | None,
            Field(
                description="the entry's ref, collection/slug or pack:collection/slug, e.g. "
                "spells/fireball or srd-2024:monsters/aboleth, or its d5e:// link (search hits "
                "give them)"
            ),
        ] = None,
        collection: Annotated[
            str | None,
            Field(
                description="with `name`: only this collection's entry, e.g. spells, monsters, "
                "magic-items (a name in several: Light the spell, not the condition)"
            ),
        ] = None,
        pack: PackName = None,
    ) -> CallToolResult:
        """One entry's full card (Markdown, with its pack's license), by name or by ref. Give
        exactly one of `name` or `ref`. An unknown name answers with the names it may mean."""
        if ref is None and name is not None and name.strip().startswith("d5e://"):
            name, ref = None, name  # a hit's link copied into `name`
        args = {"name": name, "ref": ref, "collection": collection, "pack": pack}
        if ref is not None and name is None:
            said = _lookup_ref(ref)
            args = {**args, "ref": None, **said, "collection": said.get("collection", collection)}
            args["pack"] = said.get("pack") or pack
        return await tools.call(
            "lookup", lookup, protocol.LookupParams, args, _lookup_text, _fit_card
        )

    @tool(
        "search",
        protocol.SearchResult,
        title="Search the rules and homebrew",
        annotations=READ_ONLY,
    )
    async def search_tool(
        query: Annotated[
            str,
            Field(
                description="words or a sentence, e.g. breathe under water, undead whose touch "
                "paralyses; empty: list the entries the other arguments select, by name"
            ),
        ] = "",
        collections: Names | None = None,
        packs: Annotated[
            list[str] | None,
            Field(
                description='only entries of these packs, e.g. ["srd-2024"] or a homebrew '
                "pack's id (the `packs` tool lists them)"
            ),
        ] = None,
        edition: Annotated[
            Edition | None, Field(description="only entries of packs of this edition")
        ] = None,
        filters: Annotated[
            dict[str, Any] | None,
            Field(
                description='only entries with these properties, all of them: {"level": 3, '
                '"school": "evocation"} (3rd-level evocation spells), {"cr": {"min": 5, '
                '"max": 8}, "type": "undead"} (a range: min, max or both), {"damage": '
                '["fire", "cold"]} (a list: any of them), {"concentration": false}, '
                '{"speed": "swim"} (monsters that swim; "fly 60": at least 60 feet), '
                '{"sense": "darkvision"}; others: class, ritual, size, legendary, rarity, '
                "attunement, immune, resist, environment, casts; the `filters` tool lists all "
                "with their values"
            ),
        ] = None,
        limit: Annotated[
            int,
            Field(
                ge=1,
                le=500,
                description="how many hits; an answer too long for the model's context is cut "
                "and says where to go on",
            ),
        ] = 10,
        offset: Annotated[
            int,
            Field(ge=0, description="hits to skip: for the next page, the hits already seen"),
        ] = 0,
        mode: Annotated[
            Literal["hybrid", "keyword", "semantic"],
            Field(
                description="hybrid: keywords and meaning together (best for questions and "
                "descriptions); keyword: entries holding the words (exact names, terms); "
                "semantic: meaning only"
            ),
        ] = "hybrid",
        ctx: Context[Any, Any] | None = None,
    ) -> CallToolResult:
        """Search the rules and homebrew by meaning and keywords (hybrid), best first, each hit
        with its ref, pack and a snippet; with an empty query, list the entries the filters,
        collections or packs select, by name."""
        args = {
            "query": query,
            "collections": collections,
            "packs": packs,
            "edition": edition,
            "filters": _ranges_said(filters),
            "limit": limit,
            "offset": offset,
            "mode": mode,
        }
        ranked = bool(query.strip()) and mode != "keyword"  # a listing or keywords asked for
        listing = not query.strip()
        if ranked and ctx is not None and start.model_loading():  # said to a client that asked
            await ctx.report_progress(0, None, "loading the search model (the session's first)")
        loaded = await start.model_ready() if ranked else True
        said = partial(_search_text, ranked=ranked, unready=NOT_INDEXED if loaded else LOADING)

        def text(result: protocol.SearchResult) -> str:
            """A listing that filled its page says where the next starts (a model took the
            first ten 3rd-level spells for all of them); a page past the last hit says so (a
            model read "No entries found." as nothing matching)."""
            more = listing and len(result.hits) == limit
            if not result.hits and (off := _off_packs(app, packs or [], edition)):
                return said(result) + (
                    f"\n(`lookup` still reads an entry of {' or '.join(off)} given its pack, "
                    f'e.g. {{"name": "…", "pack": "{off[0]}"}}, to compare; turning a pack on '
                    "is the user's to do.)"
                )
            if offset and not result.hits:
                past = f"No entries past the first {offset} (ask with offset 0 for those)."
                return said(result).replace("No entries found.", past, 1)
            return said(result) + (
                f"\n({limit} shown; more may match: ask again with offset {offset + limit} for "
                "the next ones.)"
                if more
                else ""
            )

        return await tools.call("search", search, protocol.SearchParams, args, text, _fit_hits)

    @tool(
        "filters",
        protocol.SearchFiltersResult,
        title="List the search filters",
        annotations=READ_ONLY,
    )
    async def filters_tool(collections: Names | None = None) -> CallToolResult:
        """The filters `search` takes: name, type (number, text, bool), collections, and the
        values found in this campaign's packs."""
        args = {"collections": collections}
        return await tools.call(
            "filters",
            search_filters,
            protocol.SearchFiltersParams,
            args,
            _filters_text,
            _fit_values,
        )

    @tool(
        "complete", protocol.CompleteResult, title="Complete an entry's name", annotations=READ_ONLY
    )
    async def complete_tool(
        prefix: Annotated[
            str,
            Field(description="the start of a name, or a misspelt name, e.g. fireb, magic misile"),
        ],
        collections: Names | None = None,
        pack: PackName = None,
        limit: Annotated[int, Field(ge=1, le=500, description="how many names, best first")] = 10,
    ) -> CallToolResult:
        """Entry names matching a prefix or a misspelled name, best first (to find the exact
        name to look up or to write in a tag)."""
        for i, collection in enumerate(collections or []):  # it answered "No names match."
            if problem := unknown_collection(app, collection):
                raise ToolError(f"{problem} - at `$.collections[{i}]`")
        args = {"prefix": prefix, "collections": collections, "pack": pack, "limit": limit}
        return await tools.call(
            "complete", complete, protocol.CompleteParams, args, _complete_text, _fit_names
        )

    @tool(
        "resolve_tags",
        protocol.ResolveTagsResult,
        title="Resolve a text's {@tags}",
        annotations=READ_ONLY,
    )
    async def resolve_tags_tool(
        text: Annotated[
            str, Field(description="Markdown with 5etools tags such as {@spell fireball}")
        ],
    ) -> CallToolResult:
        """Resolve every {@tag} of a text: the same text with each tag written as a link to its
        entry's card, each resolved tag with its name and a one-line summary, and the tags that
        resolve to nothing with what is wrong and the names they may mean."""
        return await tools.call(
            "resolve_tags",
            resolve_tags,
            protocol.ResolveTagsParams,
            {"text": text},
            _tags_text,
            _fit_links,
        )

    @tool(
        "encounter",
        protocol.EncounterResult,
        title="Reckon an encounter's difficulty",
        annotations=READ_ONLY,
    )
    async def encounter_tool(
        monsters: Annotated[
            list[dict[str, Any] | str],
            Field(
                description="the groups of creatures, each a string as said: "
                '"6-8 wolf", "1d4+1 orc", "two or three bandits", "dire wolf", "Ogre x3" '
                "(a count before the name or after it: "
                'a number, a range or a roll; none is one; "3 goblins and a hobgoblin" is two '
                'groups), or {"name": "wolf", "count": 4} ("count": "2d6" too) or '
                '{"ref": "monsters/dire-wolf"}; a creature no pack has: {"name": "Flame", '
                '"cr": "1/2"} or with "xp"',
                json_schema_extra={"items": {"anyOf": [MONSTER_GROUP, {"type": "string"}]}},
            ),
        ],
        rules: Annotated[
            Edition | None,
            Field(
                description="the Dungeon Master's Guide whose encounter rules apply (2014: XP "
                "multiplier, easy to deadly; 2024: low, moderate, high); default: the "
                "campaign's edition"
            ),
        ] = None,
        party: Annotated[
            list[int] | None,
            Field(
                description="the characters' levels, e.g. [3, 3, 3, 3]; default: the "
                "campaign's d5e.toml `party`"
            ),
        ] = None,
    ) -> CallToolResult:
        """The difficulty of an encounter for a party: XP per monster (from the campaign's
        packs, homebrew included), adjusted XP, the party's thresholds and the difficulty, by
        the 2014 or 2024 Dungeon Master's Guide rules."""
        if party is None:
            party = app.settings.party_levels()[0]
            if not party:
                raise ToolError(
                    "no party: give `party`, the characters' "
                    "levels ([3, 3, 3, 3]), or write party = [3, 3, 3, 3] in the campaign's "
                    "d5e.toml - at `$.party`"
                )
        args = {"party": party, "monsters": _monster_groups(monsters), "rules": rules}
        return await tools.call(
            "encounter", encounter, protocol.EncounterParams, args, _encounter_text
        )

    @tool(
        "packs", protocol.PacksListResult, title="List the installed packs", annotations=READ_ONLY
    )
    async def packs_tool() -> CallToolResult:
        """The installed packs (the SRDs and homebrew) and what this campaign's profile does
        with them: on or off, priority (higher wins), entries, license."""

        def text(result: protocol.PacksListResult) -> str:
            return _packs_text(result) + _problems_text(app, "\n\nProblems of the settings: ")

        return await tools.call(
            "packs", pack_features.list_packs, protocol.PacksListParams, {}, text
        )

    if allow_writes:

        @tool(
            "create_pack",
            protocol.CreateResult,
            title="Create a homebrew pack",
            annotations=ToolAnnotations(
                read_only_hint=False,
                destructive_hint=False,
                idempotent_hint=False,  # the same id again is refused: "give another id"
                open_world_hint=False,
            ),
        )
        async def create_pack_tool(
            id: Annotated[
                str,
                Field(description="the new pack's id: lower-case letters, digits, -; e.g. my-brew"),
            ],
            title: Annotated[
                str | None, Field(description="the pack's title, e.g. My Homebrew; default: its id")
            ] = None,
            directory: Annotated[
                str | None,
                Field(
                    description="the folder to create the pack's folder in: inside the campaign's "
                    "folder or d5e's packs folder (the default)"
                ),
            ] = None,
        ) -> CallToolResult:
            """Create a new folder pack the user owns, install it and turn it on in this
            campaign, so that `upload_entries` can save homebrew into it. Its folder goes in
            the campaign's folder or d5e's packs folder (the default)."""
            if directory is not None:
                _check_pack_folder(app, directory)
            args = {"id": id, "title": title, "directory": directory}
            return await tools.call(
                "create_pack", pack_features.create, protocol.CreateParams, args, _create_text
            )

        @tool(
            "upload_entries",
            protocol.UploadResult,
            title="Save entries into a homebrew pack",
            annotations=ToolAnnotations(  # an entry of the same name is replaced
                read_only_hint=False,
                destructive_hint=True,
                idempotent_hint=True,  # the same entries again leave the pack as they did
                open_world_hint=False,
            ),
        )
        async def upload_entries_tool(
            pack: Annotated[
                str, Field(description="the id of a folder pack the user owns (see `packs`)")
            ],
            collection: Annotated[
                str, Field(description="their collection, e.g. spells, monsters, magic-items")
            ],
            entries: Annotated[
                list[dict[str, Any]],
                Field(
                    description="entries in d5e's record format (`lookup` an SRD entry of the "
                    "collection for its fields); each needs at least a name"
                ),
            ],
            replace: Annotated[
                bool,
                Field(
                    description="true: the pack's collection becomes exactly these entries (its "
                    "others removed); false: these are added or updated"
                ),
            ] = False,
        ) -> CallToolResult:
            """Save entries (homebrew drafted in the conversation) into a folder pack the user
            owns, validated like every pack file; the pack is re-installed at once."""
            args = {"pack": pack, "collection": collection, "entries": entries, "replace": replace}
            return await tools.call(
                "upload_entries", pack_features.upload, protocol.UploadParams, args, _upload_text
            )

    for name, result_type in schemas.items():
        registered = server._tool_manager.get_tool(name)  # no public way to set either schema
        if registered is not None:
            registered.fn_metadata.output_schema = output_schema(result_type)
            registered.parameters = input_schema(registered.parameters)

    _resources(server, app)
    _prompts(server, app)
    _completions(server, app)
    return server


def _check_pack_folder(app: App, directory: str) -> None:
    """An assistant creates packs in the campaign's folder or d5e's packs folder only: with
    writes allowed, a model's `directory` could otherwise be any folder the user may write."""
    target = pack_features.client_path(app, directory).resolve()
    places = [pack_features.default_pack_folder(app).resolve()]
    if app.settings.workspace:
        places.insert(0, Path(app.settings.workspace).resolve())
    if not any(target == place or target.is_relative_to(place) for place in places):
        where = " or ".join(str(place) for place in places)
        raise ToolError(
            f"create_pack: {directory} is outside the folders an assistant may create packs in "
            f"({where}); leave directory out to use {places[-1]} - at `$.directory`"
        )


def _resources(server: MCPServer[Any], app: App) -> None:
    @server.resource(
        "d5e://{pack}/{collection}/{slug}.md",
        name="entry",
        title="A rules entry's card",
        description="One entry of a pack as Markdown, e.g. d5e://srd-2014/spells/fireball.md "
        "(search hits and resolved tags give these links).",
        mime_type="text/markdown",
    )
    def entry_card(pack: str, collection: str, slug: str) -> str:
        """The card of the entry with that slug or, where a client or a model wrote a name
        instead (`Mordenkainen's Sword`, `FIREBÀLL`: the SDK has decoded it), of that name in
        that pack and collection. Neither: not found, with the names it may mean."""
        uri = f"d5e://{pack}/{collection}/{slug}.md"
        try:
            return document(app, protocol.DocumentParams(uri=uri)).text
        except NotFound as exc:
            missing: D5eError = exc
        except D5eError as exc:  # no slug: a name, or nothing
            missing = exc
        by_name = {"name": slug, "pack": pack, "collection": collection}
        try:
            return lookup(app, protocol.decode(by_name, protocol.LookupParams)).markdown
        except D5eError as exc:
            missing = missing if isinstance(missing, NotFound) else exc
        raise ResourceNotFoundError(missing.message) from missing

    @server.resource(
        PACKS_URI,
        name="packs",
        title="Installed packs",
        description="The packs and this campaign's profile (on/off, priorities), as JSON.",
        mime_type="application/json",
    )
    def packs_list() -> str:
        result = pack_features.list_packs(app, protocol.PacksListParams())
        return msgspec.json.encode(result).decode()


def _prompt_party(text: str) -> str:
    """A prompt's `party` ("5, 5 ,5") as levels ("5,5,5"), each 1 to 20; else invalid params."""
    with suppress(ToolError):  # said in words, as the encounter tool takes it
        said = _party_said(text)
        if isinstance(said, list):
            text = ",".join(map(str, said))
    words = [word for word in re.split(r"[\s,]+", text.strip()) if word]
    if not all(word.isdigit() and 1 <= int(word) <= 20 for word in words):
        message = f"party {text!r}: the characters' levels, 1 to 20 each, e.g. 5,5,5,5"
        log.warning("prompts/get prepare_encounter: %s (answered %d)", message, INVALID_PARAMS)
        raise MCPError(INVALID_PARAMS, message)
    return ",".join(str(int(word)) for word in words)


def _prompt_difficulty(text: str) -> str:
    """A prompt's `difficulty`, one of either edition's (any case); else invalid params."""
    said = text.strip().lower()
    if said not in DIFFICULTIES_2014 + DIFFICULTIES_2024:
        message = (
            f"difficulty {text!r}: one of {', '.join(DIFFICULTIES_2014)} (2014 rules) or "
            f"{', '.join(DIFFICULTIES_2024)} (2024 rules)"
        )
        log.warning("prompts/get prepare_encounter: %s (answered %d)", message, INVALID_PARAMS)
        raise MCPError(INVALID_PARAMS, message)
    return said


def _prompts(server: MCPServer[Any], app: App) -> None:
    @server.prompt(
        name="prepare_encounter",
        title="Prepare an encounter",
        description="Build a balanced encounter for a party from this campaign's monsters.",
    )
    def prepare_encounter(
        party: Annotated[
            str, Field(description="the characters' levels, e.g. 5,5,5,5; default: the campaign's")
        ] = "",
        theme: Annotated[str, Field(description="what the fight is about, e.g. goblins")] = "",
        difficulty: Annotated[
            str,
            Field(
                description="2014: easy, medium, hard, deadly; 2024: low, moderate, high; "
                "default: the middle one of the campaign's edition"
            ),
        ] = "",
    ) -> list[UserMessage]:
        theme_line = f" The theme: {theme}." if theme else ""
        party = _prompt_party(party) if party.strip() else ""
        party = party or ",".join(map(str, app.settings.party_levels()[0])) or "3,3,3,3"
        # the middle difficulty of the campaign's rules ("moderate" is no 2014 difficulty)
        difficulty = _prompt_difficulty(difficulty) if difficulty.strip() else ""
        difficulty = difficulty or ("moderate" if app.settings.edition == "2024" else "medium")
        article = "an" if difficulty[0] in "aeiou" else "a"
        return [
            UserMessage(
                f"Prepare {article} {difficulty} encounter for a party of characters of levels "
                f"{party}."
                f"{theme_line} Use d5e's `search` tool (with filters such as cr, type and "
                "environment; `filters` lists them) to find fitting monsters in this campaign's "
                "packs, and its `encounter` tool to check the difficulty until it is right. "
                "Then give the monsters with their counts, the adjusted XP and difficulty d5e "
                "computed, a line of tactics for each, and cite every monster by its d5e:// link "
                "and pack."
            )
        ]

    @server.prompt(
        name="explain_rule",
        title="Explain a rule with citations",
        description="Answer a rules question from the SRD and this campaign's packs, citing them.",
    )
    def explain_rule(
        question: Annotated[str, Field(description="e.g. How does grappling work?")],
    ) -> list[UserMessage]:
        return [
            UserMessage(
                f"Rules question: {question}\n\nAnswer it from d5e: `search` for the rules, "
                "conditions, spells or features involved, `lookup` each one you rely on, and "
                "answer plainly, quoting the deciding sentence of each and citing it by its "
                "d5e:// link and pack (a homebrew pack may override the SRD: say so when it "
                "does). If d5e has nothing on it, say that instead of guessing."
            )
        ]


COMPLETIONS = 100
"""The most values one `completion/complete` answers (the protocol's limit)."""


def _completions(server: MCPServer[Any], app: App) -> None:
    """What a client offers as the user fills the card template's variables (installed packs,
    collections, the entries' slugs by name, typos tolerated) and the prompts' arguments."""

    def starting(values: Iterable[str], value: str) -> list[str]:
        return [v for v in values if v.startswith(value.lower())]

    def slugs(value: str, known: dict[str, str]) -> list[str]:
        """The entries' slugs whose names the value starts or misspells; nothing typed yet: the
        pack's and collection's entries by name."""
        pack, collection = known.get("pack"), known.get("collection")
        scope = {"collections": [collection] if collection else None, "limit": COMPLETIONS}
        try:
            if value:
                asked = {"prefix": value, "pack": pack, **scope}
                found = complete(app, protocol.decode(_wire(asked), protocol.CompleteParams))
                refs = [item.ref for item in found.items]
            else:
                listing = {"query": "", "packs": [pack] if pack else None, **scope}
                hits = search(app, protocol.decode(_wire(listing), protocol.SearchParams))
                refs = [hit.ref for hit in hits.hits]
        except D5eError:  # an unknown pack or collection given before: nothing to offer
            return []
        return list(dict.fromkeys(ref.split("/", 1)[1] for ref in refs))

    def themes() -> list[str]:
        """An encounter's themes: the creature types and environments of the monsters in the
        packs (`type` is items' too: "weapon" is no theme)."""
        held = queries.attribute_value_collections(app.conn, "type")
        kinds = {str(v) for v, collections in held.items() if "monsters" in collections}
        places = queries.filter_values(app.conn, app.profile).get("environment", [])
        return sorted(kinds | {str(v) for v in places})

    # the SDK's decorator is untyped
    register: Callable[[Any], Any] = server.completion()  # type: ignore[no-untyped-call]

    @register
    async def complete_argument(
        ref: ResourceTemplateReference | PromptReference,
        argument: CompletionArgument,
        context: CompletionContext | None,
    ) -> Completion:
        known = (context.arguments if context else None) or {}
        value, found = argument.value, []
        if isinstance(ref, ResourceTemplateReference):
            if argument.name == "pack":
                found = starting(queries.pack_ids(app.conn), value)
            elif argument.name == "collection":
                found = starting(queries.collection_names(app.conn), value)
            elif argument.name == "slug":
                found = slugs(value, known)
        elif ref.name == "prepare_encounter" and argument.name == "difficulty":
            edition = app.settings.edition
            found = starting(DIFFICULTIES_2024 if edition == "2024" else DIFFICULTIES_2014, value)
        elif ref.name == "prepare_encounter" and argument.name == "theme":
            found = starting(themes(), value)
        elif ref.name == "prepare_encounter" and argument.name == "party":
            found = starting([",".join(map(str, app.settings.party_levels()[0]))], value)
        shown = found[:COMPLETIONS]
        return Completion(values=shown, total=len(found), has_more=len(found) > len(shown))


class _Start:
    """Background work (indexing, following other processes, loading the embedding model)
    starts once the client has said `notifications/initialized`, as `d5e serve` starts its
    own: the handshake is answered without competing with it. A client that never says it gets
    the work after `INDEX_FALLBACK_S`.

    The model is loaded at once here, where `d5e serve` loads it at the first search that
    needs it (its first requests are an editor's completions, which the load would slow): an
    assistant's first request is often a search, which would otherwise be ranked by keywords
    alone while the model loads (`model_ready`)."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.indexer: Any = None
        self.follow: asyncio.Task[None] | None = None
        self.running = True
        self.session: Any = None
        """The client's session (of a handshake: a client of the 2026-07-28 version listens
        through `subscriptions/listen`, on `bus`), to say when the resources changed."""
        self.bus: Any = None
        self.saying: asyncio.Task[None] | None = None
        self.loop: asyncio.AbstractEventLoop | None = None

    async def middleware(self, ctx: Any, call_next: Any) -> Any:
        if self.session is None and getattr(ctx, "session", None) is not None:
            self.session = ctx.session
        REQUEST.set(getattr(ctx, "request_id", None))
        result = await call_next(ctx)
        if ctx.method == "notifications/initialized":
            self.begin()
        return result

    def packs_changed(self, pack_ids: list[str]) -> None:
        """Packs changed (installed, removed, turned on or off here or by another process):
        the entries `resources/list` names did, and so did `d5e://packs`. Said once for a burst
        of changes, from the event loop whatever thread changed them."""
        if self.running and self.loop is not None:
            self.loop.call_soon_threadsafe(self._say_changed)

    def _say_changed(self) -> None:
        if self.saying is None or self.saying.done():
            self.saying = asyncio.ensure_future(self._send_changed())

    async def _send_changed(self) -> None:
        try:
            if self.session is not None:
                await self.session.send_resource_list_changed()
            if self.bus is not None:
                await self.bus.publish(ResourcesListChanged())
                await self.bus.publish(ResourceUpdated(uri=PACKS_URI))
        except Exception:  # a client gone: nothing to tell
            log.debug("could not say the resources changed", exc_info=True)

    def begin(self) -> None:
        if self.indexer is not None or not self.running:
            return
        from .background import BackgroundIndexer

        self.indexer = BackgroundIndexer(self.app, None, asyncio.get_running_loop(), progress=False)
        self.indexer.schedule()
        self.app.search.load_in_background()
        self.follow = asyncio.create_task(
            self.app.library.watch(lambda: self.running, FOLLOW_SECONDS)
        )

    def model_loading(self) -> bool:
        """Whether a search ranked by meaning would wait for the model now."""
        index = self.app.search
        return self.running and not index.embedder.loaded and index.vectors_ready()

    async def model_ready(self) -> bool:
        """Whether a search can rank by meaning as far as the model goes: with the vectors
        ready and the model still loading, wait for it (up to `MODEL_WAIT_S`), off the event
        loop; False when it is not loaded by then. (Vectors not ready: the search says so.)"""
        index = self.app.search
        if index.embedder.loaded or not index.vectors_ready():
            return True
        if not self.running:
            return False
        # a search before the background work began: a client of the protocol's 2026-07-28
        # version says no `initialized`, its first request is the sign the handshake is over
        self.begin()
        return await asyncio.to_thread(index.wait_for_model, MODEL_WAIT_S)

    def end(self) -> None:
        """The client left: stop the background work; the model's load is not waited for (a
        client that listed the tools and left waited ~1.4 s for it): `cli.cmd_mcp` leaves
        without finalizing while it runs."""
        self.running = False
        if self.follow is not None:
            self.follow.cancel()
        if self.indexer is not None:
            self.indexer.stop(wait_for_load=False)
        else:  # a model load a search began
            self.app.search.stop(wait_for_load=False)


def _lifespan(start: _Start) -> Callable[[MCPServer[Any]], Any]:
    @asynccontextmanager
    async def lifespan(server: MCPServer[Any]) -> AsyncIterator[None]:
        start.loop = asyncio.get_running_loop()  # packs changed: said from the start on
        start.app.library.on_change(start.packs_changed)
        fallback = start.loop.call_later(INDEX_FALLBACK_S, start.begin)
        try:
            yield None
        finally:
            fallback.cancel()
            start.end()

    return lifespan


def allow_writes(flag: bool, env: dict[str, str] | None = None) -> bool:
    env = dict(os.environ) if env is None else env
    return flag or env.get(ALLOW_WRITES_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def serve(app: App, writes: bool = False) -> int:
    """Run the MCP server on stdio until the client closes it. The SDK points file descriptor 1
    at stderr while it runs, so nothing but protocol messages reaches stdout."""
    server = create_server(app, allow_writes=writes)
    gc.freeze()  # what the start made lives as long as the server: never walked again
    gc.enable()  # off while `d5e mcp` started (`cli.cmd_mcp`)
    with suppress(KeyboardInterrupt):
        server.run("stdio")
    return 0
