"""The pool's ancillary bids to the TSO and its results back, over HTTP and the CLI, on
SQLite and PostgreSQL: export in the TSO's bid shape, import marking each customer bid,
the pool's prequalified capacity as a limit, and the sandbox's TSO."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from auction.model import TENNET_DE
from auction.store import Store
from tests.api.conftest import Account, Clock
from tests.api.test_ancillary import DAY, _setup, _url
from tests.strategies import local

FCR = f"{DAY}_NEGPOS_08_12"


def _offer(client: TestClient, account: Account, va: str, price: float) -> str:
    body = {
        "bids": [
            {"productDateCode": FCR, "offeredCapacity": 1000, "capacityPrice": price},
            {"productDateCode": f"{DAY}_POS_08_12", "offeredCapacity": 1000, "capacityPrice": 7},
        ]
    }
    answer = client.post(_url(account, va), headers=account.headers, json=body)
    assert answer.status_code == 200, answer.text
    return next(b["bid_id"] for b in answer.json()["items"] if b["product_date_code"] == FCR)


def _accept(client: TestClient, operator: Account, bid_id: str, price: str) -> None:
    """The operator exports the day's FCR bids; the TSO accepts ``bid_id`` whole (1 MW)."""
    exported = client.post(f"/ancillary/{DAY}/export?market=fcr", headers=operator.headers)
    assert exported.status_code == 200, exported.text
    results = {
        "bids": [
            {"bidId": bid_id, "acceptedQuantity": {"quantity": 1}, "prices": [{"amount": price}]}
        ]
    }
    imported = client.post(f"/ancillary/{DAY}/results", headers=operator.headers, json=results)
    assert imported.status_code == 200, imported.text


def _bids(client: TestClient, account: Account, va: str) -> dict[str, dict[str, Any]]:
    listed = client.get(_url(account, va), headers=account.headers).json()["items"]
    return {b["product_date_code"]: b for b in listed}


def _beta_va(client: TestClient, beta: Account) -> str:
    [va] = client.get(f"/organisations/{beta.org_id}/virtual-assets", headers=beta.headers).json()[
        "items"
    ]
    return str(va["virtual_asset_id"])


def test_export_then_import_marks_each_customer_bid(
    store: Store, make_client: Callable[[], TestClient], clock: Clock
) -> None:
    client, operator, alpha, beta, va = _setup(store, make_client, clock)
    beta_va = _beta_va(client, beta)
    mine = _offer(client, alpha, va, 12.5)
    theirs = _offer(client, beta, beta_va, 14)

    exported = client.post(f"/ancillary/{DAY}/export?market=fcr", headers=operator.headers)
    assert exported.status_code == 200, exported.text
    tso = {b["bidId"]: b for b in exported.json()["bids"]}
    assert set(tso) == {mine, theirs}  # one TSO bid per customer bid, FCR only
    first = tso[mine]
    assert (first["market"], first["productType"], first["productName"]) == (
        "FCR",
        "CAPACITY",
        "NEGPOS_08_12",
    )
    assert first["connectingZone"]["zone"] == TENNET_DE
    assert first["offeredQuantity"] == {"quantity": 1, "measureUnit": "MAW"}
    assert first["prices"][0] == {
        "amount": "12.50",
        "currency": "EUR",
        "measureUnit": "EUR/MW/h",
        "resolution": "PT1H",
        "paymentDirection": "GRID_TO_PROVIDER",
        "type": "CAPACITY",
    }
    assert first["minQuantity"] == first["offeredQuantity"]  # FCR up to 25 MW: indivisible
    assert _bids(client, alpha, va)[FCR]["status"] == "sent"
    assert _bids(client, alpha, va)[f"{DAY}_POS_08_12"]["status"] == "submitted"

    results = {
        "bids": [
            {
                "bidId": mine,
                "acceptedQuantity": {"quantity": 1, "measureUnit": "MAW"},
                "prices": [{"amount": "15.00", "paymentDirection": "GRID_TO_PROVIDER"}],
            },
            {"bidId": theirs, "acceptedQuantity": {"quantity": 0, "measureUnit": "MAW"}},
        ]
    }
    for _ in range(2):  # importing twice changes nothing
        answer = client.post(f"/ancillary/{DAY}/results", headers=operator.headers, json=results)
        assert answer.status_code == 200, answer.text
        assert answer.json()["statuses"] == {"accepted": 1, "rejected": 1}
    won = _bids(client, alpha, va)[FCR]
    assert (won["status"], won["accepted_capacity"], float(won["accepted_price"])) == (
        "accepted",
        1000,
        15.0,
    )
    lost = _bids(client, beta, beta_va)[FCR]
    assert (lost["status"], lost["accepted_capacity"]) == ("rejected", 0)


def test_an_import_naming_an_unknown_bid_changes_nothing(
    store: Store, make_client: Callable[[], TestClient], clock: Clock
) -> None:
    client, operator, alpha, _beta, va = _setup(store, make_client, clock)
    mine = _offer(client, alpha, va, 12.5)
    assert client.post(f"/ancillary/{DAY}/export?market=fcr", headers=operator.headers).is_success
    results = {
        "bids": [
            {
                "bidId": mine,
                "acceptedQuantity": {"quantity": 1},
                "prices": [{"amount": "15.00"}],
            },
            {"bidId": "not-a-bid", "acceptedQuantity": {"quantity": 1}},
            {"bidId": mine, "acceptedQuantity": {"quantity": 1}, "prices": [{"amount": "1"}]},
        ]
    }
    answer = client.post(f"/ancillary/{DAY}/results", headers=operator.headers, json=results)
    assert answer.status_code == 422, answer.text
    assert {p["field"] for p in answer.json()["errors"]} == {"bidId"}
    assert _bids(client, alpha, va)[FCR]["status"] == "sent"
    bidder = client.post(f"/ancillary/{DAY}/results", headers=alpha.headers, json=results)
    assert bidder.status_code == 403


def test_an_export_above_the_pools_prequalified_capacity_is_refused(
    store: Store, make_client: Callable[[], TestClient], clock: Clock
) -> None:
    client, operator, alpha, _beta, va = _setup(store, make_client, clock)
    _offer(client, alpha, va, 12.5)
    # Two of three FCR assets out 09:00-10:00: 0.8 x 5 MW is left for NEGPOS_08_12.
    for asset_id in ("a1", "a2"):
        outage = {
            "asset_id": asset_id,
            "start": local(DAY, 9).isoformat(),
            "end": local(DAY, 10).isoformat(),
            "available_fraction": 0,
        }
        assert client.post("/fleet/outages", headers=operator.headers, json=outage).is_success
    still = client.post(f"/ancillary/{DAY}/export?market=fcr", headers=operator.headers)
    assert still.status_code == 200, still.text  # 1 MW offered, 4 MW to give
    outage = {**outage, "asset_id": "a3"}
    assert client.post("/fleet/outages", headers=operator.headers, json=outage).is_success
    refused = client.post(f"/ancillary/{DAY}/export?market=fcr", headers=operator.headers)
    assert refused.status_code == 409, refused.text
    [over] = refused.json()["over_capacity"]
    assert (over["product_code"], over["excess_kw"]) == (FCR, 1000)


def test_the_sandbox_tso_clears_and_marks_the_bids(
    store: Store, make_client: Callable[[], TestClient], clock: Clock
) -> None:
    client, operator, alpha, beta, va = _setup(store, make_client, clock)
    beta_va = _beta_va(client, beta)
    _offer(client, alpha, va, 12.5)
    _offer(client, beta, beta_va, 14)
    everything = {"demand_mw": {"NEGPOS_08_12": 10_000}}  # more than is offered
    answer = client.post(
        f"/ancillary/{DAY}/sandbox-tso?market=fcr", headers=operator.headers, json=everything
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["statuses"] == {"accepted": 2}
    paid = {
        float(_bids(client, account, v)[FCR]["accepted_price"])
        for account, v in ((alpha, va), (beta, beta_va))
    }
    assert len(paid) == 1  # pay-as-cleared: one price for both
    assert paid.pop() >= 14  # at least the highest accepted bid's

    nothing = {"demand_mw": {"POS_08_12": 0}}
    answer = client.post(
        f"/ancillary/{DAY}/sandbox-tso?market=afrr_capacity", headers=operator.headers, json=nothing
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["statuses"] == {"rejected": 2}


def test_the_cli_exports_and_imports_like_the_api(
    store_url: str,
    store: Store,
    make_client: Callable[[], TestClient],
    clock: Clock,
    tmp_path: Path,
) -> None:
    client, _operator, alpha, _beta, va = _setup(store, make_client, clock)
    mine = _offer(client, alpha, va, 12.5)
    env = {"VBA_DATABASE_URL": store_url, "PATH": "/usr/bin:/bin"}
    out = tmp_path / "fcr.json"
    vba = [sys.executable, "-m", "api.cli.main", "ancillary"]
    done = subprocess.run(
        [*vba, "export", str(DAY), "--market", "fcr", str(out)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "1 bids (1 MW)" in " ".join(done.stdout.split())
    document = json.loads(out.read_text())
    [bid] = document["bids"]
    assert bid["bidId"] == mine
    bid["acceptedQuantity"] = {"quantity": 1, "measureUnit": "MAW"}
    bid["prices"] = [{"amount": "11.00", "paymentDirection": "GRID_TO_PROVIDER"}]
    out.write_text(json.dumps(document))
    done = subprocess.run(
        [*vba, "import", str(DAY), str(out)], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "1 accepted" in done.stdout
    assert _bids(client, alpha, va)[FCR]["status"] == "accepted"


def test_an_outage_that_cuts_accepted_reserve_is_reported_to_its_owner(
    store: Store, make_client: Callable[[], TestClient], clock: Clock
) -> None:
    client, operator, alpha, _beta, va = _setup(store, make_client, clock)
    mine = _offer(client, alpha, va, 12.5)
    _accept(client, operator, mine, "15.00")
    before = _bids(client, alpha, va)[FCR]
    assert (before["available_kw"], before["undeliverable_kw"]) == (1000, 0)
    cuts = []
    for asset_id in ("a1", "a2", "a3"):  # the whole fleet out 09:00-09:15
        outage = {
            "asset_id": asset_id,
            "start": local(DAY, 9).isoformat(),
            "end": local(DAY, 9, 15).isoformat(),
            "available_fraction": 0,
        }
        answer = client.post("/fleet/outages", headers=operator.headers, json=outage)
        assert answer.status_code == 201, answer.text
        cuts += answer.json()["reserve_cut"]
    # The operator hears of the cut commitment once, when it happens.
    [cut] = [c for c in cuts if c["bid_id"] == mine]
    assert (cut["org_id"], cut["accepted_kw"], cut["available_kw"]) == (alpha.org_id, 1000, 0)
    after = _bids(client, alpha, va)[FCR]
    assert (after["status"], after["available_kw"], after["undeliverable_kw"]) == (
        "accepted",
        0,
        1000,
    )
    aside = _bids(client, alpha, va)[f"{DAY}_POS_08_12"]  # submitted, on the aFRR+ block
    assert aside["undeliverable_kw"] == aside["offered_capacity"] - aside["available_kw"]


def test_the_days_settlement_passes_the_tsos_payment_on_to_the_owner(
    store: Store, make_client: Callable[[], TestClient], clock: Clock
) -> None:
    client, operator, alpha, _beta, va = _setup(store, make_client, clock)
    mine = _offer(client, alpha, va, 12.5)
    _accept(client, operator, mine, "15.25")
    clock.now = local(DAY, 0) + timedelta(days=1, hours=8)  # D+1
    run = client.post(
        f"/settlement/{DAY}/run", headers=operator.headers, json={"imbalance_price_eur_per_mwh": 0}
    )
    assert run.status_code == 201, run.text
    # 1 MW x 15.25 EUR/MW/h x 4 h of NEGPOS_08_12, passed on to its owner.
    assert Decimal(run.json()["totals_eur"]["ancillary_revenue"]) == Decimal("-61")
    assert run.json()["reconciliation"]["ok"]
    [invoice] = client.get(f"/organisations/{alpha.org_id}/invoices", headers=alpha.headers).json()[
        "items"
    ]
    [line] = [ln for ln in invoice["lines"] if ln["kind"] == "ancillary_revenue"]
    assert (line["bid_id"], Decimal(line["amount_eur"])) == (mine, Decimal("-61"))
    assert Decimal(invoice["ancillary_eur"]) == Decimal("-61")
    awards = sum(Decimal(ln["amount_eur"]) for ln in invoice["lines"] if ln["kind"] == "award")
    assert Decimal(invoice["total_eur"]) == awards - 61 + sum(
        Decimal(ln["amount_eur"])
        for ln in invoice["lines"]
        if ln["kind"] in ("unavailability_credit", "imbalance_charge")
    )


def test_a_result_priced_in_another_unit_is_refused_not_converted(
    store: Store, make_client: Callable[[], TestClient], clock: Clock
) -> None:
    """An FCR settlement price per MW and 4-hour product read as per MW and hour would pay
    four times over: the import names the unit it needs and changes nothing."""
    client, operator, alpha, _beta, va = _setup(store, make_client, clock)
    mine = _offer(client, alpha, va, 12.5)
    exported = client.post(f"/ancillary/{DAY}/export?market=fcr", headers=operator.headers)
    assert exported.status_code == 200, exported.text
    per_product = {"amount": "56.00", "measureUnit": "EUR/MW"}
    results = {
        "bids": [{"bidId": mine, "acceptedQuantity": {"quantity": 1}, "prices": [per_product]}]
    }
    answer = client.post(f"/ancillary/{DAY}/results", headers=operator.headers, json=results)
    assert answer.status_code == 422, answer.text
    [problem] = answer.json()["errors"]
    assert (problem["field"], problem["value"]) == ("prices", "EUR/MW")
    assert "EUR/MW/h" in problem["rule"]
    assert _bids(client, alpha, va)[FCR]["status"] == "sent"
