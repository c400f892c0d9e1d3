"""The operator's auctions in the browser: the list, creating an auction from its files
(refused first, then accepted), and its life from draft to published with only the legal
step offered at each state.

The tests of this module share one server: they run in file order, and each changes the
store only in ways the later ones expect.
"""

from __future__ import annotations

import csv
import json
import re
import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from api import services
from auction.archive import read_archive
from auction.bidding import BidIn
from auction.errors import NotFound
from auction.sample import sample_dir
from auction.store.accounts import user_by_email
from auction.store.auctions import get_auction
from tests.ui.conftest import (
    NOW,
    Guard,
    LiveServer,
    World,
    check_accessible,
    sign_in,
    snapshot,
)

UPLOADED = "uploaded-day"
SHIFT = timedelta(days=3)  # the sample's day moved after the next auction's; its gate open at NOW
STEP_BUTTONS = {
    "open": "Open the gate",
    "close": "Close the gate",
    "clear": re.compile("^Clear( again)?$"),
    "publish": "Publish",
    "cancel": "Cancel the auction",
}
CLEARING = 120_000  # ms: a clearing on two busy cores may take a while (not a timing test)


def _shift(text: str) -> str:
    return (datetime.fromisoformat(text) + SHIFT).isoformat()


def sample_files(folder: Path, world: World, *, bad: bool = False) -> dict[str, Path]:
    """The sample's auction.json, products.csv and allocations.csv, as UPLOADED three days
    later; ``bad`` breaks two cells of products.csv."""
    folder.mkdir(parents=True, exist_ok=True)
    source = sample_dir()
    doc = json.loads((source / "auction.json").read_text())
    doc["auction_id"] = UPLOADED
    doc["delivery_day"] = (date.fromisoformat(doc["delivery_day"]) + SHIFT).isoformat()
    for key in ("gate_open", "gate_close", "publish_at"):
        doc[key] = _shift(doc[key])
    (folder / "auction.json").write_text(json.dumps(doc, indent=2))

    with (source / "products.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        row["start"], row["end"] = _shift(row["start"]), _shift(row["end"])
    if bad:
        rows[1]["min_mw"] = "0"
        rows[3]["increment_mw"] = "a lot"
    with (folder / "products.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)

    # The sample names the designated optimiser; the store knows it by its id.
    with (source / "allocations.csv").open(newline="") as f:
        allocations = list(csv.DictReader(f))
    with (folder / "allocations.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(allocations[0]))
        writer.writeheader()
        writer.writerows({**a, "org_id": world.org_ids[a["org_id"]]} for a in allocations)
    return {name: folder / name for name in ("auction.json", "products.csv", "allocations.csv")}


def _upload(page: Page, files: dict[str, Path]) -> None:
    page.goto("/ui/operator/auctions")
    page.get_by_label("auction.json").set_input_files(files["auction.json"])
    page.get_by_label("products.csv").set_input_files(files["products.csv"])
    page.get_by_label("allocations.csv").set_input_files(files["allocations.csv"])
    page.get_by_role("button", name="Create auction").click()


def _offers_only(page: Page, *steps: str) -> None:
    """The lifecycle buttons on the page are exactly ``steps``."""
    for step, name in STEP_BUTTONS.items():
        button = page.get_by_role("main").get_by_role("button", name=name, exact=True)
        expect(button).to_have_count(1 if step in steps else 0)


def _status(page: Page, status: str) -> None:
    expect(page.get_by_role("definition").first).to_have_text(status)


def _submit_sample_bids(server: LiveServer, world: World) -> int:
    """The sample's bids, each organisation's in submission order, into UPLOADED."""
    sample = read_archive(sample_dir())
    ids = {b: str(uuid.uuid5(uuid.NAMESPACE_URL, f"{UPLOADED}/{b}")) for b in sample.bids["bid_id"]}
    with server.store.write() as conn:
        for row in sample.bids.sort("submitted_at", "bid_id").iter_rows(named=True):
            org_id = world.org_ids[row["org_id"]]
            user = user_by_email(conn, world.traders[row["org_id"]])
            assert user is not None
            bid = BidIn(
                bid_id=ids[row["bid_id"]],
                product_id=row["product_id"],
                quantity_mw=Decimal(str(row["quantity_mw"])),
                min_quantity_mw=None
                if row["min_quantity_mw"] is None
                else Decimal(str(row["min_quantity_mw"])),
                price_eur_per_mw=Decimal(str(row["price_eur_per_mw"])),
                exclusive_group=row["exclusive_group"],
                linked_to=None if row["linked_to"] is None else ids[row["linked_to"]],
            )
            services.auctions.submit_bids(
                conn, UPLOADED, org_id, [bid], batch=False, user_id=user.user_id, now=NOW
            )
    return sample.bids.height


def test_the_operator_starts_at_the_list_of_every_auction(
    operator: Page, server: LiveServer, world: World
) -> None:
    server.clock.now = NOW
    expect(operator).to_have_url("/ui/operator/auctions")  # signing in lands here
    expect(operator.get_by_role("heading", name="Auctions", level=1)).to_be_visible()
    table = operator.get_by_role("table", name="Every auction, latest delivery day first")
    sample = table.get_by_role("row", name=re.compile(f"^{world.sample_auction} "))
    expect(sample).to_contain_text("published")
    expect(sample).to_contain_text(world.delivery_day.strftime("%a %d %b %Y"))
    expect(sample).to_contain_text("27 Nov 2026 15:00 CET")  # gate close, Berlin
    upcoming = table.get_by_role("row", name=re.compile(f"^{world.next_auction} "))
    expect(upcoming).to_contain_text("open")
    expect(upcoming).to_contain_text("28 Nov 2026 15:00 CET")
    check_accessible(operator)
    snapshot(operator, "operator-auctions")


def test_a_refused_upload_names_each_problem_and_creates_nothing(
    operator: Page, server: LiveServer, world: World, tmp_path: Path
) -> None:
    server.clock.now = NOW
    _upload(operator, sample_files(tmp_path, world, bad=True))
    alert = operator.get_by_role("alert")
    expect(alert).to_contain_text("Nothing was changed.")
    expect(alert).to_contain_text("products.csv, row 2, column min_mw: min_mw must be > 0")
    expect(alert).to_contain_text("products.csv, row 4, column increment_mw")
    expect(alert).to_be_focused()
    products = operator.get_by_label("products.csv")
    expect(products).to_have_attribute("aria-invalid", "true")
    expect(operator.get_by_label("auction.json")).not_to_have_attribute("aria-invalid", "true")
    check_accessible(operator)

    operator.goto("/ui/operator/auctions")
    expect(operator.get_by_role("link", name=UPLOADED)).to_have_count(0)
    with server.store.read() as conn, pytest.raises(NotFound):
        get_auction(conn, UPLOADED)


def test_an_auction_is_created_from_its_files_and_lives_to_publication(
    operator: Page, server: LiveServer, world: World, tmp_path: Path
) -> None:
    server.clock.now = NOW
    _upload(operator, sample_files(tmp_path, world))
    expect(operator).to_have_url(f"/ui/operator/auctions/{UPLOADED}?notice=created")
    expect(operator.get_by_role("status")).to_have_text(
        "Auction created as a draft. Check its products, then open it."
    )
    _status(operator, "draft")
    expect(operator.get_by_role("table", name="The products on sale (13)")).to_be_visible()
    _offers_only(operator, "open", "cancel")

    operator.get_by_role("button", name="Open the gate").click()
    expect(operator.get_by_role("status")).to_contain_text("The auction is open")
    _status(operator, "open")
    _offers_only(operator, "close", "cancel")

    n_bids = _submit_sample_bids(server, world)
    operator.reload()
    expect(operator.get_by_text(f"{n_bids} bids in the book so far.")).to_be_visible()

    operator.get_by_role("button", name="Close the gate").click()
    expect(operator.get_by_role("status")).to_contain_text("The gate is closed")
    _status(operator, "closed")
    _offers_only(operator, "clear", "cancel")

    operator.get_by_role("button", name="Clear", exact=True).click()
    dialog = operator.get_by_role("dialog")
    expect(dialog).to_contain_text(f"Clear auction {UPLOADED} now?")
    dialog.get_by_role("button", name=f"Clear {UPLOADED}").click(timeout=CLEARING)
    expect(operator.get_by_role("status")).to_contain_text(
        "The auction is cleared", timeout=CLEARING
    )
    _status(operator, "cleared")
    _offers_only(operator, "clear", "publish", "cancel")
    expect(operator.get_by_role("button", name="Clear again")).to_be_visible()
    expect(operator.get_by_role("link", name="Clearing report")).to_be_visible()
    check_accessible(operator)

    operator.get_by_role("button", name="Publish").click()
    dialog = operator.get_by_role("dialog")
    expect(dialog).to_contain_text(f"Publish auction {UPLOADED}?")
    dialog.get_by_role("button", name=f"Publish {UPLOADED}").click()
    expect(operator.get_by_role("status")).to_contain_text("The results are published")
    _status(operator, "published")
    _offers_only(operator)
    with server.store.read() as conn:
        assert get_auction(conn, UPLOADED).status.value == "published"

    operator.get_by_role("link", name="All auctions").click()
    row = operator.get_by_role("row", name=re.compile(f"^{UPLOADED} "))
    expect(row).to_contain_text("published")


def test_the_server_refuses_a_step_the_page_offered_too_late(
    operator: Page, server: LiveServer, world: World
) -> None:
    server.clock.now = NOW
    operator.goto(f"/ui/operator/auctions/{world.next_auction}")
    _offers_only(operator, "close", "cancel")
    # Meanwhile someone else closes the gate: the page still offers to close it.
    with server.store.write() as conn:
        services.auctions.step(conn, world.next_auction, "close", "tests", NOW)
    operator.get_by_role("button", name="Close the gate").click()
    alert = operator.get_by_role("alert")
    expect(alert).to_contain_text("Nothing was changed.")
    expect(alert).to_contain_text("cannot close an auction that is closed; it must be open")
    _status(operator, "closed")
    _offers_only(operator, "clear", "cancel")
    check_accessible(operator)


def test_cancelling_asks_first_and_dismissing_changes_nothing(
    operator: Page, server: LiveServer, world: World
) -> None:
    server.clock.now = NOW
    operator.goto(f"/ui/operator/auctions/{world.next_auction}")
    opener = operator.get_by_role("button", name="Cancel the auction")
    opener.click()
    dialog = operator.get_by_role("dialog")
    expect(dialog).to_contain_text(f"Cancel auction {world.next_auction}?")
    dialog.get_by_role("button", name="Cancel", exact=True).click()
    expect(dialog).to_be_hidden()
    expect(opener).to_be_focused()
    operator.reload()
    _status(operator, "closed")

    operator.get_by_role("button", name="Cancel the auction").click()
    operator.get_by_role("dialog").get_by_role(
        "button", name=f"Yes, cancel {world.next_auction}"
    ).click()
    expect(operator.get_by_role("status")).to_contain_text("The auction is cancelled")
    _status(operator, "cancelled")
    _offers_only(operator)


def test_a_trader_cannot_open_the_operators_auctions(
    page: Page, guard: Guard, world: World
) -> None:
    guard.allow_status(403)
    guard.allow_status(404)  # signing in lands on the trader's start page, another screen's
    sign_in(page, world.dispatcher)
    page.goto("/ui/operator/auctions")
    expect(page.get_by_role("alert")).to_contain_text("only operators may open this page")
    expect(page.get_by_role("button", name="Create auction")).to_have_count(0)
