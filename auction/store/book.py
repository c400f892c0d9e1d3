"""The bid book of a stored auction as an ``Archive`` of frames, ready for the clearing."""

from __future__ import annotations

import polars as pl
from sqlalchemy.engine import Connection

from auction.model import Archive
from auction.store.auctions import AuctionRecord, allocation_frame, get_auction, product_frame
from auction.store.bids import book_frame
from auction.store.fleet import availability_frame, fleet_frame
from auction.timegrid import day_bounds


def load_archive(conn: Connection, auction_id: str) -> tuple[AuctionRecord, Archive]:
    """The auction with today's fleet, the outages of its delivery day and its live bids."""
    record = get_auction(conn, auction_id)
    config = record.config
    start, end = day_bounds(config.delivery_day, config.time_zone)
    fleet = fleet_frame(conn)
    # Outages of assets that have left the fleet since do not concern this clearing.
    availability = availability_frame(conn, start, end).filter(
        pl.col("asset_id").is_in(fleet["asset_id"].implode())
    )
    archive = Archive(
        config=config,
        fleet=fleet,
        availability=availability,
        products=product_frame(conn, auction_id),
        bids=book_frame(conn, auction_id),
        allocations=allocation_frame(conn, auction_id),
    )
    return record, archive
