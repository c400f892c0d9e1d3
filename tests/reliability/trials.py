"""The reliability run's trials against ``vba serve`` processes: kill -9 while bidders bid,
during clear, publish and settle; bids around the gate; idempotency and If-Match races;
wrong passwords; writes past an organisation's burst (in-process, on a clock it moves).
Each returns figures; none asserts (the run prints and judges them).

The servers run on the wall clock (a subprocess has no injected clock): auctions are made
for days ahead with the gate open now, and the figures never depend on how fast anything is.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
import polars as pl
import sqlalchemy as sa

from api import services
from api.http.security import hash_password
from auction.archive import read_archive
from auction.store import Store, migrate
from auction.store.accounts import accept_invite, create_invite, create_org
from auction.store.auctions import get_auction
from auction.store.schema import invoice_lines, nomination_documents, settlement_runs
from clearing.verify import verify
from tests.api.conftest import EICS, PASSWORD, bid_body, sample_archive
from tests.api.test_durability import Bidding, bid_loop, free_port, future_auction
from tests.reliability.servers import Clock, serving

SECRET_KEY = "reliability trials: a secret long enough for HS256!"
OPERATOR = "operator@example.com"
BIDDER = "trader@example.com"
START_TRIES = 600  # polls of a starting server, 0.1 s apart
TIMEOUT_S = 30.0
RANDOM = random.Random(20261128)  # kill delays: the same run every time


@dataclass
class Figures:
    """Counts of one store's trials."""

    requests: int = 0
    server_errors: int = 0
    bid_trials: int = 0
    acknowledged: int = 0
    lost: int = 0  # acknowledged, then missing after the restart
    phantom_unanswered: int = 0  # stored, sent, never answered (allowed)
    phantom_bad: int = 0  # stored but refused, or never sent
    step_kills: dict[str, list[str]] = field(default_factory=dict)  # step -> states after
    inconsistent: list[str] = field(default_factory=list)
    gate_sent: int = 0
    gate_after: int = 0  # bids stored with a time at or after the gate
    idempotent_stored: str = ""
    if_match: str = ""
    throttling: str = ""
    write_limit: str = ""


class Process:
    """``vba serve`` over the store at ``url``, restartable, killable with SIGKILL."""

    def __init__(self, url: str, logs: Path) -> None:
        self.url = url
        self.logs = logs
        self.process: subprocess.Popen[bytes] | None = None
        self.base = ""
        self.starts = 0

    def start(self) -> str:
        port = free_port()
        env = {
            **os.environ,
            "VBA_DATABASE_URL": self.url,
            "VBA_SECRET_KEY": SECRET_KEY,
            "VBA_ENV": "sandbox",
        }
        log = self.logs / f"server-{self.starts}.log"
        self.starts += 1
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [str(Path(sys.executable).with_name("vba")), "serve", "--port", str(port)],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.base = f"http://127.0.0.1:{port}"
        with httpx2.Client(base_url=self.base, timeout=2.0) as client:
            for _ in range(START_TRIES):
                if self.process.poll() is not None:
                    raise RuntimeError(f"the server exited: {log.read_text()[-2000:]}")
                try:
                    if client.get("/openapi.json").status_code == 200:
                        return self.base
                except httpx2.TransportError:
                    pass
                time.sleep(0.1)
        raise RuntimeError(f"the server did not answer: {log.read_text()[-2000:]}")

    def kill(self) -> None:
        """SIGKILL to the server's own process (Popen of the console script, no shell)."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


@contextmanager
def process(url: str, logs: Path) -> Iterator[Process]:
    server = Process(url, logs)
    try:
        yield server
    finally:
        server.stop()


def provision(url: str) -> None:
    """An operator and one bidder organisation, with the test password."""
    store = Store(url)
    migrate(store)
    now = datetime.now(UTC)
    password_hash = hash_password(PASSWORD)
    with store.write() as conn:
        for name, email, role, eic in (
            ("Operator", OPERATOR, "operator", EICS[0]),
            ("Alpha Trading", BIDDER, "bidder", EICS[1]),
        ):
            org = create_org(conn, name, eic, EICS[0], now)
            token = create_invite(conn, email, org.org_id, role, now, timedelta(hours=1))
            accept_invite(conn, token, password_hash, now)
    store.dispose()


class Api:
    """The operator's and the bidder's calls on one server, counting what comes back."""

    def __init__(
        self,
        base: str,
        figures: Figures,
        operator: str = OPERATOR,
        bidder: str = BIDDER,
        password: str = PASSWORD,
    ) -> None:
        self.base = base
        self.figures = figures
        self.password = password
        self.operator = self.login(operator)
        self.bidder = self.login(bidder)
        me = self.call("GET", "/auth/me", self.bidder)
        self.org_id = str(me.json()["org_id"])

    def login(self, email: str) -> dict[str, str]:
        body = {"username": email, "password": self.password}
        answer = self.call("POST", "/auth/public/authenticate", None, json=body)
        assert answer.status_code == 200, answer.text
        return {"Authorization": f"Bearer {answer.json()['access_token']}"}

    def call(
        self, method: str, path: str, headers: dict[str, str] | None, **kw: Any
    ) -> httpx2.Response:
        with httpx2.Client(base_url=self.base, timeout=TIMEOUT_S * 4) as client:
            answer = client.request(method, path, headers=headers, **kw)
        self.count(answer.status_code)
        return answer

    def count(self, status: int) -> None:
        self.figures.requests += 1
        self.figures.server_errors += status >= 500

    def bids_path(self, auction_id: str) -> str:
        return f"/organisations/{self.org_id}/auctions/{auction_id}/bids"

    def new_auction(self, auction_id: str, days_ahead: int, gate_s: float = 3600) -> None:
        """The sample auction ``days_ahead`` days after the first free day, gate open now."""
        now = datetime.now(UTC)
        body = future_auction(sample_archive(), now + timedelta(days=days_ahead))
        gate_close = now + timedelta(seconds=gate_s)
        body["auction"].update(
            auction_id=auction_id,
            gate_open=(now - timedelta(hours=1)).isoformat(),
            gate_close=gate_close.isoformat(),
            publish_at=(gate_close + timedelta(days=30)).isoformat(),
        )
        answer = self.call("POST", "/auctions", self.operator, json=body)
        assert answer.status_code == 201, answer.text
        answer = self.call("POST", f"/auctions/{auction_id}/open", self.operator)
        assert answer.status_code == 200, answer.text


def _bodies() -> list[dict[str, Any]]:
    rows = sample_archive().bids.filter(pl.col("linked_to").is_null()).to_dicts()
    return [bid_body(row, exclusive_group=None) for row in rows]


def bid_kills(server: Process, api: Api, trials: int, figures: Figures) -> None:
    """Bidders send bids concurrently; the server gets SIGKILL; after the restart every
    acknowledged bid must be there, and every stored bid must have been sent."""
    api.new_auction("kills", 0)
    bodies = _bodies()
    path = api.bids_path("kills")
    sent: dict[str, dict[str, Any]] = {}
    for _ in range(trials):
        biddings = [Bidding() for _ in range(4)]
        threads = [
            threading.Thread(
                target=bid_loop,
                args=(server.base, path, api.bidder, bodies[i::4], bidding),
                daemon=True,
            )
            for i, bidding in enumerate(biddings)
        ]
        for thread in threads:
            thread.start()
        time.sleep(0.5 + RANDOM.random() * 1.5)
        server.kill()
        for thread in threads:
            thread.join(timeout=3 * TIMEOUT_S)
        api.base = server.start()
        answer = api.call("GET", path, api.bidder)
        stored = {bid["bid_id"] for bid in answer.json()["items"]}
        acked: set[str] = set()
        refused: set[str] = set()
        unanswered: set[str] = set()
        for bidding in biddings:
            sent |= bidding.sent
            acked |= bidding.acked
            refused |= bidding.refused
            unanswered |= bidding.lost
            figures.requests += len(bidding.acked) + len(bidding.refused) + len(bidding.lost)
        figures.bid_trials += 1
        figures.acknowledged += len(acked)
        figures.lost += len(acked - stored)
        this_trial = {b for bidding in biddings for b in bidding.sent}
        phantom = (stored & this_trial) - acked
        figures.phantom_unanswered += len(phantom & unanswered)
        figures.phantom_bad += len(phantom - unanswered) + len(stored - sent.keys())


def _state(url: str, auction_id: str) -> str:
    """The auction's status after a restart, and whether its stored result is whole: it
    reproduces its own hash and the independent checker passes it."""
    store = Store(url)
    try:
        with store.read() as conn:
            status = get_auction(conn, auction_id).status.value
        with tempfile.TemporaryDirectory() as tmp:
            clearing = services.auctions.export_auction(store, auction_id, Path(tmp))
            if clearing is None:
                return status if status == "closed" else f"{status} without a result!"
            report = verify(read_archive(Path(tmp)), Path(tmp) / "recorded")
            return status if report.ok else f"{status} with a result the checker refuses!"
    except Exception as exc:  # an inconsistent store is a finding, reported as such
        return f"unreadable: {exc!r}"[:200]
    finally:
        store.dispose()


def _kill_during(
    server: Process, api: Api, path: str, delay_s: float, body: Any = None
) -> int | None:
    """POST ``path`` and SIGKILL the server ``delay_s`` later; the status, if it answered."""
    answers: list[int] = []

    def send() -> None:
        try:
            with httpx2.Client(base_url=server.base, timeout=TIMEOUT_S * 4) as client:
                answers.append(client.post(path, headers=api.operator, json=body).status_code)
        except httpx2.TransportError:
            pass

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    time.sleep(delay_s)
    server.kill()
    thread.join(timeout=TIMEOUT_S)
    for status in answers:
        api.count(status)
    api.base = server.start()
    return answers[0] if answers else None


def _said(state: str, status: int | None) -> str:
    """The state, and whether the client had its answer before the kill."""
    return f"{state} ({'answered' if status is not None else 'killed before the answer'})"


def step_kills(server: Process, api: Api, url: str, trials: int, figures: Figures) -> None:
    """Auctions with bids, closed; SIGKILL during /clear, then during /publish; the
    state after each restart must be whole."""
    bodies = _bodies()
    for trial in range(trials):
        auction_id = f"steps-{trial}"
        api.new_auction(auction_id, 1 + trial)
        answer = api.call("POST", api.bids_path(auction_id), api.bidder, json={"bids": bodies[:60]})
        assert answer.status_code == 201, answer.text
        api.call("POST", f"/auctions/{auction_id}/close", api.operator)
        # A clear of 60 bids takes about a second here: the kill lands before, in or after.
        status = _kill_during(server, api, f"/auctions/{auction_id}/clear", RANDOM.random())
        state = _state(url, auction_id)
        figures.step_kills.setdefault("clear", []).append(_said(state, status))
        if state == "closed":
            api.call("POST", f"/auctions/{auction_id}/clear", api.operator)
        status = _kill_during(server, api, f"/auctions/{auction_id}/publish", RANDOM.random() * 0.3)
        state = _state(url, auction_id)
        figures.step_kills.setdefault("publish", []).append(_said(state, status))
    for label, states in figures.step_kills.items():
        figures.inconsistent += [f"{label}: {s}" for s in states if "!" in s or "unreadable" in s]


def settle_kills(
    server: Process, api: Api, url: str, day: str, trials: int, figures: Figures
) -> None:
    """SIGKILL during a settlement run of ``day`` (a settled day of the demo's world): a
    run is whole (its invoice lines and nominations) or absent."""
    body = {"imbalance_price_eur_per_mwh": 100}
    for _ in range(trials):
        before = _runs(url)
        status = _kill_during(server, api, f"/settlement/{day}/run", RANDOM.random(), body)
        after = _runs(url)
        new = sorted(set(after) - set(before))
        whole = all(after[v][0] > 0 and after[v][1] > 0 for v in new)
        state = f"{len(new)} new run(s), {'whole' if whole else 'PARTIAL!'}"
        figures.step_kills.setdefault("settle", []).append(_said(state, status))
        if not whole:
            figures.inconsistent.append(f"settle: {state}")


def _runs(url: str) -> dict[int, tuple[int, int]]:
    """Each settlement run's version: its invoice lines and nomination documents."""
    store = Store(url)
    try:
        with store.read() as conn:
            versions = [int(v) for (v,) in conn.execute(sa.select(settlement_runs.c.version))]
            out = {}
            for version in versions:
                lines = conn.execute(
                    sa.select(sa.func.count()).where(invoice_lines.c.version == version)
                ).scalar_one()
                documents = conn.execute(
                    sa.select(sa.func.count()).where(nomination_documents.c.version == version)
                ).scalar_one()
                out[version] = (int(lines), int(documents))
            return out
    finally:
        store.dispose()


def gate_race(api: Api, figures: Figures) -> None:
    """Bidders send bids until and past a gate a few seconds away: no bid stored with a
    time at or after the gate."""
    api.new_auction("gate", 10, gate_s=4)
    gate = datetime.fromisoformat(
        api.call("GET", "/auctions/gate", api.operator).json()["gate_close"]
    )
    bodies = _bodies()
    path = api.bids_path("gate")

    def hammer(offset: int) -> int:
        sent = 0
        with httpx2.Client(base_url=api.base, headers=api.bidder, timeout=TIMEOUT_S) as client:
            while datetime.now(UTC) < gate + timedelta(seconds=2):
                answer = client.post(path, json=bodies[(offset + sent) % len(bodies)])
                api.count(answer.status_code)
                sent += 1
        return sent

    with ThreadPoolExecutor(4) as pool:
        figures.gate_sent = sum(pool.map(hammer, range(4)))
    stored = api.call("GET", path, api.bidder).json()["items"]
    figures.gate_after = sum(datetime.fromisoformat(b["submitted_at"]) >= gate for b in stored)


def races(api: Api, figures: Figures, n: int = 16) -> None:
    """N posts with one Idempotency-Key at once: one bid stored, every answer the same.
    N amendments with the same If-Match at once: one wins, the others get 412."""
    api.new_auction("races", 11)
    path = api.bids_path("races")
    body = _bodies()[0]
    key = str(uuid.uuid4())

    def post(_: int) -> tuple[int, str]:
        answer = api.call("POST", path, {**api.bidder, "Idempotency-Key": key}, json=body)
        return answer.status_code, answer.json().get("bid_id", "")

    with ThreadPoolExecutor(n) as pool:
        answers = list(pool.map(post, range(n)))
    stored = api.call("GET", path, api.bidder).json()["items"]
    ids = {bid_id for _, bid_id in answers}
    statuses = sorted({status for status, _ in answers})
    figures.idempotent_stored = (
        f"{n} posts, {len(stored)} stored, {len(ids)} bid id(s), statuses {statuses}"
    )
    bid_id = stored[0]["bid_id"]

    def amend(i: int) -> int:
        changed = {**body, "price_eur_per_mw": 50 + i}
        return api.call(
            "PUT", f"{path}/{bid_id}", {**api.bidder, "If-Match": '"1"'}, json=changed
        ).status_code

    with ThreadPoolExecutor(n) as pool:
        results = list(pool.map(amend, range(n)))
    version = api.call("GET", f"{path}/{bid_id}", api.bidder).json()["version"]
    figures.if_match = (
        f"{n} amends: {results.count(200)} won, {results.count(412)} got 412, "
        f"others {sorted(s for s in results if s not in (200, 412))}, version now {version}"
    )


def throttling(api: Api, figures: Figures, tries: int = 30) -> None:
    """Wrong passwords in a row for one account: does the server answer 429 with
    Retry-After? The right password at once (still held back), then after waiting what
    Retry-After said (the real user is not locked out for long)."""
    statuses = []
    retry_after = 0
    wait_s = 0
    for i in range(tries):
        answer = api.call(
            "POST",
            "/auth/public/authenticate",
            None,
            json={"username": BIDDER, "password": f"wrong password {i}"},
        )
        statuses.append(answer.status_code)
        if answer.status_code == 429 and "retry-after" in answer.headers:
            retry_after += 1
            wait_s = int(answer.headers["retry-after"])
    right = {"username": BIDDER, "password": PASSWORD}
    at_once = api.call("POST", "/auth/public/authenticate", None, json=right)
    wait_s = int(at_once.headers.get("retry-after", wait_s))
    time.sleep(min(wait_s, MAX_WAIT_S))
    later = api.call("POST", "/auth/public/authenticate", None, json=right).status_code
    limited = statuses.count(429)
    figures.throttling = (
        f"none: {tries} wrong passwords all {sorted(set(statuses))}, then the right one "
        f"{at_once.status_code}"
        if not limited
        else f"sign-in: {limited} of {tries} wrong passwords got 429 ({retry_after} with "
        f"Retry-After); the right one at once {at_once.status_code}, after the {wait_s} s "
        f"it said {later}"
    )


MAX_WAIT_S = 120  # the account's cap is 60 s: a longer Retry-After is a finding anyway


def write_limit(url: str, figures: Figures, burst: int = 20, tries: int = 30) -> None:
    """An organisation's writes beyond its burst: 429 with Retry-After, and a write goes
    through again once that time has passed. A server of its own (in-process, on a clock
    the trial moves) with a small bucket, so no other trial meets it."""
    clock = Clock(datetime(2026, 11, 26, 12, 0, tzinfo=UTC))
    with (
        serving(url, clock, org_write_burst=burst, org_writes_per_s=1.0) as base,
        httpx2.Client(base_url=base, timeout=TIMEOUT_S) as client,
    ):
        answer = client.post(
            "/auth/public/authenticate", json={"username": BIDDER, "password": PASSWORD}
        )
        assert answer.status_code == 200, answer.text
        headers = {"Authorization": f"Bearer {answer.json()['access_token']}"}
        me = client.get("/auth/me", headers=headers).json()
        # A withdrawal of a bid nobody has: a write (it takes from the bucket), a 404.
        path = f"/organisations/{me['org_id']}/auctions/none/bids/none"
        statuses, retry_after, wait_s = [], 0, 0
        for _ in range(tries):
            answer = client.delete(path, headers=headers)
            figures.requests += 1
            figures.server_errors += answer.status_code >= 500
            statuses.append(answer.status_code)
            if answer.status_code == 429 and "retry-after" in answer.headers:
                retry_after += 1
                wait_s = int(answer.headers["retry-after"])
        clock.now += timedelta(seconds=wait_s)
        after = client.delete(path, headers=headers).status_code
        figures.requests += 1
    figures.write_limit = (
        f"writes: {statuses.count(429)} of {tries} past a burst of {burst} got 429 "
        f"({retry_after} with Retry-After); after the {wait_s} s it said {after}"
    )
