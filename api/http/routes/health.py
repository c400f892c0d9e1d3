"""For the operator's machines: is the server alive (``/healthz``), ready to serve
(``/readyz``), and its metrics (``/metrics``). docs/operations.md describes them.

No user signs in here: a load balancer or an orchestrator probes the first two, and
Prometheus scrapes the third with ``VBA_METRICS_TOKEN``. None of them is in the OpenAPI
document: they are not the product's API.
"""

from __future__ import annotations

import hmac
import logging

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.responses import JSONResponse

from api.http import requestid
from api.http.metrics import CONTENT_TYPE, Metrics
from api.http.settings import Settings
from auction.store import Store
from auction.store.migrate import current_version, head

log = logging.getLogger("vba.api")
router = APIRouter(include_in_schema=False)


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """Alive: the process answers HTTP. Touches nothing else, so a slow store never gets
    a healthy server restarted."""
    return {"status": "ok"}


def _unready(request: Request, detail: str, checks: dict[str, str]) -> JSONResponse:
    log.warning("not ready: %s", detail)
    body = {
        "type": "about:blank",
        "title": "Service Unavailable",
        "status": 503,
        "detail": detail,
        "instance": request.url.path,
        "request_id": requestid.current(),
        "checks": checks,
    }
    return JSONResponse(body, status_code=503, media_type="application/problem+json")


@router.get("/readyz")
def readyz(request: Request) -> JSONResponse:
    """Ready: the store answers and its schema is the one this code needs."""
    store: Store = request.app.state.store
    try:
        revision = current_version(store)
    except Exception as exc:  # whatever the driver raises, the answer is "not ready"
        # The class only: a driver's message may name the database's host or user.
        detail = f"the store does not answer ({type(exc).__name__})"
        return _unready(request, detail, {"store": "unreachable", "migrations": "unknown"})
    if revision != head():
        detail = (
            f"the store's schema is at revision {revision or 'none'}, this server needs "
            f"{head()}: restart the server, it migrates the store when it starts"
        )
        return _unready(request, detail, {"store": "ok", "migrations": "behind"})
    return JSONResponse({"status": "ok", "checks": {"store": "ok", "migrations": "ok"}})


@router.get("/metrics")
def metrics(request: Request) -> Response:
    """Prometheus's text format, for a scraper that sends ``VBA_METRICS_TOKEN`` as its
    bearer token; without that setting the route answers as if it did not exist."""
    settings: Settings = request.app.state.settings
    if not settings.metrics_token:
        raise HTTPException(404, "Not Found")
    scheme, _, sent = request.headers.get("authorization", "").partition(" ")
    expected = settings.metrics_token.encode()
    if scheme.lower() != "bearer" or not hmac.compare_digest(sent.strip().encode(), expected):
        raise HTTPException(
            401,
            "send the metrics token (VBA_METRICS_TOKEN) as Authorization: Bearer <token>",
            headers={"WWW-Authenticate": "Bearer"},
        )
    registry: Metrics = request.app.state.metrics
    return Response(registry.exposition(), media_type=CONTENT_TYPE)
