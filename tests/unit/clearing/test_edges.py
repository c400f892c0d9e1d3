"""Edge cases of the clearing, and the ``vba`` command line end to end.

Base auction (tests/strategies.py): product ``p1`` 10:00-14:00 local on 2026-11-29, 1 MW
wholesale per MW with 2 h of energy, increment 1 MW; assets in TenneT DE.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import tempfile
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from api.cli.main import main
from auction.archive import read_archive, write_archive
from auction.model import Archive
from auction.sample import sample_dir
from clearing import ClearingResult, clear, write_results
from clearing.result import gap_text, optimality_of
from clearing.verify import format_report, verify
from tests.strategies import NORMAL_DAY, asset, bid, local, make_archive, product

RESULT_FILES = {
    "summary.json",
    "awards.csv",
    "allocation.csv",
    "virtual_assets.csv",
    "blocks.csv",
    "backing.csv",
}


def checked(archive: Archive) -> ClearingResult:
    """Clear and require the independent checker to pass on the result."""
    result = clear(archive)
    with tempfile.TemporaryDirectory() as out:
        write_results(result, out)
        report = verify(archive, out, optimality=True)
    assert report.ok, format_report(report)
    return result


def awards(result: ClearingResult) -> dict[str, tuple[int, str | None]]:
    return {
        r["bid_id"]: (r["awarded_kw"], r["reason"])
        for r in result.awards.select("bid_id", "awarded_kw", "reason").iter_rows(named=True)
    }


def full_day(product_id: str, **extra: object) -> dict[str, object]:
    return product(
        product_id, start=local(NORMAL_DAY, 0), end=local(date(2026, 11, 30), 0), **extra
    )


# --------------------------------------------------------------------------- clearing edges


def test_no_bids() -> None:
    archive = make_archive(fleet=[asset("a1", 10.0, 20.0)], products=[product()], bids=[])
    result = checked(archive)
    assert result.status == "optimal"
    assert result.objective_eur == 0
    assert result.awards.height == 0
    assert result.virtual_assets.height == 0
    tables = result.tables()
    assert tables["awards.csv"].decode().splitlines() == [
        "bid_id,org_id,product_id,awarded_mw,price_eur_per_mw,payment_eur,status,reason"
    ]
    assert len(tables["virtual_assets.csv"].decode().splitlines()) == 1  # header only


def test_all_bids_below_reserve() -> None:
    archive = make_archive(
        fleet=[asset("a1", 10.0, 20.0)],
        products=[product(reserve_price_eur_per_mw=40.0)],
        bids=[bid("b1", "A", 5.0, 39.99), bid("b2", "B", 2.0, 0.0)],
    )
    result = checked(archive)
    assert result.status == "optimal"
    assert result.objective_eur == 0
    assert awards(result) == {"b1": (0, "below_reserve"), "b2": (0, "below_reserve")}
    assert result.virtual_assets.height == 0
    assert result.allocation.height == 0


def test_asset_out_for_the_whole_day_backs_nothing() -> None:
    # a1 (10 MW) is out all day; a2 (4 MW / 8 MWh) alone carries p1: b1 gets 4 of 10.
    day_start, day_end = local(NORMAL_DAY, 0), local(date(2026, 11, 30), 0)
    archive = make_archive(
        fleet=[asset("a1", 10.0, 20.0), asset("a2", 4.0, 8.0)],
        products=[product()],
        bids=[bid("b1", "A", 10.0, 50.0)],
        availability=[
            {"asset_id": "a1", "start": day_start, "end": day_end, "available_fraction": 0.0}
        ],
    )
    result = checked(archive)
    assert awards(result) == {"b1": (4000, "outbid")}
    assert result.allocation["asset_id"].to_list() == ["a2"]
    assert set(result.backing["asset_id"]) == {"a2"}


def test_outage_after_every_product_window_changes_nothing() -> None:
    # a1 is out 06:00-06:15 local, right after the only product (00:00-06:00) ends: the
    # product does not deliver then, so b1 gets its 1 MW (20 EUR) as without the outage.
    archive = make_archive(
        fleet=[asset("a1", 1.0, 2.0)],
        products=[product(start=local(NORMAL_DAY, 0), end=local(NORMAL_DAY, 6))],
        bids=[bid("b1", "A", 1.0, 20.0)],
        availability=[
            {
                "asset_id": "a1",
                "start": local(NORMAL_DAY, 6),
                "end": local(NORMAL_DAY, 6, 15),
                "available_fraction": 0.0,
            }
        ],
    )
    result = checked(archive)
    assert awards(result) == {"b1": (1000, None)}
    assert result.objective_eur == 20


def test_no_fcr_prequalified_asset_means_no_fcr_awards() -> None:
    # Neither asset is FCR prequalified: the FCR product cannot be backed, so its bid gets
    # nothing (outbid), while the wholesale product clears as usual (b2 5 MW, 150 EUR).
    archive = make_archive(
        fleet=[asset("a1", 5.0, 10.0), asset("a2", 5.0, 10.0, afrr_pos=True, afrr_neg=True)],
        products=[
            full_day("pf", wholesale_mw=0.0, wholesale_h=0.0, fcr_mw=1.0),
            product("p1"),
        ],
        bids=[bid("b1", "A", 3.0, 90.0, "pf"), bid("b2", "B", 5.0, 30.0, "p1")],
    )
    result = checked(archive)
    assert awards(result) == {"b1": (0, "outbid"), "b2": (5000, None)}
    assert result.objective_eur == 150
    assert result.allocation.filter(pl.col("product_id") == "pf").height == 0


def test_fixed_allocation_larger_than_the_fleet_is_infeasible() -> None:
    archive = make_archive(
        fleet=[asset("a1", 5.0, 10.0)],
        products=[product()],
        bids=[bid("b1", "A", 2.0, 50.0)],
        allocations=[{"org_id": "OPT", "product_id": "p1", "quantity_mw": 6.0}],
    )
    result = checked(archive)
    assert result.status == "infeasible"
    assert result.objective_eur == 0
    assert result.message is not None
    assert "OPT" in result.message
    assert "p1" in result.message
    assert int(result.awards["awarded_kw"].sum()) == 0
    assert result.virtual_assets.height == 0


def test_fixed_allocation_no_asset_may_back_is_infeasible() -> None:
    # The allocation is of an aFRR- product, and no asset is prequalified for aFRR-: it
    # cannot be served at all, however small.
    archive = make_archive(
        fleet=[asset("a1", 5.0, 10.0, fcr=True)],
        products=[product(wholesale_mw=0.0, wholesale_h=0.0, afrr_neg_mw=0.5, increment_mw=0.1)],
        bids=[],
        allocations=[{"org_id": "OPT", "product_id": "p1", "quantity_mw": 0.1}],
    )
    result = checked(archive)
    assert result.status == "infeasible"
    assert result.message is not None
    assert "p1" in result.message
    assert "OPT" in result.message


# --------------------------------------------------------------------------- the CLI


def small_archive(**changes: Any) -> Archive:
    parts: dict[str, Any] = {
        "fleet": [asset("a1", 10.0, 20.0)],
        "products": [product()],
        "bids": [bid("b1", "A", 6.0, 50.0), bid("b2", "B", 6.0, 40.0)],
    }
    return make_archive(**(parts | changes))


def written(archive: Archive, root: Path) -> Path:
    path = root / "auction"
    write_archive(archive, path)
    return path


def one_line(text: str) -> str:
    """Terminal output without rich's line wrapping."""
    return " ".join(text.split())


def test_cli_clears_the_sample(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert main(["clear", str(sample_dir()), "--out", str(out)]) == 0
    assert {p.name for p in out.iterdir()} == RESULT_FILES
    summary = json.loads((out / "summary.json").read_text())
    assert summary["auction_id"] == "sample"
    assert summary["status"] == "optimal"
    assert summary["n_bids"] == 300
    assert "results written to" in one_line(capsys.readouterr().out)


def test_cli_clear_reports_a_broken_archive(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = written(small_archive(), tmp_path)
    bids = (source / "bids.csv").read_text()
    assert ",40," in bids
    (source / "bids.csv").write_text(bids.replace(",40,", ",1.234,"))
    out = tmp_path / "out"

    assert main(["clear", str(source), "--out", str(out)]) == 2

    err = one_line(capsys.readouterr().err)
    assert "bids.csv, row 2, column price_eur_per_mw" in err
    assert "1.234" in err
    assert not out.exists()


def test_cli_clear_exit_3_on_an_infeasible_allocation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = small_archive(
        allocations=[{"org_id": "OPT", "product_id": "p1", "quantity_mw": 11.0}]
    )
    out = tmp_path / "out"
    assert main(["clear", str(written(archive, tmp_path)), "--out", str(out)]) == 3
    assert json.loads((out / "summary.json").read_text())["status"] == "infeasible"
    assert "OPT" in one_line(capsys.readouterr().out)


def test_cli_verify_passes_then_finds_a_corrupted_award(tmp_path: Path) -> None:
    source = written(small_archive(), tmp_path)
    out = tmp_path / "out"
    assert main(["clear", str(source), "--out", str(out)]) == 0
    assert main(["verify", str(source), str(out)]) == 0

    awards_csv = out / "awards.csv"
    with awards_csv.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["bid_id"], r["awarded_mw"]) for r in rows] == [("b1", "6"), ("b2", "4")]
    rows[1]["awarded_mw"] = "5"  # more than the fleet carries, and paid for 4
    with awards_csv.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)

    assert main(["verify", str(source), str(out)]) == 4


def test_console_script_end_to_end(tmp_path: Path) -> None:
    source = written(small_archive(), tmp_path)
    out = tmp_path / "out"
    script = Path(sys.executable).with_name("vba")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "api.cli.main"]
    run = subprocess.run(
        [*command, "clear", str(source), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert {p.name for p in out.iterdir()} == RESULT_FILES
    assert json.loads((out / "summary.json").read_text())["objective_eur"] == 460


def test_the_optimality_sentence_says_why_and_how_far() -> None:
    """What the summary, the CLI and the publish answer say about a result's quality."""
    result = clear(read_archive(sample_dir()))
    assert result.status == "optimal"
    assert result.optimality == "optimal: proven that no answer earns 0.01 EUR more"
    cut_short = replace(
        result,
        status="time_limit",
        mip_gap=0.0004,
        bound_eur=float(result.objective_eur) * 1.0004,
        solver={**result.solver, "stopped": "the time limit of 5 s ran out"},
    )
    words = cut_short.optimality
    assert words.startswith("not proven optimal: the time limit of 5 s ran out; ")
    assert "within 0.04 % of the best possible (at most 34.38 EUR more)" in words
    nothing = replace(cut_short, mip_gap=None, objective_eur=Decimal(0), bound_eur=12.5)
    assert "with 0.00 EUR awarded; up to 12.50 EUR may be possible" in nothing.optimality
    assert replace(cut_short, bound_eur=None).optimality.endswith("before any bound was proven")
    assert gap_text(None) == "unknown"
    assert gap_text(0.00069) == "0.069 %"
    # Results stored before the sentence existed still get one.
    assert optimality_of({"status": "time_limit", "mip_gap": 0.01}) == (
        "not proven optimal: gap 1 %"
    )
    assert optimality_of(result.summary("0")) == result.optimality


def test_vba_clear_prints_the_status_and_the_gap(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["clear", str(sample_dir()), "--out", str(tmp_path / "out")]) == 0
    printed = " ".join(capsys.readouterr().out.split())
    assert "Status optimal, gap 0 %: optimal: proven that no answer earns 0.01 EUR more." in printed
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["optimality"] == "optimal: proven that no answer earns 0.01 EUR more"
    assert summary["bound_eur"] >= summary["objective_eur"]
