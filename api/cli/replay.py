"""``vba replay``: the analyst's command, replaying archived auctions in parallel (its
arguments here; its work, which imports polars and the solver, in ``api.cli.replay_run``)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

# clearing.replay.run.EXECUTORS, written out: that module imports polars and the solver,
# and --help must not (tests/api/test_cli_imports.py checks that they agree).
EXECUTORS = ("process", "dask")

DESCRIPTION = """\
Clears every auction archive under ROOT again, in parallel, and compares each result bid by
bid (awarded MW and payment) with the archive's recorded/awards.csv. Without --rule this
checks that today's engine reproduces what was published: the exit code is 4 if any
archive differs, 2 if some could not be replayed. With --rule it asks what-if and puts the
counterfactual beside the record. Rules: reserve_price_scale=K, fleet_scale=K,
fcr_energy_h=H, afrr_energy_h=H, pricing=pay_as_bid|uniform, time_limit_s=S.
"""


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``vba replay ROOT [--jobs N] [--rule KEY=VALUE ...] [--out DIR] [--executor ...]``."""
    replay = sub.add_parser(
        "replay",
        help="clear archived auctions again, compare with their record, or ask what-if",
        description=DESCRIPTION,
    )
    replay.add_argument("root", type=Path, metavar="ROOT")
    replay.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="worker processes")
    replay.add_argument(
        "--rule",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a what-if rule (repeat for several), e.g. pricing=uniform",
    )
    replay.add_argument(
        "--out", type=Path, metavar="REPORT_DIR", help="write tables and report.html"
    )
    replay.add_argument(
        "--executor",
        choices=EXECUTORS,
        default="process",
        help="process: a local pool (default); dask: a Dask cluster",
    )
    replay.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="with --executor dask: a running scheduler, e.g. tcp://10.0.0.5:8786 "
        "(default: a local cluster of --jobs workers)",
    )
    replay.set_defaults(run=replay_command)


def replay_command(args: argparse.Namespace, console: Console) -> int:
    from api.cli import replay_run

    return replay_run.replay_command(args, console)
