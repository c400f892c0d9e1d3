"""Bodies of /auctions and /fleet."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from api.http.schemas.accounts import Strict
from api.http.schemas.fields import (
    AssetMw,
    AssetMwh,
    ConfigFraction,
    ConfigHours,
    Cycles,
    Day,
    Efficiency,
    Eic,
    Factor,
    Fraction,
    GateClosureS,
    Hours,
    Instant,
    Key,
    MtuMinutes,
    Mw,
    PriceEurPerMw,
    SafeId,
    TimeLimitS,
    UtcInstant,
)

# Batch lengths: far above a real auction day or pool, and what the body limits of
# api.http.limits are measured for.
MAX_PRODUCTS = 1_000
MAX_ALLOCATIONS = 10_000
MAX_ASSETS = 10_000


class AuctionSettings(BaseModel):
    """auction.json's keys other than its id, day and instants: what an auction template
    (api.http.schemas.calendar) shares with an auction."""

    model_config = ConfigDict(extra="forbid")

    time_zone: str | None = Field(default=None, max_length=64, description="an IANA zone")
    tso_zone: Eic | None = Field(default=None, description="EIC of the TSO control area")
    mtu_minutes: MtuMinutes | None = None
    fcr_energy_h: ConfigHours | None = None
    afrr_energy_h: ConfigHours | None = None
    initial_soc_fraction: ConfigFraction | None = None
    final_soc_fraction: ConfigFraction | None = None
    final_soc_tolerance: ConfigFraction | None = None
    dispatch_gate_closure_s: GateClosureS | None = None
    time_limit_s: TimeLimitS | None = None


class AuctionIn(AuctionSettings):
    """auction.json's keys (docs/archive.md); unset keys take the documented defaults."""

    auction_id: SafeId | None = Field(default=None, description="default: a new random id")
    delivery_day: Day
    gate_open: Instant | None = None
    gate_close: Instant | None = None
    publish_at: Instant | None = None


class ProductIn(Strict):
    """A row of products.csv."""

    product_id: SafeId
    start: Instant
    end: Instant
    wholesale_mw: Factor
    wholesale_h: Hours
    fcr_mw: Factor
    afrr_pos_mw: Factor
    afrr_neg_mw: Factor
    min_mw: Mw
    increment_mw: Mw
    reserve_price_eur_per_mw: PriceEurPerMw
    max_mw: Mw | None = None
    eta_charge: Efficiency | None = None
    eta_discharge: Efficiency | None = None
    daily_cycle_limit: Cycles | None = None


class AllocationIn(Strict):
    """A row of allocations.csv: capacity for a designated optimiser, served before bids."""

    org_id: Key
    product_id: Key
    quantity_mw: Mw


class AuctionCreate(Strict):
    auction: AuctionIn
    products: list[ProductIn] = Field(min_length=1, max_length=MAX_PRODUCTS)
    allocations: list[AllocationIn] = Field(default_factory=list, max_length=MAX_ALLOCATIONS)
    auto_publish: bool = Field(
        default=False, description="clear and publish by itself at publish_at"
    )


class AllocationsIn(Strict):
    allocations: list[AllocationIn] = Field(max_length=MAX_ALLOCATIONS)


class AllocationPublic(BaseModel):
    """A fixed allocation as stored: served before the bids, at price 0."""

    org_id: str
    product_id: str
    quantity_mw: float


class ProductPublic(BaseModel):
    product_id: str
    start: UtcInstant
    end: UtcInstant
    wholesale_mw: float
    wholesale_h: float
    fcr_mw: float
    afrr_pos_mw: float
    afrr_neg_mw: float
    min_mw: float
    increment_mw: float
    reserve_price_eur_per_mw: float
    max_mw: float | None
    eta_charge: float
    eta_discharge: float
    daily_cycle_limit: float | None


class AuctionPublic(BaseModel):
    auction_id: str
    delivery_day: date
    status: str = Field(description="draft, open, closed, cleared, published or cancelled")
    gate_open: UtcInstant | None
    gate_close: UtcInstant
    publish_at: UtcInstant
    auto_publish: bool
    config: dict[str, Any] = Field(description="auction.json of the auction")
    products: list[ProductPublic]
    my_status: str | None = Field(
        default=None,
        description="a bidder's own view: NOT_STARTED, RUNNING, PENDING, WON, LOST, "
        "NO_BIDS_SUBMITTED",
    )
    clearing: str | None = Field(
        default=None,
        description="operators, once cleared: whether the result is proven optimal and, if "
        "not, why and how far it may be from the best revenue (publishing a result that is "
        "not proven optimal is the operator's decision)",
    )


class AssetIn(Strict):
    """A row of fleet.csv."""

    asset_id: SafeId
    tso_zone: Eic = Field(description="EIC of the control area of its grid connection")
    p_charge_mw: AssetMw
    p_discharge_mw: AssetMw
    e_min_mwh: AssetMwh
    e_max_mwh: AssetMwh
    fcr: bool
    afrr_pos: bool
    afrr_neg: bool
    owner_org: Key | None = None
    eta_charge: Efficiency | None = Field(
        default=None, description="one-way charge efficiency in (0, 1]; default 0.95"
    )
    eta_discharge: Efficiency | None = Field(
        default=None, description="one-way discharge efficiency in (0, 1]; default 0.95"
    )


class FleetIn(Strict):
    assets: list[AssetIn] = Field(max_length=MAX_ASSETS)


class AssetPublic(BaseModel):
    asset_id: str
    tso_zone: str
    p_charge_mw: float
    p_discharge_mw: float
    e_min_mwh: float
    e_max_mwh: float
    fcr: bool
    afrr_pos: bool
    afrr_neg: bool
    owner_org: str | None
    eta_charge: float
    eta_discharge: float


class OutageIn(Strict):
    """A row of availability.csv: in [start, end) the asset's power and energy are scaled."""

    asset_id: Key
    start: Instant
    end: Instant
    available_fraction: Fraction = Field(description="0 = outage, 1 = fully available")


class BlockUnavailable(BaseModel):
    """Part of a block the rest of the fleet cannot carry: its owner is credited for it."""

    virtual_asset_id: str
    block_id: str
    org_id: str
    start: UtcInstant
    end: UtcInstant
    lost_kw: int


class ScheduleBroken(BaseModel):
    """A point of an accepted schedule that no longer fits the reduced block."""

    virtual_asset_id: str
    block_id: str
    time: UtcInstant
    power: int
    rule: str


class ReserveCut(BaseModel):
    bid_id: str
    org_id: str
    virtual_asset_id: str
    product_date_code: str
    accepted_kw: int
    available_kw: int


class OutageCreated(BaseModel):
    outage_id: str
    asset_id: str
    start: UtcInstant
    end: UtcInstant
    available_fraction: float
    rebacking: str = Field(description="what the re-backing did, in words")
    blocks_touched: int = Field(description="blocks whose backing changed")
    moved_kw: int = Field(description="kW of backing moved to other assets")
    lost_kw: int = Field(description="kW no asset could take over (most at once)")
    unavailable: list[BlockUnavailable]
    schedule_conflicts: list[ScheduleBroken]
    reserve_cut: list[ReserveCut] = Field(
        description="accepted ancillary bids whose block can no longer give all the reserve "
        "the TSO took (their owners see `undeliverable_kw` on the bid)"
    )
