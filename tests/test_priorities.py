"""Which entry wins: profiles, per-collection priorities and rules, choices made by commands,
workspace settings (d5e.toml), ties reported once, completion returning winners only."""

from __future__ import annotations

import asyncio
import logging
from functools import partial
from pathlib import Path

import apsw
import pytest

from d5e_daemon import queries, workspace
from d5e_daemon.app import App
from d5e_daemon.errors import InvalidParams
from d5e_daemon.features import packs as features
from d5e_daemon.features.complete import complete
from d5e_daemon.features.lookup import lookup
from d5e_daemon.plugins import get_plugins
from d5e_daemon.protocol import (
    CompleteParams,
    LookupParams,
    PackIdParams,
    SetPriorityParams,
)
from d5e_daemon.records import PriorityRule
from d5e_daemon.settings import build

from .conftest import make_app
from .packtools import write_pack

GOBLIN = "---\nextends: srd-2014:monsters/goblin\nhit_points: 99\n---\n"
FIREBALL = "---\nextends: srd-2014:spells/fireball\nlevel: 4\n---\n"


def brew(tmp_path: Path, pack_id: str = "brew", priority: int = 50) -> Path:
    manifest = f'id = "{pack_id}"\ntitle = "{pack_id}"\nversion = "1"\npriority = {priority}\n'
    files = {"monsters/goblin.md": GOBLIN, "spells/fireball.md": FIREBALL}
    return write_pack(tmp_path / pack_id, files, manifest=manifest)


def install(app: App, path: Path) -> None:
    app.db.write(partial(app.library.install_path, path=path))


def winner(app: App, ref: str) -> tuple[str, int | None]:
    entry = lookup(app, LookupParams(ref=ref)).entry
    return entry.pack, entry.priority


def test_an_installed_pack_wins_at_its_default_priority(app: App, tmp_path: Path) -> None:
    install(app, brew(tmp_path))
    assert winner(app, "monsters/goblin") == ("brew", 50)
    assert winner(app, "spells/fireball") == ("brew", 50)


def test_a_rule_for_one_collection_lifts_the_pack_there_only(db_path: Path, tmp_path: Path) -> None:
    rule = PriorityRule(pack="brew", over="srd-2014", collections=["monsters"])
    app = make_app(db_path, rules=[msgspec_rule(rule)])
    try:
        install(app, brew(tmp_path, priority=1))
        assert winner(app, "monsters/goblin") == ("brew", 11)
        assert winner(app, "spells/fireball") == ("srd-2014", 10)
        fireball = lookup(app, LookupParams(ref="spells/fireball"))
        assert [(s.pack, s.priority) for s in fireball.shadowed] == [("brew", 1)]
    finally:
        app.close()


def msgspec_rule(rule: PriorityRule) -> dict[str, object]:
    return {"pack": rule.pack, "over": rule.over, "collections": rule.collections}


def test_collection_priorities_from_the_settings(db_path: Path, tmp_path: Path) -> None:
    app = make_app(db_path, collectionPriorities={"brew": {"spells": 5}})
    try:
        install(app, brew(tmp_path))
        assert winner(app, "spells/fireball") == ("srd-2014", 10)
        assert winner(app, "monsters/goblin") == ("brew", 50)
    finally:
        app.close()


def test_edition_2024_turns_srd_2024_on_above_srd_2014(app2024: App) -> None:
    assert winner(app2024, "conditions/prone") == ("srd-2024", 20)
    assert winner(app2024, "spells/fireball") == ("srd-2014", 10)  # 2024's data has no spells


async def test_commands_enable_disable_and_set_priorities(app: App, tmp_path: Path) -> None:
    install(app, brew(tmp_path))
    result = await features.set_priority(
        app, SetPriorityParams(pack="brew", priority=5, collection="spells")
    )
    assert result.info.collection_priorities == {"spells": 5} and result.warnings == []
    assert winner(app, "spells/fireball") == ("srd-2014", 10)
    assert winner(app, "monsters/goblin") == ("brew", 50)

    await features.disable(app, PackIdParams(pack="brew"))
    assert winner(app, "monsters/goblin") == ("srd-2014", 10)
    await features.enable(app, PackIdParams(pack="brew"))
    assert winner(app, "monsters/goblin") == ("brew", 50)

    await features.set_priority(
        app, SetPriorityParams(pack="brew", priority=None, collection="spells")
    )
    assert winner(app, "spells/fireball") == ("brew", 50)

    # srd-2024 is off in edition 2014; a command turns it on at its default priority
    on = await features.enable(app, PackIdParams(pack="srd-2024"))
    assert (on.info.enabled, on.info.priority, on.info.reason) == (True, 20, "command")


async def test_choices_are_kept_in_the_database_for_the_next_process(
    db_path: Path, tmp_path: Path
) -> None:
    first = make_app(db_path)
    install(first, brew(tmp_path))
    await features.set_priority(first, SetPriorityParams(pack="brew", priority=3))
    first.close()
    second = make_app(db_path)
    try:
        assert winner(second, "monsters/goblin") == ("srd-2014", 10)
    finally:
        second.close()


async def test_the_workspace_settings_win_over_commands_and_say_so(
    db_path: Path, tmp_path: Path
) -> None:
    app = make_app(db_path, packs={"brew": 40})
    try:
        install(app, brew(tmp_path))
        result = await features.set_priority(app, SetPriorityParams(pack="brew", priority=3))
        assert result.info.priority == 40
        assert result.warnings == [
            "the settings set brew's priority to 40; that wins over this command"
        ]
    finally:
        app.close()


def test_equal_priorities_are_decided_by_pack_id_and_reported_once(
    app: App, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    install(app, brew(tmp_path, "brew-b", priority=30))
    install(app, brew(tmp_path, "brew-a", priority=30))
    with caplog.at_level(logging.WARNING):
        app.library.sync_profile()
        app.library.sync_profile()
        assert winner(app, "monsters/goblin") == ("brew-a", 30)
        assert winner(app, "spells/fireball") == ("brew-a", 30)
        listed = features.list_packs(app).warnings
    expected = (
        "packs brew-a and brew-b have the same priority (30) for 2 ref(s) such as "
        "monsters/goblin: brew-a wins (pack ids in order); give one of them another priority "
        "to choose"
    )
    assert listed == [expected]
    logged = [r.getMessage() for r in caplog.records if "same priority" in r.getMessage()]
    assert logged == [expected]


def test_completion_returns_winners_only_and_flags_overrides(app: App, tmp_path: Path) -> None:
    install(app, brew(tmp_path))
    items = complete(app, CompleteParams(prefix="goblin", collections=["monsters"])).items
    goblins = [i for i in items if i.ref == "monsters/goblin"]
    assert [(i.pack, i.shadows) for i in goblins] == [("brew", True)]
    hob = next(i for i in items if i.ref == "monsters/hobgoblin")
    assert (hob.pack, hob.shadows) == ("srd-2014", False)


def test_a_plugin_rule_is_a_default_that_settings_override(db_path: Path, tmp_path: Path) -> None:
    class Rule:
        __name__ = "rule-plugin"

        from d5e_daemon import hookimpl

        @hookimpl
        def priority_rules(self) -> list[PriorityRule]:
            return [PriorityRule(pack="brew", over="srd-2014", collections=["spells"])]

    settings = build({"db": str(db_path), "packs": {"brew": 2}})
    app = App(settings, plugins=get_plugins(extra=(Rule(),)))
    app.start()
    try:
        install(app, brew(tmp_path, priority=60))
        # settings set 2 for the whole pack; the rule still lifts spells above srd-2014
        assert winner(app, "monsters/goblin") == ("srd-2014", 10)
        assert winner(app, "spells/fireball") == ("srd-2014", 10)
    finally:
        app.close()


# -- the workspace: d5e.toml ----------------------------------------------------------------------


def test_a_workspace_names_its_profile_and_sets_its_packs(db_path: Path, tmp_path: Path) -> None:
    pack = brew(tmp_path / "campaign", priority=1)
    root = tmp_path / "campaign"
    (root / "d5e.toml").write_text(
        'edition = "2024"\npackPaths = ["brew"]\ndisabled = ["srd-2014"]\n'
        '[[rules]]\npack = "brew"\nover = "srd-2024"\ncollections = ["monsters"]\n'
    )
    layer = workspace.layer(workspace.find_root(pack / "monsters"))
    assert layer["workspace"] == str(root.resolve())
    assert (
        layer["profile"].startswith("campaign-") and len(layer["profile"]) == len("campaign-") + 6
    )
    assert layer["workspacePackPaths"] == [str(pack.resolve())]
    app = App(build({"db": str(db_path)}, layer))
    app.start()
    try:
        assert winner(app, "monsters/goblin") == ("brew", 21)
        assert winner(app, "spells/fireball") == ("brew", 1)  # srd-2014 is off here
        assert winner(app, "conditions/prone") == ("srd-2024", 20)
    finally:
        app.close()
    # the default profile (the CLI outside the campaign) has none of the campaign's rules, nor
    # its pack: off there (it was on at its priority 1, shadowed by the SRD)
    other = make_app(db_path)
    try:
        goblin = lookup(other, LookupParams(ref="monsters/goblin"))
        assert (goblin.entry.pack, [(s.pack, s.priority) for s in goblin.shadowed]) == (
            "srd-2014",
            [],
        )
    finally:
        other.close()


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (
            'edition = "2019"\n',
            "d5e.toml:1:11: edition: Invalid enum value '2019' (one of '2014', '2024')",
        ),
        (
            'edition = "2014"\n\n[packs]\nbrew = "high"\n',
            "d5e.toml:4:8: packs.brew: a pack's priority is a whole number, higher wins",
        ),
        (
            'edition = "2014"\ncolour = 1\n',
            "d5e.toml:2:1: colour: not a d5e.toml setting; d5e.toml takes profile, edition, packs,"
            " collectionPriorities, rules, disabled, packPaths, completionLimit, statBlocks, party",
        ),
        (
            "watch = false\n",
            "d5e.toml:1:1: watch: a setting a campaign folder cannot make (set it in the editor,"
            " flags or environment); d5e.toml takes profile, edition,",
        ),
        ("edition = \n", "d5e.toml:1:11: Invalid value"),
        ('party = [3, 3,\n  "4", 4]\n', "d5e.toml:2:3: party[2]: Expected `int`, got `str`"),
    ],
)
def test_a_broken_d5e_toml_is_an_error_naming_its_line(
    tmp_path: Path, text: str, where: str
) -> None:
    (tmp_path / "d5e.toml").write_text(text)
    with pytest.raises(InvalidParams) as caught:
        workspace.layer(tmp_path)
    assert caught.value.message.startswith(f"{tmp_path.resolve()}/"), caught.value.message
    assert where in caught.value.message, caught.value.message


def _resolved(app: App) -> list[tuple[object, ...]]:
    return sorted(app.conn.execute("SELECT profile_id, entry_id, shadows FROM resolved"))


def _rebuilt(app: App) -> list[tuple[object, ...]]:
    """The winners of every ref of every profile computed from scratch (rolled back after)."""

    def rebuild(conn: apsw.Connection) -> list[tuple[object, ...]]:
        conn.execute("SAVEPOINT scratch")
        try:
            queries.rebuild_resolved(conn)
            return sorted(conn.execute("SELECT profile_id, entry_id, shadows FROM resolved"))
        finally:
            conn.execute("ROLLBACK TO scratch")
            conn.execute("RELEASE scratch")

    return app.db.write(rebuild)


async def test_winners_after_each_change_are_those_of_a_full_rebuild(
    app: App, tmp_path: Path
) -> None:
    """Installs and choices re-resolve only the refs of the packs they change; whatever the
    order of changes, the winners are those resolving everything again would give."""
    steps = [
        lambda: install(app, brew(tmp_path, "brew-a", priority=30)),
        lambda: install(app, brew(tmp_path, "brew-b", priority=30)),
        lambda: features.set_priority(app, SetPriorityParams(pack="brew-b", priority=31)),
        lambda: features.set_priority(
            app, SetPriorityParams(pack="brew-a", priority=40, collection="spells")
        ),
        lambda: features.disable(app, PackIdParams(pack="brew-a")),
        lambda: features.set_priority(app, SetPriorityParams(pack="srd-2014", priority=35)),
        lambda: features.enable(app, PackIdParams(pack="brew-a")),
        lambda: features.set_priority(
            app, SetPriorityParams(pack="brew-a", priority=None, collection="spells")
        ),
        lambda: features.enable(app, PackIdParams(pack="srd-2024")),
        lambda: features.disable(app, PackIdParams(pack="srd-2014")),
        lambda: features.remove(app, PackIdParams(pack="brew-b")),
        lambda: features.enable(app, PackIdParams(pack="srd-2014")),
    ]
    seen = set()
    for step in steps:
        done = step()
        if done is not None:
            await done
        assert _resolved(app) == _rebuilt(app)
        seen.add((winner(app, "monsters/goblin"), winner(app, "spells/fireball")))
    assert len(seen) >= 5  # the steps did change winners


def test_the_packs_list_says_why_a_pack_is_off(db_path: Path, tmp_path: Path) -> None:
    """Neovim's :D5ePacks and Emacs' d5e-packs said "off" without why: the daemon sent none.
    Each off pack now says it: the other edition's SRD, d5e.toml's `disabled`, the editor's
    `disabled`, `d5e packs disable`."""
    (tmp_path / "d5e.toml").write_text('edition = "2024"\ndisabled = ["srd-2014"]\n')
    app = make_app(db_path, **workspace.layer(tmp_path))
    try:

        def off() -> dict[str, str | None]:
            return {i.pack.id: i.off for i in features.list_packs(app).packs if i.installed}

        assert off() == {
            "srd-2014": f"disabled in {tmp_path.resolve() / 'd5e.toml'}",
            "srd-2024": None,
        }
    finally:
        app.close()
    app = make_app(db_path, edition="2014", disabled=["srd-2014"])
    try:
        assert off() == {
            "srd-2014": "disabled in the editor's settings (disabled)",
            "srd-2024": "the SRD of the other edition (this profile's edition is 2014)",
        }
    finally:
        app.close()
    app = make_app(db_path, edition="2024")
    try:
        asyncio.run(features.disable(app, PackIdParams(pack="srd-2024")))
        assert off() == {
            "srd-2014": None,
            "srd-2024": "turned off in this profile (d5e packs disable; enable turns it on)",
        }
    finally:
        app.close()
