"""Operators provision organisations and invite their users."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter

from api import services
from api.http.deps import Operator
from api.http.paging import EVERYTHING, Paging
from api.http.schemas.accounts import (
    InviteCreate,
    InviteCreated,
    OrganisationCreate,
    OrganisationPublic,
)
from auction.store.accounts import list_orgs

router = APIRouter(prefix="/admin", tags=["admin"])


@router.post("/organisations", response_model=OrganisationPublic, status_code=201)
def post_organisation(body: OrganisationCreate, call: Operator) -> OrganisationPublic:
    """Create an organisation: its name, its balancing group's EIC and its TSO zone."""
    org = services.accounts.new_org(
        call.store, call.user.user_id, body.name, body.eic, body.tso_zone, call.now
    )
    return OrganisationPublic(org_id=org.org_id, name=org.name, eic=org.eic, tso_zone=org.tso_zone)


@router.get("/organisations", response_model=list[OrganisationPublic])
def get_organisations(call: Operator, page: Paging = EVERYTHING) -> list[OrganisationPublic]:
    """Every organisation, by name (then id)."""
    with call.store.read() as conn:
        orgs = page.take(list_orgs(conn))
    return [
        OrganisationPublic(org_id=o.org_id, name=o.name, eic=o.eic, tso_zone=o.tso_zone)
        for o in orgs
    ]


@router.post("/invites", response_model=InviteCreated, status_code=201)
def post_invite(body: InviteCreate, call: Operator) -> InviteCreated:
    """Invite a user to an organisation; the token is shown once."""
    valid_for = timedelta(hours=call.settings.invite_hours)
    token = services.accounts.invite(
        call.store, call.user.user_id, body.email, body.org_id, body.role, call.now, valid_for
    )
    return InviteCreated(
        email=body.email,
        org_id=body.org_id,
        role=body.role,
        token=token,
        expires_at=call.now + valid_for,
    )
