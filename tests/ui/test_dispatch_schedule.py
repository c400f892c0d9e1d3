"""A virtual asset's dispatch page: the schedule editor (one kW input per MTU, labelled in
Berlin time), Submit Schedule refused whole or accepted as a new version, the SoC chart,
and the dispatch gate closure; plus the grid of the DST days without a browser."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from playwright.sync_api import Page, expect

from api import services
from api.web.pages.dispatch import schedule_grid
from api.web.render import number, templates
from auction.errors import DomainError, Problem
from auction.timegrid import day_bounds
from dispatch.schedule import BlockTerms, Point, apply_schedule
from tests.ui.conftest import (
    DISPATCHER,
    NOW,
    LiveServer,
    World,
    check_accessible,
    painted_pixels,
    sign_in,
    snapshot,
)

BERLIN = ZoneInfo("Europe/Berlin")
# The ISO instants in the API's rule texts (the page shows them in Berlin time).
ISO = re.compile(r"\d{4}-\d{2}-\d{2}T[\d:.]+(?:Z|[+-]\d{2}:\d{2})")


@dataclass(frozen=True)
class Target:
    """The dispatcher's first whole-day virtual asset with a wholesale block."""

    org_id: str
    va_id: str
    block_id: str
    product_id: str

    @property
    def url(self) -> str:
        return f"/ui/dispatch/{self.va_id}"

    def stored(self, server: LiveServer) -> services.dispatch.BlockSchedule:
        return services.dispatch.read_schedule(server.store, self.org_id, self.va_id, self.block_id)


@pytest.fixture
def target(server: LiveServer, world: World) -> Target:
    org_id = world.org_ids[DISPATCHER]
    day_start, day_end = day_bounds(world.delivery_day)
    for va in services.dispatch.virtual_assets(server.store, org_id, NOW, status="upcoming"):
        for b in va["blocks"]:
            if b["market"] == "wholesale" and (b["start"], b["end"]) == (day_start, day_end):
                return Target(org_id, va["virtual_asset_id"], b["block_id"], va["product_id"])
    raise AssertionError("the dispatcher has no whole-day wholesale block")


@pytest.fixture
def trader(page: Page, world: World, target: Target) -> Page:
    """The dispatching trader, signed in onto the target's dispatch page."""
    sign_in(page, world.dispatcher, target.url)
    return page


def local_label(instant: datetime) -> str:
    return instant.astimezone(BERLIN).strftime("%H:%M")


def zoned(instant: datetime) -> str:
    local = instant.astimezone(BERLIN)
    return f"{local:%H:%M} {local.tzname()}"


def fill(page: Page, first: str, last: str, kw: int) -> None:
    """The range fill: from and to timeslot (their zoned labels), a kW value, Fill."""
    page.get_by_label("From timeslot (Berlin)").select_option(label=first)
    page.get_by_label("To timeslot (Berlin)").select_option(label=last)
    page.get_by_label(re.compile(r"^Power kW")).fill(str(kw))
    page.get_by_role("button", name="Fill", exact=True).click()


def test_the_grid_is_labelled_in_berlin_time_while_the_browser_is_in_new_york(
    trader: Page, server: LiveServer, target: Target
) -> None:
    server.clock.now = NOW
    assert trader.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone") == (
        "America/New_York"
    )
    stored = target.stored(server)
    terms = stored.terms
    expect(trader.get_by_role("heading", level=1)).to_contain_text(target.product_id)
    expect(trader.get_by_role("columnheader", name="Hour (Berlin, CET)")).to_be_visible()
    expect(trader.get_by_text("+ discharge / export").first).to_be_visible()
    grid = trader.get_by_role("table", name=re.compile(r"^Power kW per timeslot"))
    expect(grid.get_by_role("spinbutton")).to_have_count(terms.n_mtu)
    labels = [local_label(terms.mtu_start(k)) for k in range(terms.n_mtu)]
    assert labels[0] == "00:00"
    assert labels[-1] == "23:45"
    assert len(labels) == 96
    for k, label in enumerate(labels):
        box = trader.get_by_label(f"{label} kW", exact=True)
        expect(box).to_have_value(str(stored.profile.power_kw[k]))
        expect(box).to_be_enabled()  # D-1: every gate is still open
    check_accessible(trader)


def expected_problems(
    before: services.dispatch.BlockSchedule, sent: dict[int, int]
) -> tuple[list[Point], list[Problem]]:
    """What the API's rules say of the timeslots sent (index: kW): the page sends those."""
    points = [Point(before.terms.mtu_start(k), kw) for k, kw in sorted(sent.items())]
    with pytest.raises(DomainError) as refused:
        apply_schedule(before.terms, np.asarray(before.profile.power_kw), points, NOW)
    return points, refused.value.problems


def check_refusal(page: Page, points: list[Point], problems: list[Problem], version: int) -> None:
    """Every problem listed with its timeslot's Berlin time and rule, the slot marked."""
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Nothing was changed")
    expect(alert).to_contain_text(f"stays at version {version}")
    expect(alert).to_be_focused()
    expect(alert.get_by_role("listitem")).to_have_count(len(problems))
    for problem in problems:
        rule_head = ISO.split(problem.rule)[0].strip()
        if problem.row is None:
            expect(alert).to_contain_text(rule_head)
            continue
        point = points[problem.row - 1]
        expect(alert).to_contain_text(f"{zoned(point.time)}: {rule_head}")
        box = page.get_by_label(f"{local_label(point.time)} kW", exact=True)
        expect(box).to_have_attribute("aria-invalid", "true")
        expect(box).to_have_value(str(point.power_kw))  # the input is kept


def test_full_power_in_every_slot_is_refused_with_every_broken_slot_and_nothing_changes(
    trader: Page, server: LiveServer, target: Target
) -> None:
    server.clock.now = NOW
    before = target.stored(server)
    assert before.version is not None  # the demo dispatched it once
    version, terms, stored_kw = before.version.version, before.terms, before.profile.power_kw
    full = terms.power_kw
    first, last = zoned(terms.mtu_start(0)), zoned(terms.mtu_start(terms.n_mtu - 1))
    fill(trader, first, last, full)
    expect(trader.get_by_role("status").filter(has_text="Filled")).to_contain_text(
        f"Filled {terms.n_mtu} timeslots"
    )
    trader.get_by_role("button", name="Submit Schedule").click()
    sent = {k: full for k in range(terms.n_mtu) if stored_kw[k] != full}
    points, problems = expected_problems(before, sent)
    check_refusal(trader, points, problems, version)
    check_accessible(trader)

    # Over the block's power in two timeslots as well: each is named with its rule.
    for at in ("10:30", "14:00"):
        trader.get_by_label(f"{at} kW", exact=True).fill(str(full + 1))
    trader.get_by_role("button", name="Submit Schedule").click()
    sent.update({42: full + 1, 56: full + 1})
    points, problems = expected_problems(before, sent)
    assert [p.row and zoned(points[p.row - 1].time) for p in problems] == [
        "10:30 CET",
        "14:00 CET",
    ]
    check_refusal(trader, points, problems, version)
    snapshot(trader, "dispatch-refused")

    # Nothing changed: the store holds the old version; a reload shows it.
    after = target.stored(server)
    assert after.version == before.version
    assert after.profile.power_kw.tolist() == stored_kw.tolist()
    trader.goto(target.url)
    expect(trader.get_by_text(f"version {version}", exact=True)).to_be_visible()
    for k in (0, 5, 42):
        box = trader.get_by_label(f"{local_label(terms.mtu_start(k))} kW", exact=True)
        expect(box).to_have_value(str(stored_kw[k]))
        expect(box).not_to_have_attribute("aria-invalid", "true")


def test_a_small_schedule_filled_by_range_is_accepted_and_charted(
    trader: Page, server: LiveServer, target: Target
) -> None:
    server.clock.now = NOW
    before = target.stored(server)
    terms = before.terms
    quarter = terms.power_kw // 4
    # Charge a quarter of the power for two hours at night, discharge it again at dusk.
    fill(trader, "02:00 CET", "03:45 CET", -quarter)
    fill(trader, "17:00 CET", "18:45 CET", quarter)
    expect(trader.get_by_text("16 timeslots changed")).to_be_visible()
    trader.get_by_role("button", name="Submit Schedule").click()

    after = target.stored(server)
    assert after.version is not None
    assert before.version is not None
    version = after.version.version
    assert version == before.version.version + 1
    expect(trader.get_by_role("status").filter(has_text="accepted")).to_have_text(
        f"Schedule accepted: version {version} is now in force."
    )
    expect(trader.get_by_text(f"version {version}", exact=True)).to_be_visible()
    expect(trader.get_by_text(f"This schedule is {after.profile.summary}.")).to_be_visible()
    for k in range(terms.n_mtu):
        if k % 8 == 0:
            box = trader.get_by_label(f"{local_label(terms.mtu_start(k))} kW", exact=True)
            expect(box).to_have_value(str(after.profile.power_kw[k]))
    assert after.profile.power_kw[8:16].tolist() == [-quarter] * 8
    assert after.profile.power_kw[68:76].tolist() == [quarter] * 8

    chart = trader.get_by_role("img", name=re.compile(r"^State of charge in kWh"))
    expect(chart).to_be_visible()
    assert painted_pixels(chart) > 1000
    check_accessible(trader)
    snapshot(trader, "dispatch-va")
    trader.get_by_text("Data table: power and SoC per timeslot").click()
    table = trader.get_by_role("table", name=re.compile(rf"^Version {version}: power and SoC"))
    expect(table.get_by_role("row")).to_have_count(terms.n_mtu + 1)
    expect(table.get_by_role("row", name=re.compile(r"^02:00 "))).to_contain_text(
        number(-quarter, 0)
    )
    check_accessible(trader)


def test_nothing_to_send_a_fraction_and_a_schedule_changed_meanwhile_are_refused(
    trader: Page, server: LiveServer, target: Target
) -> None:
    server.clock.now = NOW
    before = target.stored(server)
    assert before.version is not None
    version = before.version.version
    submit = trader.get_by_role("button", name="Submit Schedule")

    submit.click()  # nothing changed in the form
    alert = trader.get_by_role("alert")
    expect(alert).to_contain_text("There is nothing to submit. Nothing was changed")
    expect(alert).to_contain_text(
        f"no timeslot differs from the stored schedule (version {version})"
    )

    trader.get_by_label("10:30 kW", exact=True).fill("12.5")
    submit.click()
    expect(alert).to_contain_text("10:30 CET: ")
    expect(alert).to_contain_text("valid integer")
    expect(trader.get_by_label("10:30 kW", exact=True)).to_have_attribute("aria-invalid", "true")
    assert target.stored(server).version == before.version

    # Another tab of the same trader submits a schedule while this one is being edited.
    other = trader.context.new_page()
    other.goto(target.url)
    other.get_by_label("20:00 kW", exact=True).fill("100")
    other.get_by_role("button", name="Submit Schedule").click()
    expect(other.get_by_role("status").filter(has_text="accepted")).to_contain_text(
        f"version {version + 1}"
    )
    other.close()

    trader.get_by_label("10:30 kW", exact=True).fill("200")
    submit.click()
    expect(alert).to_contain_text("The schedule changed while you edited it. Nothing was changed")
    expect(alert).to_contain_text(f"version {version + 1} was accepted meanwhile")
    expect(trader.get_by_label("10:30 kW", exact=True)).to_have_value("200")  # kept
    expect(trader.get_by_label("20:00 kW", exact=True)).to_have_value("100")  # the other's
    check_accessible(trader)
    submit.click()  # the page now knows the new version: this one goes in
    expect(trader.get_by_role("status").filter(has_text="accepted")).to_contain_text(
        f"version {version + 2}"
    )
    after = target.stored(server).profile.power_kw
    assert (after[42], after[80]) == (200, 100)


def test_past_the_gate_the_earlier_timeslots_are_locked(
    page: Page, server: LiveServer, world: World, target: Target
) -> None:
    # 10:00 CET on the delivery day (a new session: the one of D-1 has expired).
    now = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
    server.clock.now = now
    try:
        sign_in(page, world.dispatcher, target.url)
        terms = target.stored(server).terms
        for k in range(terms.n_mtu):
            start = terms.mtu_start(k)
            box = page.get_by_label(f"{local_label(start)} kW", exact=True)
            if (start - now).total_seconds() > terms.gate_closure_s:
                expect(box).to_be_enabled()
            else:
                expect(box).to_be_disabled()
        expect(page.get_by_label("10:00 kW", exact=True)).to_be_disabled()
        expect(page.get_by_label("10:15 kW", exact=True)).to_be_enabled()
        expect(page.get_by_text("Timeslots up to 10:00 CET are past")).to_be_visible()
        # The range fill offers the open timeslots only.
        options = page.get_by_label("From timeslot (Berlin)").get_by_role("option")
        expect(options.first).to_have_text("10:15 CET")
        check_accessible(page)
    finally:
        server.clock.now = NOW


# --- the DST days, without a browser ------------------------------------------------------


def _day_terms(day: date) -> BlockTerms:
    start, end = day_bounds(day)
    return BlockTerms(
        start=start,
        end=end,
        mtu_minutes=15,
        power_kw=1000,
        energy_kwh=1000,
        initial_soc_kwh=500,
        final_soc_kwh=500,
        final_soc_tolerance_kwh=0,
    )


def _grid_html(terms: BlockTerms) -> tuple[list[str], str]:
    grid = schedule_grid(terms, [0] * terms.n_mtu, terms.start - timedelta(days=1))
    macro = templates.env.get_template("dispatch/grid.html").module.schedule_grid  # type: ignore[attr-defined]
    html = str(macro(grid, "/ui/dispatch/va/blocks/b/schedule", 0, {}))
    return [s.label for s in grid.slots], html


def test_the_fall_back_day_has_100_timeslots_each_labelled_with_its_zone() -> None:
    labels, html = _grid_html(_day_terms(date(2026, 10, 25)))
    assert len(labels) == 100
    assert all(label.endswith((" CET", " CEST")) for label in labels)
    assert labels[:12] == [f"{h:02d}:{m:02d} CEST" for h in (0, 1, 2) for m in (0, 15, 30, 45)]
    assert labels[12:16] == ["02:00 CET", "02:15 CET", "02:30 CET", "02:45 CET"]
    assert labels[-1] == "23:45 CET"
    assert "Hour (Berlin, CEST/CET)" in html
    assert html.count('type="number" step="1"') == 100 + 1  # the grid and the fill's kW
    for label in ("02:00 CEST", "02:00 CET", "23:45 CET"):
        assert f'>{label}<span class="vh"> kW</span></label>' in html
    assert ">02 CEST</th>" in html
    assert ">02 CET</th>" in html


def test_the_spring_forward_day_has_92_timeslots_and_no_0200() -> None:
    labels, html = _grid_html(_day_terms(date(2026, 3, 29)))
    assert len(labels) == 92
    assert labels[7:9] == ["01:45 CET", "03:00 CEST"]
    assert not any(label.startswith("02:") for label in labels)
    assert "Hour (Berlin, CET/CEST)" in html
    assert html.count('type="number" step="1"') == 92 + 1


def test_an_ordinary_day_names_its_zone_in_the_header_only() -> None:
    labels, html = _grid_html(_day_terms(date(2026, 11, 29)))
    assert labels[0] == "00:00"
    assert labels[-1] == "23:45"
    assert len(labels) == 96
    assert "Hour (Berlin, CET)" in html
