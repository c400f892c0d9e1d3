"""A 405 names every method of the resource in ``Allow`` (RFC 9110 §15.5.6).

Starlette answers a method no route of the path takes with the ``Allow`` of the first route
that matched the path only: ``OPTIONS /auctions`` said ``Allow: GET`` though ``POST
/auctions`` exists. This middleware rewrites ``Allow`` on a 405 from all the routes whose
path matches.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """Every method some route of ``app`` takes at ``path`` (HEAD with GET)."""
    methods: set[str] = set()
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, Route) and route.methods and route.path_regex.match(path):
            methods |= route.methods
    return sorted(methods)


class AllowHeader:
    """Rewrites ``Allow`` on every 405 answer of ``fastapi_app``."""

    def __init__(self, app: ASGIApp, fastapi_app: FastAPI) -> None:
        self.app = app
        self.fastapi_app = fastapi_app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_allow(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 405:
                allow = ", ".join(allowed_methods(self.fastapi_app, scope["path"]))
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"allow"]
                message["headers"] = [*headers, (b"allow", allow.encode())]
            await send(message)

        await self.app(scope, receive, send_with_allow)
