"""``vba``: the operator's door to the engine (demo, clear, verify)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
from rich.console import Console
from rich.table import Table

from api import commands, replaying
from api.demo import demo_workdir, run_demo
from auction.archive import read_archive, table_csv
from auction.errors import ArchiveError, Conflict, DomainError, NotFound
from auction.model import TENNET_DE, Archive
from auction.sample import sample_dir
from auction.units import CENTS_PER_EUR, KW_PER_MW, PAYMENT_UNITS_PER_EUR
from clearing import ClearingResult, clear, write_results
from clearing.report import product_table, utilisation
from clearing.result import gap_text
from clearing.verify import format_report, verify
from dispatch.disaggregate import Disaggregation
from dispatch.offline import replay
from settlement.invoices import MAX_IMBALANCE_PRICE_EUR

MAX_PROBLEMS_SHOWN = 50
EXIT_BAD_INPUT = 2
EXIT_INFEASIBLE = 3
EXIT_FINDINGS = 4
EXIT_INTERNAL = 5


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``vba`` console script."""
    parser = _parser()
    args = parser.parse_args(argv)
    # Wide enough for the product table when the output goes to a file or a pipe.
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 110)
    try:
        code: int = args.run(args, console)
    except ArchiveError as exc:
        _print_problems("the auction archive has problems", exc)
        return EXIT_BAD_INPUT
    except DomainError as exc:
        _print_problems("the input breaks a rule", exc)
        return EXIT_BAD_INPUT
    except NotFound as exc:
        console.print(f"[bold red]error:[/] {exc}")
        return EXIT_BAD_INPUT
    except Conflict as exc:
        console.print(f"[bold red]error:[/] {exc}")
        return EXIT_BAD_INPUT
    except RuntimeError as exc:  # an internal check failed, e.g. settlement's reconciliation
        console.print(f"[bold red]internal error:[/] {exc}; nothing was changed")
        return EXIT_INTERNAL
    return code


def _aware_instant(text: str) -> datetime:
    """An ISO 8601 instant with its offset (``2026-12-01T09:00:00+01:00``)."""
    instant = datetime.fromisoformat(text)
    if instant.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} needs an offset, such as +01:00 or Z")
    return instant


def _price_eur(text: str) -> Decimal:
    """A price in EUR: a finite number >= 0 with at most two decimals (whole cents)."""
    try:
        price = Decimal(text)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of EUR") from None
    if not price.is_finite() or not 0 <= price <= MAX_IMBALANCE_PRICE_EUR:
        raise argparse.ArgumentTypeError(
            f"{text!r} must be a price from 0 to {MAX_IMBALANCE_PRICE_EUR:,} EUR/MWh"
        )
    if price != price.quantize(Decimal("0.01")):
        raise argparse.ArgumentTypeError(f"{text!r} has more than two decimals (whole cents)")
    return price


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vba", description="Virtual battery auctions: clear, verify and explore."
    )
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    demo = sub.add_parser(
        "demo", help="run the sample auction through the REST API on a fresh store"
    )
    demo.add_argument("--out", type=Path, help="where to keep the store and export (default: temp)")
    demo.set_defaults(run=_demo)

    clear_cmd = sub.add_parser("clear", help="clear an auction archive and write its results")
    clear_cmd.add_argument("auction_dir", type=Path, metavar="AUCTION_DIR")
    clear_cmd.add_argument("--out", type=Path, required=True, metavar="OUT")
    clear_cmd.add_argument("--time-limit", type=float, help="seconds (default: auction.json)")
    clear_cmd.set_defaults(run=_clear)

    verify_cmd = sub.add_parser("verify", help="re-check a result independently of the clearing")
    verify_cmd.add_argument("auction_dir", type=Path, metavar="AUCTION_DIR")
    verify_cmd.add_argument("out", type=Path, metavar="OUT")
    verify_cmd.add_argument(
        "--optimality",
        choices=["auto", "always", "never"],
        default="auto",
        help="re-solve with a separate formulation (auto: small auctions only)",
    )
    verify_cmd.set_defaults(run=_verify)

    dispatch = sub.add_parser(
        "dispatch",
        help="split the schedules beside a cleared archive onto the physical fleet",
        description="Clears AUCTION_DIR to rebuild its blocks (checked against recorded/ "
        "if present), reads schedules.csv, rebacked.csv and outages.csv beside it (as vba "
        "export writes them) and writes OUT/setpoints.csv and OUT/shortfall.csv.",
    )
    dispatch.add_argument("auction_dir", type=Path, metavar="AUCTION_DIR")
    dispatch.add_argument("out", type=Path, metavar="OUT")
    dispatch.set_defaults(run=_dispatch)

    replaying.add_parser(sub)

    serve = sub.add_parser("serve", help="serve the REST API (store: VBA_DATABASE_URL)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.set_defaults(run=commands.serve)

    export = sub.add_parser("export", help="write a stored auction as an archive (and its result)")
    export.add_argument("auction_id", metavar="AUCTION_ID")
    export.add_argument("dir", type=Path, metavar="DIR")
    export.set_defaults(run=commands.export_command)

    settle = sub.add_parser(
        "settle", help="settle a delivery day: invoices, credits, nominations (a new version)"
    )
    settle.add_argument("day", type=date.fromisoformat, metavar="DAY", help="YYYY-MM-DD")
    settle.add_argument(
        "--imbalance-price",
        type=_price_eur,
        default=Decimal(0),
        metavar="EUR_PER_MWH",
        help="SoC imbalance price",
    )
    settle.add_argument("--operator-org", metavar="ORG_ID", help="default: the only one")
    # Tests pin the clock: a day counts as delivered against this instant, not today's.
    settle.add_argument("--now", type=_aware_instant, default=None, help=argparse.SUPPRESS)
    settle.set_defaults(run=commands.settle_command)

    admin = sub.add_parser("admin", help="provision organisations and users")
    admin_sub = admin.add_subparsers(required=True, metavar="ACTION")
    org = admin_sub.add_parser("create-org", help="create an organisation; prints its id last")
    org.add_argument("name", metavar="NAME")
    org.add_argument("--eic", required=True, help="EIC of its balancing group")
    org.add_argument("--tso-zone", default=TENNET_DE, help=f"EIC of its TSO zone ({TENNET_DE})")
    org.set_defaults(run=commands.create_org_command)
    invite = admin_sub.add_parser("invite", help="invite a user; prints the token last")
    invite.add_argument("email", metavar="EMAIL")
    invite.add_argument("--org", required=True, metavar="ORG_ID")
    invite.add_argument("--role", choices=["bidder", "operator"], default="bidder")
    invite.set_defaults(run=commands.invite_command)
    return parser


def _clear(args: argparse.Namespace, console: Console) -> int:
    archive = read_archive(args.auction_dir)
    result = clear(archive, time_limit_s=args.time_limit)
    write_results(result, args.out)
    _print_summary(console, archive, result)
    console.print(f"results written to {args.out}")
    if result.status == "infeasible":
        console.print(f"[bold red]error:[/] {result.message}")
        return EXIT_INFEASIBLE
    return 0


def _verify(args: argparse.Namespace, console: Console) -> int:
    archive = read_archive(args.auction_dir)
    optimality = {"auto": None, "always": True, "never": False}[args.optimality]
    report = verify(archive, args.out, optimality=optimality)
    console.print(format_report(report), markup=False)
    return 0 if report.ok else EXIT_FINDINGS


def _dispatch(args: argparse.Namespace, console: Console) -> int:
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
    args.out.mkdir(parents=True, exist_ok=True)
    tz = archive.config.time_zone
    (args.out / "setpoints.csv").write_text(table_csv(day.setpoints, tz))
    (args.out / "shortfall.csv").write_text(table_csv(day.shortfall, tz))
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


def _demo(args: argparse.Namespace, console: Console) -> int:
    workdir = demo_workdir(args.out)
    sample = read_archive(sample_dir())
    cfg = sample.config
    console.rule(f"vba demo: auction {cfg.auction_id}, delivery day {cfg.delivery_day}")
    zone = sample.fleet.filter(sample.fleet["tso_zone"] == cfg.tso_zone)
    console.print(
        f"Fleet: {sample.fleet.height} batteries, {zone.height} in zone {cfg.tso_zone} "
        f"({zone['p_discharge_mw'].sum():.0f} MW, {zone['e_max_mwh'].sum():.0f} MWh); "
        f"{sample.availability.height} outages or derates."
    )
    outcome = run_demo(console, workdir)
    archive, exported = outcome.archive, outcome.exported
    # The export is an archive: clearing it again must give the recorded result exactly.
    result = clear(archive)
    again = write_results(result, workdir / "replay")
    recorded = json.loads((exported / "recorded" / "summary.json").read_text())
    same = again["result_sha256"] == recorded["result_sha256"]
    _print_summary(console, archive, result)
    _print_highlights(console, archive, result, outcome.names)
    # The server ran the independent checker (with its own optimisation) before publishing.
    console.print(outcome.checker_report.splitlines()[-1], markup=False)
    console.print(
        f"Exported to {exported}; vba clear on it reproduces the stored result: "
        f"{'identical' if same else 'DIFFERENT'} (sha256 {recorded['result_sha256'][:16]}…)."
    )
    # The full path: after `make demo`, `vba` lives in .venv/bin, not on PATH.
    vba = Path(sys.argv[0]).absolute() if Path(sys.argv[0]).name == "vba" else "vba"
    console.print(
        f"Replay it yourself: {vba} clear {exported} --out OUT && {vba} verify {exported} OUT"
    )
    ok = outcome.checker_ok and same and result.status == "optimal"
    return 0 if ok else EXIT_FINDINGS


def _print_summary(console: Console, archive: Archive, result: ClearingResult) -> None:
    table = Table(title=f"Clearing of {result.auction_id}", title_justify="left")
    for name, justify in [
        ("product", "left"),
        ("window (local)", "left"),
        ("bids", "right"),
        ("offered MW", "right"),
        ("awarded MW", "right"),
        ("revenue EUR", "right"),
        ("lowest accepted EUR/MW", "right"),
    ]:
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    tz = archive.config.time_zone
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


def _print_highlights(
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
            f"{row['end'].astimezone(tz):%H:%M}; the clearing worked around it."
        )
    reasons = (
        awards.filter(pl.col("reason").is_not_null())
        .group_by("reason")
        .len()
        .sort("len", "reason", descending=[True, False])
    )
    listed = ", ".join(f"{r} {n}" for r, n in reasons.iter_rows())
    console.print(f"Bids that got less than they asked, by reason: {listed}.")


def _print_problems(headline: str, exc: DomainError) -> None:
    err = Console(stderr=True, highlight=False, width=None if sys.stderr.isatty() else 110)
    err.print(f"[bold red]error:[/] {headline} ({len(exc.problems)}):")
    for problem in exc.problems[:MAX_PROBLEMS_SHOWN]:
        err.print(f"  {problem}", markup=False)
    if len(exc.problems) > MAX_PROBLEMS_SHOWN:
        err.print(f"  ... and {len(exc.problems) - MAX_PROBLEMS_SHOWN} more")


if __name__ == "__main__":
    sys.exit(main())
