"""``vba sandbox``: read and move the sandbox's clock on the store (``VBA_DATABASE_URL``),
the same as ``GET`` and ``POST /sandbox/clock``."""

from __future__ import annotations

import argparse
import os
import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from api.cli.exits import EXIT_BAD_INPUT
from api.cli.store import open_store, store_clock
from auction.instants import utc_text  # light: no polars, no pydantic

if TYPE_CHECKING:
    from rich.console import Console

    from api.services.sandbox import ClockState

BERLIN = ZoneInfo("Europe/Berlin")
_DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")
_UNITS_S = (86_400, 3_600, 60, 1)


def duration_s(text: str) -> int:
    """``2h``, ``3d``, ``90m``, ``1d12h``, ``45s``: a duration in whole seconds."""
    match = _DURATION.fullmatch(text.strip())
    if not text.strip() or match is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a duration: write a number with d, h, m or s (2h, 3d, 90m, 1d12h)"
        )
    return sum(int(n) * unit for n, unit in zip(match.groups(), _UNITS_S, strict=True) if n)


def _instant(text: str) -> datetime:
    try:
        instant = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 instant") from None
    if instant.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} needs an offset, such as Z or +01:00")
    return instant


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cmd = sub.add_parser("sandbox", help="read or move the sandbox's clock (never back)")
    actions = cmd.add_subparsers(required=True, metavar="ACTION")
    clock = actions.add_parser("clock", help="print the sandbox's time (UTC and Europe/Berlin)")
    clock.set_defaults(run=clock_command)
    advance = actions.add_parser(
        "advance",
        help="move the sandbox's time forward and run the gates and publications it passes",
    )
    advance.add_argument(
        "duration", nargs="?", type=duration_s, metavar="DURATION", help="2h, 3d, 90m, 1d12h"
    )
    advance.add_argument("--to", type=_instant, metavar="INSTANT", help="2026-11-28T08:00:00Z")
    advance.set_defaults(run=advance_command)


def _refused_outside_sandbox(console: Console) -> bool:
    env = os.environ.get("VBA_ENV", "sandbox")
    if env == "sandbox":
        return False
    if env == "production":
        console.print(
            "[bold red]error:[/] VBA_ENV=production: production runs on the real clock; "
            "only the sandbox's clock can be read or moved"
        )
    else:
        console.print(f"[bold red]error:[/] VBA_ENV={env!r} is neither sandbox nor production")
    return True


def _span(offset: timedelta) -> str:
    """``+2 d 03:00:00``: an offset a person reads."""
    seconds = offset // timedelta(seconds=1)
    sign, seconds = ("-" if seconds < 0 else "+"), abs(seconds)
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    return f"{sign}{days} d {hours:02d}:{rest // 60:02d}:{rest % 60:02d}"


def _print_state(console: Console, state: ClockState) -> None:
    now = state.now.replace(microsecond=0)
    local = now.astimezone(BERLIN)
    console.print(f"sandbox time (UTC):           {utc_text(now)}", markup=False)
    console.print(
        f"sandbox time (Europe/Berlin): {local:%Y-%m-%d %H:%M:%S} {local.tzname()}", markup=False
    )
    console.print(
        f"ahead of the real clock by:   {_span(state.offset)} "
        f"({state.offset // timedelta(seconds=1)} s)",
        markup=False,
    )


def clock_command(_args: argparse.Namespace, console: Console) -> int:
    from api import services

    if _refused_outside_sandbox(console):
        return EXIT_BAD_INPUT
    _print_state(console, services.sandbox.clock_state(store_clock(open_store())))
    return 0


def advance_command(args: argparse.Namespace, console: Console) -> int:
    from api import services
    from auction.errors import BodyProblems

    if _refused_outside_sandbox(console):
        return EXIT_BAD_INPUT
    if (args.duration is None) == (args.to is None):
        console.print("[bold red]error:[/] give exactly one of DURATION (2h, 3d) or --to INSTANT")
        return EXIT_BAD_INPUT
    store = open_store()
    clock = store_clock(store)
    before = services.sandbox.clock_state(clock).now
    try:
        state = services.sandbox.move_clock(
            store, clock, "cli", advance_s=args.duration, to=args.to
        )
    except BodyProblems as exc:
        where = "DURATION" if args.duration is not None else "--to"
        for problem in exc.problems:
            console.print(f"[bold red]error:[/] {where}: {problem.rule}")
        return EXIT_BAD_INPUT
    console.print(
        f"moved the sandbox's clock forward from {utc_text(before.replace(microsecond=0))}; "
        "the gates and publications due by then have run, each at its own time",
        markup=False,
    )
    _print_state(console, state)
    return 0
