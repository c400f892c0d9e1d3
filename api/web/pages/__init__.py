"""The pages, one module per screen or group of screens; each module has a ``router``.

Every module in this package is served: ``routers()`` finds them, so adding a screen is
adding a module (and its templates under ``templates/``).
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
import uuid
from collections.abc import Iterator

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.http.deps import context_of
from api.web.render import render
from api.web.session import NotAllowed, signed_in
from auction.errors import Conflict, DomainError, Forbidden, NotFound

log = logging.getLogger("vba.web")

# The errors a page may end in, besides Starlette's own (an unknown path, a bad query).
PAGE_ERRORS: tuple[type[Exception], ...] = (NotFound, Forbidden, Conflict, DomainError, Exception)


def routers() -> Iterator[APIRouter]:
    for module in pkgutil.iter_modules(__path__):
        yield importlib.import_module(f"{__name__}.{module.name}").router


def _status_and_message(exc: Exception) -> tuple[int, str]:
    if isinstance(exc, NotFound):
        return 404, str(exc)
    if isinstance(exc, Forbidden | NotAllowed):
        return 403, str(exc)
    if isinstance(exc, Conflict):
        return 409, str(exc)
    if isinstance(exc, DomainError | RequestValidationError):
        return 422, "the address holds a value this page cannot use"
    if isinstance(exc, StarletteHTTPException):
        if exc.status_code == 404:
            return 404, "there is no page at this address"
        return exc.status_code, str(exc.detail)
    reference = uuid.uuid4().hex[:12]
    log.exception("unexpected error on a page %s", reference, exc_info=exc)
    return 500, f"internal error (reference {reference}); nothing was changed, please retry"


def error_page(request: Request, exc: Exception) -> HTMLResponse:
    """The page of an error, in the frame of the signed-in user if there is one."""
    status, message = _status_and_message(exc)
    # A fault may come from the store itself: its page reads neither the session nor the
    # sandbox's clock.
    context = context_of(request, store_failed=status == 500)
    frame = (signed_in(request, context) if status != 500 else None) or context
    values = {"status": status, "message": message}
    return render(request, "error.html", frame, values, status_code=status, title=f"Error {status}")
