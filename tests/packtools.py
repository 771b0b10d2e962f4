"""Helpers for pack tests: write a folder pack from a dict of files, zip one, count what's in."""

from __future__ import annotations

import zipfile
from pathlib import Path

import apsw

MANIFEST = 'id = "brew"\ntitle = "Brew"\nversion = "1"\n'


def write_pack(root: Path, files: dict[str, str | bytes], manifest: str | None = MANIFEST) -> Path:
    """A folder pack at `root`: pack.toml (unless None) plus `files` (path → text or bytes)."""
    root.mkdir(parents=True, exist_ok=True)
    if manifest is not None:
        (root / "pack.toml").write_text(manifest)
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    return root


def zip_folder(folder: Path, target: Path, prefix: str = "") -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as z:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                z.write(path, prefix + path.relative_to(folder).as_posix())
    return target


def pack_entries(conn: apsw.Connection, pack_id: str) -> int:
    row = conn.execute("SELECT count(*) FROM entry WHERE pack_id = ?", (pack_id,)).fetchone()
    return int(row[0]) if row else 0


def pack_installed(conn: apsw.Connection, pack_id: str) -> bool:
    return conn.execute("SELECT 1 FROM pack WHERE id = ?", (pack_id,)).fetchone() is not None
