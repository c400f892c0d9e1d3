"""Schedule benchmark: validating a wholesale schedule in-process, and POSTing one over HTTP.

    python benchmarks/bench_schedules.py [--seconds 8] [--concurrency 8] [--procs 2]
                                   [--repeats 3000]

In-process, first: ``dispatch.schedule.apply_schedule`` on a 96-point schedule of a
whole-day wholesale block (15-min MTUs, every MTU named, valid SoC) and on 4 points, timed
call by call (median and p99) next to two baselines run in the same process, interleaved:
the same rules checked by a plain per-point Python loop without numpy (is numpy's fixed cost
worth it at 96 points?) and parsing the same points with ``api.http.schemas.dispatch.ScheduleIn``
(what every request pays before the rules run).

Then over HTTP, with the machinery of benchmarks/http_load.py: ``vba serve`` on a fresh
SQLite store next to the intake benchmark's bare FastAPI endpoint. A small whole-day
auction is taken through open -> bids -> close -> clear -> publish as the operator (wall
clock: the gate closes a few seconds after it opens; delivery two days ahead, so every MTU
is far from its dispatch gate closure). The client processes then POST schedules to the
bidders' wholesale blocks for ``--seconds`` per phase: 4 points at random MTUs with small
powers (always accepted; non-2xx counts as an error), and whole 96-point schedules, next
to the bare endpoint. Finally ``api.services.dispatch.submit_schedule`` is timed
in-process on the same store, to split a request's time into the store's part and the
HTTP part. Figures only: nothing here asserts on a time. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from rich.console import Console

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# The checkout on sys.path and benchmarks/ off it (`python benchmarks/bench_X.py` puts it
# first): the packages and benchmarks.common import from this checkout, installed or not.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT))

from benchmarks.http_load import (  # noqa: E402
    WARMUP_S,
    Job,
    add_load_arguments,
    busy_s,
    cpu_s,
    drive,
    logged_errors,
    percentile,
    servers_running,
)
from benchmarks.http_report import machine, print_targets, write_json  # noqa: E402
from benchmarks.schedules_auction import (  # noqa: E402
    Block,
    add_bidders,
    publish_auction,
    schedule_bodies,
)
from benchmarks.schedules_report import (  # noqa: E402
    load_table,
    store_table,
    targets,
    validation_table,
)
from benchmarks.schedules_validation import SMALL_POINTS, validation  # noqa: E402

BIDDERS = 3  # intake's bidder and two more
BODIES_PER_CLIENT = 64
STORE_REPEATS = 200  # in-process submit_schedule calls per schedule size


# --------------------------------------------------------------------------- load


@dataclass(frozen=True)
class Client:
    """One load client: a keep-alive connection posting ``bodies`` to ``path`` in turn."""

    path: str
    token: str
    bodies: tuple[bytes, ...]


def drive_clients(jobs: list[Any]) -> dict[str, Any]:
    """http_load.drive for each job (one client each) on threads of this process, merged.

    http_load.drive gives all of its threads one path; the clients here post to different
    blocks, so each is a job of one thread. Every job's meter measures this whole process
    over the same window: its CPU is taken once.
    """
    with ThreadPoolExecutor(len(jobs)) as pool:
        parts = list(pool.map(drive, jobs))
    errors: dict[str, int] = {}
    for p in parts:
        for key, n in p["errors"].items():
            errors[key] = errors.get(key, 0) + n
    return {
        "latencies": [x for p in parts for x in p["latencies"]],
        "ends": [x for p in parts for x in p["ends"]],
        "warm_ok": sum(p["warm_ok"] for p in parts),
        "errors": errors,
        "client_cpu_s": max(p["client_cpu_s"] for p in parts),
    }


def run_load(
    name: str,
    server: Any,
    servers: dict[str, Any],
    clients: list[Client],
    points: int,
    pool: ProcessPoolExecutor,
    args: argparse.Namespace,
) -> dict[str, Any]:
    """Drive ``clients`` over ``--procs`` client processes for ``--seconds``; throughput,
    client-side latency (2xx only), and the CPU of the server and of everything else."""
    procs = max(1, min(args.procs, len(clients)))
    start_at = time.time() + 3.0 + WARMUP_S  # time for the client processes to start
    jobs = [
        [
            Job(
                server.url,
                c.path,
                c.token,
                c.bodies,
                1,
                start_at,
                args.seconds,
                WARMUP_S,
            )
            for c in clients[k::procs]
        ]
        for k in range(procs)
    ]
    load_before = os.getloadavg()[0]
    futures = [pool.submit(drive_clients, share) for share in jobs]
    time.sleep(max(0.0, start_at - time.time()))
    ours0 = {n: cpu_s(s.proc.pid) for n, s in servers.items()}
    busy0 = busy_s()
    time.sleep(max(0.0, start_at + args.seconds - time.time()))
    ours1 = {n: cpu_s(s.proc.pid) for n, s in servers.items()}
    busy1 = busy_s()
    parts = [f.result() for f in futures]
    latencies = sorted(x for p in parts for x in p["latencies"])
    errors: dict[str, int] = {}
    for p in parts:
        for key, count in p["errors"].items():
            errors[key] = errors.get(key, 0) + count
    span = max(max(p["ends"]) for p in parts) - start_at
    n = len(latencies)
    server_cpu = ours1[server.name] - ours0[server.name]
    client_cpu = sum(p["client_cpu_s"] for p in parts)
    others = busy1[0] - busy0[0] - client_cpu - sum(ours1[k] - ours0[k] for k in ours1)
    return {
        "name": name,
        "target": server.name,
        "clients": len(clients),
        "blocks": len({c.path for c in clients}),
        "points": points,
        "procs": procs,
        "seconds": args.seconds,
        "span_s": span,
        "requests": n,
        "warmup_requests": sum(p["warm_ok"] for p in parts),
        "errors": errors,
        "req_per_s": n / span if span > 0 else 0.0,
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p90_ms": percentile(latencies, 0.90) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "max_ms": (latencies[-1] if latencies else math.nan) * 1000,
        "mean_ms": (statistics.fmean(latencies) if latencies else math.nan) * 1000,
        "server_cpu_s": server_cpu,
        "server_cpu_ms_per_req": server_cpu / n * 1000 if n else math.nan,
        "client_cpu_s": client_cpu,
        "others_cpu_s": others,
        "steal_s": busy1[1] - busy0[1],
        "load_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }


def stored_versions(store: Any) -> int:
    """Schedule versions in the store: one per accepted POST."""
    import sqlalchemy as sa

    from auction.store.schema import schedule_versions

    with store.read() as conn:
        return int(
            conn.execute(sa.select(sa.func.count()).select_from(schedule_versions)).scalar_one()
        )


def time_store(store: Any, blocks: list[Block], rng: random.Random) -> list[dict[str, Any]]:
    """operating.submit_schedule in this process on the server's store (SQLite, WAL,
    synchronous=FULL): the part of a request the store and the rules take, no HTTP."""
    from api.http.schemas.dispatch import ScheduleIn
    from api.services.dispatch import submit_schedule
    from auction.store.accounts import user_by_email
    from dispatch.schedule import Point

    rows = []
    for points in (SMALL_POINTS, blocks[0].n_mtu):
        block = blocks[0]
        with store.read() as conn:
            user = user_by_email(conn, "bidder@intake.example.com")
        assert user is not None
        assert user.org_id == block.org_id
        schedules = [
            [Point(p.time, p.power) for p in ScheduleIn.model_validate_json(b).schedule]
            for b in schedule_bodies(block, 16, points, rng)
        ]
        times = []
        for i in range(STORE_REPEATS):
            now = datetime.now(UTC)
            t0 = time.perf_counter()
            submit_schedule(
                store,
                block.org_id,
                block.virtual_asset_id,
                block.block_id,
                schedules[i % len(schedules)],
                user.user_id,
                now,
            )
            times.append(time.perf_counter() - t0)
        times.sort()
        rows.append(
            {
                "case": f"submit_schedule, {points} points",
                "points": points,
                "calls": len(times),
                "p50_ms": statistics.median(times) * 1000,
                "p99_ms": percentile(times, 0.99) * 1000,
                "per_s_one_writer": 1 / statistics.fmean(times),
            }
        )
    return rows


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    add_load_arguments(p, seconds=8.0)
    p.add_argument(
        "--repeats",
        type=int,
        default=3000,
        help="in-process calls of each validation case (default %(default)s)",
    )
    p.add_argument("--seed", type=int, default=7)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console(width=None if sys.stdout.isatty() else 250)
    info = machine()
    console.print(", ".join(f"{k} {v}" for k, v in info.items()))
    rng = random.Random(args.seed)

    console.print(f"validating in-process, {args.repeats:,} calls per case ...")
    validate = validation(args.repeats, rng)
    for r in validate:
        console.print(f"  {r['case']}: p50 {r['p50_us']:,.1f} µs, p99 {r['p99_us']:,.1f} µs")

    phases: list[dict[str, Any]] = []
    with (
        tempfile.TemporaryDirectory(prefix="vba-schedules-") as tmp_name,
        servers_running(Path(tmp_name), console) as (servers, store, _db),
    ):
        emails = ["bidder@intake.example.com", *add_bidders(store, BIDDERS - 1)]
        blocks = publish_auction(servers["vba"].url, emails, console)
        console.print(
            f"{len(blocks)} wholesale blocks of {blocks[0].n_mtu} MTUs, "
            f"{blocks[0].terms.power_kw} kW / {blocks[0].terms.energy_kwh} kWh each"
        )
        small = [
            Client(
                blocks[c % len(blocks)].path,
                blocks[c % len(blocks)].token,
                schedule_bodies(blocks[c % len(blocks)], BODIES_PER_CLIENT, SMALL_POINTS, rng),
            )
            for c in range(args.concurrency)
        ]
        full = [
            Client(
                blocks[c % len(blocks)].path,
                blocks[c % len(blocks)].token,
                schedule_bodies(blocks[c % len(blocks)], 8, blocks[0].n_mtu, rng),
            )
            for c in range(args.concurrency)
        ]
        bare = [Client("/noop", c.token, c.bodies) for c in small]
        loads = (
            ("bare endpoint", servers["bare"], bare, SMALL_POINTS),
            (f"schedule of {SMALL_POINTS} points", servers["vba"], small, SMALL_POINTS),
            (f"schedule of {blocks[0].n_mtu} points", servers["vba"], full, blocks[0].n_mtu),
        )
        versions_before = stored_versions(store)
        pool = ProcessPoolExecutor(max_workers=args.procs, mp_context=get_context("spawn"))
        with pool:
            for name, server, clients, points in loads:
                console.print(f"running {name} ({len(clients)} clients) ...")
                row = run_load(name, server, servers, clients, points, pool, args)
                row["errors_total"] = sum(row["errors"].values())
                phases.append(row)
                console.print(
                    f"  {row['req_per_s']:,.1f} req/s, p50 {row['p50_ms']:.1f} ms, "
                    f"p99 {row['p99_ms']:.1f} ms, errors {row['errors_total']}"
                )
                for key, n in list(row["errors"].items())[:3]:
                    console.print(f"  [red]{n} x[/red] {key}", markup=True, highlight=False)
        accepted = sum(r["requests"] + r["warmup_requests"] for r in phases if r["target"] == "vba")
        stored = stored_versions(store) - versions_before
        server_errors = logged_errors(servers["vba"])
        for line, n in server_errors.items():
            console.print(f"  [red]server log, {n} x[/red] {line}", highlight=False)
        console.print(f"the load is over: {accepted:,} schedules accepted, {stored:,} stored")
        if stored != accepted:
            console.print(f"[red]the store holds {stored:,} new versions, accepted {accepted:,}[/]")
        in_store = time_store(store, blocks, rng)

    console.print(validation_table(validate, args.repeats))
    console.print(load_table(phases))
    console.print(store_table(in_store))
    found = targets(validate, phases)
    print_targets(console, found)
    report = {
        "machine": info,
        "args": vars(args),
        "validation": validate,
        "phases": phases,
        "accepted_over_http": accepted,
        "versions_stored": stored,
        "submit_schedule": in_store,
        "server_log_errors": server_errors,
        "targets": found,
    }
    console.print(f"figures written to {write_json('schedules', report).relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
