"""Ids in URL paths, judged before any route looks them up.

Every path parameter names a stored thing (an auction, a bid, a day): at most as long as
the store's id columns, and without control characters. PostgreSQL cannot even compare a
NUL byte (it would answer a 500), so a path holding one, or an id longer than any stored,
is answered 404 before any query runs, on the API and on the pages alike: nothing can be
found under it, and it gets the same answer as any other missing id.
"""

from __future__ import annotations

from fastapi import Depends, Request

from auction.errors import NotFound
from auction.limits import ID_MAX_LENGTH, control_character


def check_path(request: Request) -> None:
    for name, value in request.path_params.items():
        if not isinstance(value, str):
            continue
        if len(value) > ID_MAX_LENGTH or control_character(value) is not None:
            raise NotFound(name.removesuffix("_id"), value)


CHECKED_PATH = Depends(check_path)
