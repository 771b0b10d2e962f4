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

Two other things a start does over and over are kept in the same file while it is installed: the
code of the methods `dataclasses` generates (its `exec` of a source text: ~45 ms of d5e's ~50
dataclasses at every start), and what `re` makes of a pattern (its parser and compiler are
Python: ~30 ms for the ~160 patterns compiled at import). Both are keyed by their whole input
(the source text; the pattern, its type and flags) in a file of one Python version, and what they
give is what the uncached call gives (the same code object from the same source; the same
arguments to `_sre.compile`).

A user's very first start has no cache yet (compiling it all is ~200 ms more CPU: lsprotocol's
import ~290 instead of ~130 ms). `python -m d5e_daemon.codecache` (run by `make setup`) fills a
*seed* beside the installed environment (`<sys.prefix>/share/d5e/`), read by any start that finds
no cache of its own: the first start after an install is then as quick as a later one.
"""

from __future__ import annotations

import _sre  # type: ignore[import-not-found]
import builtins
import dataclasses
import hashlib
import importlib.util
import logging
import marshal
import os
import re
import sys
from pathlib import Path
from types import CodeType
from typing import Any

log = logging.getLogger(__name__)

_GENERATED = ("<attrs generated", "<cattrs generated")
_PER_PROCESS = "def __hash__("
"""In a generated source: a hash salted per process (never the same source twice)."""
_LIBRARIES = ("attr", "cattrs", "lsprotocol", "pygls")


def cache_file(command: str = "serve") -> Path:
    """One file per Python and installed version of the libraries whose code is generated (an
    entry is keyed by its source text, so an old file is never wrong, only larger), and per
    `d5e` command (each keeps what it used: one file for all would be written anew whenever
    the command changed)."""
    versions = ",".join(f"{lib}={_installed(lib)}" for lib in _LIBRARIES)
    tag = hashlib.sha256(f"{sys.version}|{versions}".encode()).hexdigest()[:16]
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    name = (
        f"codecache-{tag}.marshal" if command == "serve" else f"codecache-{tag}-{command}.marshal"
    )
    return Path(base) / "d5e" / name


def seed_file(command: str = "serve") -> Path:
    """The cache filled at install time (`python -m d5e_daemon.codecache [mcp]`), beside the
    Python environment d5e is installed in, for a start that finds no cache of its own."""
    return Path(sys.prefix) / "share" / "d5e" / cache_file(command).name


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


def _load(path: Path) -> dict[str, Any]:
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
        self.real_exec = builtins.exec
        self.real_re_compile = re._compiler.compile  # type: ignore[attr-defined]

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

    def dataclass_exec(self, source: Any, *args: Any) -> None:
        """`exec` as `dataclasses` calls it (the source of the functions it generates), with
        the code compiled as `exec` would (no `__future__` flags: dataclasses.py has none)."""
        if isinstance(source, str):
            key = "dataclasses:" + hashlib.blake2b(source.encode(), digest_size=16).hexdigest()
            self.used.add(key)
            code = self.cache.get(key)
            if not isinstance(code, CodeType):
                code = self.cache[key] = self.real_compile(
                    source, "<string>", "exec", dont_inherit=True
                )
            source = code
        self.real_exec(source, *args)

    def re_compile(self, pattern: Any, flags: int = 0) -> Any:
        """`re`'s compiler (`re._compiler.compile`): what its last step gives `_sre.compile` is
        kept, and given again for the same pattern and flags."""
        if not isinstance(pattern, str | bytes) or flags & re.DEBUG:
            return self.real_re_compile(pattern, flags)
        text = pattern.encode("utf-8", "surrogatepass") if isinstance(pattern, str) else pattern
        kind = "re:str:" if isinstance(pattern, str) else "re:bytes:"
        key = kind + hashlib.blake2b(b"%d\0%s" % (flags, text), digest_size=16).hexdigest()
        self.used.add(key)
        made = self.cache.get(key)
        if isinstance(made, tuple):
            return _sre.compile(pattern, *made)
        compiled = self.real_re_compile(pattern, flags)
        made = _sre_arguments(pattern, flags)
        if _sre.compile(pattern, *made) == compiled:  # the same flags, groups and code
            self.cache[key] = made
        return compiled

    def install(self) -> CodeCache:
        builtins.compile = self.compile
        dataclasses.exec = self.dataclass_exec  # type: ignore[attr-defined]
        re._compiler.compile = self.re_compile  # type: ignore[attr-defined]
        return self

    def uninstall(self) -> None:
        if builtins.compile == self.compile:
            builtins.compile = self.real_compile
        if getattr(dataclasses, "exec", None) == self.dataclass_exec:
            del dataclasses.exec  # type: ignore[attr-defined]
        if re._compiler.compile == self.re_compile:  # type: ignore[attr-defined]
            re._compiler.compile = self.real_re_compile  # type: ignore[attr-defined]
        if len(self.cache) > self.known:  # something new: what this start used, nothing older
            self.cache = {key: self.cache[key] for key in self.used}
            _save(self.path, self.cache)
            self.known = len(self.cache)


def installed() -> CodeCache | None:
    """The cache in place in this process, if one is."""
    owner = getattr(builtins.compile, "__self__", None)
    return owner if isinstance(owner, CodeCache) else None


def _sre_arguments(pattern: str | bytes, flags: int) -> tuple[Any, ...]:
    """What `re._compiler.compile` gives `_sre.compile` after the pattern (Python 3.11-3.13)."""
    parsed = re._parser.parse(pattern, flags)  # type: ignore[attr-defined]
    code = [int(c) for c in re._compiler._code(parsed, flags)]  # type: ignore[attr-defined]
    groupindex = parsed.state.groupdict
    indexgroup: list[str | None] = [None] * parsed.state.groups
    for name, i in groupindex.items():
        indexgroup[i] = name
    return (
        flags | parsed.state.flags,
        code,
        parsed.state.groups - 1,
        groupindex,
        tuple(indexgroup),
    )


def _save(path: Path, cache: dict[str, Any]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(marshal.dumps(cache))
        tmp.replace(path)  # atomic: a concurrent start reads the old file or the new one
    except (OSError, ValueError) as exc:  # ValueError: a value marshal cannot write
        log.debug("code cache not saved: %s", exc)


def fill_seed(path: Path | None = None, command: str = "serve") -> Path:
    """Fill the install's seed (`seed_file`) with the code a start of `d5e serve` generates:
    lsprotocol's classes and pygls' converter, and the converter's functions for the messages
    the daemon registers (their params and results). For `d5e mcp`, what importing its modules
    generates: the dataclasses and patterns of d5e's, the MCP SDK's and its libraries' (a first
    start without them compiled ~200 ms more, ~30 % of its CPU; each test's start was one).
    Run once after installing d5e, by the user who installed it (`make setup` does), in a
    process of its own for each command: a module imported before is not generated again."""
    seed = path or seed_file(command)
    cache = CodeCache(seed)
    cache.cache = {}  # what this build of the libraries generates, nothing older
    cache.known = 0
    cache.install()  # before lsprotocol and pygls (the MCP SDK) are imported
    try:
        if command == "mcp":
            # What `d5e mcp` imports: the MCP face and the modules the command line imports
            # (not `cli` itself: it imports this module, for `d5e serve`).
            from . import db, mcp_server, settings, workspace  # noqa: F401
        else:
            from .server import generate_start_code

            generate_start_code()
    finally:
        cache.uninstall()
    return seed


if __name__ == "__main__":
    filled = fill_seed(command=sys.argv[1] if len(sys.argv) > 1 else "serve")
    sys.stderr.write(f"d5e: start-up code cache written to {filled}\n")
