"""Account Settings → Organisation Details (screen 8): the organisation's name, id (to
copy), EIC and TSO zone, its users, how to get an API token for the same account, and
the user's own password: change it, or sign out everywhere.

Any signed-in user sees its own organisation (an operator too). The "who am I" answer
shown is the one ``GET /auth/me`` gives, from its route function; the password forms
call those of ``POST /auth/password`` and ``POST /auth/logout-all``.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from api.http.routes import auth as api_auth
from api.http.schemas.accounts import PasswordChange
from api.web import session
from api.web.forms import NO_REFUSAL, REFUSALS, FormFields, Refusal, refusal_of, see_other
from api.web.render import render
from api.web.session import PageCall, PageUser
from auction.accounts import MIN_PASSWORD_LENGTH
from auction.errors import DomainError, Problem, Throttled
from auction.store.accounts import org_users

router = APIRouter(include_in_schema=False)

PATH = "/ui/account"
NOTICES = {"password-changed": "Your password was changed; every other session was signed out."}


def server_url(request: Request) -> str:
    """This server's own address as the browser reached it: ``http://host:port``."""
    return str(request.base_url).rstrip("/")


def _page(
    request: Request,
    call: PageCall,
    *,
    refusal: Refusal = NO_REFUSAL,
    notice: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    with call.store.read() as conn:
        users = org_users(conn, call.org.org_id)
    values = {
        "users": users,
        "me_json": api_auth.me(call).model_dump_json(indent=2),
        "server": server_url(request),
        "token_minutes": call.settings.token_minutes,
        "refusal": refusal,
        "notice": NOTICES.get(notice, ""),
        "min_length": MIN_PASSWORD_LENGTH,
    }
    return render(
        request,
        "account/details.html",
        call,
        values,
        status_code=status_code,
        title="Organisation Details",
    )


@router.get(PATH)
def organisation_details(request: Request, call: PageUser, notice: str = "") -> HTMLResponse:
    return _page(request, call, notice=notice)


@router.post(f"{PATH}/password")
def change_password(request: Request, call: PageUser, form: FormFields) -> Response:
    """A new password; this browser gets the new token, every other session ends."""
    try:
        if form.get("new_password", "") != form.get("new_password_again", ""):
            rule = "the two new passwords differ"
            raise DomainError([Problem("password", None, "new_password_again", None, rule)])
        body = PasswordChange(
            current_password=form.get("current_password", ""),
            new_password=form.get("new_password", ""),
        )
        token = api_auth.change_password(body, request, call)
    except (*REFUSALS, Throttled) as exc:
        status = 429 if isinstance(exc, Throttled) else 422
        return _page(request, call, refusal=refusal_of(exc), status_code=status)
    response = see_other(PATH, notice="password-changed")
    session.start(response, token, call, secure=request.url.scheme == "https")
    return response


@router.post(f"{PATH}/logout-all")
def logout_all(call: PageUser) -> Response:
    """Sign out everywhere, this browser too."""
    api_auth.logout_all(call)
    response = see_other("/ui/login", signed_out="1")
    session.end(response)
    return response
