"""Bodies of ancillary bids: a virtual asset's FCR and aFRR reserve offered to the TSO.

Names follow LAYR's ancillary API where it has one (``productDateCode``,
``offeredCapacity`` in kW); both its camelCase and our snake_case names are accepted.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import AliasChoices, BaseModel, Field

from api.http.schemas.accounts import Strict
from api.http.schemas.fields import UtcInstant

MAX_BIDS = 300  # a day has 6 FCR, 12 aFRR capacity and up to 200 aFRR energy products
MAX_PRICE_EUR = Decimal(15_000)

Price = Decimal


class AncillaryBidIn(Strict):
    product_date_code: str = Field(
        validation_alias=AliasChoices("product_date_code", "productDateCode"),
        max_length=32,
        description="`YYYY-MM-DD_{product}`: `NEGPOS_00_04` … `NEGPOS_20_24` (FCR), "
        "`POS_00_04` … `NEG_20_24` (aFRR capacity), `POS_001` … `NEG_096` (aFRR energy, "
        "one per quarter-hour; 92 or 100 on DST days)",
        examples=["2026-12-08_NEGPOS_08_12"],
    )
    offered_capacity: int = Field(
        validation_alias=AliasChoices("offered_capacity", "offeredCapacity"),
        description="kW, a whole multiple of 1,000 (whole MW), at least 1,000; at most the "
        "reserve block's power less what an outage took, in every MTU of the product",
        examples=[2000],
    )
    capacity_price: Price | None = Field(
        default=None,
        validation_alias=AliasChoices("capacity_price", "capacityPrice"),
        ge=-MAX_PRICE_EUR,
        le=MAX_PRICE_EUR,
        decimal_places=2,
        description="EUR/MW/h, whole cents: required for FCR and aFRR capacity products",
        examples=[12.5],
    )
    energy_price: Price | None = Field(
        default=None,
        validation_alias=AliasChoices("energy_price", "energyPrice"),
        ge=-MAX_PRICE_EUR,
        le=MAX_PRICE_EUR,
        decimal_places=2,
        description="EUR/MWh, whole cents: required for aFRR energy products, optional for "
        "aFRR capacity, none for FCR",
        examples=[95.0],
    )


class AncillaryBidsIn(Strict):
    """One or many bids; each replaces the virtual asset's bid for its product until the
    gate. All are stored or none."""

    bids: list[AncillaryBidIn] = Field(min_length=1, max_length=MAX_BIDS)


Status = Literal["submitted", "sent", "accepted", "partially_accepted", "rejected", "withdrawn"]


class AncillaryBidPublic(BaseModel):
    bid_id: str
    virtual_asset_id: str
    product_date_code: str
    block_id: str = Field(description="the reserve block the bid draws on")
    delivery_day: date
    market: Literal["fcr", "afrr_capacity", "afrr_energy"]
    direction: Literal["NEGPOS", "POS", "NEG"]
    start: UtcInstant
    end: UtcInstant
    gate_closure: UtcInstant = Field(
        description="after it the bid can be neither changed nor withdrawn"
    )
    offered_capacity: int = Field(description="kW")
    capacity_price: Decimal | None = Field(description="EUR/MW/h")
    energy_price: Decimal | None = Field(description="EUR/MWh")
    status: Status
    accepted_capacity: int | None = Field(description="kW the TSO accepted, once known")
    accepted_price: Decimal | None = Field(description="the price it is paid, once known")
    version: int
    updated_at: UtcInstant
    available_kw: int | None = Field(
        default=None,
        description="what the reserve block can give now all through the product's window "
        "(less where an outage took some); in lists and single reads",
    )
    undeliverable_kw: int | None = Field(
        default=None,
        description="how much of the offer (or, once the TSO's result is in, of the "
        "accepted reserve) the block cannot give now: an outage's loss, reported to you",
    )


class AncillaryBidVersionPublic(BaseModel):
    version: int
    offered_capacity: int
    capacity_price: Decimal | None
    energy_price: Decimal | None
    withdrawn: bool
    user_id: str
    at: UtcInstant


class AncillaryBidHistory(AncillaryBidPublic):
    versions: list[AncillaryBidVersionPublic]


class TsoBids(BaseModel):
    """The pool's bids for the TSO's bid interface (regelleistung.net BSP API v3 shape),
    one per customer bid: ``bidId`` is the customer bid's id."""

    delivery_day: date
    market: Literal["fcr", "afrr_capacity", "afrr_energy"]
    bids: list[dict[str, object]]


class TsoResults(Strict):
    """The TSO's results: the exported bids with ``acceptedQuantity`` ({quantity: MW,
    measureUnit: MAW}) and, where accepted, the price paid first in ``prices``."""

    bids: list[dict[str, object]] = Field(max_length=100_000)


class ImportSummary(BaseModel):
    delivery_day: date
    statuses: dict[str, int] = Field(description="how many bids got each status")


class SandboxAuction(Strict):
    """What the sandbox's TSO needs: the demand per product name (default: 60 % of what
    is offered with the seeded competitors) and the competitors' seed."""

    demand_mw: dict[str, int] = Field(default_factory=dict, examples=[{"NEGPOS_08_12": 40}])
    seed: int = Field(default=7, ge=0, le=2**32 - 1)
