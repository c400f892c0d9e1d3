"""Accounts as in the guide: accept an invite, authenticate, who am I; change your
password and sign out everywhere."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response

from api import services
from api.http.deps import AnyUser, Context, Public, client_address
from api.http.schemas.accounts import AcceptInvite, AccessToken, Credentials, Me, PasswordChange
from api.http.security import create_token, hash_password, verify_password
from api.http.settings import Settings
from auction.accounts import check_password
from auction.errors import DomainError, Problem
from auction.store.accounts import Organisation, User, get_org

router = APIRouter(prefix="/auth", tags=["accounts"])

WRONG = "wrong username or password"
THROTTLED: dict[int | str, dict[str, Any]] = {
    429: {
        "description": "too many failed sign-ins for the account or from the address: "
        "wait Retry-After seconds (the body says until when); the password was not checked"
    }
}


def _me(user: User, org: Organisation, settings: Settings) -> Me:
    return Me(
        user_id=user.user_id,
        email=user.email,
        role=user.role.value,
        org_id=org.org_id,
        org_name=org.name,
        environment=settings.env,
    )


def _token(user: User, context: Context) -> AccessToken:
    token, expires = create_token(
        user.user_id,
        context.settings.env,
        context.settings.secret_key,
        context.wall,  # tokens follow the real clock, not the sandbox's
        context.settings.token_minutes,
        user.token_generation,
    )
    return AccessToken(access_token=token, expires_at=expires)


@router.post("/public/accept-invite", response_model=Me, status_code=201)
def accept(body: AcceptInvite, context: Public) -> Me:
    """Set your password with the token of your invitation (once, before it expires).
    The password rules are those of ``password`` below."""
    invite, org = services.accounts.invitee(context.store, body.token, context.now)
    check_password(body.password, email=invite.email, org_name=org.name)
    password_hash = hash_password(body.password)
    user, org = services.accounts.accept(context.store, body.token, password_hash, context.now)
    return _me(user, org, context.settings)


@router.post("/public/authenticate", response_model=AccessToken, responses=THROTTLED)
def authenticate(body: Credentials, request: Request, context: Public) -> AccessToken:
    """Exchange your email and password for an access token; send it as
    ``Authorization: Bearer <access_token>`` on every other call.

    After 5 failed sign-ins for an account or from an address, each further attempt waits
    1 s, 2 s, 4 s, ... (at most 60 s for an account, 15 min for an address): 429 with
    ``Retry-After``, without checking the password. A success resets the account's count."""
    keys = services.accounts.sign_in_keys(body.username, client_address(request, context.settings))
    user, had_failures = services.accounts.sign_in_subject(
        context.store, body.username, keys, context.now
    )
    stored = None if user is None else user.password_hash
    # The same work and the same answer whether or not the user exists or is active.
    if not verify_password(body.password, stored) or user is None or not user.active:
        services.accounts.sign_in_failed(context.store, keys, context.now)
        raise HTTPException(401, WRONG, headers={"WWW-Authenticate": "Bearer"})
    if had_failures:
        services.accounts.sign_in_succeeded(context.store, keys)
    return _token(user, context)


@router.get("/me", response_model=Me)
def me(call: AnyUser) -> Me:
    """Who you are: your role, and your organisation's id for the /organisations paths."""
    with call.store.read() as conn:
        org = get_org(conn, call.user.org_id)
    return _me(call.user, org, call.settings)


@router.post("/password", response_model=AccessToken, responses=THROTTLED)
def change_password(body: PasswordChange, request: Request, call: AnyUser) -> AccessToken:
    """Change your password, giving the current one. Every token of yours ends, this one
    too: the answer is a new token. A wrong current password counts as a failed sign-in."""
    keys = services.accounts.sign_in_keys(call.user.email, client_address(request, call.settings))
    services.accounts.sign_in_subject(call.store, call.user.email, keys, call.now)
    if not verify_password(body.current_password, call.user.password_hash):
        services.accounts.sign_in_failed(call.store, keys, call.now)
        rule = "the current password is wrong"
        raise DomainError([Problem("password", None, "current_password", None, rule)])
    if body.new_password == body.current_password:
        rule = "the new password must differ from the current one"
        raise DomainError([Problem("password", None, "new_password", None, rule)])
    with call.store.read() as conn:
        org = get_org(conn, call.user.org_id)
    check_password(
        body.new_password,
        email=call.user.email,
        org_name=org.name,
        form="password",
        field="new_password",
    )
    user = services.accounts.change_password(
        call.store, call.user, hash_password(body.new_password), call.now
    )
    return _token(user, call)


@router.post("/logout-all", status_code=204)
def logout_all(call: AnyUser) -> Response:
    """Sign out everywhere: every token of yours ends, this one too (and the pages'
    sessions). Sign in again for a new one."""
    services.accounts.sign_out_everywhere(call.store, call.user, call.now)
    return Response(status_code=204)
