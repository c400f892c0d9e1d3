"""Accounts: organisations, invitations, a user accepting one, and the life cycle after
(password change, signing out everywhere, deactivation, revoking an invite); failed
sign-ins and the throttle they feed."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from api.services.mail import Delivery, Invitation, MailServer, invite_link, send_invite
from auction.accounts import normal_email
from auction.errors import Conflict, Throttled
from auction.instants import utc_text
from auction.store import Store, audit
from auction.store.accounts import (
    Invite,
    Organisation,
    User,
    accept_invite,
    create_org,
    deactivate_user,
    end_tokens,
    get_org,
    new_invite,
    reactivate_user,
    revoke_invite,
    set_password,
    usable_invite,
    user_by_email,
)
from auction.store.throttle import Key, failures_of, forget, record_failure
from auction.throttle import Scope, blocked_until, retry_after_s

log = logging.getLogger("vba.api")


def new_org(
    store: Store, actor: str, name: str, eic: str, tso_zone: str, now: datetime
) -> Organisation:
    with store.write() as conn:
        org = create_org(conn, name, eic, tso_zone, now)
        audit.record(
            conn, actor, "org.create", f"org/{org.org_id}", now, name=org.name, eic=org.eic
        )
    return org


@dataclass(frozen=True, slots=True)
class Postage:
    """How an invitation reaches its person: links start with ``public_url``; with a
    mail server it is emailed from ``sender``, else the operator passes the link on."""

    public_url: str
    environment: str
    server: MailServer | None = None
    sender: str = ""


@dataclass(frozen=True, slots=True)
class Invited:
    invite_id: str
    token: str = field(repr=False)
    link: str = field(repr=False)
    expires_at: datetime
    org: Organisation
    delivery: Delivery


def invite(
    store: Store,
    actor: str,
    email: str,
    org_id: str,
    role: str,
    now: datetime,
    valid_for: timedelta,
    *,
    postage: Postage,
    inviter: str,
) -> Invited:
    """A one-time invitation for ``email`` to join ``org_id`` as ``role`` (replacing the
    open invites of that email), emailed when a mail server is set. The email goes out
    after the commit, so a slow mail server holds no transaction, and a failed one leaves
    the invite standing: ``delivery`` says why, and the link is in the answer."""
    with store.write() as conn:
        issued = new_invite(conn, email, org_id, role, now, valid_for)
        org = get_org(conn, org_id)
        email = normal_email(email)
        for replaced in issued.replaced:
            audit.record(
                conn,
                actor,
                "invite.revoke",
                f"invite/{replaced.invite_id}",
                now,
                org_id=replaced.org_id,
                email=email,
                replaced_by=issued.invite_id,
            )
        audit.record(
            conn,
            actor,
            "user.invite",
            f"org/{org_id}",
            now,
            org_id=org_id,
            email=email,
            role=role,
            invite_id=issued.invite_id,
        )
    link = invite_link(postage.public_url, issued.token)
    expires_at = now + valid_for
    letter = Invitation(email, org.name, role, postage.environment, inviter, link, expires_at)
    delivery = send_invite(postage.server, postage.sender, letter)
    if delivery.status == "failed":
        log.warning("invite %s: the email was not sent: %s", issued.invite_id, delivery.detail)
    return Invited(issued.invite_id, issued.token, link, expires_at, org, delivery)


def invitee(store: Store, token: str, now: datetime) -> tuple[Invite, Organisation]:
    """The invite of ``token`` if it may be accepted now, and its organisation: the
    password policy needs the email and the name before the password is hashed."""
    with store.read() as conn:
        invite = usable_invite(conn, token, now)
        return invite, get_org(conn, invite.org_id)


def revoke(store: Store, actor: str, invite_id: str, now: datetime) -> Invite:
    """Revoke an invite: its token then gets the answer of an unknown one."""
    with store.write() as conn:
        invite, changed = revoke_invite(conn, invite_id, now)
        if changed:
            audit.record(
                conn,
                actor,
                "invite.revoke",
                f"invite/{invite_id}",
                now,
                org_id=invite.org_id,
                email=invite.email,
            )
    return invite


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


def change_password(store: Store, user: User, password_hash: str, now: datetime) -> User:
    """Store a new password; every token issued before ends."""
    with store.write() as conn:
        changed = set_password(conn, user.user_id, password_hash)
        audit.record(
            conn,
            user.user_id,
            "user.password_change",
            f"user/{user.user_id}",
            now,
            org_id=user.org_id,
        )
    return changed


def sign_out_everywhere(store: Store, user: User, now: datetime) -> User:
    """End every token of ``user`` (a lost laptop, a leaked script)."""
    with store.write() as conn:
        changed = end_tokens(conn, user.user_id)
        audit.record(
            conn, user.user_id, "user.logout_all", f"user/{user.user_id}", now, org_id=user.org_id
        )
    return changed


def deactivate(store: Store, actor: str, user_id: str, now: datetime) -> User:
    """An operator switches an account off: no sign-in, and its tokens end."""
    if user_id == actor:
        raise Conflict("you cannot deactivate yourself; ask another operator", user_id=user_id)
    with store.write() as conn:
        user, changed = deactivate_user(conn, user_id, now)
        if changed:
            audit.record(
                conn,
                actor,
                "user.deactivate",
                f"user/{user_id}",
                now,
                org_id=user.org_id,
                email=user.email,
            )
    return user


def reactivate(store: Store, actor: str, user_id: str, now: datetime) -> User:
    """An operator switches an account on again (its old tokens stay ended)."""
    with store.write() as conn:
        user, changed = reactivate_user(conn, user_id)
        if changed:
            audit.record(
                conn,
                actor,
                "user.reactivate",
                f"user/{user_id}",
                now,
                org_id=user.org_id,
                email=user.email,
            )
    return user


def sign_in_keys(email: str, address: str) -> list[Key]:
    """What a sign-in attempt is counted against: the account tried, and the address."""
    return [(Scope.ACCOUNT, email.strip().lower()), (Scope.ADDRESS, address)]


def sign_in_subject(
    store: Store, email: str, keys: list[Key], now: datetime
) -> tuple[User | None, bool]:
    """The user of ``email`` (None: no such user) and whether its account has failures
    counted, unless the throttle holds the attempt back: then ``Throttled``, before any
    password is looked at."""
    with store.read() as conn:
        states = failures_of(conn, keys)
        user = user_by_email(conn, email)
    until = blocked_until(states, now)
    if until is not None:
        wait_s = retry_after_s(until, now)
        raise Throttled(
            f"too many failed sign-ins for this account or from this address; "
            f"try again after {utc_text(until)} (in {wait_s} s)",
            until,
            wait_s,
        )
    return user, states[0] is not None


def sign_in_failed(store: Store, keys: list[Key], now: datetime) -> None:
    with store.write() as conn:
        record_failure(conn, keys, now)


def sign_in_succeeded(store: Store, keys: list[Key]) -> None:
    """A success forgets the account's failures (never the address's: an attacker would
    reset them by signing in to an account of their own)."""
    with store.write() as conn:
        forget(conn, keys[0])
