"""Settlement runs in the browser (operator): a run is confirmed in a dialog naming the
day and makes a new version, whose totals are the API's; a day not yet delivered is
refused and nothing changes; daylight-saving days are noted."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from api.web.pages.invoices import KIND_LABELS, eur
from api.web.render import day_label, number
from auction.store.settlement import latest_run
from tests.ui.conftest import (
    DISPATCHER,
    NOW,
    LiveServer,
    World,
    check_accessible,
    rest_json,
    sign_in,
    snapshot,
)

DELIVERED = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)  # D+1 of the sample day, 11:00 CET


@pytest.fixture
def after_delivery(server: LiveServer) -> Iterator[None]:
    server.clock.now = DELIVERED
    yield
    server.clock.now = NOW


def _version(server: LiveServer, day: date) -> int:
    with server.store.read() as conn:
        run = latest_run(conn, day)
    assert run is not None
    return run.version


def _run_button(page: Page, day: date) -> Any:
    return page.get_by_role("button", name=f"Run the settlement of {day_label(day)}…")


def test_a_day_not_yet_delivered_is_refused_and_nothing_changes(
    page: Page, world: World, server: LiveServer
) -> None:
    server.clock.now = NOW  # D-1: the sample day is still to come
    day = world.delivery_day
    version = _version(server, day)
    operator = sign_in(page, world.operator, f"/ui/operator/settlement?day={day}")
    _run_button(operator, day).click()
    dialog = operator.get_by_role("dialog")
    expect(dialog).to_contain_text(f"Settle delivery day {day_label(day)}?")
    dialog.get_by_label("Imbalance price (EUR/MWh)").fill("99.90")
    dialog.get_by_role("button", name="Run the settlement").click()
    alert = operator.get_by_role("alert")
    expect(alert).to_contain_text("Nothing was changed.")
    expect(alert).to_contain_text(f"{day} is delivered until")
    expect(alert).to_be_focused()
    check_accessible(operator)
    assert _version(server, day) == version
    operator.goto(f"/ui/operator/settlement?day={day}")
    versions = operator.get_by_role("table", name=f"Settlement versions of {day_label(day)}")
    expect(versions.locator("tbody").get_by_role("row")).to_have_count(version)


@pytest.mark.usefixtures("after_delivery")
def test_the_operator_runs_the_sample_day_again_after_a_confirmation(
    page: Page, world: World, server: LiveServer
) -> None:
    day = world.delivery_day
    version = _version(server, day)
    operator = sign_in(page, world.operator, "/ui/operator/settlement")
    # The newest settled day is shown first.
    expect(operator.get_by_role("heading", name=f"Delivery day {day_label(day)}")).to_be_visible()
    expect(operator.get_by_label("Delivery day", exact=True)).to_have_value(day.isoformat())
    _run_button(operator, day).click()
    dialog = operator.get_by_role("dialog")
    expect(dialog).to_contain_text(
        f"Settle delivery day {day_label(day)}? This stores version {version + 1}"
    )
    check_accessible(operator)
    dialog.get_by_label("Imbalance price (EUR/MWh)").fill("120.50")
    dialog.get_by_role("button", name="Run the settlement").click()

    expect(operator.get_by_role("status")).to_have_text(
        "The day was settled: its new version is below and now counts."
    )
    assert _version(server, day) == version + 1
    versions = operator.get_by_role("table", name=f"Settlement versions of {day_label(day)}")
    newest = versions.locator("tbody").get_by_role("row").first
    expect(newest.get_by_role("cell").nth(0)).to_have_text(f"{version + 1} (counts)")
    expect(newest.get_by_role("cell").nth(1)).to_have_text("30 Nov 2026 11:00 CET")
    expect(newest.get_by_role("cell").nth(3)).to_have_text("120.50")

    run = rest_json(operator, world.operator, f"/settlement/{day}")
    assert run["version"] == version + 1
    kinds = operator.get_by_role("table", name=f"Totals per kind of line, version {version + 1}")
    for kind, total in run["totals_eur"].items():
        row = kinds.get_by_role("row").filter(
            has=operator.get_by_role("rowheader", name=KIND_LABELS[kind], exact=True)
        )
        expect(row.get_by_role("cell")).to_have_text(eur(Decimal(total)))
    facts = operator.locator("dl.facts").first
    expect(facts).to_contain_text(f"Nomination documents{run['documents']}")
    assert run["reconciliation"]["ok"] is True
    expect(facts).to_contain_text("✓ Reconciled")

    org_id = world.org_ids[DISPATCHER]
    [invoice] = rest_json(operator, world.operator, f"/organisations/{org_id}/invoices")["items"]
    assert invoice["version"] == version + 1
    per_org = operator.get_by_role("table", name=f"Invoices of version {version + 1}", exact=False)
    row = per_org.get_by_role("row").filter(
        has=operator.get_by_role("rowheader", name=DISPATCHER, exact=True)
    )
    expect(row.get_by_role("cell").last).to_have_text(number(Decimal(invoice["amount_due_eur"])))
    check_accessible(operator)
    snapshot(operator, "settlement")

    row.get_by_role("link", name=DISPATCHER).click()
    expect(
        operator.get_by_role(
            "heading", name=f"Delivery day {day_label(day)} · settlement version {version + 1}"
        )
    ).to_be_visible()


@pytest.mark.parametrize(("day", "mtus"), [(date(2026, 3, 29), 92), (date(2026, 10, 25), 100)])
def test_a_daylight_saving_day_is_noted(page: Page, world: World, day: date, mtus: int) -> None:
    operator = sign_in(page, world.operator, f"/ui/operator/settlement?day={day}")
    expect(operator.get_by_text("Daylight-saving day:")).to_be_visible()
    expect(
        operator.get_by_text(f"{day_label(day)} has {mtus} MTUs of 15 minutes, not 96", exact=False)
    ).to_be_visible()
    expect(operator.get_by_text(f"{day_label(day)} has not been settled yet.")).to_be_visible()


@pytest.mark.usefixtures("after_delivery")
def test_a_run_form_sent_again_settles_the_day_once(
    page: Page, world: World, server: LiveServer
) -> None:
    """Each run is a new version: the same form sent twice (a reload of its answer, the
    browser's history) must not store a second one."""
    day = world.delivery_day
    version = _version(server, day)
    operator = sign_in(page, world.operator, f"/ui/operator/settlement?day={day}")
    _run_button(operator, day).click()
    form = operator.get_by_role("dialog").locator("form")
    fields = {
        "form_key": form.locator("input[name=form_key]").input_value(),
        "day": day.isoformat(),
        "imbalance_price_eur_per_mwh": "99.00",
    }
    for _ in range(2):
        answer = operator.request.post(
            "/ui/operator/settlement/run",
            form=fields,
            headers={"origin": server.url},
            max_redirects=0,
        )
        assert answer.status == 303, answer.text()
    assert _version(server, day) == version + 1
