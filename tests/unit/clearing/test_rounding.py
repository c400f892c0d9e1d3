"""Whole-kW backing of a fleet sold to the last kW.

On this small hard day the optimum uses the fleet so fully that rounding the fleet LP's
backing by largest remainder breaks capacity rows. The fleet LP then backs the very same
totals again with a rounding's room kept on those rows, and that backing rounds: the
answer stays the proven optimum, and the independent checker finds no row over by
anything.
"""

from __future__ import annotations

from pathlib import Path

from auction.synthetic import generate, hard_scenario
from clearing.clear import clear
from clearing.result import write_results
from clearing.verify import format_report, verify


def test_room_on_the_broken_rows_keeps_the_optimum(tmp_path: Path) -> None:
    archive = generate(hard_scenario(500, seed=5, n_assets=10))
    result = clear(archive, time_limit_s=60)
    assert "room kept on" in str(result.solver["rounding"])
    assert result.status == "optimal"
    write_results(result, tmp_path)
    report = verify(archive, tmp_path, optimality=True)
    assert report.ok, format_report(report)
    assert report.reference_objective_eur is not None
    assert abs(report.reference_objective_eur - float(result.objective_eur)) <= 0.01
