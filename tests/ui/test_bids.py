"""One auction as a trader sees it: products, own bids, place, amend and withdraw a bid."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

from playwright.sync_api import Page, expect

from api.http.routes import auctions as api_auctions
from tests.ui.conftest import (
    NEXT_AUCTION,
    NOW,
    Guard,
    LiveServer,
    World,
    check_accessible,
    snapshot,
)
from tests.ui.trading import (
    UUID,
    bid_group,
    bid_row,
    form_bid_id,
    place,
    place_ok,
    second_tab,
    stored_bids,
    trader_call,
)

AUCTION_PAGE = f"/ui/auctions/{NEXT_AUCTION}"


def test_the_products_and_a_placed_bid_are_shown(
    trader: Page, server: LiveServer, world: World
) -> None:
    page = trader
    page.goto(AUCTION_PAGE)
    expect(page.get_by_role("heading", name=f"Auction {NEXT_AUCTION}", level=1)).to_be_visible()
    expect(page.get_by_text("The gate is open")).to_be_visible()
    expect(page.get_by_role("timer")).to_have_text(re.compile(r"^0[23]:\d\d:\d\d$"))

    auction = api_auctions.get_one(NEXT_AUCTION, trader_call(server, world))
    products = page.get_by_role("table", name=re.compile("^Products"))
    for product in auction.products:
        row = products.get_by_role("row").filter(
            has=page.get_by_role("rowheader", name=product.product_id, exact=True)
        )
        expect(row).to_contain_text(f"{product.reserve_price_eur_per_mw:.2f}")
    day = products.get_by_role("row").filter(
        has=page.get_by_role("rowheader", name="DAY-WS1-FCR", exact=True)
    )
    # The window in Berlin (the browser is in New York); wholesale 1 MW for 1 h and FCR 1 MW.
    window = "30 Nov 00:00 CET \u2013 01 Dec 00:00 CET"
    expect(day.get_by_role("cell")).to_have_text(
        [window, "1.00", "1.00", "1.00", "0.00", "0.00", "1.00", "1.00", "no limit", "304.00"]
    )

    before = stored_bids(server, world)
    bid_id = place_ok(page, "DAY-WS2", "2", "160.50")
    after = stored_bids(server, world)
    assert set(after) - set(before) == {bid_id}
    assert after[bid_id]["price_cents"] == 16050
    assert after[bid_id]["quantity_kw"] == 2000
    row = bid_row(page, bid_id)
    expect(row).to_contain_text("DAY-WS2")
    expect(row).to_contain_text("160.50")
    expect(row).to_contain_text("2.00")
    expect(page.get_by_role("status")).to_be_visible()
    # A new form, with a new bid id: the next bid is a new one.
    assert form_bid_id(page) != bid_id
    check_accessible(page)
    snapshot(page, "auction-bids")


def test_the_same_bid_form_sent_twice_places_one_bid(
    trader: Page, server: LiveServer, world: World
) -> None:
    page = trader
    page.goto(AUCTION_PAGE)
    form = page.get_by_role("form", name="Place a bid")
    form.get_by_label("Product").select_option("H12-16-WS2")
    form.get_by_label("Quantity (MW)").fill("0.3")
    form.get_by_label("Price (EUR/MW)").fill("21.00")
    fields = form.evaluate("f => Object.fromEntries(new FormData(f))")
    before = stored_bids(server, world)
    for _ in range(2):  # what a double click or a resent request sends
        answer = page.request.post(
            f"{AUCTION_PAGE}/bids",
            form=fields,
            headers={"Origin": server.url},
            max_redirects=0,
        )
        assert answer.status == 303
    after = stored_bids(server, world)
    assert set(after) - set(before) == {fields["bid_id"]}

    # The same form with other terms (sent again from a page kept in the history): refused,
    # and the form comes back with a new bid id and key, so that it can be sent.
    answer = page.request.post(
        f"{AUCTION_PAGE}/bids",
        form={**fields, "price_eur_per_mw": "22.00"},
        headers={"Origin": server.url},
        max_redirects=0,
    )
    assert answer.status == 422
    assert "was used with a different request" in answer.text()
    shown = re.search(f"This form's bid id is <code>({UUID.pattern})</code>", answer.text())
    assert shown is not None
    assert shown.group(1) != fields["bid_id"]
    assert stored_bids(server, world) == after


def test_a_bad_bid_shows_every_rule_beside_its_field_and_stores_nothing(
    trader: Page, server: LiveServer, world: World
) -> None:
    page = trader
    page.goto(AUCTION_PAGE)
    before = stored_bids(server, world)
    unknown = str(uuid.uuid4())
    place(page, "DAY-WS2", "0.5", "160.125", linked_to=unknown)

    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("The bid was refused. Nothing was changed.")
    expect(alert).to_be_focused()
    form = page.get_by_role("form", name="Place a bid")
    quantity = form.get_by_label("Quantity (MW)")
    expect(quantity).to_have_attribute("aria-invalid", "true")
    expect(quantity).to_have_value("0.5")  # what was typed is kept
    expect(quantity).to_have_accessible_description(
        re.compile("whole multiple of the product's increment_mw 1 MW")
    )
    expect(quantity).to_have_accessible_description(
        re.compile("at least the product's min_mw 1 MW")
    )
    price = form.get_by_label("Price (EUR/MW)")
    expect(price).to_have_attribute("aria-invalid", "true")
    expect(price).to_have_accessible_description(
        re.compile(r"at most two decimals \(whole cents\)")
    )
    parent = form.get_by_label("Linked to bid (its bid id, optional)")
    expect(parent).to_have_attribute("aria-invalid", "true")
    expect(parent).to_have_accessible_description(
        re.compile(f"linked_to names no bid of your organisation in this auction: '{unknown}'")
    )
    expect(form.get_by_label("Product")).to_have_value("DAY-WS2")
    expect(form.get_by_label("Exclusive group (optional)")).not_to_have_attribute(
        "aria-invalid", "true"
    )
    for rule in ("increment_mw", "min_mw", "whole cents", "linked_to"):
        expect(alert).to_contain_text(rule)
    check_accessible(page)

    assert stored_bids(server, world) == before
    page.goto(AUCTION_PAGE)
    expect(page.get_by_role("alert")).to_have_count(0)
    expect(page.get_by_role("row").filter(has_text=re.compile(r"160\.1[23]"))).to_have_count(0)


def test_a_bid_is_amended_then_withdrawn(trader: Page, server: LiveServer, world: World) -> None:
    page = trader
    page.goto(AUCTION_PAGE)
    bid_id = place_ok(page, "DAY-WS1-FCR", "3", "310.00")

    group = bid_group(page, bid_id)
    amend = group.get_by_role("form", name=f"Amend bid {bid_id}")
    expect(amend.get_by_label("Price (EUR/MW)")).to_have_value("310")
    amend.get_by_label("Price (EUR/MW)").fill("325.40")
    amend.get_by_label("Exclusive group (optional)").fill("fcr-day")
    amend.get_by_role("button", name="Amend bid").click()
    expect(page.get_by_role("status")).to_contain_text("Your bid was amended")
    stored = stored_bids(server, world)[bid_id]
    assert (stored["price_cents"], stored["exclusive_group"], stored["version"]) == (
        32540,
        "fcr-day",
        2,
    )
    row = bid_row(page, bid_id)
    expect(row).to_contain_text("325.40")
    expect(row).to_contain_text("fcr-day")
    row.get_by_text(f"2 versions of bid {bid_id}").click()
    history = page.get_by_role("table", name=f"Versions of bid {bid_id}")
    expect(history.get_by_role("row")).to_have_count(3)
    expect(history.get_by_role("row").nth(1)).to_contain_text("submit")
    expect(history.get_by_role("row").nth(1)).to_contain_text("310.00")
    expect(history.get_by_role("row").nth(2)).to_contain_text("amend")
    expect(history.get_by_role("row").nth(2)).to_contain_text("325.40")
    expect(history.get_by_role("row").nth(2)).to_contain_text("you")

    group = bid_group(page, bid_id)
    group.get_by_role("button", name="Withdraw bid").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text(f"Withdraw bid {bid_id} (DAY-WS1-FCR, 3.00 MW at 325.40")
    check_accessible(page)
    dialog.get_by_role("button", name="Withdraw bid").click()
    expect(page.get_by_role("status")).to_contain_text("Your bid was withdrawn")
    assert bid_id not in stored_bids(server, world)
    expect(bid_row(page, bid_id)).to_have_count(0)


def test_a_stale_amend_is_refused(
    trader: Page, server: LiveServer, world: World, guard: Guard
) -> None:
    guard.allow_status(412)
    first = trader
    first.goto(AUCTION_PAGE)
    bid_id = place_ok(first, "H12-16-WS2", "1.5", "19.00")
    other = second_tab(first, guard)
    other.goto(AUCTION_PAGE)

    amend = bid_group(first, bid_id).get_by_role("form", name=f"Amend bid {bid_id}")
    amend.get_by_label("Price (EUR/MW)").fill("19.50")
    amend.get_by_role("button", name="Amend bid").click()
    expect(first.get_by_role("status")).to_contain_text("Your bid was amended")

    # The second tab still shows version 1: its amendment would undo the first one's.
    amend = bid_group(other, bid_id).get_by_role("form", name=f"Amend bid {bid_id}")
    amend.get_by_label("Quantity (MW)").fill("2.5")
    amend.get_by_role("button", name="Amend bid").click()
    alert = other.get_by_role("alert")
    expect(alert).to_contain_text("The bid has changed since you read it. Nothing was changed.")
    expect(alert).to_contain_text(f"bid '{bid_id}' is at version 2, not 1")
    amend = other.get_by_role("form", name=f"Amend bid {bid_id}")
    expect(amend.get_by_label("Quantity (MW)")).to_have_value("2.5")  # kept, to send again
    stored = stored_bids(server, world)[bid_id]
    assert (stored["price_cents"], stored["quantity_kw"], stored["version"]) == (1950, 1500, 2)
    expect(bid_row(other, bid_id)).to_contain_text("19.50")  # the page shows the bid as it is
    check_accessible(other)
    other.close()


def test_after_the_gate_there_is_no_bid_form_and_a_late_bid_is_refused(
    trader: Page, server: LiveServer, world: World
) -> None:
    page = trader
    gate_close = api_auctions.get_one(NEXT_AUCTION, trader_call(server, world)).gate_close
    assert gate_close > NOW
    page.goto(AUCTION_PAGE)
    existing = place_ok(page, "DAY-WS2", "1", "155.00")
    before = stored_bids(server, world)
    form = page.get_by_role("form", name="Place a bid")
    form.get_by_label("Product").select_option("DAY-WS2")
    form.get_by_label("Quantity (MW)").fill("1")
    form.get_by_label("Price (EUR/MW)").fill("170.00")
    server.clock.now = gate_close + timedelta(minutes=1)
    try:
        form.get_by_role("button", name="Place bid").click()
        alert = page.get_by_role("alert")
        expect(alert).to_contain_text("Nothing was changed.")
        expect(alert).to_contain_text("the gate closed at 2026-11-28T15:00:00+01:00")
        expect(page.get_by_text("The gate closed at 28 Nov 2026 15:00 CET")).to_be_visible()
        expect(page.get_by_role("form", name="Place a bid")).to_have_count(0)
        expect(page.get_by_role("button", name="Place bid")).to_have_count(0)
        expect(page.get_by_role("button", name="Amend bid")).to_have_count(0)
        expect(page.get_by_role("button", name="Withdraw bid")).to_have_count(0)
        expect(page.get_by_text("Bids are no longer taken: gate closure was at")).to_be_visible()
        assert stored_bids(server, world) == before
        page.goto(AUCTION_PAGE)
        expect(page.get_by_role("timer")).to_have_count(0)
        expect(bid_row(page, existing)).to_contain_text("155.00")  # still listed, read-only
        expect(page.get_by_role("form")).to_have_count(0)  # no named form: nothing to send
        check_accessible(page)
    finally:
        server.clock.now = NOW
