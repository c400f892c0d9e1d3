"""What the clearing benchmark runs in each instance's own child process: generate the
book, clear it with the full and the short limits, bound it by the LP relaxation, solve
the baseline, and measure the peak memory of each."""

from __future__ import annotations

import resource
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.clearing_instances import Instance, Limits

# --------------------------------------------------------------------------- memory


def _status_kib(field: str) -> int | None:
    """A ``kB`` field of /proc/self/status (Linux), or None where there is no /proc."""
    try:
        lines = Path("/proc/self/status").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return None


def reset_peak_rss() -> bool:
    """Start a new peak-RSS window; False where the kernel does not allow it.

    Writing 5 to clear_refs resets VmHWM (Linux >= 4.0), so the peak of the clearing is
    not the peak of the baseline solved after it in the same process.
    """
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def peak_rss_mib() -> float:
    """Peak resident memory of this process (since the last reset), MiB."""
    hwm = _status_kib("VmHWM")
    # ru_maxrss is KiB on Linux and covers the whole life of the process.
    kib = hwm if hwm is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kib / 1024


def rss_mib() -> float:
    """Resident memory now, MiB (0 where /proc is missing)."""
    return (_status_kib("VmRSS") or 0) / 1024


# --------------------------------------------------------------------------- child


def run_instance(instance: Instance, limits: Limits) -> dict[str, Any]:
    """Generate, clear and (maybe) solve the baseline, in the calling (child) process.

    Imports happen here so that the parent never loads polars or HiGHS: nothing of it can
    leak into a child's memory figure.
    """
    from auction.synthetic import benchmark_scenario, generate, hard_scenario

    t0 = time.perf_counter()
    if instance.hard_seed is not None:
        scenario = hard_scenario(instance.n_bids, instance.hard_seed, instance.n_assets)
    else:
        scenario = benchmark_scenario(instance.n_bids, instance.n_assets)
    archive = generate(scenario)
    figures: dict[str, Any] = {
        "name": instance.name,
        "n_bids": instance.n_bids,
        "n_assets": instance.n_assets,
        "reference_day": instance.reference_day,
        "hard_seed": instance.hard_seed,
        "hard_limit_s": instance.hard_limit_s,
        "generate_s": time.perf_counter() - t0,
    }
    figures.update(_guarded(_clear, archive, limits.ours_s))
    figures["lp"] = _guarded(_lp_bound, archive, limits.ours_s)
    figures["short"] = [_guarded(_clear, archive, s) for s in instance.short_limits_s]
    if instance.baseline:
        figures["baseline"] = _guarded(_baseline, archive, limits.baseline_s)
    return figures


def _lp_bound(archive: Any, time_limit_s: float) -> dict[str, Any]:
    """The LP relaxation of the clearing's model (backing inside): the bound answers are
    measured against. Solved by HiGHS' interior point method, as one LP."""
    from clearing.eligibility import prepare_bids
    from clearing.highs import model_status, new_highs, pass_model
    from clearing.model import build_model

    t0 = time.perf_counter()
    arrays = build_model(archive, prepare_bids(archive.bids, archive.products))
    h = new_highs()
    h.setOptionValue("solver", "ipm")
    h.setOptionValue("time_limit", time_limit_s)
    pass_model(
        h,
        arrays.c,
        arrays.lb,
        arrays.ub,
        arrays.A,
        arrays.row_lb,
        arrays.row_ub,
        None,
        sense="maximise",
    )
    h.run()
    return {
        "status": model_status(h),
        "bound_eur": float(h.getInfo().objective_function_value),
        "wall_s": time.perf_counter() - t0,
    }


def _guarded(
    run: Callable[[Any, float], dict[str, Any]], archive: Any, time_limit_s: float
) -> dict[str, Any]:
    """``run(archive, time_limit_s)``, or status "error" and the message if it raises.

    A failure of ours must not hide the baseline's figures on the same instance.
    """
    t0 = time.perf_counter()
    try:
        return run(archive, time_limit_s)
    except Exception as exc:
        return {
            "status": "error",
            "error": f"{type(exc).__name__}: {exc}"[:300],
            "failed_after_s": time.perf_counter() - t0,
        }


def _clear(archive: Any, time_limit_s: float) -> dict[str, Any]:
    """Our clearing: times, status, gap, revenue, model size and peak memory."""
    from clearing.clear import clear

    rss_before = rss_mib()
    windowed = reset_peak_rss()
    t0 = time.perf_counter()
    result = clear(archive, time_limit_s=time_limit_s)
    wall_s = time.perf_counter() - t0
    solver = result.solver
    return {
        "time_limit_s": time_limit_s,
        "status": result.status,
        "build_s": result.build_s,
        "solve_s": result.solve_s,
        "wall_s": wall_s,
        "mip_gap": result.mip_gap,
        "bound_eur": result.bound_eur,
        "revenue_eur": float(result.objective_eur),
        "n_cols": solver.get("n_cols"),
        "n_rows": solver.get("n_rows"),
        "n_integer": solver.get("n_integer"),
        # Method, rounds, cuts, tie-break...: whatever the clearing reports, options aside
        # (they are the same for every instance and recorded in each summary.json).
        "solver": {k: v for k, v in solver.items() if k != "options"},
        "rss_before_mib": rss_before,
        "peak_mib": peak_rss_mib(),
        "peak_window": "clear" if windowed else "process",
    }


def _baseline(archive: Any, time_limit_s: float) -> dict[str, Any]:
    """The straightforward formulation on the same archive, same process, same limit.

    ``solve_reference`` is what ``reference_optimum`` runs; it is called directly because
    it also says whether the time limit was hit.
    """
    from clearing.reference import solve_reference

    windowed = reset_peak_rss()
    t0 = time.perf_counter()
    solution = solve_reference(archive, time_limit_s)
    return {
        "status": solution.status,
        "time_limit_s": time_limit_s,
        "wall_s": time.perf_counter() - t0,
        "revenue_eur": solution.objective_eur,
        "peak_mib": peak_rss_mib(),
        "peak_window": "baseline" if windowed else "process",
    }
