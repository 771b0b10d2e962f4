"""Splitting an entry's index text into passages that fit the model's window.

The text's first line is its header (`Fireball: 3rd-level evocation spell of Sorcerer, Wizard`);
the rest is packed, paragraph by paragraph, into passages of at most `budget` tokens, a
paragraph that does not fit alone being cut at sentences (a sentence too long for a passage,
at words). Every passage after the first starts with the header, so it still says what it is
about. An entry's score is that of its best passage.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

CountTokens = Callable[[Sequence[str]], list[int]]

_SENTENCE_END = re.compile(r"(?<=[.!?:;])\s+(?=\S)")


def _pieces(paragraph: str, count: CountTokens, budget: int) -> list[tuple[str, int]]:
    """The paragraph, or its sentences, or for an overlong sentence its runs of words."""
    (n,) = count([paragraph])
    if n <= budget:
        return [(paragraph, n)]
    sentences = _SENTENCE_END.split(paragraph)
    out = []
    for sentence, size in zip(sentences, count(sentences), strict=True):
        if size <= budget:
            out.append((sentence, size))
            continue
        words = sentence.split()
        step = max(1, len(words) * budget // (size + 1))
        runs = [" ".join(words[i : i + step]) for i in range(0, len(words), step)]
        out += list(zip(runs, count(runs), strict=True))
    return out


def split(text: str, count: CountTokens, budget: int) -> list[str]:
    """Passages of at most ~`budget` tokens (the header repeated on each), in order."""
    header, _, body = text.strip().partition("\n")
    paragraphs = [p.strip() for p in body.split("\n") if p.strip()]
    (header_size,) = count([header])
    if header_size + sum(count(paragraphs)) <= budget:
        return [text.strip()]
    room = max(budget - header_size, budget // 2)
    passages: list[str] = []
    current: list[str] = []
    used = 0
    for paragraph in paragraphs:
        for piece, size in _pieces(paragraph, count, room):
            if current and used + size > room:
                passages.append("\n".join([header, *current]))
                current, used = [], 0
            current.append(piece)
            used += size
    if current or not passages:
        passages.append("\n".join([header, *current]))
    return passages
