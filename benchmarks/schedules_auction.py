"""The schedule benchmark's auction: more bidders, a small whole-day auction taken through
open, bids, close, clear and publish over HTTP as the operator, the bidders' wholesale
blocks, and schedules each block accepts in any order."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx2
from rich.console import Console

from benchmarks.http_load import EIC_BIDDER, PASSWORD, TSO_ZONE, checked, login
from benchmarks.schedules_validation import (
    FULL_KW,
    MTU_MINUTES,
    SMALL_KW,
    TIME_ZONE,
    check_any_mix,
    day_start,
    json_body,
)

GATE_S = 4.0  # the gate closes this long after the auction is created


def add_bidders(store: Any, n: int) -> list[str]:
    """``n`` more bidder organisations, one user each, through the store; their emails."""
    from api.http.security import hash_password
    from auction.store.accounts import accept_invite, create_invite, create_org

    now = datetime.now(UTC)
    emails = []
    hashed = hash_password(PASSWORD)
    with store.write() as conn:
        for i in range(n):
            org = create_org(conn, f"Schedules Bidder {i + 2}", EIC_BIDDER, TSO_ZONE, now)
            email = f"bidder{i + 2}@schedules.example.com"
            token = create_invite(conn, email, org.org_id, "bidder", now, timedelta(hours=1))
            accept_invite(conn, token, hashed, now)
            emails.append(email)
    return emails


@dataclass(frozen=True)
class Block:
    """A bidder's wholesale block: where to send its schedules, as whom, on which grid."""

    org_id: str
    token: str
    virtual_asset_id: str
    block_id: str
    start: datetime
    n_mtu: int
    terms: Any  # dispatch.schedule.BlockTerms, as the listing describes the block

    @property
    def path(self) -> str:
        return (
            f"/organisations/{self.org_id}/virtual-assets/{self.virtual_asset_id}"
            f"/blocks/{self.block_id}"
        )


def fleet() -> list[dict[str, Any]]:
    """Four 2 MW / 4 MWh batteries in TenneT DE: room for every bid of ``publish_auction``."""
    return [
        {
            "asset_id": f"bess-{i}",
            "tso_zone": TSO_ZONE,
            "p_charge_mw": 2.0,
            "p_discharge_mw": 2.0,
            "e_min_mwh": 0.0,
            "e_max_mwh": 4.0,
            "fcr": False,
            "afrr_pos": False,
            "afrr_neg": False,
            "owner_org": None,
            "eta_charge": 0.95,
            "eta_discharge": 0.95,
        }
        for i in range(1, 5)
    ]


def products(day: date) -> list[dict[str, Any]]:
    """Two whole-day wholesale products: 1 MW with 2 h per MW, at most one cycle a day."""
    return [
        {
            "product_id": product_id,
            "start": day_start(day).isoformat(),
            "end": day_start(day + timedelta(days=1)).isoformat(),
            "wholesale_mw": 1.0,
            "wholesale_h": 2.0,
            "fcr_mw": 0.0,
            "afrr_pos_mw": 0.0,
            "afrr_neg_mw": 0.0,
            "min_mw": 1.0,
            "increment_mw": 1.0,
            "reserve_price_eur_per_mw": 0.0,
            "max_mw": None,
            "eta_charge": 0.95,
            "eta_discharge": 0.95,
            "daily_cycle_limit": 1.0,
        }
        for product_id in ("day-a", "day-b")
    ]


def publish_auction(vba: str, bidder_emails: list[str], console: Console) -> list[Block]:
    """Create, open, bid, close, clear and publish a whole-day auction through HTTP as the
    operator; every bidder wins 1 MW of each product. Returns their wholesale blocks."""
    from dispatch.schedule import BlockTerms

    with httpx2.Client(base_url=vba, timeout=120) as client:
        operator = {"Authorization": f"Bearer {login(client, 'operator@intake.example.com')}"}
        bidders = []
        for email in bidder_emails:
            token = login(client, email)
            me = checked(client.get("/auth/me", headers={"Authorization": f"Bearer {token}"}), 200)
            bidders.append((me["org_id"], token))
        checked(client.put("/fleet/assets", headers=operator, json={"assets": fleet()}), 200)
        now = datetime.now(UTC)
        day = now.astimezone(ZoneInfo(TIME_ZONE)).date() + timedelta(days=2)
        gate_close = now + timedelta(seconds=GATE_S)
        config = {
            "auction_id": "schedules",
            "delivery_day": day.isoformat(),
            "time_zone": TIME_ZONE,
            "gate_open": (now - timedelta(minutes=1)).isoformat(),
            "gate_close": gate_close.isoformat(),
            "publish_at": (gate_close + timedelta(seconds=1)).isoformat(),
        }
        body = {"auction": config, "products": products(day)}
        auction_id = checked(client.post("/auctions", headers=operator, json=body), 201)[
            "auction_id"
        ]
        checked(client.post(f"/auctions/{auction_id}/open", headers=operator), 200)
        for i, (org_id, token) in enumerate(bidders):
            bids = [
                {"product_id": p["product_id"], "quantity_mw": 1, "price_eur_per_mw": 100 - i}
                for p in products(day)
            ]
            checked(
                client.post(
                    f"/organisations/{org_id}/auctions/{auction_id}/bids",
                    headers={"Authorization": f"Bearer {token}"},
                    json={"bids": bids},
                ),
                201,
            )
        time.sleep(max(0.0, (gate_close - datetime.now(UTC)).total_seconds() + 0.2))
        # The server's scheduler may have closed the gate first (409): either way it is closed.
        closed = client.post(f"/auctions/{auction_id}/close", headers=operator)
        if closed.status_code not in (200, 409):
            checked(closed, 200)
        t0 = time.perf_counter()
        checked(client.post(f"/auctions/{auction_id}/clear", headers=operator), 200)
        checked(client.post(f"/auctions/{auction_id}/publish", headers=operator), 200)
        console.print(
            f"auction {auction_id} for {day} published (close {closed.status_code}); "
            f"clear + publish {time.perf_counter() - t0:.1f} s"
        )
        blocks = []
        for org_id, token in bidders:
            answer = client.get(
                f"/organisations/{org_id}/virtual-assets",
                headers={"Authorization": f"Bearer {token}"},
            )
            for va in checked(answer, 200)["items"]:
                b = next(b for b in va["blocks"] if b["market"] == "wholesale")
                start = datetime.fromisoformat(b["start"])
                end = datetime.fromisoformat(b["end"])
                terms = BlockTerms(
                    start=start,
                    end=end,
                    mtu_minutes=MTU_MINUTES,
                    power_kw=b["power_kw"],
                    energy_kwh=b["energy_kwh"],
                    initial_soc_kwh=b["initial_soc_kwh"],
                    final_soc_kwh=b["final_soc_target_kwh"],
                    final_soc_tolerance_kwh=0.0,
                    eta_charge=b["eta_charge"],
                    eta_discharge=b["eta_discharge"],
                    daily_cycle_limit=b["daily_cycle_limit"],
                    gate_closure_s=b["gate_closure_s"],
                )
                blocks.append(
                    Block(
                        org_id,
                        token,
                        va["virtual_asset_id"],
                        b["block_id"],
                        start,
                        terms.n_mtu,
                        terms,
                    )
                )
    return blocks


def schedule_bodies(block: Block, n: int, points: int, rng: random.Random) -> tuple[bytes, ...]:
    """``n`` schedules that the block accepts in any order: ``points`` distinct MTUs at
    random (all of them for a whole schedule), |power| small enough for any mix."""
    max_kw = FULL_KW if points >= block.n_mtu else SMALL_KW
    check_any_mix(block.terms, max(FULL_KW, SMALL_KW))  # the phases mix both sizes
    out = []
    for _ in range(n):
        ks = sorted(rng.sample(range(block.n_mtu), min(points, block.n_mtu)))
        out.append(
            json_body([(block.terms.mtu_start(k), rng.randint(-max_kw, max_kw)) for k in ks])
        )
    return tuple(out)
