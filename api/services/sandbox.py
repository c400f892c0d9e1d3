"""The sandbox's clock: read it, move it forward and do the work the move jumped over."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from api.services import calendar
from api.services.scheduler import tick
from auction.errors import Conflict
from auction.instants import utc_text
from auction.sandbox_clock import moved_offset
from auction.store import Store, audit
from auction.store.sandbox_clock import StoreClock, due_instants, read_offset, write_offset

log = logging.getLogger("vba.api")


@dataclass(frozen=True, slots=True)
class ClockState:
    now: datetime
    offset: timedelta


def clock_state(clock: StoreClock) -> ClockState:
    """The sandbox's time and its offset, from one reading of the store."""
    offset = clock.offset()
    return ClockState(clock.base() + offset, offset)


def move_clock(
    store: Store,
    clock: StoreClock,
    actor: str,
    *,
    advance_s: int | None = None,
    to: datetime | None = None,
) -> ClockState:
    """Move the sandbox's time forward (``auction.sandbox_clock`` has the rules), then run
    the scheduler's work at each instant the move passed, in order, and at the new time:
    a jump over a gate and a publication ends as waiting for them would have, each one
    stamped with its own time.

    The new offset is written first, in one transaction with its audit record, so that
    moves from several processes add up. This process's scheduler waits for the catch-up
    (``clock.turn``); another process's may do a piece of that work a moment later than
    its instant, with the same outcome.
    """
    if not clock.sandbox:
        raise Conflict("the clock moves only in the sandbox: production runs on the real clock")
    with clock.turn:
        with store.write() as conn:
            offset = read_offset(conn, lock=True)
            base = clock.base()
            before = base + offset
            new_offset = moved_offset(offset, base, advance_s=advance_s, to=to)
            after = base + new_offset
            write_offset(conn, new_offset)
            due = due_instants(conn, before, after)
            audit.record(
                conn,
                actor,
                "sandbox.clock.move",
                "sandbox/clock",
                before,
                **{"from": utc_text(before), "to": utc_text(after)},
                advance_s=advance_s,
                offset_s=new_offset // timedelta(seconds=1),
            )
        # The calendar's creation times too: a jump over a day's whole creation window
        # would otherwise leave the day missed.
        created = calendar.creation_instants(store, before, after)
        for instant in [*sorted({*due, *created}), after]:
            try:
                tick(store, instant)
            except Exception:  # as the scheduler: the move stands; the log names the auction
                log.exception("the work due at %s failed", utc_text(instant))
    return clock_state(clock)


def set_up_clock(store: Store, clock: StoreClock, now: datetime, actor: str) -> None:
    """Put a store that nobody uses yet at sandbox time ``now``, back or forth (the demo
    does, before it serves its store): not a move, so none of a move's rules apply."""
    with store.write() as conn:
        offset = read_offset(conn, lock=True)
        base = clock.base()
        write_offset(conn, now - base)
        audit.record(
            conn,
            actor,
            "sandbox.clock.set_up",
            "sandbox/clock",
            base + offset,
            to=utc_text(now),
        )
