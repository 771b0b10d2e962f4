"""A tiny homebrew plugin for tests: one new spell and an override of the SRD goblin."""

from __future__ import annotations

from collections.abc import Callable

from d5e_daemon import Entry, Pack, PackSource, PriorityRule, hookimpl

BREW = Pack(id="test-brew", title="Test Brew", version="1", license="CC0", default_priority=50)

ENTRIES = [
    Entry(
        collection="spells",
        slug="mordenkainens-sword",
        name="Mordenkainen's Sword",
        data={
            "level": 7,
            "school": {"name": "Evocation"},
            "desc": ["A shimmering sword of force."],
        },
    ),
    Entry(
        collection="monsters",
        slug="goblin",
        name="Goblin",
        data={
            "size": "Small",
            "type": "humanoid",
            "challenge_rating": 0.5,
            "hit_points": 12,
            "desc": "A tougher goblin of the Ashen Hills.",
        },
    ),
]


class BrewPlugin:
    __name__ = "test-brew-plugin"

    @hookimpl
    def register_packs(self, register: Callable[[PackSource], None]) -> None:
        register(PackSource(pack=BREW, load=lambda: list(ENTRIES)))


class BrewRulesPlugin(BrewPlugin):
    """The same pack at a low default priority, with a rule that it wins over srd-2014."""

    __name__ = "test-brew-rules-plugin"

    @hookimpl
    def register_packs(self, register: Callable[[PackSource], None]) -> None:
        low = Pack(
            **{**{f: getattr(BREW, f) for f in BREW.__struct_fields__}, "default_priority": 1}
        )
        register(PackSource(pack=low, load=lambda: list(ENTRIES)))

    @hookimpl
    def priority_rules(self) -> list[PriorityRule]:
        return [PriorityRule(pack="test-brew", over="srd-2014")]
