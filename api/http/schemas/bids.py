"""Bodies of bids, awards and results."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, Discriminator, Field, RootModel, Tag

from api.http.schemas.accounts import Strict
from api.http.schemas.fields import Key, Mw, PriceEurPerMw, Text, UtcInstant

MAX_BATCH = 10_000


class BidCreate(Strict):
    """A sealed pay-as-bid bid: up to ``quantity_mw`` of a product at ``price_eur_per_mw``."""

    bid_id: UUID | None = Field(
        default=None,
        description="your own id for the bid (a UUID); default: a new one. Bid ids are "
        "single-use within an auction: an id any bid of the auction ever had (yours or "
        "another organisation's, live or withdrawn) is refused with the same 409, which "
        "does not say whose it is; send a fresh UUID",
    )
    product_id: Key
    quantity_mw: Mw = Field(description="a multiple of the product's increment_mw")
    min_quantity_mw: Mw | None = Field(
        default=None,
        description="the least you accept if accepted at all (default: the product's "
        "min_mw); equal to quantity_mw for all-or-nothing",
    )
    price_eur_per_mw: PriceEurPerMw = Field(
        description="for the whole window; at most two decimals"
    )
    exclusive_group: Text | None = Field(
        default=None, description="at most one bid of your organisation with this name wins"
    )
    linked_to: UUID | None = Field(
        default=None, description="a bid of yours this bid depends on: accepted only if it is"
    )


class BidAmend(Strict):
    """The new terms of a bid (all of them: a PUT replaces the bid)."""

    product_id: Key
    quantity_mw: Mw
    min_quantity_mw: Mw | None = None
    price_eur_per_mw: PriceEurPerMw
    exclusive_group: Text | None = None
    linked_to: UUID | None = None


class BidBatch(Strict):
    """Many bids, accepted or refused together."""

    bids: list[BidCreate] = Field(min_length=1, max_length=MAX_BATCH)


def _kind(value: Any) -> str:
    if isinstance(value, BidBatch) or (isinstance(value, dict) and "bids" in value):
        return "batch"
    return "single"


class BidSubmission(
    RootModel[
        Annotated[
            Annotated[BidCreate, Tag("single")] | Annotated[BidBatch, Tag("batch")],
            Discriminator(_kind),
        ]
    ]
):
    """One bid, or ``{"bids": [...]}`` for many."""


class BidTerms(BaseModel):
    """What a bid says."""

    bid_id: str
    org_id: str
    product_id: str
    quantity_mw: float
    min_quantity_mw: float | None
    price_eur_per_mw: float
    exclusive_group: str | None
    linked_to: str | None


class BidPublic(BidTerms):
    submitted_at: UtcInstant = Field(description="time priority among equal prices")
    version: int = Field(description="send it as If-Match to amend or withdraw safely")


class BidVersion(BidTerms):
    """One version of a bid: what it said, who sent it and when; a withdrawal too."""

    version: int
    action: str = Field(description="submit, amend or withdraw")
    at: UtcInstant
    user_id: str


class AwardPublic(BaseModel):
    bid_id: str
    product_id: str
    awarded_mw: float
    price_eur_per_mw: float
    payment_eur: float
    status: str = Field(description="accepted, partial or rejected")
    reason: str | None = Field(description="why it got less than it asked")
    price_needed_eur_per_mw: float | None = Field(
        description="for a rejected or partial bid: the lowest price accepted in its product "
        "(a bid at or above it would have been competitive); null where price was not the reason"
    )
    virtual_asset_id: str | None


class ResultBid(BaseModel):
    price_eur_per_mw: float
    offered_mw: float
    awarded_mw: float


class ProductResult(BaseModel):
    product_id: str
    offered_mw: float
    awarded_mw: float
    allocated_mw: float = Field(description="fixed allocations to designated optimisers")
    lowest_accepted_eur_per_mw: float | None
    average_accepted_eur_per_mw: float | None = Field(description="weighted by awarded MW")
    highest_accepted_eur_per_mw: float | None
    bids: list[ResultBid] = Field(description="every bid, without its organisation, best first")


class AuctionResults(BaseModel):
    auction_id: str
    delivery_day: str
    products: list[ProductResult]
