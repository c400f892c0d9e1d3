"""What every benchmark prints first: the machine, the library versions and the load."""

from __future__ import annotations

import importlib.metadata
import os
import platform
from pathlib import Path

PACKAGES = ("highspy", "polars", "numpy", "scipy")


def machine() -> str:
    """One line: cores, CPU, platform, Python and library versions, 1-minute load."""
    cpu = "unknown"
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
        cpu = next(ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    versions = ", ".join(f"{p} {importlib.metadata.version(p)}" for p in PACKAGES)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (
        f"{len(os.sched_getaffinity(0))} cores ({cpu}), {platform.platform()}, "
        f"python {platform.python_version()}, {versions}; load {load:.2f}"
    )
