"""The calendar's REST routes: templates saved and versioned, days marked, the calendar
read after the scheduler's ticks; hostile input refused naming the field, changing nothing."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from api.http.app import scheduled_tick
from api.services.scheduler import tick
from auction.store import Store
from tests.api.conftest import PASSWORD, Account, Clock, provision
from tests.api.test_hostile_input import LONG, MEGA, NUL, raw, refused
from tests.calendar_bodies import template_body, template_product
from tests.strategies import asset

TEMPLATE = "/calendar/templates/daily"


@dataclass
class World:
    client: TestClient
    operator: Account
    store: Store
    clock: Clock


@pytest.fixture
def world(store: Store, make_client: Callable[[], TestClient], clock: Clock) -> World:
    client = make_client()
    operator = provision(store, client, "Operator", "operator")
    fleet = {"assets": [asset("a1", 5.0, 10.0), asset("a2", 5.0, 10.0)]}
    answer = client.put("/fleet/assets", headers=operator.headers, json=fleet)
    assert answer.status_code == 200, answer.text
    return World(client, operator, store, clock)


def _late(world: World, h: dict[str, str]) -> str:
    """What the calendar says is overdue on 12-04's auction of the template daily."""
    answer = world.client.get("/calendar", headers=h, params={"first_day": "2026-12-04", "days": 1})
    [day] = [d for d in answer.json()["items"] if d["template_id"] == "daily"]
    return str(day["late"])


def signed_in(world: World) -> dict[str, str]:
    answer = world.client.post(
        "/auth/public/authenticate",
        json={"username": world.operator.email, "password": PASSWORD},
    )
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def test_a_template_is_saved_versioned_and_read(world: World) -> None:
    c, h = world.client, world.operator.headers
    first = c.put(TEMPLATE, headers=h, json=template_body())
    assert first.status_code == 200, first.text
    assert first.json()["version"] == 1
    # The clock is 2026-11-26 12:00 UTC: the first day opening (D-7 09:00) later is 12-04.
    assert first.json()["body"]["first_day"] == "2026-12-04"
    edited = template_body(auto_publish=False)
    second = c.put(TEMPLATE, headers=h, json=edited)
    assert second.json()["version"] == 2
    assert second.json()["body"]["first_day"] == "2026-12-04"  # kept from version 1
    assert [t["version"] for t in c.get(f"{TEMPLATE}/versions", headers=h).json()["items"]] == [
        1,
        2,
    ]
    assert c.get(TEMPLATE, headers=h, params={"version": 1}).json()["body"]["auto_publish"]
    assert not c.get(TEMPLATE, headers=h).json()["body"]["auto_publish"]
    assert [t["template_id"] for t in c.get("/calendar/templates", headers=h).json()["items"]] == [
        "daily"
    ]
    assert c.get("/calendar/templates/nothing", headers=h).status_code == 404


def test_the_calendar_shows_planned_created_skipped_and_refused_days(world: World) -> None:
    c, h = world.client, world.operator.headers
    assert c.put(TEMPLATE, headers=h, json=template_body()).status_code == 200
    skip = c.put(
        "/calendar/exceptions/daily/2026-12-05",
        headers=h,
        json={"action": "skip", "reason": "maintenance of the SCADA link"},
    )
    assert skip.status_code == 200, skip.text
    # A second template the fleet cannot carry (min 50 MW; the fleet has 10 MW).
    big = template_body(products=[template_product("BIG", "00:00", "24:00", min_mw="50")])
    saved = c.put("/calendar/templates/big", headers=h, json=big)
    assert saved.status_code == 200, saved.text
    world.clock.now += timedelta(days=5)  # 2026-12-01 12:00 UTC: 12-04 .. 12-08 opened
    tick(world.store, world.clock.now)
    answer = c.get("/calendar", headers=h, params={"first_day": "2026-12-04", "days": 6})
    assert answer.status_code == 200, answer.text
    by = {(d["template_id"], d["delivery_day"]): d for d in answer.json()["items"]}
    assert {k[1]: d["state"] for k, d in by.items() if k[0] == "daily"} == {
        "2026-12-04": "created",
        "2026-12-05": "skipped",
        "2026-12-06": "created",
        "2026-12-07": "created",
        "2026-12-08": "created",
        "2026-12-09": "planned",
    }
    daily = by[("daily", "2026-12-04")]
    assert daily["auction_id"] == "daily-2026-12-04"
    assert daily["auction_status"] == "open"
    assert daily["late"] is None
    assert by[("daily", "2026-12-05")]["reason"] == "maintenance of the SCADA link"
    assert by[("daily", "2026-12-09")]["create_at"] == "2026-12-02T08:00:00Z"
    refusal = by[("big", "2026-12-06")]
    assert refusal["state"] == "refused"
    assert "needs 50 MW" in refusal["reason"]
    # Two days on, the gate of 12-04 passed (12-02 15:00) and so did its publication
    # (17:00), which nobody ran: the calendar says it is overdue.
    world.clock.now += timedelta(days=2)
    h = signed_in(world)  # tokens last a week of the clock
    answer = c.get("/calendar", headers=h, params={"first_day": "2026-12-04", "days": 1})
    [late] = [d for d in answer.json()["items"] if d["template_id"] == "daily"]
    assert late["auction_status"] == "closed"
    assert "due to publish at 2026-12-02T16:00:00Z" in late["late"]
    assert "its clearing did not finish" in late["late"]
    # Cleared by hand but still not published; then as if the checker had refused it.
    cleared = c.post("/auctions/daily-2026-12-04/clear", headers=h)
    assert cleared.status_code == 200, cleared.text
    assert "its publication failed" in _late(world, h)
    with world.store.write() as conn:
        refused = "UPDATE clearings SET checker_ok = false WHERE auction_id = 'daily-2026-12-04'"
        conn.execute(sa.text(refused))
    assert "the independent checker refused its result" in _late(world, h)
    # A created day cannot be marked any more.
    answer = c.put(
        "/calendar/exceptions/daily/2026-12-06",
        headers=h,
        json={"action": "skip", "reason": "too late"},
    )
    assert answer.status_code == 409, answer.text


TEMPLATE_CHANGES = [
    (("auction", "gate_open"), "D+1 09:00", "gate_open"),
    (("auction", "gate_close"), "D-2 25:00", "gate_close"),
    (("auction", "publish_at"), LONG, "publish_at"),
    (("auction", "create_at"), f"D-8 09:00{NUL}", "create_at"),
    (("auction", "tso_zone"), "XX", "tso_zone"),
    (("auction", "time_zone"), "Mars/Olympus_Mons", "time_zone"),
    (("auction", "time_zone"), "\u0d5d\U0010db8c", "time_zone"),
    (("products", 0, "start"), "24:30", "start"),
    (("products", 0, "end"), MEGA, "end"),
    (("products", 0, "min_mw"), "NaN", "min_mw"),
    (("products", 0, "product_id"), f"p{NUL}", "product_id"),
    (("products", 0, "reserve_price_eur_per_mw"), 1e17, "reserve_price_eur_per_mw"),
    (("dst",), "both", "dst"),
    (("first_day",), "9999-12-31", "first_day"),
]


@pytest.mark.parametrize(("where", "value", "field"), TEMPLATE_CHANGES)
def test_a_bad_template_is_refused_naming_the_field(
    world: World, where: tuple[Any, ...], value: Any, field: str
) -> None:
    body: Any = template_body()
    target = body
    for key in where[:-1]:
        target = target[key]
    target[where[-1]] = value
    refused(world.client.put(TEMPLATE, headers=world.operator.headers, json=body), field)
    assert world.client.get(TEMPLATE, headers=world.operator.headers).status_code == 404


def test_a_template_breaking_an_auction_rule_is_refused_by_the_same_rules(world: World) -> None:
    body = template_body(products=[template_product("P", "00:07", "24:00")])  # off the grid
    refused(world.client.put(TEMPLATE, headers=world.operator.headers, json=body), "start")
    body = template_body()
    body["auction"]["create_at"] = "D-1 09:00"  # after the gate, D-2 15:00
    refused(world.client.put(TEMPLATE, headers=world.operator.headers, json=body), "create_at")


def test_raw_nan_and_bad_paths_are_refused(world: World) -> None:
    c, h = world.client, world.operator.headers
    text = json.dumps(template_body()).replace('"min_mw": "1"', '"min_mw": NaN', 1)
    refused(c.put(TEMPLATE, **raw(text, world.operator)), "min_mw")
    refused(
        c.put(f"/calendar/templates/{'t' * 54}", headers=h, json=template_body()), "template_id"
    )
    assert c.put("/calendar/templates/a%00b", headers=h, json=template_body()).status_code == 404
    assert (
        c.put(f"/calendar/templates/{'t' * 65}", headers=h, json=template_body()).status_code == 404
    )
    for params in ({"days": 0}, {"days": 367}, {"days": "NaN"}, {"first_day": "2026-02-30"}):
        assert c.get("/calendar", headers=h, params=params).status_code == 422, params
    assert c.put(TEMPLATE, headers=h, json=template_body()).status_code == 200
    bad_marks = [
        ({"action": "adapt", "reason": "x"}, "body"),
        ({"action": "skip", "reason": f"x{NUL}"}, "reason"),
        ({"action": "skip", "reason": "x" * 501}, "reason"),
        ({"action": "holiday", "reason": "x"}, "action"),
    ]
    for mark, field in bad_marks:
        answer = c.put("/calendar/exceptions/daily/2026-12-24", headers=h, json=mark)
        assert answer.status_code == 422, answer.text
        assert field in answer.text
    missing = c.put(
        "/calendar/exceptions/nothing/2026-12-24", headers=h, json={"action": "skip", "reason": "x"}
    )
    assert missing.status_code == 404
    assert c.delete("/calendar/exceptions/daily/2026-12-24", headers=h).status_code == 404
    assert c.get("/calendar/exceptions", headers=h).json()["items"] == []
    assert date(2026, 12, 24)  # (the day used above)


def test_the_scheduler_counts_the_days_it_decided(world: World) -> None:
    """The app's tick (with its metrics listening): vba_calendar_days_total by outcome."""
    c, h = world.client, world.operator.headers
    big = template_body(products=[template_product("BIG", "00:00", "24:00", min_mw="50")])
    assert c.put(TEMPLATE, headers=h, json=template_body()).status_code == 200
    assert c.put("/calendar/templates/big", headers=h, json=big).status_code == 200
    world.clock.now += timedelta(days=9)  # 2026-12-05 12:00 UTC
    app: Any = c.app
    scheduled_tick(world.store, app.state.clock, app.state.metrics)
    text = app.state.metrics.exposition().decode()
    # Both templates: 12-04 .. 12-06 missed (gates passed at D-2 15:00 Berlin), 12-07 ..
    # 12-12 opened (D-7 09:00): "daily" created them, "big" refused them (50 MW).
    assert 'vba_calendar_days_total{outcome="created"} 6.0' in text
    assert 'vba_calendar_days_total{outcome="refused"} 6.0' in text
    assert 'vba_calendar_days_total{outcome="missed"} 6.0' in text
