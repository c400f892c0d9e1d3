"""Sign in, sign out, accept an invite; the home page sends each role to its start."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from api.http.deps import Context
from api.http.routes import auth as api_auth
from api.http.schemas.accounts import AcceptInvite, Credentials
from api.web import session
from api.web.forms import NO_REFUSAL, FormFields, Refusal, refusal_of, see_other
from api.web.render import render
from api.web.session import PublicPage
from auction.accounts import MIN_PASSWORD_LENGTH, Role
from auction.errors import DomainError, NotFound, Problem, Throttled

router = APIRouter(include_in_schema=False)

_SIGNED_OUT = "You are signed out."


def _safe_next(next_path: str | None) -> str:
    """Only a page of this server: never an address elsewhere (an open redirect)."""
    if next_path and next_path.startswith("/ui/") and not next_path.startswith("//"):
        return next_path
    return "/ui/"


@router.get("/")
def root() -> RedirectResponse:
    return RedirectResponse("/ui/", status_code=303)


@router.get("/ui")
@router.get("/ui/")
def home(request: Request, context: PublicPage) -> RedirectResponse:
    call = session.signed_in(request, context)
    if call is None:
        return RedirectResponse("/ui/login", status_code=303)
    start = "/ui/operator/auctions" if call.user.role is Role.OPERATOR else "/ui/auctions"
    return RedirectResponse(start, status_code=303)


def _login_page(
    request: Request,
    context: Context,
    *,
    next_path: str = "/ui/",
    email: str = "",
    refusal: Refusal = NO_REFUSAL,
    notice: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    values = {"next": next_path, "email": email, "refusal": refusal, "notice": notice}
    return render(request, "login.html", context, values, status_code=status_code, title="Sign in")


@router.get("/ui/login")
def login_page(
    request: Request, context: PublicPage, next: str = "/ui/", signed_out: bool = False
) -> HTMLResponse:
    notice = _SIGNED_OUT if signed_out else ""
    return _login_page(request, context, next_path=_safe_next(next), notice=notice)


@router.post("/ui/login")
def login(request: Request, context: PublicPage, form: FormFields) -> Response:
    email = form.get("email", "")
    next_path = _safe_next(form.get("next"))
    try:
        token = api_auth.authenticate(
            Credentials(username=email, password=form.get("password", "")), request, context
        )
    except Throttled as exc:
        # The API's 429: the page says how long to wait (and does not check the password).
        message = f"Too many failed sign-ins. Try again in {exc.seconds} s."
        refusal = Refusal(
            [{"field": "password", "value": None, "rule": message, "msg": message}],
            "Sign-in refused.",
        )
        page = _login_page(
            request, context, next_path=next_path, email=email, refusal=refusal, status_code=429
        )
        page.headers["Retry-After"] = str(exc.seconds)
        return page
    except (HTTPException, ValidationError):
        refusal = Refusal(
            [{"field": "password", "value": None, "rule": api_auth.WRONG, "msg": api_auth.WRONG}],
            "Sign-in refused.",
        )
        return _login_page(
            request, context, next_path=next_path, email=email, refusal=refusal, status_code=401
        )
    response = see_other(next_path)
    session.start(response, token, context, secure=request.url.scheme == "https")
    return response


@router.post("/ui/logout")
def logout(context: PublicPage) -> Response:
    del context  # the dependency refuses a cross-site sign-out
    response = see_other("/ui/login", signed_out="1")
    session.end(response)
    return response


def _invite_page(
    request: Request,
    context: Context,
    token: str,
    refusal: Refusal = NO_REFUSAL,
    status_code: int = 200,
) -> HTMLResponse:
    """The accept page. A token the server has (an old ``?token=`` link, a refused form)
    goes back only in a hidden field; the invite links of ``api.services.mail`` carry it
    after ``#``, which only the page's script reads."""
    values = {"token": token, "refusal": refusal, "min_length": MIN_PASSWORD_LENGTH}
    page = render(
        request,
        "accept_invite.html",
        context,
        values,
        status_code=status_code,
        title="Accept your invite",
    )
    # No Referer from this page, not even to this server, and no copy in a cache.
    page.headers["Referrer-Policy"] = "no-referrer"
    page.headers["Cache-Control"] = "no-store"
    return page


@router.get("/ui/accept-invite")
def invite_page(request: Request, context: PublicPage, token: str = "") -> HTMLResponse:
    return _invite_page(request, context, token)


@router.post("/ui/accept-invite")
def accept_invite(request: Request, context: PublicPage, form: FormFields) -> Response:
    token, password = form.get("token", ""), form.get("password", "")
    try:
        if password != form.get("password_again", ""):
            rule = "the two passwords differ"
            raise DomainError([Problem("accept-invite", None, "password_again", None, rule)])
        me = api_auth.accept(AcceptInvite(token=token, password=password), context)
        access = api_auth.authenticate(
            Credentials(username=me.email, password=password), request, context
        )
    except (DomainError, ValidationError, NotFound, HTTPException, Throttled) as exc:
        return _invite_page(request, context, token, refusal_of(exc), status_code=422)
    response = see_other("/ui/")
    session.start(response, access, context, secure=request.url.scheme == "https")
    return response
