"""The example plugin pack: installed in the dev environment, it changes nothing until its pack
is installed; then its three hooks show: a per-collection priority rule, a renderer for its own
collection, and a loader for its CSV format."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from d5e_daemon.app import App
from d5e_daemon.errors import PackError
from d5e_daemon.features.complete import complete
from d5e_daemon.features.lookup import lookup
from d5e_daemon.features.packs import install
from d5e_daemon.features.status import status
from d5e_daemon.protocol import CompleteParams, LookupParams, PackInstallParams


def test_installed_but_not_in_use_it_changes_nothing(app: App) -> None:
    assert "example-brew" not in app.plugins.failed
    assert "clockwork" in app.plugins.pack_sources()
    assert [p.id for p in status(app).packs] == ["srd-2014", "srd-2024"]
    homunculus = lookup(app, LookupParams(ref="monsters/homunculus"))
    assert homunculus.entry.pack == "srd-2014" and homunculus.shadowed == []
    assert lookup(app, LookupParams(ref="spells/fireball")).markdown.startswith("## Fireball")


def test_its_rule_makes_it_win_for_monsters_only(app: App) -> None:
    asyncio.run(install(app, PackInstallParams(id="clockwork")))
    homunculus = lookup(app, LookupParams(ref="monsters/homunculus"))
    assert (homunculus.entry.pack, homunculus.entry.priority) == ("clockwork", 11)
    assert [s.pack for s in homunculus.shadowed] == ["srd-2014"]
    mending = lookup(app, LookupParams(ref="spells/mending"))
    assert (mending.entry.pack, [s.pack for s in mending.shadowed]) == ("srd-2014", ["clockwork"])


def test_its_renderer_draws_its_own_collection(app: App) -> None:
    asyncio.run(install(app, PackInstallParams(id="clockwork")))
    bird = lookup(app, LookupParams(name="clockwork songbird"))
    assert bird.markdown.startswith("## Clockwork Songbird\n\n*Clockwork invention*")
    assert "**Cost:** 25 gp" in bird.markdown
    item = complete(app, CompleteParams(prefix="clockwork so")).items[0]
    assert (item.ref, item.detail) == ("inventions/clockwork-songbird", "invention, 25 gp")
    # its monster is drawn by the built-in stat block, not by the plugin
    assert (
        "**Armor Class:** 14 (natural armor)"
        in lookup(app, LookupParams(ref="monsters/homunculus")).markdown
    )


def test_its_loader_reads_a_csv_price_list(app: App, tmp_path: Path) -> None:
    path = tmp_path / "gizmo-shop.inventions.csv"
    path.write_text("name,cost,weight,effect\nPocket Sun,50 gp,0.5,Glows warmly.\n")
    result = asyncio.run(install(app, PackInstallParams(path=str(path))))
    assert (result.pack, result.entries) == ("gizmo-shop", 1)
    sun = lookup(app, LookupParams(name="pocket sun"))
    assert sun.entry.source is not None and sun.entry.source.line == 2
    assert "**Weight:** 0.5 lb." in sun.markdown


def test_its_loader_reports_problems_with_their_line(app: App, tmp_path: Path) -> None:
    path = tmp_path / "bad.inventions.csv"
    path.write_text("name,cost,weight,effect\nA,1 gp,light,x\nB,2 gp\n")
    with pytest.raises(PackError) as caught:
        asyncio.run(install(app, PackInstallParams(path=str(path))))
    problems = [(p["line"], p["column"], p["message"]) for p in caught.value.data["problems"]]
    assert problems == [(2, 8, "not a number: 'light'"), (3, 1, "expected 4 values, found 2")]
    assert "bad" not in [p.id for p in status(app).packs]
