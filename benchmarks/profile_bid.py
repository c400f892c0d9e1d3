"""Where a single bid POST's server CPU goes: py-spy over a real ``vba serve``.

    python benchmarks/profile_bid.py [--seconds 15] [--concurrency 8] [--rate 250]

Starts ``vba serve`` on a fresh SQLite store (as bench_intake.py does), opens the intake
auction, then drives single bids with ``--concurrency`` clients while ``py-spy record``
samples the server (on-CPU samples only, all threads). Prints the share of the samples
by where they are spent (SQLAlchemy, sqlite3, pydantic, FastAPI/Starlette, the rules…),
and the heaviest frames of our own code. Needs py-spy (``pip install py-spy``) and the
right to ptrace the server. Figures only. See benchmarks/README.md, "Issue 18".
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT))

import httpx2  # noqa: E402

from benchmarks.http_load import (  # noqa: E402
    HOST,
    SECRET_KEY,
    free_port,
    provision,
    start_server,
    stop,
    wait_ready,
)
from benchmarks.intake_setup import bid_bodies, create_auctions  # noqa: E402

# The first matching rule names a sample's leaf: frames are searched from the leaf up.
CATEGORIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("COMMIT (the fsync: waiting, not CPU)", ("do_commit (",)),
    ("sqlite3 statements (C, below SQLAlchemy's execute)", ("do_execute (", "do_executemany (")),
    ("SQLAlchemy", ("sqlalchemy/",)),
    ("pydantic", ("pydantic", "pydantic_core")),
    ("json", ("json/",)),
    ("logging", ("logging/",)),
    ("prometheus_client", ("prometheus_client/",)),
    ("jwt / crypto", ("jwt/", "cryptography/", "hmac", "hashlib")),
    ("FastAPI", ("fastapi/",)),
    ("threads (GIL handoff, thread pool)", ("threading.py", "concurrent/")),
    ("Starlette", ("starlette/",)),
    ("uvicorn / h11 / asyncio / anyio", ("uvicorn/", "h11/", "asyncio/", "anyio/", "uvloop")),
    ("our code (api/, auction/)", ("(api/", "(auction/")),
)


def category(stack: list[str]) -> str:
    for frame in reversed(stack):
        if frame.startswith("Runner.run ("):
            return "event loop (uvloop C: sockets, scheduling)"
        for name, marks in CATEGORIES:
            if any(m in frame for m in marks):
                return name
    return "other"


def our_frames(stack: list[str]) -> set[str]:
    """The functions of this checkout's api/ and auction/ code on the stack (inclusive)."""
    found = set()
    for frame in stack:
        name, _, where = frame.partition(" (")
        if where.startswith(("api/", "auction/")) and not where.startswith("api/cli/"):
            found.add(f"{name} ({where.rsplit(':', 1)[0]})")
    return found


def drive(url: str, path: str, token: str, bodies: list[bytes], stop_at: float) -> int:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    sent = 0
    with httpx2.Client(base_url=url, headers=headers, timeout=60) as http:
        while time.time() < stop_at:
            answer = http.post(path, content=bodies[sent % len(bodies)])
            if answer.status_code != 201:
                raise RuntimeError(answer.text[:500])
            sent += 1
    return sent


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--seconds", type=float, default=15.0)
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--rate", type=int, default=250, help="py-spy samples per second")
    p.add_argument("--raw", type=Path, help="keep py-spy's raw (collapsed) stacks here")
    args = p.parse_args()
    from auction.store import Store, migrate

    with tempfile.TemporaryDirectory(prefix="vba-profile-") as tmp_name:
        tmp = Path(tmp_name)
        url = f"sqlite:///{tmp / 'vba.db'}"
        store = Store(url)
        migrate(store)
        provision(store)
        store.dispose()
        env = {**os.environ, "VBA_DATABASE_URL": url, "VBA_SECRET_KEY": SECRET_KEY}
        env["VBA_ENV"] = "sandbox"
        port = free_port()
        cmd = [sys.executable, "-m", "api.cli.main", "serve", "--host", HOST, "--port", str(port)]
        env["PYTHONPATH"] = str(ROOT)
        server = start_server("vba", cmd, env, port, tmp)
        try:
            wait_ready(server)
            setup = create_auctions(server.url, server.url)
            path = f"/organisations/{setup.bidder_org}/auctions/{setup.auction_id}/bids"
            rng = random.Random(7)
            bodies = [json.dumps(b).encode() for b in bid_bodies(setup.bid_rows, 1000, rng)]
            raw = args.raw or tmp / "profile.txt"
            spy = subprocess.Popen(
                [
                    str(Path(sys.executable).with_name("py-spy")),
                    *("record", "--pid", str(server.proc.pid), "--format", "raw"),
                    *("--rate", str(args.rate), "--duration", str(int(args.seconds))),
                    *("--threads", "--nonblocking", "-o", str(raw)),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            stop_at = time.time() + args.seconds
            counts = [0] * args.concurrency
            share = [bodies[k :: args.concurrency] for k in range(args.concurrency)]

            def run(k: int) -> None:
                counts[k] = drive(server.url, path, setup.bidder_token, share[k], stop_at)

            threads = [threading.Thread(target=run, args=(k,)) for k in range(args.concurrency)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            spy.wait(60)
            report(raw, sum(counts), args.seconds, args.rate)
        finally:
            stop(server)
    return 0


def report(raw: Path, requests: int, seconds: float, rate: int) -> None:
    by_category: Counter[str] = Counter()
    by_ours: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack_text, _, n_text = line.rpartition(" ")
        stack = stack_text.split(";")
        n = int(n_text)
        total += n
        by_category[category(stack)] += n
        for ours in our_frames(stack):
            by_ours[ours] += n
    cpu_ms = total / rate * 1000
    print(f"{requests} bids in {seconds:.0f} s ({requests / seconds:.0f} req/s)")
    print(f"{total} on-CPU samples at {rate}/s: {cpu_ms / requests:.2f} ms server CPU per bid")
    print("\nby leaf library (share of on-CPU samples, ms per bid):")
    for name, n in by_category.most_common():
        print(f"  {n / total:6.1%} {n / rate * 1000 / requests:6.2f} ms  {name}")
    print("\nour functions, inclusive (top 30):")
    for frame, n in by_ours.most_common(30):
        print(f"  {n / total:6.1%}  {frame}")


if __name__ == "__main__":
    sys.exit(main())
