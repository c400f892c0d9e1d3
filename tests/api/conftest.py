"""Fixtures for the store and the API: real SQLite files, a real PostgreSQL, real servers.

PostgreSQL tests run when ``VBA_TEST_POSTGRES_URL`` is set (``.ci/run`` sets it); each
test gets a schema of its own. Without the variable they skip, saying why.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from api.http.app import create_app
from api.http.security import hash_password
from api.http.settings import Settings
from auction.archive import read_archive
from auction.model import Archive
from auction.sample import sample_dir
from auction.store import Store, migrate
from auction.store.accounts import accept_invite, create_invite, create_org
from tests.strategies import NORMAL_DAY, asset, local, product

PASSWORD = "correct horse battery staple"
SECRET = "test secret, long enough for HS256 signing"
EICS = [
    "10YDE-EON------1",
    "10YDE-RWENET---I",
    "10YDE-VE-------2",
    "10YDE-ENBW-----N",
]


def postgres_url() -> str | None:
    return os.environ.get("VBA_TEST_POSTGRES_URL") or None  # set but empty: not set


@contextmanager
def postgres_schema(base: str) -> Iterator[str]:
    """A store URL in a fresh schema of the PostgreSQL database at ``base`` (dropped after)."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty store URL: a SQLite file, or a PostgreSQL schema of its own."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'vba.db'}"
        return
    base = postgres_url()
    if base is None:
        pytest.skip("PostgreSQL store tests need VBA_TEST_POSTGRES_URL (.ci/run sets it)")
    with postgres_schema(base) as url:
        yield url


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    store = Store(store_url)
    migrate(store)
    yield store
    store.dispose()


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


@dataclass
class Account:
    org_id: str
    email: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@cache
def password_hash() -> str:
    """One argon2 hash for every test user: hashing is slow on purpose."""
    return hash_password(PASSWORD)


def provision(
    store: Store,
    client: TestClient,
    name: str,
    role: str,
    eic: str = EICS[0],
    zone: str = EICS[0],
) -> Account:
    """An organisation with one user of ``role`` (balancing group ``eic`` in TSO zone
    ``zone``), logged in through the API."""
    now = datetime.now(UTC)
    with store.write() as conn:
        org = create_org(conn, name, eic, zone, now)
        token = create_invite(
            conn,
            f"{name.lower().replace(' ', '.')}@example.com",
            org.org_id,
            role,
            now,
            timedelta(hours=1),
        )
        accept_invite(conn, token, password_hash(), now)
    email = f"{name.lower().replace(' ', '.')}@example.com"
    answer = client.post(
        "/auth/public/authenticate", json={"username": email, "password": PASSWORD}
    )
    assert answer.status_code == 200, answer.text
    return Account(org.org_id, email, answer.json()["access_token"])


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 26, 12, 0, tzinfo=UTC))


@pytest.fixture
def make_client(store_url: str, clock: Clock) -> Iterator[Callable[[], TestClient]]:
    """A factory of in-process clients of one app over the test's store (no scheduler)."""
    clients: list[TestClient] = []

    def make() -> TestClient:
        # Tokens last a week of the test clock, which jumps days ahead.
        settings = Settings(database_url=store_url, secret_key=SECRET, token_minutes=7 * 24 * 60)
        app = create_app(settings, clock=clock, scheduler=False)
        client = TestClient(app)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def sample_archive() -> Archive:
    return read_archive(sample_dir())


def _json_value(value: object) -> object:
    return value.isoformat() if isinstance(value, datetime) else value


def create_sample_auction(
    client: TestClient, operator: Account, auction_id: str = "sample", *, open_it: bool = True
) -> Archive:
    """The bundled sample's fleet and products as a stored auction (gate 2026-11-27 15:00
    Berlin), opened; returns the sample archive for its bids."""
    archive = sample_archive()
    answer = client.put(
        "/fleet/assets", headers=operator.headers, json={"assets": archive.fleet.to_dicts()}
    )
    assert answer.status_code == 200, answer.text
    config = {**archive.config.model_dump(mode="json"), "auction_id": auction_id}
    products = [{k: _json_value(v) for k, v in p.items()} for p in archive.products.to_dicts()]
    answer = client.post(
        "/auctions", headers=operator.headers, json={"auction": config, "products": products}
    )
    assert answer.status_code == 201, answer.text
    if open_it:
        answer = client.post(f"/auctions/{auction_id}/open", headers=operator.headers)
        assert answer.status_code == 200, answer.text
    return archive


def bid_body(row: dict[str, object], **changes: object) -> dict[str, object]:
    """A sample bid row as a REST body (without ids, org, time, links)."""
    keys = ("product_id", "quantity_mw", "min_quantity_mw", "price_eur_per_mw", "exclusive_group")
    return {**{k: row[k] for k in keys}, **changes}


def small_auction(
    client: TestClient,
    operator: Account,
    bidders: list[Account],
    clock: Clock,
    *,
    auction_id: str = "small",
    day: date = NORMAL_DAY,
    fleet: list[dict[str, Any]] | None = None,
    products: list[dict[str, Any]] | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """A tiny auction taken through its whole life to publication: bidder i bids 1 MW of
    every product at 100 - i EUR/MW. Returns each bidder's virtual assets by org id.

    Default fleet: a1 (2 MW / 4 MWh, FCR), a2 (2 MW / 4 MWh, FCR), a3 spare (1 MW / 2 MWh,
    FCR). Default products: p1 wholesale 10:00-14:00 local (1 MW, 2 h), p2 wholesale plus
    0.5 MW FCR per MW, 16:00-20:00.
    """
    fleet = fleet or [
        asset("a1", 2.0, 4.0, fcr=True),
        asset("a2", 2.0, 4.0, fcr=True),
        asset("a3", 1.0, 2.0, fcr=True),
    ]
    products = products or [
        product("p1", day),
        product("p2", day, start=local(day, 16), end=local(day, 20), fcr_mw=0.5),
    ]
    answer = client.put("/fleet/assets", headers=operator.headers, json={"assets": fleet})
    assert answer.status_code == 200, answer.text
    body = {
        "auction": {"auction_id": auction_id, "delivery_day": day.isoformat()},
        "products": [{k: _json_value(v) for k, v in p.items()} for p in products],
    }
    answer = client.post("/auctions", headers=operator.headers, json=body)
    assert answer.status_code == 201, answer.text
    assert client.post(f"/auctions/{auction_id}/open", headers=operator.headers).status_code == 200
    for i, bidder in enumerate(bidders):
        bids = [
            {"product_id": p["product_id"], "quantity_mw": 1, "price_eur_per_mw": 100 - i}
            for p in products
        ]
        url = f"/organisations/{bidder.org_id}/auctions/{auction_id}/bids"
        answer = client.post(url, headers=bidder.headers, json={"bids": bids})
        assert answer.status_code == 201, answer.text
    gate = client.get(f"/auctions/{auction_id}", headers=operator.headers).json()["gate_close"]
    clock.now = max(clock.now, datetime.fromisoformat(gate) + timedelta(minutes=1))
    for step in ("close", "clear", "publish"):
        answer = client.post(f"/auctions/{auction_id}/{step}", headers=operator.headers)
        assert answer.status_code == 200, answer.text
    out = {}
    for bidder in bidders:
        url = f"/organisations/{bidder.org_id}/virtual-assets"
        answer = client.get(url, headers=bidder.headers)
        assert answer.status_code == 200, answer.text
        out[bidder.org_id] = answer.json()["items"]
    return out


@dataclass(frozen=True)
class SettledDay:
    """A small auction published, a wholesale block of alpha's dispatched, the day settled:
    a world in which every route has something to answer."""

    operator: Account
    alpha: Account
    va: dict[str, Any]
    block: dict[str, Any]
    ids: dict[str, str]  # the path parameters of the routes, in this world


def settled_day(
    store: Store, client: TestClient, clock: Clock, powers: tuple[int, ...] = (800,)
) -> SettledDay:
    """``small_auction`` for alpha and beta; alpha schedules ``powers`` in turn (one
    version each) at 10:00 of the day; the operator settles the day on D+1."""
    operator = provision(store, client, "Operator", "operator")
    alpha = provision(store, client, "Alpha Trading", "bidder", EICS[1])
    beta = provision(store, client, "Beta Flex", "bidder", EICS[2])
    vas = small_auction(client, operator, [alpha, beta], clock)
    va = next(v for v in vas[alpha.org_id] if v["product_id"] == "p1")
    block = next(b for b in va["blocks"] if b["market"] == "wholesale")
    va_url = f"/organisations/{alpha.org_id}/virtual-assets/{va['virtual_asset_id']}"
    for power in powers:
        body = {"schedule": [{"power": power, "time": local(NORMAL_DAY, 10).isoformat()}]}
        answer = client.post(
            f"{va_url}/blocks/{block['block_id']}", headers=alpha.headers, json=body
        )
        assert answer.status_code == 200, answer.text
    clock.now = local(NORMAL_DAY, 0) + timedelta(days=1, hours=9)
    run = client.post(
        f"/settlement/{NORMAL_DAY}/run",
        headers=operator.headers,
        json={"imbalance_price_eur_per_mwh": 150},
    )
    assert run.status_code == 201, run.text
    bids = client.get(f"/organisations/{alpha.org_id}/auctions/small/bids", headers=alpha.headers)
    ids = {
        "org_id": alpha.org_id,
        "auction_id": "small",
        "bid_id": bids.json()["items"][0]["bid_id"],
        "virtual_asset_id": va["virtual_asset_id"],
        "block_id": block["block_id"],
        "delivery_day": str(NORMAL_DAY),
    }
    return SettledDay(operator, alpha, va, block, ids)
