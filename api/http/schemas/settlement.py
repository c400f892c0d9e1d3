"""Bodies of settlement: runs, invoices, nominations. Money in EUR as exact decimals."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field

from api.http.schemas.accounts import Strict
from api.http.schemas.fields import UtcInstant
from settlement.invoices import MAX_IMBALANCE_PRICE_EUR


class RunIn(Strict):
    imbalance_price_eur_per_mwh: Decimal = Field(
        ge=0,
        le=MAX_IMBALANCE_PRICE_EUR,
        decimal_places=2,
        description="what a MWh of SoC imbalance beyond the tolerance costs on this day",
        examples=[120.5],
    )


class DayRun(BaseModel):
    day: date
    version: int = Field(description="every run of a day is a new version")
    run_at: UtcInstant
    imbalance_price_eur_per_mwh: Decimal
    totals_eur: dict[str, Decimal] = Field(
        description="award, unavailability_credit, imbalance_charge, ancillary_revenue, "
        "ancillary_credit over all invoices"
    )
    documents: int = Field(description="nomination documents written")
    reconciliation: dict[str, Any] = Field(
        description="nominated = scheduled per organisation; setpoints + shortfall = total "
        "+ the operator's rebalancing position (rebalancing: sold_kwh, bought_kwh, mtus)"
    )


class InvoiceLine(BaseModel):
    kind: str = Field(
        description="award, unavailability_credit, imbalance_charge, ancillary_revenue (the "
        "TSO's payment for accepted reserve, passed on: negative) or ancillary_credit (taken "
        "back where an outage left accepted reserve undelivered)"
    )
    virtual_asset_id: str | None
    bid_id: str | None
    product_id: str | None
    start: UtcInstant | None
    end: UtcInstant | None
    description: str
    quantity: str | None
    unit: str | None
    unit_price_eur: str | None
    amount_eur: Decimal = Field(description="exact, five decimals; credits negative")


class Invoice(BaseModel):
    day: date
    version: int
    auction_id: str
    awards_eur: Decimal
    credits_eur: Decimal
    imbalance_eur: Decimal
    ancillary_eur: Decimal = Field(
        description="ancillary revenue less its credits: negative, the customer gets it"
    )
    total_eur: Decimal = Field(description="exact sum of the lines")
    amount_due_eur: Decimal = Field(description="the total rounded to the cent, half to even")
    lines: list[InvoiceLine]


class NominationInterval(BaseModel):
    start: UtcInstant
    end: UtcInstant
    from_eic: str
    to_eic: str
    mw: Decimal


class Nominations(BaseModel):
    day: date
    version: int
    document_id: str
    intervals: list[NominationInterval]
