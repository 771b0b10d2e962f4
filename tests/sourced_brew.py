"""A homebrew pack whose entry says where it was written (`source`), as folder packs do."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from d5e_daemon import Entry, Pack, PackSource, hookimpl
from d5e_daemon.app import App
from d5e_daemon.plugins import get_plugins
from d5e_daemon.records import Source
from d5e_daemon.settings import build

PACK = Pack(
    id="table-brew",
    title="Table Brew",
    version="1",
    license="CC0",
    attribution="Written at our table.",
    default_priority=50,
)
SOURCE_LINE = 4
SPELLS_TOML = """# Table Brew spells

[[spells]]
name = "Ember Lance"
level = 2
school = "Evocation"
"""


class SourcedBrewPlugin:
    __name__ = "sourced-brew-plugin"

    def __init__(self, source_file: Path) -> None:
        self.source_file = source_file

    @hookimpl
    def register_packs(self, register: Callable[[PackSource], None]) -> None:
        entry = Entry(
            collection="spells",
            slug="ember-lance",
            name="Ember Lance",
            data={"level": 2, "school": {"name": "Evocation"}, "desc": ["A lance of embers."]},
            source=Source(path=str(self.source_file), line=SOURCE_LINE),
        )
        register(PackSource(pack=PACK, load=lambda: [entry]))


def install(db_path: Path, folder: Path) -> Path:
    """Install the pack into the database at `db_path`; return its source file."""
    folder.mkdir(parents=True, exist_ok=True)
    source_file = folder / "spells.toml"
    source_file.write_text(SPELLS_TOML)
    settings = build({"db": str(db_path), "builtinPacks": ["srd-2014", "srd-2024", PACK.id]})
    app = App(settings, plugins=get_plugins(extra=(SourcedBrewPlugin(source_file),)))
    app.start()
    app.close()
    return source_file
