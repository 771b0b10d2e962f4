"""`make test` on a machine where the user is not root and the editors' programs are missing:
one line saying what to install (not apt-get's own failure). Run as the unprivileged user
`nobody` (setpriv), with a PATH holding only the few programs make and the scripts need, so
that Emacs, Chromium and dpkg are absent."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import REPO

pytestmark = pytest.mark.skipif(
    os.name != "posix" or os.geteuid() != 0 or shutil.which("setpriv") is None,
    reason="becoming another user needs root and setpriv",
)
NOBODY = 65534


@pytest.fixture
def home() -> Iterator[Path]:
    """A folder nobody can reach (pytest's tmp_path is inside root's private folder)."""
    with tempfile.TemporaryDirectory(prefix="d5e-nobody-") as tmp:
        path = Path(tmp)
        path.chmod(0o755)
        yield path


def as_nobody(home: Path, tools: list[str], *command: str) -> subprocess.CompletedProcess[str]:
    """`command` as the user nobody, in the repository, with only `tools` on the PATH."""
    bin_dir = home / "bin"
    bin_dir.mkdir()
    for tool in tools:
        found = shutil.which(tool)
        assert found, f"{tool} is not installed"
        (bin_dir / tool).symlink_to(found)
    env = {"PATH": str(bin_dir), "HOME": str(home), "D5E_E2E_CACHE": str(home / "cache")}
    (home / "cache").mkdir()
    (home / "cache").chmod(0o777)
    setpriv = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
    return subprocess.run(
        [*setpriv, "env", "-i", *(f"{k}={v}" for k, v in env.items()), *command],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_without_emacs_make_test_says_what_to_install(home: Path) -> None:
    done = as_nobody(home, ["sh", "id", "make"], "make", "-s", "emacs")
    assert done.returncode != 0
    said = [line for line in done.stderr.splitlines() if not line.startswith("make: ***")]
    assert said == [
        "make test needs Emacs 28+ with eglot for the editor tests: run 'sudo apt-get install "
        "emacs-nox elpa-eglot' (or your system's Emacs and eglot), then make test again"
    ]
    assert done.stdout == ""


def test_without_chromium_make_test_says_what_to_install(home: Path) -> None:
    tools = ["sh", "id", "make", "mkdir", "flock"]
    done = as_nobody(home, tools, "make", "-s", "vscode-e2e")
    assert done.returncode != 0
    said = [line for line in done.stderr.splitlines() if not line.startswith("make: ***")]
    assert said == [
        "make test needs chromium libkrb5-dev for the VS Code test: run "
        "'sudo apt-get install chromium libkrb5-dev', then make test again"
    ]
