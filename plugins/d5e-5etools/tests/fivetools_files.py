"""What the 5etools tests share: a homebrew file of our own written in the format, installed the
way `d5e packs install` does, and what an entry then shows (its card, its data)."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Any

from d5e_daemon.app import App
from d5e_daemon.features.lookup import lookup
from d5e_daemon.packs import InstallResult
from d5e_daemon.protocol import LookupParams


def write(tmp_path: Path, source: str, doc: dict[str, Any], name: str = "", **meta: Any) -> Path:
    """`doc` as `Someone; <source>.json` (or `name`), its `_meta` naming the one source."""
    path = tmp_path / (name or f"Someone; {source}.json")
    sources = [{"json": source, "full": f"The {source}", "version": "1"}]
    text = json.dumps({"_meta": {"sources": sources, **meta}, **doc}, indent="\t")
    path.write_text(text, "utf-8")
    return path


def install(app: App, path: Path) -> InstallResult:
    return app.db.write(partial(app.library.install_path, path=path))


def card(app: App, ref: str) -> str:
    return lookup(app, LookupParams(ref=ref)).markdown


def data(app: App, ref: str) -> dict[str, Any]:
    return lookup(app, LookupParams(ref=ref)).entry.data


def names(items: list[dict[str, Any]]) -> list[str]:
    return [i["name"] for i in items]
