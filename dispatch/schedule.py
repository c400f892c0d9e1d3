"""Schedules of wholesale blocks: the rules of docs/api.md, and the virtual SoC they imply.

A schedule sets the power (kW, positive = discharge/export, negative = charge/import) of
MTUs of one wholesale block. It is accepted whole or not at all: ``apply_schedule`` checks
every point, merges the accepted points into the stored schedule (MTUs not named keep
their value) and checks the state of charge of the result at every MTU edge:

    soc[k+1] = soc[k] + (eta_charge * charge_kw[k] - discharge_kw[k] / eta_discharge) * dt_h

Pure functions of their arguments: no store, no clock, no HTTP.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import polars as pl

from auction.errors import DomainError, Problem
from auction.instants import utc_text
from auction.model import AuctionConfig
from auction.timegrid import mtu_index, mtu_span, on_grid

# SoC is a float (efficiencies); this much below 0 or above the energy is rounding, not a breach.
SOC_EPSILON_KWH = 1e-6
FILE = "schedule"
# flag(row, column, value, rule): report one broken rule.
Flag = Callable[[int | None, str, object, str], None]


@dataclass(frozen=True, slots=True)
class BlockTerms:
    """What a wholesale block allows. Instants are UTC; energies kWh; powers kW."""

    start: datetime
    end: datetime
    mtu_minutes: int
    power_kw: int
    energy_kwh: int
    initial_soc_kwh: float
    final_soc_kwh: float
    final_soc_tolerance_kwh: float
    eta_charge: float = 1.0
    eta_discharge: float = 1.0
    daily_cycle_limit: float | None = None
    gate_closure_s: int = 330
    # kW per MTU that an outage left unbacked (None: the block is whole throughout).
    lost_kw: tuple[int, ...] | None = None

    @property
    def mtu(self) -> timedelta:
        return timedelta(minutes=self.mtu_minutes)

    @property
    def n_mtu(self) -> int:
        return mtu_span(self.start, self.end, self.mtu_minutes)

    def mtu_start(self, k: int) -> datetime:
        return self.start + k * self.mtu

    def available_kw(self, k: int) -> int:
        """The power the block may run at in MTU ``k``: less where an outage took some."""
        return self.power_kw - (self.lost_kw[k] if self.lost_kw else 0)

    def gate_closure(self, time: datetime) -> datetime:
        """When the dispatch gate of the MTU starting at ``time`` closes."""
        return time - timedelta(seconds=self.gate_closure_s)

    def gate_open(self, time: datetime, now: datetime) -> bool:
        """Whether the MTU starting at ``time`` may still change at ``now``: it must start
        more than ``gate_closure_s`` later."""
        return (time - now).total_seconds() > self.gate_closure_s


@dataclass(frozen=True, slots=True)
class Point:
    """One point of a schedule as sent: the MTU starting at ``time`` runs at ``power_kw``."""

    time: datetime
    power_kw: int


@dataclass(frozen=True)
class Profile:
    """A block's schedule and what it does to the virtual state of charge."""

    power_kw: np.ndarray  # per MTU, int64
    soc_kwh: np.ndarray  # at every MTU edge: n_mtu + 1 values, the first the initial SoC
    discharged_kwh: float
    imbalance_kwh: float  # end SoC minus the final SoC target
    summary: str  # the imbalance in a trader's words


def wholesale_terms(
    config: AuctionConfig,
    start: datetime,
    end: datetime,
    power_kw: int,
    energy_kwh: int,
    eta_charge: float = 1.0,
    eta_discharge: float = 1.0,
    daily_cycle_limit: float | None = None,
    lost_kw: tuple[int, ...] | None = None,
) -> BlockTerms:
    """A wholesale block's terms from its auction's conventions and its product's."""
    return BlockTerms(
        start=start,
        end=end,
        mtu_minutes=config.mtu_minutes,
        power_kw=power_kw,
        energy_kwh=energy_kwh,
        initial_soc_kwh=config.initial_soc_fraction * energy_kwh,
        final_soc_kwh=config.final_soc_fraction * energy_kwh,
        final_soc_tolerance_kwh=config.final_soc_tolerance * energy_kwh,
        eta_charge=eta_charge,
        eta_discharge=eta_discharge,
        daily_cycle_limit=daily_cycle_limit,
        gate_closure_s=config.dispatch_gate_closure_s,
        lost_kw=lost_kw,
    )


def terms_by_block(config: AuctionConfig, wholesale: pl.DataFrame) -> dict[str, BlockTerms]:
    """The terms of each wholesale block in ``wholesale`` (block_id, start, end, power_kw,
    energy_kwh and its product's eta_charge, eta_discharge, daily_cycle_limit)."""
    return {
        b["block_id"]: wholesale_terms(
            config,
            b["start"],
            b["end"],
            b["power_kw"],
            b["energy_kwh"],
            b["eta_charge"],
            b["eta_discharge"],
            b["daily_cycle_limit"],
        )
        for b in wholesale.iter_rows(named=True)
    }


def empty_schedule(terms: BlockTerms) -> np.ndarray:
    """A block nobody has dispatched: 0 kW in every MTU."""
    return np.zeros(terms.n_mtu, dtype=np.int64)


def soc_profile(terms: BlockTerms, power_kw: np.ndarray) -> Profile:
    """The SoC at every MTU edge, the energy discharged and the projected imbalance."""
    dt_h = terms.mtu_minutes / 60
    discharge = np.maximum(power_kw, 0).astype(np.float64)
    charge = np.maximum(-power_kw, 0).astype(np.float64)
    step = (terms.eta_charge * charge - discharge / terms.eta_discharge) * dt_h
    soc = terms.initial_soc_kwh + np.concatenate([[0.0], np.cumsum(step)])
    imbalance = float(soc[-1] - terms.final_soc_kwh)
    return Profile(
        power_kw=power_kw,
        soc_kwh=soc,
        discharged_kwh=float(discharge.sum() * dt_h),
        imbalance_kwh=imbalance,
        summary=imbalance_summary(imbalance, terms.final_soc_tolerance_kwh),
    )


def imbalance_summary(imbalance_kwh: float, tolerance_kwh: float) -> str:
    """'projected to end 250 kWh over-charged', or on target within the tolerance."""
    if abs(imbalance_kwh) <= tolerance_kwh:
        return "projected to end on its final SoC target"
    state = "over-charged" if imbalance_kwh > 0 else "under-charged"
    return (
        f"projected to end {abs(imbalance_kwh):,.0f} kWh {state} against its final SoC "
        "target; the difference is settled as imbalance"
    )


def apply_schedule(
    terms: BlockTerms, stored_kw: np.ndarray, points: Sequence[Point], now: datetime
) -> Profile:
    """The block's schedule after ``points``, if every rule holds; else every broken rule.

    Raises
    ------
    DomainError
        One problem per broken rule and point (``row`` = the point's place in the
        request, from 1). Once every point passes, one problem per SoC excursion
        (``soc_excursions``: at the point that set the MTU taking the SoC out, if one
        did) and one for the cycle limit. Nothing is applied then.
    """
    problems: list[Problem] = []

    def flag(row: int | None, column: str, value: object, rule: str) -> None:
        problems.append(Problem(FILE, row, column, value, rule))

    power = stored_kw.copy()
    seen: dict[int, int] = {}
    row_of_mtu: dict[int, int] = {}
    for row, point in enumerate(points, start=1):
        k = _check_time(terms, point.time, now, row, flag)
        limit = terms.power_kw if k is None else terms.available_kw(k)
        if abs(point.power_kw) > limit:
            flag(row, "power", point.power_kw, _power_rule(terms, limit))
            k = None
        if k is None:
            continue
        if k in seen:
            rule = f"time {utc_text(point.time)} is given twice (also point {seen[k]})"
            flag(row, "time", utc_text(point.time), rule)
            continue
        seen[k] = row
        row_of_mtu[k] = row
        power[k] = point.power_kw
    if problems:
        raise DomainError(problems)

    profile = soc_profile(terms, power)
    _check_soc(terms, profile, row_of_mtu, flag)
    if terms.daily_cycle_limit is not None:
        allowed = terms.daily_cycle_limit * terms.energy_kwh
        if profile.discharged_kwh > allowed + SOC_EPSILON_KWH:
            rule = (
                f"the schedule discharges {profile.discharged_kwh:,.1f} kWh, more than the daily "
                f"cycle limit of {terms.daily_cycle_limit:g} x {terms.energy_kwh} kWh = "
                f"{allowed:,.1f} kWh"
            )
            flag(None, "power", None, rule)
    if problems:
        raise DomainError(problems)
    return profile


def _power_rule(terms: BlockTerms, limit: int) -> str:
    rule = f"|power| must not exceed the block's power of {limit} kW"
    if limit < terms.power_kw:
        rule += f" in this MTU ({terms.power_kw - limit} kW of its {terms.power_kw} kW are out)"
    return rule + " (positive discharges, negative charges)"


def conflicts(terms: BlockTerms, power_kw: np.ndarray) -> list[Problem]:
    """Points of an accepted schedule that an outage has since made too large for the block.

    One problem per MTU (``row`` = the MTU's index from 1), so that nothing is broken silently.
    """
    if not terms.lost_kw:
        return []
    limit = terms.power_kw - np.asarray(terms.lost_kw, dtype=np.int64)
    return [
        Problem(FILE, k + 1, "power", int(power_kw[k]), _power_rule(terms, int(limit[k])))
        for k in np.flatnonzero(np.abs(power_kw) > limit).tolist()
    ]


def _check_time(
    terms: BlockTerms, time: datetime, now: datetime, row: int, flag: Flag
) -> int | None:
    """The MTU index of ``time`` if it is an MTU start of the window still open to change.

    Texts are built only for a broken rule: this runs for every point of every request.
    """
    if time.tzinfo is None:
        rule = "time must carry a UTC offset, e.g. 2026-11-29T14:30:00Z"
        flag(row, "time", utc_text(time), rule)
        return None
    if not terms.start <= time < terms.end:
        rule = (
            f"time must lie in the block's window [{utc_text(terms.start)}, {utc_text(terms.end)})"
        )
        flag(row, "time", utc_text(time), rule)
        return None
    if not on_grid(time, terms.start, terms.mtu_minutes):
        rule = f"time must be the start of an MTU: a whole number of {terms.mtu_minutes} minutes "
        rule += f"after {utc_text(terms.start)}"
        flag(row, "time", utc_text(time), rule)
        return None
    if not terms.gate_open(time, now):
        closes = terms.gate_closure(time)
        rule = (
            f"the dispatch gate for the MTU starting {utc_text(time)} closed at "
            f"{utc_text(closes)} ({terms.gate_closure_s} s before it starts)"
        )
        flag(row, "time", utc_text(time), rule)
        return None
    return mtu_index(time, terms.start, terms.mtu_minutes)


@dataclass(frozen=True, slots=True)
class Excursion:
    """A maximal run of consecutive MTU edges at which the SoC lies outside [0, energy] on
    one side: below 0 (``below``) or above the energy (``bound_kwh``, the bound it broke).

    Edges count from 0 (the block's start, the initial SoC) to ``n_mtu`` (its end); the
    MTU ``first - 1`` is the one that takes the SoC out.
    """

    first: int
    last: int
    below: bool
    bound_kwh: int
    worst_kwh: float  # the lowest SoC of a run below 0, the highest of one above
    worst_edge: int


def soc_excursions(terms: BlockTerms, soc_kwh: np.ndarray) -> list[Excursion]:
    """Every excursion of the SoC out of [0, energy] at edges 1..n_mtu, in time order."""
    low = soc_kwh < -SOC_EPSILON_KWH
    high = soc_kwh > terms.energy_kwh + SOC_EPSILON_KWH
    side = np.where(low, -1, np.where(high, 1, 0))
    side[0] = 0  # the initial SoC is the block's, not the schedule's
    out: list[Excursion] = []
    # A run ends where the side changes: below 0 straight to above the energy is two.
    for run in np.split(np.arange(1, side.size), np.flatnonzero(np.diff(side[1:])) + 1):
        edge = int(run[0])
        if side[edge] == 0:
            continue
        below = bool(side[edge] < 0)
        values = soc_kwh[run]
        at = int(run[np.argmin(values)] if below else run[np.argmax(values)])
        bound = 0 if below else terms.energy_kwh
        out.append(Excursion(edge, int(run[-1]), below, bound, float(soc_kwh[at]), at))
    return out


def _check_soc(terms: BlockTerms, profile: Profile, row_of_mtu: dict[int, int], flag: Flag) -> None:
    """One violation per excursion of the SoC out of [0, energy]: it names the MTU that
    takes the SoC out (the point of the request that set it, if one did), the first and
    last edge outside, and the worst SoC there. The edges after the first are the
    excursion's consequence, not new faults, so they are one item, not one each."""
    for x in soc_excursions(terms, profile.soc_kwh):
        k = x.first - 1
        bound = "below 0 kWh" if x.below else f"above the block's energy of {x.bound_kwh} kWh"
        edges = x.last - x.first + 1
        # The MTU comes first: the pages place an item without a row at the first MTU
        # start its rule names.
        rule = (
            f"the MTU starting {utc_text(terms.mtu_start(k))} takes the virtual SoC "
            f"{bound}: it is out at every MTU edge from {utc_text(terms.mtu_start(x.first))} "
            f"to {utc_text(terms.mtu_start(x.last))} ({edges} edge{'s' if edges > 1 else ''}), "
            f"{'lowest' if x.below else 'highest'} {x.worst_kwh:,.1f} kWh at "
            f"{utc_text(terms.mtu_start(x.worst_edge))}"
        )
        flag(row_of_mtu.get(k), "power", int(profile.power_kw[k]), rule)
