"""d5e: look up, complete and search D&D 5e rules content while you write."""

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
