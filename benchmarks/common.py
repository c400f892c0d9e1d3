"""What every benchmark prints first: the machine, the library versions and the load."""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

PACKAGES = ("highspy", "polars", "numpy", "scipy")
RESULTS_DIR = Path(__file__).resolve().parent / "results"


def cpu_name() -> str:
    """The CPU's model name, from /proc/cpuinfo where there is one."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        return next(ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("model name"))
    except (OSError, StopIteration):
        return "unknown"


def machine() -> str:
    """One line: cores, CPU, platform, Python and library versions, 1-minute load."""
    versions = ", ".join(f"{p} {importlib.metadata.version(p)}" for p in PACKAGES)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"{len(os.sched_getaffinity(0))} cores ({cpu_name()}), {platform.platform()}, "
        f"python {platform.python_version()}, {versions}; load {load:.2f}"
    )


def save_results(name: str, figures: dict[str, Any]) -> Path:
    """Write ``figures`` with the machine, the date and the commit to
    ``benchmarks/results/<name>-<date>.json``: benchmarks/README.md quotes only these files."""
    now = datetime.now(UTC)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=RESULTS_DIR.parent,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    report = {"machine": machine(), "date": now.isoformat(timespec="seconds"), "commit": commit}
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}-{now.date()}.json"
    path.write_text(json.dumps({**report, **figures}, indent=1, default=str) + "\n")
    return path
