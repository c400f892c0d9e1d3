"""Pages of every list: ``limit`` and ``offset`` query parameters, one dependency for all.

A list answers at most ``limit`` items (1 to ``MAX_PAGE``, default ``MAX_PAGE``) from
``offset`` in its documented order. The answer keeps its shape; when more items remain it
carries ``Link: <the same query with the next offset>; rel="next"``, so a truncated answer
says so. The pages of the web frontend call the route functions directly and, without
the dependency, get ``EVERYTHING``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, TypeVar

from fastapi import Depends, Query, Request, Response

MAX_PAGE = 1000
# Far beyond any list and small enough for every store's OFFSET (a 64-bit integer).
MAX_OFFSET = 1_000_000_000

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page:
    """Which items of a list to answer, and where to say that more remain."""

    limit: int | None  # None: every item (a caller in this process, not a client)
    offset: int = 0
    request: Request | None = None
    response: Response | None = None

    @property
    def fetch(self) -> int | None:
        """How many items to read from ``offset``: one more than the page, to know
        whether another page follows."""
        return None if self.limit is None else self.limit + 1

    def take(self, items: Sequence[T]) -> list[T]:
        """This page of the whole ordered list ``items``."""
        return self.fetched(items[self.offset :])

    def fetched(self, items: Sequence[T]) -> list[T]:
        """This page of ``items`` read from ``offset`` (at most ``fetch`` of them)."""
        if self.limit is None or len(items) <= self.limit:
            return list(items)
        self._link_next()
        return list(items[: self.limit])

    def _link_next(self) -> None:
        if self.request is None or self.response is None or self.limit is None:
            return
        url = self.request.url.include_query_params(
            limit=self.limit, offset=self.offset + self.limit
        )
        # A relative reference: right behind a proxy that rewrites the host.
        target = f"{url.path}?{url.query}"
        self.response.headers["Link"] = f'<{target}>; rel="next"'


EVERYTHING = Page(limit=None)


async def page_of(
    request: Request,
    response: Response,
    limit: Annotated[
        int,
        Query(ge=1, le=MAX_PAGE, description=f"items per answer, 1 to {MAX_PAGE}"),
    ] = MAX_PAGE,
    offset: Annotated[
        int,
        Query(
            ge=0,
            le=MAX_OFFSET,
            description='items to skip; a `Link: <...>; rel="next"` header gives the next page',
        ),
    ] = 0,
) -> Page:
    return Page(limit, offset, request, response)


Paging = Annotated[Page, Depends(page_of)]
