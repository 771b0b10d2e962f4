"""`d5e mcp` driven as a subprocess by the MCP SDK's own client (`ClientSession` over
`stdio_client`): tools, resources and prompts listed, each tool called with good and bad
arguments, answers equal to `d5e serve`'s for the same requests, and packs installed by the CLI
seen by a running server."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, cast

import apsw
import msgspec
import pytest
from mcp import Client, ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.shared.exceptions import MCPError
from mcp_types import PaginatedRequestParams, ResourceListChangedNotification

from d5e_daemon import mcp_server, protocol
from d5e_daemon.features import packs as pack_features
from d5e_daemon.features.documents import resolve_tags
from d5e_daemon.features.lookup import lookup
from d5e_daemon.search.embed import FakeEmbedder

from .conftest import start_client
from .fixtures import make_app, private_copy
from .packtools import write_pack

pytestmark = pytest.mark.slow

WRITERS = {"create_pack", "upload_entries"}
SPELL = '{"name": "Moonlit Hex", "level": 2, "school": "enchantment", "desc": ["A silver curse."]}'


def _env(db_path: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """What the server needs of this test's environment (the SDK passes only a safe few)."""
    keep = ("D5E_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "D5E_EMBEDDER", "PATH", "HOME")
    env = {key: os.environ[key] for key in keep if key in os.environ}
    return {**env, "D5E_DB": str(db_path), **(extra or {})}


@asynccontextmanager
async def mcp_session(
    db_path: Path,
    *args: str,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    errlog: Any = sys.stderr,
    message_handler: Any = None,
) -> AsyncIterator[ClientSession]:
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "d5e_daemon", "mcp", *args],
        env=_env(db_path, env),
        cwd=str(cwd) if cwd else None,
    )
    client = stdio_client(params, errlog=errlog)
    async with (
        client as (read, write),
        ClientSession(read, write, message_handler=message_handler) as session,
    ):
        await session.initialize()
        yield session


class Shared:
    """One `d5e mcp` on the indexed SRD copy, its `ClientSession` held for the whole module by a
    thread of its own (its own event loop: the SDK's session must end in the task that began
    it): for the tests that only read, which need no fresh process. Each start costs ~1 s of
    CPU, most of it the MCP SDK's imports; these tests started eight."""

    def __init__(self, folder: Path, template: Path) -> None:
        self.db = folder / "d5e.sqlite3"
        shutil.copy(template, self.db)
        self.log = folder / "stderr.txt"
        self.env = {  # the module's own: the autouse `_isolated_home` is per test
            "D5E_HOME": str(folder / "d5e-home"),
            "XDG_DATA_HOME": str(folder / "xdg-data"),
            "XDG_CACHE_HOME": str(folder / "xdg-cache"),
            "D5E_EMBEDDER": "fake",
        }
        self.loop = asyncio.new_event_loop()
        self.session: concurrent.futures.Future[ClientSession] = concurrent.futures.Future()
        self.stop = asyncio.Event()
        self.thread = threading.Thread(
            target=self.loop.run_until_complete, args=(self.hold(),), daemon=True
        )  # daemon: a failed start or an interrupted run does not keep pytest from leaving
        self.thread.start()
        self.proxy = cast(ClientSession, _InThread(self.session.result(timeout=120), self.loop))

    async def hold(self) -> None:
        try:
            with open(self.log, "w") as err:
                async with mcp_session(self.db, env=self.env, errlog=err) as session:
                    self.session.set_result(session)
                    await self.stop.wait()
        except BaseException as exc:
            if not self.session.done():
                self.session.set_exception(exc)
            raise

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(timeout=60)
        self.loop.close()


class _InThread:
    """The shared session's methods, run on its loop and awaited from the test's."""

    def __init__(self, session: ClientSession, loop: asyncio.AbstractEventLoop) -> None:
        self._session = session
        self._loop = loop

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._session, name)

        async def run(*args: Any, **kwargs: Any) -> Any:
            future = asyncio.run_coroutine_threadsafe(method(*args, **kwargs), self._loop)
            return await asyncio.wrap_future(future)

        return run


@pytest.fixture(scope="module")
def shared_server(
    indexed_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Shared]:
    server = Shared(tmp_path_factory.mktemp("mcp-shared"), indexed_template)
    yield server
    server.close()


@pytest.fixture
def shared(shared_server: Shared) -> ClientSession:
    """The module's `d5e mcp` session (only for tests that change nothing)."""
    return shared_server.proxy


async def call(session: ClientSession, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await session.call_tool(tool, arguments)
    assert not result.is_error, result.content
    assert result.content and result.content[0].type == "text"
    assert isinstance(result.structured_content, dict)
    return result.structured_content


async def error(session: ClientSession, tool: str, **arguments: Any) -> str:
    result = await session.call_tool(tool, arguments)
    assert result.is_error
    text = result.content[0].text  # type: ignore[union-attr]
    assert isinstance(text, str)
    return text


async def test_lists_tools_resources_and_prompts(shared: ClientSession) -> None:
    session = shared
    tools = {t.name: t for t in (await session.list_tools()).tools}
    assert set(tools) == {
        "lookup",
        "search",
        "filters",
        "complete",
        "resolve_tags",
        "encounter",
        "packs",
    }
    for tool in tools.values():  # one line, not the docstring's indentation
        assert tool.description and "  " not in tool.description, tool.description
        assert tool.title and tool.annotations and tool.annotations.read_only_hint, tool.name
        assert tool.input_schema["type"] == "object"
        assert tool.output_schema is not None and tool.output_schema["type"] == "object"
    assert set(tools["search"].input_schema["properties"]) >= {"query", "filters", "limit"}
    assert tools["lookup"].output_schema["required"] == ["entry", "markdown", "packInfo"]

    templates = (await session.list_resource_templates()).resource_templates
    assert [t.uri_template for t in templates] == ["d5e://{pack}/{collection}/{slug}.md"]
    resources = (await session.list_resources()).resources
    assert str(resources[0].uri) == "d5e://packs"  # then the entries: below
    prompts = {p.name: p for p in (await session.list_prompts()).prompts}
    assert set(prompts) == {"prepare_encounter", "explain_rule"}
    for prompt in prompts.values():  # what to give each argument, as for a tool's
        assert all(a.description for a in prompt.arguments or []), prompt.name
    assert tools["search"].input_schema["properties"]["mode"]["description"]


async def test_answers_equal_those_of_d5e_serve(indexed_db: Path, shared: ClientSession) -> None:
    """`d5e serve` on a copy of the indexed SRD, `d5e mcp` (the module's) on another."""
    requests: list[tuple[str, str, dict[str, Any]]] = [
        ("lookup", "d5e/lookup", {"name": "fireball"}),
        ("lookup", "d5e/lookup", {"ref": "srd-2014:monsters/goblin"}),
        ("search", "d5e/search", {"query": "breathe under water", "limit": 5}),
        ("search", "d5e/search", {"filters": {"level": 3, "school": "evocation"}, "limit": 50}),
        ("complete", "d5e/complete", {"prefix": "magic misile", "limit": 5}),
        ("filters", "d5e/search/filters", {"collections": ["spells"]}),
        ("packs", "d5e/packs/list", {}),
        (
            "encounter",
            "d5e/encounter",
            {"party": [3, 3, 3, 3], "monsters": [{"name": "wolf", "count": 4}]},
        ),
        ("resolve_tags", "d5e/resolveTags", {"text": "A {@spell fireball} and {@creature orc}."}),
    ]
    lsp = await start_client(indexed_db)
    try:
        served = [await lsp.protocol.send_request_async(m, p) for _, m, p in requests]
    finally:
        await lsp.shutdown_session()
        await lsp.stop()
    for (tool, _, params), expected in zip(requests, served, strict=True):
        assert await call(shared, tool, **params) == expected, tool


async def test_readable_markdown_beside_the_structured_answer(shared: ClientSession) -> None:
    session = shared
    card = await session.call_tool("lookup", {"name": "Fireball"})
    assert card.content[0].text.startswith("## Fireball")  # type: ignore[union-attr]
    hits = await session.call_tool("search", {"query": "breathe under water", "limit": 3})
    text = hits.content[0].text  # type: ignore[union-attr]
    assert "**Water Breathing** (spells, srd-2014)" in text
    assert "d5e://srd-2014/spells/water-breathing.md" in text
    tags = await call(
        session, "resolve_tags", text="Cast {@spell fireball|PHB|the fire} on {@creature orcc}."
    )
    assert tags["text"] == (
        "Cast [the fire](d5e://srd-2014/spells/fireball.md) on {@creature orcc}."
    )
    assert [t["name"] for t in tags["tags"]] == ["Fireball"]
    assert tags["tags"][0]["summary"] == "3rd-level evocation"
    (unknown,) = tags["unknown"]
    assert unknown["tag"] == "{@creature orcc}"
    assert "Orc" in [s.title() for s in unknown["suggestions"]]
    fight = await session.call_tool(
        "encounter", {"party": [3, 3, 3, 3], "monsters": [{"name": "wolf", "count": 4}]}
    )
    said = fight.content[0].text  # type: ignore[union-attr]
    assert said.startswith(
        "**Easy · 400 XP (adjusted) for 4 × level 3** (2014 rules)\n\n"
        "- 4 × Wolf (CR 1/4, `d5e://srd-2014/monsters/wolf.md`): 50 XP each, 200 XP\n\n"
        "200 XP × 2 = 400 XP adjusted.\n"
    )  # the difficulty said once ("**Easy** (2014 rules): Easy · 400 XP …")
    party = [3, 3, 3, 3]
    fight = await session.call_tool("encounter", {"party": party, "monsters": ["6-8 wolf"]})
    said = fight.content[0].text  # type: ignore[union-attr]
    assert said.startswith(  # as `d5e encounter 6-8 wolf` takes it, both ends said
        "**Medium–Hard · 600–1,000 XP (adjusted) for 4 × level 3** (2014 rules)\n\n"
        "- 6–8 × Wolf (CR 1/4, `d5e://srd-2014/monsters/wolf.md`): 50 XP each, 300–400 XP\n\n"
        "300–400 XP × 2–2.5 = 600–1,000 XP adjusted.\n"
    )  # thousands separated as in the summary (it said "600–1000" below "600–1,000")
    monsters = ["two or three", "bandits", {"name": "orc", "count": "1d4+1"}]
    fight = await session.call_tool("encounter", {"party": party, "monsters": monsters})
    assert fight.structured_content is not None
    assert [
        (m["name"], m["count"], m["countMax"]) for m in fight.structured_content["perMonster"]
    ] == [("Bandit", 2, 3), ("Orc", 2, 5)]
    assert "keywords only" not in text  # this database's meaning index is made
    listing = await session.call_tool("search", {"filters": {"school": "evocaton"}})
    assert listing.content[0].text.endswith(  # type: ignore[union-attr]
        "did you mean 'evocation'?)"
    )


async def test_a_search_before_the_meaning_index_is_made_says_it_ranked_by_keywords(
    attributed_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a database whose vectors are not made yet (the server makes them in the background,
    here not begun), a search answers from keywords and says so; a listing by filters or a
    search in keyword mode has nothing to say. In process: the server's own code, no start."""
    monkeypatch.setattr(mcp_server, "INDEX_FALLBACK_S", 600.0)  # no background work meanwhile
    app = make_app(private_copy(attributed_template, tmp_path))
    try:  # "auto": a client of the protocol's 2026-07-28 version says no `initialized`
        async with Client(mcp_server.create_server(app), mode="auto") as client:
            hits = await client.call_tool("search", {"query": "breathe under water", "limit": 3})
            text = hits.content[0].text  # type: ignore[union-attr]
            assert "**Water Breathing** (spells, srd-2014)" in text
            keywords_only = "(Ranked by keywords only: the meaning index is not ready yet.)"
            assert keywords_only in text
            asked: dict[str, Any]
            for asked in (
                {"filters": {"school": "evocation"}},
                {"query": "fire", "mode": "keyword"},
            ):
                listed = await client.call_tool("search", {**asked, "limit": 2})
                said = listed.content[0].text  # type: ignore[union-attr]
                assert said.startswith("1. **") and keywords_only not in said, asked
        assert not app.search.vectors_ready()
    finally:
        app.close()


async def test_a_client_of_the_2026_protocol_hears_of_changed_packs_by_listening(
    indexed_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A client of the protocol's 2026-07-28 version (which caches list results) hears that
    the resources changed on its `subscriptions/listen` stream, as a pack is installed and as
    one is turned off; its next listing holds the new entry. In process: no start."""
    monkeypatch.setattr(mcp_server, "INDEX_FALLBACK_S", 600.0)  # no background work meanwhile
    app = make_app(indexed_db)
    pack = write_pack(tmp_path / "brew", {"spells/moonlit-hex.json": SPELL})
    try:
        async with (
            Client(mcp_server.create_server(app), mode="2026-07-28") as client,
            client.listen(resources_list_changed=True) as events,
        ):
            heard = aiter(events)
            await pack_features.install(app, protocol.PackInstallParams(path=str(pack)))
            await asyncio.wait_for(anext(heard), 10)
            page = await client.list_resources()
            while page.next_cursor:
                page = await client.list_resources(cursor=page.next_cursor)
            assert "d5e://brew/spells/moonlit-hex.md" in [str(r.uri) for r in page.resources]
            await pack_features.disable(app, protocol.PackIdParams(pack="brew"))
            await asyncio.wait_for(anext(heard), 10)
    finally:
        app.close()


async def test_a_creature_split_into_forms_by_its_bare_name(shared: ClientSession) -> None:
    """The SRD's vampire and werewolf are forms ("Vampire, Vampire Form"): an assistant asking
    for "werewolf" gets its true form, and `{@creature vampire}` resolves."""
    session = shared
    card = await call(session, "lookup", name="werewolf")
    assert (card["entry"]["name"], card["foundBy"]) == ("Werewolf, Human Form", "inverted")
    tags = await call(session, "resolve_tags", text="The {@creature vampire} rises.")
    assert [t["name"] for t in tags["tags"]] == ["Vampire, Vampire Form"]
    assert tags["unknown"] == []
    names = await call(session, "complete", prefix="werew", limit=3)
    assert names["items"][0]["alias"] == "Werewolf"


async def test_errors_are_tool_errors_with_the_json_rpc_messages(shared: ClientSession) -> None:
    session = shared
    message = await error(session, "lookup", name="firebal")
    assert "no entry named 'firebal'; did you mean srd-2014:spells/fireball" in message
    message = await error(session, "lookup", name="fireball", ref="spells/fireball")
    assert "exactly one" in message
    message = await error(session, "search", query="fire", limit=0)
    assert "$.limit" in message
    message = await error(session, "search", query="fire", filters={"level": "three"})
    assert "level" in message
    message = await error(session, "complete", prefix="x" * 5000)
    assert "$.prefix" in message
    message = await error(session, "encounter", party=[0], monsters=[{"name": "wolf"}])
    assert "character level 0: levels are 1 to 20 - at `$.party[0]`" in message
    message = await error(session, "complete", prefix="fire", collections=["spell"])
    assert message == (
        "Error executing tool complete: no installed pack has a collection 'spell'; did you"
        " mean 'spells'? - at `$.collections[0]`"
    )  # it answered "No names match."
    message = await error(session, "encounter", party=[3], monsters=["8-6 wolf"])
    assert message == (
        "Error executing tool encounter: count '8-6': the low end 8 is above the high end 6"
        " - at `$.monsters`"
    )
    monsters = [{"name": "wolf"}, {"name": "goblin boss"}]
    message = await error(session, "encounter", party=[3], monsters=monsters)
    assert message == (  # the path at the end, as for every argument
        "Error executing tool encounter: no entry named 'goblin boss' in monsters; did you mean"
        " srd-2014:monsters/goblin? (a creature no pack has needs its `cr` or `xp`)"
        " - at `$.monsters[1]`"
    )
    # arguments the tool's input schema refuses: the problem and its path, no pydantic dump
    message = await error(session, "lookup", name=3)
    assert message == "Error executing tool lookup: Input should be a valid string - at `$.name`"
    message = await error(session, "search", query="fire", mode="fuzzy")
    assert message == (
        "Error executing tool search: Input should be 'hybrid', 'keyword' or 'semantic'"
        " - at `$.mode`"
    )
    message = await error(session, "lookup", ref="not a ref")
    assert "invalid ref" in message
    # a misspelt argument is refused, not dropped (the SDK answered as if it were not given)
    message = await error(session, "lookup", name="fireball", colection="monsters")
    assert message == (
        "Error executing tool lookup: unknown argument 'colection': did you mean"
        " `collection`? - at `$.colection`"
    )
    message = await error(session, "packs", verbose=True)
    assert "unknown argument 'verbose': it takes no arguments - at `$.verbose`" in message
    # the server lives on, and answers
    assert (await call(session, "lookup", name="goblin"))["entry"]["name"] == "Goblin"


async def test_what_an_assistant_writes_after_reading_the_answers(shared: ClientSession) -> None:
    """A model cites entries by the links d5e gives (`d5e://srd-2014/monsters/mimic.md`) and
    copies them into the next call; it says a party as a sentence; it names a pack by the start
    of its id. Each is taken, or refused saying what to write instead."""
    session = shared
    # "read me the Mimic": by the link a search hit gave, by pack/collection/slug, by a name
    # where the slug goes
    for ref in (
        "d5e://srd-2014/monsters/mimic.md",
        "srd-2014/monsters/mimic",
        "monsters/Mimic",
        "srd-2014:monsters/mimic",
    ):
        found = await call(session, "lookup", ref=ref)
        assert (found["entry"]["name"], found["entry"]["pack"]) == ("Mimic", "srd-2014"), ref
    # the link copied into `name` (it was "no entry named 'd5e://…'", nothing suggested)
    found = await call(session, "lookup", name="d5e://srd-2014/monsters/mimic.md")
    assert (found["entry"]["name"], found["entry"]["pack"]) == ("Mimic", "srd-2014")
    # `complete` gives each name's link, to cite and to look up, as `search` does
    names = await session.call_tool("complete", {"prefix": "mimi", "limit": 1})
    assert names.content[0].text == (  # type: ignore[union-attr]
        "- **Mimic** (monsters, srd-2014) `d5e://srd-2014/monsters/mimic.md`: CR 2 Medium"
        " monstrosity"
    )
    message = await error(session, "lookup", ref="d5e://srd-2014/monsters/no-such-thing.md")
    assert message.endswith("no entry with ref srd-2014:monsters/no-such-thing")
    # "what does a party of four 5th-level characters face against 3 trolls"
    for party in ("four level 5 characters", "4 level-5 characters", "4 x level 5"):
        fight = await call(session, "encounter", party=party, monsters="3 trolls")
        assert (fight["party"], fight["difficulty"]) == ([5, 5, 5, 5], "deadly"), party
    message = await error(session, "encounter", party="a strong party", monsters="3 trolls")
    assert message == (
        "Error executing tool encounter: party 'a strong party': the characters' levels, e.g."
        ' [5, 5, 5, 5] (or "four level 5 characters") - at `$.party`'
    )
    message = await error(session, "encounter", party=4, monsters="3 trolls")
    assert "the characters' levels, e.g. [5, 5, 5, 5]" in message and "$.party" in message
    message = await error(session, "encounter", party=[5], monsters=[{"name": "troll", "qty": 3}])
    assert message.endswith(
        "unknown field 'qty': a group takes name, ref, count, cr, xp - at `$.monsters[0].qty`"
    )
    # a range's ends written as the `filters` tool writes challenge ratings ("1/2")
    hits = await call(
        session, "search", collections=["monsters"], filters={"cr": {"min": "1/2", "max": "1"}},
        limit=500,
    )  # fmt: skip
    crs = {hit["snippet"].split()[1] for hit in hits["hits"]}
    assert crs == {"1/2", "1"}, crs
    # a pack named by the start of its id
    hits = await call(session, "search", query="fire", packs=["srd"])
    assert not hits["hits"]
    assert "did you mean 'srd-2014' or 'srd-2024'?" in hits["hints"][0]


async def test_a_listing_as_long_as_its_limit_says_more_may_follow(shared: ClientSession) -> None:
    """ "Which 3rd-level spells…": a listing by filters answers the first `limit` by name; one
    that filled its page says where the next starts (a model took ten for all of them), one
    that did not says nothing more."""
    full = await shared.call_tool(
        "search", {"filters": {"level": 3}, "collections": ["spells"], "limit": 5, "offset": 5}
    )
    text = full.content[0].text  # type: ignore[union-attr]
    assert text.endswith("(5 shown; more may match: ask again with offset 10 for the next ones.)")
    fire = await shared.call_tool(
        "search", {"filters": {"level": 3, "class": "wizard", "damage": "fire"}, "limit": 10}
    )
    said = fire.content[0].text  # type: ignore[union-attr]
    assert "**Fireball**" in said and "more may match" not in said


async def test_a_link_without_its_pack_is_answered_with_the_links_it_may_mean(
    shared: ClientSession,
) -> None:
    """`d5e://monsters/mimic.md` (a ref as `complete` gives it, made a link) or a pack that
    is not installed: not found, naming the cards there are (the SDK said "Unknown resource")."""
    for uri in ("d5e://monsters/mimic.md", "d5e://srd/monsters/mimic.md"):
        with pytest.raises(MCPError) as raised:
            await shared.read_resource(uri)
        assert "did you mean d5e://srd-2014/monsters/mimic.md" in str(raised.value), uri
        assert raised.value.error.code == -32602


async def test_reads_entry_cards_and_the_packs_list_as_resources(shared: ClientSession) -> None:
    session = shared
    card = await session.read_resource("d5e://srd-2014/spells/fireball.md")
    (content,) = card.contents
    assert content.mime_type == "text/markdown"
    assert content.text.startswith("## Fireball")  # type: ignore[union-attr]
    packs = await session.read_resource("d5e://packs")
    listed = json.loads(packs.contents[0].text)  # type: ignore[union-attr]
    assert {"srd-2014", "srd-2024"} <= {p["pack"]["id"] for p in listed["packs"]}
    with pytest.raises(Exception, match="no entry"):
        await session.read_resource("d5e://srd-2014/spells/no-such-spell.md")
    prompt = await session.get_prompt("explain_rule", {"question": "How does grappling work?"})
    assert "How does grappling work?" in prompt.messages[0].content.text  # type: ignore[union-attr]


async def test_resources_list_pages_through_every_entry_the_campaign_sees(
    shared_server: Shared, shared: ClientSession
) -> None:
    """`resources/list` as a client that lists resources walks it (Claude Desktop's attach
    menu, VS Code's "MCP Resources"): page after page by `nextCursor`, `d5e://packs` first,
    then every entry the profile sees once, named by its name, each a card to read."""
    caps = shared_server.session.result().server_capabilities
    assert caps is not None and caps.resources is not None and caps.resources.list_changed
    listed: list[Any] = []
    cursor: str | None = None
    pages = 0
    while True:
        params = PaginatedRequestParams(cursor=cursor) if cursor else None
        page = await shared.list_resources(params=params)
        assert len(page.resources) <= mcp_server.RESOURCES_PAGE + 1
        listed += page.resources
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            break
    uris = [str(r.uri) for r in listed]
    assert uris[0] == "d5e://packs" and len(uris) == len(set(uris))
    profile = (await call(shared, "packs"))["profile"]
    conn = apsw.Connection(str(shared_server.db), flags=apsw.SQLITE_OPEN_READONLY)
    winners = conn.execute(
        "SELECT count(*) FROM resolved WHERE profile_id = (SELECT id FROM profile WHERE name = ?)",
        (profile,),
    ).get
    conn.close()
    assert len(uris) == winners + 1 and pages >= 2
    (fireball,) = [r for r in listed if r.name == "Fireball" and "srd-2014/" in str(r.uri)]
    assert fireball.mime_type == "text/markdown" and fireball.description == "spells, srd-2014"
    card = await shared.read_resource(str(fireball.uri))
    assert card.contents[0].text.startswith("## Fireball")  # type: ignore[union-attr]
    with pytest.raises(MCPError, match="nextCursor"):
        await shared.list_resources(params=PaginatedRequestParams(cursor="page-two"))
    # a cursor of digits past SQLite's integers (OverflowError) or Python's 4,300-digit limit
    # for int() (ValueError) was an internal error (-32603); one of 1 MB was echoed whole
    for bad in [str(2**64), "9" * 5_000, "9" * 1_000_000, "\u0661\u0662"]:
        with pytest.raises(MCPError, match="nextCursor") as caught:
            await shared.list_resources(params=PaginatedRequestParams(cursor=bad))
        assert caught.value.error.code == -32602 and len(caught.value.error.message) < 300


async def test_a_prompt_without_its_argument_is_an_error_and_one_line_in_the_log(
    shared_server: Shared,
) -> None:
    """`explain_rule` without `question` logged the SDK's traceback (30 lines) and answered
    code 0. Now: invalid params (-32602) naming the argument, one line in the log, and the
    server goes on. (The module's server: what it logged meanwhile.)"""
    session = shared_server.proxy
    before = shared_server.log.stat().st_size
    with pytest.raises(MCPError) as refused:
        await session.get_prompt("explain_rule", {})
    assert refused.value.error.code == -32602
    assert refused.value.error.message == "Missing required arguments: {'question'}"
    with pytest.raises(MCPError) as unknown:
        await session.get_prompt("explain_rules", {"question": "x"})
    assert unknown.value.error.code == -32602
    prompt = await session.get_prompt("explain_rule", {"question": "Grappling?"})
    assert "Grappling?" in prompt.messages[0].content.text  # type: ignore[union-attr]
    with open(shared_server.log) as log:
        log.seek(before)
        logged = log.read()
    assert [line.split(" ", 3)[-1] for line in logged.splitlines() if "prompts/get" in line] == [
        "d5e_daemon.mcp_server: prompts/get explain_rule: Missing required arguments: "
        "{'question'} (answered -32602)",
        "d5e_daemon.mcp_server: prompts/get explain_rules: Unknown prompt: explain_rules "
        "(answered -32602)",
    ]
    assert "Traceback" not in logged


async def test_write_tools_are_off_unless_the_user_allows_them(
    indexed_db: Path, tmp_path: Path, shared: ClientSession
) -> None:
    names = {t.name for t in (await shared.list_tools()).tools}
    assert not names & WRITERS
    assert await error(shared, "create_pack", id="brew") == (
        "Unknown tool: create_pack: the tools that write packs are offered only when the user"
        " starts d5e mcp with --allow-writes (or D5E_MCP_ALLOW_WRITES=1)"
    )
    async with mcp_session(indexed_db, "--allow-writes") as session:
        writers = [t for t in (await session.list_tools()).tools if t.name in WRITERS]
        for tool in writers:  # said to write, so that a client asks the user first
            assert tool.title and tool.annotations, tool.name
            assert tool.annotations.read_only_hint is False, tool.name
            # a second create_pack of one id is refused; the same entries again change nothing
            said = (tool.annotations.destructive_hint, tool.annotations.idempotent_hint)
            assert (
                said == {"create_pack": (False, False), "upload_entries": (True, True)}[tool.name]
            )
            assert tool.annotations.open_world_hint is False, tool.name
            # the shape of test_input_schemas_take_the_shape_every_client_takes
            schema = tool.input_schema
            assert schema["additionalProperties"] is False
            for node in _schema_nodes(schema):
                assert not {"$ref", "title"} & set(node), (tool.name, node)
                assert {"type": "null"} not in node.get("anyOf", []), (tool.name, node)
            assert all(len(p["description"]) >= 20 for p in schema["properties"].values())
        outside = tmp_path / "elsewhere"
        refused = await error(session, "create_pack", id="assistant-brew", directory=str(outside))
        packs = indexed_db.parent / "packs"
        assert refused.endswith(
            f"create_pack: {outside} is outside the folders an assistant may create packs in "
            f"({packs}); leave directory out to use {packs}"
            " - at `$.directory`"
        )
        assert not outside.exists()
        # create_pack takes no `replace`: the refusal does not offer it (it said "pass
        # replace: true (`--replace`)")
        taken = await error(session, "create_pack", id="srd-2014")
        assert "pack id srd-2014 is already installed from plugin:" in taken
        assert taken.endswith("installing this would replace it: give this pack another id")
        created = await call(session, "create_pack", id="assistant-brew")
        assert Path(created["path"]) == indexed_db.parent / "packs" / "assistant-brew"
        assert Path(created["path"]).is_dir()
        uploaded = await call(
            session,
            "upload_entries",
            pack="assistant-brew",
            collection="spells",
            entries=[json.loads(SPELL)],
        )
        assert len(uploaded["written"]) == 1
        assert uploaded["install"]["action"] == "upgraded"
        card = await call(session, "lookup", name="moonlit hex")
        assert card["entry"]["pack"] == "assistant-brew"
        bad = await error(
            session, "upload_entries", pack="assistant-brew", collection="spells", entries=[{}]
        )
        assert "name" in bad


async def test_an_assistant_creates_packs_inside_the_campaign_folder_only(
    indexed_db: Path, tmp_path: Path
) -> None:
    """The server started in the campaign's folder (no `--workspace`): its d5e.toml found from
    there, as `--workspace` finds it (`test_reads_the_campaign_d5e_toml_as_d5e_serve_does`)."""
    campaign = tmp_path / "campaign"
    campaign.mkdir()
    (campaign / "d5e.toml").write_text('edition = "2024"\n')
    async with mcp_session(indexed_db, "--allow-writes", cwd=campaign) as session:
        assert (await call(session, "lookup", name="aboleth"))["entry"]["pack"] == "srd-2024"
        for directory in ("..", "../other", "/etc", str(tmp_path)):
            refused = await error(session, "create_pack", id="brew", directory=directory)
            assert "is outside the folders an assistant may create packs in" in refused
            assert f"({campaign} or {campaign / 'packs'})" in refused
        assert not (tmp_path / "other").exists() and not list(tmp_path.rglob("brew"))
        created = await call(session, "create_pack", id="brew", directory="homebrew")
        assert Path(created["path"]) == campaign / "homebrew" / "brew"
        packs = await call(session, "packs")
        assert "brew" in [p["pack"]["id"] for p in packs["packs"]]


async def test_a_pack_installed_by_the_cli_is_seen_by_running_servers(
    indexed_db: Path, tmp_path: Path
) -> None:
    """Installed by the CLI (from anywhere: the user's default profile), the pack is on in each
    running server's profile too: one started in a folder without a d5e.toml (the default
    profile), one in a campaign's (its own); its entries found by lookup and by search."""
    pack = write_pack(tmp_path / "brew", {"spells/moonlit-hex.json": SPELL})
    install = [sys.executable, "-m", "d5e_daemon", "packs", "install", str(pack)]
    plain, campaign = tmp_path / "plain", tmp_path / "campaign"
    plain.mkdir()
    campaign.mkdir()
    (campaign / "d5e.toml").write_text('edition = "2014"\n')
    told = [asyncio.Event(), asyncio.Event()]

    def listen(event: asyncio.Event) -> Any:
        async def handle(message: Any) -> None:
            if isinstance(message, ResourceListChangedNotification):
                event.set()

        return handle

    async with (
        mcp_session(
            indexed_db, "--workspace", str(plain), message_handler=listen(told[0])
        ) as default,
        mcp_session(
            indexed_db, "--workspace", str(campaign), message_handler=listen(told[1])
        ) as own,
    ):
        for session in (default, own):
            assert "no entry named" in await error(session, "lookup", name="Moonlit Hex")
        cli = await asyncio.to_thread(
            subprocess.run, install, env=_env(indexed_db), capture_output=True, check=False
        )
        assert cli.returncode == 0, cli.stderr
        for session in (default, own):
            for _ in range(50):  # the server follows the database within a few seconds
                answer = await session.call_tool("lookup", {"name": "Moonlit Hex"})
                if not answer.is_error:
                    break
                await asyncio.sleep(0.2)
            card = await call(session, "lookup", name="Moonlit Hex")
            assert card["entry"]["pack"] == "brew"
            hits = await call(session, "search", query="silver curse", mode="keyword")
            assert "Moonlit Hex" in [h["name"] for h in hits["hits"]]
            packs = await call(session, "packs")
            (brew,) = [p for p in packs["packs"] if p["pack"]["id"] == "brew"]
            assert brew["enabled"]
        assert (await call(own, "packs"))["profile"] != (await call(default, "packs"))["profile"]
        # each was told its resources changed, and lists the new entry (on its last page)
        for event, session in zip(told, (default, own), strict=True):
            await asyncio.wait_for(event.wait(), 30)
            page = await session.list_resources()
            while page.next_cursor:
                page = await session.list_resources(
                    params=PaginatedRequestParams(cursor=page.next_cursor)
                )
            assert "d5e://brew/spells/moonlit-hex.md" in [str(r.uri) for r in page.resources]


HANDSHAKE = [
    {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "test", "version": "0"},
        },
    },
    {"jsonrpc": "2.0", "method": "notifications/initialized"},
]


def test_stdout_carries_only_protocol_messages(indexed_db: Path) -> None:
    """Newline-delimited JSON on stdout, nothing else (logs go to stderr). And `d5e mcp` starts
    as fast as `d5e serve`: it does not pay for pygls and LSP types too (`-X importtime` lists
    every module it imported on stderr)."""
    messages = [
        *HANDSHAKE,
        {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "tools/call",
            "params": {"name": "lookup", "arguments": {"name": "nope-nope"}},
        },
        {"jsonrpc": "2.0", "id": 3, "method": "tools/list"},
        # a call with a progress token, cancelled at once; cancels of what is unknown or said
        # badly, a client's progress: none stops the server, which answers the ping after them
        {
            "jsonrpc": "2.0",
            "id": 4,
            "method": "tools/call",
            "params": {
                "name": "search",
                "arguments": {"query": "undead whose touch paralyses", "limit": 500},
                "_meta": {"progressToken": "p4"},
            },
        },
        {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 4}},
        {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 99}},
        {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {}},
        {"jsonrpc": "2.0", "method": "notifications/progress", "params": {"progress": 1}},
        # a line of 1 MB (the pipe holds 64 KB), then lookups: each answered once, in turn
        {
            "jsonrpc": "2.0",
            "id": 6,
            "method": "tools/call",
            "params": {"name": "resolve_tags", "arguments": {"text": "{@spell light} " * 70_000}},
        },
        *[
            {
                "jsonrpc": "2.0",
                "id": 10 + i,
                "method": "tools/call",
                "params": {"name": "lookup", "arguments": {"name": "fireball"}},
            }
            for i in range(10)
        ],
    ]
    # stdin is read by a thread of d5e's (`mcp_server.ReadAhead`), not by the SDK's reader: the
    # SDK's guarantees kept. Bytes that are no UTF-8 read as U+FFFD; a line that is no JSON is
    # dropped, as the SDK drops it (logged), and the messages after it answered; the ping last.
    # A batch (the 2025-03-26 version, which d5e speaks, has servers take them; the SDK dropped
    # it, its requests never answered): each of its messages taken in turn, answered once.
    said = "".join(json.dumps(m) + "\n" for m in messages).encode()
    said += b'{"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "lookup", '
    said += b'"arguments": {"name": "fire\xff\xfeball"}}}\n'
    said += b'[{"jsonrpc": "2.0", "id": 8, "method": "ping"}, {"jsonrpc": "2.0", "id": 9, '
    said += b'"method": "tools/call", "params": {"name": "lookup", "arguments": {"name": "ogre"}'
    said += b"}}]\n[]\n[1, 2]\nnot json at all\n"
    said += b'{"jsonrpc": "2.0", "id": 5, "method": "ping"}\n'
    server = subprocess.Popen(
        [sys.executable, "-X", "importtime", "-m", "d5e_daemon", "mcp", "--log-level", "debug"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "D5E_DB": str(indexed_db)},
    )
    assert server.stdin is not None and server.stdout is not None
    writer = threading.Thread(target=lambda: (server.stdin.write(said), server.stdin.flush()))
    writer.start()  # the server answers while it is sent: its answers fill stdout's pipe
    answers: dict[Any, dict[str, Any]] = {}
    order = []
    while 5 not in answers:
        line = server.stdout.readline()
        assert line, "the server closed stdout"
        message = json.loads(line)  # every line is one JSON message
        if "id" in message:  # not a notification
            assert message["id"] not in answers, message  # none answered twice
            answers[message["id"]] = message
            order.append(message["id"])
    writer.join()
    _, err = server.communicate(timeout=60)  # closes stdin: the server ends
    stderr = err.decode()
    assert {1, 2, 3, 5, 6, 7, 8, 9, *range(10, 20)} <= set(answers)
    assert set(answers) <= {1, 2, 3, 4, 5, 6, 7, 8, 9, *range(10, 20)}
    assert [i for i in order if i >= 10] == list(range(10, 20))
    assert order.index(6) < order.index(10) < order.index(7) < order.index(8) < order.index(5)
    assert answers[8]["result"] == {}
    assert answers[9]["result"]["structuredContent"]["entry"]["name"] == "Ogre"
    assert answers[6]["result"]["isError"] is True  # 1 MB: over the text's bound, said so
    assert "- at `$.text`" in answers[6]["result"]["content"][0]["text"]
    assert (
        "no entry named 'fire\ufffd\ufffdball'; did you mean srd-2014:spells/fireball"
        in (answers[7]["result"]["content"][0]["text"])
    )
    if 4 in answers:  # cancelled before it began (its cancel was read ahead): not worked through
        assert answers[4]["result"]["isError"] is True, answers[4]
        assert "cancelled by the client" in answers[4]["result"]["content"][0]["text"]
    assert answers[5]["result"] == {}
    assert answers[2]["result"]["isError"] is True
    assert "DEBUG" in stderr  # the debug log went to stderr, not to stdout
    assert server.returncode == 0
    imported = {
        line.rsplit("|", 1)[1].strip().split(".")[0]
        for line in stderr.splitlines()
        if line.startswith("import time:")
    }
    assert {"d5e_daemon", "mcp"} <= imported
    assert not imported & {"lsprotocol", "pygls"}


def test_a_cancelled_call_stops_at_its_next_sqlite_step(tmp_path: Path) -> None:
    """A call works on the event loop's thread, which reads no message meanwhile: stdin's
    thread sees the cancel as its line arrives, and the call's statement stops within a few
    thousand SQLite steps (here one that would run for minutes); the connection answers the
    next at once. A cancel of another request, or one said badly, stops nothing."""
    conn = apsw.Connection(str(tmp_path / "c.sqlite3"))
    cancels = mcp_server.Cancels()
    endless = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT max(i) FROM n"

    def cancel(request: Any) -> None:
        time.sleep(0.2)
        for line in (
            '{"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {}}',
            '{"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 9}}',
            "not json notifications/cancelled",
            '{"method": "notifications/cancelled", "params": [4]}',
        ):
            cancels.seen(line)
        assert 7 not in cancels
        said = {"method": "notifications/cancelled", "params": {"requestId": request}}
        cancels.seen(json.dumps({"jsonrpc": "2.0", **said}))

    canceller = threading.Thread(target=cancel, args=(7,))
    started = time.monotonic()
    canceller.start()
    with pytest.raises(mcp_server.Cancelled), cancels.stopping(conn, 7):
        conn.execute(endless).get  # noqa: B018
    canceller.join()
    assert time.monotonic() - started < 30
    assert conn.execute("SELECT 1").get == 1  # the connection goes on, the handler gone
    assert 7 not in cancels  # forgotten as its call ended: an id used again is not cancelled
    with cancels.stopping(conn, 7):
        assert conn.execute("SELECT count(*) FROM (SELECT 1 UNION SELECT 2)").get == 2
    cancels.seen('{"method": "notifications/cancelled", "params": {"requestId": 8}}')
    with pytest.raises(mcp_server.Cancelled), cancels.stopping(conn, 8):  # cancelled before
        pytest.fail("a call cancelled before it began is not worked through")
    conn.close()


def test_a_cancelled_call_stops_in_a_long_loop_of_python_too(app: Any) -> None:
    """A step of Python with no SQLite in it (a chapter's thousands of tags, each rendered)
    stops too once its call is cancelled: at the next tag (`errors.stop_point`), not at the
    text's end. Here the cancel arrives as the first tag is rendered."""
    cancels = mcp_server.Cancels()
    rendered = []
    render = app.render

    def render_and_cancel(entry: Any, purpose: str) -> str:
        if not rendered:
            cancels.seen('{"method": "notifications/cancelled", "params": {"requestId": 3}}')
        rendered.append(entry)
        return render(entry, purpose)

    app.render = render_and_cancel
    text = protocol.ResolveTagsParams(text="{@spell fireball} {@creature goblin}\n" * 2000)
    with pytest.raises(mcp_server.Cancelled), cancels.stopping(app.conn, 3):
        resolve_tags(app, text)
    assert 1 <= len(rendered) <= 2  # of 4,000 tags
    assert len(resolve_tags(app, text).tags) == 4000  # no call cancelled: to its end


async def test_reads_the_campaign_d5e_toml_as_d5e_serve_does(
    indexed_db: Path, tmp_path: Path, shared: ClientSession
) -> None:
    campaign = tmp_path / "campaign"
    campaign.mkdir()
    (campaign / "d5e.toml").write_text('edition = "2024"\nparty = [5, 5, 5, 5]\n')
    async with mcp_session(indexed_db, "--workspace", str(campaign)) as session:
        card = await call(session, "lookup", name="aboleth")
        assert card["entry"]["pack"] == "srd-2024"
        packs = await call(session, "packs")
        assert packs["profile"] != "default"  # the campaign's own profile
        # the campaign's party, where `party` was required of the assistant
        fight = await call(session, "encounter", monsters=[{"name": "bugbear", "count": 2}])
        assert (fight["party"], fight["rules"]) == ([5, 5, 5, 5], "2024")
        prompt = await session.get_prompt("prepare_encounter", {"theme": "goblins"})
        said = prompt.messages[0].content.text  # type: ignore[union-attr]
        assert said.startswith(
            "Prepare a moderate encounter for a party of characters of levels 5,5,5,5."
        )
    # found from the folder the server starts in too: in
    # test_an_assistant_creates_packs_inside_the_campaign_folder_only
    # elsewhere (the module's server): the user's default profile
    assert (await call(shared, "lookup", name="aboleth"))["entry"]["pack"] == "srd-2014"
    prompt = await shared.get_prompt("prepare_encounter", {})
    said = prompt.messages[0].content.text  # type: ignore[union-attr]
    assert said.startswith("Prepare a medium encounter")  # 2014's, where it said "moderate"
    assert await error(shared, "encounter", monsters=[{"name": "wolf"}]) == (
        "Error executing tool encounter: no party: give `party`, the characters' levels "
        "([3, 3, 3, 3]), or write party = [3, 3, 3, 3] in the campaign's d5e.toml - at "
        "`$.party`"
    )


def test_a_hit_standing_for_same_named_entries_says_where_they_are() -> None:
    copy = protocol.EntryRef(
        ref="spells/srd-fireball", pack="open5e-srd-2014", name="Fireball", collection="spells"
    )
    hit = protocol.SearchHit(
        ref="spells/fireball", pack="srd-2014", name="Fireball", collection="spells",
        score=1.0, snippet="A bright streak.", also=[copy],
    )  # fmt: skip
    text = mcp_server._search_text(protocol.SearchResult(hits=[hit], semantic=True))
    assert text == (
        "1. **Fireball** (spells, srd-2014) `d5e://srd-2014/spells/fireball.md`: A bright streak."
        " (also in open5e-srd-2014:spells/srd-fireball)"
    )


def test_resolved_tags_are_listed_once_each() -> None:
    """A chapter's thirty `{@creature goblin}` were thirty identical lines for the model."""
    goblin = protocol.ResolvedTag(
        ref="monsters/goblin", pack="srd-2014", name="Goblin", collection="monsters",
        tag="{@creature goblin}", line=0, uri="d5e://srd-2014/monsters/goblin.md",
        summary="CR 1/4 Small humanoid",
    )  # fmt: skip
    typo = [
        protocol.UnresolvedTag(tag="{@spell firebal}", line=n, message="unknown") for n in (2, 0, 2)
    ]
    result = protocol.ResolveTagsResult(text="…", tags=[goblin] * 30, unknown=typo)
    assert mcp_server._tags_text(result) == (
        "…\n\nResolved:\n"
        "- `{@creature goblin}` (×30) → [Goblin](d5e://srd-2014/monsters/goblin.md):"
        " CR 1/4 Small humanoid\n\n"
        "Unresolved:\n- `{@spell firebal}` (×3) (lines 1, 3): unknown"
    )


SPELLS = {
    "spells/gills-for-all.json": '{"name": "Gills for All", "level": 3, "school": "transmutation",'
    ' "desc": ["Up to ten willing creatures can breathe underwater for 24 hours."]}',
    "spells/ember-burst.json": '{"name": "Ember Burst", "level": 2, "school": "evocation",'
    ' "desc": ["A bright streak flashes to a point you choose and blossoms into flame."]}',
    "spells/stone-tongue.json": '{"name": "Stone Tongue", "level": 1, "school": "divination",'
    ' "desc": ["You can speak with rocks and pebbles for 10 minutes."]}',
}


async def _real_model_db(db_path: Path, tmp_path: Path) -> dict[str, str]:
    """The database of a user with a small pack alone on (the SRD packs off: indexing them with
    the real model takes minutes), its vectors made by `d5e index` with the real model; the
    environment in which `d5e` uses that model. The pack is installed and the SRDs turned off
    in process, by the functions `d5e packs install` and `disable` call (three CLI starts
    cost ~1.5 s of CPU)."""
    env = {"D5E_EMBEDDER": "", "HF_HUB_OFFLINE": "1"}
    pack = write_pack(tmp_path / "brew", SPELLS)
    app = make_app(db_path)
    try:
        await pack_features.install(app, protocol.PackInstallParams(path=str(pack)))
        for srd in ("srd-2014", "srd-2024"):
            await pack_features.disable(app, protocol.PackIdParams(pack=srd))
    finally:
        app.close()
    done = subprocess.run(
        [sys.executable, "-m", "d5e_daemon", "index"],
        env={**os.environ, **_env(db_path, env)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return env


async def test_the_first_search_of_a_session_is_ranked_by_meaning(
    attributed_template: Path, tmp_path: Path
) -> None:
    """The model is loaded once the client says `initialized`, and the first search waits for
    it: its words are in no entry (keywords find nothing), the answer is found by meaning. It
    answered from keywords alone: the model began loading at that search."""
    db_path = private_copy(attributed_template, tmp_path)
    env = await _real_model_db(db_path, tmp_path)
    query = "let sailors respire beneath the waves"
    async with mcp_session(db_path, env=env) as session:
        first = await session.call_tool("search", {"query": query})
        keywords = await call(session, "search", query=query, mode="keyword")
    assert keywords["hits"] == []
    found = first.structured_content
    assert found is not None and found["semantic"] is True, first.content
    assert found["hits"][0]["ref"] == "spells/gills-for-all"
    text = first.content[0].text  # type: ignore[union-attr]
    assert "Gills for All" in text and "keywords only" not in text
    # a client that leaves right after the handshake, the model still loading: a clean exit
    server = subprocess.Popen(
        [sys.executable, "-m", "d5e_daemon", "mcp"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **_env(db_path, env)},
    )
    assert server.stdin is not None and server.stdout is not None
    server.stdin.write(json.dumps(HANDSHAKE[0]) + "\n")
    server.stdin.flush()
    assert json.loads(server.stdout.readline())["id"] == 1
    server.stdin.write(json.dumps(HANDSHAKE[1]) + "\n")
    server.stdin.flush()
    _, stderr = server.communicate(timeout=60)  # closes stdin at once: the server ends
    assert server.returncode == 0, stderr
    assert "terminate called" not in stderr


class SlowModel(FakeEmbedder):
    """The fake model, whose load takes a while (the real one's takes ~1.4 s)."""

    def __init__(self, seconds: float = 1.0) -> None:
        super().__init__()
        self.done = threading.Event()
        self.seconds = seconds

    @property
    def loaded(self) -> bool:
        return self.done.is_set()

    def load(self) -> None:
        time.sleep(self.seconds)
        self.done.set()


async def test_a_client_that_lists_the_tools_and_leaves_does_not_wait_for_the_model(
    indexed_template: Path, tmp_path: Path
) -> None:
    """The model begins loading when the client says `initialized` (the first search is
    ranked by meaning); a client that only lists the tools and leaves waited for the whole
    load (~1.4 s of the real model's, and the indexer's stop waited behind it). The session
    ends with the load still under way (`d5e mcp` then leaves without finalizing)."""
    app = make_app(private_copy(indexed_template, tmp_path))
    try:
        assert app.search.build().ready  # the fake model's vectors, made by the template
        model = SlowModel(seconds=5.0)
        app.search.embedder = model
        # a client that says `initialized` (the load begins then)
        async with Client(mcp_server.create_server(app), mode="legacy") as client:
            assert "search" in [tool.name for tool in (await client.list_tools()).tools]
            await asyncio.sleep(0.1)  # the load began
            assert app.search.loading()
            left = time.monotonic()
        assert time.monotonic() - left < 2.5, "the session's end waited for the model"
        assert not model.done.is_set() and app.search.loading()
    finally:
        app.close()


class Exited(Exception):
    """`os._exit`, raised instead of leaving the test's process."""


def test_a_server_that_raises_while_the_model_loads_still_leaves_at_once(
    attributed_template: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`d5e mcp` leaves without finalizing while the model loads (an interpreter finalized
    during an onnxruntime load aborts), but a server that raised skipped that exit: the error
    went up to a finalizing interpreter. Now it is said on stderr, the database closed, and the
    process leaves at once with exit status 1. In process: the server and `os._exit` stand-ins."""
    from d5e_daemon import cli

    db_path = private_copy(attributed_template, tmp_path)
    seen: list[Any] = []

    def broken_serve(app: Any, writes: bool = False) -> int:
        app.search.embedder = SlowModel(seconds=5.0)
        app.search.load_in_background()  # as at the client's `initialized`
        seen.append(app)
        raise RuntimeError("the transport broke")

    def exit_now(code: int) -> None:
        raise Exited(code)

    monkeypatch.setattr(mcp_server, "serve", broken_serve)
    monkeypatch.setattr(cli.os, "_exit", exit_now)
    with pytest.raises(Exited) as exited:
        cli.main(["mcp", "--db", str(db_path)])
    assert exited.value.args == (1,)
    assert "d5e: the MCP server stopped on an error: RuntimeError('the transport broke')" in (
        capsys.readouterr().err
    )
    (app,) = seen
    assert app.search.loading()  # the load still under way: the exit did not wait for it
    with pytest.raises(apsw.ConnectionClosedError):
        app.db.conn.execute("SELECT 1")  # closed before leaving


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_a_search_while_the_model_loads_says_it_ranked_by_keywords(
    indexed_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    """A load slower than the search's wait (`MODEL_WAIT_S`): the answer from keywords says
    why, and the next search, the model loaded, is ranked by meaning. The same for a client
    of the protocol's 2026-07-28 version ("auto"), which says no `initialized`: the search
    starts the load."""
    app = make_app(private_copy(indexed_template, tmp_path))
    try:
        assert app.search.build().ready  # the fake model's vectors, made by the template
        model = SlowModel()
        app.search.embedder = model
        monkeypatch.setattr(mcp_server, "MODEL_WAIT_S", 0.05)
        said: list[str | None] = []

        async def progress(done: float, total: float | None, message: str | None) -> None:
            said.append(message)

        async with Client(mcp_server.create_server(app), mode=mode) as client:
            first = await client.call_tool(
                "search", {"query": "fireball"}, progress_callback=progress
            )  # the wait is said to a client that asked for progress
            assert said == ["loading the search model (the session's first)"]
            assert first.structured_content is not None
            assert first.structured_content["semantic"] is False
            assert "Ranked by keywords only: the search model is still loading" in (
                first.content[0].text  # type: ignore[union-attr]
            )
            await asyncio.to_thread(model.done.wait, 10)
            later = await client.call_tool("search", {"query": "fireball"})
            assert later.structured_content is not None
            assert later.structured_content["semantic"] is True
            assert "keywords only" not in later.content[0].text  # type: ignore[union-attr]
    finally:
        app.close()


def _schema_nodes(schema: Any, names: bool = False) -> Iterator[dict[str, Any]]:
    """Every schema inside a JSON Schema (the property names of a `properties` map skipped)."""
    if isinstance(schema, list):
        for item in schema:
            yield from _schema_nodes(item)
    elif isinstance(schema, dict):
        if not names:
            yield schema
        for key, value in schema.items():
            yield from _schema_nodes(value, names=not names and key == "properties")


async def test_input_schemas_take_the_shape_every_client_takes(shared: ClientSession) -> None:
    """Clients that inline or translate schemas (Gemini's, OpenAI's strict mode, Cursor's) trip
    on `anyOf` with null, `$ref`, and titles the model reads as names: each argument is one plain
    type (the encounter's monsters: a string or an object, each described), described (what it
    means, an example), its enum and default said; no argument beyond those listed
    (`additionalProperties: false`). The SDK still takes an explicit null."""
    tools = {t.name: t for t in (await shared.list_tools()).tools}
    for name, tool in tools.items():
        schema = tool.input_schema
        assert schema["additionalProperties"] is False, name
        for node in _schema_nodes(schema):
            assert not {"oneOf", "$ref", "$defs", "title"} & set(node), (name, node)
            assert {"type": "null"} not in node.get("anyOf", []), (name, node)
            assert node.get("default", "set") is not None, (name, node)
        for arg, prop in schema["properties"].items():
            assert "type" in prop, (name, arg)
            assert len(prop.get("description", "")) >= 20, (name, arg, prop)
    search = tools["search"].input_schema["properties"]
    assert search["mode"]["enum"] == ["hybrid", "keyword", "semantic"]
    assert search["mode"]["default"] == "hybrid"
    assert search["edition"]["enum"] == ["2014", "2024"]
    assert (search["limit"]["minimum"], search["limit"]["maximum"]) == (1, 500)
    assert search["offset"]["minimum"] == 0
    for example in ('"level": 3', '"school": "evocation"', '"cr": {"min": 5, "max": 8}'):
        assert example in search["filters"]["description"]
    rules = tools["encounter"].input_schema["properties"]["rules"]
    assert rules["enum"] == ["2014", "2024"]
    monster = tools["encounter"].input_schema["properties"]["monsters"]["items"]
    said, told = monster["anyOf"]  # a union indeed: one of two plain shapes, each described
    assert (said["type"], told["type"]) == ("object", "string")
    assert set(said["properties"]) == {"name", "ref", "count", "cr", "xp"}
    assert all(p.get("description") for p in said["properties"].values())
    # null, as some clients send for an argument they leave out, is still taken
    card = await call(shared, "lookup", name="fireball", pack=None, collection=None)
    assert card["entry"]["name"] == "Fireball"


async def test_reads_entry_cards_by_uris_with_odd_names(shared: ClientSession) -> None:
    """A client or a model writes a card's URI from a name it knows: spaces, apostrophes, capitals,
    accents, brackets, percent-encoded or not; each reads the card the name means. One that
    names nothing is not found (-32602, as the SDK says for a resource that does not exist:
    it said -32603, an internal error), with the names it may mean."""
    for uri, heading in [
        ("d5e://srd-2014/spells/Mordenkainen's%20Sword.md", "## Arcane Sword"),
        ("d5e://srd-2014/spells/mordenkainen%27s%20sword.md", "## Arcane Sword"),
        ("d5e://srd-2014/spells/FIREB%C3%80LL.md", "## Fireball"),
        ("d5e://srd-2014/magic-items/stone-of-good-luck-(luckstone).md", "## Stone of Good Luck"),
        ("d5e://srd-2014/magic-items/stone-of-good-luck-%28luckstone%29.md", "## Stone of Good"),
        ("d5e://srd-2014/monsters/Adult%20Red%20Dragon.md", "## Adult Red Dragon"),
        ("d5e://srd-2024/monsters/Aboleth.md", "## Aboleth"),
    ]:
        card = await shared.read_resource(uri)
        assert card.contents[0].text.startswith(heading), uri  # type: ignore[union-attr]
    for uri in ("d5e://srd-2014/spells/fire%2Fbal.md", "d5e://srd-2014/spells/firebal.md"):
        with pytest.raises(MCPError) as missing:
            await shared.read_resource(uri)
        assert missing.value.error.code == -32602, uri
        assert "did you mean srd-2014:spells/fireball" in missing.value.error.message, uri
    assert (await call(shared, "lookup", name="goblin"))["entry"]["name"] == "Goblin"


def _answer_chars(result: Any) -> int:
    """What a client puts in the model's context: the Markdown and the structured JSON."""
    text = "".join(c.text for c in result.content)
    return len(text) + len(json.dumps(result.structured_content, separators=(",", ":")))


async def test_long_answers_are_cut_to_fit_a_models_context_and_say_so(
    shared: ClientSession,
) -> None:
    """500 hits were ~300,000 characters (~75,000 tokens: Claude Code refuses an answer over
    25,000), a chapter's tags likewise: each is cut to `ANSWER_CHARS`, says so, and says how to
    get the rest; the next page starts where the answer stopped."""
    most = mcp_server.ANSWER_CHARS
    hits = await shared.call_tool("search", {"query": "fire", "limit": 500})
    assert _answer_chars(hits) <= most
    found = cast(dict[str, Any], hits.structured_content)
    kept = len(found["hits"])
    assert 20 < kept < 500
    note = (
        f"Only the first {kept} of the 500 hits are shown, to fit the model's context: ask again"
        f" with offset {kept} and limit {500 - kept} for the next ones"
    )
    assert found["hints"] == [note]
    assert hits.content[0].text.endswith(f"({note}.)")  # type: ignore[union-attr]
    # the rest of the same ranking, whatever the next page's size (pages are slices of one
    # ranking: docs/protocol.md)
    more = await call(shared, "search", query="fire", limit=500 - kept, offset=kept)
    assert more["hits"] and not {h["ref"] for h in more["hits"]} & {h["ref"] for h in found["hits"]}
    fewer = await call(shared, "search", query="fire", limit=7, offset=kept)
    assert [h["ref"] for h in fewer["hits"]] == [h["ref"] for h in more["hits"][:7]]

    text = "{@creature goblin} meets {@spell fireball} and {@spell firebal}.\n" * 3000
    tags = await shared.call_tool("resolve_tags", {"text": text})
    assert not tags.is_error and _answer_chars(tags) <= most
    linked = cast(dict[str, Any], tags.structured_content)
    lines, note = linked["text"].split("\n\n")
    kept = lines.count("\n") + 1
    assert 20 < kept < 3000
    assert lines.endswith("and {@spell firebal}.")  # a whole line
    assert lines.startswith("[Goblin](d5e://srd-2014/monsters/goblin.md) meets [Fireball](")
    assert note == (
        f"(Only the first {kept} of the text's 3001 lines are linked and their tags listed, to"
        f" fit the model's context: send the text from line {kept + 1} on for the rest.)"
    )
    assert len(linked["tags"]) == len(linked["unknown"]) * 2 == kept * 2
    assert tags.content[0].text.startswith(linked["text"])  # type: ignore[union-attr]


def test_a_card_too_long_for_a_models_context_is_cut_its_credit_kept() -> None:
    """A homebrew class or an adventure's chapter as one entry: its record left out, its card's
    text cut at a paragraph, its pack's credit kept, the whole card named by its resource; the
    cut answer still valid against the tool's output schema (the SDK checks it)."""
    import jsonschema

    paragraph = "The lich whispers. " * 40
    card = "## Tome\n\n" + "\n\n".join(f"{i}. {paragraph}" for i in range(300))
    entry = protocol.EntryInfo(
        ref="books/tome", pack="brew", name="Tome", collection="books", slug="tome",
        qualified_ref="brew:books/tome", data={"entries": [paragraph] * 300},
    )  # fmt: skip
    credit = protocol.PackCredit(
        id="brew", title="Brew", version="1", license="CC-BY-4.0", attribution="By Me."
    )
    result = protocol.LookupResult(
        entry=entry, markdown=card + "\n\n---\nBrew (brew, CC-BY-4.0)  \n<sub>By Me.</sub>",
        pack_info=credit,
    )  # fmt: skip
    cut, text = mcp_server._fit_card(result, mcp_server._lookup_text, protocol.LookupParams())
    assert mcp_server._size(cut, text) <= mcp_server.ANSWER_CHARS
    assert cut.entry.data == {} and text == cut.markdown
    body, note, left_out, credit_line = text.rsplit("\n\n", 3)
    assert body.endswith(paragraph)  # at a paragraph's end
    assert note.startswith("(The card is cut here, at ")
    assert note.endswith(
        f"of its {len(card):,} characters, to fit the model's context: the resource"
        " d5e://brew/books/tome.md holds the whole of it.)"
    )
    assert "`entry.data`, is left out" in left_out
    assert credit_line == "---\nBrew (brew, CC-BY-4.0)  \n<sub>By Me.</sub>"
    schema = mcp_server.output_schema(protocol.LookupResult)
    jsonschema.validate(msgspec.to_builtins(cut), schema)


async def test_a_hostile_campaign_folder_gets_what_d5e_serve_gives_it(
    indexed_db: Path, tmp_path: Path
) -> None:
    """`d5e mcp` started in a campaign folder somebody else wrote (Claude Desktop and Cursor
    start it in the project open): a setting a campaign may not make, packs from outside it,
    the user's default profile. It refused to start at all (exit 1: the client showed only
    "server disconnected") where `d5e serve` applies what it can and says what not; now it
    serves as `d5e serve` does, and says each problem to the assistant (the `packs` tool's
    text, the server's instructions) and in the log."""
    campaign = tmp_path / "campaign"
    campaign.mkdir()
    (tmp_path / "elsewhere").mkdir()
    evil = tmp_path / "evil.sqlite3"
    (campaign / "d5e.toml").write_text(
        'profile = "default"\ndisabled = ["srd-2014"]\npackPaths = ["/etc", "../elsewhere"]\n'
        f'db = "{evil}"\nedition = "2024"\n'
    )
    log = tmp_path / "stderr.txt"
    with open(log, "w") as err:
        async with mcp_session(indexed_db, cwd=campaign, errlog=err) as session:
            card = await call(session, "lookup", name="aboleth")
            assert card["entry"]["pack"] == "srd-2024"  # the rest of the file applied
            packs = await session.call_tool("packs", {})
            said = packs.content[0].text  # type: ignore[union-attr]
            instructions = session.instructions
    problems = [
        f"{campaign / 'd5e.toml'}:4:1: db: a setting a campaign folder cannot make",
        f"{campaign / 'd5e.toml'}: profile 'default' belongs to the user",
        "packPaths: /etc is outside the campaign folder",
    ]
    for problem in problems:
        assert problem in said, problem
        assert instructions is not None and problem in instructions, problem
    assert problems[0] in log.read_text()
    assert not evil.exists()
    app = make_app(indexed_db)  # the user's own profile, elsewhere: the SRD 2014 on
    try:
        assert app.profile == "default"
        card = lookup(app, protocol.LookupParams(name="fireball"))
        assert card.entry.pack == "srd-2014"
    finally:
        app.close()


async def test_completes_the_arguments_of_the_card_template_and_the_prompts(
    shared: ClientSession,
) -> None:
    """VS Code (and other clients) fill a resource template's variables and a prompt's arguments
    from `completion/complete` as the user types; it answered "Method not found"."""
    from mcp_types import PromptReference, ResourceTemplateReference

    card = ResourceTemplateReference(uri="d5e://{pack}/{collection}/{slug}.md")

    async def values(ref: Any, name: str, value: str, **context: str) -> list[str]:
        done = await shared.complete(ref, {"name": name, "value": value}, context or None)
        return done.completion.values

    assert {"srd-2014", "srd-2024"} <= set(await values(card, "pack", "srd"))
    assert await values(card, "pack", "nope") == []
    assert "spells" in await values(card, "collection", "spe")
    slugs = await values(card, "slug", "firebal", pack="srd-2014", collection="spells")
    assert slugs[0] == "fireball"
    assert (await shared.read_resource(f"d5e://srd-2014/spells/{slugs[0]}.md")).contents
    assert len(await values(card, "slug", "", pack="srd-2014", collection="spells")) == 100
    encounter = PromptReference(name="prepare_encounter")
    assert await values(encounter, "difficulty", "") == ["easy", "medium", "hard", "deadly"]
    assert await values(encounter, "difficulty", "d") == ["deadly"]
    # a theme: the creature types (and environments) of the campaign's monsters, no item's
    assert await values(encounter, "theme", "un") == ["undead"]
    themes = await values(encounter, "theme", "")
    assert {"beast", "dragon", "undead"} <= set(themes) and "weapon" not in themes
    assert await values(PromptReference(name="explain_rule"), "question", "how") == []


async def test_a_prompts_arguments_are_checked_as_a_tools_are(shared: ClientSession) -> None:
    """`prepare_encounter` took any text: "Prepare a extreme encounter for … levels banana";
    an argument no prompt takes answered "Error rendering prompt explain_rule". Now each is
    an invalid-params error saying what is wrong and what it takes; good values are read as
    the encounter tool reads them."""
    for name, arguments, said in [
        ("explain_rule", {"question": "x", "foo": "y"}, "unknown argument 'foo': explain_rule"
         " takes question"),
        ("prepare_encounter", {"party": "banana"}, "party 'banana': the characters' levels,"
         " 1 to 20 each, e.g. 5,5,5,5"),
        ("prepare_encounter", {"party": "25,0"}, "party '25,0': the characters' levels"),
        ("prepare_encounter", {"difficulty": "extreme"}, "difficulty 'extreme': one of easy,"
         " medium, hard, deadly (2014 rules) or low, moderate, high (2024 rules)"),
    ]:  # fmt: skip
        with pytest.raises(MCPError) as refused:
            await shared.get_prompt(name, arguments)
        assert refused.value.error.code == -32602, arguments
        assert refused.value.error.message.startswith(said), refused.value.error.message
    prompt = await shared.get_prompt(
        "prepare_encounter", {"party": " 5, 5 ,5 ", "difficulty": " Easy"}
    )
    said = prompt.messages[0].content.text  # type: ignore[union-attr]
    assert said.startswith("Prepare an easy encounter for a party of characters of levels 5,5,5.")
    # as the encounter tool takes it, a party said in words
    prompt = await shared.get_prompt("prepare_encounter", {"party": "four level 5 characters"})
    said = prompt.messages[0].content.text  # type: ignore[union-attr]
    assert "for a party of characters of levels 5,5,5,5." in said


def test_a_large_librarys_filters_and_names_are_cut_to_fit() -> None:
    """At SRD + 100,000 entries a filter lists thousands of values (languages, environments)
    and a prefix matches thousands of names: cut to fit, each the same way, said in the text,
    still valid against the tools' output schemas. In process: the cut itself."""
    import jsonschema

    languages = [f"tongue of the {i}th realm" for i in range(6000)]
    filters = protocol.SearchFiltersResult(
        filters=[
            protocol.FilterInfo(
                name=name, type="text", collections=["monsters"], description="a filter",
                values=list(languages),
            )
            for name in ("language", "environment", "source")
        ]
    )  # fmt: skip
    cut, text = mcp_server._fit_values(
        filters, mcp_server._filters_text, protocol.SearchFiltersParams()
    )
    assert mcp_server._size(cut, text) <= mcp_server.ANSWER_CHARS
    kept = len(cut.filters[0].values)
    assert 100 < kept < 6000 and {len(f.values) for f in cut.filters} == {kept}
    assert text.endswith(
        f"(Each filter's values are cut to its first {kept}, to fit the model's context: ask for"
        " fewer collections for more; a search with a value no entry has hints the nearest ones.)"
    )
    schema = mcp_server.output_schema(protocol.SearchFiltersResult)
    jsonschema.validate(msgspec.to_builtins(cut), schema)

    items = [
        protocol.CompletionItem(
            ref=f"spells/fire-{i}", pack="brew", name=f"Fire {i}", collection="spells",
            detail="1st-level evocation", match="prefix",
        )
        for i in range(3000)
    ]  # fmt: skip
    names, said = mcp_server._fit_names(
        protocol.CompleteResult(items=items),
        mcp_server._complete_text,
        protocol.CompleteParams(prefix="fire"),
    )
    assert mcp_server._size(names, said) <= mcp_server.ANSWER_CHARS
    assert said.endswith(
        f"(Only the first {len(names.items)} of the 3000 names are shown, to fit the model's"
        " context: give more of the name, or a collection.)"
    )
    jsonschema.validate(
        msgspec.to_builtins(names), mcp_server.output_schema(protocol.CompleteResult)
    )


async def test_an_unknown_tool_is_answered_with_the_tools_there_are(shared: ClientSession) -> None:
    """A model that misnames a tool (`lookpu`, `search_rules`) got "Unknown tool: lookpu" alone."""
    assert await error(shared, "lookpu", name="fireball") == (
        "Unknown tool: lookpu: did you mean `lookup`?"
    )
    assert await error(shared, "roll_dice") == (
        "Unknown tool: roll_dice: d5e's tools are `lookup`, `search`, `filters`, `complete`,"
        " `resolve_tags`, `encounter`, `packs`"
    )


async def test_a_single_value_where_a_list_goes_is_taken_as_models_write_it(
    shared: ClientSession,
) -> None:
    """Models often write one value where the schema says a list (`"collections": "spells"`,
    `"party": "3,3,3,3"`, `"monsters": "4 wolves"`): it was "Input should be a valid list";
    now it is that one-item list (levels read from the text), and a bad level still says
    where."""
    hits = await call(shared, "search", query="fire", collections="spells", packs="srd-2014")
    assert {h["collection"] for h in hits["hits"]} == {"spells"}
    fight = await call(shared, "encounter", party="3, 3,3,3", monsters="4 wolves and a goblin")
    assert fight["party"] == [3, 3, 3, 3]
    assert [(m["name"], m["count"]) for m in fight["perMonster"]] == [("Wolf", 4), ("Goblin", 1)]
    message = await error(shared, "encounter", party="3,x", monsters="wolf")
    assert message.endswith("- at `$.party[1]`"), message
    # a level of more than 4,300 digits was int()'s ValueError, a traceback in the log and
    # Python's words to the model; a level past 2**63 overflowed the same way downstream
    for level in ("9" * 5_000, str(2**64)):
        message = await error(shared, "encounter", party=f"3,{level}", monsters="wolf")
        assert message.endswith("- at `$.party[1]`"), message
    # several names in one text, a comma between them; one group as an object, not a list
    hits = await call(shared, "search", query="fire", collections="spells, monsters", limit=50)
    assert {h["collection"] for h in hits["hits"]} == {"spells", "monsters"}, hits["hints"]
    fight = await call(shared, "encounter", party=[3, 3], monsters={"name": "wolf", "count": 2})
    assert [(m["name"], m["count"]) for m in fight["perMonster"]] == [("Wolf", 2)]


async def test_what_a_model_gets_wrong_on_real_questions_is_answered_with_the_way(
    shared: ClientSession,
) -> None:
    """Questions that mix faces, as an assistant asks them: "every CR 1/2 beast that can swim"
    (a filter named by its value, or in words), "is my homebrew spell balanced against
    Fireball" (Fireball asked of a pack without it), and what the tool's description says."""
    said = await error(shared, "search", query="", filters={"cr": "1/2", "swim": True})
    assert 'unknown filter \'swim\'; did you mean {"speed": "swim"}?' in said, said
    said = await error(shared, "search", query="", filters={"challenge_rating": 0.5})
    assert "unknown filter 'challenge_rating'; did you mean 'cr'" in said, said
    said = await error(shared, "search", query="", filters={"challengeRating": 0.5})
    assert "did you mean 'cr'" in said, said
    # the 2024 SRD has no spells: the one of that name elsewhere is named
    said = await error(shared, "lookup", name="fireball", pack="srd-2024")
    assert "did you mean srd-2014:spells/fireball" in said, said
    search = next(t for t in (await shared.list_tools()).tools if t.name == "search")
    assert '"speed": "swim"' in search.input_schema["properties"]["filters"]["description"]


async def test_an_encounter_asked_before_its_monsters_says_the_partys_budget(
    shared: ClientSession,
) -> None:
    """ "Build me a deadly encounter for four level 3 characters": a model asks the budget
    first, with no monsters yet. The refusal gives the party's thresholds by the rules asked,
    so that it can pick monsters to fit, not guess one to learn them."""
    said = await error(shared, "encounter", party="four level 3 characters", monsters=[])
    assert "deadly 1,600" in said and "2014 rules" in said and "- at `$.monsters`" in said, said
    said = await error(shared, "encounter", party=[3, 3, 3, 3], monsters=[], rules="2024")
    assert "high 1,600" in said and "2024 rules" in said, said


async def test_a_page_past_the_last_hit_says_the_earlier_pages_held_them(
    shared: ClientSession,
) -> None:
    """The next page of a listing that had them all: "No entries found." read as "nothing
    matches" to a model that had asked for the swimming CR 1/2 beasts' second page."""
    result = await shared.call_tool(
        "search", {"query": "", "filters": {"cr": "1/2", "speed": "swim"}, "offset": 10}
    )
    text = result.content[0].text  # type: ignore[union-attr]
    assert result.structured_content is not None and result.structured_content["hits"] == []
    assert text.startswith("No entries past the first 10 (ask with offset 0 for those)"), text


async def test_a_call_the_sdks_client_cancels_stops_and_the_next_is_answered(
    shared: ClientSession,
) -> None:
    """As a real client cancels (the Python SDK's: the call's task cancelled, which says
    `notifications/cancelled`): a chapter's tags being resolved stop at the next tag, and the
    ping after it is answered in a fraction of the whole call's time (they ran to their end)."""
    text = "\n".join(f"{{@spell fireball}} and {{@creature goblin}}, line {i}" for i in range(3000))
    started = time.monotonic()
    whole = await call(shared, "resolve_tags", text=text)
    taken = time.monotonic() - started
    assert whole["tags"][0]["name"] == "Fireball"  # 6,000 tags: the answer cut to fit
    running = asyncio.ensure_future(shared.call_tool("resolve_tags", {"text": text}))
    await asyncio.sleep(taken / 10)
    running.cancel()
    started = time.monotonic()
    await shared.send_ping()
    assert time.monotonic() - started < taken / 2, taken


async def test_a_search_of_a_pack_turned_off_says_lookup_still_reads_it(
    shared: ClientSession,
) -> None:
    """ "What changed between the 2014 and 2024 Grappled?" in a campaign of the 2014 rules: the
    2024 SRD is off, so a search of it finds nothing; the answer says how to read its entries
    (a model stopped at "turn it on with `d5e packs enable`", a command it cannot run)."""
    result = await shared.call_tool("search", {"query": "grappled", "edition": "2024"})
    text = result.content[0].text  # type: ignore[union-attr]
    assert "`lookup` still reads an entry of srd-2024 given its pack" in text, text
    card = await call(shared, "lookup", name="grappled", pack="srd-2024")
    assert card["entry"]["pack"] == "srd-2024"


async def test_the_packs_table_says_why_a_pack_is_off_and_which_are_not_installed(
    shared: ClientSession,
) -> None:
    """A model read "srd-2024 | no" and "clockwork | no | 0" alike, and asked to search both:
    the table says why a pack is off, and that a plugin's pack is not installed."""
    text = (await shared.call_tool("packs", {})).content[0].text  # type: ignore[union-attr]
    rows = {line.split(" | ")[0].strip("| "): line for line in text.splitlines() if "|" in line}
    assert "off: the SRD of the other edition" in rows["srd-2024"], text
    assert "not installed" in rows["clockwork"], text
    assert "| yes |" in rows["srd-2014"], text


async def test_an_encounters_monsters_are_linked_to_cite(shared: ClientSession) -> None:
    """The prepare_encounter prompt asks the model to cite each monster by its d5e:// link: the
    encounter's answer gives them (it named them only, and a model searched for each again)."""
    result = await shared.call_tool(
        "encounter", {"party": [3, 3], "monsters": ["2 wolves", {"name": "Flame", "cr": "1/2"}]}
    )
    text = result.content[0].text  # type: ignore[union-attr]
    assert "× Wolf (CR 1/4, `d5e://srd-2014/monsters/wolf.md`)" in text, text
    assert "× Flame (CR 1/2):" in text, text  # no pack has it: nothing to link
