"""The demo's ancillary step: a trader offers its virtual asset's FCR reserve into the
TSO's market, the operator's sandbox TSO clears it, the trader reads what was accepted."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from rich.console import Console

from auction.model import Archive
from auction.units import KW_PER_MW

FCR_PRODUCTS = ("NEGPOS_08_12", "NEGPOS_12_16", "NEGPOS_16_20")
PRICE_EUR_PER_MW_H = 8.5


def offer_reserve(
    console: Console, client: TestClient, sample: Archive, accounts: dict[str, Any]
) -> str | None:
    """The first organisation (by name) with an FCR block of at least 1 MW offers its
    whole MW in three 4-hour FCR products; returns its name (None if nobody has one)."""
    day = sample.config.delivery_day
    for name in sorted(accounts):
        account = accounts[name]
        if name == "operator":
            continue
        base = f"/organisations/{account['org_id']}/virtual-assets"
        vas = client.get(base, headers=account["headers"]).json()["virtual_assets"]
        for va in vas:
            fcr = [b for b in va["blocks"] if b["market"] == "fcr"]
            mw = max((b["power_kw"] for b in fcr), default=0) // KW_PER_MW
            if mw < 1:
                continue
            url = f"{base}/{va['virtual_asset_id']}/ancillary-bids"
            bids = [
                {
                    "productDateCode": f"{day}_{product}",
                    "offeredCapacity": mw * KW_PER_MW,
                    "capacityPrice": PRICE_EUR_PER_MW_H,
                }
                for product in FCR_PRODUCTS
            ]
            answer = client.post(url, headers=account["headers"], json={"bids": bids})
            if answer.status_code != 200:
                continue  # an outage left the block short: try another
            console.print(
                f"{name} offers its virtual asset {va['product_id']}'s FCR reserve to the TSO: "
                f"{mw} MW in {', '.join(FCR_PRODUCTS)} at {PRICE_EUR_PER_MW_H} EUR/MW/h "
                f"(gate {_local(answer.json()['bids'][0]['gate_closure'], sample)})."
            )
            return name
    console.print("No virtual asset holds a whole MW of FCR: no ancillary bids.")
    return None


def sandbox_tso(
    console: Console, client: TestClient, sample: Archive, accounts: dict[str, Any], name: str
) -> None:
    """The operator plays the TSO's FCR auction in the sandbox; the trader reads its bids."""
    day = sample.config.delivery_day
    op = accounts["operator"]["headers"]
    cleared = client.post(f"/ancillary/{day}/sandbox-tso?market=fcr", headers=op, json={})
    assert cleared.status_code == 200, cleared.text
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
        "The operator sent the pool's FCR bids to the sandbox's TSO (seeded competitors, "
        f"pay-as-cleared); {name} reads: {'; '.join(words)}."
    )


def _local(instant: str, sample: Archive) -> str:
    local = datetime.fromisoformat(instant).astimezone(ZoneInfo(sample.config.time_zone))
    return f"{local:%d %b %H:%M}"
