"""The other names an entry is found by, and the forms of a name people type.

An entry's *aliases* are its declared ones (`data.aliases`: a homebrew author's, 5etools'
`alias`, the SRD's product names from its pack's alias table) and the names derived from its
own (`derived_forms`): the forms of an inverted name ("Ghoul, Darakhul" is also "Darakhul
Ghoul" and, for a creature, "Darakhul"; a creature's own form is its bare name: "Vampire,
Vampire Form" is "Vampire", "Werewolf, Human Form" "Werewolf"), and a name without the
qualifier in brackets it ends in ("Holy water (flask)" is "Holy water", "Gutripper (Vampire)"
"Gutripper"). They are stored normalised in `entry_alias` (`queries.refresh_aliases`), each
entry's whatever else is installed, and matched after the names: an entry's own name wins over
another entry's declared alias; over a derived one in a profile, the pack of higher priority
(`queries.name_contest`; at equal priority the name). Lookup, completion, tags, search and prose
(`prose.ProseNames`, link's `Resolver.known_names`) read them.

A plural ("wolves", "giant spiders", "potions of healing") is read as its singular when no
name or alias matches it as written (`singular_forms`), and a name in British spelling in the
American ("grey ooze", "armour of resistance": `spelling_forms`), or the other way round; the
callers take either only when it names one entry.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import apsw

from . import queries
from .search.spelling import may_vary, variants
from .text import normalize, numbers_in_order

# Inverted names whose second part alone names the entry: creature variants ("Aboleth,
# Nihilith"), not forms ("Werewolf, Wolf Form") or items ("Bottle, glass": not "glass"), and
# never a part that only qualifies the first (`_names_alone`).
_PART_ALONE_COLLECTIONS = frozenset({"monsters", "creatures"})
_NOT_ALONE_WORDS = frozenset(
    {"form", "forms", "swarm", "young", "adult", "ancient", "giant", "dire", "greater", "lesser"}
    | {"deep"}  # "Gnome, Deep"
    | {"tiny", "small", "medium", "large", "huge", "gargantuan"}  # "Animated Object (Huge)"
    # a version of a creature, in brackets: "Vampire (Variant)", "Zombie (Minion)"
    | {"variant", "version", "minion", "elite", "solo", "mythic", "legendary", "lair", "only"}
)
# A colour alone qualifies ("Bear, Black"); in a name it may be one ("Black Night").
_COLOURS = frozenset(
    {"black", "white", "red", "blue", "green", "brown", "gray", "grey", "gold", "silver"}
    | {"orange", "yellow", "violet", "indigo", "purple", "copper", "brass", "bronze"}
)
# The endings of English adjectives (not of nouns such as "Steed", "Darkling"): "enhanced",
# "poisonous", "scintillating", "fearless", "infernal".
_ADJECTIVE = re.compile(r"(?:[a-z]{2}(?<!e)ed|ous|[a-z]{3}(?<!l)ing|ful|less|[a-z]{3}al)$")
_HAS_DIGIT = re.compile(r"\d")
# A source's abbreviation or joined-up title ("Zombie (XMM)", "Zombie (FleeMortals)"): upper
# case letters together, or a capital inside a word.
_SOURCE_LIKE = re.compile(r"[A-Z]{2}|[a-z][A-Z]")
# A creature split into forms ("Vampire, Bat Form", "Werewolf, Wolf Form") is called by its bare
# name in its own form: the one named after it ("Vampire, Vampire Form") or its true form, which
# for the SRD's shapechangers is the human one ("Werewolf, Human Form": "back into its true
# form, which is humanoid").
_OWN_FORMS = frozenset({"true", "human", "humanoid"})


def inverted_forms(name: str, collection: str) -> list[str]:
    """The natural-order forms of a name written "Noun, Qualifier".

    >>> inverted_forms("Ghoul, Darakhul", "monsters")
    ['Darakhul Ghoul', 'Darakhul']
    >>> inverted_forms("Crossbow, hand", "equipment")
    ['hand Crossbow']
    >>> inverted_forms("Ammunition, +1, +2, or +3", "magic-items")
    []
    >>> inverted_forms("Werewolf, Human Form", "monsters")
    ['Human Form Werewolf', 'Werewolf']
    >>> inverted_forms("Werewolf, Wolf Form", "monsters")
    ['Wolf Form Werewolf']
    >>> inverted_forms("Imp, enhanced", "monsters")
    ['enhanced Imp']
    >>> inverted_forms("Bear, Black", "monsters")
    ['Black Bear']
    >>> inverted_forms("Baba Yaga's Horsemen, Black Night", "monsters")
    ["Black Night Baba Yaga's Horsemen", 'Black Night']
    """
    parts = [part.strip() for part in name.split(",")]
    if len(parts) not in (2, 3) or not all(normalize(part) for part in parts):
        return []
    if len(parts) == 3:
        return _twice_inverted(parts[0], parts[1], parts[2], collection)
    head, tail = parts
    forms = [f"{tail} {head}"]
    words = normalize(tail).split()
    if collection in _PART_ALONE_COLLECTIONS and _names_alone(tail, words):
        forms.append(tail)
    if collection in _PART_ALONE_COLLECTIONS and _is_own_form(normalize(head), words):
        forms.append(head)
    return forms


def _twice_inverted(head: str, middle: str, degree: str, collection: str) -> list[str]:
    """The natural order of a name inverted twice, "Noun, Qualifier, Degree": the three
    backwards ("Tutor, Infernal, Lesser" is "Lesser Infernal Tutor"), and for a creature
    whose middle part names it alone, the last two ("Devil, Infernal Tutor, Lesser" is
    "Lesser Infernal Tutor"). Not a list ("Food, Drink, and Lodging") nor degrees ("+1,
    +2, or +3").

    >>> inverted_forms("Devil, Infernal Tutor, Lesser", "monsters")
    ['Lesser Infernal Tutor Devil', 'Lesser Infernal Tutor']
    >>> inverted_forms("Tutor, Infernal, Lesser", "monsters")
    ['Lesser Infernal Tutor']
    >>> inverted_forms("Food, Drink, and Lodging", "rule-sections")
    []
    """
    if _HAS_DIGIT.search(degree) or normalize(degree).split()[0] in ("and", "or"):
        return []
    forms = [f"{degree} {middle} {head}"]
    if collection in _PART_ALONE_COLLECTIONS and _names_alone(middle, normalize(middle).split()):
        forms.append(f"{degree} {middle}")
    return forms


def _names_alone(tail: str, words: list[str]) -> bool:
    """Whether the second part of a creature's inverted name is a name of its own ("Ghoul,
    Darakhul": "Darakhul"; "Cultist, Fanatic": "Fanatic"), not a part that only qualifies the
    first: a name derived from it would be a bare qualifier, the same for every creature it
    qualifies ("Imp, enhanced" and "Lemure, enhanced" were both "enhanced", as "Rat, Giant"
    and twenty other Open5e creatures were "Giant"). A qualifier is written in lower case
    ("enhanced"), ends as an adjective ("Poisonous", "Scintillating", "Enhanced"), holds a word
    of form, size, age or degree (`_NOT_ALONE_WORDS`), is a colour alone ("Bear, Black": not
    "Baba Yaga's Horsemen, Black Night") or holds a number."""
    return (
        tail.removeprefix("the ")[:1].isupper()  # an epithet: "Sseth, the Sibilant Death"
        and not _ADJECTIVE.search(words[-1])
        and not _HAS_DIGIT.search(tail)
        and not _SOURCE_LIKE.search(tail)
        and not _NOT_ALONE_WORDS.intersection(words)
        and not (len(words) == 1 and words[0] in _COLOURS)
    )


def _is_own_form(head: str, tail_words: list[str]) -> bool:
    """Whether a qualifier ("Vampire Form", "Human Form") is the form a creature's bare name
    means (`_OWN_FORMS`)."""
    if len(tail_words) < 2 or tail_words[-1] != "form":
        return False
    what = " ".join(tail_words[:-1])
    return what == head or what in _OWN_FORMS


# A name ending in a qualifier in brackets: "Holy water (flask)", "Gutripper (Vampire)".
_QUALIFIED = re.compile(r"^(?P<head>[^()]*[^()\s])\s*\((?P<inside>[^()]+)\)$")


def derived_forms(name: str, collection: str) -> list[str]:
    """The other names an entry's own name gives it: its `inverted_forms` (a qualifier in
    brackets kept at the end: "hempen Rope (50 feet)"), for a name that ends in a qualifier in
    brackets the name without it and that name's inverted forms, and for a name of
    alternatives ("Flask or tankard") each alternative (`alternatives`).

    >>> derived_forms("Holy water (flask)", "equipment")
    ['Holy water']
    >>> derived_forms("Gutripper (Vampire)", "monsters")
    ['Gutripper', 'Vampire']
    >>> derived_forms("Rope, hempen (50 feet)", "equipment")
    ['hempen Rope (50 feet)', 'Rope, hempen', 'hempen Rope']
    >>> derived_forms("Ghoul, Darakhul", "monsters")
    ['Darakhul Ghoul', 'Darakhul']
    >>> derived_forms("Lemure, enhanced (variant)", "monsters")
    ['enhanced Lemure (variant)', 'Lemure, enhanced', 'enhanced Lemure']
    >>> derived_forms("Flask or tankard", "equipment")
    ['Flask', 'tankard']
    >>> derived_forms("Gnome, Deep (Svirfneblin)", "monsters")
    ['Deep Gnome (Svirfneblin)', 'Gnome, Deep', 'Deep Gnome', 'Svirfneblin']
    """
    qualified = _QUALIFIED.match(name.strip())
    if not (qualified and normalize(qualified["head"])):
        return list(dict.fromkeys(inverted_forms(name, collection) + alternatives(name)))
    head = qualified["head"].strip()
    bracket = name.strip()[len(qualified["head"]) :].strip()
    inverted = inverted_forms(head, collection)
    forms = [f"{inverted[0]} {bracket}"] if inverted else []
    forms += [head, *inverted, *alternatives(head), *_other_name(qualified["inside"], collection)]
    return list(dict.fromkeys(forms))


def _other_name(inside: str, collection: str) -> list[str]:
    """What a creature's bracket holds when it is another name of the creature, not a
    qualifier (`_names_alone`): "Koralk (Harvester Devil)", "Deep Gnome (Svirfneblin)", but
    not "Giant Rat (Diseased)", "Vampire (Variant)", "Zombie (XMM)".

    >>> _other_name("Harvester Devil", "monsters"), _other_name("Variant", "monsters")
    (['Harvester Devil'], [])
    """
    inside = inside.strip()
    words = normalize(inside).split()
    if collection in _PART_ALONE_COLLECTIONS and words and _names_alone(inside, words):
        return [inside]
    return []


# A name of alternatives: "Flask or tankard", "Jug or pitcher" (two plain names, no comma).
_ALTERNATIVES = re.compile(r"^(?P<a>[^,()]+?)\s+or\s+(?P<b>[^,()]+)$", re.IGNORECASE)


def alternatives(name: str) -> list[str]:
    """The names a name of two alternatives ("Flask or tankard") gives: each alone, when the
    two are alike, of as many words ("Create or Destroy Water" is one spell, not "Create");
    [] for any other name (one "or" only, and no comma: "Ammunition, +1, +2, or +3" lists
    degrees of one thing).

    >>> alternatives("Flask or tankard"), alternatives("Jug or pitcher")
    (['Flask', 'tankard'], ['Jug', 'pitcher'])
    >>> alternatives("Ammunition, +1, +2, or +3"), alternatives("Create or Destroy Water")
    ([], [])
    """
    found = _ALTERNATIVES.match(name.strip())
    if found is None:
        return []
    parts = [found["a"].strip(), found["b"].strip()]
    words = [normalize(p).split() for p in parts]
    if not words[0] or len(words[0]) != len(words[1]) or "or" in words[0] + words[1]:
        return []  # not two alike: "Create or Destroy Water" is not "Create"
    return parts


def in_brackets(name: str, norm: str) -> bool:
    """Whether the normalised other name `norm` of the entry `name` is what its bracket holds
    (`_other_name`): the weakest of its names, which gives way to any other entry's
    (`give_way`).

    >>> in_brackets("Koralk (Harvester Devil)", "harvester devil"), in_brackets("Koralk", "k")
    (True, False)
    """
    qualified = _QUALIFIED.match(name.strip())
    return qualified is not None and normalize(qualified["inside"]) == norm


def give_way(
    aliases: list[tuple[str, queries.NamedEntry]],
) -> list[tuple[str, queries.NamedEntry]]:
    """(normalised other name, entry) pairs without the names in brackets (`in_brackets`)
    that another entry also has as another name: "vampire" of a homebrew "Gutripper
    (Vampire)" is the SRD's "Vampire, Vampire Form"'s, whichever came first."""
    weak = [in_brackets(entry.name, norm) for norm, entry in aliases]
    strong = {norm for (norm, _), w in zip(aliases, weak, strict=True) if not w}
    return [a for a, w in zip(aliases, weak, strict=True) if not (w and a[0] in strong)]


def inverted_json(name: str, collection: str) -> str:
    """`derived_forms` as a JSON array, for SQL (`d5e_inverted`)."""
    return json.dumps(derived_forms(name, collection))


def declared_aliases(data: object) -> list[str]:
    """The `aliases` a record declares (strings only; anything else is the validator's)."""
    if not isinstance(data, dict):
        return []
    found = data.get("aliases")
    if isinstance(found, str):
        return [found]
    if isinstance(found, list):
        return [a for a in found if isinstance(a, str)]
    return []


# -- plurals ----------------------------------------------------------------------------------

_IRREGULAR = {
    "men": "man",
    "women": "woman",
    "feet": "foot",
    "teeth": "tooth",
    "mice": "mouse",
    "geese": "goose",
    "children": "child",
    "oxen": "ox",
    "lice": "louse",
    "dice": "die",
    "people": "person",
    "fungi": "fungus",
    "larvae": "larva",
    "octopi": "octopus",
}
# Words that end in s as singulars: never cut.
_NOT_PLURAL = re.compile(r"(ss|us|is|ous|ics)$")
_LINKS = frozenset({"of", "in", "from", "with", "for", "against"})


def _singulars(word: str) -> list[str]:
    """The singulars a plural English word may have, most likely first ([] if none)."""
    if word in _IRREGULAR:
        return [_IRREGULAR[word]]
    if word.endswith("men") and len(word) > 4:
        return [word[:-3] + "man"]
    if len(word) < 3 or not word.endswith("s") or _NOT_PLURAL.search(word):
        return []
    out: list[str] = []
    if word.endswith("ves"):
        out += [word[:-3] + "f", word[:-3] + "fe"]  # wolves, knives
    if word.endswith("ies") and len(word) > 4:
        out.append(word[:-3] + "y")  # spiders… harpies → harpy
    if word.endswith(("ses", "xes", "zes", "ches", "shes", "oes")):
        out.append(word[:-2])  # boxes, torches, potatoes
    out.append(word[:-1])
    return list(dict.fromkeys(out))


def singular_forms(norm: str) -> list[str]:
    """Normalised singular readings of a normalised plural name, most likely first.

    The plural is the last word, or the word before "of"-like links ("potions of healing").

    >>> singular_forms("wolves")
    ['wolf', 'wolfe', 'wolve']
    >>> singular_forms("giant spiders")
    ['giant spider']
    >>> singular_forms("potions of healing")
    ['potion of healing']
    >>> singular_forms("fireball")
    []
    """
    if " " not in norm:  # one word (most of what prose asks): its own singulars
        return _singulars(norm) if norm else []
    words = norm.split()
    if not words:
        return []
    at = len(words) - 1
    for i, word in enumerate(words[1:], start=1):
        if word in _LINKS:
            at = i - 1
            break
    return [
        " ".join([*words[:at], singular, *words[at + 1 :]]) for singular in _singulars(words[at])
    ]


_MOST_SPELLINGS = 8  # readings of one name in other spellings (each word's, combined)


def spelling_forms(norm: str) -> list[str]:
    """A normalised name in the other spellings of its words (`search.spelling`: British and
    American), every word that has one changed, then each alone; [] when none has one.

    >>> spelling_forms("grey ooze"), spelling_forms("armor of resistance")
    (['gray ooze'], ['armour of resistance'])
    """
    if not may_vary(norm):
        return []
    words = norm.split(" ")
    others = [variants(word) for word in words]
    changed = [i for i, other in enumerate(others) if other]
    if not changed:
        return []
    forms = [
        " ".join(other[0] if other else word for word, other in zip(words, others, strict=True))
    ]
    for i in changed:  # each word alone, in each of its other spellings
        forms += [" ".join([*words[:i], other, *words[i + 1 :]]) for other in others[i]]
    return list(dict.fromkeys(forms))[:_MOST_SPELLINGS]


# -- finding entries by what was typed --------------------------------------------------------


@dataclass(frozen=True)
class Found:
    """The entries a typed name means, and how it was read."""

    rows: list[queries.EntryRow]
    how: Literal["name", "alias", "inverted", "plural", "spelling"]
    matched: str = ""
    """The alias (as its pack writes it), or the singular or spelling (normalised) the name was
    read as."""


def _by_name(
    conn: apsw.Connection,
    norm: str,
    collections: Sequence[str],
    profile_id: str | None,
    pack: str | None,
) -> list[queries.EntryRow]:
    if pack is not None:
        return queries.entries_in_pack_by_norm_name(conn, pack, norm, collections)
    if profile_id is not None:
        return queries.winners_by_norm_name(conn, profile_id, norm, collections)
    return queries.entries_by_norm_name(conn, norm, collections)


def _standings(
    conn: apsw.Connection, profile_id: str | None, rows: Sequence[queries.EntryRow]
) -> dict[int, queries.Standing]:
    """Where each of `rows` stands in the profile, when they are of several packs (else {})."""
    if profile_id is None or len({r.pack for r in rows}) < 2:
        return {}
    return queries.standings(conn, profile_id, [r.id for r in rows])


def _exactly(
    conn: apsw.Connection,
    norm: str,
    collections: Sequence[str],
    profile_id: str | None,
    pack: str | None,
) -> Found | None:
    rows = _by_name(conn, norm, collections, profile_id, pack)
    # in a profile, a name that is both a winner's own and another's derived one goes by
    # priority (`queries.name_contest`); elsewhere the name wins
    contest = queries.NO_CONTEST
    if rows and profile_id is not None and pack is None:
        contest = queries.name_contest(conn, profile_id, norm)
        rows = [r for r in rows if r.id not in contest.taken]
        stand = _standings(conn, profile_id, rows)
        if stand:  # the same name in several packs: by priority
            rows.sort(key=lambda r: (r.collection, stand[r.id].rank if r.id in stand else (0, "")))
    if rows:
        return Found(rows, "name")
    aliased = queries.entries_by_alias(
        conn, norm, collections, profile_id=profile_id if pack is None else None, pack=pack
    )
    aliased = [a for a in aliased if a.kind == "alias" or a.row.id not in contest.beaten]
    if not aliased:
        return None
    # a name in brackets gives way to another entry's other name ("vampire": `give_way`)
    strong = [a for a in aliased if a.kind == "alias" or not in_brackets(a.row.name, norm)]
    aliased = strong or aliased
    # the pack the profile ranks highest first (as for a name: "svirfneblin" is the SRD's Deep
    # Gnome before Open5e's copy), then numbers in order: "bardic inspiration" is Bardic
    # Inspiration (d6), then d8, d10, d12
    ranks = _standings(conn, profile_id, [a.row for a in aliased]) if pack is None else {}
    aliased.sort(
        key=lambda a: (
            ranks[a.row.id].rank if a.row.id in ranks else (0, a.row.pack),
            a.row.collection,
            numbers_in_order(a.row.slug),
        )
    )
    unique = {a.row.id: a for a in aliased}
    first = next(iter(unique.values()))
    how: Literal["alias", "inverted"] = "alias" if first.kind == "alias" else "inverted"
    return Found([a.row for a in unique.values()], how, first.alias)


def find(
    conn: apsw.Connection,
    text: str,
    collections: Sequence[str] = (),
    *,
    profile_id: str | None = None,
    pack: str | None = None,
) -> Found | None:
    """The entries named `text`: by name, else by alias, else (a plural) by the one singular
    reading that names something, else by the one reading in other spellings that does (of the
    name, then of its singulars: "grey oozes"), else (a name ending in a quantity in brackets,
    "Arrows (20)") as the name without it. Scope: `pack`'s entries, else the winners of
    `profile_id`, else (neither) every installed entry. None when nothing (or no one reading)
    matches."""
    norm = normalize(text)
    if not norm:
        return None
    found = _exactly(conn, norm, collections, profile_id, pack)
    if found is not None:
        return found
    singulars = singular_forms(norm)
    for how, forms in (
        ("plural", singulars),
        ("spelling", [f for form in (norm, *singulars) for f in spelling_forms(form)]),
    ):
        readings = {
            tuple(r.id for r in hit.rows): (form, hit)
            for form in forms
            if (hit := _exactly(conn, form, collections, profile_id, pack)) is not None
        }
        if len(readings) > 1:
            return None
        if readings:
            form, hit = next(iter(readings.values()))
            return Found(hit.rows, how, form)  # type: ignore[arg-type]
    quantity = _QUANTITY.match(text.strip())
    if quantity:  # "Arrows (20)", as 5etools names the SRD 2014's Arrow
        return find(conn, quantity["head"], collections, profile_id=profile_id, pack=pack)
    return None


# A typed name ending in a quantity in brackets: "Arrows (20)", "Ink (1-ounce bottle)".
_QUANTITY = re.compile(r"^(?P<head>[^()]*[^()\s])\s*\([^()]*\d[^()]*\)$")
