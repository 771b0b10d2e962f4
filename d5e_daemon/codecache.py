"""A disk cache for the code attrs and cattrs generate while the daemon starts.

Importing `lsprotocol.types` makes attrs build ~1,000 methods with `compile()`, and pygls' cattrs
converter compiles more when it decodes `initialize`: about 110 ms of a ~360 ms start on a
2-core machine. The generated source is deterministic, so its code objects are kept with
`marshal` in the user's cache directory (one file per Python and library version) and reused.

Only sources whose filename says attrs or cattrs generated them are cached, only while the cache
is active, and any problem with the file just means compiling as usual. A source that differs
from one process to the next is not cached: attrs salts a generated `__hash__` with the hash of
a string (random per process), and each start added such entries again (the file grew with
every start, was written anew by every start, and took longer to read). The file holds what the
last start that wrote it used, nothing older.

A user's very first start has no cache yet (compiling it all is ~200 ms more CPU: lsprotocol's
import ~290 instead of ~130 ms). `python -m d5e_daemon.codecache` (run by `make setup`) fills a
*seed* beside the installed environment (`<sys.prefix>/share/d5e/`), read by any start that finds
no cache of its own: the first start after an install is then as quick as a later one.
"""

from __future__ import annotations

import builtins
import hashlib
import importlib.util
import logging
import marshal
import os
import sys
from pathlib import Path
from types import CodeType
from typing import Any

log = logging.getLogger(__name__)

_GENERATED = ("<attrs generated", "<cattrs generated")
_PER_PROCESS = "def __hash__("
"""In a generated source: a hash salted per process (never the same source twice)."""
_LIBRARIES = ("attr", "cattrs", "lsprotocol", "pygls")


def cache_file() -> Path:
    """One file per Python and installed version of the libraries whose code is generated (an
    entry is keyed by its source text, so an old file is never wrong, only larger)."""
    versions = ",".join(f"{lib}={_installed(lib)}" for lib in _LIBRARIES)
    tag = hashlib.sha256(f"{sys.version}|{versions}".encode()).hexdigest()[:16]
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "d5e" / f"codecache-{tag}.marshal"


def seed_file() -> Path:
    """The cache filled at install time (`python -m d5e_daemon.codecache`), beside the Python
    environment d5e is installed in, for a start that finds no cache of its own."""
    return Path(sys.prefix) / "share" / "d5e" / cache_file().name


def _installed(lib: str) -> str:
    """Which install of `lib` this is: its `__init__.py`'s path, size and time, found without
    importing it (installing another version writes that file anew). Reading the version from
    the package metadata scans every installed distribution: 10-30 ms of a start."""
    try:
        spec = importlib.util.find_spec(lib)
        origin = spec.origin if spec is not None else None
        if origin is None:
            return "-"
        stat = os.stat(origin)
    except (ImportError, ValueError, OSError):
        return "-"
    return f"{origin}:{stat.st_size}:{stat.st_mtime_ns}"


def _load(path: Path) -> dict[str, CodeType]:
    try:
        data = marshal.loads(path.read_bytes())
    except (OSError, ValueError, EOFError, TypeError):
        return {}
    return data if isinstance(data, dict) else {}


class CodeCache:
    """Installed, it serves generated code from the cache; uninstalled, it saves what was new."""

    def __init__(self, path: Path | None = None, seed: Path | None = None) -> None:
        """`seed`: read when `path` holds nothing (by default, with the default `path`, the
        install's `seed_file`)."""
        if path is None:
            path, seed = cache_file(), seed or seed_file()
        self.path = path
        self.cache = _load(self.path) or (_load(seed) if seed is not None else {})
        self.known = len(self.cache)
        self.used: set[str] = set()
        self.real_compile = builtins.compile

    def compile(self, source: Any, filename: Any, mode: str, *args: Any, **kwargs: Any) -> Any:
        if not (
            isinstance(source, str)
            and isinstance(filename, str)
            and mode == "exec"
            and not args
            and not kwargs
            and filename.startswith(_GENERATED)
            and _PER_PROCESS not in source
        ):
            return self.real_compile(source, filename, mode, *args, **kwargs)
        key = hashlib.blake2b(f"{filename}\0{source}".encode(), digest_size=16).hexdigest()
        self.used.add(key)
        code = self.cache.get(key)
        if code is None:
            code = self.cache[key] = self.real_compile(source, filename, mode)
        return code

    def install(self) -> CodeCache:
        builtins.compile = self.compile
        return self

    def uninstall(self) -> None:
        if builtins.compile == self.compile:
            builtins.compile = self.real_compile
        if len(self.cache) > self.known:  # something new: what this start used, nothing older
            self.cache = {key: self.cache[key] for key in self.used}
            _save(self.path, self.cache)
            self.known = len(self.cache)


def _save(path: Path, cache: dict[str, CodeType]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(marshal.dumps(cache))
        tmp.replace(path)  # atomic: a concurrent start reads the old file or the new one
    except OSError as exc:
        log.debug("code cache not saved: %s", exc)


def fill_seed(path: Path | None = None) -> Path:
    """Fill the install's seed (`seed_file`) with the code a start of `d5e serve` generates:
    lsprotocol's classes and pygls' converter, and the converter's functions for the messages
    the daemon registers (their params and results). Run once after installing d5e, by the
    user who installed it (`make setup` does)."""
    seed = path or seed_file()
    cache = CodeCache(seed)
    cache.cache = {}  # what this build of the libraries generates, nothing older
    cache.known = 0
    cache.install()  # before lsprotocol and pygls are imported
    try:
        from .server import generate_start_code

        generate_start_code()
    finally:
        cache.uninstall()
    return seed


if __name__ == "__main__":
    sys.stderr.write(f"d5e: start-up code cache written to {fill_seed()}\n")
