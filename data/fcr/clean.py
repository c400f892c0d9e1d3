"""Clean the published FCR result files of one day into data/fcr/<day>/ (see data/fcr/README.md).

The source files (regelleistung.net's anonymous result list and result overview, as
converted to CSV by spkis/RegelleistungNetAutomation for InfluxDB) repeat every bid once
per hour of its 4-hour product and carry the import's own columns. Kept here: one row per
bid, in the published order (by price within a product), and one row per product and
country of the overview. Bids are kept by position, never deduplicated by value: two
bids of the same country, price and size are two bids.

Usage::

    .venv/bin/python data/fcr/clean.py ANONYMOUS_CSV RESULTS_CSV OUT_DIR
"""

from __future__ import annotations

import argparse
from pathlib import Path

import polars as pl

# The overview names countries in full; the anonymous list by code (DK is DK1).
COUNTRIES = {
    "AUSTRIA": "AT",
    "BELGIUM": "BE",
    "CZECH_REPUBLIC": "CZ",
    "DENMARK": "DK",
    "FRANCE": "FR",
    "GERMANY": "DE",
    "NETHERLANDS": "NL",
    "SLOVENIA": "SI",
    "SWITZERLAND": "CH",
}


def clean_bids(raw: pl.DataFrame) -> pl.DataFrame:
    """One row per bid: the copy stamped with the product's first hour, in file order."""
    first_hour = pl.col("PRODUCT").str.slice(7, 2).cast(pl.Int32)
    hour = pl.col("date_valid").str.slice(11, 2).cast(pl.Int32)
    bids = raw.filter(hour == first_hour)
    if bids.height * 4 != raw.height:
        raise ValueError("expected every bid four times, once per hour of its product")
    return bids.select(
        pl.col("PRODUCT").alias("product"),
        pl.int_range(1, pl.len() + 1, dtype=pl.Int32).over("PRODUCT").alias("position"),
        pl.col("COUNTRY").alias("country"),
        pl.col("OFFERED_CAPACITY_PRICE_[EUR/MW]").alias("price_eur_per_mw"),
        pl.col("OFFERED_CAPACITY_[MW]").alias("offered_mw"),
        pl.col("ALLOCATED_CAPACITY_[MW]").alias("allocated_mw"),
        (pl.col("NOTE") == "INDIVISIBLE").fill_null(False).alias("indivisible"),
    )


def clean_results(raw: pl.DataFrame) -> pl.DataFrame:
    """One row per product and country: demand, settlement price, deficit (-) or surplus (+)."""
    products = raw.unique(subset="PRODUCTNAME", keep="first", maintain_order=True)
    return pl.concat(
        products.select(
            pl.col("PRODUCTNAME").alias("product"),
            pl.lit(code).alias("country"),
            pl.col(f"{name}_DEMAND_[MW]").alias("demand_mw"),
            pl.col(f"{name}_SETTLEMENTCAPACITY_PRICE_[EUR/MW]").alias(
                "settlement_price_eur_per_mw"
            ),
            pl.col(f"{name}_DEFICIT(-)_SURPLUS(+)_[MW]").alias("deficit_surplus_mw"),
            pl.col("CROSSBORDER_SETTLEMENTCAPACITY_PRICE_[EUR/MW]").alias(
                "crossborder_price_eur_per_mw"
            ),
        )
        for name, code in COUNTRIES.items()
    ).sort("product", "country")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("anonymous", type=Path)
    parser.add_argument("results", type=Path)
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    bids = clean_bids(pl.read_csv(args.anonymous, infer_schema_length=None))
    results = clean_results(pl.read_csv(args.results, infer_schema_length=None))
    bids.write_csv(args.out / "bids.csv")
    results.write_csv(args.out / "results.csv")
    print(f"{bids.height} bids, {results.height} product-country rows -> {args.out}")


if __name__ == "__main__":
    main()
