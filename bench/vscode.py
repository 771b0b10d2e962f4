"""VS Code's activation of d5e → Fireball in the suggest widget, in real VS Code: old and new in
turn.

    .venv/bin/python bench/vscode.py [--runs 5] [--old-vsix FILE] [--old-d5e COMMAND] [--baseline]
                                     [--baseline-only] [--json FILE]

Runs the browser test of tests/test_vscode.py (code-server and headless Chromium, installed by
`make test`; the test's own fresh database each time) `--runs` times and reports its figures,
in ms from VS Code's activation of the extension unless named otherwise: the first start
(`cold`: a new database, the window opened on the adventure) and the later start (`warm`: the page
reloaded, the adventure restored): in both the writer writes `{@spell fir` as soon as the editor
takes keys (until the twentieth session the first start counted the writer opening the adventure
with the quick open after the activation). With `--old-vsix` and/or
`--old-d5e` (another checkout's `editors/vscode/d5e-*.vsix` and `.venv/bin/d5e`), each run
starts the old and the new in turn. The machine's load moves these figures a lot: the daemon's
CPU until `initialize` (`daemonCpuToInitializeMs`, new daemons only) moves least. What the
window itself takes, beside d5e: `activationToFirstWidgetMs` (the suggest widget first offering
a word for `fir`, from any provider: VS Code's own, the text's "fireball", while the daemon
starts) and `activationToMarkdownEngineMs` (Markdown's engine loaded in the extension host).
`vscodeActivationToAskedMs` and `vscodeActivationToAnswerMs`: VS Code's activation → VS Code
asking d5e for the first completion that offered something, → d5e's answer (the rest,
`answerToWidgetMs`, is the widget's). The report ends with issue 18's verdict per start: the
median of `activationToFirstCompletionMs` against its ≤ 2,000 ms (reported, never asserted: a
loaded machine moves it by seconds; the honest figure is a quiet machine's).

With `--baseline`, a throwaway extension (bench/vscode-baseline) is installed beside d5e: activated
as d5e is, it offers `d5e-baseline` at once, with nothing to start. `baselineRowMs` (VS Code's
activation of d5e → its row in the suggest widget) and `baselineAskedMs` (→ VS Code first asking
it) are what the window takes before any extension's suggestion can show: VS Code's own floor;
`baselineVscodeActivationMs` and `baselineActivateMs` (→ VS Code activating it, → its
`activate()` running) compare its start with d5e's (`vscodeActivationToActivateMs`). In one group
with d5e's provider (the same selector score), its row shows only with d5e's list. With
`--baseline-only`, each run is followed by the browser test with the baseline alone, no d5e
(the baseline then opens the suggestions as d5e's extension does): the same writer's steps, the
figures from VS Code's activation of the baseline to its row (`activationToFirstCompletionMs`,
tagged "baseline alone"), the other steps skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from functools import partial
from pathlib import Path

from driver import Figures, load

REPO = Path(__file__).resolve().parent.parent

# The figures reported, in this order (the test prints more).
SHOWN = [
    "activationToFirstCompletionMs",
    "vscodeActivationToActivateMs",
    "activationToInitializeMs",
    "daemonImportsMs",
    "daemonCpuToInitializeMs",
    "activationToTypingMs",
    "activationToTypedMs",
    "activationToCompletionAnsweredMs",
    "answerToWidgetMs",
    "bothDoneToWidgetMs",
    "activationToFirstWidgetMs",
    "firstWidgetToFireballMs",
    "activationToMarkdownEngineMs",
    "vscodeActivationToAskedMs",
    "vscodeActivationToAnswerMs",
    "baselineVscodeActivationMs",
    "baselineActivateMs",
    "baselineAskedMs",
    "baselineRowMs",
]

TARGET_MS = 2000  # issue 18: VS Code's activation of the extension -> first completion shown

BASELINE = Path(__file__).resolve().parent / "vscode-baseline"
VSIX_MANIFEST = """<?xml version="1.0" encoding="utf-8"?>
<PackageManifest Version="2.0.0" xmlns="http://schemas.microsoft.com/developer/vsx-schema/2011">
  <Metadata>
    <Identity Language="en-US" Id="baseline" Version="0.0.1" Publisher="d5e-bench" />
    <DisplayName>d5e bench: baseline completion</DisplayName>
    <Description xml:space="preserve">A completion provider that answers at once.</Description>
    <Properties>
      <Property Id="Microsoft.VisualStudio.Code.Engine" Value="^1.90.0" />
    </Properties>
  </Metadata>
  <Installation><InstallationTarget Id="Microsoft.VisualStudio.Code" /></Installation>
  <Dependencies />
  <Assets>
    <Asset Type="Microsoft.VisualStudio.Code.Manifest" Path="extension/package.json"
           Addressable="true" />
  </Assets>
</PackageManifest>
"""
CONTENT_TYPES = """<?xml version="1.0" encoding="utf-8"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
  <Default Extension=".json" ContentType="application/json" />
  <Default Extension=".js" ContentType="application/javascript" />
  <Default Extension=".vsixmanifest" ContentType="text/xml" />
</Types>
"""


def baseline_vsix(folder: Path) -> Path:
    """bench/vscode-baseline packaged as VS Code installs it (two files: no build, no npm)."""
    vsix = folder / "baseline.vsix"
    with zipfile.ZipFile(vsix, "w") as z:
        z.writestr("[Content_Types].xml", CONTENT_TYPES)
        z.writestr("extension.vsixmanifest", VSIX_MANIFEST)
        for name in ("package.json", "extension.js"):
            z.write(BASELINE / name, f"extension/{name}")
    return vsix


def one_run(env: dict[str, str], basetemp: Path) -> dict[str, float] | None:
    """One browser test; its `timings` line (None, and what failed on stderr, if it failed)."""
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", "-k", "browser",
         f"--basetemp={basetemp}", "tests/test_vscode.py"],
        cwd=REPO,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )  # fmt: skip
    m = re.search(r"VS Code in the browser: (\{.*\})", done.stdout)
    if done.returncode != 0 or not m:
        print(f"the browser test failed:\n{done.stdout[-4000:]}", file=sys.stderr)
        return None
    timings: dict[str, float] = json.loads(m[1])
    return timings


def baseline_alone(vsix: Path, folder: Path) -> dict[str, float] | None:
    """The browser test with the baseline extension alone (no d5e, no database): its
    `timings` (None, and what failed on stderr, if it failed)."""
    for sub in ("home", "config", "state"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    install = REPO / "editors" / "vscode" / "e2e" / "install.sh"
    cache = subprocess.run([str(install)], capture_output=True, text=True, check=True, timeout=900)
    env = {
        **os.environ,
        "HOME": str(folder / "home"),
        "XDG_CONFIG_HOME": str(folder / "config"),
        "XDG_STATE_HOME": str(folder / "state"),
        "D5E_TEST_DIR": str(folder),
        "D5E_E2E_CACHE": cache.stdout.strip().splitlines()[-1],
        "D5E_E2E_ARTIFACTS": str(folder / "artifacts"),
        "D5E_EXAMPLE_PACK": str(REPO / "examples" / "ashen-hills"),
        "D5E_E2E_BASELINE_VSIX": str(vsix),
        "D5E_E2E_BASELINE_ONLY": "1",
        # not used without d5e, but asked for by the test
        **{name: "-" for name in ("D5E_VSIX", "D5E_E2E_D5E", "D5E_DB")},
    }
    script = REPO / "editors" / "vscode" / "out" / "e2e" / "vscode.e2e.js"
    node = shutil.which("node", path=str(Path(sys.executable).parent)) or shutil.which("node")
    assert node, "node is not installed; `make test` installs what the browser test needs"
    done = subprocess.run(
        [node, "--test", "--test-reporter=tap", str(script)],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    m = re.search(r"# timings (\{.*\})", done.stdout)
    if done.returncode != 0 or "# fail 0" not in done.stdout or not m:
        print(f"the baseline's browser test failed:\n{done.stdout[-4000:]}", file=sys.stderr)
        return None
    timings: dict[str, float] = json.loads(m[1])
    return timings


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--old-vsix", type=Path, help="the old extension (a .vsix)")
    ap.add_argument("--old-d5e", help="the old d5e command (the daemon the old runs start)")
    ap.add_argument(
        "--baseline",
        action="store_true",
        help="install bench/vscode-baseline beside d5e: VS Code's own delay to a suggestion",
    )
    ap.add_argument(
        "--baseline-only",
        action="store_true",
        help="after each run, the browser test with bench/vscode-baseline alone (no d5e)",
    )
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    variants: list[tuple[str, dict[str, str]]] = [("", {})]
    if args.old_vsix or args.old_d5e:
        old: dict[str, str] = {}
        if args.old_vsix:
            old["D5E_E2E_VSIX"] = str(args.old_vsix.resolve())
        if args.old_d5e:
            old["D5E_E2E_D5E"] = args.old_d5e
        variants = [(" (old)", old), (" (new)", {})]
    figures = Figures(
        "vscode",
        "VS Code's activation of d5e to Fireball shown, in code-server (`bench/vscode.py`)",
        "bench/vscode.py",
    )
    failed: dict[str, int] = {}
    # issue 18's figure, per variant and start: VS Code's activation of d5e -> Fireball shown
    shown: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        vsix = baseline_vsix(Path(tmp))
        extra = {"D5E_E2E_BASELINE_VSIX": str(vsix)} if args.baseline else {}
        runs: list[tuple[str, Callable[[Path], dict[str, float] | None]]] = [
            (tag, partial(one_run, {**extra, **env})) for tag, env in variants
        ]
        if args.baseline_only:
            runs.append((" (baseline alone)", partial(baseline_alone, vsix)))
        for run in range(args.runs):
            for tag, runner in runs:
                before = load()[0]
                timings = runner(Path(tmp) / f"run-{run}{tag.strip(' ()').replace(' ', '-')}")
                if timings is None:
                    failed[tag] = failed.get(tag, 0) + 1
                    continue
                for start, label in (("cold", "first start"), ("warm", "later start")):
                    if (value := timings.get(f"{start}.{SHOWN[0]}")) is not None:
                        shown.setdefault((tag, label), []).append(value)
                    for name in SHOWN:
                        value = timings.get(f"{start}.{name}")
                        if value is not None:
                            figures.value(label, f"{name}{tag}", value, "ms")
                figures.value("machine", f"load average (1 min) before the run{tag}", before, "")
    for tag, _ in runs:
        figures.fact(f"runs failed{tag}", failed.get(tag, 0))  # their figures are left out
    for (tag, label), values in shown.items():
        if "baseline" not in tag:
            # reported, not asserted: a loaded machine moves it by seconds
            median = statistics.median(values)
            verdict = "met" if median <= TARGET_MS else "not met"
            key = f"issue 18, {label}{tag}: median {median:,.0f} ms"
            figures.fact(key, f"{verdict} (≤ 2,000 ms)")
    figures.save(args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
