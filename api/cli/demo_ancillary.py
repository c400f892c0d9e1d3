"""The demo's ancillary step: traders offer their virtual assets' FCR and aFRR reserve to
the TSO, the operator exports the pool's bids and plays the sandbox's TSO, the traders
read what was accepted (and settlement, later, passes the payment on)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from rich.console import Console

from api.client import VbaClient, VbaError
from auction.model import Archive
from auction.units import KW_PER_MW

MARKET_NAMES = {"fcr": "FCR", "afrr_pos": "aFRR+", "afrr_neg": "aFRR-"}
# What a trader offers, per reserve block market: (products, EUR/MW/h).
OFFERS = {
    "fcr": (("NEGPOS_08_12", "NEGPOS_12_16", "NEGPOS_16_20"), 8.5),
    "afrr_pos": (("POS_08_12", "POS_16_20"), 9.0),
    "afrr_neg": (("NEG_08_12",), 6.0),
}


def offer_reserve(console: Console, sample: Archive, accounts: dict[str, VbaClient]) -> list[str]:
    """For each reserve market, the first organisation (by name) with a block of at least
    1 MW offers its whole MW in a few 4-hour products; returns the traders' names."""
    traders = []
    for market, (products, price) in OFFERS.items():
        name = _offer(console, sample, accounts, market, products, price)
        if name is not None and name not in traders:
            traders.append(name)
    if not traders:
        console.print("No virtual asset holds a whole MW of reserve: no ancillary bids.")
    return traders


def _offer(
    console: Console,
    sample: Archive,
    accounts: dict[str, VbaClient],
    market: str,
    products: tuple[str, ...],
    price: float,
) -> str | None:
    day = sample.config.delivery_day
    for name in sorted(n for n in accounts if n != "operator"):
        trader = accounts[name]
        for va in trader.virtual_assets():
            blocks = [b for b in va.blocks if b.market == market]
            mw = max((b.power_kw for b in blocks), default=0) // KW_PER_MW
            if mw < 1:
                continue
            bids = [
                {
                    "productDateCode": f"{day}_{product}",
                    "offeredCapacity": mw * KW_PER_MW,
                    "capacityPrice": price,
                }
                for product in products
            ]
            try:
                stored = trader.submit_ancillary_bids(va.virtual_asset_id, bids)
            except VbaError:
                continue  # an outage left the block short: try another
            console.print(
                f"{name} offers the {MARKET_NAMES[market]} reserve of its virtual asset "
                f"{va.product_id} to the TSO: {mw} MW in {', '.join(products)} at {price} "
                f"EUR/MW/h (gate {_local(stored[0].gate_closure, sample)})."
            )
            return name
    return None


def sandbox_tso(
    console: Console, sample: Archive, accounts: dict[str, VbaClient], traders: list[str]
) -> None:
    """The operator exports the pool's FCR bids (as a real TSO would get them), then plays
    the TSO's FCR and aFRR capacity auctions in the sandbox; the traders read their bids."""
    day = sample.config.delivery_day
    operator = accounts["operator"]
    tso = operator.export_ancillary(day, "fcr").bids
    mw = sum(_quantity(b) for b in tso)
    zone = _zone(tso[0]) if tso else "-"
    console.print(
        f"The operator exports the pool's FCR bids in the TSO's bid format: {len(tso)} bids, "
        f"{mw} MW, zone {zone}."
    )
    operator.sandbox_tso(day, "fcr")
    operator.sandbox_tso(day, "afrr_capacity")
    for name in traders:
        trader = accounts[name]
        seen = [
            b for va in trader.virtual_assets() for b in trader.ancillary_bids(va.virtual_asset_id)
        ]
        words = [
            f"{b.product_date_code.split('_', 1)[1]} {b.status}"
            + (
                f" ({b.accepted_capacity // KW_PER_MW} MW at {b.accepted_price} EUR/MW/h)"
                if b.accepted_capacity
                else ""
            )
            for b in seen
        ]
        console.print(
            f"The sandbox's TSO cleared (seeded competitors); {name} reads: {'; '.join(words)}."
        )


def _quantity(tso_bid: dict[str, Any]) -> int:
    """The MW of a bid in the TSO's format (``offeredQuantity.quantity``)."""
    return int(tso_bid["offeredQuantity"]["quantity"])


def _zone(tso_bid: dict[str, Any]) -> str:
    return str(tso_bid["connectingZone"]["zone"])


def _local(instant: datetime, sample: Archive) -> str:
    local = instant.astimezone(ZoneInfo(sample.config.time_zone))
    return f"{local:%d %b %H:%M} {sample.config.time_zone}"
