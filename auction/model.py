"""The auction configuration (auction.json) and the archive as a whole."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import polars as pl
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from auction.eic import eic_problem
from auction.limits import (
    FIRST_DAY,
    ID_MAX_LENGTH,
    LAST_DAY,
    MAX_CONFIG_HOURS,
    MAX_GATE_CLOSURE_S,
    MAX_TIME_LIMIT_S,
    SAFE_ID_RULE,
    instant_problem,
    is_safe_id,
)
from auction.timegrid import DEFAULT_TIME_ZONE

TENNET_DE = "10YDE-EON------1"


class AuctionConfig(BaseModel):
    """auction.json: one auction's identity, clock and physical conventions."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    # Bounds keep every value where the engine's arithmetic is exact and cannot overflow
    # (auction.limits); no number may be NaN or infinite.
    auction_id: str = Field(min_length=1, max_length=ID_MAX_LENGTH)
    delivery_day: date = Field(ge=FIRST_DAY, le=LAST_DAY)
    time_zone: str = Field(default=DEFAULT_TIME_ZONE, max_length=64)
    tso_zone: str = TENNET_DE
    gate_open: AwareDatetime | None = None
    gate_close: AwareDatetime | None = None
    publish_at: AwareDatetime | None = None
    mtu_minutes: int = Field(default=15, gt=0, le=60)
    fcr_energy_h: float = Field(default=0.25, ge=0, le=MAX_CONFIG_HOURS, allow_inf_nan=False)
    afrr_energy_h: float = Field(default=1.0, ge=0, le=MAX_CONFIG_HOURS, allow_inf_nan=False)
    initial_soc_fraction: float = Field(default=0.5, ge=0, le=1, allow_inf_nan=False)
    final_soc_fraction: float = Field(default=0.5, ge=0, le=1, allow_inf_nan=False)
    final_soc_tolerance: float = Field(default=0.01, ge=0, le=1, allow_inf_nan=False)
    dispatch_gate_closure_s: int = Field(default=330, ge=0, le=MAX_GATE_CLOSURE_S)
    time_limit_s: float = Field(default=60.0, gt=0, le=MAX_TIME_LIMIT_S, allow_inf_nan=False)

    @field_validator("auction_id")
    @classmethod
    def _safe_auction_id(cls, value: str) -> str:
        # It names URL paths and the directory of an export: "a/b" or ".." could not be one.
        if not is_safe_id(value):
            raise ValueError(f"auction_id must be {SAFE_ID_RULE}")
        return value

    @field_validator("tso_zone")
    @classmethod
    def _eic_zone(cls, value: str) -> str:
        problem = eic_problem(value)
        if problem is not None:
            raise ValueError(f"tso_zone must be the EIC of a control area: {problem}")
        return value

    @field_validator("gate_open", "gate_close", "publish_at")
    @classmethod
    def _in_range(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        # Checked before the gate times are compared: far from the years of the engine,
        # a comparison across UTC offsets overflows.
        problem = None if value is None else instant_problem(value)
        if problem is not None:
            raise ValueError(f"{info.field_name} {problem}")
        return value

    @model_validator(mode="after")
    def _fill_gate_times(self) -> AuctionConfig:
        # Defaults are local wall-clock times on D-2 (15:00 gate close, 17:00 publication).
        try:
            tz = ZoneInfo(self.time_zone)
        except Exception as exc:
            raise ValueError(f"time_zone {self.time_zone!r} is not a known IANA zone") from exc
        d2 = self.delivery_day - timedelta(days=2)
        if self.gate_close is None:
            object.__setattr__(
                self, "gate_close", datetime(d2.year, d2.month, d2.day, 15, tzinfo=tz)
            )
        if self.publish_at is None:
            object.__setattr__(
                self, "publish_at", datetime(d2.year, d2.month, d2.day, 17, tzinfo=tz)
            )
        if self.gate_open is not None and self.gate_open >= self.gate_close:  # type: ignore[operator]
            raise ValueError("gate_open must be before gate_close")
        if self.publish_at < self.gate_close:  # type: ignore[operator]
            raise ValueError("publish_at must not be before gate_close")
        return self


@dataclass(frozen=True, slots=True)
class Archive:
    """One auction: its configuration and its validated tables (schemas in ``auction.book``)."""

    config: AuctionConfig
    fleet: pl.DataFrame
    availability: pl.DataFrame
    products: pl.DataFrame
    bids: pl.DataFrame
    allocations: pl.DataFrame
