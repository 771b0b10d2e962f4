"""Shapes found in real homebrew files nobody here wrote (seventeenth session: TheGiddyLimit/
homebrew's Raiders of the Serpent Sea, Book of Challenges, Kingdoms & Warfare, Stibbles Codex of
Companions…), each in a small file of our own."""

from __future__ import annotations

from pathlib import Path

from fivetools_files import card, install, write

from d5e_daemon import queries
from d5e_daemon.app import App

S = "Realworld"


def test_a_subclass_table_of_its_own_spells_and_slots(app: App, tmp_path: Path) -> None:
    """Raiders of the Serpent Sea's True Believer (a rogue that casts, as the Arcane Trickster)
    writes its cantrips, spells known and slots in `subclassTableGroups`: the card listed them
    as one line of numbers (`Subclass table groups: Subclasses True Believer, Col labels
    Cantrips Known, …, Rows 0, 0, 0, 0, 3, 3, …`) beside `Cantrip progression: 0, 0, 3, …`;
    5etools adds those columns to the class's table: a table by level."""
    spells = [0, 0, 2, 3, 3, 3, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4]
    doc = {
        "subclass": [
            {"name": "Believer", "shortName": "Believer", "source": S, "className": "Rogue",
             "classSource": "PHB", "spellcastingAbility": "int", "casterProgression": "1/3",
             "cantripProgression": [0, 0] + [3] * 18,
             "subclassTableGroups": [
                 {"subclasses": [{"name": "Believer", "source": S}],
                  "colLabels": ["{@filter Cantrips Known|spells|level=0|subclass=Rogue: Believer}"],
                  "rows": [[0], [0]] + [[3]] * 18},
                 {"title": "Spell Slots per Spell Level",
                  "subclasses": [{"name": "Believer", "source": S}],
                  "colLabels": ["{@filter 1st|spells|level=1|subclass=Rogue: Believer}",
                                "{@filter 2nd|spells|level=2|subclass=Rogue: Believer}"],
                  "rowsSpellProgression": [[n, 2 if i >= 6 else 0] for i, n in enumerate(spells)]},
             ],
             "subclassFeatures": ["Believer|Rogue||Believer|Realworld|3"]},
        ],
        "subclassFeature": [
            {"name": "Believer", "source": S, "className": "Rogue", "classSource": "PHB",
             "subclassShortName": "Believer", "subclassSource": S, "level": 3,
             "entries": ["You believe, truly."]},
        ],
    }  # fmt: skip
    install(app, write(tmp_path, S, doc))
    text = card(app, "realworld:subclasses/rogue-believer")
    assert "*Spell Slots per Spell Level*: 1st, 2nd" in text
    assert "| Level | Cantrips Known | 1st | 2nd |" in text
    assert "| 1 | 0 | — | — |" in text and "| 7 | 3 | 4 | 2 |" in text
    assert text.index("| 20 | 3 | 4 | 2 |") < text.index("You believe, truly.")
    assert "Subclass table groups" not in text and "Cantrip progression" not in text
    assert "Spellcasting ability:** Intelligence" in text


def test_a_creatures_traits_in_their_sort_order(app: App, tmp_path: Path) -> None:
    """Stibbles Codex of Companions numbers its companions' facts (`"sort": 1` Rarity, 2
    Environment…) and writes them among other traits out of that order: the card showed them
    as written (Rarity, Taming Difficulty, Regeneration, Environment); 5etools orders traits
    with a `sort` first, by it (`SortUtil.monTraitSort`)."""
    doc = {
        "monster": [
            {"name": "Axolotl", "source": S, "size": ["T"], "type": "beast", "alignment": ["U"],
             "ac": [11], "hp": {"average": 11, "formula": "2d4 + 6"}, "speed": {"walk": 5},
             "str": 4, "dex": 13, "con": 16, "int": 3, "wis": 12, "cha": 8, "cr": "0",
             "trait": [{"name": "Rarity", "sort": 1, "entries": ["Rare"]},
                       {"name": "Taming Difficulty", "sort": 4, "entries": ["Easy"]},
                       {"name": "Regeneration", "entries": ["The axolotl regains hit points."]},
                       {"name": "Environment", "sort": 2, "entries": ["Coastal, Lake"]}],
             "spellcasting": [{"name": "Innate Spellcasting", "headerEntries": ["It casts:"],
                               "will": ["{@spell light}"], "ability": "wis", "sort": 3}]},
        ]
    }  # fmt: skip
    install(app, write(tmp_path, S, doc))
    text = card(app, "realworld:monsters/axolotl")
    order = ["Rarity.", "Environment.", "Innate Spellcasting.", "Taming Difficulty.", "Regen"]
    places = [text.index(f"***{name}") for name in order]
    assert places == sorted(places), text


def test_a_books_cover_is_its_picture(app: App, tmp_path: Path) -> None:
    """Book of Challenges' `"cover": {"type": "external", "url": …}`: the book's card read
    `Cover: Type external, Url https://…`; 5etools shows the picture (`getCoverUrl`), as does
    an older `coverUrl` that is an address."""
    doc = {
        "book": [{"name": "Challenges", "id": "BOC", "source": S,
                  "cover": {"type": "external", "url": "https://example.com/cover.webp"},
                  "contents": [{"name": "One"}]}],
        "bookData": [{"id": "BOC", "source": S,
                      "data": [{"type": "section", "name": "One", "entries": ["Text."]}]}],
        "adventure": [{"name": "Delve", "id": "DLV", "source": S,
                       "coverUrl": "https://example.com/delve.png", "contents": [{"name": "Go"}]}],
        "adventureData": [{"id": "DLV", "source": S,
                           "data": [{"type": "section", "name": "Go", "entries": ["Went."]}]}],
    }  # fmt: skip
    install(app, write(tmp_path, S, doc))
    book = card(app, "realworld:books/challenges")
    assert "**Cover:** ![Cover](https://example.com/cover.webp)" in book
    assert "Type external" not in book and "Url " not in book
    delve = card(app, "realworld:adventures/delve")
    assert "**Cover:** ![Cover](https://example.com/delve.png)" in delve


def _section(app: App, tmp_path: Path, entries: list[object]) -> str:
    doc = {
        "book": [{"name": "Rules", "id": "RLS", "source": S, "contents": [{"name": "One"}]}],
        "bookData": [{"id": "RLS", "source": S,
                      "data": [{"type": "section", "name": "One", "entries": entries}]}],
    }  # fmt: skip
    install(app, write(tmp_path, S, doc))
    return card(app, "realworld:books/rules-01-one")


def test_a_homebrew_entry_says_what_it_replaced_moved_or_deleted(app: App, tmp_path: Path) -> None:
    """Book of Challenges marks its conversions with `homebrew` entries; 5etools' schema gives
    them `oldEntries` (the text replaced) and `movedTo`: the card showed the new text only,
    and nothing for a moved or deleted one; 5etools' `_renderHomebrew` shows the old text
    (replaced, moved or removed content), `This content has been moved to …` or `… deleted`."""
    text = _section(app, tmp_path, [
        {"type": "homebrew", "entries": ["Fire spells need a DC 15 Arcana check."],
         "oldEntries": ["Fire spells need a Spellcraft check (DC 15 + spell level)."]},
        {"type": "homebrew", "movedTo": "Combat Adjustments for Water",
         "oldEntries": ["Water affects Armor Class."]},
        {"type": "homebrew"},
        {"type": "homebrew", "entries": [{"name": "Homebrew", "type": "entries",
                                          "entries": ["This content was converted."]}]},
    ])  # fmt: skip
    assert "Fire spells need a DC 15 Arcana check." in text
    assert "> **Replaced content**\n>\n> Fire spells need a Spellcraft check" in text
    assert "*This content has been moved to Combat Adjustments for Water.*" in text
    assert "> **Moved content**\n>\n> Water affects Armor Class." in text
    assert "*This content has been deleted.*" in text
    assert "***Homebrew.*** This content was converted." in text


def test_a_list_without_bullets(app: App, tmp_path: Path) -> None:
    """Kingdoms & Warfare lists a domain's skills and defenses in a `list-no-bullets` list
    (`Skills`, `{@b Diplomacy:} -1`, …, `Defenses`, …): the card drew bullets before each,
    headings included; 5etools draws the lines without them."""
    text = _section(app, tmp_path, [
        {"type": "list", "style": "list-no-bullets", "columns": 2, "name": "Domain",
         "items": ["Skills", "{@b Diplomacy:} -1", "Defenses", "{@b Resolve:} 12"]},
        {"type": "list", "style": "list-no-bullets",
         "items": [{"type": "entries", "entries": ["One.", "Two."]}, "Three."]},
    ])  # fmt: skip
    assert "**Domain**\n\nSkills  \n**Diplomacy:** -1  \nDefenses  \n**Resolve:** 12" in text
    assert "- Skills" not in text
    # an item of several paragraphs: bullets kept, its paragraphs on lines of their own (a hard
    # break; `\n` alone ran them together in Markdown: realworld22)
    assert "- One.  \n  Two.\n- Three." in text


def test_a_table_entrys_own_type_is_not_listed(app: App, tmp_path: Path) -> None:
    """Herbalism & Alchemy's terrain tables are `table` entries written with their entry type
    (`"type": "table"`): their cards began `Type: table`."""
    doc = {
        "table": [
            {"name": "Swamp Ingredients", "source": S, "type": "table",
             "caption": "Swamp Ingredients", "colLabels": ["{@dice 2d6}", "Ingredient"],
             "rows": [["2", "Basilisk's Breath"], ["3", "Frozen Seedlings"]]},
        ]
    }  # fmt: skip
    install(app, write(tmp_path, S, doc))
    text = card(app, "realworld:tables/swamp-ingredients")
    assert "Type" not in text
    assert "| 2d6 | Ingredient |\n|---|---|\n| 2 | Basilisk's Breath |" in text


def test_a_captioned_table_under_a_name_and_its_footnote_marks(app: App, tmp_path: Path) -> None:
    """Herbalism & Alchemy's *Selling Herbalism Items* begins with a table with a caption and a
    footnote `* Apply this modifier…`: the card ran the caption into the name's line
    (`***Selling Herbalism Items.*** **Selling Herbalism Ingredients**`) and the footnote's `*`
    made it a bullet; its search text kept the `\\` of the cells' escapes."""
    text = _section(app, tmp_path, [{"type": "entries", "name": "Herbalism", "entries": [
        {"type": "entries", "name": "Selling Herbalism Items", "entries": [
            {"type": "table", "caption": "Selling Herbalism Ingredients",
             "colLabels": ["Rarity", "d100 Price Mod.*"],
             "rows": [["Common", "+10"], ["Rare | Very Rare", "-10"]],
             "footnotes": ["* Apply this modifier to rolls on the Herbalism Prices table"]}]},
    ]}])  # fmt: skip
    assert "***Selling Herbalism Items.***\n\n**Selling Herbalism Ingredients**\n\n|" in text
    assert "\n\\* Apply this modifier" in text
    row = queries.entry_in_pack(app.conn, "realworld", "books", "rules-01-one")
    assert row is not None
    index = app.render(row.entry(), "index")
    assert "Rare Very Rare" in index and "Apply this modifier" in index and "\\" not in index


def test_a_skill_of_several_words_is_named_as_the_srd_names_it(app: App, tmp_path: Path) -> None:
    """35 Versatile NPCs' Arcane Trickster has `"sleight of hand": "+4"`: its card read
    `Sleight Of Hand +4`; the SRD and 5etools write `Sleight of Hand`."""
    doc = {
        "monster": [
            {"name": "Trickster", "source": S, "size": ["M"], "type": "humanoid",
             "alignment": ["A"], "ac": [13], "hp": {"average": 36, "formula": "8d8"},
             "speed": {"walk": 30}, "str": 10, "dex": 14, "con": 10, "int": 13, "wis": 14,
             "cha": 16, "cr": "1",
             "skill": {"sleight of hand": "+4", "animal handling": "+2", "deception": "+5"}},
        ]
    }  # fmt: skip
    install(app, write(tmp_path, S, doc))
    text = card(app, "realworld:monsters/trickster")
    assert "**Skills:** Sleight of Hand +4, Animal Handling +2, Deception +5" in text


def _summon(**fields: object) -> dict[str, object]:
    return {"name": "Young Wolf", "source": S, "size": ["S"], "type": "beast", "alignment": ["U"],
            "ac": [{"special": "14 + PB (natural armor)"}], "hp": {"special": "15 + five times"},
            "speed": {"walk": 40}, "str": 13, "dex": 14, "con": 12, "int": 6, "wis": 13,
            "cha": 8, "cr": "1/2", **fields}  # fmt: skip


def test_a_save_or_skill_bonus_that_says_more_than_its_number(app: App, tmp_path: Path) -> None:
    """Raiders of the Serpent Sea's summoned wolves have saves `"str": "+1 + PB"`: the card
    read `Str +1` (the first number), losing `+ PB`; 5etools shows the bonus as written."""
    summon = _summon(save={"str": "+1 + PB", "dex": "+4"}, skill={"stealth": "+4 + PB"})
    install(app, write(tmp_path, S, {"monster": [summon]}))
    text = card(app, "realworld:monsters/young-wolf")
    assert "**Saving Throws:** Str +1 + PB, Dex +4" in text
    assert "**Skills:** Stealth +4 + PB" in text


def test_a_summons_proficiency_bonus_note(app: App, tmp_path: Path) -> None:
    """A summon's `"pbNote": "equals your bonus"`: the card ended with `Pb note: equals your
    bonus`; 5etools shows it as the creature's Proficiency Bonus (`getPbPart`)."""
    install(app, write(tmp_path, S, {"monster": [_summon(pbNote="equals your bonus")]}))
    text = card(app, "realworld:monsters/young-wolf")
    assert "**Proficiency Bonus:** equals your bonus" in text and "Pb note" not in text


def test_an_armor_class_in_brackets(app: App, tmp_path: Path) -> None:
    """5 High Level Villains' Lady Tzilith: `"ac": [15, {"ac": 18, "condition": "with {@spell
    mage armor}", "braces": true}]`: the card read `15, 18 with mage armor`; 5etools'
    `Parser.acToFull` brackets it: `15 (18 with mage armor)`, after a source with `;`."""
    doc = {
        "monster": [
            {"name": "Tzilith", "source": S, "size": ["M"], "type": "humanoid",
             "alignment": ["N", "E"], "hp": {"average": 225, "formula": "30d8 + 90"},
             "ac": [15, {"ac": 18, "condition": "with {@spell mage armor}", "braces": True}],
             "speed": {"walk": 30}, "str": 15, "dex": 20, "con": 16, "int": 18, "wis": 15,
             "cha": 18, "cr": "18"},
            {"name": "Guard", "source": S, "size": ["M"], "type": "humanoid", "alignment": ["A"],
             "hp": {"average": 11, "formula": "2d8 + 2"},
             "ac": [{"ac": 16, "from": ["{@item chain shirt|phb}", "shield"]},
                    {"ac": 14, "condition": "without shield", "braces": True}],
             "speed": {"walk": 30}, "str": 13, "dex": 12, "con": 12, "int": 10, "wis": 11,
             "cha": 10, "cr": "1/8"},
        ]
    }  # fmt: skip
    install(app, write(tmp_path, S, doc))
    assert "**Armor Class:** 15 (18 with mage armor)" in card(app, "realworld:monsters/tzilith")
    guard = card(app, "realworld:monsters/guard")
    # the armor a tag names is a link, as 5etools' `Parser.acToFull` renders it (realworld22)
    assert (
        "**Armor Class:** 16 ([chain shirt](d5e://srd-2014/equipment/chain-shirt.md), shield; "
        "14 without shield)"
    ) in guard


def test_a_cite_tag_links_its_citation(app: App, tmp_path: Path) -> None:
    """The Witcher Official Cookbook marks a note with `{@cite Promised Land - Łódź|TWOC|*}`
    after `{@i Promised Land}`: the card ran the citation's name into the text (`*Promised
    Land*Promised Land - Łódź`); 5etools shows the mark (`*`) linking the citation."""
    doc = {
        "citation": [{"name": "Promised Land - Łódź", "source": S, "entries": ["A novel."]}],
        "book": [{"name": "Cookbook", "id": "CB", "source": S, "contents": [{"name": "One"}]}],
        "bookData": [{"id": "CB", "source": S, "data": [{"type": "section", "name": "One",
            "entries": ["Times of our {@i Promised Land}{@cite Promised Land - Łódź|Realworld|*},"
                        " and {@cite Promised Land - Łódź|Realworld}."]}]}],
    }  # fmt: skip
    install(app, write(tmp_path, S, doc))
    text = card(app, "realworld:books/cookbook-01-one")
    uri = "d5e://realworld/citations/promised-land-lodz.md"
    assert f"*Promised Land*[\\*]({uri}), and [Promised Land - Łódź]({uri})." in text


def test_a_recipes_ingredients_in_named_groups(app: App, tmp_path: Path) -> None:
    """Düngeonmeister's Dwarven Forge groups its ingredients (`{"type": "entries", "name": "For
    the Spiced Berry Coulis:", "entries": [ingredients]}`): the card drew the group's name as a
    heading inside a bullet (`- ### For the Spiced Berry Coulis:`); now the name, then its
    list, as 5etools heads each group."""
    ingredient = {"type": "ingredient", "amount1": 0.5, "entry": "{=amount1/v} cup sugar"}
    doc = {
        "recipe": [
            {"name": "Forge", "source": S, "type": "Cocktail", "makes": "1 cocktail",
             "ingredients": ["Ice",
                             {"type": "entries", "name": "For the Coulis:",
                              "entries": [ingredient, "3 sprigs thyme"]},
                             {"type": "entries", "name": "For the Cocktail:",
                              "entries": ["2 ounces spiced rum"]}],
             "instructions": ["Shake."]},
        ]
    }  # fmt: skip
    install(app, write(tmp_path, S, doc))
    text = card(app, "realworld:recipes/forge")
    assert (
        "**Ingredients**\n\n- Ice\n\n**For the Coulis:**\n\n- ½ cup sugar\n- 3 sprigs thyme\n\n"
        "**For the Cocktail:**\n\n- 2 ounces spiced rum\n\n**Instructions**" in text
    )
    assert "###" not in text


def test_a_spells_subschools_of_the_files_own_codes(app: App, tmp_path: Path) -> None:
    """The Psion's Primer names its spells' subschools by codes of its `_meta.spellSchools`
    (`"subschools": ["AuAB"]`, `"AuAB": {"full": "Aura Beacon"}`): the card read `Subschools:
    AuAB`; 5etools names them as it names the school."""
    doc = {
        "spell": [
            {"name": "Beacon", "source": S, "level": 0, "school": "MC", "subschools": ["AuAB"],
             "time": [{"number": 1, "unit": "bonus"}], "duration": [{"type": "permanent"}],
             "range": {"type": "point", "distance": {"type": "self"}}, "entries": ["Glow."]},
        ]
    }  # fmt: skip
    schools = {"MC": {"full": "Metacreativity"}, "AuAB": {"full": "Aura Beacon", "short": "A."}}
    install(app, write(tmp_path, S, doc, spellSchools=schools))
    text = card(app, "realworld:spells/beacon")
    assert "*Metacreativity cantrip*" in text and "**Subschools:** Aura Beacon" in text


def test_a_books_chapters_with_their_ordinals(app: App, tmp_path: Path) -> None:
    """Dark Tides of Bilgewater and The Witcher Official Cookbook number their chapters
    (`"ordinal": {"type": "chapter", "identifier": 1}`): the contents listed the names alone
    (`Bilgewater Setting Guide `, its trailing space in the link); 5etools'
    `Parser.bookOrdinalToAbv` puts `Ch. 1: ` before it (`Part 2 — `, `App. A: `)."""
    names = [("Intro", None), ("Setting Guide ", {"type": "chapter", "identifier": 1}),
             ("The Heist", {"type": "part", "identifier": 2}),
             ("Monsters", {"type": "appendix", "identifier": "A"})]  # fmt: skip
    contents = [{"name": n, **({"ordinal": o} if o else {})} for n, o in names]
    data = [{"type": "section", "name": n.strip(), "entries": ["Text."]} for n, _ in names]
    doc = {
        "book": [{"name": "Tides", "id": "TDS", "source": S, "contents": contents}],
        "bookData": [{"id": "TDS", "source": S, "data": data}],
    }
    install(app, write(tmp_path, S, doc))
    text = card(app, "realworld:books/tides")
    assert "1. [Intro](" in text and "2. [Ch. 1: Setting Guide](" in text
    assert "3. [Part 2 — The Heist](" in text and "4. [App. A: Monsters](" in text


def test_a_dragons_age_filter_hint_is_not_listed(app: App, tmp_path: Path) -> None:
    """Tome of Beasts 1 (2023)'s dragons carry `"dragonAge": "adult"`, what 5etools' bestiary
    filter reads (no stat block shows it): the card ended `Dragon age: adult`."""
    doc = {
        "monster": [
            {"name": "Cave Dragon", "source": S, "size": ["H"], "type": "dragon",
             "alignment": ["N", "E"], "ac": [18], "hp": {"average": 270, "formula": "20d12+140"},
             "speed": {"walk": 40}, "str": 27, "dex": 12, "con": 25, "int": 12, "wis": 14,
             "cha": 16, "cr": "19", "dragonAge": "adult"},
        ]
    }  # fmt: skip
    install(app, write(tmp_path, S, doc))
    assert "Dragon age" not in card(app, "realworld:monsters/cave-dragon")


def test_a_statblock_of_a_subclass_named_by_its_prop(app: App, tmp_path: Path) -> None:
    """Modern Handbook shows its subclasses in its book by `{"type": "statblock", "prop":
    "subclass", "name": "Dreadnought", "className": "Barbarian", "classSource": "PHB"}`: the
    card showed the name alone (read as a creature's, found nowhere); now a link to it."""
    block = {"type": "statblock", "prop": "subclass", "source": S, "name": "Dreadnought",
             "className": "Barbarian", "classSource": "PHB", "collapsed": True}  # fmt: skip
    table = {"type": "statblock", "tag": "table", "source": S, "name": "Ideas"}
    doc = {
        "book": [{"name": "Modern", "id": "MOD", "source": S, "contents": [{"name": "One"}]}],
        "bookData": [{"id": "MOD", "source": S, "data": [
            {"type": "section", "name": "One", "entries": ["Subclasses:", block, table]}]}],
        "table": [{"name": "Ideas", "source": S, "colLabels": ["A"], "rows": [["b"]]}],
        "subclass": [{"name": "Dreadnought", "shortName": "Dreadnought", "source": S,
                      "className": "Barbarian", "classSource": "PHB"}],
    }  # fmt: skip
    install(app, write(tmp_path, S, doc))
    text = card(app, "realworld:books/modern-01-one")
    assert "[Dreadnought](d5e://realworld/subclasses/barbarian-dreadnought.md)" in text
    assert "[Ideas](d5e://realworld/tables/ideas.md)" in text


def test_an_images_title_holding_a_link_is_plain_alt_text(app: App, tmp_path: Path) -> None:
    """Modern Handbook's cover: `"title": "Art Credit: {@link Tangent by M Wayne Miller|https:
    //…}"`: the image's alt text held a Markdown link (`![Art Credit: [Tangent…](…)](…)`);
    now the words."""
    title = "Art Credit: {@link Tangent by M Wayne Miller|https://example.com/t}"
    image = {"type": "image", "href": {"type": "external", "url": "https://example.com/c.webp"}}
    image["title"] = title
    text = _section(app, tmp_path, [image])
    assert "![Art Credit: Tangent by M Wayne Miller](https://example.com/c.webp)" in text


def test_a_2024_lairs_experience_and_legendary_uses(app: App, tmp_path: Path) -> None:
    """Monster Manual Expanded (5.5e)'s Aboleth Overseer: `"cr": {"cr": "21", "xpLair": 41000}`
    and `"legendaryActionsLair": 4`: the card read `Challenge: 21 (33,000 XP)`, the lair's XP
    lost, and ended `Legendary actions lair: 4` (said already by the legendary actions'
    `3 (4 in Lair)`)."""
    doc = {
        "monster": [
            {"name": "Overseer", "source": S, "size": ["H"], "type": "aberration",
             "alignment": ["L", "E"], "ac": [19], "hp": {"average": 304, "formula": "29d12+116"},
             "speed": {"walk": 10}, "str": 25, "dex": 9, "con": 19, "int": 22, "wis": 18,
             "cha": 20, "cr": {"cr": "21", "xpLair": 41000}, "legendaryActionsLair": 4,
             "legendary": [{"name": "Lash", "entries": ["It lashes."]}]},
        ]
    }  # fmt: skip
    install(app, write(tmp_path, S, doc))
    text = card(app, "realworld:monsters/overseer")
    assert "**Challenge:** 21 (33,000 XP, or 41,000 XP in lair)" in text
    assert "3 (4 in Lair)" in text and "Legendary actions lair" not in text


def test_who_summons_a_creature_and_its_attached_items(app: App, tmp_path: Path) -> None:
    """Raiders of the Serpent Sea's companions: `"summonedByClass": "Ranger|PHB"` and
    `"attachedItems": [...]` were listed as written (`Summoned by class: Ranger|PHB`,
    `Attached items: …`); 5etools scales such a creature by that class's level (its stat block
    reads `Class Level` where the CR goes) and shows `attachedItems` as its `Gear` when it has
    no `gear` (`Renderer.monster.getGearPart`)."""
    doc = {"monster": [
        _summon(summonedByClass="Ranger|PHB", attachedItems=["longsword|phb", "dagger|phb"]),
        _summon(name="Iron Defender", summonedByClass="Artificer|TCE",
                gear=["shield|phb"], attachedItems=["dagger|phb"]),
        _summon(name="Bestial Spirit", summonedBySpell="Fireball|PHB", summonedBySpellLevel=3),
    ]}  # fmt: skip
    install(app, write(tmp_path, S, doc))
    wolf = card(app, "realworld:monsters/young-wolf")
    ranger = "[Ranger](d5e://srd-2014/classes/ranger.md)"
    scales = "(scales with the summoner's level in that class)"
    assert f"**Summoned by:** {ranger} {scales}" in wolf
    longsword = "[longsword](d5e://srd-2014/equipment/longsword.md)"
    assert f"**Gear:** {longsword}, [dagger](d5e://srd-2014/equipment/dagger.md)" in wolf
    assert "Summoned by class" not in wolf and "Attached items" not in wolf
    defender = card(app, "realworld:monsters/iron-defender")
    assert f"**Summoned by:** Artificer {scales}" in defender
    assert "**Gear:** [shield](d5e://srd-2014/equipment/shield.md)" in defender
    assert "dagger" not in defender
    spirit = card(app, "realworld:monsters/bestial-spirit")
    fireball = "[Fireball](d5e://srd-2014/spells/fireball.md)"
    assert f"**Summoned by:** {fireball} (cast at level 3 or higher)" in spirit
    assert "Summoned by spell" not in spirit


def test_a_declared_source_without_entries_is_no_pack(db_path: Path, tmp_path: Path) -> None:
    """The Psion's Primer declares two sources in `_meta.sources` and writes entries of one:
    `d5e packs install` installed the other too, `0 entries`, and `d5e packs list` listed
    that empty pack; now it is not installed, and the install says why, once."""
    import json
    import subprocess
    import sys

    sources = [
        {"json": "PsionPrimer", "full": "The Psion's Primer"},
        {"json": "PsionPrimerUA", "full": "The Psion's Primer (Playtest)"},
    ]
    spell = {"name": "Mind Thrust", "source": "PsionPrimer", "level": 1, "school": "E"}
    path = tmp_path / "psion.json"
    path.write_text(json.dumps({"_meta": {"sources": sources}, "spell": [spell]}, indent="\t"))

    def d5e(*args: str) -> list[str]:
        command = [sys.executable, "-m", "d5e_daemon", *args, "--db", str(db_path)]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout.splitlines()

    assert d5e("packs", "install", str(path)) == [
        f"{path}:8:4: info: _meta.sources[1]: source 'PsionPrimerUA' has no entries to "
        "install: no pack of it is installed",
        "psionprimer: installed, 1 entry (1 changed)",
    ]
    listed = "\n".join(d5e("packs", "list"))
    assert "psionprimer" in listed and "psionprimerua" not in listed


def test_an_item_of_an_empty_rarity_is_a_magic_item(app: App, tmp_path: Path) -> None:
    """Herbalism & Alchemy's herbs are written `"rarity": ""`: d5e filed them as mundane
    equipment; 5etools' `Renderer.item.isMundane` is only `rarity` "none" or "unknown" (or a
    basic item), so it lists them as Magic items, with no rarity shown: d5e agrees. An item
    of no rarity stays mundane in d5e unless it says it is magic: wondrous, attuned, charged,
    or a ring, rod or wand (a ring of no rarity was equipment; of rarity "none", it is)."""
    doc = {"item": [
        {"name": "Blue Toadshade", "source": S, "rarity": "", "type": "G", "value": 1000,
         "weight": 1, "entries": ["A blue mushroom that glows in the dark."]},
        {"name": "Grey Pebble", "source": S, "rarity": "none", "type": "G"},
        {"name": "Odd Stone", "source": S, "rarity": "unknown", "type": "G"},
        {"name": "Ring of Reeds", "source": S, "type": "RG", "entries": ["It whistles."]},
        {"name": "Plain Rope", "source": S, "type": "G", "entries": ["Rope."]},
        {"name": "Tin Ring", "source": S, "type": "RG", "rarity": "none"},
    ]}  # fmt: skip
    install(app, write(tmp_path, S, doc))
    herb = card(app, "realworld:magic-items/blue-toadshade")
    assert "A blue mushroom that glows in the dark." in herb
    assert "*Adventuring gear*\n" in herb and "rarity" not in herb.lower()
    assert "**Cost:** 10 gp  \n**Weight:** 1 lb." in herb  # as it was on its equipment card
    assert "Grey Pebble" in card(app, "realworld:equipment/grey-pebble")
    assert "Odd Stone" in card(app, "realworld:equipment/odd-stone")
    # no rarity at all: mundane unless it says it is magic (a ring, rod or wand)
    assert "It whistles." in card(app, "realworld:magic-items/ring-of-reeds")
    assert "Rope." in card(app, "realworld:equipment/plain-rope")
    assert "Tin Ring" in card(app, "realworld:equipment/tin-ring")


def test_a_tag_written_without_its_at_shows_its_words(app: App, tmp_path: Path) -> None:
    """Herbalism & Alchemy writes `{dice d100}` (no `@`; Aventyr `{b Introduction}`): the
    card showed the braces, as 5etools does; read as the tag, the words are shown (in a
    table's labels too). A `{@tag}` and braces around other words are as they were."""
    lines = ["Roll a {dice d100} or {Damage 2d6}.", "Cast {spell fireball|phb} now.",
             "{b Introduction} It begins.",
             "Keep {the braces} here.", "A {@dice d20} roll."]  # fmt: skip
    table = {"type": "table", "colLabels": ["{dice d100}", "Herb"], "rows": [["01-50", "Moss"]]}
    doc = {"spell": [{"name": "Zap", "source": S, "level": 1, "school": "V",
                      "entries": [*lines, table]}]}  # fmt: skip
    install(app, write(tmp_path, S, doc))
    text = card(app, "realworld:spells/zap")
    assert "| d100 | Herb |" in text
    assert "Roll a d100 or 2d6." in text and "**Introduction** It begins." in text
    assert "Cast [fireball](d5e://srd-2014/spells/fireball.md) now." in text
    assert "Keep {the braces} here." in text and "A d20 roll." in text
