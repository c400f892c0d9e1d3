"""Re-backing after an outage on hand-built fleets whose answer a person can derive.

Unless a test says otherwise: assets of 1 MW / 1 MWh in TenneT DE, wholesale blocks of
1 h (1 kWh per kW) delivering 10:00-12:00 local (MTUs 0-8), the interval the whole window.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from typing import Any

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from auction.errors import DomainError
from auction.model import TENNET_DE
from auction.timegrid import day_bounds
from clearing import clear, write_results
from clearing.verify import format_report, verify
from dispatch.frames import BACKING_SLICES
from dispatch.rebacking import Rebacking, clearing_frames, reback, relay
from tests.properties.test_rebacking_properties import (
    N_MTU,
    Case,
    at,
    rewritten,
    used_asset,
    with_outage,
)
from tests.strategies import NORMAL_DAY, OTHER_ZONE, asset, bid, make_archive, product

ENERGY_H = {"wholesale": 1.0, "fcr": 0.5, "afrr_pos": 1.0, "afrr_neg": 1.0}


def block(block_id: str, kw: int, market: str = "wholesale", **extra: Any) -> dict[str, Any]:
    """A block of product p1 (or ``product_id``) over MTUs 0-8."""
    row = {
        "block_id": block_id,
        "product_id": "p1",
        "market": market,
        "power_kw": kw,
        "energy_kwh": round(kw * ENERGY_H[market]),
        "start": at(0),
        "end": at(N_MTU),
        "tso_zone": TENNET_DE,
        "initial_soc_kwh": 0.0,
    }
    return row | extra


def piece(b: dict[str, Any], asset_id: str, kw: int) -> dict[str, Any]:
    """A backing slice of ``kw`` of block ``b`` on ``asset_id`` over the block's window."""
    return {
        "block_id": b["block_id"],
        "asset_id": asset_id,
        "start": b["start"],
        "end": b["end"],
        "power_kw": kw,
        "energy_kwh": round(b["energy_kwh"] * kw / b["power_kw"]),
    }


def outage(asset_id: str, t0: int = 0, t1: int = N_MTU, fraction: float = 0.0) -> dict[str, Any]:
    return {"asset_id": asset_id, "start": at(t0), "end": at(t1), "available_fraction": fraction}


def run(case: Case) -> Rebacking:
    result = reback(
        **case.frames(), start=at(case.window[0]), end=at(case.window[1]), time_zone="Europe/Berlin"
    )
    case.check(result)
    return result


def carried(result: Rebacking, block_id: str) -> dict[str, int]:
    """kW per asset of the block's new backing (one stretch expected)."""
    rows = result.backing.filter(pl.col("block_id") == block_id)
    return dict(zip(rows["asset_id"], rows["power_kw"], strict=True))


def one_slice(result: Rebacking, block_id: str) -> dict[str, Any]:
    rows = result.slices.filter(pl.col("block_id") == block_id).to_dicts()
    assert len(rows) == 1, rows
    return rows[0]


# --------------------------------------------------------------------------- spare or not


def test_spare_capacity_keeps_every_block_whole_and_moves_only_the_failed_kw() -> None:
    """a1 fails; a3 has the most power to spare, so the 1,600 kW of a1 all go there.

    b2 keeps its 400 kW on a2; b3 rests on a2 alone and is not touched at all.
    """
    fleet = [asset("a1", 2.0, 4.0), asset("a2", 2.0, 4.0), asset("a3", 2.0, 4.0)]
    b1, b2, b3 = block("b1", 1000), block("b2", 1000), block("b3", 1000)
    backing = [piece(b1, "a1", 1000), piece(b2, "a1", 600), piece(b2, "a2", 400)]
    backing.append(piece(b3, "a2", 1000))
    result = run(Case(fleet, [b1, b2, b3], backing, [outage("a1")], (0, N_MTU)))

    assert carried(result, "b1") == {"a3": 1000}
    assert carried(result, "b2") == {"a2": 400, "a3": 600}
    assert "b3" not in set(result.slices["block_id"])
    for b in ("b1", "b2"):
        assert one_slice(result, b) == {"block_id": b, "start": at(0), "end": at(8), "lost_kw": 0}
    assert (result.blocks_touched, result.moved_kw, result.to_assets) == (2, 1600, 1)
    assert (result.lost_kw, result.lost_blocks, result.lost_windows) == (0, 0, ())
    assert result.summary == (
        "Outage re-backed 2 blocks: 1,600 kW moved to 1 other asset; every block stays whole."
    )
    # Energy in proportion to power, summing to the block's.
    energy = result.backing.filter(pl.col("block_id") == "b2")["energy_kwh"].to_list()
    assert energy == [400, 600]


def test_without_spare_exactly_the_kw_nobody_can_carry_are_lost_in_the_outage_mtus() -> None:
    """a1 (1,000 kW of b1 and b2) is out 10:30-11:00; a2 has 600 kW to spare.

    b1 comes first on the line and gets all 600 kW; b2 loses the 400 kW it had on a1,
    in MTUs 2-3 only. b3 is untouched; nothing changes outside the outage.
    """
    fleet = [asset("a1", 1.0, 1.0), asset("a2", 1.0, 1.0)]
    b1, b2, b3 = block("b1", 600), block("b2", 600), block("b3", 200)
    backing = [piece(b1, "a1", 600), piece(b2, "a1", 400), piece(b2, "a2", 200)]
    backing.append(piece(b3, "a2", 200))
    result = run(Case(fleet, [b1, b2, b3], backing, [outage("a1", 2, 4)], (0, N_MTU)))

    assert result.slices.to_dicts() == [
        {"block_id": "b1", "start": at(2), "end": at(4), "lost_kw": 0},
        {"block_id": "b2", "start": at(2), "end": at(4), "lost_kw": 400},
    ]
    assert carried(result, "b1") == {"a2": 600}
    assert carried(result, "b2") == {"a2": 200}
    assert (result.lost_kw, result.lost_blocks) == (400, 1)
    assert result.lost_windows == ((at(2), at(4)),)
    assert result.summary == (
        "Outage re-backed 2 blocks: 600 kW moved to 1 other asset; "
        "400 kW of 1 block unavailable from 10:30 to 11:00."
    )


def test_a_half_derate_sheds_the_last_blocks_of_the_line_first() -> None:
    """a1 (2 MW / 2 MWh) carries b1 and b2 and is derated to half: 1,000 kW must go.

    b2 comes later on the line, so b2 moves to a2; b1 keeps a1 untouched.
    """
    fleet = [asset("a1", 2.0, 2.0), asset("a2", 1.0, 1.0)]
    b1, b2 = block("b1", 1000), block("b2", 1000)
    backing = [piece(b1, "a1", 1000), piece(b2, "a1", 1000)]
    result = run(Case(fleet, [b1, b2], backing, [outage("a1", fraction=0.5)], (0, N_MTU)))

    assert set(result.slices["block_id"]) == {"b2"}
    assert carried(result, "b2") == {"a2": 1000}
    assert result.lost_kw == 0


def test_the_line_order_decides_which_block_takes_the_loss() -> None:
    """The blocks of the test above with b2 first: now b1 is later and loses."""
    fleet = [asset("a1", 1.0, 1.0), asset("a2", 1.0, 1.0)]
    b1, b2, b3 = block("b1", 600), block("b2", 600), block("b3", 200)
    backing = [piece(b1, "a1", 600), piece(b2, "a1", 400), piece(b2, "a2", 200)]
    backing.append(piece(b3, "a2", 200))
    result = run(Case(fleet, [b2, b1, b3], backing, [outage("a1")], (0, N_MTU)))

    assert one_slice(result, "b2")["lost_kw"] == 0
    assert carried(result, "b2") == {"a2": 600}
    assert one_slice(result, "b1")["lost_kw"] == 400
    assert carried(result, "b1") == {"a2": 200}


# --------------------------------------------------------------------------- who may carry


def test_a_reserve_block_needs_a_prequalified_asset_even_if_wholesale_must_make_room() -> None:
    """FCR f1 loses a1; a3 is prequalified but full of wholesale w1; a2 is not prequalified.

    The fleet can carry both: w1 moves 500 kW to a2, f1 takes them on a3. Nothing is lost,
    and f1 never lands on a2.
    """
    fleet = [
        asset("a1", 1.0, 1.0, fcr=True),
        asset("a2", 1.0, 1.0),
        asset("a3", 1.0, 1.0, fcr=True),
    ]
    f1 = block("f1", 500, "fcr", product_id="p2")
    w1 = block("w1", 1000)
    backing = [piece(f1, "a1", 500), piece(w1, "a3", 1000)]
    result = run(Case(fleet, [f1, w1], backing, [outage("a1")], (0, N_MTU)))

    assert carried(result, "f1") == {"a3": 500}
    assert carried(result, "w1") == {"a2": 500, "a3": 500}
    assert result.lost_kw == 0


def test_without_a_prequalified_asset_the_reserve_block_is_lost() -> None:
    fleet = [asset("a1", 1.0, 1.0, fcr=True), asset("a2", 1.0, 1.0)]
    f1 = block("f1", 500, "fcr")
    result = run(Case(fleet, [f1], [piece(f1, "a1", 500)], [outage("a1")], (0, N_MTU)))

    assert result.backing.is_empty()
    assert one_slice(result, "f1")["lost_kw"] == 500
    assert result.summary.startswith("Outage re-backed 1 block: no other asset can take any")


def test_an_asset_of_another_zone_carries_nothing() -> None:
    fleet = [asset("a1", 1.0, 1.0), asset("a2", 1.0, 1.0, tso_zone=OTHER_ZONE)]
    fleet.append(asset("a3", 0.3, 0.3))
    b1 = block("b1", 1000)
    result = run(Case(fleet, [b1], [piece(b1, "a1", 1000)], [outage("a1")], (0, N_MTU)))

    assert carried(result, "b1") == {"a3": 300}
    assert one_slice(result, "b1")["lost_kw"] == 700


# --------------------------------------------------------------------------- time


def test_only_the_mtus_the_outage_reaches_change() -> None:
    """Re-backing the whole window after an outage of MTUs 3-5 changes MTUs 3-5 only."""
    fleet = [asset("a1", 1.0, 1.0), asset("a2", 1.0, 1.0)]
    b1 = block("b1", 800)
    result = run(Case(fleet, [b1], [piece(b1, "a1", 800)], [outage("a1", 3, 5)], (0, N_MTU)))

    assert result.slices.to_dicts() == [
        {"block_id": "b1", "start": at(3), "end": at(5), "lost_kw": 0}
    ]
    after = result.applied_to(pl.DataFrame([piece(b1, "a1", 800)], schema=BACKING_SLICES))
    assert after.select("asset_id", "start", "end", "power_kw").rows() == [
        ("a1", at(0), at(3), 800),
        ("a2", at(3), at(5), 800),
        ("a1", at(5), at(8), 800),
    ]


def test_an_outage_outside_the_blocks_windows_touches_nothing() -> None:
    fleet = [asset("a1", 1.0, 1.0), asset("a2", 1.0, 1.0)]
    b1 = block("b1", 800, end=at(4))
    result = run(Case(fleet, [b1], [piece(b1, "a1", 800)], [outage("a1", 5, 7)], (5, 7)))

    assert result.slices.is_empty()
    assert result.backing.is_empty()
    assert result.summary == (
        "Outage touches no block: the fleet still carries every block as it is."
    )


def test_stretches_with_the_same_data_are_solved_once_and_agree() -> None:
    fleet = [asset("a1", 1.0, 1.0), asset("a2", 1.0, 1.0)]
    b1 = block("b1", 800)
    outages = [outage("a1", 1, 2), outage("a1", 5, 6)]
    result = run(Case(fleet, [b1], [piece(b1, "a1", 800)], outages, (0, N_MTU)))

    assert result.solver["solves"] == 1
    assert result.backing.select("asset_id", "start", "power_kw").rows() == [
        ("a2", at(1), 800),
        ("a2", at(5), 800),
    ]


def test_a_whole_day_outage_gives_one_slice_per_block_where_the_same_assets_can_carry_it() -> None:
    """b1 overlaps b2 in MTUs 4-8 only; a3 has room for a1's share throughout, so b1 gets
    one backing for its whole window although the stretches differ."""
    fleet = [asset("a1", 1.0, 1.0), asset("a2", 1.0, 1.0), asset("a3", 1.0, 1.0)]
    b1 = block("b1", 600)
    b2 = block("b2", 500, product_id="p2", start=at(4))
    backing = [piece(b1, "a1", 600), piece(b2, "a2", 500)]
    result = run(Case(fleet, [b1, b2], backing, [outage("a1")], (0, N_MTU)))

    assert result.slices.to_dicts() == [
        {"block_id": "b1", "start": at(0), "end": at(8), "lost_kw": 0}
    ]
    assert carried(result, "b1") == {"a3": 600}


# --------------------------------------------------------------------------- contracts


def test_row_order_does_not_matter() -> None:
    fleet = [asset(f"a{i}", 1.0, 2.0) for i in range(1, 5)]
    blocks = [block(f"b{i}", 300 + 100 * i) for i in range(1, 5)]
    blocks += [block(f"c{i}", 200, product_id="p2", start=at(2)) for i in range(1, 3)]
    backing = [piece(b, f"a{1 + i % 3}", b["power_kw"]) for i, b in enumerate(blocks)]
    case = Case(fleet, blocks, backing, [outage("a1", 1, 6), outage("a2", 2, 3, 0.5)], (0, 8))
    first = run(case)
    for seed in range(3):
        again = reback(**case.frames(seed), start=at(0), end=at(8))
        assert_frame_equal(again.slices, first.slices)
        assert_frame_equal(again.backing, first.backing)
        assert again.summary == first.summary


def test_the_interval_must_lie_on_the_grid_and_the_backing_must_be_known() -> None:
    fleet = [asset("a1", 1.0, 1.0)]
    b1 = block("b1", 500)
    frames = Case(fleet, [b1], [piece(b1, "a1", 500)], [], (0, 8)).frames()
    with pytest.raises(DomainError, match="whole number"):
        reback(**frames, start=at(0), end=datetime(2026, 11, 29, 9, 20, tzinfo=UTC))
    frames["backing"] = frames["backing"].with_columns(asset_id=pl.lit("nowhere"))
    with pytest.raises(DomainError, match="not in the fleet"):
        reback(**frames, start=at(0), end=at(8))


def test_relay_takes_from_the_end_and_fills_from_the_front() -> None:
    """Three blocks on assets (x, y); x must shed 500 kW and y has room for 200."""
    power = np.array([400, 400, 400])
    old = np.array([[400, 0], [200, 200], [300, 100]])
    new = relay(power, old, np.array([400, 500]))
    # x sheds 300 of the last block and 200 of the middle one; y's 200 of room go to
    # the middle block first; the last block keeps its loss.
    assert new.tolist() == [[400, 0], [0, 400], [0, 100]]
    assert (new.sum(axis=0) == [400, 500]).all()


# --------------------------------------------------------------------------- the checker


def test_the_clearing_checker_passes_after_a_whole_day_outage_with_a_spare_asset() -> None:
    """The golden auction of tests/unit/clearing/verify_base.py (a1 10 MW, a2 5 MW, 15 MW
    sold); a1 fails for the day, a 20 MW spare joins; the re-backed result passes."""
    archive = make_archive(
        fleet=[asset("a1", 10.0, 20.0, fcr=True), asset("a2", 5.0, 10.0)],
        products=[product(reserve_price_eur_per_mw=10.0)],
        bids=[bid("b1", "A", 10.0, 30.0), bid("b2", "B", 8.0, 25.0), bid("b3", "C", 4.0, 5.0)],
    )
    result = clear(archive)
    failed = used_asset(result)
    assert failed == "a1"
    outaged = with_outage(archive, failed)
    blocks, slices = clearing_frames(outaged, result)
    start, end = day_bounds(NORMAL_DAY)
    rebacked = reback(outaged.fleet, outaged.availability, blocks, slices, start, end)
    assert rebacked.summary == (
        "Outage re-backed 1 block: 10,000 kW moved to 1 other asset; every block stays whole."
    )
    with tempfile.TemporaryDirectory() as out:
        write_results(rewritten(outaged, result, rebacked.applied_to(slices)), out)
        report = verify(outaged, out, optimality=False)
    assert report.ok, format_report(report)
