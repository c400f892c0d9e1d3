"""Ancillary bids on a virtual asset's reserve blocks: the bids with their status, submit
one, refuse a bad one, withdraw one, in the browser."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from api import services
from api.web.pages.dispatch_ancillary import STATUSES
from api.web.render import number
from dispatch.ancillary.products import GateRules
from tests.ui.conftest import (
    DISPATCHER,
    NOW,
    LiveServer,
    World,
    check_accessible,
    sign_in,
    snapshot,
)

GATES = GateRules()  # the test server's gates: the defaults


def _reserve_va(server: LiveServer, org_id: str, with_bids: bool) -> dict[str, object]:
    """The organisation's first virtual asset with a reserve block (and bids, if asked)."""
    for va in services.dispatch.virtual_assets(server.store, org_id, NOW):
        if not any(b["market"] != "wholesale" for b in va["blocks"]):
            continue
        bids = services.ancillary.bids(server.store, org_id, va["virtual_asset_id"], GATES)
        if bool(bids) is with_bids:
            return va
    raise AssertionError("no virtual asset with a reserve block")


def test_the_tsos_results_are_shown_per_bid(page: Page, server: LiveServer, world: World) -> None:
    """The demo offered reserve for some traders and played the TSO: statuses as stored."""
    server.clock.now = NOW
    name = next(
        n
        for n, org_id in world.org_ids.items()
        if n != "operator"
        and any(
            services.ancillary.bids(server.store, org_id, va["virtual_asset_id"], GATES)
            for va in services.dispatch.virtual_assets(server.store, org_id, NOW)
        )
    )
    org_id = world.org_ids[name]
    va = _reserve_va(server, org_id, with_bids=True)
    va_id = str(va["virtual_asset_id"])
    sign_in(page, world.traders[name], f"/ui/dispatch/{va_id}")
    page.get_by_role("link", name=re.compile(r"^Ancillary bids on the reserve blocks")).click()
    expect(page).to_have_url(f"/ui/dispatch/{va_id}/ancillary")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Ancillary bids")
    table = page.get_by_role("table", name=re.compile(r"^Ancillary bids on"))
    views = services.ancillary.bids(server.store, org_id, va_id, GATES)
    expect(table.get_by_role("row")).to_have_count(len(views) + 1)
    for view in views:
        name = view.bid.product_code.split("_", 1)[1]
        row = table.get_by_role("row", name=re.compile(rf"^{name} "))
        expect(row).to_contain_text(STATUSES[view.bid.status])
        expect(row).to_contain_text(number(view.bid.offered_kw, 0))
        if view.bid.accepted_kw:
            expect(row).to_contain_text(number(view.bid.accepted_kw, 0))
        expect(row).to_contain_text(number(view.available_kw, 0))
        # Sent to the TSO: no longer to withdraw.
        expect(row.get_by_role("button")).to_have_count(0)
    check_accessible(page)


def test_a_bid_is_submitted_refused_when_bad_and_withdrawn(
    page: Page, server: LiveServer, world: World
) -> None:
    server.clock.now = NOW
    org_id = world.org_ids[DISPATCHER]
    # D-1 12:00: the capacity gates have closed; aFRR energy quarter-hours are still open.
    va, products = next(
        (va, products)
        for va in services.dispatch.virtual_assets(server.store, org_id, NOW)
        if (
            products := services.ancillary.open_products(
                server.store, org_id, va["virtual_asset_id"], NOW, GATES
            )
        )
    )
    va_id = str(va["virtual_asset_id"])
    assert services.ancillary.bids(server.store, org_id, va_id, GATES) == []
    assert all(p.gate_closure > NOW for p in products)
    product = products[len(products) // 2]
    block = next(
        b
        for b in va["blocks"]
        if b["market"] == product.block_market  # type: ignore[attr-defined]
    )
    offer = 1000
    sign_in(page, world.dispatcher, f"/ui/dispatch/{va_id}/ancillary")
    expect(page.get_by_text("No ancillary bid on this virtual asset yet.")).to_be_visible()
    expect(page.get_by_role("table", name=re.compile(r"^Reserve blocks"))).to_contain_text(
        number(block["power_kw"], 0)
    )

    # A bad one first: half a MW. Refused beside its field; nothing stored.
    page.get_by_label(re.compile(r"^Product")).select_option(value=product.code)
    page.get_by_label(re.compile(r"^Offered capacity kW")).fill("1500")
    price = "95.00" if product.market == "afrr_energy" else "9.50"
    price_label = r"^Energy price" if product.market == "afrr_energy" else r"^Capacity price"
    page.get_by_label(re.compile(price_label)).fill(price)
    page.get_by_role("button", name="Submit bid").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Nothing was changed")
    expect(alert).to_contain_text("whole MW")
    expect(alert).to_be_focused()
    offered = page.get_by_label(re.compile(r"^Offered capacity kW"))
    expect(offered).to_have_attribute("aria-invalid", "true")
    expect(offered).to_have_value("1500")
    expect(page.get_by_label(re.compile(r"^Product"))).to_have_value(product.code)
    assert services.ancillary.bids(server.store, org_id, va_id, GATES) == []
    check_accessible(page)

    # Then a good one.
    offered.fill(str(offer))
    page.get_by_role("button", name="Submit bid").click()
    expect(page.get_by_role("status")).to_contain_text("Bid submitted")
    [view] = services.ancillary.bids(server.store, org_id, va_id, GATES)
    assert (view.bid.product_code, view.bid.status, view.bid.offered_kw) == (
        product.code,
        "submitted",
        offer,
    )
    row = page.get_by_role("row", name=re.compile(rf"^{product.name} "))
    expect(row).to_contain_text("Submitted")
    expect(row).to_contain_text(number(offer, 0))
    expect(row).to_contain_text(price)

    # And a second product, to withdraw.
    second = products[len(products) // 2 + 1]
    page.get_by_label(re.compile(r"^Product")).select_option(value=second.code)
    page.get_by_label(re.compile(r"^Offered capacity kW")).fill(str(offer))
    page.get_by_label(re.compile(price_label)).fill(price)
    page.get_by_role("button", name="Submit bid").click()
    expect(page.get_by_role("status")).to_contain_text("Bid submitted")
    page.get_by_role("button", name=f"Withdraw {second.name}").click()
    expect(page.get_by_role("status")).to_contain_text("Bid withdrawn")
    withdrawn = page.get_by_role("row", name=re.compile(rf"^{second.name} "))
    expect(withdrawn).to_contain_text("Withdrawn")
    expect(withdrawn.get_by_role("button")).to_have_count(0)
    statuses = {
        v.bid.product_code: v.bid.status
        for v in services.ancillary.bids(server.store, org_id, va_id, GATES)
    }
    assert statuses == {product.code: "submitted", second.code: "withdrawn"}
    check_accessible(page)
    snapshot(page, "ancillary-bids")
