"""The operator's physical fleet."""

from __future__ import annotations

from fastapi import APIRouter

from api import operations
from api.deps import Operator
from api.schemas.auctions import AssetPublic, FleetIn, OutageCreated, OutageIn
from auction.store.fleet import fleet_frame

router = APIRouter(prefix="/fleet", tags=["fleet"])


@router.get("/assets", response_model=list[AssetPublic])
def get_assets(call: Operator) -> list[AssetPublic]:
    with call.store.read() as conn:
        fleet = fleet_frame(conn)
    return [AssetPublic(**row) for row in fleet.to_dicts()]


@router.put("/assets", response_model=list[AssetPublic])
def put_assets(body: FleetIn, call: Operator) -> list[AssetPublic]:
    """Replace the whole fleet (the rows of fleet.csv); the checks of the archive apply."""
    rows = [a.model_dump() for a in body.assets]
    fleet = operations.put_fleet(call.store, rows, call.user.user_id, call.now)
    return [AssetPublic(**row) for row in fleet.to_dicts()]


@router.post("/outages", response_model=OutageCreated, status_code=201)
def post_outage(body: OutageIn, call: Operator) -> OutageCreated:
    """Record an outage or a derate of an asset (a row of availability.csv)."""
    outage_id = operations.post_outage(call.store, body.model_dump(), call.user.user_id, call.now)
    return OutageCreated(outage_id=outage_id, **body.model_dump())
