"""The clearing benchmark's output: the machine and commit, the tables (rich and
markdown), failures, targets, and the JSON file of the figures."""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from benchmarks.clearing_instances import Limits
from benchmarks.clearing_targets import of_lp, of_optimum, ratio, revenue_check

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS_DIR = HERE / "results"


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    cpu = "unknown"
    mem_kib = 0
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
        cpu = next(
            (ln.split(":", 1)[1].strip() for ln in cpuinfo if ln.startswith("model name")), cpu
        )
        meminfo = Path("/proc/meminfo").read_text().splitlines()
        mem_kib = int(next(ln.split()[1] for ln in meminfo if ln.startswith("MemTotal")))
    except (OSError, StopIteration):
        pass
    versions = {p: importlib.metadata.version(p) for p in ("highspy", "scipy", "polars", "numpy")}
    return {
        "date": datetime.now(UTC).astimezone().isoformat(timespec="seconds"),
        "nproc": len(os.sched_getaffinity(0)),
        "cpu": cpu,
        "ram_gib": round(mem_kib / 1024**2, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        **versions,
        "commit": source_commit(),
    }


def source_commit() -> str:
    """HEAD of the checkout, with "+dirty" when clearing/ or auction/ have local edits.

    The clearing changes often; a figure is only worth something next to the code it timed.
    """
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "clearing", "auction"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return "unknown"
    return (head or "unknown") + ("+dirty" if dirty else "")


def fmt_s(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds:.2f}"


COLUMNS = (
    *("instance", "bids", "assets", "cols/rows/int", "build s", "solve s", "total s"),
    *("status", "tie-break", "gap", "revenue EUR", "of LP", "peak MiB", "load"),
    *("baseline s", "baseline status", "baseline MiB", "speed-up", "revenue check"),
)
SHORT_COLUMNS = (
    *("instance", "limit s", "total s", "status", "gap", "found by", "revenue EUR"),
    *("LP bound EUR", "of LP", "of optimum"),
)


def table(rows: list[dict[str, Any]], limits: Limits) -> Table:
    """One row per instance, ours and the baseline side by side."""
    t = Table(
        title=f"Clearing benchmark (time limit {limits.ours_s:g} s, "
        f"baseline {limits.baseline_s:g} s)"
    )
    for col in COLUMNS:
        numeric = col.endswith((" s", "MiB", "EUR", "up")) or col in ("bids", "assets", "gap")
        t.add_column(col, justify="right" if numeric else "left")
    for r in rows:
        t.add_row(*_cells(r))
    return t


def _cells(r: dict[str, Any]) -> list[str]:
    name = r["name"] + (" (reference day)" if r["reference_day"] else "")
    ours = [name, f"{r['n_bids']:,}", f"{r['n_assets']:,}", *_our_cells(r)]
    base = r.get("baseline")
    if not base:
        return [*ours, *"-----"]
    if "wall_s" not in base:
        return [*ours, "-", base["status"], *"---"]
    c = r["compare"]
    limit = base["time_limit_s"]
    base_s = f">= {limit:g}" if c.get("baseline_hit_limit") else fmt_s(base["wall_s"])
    base_mib = f"{base['peak_mib']:,.0f}"
    if not c:  # ours failed: nothing to compare with
        return [*ours, base_s, base["status"], base_mib, "-", "-"]
    return [*ours, base_s, base["status"], base_mib, ratio(c), revenue_check(r)]


def _our_cells(r: dict[str, Any]) -> list[str]:
    """Model size, times, status, gap, revenue, memory and load of our clearing."""
    load = "/".join(f"{x:.1f}" for x in r.get("load_1min", []))
    if "wall_s" not in r:
        return [*"----", r["status"], *"----", load]
    return [
        f"{r['n_cols']:,}/{r['n_rows']:,}/{r['n_integer']:,}",
        f"{r['build_s']:.3f}",
        fmt_s(r["solve_s"]),
        fmt_s(r["wall_s"]),
        r["status"],
        # Stage 2 shares the time limit: "time_limit" here means stage 1 was proven
        # optimal and the time-priority stage ran out of the rest.
        str(r["solver"].get("tiebreak", "-")).split(" ")[0],
        _fmt_gap(r["mip_gap"]),
        f"{r['revenue_eur']:,.2f}",
        _fmt_share(of_lp(r, r)),
        f"{r['peak_mib']:,.0f}",
        load,
    ]


def _fmt_gap(gap: float | None) -> str:
    return "unknown" if gap is None else f"{gap:.2g}"


def _fmt_share(share: float | None) -> str:
    return "-" if share is None else f"{share:.3%}"


def short_table(rows: list[dict[str, Any]]) -> Table:
    """The time-limited runs: what each instance earns at 5 s (and hard days at 10 s)."""
    t = Table(title="Short time limits: revenue against the LP bound and the proven optimum")
    for col in SHORT_COLUMNS:
        t.add_column(col, justify="left" if col in ("instance", "status", "found by") else "right")
    for cells in _short_cells(rows):
        t.add_row(*cells)
    return t


def _short_cells(rows: list[dict[str, Any]]) -> list[list[str]]:
    out = []
    for r in rows:
        bound = r.get("lp", {}).get("bound_eur")
        for run in r.get("short", []):
            if "wall_s" not in run:
                out.append([r["name"], "-", "-", run.get("status", "-"), *"------"])
                continue
            out.append(
                [
                    r["name"],
                    f"{run['time_limit_s']:g}",
                    f"{run['wall_s']:.2f}",
                    run["status"],
                    _fmt_gap(run["mip_gap"]),
                    str(run["solver"].get("found_by", "-")),
                    f"{run['revenue_eur']:,.2f}",
                    "-" if bound is None else f"{bound:,.2f}",
                    _fmt_share(of_lp(r, run)),
                    _fmt_share(of_optimum(r, run)),
                ]
            )
    return out


def markdown(rows: list[dict[str, Any]]) -> str:
    """The same tables as GitHub markdown, for benchmarks/README.md."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(_cells(r)) + " |" for r in rows]
    lines += ["", "| " + " | ".join(SHORT_COLUMNS) + " |", "|" + "---|" * len(SHORT_COLUMNS)]
    lines += ["| " + " | ".join(cells) + " |" for cells in _short_cells(rows)]
    return "\n".join(lines)


def print_errors(console: Console, rows: list[dict[str, Any]]) -> None:
    """The messages of failed runs, ours or the baseline's, under the table."""
    for r in rows:
        for who, part in (("ours", r), ("baseline", r.get("baseline") or {})):
            if "error" in part:
                console.print(f"  [red]{r['name']} ({who}) failed:[/red] {part['error']}")


def print_targets(console: Console, found: list[dict[str, Any]]) -> None:
    for t in found:
        mark = {True: "[green]    met[/green]", False: "[red]not met[/red]"}.get(
            t["met"], "[yellow]   open[/yellow]"
        )
        console.print(f"  {mark}  {t['target']}: {t['figure']}")


def write_json(report: dict[str, Any], suffix: str) -> Path:
    """The figures as JSON in benchmarks/results/clearing-<date><suffix>.json."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    day = report["machine"]["date"][:10]
    path = RESULTS_DIR / f"clearing-{day}{suffix}.json"
    path.write_text(json.dumps(_rounded(report), indent=1) + "\n")
    return path


def _rounded(value: Any) -> Any:
    """Floats to 4 significant digits (cents kept for money): a small, diffable file."""
    if isinstance(value, dict):
        return {k: _rounded(v) if not k.endswith("_eur") else v for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    if isinstance(value, float):
        return float(f"{value:.4g}")
    return value
