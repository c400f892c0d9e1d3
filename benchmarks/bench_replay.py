"""Replay benchmark: the year of data/history replayed with 1 and with 2 worker processes.

    python benchmarks/bench_replay.py [--root data/history] [--days N] [--jobs 1 2]

Runs ``clearing.replay.run.replay_all`` (what ``vba replay`` runs, without the report) over
every archive under ``--root`` once per ``--jobs`` value, in this process, one after the
other: the same archives on the same machine under the same load. The first value is the
baseline the others' speed-up is measured against. Wall time includes starting the worker
processes (each imports polars, numpy, scipy and HiGHS once). Every replay must reproduce
its record; the table says how many did. Figures only: nothing here asserts on a time.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# The checkout on sys.path and benchmarks/ off it (`python benchmarks/bench_X.py` puts it
# first): the packages and benchmarks.common import from this checkout, installed or not.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn  # noqa: E402
from rich.table import Table  # noqa: E402

from benchmarks.common import machine, save_results  # noqa: E402
from clearing.replay import ReplayOutcome, find_archives  # noqa: E402
from clearing.replay.run import replay_all  # noqa: E402

TARGET_S = 120.0  # the whole year with 2 processes


def timed(paths: list[Path], jobs: int, console: Console) -> tuple[float, list[ReplayOutcome]]:
    with Progress(
        TextColumn(f"{jobs} process{'es' if jobs > 1 else ''}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("replay", total=len(paths))
        started = time.perf_counter()
        outcomes = replay_all(paths, jobs=jobs, on_done=lambda _: progress.advance(task))
        return time.perf_counter() - started, outcomes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT / "data" / "history")
    parser.add_argument("--days", type=int, help="only the first N archives")
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--save", action="store_true", help="write results/replay-<date>.json")
    args = parser.parse_args(argv)
    console = Console(highlight=False)
    console.print(machine())
    paths = find_archives(args.root)[: args.days]
    if not paths:
        console.print(f"no archive under {args.root}")
        return 2
    table = Table(
        title=f"Replaying {len(paths)} archives of {args.root.name}", title_justify="left"
    )
    for name in (
        "processes",
        "wall s",
        "auctions/s",
        "speed-up",
        "median s per auction",
        "max s",
        "reproduced",
    ):
        table.add_column(name, justify="right")
    walls: dict[int, float] = {}
    runs = []
    for jobs in args.jobs:
        wall, outcomes = timed(paths, jobs, console)
        walls[jobs] = wall
        seconds = [o.day["seconds"] for o in outcomes if o.day["seconds"] is not None]
        same = sum(o.status == "same" for o in outcomes)
        table.add_row(
            str(jobs),
            f"{wall:.1f}",
            f"{len(paths) / wall:.2f}",
            f"{walls[args.jobs[0]] / wall:.2f}x",
            f"{statistics.median(seconds):.3f}" if seconds else "-",
            f"{max(seconds):.3f}" if seconds else "-",
            f"{same}/{len(paths)}",
        )
        runs.append(
            {
                "processes": jobs,
                "wall_s": wall,
                "median_s": statistics.median(seconds) if seconds else None,
                "max_s": max(seconds) if seconds else None,
                "reproduced": same,
                "archives": len(paths),
            }
        )
    console.print(table)
    if 2 in walls and args.days is None:
        wall = walls[2]
        mark = "    met" if wall < TARGET_S else "not met"
        console.print(
            f"  {mark}  the whole year with 2 processes in < {TARGET_S:g} s: {wall:.1f} s"
        )
    console.print(f"load {machine().rsplit('load ', 1)[1]} after the runs")
    if args.save:
        figures = {"root": str(args.root), "runs": runs}
        console.print(f"figures written to {save_results('replay', figures)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
