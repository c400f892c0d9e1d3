"""Properties every clearing must have, on small generated auctions (tests/strategies.py).

Money tolerance: docs/clearing.md asks for revenue optimal to within 0.01 EUR, so
comparisons of revenue between two clearings allow that much; awards are compared exactly
where the argument in the test's docstring makes the slack unnecessary.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import polars as pl
import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from auction.archive import read_archive, write_archive
from auction.errors import InfeasibleAllocation
from auction.model import TENNET_DE, Archive
from auction.timegrid import mtu_starts
from clearing import ClearingResult, clear, write_results
from clearing.eligibility import prepare_bids
from clearing.fleet import FleetLP
from clearing.incumbent import Greedy
from clearing.model import build_model
from clearing.solve import refill
from clearing.verify import format_report, reference_optimum, verify
from tests.strategies import archives, replace_frames, shuffled

TOLERANCE_EUR = Decimal("0.01")
TABLE_NAMES = ("fleet", "availability", "products", "bids", "allocations")

archives_with_bids = archives().filter(lambda a: a.bids.height > 0)


def awarded_kw(result: ClearingResult, bid_id: str) -> int:
    row = result.awards.filter(pl.col("bid_id") == bid_id)
    assert row.height == 1, f"awards has {row.height} rows for bid {bid_id}"
    return int(row["awarded_kw"][0])


def show(archive: Archive) -> None:
    """Put the generated tables in hypothesis' report of a failing example."""
    for name in TABLE_NAMES:
        note(f"{name}: {getattr(archive, name).to_dicts()}")


# Writing and reading CSV is slower than clearing: a quarter of the profile's examples.
@settings(max_examples=max(10, settings().max_examples // 4))
@given(archives())
def test_generated_archives_are_valid_archives(archive: Archive) -> None:
    """The strategy obeys docs/archive.md: the archive survives a CSV round trip unchanged."""
    with tempfile.TemporaryDirectory() as out:
        write_archive(archive, out)
        again = read_archive(out)
    for name in TABLE_NAMES:
        assert_frame_equal(getattr(again, name), getattr(archive, name))


@given(archives())
def test_result_passes_the_independent_checker(archive: Archive) -> None:
    show(archive)
    result = clear(archive)
    assert result.status in ("optimal", "infeasible"), result.status
    with tempfile.TemporaryDirectory() as out:
        write_results(result, out)
        report = verify(archive, out, optimality=True)
    assert report.ok, format_report(report)


@given(archives())
def test_revenue_equals_the_reference_optimum(archive: Archive) -> None:
    show(archive)
    result = clear(archive)
    try:
        reference: float | None = reference_optimum(archive)
    except InfeasibleAllocation:
        reference = None
    note(f"clear: {result.status} {result.objective_eur} EUR; reference: {reference}")
    if reference is None:
        assert result.status == "infeasible"
        assert result.objective_eur == 0
        return
    assert result.status == "optimal"
    assert abs(result.objective_eur - Decimal(repr(reference))) <= TOLERANCE_EUR
    # The objective is the exact sum of the payments, never a float from the solver.
    assert result.objective_eur * 100_000 == int(result.awards["payment_units"].sum())


@given(archives(), st.integers(0, 2**16))
def test_row_order_does_not_matter(archive: Archive, seed: int) -> None:
    show(archive)
    first = clear(archive)
    second = clear(shuffled(archive, seed))
    assert second.input_sha256 == first.input_sha256
    assert (second.status, second.objective_eur) == (first.status, first.objective_eur)
    assert second.tables() == first.tables()


@given(archives_with_bids, st.data())
def test_raising_a_price_never_lowers_that_bids_award(
    archive: Archive, data: st.DataObject
) -> None:
    """If b's award fell from x to x' < x when its price rose by d, then at the new prices
    the old solution is worth d·(x − x') more than it was, and the new one must still beat
    it; at the old prices the old one beat the new one. With each clearing optimal to within
    0.01 EUR, that leaves d·(x − x') <= 0.02 EUR. So a fall is a bug unless the raise is tiny
    (awards move by whole increments of 0.1 or 1 MW: from 1 EUR/MW up, any fall is a bug).
    """
    show(archive)
    row = data.draw(st.integers(0, archive.bids.height - 1), label="bid row")
    raise_cents = data.draw(st.integers(1, 5000), label="raise in cents")
    bid_id = archive.bids["bid_id"][row]
    old_cents = round(archive.bids["price_eur_per_mw"][row] * 100)
    bids = archive.bids.with_columns(
        price_eur_per_mw=pl.when(pl.col("bid_id") == bid_id)
        .then(pl.lit((old_cents + raise_cents) / 100))
        .otherwise(pl.col("price_eur_per_mw"))
    )
    before = clear(archive)
    after = clear(replace_frames(archive, bids=bids))
    x_before, x_after = awarded_kw(before, bid_id), awarded_kw(after, bid_id)
    note(
        f"bid {bid_id}: {old_cents} -> {old_cents + raise_cents} cents, {x_before} -> {x_after} kW"
    )
    # d·(x − x') in kW × cents; 0.02 EUR is 2,000 of them.
    assert x_after >= x_before or raise_cents * (x_before - x_after) <= 2_000


@st.composite
def more_capacity(draw: st.DrawFn, archive: Archive) -> pl.DataFrame:
    """The fleet with one in-zone asset scaled up, or with one more asset."""
    fleet = archive.fleet
    in_zone = fleet.filter(pl.col("tso_zone") == TENNET_DE)["asset_id"].to_list()
    if in_zone and draw(st.booleans()):
        asset_id = draw(st.sampled_from(in_zone))
        scale = draw(st.sampled_from([1.5, 2.0, 4.0]))
        mine = pl.col("asset_id") == asset_id
        return fleet.with_columns(
            pl.when(mine).then(pl.col(c) * scale).otherwise(pl.col(c)).alias(c)
            for c in ("p_charge_mw", "p_discharge_mw", "e_max_mwh")
        )
    mw = draw(st.sampled_from([1.0, 2.0, 5.0, 10.0]))
    extra = pl.DataFrame(
        {
            # a0 sorts first, z9 last: the new asset may change every canonical order.
            "asset_id": [draw(st.sampled_from(["a0", "z9"]))],
            "tso_zone": [TENNET_DE],
            "p_charge_mw": [mw],
            "p_discharge_mw": [mw],
            "e_min_mwh": [0.0],
            "e_max_mwh": [mw * draw(st.sampled_from([0.5, 1.0, 2.0]))],
            "fcr": [draw(st.booleans())],
            "afrr_pos": [draw(st.booleans())],
            "afrr_neg": [draw(st.booleans())],
            "owner_org": [None],
            "eta_charge": [0.95],
            "eta_discharge": [0.95],
        },
        schema=fleet.schema,
    )
    return pl.concat([fleet, extra])


@given(archives(), st.data())
def test_more_capacity_never_lowers_revenue(archive: Archive, data: st.DataObject) -> None:
    """More capacity only enlarges the feasible set: the optimum cannot fall."""
    show(archive)
    fleet = data.draw(more_capacity(archive), label="fleet")
    before = clear(archive)
    after = clear(replace_frames(archive, fleet=fleet))
    note(
        f"before {before.status} {before.objective_eur}, after {after.status} {after.objective_eur}"
    )
    if before.status == "infeasible":
        return
    assert after.status != "infeasible"
    assert after.objective_eur >= before.objective_eur - TOLERANCE_EUR


def greedy_revenue_eur(archive: Archive) -> float:
    """What the greedy fill of the whole demand earns, repaired to what the fleet backs.

    The clearing's answer of last resort (``clearing.solve``), computed here on its own.
    """
    arrays = build_model(archive, prepare_bids(archive.bids, archive.products))
    fleet, greedy = FleetLP(arrays), Greedy.of(arrays)
    t_cols = arrays.products["col"].to_numpy()
    values = greedy.fill(np.floor(arrays.ub[t_cols] + 1e-9))
    totals = (
        arrays.products["inc_kw"].to_numpy() * values[t_cols]
        + arrays.products["alloc_kw"].to_numpy()
    ) / 1000
    backing = fleet.back(totals)
    found = None if not backing.known else refill(arrays, greedy, fleet, values, backing)
    return 0.0 if found is None else float(arrays.c[: arrays.first_w] @ found[: arrays.first_w])


@given(archives())
def test_at_a_tiny_time_limit_the_result_is_feasible_checked_and_not_empty(
    archive: Archive,
) -> None:
    """0.05 s is less than the model takes to build: the answer is the first incumbent, yet
    it passes the checker (capacity to the kW included), its gap and bound are honest, and
    it awards something whenever the greedy fill of the demand does."""
    show(archive)
    result = clear(archive, time_limit_s=0.05)
    note(f"{result.status} {result.objective_eur} EUR, gap {result.mip_gap}, {result.solver}")
    with tempfile.TemporaryDirectory() as out:
        write_results(result, out)
        report = verify(archive, out, optimality=True)
    assert report.ok, format_report(report)
    if result.status == "infeasible":
        assert archive.allocations.height > 0
        return
    if greedy_revenue_eur(archive) > 0.005:
        assert result.n_accepted > 0
        assert result.objective_eur > 0
    if result.status == "optimal":
        assert result.mip_gap == 0
    elif result.mip_gap is not None:
        assert result.bound_eur is not None
        assert result.bound_eur >= float(result.objective_eur) - 0.005
        assert result.mip_gap == pytest.approx(
            (result.bound_eur - float(result.objective_eur)) / float(result.objective_eur),
            abs=1e-6,
        )


@given(archives())
def test_no_asset_exceeds_a_limit_by_even_a_kilowatt(archive: Archive) -> None:
    """Recomputed here in exact decimals from the result frames, not by the checker: per
    asset and MTU, the block power backing puts on it (by direction) and the energy that
    power needs stay within its available power and energy, to the W and Wh."""
    show(archive)
    result = clear(archive)
    if result.status == "infeasible":
        return
    cfg = archive.config
    hours = {"fcr": 2 * exact(cfg.fcr_energy_h), "afrr_pos": exact(cfg.afrr_energy_h)}
    hours["afrr_neg"] = hours["afrr_pos"]
    wholesale_h = {p["product_id"]: exact(p["wholesale_h"]) for p in archive.products.to_dicts()}
    moves = {
        "discharge": ("wholesale", "fcr", "afrr_pos"),
        "charge": ("wholesale", "fcr", "afrr_neg"),
    }
    carried = result.backing.join(
        result.blocks.select("block_id", "product_id", "market", "start", "end"), on="block_id"
    )
    fleet = {a["asset_id"]: a for a in archive.fleet.to_dicts()}
    for mtu in mtu_starts(cfg.delivery_day, cfg.mtu_minutes, cfg.time_zone).tolist():
        at = mtu.replace(tzinfo=UTC)
        live = carried.filter((pl.col("start") <= at) & (pl.col("end") > at))
        for asset_id, rows in live.group_by("asset_id"):
            asset = fleet[str(asset_id[0])]
            share = availability(archive, asset["asset_id"], at, cfg.mtu_minutes)
            power = {kind: Decimal(0) for kind in moves}
            energy = Decimal(0)
            for row in rows.to_dicts():
                kw = Decimal(row["power_kw"])
                for kind, markets in moves.items():
                    if row["market"] in markets:
                        power[kind] += kw
                per_kw = (
                    wholesale_h[row["product_id"]]
                    if row["market"] == "wholesale"
                    else (hours[row["market"]])
                )
                energy += kw * per_kw
            limits = {
                "discharge": exact(asset["p_discharge_mw"]) * 1000 * share,
                "charge": exact(asset["p_charge_mw"]) * 1000 * share,
            }
            for kind, used in power.items():
                assert used <= limits[kind], f"{asset_id} {at} {kind}: {used} kW > {limits[kind]}"
            room = (exact(asset["e_max_mwh"]) - exact(asset["e_min_mwh"])) * 1000 * share
            assert energy <= room, f"{asset_id} {at} energy: {energy} kWh > {room}"


def exact(value: float) -> Decimal:
    """A float of the archive as the decimal it was written as."""
    return Decimal(repr(float(value)))


def availability(archive: Archive, asset_id: str, mtu: datetime, mtu_minutes: int) -> Decimal:
    """The product of the fractions of the availability rows overlapping the MTU."""
    end = mtu + timedelta(minutes=mtu_minutes)
    share = Decimal(1)
    for row in archive.availability.filter(pl.col("asset_id") == asset_id).to_dicts():
        if row["start"] < end and row["end"] > mtu:
            share *= exact(row["available_fraction"])
    return share
