"""Reading ``OUT/``: the files ``vba clear`` wrote as typed rows, or the "files" findings
saying why they cannot be read.

Every cell is read as text: awards and quantities stay exact ``Decimal``, never float,
so that they are judged as written.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import polars as pl

from auction.book import MARKETS
from auction.csvsafe import read_csv
from auction.units import KW_PER_MW
from clearing.verify.findings import Finding

SUMMARY_KEYS = (
    "auction_id",
    "status",
    "objective_eur",
    "mip_gap",
    "build_s",
    "solve_s",
    "n_bids",
    "n_accepted",
    "input_sha256",
    "result_sha256",
)
TABLES = {
    "awards.csv": (
        "bid_id",
        "org_id",
        "product_id",
        "awarded_mw",
        "price_eur_per_mw",
        "payment_eur",
        "status",
        "reason",
    ),
    "allocation.csv": ("product_id", "market", "asset_id", "mw"),
    "virtual_assets.csv": ("virtual_asset_id", "org_id", "bid_id", "product_id", "start", "end"),
    "blocks.csv": (
        "block_id",
        "virtual_asset_id",
        "market",
        "power_mw",
        "energy_mwh",
        "start",
        "end",
    ),
    "backing.csv": ("block_id", "asset_id", "power_mw", "energy_mwh"),
}
STATUSES = ("optimal", "time_limit", "infeasible")
AWARD_STATUSES = ("accepted", "partial", "rejected")
REASONS = (
    "below_reserve",
    "outbid",
    "exclusive_group",
    "min_quantity",
    "parent_rejected",
    "invalid",
)
KW = Decimal(1) / KW_PER_MW  # the power grid, 0.001 MW
ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Summary:
    """summary.json, with numbers as exact decimals."""

    auction_id: str
    status: str
    objective_eur: Decimal | None
    mip_gap: Decimal | None
    n_bids: Decimal | None
    n_accepted: Decimal | None


@dataclass(frozen=True, slots=True)
class Award:
    """One row of awards.csv."""

    bid_id: str
    org_id: str
    product_id: str
    awarded_mw: Decimal
    price_eur_per_mw: Decimal
    payment_eur: Decimal
    status: str
    reason: str | None


@dataclass(frozen=True, slots=True)
class Allocated:
    """One row of allocation.csv: MW of product ``product_id`` in ``market`` on ``asset_id``."""

    product_id: str
    market: str
    asset_id: str
    mw: Decimal


@dataclass(frozen=True, slots=True)
class VirtualAsset:
    """One row of virtual_assets.csv (``bid_id`` is None for a fixed allocation)."""

    virtual_asset_id: str
    org_id: str
    bid_id: str | None
    product_id: str
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class Block:
    """One row of blocks.csv."""

    block_id: str
    virtual_asset_id: str
    market: str
    power_mw: Decimal
    energy_mwh: Decimal
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class Backing:
    """One row of backing.csv."""

    block_id: str
    asset_id: str
    power_mw: Decimal
    energy_mwh: Decimal


@dataclass(frozen=True, slots=True)
class Result:
    """The files of ``OUT/`` as typed rows."""

    summary: Summary
    awards: dict[str, Award]
    allocation: list[Allocated]
    virtual_assets: list[VirtualAsset]
    blocks: list[Block]
    backing: list[Backing]


class _Reader:
    """Reads ``OUT/`` as text and converts cells, collecting "files" findings as it goes."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.findings: list[Finding] = []

    def problem(self, subject: str, detail: str) -> None:
        self.findings.append(Finding("files", subject, detail))

    def summary(self) -> Summary | None:
        path = self.out_dir / "summary.json"
        if not path.is_file():
            self.problem("summary.json", "missing")
            return None
        try:
            # Numbers as Decimal: objective_eur is written as an exact decimal.
            doc = json.loads(path.read_text(encoding="utf-8"), parse_float=Decimal)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            self.problem("summary.json", f"not valid JSON: {exc}")
            return None
        if not isinstance(doc, dict):
            self.problem("summary.json", "not a JSON object")
            return None
        missing = [key for key in SUMMARY_KEYS if key not in doc]
        if missing:
            self.problem("summary.json", f"missing keys: {', '.join(missing)}")
        if doc.get("status") not in STATUSES:
            self.problem("summary.json", f"status {doc.get('status')!r} is not one of {STATUSES}")
        return Summary(
            auction_id=str(doc.get("auction_id")),
            status=str(doc.get("status")),
            objective_eur=self.json_number(doc, "objective_eur"),
            mip_gap=self.json_number(doc, "mip_gap"),
            n_bids=self.json_number(doc, "n_bids"),
            n_accepted=self.json_number(doc, "n_accepted"),
        )

    def json_number(self, doc: dict[str, Any], key: str) -> Decimal | None:
        value = doc.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | Decimal):
            self.problem("summary.json", f"{key} {value!r} is not a number")
            return None
        return Decimal(value)

    def table(self, name: str) -> list[dict[str, str | None]]:
        path = self.out_dir / name
        if not path.is_file():
            self.problem(name, "missing")
            return []
        try:
            # Every column as text: numbers are judged as written, never via float.
            frame = read_csv(path, raise_if_empty=True)
        except (pl.exceptions.PolarsError, OSError) as exc:
            self.problem(name, f"cannot be read as CSV: {exc}")
            return []
        expected = TABLES[name]
        if tuple(frame.columns) != expected:
            self.problem(name, f"columns {list(frame.columns)}, expected {list(expected)}")
            return []
        return frame.rows(named=True)

    def text(self, row: dict[str, str | None], where: str, column: str) -> str:
        value = row[column]
        if value is None or value == "":
            self.problem(where, f"{column} is empty")
            return ""
        return value

    def number(self, row: dict[str, str | None], where: str, column: str) -> Decimal:
        cell = self.text(row, where, column)
        try:
            value = Decimal(cell)
        except InvalidOperation:
            value = Decimal("NaN")
        if not value.is_finite():
            if cell:
                self.problem(where, f"{column} {cell!r} is not a decimal number")
            return ZERO
        return value

    def instant(self, row: dict[str, str | None], where: str, column: str) -> datetime:
        cell = self.text(row, where, column)
        try:
            value = datetime.fromisoformat(cell)
        except ValueError:
            value = None
        if value is None or value.tzinfo is None:
            if cell:
                self.problem(where, f"{column} {cell!r} is not an ISO 8601 timestamp with offset")
            return datetime.fromisoformat("1970-01-01T00:00:00+00:00")
        return value

    def choice(
        self, row: dict[str, str | None], where: str, column: str, allowed: Iterable[str]
    ) -> str:
        value = self.text(row, where, column)
        if value and value not in allowed:
            self.problem(where, f"{column} {value!r} is not one of {tuple(allowed)}")
        return value


def _read_awards(reader: _Reader) -> dict[str, Award]:
    rows = reader.table("awards.csv")
    awards: dict[str, Award] = {}
    for i, row in enumerate(rows, start=1):
        where = f"awards.csv row {i}"
        reason = row["reason"]
        if reason is not None and reason != "" and reason not in REASONS:
            reader.problem(where, f"reason {reason!r} is not one of {REASONS}")
        award = Award(
            bid_id=reader.text(row, where, "bid_id"),
            org_id=reader.text(row, where, "org_id"),
            product_id=reader.text(row, where, "product_id"),
            awarded_mw=reader.number(row, where, "awarded_mw"),
            price_eur_per_mw=reader.number(row, where, "price_eur_per_mw"),
            payment_eur=reader.number(row, where, "payment_eur"),
            status=reader.choice(row, where, "status", AWARD_STATUSES),
            reason=reason or None,
        )
        if award.bid_id in awards:
            reader.problem(where, f"bid {award.bid_id} appears more than once")
        awards[award.bid_id] = award
    return awards


def _read_allocation(reader: _Reader) -> list[Allocated]:
    rows = reader.table("allocation.csv")
    out = [
        Allocated(
            product_id=reader.text(row, f"allocation.csv row {i}", "product_id"),
            market=reader.choice(row, f"allocation.csv row {i}", "market", MARKETS),
            asset_id=reader.text(row, f"allocation.csv row {i}", "asset_id"),
            mw=reader.number(row, f"allocation.csv row {i}", "mw"),
        )
        for i, row in enumerate(rows, start=1)
    ]
    seen = Counter((a.product_id, a.market, a.asset_id) for a in out)
    for key, count in seen.items():
        if count > 1:
            reader.problem("allocation.csv", f"product/market/asset {key} appears {count} times")
    return out


def _read_virtual_assets(reader: _Reader) -> list[VirtualAsset]:
    rows = reader.table("virtual_assets.csv")
    out = [
        VirtualAsset(
            virtual_asset_id=reader.text(row, f"virtual_assets.csv row {i}", "virtual_asset_id"),
            org_id=reader.text(row, f"virtual_assets.csv row {i}", "org_id"),
            bid_id=row["bid_id"] or None,
            product_id=reader.text(row, f"virtual_assets.csv row {i}", "product_id"),
            start=reader.instant(row, f"virtual_assets.csv row {i}", "start"),
            end=reader.instant(row, f"virtual_assets.csv row {i}", "end"),
        )
        for i, row in enumerate(rows, start=1)
    ]
    _unique(reader, "virtual_assets.csv", [v.virtual_asset_id for v in out])
    return out


def _read_blocks(reader: _Reader) -> list[Block]:
    rows = reader.table("blocks.csv")
    out = [
        Block(
            block_id=reader.text(row, f"blocks.csv row {i}", "block_id"),
            virtual_asset_id=reader.text(row, f"blocks.csv row {i}", "virtual_asset_id"),
            market=reader.choice(row, f"blocks.csv row {i}", "market", MARKETS),
            power_mw=reader.number(row, f"blocks.csv row {i}", "power_mw"),
            energy_mwh=reader.number(row, f"blocks.csv row {i}", "energy_mwh"),
            start=reader.instant(row, f"blocks.csv row {i}", "start"),
            end=reader.instant(row, f"blocks.csv row {i}", "end"),
        )
        for i, row in enumerate(rows, start=1)
    ]
    _unique(reader, "blocks.csv", [b.block_id for b in out])
    return out


def _read_backing(reader: _Reader) -> list[Backing]:
    rows = reader.table("backing.csv")
    out = [
        Backing(
            block_id=reader.text(row, f"backing.csv row {i}", "block_id"),
            asset_id=reader.text(row, f"backing.csv row {i}", "asset_id"),
            power_mw=reader.number(row, f"backing.csv row {i}", "power_mw"),
            energy_mwh=reader.number(row, f"backing.csv row {i}", "energy_mwh"),
        )
        for i, row in enumerate(rows, start=1)
    ]
    _unique(reader, "backing.csv", [f"{b.block_id}/{b.asset_id}" for b in out])
    return out


def _unique(reader: _Reader, name: str, ids: list[str]) -> None:
    for key, count in Counter(ids).items():
        if count > 1:
            reader.problem(name, f"id {key} appears {count} times")


def read_result(out_dir: str | Path) -> tuple[Result | None, list[Finding]]:
    """Read ``OUT/``; ``None`` and the "files" findings when it is not well-formed.

    A result whose summary says ``infeasible`` needs only summary.json.
    """
    reader = _Reader(Path(out_dir))
    summary = reader.summary()
    if summary is None or reader.findings:
        return None, reader.findings
    if summary.status == "infeasible":
        return Result(summary, {}, [], [], [], []), []
    result = Result(
        summary=summary,
        awards=_read_awards(reader),
        allocation=_read_allocation(reader),
        virtual_assets=_read_virtual_assets(reader),
        blocks=_read_blocks(reader),
        backing=_read_backing(reader),
    )
    return (None if reader.findings else result), reader.findings
