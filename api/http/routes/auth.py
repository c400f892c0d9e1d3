"""Accounts as in the guide: accept an invite, authenticate, who am I."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from api import services
from api.http.deps import AnyUser, Public
from api.http.schemas.accounts import AcceptInvite, AccessToken, Credentials, Me
from api.http.security import create_token, hash_password, verify_password
from api.http.settings import Settings
from auction.accounts import check_password
from auction.store.accounts import Organisation, User, get_org, user_by_email

router = APIRouter(prefix="/auth", tags=["accounts"])

WRONG = "wrong username or password"


def _me(user: User, org: Organisation, settings: Settings) -> Me:
    return Me(
        user_id=user.user_id,
        email=user.email,
        role=user.role.value,
        org_id=org.org_id,
        org_name=org.name,
        environment=settings.env,
    )


@router.post("/public/accept-invite", response_model=Me, status_code=201)
def accept(body: AcceptInvite, context: Public) -> Me:
    """Set your password with the token of your invitation (once, before it expires)."""
    check_password(body.password)
    password_hash = hash_password(body.password)
    user, org = services.accounts.accept(context.store, body.token, password_hash, context.now)
    return _me(user, org, context.settings)


@router.post("/public/authenticate", response_model=AccessToken)
def authenticate(body: Credentials, context: Public) -> AccessToken:
    """Exchange your email and password for an access token; send it as
    ``Authorization: Bearer <access_token>`` on every other call."""
    with context.store.read() as conn:
        user = user_by_email(conn, body.username)
    stored = None if user is None else user.password_hash
    # The same work and the same answer whether or not the user exists.
    if not verify_password(body.password, stored) or user is None:
        raise HTTPException(401, WRONG, headers={"WWW-Authenticate": "Bearer"})
    token, expires = create_token(
        user.user_id,
        context.settings.env,
        context.settings.secret_key,
        context.now,
        context.settings.token_minutes,
    )
    return AccessToken(access_token=token, expires_at=expires)


@router.get("/me", response_model=Me)
def me(call: AnyUser) -> Me:
    """Who you are: your role, and your organisation's id for the /organisations paths."""
    with call.store.read() as conn:
        org = get_org(conn, call.user.org_id)
    return _me(call.user, org, call.settings)
