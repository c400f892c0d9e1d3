"""What the operator's reports show beyond the API's answers: read from the stored book
and the stored clearing, assembled for people.

- Before clearing: what the fleet can carry of each product (the bound the plausibility
  warnings use), beside the book of ``GET /auctions/{id}/report``.
- After clearing: the merit order of each product (bids best price first, accepted or
  not), the fleet's utilisation per asset and hour, and which physical assets back each
  virtual asset. All from the stored result and the fleet the clearing saw, never from a
  new clearing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import polars as pl

from auction.archive import read_sheet
from auction.book import MARKETS
from auction.errors import NotFound, Problem
from auction.model import Archive
from auction.plausibility import product_capacity_mw
from auction.rules import check_fleet
from auction.store import Store
from auction.store.accounts import list_orgs
from auction.store.book import load_archive
from auction.store.results import ClearingRecord, get_clearing, result_frame
from auction.timegrid import Grid, mtu_index
from auction.units import KW_PER_MW

# The markets a block takes from an asset's discharge and charge power (docs/clearing.md).
DISCHARGE = ("wholesale", "fcr", "afrr_pos")
CHARGE = ("wholesale", "fcr", "afrr_neg")
BUCKETS = 10  # the heat map's colour classes, 10 % each


def org_names(store: Store) -> dict[str, str]:
    """Organisation id -> name, for reports that list whose bid is whose."""
    with store.read() as conn:
        return {org.org_id: org.name for org in list_orgs(conn)}


def fleet_capacity(store: Store, auction_id: str) -> dict[str, float]:
    """Per product, the MW the fleet in the store today can carry at most (ignoring
    outages and the other products): the bound the plausibility warnings use."""
    with store.read() as conn:
        _record, archive = load_archive(conn, auction_id)
    return dict(product_capacity_mw(archive).iter_rows())


# --- after clearing ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MeritStep:
    """One bid in its product's merit order, at [from_mw, to_mw) of the offered MW."""

    rank: int
    bid_id: str
    organisation: str
    price_eur_per_mw: float
    offered_mw: float
    awarded_mw: float
    from_mw: float
    to_mw: float
    status: str
    reason: str | None


@dataclass(frozen=True, slots=True)
class MeritOrder:
    product_id: str
    steps: list[MeritStep]
    cleared_mw: float  # awarded to bids
    allocated_mw: float  # fixed allocations, served before the bids
    capability_mw: float  # what the fleet the clearing saw can carry of it, at most
    chart: dict[str, Any]  # the uPlot data of static/app/charts/merit.js


@dataclass(frozen=True, slots=True)
class HeatCell:
    percent: int  # of the asset's power committed, the tighter of discharge and charge
    bucket: int  # 0..9, 10 % each
    by_market_mw: dict[str, float]  # the peak MW of each market in the hour


@dataclass(frozen=True, slots=True)
class HeatRow:
    asset_id: str
    cells: list[HeatCell]
    markets: list[str]  # the markets it backs at some hour of the day


@dataclass(frozen=True, slots=True)
class HeatMap:
    hours: list[datetime]  # UTC starts of the delivery day's hours
    rows: list[HeatRow]


@dataclass(frozen=True, slots=True)
class BlockBacking:
    market: str
    power_mw: float
    assets: list[tuple[str, float]]  # asset id, MW it carries


@dataclass(frozen=True, slots=True)
class VirtualAssetBacking:
    virtual_asset_id: str
    organisation: str
    product_id: str
    start: datetime
    end: datetime
    blocks: list[BlockBacking]


@dataclass(frozen=True, slots=True)
class ClearingViews:
    clearing: ClearingRecord
    merit: list[MeritOrder]
    heat: HeatMap
    allocation: list[VirtualAssetBacking]


def clearing_views(store: Store, auction_id: str) -> ClearingViews:
    """The stored clearing of ``auction_id`` as the clearing report shows it; NotFound if
    the auction has not been cleared."""
    with store.read() as conn:
        _record, archive = load_archive(conn, auction_id)
        clearing = get_clearing(conn, auction_id)
        if clearing is None:
            raise NotFound("clearing", auction_id)
        frames = {
            name: result_frame(conn, auction_id, name)
            for name in ("awards", "virtual_assets", "blocks", "backing")
        }
        names = {org.org_id: org.name for org in list_orgs(conn)}
    # The fleet the clearing saw: the store's fleet may have changed since.
    seen = replace(archive, fleet=_fleet_of(clearing))
    return ClearingViews(
        clearing=clearing,
        merit=_merit(seen, frames["awards"], names),
        heat=_heat(seen, frames["blocks"], frames["backing"]),
        allocation=_allocation(frames, names),
    )


def _fleet_of(clearing: ClearingRecord) -> pl.DataFrame:
    problems: list[Problem] = []
    fleet = check_fleet(read_sheet("fleet", "fleet.csv", clearing.fleet_csv.encode(), problems))
    if fleet is None or problems:
        raise RuntimeError(f"the stored fleet of {clearing.auction_id} cannot be read back")
    return fleet


def _merit(archive: Archive, awards: pl.DataFrame, names: dict[str, str]) -> list[MeritOrder]:
    """Per product, the bids best price first (time priority among equal prices)."""
    capacity = dict(product_capacity_mw(archive).iter_rows())
    allocated = dict(
        archive.allocations.group_by("product_id").agg(pl.col("quantity_mw").sum()).iter_rows()
    )
    book = (
        awards.join(archive.bids.select("bid_id", "quantity_mw", "submitted_at"), on="bid_id")
        .with_columns(awarded_mw=pl.col("awarded_kw") / KW_PER_MW)
        .sort(
            ["product_id", "price_cents", "submitted_at", "bid_id"],
            descending=[False, True, False, False],
        )
    )
    orders = []
    for product_id in archive.products["product_id"].sort().to_list():
        rows = book.filter(pl.col("product_id") == product_id).to_dicts()
        steps, at = [], 0.0
        for rank, row in enumerate(rows, start=1):
            end = round(at + row["quantity_mw"], 3)
            steps.append(
                MeritStep(
                    rank=rank,
                    bid_id=row["bid_id"],
                    organisation=names.get(row["org_id"], row["org_id"]),
                    price_eur_per_mw=row["price_cents"] / 100,
                    offered_mw=row["quantity_mw"],
                    awarded_mw=row["awarded_mw"],
                    from_mw=at,
                    to_mw=end,
                    status=row["status"],
                    reason=row["reason"],
                )
            )
            at = end
        alloc = float(allocated.get(product_id, 0.0))
        cleared = round(sum(s.awarded_mw for s in steps), 3)
        capability = max(float(capacity.get(product_id, 0.0)) - alloc, 0.0)
        orders.append(
            MeritOrder(
                product_id=product_id,
                steps=steps,
                cleared_mw=cleared,
                allocated_mw=alloc,
                capability_mw=round(capability, 3),
                chart=_merit_chart(product_id, steps, cleared, capability),
            )
        )
    return orders


def _merit_chart(
    product_id: str, steps: list[MeritStep], cleared: float, capability: float
) -> dict[str, Any]:
    """Two stepped series over cumulative MW: the accepted MW and the rejected MW.

    Each stretch of a bid is two points at its price (its left and right edge), so a
    series is flat over the bid and drops at the next; a bid awarded in part has an
    accepted and a rejected stretch.
    """
    x: list[float] = []
    accepted: list[float | None] = []
    rejected: list[float | None] = []
    for step in steps:
        split = round(step.from_mw + step.awarded_mw, 3)
        for lo, hi, won in ((step.from_mw, split, True), (split, step.to_mw, False)):
            if hi <= lo:
                continue
            for edge in (lo, hi):
                x.append(edge)
                accepted.append(step.price_eur_per_mw if won else None)
                rejected.append(None if won else step.price_eur_per_mw)
    return {
        "product_id": product_id,
        "x": x,
        "accepted": accepted,
        "rejected": rejected,
        "cleared_mw": cleared,
        "capability_mw": round(capability, 3),
    }


def _heat(archive: Archive, blocks: pl.DataFrame, backing: pl.DataFrame) -> HeatMap:
    """Per physical asset and hour of the delivery day: the peak share of its power that
    the clearing committed (discharge for wholesale, FCR and aFRR+, charge for wholesale,
    FCR and aFRR−, whichever is tighter), and the MW of each market."""
    cfg = archive.config
    grid = Grid.of_day(cfg.delivery_day, cfg.mtu_minutes, cfg.time_zone)
    per_hour = 60 // cfg.mtu_minutes
    n_hours = grid.n_mtu // per_hour
    fleet = archive.fleet.filter(pl.col("tso_zone") == cfg.tso_zone).sort("asset_id")
    index = {asset: k for k, asset in enumerate(fleet["asset_id"].to_list())}
    kw = np.zeros((len(MARKETS), fleet.height, grid.n_mtu))
    market_of = {m: i for i, m in enumerate(MARKETS)}
    carried = backing.join(
        blocks.select("block_id", "market", "start", "end"), on="block_id", how="inner"
    )
    for row in carried.iter_rows(named=True):  # a row per block and asset: few thousand
        k = index.get(row["asset_id"])
        if k is None:
            continue
        t0 = max(0, mtu_index(row["start"], grid.start, cfg.mtu_minutes))
        t1 = min(grid.n_mtu, mtu_index(row["end"], grid.start, cfg.mtu_minutes, ceil=True))
        kw[market_of[row["market"]], k, t0:t1] += row["power_kw"]
    power = {
        "discharge": fleet["p_discharge_mw"].to_numpy() * KW_PER_MW,
        "charge": fleet["p_charge_mw"].to_numpy() * KW_PER_MW,
    }
    share = np.zeros((fleet.height, grid.n_mtu))
    for direction, markets in (("discharge", DISCHARGE), ("charge", CHARGE)):
        used = kw[[market_of[m] for m in markets]].sum(axis=0)
        cap = power[direction][:, None]
        share = np.maximum(share, np.divide(used, cap, out=np.zeros_like(used), where=cap > 0))
    hourly = share[:, : n_hours * per_hour].reshape(fleet.height, n_hours, per_hour).max(axis=2)
    hourly_kw = kw[:, :, : n_hours * per_hour].reshape(
        len(MARKETS), fleet.height, n_hours, per_hour
    )
    peak_kw = hourly_kw.max(axis=3)
    rows = []
    for asset, k in index.items():
        cells = []
        for h in range(n_hours):
            percent = round(float(hourly[k, h]) * 100)
            cells.append(
                HeatCell(
                    percent=percent,
                    bucket=min(BUCKETS - 1, percent * BUCKETS // 100),
                    by_market_mw={
                        m: float(peak_kw[i, k, h]) / KW_PER_MW
                        for i, m in enumerate(MARKETS)
                        if peak_kw[i, k, h] > 0
                    },
                )
            )
        backed = [m for i, m in enumerate(MARKETS) if peak_kw[i, k].any()]
        rows.append(HeatRow(asset, cells, backed))
    hours = [grid.start + timedelta(hours=h) for h in range(n_hours)]
    return HeatMap(hours=hours, rows=rows)


def _allocation(
    frames: dict[str, pl.DataFrame], names: dict[str, str]
) -> list[VirtualAssetBacking]:
    """Each virtual asset with its blocks and the physical assets that carry each block."""
    carriers: dict[str, list[tuple[str, float]]] = {}
    for row in frames["backing"].iter_rows(named=True):
        carriers.setdefault(row["block_id"], []).append(
            (row["asset_id"], row["power_kw"] / KW_PER_MW)
        )
    blocks: dict[str, list[BlockBacking]] = {}
    for row in frames["blocks"].iter_rows(named=True):
        blocks.setdefault(row["virtual_asset_id"], []).append(
            BlockBacking(
                market=row["market"],
                power_mw=row["power_kw"] / KW_PER_MW,
                assets=sorted(carriers.get(row["block_id"], [])),
            )
        )
    return [
        VirtualAssetBacking(
            virtual_asset_id=row["virtual_asset_id"],
            organisation=names.get(row["org_id"], row["org_id"]),
            product_id=row["product_id"],
            start=row["start"],
            end=row["end"],
            blocks=blocks.get(row["virtual_asset_id"], []),
        )
        for row in frames["virtual_assets"].sort("product_id", "start").iter_rows(named=True)
    ]
