"""Shapes found in real homebrew files nobody here wrote (nineteenth session: whole files of
TheGiddyLimit/homebrew — Kobold Press' Dhampir, Cyrus' Orog, Brewskii's Silver Thorn, Alex152's
Pebble Shower, Echidna Design's Honkrasque…), each in a small file of our own."""

from __future__ import annotations

from pathlib import Path

from fivetools_files import card, data, install, write

from d5e_daemon.app import App

S = "Realworld"


def test_a_races_ability_written_as_one_object(app: App, tmp_path: Path) -> None:
    """Kobold Press' Dhampir (2018) writes its increases as one object, `"ability": {"cha": 2,
    "dex": 1}`, not a list of them: the loader failed on the file (`AttributeError: 'str'
    object has no attribute 'items'`) and nothing installed; a subrace's written so too."""
    doc = {
        "race": [
            {"name": "Dusk Kin", "source": S, "size": "M", "speed": {"walk": 30},
             "ability": {"cha": 2, "dex": 1}, "entries": ["Kin of the dusk."],
             "subraces": [{"name": "Pale", "ability": {"wis": 1}, "entries": ["Pale."]}]},
        ]
    }  # fmt: skip
    install(app, write(tmp_path, S, doc))
    text = card(app, "realworld:races/dusk-kin")
    assert "**Ability:** Charisma +2, Dexterity +1" in text
    found = data(app, "races/dusk-kin")["ability_bonuses"]
    assert {b["ability_score"]["index"]: b["bonus"] for b in found} == {"cha": 2, "dex": 1}
    assert "**Ability:** Wisdom +1" in card(app, "realworld:subraces/pale-dusk-kin")
