"""Invoices and nominations in the browser: the trader's invoice equals the API's answer,
and the downloads are attachments the trader can read."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from xml.etree import ElementTree

from playwright.sync_api import Page, expect

from api.web.pages.invoices import KIND_LABELS, eur
from api.web.render import day_label, number
from auction.store.accounts import get_org
from tests.ui.conftest import (
    DISPATCHER,
    Guard,
    LiveServer,
    World,
    check_accessible,
    rest_json,
    sign_in,
    snapshot,
)

ESS = "{urn:vba-engine:ess-schedule:1}"


def _eic(server: LiveServer, org_id: str) -> str:
    with server.store.read() as conn:
        return get_org(conn, org_id).eic


def test_the_trader_sees_its_invoice_with_the_lines_and_totals_the_api_answers(
    page: Page, world: World
) -> None:
    trader = sign_in(page, world.dispatcher, "/ui/account")
    org_id = world.org_ids[DISPATCHER]
    [invoice] = rest_json(trader, world.dispatcher, f"/organisations/{org_id}/invoices")["items"]
    assert invoice["day"] == world.delivery_day.isoformat()
    trader.get_by_role("link", name="Invoices").click()
    expect(trader.get_by_role("heading", name="Invoices", level=1)).to_be_visible()
    expect(trader.get_by_role("link", name="Invoices")).to_have_attribute("aria-current", "page")
    day = day_label(world.delivery_day)
    expect(
        trader.get_by_role("heading", name=f"Delivery day {day} · settlement version 1")
    ).to_be_visible()
    label = f"invoice of {day}, auction {invoice['auction_id']}"

    totals = trader.get_by_role("table", name=f"Totals of the {label} (EUR)")
    expected_totals = {
        "Awards (EUR)": eur(Decimal(invoice["awards_eur"])),
        "Unavailability credits (EUR)": eur(Decimal(invoice["credits_eur"])),
        "Imbalance charges (EUR)": eur(Decimal(invoice["imbalance_eur"])),
        "Ancillary (revenue less credits) (EUR)": eur(Decimal(invoice["ancillary_eur"])),
        "Total (exact) (EUR)": eur(Decimal(invoice["total_eur"])),
        "Amount due (EUR)": number(Decimal(invoice["amount_due_eur"])),
    }
    for name, value in expected_totals.items():
        header = trader.get_by_role("rowheader", name=name, exact=True)
        row = totals.get_by_role("row").filter(has=header)
        expect(row.get_by_role("cell")).to_have_text(value)
    assert Decimal(invoice["imbalance_eur"]) > 0  # the demo's trader missed its SoC target

    lines = trader.get_by_role("table", name=f"Lines of the {label} ({len(invoice['lines'])})")
    rows = lines.locator("tbody").get_by_role("row")
    expect(rows).to_have_count(len(invoice["lines"]))
    for i, line in enumerate(invoice["lines"]):
        cells = rows.nth(i).get_by_role("cell")
        expect(cells.nth(0)).to_have_text(KIND_LABELS[line["kind"]])
        expect(cells.nth(1)).to_have_text(line["product_id"] or "—")
        expect(cells.nth(3)).to_have_text(f"{line['quantity']} {line['unit']}")
        expect(cells.nth(5)).to_have_text(eur(Decimal(line["amount_eur"])))
        expect(cells.nth(6)).to_have_text(line["description"])
    # Windows are Berlin wall time, although the browser runs in New York.
    expect(rows.first.get_by_role("cell").nth(2)).to_contain_text("29 Nov 00:00 CET")
    check_accessible(trader)
    snapshot(trader, "invoices")


def test_the_nomination_and_the_invoice_lines_download_as_attachments(
    page: Page, world: World, server: LiveServer
) -> None:
    org_id = world.org_ids[DISPATCHER]
    eic = _eic(server, org_id)
    trader = sign_in(page, world.dispatcher, "/ui/invoices")
    day = day_label(world.delivery_day)

    with trader.expect_download() as xml_download:
        trader.get_by_role("link", name=f"Download the nomination of {day} (XML)").click()
    download = xml_download.value
    assert download.suggested_filename == (f"nomination-{DISPATCHER}-{world.delivery_day}-v1.xml")
    root = ElementTree.parse(download.path()).getroot()
    assert root.tag == f"{ESS}ScheduleMessage"
    parties = {el.get("v") for el in root.iter() if el.tag in (f"{ESS}InParty", f"{ESS}OutParty")}
    assert eic in parties
    assert len(root.findall(f".//{ESS}ScheduleTimeSeries[1]//{ESS}Interval")) == 96

    with trader.expect_download() as csv_download:
        trader.get_by_role("link", name=f"Download the nomination of {day} (CSV)").click()
    rows = list(csv.DictReader(io.StringIO(csv_download.value.path().read_text())))
    assert len(rows) == 96
    assert all(eic in (r["from_eic"], r["to_eic"]) for r in rows)

    with trader.expect_download() as lines_download:
        trader.get_by_role("link", name="Download every invoice line (CSV)").click()
    assert lines_download.value.suggested_filename == f"invoices-{DISPATCHER}.csv"
    lines = list(csv.DictReader(io.StringIO(lines_download.value.path().read_text())))
    [invoice] = rest_json(trader, world.dispatcher, f"/organisations/{org_id}/invoices")["items"]
    assert [Decimal(r["amount_eur"]) for r in lines] == [
        Decimal(line["amount_eur"]) for line in invoice["lines"]
    ]
    assert {r["org_id"] for r in lines} == {org_id}

    answer = trader.request.get(f"/ui/invoices/nominations/{world.delivery_day}.xml")
    assert answer.headers["content-disposition"].startswith("attachment;")
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["content-type"].startswith("application/xml")


def test_the_nomination_table_is_in_berlin_time(page: Page, world: World) -> None:
    trader = sign_in(page, world.dispatcher, "/ui/invoices")
    day = day_label(world.delivery_day)
    trader.get_by_text("Nomination per MTU (96 rows)").click()
    table = trader.get_by_role("table", name=f"Nomination of {day} per MTU", exact=False)
    rows = table.locator("tbody").get_by_role("row")
    expect(rows).to_have_count(96)
    expect(rows.first.get_by_role("cell").first).to_have_text("00:00 CET")
    check_accessible(trader)


def test_an_operator_reads_an_organisation_s_invoices_and_a_trader_may_not(
    page: Page, world: World, guard: Guard
) -> None:
    org_id = world.org_ids[DISPATCHER]
    operator = sign_in(page, world.operator, f"/ui/operator/settlement/invoices/{org_id}")
    expect(
        operator.get_by_role("heading", name=f"Invoices of {DISPATCHER}", level=1)
    ).to_be_visible()
    expect(operator.get_by_role("link", name="Settlement", exact=True)).to_have_attribute(
        "aria-current", "page"
    )
    with operator.expect_download() as xml_download:
        day = day_label(world.delivery_day)
        operator.get_by_role("link", name=f"Download the nomination of {day} (XML)").click()
    assert xml_download.value.suggested_filename.startswith(f"nomination-{DISPATCHER}-")
    check_accessible(operator)

    operator.get_by_role("button", name="Sign out").click()
    other = sign_in(operator, world.traders["quantwatt"], "/ui/invoices")
    guard.allow_status(403)
    answer = other.request.get(f"/ui/operator/settlement/invoices/{org_id}/invoices.csv")
    assert answer.status == 403
    assert "only operators" in answer.text()
