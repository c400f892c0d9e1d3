"""The archive as the checker's reference model (``clearing.reference``) reads it.

The physical side as arrays (``Grid``: products x markets x assets x MTUs, capacity per
kind) and the bids in integer kW and cents with their eligibility. Written from
docs/clearing.md alone like the model itself; the checker's capacity check
(``clearing.verify``) reads the same grid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

from auction.book import MARKET_FACTOR, MARKETS
from auction.model import Archive
from auction.timegrid import mtu_starts
from auction.units import CENTS_PER_EUR, KW_PER_MW

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

KINDS = ("discharge", "charge", "energy")
# Which markets load which capacity, in the order of MARKETS (docs/clearing.md).
_KIND_MARKETS = np.array(
    [
        [True, True, True, False],  # discharge: wholesale, fcr, afrr_pos
        [True, True, False, True],  # charge: wholesale, fcr, afrr_neg
        [True, True, True, True],  # energy: all four
    ]
)


@dataclass(frozen=True, slots=True)
class Grid:
    """The physical side of an auction as arrays: products x markets x assets x MTUs.

    ``coef[c, p, m]`` is the capacity of kind ``KINDS[c]`` one MW of product ``p`` in
    market ``m`` takes; ``capacity[c, k, t]`` what asset ``k`` offers in MTU ``t``.
    """

    product_ids: list[str]
    asset_ids: list[str]
    mtus: npt.NDArray[np.datetime64]
    factors: FloatArray  # (P, M) block MW per MW of product
    coef: FloatArray  # (3, P, M)
    active: BoolArray  # (P, T) product window holds the MTU
    may_back: BoolArray  # (K, M) asset in zone and prequalified
    capacity: FloatArray  # (3, K, T)


def build_grid(archive: Archive) -> Grid:
    """Arrays of products, assets, MTUs, availability and capacity coefficients."""
    config = archive.config
    mtus = mtu_starts(config.delivery_day, config.mtu_minutes, config.time_zone)
    products, fleet = archive.products, archive.fleet
    factors = products.select(MARKET_FACTOR[m] for m in MARKETS).to_numpy().astype(np.float64)
    return Grid(
        product_ids=products["product_id"].to_list(),
        asset_ids=fleet["asset_id"].to_list(),
        mtus=mtus,
        factors=factors,
        coef=capacity_coefficients(archive, factors),
        active=_window_mask(products, mtus),
        may_back=_may_back(archive),
        capacity=_capacity(archive, mtus),
    )


def capacity_coefficients(archive: Archive, factors: FloatArray) -> FloatArray:
    """``coef[c, p, m]``: the three capacity rows of docs/clearing.md per MW of product.

    discharge and charge take ``f_{p,m}`` of the markets that move power that way;
    energy takes ``wholesale_h·f_ws``, ``2·fcr_energy_h·f_fcr`` and ``afrr_energy_h·f_afrr``.
    """
    config = archive.config
    wholesale_h = archive.products["wholesale_h"].fill_null(0.0).to_numpy().astype(np.float64)
    hours = np.stack(
        [
            wholesale_h,
            np.full_like(wholesale_h, 2.0 * config.fcr_energy_h),
            np.full_like(wholesale_h, config.afrr_energy_h),
            np.full_like(wholesale_h, config.afrr_energy_h),
        ],
        axis=1,
    )
    power = np.where(_KIND_MARKETS[:2, None, :], factors[None, :, :], 0.0)
    return np.concatenate([power, (hours * factors)[None]], axis=0)


def _utc64(series: pl.Series) -> npt.NDArray[np.datetime64]:
    """UTC timestamps as naive ``datetime64[us]``, the dtype of ``mtu_starts``."""
    return series.dt.convert_time_zone("UTC").dt.replace_time_zone(None).to_numpy()


def _window_mask(products: pl.DataFrame, mtus: npt.NDArray[np.datetime64]) -> BoolArray:
    """``active[p, t]``: MTU ``t`` lies in product ``p``'s delivery window."""
    start = _utc64(products["start"])[:, None]
    end = _utc64(products["end"])[:, None]
    mask: BoolArray = (start <= mtus[None, :]) & (mtus[None, :] < end)
    return mask


def _may_back(archive: Archive) -> BoolArray:
    """``may_back[k, m]``: asset in the auction's zone and prequalified (wholesale needs none)."""
    fleet = archive.fleet
    in_zone = (fleet["tso_zone"] == archive.config.tso_zone).fill_null(False).to_numpy()
    prequalified = [np.ones(fleet.height, dtype=bool)] + [
        fleet[m].fill_null(False).to_numpy().astype(bool) for m in MARKETS[1:]
    ]
    mask: BoolArray = np.stack(prequalified, axis=1) & in_zone[:, None]
    return mask


def availability_matrix(archive: Archive, mtus: npt.NDArray[np.datetime64]) -> FloatArray:
    """``a[k, t]``: product of the fractions of every availability row overlapping MTU ``t``.

    A row covering only part of an MTU counts for the whole MTU: capacity must hold at
    every instant, so the worst part of the MTU decides.
    """
    asset_ids = archive.fleet["asset_id"].to_list()
    a = np.ones((len(asset_ids), mtus.size))
    rows = archive.availability.filter(pl.col("asset_id").is_in(asset_ids))
    if rows.height == 0:
        return a
    step = np.timedelta64(archive.config.mtu_minutes, "m")
    start = _utc64(rows["start"])[:, None]
    end = _utc64(rows["end"])[:, None]
    overlaps = (start < mtus[None, :] + step) & (end > mtus[None, :])
    fraction = rows["available_fraction"].to_numpy().astype(np.float64)[:, None]
    position = {asset: i for i, asset in enumerate(asset_ids)}
    index = np.array([position[asset] for asset in rows["asset_id"].to_list()])
    np.multiply.at(a, index, np.where(overlaps, fraction, 1.0))
    return a


def _capacity(archive: Archive, mtus: npt.NDArray[np.datetime64]) -> FloatArray:
    """``capacity[c, k, t] = a_k(t)·(p_discharge, p_charge, e_max - e_min)``."""
    fleet = archive.fleet
    limits = np.stack(
        [
            fleet["p_discharge_mw"].to_numpy(),
            fleet["p_charge_mw"].to_numpy(),
            (fleet["e_max_mwh"] - fleet["e_min_mwh"]).to_numpy(),
        ]
    ).astype(np.float64)
    return limits[:, :, None] * availability_matrix(archive, mtus)[None, :, :]


def eligible_bids(archive: Archive) -> BoolArray:
    """Per bid row: valid, priced at or above the reserve, and its parent eligible.

    A bid is valid here when its product exists, its quantity is a positive multiple of
    the increment and its minimum does not exceed it. Links are followed to a fixed
    point, so a chain hanging from an ineligible bid is ineligible throughout.
    """
    bids = bid_units(archive)
    base = (
        bids["known"]
        & (bids["q_kw"] > 0)
        & (bids["inc_kw"] > 0)
        & (bids["q_kw"] % np.maximum(bids["inc_kw"], 1) == 0)
        & (bids["min_kw"] <= bids["q_kw"])
        & (bids["price_cents"] >= bids["reserve_cents"])
    )
    ids = archive.bids["bid_id"].to_list()
    orgs = archive.bids["org_id"].to_list()
    position = {bid: i for i, bid in enumerate(ids)}
    parents = archive.bids["linked_to"].to_list()
    parent_index = np.array([position.get(p, -1) if p is not None else -2 for p in parents])
    same_org = np.array(
        [p < 0 or orgs[p] == orgs[i] for i, p in enumerate(parent_index.tolist())], dtype=bool
    )
    eligible: BoolArray = np.asarray(base & same_org & (parent_index != -1), dtype=bool)
    linked = parent_index >= 0
    for _ in range(len(ids)):
        # Each pass pushes ineligibility one link further down the chains.
        updated = eligible.copy()
        updated[linked] &= eligible[parent_index[linked]]
        if np.array_equal(updated, eligible):
            break
        eligible = updated
    return eligible


def bid_units(archive: Archive) -> dict[str, npt.NDArray[np.int64] | BoolArray]:
    """Per bid row: integer kW, cents and its product's index (``known`` if it exists)."""
    products = archive.products
    frame = archive.bids.join(
        products.with_row_index("p_index").select(
            "product_id",
            pl.col("p_index").cast(pl.Int64),
            product_min_mw="min_mw",
            increment_mw="increment_mw",
            reserve_price="reserve_price_eur_per_mw",
        ),
        on="product_id",
        how="left",
        maintain_order="left",
    )

    def ints(expr: pl.Expr, scale: int) -> IntArray:
        values = frame.select((expr * scale).round(0).fill_null(0).cast(pl.Int64)).to_series()
        return np.asarray(values.to_numpy(), dtype=np.int64)

    own_min = pl.col("min_quantity_mw").fill_null(pl.col("product_min_mw"))
    return {
        "known": frame["p_index"].is_not_null().to_numpy(),
        "p_index": ints(pl.col("p_index"), 1),
        "q_kw": ints(pl.col("quantity_mw"), KW_PER_MW),
        # The product minimum binds every bid, whatever its own minimum says.
        "min_kw": ints(pl.max_horizontal(own_min, pl.col("product_min_mw")), KW_PER_MW),
        "inc_kw": ints(pl.col("increment_mw"), KW_PER_MW),
        "price_cents": ints(pl.col("price_eur_per_mw"), CENTS_PER_EUR),
        "reserve_cents": ints(pl.col("reserve_price"), CENTS_PER_EUR),
    }
