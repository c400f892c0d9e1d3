"""An auction sent as files (auction.json, products.csv, optionally allocations.csv).

The files are read and judged by the archive's own readers and rules (``auction.archive``,
``auction.rules``), so an upload is refused for exactly what would make an archive on disk
unreadable, every problem at once, each naming its file, row, column and value. A clean
upload becomes the body ``create_auction`` takes, the same as ``POST /auctions``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from auction.archive import parse_config, read_sheet
from auction.cells import Sheet
from auction.errors import ArchiveError, Problem
from auction.rules import check_allocations, check_products

# The form's file fields and the archive file each one is.
FILES = {"auction": "auction.json", "products": "products.csv", "allocations": "allocations.csv"}


@dataclass(frozen=True, slots=True)
class Upload:
    """One file as it was sent: its name (``.parquet`` is read as Parquet) and content."""

    filename: str
    content: bytes


@dataclass(frozen=True, slots=True)
class AuctionFiles:
    """A judged upload, as the body of ``services.auctions.create_auction``."""

    auction: dict[str, Any]
    products: list[dict[str, Any]]
    allocations: list[dict[str, Any]]


def _name(stem: str, upload: Upload) -> str:
    # Problems name the archive's file, whatever the file was called on the sender's disk.
    return f"{stem}.parquet" if upload.filename.endswith(".parquet") else f"{stem}.csv"


def _sheet(stem: str, upload: Upload | None, problems: list[Problem]) -> Sheet | None:
    if upload is None:
        return None
    return read_sheet(stem, _name(stem, upload), upload.content, problems)


def read_upload(
    auction: Upload | None, products: Upload | None, allocations: Upload | None
) -> AuctionFiles:
    """The three files judged together; ArchiveError with every problem if any is found.

    auction.json and products.csv are required; without allocations.csv the auction has
    no fixed allocations.
    """
    problems: list[Problem] = []
    for stem, upload in (("auction", auction), ("products", products)):
        if upload is None:
            file = FILES[stem]
            problems.append(Problem(file, None, None, None, f"{file} is required: choose the file"))
    config = None if auction is None else parse_config(auction.content, problems)
    product_sheet = _sheet("products", products, problems)
    checked = check_products(product_sheet, config)
    allocation_sheet = _sheet("allocations", allocations, problems)
    check_allocations(allocation_sheet, checked)
    for sheet in (product_sheet, allocation_sheet):
        if sheet is not None:
            problems.extend(sorted(sheet.problems, key=lambda p: p.row or 0))
    if problems or auction is None or product_sheet is None:
        raise ArchiveError(problems)
    return AuctionFiles(
        auction=json.loads(auction.content.decode("utf-8")),
        products=product_sheet.raw.to_dicts(),
        allocations=[] if allocation_sheet is None else allocation_sheet.raw.to_dicts(),
    )
