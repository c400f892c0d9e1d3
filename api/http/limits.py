"""Request size limits: refuse headers or a body that are too large before anything reads them.

The request line and headers may hold ``MAX_HEADER_BYTES`` (a 431 beyond). The server
(``api.http.serving``) runs h11 with the same limit, which bounds what it buffers of a
head that arrives in pieces; a head that arrives in one read is only measured here.

Every request may carry at most ``DEFAULT_BODY_BYTES``; a route that takes batches declares
its own limit with ``body_limit(n)`` (it also shows in the OpenAPI document as
``x-max-body-bytes``). A ``Content-Length`` above the limit is answered 413 at once, without
reading a byte; a body without one (``Transfer-Encoding: chunked``) is counted as it
arrives and refused as soon as it passes the limit, so nothing ever holds more than the
limit in memory. FastAPI reads the body before any dependency runs: without this a 100 MB
login body would be read, parsed and its password hashed before anybody was asked who
sent it.

A route's larger limit is only for a request that carries a valid access token (the
``Authorization`` header, or the pages' session cookie): FastAPI reads the body before it
asks who is calling, and an anonymous client must not make the server read megabytes on
its way to a 401. Without one, every body is held to the default.

The limits hold the largest legitimate body with headroom; ``docs/api.md`` lists them
with what each one holds (measured pretty-printed, with the longest allowed strings).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import fastapi.routing
from fastapi.exceptions import HTTPException
from starlette.datastructures import Headers
from starlette.routing import BaseRoute, compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.http import problems

KIB = 1024
MIB = 1024 * KIB
OPENAPI_KEY = "x-max-body-bytes"

# A request line and headers: a bearer token is under 1 KiB.
MAX_HEADER_BYTES = 16 * KIB
# Logins, invitations, single bids, schedules (200 points: 16 KB pretty-printed), steps.
DEFAULT_BODY_BYTES = 64 * KIB
# 10,000 bids with 64-character ids and 200-character groups: 5.6 MB pretty-printed.
BID_BATCH_BYTES = 8 * MIB
# 300 ancillary bids: 51 KB pretty-printed.
ANCILLARY_BATCH_BYTES = 256 * KIB
# 1,000 products and 10,000 allocations: 2.8 MB pretty-printed (allocations alone 2.2 MB).
AUCTION_BYTES = 4 * MIB
# 10,000 assets: 4.5 MB pretty-printed.
FLEET_BYTES = 8 * MIB
# The TSO's results of a day: about 90,000 bids as exported (compact), the file a person
# uploads on the pool page as well.
TSO_RESULTS_BYTES = 64 * MIB
# auction.json, products.csv (1,000 rows: 0.2 MB) and allocations.csv (10,000 rows: 1.4 MB)
# as a multipart form.
ARCHIVE_UPLOAD_BYTES = 4 * MIB
# Multipart framing around an uploaded file: boundaries, part headers, the other fields.
FORM_OVERHEAD_BYTES = 64 * KIB


def body_limit(max_bytes: int) -> dict[str, Any]:
    """A route's own body limit, as the ``openapi_extra`` of its decorator."""
    return {OPENAPI_KEY: max_bytes}


def _size(n: int) -> str:
    if n % MIB == 0:
        return f"{n // MIB} MiB"
    return f"{n // KIB} KiB" if n % KIB == 0 else f"{n} bytes"


def refusal(max_bytes: int) -> str:
    """What a 413 says: the limit and what to do instead."""
    return (
        f"the request body is larger than this endpoint takes ({_size(max_bytes)}, "
        f"{max_bytes} bytes); send fewer items per request (split a batch) or a smaller file"
    )


def describe(openapi: dict[str, Any], default: int = DEFAULT_BODY_BYTES) -> None:
    """State every write's body limit in the OpenAPI document: ``x-max-body-bytes`` and a
    sentence in its description."""
    for operations in openapi.get("paths", {}).values():
        for method in ("post", "put", "patch"):
            operation = operations.get(method)
            if operation is None:
                continue
            max_bytes = operation.setdefault(OPENAPI_KEY, default)
            note = f"The request body may hold at most {_size(max_bytes)}; a larger one is a 413."
            operation["description"] = f"{operation.get('description', '')}\n\n{note}".strip()


class BodyTooLarge(HTTPException):
    """Raised while the app reads a body that has passed its limit: FastAPI lets an
    ``HTTPException`` through its body parsing, so the app's handlers answer it (problem
    details for the API, an error page under ``/ui``)."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, refusal(max_bytes), headers={"Connection": "close"})


Limit = tuple[re.Pattern[str], frozenset[str], int]


def _declared(routes: Sequence[BaseRoute]) -> list[Limit]:
    """The routes that declare a limit: their path pattern, methods and limit.

    FastAPI >= 0.16x keeps included routers nested (``iter_route_contexts`` walks them with
    their prefixes); older versions list every route flat in ``app.routes``.
    """
    iter_contexts = getattr(fastapi.routing, "iter_route_contexts", None)
    found: Iterable[Any] = routes if iter_contexts is None else iter_contexts(routes)
    out = []
    for route in found:
        extra = getattr(route, "openapi_extra", None) or {}
        path = getattr(route, "path", None)
        if OPENAPI_KEY in extra and path:
            pattern, _format, _convertors = compile_path(path)
            methods = frozenset(getattr(route, "methods", None) or ())
            out.append((pattern, methods, int(extra[OPENAPI_KEY])))
    return out


def head_bytes(scope: Scope) -> int:
    """The size of the request line and headers as sent (near enough: the separators)."""
    line = len(scope["method"]) + len(scope.get("raw_path") or scope["path"]) + 11
    line += len(scope.get("query_string", b""))
    return line + sum(len(name) + len(value) + 4 for name, value in scope["headers"])


def _declared_length(scope: Scope) -> int:
    """The body's Content-Length, 0 if none or not a number (the server refuses those).

    A number of more than 18 digits counts as too large without ``int()``, which refuses
    to parse thousands of digits."""
    length = Headers(scope=scope).get("content-length", "")
    if not length.isdecimal():
        return 0
    return sys.maxsize if len(length) > 18 else int(length)


class BodyLimit:
    """The ASGI middleware: headers within ``MAX_HEADER_BYTES``; a body within the limit
    of the route a request goes to, else the default.

    ``routes`` is read on the first request, when every router has been included.
    """

    def __init__(
        self,
        app: ASGIApp,
        routes: Sequence[BaseRoute],
        signed_in: Callable[[Headers], bool],
        default: int = DEFAULT_BODY_BYTES,
    ) -> None:
        self.app = app
        self.routes = routes
        self.signed_in = signed_in
        self.default = default
        self._limits: list[Limit] | None = None

    def limit_for(self, scope: Scope) -> int:
        if self._limits is None:
            self._limits = _declared(self.routes)
        path: str = scope["path"]
        root: str = scope.get("root_path", "")
        if root and path.startswith(root):  # served under a prefix: routes match below it
            path = path[len(root) :]
        for pattern, methods, max_bytes in self._limits:
            if scope["method"] in methods and pattern.match(path):
                return max_bytes
        return self.default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if head_bytes(scope) > MAX_HEADER_BYTES:
            detail = (
                f"the request line and headers are larger than {_size(MAX_HEADER_BYTES)} "
                f"({MAX_HEADER_BYTES} bytes); send fewer or shorter headers"
            )
            await _answer(scope, receive, send, 431, detail)
            return
        max_bytes = self.limit_for(scope)
        if max_bytes > self.default and not self.signed_in(Headers(scope=scope)):
            max_bytes = self.default  # anonymous: a 401 does not need megabytes read first
        if _declared_length(scope) > max_bytes:
            await _answer(scope, receive, send, 413, refusal(max_bytes))
            return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > max_bytes:
                    raise BodyTooLarge(max_bytes)
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge:
            # The app let it through (no handler): answer it here unless it had answered.
            if started:
                raise
            await _answer(scope, receive, send, 413, refusal(max_bytes))


async def _answer(scope: Scope, receive: Receive, send: Send, status: int, detail: str) -> None:
    """A problem answer (``api.http.problems``) sent from here, before the app runs. The
    rest of the request is not wanted: the server closes the connection instead of
    reading it."""
    answer = problems.response(scope, status, detail, headers={"Connection": "close"})
    await answer(scope, receive, send)
