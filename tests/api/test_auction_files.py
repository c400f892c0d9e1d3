"""An auction sent as files (the operator's upload): judged by the archive's own readers,
every problem named by file, row and column; a clean upload is the body POST /auctions takes."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from api import services
from api.services.auction_files import Upload, read_upload
from auction.archive import read_archive
from auction.errors import ArchiveError
from auction.sample import sample_dir
from auction.store import Store
from auction.store.auctions import get_auction, product_frame

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def _file(name: str) -> Upload:
    return Upload(name, (sample_dir() / name).read_bytes())


def test_the_sample_files_become_the_body_of_a_new_auction(store: Store) -> None:
    files = read_upload(_file("auction.json"), _file("products.csv"), None)
    assert files.auction["auction_id"] == "sample"
    assert files.allocations == []
    with store.write() as conn:
        services.auctions.create_auction(
            conn,
            files.auction,
            files.products,
            files.allocations,
            auto_publish=False,
            actor="tests",
            now=NOW,
        )
    sample = read_archive(sample_dir())
    with store.read() as conn:
        assert get_auction(conn, "sample").config == sample.config
        stored = product_frame(conn, "sample")
    assert stored.sort("product_id").equals(sample.products.sort("product_id"))


def test_every_problem_of_every_file_is_named_at_once() -> None:
    doc = json.loads((sample_dir() / "auction.json").read_text())
    del doc["delivery_day"]
    lines = (sample_dir() / "products.csv").read_text().splitlines()
    header = lines[0].split(",")
    row = lines[2].split(",")
    row[header.index("min_mw")] = "0"
    products = "\n".join([lines[0], lines[1], ",".join(row)]) + "\n"
    allocations = "org_id,product_id,quantity_mw\nsomebody,NO-SUCH-PRODUCT,5\n"
    with pytest.raises(ArchiveError) as refused:
        read_upload(
            Upload("auction.json", json.dumps(doc).encode()),
            Upload("my products.csv", products.encode()),
            Upload("allocations.csv", allocations.encode()),
        )
    where = {(p.file, p.row, p.column) for p in refused.value.problems}
    assert ("auction.json", None, "delivery_day") in where
    assert ("products.csv", 2, "min_mw") in where
    assert ("allocations.csv", 1, "product_id") in where


def test_missing_and_unreadable_files_are_refused() -> None:
    with pytest.raises(ArchiveError) as refused:
        read_upload(None, Upload("products.csv", b"product_id,start\nP1,x\n"), None)
    rules = [(p.file, p.column, p.rule) for p in refused.value.problems]
    assert ("auction.json", None, "auction.json is required: choose the file") in rules
    assert ("products.csv", "end", "required column end is missing") in rules
    with pytest.raises(ArchiveError) as refused:
        read_upload(Upload("auction.json", b"{not json"), _file("products.csv"), None)
    [problem] = refused.value.problems
    assert problem.rule.startswith("auction.json is not valid JSON")
