"""WCAG 1.4.10: at 320 CSS px the pages reflow into one column; only wide tables and
charts scroll, inside their own labelled regions, never the whole page sideways."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from api import services
from tests.ui.conftest import DISPATCHER, LiveServer, World, sign_in, snapshot

NARROW = {"width": 320, "height": 800}


def _page_width(page: Page) -> int:
    """The document's width at 320 px, once the narrow layout is in place."""
    page.set_viewport_size(NARROW)
    page.wait_for_load_state("load")
    width: int = page.evaluate("() => document.documentElement.scrollWidth")
    return width


@pytest.mark.parametrize(
    "path", ["/ui/auctions", "/ui/dispatch", "{va}", "/ui/invoices", "/ui/account"]
)
def test_trader_pages_reflow_at_320_px(
    page: Page, server: LiveServer, world: World, path: str
) -> None:
    if path == "{va}":
        vas = services.dispatch.virtual_assets(
            server.store, world.org_ids[DISPATCHER], server.clock()
        )
        path = f"/ui/dispatch/{vas[0]['virtual_asset_id']}"
    sign_in(page, world.dispatcher, path)
    assert _page_width(page) <= NARROW["width"]
    if path.startswith("/ui/dispatch/"):
        snapshot(page, "dispatch-va-320px")


@pytest.mark.parametrize(
    "path", ["/ui/operator/auctions", "/ui/operator/fleet", "/ui/operator/settlement"]
)
def test_operator_pages_reflow_at_320_px(page: Page, world: World, path: str) -> None:
    sign_in(page, world.operator, path)
    assert _page_width(page) <= NARROW["width"]
