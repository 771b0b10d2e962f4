"""Name matching, best first: exact, then prefix, then word prefix, then typo-tolerant. Completion,
lookup suggestions, tags in documents and Markdown features all match names through
`match_names`; names first, then aliases (`names.py`) at the same tiers.

The first three tiers are index lookups in SQLite (a B-tree range on the normalised name, an
FTS5 prefix query on its words). The fuzzy tier asks the FTS5 trigram index for the names that
share the most trigrams with the query and scores only those with rapidfuzz.

What keeps them quick with 100,000 names (`bench/scale.py`, docs/benchmarks.md):
- a prefix that thousands of names share ("s", "dr") reads the names of its first letter in
  order of length and stops at the limit, instead of sorting the whole range;
- word prefixes need two typed letters (one letter starts a word of a third of all names, and
  says little about which is meant);
- the fuzzy tier ranks only the names holding the query's rarer trigrams: those with the
  fewest names, as long as they hold `FUZZY_POSTINGS` names together. Common trigrams (" th",
  "of ") weigh next to nothing in BM25, yet ranking the 30,000 names holding them took 10-30 ms.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import apsw
from rapidfuzz import fuzz

from . import queries
from .names import singular_forms
from .search.counts import DocCounts
from .text import normalize


class NameScope(Protocol):
    """What name matching reads: a connection, the profile whose winners it matches, and how
    many names (and aliases) hold each trigram (`App` is one)."""

    @property
    def conn(self) -> apsw.Connection: ...

    @property
    def profile(self) -> str: ...

    @property
    def trigram_counts(self) -> DocCounts: ...

    @property
    def alias_trigram_counts(self) -> DocCounts: ...


MAX_QUERY = 100  # longer "names" cannot match anything; they are answered with nothing
MAX_WORDS = 8
FUZZY_CANDIDATES = 80
FUZZY_ALIAS_CANDIDATES = 20
"""Aliases the fuzzy tier scores beside the names (there are far fewer aliases than names)."""
FUZZY_NAME_ENOUGH = 90.0
"""A name this close to the typo answers it: aliases are not tried (they would rank after)."""
FUZZY_MIN_SCORE = 72.0
FUZZY_POSTINGS = 3000
"""Names the fuzzy tier's trigram query may touch (all of them below this many)."""
COMMON_PREFIX = 300
"""A prefix of this many names or more is read through the first-letter-and-length index."""
TIERS = ("exact", "prefix", "word", "fuzzy")

# Among equally good matches, and when one name is used in several collections ("Thieves'
# Tools"), the reader most likely means the first of these; table-like collections come last.
COLLECTION_ORDER = (
    "spells", "monsters", "magic-items", "equipment", "conditions", "classes", "subclasses",
    "races", "species", "subraces", "subspecies", "feats", "backgrounds", "features", "traits",
    "rule-sections", "rules", "skills", "proficiencies",
)  # fmt: skip


def collection_rank(collection: str) -> int:
    try:
        return COLLECTION_ORDER.index(collection)
    except ValueError:
        return len(COLLECTION_ORDER)


@dataclass(frozen=True)
class NameMatch:
    row: queries.NameRow
    tier: int
    score: float


def _trigrams(text: str) -> list[str]:
    """The trigrams of ` text `, padded like the index so that word edges count (`chst` → ` ch`)."""
    padded = f" {text} "
    grams = dict.fromkeys(padded[i : i + 3] for i in range(len(padded) - 2))
    return list(grams)[:48]


def informative_trigrams(trigrams: list[str], counts: dict[str, int]) -> list[str]:
    """The rarest of `trigrams` while the names holding them stay within `FUZZY_POSTINGS`
    (at least the rarest one that any name holds)."""
    chosen: list[str] = []
    total = 0
    for trigram in sorted((t for t in trigrams if counts[t]), key=lambda t: counts[t]):
        if chosen and total + counts[trigram] > FUZZY_POSTINGS:
            break
        chosen.append(trigram)
        total += counts[trigram]
    return chosen


def _word_overlap(query: str, name: str) -> float:
    """F-measure of the words two names share, each word matched to its closest counterpart
    (typos allowed) and weighted by its length: `tensers floating disk` answers `floating disk`
    well, `wand of firabaljs` answers `wand` poorly."""
    q_words, n_words = query.split(), name.split()

    def covered(words: list[str], others: list[str]) -> float:
        total = sum(len(w) for w in words)
        return sum(len(w) * max(fuzz.ratio(w, o) for o in others) for w in words) / total

    precision, recall = covered(n_words, q_words), covered(q_words, n_words)
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def fuzzy_score(query: str, name: str, *, typing: bool = True) -> float:
    """How well `name` answers `query` typed with typos: the whole name, or its beginning (when
    `typing`: the query may be the start of a name), or the name without spaces
    (`flametongue`), or its words in any order (`silk rope`)."""
    compact_q, compact_n = query.replace(" ", ""), name.replace(" ", "")
    # A typo in what has been typed so far: compare with the name's beginning, allowing the
    # typo to have dropped or added one letter.
    n = len(query)
    begins = (
        max(fuzz.ratio(query, name[:k]) for k in (n - 1, n, n + 1))
        if typing and len(name) > n + 2
        else 0.0
    )
    return max(
        fuzz.ratio(query, name),
        0.95 * begins,
        fuzz.ratio(compact_q, compact_n),
        0.95 * _word_overlap(query, name),
    )


def match_names(
    app: NameScope,
    text: str,
    *,
    collections: list[str] | None = None,
    pack: str | None = None,
    limit: int = 20,
) -> list[NameMatch]:
    """The winners of the current profile whose names best match `text`, best first."""
    query = normalize(text)
    if not query or len(query) > MAX_QUERY:
        return []
    cols = collections or []
    conn, profile = app.conn, app.profile
    found: dict[int, NameMatch] = {}

    def add(rows: list[queries.NameRow], tier: int) -> None:
        for row in rows:
            match = NameMatch(row, 0 if row.norm_name == query else tier, 100.0)
            had = found.get(row.id)
            if had is None or _rank(match) < _rank(had):  # an entry once, by its best match
                found[row.id] = match

    common = queries.names_in_range(conn, query, COMMON_PREFIX) >= COMMON_PREFIX
    add(queries.names_exact_or_prefix(conn, profile, query, cols, pack, limit, common=common), 1)
    # Other names (aliases) after the names, at the same tiers: "mordenkainens" finds the SRD's
    # Arcane Sword, "darakhul" finds "Ghoul, Darakhul", "vampire" (typed whole: exact) the
    # vampire's own form before the names it begins ("Vampire Spawn", "Vampire, Bat Form").
    add(queries.aliases_exact_or_prefix(conn, profile, query, cols, pack, limit), 1)
    words = query.split()[:MAX_WORDS]
    if len(found) < limit and len(query) >= 2:
        add(queries.names_word_prefix(conn, profile, words, cols, pack, limit), 2)
    if len(found) < limit and len(query) >= 2:
        add(queries.aliases_word_prefix(conn, profile, words, cols, pack, limit), 2)
    if len(found) < limit and len(query) >= 3:
        grams = _trigrams(query)
        names = queries.names_sharing_trigrams(
            conn,
            profile,
            informative_trigrams(grams, app.trigram_counts(grams)),
            cols,
            pack,
            FUZZY_CANDIDATES,
        )
        # A plural with a typo ("wolvs") is scored by its singular readings too ("wolv" ~ "wolf"),
        # as whole names: a singular reading is no name's beginning ("wolv" is not "wol…", so
        # "Wolf Form Werewolf" does not outrank "Wolf").
        readings = singular_forms(query)

        def best(name: str) -> float:
            whole = (fuzzy_score(reading, name, typing=False) for reading in readings)
            return max(fuzzy_score(query, name), *whole, 0.0)

        scored = [(best(row.norm_name), row) for row in names if row.id not in found]
        # Aliases with typos too ("mordenkainen swrod", "bigbys hnd"), unless a name answers
        # the typo well already ("arcane swrod"): their own trigrams, as rare as they come
        # among aliases.
        if max((score for score, _ in scored), default=0.0) < FUZZY_NAME_ENOUGH:
            aliases = queries.aliases_sharing_trigrams(
                conn,
                profile,
                informative_trigrams(grams, app.alias_trigram_counts(grams)),
                cols,
                pack,
                FUZZY_ALIAS_CANDIDATES,
            )
            scored += [(best(row.norm_name), row) for row in aliases]
        scored.sort(
            key=lambda pair: (
                -pair[0],
                pair[1].alias is not None,  # at equal scores, a name before an alias
                collection_rank(pair[1].collection),
                len(pair[1].norm_name),
            ),
        )
        for score, row in scored:
            if score < FUZZY_MIN_SCORE or len(found) >= limit:
                break
            if row.id not in found:  # an entry once, by its best match
                found[row.id] = NameMatch(row, 3, score)
    _one_per_name(app, found)
    return sorted(found.values(), key=_rank)[:limit]


def _one_per_name(app: NameScope, found: dict[int, NameMatch]) -> None:
    """Entries of several packs with the same own name in one collection (a brew's Fireball
    beside the SRD's) are offered once: the entry lookup, hover and tags give for the name
    (`Standing.rank`), as search folds them. Aliases two entries share find both."""
    groups: dict[tuple[str, str], list[NameMatch]] = {}
    for m in found.values():
        if m.row.alias is None:
            groups.setdefault((m.row.collection, m.row.norm_name), []).append(m)
    clashes = [g for g in groups.values() if len({m.row.pack for m in g}) > 1]
    if not clashes:  # the usual case: no query
        return
    stand = queries.standings(app.conn, app.profile, [m.row.id for g in clashes for m in g])
    for group in clashes:
        first = min(group, key=lambda m: stand[m.row.id].rank if m.row.id in stand else (0, ""))
        for m in group:
            if m is not first:
                del found[m.row.id]


def _rank(m: NameMatch) -> tuple[int, int, bool, int, str]:
    if m.tier == 3:  # fuzzy matches arrive ordered by score
        return (m.tier, 0, False, 0, "")
    return (
        m.tier,
        len(m.row.norm_name),
        m.row.alias is not None,  # as long as an alias, a name first
        collection_rank(m.row.collection),
        m.row.norm_name,
    )
