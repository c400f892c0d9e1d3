"""Organisations and invites (screen 14, operator): the organisations, a form to create
one and a form to invite a user. They call the route functions of
``POST /admin/organisations`` and ``POST /admin/invites``; the invite's link and token are
shown once, on the page answering the form, which says whether it was emailed.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from api.http.routes import admin as api_admin
from api.http.schemas.accounts import InviteCreate, InviteCreated, OrganisationCreate
from api.web.forms import NO_REFUSAL, REFUSALS, FormFields, Refusal, refusal_of, see_other
from api.web.render import render
from api.web.session import OperatorPage, PageCall
from auction.accounts import Role
from auction.errors import Conflict
from auction.model import TENNET_DE

router = APIRouter(include_in_schema=False)

PATH = "/ui/operator/organisations"
NOTICES = {"org-created": "The organisation was created."}
ORG_FIELDS = ("name", "eic", "tso_zone")
INVITE_FIELDS = ("email", "org_id", "role")
ROLES = [(role.value, role.value) for role in Role]


def _page(
    request: Request,
    call: PageCall,
    *,
    org_form: dict[str, str] | None = None,
    org_refusal: Refusal = NO_REFUSAL,
    invite_form: dict[str, str] | None = None,
    invite_refusal: Refusal = NO_REFUSAL,
    invited: InviteCreated | None = None,
    notice: str = "",
    created: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    orgs = api_admin.get_organisations(call).items
    names = {o.org_id: o.name for o in orgs}
    created_name = names.get(created or "")
    invite_values = {"role": Role.BIDDER.value, "org_id": created if created_name else ""}
    values: dict[str, Any] = {
        "orgs": orgs,
        "org_options": [("", "Choose an organisation"), *((o.org_id, o.name) for o in orgs)],
        "roles": ROLES,
        "org_form": {"tso_zone": TENNET_DE, **(org_form or {})},
        "org_refusal": org_refusal,
        "invite_form": {**invite_values, **(invite_form or {})},
        "invite_refusal": invite_refusal,
        "invited": invited,
        "invited_org": names.get(invited.org_id, "") if invited else "",
        "notice": NOTICES.get(notice, ""),
        "created_name": created_name,
        "invite_hours": call.settings.invite_hours,
    }
    response = render(
        request,
        "organisations/index.html",
        call,
        values,
        status_code=status_code,
        title="Organisations",
    )
    if invited is not None:
        response.headers["Cache-Control"] = "no-store"  # the token is shown once
    return response


@router.get(PATH)
def organisations(
    request: Request, call: OperatorPage, notice: str = "", created: str = ""
) -> HTMLResponse:
    return _page(request, call, notice=notice, created=created or None)


@router.post(PATH)
def create_organisation(request: Request, call: OperatorPage, form: FormFields) -> Response:
    entered = {k: form.get(k, "") for k in ORG_FIELDS}
    try:
        body = OrganisationCreate.model_validate({k: v for k, v in entered.items() if v})
        org = api_admin.post_organisation(body, call)
    except REFUSALS as exc:
        refusal = refusal_of(exc)
        return _page(request, call, org_form=entered, org_refusal=refusal, status_code=422)
    return see_other(PATH, notice="org-created", created=org.org_id)


@router.post("/ui/operator/invites")
def invite_user(request: Request, call: OperatorPage, form: FormFields) -> Response:
    entered = {k: form.get(k, "") for k in INVITE_FIELDS}
    try:
        body = InviteCreate.model_validate({k: v for k, v in entered.items() if v})
        invited = api_admin.post_invite(body, call, request)
    except REFUSALS as exc:
        status = 409 if isinstance(exc, Conflict) else 422
        refusal = refusal_of(exc)
        return _page(
            request,
            call,
            invite_form=entered,
            invite_refusal=refusal,
            status_code=status,
        )
    return _page(request, call, invited=invited, status_code=201)
