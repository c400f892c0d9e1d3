"""``Idempotency-Key`` on POSTs: the same key and body give the first answer, once."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from auction.store import Store
from auction.store import idempotency as keys


def request_sha256(method: str, path: str, body: Any) -> str:
    canonical = json.dumps(jsonable_encoder(body), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()


def run(
    store: Store,
    user_id: str,
    key: str | None,
    request: tuple[str, str, Any],
    status_code: int,
    work: Callable[[Connection], Any],
    now: datetime,
) -> JSONResponse:
    """Do ``work`` in one write transaction and answer its result, remembering it under
    ``key``; with a key seen before, answer what was answered then and do nothing.

    ``request`` is (method, path, body): what a repeated key must repeat.
    """
    once = _remembered(user_id, key, request, status_code, work, now)
    for attempt in range(2):
        try:
            # Answered only once the commit is durable, maybe shared with other requests'.
            return store.write_each(once)
        except IntegrityError:
            # The same key raced in from another request (PostgreSQL): the second
            # attempt finds it and replays.
            if key is None or attempt:
                raise
    raise AssertionError("unreachable")


async def run_soon(
    store: Store,
    user_id: str,
    key: str | None,
    request: tuple[str, str, Any],
    status_code: int,
    work: Callable[[Connection], Any],
    now: datetime,
) -> JSONResponse:
    """``run`` for an ``async`` route: the write goes to the store's writer
    (``Store.write_soon``) with no thread-pool hop of its own."""
    once = _remembered(user_id, key, request, status_code, work, now)
    for attempt in range(2):
        try:
            return await store.write_soon(once)
        except IntegrityError:
            # The same key raced in from another request (PostgreSQL): the second
            # attempt finds it and replays.
            if key is None or attempt:
                raise
    raise AssertionError("unreachable")


def _remembered(
    user_id: str,
    key: str | None,
    request: tuple[str, str, Any],
    status_code: int,
    work: Callable[[Connection], Any],
    now: datetime,
) -> Callable[[Connection], JSONResponse]:
    """``work`` answering JSON, first looking up ``key`` and then remembering it."""
    # Hashing a 1,000-bid body costs a tenth of its handling: only with a key.
    fingerprint = "" if key is None else request_sha256(*request)

    def once(conn: Connection) -> JSONResponse:
        if key is not None:
            replay = keys.find(conn, user_id, key, fingerprint)
            if replay is not None:
                response = JSONResponse(replay.body, status_code=replay.status_code)
                response.headers["Idempotent-Replayed"] = "true"
                return response
        body = jsonable_encoder(work(conn))
        if key is not None:
            keys.save(conn, user_id, key, fingerprint, status_code, body, now)
        return JSONResponse(body, status_code=status_code)

    return once
