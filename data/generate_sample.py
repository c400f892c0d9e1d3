"""Regenerate the bundled sample auction in ``data/sample/``.

The sample is ``auction.synthetic.generate(Scenario())``: 30 BESS (27 in TenneT DE), 13
products for 29 November 2026, 300 bids of 10 organisations and a 5 MW allocation for a
designated optimiser. The script writes it as CSV, reads it back through the archive
validator and checks that nothing changed on the way.

Usage::

    .venv/bin/python data/generate_sample.py            # writes data/sample/
    .venv/bin/python data/generate_sample.py OUT_DIR    # writes elsewhere
"""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl
from polars.testing import assert_frame_equal

from auction.archive import read_archive, write_archive
from auction.synthetic import Scenario, generate

SAMPLE_DIR = Path(__file__).resolve().parent / "sample"


def main(argv: list[str]) -> int:
    """Write the sample, check that it reads back unchanged and print a short summary."""
    out = Path(argv[0]) if argv else SAMPLE_DIR
    archive = generate(Scenario())
    write_archive(archive, out, fmt="csv")

    back = read_archive(out)
    assert back.config == archive.config, "auction.json does not read back unchanged"
    for name in ("fleet", "availability", "products", "bids", "allocations"):
        assert_frame_equal(getattr(back, name), getattr(archive, name))

    bids = archive.bids
    summary = (
        bids.group_by("product_id")
        .agg(
            bids=pl.len(),
            offered_mw=pl.sum("quantity_mw"),
            min_price=pl.min("price_eur_per_mw"),
            max_price=pl.max("price_eur_per_mw"),
        )
        .join(archive.products.select("product_id", "reserve_price_eur_per_mw"), on="product_id")
        .sort("product_id")
    )
    print(f"wrote {out}: {archive.fleet.height} assets, {bids.height} bids")
    with pl.Config(tbl_rows=-1, tbl_hide_dataframe_shape=True):
        print(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
