"""British and American spellings of a word: `armour` ~ `armor`, `paralysed` ~ `paralyzed`.

Search asks for the other spelling of a query word when the index holds that one more often
(see `features/search.py`): the SRD writes American English, a homebrew pack may write British,
players write both. FTS5's Porter stemmer does not join them (`paralysed` → `paralys`,
`paralyzed` → `paralyz`). The rules below only propose candidates; the index's own vocabulary
decides, so a candidate that is no word of any entry (`fire` → `fier`) is never used.
"""

from __future__ import annotations

import functools
import re

# (pattern, replacement) at the end of a word: British to American, then American to British.
_ENDINGS: tuple[tuple[str, str], ...] = (
    (r"our(s|ed|ing|ful|less|able|ite|ites)?$", r"or\1"),  # armour, colourful, favourite
    (r"is(e|ed|es|ing|ation|ations)$", r"iz\1"),  # recognise, immobilised
    (r"ys(e|ed|es|ing)$", r"yz\1"),  # paralyse, analysed
    (r"([^aeiou])re(s|d)?$", r"\1er\2"),  # centre, sceptres, sabre
    (r"([aeiou])ll(ed|ing|er|ers)$", r"\1l\2"),  # travelled, traveller
    (r"ence$", r"ense"),  # defence, offence
    (r"ogue(s)?$", r"og\1"),  # catalogue
    (r"([^aeiou])or(s|ed|ing|ful|less|able|ite|ites)?$", r"\1our\2"),  # armor
    (r"iz(e|ed|es|ing|ation|ations)$", r"is\1"),
    (r"yz(e|ed|es|ing)$", r"ys\1"),
    (r"([^aeiou])er(s|ed)?$", r"\1re\2"),  # center
    (r"([aeiou])l(ed|ing|er|ers)$", r"\1ll\2"),  # traveled
    (r"ense$", r"ence"),  # defense
)
_WORDS = {
    "grey": "gray",
    "greys": "grays",
    "mould": "mold",
    "moulds": "molds",
    "plough": "plow",
    "draught": "draft",
    "jewellery": "jewelry",
    "manoeuvre": "maneuver",
    "manoeuvres": "maneuvers",
    "judgement": "judgment",
    "ageing": "aging",
    "sulphur": "sulfur",
    "tyre": "tire",
    "pyjamas": "pajamas",
}
_REVERSE_WORDS = {american: british for british, american in _WORDS.items()}
_MIN_LENGTH = 4


_COMPILED = tuple((re.compile(pattern), replacement) for pattern, replacement in _ENDINGS)
_ANY_ENDING = re.compile(
    "|".join(
        [f"(?:{pattern.removesuffix('$')})(?![a-z])" for pattern, _ in _ENDINGS]
        + [rf"\b(?:{'|'.join(_WORDS)}|{'|'.join(_REVERSE_WORDS)})\b"]
    )
)
"""Whether a word of a text may have another spelling: one search for most words and names,
which none does (prose reads the 1,400 names of a profile in their other spellings)."""


def may_vary(text: str) -> bool:
    """Whether some word of a lower-case text may have another spelling (`variants`)."""
    return _ANY_ENDING.search(text) is not None


def variants(word: str) -> list[str]:
    """The other spellings `word` may have (lower case), most likely first; [] for most words.

    >>> variants("armour"), variants("paralysed"), variants("armor")
    (['armor'], ['paralyzed'], ['armour'])
    """
    return list(_variants(word))


@functools.lru_cache(maxsize=4096)
def _variants(word: str) -> tuple[str, ...]:
    """`variants`, remembered: every word of every query is asked (13 patterns each)."""
    if len(word) < _MIN_LENGTH or not word.isalpha():
        return ()
    out: list[str] = []
    for table in (_WORDS, _REVERSE_WORDS):
        if word in table:
            out.append(table[word])
    if may_vary(word):
        out += [pattern.sub(replacement, word) for pattern, replacement in _COMPILED]
    return tuple(v for v in dict.fromkeys(out) if v != word and len(v) >= _MIN_LENGTH)
