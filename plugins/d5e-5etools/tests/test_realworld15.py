"""Shapes found in real homebrew files nobody here wrote (fifteenth session:
TheGiddyLimit/homebrew's Exquisite Exandria, Obojima 2024, Monster Manual Expanded 2024, the
MPMM 5.5e Update, Watchers (Bees), Path of the Honey Badger, Conflux's Zombies…), each in a
small file of our own."""

from __future__ import annotations

from pathlib import Path

from fivetools_files import card, install, write

from d5e_daemon.app import App

S = "Realworld"


def test_fluff_named_by_reference_is_on_the_card(app: App, tmp_path: Path) -> None:
    """Exquisite Exandria's recipes name their fluff (`"fluff": {"_recipeFluff": {…}}`), often
    another dish's ("Sun Treats" tell the story of "Slayer's Cake"), and a fluff entry may copy
    another's: the story was on no card; 5etools shows it (`Renderer.utils.pGetFluff`)."""
    image = {"type": "image", "href": {"type": "external", "url": "https://example.com/a.webp"}}
    doc = {
        "recipe": [
            {"name": "Sun Treats", "source": S, "type": "Tal'Dorei",
             "ingredients": ["flour"], "instructions": ["Bake."],
             "fluff": {"_recipeFluff": {"name": "Slayer's Cake", "source": S}}},
            {"name": "Bear Claws", "source": S, "ingredients": ["nuts"],
             "instructions": ["Fold."],
             "fluff": {"entries": ["Its own words."],
                       "_appendRecipeFluff": {"name": "Bear Claws"}}},
        ],
        "recipeFluff": [
            {"name": "Slayer's Cake", "source": S,
             "entries": ["The heroes of Vox Machina opened a bakery."], "images": [image]},
            {"name": "Bear Claws", "source": S,
             "_copy": {"name": "Slayer's Cake", "source": S,
                       "_mod": {"entries": {"mode": "appendArr", "items": "With cinnamon."}}}},
        ],
    }  # fmt: skip
    install(app, write(tmp_path, S, doc, internalCopies=["recipeFluff"]))
    treats = card(app, "realworld:recipes/sun-treats")
    assert "The heroes of Vox Machina opened a bakery." in treats
    claws = card(app, "realworld:recipes/bear-claws")
    # its own fluff, then the one it appends (a copy of another, resolved)
    assert (
        claws.index("Its own words.")
        < claws.index("opened a bakery")
        < claws.index("With cinnamon.")
    )


def test_a_character_option_names_its_type(app: App, tmp_path: Path) -> None:
    """Watchers (Bees) is a Dark Gift (`"optionType": ["DG"]`): its card read `Option type: DG`;
    5etools names the code (`Parser.charCreationOptionTypeToFull`), and a file's own codes are
    named by its `_meta.charOption`."""
    doc = {
        "charoption": [
            {"name": "Watchers", "source": S, "optionType": ["DG"], "entries": ["Bees."]},
            {"name": "Oath Mark", "source": S, "optionType": ["OM"], "entries": ["A mark."]},
        ]
    }
    install(app, write(tmp_path, S, doc, charOption={"OM": "Oath Mark"}))
    watchers = card(app, "realworld:character-options/watchers")
    assert "**Option type:** Dark Gift" in watchers and "DG" not in watchers
    assert "**Option type:** Oath Mark" in card(app, "realworld:character-options/oath-mark")


def test_a_token_image_is_not_listed_on_the_card(app: App, tmp_path: Path) -> None:
    """Monster Manual Expanded (2024) gives its creatures' tokens as `tokenHref` (the newer
    form of `tokenUrl`): the card listed `Token href: type external, url https://…`; a token
    is the VTT's picture, not the creature's text."""
    href = {"type": "external", "url": "https://example.com/token.webp"}
    doc = {
        "monster": [
            {"name": "Talon", "source": S, "size": ["M"], "type": "elemental",
             "ac": [15], "hp": {"average": 10, "formula": "3d8"}, "speed": {"walk": 20},
             "str": 10, "dex": 20, "con": 14, "int": 14, "wis": 19, "cha": 15, "cr": "1",
             "tokenHref": href, "tokenCredit": "Someone"},
        ],
        "race": [{"name": "Dara", "source": S, "size": ["M"], "speed": 30,
                  "token": {"name": "Dara", "source": S}, "entries": ["Awake."]}],
    }  # fmt: skip
    install(app, write(tmp_path, S, doc))
    for ref in ("realworld:monsters/talon", "realworld:races/dara"):
        shown = card(app, ref)
        assert "token" not in shown.lower() and "example.com" not in shown


def test_a_recipe_card_says_its_times_and_diet_in_words(app: App, tmp_path: Path) -> None:
    """Exquisite Exandria's Shadowshire Soup: `"time": {"preparation": 25, "cooking": 80}` and
    `"diet": "C"` read `Time: Preparation 25, Cooking 80` and `Diet: C`; 5etools shows the
    minutes as `1 hour 20 minutes` and its filter names the diet."""
    doc = {
        "recipe": [
            {"name": "Shadowshire Soup", "source": S, "type": "Wildemount", "diet": "C",
             "time": {"preparation": 25, "cooking": 80, "total": {"min": 90, "max": 120}},
             "serves": {"exact": 6}, "ingredients": ["beets"], "instructions": ["Simmer."]},
        ]
    }  # fmt: skip
    install(app, write(tmp_path, S, doc))
    soup = card(app, "realworld:recipes/shadowshire-soup")
    assert "**Total time:** 1 hour 30 minutes to 2 hours" in soup
    assert "**Preparation time:** 25 minutes" in soup
    assert "**Cooking time:** 1 hour 20 minutes" in soup
    assert soup.index("Total time") < soup.index("Preparation time")
    assert "**Diet:** Vegetarian" in soup and "Cooking 80" not in soup


def test_a_2024_species_card_reads_its_size_words_and_edition(app: App, tmp_path: Path) -> None:
    """Obojima 2024's Dara: `"sizeEntry"` (the species' words for its size) was a section of
    its own at the card's end beside `Size: Small or Medium`, and `"edition": "one"` read
    `Edition: one`: 5etools shows the words as the size; the edition is 5etools' name for 2024."""
    words = "Medium (blue, about 6-7 feet tall) or Small (red), chosen when you select this species"
    doc = {
        "race": [
            {"name": "Dara", "source": S, "edition": "one", "size": ["S", "M"], "speed": 30,
             "sizeEntry": {"type": "item", "name": "Size:", "entries": [words]},
             "entries": [{"type": "entries", "name": "Awakened Skills", "entries": ["Three."]}]},
        ]
    }  # fmt: skip
    install(app, write(tmp_path, S, doc, edition="one"))
    dara = card(app, "realworld:races/dara")
    assert f"**Size:** {words}" in dara and dara.count("6-7 feet") == 1
    assert "Size entry" not in dara and "Small or Medium" not in dara
    assert "**Edition:** 2024" in dara


def test_a_challenge_that_is_no_number_is_still_on_the_card(app: App, tmp_path: Path) -> None:
    """Conflux's Zombies gives its minion Plague Zombie `"cr": "M5"`: the card had no
    Challenge line at all (the value is not a number d5e can file or filter); 5etools shows
    it as written."""
    doc = {
        "monster": [
            {"name": "Plague Zombie", "source": S, "size": ["M"], "type": "undead",
             "ac": [8], "hp": {"average": 19, "formula": "3d8 + 6"}, "speed": {"walk": 20},
             "str": 13, "dex": 6, "con": 15, "int": 3, "wis": 6, "cha": 5, "cr": "M5"},
        ]
    }  # fmt: skip
    install(app, write(tmp_path, S, doc))
    assert "**Challenge:** M5" in card(app, "realworld:monsters/plague-zombie")


def test_an_item_prerequisite_names_the_items(app: App, tmp_path: Path) -> None:
    """Tasha's Crucible of Everything Else 2's infusions need an item (`"item": ["a suit of
    armor (requires attunement)"]`): the card read `Prerequisite: …, Item a suit of armor…`;
    5etools lists the items (one or another)."""
    doc = {
        "optionalfeature": [
            {"name": "Armor of Emergencies", "source": S, "featureType": ["AI"],
             "prerequisite": [{"level": {"level": 6, "class": {"name": "Artificer"}},
                               "item": ["a suit of armor", "a shield"]}],
             "entries": ["A spell waits."]},
        ]
    }  # fmt: skip
    install(app, write(tmp_path, S, doc))
    shown = card(app, "realworld:optional-features/armor-of-emergencies")
    assert "Artificer level 6, a suit of armor or a shield" in shown and "Item" not in shown


def test_a_2024_class_card_reads_as_its_5etools_page(app: App, tmp_path: Path) -> None:
    """The Pugilist (2024): `primaryAbility` read `Primary ability: Str yes`, `proficiency`
    `Proficiency: Strength, Constitution`, the VTT's `foundryAdvancement` and `foundryImg`
    were listed (`Foundry img: https://…`), `featProgression` (the builder's) was a line, and
    the starting equipment's words were shown twice (the line and a section at the end)."""
    doc = {
        "class": [
            {"name": "Pugilist", "source": S, "primaryAbility": [{"str": True}, {"dex": True}],
             "hd": {"number": 1, "faces": 10}, "proficiency": ["str", "con"],
             "featProgression": [{"name": "Epic Boon", "category": ["EB"],
                                  "progression": {"19": 1}}],
             "startingEquipment": {"additionalFromBackground": True,
                                   "defaultData": [{"A": [{"value": 3100}],
                                                    "B": [{"value": 5000}]}],
                                   "entries": ["{@i Choose A or B:} (A) 31 GP; or (B) 50 GP"]},
             "classTableGroups": [{"colLabels": ["Fisticuffs"], "rows": [
                 [{"type": "dice", "toRoll": [{"number": 1, "faces": 8}], "rollable": True}]]}],
             "classFeatures": ["Fisticuffs|Pugilist|Realworld|1"],
             "foundryAdvancement": [{"type": "ScaleValue", "title": "Fisticuffs Die"}],
             "foundryImg": "https://example.com/pugilist.webp"},
        ],
        "classFeature": [{"name": "Fisticuffs", "source": S, "className": "Pugilist",
                          "classSource": S, "level": 1, "entries": ["Punch."]}],
    }  # fmt: skip
    install(app, write(tmp_path, S, doc, edition="one"))
    shown = card(app, "realworld:classes/pugilist")
    assert "**Primary ability:** Strength or Dexterity" in shown
    assert "**Saving throw proficiencies:** Strength, Constitution" in shown
    assert "foundry" not in shown.lower() and "example.com" not in shown
    assert "Feat progression" not in shown
    assert shown.count("31 GP") == 1
    assert "1d8" in shown  # the table's dice cell


def test_a_subclass_spell_list_names_the_spells_or_the_class_list(app: App, tmp_path: Path) -> None:
    """The Pugilist's Hand of Dread takes the Warlock's list (`"subclassSpells": [{"className":
    "Warlock", "classSource": "XPHB"}]`): the card read `Class name Warlock, Class source
    XPHB`; 5etools adds the class's list (and named spells) to the subclass's."""
    doc = {
        "subclass": [
            {"name": "Hand of Dread", "shortName": "Dread", "source": S, "className": "Fighter",
             "classSource": "PHB",
             "subclassSpells": [{"className": "Warlock", "classSource": "XPHB"}, "fireball|phb"],
             "subclassFeatures": []},
        ]
    }  # fmt: skip
    install(app, write(tmp_path, S, doc))
    shown = card(app, "realworld:subclasses/fighter-hand-of-dread")
    assert "Class name" not in shown
    fireball = "[fireball](d5e://srd-2014/spells/fireball.md)"
    assert f"**Subclass spells:** the Warlock spell list, {fireball}" in shown


def test_an_armor_class_condition_keeps_its_own_words(app: App, tmp_path: Path) -> None:
    """DMDave's War Mage: `{"ac": 15, "condition": "with {@spell mage armor}"}` read
    `Armor Class: 12, 15 while with mage armor` (the card put "while" before any condition);
    5etools prints the condition as written."""
    doc = {
        "monster": [
            {"name": "War Mage", "source": S, "size": ["M"], "type": "humanoid",
             "ac": [12, {"ac": 15, "condition": "with {@spell mage armor}", "braces": True},
                    {"ac": 16, "condition": "while raging"}, {"ac": 17, "condition": "flying"}],
             "hp": {"average": 49, "formula": "9d8 + 9"}, "speed": {"walk": 30},
             "str": 9, "dex": 14, "con": 12, "int": 17, "wis": 11, "cha": 11, "cr": "6"},
        ]
    }  # fmt: skip
    install(app, write(tmp_path, S, doc))
    shown = card(app, "realworld:monsters/war-mage")
    # (its `braces` bracket the second since the seventeenth session, as 5etools does)
    expected = "12 (15 with mage armor), 16 while raging, 17 while flying"
    assert f"**Armor Class:** {expected}" in shown


def test_a_creature_short_name_is_not_listed(app: App, tmp_path: Path) -> None:
    """DMDave's NPCs and Barovian Vampires give `shortName` (what the text calls the creature,
    read by `_copy`'s `<$short_name$>`): the card ended with `Short name: High Priest/Priestess`;
    5etools does not show it."""
    doc = {
        "monster": [
            {"name": "High Priest", "shortName": "priest", "source": S, "size": ["M"],
             "type": "humanoid", "ac": [15], "hp": {"average": 99, "formula": "18d8 + 18"},
             "speed": {"walk": 25}, "str": 10, "dex": 10, "con": 12, "int": 14, "wis": 18,
             "cha": 15, "cr": "6"},
        ]
    }  # fmt: skip
    install(app, write(tmp_path, S, doc))
    assert "Short name" not in card(app, "realworld:monsters/high-priest")


def test_an_adventure_card_leaves_out_its_shelf(app: App, tmp_path: Path) -> None:
    """The Barber of Silverymoon and Exquisite Exandria say `"group": "homebrew"` (the shelf
    of 5etools' list of adventures or books): the card read `Group: homebrew`."""
    doc = {
        "adventure": [{"name": "The Barber", "id": "BOS", "source": S, "group": "homebrew",
                       "contents": [{"name": "Introduction"}], "level": {"start": 4, "end": 6},
                       "storyline": "Dragon+"}],
        "adventureData": [{"id": "BOS", "source": S, "data": [
            {"type": "section", "name": "Introduction", "entries": ["Haircuts."]}]}],
    }  # fmt: skip
    install(app, write(tmp_path, S, doc))
    shown = card(app, "realworld:adventures/the-barber")
    assert "Group" not in shown and "**Storyline:** Dragon+" in shown


def test_a_2024_creature_says_its_initiative_beside_its_armor_class(
    app: App, tmp_path: Path
) -> None:
    """Monster Manual Expanded (2024)'s Aarakocra Talon (`"initiative": {"proficiency": 1}`,
    Dex 20, CR 7) and Obojima's Seaweed Elemental (`{"initiative": 4}`): the card ended with
    `Initiative: +8`, after the actions; a 2024 stat block (5etools') says `Initiative +8 (18)`
    under Armor Class, the passive initiative in brackets (±5 with advantage or disadvantage)."""

    def creature(name: str, initiative: object) -> dict[str, object]:
        return {"name": name, "source": S, "size": ["M"], "type": "elemental", "ac": [15],
                "hp": {"average": 104, "formula": "16d8 + 32"}, "speed": {"walk": 20},
                "initiative": initiative, "str": 10, "dex": 20, "con": 14, "int": 14,
                "wis": 19, "cha": 15, "cr": "7",
                "action": [{"name": "Gust", "entries": ["Wind."]}]}  # fmt: skip

    doc = {
        "monster": [
            creature("Talon", {"proficiency": 1}),
            creature("Seaweed", {"initiative": 4}),
            creature("Swift", {"proficiency": 2, "advantageMode": "adv"}),
        ]
    }
    install(app, write(tmp_path, S, doc, edition="one"))
    talon = card(app, "realworld:monsters/talon")
    assert "**Armor Class:** 15  \n**Initiative:** +8 (18)  \n**Hit Points:**" in talon
    assert talon.count("Initiative") == 1
    assert "**Initiative:** +4 (14)" in card(app, "realworld:monsters/seaweed")
    assert "**Initiative:** +11 (26)" in card(app, "realworld:monsters/swift")


def test_the_feats_a_2024_background_grants_read_as_words(app: App, tmp_path: Path) -> None:
    """alterNERDtive's 2024 Custom Background grants `"feats": [{"anyFromCategory":
    {"category": ["O"], "count": 1}}]`: the card read `Feats: Any from category Category O,
    Count 1`."""
    doc = {
        "background": [
            {"name": "Custom Background", "source": S, "edition": "one",
             "feats": [{"anyFromCategory": {"category": ["O"], "count": 1}}],
             "entries": ["Choose."]},
            {"name": "Sage", "source": S, "feats": [{"alert|xphb": True}, {"any": 2}],
             "entries": ["Read."]},
        ]
    }  # fmt: skip
    install(app, write(tmp_path, S, doc, edition="one"))
    custom = card(app, "realworld:backgrounds/custom-background")
    assert "**Feats:** one Origin feat of your choice" in custom and "Count" not in custom
    sage = card(app, "realworld:backgrounds/sage")
    assert "**Feats:** alert; or two feats of your choice" in sage


def test_an_older_feat_s_ability_and_race_prerequisite_read_as_5etools_shows_them(
    app: App, tmp_path: Path
) -> None:
    """D&D Beyond's Expanded Racial Feats (an older file) give `ability` as one object
    (`{"choose": [{"from": ["dex", "wis"], "amount": 1}]}`, `{"dex": 1}`) and races in lower case
    (`"genasi (air)  "`): the card read `Ability: Choose From dex, wis, Amount 1`, `Ability: Dex 1`
    and `Prerequisite: genasi (air)`; 5etools shows `+1 to Dexterity or Wisdom` and `Genasi
    (Air)`."""
    doc = {
        "feat": [
            {"name": "Sky Warden", "source": S, "prerequisite": [{"race": [{"name": "aarakocra"}]}],
             "ability": {"choose": [{"from": ["dex", "wis"], "amount": 1}]},
             "entries": ["Dive."]},
            {"name": "Djinn Heritage", "source": S,
             "prerequisite": [{"race": [{"name": "genasi (air)  "},
                                        {"name": "dwarf", "subrace": "hill"}]}],
             "ability": {"dex": 1}, "entries": ["Wind."]},
        ]
    }  # fmt: skip
    install(app, write(tmp_path, S, doc))
    sky = card(app, "realworld:feats/sky-warden")
    assert "**Prerequisite:** Aarakocra" in sky
    assert "**Ability:** +1 to Dexterity or Wisdom" in sky
    djinn = card(app, "realworld:feats/djinn-heritage")
    assert "**Prerequisite:** Genasi (Air) or Dwarf (hill)" in djinn
    assert "**Ability:** Dexterity +1" in djinn


def test_a_list_in_a_table_cell_reads_as_its_items(app: App, tmp_path: Path) -> None:
    """KibblesTasty's Summon Dragon lists one creature a line in a table cell (a `list-no-bullets`
    list): the cell read `- dragon spirit black (5th-Level Spell) - dragon spirit blue …`, the
    bullets run together on the cell's one line."""
    cell = {"type": "list", "style": "list-no-bullets",
            "items": ["{@creature Black Spirit|Realworld}", "Blue Spirit | big"]}  # fmt: skip
    doc = {
        "table": [
            {"name": "Spirits", "source": S, "colLabels": ["Spell Level", "Creature"],
             "rows": [["5th", cell]]},
        ],
        "monster": [
            {"name": "Black Spirit", "source": S, "size": ["L"], "type": "dragon", "ac": [17],
             "hp": {"special": "50"}, "speed": {"walk": 30}, "str": 18, "dex": 10, "con": 18,
             "int": 14, "wis": 16, "cha": 18, "cr": "0"},
        ],
    }  # fmt: skip
    install(app, write(tmp_path, S, doc))
    shown = card(app, "realworld:tables/spirits")
    black = "[Black Spirit](d5e://realworld/monsters/black-spirit.md)"
    assert f"| 5th | {black}; Blue Spirit \\| big |" in shown


def test_skills_of_which_one_applies_are_on_the_skills_line(app: App, tmp_path: Path) -> None:
    """The MPMM 5.5e Update's Adult Oblex: `"skill": {…, "other": [{"oneOf": {"arcana": "+7",
    …}}]}` read `Skills, also: one of Arcana +7, …` at the card's end; 5etools writes it on the
    Skills line, `plus one of the following: Arcana +7, History +7 or Nature +7`."""
    doc = {
        "monster": [
            {"name": "Adult Oblex", "source": S, "size": ["M"], "type": "ooze", "ac": [14],
             "hp": {"average": 75, "formula": "10d8 + 30"}, "speed": {"walk": 20},
             "str": 8, "dex": 19, "con": 16, "int": 19, "wis": 12, "cha": 15, "cr": "5",
             "save": {"int": "+7", "special": "+2 against charm"},
             "skill": {"deception": "+5", "other": [{"oneOf": {"nature": "+7", "arcana": "+7",
                                                              "history": "+7"}}]}},
        ]
    }  # fmt: skip
    install(app, write(tmp_path, S, doc))
    shown = card(app, "realworld:monsters/adult-oblex")
    expected = "Deception +5, plus one of the following: Arcana +7, History +7 or Nature +7"
    assert f"**Skills:** {expected}" in shown
    assert "**Saving Throws:** Int +7, +2 against charm" in shown
    assert "also" not in shown.split("---")[0].lower()
