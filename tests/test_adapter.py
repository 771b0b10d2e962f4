"""The query-side adapter (`search/adapter.py`): the shipped weights are the real model's, and
`query_vector` moves the query by them, in both modes, for that model only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from d5e_daemon.features.search import query_vector, without_scene
from d5e_daemon.search import adapter
from d5e_daemon.search.embed import FakeEmbedder, MiniLMEmbedder


@pytest.fixture
def weights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[np.ndarray, ...]]:
    """A rank-2 adapter written for the fake model, in place of the shipped file."""
    rng = np.random.default_rng(3)
    u, v = rng.normal(0, 0.3, (384, 2)), rng.normal(0, 0.3, (384, 2))
    path = tmp_path / "query-adapter.npz"
    adapter.save(path, FakeEmbedder().model_id, u, v)
    monkeypatch.setattr(adapter, "ADAPTER_FILE", path)
    adapter.for_model.cache_clear()
    yield u.astype(np.float32), v.astype(np.float32)
    adapter.for_model.cache_clear()


def test_the_shipped_adapter_is_the_real_models_only() -> None:
    real = MiniLMEmbedder().model_id
    adapter.for_model.cache_clear()
    u, v = adapter.for_model(real) or (None, None)
    assert u is not None and v is not None and u.shape == v.shape and u.shape[0] == 384
    assert adapter.for_model(FakeEmbedder().model_id) is None
    assert adapter.for_model(real.replace("+dq", "+dq9")) is None  # another rewrite's vectors


def test_the_query_is_moved_by_its_models_adapter(weights: tuple[np.ndarray, ...]) -> None:
    u, v = weights
    embedder = FakeEmbedder()
    query = "the goblins dragged us into a dark cave and nobody can see"
    for rest in (None, without_scene(query)):  # semantic mode, and hybrid's scene mean
        raw = np.frombuffer(query_vector(embedder, query, rest, adapted=False), dtype="<f4")
        moved = raw + u @ (v.T @ raw)
        got = np.frombuffer(query_vector(embedder, query, rest), dtype="<f4")
        assert np.allclose(got, moved / np.linalg.norm(moved), atol=1e-5)
        assert not np.allclose(got, raw, atol=1e-3)
    other = FakeEmbedder("fake-other-384")
    assert query_vector(other, query) == other.embed([query])[0]


def test_an_unreadable_adapter_leaves_the_query_as_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "query-adapter.npz"
    path.write_bytes(b"not a numpy file")
    monkeypatch.setattr(adapter, "ADAPTER_FILE", path)
    adapter.for_model.cache_clear()
    try:
        embedder = FakeEmbedder()
        assert query_vector(embedder, "a winged horse") == embedder.embed(["a winged horse"])[0]
    finally:
        adapter.for_model.cache_clear()
