"""`d5e/search`: hybrid retrieval (FTS5 BM25 + passage vectors), filters, browsing by attributes.

- keyword: the query's words (stop words dropped), OR-ed, ranked by BM25 over each entry's index
  text (`entry_text`: what it is and does in players' words, see `index.py`), the name column
  weighing `NAME_WEIGHT` (the name is also in the text's first line, so it counts more);
- semantic: the query's vector against the passages in scope (`search/retrieval.py`: their
  codes in memory, the best candidates scored exactly), an entry scoring by its best passage;
- hybrid (default): both lists fused by their standardised scores (z-scores against each list's
  best `FUSION_DEPTH`), keywords weighing `KEYWORD_WEIGHT`, vectors the rest; an entry found by
  keywords but not among the nearest passages is given its real similarity (asked for by id),
  an entry missing from the keyword list that list's lowest score; plus `COVERAGE_WEIGHT` times
  the share of the query's words the entry contains (coordination: BM25 alone lets one rare
  word outweigh three common ones). Until the vectors are ready it answers from keywords and
  says `semantic: false`. The keyword half (and then, in the same job, the term coverage of
  every row holding the query's terms) runs on the database's reader thread, started
  before the query is embedded, while the embedding and the semantic half run on the calling
  thread (`Database.read_beside`): all of them spend their time outside Python's lock, so
  the two cores share them. Every read of a search, on either thread, sees the database as of
  one moment (`search`, `Database.snapshot`).
- A large library (hybrid): the profile's SRD packs and the other packs are ranked apart, each
  group from its own best candidates by keywords and by meaning, its lists standardised against
  its own best (`pack_groups`), and the two rankings merged by score: a pack 40 times the
  SRD's size, its texts made of the SRD's words, cannot fill the lists the SRD's answers were
  found in nor set the scale they are measured on.
- A name typed in full puts that entry first in every mode but semantic.

The constants were chosen on the dev set with `bench/quality.py`, and checked with its
`--folds` (chosen on one half of the queries, reported on the other; see docs/benchmarks.md):
z-score fusion beat reciprocal-rank fusion there, and names weighing 2× the body beat 10×
(descriptive queries share words with names of unrelated entries: "body", "blade", "maze").

With an empty query and some filter, the entries in scope are listed by name, paged.
Filters, collections, packs and edition are applied inside each SQL query (see
`queries._SEARCH_SCOPE`), never by cutting a top-k afterwards.
"""

from __future__ import annotations

import difflib
import functools
import math
import re
from bisect import bisect_left
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from itertools import pairwise
from typing import Any, TypeVar

import apsw

from .. import filters, numeric, queries
from ..app import App
from ..db import UntilChanged
from ..errors import IndexNotReady, InvalidParams, NotFound
from ..packs import EDITION_PACKS
from ..protocol import (
    EntryRef,
    FilterInfo,
    Range,
    SearchExplain,
    SearchFiltersParams,
    SearchFiltersResult,
    SearchHit,
    SearchParams,
    SearchResult,
)
from ..search import adapter, retrieval, spelling
from ..search.embed import Embedder
from ..text import normalize
from .lookup import pack_hint, unknown_collection

P = TypeVar("P")
R = TypeVar("R")

NAME_WEIGHT = 2.0
KEYWORD_WEIGHT = 0.6
COVERAGE_WEIGHT = 2.0
FILTER_WORD_WEIGHT = 1.0
FILTER_QUERY_WEIGHT = 2.0
FILTER_SHARE_POWER = 4.0
"""A query made of filters asks to filter: one naming at least `FILTERED_FROM` (not a question)
adds `FILTER_QUERY_WEIGHT` times the share of its words that name them (`Asked.share`: 1.0 for
"CR 5 undead", 0.5 for "undead whose touch paralyses") to the power `FILTER_SHARE_POWER` to
`FILTER_WORD_WEIGHT`: the whole weight where every word names a filter, little where a
sentence names one in passing. Chosen by held out 1-13 and the dev set not dropping and the
filter sets gaining (every figure: docs/search.md, the sixteenth and seventeenth sessions):
1.0 x share^2 in the sixteenth (2.0 x share^2 lowered R@1 on held out 8: "sorcerer casts a
spell as a bonus action"); 2.0 x share^4 in the seventeenth, where 3.0 x share^8, 2.0 x
share^8 and 3.0 x share^16 each lowered held out 1's MRR@10."""
FUSION_DEPTH = 50
EDITION_PRIOR = 1.0
"""Taken from the fused score of entries of packs written for another edition (`settle`)."""
BELOW_SRD_PRIOR = 0.5
"""Taken from the fused score of entries of packs the profile ranks below its SRD (`settle`):
documents installed as reference beneath the profile's rules (Open5e's, by their loader; a
pack another workspace brought), which answer when the SRD and the packs put at or above it
do not. Chosen with every Open5e document installed, the SRD ranked apart (`PACK_GROUPS`): the
least that keeps the dev set's recall@5 within 0.02 of the SRD alone's, so the homebrew
queries keep theirs (2-fold, docs/search.md)."""
PACK_GROUPS = True
"""Rank the profile's SRD packs and the other packs apart (`pack_groups`), each group's lists
standardised against its own best, and merge the two by score. With 100,000 generated entries
beside the SRD, dev recall@5 0.883 -> 0.967; nothing changes on the SRD alone (docs/search.md)."""
VECTOR_SPREAD_FLOOR = 0.03
"""The least spread of cosine similarities the vector list's z-scores are taken against (`fuse`).
A large library packs its best 50 similarities closer together (SRD + 20,000 generated entries:
standard deviation 0.02-0.03 where the SRD alone has 0.04-0.07), which made a few hundredths
of similarity worth several z-scores and let an entry that is no better than the SRD's answer
by meaning bury it however strongly its words match. Cosine similarity has the same scale in
any library, so a floor is the spread of a small one. At 0.03 nothing moves on the SRD alone
(docs/search.md)."""
KEYWORD_DOUBT = 0.5
TRUST_TOP = 5
QUESTION_KEYWORD_SHARE = 0.25
"""A query asked as a question keeps this share of the keyword list's weight (`asks`)."""
SCENE_SHARE = 0.5
"""A query that tells a situation is compared by meaning as the mean of its vector and the
vector of its words without the scene (`scene`): this is the second's share."""
SCENE_WORDS = 2
"""At most this many words after `the` make one scene phrase (`scene`)."""
FORM_WEIGHT = 3.0
"""An entry the query names as the form something is turned into or the guise it wears
(`guises`: "turn someone into a frog", "a chest that is secretly a monster") weighs this much
less (hybrid): the answer is what turns or what wears the guise, not the Frog or the Chest."""
DISGUISE_WEIGHT = 1.0
"""A query that tells a disguise (`guises`) adds this to the entries whose text tells one
(holds a word of `DISGUISE_WORDS`: a mimic, a doppelganger, a gargoyle's False Appearance)."""
DISGUISE_WORDS = ("disguise", "shapechanger", "indistinguishable")
FIRST_PERSON_WEIGHT = 2.0
"""A query told in the first person (`first_person`: "we need to get across the chasm", "my
sword keeps bouncing off the skeleton") weighs the entries of `FIRST_PERSON_COLLECTIONS` this
much less (hybrid): the asker says what they face or hold and asks what to do about it (a
spell, a rule, a condition, a class feature), which the creature or the thing named in the
scene outranks by its words."""
FIRST_PERSON_COLLECTIONS = ("monsters", "equipment", "magic-items")
# Nearest passages asked for per entry wanted: entries have 2 passages on average, and 2 or 3
# per entry gave the same dev-set figures.
PASSAGES_PER_ENTRY = 2
# At most this many nearest passages: a page deeper than about the 2000th entry (offset up to
# 10,000 is allowed) is ranked from them, which bounds the work of one request (with the codes,
# 32 candidates are scored exactly per passage wanted; see search/retrieval.py).
MAX_KNN = 4096
MAX_WORDS = 32
SNIPPET_CHARS = 200

# Words that say nothing about which entry is meant; dropped from the keyword query. The last
# line: what is left of contractions once apostrophes split them, as the index does.
STOP_WORDS = frozenset(
    """
    a an and are as at be by can do does for from has have how i if in into is it its me my of
    on or so than that the their them then there these they this to was what when where which
    who whose why will with you your
    s t d ll m re ve isn aren wasn weren don doesn didn won wouldn couldn shouldn hasn haven hadn
    """.split()  # noqa: SIM905
)
_APOSTROPHES = re.compile("['’‘`ʼ]")
_WORD = re.compile(r"[A-Za-z]+")


# -- params -----------------------------------------------------------------------------------


RANGE = '{"min": …, "max": …}'
"""A range as a number filter takes it over JSON (the CLI says `5..8` instead)."""


def _bounded(number: float) -> float:
    """A number as SQLite compares it: beyond a double's range (`cr=99999999999999999999999`
    is past SQLite's 64-bit integers, `10**400` past a double) it is the largest double."""
    try:
        return float(number)
    except OverflowError:
        return 1e308 if number > 0 else -1e308


def _filter_meant(name: str) -> str:
    """What an unknown filter's name may mean, as a model writes one: a filter of a close name
    (`schol`), one of a filter's closed values (`swim`: `{"speed": "swim"}`), or the words of a
    filter's description (`challenge_rating`, `challengeRating`: 'cr', challenge rating)."""
    close = difflib.get_close_matches(name, sorted(filters.BY_NAME), n=1, cutoff=0.6)
    if close:
        return f"; did you mean {close[0]!r}?"
    words = " ".join(re.sub(r"([a-z])([A-Z])", r"\1 \2", name).replace("_", " ").lower().split())
    taking = [f'{{"{f.name}": "{words}"}}' for f in filters.FILTERS if words and words in f.choices]
    if taking:  # `fire`: a spell's damage, a monster's immunity, resistance…
        return f"; did you mean {' or '.join(taking[:3])}?"
    for declared in filters.FILTERS if " " in words else ():
        if words in declared.doc.lower():
            return f"; did you mean {declared.name!r} ({declared.doc})?"
    return "."


def _conditions(name: str, value: Any) -> list[dict[str, Any]]:
    """One filter's value as `{"name", "min", "max"}` conditions (several: any of them)."""
    declared = filters.BY_NAME.get(name)
    path = {"path": f"$.filters.{name}"}
    if declared is None:
        listed = ", ".join(sorted(filters.BY_NAME))
        raise InvalidParams(
            f"unknown filter {name!r}{_filter_meant(name)} The filters are: {listed}", path
        )
    values = value if isinstance(value, list) else [value]
    conditions = []
    for v in values:
        if declared.measured and isinstance(v, int | float) and not isinstance(v, bool):
            v = f"{v:g}"  # `"range": 120`: at least 120 feet
        if declared.kind == "number" and isinstance(v, str) and filters.number(v):
            v = filters.number(v)[0]  # `"cr": "1/4"`, as stat blocks write it
        if declared.kind == "number" and isinstance(v, Range):
            low = _bounded(v.min) if v.min is not None else -1e308
            high = _bounded(v.max) if v.max is not None else 1e308
            if low > high:
                raise InvalidParams(
                    f"filter {name!r}: min {v.min:g} is above max {v.max:g}: nothing is in it",
                    path,
                )
            conditions.append({"name": name, "min": low, "max": high})
        elif declared.kind == "number" and isinstance(v, int | float) and not isinstance(v, bool):
            conditions.append({"name": name, "min": _bounded(v), "max": _bounded(v)})
        elif declared.kind == "text" and isinstance(v, str):
            try:
                found = declared.conditions(v)
            except ValueError as exc:
                raise InvalidParams(f"filter {name!r} {exc}; not {v!r}", path) from None
            conditions += [{"name": a, "min": low, "max": high} for a, low, high in found]
        elif declared.kind == "bool" and isinstance(v, bool):
            conditions.append({"name": name, "min": int(v), "max": int(v)})
        else:
            expected = {
                "number": f"a number or {RANGE}",
                "text": "a string or a list of strings",
                "bool": "true or false",
            }[declared.kind]
            raise InvalidParams(f"filter {name!r} takes {expected}, not {v!r}", path)
    return [c | {"filter": name} for c in conditions]


_NOUNS = {"monsters": "monster", "spells": "spell", "magic-items": "item", "equipment": "item"}
_SAYS = {
    "language": "speaks {v}",
    "casts": "casts {v}",
    "grants": "grants {v}",
    "alignment": "is {v}",
    "environment": "lives in {v}",
    "duration": "lasts {v}",
    "castingTime": "takes {v} to cast",
    "range": "has the range {v}",
    "inflicts": "inflicts {v}",
}
MAX_HINT_VALUES = 5000
"""Values of one filter compared with an unknown one, at most (one index seek each)."""


def unknown_scope_hints(app: App, params: SearchParams) -> list[str]:
    """A pack, collection or edition the search is limited to that nothing installed has,
    named (with the nearest names) rather than answered with an empty list alone; and one
    whose packs are installed but off in this profile, said so."""
    hints = []
    enabled = queries.profile_packs(app.conn, app.profile) if params.packs or params.edition else {}
    for pack in params.packs:
        if queries.get_pack(app.conn, pack) is None:
            known = queries.pack_by_source(app.conn, pack)  # a 5etools source or abbreviation
            mean = f"; did you mean {known!r}?" if known else pack_hint(app, pack)
            hints.append(f"packs: no pack {pack!r} is installed{mean}")
        elif pack not in enabled:
            hints.append(f"packs: pack {pack!r} is off in this profile (`d5e packs enable {pack}`)")
    for collection in params.collections:
        if problem := unknown_collection(app, collection):
            hints.append(f"collections: {problem}")
    if params.edition is not None:
        editions = queries.pack_editions(app.conn)
        if params.edition not in editions:
            held = ", ".join(editions)
            hints.append(
                f"edition: no installed pack is of edition {params.edition!r} (installed: {held})"
            )
        else:
            rows = queries.installed_packs(app.conn)
            of_edition = [r.pack.id for r in rows if r.pack.edition == params.edition]
            if not any(pack in enabled for pack in of_edition):
                hints.append(
                    f"edition: the packs of edition {params.edition!r} ({', '.join(of_edition)})"
                    " are off in this profile (`d5e packs enable` turns one on)"
                )
    return hints


def _hints(app: App, params: SearchParams) -> list[str]:
    return unknown_scope_hints(app, params) + unknown_value_hints(app, params)


def unknown_value_hints(app: App, params: SearchParams) -> list[str]:
    """For each text value of an open-set filter (one without a closed list of choices:
    language, casts, grants, duration, environment, alignment…) that no winner of the profile
    has: what is wrong, with the closest values some winner has ("no monster speaks 'elvsh';
    did you mean 'elvish'?"). Values that some entry has cost one index seek each."""
    hints = []
    for name, value in params.filters.items():
        declared = filters.BY_NAME.get(name)
        if declared is None or declared.kind != "text" or declared.choices:
            continue
        for typed in value if isinstance(value, list) else [value]:
            if not isinstance(typed, str):
                continue
            held = _value_held(app, declared, typed)
            if held is None:
                hints.append(_unknown_value_hint(app, declared, typed, params.collections))
    return hints


def _base_value(declared: filters.Filter, typed: str) -> str:
    """The stored text of a typed value, without its distance (`telepathy 120` → `telepathy`)."""
    ((attr, low, _),) = declared.conditions(typed)
    return str(low) if attr == declared.name else attr.partition(":")[2]


def _value_held(app: App, declared: filters.Filter, typed: str) -> str | None:
    value = _base_value(declared, typed)
    return (
        value
        if queries.attribute_held(app.conn, app.profile, declared.name, value, value)
        else None
    )


def _unknown_value_hint(
    app: App, declared: filters.Filter, typed: str, collections: list[str]
) -> str:
    asked = [c for c in declared.collections if not collections or c in collections]
    nouns = list(dict.fromkeys(_NOUNS.get(c, c) for c in asked or declared.collections))
    says = _SAYS.get(declared.name, f"has {declared.name} {{v}}").format(v=repr(typed))
    problem = f"filter {declared.name!r}: no {' or '.join(nouns)} {says}"
    values = [
        str(v)
        for v in queries.attribute_distinct_values(app.conn, declared.name, MAX_HINT_VALUES)
        if isinstance(v, str)
    ]
    wanted = _base_value(declared, typed)
    close = difflib.get_close_matches(wanted, values, n=6, cutoff=0.7)
    close = [v for v in close if queries.attribute_held(app.conn, app.profile, declared.name, v, v)]
    if close:
        return f"{problem}; did you mean {' or '.join(repr(v) for v in close[:3])}?"
    if not queries.attribute_held(app.conn, app.profile, declared.name, "", chr(0x10FFFF)):
        return f"{problem}: the profile's packs give no {declared.name} at all"
    return f"{problem} (`d5e/search/filters` lists the values held)"


def _scope(app: App, params: SearchParams) -> queries.SearchScope:
    conditions = [c for name, v in params.filters.items() for c in _conditions(name, v)]
    return queries.SearchScope(
        profile=app.profile,
        collections=params.collections,
        packs=params.packs,
        edition=params.edition,
        filters=conditions,
    )


def query_words(text: str) -> list[str]:
    """The words of a query that say what is meant: split where the index splits them ("can't"
    is "can" and "t" there, while names are matched with apostrophes dropped), normalised,
    stop words dropped, once each."""
    words = [w for w in normalize(_APOSTROPHES.sub(" ", text)).split() if w not in STOP_WORDS]
    return list(dict.fromkeys(words))[:MAX_WORDS]


def respelled(app: App, words: list[str]) -> dict[str, str]:
    """Query words the index holds in another spelling more often (`armour` → `armor` on the
    SRD, `armor` → `armour` in a British pack), each with that spelling (`spelling.variants`;
    the index's vocabulary decides)."""
    candidates = {w: spelling.variants(w) for w in words}
    candidates = {w: vs for w, vs in candidates.items() if vs}
    if not candidates:
        return {}
    stems = {
        w: queries.index_terms(app.conn, [w]) for ws in candidates.items() for w in [ws[0], *ws[1]]
    }
    counts = app.term_counts(sorted({t for ts in stems.values() for t in ts}))

    def held(word: str) -> int:
        return min((counts[t] for t in stems[word]), default=0)

    out = {}
    for word, others in candidates.items():
        best = max(others, key=held)
        if held(best) > held(word):
            out[word] = best
    return out


COLLECTION_WORDS = {
    "spell": "spells",
    "monster": "monsters",
    "condition": "conditions",
    "class": "classes",
    "item": "magic-items",
    "race": "races",
    "feat": "feats",
}
"""Words that name a collection ("a ranger spell that …"): a soft boost like the filters a
query names. Not "creature" (spells are asked for by what they do to creatures), nor "rules"."""


def collection_words(text: str) -> set[str]:
    """The collections a query names by `COLLECTION_WORDS`, singular or plural."""
    words = normalize(text.lower()).split()
    named = (
        w if w in COLLECTION_WORDS else w.removesuffix("es" if w == "classes" else "s")
        for w in words
    )
    return {COLLECTION_WORDS[w] for w in named if w in COLLECTION_WORDS}


_ORDINALS = "first second third fourth fifth sixth seventh eighth ninth".split()  # noqa: SIM905
_NUMBERS = "one two three four five six seven eight nine".split()  # noqa: SIM905
_NTH = rf"(?:[0-9](?:st|nd|rd|th)|{'|'.join(_ORDINALS)})"
_ANY_N = rf"(?:[0-9]|{'|'.join(_NUMBERS)})"
_CR_VALUE = r"\d+(?:/\d+)?"
_CR_WORD = r"(?:cr|challenge(?: rating)?)"
_BELOW = r"under|below|less than|lower than|beneath|fewer than"
_ABOVE = r"above|over|more than|higher than|greater than"
_AT_MOST = r"up to|at most|no more than|no higher than"
_AT_LEAST = r"at least|no less than|no lower than"
_OR_LESS = r"(?:or|and) (?:lower|less|below|under|fewer)"
_OR_MORE = r"(?:or|and) (?:higher|more|above|over|up)"
# (filter, pattern): a number the query asks for, or a range of them, in the words people
# use. Groups: `n` (the number), `m` (a range's other end), `low`/`high` (low-level), `below`,
# `above`, `most`, `least`, `less`, `more` (which side the number bounds). Tried in order; a
# phrase found is taken out of the text before the next is tried.
_NUMBER_PHRASES = [
    ("level", rf"(?:(?:(?P<below>{_BELOW})|(?P<above>{_ABOVE})|(?P<most>{_AT_MOST})|"
              rf"(?P<least>{_AT_LEAST})) )?(?:(?P<n>{_NTH})[ -]level|level[ -](?P<n2>{_ANY_N}))"
              rf"(?: (?:spells? )?(?:(?P<less>{_OR_LESS})|(?P<more>{_OR_MORE})))?"),
    ("level", r"(?P<low>low)[ -]level|(?P<high>high)[ -]level"),
    ("cr", rf"between (?:a )?{_CR_WORD} ?(?P<n>{_CR_VALUE}) and (?P<m>{_CR_VALUE})"),
    ("cr", rf"{_CR_WORD} ?(?P<n>{_CR_VALUE}) ?(?:to|through|-|–|and) ?(?:{_CR_WORD} ?)?"
           rf"(?P<m>{_CR_VALUE})\b"),
    ("cr", rf"(?:(?:(?P<below>{_BELOW})|(?P<above>{_ABOVE})|(?P<most>{_AT_MOST})|"
           rf"(?P<least>{_AT_LEAST})) )?(?:an? )?{_CR_WORD} ?(?:of )?(?P<n>{_CR_VALUE})"
           rf"(?:(?P<more>\+)| (?:(?P<less>{_OR_LESS})|(?P<more2>{_OR_MORE})))?"),
    ("cr", rf"(?P<low>low)[ -]{_CR_WORD}|(?P<high>high)[ -]{_CR_WORD}"),
]  # fmt: skip
_NUMBER_RES = [(name, re.compile(rf"\b(?:{p})(?![\w/])")) for name, p in _NUMBER_PHRASES]
LOW_HIGH = {"level": (3, 6), "cr": (4, 11)}
""""low-level" spells are of level 3 or lower (cantrips too), "high-level" of 6 or higher;
a "low CR" is 4 or lower, a "high CR" 11 or higher."""
_EXCLUSIVE = 1e-6  # "under CR 3": below 3, not 3


def _number_value(word: str) -> float:
    if word in _ORDINALS:
        return float(_ORDINALS.index(word) + 1)
    if word in _NUMBERS:
        return float(_NUMBERS.index(word) + 1)
    digits = re.match(r"\d+(?:/\d+)?", word)
    numbers = filters.number(digits[0]) if digits else []  # "1/0": none
    value = float(numbers[0]) if numbers else 0.0
    return value if math.isfinite(value) else 0.0  # "CR 999…" (400 digits)


def _asked_number(name: str, m: re.Match[str]) -> Any:
    """The value (a number, or a `Range`) one phrase of `_NUMBER_PHRASES` asks for."""
    groups = {k: v for k, v in m.groupdict().items() if v}
    low, high = LOW_HIGH[name]
    if "low" in groups:
        return Range(max=low)
    if "high" in groups:
        return Range(min=high)
    n = _number_value(groups.get("n") or groups["n2"])
    if "m" in groups:
        return Range(min=min(n, _number_value(groups["m"])), max=max(n, _number_value(groups["m"])))
    if "below" in groups:
        return Range(max=n - _EXCLUSIVE)
    if "above" in groups:
        return Range(min=n + _EXCLUSIVE)
    if "most" in groups or "less" in groups:
        return Range(max=n)
    if "least" in groups or "more" in groups or "more2" in groups:
        return Range(min=n)
    return int(n) if n.is_integer() and abs(n) < 2**53 else n  # SQLite's integers are 64-bit


_CANTRIP = re.compile(r"\bcantrips?\b")
WORD_FILTERS = (
    "type", "school", "rarity", "class", "size", "alignment", "damage", "inflicts", "speed",
    "sense", "property", "weapon", "weaponRange",
)  # fmt: skip
"""Filters whose values a query may name in words: `undead`, `evocation`, `very rare`,
`wizard` (with `spell` or `cantrip` in the query), `huge`, `lawful evil`, `fire`, `paralyze`,
`flying`, `truesight`, `finesse`, `martial` and `ranged` (of weapons)."""
SELF_EVIDENT = ("cr", "type", "school", "rarity")
"""Filters whose words name their collection ("CR 5", "undead", "evocation", "very rare"). The
others are taken only when the query asks for one of their collections, by a word of
`COLLECTION_WORDS`, `cantrip`, or a filter of these: "3rd level" of a rogue is the rogue's
table, "charmed" in "what does a charmed creature do" is the condition, "bonus action" and
"cold" are words of many a rule; beside "spells" they are a spell's level, what it inflicts,
its casting time, its damage."""
COMMON_VALUES = frozenset({"any", "good", "common", "none", "walk", "special"})
"""Values of `WORD_FILTERS` too common as words to be meant as a filter ("a good spell for")."""
_DAMAGE_WORDS = "|".join((*filters.DAMAGE_TYPES, "nonmagical", "non-magical"))
_DAMAGE_LIST = rf"(?:{_DAMAGE_WORDS})(?:(?:,|,? and|,? or) (?:{_DAMAGE_WORDS}))*"
_DEFENCES = {"resist": "resist", "immun": "immune", "vulnerab": "vulnerable", "weak": "vulnerable"}
_DEFENCE = re.compile(
    # "resistant to fire damage", "immune to cold and fire", "weak to radiant", "fire-resistant",
    # "lightning immunity", "poison immune"
    rf"\b(resist|immun|vulnerab)\w*(?: to| against)?(?: (?:both|all|any|either))? "
    rf"({_DAMAGE_LIST})(?: damage| weapons?| attacks?)?\b"
    rf"|\b(weak)(?:ness)? (?:to|against) ({_DAMAGE_LIST})(?: damage| weapons?| attacks?)?\b"
    rf"|\b({_DAMAGE_LIST})(?: damage)?[ -](resist|immun|vulnerab)\w*"
)
_CONDITION_WORDS = (
    "charmed|charm|frightened|frighten|fear|paralyzed|paralysed|paralysis|petrified|petrification|"
    "poisoned|blinded|blindness|deafened|deafness|stunned|restrained|grappled|prone|exhaustion|"
    "exhausted|unconscious|incapacitated"
)
_CONDITION_IMMUNITY = re.compile(
    # "immune to being frightened", "can't be charmed", "charm-immune": not "immune to poison"
    # (the damage), nor "charmed" as what a monster inflicts
    rf"\b(?:immun\w*|resistant) (?:to|against) (?:being )?(?:the )?({_CONDITION_WORDS})"
    rf"(?: condition)?\b"
    rf"|\b(?:can ?not|can t|cannot|never|won t) (?:be |get |become )(?:knocked )?"
    rf"({_CONDITION_WORDS})\b"
    rf"|\b({_CONDITION_WORDS})[ -]immun\w*"
)
_MOVES = {"flying": "fly", "flies": "fly", "swimming": "swim", "swims": "swim", "climbing": "climb",
          "climbs": "climb", "burrowing": "burrow", "burrows": "burrow", "walking": "walk",
          "movement": "walk", "land": "walk"}  # fmt: skip
_OVER = r"(?:over|above|more than|greater than|faster than)"
_FEET_WORDS = r"(?: ?(?:ft|feet|foot)\b\.?)"
_SPEED = re.compile(
    # "a flying speed of 90 feet or more", "speed over 40 ft", "swims 60 feet or faster"
    rf"\b(?:(fly|flying|swim|swimming|climb|climbing|burrow|burrowing|walk|walking|movement|land)"
    rf" )?speeds? (?:of )?(?:(at least|of at least) |({_OVER}) )?(\d+){_FEET_WORDS}?"
    rf"(?: or (?:more|higher|faster|better|greater))?"
    rf"|\b(fly|flies|swim|swims|climb|climbs|burrow|burrows)(?: at)? (?:(at least) |({_OVER}) )?"
    rf"(\d+){_FEET_WORDS}(?: or (?:more|faster|higher|better))?"
)
_SENSE = re.compile(
    # "darkvision 120 ft", "truesight of 120 feet", "60-foot blindsight"
    rf"\b({'|'.join(filters.SENSES)})(?: (?:of|out to|to|with a range of))?(?: at least)? (\d+)"
    rf"{_FEET_WORDS}?|\b(\d+)[ -]?(?:ft|feet|foot)\.? ({'|'.join(filters.SENSES)})\b"
)
# "heavy armor": the armor's kind, and "armor" left for the item's type
_ARMOR = re.compile(rf"\b({'|'.join(filters.ARMOR_KINDS[:3])}) (armou?r)\b")
_COMPONENT = re.compile(
    # "without material components", "no verbal or somatic component", "an expensive material
    # component", "spells that consume their material component", "a material component"
    r"\b(?:no|without|not|non|lacks?|lacking|needs? no|requires? no|don t (?:need|require|use)|"
    r"doesn t (?:need|require|use))(?: an?| any| the)?[ -](verbal|somatic|material)"
    r"(?: (?:or|and|nor) (verbal|somatic|material))?(?: components?)?\b"
    r"|\b(costly|expensive|consumed|consumes?)\b(?= (?:\w+ ){0,3}components?\b)"
    r"|\b(verbal|somatic|material) components?\b"
)
_DURATION = re.compile(
    # "instantaneous", "until dispelled", "lasting up to 1 hour", "a 24 hour duration", "10 day
    # spells" (a casting time is never days or rounds)
    r"\b(instantaneous|until dispelled)\b"
    r"|\b(?:lasts?|lasting|last for|lasting for|duration of|duration)(?: up to| for| at least)? "
    r"((?:\d+|an?|one)[ -](?:round|minute|hour|day)s?)\b"
    r"|\b((?:\d+|an?|one)[ -](?:round|minute|hour|day)s?)[ -](?:long )?duration\b"
    r"|\b(\d+[ -](?:round|day)s?)(?= spells?\b)"
)
_DISTANCE = re.compile(
    # a spell's range as a distance: "a range of 120 feet", "a range of a mile", "60-foot range"
    r"\brange of (?:at least )?((?:\d+|an?|one) ?(?:feet|foot|ft|miles?))\b"
    r"|\b(\d+)[ -](?:foot|feet|ft)[ -]range\b"
)
_LANGUAGE = re.compile(
    # "creatures that speak Draconic", "Sylvan-speaking", "telepathic": a language some entry
    # speaks (checked against the values held)
    r"\b(?:speaks?|speaking|talks?|talking|fluent in|knows?)(?: in)? ([a-z]+(?: [a-z]+)?)"
    r"|\b([a-z]+)[ -]speak(?:ing|ers?)\b|\b(telepath)(?:ic|y|s)\b"
)
# yes/no filters a word names ("needs concentration", "a ritual", "legendary", "lair actions"),
# "not"/"no"/"without" before it (within `_NEGATION_REACH` words) asking for those without it
_FLAGS = ("concentration", "ritual", "attunement", "legendary", "lair")
_NEGATIONS = frozenset("no not without don t doesn isn aren never non".split())  # noqa: SIM905
_NEGATION_REACH = 3
_CUED = {
    # a spell's range, named beside the word: "a range of touch", "touch-range", "range: self",
    # "touch spells"
    "range": re.compile(
        r"\brange(?: of)? (touch|self|sight)\b|\b(touch|self|sight)[ -]range\b"
        r"|\b(touch|self)(?= spells?\b)"
    ),
    # casting times of more than a word ("bonus action", "10 minutes to cast"), or a reaction
    "save": re.compile(
        r"\b(strength|dexterity|constitution|intelligence|wisdom|charisma|str|dex|con|int|wis|cha)"
        r" (?:saving throws?|saves?)\b"
    ),
    "attack": re.compile(r"\b(melee|ranged) spell attacks?\b"),
    "castingTime": re.compile(
        r"\b(bonus action|reaction|\d+ (?:minute|hour)s?)(?= spells?\b| to cast\b| casting\b)|"
        r"\b(?:casting time of|cast (?:as|in|with) an?|cast in|takes?|take) "
        r"(bonus action|reaction|(?:an?|one|\d+) (?:minute|hour)s?|an? (?:bonus action|reaction))"
        r"\b|\b(?:with|as|using|use) (?:your|their|its) (bonus action|reaction)\b"
        r"|\b(bonus action)\b"
    ),
}
CREATURE_WORDS = frozenset("creatures critters beasties".split())  # noqa: SIM905
"""Words that name monsters when the query names a filter only monsters have ("tiny
creatures", "creatures that speak Draconic"): not otherwise, for spells are asked for by what
they do to creatures (`COLLECTION_WORDS`), nor in the singular ("make a creature huge or
tiny" asks for a spell)."""


def _phrases(app: App, text: str) -> tuple[list[tuple[str, Any, list[str]]], str]:
    """The filters a query names by phrases of several words (`_DEFENCE`, `_SPEED`, ...) and
    the text without them, so that their words are not read again one by one ("resistant to
    fire" is no fire damage, "can't be charmed" charms nobody, "heavy armor" is armor)."""
    found: list[tuple[str, Any, list[str]]] = []

    def take(pattern: re.Pattern[str], read: Callable[[re.Match[str]], list[tuple[str, Any]]],
             keep: Callable[[re.Match[str]], str] = lambda m: " ") -> None:  # fmt: skip
        nonlocal text
        for m in pattern.finditer(text):
            found.extend((name, value, m[0].split()) for name, value in read(m))
        text = pattern.sub(keep, text)

    def defence(m: re.Match[str]) -> list[tuple[str, Any]]:
        kind = m[1] or m[3] or m[6]
        named = re.findall(_DAMAGE_WORDS, m[2] or m[4] or m[5])
        return [(_DEFENCES[kind], d.replace("non-magical", "nonmagical")) for d in named]

    def speed(m: re.Match[str]) -> list[tuple[str, Any]]:
        kind, over, n = (m[1], m[3], m[4]) if m[4] else (m[5], m[7], m[8])
        kind = _MOVES.get(kind or "walk", kind or "walk")
        return [("speed", f"{kind} {int(n) + 1 if over else int(n)}")]

    def distance(m: re.Match[str]) -> list[tuple[str, Any]]:
        said = m[1] or f"{m[2]} feet"
        return [("range", re.sub(r"^(?:an?|one) ?", "1 ", said))]

    def language(m: re.Match[str]) -> list[tuple[str, Any]]:
        if m[3]:
            return [("language", "telepathy")]
        said = (m[1] or m[2]).split()
        tried = [" ".join(said), said[0]] if len(said) > 1 else said
        held = queries.attribute_values_held(app.conn, "language", tried)
        return [("language", held[0])] if held else []

    take(_DEFENCE, defence)
    take(_CONDITION_IMMUNITY, lambda m: [("conditionImmune", next(g for g in m.groups() if g))])
    take(_SPEED, speed)
    take(_SENSE, lambda m: [("sense", f"{m[1] or m[4]} {m[2] or m[3]}")])
    take(_ARMOR, lambda m: [("armor", m[1])], keep=lambda m: f" {m[2]} ")
    take(
        _COMPONENT,
        lambda m: (
            [("component", f"no {g}") for g in (m[1], m[2]) if g]
            + [("component", g) for g in (m[3], m[4]) if g]
        ),
    )
    take(_DURATION, lambda m: [("duration", next(g for g in m.groups() if g))])
    take(_DISTANCE, distance)
    take(_LANGUAGE, language)
    return found, text


@dataclass(frozen=True)
class Asked:
    """What a query asks for in the vocabulary of the filters (`asked_filters`)."""

    pairs: list[tuple[str, Any]]
    """(filter, value): a value as `-f` takes it (a number, a `Range`, text, true/false)."""
    share: float = 0.0
    """The share of the query's words (`query_words`) that name a filter or a collection: 1.0
    for "CR 5 undead" and "rare magic armor" (a query made of filters), 0.5 for "undead whose
    touch paralyses"."""
    collections: frozenset[str] = frozenset()
    """The collections the query names (`COLLECTION_WORDS`, or `CREATURE_WORDS` beside a
    filter of monsters alone): each counts as one filter more."""
    negated: frozenset[str] = frozenset()
    """Filters of `WORD_FILTERS` whose value the query names after a negation ("martial
    weapons that aren't heavy", "a fiend that isn't a devil"): met by the entries of its
    collections without that value, not by those with it."""
    denied: frozenset[str] = frozenset()
    """The words naming those values, and yes/no filters asked without (`no concentration`,
    `don't need attunement`): not searched for, by keywords or by meaning, since the entries
    holding them are what the query excludes ("heavy", "attunement")."""

    def labels(self) -> dict[str, list[str]]:
        """Each filter's values as `-f` writes them, by filter: `cr=5`, `level>=4`, `cr<3`;
        a negated one `property!=heavy`."""
        found: dict[str, list[str]] = {}
        for name, value in self.pairs:
            label = _filter_label(name, value)
            if name in self.negated:
                label = label.replace("=", "!=", 1)
            found.setdefault(name, []).append(label)
        return found

    def conditions(self) -> list[dict[str, Any]]:
        """The pairs as scope conditions (`_conditions`); a value a filter never takes is
        dropped."""
        found = []
        for name, value in self.pairs:
            try:
                found += _conditions(name, value)
            except InvalidParams:
                continue
        return found


def _filter_label(name: str, value: Any) -> str:
    """`cr=5`, `type=undead`, `level>=4`, `cr<3` (an exclusive bound: "under CR 3")."""
    if not isinstance(value, Range):
        return f"{name}={filters.value_text(value)}"

    def shown(x: float) -> str:
        x = float(x)
        return filters.value_text(int(x) if x.is_integer() and abs(x) < 2**53 else x)

    low, high = value.min, value.max
    if low is not None and high is not None:
        return f"{name}={shown(low)}..{shown(high)}"
    if high is not None:
        near = round(high, 3)
        return f"{name}<{shown(near)}" if near != high else f"{name}<={shown(high)}"
    assert low is not None
    near = round(low, 3)
    return f"{name}>{shown(near)}" if near != low else f"{name}>={shown(low)}"


def filter_words(app: App, text: str) -> list[tuple[str, Any]]:
    """The (filter, value) pairs a query names (`asked_filters`)."""
    return asked_filters(app, text).pairs


def asked_filters(app: App, text: str) -> Asked:
    """What a query names in the vocabulary of `-f` filters: a spell level (`3rd-level`,
    `level 3`, `third level`, `cantrip`, `4th level or higher`, `low-level`), a challenge rating
    (`CR 5`, `challenge 1/2`, `under CR 3`, `CR 1 to 4`, `low CR`), phrases of `_phrases`
    (`resistant to fire`, `can't be charmed`, `a flying speed of 90 feet or more`, `darkvision
    120 ft`, `heavy armor`, `without material components`, `lasting up to 1 hour`, `a range of
    120 feet`, `speaks Draconic`), words or word pairs that are some entry's value of a filter
    of `WORD_FILTERS`, singular or plural (`undead`, `dragons`, `evocation`, `very rare`,
    `fire`, `paralyzes`, `finesse`, `martial`), yes/no filters (`concentration`, `no
    concentration`, `ritual`, `legendary`), and a range, save, attack or casting time named as
    one (`range of touch`, `Dex save`, `melee spell attack`, `bonus action`).

    A filter of `SELF_EVIDENT` is taken alone; another when the query names one of its
    collections (`COLLECTION_WORDS`, `cantrip`, a value of `SELF_EVIDENT` held only there, or
    `CREATURE_WORDS` beside a filter of monsters alone). A word two filters of different
    collections read ("legendary": an item's rarity, a monster's actions) is read as the one
    whose collection the rest of the query names."""
    low = _APOSTROPHES.sub(" ", text.lower())
    found: list[tuple[str, Any, list[str]]] = []  # (filter, value, the words naming it)
    rest = low
    for name, pattern in _NUMBER_RES:
        found += [(name, _asked_number(name, m), m[0].split()) for m in pattern.finditer(rest)]
        rest = pattern.sub(" ", rest)
    cantrip = _CANTRIP.search(low)
    if cantrip:
        found.append(("level", 0, [cantrip[0]]))
    found.sort(key=lambda f: f[0] != "level")  # the level first, then the challenge
    phrased, rest = _phrases(app, rest)
    found += phrased
    words = normalize(rest).split()
    phrases = [*(f"{a} {b}" for a, b in pairwise(words)), *words]
    source = {c: p for p in reversed(phrases) for c in _forms(p)}  # the pair over the word
    candidates = list(dict.fromkeys(c for p in phrases for c in _forms(p)))
    values = _word_filter_values(app)
    negated: set[tuple[str, Any]] = set()
    for name in WORD_FILTERS:
        declared = filters.BY_NAME[name]
        known = values.get(name)
        typed = {(declared.read(c) if declared.read else c): c for c in candidates}
        typed = {v: c for v, c in typed.items() if v not in COMMON_VALUES}
        if known is None:  # too many to hold: one seek per candidate
            held = queries.attribute_values_held(app.conn, name, list(typed))
        else:
            held = [v for v in typed if v in known]
        # "very rare" named: not "rare" as well
        held = [v for v in held if not any(f" {v}" in f" {o}" for o in held if o != v)]
        if name == "damage":  # "spells that force a save": a verb, not force damage
            held = [v for v in held if not _as_verb(words, v)]
        found += [(name, v, source[typed[v]].split()) for v in held]
        negated |= {(name, v) for v in held if _negated(words, source[typed[v]].split()[0])}
    for name in _FLAGS:
        for i, w in enumerate(words):
            if w in (name, f"{name}s"):
                before = set(words[max(0, i - _NEGATION_REACH) : i])
                after = (
                    words[i + 1 : i + 2]
                    if words[i + 1 : i + 2] in (["action"], ["actions"])
                    else []
                )
                found.append((name, not before & _NEGATIONS, [w, *after]))
    for name, pattern in _CUED.items():
        for m in pattern.finditer(rest):
            found.append((name, next(g for g in m.groups() if g), m[0].split()))

    def of(f: tuple[str, Any, list[str]]) -> set[str]:
        """The collections a filter's value is of: those holding it, for a value of
        `SELF_EVIDENT` ("weapon" of items, "dragon" of monsters), else the filter's."""
        value = f[1] if isinstance(f[1], str) and f[0] in SELF_EVIDENT else None
        held = values.get(f[0], {}).get(value) if value is not None else None
        return set(held or filters.BY_NAME[f[0]].collections)

    named = collection_words(low) | ({"spells"} if cantrip else set())
    monsters_only = any(of(f) == {"monsters"} for f in found)
    creature = monsters_only and not named and CREATURE_WORDS & set(words)
    creatures = {"monsters"} if creature else set()

    def implied(among: list[tuple[str, Any, list[str]]]) -> set[str]:
        return named | creatures | {c for f in among if f[0] in SELF_EVIDENT for c in of(f)}

    def rivalled(f: tuple[str, Any, list[str]]) -> bool:
        """Read by the same word as a filter of other collections, and the rest of the
        query names the other's collection, not this one's."""
        mine = set(f[2])
        if not any(g is not f and mine & set(g[2]) and not of(g) & of(f) for g in found):
            return False
        rest_names = implied([g for g in found if not mine & set(g[2])])
        return bool(rest_names) and not rest_names & of(f)

    found = [f for f in found if not rivalled(f)]
    content = query_words(text)

    def naming(among: list[tuple[str, Any, list[str]]]) -> set[str]:
        """The query's words that name these filters or a collection."""
        used = {w for f in among for w in normalize(" ".join(f[2])).split()}
        used |= {w for w in content if collection_words(w) or (creatures and w in CREATURE_WORDS)}
        return used.intersection(content)

    implies = implied(found)
    # a query made of filter words alone, naming no collection ("vulnerable to radiant",
    # "intelligence saves"), asks for them whatever their collection
    alone = not implies and len(content) >= FILTERED_FROM and naming(found) == set(content)
    taken = [f for f in found if alone or f[0] in SELF_EVIDENT or implies & of(f)]
    pairs = list({repr(f[:2]): (f[0], _typed(f[0], f[1])) for f in taken}.values())
    share = len(naming(taken)) / len(content) if pairs and content else 0.0
    # "martial weapons that aren't heavy", "magic items that don't need attunement"
    denied = [f for f in taken if f[0] in WORD_FILTERS and f[:2] in negated]
    without = denied + [f for f in taken if f[0] in _FLAGS and f[1] is False]
    return Asked(
        pairs,
        share,
        frozenset(named | creatures),
        frozenset(f[0] for f in denied),
        frozenset(w for f in without for w in f[2]),
    )


def _negated(words: list[str], first: str) -> bool:
    """Whether a negation (`_NEGATIONS`) stands within `_NEGATION_REACH` words before the
    first place `first` is among `words`: "that aren't heavy", "without a light"."""
    if first not in words:
        return False
    i = words.index(first)
    return bool(set(words[max(0, i - _NEGATION_REACH) : i]) & _NEGATIONS)


_RELATIVES = frozenset("that which who".split())  # noqa: SIM905
_OBJECTS = frozenset(
    "a an the its their his her them him it your my our each every any all one some".split()  # noqa: SIM905
)


def _as_verb(words: list[str], value: str) -> bool:
    """Whether a damage type's word is used as a verb wherever the query holds it: before a
    determiner or an object pronoun ("force a saving throw", "fire an arrow", "poison the
    well"), or right after a relative pronoun ("spells that force saving throws"). A damage
    type as a noun or an adjective is followed by neither ("fire damage", "force spells")."""

    def verb(i: int) -> bool:
        after = words[i + 1] if i + 1 < len(words) else ""
        return after in _OBJECTS or (i > 0 and words[i - 1] in _RELATIVES)

    spots = [i for i, w in enumerate(words) if value in _forms(w)]
    return bool(spots) and all(verb(i) for i in spots)


def _typed(name: str, value: Any) -> Any:
    """A filter's value read from the query as `-f` stores it ("paralysis" → "paralyzed",
    "expensive" → "costly", "con" → "constitution"), for the labels `--explain` shows."""
    declared = filters.BY_NAME[name]
    if isinstance(value, str) and declared.read is not None and not declared.measured:
        return declared.read(value)
    return value


def _forms(phrase: str) -> list[str]:
    """A word or word pair as typed and as its singular or base form: `dragons` → `dragon`,
    `paralyzes` → `paralyze`, `petrifies` → `petrify`."""
    forms = [phrase, phrase.removesuffix("s")]
    if phrase.endswith("ies"):
        forms.append(phrase[:-3] + "y")
    if phrase.endswith("ing") and len(phrase) > 5:  # "flying", "swimming", "burrowing"
        stem = phrase[:-3]
        forms.append(stem[:-1] if stem[-1] == stem[-2] else stem)
    return forms


MAX_WORD_FILTER_VALUES = 2000
"""`filter_words` holds the values of a filter of `WORD_FILTERS` in memory up to this many."""
_WORD_FILTER_VALUES = UntilChanged[dict[str, dict[Any, frozenset[str] | None]]]()


def _word_filter_values(app: App) -> dict[str, dict[Any, frozenset[str] | None]]:
    """Every value some entry has of each filter of `WORD_FILTERS` (one seek per value; a
    filter with more than `MAX_WORD_FILTER_VALUES` is left out), with the collections holding
    it for a filter of several collections of `SELF_EVIDENT` (`type`: "dragon" of monsters,
    "weapon" of items), read again whenever the database changed: a query's words are looked
    up here instead of one seek each (~60 a query)."""

    def read() -> dict[str, dict[Any, frozenset[str] | None]]:
        values: dict[str, dict[Any, frozenset[str] | None]] = {}
        for name in WORD_FILTERS:
            found = queries.attribute_distinct_values(app.conn, name, MAX_WORD_FILTER_VALUES + 1)
            if len(found) > MAX_WORD_FILTER_VALUES:
                continue
            values[name] = dict.fromkeys(found)
            if name in SELF_EVIDENT and len(filters.BY_NAME[name].collections) > 1:
                values[name].update(queries.attribute_value_collections(app.conn, name))
        return values

    return _WORD_FILTER_VALUES.get(app, queries.stamp(app.conn), None, read)


# -- ranking ----------------------------------------------------------------------------------


def _standardised(scored: list[tuple[int, float]], least_spread: float = 0.0) -> dict[int, float]:
    """The scores as z-scores against the best `FUSION_DEPTH` of them: how far each stands out
    of its list. Their spread is taken as at least `least_spread` (`VECTOR_SPREAD_FLOOR`)."""
    top = [s for _, s in scored[:FUSION_DEPTH]]
    if len(top) < 2:
        return {entry_id: 1.0 for entry_id, _ in scored}
    mean = sum(top) / len(top)
    spread = math.sqrt(sum((s - mean) ** 2 for s in top) / len(top))
    spread = max(spread, least_spread) or 1.0
    return {entry_id: (s - mean) / spread for entry_id, s in scored}


_QUESTION = re.compile(
    r"^\W*(?:what|how|can|could|which|when|why|where|who|whom|is|are|do|does|did|should|"
    r"would|will|may|am)\b|\?\W*$",
    re.IGNORECASE,
)


_FIRST_PERSON = re.compile(r"\b(?:i|me|my|mine|myself|we|us|our|ours|ourselves)\b", re.IGNORECASE)


def first_person(text: str) -> bool:
    """Whether the query is told in the first person (`I`, `my`, `we`, `our`, ...). "US" in
    capitals is the country, not the pronoun, unless the whole query is in capitals.

    >>> first_person("our wizard slipped off the cliff"), first_person("a dog that teleports")
    (True, False)
    >>> first_person("the US edition of the spell"), first_person("HELP US CROSS THE RIVER")
    (False, True)
    """
    text = _APOSTROPHES.sub("'", text)
    shouted = not any(c.islower() for c in text)
    return any(m[0] != "US" or shouted for m in _FIRST_PERSON.finditer(text))


def asks(text: str) -> bool:
    """Whether the query is asked as a question: it begins with an interrogative or auxiliary
    word (`how`, `what`, `can`, `does`, ...) or ends with `?`.

    >>> asks("how long can I hold my breath?"), asks("undead whose touch paralyses")
    (True, False)
    """
    return bool(_QUESTION.search(text))


_SCENE_TOKEN = re.compile(r"[a-z]+(?:'s)?|[^\sa-z'-]")  # a word, or punctuation that ends a phrase
# "how does the proficiency bonus grow", "what is the ethereal plane": the topic, not a scene
_TOPIC_VERBS = frozenset("is are was were does do did".split())  # noqa: SIM905
# "the sleep spell", "the grappled condition": the phrase names what is asked for
_ASKED_NOUNS = frozenset(
    """spell spells cantrip cantrips condition conditions class classes feat feats feature
    features item items monster monsters race races rule rules skill skills trait traits
    property language school""".split()  # noqa: SIM905
)


def _singular(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def scene(text: str) -> set[str]:
    """The words of the noun phrases a query gives as its scene (singular): up to
    `SCENE_WORDS` words after `the`, up to a stop word or punctuation (a possessive ends one
    phrase and starts the next: "the hag's sword"). "the goblins dragged us into a pitch-black
    cave and nobody can see": the goblins are where the asker is, not what they ask for (a
    light).

    Not the topic of a question ("how does the proficiency bonus grow"), nor a phrase that names
    a collection ("the sleep spell"). A description says `a`, not `the` ("a toad so big it
    swallows a halfling whole"): its nouns are the answer's, and stay.

    >>> sorted(scene("the goblins dragged us into a pitch-black cave"))
    ['dragged', 'goblin']
    >>> sorted(scene("after touching the hag's sword I cannot let go")), scene("a hag's sword")
    (['hag', 'sword'], set())
    >>> scene("how does the proficiency bonus grow"), scene("what does the sleep spell do")
    (set(), set())
    """
    tokens = _SCENE_TOKEN.findall(_APOSTROPHES.sub("'", text.lower()))
    phrases: list[list[str]] = []
    for i, token in enumerate(tokens):
        if token != "the" or (i and tokens[i - 1] in _TOPIC_VERBS):
            continue
        phrase: list[str] = []
        for word in tokens[i + 1 :]:
            if word in STOP_WORDS or not word[0].isalpha() or len(phrase) == SCENE_WORDS:
                break
            phrase.append(word.removesuffix("'s"))
            if word.endswith("'s"):
                phrases.append(phrase)
                phrase = []
        phrases.append(phrase)
    return {_singular(w) for p in phrases if not _ASKED_NOUNS & set(p) for w in p}


def without_scene(text: str) -> str | None:
    """`text` without its scene's words and `the` (`scene`), or None when it tells no scene
    (or is a question: a question's `the` is mostly its topic) or nothing would be left."""
    given = scene(text)
    if not given or asks(text):
        return None
    kept = [w for w in text.split() if _singular(normalize(w)) not in given | {"the"}]
    return " ".join(kept) if normalize(" ".join(kept)) else None


# "turn someone into a frog", "the druid shifts into a wolf": what follows `into` is the form
_TRANSFORMS = frozenset(
    """turn turns turned turning transform transforms transformed transforming change changes
    changed changing polymorph polymorphs polymorphed shapechange shapechanges shift shifts
    shifted shifting""".split()  # noqa: SIM905
)
# "disguised as a guard", "passes itself off as", "poses as": what follows is the guise
_POSES = frozenset(
    """disguise disguises disguised disguising pose poses posed posing pass passes passed
    passing masquerade masquerades masqueraded masquerading""".split()  # noqa: SIM905
)
_LOOKS = frozenset("look looks looked looking".split())  # noqa: SIM905
_PRETENDS = frozenset("pretend pretends pretended pretending".split())  # noqa: SIM905
# "a chest that is secretly a monster": what comes before is the guise
_SECRETLY = frozenset("secretly really actually".split())  # noqa: SIM905
_ARTICLES = frozenset("a an the some".split())  # noqa: SIM905
_FORM_REACH = 5  # at most this many words between the turning verb and `into`


def _phrase(tokens: list[str], start: int, step: int = 1) -> list[str]:
    """Up to `SCENE_WORDS` words from `tokens[start]` on (or back, `step` -1), past an article,
    to a stop word or punctuation; singular, in reading order."""
    words: list[str] = []
    i = start
    if 0 <= i < len(tokens) and tokens[i] in _ARTICLES and step == 1:
        i += 1
    while 0 <= i < len(tokens) and len(words) < SCENE_WORDS:
        word = tokens[i]
        if word in STOP_WORDS or not word[0].isalpha():
            break
        words.append(_singular(word.removesuffix("'s")))
        if word.endswith("'s") and step == 1:
            break
        i += step
    return words if step == 1 else words[::-1]


def _guise_before(tokens: list[str], i: int) -> bool:
    """Whether `tokens[i]` ends the words that announce a guise: `looks like`, `pretends to
    be`, `disguised as`, `poses as`, `passes itself off as`."""
    token, before = tokens[i], tokens[max(0, i - 3) : i]
    if token == "like":
        return bool(before) and before[-1] in _LOOKS
    if token == "be":
        return before[-2:-1] != [] and before[-1] == "to" and before[-2] in _PRETENDS
    return token == "as" and bool(_POSES & set(before))


def guises(text: str, disguises: bool = True) -> list[list[str]]:
    """The noun phrases a query gives as the form something takes or the guise it wears, not
    as what it asks for: after `into` following a verb of turning ("turn someone into a
    frog": the answer is what turns, not the Frog), after `looks like`, `pretends to be`,
    `disguised as`, `poses as` ("a shapeshifter pretending to be a knight": not the Knight),
    and before `that is secretly / really / actually` ("a chest that is secretly a monster":
    not the Chest). Words singular, up to `SCENE_WORDS` each (`_phrase`). `disguises` False:
    the forms only.

    >>> guises("turn someone into a frog"), guises("a chest that is secretly a monster")
    ([['frog']], [['chest']])
    >>> guises("a shapeshifter pretending to be a knight"), guises("walks into the camp")
    ([['knight']], [])
    """
    tokens = _SCENE_TOKEN.findall(_APOSTROPHES.sub("'", text.lower()))
    found: list[list[str]] = []
    for i, token in enumerate(tokens):
        phrase: list[str] = []
        if token in _TRANSFORMS:
            for j in range(i + 1, min(i + 2 + _FORM_REACH, len(tokens))):
                if not tokens[j][0].isalpha():
                    break
                if tokens[j] == "into":
                    phrase = _phrase(tokens, j + 1)
                    break
        elif not disguises:
            continue
        elif _guise_before(tokens, i):
            phrase = _phrase(tokens, i + 1)
        elif token in _SECRETLY and i > 2 and tokens[i - 2] in {"that", "which", "who"}:
            phrase = _phrase(tokens, i - 3, -1)
        if phrase:
            found.append(phrase)
    return found


def named_as(names: dict[int, str], phrases: list[list[str]]) -> set[int]:
    """The entries of `names` (id → normalised name) a guise phrase names: the name ends in
    the phrase's last word and has at most one word more than the phrase, none of them a stop
    word ("Frog", "Giant Frog" for `frog`; not "Cloak of the Bat" for `bat`)."""
    found: set[int] = set()
    for entry_id, name in names.items():
        words = [_singular(w) for w in name.split()]
        if not words or STOP_WORDS & set(words):
            continue
        if any(words[-1] == p[-1] and len(words) <= len(p) + 1 for p in phrases):
            found.add(entry_id)
    return found


def query_vector(
    embedder: Embedder, text: str, rest: str | None = None, adapted: bool = True
) -> bytes:
    """The query's vector: for a query that tells a situation (`without_scene`), the mean of
    its vector and its words' without the scene, `SCENE_SHARE` the second's, as a unit vector.
    The small model's vector of "the ogre has the halfling pinned in its fist; how does she
    wriggle free" is mostly an ogre's, and the nearest passages are the Ogre's and the Ogre
    Zombie's; without the scene it is mostly the asking (held out 3–9, docs/search.md). `rest`:
    `without_scene(text)`, given by the caller (hybrid search only: semantic search alone lost
    on held out 8 and 9 with it). Then moved by the query adapter fitted for the embedder's
    model, when there is one (`search/adapter.py`; `adapted=False`: as the model gave it)."""
    weights = adapter.for_model(embedder.model_id) if adapted else None
    if (rest is None or not SCENE_SHARE) and weights is None:
        return bytes(embedder.embed([text])[0])
    numeric.import_numpy()
    import numpy as np

    if rest is None or not SCENE_SHARE:
        vector = np.frombuffer(embedder.embed([text])[0], dtype="<f4")
    else:
        whole, asked = (np.frombuffer(v, dtype="<f4") for v in embedder.embed([text, rest]))
        mean = (1 - SCENE_SHARE) * whole + SCENE_SHARE * asked
        vector = mean / (np.linalg.norm(mean) or 1.0)
    if weights is not None:
        vector = adapter.apply(vector, *weights)
    return bytes(vector.astype("<f4").tobytes())


def keyword_weight(
    keyword: list[tuple[int, float]], coverage: dict[int, float], question: bool = False
) -> float:
    """The keyword list's weight in the fusion: `KEYWORD_WEIGHT` when one of its first
    `TRUST_TOP` entries holds every query word, less when the best of them holds few (a
    description in other words than the entries', where BM25 ranks whatever shares one rare
    word): down to `1 - KEYWORD_DOUBT` of it when none holds any. A `question` keeps
    `QUESTION_KEYWORD_SHARE` of that: a question's words are mostly the asking ("how long",
    "what happens", "can I"), which BM25 matches in any entry that happens to hold them, while
    its meaning is what the vectors compare (on the held-out sets, semantic search alone found
    the answer to questions in the top 5 more often than hybrid did: 0.93 against 0.85)."""
    best = max((coverage.get(entry_id, 0.0) for entry_id, _ in keyword[:TRUST_TOP]), default=1.0)
    weight = KEYWORD_WEIGHT * (1 - KEYWORD_DOUBT * (1 - best))
    return weight * QUESTION_KEYWORD_SHARE if question else weight


def fuse(
    keyword: list[tuple[int, float]],
    semantic: list[tuple[int, float]],
    boosts: dict[int, dict[str, float]],
    weight: float = KEYWORD_WEIGHT,
    by_meaning_only: frozenset[int] = frozenset(),
    meaning_share: float = 1.0,
) -> list[tuple[int, float]]:
    """Both ranked lists (id, score) combined by weighted z-scores (keywords weighing `weight`,
    vectors `1 - KEYWORD_WEIGHT`), plus each entry's boosts (by name: the share of the query's
    words it contains, ...); best first. An entry missing from a list takes that list's lowest
    z-score (the semantic list holds every entry of the keyword list that has vectors, so there
    it means no vectors). But an entry of `by_meaning_only` (a candidate only for meeting the
    filters a query names, `filtered`: found by neither list) takes its z-score by meaning on
    the keyword side too, never below that lowest, as far as `meaning_share` (how much of the
    query is made of filters): "transmutation spells of level 5" ranks the spells meeting both
    by their meaning, not all level with the keyword list's last."""
    by_words, by_meaning = _standardised(keyword), _standardised(semantic, VECTOR_SPREAD_FLOOR)
    words_low, meaning_low = (min(z.values(), default=0.0) for z in (by_words, by_meaning))
    meaning_weight = 1 - KEYWORD_WEIGHT
    none: dict[str, float] = {}
    stand_in = {
        i: words_low + meaning_share * max(0.0, by_meaning[i] - words_low)
        for i in by_meaning_only
        if i in by_meaning
    }
    scores = {
        entry_id: 0.0
        + weight * by_words.get(entry_id, stand_in.get(entry_id, words_low))
        + meaning_weight * by_meaning.get(entry_id, meaning_low)
        + sum(boosts.get(entry_id, none).values())
        for entry_id in sorted(by_words.keys() | by_meaning.keys())
    }
    return sorted(scores.items(), key=lambda pair: (-pair[1], pair[0]))


def srd_priorities(app: App) -> Callable[[str], int | None]:
    """The priority at which the profile holds its rules in a collection: the lowest of the
    SRD packs its edition turns on, each at its priority for that collection (`srd-2014` at 10
    in a 2014 or 2024 profile, unless the profile set another, for the pack or the collection),
    or None when the profile has none of them on."""
    held = queries.profile_packs(app.conn, app.profile)
    own = queries.profile_collections(app.conn, app.profile)
    srd = [pack for pack in EDITION_PACKS[app.settings.edition] if pack in held]

    @functools.cache  # a search asks it for each of its ~100 candidates, of a few collections
    def of(collection: str) -> int | None:
        return min((own.get(p, {}).get(collection, held[p]) for p in srd), default=None)

    return of


def settle(
    app: App,
    ranked: list[tuple[int, float]],
    scope: queries.SearchScope,
    edition_prior: float,
    below_prior: float = 0.0,
    boosts: dict[int, dict[str, float]] | None = None,
) -> tuple[list[tuple[int, float]], dict[int, list[int]]]:
    """What a large library changes in a ranking (`ranked`: (id, score), best first), by the
    profile, never by the query:

    - one hit per name: entries of other packs with the same name in the same collection as a
      better-placed pack's (Open5e's copy of the SRD's Fireball, a 2024 and a 2014 Fireball,
      a brew's Goblin beside the SRD's) are one hit, the entry of the pack the profile ranks
      highest (ties: pack id, as resolution breaks them) at the best score of them; the
      others are returned by the entry that stands for them (`also`);
    - `edition_prior` is taken from entries of packs written for another edition than the
      profile's (a 2024 document in a 2014 profile), unless the search asked for an edition;
    - `below_prior` from entries of packs the profile ranks below its SRD (`srd_priorities`,
      for the entry's collection): the SRD and whatever the user put at or above it (homebrew
      installs at 50) are the profile's own; documents installed beneath it are reference.

    Returns the ranking and, by entry, the entries it stands for (best first). What was taken
    from an entry is noted in its `boosts` (negative), when given."""
    if not ranked:
        return ranked, {}
    stand = _standings(app, [i for i, _ in ranked])
    scores = dict(ranked)
    edition = None if scope.edition else app.settings.edition
    base = srd_priorities(app) if below_prior else None
    for entry_id, st in stand.items():
        taken = {}
        if edition_prior and edition and st.edition and st.edition != edition:
            taken["other edition"] = -edition_prior
        srd = base(st.collection) if base else None
        if srd is not None and st.priority < srd:
            taken["below the SRD"] = -below_prior
        if taken:
            scores[entry_id] += sum(taken.values())
            if boosts is not None:
                boosts.setdefault(entry_id, {}).update(taken)
    groups: dict[tuple[str, str], list[int]] = {}
    for entry_id, _ in ranked:
        if entry_id in stand:
            st = stand[entry_id]
            groups.setdefault((st.collection, st.norm_name), []).append(entry_id)
    also: dict[int, list[int]] = {}
    for members in groups.values():
        if len({stand[i].pack for i in members}) < 2:  # a pack's own entries stay apart
            continue
        first = min(members, key=lambda i: stand[i].rank)
        best = max(scores[i] for i in members)
        also[first] = sorted((i for i in members if i != first), key=lambda i: -scores[i])
        for entry_id in also[first]:
            del scores[entry_id]
        scores[first] = best
    return sorted(scores.items(), key=lambda pair: (-pair[1], pair[0])), also


_STANDINGS = UntilChanged[dict[int, queries.Standing | None]]()
STANDINGS_KEPT = 20_000
"""`_standings` remembers at most this many entries' (~2 MB)."""


def _standings(app: App, ids: list[int]) -> dict[int, queries.Standing]:
    """`queries.standings` of `ids` (in their order), each entry's remembered until the
    database changes: a search asks for its ~150-250 candidates' (0.5 ms of CPU on the SRD
    alone, 1.6 at SRD + 100,000), most of them asked for by searches before."""
    held = _STANDINGS.get(app, queries.stamp(app.conn), app.profile, dict)
    missing = [i for i in ids if i not in held]
    if missing:
        if len(held) + len(missing) > STANDINGS_KEPT:
            held.clear()
            missing = ids
        found = queries.standings(app.conn, app.profile, missing)
        held.update({i: found.get(i) for i in missing})  # None: not in the profile
    return {i: st for i in ids if (st := held[i]) is not None}


def _passage_snippet(app: App, text: str, terms: set[str]) -> str:
    """About `SNIPPET_CHARS` of a passage (without its header line), around the most query
    words, those in `**bold**`."""
    body = " ".join((text.partition("\n")[2] or text).split()).encode()  # spaces as one
    spans = queries.term_spans(app.conn, body, terms) if terms else []
    width = SNIPPET_CHARS
    firsts = [s for s, _ in spans]  # in order: the tokenizer's
    starts = [max(0, s - 40) for s in firsts] or [0]
    # the first start whose window holds the most words
    start = max(starts, key=lambda b: bisect_left(firsts, b + width) - bisect_left(firsts, b))
    if start:  # begin at a word
        start = body.find(b" ", start) + 1 or start
    end = min(len(body), start + width)
    if end < len(body):
        end = body.rfind(b" ", start, end) if body.rfind(b" ", start, end) > start else end
    out, at = [], start
    for s, e in spans:
        if s >= start and e <= end:
            out += [body[at:s], b"**", body[s:e], b"**"]
            at = e
    out.append(body[at:end])
    snippet = b"".join(out).decode(errors="ignore").strip()
    return ("…" if start else "") + snippet + ("…" if end < len(body) else "")


def _hits(
    app: App,
    ranked: list[tuple[int, float]],
    match: str,
    best_passage: dict[int, int],
    terms: set[str],
    explain: Callable[[int, str | None], SearchExplain] | None = None,
    also: dict[int, list[int]] | None = None,
) -> list[SearchHit]:
    """The page's hits; the snippet is the best passage (semantic hits), else FTS5's snippet
    of the entry's text, else (listings) the one-line detail. `explain(id, passage)`: what
    placed each hit, when asked; `also`: the same-named entries of other packs each stands for."""
    also = also or {}
    ids = [entry_id for entry_id, _ in ranked]
    folded = [i for entry_id in ids for i in also.get(entry_id, [])]
    rows = {r.id: r for r in queries.rows_by_ids(app.conn, ids + folded)}
    keyword_only = [i for i in ids if i not in best_passage]
    snippets = queries.keyword_snippets(app.conn, match, keyword_only) if match else {}
    passages = queries.passage_texts(app.conn, [best_passage[i] for i in ids if i in best_passage])
    hits = []
    for entry_id, score in ranked:
        row = rows.get(entry_id)
        if row is None:  # never in one snapshot (`search`); a guard, not a path
            continue
        passage = passages.get(best_passage[entry_id]) if entry_id in best_passage else None
        if passage is not None:
            snippet = _passage_snippet(app, passage, terms)
        elif entry_id in snippets:
            snippet, text = snippets[entry_id]
            if "**" not in snippet:  # matched in no word of its text (a die's alias): find it
                snippet = _passage_snippet(app, text, terms)
        else:
            snippet = app.render(row.entry(), "detail")
        hits.append(
            SearchHit(
                ref=row.ref,
                pack=row.pack,
                name=row.name,
                collection=row.collection,
                score=round(score, 6),
                snippet=snippet,
                explain=explain(entry_id, passage) if explain else None,
                also=[
                    EntryRef(ref=o.ref, pack=o.pack, name=o.name, collection=o.collection)
                    for o in (rows.get(i) for i in also.get(entry_id, []))
                    if o is not None
                ],
            )
        )
    return hits


def _explainer(
    groups: list[_Lists],
    named: set[int],
    boosts: dict[int, dict[str, float]],
    rest: str | None = None,
) -> Callable[[int, str | None], SearchExplain]:
    """`explain(id, passage)` for the hits of one search, from the lists each group ranked
    (ranks are within an entry's group), the boosts of all, and the query's words without its
    scene when its vector was the mean (`query_vector`)."""
    keyword_at = {
        entry_id: (rank, score)
        for g in groups
        for rank, (entry_id, score) in enumerate(g.keyword, 1)
    }
    vector_at = {
        entry_id: (rank, sim)
        for g in groups
        for rank, (entry_id, sim, _) in enumerate(g.semantic, 1)
    }
    coverage = {i: c for g in groups for i, c in g.shares.items()}
    weights = {i: w for g in groups for i, w in g.weights.items()}
    met = {i: sorted(m) for g in groups for i, m in g.met.items()}

    def explain(entry_id: int, passage: str | None) -> SearchExplain:
        k_rank, k_score = keyword_at.get(entry_id, (None, None))
        v_rank, v_score = vector_at.get(entry_id, (None, None))
        return SearchExplain(
            keyword=None if k_score is None else round(k_score, 4),
            keyword_rank=k_rank,
            vector=None if v_score is None else round(v_score, 4),
            vector_rank=v_rank,
            passage=passage,
            coverage=None if entry_id not in coverage else round(coverage[entry_id], 4),
            boosts={name: round(v, 4) for name, v in boosts.get(entry_id, {}).items() if v},
            filters=met.get(entry_id, []),
            named=entry_id in named,
            keyword_weight=round(weights[entry_id], 4) if entry_id in weights else None,
            vector_weight=round(1 - KEYWORD_WEIGHT, 4) if entry_id in weights else None,
            without_scene=rest if v_score is not None else None,
        )

    return explain


@dataclass
class _Lists:
    """What one group's search ranked: its fused ranking and the lists it came from."""

    ranked: list[tuple[int, float]]
    keyword: list[tuple[int, float]] = field(default_factory=list)
    semantic: list[tuple[int, float, int]] = field(default_factory=list)
    named: set[int] = field(default_factory=set)
    shares: dict[int, float] = field(default_factory=dict)
    boosts: dict[int, dict[str, float]] = field(default_factory=dict)
    weights: dict[int, float] = field(default_factory=dict)
    met: dict[int, list[str]] = field(default_factory=dict)
    """The filters the query names that each entry meets (`Asked.labels`)."""


_PACK_ROWS = UntilChanged[tuple[int, int] | None]()


def pack_rows(app: App, packs: Sequence[str]) -> tuple[int, int] | None:
    """`queries.pack_id_range` of `packs`, remembered until the database changes: it reads
    every entry id of the packs (13 ms for a pack of 100,000 entries), and the same packs are
    asked for on every search."""
    stamp = queries.stamp(app.conn)
    return _PACK_ROWS.get(app, stamp, tuple(packs), lambda: queries.pack_id_range(app.conn, packs))


def pack_groups(app: App, scope: queries.SearchScope) -> list[queries.SearchScope]:
    """The scopes ranked apart (`PACK_GROUPS`): the profile's SRD packs (with the range of
    their entries' ids, so FTS5 reads only their rows and their vectors are held in memory),
    and every other pack in scope; the scope alone when either is empty (the SRD alone, a
    search of some packs).

    Why apart: in one list, a large library's entries take the best 50 places of both lists
    and set their mean and spread, so the SRD's answer, found by either list on the SRD alone,
    is either not a candidate at all or measured against a crowd (docs/search.md). Apart, the
    SRD's entries are ranked as on the SRD alone and the other packs' among themselves; why
    not per pack: a small pack's best stands out of its own few candidates however weak it is
    (measured on Open5e's 24 documents)."""
    if not PACK_GROUPS:
        return [scope]
    held = queries.profile_packs(app.conn, app.profile)
    packs = [p for p in held if not scope.packs or p in scope.packs]
    rules = [p for p in packs if p in EDITION_PACKS[app.settings.edition]]
    rest = [p for p in packs if p not in rules]
    if not rules or not rest:
        return [scope]
    rows = pack_rows(app, rules)
    return [replace(scope, packs=rules, rows=rows), replace(scope, packs=rest)]


Found = list[tuple[int, float, bool]]
Covered = dict[int, int] | None
"""`retrieval.covered_rows` of a group's terms, counted beside its keyword half, or None."""


def _keyword_half(
    app: App,
    params: SearchParams,
    scope: queries.SearchScope,
    keywords: list[str],
    words: str,
    pool: int,
    beside: bool,
) -> Callable[[], tuple[Found, Covered]]:
    """One group's best `pool` by keywords (entry id, BM25, whether the query is its name), to
    be collected by calling the result. `beside`: on the reader thread, started now, while
    the caller embeds the query and ranks by meaning (module docstring), and then there, in
    the same job, how many of the query's terms each row holding one contains (the term
    coverage `_ranked` needs of its candidates: counted while the query is still embedded
    rather than after the semantic half, where `_ranked` waited for it); else here, alone."""
    if params.mode == "semantic" or not keywords:
        return lambda: ([], None)
    if scope.packs and scope.rows is None:  # FTS5 skips the rows of the packs left out
        scope = replace(scope, rows=pack_rows(app, scope.packs))
    keyword_hits = partial(
        retrieval.keyword_hits,
        term_counts=app.term_counts,
        scope=scope,
        words=keywords,
        name_weight=NAME_WEIGHT,
        norm_name=words,
        limit=pool,
    )
    if beside:
        terms = queries.index_terms(app.conn, keywords)

        def both(conn: apsw.Connection) -> tuple[Found, Covered]:
            found = keyword_hits(conn)
            return found, retrieval.covered_rows(conn, app.term_counts, terms, scope.rows)

        return app.db.read_beside(both)
    found = keyword_hits(app.conn)
    return lambda: (found, None)


def _semantic_half(
    app: App, scope: queries.SearchScope, vector: bytes | None, pool: int
) -> list[tuple[int, float, int]]:
    """One group's best `pool` by meaning (`retrieval.semantic_hits`), none without a vector."""
    if vector is None:
        return []
    index = app.search
    k = min(pool * PASSAGES_PER_ENTRY, MAX_KNN)
    model = index.embedder.model_id
    return retrieval.semantic_hits(app.conn, index.passages, scope, vector, model, k, pool)


FILTERED_FROM = 2
"""A query naming at least this many filters (the collection counting as one: "CR 5 undead",
"3rd-level fire spells", "druid cantrips") adds the entries meeting all of them to its
candidates (`filtered`)."""


def filtered(
    app: App,
    scope: queries.SearchScope,
    conditions: list[dict[str, Any]],
    collections: set[str],
    wanted: int,
) -> list[int]:
    """The entries in scope meeting every filter a query names (`asked_filters`) and of a
    collection it names, when it names at least `FILTERED_FROM` and they are at most
    `FUSION_DEPTH` entries: "CR 5 undead" asks for the Wraith and the Vampire Spawn, which
    neither its words nor its meaning may find among the best 50 (the Cleric's table and
    Destroy Undead hold "CR" and "5" and "undead"). More than that, the filters are not what
    picks the answer, and the lists' candidates stand."""
    if wanted < FILTERED_FROM or not conditions:
        return []
    if collections:
        kept = [c for c in scope.collections or collections if c in collections]
        if not kept:
            return []
        scope = replace(scope, collections=kept)
    scope = replace(scope, filters=[*scope.filters, *conditions])
    if scope.rows is not None:  # the profile's SRD ranked apart: read within its ids
        found = queries.meeting_within(app.conn, scope)
    else:
        found = queries.browse(app.conn, scope, FUSION_DEPTH + 1, 0)
    return found if len(found) <= FUSION_DEPTH else []


def _ranked(
    app: App,
    params: SearchParams,
    scope: queries.SearchScope,
    keywords: list[str],
    vector: bytes | None,
    pool: int,
    keyword_half: Callable[[], tuple[Found, Covered]],
    semantic: list[tuple[int, float, int]],
    asked: Asked,
    beside: bool = False,
) -> _Lists:
    """One group's candidates (its best `pool` by keywords, from `keyword_half`, and by
    meaning, `semantic`: `_semantic_half`) and their ranking. `beside`: the reader thread is
    free for this group's term coverage, counted there while this thread goes on with the
    rest, unless the keyword half counted it already."""
    index = app.search
    model = index.embedder.model_id
    found, covered = keyword_half()
    keyword = [(entry_id, score) for entry_id, score, _ in found]
    named = {entry_id for entry_id, _, exact in found if exact}  # whose whole name is the query
    lists = _Lists(ranked=keyword, keyword=keyword, semantic=semantic, named=named)
    if params.mode == "semantic":
        lists.ranked = [(entry_id, sim) for entry_id, sim, _ in semantic]
    if vector is None or params.mode != "hybrid":
        return lists
    conditions = asked.conditions()
    named_collections = set(asked.collections)
    wanted_filters = len({c["filter"] for c in conditions}) + bool(named_collections)
    met_by_having = [c for c in conditions if c["filter"] not in asked.negated]
    having = len({c["filter"] for c in met_by_having}) + bool(named_collections)
    meeting = filtered(app, scope, met_by_having, named_collections, having)
    # every entry of either list and those meeting the filters asked (the similarities asked
    # for below are of the others)
    found_ids = {entry_id for entry_id, _ in keyword} | {entry_id for entry_id, _, _ in semantic}
    ids = sorted(found_ids | set(meeting))
    terms = queries.index_terms(app.conn, keywords)
    count = partial(retrieval.term_coverage, term_counts=app.term_counts, terms=terms, ids=ids)
    coverage: Callable[[], dict[int, int]] = dict
    if terms and covered is not None:  # counted beside the keyword half: as `count` counts
        coverage = partial(lambda held: {i: held[i] for i in ids if i in held}, covered)
    elif terms and beside:
        coverage = app.db.read_beside(count)
    elif terms:
        coverage = partial(count, app.conn)
    # found by keywords only: their similarity
    near = {entry_id for entry_id, _, _ in semantic}
    beyond = [entry_id for entry_id in ids if entry_id not in near]
    semantic += retrieval.similarities(app.conn, index.passages, scope, vector, model, beyond)
    semantic.sort(key=lambda hit: -hit[1])
    if not semantic:
        return lists
    similar = [(entry_id, sim) for entry_id, sim, _ in semantic]
    has_filters = queries.entries_meeting(app.conn, ids, conditions)
    if asked.negated:  # met by the entries of its collections without the value named
        collections = queries.entry_collections(app.conn, ids)
        for entry_id in ids:
            has = has_filters.pop(entry_id, set())
            for name in asked.negated:
                if name in has:
                    has.discard(name)
                elif collections.get(entry_id) in filters.BY_NAME[name].collections:
                    has.add(name)
            if has:
                has_filters[entry_id] = has
    labels = asked.labels()
    if named_collections:  # the collection counts as one filter more
        for entry_id, collection in queries.entry_collections(app.conn, ids).items():
            if collection in named_collections:
                has_filters.setdefault(entry_id, set()).add("collection")
                labels[f"collection {entry_id}"] = [f"collection={collection}"]
    held = coverage()
    lists.shares = {entry_id: n / len(terms) for entry_id, n in held.items()}
    lists.boosts = {i: {"coverage": COVERAGE_WEIGHT * s} for i, s in lists.shares.items()}
    forms = guises(params.query)
    if forms and FORM_WEIGHT:  # what the query names as a form or a guise is not what it asks for
        for entry_id in named_as(queries.entry_names(app.conn, ids), forms):
            lists.boosts.setdefault(entry_id, {})["named as a guise"] = -FORM_WEIGHT
    if DISGUISE_WEIGHT and forms != guises(params.query, disguises=False):  # a disguise
        told = queries.index_terms(app.conn, DISGUISE_WORDS)
        for entry_id in retrieval.term_coverage(app.conn, app.term_counts, told, ids):
            lists.boosts.setdefault(entry_id, {})["tells a disguise"] = DISGUISE_WEIGHT
    if FIRST_PERSON_WEIGHT and first_person(params.query):
        for entry_id, collection in queries.entry_collections(app.conn, ids).items():
            if collection in FIRST_PERSON_COLLECTIONS:
                lists.boosts.setdefault(entry_id, {})[
                    "told in the first person"
                ] = -FIRST_PERSON_WEIGHT
    # a query made of filters asks to filter: not a question, nor one filter word in a sentence
    filter_query = wanted_filters >= FILTERED_FROM and not asks(params.query)
    made_of_filters = asked.share**FILTER_SHARE_POWER if filter_query else 0.0
    filter_weight = FILTER_WORD_WEIGHT + FILTER_QUERY_WEIGHT * made_of_filters
    for entry_id, has in has_filters.items():
        boost = filter_weight * len(has) / wanted_filters
        lists.boosts.setdefault(entry_id, {})["filter words"] = boost
        keys = [f"collection {entry_id}" if name == "collection" else name for name in has]
        lists.met[entry_id] = [label for key in keys for label in labels.get(key, [])]
    weight = keyword_weight(keyword, lists.shares, asks(params.query))
    only_met = frozenset(meeting) - {entry_id for entry_id, _ in keyword}
    lists.ranked = fuse(keyword, similar, lists.boosts, weight, only_met, made_of_filters)
    lists.weights = dict.fromkeys(ids, weight)
    return lists


TEXTS_TRIES = 3
"""How many times a search takes its snapshot while it finds keyword texts unwritten in it."""


def search(app: App, params: SearchParams) -> SearchResult:
    # One snapshot for both halves: every read of the search (this thread's, the reader
    # thread's keyword half and term coverage, the vectors' connection) sees the database as of
    # one moment (`Database.snapshot`), in which every keyword text is written: another process
    # installing a pack commits its entries, then their keyword texts in batches of
    # `builder.ATTRS_PER_BATCH` (a search between two batches found 99 of a pack's 120
    # entries). When the snapshot holds texts not written yet, they are written here (as before
    # any search) and the snapshot taken again, up to `TEXTS_TRIES` times (docs/search.md).
    beside = params.mode == "hybrid"  # reads on the reader thread too (`_keyword_half`)
    for _ in range(TEXTS_TRIES - 1):
        with app.db.snapshot(queries.snapshot, beside):
            if app.search.attributes_current():
                return _search(app, params)
        app.search.ensure_attributes()
    with app.db.snapshot(queries.snapshot, beside):  # what is written by now
        return _search(app, params)


def _search(app: App, params: SearchParams) -> SearchResult:
    scope = _scope(app, params)
    index = app.search
    words = normalize(params.query)
    if not words:  # blank, or only punctuation: nothing to search for
        if not scope.restricted:
            raise InvalidParams(
                "empty query: give words to search for, or filters to list entries by",
                {"path": "$.query"},
            )
        ids = queries.browse(app.conn, scope, params.limit, params.offset)
        listed = [(i, 0.0) for i in ids]
        hits = _hits(app, listed, "", {}, set())
        return SearchResult(hits=hits, semantic=False, hints=_hints(app, params))

    wanted = params.offset + params.limit
    asked = asked_filters(app, params.query)
    keywords = [w for w in query_words(params.query) if w not in asked.denied]
    other_spelling = respelled(app, keywords)
    query_text = params.query
    if asked.denied:  # "martial weapons that aren't heavy" means nothing heavy
        query_text = _WORD.sub(lambda m: "" if m[0].lower() in asked.denied else m[0], query_text)
    if other_spelling:
        keywords = list(dict.fromkeys(other_spelling.get(w, w) for w in keywords))
        query_text = _WORD.sub(lambda m: other_spelling.get(m[0].lower(), m[0]), query_text)
    match = queries.fts_any(keywords)
    use_vectors = params.mode == "semantic" or (
        params.mode == "hybrid" and index.semantic_available()
    )
    if params.mode == "semantic" and not index.vectors_ready():
        state = index.state()
        raise IndexNotReady(
            f"the semantic index is not ready ({state.indexed} of {state.entries} entries "
            "indexed); use mode hybrid or keyword, or wait (`d5e index`)",
            {"indexed": state.indexed, "entries": state.entries},
        )
    hybrid = params.mode == "hybrid" and use_vectors
    scopes = pack_groups(app, scope) if hybrid else [scope]
    asked_words = keywords if match else []
    # the first tier's keyword halves start first, on the reader thread, while the query is
    # embedded
    halves = [
        _keyword_half(app, params, g, asked_words, words, FUSION_DEPTH, use_vectors) for g in scopes
    ]
    vector = None
    # semantic search alone keeps the scene: without keywords it is what anchors the query
    rest = without_scene(query_text) if hybrid and SCENE_SHARE else None
    if use_vectors:
        vector = query_vector(index.embedder, query_text, rest)
    asking = _Asking(params, scopes, asked_words, words, vector, asked, use_vectors, hybrid)
    # one ranking, whatever the page: its first `FUSION_DEPTH` hits are the best of the
    # candidates ranked at that depth, each next tier (twice as deep) adds the best of its
    # ranking not placed yet, up to its depth; a page is a slice of it (`ranking`)
    tiers: list[_Tier] = []
    placed: list[tuple[int, float, int]] = []  # entry id, score, tier
    seen: set[int] = set()
    depth = FUSION_DEPTH
    while True:
        tier = _tier(app, asking, scope, depth, halves if not tiers else None)
        room = depth - len(placed)
        for entry_id, score in tier.ranked:
            if room <= 0:
                break
            if entry_id in seen:
                continue
            placed.append((entry_id, score, len(tiers)))
            seen.add(entry_id)
            seen.update(tier.also.get(entry_id, ()))
            room -= 1
        tiers.append(tier)
        if len(placed) >= wanted or not tier.deeper or depth >= MAX_DEPTH:
            break
        depth *= 2
    terms = set(queries.index_terms(app.conn, keywords))
    hits = []
    for t, tier in enumerate(tiers):
        page = [(i, score) for i, score, at in placed[params.offset : wanted] if at == t]
        if not page:
            continue
        explain = _explainer(tier.parts, tier.named, tier.boosts, rest) if params.explain else None
        best_passage = {entry_id: pid for g in tier.parts for entry_id, _, pid in g.semantic}
        hits += _hits(app, page, match, best_passage, terms, explain, tier.also)
    return SearchResult(hits=hits, semantic=use_vectors, hints=_hints(app, params))


MAX_DEPTH = FUSION_DEPTH * 2**8
"""The deepest tier of a ranking (12,800 candidates of each list): past the deepest page
(offset 10,000 + limit 500)."""


@dataclass
class _Asking:
    """What a search asks, read once for all its tiers."""

    params: SearchParams
    scopes: list[queries.SearchScope]
    keywords: list[str]
    words: str
    vector: bytes | None
    asked: Asked
    use_vectors: bool
    hybrid: bool


@dataclass
class _Tier:
    """The ranking of one depth's candidates (`_tier`)."""

    ranked: list[tuple[int, float]]
    also: dict[int, list[int]]
    parts: list[_Lists]
    named: set[int]
    boosts: dict[int, dict[str, float]]
    deeper: bool
    """Some list held as many as it was asked for: a deeper tier may find others."""


def _tier(
    app: App,
    asking: _Asking,
    scope: queries.SearchScope,
    depth: int,
    halves: list[Callable[[], tuple[Found, Covered]]] | None = None,
) -> _Tier:
    """The search's candidates at `depth` (each group's best `depth` by keywords and by
    meaning), ranked. `halves`: the keyword halves at that depth, already started."""
    params, scopes, vector = asking.params, asking.scopes, asking.vector
    if halves is None:
        halves = [
            _keyword_half(app, params, g, asking.keywords, asking.words, depth, asking.use_vectors)
            for g in scopes
        ]
    # every group's semantic half first, while the reader thread ranks the keyword halves (at
    # SRD + 100,000 the other packs' takes ~10 ms: the first group's ranking, waiting for its
    # term coverage queued behind it, would leave this thread idle meanwhile); then the reader
    # thread counts each group's term coverage while this thread goes on
    semantic = [_semantic_half(app, group, vector, depth) for group in scopes]
    parts = [
        _ranked(
            app,
            params,
            group,
            asking.keywords,
            vector,
            depth,
            half,
            near,
            asking.asked,
            asking.use_vectors,
        )
        for group, half, near in zip(scopes, halves, semantic, strict=True)
    ]
    # the groups' rankings as one, by score (their entries are apart)
    ranked = sorted((p for g in parts for p in g.ranked), key=lambda p: (-p[1], p[0]))
    boosts = {i: b for g in parts for i, b in g.boosts.items()}
    hybrid = asking.hybrid and any(g.semantic for g in parts)
    ranked, also = settle(
        app,
        ranked,
        scope,
        EDITION_PRIOR if hybrid else 0.0,
        BELOW_SRD_PRIOR if hybrid else 0.0,
        boosts,
    )
    named = {i for g in parts for i in g.named}
    if named:  # a name typed in full means that entry, whatever else shares its words
        named |= {i for i, others in also.items() if named & set(others)}
        ranked = [p for p in ranked if p[0] in named] + [p for p in ranked if p[0] not in named]
    deeper = any(len(g.keyword) >= depth or len(g.semantic) >= depth for g in parts)
    return _Tier(ranked, also, parts, named, boosts, deeper)


def search_filters(app: App, params: SearchFiltersParams) -> SearchFiltersResult:
    for i, collection in enumerate(params.collections):  # "monster": an empty list said nothing
        declared = any(collection in f.collections for f in filters.FILTERS)
        if not declared and (problem := unknown_collection(app, collection)):
            raise NotFound(problem, {"path": f"$.collections[{i}]"})
    app.search.ensure_attributes()
    values = queries.filter_values(app.conn, app.profile)
    wanted = set(params.collections)
    return SearchFiltersResult(
        filters=[
            FilterInfo(
                name=f.name,
                type=f.kind,
                collections=list(f.collections),
                description=f.doc,
                values=[bool(v) for v in values.get(f.name, [])]
                if f.kind == "bool"
                else values.get(f.name, []),
            )
            for f in filters.FILTERS
            if not wanted or wanted & set(f.collections)
        ]
    )


async def attributes_ready(app: App) -> None:
    """Filter attributes and keyword texts current, for a request on the event loop. When they
    are not (a database's first start, packs new to it), they are made in a worker thread (or
    by the indexer's first phase, which it then waits for): completion, hover and diagnostics
    go on being answered meanwhile."""
    if not app.search.attributes_current():
        import asyncio  # here: `d5e search` and `d5e filters` never load it

        await asyncio.get_running_loop().run_in_executor(None, app.search.ensure_attributes_apart)


def once_attributes_ready(fn: Callable[[App, P], R]) -> Callable[[App, P], Awaitable[R]]:
    """`fn` as the daemon answers it: once `attributes_ready`."""

    @functools.wraps(fn)
    async def waiting(app: App, params: P) -> R:
        await attributes_ready(app)
        return fn(app, params)

    return waiting
