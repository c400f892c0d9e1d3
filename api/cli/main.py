"""``vba``: the command line. Each command family lives in its own module of ``api.cli``;
this one builds the parser and turns the domain's errors into messages and exit codes."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from rich.console import Console

from api.cli import ancillary, archive, demo, replay, sandbox, store
from api.cli.exits import EXIT_BAD_INPUT, EXIT_INTERNAL
from auction.errors import ArchiveError, Conflict, DomainError, NotFound

MAX_PROBLEMS_SHOWN = 50


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``vba`` console script."""
    parser = _parser()
    args = parser.parse_args(argv)
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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vba", description="Virtual battery auctions: clear, verify and explore."
    )
    sub = parser.add_subparsers(required=True, metavar="COMMAND")
    demo.add_parser(sub)
    archive.add_parsers(sub)
    replay.add_parser(sub)
    store.add_parsers(sub)
    ancillary.add_parsers(sub)
    sandbox.add_parsers(sub)
    return parser


def _print_problems(headline: str, exc: DomainError) -> None:
    err = Console(stderr=True, highlight=False, width=None if sys.stderr.isatty() else 110)
    err.print(f"[bold red]error:[/] {headline} ({len(exc.problems)}):")
    for problem in exc.problems[:MAX_PROBLEMS_SHOWN]:
        err.print(f"  {problem}", markup=False)
    if len(exc.problems) > MAX_PROBLEMS_SHOWN:
        err.print(f"  ... and {len(exc.problems) - MAX_PROBLEMS_SHOWN} more")


if __name__ == "__main__":
    sys.exit(main())
