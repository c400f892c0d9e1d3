"""The bundled year (data/history): well formed, and a few of its days replay to their record.

The days are chosen for what makes them hard: a DST day of 23 and one of 25 hours, a day
without competition and a scarcity day. Replaying the whole year is the benchmark's job
(benchmarks/bench_replay.py), not the test suite's.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pytest

from api.cli.main import main
from clearing.replay import find_archives

HISTORY = Path(__file__).resolve().parents[3] / "data" / "history"
DAYS = ("2025-03-30", "2025-10-26", "2025-12-25", "2025-02-12")
MAX_BYTES = 50 * 1024 * 1024


def test_the_history_is_a_whole_year_of_recorded_archives_well_under_50_mb() -> None:
    paths = find_archives(HISTORY)
    assert [p.name for p in paths[:2]] == ["2025-01-01", "2025-01-02"]
    assert len(paths) == 365
    for path in paths:
        summary = json.loads((path / "recorded" / "summary.json").read_text())
        assert summary["status"] == "optimal", path
        assert (path / "recorded" / "awards.csv").is_file(), path
        assert (path / "bids.parquet").is_file(), path
    size = sum(f.stat().st_size for f in HISTORY.rglob("*") if f.is_file())
    assert size < MAX_BYTES


@pytest.fixture
def days(tmp_path: Path) -> Path:
    root = tmp_path / "history"
    for day in DAYS:
        shutil.copytree(HISTORY / day, root / day)
    return root


def test_bundled_days_reproduce_their_record_exactly(tmp_path: Path) -> None:
    # Gathered as symbolic links, the way an analyst picks days out of a large archive.
    days = tmp_path / "picked"
    days.mkdir()
    for day in DAYS:
        (days / day).symlink_to(HISTORY / day, target_is_directory=True)
    report = tmp_path / "report"
    assert main(["replay", str(days), "--jobs", "2", "--out", str(report)]) == 0
    replay = pl.read_parquet(report / "replay.parquet")
    assert replay["status"].to_list() == ["same"] * len(DAYS)
    assert (replay["revenue_eur"] == replay["recorded_revenue_eur"]).all()
    assert pl.read_csv(report / "differences.csv").height == 0


def test_a_changed_record_is_reported_with_the_bid_and_both_values(
    days: Path, tmp_path: Path
) -> None:
    awards_file = days / DAYS[0] / "recorded" / "awards.csv"
    awards = pl.read_csv(awards_file, infer_schema=False)
    accepted = awards.filter(pl.col("status") == "accepted").row(0, named=True)
    changed = f"{float(accepted['payment_eur']) + 0.01:.5f}"
    awards.with_columns(
        payment_eur=pl.when(pl.col("bid_id") == accepted["bid_id"])
        .then(pl.lit(changed))
        .otherwise("payment_eur")
    ).write_csv(awards_file)
    report = tmp_path / "report"
    assert main(["replay", str(days), "--jobs", "2", "--out", str(report)]) == 4
    differences = pl.read_csv(report / "differences.csv", infer_schema=False)
    assert differences.select("bid_id", "column", "recorded", "replayed").rows() == [
        (accepted["bid_id"], "payment_eur", changed, accepted["payment_eur"])
    ]
    statuses = pl.read_csv(report / "replay.csv").sort("auction_id")["status"].to_list()
    assert sorted(statuses) == ["differs"] + ["same"] * (len(DAYS) - 1)
