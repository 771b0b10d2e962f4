"""A benchmark's old side imports the old tree's d5e (`bench/driver.py`: `run_old`, `old_env`),
not this checkout's, which the editable install gives any script the venv's Python runs."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PROBE = "import d5e_daemon\nprint(getattr(d5e_daemon, 'TREE', 'new'), d5e_daemon.__file__)\n"


def driver(monkeypatch: pytest.MonkeyPatch) -> object:
    spec = importlib.util.spec_from_file_location("bench_driver", REPO / "bench" / "driver.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # its dataclasses look for it there
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def old_tree(tmp_path: Path) -> Path:
    """An unpacked archive in small: a d5e_daemon that says it is the old one, a bench script
    that says which d5e_daemon it imported."""
    old = tmp_path / "old"
    (old / "d5e_daemon").mkdir(parents=True)
    (old / "d5e_daemon" / "__init__.py").write_text("TREE = 'old'\n")
    (old / "plugins").mkdir()
    (old / "bench").mkdir()
    (old / "bench" / "probe.py").write_text(PROBE)
    return old


def test_the_old_side_imports_the_old_trees_d5e(
    old_tree: Path, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    driver(monkeypatch).run_old(old_tree, old_tree / "bench" / "probe.py", [])  # type: ignore[attr-defined]
    assert capfd.readouterr().out.split() == ["old", str(old_tree / "d5e_daemon" / "__init__.py")]


def test_the_archives_script_run_as_it_is_imports_this_checkout(old_tree: Path) -> None:
    """The pitfall `run_old` avoids: the archive's script run by the venv's Python finds
    d5e_daemon through the editable install, this checkout."""
    found = subprocess.run(
        [sys.executable, str(old_tree / "bench" / "probe.py")],
        cwd=old_tree,
        capture_output=True,
        text=True,
        check=True,
    )
    assert found.stdout.split() == ["new", str(REPO / "d5e_daemon" / "__init__.py")]
