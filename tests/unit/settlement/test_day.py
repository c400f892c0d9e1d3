"""A day's settlement from hand-built frames, without a store (``settlement.day``).

The base day: one auction t1 over 10:00-14:00 local (16 MTUs). Org A won bid b1 (10 MW
at 30 EUR/MW) and carries wholesale block w1 and FCR block f1; org B won b2 (2 MW at
15 EUR/MW) with block w2; the operator OP holds a fixed allocation with block w3. The
wholesale blocks are scheduled; one physical asset follows their sum exactly.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from typing import Any

import polars as pl
import pytest
from lxml import etree

from auction.book import UTC_TIME
from auction.eic import check_character
from auction.model import AuctionConfig
from auction.store.results import RESULT_SCHEMAS
from auction.timegrid import day_bounds
from dispatch.disaggregate import TRADES, Disaggregation
from dispatch.frames import SCHEDULES
from dispatch.slices import LOST
from settlement.day import (
    IMBALANCES,
    AuctionFrames,
    DayFrames,
    imbalances,
    nomination_documents,
    reconciliation,
    settle,
)
from settlement.nominations import NAMESPACE, nomination_document_id, validate_document
from tests.strategies import MTU, NORMAL_DAY, local

TZ = "Europe/Berlin"
START, END = local(NORMAL_DAY, 10), local(NORMAL_DAY, 14)
CONFIG = AuctionConfig(auction_id="t1", delivery_day=NORMAL_DAY)
CREATED = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
PRICE = 15_000  # cents per MWh: 150 EUR/MWh


def eic(org: str) -> str:
    code = f"11X{org:-<12}"
    return code + check_character(code)


EIC = {org: eic(org) for org in ("A", "B", "OP")}
# block -> (virtual asset, market, kW, kWh); wholesale energies are 2 h of power.
BLOCKS = {
    "w1": ("v1", "wholesale", 10_000, 20_000),
    "f1": ("v1", "fcr", 5_000, 5_000),
    "w2": ("v2", "wholesale", 2_000, 4_000),
    "w3": ("v3", "wholesale", 1_000, 2_000),
}
# block, MTUs after 10:00, kW (positive discharges)
SCHEDULED = [("w1", 0, 1_000), ("w1", 1, 1_000), ("w1", 4, -500), ("w2", 8, 2_000), ("w3", 12, 300)]
Row = dict[str, Any]


def award(bid_id: str, org: str, kw: int, cents: int, **extra: Any) -> Row:
    row = {"bid_id": bid_id, "org_id": org, "product_id": "p1", "awarded_kw": kw}
    row |= {"price_cents": cents, "payment_units": kw * cents, "status": "accepted"}
    return row | {"reason": None} | extra


AWARDS = [award("b1", "A", 10_000, 3_000), award("b2", "B", 2_000, 1_500)]
PAID = 10_000 * 3_000 + 2_000 * 1_500


def block_rows(names: list[str] | None = None) -> pl.DataFrame:
    rows = [
        {"block_id": b, "virtual_asset_id": va, "market": m, "power_kw": kw, "energy_kwh": kwh}
        | {"start": START, "end": END}
        for b, (va, m, kw, kwh) in BLOCKS.items()
        if names is None or b in names
    ]
    return pl.DataFrame(rows, schema=RESULT_SCHEMAS["blocks"])


def wholesale(
    names: list[str], eta_charge: float = 1.0, eta_discharge: float = 1.0
) -> pl.DataFrame:
    """Wholesale blocks with their product's terms, as the service joins them."""
    return block_rows(names).with_columns(
        product_id=pl.lit("p1"),
        eta_charge=pl.lit(eta_charge),
        eta_discharge=pl.lit(eta_discharge),
        daily_cycle_limit=pl.lit(None, pl.Float64),
    )


def powers(scheduled: list[tuple[str, int, int]]) -> dict[str, list[int]]:
    """Each scheduled block's kW over its 16 MTUs."""
    out: dict[str, list[int]] = {}
    for block_id, k, kw in scheduled:
        out.setdefault(block_id, [0] * 16)[k] = kw
    return out


def disaggregation(kw: dict[int, float], short: dict[int, float] | None = None) -> Disaggregation:
    """One asset running at ``kw`` (MTUs after 10:00), the rest of the day at 0."""
    start, end = day_bounds(NORMAL_DAY, TZ)
    starts = pl.datetime_range(start, end, MTU, closed="left", time_zone="UTC", eager=True)
    power = [kw.get(int((t - START) / MTU), 0.0) for t in starts]
    setpoints = pl.DataFrame({"asset_id": "a1", "start": starts, "power_kw": power, "soc_kwh": 0.0})
    shortfall = pl.DataFrame(
        [
            (START + k * MTU, kw.get(k, 0.0) + s, kw.get(k, 0.0), s)
            for k, s in (short or {}).items()
        ],
        schema={"start": UTC_TIME}
        | dict.fromkeys(["virtual_kw", "physical_kw", "shortfall_kw"], pl.Float64),
        orient="row",
    )
    return Disaggregation(setpoints, shortfall, pl.DataFrame(), "split followed", 3, len(starts))


def fleet_follows(scheduled: list[tuple[str, int, int]]) -> Disaggregation:
    total: dict[int, float] = {}
    for _, k, kw in scheduled:
        total[k] = total.get(k, 0.0) + kw
    return disaggregation(total)


def day(awards: list[Row] = AWARDS, **changes: Any) -> DayFrames:
    """The base day (module docstring), with whatever is given instead."""
    vas = [("v1", "A", "b1"), ("v2", "B", "b2"), ("v3", "OP", None)]
    va_frame = pl.DataFrame(
        [
            {"virtual_asset_id": v, "org_id": o, "bid_id": b, "product_id": "p1"}
            | {"start": START, "end": END}
            for v, o, b in vas
        ],
        schema=RESULT_SCHEMAS["virtual_assets"],
    )
    auction = AuctionFrames(
        auction_id="t1",
        config=CONFIG,
        awards=pl.DataFrame(awards, schema=RESULT_SCHEMAS["awards"]),
        virtual_assets=va_frame,
        blocks=block_rows(),
        lost=pl.DataFrame([], schema=LOST),
        wholesale=wholesale(["w1", "w2", "w3"]),
        power_kw=powers(SCHEDULED),
    )
    start, end = day_bounds(NORMAL_DAY, TZ)
    rows = [(b, START + k * MTU, kw) for b, k, kw in SCHEDULED]
    base = DayFrames(
        day=NORMAL_DAY,
        start=start,
        end=end,
        auctions=[auction],
        blocks=block_rows().with_columns(auction_id=pl.lit("t1")),
        schedules=pl.DataFrame(rows, schema=SCHEDULES, orient="row"),
        owners=va_frame.select("virtual_asset_id", "org_id"),
        setpoints=[fleet_follows(SCHEDULED)],
        eic_of=EIC,
        operator_org_id="OP",
    )
    return dataclasses.replace(base, **changes)


# --------------------------------------------------------------------------- imbalances


def test_a_block_without_a_schedule_idles() -> None:
    shifted = CONFIG.model_copy(update={"initial_soc_fraction": 0.3, "final_soc_fraction": 0.6})
    for config, expected in ((CONFIG, 0.0), (shifted, (0.3 - 0.6) * 20_000)):
        got = imbalances(config, wholesale(["w1"]), {})
        assert got.schema == IMBALANCES
        assert got.rows() == [("v1", pytest.approx(expected), pytest.approx(0.01 * 20_000))]


def test_a_discharging_block_ends_under_its_target_by_energy_over_eta() -> None:
    # 1,000 kW for 4 MTUs is 1,000 kWh out at eta 0.9; 400 kW charged for 2 MTUs at 0.8.
    power = [1_000] * 4 + [-400] * 2 + [0] * 10
    got = imbalances(CONFIG, wholesale(["w1", "w2"], 0.8, 0.9), {"w1": power, "w9": [5] * 16})
    assert got.rows() == [
        ("v1", pytest.approx(-1_000 / 0.9 + 0.8 * 200), pytest.approx(200.0)),
        ("v2", pytest.approx(0.0), pytest.approx(40.0)),
    ]


# --------------------------------------------------------------------------- nominations


def test_one_valid_document_per_customer_carrying_its_kw() -> None:
    frames = day()
    settled = settle(frames, PRICE)
    documents = nomination_documents(frames, settled.nominated, 3, CREATED)
    assert settled.documents(3, CREATED) == documents
    assert [d["org_id"] for d in documents] == ["A", "B"]  # none for the operator OP
    expected_kw = {"A": {40: 1_000, 41: 1_000, 44: -500}, "B": {48: 2_000}}  # MTUs of the day
    for doc in documents:
        org, eic = doc["org_id"], EIC[doc["org_id"]]
        assert doc["document_id"] == nomination_document_id(NORMAL_DAY, eic)
        xml = doc["xml_text"].encode()
        assert validate_document(xml) == []
        version = etree.fromstring(xml).find("s:DocumentVersion", {"s": NAMESPACE})
        assert version.get("v") == "3"
        mtus = json.loads(doc["mtu_json"])
        assert len(mtus) == 96
        assert {k: kw for k, kw in enumerate(mtus) if kw} == expected_kw[org]
        assert len(doc["csv_text"].splitlines()) == 1 + 96
    a_csv = documents[0]["csv_text"].splitlines()
    assert a_csv[1 + 40] == (
        f"2026-11-29T10:00:00+01:00,2026-11-29T10:15:00+01:00,{EIC['OP']},{EIC['A']},1.000"
    )
    assert a_csv[1 + 44].endswith(f",{EIC['A']},{EIC['OP']},0.500")


# --------------------------------------------------------------------------- reconciliation


def test_nominations_that_match_the_schedules_reconcile() -> None:
    frames = day()
    report = reconciliation(frames, settle(frames, PRICE).nominated)
    assert report["organisations"] == [
        {"org_id": o, "nominated_kwh": kwh, "scheduled_kwh": kwh, "ok": True}
        for o, kwh in (("A", 375.0), ("B", 500.0), ("OP", 75.0))
    ]
    assert (report["virtual_kwh"], report["setpoints_kwh"], report["shortfall_kwh"]) == (
        950.0,
        950.0,
        0.0,
    )
    assert report["ok"] is True


def test_an_organisation_without_schedules_reconciles_at_zero() -> None:
    scheduled = [s for s in SCHEDULED if s[0] != "w2"]
    frames = day(
        schedules=day().schedules.filter(pl.col("block_id") != "w2"),
        setpoints=[fleet_follows(scheduled)],
    )
    report = reconciliation(frames, settle(frames, PRICE).nominated)
    assert report["organisations"][1] == {
        "org_id": "B",
        "nominated_kwh": 0.0,
        "scheduled_kwh": 0.0,
        "ok": True,
    }
    assert report["ok"] is True


def test_a_nomination_that_misses_its_schedules_is_not_ok() -> None:
    frames = day()
    nominated = settle(frames, PRICE).nominated.with_columns(
        power_kw=pl.when(pl.col("org_id") == "B").then(0).otherwise(pl.col("power_kw"))
    )
    report = reconciliation(frames, nominated)
    assert [o["ok"] for o in report["organisations"]] == [True, False, True]
    assert report["organisations"][1]["nominated_kwh"] == 0.0
    assert report["ok"] is False


def test_setpoints_that_miss_the_schedules_are_not_ok_unless_reported_short() -> None:
    frames = day()
    nominated = settle(frames, PRICE).nominated
    # 400 kW of the 2,000 kW at 12:00 are not delivered: 100 kWh.
    physical = {0: 1_000.0, 1: 1_000.0, 4: -500.0, 8: 1_600.0, 12: 300.0}
    missing = reconciliation(
        dataclasses.replace(frames, setpoints=[disaggregation(physical)]), nominated
    )
    assert (missing["setpoints_kwh"], missing["virtual_kwh"]) == (850.0, 950.0)
    assert all(o["ok"] for o in missing["organisations"])
    assert missing["ok"] is False
    short = dataclasses.replace(frames, setpoints=[disaggregation(physical, {8: 400.0})])
    reported = reconciliation(short, nominated)
    assert (reported["setpoints_kwh"], reported["shortfall_kwh"]) == (850.0, 100.0)
    assert reported["ok"] is True
    too_short = dataclasses.replace(frames, setpoints=[disaggregation(physical, {8: 200.0})])
    assert reconciliation(too_short, nominated)["ok"] is False


def test_the_operator_s_rebalancing_is_its_own_position_and_reconciles() -> None:
    frames = day()
    nominated = settle(frames, PRICE).nominated
    # The fleet sells 400 kW beyond the schedules at 12:00 and buys 200 kW at 13:00
    # (the plan's trades): 100 kWh sold, 50 bought, none of it in a customer's nomination.
    physical = {0: 1_000.0, 1: 1_000.0, 4: -500.0, 8: 2_400.0, 12: 300.0 - 200.0}
    plan = dataclasses.replace(
        disaggregation(physical),
        trades=pl.DataFrame(
            {"start": [START + 8 * MTU, START + 12 * MTU], "trade_kw": [400.0, -200.0]},
            schema=TRADES,
        ),
        rebalanced=True,
    )
    report = reconciliation(dataclasses.replace(frames, setpoints=[plan]), nominated)
    assert report["rebalancing"] == {
        "sold_kwh": 100.0,
        "bought_kwh": 50.0,
        "mtus": [
            {"start": "2026-11-29T11:00:00Z", "trade_kw": 400.0},
            {"start": "2026-11-29T12:00:00Z", "trade_kw": -200.0},
        ],
    }
    assert (report["setpoints_kwh"], report["virtual_kwh"]) == (1_000.0, 950.0)
    assert all(o["ok"] for o in report["organisations"])
    assert report["ok"] is True
    # Trades the setpoints do not carry do not reconcile.
    unplanned = dataclasses.replace(plan, setpoints=disaggregation({}).setpoints)
    assert (
        reconciliation(dataclasses.replace(frames, setpoints=[unplanned]), nominated)["ok"] is False
    )


# --------------------------------------------------------------------------- settle


def test_a_consistent_day_settles_with_awards_adding_up_to_the_clearing() -> None:
    settled = settle(day(), PRICE)
    lines = settled.lines
    assert set(lines["auction_id"]) == {"t1"}
    assert lines.filter(pl.col("kind") == "award")["amount_units"].sum() == PAID
    # Beyond each block's 1 % tolerance, at 150 EUR/MWh: v1 ends 375 kWh under its target
    # (200 tolerated), v2 500 under (40), the operator's v3 75 under (20).
    charges = lines.filter(pl.col("kind") == "imbalance_charge")
    assert charges.select("virtual_asset_id", "amount_units").rows() == [
        ("v1", 2_625_000),
        ("v2", 6_900_000),
        ("v3", 825_000),
    ]
    assert settled.nominated.height == 3 * 96
    assert settled.report["ok"] is True


def test_awards_whose_payments_no_longer_match_raise() -> None:
    tampered = [*AWARDS, award("b3", "B", 0, 1_000, status="rejected", payment_units=1_000)]
    with pytest.raises(RuntimeError, match="invoices do not reconcile with the clearing") as err:
        settle(day(awards=tampered), PRICE)
    assert "award lines add up to 330.00000 EUR, the clearing revenue is 330.01000 EUR" in str(
        err.value
    )
