"""Virtual assets of one organisation and the schedules of their wholesale blocks (the guide's
"View Upcoming Capacity" and "Dispatch Your Capacity")."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from api import services
from api.http.deps import Member, Reader
from api.http.paging import EVERYTHING, Paging
from api.http.schemas.dispatch import (
    ScheduleIn,
    SchedulePoint,
    ScheduleVersionPublic,
    ScheduleView,
    VirtualAssetPublic,
)
from api.http.schemas.lists import ListOf
from auction.instants import utc_text
from auction.store.dispatch import schedule_history
from dispatch.schedule import Point

router = APIRouter(prefix="/organisations/{org_id}/virtual-assets", tags=["dispatch"])


def _public(va: dict[str, object]) -> VirtualAssetPublic:
    return VirtualAssetPublic.model_validate(va)


@router.get("", response_model=ListOf[VirtualAssetPublic])
def list_virtual_assets(
    org_id: str,
    call: Reader,
    status: Annotated[
        Literal["upcoming", "active", "past"] | None,
        Query(description="upcoming: not yet started; active: delivering now; past: over"),
    ] = None,
    page: Paging = EVERYTHING,
) -> ListOf[VirtualAssetPublic]:
    """Virtual assets your organisation may dispatch, created when their auction is
    published (D-2, about 17:00), earliest first."""
    vas = services.dispatch.virtual_assets(call.store, org_id, call.now, status=status)
    return page.of(vas, _public)


@router.get("/{virtual_asset_id}", response_model=VirtualAssetPublic)
def get_virtual_asset(org_id: str, virtual_asset_id: str, call: Reader) -> VirtualAssetPublic:
    """One virtual asset with its blocks: market, power, energy, window, initial SoC,
    dispatch gate closure, and any unavailability an outage caused."""
    [va] = services.dispatch.virtual_assets(call.store, org_id, call.now, va_id=virtual_asset_id)
    return _public(va)


def _view(s: services.dispatch.BlockSchedule) -> JSONResponse:
    """The ``ScheduleView`` of a block, as JSON built straight from the arrays: 96-100
    points of our own numbers need no validation on the way out."""
    terms, profile = s.terms, s.profile
    edges = [utc_text(terms.mtu_start(k)) for k in range(terms.n_mtu + 1)]
    content = {
        "block_id": s.block.block_id,
        "virtual_asset_id": s.block.virtual_asset_id,
        "version": 0 if s.version is None else s.version.version,
        "accepted_at": None if s.version is None else utc_text(s.version.at),
        "schedule": [
            {"power": p, "time": t} for t, p in zip(edges, profile.power_kw.tolist(), strict=False)
        ],
        "soc": [
            {"time": t, "soc_kwh": v}
            for t, v in zip(edges, profile.soc_kwh.round(3).tolist(), strict=True)
        ],
        "end_soc_kwh": round(float(profile.soc_kwh[-1]), 3),
        "final_soc_target_kwh": terms.final_soc_kwh,
        "imbalance_kwh": round(profile.imbalance_kwh, 3),
        "imbalance": profile.summary,
        "conflicts": [
            {
                "time": edges[c.row - 1],
                "power": c.value,
                "available_kw": terms.available_kw(c.row - 1),
                "rule": c.rule,
            }
            for c in s.conflicts
            if c.row is not None
        ],
    }
    return JSONResponse(content)


_SCHEDULE_DOC = """Set the power (kW) of the MTUs named; the others keep their value (0 if
never set). Accepted whole or not at all: a refusal (422) lists every point that breaks a
rule (on the MTU grid inside the window, |power| within the block's power, after the
dispatch gate closure, virtual SoC within [0, energy] at every MTU edge, the daily cycle
limit) and leaves the stored schedule as it was. Every accepted version is kept."""


async def _submit(
    org_id: str, virtual_asset_id: str, block_id: str, body: ScheduleIn, call: Member
) -> JSONResponse:
    points = [Point(p.time, p.power) for p in body.schedule]
    # async, and the store's writer does the rest: no thread-pool hop per schedule.
    accepted = await services.dispatch.submit_schedule_soon(
        call.store, org_id, virtual_asset_id, block_id, points, call.user.user_id, call.now
    )
    return _view(accepted)


router.add_api_route(
    "/{virtual_asset_id}/blocks/{block_id}",
    _submit,
    methods=["POST"],
    response_model=ScheduleView,
    summary="Submit a schedule for the wholesale block",
    description=_SCHEDULE_DOC,
    operation_id="post_schedule",
)
router.add_api_route(
    "/{virtual_asset_id}/blocks/{block_id}",
    _submit,
    methods=["PUT"],
    response_model=ScheduleView,
    summary="Submit a schedule for the wholesale block (same as POST)",
    description=_SCHEDULE_DOC,
    operation_id="put_schedule",
)


@router.get("/{virtual_asset_id}/blocks/{block_id}/schedule", response_model=ScheduleView)
def get_schedule(org_id: str, virtual_asset_id: str, block_id: str, call: Reader) -> JSONResponse:
    """The current schedule, the SoC at every MTU edge, the projected end SoC and its
    imbalance against the final SoC target, in kWh and in words."""
    return _view(services.dispatch.read_schedule(call.store, org_id, virtual_asset_id, block_id))


@router.get(
    "/{virtual_asset_id}/blocks/{block_id}/schedule/versions",
    response_model=ListOf[ScheduleVersionPublic],
)
def get_schedule_versions(
    org_id: str, virtual_asset_id: str, block_id: str, call: Reader, page: Paging = EVERYTHING
) -> ListOf[ScheduleVersionPublic]:
    """Every accepted version of the schedule, oldest first, with who sent it and when."""
    current = services.dispatch.read_schedule(call.store, org_id, virtual_asset_id, block_id)
    with call.store.read() as conn:
        history = schedule_history(conn, block_id)
    return page.of(
        history,
        lambda v: ScheduleVersionPublic(
            version=v.version,
            accepted_at=v.at,
            user_id=v.user_id,
            points=v.points,
            schedule=[
                SchedulePoint(time=current.terms.mtu_start(k), power=p)
                for k, p in enumerate(v.power_kw)
            ],
        ),
    )
