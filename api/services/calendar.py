"""The auction calendar: templates saved and checked, the operator's exceptions, and the
scheduler's step that creates each delivery day's auction (``create_due``).

A day is decided once per template, in the transaction that creates its auction: the
decision's row (primary key template, day) and the auction (its id derived from both) are
written together, so a second worker racing for the same day meets either key, rolls
back and does nothing. The auction is created by ``auctions.create_auction``, the code of
``POST /auctions``: a template is judged by no other rules than an auction's.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError

from api.services import auctions, events
from auction.calendar.carry import carry_problems
from auction.calendar.days import due_days, first_day_after, local_day, missed_days
from auction.calendar.template import day_times, render, time_zone
from auction.errors import BodyProblems, Conflict, DomainError, NotFound, Problem
from auction.limits import SAFE_ID_RULE, is_safe_id
from auction.store import Store, audit
from auction.store.auctions import get_auction
from auction.store.calendar import (
    CREATED,
    MISSED,
    REFUSED,
    SKIPPED,
    DayException,
    DayOutcome,
    TemplateVersion,
    add_version,
    claim_day,
    day_outcomes,
    delete_exception,
    get_exception,
    get_outcome,
    get_template,
    latest_templates,
    put_exception,
)
from auction.store.engine import Connection
from auction.store.fleet import availability_frame, fleet_frame
from auction.timegrid import day_bounds

# A day's auction is "<template_id>-YYYY-MM-DD": 11 characters of the 64 of an auction id.
TEMPLATE_ID_MAX_LENGTH = 53

# --- templates ------------------------------------------------------------------------


def save_template(
    store: Store, template_id: str, body: dict[str, Any], actor: str, now: datetime
) -> TemplateVersion:
    """Store ``body`` (``POST /auctions``'s body with rules for times, JSON) as the
    template's next version, after judging the auction it makes for its next day by the
    rules of ``POST /auctions``. It applies from the next day not yet decided."""
    if len(template_id) > TEMPLATE_ID_MAX_LENGTH or not is_safe_id(template_id):
        rule = f"must be {SAFE_ID_RULE}, at most {TEMPLATE_ID_MAX_LENGTH} of them"
        raise BodyProblems([Problem("path", None, "template_id", template_id, rule)], ("path",))
    with store.write() as conn:
        try:
            previous = get_template(conn, template_id)
        except NotFound:
            previous = None
        if body.get("first_day") is None:
            body = {
                **body,
                "first_day": (
                    previous.body["first_day"]
                    if previous is not None
                    else first_day_after(body, now).isoformat()
                ),
            }
        elif previous is None or body["first_day"] != previous.body["first_day"]:
            _check_first_day(body, now)
        _check_template(conn, template_id, body, now)
        version = add_version(conn, template_id, body, actor, now)
        audit.record(
            conn,
            actor,
            "calendar.template",
            f"template/{template_id}",
            now,
            version=version.version,
        )
    events.emit(
        "calendar.template_saved",
        "auction template saved",
        template_id=template_id,
        version=version.version,
        by=actor,
        at=events.instant(now),
    )
    return version


def _check_first_day(body: dict[str, Any], now: datetime) -> None:
    """A first day given anew must still be creatable: its gate not closed yet (else the
    template would start by reporting days missed that nobody could have created)."""
    first = date.fromisoformat(body["first_day"])
    gate_close = day_times(body, first).gate_close
    if gate_close <= now:
        rule = f"its gate closed at {events.instant(gate_close)}: choose a later day"
        raise BodyProblems(
            [Problem("template", None, "first_day", first.isoformat(), rule)], ("body",)
        )


def _check_template(
    conn: Connection, template_id: str, body: dict[str, Any], now: datetime
) -> None:
    """Judge the template on its next day (its first day, or today): its creation comes
    before its gate closes, and the auction it makes passes ``POST /auctions``'s rules."""
    day = max(date.fromisoformat(body["first_day"]), local_day(now, time_zone(body)))
    times = day_times(body, day)
    if times.create_at >= times.gate_close:
        raise BodyProblems(
            [
                Problem(
                    "template",
                    None,
                    "create_at",
                    body["auction"].get("create_at") or body["auction"]["gate_open"],
                    "the auction must be created before its gate closes",
                )
            ],
            ("body", "auction"),
        )
    rendered = render(body, template_id, day)
    if not rendered.products:
        raise BodyProblems(
            [Problem("template", None, "products", None, f"no product has room on {day}")],
            ("body", "products"),
        )
    auctions.checked_auction(conn, rendered.auction, rendered.products, rendered.allocations)


# --- exceptions -----------------------------------------------------------------------


def set_exception(
    store: Store,
    template_id: str,
    day: date,
    *,
    action: str,
    reason: str,
    use_template: str | None,
    actor: str,
    now: datetime,
) -> DayException:
    """Mark a day of a template: ``skip`` it, or ``adapt`` it (the day takes the latest
    version of ``use_template``). Only a day not decided yet (or refused) can be marked."""
    with store.write() as conn:
        get_template(conn, template_id)
        if use_template is not None:
            get_template(conn, use_template)
        decided = get_outcome(conn, template_id, day, lock=True)
        if decided is not None and decided.outcome != REFUSED:
            raise Conflict(
                f"the day {day} of template {template_id!r} is {decided.outcome} already"
                + (
                    f" (auction {decided.auction_id}: cancel it instead)"
                    if decided.auction_id
                    else ""
                ),
                outcome=decided.outcome,
                auction_id=decided.auction_id,
            )
        exception = DayException(template_id, day, action, use_template, reason, actor, now)
        put_exception(conn, exception)
        audit.record(
            conn, actor, f"calendar.{action}", f"template/{template_id}/{day}", now, reason=reason
        )
    return exception


def remove_exception(store: Store, template_id: str, day: date, actor: str, now: datetime) -> None:
    with store.write() as conn:
        delete_exception(conn, template_id, day)
        audit.record(conn, actor, "calendar.unmark", f"template/{template_id}/{day}", now)


# --- the scheduler's step -------------------------------------------------------------


def due_work(store: Store, now: datetime) -> list[tuple[str, date]]:
    """(template, day) pairs the scheduler has to decide at ``now``: days in their
    creation window not yet decided or refused before, and days missed."""
    with store.read() as conn:
        templates = [t for t in latest_templates(conn) if t.active]
        work = []
        for template in templates:
            try:
                work += _due_days_of(conn, template, now)
            except Exception:
                # A template that cannot be read must not stop the others, nor the
                # scheduler's gates and publications: said loudly, tried again next tick.
                events.emit(
                    "scheduler.failed",
                    "scheduler could not work out a template's due days",
                    level=logging.ERROR,
                    exc_info=True,
                    step="create",
                    template_id=template.template_id,
                    at=events.instant(now),
                )
    return work


def _due_days_of(
    conn: Connection, template: TemplateVersion, now: datetime
) -> list[tuple[str, date]]:
    first = date.fromisoformat(template.body["first_day"])
    due = due_days(template.body, first, now)
    days = sorted({*due, *missed_days(template.body, first, now)})
    if not days:
        return []
    # One query per template and tick (the tick runs every second).
    decided = {
        o.delivery_day: o.outcome
        for o in day_outcomes(conn, days[0], days[-1])
        if o.template_id == template.template_id
    }
    return [
        (template.template_id, day)
        for day in days
        if day not in decided or (decided[day] == REFUSED and day in due)
    ]


def decide_day(store: Store, template_id: str, day: date, now: datetime) -> DayOutcome | None:
    """Create the template's auction for ``day``, or record why not (refused, skipped,
    missed); None if there was nothing new to record (decided by another worker, or the
    same refusal again). The event is emitted after the commit."""
    try:
        with store.write() as conn:
            outcome = _decide(conn, template_id, day, now)
    except IntegrityError:  # another worker decided the day first (PostgreSQL)
        return None
    if outcome is not None:
        _announce(outcome, now)
    return outcome


def _decide(conn: Connection, template_id: str, day: date, now: datetime) -> DayOutcome | None:
    before = get_outcome(conn, template_id, day, lock=True)
    if before is not None and before.outcome != REFUSED:
        return None
    template = get_template(conn, template_id)
    times = day_times(template.body, day)
    exception = get_exception(conn, template_id, day)
    used = template
    if exception is not None and exception.action == "adapt" and exception.use_template:
        used = get_template(conn, exception.use_template)
        times = day_times(used.body, day)

    kind: str
    reason: str | None
    auction_id: str | None
    if exception is not None and exception.action == "skip":
        kind, reason, auction_id = SKIPPED, exception.reason, None
    elif times.gate_close <= now:
        kind, reason, auction_id = MISSED, missed_reason(times.gate_close), None
    else:
        kind, reason, auction_id = _judge(conn, template_id, used, day)
    decided = DayOutcome(
        template_id, day, kind, auction_id, used.template_id, used.version, reason, now
    )
    if decided.outcome == REFUSED and before is not None and before.reason == decided.reason:
        return None  # the same refusal as last tick: said once
    if not claim_day(conn, decided, was_refused=before is not None):
        return None
    if decided.outcome == CREATED:
        _create_auction(conn, used, template_id, day, now)
    return decided


def missed_reason(gate_close: datetime) -> str:
    return (
        f"its gate closed at {events.instant(gate_close)} before the scheduler created it "
        "(was the scheduler down?)"
    )


def _judge(
    conn: Connection, template_id: str, used: TemplateVersion, day: date
) -> tuple[str, str | None, str | None]:
    """Whether the day's auction can be created: (created, None, its id), or (refused,
    the reason, None)."""
    rendered = render(used.body, template_id, day)
    taken = rendered.auction["auction_id"]
    try:
        get_auction(conn, taken)
    except NotFound:
        pass
    else:  # created by hand: the day's id is the template's, so say it rather than fail
        return REFUSED, f"an auction {taken} exists already (created by hand?)", None
    if not rendered.products:
        return REFUSED, f"no product of template {used.template_id} has room on {day}", None
    try:
        config, products, allocations = auctions.checked_auction(
            conn, rendered.auction, rendered.products, rendered.allocations
        )
    except DomainError as exc:
        return REFUSED, f"the auction breaks a rule: {exc}", None
    problems = carry_problems(
        fleet_frame(conn),
        availability_frame(conn, *day_bounds(day, config.time_zone)),
        config.tso_zone,
        products,
        allocations,
    )
    if problems:
        return REFUSED, "; ".join(problems), None
    return CREATED, None, config.auction_id


def _create_auction(
    conn: Connection, used: TemplateVersion, template_id: str, day: date, now: datetime
) -> None:
    """The auction of ``POST /auctions`` for the day, opened: bids count from gate_open."""
    rendered = render(used.body, template_id, day)
    record = auctions.create_auction(
        conn,
        rendered.auction,
        rendered.products,
        rendered.allocations,
        auto_publish=rendered.auto_publish,
        actor=audit.SYSTEM,
        now=now,
    )
    auctions.step(conn, record.auction_id, "open", audit.SYSTEM, now)


def _announce(outcome: DayOutcome, now: datetime) -> None:
    loud = outcome.outcome in (REFUSED, MISSED)
    events.emit(
        f"calendar.{outcome.outcome}",
        {
            CREATED: "the calendar created the day's auction",
            REFUSED: "the calendar refused to create the day's auction",
            SKIPPED: "the calendar skipped the day, as the operator marked it",
            MISSED: "the calendar missed the day: its gate closed before its auction existed",
        }[outcome.outcome],
        level=logging.ERROR if loud else logging.INFO,
        template_id=outcome.template_id,
        delivery_day=outcome.delivery_day.isoformat(),
        auction_id=outcome.auction_id,
        template_version=outcome.used_version,
        reason=outcome.reason,
        at=events.instant(now),
    )


# --- the sandbox's clock ---------------------------------------------------------------


def creation_instants(store: Store, after: datetime, until: datetime) -> list[datetime]:
    """Creation times of active templates' days in (after, until]: the sandbox's clock
    runs the scheduler at each when it jumps over them."""
    with store.read() as conn:
        templates = [t for t in latest_templates(conn) if t.active]
    instants = set()
    for template in templates:
        first = date.fromisoformat(template.body["first_day"])
        zone = time_zone(template.body)
        day = max(first, local_day(after, zone))
        last = local_day(until, zone) + timedelta(days=62)
        while day <= last:
            at = day_times(template.body, day).create_at
            if after < at <= until:
                instants.add(at)
            day += timedelta(days=1)
    return sorted(instants)
