"""The benchmarks find the eval sets (kept outside the repository) from the checkout and from
an old commit's archive run by a checkout's virtual environment (`bench/driver.py`: `eval_set`,
`--eval-dir`); a missing set is an error naming where it was looked for, not fewer queries."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
QUERY = {"query": "breathe under water", "relevant": ["spells/water-breathing"]}


def archive(tmp_path: Path) -> Path:
    """What `git archive … | tar -x -C /tmp/old` gives: the checkout's files, no venv."""
    old = tmp_path / "tmp" / "old"
    for part in ("bench", "d5e_daemon"):
        shutil.copytree(REPO / part, old / part, ignore=shutil.ignore_patterns("results"))
    return old


def quality(old: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    hits = tmp_path / "hits.jsonl"
    hits.write_text(json.dumps({"query": QUERY["query"], "hits": [["spells/water-breathing"]]}))
    return subprocess.run(
        [sys.executable, str(old / "bench" / "same_hits.py"), "--quality", str(hits), *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )


def test_an_archive_finds_the_dev_set_given_by_eval_dir(tmp_path: Path) -> None:
    folder = tmp_path / "eval"
    folder.mkdir()
    (folder / "search-dev.jsonl").write_text(json.dumps(QUERY) + "\n")
    done = quality(archive(tmp_path), tmp_path, "--eval-dir", str(folder))
    assert done.returncode == 0, done.stderr
    assert "search-dev.jsonl (1): 1.000 / 1.000 / 1.000" in done.stdout


def test_a_missing_dev_set_is_an_error_naming_where_it_was_looked_for(tmp_path: Path) -> None:
    """It was left out without a word: the old and new hits compared on the other sets."""
    empty = tmp_path / "nothing"
    empty.mkdir()
    done = quality(archive(tmp_path), tmp_path, "--eval-dir", str(empty))
    assert done.returncode != 0
    assert f"no eval set search-dev.jsonl in {empty}: give the folder" in done.stderr
    assert "--eval-dir" in done.stderr


def test_the_default_places_beside_the_script_and_beside_the_venv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """From an archive in /tmp run by /work/checkout/.venv/bin/python: /tmp/shared/eval (none),
    then /work/shared/eval, beside the checkout whose venv runs it."""
    old = archive(tmp_path)
    checkout = tmp_path / "work" / "checkout"
    (checkout / ".venv").mkdir(parents=True)
    monkeypatch.delenv("D5E_EVAL_DIR", raising=False)
    monkeypatch.syspath_prepend(str(old / "bench"))
    monkeypatch.delitem(sys.modules, "driver", raising=False)
    import driver  # the archive's

    assert old == driver.REPO
    monkeypatch.setattr(sys, "prefix", str(checkout / ".venv"))
    monkeypatch.setattr(sys, "base_prefix", "/usr")
    assert driver.eval_places() == [
        old.parent / "shared" / "eval",
        tmp_path / "work" / "shared" / "eval",
    ]
    found = tmp_path / "work" / "shared" / "eval" / "lookup-dev.jsonl"
    found.parent.mkdir(parents=True)
    found.write_text("")
    assert driver.eval_set("lookup-dev.jsonl") == found
    monkeypatch.delitem(sys.modules, "driver")
