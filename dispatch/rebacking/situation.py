"""The situation: the interval cut into stretches and gathered as arrays.

``situation`` reads the fleet, availability, blocks and current backing of ``[start,
end)`` into a ``Situation``: groups (a product and market's blocks), assets, stretches
(maximal runs of MTUs in which nothing changes), each group's power, where it delivers
and may be backed, its current kW per asset and stretch, its load per kW on the
discharge, charge and energy rows, and the room of every row (capacity plus the
clearing's own rounding). Windows off the MTU grid and backing naming unknown blocks or
assets are a ``DomainError`` here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import polars as pl

from auction.book import MARKETS
from auction.errors import DomainError, Problem
from auction.timegrid import Grid, availability_matrix, whole_mtus
from dispatch.frames import BACKING_SLICES, BLOCKS

# kW (kWh): float noise of the LP and of a·cap; below this nothing counts as exceeded.
TOL_KW = 1e-6
FILE = "rebacking"
KINDS = ("discharge", "charge", "energy")
# Which markets load each power row (docs/clearing.md); energy is loaded by all.
KIND_MARKETS = {
    "discharge": ("wholesale", "fcr", "afrr_pos"),
    "charge": ("wholesale", "fcr", "afrr_neg"),
    "energy": MARKETS,
}
GROUP = ["product_id", "market", "tso_zone", "start", "end"]


@dataclass(frozen=True, slots=True)
class Situation:
    """The interval as arrays: groups ``g``, assets ``k`` (by asset_id), stretches ``s``."""

    grid: Grid  # the interval's MTUs
    edges: np.ndarray  # MTU index of each stretch edge, S + 1
    asset_ids: list[str]
    blocks: pl.DataFrame  # block_id, g, power_kw, energy_kwh, in (g, line) order
    old: pl.DataFrame  # the current backing per block: b, k, s, kw
    power: np.ndarray  # (G,) kW of each group
    active: np.ndarray  # (G, S) the group delivers in the stretch
    allowed: np.ndarray  # (G, K) zone and prequalification
    backed: np.ndarray  # (G, K, S) current kW
    coef: np.ndarray  # (3, G)
    room: np.ndarray  # (3, K, S) capacity + grace: the most a row may hold
    rank: np.ndarray  # (K,) in [0, 1): the order in which assets are preferred

    def usage(self, backed: np.ndarray) -> np.ndarray:
        """The load of every capacity row: (3, K, S) from (G, K, S), (3, K) from (G, K)."""
        usage: np.ndarray = np.tensordot(self.coef, backed, axes=1)
        return usage

    def needs_work(self) -> np.ndarray:
        """(S,) stretches where a row is over its room, or some group is short of backing."""
        over = (self.usage(self.backed) > self.room + TOL_KW).any(axis=(0, 1))
        carried = self.backed.sum(axis=1)
        short = (self.active & (carried < self.power[:, None] - TOL_KW)).any(axis=0)
        work: np.ndarray = over | short
        return work


def situation(
    fleet: pl.DataFrame,
    availability: pl.DataFrame,
    blocks: pl.DataFrame,
    backing: pl.DataFrame,
    start: datetime,
    end: datetime,
    mtu_minutes: int = 15,
) -> Situation:
    """Cut ``[start, end)`` into stretches and gather what the LP needs as arrays."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    n = whole_mtus(start, end, mtu_minutes)
    if n is None:
        rule = f"the interval must be a positive whole number of {mtu_minutes}-minute MTUs"
        raise DomainError([Problem(FILE, None, "end", end.isoformat(), rule)])
    grid = Grid(start, n, mtu_minutes)
    fleet = fleet.sort("asset_id")
    asset_ids = fleet["asset_id"].to_list()
    avail = availability_matrix(availability, asset_ids, grid)

    blk = _in_window(blocks.select(BLOCKS.names()).with_row_index("line"), grid)
    groups = (
        blk.group_by(GROUP)
        .agg(power=pl.col("power_kw").sum(), energy=pl.col("energy_kwh").sum())
        .sort(GROUP)
        .with_row_index("g")
    )
    blk = blk.join(groups.select([*GROUP, "g"]), on=GROUP).sort("g", "line").with_row_index("b")
    slc = _in_window(backing.select(BACKING_SLICES.names()), grid)
    slc = _known(slc, blk, {a: i for i, a in enumerate(asset_ids)})
    # Stretch edges: the interval's, the windows' and wherever an availability changes.
    changes = np.flatnonzero((avail[:, 1:] != avail[:, :-1]).any(axis=0)) + 1
    windows = [f[c].to_numpy() for f in (blk, slc) for c in ("t0", "t1")]
    edges = np.unique(np.concatenate([[0, n], changes, *windows])).astype(np.int64)
    old = _current(slc, edges)
    backed = np.zeros((groups.height, len(asset_ids), edges.size - 1))
    np.add.at(
        backed,
        (old["g"].to_numpy(), old["k"].to_numpy(), old["s"].to_numpy()),
        old["kw"].to_numpy(),
    )
    span = blk.group_by("g").agg(pl.col("t0").first(), pl.col("t1").first()).sort("g")
    s_lo = edges[:-1]
    active = (span["t0"].to_numpy()[:, None] <= s_lo) & (span["t1"].to_numpy()[:, None] > s_lo)
    power = groups["power"].to_numpy().astype(np.float64)
    coef = _coefficients(groups)
    room, free = _room(fleet, avail[:, s_lo], coef, backed)
    return Situation(
        grid=grid,
        edges=edges,
        asset_ids=asset_ids,
        blocks=blk.select("block_id", "g", "power_kw", "energy_kwh", "t0", "t1"),
        old=old.select("b", "k", "s", "kw"),
        power=power,
        active=active,
        allowed=_allowed(groups, fleet),
        backed=backed,
        coef=coef,
        room=room,
        rank=_preference(free),
    )


def _current(slc: pl.DataFrame, edges: np.ndarray) -> pl.DataFrame:
    """kW per block, asset and stretch of the current backing: b, g, k, s, kw."""
    return (
        slc.with_columns(
            s0=pl.Series(np.searchsorted(edges, slc["t0"].to_numpy()), dtype=pl.Int64),
            s1=pl.Series(np.searchsorted(edges, slc["t1"].to_numpy()), dtype=pl.Int64),
        )
        .with_columns(s=pl.int_ranges("s0", "s1"))
        .explode("s")
        .group_by("b", "g", "k", "s")
        .agg(kw=pl.col("power_kw").sum())
        .sort("b", "k", "s")
    )


def _coefficients(groups: pl.DataFrame) -> np.ndarray:
    """(3, G): what a kW of each group loads in the discharge, charge and energy rows."""
    power = groups["power"].to_numpy().astype(np.float64)
    kwh_per_kw = np.where(power > 0, groups["energy"].to_numpy() / np.maximum(power, 1), 0.0)
    market = groups["market"].to_numpy()
    loads = [np.isin(market, KIND_MARKETS[kind]).astype(np.float64) for kind in KINDS[:2]]
    return np.vstack([*loads, kwh_per_kw])


def _allowed(groups: pl.DataFrame, fleet: pl.DataFrame) -> np.ndarray:
    """(G, K): the asset lies in the group's zone and is prequalified for its market."""
    n_k = fleet.height
    prequalified = {"wholesale": np.ones(n_k, dtype=bool)} | {
        m: fleet[m].fill_null(False).to_numpy().astype(bool) for m in MARKETS[1:]
    }
    markets = groups["market"].to_list()
    allowed = np.stack([prequalified[m] for m in markets]) if markets else np.zeros((0, n_k))
    zone = groups["tso_zone"].to_numpy()[:, None] == fleet["tso_zone"].to_numpy()[None, :]
    result: np.ndarray = allowed.astype(bool) & zone
    return result


def _room(
    fleet: pl.DataFrame, avail: np.ndarray, coef: np.ndarray, backed: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(3, K, S) the most each row may hold, and what is free of it now."""
    base = np.stack(
        [
            fleet["p_discharge_mw"].to_numpy(),
            fleet["p_charge_mw"].to_numpy(),
            (fleet["e_max_mwh"] - fleet["e_min_mwh"]).to_numpy(),
        ]
    ).astype(np.float64)
    capacity = base[:, :, None] * avail[None, :, :] * 1000
    usage = np.tensordot(coef, backed, axes=1)
    # The clearing rounds each share to 1 kW: an excess within that is the clearing's
    # (the checker allows it) and stays; a larger one is the outage's and must go.
    rounding = np.tensordot(coef, (backed > 0).astype(np.float64), axes=1)
    excess = usage - capacity
    room = capacity + np.where(excess <= rounding + TOL_KW, np.clip(excess, 0, None), 0.0)
    return room, room - usage


def _preference(free: np.ndarray) -> np.ndarray:
    """(K,) in [0, 1): 0 for the asset with the most power to spare through the interval,
    then less and less; ties by asset_id."""
    spare = free[:2].min(axis=(0, 2)) if free.shape[2] else np.zeros(free.shape[1])
    order = np.lexsort((np.arange(spare.size), -spare))
    rank = np.empty(spare.size)
    rank[order] = np.arange(spare.size) / max(spare.size, 1)
    return rank


def _in_window(frame: pl.DataFrame, grid: Grid) -> pl.DataFrame:
    """Rows delivering in the interval, with the MTUs ``[t0, t1)`` their [start, end)
    touches, clipped to the interval; they must lie on the grid."""
    rows = frame.with_columns(
        t0=grid.index("start", ceil=False),
        t1=grid.index("end", ceil=True),
        on_grid=grid.on_grid("start") & grid.on_grid("end"),
    ).filter(pl.col("t1") > pl.col("t0"))
    off = rows.filter(~pl.col("on_grid"))
    if off.height:
        rule = f"block and backing windows must lie on the MTU grid ({grid.mtu}) of the interval"
        raise DomainError(
            [
                Problem(FILE, None, "start", f"{lo.isoformat()} to {hi.isoformat()}", rule)
                for lo, hi in off.head(10).select("start", "end").iter_rows()
            ]
        )
    return rows.drop("on_grid")


def _known(slc: pl.DataFrame, blk: pl.DataFrame, k_of: dict[str, int]) -> pl.DataFrame:
    """Backing rows with their block, group and asset, cut to the block's window.

    Unknown blocks or assets are an error.
    """
    problems = [
        Problem(FILE, None, "block_id", b, "backing names a block that is not in blocks")
        for b in sorted(set(slc["block_id"]) - set(blk["block_id"]))
    ] + [
        Problem(FILE, None, "asset_id", a, "backing names an asset that is not in the fleet")
        for a in sorted(set(slc["asset_id"]) - set(k_of))
    ]
    if problems:
        raise DomainError(problems)
    return (
        slc.with_columns(k=pl.col("asset_id").replace_strict(k_of, return_dtype=pl.Int64))
        .join(blk.select("block_id", "b", "g", bt0="t0", bt1="t1"), on="block_id")
        .with_columns(t0=pl.max_horizontal("t0", "bt0"), t1=pl.min_horizontal("t1", "bt1"))
        .filter(pl.col("t1") > pl.col("t0"))
    )
