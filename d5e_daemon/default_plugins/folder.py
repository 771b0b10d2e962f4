"""The built-in pack loaders: a folder with `pack.toml`, or a `.zip` of one (see packformat.py).

They are registered last, so a plugin's loader for another format is asked first; the folder
loader takes any folder, so that one without `pack.toml` is reported as such.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from .. import packfiles, packformat
from ..hookspecs import hookimpl
from ..records import LoadedPack, PathLoader
from ..text import slugify


def _fallback_id(path: Path) -> str:
    return slugify(path.stem) or "pack"


def load_folder(path: Path) -> LoadedPack | None:
    if not path.is_dir():
        return None
    if os.path.lexists(path / packformat.MANIFEST):
        files, problems = packfiles.read_folder(path, str(path))
    else:  # not a pack: say so at once rather than walk a tree that may be `/` or a home
        files, problems = [], []
    loaded = packformat.load(files, problems, _fallback_id(path), str(path))
    loaded.root = path.resolve()
    return loaded


def load_zip(path: Path) -> LoadedPack | None:
    if not (path.is_file() and path.suffix.lower() == ".zip"):
        return None
    files, problems = packfiles.read_zip(path, str(path))
    loaded = packformat.load(files, problems, _fallback_id(path), str(path))
    loaded.root = path.resolve()
    return loaded


@hookimpl(trylast=True)
def register_loaders(register: Callable[[str, PathLoader], None]) -> None:
    register("folder", load_folder)
    register("zip", load_zip)
