"""The terms a result is checked against: the archive's products, bids, fixed allocations
and fleet as exact decimals keyed by id, and what the result's awards add up to under
them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from auction.book import MARKET_FACTOR, MARKETS
from auction.model import Archive
from auction.timegrid import local_iso
from auction.units import CENTS_PER_EUR, KW_PER_MW
from clearing.reference_arrays import Grid, build_grid
from clearing.verify.result import ZERO, Result


def _exact(value: float | None, grid: int) -> Decimal | None:
    """A float of the validated frames, which lies on a 1/``grid`` grid, as exact Decimal."""
    if value is None:
        return None
    return Decimal(round(value * grid)) / grid


def _plain(value: float) -> Decimal:
    """A factor or duration (no fixed grid) as the decimal it was written as."""
    return Decimal(repr(float(value)))


@dataclass(frozen=True, slots=True)
class ProductTerms:
    """A product's rules as exact decimals."""

    product_id: str
    start: datetime
    end: datetime
    factor: dict[str, Decimal]  # block MW per MW, per market
    energy_h: dict[str, Decimal]  # block MWh per block MW, per market
    min_mw: Decimal
    increment_mw: Decimal
    reserve_eur_per_mw: Decimal
    max_mw: Decimal | None

    @property
    def markets(self) -> list[str]:
        """Markets with a block: factor > 0."""
        return [m for m in MARKETS if self.factor[m] > 0]


@dataclass(frozen=True, slots=True)
class BidTerms:
    """A bid as exact decimals."""

    bid_id: str
    org_id: str
    product_id: str
    quantity_mw: Decimal
    min_quantity_mw: Decimal | None
    price_eur_per_mw: Decimal
    exclusive_group: str | None
    linked_to: str | None


@dataclass(frozen=True, slots=True)
class Terms:
    """The archive as the checker needs it."""

    auction_id: str
    products: dict[str, ProductTerms]
    bids: dict[str, BidTerms]
    fixed: list[tuple[str, str, Decimal]]  # (org, product, MW) per fixed allocation
    assets: dict[str, dict[str, Any]]  # fleet rows by asset_id
    tso_zone: str
    time_zone: str
    grid: Grid  # products, assets and MTUs as arrays, for the capacity check

    def fixed_mw(self, product_id: str) -> Decimal:
        """``A_p``: MW of the product's fixed allocations."""
        return sum((q for _, p, q in self.fixed if p == product_id), ZERO)


def read_terms(archive: Archive) -> Terms:
    """The archive's frames as exact decimals keyed by id."""
    config = archive.config
    energy_h = {
        "fcr": 2 * _plain(config.fcr_energy_h),
        "afrr_pos": _plain(config.afrr_energy_h),
        "afrr_neg": _plain(config.afrr_energy_h),
    }
    products = {}
    for row in archive.products.iter_rows(named=True):
        products[row["product_id"]] = ProductTerms(
            product_id=row["product_id"],
            start=row["start"],
            end=row["end"],
            factor={m: _plain(row[MARKET_FACTOR[m]] or 0.0) for m in MARKETS},
            energy_h=energy_h | {"wholesale": _plain(row["wholesale_h"] or 0.0)},
            min_mw=_exact(row["min_mw"], KW_PER_MW) or ZERO,
            increment_mw=_exact(row["increment_mw"], KW_PER_MW) or ZERO,
            reserve_eur_per_mw=_exact(row["reserve_price_eur_per_mw"], CENTS_PER_EUR) or ZERO,
            max_mw=_exact(row["max_mw"], KW_PER_MW),
        )
    bids = {
        row["bid_id"]: BidTerms(
            bid_id=row["bid_id"],
            org_id=row["org_id"],
            product_id=row["product_id"],
            quantity_mw=_exact(row["quantity_mw"], KW_PER_MW) or ZERO,
            min_quantity_mw=_exact(row["min_quantity_mw"], KW_PER_MW),
            price_eur_per_mw=_exact(row["price_eur_per_mw"], CENTS_PER_EUR) or ZERO,
            exclusive_group=row["exclusive_group"],
            linked_to=row["linked_to"],
        )
        for row in archive.bids.iter_rows(named=True)
    }
    fixed = [
        (row["org_id"], row["product_id"], _exact(row["quantity_mw"], KW_PER_MW) or ZERO)
        for row in archive.allocations.iter_rows(named=True)
    ]
    assets = {row["asset_id"]: row for row in archive.fleet.iter_rows(named=True)}
    return Terms(
        auction_id=config.auction_id,
        products=products,
        bids=bids,
        fixed=fixed,
        assets=assets,
        tso_zone=config.tso_zone,
        time_zone=config.time_zone,
        grid=build_grid(archive),
    )


def awarded_mw(result: Result, bid_id: str) -> Decimal:
    """``x_b`` as awards.csv writes it; 0 for a bid without a row."""
    award = result.awards.get(bid_id)
    return award.awarded_mw if award is not None else ZERO


def product_totals(terms: Terms, result: Result) -> dict[str, Decimal]:
    """``X_p = Σ_{b∈p} x_b + A_p`` from the awards as written."""
    totals = {p: terms.fixed_mw(p) for p in terms.products}
    for bid in terms.bids.values():
        if bid.product_id in totals:
            totals[bid.product_id] += awarded_mw(result, bid.bid_id)
    return totals


def when(instant: datetime, terms: Terms) -> str:
    """An instant as a message shows it: ISO 8601 in the auction's time zone."""
    return local_iso(instant, terms.time_zone)
