"""What the checker reports: one ``Finding`` per thing wrong, the ``VerifyReport`` of a
run, its text, and how a finding writes a number.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Finding:
    """One thing wrong with a result: which check, about what, and how."""

    check: str
    subject: str
    detail: str


@dataclass(frozen=True)
class VerifyReport:
    """Everything ``verify`` found, and which checks it ran."""

    findings: list[Finding]
    checks_run: list[str]
    reference_objective_eur: float | None = None

    @property
    def ok(self) -> bool:
        """Whether no check found anything."""
        return not self.findings


def num(value: Decimal | float) -> str:
    """A number for a message: Decimals exact, floats to 6 decimals (1 W, 1 Wh)."""
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    return f"{round(value, 6):.6f}".rstrip("0").rstrip(".")


def format_report(report: VerifyReport) -> str:
    """One line per finding (check, subject, detail), then a verdict line."""
    lines = [f"{f.check}: {f.subject}: {f.detail}" for f in report.findings]
    if report.ok:
        lines.append(f"verify: {len(report.checks_run)} checks passed")
    else:
        n = len(report.findings)
        lines.append(f"verify: {n} finding{'s' if n != 1 else ''}")
    return "\n".join(lines)
