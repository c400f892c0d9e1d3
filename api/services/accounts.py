"""Accounts: organisations, invitations, and a user accepting one."""

from __future__ import annotations

from datetime import datetime, timedelta

from auction.store import Store, audit
from auction.store.accounts import (
    Organisation,
    User,
    accept_invite,
    create_invite,
    create_org,
    get_org,
)


def new_org(
    store: Store, actor: str, name: str, eic: str, tso_zone: str, now: datetime
) -> Organisation:
    with store.write() as conn:
        org = create_org(conn, name, eic, tso_zone, now)
        audit.record(
            conn, actor, "org.create", f"org/{org.org_id}", now, name=org.name, eic=org.eic
        )
    return org


def invite(
    store: Store,
    actor: str,
    email: str,
    org_id: str,
    role: str,
    now: datetime,
    valid_for: timedelta,
) -> str:
    """A one-time invitation token for ``email`` to join ``org_id`` as ``role``."""
    with store.write() as conn:
        token = create_invite(conn, email, org_id, role, now, valid_for)
        audit.record(
            conn, actor, "user.invite", f"org/{org_id}", now, org_id=org_id, email=email, role=role
        )
    return token


def accept(
    store: Store, token: str, password_hash: str, now: datetime
) -> tuple[User, Organisation]:
    """The invited user, with the password whose hash is given, and their organisation."""
    with store.write() as conn:
        user = accept_invite(conn, token, password_hash, now)
        org = get_org(conn, user.org_id)
        audit.record(
            conn,
            user.user_id,
            "user.accept_invite",
            f"user/{user.user_id}",
            now,
            org_id=user.org_id,
            email=user.email,
        )
    return user, org
