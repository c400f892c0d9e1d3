"""Seeded synthetic auctions that look like the German market.

``generate(Scenario())`` is the bundled sample auction (``data/sample``);
``benchmark_scenario`` gives the books the benchmarks clear; ``auction.history`` builds a
year of days from the same blocks, passing its own ``PriceScale`` and persistent
``BidderStyles``. Everything is drawn from one ``numpy.random.default_rng(seed)`` in a
fixed order, so a scenario always gives the same frames. Bids are built as arrays (no
Python loop per bid): a 100,000-bid book takes well under a second.

The price scale (see ``data/README.md``): a full-day wholesale-only 2 h virtual battery is
worth about 280 EUR/MW/day (German BESS arbitrage of recent years, ~100 kEUR/MW/year);
FCR capacity about 12 EUR/MW/h, aFRR capacity about 8 EUR/MW/h per direction, and a
20 % premium on products that stack wholesale and reserve blocks.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl
from numpy.typing import NDArray

from auction.book import ALLOCATIONS, AVAILABILITY, BIDS, FLEET, PRODUCTS, UTC_TIME
from auction.model import Archive, AuctionConfig
from auction.timegrid import DEFAULT_TIME_ZONE, day_bounds

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

FIFTY_HERTZ = "10YDE-VE-------2"
AMPRION = "10YDE-RWENET---I"
TRANSNET_BW = "10YDE-ENBW-----N"

# Price scale, EUR. Central values; bidders scatter around them (data/README.md).
DAY_ARBITRAGE_2H_EUR_PER_MW = 280.0
FCR_EUR_PER_MW_H = 12.0
AFRR_EUR_PER_MW_H = 8.0  # per direction
# A buyer of wholesale and reserve blocks together co-optimises them (reserve when spreads
# are thin, arbitrage when they are wide), so stacked products are worth more than the parts.
STACKING_PREMIUM = 1.2
# Bidders stay below the value they expect; the operator sets reserves well below it.
RESERVE_FRACTION = 0.55

# Relative arbitrage value of each local hour: night trough, morning ramp, solar dip,
# evening peak. A window's wholesale value is its share of the day's.
_HOUR_WEIGHT = np.array(
    [2, 1.5, 1.5, 1.5, 2, 3, 5, 6, 5, 3, 2, 2, 2, 2, 3, 4, 6, 8, 9, 8, 6, 4, 3, 2.5],
    dtype=np.float64,
)
HOUR_SHARE: FloatArray = _HOUR_WEIGHT / _HOUR_WEIGHT.sum()


@dataclass(frozen=True, slots=True)
class PriceScale:
    """The central values bidders price against; the default is the sample's scale.

    A history varies them day by day (season, weekday, market mood); ``hour_share`` is the
    share of the day's arbitrage value earned in each local hour (24 values summing to 1).
    """

    day_arbitrage_2h_eur_per_mw: float = DAY_ARBITRAGE_2H_EUR_PER_MW
    fcr_eur_per_mw_h: float = FCR_EUR_PER_MW_H
    afrr_eur_per_mw_h: float = AFRR_EUR_PER_MW_H
    hour_share: tuple[float, ...] = tuple(float(x) for x in HOUR_SHARE)


DEFAULT_PRICE_SCALE = PriceScale()

ORG_NAMES = (
    "northwind-trading",
    "alpenflex-energy",
    "baltic-power-desk",
    "rheinwerk-trading",
    "helios-arbitrage",
    "kestrel-energy-markets",
    "nordlicht-handel",
    "quantwatt",
    "spreewald-power",
    "meridian-flex",
    "isar-energy-trading",
    "tidewater-commodities",
    "hanse-volt",
    "lumen-trading",
    "elbe-flex-markets",
    "greyhound-power",
)
ALLOCATION_ORG = "designated-optimiser"
OWNER_ORGS = (
    "stadtwerke-nordheide",
    "hofgut-solar-bayern",
    "windpark-dithmarschen",
    "energiegenossenschaft-allgaeu",
    "northwind-trading",
)
# Substation-like site names by control area; asset ids are "bess-<site>-<nn>".
TENNET_SITES = (
    "husum",
    "bordesholm",
    "emden",
    "dollern",
    "wilhelmshaven",
    "heide",
    "brunsbuettel",
    "lehrte",
    "audorf",
    "conneforde",
    "cloppenburg",
    "stade",
    "landshut",
    "wunsiedel",
    "schweinfurt",
    "regensburg",
    "grafenrheinfeld",
    "raitersaich",
    "ingolstadt",
    "bamberg",
    "passau",
    "kassel",
)
OTHER_ZONE_SITES = (
    (FIFTY_HERTZ, "wolmirstedt"),
    (AMPRION, "oberzier"),
    (FIFTY_HERTZ, "lauchstaedt"),
    (TRANSNET_BW, "kuppenheim"),
    (AMPRION, "gersteinwerk"),
    (FIFTY_HERTZ, "schwerin"),
)


@dataclass(frozen=True, slots=True)
class Recipe:
    """Blocks per MW awarded, and how much bidders like it (relative number of bids)."""

    wholesale_mw: float
    wholesale_h: float
    fcr_mw: float
    afrr_pos_mw: float
    afrr_neg_mw: float
    popularity: float


RECIPES: dict[str, Recipe] = {
    "WS2": Recipe(1.0, 2.0, 0.0, 0.0, 0.0, 1.0),
    "WS1-FCR": Recipe(1.0, 1.0, 1.0, 0.0, 0.0, 0.8),
    "WS1-AFRR": Recipe(1.0, 1.0, 0.0, 1.0, 1.0, 0.6),
    "FCR": Recipe(0.0, 0.0, 1.0, 0.0, 0.0, 0.4),
    "WS1": Recipe(1.0, 1.0, 0.0, 0.0, 0.0, 0.5),
    "AFRR": Recipe(0.0, 0.0, 0.0, 1.0, 1.0, 0.4),
}
# Relative number of bids per window (local start hour of the 4 h blocks); evening is busy.
_BLOCK_POPULARITY = {0: 0.4, 4: 1.0, 8: 0.9, 12: 0.8, 16: 1.6, 20: 1.0}


@dataclass(frozen=True, slots=True)
class ProductSpec:
    """One product of the catalogue: a local window, a recipe and its selling terms.

    ``single_item`` makes ``max_mw = min_mw = increment_mw``: one virtual asset, sold whole.
    """

    start_h: int
    end_h: int
    recipe: str
    increment_mw: float = 1.0
    single_item: bool = False
    daily_cycle_limit: float | None = None

    @property
    def product_id(self) -> str:
        """Readable id: ``DAY-WS2``, ``H16-20-WS1-FCR``, ``DAY-WS2-SOLO``."""
        window = (
            "DAY"
            if (self.start_h, self.end_h) == (0, 24)
            else (f"H{self.start_h:02d}-{self.end_h:02d}")
        )
        return f"{window}-{self.recipe}" + ("-SOLO" if self.single_item else "")

    @property
    def popularity(self) -> float:
        """Relative number of bids this product attracts."""
        if (self.start_h, self.end_h) == (0, 24):
            window = 1.2
        elif self.end_h - self.start_h == 4:
            window = _BLOCK_POPULARITY.get(self.start_h, 1.0)
        else:
            window = 1.2
        return window * RECIPES[self.recipe].popularity * (0.12 if self.single_item else 1.0)


_BLOCKS = tuple((h, h + 4) for h in range(0, 24, 4))

# The sample's catalogue: full-day products of every recipe, the six 4 h wholesale blocks
# (two on a 0.1 MW increment), one single-item auction, and two stacked 4 h products where
# reserve pays about as well as arbitrage (midday FCR, morning-ramp aFRR), so that they win
# some capacity against the wholesale blocks of the same window.
SAMPLE_CATALOGUE: tuple[ProductSpec, ...] = (
    ProductSpec(0, 24, "WS2", daily_cycle_limit=2.0),
    ProductSpec(0, 24, "WS1-FCR"),
    ProductSpec(0, 24, "WS1-AFRR"),
    ProductSpec(0, 24, "FCR"),
    ProductSpec(0, 24, "WS2", increment_mw=10.0, single_item=True, daily_cycle_limit=2.0),
    *(
        ProductSpec(start, end, "WS2", increment_mw=0.1 if start in (12, 16) else 1.0)
        for start, end in _BLOCKS
    ),
    ProductSpec(12, 16, "WS1-FCR"),
    ProductSpec(4, 8, "WS1-AFRR"),
)


def catalogue(n_products: int) -> tuple[ProductSpec, ...]:
    """The first ``n_products`` of a fixed list mixing windows and recipes.

    The list starts with the full-day products and the 4 h blocks of every recipe, so that
    products of any prefix overlap in time and compete for the same assets; 8 h and 12 h
    windows follow. The first product is always ``DAY-WS2``.
    """
    windows = [(0, 24), *_BLOCKS, (0, 8), (8, 16), (16, 24), (0, 12), (12, 24)]
    order = ["WS2", "WS1-FCR", "WS1-AFRR", "FCR", "WS1", "AFRR"]
    specs: list[ProductSpec] = [ProductSpec(0, 24, r) for r in order]
    for recipe in order:
        specs.extend(ProductSpec(s, e, recipe) for s, e in windows[1:7])
    for recipe in order:
        specs.extend(ProductSpec(s, e, recipe) for s, e in windows[7:])
    if not 1 <= n_products <= len(specs):
        raise ValueError(f"n_products must be in [1, {len(specs)}], got {n_products}")
    return tuple(specs[:n_products])


@dataclass(frozen=True)
class Scenario:
    """Knobs of a synthetic auction; the defaults are the bundled sample.

    Shares are fractions of all bids: ``share_min`` have a minimum quantity above one
    increment (``share_all_or_nothing`` of all bids are among them with min = quantity),
    ``share_exclusive`` sit in exclusive groups of 2-3 alternatives on distinct products
    (up to ``max_group_size`` alternatives, products repeating, when that is above 3),
    ``share_linked`` are children linked to a parent bid. ``n_products=None`` uses
    ``SAMPLE_CATALOGUE``, an integer the first products of ``catalogue``.
    """

    auction_id: str = "sample"
    delivery_day: date = date(2026, 11, 29)
    time_zone: str = DEFAULT_TIME_ZONE
    n_assets: int = 30
    n_outside_zone: int = 3
    n_orgs: int = 10
    n_bids: int = 300
    n_products: int | None = None
    share_min: float = 0.2
    share_all_or_nothing: float = 0.06
    share_exclusive: float = 0.05
    share_linked: float = 0.02
    max_group_size: int = 3
    share_below_reserve: float = 0.02
    share_tied: float = 0.04
    median_quantity_mw: float = 2.5
    n_outages: int = 3
    allocation_mw: float = 5.0
    gate_open_days_before: int = 5
    seed: int = 2


def benchmark_scenario(n_bids: int, n_assets: int, n_products: int = 24, seed: int = 7) -> Scenario:
    """The benchmark day: ``benchmark_scenario(10_000, 200)`` is the reference.

    20 % of bids with minimums above one increment, 5 % in exclusive groups, 2 % linked;
    5 % of the assets outside the zone, one outage per 40 assets, more organisations for
    bigger books.
    """
    return Scenario(
        auction_id=f"bench-{n_bids}b-{n_assets}a-{n_products}p",
        n_assets=n_assets,
        n_outside_zone=max(1, n_assets // 20),
        n_orgs=int(np.clip(n_bids // 500, 10, 40)),
        n_bids=n_bids,
        n_products=n_products,
        share_min=0.2,
        share_exclusive=0.05,
        share_linked=0.02,
        n_outages=max(1, n_assets // 40),
        seed=seed,
    )


def hard_scenario(n_bids: int, seed: int = 1, n_assets: int = 200) -> Scenario:
    """A hard day: the reference day's fleet and products with a book full of conditions.

    30 % of the bids have minimums above one increment, 15 % sit in exclusive groups of up
    to 60 alternatives (several per product, at other quantities and prices), 10 % are
    linked to an earlier bid of the same organisation. The seed changes the solve time a
    lot, so the benchmark runs several.
    """
    base = benchmark_scenario(n_bids, n_assets, seed=seed)
    return replace(
        base,
        auction_id=f"hard-{n_bids}b-{n_assets}a-s{seed}",
        share_min=0.3,
        share_all_or_nothing=0.1,
        share_exclusive=0.15,
        max_group_size=60,
        share_linked=0.1,
    )


def generate(scenario: Scenario) -> Archive:
    """Build the auction ``scenario`` describes.

    Returns
    -------
    Archive
        Frames with exactly the schemas of ``auction.book``; every bid obeys the rules of
        docs/archive.md.
    """
    _check(scenario)
    rng = np.random.default_rng(scenario.seed)
    tz = ZoneInfo(scenario.time_zone)
    d = scenario.delivery_day
    gate_day = d - timedelta(days=scenario.gate_open_days_before)
    config = AuctionConfig(
        auction_id=scenario.auction_id,
        delivery_day=d,
        time_zone=scenario.time_zone,
        gate_open=datetime.combine(gate_day, time(9), tzinfo=tz),
    )
    specs = SAMPLE_CATALOGUE if scenario.n_products is None else catalogue(scenario.n_products)
    fleet = build_fleet(rng, scenario, config.tso_zone)
    availability = build_availability(rng, scenario, fleet, config.tso_zone)
    products = build_products(specs, d, scenario.time_zone)
    assert config.gate_open is not None
    assert config.gate_close is not None
    bids = build_bids(
        rng,
        scenario,
        specs,
        products,
        gate_open_us=epoch_us(config.gate_open),
        gate_close_us=epoch_us(config.gate_close),
    )
    allocations = build_allocations(scenario, products)
    return Archive(config, fleet, availability, products, bids, allocations)


def _check(s: Scenario) -> None:
    """Refuse knobs that cannot give a valid auction."""
    if s.n_assets < 1 or not 0 <= s.n_outside_zone < s.n_assets:
        raise ValueError("need n_assets >= 1 and 0 <= n_outside_zone < n_assets")
    if s.n_orgs < 1 or s.n_bids < 0 or s.n_outages < 0:
        raise ValueError("need n_orgs >= 1, n_bids >= 0, n_outages >= 0")
    if s.n_outages > s.n_assets - s.n_outside_zone:
        raise ValueError("n_outages exceeds the number of assets in the zone")
    shares = (s.share_min, s.share_exclusive, s.share_linked, s.share_below_reserve, s.share_tied)
    if any(not 0 <= x <= 1 for x in shares) or not 0 <= s.share_all_or_nothing <= s.share_min:
        raise ValueError("shares must lie in [0, 1], share_all_or_nothing <= share_min")
    if 2 * s.share_linked + s.share_exclusive > 1:
        raise ValueError("2 * share_linked + share_exclusive must be <= 1 (parents are plain)")
    if s.median_quantity_mw <= 0 or s.allocation_mw < 0:
        raise ValueError("need median_quantity_mw > 0 and allocation_mw >= 0")


def conform(frame: pl.DataFrame, schema: pl.Schema) -> pl.DataFrame:
    """``frame`` with exactly the columns, order and dtypes of ``schema``."""
    return frame.select(schema.names()).cast(schema)


def epoch_us(instant: datetime) -> int:
    """Microseconds since the Unix epoch."""
    return round(instant.timestamp() * 1_000_000)


def _utc_series(name: str, epoch_us: IntArray | list[int]) -> pl.Series:
    """Epoch microseconds as a ``Datetime("us", "UTC")`` column."""
    return pl.Series(name, epoch_us, dtype=pl.Int64).cast(UTC_TIME)


# --------------------------------------------------------------------------- fleet


def build_fleet(rng: np.random.Generator, s: Scenario, tso_zone: str) -> pl.DataFrame:
    """Physical BESS: 2 MW/2 MWh to 50 MW/100 MWh, 1 h, 1.5 h and 2 h systems.

    Most are prequalified for FCR and aFRR; about 40 % belong to customers (``owner_org``).
    The last ``n_outside_zone`` assets sit in other German control areas.
    """
    n = s.n_assets
    sizes = np.array([2, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40, 50], dtype=np.float64)
    weights = np.array([6, 8, 8, 6, 8, 10, 7, 8, 7, 5, 4, 3, 2], dtype=np.float64)
    p_mw = rng.choice(sizes, n, p=weights / weights.sum())
    duration_h = rng.choice(np.array([1.0, 1.5, 2.0]), n, p=[0.35, 0.2, 0.45])
    e_max = p_mw * duration_h
    # A few % of the energy is kept as a floor (cell protection), on the 0.1 MWh grid.
    e_min = np.round(e_max * rng.uniform(0.02, 0.08, n), 1)
    # Some inverters charge slower than they discharge.
    slow_charge = rng.random(n) < 0.12
    p_charge = np.where(slow_charge, np.round(0.8 * p_mw, 1), p_mw)
    fcr = rng.random(n) < 0.8
    afrr = rng.random(n) < 0.7
    neg_only = afrr & (rng.random(n) < 0.1)
    owner_draw = rng.integers(0, len(OWNER_ORGS), n)
    customer = rng.random(n) < 0.4

    n_in = n - s.n_outside_zone
    zones = [tso_zone] * n_in
    sites = [TENNET_SITES[i] for i in rng.integers(0, len(TENNET_SITES), n_in)]
    for i in range(s.n_outside_zone):
        zone, site = OTHER_ZONE_SITES[i % len(OTHER_ZONE_SITES)]
        zones.append(zone)
        sites.append(site)
    seen: dict[str, int] = {}
    asset_ids: list[str] = []
    for site in sites:  # one loop per asset, not per bid
        seen[site] = seen.get(site, 0) + 1
        asset_ids.append(f"bess-{site}-{seen[site]:02d}")
    owners = [OWNER_ORGS[k] if c else None for k, c in zip(owner_draw, customer, strict=True)]
    return pl.DataFrame(
        {
            "asset_id": asset_ids,
            "tso_zone": zones,
            "p_charge_mw": p_charge,
            "p_discharge_mw": p_mw,
            "e_min_mwh": e_min,
            "e_max_mwh": e_max,
            "fcr": fcr,
            "afrr_pos": afrr & ~neg_only,
            "afrr_neg": afrr,
            "owner_org": owners,
            "eta_charge": 0.95,
            "eta_discharge": 0.95,
        },
        schema=FLEET,
    ).pipe(conform, FLEET)


def build_availability(
    rng: np.random.Generator, s: Scenario, fleet: pl.DataFrame, tso_zone: str
) -> pl.DataFrame:
    """Outages of 2-8 hours (fraction 0) and, every third event, a whole-day derate to 0.5.

    Events hit distinct assets of the zone; edges lie on the 15-minute grid.
    """
    in_zone = np.flatnonzero((fleet["tso_zone"] == tso_zone).to_numpy())
    assets = rng.choice(in_zone, s.n_outages, replace=False)
    start, end = day_bounds(s.delivery_day, s.time_zone)
    day_start_us, day_end_us = epoch_us(start), epoch_us(end)
    n_mtu = (day_end_us - day_start_us) // (15 * 60 * 1_000_000)
    length = rng.integers(8, 33, s.n_outages)  # quarter-hours
    first = rng.integers(0, n_mtu - length + 1)
    derate = np.arange(s.n_outages) % 3 == 2
    mtu_us = 15 * 60 * 1_000_000
    starts = np.where(derate, day_start_us, day_start_us + first * mtu_us)
    ends = np.where(derate, day_end_us, day_start_us + (first + length) * mtu_us)
    return (
        pl.DataFrame(
            [
                pl.Series("asset_id", fleet["asset_id"].to_numpy()[assets], dtype=pl.String),
                _utc_series("start", starts),
                _utc_series("end", ends),
                pl.Series("available_fraction", np.where(derate, 0.5, 0.0), dtype=pl.Float64),
            ]
        )
        .pipe(conform, AVAILABILITY)
        .sort("asset_id", "start")
    )


# --------------------------------------------------------------------------- products


def product_values(
    specs: tuple[ProductSpec, ...], hours: FloatArray, scale: PriceScale = DEFAULT_PRICE_SCALE
) -> FloatArray:
    """Central value of one MW of each product over its window, EUR/MW.

    Wholesale: the day's 2 h arbitrage value, times the window's share of the day, times
    ``(wholesale_h / 2) ** 0.7`` (a 1 h battery earns ~60 % of a 2 h one per MW); reserves:
    capacity price x block MW x hours; ``STACKING_PREMIUM`` on products with both.
    """
    hour_share = np.asarray(scale.hour_share, dtype=np.float64)
    values = np.empty(len(specs))
    for i, spec in enumerate(specs):  # one per product
        r = RECIPES[spec.recipe]
        share = hour_share[spec.start_h : spec.end_h].sum()
        wholesale = (
            scale.day_arbitrage_2h_eur_per_mw
            * r.wholesale_mw
            * (r.wholesale_h / 2.0) ** 0.7
            * share
        )
        reserve = (
            r.fcr_mw * scale.fcr_eur_per_mw_h
            + (r.afrr_pos_mw + r.afrr_neg_mw) * scale.afrr_eur_per_mw_h
        )
        stacked = wholesale > 0 and reserve > 0
        values[i] = (wholesale + reserve * hours[i]) * (STACKING_PREMIUM if stacked else 1.0)
    return values


def build_products(
    specs: tuple[ProductSpec, ...],
    day: date,
    time_zone: str,
    scale: PriceScale = DEFAULT_PRICE_SCALE,
) -> pl.DataFrame:
    """Products of one delivery day; windows are local wall-clock hours, stored in UTC.

    Reserve prices are ``RESERVE_FRACTION`` of the values at ``scale`` (a history passes
    the month's scale: the operator sets reserves monthly, not daily).
    """
    tz = ZoneInfo(time_zone)

    def edge(hour: int) -> int:
        # Local wall-clock edge; hour 24 is next midnight (a DST day has 23 or 25 hours).
        local = datetime.combine(day + timedelta(days=hour // 24), time(hour % 24), tzinfo=tz)
        return epoch_us(local)

    starts = np.array([edge(p.start_h) for p in specs], dtype=np.int64)
    ends = np.array([edge(p.end_h) for p in specs], dtype=np.int64)
    hours = (ends - starts) / 3.6e9
    values = product_values(specs, hours, scale)
    recipes = [RECIPES[p.recipe] for p in specs]
    increment = np.array([p.increment_mw for p in specs])
    return pl.DataFrame(
        [
            pl.Series("product_id", [p.product_id for p in specs], dtype=pl.String),
            _utc_series("start", starts),
            _utc_series("end", ends),
            pl.Series("wholesale_mw", [r.wholesale_mw for r in recipes], dtype=pl.Float64),
            pl.Series("wholesale_h", [r.wholesale_h for r in recipes], dtype=pl.Float64),
            pl.Series("fcr_mw", [r.fcr_mw for r in recipes], dtype=pl.Float64),
            pl.Series("afrr_pos_mw", [r.afrr_pos_mw for r in recipes], dtype=pl.Float64),
            pl.Series("afrr_neg_mw", [r.afrr_neg_mw for r in recipes], dtype=pl.Float64),
            pl.Series("min_mw", increment, dtype=pl.Float64),
            pl.Series("increment_mw", increment, dtype=pl.Float64),
            pl.Series(
                "reserve_price_eur_per_mw",
                np.maximum(np.round(RESERVE_FRACTION * values), 1.0),
                dtype=pl.Float64,
            ),
            pl.Series(
                "max_mw",
                [p.increment_mw if p.single_item else None for p in specs],
                dtype=pl.Float64,
            ),
            # Lossless virtual blocks, the archive default (validated frames carry 1.0).
            pl.Series("eta_charge", [1.0] * len(specs), dtype=pl.Float64),
            pl.Series("eta_discharge", [1.0] * len(specs), dtype=pl.Float64),
            pl.Series("daily_cycle_limit", [p.daily_cycle_limit for p in specs], dtype=pl.Float64),
        ]
    ).pipe(conform, PRODUCTS)


def build_allocations(s: Scenario, products: pl.DataFrame) -> pl.DataFrame:
    """One fixed allocation for the designated optimiser on the first product (DAY-WS2)."""
    if s.allocation_mw == 0:
        return pl.DataFrame(schema=ALLOCATIONS)
    increment = float(products["increment_mw"][0])
    mw = max(round(s.allocation_mw / increment), 1) * round(increment * 1000) / 1000
    return pl.DataFrame(
        {
            "org_id": [ALLOCATION_ORG],
            "product_id": [products["product_id"][0]],
            "quantity_mw": [mw],
        },
        schema=ALLOCATIONS,
    )


# --------------------------------------------------------------------------- bids


def org_names(n_orgs: int) -> list[str]:
    """Trading-firm-like organisation ids; generic ones beyond the named list."""
    named = list(ORG_NAMES[:n_orgs])
    return named + [f"trader-{i:03d}" for i in range(len(named) + 1, n_orgs + 1)]


@dataclass(frozen=True, slots=True, eq=False)
class BidderStyles:
    """Who bids and how, per organisation (rows) and product (taste columns).

    ``activity`` sums to 1 (share of the bids), ``level`` is the price as a fraction of the
    product's value (aggressive ~1.0, conservative ~0.8), ``scatter`` the log-normal spread
    of that, ``tick_cents`` the price grid, and ``taste`` each org's product distribution
    (rows sum to 1). A history keeps them for the whole year, so strategies persist.
    """

    orgs: tuple[str, ...]
    activity: FloatArray
    level: FloatArray
    scatter: FloatArray
    tick_cents: IntArray
    taste: FloatArray


def draw_styles(
    rng: np.random.Generator, orgs: tuple[str, ...], popularity: FloatArray
) -> BidderStyles:
    """Random styles for ``orgs`` over products of the given ``popularity``.

    Some orgs bid a lot (activity falls with a random rank), half are aggressive.
    """
    n_org, n_prod = len(orgs), len(popularity)
    activity = np.asarray(1.0 / (1.0 + rng.permutation(n_org)) ** 0.8, dtype=np.float64)
    activity /= activity.sum()
    aggressive = rng.random(n_org) < 0.5
    level = np.where(aggressive, rng.uniform(0.92, 1.08, n_org), rng.uniform(0.72, 0.88, n_org))
    scatter = rng.uniform(0.04, 0.12, n_org)
    tick_cents = rng.choice(np.array([1, 1, 10, 50, 100, 100, 500]), n_org)
    taste = popularity[None, :] * rng.gamma(2.0, 0.5, (n_org, n_prod))
    taste /= taste.sum(axis=1, keepdims=True)
    return BidderStyles(orgs, activity, level, scatter, tick_cents, taste)


def _sample_rows(rng: np.random.Generator, cum: FloatArray, rows: IntArray) -> IntArray:
    """One column per row, drawn from the cumulative distributions ``cum[rows]``."""
    u = rng.random(len(rows))
    picked = (u[:, None] >= cum[rows]).sum(axis=1)
    return np.asarray(np.minimum(picked, cum.shape[1] - 1), dtype=np.int64)


def _big_group_sizes(rng: np.random.Generator, n_members: int, largest: int) -> IntArray:
    """Sizes of exclusive groups with ``n_members`` bids in all: 2 to ``largest``, most small."""
    draws = np.clip(np.round(rng.lognormal(np.log(6.0), 1.0, n_members)), 2, largest)
    sizes = draws.astype(np.int64)[: int(np.searchsorted(np.cumsum(draws), n_members)) + 1]
    if sizes.size:
        sizes[-1] -= int(sizes.sum()) - n_members
        if sizes[-1] < 2:  # fold a remainder of one into the previous group
            sizes = np.append(sizes[:-2], sizes[-2:].sum()) if sizes.size > 1 else sizes[:0]
    return sizes


def build_bids(
    rng: np.random.Generator,
    s: Scenario,
    specs: tuple[ProductSpec, ...],
    products: pl.DataFrame,
    gate_open_us: int,
    gate_close_us: int,
    *,
    scale: PriceScale = DEFAULT_PRICE_SCALE,
    styles: BidderStyles | None = None,
) -> pl.DataFrame:
    """The bid book.

    Bids come in three kinds, drawn in this order: plain bids, exclusive groups (2-3
    alternatives of one org on distinct products) and linked children (same org as a plain
    parent, another product). Each org has a persistent style: a price level (aggressive
    ~1.0 of the product's value, conservative ~0.8), a scatter and a price tick (cents to
    5 EUR). Ids ``b00001``... follow submission order.

    Prices scatter around the values at ``scale``. Without ``styles`` the ``s.n_orgs``
    organisations get fresh styles from ``rng`` (drawn first, so the sample's draws stay
    in order); with them, ``s.n_orgs`` is ignored and ``styles.taste`` has one column per
    spec.
    """
    n = s.n_bids
    n_prod = len(specs)

    # Products: increments in kW so that quantities are exact multiples.
    inc_kw = np.round(products["increment_mw"].to_numpy() * 1000).astype(np.int64)
    min_units = np.round(products["min_mw"].to_numpy() * 1000).astype(np.int64) // inc_kw
    max_mw = products["max_mw"].fill_null(np.inf).to_numpy()
    max_units = np.where(
        np.isfinite(max_mw), np.round(np.nan_to_num(max_mw, posinf=0) * 1000) // inc_kw, 10**9
    ).astype(np.int64)
    single = np.array([p.single_item for p in specs])
    hours = (products["end"] - products["start"]).dt.total_microseconds().to_numpy() / 3.6e9
    value = product_values(specs, hours, scale)
    reserve_cents = np.round(products["reserve_price_eur_per_mw"].to_numpy() * 100).astype(np.int64)
    popularity = np.array([p.popularity for p in specs])

    # Organisations: activity (some bid a lot), style and product taste.
    if styles is None:
        styles = draw_styles(rng, tuple(org_names(s.n_orgs)), popularity)
    if styles.taste.shape != (len(styles.orgs), n_prod):
        raise ValueError("styles.taste needs one row per org and one column per product")
    orgs, n_org = list(styles.orgs), len(styles.orgs)
    activity, level, scatter = styles.activity, styles.level, styles.scatter
    tick_cents, taste = styles.tick_cents, styles.taste
    cum_taste = np.cumsum(taste, axis=1)
    sentiment = np.exp(rng.normal(0.0, 0.08, n_prod))

    # Structure: how many bids of each kind.
    if s.max_group_size > 3:
        sizes = _big_group_sizes(rng, round(s.share_exclusive * n), s.max_group_size)
        n_groups = len(sizes)
    else:
        n_groups = round(s.share_exclusive * n / 2.5) if n_prod >= 2 else 0
        sizes = np.minimum(rng.choice(np.array([2, 3]), n_groups), n_prod).astype(np.int64)
    n_excl = int(sizes.sum())
    n_link = round(s.share_linked * n) if n_prod >= 2 else 0
    if n_excl + 2 * n_link > n:
        n_groups, sizes, n_excl, n_link = 0, sizes[:0], 0, 0
    n_plain = n - n_excl - n_link

    # Plain bids.
    org_p = rng.choice(n_org, n_plain, p=activity).astype(np.int64)
    prod_p = _sample_rows(rng, cum_taste, org_p)
    # Exclusive groups: distinct products per group by Gumbel top-k on the org's taste;
    # big groups draw each alternative's product from that taste, repeats allowed.
    org_g = rng.choice(n_org, n_groups, p=activity).astype(np.int64)
    group_of = np.repeat(np.arange(n_groups), sizes)
    rank_in_group = np.arange(n_excl) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    if s.max_group_size > 3:
        prod_g = _sample_rows(rng, cum_taste, org_g[group_of])
    else:
        keys = np.log(taste[org_g]) + rng.gumbel(size=(n_groups, n_prod))
        top = np.argsort(-keys, axis=1)[:, :3]
        prod_g = top[group_of, rank_in_group] if n_excl else np.zeros(0, dtype=np.int64)
    # Linked children: a distinct plain parent each, same org, another product.
    parent_p = rng.choice(n_plain, n_link, replace=False).astype(np.int64)
    prod_c = (prod_p[parent_p] + rng.integers(1, max(n_prod, 2), n_link)) % n_prod

    org = np.concatenate([org_p, org_g[group_of], org_p[parent_p]]).astype(np.int64)
    prod = np.concatenate([prod_p, prod_g, prod_c]).astype(np.int64)
    group = np.concatenate([np.full(n_plain, -1), group_of, np.full(n_link, -1)])
    parent = np.concatenate([np.full(n_plain + n_excl, -1), parent_p]).astype(np.int64)

    # Quantities: mostly a few MW (lognormal), whole multiples of the increment.
    q_mw = np.minimum(rng.lognormal(np.log(s.median_quantity_mw), 0.75, n), 25.0)
    q_units = np.maximum(np.round(q_mw * 1000 / inc_kw[prod]).astype(np.int64), min_units[prod])
    q_units = np.minimum(q_units, max_units[prod])
    # Minimums above one increment (some all-or-nothing); single items are all-or-nothing.
    min_q_units = np.full(n, -1, dtype=np.int64)
    can_min = np.flatnonzero(~single[prod] & (max_units[prod] >= 2))
    with_min = rng.choice(can_min, min(round(s.share_min * n), len(can_min)), replace=False)
    q_units[with_min] = np.maximum(q_units[with_min], 2)
    low = np.maximum(min_units[prod[with_min]], 2)
    min_q_units[with_min] = rng.integers(low, q_units[with_min] + 1)
    aon = with_min[: min(round(s.share_all_or_nothing * n), len(with_min))]
    min_q_units[aon] = q_units[aon]
    min_q_units[single[prod]] = q_units[single[prod]]

    # Prices: value x market sentiment x org level x scatter, a bit less per MW for big bids.
    raw = (
        value[prod]
        * sentiment[prod]
        * level[org]
        * np.exp(rng.normal(0.0, 1.0, n) * scatter[org])
        * (q_units * inc_kw[prod] / 3000.0) ** -0.03
    )
    tick = tick_cents[org]
    cents = np.maximum(np.round(raw * 100 / tick).astype(np.int64), 1) * tick

    # Submission times: skewed towards gate closure, whole seconds.
    open_s = -(-gate_open_us // 1_000_000)
    span_s = (gate_close_us // 1_000_000) - open_s
    t_s = open_s + np.floor(rng.beta(2.2, 1.0, n) * span_s).astype(np.int64)
    if n_excl:  # alternatives are entered together, seconds apart
        first = n_plain + np.cumsum(sizes) - sizes
        t_s[n_plain : n_plain + n_excl] = t_s[first[group_of]] + rank_in_group * rng.integers(
            2, 60, n_excl
        )
    t_s[n_plain + n_excl :] = t_s[parent_p] + rng.integers(5, 900, n_link)
    t_s = np.minimum(t_s, open_s + span_s - 1)

    # Ties: copy the price (and, for a third, the submission second) of another bid on the
    # same product, so that time priority and then bid_id have to decide.
    by_product = np.lexsort((rng.random(n), prod))
    same = prod[by_product[1:]] == prod[by_product[:-1]]
    pairs = np.flatnonzero(same)
    tied = rng.choice(pairs, min(round(s.share_tied * n), len(pairs)), replace=False)
    dst, src = by_product[tied + 1], by_product[tied]
    cents[dst] = cents[src]
    same_time = (rng.random(len(tied)) < 1 / 3) & (parent[dst] < 0) & (parent[src] < 0)
    t_s[dst[same_time]] = t_s[src[same_time]]
    # A few bids below the reserve price (never the single-item ones, to keep that race).
    not_single = np.flatnonzero(~single[prod])
    below = rng.choice(
        not_single, min(round(s.share_below_reserve * n), len(not_single)), replace=False
    )
    cents[below] = np.maximum(
        np.floor(reserve_cents[prod[below]] * rng.uniform(0.7, 0.97, len(below))), 1
    ).astype(np.int64)

    # Ids in submission order (ties by a random draw); children may share a second.
    order = np.lexsort((rng.random(n), t_s))
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    width = max(5, len(str(n)))
    ids = pl.Series("bid_id", rank + 1, dtype=pl.Int64).cast(pl.String).str.zfill(width)
    ids = "b" + ids
    parent_rank = np.where(parent >= 0, rank[np.maximum(parent, 0)], -1)

    frame = pl.DataFrame(
        {
            "bid_id": ids,
            "org_id": pl.Series(orgs, dtype=pl.String).gather(org),
            "product_id": products["product_id"].gather(prod),
            "quantity_mw": q_units * inc_kw[prod] / 1000,
            "min_quantity_mw": np.where(min_q_units >= 0, min_q_units * inc_kw[prod], -1) / 1000,
            "price_eur_per_mw": cents / 100,
            "submitted_at": _utc_series("submitted_at", t_s * 1_000_000),
            "group": group,
            "parent": parent_rank,
        }
    )
    id_by_rank = ids.gather(order)
    return (
        frame.with_columns(
            min_quantity_mw=pl.when(pl.col("min_quantity_mw") >= 0).then(pl.col("min_quantity_mw")),
            exclusive_group=pl.when(pl.col("group") >= 0).then(
                pl.format("alt-{}", (pl.col("group") + 1).cast(pl.String).str.zfill(3))
            ),
            linked_to=pl.when(pl.col("parent") >= 0).then(
                id_by_rank.gather(pl.Series(np.maximum(parent_rank, 0)))
            ),
        )
        .pipe(conform, BIDS)
        .sort("bid_id")
    )
