"""Commands on auction archives (no store): ``vba clear``, ``vba verify``, ``vba dispatch``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from api.cli.exits import EXIT_BAD_INPUT, EXIT_FINDINGS, EXIT_INFEASIBLE

if TYPE_CHECKING:
    from rich.console import Console


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
        "export writes them) and writes OUT/setpoints.csv and OUT/shortfall.csv; with "
        "--rebalance also OUT/trades.csv and OUT/breaches.csv.",
    )
    dispatch.add_argument("auction_dir", type=Path, metavar="AUCTION_DIR")
    dispatch.add_argument("out", type=Path, metavar="OUT")
    dispatch.add_argument(
        "--rebalance",
        action="store_true",
        help="add the operator's rebalancing plan: its own trades per MTU that keep every "
        "battery inside the SoC band its reserves need",
    )
    dispatch.add_argument(
        "--prices",
        type=Path,
        metavar="CSV",
        help="with --rebalance: a price curve (start, eur_per_mwh, every MTU of the day); "
        "the plan buys in cheap MTUs and sells in dear ones",
    )
    dispatch.set_defaults(run=dispatch_command)


# Each run imports its work (polars, the solver) itself: building the parser stays light.


def clear_command(args: argparse.Namespace, console: Console) -> int:
    from api.cli.tables import print_summary
    from auction.archive import read_archive
    from clearing import clear, write_results

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
    from auction.archive import read_archive
    from clearing.verify import format_report, verify

    archive = read_archive(args.auction_dir)
    optimality = {"auto": None, "always": True, "never": False}[args.optimality]
    report = verify(archive, args.out, optimality=optimality)
    console.print(format_report(report), markup=False)
    return 0 if report.ok else EXIT_FINDINGS


def dispatch_command(args: argparse.Namespace, console: Console) -> int:
    from api.cli.tables import print_setpoints
    from auction.archive import read_archive, table_csv
    from auction.safewrite import make_dir, write_file
    from clearing import clear, write_results
    from dispatch.files import read_prices
    from dispatch.offline import replay

    if args.prices and not args.rebalance:
        console.print("[bold red]error:[/] --prices prices the rebalancing plan: add --rebalance")
        return EXIT_BAD_INPUT
    prices = read_prices(args.prices) if args.prices else None
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
        day = replay(args.auction_dir, archive, result, args.rebalance, prices)
    make_dir(args.out)
    tz = archive.config.time_zone
    write_file(args.out / "setpoints.csv", table_csv(day.setpoints, tz))
    write_file(args.out / "shortfall.csv", table_csv(day.shortfall, tz))
    if args.rebalance:
        write_file(args.out / "trades.csv", table_csv(day.trades, tz))
        write_file(args.out / "breaches.csv", table_csv(day.soc_breaches, tz))
    print_setpoints(console, day, archive.config.mtu_minutes / 60)
    console.print(f"setpoints written to {args.out / 'setpoints.csv'}")
    return 0
