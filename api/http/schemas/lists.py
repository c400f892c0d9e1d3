"""The one shape of every list answer: ``{"items": [...], "next": <URL> | null}``."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, Field

T = TypeVar("T")


class ListOf(BaseModel, Generic[T]):
    """One page of a list, its items in the list's documented order.

    ``next`` is the relative URL of the next page (the same query with the next
    ``offset``), or null on the last page; the ``Link: <...>; rel="next"`` header says
    the same.
    """

    items: list[T]
    next: str | None = Field(
        description="relative URL of the next page (same query, next offset); null on the last",
        examples=["/auctions?limit=100&offset=100"],
    )
