"""numpy imported whole, once, by one thread at a time.

numpy is imported lazily (the daemon starts without it), so its first import may happen on any
thread: keyword search's postings on the reader thread while the model loads on another, whose
onnxruntime imports numpy too. Two threads importing numpy's C extension at once fail one in
ten times (`_DeadlockError` on `numpy._core._multiarray_umath`, or "cannot import name
'__cpu_features__' from partially initialized module"; seen as an internal error of
`d5e/search` on a daemon's first searches). Every module of d5e calls `import_numpy()` before
`import numpy`, and before importing onnxruntime.
"""

from __future__ import annotations

import threading

_LOCK = threading.Lock()


def import_numpy() -> None:
    """Import numpy, waiting for another thread's import of it to end first."""
    with _LOCK:
        import numpy  # noqa: F401
