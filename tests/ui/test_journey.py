"""The issue's "done when", in the browser alone: an operator runs an auction day from the
fleet to settlement, and a trader who has never seen the API wins a virtual asset, finds it
under Dispatch → Upcoming, has a schedule refused and then accepted, reads the organisation
id under Account Settings → Organisation Details, and downloads the invoice.

Two people, two browser contexts, one server; only the server's clock is moved by the test
(the day passes). Nothing is set up behind the pages' back beyond the demo's world.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from auction.sample import sample_dir
from auction.timegrid import day_bounds
from tests.ui.conftest import NOW, Guard, LiveServer, World, open_page, sign_in, snapshot

JOURNEY = "journey-day"
SHIFT = timedelta(days=2)  # the sample's day two days on, its gate open at NOW
DAY = date(2026, 12, 1)
TRADER = "quantwatt"
CLEARING = 120_000  # ms: a clearing on two busy cores may take a while (not a timing test)


def _auction_files(folder: Path) -> dict[str, Path]:
    """The sample's auction.json and products.csv, as JOURNEY on DAY, gate closing at
    15:00 on NOW's day (the sample's gate moves with the day: it closes at D-2 15:00)."""
    source = sample_dir()
    doc = json.loads((source / "auction.json").read_text())
    doc.update(auction_id=JOURNEY, delivery_day=DAY.isoformat())
    doc["gate_open"] = (NOW - timedelta(hours=1)).isoformat()
    for key in ("gate_close", "publish_at"):
        doc[key] = (datetime.fromisoformat(doc[key]) + SHIFT - timedelta(days=1)).isoformat()
    with (source / "products.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        for key in ("start", "end"):
            row[key] = (datetime.fromisoformat(row[key]) + SHIFT).isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "auction.json").write_text(json.dumps(doc))
    with (folder / "products.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return {name: folder / name for name in ("auction.json", "products.csv")}


@pytest.fixture
def people(browser: Browser, server: LiveServer, guard: Guard) -> Iterator[tuple[Page, Page]]:
    """The trader's and the operator's pages, each in a browser context of its own,
    both watched by the guard."""
    pages = [open_page(browser, server, guard) for _ in range(2)]
    yield pages[0], pages[1]
    for page in pages:
        page.context.close()
    guard.check()


def test_an_auction_day_from_fleet_to_invoice_in_the_browser_alone(
    people: tuple[Page, Page], server: LiveServer, world: World, tmp_path: Path
) -> None:
    trader, operator = people
    server.clock.now = NOW

    # The operator looks at the fleet, then creates the day's auction from its files.
    sign_in(operator, world.operator)
    operator.get_by_role("link", name="Fleet").click()
    expect(operator.get_by_role("heading", name=re.compile("Fleet"), level=1)).to_be_visible()
    operator.get_by_role("link", name="Auctions").click()
    files = _auction_files(tmp_path)
    operator.get_by_label("auction.json").set_input_files(files["auction.json"])
    operator.get_by_label("products.csv").set_input_files(files["products.csv"])
    operator.get_by_role("button", name="Create auction").click()
    expect(operator.get_by_role("heading", name=f"Auction {JOURNEY}", level=1)).to_be_visible()
    operator.get_by_role("button", name="Open the gate").click()
    expect(operator.get_by_role("status")).to_be_visible()

    # The trader bids through the auction's page.
    sign_in(trader, world.traders[TRADER])
    trader.get_by_role("link", name=JOURNEY, exact=True).first.click()
    form = trader.get_by_role("form", name="Place a bid")
    form.get_by_label("Product").select_option("DAY-WS2")
    form.get_by_label("Quantity (MW)").fill("2")
    form.get_by_label("Price (EUR/MW)").fill("400.00")
    form.get_by_role("button", name="Place bid").click()
    expect(trader.get_by_role("status")).to_be_visible()

    # The gate passes; the operator clears and publishes, confirming each step.
    server.clock.now = NOW + timedelta(hours=3, minutes=1)  # 15:01 CET
    operator.reload()
    operator.get_by_role("button", name="Clear", exact=True).click()
    operator.get_by_role("dialog").get_by_role("button", name=f"Clear {JOURNEY}").click(
        timeout=CLEARING
    )
    expect(operator.get_by_role("link", name="Clearing report")).to_be_visible(timeout=CLEARING)
    operator.get_by_role("button", name="Publish").click()
    operator.get_by_role("dialog").get_by_role("button", name=f"Publish {JOURNEY}").click()
    expect(operator.get_by_role("main")).to_contain_text("published")

    # The trader won: the award, then the virtual asset under Dispatch → Upcoming.
    trader.goto(f"/ui/auctions/{JOURNEY}/results")
    awards = trader.get_by_role("table", name=re.compile("^Your awards"))
    expect(awards).to_contain_text("DAY-WS2")
    trader.get_by_role("link", name="Dispatch").click()
    upcoming = trader.get_by_role("table", name=re.compile(r"^Upcoming virtual assets"))
    upcoming.get_by_role("link", name=re.compile("^DAY-WS2 · ")).first.click()
    expect(trader.get_by_role("heading", level=1)).to_contain_text("DAY-WS2")

    # A schedule at full power all day empties the battery: refused, nothing changed.
    first, last = "00:00 CET", "23:45 CET"
    trader.get_by_label("From timeslot (Berlin)").select_option(label=first)
    trader.get_by_label("To timeslot (Berlin)").select_option(label=last)
    trader.get_by_label(re.compile(r"^Power kW")).fill("2000")
    trader.get_by_role("button", name="Fill", exact=True).click()
    trader.get_by_role("button", name="Submit Schedule").click()
    alert = trader.get_by_role("alert")
    expect(alert).to_contain_text("Nothing was changed")
    expect(alert).to_contain_text("CET")
    # Half an hour out and half an hour back at a quarter of the power: accepted.
    trader.get_by_label("From timeslot (Berlin)").select_option(label=first)
    trader.get_by_label("To timeslot (Berlin)").select_option(label=last)
    trader.get_by_label(re.compile(r"^Power kW")).fill("0")
    trader.get_by_role("button", name="Fill", exact=True).click()
    for at, kw in (("10:00", "500"), ("10:15", "500"), ("10:30", "-500"), ("10:45", "-500")):
        trader.get_by_label(f"{at} kW", exact=True).fill(kw)
    trader.get_by_role("button", name="Submit Schedule").click()
    expect(trader.get_by_role("status").filter(has_text="Schedule accepted")).to_be_visible()
    snapshot(trader, "journey-dispatch")

    # Account Settings → Organisation Details: the organisation id a client needs.
    trader.get_by_role("link", name="Account Settings").click()
    expect(trader.get_by_role("heading", name="Organisation Details", level=1)).to_be_visible()
    expect(trader.get_by_role("main")).to_contain_text(world.org_ids[TRADER])

    # D+1: the operator settles the day; the trader downloads the invoice.
    _, day_end = day_bounds(DAY)
    server.clock.now = day_end + timedelta(hours=8)
    operator.get_by_role("link", name="Settlement").click()
    # Days later the session has expired: sign in again, and back to the page asked for.
    expect(operator).to_have_url("/ui/login?next=/ui/operator/settlement")
    operator.get_by_label("Email").fill(world.operator)
    operator.get_by_label("Password").fill(world.password)
    operator.get_by_role("button", name="Sign in").click()
    operator.get_by_label("Delivery day", exact=True).fill(DAY.isoformat())
    operator.get_by_role("button", name="Show the day").click()
    operator.get_by_role("button", name=re.compile("^Run the settlement of")).click()
    dialog = operator.get_by_role("dialog")
    dialog.get_by_label("Imbalance price (EUR/MWh)").fill("150.00")
    dialog.get_by_role("button", name="Run the settlement").click()
    expect(operator.get_by_role("status")).to_be_visible()

    sign_in(trader, world.traders[TRADER], "/ui/invoices")
    with trader.expect_download() as download:
        trader.get_by_role("link", name="Download every invoice line (CSV)").click()
    lines = list(csv.DictReader(io.StringIO(download.value.path().read_text())))
    awards_of_day = [r for r in lines if r["kind"] == "award" and r["auction_id"] == JOURNEY]
    assert awards_of_day, lines[:3]
    assert {r["product_id"] for r in awards_of_day} == {"DAY-WS2"}
