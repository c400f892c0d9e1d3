"""The fleet's physical setpoints for a delivery day: the chart, the numbers, the summary."""

from __future__ import annotations

from datetime import date

import pytest
from playwright.sync_api import Page, expect

from api import services
from api.web.render import number
from auction.timegrid import day_bounds
from tests.ui.conftest import (
    NOW,
    LiveServer,
    World,
    check_accessible,
    painted_pixels,
    sign_in,
    snapshot,
)

SETPOINTS = "/ui/operator/setpoints"


@pytest.fixture
def operator(page: Page, world: World) -> Page:
    """Signed in as the operator straight onto this screen."""
    return sign_in(page, world.operator, SETPOINTS)


def test_the_setpoints_of_the_sample_day_are_drawn_and_listed(
    operator: Page, server: LiveServer, world: World
) -> None:
    server.clock.now = NOW
    day = world.delivery_day
    # The default day is the next delivery day with published virtual assets.
    expect(operator.get_by_role("heading", level=1)).to_have_text(f"Setpoints, {day:%a %d %b %Y}")
    expect(operator.get_by_role("link", name="Setpoints")).to_have_attribute("aria-current", "page")
    start, end = day_bounds(day, "Europe/Berlin")
    [expected] = services.dispatch.setpoints(server.store, start, end)
    expect(operator.get_by_text(expected.summary + ".")).to_be_visible()

    chart = operator.get_by_role("img", name="Setpoints in kW")
    expect(chart).to_be_visible()
    expect(chart.locator("canvas")).to_be_visible()
    assert painted_pixels(operator.locator("#setpoints-chart")) > 1000
    moving = sorted(set(expected.setpoints.filter(expected.setpoints["power_kw"] != 0)["asset_id"]))
    expect(operator.locator("#setpoints-chart .u-legend .u-series")).to_have_count(
        len(moving) + 1  # and the time
    )
    # Berlin midnight at the left edge, although the browser is in New York.
    box = operator.locator("#setpoints-chart .u-over").bounding_box()
    assert box is not None
    operator.mouse.move(box["x"] + 1, box["y"] + box["height"] / 2)
    expect(operator.locator("#setpoints-chart .u-legend .u-series").first).to_contain_text(
        f"{day.isoformat()} 00:00 CET"
    )

    region = operator.get_by_role("region", name="Setpoints per asset and MTU")
    headers = region.get_by_role("columnheader")
    expect(headers).to_have_count(1 + 96)
    expect(headers.nth(1)).to_have_text("00:00 CET")
    expect(headers.nth(96)).to_have_text("23:45 CET")
    asset = moving[0]
    mine = expected.setpoints.filter(expected.setpoints["asset_id"] == asset).sort("start")
    row = region.get_by_role("row").filter(
        has=operator.get_by_role("rowheader", name=asset, exact=True)
    )
    expect(row.get_by_role("cell")).to_have_text([number(v, 1) for v in mine["power_kw"]])
    check_accessible(operator)
    snapshot(operator, "setpoints")


def test_a_day_without_blocks_says_so(operator: Page, server: LiveServer) -> None:
    server.clock.now = NOW
    operator.get_by_label("Delivery day (Berlin)").fill(date(2026, 12, 24).isoformat())
    operator.get_by_role("button", name="Show setpoints").click()
    expect(operator).to_have_url(f"{SETPOINTS}?day=2026-12-24")
    expect(operator.get_by_text("No wholesale block is delivered in that time.")).to_be_visible()
    expect(operator.get_by_role("img")).to_have_count(0)
    check_accessible(operator)
