"""Ancillary bids benchmark: export a day's FCR bids of ~2,000 virtual assets × 6 products
to the TSO and import the TSO's results back (issue 14).

    python benchmarks/bench_ancillary.py [--vas 2000] [--assets 400] [--orgs 10] [--repeats 3]

Builds a store the way the server does (in-process, on a fresh SQLite file): a fleet of
``--assets`` FCR-prequalified assets of 10 MW each way, and one auction of a whole-day FCR
product (no wholesale) taken through the REST API: ``--vas`` bids of 1 or 2 MW from
``--orgs`` customers, close, clear, publish: one virtual asset per bid, each with one FCR
block over the day. Every virtual asset then offers its block's power in each of the day's
six FCR products through ``services.ancillary.submit`` (the trader's rules checked, each
bid stored as a version): ``--vas`` × 6 customer bids. Then, side by side in the same
process, median of ``--repeats`` runs each:

- ``export_day`` as shipped: the day's FCR bids read, checked against what the pool's
  prequalified assets can give, marked sent, one TSO bid each; against a baseline that
  reads the same rows with plain ``sqlite3`` and builds the same JSON document in a loop
  (no capacity check, no marking), which must come out equal;
- ``import_results`` as shipped, with a results document accepting ~60 % of the bids
  (FCR bids of at most 25 MW are indivisible: accepted whole or not at all): every result
  checked, each bid marked, audited; against a baseline that UPDATEs each row with plain
  ``sqlite3`` in one transaction without checking anything.

Every timed export does the same work: the bids are put back to ``submitted`` before each
(outside the timer). Figures only: nothing here asserts on a time.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# The checkout on sys.path and benchmarks/ off it (`python benchmarks/bench_X.py` puts it
# first): the packages and benchmarks.common import from this checkout, installed or not.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from api import services  # noqa: E402
from api.cli.demo import DemoClock, _provision  # noqa: E402
from api.http.app import create_app  # noqa: E402
from api.http.settings import Settings  # noqa: E402
from auction.model import TENNET_DE, AuctionConfig  # noqa: E402
from auction.store.results import result_frame  # noqa: E402
from auction.timegrid import day_bounds  # noqa: E402
from benchmarks.common import machine, save_results  # noqa: E402
from dispatch.ancillary.bids import AncillaryBidIn  # noqa: E402
from dispatch.ancillary.products import CAPACITY_STARTS, GateRules, capacity_product  # noqa: E402

TARGET_S = 2.0
DAY = date(2026, 12, 15)
ASSET_MW = 10.0
GATES = GateRules()
FCR_PRODUCTS = [capacity_product(DAY, "NEGPOS", hour, GATES) for hour in CAPACITY_STARTS]
# The columns of ancillary_bids the export reads, in the order the baseline selects them.
COLUMNS = (
    "bid_id",
    "product_code",
    "market",
    "direction",
    "delivery_day",
    "offered_kw",
    "capacity_price_cents",
    "energy_price_cents",
)


def build(n_vas: int, n_assets: int, n_orgs: int, seed: int) -> tuple[Any, Path, DemoClock]:
    """A published day with ``n_vas`` FCR virtual assets in a fresh SQLite store:
    (store, database file, clock just after publication)."""
    rng = np.random.default_rng(seed)
    config = AuctionConfig(auction_id="fcr-day", delivery_day=DAY)
    assert config.gate_close is not None
    clock = DemoClock(config.gate_close.astimezone(UTC) - timedelta(days=1))
    path = Path(tempfile.mkdtemp(prefix="vba-ancillary-")) / "vba.db"
    app = create_app(
        Settings(database_url=f"sqlite:///{path}", token_minutes=10**6),
        clock=clock,
        scheduler=False,
    )
    store = app.state.store
    orgs = [f"customer-{i:02d}" for i in range(1, n_orgs + 1)]
    fleet = [
        {
            "asset_id": f"bess-{i:04d}",
            "tso_zone": TENNET_DE,
            "p_charge_mw": ASSET_MW,
            "p_discharge_mw": ASSET_MW,
            "e_min_mwh": 0.0,
            "e_max_mwh": 2 * ASSET_MW,
            "fcr": True,
            "afrr_pos": True,
            "afrr_neg": True,
            "owner_org": None,
            "eta_charge": 0.95,
            "eta_discharge": 0.95,
        }
        for i in range(n_assets)
    ]
    start, end = day_bounds(DAY)
    product = {
        "product_id": "fcr-day",
        "start": start,
        "end": end,
        "wholesale_mw": 0.0,
        "wholesale_h": 0.0,
        "fcr_mw": 1.0,
        "afrr_pos_mw": 0.0,
        "afrr_neg_mw": 0.0,
        "min_mw": 1.0,
        "increment_mw": 1.0,
        "reserve_price_eur_per_mw": 0.0,
        "max_mw": None,
        "eta_charge": 1.0,
        "eta_discharge": 1.0,
        "daily_cycle_limit": None,
    }
    with TestClient(app) as client:
        accounts = _provision(store, client, ["operator", *orgs], clock.now)
        operator = accounts["operator"]
        operator.put_fleet(fleet)
        operator.create_auction(config.model_dump(mode="json"), [product])
        operator.open_auction(config.auction_id)
        for n, org in enumerate(orgs):
            bids = [
                {
                    "product_id": "fcr-day",
                    "quantity_mw": int(rng.integers(1, 3)),
                    "price_eur_per_mw": round(float(rng.uniform(5, 50)), 2),
                }
                for _ in range(n_vas // n_orgs + (n < n_vas % n_orgs))
            ]
            accounts[org].submit_bids(config.auction_id, bids)
        clock.now = config.gate_close.astimezone(UTC) + timedelta(minutes=1)
        operator.close_auction(config.auction_id)
        operator.clear_auction(config.auction_id)
        operator.publish_auction(config.auction_id)
    return store, path, clock


def submit_every_va(store: Any, clock: DemoClock, seed: int) -> int:
    """Each virtual asset offers its FCR block's power in the day's six FCR products, through
    the trader's service (rules checked, versions stored). Returns the bids stored."""
    rng = np.random.default_rng(seed + 1)
    with store.read() as conn:
        vas = result_frame(conn, "fcr-day", "virtual_assets")
        blocks = result_frame(conn, "fcr-day", "blocks")
    power = dict(blocks.select("virtual_asset_id", "power_kw").iter_rows())
    stored = 0
    for va_id, org_id in vas.select("virtual_asset_id", "org_id").iter_rows():
        bids = [
            AncillaryBidIn(p.code, power[va_id], int(rng.integers(100, 3000)), None)
            for p in FCR_PRODUCTS
        ]
        saved = services.ancillary.submit(store, org_id, va_id, bids, "bench", clock.now, GATES)
        stored += len(saved)
    return stored


def baseline_export(path: Path) -> list[dict[str, Any]]:
    """The same TSO document from the same rows, read with plain sqlite3, built in a loop."""
    with sqlite3.connect(path) as db:
        rows = db.execute(
            f"SELECT {', '.join(COLUMNS)} FROM ancillary_bids WHERE delivery_day = ? "
            "AND market = 'fcr' AND status IN ('submitted', 'sent', 'accepted', "
            "'partially_accepted', 'rejected') ORDER BY start, product_code, bid_id",
            (DAY.isoformat(),),
        ).fetchall()
    out = []
    for bid_id, code, _market, _direction, day, kw, cents, _energy in rows:
        mw = kw // 1000
        quantity = {"quantity": mw, "measureUnit": "MAW"}
        out.append(
            {
                "bidId": bid_id,
                "market": "FCR",
                "productType": "CAPACITY",
                "productName": code.split("_", 1)[1],
                "deliveryDate": day,
                "direction": "SYMMETRIC",
                "connectingZone": {"zone": TENNET_DE, "zoneType": "LFC_AREA"},
                "minQuantity": quantity if mw <= 25 else {"quantity": 1, "measureUnit": "MAW"},
                "offeredQuantity": quantity,
                "prices": [
                    {
                        "amount": f"{abs(cents) // 100}.{abs(cents) % 100:02d}",
                        "currency": "EUR",
                        "measureUnit": "EUR/MW/h",
                        "resolution": "PT1H",
                        "paymentDirection": "GRID_TO_PROVIDER"
                        if cents >= 0
                        else "PROVIDER_TO_GRID",
                        "type": "CAPACITY",
                    }
                ],
                "bidType": "SIMPLE",
            }
        )
    return out


def results_document(exported: list[dict[str, Any]], seed: int) -> list[dict[str, Any]]:
    """The TSO's answer: ~60 % of the bids accepted whole at their product's price."""
    rng = np.random.default_rng(seed + 2)
    price = {p.name: f"{rng.uniform(10, 30):.2f}" for p in FCR_PRODUCTS}
    out = []
    for bid in exported:
        won = bool(rng.random() < 0.6)
        item: dict[str, Any] = {
            "bidId": bid["bidId"],
            "deliveryDate": bid["deliveryDate"],
            "acceptedQuantity": {
                "quantity": bid["offeredQuantity"]["quantity"] if won else 0,
                "measureUnit": "MAW",
            },
        }
        if won:
            item["prices"] = [
                {
                    "amount": price[bid["productName"]],
                    "currency": "EUR",
                    "measureUnit": "EUR/MW/h",
                    "paymentDirection": "GRID_TO_PROVIDER",
                    "type": "CAPACITY",
                }
            ]
        out.append(item)
    return out


def baseline_import(path: Path, document: list[dict[str, Any]], now: datetime) -> int:
    """One plain UPDATE per result in one sqlite3 transaction, nothing checked."""
    at = now.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
    with sqlite3.connect(path) as db:
        offered = dict(db.execute("SELECT bid_id, offered_kw FROM ancillary_bids").fetchall())
        for item in document:
            kw = item["acceptedQuantity"]["quantity"] * 1000
            cents = int(Decimal(item["prices"][0]["amount"]) * 100) if kw else None
            status = (
                "rejected"
                if kw == 0
                else "accepted"
                if kw == offered[item["bidId"]]
                else "partially_accepted"
            )
            db.execute(
                "UPDATE ancillary_bids SET accepted_kw = ?, accepted_price_cents = ?, "
                "status = ?, updated_at = ? WHERE bid_id = ?",
                (kw, cents, status, at, item["bidId"]),
            )
    return len(document)


def reset(path: Path, status: str) -> None:
    """Put every bid back to ``status`` with no result (outside the timers)."""
    with sqlite3.connect(path) as db:
        db.execute(
            "UPDATE ancillary_bids SET status = ?, accepted_kw = NULL, accepted_price_cents = NULL",
            (status,),
        )


def timed(
    repeats: int, before: Callable[[], None], run: Callable[[], Any]
) -> tuple[list[float], Any]:
    """Seconds of each of ``repeats`` calls of ``run`` (``before`` untimed before each) and
    the last answer."""
    seconds, out = [], None
    for _ in range(repeats):
        before()
        t = time.perf_counter()
        out = run()
        seconds.append(time.perf_counter() - t)
    return seconds, out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--vas", type=int, default=2_000)
    parser.add_argument("--assets", type=int, default=400)
    parser.add_argument("--orgs", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--save", action="store_true", help="write results/ancillary-<date>.json")
    args = parser.parse_args(argv)
    console = Console(highlight=False, width=140)
    console.print(machine())
    console.print(
        f"building the day: {args.vas:,} FCR virtual assets on {args.assets} assets, "
        f"{args.orgs} customers ..."
    )
    t0 = time.perf_counter()
    store, path, clock = build(args.vas, args.assets, args.orgs, args.seed)
    built_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    n_bids = submit_every_va(store, clock, args.seed)
    submit_s = time.perf_counter() - t0
    with store.read() as conn:
        n_vas = result_frame(conn, "fcr-day", "virtual_assets").height
    console.print(
        f"  published in {built_s:.1f} s: {n_vas:,} virtual assets; {n_bids:,} FCR bids "
        f"submitted through the service in {submit_s:.1f} s"
    )

    def export() -> list[dict[str, Any]]:
        return services.ancillary.export_day(store, DAY, "fcr", "bench", clock.now, GATES)

    export_s, exported = timed(args.repeats, lambda: reset(path, "submitted"), export)
    plain_export_s, plain = timed(args.repeats, lambda: None, lambda: baseline_export(path))
    same_document = plain == exported
    document = results_document(exported, args.seed)

    def import_() -> dict[str, int]:
        return services.ancillary.import_results(store, DAY, document, "bench", clock.now)

    import_s, counts = timed(args.repeats, lambda: reset(path, "sent"), import_)
    plain_import_s, _ = timed(
        args.repeats,
        lambda: reset(path, "sent"),
        lambda: baseline_import(path, document, clock.now),
    )

    table = Table(
        title=f"FCR bids of {DAY}: {n_vas:,} virtual assets × 6 products = {len(exported):,} "
        f"bids (median of {args.repeats})",
        title_justify="left",
    )
    for name in ("step", "shipped s", "runs", "baseline s", "baseline", "check"):
        table.add_column(name, justify="right" if name.endswith("s") else "left")

    def runs(seconds: list[float]) -> str:
        return ", ".join(f"{s:.2f}" for s in seconds)

    table.add_row(
        "export_day",
        f"{statistics.median(export_s):.3f}",
        runs(export_s),
        f"{statistics.median(plain_export_s):.3f}",
        "sqlite3 read + document in a loop",
        f"same document: {'yes' if same_document else 'NO'}",
    )
    table.add_row(
        "import_results",
        f"{statistics.median(import_s):.3f}",
        runs(import_s),
        f"{statistics.median(plain_import_s):.3f}",
        "sqlite3 UPDATE per row",
        ", ".join(f"{n:,} {status}" for status, n in sorted(counts.items())),
    )
    console.print(table)
    for step, seconds in (("export", export_s), ("import", import_s)):
        median = statistics.median(seconds)
        console.print(
            f"{'     met' if median < TARGET_S else ' not met'}  {step} of a day of "
            f"{n_vas:,} virtual assets × 6 products in < {TARGET_S:g} s: {median:.2f} s"
        )
    if args.save:
        figures = {
            "args": vars(args),
            "virtual_assets": n_vas,
            "bids": len(exported),
            "build_s": built_s,
            "submit_s": submit_s,
            "export_day_s": export_s,
            "baseline_export_s": plain_export_s,
            "same_document": same_document,
            "import_results_s": import_s,
            "baseline_import_s": plain_import_s,
            "statuses": counts,
        }
        console.print(f"figures written to {save_results('ancillary', figures)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
