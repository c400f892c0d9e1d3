"""The demo's ancillary step: traders offer their virtual assets' FCR and aFRR reserve to
the TSO, the operator exports the pool's bids and plays the sandbox's TSO, the traders
read what was accepted (and settlement, later, passes the payment on)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from rich.console import Console

from auction.model import Archive
from auction.units import KW_PER_MW

MARKET_NAMES = {"fcr": "FCR", "afrr_pos": "aFRR+", "afrr_neg": "aFRR-"}
# What a trader offers, per reserve block market: (products, EUR/MW/h).
OFFERS = {
    "fcr": (("NEGPOS_08_12", "NEGPOS_12_16", "NEGPOS_16_20"), 8.5),
    "afrr_pos": (("POS_08_12", "POS_16_20"), 9.0),
    "afrr_neg": (("NEG_08_12",), 6.0),
}


def offer_reserve(
    console: Console, client: TestClient, sample: Archive, accounts: dict[str, Any]
) -> list[str]:
    """For each reserve market, the first organisation (by name) with a block of at least
    1 MW offers its whole MW in a few 4-hour products; returns the traders' names."""
    traders = []
    for market, (products, price) in OFFERS.items():
        name = _offer(console, client, sample, accounts, market, products, price)
        if name is not None and name not in traders:
            traders.append(name)
    if not traders:
        console.print("No virtual asset holds a whole MW of reserve: no ancillary bids.")
    return traders


def _offer(
    console: Console,
    client: TestClient,
    sample: Archive,
    accounts: dict[str, Any],
    market: str,
    products: tuple[str, ...],
    price: float,
) -> str | None:
    day = sample.config.delivery_day
    for name in sorted(n for n in accounts if n != "operator"):
        account = accounts[name]
        base = f"/organisations/{account['org_id']}/virtual-assets"
        for va in client.get(base, headers=account["headers"]).json()["virtual_assets"]:
            blocks = [b for b in va["blocks"] if b["market"] == market]
            mw = max((b["power_kw"] for b in blocks), default=0) // KW_PER_MW
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
            url = f"{base}/{va['virtual_asset_id']}/ancillary-bids"
            answer = client.post(url, headers=account["headers"], json={"bids": bids})
            if answer.status_code != 200:
                continue  # an outage left the block short: try another
            gate = _local(answer.json()["bids"][0]["gate_closure"], sample)
            console.print(
                f"{name} offers the {MARKET_NAMES[market]} reserve of its virtual asset "
                f"{va['product_id']} "
                f"to the TSO: {mw} MW in {', '.join(products)} at {price} EUR/MW/h (gate {gate})."
            )
            return name
    return None


def sandbox_tso(
    console: Console,
    client: TestClient,
    sample: Archive,
    accounts: dict[str, Any],
    traders: list[str],
) -> None:
    """The operator exports the pool's FCR bids (as a real TSO would get them), then plays
    the TSO's FCR and aFRR capacity auctions in the sandbox; the traders read their bids."""
    day = sample.config.delivery_day
    op = accounts["operator"]["headers"]
    exported = client.post(f"/ancillary/{day}/export?market=fcr", headers=op)
    assert exported.status_code == 200, exported.text
    tso = exported.json()["bids"]
    console.print(
        f"The operator exports the pool's FCR bids in the TSO's bid format: {len(tso)} bids, "
        f"{sum(b['offeredQuantity']['quantity'] for b in tso)} MW, zone "
        f"{tso[0]['connectingZone']['zone'] if tso else '-'}."
    )
    for market in ("fcr", "afrr_capacity"):
        cleared = client.post(f"/ancillary/{day}/sandbox-tso?market={market}", headers=op, json={})
        assert cleared.status_code == 200, cleared.text
    for name in traders:
        account = accounts[name]
        base = f"/organisations/{account['org_id']}/virtual-assets"
        seen = []
        for va in client.get(base, headers=account["headers"]).json()["virtual_assets"]:
            url = f"{base}/{va['virtual_asset_id']}/ancillary-bids"
            seen += client.get(url, headers=account["headers"]).json()["bids"]
        words = [
            f"{b['product_date_code'].split('_', 1)[1]} {b['status']}"
            + (
                f" ({b['accepted_capacity'] // KW_PER_MW} MW at {b['accepted_price']} EUR/MW/h)"
                if b["accepted_capacity"]
                else ""
            )
            for b in seen
        ]
        console.print(
            f"The sandbox's TSO cleared (seeded competitors); {name} reads: {'; '.join(words)}."
        )


def _local(instant: str, sample: Archive) -> str:
    local = datetime.fromisoformat(instant).astimezone(ZoneInfo(sample.config.time_zone))
    return f"{local:%d %b %H:%M} {sample.config.time_zone}"
