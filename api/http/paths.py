"""Ids in URL paths, judged before any route looks them up.

Every path parameter names a stored thing (an auction, a bid, a day): at most as long as
the store's id columns, and without control characters. PostgreSQL cannot even compare a
NUL byte (it would answer a 500), so such a path gets a 422 naming the parameter before
any query runs, on the API and on the pages alike.
"""

from __future__ import annotations

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError

from auction.limits import ID_MAX_LENGTH, control_character


def check_path(request: Request) -> None:
    errors = []
    for name, value in request.path_params.items():
        if not isinstance(value, str):
            continue
        if len(value) > ID_MAX_LENGTH:
            msg = f"must have at most {ID_MAX_LENGTH} characters; no {name} is longer"
        elif (found := control_character(value)) is not None:
            msg = f"must not contain control characters; found {found}"
        else:
            continue
        errors.append({"type": "path_id", "loc": ("path", name), "msg": msg, "input": value})
    if errors:
        raise RequestValidationError(errors)


CHECKED_PATH = Depends(check_path)
