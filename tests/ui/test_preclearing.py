"""The pre-clearing report of an auction whose gate has closed, in the operator's browser:
the book per product against the fleet, and the plausibility warnings."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from decimal import Decimal

import polars as pl
from playwright.sync_api import Page, expect

from api import services
from api.web.render import number
from auction.bidding import BidIn
from auction.plausibility import book_by_product, product_capacity_mw, warnings
from auction.store.accounts import user_by_email
from auction.store.book import load_archive
from tests.ui.conftest import NOW, LiveServer, World, check_accessible, snapshot

AFTER_GATE = NOW + timedelta(hours=4)  # 16:00 CET: the next auction's gate closed at 15:00
RULES = {
    "price_outlier": "Price outlier",
    "quantity_above_fleet": "Quantity above what the fleet can carry",
}
# (product, MW, EUR/MW) per bidder: one price far above its product's median, one quantity
# more than the fleet can carry.
BIDS = [
    ("DAY-FCR", "5", "300"),
    ("DAY-FCR", "4", "320"),
    ("DAY-FCR", "3", "310"),
    ("DAY-FCR", "2", "5000"),
    ("H20-24-WS2", "400", "30"),
    ("H20-24-WS2", "2", "35.5"),
]


def _bid(world: World, server: LiveServer) -> None:
    """The bids above into the next auction, while its gate is open, from three traders."""
    traders = sorted(world.traders)[:3]
    with server.store.write() as conn:
        for n, (product_id, mw, price) in enumerate(BIDS):
            name = traders[n % len(traders)]
            user = user_by_email(conn, world.traders[name])
            assert user is not None
            bid = BidIn(str(uuid.uuid4()), product_id, Decimal(mw), None, Decimal(price))
            services.auctions.submit_bids(
                conn,
                world.next_auction,
                world.org_ids[name],
                [bid],
                batch=False,
                user_id=user.user_id,
                now=NOW,
            )


def test_the_book_grows_while_the_gate_is_open(
    operator: Page, server: LiveServer, world: World
) -> None:
    server.clock.now = NOW
    operator.goto(f"/ui/operator/auctions/{world.next_auction}")
    expect(operator.get_by_text("The book is empty: no bids yet.")).to_be_visible()
    _bid(world, server)
    operator.reload()
    expect(operator.get_by_text(f"{len(BIDS)} bids in the book so far.")).to_be_visible()


def test_the_pre_clearing_report_of_a_closed_auction(
    operator: Page, server: LiveServer, world: World
) -> None:
    server.clock.now = AFTER_GATE
    with server.store.read() as conn:
        _record, archive = load_archive(conn, world.next_auction)
    book = book_by_product(archive.bids).join(product_capacity_mw(archive), on="product_id")
    expected = warnings(archive)
    assert set(expected["kind"]) == set(RULES)
    names = {org_id: name for name, org_id in world.org_ids.items()}

    operator.goto(f"/ui/operator/auctions/{world.next_auction}")
    # Its gate has passed: it reads as closed, and clearing is the next step.
    expect(operator.get_by_role("definition").first).to_have_text("closed")
    expect(operator.get_by_role("button", name="Clear", exact=True)).to_be_visible()
    expect(operator.get_by_role("button", name="Close the gate")).to_have_count(0)
    expect(operator.get_by_text(f"{len(BIDS)} bids in the book.")).to_be_visible()

    table = operator.get_by_role("table", name="The book per product")
    expect(table.get_by_role("row")).to_have_count(book.height + 1)
    for row in book.iter_rows(named=True):
        cells = table.get_by_role("row", name=re.compile(f"^{row['product_id']} ")).get_by_role(
            "cell"
        )
        expect(cells.nth(0)).to_have_text(str(row["bids"]))
        expect(cells.nth(1)).to_have_text(str(row["organisations"]))
        expect(cells.nth(2)).to_contain_text(number(row["offered_mw"], 3))
        expect(cells.nth(3)).to_have_text(number(row["capacity_mw"], 3))
        expect(cells.nth(4)).to_have_text(number(row["lowest_price"]))
        expect(cells.nth(6)).to_have_text(number(row["highest_price"]))
        if row["offered_mw"] > row["capacity_mw"]:
            expect(cells.nth(2)).to_contain_text("(more than available)")

    listed = operator.get_by_role("table", name="Plausibility warnings")
    expect(listed.get_by_role("row")).to_have_count(expected.height + 1)
    for n, warning in enumerate(expected.iter_rows(named=True), start=1):
        row = listed.get_by_role("row").nth(n)
        expect(row.get_by_role("rowheader")).to_have_text(RULES[warning["kind"]])
        cells = row.get_by_role("cell")
        expect(cells.nth(0)).to_have_text(warning["bid_id"])
        expect(cells.nth(1)).to_have_text(names[warning["org_id"]])
        expect(cells.nth(2)).to_have_text(warning["product_id"])
        expect(cells.nth(3)).to_have_text(warning["message"])
    outlier = expected.filter(pl.col("kind") == "price_outlier").row(0, named=True)
    assert "5000" in outlier["message"]
    check_accessible(operator)
    snapshot(operator, "preclearing")
