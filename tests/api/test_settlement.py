"""Settling a delivered day over HTTP: invoices with credits and imbalance charges that
reconcile with the clearing, nominations as CSV and schema-valid XML, versions on re-runs."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from fastapi.testclient import TestClient

from api import services
from api.cli.main import main
from auction.errors import Conflict
from auction.store import Store
from auction.store.settlement import LINES, Run, next_version, save_run
from settlement.nominations import validate_document
from tests.api.conftest import EICS, Account, Clock, provision, small_auction
from tests.strategies import NORMAL_DAY, local

START = local(NORMAL_DAY, 10)
DAY = str(NORMAL_DAY)


def _p1(vas: list[dict[str, Any]]) -> dict[str, Any]:
    return next(v for v in vas if v["product_id"] == "p1")


def _wholesale(va: dict[str, Any]) -> dict[str, Any]:
    return next(b for b in va["blocks"] if b["market"] == "wholesale")


def test_a_settled_day_invoices_credits_charges_and_nominates(
    store_url: str, store: Store, make_client: Callable[[], TestClient], clock: Clock
) -> None:
    client = make_client()
    operator = provision(store, client, "Operator", "operator")
    alpha = provision(store, client, "Alpha Trading", "bidder", EICS[1])
    beta = provision(store, client, "Beta Flex", "bidder", EICS[2])
    vas = small_auction(client, operator, [alpha, beta], clock)  # alpha 100, beta 99 EUR/MW
    va = _p1(vas[alpha.org_id])
    url = (
        f"/organisations/{alpha.org_id}/virtual-assets/{va['virtual_asset_id']}"
        f"/blocks/{_wholesale(va)['block_id']}"
    )
    # 800 kW out in the first quarter-hour: ends 200 kWh under its target (tolerance 20).
    answer = client.post(
        url, headers=alpha.headers, json={"schedule": [{"power": 800, "time": START.isoformat()}]}
    )
    assert answer.status_code == 200, answer.text
    early = client.post(
        f"/settlement/{DAY}/run",
        headers=operator.headers,
        json={"imbalance_price_eur_per_mwh": 150},
    )
    assert early.status_code == 409

    clock.now = local(NORMAL_DAY, 0) + timedelta(days=1, hours=9)
    run = client.post(
        f"/settlement/{DAY}/run",
        headers=operator.headers,
        json={"imbalance_price_eur_per_mwh": 150},
    )
    assert run.status_code == 201, run.text
    settled = run.json()
    assert settled["version"] == 1
    assert settled["reconciliation"]["ok"], settled["reconciliation"]
    assert Decimal(settled["totals_eur"]["award"]) == Decimal("398")  # 2 x 100 + 2 x 99

    invoices = {
        account.org_id: client.get(
            f"/organisations/{account.org_id}/invoices", headers=account.headers
        ).json()["items"]
        for account in (alpha, beta)
    }
    [mine] = invoices[alpha.org_id]
    assert Decimal(mine["awards_eur"]) == Decimal("200")
    assert Decimal(mine["imbalance_eur"]) == Decimal("27")  # 0.18 MWh x 150 EUR/MWh
    assert Decimal(mine["credits_eur"]) == 0
    assert Decimal(mine["amount_due_eur"]) == Decimal("227.00")
    own = {v["virtual_asset_id"] for v in vas[alpha.org_id]}
    assert {line["virtual_asset_id"] for line in mine["lines"]} <= own
    total_awards = sum(Decimal(i["awards_eur"]) for inv in invoices.values() for i in inv)
    assert total_awards == Decimal("398")

    nomination = client.get(
        f"/organisations/{alpha.org_id}/nominations/{DAY}", headers=alpha.headers
    ).json()
    assert len(nomination["intervals"]) == 96
    first = next(i for i in nomination["intervals"] if Decimal(i["mw"]) != 0)
    assert Decimal(first["mw"]) == Decimal("0.8")
    xml = client.get(
        f"/organisations/{alpha.org_id}/nominations/{DAY}",
        headers=alpha.headers,
        params={"format": "xml"},
    )
    assert xml.headers["content-type"].startswith("application/xml")
    assert validate_document(xml.content) == []
    # Beta's nomination is not alpha's to read.
    foreign = client.get(f"/organisations/{beta.org_id}/nominations/{DAY}", headers=alpha.headers)
    assert foreign.status_code == 404

    again = client.post(
        f"/settlement/{DAY}/run",
        headers=operator.headers,
        json={"imbalance_price_eur_per_mwh": 150},
    )
    assert again.json()["version"] == 2
    second = client.get(
        f"/organisations/{alpha.org_id}/nominations/{DAY}",
        headers=alpha.headers,
        params={"format": "xml"},
    )
    assert second.content != xml.content
    # Read back later, the day answers what its newest run answered: totals and documents too.
    stored = client.get(f"/settlement/{DAY}", headers=operator.headers).json()
    assert stored == again.json()
    # The operator's command line, on a clock before the day is over: refused, saying until
    # when the day is delivered.
    vba = Path(sys.executable).with_name("vba")
    before_the_end = local(NORMAL_DAY, 23).isoformat()
    done = subprocess.run(
        [vba, "settle", DAY, "--imbalance-price", "150", "--now", before_the_end],
        env={"VBA_DATABASE_URL": store_url, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "is delivered until 2026-11-29T23:00:00Z" in done.stdout


def test_an_outage_credits_the_owner_of_the_lost_block(
    store: Store, make_client: Callable[[], TestClient], clock: Clock
) -> None:
    client = make_client()
    operator = provision(store, client, "Operator", "operator")
    accounts: list[Account] = [
        provision(store, client, "Alpha Trading", "bidder", EICS[1]),
        provision(store, client, "Beta Flex", "bidder", EICS[2]),
    ]
    small_auction(client, operator, accounts, clock)
    window = {"start": START.isoformat(), "end": (START + timedelta(hours=4)).isoformat()}
    lost: dict[str, int] = {}
    for asset in ("a1", "a2"):  # 1 MW / 2 MWh is left for p1's 2 MW
        answer = client.post(
            "/fleet/outages",
            headers=operator.headers,
            json={**window, "asset_id": asset, "available_fraction": 0},
        )
        assert answer.status_code == 201, answer.text
        lost = {u["org_id"]: u["lost_kw"] for u in answer.json()["unavailable"]}
    assert sum(lost.values()) == 1000

    clock.now = local(NORMAL_DAY, 0) + timedelta(days=1, hours=9)
    run = client.post(
        f"/settlement/{DAY}/run", headers=operator.headers, json={"imbalance_price_eur_per_mwh": 0}
    )
    assert run.status_code == 201, run.text
    credits = Decimal(run.json()["totals_eur"]["unavailability_credit"])
    price = {accounts[0].org_id: Decimal(100), accounts[1].org_id: Decimal(99)}
    # The whole of p1's window: each lost kW of a 1 MW block credits its price per MW.
    assert credits == -sum(price[org] * kw / 1000 for org, kw in lost.items())
    for account in accounts:
        [invoice] = client.get(
            f"/organisations/{account.org_id}/invoices", headers=account.headers
        ).json()["items"]
        expected = price[account.org_id] * lost.get(account.org_id, 0) / 1000
        assert Decimal(invoice["credits_eur"]) == -expected


def test_vba_settle_settles_a_delivered_day_from_the_command_line(
    store_url: str, store: Store, make_client: Callable[[], TestClient], clock: Clock
) -> None:
    """A day three days before the command's clock: `vba settle` settles it, and says what
    it did."""
    day = NORMAL_DAY
    clock.now = local(day, 0) - timedelta(days=5)
    client = make_client()
    operator = provision(store, client, "Operator", "operator")
    alpha = provision(store, client, "Alpha Trading", "bidder", EICS[1])
    small_auction(client, operator, [alpha], clock, day=day)
    three_days_later = (local(day, 0) + timedelta(days=3)).isoformat()
    vba = Path(sys.executable).with_name("vba")
    done = subprocess.run(
        [vba, "settle", str(day), "--imbalance-price", "99.5", "--now", three_days_later],
        env={"VBA_DATABASE_URL": store_url, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    said = " ".join(done.stdout.split())  # the terminal wraps long lines
    assert f"settled {day} (version 1)" in said
    assert "1 nomination documents" in said
    assert "reconciled: nominated = scheduled" in said
    [invoice] = client.get(f"/organisations/{alpha.org_id}/invoices", headers=alpha.headers).json()[
        "items"
    ]
    assert Decimal(invoice["awards_eur"]) == Decimal(200)


def test_a_version_stored_meanwhile_is_refused_as_a_conflict(store: Store) -> None:
    """Two runs of one day on two servers may pick the same version: the second is told to
    run again, with nothing written, instead of failing with a database error."""
    run = Run(NORMAL_DAY, 1, START, "test", 0, {"ok": True})
    no_lines = pl.DataFrame(schema=LINES)
    with store.write() as conn:
        save_run(conn, run, no_lines, [])
    with pytest.raises(Conflict, match="run the settlement again"), store.write() as conn:
        save_run(conn, run, no_lines, [])
    with store.read() as conn:
        assert next_version(conn, NORMAL_DAY) == 2


@pytest.mark.parametrize(
    ("price", "rule"),
    [
        ("cheap", "is not a number"),
        ("-1", "from 0 to"),
        ("nan", "from 0 to"),
        ("1e30", "from 0 to"),
        ("99.505", "more than two decimals"),
    ],
)
def test_vba_settle_refuses_a_price_that_is_not_whole_cents(
    price: str, rule: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["settle", DAY, "--imbalance-price", price])
    assert stopped.value.code == 2
    said = capsys.readouterr().err
    assert "--imbalance-price" in said
    assert rule in said
    assert repr(price) in said


def test_a_run_sent_again_under_its_key_answers_the_run_it_made_even_at_once(
    store: Store, make_client: Callable[[], TestClient], clock: Clock
) -> None:
    client = make_client()
    operator = provision(store, client, "Operator", "operator")
    accounts = [provision(store, client, "Alpha Trading", "bidder", EICS[1])]
    small_auction(client, operator, accounts, clock)
    clock.now = local(NORMAL_DAY, 0) + timedelta(days=1, hours=9)
    user_id = client.get("/auth/me", headers=operator.headers).json()["user_id"]

    def settle_once(_: int) -> int:
        settled = services.settlement.settle_day(
            store, NORMAL_DAY, 15_000, operator.org_id, user_id, clock.now, key="run-1"
        )
        return settled.run.version

    # Four sends of one form at once (two clicks, a reload): one run, the same answer.
    with ThreadPoolExecutor(4) as pool:
        versions = set(pool.map(settle_once, range(4)))
    assert versions == {1}
    with store.read() as conn:
        assert next_version(conn, NORMAL_DAY) == 2

    headers = {**operator.headers, "Idempotency-Key": "run-1"}
    again = client.post(
        f"/settlement/{DAY}/run", headers=headers, json={"imbalance_price_eur_per_mwh": 150}
    )
    assert again.status_code == 201, again.text
    assert again.json()["version"] == 1
    other_price = client.post(
        f"/settlement/{DAY}/run", headers=headers, json={"imbalance_price_eur_per_mwh": 151}
    )
    assert other_price.status_code == 422
    assert other_price.json()["errors"][0]["field"] == "Idempotency-Key"
    unkeyed = client.post(
        f"/settlement/{DAY}/run",
        headers=operator.headers,
        json={"imbalance_price_eur_per_mwh": 150},
    )
    assert unkeyed.json()["version"] == 2
