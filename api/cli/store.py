"""Commands on the store (``VBA_DATABASE_URL``): ``vba serve``, ``vba admin``, ``vba export``,
``vba settle``."""

from __future__ import annotations

import argparse
import os
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING

from api.cli.exits import EXIT_BAD_INPUT, EXIT_FINDINGS

if TYPE_CHECKING:
    from rich.console import Console

    from auction.store import Store
    from auction.store.sandbox_clock import StoreClock

# auction.model.TENNET_DE, written out: that module imports polars, and --help must not
# (tests/api/test_cli_imports.py checks that they agree).
TENNET_DE = "10YDE-EON------1"


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve_cmd = sub.add_parser("serve", help="serve the REST API (store: VBA_DATABASE_URL)")
    serve_cmd.add_argument("--host", default="127.0.0.1")
    serve_cmd.add_argument("--port", type=int, default=8000)
    serve_cmd.add_argument(
        "--workers",
        type=_workers,
        default=1,
        metavar="N",
        help="worker processes (PostgreSQL only; one of them runs the scheduler)",
    )
    serve_cmd.set_defaults(run=serve)

    export_cmd = sub.add_parser(
        "export", help="write a stored auction as an archive (and its result)"
    )
    export_cmd.add_argument("auction_id", metavar="AUCTION_ID")
    export_cmd.add_argument("dir", type=Path, metavar="DIR")
    export_cmd.set_defaults(run=export_command)

    settle_cmd = sub.add_parser(
        "settle", help="settle a delivery day: invoices, credits, nominations (a new version)"
    )
    settle_cmd.add_argument("day", type=date.fromisoformat, metavar="DAY", help="YYYY-MM-DD")
    settle_cmd.add_argument(
        "--imbalance-price",
        type=_price_eur,
        default=Decimal(0),
        metavar="EUR_PER_MWH",
        help="SoC imbalance price",
    )
    settle_cmd.add_argument("--operator-org", metavar="ORG_ID", help="default: the only one")
    # Tests pin the clock: a day counts as delivered against this instant, not today's.
    settle_cmd.add_argument("--now", type=_aware_instant, default=None, help=argparse.SUPPRESS)
    settle_cmd.set_defaults(run=settle_command)

    admin = sub.add_parser("admin", help="provision organisations and users")
    admin_sub = admin.add_subparsers(required=True, metavar="ACTION")
    org = admin_sub.add_parser("create-org", help="create an organisation; prints its id last")
    org.add_argument("name", metavar="NAME")
    org.add_argument("--eic", required=True, help="EIC of its balancing group")
    org.add_argument("--tso-zone", default=TENNET_DE, help=f"EIC of its TSO zone ({TENNET_DE})")
    org.set_defaults(run=create_org_command)
    invite = admin_sub.add_parser("invite", help="invite a user; prints the token last")
    invite.add_argument("email", metavar="EMAIL")
    invite.add_argument("--org", required=True, metavar="ORG_ID")
    invite.add_argument("--role", choices=["bidder", "operator"], default="bidder")
    invite.set_defaults(run=invite_command)


def _aware_instant(text: str) -> datetime:
    """An ISO 8601 instant with its offset (``2026-12-01T09:00:00+01:00``)."""
    instant = datetime.fromisoformat(text)
    if instant.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} needs an offset, such as +01:00 or Z")
    return instant


def _workers(text: str) -> int:
    """A number of worker processes: a whole number from 1."""
    try:
        workers = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of workers") from None
    if workers < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: at least 1 worker")
    return workers


def _price_eur(text: str) -> Decimal:
    """A price in EUR: a finite number >= 0 with at most two decimals (whole cents)."""
    from settlement.invoices import MAX_IMBALANCE_PRICE_EUR

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


def open_store() -> Store:
    """The store of VBA_DATABASE_URL, upgraded to the newest schema."""
    from auction.store import DEFAULT_URL, Store, migrate

    store = Store(os.environ.get("VBA_DATABASE_URL", DEFAULT_URL))
    migrate(store)
    return store


def _utc_now() -> datetime:
    return datetime.now(UTC)


def store_clock(store: Store) -> StoreClock:
    """The time the server over ``store`` keeps: in the sandbox (``VBA_ENV``, its default)
    the real clock plus the store's offset, so that what a command writes (an invite's
    expiry, a settlement's day check) agrees with the server's moved clock."""
    from auction.store.sandbox_clock import StoreClock

    return StoreClock(store, _utc_now, sandbox=os.environ.get("VBA_ENV", "sandbox") == "sandbox")


def serve(args: argparse.Namespace, console: Console) -> int:
    from api.http import logs
    from api.http.app import create_app
    from api.http.serving import serve as run_server
    from api.http.serving import serve_workers
    from api.http.settings import Settings, SettingsError

    try:
        settings = Settings.from_env()
    except SettingsError as exc:
        console.print(f"[bold red]error:[/] {exc}")
        return EXIT_BAD_INPUT
    workers: int = args.workers
    if workers > 1 and not settings.database_url.startswith(("postgresql", "postgres://")):
        console.print(
            f"[bold red]error:[/] --workers {workers} needs a PostgreSQL store "
            "(VBA_DATABASE_URL=postgresql://...): a SQLite file has one writer at a time, "
            "so vba serve runs one process over it; leave out --workers",
            markup=True,
        )
        return EXIT_BAD_INPUT
    logs.configure(settings.log_format, settings.log_level)
    console.print(
        f"vba serve: {settings.env} environment, store {settings.database_url}, "
        f"{workers} worker{'s' if workers > 1 else ''}; "
        f"web frontend http://{args.host}:{args.port}/ui/, "
        f"API reference http://{args.host}:{args.port}/docs"
    )
    if workers == 1:
        run_server(create_app(settings), args.host, args.port)
        return 0
    if not os.environ.get("VBA_SECRET_KEY"):
        # The sandbox's random key (production refused to start without one), shared with
        # the workers through their environment: a token one signs, the others accept.
        console.print(
            "the workers share a random secret key: tokens end when vba serve stops; set "
            "VBA_SECRET_KEY to keep them, and on every machine that serves this store"
        )
        os.environ["VBA_SECRET_KEY"] = settings.secret_key
    serve_workers(args.host, args.port, workers)
    return 0


def create_org_command(args: argparse.Namespace, console: Console) -> int:
    from api import services

    store = open_store()
    now = store_clock(store)()
    org = services.accounts.new_org(store, "cli", args.name, args.eic, args.tso_zone, now)
    console.print(f"organisation {org.name!r} created (EIC {org.eic}, zone {org.tso_zone})")
    console.print(org.org_id, markup=False)
    return 0


def invite_command(args: argparse.Namespace, console: Console) -> int:
    """Invite; email it when VBA_SMTP_URL is set. Prints the link, and the token last (for
    scripts, and for POST /auth/public/accept-invite)."""
    from api import services
    from api.http.settings import LOCAL_URL, Settings, SettingsError

    try:
        settings = Settings.from_env(server=False)
    except SettingsError as exc:
        console.print(f"[bold red]error:[/] {exc}")
        return EXIT_BAD_INPUT
    store = open_store()
    postage = services.accounts.Postage(
        settings.public_url or LOCAL_URL,
        settings.env,
        settings.mail_server(),
        settings.smtp_from,
    )
    invited = services.accounts.invite(
        store,
        "cli",
        args.email,
        args.org,
        args.role,
        store_clock(store)(),
        timedelta(hours=settings.invite_hours),
        postage=postage,
        inviter="The market operator",
    )
    console.print(
        f"invited {args.email} to {invited.org.name} as {args.role} (invite "
        f"{invited.invite_id}, revoke it with DELETE /admin/invites/{invited.invite_id}); "
        f"it works once, for {settings.invite_hours} hours."
    )
    delivery = invited.delivery
    if delivery.status == "failed":
        console.print(f"[bold red]the email was not sent:[/] {delivery.detail}", highlight=False)
        console.print("the invite stands: send the link yourself, or invite again to replace it")
    else:
        console.print(delivery.detail, markup=False, highlight=False)
    console.print("the invite link (open it to choose a password):")
    console.print(invited.link, markup=False, highlight=False, soft_wrap=True)
    console.print("the token (POST /auth/public/accept-invite {token, password}):")
    console.print(invited.token, markup=False, highlight=False, soft_wrap=True)
    return EXIT_FINDINGS if delivery.status == "failed" else 0


def export_command(args: argparse.Namespace, console: Console) -> int:
    from api import services

    store = open_store()
    out: Path = args.dir
    clearing = services.auctions.export_auction(store, args.auction_id, out)
    console.print(f"auction {args.auction_id} exported to {out}")
    if clearing is None:
        console.print("not cleared yet: the archive has no recorded/ result")
        return 0
    console.print(
        f"recorded result in {out / 'recorded'} "
        f"(result_sha256 {clearing.result_sha256[:16]}…); "
        f"reproduce it with: vba clear {out} --out OUT"
    )
    rows = services.dispatch.export_dispatch(store, args.auction_id, out)
    if any(rows.values()):
        listed = ", ".join(f"{name}.csv {n} rows" for name, n in rows.items() if n)
        console.print(f"dispatch files: {listed}; replay them with: vba dispatch {out} OUT")
    return 0


def settle_command(args: argparse.Namespace, console: Console) -> int:
    """Settle a delivery day on the store; print the totals and the reconciliation."""
    from api import services
    from auction.store.accounts import operator_org_ids
    from auction.units import CENTS_PER_EUR
    from settlement.invoices import kind_totals
    from settlement.money import money

    store = open_store()
    with store.read() as conn:
        operators = operator_org_ids(conn)
    org_id = args.operator_org or (operators[0] if len(operators) == 1 else None)
    if org_id is None:
        console.print(
            "[bold red]error:[/] name the operator's organisation with --operator-org "
            f"(organisations with operators: {', '.join(operators) or 'none'})"
        )
        return EXIT_BAD_INPUT
    price = int(args.imbalance_price * CENTS_PER_EUR)  # whole cents (the parser checks)
    now = args.now or store_clock(store)()
    settled = services.settlement.settle_day(store, args.day, price, org_id, "cli", now)
    run = settled.run
    totals = {kind: money(units) for kind, units in kind_totals(settled.lines).items()}
    console.print(
        f"settled {run.day} (version {run.version}): awards {totals['award']:,} EUR, "
        f"credits {totals['unavailability_credit']:,} EUR, imbalance "
        f"{totals['imbalance_charge']:,} EUR; {settled.documents} nomination documents"
    )
    report = run.report
    verdict = "reconciled" if report["ok"] else "NOT reconciled"
    position = report.get("rebalancing", {"sold_kwh": 0.0, "bought_kwh": 0.0})
    console.print(
        f"{verdict}: nominated = scheduled for {len(report['organisations'])} organisations; "
        f"setpoints {report['setpoints_kwh']:,.1f} kWh + shortfall "
        f"{report['shortfall_kwh']:,.1f} kWh = schedules {report['virtual_kwh']:,.1f} kWh "
        f"+ the operator's rebalancing (sold {position['sold_kwh']:,.1f} kWh, bought "
        f"{position['bought_kwh']:,.1f} kWh)"
    )
    return 0 if report["ok"] else EXIT_FINDINGS
