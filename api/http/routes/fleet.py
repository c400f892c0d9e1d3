"""The operator's physical fleet."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

import polars as pl
from fastapi import APIRouter, Query

from api import services
from api.http.deps import Operator
from api.http.limits import FLEET_BYTES, body_limit
from api.http.paging import EVERYTHING, Paging, whole
from api.http.schemas.auctions import (
    AssetPublic,
    BlockUnavailable,
    FleetIn,
    OutageCreated,
    OutageIn,
    ReserveCut,
    ScheduleBroken,
)
from api.http.schemas.dispatch import (
    BandBreach,
    RebalancingPlan,
    Setpoint,
    SetpointList,
    Shortfall,
    Trade,
)
from api.http.schemas.fields import Instant
from api.http.schemas.lists import ListOf
from auction.errors import BodyProblems, Problem
from auction.store.fleet import fleet_frame
from dispatch.disaggregate import Disaggregation

router = APIRouter(prefix="/fleet", tags=["fleet"])
MAX_SETPOINT_SPAN = timedelta(days=7)


@router.get("/assets", response_model=ListOf[AssetPublic])
def get_assets(call: Operator, page: Paging = EVERYTHING) -> ListOf[AssetPublic]:
    """The physical batteries, by asset id."""
    with call.store.read() as conn:
        fleet = fleet_frame(conn)
    return page.of(fleet.to_dicts(), lambda row: AssetPublic(**row))


@router.put("/assets", response_model=ListOf[AssetPublic], openapi_extra=body_limit(FLEET_BYTES))
def put_assets(body: FleetIn, call: Operator) -> ListOf[AssetPublic]:
    """Replace the whole fleet (the rows of fleet.csv); the checks of the archive apply.
    Answers the new fleet, whole."""
    rows = [a.model_dump() for a in body.assets]
    fleet = services.auctions.put_fleet(call.store, rows, call.user.user_id, call.now)
    return whole([AssetPublic(**row) for row in fleet.to_dicts()])


@router.post("/outages", response_model=OutageCreated, status_code=201)
def post_outage(body: OutageIn, call: Operator) -> OutageCreated:
    """Record an outage or a derate of an asset (a row of availability.csv) and re-back
    every block it touches: blocks move to other assets where the fleet can carry them;
    only what it cannot is marked unavailable, with the kW lost, on the owners' virtual
    assets. Accepted schedules that no longer fit are listed per point."""
    outcome = services.outages.record_outage(
        call.store, body.model_dump(), call.user.user_id, call.now
    )
    return OutageCreated(
        outage_id=outcome.outage_id,
        **body.model_dump(),
        rebacking=outcome.summary,
        blocks_touched=outcome.blocks_touched,
        moved_kw=outcome.moved_kw,
        lost_kw=outcome.lost_kw,
        unavailable=[BlockUnavailable(**r) for r in outcome.unavailable.to_dicts()],
        schedule_conflicts=[
            ScheduleBroken(
                virtual_asset_id=va_id,
                block_id=block_id,
                time=time,
                power=int(problem.value),  # type: ignore[call-overload]
                rule=problem.rule,
            )
            for va_id, block_id, time, problem in outcome.conflicts
        ],
        reserve_cut=[ReserveCut.model_validate(c) for c in outcome.reserve_cut],
    )


Rebalance = Annotated[
    bool,
    Query(
        description="include the operator's rebalancing plan (its own trades that keep "
        "every asset inside its reserve band); false: the customers' schedules alone"
    ),
]


@router.get("/setpoints", response_model=SetpointList)
def get_setpoints(
    call: Operator,
    start: Annotated[Instant, Query(alias="from", description="first MTU, with an offset")],
    end: Annotated[Instant, Query(alias="to", description="end (exclusive), with an offset")],
    rebalance: Rebalance = True,
) -> SetpointList:
    """The physical setpoint (kW) and planned SoC of every asset that follows wholesale
    schedules, per MTU of [from, to): the sum of the virtual schedules split onto the fleet
    within each asset's power and SoC, leaving reserve headroom untouched, plus the
    operator's rebalancing trades. MTUs where the fleet cannot follow are listed with the
    shortfall (only without the plan: the plan buys what the fleet cannot deliver)."""
    days = _days(call, start, end, rebalance)
    return SetpointList(
        summary=_summaries(days),
        setpoints=[Setpoint(**p) for p in _inside(days, "setpoints", start, end)],
        shortfall=[Shortfall(**s) for s in _inside(days, "shortfall", start, end)],
        trades=[Trade(**t) for t in _inside(days, "trades", start, end)],
        breaches=[BandBreach(**b) for b in _inside(days, "soc_breaches", start, end)],
    )


@router.get("/rebalancing", response_model=RebalancingPlan)
def get_rebalancing(
    call: Operator,
    start: Annotated[Instant, Query(alias="from", description="first MTU, with an offset")],
    end: Annotated[Instant, Query(alias="to", description="end (exclusive), with an offset")],
) -> RebalancingPlan:
    """The operator's rebalancing plan for [from, to): its own wholesale trades per MTU
    (buy to charge, sell to discharge, on its own balancing group) that keep every asset's
    SoC inside the band its reserve blocks need, given the customers' current schedules
    and the outages; computed afresh on every call. The MTUs where an asset still leaves
    its band are listed with the reason (an outage, reserves larger than a derated
    battery, a band that moves faster than the power)."""
    days = _days(call, start, end, rebalance=True)
    return RebalancingPlan(
        summary=_summaries(days),
        trades=[Trade(**t) for t in _inside(days, "trades", start, end)],
        breaches=[BandBreach(**b) for b in _inside(days, "soc_breaches", start, end)],
    )


def _days(call: Operator, start: datetime, end: datetime, rebalance: bool) -> list[Disaggregation]:
    if end <= start:
        raise BodyProblems(
            [Problem("query", None, "to", end.isoformat(), "to must be after from")], ("query",)
        )
    if end - start > MAX_SETPOINT_SPAN:
        rule = f"at most {MAX_SETPOINT_SPAN.days} days at once"
        raise BodyProblems([Problem("query", None, "to", end.isoformat(), rule)], ("query",))
    return services.dispatch.setpoints(call.store, start, end, rebalance)


def _summaries(days: list[Disaggregation]) -> list[str]:
    return [d.summary for d in days] or ["No wholesale block is delivered in that time."]


def _inside(
    days: list[Disaggregation], frame: str, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """The rows of each day's ``frame`` (setpoints, shortfall, ...) in MTUs of [start, end)."""
    inside = (pl.col("start") >= start) & (pl.col("start") < end)
    return [row for d in days for row in getattr(d, frame).filter(inside).to_dicts()]
