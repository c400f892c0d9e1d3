"""A seeded year of daily auctions that behaves like a real German market year.

``history_days(HistoryScenario())`` yields the 365 auctions of 2025 (``data/history``, see
``data/README.md``). Each day is built from the blocks of ``auction.synthetic`` with what a
real year has and a single synthetic day lacks:

- prices that move: a monthly level, season-dependent hourly shapes, a weekday pattern,
  a persistent daily market mood (AR(1), so there are runs of strong and weak weeks), an
  FCR price falling through the year as batteries enter, occasional aFRR spikes;
- reserve prices the operator sets monthly, so on weak days more bids fall below them;
- bidders whose style persists all year (``BidderStyles``), two entering and one leaving;
- a fleet that grows by commissioning (asset ids persist) and has daily outages;
- special days: no competition on holidays, scarcity on Dunkelflaute and heatwave days.

Pure: no file I/O. Year-level draws (fleet, styles, market path) come from their own
streams of ``seed``, and every day has its own stream, so any single day is reproducible
without generating the days before it. The calendar is ``market_calendar``, the draws
made once per year ``market_year``; this module builds the days from them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

from auction.book import UTC_TIME
from auction.model import TENNET_DE, Archive, AuctionConfig
from auction.synthetic.bids import BidderStyles, build_allocations, build_bids
from auction.synthetic.fleet import build_availability
from auction.synthetic.frames import IntArray, epoch_us
from auction.synthetic.market_calendar import (
    BAD_WEEK_OUTAGES,
    HISTORY_CATALOGUE,
    QUIET_DAY_BIDS,
    DayKind,
    bad_week,
    bids_factor,
    day_catalogue,
    day_kind,
)
from auction.synthetic.market_year import (
    MarketYear,
    day_price_scale,
    market_year,
    month_price_scale,
)
from auction.synthetic.products import (
    RECIPES,
    PriceScale,
    ProductSpec,
    build_products,
    product_values,
)
from auction.synthetic.scenario import HistoryScenario, Scenario
from auction.timegrid import day_bounds, mtu_us


@dataclass(frozen=True, slots=True, eq=False)
class HistoryDay:
    """One day of the history: its auction and what the market was like.

    ``values`` are the day's central values (EUR/MW) by product_id, what bidders priced
    against; the products' reserve prices come from the month's values instead.
    """

    day: date
    kind: DayKind
    note: str | None
    archive: Archive
    scale: PriceScale
    values: dict[str, float]


# --------------------------------------------------------------------------- public API


def history_days(scenario: HistoryScenario, n_days: int | None = None) -> Iterator[HistoryDay]:
    """The days of ``scenario.year`` in order (only the first ``n_days`` if given)."""
    days = market_year(scenario).days
    for day in days[: len(days) if n_days is None else n_days]:
        yield history_day(scenario, day)


def history_day(scenario: HistoryScenario, day: date) -> HistoryDay:
    """One day of the history; the same whether or not the days before were generated."""
    year = market_year(scenario)
    if day.year != scenario.year:
        raise ValueError(f"{day} is not in the history's year {scenario.year}")
    index = day.timetuple().tm_yday - 1
    rng = np.random.default_rng([scenario.seed, 3, index])
    kind, special = day_kind(day)

    fleet = year.fleet.filter(pl.col("commissioned_on") <= day).drop("commissioned_on")
    n_in_zone = int((fleet["tso_zone"] == TENNET_DE).sum())
    if special.outage_share > 0:
        n_outages = round(special.outage_share * n_in_zone)
    else:
        rate = scenario.outages_per_asset * (BAD_WEEK_OUTAGES if bad_week(day) else 1.0)
        n_outages = int(rng.poisson(rate * n_in_zone))
    n_outages = min(n_outages, n_in_zone // 2)

    if kind == DayKind.NO_COMPETITION:
        n_bids = int(rng.integers(QUIET_DAY_BIDS[0], QUIET_DAY_BIDS[1] + 1))
    else:
        mean = scenario.bids_per_asset * n_in_zone * bids_factor(day) * special.bid_factor
        n_bids = int(rng.poisson(mean))

    specs = day_catalogue(day)
    styles = _day_styles(rng, year, day, specs, special.max_orgs)
    s = Scenario(
        auction_id=f"hist-{day.isoformat()}",
        delivery_day=day,
        time_zone=scenario.time_zone,
        n_assets=fleet.height,
        n_outside_zone=scenario.n_outside_zone,
        n_orgs=len(styles.orgs),
        n_bids=n_bids,
        share_below_reserve=0.01,  # fat fingers; weak days add their own below-reserve bids
        median_quantity_mw=scenario.median_quantity_mw * special.quantity_factor,
        n_outages=n_outages,
        allocation_mw=scenario.allocation_mw,
    )
    tz = ZoneInfo(scenario.time_zone)
    config = AuctionConfig(
        auction_id=s.auction_id,
        delivery_day=day,
        time_zone=scenario.time_zone,
        gate_open=datetime.combine(day - timedelta(days=s.gate_open_days_before), time(9), tz),
    )
    assert config.gate_open is not None
    assert config.gate_close is not None
    day_scale = day_price_scale(year, index, special.price_factor)
    availability = build_availability(rng, s, fleet, config.tso_zone)
    if special.outage_share > 0:  # one fault or heatwave: the hit assets are out all day
        day_start, day_end = day_bounds(day, scenario.time_zone)
        availability = availability.with_columns(
            start=pl.lit(day_start).cast(UTC_TIME), end=pl.lit(day_end).cast(UTC_TIME)
        )
    products = build_products(specs, day, scenario.time_zone, month_price_scale(year, day))
    bids = build_bids(
        rng,
        s,
        specs,
        products,
        gate_open_us=epoch_us(config.gate_open),
        gate_close_us=epoch_us(config.gate_close),
        scale=day_scale,
        styles=styles,
    )
    if not _can_carry(fleet, availability, config.tso_zone, day, scenario, specs[0]):
        s = replace(s, allocation_mw=0.0)  # never make a day infeasible
    allocations = build_allocations(s, products)
    hours = (products["end"] - products["start"]).dt.total_microseconds().to_numpy() / 3.6e9
    values = product_values(specs, hours, day_scale)
    return HistoryDay(
        day=day,
        kind=kind,
        note=special.note or None,
        archive=Archive(config, fleet, availability, products, bids, allocations),
        scale=day_scale,
        values={p.product_id: float(v) for p, v in zip(specs, values, strict=True)},
    )


def history_fleet(scenario: HistoryScenario) -> pl.DataFrame:
    """The year's whole fleet with each asset's ``commissioned_on`` date."""
    return market_year(scenario).fleet


def history_orgs(scenario: HistoryScenario) -> pl.DataFrame:
    """The roster: ``org_id``, ``first_day``, ``last_day`` of bidding, and the style level."""
    year = market_year(scenario)
    return year.orgs.with_columns(
        price_level=pl.Series(year.styles.level), scatter=pl.Series(year.styles.scatter)
    )


def _day_styles(
    rng: np.random.Generator,
    year: MarketYear,
    day: date,
    specs: tuple[ProductSpec, ...],
    max_orgs: int | None,
) -> BidderStyles:
    """The year's styles of the orgs bidding today, over today's products.

    On a no-competition day only 1..``max_orgs`` of them, picked by activity.
    """
    orgs = year.orgs
    active = np.flatnonzero(
        ((orgs["first_day"] <= day) & (orgs["last_day"] >= day)).to_numpy()
    ).astype(np.int64)
    style = year.styles
    if max_orgs is not None:
        k = int(rng.integers(1, max_orgs + 1))
        weight = style.activity[active] / style.activity[active].sum()
        active = np.sort(rng.choice(active, k, replace=False, p=weight)).astype(np.int64)
    columns = np.array([HISTORY_CATALOGUE.index(p) for p in specs], dtype=np.int64)
    return _subset(style, active, columns)


def _subset(style: BidderStyles, rows: IntArray, columns: IntArray) -> BidderStyles:
    """Styles of some orgs over some products, shares renormalised."""
    activity = style.activity[rows]
    taste = style.taste[np.ix_(rows, columns)]
    return BidderStyles(
        orgs=tuple(style.orgs[i] for i in rows),
        activity=activity / activity.sum(),
        level=style.level[rows],
        scatter=style.scatter[rows],
        tick_cents=style.tick_cents[rows],
        taste=taste / taste.sum(axis=1, keepdims=True),
    )


def _can_carry(
    fleet: pl.DataFrame,
    availability: pl.DataFrame,
    tso_zone: str,
    day: date,
    scenario: HistoryScenario,
    spec: ProductSpec,
) -> bool:
    """Whether the in-zone fleet left after outages can back the day's fixed allocation.

    Conservative (twice the power and energy in every quarter-hour), so that the
    allocation never makes a day infeasible.
    """
    start, end = day_bounds(day, scenario.time_zone)
    quarter_us = mtu_us(15)
    edges = np.arange(epoch_us(start), epoch_us(end), quarter_us, dtype=np.int64)
    ids = fleet["asset_id"].to_list()
    fraction = np.ones((len(ids), edges.size))
    row_of = {asset: i for i, asset in enumerate(ids)}
    a_start = availability["start"].dt.epoch("us").to_numpy()
    a_end = availability["end"].dt.epoch("us").to_numpy()
    rows = np.array([row_of[a] for a in availability["asset_id"]], dtype=np.int64)
    inside = (edges[None, :] >= a_start[:, None]) & (edges[None, :] < a_end[:, None])
    factor = np.where(inside, availability["available_fraction"].to_numpy()[:, None], 1.0)
    np.multiply.at(fraction, rows, factor)
    in_zone = (fleet["tso_zone"] == tso_zone).to_numpy()
    power = np.minimum(fleet["p_charge_mw"].to_numpy(), fleet["p_discharge_mw"].to_numpy())
    energy = (fleet["e_max_mwh"] - fleet["e_min_mwh"]).to_numpy()
    mw = scenario.allocation_mw
    spec_h = RECIPES[spec.recipe].wholesale_h
    carry_power = (power[in_zone, None] * fraction[in_zone]).sum(axis=0).min()
    carry_energy = (energy[in_zone, None] * fraction[in_zone]).sum(axis=0).min()
    return bool(carry_power >= 2 * mw and carry_energy >= 2 * mw * spec_h)
