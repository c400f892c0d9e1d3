"""Properties of the disaggregation on small generated days (1-3 assets, 1-3 blocks).

Every virtual schedule is valid for its block (virtual SoC within [0, energy], stepping
with efficiency 1.0). The limits the setpoints must respect are recomputed here, MTU by
MTU, with loops that share no code with dispatch.disaggregate. With derates and reserve
windows an SoC band may be impossible to keep (the result lists those MTUs as breaches);
where the split is followable, none may occur.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import polars as pl
from hypothesis import given, note, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from auction.book import AVAILABILITY, FLEET
from auction.timegrid import day_bounds, mtu_count
from dispatch.disaggregate import Disaggregation, disaggregate
from dispatch.disaggregation_lp import build_disaggregation_lp, net_power, solve_lp
from dispatch.fleet_day import prepare
from dispatch.frames import BACKING_SLICES, BLOCKS, SCHEDULES
from tests.strategies import FALL_BACK, NORMAL_DAY, SPRING_FORWARD

MTU = timedelta(minutes=15)
DT_H = 0.25
RESERVES = ("fcr", "afrr_pos", "afrr_neg")
Rows = list[dict[str, Any]]


@dataclass(frozen=True)
class Day:
    """Rows of one generated day; windows as MTU indices ``[t0, t1)``."""

    day: date
    fleet: Rows
    availability: Rows
    blocks: Rows
    backing: Rows
    schedules: Rows

    @property
    def bounds(self) -> tuple[datetime, datetime]:
        return day_bounds(self.day)

    def frames(self, order: np.random.Generator | None = None) -> dict[str, pl.DataFrame]:
        def rows(r: Rows) -> Rows:
            return r if order is None else [r[i] for i in order.permutation(len(r))]

        return {
            "fleet": pl.DataFrame(rows(self.fleet), schema=FLEET),
            "availability": pl.DataFrame(rows(self.availability), schema=AVAILABILITY),
            "blocks": pl.DataFrame(rows(self.blocks), schema=BLOCKS),
            "backing": pl.DataFrame(rows(self.backing), schema=BACKING_SLICES),
            "schedules": pl.DataFrame(rows(self.schedules), schema=SCHEDULES),
        }

    def run(self, order: np.random.Generator | None = None) -> Disaggregation:
        for name in ("fleet", "availability", "blocks", "backing", "schedules"):
            note(f"{name}: {getattr(self, name)}")
        return disaggregate(**self.frames(order), start=self.bounds[0], end=self.bounds[1])


def valid_schedule(
    rng: np.random.Generator, power: int, energy: int, soc: float, n: int
) -> list[int]:
    """A random walk of integer kW whose virtual SoC (efficiency 1.0) stays in [0, energy]."""
    out = []
    for _ in range(n):
        kw = int(rng.integers(-power, power + 1))
        kw = min(max(kw, math.ceil(-(energy - soc) / DT_H)), math.floor(soc / DT_H))
        soc -= kw * DT_H
        out.append(kw)
    return out


@st.composite
def days(draw: st.DrawFn, feasible: bool = False) -> Day:
    """A day of blocks on 1-3 assets sized to carry them.

    ``feasible``: the proportional split can be followed (blocks and reserves span the
    day, no loss, no availability rows, efficiencies 1.0, energies in proportion).
    """
    day = draw(st.sampled_from([NORMAL_DAY, SPRING_FORWARD, FALL_BACK]))
    start, _ = day_bounds(day)
    n = mtu_count(day)
    ids = [f"a{i}" for i in range(draw(st.integers(1, 3)))]
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))

    def window() -> tuple[int, int]:
        if feasible or draw(st.booleans()):
            return 0, n
        t0 = draw(st.integers(0, n - 1))
        return t0, draw(st.integers(t0 + 1, n))

    blocks: Rows = []
    backing: Rows = []
    schedules: Rows = []
    for b in range(draw(st.integers(1, 3))):
        power = draw(st.sampled_from([100, 200, 500, 1000]))
        hours = draw(st.sampled_from([1, 2]))
        t0, t1 = window()
        soc = float(draw(st.integers(0, hours * power)))
        block_id = f"b{b}"
        blocks.append(block_row(block_id, "wholesale", power, hours * power, start, t0, t1, soc))
        owners = draw(st.lists(st.sampled_from(ids), min_size=1, max_size=2, unique=True))
        first = power if len(owners) == 1 else draw(st.integers(1, power - 1))
        parts = [first, power - first][: len(owners)]
        if not feasible and draw(st.booleans()):
            parts[-1] -= parts[-1] // 2  # part of the block is lost
        for owner, part in zip(owners, parts, strict=True):
            backing.append(slice_row(block_id, owner, part, hours * part, start, t0, t1))
        for k, kw in enumerate(valid_schedule(rng, power, hours * power, soc, t1 - t0)):
            if kw:
                schedules.append(
                    {"block_id": block_id, "start": start + (t0 + k) * MTU, "power_kw": kw}
                )
    for r in range(draw(st.integers(0, 2))):
        market = draw(st.sampled_from(RESERVES))
        power = draw(st.sampled_from([50, 100, 300]))
        energy = power // 2 if market == "fcr" else power  # 2 x 0.25 h, or 1 h
        t0, t1 = window()
        block_id = f"r{r}"
        blocks.append(block_row(block_id, market, power, energy, start, t0, t1, 0.0))
        owner = draw(st.sampled_from(ids))
        backing.append(slice_row(block_id, owner, power, energy, start, t0, t1))

    fleet = []
    for asset_id in ids:
        mine = [s for s in backing if s["asset_id"] == asset_id]
        power_kw = sum(s["power_kw"] for s in mine) + draw(st.sampled_from([0, 100, 500]))
        energy_kwh = sum(s["energy_kwh"] for s in mine) + draw(st.sampled_from([0, 200, 1000]))
        e_min = draw(st.sampled_from([0.0, 0.5]))
        eta = (1.0, 1.0) if feasible else (draw(etas), draw(etas))
        fleet.append(
            {
                "asset_id": asset_id,
                "tso_zone": "10YDE-EON------1",
                "p_charge_mw": max(power_kw, 100) / 1000,
                "p_discharge_mw": max(power_kw, 100) / 1000,
                "e_min_mwh": e_min,
                "e_max_mwh": e_min + max(energy_kwh, 100) / 1000,
                "fcr": True,
                "afrr_pos": True,
                "afrr_neg": True,
                "owner_org": None,
                "eta_charge": eta[0],
                "eta_discharge": eta[1],
            }
        )
    availability = []
    for _ in range(0 if feasible else draw(st.integers(0, 2))):
        t0 = draw(st.integers(0, n - 1))
        t1 = draw(st.integers(t0 + 1, min(n, t0 + 16)))
        availability.append(
            {
                "asset_id": draw(st.sampled_from(ids)),
                "start": start + t0 * MTU,
                "end": start + t1 * MTU,
                "available_fraction": draw(st.sampled_from([0.0, 0.5])),
            }
        )
    return Day(day, fleet, availability, blocks, backing, schedules)


etas = st.sampled_from([0.9, 0.95, 1.0])


def block_row(
    block_id: str,
    market: str,
    power: int,
    energy: int,
    start: datetime,
    t0: int,
    t1: int,
    soc: float,
) -> dict[str, Any]:
    return {
        "block_id": block_id,
        "product_id": "p",
        "market": market,
        "power_kw": power,
        "energy_kwh": energy,
        "start": start + t0 * MTU,
        "end": start + t1 * MTU,
        "tso_zone": "10YDE-EON------1",
        "initial_soc_kwh": soc,
    }


def slice_row(
    block_id: str, asset_id: str, power: int, energy: int, start: datetime, t0: int, t1: int
) -> dict[str, Any]:
    return {
        "block_id": block_id,
        "asset_id": asset_id,
        "start": start + t0 * MTU,
        "end": start + t1 * MTU,
        "power_kw": power,
        "energy_kwh": energy,
    }


# --------------------------------------------------------------------------- limits, by hand


@dataclass(frozen=True)
class Limit:
    discharge_kw: float
    charge_kw: float
    lo_kwh: float
    hi_kwh: float


def limits(day: Day, asset_id: str, t: int) -> Limit:
    """What docs/clearing.md's capacity rows leave for wholesale on one asset in one MTU."""
    start, _ = day.bounds
    begins, ends = start + t * MTU, start + (t + 1) * MTU
    asset = next(a for a in day.fleet if a["asset_id"] == asset_id)
    a = 1.0
    for row in day.availability:
        if row["asset_id"] == asset_id and row["start"] < ends and row["end"] > begins:
            a *= row["available_fraction"]
    market = {b["block_id"]: b["market"] for b in day.blocks}
    power = dict.fromkeys(RESERVES, 0.0)
    energy = dict.fromkeys(RESERVES, 0.0)
    for s in day.backing:
        m = market[s["block_id"]]
        if (
            m != "wholesale"
            and s["asset_id"] == asset_id
            and s["start"] < ends
            and s["end"] > begins
        ):
            power[m] += s["power_kw"]
            energy[m] += s["energy_kwh"]
    e_min, e_max = asset["e_min_mwh"] * 1000, asset["e_max_mwh"] * 1000
    if a == 0 and not any(power.values()):
        return Limit(0.0, 0.0, e_min, e_max)  # out, and no reserve to hold: no band
    return Limit(
        discharge_kw=max(a * asset["p_discharge_mw"] * 1000 - power["fcr"] - power["afrr_pos"], 0),
        charge_kw=max(a * asset["p_charge_mw"] * 1000 - power["fcr"] - power["afrr_neg"], 0),
        lo_kwh=e_min + energy["fcr"] / 2 + energy["afrr_pos"],
        hi_kwh=e_min + a * (e_max - e_min) - energy["fcr"] / 2 - energy["afrr_neg"],
    )


def virtual_kw(day: Day) -> np.ndarray:
    start, _ = day.bounds
    total = np.zeros(mtu_count(day.day))
    for p in day.schedules:
        total[(p["start"] - start) // MTU] += p["power_kw"]
    return total


def split_kw(day: Day, asset_id: str) -> np.ndarray:
    """The asset's share of every schedule it backs, slice power over block power."""
    start, _ = day.bounds
    block_kw = {b["block_id"]: b["power_kw"] for b in day.blocks}
    out = np.zeros(mtu_count(day.day))
    for s in day.backing:
        if s["asset_id"] != asset_id:
            continue
        for p in day.schedules:
            if p["block_id"] == s["block_id"] and s["start"] <= p["start"] < s["end"]:
                out[(p["start"] - start) // MTU] += (
                    p["power_kw"] * s["power_kw"] / block_kw[s["block_id"]]
                )
    return out


def close(bound: float) -> float:
    """The tolerance of a comparison with ``bound``: 1e-6, relative above 1."""
    return 1e-6 * max(1.0, abs(bound))


# --------------------------------------------------------------------------- properties


@settings(max_examples=40, deadline=None)
@given(days())
def test_setpoints_respect_power_soc_and_the_total(day: Day) -> None:
    result = day.run()
    start, _ = day.bounds
    breaches = {(r["asset_id"], r["start"]) for r in result.soc_breaches.iter_rows(named=True)}
    for row in result.setpoints.iter_rows(named=True):
        t = (row["start"] - start) // MTU
        lim = limits(day, row["asset_id"], t)
        kw, soc = row["power_kw"], row["soc_kwh"]
        assert kw <= lim.discharge_kw + close(lim.discharge_kw), (row, lim)
        assert -kw <= lim.charge_kw + close(lim.charge_kw), (row, lim)
        inside = lim.lo_kwh - close(lim.lo_kwh) <= soc <= lim.hi_kwh + close(lim.hi_kwh)
        # Outside the band exactly where the result lists a breach.
        assert inside == ((row["asset_id"], row["start"]) not in breaches), (row, lim)

    # Setpoints and shortfall add up to the virtual total, in every MTU.
    physical = result.setpoints.group_by("start").agg(pl.col("power_kw").sum())
    short = dict(zip(result.shortfall["start"], result.shortfall["shortfall_kw"], strict=True))
    virtual = virtual_kw(day)
    for when, kw in physical.iter_rows():
        t = (when - start) // MTU
        assert abs(kw + short.get(when, 0.0) - virtual[t]) <= close(virtual[t]), when
    for when, kw in zip(result.shortfall["start"], result.shortfall["virtual_kw"], strict=True):
        assert kw == virtual[(when - start) // MTU]


@settings(max_examples=40, deadline=None)
@given(days(feasible=True))
def test_a_followable_split_is_followed_exactly(day: Day) -> None:
    result = day.run()
    assert result.status == "split followed"
    assert result.shortfall.height == 0, result.shortfall
    assert result.soc_breaches.height == 0, result.soc_breaches
    for asset_id, rows in result.setpoints.group_by("asset_id", maintain_order=True):
        kw = rows["power_kw"].to_numpy()
        np.testing.assert_allclose(kw, split_kw(day, str(asset_id[0])), atol=1e-6)
        # Efficiencies 1.0: the planned SoC moves by exactly the energy delivered.
        soc = rows["soc_kwh"].to_numpy()
        np.testing.assert_allclose(np.diff(soc), -kw[1:] * DT_H, atol=1e-6)
    # The answer came without a solve; the LP has it as its optimum too.
    arrays = prepare(**day.frames(), start=day.bounds[0], end=day.bounds[1])
    status, x = solve_lp(build_disaggregation_lp(arrays))
    assert status == "Optimal"
    np.testing.assert_allclose(net_power(arrays, x), arrays.target, atol=1e-6)


@settings(max_examples=15, deadline=None)
@given(days(), st.integers(0, 1000))
def test_the_order_of_the_rows_does_not_matter(day: Day, seed: int) -> None:
    first = day.run()
    again = day.run(np.random.default_rng(seed))
    assert_frame_equal(again.setpoints, first.setpoints)
    assert_frame_equal(again.shortfall, first.shortfall)
    assert_frame_equal(again.soc_breaches, first.soc_breaches)
