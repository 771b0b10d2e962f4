"""d5e: look up, complete and search D&D 5e rules content while you write."""

import os

from .hookspecs import hookimpl
from .records import (
    Entry,
    Extends,
    FindEntry,
    LoadedPack,
    Pack,
    PackProblem,
    PackSource,
    PriorityRule,
    Source,
    SqliteTables,
)

# numpy's BLAS threads beside onnxruntime's made a 0.1 ms product take 6 ms on 2 cores, and its
# idle threads spin: one thread each. This must hold before numpy is first imported, whichever
# module imports it first (keyword search's term frequencies, at a daemon's first sync, before
# the model loads: 9 -> 20 ms of CPU a search on the SRD over stdio without it).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

__version__ = "0.1.0"

__all__ = [
    "Entry",
    "Extends",
    "FindEntry",
    "LoadedPack",
    "Pack",
    "PackProblem",
    "PackSource",
    "PriorityRule",
    "Source",
    "SqliteTables",
    "__version__",
    "hookimpl",
]
