"""Replaying archives: a record reproduces, a changed record is named bid by bid, a corrupt
archive is reported and the others complete, what-if rules are checked and reported, and
a local Dask cluster gives what the process pool gives."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from api.cli.main import main
from auction.archive import write_archive
from auction.errors import DomainError
from clearing import clear, write_results
from clearing.replay import PLAIN, Rules, parse_rules, replay_archive
from clearing.replay.report import days_table
from clearing.replay.run import replay_all
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
    assert same.day["revenue_eur"] == same.day["recorded_revenue_eur"] > 0

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


def test_rules_are_parsed_and_every_bad_one_is_named() -> None:
    assert parse_rules([]) == PLAIN
    assert parse_rules(["pricing=uniform", "fleet_scale=1.5", "time_limit_s=5"]) == Rules(
        pricing="uniform", fleet_scale=1.5, time_limit_s=5.0
    )
    assert parse_rules(["reserve_price_scale=1"]).plain
    with pytest.raises(DomainError) as caught:
        parse_rules(
            [
                "fleet_scale=0",
                "pricing=vickrey",
                "colour=red",
                "fcr_energy_h",
                "pricing=uniform",
                "pricing=uniform",
                "afrr_energy_h=nan",
            ]
        )
    problems = [(p.column, p.value, p.rule) for p in caught.value.problems]
    assert problems == [
        ("fleet_scale", "0", "must be a number > 0"),
        ("pricing", "vickrey", "must be one of pay_as_bid, uniform"),
        (
            "colour",
            "red",
            "is not a rule; the rules are reserve_price_scale, fleet_scale, fcr_energy_h, "
            "afrr_energy_h, time_limit_s, pricing",
        ),
        (None, "fcr_energy_h", "write each rule as KEY=VALUE, e.g. pricing=uniform"),
        ("pricing", "uniform", "is given twice"),
        ("afrr_energy_h", "nan", "must be a number ≥ 0"),
    ]


def test_a_bad_rule_is_refused_before_any_work(tmp_path: Path) -> None:
    root = tmp_path / "history"
    _recorded_day(root, "day1", 40.0)
    report = tmp_path / "report"
    assert main(["replay", str(root), "--rule", "fleet_scale=-1", "--out", str(report)]) == 2
    assert not report.exists()


def test_a_what_if_is_reported_beside_the_record_and_is_no_regression(tmp_path: Path) -> None:
    root = tmp_path / "history"
    for n, price in enumerate((40.0, 35.0), start=1):
        _recorded_day(root, f"day{n}", price)
    report = tmp_path / "report"
    argv = ["replay", str(root), "--jobs", "1", "--rule", "pricing=uniform", "--out", str(report)]
    assert main(argv) == 0
    days = pl.read_parquet(report / "replay.parquet")
    assert days["status"].to_list() == ["counterfactual"] * 2
    # Every accepted bid pays the lowest accepted price of the (one) product.
    recorded = pl.read_csv(root / "day1" / "recorded" / "awards.csv")
    lowest = recorded.filter(pl.col("awarded_mw") > 0)["price_eur_per_mw"].min()
    orgs = pl.read_csv(report / "organisations.csv").filter(pl.col("auction_id") == "day1")
    for bid_row in recorded.iter_rows(named=True):  # one bid per organisation
        org = orgs.row(by_predicate=pl.col("org_id") == bid_row["org_id"], named=True)
        assert org["recorded_paid_eur"] == pytest.approx(bid_row["payment_eur"])
        assert org["paid_eur"] == pytest.approx(bid_row["awarded_mw"] * lowest)
        assert org["surplus_eur"] == pytest.approx(
            bid_row["awarded_mw"] * (bid_row["price_eur_per_mw"] - lowest)
        )
    html = (report / "report.html").read_text()
    assert "pricing" in html
    assert "uniform" in html


def test_a_local_dask_cluster_gives_what_the_process_pool_gives(tmp_path: Path) -> None:
    root = tmp_path / "history"
    paths = [_recorded_day(root, f"day{n}", price) for n, price in enumerate((40.0, 30.0), 1)]
    (root / "broken").mkdir()
    (root / "broken" / "auction.json").write_text("{}")
    paths.append(root / "broken")
    rules = Rules(fleet_scale=0.5)
    seen: list[str] = []
    on_dask = replay_all(
        paths, rules, jobs=2, executor="dask", on_done=lambda o: seen.append(o.path)
    )
    on_pool = replay_all(paths, rules, jobs=2)
    assert sorted(seen) == sorted(str(p) for p in paths)
    timings = ("seconds", "solve_s")
    assert_frame_equal(days_table(on_dask).drop(timings), days_table(on_pool).drop(timings))
    assert [o.status for o in on_dask] == ["error", "counterfactual", "counterfactual"]


def test_an_unreadable_record_is_an_error_that_names_the_file(tmp_path: Path) -> None:
    path = _recorded_day(tmp_path, "day1", 40.0)
    awards = path / "recorded" / "awards.csv"
    awards.write_text(awards.read_text().replace("b1,A,p1,6,", "b1,A,p1,six,"))
    outcome = replay_archive(path)
    assert outcome.status == "error"
    assert outcome.error is not None
    assert outcome.error.startswith("recorded/awards.csv: ")
    assert "six" in outcome.error
