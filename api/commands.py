"""The operator's commands on a store: serve, admin, export."""

from __future__ import annotations

import argparse
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rich.console import Console

from api import operating, operations, settling
from api.settings import Settings, SettingsError
from auction.store import DEFAULT_URL, Store, migrate
from auction.store.accounts import operator_org_ids
from auction.units import CENTS_PER_EUR
from settlement.invoices import kind_totals
from settlement.money import money

EXIT_BAD_SETTINGS = 2


def _store() -> Store:
    store = Store(os.environ.get("VBA_DATABASE_URL", DEFAULT_URL))
    migrate(store)
    return store


def serve(args: argparse.Namespace, console: Console) -> int:
    import uvicorn  # only the server needs it

    from api.app import create_app

    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        console.print(f"[bold red]error:[/] {exc}")
        return EXIT_BAD_SETTINGS
    console.print(
        f"vba serve: {settings.env} environment, store {settings.database_url}, "
        f"http://{args.host}:{args.port}/docs"
    )
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="warning")
    return 0


def create_org_command(args: argparse.Namespace, console: Console) -> int:
    store = _store()
    now = datetime.now(UTC)
    with store.write() as conn:
        org = operations.new_org(conn, "cli", args.name, args.eic, args.tso_zone, now)
    console.print(f"organisation {org.name!r} created (EIC {org.eic}, zone {org.tso_zone})")
    console.print(org.org_id, markup=False)
    return 0


def invite_command(args: argparse.Namespace, console: Console) -> int:
    store = _store()
    now = datetime.now(UTC)
    hours = int(os.environ.get("VBA_INVITE_HOURS", "72"))
    with store.write() as conn:
        valid_for = timedelta(hours=hours)
        token = operations.invite(conn, "cli", args.email, args.org, args.role, now, valid_for)
    console.print(
        f"invited {args.email} as {args.role}; the token works once, for {hours} hours, "
        "with POST /auth/public/accept-invite {token, password}:"
    )
    console.print(token, markup=False)
    return 0


def export_command(args: argparse.Namespace, console: Console) -> int:
    store = _store()
    out: Path = args.dir
    clearing = operations.export_auction(store, args.auction_id, out)
    console.print(f"auction {args.auction_id} exported to {out}")
    if clearing is None:
        console.print("not cleared yet: the archive has no recorded/ result")
        return 0
    console.print(
        f"recorded result in {out / 'recorded'} "
        f"(result_sha256 {clearing.result_sha256[:16]}…); "
        f"reproduce it with: vba clear {out} --out OUT"
    )
    rows = operating.export_dispatch(store, args.auction_id, out)
    if any(rows.values()):
        listed = ", ".join(f"{name}.csv {n} rows" for name, n in rows.items() if n)
        console.print(f"dispatch files: {listed}; replay them with: vba dispatch {out} OUT")
    return 0


def settle_command(args: argparse.Namespace, console: Console) -> int:
    """Settle a delivery day on the store; print the totals and the reconciliation."""
    store = _store()
    with store.read() as conn:
        operators = operator_org_ids(conn)
    org_id = args.operator_org or (operators[0] if len(operators) == 1 else None)
    if org_id is None:
        console.print(
            "[bold red]error:[/] name the operator's organisation with --operator-org "
            f"(organisations with operators: {', '.join(operators) or 'none'})"
        )
        return EXIT_BAD_SETTINGS
    price = int(args.imbalance_price * CENTS_PER_EUR)  # whole cents (the parser checks)
    now = args.now or datetime.now(UTC)
    settled = settling.settle_day(store, args.day, price, org_id, "cli", now)
    run = settled.run
    totals = {kind: money(units) for kind, units in kind_totals(settled.lines).items()}
    console.print(
        f"settled {run.day} (version {run.version}): awards {totals['award']:,} EUR, "
        f"credits {totals['unavailability_credit']:,} EUR, imbalance "
        f"{totals['imbalance_charge']:,} EUR; {settled.documents} nomination documents"
    )
    report = run.report
    verdict = "reconciled" if report["ok"] else "NOT reconciled"
    console.print(
        f"{verdict}: nominated = scheduled for {len(report['organisations'])} organisations; "
        f"setpoints {report['setpoints_kwh']:,.1f} kWh + shortfall "
        f"{report['shortfall_kwh']:,.1f} kWh = schedules {report['virtual_kwh']:,.1f} kWh"
    )
    return 0 if report["ok"] else 4
