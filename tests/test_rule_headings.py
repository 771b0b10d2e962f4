"""5etools writes `{@action Dash}`, `{@sense darkvision}`, `{@status concentration}`: it has entries
for them. The SRD has them as headings inside its rule sections ("Dash" in "Actions in
Combat", "Darkvision" in "The Environment"), so on the SRD alone such a tag means that section,
in documents and in cards, instead of a warning nobody can fix; a close heading is the "did you
mean" of a misspelt one. A pack that has the entry itself still wins. Likewise an item type's
code (`{@itemType M}`) is the SRD's equipment category ("Melee Weapons").
"""

from __future__ import annotations

from d5e_daemon import tagtext
from d5e_daemon.app import App
from d5e_daemon.features.tags import Resolver, card_links
from d5e_daemon.tagsyntax import tags_in_line


def resolve(app: App, text: str) -> tuple[str | None, str | None, str]:
    (tag,) = tags_in_line(0, text)
    found = Resolver(app).resolve(tag)
    return (found.row.qualified_ref if found.row else None, found.code, found.message)


def test_actions_senses_and_statuses_are_headings_of_the_srd_s_rule_sections(app: App) -> None:
    actions = "srd-2014:rule-sections/actions-in-combat"
    environment = "srd-2014:rule-sections/the-environment"
    assert resolve(app, "{@action Dash}")[:2] == (actions, None)
    assert resolve(app, "{@action use an object}")[:2] == (actions, None)
    assert resolve(app, "{@sense darkvision}")[:2] == (environment, None)
    assert resolve(app, "{@sense Truesight}")[:2] == (environment, None)
    assert resolve(app, "{@rule Suffocating}")[:2] == (environment, None)
    assert resolve(app, "{@variantrule Falling|XPHB}")[:2] == (environment, None)
    # a homebrew pack named by the tag is not the SRD: its own entries only
    assert resolve(app, "{@action Dash|MyBrew}")[1] == "unknown-pack"
    # a whole section's own name is found as before
    assert resolve(app, "{@rule Actions in Combat}")[:2] == (actions, None)


def test_a_misspelt_heading_is_suggested_and_other_tags_do_not_read_headings(app: App) -> None:
    ref, code, message = resolve(app, "{@action Dahs}")
    assert (ref, code) == (None, "unknown-ref")
    assert '"dash"' in message
    # a spell is not a heading of the rules: "Dash" is no spell
    assert resolve(app, "{@spell Dash}")[1] == "unknown-ref"
    assert resolve(app, "{@action Fly Like An Eagle}")[1] == "unknown-ref"


def test_cards_link_such_tags_to_the_section(app: App) -> None:
    text = tagtext.render("Take the {@action Dash} action.", card_links(app))
    assert "[Dash](" in text
    assert "actions-in-combat" in text


def test_an_item_type_code_is_the_srd_s_equipment_category(app: App) -> None:
    assert resolve(app, "{@itemType M}")[:2] == (
        "srd-2014:equipment-categories/melee-weapons",
        None,
    )
    assert resolve(app, "{@itemType P}")[0] == "srd-2014:equipment-categories/potion"
    # the 2024 SRD has no categories: the 2014 SRD's are the SRD's
    assert resolve(app, "{@itemType LA|XPHB}")[0] == "srd-2014:equipment-categories/light-armor"
    assert resolve(app, "{@itemType ZZ}")[1] == "unknown-ref"
