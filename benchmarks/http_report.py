"""What the intake and schedule benchmarks report alike: the machine, milliseconds, targets
met or not, and figures rounded for their JSON file."""

from __future__ import annotations

import importlib.metadata
import json
import math
import os
import platform
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from benchmarks.common import RESULTS_DIR, cpu_name


def machine() -> dict[str, Any]:
    packages = ("fastapi", "uvicorn", "starlette", "sqlalchemy", "pydantic", "polars", "httpx2")
    return {
        "date": datetime.now(UTC).astimezone().isoformat(timespec="seconds"),
        "nproc": len(os.sched_getaffinity(0)),
        "cpu": cpu_name(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        **{p: importlib.metadata.version(p) for p in packages},
    }


def fmt_ms(x: float | None) -> str:
    return "-" if x is None or math.isnan(x) else f"{x:,.1f}"


def target_line(name: str, figure: str, met: bool) -> dict[str, Any]:
    return {"target": name, "figure": figure, "met": bool(met)}


def print_targets(console: Console, found: list[dict[str, Any]]) -> None:
    for t in found:
        mark = "[green]    met[/green]" if t["met"] else "[red]not met[/red]"
        console.print(f"  {mark}  {t['target']}: {t['figure']}")


def rounded(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [rounded(v) for v in value]
    if isinstance(value, float):
        return None if math.isnan(value) else float(f"{value:.4g}")
    return value


def write_json(name: str, report: dict[str, Any]) -> Path:
    """``results/<name>-<date of the run>.json``, figures rounded."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}-{report['machine']['date'][:10]}.json"
    path.write_text(json.dumps(rounded(report), indent=1) + "\n")
    return path
