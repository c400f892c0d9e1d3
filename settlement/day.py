"""Settling one delivery day (D+1) from frames: invoice lines, nominations, reconciliation.

Pure functions of what the store holds about the day's published auctions; the service
(``api.services.settlement``) loads these frames, calls ``settle`` and stores the run.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np
import polars as pl

from auction.book import schema
from auction.instants import utc_text
from auction.model import AuctionConfig
from dispatch.disaggregate import Disaggregation
from dispatch.schedule import soc_profile, terms_by_block
from settlement.ancillary import ANCILLARY_BIDS, ancillary_lines
from settlement.invoices import invoice_lines, reconcile
from settlement.nominations import (
    nomination_csv,
    nomination_document_id,
    nominations,
    schedule_document,
    validate_document,
)

IMBALANCES = schema(
    {"virtual_asset_id": pl.String, "imbalance_kwh": pl.Float64, "tolerance_kwh": pl.Float64}
)


@dataclass(frozen=True, slots=True)
class AuctionFrames:
    """One published auction of the day: its results, where outages left it short, and
    the current schedule (kW per MTU) of each wholesale block that has one."""

    auction_id: str
    config: AuctionConfig
    awards: pl.DataFrame
    virtual_assets: pl.DataFrame
    blocks: pl.DataFrame
    lost: pl.DataFrame
    wholesale: pl.DataFrame  # wholesale blocks with their virtual asset's product terms
    power_kw: Mapping[str, Sequence[int]]
    # Accepted ancillary bids on this auction's reserve blocks (settlement.ancillary).
    ancillary: pl.DataFrame = field(default_factory=lambda: pl.DataFrame(schema=ANCILLARY_BIDS))


@dataclass(frozen=True, slots=True)
class DayFrames:
    """Everything a day's settlement reads, all auctions of the day together."""

    day: date
    start: datetime
    end: datetime
    auctions: Sequence[AuctionFrames]
    blocks: pl.DataFrame  # the day's carried blocks (dispatch.frames.BLOCKS + ids)
    schedules: pl.DataFrame  # dispatch.frames.SCHEDULES
    owners: pl.DataFrame  # virtual_asset_id, org_id
    setpoints: Sequence[Disaggregation]
    eic_of: Mapping[str, str]  # org_id -> EIC of its balancing group
    operator_org_id: str

    @property
    def first(self) -> AuctionConfig:
        # A day's auctions share the market's time zone, MTU and TSO zone; the first
        # auction (by id) names them for the documents.
        return self.auctions[0].config


@dataclass(frozen=True, slots=True)
class DaySettlement:
    """A settled day before it is stored: the lines, each organisation's nominated MTUs
    and the reconciliation report. Documents carry the run's version: ``documents(v)``."""

    frames: DayFrames
    lines: pl.DataFrame
    nominated: pl.DataFrame
    report: dict[str, Any]

    def documents(self, version: int, created_at: datetime) -> list[dict[str, str]]:
        return nomination_documents(self.frames, self.nominated, version, created_at)


def settle(frames: DayFrames, imbalance_price_cents: int) -> DaySettlement:
    """Invoice lines of every auction of the day, reconciled with its clearing revenue,
    and the nominations with their reconciliation against schedules and setpoints.
    Raises ``RuntimeError`` when the invoices do not add up to the clearing."""
    lines = pl.concat([_auction_lines(a, imbalance_price_cents) for a in frames.auctions])
    problems = [
        p
        for a in frames.auctions
        for p in reconcile(
            lines.filter(pl.col("auction_id") == a.auction_id),
            int(a.awards["payment_units"].sum()),
        )
    ]
    if problems:
        raise RuntimeError("invoices do not reconcile with the clearing: " + "; ".join(problems))
    mtu = frames.first.mtu_minutes
    nominated = nominations(
        frames.schedules,
        frames.blocks.join(frames.owners, on="virtual_asset_id").select("block_id", "org_id"),
        frames.start,
        frames.end,
        mtu,
    )
    return DaySettlement(frames, lines, nominated, reconciliation(frames, nominated))


def imbalances(
    config: AuctionConfig, wholesale: pl.DataFrame, power_kw: Mapping[str, Sequence[int]]
) -> pl.DataFrame:
    """Each virtual asset's end SoC against its target, from its wholesale block's
    schedule (no schedule: the block idles)."""
    va_of = dict(wholesale.select("block_id", "virtual_asset_id").iter_rows())
    rows = []
    for block_id, block in terms_by_block(config, wholesale).items():
        power = power_kw.get(block_id)
        profile = soc_profile(
            block,
            np.zeros(block.n_mtu, dtype=np.int64)
            if power is None
            else np.asarray(power, dtype=np.int64),
        )
        rows.append((va_of[block_id], profile.imbalance_kwh, block.final_soc_tolerance_kwh))
    return pl.DataFrame(rows, schema=IMBALANCES, orient="row")


def _auction_lines(auction: AuctionFrames, price_cents: int) -> pl.DataFrame:
    """The auction's invoice lines, then the revenue of its accepted ancillary bids."""
    own = invoice_lines(
        auction.awards,
        auction.virtual_assets,
        auction.blocks,
        auction.lost,
        imbalances(auction.config, auction.wholesale, auction.power_kw),
        price_cents,
        auction.auction_id,
        mtu_minutes=auction.config.mtu_minutes,
        time_zone=auction.config.time_zone,
    )
    reserve = ancillary_lines(
        auction.ancillary,
        auction.blocks,
        auction.lost,
        auction.auction_id,
        mtu_minutes=auction.config.mtu_minutes,
        time_zone=auction.config.time_zone,
    )
    return pl.concat([own, reserve])


def nomination_documents(
    frames: DayFrames, nominated: pl.DataFrame, version: int, created_at: datetime
) -> list[dict[str, str]]:
    """One nomination per customer organisation (XML checked against the schema, CSV, and
    the MTU powers); the operator's own virtual assets stay in its balancing group."""
    config = frames.first
    operator_eic = frames.eic_of[frames.operator_org_id]
    documents = []
    for (org_id,), frame in nominated.group_by("org_id", maintain_order=True):
        if org_id == frames.operator_org_id:
            continue
        customer_eic = frames.eic_of[str(org_id)]
        document_id = nomination_document_id(frames.day, customer_eic)
        xml = schedule_document(
            frame,
            document_id=document_id,
            version=version,
            sender_eic=operator_eic,
            receiver_eic=config.tso_zone,
            operator_eic=operator_eic,
            customer_eic=customer_eic,
            tso_zone_eic=config.tso_zone,
            day=frames.day,
            time_zone=config.time_zone,
            created_at=created_at,
            mtu_minutes=config.mtu_minutes,
        )
        errors = validate_document(xml)
        if errors:
            raise RuntimeError(f"the nomination of {org_id} breaks the schema: {errors[0]}")
        documents.append(
            {
                "org_id": str(org_id),
                "document_id": document_id,
                "mtu_json": json.dumps(frame["power_kw"].to_list()),
                "csv_text": nomination_csv(
                    frame,
                    operator_eic,
                    customer_eic,
                    config.time_zone,
                    mtu_minutes=config.mtu_minutes,
                ),
                "xml_text": xml.decode(),
            }
        )
    return documents


def reconciliation(frames: DayFrames, nominated: pl.DataFrame) -> dict[str, Any]:
    """Nominated energy per organisation against the sum of its accepted schedules, and the
    fleet's setpoints (plus any shortfall) against the same total. Energies in kWh."""
    dt_h = frames.first.mtu_minutes / 60
    scheduled = (
        frames.schedules.join(frames.blocks.select("block_id", "virtual_asset_id"), on="block_id")
        .join(frames.owners, on="virtual_asset_id")
        .group_by("org_id")
        .agg(scheduled_kwh=(pl.col("power_kw") * dt_h).sum())
    )
    per_org = (
        nominated.group_by("org_id")
        .agg(nominated_kwh=(pl.col("power_kw") * dt_h).sum())
        .join(scheduled, on="org_id", how="left")
        .fill_null(0.0)
        .sort("org_id")
    )
    orgs = [
        {
            "org_id": r["org_id"],
            "nominated_kwh": r["nominated_kwh"],
            "scheduled_kwh": r["scheduled_kwh"],
            "ok": r["nominated_kwh"] == r["scheduled_kwh"],
        }
        for r in per_org.iter_rows(named=True)
    ]
    physical = sum(float(d.setpoints["power_kw"].sum()) for d in frames.setpoints) * dt_h
    short = sum(float(d.shortfall["shortfall_kw"].sum()) for d in frames.setpoints) * dt_h
    virtual = float(frames.schedules["power_kw"].sum()) * dt_h
    position = rebalancing_position(frames.setpoints)
    expected = virtual + position["sold_kwh"] - position["bought_kwh"]
    fleet_ok = abs(physical + short - expected) <= 1e-6 * max(1.0, abs(expected))
    return {
        "organisations": orgs,
        "virtual_kwh": virtual,
        "rebalancing": position,
        "setpoints_kwh": physical,
        "shortfall_kwh": short,
        "ok": all(o["ok"] for o in orgs) and fleet_ok,
    }


def rebalancing_position(days: Sequence[Disaggregation]) -> dict[str, Any]:
    """The operator's own rebalancing trades (``dispatch.rebalance``) as its position on its
    own balancing group: kWh sold and bought, and the trade of every MTU that has one
    (kW, positive sells). Apart from the customers' nominations: the operator nominates
    these to its market, not to a customer."""
    traded = [d.traded_kwh for d in days]
    trades = pl.concat([d.trades for d in days]) if days else pl.DataFrame()
    return {
        "sold_kwh": sum((sold for sold, _ in traded), 0.0),
        "bought_kwh": sum((bought for _, bought in traded), 0.0),
        "mtus": [
            {"start": utc_text(start), "trade_kw": trade}
            for start, trade in trades.sort("start").iter_rows()
        ]
        if trades.height
        else [],
    }
