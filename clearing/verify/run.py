"""Running the checker: ``verify`` reads the result and the terms, then runs the check
families in the order of ``CHECKS``, optimality only when asked or the instance is
small.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from auction.model import Archive
from clearing.reference import solve_reference
from clearing.verify.checks_awards import (
    check_awards,
    check_exclusive_groups,
    check_files,
    check_links,
    check_summary,
    check_supply,
)
from clearing.verify.checks_backing import check_backing, check_capacity
from clearing.verify.checks_delivery import (
    check_allocation,
    check_blocks,
    check_fixed_allocations,
    check_virtual_assets,
)
from clearing.verify.checks_money import NOTHING_FEASIBLE, check_optimality, check_revenue
from clearing.verify.findings import Finding, VerifyReport
from clearing.verify.result import Result, read_result
from clearing.verify.terms import Terms, read_terms

# Order in which the checks run and are listed.
CHECKS = (
    "files",
    "summary",
    "awards",
    "exclusive_groups",
    "links",
    "supply",
    "fixed_allocations",
    "allocation",
    "virtual_assets",
    "blocks",
    "backing",
    "capacity",
    "revenue",
    "optimality",
)
# Re-solve the reference model automatically only below these sizes.
AUTO_MAX_BIDS = 2_000
AUTO_MAX_ASSETS = 200

Check = Callable[[Terms, Result], list[Finding]]


def _wants_optimality(archive: Archive, optimality: bool | None) -> bool:
    if optimality is not None:
        return optimality
    return archive.bids.height <= AUTO_MAX_BIDS and archive.fleet.height <= AUTO_MAX_ASSETS


def verify(
    archive: Archive, out_dir: str | Path, *, optimality: bool | None = None
) -> VerifyReport:
    """Check the result in ``out_dir`` against ``archive``.

    Parameters
    ----------
    archive
        The auction as cleared.
    out_dir
        The directory ``vba clear`` wrote.
    optimality
        Re-solve the reference model: ``True`` always, ``False`` never, ``None`` only for
        small instances (at most 2,000 bids and 200 assets).

    Returns
    -------
    VerifyReport
        Findings of every check; checks after "files" run only on a well-formed result.
        A result reported infeasible is judged by the optimality check alone.
    """
    result, findings = read_result(out_dir)
    if result is None:
        return VerifyReport(findings, ["files"])
    terms = read_terms(archive)
    infeasible = result.summary.status == "infeasible"
    findings = [] if infeasible else check_files(terms, result)
    if findings:
        return VerifyReport(findings, ["files"])
    checks_run = ["files"]
    for name, check in () if infeasible else _RESULT_CHECKS:
        findings += check(terms, result)
        checks_run.append(name)
    reference_eur = None
    if _wants_optimality(archive, optimality):
        reference = solve_reference(archive, archive.config.time_limit_s)
        findings += check_optimality(result.summary, reference, bool(terms.fixed))
        checks_run.append("optimality")
        reference_eur = reference.objective_eur
    elif infeasible and not terms.fixed:
        # Without fixed allocations, awarding nothing is always feasible: no solver needed.
        findings.append(
            Finding("optimality", "summary.json status", "infeasible, but " + NOTHING_FEASIBLE)
        )
        checks_run.append("optimality")
    return VerifyReport(findings, checks_run, reference_eur)


_RESULT_CHECKS: tuple[tuple[str, Check], ...] = (
    ("summary", check_summary),
    ("awards", check_awards),
    ("exclusive_groups", check_exclusive_groups),
    ("links", check_links),
    ("supply", check_supply),
    ("fixed_allocations", check_fixed_allocations),
    ("allocation", check_allocation),
    ("virtual_assets", check_virtual_assets),
    ("blocks", check_blocks),
    ("backing", check_backing),
    ("capacity", check_capacity),
    ("revenue", check_revenue),
)
