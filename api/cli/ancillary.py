"""``vba ancillary``: the operator sends the pool's reserve bids to the TSO and reads the
TSO's results back (the same as ``POST /ancillary/{day}/export`` and ``/results``)."""

from __future__ import annotations

import argparse
import json
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from api.cli.exits import EXIT_BAD_INPUT
from api.cli.store import open_store, store_clock

if TYPE_CHECKING:
    from rich.console import Console

# api.services.ancillary.MARKETS, written out: the services import the store and polars,
# and --help must not (tests/api/test_cli_imports.py checks that they agree).
MARKETS = ("fcr", "afrr_capacity", "afrr_energy")


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cmd = sub.add_parser("ancillary", help="send the pool's reserve bids to the TSO, read results")
    actions = cmd.add_subparsers(required=True, metavar="ACTION")
    export = actions.add_parser(
        "export", help="write the day's bids of one market in the TSO's bid format (JSON)"
    )
    export.add_argument("day", type=date.fromisoformat, metavar="DAY", help="YYYY-MM-DD")
    export.add_argument("--market", choices=MARKETS, required=True)
    export.add_argument("out", type=Path, metavar="OUT", help="the JSON file to write")
    export.set_defaults(run=export_command)
    results = actions.add_parser(
        "import", help="mark the day's sent bids with the TSO's results (JSON, as exported)"
    )
    results.add_argument("day", type=date.fromisoformat, metavar="DAY", help="YYYY-MM-DD")
    results.add_argument("file", type=Path, metavar="FILE")
    results.set_defaults(run=import_command)


def export_command(args: argparse.Namespace, console: Console) -> int:
    from api import services
    from api.http.settings import Settings, SettingsError

    try:
        gates = Settings.from_env().gate_rules()
    except SettingsError as exc:
        console.print(f"[bold red]error:[/] {exc}")
        return EXIT_BAD_INPUT
    store = open_store()
    now = store_clock(store)()
    bids = services.ancillary.export_day(store, args.day, args.market, "cli", now, gates)
    document = {"delivery_day": args.day.isoformat(), "market": args.market, "bids": bids}
    args.out.write_text(json.dumps(document, indent=1) + "\n")
    mw = sum(b["offeredQuantity"]["quantity"] for b in bids)
    console.print(
        f"{len(bids)} bids ({mw:,} MW) of {args.day} in {args.market} written to {args.out}; "
        "they are now sent"
    )
    return 0


def import_command(args: argparse.Namespace, console: Console) -> int:
    from api import services

    try:
        document = json.loads(args.file.read_text())
    except (OSError, ValueError) as exc:
        console.print(f"[bold red]error:[/] {args.file} is not a readable JSON file: {exc}")
        return EXIT_BAD_INPUT
    bids = services.ancillary.result_bids(document)
    if bids is None:
        console.print(f"[bold red]error:[/] {args.file} holds no list of bids")
        return EXIT_BAD_INPUT
    store = open_store()
    now = store_clock(store)()
    counts = services.ancillary.import_results(store, args.day, bids, "cli", now)
    listed = ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "no bids"
    console.print(f"results of {args.day} imported: {listed}")
    return 0
