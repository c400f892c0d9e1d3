"""Summary: the ``Rebacking`` an outage gives, its figures and its sentence.

``result`` turns the frames and moves of a re-backing into a ``Rebacking``: the blocks
touched, the kW moved and lost (the most over the MTUs), the windows where some block is
short, and one sentence for the operator in local wall-clock time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

import polars as pl

from auction.wallclock import clock as wall_clock
from dispatch.rebacking.blocks import Laid
from dispatch.slices import replace_stretches


@dataclass(frozen=True, slots=True)
class Rebacking:
    """What an outage changed, and a sentence for the operator.

    ``slices``: block_id, start, end, lost_kw, one row per block and stretch whose backing
    changed (lost_kw 0 when the block stays whole). ``backing``: the BACKING_SLICES rows
    that replace the backing of exactly those (block, stretch) pairs. ``moved_kw`` and
    ``lost_kw`` are the largest over the MTUs; ``to_assets`` counts the assets that took
    on backing; ``lost_windows`` are the UTC stretches where some block is short.
    """

    slices: pl.DataFrame
    backing: pl.DataFrame
    blocks_touched: int
    moved_kw: int
    to_assets: int
    lost_kw: int
    lost_blocks: int
    lost_windows: tuple[tuple[datetime, datetime], ...]
    summary: str
    solver: dict[str, object] = field(default_factory=dict)

    def applied_to(self, current: pl.DataFrame) -> pl.DataFrame:
        """``current`` BACKING_SLICES with the changed (block, stretch) pairs replaced."""
        return replace_stretches(current, self.slices, self.backing)


def result(
    slices: pl.DataFrame,
    rows: pl.DataFrame,
    laid: Laid,
    solver: dict[str, object],
    time_zone: str,
) -> Rebacking:
    """The figures of ``Rebacking`` and its sentence."""
    short = slices.filter(pl.col("lost_kw") > 0)
    # The total loss over time: +kW at each start, -kW at each end.
    steps = (
        pl.concat(
            [short.select(t="start", kw="lost_kw"), short.select(t="end", kw=-pl.col("lost_kw"))]
        )
        .group_by("t")
        .agg(pl.col("kw").sum())
        .sort("t")
        .with_columns(level=pl.col("kw").cum_sum())
    )
    windows: list[tuple[datetime, datetime]] = []
    opened: datetime | None = None
    for t, level in steps.select("t", "level").iter_rows():
        if level > 0 and opened is None:
            opened = t
        elif level == 0 and opened is not None:
            windows.append((opened, t))
            opened = None
    lost_kw = int(steps["level"].to_numpy().max(initial=0))
    n_blocks, n_lost = slices["block_id"].n_unique(), short["block_id"].n_unique()
    return Rebacking(
        slices=slices,
        backing=rows,
        blocks_touched=n_blocks,
        moved_kw=laid.moved_kw,
        to_assets=laid.to_assets,
        lost_kw=lost_kw,
        lost_blocks=n_lost,
        lost_windows=tuple(windows),
        summary=_sentence(
            n_blocks, laid.moved_kw, laid.to_assets, lost_kw, n_lost, windows, time_zone
        ),
        solver=solver,
    )


def _sentence(
    n_blocks: int,
    moved_kw: int,
    to_assets: int,
    lost_kw: int,
    n_lost: int,
    windows: list[tuple[datetime, datetime]],
    time_zone: str,
) -> str:
    """'Outage re-backed 14 blocks: 3,200 kW moved to 5 other assets; every block stays whole.'"""
    if n_blocks == 0:
        return "Outage touches no block: the fleet still carries every block as it is."
    moved = (
        f"{moved_kw:,} kW moved to {to_assets} other {_plural(to_assets, 'asset')}"
        if moved_kw
        else "no other asset can take any of it"
    )
    head = f"Outage re-backed {n_blocks} {_plural(n_blocks, 'block')}: {moved}"
    if n_lost == 0:
        return f"{head}; every block stays whole."
    short = f"{lost_kw:,} kW of {n_lost} {_plural(n_lost, 'block')}"
    return f"{head}; {short} unavailable {_when(windows, time_zone)}."


def _when(windows: list[tuple[datetime, datetime]], time_zone: str) -> str:
    """'from 14:00 to 16:00', two such joined by 'and', or 'in 5 stretches between ...'.

    Local wall-clock times of the first window's day; its next midnight reads 24:00;
    anything later carries its date.
    """
    day = windows[0][0].astimezone(ZoneInfo(time_zone)).date()

    def clock(t: datetime) -> str:
        return wall_clock(t, day, time_zone)

    if len(windows) > 2:
        first, last = clock(windows[0][0]), clock(windows[-1][1])
        return f"in {len(windows)} stretches between {first} and {last}"
    return " and ".join(f"from {clock(a)} to {clock(b)}" for a, b in windows)


def _plural(n: int, word: str) -> str:
    return word if n == 1 else word + "s"
