"""Single bids against two checkouts side by side: one lever's effect on a shared machine.

    python benchmarks/ab_bid.py --base /path/to/other/checkout [--rounds 4] [--seconds 5]

Starts ``vba serve`` twice, each on a fresh SQLite store: from ``--base`` (the code before a
change, e.g. ``git archive HEAD~1 | tar -x -C /tmp/base``) and from this checkout; then
drives single bids (bench_intake.py's load generator and bodies) at one, then the other,
alternating which goes first, for ``--rounds`` rounds. On a machine other work shares, the
load moves between runs minutes apart; alternating short phases gives both sides the same
weather. Prints the median per side of req/s, p50/p99 and server CPU per bid. Figures only.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack
from multiprocessing import get_context
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT))

from benchmarks.http_load import (  # noqa: E402
    HOST,
    SECRET_KEY,
    WARMUP_S,
    Job,
    Server,
    cpu_s,
    drive,
    free_port,
    percentile,
    provision,
    start_server,
    stop,
    wait_ready,
)
from benchmarks.intake_setup import Setup, bid_bodies, create_auctions  # noqa: E402


def serve(code: Path, tmp: Path, name: str) -> Server:
    from auction.store import Store, migrate

    url = f"sqlite:///{tmp / name}.db"
    store = Store(url)
    migrate(store)
    provision(store)
    store.dispose()
    env = {**os.environ, "VBA_DATABASE_URL": url, "VBA_SECRET_KEY": SECRET_KEY}
    env.update(VBA_ENV="sandbox", PYTHONPATH=str(code))
    port = free_port()
    cmd = [sys.executable, "-m", "api.cli.main", "serve", "--host", HOST, "--port", str(port)]
    server = start_server(name, cmd, env, port, tmp)
    wait_ready(server)
    return server


def phase(
    server: Server, setup: Setup, bodies: tuple[bytes, ...], pool: Any, args: Any
) -> dict[str, float]:
    path = f"/organisations/{setup.bidder_org}/auctions/{setup.auction_id}/bids"
    start_at = time.time() + 2.0 + WARMUP_S
    shares = [args.concurrency // 2 + (k < args.concurrency % 2) for k in range(2)]
    jobs = [
        Job(server.url, path, setup.bidder_token, bodies[k::2], n, start_at, args.seconds, WARMUP_S)
        for k, n in enumerate(shares)
    ]
    futures = [pool.submit(drive, job) for job in jobs]
    time.sleep(max(0.0, start_at - time.time()))
    cpu0 = cpu_s(server.proc.pid)
    time.sleep(max(0.0, start_at + args.seconds - time.time()))
    cpu1 = cpu_s(server.proc.pid)
    parts = [f.result() for f in futures]
    latencies = sorted(x for p in parts for x in p["latencies"])
    errors = sum(n for p in parts for n in p["errors"].values())
    span = max(max(p["ends"]) for p in parts) - start_at
    return {
        "req_per_s": len(latencies) / span,
        "p50_ms": percentile(latencies, 0.5) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "server_cpu_ms_per_req": (cpu1 - cpu0) / max(1, len(latencies)) * 1000,
        "errors": errors,
        "load_1min": os.getloadavg()[0],
    }


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--base", type=Path, required=True, help="the checkout to compare with")
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--out", type=Path, help="write the figures here (JSON)")
    args = p.parse_args()
    rng = random.Random(7)
    sides = {"base": args.base.resolve(), "this": ROOT}
    rows: dict[str, list[dict[str, float]]] = {name: [] for name in sides}
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="vba-ab-")))
        servers = {name: serve(code, tmp, name) for name, code in sides.items()}
        for server in servers.values():
            stack.callback(stop, server)
        setups = {name: create_auctions(s.url, s.url) for name, s in servers.items()}
        pool = stack.enter_context(
            ProcessPoolExecutor(max_workers=2, mp_context=get_context("spawn"))
        )
        for r in range(args.rounds):
            order = list(sides) if r % 2 == 0 else list(reversed(sides))
            for name in order:
                bodies = bid_bodies(setups[name].bid_rows, 1000, rng)
                encoded = tuple(json.dumps(b, separators=(",", ":")).encode() for b in bodies)
                row = phase(servers[name], setups[name], encoded, pool, args)
                rows[name].append(row)
                print(f"round {r + 1} {name}: " + ", ".join(f"{k} {v:.2f}" for k, v in row.items()))
    summary = {
        name: {k: statistics.median(row[k] for row in found) for k in found[0]}
        for name, found in rows.items()
    }
    for name, med in summary.items():
        print(f"median {name}: " + ", ".join(f"{k} {v:.2f}" for k, v in med.items()))
    if args.out:
        report = {"args": {k: str(v) for k, v in vars(args).items()}, "median": summary}
        args.out.write_text(json.dumps(report | {"rounds": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
