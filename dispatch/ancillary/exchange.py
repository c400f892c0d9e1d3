"""The pool's bids to the TSO and the TSO's results back, in the shape of the TSOs' bid
interface (regelleistung.net's BSP API v3 bid), and what the pool may offer at all.

The operator is the balancing service provider: customers' bids go to the TSO as the
operator's, one TSO bid per customer bid (its ``bidId`` is the customer bid's id), so each
result traces back to exactly one customer bid. Quantities at the TSO are whole MW
(``MAW``); prices are amounts with a payment direction (a negative price is the provider
paying the grid). Pure functions of frames and documents.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np
import polars as pl

from auction.book import schema
from auction.errors import DomainError, Problem
from auction.timegrid import Grid, availability_matrix
from auction.units import CENTS_PER_EUR, KW_PER_MW
from dispatch.ancillary.products import GateRules, parse_product

FILE = "tso_results"
# By law FCR may use at most 80 % of a unit's rated power (the rest keeps it controllable).
FCR_SHARE = 0.8
MARKET_NAME = {"fcr": "FCR", "afrr_capacity": "aFRR", "afrr_energy": "aFRR"}
PRODUCT_TYPE = {"fcr": "CAPACITY", "afrr_capacity": "CAPACITY", "afrr_energy": "ENERGY"}
DIRECTION = {"NEGPOS": "SYMMETRIC", "POS": "POSITIVE", "NEG": "NEGATIVE"}
PRICE_UNIT = {"capacity": "EUR/MW/h", "energy": "EUR/MWh"}

# The customer bids an export is made of, as the store holds them.
EXPORTED = schema(
    {
        "bid_id": pl.String,
        "product_code": pl.String,
        "market": pl.String,
        "direction": pl.String,
        "delivery_day": pl.Date,
        "offered_kw": pl.Int64,
        "capacity_price_cents": pl.Int64,
        "energy_price_cents": pl.Int64,
    }
)
# What an import marks on each customer bid.
RESULTS = schema(
    {
        "bid_id": pl.String,
        "accepted_kw": pl.Int64,
        "accepted_price_cents": pl.Int64,
        "status": pl.String,
    }
)


def _price(kind: str, cents: int) -> dict[str, Any]:
    return {
        "amount": str((abs(Decimal(cents)) / CENTS_PER_EUR).quantize(Decimal("0.01"))),
        "currency": "EUR",
        "measureUnit": PRICE_UNIT[kind],
        "resolution": "PT1H" if kind == "capacity" else "PT15M",
        "paymentDirection": "GRID_TO_PROVIDER" if cents >= 0 else "PROVIDER_TO_GRID",
        "type": kind.upper(),
    }


def tso_bids(bids: pl.DataFrame, zone_eic: str) -> list[dict[str, Any]]:
    """One TSO bid per customer bid (``EXPORTED`` rows), in the order of the rows.

    FCR bids up to 25 MW are indivisible (``minQuantity`` = the offer); aFRR bids are
    divisible in whole MW.
    """
    out = []
    for b in bids.iter_rows(named=True):
        mw = b["offered_kw"] // KW_PER_MW
        name = b["product_code"].split("_", 1)[1]
        prices = []
        if b["capacity_price_cents"] is not None:
            prices.append(_price("capacity", b["capacity_price_cents"]))
        if b["energy_price_cents"] is not None:
            prices.append(_price("energy", b["energy_price_cents"]))
        indivisible = b["market"] == "fcr" and mw <= 25
        out.append(
            {
                "bidId": b["bid_id"],
                "market": MARKET_NAME[b["market"]],
                "productType": PRODUCT_TYPE[b["market"]],
                "productName": name,
                "deliveryDate": b["delivery_day"].isoformat(),
                "direction": DIRECTION[b["direction"]],
                "connectingZone": {"zone": zone_eic, "zoneType": "LFC_AREA"},
                "minQuantity": {"quantity": mw if indivisible else 1, "measureUnit": "MAW"},
                "offeredQuantity": {"quantity": mw, "measureUnit": "MAW"},
                "prices": prices,
                "bidType": "SIMPLE",
            }
        )
    return out


def pool_capacity_kw(
    fleet: pl.DataFrame,
    availability: pl.DataFrame,
    product_codes: Sequence[str],
    gates: GateRules,
    zone_eic: str,
) -> dict[str, int]:
    """What the pool's prequalified assets of the zone can offer for each product: the
    least, over the product's MTUs, of Σ rated power × availability (FCR: 80 % of the
    smaller of charge and discharge power; aFRR+: discharge; aFRR−: charge)."""
    zone = fleet.filter(pl.col("tso_zone") == zone_eic).sort("asset_id")
    ids = zone["asset_id"].to_list()
    out: dict[str, int] = {}
    for code in sorted(set(product_codes)):
        product = parse_product(code, gates)
        if product.block_market == "fcr":
            rated = FCR_SHARE * np.minimum(zone["p_charge_mw"], zone["p_discharge_mw"])
        elif product.block_market == "afrr_pos":
            rated = zone["p_discharge_mw"].to_numpy()
        else:
            rated = zone["p_charge_mw"].to_numpy()
        qualified = zone[product.block_market].to_numpy()
        grid = Grid.of_day(product.day, 15, gates.time_zone)
        share = availability_matrix(availability, ids, grid)
        first = (product.start - grid.start) // grid.mtu
        last = (product.end - grid.start) // grid.mtu
        per_mtu = (np.where(qualified, rated, 0.0)[:, None] * share[:, first:last]).sum(axis=0)
        out[code] = int(np.floor(per_mtu.min() * KW_PER_MW + 1e-6)) if per_mtu.size else 0
    return out


def over_capacity(bids: pl.DataFrame, capacity_kw: Mapping[str, int]) -> list[dict[str, Any]]:
    """Each product whose bids (``EXPORTED`` rows) offer more than the pool can give:
    product_code, offered_kw, capacity_kw, excess_kw; by product."""
    totals = bids.group_by("product_code").agg(pl.col("offered_kw").sum()).sort("product_code")
    return [
        {
            "product_code": code,
            "offered_kw": total,
            "capacity_kw": capacity_kw.get(code, 0),
            "excess_kw": total - capacity_kw.get(code, 0),
        }
        for code, total in totals.iter_rows()
        if total > capacity_kw.get(code, 0)
    ]


def read_results(
    document: Sequence[Mapping[str, Any]], exported: pl.DataFrame, day: date
) -> pl.DataFrame:
    """The TSO's results (the exported bids with ``acceptedQuantity`` and, for accepted
    ones, the price paid in ``prices``) as ``RESULTS`` rows; every problem at once.

    Each result must name a bid of ``exported`` (the customer bids of this day and market),
    once, accept at most what was offered, in whole MW.
    """
    offered = dict(exported.select("bid_id", "offered_kw").iter_rows())
    market_of = dict(exported.select("bid_id", "market").iter_rows())
    problems: list[Problem] = []
    rows: list[tuple[str, int, int | None, str]] = []
    seen: set[str] = set()
    for n, item in enumerate(document, start=1):

        def flag(column: str, value: object, rule: str, n: int = n) -> None:
            problems.append(Problem(FILE, n, column, value, rule))

        # A file read as JSON may hold anything where an object belongs: refuse it, not crash.
        if not isinstance(item, Mapping):
            flag("bidId", item, "each result is an object naming its bid in bidId")
            continue
        bid_id = item.get("bidId")
        if not isinstance(bid_id, str) or bid_id not in offered:
            flag("bidId", bid_id, f"must name a bid exported for {day} in this market")
            continue
        if bid_id in seen:
            flag("bidId", bid_id, "appears once")
            continue
        seen.add(bid_id)
        if item.get("deliveryDate", day.isoformat()) != day.isoformat():
            flag("deliveryDate", item.get("deliveryDate"), f"is {day}")
        accepted = item.get("acceptedQuantity") or {}
        if not isinstance(accepted, Mapping):
            flag("acceptedQuantity", accepted, "an object {quantity: MW, measureUnit: MAW}")
            continue
        quantity = accepted.get("quantity", 0)
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 0:
            flag("acceptedQuantity", quantity, "a whole number of MW, at least 0")
            continue
        accepted_kw = quantity * KW_PER_MW
        if accepted_kw > offered[bid_id]:
            flag(
                "acceptedQuantity",
                quantity,
                f"at most the {offered[bid_id] // KW_PER_MW} MW offered",
            )
            continue
        unit = PRICE_UNIT["energy" if market_of[bid_id] == "afrr_energy" else "capacity"]
        cents = _paid_cents(item.get("prices"), unit, flag) if accepted_kw else None
        if accepted_kw and cents is None:
            continue
        status = (
            "rejected"
            if accepted_kw == 0
            else "accepted"
            if accepted_kw == offered[bid_id]
            else "partially_accepted"
        )
        rows.append((bid_id, accepted_kw, cents, status))
    if problems:
        raise DomainError(problems)
    return pl.DataFrame(rows, schema=RESULTS, orient="row").sort("bid_id")


def _paid_cents(prices: object, unit: str, flag: Any) -> int | None:
    """The price an accepted bid is paid, in cents of ``unit``, from its first price.

    A price in another unit is refused rather than converted: an FCR settlement price per
    MW and 4-hour product read as per MW and hour would pay four times over.
    """
    if not isinstance(prices, list) or not prices or not isinstance(prices[0], Mapping):
        flag("prices", prices, "an accepted bid carries the price it is paid")
        return None
    first = prices[0]
    if first.get("measureUnit", unit) != unit:
        flag("prices", first.get("measureUnit"), f"a price in {unit}, as the bid was sent")
        return None
    try:
        amount = Decimal(str(first.get("amount")))
    except InvalidOperation:
        amount = Decimal("NaN")
    if not amount.is_finite() or amount != amount.quantize(Decimal("0.01")) or abs(amount) > 15_000:
        flag("prices", first.get("amount"), "an amount in whole cents within 15,000 EUR")
        return None
    sign = -1 if first.get("paymentDirection") == "PROVIDER_TO_GRID" else 1
    return sign * int(amount * CENTS_PER_EUR)
