"""The auction calendar over a real store (SQLite file and PostgreSQL): the scheduler's
tick creates each day's auction once, at its time, from the template's latest version;
skips marked days; refuses a day its fleet cannot carry; reports missed days."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from api import services
from api.services import auctions, calendar, calendar_view
from api.services.scheduler import tick
from auction.calendar.template import render
from auction.errors import BodyProblems, Conflict
from auction.lifecycle import Status
from auction.store import Store
from auction.store.auctions import get_auction, list_auctions, product_frame
from auction.store.calendar import day_outcomes
from auction.store.sandbox_clock import StoreClock
from auction.store.schema import calendar_days
from auction.timegrid import mtu_count
from tests.calendar_bodies import template_body, template_product
from tests.strategies import asset

ACTOR = "operator-test"
SAVED = datetime(2027, 3, 1, 12, tzinfo=UTC)
SPRING = date(2027, 3, 28)
AUTUMN = date(2027, 10, 31)


def at_berlin(day: date, hour: int) -> datetime:
    from zoneinfo import ZoneInfo

    return datetime(day.year, day.month, day.day, hour, tzinfo=ZoneInfo("Europe/Berlin"))


def opening(day: date) -> datetime:
    """When the template opens (and creates) ``day``'s auction: D-7 09:00 Berlin."""
    return at_berlin(day - timedelta(days=7), 9)


@pytest.fixture
def fleet(store: Store) -> None:
    rows = [asset("bess-1", 10.0, 20.0), asset("bess-2", 10.0, 20.0)]
    auctions.put_fleet(store, rows, ACTOR, SAVED)


def save(store: Store, body: dict[str, object] | None = None, now: datetime = SAVED) -> int:
    return calendar.save_template(store, "daily", body or template_body(), ACTOR, now).version


def outcomes(store: Store) -> dict[date, str]:
    with store.read() as conn:
        return {o.delivery_day: o.outcome for o in day_outcomes(conn)}


def auction_ids(store: Store) -> list[str]:
    with store.read() as conn:
        return sorted(r.auction_id for r in list_auctions(conn))


@pytest.mark.usefixtures("fleet")
def test_the_tick_creates_each_day_once_at_its_opening(store: Store) -> None:
    save(store)  # first day: the first whose opening is still ahead (2027-03-09)
    first = date(2027, 3, 9)
    tick(store, opening(first) - timedelta(minutes=1))
    assert auction_ids(store) == []
    tick(store, opening(first))
    assert auction_ids(store) == ["daily-2027-03-09"]
    tick(store, opening(first) + timedelta(minutes=5))  # again: nothing new
    assert auction_ids(store) == ["daily-2027-03-09"]
    with store.read() as conn:
        record = get_auction(conn, "daily-2027-03-09")
    assert record.status is Status.OPEN
    assert record.auto_publish
    assert record.config.gate_open == opening(first)
    assert record.gate_close == at_berlin(date(2027, 3, 7), 15)


@pytest.mark.usefixtures("fleet")
@pytest.mark.parametrize(("day", "mtus", "night_h"), [(SPRING, 92, 5), (AUTUMN, 100, 7)])
def test_dst_days_get_their_quarter_hours_and_clipped_products(
    store: Store, day: date, mtus: int, night_h: int
) -> None:
    save(store, template_body(first_day=day.isoformat()), now=opening(day) - timedelta(days=1))
    tick(store, opening(day))
    auction_id = f"daily-{day.isoformat()}"
    assert auction_ids(store) == [auction_id]
    with store.read() as conn:
        products = {p["product_id"]: p for p in product_frame(conn, auction_id).to_dicts()}
    whole_day = products["DAY"]["end"] - products["DAY"]["start"]
    assert whole_day // timedelta(minutes=15) == mtu_count(day) == mtus
    assert products["NIGHT"]["end"] - products["NIGHT"]["start"] == timedelta(hours=night_h)


@pytest.mark.usefixtures("fleet")
def test_a_skipped_holiday_gets_no_auction_and_says_why(store: Store) -> None:
    save(store)
    holiday = date(2027, 3, 12)
    calendar.set_exception(
        store,
        "daily",
        holiday,
        action="skip",
        reason="maintenance",
        use_template=None,
        actor=ACTOR,
        now=SAVED,
    )
    for day in (date(2027, 3, 11), holiday, date(2027, 3, 13)):
        tick(store, opening(day))
    assert auction_ids(store) == [
        "daily-2027-03-09",
        "daily-2027-03-10",
        "daily-2027-03-11",
        "daily-2027-03-13",
    ]
    assert outcomes(store)[holiday] == "skipped"
    days = calendar_view.calendar(store, holiday, 1, opening(holiday))
    assert [(d.state, d.reason) for d in days] == [("skipped", "maintenance")]
    # A day decided already cannot be marked any more.
    with pytest.raises(Conflict, match="created already"):
        calendar.set_exception(
            store,
            "daily",
            date(2027, 3, 11),
            action="skip",
            reason="late",
            use_template=None,
            actor=ACTOR,
            now=SAVED,
        )


@pytest.mark.usefixtures("fleet")
def test_an_adapted_day_takes_the_other_template(store: Store) -> None:
    save(store)
    short = template_body(products=[template_product("HALF", "00:00", "12:00")], active=False)
    calendar.save_template(store, "short", short, ACTOR, SAVED)
    day = date(2027, 3, 10)
    calendar.set_exception(
        store,
        "daily",
        day,
        action="adapt",
        reason="half day",
        use_template="short",
        actor=ACTOR,
        now=SAVED,
    )
    tick(store, opening(day))
    with store.read() as conn:
        ids = list(product_frame(conn, "daily-2027-03-10")["product_id"])
    assert ids == ["HALF"]
    assert auction_ids(store) == ["daily-2027-03-09", "daily-2027-03-10"]  # none of "short"


def test_a_fleet_that_cannot_carry_the_day_is_refused_loudly_then_created(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    auctions.put_fleet(store, [asset("small", 0.5, 1.0)], ACTOR, SAVED)  # min is 1 MW
    save(store)
    day = date(2027, 3, 9)
    with caplog.at_level(logging.INFO, logger="vba.events"):
        tick(store, opening(day))
        tick(store, opening(day) + timedelta(minutes=1))  # the same refusal: said once
    assert auction_ids(store) == []
    refusals = [r for r in caplog.records if "refused" in r.getMessage()]
    assert [r.levelno for r in refusals] == [logging.ERROR]
    [shown] = calendar_view.calendar(store, day, 1, opening(day))
    assert shown.state == "refused"
    assert "can carry at most 0.500 MW" in str(shown.reason)
    # An outage elsewhere in the day does not matter; a bigger fleet does.
    auctions.put_fleet(store, [asset("big", 5.0, 10.0)], ACTOR, SAVED)
    tick(store, opening(day) + timedelta(minutes=2))
    assert auction_ids(store) == ["daily-2027-03-09"]
    assert outcomes(store)[day] == "created"


@pytest.mark.usefixtures("fleet")
def test_a_restart_in_the_creation_window_creates_what_is_due_and_reports_what_was_missed(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    save(store)  # first day 2027-03-09; the scheduler then stays down until 03-12 10:00
    back = at_berlin(date(2027, 3, 12), 10)
    with caplog.at_level(logging.INFO, logger="vba.events"):
        tick(store, back)
    decided = outcomes(store)
    # 03-09 .. 03-13: gates (D-2 15:00) closed while it was down; 03-14 .. 03-19 opened
    # (D-7 09:00) while it was down and are still open for bids: created now.
    missed = [d for d, o in decided.items() if o == "missed"]
    assert missed == [date(2027, 3, d) for d in range(9, 14)]
    created = [d for d, o in decided.items() if o == "created"]
    assert created == [date(2027, 3, d) for d in range(14, 20)]
    missed_lines = [r for r in caplog.records if "missed" in r.getMessage()]
    assert len(missed_lines) == 5
    assert {r.levelno for r in missed_lines} == {logging.ERROR}
    tick(store, back + timedelta(seconds=1))  # nothing twice
    assert outcomes(store) == decided


@pytest.mark.usefixtures("fleet")
def test_a_template_edit_applies_from_the_next_day_not_yet_created(store: Store) -> None:
    save(store)
    tick(store, opening(date(2027, 3, 10)))  # 03-09 and 03-10 created with version 1
    edited = template_body(
        products=[template_product("DAY", "00:00", "24:00", reserve_price_eur_per_mw="99")]
    )
    assert save(store, edited, now=opening(date(2027, 3, 10)) + timedelta(hours=1)) == 2
    tick(store, opening(date(2027, 3, 11)))
    with store.read() as conn:
        prices = {
            day: list(product_frame(conn, f"daily-2027-03-{day}")["reserve_price_eur_per_mw"])
            for day in (9, 10, 11)
        }
        versions = {o.delivery_day.day: o.used_version for o in day_outcomes(conn)}
    assert prices[10] == [10.0] * 5
    assert prices[11] == [99.0]
    assert versions == {9: 1, 10: 1, 11: 2}
    planned = calendar_view.calendar(store, date(2027, 3, 12), 1, opening(date(2027, 3, 11)))
    assert [(d.state, d.template_version) for d in planned] == [("planned", 2)]


def test_a_template_is_judged_by_the_rules_of_post_auctions(store: Store) -> None:
    body = template_body(products=[template_product("P", "00:00", "24:00", min_mw="0.0001")])
    with pytest.raises(BodyProblems):
        save(store, body)
    late = template_body()
    late["auction"] = {**late["auction"], "create_at": "D-1 09:00"}  # after the gate
    with pytest.raises(BodyProblems, match="before its gate closes"):
        save(store, late)
    with pytest.raises(BodyProblems, match="its gate closed at 2027-02-26T14:00:00Z"):
        save(store, template_body(first_day="2027-02-28"))  # SAVED is 2027-03-01 12:00Z


def race(workers: list[Store], now: datetime) -> list[BaseException]:
    """Every worker ticks at ``now`` in its own thread, all released at once; the
    exceptions they raised."""
    start = threading.Barrier(len(workers))
    failures: list[BaseException] = []

    def work(worker: Store) -> None:
        start.wait()
        try:
            tick(worker, now)
        except BaseException as exc:  # reported by the caller
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return failures


@pytest.mark.usefixtures("fleet")
def test_two_workers_racing_for_the_same_days_create_each_once(
    store_url: str, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    """Two stores over one database (two workers: their own engines and connections) tick
    at the same instant from two threads; each day gets one auction and one decision."""
    save(store)
    workers = [Store(store_url), Store(store_url)]
    try:
        for day in (date(2027, 3, 9), date(2027, 3, 10), date(2027, 3, 11)):
            with caplog.at_level(logging.INFO, logger="vba.events"):
                assert race(workers, opening(day)) == []
        # Neither failed (the tick logs a failure rather than raising it).
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
        created = [r for r in caplog.records if r.getMessage().startswith("the calendar created")]
        assert len(created) == 3
        assert auction_ids(store) == [f"daily-2027-03-{d:02d}" for d in (9, 10, 11)]
        with store.read() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(calendar_days)).scalar() == 3
    finally:
        for worker in workers:
            worker.dispose()


@pytest.mark.usefixtures("fleet")
def test_a_worker_that_decided_late_meets_the_others_row_and_does_nothing(
    store_url: str, store: Store
) -> None:
    """Deterministic: worker A holds its uncommitted creation while B decides the same
    day; B waits for A's commit (PostgreSQL: at the primary key; SQLite: at the writer
    lock), then does nothing."""
    save(store)
    day = date(2027, 3, 9)
    other = Store(store_url)
    answer: list[object] = []
    try:
        with store.write() as conn:
            from api.services.calendar import _decide

            assert _decide(conn, "daily", day, opening(day)) is not None
            racer = threading.Thread(
                target=lambda: answer.append(calendar.decide_day(other, "daily", day, opening(day)))
            )
            racer.start()
            racer.join(timeout=1.0)
            assert racer.is_alive()  # waiting for this transaction
        racer.join()
    finally:
        other.dispose()
    assert answer == [None]
    assert auction_ids(store) == ["daily-2027-03-09"]


@pytest.mark.usefixtures("fleet")
def test_the_sandbox_clock_creates_each_day_at_its_time_when_it_jumps(store: Store) -> None:
    """A move of the sandbox's clock over creation times runs the tick at each: the days
    are created at their own opening, as a waiting server would."""
    save(store)
    clock = StoreClock(store, lambda: SAVED, sandbox=True)
    services.sandbox.move_clock(store, clock, ACTOR, advance_s=3 * 86_400, to=None)
    with store.read() as conn:
        decided = {o.delivery_day: o.decided_at for o in day_outcomes(conn)}
    assert decided == {
        d: opening(d) for d in (date(2027, 3, 9), date(2027, 3, 10), date(2027, 3, 11))
    }


@pytest.mark.usefixtures("fleet")
def test_an_auction_made_by_hand_under_the_day_s_id_is_a_refusal_not_a_failure(
    store: Store,
) -> None:
    save(store)
    day = date(2027, 3, 9)
    rendered = render(template_body(), "daily", day)
    with store.write() as conn:
        auctions.create_auction(
            conn,
            rendered.auction,
            rendered.products,
            [],
            auto_publish=False,
            actor=ACTOR,
            now=SAVED,
        )
    tick(store, opening(date(2027, 3, 10)))
    assert outcomes(store) == {day: "refused", date(2027, 3, 10): "created"}
    [shown] = calendar_view.calendar(store, day, 1, opening(day))
    assert shown.reason == "an auction daily-2027-03-09 exists already (created by hand?)"
