"""The rules of an ancillary bid: what a virtual asset's reserve blocks allow it to offer.

A request of bids is accepted whole or not at all. ``check_bids`` reports every problem of
every bid at once (``row`` = the bid's place in the request, from 1; ``column`` = the field
as the REST body names it), so that a trader fixes a request in one round.

The gate is checked apart from, and before, the other rules: a closed gate is a matter of
time, not of the request's content (a 409, not a 422). No edit to the body can bring a bid
past its gate back, so the trader learns that first instead of fixing fields of a bid that
can never go in. ``gate_passed`` stands alone so that replacing and withdrawing a bid ask
the same question of the same instant.

Each bid draws on one block of its own market alone. Products of one market never overlap
in time, and an aFRR energy bid offers the energy of the reserve a capacity bid holds (or a
free bid of the same reserve), so the limits of different products are not summed.

Pure functions of their arguments: no store, no clock, no HTTP.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from auction.cells import units_text
from auction.errors import Conflict, DomainError, Problem
from auction.timegrid import local_iso, mtu_index
from auction.units import CENTS_PER_EUR, KW_PER_MW
from dispatch.ancillary.products import FILE, GateRules, Product, parse_product

# Both price limits of LAYR's API and of the TSOs' energy market: ±15,000.00 EUR.
MAX_PRICE_CENTS = 15_000 * CENTS_PER_EUR
# flag(column, value, rule): report one broken rule of the bid at hand.
Flag = Callable[[str, object, str], None]


@dataclass(frozen=True, slots=True)
class AncillaryBidIn:
    """A bid as a trader sends it, in exact units: kW and cents."""

    product_code: str  # productDateCode
    offered_kw: int  # offeredCapacity
    capacity_price_cents: int | None  # capacityPrice, EUR/MW/h
    energy_price_cents: int | None  # energyPrice, EUR/MWh


@dataclass(frozen=True, slots=True)
class ReserveBlock:
    """A reserve block of the virtual asset, as much as a bid needs of it. Instants are UTC."""

    block_id: str
    market: str  # the block's market: fcr, afrr_pos, afrr_neg (or wholesale, never matched)
    power_kw: int
    start: datetime
    end: datetime
    mtu_minutes: int
    # kW per MTU of [start, end) that an outage left unbacked (None: whole throughout).
    lost_kw: tuple[int, ...] | None = None

    def mtu_start(self, k: int) -> datetime:
        return self.start + k * timedelta(minutes=self.mtu_minutes)

    def available_kw(self, k: int) -> int:
        """What the block can give in MTU ``k``: less where an outage took some."""
        return self.power_kw - (self.lost_kw[k] if self.lost_kw else 0)

    def covers(self, product: Product) -> bool:
        """Whether the product's window lies inside this block, of the market it draws on."""
        return (
            self.market == product.block_market
            and self.start <= product.start
            and product.end <= self.end
        )

    def window_mtus(self, product: Product) -> range:
        """The block's MTUs that the product's window touches (all of it, if not on the grid)."""
        first = mtu_index(product.start, self.start, self.mtu_minutes)
        last = mtu_index(product.end, self.start, self.mtu_minutes, ceil=True)
        return range(first, last)

    def least_available_kw(self, product: Product) -> int:
        """What the block can give all through the product's window."""
        return min(self.available_kw(k) for k in self.window_mtus(product))


@dataclass(frozen=True, slots=True)
class CheckedBid:
    """A bid that keeps every rule, with its product and the block it draws on."""

    bid: AncillaryBidIn
    product: Product
    block_id: str


def gate_passed(product: Product, now: datetime) -> bool:
    """Whether the product's gate has closed at ``now``: a bid at the very gate is late."""
    return now >= product.gate_closure


def check_bids(
    bids: Sequence[AncillaryBidIn],
    blocks: Sequence[ReserveBlock],
    now: datetime,
    gates: GateRules,
) -> list[CheckedBid]:
    """The bids with their products and blocks, if every bid keeps every rule.

    ``blocks`` are the virtual asset's blocks. Returned in the order of ``bids``.

    Raises
    ------
    Conflict
        A bid's product is past its gate at ``now`` (facts ``gate_closure``,
        ``product_date_code``); checked before any other rule but the code's own.
    DomainError
        Every problem of every bid; nothing is accepted then.
    """
    problems: list[Problem] = []
    products: list[Product | None] = []
    for row, bid in enumerate(bids, start=1):
        try:
            products.append(parse_product(bid.product_code, gates))
        except DomainError as refused:
            problems += [replace(p, row=row) for p in refused.problems]
            products.append(None)
    _check_gates([p for p in products if p is not None], now, gates)

    checked: list[CheckedBid] = []
    first_row: dict[str, int] = {}
    for row, (bid, product) in enumerate(zip(bids, products, strict=True), start=1):

        def flag(column: str, value: object, rule: str, row: int = row) -> None:
            problems.append(Problem(FILE, row, column, value, rule))

        _check_offer(bid, flag)
        _check_prices(bid, product, flag)
        if product is None:
            continue
        if product.code in first_row:
            rule = (
                f"one bid per product: bid {first_row[product.code]} already offers {product.code}"
            )
            flag("productDateCode", bid.product_code, rule)
        else:
            first_row[product.code] = row
        block = _block(bid, product, blocks, gates, flag)
        if block is not None:
            checked.append(CheckedBid(bid, product, block.block_id))
    if problems:
        raise DomainError(problems)
    return checked


def _check_gates(products: Sequence[Product], now: datetime, gates: GateRules) -> None:
    late = [p for p in products if gate_passed(p, now)]
    if not late:
        return
    first = late[0]
    closed = local_iso(first.gate_closure, gates.time_zone)
    message = f"the gate of {first.code} closed at {closed}: bids for it are no longer taken"
    if len(late) > 1:
        message += f" ({len(late) - 1} more bids of the request are past their gates)"
    raise Conflict(message, gate_closure=first.gate_closure, product_date_code=first.code)


def _check_offer(bid: AncillaryBidIn, flag: Flag) -> None:
    if bid.offered_kw < KW_PER_MW or bid.offered_kw % KW_PER_MW:
        rule = (
            f"offeredCapacity is in kW and must be whole MW: a multiple of {KW_PER_MW:,} kW, "
            f"at least {KW_PER_MW:,} kW"
        )
        flag("offeredCapacity", bid.offered_kw, rule)


def _check_prices(bid: AncillaryBidIn, product: Product | None, flag: Flag) -> None:
    """Which prices the product takes, and every price given within the limits."""
    prices = (
        ("capacityPrice", bid.capacity_price_cents, "EUR/MW/h"),
        ("energyPrice", bid.energy_price_cents, "EUR/MWh"),
    )
    for column, cents, unit in prices:
        if cents is not None and abs(cents) > MAX_PRICE_CENTS:
            limit = units_text(MAX_PRICE_CENTS, 2)
            rule = f"{column} must lie within -{limit} … {limit} {unit}"
            flag(column, units_text(cents, 2), rule)
    if product is None:
        return
    if product.is_capacity and bid.capacity_price_cents is None:
        flag(
            "capacityPrice",
            None,
            f"{product.name} is a capacity product: capacityPrice (EUR/MW/h) is required",
        )
    if product.market == "fcr" and bid.energy_price_cents is not None:
        rule = "FCR has no energy price: leave energyPrice out of NEGPOS bids"
        flag("energyPrice", units_text(bid.energy_price_cents, 2), rule)
    if product.market == "afrr_energy":
        if bid.energy_price_cents is None:
            rule = f"{product.name} is an aFRR energy product: energyPrice (EUR/MWh) is required"
            flag("energyPrice", None, rule)
        if bid.capacity_price_cents is not None:
            rule = f"{product.name} is an aFRR energy product: it takes no capacityPrice"
            flag("capacityPrice", units_text(bid.capacity_price_cents, 2), rule)


def _block(
    bid: AncillaryBidIn,
    product: Product,
    blocks: Sequence[ReserveBlock],
    gates: GateRules,
    flag: Flag,
) -> ReserveBlock | None:
    """The block the bid draws on: of those covering its window, the one that can give most
    all through it (the first of equals). None, flagged, if none covers it or can give it."""
    tz = gates.time_zone
    covering = [b for b in blocks if b.covers(product)]
    if not covering:
        rule = (
            f"no {product.block_market} reserve block of this virtual asset covers the window "
            f"of {product.name}, {local_iso(product.start, tz)} to {local_iso(product.end, tz)}: "
            f"{product.direction} products draw on {product.block_market} blocks"
        )
        flag("productDateCode", bid.product_code, rule)
        return None
    block = max(covering, key=lambda b: b.least_available_kw(product))
    for k in block.window_mtus(product):
        available = block.available_kw(k)
        if bid.offered_kw > available:
            rule = (
                f"offeredCapacity must not exceed what {product.block_market} block "
                f"{block.block_id} can give in every MTU of {product.name}: "
                f"{available:,} kW in the MTU starting {local_iso(block.mtu_start(k), tz)}"
            )
            if available < block.power_kw:
                rule += f" ({block.power_kw - available:,} kW of its {block.power_kw:,} kW are out)"
            flag("offeredCapacity", bid.offered_kw, rule)
            return None
    return block
