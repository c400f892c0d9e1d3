"""The independent checker: does a clearing result obey the input and the rules of docs/clearing.md?

Implements "What a result must let anyone check" of docs/clearing.md from the archive
and the files of ``OUT/`` alone. It shares no code with the clearing model: awards and
quantities are read as text and compared as exact ``Decimal``; physical capacity is
recomputed per asset and MTU with numpy; optimality is judged by the checker's own
MILP (``clearing.reference``).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from auction.book import MARKET_FACTOR, MARKETS
from auction.model import Archive
from auction.timegrid import local_iso
from auction.units import CENTS_PER_EUR, KW_PER_MW
from clearing.reference import KINDS, Grid, ReferenceSolution, build_grid, solve_reference
from clearing.reference import reference_optimum as reference_optimum

# Order in which the checks run and are listed.
CHECKS = (
    "files",
    "summary",
    "awards",
    "exclusive_groups",
    "links",
    "supply",
    "fixed_allocations",
    "allocation",
    "virtual_assets",
    "blocks",
    "backing",
    "capacity",
    "revenue",
    "optimality",
)
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
# Re-solve the reference model automatically only below these sizes.
AUTO_MAX_BIDS = 2_000
AUTO_MAX_ASSETS = 200

KW = Decimal(1) / KW_PER_MW  # the power grid, 0.001 MW
HALF_KW = KW / 2  # the most a value rounded to nearest 1 kW moves
MONEY_TOLERANCE_EUR = 0.01  # docs/clearing.md: optimal to within 0.01 EUR
# Float noise on a capacity sum (1 mW): the limits themselves have no tolerance, every
# kW and kWh counts.
CAPACITY_FLOOR_MW = 1e-9
ZERO = Decimal(0)


@dataclass(frozen=True)
class Finding:
    """One thing wrong with a result: which check, about what, and how."""

    check: str
    subject: str
    detail: str


@dataclass(frozen=True)
class VerifyReport:
    """Everything ``verify`` found, and which checks it ran."""

    findings: list[Finding]
    checks_run: list[str]
    reference_objective_eur: float | None = None

    @property
    def ok(self) -> bool:
        """Whether no check found anything."""
        return not self.findings


# --------------------------------------------------------------------------- the result


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
            frame = pl.read_csv(path, infer_schema=False)
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


# --------------------------------------------------------------------------- the input


def _exact(value: float | None, grid: int) -> Decimal | None:
    """A float of the validated frames, which lies on a 1/``grid`` grid, as exact Decimal."""
    if value is None:
        return None
    return Decimal(round(value * grid)) / grid


def _plain(value: float) -> Decimal:
    """A factor or duration (no fixed grid) as the decimal it was written as."""
    return Decimal(repr(float(value)))


@dataclass(frozen=True, slots=True)
class ProductTerms:
    """A product's rules as exact decimals."""

    product_id: str
    start: datetime
    end: datetime
    factor: dict[str, Decimal]  # block MW per MW, per market
    energy_h: dict[str, Decimal]  # block MWh per block MW, per market
    min_mw: Decimal
    increment_mw: Decimal
    reserve_eur_per_mw: Decimal
    max_mw: Decimal | None

    @property
    def markets(self) -> list[str]:
        """Markets with a block: factor > 0."""
        return [m for m in MARKETS if self.factor[m] > 0]


@dataclass(frozen=True, slots=True)
class BidTerms:
    """A bid as exact decimals."""

    bid_id: str
    org_id: str
    product_id: str
    quantity_mw: Decimal
    min_quantity_mw: Decimal | None
    price_eur_per_mw: Decimal
    exclusive_group: str | None
    linked_to: str | None


@dataclass(frozen=True, slots=True)
class Terms:
    """The archive as the checker needs it."""

    auction_id: str
    products: dict[str, ProductTerms]
    bids: dict[str, BidTerms]
    fixed: list[tuple[str, str, Decimal]]  # (org, product, MW) per fixed allocation
    assets: dict[str, dict[str, Any]]  # fleet rows by asset_id
    tso_zone: str
    time_zone: str
    grid: Grid  # products, assets and MTUs as arrays, for the capacity check

    def fixed_mw(self, product_id: str) -> Decimal:
        """``A_p``: MW of the product's fixed allocations."""
        return sum((q for _, p, q in self.fixed if p == product_id), ZERO)


def read_terms(archive: Archive) -> Terms:
    """The archive's frames as exact decimals keyed by id."""
    config = archive.config
    energy_h = {
        "fcr": 2 * _plain(config.fcr_energy_h),
        "afrr_pos": _plain(config.afrr_energy_h),
        "afrr_neg": _plain(config.afrr_energy_h),
    }
    products = {}
    for row in archive.products.iter_rows(named=True):
        products[row["product_id"]] = ProductTerms(
            product_id=row["product_id"],
            start=row["start"],
            end=row["end"],
            factor={m: _plain(row[MARKET_FACTOR[m]] or 0.0) for m in MARKETS},
            energy_h=energy_h | {"wholesale": _plain(row["wholesale_h"] or 0.0)},
            min_mw=_exact(row["min_mw"], KW_PER_MW) or ZERO,
            increment_mw=_exact(row["increment_mw"], KW_PER_MW) or ZERO,
            reserve_eur_per_mw=_exact(row["reserve_price_eur_per_mw"], CENTS_PER_EUR) or ZERO,
            max_mw=_exact(row["max_mw"], KW_PER_MW),
        )
    bids = {
        row["bid_id"]: BidTerms(
            bid_id=row["bid_id"],
            org_id=row["org_id"],
            product_id=row["product_id"],
            quantity_mw=_exact(row["quantity_mw"], KW_PER_MW) or ZERO,
            min_quantity_mw=_exact(row["min_quantity_mw"], KW_PER_MW),
            price_eur_per_mw=_exact(row["price_eur_per_mw"], CENTS_PER_EUR) or ZERO,
            exclusive_group=row["exclusive_group"],
            linked_to=row["linked_to"],
        )
        for row in archive.bids.iter_rows(named=True)
    }
    fixed = [
        (row["org_id"], row["product_id"], _exact(row["quantity_mw"], KW_PER_MW) or ZERO)
        for row in archive.allocations.iter_rows(named=True)
    ]
    assets = {row["asset_id"]: row for row in archive.fleet.iter_rows(named=True)}
    return Terms(
        auction_id=config.auction_id,
        products=products,
        bids=bids,
        fixed=fixed,
        assets=assets,
        tso_zone=config.tso_zone,
        time_zone=config.time_zone,
        grid=build_grid(archive),
    )


def _awarded(result: Result, bid_id: str) -> Decimal:
    award = result.awards.get(bid_id)
    return award.awarded_mw if award is not None else ZERO


def _product_totals(terms: Terms, result: Result) -> dict[str, Decimal]:
    """``X_p = Σ_{b∈p} x_b + A_p`` from the awards as written."""
    totals = {p: terms.fixed_mw(p) for p in terms.products}
    for bid in terms.bids.values():
        if bid.product_id in totals:
            totals[bid.product_id] += _awarded(result, bid.bid_id)
    return totals


def _num(value: Decimal | float) -> str:
    """A number for a message: Decimals exact, floats to 6 decimals (1 W, 1 Wh)."""
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    return f"{round(value, 6):.6f}".rstrip("0").rstrip(".")


# --------------------------------------------------------------------------- checks

Check = Callable[[Terms, Result], list[Finding]]


def check_files(terms: Terms, result: Result) -> list[Finding]:
    """awards.csv has exactly one row per bid of the archive."""
    missing = sorted(set(terms.bids) - set(result.awards))
    extra = sorted(set(result.awards) - set(terms.bids))
    findings = []
    if missing:
        findings.append(Finding("files", "awards.csv", f"no row for bids {', '.join(missing)}"))
    if extra:
        findings.append(Finding("files", "awards.csv", f"rows for unknown bids {', '.join(extra)}"))
    return findings


def check_summary(terms: Terms, result: Result) -> list[Finding]:
    """summary.json names this auction and counts its bids and awards."""
    s = result.summary
    findings = []
    if s.auction_id != terms.auction_id:
        findings.append(Finding("summary", "auction_id", f"{s.auction_id!r} is not this auction"))
    if s.n_bids is not None and s.n_bids != len(terms.bids):
        findings.append(
            Finding("summary", "n_bids", f"{s.n_bids}, the archive has {len(terms.bids)}")
        )
    positive = sum(1 for a in result.awards.values() if a.awarded_mw > 0)
    full = sum(1 for a in result.awards.values() if a.status == "accepted")
    # The format does not say whether partial awards count as accepted: either count is fine.
    if s.n_accepted is not None and s.n_accepted not in (positive, full):
        findings.append(
            Finding("summary", "n_accepted", f"{s.n_accepted}, awards.csv has {positive} awarded")
        )
    if s.objective_eur is None:
        findings.append(Finding("summary", "objective_eur", "missing for a feasible result"))
    return findings


def check_awards(terms: Terms, result: Result) -> list[Finding]:
    """Every award obeys its bid: quantity, increment, price, payment, reserve, status.

    ``x_b = 0 or min_b ≤ x_b ≤ q_b`` on the increment grid, ``payment = x_b·price_b``
    exactly, and the status and reason say what happened.
    """
    findings = []
    for bid in terms.bids.values():
        award = result.awards[bid.bid_id]
        product = terms.products.get(bid.product_id)
        problems = _award_terms(bid, award) + _award_quantity(bid, product, award.awarded_mw)
        problems += _award_status(bid, product, award, result)
        findings += [Finding("awards", f"bid {bid.bid_id}", p) for p in problems]
    return findings


def _award_terms(bid: BidTerms, award: Award) -> list[str]:
    """Names, price and payment as the bid says."""
    x, price = award.awarded_mw, bid.price_eur_per_mw
    out = []
    if (award.org_id, award.product_id) != (bid.org_id, bid.product_id):
        out.append(
            f"names org {award.org_id} and product {award.product_id}, "
            f"the bid org {bid.org_id} and product {bid.product_id}"
        )
    if award.price_eur_per_mw != price:
        out.append(f"price {_num(award.price_eur_per_mw)} EUR/MW, the bid says {_num(price)}")
    if award.payment_eur != x * price:
        out.append(
            f"payment {_num(award.payment_eur)} EUR, but {_num(x)} MW x {_num(price)} EUR/MW "
            f"= {_num(x * price)} EUR"
        )
    return out


def _minimum(bid: BidTerms, product: ProductTerms) -> Decimal:
    """The least a bid may get if awarded: its own minimum, never below the product's."""
    return max(bid.min_quantity_mw or ZERO, product.min_mw)


def _below_reserve(bid: BidTerms, product: ProductTerms | None) -> bool:
    return product is not None and bid.price_eur_per_mw < product.reserve_eur_per_mw


def _award_quantity(bid: BidTerms, product: ProductTerms | None, x: Decimal) -> list[str]:
    """``x = 0`` or ``min ≤ x ≤ q``, a whole multiple of the increment, priced at the reserve."""
    if x < 0:
        return [f"awarded {_num(x)} MW, a negative quantity"]
    if x == 0:
        return []
    if product is None:
        return [f"awarded {_num(x)} MW of unknown product {bid.product_id}"]
    out = []
    minimum = _minimum(bid, product)
    if x > bid.quantity_mw:
        out.append(f"awarded {_num(x)} MW, more than the {_num(bid.quantity_mw)} MW bid")
    elif x < minimum:
        out.append(f"awarded {_num(x)} MW, less than its minimum of {_num(minimum)} MW")
    if product.increment_mw <= 0 or x % product.increment_mw != 0:
        out.append(
            f"awarded {_num(x)} MW, not a whole multiple of the increment "
            f"{_num(product.increment_mw)} MW"
        )
    if _below_reserve(bid, product):
        out.append(
            f"awarded {_num(x)} MW although its price {_num(bid.price_eur_per_mw)} EUR/MW is "
            f"below the reserve price {_num(product.reserve_eur_per_mw)}"
        )
    return out


def _award_status(
    bid: BidTerms, product: ProductTerms | None, award: Award, result: Result
) -> list[str]:
    """Status follows the quantity; reasons that can be checked are true."""
    x, q = award.awarded_mw, bid.quantity_mw
    out = []
    if 0 <= x <= q:
        expected = "rejected" if x == 0 else "accepted" if x == q else "partial"
        if award.status != expected:
            out.append(f"status {award.status}, but {_num(x)} of {_num(q)} MW is {expected}")
        # docs/archive.md: the reason says why a bid got less than it asked.
        if (award.reason is None) != (x == q):
            out.append(f"{_num(x)} of {_num(q)} MW with reason {award.reason or '(empty)'}")
    below = _below_reserve(bid, product)
    if x == 0 and below and award.reason != "below_reserve":
        out.append(f"priced below the reserve, but reason is {award.reason or '(empty)'}")
    if award.reason == "below_reserve" and not below:
        out.append("reason below_reserve, but its price is not below the reserve price")
    if award.reason == "parent_rejected" and (
        bid.linked_to is None or _awarded(result, bid.linked_to) > 0
    ):
        out.append("reason parent_rejected, but it has no rejected parent")
    if award.reason == "exclusive_group" and bid.exclusive_group is None:
        out.append("reason exclusive_group, but it is in no exclusive group")
    return out


def check_exclusive_groups(terms: Terms, result: Result) -> list[Finding]:
    """At most one bid of each (org, exclusive group) gets an award: ``Σ_{b∈g} y_b ≤ 1``."""
    awarded: dict[tuple[str, str], list[str]] = defaultdict(list)
    for bid in terms.bids.values():
        if bid.exclusive_group is not None and _awarded(result, bid.bid_id) > 0:
            awarded[(bid.org_id, bid.exclusive_group)].append(bid.bid_id)
    return [
        Finding(
            "exclusive_groups",
            f"org {org} group {group}",
            f"bids {', '.join(sorted(ids))} are all awarded; at most one may be",
        )
        for (org, group), ids in sorted(awarded.items())
        if len(ids) > 1
    ]


def check_links(terms: Terms, result: Result) -> list[Finding]:
    """A linked bid with an award has a parent of its org with an award: ``y_c ≤ y_parent``."""
    findings = []
    for bid in terms.bids.values():
        x = _awarded(result, bid.bid_id)
        if bid.linked_to is None or x <= 0:
            continue
        parent = terms.bids.get(bid.linked_to)
        if parent is None:
            detail = f"awarded {_num(x)} MW, but its parent {bid.linked_to} does not exist"
        elif parent.org_id != bid.org_id:
            detail = f"awarded {_num(x)} MW, but its parent {parent.bid_id} is another org's"
        elif _awarded(result, parent.bid_id) <= 0:
            detail = f"awarded {_num(x)} MW, but its parent {parent.bid_id} got nothing"
        else:
            continue
        findings.append(Finding("links", f"bid {bid.bid_id}", detail))
    return findings


def check_supply(terms: Terms, result: Result) -> list[Finding]:
    """``X_p ≤ max_mw_p``: bids and fixed allocations together stay within the cap."""
    totals = _product_totals(terms, result)
    return [
        Finding(
            "supply",
            f"product {p.product_id}",
            f"{_num(totals[p.product_id])} MW sold (bids and fixed allocations), "
            f"max_mw is {_num(p.max_mw)}",
        )
        for p in terms.products.values()
        if p.max_mw is not None and totals[p.product_id] > p.max_mw
    ]


def _va_quantities(terms: Terms, result: Result) -> dict[str, Decimal | None]:
    """MW of product each virtual asset carries.

    A bid's is its award; a fixed allocation's is read back from its first block
    (power / factor, on the 1 kW grid). ``None`` when it cannot be told.
    """
    first_block: dict[str, Block] = {}
    for block in result.blocks:
        first_block.setdefault(f"{block.virtual_asset_id}/{block.market}", block)
    out: dict[str, Decimal | None] = {}
    for va in result.virtual_assets:
        product = terms.products.get(va.product_id)
        if va.bid_id is not None:
            out[va.virtual_asset_id] = _awarded(result, va.bid_id)
            continue
        keys = [f"{va.virtual_asset_id}/{m}" for m in product.markets] if product else []
        found = [first_block[key] for key in keys if key in first_block]
        if product is None or not found:
            out[va.virtual_asset_id] = None
            continue
        # Fixed allocations are on the 1 kW grid, so the read-back MW is too.
        factor = product.factor[found[0].market]
        out[va.virtual_asset_id] = (found[0].power_mw / factor).quantize(KW)
    return out


def check_fixed_allocations(terms: Terms, result: Result) -> list[Finding]:
    """Every fixed allocation is served in full: one virtual asset of its org, product and MW."""
    quantity = _va_quantities(terms, result)
    served: dict[tuple[str, str], Counter[Decimal | None]] = defaultdict(Counter)
    for va in result.virtual_assets:
        if va.bid_id is None:
            served[(va.org_id, va.product_id)][quantity[va.virtual_asset_id]] += 1
    wanted: dict[tuple[str, str], Counter[Decimal | None]] = defaultdict(Counter)
    for org, product_id, mw in terms.fixed:
        product = terms.products.get(product_id)
        # A product without blocks gives no way to read the MW back; count only.
        wanted[(org, product_id)][mw if product is not None and product.markets else None] += 1
    findings = []
    for org, product_id in sorted(set(served) | set(wanted)):
        missing = wanted[(org, product_id)] - served[(org, product_id)]
        extra = served[(org, product_id)] - wanted[(org, product_id)]
        subject = f"org {org} product {product_id}"
        findings += [
            Finding("fixed_allocations", subject, f"allocation of {_show(q)} MW is not served")
            for q in missing.elements()
        ]
        findings += [
            Finding(
                "fixed_allocations",
                subject,
                f"a virtual asset without bid carries {_show(q)} MW, no fixed allocation says so",
            )
            for q in extra.elements()
        ]
    return findings


def _show(value: Decimal | None) -> str:
    return "?" if value is None else _num(value)


def check_allocation(terms: Terms, result: Result) -> list[Finding]:
    """allocation.csv: allowed assets only, and ``Σ_k w_{p,m,k} = X_p`` exactly."""
    findings = []
    for row in result.allocation:
        subject = f"product {row.product_id} {row.market} asset {row.asset_id}"
        findings += [Finding("allocation", subject, d) for d in _allocation_row(terms, row)]
    totals = _product_totals(terms, result)
    sums: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for row in result.allocation:
        sums[(row.product_id, row.market)] += row.mw
    for product in terms.products.values():
        for market in product.markets:
            got, want = sums[(product.product_id, market)], totals[product.product_id]
            if got != want:
                findings.append(
                    Finding(
                        "allocation",
                        f"product {product.product_id} {market}",
                        f"allocated {_num(got)} MW in total, the product sold {_num(want)} MW",
                    )
                )
    return findings


def _allocation_row(terms: Terms, row: Allocated) -> list[str]:
    """One row: known ids, on the 1 kW grid, a market of the product, an allowed asset."""
    product = terms.products.get(row.product_id)
    asset = terms.assets.get(row.asset_id)
    if product is None:
        return ["unknown product"]
    if asset is None:
        return ["unknown asset"]
    out = []
    if row.mw < 0 or row.mw % KW != 0:
        out.append(f"{_num(row.mw)} MW is not a non-negative multiple of 1 kW")
    if product.factor[row.market] == 0:
        out.append(f"product {row.product_id} has no {row.market} block")
    if row.mw != 0 and asset["tso_zone"] != terms.tso_zone:
        out.append(
            f"{_num(row.mw)} MW on an asset in zone {asset['tso_zone']}, "
            f"outside the auction's zone {terms.tso_zone}"
        )
    if row.mw != 0 and row.market != "wholesale" and not asset[row.market]:
        out.append(f"{_num(row.mw)} MW on an asset not prequalified for {row.market}")
    return out


def _when(instant: datetime, terms: Terms) -> str:
    return local_iso(instant, terms.time_zone)


def check_virtual_assets(terms: Terms, result: Result) -> list[Finding]:
    """One virtual asset per bid with an award, of its org and product, over the product window."""
    findings = []
    per_bid: Counter[str] = Counter()
    for va in result.virtual_assets:
        subject = f"virtual asset {va.virtual_asset_id}"
        product = terms.products.get(va.product_id)
        if product is None:
            findings.append(Finding("virtual_assets", subject, f"unknown product {va.product_id}"))
        elif (va.start, va.end) != (product.start, product.end):
            findings.append(
                Finding(
                    "virtual_assets",
                    subject,
                    f"window {_when(va.start, terms)} to {_when(va.end, terms)}, the product's "
                    f"is {_when(product.start, terms)} to {_when(product.end, terms)}",
                )
            )
        if va.bid_id is None:
            continue
        bid = terms.bids.get(va.bid_id)
        if bid is None:
            findings.append(Finding("virtual_assets", subject, f"unknown bid {va.bid_id}"))
            continue
        per_bid[bid.bid_id] += 1
        if (va.org_id, va.product_id) != (bid.org_id, bid.product_id):
            findings.append(
                Finding("virtual_assets", subject, f"org or product differ from bid {bid.bid_id}")
            )
    for bid in terms.bids.values():
        x, n = _awarded(result, bid.bid_id), per_bid[bid.bid_id]
        if (x > 0 and n != 1) or (x <= 0 and n > 0):
            findings.append(
                Finding(
                    "virtual_assets",
                    f"bid {bid.bid_id}",
                    f"awarded {_num(x)} MW, {n} virtual assets",
                )
            )
    return findings


def check_blocks(terms: Terms, result: Result) -> list[Finding]:
    """One block per market with ``f_{p,m} > 0``: ``power = f·x``, energy as the market holds.

    wholesale ``E = wholesale_h·P``, fcr ``2·fcr_energy_h·P``, afrr ``afrr_energy_h·P``.
    Powers may be rounded to 1 kW, energies to 1 kWh after that.
    """
    virtual_assets = {va.virtual_asset_id: va for va in result.virtual_assets}
    quantity = _va_quantities(terms, result)
    by_va: dict[str, list[Block]] = defaultdict(list)
    findings = []
    for block in result.blocks:
        va = virtual_assets.get(block.virtual_asset_id)
        subject = f"block {block.block_id}"
        if va is None:
            findings.append(Finding("blocks", subject, "belongs to an unknown virtual asset"))
            continue
        by_va[va.virtual_asset_id].append(block)
        if (block.start, block.end) != (va.start, va.end):
            findings.append(Finding("blocks", subject, "window differs from its virtual asset's"))
    for va in virtual_assets.values():
        product = terms.products.get(va.product_id)
        if product is not None:
            x = quantity[va.virtual_asset_id]
            findings += _va_blocks(product, va, by_va[va.virtual_asset_id], x)
    return findings


def _va_blocks(
    product: ProductTerms, va: VirtualAsset, blocks: list[Block], x: Decimal | None
) -> list[Finding]:
    """The blocks of one virtual asset against its product's recipe."""
    markets = sorted(b.market for b in blocks)
    if markets != sorted(product.markets):
        return [
            Finding(
                "blocks",
                f"virtual asset {va.virtual_asset_id}",
                f"blocks for {markets}, expected one each for {product.markets}",
            )
        ]
    if x is None:
        return []
    findings = []
    for block in blocks:
        power = product.factor[block.market] * x
        hours = product.energy_h[block.market]
        energy = hours * power
        subject = f"block {block.block_id}"
        if abs(block.power_mw - power) > HALF_KW:
            findings.append(
                Finding(
                    "blocks", subject, f"power {_num(block.power_mw)} MW, expected {_num(power)}"
                )
            )
        if abs(block.energy_mwh - energy) > HALF_KW * (1 + hours):
            findings.append(
                Finding(
                    "blocks",
                    subject,
                    f"energy {_num(block.energy_mwh)} MWh, expected {_num(energy)}",
                )
            )
    return findings


def check_backing(terms: Terms, result: Result) -> list[Finding]:
    """Backing sums to each block exactly, on assets the allocation uses, as much as it gives them.

    Per block: ``Σ_k power = power_mw`` exactly and ``Σ_k energy = energy_mwh`` within
    1 kWh. Per (product, market, asset): the blocks' backing adds up to
    ``f_{p,m}·w_{p,m,k}``, exactly where ``f`` is 1 and within 1 kW otherwise.
    """
    blocks = {b.block_id: b for b in result.blocks}
    product_of = {va.virtual_asset_id: va.product_id for va in result.virtual_assets}
    allocated = {(a.product_id, a.market, a.asset_id): a.mw for a in result.allocation}
    power: dict[str, Decimal] = defaultdict(Decimal)
    energy: dict[str, Decimal] = defaultdict(Decimal)
    carried: dict[tuple[str, str, str], Decimal] = defaultdict(Decimal)
    findings = []
    for row in result.backing:
        block = blocks.get(row.block_id)
        subject = f"block {row.block_id} asset {row.asset_id}"
        if block is None:
            findings.append(Finding("backing", subject, "unknown block"))
            continue
        key = (product_of.get(block.virtual_asset_id, ""), block.market, row.asset_id)
        findings += [
            Finding("backing", subject, d) for d in _backing_row(terms, row, allocated, key)
        ]
        power[row.block_id] += row.power_mw
        energy[row.block_id] += row.energy_mwh
        carried[key] += row.power_mw
    for block in blocks.values():
        findings += _backing_sums(block, power[block.block_id], energy[block.block_id])
    return findings + _backing_per_asset(terms, result, carried)


def _backing_row(
    terms: Terms,
    row: Backing,
    allocated: dict[tuple[str, str, str], Decimal],
    key: tuple[str, str, str],
) -> list[str]:
    out = []
    if row.asset_id not in terms.assets:
        out.append("unknown asset")
    if row.power_mw < 0 or row.energy_mwh < 0 or row.power_mw % KW != 0:
        out.append(
            f"{_num(row.power_mw)} MW / {_num(row.energy_mwh)} MWh: power and energy must be "
            "non-negative, power on the 1 kW grid"
        )
    if row.power_mw > 0 and allocated.get(key, ZERO) <= 0:
        out.append(f"carries {_num(row.power_mw)} MW, but allocation.csv gives the asset none")
    return out


def _backing_sums(block: Block, power: Decimal, energy: Decimal) -> list[Finding]:
    out = []
    if power != block.power_mw:
        out.append(
            Finding(
                "backing",
                f"block {block.block_id}",
                f"backing sums to {_num(power)} MW, the block has {_num(block.power_mw)} MW",
            )
        )
    if abs(energy - block.energy_mwh) > KW:
        out.append(
            Finding(
                "backing",
                f"block {block.block_id}",
                f"backing sums to {_num(energy)} MWh, the block has {_num(block.energy_mwh)} MWh",
            )
        )
    return out


def _backing_per_asset(
    terms: Terms, result: Result, carried: dict[tuple[str, str, str], Decimal]
) -> list[Finding]:
    """What each asset carries of a (product, market) matches ``f·w`` of allocation.csv:
    exactly where the factor is 1, within 1 kW otherwise (block powers are whole kW)."""
    expected = {
        (a.product_id, a.market, a.asset_id): terms.products[a.product_id].factor[a.market] * a.mw
        for a in result.allocation
        if a.product_id in terms.products
    }
    findings = []
    for key in sorted(set(expected) | set(carried)):
        got, want = carried.get(key, ZERO), expected.get(key, ZERO)
        product = terms.products.get(key[0])
        exact = product is not None and product.factor.get(key[1]) == 1
        if (exact and got != want) or abs(got - want) >= KW:
            product_id, market, asset_id = key
            findings.append(
                Finding(
                    "backing",
                    f"product {product_id} {market} asset {asset_id}",
                    f"blocks are backed by {_num(got)} MW of it, allocation.csv gives "
                    f"f·w = {_num(want)} MW",
                )
            )
    return findings


def check_capacity(terms: Terms, result: Result) -> list[Finding]:
    """No asset exceeds its discharge, charge or energy capacity in any MTU, by any amount.

    Checked twice, at zero tolerance (float noise of ``CAPACITY_FLOOR_MW`` aside):

    - allocation.csv, as docs/clearing.md writes the rows: ``Σ_p coef[c,p,m]·w_{p,m,k}
      ≤ a_k(t)·cap_c(k)`` per asset ``k``, MTU ``t`` and kind ``c``;
    - backing.csv, what each asset physically carries: the power of the blocks it backs
      (in the markets that move power that way) and the energy that power needs (the
      market's hours per MW: wholesale_h, 2·fcr_energy_h, afrr_energy_h).
    """
    grid = terms.grid
    p_index = {p: i for i, p in enumerate(grid.product_ids)}
    k_index = {k: i for i, k in enumerate(grid.asset_ids)}
    w = np.zeros((len(grid.product_ids), len(MARKETS), len(grid.asset_ids)))
    for row in result.allocation:
        if row.product_id in p_index and row.asset_id in k_index:
            p, m = p_index[row.product_id], MARKETS.index(row.market)
            w[p, m, k_index[row.asset_id]] = float(row.mw)
    findings = _over_capacity(terms, grid.coef, w, "allocation.csv")
    # Block power per MW of block: the coefficients without the factor.
    physical = np.divide(
        grid.coef, grid.factors[None], out=np.zeros_like(grid.coef), where=grid.factors[None] > 0
    )
    return findings + _over_capacity(terms, physical, _carried(terms, result), "backing.csv")


def _carried(terms: Terms, result: Result) -> np.ndarray:
    """(product, market, asset): MW of block power backing.csv puts on each asset."""
    grid = terms.grid
    p_index = {p: i for i, p in enumerate(grid.product_ids)}
    k_index = {k: i for i, k in enumerate(grid.asset_ids)}
    product_of = {va.virtual_asset_id: va.product_id for va in result.virtual_assets}
    blocks = {b.block_id: b for b in result.blocks}
    carried = np.zeros((len(grid.product_ids), len(MARKETS), len(grid.asset_ids)))
    for row in result.backing:
        block = blocks.get(row.block_id)
        if block is None or row.asset_id not in k_index or block.market not in MARKETS:
            continue  # check_backing reports these
        product = product_of.get(block.virtual_asset_id)
        if product in p_index:
            p, m = p_index[product], MARKETS.index(block.market)
            carried[p, m, k_index[row.asset_id]] += float(row.power_mw)
    return carried


def _over_capacity(
    terms: Terms, coef: np.ndarray, load_mw: np.ndarray, source: str
) -> list[Finding]:
    """Findings for every (asset, kind) whose load exceeds its capacity in some MTU."""
    grid = terms.grid
    active = grid.active.astype(np.float64)
    load = np.einsum("cpm,pmk->cpk", coef, load_mw)
    usage = np.einsum("cpk,pt->ckt", load, active)
    excess = usage - grid.capacity
    over = excess > CAPACITY_FLOOR_MW
    findings = []
    for c, k in zip(*np.nonzero(over.any(axis=2)), strict=True):
        ts = np.flatnonzero(over[c, k])
        worst = int(ts[np.argmax(excess[c, k, ts])])
        unit, small = ("MWh", "kWh") if KINDS[c] == "energy" else ("MW", "kW")
        when = _mtu_label(grid.mtus[worst], terms)
        used, limit = float(usage[c, k, worst]), float(grid.capacity[c, k, worst])
        detail = (
            f"{source} puts {_num(used)} {unit} on it, {_num((used - limit) * 1000)} "
            f"{small} over its capacity of {_num(limit)} {unit}"
        )
        if ts.size > 1:
            detail += (
                f" (over in {ts.size} MTUs, {_mtu_label(grid.mtus[ts[0]], terms)}"
                f" to {_mtu_label(grid.mtus[ts[-1]], terms)})"
            )
        findings.append(
            Finding("capacity", f"asset {grid.asset_ids[k]} MTU {when} {KINDS[c]}", detail)
        )
    return findings


def _mtu_label(start: np.datetime64, terms: Terms) -> str:
    instant = datetime.fromisoformat(f"{np.datetime_as_string(start, unit='s')}+00:00")
    return _when(instant, terms)


def check_revenue(_terms: Terms, result: Result) -> list[Finding]:
    """``objective_eur = Σ payment_eur`` exactly."""
    total = sum((a.payment_eur for a in result.awards.values()), ZERO)
    objective = result.summary.objective_eur
    if objective is None or objective == total:
        return []
    return [
        Finding(
            "revenue",
            "summary.json objective_eur",
            f"{_num(objective)} EUR, but the payments sum to {_num(total)} EUR",
        )
    ]


def check_optimality(
    summary: Summary, reference: ReferenceSolution, has_fixed: bool
) -> list[Finding]:
    """A solver of our own finds no better revenue, and agrees on infeasibility.

    With status ``time_limit`` the result only claims to be within ``mip_gap`` of the
    optimum, so the reference must beat that bound to count.
    """
    subject = "summary.json objective_eur"
    if summary.status == "infeasible":
        if reference.status == "infeasible":
            return []
        if reference.objective_eur is None:
            return []  # the reference ran out of time without a solution: no verdict
        why = "" if has_fixed else f" ({_NOTHING_FEASIBLE})"
        return [
            Finding(
                "optimality",
                "summary.json status",
                "infeasible, but the reference model finds a solution worth "
                f"{_num(reference.objective_eur)} EUR{why}",
            )
        ]
    if reference.status == "infeasible":
        return [
            Finding(
                "optimality",
                subject,
                "the reference model finds the fixed allocations "
                "infeasible, yet a result was reported",
            )
        ]
    if reference.objective_eur is None:
        return []  # the reference ran out of time without a solution: no verdict
    objective = float(summary.objective_eur or ZERO)
    allowed = objective + MONEY_TOLERANCE_EUR
    if summary.status == "time_limit":
        if summary.mip_gap is None:
            return []
        allowed += abs(objective) * float(summary.mip_gap)
    if reference.objective_eur > allowed:
        return [
            Finding(
                "optimality",
                subject,
                f"{_num(objective)} EUR, but the reference model finds "
                f"{_num(reference.objective_eur)} EUR",
            )
        ]
    if reference.status == "optimal" and objective > reference.objective_eur + MONEY_TOLERANCE_EUR:
        return [
            Finding(
                "optimality",
                subject,
                f"{_num(objective)} EUR, more than the proven optimum "
                f"{_num(reference.objective_eur)} EUR of the reference model",
            )
        ]
    return []


# --------------------------------------------------------------------------- entry points


def _wants_optimality(archive: Archive, optimality: bool | None) -> bool:
    if optimality is not None:
        return optimality
    return archive.bids.height <= AUTO_MAX_BIDS and archive.fleet.height <= AUTO_MAX_ASSETS


def verify(
    archive: Archive, out_dir: str | Path, *, optimality: bool | None = None
) -> VerifyReport:
    """Check the result in ``out_dir`` against ``archive``.

    Parameters
    ----------
    archive
        The auction as cleared.
    out_dir
        The directory ``vba clear`` wrote.
    optimality
        Re-solve the reference model: ``True`` always, ``False`` never, ``None`` only for
        small instances (at most 2,000 bids and 200 assets).

    Returns
    -------
    VerifyReport
        Findings of every check; checks after "files" run only on a well-formed result.
        A result reported infeasible is judged by the optimality check alone.
    """
    result, findings = read_result(out_dir)
    if result is None:
        return VerifyReport(findings, ["files"])
    terms = read_terms(archive)
    infeasible = result.summary.status == "infeasible"
    findings = [] if infeasible else check_files(terms, result)
    if findings:
        return VerifyReport(findings, ["files"])
    checks_run = ["files"]
    for name, check in () if infeasible else _RESULT_CHECKS:
        findings += check(terms, result)
        checks_run.append(name)
    reference_eur = None
    if _wants_optimality(archive, optimality):
        reference = solve_reference(archive, archive.config.time_limit_s)
        findings += check_optimality(result.summary, reference, bool(terms.fixed))
        checks_run.append("optimality")
        reference_eur = reference.objective_eur
    elif infeasible and not terms.fixed:
        # Without fixed allocations, awarding nothing is always feasible: no solver needed.
        findings.append(
            Finding("optimality", "summary.json status", "infeasible, but " + _NOTHING_FEASIBLE)
        )
        checks_run.append("optimality")
    return VerifyReport(findings, checks_run, reference_eur)


_NOTHING_FEASIBLE = "without fixed allocations awarding nothing is feasible"
_RESULT_CHECKS: tuple[tuple[str, Check], ...] = (
    ("summary", check_summary),
    ("awards", check_awards),
    ("exclusive_groups", check_exclusive_groups),
    ("links", check_links),
    ("supply", check_supply),
    ("fixed_allocations", check_fixed_allocations),
    ("allocation", check_allocation),
    ("virtual_assets", check_virtual_assets),
    ("blocks", check_blocks),
    ("backing", check_backing),
    ("capacity", check_capacity),
    ("revenue", check_revenue),
)


def format_report(report: VerifyReport) -> str:
    """One line per finding (check, subject, detail), then a verdict line."""
    lines = [f"{f.check}: {f.subject}: {f.detail}" for f in report.findings]
    if report.ok:
        lines.append(f"verify: {len(report.checks_run)} checks passed")
    else:
        n = len(report.findings)
        lines.append(f"verify: {n} finding{'s' if n != 1 else ''}")
    return "\n".join(lines)
