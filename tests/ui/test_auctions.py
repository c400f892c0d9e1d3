"""The trader's auction list: status, own status, gate times in Berlin, a countdown."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from api.http.routes import auctions as api_auctions
from api.http.schemas.auctions import AuctionPublic
from tests.ui.conftest import (
    NEXT_AUCTION,
    Guard,
    LiveServer,
    World,
    check_accessible,
    snapshot,
)
from tests.ui.trading import trader_call


def _seen(server: LiveServer, world: World) -> dict[str, AuctionPublic]:
    """The auctions as the API shows them to the trader, now."""
    call = trader_call(server, world)
    return {a.auction_id: a for a in api_auctions.get_auctions(call).items}


def test_the_list_is_the_traders_home_with_a_countdown_and_own_status(
    trader: Page, server: LiveServer, world: World
) -> None:
    page = trader
    page.goto("/ui/")
    expect(page).to_have_url("/ui/auctions")
    expect(page.get_by_role("heading", name="Auctions", level=1)).to_be_visible()
    expect(page.get_by_role("link", name="Auctions", exact=True)).to_have_attribute(
        "aria-current", "page"
    )
    seen = _seen(server, world)
    table = page.get_by_role("table", name=re.compile("^Auctions"))
    assert table.get_by_role("row").count() == len(seen) + 1  # the header row

    nxt = seen[NEXT_AUCTION]
    row = table.get_by_role("row").filter(
        has=page.get_by_role("link", name=NEXT_AUCTION, exact=True)
    )
    expect(row).to_contain_text("Open")
    expect(row).to_contain_text(str(nxt.my_status))
    expect(row).to_contain_text("28 Nov 15:00 CET")  # gate close, Berlin (not New York)
    timer = row.get_by_role("timer")
    # Three hours from the server's NOW, ticking down in the browser from the server's time.
    expect(timer).to_have_attribute("data-countdown", "2026-11-28T14:00:00Z")
    expect(timer).to_have_text(re.compile(r"^0[23]:\d\d:\d\d$"))
    for product in nxt.products:
        expect(row).to_contain_text(product.product_id)

    sample = seen[world.sample_auction]
    assert sample.my_status == "WON"  # the demo's dispatching trader won capacity
    row = table.get_by_role("row").filter(
        has=page.get_by_role("link", name=world.sample_auction, exact=True)
    )
    expect(row).to_contain_text("Published")
    expect(row).to_contain_text(str(sample.my_status))
    expect(row).to_contain_text("closed")
    expect(row.get_by_role("timer")).to_have_count(0)
    expect(row.get_by_role("link", name=f"Results of {world.sample_auction}")).to_be_visible()

    check_accessible(page)
    snapshot(page, "auctions")

    page.get_by_role("link", name=NEXT_AUCTION, exact=True).click()
    expect(page.get_by_role("heading", name=f"Auction {NEXT_AUCTION}", level=1)).to_be_visible()


def test_operators_have_their_own_auction_pages(page: Page, world: World, guard: Guard) -> None:
    guard.allow_status(403)
    page.goto("/ui/login?next=/ui/auctions")
    page.get_by_label("Email").fill(world.operator)
    page.get_by_label("Password").fill(world.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url("/ui/auctions")
    expect(page.get_by_role("alert")).to_contain_text("this page is for traders")
