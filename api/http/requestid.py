"""A request id on every answer: ``X-Request-ID``, also in log lines and error bodies.

A client (or a proxy in front of us) may send its own ``X-Request-ID`` so that one id
follows the request through every system; we keep it when it is short and plain
(``SAFE``), and otherwise make one. Code anywhere in the request reads it with
``current()``: the id lives in a context variable that FastAPI's thread pool copies.
"""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = "x-request-id"
SAFE = re.compile(r"[A-Za-z0-9._:-]{1,64}")

_current: ContextVar[str | None] = ContextVar("vba_request_id", default=None)


def current() -> str | None:
    """The id of the request being answered, or None outside a request."""
    return _current.get()


def new_id() -> str:
    return uuid.uuid4().hex


def chosen(headers: Headers) -> str:
    """The client's id when it is safe to repeat in headers and logs, else a new one."""
    sent = headers.get(HEADER, "")
    return sent if SAFE.fullmatch(sent) else new_id()


class RequestIds:
    """The ASGI layer that gives each HTTP request its id and puts it on the answer; it
    sits outside Starlette's error layer so that a 500 carries it too."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = chosen(Headers(scope=scope))
        token = _current.set(request_id)
        header = (HEADER.encode(), request_id.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", []) if h[0].lower() != header[0]]
                message = {**message, "headers": [*headers, header]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            _current.reset(token)
