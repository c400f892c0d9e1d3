"""``vba calendar``: the auction calendar on the store (``VBA_DATABASE_URL``), the same as
``/calendar`` over REST: its next days, templates saved from a JSON file, days marked."""

from __future__ import annotations

import argparse
import json
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from api.cli.exits import EXIT_BAD_INPUT
from api.cli.store import open_store, store_clock

if TYPE_CHECKING:
    from datetime import datetime

    from rich.console import Console

    from auction.store import Store

BERLIN = ZoneInfo("Europe/Berlin")
ACTOR = "cli"


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    # Tests pin the clock (as vba settle's): the store's time otherwise.
    clock = argparse.ArgumentParser(add_help=False)
    clock.add_argument("--now", type=_instant, default=None, help=argparse.SUPPRESS)
    cmd = sub.add_parser("calendar", help="the daily auction calendar: days, templates, holidays")
    actions = cmd.add_subparsers(required=True, metavar="ACTION")
    show = actions.add_parser(
        "show", parents=[clock], help="the next days of every template and their state"
    )
    show.add_argument("--from", dest="first", type=date.fromisoformat, metavar="DAY")
    show.add_argument("--days", type=_days, default=14, metavar="N", help="1 to 366 (14)")
    show.set_defaults(run=show_command)

    put = actions.add_parser(
        "put", parents=[clock], help="save a template from a JSON file (a new version)"
    )
    put.add_argument("template_id", metavar="TEMPLATE")
    put.add_argument("file", type=Path, metavar="FILE", help="the body of PUT /calendar/templates")
    put.set_defaults(run=put_command)

    template = actions.add_parser("template", help="print a template as stored (JSON)")
    template.add_argument("template_id", metavar="TEMPLATE")
    template.add_argument("--version", type=int, default=None, metavar="N")
    template.set_defaults(run=template_command)

    skip = actions.add_parser(
        "skip", parents=[clock], help="no auction of TEMPLATE on DAY (a holiday)"
    )
    adapt = actions.add_parser(
        "adapt", parents=[clock], help="DAY of TEMPLATE takes another template"
    )
    for marking in (skip, adapt):
        marking.add_argument("template_id", metavar="TEMPLATE")
        marking.add_argument("day", type=date.fromisoformat, metavar="DAY", help="YYYY-MM-DD")
        marking.add_argument("--reason", required=True)
    adapt.add_argument("--use", required=True, metavar="OTHER", help="the template to take")
    skip.set_defaults(run=mark_command, action="skip", use=None)
    adapt.set_defaults(run=mark_command, action="adapt")

    unmark = actions.add_parser("unmark", parents=[clock], help="remove the mark of a day")
    unmark.add_argument("template_id", metavar="TEMPLATE")
    unmark.add_argument("day", type=date.fromisoformat, metavar="DAY")
    unmark.set_defaults(run=unmark_command)


def _instant(text: str) -> datetime:
    from datetime import datetime

    instant = datetime.fromisoformat(text)
    if instant.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} needs an offset, such as +01:00 or Z")
    return instant


def _now(args: argparse.Namespace, store: Store) -> datetime:
    now: datetime = args.now or store_clock(store)()
    return now


def _days(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 366:
        raise argparse.ArgumentTypeError(f"{text!r}: give a number of days from 1 to 366")
    return int(text)


def _berlin(instant: datetime | None) -> str:
    return "" if instant is None else f"{instant.astimezone(BERLIN):%Y-%m-%d %H:%M}"


def show_command(args: argparse.Namespace, console: Console) -> int:
    from rich.table import Table

    from api import services
    from auction.calendar.days import local_day

    store = open_store()
    now = _now(args, store)
    first = args.first or local_day(now, "Europe/Berlin")
    days = services.calendar_view.calendar(store, first, args.days, now)
    table = Table(title=f"auction calendar from {first} (times Europe/Berlin)")
    for column in ("day", "template", "state", "auction", "status", "created at", "why"):
        table.add_column(column)
    for day in days:
        status = day.auction_status or ""
        why = day.reason or ""
        if day.late:
            status, why = f"[bold red]{status} LATE[/]", day.late
        if day.state in ("refused", "missed"):
            why = f"[bold red]{why}[/]"
        table.add_row(
            day.delivery_day.isoformat(),
            day.template_id,
            day.state,
            day.auction_id or "",
            status,
            _berlin(day.create_at),
            why,
        )
    console.print(table)
    if not days:
        console.print("no template yet: vba calendar put TEMPLATE FILE")
    return 0


def put_command(args: argparse.Namespace, console: Console) -> int:
    from pydantic import ValidationError

    from api import services
    from api.http.schemas.calendar import TemplateIn

    try:
        body = TemplateIn.model_validate_json(args.file.read_bytes())
    except OSError as exc:
        console.print(f"[bold red]error:[/] {args.file}: {exc.strerror}")
        return EXIT_BAD_INPUT
    except ValidationError as exc:
        console.print("[bold red]the template breaks a rule:[/]")
        for error in exc.errors(include_url=False, include_input=False):
            where = ".".join(str(part) for part in error["loc"])
            console.print(f"  {where}: {error['msg']}", markup=False)
        return EXIT_BAD_INPUT
    store = open_store()
    version = services.calendar.save_template(
        store, args.template_id, body.model_dump(mode="json"), ACTOR, _now(args, store)
    )
    console.print(
        f"template {version.template_id} version {version.version} saved; it applies from "
        f"the next day not yet created (first day {version.body['first_day']})",
        markup=False,
    )
    return 0


def template_command(args: argparse.Namespace, console: Console) -> int:
    from auction.store.calendar import get_template

    with open_store().read() as conn:
        version = get_template(conn, args.template_id, args.version)
    console.print(f"template {version.template_id} version {version.version}", markup=False)
    console.print(json.dumps(version.body, indent=2, sort_keys=True), markup=False)
    return 0


def mark_command(args: argparse.Namespace, console: Console) -> int:
    from pydantic import ValidationError

    from api import services
    from api.http.schemas.calendar import ExceptionIn

    try:  # the body of PUT /calendar/exceptions/...: the same rules
        mark = ExceptionIn(action=args.action, reason=args.reason, use_template=args.use)
    except ValidationError as exc:
        for error in exc.errors(include_url=False, include_input=False):
            where = ".".join(str(part) for part in error["loc"]) or "mark"
            console.print(f"[bold red]error:[/] {where}: {error['msg']}")
        return EXIT_BAD_INPUT
    store = open_store()
    services.calendar.set_exception(
        store,
        args.template_id,
        args.day,
        action=mark.action,
        reason=mark.reason,
        use_template=mark.use_template,
        actor=ACTOR,
        now=_now(args, store),
    )
    console.print(f"{args.day} of template {args.template_id} marked: {args.action}", markup=False)
    return 0


def unmark_command(args: argparse.Namespace, console: Console) -> int:
    from api import services

    store = open_store()
    services.calendar.remove_exception(store, args.template_id, args.day, ACTOR, _now(args, store))
    console.print(f"{args.day} of template {args.template_id}: unmarked", markup=False)
    return 0
