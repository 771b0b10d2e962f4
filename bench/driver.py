"""Helpers shared by the benchmarks (the JSON-RPC client itself is `d5e_daemon.client`).

Every benchmark collects its figures in a `Figures`: each figure is measured once per run
(a run is a fresh daemon, a fresh database, …), and the report gives the median of the runs
with their spread (min–max). A latency figure keeps, per run, the p50 and p99 of its requests.
`Figures.save` writes the JSON that `bench/report.py` turns into `bench/report.md`.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path
from typing import Any

from d5e_daemon.client import Daemon, RpcError

__all__ = [
    "EVAL_DIR_ENV",
    "Daemon",
    "Figures",
    "RpcError",
    "add_eval_dir",
    "compile_sources",
    "cpu_seconds",
    "eval_set",
    "imported",
    "machine",
    "memory",
    "old_env",
    "percentile",
    "run_old",
    "timed_requests",
    "wait_for_index",
]

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
NATIVE = ("_codes_native", "_prose_native")  # d5e_daemon's C modules (pyproject.toml)
EVAL_DIR_ENV = "D5E_EVAL_DIR"


def eval_places() -> list[Path]:
    """Where the eval sets (search-dev.jsonl, lookup-dev.jsonl; kept outside the repository)
    are looked for, in order: `--eval-dir` or $D5E_EVAL_DIR; shared/eval beside the checkout
    this script is in; shared/eval beside the checkout whose virtual environment runs it (an
    old commit's `git archive` in /tmp, run by a checkout's .venv/bin/python)."""
    given = os.environ.get(EVAL_DIR_ENV)
    if given:
        return [Path(given)]
    places = [REPO.parent / "shared" / "eval"]
    if sys.prefix != sys.base_prefix:  # a virtual environment: <checkout>/.venv
        places.append(Path(sys.prefix).resolve().parents[1] / "shared" / "eval")
    return list(dict.fromkeys(places))


def eval_set(name: str) -> Path:
    """The eval set `name` (`eval_places`); a clear error naming where it was looked for."""
    places = eval_places()
    for place in places:
        if (place / name).is_file():
            return place / name
    looked = ", ".join(str(p) for p in places)
    raise SystemExit(
        f"no eval set {name} in {looked}: give the folder that holds it with --eval-dir DIR "
        f"(or ${EVAL_DIR_ENV})"
    )


class _EvalDir(argparse.Action):
    def __call__(self, parser: Any, namespace: Any, values: Any, option: Any = None) -> None:
        os.environ[EVAL_DIR_ENV] = str(Path(values).resolve())  # for the processes it starts
        setattr(namespace, self.dest, Path(values))


def add_eval_dir(ap: argparse.ArgumentParser) -> None:
    """`--eval-dir DIR`, the one option of every benchmark that reads the eval sets."""
    ap.add_argument(
        "--eval-dir",
        action=_EvalDir,
        metavar="DIR",
        help="the folder of the eval sets (search-dev.jsonl, lookup-dev.jsonl); default "
        f"${EVAL_DIR_ENV}, else shared/eval beside this checkout or beside the checkout whose "
        ".venv runs the script",
    )


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def machine() -> str:
    """CPU model, cores, memory and Python: the context every figure needs."""
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory_text = f"{mem_kb / 1024 / 1024:.0f} GiB"
    except OSError:
        memory_text = "? GiB"
    python = f"{platform.python_implementation()} {platform.python_version()}"
    return f"{model}, {os.cpu_count()} cores, {memory_text}, {platform.machine()}, {python}"


def load() -> list[float]:
    """The system's load averages (1, 5, 15 minutes): other work on the machine shows here."""
    try:
        return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    except OSError:
        return []


def memory(pid: int) -> dict[str, float]:
    """VmRSS, VmHWM (peak), RssAnon and RssFile (mapped database pages) of a process, MB."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
            found[key] = int(value.split()[0]) / 1024
    return found


def old_env(checkout: Path, plugins: bool = True) -> dict[str, str]:
    """The environment of a process that imports d5e_daemon (and, with `plugins`, the plugins)
    from an older checkout instead of this one: how `--old` compares old and new in one run.
    PYTHONSAFEPATH: neither the current folder (`-m`, `-c`) nor a script's folder comes first.
    The old tree's C modules are built first if they are not (a `git archive`): else the
    editable install would give the old package this checkout's."""
    root = checkout.resolve()
    if not (root / "d5e_daemon" / "__init__.py").is_file():
        raise SystemExit(f"{checkout}: not a checkout of d5e (no d5e_daemon/__init__.py)")
    build_native(root)
    paths = [root]
    if plugins:
        paths += [p for p in sorted((root / "plugins").iterdir()) if p.is_dir()]
    return {"PYTHONPATH": os.pathsep.join(map(str, paths)), "PYTHONSAFEPATH": "1"}


def build_native(root: Path) -> None:
    """Build in place the C modules of the tree `root` whose source is there but not the module
    (once: a few seconds of CPU)."""
    package = root / "d5e_daemon"
    missing = [
        name
        for name in NATIVE
        if (package / f"{name}.c").is_file()
        and not any((package / f"{name}{suffix}").is_file() for suffix in EXTENSION_SUFFIXES)
    ]
    if missing:
        print(f"building {', '.join(missing)} in {root}", file=sys.stderr)
        setup = "import setuptools; setuptools.setup()"
        built = subprocess.run(
            [sys.executable, "-c", setup, "-q", "build_ext", "--inplace"],
            cwd=root,
            capture_output=True,
            text=True,
            check=False,
        )
        if built.returncode:
            raise SystemExit(f"{root}: could not build {', '.join(missing)}:\n{built.stderr}")


def run_old(checkout: Path, script: Path, args: list[str], capture: bool = False) -> str:
    """Run the bench script `script` (this checkout's or the old one's) with `args` in a process
    that imports d5e_daemon and the plugins of `checkout` (`old_env`; `script`'s folder after
    them, for `driver`), started outside any checkout. Not `script` run by this process's Python
    as it is: its `driver` imports d5e_daemon through the editable install, which is this
    checkout, before the script can put another first on sys.path. `capture`: return what it
    writes on stdout (else it goes to this process's)."""
    env = old_env(checkout)
    env["PYTHONPATH"] += os.pathsep + str(script.resolve().parent)
    done = subprocess.run(
        [sys.executable, str(script.resolve()), *args],
        cwd=tempfile.gettempdir(),
        env={**os.environ, **env},
        check=True,
        stdout=subprocess.PIPE if capture else None,
        text=True,
    )
    return done.stdout or ""


def imported() -> str:
    """The files d5e_daemon and its C modules are imported from in this process: each side of
    an old/new comparison prints it, so that measuring the wrong tree shows."""
    import d5e_daemon

    files = [str(d5e_daemon.__file__)]
    for name in NATIVE:
        try:
            files.append(str(importlib.import_module(f"d5e_daemon.{name}").__file__))
        except ImportError:
            files.append(f"{name}: not built")
    return "d5e_daemon imported from " + ", ".join(files)


def compile_sources() -> None:
    """Byte-compile d5e's sources, as `pip install` does for a wheel: this checkout may run
    with PYTHONDONTWRITEBYTECODE=1, which would make every daemon start compile them again
    (~250 ms on the bench machine)."""
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", "d5e_daemon", "plugins"],
        cwd=REPO,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (all its threads): on a machine busy with
    other work this says what a request costs better than the wall clock does."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_for_index(daemon: Daemon, timeout: float = 900, poll: float = 0.1) -> float:
    """Ask `d5e/status` until the search index is ready and no run is under way; return the
    seconds waited. A daemon measured "running" has finished indexing what it holds."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        index = daemon.request("d5e/status", {})["index"]
        if index["ready"] and not index["running"]:
            return time.perf_counter() - started
        time.sleep(poll)
    raise TimeoutError("the search index was not ready in time")


def timed_requests(daemon: Daemon, method: str, params: list[Any], n: int) -> list[float]:
    """Round-trip milliseconds of `n` requests, one after the other, cycling over `params`."""
    times = []
    for i in range(n):
        started = time.perf_counter()
        daemon.request(method, params[i % len(params)])
        times.append((time.perf_counter() - started) * 1000)
    return times


@dataclass
class _Row:
    label: str
    unit: str
    kind: str  # "latency": p50/p99 per run; "value": one value per run
    runs: list[dict[str, float]] = field(default_factory=list)


class Figures:
    """The figures of one benchmark, per run; see the module docstring."""

    def __init__(self, name: str, title: str, command: str) -> None:
        self.name, self.title, self.command = name, title, command
        self.sections: dict[str, dict[str, _Row]] = {}
        self.facts: dict[str, Any] = {}
        self.notes: list[str] = []
        self.tables: list[dict[str, Any]] = []
        self.started = time.time()
        self.load_before = load()

    def _row(self, section: str, label: str, unit: str, kind: str) -> _Row:
        rows = self.sections.setdefault(section, {})
        if label not in rows:
            rows[label] = _Row(label, unit, kind)
        return rows[label]

    def value(self, section: str, label: str, value: float, unit: str) -> None:
        """One run's value of a figure."""
        self._row(section, label, unit, "value").runs.append({"value": float(value)})

    def latency(self, section: str, label: str, values: list[float], unit: str = "ms") -> None:
        """One run's timings of a figure (many requests): kept as their p50, p99 and count."""
        if not values:
            return
        self._row(section, label, unit, "latency").runs.append(
            {"p50": statistics.median(values), "p99": percentile(values, 99), "n": len(values)}
        )

    def merge(self, other: Figures, prefix: str) -> None:
        """Take in another `Figures`' rows and notes, their sections' titles prefixed."""
        for title, rows in other.sections.items():
            for r in rows.values():
                self._row(prefix + title, r.label, r.unit, r.kind).runs += r.runs
        self.notes += [prefix + note for note in other.notes]
        self.tables += [{**t, "title": prefix + t["title"]} for t in other.tables]
        self.facts.update({prefix + k: v for k, v in other.facts.items()})

    def table(self, title: str, header: list[str], rows: list[list[Any]]) -> None:
        """A table of figures that need no runs (quality on a fixed set: deterministic)."""
        self.tables.append({"title": title, "header": header, "rows": rows})

    def fact(self, key: str, value: Any) -> None:
        """Context that is not measured: sizes, counts, settings."""
        self.facts[key] = value

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "command": self.command,
            "machine": machine(),
            "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(self.started)),
            "seconds": round(time.time() - self.started, 1),
            "load_before": self.load_before,
            "load_after": load(),
            "facts": self.facts,
            "notes": self.notes,
            "tables": self.tables,
            "sections": [
                {
                    "title": title,
                    "rows": [
                        {"label": r.label, "unit": r.unit, "kind": r.kind, "runs": r.runs}
                        for r in rows.values()
                    ],
                }
                for title, rows in self.sections.items()
            ],
        }

    def save(self, path: Path | None) -> None:
        """Print the figures and write their JSON to `path` (if given)."""
        data = self.to_json()
        print(markdown(data))
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(data, indent=2))


# -- rendering ----------------------------------------------------------------------------------


def number(x: float) -> str:
    if abs(x) >= 100:
        return f"{x:,.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    if abs(x) >= 1:
        return f"{x:.2f}"
    return f"{x:.3f}"


def spread(values: list[float]) -> str:
    """`median (min–max)` of per-run values; just the value for one run."""
    if len(values) == 1:
        return number(values[0])
    low, high = min(values), max(values)
    return f"{number(statistics.median(values))} ({number(low)}–{number(high)})"


def _table(rows: list[dict[str, Any]]) -> list[str]:
    out = []
    if rows[0]["kind"] == "latency":
        out += ["| measure | p50 | p99 | requests per run | runs |", "|---|---:|---:|---:|---:|"]
        for r in rows:
            runs = r["runs"]
            n = statistics.median(x["n"] for x in runs)
            out.append(
                f"| {r['label']} ({r['unit']}) | {spread([x['p50'] for x in runs])} "
                f"| {spread([x['p99'] for x in runs])} | {n:,.0f} | {len(runs)} |"
            )
    else:
        out += ["| measure | value | runs |", "|---|---:|---:|"]
        for r in rows:
            runs = r["runs"]
            unit = f" ({r['unit']})" if r["unit"] else ""
            out.append(
                f"| {r['label']}{unit} | {spread([x['value'] for x in runs])} | {len(runs)} |"
            )
    return out


def markdown(data: dict[str, Any], level: int = 2) -> str:
    """A benchmark's JSON as a Markdown section: each figure as the median of its runs with
    their spread (min–max) in brackets."""
    head = "#" * level
    lines = [
        f"{head} {data['title']}",
        "",
        f"`{data['command']}` — {data['started']}, {data['seconds']:.0f} s; load average "
        f"before {data['load_before'][:1]}, after {data['load_after'][:1]}.",
        "",
    ]
    if data["facts"]:
        lines += [", ".join(f"{k}: {v}" for k, v in data["facts"].items()), ""]
    for section in data["sections"]:
        rows = section["rows"]
        if not rows:
            continue
        lines += [f"{head}# {section['title']}", ""]
        kinds = sorted({r["kind"] for r in rows}, reverse=True)
        for kind in kinds:
            lines += [*_table([r for r in rows if r["kind"] == kind]), ""]
    for table in data.get("tables", []):
        lines += [f"{head}# {table['title']}", ""]
        lines += ["| " + " | ".join(table["header"]) + " |"]
        lines += ["|---" + "|---:" * (len(table["header"]) - 1) + "|"]
        for row in table["rows"]:
            cells = [number(c) if isinstance(c, float) else str(c) for c in row]
            lines += ["| " + " | ".join(cells) + " |"]
        lines += [""]
    for note in data["notes"]:
        lines += [f"- {note}"]
    return "\n".join(lines).rstrip() + "\n"
