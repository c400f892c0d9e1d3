"""The one shape of every error answer: RFC 9457 problem details.

``application/problem+json``, body ``{"type": "about:blank", "title", "status", "detail",
"instance", "request_id"}`` plus extension members where a status carries more: ``errors``
(422, every broken rule), the facts of a 409 or 412, ``retry_after_s`` and ``retry_at``
(429). ``detail`` is always one sentence a person can read. The API's handlers
(``api.http.errors``) and the ASGI layers outside FastAPI (``api.http.limits``) both build
their bodies here, so a client parses one shape whoever answered.
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi.responses import JSONResponse
from starlette.types import Scope

from api.http import echo, requestid

MEDIA_TYPE = "application/problem+json"
# Characters of the path ``instance`` repeats: the longest of our paths with ids of 64
# characters has 249; a hostile one of kilobytes is cut.
_MAX_INSTANCE = 300


def title(status: int) -> str:
    """The HTTP reason phrase of ``status`` (RFC 9457's ``title`` for ``about:blank``)."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def body(
    status: int, detail: str, path: str, extensions: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The problem details of an answer with ``status`` to the request for ``path``."""
    standard = {
        "type": "about:blank",
        "title": title(status),
        "status": status,
        "detail": detail,
        "instance": echo.text(path, limit=_MAX_INSTANCE),
        # Outside a request (a handler called directly) there is no id to repeat.
        "request_id": requestid.current() or requestid.new_id(),
    }
    extra = {k: v for k, v in (extensions or {}).items() if k not in standard}
    return {**standard, **extra}


class ProblemResponse(JSONResponse):
    media_type = MEDIA_TYPE


def response(
    scope: Scope,
    status: int,
    detail: str,
    extensions: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> ProblemResponse:
    """A problem answer to the request of ``scope``."""
    content = body(status, detail, scope.get("path", ""), extensions)
    return ProblemResponse(content, status_code=status, headers=headers)
