"""The results of an auction as a trader sees them, once published; before, when they are due."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from api.http.routes import auctions as api_auctions
from api.http.routes import bids as api_bids
from api.web.render import number
from tests.ui.conftest import (
    DISPATCHER,
    NEXT_AUCTION,
    LiveServer,
    World,
    check_accessible,
    painted_pixels,
    snapshot,
)
from tests.ui.trading import trader_call


def test_the_results_of_the_sample_auction(trader: Page, server: LiveServer, world: World) -> None:
    page = trader
    call = trader_call(server, world)
    auction_id = world.sample_auction
    awards = api_bids.get_awards(world.org_ids[DISPATCHER], auction_id, call).items
    results = api_auctions.get_results(auction_id, call)
    page.goto(f"/ui/auctions/{auction_id}/results")
    expect(
        page.get_by_role("heading", name=f"Results of auction {auction_id}", level=1)
    ).to_be_visible()

    # Own awards: MW, the price paid per MW and the total, bid by bid.
    won = [a for a in awards if a.awarded_mw > 0]
    assert won
    table = page.get_by_role("table", name=re.compile("^Your awards"))
    expect(table.get_by_role("row")).to_have_count(len(won) + 2)  # with header and total
    for award in (won[0], won[-1]):
        row = table.get_by_role("row").filter(has=page.get_by_role("rowheader", name=award.bid_id))
        expect(row).to_contain_text(award.product_id)
        expect(row).to_contain_text(f"{award.awarded_mw:.2f}")
        expect(row).to_contain_text(f"{award.price_eur_per_mw:.2f}")
        expect(row).to_contain_text(number(award.payment_eur))
    total = table.get_by_role("row", name=re.compile("^Total of your awards"))
    expect(total).to_contain_text(number(sum(a.payment_eur for a in won)))

    # Bids that lost: the price each would have needed, or that price was not the reason.
    losing = [a for a in awards if a.status != "accepted"]
    table = page.get_by_role("table", name=re.compile("^Your bids that got less"))
    expect(table.get_by_role("row")).to_have_count(len(losing) + 1)
    priced = next(a for a in losing if a.price_needed_eur_per_mw is not None)
    row = table.get_by_role("row").filter(has=page.get_by_role("rowheader", name=priced.bid_id))
    assert priced.price_needed_eur_per_mw is not None
    expect(row).to_contain_text(f"{priced.price_needed_eur_per_mw:.2f}")
    other = next(a for a in losing if a.price_needed_eur_per_mw is None)
    row = table.get_by_role("row").filter(has=page.get_by_role("rowheader", name=other.bid_id))
    expect(row).to_contain_text("price was not the reason")

    # Clearing prices: a chart that is drawn, and the same numbers in a table.
    chart = page.get_by_role("img", name=re.compile("^Clearing prices per product"))
    expect(chart).to_be_visible()
    assert painted_pixels(chart) > 1000
    prices = page.get_by_role("table", name="Clearing prices and volumes per product")
    for product in results.products:
        row = prices.get_by_role("row").filter(
            has=page.get_by_role("rowheader", name=product.product_id, exact=True)
        )
        for value in (
            product.lowest_accepted_eur_per_mw,
            product.average_accepted_eur_per_mw,
            product.highest_accepted_eur_per_mw,
        ):
            expect(row).to_contain_text(number(value))

    # The anonymous result list of a product: every bid, best price first, no organisation.
    product = max(results.products, key=lambda p: len(p.bids))
    page.get_by_text(re.compile(f"^{product.product_id}: {len(product.bids)} bids")).click()
    listing = page.get_by_role("table", name=f"Result list of {product.product_id}")
    rows = listing.get_by_role("row")
    expect(rows).to_have_count(len(product.bids) + 1)
    expect(rows.nth(1)).to_contain_text(f"{product.bids[0].price_eur_per_mw:.2f}")
    expect(listing).not_to_contain_text(DISPATCHER)

    check_accessible(page)
    snapshot(page, "auction-results")


def test_results_before_publication_say_when_they_are_due(
    trader: Page, server: LiveServer, world: World
) -> None:
    page = trader
    auction = api_auctions.get_one(NEXT_AUCTION, trader_call(server, world))
    assert auction.status == "open"
    page.goto(f"/ui/auctions/{NEXT_AUCTION}/results")
    expect(page.get_by_text("The results are not published yet")).to_contain_text(
        "due at 28 Nov 2026 17:00 CET"
    )
    expect(page.get_by_role("table")).to_have_count(0)
    expect(page.get_by_role("img")).to_have_count(0)
    check_accessible(page)
