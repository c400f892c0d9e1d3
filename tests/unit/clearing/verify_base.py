"""The base auction of the checker's tests (test_verify*.py), derived by hand, and the
result files a correct writer produces for any awards and allocation of it.

The base auction: two assets in TenneT DE, one wholesale product 10:00-14:00 local
(1 MW wholesale per MW, 2 h of energy), increment 1 MW, reserve 10 EUR/MW.

    a1: 10 MW each way, 20 MWh  -> carries 10 MW of product (power and energy bind)
    a2:  5 MW each way, 10 MWh  -> carries  5 MW
    b1 org A: 10 MW at 30 EUR/MW -> 10 MW (300 EUR)
    b2 org B:  8 MW at 25 EUR/MW ->  5 MW (125 EUR), the rest of the fleet
    b3 org C:  4 MW at  5 EUR/MW ->  0, below the reserve

Optimum 425 EUR; the ``base_files`` fixture (conftest.py) is its result.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from auction.book import MARKET_FACTOR, MARKETS
from auction.model import Archive
from clearing.verify import VerifyReport
from tests import strategies
from tests.strategies import BERLIN, NORMAL_DAY, Rows, asset, local

DAY = NORMAL_DAY


def at(hour: int, minute: int = 0) -> datetime:
    """A local time of the delivery day, as the UTC instant the frames hold."""
    return local(DAY, hour, minute)


def product(product_id: str = "p1", **extra: Any) -> dict[str, Any]:
    """The base product: 10:00-14:00 local, reserve 10 EUR/MW (see the module docstring)."""
    return strategies.product(product_id, DAY, **({"reserve_price_eur_per_mw": 10.0} | extra))


def bid(bid_id: str, org: str, mw: float, price: float, **extra: Any) -> dict[str, Any]:
    return strategies.bid(bid_id, org, mw, price, **({"submitted_at": at(1)} | extra))


def make_archive(
    fleet: Rows,
    products: Rows,
    bids: Rows,
    allocations: Rows | None = None,
    availability: Rows | None = None,
    day: date = DAY,
) -> Archive:
    return strategies.make_archive(
        fleet, products, bids, allocations, availability, day=day, auction_id="t1"
    )


def base_fleet() -> Rows:
    return [asset("a1", 10.0, 20.0, fcr=True), asset("a2", 5.0, 10.0)]


def base_bids() -> Rows:
    return [bid("b1", "A", 10.0, 30.0), bid("b2", "B", 8.0, 25.0), bid("b3", "C", 4.0, 5.0)]


def base_archive(**changes: Any) -> Archive:
    parts: dict[str, Any] = {
        "fleet": base_fleet(),
        "products": [product()],
        "bids": base_bids(),
    }
    return make_archive(**(parts | changes))


BASE_AWARDS = {"b1": "10", "b2": "5"}
BASE_ALLOCATION = {("p1", "wholesale", "a1"): "10", ("p1", "wholesale", "a2"): "5"}


# --------------------------------------------------------------------------- result files


def dec(value: float) -> Decimal:
    return Decimal(repr(value))


def text(value: Decimal) -> str:
    return f"{value.normalize():f}"


def build_result(
    archive: Archive,
    awards: dict[str, str],
    allocation: dict[tuple[str, str, str], str],
) -> dict[str, Any]:
    """The files a correct writer would produce for these awards and this allocation.

    Blocks and the assets' shares of each product and market are laid end to end, as
    the engine documents it: each asset carries exactly its allocation.
    """
    products = {p["product_id"]: p for p in archive.products.iter_rows(named=True)}
    files: dict[str, Any] = {"awards.csv": [], "allocation.csv": [], "virtual_assets.csv": []}
    carriers: list[tuple[str, str, str, Decimal]] = []  # (va, org, product, MW)
    for b in archive.bids.iter_rows(named=True):
        p = products[b["product_id"]]
        x, q, price = (
            Decimal(awards.get(b["bid_id"], "0")),
            dec(b["quantity_mw"]),
            dec(b["price_eur_per_mw"]),
        )
        below = price < dec(p["reserve_price_eur_per_mw"])
        status = "rejected" if x == 0 else "accepted" if x == q else "partial"
        reason = "" if status == "accepted" else "below_reserve" if below else "outbid"
        files["awards.csv"].append(
            {
                "bid_id": b["bid_id"],
                "org_id": b["org_id"],
                "product_id": b["product_id"],
                "awarded_mw": text(x),
                "price_eur_per_mw": text(price),
                "payment_eur": text(x * price),
                "status": status,
                "reason": reason,
            }
        )
        if x > 0:
            carriers.append((f"va-{b['bid_id']}", b["org_id"], b["product_id"], x))
            files["virtual_assets.csv"].append(virtual_asset(f"va-{b['bid_id']}", b, p))
    for i, a in enumerate(archive.allocations.iter_rows(named=True)):
        va = f"va-fixed-{i}"
        carriers.append((va, a["org_id"], a["product_id"], dec(a["quantity_mw"])))
        files["virtual_assets.csv"].append(
            virtual_asset(va, a | {"bid_id": ""}, products[a["product_id"]])
        )
    files["allocation.csv"] = [
        {"product_id": p, "market": m, "asset_id": k, "mw": mw}
        for (p, m, k), mw in allocation.items()
    ]
    files["blocks.csv"], files["backing.csv"] = blocks_and_backing(archive, carriers, allocation)
    total = sum((Decimal(r["payment_eur"]) for r in files["awards.csv"]), Decimal(0))
    files["summary.json"] = {
        "auction_id": archive.config.auction_id,
        "status": "optimal",
        "objective_eur": total,
        "mip_gap": 0,
        "build_s": 0.01,
        "solve_s": 0.02,
        "n_bids": archive.bids.height,
        "n_accepted": sum(1 for x in awards.values() if Decimal(x) > 0),
        "input_sha256": "0" * 64,
        "result_sha256": "1" * 64,
    }
    return files


def virtual_asset(va: str, owner: dict[str, Any], p: dict[str, Any]) -> dict[str, str]:
    return {
        "virtual_asset_id": va,
        "org_id": owner["org_id"],
        "bid_id": owner["bid_id"],
        "product_id": p["product_id"],
        "start": p["start"].astimezone(BERLIN).isoformat(),
        "end": p["end"].astimezone(BERLIN).isoformat(),
    }


def blocks_and_backing(
    archive: Archive,
    carriers: list[tuple[str, str, str, Decimal]],
    allocation: dict[tuple[str, str, str], str],
) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    products = {p["product_id"]: p for p in archive.products.iter_rows(named=True)}
    config = archive.config
    blocks = []
    lines: dict[tuple[str, str], list[tuple[str, Decimal, Decimal]]] = {}
    for va, _org, product_id, x in carriers:
        p = products[product_id]
        hours = {
            "wholesale": dec(p["wholesale_h"]),
            "fcr": 2 * dec(config.fcr_energy_h),
            "afrr_pos": dec(config.afrr_energy_h),
            "afrr_neg": dec(config.afrr_energy_h),
        }
        for market in MARKETS:
            f = dec(p[MARKET_FACTOR[market]])
            if f == 0:
                continue
            power = f * x
            block_id = f"{va}-{market}"
            blocks.append(
                {
                    "block_id": block_id,
                    "virtual_asset_id": va,
                    "market": market,
                    "power_mw": text(power),
                    "energy_mwh": text(hours[market] * power),
                    "start": p["start"].astimezone(BERLIN).isoformat(),
                    "end": p["end"].astimezone(BERLIN).isoformat(),
                }
            )
            lines.setdefault((product_id, market), []).append((block_id, power, hours[market]))
    backing = []
    for (product_id, market), line in lines.items():
        f = dec(products[product_id][MARKET_FACTOR[market]])
        shares = [
            (k, f * Decimal(mw))
            for (p, m, k), mw in allocation.items()
            if (p, m) == (product_id, market)
        ]
        backing += lay_out(line, shares)
    return blocks, backing


def lay_out(
    line: list[tuple[str, Decimal, Decimal]], shares: list[tuple[str, Decimal]]
) -> list[dict[str, str]]:
    """Blocks end to end, and assets' shares end to end: each overlap is a backing row.

    So every asset carries exactly its share of the product and market, in whole kW
    wherever the shares and block powers are whole kW.
    """
    rows, b, a = [], 0, 0
    block_left = line[0][1] if line else Decimal(0)
    asset_left = shares[0][1] if shares else Decimal(0)
    while b < len(line) and a < len(shares):
        piece = min(block_left, asset_left)
        if piece > 0:
            block_id, _, hours = line[b]
            rows.append(
                {
                    "block_id": block_id,
                    "asset_id": shares[a][0],
                    "power_mw": text(piece),
                    "energy_mwh": text(hours * piece),
                }
            )
        block_left -= piece
        asset_left -= piece
        if block_left == 0:
            b += 1
            block_left = line[b][1] if b < len(line) else Decimal(0)
        if asset_left == 0:
            a += 1
            asset_left = shares[a][1] if a < len(shares) else Decimal(0)
    return rows


def write(out: Path, files: dict[str, Any]) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        if name.endswith(".json"):
            (out / name).write_text(summary_json(content), encoding="utf-8")
            continue
        columns = COLUMNS[name]
        with (out / name).open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns)
            writer.writeheader()
            writer.writerows(content)
    return out


def summary_json(summary: dict[str, Any]) -> str:
    """JSON with Decimals written as exact JSON numbers, as the engine writes them."""
    items = [
        f"{json.dumps(k)}: {text(v) if isinstance(v, Decimal) else json.dumps(v)}"
        for k, v in summary.items()
    ]
    return "{" + ", ".join(items) + "}\n"


COLUMNS = {
    "awards.csv": [
        "bid_id",
        "org_id",
        "product_id",
        "awarded_mw",
        "price_eur_per_mw",
        "payment_eur",
        "status",
        "reason",
    ],
    "allocation.csv": ["product_id", "market", "asset_id", "mw"],
    "virtual_assets.csv": ["virtual_asset_id", "org_id", "bid_id", "product_id", "start", "end"],
    "blocks.csv": [
        "block_id",
        "virtual_asset_id",
        "market",
        "power_mw",
        "energy_mwh",
        "start",
        "end",
    ],
    "backing.csv": ["block_id", "asset_id", "power_mw", "energy_mwh"],
}


def found(report: VerifyReport) -> list[tuple[str, str]]:
    return sorted((f.check, f.subject) for f in report.findings)


def row_of(rows: Iterable[dict[str, str]], **match: str) -> dict[str, str]:
    return next(r for r in rows if all(r[k] == v for k, v in match.items()))
