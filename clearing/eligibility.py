"""Which bids enter the model, and which need a binary variable."""

from __future__ import annotations

import polars as pl

from auction.units import to_cents, to_kw


def prepare_bids(bids: pl.DataFrame, products: pl.DataFrame) -> pl.DataFrame:
    """Bids in canonical order with integer units, eligibility and their modelling class.

    Adds ``q_kw``, ``min_kw`` (the effective minimum: the bid's own or the product's),
    ``inc_kw``, ``price_cents``, ``eligible`` and ``reason`` (``below_reserve`` or
    ``parent_rejected`` for ineligible bids), and ``needs_binary``: a bid needs an
    acceptance binary when its minimum is above one increment, or it is in an exclusive
    group, or it is linked to a parent or is a parent itself. All other eligible bids are
    "simple": inside a product they are filled in merit order, so they need no integer.

    The canonical order (product, price descending, time priority, bid id) makes the
    model, and so the result, independent of the order of the input rows.
    """
    frame = (
        bids.join(
            products.select(
                "product_id",
                inc_kw=to_kw(pl.col("increment_mw")),
                product_min_kw=to_kw(pl.col("min_mw")),
                reserve_cents=to_cents(pl.col("reserve_price_eur_per_mw")),
            ),
            on="product_id",
            how="left",
        )
        .with_columns(
            q_kw=to_kw(pl.col("quantity_mw")),
            min_kw=to_kw(pl.coalesce("min_quantity_mw", pl.col("product_min_kw") / 1000)),
            price_cents=to_cents(pl.col("price_eur_per_mw")),
        )
        .with_columns(
            eligible=pl.col("price_cents") >= pl.col("reserve_cents"),
            reason=pl.when(pl.col("price_cents") < pl.col("reserve_cents")).then(
                pl.lit("below_reserve")
            ),
        )
        # Time priority over the whole book: earlier first, then the smaller bid id.
        .sort("submitted_at", "bid_id")
        .with_row_index("rank")
        .sort(
            ["product_id", "price_cents", "submitted_at", "bid_id"],
            descending=[False, True, False, False],
        )
    )
    frame = _reject_orphans(frame)
    parents = frame.filter(pl.col("eligible") & pl.col("linked_to").is_not_null())["linked_to"]
    return frame.with_columns(
        needs_binary=pl.col("eligible")
        & (
            (pl.col("min_kw") > pl.col("inc_kw"))
            | pl.col("exclusive_group").is_not_null()
            | pl.col("linked_to").is_not_null()
            | pl.col("bid_id").is_in(parents.implode())
        )
    ).drop("product_min_kw", "reserve_cents")


def _reject_orphans(frame: pl.DataFrame) -> pl.DataFrame:
    """A bid whose parent is ineligible is ineligible too, down every chain of links.

    Links are acyclic (the archive reader checks), so this ends after at most as many
    rounds as the longest chain; each round is one vectorised join.
    """
    while True:
        ineligible = frame.filter(~pl.col("eligible"))["bid_id"].implode()
        orphan = pl.col("eligible") & pl.col("linked_to").is_in(ineligible).fill_null(False)
        if not frame.select(orphan.any()).item():
            return frame
        frame = frame.with_columns(
            reason=pl.when(orphan).then(pl.lit("parent_rejected")).otherwise("reason"),
            eligible=pl.col("eligible") & ~orphan,
        )
