"""Organisations, users and invites in the store."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from auction.accounts import Role, check_invite, check_organisation, normal_email
from auction.errors import Conflict, DomainError, NotFound, Problem
from auction.limits import EMAIL_MAX_LENGTH, control_character
from auction.store.schema import invites, organisations, users


@dataclass(frozen=True, slots=True)
class Organisation:
    org_id: str
    name: str
    eic: str
    tso_zone: str


@dataclass(frozen=True, slots=True)
class User:
    user_id: str
    email: str
    org_id: str
    role: Role
    password_hash: str | None
    deactivated_at: datetime | None = None
    # Tokens of an earlier generation no longer work (see schema.users).
    token_generation: int = 0

    @property
    def active(self) -> bool:
        return self.deactivated_at is None


@dataclass(frozen=True, slots=True)
class Invite:
    """An invite as operators see it: never its token, which only its receiver has."""

    invite_id: str
    email: str
    org_id: str
    role: str
    created_at: datetime
    expires_at: datetime
    accepted_at: datetime | None
    revoked_at: datetime | None

    def status(self, now: datetime) -> str:
        """pending, accepted, revoked or expired."""
        if self.accepted_at is not None:
            return "accepted"
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.expires_at <= now else "pending"


def new_id() -> str:
    """A random id: ids never tell how many of a thing exist or when it was made."""
    return str(uuid.uuid4())


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_org(conn: Connection, name: str, eic: str, tso_zone: str, now: datetime) -> Organisation:
    check_organisation(name, eic, tso_zone)
    taken = conn.execute(
        sa.select(organisations.c.org_id).where(organisations.c.name == name.strip())
    ).first()
    if taken:
        rule = "an organisation of this name exists already"
        raise DomainError([Problem("organisation", None, "name", name, rule)])
    org = Organisation(new_id(), name.strip(), eic, tso_zone)
    conn.execute(organisations.insert().values(_org_row(org, now)))
    return org


def _org_row(org: Organisation, now: datetime) -> dict[str, object]:
    return {
        "org_id": org.org_id,
        "name": org.name,
        "eic": org.eic,
        "tso_zone": org.tso_zone,
        "created_at": now,
    }


def get_org(conn: Connection, org_id: str) -> Organisation:
    row = conn.execute(sa.select(organisations).where(organisations.c.org_id == org_id)).first()
    if row is None:
        raise NotFound("organisation", org_id)
    return Organisation(row.org_id, row.name, row.eic, row.tso_zone)


_ZONES: dict[tuple[str, str], str] = {}


def org_zone(conn: Connection, org_id: str) -> str:
    """The TSO zone of the organisation's balancing group. Read once per store and
    organisation: no endpoint changes it, and every bid needs it."""
    key = (str(conn.engine.url), org_id)
    if key not in _ZONES:
        _ZONES[key] = get_org(conn, org_id).tso_zone
    return _ZONES[key]


def list_orgs(conn: Connection) -> list[Organisation]:
    query = sa.select(organisations).order_by(organisations.c.name, organisations.c.org_id)
    rows = conn.execute(query)
    return [Organisation(r.org_id, r.name, r.eic, r.tso_zone) for r in rows]


def create_invite(
    conn: Connection, email: str, org_id: str, role: str, now: datetime, valid_for: timedelta
) -> str:
    """Store an invite and return its token (shown once; only its hash is kept)."""
    return issue_invite(conn, email, org_id, role, now, valid_for)[1]


def issue_invite(
    conn: Connection, email: str, org_id: str, role: str, now: datetime, valid_for: timedelta
) -> tuple[str, str]:
    """Store an invite; returns its id (to list and revoke it) and its token."""
    issued = new_invite(conn, email, org_id, role, now, valid_for)
    return issued.invite_id, issued.token


@dataclass(frozen=True, slots=True)
class NewInvite:
    invite_id: str
    token: str = field(repr=False)
    # The open invites of the same email that this one replaced, as they were.
    replaced: tuple[Invite, ...]


def new_invite(
    conn: Connection, email: str, org_id: str, role: str, now: datetime, valid_for: timedelta
) -> NewInvite:
    """Store an invite and return its id and token (shown once; only its hash is kept).

    Inviting an email again revokes its open invites, whatever their organisation: an
    email has one account, so only one invite can ever be accepted, and the newest is the
    one the operator means (a lost or unsent link is replaced by inviting again)."""
    check_invite(email, role)
    get_org(conn, org_id)
    email = normal_email(email)
    existing = user_by_email(conn, email)
    if existing is not None and existing.password_hash is not None:
        raise Conflict(f"{email} has an account already", email=email)
    open_ones = sa.and_(
        invites.c.email == email,
        invites.c.accepted_at.is_(None),
        invites.c.revoked_at.is_(None),
        invites.c.expires_at > now,
    )
    replaced = tuple(_invite(row) for row in conn.execute(sa.select(invites).where(open_ones)))
    if replaced:
        ids = [r.invite_id for r in replaced]
        conn.execute(invites.update().where(invites.c.invite_id.in_(ids)).values(revoked_at=now))
    token = secrets.token_urlsafe(32)
    invite_id = new_id()
    conn.execute(
        invites.insert().values(
            invite_id=invite_id,
            token_sha256=_token_hash(token),
            email=email,
            org_id=org_id,
            role=role,
            created_at=now,
            expires_at=now + valid_for,
        )
    )
    return NewInvite(invite_id, token, replaced)


def _invite(row: sa.Row[tuple[object, ...]]) -> Invite:
    m = row._mapping
    return Invite(
        m["invite_id"],
        m["email"],
        m["org_id"],
        m["role"],
        m["created_at"],
        m["expires_at"],
        m["accepted_at"],
        m["revoked_at"],
    )


def usable_invite(conn: Connection, token: str, now: datetime) -> Invite:
    """The invite of ``token`` if it may be accepted now: not used, revoked or expired.

    Every other case gets one answer, so that a token tells nothing about its invite."""
    row = conn.execute(
        sa.select(invites).where(invites.c.token_sha256 == _token_hash(token))
    ).first()
    if row is None or _invite(row).status(now) != "pending":
        why = "the invite token is unknown, used or expired; ask your operator for a new invite"
        raise DomainError([Problem("accept-invite", None, "token", None, why)])
    return _invite(row)


def list_invites(conn: Connection, org_id: str | None = None) -> list[Invite]:
    """Every invite (of one organisation), newest first."""
    query = sa.select(invites).order_by(invites.c.created_at.desc(), invites.c.invite_id)
    if org_id is not None:
        query = query.where(invites.c.org_id == org_id)
    return [_invite(row) for row in conn.execute(query)]


def revoke_invite(conn: Connection, invite_id: str, now: datetime) -> tuple[Invite, bool]:
    """Make an invite unusable; revoking it again changes nothing. An accepted invite
    cannot be revoked: deactivate the user instead. Returns the invite and whether it
    changed."""
    invite = _invite_by_id(conn, invite_id)
    if invite.accepted_at is not None:
        raise Conflict(
            "this invite was accepted already; deactivate the user instead",
            invite_id=invite_id,
        )
    if invite.revoked_at is not None:
        return invite, False
    conn.execute(invites.update().where(invites.c.invite_id == invite_id).values(revoked_at=now))
    return _invite_by_id(conn, invite_id), True


def _invite_by_id(conn: Connection, invite_id: str) -> Invite:
    row = conn.execute(sa.select(invites).where(invites.c.invite_id == invite_id)).first()
    if row is None:
        raise NotFound("invite", invite_id)
    return _invite(row)


def accept_invite(conn: Connection, token: str, password_hash: str, now: datetime) -> User:
    """Create the invited user with its password; an invite works once, before it expires
    and unless it was revoked."""
    row = usable_invite(conn, token, now)
    if user_by_email(conn, row.email) is not None:
        raise Conflict(f"{row.email} has an account already", email=row.email)
    user = User(new_id(), row.email, row.org_id, Role(row.role), password_hash)
    conn.execute(
        users.insert().values(
            user_id=user.user_id,
            email=user.email,
            org_id=user.org_id,
            role=user.role.value,
            password_hash=password_hash,
            created_at=now,
        )
    )
    conn.execute(
        invites.update().where(invites.c.invite_id == row.invite_id).values(accepted_at=now)
    )
    return user


def _user(row: sa.Row[tuple[object, ...]] | None) -> User | None:
    if row is None:
        return None
    m = row._mapping
    return User(
        m["user_id"],
        m["email"],
        m["org_id"],
        Role(m["role"]),
        m["password_hash"],
        m["deactivated_at"],
        m["token_generation"],
    )


def _change_user(conn: Connection, user_id: str, **values: object) -> User:
    """Write ``values`` to the user's row and return the user as now stored."""
    done = conn.execute(users.update().where(users.c.user_id == user_id).values(**values))
    if done.rowcount != 1:
        raise NotFound("user", user_id)
    user = user_by_id(conn, user_id)
    assert user is not None
    return user


def _next_generation() -> sa.ColumnElement[int]:
    return users.c.token_generation + 1


def set_password(conn: Connection, user_id: str, password_hash: str) -> User:
    """A new password, and every token issued before it ends."""
    return _change_user(
        conn, user_id, password_hash=password_hash, token_generation=_next_generation()
    )


def end_tokens(conn: Connection, user_id: str) -> User:
    """End every token issued to the user so far (sign out everywhere)."""
    return _change_user(conn, user_id, token_generation=_next_generation())


def deactivate_user(conn: Connection, user_id: str, now: datetime) -> tuple[User, bool]:
    """Switch the account off: it cannot sign in and its tokens end. Returns the user and
    whether it changed (deactivating it again does not)."""
    user = user_by_id(conn, user_id)
    if user is None:
        raise NotFound("user", user_id)
    if not user.active:
        return user, False
    changes = {"deactivated_at": now, "token_generation": _next_generation()}
    return _change_user(conn, user_id, **changes), True


def reactivate_user(conn: Connection, user_id: str) -> tuple[User, bool]:
    """Switch the account on again; the tokens it had stay ended (sign in afresh)."""
    user = user_by_id(conn, user_id)
    if user is None:
        raise NotFound("user", user_id)
    if user.active:
        return user, False
    return _change_user(conn, user_id, deactivated_at=None), True


def user_by_email(conn: Connection, email: str) -> User | None:
    email = normal_email(email)
    if len(email) > EMAIL_MAX_LENGTH or control_character(email) is not None:
        return None  # no user has it, and PostgreSQL could not even compare a NUL
    query = sa.select(users).where(users.c.email == email)
    return _user(conn.execute(query).first())


def user_by_id(conn: Connection, user_id: str) -> User | None:
    return _user(conn.execute(sa.select(users).where(users.c.user_id == user_id)).first())


def org_users(conn: Connection, org_id: str) -> list[User]:
    """The users of an organisation (those who accepted their invite), by email."""
    query = sa.select(users).where(users.c.org_id == org_id).order_by(users.c.email)
    return [user for row in conn.execute(query) if (user := _user(row)) is not None]


def operator_org_ids(conn: Connection) -> list[str]:
    """The organisations that have an operator user."""
    query = sa.select(users.c.org_id).where(users.c.role == Role.OPERATOR.value).distinct()
    return sorted(conn.execute(query).scalars())
