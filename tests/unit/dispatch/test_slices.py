"""Backing over time: stretches cut and replaced, and what a block has lost."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl

from dispatch.frames import BACKING_SLICES
from dispatch.slices import lost_per_mtu, lost_stretches, replace_stretches

T0 = datetime(2026, 11, 29, 9, tzinfo=UTC)
H = timedelta(hours=1)


def slices(*rows: tuple[str, str, int, int, int]) -> pl.DataFrame:
    """(block, asset, from hour, to hour, kW) rows; energy twice the power."""
    return pl.DataFrame(
        [
            {
                "block_id": b,
                "asset_id": a,
                "start": T0 + lo * H,
                "end": T0 + hi * H,
                "power_kw": kw,
                "energy_kwh": 2 * kw,
            }
            for b, a, lo, hi, kw in rows
        ],
        schema=BACKING_SLICES,
    )


def stretches(*rows: tuple[str, int, int]) -> pl.DataFrame:
    return pl.DataFrame(
        [{"block_id": b, "start": T0 + lo * H, "end": T0 + hi * H} for b, lo, hi in rows]
    )


BLOCKS = pl.DataFrame(
    {"block_id": ["b1", "b2"], "power_kw": [1000, 500], "start": [T0, T0], "end": [T0 + 4 * H] * 2}
)


def test_a_stretch_is_cut_out_and_replaced_the_rest_stays() -> None:
    current = slices(("b1", "a1", 0, 4, 600), ("b1", "a2", 0, 4, 400), ("b2", "a1", 0, 4, 500))
    new = slices(("b1", "a2", 1, 2, 400), ("b1", "a3", 1, 2, 600))
    out = replace_stretches(current, stretches(("b1", 1, 2)), new)
    b1 = out.filter(pl.col("block_id") == "b1")
    rows = sorted((r["asset_id"], r["start"], r["end"], r["power_kw"]) for r in b1.to_dicts())
    assert rows == sorted(
        [
            ("a1", T0, T0 + H, 600),
            ("a1", T0 + 2 * H, T0 + 4 * H, 600),
            ("a2", T0, T0 + H, 400),
            ("a2", T0 + 2 * H, T0 + 4 * H, 400),
            ("a2", T0 + H, T0 + 2 * H, 400),
            ("a3", T0 + H, T0 + 2 * H, 600),
        ]
    )
    # A cut piece keeps its energy: it is the asset's share of the store, not a flow.
    assert set(b1.filter(pl.col("asset_id") == "a1")["energy_kwh"]) == {1200}
    assert out.filter(pl.col("block_id") == "b2").height == 1


def test_lost_stretches_merge_and_lost_per_mtu_spreads_them() -> None:
    current = slices(("b1", "a1", 0, 4, 600), ("b1", "a2", 0, 4, 400), ("b2", "a1", 0, 4, 500))
    # a1 fails from 1 h to 3 h; only 300 kW of b1 find a new home, b2 none.
    cut = stretches(("b1", 1, 3), ("b2", 1, 3))
    new = slices(("b1", "a2", 1, 3, 400), ("b1", "a3", 1, 3, 300))
    out = replace_stretches(current, cut, new)
    lost = lost_stretches(BLOCKS, out)
    assert lost.rows() == [("b1", T0 + H, T0 + 3 * H, 300), ("b2", T0 + H, T0 + 3 * H, 500)]
    per_mtu = lost_per_mtu(lost.filter(pl.col("block_id") == "b1"), T0, 16, 15)
    assert per_mtu == (0,) * 4 + (300,) * 8 + (0,) * 4
    assert lost_per_mtu(lost.clear(), T0, 16, 15) is None
    # A block with no rows at all has lost everything.
    whole = lost_stretches(BLOCKS, out.filter(pl.col("block_id") == "b1"))
    assert whole.filter(pl.col("block_id") == "b2").rows() == [("b2", T0, T0 + 4 * H, 500)]
