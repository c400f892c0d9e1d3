"""The products of a synthetic day: recipes, windows, catalogues, and what they are worth.

The price scale (see ``data/README.md``): a full-day wholesale-only 2 h virtual battery is
worth about 280 EUR/MW/day (German BESS arbitrage of recent years, ~100 kEUR/MW/year);
FCR capacity about 12 EUR/MW/h, aFRR capacity about 8 EUR/MW/h per direction, and a
20 % premium on products that stack wholesale and reserve blocks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

from auction.book import PRODUCTS
from auction.synthetic.frames import FloatArray, conform, epoch_us, utc_series

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
            utc_series("start", starts),
            utc_series("end", ends),
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
