"""Helpers of the trader's auction tests: what the store says, read as the API reads it."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Page, expect

from api.http.deps import Call
from api.http.settings import Settings
from auction.store.accounts import user_by_email
from auction.store.bids import org_bids
from tests.ui.conftest import DISPATCHER, NEXT_AUCTION, SECRET, Guard, LiveServer, World

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def trader_call(server: LiveServer, world: World) -> Call:
    """The dispatching trader's API call, at the server's time."""
    with server.store.read() as conn:
        user = user_by_email(conn, world.dispatcher)
    assert user is not None
    settings = Settings(database_url="sqlite://", secret_key=SECRET)
    return Call(server.store, settings, server.clock.now, server.clock.now, user)


def stored_bids(
    server: LiveServer, world: World, auction_id: str = NEXT_AUCTION
) -> dict[str, dict[str, Any]]:
    """The trader's organisation's live bids in the auction, by bid id."""
    with server.store.read() as conn:
        rows = org_bids(conn, auction_id, world.org_ids[DISPATCHER])
    return {row["bid_id"]: row for row in rows}


def form_bid_id(page: Page) -> str:
    """The bid id the bid form was made with (the page prints it)."""
    text = page.get_by_text(re.compile("^This form's bid id is")).inner_text()
    found = UUID.search(text)
    assert found is not None, text
    return found.group(0)


def place(page: Page, product: str, quantity: str, price: str, **optional: str) -> str:
    """Fill the bid form and send it; returns the form's bid id."""
    form = page.get_by_role("form", name="Place a bid")
    bid_id = form_bid_id(page)
    form.get_by_label("Product").select_option(product)
    form.get_by_label("Quantity (MW)").fill(quantity)
    form.get_by_label("Price (EUR/MW)").fill(price)
    labels = {
        "min_quantity_mw": "Minimum quantity (MW, optional)",
        "exclusive_group": "Exclusive group (optional)",
        "linked_to": "Linked to bid (its bid id, optional)",
    }
    for name, value in optional.items():
        form.get_by_label(labels[name]).fill(value)
    form.get_by_role("button", name="Place bid").click()
    return bid_id


def place_ok(page: Page, product: str, quantity: str, price: str) -> str:
    bid_id = place(page, product, quantity, price)
    expect(page.get_by_role("status")).to_have_text("Your bid was placed.")
    return bid_id


def second_tab(page: Page, guard: Guard) -> Page:
    """Another tab of the same browser (same session), guarded like the first."""
    tab = page.context.new_page()
    tab.route("**/*", guard.route)
    tab.on("console", guard.console)
    tab.on("pageerror", lambda exc: guard.errors.append(f"page error: {exc}"))
    return tab


def bid_row(page: Page, bid_id: str) -> Any:
    """The bid's row in the table of the organisation's bids."""
    table = page.get_by_role("table", name=re.compile("^Your bids in"))
    return table.get_by_role("row").filter(has=page.get_by_role("rowheader", name=bid_id))


def bid_group(page: Page, bid_id: str) -> Any:
    """The amend form and withdraw button of one bid, its <details> opened."""
    page.get_by_text(re.compile(f"^Bid {bid_id}:")).click()
    return page.get_by_role("group", name=f"Bid {bid_id}")
