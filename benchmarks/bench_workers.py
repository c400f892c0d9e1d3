"""Single bids over PostgreSQL with 1 and 2 worker processes (issue 18: ≥ 1.5×).

    python benchmarks/bench_workers.py [--rounds 3] [--seconds 8] [--concurrency 8]

Starts, side by side, the bare endpoint, ``vba serve`` over a fresh PostgreSQL schema and
``vba serve --workers 2`` over another (``VBA_TEST_POSTGRES_URL`` or ``--postgres``; the
database must exist), each auction open with four bidder organisations. Then drives single
bids (bench_intake.py's load generator: keep-alive clients in closed loops, one client
process per organisation) at each in turn, alternating the order, for ``--rounds`` rounds:
on a shared machine short alternating phases give every target the same weather. Prints
the median per target of req/s, p50/p99 and the server's CPU per request (all its
processes), and 2 workers over 1. Figures only. See benchmarks/README.md.
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
from datetime import UTC, datetime, timedelta
from multiprocessing import get_context
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT))

from benchmarks.http_load import (  # noqa: E402
    HOST,
    WARMUP_S,
    Job,
    Server,
    drive,
    free_port,
    percentile,
    start_server,
    stop,
    wait_ready,
)
from benchmarks.intake_setup import bid_bodies  # noqa: E402
from benchmarks.rush_setup import (  # noqa: E402
    bidders,
    create_auction,
    provision,
    sample_rows,
    start_target,
    store_url,
)

ORGS = 4


def tree_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process and its living descendants (Linux /proc)."""
    total, todo = 0.0, [pid]
    tick = os.sysconf("SC_CLK_TCK")
    while todo:
        p = todo.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return total


class Target:
    """A server under load: where its bids go, with which tokens."""

    def __init__(self, server: Server, tokens: list[str], paths: list[str]) -> None:
        self.server, self.tokens, self.paths = server, tokens, paths


def phase(target: Target, bodies: tuple[bytes, ...], pool: Any, args: Any) -> dict[str, float]:
    start_at = time.time() + 2.0 + WARMUP_S
    shares = [args.concurrency // ORGS + (k < args.concurrency % ORGS) for k in range(ORGS)]
    jobs = [
        Job(
            target.server.url,
            target.paths[k],
            target.tokens[k],
            bodies[k::ORGS],
            n,
            start_at,
            args.seconds,
            WARMUP_S,
        )
        for k, n in enumerate(shares)
        if n
    ]
    futures = [pool.submit(drive, job) for job in jobs]
    time.sleep(max(0.0, start_at - time.time()))
    cpu0 = tree_cpu_s(target.server.proc.pid)
    time.sleep(max(0.0, start_at + args.seconds - time.time()))
    cpu1 = tree_cpu_s(target.server.proc.pid)
    parts = [f.result() for f in futures]
    latencies = sorted(x for p in parts for x in p["latencies"])
    errors = sum(n for p in parts for n in p["errors"].values())
    if not latencies:
        shown = {k: v for p in parts for k, v in p["errors"].items()}
        raise RuntimeError(f"{target.server.url}: no request succeeded: {shown}"[:2000])
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
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--seconds", type=float, default=8.0)
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument(
        "--postgres",
        default=os.environ.get(
            "VBA_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
        ),
    )
    p.add_argument("--out", type=Path, help="write the figures here (JSON)")
    args = p.parse_args()
    rng = random.Random(7)
    rows = sample_rows()
    names = ("bare", "pg 1 worker", "pg 2 workers")
    found: dict[str, list[dict[str, float]]] = {name: [] for name in names}
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="vba-workers-")))
        targets: dict[str, Target] = {}
        port = free_port()
        bare_cmd = [sys.executable, str(HERE / "http_load.py"), "--serve-bare", str(port)]
        bare = start_server("bare", bare_cmd, dict(os.environ), port, tmp)
        stack.callback(stop, bare)
        wait_ready(bare)
        targets["bare"] = Target(bare, ["-"] * ORGS, ["/noop"] * ORGS)
        for name, workers in (("pg 1 worker", 1), ("pg 2 workers", 2)):
            url = stack.enter_context(store_url("postgres", tmp, args.postgres))
            provision(url, ORGS)
            server, how = start_target(name.replace(" ", "-"), url, workers, tmp)
            stack.callback(stop, server)
            create_auction(server.url, datetime.now(UTC) + timedelta(minutes=30))
            tokens, paths = bidders(server.url, ORGS)
            targets[name] = Target(server, tokens, paths)
            print(f"{name}: {how} on {HOST}")
        pool = stack.enter_context(
            ProcessPoolExecutor(max_workers=ORGS, mp_context=get_context("spawn"))
        )
        for r in range(args.rounds):
            order = list(names) if r % 2 == 0 else list(reversed(names))
            for name in order:
                bodies = bid_bodies(rows, 1000, rng)
                encoded = tuple(json.dumps(b, separators=(",", ":")).encode() for b in bodies)
                row = phase(targets[name], encoded, pool, args)
                found[name].append(row)
                print(f"round {r + 1} {name}: " + ", ".join(f"{k} {v:.2f}" for k, v in row.items()))
    summary = {
        name: {k: statistics.median(row[k] for row in rows_) for k in rows_[0]}
        for name, rows_ in found.items()
    }
    for name, med in summary.items():
        print(f"median {name}: " + ", ".join(f"{k} {v:.2f}" for k, v in med.items()))
    ratio = summary["pg 2 workers"]["req_per_s"] / summary["pg 1 worker"]["req_per_s"]
    verdict = "met" if ratio >= 1.5 else "not met"
    print(f"2 workers / 1 worker: {ratio:.2f}x (target >= 1.5x: {verdict})")
    if args.out:
        report = {"args": {k: str(v) for k, v in vars(args).items()}, "median": summary}
        args.out.write_text(json.dumps(report | {"rounds": found, "ratio": ratio}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
