"""Schedule rules of docs/api.md for wholesale blocks, one at a time and together."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from auction.errors import DomainError
from auction.instants import utc_text
from auction.timegrid import day_bounds
from dispatch.schedule import (
    BlockTerms,
    Point,
    apply_schedule,
    conflicts,
    empty_schedule,
    soc_profile,
)
from tests.strategies import FALL_BACK, NORMAL_DAY, SPRING_FORWARD, local

START = local(NORMAL_DAY, 10)
BEFORE = START - timedelta(days=1)  # long before any gate closure


def terms(**changes: object) -> BlockTerms:
    """10:00-14:00 local, 1 MW / 2 MWh, starting half full, aiming at half full."""
    values: dict[str, object] = {
        "start": START,
        "end": START + timedelta(hours=4),
        "mtu_minutes": 15,
        "power_kw": 1000,
        "energy_kwh": 2000,
        "initial_soc_kwh": 1000.0,
        "final_soc_kwh": 1000.0,
        "final_soc_tolerance_kwh": 20.0,
    }
    return BlockTerms(**(values | changes))  # type: ignore[arg-type]


def at(k: int, block: BlockTerms | None = None) -> datetime:
    return (block or terms()).mtu_start(k)


def problems(block: BlockTerms, points: list[Point], now: datetime = BEFORE) -> set[tuple]:
    with pytest.raises(DomainError) as caught:
        apply_schedule(block, empty_schedule(block), points, now)
    return {(p.row, p.column) for p in caught.value.problems}


def test_a_valid_schedule_moves_the_soc_and_reports_the_imbalance() -> None:
    block = terms()
    profile = apply_schedule(block, empty_schedule(block), [Point(at(0), 1000)], BEFORE)
    assert profile.soc_kwh[1] == 750.0  # 1 MW for 15 minutes, discharging
    assert profile.imbalance_kwh == -250.0
    assert profile.summary.startswith("projected to end 250 kWh under-charged")
    charged = apply_schedule(block, empty_schedule(block), [Point(at(0), -400)], BEFORE)
    assert charged.summary.startswith("projected to end 100 kWh over-charged")


@pytest.mark.parametrize(
    ("point", "column"),
    [
        (Point(START + timedelta(minutes=5), 100), "time"),  # off the MTU grid
        (Point(START - timedelta(minutes=15), 100), "time"),  # before the window
        (Point(START + timedelta(hours=4), 100), "time"),  # the window's end is outside
        (Point(START, 1001), "power"),  # more than the block's power
        (Point(START, -1001), "power"),
        (Point(START.replace(tzinfo=None), 100), "time"),  # no offset
    ],
)
def test_each_rule_alone(point: Point, column: str) -> None:
    assert problems(terms(), [point]) == {(1, column)}


def test_the_gate_closes_330_s_before_each_mtu() -> None:
    block = terms()
    closes = at(4) - timedelta(seconds=330)
    apply_schedule(block, empty_schedule(block), [Point(at(4), 100)], closes - timedelta(seconds=1))
    assert problems(block, [Point(at(4), 100)], now=closes) == {(1, "time")}
    assert problems(block, [Point(at(3), 100), Point(at(5), 100)], now=closes) == {(1, "time")}


def test_several_rules_at_once_are_all_reported() -> None:
    block = terms()
    points = [Point(at(0), 5000), Point(at(1) + timedelta(minutes=1), 0), Point(at(2), 10)]
    points.append(Point(at(2), 20))
    assert problems(block, points) == {(1, "power"), (2, "time"), (4, "time")}


def test_soc_may_touch_0_and_full_but_not_pass_them() -> None:
    block = terms()
    to_empty = [Point(at(k), 1000) for k in range(4)]  # 1,000 kWh out: exactly empty
    profile = apply_schedule(block, empty_schedule(block), to_empty, BEFORE)
    assert profile.soc_kwh.min() == 0.0
    too_far = [*to_empty, Point(at(4), 1)]
    assert problems(block, too_far) == {(5, "power")}
    to_full = [Point(at(k), -1000) for k in range(4)]
    assert apply_schedule(block, empty_schedule(block), to_full, BEFORE).soc_kwh.max() == 2000.0
    assert problems(block, [*to_full, Point(at(4), -1)]) == {(5, "power")}


def test_efficiencies_step_the_soc_one_way_each() -> None:
    block = terms(eta_charge=0.9, eta_discharge=0.8)
    profile = apply_schedule(
        block, empty_schedule(block), [Point(at(0), -400), Point(at(1), 400)], BEFORE
    )
    assert profile.soc_kwh[1] == pytest.approx(1000 + 0.9 * 100)
    assert profile.soc_kwh[2] == pytest.approx(1090 - 100 / 0.8)


def test_a_partial_update_keeps_the_other_mtus_and_a_refusal_keeps_everything() -> None:
    block = terms()
    first = apply_schedule(block, empty_schedule(block), [Point(at(0), 200)], BEFORE)
    second = apply_schedule(block, first.power_kw, [Point(at(1), 300)], BEFORE)
    assert second.power_kw[:3].tolist() == [200, 300, 0]
    before = second.power_kw.copy()
    with pytest.raises(DomainError):
        apply_schedule(block, second.power_kw, [Point(at(2), 100), Point(at(3), 9999)], BEFORE)
    assert np.array_equal(second.power_kw, before)


def test_the_point_that_takes_the_soc_past_empty_is_named_once() -> None:
    block = terms()
    stored = apply_schedule(
        block, empty_schedule(block), [Point(at(k), 900) for k in range(4)], BEFORE
    )
    # 900 kWh out already; 500 kW more for 15 minutes would pass empty.
    with pytest.raises(DomainError) as caught:
        apply_schedule(block, stored.power_kw, [Point(at(4), 500)], BEFORE)
    [problem] = caught.value.problems
    assert (problem.row, problem.column) == (1, "power")
    assert "below 0" in problem.rule


def test_a_stored_mtu_that_takes_the_soc_out_is_named_first_in_the_rule() -> None:
    """The request's point is not to blame row-wise: the item has no row, and its rule
    names the stored MTU first (the pages place it by that time), then the run."""
    block = terms()
    stored = apply_schedule(
        block, empty_schedule(block), [Point(at(k), 1000) for k in range(1, 5)], BEFORE
    )
    assert stored.soc_kwh[5] == 0.0  # empty, not below
    with pytest.raises(DomainError) as caught:
        apply_schedule(block, stored.power_kw, [Point(at(0), 100)], BEFORE)
    [problem] = caught.value.problems
    assert (problem.row, problem.column, problem.value) == (None, "power", 1000)
    assert problem.rule == (
        f"the MTU starting {utc_text(at(4))} takes the virtual SoC below 0 kWh: it is out "
        f"at every MTU edge from {utc_text(at(5))} to {utc_text(at(16))} (12 edges), "
        f"lowest -25.0 kWh at {utc_text(at(5))}"
    )


def test_the_daily_cycle_limit() -> None:
    block = terms(daily_cycle_limit=0.5, initial_soc_kwh=2000.0)  # 1,000 kWh may leave
    ok = [Point(at(k), 1000) for k in range(4)]
    apply_schedule(block, empty_schedule(block), ok, BEFORE)
    assert problems(block, [*ok, Point(at(4), 4)]) == {(None, "power")}


@pytest.mark.parametrize(
    ("day", "mtus"), [(SPRING_FORWARD, 92), (NORMAL_DAY, 96), (FALL_BACK, 100)]
)
def test_a_whole_day_block_has_the_day_s_mtus(day: object, mtus: int) -> None:
    start, end = day_bounds(day)  # type: ignore[arg-type]
    block = terms(start=start, end=end)
    assert block.n_mtu == mtus
    last = block.mtu_start(mtus - 1)
    the_day_before = start - timedelta(days=1)
    profile = apply_schedule(block, empty_schedule(block), [Point(last, -100)], the_day_before)
    assert profile.soc_kwh.size == mtus + 1
    assert problems(block, [Point(end, 1)], now=the_day_before) == {(1, "time")}


@given(st.lists(st.integers(-1000, 1000), min_size=16, max_size=16))
def test_accepted_schedules_keep_the_soc_in_its_window(powers: list[int]) -> None:
    block = terms(eta_charge=0.95, eta_discharge=0.9)
    points = [Point(at(k), p) for k, p in enumerate(powers)]
    try:
        profile = apply_schedule(block, empty_schedule(block), points, BEFORE)
    except DomainError:
        return
    # An independent walk of the SoC, MTU by MTU.
    soc = block.initial_soc_kwh
    for p in powers:
        soc += (0.95 * max(-p, 0) - max(p, 0) / 0.9) * 0.25
        assert -1e-6 <= soc <= block.energy_kwh + 1e-6
    assert profile.soc_kwh[-1] == pytest.approx(soc)
    assert soc_profile(block, profile.power_kw).imbalance_kwh == pytest.approx(soc - 1000.0)


def test_timestamps_in_any_offset_name_the_same_mtu() -> None:
    block = terms()
    utc = apply_schedule(block, empty_schedule(block), [Point(at(2).astimezone(UTC), 100)], BEFORE)
    assert utc.power_kw[2] == 100


def test_an_outage_lowers_the_power_limit_of_its_mtus_and_reports_old_points() -> None:
    lost = (0, 600) + (0,) * 14
    block = terms(lost_kw=lost)
    assert problems(block, [Point(at(1), 500)]) == {(1, "power")}
    profile = apply_schedule(block, empty_schedule(block), [Point(at(1), 400)], BEFORE)
    assert profile.power_kw[1] == 400
    # A schedule accepted before the outage: the point that no longer fits is reported.
    accepted = apply_schedule(terms(), empty_schedule(terms()), [Point(at(1), 900)], BEFORE)
    [conflict] = conflicts(block, accepted.power_kw)
    assert (conflict.row, conflict.value) == (2, 900)
    assert "400 kW" in conflict.rule
    assert conflicts(terms(), accepted.power_kw) == []


def _edge(block: BlockTerms, text: str) -> int:
    return (datetime.fromisoformat(text) - block.start) // block.mtu


POWERS = st.lists(
    st.one_of(st.sampled_from([-1000, 0, 1000]), st.integers(-1000, 1000)),
    min_size=16,
    max_size=16,
)


@given(POWERS, st.sampled_from([0.0, 1000.0, 2000.0]))
def test_a_refusal_names_every_soc_excursion_whole(powers: list[int], initial: float) -> None:
    """One item per maximal run of edges outside [0, energy] on one side, naming its first
    and last edge and its worst SoC; together they cover every breached edge, each once."""
    block = terms(eta_charge=0.95, eta_discharge=0.9, initial_soc_kwh=initial)
    # An independent walk of the SoC, edge by edge: which side of [0, energy] each is on.
    soc, sides = initial, {}
    socs = {0: initial}
    for edge, p in enumerate(powers, start=1):
        soc += (0.95 * max(-p, 0) - max(p, 0) / 0.9) * 0.25
        socs[edge] = soc
        if soc < -1e-6 or soc > block.energy_kwh + 1e-6:
            sides[edge] = soc < 0
    points = [Point(at(k), p) for k, p in enumerate(powers)]
    if not sides:
        apply_schedule(block, empty_schedule(block), points, BEFORE)
        return
    with pytest.raises(DomainError) as caught:
        apply_schedule(block, empty_schedule(block), points, BEFORE)
    covered: list[int] = []
    for problem in caught.value.problems:
        found = re.search(r"from (\S+) to (\S+) \(", problem.rule)
        assert found, problem.rule
        first, last = _edge(block, found.group(1)), _edge(block, found.group(2))
        run = list(range(first, last + 1))
        below = sides[first]
        assert all(sides.get(e) is below for e in run), problem.rule
        # Maximal: the edges either side are not out on the same side.
        assert sides.get(first - 1) is not below
        assert sides.get(last + 1) is not below
        worst = min(socs[e] for e in run) if below else max(socs[e] for e in run)
        assert f"{'lowest' if below else 'highest'} {worst:,.1f} kWh" in problem.rule
        assert (problem.row, problem.column) == (first, "power")  # the point that takes it out
        covered += run
    assert sorted(covered) == sorted(sides)  # every breached edge, each once
