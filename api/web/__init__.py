"""The web frontend: server-rendered pages under ``/ui`` for traders and operators.

Pages call the same services, route functions and pydantic models as the REST API; they
never call the API over HTTP. Everything a page loads comes from this server (vendored
uPlot under ``/static``), under a strict Content-Security-Policy.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.http import paths
from api.web import docs, pages
from api.web.session import LoginRequired, NotAllowed, login_url

STATIC_DIR = Path(__file__).parent / "static"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
_PAGE_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]
_VENDOR_CACHE = [(b"cache-control", b"public, max-age=31536000, immutable")]
_APP_CACHE = [(b"cache-control", b"no-cache")]


class PageHeaders:
    """Security headers on every page; a year's cache for versioned vendor files."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        extra = (
            _PAGE_HEADERS
            if path == "/ui" or path.startswith("/ui/")
            else _VENDOR_CACHE
            if path.startswith("/static/vendor/")
            else _APP_CACHE
            if path.startswith("/static/")
            else None
        )
        if extra is None:
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                # A header the answer set itself (a download's) is not sent twice.
                headers = message.get("headers", [])
                present = {name.lower() for name, _ in headers}
                message["headers"] = [*headers, *(h for h in extra if h[0] not in present)]
            await send(message)

        await self.app(scope, receive, send_with_headers)


Handler = Callable[[Request, Any], Response | Awaitable[Response]]


def _pages_answer_in_html(app: FastAPI) -> None:
    """Errors under ``/ui`` answer a page, not the API's JSON; the API's answers stay."""

    def for_pages(exc_class: type[Exception] | int) -> None:
        api_handler: Handler | None = app.exception_handlers.get(exc_class)

        async def handler(request: Request, exc: Any) -> Response:
            if request.url.path.startswith("/ui") or api_handler is None:
                return pages.error_page(request, exc)
            answer = api_handler(request, exc)
            return await answer if inspect.isawaitable(answer) else answer

        app.add_exception_handler(exc_class, handler)

    for exc_class in (*pages.PAGE_ERRORS, StarletteHTTPException, RequestValidationError):
        for_pages(exc_class)

    @app.exception_handler(LoginRequired)
    async def _login(_request: Request, exc: LoginRequired) -> Response:
        return RedirectResponse(login_url(exc.next_path), status_code=303)

    @app.exception_handler(NotAllowed)
    async def _not_allowed(request: Request, exc: NotAllowed) -> Response:
        return pages.error_page(request, exc)


def install(app: FastAPI) -> None:
    """Serve the pages, their static files and the offline API docs from ``app``."""
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    docs.install(app)
    for router in pages.routers():
        app.include_router(router, dependencies=[paths.CHECKED_PATH])
    _pages_answer_in_html(app)
    app.add_middleware(PageHeaders)
