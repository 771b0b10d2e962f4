"""The VS Code extension as users get it: the packaged .vsix (one bundled file, nothing else it
needs), and the .vsix installed in real VS Code (code-server) driven in headless Chromium.

`make test` builds the .vsix (`make vsix`) and installs Node 24, code-server and Chromium once
(editors/vscode/e2e/install.sh, cached under ~/.cache/d5e/vscode-e2e); the browser test is
editors/vscode/e2e/vscode.e2e.ts, which keeps a screenshot of a failed step in build/vscode-e2e/.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from .conftest import REPO
from .test_editors import run, tool

VSCODE = REPO / "editors" / "vscode"
MANIFEST = json.loads((VSCODE / "package.json").read_text(encoding="utf-8"))
VSIX = VSCODE / f"d5e-{MANIFEST['version']}.vsix"


def project_repository() -> str | None:
    urls = tomllib.loads((REPO / "pyproject.toml").read_text())["project"].get("urls", {})
    return urls.get("Repository")


NODE_BUILTINS = {
    "assert", "buffer", "child_process", "crypto", "events", "fs", "net", "os", "path",
    "process", "readline", "stream", "string_decoder", "timers", "tty", "url", "util", "zlib",
}  # fmt: skip


def test_the_vsix_is_one_bundled_file_and_what_the_marketplace_shows() -> None:
    assert VSIX.is_file(), f"{VSIX} is missing; `make vsix` (or `make test`) builds it"
    with zipfile.ZipFile(VSIX) as vsix:
        names = set(vsix.namelist())
        bundle = vsix.read("extension/dist/extension.js").decode("utf-8")
        manifest = json.loads(vsix.read("extension/package.json"))
    assert names == {
        "[Content_Types].xml",
        "extension.vsixmanifest",
        "extension/package.json",
        "extension/dist/extension.js",
        "extension/readme.md",
        "extension/changelog.md",
        "extension/LICENSE.txt",
        "extension/images/icon.png",
    }, sorted(names)
    assert manifest["main"] == "./dist/extension.js"
    assert manifest["icon"] == "images/icon.png"
    # The repository the Marketplace links to is the project's own (pyproject.toml's
    # [project.urls]); with none declared yet, the manifest makes none up.
    assert manifest.get("repository", {}).get("url") == project_repository()
    # Nothing is left to load from node_modules: only VS Code's API and Node's own modules.
    required = set(re.findall(r"require\(\"([^\"]+)\"\)", bundle))
    outside = {
        r for r in required if r != "vscode" and r.removeprefix("node:") not in NODE_BUILTINS
    }
    assert not outside, f"the bundle still requires {sorted(outside)}"
    assert "vscode" in required


def test_commands_and_settings_follow_vscodes_conventions() -> None:
    contributes = MANIFEST["contributes"]
    for command in contributes["commands"]:
        assert command["category"] == "d5e", command
        assert command["command"].startswith("d5e."), command
        assert command["title"][0].isupper(), command
    for name, setting in contributes["configuration"]["properties"].items():
        assert name.startswith("d5e."), name
        assert "default" in setting and setting.get("description"), name
    # Every command a menu shows exists; the packs view is where writers are (the Explorer).
    commands = {c["command"] for c in contributes["commands"]}
    for menu in contributes["menus"].values():
        assert {item["command"] for item in menu} <= commands
    assert [v["id"] for v in contributes["views"]["explorer"]] == ["d5e.packs"]
    # engines.vscode is what the language client needs and the API types compiled against.
    types = json.loads((VSCODE / "node_modules" / "@types" / "vscode" / "package.json").read_text())
    assert MANIFEST["engines"]["vscode"] == f"^{types['version']}"


# The user's cache, as it is before tests/conftest.py points XDG_CACHE_HOME at a test's folder.
E2E_CACHE = os.environ.get("D5E_E2E_CACHE") or str(
    Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "d5e" / "vscode-e2e"
)


def e2e_cache() -> Path:
    """Where editors/vscode/e2e/install.sh keeps Node 24 and code-server (`make test` ran it
    already: then this takes a moment)."""
    done = subprocess.run(
        [str(VSCODE / "e2e" / "install.sh")],
        env={**os.environ, "D5E_E2E_CACHE": E2E_CACHE},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, f"editors/vscode/e2e/install.sh failed:\n{done.stderr}"
    return Path(done.stdout.strip().splitlines()[-1])


def run_in_browser(tmp_path: Path, db_path: Path, timeout: float, **env: str) -> str:
    """editors/vscode/e2e/vscode.e2e.ts: the .vsix installed in code-server, driven in Chromium."""
    assert VSIX.is_file(), f"{VSIX} is missing; `make vsix` (or `make test`) builds it"
    script = VSCODE / "out" / "e2e" / "vscode.e2e.js"
    assert script.is_file(), "editors/vscode is not built; `make test` builds it (npm ci, tsc)"
    artifacts = REPO / "build" / "vscode-e2e"
    # d5e's modules byte-compiled, as `pip install` leaves them (this checkout may run with
    # PYTHONDONTWRITEBYTECODE=1: every start of the daemon would compile them again).
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", "d5e_daemon", "plugins"],
        cwd=REPO,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return run(
        [tool("node"), "--test", "--test-reporter=tap", str(script)],
        tmp_path,
        db_path,
        timeout=timeout,
        D5E_E2E_CACHE=str(e2e_cache()),
        # The .vsix installed: this checkout's, or another's to compare (bench/vscode.py).
        D5E_VSIX=os.environ.get("D5E_E2E_VSIX") or str(VSIX),
        D5E_E2E_ARTIFACTS=str(artifacts),
        D5E_EXAMPLE_PACK=str(REPO / "examples" / "ashen-hills"),
        # The d5e command the extension starts: this venv's, or another install's to compare
        # (bench: docs/benchmarks.md, "VS Code activation to first completion").
        D5E_E2E_D5E=os.environ.get("D5E_E2E_D5E") or tool("d5e"),
        D5E_DB=str(db_path),
        D5E_LOG_LEVEL="info",  # the daemon logs how long its start took
        **env,
    )


@pytest.mark.slow
@pytest.mark.timeout(1200)  # a first run installs code-server (about 4 minutes) before it starts
def test_the_extension_inside_vscode_in_a_browser(tmp_path: Path, indexed_db: Path) -> None:
    """As a user sees them in code-server (VS Code 1.139), in one code-server and one browser:
    a window of one campaign (completion, hover, the Problems panel and its quick fix, "d5e:
    Search rules", go to definition, the d5e Packs view, a later start), then a window of a
    multi-root workspace of two campaigns, the same chapter in each, whose hover, Problems panel
    and go to definition answer each chapter as its own campaign's d5e.toml says (one daemon
    per campaign), not as the first folder's. One code-server and one browser for both windows
    (two tests, each its own, cost 12-25 % more CPU: docs/benchmarks.md); the second window's
    daemons on a copy of the database of their own. On the indexed SRD copy: the daemon's
    background indexing was CPU beside code-server and Chromium, checked nowhere here
    (tests/test_search_e2e.py checks it)."""
    # eight steps and two starts of VS Code in the first window, six in the second; the
    # timeout of a step is 150 s
    out = run_in_browser(tmp_path, indexed_db, timeout=720)
    assert "# fail 0" in out and "# skipped 0" in out and "# pass 14" in out, out
    timings = re.search(r"# timings (\{.*\})", out)
    assert timings, out
    print(f"VS Code in the browser: {timings.group(1)}")
    # Issue 18's figure in its parts: VS Code's activation -> d5e's answer, -> Fireball shown.
    for line in re.findall(r"# ((?:cold|warm): VS Code's activation .*)", out):
        print(line)
