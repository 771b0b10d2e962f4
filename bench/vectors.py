"""Vector layouts on a database's passage vectors: query time and recall against exact search.

    .venv/bin/python bench/vectors.py --db PATH [--runs 3] [--json FILE]

`PATH` is an indexed d5e database (`bench/scale.py` makes them). The queries are those of
`../shared/eval/search-dev.jsonl`, embedded with the real model. Exact search is float32 cosine
over every passage (numpy). For each layout: p50/p99 time of a query for the 100 nearest
passages (what `d5e/search` asks for 50 entries), and recall@100: the share of the exact 100
that it finds. Layouts:

- sqlite-vec `vec0` KNN over `float[384]` (d5e's layout before), `int8[384]`
  (`vec_quantize_int8(…, 'unit')`) and `bit[384]` (`vec_quantize_binary`), each built in a
  scratch copy;
- the bit codes scanned in memory (numpy) for `m` x 100 candidates, scored exactly against
  their float32 vectors in SQLite, for several `m`; and d5e's layout: of the
  `CANDIDATES_PER_NEIGHBOUR` x 100 nearest by the codes, the `SCORED_PER_NEIGHBOUR` x 100 best by
  their estimate (`passages.estimates`) scored exactly;
- and, end to end, how many of hybrid search's top 10 are the same with d5e's layout as with
  exact vectors.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import apsw
import numpy as np
from driver import Figures, add_eval_dir, eval_set

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from d5e_daemon import db  # noqa: E402
from d5e_daemon.app import App  # noqa: E402
from d5e_daemon.features.search import search  # noqa: E402
from d5e_daemon.protocol import SearchParams  # noqa: E402
from d5e_daemon.search import passages, retrieval  # noqa: E402
from d5e_daemon.search.embed import MiniLMEmbedder  # noqa: E402
from d5e_daemon.settings import build  # noqa: E402

K = 100
MULTIPLIERS = (8, 16, 32, 64)


def load_vectors(conn: apsw.Connection) -> tuple[np.ndarray, np.ndarray]:
    rows = conn.execute("SELECT id, embedding FROM passage_vector ORDER BY id").fetchall()
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    x = np.frombuffer(b"".join(r[1] for r in rows), dtype="<f4").reshape(len(rows), 384)
    return ids, x


def recall(found: list[list[int]], exact: list[list[int]]) -> float:
    shares = [len(set(f) & set(e)) / len(e) for f, e in zip(found, exact, strict=True)]
    return float(np.mean(shares))


def timed(fn: Any, vectors: list[bytes]) -> tuple[list[list[int]], list[float]]:
    out, times = [], []
    for v in vectors:
        started = time.perf_counter()
        out.append(fn(v))
        times.append((time.perf_counter() - started) * 1000)
    return out, times


def sqlite_vec_layouts(
    source: Path, vectors: list[bytes], exact: list[list[int]], runs: int, figures: Figures
) -> None:
    """vec0 KNN over float, int8 and bit columns, in a scratch database."""
    with tempfile.TemporaryDirectory(prefix="d5e-bench-vec0-") as tmp:
        conn = apsw.Connection(str(Path(tmp) / "vec0.sqlite3"))
        db._load_vec(conn)
        conn.execute("ATTACH DATABASE ? AS src", (str(source),))
        layouts = {
            "vec0 float[384], cosine (before)": ("float[384] distance_metric=cosine", "?1"),
            "vec0 int8[384], cosine": (
                "int8[384] distance_metric=cosine",
                "vec_quantize_int8(?1, 'unit')",
            ),
            "vec0 bit[384], Hamming": ("bit[384]", "vec_quantize_binary(?1)"),
        }
        for label, (column, value) in layouts.items():
            conn.execute("DROP TABLE IF EXISTS v")
            conn.execute(f"CREATE VIRTUAL TABLE v USING vec0(e {column})")
            with conn:
                conn.execute(
                    f"INSERT INTO v (rowid, e) SELECT id, {value.replace('?1', 'embedding')} "  # noqa: S608
                    "FROM src.passage_vector"
                )
            sql = f"SELECT rowid FROM v WHERE e MATCH {value} AND k = ?2"  # noqa: S608
            for _ in range(runs):
                found, times = timed(
                    lambda v, sql=sql: [r for (r,) in conn.execute(sql, (v, K))], vectors
                )
                figures.latency("query time, 100 nearest passages", label, times)
            figures.value("recall@100 against exact float32", label, recall(found, exact), "")
        conn.close()


def d5e_layout(
    app: App, vectors: list[bytes], exact: list[list[int]], runs: int, figures: Figures
) -> None:
    """Codes in memory for m x 100 candidates, exact float32 scores in SQLite."""
    codes = passages.PassageIndex(
        lambda: app.conn, exact_limit=0
    ).current()  # as above 10,000 passages

    def nearest(vector: bytes, m: int, scanned: int = 0) -> list[int]:
        candidates = codes.nearest(vector, K * m, scanned=K * scanned or None)
        rows = app.conn.execute(
            "SELECT v.id FROM passage_vector v WHERE v.id IN (SELECT value FROM json_each(?1)) "
            "ORDER BY vec_distance_cosine(v.embedding, ?2) LIMIT ?3",
            (json.dumps(candidates), vector, K),
        )
        return [r for (r,) in rows]

    for m in MULTIPLIERS:
        label = f"codes in memory, {m} x 100 candidates scored in float32"
        for _ in range(runs):
            found, times = timed(lambda v, m=m: nearest(v, m), vectors)
            figures.latency("query time, 100 nearest passages", label, times)
        figures.value("recall@100 against exact float32", label, recall(found, exact), "")
    scanned, scored = retrieval.CANDIDATES_PER_NEIGHBOUR, retrieval.SCORED_PER_NEIGHBOUR
    label = (
        f"codes in memory, {scanned} x 100 by Hamming distance, of which the {scored} x 100 best "
        "by the codes' estimate scored in float32 (d5e)"
    )
    for _ in range(runs):
        found, times = timed(lambda v: nearest(v, scored, scanned), vectors)
        figures.latency("query time, 100 nearest passages", label, times)
    figures.value("recall@100 against exact float32", label, recall(found, exact), "")


def hybrid_agreement(app: App, texts: list[str], figures: Figures) -> None:
    """Hybrid search's top 10 with d5e's layout against exact vectors (every passage scored)."""

    def top(query: str) -> list[str]:
        hits = search(app, SearchParams(query=query, limit=10)).hits
        return [h.ref for h in hits]

    ours = [top(t) for t in texts]
    saved = passages.EXACT_PASSAGES
    passages.EXACT_PASSAGES = 1 << 40
    try:
        exact = [top(t) for t in texts]
    finally:
        passages.EXACT_PASSAGES = saved
    pairs = list(zip(ours, exact, strict=True))
    same_set = np.mean([len(set(a) & set(b)) / max(1, len(b)) for a, b in pairs])
    same_order = np.mean([a == b for a, b in pairs])
    section = "hybrid search, top 10: d5e's layout against exact vectors"
    figures.value(section, "share of the exact top 10 found", float(same_set), "")
    figures.value(section, "queries whose top 10 is identical, in order", float(same_order), "")


def analyze(path: Path, texts: list[str], runs: int, figures: Figures) -> None:
    app = App(build({"db": str(path), "watch": False}))
    app.start()
    try:
        ids, x = load_vectors(app.conn)
        figures.fact("passages with vectors", f"{len(ids):,}")
        embedder = MiniLMEmbedder()
        vectors = embedder.embed(texts)
        queries_ = np.frombuffer(b"".join(vectors), dtype="<f4").reshape(len(texts), 384)
        exact = [ids[np.argsort(-(x @ q))[:K]].tolist() for q in queries_]
        started = time.perf_counter()
        for q in queries_[: min(10, len(texts))]:
            np.argsort(-(x @ q))
        exact_ms = (time.perf_counter() - started) * 1000 / min(10, len(texts))
        figures.notes.append(
            f"exact search here is numpy over all {len(ids):,} float32 vectors held in memory "
            f"({x.nbytes / 1e6:,.0f} MB; {exact_ms:.0f} ms a query): the reference, not a layout "
            "for the daemon"
        )
        del x
        d5e_layout(app, vectors, exact, runs, figures)
        sqlite_vec_layouts(path, vectors, exact, runs, figures)
        app.search.embedder = embedder
        app.search.background = False
        hybrid_agreement(app, texts, figures)
    finally:
        app.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", type=Path, required=True)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--eval", type=Path, help="default: search-dev.jsonl (--eval-dir)")
    add_eval_dir(ap)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    args.eval = args.eval or eval_set("search-dev.jsonl")
    texts = [json.loads(line)["query"] for line in args.eval.read_text().splitlines() if line]
    figures = Figures("vectors", "Vector layouts (`bench/vectors.py`)", "bench/vectors.py")
    analyze(args.db, texts, args.runs, figures)
    figures.save(args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
