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
without generating the days before it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

from auction.book import UTC_TIME
from auction.model import TENNET_DE, Archive, AuctionConfig
from auction.synthetic.day import (
    ORG_NAMES,
    RECIPES,
    SAMPLE_CATALOGUE,
    BidderStyles,
    FloatArray,
    IntArray,
    PriceScale,
    ProductSpec,
    Scenario,
    build_allocations,
    build_availability,
    build_bids,
    build_fleet,
    build_products,
    draw_styles,
    epoch_us,
    product_values,
)
from auction.timegrid import DEFAULT_TIME_ZONE, day_bounds

# --------------------------------------------------------------------------- price model
# Levels and their public sources are in data/README.md ("History").

# Full-day 2 h arbitrage value before the monthly factor, EUR/MW/day; with the factors
# below the year averages ~280, the sample's central value.
BASE_ARBITRAGE_2H_EUR_PER_MW = 270.0
# Spreads are widest in the winter Dunkelflaute months (Nov-Jan) and in the solar months
# (May-Jun: negative midday prices), narrowest in late summer and March.
MONTH_FACTOR = (1.20, 1.10, 0.95, 1.00, 1.10, 1.15, 0.95, 0.90, 0.95, 1.05, 1.25, 1.15)
# How much each month looks like summer (0 = winter hourly shape, 1 = summer shape).
SUMMERNESS = (0.0, 0.15, 0.45, 0.75, 0.95, 1.0, 1.0, 0.95, 0.7, 0.4, 0.1, 0.0)
# Where in the local day arbitrage value is earned. Winter: morning and evening peaks
# with a midday valley between them. Summer: charging in the solar trough (negative prices
# at midday) and selling into the evening peak.
_WINTER_HOURS = np.array(
    [2, 1.5, 1.5, 1.5, 2, 3, 5, 7, 7, 5, 3, 2.5, 2.5, 2.5, 3, 4.5, 6.5, 8.5, 9, 8, 6, 4, 3, 2.5],
    dtype=np.float64,
)
_SUMMER_HOURS = np.array(
    [2.5, 2, 2, 2, 2, 2.5, 3.5, 4, 3.5, 3, 3.5, 5, 6, 6, 5, 3.5, 3.5, 5, 7, 8.5, 9, 7, 4.5, 3],
    dtype=np.float64,
)
# Spreads shrink on weekends and public holidays (less industrial load, flatter curves).
WHOLESALE_SATURDAY, WHOLESALE_SUNDAY = 0.92, 0.85
# FCR capacity, EUR/MW/h: falls from ~12 in January to ~7 in December as new batteries
# prequalify; weekends and holidays clear higher (fewer conventional units online).
FCR_JANUARY_EUR_PER_MW_H, FCR_DECEMBER_EUR_PER_MW_H = 12.0, 7.0
FCR_WEEKEND = 1.15
# aFRR capacity per direction, EUR/MW/h, drifting down; on ~4 % of days it spikes.
AFRR_JANUARY_EUR_PER_MW_H, AFRR_DECEMBER_EUR_PER_MW_H = 10.0, 8.0
AFRR_SPIKE_PROBABILITY, AFRR_SPIKE_RANGE = 0.04, (1.6, 2.8)
# Daily market mood: log-factors following AR(1) processes (phi, innovation sigma). A phi
# of 0.85 keeps a shock for about a week.
WHOLESALE_AR = (0.85, 0.08)
FCR_AR = (0.80, 0.06)
AFRR_AR = (0.75, 0.08)

# --------------------------------------------------------------------------- market shape

# From July the operator also sells a full-day aFRR-only product.
DAY_AFRR = ProductSpec(0, 24, "AFRR")
HISTORY_CATALOGUE: tuple[ProductSpec, ...] = (*SAMPLE_CATALOGUE, DAY_AFRR)
NEW_PRODUCT_FROM = (7, 1)  # (month, day)

# Organisations: twelve bid from 1 January; two enter, one leaves (its last day).
FOUNDING_ORGS = ORG_NAMES[:12]
ENTRANTS = {"hanse-volt": (4, 1), "lumen-trading": (8, 18)}
LEAVERS = {"baltic-power-desk": (9, 30)}

# Bids per in-zone asset and day, by calendar; fewer desks trade weekends and holidays.
BIDS_SATURDAY, BIDS_SUNDAY = 0.75, 0.65
# Weeks with many more outages than usual (first day, last day as (month, day)), and why.
BAD_WEEKS = (
    ((3, 10), (3, 16), "inverter firmware roll-out"),
    ((8, 4), (8, 10), "heat: cooling faults"),
)
BAD_WEEK_OUTAGES = 3.0


class DayKind(StrEnum):
    """What kind of market day it was; special kinds override the calendar."""

    WEEKDAY = "weekday"
    WEEKEND = "weekend"
    HOLIDAY = "holiday"
    NO_COMPETITION = "no_competition"
    SCARCITY = "scarcity"


@dataclass(frozen=True, slots=True)
class SpecialDay:
    """A day the market was not itself: few bidders, or scarce capacity and high prices.

    The factors multiply the calendar's number of bids, median bid quantity and central
    values; ``outage_share`` of the in-zone assets fail for the whole day (one common
    cause, instead of the usual Poisson number of short outages); ``max_orgs`` caps how
    many organisations bid.

    Scarcity comes from bigger bids rather than many more of them: books of several
    hundred bids far above the fleet need many more rounds of the clearing's
    decomposition, and bigger bids give the same offered MW in a smaller book.
    """

    kind: DayKind
    note: str
    bid_factor: float = 1.0
    quantity_factor: float = 1.0
    price_factor: float = 1.0
    outage_share: float = 0.0
    max_orgs: int | None = None


def _quiet(note: str) -> SpecialDay:
    return SpecialDay(
        DayKind.NO_COMPETITION, note, quantity_factor=0.8, price_factor=0.9, max_orgs=2
    )


def _scarce(note: str, price: float, outage_share: float = 0.0) -> SpecialDay:
    return SpecialDay(
        DayKind.SCARCITY,
        note,
        bid_factor=1.0,
        quantity_factor=2.8,
        price_factor=price,
        outage_share=outage_share,
    )


# Keyed by (month, day). No-competition days also keep their few bids small.
SPECIAL_DAYS: dict[tuple[int, int], SpecialDay] = {
    (1, 1): _quiet("New Year's Day: one or two desks staffed"),
    (1, 21): _scarce("Dunkelflaute: cold, windless, evening prices above 400 EUR/MWh", 1.7),
    (1, 22): _scarce("Dunkelflaute, second day", 1.8),
    (2, 12): _scarce("cold snap and a grid fault tripping many sites", 1.5, outage_share=0.4),
    (5, 11): _scarce("solar record: deepest negative midday prices of the spring", 1.6),
    (6, 26): _scarce("heatwave: inverter derates, high evening prices", 1.5, outage_share=0.35),
    (7, 2): _scarce("heatwave peak", 1.6, outage_share=0.3),
    (11, 6): _scarce("Dunkelflaute", 1.8),
    (11, 7): _scarce("Dunkelflaute, second day", 1.7),
    (12, 12): _scarce("Dunkelflaute and a transformer fault", 1.6, outage_share=0.3),
    (12, 24): _quiet("Christmas Eve: one or two desks staffed"),
    (12, 25): _quiet("Christmas Day: one or two desks staffed"),
    (12, 26): _quiet("Boxing Day: one or two desks staffed"),
}
QUIET_DAY_BIDS = (8, 20)  # uniform range of bids on a no-competition day


@dataclass(frozen=True)
class HistoryScenario:
    """Knobs of a historical year; the defaults are ``data/history``.

    The fleet grows from ``n_assets_start`` to ``n_assets_end`` assets in the TSO zone
    (plus ``n_outside_zone`` elsewhere, all year); a day has about ``bids_per_asset``
    bids per in-zone asset and ``outages_per_asset`` outages per in-zone asset.
    """

    year: int = 2025
    seed: int = 2025
    time_zone: str = DEFAULT_TIME_ZONE
    n_assets_start: int = 28
    n_assets_end: int = 50
    n_outside_zone: int = 3
    bids_per_asset: float = 7.5
    outages_per_asset: float = 0.07
    allocation_mw: float = 5.0
    median_quantity_mw: float = 2.5


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


@dataclass(frozen=True, slots=True, eq=False)
class _Year:
    """Everything drawn once per year: fleet with commissioning, styles, market path."""

    days: tuple[date, ...]
    fleet: pl.DataFrame  # FLEET schema + commissioned_on
    orgs: pl.DataFrame  # org_id, first_day, last_day
    styles: BidderStyles  # over all orgs and HISTORY_CATALOGUE
    arbitrage_eur_per_mw: FloatArray  # per day
    fcr_eur_per_mw_h: FloatArray
    afrr_eur_per_mw_h: FloatArray
    hour_share: tuple[tuple[float, ...], ...]  # per month


# --------------------------------------------------------------------------- public API


def history_days(scenario: HistoryScenario, n_days: int | None = None) -> Iterator[HistoryDay]:
    """The days of ``scenario.year`` in order (only the first ``n_days`` if given)."""
    days = _year(scenario).days
    for day in days[: len(days) if n_days is None else n_days]:
        yield history_day(scenario, day)


def history_day(scenario: HistoryScenario, day: date) -> HistoryDay:
    """One day of the history; the same whether or not the days before were generated."""
    year = _year(scenario)
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
        rate = scenario.outages_per_asset * (BAD_WEEK_OUTAGES if _bad_week(day) else 1.0)
        n_outages = int(rng.poisson(rate * n_in_zone))
    n_outages = min(n_outages, n_in_zone // 2)

    if kind == DayKind.NO_COMPETITION:
        n_bids = int(rng.integers(QUIET_DAY_BIDS[0], QUIET_DAY_BIDS[1] + 1))
    else:
        mean = scenario.bids_per_asset * n_in_zone * _bids_factor(day) * special.bid_factor
        n_bids = int(rng.poisson(mean))

    specs = _catalogue(day)
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
    day_scale = _day_scale(year, index, special.price_factor)
    availability = build_availability(rng, s, fleet, config.tso_zone)
    if special.outage_share > 0:  # one fault or heatwave: the hit assets are out all day
        day_start, day_end = day_bounds(day, scenario.time_zone)
        availability = availability.with_columns(
            start=pl.lit(day_start).cast(UTC_TIME), end=pl.lit(day_end).cast(UTC_TIME)
        )
    products = build_products(specs, day, scenario.time_zone, _month_scale(year, day))
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
    return _year(scenario).fleet


def history_orgs(scenario: HistoryScenario) -> pl.DataFrame:
    """The roster: ``org_id``, ``first_day``, ``last_day`` of bidding, and the style level."""
    year = _year(scenario)
    return year.orgs.with_columns(
        price_level=pl.Series(year.styles.level), scatter=pl.Series(year.styles.scatter)
    )


def german_holidays(year: int) -> set[date]:
    """Nationwide German public holidays (the market sees these, not the regional ones)."""
    easter = _easter_sunday(year)
    return {
        date(year, 1, 1),
        easter - timedelta(days=2),  # Good Friday
        easter + timedelta(days=1),  # Easter Monday
        date(year, 5, 1),
        easter + timedelta(days=39),  # Ascension
        easter + timedelta(days=50),  # Whit Monday
        date(year, 10, 3),
        date(year, 12, 25),
        date(year, 12, 26),
    }


def day_kind(day: date) -> tuple[DayKind, SpecialDay]:
    """The day's kind and its special-day knobs (neutral ones on an ordinary day)."""
    special = SPECIAL_DAYS.get((day.month, day.day))
    if special is not None:
        return special.kind, special
    kind = _calendar_kind(day)
    return kind, SpecialDay(kind, "")


# --------------------------------------------------------------------------- the year


@lru_cache(maxsize=4)
def _year(scenario: HistoryScenario) -> _Year:
    """Fleet, roster and market path of the year, each from its own stream of the seed."""
    first = date(scenario.year, 1, 1)
    n_days = (date(scenario.year + 1, 1, 1) - first).days
    days = tuple(first + timedelta(days=i) for i in range(n_days))
    fleet = _fleet(np.random.default_rng([scenario.seed, 0]), scenario, days)
    orgs = _roster(scenario.year)
    popularity = np.array([p.popularity for p in HISTORY_CATALOGUE])
    styles = draw_styles(
        np.random.default_rng([scenario.seed, 1]), tuple(orgs["org_id"]), popularity
    )
    rng = np.random.default_rng([scenario.seed, 2])
    t = np.arange(n_days) / (n_days - 1)  # 0 on 1 January, 1 on 31 December
    months = np.array([d.month for d in days]) - 1
    weekday = np.array([d.weekday() for d in days])
    holidays = german_holidays(scenario.year)
    holiday = np.array([d in holidays for d in days])
    sunday_like = (weekday == 6) | holiday

    wholesale_week = np.where(
        sunday_like, WHOLESALE_SUNDAY, np.where(weekday == 5, WHOLESALE_SATURDAY, 1.0)
    )
    arbitrage = (
        BASE_ARBITRAGE_2H_EUR_PER_MW
        * np.asarray(MONTH_FACTOR)[months]
        * wholesale_week
        * np.exp(_ar1(rng, n_days, *WHOLESALE_AR))
    )
    weekend = (weekday >= 5) | holiday
    fcr = (
        _trend(t, FCR_JANUARY_EUR_PER_MW_H, FCR_DECEMBER_EUR_PER_MW_H)
        * np.where(weekend, FCR_WEEKEND, 1.0)
        * np.exp(_ar1(rng, n_days, *FCR_AR))
    )
    spike = rng.random(n_days) < AFRR_SPIKE_PROBABILITY
    afrr = (
        _trend(t, AFRR_JANUARY_EUR_PER_MW_H, AFRR_DECEMBER_EUR_PER_MW_H)
        * np.exp(_ar1(rng, n_days, *AFRR_AR))
        * np.where(spike, rng.uniform(*AFRR_SPIKE_RANGE, n_days), 1.0)
    )
    hour_share = tuple(_hour_share(s) for s in SUMMERNESS)
    return _Year(days, fleet, orgs, styles, arbitrage, fcr, afrr, hour_share)


def _fleet(
    rng: np.random.Generator, scenario: HistoryScenario, days: tuple[date, ...]
) -> pl.DataFrame:
    """The December fleet, with the in-zone assets beyond the January count commissioned
    one by one through the year (in row order, so a site's ``-02`` follows its ``-01``).

    Assets outside the zone and the January ones are dated 1 January.
    """
    n_new = scenario.n_assets_end - scenario.n_assets_start
    if scenario.n_assets_start < 1 or n_new < 0:
        raise ValueError("need 1 <= n_assets_start <= n_assets_end")
    s = Scenario(
        n_assets=scenario.n_assets_end + scenario.n_outside_zone,
        n_outside_zone=scenario.n_outside_zone,
    )
    fleet = build_fleet(rng, s, TENNET_DE)
    # Commissioning from mid-January to mid-December, sorted so rows go live in order.
    first, last = 14, len(days) - 17
    offsets = np.sort(rng.integers(first, last + 1, n_new))
    dated = [days[0]] * scenario.n_assets_start
    dated += [days[int(i)] for i in offsets]
    dated += [days[0]] * scenario.n_outside_zone
    return fleet.with_columns(commissioned_on=pl.Series(dated, dtype=pl.Date))


def _roster(year: int) -> pl.DataFrame:
    """Every organisation that bids some day of the year, with its first and last day."""
    founders = list(FOUNDING_ORGS)
    orgs = founders + list(ENTRANTS)
    first = [date(year, 1, 1)] * len(founders) + [date(year, m, d) for m, d in ENTRANTS.values()]
    last = [date(year, *LEAVERS[o]) if o in LEAVERS else date(year, 12, 31) for o in orgs]
    return pl.DataFrame(
        {"org_id": orgs, "first_day": first, "last_day": last},
        schema={"org_id": pl.String, "first_day": pl.Date, "last_day": pl.Date},
    )


def _ar1(rng: np.random.Generator, n: int, phi: float, sigma: float) -> FloatArray:
    """An AR(1) path started in its stationary distribution (one step per day)."""
    shocks = rng.normal(0.0, sigma, n)
    path = np.empty(n)
    path[0] = shocks[0] / np.sqrt(1.0 - phi * phi)
    for i in range(1, n):  # one per day
        path[i] = phi * path[i - 1] + shocks[i]
    return path


def _trend(t: FloatArray, start: float, end: float) -> FloatArray:
    """A geometric path from ``start`` (t = 0) to ``end`` (t = 1)."""
    return np.asarray(start * (end / start) ** t, dtype=np.float64)


def _hour_share(summerness: float) -> tuple[float, ...]:
    """Hourly arbitrage shares, blended between the winter and the summer shape."""
    weights = (1.0 - summerness) * _WINTER_HOURS + summerness * _SUMMER_HOURS
    return tuple(float(x) for x in weights / weights.sum())


# --------------------------------------------------------------------------- one day


def _calendar_kind(day: date) -> DayKind:
    if day in german_holidays(day.year):
        return DayKind.HOLIDAY
    return DayKind.WEEKEND if day.weekday() >= 5 else DayKind.WEEKDAY


def _bids_factor(day: date) -> float:
    """Relative number of bids: fewer desks trade on weekends and holidays."""
    if day.weekday() == 6 or day in german_holidays(day.year):
        return BIDS_SUNDAY
    return BIDS_SATURDAY if day.weekday() == 5 else 1.0


def _bad_week(day: date) -> bool:
    return any(
        date(day.year, *first) <= day <= date(day.year, *last) for first, last, _ in BAD_WEEKS
    )


def _catalogue(day: date) -> tuple[ProductSpec, ...]:
    return HISTORY_CATALOGUE if (day.month, day.day) >= NEW_PRODUCT_FROM else SAMPLE_CATALOGUE


def _day_scale(year: _Year, index: int, price_factor: float) -> PriceScale:
    """The central values of the day: month, weekday, market mood and special day."""
    return PriceScale(
        day_arbitrage_2h_eur_per_mw=float(year.arbitrage_eur_per_mw[index]) * price_factor,
        fcr_eur_per_mw_h=float(year.fcr_eur_per_mw_h[index]) * price_factor,
        afrr_eur_per_mw_h=float(year.afrr_eur_per_mw_h[index]) * price_factor,
        hour_share=year.hour_share[year.days[index].month - 1],
    )


def _month_scale(year: _Year, day: date) -> PriceScale:
    """The month's central values the operator sets reserve prices from.

    The month's wholesale level on a working day in an average week, and the reserve
    trends at the middle of the month.
    """
    mid = date(day.year, day.month, 15).timetuple().tm_yday - 1
    t = np.array([mid / (len(year.days) - 1)])
    return PriceScale(
        day_arbitrage_2h_eur_per_mw=BASE_ARBITRAGE_2H_EUR_PER_MW * MONTH_FACTOR[day.month - 1],
        fcr_eur_per_mw_h=float(_trend(t, FCR_JANUARY_EUR_PER_MW_H, FCR_DECEMBER_EUR_PER_MW_H)[0]),
        afrr_eur_per_mw_h=float(
            _trend(t, AFRR_JANUARY_EUR_PER_MW_H, AFRR_DECEMBER_EUR_PER_MW_H)[0]
        ),
        hour_share=year.hour_share[day.month - 1],
    )


def _day_styles(
    rng: np.random.Generator,
    year: _Year,
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
    quarter_us = 15 * 60 * 1_000_000
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


def _easter_sunday(year: int) -> date:
    """Gregorian Easter Sunday (the anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    el = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * el) // 451
    month = (h + el - 7 * m + 114) // 31
    return date(year, month, (h + el - 7 * m + 114) % 31 + 1)
