"""Idempotency keys: a retried POST gets the first answer back instead of a second effect.

The key is stored with the answer in the transaction of the change itself, so either both
are kept or neither is.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from auction.errors import BodyProblems, DomainError, Problem
from auction.limits import IDEMPOTENCY_KEY_MAX_LENGTH, control_character
from auction.store.schema import idempotency_keys

KEY_RULE = (
    f"Idempotency-Key must have 1 to {IDEMPOTENCY_KEY_MAX_LENGTH} characters and no control "
    "characters, e.g. a UUID"
)


def check_key(key: str) -> None:
    """A key the store can hold (its column's length, no NUL), or a 422 naming the header."""
    if not 1 <= len(key) <= IDEMPOTENCY_KEY_MAX_LENGTH or control_character(key) is not None:
        raise BodyProblems(
            [Problem("headers", None, "Idempotency-Key", key, KEY_RULE)], ("header",)
        )


def _lock_key(user_id: str, key: str) -> int:
    digest = hashlib.blake2b(f"idempotency {user_id} {key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@dataclass(frozen=True, slots=True)
class Replay:
    status_code: int
    body: Any


def find(conn: Connection, user_id: str, key: str, request_sha256: str) -> Replay | None:
    """The stored answer for ``key``; a DomainError if the key came with another request
    or is not one the store can hold.

    On PostgreSQL requests with one key wait here for each other until the first commits
    (a transaction-level advisory lock): bid submissions run side by side, and a retry
    racing its original must find the original's answer, not meet its bid ids."""
    check_key(key)
    if conn.dialect.name == "postgresql":
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_lock_key(user_id, key))))
    row = conn.execute(
        sa.select(idempotency_keys).where(
            idempotency_keys.c.user_id == user_id, idempotency_keys.c.key == key
        )
    ).first()
    if row is None:
        return None
    if row.request_sha256 != request_sha256:
        rule = (
            "this Idempotency-Key was used with a different request; "
            "use a new key for a new request"
        )
        raise DomainError([Problem("headers", None, "Idempotency-Key", key, rule)])
    return Replay(row.status_code, json.loads(row.response_json))


def save(
    conn: Connection,
    user_id: str,
    key: str,
    request_sha256: str,
    status_code: int,
    body: Any,
    now: datetime,
) -> None:
    conn.execute(
        idempotency_keys.insert().values(
            user_id=user_id,
            key=key,
            request_sha256=request_sha256,
            status_code=status_code,
            response_json=json.dumps(body, default=str),
            created_at=now,
        )
    )
