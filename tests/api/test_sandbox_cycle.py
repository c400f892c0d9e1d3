"""A trader's whole cycle in the sandbox over a real server, in minutes instead of three
days: bid on D-2, the operator moves the clock over the gate and the publication, the
trader wins and dispatches on D, the operator settles on D+1 and the trader reads the
invoice. Everything over HTTP, time moved only by ``POST /sandbox/clock``; the server's
own scheduler runs beside the moves. The base clock is the test's, frozen."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from api.http.app import create_app
from api.http.settings import Settings
from auction.store import Store
from auction.store.accounts import accept_invite, create_invite, create_org
from tests.api.conftest import EICS, PASSWORD, SECRET, Clock, password_hash
from tests.served import served
from tests.strategies import NORMAL_DAY, asset, local, product

D_MINUS_2 = NORMAL_DAY - timedelta(days=2)
START = local(NORMAL_DAY, 10)  # p1: 10:00-14:00 Berlin on D


def _z(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


class Person:
    """Somebody at the API, signed in once."""

    def __init__(self, http: httpx.Client, email: str) -> None:
        self.http = http
        self.email = email
        self.headers: dict[str, str] = {}
        self.sign_in()

    def sign_in(self) -> None:
        answer = self.http.post(
            "/auth/public/authenticate", json={"username": self.email, "password": PASSWORD}
        )
        assert answer.status_code == 200, answer.text
        self.headers = {"Authorization": f"Bearer {answer.json()['access_token']}"}

    def call(self, method: str, path: str, status: int, **kw: Any) -> Any:
        answer = self.http.request(method, path, headers=self.headers, **kw)
        assert answer.status_code == status, f"{method} {path}: {answer.text}"
        return answer.json() if answer.content else None


@pytest.fixture
def http(tmp_path: Path) -> Iterator[tuple[httpx.Client, Clock, Store]]:
    clock = Clock(local(D_MINUS_2, 12))
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'vba.db'}",
        secret_key=SECRET,
        token_minutes=60,
        tick_s=0.2,
    )
    app = create_app(settings, clock=clock)  # with its scheduler
    # A generous timeout, as the other served tests have: on a busy machine (CI beside
    # other work) the first sign-in once took over httpx's default 5 s. The answers are
    # what the test judges, not how fast they come.
    with (
        served(app) as port,
        httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client,
    ):
        yield client, clock, app.state.store


def test_bid_win_dispatch_and_read_the_invoice_from_d_minus_2_to_d_plus_1(
    http: tuple[httpx.Client, Clock, Store],
) -> None:
    client, clock, store = http
    with store.write() as conn:  # the first operator, as `vba admin` would make it
        org = create_org(conn, "Operator", EICS[0], EICS[0], clock.now)
        token = create_invite(
            conn, "op@example.com", org.org_id, "operator", clock.now, timedelta(1)
        )
        accept_invite(conn, token, password_hash(), clock.now)
    op = Person(client, "op@example.com")
    body = {"name": "Alpha Trading", "eic": EICS[1], "tso_zone": EICS[0]}
    alpha_org = op.call("POST", "/admin/organisations", 201, json=body)["org_id"]
    invite = op.call(
        "POST", "/admin/invites", 201, json={"email": "trader@alpha.example", "org_id": alpha_org}
    )
    accepted = client.post(
        "/auth/public/accept-invite", json={"token": invite["token"], "password": PASSWORD}
    )
    assert accepted.status_code == 201, accepted.text
    trader = Person(client, "trader@alpha.example")

    def move(**to: object) -> datetime:
        now = op.call("POST", "/sandbox/clock", 200, json=to)["now"]
        # Every move here is longer than a token's hour, and tokens follow the real clock
        # (the test's, frozen): nobody is signed out by a move.
        assert client.get("/auth/me", headers=trader.headers).status_code == 200
        return datetime.fromisoformat(now.replace("Z", "+00:00"))

    # D-2, 12:00: the operator offers p1 for D, to publish itself at 17:00; the trader bids.
    fleet = [asset("a1", 2.0, 4.0), asset("a2", 2.0, 4.0)]
    op.call("PUT", "/fleet/assets", 200, json={"assets": fleet})
    p1 = {k: _z(v) if isinstance(v, datetime) else v for k, v in product("p1").items()}
    auction = {"auction_id": "d", "delivery_day": NORMAL_DAY.isoformat()}
    op.call(
        "POST", "/auctions", 201, json={"auction": auction, "products": [p1], "auto_publish": True}
    )
    op.call("POST", "/auctions/d/open", 200)
    bids = f"/organisations/{alpha_org}/auctions/d/bids"
    bid = {"product_id": "p1", "quantity_mw": 1, "price_eur_per_mw": 100}
    trader.call("POST", bids, 201, json={"bids": [bid]})

    # D-2, 18:00: the gate closed at 15:00, the auction published itself at 17:00.
    assert move(to=_z(local(D_MINUS_2, 18))) == local(D_MINUS_2, 18)
    trader.call("POST", bids, 409, json={"bids": [bid]})
    assert trader.call("GET", "/auctions/d", 200)["status"] == "published"
    awards = trader.call("GET", f"/organisations/{alpha_org}/auctions/d/awards", 200)["items"]
    assert [a["awarded_mw"] for a in awards] == [1]
    # The README's "From the guide to this API", steps 3 and 4, with the fields it names.
    me = trader.call("GET", "/auth/me", 200)
    assert (me["org_id"], me["role"], me["environment"]) == (alpha_org, "bidder", "sandbox")
    upcoming = f"/organisations/{me['org_id']}/virtual-assets?status=upcoming"
    assert [len(trader.call("GET", upcoming, 200)["items"])] == [1]

    # D, 08:00: the trader dispatches its virtual asset's wholesale block.
    assert move(advance_s=38 * 3600) == local(NORMAL_DAY, 8)
    vas = trader.call("GET", f"/organisations/{alpha_org}/virtual-assets", 200)
    [va] = vas["items"]
    block = next(b for b in va["blocks"] if b["market"] == "wholesale")
    va_url = f"/organisations/{alpha_org}/virtual-assets/{va['virtual_asset_id']}"
    url = f"{va_url}/blocks/{block['block_id']}"
    mtu = timedelta(minutes=15)
    # Step 5 as a client computes it: 0.1 * 3 * 1000 is 300.00000000000006, taken as 300 kW.
    kw = 0.1 * 3 * 1000
    points = [{"power": kw if k % 2 == 0 else -kw, "time": _z(START + k * mtu)} for k in range(4)]
    accepted = trader.call("POST", url, 200, json={"schedule": points})
    assert accepted["version"] == 1
    assert [p["power"] for p in accepted["schedule"][:4]] == [300, -300, 300, -300]
    # Steps 6 and 7: the stored schedule with its SoC path, and the blocks' unavailability.
    shown = trader.call("GET", f"{url}/schedule", 200)
    assert shown["version"] == 1
    assert len(shown["soc"]) == len(shown["schedule"]) + 1
    assert shown["soc"][0]["time"].endswith("Z")
    assert all(b["unavailability"] == [] for b in trader.call("GET", va_url, 200)["blocks"])

    # D+1, 09:00: the operator settles D; the trader reads the invoice.
    d_plus_1 = local(NORMAL_DAY, 9) + timedelta(days=1)
    assert move(to=_z(d_plus_1)) == d_plus_1
    day = NORMAL_DAY.isoformat()
    run = op.call("POST", f"/settlement/{day}/run", 201, json={"imbalance_price_eur_per_mwh": 100})
    assert run["reconciliation"]["ok"], run["reconciliation"]
    [invoice] = trader.call("GET", f"/organisations/{alpha_org}/invoices", 200)["items"]
    assert (invoice["day"], Decimal(str(invoice["awards_eur"]))) == (day, Decimal(100))
    seen = trader.call("GET", "/sandbox/clock", 200)
    assert seen["offset_s"] == (d_plus_1 - clock.now) // timedelta(seconds=1)
