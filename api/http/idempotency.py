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
    # Hashing a 1,000-bid body costs a tenth of its handling: only with a key.
    fingerprint = "" if key is None else request_sha256(*request)
    for attempt in range(2):
        try:

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

            # Answered only once the commit is durable, maybe shared with other requests'.
            return store.write_each(once)
        except IntegrityError:
            # The same key raced in from another request (PostgreSQL): the second
            # attempt finds it and replays.
            if key is None or attempt:
                raise
    raise AssertionError("unreachable")
