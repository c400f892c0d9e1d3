"""Answers about a clearing: its summary (summary.json), the clear call, the report."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ClearingSummary(BaseModel):
    """summary.json of a clearing (docs/archive.md). Summaries stored by older versions
    may lack the later keys; keys added later still pass through."""

    model_config = ConfigDict(extra="allow")

    auction_id: str
    status: str = Field(description="optimal, time_limit or infeasible")
    objective_eur: float = Field(description="the revenue, pay-as-bid")
    mip_gap: float | None = Field(description="(bound - revenue) / revenue; null when unknown")
    bound_eur: float | None = Field(None, description="the best proven bound on the revenue")
    optimality: str | None = Field(None, description="whether it is proven optimal, in words")
    build_s: float
    solve_s: float
    n_bids: int
    n_accepted: int
    input_sha256: str
    result_sha256: str
    message: str | None = Field(None, description="why, when the result is infeasible")
    solver: dict[str, Any] = Field(description="the solver's options, model size and path")


class ClearOutcome(ClearingSummary):
    """The clearing summary, and the independent checker's verdict on the result."""

    checker_ok: bool = Field(description="publishing needs the checker to pass")
    checker_report: str


class BookProduct(BaseModel):
    product_id: str
    bids: int
    organisations: int
    offered_mw: float
    lowest_price: float
    median_price: float
    highest_price: float


class BookReport(BaseModel):
    bids: int = Field(description="bids in the book")
    products: list[BookProduct]


class PlausibilityWarning(BaseModel):
    bid_id: str
    org_id: str
    product_id: str
    kind: str = Field(description="price_outlier, ...")
    message: str


class ProductAwards(BaseModel):
    product_id: str
    accepted: int = Field(description="bids awarded something")
    awarded_mw: float
    revenue_eur: float


class ReportClearing(BaseModel):
    summary: ClearingSummary
    checker_ok: bool
    checker_report: str
    products: list[ProductAwards]


class AuctionReport(BaseModel):
    """The book before clearing, with plausibility warnings; once cleared, the result."""

    auction_id: str
    status: str
    book: BookReport
    warnings: list[PlausibilityWarning]
    clearing: ReportClearing | None
