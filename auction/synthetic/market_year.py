"""The market path of a historical year: everything drawn once per year.

The fleet with its commissioning dates, the roster of organisations and their persistent
styles, and the central values of every day: a monthly level, season-dependent hourly
shapes, a weekday pattern, a persistent daily market mood (AR(1)), an FCR price falling
through the year, occasional aFRR spikes. Each comes from its own stream of the seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

import numpy as np
import polars as pl

from auction.model import TENNET_DE
from auction.synthetic.bids import ORG_NAMES, BidderStyles, draw_styles
from auction.synthetic.fleet import build_fleet
from auction.synthetic.frames import FloatArray
from auction.synthetic.market_calendar import HISTORY_CATALOGUE, german_holidays
from auction.synthetic.products import PriceScale
from auction.synthetic.scenario import HistoryScenario, Scenario

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

# Organisations: twelve bid from 1 January; two enter, one leaves (its last day).
FOUNDING_ORGS = ORG_NAMES[:12]
ENTRANTS = {"hanse-volt": (4, 1), "lumen-trading": (8, 18)}
LEAVERS = {"baltic-power-desk": (9, 30)}


@dataclass(frozen=True, slots=True, eq=False)
class MarketYear:
    """Everything drawn once per year: fleet with commissioning, styles, market path."""

    days: tuple[date, ...]
    fleet: pl.DataFrame  # FLEET schema + commissioned_on
    orgs: pl.DataFrame  # org_id, first_day, last_day
    styles: BidderStyles  # over all orgs and HISTORY_CATALOGUE
    arbitrage_eur_per_mw: FloatArray  # per day
    fcr_eur_per_mw_h: FloatArray
    afrr_eur_per_mw_h: FloatArray
    hour_share: tuple[tuple[float, ...], ...]  # per month


# --------------------------------------------------------------------------- the year


@lru_cache(maxsize=4)
def market_year(scenario: HistoryScenario) -> MarketYear:
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
    return MarketYear(days, fleet, orgs, styles, arbitrage, fcr, afrr, hour_share)


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


# --------------------------------------------------------------------------- a day's scale


def day_price_scale(year: MarketYear, index: int, price_factor: float) -> PriceScale:
    """The central values of the day: month, weekday, market mood and special day."""
    return PriceScale(
        day_arbitrage_2h_eur_per_mw=float(year.arbitrage_eur_per_mw[index]) * price_factor,
        fcr_eur_per_mw_h=float(year.fcr_eur_per_mw_h[index]) * price_factor,
        afrr_eur_per_mw_h=float(year.afrr_eur_per_mw_h[index]) * price_factor,
        hour_share=year.hour_share[year.days[index].month - 1],
    )


def month_price_scale(year: MarketYear, day: date) -> PriceScale:
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
