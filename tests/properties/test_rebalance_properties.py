"""Properties of the rebalancing plan on the generated days of the disaggregation's tests.

Where a plan exists, no asset leaves its reserve band: whether one exists is worked out
here, asset by asset with a loop that shares no code with dispatch (an asset can reach
its band at every MTU edge with its own power; the operator's trades balance the rest).
The plan never exceeds an asset's power, leaves the customers' schedules as they are
(the fleet delivers their total plus the trades), and trades nothing on a day whose
split can be followed.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from auction.timegrid import mtu_count
from dispatch.disaggregate import Disaggregation, disaggregate
from tests.properties.test_disaggregate_properties import (
    DT_H,
    MTU,
    Day,
    close,
    days,
    limits,
    virtual_kw,
)


def plan(day: Day, order: np.random.Generator | None = None) -> Disaggregation:
    start, end = day.bounds
    return disaggregate(**day.frames(order), start=start, end=end, rebalance=True)


def band_reachable(day: Day, asset_id: str, initial_kwh: float) -> bool:
    """Whether some SoC path of the asset stays in its band at every MTU's end."""
    asset = next(a for a in day.fleet if a["asset_id"] == asset_id)
    eta_c, eta_d = asset["eta_charge"], asset["eta_discharge"]
    low = high = initial_kwh
    for t in range(mtu_count(day.day)):
        lim = limits(day, asset_id, t)
        low = max(low - lim.discharge_kw * DT_H / eta_d, lim.lo_kwh)
        high = min(high + lim.charge_kw * DT_H * eta_c, lim.hi_kwh)
        if low > high + close(high):
            return False
    return True


def initial_soc(result: Disaggregation, day: Day, asset_id: str) -> float:
    """The SoC before the first MTU, from the first setpoint and its planned SoC."""
    asset = next(a for a in day.fleet if a["asset_id"] == asset_id)
    first = result.setpoints.filter(pl.col("asset_id") == asset_id).sort("start").row(0, named=True)
    kw = first["power_kw"]
    moved = -kw / asset["eta_discharge"] if kw > 0 else -kw * asset["eta_charge"]
    return float(first["soc_kwh"] - moved * DT_H)


@settings(max_examples=60, deadline=None)
@given(days())
def test_where_a_plan_exists_no_asset_leaves_its_band(day: Day) -> None:
    result = plan(day)
    start, _ = day.bounds
    for (asset_id,), rows in result.setpoints.group_by("asset_id", maintain_order=True):
        rows = rows.sort("start")
        if not band_reachable(day, str(asset_id), initial_soc(result, day, str(asset_id))):
            continue
        assert result.soc_breaches.filter(pl.col("asset_id") == asset_id).height == 0
        for row in rows.iter_rows(named=True):
            lim = limits(day, str(asset_id), (row["start"] - start) // MTU)
            soc = row["soc_kwh"]
            assert lim.lo_kwh - close(lim.lo_kwh) <= soc <= lim.hi_kwh + close(lim.hi_kwh), row


@settings(max_examples=60, deadline=None)
@given(days())
def test_the_plan_keeps_power_and_the_customers_total(day: Day) -> None:
    result = plan(day)
    start, _ = day.bounds
    for row in result.setpoints.iter_rows(named=True):
        lim = limits(day, row["asset_id"], (row["start"] - start) // MTU)
        assert row["power_kw"] <= lim.discharge_kw + close(lim.discharge_kw), row
        assert -row["power_kw"] <= lim.charge_kw + close(lim.charge_kw), row
    # Nothing is left short: the fleet delivers the customers' total plus the trades.
    assert result.shortfall.height == 0
    virtual = virtual_kw(day)
    trade = dict(zip(result.trades["start"], result.trades["trade_kw"], strict=True))
    physical = result.setpoints.group_by("start").agg(pl.col("power_kw").sum())
    for when, kw in physical.iter_rows():
        expected = virtual[(when - start) // MTU] + trade.get(when, 0.0)
        assert abs(kw - expected) <= close(expected), when


@settings(max_examples=30, deadline=None)
@given(days(feasible=True))
def test_a_followable_day_needs_no_trade(day: Day) -> None:
    result = plan(day)
    assert result.trades.height == 0
    assert result.soc_breaches.height == 0
    assert result.summary.endswith("trades nothing; every asset keeps its reserve band")


@settings(max_examples=15, deadline=None)
@given(days(), st.integers(0, 1000))
def test_the_order_of_the_rows_does_not_change_the_plan(day: Day, seed: int) -> None:
    first = plan(day)
    again = plan(day, np.random.default_rng(seed))
    assert_frame_equal(again.setpoints, first.setpoints)
    assert_frame_equal(again.trades, first.trades)
    assert_frame_equal(again.soc_breaches, first.soc_breaches)
