"""Bid intake benchmark: bids over HTTP next to a bare endpoint, and loading the book.

    python benchmarks/bench_intake.py [--seconds 30] [--concurrency 8] [--procs 2]
                                [--book-bids 100000]

Starts ``vba serve`` on a fresh SQLite store in a temp dir and, next to it, a bare FastAPI
app with one POST endpoint that does no work, served by uvicorn with the same settings.
The same load generator (client processes, each with threads holding one keep-alive
``httpx2.Client``) then drives, for ``--seconds`` each: the bare endpoint, single bids,
batches of 1,000 bids (one client, then ``--concurrency``), and single bids again once the
organisation's book is large. Afterwards it times ``book_frame`` / ``load_archive`` on the
auction's book and on a 100k-bid book inserted through the store, next to a raw sqlite3
fetch of the same rows into polars. Figures only: nothing here asserts on a time. See
benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# The checkout on sys.path and benchmarks/ off it (`python benchmarks/bench_X.py` puts it
# first): the packages and benchmarks.common import from this checkout, installed or not.
# Spawned children inherit the path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT))

from benchmarks.http_load import (  # noqa: E402
    WARMUP_S,
    Job,
    Server,
    add_load_arguments,
    busy_s,
    cpu_s,
    drive,
    logged_errors,
    percentile,
    serve_bare,
    servers_running,
)
from benchmarks.http_report import (  # noqa: E402
    fmt_ms,
    machine,
    print_targets,
    target_line,
    write_json,
)
from benchmarks.intake_book import BOOK_REPEATS, insert_book, time_book  # noqa: E402
from benchmarks.intake_setup import Setup, bid_bodies, create_auctions  # noqa: E402

BATCH_SIZE = 1_000

# Targets of the issue (SQLite, a 2-core machine).
TARGET_RATIO = 0.30  # single-bid req/s over the bare endpoint's req/s
TARGET_P99_MS = 50.0  # single-bid p99
TARGET_BATCH_S = 1.0  # one batch of 1,000 bids accepted
TARGET_BOOK_S = 2.0  # book_frame of 100k bids


# --------------------------------------------------------------------------- load


@dataclass(frozen=True)
class Phase:
    name: str
    target: str  # "bare" or "vba"
    batch: bool
    clients: int


def org_book(store: Any, setup: Setup) -> int:
    """The bidder's live bids in the auction (what every submission reads once)."""
    from auction.store.bids import bid_counts

    with store.read() as conn:
        return bid_counts(conn, setup.auction_id).get(setup.bidder_org, 0)


def run_phase(
    phase: Phase,
    setup: Setup,
    servers: dict[str, Server],
    store: Any,
    pool: ProcessPoolExecutor,
    args: argparse.Namespace,
    rng: random.Random,
) -> dict[str, Any]:
    """Drive one phase over ``--procs`` client processes; throughput, latency, server CPU."""
    server = servers[phase.target]
    if phase.target == "bare":
        path = "/noop"
    else:
        path = f"/organisations/{setup.bidder_org}/auctions/{setup.auction_id}/bids"
    bodies: list[Any]
    if phase.batch:
        bodies = [{"bids": bid_bodies(setup.bid_rows, BATCH_SIZE, rng)} for _ in range(4)]
    else:
        bodies = bid_bodies(setup.bid_rows, 1_000, rng)
    encoded = tuple(json.dumps(b, separators=(",", ":")).encode() for b in bodies)
    procs = max(1, min(args.procs, phase.clients))
    shares = [phase.clients // procs + (k < phase.clients % procs) for k in range(procs)]
    start_at = time.time() + 3.0 + WARMUP_S  # time for the client processes to start
    jobs = [
        Job(
            server.url,
            path,
            setup.bidder_token,
            encoded[k::procs] or encoded,
            n,
            start_at,
            args.seconds,
            WARMUP_S,
        )
        for k, n in enumerate(shares)
    ]
    book_before = org_book(store, setup)
    load_before = os.getloadavg()[0]
    futures = [pool.submit(drive, job) for job in jobs]
    time.sleep(max(0.0, start_at - time.time()))
    ours0 = {name: cpu_s(s.proc.pid) for name, s in servers.items()}
    busy0 = busy_s()
    time.sleep(max(0.0, start_at + args.seconds - time.time()))
    ours1 = {name: cpu_s(s.proc.pid) for name, s in servers.items()}
    busy1 = busy_s()
    parts = [f.result() for f in futures]
    latencies = sorted(x for p in parts for x in p["latencies"])
    errors: dict[str, int] = {}
    for p in parts:
        for key, n in p["errors"].items():
            errors[key] = errors.get(key, 0) + n
    span = max(max(p["ends"]) for p in parts) - start_at
    n = len(latencies)
    per_request = BATCH_SIZE if phase.batch else 1
    server_cpu = ours1[phase.target] - ours0[phase.target]
    client_cpu = sum(p["client_cpu_s"] for p in parts)
    # Everything else the machine did meanwhile: other users' work (and this parent).
    others = busy1[0] - busy0[0] - client_cpu - sum(ours1[k] - ours0[k] for k in ours1)
    return {
        **asdict(phase),
        "procs": procs,
        "seconds": args.seconds,
        "span_s": span,
        "requests": n,
        "warmup_requests": sum(p["warm_ok"] for p in parts),
        "errors": errors,
        "req_per_s": n / span if span > 0 else 0.0,
        "bids_per_s": n * per_request / span if span > 0 and phase.target == "vba" else None,
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
        "org_book": [book_before, org_book(store, setup)],
        "load_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }


# --------------------------------------------------------------------------- report


def load_table(phases: list[dict[str, Any]], bare: dict[str, Any]) -> Table:
    t = Table(title="Bid intake over HTTP (client-side latency, 2xx only)")
    cols = (
        *("phase", "clients", "requests", "req/s", "bids/s", "vs bare", "vs bare, CPU"),
        *("p50 ms", "p90 ms"),
        *("p99 ms", "max ms", "errors", "server CPU ms/req", "server CPU %", "client CPU %"),
        *("others / steal CPU %", "org's bids before/after"),
    )
    for col in cols:
        t.add_column(col, justify="left" if col == "phase" else "right")
    for r in phases:
        single = r["target"] == "vba" and not r["batch"]
        ratio = f"{r['req_per_s'] / bare['req_per_s']:.0%}" if single else "-"
        # What the server could do if the bare app's per-request CPU were all it cost.
        cpu = bare["server_cpu_ms_per_req"] / r["server_cpu_ms_per_req"]
        cpu_ratio = f"{cpu:.0%}" if single else "-"
        t.add_row(
            r["name"],
            str(r["clients"]),
            f"{r['requests']:,}",
            f"{r['req_per_s']:,.1f}",
            "-" if r["bids_per_s"] is None else f"{r['bids_per_s']:,.0f}",
            ratio,
            cpu_ratio,
            fmt_ms(r["p50_ms"]),
            fmt_ms(r["p90_ms"]),
            fmt_ms(r["p99_ms"]),
            fmt_ms(r["max_ms"]),
            str(sum(r["errors"].values())),
            f"{r['server_cpu_ms_per_req']:.2f}",
            f"{r['server_cpu_s'] / r['seconds']:.0%}",
            f"{r['client_cpu_s'] / r['seconds']:.0%}",
            f"{r['others_cpu_s'] / r['seconds']:.0%} / {r['steal_s'] / r['seconds']:.0%}",
            "{:,} / {:,}".format(*r["org_book"]),
        )
    return t


def book_table(books: list[dict[str, Any]]) -> Table:
    t = Table(title=f"Loading the book from the store (median of {BOOK_REPEATS})")
    cols = (
        *("book", "bids", "book_frame s", "load_archive s", "baseline s", "of which fetchall s"),
        *("book_frame / baseline", "same frame"),
    )
    for col in cols:
        t.add_column(col, justify="left" if col in ("book", "same frame") else "right")
    for b in books:
        t.add_row(
            b["book"],
            f"{b['bids']:,}",
            f"{b['book_frame_s']:.3f}",
            f"{b['load_archive_s']:.3f}",
            f"{b['baseline_s']:.3f}",
            f"{b['baseline_fetchall_s']:.3f}",
            f"{b['ratio']:.1f}x",
            b["same_frame"],
        )
    return t


def targets(phases: list[dict[str, Any]], books: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by = {p["name"]: p for p in phases}
    bare = by["bare endpoint"]["req_per_s"]
    found = []
    for name in ("single bid", "single bid, large book"):
        p = by[name]
        ratio = p["req_per_s"] / bare
        found.append(
            target_line(
                f"{name}: >= {TARGET_RATIO:.0%} of the bare endpoint's req/s",
                f"{ratio:.0%} ({p['req_per_s']:,.0f} / {bare:,.0f} req/s)",
                ratio >= TARGET_RATIO,
            )
        )
        found.append(
            target_line(
                f"{name}: p99 < {TARGET_P99_MS:g} ms",
                f"p99 {p['p99_ms']:.1f} ms",
                p["p99_ms"] < TARGET_P99_MS,
            )
        )
    for name in ("batch of 1,000, 1 client", "batch of 1,000, concurrent"):
        p = by[name]
        found.append(
            target_line(
                f"{name}: accepted in < {TARGET_BATCH_S:g} s",
                f"p50 {p['p50_ms'] / 1000:.2f} s, p99 {p['p99_ms'] / 1000:.2f} s",
                p["p99_ms"] / 1000 < TARGET_BATCH_S,
            )
        )
    found.extend(
        target_line(
            f"book_frame of {b['bids']:,} bids < {TARGET_BOOK_S:g} s",
            f"{b['book_frame_s']:.2f} s (baseline {b['baseline_s']:.2f} s)",
            b["book_frame_s"] < TARGET_BOOK_S,
        )
        for b in books
        if "insert_s" in b
    )
    return found


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    add_load_arguments(p, seconds=30.0)
    p.add_argument(
        "--book-bids",
        type=int,
        default=100_000,
        help="bids of the book inserted through the store (default %(default)s)",
    )
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--serve-bare", type=int, metavar="PORT", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve_bare:
        serve_bare(args.serve_bare)
        return 0
    console = Console(width=None if sys.stdout.isatty() else 250)
    info = machine()
    console.print(", ".join(f"{k} {v}" for k, v in info.items()))
    rng = random.Random(args.seed)
    phases = (
        Phase("bare endpoint", "bare", batch=False, clients=args.concurrency),
        Phase("single bid", "vba", batch=False, clients=args.concurrency),
        Phase("batch of 1,000, 1 client", "vba", batch=True, clients=1),
        Phase("batch of 1,000, concurrent", "vba", batch=True, clients=args.concurrency),
        # Every submission reads the organisation's live bids: the same load on the
        # book the batches left behind.
        Phase("single bid, large book", "vba", batch=False, clients=args.concurrency),
    )
    results: list[dict[str, Any]] = []
    books: list[dict[str, Any]] = []
    with (
        tempfile.TemporaryDirectory(prefix="vba-intake-") as tmp_name,
        servers_running(Path(tmp_name), console) as (servers, store, db),
    ):
        setup = create_auctions(servers["vba"].url, servers["bare"].url)
        console.print(
            f"auction {setup.auction_id} open until gate close; bidder org {setup.bidder_org}"
        )
        pool = ProcessPoolExecutor(max_workers=args.procs, mp_context=get_context("spawn"))
        with pool:
            for phase in phases:
                console.print(f"running {phase.name} ({phase.clients} clients) ...")
                row = run_phase(phase, setup, servers, store, pool, args, rng)
                results.append(row)
                console.print(
                    f"  {row['req_per_s']:,.1f} req/s, p50 {row['p50_ms']:.1f} ms, "
                    f"p99 {row['p99_ms']:.1f} ms, errors {sum(row['errors'].values())}"
                )
                for key, n in list(row["errors"].items())[:3]:
                    console.print(f"  [red]{n} x[/red] {key}", markup=True, highlight=False)
        server_errors = logged_errors(servers["vba"])
        for line, n in server_errors.items():
            console.print(f"  [red]server log, {n} x[/red] {line}", highlight=False)
        accepted = sum(
            (r["requests"] + r["warmup_requests"]) * (BATCH_SIZE if r["batch"] else 1)
            for r in results
            if r["target"] == "vba"
        )
        console.print(f"the load is over: {accepted:,} bids accepted; loading the books ...")
        books.append(time_book(store, db, setup.auction_id, "after the load"))
        insert_s = insert_book(store, setup, args.book_bids, rng)
        console.print(f"{args.book_bids:,} bids inserted through the store in {insert_s:.2f} s")
        books.append(time_book(store, db, setup.book_auction_id, f"{args.book_bids // 1000}k"))
        books[-1]["insert_s"] = insert_s
        books[0]["accepted_over_http"] = accepted
    console.print(load_table(results, results[0]))
    console.print(book_table(books))
    if books[0]["bids"] != accepted:
        console.print(f"[red]the store holds {books[0]['bids']:,} bids, accepted {accepted:,}[/]")
    found = targets(results, books)
    print_targets(console, found)
    report = {
        "machine": info,
        "args": {k: v for k, v in vars(args).items() if k != "serve_bare"},
        "phases": results,
        "books": books,
        "server_log_errors": server_errors,
        "targets": found,
    }
    console.print(f"figures written to {write_json('intake', report).relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
