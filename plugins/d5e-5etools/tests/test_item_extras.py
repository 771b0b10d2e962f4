"""`itemTypeAdditionalEntries` (text every item of a type shows after its own) and
`linkedLootTables` (the loot tables an item is on), read as 5etools' `Renderer.item` reads
them, in files written for these tests."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Any

from d5e_daemon.app import App
from d5e_daemon.features.lookup import lookup
from d5e_daemon.protocol import LookupParams

DOC: dict[str, Any] = {
    "_meta": {"sources": [{"json": "TavernKit", "full": "Tavern Kit"}]},
    "item": [
        {
            "name": "Knucklebones Set",
            "source": "TavernKit",
            "type": "GS",  # no source: the PHB's type
            "entries": ["Five small bones, worn smooth."],
        },
        {
            "name": "Lantern of Stories",
            "source": "TavernKit",
            "wondrous": True,
            "rarity": "rare",
            "entries": ["It glows while a tale is told."],
        },
    ],
    "itemTypeAdditionalEntries": [
        {
            "name": "Gaming Set",
            "source": "TavernKit",
            "appliesTo": "GS|PHB",
            "entries": [{"type": "entries", "name": "Tavern Games", "entries": ["Bets go round."]}],
        }
    ],
    "linkedLootTables": {"TavernKit": {"Lantern of Stories": ["Magic Item Table F"]}},
}


def test_type_entries_and_loot_tables_are_read(app: App, tmp_path: Path) -> None:
    path = tmp_path / "Someone; Tavern Kit.json"
    path.write_text(json.dumps(DOC, indent="\t"), "utf-8")
    result = app.db.write(partial(app.library.install_path, path=path))
    assert not [w for w in result.warnings if "not read" in w.message]  # nothing left unread
    found = lookup(app, LookupParams(ref="tavernkit:equipment/knucklebones-set"))
    # the type's entries after the item's own, in the card too
    assert "Five small bones" in found.markdown and "Tavern Games" in found.markdown
    assert found.markdown.index("Five small bones") < found.markdown.index("Bets go round.")
    assert found.entry.data["5etools"]["entries"] == ["Five small bones, worn smooth."]
    lantern = lookup(app, LookupParams(ref="tavernkit:magic-items/lantern-of-stories"))
    assert lantern.entry.data["5etools"]["lootTables"] == ["Magic Item Table F"]
    assert "Tavern Games" not in lantern.markdown
