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
import importlib.metadata
import json
import math
import os
import platform
import random
import re
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from multiprocessing import get_context
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx2
from rich.console import Console
from rich.table import Table

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# The checkout on sys.path and benchmarks/ off it (`python benchmarks/bench_X.py` puts it
# first): the packages and benchmarks.common import from this checkout, installed or not.
# Spawned children inherit the path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT))

from benchmarks.common import cpu_name  # noqa: E402

RESULTS_DIR = HERE / "results"
HOST = "127.0.0.1"
SECRET_KEY = "intake-benchmark-secret-key-0123456789abcdef"
PASSWORD = "correct horse battery staple"
TSO_ZONE = "10YDE-EON------1"
EIC_OPERATOR = "10YDE-RWENET---I"
EIC_BIDDER = "10YDE-VE-------2"
BATCH_SIZE = 1_000
WARMUP_S = 2.0
BOOK_REPEATS = 3
INSERT_CHUNK = 10_000  # insert_bids asks SQLite about every id at once: stay < 32,766 vars

# Targets of the issue (SQLite, a 2-core machine).
TARGET_RATIO = 0.30  # single-bid req/s over the bare endpoint's req/s
TARGET_P99_MS = 50.0  # single-bid p99
TARGET_BATCH_S = 1.0  # one batch of 1,000 bids accepted
TARGET_BOOK_S = 2.0  # book_frame of 100k bids


# --------------------------------------------------------------------------- servers


def serve_bare(port: int) -> None:
    """The bare app: one POST that does no work, served as ``vba serve`` serves the API.

    A plain ``def`` like the bid route, so it runs in the same threadpool; it does not
    read the body, so the difference to the bid route is all our work.
    """
    import uvicorn
    from fastapi import FastAPI

    app = FastAPI()

    @app.post("/noop", status_code=201)
    def noop() -> dict[str, str]:
        return {"status": "ok"}

    uvicorn.run(app, host=HOST, port=port, log_level="warning")


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    name: str
    proc: subprocess.Popen[bytes]
    url: str
    log: Path


def start_server(name: str, cmd: list[str], env: dict[str, str], port: int, tmp: Path) -> Server:
    log = tmp / f"{name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=tmp)
    return Server(name, proc, f"http://{HOST}:{port}", log)


def wait_ready(server: Server, timeout_s: float = 60.0) -> None:
    """Until the server answers /openapi.json; raise with its log if it died or hung."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            break
        try:
            if httpx2.get(server.url + "/openapi.json", timeout=2).status_code == 200:
                return
        except httpx2.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{server.name} did not start:\n{server.log.read_text()[-3000:]}")


def stop(server: Server) -> None:
    if server.proc.poll() is None:
        server.proc.terminate()
        try:
            server.proc.wait(10)
        except subprocess.TimeoutExpired:
            server.proc.kill()
            server.proc.wait(10)


def busy_s() -> tuple[float, float]:
    """CPU seconds the machine's cores have been busy so far, and stolen by the hypervisor
    (a VM's vCPU waiting for the host), from Linux /proc/stat; zeros elsewhere."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return 0.0, 0.0
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    tick = os.sysconf("SC_CLK_TCK")
    return (user + nice + system + irq + softirq) / tick, steal / tick


def logged_errors(server: Server) -> dict[str, int]:
    """The exception lines of the tracebacks the server logged (a 500 logs one), counted."""
    found: dict[str, int] = {}
    for line in server.log.read_text(errors="replace").splitlines():
        if re.match(r"^[\w.]+(Error|Exception|Exit)\b", line):
            found[line[:300]] = found.get(line[:300], 0) + 1
    return found


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --------------------------------------------------------------------------- set-up


@dataclass
class Setup:
    """What the load needs: where to send what, with which token."""

    vba: str
    bare: str
    bidder_org: str
    bidder_token: str
    operator_token: str
    auction_id: str
    book_auction_id: str
    bid_rows: list[dict[str, Any]] = field(default_factory=list)
    products: list[dict[str, Any]] = field(default_factory=list)


def provision(store: Any) -> None:
    """An operator org and a bidder org, one user each, straight through the store."""
    from api.http.security import hash_password
    from auction.store.accounts import accept_invite, create_invite, create_org

    now = datetime.now(UTC)
    with store.write() as conn:
        for name, eic, role in (
            ("Intake Operator", EIC_OPERATOR, "operator"),
            ("Intake Bidder", EIC_BIDDER, "bidder"),
        ):
            org = create_org(conn, name, eic, TSO_ZONE, now)
            email = f"{role}@intake.example.com"
            token = create_invite(conn, email, org.org_id, role, now, timedelta(hours=1))
            accept_invite(conn, token, hash_password(PASSWORD), now)


def _login(client: httpx2.Client, email: str) -> str:
    answer = client.post(
        "/auth/public/authenticate", json={"username": email, "password": PASSWORD}
    )
    answer.raise_for_status()
    return str(answer.json()["access_token"])


def _checked(answer: httpx2.Response, status: int) -> dict[str, Any]:
    if answer.status_code != status:
        raise RuntimeError(f"{answer.request.method} {answer.request.url}: {answer.text[:2000]}")
    result: dict[str, Any] = answer.json()
    return result


def _shift(value: datetime, days: int, tz: ZoneInfo) -> str:
    """The same local wall time ``days`` later (so DAY products still span the local day)."""
    local = value.astimezone(tz).replace(tzinfo=None) + timedelta(days=days)
    return local.replace(tzinfo=tz).isoformat()


def create_auctions(vba: str, bare: str) -> Setup:
    """The sample fleet and two auctions of the sample's products, three days ahead."""
    from auction.archive import read_archive
    from auction.sample import sample_dir

    archive = read_archive(sample_dir())
    tz = ZoneInfo(archive.config.time_zone)
    now = datetime.now(UTC)
    day = now.astimezone(tz).date() + timedelta(days=3)
    shift = (day - archive.config.delivery_day).days
    products = [
        {
            **p,
            "start": _shift(p["start"], shift, tz),
            "end": _shift(p["end"], shift, tz),
        }
        for p in archive.products.to_dicts()
    ]
    gate_close = now + timedelta(hours=2)
    with httpx2.Client(base_url=vba, timeout=60) as client:
        operator = _login(client, "operator@intake.example.com")
        bidder = _login(client, "bidder@intake.example.com")
        headers = {"Authorization": f"Bearer {operator}"}
        fleet = {"assets": archive.fleet.to_dicts()}
        _checked(client.put("/fleet/assets", headers=headers, json=fleet), 200)
        ids = []
        for auction_id in ("intake", "intake-book-100k"):
            config = {
                **archive.config.model_dump(mode="json"),
                "auction_id": auction_id,
                "delivery_day": day.isoformat(),
                "gate_open": (now - timedelta(minutes=5)).isoformat(),
                "gate_close": gate_close.isoformat(),
                "publish_at": (gate_close + timedelta(hours=1)).isoformat(),
            }
            body = {"auction": config, "products": products}
            ids.append(_checked(client.post("/auctions", headers=headers, json=body), 201))
        _checked(client.post("/auctions/intake/open", headers=headers), 200)
        me = _checked(client.get("/auth/me", headers={"Authorization": f"Bearer {bidder}"}), 200)
    keys = ("product_id", "quantity_mw", "min_quantity_mw", "price_eur_per_mw", "exclusive_group")
    rows = [{k: b[k] for k in keys} for b in archive.bids.to_dicts()]
    return Setup(
        vba=vba,
        bare=bare,
        bidder_org=me["org_id"],
        bidder_token=bidder,
        operator_token=operator,
        auction_id=ids[0]["auction_id"],
        book_auction_id=ids[1]["auction_id"],
        bid_rows=rows,
        products=products,
    )


def bid_bodies(rows: list[dict[str, Any]], n: int, rng: random.Random) -> list[dict[str, Any]]:
    """``n`` valid bids: sample rows (products, quantities, groups) at random prices."""
    return [
        {**rng.choice(rows), "price_eur_per_mw": rng.randint(0, 50_000) / 100} for _ in range(n)
    ]


# --------------------------------------------------------------------------- load


@dataclass(frozen=True)
class Job:
    """One client process: ``threads`` clients, each one keep-alive connection."""

    url: str
    path: str
    token: str
    bodies: tuple[bytes, ...]
    threads: int
    start_at: float  # time.time() of the measured window's start, the same for all
    seconds: float
    warmup_s: float


def drive(job: Job) -> dict[str, Any]:
    """Run one client process's threads; latencies of the measured window, 2xx only."""
    lock = threading.Lock()
    out: dict[str, Any] = {"latencies": [], "ends": [], "warm_ok": 0, "errors": {}}
    end_at = job.start_at + job.seconds
    headers = {"Authorization": f"Bearer {job.token}", "Content-Type": "application/json"}

    def client(k: int) -> None:
        latencies: list[float] = []
        last_end = job.start_at
        warm_ok = 0
        errors: dict[str, int] = {}
        i = k
        with httpx2.Client(base_url=job.url, headers=headers, timeout=300) as http:
            time.sleep(max(0.0, job.start_at - job.warmup_s - time.time()))
            while True:
                started = time.time()
                if started >= end_at:
                    break
                t0 = time.perf_counter()
                try:
                    answer = http.post(job.path, content=job.bodies[i % len(job.bodies)])
                except httpx2.TransportError as exc:  # counted; the client reconnects
                    key = f"transport {type(exc).__name__}: {exc}"
                    errors[key] = errors.get(key, 0) + 1
                    continue
                elapsed = time.perf_counter() - t0
                i += job.threads
                if not answer.is_success:
                    key = f"{answer.status_code} {answer.text[:200]}"
                    errors[key] = errors.get(key, 0) + 1
                elif started < job.start_at:
                    warm_ok += 1
                else:
                    latencies.append(elapsed)
                    last_end = time.time()
        with lock:
            out["latencies"].extend(latencies)
            out["ends"].append(last_end)
            out["warm_ok"] += warm_ok
            for key, n in errors.items():
                out["errors"][key] = out["errors"].get(key, 0) + n

    def meter() -> None:
        # This process's CPU over the measured window exactly, warm-up excluded.
        time.sleep(max(0.0, job.start_at - time.time()))
        cpu0 = time.process_time()
        time.sleep(max(0.0, end_at - time.time()))
        out["client_cpu_s"] = time.process_time() - cpu0

    threads = [threading.Thread(target=client, args=(k,)) for k in range(job.threads)]
    threads.append(threading.Thread(target=meter))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


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
        "p50_ms": _pct(latencies, 0.50) * 1000,
        "p90_ms": _pct(latencies, 0.90) * 1000,
        "p99_ms": _pct(latencies, 0.99) * 1000,
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


def _pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile of sorted ``values`` (NaN when empty)."""
    if not values:
        return math.nan
    return values[min(len(values) - 1, max(0, math.ceil(q * len(values)) - 1))]


# --------------------------------------------------------------------------- book loading


def _median_time(fn: Callable[[], Any], repeats: int = BOOK_REPEATS) -> tuple[float, Any]:
    times = []
    result = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def insert_book(store: Any, setup: Setup, n_bids: int, rng: random.Random) -> float:
    """``n_bids`` bids of the bidder in the second auction, in one transaction; seconds."""
    from auction.bidding import BidRow
    from auction.store.accounts import new_id
    from auction.store.bids import insert_bids
    from auction.store.schema import users

    bodies = bid_bodies(setup.bid_rows, n_bids, rng)
    rows = [
        BidRow(
            bid_id=new_id(),
            product_id=b["product_id"],
            quantity_kw=round(b["quantity_mw"] * 1000),
            min_quantity_kw=None
            if b["min_quantity_mw"] is None
            else round(b["min_quantity_mw"] * 1000),
            price_cents=round(b["price_eur_per_mw"] * 100),
            exclusive_group=b["exclusive_group"],
            linked_to=None,
        )
        for b in bodies
    ]
    with store.read() as conn:
        user_id = conn.execute(users.select().where(users.c.org_id == setup.bidder_org)).first()
    assert user_id is not None
    t0 = time.perf_counter()
    with store.write() as conn:
        for k in range(0, len(rows), INSERT_CHUNK):
            chunk = rows[k : k + INSERT_CHUNK]
            insert_bids(
                conn,
                setup.book_auction_id,
                setup.bidder_org,
                chunk,
                user_id.user_id,
                datetime.now(UTC),
            )
    return time.perf_counter() - t0


_RAW_QUERY = (
    "SELECT bid_id, org_id, product_id, quantity_kw, min_quantity_kw, price_cents, "
    "submitted_at, exclusive_group, linked_to FROM bids WHERE auction_id = ?"
)


def raw_book(db: Path, auction_id: str) -> tuple[Any, float]:
    """The baseline: a raw sqlite3 fetchall into polars, converted in polars to ``BIDS``.

    Returns the frame and the seconds of the fetchall alone.
    """
    import polars as pl

    from auction.book import BIDS

    conn = sqlite3.connect(db)
    try:
        t0 = time.perf_counter()
        rows = conn.execute(_RAW_QUERY, (auction_id,)).fetchall()
        fetch_s = time.perf_counter() - t0
    finally:
        conn.close()
    names = [c.strip().split()[-1] for c in _RAW_QUERY.split("FROM")[0][6:].split(",")]
    types = [pl.String] * 3 + [pl.Int64] * 3 + [pl.String] * 3
    frame = pl.DataFrame(rows, schema=dict(zip(names, types, strict=True)), orient="row")

    def divided(name: str, by: float) -> pl.Series:
        # A true division in numpy: polars' own multiplies by the reciprocal (an ulp off).
        values = frame[name].cast(pl.Float64).to_numpy() / by
        return pl.Series(name, values, dtype=pl.Float64, nan_to_null=True)

    frame = frame.with_columns(
        divided("quantity_kw", 1000.0).alias("quantity_mw"),
        divided("min_quantity_kw", 1000.0).alias("min_quantity_mw"),
        divided("price_cents", 100.0).alias("price_eur_per_mw"),
        pl.col("submitted_at")
        .str.to_datetime("%Y-%m-%d %H:%M:%S%.f", time_unit="us")
        .dt.replace_time_zone("UTC"),
    ).select(BIDS.names())
    frame = frame.cast(BIDS)
    return frame, fetch_s


def time_book(store: Any, db: Path, auction_id: str, name: str) -> dict[str, Any]:
    """book_frame and load_archive on one auction, next to the raw baseline on the same rows."""
    from auction.store.bids import book_frame
    from auction.store.book import load_archive

    def ours() -> Any:
        with store.read() as conn:
            return book_frame(conn, auction_id)

    def archive() -> Any:
        with store.read() as conn:
            return load_archive(conn, auction_id)

    book_s, frame = _median_time(ours)
    archive_s, _ = _median_time(archive)
    fetches: list[float] = []

    def baseline() -> Any:
        result, fetch_s = raw_book(db, auction_id)
        fetches.append(fetch_s)
        return result

    base_s, base = _median_time(baseline)
    same = _same(frame.sort("bid_id"), base.sort("bid_id"))
    return {
        "book": name,
        "auction_id": auction_id,
        "bids": frame.height,
        "book_frame_s": book_s,
        "load_archive_s": archive_s,
        "baseline_s": base_s,
        "baseline_fetchall_s": statistics.median(fetches),
        "ratio": book_s / base_s if base_s > 0 else math.nan,
        "same_frame": same,
    }


def _same(ours: Any, base: Any) -> str:
    """Whether our frame and the baseline's hold the same values: "yes", "to 1e-12", "NO"."""
    from polars.testing import assert_frame_equal

    if ours.equals(base):
        return "yes"
    try:
        assert_frame_equal(ours, base, rel_tol=1e-12, abs_tol=0)
    except AssertionError:
        return "NO"
    return "to 1e-12"


# --------------------------------------------------------------------------- report


def machine() -> dict[str, Any]:
    packages = ("fastapi", "uvicorn", "starlette", "sqlalchemy", "pydantic", "polars", "httpx2")
    return {
        "date": datetime.now(UTC).astimezone().isoformat(timespec="seconds"),
        "nproc": len(os.sched_getaffinity(0)),
        "cpu": cpu_name(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        **{p: importlib.metadata.version(p) for p in packages},
    }


def _ms(x: float | None) -> str:
    return "-" if x is None or math.isnan(x) else f"{x:,.1f}"


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
            _ms(r["p50_ms"]),
            _ms(r["p90_ms"]),
            _ms(r["p99_ms"]),
            _ms(r["max_ms"]),
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
            _target(
                f"{name}: >= {TARGET_RATIO:.0%} of the bare endpoint's req/s",
                f"{ratio:.0%} ({p['req_per_s']:,.0f} / {bare:,.0f} req/s)",
                ratio >= TARGET_RATIO,
            )
        )
        found.append(
            _target(
                f"{name}: p99 < {TARGET_P99_MS:g} ms",
                f"p99 {p['p99_ms']:.1f} ms",
                p["p99_ms"] < TARGET_P99_MS,
            )
        )
    for name in ("batch of 1,000, 1 client", "batch of 1,000, concurrent"):
        p = by[name]
        found.append(
            _target(
                f"{name}: accepted in < {TARGET_BATCH_S:g} s",
                f"p50 {p['p50_ms'] / 1000:.2f} s, p99 {p['p99_ms'] / 1000:.2f} s",
                p["p99_ms"] / 1000 < TARGET_BATCH_S,
            )
        )
    found.extend(
        _target(
            f"book_frame of {b['bids']:,} bids < {TARGET_BOOK_S:g} s",
            f"{b['book_frame_s']:.2f} s (baseline {b['baseline_s']:.2f} s)",
            b["book_frame_s"] < TARGET_BOOK_S,
        )
        for b in books
        if "insert_s" in b
    )
    return found


def _target(name: str, figure: str, met: bool) -> dict[str, Any]:
    return {"target": name, "figure": figure, "met": bool(met)}


def print_targets(console: Console, found: list[dict[str, Any]]) -> None:
    for t in found:
        mark = "[green]    met[/green]" if t["met"] else "[red]not met[/red]"
        console.print(f"  {mark}  {t['target']}: {t['figure']}")


def write_json(report: dict[str, Any]) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"intake-{report['machine']['date'][:10]}.json"
    path.write_text(json.dumps(_rounded(report), indent=1) + "\n")
    return path


def _rounded(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    if isinstance(value, float):
        return None if math.isnan(value) else float(f"{value:.4g}")
    return value


# --------------------------------------------------------------------------- main


@contextmanager
def servers_running(tmp: Path, console: Console) -> Iterator[tuple[dict[str, Server], Any, Path]]:
    """A fresh store with two accounts, ``vba serve`` over it and the bare app; both are
    stopped on the way out, whatever happens."""
    from auction.store import Store, migrate

    db = tmp / "vba.db"
    url = f"sqlite:///{db}"
    store = Store(url)
    migrate(store)
    provision(store)
    env = {
        **os.environ,
        "VBA_DATABASE_URL": url,
        "VBA_SECRET_KEY": SECRET_KEY,
        "VBA_ENV": "sandbox",
    }
    vba_port, bare_port = free_port(), free_port()
    vba_cmd = [str(Path(sys.executable).with_name("vba")), "serve", "--host", HOST]
    bare_cmd = [sys.executable, str(Path(__file__).resolve()), "--serve-bare", str(bare_port)]
    servers: dict[str, Server] = {}
    try:
        servers["vba"] = start_server(
            "vba", [*vba_cmd, "--port", str(vba_port)], env, vba_port, tmp
        )
        servers["bare"] = start_server("bare", bare_cmd, env, bare_port, tmp)
        for server in servers.values():
            wait_ready(server)
            console.print(f"{server.name} server up at {server.url}, pid {server.proc.pid}")
        yield servers, store, db
    finally:
        for server in servers.values():
            stop(server)
        store.dispose()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--seconds", type=float, default=30.0, help="per phase (default %(default)s)")
    p.add_argument(
        "--concurrency", type=int, default=8, help="clients at once (default %(default)s)"
    )
    p.add_argument(
        "--procs",
        type=int,
        default=2,
        help="client processes sharing the clients, each with its own GIL (default %(default)s)",
    )
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
    console.print(f"figures written to {write_json(report).relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
