"""The query-side adapter: a learned linear map of the query's vector before it is compared.

The small model's nearness of a short passage to a long situation is loose (docs/search.md,
issue 16): "the cave-in sealed us in and the air is getting thin" lies nearer passages about
caves than the rules for suffocating. The adapter moves the *query's* vector, never the
passages': a passage scores `normalise(A·q)·p` with `A = I + U·Vᵀ` (low rank), so nothing is
re-embedded, the index does not change, and it costs two small matrix products a query.

`U` and `V` are fitted by `bench/adapter_train.py` (deterministic, from the committed held-out
query sets' odd ids; no SRD text is kept) and shipped as `d5e_daemon/model/query-adapter.npz`
with the id of the model they were fitted for: another model (another file, another rewrite)
gets no adapter. Applied in one place, `features.search.query_vector`, so every face and both
stages of semantic search (the exact scores and the binary codes' scan) use the adapted query.
"""

from __future__ import annotations

import functools
import logging
import zipfile
from pathlib import Path
from typing import Any

from .. import numeric
from .embed import MODEL_DIR

log = logging.getLogger(__name__)

ADAPTER_FILE = MODEL_DIR / "query-adapter.npz"


@functools.cache
def for_model(model_id: str, path: Path | None = None) -> tuple[Any, Any] | None:
    """`U` and `V` (float32) fitted for `model_id`, or None (no file, another model's, or a
    file that cannot be read: logged, and the query stays as the model gave it). `path`:
    `ADAPTER_FILE`. Read once a process (`for_model.cache_clear()` reads it again)."""
    path = path or ADAPTER_FILE
    if not path.exists():
        return None
    numeric.import_numpy()
    import numpy as np

    try:
        with np.load(path, allow_pickle=False) as saved:
            if str(saved["model"]) != model_id:
                return None
            u, v = saved["u"].astype(np.float32), saved["v"].astype(np.float32)
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        log.warning("query adapter %s not used: %s", path, exc)
        return None
    if u.shape != v.shape or u.ndim != 2:
        log.warning("query adapter %s not used: U %s, V %s", path, u.shape, v.shape)
        return None
    return u, v


def apply(vector: Any, u: Any, v: Any) -> Any:
    """`normalise((I + U·Vᵀ)·vector)` (float32); `vector` as given when its size is not the
    adapter's (another dimension)."""
    numeric.import_numpy()
    import numpy as np

    if vector.shape[0] != u.shape[0]:
        return vector
    moved = vector + u @ (v.T @ vector)
    return (moved / (np.linalg.norm(moved) or 1.0)).astype(np.float32)


def save(path: Path, model_id: str, u: Any, v: Any) -> None:
    """Write `U` and `V` for `model_id` (float32, so the file stays small and exact to load)."""
    numeric.import_numpy()
    import numpy as np

    with path.open("wb") as out:
        np.savez(out, model=np.array(model_id), u=u.astype(np.float32), v=v.astype(np.float32))
