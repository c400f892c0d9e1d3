"""Who is calling, and what a request may use: one dependency per route.

Each route takes a single ``Call`` (the user, the store, the settings, the time of the
request) from one ``async`` dependency. FastAPI resolves every dependency node anew per
request and runs a plain ``def`` one in its thread pool; with the store, the settings, the
clock and the user as separate nodes that machinery cost more CPU than storing a bid.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.http import observe
from api.http.ratelimit import WriteLimiter
from api.http.security import read_token, still_valid
from api.http.settings import Settings
from auction.accounts import Role
from auction.errors import Forbidden, NotFound, Throttled
from auction.store import Store
from auction.store.accounts import User, user_by_id
from auction.store.sandbox_clock import StoreClock

_bearer = HTTPBearer(auto_error=False, description="the access_token of /auth/public/authenticate")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


@dataclass(frozen=True, slots=True)
class Context:
    """What any request may use: the store, the settings and the time it arrived: ``now``
    by the server's clock (the sandbox's, which an operator moves), and ``wall`` by the
    real one, which access tokens follow (a move must not sign everybody out)."""

    store: Store
    settings: Settings
    now: datetime
    wall: datetime


@dataclass(frozen=True, slots=True)
class Call(Context):
    """An authenticated request: the context and the user making it."""

    user: User


# The real time a request arrived, stamped on its ASGI scope by the outermost layer
# (``api.http.app``): a rule of time judges the request as of its arrival, not as of the
# moment a busy server gets round to it (a bid that arrived before the gate is in time).
ARRIVED = "vba.arrived"


def arrival(request: Request, clock: StoreClock) -> datetime:
    """The real time ``request`` arrived (now, for a request nobody stamped)."""
    arrived = request.scope.get(ARRIVED)
    return arrived if isinstance(arrived, datetime) else clock.base()


def context_of(request: Request, *, store_failed: bool = False) -> Context:
    """The store, the settings and the time of ``request`` (``store_failed``: for the page
    of a fault, which may be the store's, the time without reading the sandbox's offset)."""
    state = request.app.state
    clock: StoreClock = state.clock
    wall = arrival(request, clock)
    offset = clock.last_offset() if store_failed else clock.offset()
    return Context(state.store, state.settings, wall + offset, wall)


def _authenticate(request: Request, credentials: HTTPAuthorizationCredentials | None) -> Call:
    state = request.app.state
    clock: StoreClock = state.clock
    store: Store = state.store
    settings: Settings = state.settings
    wall = arrival(request, clock)
    unauthorized = HTTPException(
        status_code=401,
        detail="not authenticated: send Authorization: Bearer <access_token>; "
        "get a token from POST /auth/public/authenticate (tokens expire)",
        headers={"WWW-Authenticate": "Bearer"},
    )
    if credentials is None:
        raise unauthorized
    claims = read_token(credentials.credentials, settings.env, settings.secret_key, wall)
    if claims is None:
        raise unauthorized
    # Two primary-key reads (cheaper inline than a hop to the thread pool) in one
    # transaction: the user, and the sandbox's offset for the request's time.
    with store.read() as conn:
        user = still_valid(claims, user_by_id(conn, claims.user_id))
        now = wall + clock.offset_in(conn)
    if user is None:
        raise unauthorized
    observe.signed_in(user.org_id)
    if request.method not in _SAFE_METHODS:
        _limit_writes(state.write_limiter, user.org_id, now)
    return Call(store, settings, now, wall, user)


_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _limit_writes(limiter: WriteLimiter, org_id: str, now: datetime) -> None:
    """Refuse a write beyond the organisation's rate (429, ``Retry-After``)."""
    wait_s = limiter.take(org_id, now)
    if wait_s is not None:
        raise Throttled(
            f"too many writes by your organisation; retry in {wait_s} s",
            now + timedelta(seconds=wait_s),
            wait_s,
        )


def client_address(request: Request, settings: Settings) -> str:
    """Who is calling, for the sign-in throttle: the TCP peer, or the last entry of
    X-Forwarded-For when the settings say a proxy puts it there."""
    if settings.trust_forwarded_for:
        forwarded = request.headers.get("x-forwarded-for", "")
        last = forwarded.rsplit(",", 1)[-1].strip()
        if last:
            return last
    return request.client.host if request.client is not None else "unknown"


async def public(request: Request) -> Context:
    return context_of(request)


async def any_user(request: Request, credentials: Credentials) -> Call:
    return _authenticate(request, credentials)


async def operator(request: Request, credentials: Credentials) -> Call:
    call = _authenticate(request, credentials)
    if call.user.role is not Role.OPERATOR:
        raise Forbidden("only operators may do this")
    return call


async def member(org_id: str, request: Request, credentials: Credentials) -> Call:
    """A user of the organisation in the path; anyone else gets the 404 of a missing one."""
    call = _authenticate(request, credentials)
    if call.user.org_id != org_id:
        raise NotFound("organisation", org_id)
    return call


async def reader(org_id: str, request: Request, credentials: Credentials) -> Call:
    """A member of the organisation, or an operator (who may read every organisation)."""
    call = _authenticate(request, credentials)
    if call.user.org_id != org_id and call.user.role is not Role.OPERATOR:
        raise NotFound("organisation", org_id)
    return call


Public = Annotated[Context, Depends(public)]
AnyUser = Annotated[Call, Depends(any_user)]
Operator = Annotated[Call, Depends(operator)]
Member = Annotated[Call, Depends(member)]
Reader = Annotated[Call, Depends(reader)]
