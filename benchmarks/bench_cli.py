"""How fast ``vba`` answers: the median wall time of ``vba --help``, ``vba --version`` and a
command's ``--help``, beside two reference points run in the same process on the same
machine: ``python -c pass`` (the interpreter alone) and ``python -c "import polars,
fastapi"`` (what every command used to import before printing its help).

    .venv/bin/python benchmarks/bench_cli.py                 # 20 runs of each
    .venv/bin/python benchmarks/bench_cli.py --runs 50 --save
    .venv/bin/python benchmarks/bench_cli.py --before 14aebaf  # also an older commit's vba

``--before COMMIT`` times that commit's tree too (``git archive`` into a temporary
directory), so that a change is measured against the code it replaced. ``vba`` is run as
``python -m api.cli.main`` with this tree (or the older one) first on ``sys.path``.
Runs of the commands alternate, so that a change of load hits them all alike.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, save_results

ROOT = Path(__file__).resolve().parents[1]
VBA = ("-m", "api.cli.main")
PROBES: dict[str, tuple[str, ...]] = {
    "python -c pass": ("-c", "pass"),
    "python -c 'import polars, fastapi'": ("-c", "import polars, fastapi"),
    "vba --help": (*VBA, "--help"),
    "vba --version": (*VBA, "--version"),
    "vba clear --help": (*VBA, "clear", "--help"),
    "vba replay --help": (*VBA, "replay", "--help"),
}


def wall_time(argv: tuple[str, ...], tree: Path) -> float | None:
    """Seconds the command took, or None if it failed (an option the old tree lacks)."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, *argv], cwd=tree, env=env, capture_output=True)
    elapsed = time.perf_counter() - started
    return elapsed if done.returncode == 0 else None


def old_tree(commit: str, into: Path) -> Path:
    """The source tree of ``commit``, unpacked into ``into``."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", commit], cwd=ROOT, capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--before", metavar="COMMIT", help="also time this commit's vba")
    parser.add_argument("--save", action="store_true", help="write benchmarks/results/")
    args = parser.parse_args()
    print(machine())
    trees = {"now": ROOT}
    with tempfile.TemporaryDirectory() as tmp:
        if args.before:
            trees[args.before] = old_tree(args.before, Path(tmp))
        cases = [
            (tree, name, argv)
            for tree in trees
            for name, argv in PROBES.items()
            if tree == "now" or name.startswith("vba")
        ]
        # A first run warms the file cache and drops what the old tree cannot run.
        cases = [(t, n, argv) for t, n, argv in cases if wall_time(argv, trees[t]) is not None]
        times: dict[tuple[str, str], list[float]] = {(t, n): [] for t, n, _ in cases}
        for _ in range(args.runs):
            for tree, name, argv in cases:
                elapsed = wall_time(argv, trees[tree])
                assert elapsed is not None, f"{name} failed on {tree}"
                times[tree, name].append(elapsed)
    print(f"median wall time of {args.runs} runs (min-max), ms")
    figures: dict[str, dict[str, float]] = {}
    for (tree, name), runs in times.items():
        label = name if tree == "now" else f"{name} @ {tree}"
        ms = [1000 * t for t in runs]
        figures[label] = {"median_ms": statistics.median(ms), "min_ms": min(ms), "max_ms": max(ms)}
        print(f"  {label:<40} {statistics.median(ms):7.0f}   ({min(ms):.0f}-{max(ms):.0f})")
    if args.save:
        print("written to", save_results("cli", {"runs": args.runs, "figures": figures}))


if __name__ == "__main__":
    main()
