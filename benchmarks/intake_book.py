"""Loading the intake benchmark's books from the store: ``book_frame`` and ``load_archive``
next to a raw sqlite3 fetch of the same rows into polars, and a large book inserted
through the store."""

from __future__ import annotations

import math
import random
import sqlite3
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.intake_setup import Setup, bid_bodies

BOOK_REPEATS = 3
INSERT_CHUNK = 10_000  # insert_bids asks SQLite about every id at once: stay < 32,766 vars


def _median_time(fn: Callable[[], Any], repeats: int = BOOK_REPEATS) -> tuple[float, Any]:
    times = []
    result = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def insert_book(store: Any, setup: Setup, n_bids: int, rng: random.Random) -> float:
    """``n_bids`` bids of the bidder in the second auction, in one transaction; seconds."""
    from auction.bidding import BidRow
    from auction.store.accounts import new_id
    from auction.store.bids import insert_bids
    from auction.store.schema import users

    bodies = bid_bodies(setup.bid_rows, n_bids, rng)
    rows = [
        BidRow(
            bid_id=new_id(),
            product_id=b["product_id"],
            quantity_kw=round(b["quantity_mw"] * 1000),
            min_quantity_kw=None
            if b["min_quantity_mw"] is None
            else round(b["min_quantity_mw"] * 1000),
            price_cents=round(b["price_eur_per_mw"] * 100),
            exclusive_group=b["exclusive_group"],
            linked_to=None,
        )
        for b in bodies
    ]
    with store.read() as conn:
        user_id = conn.execute(users.select().where(users.c.org_id == setup.bidder_org)).first()
    assert user_id is not None
    t0 = time.perf_counter()
    with store.write() as conn:
        for k in range(0, len(rows), INSERT_CHUNK):
            chunk = rows[k : k + INSERT_CHUNK]
            insert_bids(
                conn,
                setup.book_auction_id,
                setup.bidder_org,
                chunk,
                user_id.user_id,
                datetime.now(UTC),
            )
    return time.perf_counter() - t0


_RAW_QUERY = (
    "SELECT bid_id, org_id, product_id, quantity_kw, min_quantity_kw, price_cents, "
    "submitted_at, exclusive_group, linked_to FROM bids WHERE auction_id = ?"
)


def raw_book(db: Path, auction_id: str) -> tuple[Any, float]:
    """The baseline: a raw sqlite3 fetchall into polars, converted in polars to ``BIDS``.

    Returns the frame and the seconds of the fetchall alone.
    """
    import polars as pl

    from auction.book import BIDS

    conn = sqlite3.connect(db)
    try:
        t0 = time.perf_counter()
        rows = conn.execute(_RAW_QUERY, (auction_id,)).fetchall()
        fetch_s = time.perf_counter() - t0
    finally:
        conn.close()
    names = [c.strip().split()[-1] for c in _RAW_QUERY.split("FROM")[0][6:].split(",")]
    types = [pl.String] * 3 + [pl.Int64] * 3 + [pl.String] * 3
    frame = pl.DataFrame(rows, schema=dict(zip(names, types, strict=True)), orient="row")

    def divided(name: str, by: float) -> pl.Series:
        # A true division in numpy: polars' own multiplies by the reciprocal (an ulp off).
        values = frame[name].cast(pl.Float64).to_numpy() / by
        return pl.Series(name, values, dtype=pl.Float64, nan_to_null=True)

    frame = frame.with_columns(
        divided("quantity_kw", 1000.0).alias("quantity_mw"),
        divided("min_quantity_kw", 1000.0).alias("min_quantity_mw"),
        divided("price_cents", 100.0).alias("price_eur_per_mw"),
        pl.col("submitted_at")
        .str.to_datetime("%Y-%m-%d %H:%M:%S%.f", time_unit="us")
        .dt.replace_time_zone("UTC"),
    ).select(BIDS.names())
    frame = frame.cast(BIDS)
    return frame, fetch_s


def time_book(store: Any, db: Path, auction_id: str, name: str) -> dict[str, Any]:
    """book_frame and load_archive on one auction, next to the raw baseline on the same rows."""
    from auction.store.bids import book_frame
    from auction.store.book import load_archive

    def ours() -> Any:
        with store.read() as conn:
            return book_frame(conn, auction_id)

    def archive() -> Any:
        with store.read() as conn:
            return load_archive(conn, auction_id)

    book_s, frame = _median_time(ours)
    archive_s, _ = _median_time(archive)
    fetches: list[float] = []

    def baseline() -> Any:
        result, fetch_s = raw_book(db, auction_id)
        fetches.append(fetch_s)
        return result

    base_s, base = _median_time(baseline)
    same = _same(frame.sort("bid_id"), base.sort("bid_id"))
    return {
        "book": name,
        "auction_id": auction_id,
        "bids": frame.height,
        "book_frame_s": book_s,
        "load_archive_s": archive_s,
        "baseline_s": base_s,
        "baseline_fetchall_s": statistics.median(fetches),
        "ratio": book_s / base_s if base_s > 0 else math.nan,
        "same_frame": same,
    }


def _same(ours: Any, base: Any) -> str:
    """Whether our frame and the baseline's hold the same values: "yes", "to 1e-12", "NO"."""
    from polars.testing import assert_frame_equal

    if ours.equals(base):
        return "yes"
    try:
        assert_frame_equal(ours, base, rel_tol=1e-12, abs_tol=0)
    except AssertionError:
        return "NO"
    return "to 1e-12"
