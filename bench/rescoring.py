"""The semantic half at scale: the codes' first stage and the exact rescoring of its candidates,
what each costs, what decides their results, and what cheaper ways measured would change.

    .venv/bin/python bench/rescoring.py --db PATH [--queries N] [--json FILE]

PATH: an indexed database with more than 10,000 passages (SRD + 100,000 entries: `bench/scale.py`),
read only. The queries: those of the dev, held-out and homebrew sets (`bench/same_hits.py`),
embedded with the real model. For each, what `semantic_hits` does over the whole library: the
`K` x 32 candidates nearest by the codes' Hamming distance (d5e's first stage until the
thirteenth session; now `bench/candidates.py`)
(`PassageIndex.nearest`), their exact distances (`queries.passage_distances`), the `K` nearest.

Figures (CPU per query, `time.thread_time`: the machine's load adds little):

- the first stage's parts (XOR + popcount, `argpartition`) and the exact rescoring in SQLite;
- what decides the results: the distance at which the candidates stop, how many passages share
  it, how many of those the first stage takes, and the share of queries whose exact `K` nearest
  hold one of them (then which equals `argpartition` takes is part of the results);
- cheaper first stages against d5e's, as queries whose `K` nearest passages, best 50 or best 10
  entries (each by its best passage) differ: equals taken by lowest id after a histogram of the
  distances; only the best M candidates by the codes' asymmetric estimate (<q, sign x> / |x|_1:
  the codes and one float a passage) scored exactly;
- the candidates' float32 vectors read from a flat file (written in a temporary folder) instead
  of SQLite: one `os.preadv` each; through a memory map (CPU, and the RSS the mapping adds); and
  their distances computed by sqlite-vec over the bytes read, in one statement (checked: the same
  order and values as `queries.passage_distances`);
- what codes of b bits a dimension would take in memory at this size.
"""

from __future__ import annotations

import argparse
import json
import mmap
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from driver import Figures
from same_hits import queries as all_queries

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from d5e_daemon import db, queries  # noqa: E402
from d5e_daemon.features.search import FUSION_DEPTH, PASSAGES_PER_ENTRY  # noqa: E402
from d5e_daemon.search import passages  # noqa: E402
from d5e_daemon.search.embed import MiniLMEmbedder  # noqa: E402

K = FUSION_DEPTH * PASSAGES_PER_ENTRY
WANTED = K * 32  # the first stage measured here: 32 x K by Hamming, all scored (before 13)
SIZE = passages.DIMENSIONS * 4
DISTANCES_OF_BYTES = (
    "SELECT value, vec_distance_cosine(?1, substr(?2, key * ?4 + 1, ?4)) AS distance "
    "FROM json_each(?3) ORDER BY distance"
)


class Timings:
    """CPU milliseconds of each part, per query, kept until the figures are made."""

    def __init__(self) -> None:
        self.parts: dict[tuple[str, str], list[float]] = {}

    def __call__(self, section: str, label: str, fn: Callable[[], Any]) -> Any:
        started = time.thread_time()
        out = fn()
        ms = (time.thread_time() - started) * 1000
        self.parts.setdefault((section, label), []).append(ms)
        return out

    def report(self, figures: Figures) -> None:
        for (section, label), values in self.parts.items():
            figures.latency(section, label, values)


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def hamming(index: passages.PassageIndex, code: np.ndarray) -> np.ndarray:
    """`PassageIndex.nearest`'s distances."""
    far = np.zeros(len(index.ids), dtype=np.uint32)
    for word in range(passages.CODE_WORDS):
        far += np.bitwise_count(index.rows[word] ^ code[word])
    return far


def best_entries(order: np.ndarray, entries: np.ndarray, n: int) -> list[int]:
    """The first `n` entries of passages in `order` (each entry at its best passage)."""
    seen: dict[int, None] = {}
    for i in order:
        seen.setdefault(int(entries[i]), None)
        if len(seen) == n:
            break
    return list(seen)


def ranked(positions: np.ndarray, x: np.ndarray, q: np.ndarray) -> np.ndarray:
    return positions[np.argsort(-(x[positions] @ q), kind="stable")]


def analyze(path: Path, texts: list[str], figures: Figures) -> None:
    conn = db.connect(path, readonly=True)
    index = passages.PassageIndex(lambda: conn, exact_limit=0).current()
    ids = index.ids
    n = len(ids)
    rows = queries.passage_vectors(conn, 0)
    x = np.frombuffer(b"".join(v for _, v in rows), dtype="<f4").reshape(n, passages.DIMENSIONS)
    owner = dict(conn.execute("SELECT id, entry_id FROM passage"))
    entries = np.array([owner[int(i)] for i in ids], dtype=np.int64)
    l1 = np.abs(x).sum(axis=1)
    figures.fact("passages", f"{n:,}")
    figures.fact("queries", len(texts))
    for bits in (1, 2, 4, 8):
        figures.value(
            "codes in memory at this size",
            f"{bits} bit(s) a dimension",
            n * 48 * bits / 2**20,
            "MB",
        )
    vectors = MiniLMEmbedder().embed(texts)
    changed = {name: [0, 0, 0] for name in ("hist", "est 800", "est 1,200", "est 1,600")}
    holds_tie = 0
    timed = Timings()
    first, rescoring = "first stage, CPU a query", "exact rescoring, CPU a query"
    ties: dict[str, list[int]] = {"passages at it": [], "of them candidates": []}
    added: list[float] = []
    with tempfile.TemporaryDirectory(prefix="d5e-bench-rescoring-") as tmp:
        flat = Path(tmp) / "vectors.f32"
        x.tofile(flat)
        fd = os.open(flat, os.O_RDONLY)
        buffer = bytearray(WANTED * SIZE)
        view = memoryview(buffer)
        same_distances = 0
        for vector in vectors:
            q = np.frombuffer(vector, dtype="<f4")
            code = np.frombuffer(queries.query_code(conn, vector), dtype=np.uint64)
            far = timed(first, "XOR + popcount of every code", lambda c=code: hamming(index, c))
            part = timed(first, "argpartition", lambda f=far: np.argpartition(f, WANTED)[:WANTED])
            candidates = np.sort(part)
            wanted = ids[candidates].tolist()
            exact = timed(
                rescoring,
                "SQLite (d5e)",
                lambda v=vector, w=wanted: queries.passage_distances(conn, v, w),
            )

            def pread(candidates: np.ndarray = candidates) -> None:
                for j, i in enumerate(candidates.tolist()):
                    os.preadv(fd, [view[j * SIZE : (j + 1) * SIZE]], i * SIZE)

            timed(rescoring, "flat file, os.preadv each", pread)
            args = (vector, bytes(view[: len(candidates) * SIZE]), json.dumps(wanted), SIZE)
            found = timed(
                rescoring,
                "sqlite-vec over the bytes read",
                lambda a=args: list(conn.execute(DISTANCES_OF_BYTES, a)),
            )
            same_distances += [(int(i), float(d)) for i, d in found] == exact
            with open(flat, "rb") as f, mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ) as m:
                before = rss_mb()
                mapped = np.frombuffer(m, dtype="<f4").reshape(n, passages.DIMENSIONS)
                timed(rescoring, "memory map", lambda a=mapped, c=candidates, v=q: a[c] @ v)
                added.append(rss_mb() - before)
                del mapped

            # what decides the results
            top = ranked(candidates, x, q)
            stop = far[candidates].max()
            ties["passages at it"].append(int((far == stop).sum()))
            ties["of them candidates"].append(int((far[candidates] == stop).sum()))
            holds_tie += bool((far[top[:K]] == stop).any())
            counts = np.cumsum(np.bincount(far, minlength=passages.DIMENSIONS + 1))
            below = int(np.flatnonzero(counts >= WANTED)[0])
            taken = WANTED - (int(counts[below - 1]) if below else 0)
            variants = {
                "hist": np.concatenate(
                    [np.flatnonzero(far < below), np.flatnonzero(far == below)[:taken]]
                )
            }
            bits = np.unpackbits(
                index.rows[:, candidates].T.copy().view(np.uint8), axis=1, bitorder="little"
            )
            estimate = ((bits.astype(np.float32) * 2 - 1) @ q) / l1[candidates]
            by_estimate = candidates[np.argsort(-estimate)]
            for m_, name in ((800, "est 800"), (1200, "est 1,200"), (1600, "est 1,600")):
                variants[name] = by_estimate[:m_]
            for name, chosen in variants.items():
                other = ranked(chosen, x, q)
                count = changed[name]
                count[0] += set(other[:K].tolist()) != set(top[:K].tolist())
                count[1] += best_entries(other, entries, 50) != best_entries(top, entries, 50)
                count[2] += best_entries(other, entries, 10) != best_entries(top, entries, 10)
        os.close(fd)
    total = len(vectors)
    timed.report(figures)
    for label, counts in ties.items():
        figures.latency("the candidates' last Hamming distance", label, counts, "")
    figures.latency("memory map", "RSS added by one query's reads", added, "MB")
    figures.value(
        "what decides the results",
        f"queries whose exact {K} nearest hold a passage at the last distance",
        holds_tie / total,
        "",
    )
    figures.value(
        "what decides the results",
        "sqlite-vec over the bytes read: same order and values as SQLite's",
        same_distances / total,
        "",
    )
    labels = {
        "hist": "equals by lowest id (histogram)",
        "est 800": "best 800 by the asymmetric estimate",
        "est 1,200": "best 1,200 by the asymmetric estimate",
        "est 1,600": "best 1,600 by the asymmetric estimate",
    }
    for name, (passages_, fifty, ten) in changed.items():
        section = f"cheaper first stages: queries whose results differ from d5e's ({total})"
        figures.value(section, f"{labels[name]}: {K} nearest passages", passages_, "")
        figures.value(section, f"{labels[name]}: best 50 entries", fifty, "")
        figures.value(section, f"{labels[name]}: best 10 entries", ten, "")
    conn.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", type=Path, required=True)
    ap.add_argument("--queries", type=int, default=0, help="the first N queries only (0: all)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    texts = all_queries()
    if args.queries:
        texts = texts[: args.queries]
    figures = Figures(
        "rescoring", "The semantic half at scale (`bench/rescoring.py`)", "bench/rescoring.py"
    )
    analyze(args.db, texts, figures)
    figures.save(args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
