"""Helpers shared by the benchmarks (the JSON-RPC client itself is `d5e_daemon.client`)."""

from __future__ import annotations

import json
import os
import statistics
from pathlib import Path
from typing import Any

from d5e_daemon.client import Daemon, RpcError

__all__ = ["Daemon", "RpcError", "machine", "percentile", "row", "save", "summary"]


def summary(values: list[float]) -> dict[str, float]:
    """Median, p99, min, max and count of timings."""
    return {
        "p50": statistics.median(values),
        "p99": percentile(values, 99),
        "min": min(values),
        "max": max(values),
        "n": len(values),
    }


def save(path: Path | None, figures: dict[str, Any]) -> None:
    """Write the figures as JSON when `--json PATH` was given."""
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(figures, indent=2))


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def machine() -> str:
    """CPU model, cores, memory and Python: the context every figure needs."""
    import platform

    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{mem_kb / 1024 / 1024:.0f} GiB"
    except OSError:
        memory = "? GiB"
    python = f"{platform.python_implementation()} {platform.python_version()}"
    return f"{model}, {os.cpu_count()} cores, {memory}, {platform.machine()}, {python}"


def row(label: str, f: dict[str, float]) -> str:
    return (
        f"{label:<28} {f['p50']:>9.3f} {f['p99']:>9.3f} {f['min']:>9.3f} {f['max']:>9.3f}"
        f" {int(f['n']):>6}"
    )
