"""Dispatch → Upcoming / Active / Past: the trader's virtual assets, in the browser."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from api import services
from api.web.pages.dispatch import MARKETS, gate_text
from api.web.render import BERLIN, number
from auction.store.fleet import fleet_frame
from tests.ui.conftest import (
    DISPATCHER,
    NOW,
    LiveServer,
    World,
    check_accessible,
    sign_in,
    snapshot,
)

DASH = "\u2013"  # the en dash of a time span, as in 14:00-15:00
# 10:00 CET on the delivery day: the whole-day virtual assets deliver, the night's are over.
DELIVERING = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)


@pytest.fixture
def trader(page: Page, world: World) -> Page:
    """The dispatching trader (baltic-power-desk), signed in onto Dispatch."""
    sign_in(page, world.dispatcher, "/ui/dispatch")
    return page


def test_upcoming_lists_the_virtual_assets_with_blocks_and_gate_closure(
    trader: Page, server: LiveServer, world: World
) -> None:
    server.clock.now = NOW
    org_id = world.org_ids[DISPATCHER]
    vas = services.dispatch.virtual_assets(server.store, org_id, NOW, status="upcoming")
    rebacked = services.dispatch.rebacked_blocks(
        server.store, [b["block_id"] for va in vas for b in va["blocks"]]
    )
    assert vas
    assert rebacked

    nav = trader.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Dispatch")).to_have_attribute("aria-current", "page")
    tabs = trader.get_by_role("navigation", name="Dispatch status")
    expect(tabs.get_by_role("link", name=re.compile(r"^Upcoming"))).to_have_attribute(
        "aria-current", "page"
    )
    expect(trader.get_by_role("heading", name="Upcoming", level=2)).to_be_visible()
    table = trader.get_by_role("table", name=re.compile(r"^Upcoming virtual assets"))
    rows = table.get_by_role("row")
    expect(rows).to_have_count(len(vas) + 1)  # and the header row
    texts = rows.all_inner_texts()[1:]
    for va, text in zip(vas, texts, strict=True):
        assert f"{va['product_id']} · {va['virtual_asset_id'][:8]}" in text
        local = va["start"].astimezone(BERLIN)  # Berlin, not the browser's New York
        assert f"{local:%a %d %b %Y}, {local:%H:%M}" in text
        assert number(va["power_kw"], 0) in text
        for block in va["blocks"]:
            assert f"{MARKETS[block['market']]} {number(block['power_kw'], 0)} kW" in text
        wholesale = [b for b in va["blocks"] if b["market"] == "wholesale"]
        if wholesale:
            assert gate_text(wholesale[0]["gate_closure_s"]) in text
        else:
            assert "reserve only" in text
        touched = any(b["block_id"] in rebacked for b in va["blocks"])
        assert ("Re-backed" in text) is touched, text

    check_accessible(trader)
    snapshot(trader, "dispatch-upcoming")

    first = vas[0]
    name = f"{first['product_id']} · {first['virtual_asset_id'][:8]}"
    trader.get_by_role("link", name=name).click()
    expect(trader).to_have_url(f"/ui/dispatch/{first['virtual_asset_id']}")
    expect(trader.get_by_role("heading", level=1)).to_contain_text(first["product_id"])


def test_active_and_past_follow_the_servers_clock(
    page: Page, server: LiveServer, world: World
) -> None:
    org_id = world.org_ids[DISPATCHER]
    trader = page
    try:
        server.clock.now = NOW
        sign_in(trader, world.dispatcher, "/ui/dispatch?status=active")
        expect(trader.get_by_role("heading", name="Active", level=2)).to_be_visible()
        expect(trader.get_by_text("No virtual asset is delivering now.")).to_be_visible()

        server.clock.now = DELIVERING  # a day later: the session of NOW has expired
        sign_in(trader, world.dispatcher, "/ui/dispatch")
        for status, heading in (("active", "Active"), ("past", "Past")):
            vas = services.dispatch.virtual_assets(server.store, org_id, DELIVERING, status=status)
            assert vas
            tabs = trader.get_by_role("navigation", name="Dispatch status")
            tabs.get_by_role("link", name=re.compile(rf"^{heading}")).click()
            expect(trader).to_have_url(f"/ui/dispatch?status={status}")
            link = tabs.get_by_role("link", name=re.compile(rf"^{heading}"))
            expect(link).to_have_attribute("aria-current", "page")
            expect(link).to_contain_text(f"({len(vas)})")
            expect(trader.get_by_role("heading", name=heading, level=2)).to_be_visible()
            table = trader.get_by_role("table", name=re.compile(rf"^{heading} virtual assets"))
            expect(table.get_by_role("row")).to_have_count(len(vas) + 1)
            for va in vas[:3]:
                name = f"{va['product_id']} · {va['virtual_asset_id'][:8]}"
                expect(table.get_by_role("link", name=name)).to_be_visible()
        check_accessible(trader)
    finally:
        server.clock.now = NOW


def test_an_outage_the_fleet_cannot_carry_shows_as_curtailed(
    trader: Page, server: LiveServer, world: World
) -> None:
    """The operator records outages of the three largest batteries for an hour: what the
    rest of the fleet cannot carry is lost, and the trader sees which blocks and how much."""
    server.clock.now = NOW
    org_id = world.org_ids[DISPATCHER]
    with server.store.read() as conn:
        fleet = fleet_frame(conn)
    # 14:00-15:00 CET on the delivery day.
    start = datetime(2026, 11, 29, 13, 0, tzinfo=UTC)
    end = start + timedelta(hours=1)
    for asset_id in fleet.sort("p_discharge_mw", descending=True)["asset_id"][:3]:
        body = {"asset_id": asset_id, "start": start, "end": end, "available_fraction": 0}
        services.outages.record_outage(server.store, body, "tests", NOW)
    vas = services.dispatch.virtual_assets(server.store, org_id, NOW, status="upcoming")
    cut = [va for va in vas if any(b["unavailability"] for b in va["blocks"])]
    assert cut

    trader.reload()
    table = trader.get_by_role("table", name=re.compile(r"^Upcoming virtual assets"))
    for va in cut:
        name = f"{va['product_id']} · {va['virtual_asset_id'][:8]}"
        row = table.get_by_role("row").filter(has=trader.get_by_role("link", name=name))
        expect(row).to_contain_text("Curtailed")
        for b in va["blocks"]:
            for u in b["unavailability"]:
                expect(row).to_contain_text(
                    f"{MARKETS[b['market']]}: {number(u['lost_kw'], 0)} kW lost, "
                    f"{number(u['available_kw'], 0)} kW left, 29 Nov 14:00{DASH}15:00 CET"
                )
    first = cut[0]
    name = f"{first['product_id']} · {first['virtual_asset_id'][:8]}"
    table.get_by_role("link", name=name).click()
    blocks = trader.get_by_role("table", name=re.compile(r"^Blocks of"))
    lost = next(u for b in first["blocks"] for u in b["unavailability"])
    expect(blocks).to_contain_text(f"{number(lost['lost_kw'], 0)} kW lost 14:00{DASH}15:00 CET")
    capped = trader.get_by_label("14:00 kW", exact=True)
    if any(b["market"] == "wholesale" and b["unavailability"] for b in first["blocks"]):
        expect(capped).to_have_accessible_description(re.compile(r"outage: at most"))
    check_accessible(trader)
