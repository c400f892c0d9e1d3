"""The operator's calendar page: a template written as JSON and saved, the days the
scheduler then creates, a holiday marked, a broken template refused beside its field."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import Locator, Page, expect

from api.services.scheduler import tick
from tests.ui.conftest import NOW, LiveServer, World, check_accessible, sign_in, snapshot

CALENDAR = "/ui/operator/calendar"


@pytest.fixture
def operator(page: Page, world: World) -> Page:
    return sign_in(page, world.operator, CALENDAR)


def _rows(page: Page) -> Locator:
    return page.get_by_role("region", name="Calendar").locator("tbody").get_by_role("row")


def test_a_template_saved_in_the_page_fills_the_calendar(
    operator: Page, server: LiveServer
) -> None:
    server.clock.now = NOW  # 2026-11-28 12:00 Berlin
    operator.get_by_role("navigation", name="Main").get_by_role("link", name="Calendar").click()
    expect(operator.get_by_role("heading", name="Calendar", level=1)).to_be_visible()
    expect(operator.get_by_text("No template yet")).to_be_visible()
    # The example in the editor is a whole template: name it and save it.
    operator.get_by_label("Template name").fill("daily")
    operator.get_by_role("button", name="Save template").click()
    expect(operator.get_by_role("status")).to_contain_text("Template saved")
    # Its first day is the first whose opening (D-7 09:00) is ahead: 12-06, so the next
    # 14 days from today hold six of its days.
    expect(_rows(operator)).to_have_count(6)
    expect(_rows(operator).first).to_contain_text("planned")
    check_accessible(operator)

    # The scheduler's tick at the first day's opening (D-7 09:00) creates its auction.
    tick(server.store, NOW + timedelta(days=1))  # 2026-11-29 12:00 Berlin: 12-06 opened
    operator.reload()
    created = _rows(operator).filter(has_text="daily-2026-12-06")
    expect(created).to_have_count(1)
    expect(created).to_contain_text("created")
    expect(created).to_contain_text("open")
    expect(created.get_by_role("link", name="daily-2026-12-06")).to_be_visible()
    snapshot(operator, "calendar")

    # A holiday: skipped before it is created, said in the calendar.
    operator.get_by_label("Delivery day").fill("2026-12-24")
    operator.get_by_label("Reason", exact=True).fill("Christmas Eve")
    operator.get_by_role("button", name="Mark the day").click()
    expect(operator.get_by_role("status")).to_contain_text("Day marked")


def test_a_broken_template_is_refused_and_kept_in_the_editor(
    operator: Page, server: LiveServer
) -> None:
    server.clock.now = NOW
    operator.get_by_label("Template name").fill("broken")
    editor = operator.get_by_label("Template (JSON)")
    text = editor.input_value().replace('"D-2 15:00"', '"D+2 15:00"')
    editor.fill(text)
    operator.get_by_role("button", name="Save template").click()
    alert = operator.get_by_role("alert")
    expect(alert).to_contain_text("Nothing was changed")
    expect(alert).to_contain_text("gate_close")
    expect(editor).to_have_value(text)
    check_accessible(operator)
