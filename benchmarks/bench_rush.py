"""The rush before the gate (issue 18): most bids arrive in the last minutes.

    python benchmarks/bench_rush.py [--quick] [--seconds 300] [--targets sqlite,pg1,pg2]

By default 20,000 single bids and 200 batches of 500 from 50 organisations over 300 s,
arriving faster and faster toward the gate (``rush_plan``: an exponential ramp, four times
the average rate at the gate), and 1 % of each kind just after it. ``--quick``: 30 s and a
tenth of the volume, the same rates. The same plan goes, open loop (``rush_load``), to the
bare endpoint first (the baseline: what the HTTP stack and this load generator cost), then
to each target on a fresh store whose auction's gate closes at the end of the rush by the
server's clock: SQLite under ``vba serve``, PostgreSQL under ``vba serve``, and
PostgreSQL with 2 workers (``vba serve --workers 2`` if this checkout has it, else
uvicorn's ``--workers`` over the app factory). Afterwards the store is read: every
acknowledged bid there by id, none with submitted_at at or after the gate. Figures only:
nothing asserts on a time. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from rich.console import Console

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# As bench_intake: this checkout on sys.path, benchmarks/ off it; spawned children inherit.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT))

from benchmarks.http_load import (  # noqa: E402
    WARMUP_S,
    Job,
    Server,
    busy_s,
    drive,
    free_port,
    logged_errors,
    percentile,
    start_server,
    stop,
    wait_ready,
)
from benchmarks.http_report import machine, print_targets, write_json  # noqa: E402
from benchmarks.rush_load import RushJob, drive_rush, tree_cpu_s  # noqa: E402
from benchmarks.rush_plan import LATE_WINDOW_S, RISE, Request, plan  # noqa: E402
from benchmarks.rush_report import (  # noqa: E402
    kind_figures,
    peak_per_s,
    rush_table,
    store_check,
    verdict,
)
from benchmarks.rush_setup import (  # noqa: E402
    bidders,
    create_auction,
    provision,
    sample_rows,
    server_offset_s,
    start_target,
    store_url,
    stored_bids,
)

TARGETS = {"sqlite": ("sqlite", 1), "pg1": ("postgresql", 1), "pg2": ("postgresql", 2)}
LEAD_S = 6.0  # from handing out the plan to the rush's first instant


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--quick", action="store_true", help="30 s and a tenth of the volume")
    p.add_argument("--seconds", type=float, help="the rush's length (default 300, quick 30)")
    p.add_argument("--singles", type=int, help="single bids (default 20,000, quick 2,000)")
    p.add_argument("--batches", type=int, help="batches (default 200, quick 20)")
    p.add_argument("--batch-size", type=int, default=500)
    p.add_argument("--orgs", type=int, default=50, help="bidder organisations")
    p.add_argument("--late-share", type=float, default=0.01, help="share sent after the gate")
    p.add_argument("--targets", default="sqlite,pg1,pg2", help="of " + ",".join(TARGETS))
    p.add_argument("--procs", type=int, default=2, help="client processes")
    p.add_argument("--threads", type=int, default=48, help="client threads per process")
    p.add_argument("--baseline-seconds", type=float, default=5.0, help="closed-loop bare run")
    p.add_argument(
        "--postgres",
        default=os.environ.get("VBA_TEST_POSTGRES_URL")
        or "postgresql://postgres@127.0.0.1:5432/test",
        help="database for a schema of the run's own, dropped after",
    )
    p.add_argument("--seed", type=int, default=18)
    args = p.parse_args(argv)
    scale = 10 if args.quick else 1
    args.seconds = args.seconds or 300.0 / scale
    args.singles = 20_000 // scale if args.singles is None else args.singles
    args.batches = 200 // scale if args.batches is None else args.batches
    return args


def run_rush(
    the_plan: list[Request],
    url: str,
    paths: list[str],
    tokens: list[str],
    start: float,
    server: Server,
    pool: ProcessPoolExecutor,
    args: argparse.Namespace,
) -> dict[str, Any]:
    """Send the plan from ``start`` (epoch s) on; answers by plan index, CPU, load."""
    items = [(k, start + r.at_s, r.org, r.body) for k, r in enumerate(the_plan)]
    jobs = [
        RushJob(url, tuple(paths), tuple(tokens), tuple(items[p :: args.procs]), args.threads)
        for p in range(args.procs)
    ]
    load0 = os.getloadavg()[0]
    futures = [pool.submit(drive_rush, job) for job in jobs]
    time.sleep(max(0.0, start - time.time()))
    server0, busy0 = tree_cpu_s(server.proc.pid), busy_s()
    parts = [f.result() for f in futures]
    server1, busy1 = tree_cpu_s(server.proc.pid), busy_s()
    answers = {k: (status, sent, s) for p in parts for k, status, sent, s in p["results"]}
    first = min(sent for _, sent, _ in answers.values())
    last = max(sent + s for _, sent, s in answers.values())
    span = last - first
    client_cpu = sum(p["client_cpu_s"] for p in parts)
    return {
        "answers": answers,
        "span_s": span,
        "req_per_s": len(answers) / span,
        **peak_per_s(the_plan, answers),
        "server_cpu_s": server1 - server0,
        "client_cpu_s": client_cpu,
        "others_cpu_s": busy1[0] - busy0[0] - client_cpu - (server1 - server0),
        "steal_s": busy1[1] - busy0[1],
        "load_1min": [round(load0, 2), round(os.getloadavg()[0], 2)],
    }


def bare_baseline(
    the_plan: list[Request], pool: ProcessPoolExecutor, args: argparse.Namespace, tmp: Path
) -> list[dict[str, Any]]:
    """The bare endpoint: closed loop at 8 clients (its capacity, as bench_intake), then
    the rush's plan, every request to /noop (the load generator's own share)."""
    port = free_port()
    cmd = [sys.executable, str(HERE / "http_load.py"), "--serve-bare", str(port)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    server = start_server("bare", cmd, env, port, tmp)
    try:
        wait_ready(server)
        start_at = time.time() + 3.0 + WARMUP_S
        body = (b"{}",)
        jobs = [
            Job(server.url, "/noop", "-", body, 4, start_at, args.baseline_seconds, WARMUP_S)
            for _ in range(2)
        ]
        parts = [f.result() for f in [pool.submit(drive, j) for j in jobs]]
        latencies = sorted(x for p in parts for x in p["latencies"])
        closed = {
            "target": "bare, closed loop, 8 clients",
            "req_per_s": len(latencies) / args.baseline_seconds,
            "p50_ms": percentile(latencies, 0.5) * 1000,
            "p99_ms": percentile(latencies, 0.99) * 1000,
        }
        start = time.time() + LEAD_S
        paths, tokens = ["/noop"] * args.orgs, ["-"] * args.orgs
        rush = run_rush(the_plan, server.url, paths, tokens, start, server, pool, args)
        answers = rush.pop("answers")
        gate = start + args.seconds
        row = {
            "target": "bare endpoint",
            **rush,
            "bids_per_s": None,
            "kinds": kind_figures(the_plan, answers, start, gate),
        }
        return [closed, row]
    finally:
        stop(server)


def run_target(
    name: str,
    the_plan: list[Request],
    pool: ProcessPoolExecutor,
    args: argparse.Namespace,
    tmp: Path,
    console: Console,
) -> dict[str, Any]:
    kind, workers = TARGETS[name]
    with store_url(kind, tmp, args.postgres) as url:
        provision(url, args.orgs)
        server, how = start_target(name, url, workers, tmp)
        try:
            tokens, paths = bidders(server.url, args.orgs)
            offset = timedelta(seconds=server_offset_s(server.url, tokens[0]))
            start = time.time() + LEAD_S
            gate = start + args.seconds
            gate_close = datetime.fromtimestamp(gate, UTC) + offset  # by the server's clock
            create_auction(server.url, gate_close)
            console.print(f"{name}: {how}, gate closes at {gate_close.isoformat()} (server)")
            rush = run_rush(the_plan, server.url, paths, tokens, start, server, pool, args)
            time.sleep(2.5)  # the scheduler ticks every second: let it close the gate
            errors = logged_errors(server)
        finally:
            stop(server)
        stored, status, closings = stored_bids(url)
    answers = rush.pop("answers")
    kinds = kind_figures(the_plan, answers, start, gate)
    check = store_check(the_plan, answers, stored, gate_close)
    acked = sum(len(r.bid_ids) for k, r in enumerate(the_plan) if 200 <= answers[k][0] < 300)
    return {
        "target": name,
        "server": how,
        "store": kind,
        "workers": workers,
        **rush,
        "bids_per_s": acked / rush["span_s"],
        "kinds": kinds,
        "store_check": check,
        "auction_status_after": status,
        "gate_closings_recorded": closings,
        "server_log_errors": errors,
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console(width=None if sys.stdout.isatty() else 250)
    info = machine()
    console.print(", ".join(f"{k} {v}" for k, v in info.items()))
    the_plan = plan(
        singles=args.singles,
        batches=args.batches,
        batch_size=args.batch_size,
        orgs=args.orgs,
        seconds=args.seconds,
        late_share=args.late_share,
        rows=sample_rows(),
        rng=random.Random(args.seed),
    )
    console.print(
        f"the rush: {args.singles:,} single bids and {args.batches:,} batches of "
        f"{args.batch_size:,} from {args.orgs} organisations over {args.seconds:g} s"
    )
    rows: list[dict[str, Any]] = []
    found: list[Any] = []
    with (
        tempfile.TemporaryDirectory(prefix="vba-rush-") as tmp_name,
        ProcessPoolExecutor(max_workers=args.procs, mp_context=get_context("spawn")) as pool,
    ):
        tmp = Path(tmp_name)
        closed, bare = bare_baseline(the_plan, pool, args, tmp)
        console.print(
            f"bare endpoint, closed loop: {closed['req_per_s']:,.0f} req/s, "
            f"p99 {closed['p99_ms']:.1f} ms"
        )
        rows.append(bare)
        for name in args.targets.split(","):
            row = run_target(name, the_plan, pool, args, tmp, console)
            rows.append(row)
            found += verdict(name, row["kinds"], row["store_check"])
            console.print(f"  store: {row['store_check']}, status {row['auction_status_after']}")
            for line, n in row["server_log_errors"].items():
                console.print(f"  [red]server log, {n} x[/red] {line}", highlight=False)
    console.print(rush_table(rows))
    print_targets(console, found)
    report = {
        "machine": info,
        "uptime": subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout,
        "args": vars(args),
        "arrivals": f"exponential ramp, rate at the gate ~{RISE:g}x the average; "
        f"{args.late_share:.0%} of each kind {LATE_WINDOW_S[0]}-{LATE_WINDOW_S[1]} s after",
        "bare_closed_loop": closed,
        "rush": rows,
        "targets": found,
    }
    console.print(f"figures written to {write_json('rush', report).relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
