"""``vba``: the command line. Each command family lives in its own module of ``api.cli``;
this one builds the parser and turns the domain's errors into messages and exit codes.

``vba --help`` answers at once because building the parser imports only the modules in
``FAMILIES``, and these import nothing heavy at their top (no polars, solver, web app,
store or rich): each command imports what it uses when it runs. To add a family, write
its module the same way (``add_parsers(sub)``; heavy imports inside the run functions) and
list it here; tests/api/test_cli_imports.py checks that the parser stays light.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from api.cli import ancillary, archive, calendar, demo_parser, replay, sandbox, store
from api.cli.exits import EXIT_BAD_INPUT, EXIT_INTERNAL

if TYPE_CHECKING:
    from auction.errors import DomainError

MAX_PROBLEMS_SHOWN = 50

# The command families, in the order --help lists them.
FAMILIES = (demo_parser, archive, replay, store, ancillary, sandbox, calendar)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``vba`` console script."""
    args = build_parser().parse_args(argv)
    # Only now that a command runs: rich and the domain's errors.
    from rich.console import Console

    from auction.errors import ArchiveError, Conflict, DomainError, NotFound

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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vba", description="Virtual battery auctions: clear, verify and explore."
    )
    parser.add_argument("--version", action=_Version, help="print the version and exit")
    sub = parser.add_subparsers(required=True, metavar="COMMAND")
    for family in FAMILIES:
        family.add_parsers(sub)
    return parser


class _Version(argparse.Action):
    """``--version``: the installed package's version, looked up only when asked for."""

    def __init__(self, option_strings: list[str], dest: str, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, help=str(kwargs.get("help")))

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> None:
        from importlib.metadata import PackageNotFoundError, version  # ~20 ms: only here

        try:
            number = version("vba-engine")
        except PackageNotFoundError:  # a checkout that is not installed
            number = "unknown"
        print(f"{parser.prog} {number}")  # on stdout, as argparse's own version action
        parser.exit()


def _print_problems(headline: str, exc: DomainError) -> None:
    from rich.console import Console

    err = Console(stderr=True, highlight=False, width=None if sys.stderr.isatty() else 110)
    err.print(f"[bold red]error:[/] {headline} ({len(exc.problems)}):")
    for problem in exc.problems[:MAX_PROBLEMS_SHOWN]:
        err.print(f"  {problem}", markup=False)
    if len(exc.problems) > MAX_PROBLEMS_SHOWN:
        err.print(f"  ... and {len(exc.problems) - MAX_PROBLEMS_SHOWN} more")


if __name__ == "__main__":
    sys.exit(main())
