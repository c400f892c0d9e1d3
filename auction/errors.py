"""Errors that name the place, the value and the rule."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with an input: where it is, what it holds, which rule it breaks.

    ``row`` counts data rows from 1 (the header is not a row); it is ``None`` for a
    problem of a whole file or of a JSON document. ``bid_id`` is set when the problem
    belongs to one bid, so that a lenient clearing can reject just that bid.
    """

    file: str
    row: int | None
    column: str | None
    value: object
    rule: str
    bid_id: str | None = None

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.column is not None:
            where += f", column {self.column}"
        shown = "" if self.value is None else f" (value {self.value!r})"
        return f"{where}: {self.rule}{shown}"


class DomainError(ValueError):
    """A rule of the domain was broken; carries every problem found, never just the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class BodyProblems(DomainError):
    """Problems of a request's input, with the path to where its rows are (``("body",
    "bids")``, ``("path", "block_id")``): the HTTP layer answers them as a 422 there."""

    def __init__(self, problems: list[Problem], path: tuple[str | int, ...]) -> None:
        super().__init__(problems)
        self.path = path


class ArchiveError(DomainError):
    """An auction archive cannot be read or breaks a rule of docs/archive.md."""


class InfeasibleAllocation(DomainError):
    """The fixed allocations of designated optimisers cannot be served by the fleet."""


class NotFound(LookupError):
    """The thing asked for does not exist, or belongs to somebody the caller may not see.

    Both cases give the same answer, so that nobody learns another organisation's ids.
    """

    def __init__(self, what: str, key: str) -> None:
        self.what = what
        self.key = key
        # A refused path may carry a megabyte of id: the answer names its start.
        shown = key if len(key) <= 100 else f"{key[:100]}…"
        super().__init__(f"{what} {shown!r} not found")


class Conflict(RuntimeError):
    """The request is well-formed but the state forbids it now (a closed gate, a wrong status).

    ``facts`` are extra keys a client can act on, such as the gate's closing time.
    """

    def __init__(self, message: str, **facts: object) -> None:
        self.facts = facts
        super().__init__(message)


class Forbidden(PermissionError):
    """The caller is known but its role may not do this."""


class Throttled(RuntimeError):
    """Too many attempts: the caller must wait until ``until`` (``seconds`` from now)."""

    def __init__(self, message: str, until: datetime, seconds: int) -> None:
        self.until = until
        self.seconds = seconds
        super().__init__(message)
