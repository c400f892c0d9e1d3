"""Operators provision organisations, invite their users, revoke invites, and switch
users off and on."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request, Response

from api import services
from api.http.deps import Operator
from api.http.paging import EVERYTHING, Paging
from api.http.schemas.accounts import (
    InviteCreate,
    InviteCreated,
    InviteDelivery,
    InvitePublic,
    OrganisationCreate,
    OrganisationPublic,
    UserPublic,
)
from api.http.schemas.lists import ListOf
from api.http.settings import Settings
from auction.store.accounts import User, get_org, list_invites, list_orgs, org_users

router = APIRouter(prefix="/admin", tags=["admin"])


@router.post("/organisations", response_model=OrganisationPublic, status_code=201)
def post_organisation(body: OrganisationCreate, call: Operator) -> OrganisationPublic:
    """Create an organisation: its name, its balancing group's EIC and its TSO zone."""
    org = services.accounts.new_org(
        call.store, call.user.user_id, body.name, body.eic, body.tso_zone, call.now
    )
    return OrganisationPublic(org_id=org.org_id, name=org.name, eic=org.eic, tso_zone=org.tso_zone)


@router.get("/organisations", response_model=ListOf[OrganisationPublic])
def get_organisations(call: Operator, page: Paging = EVERYTHING) -> ListOf[OrganisationPublic]:
    """Every organisation, by name (then id)."""
    with call.store.read() as conn:
        orgs = list_orgs(conn)
    return page.of(
        orgs,
        lambda o: OrganisationPublic(org_id=o.org_id, name=o.name, eic=o.eic, tso_zone=o.tso_zone),
    )


def postage(settings: Settings, request: Request) -> services.accounts.Postage:
    """Links start with VBA_PUBLIC_URL, else with the address this request came to."""
    public_url = settings.public_url or str(request.base_url).rstrip("/")
    return services.accounts.Postage(
        public_url, settings.env, settings.mail_server(), settings.smtp_from
    )


@router.post("/invites", response_model=InviteCreated, status_code=201)
def post_invite(body: InviteCreate, call: Operator, request: Request) -> InviteCreated:
    """Invite a user to an organisation (replacing the open invites of that email): emailed
    when the server has a mail server, and the link and token are shown once. A mail server
    that fails does not undo the invite: ``delivery`` says why."""
    invited = services.accounts.invite(
        call.store,
        call.user.user_id,
        body.email,
        body.org_id,
        body.role,
        call.now,
        timedelta(hours=call.settings.invite_hours),
        postage=postage(call.settings, request),
        inviter=call.user.email,
    )
    return InviteCreated(
        invite_id=invited.invite_id,
        email=body.email,
        org_id=body.org_id,
        role=body.role,
        token=invited.token,
        invite_url=invited.link,
        expires_at=invited.expires_at,
        delivery=InviteDelivery(status=invited.delivery.status, detail=invited.delivery.detail),
    )


@router.get("/invites", response_model=ListOf[InvitePublic])
def get_invites(
    call: Operator, org_id: str | None = None, page: Paging = EVERYTHING
) -> ListOf[InvitePublic]:
    """Every invite (of one organisation with ``?org_id=``), newest first; never a token."""
    with call.store.read() as conn:
        invites = list_invites(conn, org_id)
    return page.of(
        invites,
        lambda i: InvitePublic(
            invite_id=i.invite_id,
            email=i.email,
            org_id=i.org_id,
            role=i.role,
            created_at=i.created_at,
            expires_at=i.expires_at,
            status=i.status(call.now),
        ),
    )


@router.delete("/invites/{invite_id}", status_code=204)
def delete_invite(invite_id: str, call: Operator) -> Response:
    """Revoke an invite not yet accepted: its token then gets the answer of an unknown
    one. Revoking it again changes nothing; an accepted invite answers 409."""
    services.accounts.revoke(call.store, call.user.user_id, invite_id, call.now)
    return Response(status_code=204)


def _user_public(user: User) -> UserPublic:
    return UserPublic(
        user_id=user.user_id,
        email=user.email,
        org_id=user.org_id,
        role=user.role.value,
        active=user.active,
    )


@router.get("/organisations/{org_id}/users", response_model=ListOf[UserPublic])
def get_users(org_id: str, call: Operator, page: Paging = EVERYTHING) -> ListOf[UserPublic]:
    """The users of an organisation (those who accepted their invite), by email."""
    with call.store.read() as conn:
        get_org(conn, org_id)
        users = org_users(conn, org_id)
    return page.of(users, _user_public)


@router.post("/users/{user_id}/deactivate", response_model=UserPublic)
def deactivate(user_id: str, call: Operator) -> UserPublic:
    """Switch a user off: it can no longer sign in (the answer of a wrong password) and
    every token it holds ends at once. You cannot deactivate yourself (409)."""
    return _user_public(
        services.accounts.deactivate(call.store, call.user.user_id, user_id, call.now)
    )


@router.post("/users/{user_id}/reactivate", response_model=UserPublic)
def reactivate(user_id: str, call: Operator) -> UserPublic:
    """Switch a user on again; the tokens it had stay ended, it signs in afresh."""
    return _user_public(
        services.accounts.reactivate(call.store, call.user.user_id, user_id, call.now)
    )
