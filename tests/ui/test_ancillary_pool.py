"""The operator's pool of ancillary bids: the day's bids, the export for the TSO as a
downloaded file, the sandbox's TSO and the import of the TSO's results."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from api import services
from tests.ui.conftest import NOW, LiveServer, World, check_accessible, sign_in, snapshot

POOL = "/ui/operator/ancillary"


@pytest.fixture
def operator(page: Page, world: World) -> Page:
    """Signed in as the operator straight onto this screen."""
    return sign_in(page, world.operator, POOL)


def _statuses(server: LiveServer, world: World, market: str) -> Counter[str]:
    bids = services.ancillary.pool_bids(server.store, world.delivery_day)
    return Counter(b.status for b in bids if b.market == market)


def _export(page: Page, market: str, tmp_path: Path) -> dict[str, Any]:
    """Download the export of one market, as the operator does."""
    page.get_by_label("Market", exact=True).select_option(market)
    with page.expect_download() as info:
        page.get_by_role("button", name="Download the export").click()
    download = info.value
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    document: dict[str, Any] = json.loads(path.read_text())
    return document


def test_the_pool_lists_the_day_bids_and_exports_them_as_a_file(
    operator: Page, server: LiveServer, world: World, tmp_path: Path
) -> None:
    server.clock.now = NOW
    day = world.delivery_day
    expect(operator.get_by_role("heading", level=1)).to_have_text(
        f"Ancillary pool, {day:%a %d %b %Y}"
    )
    bids = services.ancillary.pool_bids(server.store, day)
    assert bids, "the demo offers reserve on the sample day"
    rows = operator.get_by_role("region", name="The pool's bids").locator("tbody tr")
    expect(rows).to_have_count(len(bids))
    first = bids[0]
    expect(rows.nth(0).get_by_role("rowheader")).to_have_text(first.product_code)
    expect(rows.nth(0)).to_contain_text(first.bid_id)
    expect(rows.nth(0)).to_contain_text(first.status)
    check_accessible(operator)

    document = _export(operator, "fcr", tmp_path)
    fcr = [b for b in services.ancillary.pool_bids(server.store, day) if b.market == "fcr"]
    assert (document["delivery_day"], document["market"]) == (day.isoformat(), "fcr")
    assert sorted(b["bidId"] for b in document["bids"]) == sorted(b.bid_id for b in fcr)
    assert {b["market"] for b in document["bids"]} == {"FCR"}
    # Served as a download that no browser reads as a page.
    answer = operator.request.post(
        f"{POOL}/export",
        form={"day": day.isoformat(), "market": "fcr"},
        headers={"Origin": server.url},
    )
    assert answer.status == 200
    assert answer.headers["content-disposition"] == (
        f'attachment; filename="tso-bids-{day.isoformat()}-fcr.json"'
    )
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.json() == document


def test_the_sandbox_tso_and_an_imported_result_show_their_summary(
    operator: Page, server: LiveServer, world: World, tmp_path: Path
) -> None:
    server.clock.now = NOW
    operator.get_by_label("Capacity market").select_option("afrr_capacity")
    operator.get_by_role("button", name="Play the sandbox TSO").click()
    expect(operator.get_by_role("status")).to_contain_text("The sandbox TSO cleared")
    summary = operator.get_by_role("table", name="marked by the TSO's results")
    after = _statuses(server, world, "afrr_capacity")
    expect(summary.locator("tbody tr")).to_have_count(len(after))
    for status, n in after.items():
        row = summary.get_by_role("row").filter(
            has=operator.get_by_role("rowheader", name=status, exact=True)
        )
        expect(row.get_by_role("cell")).to_have_text(str(n))
    check_accessible(operator)
    snapshot(operator, "ancillary-pool")

    # The TSO's results: every exported FCR bid accepted whole, at its own price.
    document = _export(operator, "fcr", tmp_path)
    results = {
        "bids": [
            {**b, "acceptedQuantity": {"quantity": b["offeredQuantity"]["quantity"]}}
            for b in document["bids"]
        ]
    }
    operator.get_by_label("TSO results file (JSON)").set_input_files(
        files=[
            {
                "name": "results.json",
                "mimeType": "application/json",
                "buffer": json.dumps(results).encode(),
            }
        ]
    )
    operator.get_by_role("button", name="Import results").click()
    expect(operator.get_by_role("status")).to_have_text(
        "The TSO's results are imported. The summary is below."
    )
    expect(summary.locator("tbody tr")).to_have_count(1)
    expect(summary.get_by_role("row", name="accepted")).to_contain_text(str(len(document["bids"])))
    assert _statuses(server, world, "fcr") == Counter({"accepted": len(document["bids"])})
    expect(
        operator.get_by_role("region", name="The pool's bids").get_by_text("rejected")
    ).to_have_count(_statuses(server, world, "afrr_capacity")["rejected"])


def test_a_file_that_is_no_results_is_refused_and_changes_nothing(
    operator: Page, server: LiveServer, world: World
) -> None:
    server.clock.now = NOW
    before = Counter(
        (b.bid_id, b.status) for b in services.ancillary.pool_bids(server.store, world.delivery_day)
    )
    field = operator.get_by_label("TSO results file (JSON)")
    field.set_input_files(
        files=[{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"not json at all"}]
    )
    operator.get_by_role("button", name="Import results").click()
    alert = operator.get_by_role("alert")
    expect(alert).to_contain_text("Nothing was changed")
    expect(alert).to_contain_text("notes.txt is not a readable JSON file")
    expect(operator.get_by_label("TSO results file (JSON)")).to_have_attribute(
        "aria-invalid", "true"
    )
    check_accessible(operator)
    after = Counter(
        (b.bid_id, b.status) for b in services.ancillary.pool_bids(server.store, world.delivery_day)
    )
    assert after == before


def test_an_export_for_a_day_without_reserve_is_refused(operator: Page, server: LiveServer) -> None:
    server.clock.now = NOW
    operator.get_by_label("Delivery day (Berlin)").fill("2026-11-30")
    operator.get_by_role("button", name="Show the pool").click()
    expect(operator.get_by_text("No customer offered reserve for Mon 30 Nov 2026.")).to_be_visible()
    operator.get_by_role("button", name="Download the export").click()
    alert = operator.get_by_role("alert")
    expect(alert).to_contain_text("The export was refused. Nothing was changed.")
    expect(alert).to_contain_text("no published auction delivers on 2026-11-30")
    expect(operator.get_by_role("heading", level=1)).to_have_text("Ancillary pool, Mon 30 Nov 2026")
    check_accessible(operator)
