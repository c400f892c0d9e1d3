"""Properties of re-backing on small generated cases, and the clearing's checker after it.

Cases: 2-4 assets, 1-3 products of 1-3 blocks over two hours (8 MTUs), a backing that
fits before the outage, 1-2 outage rows. Loads, capacities and the best backing any
assignment could reach are recomputed here MTU by MTU, with loops and scipy's MILP,
sharing no code with dispatch.rebacking. ``check`` and ``Case`` serve the unit tests too.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypedDict

import numpy as np
import polars as pl
from hypothesis import given, note
from hypothesis import strategies as st
from polars.testing import assert_frame_equal
from scipy.optimize import Bounds, LinearConstraint, milp

from auction.book import AVAILABILITY, BACKING_KW, FLEET, MARKET_FACTOR, MARKETS
from auction.model import TENNET_DE, Archive
from auction.timegrid import day_bounds
from clearing import clear, write_results
from clearing.verify import format_report, verify
from dispatch.frames import BACKING_SLICES, BLOCKS
from dispatch.rebacking import Rebacking, clearing_frames, reback
from tests.strategies import NORMAL_DAY, OTHER_ZONE, archives, asset, local, replace_frames

MTU = timedelta(minutes=15)
START = local(NORMAL_DAY, 10)
N_MTU = 8
KIND_MARKETS = {
    "discharge": {"wholesale", "fcr", "afrr_pos"},
    "charge": {"wholesale", "fcr", "afrr_neg"},
    "energy": set(MARKETS),
}
Rows = list[dict[str, Any]]


def at(t: int) -> datetime:
    return START + t * MTU


# --------------------------------------------------------------------------- the checker


def fraction(availability: Rows, asset_id: str, t: int) -> float:
    """Availability of the MTU ``[at(t), at(t + 1))``: every overlapping row multiplies."""
    out = 1.0
    for row in availability:
        if row["asset_id"] == asset_id and row["start"] < at(t + 1) and row["end"] > at(t):
            out *= row["available_fraction"]
    return out


def capacity(fleet: Rows, availability: Rows, t: int) -> dict[tuple[str, str], float]:
    """kW / kWh each (asset, kind) may hold in MTU ``t``."""
    out = {}
    for a in fleet:
        f = fraction(availability, a["asset_id"], t)
        out[(a["asset_id"], "discharge")] = f * a["p_discharge_mw"] * 1000
        out[(a["asset_id"], "charge")] = f * a["p_charge_mw"] * 1000
        out[(a["asset_id"], "energy")] = f * (a["e_max_mwh"] - a["e_min_mwh"]) * 1000
    return out


def may_back(block: dict[str, Any], a: dict[str, Any]) -> bool:
    zone = a["tso_zone"] == block["tso_zone"]
    return zone and (block["market"] == "wholesale" or bool(a[block["market"]]))


def loads(
    blocks: Rows, slices: Rows, t: int
) -> tuple[dict[tuple[str, str], float], dict[str, int]]:
    """Load of every (asset, kind) and kW carried of every block in MTU ``t``."""
    by_id = {b["block_id"]: b for b in blocks}
    load: dict[tuple[str, str], float] = defaultdict(float)
    carried: dict[str, int] = defaultdict(int)
    for row in slices:
        if not row["start"] <= at(t) < row["end"]:
            continue
        block = by_id[row["block_id"]]
        if not block["start"] <= at(t) < block["end"]:
            continue
        carried[row["block_id"]] += row["power_kw"]
        for kind, markets in KIND_MARKETS.items():
            if block["market"] in markets:
                ratio = block["energy_kwh"] / block["power_kw"] if kind == "energy" else 1.0
                load[(row["asset_id"], kind)] += ratio * row["power_kw"]
    return load, carried


def best_carried(fleet: Rows, availability: Rows, blocks: Rows, t: int) -> int:
    """The most kW any integer backing could carry in MTU ``t`` (scipy's MILP)."""
    live = [b for b in blocks if b["start"] <= at(t) < b["end"]]
    pairs = [(i, j) for i, b in enumerate(live) for j, a in enumerate(fleet) if may_back(b, a)]
    if not pairs:
        return 0
    cap = capacity(fleet, availability, t)
    rows, ub = [], []
    for i, b in enumerate(live):
        rows.append([1.0 if p[0] == i else 0.0 for p in pairs])
        ub.append(b["power_kw"])
    for j, a in enumerate(fleet):
        for kind, markets in KIND_MARKETS.items():
            coef = [
                (live[i]["energy_kwh"] / live[i]["power_kw"] if kind == "energy" else 1.0)
                if jj == j and live[i]["market"] in markets
                else 0.0
                for i, jj in pairs
            ]
            rows.append(coef)
            ub.append(cap[(a["asset_id"], kind)] + 1e-9)
    answer = milp(
        -np.ones(len(pairs)),
        constraints=LinearConstraint(np.array(rows), -np.inf, np.array(ub)),
        integrality=np.ones(len(pairs)),
        bounds=Bounds(0, np.inf),
    )
    assert answer.status == 0, answer.message
    carried: int = round(float(-answer.fun))
    return carried


def check(
    fleet: Rows,
    availability: Rows,
    blocks: Rows,
    before: Rows,
    result: Rebacking,
    window: tuple[int, int],
) -> Rows:
    """Assert what every re-backing must give; return the slices after it (as rows).

    Inside the window: no asset exceeds a capacity, and every block's backing plus its
    loss is its power. Outside it, and for blocks not in ``result.slices``, nothing moved.
    """
    after = result.applied_to(pl.DataFrame(before, schema=BACKING_SLICES)).to_dicts()
    changed = result.slices.to_dicts()
    by_id = {b["block_id"]: b for b in blocks}
    for t in range(N_MTU):
        load, carried = loads(blocks, after, t)
        _, carried_before = loads(blocks, before, t)
        inside = window[0] <= t < window[1]
        if inside:
            cap = capacity(fleet, availability, t)
            for key, used in load.items():
                assert used <= cap[key] + 1e-6, f"MTU {t}: {key} holds {used} of {cap[key]}"
        for block_id, block in by_id.items():
            if not block["start"] <= at(t) < block["end"]:
                continue
            hit = [c for c in changed if c["block_id"] == block_id and c["start"] <= at(t)]
            hit = [c for c in hit if at(t) < c["end"]]
            if not hit:
                assert carried[block_id] == carried_before[block_id], (block_id, t)
                continue
            assert inside, f"block {block_id} changed in MTU {t}, outside the window"
            assert len(hit) == 1
            assert carried[block_id] + hit[0]["lost_kw"] == block["power_kw"], (block_id, t)
    for row in result.backing.to_dicts():
        assert row["power_kw"] > 0
        assert may_back(
            by_id[row["block_id"]], next(a for a in fleet if a["asset_id"] == row["asset_id"])
        )
    # A whole block's new pieces carry its energy exactly.
    pieces = result.backing.group_by("block_id", "start").agg(
        pl.col("power_kw").sum(), pl.col("energy_kwh").sum()
    )
    for row in pieces.to_dicts():
        block = by_id[row["block_id"]]
        if row["power_kw"] == block["power_kw"]:
            assert row["energy_kwh"] == block["energy_kwh"]
    return after


# --------------------------------------------------------------------------- cases


class Frames(TypedDict):
    fleet: pl.DataFrame
    availability: pl.DataFrame
    blocks: pl.DataFrame
    backing: pl.DataFrame


@dataclass(frozen=True)
class Case:
    """One generated situation: blocks in line order, backing that fit before the outage."""

    fleet: Rows
    blocks: Rows
    backing: Rows
    availability: Rows
    window: tuple[int, int]

    def frames(self, seed: int | None = None) -> Frames:
        """The frames, rows shuffled by ``seed`` (blocks keep their order per group)."""
        rng = np.random.default_rng(seed)

        def rows(r: Rows) -> Rows:
            return r if seed is None else [r[i] for i in rng.permutation(len(r))]

        # Groups interleave differently; each product and market keeps its line order.
        blocks = _keep_lines(self.blocks, rows(self.blocks))
        return Frames(
            fleet=pl.DataFrame(rows(self.fleet), schema=FLEET),
            availability=pl.DataFrame(rows(self.availability), schema=AVAILABILITY),
            blocks=pl.DataFrame(blocks, schema=BLOCKS),
            backing=pl.DataFrame(rows(self.backing), schema=BACKING_SLICES),
        )

    def run(self, seed: int | None = None) -> Rebacking:
        for name in ("fleet", "availability", "blocks", "backing", "window"):
            note(f"{name}: {getattr(self, name)}")
        return reback(**self.frames(seed), start=at(self.window[0]), end=at(self.window[1]))

    def check(self, result: Rebacking) -> Rows:
        return check(self.fleet, self.availability, self.blocks, self.backing, result, self.window)


def _keep_lines(original: Rows, shuffled: Rows) -> Rows:
    """``shuffled`` with the blocks of each product and market back in their line order."""
    line = defaultdict(list)
    for b in original:
        line[(b["product_id"], b["market"])].append(b)
    taken: dict[tuple[str, str], int] = defaultdict(int)
    out = []
    for b in shuffled:
        key = (b["product_id"], b["market"])
        out.append(line[key][taken[key]])
        taken[key] += 1
    return out


ENERGY_H = {"fcr": 0.5, "afrr_pos": 1.0, "afrr_neg": 1.0}


@st.composite
def cases(draw: st.DrawFn) -> Case:
    fleet = []
    for i in range(draw(st.integers(2, 4))):
        mw = draw(st.sampled_from([1.0, 2.0, 2.5]))
        fleet.append(
            asset(
                f"a{i + 1}",
                mw,
                mw * draw(st.sampled_from([1.0, 2.0])),
                p_charge_mw=draw(st.sampled_from([mw, 0.8 * mw])),
                tso_zone=draw(st.sampled_from([TENNET_DE] * 4 + [OTHER_ZONE])),
                fcr=draw(st.booleans()),
                afrr_pos=draw(st.booleans()),
                afrr_neg=draw(st.booleans()),
            )
        )
    blocks: Rows = []
    for p in range(draw(st.integers(1, 3))):
        t0 = draw(st.integers(0, N_MTU - 1))
        t1 = draw(st.integers(t0 + 1, N_MTU))
        markets = draw(st.lists(st.sampled_from(MARKETS), min_size=1, max_size=2, unique=True))
        wholesale_h = draw(st.sampled_from([1.0, 2.0]))
        for m in markets:
            for n in range(draw(st.integers(1, 3))):
                kw = 100 * draw(st.integers(1, 12))
                blocks.append(
                    {
                        "block_id": f"p{p + 1}-{m}-{n + 1}",
                        "product_id": f"p{p + 1}",
                        "market": m,
                        "power_kw": kw,
                        "energy_kwh": round(kw * ENERGY_H.get(m, wholesale_h)),
                        "start": at(t0),
                        "end": at(t1),
                        "tso_zone": TENNET_DE,
                        "initial_soc_kwh": 0.0,
                    }
                )
    backing = _greedy(fleet, blocks, draw(st.randoms(use_true_random=False)))
    outages = []
    for _ in range(draw(st.integers(1, 2))):
        t0 = draw(st.integers(0, N_MTU - 1))
        t1 = draw(st.integers(t0 + 1, N_MTU))
        outages.append(
            {
                "asset_id": draw(st.sampled_from([a["asset_id"] for a in fleet])),
                "start": at(t0),
                "end": at(t1),
                "available_fraction": draw(st.sampled_from([0.0, 0.5])),
            }
        )
    first = min((o["start"] - START) // MTU for o in outages)
    last = max((o["end"] - START) // MTU for o in outages)
    window = (draw(st.integers(0, first)), draw(st.integers(last, N_MTU)))
    return Case(fleet, blocks, backing, outages, window)


def _greedy(fleet: Rows, blocks: Rows, rng: Any) -> Rows:
    """A backing that fits the whole fleet (no outage), whole-window slices; blocks may
    end up short where the fleet is full."""
    rows: Rows = []
    for block in blocks:
        need = block["power_kw"]
        t0 = (block["start"] - START) // MTU
        t1 = (block["end"] - START) // MTU
        for a in rng.sample(fleet, len(fleet)):
            if need == 0 or not may_back(block, a):
                continue
            room = need
            for t in range(t0, t1):
                load, _ = loads(blocks, rows, t)
                cap = capacity(fleet, [], t)
                for kind, markets in KIND_MARKETS.items():
                    if block["market"] in markets:
                        ratio = block["energy_kwh"] / block["power_kw"] if kind == "energy" else 1
                        free = cap[(a["asset_id"], kind)] - load[(a["asset_id"], kind)]
                        room = min(room, int(np.floor(free / ratio + 1e-9)))
            if room > 0:
                energy = round(block["energy_kwh"] * room / block["power_kw"])
                rows.append(
                    {
                        "block_id": block["block_id"],
                        "asset_id": a["asset_id"],
                        "start": block["start"],
                        "end": block["end"],
                        "power_kw": room,
                        "energy_kwh": energy,
                    }
                )
                need -= room
    return rows


# --------------------------------------------------------------------------- properties


@given(cases())
def test_rebacking_exceeds_nothing_and_loses_only_what_cannot_be_carried(case: Case) -> None:
    """No capacity exceeded, backing + lost = power, and the loss in every MTU is what no
    integer backing of the whole fleet could avoid (0 whenever the blocks fit)."""
    result = case.run()
    after = case.check(result)
    for t in range(*case.window):
        live = [b for b in case.blocks if b["start"] <= at(t) < b["end"]]
        need = sum(b["power_kw"] for b in live)
        best = best_carried(case.fleet, case.availability, case.blocks, t)
        _, carried = loads(case.blocks, after, t)
        lost = need - sum(carried[b["block_id"]] for b in live)
        note(f"MTU {t}: need {need}, best {best}, lost {lost}")
        assert lost == need - best


@given(cases(), st.integers(0, 1000))
def test_row_order_does_not_matter(case: Case, seed: int) -> None:
    """Shuffled fleet, availability and backing, groups interleaved otherwise: same answer."""
    a, b = case.run(), case.run(seed)
    assert_frame_equal(a.slices, b.slices)
    assert_frame_equal(a.backing, b.backing)
    assert a.summary == b.summary


# --------------------------------------------------------------------------- the checker


SPARE = "a0"  # sorts first, and is larger than any generated asset: every move goes there


def with_outage(archive: Archive, asset_id: str) -> Archive:
    """The archive with a large spare asset and a whole-day outage of ``asset_id``."""
    start, end = day_bounds(archive.config.delivery_day)
    spare = asset(SPARE, 20.0, 80.0, fcr=True, afrr_pos=True, afrr_neg=True)
    outage = {"asset_id": asset_id, "start": start, "end": end, "available_fraction": 0.0}
    return replace_frames(
        archive,
        fleet=pl.concat([archive.fleet, pl.DataFrame([spare], schema=FLEET)]),
        availability=pl.concat([archive.availability, pl.DataFrame([outage], schema=AVAILABILITY)]),
    )


def rewritten(archive: Archive, result: Any, after: pl.DataFrame) -> Any:
    """``result`` with backing.csv and allocation.csv from the re-backed slices.

    Each block must have one backing for its whole window (else backing.csv cannot say it).
    """
    windows = result.blocks.select("block_id", "start", "end")
    rows = after.join(windows, on="block_id", suffix="_block")
    assert rows.filter(
        (pl.col("start") != pl.col("start_block")) | (pl.col("end") != pl.col("end_block"))
    ).is_empty(), "a block is backed differently over its window"
    backing = rows.select(BACKING_KW.names()).cast(BACKING_KW)
    factors = archive.products.unpivot(
        on=list(MARKET_FACTOR.values()), index="product_id", variable_name="col", value_name="f"
    ).with_columns(market=pl.col("col").replace_strict({v: k for k, v in MARKET_FACTOR.items()}))
    allocation = (
        backing.join(result.blocks.select("block_id", "product_id", "market"), on="block_id")
        .group_by("product_id", "market", "asset_id")
        .agg(pl.col("power_kw").sum())
        .join(factors.select("product_id", "market", "f"), on=["product_id", "market"])
        .with_columns(kw=(pl.col("power_kw") / pl.col("f")).round(0).cast(pl.Int64))
        .sort("product_id", "market", "asset_id")
        .select("product_id", "market", "asset_id", "kw")
    )
    return dataclasses.replace(result, backing=backing, allocation=allocation)


def used_asset(result: Any) -> str | None:
    """The asset that carries the most kW of blocks (ties: the first asset_id)."""
    per = result.backing.group_by("asset_id").agg(pl.col("power_kw").sum())
    per = per.filter(pl.col("asset_id") != SPARE).sort(
        ["power_kw", "asset_id"], descending=[True, False]
    )
    return None if per.is_empty() else str(per["asset_id"][0])


@given(archives())
def test_rebacked_result_passes_the_checker_when_spare_capacity_exists(archive: Archive) -> None:
    """Clear, lose the busiest asset for the whole day, add a spare asset, re-back the day:
    every block stays whole, and the clearing's independent checker passes on the archive
    with the outage (allocation.csv and backing.csv rewritten from the re-backing)."""
    result = clear(archive)
    failed = used_asset(result) if result.status == "optimal" else None
    if failed is None:
        return
    outaged = with_outage(archive, failed)
    blocks, slices = clearing_frames(outaged, result)
    start, end = day_bounds(archive.config.delivery_day)
    rebacked = reback(outaged.fleet, outaged.availability, blocks, slices, start, end)
    note(rebacked.summary)
    assert rebacked.lost_kw == 0
    assert rebacked.blocks_touched > 0
    assert rebacked.summary.endswith("every block stays whole.")
    after = rebacked.applied_to(slices)
    assert after.filter(pl.col("asset_id") == failed).is_empty()
    # Only the blocks the failed asset carried move, and only onto the spare.
    on_failed = set(slices.filter(pl.col("asset_id") == failed)["block_id"])
    assert set(rebacked.slices["block_id"]) == on_failed
    for block_id, rows in rebacked.backing.group_by("block_id"):
        had = set(slices.filter(pl.col("block_id") == block_id[0])["asset_id"]) - {failed}
        assert set(rows["asset_id"]) <= had | {SPARE}
    assert rebacked.to_assets == 1
    with tempfile.TemporaryDirectory() as out:
        write_results(rewritten(outaged, result, after), out)
        report = verify(outaged, out, optimality=False)
    assert report.ok, format_report(report)
