"""Failed sign-ins in the store (``login_failures``), so that the throttle of
``auction.throttle`` holds across restarts and across the server's worker processes."""

from __future__ import annotations

import hashlib
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from auction.store.schema import login_failures
from auction.throttle import POLICIES, Failures, Scope, after_failure

Key = tuple[Scope, str]


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def _where(key: Key) -> sa.ColumnElement[bool]:
    scope, value = key
    return sa.and_(
        login_failures.c.scope == scope.value, login_failures.c.key_sha256 == _hash(value)
    )


def _failures(row: sa.Row[tuple[object, ...]]) -> Failures:
    m = row._mapping
    return Failures(m["failures"], m["last_failure_at"], m["blocked_until"])


def failures_of(conn: Connection, keys: list[Key]) -> list[Failures | None]:
    """The failures counted for each key (None: none)."""
    out: list[Failures | None] = []
    for key in keys:
        row = conn.execute(sa.select(login_failures).where(_where(key))).first()
        out.append(None if row is None else _failures(row))
    return out


def _insert_missing(conn: Connection, scope: Scope, key_sha256: str, now: datetime) -> None:
    """An empty row for the key unless one exists: two failures at once both count."""
    values = {
        "scope": scope.value,
        "key_sha256": key_sha256,
        "failures": 0,
        "last_failure_at": now,
        "blocked_until": None,
    }
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(dialect.insert(login_failures).values(values).on_conflict_do_nothing())


def record_failure(conn: Connection, keys: list[Key], now: datetime) -> list[Failures]:
    """Count one failed sign-in at ``now`` against each key; returns the counts after it."""
    out = []
    for key in keys:
        scope = key[0]
        _insert_missing(conn, scope, _hash(key[1]), now)
        row = conn.execute(sa.select(login_failures).where(_where(key)).with_for_update()).one()
        before = None if row.failures == 0 else _failures(row)
        after = after_failure(before, POLICIES[scope], now)
        conn.execute(
            login_failures.update()
            .where(_where(key))
            .values(failures=after.count, last_failure_at=now, blocked_until=after.blocked_until)
        )
        out.append(after)
    return out


def forget(conn: Connection, key: Key) -> None:
    """Drop the failures of a key (an account's after a successful sign-in)."""
    conn.execute(login_failures.delete().where(_where(key)))
