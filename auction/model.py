"""The auction configuration (auction.json) and the archive as a whole."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import polars as pl
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from auction.timegrid import DEFAULT_TIME_ZONE

TENNET_DE = "10YDE-EON------1"


class AuctionConfig(BaseModel):
    """auction.json: one auction's identity, clock and physical conventions."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    auction_id: str = Field(min_length=1)
    delivery_day: date
    time_zone: str = DEFAULT_TIME_ZONE
    tso_zone: str = TENNET_DE
    gate_open: AwareDatetime | None = None
    gate_close: AwareDatetime | None = None
    publish_at: AwareDatetime | None = None
    mtu_minutes: int = Field(default=15, gt=0, le=60)
    fcr_energy_h: float = Field(default=0.25, ge=0)
    afrr_energy_h: float = Field(default=1.0, ge=0)
    initial_soc_fraction: float = Field(default=0.5, ge=0, le=1)
    final_soc_fraction: float = Field(default=0.5, ge=0, le=1)
    final_soc_tolerance: float = Field(default=0.01, ge=0, le=1)
    dispatch_gate_closure_s: int = Field(default=330, ge=0)
    time_limit_s: float = Field(default=60.0, gt=0)

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
