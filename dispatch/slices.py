"""Backing over time: the clearing's backing, cut and replaced where outages re-backed it.

The clearing backs each block for its whole window. An outage re-backs some blocks over
some stretches of time; the rows outside those stretches stay. A row cut in time keeps its
power and its energy (the energy is the asset's share of the block's store, not a flow).
Where a block's rows cover less than its power, the rest is unavailable ("lost").
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from itertools import pairwise

import polars as pl

from auction.book import UTC_TIME, schema
from auction.timegrid import mtu_index
from dispatch.frames import BACKING_SLICES

LOST = schema({"block_id": pl.String, "start": UTC_TIME, "end": UTC_TIME, "lost_kw": pl.Int64})


def whole_window(backing: pl.DataFrame, blocks: pl.DataFrame) -> pl.DataFrame:
    """The clearing's backing rows (``BACKING_KW``) as slices over each block's window."""
    return backing.join(
        blocks.select("block_id", "start", "end"), on="block_id", how="inner"
    ).select(BACKING_SLICES.names())


def replace_stretches(
    current: pl.DataFrame, stretches: pl.DataFrame, new_rows: pl.DataFrame
) -> pl.DataFrame:
    """``current`` slices with each (block_id, start, end) of ``stretches`` cut out and
    ``new_rows`` put in. Sorted by block, start, asset."""
    cuts: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
    for block_id, start, end in stretches.select("block_id", "start", "end").iter_rows():
        cuts[block_id].append((start, end))
    kept = []
    for row in current.iter_rows(named=True):
        pieces = [(row["start"], row["end"])]
        for cut_start, cut_end in cuts.get(row["block_id"], ()):
            pieces = [
                piece
                for lo, hi in pieces
                for piece in ((lo, min(hi, cut_start)), (max(lo, cut_end), hi))
                if piece[0] < piece[1]
            ]
        kept += [{**row, "start": lo, "end": hi} for lo, hi in pieces]
    frame = pl.concat(
        [pl.DataFrame(kept, schema=BACKING_SLICES), new_rows.select(BACKING_SLICES.names())]
    )
    return frame.sort("block_id", "start", "asset_id")


def lost_stretches(blocks: pl.DataFrame, slices: pl.DataFrame) -> pl.DataFrame:
    """Where each block's slices carry less than its power: block_id, start, end, lost_kw.

    ``blocks`` needs block_id, power_kw, start, end; only blocks listed are judged, so pass
    the blocks whose backing changed. Adjacent stretches with the same loss are merged.
    """
    rows_of: dict[str, list[tuple[datetime, datetime, int]]] = defaultdict(list)
    for block_id, start, end, power in slices.select(
        "block_id", "start", "end", "power_kw"
    ).iter_rows():
        rows_of[block_id].append((start, end, power))
    out: list[tuple[str, datetime, datetime, int]] = []
    for block_id, power, start, end in blocks.select(
        "block_id", "power_kw", "start", "end"
    ).iter_rows():
        rows = rows_of.get(block_id, [])
        edges = sorted({start, end, *(t for r in rows for t in r[:2] if start < t < end)})
        for lo, hi in pairwise(edges):
            carried = sum(p for s, e, p in rows if s <= lo and hi <= e)
            lost = power - carried
            if lost <= 0:
                continue
            if out and out[-1][0] == block_id and out[-1][2] == lo and out[-1][3] == lost:
                out[-1] = (block_id, out[-1][1], hi, lost)
            else:
                out.append((block_id, lo, hi, lost))
    return pl.DataFrame(out, schema=LOST, orient="row")


def lost_per_mtu(
    lost: pl.DataFrame, start: datetime, n_mtu: int, mtu_minutes: int
) -> tuple[int, ...] | None:
    """One block's lost stretches as kW per MTU of its window, or None if it lost nothing."""
    if lost.height == 0:
        return None
    per_mtu = [0] * n_mtu
    for lo, hi, kw in lost.select("start", "end", "lost_kw").iter_rows():
        first = mtu_index(lo, start, mtu_minutes)
        last = mtu_index(hi, start, mtu_minutes, ceil=True)
        for k in range(max(first, 0), min(last, n_mtu)):
            per_mtu[k] = max(per_mtu[k], kw)
    return tuple(per_mtu)
