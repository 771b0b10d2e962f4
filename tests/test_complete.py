"""d5e/complete: best first (exact, prefix, word prefix, fuzzy), typo-tolerant, scoped."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pygls.workspace import TextDocument

from d5e_daemon.app import App
from d5e_daemon.errors import InvalidParams, NotFound
from d5e_daemon.features import markdown as md
from d5e_daemon.features import packs as pack_features
from d5e_daemon.features.complete import complete
from d5e_daemon.features.lookup import lookup
from d5e_daemon.features.tags import Resolver
from d5e_daemon.protocol import (
    CompleteParams,
    LookupParams,
    PackInstallParams,
    SetPriorityParams,
    decode,
)
from d5e_daemon.text import normalize

from .packtools import write_pack


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def doc(text: str) -> TextDocument:
    return TextDocument("file:///campaign/a.md", text, version=1, language_id="markdown")


def names(app: App, prefix: str, **kw: object) -> list[str]:
    return [i.name for i in complete(app, CompleteParams(prefix=prefix, **kw)).items]  # type: ignore[arg-type]


def test_exact_then_prefix_shortest_first(app: App) -> None:
    items = complete(app, CompleteParams(prefix="fire", limit=5)).items
    assert [(i.name, i.collection, i.match) for i in items][:4] == [
        ("Fire", "damage-types", "exact"),
        ("Fireball", "spells", "prefix"),
        ("Fire Bolt", "spells", "prefix"),
        ("Fire Storm", "spells", "prefix"),  # as long as Fire Giant; spells come first
    ]
    goblin = complete(app, CompleteParams(prefix="goblin", limit=3)).items
    assert [(i.name, i.match) for i in goblin][:2] == [("Goblin", "exact"), ("Goblin", "exact")]
    assert {i.collection for i in goblin[:2]} == {"monsters", "languages"}


def test_word_prefix_finds_later_words(app: App) -> None:
    items = complete(app, CompleteParams(prefix="sword", collections=["spells"])).items
    assert (items[0].name, items[0].match) == ("Arcane Sword", "word")
    assert all(i.match == "fuzzy" for i in items[1:])
    assert "Arcane Sword" in names(app, "arcane sw")


@pytest.mark.parametrize(
    ("typed", "first"),
    [
        ("magic misile", "Magic Missile"),
        ("gelatinous cub", "Gelatinous Cube"),
        ("fireboll", "Fireball"),
        ("thaumaturgey", "Thaumaturgy"),
        ("kracken", "Kraken"),
    ],
)
def test_typos_put_the_intended_name_first(app: App, typed: str, first: str) -> None:
    assert names(app, typed)[0] == first


def test_fuzzy_comes_after_exact_prefix_and_word_matches(app: App) -> None:
    items = complete(app, CompleteParams(prefix="wolf", limit=20)).items
    tiers = [i.match for i in items]
    assert tiers == sorted(tiers, key=["exact", "prefix", "word", "fuzzy"].index)
    assert items[0].name == "Wolf"


def test_collections_and_limit(app: App) -> None:
    items = complete(app, CompleteParams(prefix="p", collections=["conditions"], limit=50)).items
    assert [i.name for i in items] == ["Prone", "Poisoned", "Paralyzed", "Petrified"]
    assert len(complete(app, CompleteParams(prefix="s", limit=3)).items) == 3


def test_items_carry_ref_pack_name_collection_and_detail(app: App) -> None:
    item = complete(app, CompleteParams(prefix="fireball", limit=1)).items[0]
    assert (item.ref, item.pack, item.name, item.collection) == (
        "spells/fireball",
        "srd-2014",
        "Fireball",
        "spells",
    )
    assert item.detail


def test_only_winners_of_the_profile_are_offered(app2024: App) -> None:
    items = complete(app2024, CompleteParams(prefix="grappled", collections=["conditions"])).items
    assert [(i.pack, i.shadows) for i in items] == [("srd-2024", True)]


def test_the_same_name_in_two_packs_is_offered_once_as_lookup_and_hover_give_it(
    app: App, tmp_path: Path
) -> None:
    """A brew's Fireball (its own slug) beside the SRD's: lookup gave the SRD's (by slug, though
    the brew is at 50 and the SRD at 10) and completion offered both. Now lookup, a tag's hover
    and completion give the entry of the pack the profile ranks highest, as search does, and
    follow a change of priority; the other stays a lookup's `also` and reachable by its ref."""
    brew = write_pack(
        tmp_path / "brew",
        {"spells/fireball.md": "---\nname: Fireball\nslug: brew-fireball\nlevel: 3\n---\nHot.\n"},
    )
    run(pack_features.install(app, PackInstallParams(path=str(brew))))
    resolver = Resolver(app)

    def given() -> tuple[list[tuple[str, str]], str, list[str], str]:
        items = complete(app, CompleteParams(prefix="firebal", collections=["spells"])).items
        found = lookup(app, LookupParams(name="fireball"))
        resolver.clear()
        hover = md.hover(resolver, doc("{@spell fireball}"), types.Position(0, 10))
        assert hover is not None and isinstance(hover.contents, types.MarkupContent)
        return (
            [(i.pack, i.ref) for i in items if i.name == "Fireball"],
            found.entry.qualified_ref,
            [a.ref for a in found.also],
            hover.contents.value.rsplit("---", 1)[-1].strip(),
        )

    assert given() == (
        [("brew", "spells/brew-fireball")],
        "brew:spells/brew-fireball",
        ["spells/fireball"],
        "*Brew* (`brew`)",
    )
    run(pack_features.set_priority(app, SetPriorityParams(pack="brew", priority=5)))
    items, ref, also, credit = given()
    assert (items, ref, also) == (
        [("srd-2014", "spells/fireball")],
        "srd-2014:spells/fireball",
        ["spells/brew-fireball"],
    )
    assert "System Reference Document 5.1" in credit


@pytest.mark.parametrize(
    "prefix", ['"', "*", "NEAR(", '" OR "', "fire*", "a AND b", "'; --", "%_", "   "]
)
def test_fts_operators_and_quotes_are_plain_text(app: App, prefix: str) -> None:
    """Quotes and FTS5 operators are neither syntax nor an error: the names offered are those
    of the prefix's words alone (`fire*` is `fire`; `'; --` and `"` offer nothing)."""
    words = normalize(prefix)
    offered = [i.ref for i in complete(app, CompleteParams(prefix=prefix)).items]
    if not words:
        assert offered == []
        return
    assert offered == [i.ref for i in complete(app, CompleteParams(prefix=words)).items]
    if words == "fire":
        assert offered and all("fire" in i.lower() for i in offered[:3])


def test_empty_prefix_gives_nothing(app: App) -> None:
    assert names(app, "") == []


def test_huge_or_wrongly_typed_params_are_invalid(app: App) -> None:
    with pytest.raises(InvalidParams, match=r"\$\.prefix"):
        decode({"prefix": "x" * 10_000}, CompleteParams)
    with pytest.raises(InvalidParams, match=r"\$\.limit"):
        decode({"prefix": "x", "limit": "ten"}, CompleteParams)
    with pytest.raises(InvalidParams, match=r"\$\.limit"):
        decode({"prefix": "x", "limit": 0}, CompleteParams)
    # the field's own path and the one meant, as the MCP face says it (it was "Object
    # contains unknown field `colections` - at `$`")
    said = r"^unknown field 'colections': did you mean 'collections'\? - at `\$\.colections`$"
    with pytest.raises(InvalidParams, match=said) as caught:
        decode({"prefix": "x", "colections": ["spells"]}, CompleteParams)
    assert caught.value.data == {"path": "$.colections"}
    with pytest.raises(InvalidParams, match=r"\$\.collections\[0\]"):
        decode({"prefix": "x", "collections": [3]}, CompleteParams)


def test_long_prefix_that_passes_decoding_is_an_empty_result(app: App) -> None:
    assert names(app, "fire " * 150) == []


def test_an_entry_removed_between_matching_and_reading_is_left_out(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process may remove a pack between the two reads of a completion (the daemons
    of tests/test_multiprocess.py do): the entry gone is not offered, and nothing fails."""
    from d5e_daemon import queries

    whole = [i.name for i in complete(app, CompleteParams(prefix="fireb")).items]
    assert whole[0] == "Fireball"
    real = queries.rows_by_ids
    monkeypatch.setattr(queries, "rows_by_ids", lambda conn, ids: real(conn, ids[1:]))
    items = complete(app, CompleteParams(prefix="fireb")).items
    assert [i.name for i in items] == whole[1:]


def test_a_pack_is_named_as_lookup_names_it(app: App) -> None:
    """A pack nothing installed is an error, as in lookup (it was an empty list: nothing to
    tell a typo from a name that matches nothing); that pack's entries alone otherwise."""
    said = r"no pack 'srd-2041' is installed; did you mean 'srd-2024' or 'srd-2014'\?"
    with pytest.raises(NotFound, match=said):
        complete(app, CompleteParams(prefix="abo", pack="srd-2041"))
    found = complete(app, CompleteParams(prefix="fireb", pack="srd-2014")).items
    assert found and {item.pack for item in found} == {"srd-2014"}
