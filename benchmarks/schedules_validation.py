"""The schedule benchmark's in-process part: ``apply_schedule`` on a whole-day block next
to the same rules as a plain per-point Python loop and to parsing the body with
``ScheduleIn``, timed call by call and interleaved."""

from __future__ import annotations

import json
import random
import statistics
import time
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from benchmarks.http_load import percentile

TIME_ZONE = "Europe/Berlin"
VALIDATION_DAY = date(2026, 11, 30)
MTU_MINUTES = 15
SMALL_POINTS = 4
SMALL_KW = 20  # |power| of the small schedules' points
FULL_KW = 35  # |power| of the 96-point schedules' points


def day_start(day: date) -> datetime:
    """Local midnight of ``day`` in Berlin, as a UTC instant."""
    return datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(TIME_ZONE)).astimezone(UTC)


def whole_day_terms(day: date) -> Any:
    """The terms of a 1 MW / 2 MWh whole-day wholesale block as a clearing makes them."""
    from dispatch.schedule import BlockTerms

    start = day_start(day)
    return BlockTerms(
        start=start,
        end=day_start(day + timedelta(days=1)),
        mtu_minutes=MTU_MINUTES,
        power_kw=1000,
        energy_kwh=2000,
        initial_soc_kwh=1000.0,
        final_soc_kwh=1000.0,
        final_soc_tolerance_kwh=20.0,
        eta_charge=0.95,
        eta_discharge=0.95,
        daily_cycle_limit=1.0,
    )


def check_any_mix(terms: Any, max_kw: int) -> None:
    """Raise unless every schedule with |power| <= ``max_kw`` at every MTU keeps the block's
    SoC inside [0, energy] and its daily cycle limit, whatever the order of the values."""
    dt_h = terms.mtu_minutes / 60
    worst_down = terms.n_mtu * max_kw * dt_h / terms.eta_discharge
    worst_up = terms.n_mtu * max_kw * dt_h * terms.eta_charge
    if worst_down >= terms.initial_soc_kwh or worst_up >= terms.energy_kwh - terms.initial_soc_kwh:
        raise ValueError(f"{max_kw} kW at every MTU could leave the block's SoC window")
    cycles = terms.daily_cycle_limit
    if cycles is not None and terms.n_mtu * max_kw * dt_h > cycles * terms.energy_kwh:
        raise ValueError(f"{max_kw} kW at every MTU could break the daily cycle limit")


def valid_powers(terms: Any, rng: random.Random, max_kw: int) -> list[int]:
    """A random power for every MTU, valid by construction (``check_any_mix``)."""
    check_any_mix(terms, max_kw)
    return [rng.randint(-max_kw, max_kw) for _ in range(terms.n_mtu)]


def plain_schedule(
    terms: Any, stored: Sequence[int], points: Sequence[Any], now: datetime
) -> tuple[list[int], list[float]]:
    """The baseline: apply_schedule's rules, point by point and MTU by MTU, without numpy.

    Returns the power per MTU and the SoC at every MTU edge; raises ValueError listing the
    broken rules (their wording is not the point here: only accepted schedules are timed).
    """
    problems: list[str] = []
    power = list(stored)
    seen: set[int] = set()
    mtu = timedelta(minutes=terms.mtu_minutes)
    gate = timedelta(seconds=terms.gate_closure_s)
    for row, point in enumerate(points, start=1):
        t = point.time
        k: int | None = None
        if t.tzinfo is None:
            problems.append(f"{row}: no UTC offset")
        elif not terms.start <= t < terms.end:
            problems.append(f"{row}: outside the window")
        elif (t - terms.start) % mtu:
            problems.append(f"{row}: not an MTU start")
        elif now >= t - gate:
            problems.append(f"{row}: dispatch gate closed")
        else:
            k = (t - terms.start) // mtu
        limit = terms.power_kw if k is None else terms.available_kw(k)
        if abs(point.power_kw) > limit:
            problems.append(f"{row}: |power| above {limit} kW")
            continue
        if k is None:
            continue
        if k in seen:
            problems.append(f"{row}: MTU given twice")
            continue
        seen.add(k)
        power[k] = point.power_kw
    if problems:
        raise ValueError(problems)
    dt_h = terms.mtu_minutes / 60
    eta_c, eta_d, energy = terms.eta_charge, terms.eta_discharge, terms.energy_kwh
    eps = 1e-6
    cum, discharged = 0.0, 0.0
    soc = [terms.initial_soc_kwh]
    was_low = was_high = False
    for k, kw in enumerate(power):
        if kw > 0:
            cum += -(kw / eta_d) * dt_h
            discharged += kw
        else:
            cum += eta_c * -kw * dt_h
        s = terms.initial_soc_kwh + cum
        soc.append(s)
        low, high = s < -eps, s > energy + eps
        if (low and not was_low) or (high and not was_high):
            problems.append(f"MTU {k}: SoC {s:,.1f} kWh outside [0, {energy}]")
        was_low, was_high = low, high
    cycles = terms.daily_cycle_limit
    if cycles is not None and discharged * dt_h > cycles * energy + eps:
        problems.append("daily cycle limit")
    if problems:
        raise ValueError(problems)
    return power, soc


def json_body(points: Sequence[tuple[datetime, int]]) -> bytes:
    schedule = [{"power": kw, "time": t.isoformat()} for t, kw in points]
    return json.dumps({"schedule": schedule}, separators=(",", ":")).encode()


def time_calls(
    cases: dict[str, Callable[[], object]], repeats: int, rounds: int = 10
) -> dict[str, list[float]]:
    """Seconds per call of each case: ``repeats`` calls each, in ``rounds`` interleaved
    slices so that a burst of load elsewhere hits every case alike; after a warm-up."""
    for fn in cases.values():
        for _ in range(max(10, repeats // 20)):
            fn()
    times: dict[str, list[float]] = {name: [] for name in cases}
    per_round = max(1, repeats // rounds)
    clock = time.perf_counter
    for _ in range(rounds):
        for name, fn in cases.items():
            out = times[name]
            for _ in range(per_round):
                t0 = clock()
                fn()
                out.append(clock() - t0)
    return times


def validation(repeats: int, rng: random.Random) -> list[dict[str, Any]]:
    """apply_schedule (96 and 4 points) next to the plain loop and the pydantic parse."""
    import numpy as np

    from api.http.schemas.dispatch import ScheduleIn
    from dispatch.schedule import Point, apply_schedule

    # A fixed day without a clock change (96 MTUs), seen from two days before: a pure
    # function needs no wall clock, and every MTU is far from its dispatch gate closure.
    terms = whole_day_terms(VALIDATION_DAY)
    assert terms.n_mtu == 96
    now = terms.start - timedelta(days=2)
    stored = np.zeros(terms.n_mtu, dtype=np.int64)
    stored_list = stored.tolist()
    full = [Point(terms.mtu_start(k), kw) for k, kw in enumerate(valid_powers(terms, rng, FULL_KW))]
    small_ks = sorted(rng.sample(range(terms.n_mtu), SMALL_POINTS))
    small = [Point(terms.mtu_start(k), rng.randint(-SMALL_KW, SMALL_KW)) for k in small_ks]
    # The two ways agree on what they accept, to the last MTU.
    for points in (full, small):
        profile = apply_schedule(terms, stored, points, now)
        power, soc = plain_schedule(terms, stored_list, points, now)
        assert profile.power_kw.tolist() == power
        assert np.allclose(profile.soc_kwh, soc, rtol=0, atol=1e-9)
    bodies = {
        n: json_body([(p.time, p.power_kw) for p in pts]) for n, pts in ((96, full), (4, small))
    }
    cases: dict[str, Callable[[], object]] = {
        "apply_schedule, 96 points": lambda: apply_schedule(terms, stored, full, now),
        "plain Python loop, 96 points": lambda: plain_schedule(terms, stored_list, full, now),
        "ScheduleIn parse, 96 points": lambda: ScheduleIn.model_validate_json(bodies[96]),
        "apply_schedule, 4 points": lambda: apply_schedule(terms, stored, small, now),
        "plain Python loop, 4 points": lambda: plain_schedule(terms, stored_list, small, now),
        "ScheduleIn parse, 4 points": lambda: ScheduleIn.model_validate_json(bodies[4]),
    }
    times = time_calls(cases, repeats)
    ours = {96: "apply_schedule, 96 points", SMALL_POINTS: "apply_schedule, 4 points"}
    rows: list[dict[str, Any]] = []
    for name, values in times.items():
        values.sort()
        rows.append(
            {
                "case": name,
                "points": 96 if "96" in name else SMALL_POINTS,
                "calls": len(values),
                "p50_us": statistics.median(values) * 1e6,
                "p99_us": percentile(values, 0.99) * 1e6,
                "min_us": values[0] * 1e6,
            }
        )
    by = {r["case"]: r for r in rows}
    for r in rows:
        r["apply_schedule_over_this"] = by[ours[r["points"]]]["p50_us"] / r["p50_us"]
    return rows
