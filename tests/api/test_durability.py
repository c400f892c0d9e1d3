"""A real server killed with SIGKILL while it takes bids loses no acknowledged bid.

``vba serve`` runs as a subprocess over a SQLite file; a client thread submits bids one
by one with its own bid ids; the server is killed mid-stream and restarted on the same
file. Every bid answered 2xx must be there, and nothing that was never sent.
"""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx2
import polars as pl
import pytest

from api.http.security import hash_password
from auction.model import Archive
from auction.store import Store, migrate
from auction.store.accounts import accept_invite, create_invite, create_org
from tests.api.conftest import EICS, PASSWORD, bid_body, sample_archive

SECRET_KEY = "a fixed test secret, long enough to sign tokens!"
OPERATOR = "operator@example.com"
BIDDER = "trader@example.com"
MAX_BIDS = 3000  # the client's loop never sends more
MIN_ACKED = 50  # acknowledged bids before the kill ...
MIN_RUN_S = 1.0  # ... and at least this long
START_TRIES = 300  # polls of a starting server, 0.1 s apart
REQUEST_TIMEOUT_S = 10.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    """One ``vba serve`` process on 127.0.0.1."""

    process: subprocess.Popen[bytes]
    url: str


class Servers:
    """Starts servers over one SQLite file and makes sure none outlives the test."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.db = tmp_path / "vba.db"
        self.started: list[Server] = []

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "VBA_DATABASE_URL": f"sqlite:///{self.db}",
            "VBA_SECRET_KEY": SECRET_KEY,
            "VBA_ENV": "sandbox",
        }

    def start(self) -> Server:
        """A new server, answering; the process is the server itself (no shell)."""
        port = free_port()
        log = self.tmp_path / f"server-{len(self.started)}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [str(Path(sys.executable).with_name("vba")), "serve", "--port", str(port)],
                env=self.env(),
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        server = Server(process, f"http://127.0.0.1:{port}")
        self.started.append(server)
        with httpx2.Client(base_url=server.url, timeout=2.0) as client:
            for _ in range(START_TRIES):
                assert process.poll() is None, f"the server exited: {log.read_text()}"
                try:
                    if client.get("/openapi.json").status_code == 200:
                        return server
                except httpx2.TransportError:
                    pass
                time.sleep(0.1)
        raise AssertionError(f"the server did not answer: {log.read_text()}")

    def stop_all(self) -> None:
        for server in self.started:
            if server.process.poll() is None:
                server.process.terminate()
                try:
                    server.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    server.process.kill()
                    server.process.wait(timeout=10)


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[Servers]:
    """A store with an operator and one bidder organisation, and a server starter."""
    servers = Servers(tmp_path)
    store = Store(f"sqlite:///{servers.db}")
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
    store.dispose()
    try:
        yield servers
    finally:
        servers.stop_all()


def _delivery_day(today: date, zone: ZoneInfo) -> date:
    """The first day at least three days ahead whose local day is 24 hours long."""
    day = today + timedelta(days=3)
    for _ in range(10):
        start = datetime.combine(day, datetime.min.time(), zone)
        end = datetime.combine(day + timedelta(days=1), datetime.min.time(), zone)
        if start.utcoffset() == end.utcoffset():
            return day
        day += timedelta(days=1)
    raise AssertionError("no day without a clock change in ten days")


def future_auction(archive: Archive, now: datetime) -> dict[str, Any]:
    """The sample's auction moved to a delivery day ahead of ``now``: the same local
    product windows, the gate open now and closing in an hour."""
    config = archive.config
    zone = ZoneInfo(config.time_zone)
    day = _delivery_day(now.astimezone(zone).date(), zone)

    def moved(t: datetime) -> str:
        local = t.astimezone(zone)
        on = day + (local.date() - config.delivery_day)
        return datetime.combine(on, local.time(), zone).isoformat()

    products = []
    for row in archive.products.to_dicts():
        product = {k: v for k, v in row.items() if v is not None}
        products.append({**product, "start": moved(row["start"]), "end": moved(row["end"])})
    gate_close = now + timedelta(hours=1)
    auction = {
        **config.model_dump(mode="json"),
        "auction_id": "durable",
        "delivery_day": day.isoformat(),
        "gate_open": (now - timedelta(hours=1)).isoformat(),
        "gate_close": gate_close.isoformat(),
        "publish_at": (gate_close + timedelta(hours=2)).isoformat(),
    }
    return {"auction": auction, "products": products}


def login(client: httpx2.Client, email: str) -> dict[str, str]:
    answer = client.post(
        "/auth/public/authenticate", json={"username": email, "password": PASSWORD}
    )
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


@dataclass
class Bidding:
    """What the client sent: every bid id and body, and what each request came to."""

    sent: dict[str, dict[str, Any]] = field(default_factory=dict)
    acked: set[str] = field(default_factory=set)
    refused: set[str] = field(default_factory=set)  # an HTTP answer other than 2xx
    lost: set[str] = field(default_factory=set)  # no answer: the connection broke
    error: BaseException | None = None


def bid_loop(
    url: str, path: str, headers: dict[str, str], bodies: list[dict[str, Any]], out: Bidding
) -> None:
    """Send single bids until MAX_BIDS or the first broken connection."""
    try:
        with httpx2.Client(base_url=url, headers=headers, timeout=REQUEST_TIMEOUT_S) as client:
            for i in range(MAX_BIDS):
                bid_id = str(uuid.uuid4())
                body = {**bodies[i % len(bodies)], "bid_id": bid_id}
                out.sent[bid_id] = body
                try:
                    answer = client.post(path, json=body)
                except httpx2.TransportError:
                    out.lost.add(bid_id)
                    return
                (out.acked if answer.is_success else out.refused).add(bid_id)
    except BaseException as exc:  # reported by the test, not lost in the thread
        out.error = exc


def test_acknowledged_bids_survive_a_sigkill_and_nothing_is_invented(servers: Servers) -> None:
    """Every bid answered 2xx before a SIGKILL is in the store after the restart; every
    stored bid was sent, as it was sent; the SQLite file passes its integrity check."""
    archive = sample_archive()
    first = servers.start()
    with httpx2.Client(base_url=first.url, timeout=REQUEST_TIMEOUT_S) as client:
        operator = login(client, OPERATOR)
        bidder = login(client, BIDDER)
        me = client.get("/auth/me", headers=bidder)
        assert me.status_code == 200, me.text
        org_id = me.json()["org_id"]
        answer = client.put(
            "/fleet/assets", headers=operator, json={"assets": archive.fleet.to_dicts()}
        )
        assert answer.status_code == 200, answer.text
        body = future_auction(archive, datetime.now(UTC))
        answer = client.post("/auctions", headers=operator, json=body)
        assert answer.status_code == 201, answer.text
        answer = client.post("/auctions/durable/open", headers=operator)
        assert answer.status_code == 200, answer.text

    rows = archive.bids.filter(pl.col("linked_to").is_null()).to_dicts()
    bodies = [bid_body(row, exclusive_group=None) for row in rows]
    path = f"/organisations/{org_id}/auctions/durable/bids"
    bidding = Bidding()
    thread = threading.Thread(
        target=bid_loop, args=(first.url, path, bidder, bodies, bidding), daemon=True
    )
    started = time.monotonic()
    thread.start()
    deadline = started + 15
    while time.monotonic() < deadline and thread.is_alive():
        if len(bidding.acked) >= MIN_ACKED and time.monotonic() - started >= MIN_RUN_S:
            break
        time.sleep(0.02)
    # The pid is the server's own process (Popen of the console script, no shell).
    os.kill(first.process.pid, signal.SIGKILL)
    assert first.process.wait(timeout=10) == -signal.SIGKILL
    thread.join(timeout=3 * REQUEST_TIMEOUT_S)
    assert not thread.is_alive(), "the client noticed the kill"
    assert bidding.error is None, repr(bidding.error)
    assert len(bidding.acked) >= MIN_ACKED, "enough bids were acknowledged before the kill"
    assert bidding.lost, "the kill broke the client's stream of bids"

    second = servers.start()
    # The token of the first server works on the second: the same secret key signs both.
    with httpx2.Client(base_url=second.url, headers=bidder, timeout=REQUEST_TIMEOUT_S) as client:
        answer = client.get(path)
    assert answer.status_code == 200, answer.text
    stored = {bid["bid_id"]: bid for bid in answer.json()["items"]}

    assert bidding.acked <= stored.keys(), "every acknowledged bid survived the kill"
    assert stored.keys() <= bidding.sent.keys(), "every stored bid was sent"
    assert not stored.keys() & bidding.refused, "a refused bid changed nothing"
    # A bid sent but not answered (lost) may be present or absent: its commit may have
    # landed just before the kill, or not at all.
    for bid_id, bid in stored.items():
        sent = bidding.sent[bid_id]
        assert bid["version"] == 1
        assert bid["product_id"] == sent["product_id"]
        assert bid["quantity_mw"] == sent["quantity_mw"]
        assert bid["price_eur_per_mw"] == sent["price_eur_per_mw"]

    with closing(sqlite3.connect(servers.db)) as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        in_file = {bid_id for (bid_id,) in db.execute("SELECT bid_id FROM bids")}
    assert in_file == stored.keys(), "the API lists exactly the bids in the file"
