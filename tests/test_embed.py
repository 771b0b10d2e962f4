"""The real model, offline: all-MiniLM-L6-v2 (int8) through fastembed, end to end on a small pack.

These load the real model (about a second) and rewrite it once into the test's cache folder.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from d5e_daemon import Entry, Pack, PackSource, hookimpl
from d5e_daemon.app import App
from d5e_daemon.features.search import search
from d5e_daemon.plugins import get_plugins
from d5e_daemon.protocol import SearchParams, decode
from d5e_daemon.search.embed import (
    DIM,
    MODEL_DIR,
    FastEmbedder,
    cache_dir,
    default_embedder,
    register_model,
    rewritten_model,
)
from d5e_daemon.settings import build

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _real_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("D5E_EMBEDDER", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastEmbedder]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("model-cache")))
        embedder = FastEmbedder()
        embedder.load()
        yield embedder


def vectors(model: FastEmbedder, texts: list[str]) -> np.ndarray:
    return np.stack([np.frombuffer(v, "<f4") for v in model.embed(texts)])


def test_the_default_embedder_is_the_real_model() -> None:
    embedder = default_embedder()
    assert isinstance(embedder, FastEmbedder)
    assert embedder.model_id.startswith("all-MiniLM-L6-v2-int8@8199be6f699a")
    assert (MODEL_DIR / "NOTICE").is_file() and (MODEL_DIR / "tokenizer.json").is_file()


def test_embeddings_are_unit_vectors_that_put_related_texts_close(model: FastEmbedder) -> None:
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


def test_indexing_gives_each_text_the_vector_a_query_gives_it(model: FastEmbedder) -> None:
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


def test_the_int8_rewrite_keeps_the_float_models_vectors(model: FastEmbedder) -> None:
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


def test_the_rewritten_model_is_made_once_and_kept(model: FastEmbedder) -> None:
    first = rewritten_model(model.source, model._digest)
    stamp = first.stat().st_mtime_ns
    assert first.parent == cache_dir() / "models" and first.stat().st_size > 20_000_000
    assert rewritten_model(model.source, model._digest) == first
    assert first.stat().st_mtime_ns == stamp


def test_token_counts_come_from_the_models_tokenizer(model: FastEmbedder) -> None:
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
