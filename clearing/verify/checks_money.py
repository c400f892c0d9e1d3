"""The checks of the revenue: objective_eur is the sum of the payments, and the
checker's own MILP (``clearing.reference``) finds no better.
"""

from __future__ import annotations

from clearing.reference import ReferenceSolution
from clearing.verify.findings import Finding, num
from clearing.verify.result import ZERO, Result, Summary
from clearing.verify.terms import Terms

MONEY_TOLERANCE_EUR = 0.01  # docs/clearing.md: optimal to within 0.01 EUR
# Why "infeasible" is wrong when there is nothing fixed.
NOTHING_FEASIBLE = "without fixed allocations awarding nothing is feasible"


def check_revenue(_terms: Terms, result: Result) -> list[Finding]:
    """``objective_eur = Σ payment_eur`` exactly."""
    total = sum((a.payment_eur for a in result.awards.values()), ZERO)
    objective = result.summary.objective_eur
    if objective is None or objective == total:
        return []
    return [
        Finding(
            "revenue",
            "summary.json objective_eur",
            f"{num(objective)} EUR, but the payments sum to {num(total)} EUR",
        )
    ]


def check_optimality(
    summary: Summary, reference: ReferenceSolution, has_fixed: bool
) -> list[Finding]:
    """A solver of our own finds no better revenue, and agrees on infeasibility.

    With status ``time_limit`` the result only claims to be within ``mip_gap`` of the
    optimum, so the reference must beat that bound to count.
    """
    subject = "summary.json objective_eur"
    if summary.status == "infeasible":
        if reference.status == "infeasible":
            return []
        if reference.objective_eur is None:
            return []  # the reference ran out of time without a solution: no verdict
        why = "" if has_fixed else f" ({NOTHING_FEASIBLE})"
        return [
            Finding(
                "optimality",
                "summary.json status",
                "infeasible, but the reference model finds a solution worth "
                f"{num(reference.objective_eur)} EUR{why}",
            )
        ]
    if reference.status == "infeasible":
        return [
            Finding(
                "optimality",
                subject,
                "the reference model finds the fixed allocations "
                "infeasible, yet a result was reported",
            )
        ]
    if reference.objective_eur is None:
        return []  # the reference ran out of time without a solution: no verdict
    objective = float(summary.objective_eur or ZERO)
    allowed = objective + MONEY_TOLERANCE_EUR
    if summary.status == "time_limit":
        if summary.mip_gap is None:
            return []
        allowed += abs(objective) * float(summary.mip_gap)
    if reference.objective_eur > allowed:
        return [
            Finding(
                "optimality",
                subject,
                f"{num(objective)} EUR, but the reference model finds "
                f"{num(reference.objective_eur)} EUR",
            )
        ]
    if reference.status == "optimal" and objective > reference.objective_eur + MONEY_TOLERANCE_EUR:
        return [
            Finding(
                "optimality",
                subject,
                f"{num(objective)} EUR, more than the proven optimum "
                f"{num(reference.objective_eur)} EUR of the reference model",
            )
        ]
    return []
