"""The arguments of ``vba demo``; its run (``api.cli.demo``, which imports the web app,
the store and the solver) is imported only when the demo runs."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = sub.add_parser(
        "demo", help="run the sample auction through the REST API on a fresh store"
    )
    demo.add_argument("--out", type=Path, help="where to keep the store and export (default: temp)")
    demo.add_argument(
        "--serve",
        action="store_true",
        help="then keep the demo's store served (web frontend and API) until Ctrl+C",
    )
    demo.add_argument("--port", type=int, default=8000, help="the port of --serve")
    demo.set_defaults(run=demo_command)


def demo_command(args: argparse.Namespace, console: Console) -> int:
    from api.cli import demo

    return demo.demo_command(args, console)
