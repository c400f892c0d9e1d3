"""Clearing benchmark: the reference day, a scale curve, hard days, and the baseline.

    python benchmarks/bench_clearing.py [--quick | --hard] [--time-limit S]
                                  [--baseline-time-limit S] [--only NAME ...] [--markdown]

Every instance is generated from a seeded scenario (``benchmark_scenario``, or
``hard_scenario`` for the hard days) and cleared in a fresh child process, so that its
peak memory is its own. In that child: the clearing with the full time limit, the LP
relaxation of the same model (the bound every answer is measured against), the clearing
again with short limits (5 s everywhere; 10 s on hard days that are not of 10,000 bids),
and on the 1k and 10k instances the straightforward one-integer-per-bid model of
``clearing.reference`` (scipy.optimize.milp) on the same archive. Figures only: nothing
here asserts on a time. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from rich.console import Console

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# The checkout on sys.path and benchmarks/ off it (`python benchmarks/bench_X.py` puts it
# first): the packages and benchmarks.common import from this checkout, installed or not.
# Spawned children inherit the path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT))

from benchmarks.clearing_child import run_instance  # noqa: E402
from benchmarks.clearing_instances import (  # noqa: E402
    DEFAULT_TIME_LIMIT_S,
    EXTRA,
    HARD,
    INSTANCES,
    QUICK,
    Instance,
    Limits,
)
from benchmarks.clearing_report import (  # noqa: E402
    fmt_s,
    machine,
    markdown,
    print_errors,
    print_targets,
    short_table,
    table,
    write_json,
)
from benchmarks.clearing_targets import compare, targets  # noqa: E402


def run_isolated(instance: Instance, limits: Limits) -> dict[str, Any]:
    """``run_instance`` in a fresh spawned process (one task per child).

    spawn, not fork: a forked child would start with a copy of the parent's pages.
    """
    executor = ProcessPoolExecutor(
        max_workers=1, mp_context=get_context("spawn"), max_tasks_per_child=1
    )
    try:
        with executor:
            return executor.submit(run_instance, instance, limits).result()
    except (BrokenProcessPool, OSError) as exc:
        # Killed (out of memory, say): a row saying so beats losing the whole run.
        return {
            "name": instance.name,
            "n_bids": instance.n_bids,
            "n_assets": instance.n_assets,
            "reference_day": instance.reference_day,
            "status": "crashed",
            "error": f"{type(exc).__name__}: {exc}"[:300],
        }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    names = [i.name for i in INSTANCES + HARD + EXTRA]
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="only the two smallest instances")
    p.add_argument("--hard", action="store_true", help="only the hard days")
    p.add_argument(
        "--time-limit",
        type=float,
        default=DEFAULT_TIME_LIMIT_S,
        metavar="S",
        help="per solve, ours and the baseline's (default %(default)s)",
    )
    p.add_argument(
        "--baseline-time-limit",
        type=float,
        metavar="S",
        help="the baseline's limit, if not --time-limit: 10x our time decides the 10x target",
    )
    p.add_argument("--markdown", action="store_true", help="also print the table as markdown")
    p.add_argument(
        "--only",
        nargs="+",
        choices=names,
        metavar="NAME",
        help=f"run these instances only: {', '.join(names)}",
    )
    return p.parse_args(argv)


def select(args: argparse.Namespace) -> tuple[tuple[Instance, ...], str]:
    """The instances to run, and a file-name suffix when that is not the default set."""
    if args.only:
        return tuple(i for i in INSTANCES + HARD + EXTRA if i.name in args.only), "-only"
    if args.quick:
        return QUICK, "-quick"
    if args.hard:
        return HARD, "-hard"
    return INSTANCES + HARD, ""


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    instances, suffix = select(args)
    limits = Limits(args.time_limit, args.baseline_time_limit or args.time_limit)
    # A file has no terminal width; rich would otherwise squeeze the table into 80 columns.
    console = Console(width=None if sys.stdout.isatty() else 250)
    info = machine()
    console.print(", ".join(f"{k} {v}" for k, v in info.items()))
    rows: list[dict[str, Any]] = []
    for instance in instances:  # one at a time: two solves would share the 2 cores
        console.print(f"running {instance.name} ...")
        load_before = os.getloadavg()[0]
        row = run_isolated(instance, limits)
        # Anything else running on the 2 cores slows the solves down: say how busy it was.
        row["load_1min"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
        row["compare"] = compare(row)
        rows.append(row)
        console.print(f"  {instance.name}: {row['status']}, {fmt_s(row.get('wall_s'))} s")
    console.print(table(rows, limits))
    console.print(short_table(rows))
    if args.markdown:
        console.print(markdown(rows), markup=False, highlight=False, soft_wrap=True)
    print_errors(console, rows)
    found = targets(rows)
    print_targets(console, found)
    report = {"machine": info, "limits": asdict(limits), "instances": rows, "targets": found}
    console.print(f"figures written to {write_json(report, suffix).relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
