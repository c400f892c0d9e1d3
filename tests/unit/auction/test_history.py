"""The historical year: determinism, calendar, fleet growth, persistent bidders, special
days, seasons, and every day a valid archive."""

from __future__ import annotations

import statistics
import tempfile
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from auction.archive import read_archive, write_archive
from auction.synthetic import (
    DayKind,
    HistoryDay,
    HistoryScenario,
    day_kind,
    german_holidays,
    history_day,
    history_days,
    history_fleet,
    history_orgs,
)

SCENARIO = HistoryScenario()
TABLES = ("fleet", "availability", "products", "bids", "allocations")


def _day(month: int, day: int) -> HistoryDay:
    return history_day(SCENARIO, date(2025, month, day))


def _weekdays(month: int, n: int) -> list[date]:
    """The first ``n`` ordinary weekdays of a month (no holiday, no special day)."""
    out, d = [], date(2025, month, 1)
    while len(out) < n:
        if day_kind(d)[0] == DayKind.WEEKDAY:
            out.append(d)
        d += timedelta(days=1)
    return out


def _fleet_mw_in_zone(h: HistoryDay) -> float:
    fleet = h.archive.fleet
    return float(
        fleet.filter(pl.col("tso_zone") == h.archive.config.tso_zone)["p_discharge_mw"].sum()
    )


def _offered_ratio(h: HistoryDay) -> float:
    """Offered MW over all bids, per MW of in-zone fleet power."""
    return float(h.archive.bids["quantity_mw"].sum()) / _fleet_mw_in_zone(h)


def _median_bid(days: list[date], product: str) -> float:
    prices = pl.concat(
        history_day(SCENARIO, d).archive.bids.filter(pl.col("product_id") == product) for d in days
    )["price_eur_per_mw"]
    return float(prices.median())  # type: ignore[arg-type]


def test_same_seed_same_frames_and_a_day_does_not_depend_on_the_days_before() -> None:
    first = next(history_days(SCENARIO, 1))
    again = history_day(HistoryScenario(), date(2025, 1, 1))
    assert first.archive.config == again.archive.config
    for name in TABLES:
        assert_frame_equal(getattr(first.archive, name), getattr(again.archive, name))
    other = history_day(HistoryScenario(seed=7), date(2025, 1, 1))
    assert not other.archive.bids.equals(first.archive.bids)


def test_the_year_has_every_day_with_its_auction_id() -> None:
    days = [h.day for h in history_days(SCENARIO, 3)]
    assert days == [date(2025, 1, 1), date(2025, 1, 2), date(2025, 1, 3)]
    h = _day(12, 31)
    assert h.archive.config.auction_id == "hist-2025-12-31"
    assert h.archive.config.time_zone == "Europe/Berlin"


@pytest.mark.parametrize(
    ("day", "day_hours", "first_block_hours"),
    [(date(2025, 3, 30), 23, 3), (date(2025, 10, 26), 25, 5), (date(2025, 6, 1), 24, 4)],
)
def test_dst_days_have_23_and_25_hour_full_day_products(
    day: date, day_hours: int, first_block_hours: int
) -> None:
    products = history_day(SCENARIO, day).archive.products
    hours = dict(
        products.select(
            "product_id", h=(pl.col("end") - pl.col("start")).dt.total_minutes() / 60
        ).iter_rows()
    )
    assert hours["DAY-WS2"] == hours["DAY-FCR"] == day_hours
    assert hours["H00-04-WS2"] == first_block_hours


def test_fleet_grows_through_the_year_and_asset_ids_persist() -> None:
    january, december = _day(1, 2).archive.fleet, _day(12, 30).archive.fleet
    zone = _day(1, 2).archive.config.tso_zone
    in_zone = [f.filter(pl.col("tso_zone") == zone).height for f in (january, december)]
    assert 26 <= in_zone[0] <= 32
    assert 46 <= in_zone[1] <= 52
    assert (january["tso_zone"] != zone).sum() == (december["tso_zone"] != zone).sum() == 3
    # Every January asset is still there in December, unchanged.
    kept = december.filter(pl.col("asset_id").is_in(january["asset_id"].implode()))
    assert_frame_equal(kept, january)
    # Monthly, the fleet only grows.
    sizes = [_day(m, 1).archive.fleet.height for m in range(1, 13)]
    assert sizes == sorted(sizes)
    assert history_fleet(SCENARIO)["commissioned_on"].max() < date(2025, 12, 31)  # type: ignore[operator]


def test_orgs_enter_and_leave_and_their_price_level_persists() -> None:
    orgs = history_orgs(SCENARIO)
    assert orgs.height == 14
    late = orgs.filter(pl.col("first_day") > date(2025, 1, 1))
    gone = orgs.filter(pl.col("last_day") < date(2025, 12, 31))
    assert late.height == 2
    assert gone.height == 1
    entrant, leaver = late["org_id"][0], gone["org_id"][0]
    assert entrant not in set(_day(3, 12).archive.bids["org_id"])
    assert entrant in set(_day(6, 11).archive.bids["org_id"])
    assert leaver not in set(_day(11, 12).archive.bids["org_id"])

    # Each org's bids sit at a stable fraction of the value it priced against.
    ratios: dict[tuple[str, int], list[float]] = {}
    for month in (2, 6, 10):
        for d in _weekdays(month, 3):
            h = history_day(SCENARIO, d)
            for org, product, price in h.archive.bids.select(
                "org_id", "product_id", "price_eur_per_mw"
            ).iter_rows():
                ratios.setdefault((org, month), []).append(price / h.values[product])
    level = dict(orgs.select("org_id", "price_level").iter_rows())
    for org in ("northwind-trading", "alpenflex-energy", "rheinwerk-trading"):
        medians = [statistics.median(ratios[(org, m)]) for m in (2, 6, 10)]
        assert max(medians) / min(medians) < 1.1, (org, medians)
        assert statistics.mean(medians) == pytest.approx(level[org], rel=0.1)


@pytest.mark.parametrize("day", [date(2025, 1, 1), date(2025, 12, 24), date(2025, 12, 25)])
def test_a_no_competition_day_has_few_orgs_and_less_than_the_fleet_offered(day: date) -> None:
    h = history_day(SCENARIO, day)
    assert h.kind == DayKind.NO_COMPETITION
    assert 1 <= h.archive.bids["org_id"].n_unique() <= 2
    assert h.archive.bids.height <= 20
    assert _offered_ratio(h) < 1.0


@pytest.mark.parametrize("day", [date(2025, 1, 21), date(2025, 6, 26), date(2025, 11, 6)])
def test_a_scarcity_day_offers_several_times_the_fleet_at_high_prices(day: date) -> None:
    h = history_day(SCENARIO, day)
    assert h.kind == DayKind.SCARCITY
    ordinary = [history_day(SCENARIO, d) for d in _weekdays(day.month, 3)]
    assert _offered_ratio(h) >= 3.0
    assert _offered_ratio(h) >= 2 * max(_offered_ratio(o) for o in ordinary)
    assert h.values["DAY-WS2"] > 1.3 * max(o.values["DAY-WS2"] for o in ordinary)


def test_a_grid_fault_takes_a_third_of_the_fleet_out_for_the_whole_day() -> None:
    h = _day(2, 12)
    zone = h.archive.config.tso_zone
    n_in_zone = h.archive.fleet.filter(pl.col("tso_zone") == zone).height
    hours = (h.archive.availability["end"] - h.archive.availability["start"]).dt.total_hours()
    assert h.archive.availability.height >= n_in_zone // 3
    assert (hours == 24).all()


def test_scarcity_and_quiet_days_are_few() -> None:
    kinds = [day_kind(date(2025, 1, 1) + timedelta(days=i))[0] for i in range(365)]
    assert 6 <= kinds.count(DayKind.SCARCITY) <= 10
    assert 3 <= kinds.count(DayKind.NO_COMPETITION) <= 5
    assert {date(2025, 4, 18), date(2025, 4, 21), date(2025, 5, 29), date(2025, 6, 9)} <= (
        german_holidays(2025)
    )
    assert day_kind(date(2025, 6, 9))[0] == DayKind.HOLIDAY


def test_winter_wholesale_bids_above_summer_and_fcr_declines() -> None:
    winter = _weekdays(1, 4) + _weekdays(12, 4)
    summer = _weekdays(7, 4) + _weekdays(8, 4)
    assert _median_bid(winter, "DAY-WS2") > 1.1 * _median_bid(summer, "DAY-WS2")
    assert _median_bid(_weekdays(1, 5), "DAY-FCR") > 1.3 * _median_bid(_weekdays(12, 5), "DAY-FCR")
    # Reserve prices follow the month's level: FCR's falls from January to December.
    reserve = {
        m: _day(m, 10).archive.products.filter(pl.col("product_id") == "DAY-FCR")[
            "reserve_price_eur_per_mw"
        ][0]
        for m in (1, 6, 12)
    }
    assert reserve[1] > reserve[6] > reserve[12]


def test_weekends_bid_less_and_lower_than_weekdays() -> None:
    week = [history_day(SCENARIO, date(2025, 9, 1) + timedelta(days=i)) for i in range(14)]
    weekday = [h for h in week if h.kind == DayKind.WEEKDAY]
    sunday = [h for h in week if h.day.weekday() == 6]
    assert statistics.mean(h.archive.bids.height for h in sunday) < 0.85 * statistics.mean(
        h.archive.bids.height for h in weekday
    )
    assert statistics.mean(h.scale.day_arbitrage_2h_eur_per_mw for h in sunday) < statistics.mean(
        h.scale.day_arbitrage_2h_eur_per_mw for h in weekday
    )


def test_catalogue_gains_an_afrr_product_in_july_and_keeps_the_allocation() -> None:
    june, july = _day(6, 30).archive, _day(7, 1).archive
    assert "DAY-AFRR" not in set(june.products["product_id"])
    assert "DAY-AFRR" in set(july.products["product_id"])
    assert 10 <= june.products.height <= 14
    for archive in (june, july):
        assert archive.allocations.rows() == [("designated-optimiser", "DAY-WS2", 5.0)]


@settings(max_examples=8)
@given(st.dates(min_value=date(2025, 1, 1), max_value=date(2025, 12, 31)))
def test_any_day_reads_back_valid_and_unchanged(day: date) -> None:
    archive = history_day(SCENARIO, day).archive
    assert 100 <= archive.bids.height <= 600 or day_kind(day)[0] == DayKind.NO_COMPETITION
    with tempfile.TemporaryDirectory() as tmp:
        write_archive(archive, Path(tmp), fmt="parquet")
        back = read_archive(Path(tmp))
    assert back.config == archive.config
    for name in TABLES:
        assert_frame_equal(getattr(back, name), getattr(archive, name))
