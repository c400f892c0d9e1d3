"""``vba serve --workers 2`` over one PostgreSQL store: one scheduler across the workers,
a new leader when the leader is killed, and the races of one server (idempotency keys,
If-Match, the gate) held across processes; a SIGKILL of the whole server loses nothing
acknowledged. SQLite refuses several workers.

Real servers: ``python -m api.cli.main serve`` in a process group of its own (so that a
test can kill the supervisor and its workers at once), JSON logs in a file the tests read.
Deadlines only keep a broken server from hanging the suite; no assertion is on speed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
import polars as pl
import pytest

from api.http.security import hash_password
from auction.store import Store, migrate
from auction.store.accounts import accept_invite, create_invite, create_org
from auction.store.audit import events
from auction.store.sandbox_clock import read_offset, write_offset
from tests.api.conftest import EICS, PASSWORD, bid_body, postgres_schema, postgres_url
from tests.api.test_durability import (
    BIDDER,
    MIN_ACKED,
    MIN_RUN_S,
    OPERATOR,
    REQUEST_TIMEOUT_S,
    SECRET_KEY,
    Bidding,
    bid_loop,
    free_port,
    future_auction,
    login,
    sample_archive,
)

DEADLINE_S = 90.0  # for a server to start, a gate to close, a leader to take over
THREADS = 12


def wait_for(what: str, check: Callable[[], bool], log: Path) -> None:
    """Poll ``check`` until it holds; fail naming ``what`` after DEADLINE_S."""
    deadline = time.monotonic() + DEADLINE_S
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {DEADLINE_S} s\n{log.read_text()[-4000:]}")
        time.sleep(0.1)


@dataclass
class Served:
    """One ``vba serve --workers N``: the supervisor's process and its JSON log."""

    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def lines(self) -> list[dict[str, Any]]:
        lines = self.log.read_text().splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]

    def leaders(self) -> list[int]:
        """The pids that became the scheduler's leader, in order."""
        return [int(r["pid"]) for r in self.lines() if r.get("event") == "scheduler.leader"]

    def kill(self) -> None:
        """SIGKILL the supervisor and every worker (the process group)."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)


class Servers:
    def __init__(self, tmp_path: Path, store_url: str) -> None:
        self.tmp_path = tmp_path
        self.store_url = store_url
        self.started: list[Served] = []

    def start(self, workers: int = 2) -> Served:
        port = free_port()
        log = self.tmp_path / f"server-{len(self.started)}.log"
        env = {
            **os.environ,
            "VBA_DATABASE_URL": self.store_url,
            "VBA_SECRET_KEY": SECRET_KEY,
            "VBA_ENV": "sandbox",
            "VBA_LOG_FORMAT": "json",
        }
        command = [sys.executable, "-m", "api.cli.main", "serve", "--port", str(port)]
        with log.open("wb") as out:
            process = subprocess.Popen(
                [*command, "--workers", str(workers)],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: kill() reaches the workers
            )
        served = Served(process, f"http://127.0.0.1:{port}", log)
        self.started.append(served)

        def ready() -> bool:
            assert process.poll() is None, f"the server exited: {log.read_text()}"
            try:
                return httpx2.get(f"{served.url}/readyz", timeout=2.0).status_code == 200
            except httpx2.TransportError:
                return False

        wait_for("the server answers", ready, log)
        wait_for("a worker leads the scheduler", lambda: bool(served.leaders()), log)
        return served

    def stop_all(self) -> None:
        for served in self.started:
            if served.process.poll() is None:
                os.killpg(served.process.pid, signal.SIGTERM)
                try:
                    served.process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    served.kill()


@dataclass
class World:
    store: Store
    servers: Servers


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    """A PostgreSQL schema with an operator and a bidder organisation, and a server starter."""
    base = postgres_url()
    if base is None:
        pytest.skip("several workers need PostgreSQL: set VBA_TEST_POSTGRES_URL (.ci/run does)")
    with postgres_schema(base) as url:
        store = Store(url)
        migrate(store)
        now = datetime.now(UTC)
        with store.write() as conn:
            for name, email, role, eic in (
                ("Operator", OPERATOR, "operator", EICS[0]),
                ("Alpha Trading", BIDDER, "bidder", EICS[1]),
            ):
                org = create_org(conn, name, eic, EICS[0], now)
                token = create_invite(conn, email, org.org_id, role, now, timedelta(hours=1))
                accept_invite(conn, token, hash_password(PASSWORD), now)
        servers = Servers(tmp_path, url)
        try:
            yield World(store, servers)
        finally:
            servers.stop_all()
            store.dispose()


@dataclass
class Market:
    operator: dict[str, str]
    bidder: dict[str, str]
    org_id: str


def open_auctions(url: str, gates: dict[str, timedelta]) -> Market:
    """The sample's fleet, and one open auction per id, closing that long from now."""
    archive = sample_archive()
    with httpx2.Client(base_url=url, timeout=REQUEST_TIMEOUT_S) as client:
        operator, bidder = login(client, OPERATOR), login(client, BIDDER)
        org_id = client.get("/auth/me", headers=bidder).json()["org_id"]
        fleet = {"assets": archive.fleet.to_dicts()}
        assert client.put("/fleet/assets", headers=operator, json=fleet).status_code == 200
        now = datetime.fromisoformat(client.get("/sandbox/clock", headers=operator).json()["now"])
        for auction_id, after in gates.items():
            body = future_auction(archive, now)
            gate = now + after
            body["auction"].update(
                auction_id=auction_id,
                gate_close=gate.isoformat(),
                publish_at=(gate + timedelta(hours=2)).isoformat(),
            )
            answer = client.post("/auctions", headers=operator, json=body)
            assert answer.status_code == 201, answer.text
            answer = client.post(f"/auctions/{auction_id}/open", headers=operator)
            assert answer.status_code == 200, answer.text
    return Market(operator, bidder, org_id)


def move_offset(store: Store, by: timedelta) -> None:
    """Move the sandbox's time in the store itself: no request catches up on the work, so
    the scheduler (whichever worker leads) has to."""
    with store.write() as conn:
        write_offset(conn, read_offset(conn, lock=True) + by)


def status(url: str, market: Market, auction_id: str) -> str:
    answer = httpx2.get(f"{url}/auctions/{auction_id}", headers=market.operator, timeout=10)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["status"])


def closes(store: Store, auction_id: str) -> list[dict[str, Any]]:
    """The audit trail's gate closings of the auction."""
    with store.read() as conn:
        trail = events(conn, f"auction/{auction_id}")
    return [e for e in trail if e["action"] == "auction.close"]


def test_one_worker_runs_the_scheduler_and_another_takes_over_when_it_is_killed(
    world: World,
) -> None:
    served = world.servers.start(workers=2)
    market = open_auctions(served.url, {"first": timedelta(hours=1), "second": timedelta(hours=2)})
    [leader] = served.leaders()  # one worker leads; the other never did

    move_offset(world.store, timedelta(hours=1, minutes=1))
    wait_for(
        "the leader closes the first gate", lambda: closes(world.store, "first") != [], served.log
    )
    assert status(served.url, market, "first") == "closed"
    assert status(served.url, market, "second") == "open"

    os.kill(leader, signal.SIGKILL)  # the worker, not the supervisor
    wait_for("another worker leads", lambda: served.leaders()[-1] != leader, served.log)
    assert served.process.poll() is None, "the supervisor lives on"
    move_offset(world.store, timedelta(hours=1))
    wait_for(
        "the new leader closes the second gate",
        lambda: closes(world.store, "second") != [],
        served.log,
    )

    # Each gate closed once, by the system, in the trail and in the logs.
    assert len(closes(world.store, "first")) == 1
    assert len(closes(world.store, "second")) == 1
    assert {e["actor"] for e in closes(world.store, "first") + closes(world.store, "second")} == {
        "system"
    }
    closed = [r["auction_id"] for r in served.lines() if r.get("event") == "auction.gate_closed"]
    assert sorted(closed) == ["first", "second"]


def test_races_hold_across_two_workers(world: World) -> None:
    """Many threads (so both workers) send the same Idempotency-Key, the same If-Match,
    and bids while the gate closes: one stored, one winner, none after the gate."""
    served = world.servers.start(workers=2)
    market = open_auctions(served.url, {"race": timedelta(hours=1)})
    rows = sample_archive().bids.filter(pl.col("linked_to").is_null()).to_dicts()
    body = bid_body(rows[0], exclusive_group=None)
    path = f"/organisations/{market.org_id}/auctions/race/bids"
    clients = [
        httpx2.Client(base_url=served.url, headers=market.bidder, timeout=REQUEST_TIMEOUT_S)
        for _ in range(THREADS)
    ]
    try:
        with ThreadPoolExecutor(THREADS) as pool:
            # One Idempotency-Key from every thread: one bid, every answer the same.
            key = {"Idempotency-Key": f"order-{uuid.uuid4()}"}
            answers = list(pool.map(lambda c: c.post(path, json=body, headers=key), clients))
            assert {a.status_code for a in answers} == {201}, [a.text for a in answers]
            assert len({a.json()["bid_id"] for a in answers}) == 1
            [stored] = clients[0].get(path).json()["items"]
            assert stored["bid_id"] == answers[0].json()["bid_id"]

            # The same again with the bid's id in the body: retries wait for the first.
            keyed = {**body, "bid_id": str(uuid.uuid4())}
            key = {"Idempotency-Key": f"order-{uuid.uuid4()}"}
            answers = list(pool.map(lambda c: c.post(path, json=keyed, headers=key), clients))
            assert {a.status_code for a in answers} == {201}, [a.text for a in answers]
            assert {a.json()["bid_id"] for a in answers} == {keyed["bid_id"]}

            # One new bid id from every thread, no key: one stored, every other one a 409
            # (submissions run side by side; they meet at the id's unique index).
            same = {**body, "bid_id": str(uuid.uuid4())}
            answers = list(pool.map(lambda c: c.post(path, json=same), clients))
            codes = sorted(a.status_code for a in answers)
            assert codes == [201] + [409] * (THREADS - 1), [a.text for a in answers]
            assert all("already used" in a.json()["detail"] for a in answers[1:] if a.is_error)

            # One If-Match version from every thread: one amendment wins, the rest get 412.
            url = f"{path}/{stored['bid_id']}"
            match = {"If-Match": '"1"'}

            def amend(i: int) -> int:
                changed = {**body, "price_eur_per_mw": 100 + i}
                return clients[i].put(url, json=changed, headers=match).status_code

            codes = list(pool.map(amend, range(THREADS)))
            assert sorted(codes) == [200] + [412] * (THREADS - 1)
            assert clients[0].get(url).json()["version"] == 2

            # Bids from every thread while the scheduler closes the gate.
            stop = threading.Event()
            acked: list[str] = []
            lock = threading.Lock()

            def bid_until_refused(client: httpx2.Client) -> None:
                while not stop.is_set():
                    answer = client.post(path, json=body)
                    if answer.status_code == 201:
                        with lock:
                            acked.append(answer.json()["bid_id"])
                    else:
                        assert answer.status_code == 409, answer.text  # the gate is closed
                        return

            running = [pool.submit(bid_until_refused, c) for c in clients]
            wait_for("bids are acknowledged", lambda: len(acked) >= THREADS, served.log)
            move_offset(world.store, timedelta(hours=1, minutes=1))
            wait_for("the gate closes", lambda: closes(world.store, "race") != [], served.log)
            wait_for("every thread was refused", lambda: all(f.done() for f in running), served.log)
            stop.set()
            for future in running:
                future.result()
    finally:
        for client in clients:
            client.close()

    items = httpx2.get(f"{served.url}{path}", headers=market.bidder, timeout=10).json()["items"]
    gate = datetime.fromisoformat(
        httpx2.get(f"{served.url}/auctions/race", headers=market.operator, timeout=10).json()[
            "gate_close"
        ]
    )
    assert {b["bid_id"] for b in items} == {
        stored["bid_id"],
        keyed["bid_id"],
        same["bid_id"],
        *acked,
    }
    assert all(datetime.fromisoformat(b["submitted_at"]) < gate for b in items)
    assert len(closes(world.store, "race")) == 1


def test_acknowledged_bids_survive_a_sigkill_of_every_worker(world: World) -> None:
    """The durability test of test_durability.py over 2 workers on PostgreSQL: the whole
    server (supervisor and workers) killed mid-stream, a new one started on the store."""
    first = world.servers.start(workers=2)
    market = open_auctions(first.url, {"durable": timedelta(hours=1)})
    rows = sample_archive().bids.filter(pl.col("linked_to").is_null()).to_dicts()
    bodies = [bid_body(row, exclusive_group=None) for row in rows]
    path = f"/organisations/{market.org_id}/auctions/durable/bids"
    streams = [Bidding() for _ in range(4)]  # several connections: both workers take bids
    threads = [
        threading.Thread(
            target=bid_loop, args=(first.url, path, market.bidder, bodies, out), daemon=True
        )
        for out in streams
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()

    def enough() -> bool:
        acked = sum(len(s.acked) for s in streams)
        return acked >= MIN_ACKED and time.monotonic() - started >= MIN_RUN_S

    wait_for("bids are acknowledged", enough, first.log)
    first.kill()
    for thread in threads:
        thread.join(timeout=3 * REQUEST_TIMEOUT_S)
        assert not thread.is_alive(), "the client noticed the kill"
    for stream in streams:
        assert stream.error is None, repr(stream.error)
    acked = set().union(*(s.acked for s in streams))
    sent = {k: v for s in streams for k, v in s.sent.items()}
    refused = set().union(*(s.refused for s in streams))

    second = world.servers.start(workers=2)
    answer = httpx2.get(f"{second.url}{path}", headers=market.bidder, timeout=REQUEST_TIMEOUT_S)
    assert answer.status_code == 200, answer.text
    stored = {bid["bid_id"]: bid for bid in answer.json()["items"]}
    assert acked <= stored.keys(), "every acknowledged bid survived the kill"
    assert stored.keys() <= sent.keys(), "every stored bid was sent"
    assert not stored.keys() & refused, "a refused bid changed nothing"
    for bid_id, bid in stored.items():
        assert (bid["version"], bid["product_id"]) == (1, sent[bid_id]["product_id"])
        assert bid["price_eur_per_mw"] == sent[bid_id]["price_eur_per_mw"]


def test_sqlite_refuses_several_workers(tmp_path: Path) -> None:
    env = {**os.environ, "VBA_DATABASE_URL": f"sqlite:///{tmp_path / 'vba.db'}"}
    command = [sys.executable, "-m", "api.cli.main", "serve", "--workers", "2"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "--workers 2 needs a PostgreSQL store" in " ".join(done.stdout.split())
    assert not (tmp_path / "vba.db").exists(), "refused before opening the store"
