"""Disaggregation onto the physical fleet: small cases whose answer a person can derive.

Assets have efficiencies 1.0 unless a test says otherwise, so SoC arithmetic stays exact:
1 MW for one MTU moves 250 kWh.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from auction.book import AVAILABILITY, FLEET
from auction.errors import DomainError
from auction.timegrid import day_bounds
from dispatch.disaggregate import Disaggregation, disaggregate, split_holds
from dispatch.disaggregation_lp import build_disaggregation_lp, net_power, solve_lp
from dispatch.fleet_day import prepare
from dispatch.frames import BACKING_SLICES, BLOCKS, SCHEDULES
from tests.strategies import FALL_BACK, NORMAL_DAY, SPRING_FORWARD

START, END = day_bounds(NORMAL_DAY)
MTU = timedelta(minutes=15)
Rows = list[dict[str, Any]]


def at(k: int, start: datetime = START) -> datetime:
    return start + k * MTU


def asset(asset_id: str, mw: float, mwh: float, **extra: Any) -> dict[str, Any]:
    row = {
        "asset_id": asset_id,
        "tso_zone": "10YDE-EON------1",
        "p_charge_mw": mw,
        "p_discharge_mw": mw,
        "e_min_mwh": 0.0,
        "e_max_mwh": mwh,
        "fcr": True,
        "afrr_pos": True,
        "afrr_neg": True,
        "owner_org": None,
        "eta_charge": 1.0,
        "eta_discharge": 1.0,
    }
    return row | extra


def block(
    block_id: str,
    power_kw: int,
    energy_kwh: int,
    market: str = "wholesale",
    soc: float | None = None,
    start: datetime = START,
    end: datetime = END,
) -> dict[str, Any]:
    """A block; wholesale blocks start half full unless ``soc`` says otherwise."""
    initial = (energy_kwh / 2 if soc is None else soc) if market == "wholesale" else 0.0
    return {
        "block_id": block_id,
        "product_id": "p1",
        "market": market,
        "power_kw": power_kw,
        "energy_kwh": energy_kwh,
        "start": start,
        "end": end,
        "tso_zone": "10YDE-EON------1",
        "initial_soc_kwh": initial,
    }


def piece(
    block_id: str,
    asset_id: str,
    power_kw: int,
    energy_kwh: int,
    start: datetime = START,
    end: datetime = END,
) -> dict[str, Any]:
    return {
        "block_id": block_id,
        "asset_id": asset_id,
        "start": start,
        "end": end,
        "power_kw": power_kw,
        "energy_kwh": energy_kwh,
    }


def points(block_id: str, kw_by_mtu: dict[int, int], start: datetime = START) -> Rows:
    return [
        {"block_id": block_id, "start": at(k, start), "power_kw": kw} for k, kw in kw_by_mtu.items()
    ]


def run(
    fleet: Rows,
    blocks: Rows,
    backing: Rows,
    schedules: Rows,
    availability: Rows | None = None,
    day: date = NORMAL_DAY,
    **plan: Any,
) -> Disaggregation:
    """``plan``: ``rebalance`` and ``prices``, as ``disaggregate`` takes them."""
    start, end = day_bounds(day)
    return disaggregate(
        pl.DataFrame(fleet, schema=FLEET),
        pl.DataFrame(availability or [], schema=AVAILABILITY),
        pl.DataFrame(blocks, schema=BLOCKS),
        pl.DataFrame(backing, schema=BACKING_SLICES),
        pl.DataFrame(schedules, schema=SCHEDULES),
        start,
        end,
        **plan,
    )


def power(result: Disaggregation, asset_id: str) -> np.ndarray:
    frame = result.setpoints.filter(pl.col("asset_id") == asset_id)
    return frame["power_kw"].to_numpy()


def soc(result: Disaggregation, asset_id: str) -> np.ndarray:
    return result.setpoints.filter(pl.col("asset_id") == asset_id)["soc_kwh"].to_numpy()


# --------------------------------------------------------------------------- splitting


def test_the_split_is_proportional_when_everything_fits() -> None:
    result = run(
        [asset("a1", 1.0, 4.0), asset("a2", 1.0, 4.0)],
        [block("b1", 1000, 2000)],
        [piece("b1", "a1", 600, 1200), piece("b1", "a2", 400, 800)],
        points("b1", {0: 800, 1: 800, 2: -500}),
    )
    assert result.status == "split followed"  # no solve needed
    assert result.shortfall.height == 0
    np.testing.assert_allclose(power(result, "a1")[:4], [480, 480, -300, 0], atol=1e-6)
    np.testing.assert_allclose(power(result, "a2")[:4], [320, 320, -200, 0], atol=1e-6)
    # Both start in the middle of [0, 4000] kWh, as the half-full block expects.
    np.testing.assert_allclose(soc(result, "a1")[:4], [1880, 1760, 1835, 1835], atol=1e-6)
    assert result.setpoints.height == 2 * 96
    assert result.setpoints["start"].to_list()[:2] == [START, START + MTU]
    assert result.summary == (
        "2 assets follow 1 wholesale block over 96 MTUs; the fleet delivers every MTU"
    )


def test_the_lp_agrees_with_the_split_when_everything_fits() -> None:
    start, end = day_bounds(NORMAL_DAY)
    day = prepare(
        pl.DataFrame([asset("a1", 1.0, 4.0, eta_charge=0.9), asset("a2", 1.0, 4.0)], schema=FLEET),
        pl.DataFrame([], schema=AVAILABILITY),
        pl.DataFrame([block("b1", 1000, 2000)], schema=BLOCKS),
        pl.DataFrame(
            [piece("b1", "a1", 600, 1200), piece("b1", "a2", 400, 800)], schema=BACKING_SLICES
        ),
        pl.DataFrame(points("b1", {0: 800, 1: 800, 2: -500}), schema=SCHEDULES),
        start,
        end,
    )
    assert split_holds(day)
    status, x = solve_lp(build_disaggregation_lp(day))
    assert status == "Optimal"
    np.testing.assert_allclose(net_power(day, x), day.target, atol=1e-6)


def test_the_initial_soc_is_what_the_blocks_expect() -> None:
    """Mid-band plus each slice's share of its block's distance from half full."""
    result = run(
        [asset("a1", 1.0, 4.0)],
        [block("b1", 1000, 2000, soc=500.0)],  # a quarter full: 500 kWh below half
        [piece("b1", "a1", 1000, 2000)],
        points("b1", {0: 100}),
    )
    assert soc(result, "a1")[0] == pytest.approx(2000 - 500 - 25)


def test_a_block_that_starts_later_takes_the_asset_as_it_finds_it() -> None:
    result = run(
        [asset("a1", 1.0, 4.0)],
        [block("b1", 1000, 2000, soc=0.0, start=at(8), end=at(16))],
        [piece("b1", "a1", 1000, 2000, start=at(8), end=at(16))],
        points("b1", {8: -1000, 15: -400}),
    )
    p = power(result, "a1")
    np.testing.assert_allclose(p[[7, 8, 15, 16]], [0, -1000, -400, 0], atol=1e-6)
    assert soc(result, "a1")[8] == pytest.approx(2000 + 250)


def test_an_asset_at_its_power_cap_hands_the_rest_to_another() -> None:
    """a1 is derated to half in MTU 2: 500 kW, not the 750 kW of its share."""
    result = run(
        [asset("a1", 1.0, 4.0), asset("a2", 2.0, 8.0)],
        [block("b1", 1500, 3000)],
        [piece("b1", "a1", 750, 1500), piece("b1", "a2", 750, 1500)],
        points("b1", {2: 1500}),
        availability=[{"asset_id": "a1", "start": at(2), "end": at(3), "available_fraction": 0.5}],
    )
    assert result.shortfall.height == 0
    assert power(result, "a1")[2] == pytest.approx(500)
    assert power(result, "a2")[2] == pytest.approx(1000)
    assert result.soc_breaches.height == 0


def test_reserve_headroom_is_never_used() -> None:
    """a1 (1 MW) carries 400 kW FCR and 200 kW aFRR up: 400 kW left upward, 600 downward."""
    result = run(
        [asset("a1", 1.0, 4.0), asset("a2", 2.0, 8.0)],
        [
            block("b1", 1000, 2000),
            block("f1", 400, 200, market="fcr"),
            block("r1", 200, 200, market="afrr_pos"),
        ],
        [
            piece("b1", "a1", 600, 1200),
            piece("b1", "a2", 400, 800),
            piece("f1", "a1", 400, 200),
            piece("r1", "a1", 200, 200),
        ],
        points("b1", {0: 1000, 1: -1000}),
    )
    assert result.shortfall.height == 0
    np.testing.assert_allclose(power(result, "a1")[:2], [400, -600], atol=1e-6)
    np.testing.assert_allclose(power(result, "a2")[:2], [600, -400], atol=1e-6)


def test_reserve_energy_bounds_the_soc_and_the_rest_moves_elsewhere() -> None:
    """a1's share needs 500 kWh out, 555.6 kWh drained at 90 %; aFRR up keeps 100 of 600."""
    result = run(
        [asset("a1", 1.0, 0.6, eta_discharge=0.9), asset("a2", 2.0, 8.0)],
        [block("b1", 1000, 1000, soc=1000.0), block("r1", 100, 100, market="afrr_pos")],
        [
            piece("b1", "a1", 500, 500),
            piece("b1", "a2", 500, 500),
            piece("r1", "a1", 100, 100),
        ],
        points("b1", {0: 1000, 1: 1000, 2: 1000, 3: 1000}),
    )
    assert result.shortfall.height == 0
    a1 = soc(result, "a1")
    # Band [100, 600]; the full block puts a1 at the middle 350 plus 500/2: 600.
    assert a1.min() == pytest.approx(100)
    assert (a1 >= 100 - 1e-6).all()
    assert power(result, "a1")[:4].sum() == pytest.approx(1800)  # 450 kWh, not 500
    assert (power(result, "a1")[:4] + power(result, "a2")[:4]) == pytest.approx(1000)


def test_the_shortfall_names_the_mtus_and_the_kw() -> None:
    """a1 carries 1,000 of a 1,500 kW block: the lost third is not its target, but it
    gives what power it has left to the total (charging 1,000 kW, not its 800)."""
    result = run(
        [asset("a1", 1.0, 2.0)],
        [block("b1", 1500, 3000)],
        [piece("b1", "a1", 1000, 2000)],
        points("b1", {3: 1500, 5: -1200}),
    )
    expected = pl.DataFrame(
        {
            "start": [at(3), at(5)],
            "virtual_kw": [1500.0, -1200.0],
            "physical_kw": [1000.0, -1000.0],
            "shortfall_kw": [500.0, -200.0],
        },
        schema=result.shortfall.schema,
    )
    assert_frame_equal(result.shortfall, expected, abs_tol=1e-6)
    assert result.summary.endswith(f"short by up to 500.0 kW in 2 MTUs (first {at(3).isoformat()})")


def test_a_derate_below_the_reserves_energy_is_reported_not_infeasible() -> None:
    """FCR holds 2,000 kWh (1,000 each way) of a1's 4 MWh; derated to 30 %, 1,200 remain."""
    result = run(
        [asset("a1", 4.0, 4.0), asset("a2", 1.0, 4.0)],
        [block("b1", 500, 1000), block("f1", 2000, 2000, market="fcr")],
        [piece("b1", "a2", 400, 800), piece("b1", "a1", 100, 200), piece("f1", "a1", 2000, 2000)],
        points("b1", {0: 200}),
        availability=[
            {"asset_id": "a1", "start": at(40), "end": at(44), "available_fraction": 0.3}
        ],
    )
    assert result.status == "Optimal"
    breaches = result.soc_breaches.filter(pl.col("asset_id") == "a1")
    assert breaches["start"].to_list() == [at(k) for k in range(40, 44)]
    assert "cannot keep the SoC band" in result.summary


# --------------------------------------------------------------------------- days and order


@pytest.mark.parametrize(("day", "n_mtu"), [(SPRING_FORWARD, 92), (FALL_BACK, 100)])
def test_dst_days_have_their_own_number_of_mtus(day: date, n_mtu: int) -> None:
    start, end = day_bounds(day)
    result = run(
        [asset("a1", 1.0, 4.0)],
        [block("b1", 1000, 2000, start=start, end=end)],
        [piece("b1", "a1", 1000, 2000, start=start, end=end)],
        points("b1", {0: 400, n_mtu - 1: -400}, start),
        day=day,
    )
    assert result.n_mtu == n_mtu
    assert result.setpoints.height == n_mtu
    starts = result.setpoints["start"]
    assert starts[0] == start
    assert starts[-1] == end - MTU
    assert (starts.diff().drop_nulls() == MTU).all()
    assert power(result, "a1")[[0, n_mtu - 1]] == pytest.approx([400, -400])


def test_shuffled_rows_give_identical_setpoints() -> None:
    rng = np.random.default_rng(3)
    fleet = [asset(f"a{i}", 1.0, 2.0, eta_charge=0.95, eta_discharge=0.9) for i in range(3)]
    blocks, backing, schedules = [], [], []
    for b in range(4):
        blocks.append(block(f"b{b}", 600, 1200))
        backing += [
            piece(f"b{b}", f"a{b % 3}", 400, 800),
            piece(f"b{b}", f"a{(b + 1) % 3}", 200, 400),
        ]
        walk = np.clip(np.cumsum(rng.integers(-200, 200, 96)), -600, 600)
        schedules += points(f"b{b}", {k: int(kw) for k, kw in enumerate(walk) if kw})
    blocks.append(block("f0", 300, 150, market="fcr"))
    backing.append(piece("f0", "a1", 300, 150))
    first = run(fleet, blocks, backing, schedules)
    for seed in range(3):
        order = np.random.default_rng(seed)

        def shuffled(rows: Rows, order: np.random.Generator = order) -> Rows:
            return [rows[i] for i in order.permutation(len(rows))]

        again = run(shuffled(fleet), shuffled(blocks), shuffled(backing), shuffled(schedules))
        assert_frame_equal(again.setpoints, first.setpoints)
        assert_frame_equal(again.shortfall, first.shortfall)


# --------------------------------------------------------------------------- edges


def test_a_block_nobody_backs_is_served_by_spare_power_or_reported_short() -> None:
    orphan = block("b2", 500, 1000)
    helped = run(
        [asset("a1", 2.0, 4.0)],
        [block("b1", 1000, 2000), orphan],
        [piece("b1", "a1", 1000, 2000)],
        points("b2", {0: 500}),
    )
    assert helped.shortfall.height == 0
    assert power(helped, "a1")[0] == pytest.approx(500)
    alone = run([asset("a1", 2.0, 4.0)], [orphan], [], points("b2", {0: 500}))
    assert alone.setpoints.height == 0
    assert alone.shortfall["shortfall_kw"].to_list() == [500.0]
    assert alone.summary.startswith("0 assets follow 1 wholesale block over 96 MTUs; the fleet")


def test_no_schedules_means_zero_setpoints_without_a_solve() -> None:
    result = run(
        [asset("a1", 1.0, 4.0)],
        [block("b1", 1000, 2000, soc=1500.0)],
        [piece("b1", "a1", 1000, 2000)],
        [],
    )
    assert result.status == "no schedules"
    assert (result.setpoints["power_kw"] == 0).all()
    assert (result.setpoints["soc_kwh"] == 2500.0).all()
    assert result.shortfall.height == 0


def test_the_lp_has_one_soc_row_per_asset_and_mtu_and_one_balance_row_per_mtu() -> None:
    start, end = day_bounds(NORMAL_DAY)
    day = prepare(
        pl.DataFrame([asset("a1", 1.0, 4.0), asset("a2", 1.0, 4.0)], schema=FLEET),
        pl.DataFrame([], schema=AVAILABILITY),
        pl.DataFrame([block("b1", 1000, 2000)], schema=BLOCKS),
        pl.DataFrame(
            [piece("b1", "a1", 500, 1000), piece("b1", "a2", 500, 1000)], schema=BACKING_SLICES
        ),
        pl.DataFrame(points("b1", {0: 100}), schema=SCHEDULES),
        start,
        end,
    )
    lp = build_disaggregation_lp(day)
    assert lp.A.shape == (2 * 96 + 96, 5 * 2 * 96 + 2 * 96)
    assert np.all(lp.lb <= lp.ub)


@pytest.mark.parametrize(
    ("schedule", "column"),
    [
        ({"block_id": "nope", "start": START, "power_kw": 100}, "block_id"),
        ({"block_id": "f1", "start": START, "power_kw": 100}, "block_id"),  # not wholesale
        ({"block_id": "b1", "start": START + timedelta(minutes=5), "power_kw": 100}, "start"),
        ({"block_id": "b1", "start": at(20), "power_kw": 100}, "start"),  # after its window
    ],
)
def test_bad_schedules_are_refused(schedule: dict[str, Any], column: str) -> None:
    with pytest.raises(DomainError) as caught:
        run(
            [asset("a1", 1.0, 4.0)],
            [block("b1", 500, 1000, end=at(16)), block("f1", 200, 100, market="fcr")],
            [piece("b1", "a1", 500, 1000), piece("f1", "a1", 200, 100)],
            [schedule],
        )
    assert [p.column for p in caught.value.problems] == [column]


def test_a_slice_on_an_unknown_asset_is_refused() -> None:
    with pytest.raises(DomainError, match="not in the fleet"):
        run(
            [asset("a1", 1.0, 4.0)], [block("b1", 500, 1000)], [piece("b1", "ghost", 500, 1000)], []
        )
