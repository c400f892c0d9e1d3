"""What the server does by itself as time passes: create the calendar's auctions that are
due, close the gates that have passed, clear and publish the auctions due to publish
themselves."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial

from api.services import auctions, calendar, events
from auction.store import Store
from auction.store.auctions import due_to_close, due_to_publish


def tick(store: Store, now: datetime, grace: timedelta = timedelta(0)) -> None:
    """Create the calendar's auctions due (``api.services.calendar``); close the gates that
    passed ``grace`` ago or more; clear and publish what is due to publish itself.

    A bid is judged at the instant it arrived, so one that arrived before the gate but is
    still queued in a busy server (any worker's) is in time: the grace lets such requests
    finish before the book is sealed. Every arrival after the gate is refused meanwhile.

    An auction (or a calendar day) that fails does not hold up the others: its failure is
    logged with its id (and tried again next tick)."""
    for template_id, day in calendar.due_work(store, now):
        try:
            calendar.decide_day(store, template_id, day, now)
        except Exception:
            events.emit(
                "scheduler.failed",
                "scheduler could not create a day's auction from its template",
                level=logging.ERROR,
                exc_info=True,
                step="create",
                template_id=template_id,
                delivery_day=day.isoformat(),
                at=events.instant(now),
            )
    with store.read() as conn:
        closing = due_to_close(conn, now - grace)
    for auction_id in closing:
        _attempt("close", partial(auctions.close_due, grace=grace), store, auction_id, now)
    with store.read() as conn:
        publishing = due_to_publish(conn, now)
    for auction_id in publishing:
        _attempt("publish", auctions.publish_due, store, auction_id, now)


def _attempt(
    step: str,
    work: Callable[[Store, list[str], datetime], None],
    store: Store,
    auction_id: str,
    now: datetime,
) -> None:
    try:
        work(store, [auction_id], now)
    except Exception:
        events.emit(
            "scheduler.failed",
            f"scheduler could not {step} an auction",
            level=logging.ERROR,
            exc_info=True,
            step=step,
            auction_id=auction_id,
            at=events.instant(now),
        )
