"""Pure text helpers shared by SQL functions, queries and renderers."""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from typing import Any

_APOSTROPHES = str.maketrans("", "", "'’‘`ʼ")
# letters no Unicode decomposition takes apart, as English writes them (`Æther` → `aether`)
_LETTERS = str.maketrans({"æ": "ae", "œ": "oe", "ø": "o", "ß": "ss", "ð": "d", "đ": "d",
                          "þ": "th", "ł": "l", "ı": "i"})  # fmt: skip
_NON_WORD = re.compile(r"[^0-9a-z]+")

# Keys of 5e-database records that hold identifiers, not text a reader would search for.
_NOT_TEXT_KEYS = frozenset({"index", "url", "image", "option_type", "option_set_type"})


def normalize(text: str) -> str:
    """The form names are matched in: lower case, no accents, apostrophes or punctuation.

    >>> normalize("Mordenkainen's  Sword")
    'mordenkainens sword'
    >>> normalize("Cure-Wounds")
    'cure wounds'
    >>> normalize("Ætherfang Œil")
    'aetherfang oeil'
    """
    if text.isascii():  # nothing to decompose (most names and prose): the same, faster
        plain = text
    else:
        decomposed = unicodedata.normalize("NFKD", text.lower().translate(_LETTERS))
        plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _NON_WORD.sub(" ", plain.lower().translate(_APOSTROPHES)).strip()


def slugify(text: str) -> str:
    """`Mordenkainen's Sword` → `mordenkainens-sword`, the 5e-database way."""
    return normalize(text).replace(" ", "-")


def flatten(value: Any) -> str:
    """Every text and number of a record, in document order, as one string (the fallback index
    text of a record no renderer knows)."""
    parts: list[str] = []

    def walk(v: Any, key: str = "") -> None:
        if key in _NOT_TEXT_KEYS:
            return
        if isinstance(v, dict):
            for k, child in v.items():
                walk(child, k)
        elif isinstance(v, list):
            for child in v:
                walk(child, key)
        elif isinstance(v, bool) or v is None:
            return
        else:
            parts.append(str(v))

    walk(value)
    return "\n".join(parts)


_DICE = re.compile(r"\b\d+d(\d+)\b")


_DIGITS = re.compile(r"(\d+)")


def small_int(text: str) -> int | None:
    """`text` (ASCII digits, a sign allowed, spaces around) as a number, when it is one of at
    most 18 digits; else None. A file's or a request's "9" × 5,000 made `int()` raise
    ValueError (Python refuses more than 4,300 digits), and `"²".isdigit()` is true though
    `int("²")` raises too."""
    text = text.strip()
    digits = text.lstrip("+-") if text[:1] in "+-" else text
    if digits.isascii() and digits.isdigit() and len(digits) <= 18 and len(text) - len(digits) <= 1:
        return int(text)
    return None


def numbers_in_order(text: str) -> list[tuple[int, str]]:
    """A sort key for `text` that orders the numbers in it by value.

    >>> sorted(["bardic-inspiration-d10", "bardic-inspiration-d6"], key=numbers_in_order)
    ['bardic-inspiration-d6', 'bardic-inspiration-d10']
    """
    return [
        (small_int(part) or 0, "") if part.isdigit() else (0, part) for part in _DIGITS.split(text)
    ]


def dice_aliases(text: str) -> str:
    """The dice of `text` as players also write them, without the count: `3d6, 1d8` → `d6 d8`.

    >>> dice_aliases("Hit: 2d6 + 4 slashing damage plus 1d8 fire damage, or 4d6 on a crit")
    'd6 d8'
    """
    return " ".join(dict.fromkeys(f"d{size}" for size in _DICE.findall(text)))


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def fallback_name(slug: str, data_json: str) -> str:
    """A name for records that have none (2014 class levels): `Wizard 5`, `Champion 3`."""
    data = json.loads(data_json)
    owner = data.get("subclass") or data.get("class")
    if isinstance(owner, dict) and owner.get("name") and "level" in data:
        return f"{owner['name']} {data['level']}"
    return slug.replace("-", " ").title()


_CONTROL_NAMES = {"\n": "a line break", "\r": "a carriage return", "\t": "a tab"}


def json_error(exc: json.JSONDecodeError) -> str:
    """`invalid JSON: …` as a person reads it. json says only `Invalid control character at`
    of a line break typed inside a string: which character it is and how JSON writes it."""
    if exc.msg.startswith("Invalid control character") and exc.pos < len(exc.doc):
        char = exc.doc[exc.pos]
        what = _CONTROL_NAMES.get(char, f"the control character U+{ord(char):04X}")
        return f"invalid JSON: {what} inside a string (JSON writes it {json.dumps(char)[1:-1]})"
    return f"invalid JSON: {exc.msg}"


CODE_SPAN_SPLIT = re.compile(r"((`+)(?:(?!\2).)+?\2)")
"""A Markdown code span (its backticks and what they hold), for `blanked`: two groups."""


def code_spans(text: str) -> list[tuple[int, int]]:
    """The (start, end) columns of `text`'s Markdown code spans, backticks included."""
    return [m.span() for m in CODE_SPAN_SPLIT.finditer(text)]


def blanked(split: re.Pattern[str], groups: int, text: str) -> str:
    """`text` with each match of `split` (a pattern whose first group is the whole match,
    `groups` groups in all) replaced by as many spaces: split, measured and joined in C (a
    Python call per match, as `re.sub` makes, took a tenth of a first reading: a tag a line)."""
    parts = split.split(text)
    if len(parts) == 1:
        return text
    step = groups + 1
    out = parts[::step]  # the text between matches, then the matches blanked between them
    blanks = list(map(" ".__mul__, map(len, parts[1::step])))
    joined: list[str] = [""] * (len(out) + len(blanks))
    joined[::2], joined[1::2] = out, blanks
    return "".join(joined)
