"""What every benchmark prints first: the machine, the library versions and the load."""

from __future__ import annotations

import importlib.metadata
import os
import platform
from pathlib import Path

PACKAGES = ("highspy", "polars", "numpy", "scipy")


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
