"""The real model, offline: all-MiniLM-L6-v2 (int8), end to end on a small pack.

These load the real model (about a second) and rewrite it once into the test's cache folder.
fastembed, which the daemon no longer imports (its imports took ~35 MB), is the oracle here: the
same texts embedded through it give the same vectors as through `MiniLMEmbedder`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from d5e_daemon import Entry, Pack, PackSource, hookimpl
from d5e_daemon.app import App
from d5e_daemon.features.search import search
from d5e_daemon.plugins import get_plugins
from d5e_daemon.protocol import SearchParams, decode
from d5e_daemon.search import embed
from d5e_daemon.search.embed import (
    DIM,
    MODEL_DIR,
    MiniLMEmbedder,
    cache_dir,
    default_embedder,
    rewritten_model,
)
from d5e_daemon.settings import build

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _real_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("D5E_EMBEDDER", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MiniLMEmbedder]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("model-cache")))
        embedder = MiniLMEmbedder()
        embedder.load()
        yield embedder


def vectors(model: MiniLMEmbedder, texts: list[str]) -> np.ndarray:
    return np.stack([np.frombuffer(v, "<f4") for v in model.embed(texts)])


def test_the_default_embedder_is_the_real_model() -> None:
    embedder = default_embedder()
    assert isinstance(embedder, MiniLMEmbedder)
    assert embedder.model_id.startswith("all-MiniLM-L6-v2-int8@8199be6f699a")
    assert (MODEL_DIR / "NOTICE").is_file() and (MODEL_DIR / "tokenizer.json").is_file()


def test_embeddings_are_unit_vectors_that_put_related_texts_close(model: MiniLMEmbedder) -> None:
    v = vectors(
        model,
        [
            "let ten sailors breathe beneath the waves for a whole day",
            "This spell grants up to ten willing creatures the ability to breathe underwater "
            "until the spell ends.",
            "A bright streak flashes from your finger and blossoms into an explosion of flame.",
            "The price of wheat rose sharply on the market last spring.",
        ],
    )
    assert v.shape == (4, DIM)
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-4)
    sims = v @ v.T
    assert sims[0, 1] > 0.45
    assert sims[0, 1] > sims[0, 2] + 0.25 and sims[0, 1] > sims[0, 3] + 0.25


def test_indexing_gives_each_text_the_vector_a_query_gives_it(model: MiniLMEmbedder) -> None:
    """`embed_many` runs the texts one a call on the one session, several at once: a passage's
    vector does not depend on the passages indexed beside it (a batch shares the int8
    quantisation of its activations), and is the vector `embed` gives the same text."""
    texts = [
        "A bright streak flashes from your finger and blossoms into an explosion of flame.",
        "undead whose touch paralyses",
        "Ghoul: CR 1 medium undead. Claws: if the target is a creature other than an elf or "
        "undead, it must succeed on a DC 10 Constitution saving throw or be paralyzed. " * 3,
    ]
    many = model.embed_many(texts)
    assert many == [model.embed([t])[0] for t in texts]
    assert model.embed_many(texts[::-1]) == many[::-1]
    model.release()  # the index run is over: its workers go, the session stays
    assert model.loaded and model.embed_many(texts[:1]) == many[:1]
    model.release()


def register_model(name: str, model_file: Path) -> None:
    """Make `name` a fastembed custom model: this ONNX file, mean pooling, normalised (how
    sentence-transformers runs all-MiniLM-L6-v2), with the tokenizer files of `MODEL_DIR`."""
    from fastembed import TextEmbedding
    from fastembed.common.model_description import ModelSource, PoolingType

    if any(m["model"] == name for m in TextEmbedding.list_supported_models()):
        return
    TextEmbedding.add_custom_model(
        model=name,
        pooling=PoolingType.MEAN,
        normalization=True,
        sources=ModelSource(hf="sentence-transformers/all-MiniLM-L6-v2"),
        dim=DIM,
        model_file=str(model_file),  # absolute: fastembed joins it to the tokenizer folder
        license="apache-2.0",
    )


def fastembed_model(model_file: Path) -> object:
    from fastembed import TextEmbedding

    name = f"d5e-test/{model_file.name}"
    register_model(name, model_file)
    embedding: Any = TextEmbedding(name, specific_model_path=str(MODEL_DIR), threads=1)
    # d5e's window: 256 tokens (fastembed reads 512 from tokenizer_config.json)
    embedding.model.tokenizer.enable_truncation(max_length=256)
    return embedding


ORACLE_TEXTS = [
    "fireball",
    "",
    "undead whose touch paralyses",
    "Ghoul: CR 1 medium undead. Claws: if the target is a creature other than an elf or "
    "undead, it must succeed on a DC 10 Constitution saving throw or be paralyzed. " * 12,
    "what happens when you are grappled?",
    "Mordenkainen's Sword — a spectral blade (Évocation, 7th level) hovers within range.",
    "A bright streak flashes from your finger and blossoms into an explosion of flame.",
    "1d6 + 2 slashing damage; DC 15 Dexterity saving throw; half as much on a success",
    "The price of wheat rose sharply on the market last spring.",
    "let ten sailors breathe beneath the waves for a whole day",
    "Keen Senses. The wolf has advantage on Wisdom (Perception) checks.",
    "fire " * 254,  # with [CLS] and [SEP], the window exactly
    "fire " * 255,  # one token over
]


def test_the_vectors_are_the_ones_fastembed_gives(model: MiniLMEmbedder) -> None:
    """The real library checks ours: the same model file and tokenizer through fastembed give
    the same vectors, for a query's batches (8 texts, padded to the longest: a text of more
    than 256 tokens truncated, an empty one) and for indexing's one text a run. Same vectors,
    same model id: the vectors cached before fastembed was dropped stay valid."""
    oracle: Any = fastembed_model(rewritten_model(model.source, model._digest))
    expected = np.stack(list(oracle.embed(ORACLE_TEXTS, batch_size=8)))
    ours = vectors(model, ORACLE_TEXTS)
    assert ours.shape == expected.shape == (len(ORACLE_TEXTS), DIM)
    assert np.abs(ours - expected).max() <= 1e-6
    one_by_one = np.stack(list(oracle.embed(ORACLE_TEXTS, batch_size=1)))
    many = np.stack([np.frombuffer(v, "<f4") for v in model.embed_many(ORACLE_TEXTS)])
    assert np.abs(many - one_by_one).max() <= 1e-6
    model.release()
    assert model.count_tokens(ORACLE_TEXTS[3:4])[0] > 256  # the truncation was exercised


def test_the_daemon_embeds_without_importing_fastembed(model: MiniLMEmbedder) -> None:
    """fastembed's imports (huggingface_hub, httpx, PIL, rich, …) took ~35 MB of the daemon's
    memory: the model is loaded and run without them."""
    script = (
        "import sys\n"
        "from d5e_daemon.search.embed import default_embedder\n"
        "e = default_embedder()\n"
        "assert len(e.embed(['fireball'])[0]) == 4 * 384 and e.embed_many(['a', 'b'])\n"
        "e.release()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('fastembed', 'huggingface_hub', 'httpx', 'PIL')))\n"
    )
    assert os.environ["XDG_CACHE_HOME"] == str(cache_dir().parent)  # the model's, rewritten
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_the_int8_rewrite_keeps_the_float_models_vectors(model: MiniLMEmbedder) -> None:
    """The rewrite quantises activations on the fly; its vectors stay within 0.98 cosine of
    what fastembed gives for the unmodified file (weights folded back to float32)."""
    from fastembed import TextEmbedding

    name = "d5e-test/unmodified-minilm"
    register_model(name, model.source)
    plain = TextEmbedding(name, specific_model_path=str(MODEL_DIR), threads=1)
    texts = [
        "undead whose touch paralyses",
        "Ghoul: CR 1 medium undead. Claws: if the target is a creature other than an elf or "
        "undead, it must succeed on a DC 10 Constitution saving throw or be paralyzed.",
        "what happens when you are grappled?",
    ]
    reference = np.stack(list(plain.embed(texts)))
    ours = vectors(model, texts)
    assert np.all(np.sum(reference * ours, axis=1) > 0.98)


def test_the_model_in_fewer_nodes_gives_the_same_vectors_to_the_bit(
    model: MiniLMEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file the daemon runs has its keys' transposes, each layer's three products of one
    input, its attention mask and the NaN test after each softmax in fewer nodes
    (`_fewer_nodes`, for a query's speed): every vector is the plain
    rewrite's, byte for byte, in batches (padded) and one text a run, so the model id and the
    vectors indexed before stay."""
    import onnx

    fewer = rewritten_model(model.source, model._digest)
    # made in a process of its own (`_rewrite_apart`): onnx and the graph never in the daemon's
    monkeypatch.setattr(embed, "_rewrite", lambda *a: pytest.fail("rewritten in this process"))
    plain_file = rewritten_model(model.source, model._digest, layout=False)
    assert fewer != plain_file
    nodes = [len(onnx.load(str(f)).graph.node) for f in (plain_file, fewer)]
    assert nodes[1] <= nodes[0] - 90, nodes
    plain = MiniLMEmbedder()
    plain._session = embed._session(plain_file)
    plain.load()
    assert plain._session is not model._session
    texts = [*ORACLE_TEXTS, "undead whose touch paralyses", "a chest that is secretly a monster"]
    assert model.embed(texts) == plain.embed(texts)
    assert [model.embed([t]) for t in texts] == [plain.embed([t]) for t in texts]


def test_the_rewritten_model_is_made_once_and_kept(model: MiniLMEmbedder) -> None:
    first = rewritten_model(model.source, model._digest)
    stamp = first.stat().st_mtime_ns
    assert first.parent == cache_dir() / "models" and first.stat().st_size > 20_000_000
    assert rewritten_model(model.source, model._digest) == first
    assert first.stat().st_mtime_ns == stamp


def test_token_counts_come_from_the_models_tokenizer(model: MiniLMEmbedder) -> None:
    assert model.count_tokens(["fireball", "Mordenkainen's Sword", ""]) == [2, 7, 0]
    assert model.count_tokens(["word " * 600])[0] == 600  # counted in full, never truncated


# -- end to end on a small pack -------------------------------------------------------------

ODDITIES = Pack(id="oddities", title="Oddities", version="1", license="CC0")
ENTRIES = [
    Entry(
        collection="spells",
        slug="gills-for-all",
        name="Gills for All",
        data={
            "level": 3,
            "school": {"name": "Transmutation"},
            "desc": ["Up to ten willing creatures grow gills and can breathe underwater."],
        },
    ),
    Entry(
        collection="spells",
        slug="ember-burst",
        name="Ember Burst",
        data={
            "level": 3,
            "school": {"name": "Evocation"},
            "desc": ["A bead of flame explodes in a 20-foot sphere: 8d6 fire damage."],
        },
    ),
    Entry(
        collection="monsters",
        slug="grave-clutcher",
        name="Grave Clutcher",
        data={
            "type": "undead",
            "size": "Medium",
            "challenge_rating": 2,
            "actions": [
                {"name": "Cold Grip", "desc": "A creature it hits is paralyzed for 1 minute."}
            ],
        },
    ),
    Entry(
        collection="conditions",
        slug="held-fast",
        name="Held Fast",
        data={"desc": ["A creature held fast has a speed of 0 while another holds on to it."]},
    ),
    Entry(
        collection="magic-items",
        slug="merchants-scale",
        name="Merchant's Scale",
        data={"desc": ["Wondrous item, common", "Weighs coins and tells their true worth."]},
    ),
]


class OdditiesPlugin:
    __name__ = "oddities-plugin"

    @hookimpl
    def register_packs(self, register: Callable[[PackSource], None]) -> None:
        register(PackSource(pack=ODDITIES, load=lambda: list(ENTRIES)))


def test_semantic_search_with_the_real_model_end_to_end(tmp_path: Path) -> None:
    settings = build({"db": str(tmp_path / "d5e.sqlite3"), "builtinPacks": [ODDITIES.id]})
    app = App(settings, plugins=get_plugins(extra=(OdditiesPlugin(),)))
    app.start()
    try:
        state = app.search.build()
        assert state.ready and state.entries == len(ENTRIES)
        assert state.model.startswith("all-MiniLM-L6-v2-int8")
        for query, ref in [
            ("let sailors breathe beneath the waves", "spells/gills-for-all"),
            ("undead whose touch paralyses", "monsters/grave-clutcher"),
            ("what happens when someone is holding on to me?", "conditions/held-fast"),
            ("explosion of fire", "spells/ember-burst"),
        ]:
            result = search(app, decode({"query": query, "mode": "semantic"}, SearchParams))
            assert result.semantic and result.hits[0].ref == ref, query
        hybrid = search(app, decode({"query": "breathe underwater"}, SearchParams))
        assert hybrid.semantic and hybrid.hits[0].ref == "spells/gills-for-all"
    finally:
        app.close()


def test_numpy_runs_one_blas_thread_in_d5e_whichever_module_imports_it_first() -> None:
    """numpy first imported by any module of d5e (here keyword search's postings, as at a
    daemon's first sync, before the model loads) starts no BLAS threads: they spun beside
    onnxruntime's and tripled a search's CPU on the SRD."""
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    code = (
        "import os; from d5e_daemon.queries import postings; import numpy as np; "
        "np.ones((300, 300)) @ np.ones((300, 300)); print(len(os.listdir('/proc/self/task')))"
    )
    found = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert found.stdout.strip() == "1"


def test_numpy_and_onnxruntime_imported_at_once_on_two_threads() -> None:
    """The first searches of a daemon: the reader thread's keyword half imports numpy while
    the model loads on another thread (onnxruntime imports numpy too). Imported at once they
    failed one run in ten (`_DeadlockError`, or a partially initialized numpy); through
    `numeric.import_numpy` never."""
    code = (
        "import threading\n"
        "from d5e_daemon import numeric\n"
        "errors = []\n"
        "def run(fn):\n"
        "    try: fn()\n"
        "    except Exception as exc: errors.append(repr(exc))\n"
        "def keyword_half():\n"
        "    numeric.import_numpy(); import numpy as np; np.frombuffer(b'ab', dtype='<u2')\n"
        "def model():\n"
        "    numeric.import_numpy(); import onnxruntime\n"
        "threads = [threading.Thread(target=run, args=(f,)) for f in (model, keyword_half)]\n"
        "[t.start() for t in threads]; [t.join() for t in threads]\n"
        "print(errors)\n"
    )
    for _ in range(12):
        found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert found.stdout.strip() == "[]", found.stdout + found.stderr
