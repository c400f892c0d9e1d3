"""The operator's fleet: the assets as stored, the outages recorded, and an outage recorded
in the browser with the re-backing it caused."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Locator, Page, expect

from api import services
from api.cli.demo import _busiest_asset
from api.web.pages.fleet import wall_time
from api.web.render import number
from auction.store import Store
from auction.store.fleet import fleet_frame, outage_records
from tests.ui.conftest import (
    NOW,
    LiveServer,
    World,
    check_accessible,
    copy_store,
    sign_in,
    snapshot,
)

BERLIN = ZoneInfo("Europe/Berlin")
DASH = "\N{EN DASH}"
FLEET = "/ui/operator/fleet"


@pytest.fixture
def operator(page: Page, world: World) -> Page:
    """Signed in as the operator straight onto this screen."""
    return sign_in(page, world.operator, FLEET)


def _rows(page: Page, region: str) -> Locator:
    return page.get_by_role("region", name=region).locator("tbody").get_by_role("row")


def _row(page: Page, region: str, header: str) -> Locator:
    return _rows(page, region).filter(has=page.get_by_role("rowheader", name=header, exact=True))


def _outages(server: LiveServer) -> int:
    with server.store.read() as conn:
        return len(outage_records(conn, ending_after=NOW))


def test_the_fleet_table_shows_the_stored_assets(operator: Page, server: LiveServer) -> None:
    server.clock.now = NOW
    operator.get_by_role("navigation", name="Main").get_by_role("link", name="Fleet").click()
    expect(operator.get_by_role("heading", name="Fleet", level=1)).to_be_visible()
    expect(operator.get_by_role("link", name="Fleet")).to_have_attribute("aria-current", "page")
    with server.store.read() as conn:
        fleet = fleet_frame(conn)
    expect(_rows(operator, "Physical assets")).to_have_count(fleet.height)
    for asset in fleet.to_dicts():
        cells = _row(operator, "Physical assets", asset["asset_id"]).get_by_role("cell")
        expect(cells).to_have_text(
            [
                asset["tso_zone"],
                number(asset["p_charge_mw"]),
                number(asset["p_discharge_mw"]),
                number(asset["e_min_mwh"]),
                number(asset["e_max_mwh"]),
                number(asset["eta_charge"]),
                number(asset["eta_discharge"]),
                "yes" if asset["fcr"] else "no",
                "yes" if asset["afrr_pos"] else "no",
                "yes" if asset["afrr_neg"] else "no",
                asset["owner_org"] or "—",
                "Available",  # no outage of the sample covers NOW
            ]
        )
    # The outages not ended yet, each with its Berlin window.
    with server.store.read() as conn:
        current = outage_records(conn, ending_after=NOW)
    expect(_rows(operator, "Outages and derates")).to_have_count(len(current))
    first = current[0]
    local = first.start.astimezone(BERLIN)
    row = _rows(operator, "Outages and derates").nth(0)
    expect(row.get_by_role("rowheader")).to_have_text(first.asset_id)
    expect(row.get_by_role("cell").nth(0)).to_have_text(f"{local:%d %b %Y %H:%M} {local:%Z}")
    expect(row.get_by_role("cell").nth(2)).to_have_text(number(first.available_fraction))
    check_accessible(operator)
    snapshot(operator, "fleet")


def _fill(page: Page, asset: str, start: str, end: str, fraction: str) -> None:
    page.get_by_label("Asset", exact=True).select_option(asset)
    page.get_by_label("From (Berlin)").fill(start)
    page.get_by_label("To (Berlin)").fill(end)
    page.get_by_label("Available fraction (0 = outage, 1 = fully available)").fill(fraction)
    page.get_by_role("button", name="Record outage").click()


@pytest.mark.parametrize(
    ("start", "end", "fraction", "label", "rule"),
    [
        ("2026-11-29T10:00", "2026-11-29T09:00", "0", "To (Berlin)", "end must be after start"),
        (
            "2026-11-29T09:00",
            "2026-11-29T10:00",
            "1.5",
            "Available fraction (0 = outage, 1 = fully available)",
            "available_fraction must lie in [0, 1]",
        ),
    ],
)
def test_a_refused_outage_names_its_field_and_changes_nothing(
    operator: Page,
    server: LiveServer,
    start: str,
    end: str,
    fraction: str,
    label: str,
    rule: str,
) -> None:
    server.clock.now = NOW
    before = _outages(server)
    operator.goto(FLEET)
    rows = _rows(operator, "Outages and derates").count()
    _fill(operator, "bess-audorf-01", start, end, fraction)
    alert = operator.get_by_role("alert")
    expect(alert).to_contain_text("Nothing was changed")
    expect(alert).to_contain_text(f"{label}: {rule}")
    expect(alert).to_be_focused()
    field = operator.get_by_label(label)
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_accessible_description(re.compile(re.escape(rule)))
    # The input is kept for the next try.
    expect(operator.get_by_label("From (Berlin)")).to_have_value(start)
    expect(operator.get_by_label("Asset", exact=True)).to_have_value("bess-audorf-01")
    check_accessible(operator)
    assert _outages(server) == before
    operator.goto(FLEET)
    expect(_rows(operator, "Outages and derates")).to_have_count(rows)


def _copy(server: LiveServer, target: Path) -> Store:
    """The server's store as it is now, in a file of its own."""
    source = server.store.engine.url.database
    assert source is not None
    copy_store(Path(source), target)
    return Store(f"sqlite:///{target}")


def test_an_outage_of_a_busy_asset_shows_its_rebacking(
    operator: Page, server: LiveServer, world: World, tmp_path: Path
) -> None:
    server.clock.now = NOW
    start = datetime(2026, 11, 29, 16, 0, tzinfo=BERLIN)
    end = datetime(2026, 11, 29, 20, 0, tzinfo=BERLIN)
    busy = _busiest_asset(
        server.store, world.sample_auction, start.astimezone(UTC), end.astimezone(UTC)
    )
    body = {"asset_id": busy, "start": start, "end": end, "available_fraction": 0}
    # What the service does with the same outage on a copy of the same store.
    twin = _copy(server, tmp_path / "twin.db")
    try:
        expected = services.outages.record_outage(twin, body, "tests", NOW)
    finally:
        twin.dispose()
    assert expected.blocks_touched > 0
    assert expected.unavailable.height > 0
    before = _outages(server)

    operator.goto(FLEET)
    _fill(operator, busy, "2026-11-29T16:00", "2026-11-29T20:00", "0")
    expect(operator.get_by_role("status")).to_have_text(
        "Outage recorded. What its re-backing did is shown below."
    )
    result = operator.get_by_role("region", name="Re-backing of the outage just recorded")
    facts = {
        "Asset": busy,
        f"From {DASH} to (Berlin)": f"29 Nov 2026 16:00 CET {DASH} 29 Nov 2026 20:00 CET",
        "What the re-backing did": expected.summary,
        "Blocks whose backing changed": str(expected.blocks_touched),
        "Blocks curtailed": str(expected.unavailable["block_id"].n_unique()),
        "Blocks re-backed whole": str(
            expected.blocks_touched - expected.unavailable["block_id"].n_unique()
        ),
        "Backing moved to other assets (kW)": number(expected.moved_kw, 0),
        "Lost: no asset could take it over, most at once (kW)": number(expected.lost_kw, 0),
        "Schedule points that no longer fit": str(len(expected.conflicts)),
    }
    expect(result.get_by_role("term").first).to_be_visible()
    shown = dict(
        zip(
            result.get_by_role("term").all_inner_texts(),
            result.get_by_role("definition").all_inner_texts(),
            strict=True,
        )
    )
    assert {term: shown.get(term) for term in facts} == facts
    expect(_rows(operator, "Curtailed blocks")).to_have_count(expected.unavailable.height)
    worst = expected.unavailable.sort("lost_kw", descending=True).row(0, named=True)
    curtailed = _rows(operator, "Curtailed blocks").filter(has_text=worst["block_id"])
    expect(curtailed.filter(has_text=number(worst["lost_kw"], 0)).first).to_be_visible()
    # Stored once, with the Berlin wall times read as such.
    with server.store.read() as conn:
        stored = outage_records(conn, ending_after=NOW)
    assert len(stored) == before + 1
    assert any(
        (o.asset_id, o.start, o.end, o.available_fraction)
        == (busy, start.astimezone(UTC), end.astimezone(UTC), 0.0)
        for o in stored
    )
    check_accessible(operator)
    snapshot(operator, "fleet-outage")
    # The page after the redirect can be reloaded: it shows the answer, records nothing.
    operator.reload()
    expect(result.get_by_text(expected.summary)).to_be_visible()
    assert _outages(server) == before + 1


def test_wall_times_are_berlin_and_the_dst_changes_are_read_sensibly() -> None:
    winter, problem = wall_time("2026-11-29T16:00", "start", later=False)
    assert problem is None
    assert winter == datetime(2026, 11, 29, 15, 0, tzinfo=UTC)
    # 02:30 occurs twice on 25 Oct 2026: a window starts at the first, ends at the second.
    first, _ = wall_time("2026-10-25T02:30", "start", later=False)
    second, _ = wall_time("2026-10-25T02:30", "end", later=True)
    assert first == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert second == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    # 02:30 does not exist on 29 Mar 2026: refused, naming the field.
    missing, skipped = wall_time("2026-03-29T02:30", "end", later=True)
    assert missing is None
    assert skipped is not None
    assert skipped.column == "end"
    assert "does not exist in Berlin" in skipped.rule
    _, unreadable = wall_time("tomorrow", "start", later=False)
    assert unreadable is not None
    assert unreadable.column == "start"
