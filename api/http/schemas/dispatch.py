"""Bodies of virtual assets, schedules, outages and setpoints. Power in kW (the guide's
unit): positive discharges (export), negative charges (import)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from api.http.schemas.accounts import Strict
from api.http.schemas.fields import KW_TOLERANCE, Moment, PowerKw, UtcInstant

MAX_POINTS = 200  # a DST day has 100 quarter-hours


class SchedulePoint(Strict):
    power: PowerKw = Field(
        description="kW for the MTU starting at `time`: positive discharges (export), "
        "negative charges (import); whole kW: a number within "
        f"{KW_TOLERANCE:.6f} kW of an integer (as floating point gives, 300.00000000000006) is "
        "taken as that integer, anything farther (300.4) is refused",
        examples=[380],
    )
    time: Moment = Field(
        description="the start of an MTU of the block's window, with an offset",
        examples=["2026-11-29T14:30:00Z"],
    )


class ScheduleIn(Strict):
    """The guide's body: the power of each MTU named; MTUs not named keep their value."""

    schedule: list[SchedulePoint] = Field(min_length=1, max_length=MAX_POINTS)


class Unavailability(BaseModel):
    """A stretch of time in which an outage left part of the block without backing."""

    start: UtcInstant
    end: UtcInstant
    lost_kw: int
    available_kw: int


class ScheduleConflict(BaseModel):
    """A point of the accepted schedule that an outage has since made too large."""

    time: UtcInstant
    power: int
    available_kw: int
    rule: str


class BlockPublic(BaseModel):
    block_id: str
    market: Literal["wholesale", "fcr", "afrr_pos", "afrr_neg"]
    power_kw: int
    energy_kwh: int
    start: UtcInstant
    end: UtcInstant
    dispatchable: bool = Field(description="wholesale blocks take schedules; reserve blocks do not")
    initial_soc_kwh: float | None = Field(description="wholesale: the virtual SoC at `start`")
    final_soc_target_kwh: float | None
    eta_charge: float | None
    eta_discharge: float | None
    daily_cycle_limit: float | None
    gate_closure_s: int = Field(
        description="schedules for an MTU may change until this many seconds before it starts"
    )
    unavailability: list[Unavailability]


class VirtualAssetPublic(BaseModel):
    virtual_asset_id: str
    auction_id: str
    org_id: str
    bid_id: str | None
    product_id: str
    start: UtcInstant
    end: UtcInstant
    status: Literal["upcoming", "active", "past"]
    power_kw: int = Field(description="the wholesale block's power (0 for reserve-only)")
    energy_kwh: int = Field(description="the wholesale block's energy")
    blocks: list[BlockPublic]


class SocPoint(BaseModel):
    time: UtcInstant = Field(description="an MTU edge")
    soc_kwh: float


class ScheduleView(BaseModel):
    """A block's current schedule and what it does to the virtual state of charge."""

    block_id: str
    virtual_asset_id: str
    version: int = Field(description="0: never dispatched")
    accepted_at: UtcInstant | None
    schedule: list[SchedulePoint] = Field(description="every MTU of the window")
    soc: list[SocPoint] = Field(description="the SoC at every MTU edge, first the initial SoC")
    end_soc_kwh: float
    final_soc_target_kwh: float
    imbalance_kwh: float = Field(description="end SoC minus target: + over-, - under-charged")
    imbalance: str = Field(description="the imbalance in words")
    conflicts: list[ScheduleConflict] = Field(
        description="points an outage has made too large since they were accepted"
    )


class ScheduleVersionPublic(BaseModel):
    version: int
    accepted_at: UtcInstant
    user_id: str
    points: int = Field(description="how many points the request named")
    schedule: list[SchedulePoint]


class Setpoint(BaseModel):
    asset_id: str
    start: UtcInstant = Field(description="the MTU's start")
    power_kw: float = Field(description="positive discharges, negative charges")
    soc_kwh: float = Field(description="planned physical SoC at the MTU's end")


class Shortfall(BaseModel):
    start: UtcInstant
    virtual_kw: float = Field(description="the sum of all wholesale schedules")
    physical_kw: float = Field(description="what the fleet delivers")
    shortfall_kw: float


class Trade(BaseModel):
    start: UtcInstant = Field(description="the MTU's start")
    trade_kw: float = Field(
        description="the operator's own wholesale trade: positive sells (the fleet "
        "discharges beyond the customers' total), negative buys (it charges)"
    )


class BandBreach(BaseModel):
    asset_id: str
    start: UtcInstant = Field(description="the MTU's start")
    soc_kwh: float = Field(description="planned physical SoC at the MTU's end")
    lo_kwh: float = Field(description="the least SoC its reserve blocks need")
    hi_kwh: float = Field(description="the most SoC its reserve blocks allow")
    reason: str = Field(description="why no setpoint can keep it inside")


class SetpointList(BaseModel):
    summary: list[str] = Field(description="one sentence per delivery day")
    setpoints: list[Setpoint]
    shortfall: list[Shortfall]
    trades: list[Trade] = Field(
        description="the rebalancing plan the setpoints include (empty with rebalance=false)"
    )
    breaches: list[BandBreach] = Field(
        description="MTUs where an asset's planned SoC is outside its reserve band, and why"
    )


class RebalancingPlan(BaseModel):
    summary: list[str] = Field(description="one sentence per delivery day")
    trades: list[Trade] = Field(description="MTUs where the operator trades, by start")
    breaches: list[BandBreach] = Field(
        description="MTUs where an asset stays outside its reserve band even with the plan"
    )
