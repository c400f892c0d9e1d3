"""The typed Python client (``api.client``) against a real uvicorn server, through a whole
auction: sign in, list, bid, amend, withdraw, page, clear, dispatch, offer reserve, settle."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import polars as pl
import pytest
from fastapi.testclient import TestClient

from api.client import VbaClient, VbaError
from api.http.app import create_app
from api.http.settings import Settings
from auction.store import Store, migrate
from auction.store.accounts import accept_invite, create_invite, create_org
from tests.api.conftest import EICS, PASSWORD, SECRET, Clock, password_hash, sample_archive
from tests.calendar_bodies import template_body
from tests.served import served


def _user(store: Store, name: str, role: str, eic: str, now: datetime) -> str:
    """An organisation with one user of ``role``, made at ``now``; its email."""
    email = f"{name.lower().replace(' ', '.')}@example.com"
    with store.write() as conn:
        org = create_org(conn, name, eic, EICS[0], now)
        token = create_invite(conn, email, org.org_id, role, now, timedelta(hours=1))
        accept_invite(conn, token, password_hash(), now)
    return email


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[str, Clock, Store]]:
    """A served app over a fresh SQLite store, with a clock the test moves."""
    url = f"sqlite:///{tmp_path / 'vba.db'}"
    store = Store(url)
    migrate(store)
    clock = Clock(datetime(2026, 11, 26, 12, 0, tzinfo=UTC))
    settings = Settings(database_url=url, secret_key=SECRET, token_minutes=7 * 24 * 60)
    app = create_app(settings, clock=clock, scheduler=False)
    with served(app) as port:
        yield f"http://127.0.0.1:{port}", clock, store
    store.dispose()


def _sample_auction(operator: VbaClient) -> pl.DataFrame:
    """The bundled sample's fleet and auction, opened; its bids."""
    archive = sample_archive()
    fleet = operator.put_fleet(archive.fleet.to_dicts())
    assert {a.asset_id for a in fleet} == set(archive.fleet["asset_id"])
    config = {**archive.config.model_dump(mode="json"), "auction_id": "sample"}
    created = operator.create_auction(config, archive.products.to_dicts())
    assert created.status == "draft"
    assert operator.open_auction("sample").status == "open"
    return archive.bids.filter(pl.col("linked_to").is_null())


def _terms(row: dict[str, object]) -> dict[str, object]:
    keys = ("product_id", "quantity_mw", "min_quantity_mw", "price_eur_per_mw")
    return {k: row[k] for k in keys}


def test_a_trader_and_an_operator_take_an_auction_through_its_life(
    world: tuple[str, Clock, Store],
) -> None:
    base_url, clock, store = world
    _user(store, "Operator", "operator", EICS[0], clock.now)
    trader_email = _user(store, "Alpha Trading", "bidder", EICS[1], clock.now)
    with VbaClient(base_url) as operator, VbaClient(base_url, page_size=3) as trader:
        with pytest.raises(VbaError) as caught:
            trader.authenticate(trader_email, "not the password at all")
        assert caught.value.status == 401
        operator.authenticate("operator@example.com", PASSWORD)
        trader.authenticate(trader_email, PASSWORD)
        assert operator.me().role == "operator"
        me = trader.me()
        assert (me.role, me.org_name) == ("bidder", "Alpha Trading")

        rows = _sample_auction(operator).to_dicts()
        assert [a.auction_id for a in trader.auctions()] == ["sample"]
        assert trader.auction("sample").my_status == "RUNNING"

        # A batch, then one more: the list is read 3 at a time, following next.
        batch = trader.submit_bids("sample", [_terms(r) for r in rows[:7]])
        assert len(batch) == 7
        one = trader.submit_bid("sample", **_terms(rows[7]), idempotency_key="one-more")
        again = trader.submit_bid("sample", **_terms(rows[7]), idempotency_key="one-more")
        assert again.bid_id == one.bid_id
        listed = trader.bids("sample")
        assert len(listed) == 8
        with VbaClient(base_url, token=trader.token) as at_once:
            assert listed == at_once.bids("sample")
        assert {b.bid_id for b in listed} == {b.bid_id for b in [*batch, one]}

        # Amend with the right version, then a lost update; withdraw.
        first = batch[0]
        amended = trader.amend_bid(
            "sample",
            first.bid_id,
            first.product_id,
            first.quantity_mw,
            123.45,
            min_quantity_mw=first.min_quantity_mw,
            version=first.version,
        )
        assert (amended.version, amended.price_eur_per_mw) == (2, 123.45)
        with pytest.raises(VbaError) as caught:
            trader.amend_bid(
                "sample", first.bid_id, first.product_id, first.quantity_mw, 99, version=1
            )
        assert caught.value.status == 412
        trader.withdraw_bid("sample", batch[1].bid_id, version=batch[1].version)
        assert len(trader.bids("sample")) == 7
        versions = trader.bid_versions("sample", first.bid_id)
        assert [v.action for v in versions] == ["submit", "amend"]

        # A refusal names the field and the rule.
        with pytest.raises(VbaError) as caught:
            trader.submit_bid("sample", **{**_terms(rows[8]), "price_eur_per_mw": 10.001})
        assert caught.value.status == 422
        assert [e["field"] for e in caught.value.errors] == ["price_eur_per_mw"]

        # The gate closes (2026-11-27 15:00 Berlin); the operator clears and publishes.
        clock.now = datetime(2026, 11, 27, 14, 1, tzinfo=UTC)
        operator.close_auction("sample")
        cleared = operator.clear_auction("sample")
        assert cleared.checker_ok
        assert operator.publish_auction("sample").status == "published"
        awards = trader.awards("sample")
        assert {a.bid_id for a in awards} == {b.bid_id for b in trader.bids("sample")}

        # Dispatch: a float from arithmetic is a whole kW; 300.4 kW is not.
        vas = trader.virtual_assets()
        assert vas == trader.virtual_assets(status="upcoming")
        va = next(v for v in vas if any(b.dispatchable and b.power_kw >= 300 for b in v.blocks))
        assert trader.virtual_asset(va.virtual_asset_id) == va
        block = next(b for b in va.blocks if b.dispatchable and b.power_kw >= 300)
        view = trader.set_schedule(
            va.virtual_asset_id, block.block_id, {block.start: 0.1 * 3 * 1000}
        )
        assert view.schedule[0].power == 300
        assert trader.schedule(va.virtual_asset_id, block.block_id) == view
        with pytest.raises(VbaError) as caught:
            trader.set_schedule(va.virtual_asset_id, block.block_id, [(block.start, 300.4)])
        [problem] = caught.value.errors
        assert (problem["loc"], problem["field"]) == (["body", "schedule", 0, "power"], "power")
        assert "whole kW" in problem["rule"]

        # Reserve: the trader offers a whole MW of FCR; the operator exports the pool's
        # bids for the TSO, then plays the sandbox's TSO, whose results the trader reads.
        day = trader.auction("sample").delivery_day
        fcr = next(
            (v, b) for v in vas for b in v.blocks if b.market == "fcr" and b.power_kw >= 1000
        )
        offered = trader.submit_ancillary_bids(
            fcr[0].virtual_asset_id,
            [
                {
                    "productDateCode": f"{day}_NEGPOS_08_12",
                    "offeredCapacity": 1000,
                    "capacityPrice": 8.5,
                }
            ],
        )
        assert [(b.market, b.status, b.offered_capacity) for b in offered] == [
            ("fcr", "submitted", 1000)
        ]
        with pytest.raises(VbaError) as caught:
            trader.submit_ancillary_bids(
                fcr[0].virtual_asset_id,
                [
                    {
                        "productDateCode": f"{day}_NEGPOS_08_12",
                        "offeredCapacity": 1500,
                        "capacityPrice": 8.5,
                    }
                ],
            )
        assert caught.value.status == 422
        exported = operator.export_ancillary(day, "fcr")
        assert [b["bidId"] for b in exported.bids] == [offered[0].bid_id]
        summary = operator.sandbox_tso(day, "fcr", seed=3)
        assert sum(summary.statuses.values()) >= 1
        [after] = trader.ancillary_bids(fcr[0].virtual_asset_id)
        assert after.status in ("accepted", "partially_accepted", "rejected")

        # The delivered day is settled: invoices and a nomination.
        clock.now = datetime.combine(day, time(9), UTC) + timedelta(days=1)
        run = operator.run_settlement(day, 150)
        assert run.version == 1
        assert any(a.awarded_mw > 0 for a in awards)
        assert [i.auction_id for i in trader.invoices()] == ["sample"]
        nomination = trader.nominations(day)
        assert nomination.intervals
        xml = trader.nomination_document(day)
        assert xml.startswith("<?xml")
        assert nomination.document_id in xml
        csv = trader.nomination_document(day, "csv")
        assert len(csv.splitlines()) == len(nomination.intervals) + 1


def test_the_client_rides_on_a_test_client_and_lists_the_operator_s_world(
    world: tuple[str, Clock, Store],
) -> None:
    """An httpx2 client of your own (here FastAPI's in-process TestClient) carries it."""
    _base_url, clock, store = world
    _user(store, "Operator", "operator", EICS[0], clock.now)
    settings = Settings(database_url=store.url, secret_key=SECRET, token_minutes=60)
    with TestClient(create_app(settings, clock=clock, scheduler=False)) as http:
        operator = VbaClient(client=http, page_size=2)
        operator.authenticate("operator@example.com", PASSWORD)
        for i, eic in enumerate(EICS[1:], start=1):
            operator.create_organisation(f"Org {i}", eic)
        orgs = operator.organisations()
        assert [o.name for o in orgs] == ["Operator", "Org 1", "Org 2", "Org 3"]
        invited = operator.invite("new@example.com", orgs[1].org_id)
        assert [i.invite_id for i in operator.invites(orgs[1].org_id)] == [invited.invite_id]
        assert operator.users(orgs[1].org_id) == []
        # The sandbox's clock is another helper's work: tried only where it is served.
        if "/sandbox/clock" in http.app.openapi()["paths"]:  # type: ignore[attr-defined]
            before = operator.sandbox_clock()
            after = operator.advance_clock(seconds=60)
            assert after.now - before.now == timedelta(seconds=60)
        with pytest.raises(VbaError) as caught:
            operator.awards("nope", org_id=orgs[1].org_id)
        assert caught.value.status == 404
        assert caught.value.errors == []


def test_the_operator_keeps_a_calendar_and_reads_the_rebalancing_plan(
    world: tuple[str, Clock, Store],
) -> None:
    base_url, clock, store = world  # 2026-11-26 13:00 Berlin
    _user(store, "Operator", "operator", EICS[0], clock.now)
    with VbaClient(base_url) as operator:
        operator.authenticate("operator@example.com", PASSWORD)
        saved = operator.put_template("daily", template_body())
        assert (saved.template_id, saved.version) == ("daily", 1)
        # Its first day is the first whose opening (D-7 09:00) is still ahead: 12-04.
        days = operator.calendar(date(2026, 12, 4), days=3)
        assert [(d.delivery_day, d.state) for d in days] == [
            (date(2026, 12, 4), "planned"),
            (date(2026, 12, 5), "planned"),
            (date(2026, 12, 6), "planned"),
        ]
        marked = operator.mark_day("daily", date(2026, 12, 5), {"action": "skip", "reason": "X"})
        assert (marked.action, marked.reason) == ("skip", "X")
        again = operator.calendar(date(2026, 12, 5), days=1)
        assert [(d.state, d.reason) for d in again] == [("to_skip", "X")]

        start = datetime(2026, 11, 28, 23, tzinfo=UTC)
        plan = operator.rebalancing(start, start + timedelta(days=1))
        assert plan.summary == ["No wholesale block is delivered in that time."]
        assert operator.setpoints(start, start + timedelta(days=1), rebalance=False).trades == []
