"""Commands on auction archives (no store): ``vba clear``, ``vba verify``, ``vba dispatch``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
from rich.console import Console
from rich.table import Table

from api.cli.exits import EXIT_FINDINGS, EXIT_INFEASIBLE
from auction.archive import read_archive, table_csv
from auction.model import Archive
from auction.safewrite import make_dir, write_file
from auction.units import CENTS_PER_EUR, KW_PER_MW, PAYMENT_UNITS_PER_EUR
from clearing import ClearingResult, clear, write_results
from clearing.report import product_table, utilisation
from clearing.result import gap_text
from clearing.verify import format_report, verify
from dispatch.disaggregate import Disaggregation
from dispatch.offline import replay


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    clear_cmd = sub.add_parser("clear", help="clear an auction archive and write its results")
    clear_cmd.add_argument("auction_dir", type=Path, metavar="AUCTION_DIR")
    clear_cmd.add_argument("--out", type=Path, required=True, metavar="OUT")
    clear_cmd.add_argument("--time-limit", type=float, help="seconds (default: auction.json)")
    clear_cmd.set_defaults(run=clear_command)

    verify_cmd = sub.add_parser("verify", help="re-check a result independently of the clearing")
    verify_cmd.add_argument("auction_dir", type=Path, metavar="AUCTION_DIR")
    verify_cmd.add_argument("out", type=Path, metavar="OUT")
    verify_cmd.add_argument(
        "--optimality",
        choices=["auto", "always", "never"],
        default="auto",
        help="re-solve with a separate formulation (auto: small auctions only)",
    )
    verify_cmd.set_defaults(run=verify_command)

    dispatch = sub.add_parser(
        "dispatch",
        help="split the schedules beside a cleared archive onto the physical fleet",
        description="Clears AUCTION_DIR to rebuild its blocks (checked against recorded/ "
        "if present), reads schedules.csv, rebacked.csv and outages.csv beside it (as vba "
        "export writes them) and writes OUT/setpoints.csv and OUT/shortfall.csv.",
    )
    dispatch.add_argument("auction_dir", type=Path, metavar="AUCTION_DIR")
    dispatch.add_argument("out", type=Path, metavar="OUT")
    dispatch.set_defaults(run=dispatch_command)


def clear_command(args: argparse.Namespace, console: Console) -> int:
    archive = read_archive(args.auction_dir)
    result = clear(archive, time_limit_s=args.time_limit)
    write_results(result, args.out)
    print_summary(console, archive, result)
    console.print(f"results written to {args.out}")
    if result.status == "infeasible":
        console.print(f"[bold red]error:[/] {result.message}")
        return EXIT_INFEASIBLE
    return 0


def verify_command(args: argparse.Namespace, console: Console) -> int:
    archive = read_archive(args.auction_dir)
    optimality = {"auto": None, "always": True, "never": False}[args.optimality]
    report = verify(archive, args.out, optimality=optimality)
    console.print(format_report(report), markup=False)
    return 0 if report.ok else EXIT_FINDINGS


def dispatch_command(args: argparse.Namespace, console: Console) -> int:
    archive = read_archive(args.auction_dir)
    with console.status(f"clearing {archive.config.auction_id} to rebuild its blocks…"):
        result = clear(archive)
    recorded = args.auction_dir / "recorded" / "summary.json"
    if recorded.exists():
        stored = json.loads(recorded.read_text())["result_sha256"]
        again = write_results(result, args.out / "result")
        if again["result_sha256"] != stored:
            console.print("[bold red]error:[/] the archive no longer gives its recorded result")
            return EXIT_FINDINGS
    with console.status("splitting the schedules onto the fleet…"):
        day = replay(args.auction_dir, archive, result)
    make_dir(args.out)
    tz = archive.config.time_zone
    write_file(args.out / "setpoints.csv", table_csv(day.setpoints, tz))
    write_file(args.out / "shortfall.csv", table_csv(day.shortfall, tz))
    _print_setpoints(console, day, archive.config.mtu_minutes / 60)
    console.print(f"setpoints written to {args.out / 'setpoints.csv'}")
    return 0


def _print_setpoints(console: Console, day: Disaggregation, mtu_h: float) -> None:
    """The busiest assets of the day, and the day in one sentence."""
    per_asset = (
        day.setpoints.group_by("asset_id")
        .agg(
            discharge_kwh=(pl.col("power_kw").clip(0, None) * mtu_h).sum(),
            charge_kwh=(-pl.col("power_kw").clip(None, 0) * mtu_h).sum(),
            peak_kw=pl.col("power_kw").abs().max(),
            soc_low=pl.col("soc_kwh").min(),
            soc_high=pl.col("soc_kwh").max(),
        )
        .sort("discharge_kwh", "asset_id", descending=[True, False])
    )
    table = Table(title="Busiest assets (physical setpoints)", title_justify="left")
    for name in ("asset", "discharged kWh", "charged kWh", "peak kW", "SoC range kWh"):
        table.add_column(name, justify="left" if name == "asset" else "right")
    for r in per_asset.head(10).iter_rows(named=True):
        table.add_row(
            r["asset_id"],
            f"{r['discharge_kwh']:,.0f}",
            f"{r['charge_kwh']:,.0f}",
            f"{r['peak_kw']:,.0f}",
            f"{r['soc_low']:,.0f}-{r['soc_high']:,.0f}",
        )
    if per_asset.height:
        console.print(table)
    console.print(day.summary)


def print_summary(console: Console, archive: Archive, result: ClearingResult) -> None:
    table = Table(title=f"Clearing of {result.auction_id}", title_justify="left")
    tz = archive.config.time_zone
    for name, justify in [
        ("product", "left"),
        (f"window ({tz})", "left"),
        ("bids", "right"),
        ("offered MW", "right"),
        ("awarded MW", "right"),
        ("revenue EUR", "right"),
        ("lowest accepted EUR/MW", "right"),
    ]:
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for row in product_table(archive, result).iter_rows(named=True):
        start = row["start"].astimezone(ZoneInfo(tz)).strftime("%H:%M")
        end = row["end"].astimezone(ZoneInfo(tz)).strftime("%H:%M")
        awarded = f"{row['awarded_kw'] / KW_PER_MW:,.1f}"
        if row["allocated_kw"]:
            awarded += f" (+{row['allocated_kw'] / KW_PER_MW:g} fixed)"
        lowest = (
            "-" if row["lowest_cents"] is None else f"{row['lowest_cents'] / CENTS_PER_EUR:,.2f}"
        )
        table.add_row(
            row["product_id"],
            f"{start}-{end}",
            str(row["bids"]),
            f"{row['offered_kw'] / KW_PER_MW:,.1f}",
            awarded,
            f"{row['revenue_units'] / PAYMENT_UNITS_PER_EUR:,.2f}",
            lowest,
        )
    console.print(table)
    use = utilisation(archive, result)
    console.print(
        f"Revenue {result.objective_eur:,.2f} EUR from {result.n_accepted} of {result.n_bids} "
        f"bids; fleet discharge power sold: mean {use['mean']:.0%}, peak {use['peak']:.0%}."
    )
    console.print(f"Status {result.status}, gap {gap_text(result.mip_gap)}: {result.optimality}.")
    console.print(
        f"Model {result.solver.get('n_cols')} columns x {result.solver.get('n_rows')} rows "
        f"({result.solver.get('n_integer')} integer); build {result.build_s:.2f} s, "
        f"solve {result.solve_s:.2f} s (tie-break {result.solver.get('tiebreak')})."
    )


def print_highlights(
    console: Console,
    archive: Archive,
    result: ClearingResult,
    names: dict[str, str] | None = None,
) -> None:
    """What an operator looks at first: the single-item auction, fixed capacity, outages.

    ``names`` turns organisation ids into names where the ids are random (the demo's).
    """
    name = (names or {}).get
    awards = result.awards
    products = archive.products
    single = products.filter(
        (pl.col("max_mw") == pl.col("min_mw")) & (pl.col("min_mw") == pl.col("increment_mw"))
    )
    for product in single["product_id"]:
        bids = awards.filter(pl.col("product_id") == product)
        won = bids.filter(pl.col("awarded_kw") > 0)
        if won.height:
            w = won.row(0, named=True)
            winner = name(w["org_id"], w["org_id"])
            console.print(
                f"Single-item auction {product}: {bids.height} bids, won by {winner} "
                f"(bid {w['bid_id']}) at {w['price_cents'] / CENTS_PER_EUR:,.2f} EUR/MW."
            )
    for row in archive.allocations.iter_rows(named=True):
        console.print(
            f"Fixed allocation: {row['quantity_mw']:g} MW of {row['product_id']} for "
            f"{name(row['org_id'], row['org_id'])}, served before the bids at price 0."
        )
    tz = ZoneInfo(archive.config.time_zone)
    for row in archive.availability.iter_rows(named=True):
        what = (
            "outage"
            if row["available_fraction"] == 0
            else (f"derated to {row['available_fraction']:.0%}")
        )
        console.print(
            f"Asset {row['asset_id']}: {what} {row['start'].astimezone(tz):%H:%M}-"
            f"{row['end'].astimezone(tz):%H:%M} {tz}; the clearing worked around it."
        )
    reasons = (
        awards.filter(pl.col("reason").is_not_null())
        .group_by("reason")
        .len()
        .sort("len", "reason", descending=[True, False])
    )
    listed = ", ".join(f"{r} {n}" for r, n in reasons.iter_rows())
    console.print(f"Bids that got less than they asked, by reason: {listed}.")
