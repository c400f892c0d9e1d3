"""The FastAPI application: ``create_app(settings)``."""

from __future__ import annotations

import asyncio
import logging
import os
import warnings
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI
from pydantic.warnings import UnsupportedFieldAttributeWarning
from starlette.datastructures import Headers
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Receive, Scope, Send

from api import services, web
from api.http import deps, errors, limits, logs, openapi, paths
from api.http.allow import AllowHeader
from api.http.headers import ResponseHeaders
from api.http.limits import BodyLimit
from api.http.metrics import Metrics
from api.http.observe import Observed
from api.http.ratelimit import WriteLimiter
from api.http.requestid import RequestIds
from api.http.routes import (
    admin,
    ancillary,
    auctions,
    auth,
    bids,
    calendar,
    fleet,
    health,
    sandbox,
    settlement,
    virtual_assets,
)
from api.http.security import read_token
from api.http.settings import Settings
from api.services import events
from auction.store import Store, migrate
from auction.store.leader import Leadership
from auction.store.sandbox_clock import StoreClock

# What the scheduler does each round; importable from here as before.
tick = services.scheduler.tick

# pydantic warns about the alias FastAPI gives every path parameter; it is harmless noise.
warnings.filterwarnings("ignore", category=UnsupportedFieldAttributeWarning)

DESCRIPTION = """
Sealed, pay-as-bid auctions of **virtual batteries**.

1. Get a token: `POST /auth/public/authenticate` with your email and password.
2. Send it on every call: `Authorization: Bearer <access_token>`.
3. `GET /auth/me` tells your organisation id (`org_id`) for the `/organisations/{orgId}` paths.
4. `GET /auctions` lists auctions and their products; bid with
   `POST /organisations/{orgId}/auctions/{auctionId}/bids` while the gate is open.

Quantities are MW, prices EUR/MW (at most two decimals). Send times as ISO 8601 with an
offset; every time in an answer is UTC with `Z` (`2026-11-27T14:00:00Z`). Keys are the
column names of the auction archive.

Every error is RFC 9457 problem details (`application/problem+json`): `{type, title,
status, detail, instance, request_id}`, `detail` one sentence saying what went wrong. A 422
also lists in `errors` every field, the value and the rule it breaks; a 409 adds the facts
to act on, a 429 `retry_after_s` and `retry_at`. A refused request changes nothing.
"""


def _token(headers: Headers) -> str | None:
    """The access token a request carries: the API's bearer header or the pages' cookie."""
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return cookie_parser(headers.get("cookie", "")).get(web.session.COOKIE)


class VbaApi(FastAPI):
    """FastAPI with our layers outside Starlette's own stack: the request id, the request's
    log line and metrics, the answer's headers (``add_middleware`` would put them inside
    Starlette's error layer, and its 500s would go out without them), then the body limit,
    before anything reads a body."""

    def build_middleware_stack(self) -> ASGIApp:
        settings: Settings = self.state.settings
        clock: StoreClock = self.state.clock

        def signed_in(headers: Headers) -> bool:
            token = _token(headers)
            key, wall = settings.secret_key, clock.base()  # tokens follow the real clock
            return token is not None and read_token(token, settings.env, key, wall) is not None

        inner = BodyLimit(super().build_middleware_stack(), self.router.routes, signed_in)
        observed = Observed(
            ResponseHeaders(inner, settings.env), self.router.routes, self.state.metrics
        )
        return RequestIds(_stamped(observed, clock.base))

    def openapi(self) -> dict[str, Any]:
        if self.openapi_schema is None:
            limits.describe(super().openapi())
        return super().openapi()


def _stamped(app: ASGIApp, base: Callable[[], datetime]) -> ASGIApp:
    """Stamp each HTTP request with the real time it arrived (``deps.ARRIVED``)."""

    async def stamp(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope[deps.ARRIVED] = base()
        await app(scope, receive, send)

    return stamp


def scheduled_tick(
    store: Store, clock: StoreClock, metrics: Metrics, grace: timedelta = timedelta(0)
) -> None:
    """One tick of the scheduler at the clock's time, never beside a sandbox move's own
    catch-up; gates close ``grace`` after their time; events and failures counted in
    ``metrics``."""
    with events.listening(metrics.on_event), clock.turn:
        now = clock()
        try:
            tick(store, now, grace)
        except Exception:  # the loop must outlive a store that does not answer
            events.emit(
                "scheduler.failed",
                "scheduler tick failed",
                level=logging.ERROR,
                exc_info=True,
                step="tick",
                at=events.instant(now),
            )
            return
    metrics.ticked()


def scheduled_round(
    leadership: Leadership, store: Store, clock: StoreClock, metrics: Metrics, grace: timedelta
) -> None:
    """One round of the scheduler in one worker: the tick if this worker leads (one over
    all workers and machines on a store, ``auction.store.leader``), else nothing."""
    was_leading = leadership.leading
    leading = leadership.hold()
    if leading != was_leading:
        with events.listening(metrics.on_event):
            if leading:
                events.emit(
                    "scheduler.leader", "this worker runs the scheduler now", pid=os.getpid()
                )
            else:
                events.emit(
                    "scheduler.follower",
                    "this worker no longer runs the scheduler",
                    level=logging.WARNING,
                    pid=os.getpid(),
                )
    metrics.leading(leading)
    if leading:
        scheduled_tick(store, clock, metrics, grace)


async def _scheduler(store: Store, clock: StoreClock, settings: Settings, metrics: Metrics) -> None:
    leadership = Leadership(store)
    grace = timedelta(seconds=settings.gate_grace_s)
    every_s = settings.tick_s
    try:
        while True:
            await asyncio.to_thread(scheduled_round, leadership, store, clock, metrics, grace)
            await asyncio.sleep(every_s)
    finally:  # cancelled at shutdown: hand the lead over at once
        leadership.release()


def _utc_now() -> datetime:
    return datetime.now(UTC)


def create_app(
    settings: Settings | None = None,
    *,
    clock: Callable[[], datetime] = _utc_now,
    scheduler: bool = True,
) -> FastAPI:
    """The API over the store of ``settings`` (migrated on creation).

    ``clock`` is the base of the server's time: in the sandbox the store's offset is added
    to it (``POST /sandbox/clock`` moves it), in production it is the time.
    """
    settings = (settings or Settings.from_env()).checked()
    store = Store(settings.database_url)
    migrate(store)
    server_clock = StoreClock(store, clock, sandbox=settings.env == "sandbox")
    metrics = Metrics(store, server_clock)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        task = (
            asyncio.create_task(_scheduler(store, server_clock, settings, metrics))
            if scheduler
            else None
        )
        yield
        if task is not None:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
        store.dispose()

    app = VbaApi(
        title="vba-engine",
        summary="Virtual battery auctions: bids, clearing, awards",
        description=DESCRIPTION,
        version="0.2.0",
        lifespan=lifespan,
        docs_url=None,  # served by api.web.docs from vendored files (no CDN)
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.store = store
    app.state.clock = server_clock
    app.state.metrics = metrics
    app.state.write_limiter = WriteLimiter(settings.org_writes_per_s, settings.org_write_burst)
    errors.install(app)
    for module in (
        auth,
        admin,
        fleet,
        auctions,
        bids,
        virtual_assets,
        ancillary,
        settlement,
        calendar,
    ):
        app.include_router(module.router, dependencies=[paths.CHECKED_PATH])
    app.include_router(ancillary.pool_router, dependencies=[paths.CHECKED_PATH])
    app.include_router(health.router)
    if settings.env == "sandbox":  # production has no such route: an unknown path's 404
        app.include_router(sandbox.router, dependencies=[paths.CHECKED_PATH])
    web.install(app)
    openapi.document_errors(app)
    app.add_middleware(AllowHeader, fastapi_app=app)
    return app


def app_from_env() -> Any:
    """The factory ``uvicorn --factory api.http.app:app_from_env`` calls: a server, so it
    sets up the process's logging (``VBA_LOG_FORMAT``, ``VBA_LOG_LEVEL``)."""
    settings = Settings.from_env()
    logs.configure(settings.log_format, settings.log_level)
    return create_app(settings)
