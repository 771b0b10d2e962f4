"""How few exact scores the semantic half needs: first stages measured by their recall of the
exact nearest passages, against d5e's.

    .venv/bin/python bench/candidates.py --db PATH [--queries N] [--json FILE]

PATH: an indexed database with more than 10,000 passages (SRD + 100,000 entries: `bench/scale.py`),
read only. The queries: those of the dev, held-out and homebrew sets (`bench/same_hits.py`),
embedded with the real model. Exact search: float32 cosine over every passage (numpy, every
vector held here; the reference, not a layout for the daemon). For each first stage, the `K`
passages nearest among its candidates (scored exactly, as the daemon scores them in SQLite) are
compared with the exact `K` nearest: recall@K, and the share of queries whose best 10 and best
50 entries (each by its best passage) are the exact ones. First stages:

- Hamming: the `C` candidates nearest by the Hamming distance of the 384-bit codes
  (`PassageIndex.nearest`; d5e: C = 32 x 100);
- Hamming, then the estimate: of those `C`, only the `M` best by the codes' estimate of the
  similarity, `<q, s>` (s: the code as ±1; `passages.estimates`), are scored exactly (d5e now);
- the same over codes of the centred vectors (`sign(x - mean)`, the query's code `sign(q -
  mean)`), to tell what such codes would buy.

Reported too: the CPU of each estimate (numpy, a query, `time.thread_time`).
"""

from __future__ import annotations

import argparse
import sys
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
WIDE = (3200, 4800, 6400, 9600)
SCORED = (600, 800, 1000, 1200, 1600)


def best_entries(order: np.ndarray, entries: np.ndarray, n: int) -> list[int]:
    seen: dict[int, None] = {}
    for i in order:
        seen.setdefault(int(entries[i]), None)
        if len(seen) == n:
            break
    return list(seen)


def hamming(words: np.ndarray, code: np.ndarray) -> np.ndarray:
    far = np.zeros(words.shape[1], dtype=np.uint32)
    for word in range(words.shape[0]):
        far += np.bitwise_count(words[word] ^ code[word])
    return far


def sign_words(x: np.ndarray) -> np.ndarray:
    """Codes as `vec_quantize_binary` makes them (bit i of byte j: dimension 8j + i > 0), as
    `PassageIndex` holds them (6 words of 64 bits, word-major)."""
    bits = np.packbits(x > 0, axis=1, bitorder="little")
    return np.ascontiguousarray(bits.view(np.uint64).T)


def analyze(path: Path, texts: list[str], figures: Figures) -> None:
    conn = db.connect(path, readonly=True)
    index = passages.PassageIndex(lambda: conn, exact_limit=0).current()
    ids = index.ids
    n = len(ids)
    rows = queries.passage_vectors(conn, 0)
    x = np.frombuffer(b"".join(v for _, v in rows), dtype="<f4").reshape(n, passages.DIMENSIONS)
    owner = dict(conn.execute("SELECT id, entry_id FROM passage"))
    entries = np.array([owner[int(i)] for i in ids], dtype=np.int64)
    assert (sign_words(x) == index.rows).all(), "the codes are not the vectors' signs"
    mean = x.mean(axis=0)
    centred = x - mean
    c_words = sign_words(centred)
    figures.fact("passages", f"{n:,}")
    figures.fact("queries", len(texts))
    vectors = MiniLMEmbedder().embed(texts)
    found: dict[str, list[tuple[float, bool, bool, bool]]] = {}
    cpu: dict[str, list[float]] = {}

    def timed(label: str, fn: Callable[[], Any]) -> Any:
        started = time.thread_time()
        out = fn()
        cpu.setdefault(label, []).append((time.thread_time() - started) * 1000)
        return out

    before = "Hamming 3200 (d5e before)"
    for vector in vectors:
        q = np.frombuffer(vector, dtype="<f4")
        sims = x @ q
        exact = np.argsort(-sims, kind="stable")[:K]
        code = np.frombuffer(queries.query_code(conn, vector), dtype=np.uint64)
        far = timed("Hamming scan", lambda c=code: hamming(index.rows, c))
        chosen = {before: passages.nearest_codes(far, 3200)}
        c_code = sign_words((q - mean)[None, :])[:, 0]
        c_far = hamming(c_words, c_code)
        for wide in WIDE:
            plain = passages.nearest_codes(far, wide)
            if wide != 3200:
                chosen[f"Hamming {wide}"] = plain
            est = timed(
                f"estimate of {wide}", lambda p=plain, v=q: passages.estimates(index.rows, p, v)
            )
            c_plain = passages.nearest_codes(c_far, wide)
            c_est = passages.estimates(c_words, c_plain, q)
            for m in SCORED:
                chosen[f"Hamming {wide}, best {m} by <q, s>"] = plain[np.argsort(-est)[:m]]
                chosen[f"centred: Hamming {wide}, best {m}"] = c_plain[np.argsort(-c_est)[:m]]
        tops = {
            label: positions[np.argsort(-sims[positions], kind="stable")][:K]
            for label, positions in chosen.items()
        }
        ten, fifty = best_entries(exact, entries, 10), best_entries(exact, entries, 50)
        for label, top in tops.items():
            found.setdefault(label, []).append(
                (
                    len(set(exact.tolist()) & set(top.tolist())) / K,
                    best_entries(top, entries, 10) == ten,
                    best_entries(top, entries, 50) == fifty,
                    top.tolist() == tops[before].tolist(),
                )
            )
    section = f"against the exact {K} nearest ({len(vectors)} queries)"
    for label, rows_ in found.items():
        r = np.array(rows_, dtype=np.float64)
        figures.value(section, f"{label}: recall@{K}", float(r[:, 0].mean()), "")
        figures.value(section, f"{label}: best 10 entries exact", float(r[:, 1].mean()), "")
        figures.value(section, f"{label}: best 50 entries exact", float(r[:, 2].mean()), "")
        figures.value(section, f"{label}: the same {K} as before", float(r[:, 3].mean()), "")
    for label, values in cpu.items():
        figures.latency("CPU a query", label, values)
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
        "candidates",
        "How few exact scores the semantic half needs (`bench/candidates.py`)",
        "bench/candidates.py",
    )
    analyze(args.db, texts, figures)
    figures.save(args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
