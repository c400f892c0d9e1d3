"""Settlement benchmark: settle a delivered day of ~2,000 virtual assets and 10 customers.

    python benchmarks/bench_settlement.py [--bids 14000] [--assets 300] [--orgs 10] [--repeats 3]

Builds a store the way the server does (in-process, through the REST API on a fresh SQLite
file): the benchmark day of ``auction.synthetic`` with ``--orgs`` bidding organisations,
bids in batches, close, clear, publish; then a random valid schedule for every wholesale
block (written through the store, as the POST route does), and one outage re-backed. Then,
side by side in the same process:

- ``settle_day`` as shipped: invoices with credits and imbalance charges, nominations as
  CSV and schema-checked XML, the reconciliation (which disaggregates the day onto the
  fleet), all stored as a new version;
- a baseline: the two sums a naive settlement would make row by row in plain Python (the
  award total per organisation in Decimal, and each organisation's nomination per MTU),
  without credits, documents or reconciliation.

Median of ``--repeats`` runs. Figures only: nothing here asserts on a time.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
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
import polars as pl  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from api import services  # noqa: E402
from api.cli.demo import DemoClock, _provision  # noqa: E402
from api.http.app import create_app  # noqa: E402
from api.http.settings import Settings  # noqa: E402
from auction.store.dispatch import get_block, save_schedule  # noqa: E402
from auction.store.results import result_frame  # noqa: E402
from auction.synthetic import benchmark_scenario, generate  # noqa: E402
from auction.timegrid import day_bounds  # noqa: E402
from benchmarks.common import save_results  # noqa: E402
from dispatch.schedule import soc_profile, wholesale_terms  # noqa: E402

TARGET_S = 3.0
BATCH = 1_000


def build(n_bids: int, n_assets: int, n_orgs: int, seed: int) -> tuple[Any, Any, str, Any]:
    """A published, dispatched day in a fresh store: (store, archive, operator org, clock)."""
    scenario = dataclasses.replace(benchmark_scenario(n_bids, n_assets), n_orgs=n_orgs)
    archive = generate(scenario)
    cfg = archive.config
    assert cfg.gate_close is not None
    clock = DemoClock(cfg.gate_close.astimezone(UTC) - timedelta(days=1))
    url = f"sqlite:///{Path(tempfile.mkdtemp(prefix='vba-settle-')) / 'vba.db'}"
    app = create_app(Settings(database_url=url, token_minutes=10**6), clock=clock, scheduler=False)
    store = app.state.store
    orgs = sorted(set(archive.bids["org_id"]))
    with TestClient(app) as client:
        accounts = _provision(store, client, ["operator", *orgs], clock.now)
        operator = accounts["operator"]
        operator.put_fleet(archive.fleet.to_dicts())
        operator.create_auction(cfg.model_dump(mode="json"), archive.products.to_dicts())
        operator.open_auction(cfg.auction_id)
        keys = ("product_id", "quantity_mw", "min_quantity_mw", "price_eur_per_mw")
        for org in orgs:
            rows = archive.bids.filter(
                (pl.col("org_id") == org)
                & pl.col("linked_to").is_null()
                & pl.col("exclusive_group").is_null()
            ).to_dicts()
            for i in range(0, len(rows), BATCH):
                bids = [{k: r[k] for k in keys} for r in rows[i : i + BATCH]]
                accounts[org].submit_bids(cfg.auction_id, bids)
        clock.now = cfg.gate_close.astimezone(UTC)
        operator.close_auction(cfg.auction_id)
        operator.clear_auction(cfg.auction_id)
        operator.publish_auction(cfg.auction_id)
        operator_org = operator.me().org_id
    _dispatch_every_block(store, cfg.auction_id, clock.now, seed)
    _, day_end = day_bounds(cfg.delivery_day, cfg.time_zone)
    clock.now = day_end + timedelta(hours=8)
    return store, archive, operator_org, clock


def _dispatch_every_block(store: Any, auction_id: str, now: datetime, seed: int) -> None:
    """A random schedule within the SoC window for every wholesale block (through the store)."""
    rng = np.random.default_rng(seed)
    with store.read() as conn:
        blocks = result_frame(conn, auction_id, "blocks").filter(pl.col("market") == "wholesale")
        records = [
            get_block(conn, va, b)
            for va, b in blocks.select("virtual_asset_id", "block_id").iter_rows()
        ]
    with store.write() as conn:
        for block in records:
            assert block is not None
            terms = wholesale_terms(
                block.config, block.start, block.end, block.power_kw, block.energy_kwh
            )
            power = (rng.uniform(-0.3, 0.3, terms.n_mtu) * block.power_kw).astype(np.int64)
            while not _inside(terms, power):
                power //= 2
            save_schedule(conn, block, 1, power.tolist(), terms.n_mtu, "bench", now)


def _inside(terms: Any, power: np.ndarray) -> bool:
    soc = soc_profile(terms, power).soc_kwh
    return bool(soc.min() >= 0 and soc.max() <= terms.energy_kwh)


def baseline(store: Any, auction_id: str, mtu_minutes: int) -> tuple[int, int]:
    """Award totals per organisation in Decimal and nominations per organisation and MTU,
    row by row in plain Python; returns (organisations, MTU sums) so nothing is skipped."""
    with store.read() as conn:
        awards = result_frame(conn, auction_id, "awards")
        vas = result_frame(conn, auction_id, "virtual_assets")
        blocks = result_frame(conn, auction_id, "blocks")
        schedules = services.frames.schedule_frame(
            conn,
            blocks.join(vas.select("virtual_asset_id", "product_id"), on="virtual_asset_id"),
            mtu_minutes,
        )
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for row in awards.iter_rows(named=True):
        totals[row["org_id"]] += Decimal(row["awarded_kw"]) * Decimal(row["price_cents"]) / 100_000
    owner = dict(vas.select("virtual_asset_id", "org_id").iter_rows())
    va_of = dict(blocks.select("block_id", "virtual_asset_id").iter_rows())
    per_mtu: dict[tuple[str, datetime], int] = defaultdict(int)
    for block_id, start, power in schedules.iter_rows():
        per_mtu[(owner[va_of[block_id]], start)] += power
    return len(totals), len(per_mtu)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--bids", type=int, default=14_000)
    parser.add_argument("--assets", type=int, default=300)
    parser.add_argument("--orgs", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--save", action="store_true", help="write results/settlement-<date>.json")
    args = parser.parse_args(argv)
    console = Console(highlight=False)
    console.print(
        f"building the day: {args.bids:,} bids, {args.assets} assets, {args.orgs} organisations ..."
    )
    t0 = time.perf_counter()
    store, archive, operator_org, clock = build(args.bids, args.assets, args.orgs, args.seed)
    cfg = archive.config
    with store.read() as conn:
        n_vas = result_frame(conn, cfg.auction_id, "virtual_assets").height
    console.print(f"  built in {time.perf_counter() - t0:.1f} s: {n_vas:,} virtual assets")

    shipped, plain = [], []
    settled = None
    for _ in range(args.repeats):
        t = time.perf_counter()
        settled = services.settlement.settle_day(
            store, cfg.delivery_day, 15_000, operator_org, "bench", clock.now
        )
        shipped.append(time.perf_counter() - t)
        t = time.perf_counter()
        baseline(store, cfg.auction_id, cfg.mtu_minutes)
        plain.append(time.perf_counter() - t)
    assert settled is not None
    table = Table(
        title=f"Settling {cfg.delivery_day}: {n_vas:,} virtual assets, {args.orgs} customers "
        f"(median of {args.repeats})",
        title_justify="left",
    )
    for name in ("variant", "seconds", "invoice lines", "documents", "reconciled"):
        table.add_column(name, justify="left" if name == "variant" else "right")
    table.add_row(
        "settle_day (shipped)",
        f"{statistics.median(shipped):.3f}",
        f"{settled.lines.height:,}",
        str(settled.documents),
        "yes" if settled.run.report["ok"] else "NO",
    )
    table.add_row("baseline: two sums row by row", f"{statistics.median(plain):.3f}", "-", "-", "-")
    console.print(table)
    met = statistics.median(shipped) < TARGET_S
    console.print(
        f"{'     met' if met else ' not met'}  settle a day of ~2,000 virtual assets and "
        f"10 customers in < {TARGET_S:g} s: {statistics.median(shipped):.2f} s"
    )
    if args.save:
        figures = {
            "args": vars(args),
            "virtual_assets": n_vas,
            "settle_day_s": shipped,
            "baseline_s": plain,
            "invoice_lines": settled.lines.height,
            "documents": settled.documents,
            "reconciled": settled.run.report["ok"],
        }
        console.print(f"figures written to {save_results('settlement', figures)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
