"""How many creatures, as writers write it: one count, or a range of counts.

    4   two   a dozen   half a dozen                 that many
    6-8   2–4   two or three   3 to 5   between 2 and 4   its low and its high end
    up to 5                                           1 to 5
    2d6   1d4+1   1d4 + 2                             a roll: its lowest and its highest

One grammar for every face: `parse_quantity` reads the count `d5e encounter 6-8 wolf` and the
MCP and JSON-RPC `count` are given, `quantity_ending` the one prose writes before a name
(`campaign.counting_parts`: "a pack of 6-8 wolves"). A range's dash is written without spaces
("2–4"; "Room 2 - 4 goblins" is a room and four goblins); its low end is at most its high end.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from contextlib import suppress
from typing import Any

from .errors import InvalidParams
from .prose import MAX_COUNT_DIGITS, NUMBER_WORDS, parse_count

_WORDS = sorted(NUMBER_WORDS, key=len, reverse=True)
_NUMBER = "|".join(
    [rf"\d{{1,{MAX_COUNT_DIGITS}}}", r"half\s+a\s+dozen"] + [w.replace(" ", r"\s+") for w in _WORDS]
)
_N = rf"(?:{_NUMBER})(?![^\WxX]|['’])"  # "4xwolf" is 4 wolves, "1d4" no 1
_QUANTITY = (
    r"(?P<dice>\d{1,3})[dD](?P<sides>\d{1,3})"
    r"(?:[ \t]*(?P<sign>[-+])[ \t]*(?P<mod>\d{1,3}))?(?![\w'’])"
    rf"|between[ \t]+(?P<first>{_N})[ \t]+and[ \t]+(?P<last>{_N})"
    rf"|up[ \t]+to[ \t]+(?P<most>{_N})"
    rf"|(?P<low>{_N})(?:[-–—]|[ \t]+(?:to|or)[ \t]+)(?P<high>{_N})"
    rf"|(?P<one>{_N})"
)
QUANTITY = re.compile(_QUANTITY, re.I)
"""A quantity, as `parse_quantity` reads it (`QUANTITY.match(text)` at the start of a text)."""
_ENDING = re.compile(rf"(?<![\w.,/+\-–—])(?:{_QUANTITY})$", re.I)
_TOKEN = re.compile(_NUMBER, re.I)
_WINDOW = 48  # characters before a count that a quantity ending at it may take


def _number(text: str) -> int:
    words = " ".join(text.lower().split())
    if words == "half a dozen":
        return 6
    return parse_count(text)


def ends(m: re.Match[str]) -> tuple[int, int]:
    """The low and high end of a quantity `QUANTITY` matched (ValueError when none: a range
    whose low end is above its high end, a roll of no dice). How many a group may hold is the
    encounter's to say (`features.encounter.counts`)."""
    if m["dice"] is not None:
        dice, sides = int(m["dice"]), int(m["sides"])
        if not dice or not sides:
            raise ValueError(f"count {m[0]!r}: a roll of no dice or of dice with no sides")
        mod = int(m["mod"] or 0) * (-1 if m["sign"] == "-" else 1)
        low, high = max(dice + mod, 0), dice * sides + mod  # a roll below 0 is none
        if high < 1:
            raise ValueError(f"count {m[0]!r}: a roll that is never a creature")
    elif m["most"] is not None:
        low, high = 1, _number(m["most"])
    elif m["low"] is not None or m["first"] is not None:
        low, high = _number(m["low"] or m["first"]), _number(m["high"] or m["last"])
        if low > high:
            raise ValueError(f"count {m[0]!r}: the low end {low} is above the high end {high}")
    else:
        low = high = _number(m["one"])
    return low, high


def parse_quantity(text: str) -> tuple[int, int]:
    """`4` → (4, 4), `6-8` → (6, 8), `1d4+1` → (2, 5), `up to 5` → (1, 5), `two or three` →
    (2, 3), `half a dozen` → (6, 6). ValueError, saying why, for what is none."""
    written = text.strip()
    m = QUANTITY.fullmatch(written)
    if m is None:
        raise ValueError(
            f"count {written!r}: a number (4, four, a dozen), a range (6-8, two or three, up "
            "to 5) or a roll (1d4+1)"
        )
    return ends(m)


def quantity_ending(line: str, count_start: int) -> tuple[int, int, int] | None:
    """The quantity written in `line` that ends with the count at `count_start` (the one the
    prose reader read: the 8 of "6-8 wolves", the 1 of "1d4+1 orcs", the dozen of "half a
    dozen"): (low, high, its column); None when no count is written there."""
    token = _TOKEN.match(line, count_start)
    if token is None:
        return None
    m = _ENDING.search(line, max(0, count_start - _WINDOW), token.end())
    if m is not None:
        with suppress(ValueError):  # "8-6 wolves": no range, the count as the reader read it
            return (*ends(m), m.start())
    value = _number(token[0])
    return value, value, count_start


_CLOSING = re.compile(r"[ \t]*\)")


def quantity_at(line: str, at: int) -> tuple[int, int, int] | None:
    """The quantity written at `at` (a count after a creature's name: the 4 of "Goblins x4",
    the 2d4 of "Wolves (2d4)"): (low, high, the column after it and its closing bracket);
    None when none is, or it is no count ("8-6")."""
    m = QUANTITY.match(line, at)
    if m is None:
        return None
    try:
        low, high = ends(m)
    except ValueError:
        return None
    closing = _CLOSING.match(line, m.end())
    return low, high, closing.end() if closing is not None else m.end()


# A roll table flattened into one line of text, as the SRD 2024's are ("1d20 Golem Time Cost
# 1-5 Clay Golem 30 days 65,000 GP 6-17 Flesh Golem …"): one die, then the rows, each opening
# with the numbers it is rolled on, ascending within the die's faces. Flattening glues words
# ("Deck of Illusions1d100  Illusion*04-06  Archmage10-12  Bandit Captain16-18 …").
_TABLE_DIE = re.compile(r"(?<![\d+\-–])1[dD](4|6|8|10|12|20|100)(?!\d|[ \t]*[+\-–][ \t]*\d)")
_ROW_NUMBERS = re.compile(r"(?<![\d,.])(?<!\d[dD])(\d{1,3})(?:[-–](\d{1,3}))?(?!\d|[,.]\d)")
_MOST_ROW_NUMBERS = 300  # numbers after one die that are read as its rows' (a long line)


def roll_table_rows(line: str) -> list[tuple[int, int]]:
    """The columns (start, end) of the numbers that open each row of the roll tables flattened
    into `line`: after a die of one roll ("1d20", "1d100"), numbers and ranges within its faces
    ("00" is 100), ascending, at least three of them and two ranges ("1-5 … 6-17 … 18 … 19-20").
    Where numbers that fit could be the rows' or counts ("01-08 Bag of 100 GP 09-15 …", "84-90
    2 Mastiffs"), the rows are the longest ascending run of ranges, then of numbers. A row's
    number counts nothing: "1-5 Clay Golem" is no five clay golems."""
    dice = list(_TABLE_DIE.finditer(line))
    rows: list[tuple[int, int]] = []
    for i, die in enumerate(dice):
        sides = int(die[1])
        stop = dice[i + 1].start() if i + 1 < len(dice) else len(line)
        found: list[tuple[int, int, int, int, bool]] = []
        for m in _ROW_NUMBERS.finditer(line, die.end(), stop):
            low, high = int(m[1]), int(m[2] or m[1])
            if sides == 100:
                low, high = low or 100, high or 100
            if 1 <= low <= high <= sides:
                found.append((m.start(), m.end(), low, high, m[2] is not None))
            if len(found) == _MOST_ROW_NUMBERS:
                break
        # the best ascending run ending at each number: (ranges, numbers), and the one before
        best: list[tuple[tuple[int, int], int]] = []
        for j, (_, _, low, _, is_range) in enumerate(found):
            before = [k for k in range(j) if found[k][3] < low]
            k = max(before, key=lambda k: best[k][0], default=-1)
            ranges, numbers = best[k][0] if k >= 0 else (0, 0)
            best.append(((ranges + is_range, numbers + 1), k))
        end = max(range(len(found)), key=lambda j: best[j][0], default=-1)
        if end < 0 or best[end][0][0] < 2 or best[end][0][1] < 3:
            continue
        run = []
        while end >= 0:
            run.append(found[end][:2])
            end = best[end][1]
        rows += reversed(run)
    return rows


_WITH_NAME = re.compile(
    rf"(?P<count>{_QUANTITY}|an?|-\d+)(?:[ \t]*[x×:][ \t]+|(?<=\d)[x×:][ \t]*|[ \t]+)(?P<name>.*)",
    re.S | re.I,
)
_ALONE = re.compile(rf"{_QUANTITY}|an?|-\d+", re.I)
# A count after the name, as encounter tables write it: "Ogre x3", "Goblin ×4", "Wolves (2d4)".
_TIMES_AFTER = re.compile(
    rf"(?P<name>.*?\S)(?:[ \t]+x|[ \t]*×)[ \t]*(?P<count>{_QUANTITY})", re.S | re.I
)
_BRACKETED_AFTER = re.compile(
    rf"(?P<name>.*?\S)[ \t]*\([ \t]*[x×]?[ \t]*(?P<count>{_QUANTITY})[ \t]*\)", re.S | re.I
)
_TIMES_ALONE = re.compile(rf"[x×][ \t]*(?:{_QUANTITY})", re.I)
# Groups said in one string: "3 goblins and a hobgoblin", "2 wolves, 1d4 orcs" (a join before a
# count; "Werewolf, Human Form" and "3 goblins and their boss" are not split).
_JOIN = re.compile(rf"[ \t]*(?:,|&|\band\b)[ \t]*(?=(?:{_QUANTITY}|an?)[ \t]+\S)", re.I)
_MOST_WORDS = 5  # words of a count written alone ("between 2 and 4", "half a dozen")


def _group_count(written: str) -> int | str:
    """What a group's `count` is given as: a number, or the range as written ("6-8")."""
    if re.fullmatch(r"an?|-\d+", written, re.I):
        return 1 if written[0] in "aA" else int(written)
    try:
        low, high = parse_quantity(written)
    except ValueError as exc:
        raise InvalidParams(str(exc)) from None
    return low if low == high else written


_BETWEEN = re.compile(r"\bbetween[ \t]+\S+$", re.I)


def _apart(said: str) -> list[str]:
    """A string cut at each join before a count (`_JOIN`), but the "and" of "between 2 and 4"."""
    parts, start = [], 0
    for m in _JOIN.finditer(said):
        if _BETWEEN.search(said, start, m.start()):
            continue
        parts.append(said[start : m.start()])
        start = m.end()
    return [*parts, said[start:]]


def parse_groups(words: Sequence[str]) -> list[dict[str, Any]]:
    """Monster groups as said (`d5e encounter`'s words, the MCP tool's): `4 wolf "dire wolf"`,
    `4xwolf 2:goblin monsters/ogre`, `6-8 wolf`, `1d4+1 orcs`, `two or three bandits`, `2
    bugbears and a goblin` ("a" or "an" is one; "and", "&" and commas join, also inside a
    string before a count: "3 goblins and a hobgoblin"): a count counts the creature after it,
    one without; or, as encounter tables write it, the one before it (`Ogre x3`, `Goblin ×4`,
    `Wolves (2d4)`).

    >>> parse_groups(["Ogre x3", "goblins (1d4)"])
    [{'name': 'Ogre', 'count': 3}, {'name': 'goblins', 'count': '1d4'}]
    >>> parse_groups(["3 wolves and a dire wolf"])
    [{'name': 'wolves', 'count': 3}, {'name': 'dire wolf', 'count': 1}]
    """
    groups: list[dict[str, Any]] = []
    words = [part.strip().strip(",") for w in words for part in _apart(w)]
    count: str | None = None
    counted = True  # whether the last group's count was written
    i = 0
    while i < len(words):
        word = words[i]
        if word.lower() in ("and", "&", ""):
            i += 1
            continue
        size = next(
            (
                size
                for size in range(min(_MOST_WORDS, len(words) - i), 0, -1)
                if _ALONE.fullmatch(" ".join(words[i : i + size]))
            ),
            0,
        )
        if size:
            written = " ".join(words[i : i + size])
            if count is not None:
                raise InvalidParams(f"{count} and {written}: two counts for one creature")
            count, i = written, i + size
            continue
        if count is None and not counted and _TIMES_ALONE.fullmatch(word):  # `ogre x3`
            groups[-1]["count"] = _group_count(word[1:].strip())
            counted, i = True, i + 1
            continue
        m = _WITH_NAME.fullmatch(word)
        name = m["name"].strip() if m else word
        if m and count is None:
            count = m["count"]
        elif count is None and (
            after := _TIMES_AFTER.fullmatch(word) or _BRACKETED_AFTER.fullmatch(word)
        ):
            name, count = after["name"], after["count"]
        i += 1
        if not name:
            continue
        key = "ref" if "/" in name and " " not in name else "name"
        groups.append({key: name, "count": 1 if count is None else _group_count(count)})
        counted, count = count is not None, None
    if count is not None:
        raise InvalidParams(f"the count {count} is not followed by a creature's name")
    return groups
