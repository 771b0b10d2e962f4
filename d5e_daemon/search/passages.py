"""Passages: an entry's index text split to fit the model's window (`split`), and every
passage's vector held in memory for the first stage of semantic search (`PassageIndex`).

The text's first line is its header (`Fireball: 3rd-level evocation spell of Sorcerer, Wizard`);
the rest is packed, paragraph by paragraph, into passages of at most `budget` tokens, a
paragraph that does not fit alone being cut at sentences (a sentence too long for a passage,
at words). Every passage after the first starts with the header, so it still says what it is
about. An entry's score is that of its best passage.
"""

from __future__ import annotations

import functools
import itertools
import os
import re
from collections.abc import Callable, Collection, Sequence
from types import ModuleType
from typing import Any

import apsw

from .. import numeric, queries
from .embed import trim_heap

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


def split(text: str, count: CountTokens, budget: int, lead: bool = False) -> list[str]:
    """Passages of at most ~`budget` tokens (the header repeated on each), in order. With
    `lead`, the first paragraph comes first as a passage of its own as well (when the text
    holds more), without the header: a short account of what the entry is and does, which a
    query about that meets undiluted by the rest, and by the header's level, classes or
    challenge rating ("Paralyze a humanoid such as a guard, freezing them in place", not
    "Hold Person: 2nd-level enchantment spell of Bard, Cleric, Druid, …" before it)."""
    header, _, body = text.strip().partition("\n")
    paragraphs = [p.strip() for p in body.split("\n") if p.strip()]
    first = paragraphs[:1] if lead and len(paragraphs) > 1 else []
    return first + _packed(text, header, paragraphs, count, budget)


def _packed(
    text: str, header: str, paragraphs: list[str], count: CountTokens, budget: int
) -> list[str]:
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


DIMENSIONS = 384
CODE_WORDS = 6
"""384 bits = 6 words of 64."""
READ_CHUNK = 16_384
"""Passages read into the index at a time (`PassageIndex._read`)."""
EXACT_PASSAGES = 10_000
"""Up to this many passages, the first stage scores every one exactly (in memory)."""


USE_NATIVE = os.environ.get("D5E_CODES_NATIVE", "1") != "0"
"""The switch: scan the codes with `_codes_native` (when it was built) or with numpy
(`D5E_CODES_NATIVE=0`, or tests patching this). Both find the same, to the bit."""


def native() -> ModuleType | None:
    """`_codes_native` when it is switched on and was built, else None (numpy)."""
    return _native_module() if USE_NATIVE else None


@functools.cache
def _native_module() -> ModuleType | None:
    try:
        from .. import _codes_native
    except ImportError:  # built without a C compiler: numpy
        return None
    return _codes_native


def nearest_codes(far: Any, wanted: int) -> Any:
    """The positions of the `wanted` smallest Hamming distances in `far`, those at the cut
    distance taken in order of position (of passage id): hundreds of passages often share the
    cut distance, and `argpartition` picks among them as its algorithm, the array's type and
    numpy's version happen to, so the same database could find other candidates elsewhere.
    From the distances' histogram: ~0.5 ms for 357,000 codes, `argpartition` ~3 ms."""
    numeric.import_numpy()
    import numpy as np

    cut = int(np.searchsorted(np.cumsum(np.bincount(far)), wanted))
    below = np.flatnonzero(far < cut)
    return np.concatenate([below, np.flatnonzero(far == cut)[: wanted - len(below)]])


def scan_codes(words: Any, code: bytes, wanted: int) -> Any:
    """The positions of the `wanted` codes of `words` (`PassageIndex.rows`: [6, n] uint64)
    nearest to `code` by Hamming distance, as `nearest_codes` takes them: in C when
    `_codes_native` was built (one pass, ~1 ms for 257,000 codes where numpy's passes took ~5),
    else with numpy."""
    numeric.import_numpy()
    import numpy as np

    fast = native()
    if fast is not None:
        return np.frombuffer(fast.nearest(np.ascontiguousarray(words), code, wanted), np.int64)
    query = np.frombuffer(code, dtype=np.uint64)
    far = np.zeros(words.shape[1], dtype=np.uint32)
    for word in range(CODE_WORDS):
        far += np.bitwise_count(words[word] ^ query[word])
    return nearest_codes(far, wanted)


SCAN_CHUNK = 32_768
"""`scan_among` copies the codes it scans this many at a time (1.5 MB)."""


def scan_among(words: Any, at: Any, code: bytes, wanted: int) -> Any:
    """What `scan_codes(np.take(words, at, axis=1), code, wanted)` gives (positions within
    `at`, ascending positions of `words`), without a copy of all those codes (14 MB for a
    homebrew group's 285,000 passages at SRD + 100,000): each chunk's `wanted` nearest hold
    the nearest of all (those below the cut distance, and at it the first by position), which
    are then taken from them as `nearest_codes` takes them."""
    numeric.import_numpy()
    import numpy as np

    if len(at) <= SCAN_CHUNK:
        return scan_codes(np.take(words, at, axis=1), code, wanted)
    if wanted > len(at):  # all of them, in order (as `scan_codes` gives more than there are)
        return np.arange(len(at), dtype=np.int64)
    found = [
        start + scan_codes(np.take(words, at[start : start + SCAN_CHUNK], axis=1), code, wanted)
        for start in range(0, len(at), SCAN_CHUNK)
    ]
    positions = np.sort(np.concatenate(found))
    codes = np.take(words, at[positions], axis=1)
    query = np.frombuffer(code, dtype=np.uint64)
    far = np.zeros(len(positions), dtype=np.uint32)
    for word in range(CODE_WORDS):
        far += np.bitwise_count(codes[word] ^ query[word])
    return positions[nearest_codes(far, wanted)]


def estimates(words: Any, positions: Any, query: Any) -> Any:
    """`<query, s>` for the codes at `positions` of `words` (`PassageIndex.rows`), s being the
    code as a vector of ±1 (bit i of byte j: dimension 8j + i is positive): how the codes
    estimate each passage's similarity to the query, up to a factor (a unit vector's |x|_1,
    which varies by ~1.5 % between passages). Taken byte by byte from a table of each byte's
    share (48 x 256 sums): ~0.2 µs a code. The query keeps its magnitudes, so it ranks the
    candidates far better than their Hamming distance does (docs/benchmarks.md)."""
    numeric.import_numpy()
    import numpy as np

    table = (_byte_signs() @ query.reshape(CODE_BYTES, 8).T).T  # [48, 256]
    fast = native()
    if fast is not None:  # the same sums, in C (`_codes_native.c`)
        at = np.ascontiguousarray(positions, dtype=np.int64)
        table = np.ascontiguousarray(table, dtype=np.float32)
        sums = fast.estimates(np.ascontiguousarray(words), at, table)
        return np.frombuffer(sums, dtype=np.float32)
    codes = np.ascontiguousarray(words[:, positions].T).view(np.uint8)  # [n, 48]
    at = codes.astype(np.intp) + np.arange(0, CODE_BYTES * 256, 256, dtype=np.intp)
    return table.ravel()[at].sum(axis=1)


CODE_BYTES = CODE_WORDS * 8


@functools.cache
def _byte_signs() -> Any:
    """Each byte's 8 bits, the lowest first, as ±1: [256, 8] float32."""
    import numpy as np

    bits = np.unpackbits(np.arange(256, dtype=np.uint8)[:, None], axis=1, bitorder="little")
    return bits.astype(np.float32) * 2 - 1


class PassageIndex:
    """Every passage's vector in memory for the first stage of semantic search: the float32
    vectors while there are at most `exact_limit` passages (exact scores; 15 MB for 10,000),
    above that their 384-bit codes (56 bytes a passage: 15 MB for 270,000), stored word by word
    (6 arrays of 64-bit words, scanned by `scan_codes`). Loaded on
    the first semantic search.

    Kept current cheaply: new passages have higher ids (an id is never given twice: schema
    0014) and are read on their own; when passages went away (an entry changed or a pack was
    removed: the counts differ) all are read again.
    """

    def __init__(
        self,
        conn: Callable[[], apsw.Connection],
        exact_limit: int | None = None,
        vectors: Callable[[], apsw.Connection] | None = None,
    ) -> None:
        self.conn = conn
        """The calling thread's connection."""
        self.vectors = vectors or conn
        """The calling thread's connection for reading candidates' vectors (`Database.vectors`:
        a small page cache of its own)."""
        self.exact_limit = exact_limit
        self.ids: Any = None  # numpy int64 [n], ascending
        self.rows: Any = None  # numpy float32 [n, 384] (exact) or uint64 [6, n] (codes)
        self.exact = True
        self.stamp: object = None
        self.scopes: dict[str, ScopeVectors | None] = {}
        """`among`'s passages by scope, while the database is unchanged."""

    def current(self) -> PassageIndex:
        conn = self.conn()
        stamp = queries.stamp(conn)
        if self.ids is not None and stamp == self.stamp:
            return self
        self.scopes = {}
        count = queries.passage_code_count(conn)
        limit = EXACT_PASSAGES if self.exact_limit is None else self.exact_limit
        exact = count <= limit
        if self.ids is None or exact != self.exact:
            self.exact = exact
            self.ids, self.rows = self._read(0)
        else:
            self._extend(*self._read(int(self.ids[-1]) if len(self.ids) else 0))
        if len(self.ids) != count:  # some went away
            self.ids, self.rows = self._read(0)
        self.stamp = stamp
        return self

    def _extend(self, ids: Any, rows: Any) -> None:
        numeric.import_numpy()
        import numpy as np

        if len(ids):
            self.ids = np.concatenate([self.ids, ids])
            self.rows = np.concatenate([self.rows, rows], axis=0 if self.exact else 1)

    def _read(self, after: int) -> tuple[Any, Any]:
        """The ids and rows of the passages above `after`, read `READ_CHUNK` at a time: the
        rows as Python objects (an int and a bytes each, ~100 bytes) never exist for all of
        them at once (at 357,000 passages, the daemon's peak went 68 MB above what it keeps)."""
        numeric.import_numpy()
        import numpy as np

        read = queries.passage_vectors if self.exact else queries.passage_codes
        id_chunks: list[Any] = []
        row_chunks: list[Any] = []
        rows = read(self.conn(), after)
        while chunk := list(itertools.islice(rows, READ_CHUNK)):
            id_chunks.append(np.fromiter((i for i, _ in chunk), dtype=np.int64, count=len(chunk)))
            row_chunks.append(np.frombuffer(b"".join(b for _, b in chunk), dtype=np.uint8))
            del chunk
        ids = np.concatenate(id_chunks) if id_chunks else np.zeros(0, dtype=np.int64)
        data = np.concatenate(row_chunks) if row_chunks else np.zeros(0, dtype=np.uint8)
        del row_chunks
        if len(ids) > READ_CHUNK:  # the chunks' pages back to the system (+9 MB kept without)
            trim_heap()
        if self.exact:
            return ids, data.view("<f4").reshape(len(ids), DIMENSIONS)
        words = data.view(np.uint64).reshape(len(ids), CODE_WORDS)
        return ids, np.ascontiguousarray(words.T)

    def nearest(
        self,
        vector: bytes,
        wanted: int,
        allowed: Any = None,
        scanned: int | None = None,
    ) -> list[int]:
        """Passage ids nearest to `vector`, `wanted` of them (among `allowed` if given: ids in
        ascending order, a list or a numpy array): by cosine when exact; else by the Hamming
        distance of the codes, or, given `scanned` (more than `wanted`), of the `scanned`
        nearest by Hamming distance the `wanted` best by the codes' estimate of the
        similarity (`estimates`), in order of id."""
        numeric.import_numpy()
        import numpy as np

        ids, rows = self.ids, self.rows
        at = None if allowed is None else self.positions(allowed)
        if self.exact:
            if at is not None:
                ids, rows = ids[at], rows[at]
            if len(ids) <= wanted:
                return [int(i) for i in ids]
            far = -(rows @ np.frombuffer(vector, dtype="<f4"))
            chosen: list[int] = ids[np.argpartition(far, wanted)[:wanted]].tolist()
            return chosen
        if len(ids if at is None else at) <= wanted:
            return [int(i) for i in (ids if at is None else ids[at])]
        code = queries.query_code(self.conn(), vector)
        scan = max(wanted, scanned or 0)
        # positions in the index (`at` ascending: the order of positions among them is theirs)
        near = scan_codes(rows, code, scan) if at is None else at[scan_among(rows, at, code, scan)]
        if len(near) > wanted:
            estimate = estimates(rows, near, np.frombuffer(vector, dtype="<f4"))
            near = np.sort(near[np.argsort(-estimate, kind="stable")[:wanted]])
        return ids[near].tolist()  # type: ignore[no-any-return]

    def positions(self, allowed: Any) -> Any:
        """The positions (ascending) of the ids of `allowed` (ascending) that the index holds:
        from the sorted ids, without `np.isin`'s sort of both (~20 MB for 285,000 of 290,000)."""
        numeric.import_numpy()
        import numpy as np

        wanted = np.asarray(allowed, dtype=np.int64)
        at = np.searchsorted(self.ids, wanted)
        held = at < len(self.ids)
        held[held] = self.ids[at[held]] == wanted[held]
        return at[held]

    def among(self, key: str, load: Callable[[], dict[int, int]]) -> ScopeVectors | None:
        """The passages of one scope (`load`: passage id → entry id; `key` names the scope)
        with their float32 vectors, when they are at most `EXACT_PASSAGES`; kept until the
        database changes (`current`). None when there are more."""
        self.current()
        if key not in self.scopes:
            if len(self.scopes) >= SCOPES_KEPT:
                self.scopes.pop(next(iter(self.scopes)))
            self.scopes[key] = ScopeVectors.read(self.conn(), load())
        return self.scopes[key]


SCOPES_KEPT = 2
"""`PassageIndex.among` keeps the vectors of this many scopes at most (the profile's SRD packs,
~7 MB for the SRD 2014; a search asking for collections or filters takes those packs' vectors
and leaves out the passages outside its scope)."""


class ScopeVectors:
    """The passages of a small scope (a few packs: the profile's SRD, 5,000 passages) with their
    float32 vectors, scored exactly in memory: semantic search ranked within that scope reads
    nothing from the database."""

    def __init__(self, ids: Any, entries: Any, rows: Any) -> None:
        self.ids = ids  # numpy int64 [n]
        self.entries = entries  # numpy int64 [n]
        self.rows = rows  # numpy float32 [n, 384], each of length 1

    @classmethod
    def read(cls, conn: apsw.Connection, entries: dict[int, int]) -> ScopeVectors | None:
        """The vectors of the passages of `entries` (passage id → entry id); None when there are
        more than `EXACT_PASSAGES`."""
        numeric.import_numpy()
        import numpy as np

        if len(entries) > EXACT_PASSAGES:
            return None
        found = queries.vectors_of(conn, sorted(entries))
        ids = np.array([pid for pid, _ in found], dtype=np.int64)
        rows = np.frombuffer(b"".join(v for _, v in found), dtype="<f4").reshape(
            len(ids), DIMENSIONS
        )
        norms = np.linalg.norm(rows, axis=1, keepdims=True)
        rows = rows / np.where(norms == 0, 1, norms)
        owners = np.array([entries[int(pid)] for pid in ids], dtype=np.int64)
        return cls(ids, owners, rows.astype(np.float32))

    def nearest(
        self, vector: bytes, k: int, limit: int, allowed: Collection[int] | None = None
    ) -> list[tuple[int, float, int]]:
        """(entry id, cosine similarity of its best passage, that passage's id), best first, of
        the `k` passages nearest to `vector` (among the passage ids `allowed`, if given), at
        most `limit` entries."""
        numeric.import_numpy()
        import numpy as np

        query = np.frombuffer(vector, dtype="<f4")
        size = float(np.linalg.norm(query))
        if not len(self.ids) or size == 0:
            return []
        sims = self.rows @ (query / size)
        if allowed is not None:
            sims = np.where(np.isin(self.ids, np.fromiter(allowed, dtype=np.int64)), sims, -np.inf)
            k = min(k, len(allowed))
            if not k:
                return []
        top = np.argpartition(-sims, k)[:k] if len(sims) > k else np.arange(len(sims))
        top.sort()  # ties to the lower passage id, as the search through the database breaks them
        best: dict[int, tuple[int, float, int]] = {}
        for i in top[np.argsort(-sims[top], kind="stable")]:
            entry_id = int(self.entries[i])
            if entry_id not in best:
                best[entry_id] = (entry_id, float(sims[i]), int(self.ids[i]))
        return list(best.values())[:limit]
