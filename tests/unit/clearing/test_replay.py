"""Replaying archives: a record reproduces, a changed record is named bid by bid, a corrupt
archive is reported and the others complete."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from api.cli import main
from auction.archive import write_archive
from clearing import clear, write_results
from clearing.replay import replay_archive
from tests.strategies import asset, bid, make_archive, product


def _recorded_day(root: Path, name: str, price: float) -> Path:
    """An archive with its result written to recorded/, as the day published it."""
    archive = make_archive(
        fleet=[asset("a1", 10.0, 20.0), asset("a2", 5.0, 10.0)],
        products=[product()],
        bids=[bid("b1", "A", 6.0, price), bid("b2", "B", 8.0, price - 5), bid("b3", "C", 4.0, 3.0)],
        auction_id=name,
    )
    path = root / name
    write_archive(archive, path)
    write_results(clear(archive), path / "recorded")
    return path


def test_a_record_reproduces_and_a_changed_one_is_named(tmp_path: Path) -> None:
    same = replay_archive(_recorded_day(tmp_path, "day1", 40.0))
    assert same.status == "same"
    assert same.revenue_eur is not None
    assert same.revenue_eur > 0

    changed = _recorded_day(tmp_path, "day2", 30.0)
    awards = pl.read_csv(changed / "recorded" / "awards.csv", infer_schema=False)
    awards = awards.with_columns(
        awarded_mw=pl.when(pl.col("bid_id") == "b1").then(pl.lit("5")).otherwise("awarded_mw")
    )
    awards.write_csv(changed / "recorded" / "awards.csv")
    differs = replay_archive(changed)
    assert differs.status == "differs"
    assert [(d.bid_id, d.column, d.recorded, d.replayed) for d in differs.differences] == [
        ("b1", "awarded_mw", "5", "6")
    ]


def test_vba_replay_reports_every_archive_and_exits_non_zero_on_a_difference(
    tmp_path: Path,
) -> None:
    root = tmp_path / "history"
    for n, price in enumerate((40.0, 35.0, 30.0), start=1):
        _recorded_day(root, f"day{n}", price)
    report = tmp_path / "report"
    assert main(["replay", str(root), "--jobs", "2", "--out", str(report)]) == 0
    rows = pl.read_csv(report / "replay.csv")
    assert rows["status"].to_list() == ["same"] * 3

    (root / "broken").mkdir()
    (root / "broken" / "auction.json").write_text("{ not json")
    awards = root / "day3" / "recorded" / "awards.csv"
    awards.write_text(awards.read_text().replace("b2,B,p1,8,", "b2,B,p1,7,"))
    assert main(["replay", str(root), "--jobs", "2", "--out", str(report)]) == 4
    rows = pl.read_csv(report / "replay.csv")
    assert dict(zip(rows["path"].str.split("/").list.last(), rows["status"], strict=True)) == {
        "broken": "error",
        "day1": "same",
        "day2": "same",
        "day3": "differs",
    }
    differences = pl.read_csv(report / "differences.csv", infer_schema=False)
    assert differences.select("bid_id", "column", "recorded", "replayed").rows() == [
        ("b2", "awarded_mw", "7", "8")
    ]
