"""Account Settings → Organisation Details (screen 8): the organisation's name, id (to
copy), EIC and TSO zone, its users, and how to get an API token for the same account.

Any signed-in user sees its own organisation (an operator too). The "who am I" answer
shown is the one ``GET /auth/me`` gives, from its route function.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from api.http.routes import auth as api_auth
from api.web.render import render
from api.web.session import PageUser
from auction.store.accounts import org_users

router = APIRouter(include_in_schema=False)


def server_url(request: Request) -> str:
    """This server's own address as the browser reached it: ``http://host:port``."""
    return str(request.base_url).rstrip("/")


@router.get("/ui/account")
def organisation_details(request: Request, call: PageUser) -> HTMLResponse:
    with call.store.read() as conn:
        users = org_users(conn, call.org.org_id)
    values = {
        "users": users,
        "me_json": api_auth.me(call).model_dump_json(indent=2),
        "server": server_url(request),
        "token_minutes": call.settings.token_minutes,
    }
    return render(request, "account/details.html", call, values, title="Organisation Details")
