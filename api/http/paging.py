"""Pages of every list: ``limit`` and ``offset`` query parameters, one dependency for all.

A list answers ``{"items": [...], "next": ...}`` (``ListOf``): at most ``limit`` items
(1 to ``MAX_PAGE``, default ``MAX_PAGE``) from ``offset`` in its documented order. When
more items remain, ``next`` is the relative URL of the same query with the next offset,
and the answer carries it in ``Link: <...>; rel="next"`` too, so a truncated answer says
so; on the last page ``next`` is null and there is no ``Link``. The pages of the web
frontend call the route functions directly and, without the dependency, get
``EVERYTHING``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, TypeVar

from fastapi import Depends, Query, Request, Response

from api.http.schemas.lists import ListOf

MAX_PAGE = 1000
# Far beyond any list and small enough for every store's OFFSET (a 64-bit integer).
MAX_OFFSET = 1_000_000_000

S = TypeVar("S")
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page:
    """Which items of a list to answer, and where the next page is."""

    limit: int | None  # None: every item (a caller in this process, not a client)
    offset: int = 0
    request: Request | None = None
    response: Response | None = None

    @property
    def fetch(self) -> int | None:
        """How many items to read from ``offset``: one more than the page, to know
        whether another page follows."""
        return None if self.limit is None else self.limit + 1

    def of(self, items: Sequence[S], public: Callable[[S], T]) -> ListOf[T]:
        """The answer for this page of the whole ordered list ``items``, each item
        made public by ``public``."""
        return self.of_fetched(items[self.offset :], public)

    def of_fetched(self, items: Sequence[S], public: Callable[[S], T]) -> ListOf[T]:
        """The answer for this page of ``items`` read from ``offset`` (at most
        ``fetch`` of them, as a store's LIMIT/OFFSET gives)."""
        if self.limit is None or len(items) <= self.limit:
            return ListOf(items=[public(i) for i in items], next=None)
        return ListOf(items=[public(i) for i in items[: self.limit]], next=self._next())

    def _next(self) -> str | None:
        if self.request is None or self.limit is None:
            return None
        url = self.request.url.include_query_params(
            limit=self.limit, offset=self.offset + self.limit
        )
        # A relative reference: right behind a proxy that rewrites the host.
        target = f"{url.path}?{url.query}"
        if self.response is not None:
            self.response.headers["Link"] = f'<{target}>; rel="next"'
        return target


EVERYTHING = Page(limit=None)


def whole(items: Sequence[T]) -> ListOf[T]:
    """A list answered whole in one page (a replaced collection, a batch just stored)."""
    return ListOf(items=list(items), next=None)


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
            description="items to skip; the answer's `next` (and its "
            '`Link: <...>; rel="next"` header) gives the next page',
        ),
    ] = 0,
) -> Page:
    return Page(limit, offset, request, response)


Paging = Annotated[Page, Depends(page_of)]
