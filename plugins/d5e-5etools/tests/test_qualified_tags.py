"""5etools tags whose later parts tell same-named entries apart, on a file of our own: two
classes with a feature of the same name at different levels, a subclass tags call by its
short name, two deities of one name in two pantheons, two cards of one name in two decks.
Each tag means the entry its class / subclass / level / pantheon / deck names, in cards (links)
and in a Markdown document over real stdio; one that names none is a problem, not a link to
another's."""

from __future__ import annotations

import asyncio
import json
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types

from d5e_daemon.app import App
from d5e_daemon.features.lookup import lookup
from d5e_daemon.features.tags import Resolver, tag_for_entry
from d5e_daemon.protocol import LookupParams, TagForParams
from d5e_daemon.tagsyntax import tags_in_line
from tests.conftest import start_client

SRC = "DuskMarch"


def _feature(name: str, cls: str, level: int, text: str, **more: Any) -> dict[str, Any]:
    return {"name": name, "source": SRC, "className": cls, "classSource": SRC, "level": level,
            "entries": [text], **more}  # fmt: skip


DOC: dict[str, Any] = {
    "_meta": {
        "sources": [{"json": SRC, "abbreviation": "DM", "full": "The Dusk March"}],
    },
    "class": [
        {
            "name": "Lamplighter",
            "source": SRC,
            "hd": {"number": 1, "faces": 8},
            "proficiency": ["wis", "cha"],
            "classFeatures": [
                f"Second Wind|Lamplighter|{SRC}|1",
                f"Steady Flame|Lamplighter|{SRC}|4",
                f"Steady Flame|Lamplighter|{SRC}|8",
            ],
        },
        {
            "name": "Duskblade",
            "source": SRC,
            "hd": {"number": 1, "faces": 10},
            "proficiency": ["str", "con"],
            "classFeatures": [f"Second Wind|Duskblade|{SRC}|2"],
        },
    ],
    "classFeature": [
        _feature("Second Wind", "Lamplighter", 1, "The lamplighter's breath steadies the flame."),
        _feature("Steady Flame", "Lamplighter", 4, "Your lamp burns one hour longer."),
        _feature("Steady Flame", "Lamplighter", 8, "Your lamp burns two hours longer."),
        _feature(
            "Second Wind",
            "Duskblade",
            2,
            "The duskblade's second wind; compare {@classFeature Second Wind|Lamplighter|"
            f"{SRC}|1}}, {{@classFeature Extra Attack|Fighter|PHB|5}} and "
            f"{{@classFeature Second Wind|Wizard|{SRC}|1}}.",
        ),
    ],
    "subclass": [
        {
            "name": "Order of the Wick",
            "shortName": "Wick",
            "source": SRC,
            "className": "Lamplighter",
            "classSource": SRC,
            "subclassFeatures": [f"Order of the Wick|Lamplighter|{SRC}|Wick|{SRC}|3"],
        }
    ],
    "subclassFeature": [
        {
            "name": "Order of the Wick",
            "source": SRC,
            "className": "Lamplighter",
            "classSource": SRC,
            "subclassShortName": "Wick",
            "subclassSource": SRC,
            "level": 3,
            "entries": [
                f"Wicks answer you: see {{@class Lamplighter|{SRC}|the order|Wick|{SRC}}}, "
                f"{{@deity Veyra|Dusk|{SRC}}}, {{@deity Veyra|Dawn|{SRC}|the dawn Veyra}} "
                f"and {{@card Ember|Deck of Ash|{SRC}}}."
            ],
        }
    ],
    "race": [{"name": "Duskfolk", "source": SRC, "size": ["M"], "speed": 30, "entries": []}],
    "subrace": [
        {
            "name": "Ashen",
            "raceName": "Duskfolk",
            "raceSource": SRC,
            "source": SRC,
            "entries": ["Ashen duskfolk."],
        },
        {
            "name": "Ashen",
            "raceName": "Dawnfolk",
            "raceSource": SRC,
            "source": SRC,
            "entries": ["Ashen dawnfolk."],
        },
    ],
    "deity": [
        {"name": "Veyra", "source": SRC, "pantheon": "Dawn", "entries": ["Veyra of the dawn."]},
        {"name": "Veyra", "source": SRC, "pantheon": "Dusk", "entries": ["Veyra of the dusk."]},
    ],
    "deck": [
        {"name": "Deck of Ash", "source": SRC, "cards": [f"Ember|Deck of Ash|{SRC}"]},
        {"name": "Deck of Coals", "source": SRC, "cards": [f"Ember|Deck of Coals|{SRC}"]},
    ],
    "card": [
        {"name": "Ember", "set": "Deck of Ash", "source": SRC, "entries": ["Ash ember."]},
        {"name": "Ember", "set": "Deck of Coals", "source": SRC, "entries": ["Coal ember."]},
    ],
}


@pytest.fixture
def dusk(app: App, tmp_path: Path) -> App:
    path = tmp_path / "Someone; Dusk March.json"
    path.write_text(json.dumps(DOC, indent="\t"), "utf-8")
    app.db.write(partial(app.library.install_path, path=path))
    return app


def resolved(app: App, text: str) -> str | None:
    (tag,) = tags_in_line(0, text)
    row = Resolver(app).resolve(tag).row
    return row.qualified_ref if row else None


def test_each_tag_means_the_entry_its_parts_name(dusk: App) -> None:
    cases = {
        f"{{@classFeature Second Wind|Lamplighter|{SRC}|1}}": "lamplighter-second-wind-1",
        f"{{@classFeature Second Wind|Duskblade|{SRC}|2}}": "duskblade-second-wind-2",
        "{@classFeature Second Wind|duskblade|DM|2}": "duskblade-second-wind-2",
        f"{{@classFeature Steady Flame|Lamplighter|{SRC}|8}}": "lamplighter-steady-flame-8",
        f"{{@classFeature Steady Flame|Lamplighter|{SRC}|4}}": "lamplighter-steady-flame-4",
        f"{{@subclassFeature Order of the Wick|Lamplighter|{SRC}|Wick|{SRC}|3}}": (
            "lamplighter-wick-order-of-the-wick-3"
        ),
    }
    for text, slug in cases.items():
        assert resolved(dusk, text) == f"duskmarch:features/{slug}", text
    # the subclass by its short name, as 5etools' tags call it, and a class tag naming it
    wick = "duskmarch:subclasses/lamplighter-order-of-the-wick"
    assert resolved(dusk, f"{{@subclass Wick|Lamplighter|{SRC}|{SRC}}}") == wick
    assert resolved(dusk, f"{{@class Lamplighter|{SRC}|the order|Wick|{SRC}}}") == wick
    assert resolved(dusk, f"{{@class Lamplighter|{SRC}}}") == "duskmarch:classes/lamplighter"
    # deities by pantheon, cards by deck
    dusk_veyra = resolved(dusk, f"{{@deity Veyra|Dusk|{SRC}}}")
    dawn_veyra = resolved(dusk, f"{{@deity Veyra|Dawn|{SRC}}}")
    assert dusk_veyra != dawn_veyra and None not in (dusk_veyra, dawn_veyra)
    assert "Veyra of the dusk." in lookup(dusk, LookupParams(ref=str(dusk_veyra))).markdown
    assert resolved(dusk, f"{{@card Ember|Deck of Coals|{SRC}}}") == (
        "duskmarch:cards/deck-of-coals-ember"
    )
    assert resolved(dusk, f"{{@card Ember|Deck of Ash|{SRC}}}") == (
        "duskmarch:cards/deck-of-ash-ember"
    )


def test_a_race_tag_names_a_subrace_as_race_and_subrace(dusk: App) -> None:
    ashen = resolved(dusk, f"{{@race Duskfolk (Ashen)|{SRC}}}")
    assert ashen is not None and ashen.startswith("duskmarch:subraces/")
    assert "Ashen duskfolk." in lookup(dusk, LookupParams(ref=ashen)).markdown
    assert resolved(dusk, f"{{@race Duskfolk|{SRC}}}") == "duskmarch:races/duskfolk"
    assert resolved(dusk, f"{{@race Nightfolk (Ashen)|{SRC}}}") is None


def test_parts_that_name_no_entry_are_problems_with_fixes(dusk: App) -> None:
    resolver = Resolver(dusk)
    (tag,) = tags_in_line(0, f"{{@classFeature Second Wind|Wizard|{SRC}|1}}")
    found = resolver.resolve(tag)
    assert found.row is None and found.code == "unknown-ref"
    assert found.message.startswith(
        "no class feature 'Second Wind' of Wizard; there is one of Duskblade and Lamplighter"
    )
    assert [f.text for f in found.fixes] == [
        f"{{@classFeature Second Wind|Duskblade|{SRC}|2}}",
        f"{{@classFeature Second Wind|Lamplighter|{SRC}|1}}",
    ]
    (tag,) = tags_in_line(0, f"{{@deity Veyra|Norse|{SRC}}}")
    found = resolver.resolve(tag)
    assert found.row is None
    assert found.message.startswith(
        "no deity 'Veyra' of pantheon Norse; there is one of pantheon Dawn and pantheon Dusk"
    )
    (tag,) = tags_in_line(0, f"{{@card Ember|Deck of Many Things|{SRC}}}")
    assert resolver.resolve(tag).row is None


def test_cards_link_what_the_parts_name(dusk: App) -> None:
    text = lookup(dusk, LookupParams(ref="duskmarch:features/duskblade-second-wind-2")).markdown
    assert "[Second Wind](d5e://duskmarch/features/lamplighter-second-wind-1.md)" in text
    assert "[Extra Attack](d5e://srd-2014/features/extra-attack-1.md)" in text  # the Fighter's
    assert "compare" in text and "and Second Wind." in text  # no Wizard one: text, no link
    text = lookup(dusk, LookupParams(ref="duskmarch:subclasses/lamplighter-order-of-the-wick"))
    card = text.markdown
    wick = "d5e://duskmarch/subclasses/lamplighter-order-of-the-wick.md"
    assert f"[the order]({wick})" in card
    assert "[the dawn Veyra](d5e://duskmarch/deities/veyra" in card
    assert "[Ember](d5e://duskmarch/cards/deck-of-ash-ember.md)" in card
    # the class card lists each feature, the one of its level
    text = lookup(dusk, LookupParams(ref="duskmarch:classes/lamplighter")).markdown
    assert "[Steady Flame](d5e://duskmarch/features/lamplighter-steady-flame-4.md)" in text
    assert "[Steady Flame](d5e://duskmarch/features/lamplighter-steady-flame-8.md)" in text
    assert "{@" not in text


def test_tag_for_writes_the_parts_that_tell_it_apart(dusk: App) -> None:
    def tag_for(ref: str) -> str:
        return tag_for_entry(dusk, TagForParams(ref=ref)).text

    assert tag_for("duskmarch:features/duskblade-second-wind-2") == (
        "{@classfeature second wind|Duskblade||2}"
    )
    assert tag_for("duskmarch:cards/deck-of-ash-ember") == "{@card ember|Deck of Ash}"
    for ref in (
        "duskmarch:features/lamplighter-steady-flame-8",
        "duskmarch:cards/deck-of-coals-ember",
    ):
        assert resolved(dusk, tag_for(ref)) == ref


URI = "file:///campaign/dusk.md"
TEXT = (
    "# The march\n"
    f"Breathe: {{@classFeature Second Wind|Duskblade|{SRC}|2}}.\n"
    f"Pray to {{@deity Veyra|Dawn|DM}}, not {{@deity Veyra|Norse|DM}}.\n"
)


async def test_a_document_over_real_stdio(dusk: App, db_path: Path) -> None:
    client = await start_client(db_path)
    try:
        waiting = asyncio.ensure_future(
            client.wait_for_notification("textDocument/publishDiagnostics")
        )
        await asyncio.sleep(0)
        client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                types.TextDocumentItem(uri=URI, language_id="markdown", version=1, text=TEXT)
            )
        )
        await asyncio.wait_for(waiting, 30)
        doc = types.TextDocumentIdentifier(URI)
        hover = await client.text_document_hover_async(
            types.HoverParams(doc, types.Position(line=1, character=30))
        )
        assert hover is not None and isinstance(hover.contents, types.MarkupContent)
        assert "The duskblade's second wind" in hover.contents.value
        definition = await client.text_document_definition_async(
            types.DefinitionParams(doc, types.Position(line=2, character=18))
        )
        assert isinstance(definition, types.Location)
        assert definition.uri.startswith("file://") and definition.uri.endswith("Dusk%20March.json")
        hover = await client.text_document_hover_async(
            types.HoverParams(doc, types.Position(line=2, character=18))
        )
        assert hover is not None and isinstance(hover.contents, types.MarkupContent)
        assert "Veyra of the dawn." in hover.contents.value
        (problem,) = client.diagnostics[URI]
        assert problem.range.start.line == 2
        assert problem.message.startswith("no deity 'Veyra' of pantheon Norse")
    finally:
        await client.shutdown_session()
        await client.stop()
