"""Train the query-side adapter (`d5e_daemon/search/adapter.py`) from the held-out query sets.

    .venv/bin/python bench/adapter_train.py --db F [--capture F] [--out FILE] [--grid]
        [--later] [--library F]

The adapter is a linear map of the query's vector, `A = I + U·Vᵀ` (rank `SETTING`'s), the
passages' stored vectors unchanged: a passage scores `normalise(A·q)·p`. It is fitted on the
queries with **odd** ids of held out 1–17, the dev set and the two filter sets
(`training_queries`): each query's vector as the search embeds it, in semantic and in hybrid
mode (the scene's mean, `query_vector`; one row when both are the same), against its answers'
passages and its `NEAREST` other passages of the SRD 2014 by the model's own
vector (semantic search's hard negatives), by a softmax over them with the answers as targets,
and an L2 pull of `U·Vᵀ` towards 0. The even ids, held out 18 and later and the homebrew sets
are never read here: they judge it (`bench/quality.py`). Two variants the twenty-third session
measured and did not ship (docs/search.md): `--later` adds the odd ids of held out 18 and 19;
`--library DB` (the SRD 2014 and every Open5e document, indexed) fits against that index's
passages (Open5e's copies of the SRD left out: the same texts) and adds the odd ids of the three
first homebrew sets, each query's answers its own pack's entries (another pack's entry of the
same ref is neither answer nor negative).

`--db`: an SRD 2014 index built by `d5e index` (or left by `bench/quality.py`); the queries'
vectors are recorded by running `d5e/search`'s function on every training query in both modes
(`--capture F` keeps them, and a later run reads them instead). `--grid` chooses the rank, the
L2 weight and the temperature by a 2-fold split of the training queries (ids ≡ 1 and ≡ 3 mod 4),
by MRR@10 of semantic ranking on the half not fitted (`GRID`: the shipped setting and the
ranks 32 and 64 with L2 0.3 and 1.0); without it the shipped setting (`SETTING`: rank 16, L2
0.1, temperature 0.05). Deterministic: a fixed seed, one BLAS thread,
full-batch Adam, a fixed number of steps; ~1 min of CPU after the capture (~2 min).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# one BLAS thread: the same sums in the same order on every run (and no threads spinning on a
# loaded machine)
os.environ["OPENBLAS_NUM_THREADS"] = os.environ["OMP_NUM_THREADS"] = "1"

import numpy as np
from driver import add_eval_dir, eval_set

from d5e_daemon.app import App
from d5e_daemon.features import search as ranking
from d5e_daemon.protocol import SearchParams
from d5e_daemon.search import adapter
from d5e_daemon.settings import build

REPO = Path(__file__).resolve().parents[1]
TRAIN_SETS = ["search-heldout.jsonl", *(f"search-heldout-{n}.jsonl" for n in range(2, 18))]
# after the dev set (a capture of the sets before them stays valid)
FILTER_SETS = ["search-heldout-filters.jsonl", "search-heldout-filters-2.jsonl"]
LATER_SETS = ["search-heldout-18.jsonl", "search-heldout-19.jsonl"]
# `--library`: queries aimed at Open5e documents' entries (each names its pack)
HOMEBREW_SETS = [
    "search-homebrew-tob.jsonl",
    "search-homebrew-open5e.jsonl",
    "search-homebrew-heldout.jsonl",
]
PACK = "srd-2014"
# Open5e's own copies of the SRD: the same texts as the SRD's, so neither answers nor negatives
COPIES = ("open5e-srd-2014", "open5e-srd-2024", "srd-2024")
SETTING = {"rank": 16, "l2": 0.1, "temperature": 0.05, "steps": 200, "lr": 0.01}
# (rank, L2, temperature): the shipped setting and the twenty-second session's unfinished ones
GRID = [(16, 0.1, 0.05), (32, 0.3, 0.05), (32, 1.0, 0.05), (64, 0.3, 0.05), (64, 1.0, 0.05)]
SEED = 16
NEAREST = 200  # hard negatives a query: its nearest passages by the model's own vector


def number(q: dict[str, Any]) -> int:
    return int("".join(c for c in q["id"] if c.isdigit()))


def odd_ids(paths: list[Path]) -> list[dict[str, Any]]:
    out = []
    for path in paths:
        for line in path.read_text().splitlines():
            if line.strip() and number(q := json.loads(line)) % 2:
                out.append(q)
    return out


def training_queries(dev: Path, later: bool = False) -> list[dict[str, Any]]:
    """The queries with odd ids of held out 1–17, of the dev set, of the filter sets and
    (`later`) of held out 18 and 19."""
    bench = REPO / "bench"
    before = [bench / name for name in TRAIN_SETS]
    after = [bench / name for name in [*FILTER_SETS, *(LATER_SETS if later else [])]]
    return odd_ids([*before, dev, *after])


def homebrew_queries() -> list[dict[str, Any]]:
    """The queries with odd ids of the homebrew sets (each aimed at an entry of its `pack`)."""
    return odd_ids([REPO / "bench" / name for name in HOMEBREW_SETS])


def capture(app: App, queries: list[dict[str, Any]]) -> tuple[np.ndarray, list[int]]:
    """Each query's vector as `d5e/search` embeds it in semantic and in hybrid mode (two rows
    per query; the adapter off), and the query each row belongs to."""
    seen: list[bytes] = []
    real = ranking.query_vector

    def recording(embedder: Any, text: str, rest: str | None = None) -> bytes:
        vector = real(embedder, text, rest, adapted=False)
        seen.append(vector)
        return vector

    rows, owner = [], []
    ranking.query_vector = recording  # type: ignore[assignment]
    try:
        for i, q in enumerate(queries):
            for mode in ("semantic", "hybrid"):
                seen.clear()
                ranking.search(app, SearchParams(query=q["query"], limit=10, mode=mode))  # type: ignore[arg-type]
                if seen:
                    rows.append(np.frombuffer(seen[0], dtype="<f4"))
                    owner.append(i)
    finally:
        ranking.query_vector = real  # type: ignore[assignment]
    return np.stack(rows), owner


def passages(
    app: App, model: str, library: bool = False
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The passage vectors (rows ordered by entry), each row's entry index, and each entry's
    key, `pack:collection/slug`: the SRD 2014's, or (`library`) every pack's but the SRD's
    copies (`COPIES`)."""
    conn = app.db.conn
    select = (
        "SELECT e.pack_id || ':' || e.collection || '/' || e.slug, v.embedding FROM passage p"
        " JOIN entry e ON e.id = p.entry_id JOIN passage_vector v ON v.id = p.id"
    )
    order = " AND p.model = ? ORDER BY e.id, p.ord"
    if library:
        rows = conn.execute(
            select + " WHERE e.pack_id NOT IN (?, ?, ?)" + order, (*COPIES, model)
        ).fetchall()
    else:
        rows = conn.execute(select + " WHERE e.pack_id = ?" + order, (PACK, model)).fetchall()
    refs: list[str] = []
    entry = []
    for ref, _ in rows:
        if not refs or refs[-1] != ref:
            refs.append(ref)
        entry.append(len(refs) - 1)
    vectors = np.stack([np.frombuffer(blob, dtype="<f4") for _, blob in rows])
    return vectors.astype(np.float32), np.array(entry), refs


class Problem:
    """Queries' vectors, their answers' passages and their hard negatives: each query's
    `NEAREST` passages by the model's own vector (semantic search's candidates), the answers'
    passages among them or added. Scored through `U` and `V` only (`c = q·p + (Vᵀq)·(Uᵀp)`),
    so a step never multiplies 384-wide vectors by every candidate. `others`: each query's
    entries that are neither answers nor negatives (another pack's entry of an answer's ref)."""

    def __init__(
        self,
        q: np.ndarray,
        answers: list[set[int]],
        p: np.ndarray,
        entry: np.ndarray,
        others: list[set[int]] | None = None,
    ) -> None:
        self.q, self.p, self.entry = q, p, entry
        self.starts = np.flatnonzero(np.r_[True, entry[1:] != entry[:-1]])
        self.answers = answers
        near = q @ p.T
        width = NEAREST + max(int(np.isin(entry, list(a)).sum()) for a in answers)
        self.idx = np.zeros((len(q), width), dtype=np.int64)
        self.pos = np.zeros((len(q), width), dtype=bool)
        self.valid = np.zeros((len(q), width), dtype=bool)
        for i, found in enumerate(answers):
            good = np.flatnonzero(np.isin(entry, list(found)))
            order = np.argsort(-near[i])
            skip = list(found | (others[i] if others else set()))
            bad = order[~np.isin(entry[order], skip)][:NEAREST]
            row = np.r_[good, bad]
            self.idx[i, : len(row)] = row
            self.pos[i, : len(good)] = True
            self.valid[i, : len(row)] = True
        self.near = np.take_along_axis(near, self.idx, axis=1)

    def loss_grad(
        self, u: np.ndarray, v: np.ndarray, l2: float, temperature: float
    ) -> tuple[float, np.ndarray, np.ndarray]:
        n = len(self.q)
        w = self.q @ v
        b = self.q + w @ u.T
        nb = np.linalg.norm(b, axis=1)
        a = b / nb[:, None]
        zg = (self.p @ u)[self.idx]
        s = (self.near + np.einsum("nr,ncr->nc", w, zg)) / nb[:, None]
        logits = np.where(self.valid, s / temperature, -np.inf)
        logits -= logits.max(axis=1, keepdims=True)
        pi = np.exp(logits)
        pi /= pi.sum(axis=1, keepdims=True)
        on = np.where(self.pos, pi, 0.0)
        mass = on.sum(axis=1, keepdims=True)
        loss = -float(np.log(mass + 1e-12).mean())
        g = (pi - on / mass) / (temperature * n)
        gc = g / nb[:, None]
        beta = (g * s).sum(axis=1) / nb
        # d loss / d b_i = sum_k gc_ik p_k - beta_i a_i;  b_i = q_i + U w_i,  w_i = Vᵀ q_i
        flat, weights = self.idx.ravel(), (gc[:, :, None] * w[:, None, :]).reshape(-1, w.shape[1])
        h = np.stack(
            [np.bincount(flat, weights[:, j], minlength=len(self.p)) for j in range(w.shape[1])],
            axis=1,
        )
        gu = self.p.T @ h - (a * beta[:, None]).T @ w
        gw = np.einsum("nc,ncr->nr", gc, zg) - beta[:, None] * (a @ u)
        gv = self.q.T @ gw
        m = u @ v.T
        loss += l2 * float((m * m).sum())
        gu += 2 * l2 * u @ (v.T @ v)
        gv += 2 * l2 * v @ (u.T @ u)
        return loss, gu, gv

    def ranks(self, u: np.ndarray, v: np.ndarray) -> list[int | None]:
        """Each query's answer's rank among every entry (an entry: its best passage)."""
        b = self.q + (self.q @ v) @ u.T
        s = (b / np.linalg.norm(b, axis=1, keepdims=True)) @ self.p.T
        best = np.maximum.reduceat(s, self.starts, axis=1)
        order = np.argsort(-best, axis=1)[:, :10]
        return [
            next((k + 1 for k, e in enumerate(row) if e in self.answers[i]), None)
            for i, row in enumerate(order)
        ]

    def subset(self, rows: np.ndarray) -> Problem:
        sub = Problem.__new__(Problem)
        sub.q, sub.p, sub.entry, sub.starts = self.q[rows], self.p, self.entry, self.starts
        sub.answers = [self.answers[i] for i in rows]
        for name in ("idx", "pos", "valid", "near"):
            setattr(sub, name, getattr(self, name)[rows])
        return sub


def fit(problem: Problem, rank: int, l2: float, temperature: float, steps: int, lr: float) -> Any:
    """U, V by full-batch Adam from a small seeded start."""
    rng = np.random.default_rng(SEED)
    dim = problem.q.shape[1]
    u = rng.normal(0, 1e-2, (dim, rank)).astype(np.float32)
    v = rng.normal(0, 1e-2, (dim, rank)).astype(np.float32)
    moments = [np.zeros_like(u), np.zeros_like(u), np.zeros_like(v), np.zeros_like(v)]
    for t in range(1, steps + 1):
        _, gu, gv = problem.loss_grad(u, v, l2, temperature)
        for k, (x, g) in enumerate(((u, gu), (v, gv))):
            m1, m2 = moments[2 * k], moments[2 * k + 1]
            m1 *= 0.9
            m1 += 0.1 * g
            m2 *= 0.999
            m2 += 0.001 * g * g
            x -= lr * (m1 / (1 - 0.9**t)) / (np.sqrt(m2 / (1 - 0.999**t)) + 1e-8)
    return u, v


def mrr(ranks: list[int | None]) -> tuple[float, float, float]:
    n = len(ranks) or 1
    return (
        sum(r == 1 for r in ranks) / n,
        sum(r is not None and r <= 5 for r in ranks) / n,
        sum(1 / r for r in ranks if r) / n,
    )


def captured(
    db: Path, queries: list[dict[str, Any]], path: Path | None
) -> tuple[np.ndarray, list[int]]:
    """`capture` of `queries` on the index `db`, read from `path` when it holds them (the
    queries after those it holds are captured and added)."""
    with tempfile.TemporaryDirectory():
        app = App(build({"db": str(db)}))
        app.start()
        model = app.search.embedder.model_id
        q, owner, done = np.zeros((0, 384), dtype=np.float32), [], 0
        if path and path.exists():
            saved = np.load(path, allow_pickle=False)
            if str(saved["model"]) != model:
                sys.exit(f"{path}: another model's; delete it")
            # the sets come in a fixed order: a capture of more queries holds these first
            kept = saved["owner"] < len(queries)
            q, owner = saved["q"][kept], list(saved["owner"][kept])
            done = min(int(saved["queries"]), len(queries))
        if done < len(queries):  # the queries after those captured before
            started = time.perf_counter()
            more, of = capture(app, queries[done:])
            print(f"captured {len(more)} vectors in {time.perf_counter() - started:.0f} s")
            q, owner = np.concatenate([q, more]), owner + [done + i for i in of]
            if path:
                np.savez(path, q=q, owner=owner, model=model, queries=len(queries))
        app.close()
    return q, owner


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", type=Path, required=True, help="an SRD 2014 index (d5e index)")
    ap.add_argument(
        "--capture", type=Path, help="the queries' vectors: read if there, else written"
    )
    ap.add_argument(
        "--library",
        type=Path,
        help="an index of the SRD 2014 and every Open5e document: its passages, and the"
        " homebrew sets' odd ids (their vectors kept beside --capture's, '.homebrew' added)",
    )
    ap.add_argument(
        "--later", action="store_true", help="held out 18 and 19's odd ids too (not shipped)"
    )
    ap.add_argument("--out", type=Path, default=adapter.ADAPTER_FILE)
    ap.add_argument("--grid", action="store_true", help="choose the setting by a 2-fold split")
    add_eval_dir(ap)
    args = ap.parse_args()
    queries = training_queries(eval_set("search-dev.jsonl"), later=args.later)
    q, owner = captured(args.db, queries, args.capture)
    packs = [PACK] * len(queries)
    if args.library:
        brew = homebrew_queries()
        keep = args.capture and args.capture.with_suffix(".homebrew.npz")
        hq, howner = captured(args.library, brew, keep or None)
        q, owner = np.concatenate([q, hq]), owner + [len(queries) + i for i in howner]
        queries, packs = queries + brew, packs + [b["pack"] for b in brew]
    with tempfile.TemporaryDirectory():
        app = App(build({"db": str(args.library or args.db)}))
        app.start()
        model = app.search.embedder.model_id
        p, entry, refs = passages(app, model, library=bool(args.library))
        app.close()
    # a query without a scene has one vector in both modes: one row
    rows = sorted(
        {(o, row.tobytes()): k for k, (o, row) in enumerate(zip(owner, q, strict=True))}.values()
    )
    q, owner = q[rows], [owner[k] for k in rows]
    at = {ref: i for i, ref in enumerate(refs)}
    by_ref: dict[str, set[int]] = {}
    for i, key in enumerate(refs):
        by_ref.setdefault(key.split(":", 1)[1], set()).add(i)
    answers = [
        {at[f"{packs[i]}:{r}"] for r in queries[i]["relevant"] if f"{packs[i]}:{r}" in at}
        for i in owner
    ]
    others = [
        set().union(*(by_ref.get(r, set()) for r in queries[i]["relevant"])) - found
        for i, found in zip(owner, answers, strict=True)
    ]
    keep = np.array([bool(found) for found in answers])
    problem = Problem(
        q[keep],
        [a for a in answers if a],
        p,
        entry,
        [o for o, a in zip(others, answers, strict=True) if a],
    )
    owner_kept = np.array(owner)[keep]
    print(
        f"{len(queries)} queries, {len(problem.q)} vectors, {len(p)} passages, {len(refs)} entries"
    )
    identity = (np.zeros((p.shape[1], 1)), np.zeros((p.shape[1], 1)))
    setting = dict(SETTING)
    if args.grid:
        fold = np.array([number(queries[i]) % 4 == 1 for i in owner_kept])  # ids 1, 5, 9, …
        results = []
        for rank, l2, temperature in GRID:
            held = []
            for train in (fold, ~fold):
                part = problem.subset(np.flatnonzero(train))
                u, v = fit(part, rank, l2, temperature, setting["steps"], setting["lr"])
                held += problem.subset(np.flatnonzero(~train)).ranks(u, v)
            got = mrr(held)
            print(f"    ({time.process_time():.0f} s of CPU so far)", flush=True)
            results.append((got[2], rank, l2, temperature))
            print(
                f"  rank {rank:>2} l2 {l2:<4} τ {temperature}: held-out half R@1 / R@5 / MRR"
                f" {got[0]:.3f} / {got[1]:.3f} / {got[2]:.3f}",
                flush=True,
            )
        base = mrr(problem.ranks(*identity))
        print(f"  no adapter: R@1 / R@5 / MRR {base[0]:.3f} / {base[1]:.3f} / {base[2]:.3f}")
        _, rank, l2, temperature = max(results)
        setting.update(rank=rank, l2=l2, temperature=temperature)
        print(f"chosen: {setting}")
    u, v = fit(
        problem,
        setting["rank"],
        setting["l2"],
        setting["temperature"],
        setting["steps"],
        setting["lr"],
    )
    before, after = mrr(problem.ranks(*identity)), mrr(problem.ranks(u, v))
    print(f"training queries, semantic R@1 / R@5 / MRR: {before} -> {after}")
    adapter.save(args.out, model, u, v)
    print(f"wrote {args.out} ({args.out.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
