"""The sandbox's clock: an operator moves it forward over HTTP (or with ``vba sandbox``),
and every rule of time follows it: gates, publication, dispatch gates, settlement; it
outlives a restart, is the same for every app over one store, never goes back, and does
not exist in production. The base clock is the test's; the offset is the store's."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.cli import store as cli_store
from api.cli.main import main
from api.http.app import create_app
from api.http.settings import Settings
from auction.sandbox_clock import MAX_MOVE_S
from auction.store import Store
from auction.store.audit import events
from tests.api.conftest import EICS, SECRET, Account, Clock, provision, small_auction
from tests.strategies import NORMAL_DAY, asset, local, product

D_MINUS_2 = NORMAL_DAY - timedelta(days=2)
GATE = local(D_MINUS_2, 15)  # the auction's defaults: gate 15:00, publication 17:00 on D-2
PUBLISH = local(D_MINUS_2, 17)
START = local(NORMAL_DAY, 10)  # p1's first quarter-hour


def _z(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _fields(body: dict[str, Any]) -> list[str]:
    """The fields a 422 names."""
    return [item["field"] for item in body["errors"]]


def _move(client: TestClient, account: Account, **body: object) -> dict[str, Any]:
    answer = client.post("/sandbox/clock", headers=account.headers, json=body)
    assert answer.status_code == 200, answer.text
    state: dict[str, Any] = answer.json()
    return state


def _read(client: TestClient, account: Account) -> dict[str, Any]:
    answer = client.get("/sandbox/clock", headers=account.headers)
    assert answer.status_code == 200, answer.text
    state: dict[str, Any] = answer.json()
    return state


def _auto_auction(client: TestClient, operator: Account, bidders: list[Account]) -> None:
    """Auction "auto" (p1 on NORMAL_DAY, 1 MW each at 100 - i EUR/MW), set to clear and
    publish itself at 17:00 on D-2, its gate open; a small fleet."""
    fleet = [asset("a1", 2.0, 4.0), asset("a2", 2.0, 4.0)]
    assert client.put("/fleet/assets", headers=operator.headers, json={"assets": fleet}).is_success
    p1 = {k: _z(v) if isinstance(v, datetime) else v for k, v in product("p1").items()}
    body = {
        "auction": {"auction_id": "auto", "delivery_day": NORMAL_DAY.isoformat()},
        "products": [p1],
        "auto_publish": True,
    }
    answer = client.post("/auctions", headers=operator.headers, json=body)
    assert answer.status_code == 201, answer.text
    assert client.post("/auctions/auto/open", headers=operator.headers).status_code == 200
    for i, bidder in enumerate(bidders):
        bids = [{"product_id": "p1", "quantity_mw": 1, "price_eur_per_mw": 100 - i}]
        url = f"/organisations/{bidder.org_id}/auctions/auto/bids"
        answer = client.post(url, headers=bidder.headers, json={"bids": bids})
        assert answer.status_code == 201, answer.text


def test_a_move_over_the_gate_closes_it_and_publishes_at_their_own_times(
    store: Store, make_client: Callable[[], TestClient], clock: Clock
) -> None:
    client = make_client()
    operator = provision(store, client, "Operator", "operator")
    alpha = provision(store, client, "Alpha Trading", "bidder", EICS[1])
    beta = provision(store, client, "Beta Flex", "bidder", EICS[2])
    _auto_auction(client, operator, [alpha, beta])
    assert _read(client, alpha) == {"now": _z(clock.now), "offset_s": 0, "environment": "sandbox"}

    target = local(D_MINUS_2, 18)
    state = _move(client, operator, to=_z(target))
    assert _instant(state["now"]) == target
    assert state["offset_s"] == (target - clock.now) // timedelta(seconds=1)
    assert state["environment"] == "sandbox"

    late = client.post(
        f"/organisations/{alpha.org_id}/auctions/auto/bids",
        headers=alpha.headers,
        json={"bids": [{"product_id": "p1", "quantity_mw": 1, "price_eur_per_mw": 500}]},
    )
    assert late.status_code == 409, late.text
    assert client.get("/auctions/auto", headers=alpha.headers).json()["status"] == "published"
    won = client.get(f"/organisations/{alpha.org_id}/virtual-assets", headers=alpha.headers)
    assert [va["product_id"] for va in won.json()["items"]] == ["p1"]

    # As waiting would have: the gate closed at its time, the clearing and publication at
    # theirs, after the operator's move; the move names its actor, from and to.
    with store.read() as conn:
        trail = [(e["action"], e["at"]) for e in events(conn, "auction/auto")][-3:]
        [moved] = events(conn, "sandbox/clock")
    assert trail == [
        ("auction.close", GATE),
        ("auction.clear", PUBLISH),
        ("auction.publish", PUBLISH),
    ]
    me = client.get("/auth/me", headers=operator.headers).json()
    assert moved["actor"] == me["user_id"]
    assert moved["detail"]["from"] == _z(clock.now)
    assert moved["detail"]["to"] == _z(target)


def _wholesale_url(account: Account, vas: list[dict[str, Any]]) -> str:
    va = next(v for v in vas if v["product_id"] == "p1")
    block = next(b for b in va["blocks"] if b["market"] == "wholesale")
    return (
        f"/organisations/{account.org_id}/virtual-assets/{va['virtual_asset_id']}"
        f"/blocks/{block['block_id']}"
    )


def test_the_dispatch_gate_and_settlement_follow_the_sandbox_time(
    store: Store, make_client: Callable[[], TestClient], clock: Clock
) -> None:
    client = make_client()
    operator = provision(store, client, "Operator", "operator")
    alpha = provision(store, client, "Alpha Trading", "bidder", EICS[1])
    vas = small_auction(client, operator, [alpha], clock)
    url = _wholesale_url(alpha, vas[alpha.org_id])
    first = {"schedule": [{"power": 100, "time": _z(START)}]}
    assert client.post(url, headers=alpha.headers, json=first).status_code == 200

    # The first quarter-hour's dispatch gate closes 5 min 30 s before it.
    _move(client, operator, to=_z(START - timedelta(seconds=330)))
    again = {"schedule": [{"power": 200, "time": _z(START)}]}
    closed = client.post(url, headers=alpha.headers, json=again)
    assert closed.status_code == 422
    assert "dispatch gate" in str(closed.json())
    later = {"schedule": [{"power": 200, "time": _z(START + timedelta(minutes=15))}]}
    assert client.post(url, headers=alpha.headers, json=later).status_code == 200

    run = {"imbalance_price_eur_per_mwh": 150}
    day = NORMAL_DAY.isoformat()
    early = client.post(f"/settlement/{day}/run", headers=operator.headers, json=run)
    assert early.status_code == 409, early.text
    _move(client, operator, advance_s=24 * 3600)  # D+1 09:54:30 Berlin
    settled = client.post(f"/settlement/{day}/run", headers=operator.headers, json=run)
    assert settled.status_code == 201, settled.text
    invoices = client.get(f"/organisations/{alpha.org_id}/invoices", headers=alpha.headers)
    assert [i["day"] for i in invoices.json()["items"]] == [day]


@contextmanager
def _app(store_url: str, clock: Clock, env: str = "sandbox") -> Iterator[TestClient]:
    secret = SECRET if env == "sandbox" else secrets.token_urlsafe(48)
    settings = Settings(
        env=env, database_url=store_url, secret_key=secret, token_minutes=7 * 24 * 60
    )
    with TestClient(create_app(settings, clock=clock, scheduler=False)) as client:
        yield client


def test_the_time_outlives_a_restart(store_url: str, store: Store, clock: Clock) -> None:
    with _app(store_url, clock) as client:
        operator = provision(store, client, "Operator", "operator")
        _move(client, operator, advance_s=3 * 86_400)
    with _app(store_url, clock) as client:  # a new server over the same store
        assert _read(client, operator) == {
            "now": _z(clock.now + timedelta(days=3)),
            "offset_s": 3 * 86_400,
            "environment": "sandbox",
        }
        # The base clock runs on under the offset.
        clock.advance(minutes=5)
        assert _instant(_read(client, operator)["now"]) == clock.now + timedelta(days=3)


def test_two_apps_over_one_store_keep_one_time(
    store: Store, make_client: Callable[[], TestClient], clock: Clock
) -> None:
    one, two = make_client(), make_client()
    operator = provision(store, one, "Operator", "operator")
    _move(one, operator, advance_s=3600)
    assert _read(two, operator) == _read(one, operator)
    _move(two, operator, advance_s=60)  # moves add up, whichever server takes them
    assert _read(one, operator)["offset_s"] == 3660
    assert _read(one, operator) == _read(two, operator)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"to": "2026-11-26T11:59:59Z"}, "to"),  # a second before the sandbox's time
        ({"to": "2026-11-26T12:00:00"}, "to"),  # no offset
        ({"to": "2027-12-31T12:00:01Z"}, "to"),  # a second more than 400 days ahead
        ({"advance_s": 0}, "advance_s"),
        ({"advance_s": -60}, "advance_s"),
        ({"advance_s": MAX_MOVE_S + 1}, "advance_s"),
        ({"advance_s": "60"}, "advance_s"),
        ({"advance_s": True}, "advance_s"),
        ({"advance_s": 1.5}, "advance_s"),
        ({"advance_s": 60, "to": "2026-11-27T12:00:00Z"}, "advance_s"),
        ({}, "to"),
        ({"advance_s": 60, "back": True}, "back"),
    ],
)
def test_the_clock_never_goes_back_and_a_refused_move_changes_nothing(
    store: Store,
    make_client: Callable[[], TestClient],
    body: dict[str, object],
    field: str,
) -> None:
    client = make_client()
    operator = provision(store, client, "Operator", "operator")
    before = _read(client, operator)
    refused = client.post("/sandbox/clock", headers=operator.headers, json=body)
    assert refused.status_code == 422, refused.text
    assert field in _fields(refused.json())
    assert _read(client, operator) == before
    with store.read() as conn:
        assert events(conn, "sandbox/clock") == []


def test_moving_to_the_present_is_allowed_and_changes_nothing(
    store: Store, make_client: Callable[[], TestClient], clock: Clock
) -> None:
    client = make_client()
    operator = provision(store, client, "Operator", "operator")
    assert _move(client, operator, to=_z(clock.now))["offset_s"] == 0


def test_only_operators_move_the_clock_and_anyone_signed_in_reads_it(
    store: Store, make_client: Callable[[], TestClient]
) -> None:
    client = make_client()
    provision(store, client, "Operator", "operator")
    bidder = provision(store, client, "Alpha Trading", "bidder", EICS[1])
    moved = client.post("/sandbox/clock", headers=bidder.headers, json={"advance_s": 60})
    assert moved.status_code == 403
    assert _read(client, bidder)["offset_s"] == 0
    assert client.get("/sandbox/clock").status_code == 401
    assert client.post("/sandbox/clock", json={"advance_s": 60}).status_code == 401


def _answer(client: TestClient, method: str, path: str) -> tuple[int, dict[str, str], bytes]:
    """Status, headers (but the date) and body, for a request with a fixed request id."""
    headers = {"X-Request-ID": "same-id", "Authorization": "Bearer not-a-token"}
    answer = client.request(method, path, headers=headers, json={"advance_s": 60})
    kept = {k: v for k, v in answer.headers.items() if k.lower() != "date"}
    return answer.status_code, kept, answer.content


def test_production_answers_the_clock_paths_as_unknown_ones(
    store_url: str, store: Store, clock: Clock
) -> None:
    with _app(store_url, clock) as sandbox:  # a moved offset in the store: production ignores it
        operator = provision(store, sandbox, "Operator", "operator")
        _move(sandbox, operator, advance_s=86_400)
    with _app(store_url, clock, env="production") as client:
        assert client.app.state.clock() == clock.now  # type: ignore[attr-defined]
        for method in ("GET", "POST"):
            # Same length as /sandbox/clock: an answer that echoes its path stays comparable.
            unknown = _answer(client, method, "/made-up/paths")
            status, headers, body = _answer(client, method, "/sandbox/clock")
            assert status == 404
            assert (status, headers, body.replace(b"/sandbox/clock", b"/made-up/paths")) == unknown
        openapi = client.get("/openapi.json").json()
        assert not [path for path in openapi["paths"] if path.startswith("/sandbox")]


# --- vba sandbox ---------------------------------------------------------------------

BASE = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.fixture
def cli_env(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """The CLI on a SQLite file, its base clock pinned (BASE)."""
    url = f"sqlite:///{tmp_path / 'vba.db'}"
    monkeypatch.setenv("VBA_DATABASE_URL", url)
    monkeypatch.setenv("VBA_ENV", "sandbox")
    monkeypatch.setattr(cli_store, "_utc_now", lambda: BASE)
    return url


def test_vba_sandbox_advance_and_clock(
    cli_env: str, capsys: pytest.CaptureFixture[str], clock: Clock
) -> None:
    assert main(["sandbox", "clock"]) == 0
    shown = capsys.readouterr().out
    assert "sandbox time (UTC):           2026-11-26T12:00:00Z" in shown
    assert "sandbox time (Europe/Berlin): 2026-11-26 13:00:00 CET" in shown
    assert main(["sandbox", "advance", "1d2h"]) == 0
    assert "2026-11-27T14:00:00Z" in capsys.readouterr().out
    assert main(["sandbox", "advance", "--to", "2026-11-28T08:00:00+01:00"]) == 0
    shown = capsys.readouterr().out
    assert "sandbox time (UTC):           2026-11-28T07:00:00Z" in shown
    assert "sandbox time (Europe/Berlin): 2026-11-28 08:00:00 CET" in shown
    assert "(154800 s)" in shown

    # The server over the store keeps the same time (the clock fixture is at BASE too).
    settings = Settings(database_url=cli_env, secret_key=SECRET)
    app = create_app(settings, clock=clock, scheduler=False)
    assert app.state.clock() == datetime(2026, 11, 28, 7, 0, tzinfo=UTC)
    app.state.store.dispose()


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--to", "2026-11-26T11:00:00Z"], "--to: must not be before the sandbox's time"),
        (["0m"], "DURATION: must be a whole number of seconds from 1"),
        (["401d"], "DURATION: must be a whole number of seconds from 1"),
        (["2h", "--to", "2026-11-28T08:00:00Z"], "exactly one of DURATION"),
        ([], "exactly one of DURATION"),
    ],
)
def test_vba_sandbox_advance_refuses_a_move_back_or_too_far(
    cli_env: str, capsys: pytest.CaptureFixture[str], args: list[str], says: str
) -> None:
    assert main(["sandbox", "advance", *args]) == 2
    assert says in " ".join(capsys.readouterr().out.split())
    assert main(["sandbox", "clock"]) == 0
    assert "(0 s)" in capsys.readouterr().out


def test_vba_sandbox_refuses_production(
    cli_env: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VBA_ENV", "production")
    for args in (["clock"], ["advance", "2h"]):
        assert main(["sandbox", *args]) == 2
        assert "production runs on the real clock" in capsys.readouterr().out
