"""Shapes found in real homebrew files of TheGiddyLimit/homebrew (thirteenth session), each in a
small file of our own: spells whose range is an area, and races whose ability increases are a
choice and whose proficiencies name a language of their own source."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from fivetools_files import card, install, write

from d5e_daemon.app import App
from d5e_daemon.errors import NotFound
from d5e_daemon.features.lookup import lookup
from d5e_daemon.features.packs import validate
from d5e_daemon.features.search import search
from d5e_daemon.protocol import LookupParams, SearchParams, ValidateParams

S = "Realworld"


def test_a_spell_whose_range_is_an_area_names_it_once(app: App, tmp_path: Path) -> None:
    def spell(name: str, rng: dict[str, object]) -> dict[str, object]:
        return {
            "name": name, "source": S, "level": 0, "school": "V",
            "time": [{"number": 1, "unit": "action"}], "range": rng,
            "components": {"s": True}, "duration": [{"type": "instant"}],
            "entries": ["Heat pours out of you."],
        }  # fmt: skip

    feet = {"type": "feet", "amount": 10}
    doc = {
        "spell": [
            spell("Kiln Breath", {"type": "radius", "distance": feet}),
            spell("Kiln Fan", {"type": "cone", "distance": {"type": "feet", "amount": 15}}),
            spell("Kiln Dome", {"type": "hemisphere", "distance": feet}),
            spell("Kiln Toss", {"type": "point", "distance": {"type": "feet", "amount": 60}}),
        ]
    }
    install(app, write(tmp_path, S, doc))
    breath = card(app, "realworld:spells/kiln-breath")
    assert "**Range:** Self (10-foot radius)  \n" in breath
    assert breath.count("10-foot") == 1
    assert "**Range:** Self (15-foot cone)  \n" in card(app, "realworld:spells/kiln-fan")
    assert "**Range:** Self (10-foot-radius hemisphere)  \n" in card(
        app, "realworld:spells/kiln-dome"
    )
    assert "**Range:** 60 feet  \n" in card(app, "realworld:spells/kiln-toss")


def test_ability_choices_and_proficiencies_read_as_words(app: App, tmp_path: Path) -> None:
    every = ["str", "dex", "con", "int", "wis", "cha"]
    doc = {
        "language": [{"name": "Cinder Cant", "source": S, "type": "exotic", "entries": ["Ash."]}],
        "race": [
            {
                "name": "Cinderkin", "source": S, "size": ["M"], "darkvision": 60,
                "speed": {"walk": 30, "fly": {"number": 20, "condition": "(hover)"}},
                "soundClip": {"type": "internal", "path": "race/cinderkin.opus"},
                "ability": [{"choose": {"from": every, "count": 2}}],
                "languageProficiencies": [
                    {"common": True, "anyStandard": 1, "cinder cant|realworld": True}
                ],
                "skillProficiencies": [{"history": True, "survival": True}],
                "toolProficiencies": [
                    {"choose": {"from": ["anyArtisansTool", "herbalism kit"], "count": 1}}
                ],
                "armorProficiencies": [{"light": True, "medium": True}],
                "weaponProficiencies": [{"martial": True}],
                "entries": [{"type": "entries", "name": "Ember", "entries": ["Warm."]}],
            },
            {
                "name": "Ashborn", "source": S, "size": ["S"], "speed": 25,
                "heightAndWeight": {"baseHeight": 54, "heightMod": "2d6", "baseWeight": 200,
                                    "weightMod": "2d4"},
                "ability": [
                    {"con": 2, "choose": {"from": ["str", "wis"], "count": 1}},
                    {"choose": {"weighted": {"from": every, "weights": [2, 1]}}},
                ],
                "skillToolLanguageProficiencies": [{"any": 2}],
                "entries": ["Small and smouldering."],
            },
        ],
    }  # fmt: skip
    install(app, write(tmp_path, S, doc))
    kin = card(app, "realworld:races/cinderkin")
    lines = [line.rstrip() for line in kin.splitlines()]
    assert "**Ability:** +1 to two abilities of your choice" in lines
    assert (
        # the choice after the names, as 5etools says it (twenty-third session)
        "**Language proficiencies:** Common, Cinder Cant, one other standard language of your "
        "choice" in lines
    )
    assert "**Skill proficiencies:** History, Survival" in lines
    tools = "one of any artisan's tool or Herbalism Kit (your choice)"
    assert f"**Tool proficiencies:** {tools}" in lines
    assert "**Armor proficiencies:** Light, Medium" in lines
    assert "**Weapon proficiencies:** Martial" in lines
    assert "**Speed:** 30 ft., fly 20 ft. (hover)" in lines
    assert "**Darkvision:** 60 ft." in lines
    assert not [line for line in lines if "clip" in line.lower()]  # an audio file: not shown
    for raw in ("yes", "|realworld", "Choose", "Any standard", "None"):
        assert raw not in kin, raw
    ash = [line.rstrip() for line in card(app, "realworld:races/ashborn").splitlines()]
    assert (
        "**Ability:** Constitution +2, +1 to Strength or Wisdom; or +2 and +1 to two abilities "
        "of your choice" in ash
    )
    assert (
        "**Skill tool language proficiencies:** two skills, tools or languages of your choice"
        in ash
    )
    assert "**Speed:** 25 ft." in ash
    assert (
        "**Height and weight:** height 4 ft. 6 in. + 2d6 in.; weight 200 lb. + (2d6 × 2d4) lb."
        in ash
    )


def test_a_books_data_of_one_section_under_another_id(attributed: App, tmp_path: Path) -> None:
    # `data` one section object (not an array), its `id` the source's, the book's another
    app = attributed  # the SRD's filter attributes made (its first search made them: ~1 s)
    doc = {
        "book": [{"name": "Quiver Games", "id": "QG", "source": S, "contents": [{"name": "G"}]}],
        "bookData": [
            {
                "id": S, "source": S,
                "data": {
                    "type": "section", "name": "Games",
                    "entries": [
                        "Contests of the bow.",
                        {"type": "section", "name": "Scoring", "entries": ["Beat the AC by 4."]},
                    ],
                },
            }
        ],
    }  # fmt: skip
    install(app, write(tmp_path, S, doc))
    games = card(app, "realworld:books/quiver-games-01-games")
    assert "Contests of the bow." in games
    assert "Beat the AC by 4." in games
    # the search snippet holds the words, not the card's Markdown (its `**` are the matches)
    query = SearchParams(query="bow contests scoring", mode="keyword", limit=3)
    (hit,) = [h for h in search(app, query).hits if h.name == "Games"]
    assert "**" in hit.snippet
    for markup in ("#", "**Type:**", "***"):
        assert markup not in hit.snippet, (markup, hit.snippet)
    # data of neither shape is a located error, not sections silently left out
    bad = write(
        tmp_path, "Realworld2", {"bookData": [{"id": "x", "source": "Realworld2", "data": "Games"}]}
    )
    report = asyncio.run(validate(app, ValidateParams(path=str(bad))))
    (problem,) = [p for p in report.problems if p.severity == "error"]
    assert problem.message == "`data` must be an array or an object, not a string"
    assert problem.field == "bookData[0].data"


def test_names_with_letters_unicode_does_not_take_apart(app: App, tmp_path: Path) -> None:
    doc = {
        "item": [
            {"name": "Ætherfang Blade", "source": S, "type": "M", "rarity": "rare",
             "weapon": True, "weaponCategory": "martial", "dmg1": "1d8", "dmgType": "S",
             "entries": ["Forged in Ank’Harel."]},
        ]
    }  # fmt: skip
    install(app, write(tmp_path, S, doc))
    # its ref spells the letter out, and typed either way the name finds it
    assert "Forged in Ank’Harel." in card(app, "realworld:magic-items/aetherfang-blade")
    for typed in ("Aetherfang Blade", "Ætherfang Blade", "aetherfang blade"):
        found = lookup(app, LookupParams(name=typed)).entry
        assert found.qualified_ref == "realworld:magic-items/aetherfang-blade", typed


def test_a_lookup_in_a_pack_named_by_its_files_source(app: App, tmp_path: Path) -> None:
    src = "wiki_rabbit"  # the pack's id is a slug of it
    doc = {"deity": [{"name": "Hopwen", "source": src, "pantheon": "Warren", "entries": ["Hop."]}]}
    result = install(app, write(tmp_path, src, doc))
    assert result.pack == "wiki-rabbit"
    for pack in ("wiki-rabbit", "wiki_rabbit", "Wiki_Rabbit"):
        found = lookup(app, LookupParams(name="Hopwen", pack=pack)).entry
        assert found.qualified_ref == "wiki-rabbit:deities/hopwen", pack
    with pytest.raises(NotFound, match="no pack 'wiki_rabbits' is installed"):
        lookup(app, LookupParams(name="Hopwen", pack="wiki_rabbits"))


def test_a_pact_or_patron_prerequisite_reads_as_written(app: App, tmp_path: Path) -> None:
    level = {"level": {"level": 5, "class": {"name": "Warlock"}}}
    doc = {
        "optionalfeature": [
            {"name": "Talon Grip", "source": S, "featureType": ["EI"],
             "prerequisite": [{"pact": "Pact of the Talon", **level}], "entries": ["Grip."]},
            {"name": "Chain Grip", "source": S, "featureType": ["EI"],
             "prerequisite": [{"pact": "Chain", "patron": "The Fiend"}], "entries": ["Grip."]},
        ]
    }  # fmt: skip
    install(app, write(tmp_path, S, doc))
    talon = card(app, "realworld:optional-features/talon-grip").splitlines()
    assert "**Prerequisite:** Pact of the Talon, Warlock level 5" in [x.rstrip() for x in talon]
    chain = card(app, "realworld:optional-features/chain-grip").splitlines()
    assert "**Prerequisite:** Pact of the Chain, The Fiend patron" in [x.rstrip() for x in chain]
