"""The orchestration: ``reback`` runs the steps of a re-backing in turn.

It gathers the situation, solves each stretch that needs work (stretches with the same
data share one solve), lays the new kW onto the blocks, and returns the ``Rebacking``
with its summary and the solver's figures.
"""

from __future__ import annotations

import time
from datetime import datetime

import numpy as np
import polars as pl

from auction.timegrid import DEFAULT_TIME_ZONE
from clearing.highs import HIGHSPY_VERSION
from dispatch.rebacking.blocks import relay_all, slice_frames
from dispatch.rebacking.situation import situation
from dispatch.rebacking.stretch import build_stretch_lp, solve_stretch
from dispatch.rebacking.summary import Rebacking, result


def reback(
    fleet: pl.DataFrame,
    availability: pl.DataFrame,
    blocks: pl.DataFrame,
    backing: pl.DataFrame,
    start: datetime,
    end: datetime,
    mtu_minutes: int = 15,
    *,
    time_zone: str = DEFAULT_TIME_ZONE,
) -> Rebacking:
    """Re-back the blocks delivering in ``[start, end)`` on the fleet as it now is.

    Parameters
    ----------
    fleet, availability
        ``auction.book.FLEET`` and ``AVAILABILITY``, the latter including the new outage.
    blocks, backing
        ``dispatch.frames.BLOCKS`` (the order of a product and market's rows is its line:
        a loss falls on the last blocks) and the current ``BACKING_SLICES``.
    start, end
        The interval the outage affects, UTC, on the MTU grid.
    time_zone
        For the times in ``summary`` only.

    Raises
    ------
    DomainError
        An interval or a window off the MTU grid, backing naming an unknown block or asset.
    """
    t0 = time.perf_counter()
    sit = situation(fleet, availability, blocks, backing, start, end, mtu_minutes)
    backed = sit.backed.copy()
    solved: dict[bytes, np.ndarray] = {}
    n_cols = n_rows = 0
    solve_s = 0.0
    for s in np.flatnonzero(sit.needs_work()).tolist():
        key = b"".join(
            a.tobytes() for a in (sit.active[:, s], sit.backed[:, :, s], sit.room[:, :, s])
        )
        if key not in solved:
            t_solve = time.perf_counter()
            lp = build_stretch_lp(sit, s)
            solved[key] = solve_stretch(sit, s, lp)
            solve_s += time.perf_counter() - t_solve
            n_cols, n_rows = n_cols + lp.c.size, n_rows + lp.row_lb.size
        backed[:, :, s] = solved[key]
    laid = relay_all(sit, backed)
    slices, rows = slice_frames(sit, laid)
    solver: dict[str, object] = {
        "stretches": int(sit.edges.size - 1),
        "solves": len(solved),
        "n_cols": n_cols,
        "n_rows": n_rows,
        "solve_s": solve_s,
        "total_s": time.perf_counter() - t0,
        "highspy": HIGHSPY_VERSION,
    }
    return result(slices, rows, laid, solver, time_zone)
