"""The knobs of the generators: one synthetic day (``Scenario``), a year (``HistoryScenario``)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

import numpy as np

from auction.timegrid import DEFAULT_TIME_ZONE


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


def check_scenario(s: Scenario) -> None:
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
