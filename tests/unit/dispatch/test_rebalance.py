"""The operator's rebalancing plan on days a person can work out by hand.

One battery, so nothing can be redistributed: whatever the customers' schedules and the
reserve band ask beyond the battery's energy, the plan must trade, and the least it can
trade is arithmetic. 1 MW for one MTU moves 250 kWh at efficiency 1.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from auction.archive import read_archive
from auction.errors import DomainError
from auction.sample import sample_dir
from auction.timegrid import day_bounds
from benchmarks.disaggregate_day import synthetic_day
from clearing import clear
from dispatch.disaggregate import TOLERANCE_KW, disaggregate
from dispatch.frames import BLOCKS, SCHEDULES
from dispatch.offline import result_blocks
from dispatch.rebalance import CYCLING, OUT, UNSOLVED
from dispatch.slices import whole_window
from tests.unit.dispatch.test_disaggregate import (
    END,
    START,
    asset,
    at,
    block,
    piece,
    points,
    power,
    run,
    soc,
)

DT_H = 0.25


def traded_kwh(result: object, side: int) -> float:
    """kWh sold (side 1) or bought (side -1) by the plan."""
    kw = result.trades["trade_kw"]  # type: ignore[attr-defined]
    return float((kw * side).clip(0, None).sum()) * DT_H


def emptied_battery(eta_discharge: float, fcr_from: int | None) -> dict[str, object]:
    """A 1 MW / 1,000 kWh battery, half full, that its customer empties (1 MW out for two
    MTUs: 500 kWh, as the virtual battery counts it) and, from MTU ``fcr_from``, 200 kW
    of FCR holding 100 kWh (so the SoC must stay >= 50 kWh)."""
    fleet = [asset("a", 1.0, 1.0, eta_discharge=eta_discharge)]
    blocks = [block("w", 1000, 1000)]
    backing = [piece("w", "a", 1000, 1000)]
    if fcr_from is not None:
        blocks.append(block("f", 200, 100, market="fcr", start=at(fcr_from)))
        backing.append(piece("f", "a", 200, 100, start=at(fcr_from)))
    return {
        "fleet": fleet,
        "blocks": blocks,
        "backing": backing,
        "schedules": points("w", {0: 1000, 1: 1000}),
    }


def test_the_plan_buys_exactly_what_the_losses_took() -> None:
    # 500 kWh stored at 80 % discharge efficiency give 400 kWh: the plan buys 100 kWh.
    day = emptied_battery(0.8, fcr_from=None)
    plain = run(**day)
    assert plain.shortfall["shortfall_kw"].sum() * DT_H == pytest.approx(100)
    plan = run(**day, rebalance=True)
    assert plan.shortfall.height == 0
    assert traded_kwh(plan, -1) == pytest.approx(100)
    assert traded_kwh(plan, 1) == 0
    assert plan.soc_breaches.height == 0
    assert "buys 100.0 kWh in" in plan.summary
    assert plan.summary.endswith("every asset keeps its reserve band")


def test_the_plan_keeps_the_reserve_energy_the_cheapest_way() -> None:
    # FCR from MTU 2 needs 50 kWh stored. Keeping 50 kWh costs 40 kWh of output (80 %),
    # charging it back later would cost 50 kWh bought: the plan buys 100 + 40.
    plan = run(**emptied_battery(0.8, fcr_from=2), rebalance=True)
    assert traded_kwh(plan, -1) == pytest.approx(140)
    assert plan.soc_breaches.height == 0
    assert soc(plan, "a")[2:].min() >= 50 - 1e-6


def overfull_battery() -> dict[str, object]:
    """A 1 MW / 1,000 kWh battery at 90 % both ways, half full, that its customer fills
    (1 MW in for two MTUs: 450 kWh stored, 950 kWh), and 200 kW of FCR holding 200 kWh
    from MTU 3 (so the SoC must stay <= 900 kWh)."""
    return {
        "fleet": [asset("a", 1.0, 1.0, eta_charge=0.9, eta_discharge=0.9)],
        "blocks": [block("w", 1000, 1000), block("f", 200, 200, market="fcr", start=at(3))],
        "backing": [piece("w", "a", 1000, 1000), piece("f", "a", 200, 200, start=at(3))],
        "schedules": points("w", {0: -1000, 1: -1000}),
    }


def test_without_a_plan_an_overfull_battery_leaves_its_band() -> None:
    # Shedding 50 kWh by charging and discharging at once is what the LP finds cheapest
    # without trades; a net setpoint cannot do that, so the band is breached.
    plain = run(**overfull_battery())
    assert plain.soc_breaches.height > 0
    assert set(plain.soc_breaches["reason"]) == {CYCLING}


def test_the_plan_sells_rather_than_cycles() -> None:
    # Discharging 50 kWh out of the battery in MTU 2 sells 45 kWh (90 %): less than
    # taking 55.6 kWh less charge in MTUs 0-1 would sell.
    plan = run(**overfull_battery(), rebalance=True)
    assert plan.soc_breaches.height == 0
    assert traded_kwh(plan, 1) == pytest.approx(45)
    assert traded_kwh(plan, -1) == 0
    assert soc(plan, "a")[3:].max() <= 900 + 1e-6
    # The customer's charge is taken in full: the trade is the discharge on top.
    np.testing.assert_allclose(power(plan, "a")[:2], [-1000, -1000], atol=TOLERANCE_KW)


def test_the_trades_are_the_setpoints_less_the_customers_total() -> None:
    plan = run(**emptied_battery(0.8, fcr_from=2), rebalance=True)
    physical = plan.setpoints.group_by("start").agg(pl.col("power_kw").sum())
    trade = dict(zip(plan.trades["start"], plan.trades["trade_kw"], strict=True))
    virtual = {at(0): 1000, at(1): 1000}
    for start, kw in physical.iter_rows():
        assert kw == pytest.approx(virtual.get(start, 0) + trade.get(start, 0.0), abs=1e-6)


def test_a_price_curve_moves_the_buys_to_the_cheap_mtu() -> None:
    # The 100 kWh the losses take can be bought in MTU 0 or 1: the cheaper one gets it.
    day = emptied_battery(0.8, fcr_from=None)
    n = int((END - START) / (at(1) - at(0)))
    for cheap in (0, 1):
        prices = pl.DataFrame(
            {"start": [at(k) for k in range(n)], "eur_per_mwh": [80.0] * n}
        ).with_columns(eur_per_mwh=pl.when(pl.col("start") == at(cheap)).then(20.0).otherwise(80.0))
        plan = run(**day, rebalance=True, prices=prices)
        assert traded_kwh(plan, -1) == pytest.approx(100)
        assert plan.trades["start"].to_list() == [at(cheap)]


def test_an_outage_is_named_as_what_the_plan_cannot_fix() -> None:
    day = emptied_battery(1.0, fcr_from=0)
    outage = [{"asset_id": "a", "start": at(4), "end": at(8), "available_fraction": 0.0}]
    plan = run(**day, availability=outage, rebalance=True)
    assert set(plan.soc_breaches["reason"]) == {OUT}
    assert plan.soc_breaches["start"].to_list() == [at(k) for k in range(4, 8)]
    assert "1 asset cannot keep its reserve band: a from" in plan.summary
    assert "out of service" in plan.summary


@pytest.mark.parametrize(
    ("rows", "column", "rule"),
    [
        ([{"start": START, "eur_per_mwh": 50.0}], "start", "every MTU of the day needs a price"),
        (
            [{"start": START + (at(1) - at(0)) / 3, "eur_per_mwh": 50.0}],
            "start",
            "must start one of the day's 96 MTUs",
        ),
    ],
)
def test_a_price_curve_must_price_every_mtu_once(
    rows: list[dict[str, object]], column: str, rule: str
) -> None:
    with pytest.raises(DomainError) as caught:
        run(**emptied_battery(0.8, None), rebalance=True, prices=pl.DataFrame(rows))
    assert [(p.column, p.rule) for p in caught.value.problems] == [(column, rule)]


def test_a_nan_price_is_named() -> None:
    n = int((END - START) / (at(1) - at(0)))
    prices = pl.DataFrame({"start": [at(k) for k in range(n)], "eur_per_mwh": [float("nan")] * n})
    with pytest.raises(DomainError) as caught:
        run(**emptied_battery(0.8, None), rebalance=True, prices=prices)
    assert caught.value.problems[0].column == "eur_per_mwh"
    assert caught.value.problems[0].rule == "must be a number"


def test_a_plan_cut_short_still_balances_within_each_asset_s_power() -> None:
    # No simplex iteration allowed: the plan falls back to the split within power, says
    # so, and its trades still balance the fleet against the customers' total.
    cut = {"presolve": "off", "simplex_iteration_limit": 0}
    plan = run(**overfull_battery(), rebalance=True, options=cut)
    assert plan.status.endswith("the split within each asset's power, not optimised")
    assert "limit" in plan.status.lower()
    kw = power(plan, "a")
    assert (np.abs(kw) <= 1000 + 1e-6).all()
    assert plan.shortfall.height == 0
    physical = dict(plan.setpoints.group_by("start").agg(pl.col("power_kw").sum()).iter_rows())
    trade = dict(zip(plan.trades["start"], plan.trades["trade_kw"], strict=True))
    for k, customers in ((0, -1000), (1, -1000), (2, 0)):
        assert physical[at(k)] == pytest.approx(customers + trade.get(at(k), 0.0), abs=1e-6)
    # The band it could not keep is named, not hidden.
    assert set(plan.soc_breaches["reason"]) == {UNSOLVED}


def test_the_sample_day_with_every_customer_emptying_its_battery() -> None:
    """The sample auction cleared; every wholesale block discharges at full power from
    its start until its virtual battery is empty, all at once. The fleet cannot deliver
    that (a shortfall without a plan); the plan buys what is missing and keeps every band."""
    archive = read_archive(sample_dir())
    result = clear(archive)
    blocks = result_blocks(archive, result)
    rows = []
    for b in blocks.filter(pl.col("market") == "wholesale").iter_rows(named=True):
        full_mtus = int(b["initial_soc_kwh"] // (b["power_kw"] * DT_H)) if b["power_kw"] else 0
        starts = (b["start"] + k * (at(1) - at(0)) for k in range(full_mtus))
        rows += [
            {"block_id": b["block_id"], "start": s, "power_kw": b["power_kw"]}
            for s in starts
            if s < b["end"]
        ]
    start, end = day_bounds(archive.config.delivery_day, archive.config.time_zone)
    frames = {
        "fleet": archive.fleet,
        "availability": archive.availability,
        "blocks": blocks.select(BLOCKS.names()),
        "backing": whole_window(result.backing, blocks),
        "schedules": pl.DataFrame(rows, schema=SCHEDULES),
        "start": start,
        "end": end,
    }
    assert disaggregate(**frames).shortfall.height > 0
    plan = disaggregate(**frames, rebalance=True)
    assert plan.shortfall.height == 0
    assert plan.soc_breaches.height == 0, plan.soc_breaches
    assert traded_kwh(plan, -1) > 0
    assert plan.summary.endswith("every asset keeps its reserve band")
    virtual = pl.DataFrame(rows, schema=SCHEDULES).group_by("start").agg(pl.col("power_kw").sum())
    physical = plan.setpoints.group_by("start").agg(pl.col("power_kw").sum())
    balance = (
        physical.join(virtual, on="start", how="left", suffix="_virtual")
        .join(plan.trades, on="start", how="left")
        .fill_null(0)
    )
    for _, kw, customers, trade in balance.iter_rows():
        assert kw == pytest.approx(customers + trade, abs=1e-6)
    limits = archive.fleet.select("asset_id", "p_discharge_mw", "p_charge_mw")
    within = plan.setpoints.join(limits, on="asset_id").filter(
        (pl.col("power_kw") > pl.col("p_discharge_mw") * 1000 + 1e-6)
        | (-pl.col("power_kw") > pl.col("p_charge_mw") * 1000 + 1e-6)
    )
    assert within.height == 0


def test_a_stressed_day_keeps_every_band_but_those_of_batteries_out_under_reserves() -> None:
    """The benchmark's drained and stressed day at a tenth of its size: customers empty
    their batteries together and three assets are out for two hours under their blocks."""
    frames = synthetic_day(7, 20, 200, 1.0, 3, 0.0, drain=0.3).kwargs()
    assert disaggregate(**frames).shortfall.height > 0
    plan = disaggregate(**frames, rebalance=True)
    assert plan.shortfall.height == 0
    assert traded_kwh(plan, -1) > 0
    assert set(plan.soc_breaches["reason"]) <= {OUT}
    out = frames["availability"].filter(pl.col("available_fraction") == 0)
    for r in plan.soc_breaches.iter_rows(named=True):
        mine = out.filter(pl.col("asset_id") == r["asset_id"])
        assert ((mine["start"] <= r["start"]) & (mine["end"] > r["start"])).any(), r
