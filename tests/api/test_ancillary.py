"""Ancillary bids over HTTP, on SQLite and PostgreSQL: a trader offers its virtual asset's
FCR and aFRR reserve, replaces and withdraws offers until the gate, and nothing of a
refused request is stored."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from auction.store import Store
from tests.api.conftest import EICS, Account, Clock, provision, small_auction
from tests.strategies import NORMAL_DAY, asset, local, product

DAY = NORMAL_DAY  # 2026-11-29; its FCR gate is D-1 08:00 Berlin = 2026-11-28 07:00 UTC
FCR_GATE = datetime(2026, 11, 28, 7, 0, tzinfo=UTC)
RESERVE = [  # 08:00-16:00 local: 1 MW wholesale, 1 MW FCR and 1 MW of each aFRR per MW
    product(
        "r1",
        DAY,
        start=local(DAY, 8),
        end=local(DAY, 16),
        fcr_mw=1.0,
        afrr_pos_mw=1.0,
        afrr_neg_mw=1.0,
        increment_mw=1.0,
        min_mw=1.0,
    )
]
FLEET = [asset(a, 5.0, 10.0, fcr=True, afrr_pos=True, afrr_neg=True) for a in ("a1", "a2", "a3")]


def _setup(
    store: Store, make_client: Callable[[], TestClient], clock: Clock
) -> tuple[TestClient, Account, Account, Account, str]:
    client = make_client()
    operator = provision(store, client, "Operator", "operator")
    alpha = provision(store, client, "Alpha Trading", "bidder", EICS[1])
    beta = provision(store, client, "Beta Flex", "bidder", EICS[2])
    vas = small_auction(
        client, operator, [alpha, beta], clock, day=DAY, fleet=FLEET, products=RESERVE
    )
    [va] = vas[alpha.org_id]
    return client, operator, alpha, beta, va["virtual_asset_id"]


def _url(account: Account, va_id: str) -> str:
    return f"/organisations/{account.org_id}/virtual-assets/{va_id}/ancillary-bids"


def _fcr(kw: int = 1000, price: float = 12.5, product_name: str = "NEGPOS_08_12") -> Any:
    return {
        "productDateCode": f"{DAY}_{product_name}",
        "offeredCapacity": kw,
        "capacityPrice": price,
    }


def test_a_trader_offers_replaces_and_withdraws_reserve(
    store: Store, make_client: Callable[[], TestClient], clock: Clock
) -> None:
    client, _operator, alpha, _beta, va = _setup(store, make_client, clock)
    body = {
        "bids": [
            _fcr(),
            {
                "product_date_code": f"{DAY}_POS_12_16",
                "offered_capacity": 1000,
                "capacity_price": 8.25,
                "energy_price": 95,
            },
            {"productDateCode": f"{DAY}_NEG_033", "offeredCapacity": 1000, "energyPrice": -40},
        ]
    }
    answer = client.post(_url(alpha, va), headers=alpha.headers, json=body)
    assert answer.status_code == 200, answer.text
    bids = {b["product_date_code"]: b for b in answer.json()["items"]}
    fcr = bids[f"{DAY}_NEGPOS_08_12"]
    assert (fcr["market"], fcr["direction"], fcr["status"], fcr["version"]) == (
        "fcr",
        "NEGPOS",
        "submitted",
        1,
    )
    assert datetime.fromisoformat(fcr["start"]) == local(DAY, 8)
    assert datetime.fromisoformat(fcr["gate_closure"]) == FCR_GATE
    energy = bids[f"{DAY}_NEG_033"]
    assert datetime.fromisoformat(energy["start"]) == local(DAY, 8)  # the 33rd quarter-hour
    assert datetime.fromisoformat(energy["gate_closure"]) == local(DAY, 8) - timedelta(minutes=25)
    assert float(energy["energy_price"]) == -40

    # A new bid for the same product replaces the old one: version 2, both kept.
    answer = client.post(_url(alpha, va), headers=alpha.headers, json={"bids": [_fcr(price=20)]})
    assert answer.status_code == 200, answer.text
    one = client.get(f"{_url(alpha, va)}/{DAY}_NEGPOS_08_12", headers=alpha.headers).json()
    assert [float(v["capacity_price"]) for v in one["versions"]] == [12.5, 20]
    assert (one["version"], float(one["capacity_price"])) == (2, 20)
    # The FCR block holds 1 MW (1 MW bought): 2 MW is more than it can give.
    too_much = client.post(_url(alpha, va), headers=alpha.headers, json={"bids": [_fcr(kw=2000)]})
    assert too_much.status_code == 422, too_much.text

    listed = client.get(_url(alpha, va), headers=alpha.headers).json()["items"]
    assert len(listed) == 3

    gone = client.delete(f"{_url(alpha, va)}/{DAY}_NEGPOS_08_12", headers=alpha.headers)
    assert gone.status_code == 200, gone.text
    assert (gone.json()["status"], gone.json()["version"]) == ("withdrawn", 3)
    again = client.delete(f"{_url(alpha, va)}/{DAY}_NEGPOS_08_12", headers=alpha.headers)
    assert again.status_code == 409


def test_every_broken_rule_is_named_and_nothing_is_stored(
    store: Store, make_client: Callable[[], TestClient], clock: Clock
) -> None:
    client, _operator, alpha, _beta, va = _setup(store, make_client, clock)
    broken = [
        _fcr(),  # fine on its own
        _fcr(product_name="NEGPOS_00_04"),  # outside the reserve block's 08:00-16:00
        _fcr(kw=1500, product_name="NEGPOS_12_16"),  # not whole MW
        {"productDateCode": f"{DAY}_POS_08_12", "offeredCapacity": 2000, "capacityPrice": 5},
        # (above: more than the 1 MW aFRR+ block)
        {"productDateCode": f"{DAY}_NEG_08_12", "offeredCapacity": 1000},  # no capacity price
        {"productDateCode": f"{DAY}_XYZ_08_12", "offeredCapacity": 1000, "capacityPrice": 5},
    ]
    answer = client.post(_url(alpha, va), headers=alpha.headers, json={"bids": broken})
    assert answer.status_code == 422, answer.text
    problems = answer.json()["errors"]
    rows = sorted({p["loc"][2] for p in problems})
    assert rows == [1, 2, 3, 4, 5], problems  # every bid but the first, each named
    fields = {(p["loc"][2], p["field"]) for p in problems}
    assert (2, "offeredCapacity") in fields
    assert (4, "capacityPrice") in fields
    assert (5, "productDateCode") in fields
    assert client.get(_url(alpha, va), headers=alpha.headers).json()["items"] == []


def test_the_gate_holds_to_the_second(
    store: Store, make_client: Callable[[], TestClient], clock: Clock
) -> None:
    client, _operator, alpha, _beta, va = _setup(store, make_client, clock)
    clock.now = FCR_GATE - timedelta(seconds=1)
    answer = client.post(_url(alpha, va), headers=alpha.headers, json={"bids": [_fcr()]})
    assert answer.status_code == 200, answer.text
    clock.now = FCR_GATE
    late = client.post(_url(alpha, va), headers=alpha.headers, json={"bids": [_fcr(price=20)]})
    assert late.status_code == 409, late.text
    assert datetime.fromisoformat(late.json()["gate_closure"]) == FCR_GATE
    withdrawn = client.delete(f"{_url(alpha, va)}/{DAY}_NEGPOS_08_12", headers=alpha.headers)
    assert withdrawn.status_code == 409
    [bid] = client.get(_url(alpha, va), headers=alpha.headers).json()["items"]
    assert (float(bid["capacity_price"]), bid["status"]) == (12.5, "submitted")


def test_another_organisation_sees_nothing_and_an_outage_lowers_the_limit(
    store: Store, make_client: Callable[[], TestClient], clock: Clock
) -> None:
    client, operator, alpha, beta, va = _setup(store, make_client, clock)
    missing = client.get(_url(beta, "no-such-va"), headers=beta.headers)
    foreign = client.get(_url(beta, va), headers=beta.headers)
    assert (missing.status_code, foreign.status_code) == (404, 404)
    assert missing.json()["detail"].replace("no-such-va", va) == foreign.json()["detail"]
    post = client.post(_url(beta, va), headers=beta.headers, json={"bids": [_fcr()]})
    assert post.status_code == 404

    # The whole fleet fails 08:00-10:00: the FCR block is short there, not after.
    for asset_id in ("a1", "a2", "a3"):
        outage = {
            "asset_id": asset_id,
            "start": local(DAY, 8).isoformat(),
            "end": local(DAY, 10).isoformat(),
            "available_fraction": 0,
        }
        answer = client.post("/fleet/outages", headers=operator.headers, json=outage)
        assert answer.status_code == 201, answer.text
    read = client.get(f"/organisations/{alpha.org_id}/virtual-assets/{va}", headers=alpha.headers)
    fcr_block = next(b for b in read.json()["blocks"] if b["market"] == "fcr")
    assert fcr_block["unavailability"][0]["available_kw"] == 0
    answer = client.post(_url(alpha, va), headers=alpha.headers, json={"bids": [_fcr()]})
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["field"] == "offeredCapacity"
    later = client.post(
        _url(alpha, va), headers=alpha.headers, json={"bids": [_fcr(product_name="NEGPOS_12_16")]}
    )
    assert later.status_code == 200, later.text


def test_hostile_input_gets_a_4xx_on_both_stores(
    store: Store, make_client: Callable[[], TestClient], clock: Clock
) -> None:
    """Extreme numbers, NaN, overflowing strings, NUL bytes, impossible days: never a 5xx."""
    client, operator, alpha, _beta, va = _setup(store, make_client, clock)
    fcr = f"{DAY}_NEGPOS_08_12"
    bids = [
        {"productDateCode": fcr, "offeredCapacity": 10**30, "capacityPrice": 1},
        {"productDateCode": fcr, "offeredCapacity": 1000, "capacityPrice": "NaN"},
        {"productDateCode": fcr, "offeredCapacity": 1000, "capacityPrice": "1e999999"},
        {"productDateCode": "\x00" * 10, "offeredCapacity": 1000, "capacityPrice": 1},
        {"productDateCode": "9999-12-31_NEGPOS_08_12", "offeredCapacity": 1000, "capacityPrice": 1},
        {"productDateCode": "0001-01-01_NEGPOS_00_04", "offeredCapacity": 1000, "capacityPrice": 1},
        {"productDateCode": f"{DAY}_POS_{'9' * 40}", "offeredCapacity": 1000, "energyPrice": 1},
        {"productDateCode": fcr, "offeredCapacity": -5, "capacityPrice": 1},
    ]
    for bid in bids:
        answer = client.post(_url(alpha, va), headers=alpha.headers, json={"bids": [bid]})
        assert answer.status_code == 422, (bid, answer.text)
    results: list[Any] = [
        [1, 2],
        [{"bidId": "x", "acceptedQuantity": {"quantity": 10**30}}],
        [{"bidId": None}],
        [{"bidId": "\x00", "acceptedQuantity": "\x00"}],
    ]
    for document in results:
        answer = client.post(
            f"/ancillary/{DAY}/results", headers=operator.headers, json={"bids": document}
        )
        assert answer.status_code == 422, (document, answer.text)
    for code in ("%00", "x" * 5000, f"{DAY}_NEGPOS_08_12%00"):
        answer = client.delete(f"{_url(alpha, va)}/{code}", headers=alpha.headers)
        assert answer.status_code == 404, answer.text
    for day in ("9999-12-31", "0001-01-01"):
        # Outside the engine's days (2000-01-01 to 2999-12-31): refused naming the day.
        answer = client.post(f"/ancillary/{day}/export?market=fcr", headers=operator.headers)
        assert answer.status_code == 422, answer.text
        assert answer.json()["errors"][0]["field"] == "delivery_day"
    assert client.get(_url(alpha, va), headers=alpha.headers).json()["items"] == []
