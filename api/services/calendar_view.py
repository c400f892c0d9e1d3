"""The calendar as the operator reads it: each template's next days, what happened to
each or what will, and any step that is overdue (said in ``late``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from api.services.calendar import missed_reason
from auction.calendar.template import day_times
from auction.instants import utc_text
from auction.lifecycle import Status, effective_status
from auction.store import Store
from auction.store.auctions import AuctionRecord, get_auction
from auction.store.calendar import (
    DayException,
    DayOutcome,
    TemplateVersion,
    day_outcomes,
    exceptions,
    latest_templates,
)
from auction.store.engine import Connection
from auction.store.results import get_clearing

PLANNED, TO_SKIP = "planned", "to_skip"


@dataclass(frozen=True, slots=True)
class CalendarDay:
    """One template's day: ``planned`` (created at ``create_at``), ``to_skip`` (marked),
    ``created`` (its auction and status; ``late`` if a step is overdue), ``refused``,
    ``skipped`` or ``missed``, with the reason."""

    template_id: str
    delivery_day: date
    state: str
    reason: str | None
    create_at: datetime | None
    gate_close: datetime | None
    publish_at: datetime | None
    template_version: int | None
    auction_id: str | None
    auction_status: str | None
    late: str | None


def calendar(store: Store, first: date, count: int, now: datetime) -> list[CalendarDay]:
    """The days [first, first + count) of every template (active ones, and any other
    with something decided or marked then), by day, then template."""
    last = first + timedelta(days=count - 1)
    with store.read() as conn:
        templates = {t.template_id: t for t in latest_templates(conn)}
        decided = {(o.template_id, o.delivery_day): o for o in day_outcomes(conn, first, last)}
        marked = {(e.template_id, e.delivery_day): e for e in exceptions(conn, first, last)}
        keys = set(decided) | set(marked)
        for template in templates.values():
            start = max(first, date.fromisoformat(template.body["first_day"]))
            if template.active:
                keys |= {(template.template_id, start + timedelta(days=n)) for n in range(count)}
        days = []
        for template_id, day in sorted(keys, key=lambda k: (k[1], k[0])):
            if day > last or template_id not in templates:
                continue
            key = (template_id, day)
            days.append(
                _day(conn, templates[template_id], day, decided.get(key), marked.get(key), now)
            )
    return days


def _day(
    conn: Connection,
    template: TemplateVersion,
    day: date,
    outcome: DayOutcome | None,
    exception: DayException | None,
    now: datetime,
) -> CalendarDay:
    times = day_times(template.body, day)
    if outcome is not None:
        record = get_auction(conn, outcome.auction_id) if outcome.auction_id else None
        status = None if record is None else effective_status(record.status, record.gate_close, now)
        return CalendarDay(
            template.template_id,
            day,
            outcome.outcome,
            outcome.reason,
            None,
            times.gate_close if record is None else record.gate_close,
            times.publish_at if record is None else record.publish_at,
            outcome.used_version,
            outcome.auction_id,
            None if status is None else status.value,
            None if record is None or status is None else late(conn, record, status, now),
        )
    if exception is not None and exception.action == "skip":
        state, reason = TO_SKIP, exception.reason
    elif times.gate_close <= now:
        state, reason = "missed", missed_reason(times.gate_close)
    else:
        state = PLANNED
        reason = None
        if exception is not None:
            reason = f"adapted: takes template {exception.use_template} ({exception.reason})"
    return CalendarDay(
        template.template_id,
        day,
        state,
        reason,
        times.create_at,
        times.gate_close,
        times.publish_at,
        template.version,
        None,
        None,
        None,
    )


def late(conn: Connection, record: AuctionRecord, status: Status, now: datetime) -> str | None:
    """What is overdue on a created auction: its publication (when it publishes itself),
    saying whether the clearing did not finish or the checker refused its result, or its
    gate (still in draft at the gate)."""
    if record.status is Status.DRAFT and now >= record.gate_close:
        return f"its gate closed at {utc_text(record.gate_close)} and it was never opened"
    if not (
        record.auto_publish
        and now >= record.publish_at
        and status in (Status.OPEN, Status.CLOSED, Status.CLEARED)
    ):
        return None
    cleared = get_clearing(conn, record.auction_id)
    if cleared is None:
        why = "its clearing did not finish"
    elif not cleared.checker_ok:
        why = "the independent checker refused its result"
    else:
        why = "its publication failed"
    return (
        f"it was due to publish at {utc_text(record.publish_at)} and is still "
        f"{status.value}: {why} (see the log's scheduler.failed)"
    )
