"""The intake benchmark's auctions: the sample fleet and two auctions of the sample's
products three days ahead, created over HTTP, and random valid bids of the sample's rows."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx2

from benchmarks.http_load import checked, login


@dataclass
class Setup:
    """What the load needs: where to send what, with which token."""

    vba: str
    bare: str
    bidder_org: str
    bidder_token: str
    operator_token: str
    auction_id: str
    book_auction_id: str
    bid_rows: list[dict[str, Any]] = field(default_factory=list)
    products: list[dict[str, Any]] = field(default_factory=list)


def _shift(value: datetime, days: int, tz: ZoneInfo) -> str:
    """The same local wall time ``days`` later (so DAY products still span the local day)."""
    local = value.astimezone(tz).replace(tzinfo=None) + timedelta(days=days)
    return local.replace(tzinfo=tz).isoformat()


def create_auctions(vba: str, bare: str) -> Setup:
    """The sample fleet and two auctions of the sample's products, three days ahead."""
    from auction.archive import read_archive
    from auction.sample import sample_dir

    archive = read_archive(sample_dir())
    tz = ZoneInfo(archive.config.time_zone)
    now = datetime.now(UTC)
    day = now.astimezone(tz).date() + timedelta(days=3)
    shift = (day - archive.config.delivery_day).days
    products = [
        {
            **p,
            "start": _shift(p["start"], shift, tz),
            "end": _shift(p["end"], shift, tz),
        }
        for p in archive.products.to_dicts()
    ]
    gate_close = now + timedelta(hours=2)
    with httpx2.Client(base_url=vba, timeout=60) as client:
        operator = login(client, "operator@intake.example.com")
        bidder = login(client, "bidder@intake.example.com")
        headers = {"Authorization": f"Bearer {operator}"}
        fleet = {"assets": archive.fleet.to_dicts()}
        checked(client.put("/fleet/assets", headers=headers, json=fleet), 200)
        ids = []
        for auction_id in ("intake", "intake-book-100k"):
            config = {
                **archive.config.model_dump(mode="json"),
                "auction_id": auction_id,
                "delivery_day": day.isoformat(),
                "gate_open": (now - timedelta(minutes=5)).isoformat(),
                "gate_close": gate_close.isoformat(),
                "publish_at": (gate_close + timedelta(hours=1)).isoformat(),
            }
            body = {"auction": config, "products": products}
            ids.append(checked(client.post("/auctions", headers=headers, json=body), 201))
        checked(client.post("/auctions/intake/open", headers=headers), 200)
        me = checked(client.get("/auth/me", headers={"Authorization": f"Bearer {bidder}"}), 200)
    keys = ("product_id", "quantity_mw", "min_quantity_mw", "price_eur_per_mw", "exclusive_group")
    rows = [{k: b[k] for k in keys} for b in archive.bids.to_dicts()]
    return Setup(
        vba=vba,
        bare=bare,
        bidder_org=me["org_id"],
        bidder_token=bidder,
        operator_token=operator,
        auction_id=ids[0]["auction_id"],
        book_auction_id=ids[1]["auction_id"],
        bid_rows=rows,
        products=products,
    )


def bid_bodies(rows: list[dict[str, Any]], n: int, rng: random.Random) -> list[dict[str, Any]]:
    """``n`` valid bids: sample rows (products, quantities, groups) at random prices."""
    return [
        {**rng.choice(rows), "price_eur_per_mw": rng.randint(0, 50_000) / 100} for _ in range(n)
    ]
