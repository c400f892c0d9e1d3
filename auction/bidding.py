"""The archive's bid rules (docs/archive.md) for bids that arrive one by one over REST.

``auction.rules.check_bids`` judges a whole table at once; its fixed cost (tens of
milliseconds) is fine for a file but not for one bid. These checks are plain Python on
exact Decimals and apply the same rules, in the same words; a property test holds the two
to the same verdicts. Links may only name bids of the bidder's own organisation: any other
id reads as "no such bid", so that nobody learns another organisation's ids.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from auction.cells import MAX_INTEGER_DIGITS, units_text
from auction.errors import DomainError, Problem

KW_DECIMALS = 3
CENT_DECIMALS = 2


@dataclass(frozen=True, slots=True)
class ProductLimits:
    """What a bid must respect of its product, in exact integers."""

    min_kw: int
    increment_kw: int


@dataclass(frozen=True, slots=True)
class BidIn:
    """A bid as a bidder sends it (the archive's columns, without org and time)."""

    bid_id: str
    product_id: str
    quantity_mw: Decimal
    min_quantity_mw: Decimal | None
    price_eur_per_mw: Decimal
    exclusive_group: str | None = None
    linked_to: str | None = None


@dataclass(frozen=True, slots=True)
class BidRow:
    """A checked bid in exact units, ready for the store."""

    bid_id: str
    product_id: str
    quantity_kw: int
    min_quantity_kw: int | None
    price_cents: int
    exclusive_group: str | None
    linked_to: str | None


def _too_large(value: Decimal) -> bool:
    """More integer digits than the archive takes (its exact units would not fit the
    store's 64-bit integers, and scaling ``1e999999`` overflows Decimal's context)."""
    return not value.is_zero() and value.adjusted() >= MAX_INTEGER_DIGITS


def _shown(value: Decimal) -> str:
    """The value as written out in full, unless that would be a million digits."""
    return format(value, "f") if value.is_finite() and not _too_large(value) else str(value)


def _units(value: Decimal, decimals: int) -> int | None:
    """``value`` in integer units of 10**-decimals, or None if it has more decimals."""
    scaled = value.scaleb(decimals)
    return int(scaled) if scaled == scaled.to_integral_value() else None


def _mw(kw: int) -> str:
    return units_text(kw, KW_DECIMALS)


class _Checker:
    def __init__(self, file: str) -> None:
        self.file = file
        self.problems: list[Problem] = []

    def flag(self, row: int, bid: BidIn, column: str, value: object, rule: str) -> None:
        self.problems.append(Problem(self.file, row, column, value, rule, bid.bid_id))

    def quantity(
        self, row: int, bid: BidIn, column: str, value: Decimal, limits: ProductLimits | None
    ) -> int | None:
        """The archive's rules for a quantity of product; its kW if on the 1 kW grid."""
        shown = _shown(value)
        if not value.is_finite():
            self.flag(row, bid, column, shown, f"{column} must be a finite number, e.g. 12.5")
            return None
        if _too_large(value):
            self.flag(row, bid, column, shown, f"{column} is too large")
            return None
        kw = _units(value, KW_DECIMALS)
        if kw is None:
            rule = f"{column} must lie on the 1 kW grid: at most three decimals"
            self.flag(row, bid, column, shown, rule)
            return None
        if kw <= 0:
            self.flag(row, bid, column, shown, f"{column} must be > 0")
            return kw
        if limits is None:
            return kw
        if kw % limits.increment_kw:
            rule = (
                f"{column} must be a whole multiple of the product's increment_mw "
                f"{_mw(limits.increment_kw)} MW"
            )
            self.flag(row, bid, column, shown, rule)
        if kw < limits.min_kw:
            rule = f"{column} must be at least the product's min_mw {_mw(limits.min_kw)} MW"
            self.flag(row, bid, column, shown, rule)
        return kw


def check_bids_in(
    bids: Sequence[BidIn],
    products: Mapping[str, ProductLimits],
    own_links: Mapping[str, str | None],
    *,
    file: str = "bids",
) -> list[BidRow]:
    """Check bids of one organisation against the auction's products and its other bids.

    Parameters
    ----------
    bids
        The new bids, or the new versions of existing bids.
    products
        The auction's products by id.
    own_links
        The organisation's current bids in this auction: bid id -> its ``linked_to``.

    Raises
    ------
    DomainError
        With every problem found; rows count the bids from 1.
    """
    check = _Checker(file)
    rows: list[BidRow] = []
    seen: set[str] = set()
    for row, bid in enumerate(bids, start=1):
        # Ids already in the store are the store's to refuse, in one query for the batch.
        if bid.bid_id in seen:
            rule = f"bid_id {bid.bid_id!r} is not unique; an earlier bid of the request has it"
            check.flag(row, bid, "bid_id", bid.bid_id, rule)
        seen.add(bid.bid_id)
        limits = products.get(bid.product_id)
        if limits is None:
            rule = f"product_id {bid.product_id!r} is not a product of this auction"
            check.flag(row, bid, "product_id", bid.product_id, rule)
        quantity = check.quantity(row, bid, "quantity_mw", bid.quantity_mw, limits)
        least = None
        if bid.min_quantity_mw is not None:
            least = check.quantity(row, bid, "min_quantity_mw", bid.min_quantity_mw, limits)
            if least is not None and quantity is not None and least > quantity:
                rule = "min_quantity_mw must not exceed quantity_mw"
                check.flag(row, bid, "min_quantity_mw", format(bid.min_quantity_mw, "f"), rule)
        price = _price(check, row, bid)
        complete = bid.min_quantity_mw is None or least is not None
        if quantity is not None and price is not None and limits is not None and complete:
            rows.append(
                BidRow(
                    bid.bid_id,
                    bid.product_id,
                    quantity,
                    least,
                    price,
                    bid.exclusive_group,
                    bid.linked_to,
                )
            )
    _check_links(check, bids, own_links)
    if check.problems:
        raise DomainError(check.problems)
    return rows


def _price(check: _Checker, row: int, bid: BidIn) -> int | None:
    value = bid.price_eur_per_mw
    shown = _shown(value)
    if not value.is_finite():
        check.flag(row, bid, "price_eur_per_mw", shown, "price_eur_per_mw must be a finite number")
        return None
    if _too_large(value):
        check.flag(row, bid, "price_eur_per_mw", shown, "price_eur_per_mw is too large")
        return None
    cents = _units(value, CENT_DECIMALS)
    if cents is None:
        rule = "price_eur_per_mw has at most two decimals (whole cents)"
        check.flag(row, bid, "price_eur_per_mw", shown, rule)
        return None
    if cents < 0:
        check.flag(row, bid, "price_eur_per_mw", shown, "price_eur_per_mw must be >= 0")
        return None
    return cents


def _check_links(
    check: _Checker, bids: Sequence[BidIn], own_links: Mapping[str, str | None]
) -> None:
    """linked_to names a bid of the same organisation (existing or in this request), no loops.

    ``own_links`` is only looked up, never listed: a store can answer it bid by bid.
    """
    in_request = {bid.bid_id: bid.linked_to for bid in bids}

    def parent(bid_id: str) -> str | None:
        return in_request[bid_id] if bid_id in in_request else own_links[bid_id]

    for row, bid in enumerate(bids, start=1):
        link = bid.linked_to
        if link is None:
            continue
        if link == bid.bid_id:
            check.flag(row, bid, "linked_to", link, "a bid cannot link to itself")
        elif link not in in_request and link not in own_links:
            rule = f"linked_to names no bid of your organisation in this auction: {link!r}"
            check.flag(row, bid, "linked_to", link, rule)
        else:
            path = [bid.bid_id]
            node: str | None = link
            while (
                node is not None and node not in path and (node in in_request or node in own_links)
            ):
                path.append(node)
                node = parent(node)
            if node == bid.bid_id:
                rule = (
                    f"links form a cycle: {' -> '.join([*path, bid.bid_id])}; "
                    "a chain of links must end at a bid without linked_to"
                )
                check.flag(row, bid, "linked_to", link, rule)
