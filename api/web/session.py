"""Who is looking at a page: a session cookie for the pages only, and cross-site refusal.

The cookie holds the same signed access token the API hands out (``HttpOnly``,
``SameSite=Strict``, ``Path=/ui``), so it expires and is refused exactly like a bearer
token, but the REST API never reads it: ``/organisations/...`` stays bearer-only and a
cookie can never authorise a call there. Every unsafe request to ``/ui`` must come from a
page of this server (``Sec-Fetch-Site: same-origin`` or a matching ``Origin``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import Response

from api.http import observe
from api.http.deps import Call, Context, public
from api.http.schemas.accounts import AccessToken
from api.http.security import read_token, still_valid
from auction.accounts import Role
from auction.store.accounts import Organisation, get_org, user_by_id

COOKIE = "vba_session"
COOKIE_PATH = "/ui"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class PageCall(Call):
    """A signed-in page request: the API's ``Call`` and the user's organisation."""

    org: Organisation


class LoginRequired(Exception):
    """No valid session: the page answers with the sign-in page (then back to ``next``)."""

    def __init__(self, next_path: str) -> None:
        super().__init__("sign in first")
        self.next_path = next_path


class NotAllowed(Exception):
    """A signed-in user without the role a page needs, or a cross-site form post."""


def login_url(next_path: str) -> str:
    return f"/ui/login?next={quote(next_path, safe='/')}"


def start(response: Response, token: AccessToken, context: Context, secure: bool) -> None:
    """Sign in: the API's access token becomes the session cookie, with the same expiry."""
    seconds = int((token.expires_at - context.wall).total_seconds())
    response.set_cookie(
        COOKIE,
        token.access_token,
        max_age=max(seconds, 0),
        path=COOKIE_PATH,
        secure=secure,
        httponly=True,
        samesite="strict",
    )


def end(response: Response) -> None:
    response.delete_cookie(COOKIE, path=COOKIE_PATH, httponly=True, samesite="strict")


def signed_in(request: Request, context: Context) -> PageCall | None:
    """The session's user and organisation, or None without a valid, unexpired cookie."""
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    settings = context.settings
    claims = read_token(token, settings.env, settings.secret_key, context.wall)
    if claims is None:
        return None
    with context.store.read() as conn:
        user = still_valid(claims, user_by_id(conn, claims.user_id))
        if user is None:
            return None
        org = get_org(conn, user.org_id)
    observe.signed_in(user.org_id)
    return PageCall(context.store, settings, context.now, context.wall, user, org)


def check_same_origin(request: Request) -> None:
    """Refuse an unsafe request that a page of another site may have sent."""
    if request.method in _SAFE_METHODS:
        return
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        if site != "same-origin":
            raise NotAllowed("this form was sent from another site; nothing was changed")
        return
    origin = request.headers.get("origin")
    own = f"{request.url.scheme}://{request.url.netloc}"
    if origin != own:
        raise NotAllowed(
            "a form must be sent from this server's own pages (no matching Origin); "
            "nothing was changed"
        )


def _full_path(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


async def page_call(request: Request) -> PageCall:
    check_same_origin(request)
    call = signed_in(request, await public(request))
    if call is None:
        raise LoginRequired(_full_path(request) if request.method == "GET" else "/ui/")
    return call


async def operator_page(request: Request) -> PageCall:
    call = await page_call(request)
    if call.user.role is not Role.OPERATOR:
        raise NotAllowed("only operators may open this page")
    return call


async def trader_page(request: Request) -> PageCall:
    """A member of a bidding organisation (an operator has the operator's pages)."""
    call = await page_call(request)
    if call.user.role is Role.OPERATOR:
        raise NotAllowed("this page is for traders; operators have the operator's pages")
    return call


async def public_page(request: Request) -> Context:
    check_same_origin(request)
    return await public(request)


PageUser = Annotated[PageCall, Depends(page_call)]
OperatorPage = Annotated[PageCall, Depends(operator_page)]
TraderPage = Annotated[PageCall, Depends(trader_page)]
PublicPage = Annotated[Context, Depends(public_page)]
