"""What a small day costs: our clearing against ASSUME's complex clearing, same book.

    python -m venv .venv-assume && .venv-assume/bin/pip install assume-framework==0.6.0
    python benchmarks/bench_assume_compare.py [--assume-python .venv-assume/bin/python]
                                        [--bids 10000] [--assets 20] [--repeat 3]

The book is ``benchmark_scenario(bids, assets)`` (minimums on 20 % of the bids, exclusive
groups, links; a small fleet). ASSUME (the open-source agent-based market simulator,
assume-framework on PyPI) clears energy, not a pooled fleet, so the book is mapped onto its
complex clearing as closely as it can take it: every bid becomes a block bid buying its
MW in every hour of its product's window at its price spread over those hours, with its
minimum as ``min_acceptance_ratio`` and its link as ``parent_bid_id``; every asset of the
zone becomes an hourly supply bid of its discharge power at price 0. ASSUME has no
exclusive groups, no charge or energy limits and no reserve markets, so its problem is
the smaller one. It runs in its own virtual environment (its dependencies are not ours),
in a child process started by this script, on the same machine at the same time; each side
is timed inside its clearing call only (not imports, not reading the book). Figures only:
nothing asserts on a time. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# The checkout on sys.path and benchmarks/ off it (`python benchmarks/bench_X.py` puts it
# first): the packages and benchmarks.common import from this checkout, installed or not.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT))

from benchmarks.common import machine, save_results  # noqa: E402

# Run by ASSUME's interpreter: the orders in, the seconds of market_clearing_opt out.
ASSUME_SIDE = """
import json, sys, time
from datetime import datetime, timedelta
from assume.markets.clearing_algorithms.complex_clearing import market_clearing_opt

book = json.load(open(sys.argv[1]))
hours = [datetime.fromisoformat(h) for h in book["hours"]]
products = [(h, h + timedelta(hours=1), None) for h in hours]  # (start, end, only_hours)
orders = []
for o in book["orders"]:
    volume = o["volume"]
    o = dict(o)
    o["start_time"] = datetime.fromisoformat(o["start_time"])
    o["end_time"] = datetime.fromisoformat(o["end_time"])
    if isinstance(volume, dict):
        o["volume"] = {datetime.fromisoformat(k): v for k, v in volume.items()}
    orders.append(o)
times = []
for _ in range(int(sys.argv[2])):
    t0 = time.perf_counter()
    instance, results = market_clearing_opt(
        orders, products, "with_min_acceptance_ratio", True, solver="appsi_highs"
    )
    times.append(time.perf_counter() - t0)
print(json.dumps({"seconds": times, "termination": str(results.solver.termination_condition)}))
"""


def assume_orders(archive: Any) -> dict[str, Any]:
    """The book as ASSUME orders: block bids for our bids, hourly supply for the fleet."""
    import polars as pl

    hours = sorted(
        {
            h
            for row in archive.products.iter_rows(named=True)
            for h in _hours(row["start"], row["end"])
        }
    )
    windows = {
        row["product_id"]: _hours(row["start"], row["end"])
        for row in archive.products.iter_rows(named=True)
    }
    orders: list[dict[str, Any]] = []
    for b in archive.bids.iter_rows(named=True):
        window = windows[b["product_id"]]
        q = float(b["quantity_mw"])
        minimum = b["min_quantity_mw"]
        orders.append(
            {
                "bid_id": b["bid_id"],
                "bid_type": "LB" if b["linked_to"] else "BB",
                "parent_bid_id": b["linked_to"],
                "start_time": window[0],
                "end_time": window[-1],
                "volume": dict.fromkeys(window, -q),
                "price": float(b["price_eur_per_mw"]) / len(window),
                "min_acceptance_ratio": None if minimum is None else float(minimum) / q,
                "node": "node0",
                "only_hours": None,
                "agent_addr": None,
            }
        )
    fleet = archive.fleet.filter(pl.col("tso_zone") == archive.config.tso_zone)
    orders.extend(
        {
            "bid_id": f"{a['asset_id']}@{h}",
            "bid_type": "SB",
            "start_time": h,
            "end_time": h,
            "volume": float(a["p_discharge_mw"]),
            "price": 0.0,
            "min_acceptance_ratio": None,
            "node": "node0",
            "only_hours": None,
            "agent_addr": None,
        }
        for a in fleet.iter_rows(named=True)
        for h in hours
    )
    return {"hours": hours, "orders": orders}


def _hours(start: Any, end: Any) -> list[str]:
    """The hour starts of a window, as ISO strings (UTC)."""
    from datetime import timedelta

    out, t = [], start
    while t < end:
        out.append(t.isoformat())
        t += timedelta(hours=1)
    return out


def ours(archive: Any, repeat: int) -> list[float]:
    """Seconds of our whole clear() call: eligibility, model, solves, tables, backing."""
    from clearing import clear

    clear(archive, time_limit_s=60)  # imports and first-call costs out of the figure
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = clear(archive, time_limit_s=60)
        times.append(time.perf_counter() - t0)
    assert result.status == "optimal", result.optimality
    return times


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--assume-python", type=Path, default=ROOT / ".venv-assume/bin/python")
    p.add_argument("--bids", type=int, default=10_000)
    p.add_argument("--assets", type=int, default=20)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--save", action="store_true", help="write results/assume-<date>.json")
    args = p.parse_args(argv)

    from auction.synthetic import benchmark_scenario, generate

    print(machine())
    archive = generate(benchmark_scenario(args.bids, args.assets))
    print(
        f"book: {archive.bids.height:,} bids, {archive.fleet.height} assets, "
        f"{archive.products.height} products"
    )
    mine = ours(archive, args.repeat)
    print(f"ours:   median {statistics.median(mine):.3f} s of {len(mine)} ({_list(mine)})")
    if not args.assume_python.exists():
        print(f"ASSUME: not run ({args.assume_python} missing; see the module docstring)")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        book = Path(tmp) / "book.json"
        book.write_text(json.dumps(assume_orders(archive)))
        done = subprocess.run(
            [str(args.assume_python), "-c", ASSUME_SIDE, str(book), str(args.repeat)],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
            cwd=tmp,  # ASSUME writes an assume.log where it runs
            check=False,
        )
    if done.returncode != 0:
        print(f"ASSUME failed: {done.stderr[-2000:]}")
        return 1
    theirs = json.loads(done.stdout.strip().splitlines()[-1])
    seconds = theirs["seconds"]
    print(
        f"ASSUME: median {statistics.median(seconds):.3f} s of {len(seconds)} "
        f"({_list(seconds)}), {theirs['termination']}"
    )
    print(
        f"ratio:  {statistics.median(seconds) / statistics.median(mine):.1f}x "
        "(ASSUME / ours, medians)"
    )
    if args.save:
        figures = {"args": {k: str(v) for k, v in vars(args).items()}, "ours_s": mine}
        path = save_results("assume", {**figures, "assume_s": seconds, **theirs})
        print(f"figures written to {path}")
    return 0


def _list(values: list[float]) -> str:
    return ", ".join(f"{v:.3f}" for v in values)


if __name__ == "__main__":
    sys.exit(main())
