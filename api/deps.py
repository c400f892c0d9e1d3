"""Dependencies of the routes: the store, the clock, and who is calling."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.security import read_token
from api.settings import Settings
from auction.accounts import Role
from auction.errors import Forbidden, NotFound
from auction.store import Store
from auction.store.accounts import User, user_by_id

_bearer = HTTPBearer(auto_error=False, description="the access_token of /auth/public/authenticate")


def get_store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_now(request: Request) -> datetime:
    clock: Callable[[], datetime] = request.app.state.clock
    return clock()


StoreDep = Annotated[Store, Depends(get_store)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
Now = Annotated[datetime, Depends(get_now)]


def current_user(
    store: StoreDep,
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    now: Now,
) -> User:
    unauthorized = HTTPException(
        status_code=401,
        detail="not authenticated: send Authorization: Bearer <access_token>; "
        "get a token from POST /auth/public/authenticate (tokens expire)",
        headers={"WWW-Authenticate": "Bearer"},
    )
    if credentials is None:
        raise unauthorized
    claims = read_token(credentials.credentials, settings.env, settings.secret_key, now)
    if claims is None:
        raise unauthorized
    with store.read() as conn:
        user = user_by_id(conn, claims.user_id)
    if user is None:
        raise unauthorized
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def operator(user: CurrentUser) -> User:
    if user.role is not Role.OPERATOR:
        raise Forbidden("only operators may do this")
    return user


Operator = Annotated[User, Depends(operator)]


def member(org_id: str, user: CurrentUser) -> User:
    """A user of the organisation in the path; anyone else gets the 404 of a missing one."""
    if user.org_id != org_id:
        raise NotFound("organisation", org_id)
    return user


def reader(org_id: str, user: CurrentUser) -> User:
    """A member of the organisation, or an operator (who may read every organisation)."""
    if user.org_id != org_id and user.role is not Role.OPERATOR:
        raise NotFound("organisation", org_id)
    return user


Member = Annotated[User, Depends(member)]
Reader = Annotated[User, Depends(reader)]
