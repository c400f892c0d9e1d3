"""One log line and the metrics of every HTTP request, from the ASGI layer just inside
``RequestIds`` (so the line has the request's id, and 413s and 500s are seen too).

The line names the route's template (``/auctions/{auction_id}``), never the concrete
path, the query or a header: paths carry ids of other organisations' objects, queries
and headers may carry tokens. Health probes and scrapes are logged at DEBUG so that they
do not flood the log.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Sequence
from contextvars import ContextVar
from typing import Any

from fastapi.routing import iter_route_contexts
from starlette.routing import BaseRoute, Mount, Route, compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.http import requestid
from api.http.metrics import Metrics
from api.services import events

log = logging.getLogger("vba.http")

UNMATCHED = "(unmatched)"
QUIET_ROUTES = frozenset({"/healthz", "/readyz", "/metrics"})
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

# Facts only the inner layers learn (who signed in), for the request's line; a mutable
# dict so that a layer running in a copied context still writes into this request's.
_facts: ContextVar[dict[str, str] | None] = ContextVar("vba_request_facts", default=None)


def signed_in(org_id: str) -> None:
    """Note the organisation of the user making the request being answered."""
    facts = _facts.get()
    if facts is not None:
        facts["org_id"] = org_id


Template = tuple[re.Pattern[str], str]


def _templates(routes: Sequence[BaseRoute]) -> list[Template]:
    out: list[Template] = []
    for context in iter_route_contexts(routes):
        route = context.original_route
        if isinstance(route, Mount):
            out.append((route.path_regex, route.path_format))
        elif isinstance(route, Route):
            pattern, path_format, _ = compile_path(route.path)
            out.append((pattern, path_format))
    return out


class Observed:
    """The ASGI layer: times each request, then logs its line and counts it."""

    def __init__(self, app: ASGIApp, routes: Sequence[BaseRoute], metrics: Metrics) -> None:
        self.app = app
        self.routes = routes
        self.metrics = metrics
        self._templates: list[Template] | None = None  # read on first use: all included

    def template(self, scope: Scope) -> str:
        """The path template of the route the request went to (or would have gone to,
        for a request refused before routing)."""
        route = scope.get("route")
        if isinstance(route, Route | Mount):
            return route.path_format
        if self._templates is None:
            self._templates = _templates(self.routes)
        path: str = scope["path"]
        return next((fmt for pattern, fmt in self._templates if pattern.match(path)), UNMATCHED)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # if the app fails before it answers, the server answers 500
        facts: dict[str, str] = {}
        token = _facts.set(facts)

        async def send_seen(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            with events.listening(self.metrics.on_event):
                await self.app(scope, receive, send_seen)
        finally:
            _facts.reset(token)
            self.record(scope, status, time.perf_counter() - started, facts)

    def record(self, scope: Scope, status: int, seconds: float, facts: dict[str, str]) -> None:
        method = scope["method"] if scope["method"] in METHODS else "OTHER"
        route = self.template(scope)
        self.metrics.request(method, route, status, seconds)
        fields: dict[str, Any] = {
            "event": "http.request",
            "method": method,
            "route": route,
            "status": status,
            "duration_ms": round(seconds * 1000, 1),
            **facts,
            "request_id": requestid.current(),
        }
        level = logging.DEBUG if route in QUIET_ROUTES else logging.INFO
        log.log(level, "request", extra={"fields": fields})
