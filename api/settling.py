"""Settling a delivery day (D+1): invoices, unavailability credits, imbalance charges and
nominations, reconciled, stored as a new version of the day."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
import polars as pl
from sqlalchemy.engine import Connection

from api import operating
from auction.book import schema
from auction.errors import Conflict
from auction.lifecycle import Status
from auction.store import Store, audit
from auction.store.accounts import Organisation, list_orgs
from auction.store.auctions import AuctionRecord, list_auctions
from auction.store.dispatch import current_schedules, product_terms
from auction.store.results import result_frame
from auction.store.settlement import Run, next_version, save_run
from auction.timegrid import day_bounds
from dispatch.schedule import soc_profile, terms_by_block
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
class Settled:
    """What a run produced, for the answer and the terminal."""

    run: Run
    lines: pl.DataFrame
    documents: int


def _published(conn: Connection, day: date) -> list[AuctionRecord]:
    found = [a for a in list_auctions(conn, {Status.PUBLISHED}) if a.config.delivery_day == day]
    return sorted(found, key=lambda a: a.auction_id)


def _imbalances(conn: Connection, auction: AuctionRecord) -> pl.DataFrame:
    """Each virtual asset's end SoC against its target, from its wholesale block's schedule."""
    blocks = result_frame(conn, auction.auction_id, "blocks").filter(
        pl.col("market") == "wholesale"
    )
    vas = result_frame(conn, auction.auction_id, "virtual_assets")
    terms = product_terms(conn, [auction.auction_id])
    wholesale = blocks.join(vas.select("virtual_asset_id", "product_id"), on="virtual_asset_id")
    wholesale = wholesale.join(terms.drop("auction_id"), on="product_id", how="left")
    current = current_schedules(conn, wholesale["block_id"].to_list())
    va_of = dict(wholesale.select("block_id", "virtual_asset_id").iter_rows())
    rows = []
    for block_id, block in terms_by_block(auction.config, wholesale).items():
        version = current.get(block_id)
        power = (
            np.zeros(block.n_mtu, dtype=np.int64)
            if version is None
            else np.asarray(version.power_kw, dtype=np.int64)
        )
        profile = soc_profile(block, power)
        rows.append((va_of[block_id], profile.imbalance_kwh, block.final_soc_tolerance_kwh))
    return pl.DataFrame(rows, schema=IMBALANCES, orient="row")


def _auction_lines(conn: Connection, auction: AuctionRecord, price_cents: int) -> pl.DataFrame:
    aid = auction.auction_id
    blocks = result_frame(conn, aid, "blocks")
    lost = operating.lost_of(conn, blocks.select("block_id", "power_kw", "start", "end"))
    return invoice_lines(
        result_frame(conn, aid, "awards"),
        result_frame(conn, aid, "virtual_assets"),
        blocks,
        lost,
        _imbalances(conn, auction),
        price_cents,
        aid,
        mtu_minutes=auction.config.mtu_minutes,
        time_zone=auction.config.time_zone,
    )


def operator_org(conn: Connection, org_id: str | None) -> Organisation:
    """The operator's organisation: the nominations' sender and out-party."""
    orgs = {o.org_id: o for o in list_orgs(conn)}
    if org_id is None or org_id not in orgs:
        raise Conflict(f"organisation {org_id!r} is not known: name the operator's organisation")
    return orgs[org_id]


def settle_day(
    store: Store,
    day: date,
    imbalance_price_cents: int,
    operator_org_id: str,
    actor: str,
    now: datetime,
) -> Settled:
    """Settle ``day``: a new version of its invoices, nominations and reconciliation."""
    with store.read() as conn:
        auctions = _published(conn, day)
        if not auctions:
            raise Conflict(f"no published auction delivers on {day}: nothing to settle")
        _, day_end = day_bounds(day, auctions[0].config.time_zone)
        if now < day_end:
            raise Conflict(
                f"{day} is delivered until {day_end.isoformat()}: settle it after that (D+1)",
                delivered_until=day_end.isoformat(),
            )
        operator = operator_org(conn, operator_org_id)
        orgs = {o.org_id: o for o in list_orgs(conn)}
        lines = pl.concat([_auction_lines(conn, a, imbalance_price_cents) for a in auctions])
        revenue = {
            a.auction_id: int(result_frame(conn, a.auction_id, "awards")["payment_units"].sum())
            for a in auctions
        }
        tz = auctions[0].config.time_zone
        mtu = auctions[0].config.mtu_minutes
        start, end = day_bounds(day, tz)
        blocks = operating.day_blocks(conn, start, end).filter(
            pl.col("auction_id").is_in([a.auction_id for a in auctions])
        )
        owners = result_owners(conn, [a.auction_id for a in auctions])
        schedules = operating.schedule_frame(conn, blocks, mtu)
    problems = [
        p
        for a in auctions
        for p in reconcile(
            lines.filter(pl.col("auction_id") == a.auction_id), revenue[a.auction_id]
        )
    ]
    if problems:
        raise RuntimeError("invoices do not reconcile with the clearing: " + "; ".join(problems))
    nominated = nominations(
        schedules,
        blocks.join(owners, on="virtual_asset_id").select("block_id", "org_id"),
        start,
        end,
        mtu,
    )

    def documents_of(version: int) -> list[dict[str, str]]:
        """The nomination documents of this run; their XML carries its version."""
        documents = []
        for (org_id,), frame in nominated.group_by("org_id", maintain_order=True):
            customer = orgs[str(org_id)]
            if customer.org_id == operator.org_id:
                continue  # the operator's own virtual assets stay in its balancing group
            document_id = nomination_document_id(day, customer.eic)
            xml = schedule_document(
                frame,
                document_id=document_id,
                version=version,
                sender_eic=operator.eic,
                receiver_eic=auctions[0].config.tso_zone,
                operator_eic=operator.eic,
                customer_eic=customer.eic,
                tso_zone_eic=auctions[0].config.tso_zone,
                day=day,
                time_zone=tz,
                created_at=now,
                mtu_minutes=mtu,
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
                        frame, operator.eic, customer.eic, tz, mtu_minutes=mtu
                    ),
                    "xml_text": xml.decode(),
                }
            )
        return documents

    report = reconciliation(store, schedules, nominated, owners, blocks, start, end, mtu)
    with store.write() as conn:
        # The version is taken under the write lock: two runs of one day at once get
        # consecutive versions instead of colliding (save_run refuses a taken one).
        version = next_version(conn, day)
        documents = documents_of(version)
        run = Run(day, version, now, actor, imbalance_price_cents, report)
        save_run(conn, run, lines, documents)
        audit.record(
            conn,
            actor,
            "settlement.run",
            f"day/{day}",
            now,
            version=version,
            auctions=[a.auction_id for a in auctions],
            ok=report["ok"],
        )
    return Settled(run, lines, len(documents))


def result_owners(conn: Connection, auction_ids: list[str]) -> pl.DataFrame:
    """virtual_asset_id, org_id of these auctions' virtual assets."""
    return pl.concat(
        [
            result_frame(conn, a, "virtual_assets").select("virtual_asset_id", "org_id")
            for a in auction_ids
        ]
    )


def reconciliation(
    store: Store,
    schedules: pl.DataFrame,
    nominated: pl.DataFrame,
    owners: pl.DataFrame,
    blocks: pl.DataFrame,
    start: datetime,
    end: datetime,
    mtu_minutes: int,
) -> dict[str, Any]:
    """Nominated energy per organisation against the sum of its accepted schedules, and the
    fleet's setpoints (plus any shortfall) against the same total. Energies in kWh."""
    dt_h = mtu_minutes / 60
    scheduled = (
        schedules.join(blocks.select("block_id", "virtual_asset_id"), on="block_id")
        .join(owners, on="virtual_asset_id")
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
    days = operating.setpoints(store, start, end)
    physical = sum(float(d.setpoints["power_kw"].sum()) for d in days) * dt_h
    short = sum(float(d.shortfall["shortfall_kw"].sum()) for d in days) * dt_h
    virtual = float(schedules["power_kw"].sum()) * dt_h
    fleet_ok = abs(physical + short - virtual) <= 1e-6 * max(1.0, abs(virtual))
    return {
        "organisations": orgs,
        "virtual_kwh": virtual,
        "setpoints_kwh": physical,
        "shortfall_kwh": short,
        "ok": all(o["ok"] for o in orgs) and fleet_ok,
    }
