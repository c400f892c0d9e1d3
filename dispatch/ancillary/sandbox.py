"""The sandbox's TSO: it answers the pool's exported bids as the TSO's auction would.

Seeded competitor bids join the pool's, the demand per product is the operator's (or a
seeded default), and ``tso`` clears them: FCR pay-as-cleared, aFRR capacity pay-as-bid.
The answer is a results document in the shape ``exchange.read_results`` reads, so it goes
in through the same import as a real TSO's results. Prices stay per MW and hour here: all
bids of one product span the same hours, so scaling them changes neither the selection
nor which price is marginal.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import numpy as np
import polars as pl

from dispatch.ancillary.tso import AFRR_PRICE, FCR_PRICE, clear_afrr_capacity, clear_fcr

# Competitors per product and their price levels (EUR/MW/h): FCR cleared around 5-15
# EUR/MW/h in 2024 (20-60 EUR/MW per 4-hour product), aFRR capacity around 5-20.
COMPETITORS = 12
PRICE_LEVEL = {"fcr": 9.0, "afrr_capacity": 11.0}
DEMAND_SHARE = 0.6  # the default demand: this share of all MW offered for the product


def competitors(products: Sequence[str], market: str, seed: int) -> pl.DataFrame:
    """Seeded bids of other providers: 1-25 MW each, FCR bids indivisible up to 25 MW."""
    rng = np.random.default_rng([seed, len(market)])
    rows = []
    for product in sorted(products):
        for i in range(COMPETITORS):
            cents = round(float(PRICE_LEVEL[market] * rng.lognormal(0.0, 0.35)) * 100)
            rows.append(
                {
                    "bid_id": f"competitor-{product}-{i:02d}",
                    "product": product,
                    "price_cents": cents,
                    "offered_mw": int(rng.integers(1, 26)),
                    "indivisible": market == "fcr",
                    "rank": 1_000 + i,
                }
            )
    return pl.DataFrame(rows)


def tso_results(
    bids: Sequence[Mapping[str, Any]],
    market: str,
    seed: int,
    demand_mw: Mapping[str, int] | None = None,
) -> list[dict[str, Any]]:
    """The results of the pool's ``bids`` (as ``exchange.tso_bids`` writes them) in an
    auction with seeded competitors; ``demand_mw`` by product name (default: a share of
    what is offered)."""
    if market not in PRICE_LEVEL:
        raise ValueError(f"the sandbox TSO clears capacity markets only, not {market}")
    if not bids:
        return []
    ours = pl.DataFrame(
        [
            {
                "bid_id": b["bidId"],
                "product": b["productName"],
                "price_cents": _cents(b["prices"][0]),
                "offered_mw": b["offeredQuantity"]["quantity"],
                "indivisible": b["minQuantity"]["quantity"] == b["offeredQuantity"]["quantity"]
                and market == "fcr",
                "rank": n,  # the pool's bids were received first, in the export's order
            }
            for n, b in enumerate(bids)
        ],
        schema={
            "bid_id": pl.String,
            "product": pl.String,
            "price_cents": pl.Int64,
            "offered_mw": pl.Int64,
            "indivisible": pl.Boolean,
            "rank": pl.Int64,
        },
    )
    book = pl.concat([ours, competitors(ours["product"].unique().to_list(), market, seed)])
    offered = dict(book.group_by("product").agg(pl.col("offered_mw").sum()).iter_rows())
    demand = {
        p: (demand_mw or {}).get(p, max(1, int(DEMAND_SHARE * total)))
        for p, total in offered.items()
    }
    price = FCR_PRICE if market == "fcr" else AFRR_PRICE
    book = book.with_columns((pl.col("price_cents") / 100).alias(price)).drop("price_cents")
    if market == "fcr":
        cleared = clear_fcr(book, demand).bids.rename({"settlement_price_eur_per_mw": "paid"})
    else:
        cleared = clear_afrr_capacity(book, demand).bids.rename({"paid_price_eur_per_mw_h": "paid"})
    mine = cleared.filter(pl.col("bid_id").is_in(ours["bid_id"].implode()))
    return [
        {
            "bidId": r["bid_id"],
            "acceptedQuantity": {"quantity": int(r["accepted_mw"]), "measureUnit": "MAW"},
            "prices": []
            if not r["accepted_mw"]
            else [
                {
                    "amount": str(Decimal(str(r["paid"])).quantize(Decimal("0.01"))),
                    "currency": "EUR",
                    "measureUnit": "EUR/MW/h",
                    "paymentDirection": "GRID_TO_PROVIDER",
                }
            ],
        }
        for r in mine.sort("bid_id").iter_rows(named=True)
    ]


def _cents(price: Mapping[str, Any]) -> int:
    cents = int(Decimal(str(price["amount"])) * 100)
    return -cents if price.get("paymentDirection") == "PROVIDER_TO_GRID" else cents
