"""Onto blocks: a group's new kW per asset laid back onto its blocks.

``relay`` changes one group's (blocks × assets) backing as little as it can to meet the
new kW per asset (a loss falls on the last blocks of the line); ``relay_all`` does so
for every (group, stretch) whose backing changed and gathers the pieces, losses and moves
(``Laid``); ``slice_frames`` turns them into the ``slices`` and ``backing`` frames of the
result, stretches merged and energy laid along each block.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from auction.book import UTC_TIME
from auction.timegrid import mtu_us
from dispatch.frames import BACKING_SLICES
from dispatch.rebacking.situation import Situation
from dispatch.slices import LOST


def relay(power: np.ndarray, old: np.ndarray, target: np.ndarray) -> np.ndarray:
    """New (blocks × assets) kW from ``old`` with column sums ``target``, few changes.

    Blocks are in line order. Assets over their target shed kW, from the last blocks of
    the line first; the blocks then short of backing (and any short from before) get the
    room of the assets under their target, first blocks first, laid end to end against
    the assets (as clearing.assets lays a line) so that each gains one or two assets.
    What no asset has room for stays lost, on the last of the blocks the outage touched.
    """
    new = old.copy()
    over = new.sum(axis=0) - target
    last_first = np.arange(new.shape[0])[::-1]
    for k in np.flatnonzero(over > 0).tolist():
        have = new[last_first, k]
        cum = np.cumsum(have)
        new[last_first, k] -= np.clip(np.minimum(cum, over[k]) - (cum - have), 0, None)
    short = np.clip(power - new.sum(axis=1), 0, None)
    room = np.clip(target - new.sum(axis=0), 0, None)
    b_hi, k_hi = np.cumsum(short), np.cumsum(room)
    points = np.unique(np.concatenate([[0], b_hi, k_hi]))
    lo, hi = points[:-1], points[1:]
    bi = np.searchsorted(b_hi, lo, side="right")
    ki = np.searchsorted(k_hi, lo, side="right")
    ok = (bi < short.size) & (ki < room.size)
    np.add.at(new, (bi[ok], ki[ok]), hi[ok] - lo[ok])
    return new


@dataclass(frozen=True, slots=True)
class Laid:
    """The changed (block, stretch) pairs: their new pieces and their loss, and the moves."""

    pieces: pl.DataFrame  # b, s, k, kw
    changed: pl.DataFrame  # b, s, lost_kw
    moved_kw: int  # the most kW, over the stretches, that went onto other assets
    to_assets: int  # how many assets took on backing


def relay_all(sit: Situation, backed: np.ndarray) -> Laid:
    """Lay every (group, stretch) whose backing changed onto its blocks (``relay``)."""
    new = np.rint(backed).astype(np.int64)
    old = np.rint(sit.backed).astype(np.int64)
    gained = np.clip(new - old, 0, None)
    changed = sit.active & (new != old).any(axis=1)
    cg, cs = np.nonzero(changed)

    blk = sit.blocks.with_row_index("b")
    members = {
        int(g): (f["b"].to_numpy(), f["power_kw"].to_numpy())
        for (g,), f in blk.partition_by("g", as_dict=True).items()
    }
    wanted = pl.DataFrame({"g": cg, "s": cs}, schema={"g": pl.UInt32, "s": pl.Int64})
    before_of = {
        (int(g), int(s)): f
        for (g, s), f in sit.old.join(blk.select("b", "g"), on="b")
        .join(wanted, on=["g", "s"])
        .partition_by("g", "s", as_dict=True)
        .items()
    }
    pieces: dict[str, list[np.ndarray]] = {"b": [], "k": [], "s": [], "kw": []}
    lost: dict[str, list[np.ndarray]] = {"b": [], "s": [], "lost_kw": []}
    cache: dict[tuple[object, ...], tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    for g, s in zip(cg.tolist(), cs.tolist(), strict=True):
        b, power = members[g]
        assets = np.flatnonzero((old[g, :, s] > 0) | (new[g, :, s] > 0))
        before = np.zeros((b.size, assets.size), dtype=np.int64)
        frame = before_of.get((g, s))
        if frame is not None:
            at = (np.searchsorted(b, frame["b"].to_numpy()), np.searchsorted(assets, frame["k"]))
            np.add.at(before, at, frame["kw"].to_numpy())
        target = new[g, assets, s]
        # Stretches of a group that differ only in other groups lay out the same way.
        key = (g, assets.tobytes(), before.tobytes(), target.tobytes())
        if key not in cache:
            after = relay(power, before, target)
            rows = np.flatnonzero((after != before).any(axis=1))
            cache[key] = (rows, after[rows], power[rows] - after[rows].sum(axis=1))
        rows, after, short = cache[key]
        r, c = np.nonzero(after)
        for name, values in (("b", b[rows[r]]), ("k", assets[c]), ("kw", after[r, c])):
            pieces[name].append(values)
        pieces["s"].append(np.full(r.size, s))
        lost["b"].append(b[rows])
        lost["s"].append(np.full(rows.size, s))
        lost["lost_kw"].append(short)

    def frame_of(columns: dict[str, list[np.ndarray]]) -> pl.DataFrame:
        return pl.DataFrame(
            {c: np.concatenate(v) if v else np.zeros(0, np.int64) for c, v in columns.items()},
            schema=dict.fromkeys(columns, pl.Int64),
        )

    gained_s = (gained * changed[:, None, :]).sum(axis=(0, 1))
    return Laid(
        pieces=frame_of(pieces),
        changed=frame_of(lost),
        moved_kw=int(gained_s.max(initial=0)),
        to_assets=int(((gained * changed[:, None, :]).sum(axis=(0, 2)) > 0).sum()),
    )


def slice_frames(sit: Situation, laid: Laid) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``slices`` and ``backing`` of the result: each block's changed stretches merged
    where they follow each other with the same backing and loss, energies added."""
    blk = sit.blocks.with_row_index("b").with_columns(pl.col("b").cast(pl.Int64))
    shape = (
        laid.pieces.sort("b", "s", "k")
        .group_by("b", "s", maintain_order=True)
        .agg(shape=pl.format("{}:{}", "k", "kw").str.join(","))
    )
    runs = (
        laid.changed.join(shape, on=["b", "s"], how="left")
        .with_columns(pl.col("shape").fill_null(""))
        .sort("b", "s")
        .with_columns(
            new=(
                (pl.col("b") != pl.col("b").shift(1))
                | (pl.col("s") != pl.col("s").shift(1) + 1)
                | (pl.col("shape") != pl.col("shape").shift(1))
                | (pl.col("lost_kw") != pl.col("lost_kw").shift(1))
            ).fill_null(True)
        )
        .with_columns(run=pl.col("new").cum_sum())
    )
    merged = runs.group_by("run", maintain_order=True).agg(
        pl.col("b").first(), pl.col("lost_kw").first(), s0=pl.col("s").min(), s1=pl.col("s").max()
    )
    step = mtu_us(sit.grid.mtu_minutes)
    at = [
        pl.Series(c, sit.edges[merged[src].to_numpy() + shift] * step, dtype=pl.Int64)
        for c, src, shift in (("t_start", "s0", 0), ("t_end", "s1", 1))
    ]
    origin = pl.lit(sit.grid.start, dtype=UTC_TIME)
    merged = merged.with_columns(*at).with_columns(
        start=origin + pl.duration(microseconds="t_start"),
        end=origin + pl.duration(microseconds="t_end"),
    )
    named = merged.join(blk.select("b", "block_id", "power_kw", "energy_kwh"), on="b")
    slices = named.select(LOST.names()).sort("block_id", "start")

    first = runs.filter(pl.col("new")).select("b", "s", "run")
    rows = (
        laid.pieces.join(first, on=["b", "s"])
        .join(named.select("run", "block_id", "start", "end", "power_kw", "energy_kwh"), on="run")
        .sort("run", "k")
    )
    rows = rows.with_columns(
        asset_id=pl.Series(sit.asset_ids, dtype=pl.String).gather(rows["k"].to_numpy())
    )
    # Energy in proportion to power, laid along the block as clearing.assets does: the
    # pieces of a whole block sum to its energy exactly.
    hi = pl.col("kw").cum_sum().over("run")
    e, p = pl.col("energy_kwh"), pl.col("power_kw")
    rows = rows.with_columns(
        energy_kwh=(e * hi * 2 + p) // (2 * p) - (e * (hi - pl.col("kw")) * 2 + p) // (2 * p)
    )
    backing = rows.select(
        "block_id", "asset_id", "start", "end", power_kw="kw", energy_kwh="energy_kwh"
    )
    return (
        slices.cast(LOST),
        backing.cast(BACKING_SLICES).sort("block_id", "start", "asset_id"),
    )
