"""Names people type: aliases (the SRD's product names, homebrew's own), inverted names and
plurals, in lookup, completion, tags, diagnostics and search."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from d5e_srd import product_aliases
from lsprotocol import types
from pygls.workspace import TextDocument

from d5e_daemon import names, packs
from d5e_daemon.app import App
from d5e_daemon.errors import NotFound, PackError
from d5e_daemon.features import markdown as md
from d5e_daemon.features import packs as features
from d5e_daemon.features.complete import complete
from d5e_daemon.features.lookup import lookup
from d5e_daemon.features.search import search
from d5e_daemon.features.tags import Resolver
from d5e_daemon.prose import find_prose
from d5e_daemon.protocol import (
    CompleteParams,
    LookupParams,
    PackIdParams,
    SearchParams,
    SetPriorityParams,
)

from .conftest import make_app
from .packtools import write_pack

BESTIARY = {
    "monsters/ghoul-darakhul.json": """{
  "name": "Ghoul, Darakhul", "size": "Medium", "type": "undead", "challenge_rating": 3,
  "aliases": ["Darakhul Ghoul Soldier"]
}""",
    "monsters/aboleth-nihilith.md": (
        "---\nname: Aboleth, Nihilith\ntype: aberration\n---\nIt lurks.\n"
    ),
    "spells/shadow-bolt.md": (
        '---\nname: Shadow Bolt\nlevel: 1\naliases: [Umbral Bolt, "Vex\'s Shadow Bolt"]\n---\n'
        "A bolt of shadow.\n"
    ),
    "equipment/bottle-glass.json": '{"name": "Bottle, glass"}',
}


@pytest.fixture
def bestiary(db_path: Path, tmp_path: Path) -> Iterator[App]:
    folder = write_pack(tmp_path / "bestiary", BESTIARY)
    app = make_app(db_path)
    app.db.write(lambda conn: app.library.install_path(conn, folder))
    yield app
    app.close()


def _name(app: App, text: str, **kw: str) -> str:
    return lookup(app, LookupParams(name=text, **kw)).entry.name  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("typed", "name"),
    [
        ("Mordenkainen's Sword", "Arcane Sword"),
        ("mordenkainens sword", "Arcane Sword"),
        ("Bigby's Hand", "Arcane Hand"),
        ("Tenser’s Floating Disk", "Floating Disk"),
        ("Melf's Acid Arrow", "Acid Arrow"),
        ("Heward's Handy Haversack", "Handy Haversack"),
    ],
)
def test_the_srd_answers_to_the_product_names(app: App, typed: str, name: str) -> None:
    result = lookup(app, LookupParams(name=typed))
    assert result.entry.name == name
    assert (result.found_by, result.matched) == ("alias", result.entry.data["aliases"][0])
    assert f"Also called {result.entry.data['aliases'][0]}" in result.markdown


def test_the_alias_table_cites_a_source_for_every_row(tmp_path: Path) -> None:
    table = product_aliases()
    assert table["spells/arcane-sword"] == ["Mordenkainen's Sword"]
    bad = tmp_path / "aliases.toml"
    bad.write_text('[sources]\nPHB = "x"\n[[alias]]\nref = "spells/x"\nnames = ["Y"]\n')
    with pytest.raises(ValueError, match=r"row 1 \(spells/x\) cites no"):
        product_aliases(bad)


@pytest.mark.parametrize(
    ("typed", "name"),
    [
        ("wolves", "Wolf"),
        ("giant spiders", "Giant Spider"),
        ("potions of healing", "Potion of Healing"),
        ("harpies", "Harpy"),
        ("hand crossbow", "Crossbow, hand"),
    ],
)
def test_plurals_and_inverted_names_find_the_entry(app: App, typed: str, name: str) -> None:
    assert _name(app, typed) == name


def test_british_spellings_find_the_american_name(app: App) -> None:
    """A writer's British spelling finds the SRD's American one, in a lookup and in a tag (no
    diagnostic): each was "no entry named 'grey ooze'" (search had the spellings, names not)."""
    for typed, name in [
        ("grey ooze", "Gray Ooze"),
        ("Grey Oozes", "Gray Ooze"),  # a plural in British spelling
        ("armour of resistance", "Armor of Resistance"),
    ]:
        assert _name(app, typed) == name
    found = lookup(app, LookupParams(name="grey ooze"))
    assert (found.found_by, found.matched) == ("spelling", "gray ooze")
    text = "A {@creature grey ooze} in {@item armour of resistance}.\n"
    resolver = Resolver(app)
    assert md.diagnostics(resolver, TextDocument("file:///x.md", text)) == []
    # prose as a British writer writes it: counted, hovered and linked (each was prose)
    line = "Room 2: 2 grey oozes. A **Spectre** in armour of resistance."
    refs = find_prose([line], resolver.prose_names())
    assert [(r.text, r.entry.name, r.count) for r in refs] == [
        ("grey oozes", "Gray Ooze", 2),
        ("Spectre", "Specter", 1),
    ]
    edits, _ = md.link_edits(resolver, [line], (0, 0), (0, len(line)))
    assert [e.new_text for e in edits] == [
        "{@creature gray ooze||grey oozes}",
        "{@creature specter||Spectre}",
        "{@item armor of resistance||armour of resistance}",
    ]


def test_a_plural_with_two_readings_that_name_entries_is_not_guessed(
    app: App, tmp_path: Path
) -> None:
    assert names.singular_forms("knives") == ["knif", "knife", "knive"]
    assert names.singular_forms("glass") == []
    folder = write_pack(
        tmp_path / "knives",
        {
            "equipment/knife.json": '{"name": "Knife"}',
            "equipment/knif.json": '{"name": "Knif"}',
            "equipment/dagger.json": '{"name": "Throwing Dagger"}',
        },
    )
    app.db.write(lambda conn: app.library.install_path(conn, folder))
    with pytest.raises(NotFound):
        lookup(app, LookupParams(name="knives"))
    assert _name(app, "throwing daggers") == "Throwing Dagger"


def test_an_exact_name_wins_over_another_entrys_alias(app: App) -> None:
    assert _name(app, "arcane sword") == "Arcane Sword"
    with pytest.raises(NotFound, match="no entry named 'mordenkainens swordz'"):
        lookup(app, LookupParams(name="mordenkainens swordz"))


def test_completion_matches_aliases(app: App) -> None:
    items = complete(app, CompleteParams(prefix="mordenkainen's sw")).items
    assert [(i.name, i.match, i.alias) for i in items[:1]] == [
        ("Arcane Sword", "prefix", "Mordenkainen's Sword")
    ]
    words = complete(app, CompleteParams(prefix="bigby")).items
    assert (words[0].name, words[0].match, words[0].alias) == (
        "Arcane Hand",
        "prefix",
        "Bigby's Hand",
    )


@pytest.mark.parametrize(
    ("typed", "name", "alias"),
    [
        ("mordenkainen swrod", "Arcane Sword", "Mordenkainen's Sword"),
        ("bigbys hnd", "Arcane Hand", "Bigby's Hand"),
        ("melfs acd arrow", "Acid Arrow", "Melf's Acid Arrow"),
    ],
)
def test_completion_forgives_typos_in_aliases(app: App, typed: str, name: str, alias: str) -> None:
    """As "arcane swrod" finds Arcane Sword by its name, "mordenkainen swrod" finds it by the
    name writers know; the lookup of the misspelt name suggests it."""
    items = complete(app, CompleteParams(prefix=typed)).items
    assert (items[0].name, items[0].match, items[0].alias) == (name, "fuzzy", alias)
    with pytest.raises(NotFound) as err:
        lookup(app, LookupParams(name=typed))
    assert err.value.data is not None
    assert err.value.data["suggestions"][0].endswith(name.lower().replace(" ", "-"))


def test_a_typo_in_a_name_still_finds_the_name_itself(app: App) -> None:
    items = complete(app, CompleteParams(prefix="arcane swrod")).items
    assert (items[0].name, items[0].match, items[0].alias) == ("Arcane Sword", "fuzzy", None)
    assert len({i.ref for i in items}) == len(items)  # an entry once, by its best match


def test_homebrew_aliases_and_inverted_names(bestiary: App) -> None:
    app = bestiary
    assert _name(app, "Darakhul") == "Ghoul, Darakhul"
    assert _name(app, "Darakhul Ghoul") == "Ghoul, Darakhul"
    assert _name(app, "Nihilith") == "Aboleth, Nihilith"
    assert _name(app, "umbral bolt") == "Shadow Bolt"
    assert _name(app, "Vex's Shadow Bolt") == "Shadow Bolt"
    assert _name(app, "darakhul ghoul soldier") == "Ghoul, Darakhul"
    assert _name(app, "glass bottle") == "Bottle, glass"
    with pytest.raises(NotFound):  # an item's qualifier alone names nothing
        lookup(app, LookupParams(name="glass"))
    found = lookup(app, LookupParams(name="Darakhul"))
    assert (found.found_by, found.matched) == ("inverted", "Darakhul")
    items = complete(app, CompleteParams(prefix="darak")).items
    assert items[0].name == "Ghoul, Darakhul" and items[0].alias is not None


def test_tags_resolve_aliases_with_a_note_naming_the_srd_name(app: App) -> None:
    text = (
        "Cast {@spell Mordenkainen's Sword}; {@creature wolves} howl; {@item potions of healing}.\n"
    )
    document = TextDocument("file:///x.md", text)
    resolver = Resolver(app)
    found = [(d.code, d.severity, d.message) for d in md.diagnostics(resolver, document)]
    assert found == [
        (
            "alias",
            types.DiagnosticSeverity.Information,
            "Mordenkainen's Sword is called Arcane Sword in srd-2014",
        )
    ]
    hover = md.hover(resolver, document, types.Position(line=0, character=15))
    assert hover is not None and "Arcane Sword" in str(hover.contents)
    actions = md.code_actions(
        resolver, document, types.Range(types.Position(0, 0), types.Position(0, 5))
    )
    edits = [a.edit for a in actions if isinstance(a, types.CodeAction) and a.edit]
    assert any("arcane sword" in str(e) for e in edits)


def test_search_finds_an_entry_by_its_alias(attributed: App) -> None:
    app = attributed  # the SRD's filter attributes made (its first search made them: ~1 s)
    hits = search(app, SearchParams(query="Mordenkainen's Sword", mode="keyword")).hits
    assert hits[0].name == "Arcane Sword"


def test_an_alias_that_is_another_entrys_name_is_refused(app: App, tmp_path: Path) -> None:
    folder = write_pack(
        tmp_path / "clash",
        {
            "spells/a.md": "---\nname: Ember\nlevel: 1\n---\nx\n",
            "spells/b.md": "---\nname: Cinder\nlevel: 1\naliases: [Ember]\n---\nx\n",
        },
    )
    with pytest.raises(PackError) as err:
        app.db.write(lambda conn: app.library.install_path(conn, folder))
    problem = err.value.data["problems"][0]
    assert problem["file"].endswith("b.md") and problem["line"] == 1
    assert problem["field"] == "aliases[0]"
    assert "alias 'Ember' of spells/cinder is the name of spells/ember" in problem["message"]
    assert app.conn.execute("SELECT count(*) FROM pack WHERE id = 'brew'").fetchone() == (0,)
    assert packs.alias_problems([]) == []


def test_an_alias_that_is_another_packs_name_is_refused_where_it_is_written(
    app: App, tmp_path: Path
) -> None:
    """An alias that is the name of an enabled pack's entry of the same collection would make
    `{@spell fireball}` mean two entries: the install is refused at the alias's file, line and
    column, and nothing is written."""
    folder = write_pack(
        tmp_path / "clash",
        {
            "spells/cinder.md": (
                "---\nname: Cinder\nlevel: 1\naliases: [Ash Bolt, Fireball]\n---\nx\n"
            ),
            "spells/more.json": '[\n  {"name": "Ember", "level": 1},\n'
            '  {"name": "Light Glow", "level": 0,\n   "aliases": ["Light"]}\n]\n',
        },
    )
    with pytest.raises(PackError) as err:
        app.db.write(lambda conn: app.library.install_path(conn, folder))
    problems = {Path(p["file"]).name: p for p in err.value.data["problems"]}
    cinder, glow = problems["cinder.md"], problems["more.json"]
    assert (cinder["line"], cinder["column"], cinder["field"]) == (4, 21, "aliases[1]")
    assert (
        "alias 'Fireball' of spells/cinder is the name of srd-2014:spells/fireball"
        in (cinder["message"])
    )
    assert (glow["line"], glow["column"], glow["field"]) == (4, 16, "aliases[0]")
    assert "more.json:4:16: aliases[0]: alias 'Light' of spells/light-glow" in err.value.message
    assert app.conn.execute("SELECT count(*) FROM pack WHERE id = 'brew'").fetchone() == (0,)
    assert lookup(app, LookupParams(name="fireball")).entry.pack == "srd-2014"


def test_an_alias_that_names_an_entry_of_a_pack_nobody_enables_is_a_warning(
    db_path: Path, tmp_path: Path
) -> None:
    app = make_app(db_path, disabled=["srd-2014"])  # srd-2024 is not enabled either
    try:
        folder = write_pack(
            tmp_path / "clash",
            {"spells/cinder.md": "---\nname: Cinder\nlevel: 1\naliases: [Fireball]\n---\nx\n"},
        )
        result = app.db.write(lambda conn: app.library.install_path(conn, folder))
        (warning,) = [w for w in result.warnings if w.field == "aliases[0]"]
        assert warning.severity == "warning" and (warning.line, warning.column) == (4, 11)
        assert "srd-2014:spells/fireball" in warning.message
        assert "(not enabled): once enabled, the name wins" in warning.message
        assert lookup(app, LookupParams(name="fireball")).entry.name == "Cinder"
    finally:
        app.close()


def test_a_name_that_another_pack_declares_as_an_alias_installs_with_a_warning(
    app: App, tmp_path: Path
) -> None:
    """The reverse order: a name is never wrong, so the pack installs; the warning says the
    alias now means the new entry (a name wins over an alias)."""
    first = write_pack(
        tmp_path / "first",
        {"spells/ember.md": "---\nname: Ember\nlevel: 1\naliases: [Cinder Storm]\n---\nx\n"},
    )
    second = write_pack(
        tmp_path / "second",
        {"spells/storm.md": "---\nname: Cinder Storm\nlevel: 3\n---\nx\n"},
        manifest='id = "second"\ntitle = "Second"\nversion = "1"\n',
    )
    app.db.write(lambda conn: app.library.install_path(conn, first))
    assert _name(app, "cinder storm") == "Ember"
    result = app.db.write(lambda conn: app.library.install_path(conn, second))
    (warning,) = [w for w in result.warnings if w.field == "name"]
    assert warning.severity == "warning" and warning.file.endswith("storm.md")
    assert "name 'Cinder Storm' of spells/cinder-storm is an alias of brew:spells/ember" in (
        warning.message
    )
    assert "now means spells/cinder-storm" in warning.message
    assert lookup(app, LookupParams(name="cinder storm")).entry.pack == "second"


def test_a_live_reload_that_adds_a_clashing_alias_keeps_the_last_good_version(
    app: App, tmp_path: Path
) -> None:
    folder = write_pack(
        tmp_path / "brew", {"spells/cinder.md": "---\nname: Cinder\nlevel: 1\n---\nx\n"}
    )
    app.db.write(lambda conn: app.library.install_path(conn, folder))
    (folder / "spells" / "cinder.md").write_text(
        "---\nname: Cinder\nlevel: 2\naliases: [Shield]\n---\nx\n"
    )
    with pytest.raises(PackError) as err:
        app.db.write(lambda conn: packs.update_files(conn, "brew", {"spells/cinder.md"}, None))
    (problem,) = err.value.data["problems"]
    assert (problem["line"], problem["column"]) == (4, 11) and "srd-2014:spells/shield" in (
        problem["message"]
    )
    assert lookup(app, LookupParams(name="cinder")).entry.data["level"] == 1
    assert lookup(app, LookupParams(name="shield")).entry.pack == "srd-2014"


def test_an_inverted_form_that_is_a_winners_name_goes_by_priority(app: App, tmp_path: Path) -> None:
    """A derived name is kept whatever else is installed, and the pack of higher priority
    takes it: "darakhul" is the pack's own Darakhul (the same pack: the name wins), "gelatinous
    cube" the pack's "Cube, Gelatinous" (priority 50) over the SRD's Gelatinous Cube (10),
    which its own pack still names so."""
    folder = write_pack(
        tmp_path / "brew",
        {
            "monsters/darakhul.md": "---\nname: Darakhul\ntype: undead\n---\nx\n",
            "monsters/ghoul-darakhul.md": "---\nname: Ghoul, Darakhul\ntype: undead\n---\nx\n",
            "monsters/cube.md": "---\nname: Cube, Gelatinous\ntype: ooze\n---\nx\n",
        },
    )
    app.db.write(lambda conn: app.library.install_path(conn, folder))
    rows = app.conn.execute(
        "SELECT e.name, a.name FROM entry_alias a JOIN entry e ON e.id = a.entry_id "
        "WHERE e.pack_id = 'brew' ORDER BY 1, 2"
    ).fetchall()
    assert rows == [  # not "Gelatinous" alone: an adjective only qualifies (`_names_alone`)
        ("Cube, Gelatinous", "Gelatinous Cube"),
        ("Ghoul, Darakhul", "Darakhul"),
        ("Ghoul, Darakhul", "Darakhul Ghoul"),
    ]
    assert _name(app, "darakhul") == "Darakhul"
    assert _name(app, "darakhul ghoul") == "Ghoul, Darakhul"
    assert _name(app, "gelatinous cube") == "Cube, Gelatinous"
    assert _name(app, "gelatinous cube", pack="srd-2014") == "Gelatinous Cube"


def test_migration_gives_installed_entries_their_aliases(
    srd_template: Path, tmp_path: Path
) -> None:
    """A database written before aliases existed (schema 6) gets the aliases of what it holds
    when migrated: inverted names at once (the SRD's product names come with its reinstall)."""
    from d5e_daemon import db, queries

    from .oldschema import older_database

    path = tmp_path / "d5e.sqlite3"
    assert db.migrations()[6].name == "aliases"
    older_database(srd_template, path, 6)
    conn = db.connect(path)  # migrates, nothing installed again
    try:
        found = queries.entries_by_alias(conn, "hand crossbow", ["equipment"])
        assert [(a.row.name, a.alias, a.kind) for a in found] == [
            ("Crossbow, hand", "hand Crossbow", "inverted")
        ]
    finally:
        conn.close()


def test_migration_indexes_the_trigrams_of_installed_aliases(
    srd_template: Path, tmp_path: Path
) -> None:
    """A database of schema 9 (aliases, no alias trigrams) answers typos in aliases once
    migrated, without installing anything again."""
    from d5e_daemon import db
    from d5e_daemon.settings import build

    from .oldschema import older_database

    path = tmp_path / "d5e.sqlite3"
    real = db.migrations()
    assert real[9].name == "alias_trigrams"
    older_database(srd_template, path, 9)
    conn = db.connect(path)
    before = conn.execute("SELECT max(version) FROM migration_history").fetchone()
    conn.close()
    new = App(build({"db": str(path)}))
    new.start()
    try:
        assert before == (len(real),)  # connect() migrated to the latest
        assert new.conn.execute("SELECT count(*) FROM alias_trigrams").fetchone()[0] > 0
        items = complete(new, CompleteParams(prefix="mordenkainen swrod")).items
        assert (items[0].name, items[0].alias) == ("Arcane Sword", "Mordenkainen's Sword")
    finally:
        new.close()


# -- creatures the SRD splits into forms --------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "name"),
    [
        ("vampire", "Vampire, Vampire Form"),
        ("Werewolf", "Werewolf, Human Form"),
        ("wererats", "Wererat, Human Form"),
        ("weretiger", "Weretiger, Human Form"),
        ("wereboar", "Wereboar, Human Form"),
        ("werebear", "Werebear, Human Form"),
    ],
)
def test_a_creature_split_into_forms_is_found_by_its_bare_name(
    app: App, typed: str, name: str
) -> None:
    """The SRD has no "Vampire" nor "Werewolf": its vampire is "Vampire, Vampire Form" (beside
    its Bat and Mist forms), a lycanthrope's true form its Human Form."""
    result = lookup(app, LookupParams(name=typed))
    assert result.entry.name == name and result.entry.pack == "srd-2014"
    assert result.found_by in ("inverted", "plural")
    head = name.split(",")[0]
    assert f"*Other forms: {head}, " in result.markdown  # where the others are


def test_the_forms_names_find_the_forms_as_before(app: App) -> None:
    card = lookup(app, LookupParams(name="vampire")).markdown
    assert "*Other forms: Vampire, Bat Form; Vampire, Mist Form.*" in card
    for typed, name in [
        ("Vampire, Bat Form", "Vampire, Bat Form"),
        ("vampire mist form", "Vampire, Mist Form"),
        ("Werewolf, Wolf Form", "Werewolf, Wolf Form"),
        ("wolf form werewolf", "Werewolf, Wolf Form"),
        ("Vampire Spawn", "Vampire Spawn"),
    ]:
        assert _name(app, typed) == name
    with pytest.raises(NotFound):  # a form's qualifier alone is no creature
        lookup(app, LookupParams(name="wolf form"))


def test_completion_offers_the_bare_name_first(app: App) -> None:
    def first(prefix: str) -> tuple[str, str, str | None]:
        item = complete(app, CompleteParams(prefix=prefix)).items[0]
        return item.name, item.match, item.alias

    assert first("werew") == ("Werewolf, Human Form", "prefix", "Werewolf")
    assert first("vampire") == ("Vampire, Vampire Form", "exact", "Vampire")
    names_ = [i.name for i in complete(app, CompleteParams(prefix="vampire", limit=4)).items]
    assert names_ == [
        "Vampire, Vampire Form",
        "Vampire Spawn",
        "Vampire, Bat Form",
        "Vampire, Mist Form",
    ]
    # an entry once, by its best match; its own name where that is as good
    assert first("werewolf, w") == ("Werewolf, Wolf Form", "prefix", None)


def test_tags_of_a_bare_name_resolve_without_a_note(app: App) -> None:
    text = (
        "The {@creature vampire} and two {@creature werewolves}; {@creature vampire, bat form}.\n"
    )
    document = TextDocument("file:///x.md", text)
    resolver = Resolver(app)
    assert md.diagnostics(resolver, document) == []
    hover = md.hover(resolver, document, types.Position(line=0, character=18))
    assert hover is not None and "Vampire, Vampire Form" in str(hover.contents)
    hover = md.hover(resolver, document, types.Position(line=0, character=45))
    assert hover is not None and "Werewolf, Human Form" in str(hover.contents)


def test_search_puts_the_bare_names_form_first(attributed: App) -> None:
    app = attributed  # the SRD's filter attributes made (its first search made them: ~1 s)
    for query, name in [("werewolf", "Werewolf, Human Form"), ("vampire", "Vampire, Vampire Form")]:
        hits = search(app, SearchParams(query=query, mode="keyword")).hits
        assert hits[0].name == name, [h.name for h in hits[:4]]


def test_a_creature_named_plainly_wins_over_the_bare_name_of_a_form(
    app: App, tmp_path: Path
) -> None:
    """A homebrew (or 5etools, Open5e) "Vampire" at its default priority (50, above the
    SRD's 10) is named so: its name wins over the SRD's derived other name; the SRD's forms
    keep their names."""
    folder = write_pack(
        tmp_path / "brew",
        {"monsters/vampire.md": "---\nname: Vampire\ntype: undead\nchallenge_rating: 15\n---\nx\n"},
    )
    app.db.write(lambda conn: app.library.install_path(conn, folder))
    found = lookup(app, LookupParams(name="vampire"))
    assert (found.entry.pack, found.entry.name, found.found_by) == ("brew", "Vampire", None)
    assert _name(app, "werewolf") == "Werewolf, Human Form"
    assert _name(app, "vampire, vampire form") == "Vampire, Vampire Form"
    item = complete(app, CompleteParams(prefix="vampire")).items[0]
    assert (item.pack, item.name, item.alias) == ("brew", "Vampire", None)
    resolver = Resolver(app)
    document = TextDocument("file:///x.md", "{@creature vampire}\n")
    assert md.diagnostics(resolver, document) == []
    hover = md.hover(resolver, document, types.Position(line=0, character=12))
    assert hover is not None and "brew" in str(hover.contents)
    (bold,) = find_prose(["A **Vampire** waits."], resolver.prose_names())
    assert (bold.entry.pack, bold.entry.name) == ("brew", "Vampire")


def test_migration_gives_installed_forms_their_bare_names(
    srd_template: Path, tmp_path: Path
) -> None:
    """A database of schema 15 (forms without their bare names) finds "vampire" once
    migrated, without installing anything again."""
    from d5e_daemon import db, queries

    from .oldschema import older_database

    path = tmp_path / "d5e.sqlite3"
    assert db.migrations()[15].name == "own_forms"
    older_database(srd_template, path, 15)
    conn = db.connect(path, migrate_now=False)
    conn.execute("DELETE FROM entry_alias WHERE norm_name IN ('vampire', 'werewolf')")
    assert queries.entries_by_alias(conn, "vampire", ["monsters"]) == []
    conn.close()
    conn = db.connect(path)
    try:
        for alias, name in [
            ("vampire", "Vampire, Vampire Form"),
            ("werewolf", "Werewolf, Human Form"),
        ]:
            found = queries.entries_by_alias(conn, alias, ["monsters"])
            assert [(a.row.name, a.kind) for a in found] == [(name, "inverted")]
        assert queries.entries_by_alias(conn, "bat form vampire", ["monsters"])  # kept
    finally:
        conn.close()


def test_letters_no_decomposition_takes_apart_are_spelled_out() -> None:
    from d5e_daemon.text import normalize, slugify

    assert normalize("Ætherfang Blade") == "aetherfang blade"
    assert slugify("Kraghammer’s Œil") == "kraghammers-oeil"
    assert normalize("Straße of Þorn, Łódź") == "strasse of thorn lodz"
    assert normalize("Naïve Café") == "naive cafe"


def test_migration_spells_out_installed_names_letters(srd_template: Path, tmp_path: Path) -> None:
    """A database of schema 16 holding "Ætherfang Blade" normalised as "therfang blade" finds
    it as "aetherfang blade" once migrated, by its name and by its alias, and completes it."""
    from d5e_daemon import db, queries

    from .oldschema import older_database

    path = tmp_path / "d5e.sqlite3"
    assert db.migrations()[16].name == "unsplit_letters"
    older_database(srd_template, path, 16)
    conn = db.connect(path, migrate_now=False)
    with db.transaction(conn):
        pack = conn.execute("SELECT id FROM pack LIMIT 1").fetchone()[0]  # type: ignore[index]
        conn.execute(
            "INSERT INTO entry (pack_id, collection, slug, name, norm_name, data, content_hash)"
            " VALUES (?, 'magic-items', 'therfang-blade', 'Ætherfang Blade', 'therfang blade',"
            " '{}', 'x')",
            (pack,),
        )
        entry = conn.last_insert_rowid()
        conn.execute(
            "INSERT INTO entry_alias (entry_id, name, norm_name, kind)"
            " VALUES (?, 'Œil Blade', 'il blade', 'alias')",
            (entry,),
        )
    assert queries.entries_by_norm_name(conn, "aetherfang blade", ["magic-items"]) == []
    conn.close()
    conn = db.connect(path)
    try:
        (row,) = queries.entries_by_norm_name(conn, "aetherfang blade", ["magic-items"])
        assert row.name == "Ætherfang Blade"
        (alias,) = queries.entries_by_alias(conn, "oeil blade", ["magic-items"])
        assert alias.row.name == "Ætherfang Blade"
        assert queries.entries_by_norm_name(conn, "therfang blade", ["magic-items"]) == []
        words = "SELECT count(*) FROM {} WHERE {} MATCH 'aeth*'"
        assert conn.execute(words.format("name_words", "name_words")).fetchone()[0] == 1  # type: ignore[index]
        assert conn.execute(words.format("alias_words", "alias_words")).fetchone()[0] == 0  # type: ignore[index]
        assert (
            conn.execute(
                "SELECT count(*) FROM alias_words WHERE alias_words MATCH 'oeil'"
            ).fetchone()[0]
            == 1
        )  # type: ignore[index]
    finally:
        conn.close()


def _vampire(app: App) -> tuple[str, str]:
    """Which entry `d5e lookup vampire` shows, and what `**Vampire**` in prose means."""
    found = lookup(app, LookupParams(name="vampire")).entry
    (bold,) = find_prose(["A **Vampire** waits."], Resolver(app).prose_names())
    assert (bold.entry.pack, bold.entry.name) == (found.pack, found.name)
    return found.pack, found.name


VAMPIRE = {"monsters/vampire.md": "---\nname: Vampire\ntype: undead\n---\nx\n"}
SRD_VAMPIRE = ("srd-2014", "Vampire, Vampire Form")


async def test_a_derived_name_does_not_depend_on_the_order_packs_came_in(
    app: App, tmp_path: Path
) -> None:
    """A homebrew "Vampire" installed, the SRD installed again, the homebrew removed:
    `vampire` is the SRD's Vampire Form at once (it found nothing until the SRD was installed
    once more). Disabled in the profile, the homebrew leaves the name to the SRD; enabled
    again, it takes it back."""
    app.db.write(
        lambda conn: app.library.install_path(conn, write_pack(tmp_path / "brew", VAMPIRE))
    )
    assert _vampire(app) == ("brew", "Vampire")
    await features.remove(app, PackIdParams(pack="srd-2014"))
    app.library.install_builtin_packs()
    assert _vampire(app) == ("brew", "Vampire")
    await features.disable(app, PackIdParams(pack="brew"))
    assert _vampire(app) == SRD_VAMPIRE
    await features.enable(app, PackIdParams(pack="brew"))
    assert _vampire(app) == ("brew", "Vampire")
    await features.remove(app, PackIdParams(pack="brew"))
    assert _vampire(app) == SRD_VAMPIRE
    found = lookup(app, LookupParams(name="vampire"))
    assert (found.found_by, found.matched) == ("inverted", "Vampire")


async def test_the_pack_of_higher_priority_takes_a_name_another_derives(
    app: App, tmp_path: Path
) -> None:
    """A plain "Vampire" below the SRD (an Open5e copy of the SRD at priority 8) leaves
    `vampire` to the SRD's Vampire Form, in lookups, tags and prose; raised above it, or at the
    same priority, the name is its own. Its own name still finds it (`--pack`)."""
    manifest = 'id = "copy"\ntitle = "Copy"\nversion = "1"\npriority = 8\n'
    folder = write_pack(tmp_path / "copy", VAMPIRE, manifest=manifest)
    app.db.write(lambda conn: app.library.install_path(conn, folder))
    assert _vampire(app) == SRD_VAMPIRE
    resolver = Resolver(app)
    document = TextDocument("file:///x.md", "{@creature vampire}\n")
    hover = md.hover(resolver, document, types.Position(line=0, character=12))
    assert hover is not None and "Vampire Form" in str(hover.contents)
    assert _name(app, "vampire", pack="copy") == "Vampire"
    await features.set_priority(app, SetPriorityParams(pack="copy", priority=10))
    assert _vampire(app) == ("copy", "Vampire")
    await features.set_priority(app, SetPriorityParams(pack="copy", priority=5))
    assert _vampire(app) == SRD_VAMPIRE
    await features.set_priority(app, SetPriorityParams(pack="copy", priority=30))
    assert _vampire(app) == ("copy", "Vampire")


def test_migration_gives_back_the_derived_names_an_install_order_took(
    srd_template: Path, tmp_path: Path
) -> None:
    """A database of schema 17 whose SRD was installed beside a homebrew "Vampire" (its
    Vampire Form then got no "vampire") finds the SRD's Vampire Form as "vampire" once
    migrated, the homebrew gone, without installing the SRD again."""
    from d5e_daemon import db, queries

    from .oldschema import older_database

    path = tmp_path / "d5e.sqlite3"
    assert db.migrations()[17].name == "derived_names"
    older_database(srd_template, path, 17)
    conn = db.connect(path, migrate_now=False)
    conn.execute("DELETE FROM entry_alias WHERE norm_name = 'vampire'")
    assert queries.entries_by_alias(conn, "vampire", ["monsters"]) == []
    conn.close()
    conn = db.connect(path)
    try:
        found = names.find(conn, "vampire", ["monsters"], profile_id="default")
        assert found is not None and (found.how, [r.name for r in found.rows]) == (
            "inverted",
            ["Vampire, Vampire Form"],
        )
    finally:
        conn.close()


@pytest.mark.parametrize(
    ("typed", "name"),
    [
        ("holy water", "Holy water (flask)"),
        ("Alchemist's Fire", "Alchemist's fire (flask)"),
        ("hempen rope", "Rope, hempen (50 feet)"),
    ],
)
def test_a_name_is_found_without_the_qualifier_in_brackets(app: App, typed: str, name: str) -> None:
    result = lookup(app, LookupParams(name=typed))
    assert (result.entry.name, result.found_by) == (name, "inverted")


def test_a_homebrew_name_in_brackets_is_found_without_them_in_lookup_tags_and_prose(
    app: App, tmp_path: Path
) -> None:
    folder = write_pack(
        tmp_path / "barovia",
        {
            "monsters/gutripper.json": '{"name": "Gutripper (Vampire)", "type": "undead"}',
            "monsters/zombie-minion.json": '{"name": "Zombie (Minion)", "type": "undead"}',
        },
    )
    app.db.write(lambda conn: app.library.install_path(conn, folder))
    assert _name(app, "gutripper") == "Gutripper (Vampire)"
    # The SRD's own Zombie keeps its name; the minion is found by its whole name.
    assert _name(app, "zombie") == "Zombie"
    assert _name(app, "zombie minion") == "Zombie (Minion)"
    resolver = Resolver(app)
    document = TextDocument("file:///a.md", "The {@creature gutripper} waits.\n")
    assert not md.diagnostics(resolver, document)
    (bold,) = find_prose(["A **Gutripper** waits."], resolver.prose_names())
    assert bold.entry.name == "Gutripper (Vampire)"


def test_migration_gives_installed_names_in_brackets_their_plain_names(
    srd_template: Path, tmp_path: Path
) -> None:
    """A database of schema 18 (no name without its bracketed qualifier) finds "holy water"
    once migrated, without installing anything again."""
    from d5e_daemon import db, queries

    from .oldschema import older_database

    path = tmp_path / "d5e.sqlite3"
    assert db.migrations()[18].name == "bracketed_names"
    older_database(srd_template, path, 18)
    conn = db.connect(path, migrate_now=False)
    conn.execute("DELETE FROM entry_alias WHERE norm_name = 'holy water'")
    assert queries.entries_by_alias(conn, "holy water", ["equipment"]) == []
    conn.close()
    conn = db.connect(path)
    try:
        found = queries.entries_by_alias(conn, "holy water", ["equipment"])
        assert [(a.row.name, a.kind) for a in found] == [("Holy water (flask)", "inverted")]
    finally:
        conn.close()


def test_a_qualifier_alone_is_no_name(db_path: Path, tmp_path: Path) -> None:
    """ "Imp, enhanced" and "Lemure, enhanced" (a comma qualifier, and one before a bracketed
    one) are "enhanced Imp" and "enhanced Lemure": "enhanced" named both, as "Giant" named
    twenty Open5e creatures ("Rat, Giant"). A qualifier that is a name of its own still is
    one ("Ghoul, Darakhul": "Darakhul")."""
    folder = write_pack(
        tmp_path / "fiends",
        {
            "monsters/imp-enhanced.json": '{"name": "Imp, enhanced", "type": "fiend"}',
            "monsters/lemure-enhanced.json": '{"name": "Lemure, enhanced (variant)"}',
            "monsters/rat-giant.json": '{"name": "Rat, Giant", "type": "beast"}',
            "monsters/toad-poisonous.json": '{"name": "Toad, Poisonous", "type": "beast"}',
            "monsters/ghoul-darakhul.json": '{"name": "Ghoul, Darakhul", "type": "undead"}',
            "monsters/bear-black.json": '{"name": "Bear, Black", "type": "beast"}',
            "monsters/black-night.json": '{"name": "Baba Yaga\'s Horsemen, Black Night"}',
        },
    )
    app = make_app(db_path)
    try:
        app.db.write(lambda conn: app.library.install_path(conn, folder))
        for bare in ("enhanced", "Giant", "poisonous", "black"):
            with pytest.raises(NotFound):
                lookup(app, LookupParams(name=bare, pack="brew"))
        assert _name(app, "enhanced imp") == "Imp, enhanced"
        assert _name(app, "enhanced lemure") == "Lemure, enhanced (variant)"
        assert _name(app, "giant rat", pack="brew") == "Rat, Giant"
        assert _name(app, "darakhul") == "Ghoul, Darakhul"
        assert _name(app, "black night") == "Baba Yaga's Horsemen, Black Night"
        offered = complete(app, CompleteParams(prefix="enhanced", pack="brew")).items
        assert [i.name for i in offered] == ["Imp, enhanced", "Lemure, enhanced (variant)"]
        assert all(i.alias != "enhanced" for i in offered)
    finally:
        app.close()


def test_migration_takes_the_qualifier_alone_from_installed_names(
    srd_template: Path, tmp_path: Path
) -> None:
    """A database of schema 19, where "Imp, enhanced" is also "enhanced", finds it only as
    "enhanced imp" once migrated, without installing anything again."""
    from d5e_daemon import db, queries

    from .oldschema import older_database

    path = tmp_path / "d5e.sqlite3"
    assert db.migrations()[19].name == "qualifier_names"
    older_database(srd_template, path, 19)
    conn = db.connect(path, migrate_now=False)
    with db.transaction(conn):
        pack = conn.execute("SELECT id FROM pack LIMIT 1").fetchone()[0]  # type: ignore[index]
        conn.execute(
            "INSERT INTO entry (pack_id, collection, slug, name, norm_name, data, content_hash)"
            " VALUES (?, 'monsters', 'imp-enhanced', 'Imp, enhanced', 'imp enhanced', '{}', 'x')",
            (pack,),
        )
        entry = conn.last_insert_rowid()
        for alias in ("enhanced Imp", "enhanced"):
            conn.execute(
                "INSERT INTO entry_alias (entry_id, name, norm_name, kind)"
                " VALUES (?, ?, lower(?), 'inverted')",
                (entry, alias, alias),
            )
    assert [a.row.name for a in queries.entries_by_alias(conn, "enhanced", ["monsters"])] == [
        "Imp, enhanced"
    ]
    conn.close()
    conn = db.connect(path)
    try:
        assert queries.entries_by_alias(conn, "enhanced", ["monsters"]) == []
        (found,) = queries.entries_by_alias(conn, "enhanced imp", ["monsters"])
        assert found.row.name == "Imp, enhanced"
        assert queries.entries_by_alias(conn, "darakhul", ["monsters"]) == []  # none installed
    finally:
        conn.close()


# 5etools' names of the PHB's items, which the SRD 2014 writes otherwise: natural order with
# the quantity kept ("Rope, hempen (50 feet)"), one of two alternatives ("Flask or tankard"),
# without the quantity ("Rations (1 day)", "Ink (1 ounce bottle)"), in natural order ("Clothes,
# fine"), in the plural without it ("Arrows (20)": the SRD 2014's Arrow).
FIVETOOLS_ITEMS = [
    ("hempen rope (50 feet)", "Rope, hempen (50 feet)"),
    ("flask", "Flask or tankard"),
    ("tankard", "Flask or tankard"),
    ("jug", "Jug or pitcher"),
    ("oil (flask)", "Oil (flask)"),
    ("ink (1-ounce bottle)", "Ink (1 ounce bottle)"),
    ("rations (1 day)", "Rations (1 day)"),
    ("arrows (20)", "Arrow"),
    ("fine clothes", "Clothes, fine"),
]


def test_5etools_names_of_the_srds_items_resolve_in_tags_and_lookup(app: App) -> None:
    text = "".join(f"Take {{@item {typed}|phb}}.\n" for typed, _ in FIVETOOLS_ITEMS)
    document = TextDocument("file:///pack.md", text)
    resolver = Resolver(app)
    assert [d.message for d in md.diagnostics(resolver, document)] == []
    for typed, name in FIVETOOLS_ITEMS:
        assert _name(app, typed, pack="srd-2014") == name


def test_a_reading_never_takes_another_entrys_name_or_a_spells_words(app: App) -> None:
    # The SRD 2024's Flask keeps its name; "Create or Destroy Water" is one spell.
    assert _name(app, "flask", pack="srd-2024") == "Flask"
    with pytest.raises(NotFound):
        lookup(app, LookupParams(name="create", collection="spells"))


def test_migration_gives_installed_items_5etools_names(srd_template: Path, tmp_path: Path) -> None:
    """A database of schema 20 finds the SRD 2014's Flask or tankard as "flask" and its Rope,
    hempen (50 feet) as "hempen rope (50 feet)" once migrated, without installing again."""
    from d5e_daemon import db, queries

    from .oldschema import older_database

    path = tmp_path / "d5e.sqlite3"
    assert db.migrations()[20].name == "alternative_names"
    older_database(srd_template, path, 20)
    conn = db.connect(path, migrate_now=False)
    conn.execute("DELETE FROM entry_alias WHERE norm_name IN ('flask', 'hempen rope 50 feet')")
    conn.close()
    conn = db.connect(path)
    try:
        found = [
            a.row.name
            for norm in ("flask", "hempen rope 50 feet")
            for a in queries.entries_by_alias(conn, norm, ["equipment"])
        ]
        assert found == ["Flask or tankard", "Rope, hempen (50 feet)"]
    finally:
        conn.close()


# A creature's bracket that is another name of it (Open5e's "Koralk (Harvester Devil)", the
# SRD's "Deep Gnome (Svirfneblin)"), beside brackets that only qualify (a version, a source's
# abbreviation or title, an adjective), and a name inverted twice ("Devil, Infernal Tutor,
# Lesser", Open5e's): own names, written for this test.
OTHER_NAMES = {
    "monsters/ossuk.json": '{"name": "Ossuk (Bone Harrier)", "type": "fiend"}',
    "monsters/ghast-variant.json": '{"name": "Ghast (Variant)", "type": "undead"}',
    "monsters/wight-xmm.json": '{"name": "Wight (XMM)", "type": "undead"}',
    "monsters/wight-flee.json": '{"name": "Wight (FleeMortals)", "type": "undead"}',
    "monsters/boar-feral.json": '{"name": "Boar (Feral)", "type": "beast"}',
    "monsters/ember-hound-large.json": '{"name": "Ember Hound (Large)", "type": "beast"}',
    "monsters/pixie-drake-violet.json": '{"name": "Pixie Drake (Violet)", "type": "dragon"}',
    "monsters/devil-ink-tutor-lesser.json": '{"name": "Devil, Ink Tutor, Lesser"}',
    "monsters/gutripper.json": '{"name": "Gutripper (Vampire)", "type": "undead"}',
}


def test_a_creatures_other_name_in_brackets_finds_it(db_path: Path, tmp_path: Path) -> None:
    """Lookup, completion, tags and prose find a creature by the other name its bracket holds,
    and by a name inverted twice in natural order; a bracket that only qualifies is no name."""
    folder = write_pack(tmp_path / "brew", OTHER_NAMES)
    app = make_app(db_path)
    try:
        app.db.write(lambda conn: app.library.install_path(conn, folder))
        assert _name(app, "bone harrier") == "Ossuk (Bone Harrier)"
        assert _name(app, "Bone Harriers") == "Ossuk (Bone Harrier)"
        assert _name(app, "svirfneblin") == "Deep Gnome (Svirfneblin)"  # the SRD's
        assert _name(app, "lesser ink tutor") == "Devil, Ink Tutor, Lesser"
        for qualifier in ("variant", "xmm", "fleemortals", "feral", "large", "violet"):
            with pytest.raises(NotFound):
                lookup(app, LookupParams(name=qualifier, pack="brew"))
        offered = complete(app, CompleteParams(prefix="bone harr")).items
        assert [(i.name, i.alias) for i in offered][:1] == [
            ("Ossuk (Bone Harrier)", "Bone Harrier")
        ]
        resolver = Resolver(app)
        text = "The {@creature bone harrier} and {@creature svirfneblin} wait.\n"
        assert not md.diagnostics(resolver, TextDocument("file:///a.md", text))
        (bold,) = find_prose(["A **Bone Harrier** waits."], resolver.prose_names())
        assert bold.entry.name == "Ossuk (Bone Harrier)"
    finally:
        app.close()


def test_a_name_in_brackets_gives_way_to_any_other_entrys(db_path: Path, tmp_path: Path) -> None:
    """ "Gutripper (Vampire)" (a homebrew at 50) is "vampire" only where nothing else is: the
    SRD's Vampire (its own form's bare name, at 10) keeps the name in lookup, tags and prose,
    whichever came first."""
    folder = write_pack(tmp_path / "brew", OTHER_NAMES)
    app = make_app(db_path)
    try:
        app.db.write(lambda conn: app.library.install_path(conn, folder))
        assert _name(app, "vampire", collection="monsters") == "Vampire, Vampire Form"
        assert _name(app, "vampire", pack="brew") == "Gutripper (Vampire)"
        resolver = Resolver(app)
        (bold,) = find_prose(["A **vampire** waits."], resolver.prose_names())
        assert bold.entry.name == "Vampire, Vampire Form"
        known, _ = resolver.known_names()  # d5e link's: one entry, not two to choose from
        assert (known["vampire"].name, known["vampire"].ambiguous) == (
            "Vampire, Vampire Form",
            False,
        )
    finally:
        app.close()


def test_migration_gives_installed_creatures_their_names_in_brackets(
    srd_template: Path, tmp_path: Path
) -> None:
    """A database of schema 21 finds the SRD's Deep Gnome (Svirfneblin) as "svirfneblin" once
    migrated, and loses a qualifier stored as a name, without installing anything again."""
    from d5e_daemon import db, queries

    from .oldschema import older_database

    path = tmp_path / "d5e.sqlite3"
    assert db.migrations()[21].name == "bracket_other_names"
    older_database(srd_template, path, 21)
    conn = db.connect(path, migrate_now=False)
    with db.transaction(conn):
        conn.execute("DELETE FROM entry_alias WHERE norm_name = 'svirfneblin'")
        conn.execute(
            "INSERT INTO entry_alias (entry_id, name, norm_name, kind) SELECT id, 'Diseased',"
            " 'diseased', 'inverted' FROM entry WHERE name = 'Giant Rat (Diseased)'"
        )
    assert queries.entries_by_alias(conn, "svirfneblin", ["monsters"]) == []
    conn.close()
    conn = db.connect(path)
    try:
        found = queries.entries_by_alias(conn, "svirfneblin", ["monsters"])
        assert [(a.row.name, a.kind) for a in found] == [("Deep Gnome (Svirfneblin)", "inverted")]
        assert queries.entries_by_alias(conn, "diseased", ["monsters"]) == []
    finally:
        conn.close()
