"""The code cache of `d5e serve`'s start (`codecache.py`): attrs' and cattrs' generated code is
compiled by the first start and read by the next, and the cache file stays as it is from one
start to the next (it grew with every start, and every start wrote it anew)."""

from __future__ import annotations

import builtins
import dataclasses
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from d5e_daemon import codecache
from d5e_daemon.codecache import CodeCache

# What a daemon's start does with the cache, in a process of its own (each has its own salt for
# the hashes of strings): pygls and lsprotocol imported with the cache installed, then saved.
START = """
import builtins, json, sys
from pathlib import Path
from d5e_daemon.codecache import CodeCache, cache_file
seed = Path(sys.argv[1]) if len(sys.argv) > 1 else None
cache = CodeCache(cache_file(), seed).install()  # the install's seed left out unless given
compiled = []
real = cache.real_compile
def counting(source, filename, *args, **kwargs):
    if isinstance(filename, str) and filename.startswith("<attrs generated"):
        compiled.append(filename)
    return real(source, filename, *args, **kwargs)
cache.real_compile = counting
import lsprotocol.types, pygls.lsp.server
cache.uninstall()
print(json.dumps({"compiled": len(compiled), "entries": len(cache.cache)}))
"""


def start(cache_home: Path, seed: Path | None = None) -> dict[str, int]:
    env = {**os.environ, "XDG_CACHE_HOME": str(cache_home)}
    done = subprocess.run(
        [sys.executable, "-c", START, *([str(seed)] if seed else [])],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    figures: dict[str, int] = json.loads(done.stdout)
    return figures


def test_a_later_start_compiles_only_what_differs_per_process(tmp_path: Path) -> None:
    first = start(tmp_path)
    files = list((tmp_path / "d5e").glob("codecache-*.marshal"))
    assert len(files) == 1
    written = files[0].stat()
    second = start(tmp_path)
    # lsprotocol's ~1,000 generated methods come from the file; what is compiled again is
    # only attrs' own salted `__hash__` methods (a few dozen).
    assert first["compiled"] > 500
    assert second["compiled"] < first["compiled"] / 10
    assert second["entries"] == first["entries"]
    again = files[0].stat()
    assert (again.st_size, again.st_mtime_ns) == (written.st_size, written.st_mtime_ns)


def test_salted_sources_are_not_kept(tmp_path: Path) -> None:
    path = tmp_path / "cache.marshal"
    cache = CodeCache(path).install()
    try:
        salted = "def __hash__(self):\n    return hash((-5992514213999957013, self.x))\n"
        plain = "def __eq__(self, other):\n    return self.x == other.x\n"
        compile(salted, "<attrs generated hash C>", "exec")
        compile(plain, "<attrs generated eq C>", "exec")
        compile("x = 1\n", "<string>", "exec")  # not generated code: never kept
    finally:
        cache.uninstall()
    assert len(CodeCache(path).cache) == 1


def test_what_a_start_no_longer_uses_is_dropped(tmp_path: Path) -> None:
    path = tmp_path / "cache.marshal"
    cache = CodeCache(path).install()
    try:
        compile("def f(): pass\n", "<attrs generated old C>", "exec")
    finally:
        cache.uninstall()
    cache = CodeCache(path).install()
    try:
        compile("def g(): pass\n", "<attrs generated new C>", "exec")
    finally:
        cache.uninstall()
    (code,) = CodeCache(path).cache.values()
    assert code.co_filename == "<attrs generated new C>"


def test_a_first_start_after_the_install_reads_the_seed(tmp_path: Path) -> None:
    """`python -m d5e_daemon.codecache` (`make setup`) fills the install's seed: a user's first
    start, with no cache of its own yet, compiles as little as a later start."""
    seed = tmp_path / "share" / "seed.marshal"
    fill = "import sys\nfrom pathlib import Path\nfrom d5e_daemon.codecache import fill_seed\n"
    fill += "fill_seed(Path(sys.argv[1]))"
    subprocess.run([sys.executable, "-c", fill, str(seed)], check=True, capture_output=True)
    assert seed.is_file()
    filled = seed.stat().st_mtime_ns
    without = start(tmp_path / "home-1")
    first = start(tmp_path / "home-2", seed)
    assert without["compiled"] > 500
    assert first["compiled"] < without["compiled"] / 10
    assert seed.stat().st_mtime_ns == filled  # the install's: a start never writes it


def test_the_default_cache_falls_back_to_the_seed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed = tmp_path / "seed.marshal"
    filling = CodeCache(seed).install()
    try:
        compile("def f(): pass\n", "<attrs generated f C>", "exec")
    finally:
        filling.uninstall()
    written = seed.stat().st_mtime_ns
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(codecache, "seed_file", lambda: seed)
    cache = CodeCache().install()
    try:
        assert len(cache.cache) == 1  # the user has no cache: the seed's code
        compile("def f(): pass\n", "<attrs generated f C>", "exec")
    finally:
        cache.uninstall()
    # Nothing new: neither the user's cache nor the seed is written.
    assert not (tmp_path / "home" / "d5e").exists()
    assert seed.stat().st_mtime_ns == written


def test_patterns_and_dataclasses_come_from_the_cache_as_they_would_be_made(
    tmp_path: Path,
) -> None:
    """What `re` makes of a pattern and the methods `dataclasses` generates are kept too: a
    later start gets the same pattern (flags, groups, code) and the same methods, without
    parsing the pattern or compiling the methods' source again."""
    path = tmp_path / "cache.marshal"

    def made(cache: CodeCache) -> tuple[re.Pattern[str], re.Pattern[bytes], type]:
        cache.install()
        try:
            text = re.compile(r"\{@(?P<tag>\w+) (?P<name>[^}|]*)(?:\|[^}]*)?\}", re.I)
            raw = re.compile(rb"^Content-Length: *(\d+)\r$", re.M)

            @dataclasses.dataclass(frozen=True)
            class Hit:
                ref: str
                score: float = 0.0
                tags: tuple[str, ...] = ()

            return text, raw, Hit
        finally:
            cache.uninstall()

    first = CodeCache(path)
    text, raw, Hit = made(first)
    later = CodeCache(path)
    kept = dict(later.cache)
    text2, raw2, Hit2 = made(later)
    # nothing made anew: 2 patterns, 6 methods (init, repr, eq, hash, setattr, delattr)
    assert later.cache == kept and len(kept) == 2 + 6
    assert (text2, raw2) == (text, raw)
    assert text2.groupindex == text.groupindex == {"tag": 1, "name": 2}
    assert text2.match("{@SPELL Fireball|phb}").group("tag", "name") == ("SPELL", "Fireball")
    assert raw2.search(b"x\r\nContent-Length: 42\r\n").group(1) == b"42"
    assert Hit2("spells/fireball", 1.5) == Hit2("spells/fireball", 1.5)
    assert repr(Hit2("a")) == repr(Hit("a"))
    assert repr(Hit2("a")).endswith("Hit(ref='a', score=0.0, tags=())")
    assert hash(Hit2("a", 1.0)) == hash(Hit("a", 1.0))
    with pytest.raises(dataclasses.FrozenInstanceError):
        Hit2("a").ref = "b"  # type: ignore[misc]
    # Uninstalled, both are as they were.
    assert not hasattr(dataclasses, "exec")
    assert re._compiler.compile is later.real_re_compile  # type: ignore[attr-defined]
    assert builtins.compile is later.real_compile


def test_each_command_keeps_a_cache_of_its_own(db_path: Path, tmp_path: Path) -> None:
    """`d5e lookup` (any command but `serve`) keeps its own file, written when the command
    returns and left as it is by the next run; a mistyped command keeps none."""
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}

    def d5e(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "d5e_daemon", *args]
        return subprocess.run(command, env=env, capture_output=True, text=True, check=False)

    looked = d5e("lookup", "--json", "--db", str(db_path), "fireball")
    assert looked.returncode == 0 and '"name": "Fireball"' in looked.stdout, looked.stderr
    (kept,) = (tmp_path / "cache" / "d5e").glob("codecache-*-lookup.marshal")
    written = kept.stat().st_mtime_ns
    assert len(CodeCache(kept).cache) > 50  # the patterns and dataclasses of a lookup
    assert d5e("lookup", "--json", "--db", str(db_path), "fireball").stdout == looked.stdout
    assert kept.stat().st_mtime_ns == written
    assert d5e("lokup", "fireball").returncode == 2
    assert not list((tmp_path / "cache" / "d5e").glob("*lokup*"))
