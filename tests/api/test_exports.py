"""`vba export`: a bidder's formula reaches the operator's bids.csv harmless and reads back
exactly; a symbolic link planted in the target directory is refused, never followed."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api import services
from api.cli.exits import EXIT_BAD_INPUT
from auction.archive import read_archive
from auction.safewrite import UnsafePath, write_file
from auction.store import Store
from clearing import clear, write_results
from tests.api.conftest import EICS, Account, Clock, bid_body, create_sample_auction, provision

CALC = "=cmd|' /C calc'!A0"


def _cleared_with_a_formula(store: Store, client: TestClient, clock: Clock) -> str:
    """The sample auction with one bid whose exclusive_group is a formula, cleared; returns
    the bid's id."""
    operator = provision(store, client, "Operator", "operator")
    archive = create_sample_auction(client, operator)
    bidder: Account = provision(store, client, "Alpha", "bidder", EICS[1])
    row = archive.bids.to_dicts()[0]
    answer = client.post(
        f"/organisations/{bidder.org_id}/auctions/sample/bids",
        headers=bidder.headers,
        json={"bids": [bid_body(row, exclusive_group=CALC)]},
    )
    assert answer.status_code == 201, answer.text
    bid_id = str(answer.json()["items"][0]["bid_id"])
    clock.advance(days=2)
    answer = client.post("/auctions/sample/clear", headers=operator.headers)
    assert answer.status_code == 200, answer.text
    return bid_id


def test_a_formula_in_a_bid_is_exported_harmless_and_clears_the_same(
    store: Store, make_client: Callable[[], TestClient], clock: Clock, tmp_path: Path
) -> None:
    bid_id = _cleared_with_a_formula(store, make_client(), clock)
    out = tmp_path / "export"
    clearing = services.auctions.export_auction(store, "sample", out)
    assert clearing is not None
    text = (out / "bids.csv").read_text()
    assert f",'{CALC}," in text  # what a spreadsheet gets: text, not a formula
    assert f",{CALC}," not in text
    archive = read_archive(out)
    [group] = archive.bids.filter(archive.bids["bid_id"] == bid_id)["exclusive_group"]
    assert group == CALC
    again = write_results(clear(archive), tmp_path / "again")
    assert again["result_sha256"] == clearing.result_sha256


@pytest.fixture
def cleared(store: Store, make_client: Callable[[], TestClient], clock: Clock) -> Store:
    _cleared_with_a_formula(store, make_client(), clock)
    return store


def _export(store_url: str, target: Path) -> subprocess.CompletedProcess[str]:
    """``vba export sample TARGET``, importing this tree's code (not an installed copy)."""
    vba = Path(sys.executable).with_name("vba")
    root = Path(__file__).resolve().parents[2]
    return subprocess.run(
        [vba, "export", "sample", target],
        env={"VBA_DATABASE_URL": store_url, "PATH": "/usr/bin:/bin", "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize("planted", ["bids.csv", "auction.json", "recorded/awards.csv"])
def test_vba_export_refuses_a_link_planted_in_its_directory(
    store_url: str,
    cleared: Store,
    tmp_path: Path,
    planted: str,
) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("precious\n")
    target = tmp_path / "x"
    (target / "recorded").mkdir(parents=True)
    (target / planted).symlink_to(outside)
    done = _export(store_url, target)
    assert done.returncode == EXIT_BAD_INPUT, done.stdout + done.stderr
    said = " ".join(done.stderr.split())
    assert f"{target / planted}: is a symbolic link" in said
    assert outside.read_text() == "precious\n"
    assert (target / planted).is_symlink()
    # Refused before anything was written.
    assert sorted(p.name for p in target.rglob("*")) == sorted(["recorded", Path(planted).name])


def test_vba_export_refuses_a_target_that_is_a_link(
    store_url: str,
    cleared: Store,
    tmp_path: Path,
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    target = tmp_path / "x"
    target.symlink_to(elsewhere, target_is_directory=True)
    done = _export(store_url, target)
    assert done.returncode == EXIT_BAD_INPUT, done.stdout + done.stderr
    assert "is a symbolic link" in done.stderr
    assert not list(elsewhere.iterdir())


def test_a_link_planted_after_the_check_is_still_not_followed(tmp_path: Path) -> None:
    """write_file itself refuses a link at the name or as the directory, whoever calls it."""
    outside = tmp_path / "outside.txt"
    outside.write_text("precious\n")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "bids.csv").symlink_to(outside)
    with pytest.raises(UnsafePath):
        write_file(tmp_path / "out" / "bids.csv", "bid_id\n")
    (tmp_path / "linked").symlink_to(tmp_path / "out", target_is_directory=True)
    with pytest.raises(UnsafePath):
        write_file(tmp_path / "linked" / "new.csv", "bid_id\n")
    assert outside.read_text() == "precious\n"
    assert not (tmp_path / "out" / "new.csv").exists()
    write_file(tmp_path / "out" / "plain.csv", "a\n")
    write_file(tmp_path / "out" / "plain.csv", "b\n")  # replaced, no temporary file left
    assert (tmp_path / "out" / "plain.csv").read_text() == "b\n"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["bids.csv", "plain.csv"]
