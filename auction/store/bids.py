"""Bids in the store: the current version of each live bid, and every version ever sent.

``bids`` holds what a clearing reads (one row per live bid); ``bid_versions`` keeps each
submission, amendment and withdrawal with who and when. Every query names the
organisation, so no path reads or writes another organisation's bids.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

import polars as pl
import sqlalchemy as sa
from polars._typing import PolarsDataType
from sqlalchemy.engine import Connection

from auction.bidding import BidRow
from auction.book import BIDS, UTC_TIME
from auction.errors import Conflict, NotFound
from auction.store.schema import bid_versions, bids
from auction.units import CENTS_PER_EUR, KW_PER_MW, from_units

_BOOK_COLUMNS = (
    "bid_id",
    "org_id",
    "product_id",
    "quantity_kw",
    "min_quantity_kw",
    "price_cents",
    "submitted_at",
    "exclusive_group",
    "linked_to",
)
_STORED_BID = pl.Schema(
    dict[str, PolarsDataType](
        {
            "bid_id": pl.String,
            "org_id": pl.String,
            "product_id": pl.String,
            "quantity_kw": pl.Int64,
            "min_quantity_kw": pl.Int64,
            "price_cents": pl.Int64,
            "submitted_at": UTC_TIME,
            "exclusive_group": pl.String,
            "linked_to": pl.String,
        }
    )
)


_ID_RACE = {"23505", "40P01"}  # unique_violation, deadlock_detected


class OwnLinks(Mapping[str, str | None]):
    """The organisation's live bids in the auction as bid id -> ``linked_to``, read from the
    store bid by bid as the checks ask, so a submission costs the same with 10 bids on the
    book as with 100,000."""

    def __init__(self, conn: Connection, auction_id: str, org_id: str) -> None:
        self._conn, self._auction_id, self._org_id = conn, auction_id, org_id
        self._known: dict[str, str | None] = {}
        self._missing: set[str] = set()

    def _where(self) -> list[sa.ColumnElement[bool]]:
        return [bids.c.auction_id == self._auction_id, bids.c.org_id == self._org_id]

    def __getitem__(self, bid_id: str) -> str | None:
        if bid_id in self._known:
            return self._known[bid_id]
        if bid_id not in self._missing:
            query = sa.select(bids.c.linked_to).where(*self._where(), bids.c.bid_id == bid_id)
            row = self._conn.execute(query).first()
            if row is not None:
                parent: str | None = row[0]
                self._known[bid_id] = parent
                return parent
            self._missing.add(bid_id)
        raise KeyError(bid_id)

    def __contains__(self, bid_id: object) -> bool:
        if not isinstance(bid_id, str):
            return False
        try:
            self[bid_id]
        except KeyError:
            return False
        return True

    def __iter__(self) -> Iterator[str]:
        query = sa.select(bids.c.bid_id).where(*self._where())
        return iter(list(self._conn.execute(query).scalars()))

    def __len__(self) -> int:
        query = sa.select(sa.func.count()).select_from(bids).where(*self._where())
        return int(self._conn.execute(query).scalar_one())


def children_of(conn: Connection, auction_id: str, org_id: str, bid_id: str) -> list[str]:
    """The organisation's live bids that link to ``bid_id``."""
    query = sa.select(bids.c.bid_id).where(
        bids.c.auction_id == auction_id, bids.c.org_id == org_id, bids.c.linked_to == bid_id
    )
    return sorted(conn.execute(query).scalars())


def used_ids(conn: Connection, auction_id: str, ids: Sequence[str]) -> set[str]:
    """Which of ``ids`` any bid of the auction ever had (withdrawn bids keep their id)."""
    query = (
        sa.select(bid_versions.c.bid_id)
        .distinct()
        .where(bid_versions.c.auction_id == auction_id, bid_versions.c.bid_id.in_(list(ids)))
    )
    return set(conn.execute(query).scalars())


def insert_bids(
    conn: Connection,
    auction_id: str,
    org_id: str,
    rows: Sequence[BidRow],
    user_id: str,
    now: datetime,
) -> list[dict[str, Any]]:
    """Store new bids (version 1); returns them as stored."""
    taken = used_ids(conn, auction_id, [r.bid_id for r in rows])
    if taken:
        # One answer whoever had the id (this organisation or another, live or withdrawn):
        # it tells nothing about other organisations' bids. Ids are single-use UUIDs, so
        # an honest client never meets another's.
        raise Conflict(
            "bid_id already used in this auction: "
            + ", ".join(sorted(taken))
            + "; bid ids are single-use: send a new one (a fresh UUID)",
            bid_ids=sorted(taken),
        )
    current = [
        {**asdict(r), "auction_id": auction_id, "org_id": org_id, "version": 1, "submitted_at": now}
        for r in rows
    ]
    versions = [
        {
            **asdict(r),
            "auction_id": auction_id,
            "org_id": org_id,
            "version": 1,
            "action": "submit",
            "at": now,
            "user_id": user_id,
        }
        for r in rows
    ]
    if rows:
        try:
            conn.execute(bids.insert(), current)
            conn.execute(bid_versions.insert(), versions)
        except sa.exc.DBAPIError as exc:
            # PostgreSQL: a request beside this one stored one of these ids after the
            # check above (a unique violation), or the two crossed (a deadlock).
            if getattr(exc.orig, "sqlstate", None) not in _ID_RACE:
                raise
            ids = ", ".join(r.bid_id for r in rows)
            raise Conflict(
                f"bid_id already used in this auction: one of {ids} was stored by another "
                "request at the same moment; bid ids are single-use: send new ones",
                bid_ids=sorted(r.bid_id for r in rows),
            ) from None
    return current


def get_bid(conn: Connection, auction_id: str, org_id: str, bid_id: str) -> dict[str, Any]:
    """One live bid of the organisation; NotFound for a missing one or another's."""
    row = (
        conn.execute(
            sa.select(bids).where(
                bids.c.auction_id == auction_id, bids.c.org_id == org_id, bids.c.bid_id == bid_id
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound("bid", bid_id)
    return dict(row)


def _check_version(bid: dict[str, Any], expected: int | None) -> None:
    if expected is not None and expected != bid["version"]:
        raise Conflict(
            f"bid {bid['bid_id']!r} is at version {bid['version']}, not {expected}; "
            "read it again and resend your change",
            version=bid["version"],
            precondition=True,
        )


def amend_bid(
    conn: Connection,
    auction_id: str,
    org_id: str,
    row: BidRow,
    expected_version: int | None,
    user_id: str,
    now: datetime,
) -> dict[str, Any]:
    """Replace a live bid by a new version. The amended bid takes its place in time
    priority anew: ``submitted_at`` becomes the time of the amendment."""
    old = get_bid(conn, auction_id, org_id, row.bid_id)
    _check_version(old, expected_version)
    version = old["version"] + 1
    fields = {**asdict(row), "version": version, "submitted_at": now}
    conn.execute(
        bids.update()
        .where(bids.c.auction_id == auction_id, bids.c.bid_id == row.bid_id)
        .values(fields)
    )
    conn.execute(
        bid_versions.insert().values(
            **asdict(row),
            auction_id=auction_id,
            org_id=org_id,
            version=version,
            action="amend",
            at=now,
            user_id=user_id,
        )
    )
    return {**old, **fields}


def withdraw_bid(
    conn: Connection,
    auction_id: str,
    org_id: str,
    bid_id: str,
    expected_version: int | None,
    user_id: str,
    now: datetime,
) -> None:
    """Withdraw a live bid; its versions stay, marked by a final ``withdraw`` version.

    A bid that others link to cannot be withdrawn alone: withdraw the children first.
    """
    old = get_bid(conn, auction_id, org_id, bid_id)
    _check_version(old, expected_version)
    linked = children_of(conn, auction_id, org_id, bid_id)
    if linked:
        raise Conflict(
            f"bid {bid_id!r} is the parent of {', '.join(linked)}; withdraw those first",
            children=linked,
        )
    conn.execute(bids.delete().where(bids.c.auction_id == auction_id, bids.c.bid_id == bid_id))
    keep = {
        k: old[k]
        for k in (
            "org_id",
            "product_id",
            "quantity_kw",
            "min_quantity_kw",
            "price_cents",
            "exclusive_group",
            "linked_to",
        )
    }
    conn.execute(
        bid_versions.insert().values(
            **keep,
            auction_id=auction_id,
            bid_id=bid_id,
            version=old["version"] + 1,
            action="withdraw",
            at=now,
            user_id=user_id,
        )
    )


def org_bids(
    conn: Connection, auction_id: str, org_id: str, *, limit: int | None = None, offset: int = 0
) -> list[dict[str, Any]]:
    """The organisation's live bids, oldest first; ``limit`` of them from ``offset``."""
    query = (
        sa.select(bids)
        .where(bids.c.auction_id == auction_id, bids.c.org_id == org_id)
        .order_by(bids.c.submitted_at, bids.c.bid_id)
        .limit(limit)
        .offset(offset)
    )
    return [dict(r) for r in conn.execute(query).mappings()]


def bid_history(
    conn: Connection, auction_id: str, org_id: str, bid_id: str
) -> list[dict[str, Any]]:
    query = (
        sa.select(bid_versions)
        .where(
            bid_versions.c.auction_id == auction_id,
            bid_versions.c.org_id == org_id,
            bid_versions.c.bid_id == bid_id,
        )
        .order_by(bid_versions.c.version)
    )
    rows = [dict(r) for r in conn.execute(query).mappings()]
    if not rows:
        raise NotFound("bid", bid_id)
    return rows


def bid_counts(conn: Connection, auction_id: str) -> dict[str, int]:
    """Live bids per organisation."""
    query = (
        sa.select(bids.c.org_id, sa.func.count())
        .where(bids.c.auction_id == auction_id)
        .group_by(bids.c.org_id)
    )
    return {org: int(n) for org, n in conn.execute(query)}


def org_bid_counts(conn: Connection, org_id: str, auction_ids: Sequence[str]) -> dict[str, int]:
    """The organisation's live bids per auction (one grouped query; absent means 0)."""
    query = (
        sa.select(bids.c.auction_id, sa.func.count())
        .where(bids.c.org_id == org_id, bids.c.auction_id.in_(list(auction_ids)))
        .group_by(bids.c.auction_id)
    )
    return {auction_id: int(n) for auction_id, n in conn.execute(query)}


def bid_quantities(conn: Connection, auction_id: str) -> pl.DataFrame:
    """bid_id and quantity_kw of every live bid of the auction."""
    query = sa.select(bids.c.bid_id, bids.c.quantity_kw).where(bids.c.auction_id == auction_id)
    return pl.DataFrame(
        conn.execute(query).all(),
        schema={"bid_id": pl.String, "quantity_kw": pl.Int64},
        orient="row",
    )


def book_frame(conn: Connection, auction_id: str) -> pl.DataFrame:
    """The auction's live bids with the ``BIDS`` schema (MW and EUR/MW, exact on their grids)."""
    query = sa.select(*[bids.c[name] for name in _BOOK_COLUMNS]).where(
        bids.c.auction_id == auction_id
    )
    frame = pl.DataFrame(conn.execute(query).all(), schema=_STORED_BID, orient="row")
    return frame.with_columns(
        from_units(frame["quantity_kw"], KW_PER_MW).alias("quantity_mw"),
        from_units(frame["min_quantity_kw"], KW_PER_MW).alias("min_quantity_mw"),
        from_units(frame["price_cents"], CENTS_PER_EUR).alias("price_eur_per_mw"),
    ).select(BIDS.names())
