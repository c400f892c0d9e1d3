"""The answer to a form that changed something, kept under the form's key for the page
after the redirect (post, redirect, get): that page shows what the change did, and the
same form sent again finds its answer instead of doing the change twice.

The answers are kept where the API keeps ``Idempotency-Key`` answers, per user: nobody
else can read one by its key.
"""

from __future__ import annotations

import uuid
from typing import TypeVar

from pydantic import BaseModel

from api.http.idempotency import request_sha256
from api.web import forms
from api.web.session import PageCall
from auction.errors import DomainError
from auction.store import idempotency

Answer = TypeVar("Answer", bound=BaseModel)


def form_key(value: str | None) -> str | None:
    """``value`` if it is a form key (a UUID, as pages make them), else None."""
    try:
        return str(uuid.UUID(value or ""))
    except ValueError:
        return None


def _request(path: str, key: str) -> tuple[str, str, dict[str, str]]:
    return ("POST", path, {"form_key": key})


def recall(call: PageCall, path: str, key: str | None, model: type[Answer]) -> Answer | None:
    """The answer this user's form to ``path`` got under ``key``, if there is one."""
    if key is None:
        return None
    with call.store.read() as conn:
        try:
            replay = idempotency.find(
                conn, call.user.user_id, key, request_sha256(*_request(path, key))
            )
        except DomainError:  # the key of another form: not this one's answer
            return None
    return None if replay is None else model.model_validate(replay.body)


def remember(call: PageCall, path: str, key: str, answer: BaseModel) -> None:
    """Keep ``answer`` under ``key`` (a form sent twice at once keeps the first)."""
    forms.once(call, key, _request(path, key), lambda _conn: answer)
