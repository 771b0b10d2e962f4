"""Class and subclass cards show their features' text where 5etools does: a class's
`classFeatures`, a subclass's `subclassFeatures`, and `refClassFeature` /
`refSubclassFeature` / `refOptionalfeature` entries inside feature text; each still a link to
the feature's own card."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from fivetools_files import card

from d5e_daemon.app import App
from d5e_daemon.features.lookup import lookup
from d5e_daemon.protocol import LookupParams

SRC = "Lanterns"
DOC: dict[str, Any] = {
    "_meta": {"sources": [{"json": SRC, "full": "The Lantern Keeper"}]},
    "class": [
        {
            "name": "Lantern Keeper",
            "source": SRC,
            "hd": {"number": 1, "faces": 8},
            "proficiency": ["wis", "cha"],
            "classFeatures": [
                f"Kindled Sight|Lantern Keeper|{SRC}|1|{SRC}",
                f"Wick Tricks|Lantern Keeper|{SRC}|2|{SRC}",
                {
                    "classFeature": f"Lantern Order|Lantern Keeper|{SRC}|3|{SRC}",
                    "gainSubclassFeature": True,
                },
                "Ability Score Improvement|Fighter|PHB|4",  # of another pack: a link
            ],
            "subclassTitle": "Lantern Order",
        }
    ],
    "classFeature": [
        {
            "name": "Kindled Sight",
            "source": SRC,
            "className": "Lantern Keeper",
            "classSource": SRC,
            "level": 1,
            "entries": ["You see in dim light as if it were bright light."],
        },
        {
            "name": "Wick Tricks",
            "source": SRC,
            "className": "Lantern Keeper",
            "classSource": SRC,
            "level": 2,
            "entries": [
                "You learn one wick trick of your choice:",
                {"type": "refOptionalfeature", "optionalfeature": f"Long Wick|{SRC}"},
                {"type": "refOptionalfeature", "optionalfeature": "Agonizing Blast"},
            ],
        },
        {
            "name": "Lantern Order",
            "source": SRC,
            "className": "Lantern Keeper",
            "classSource": SRC,
            "level": 3,
            "entries": ["You join a lantern order."],
        },
    ],
    "optionalfeature": [
        {
            "name": "Long Wick",
            "source": SRC,
            "featureType": ["WT"],
            "prerequisite": [{"level": {"level": 2}}],
            "entries": ["Your lantern burns twice as long."],
        }
    ],
    "subclass": [
        {
            "name": "Order of the Moth",
            "shortName": "Moth",
            "source": SRC,
            "className": "Lantern Keeper",
            "classSource": SRC,
            "subclassFeatures": [f"Order of the Moth|Lantern Keeper|{SRC}|Moth|{SRC}|3"],
        }
    ],
    "subclassFeature": [
        {
            "name": "Order of the Moth",
            "source": SRC,
            "className": "Lantern Keeper",
            "classSource": SRC,
            "subclassShortName": "Moth",
            "subclassSource": SRC,
            "level": 3,
            "entries": [
                "Moths gather to your light.",
                {
                    "type": "refSubclassFeature",
                    "subclassFeature": f"Dust Wings|Lantern Keeper|{SRC}|Moth|{SRC}|3",
                },
            ],
        },
        {
            "name": "Dust Wings",
            "source": SRC,
            "className": "Lantern Keeper",
            "classSource": SRC,
            "subclassShortName": "Moth",
            "subclassSource": SRC,
            "level": 3,
            "header": 1,
            "entries": ["You gain a flying speed of 10 feet."],
        },
    ],
}


@pytest.fixture
def keeper(app: App, tmp_path: Path) -> App:
    path = tmp_path / "Someone; Lantern Keeper.json"
    path.write_text(json.dumps(DOC, indent="\t"), "utf-8")
    app.db.write(partial(app.library.install_path, path=path))
    return app


def test_the_class_card_shows_each_listed_feature(keeper: App) -> None:
    text = card(keeper, "lanterns:classes/lantern-keeper")
    sight = "d5e://lanterns/features/lantern-keeper-kindled-sight-1.md"
    assert f"Level 1: [Kindled Sight]({sight})" in text
    assert "You see in dim light as if it were bright light." in text
    # the features keep the class's order, and a feature's own references are expanded too
    features = text[text.index("Level 1: [Kindled Sight]") :]
    assert (
        features.index("Kindled Sight")
        < features.index("Wick Tricks")
        < features.index("Lantern Order")
    )
    assert "[Long Wick](d5e://lanterns/optional-features/long-wick.md)" in text
    assert "Your lantern burns twice as long." in text
    assert "Prerequisite: level 2" in text
    # a feature of another pack stays a reference (a link when installed), never raw braces
    assert "Ability Score Improvement" in text and "{@" not in text
    # the class table names them by level (before the fourteenth session, a line of facts:
    # "Kindled Sight (1st level), Wick Tricks (2nd level)")
    assert "| 1 | +2 | Kindled Sight |\n| 2 | +2 | Wick Tricks |" in text


def test_a_feature_card_expands_its_references(keeper: App) -> None:
    text = card(keeper, "lanterns:features/lantern-keeper-wick-tricks-2")
    assert "You learn one wick trick of your choice:" in text
    assert "Your lantern burns twice as long." in text
    assert "Agonizing Blast" in text and "{@" not in text  # not in these files: its name
    raw = lookup(keeper, LookupParams(ref="lanterns:features/lantern-keeper-wick-tricks-2"))
    # the stored 5etools object is the file's, references and all
    assert raw.entry.data["5etools"]["entries"][1]["type"] == "refOptionalfeature"


def test_the_subclass_card_nests_its_features(keeper: App) -> None:
    text = card(keeper, "lanterns:subclasses/lantern-keeper-order-of-the-moth")
    assert "Moths gather to your light." in text
    wings = "d5e://lanterns/features/lantern-keeper-moth-dust-wings-3.md"
    assert f"[Dust Wings]({wings})" in text
    assert "You gain a flying speed of 10 feet." in text
    assert text.index("Moths gather") < text.index("flying speed")
