"""The operator's physical fleet."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

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
from api.http.schemas.dispatch import Setpoint, SetpointList, Shortfall
from api.http.schemas.fields import Instant
from api.http.schemas.lists import ListOf
from auction.errors import BodyProblems, Problem
from auction.store.fleet import fleet_frame

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


@router.get("/setpoints", response_model=SetpointList)
def get_setpoints(
    call: Operator,
    start: Annotated[Instant, Query(alias="from", description="first MTU, with an offset")],
    end: Annotated[Instant, Query(alias="to", description="end (exclusive), with an offset")],
) -> SetpointList:
    """The physical setpoint (kW) and planned SoC of every asset that follows wholesale
    schedules, per MTU of [from, to): the sum of the virtual schedules split onto the fleet
    within each asset's power and SoC, leaving reserve headroom untouched. MTUs where the
    fleet cannot follow are listed with the shortfall."""
    if end <= start:
        raise BodyProblems(
            [Problem("query", None, "to", end.isoformat(), "to must be after from")], ("query",)
        )
    if end - start > MAX_SETPOINT_SPAN:
        rule = f"at most {MAX_SETPOINT_SPAN.days} days at once"
        raise BodyProblems([Problem("query", None, "to", end.isoformat(), rule)], ("query",))
    days = services.dispatch.setpoints(call.store, start, end)
    points, short, summaries = [], [], []
    for day in days:
        inside = (pl.col("start") >= start) & (pl.col("start") < end)
        points += day.setpoints.filter(inside).to_dicts()
        short += day.shortfall.filter(inside).to_dicts()
        summaries.append(day.summary)
    return SetpointList(
        summary=summaries or ["No wholesale block is delivered in that time."],
        setpoints=[Setpoint(**p) for p in points],
        shortfall=[Shortfall(**s) for s in short],
    )
