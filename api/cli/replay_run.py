"""The work of ``vba replay`` (its arguments are in ``api.cli.replay``): replay in
parallel with a progress bar, write the report, say in a few lines what was found."""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path

import polars as pl
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from api.cli.exits import EXIT_BAD_INPUT, EXIT_FINDINGS
from clearing.replay import ReplayOutcome, find_archives, parse_rules
from clearing.replay.extra import ReplayExtraMissing, check_replay_extra
from clearing.replay.report import replay_tables, write_report
from clearing.replay.rules import Rules
from clearing.replay.run import replay_all
from clearing.replay.tables import exact_sum

MAX_SHOWN = 50


def replay_command(args: argparse.Namespace, console: Console) -> int:
    """Replay, report, and say in a few lines what was found; without the replay extra
    (Dask, matplotlib), say how to install it before replaying anything."""
    try:
        check_replay_extra()
        return _replay(args, console)
    except ReplayExtraMissing as exc:
        console.print(f"[bold red]error:[/] {escape(str(exc))}")
        return EXIT_BAD_INPUT


def _replay(args: argparse.Namespace, console: Console) -> int:
    rules = parse_rules(args.rule)
    if args.jobs < 1:
        console.print(f"[bold red]error:[/] --jobs must be at least 1, got {args.jobs}")
        return EXIT_BAD_INPUT
    if args.scheduler and args.executor != "dask":
        console.print("[bold red]error:[/] --scheduler needs --executor dask")
        return EXIT_BAD_INPUT
    paths = find_archives(args.root)
    if not paths:
        console.print(
            f"[bold red]error:[/] no archive (a directory with auction.json) under {args.root}"
        )
        return EXIT_BAD_INPUT
    outcomes = _run(console, paths, rules, args)
    tables = replay_tables(outcomes)
    if args.out is not None:
        write_report(args.out, tables, rules.given())
    _print_findings(console, outcomes)
    _print_totals(console, tables, rules)
    if args.out is not None:
        console.print(f"report written to {args.out / 'report.html'} (tables beside it)")
    if rules.plain and any(o.status == "differs" for o in outcomes):
        return EXIT_FINDINGS
    return EXIT_BAD_INPUT if any(o.status == "error" for o in outcomes) else 0


def _run(
    console: Console, paths: Sequence[Path], rules: Rules, args: argparse.Namespace
) -> list[ReplayOutcome]:
    columns = (
        TextColumn("replaying"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    started = time.perf_counter()
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("replay", total=len(paths), rate="")
        done = 0

        def advance(_: ReplayOutcome) -> None:
            nonlocal done
            done += 1
            rate = done / max(time.perf_counter() - started, 1e-9)
            progress.update(task, advance=1, rate=f"{rate:.2f} auctions/s")

        return replay_all(
            paths,
            rules,
            jobs=args.jobs,
            executor=args.executor,
            scheduler=args.scheduler,
            on_done=advance,
        )


def _print_findings(console: Console, outcomes: Sequence[ReplayOutcome]) -> None:
    shown = 0
    for o in outcomes:
        if o.status == "error":
            console.print(f"[bold red]error[/] {o.path}: {o.error}")
        if o.status != "differs":
            continue
        for d in o.differences:
            if shown == MAX_SHOWN:
                break
            shown += 1
            console.print(
                f"differs {o.path}: bid {d.bid_id} {d.column} recorded {d.recorded} "
                f"replayed {d.replayed}",
                markup=False,
            )
    hidden = sum(len(o.differences) for o in outcomes if o.status == "differs") - shown
    if hidden > 0:
        console.print(f"… and {hidden} more differences (see differences.csv with --out)")


def _print_totals(console: Console, tables: dict[str, pl.DataFrame], rules: Rules) -> None:
    days = tables["replay"]
    counts = {s: int((days["status"] == s).sum()) for s in ("same", "differs", "unrecorded")}
    errors = int((days["status"] == "error").sum())
    seconds = _sum(days["seconds"])
    if rules.plain:
        console.print(
            f"{days.height} archives: {counts['same']} reproduce their record, "
            f"{counts['differs']} differ, {counts['unrecorded']} have no record, {errors} could "
            f"not be replayed; revenue {_eur(days['revenue_eur'])}, volume "
            f"{_sum(days['volume_mw']):,.1f} MW; {seconds:,.1f} s of work."
        )
        return
    orgs = tables["organisations"]
    given = ", ".join(f"{k}={v}" for k, v in rules.given().items())
    console.print(f"What-if ({given}) on {days.height} archives, {errors} not replayed:")
    for label, before, after in (
        ("revenue", days["recorded_revenue_eur"], days["revenue_eur"]),
        ("volume MW", days["recorded_volume_mw"], days["volume_mw"]),
        ("bidder surplus", orgs["recorded_surplus_eur"], orgs["surplus_eur"]),
    ):
        console.print(
            f"  {label:<15} recorded {_sum(before):>16,.2f}   what-if "
            f"{_sum(after):>16,.2f}   {_change(_sum(before), _sum(after))}"
        )


def _sum(values: pl.Series) -> float:
    return float(values.to_frame().select(exact_sum(pl.col(values.name))).item() or 0.0)


def _eur(values: pl.Series) -> str:
    return f"{_sum(values):,.2f} EUR"


def _change(before: float, after: float) -> str:
    if before == 0:
        return "" if after == 0 else "(from zero)"
    return f"({(after - before) / abs(before):+.1%})"
