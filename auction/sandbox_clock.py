"""The sandbox's clock: the real clock plus an offset that an operator moves forward.

A trader rehearses a whole cycle (bid on D-2, dispatch on D, read the invoice on D+1)
without waiting three days. Time moves forward only: a gate that closed stays closed,
what was published stays published, and tokens and invites age as they would have. One
move goes at most ``MAX_MOVE_S`` ahead, and never past the engine's last day.
Production has no offset: its time is the real clock.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from auction.errors import BodyProblems, Problem
from auction.instants import utc_text
from auction.limits import LAST_DAY

MAX_MOVE_DAYS = 400
MAX_MOVE_S = MAX_MOVE_DAYS * 86_400
# The latest time the sandbox may reach: other rules add days to "now" and must not overflow.
LATEST = datetime.combine(LAST_DAY, datetime.min.time(), tzinfo=UTC)


def _refuse(field: str, value: object, rule: str) -> BodyProblems:
    return BodyProblems([Problem("sandbox clock", None, field, value, rule)], ("body",))


def moved_offset(
    offset: timedelta, base_now: datetime, *, advance_s: int | None, to: datetime | None
) -> timedelta:
    """The offset after moving the sandbox's time (``base_now + offset``) forward by
    ``advance_s`` seconds or to the instant ``to``: exactly one of them.

    Raises ``BodyProblems`` naming the field when the move breaks a rule.
    """
    now = base_now + offset
    if (advance_s is None) == (to is None):
        given = "both" if advance_s is not None else "neither"
        raise _refuse(
            "advance_s" if advance_s is not None else "to",
            given,
            "send exactly one of advance_s (seconds forward) or to (an instant)",
        )
    if advance_s is not None:
        if not 0 < advance_s <= MAX_MOVE_S:
            raise _refuse(
                "advance_s",
                advance_s,
                f"must be a whole number of seconds from 1 to {MAX_MOVE_S} "
                f"({MAX_MOVE_DAYS} days): the sandbox's clock only moves forward",
            )
        step = timedelta(seconds=advance_s)
    else:
        assert to is not None
        if to.tzinfo is None:
            raise _refuse("to", to.isoformat(), "must carry a UTC offset (Z or +01:00)")
        if to < now:
            raise _refuse(
                "to",
                utc_text(to),
                f"must not be before the sandbox's time {utc_text(now)}: "
                "the sandbox's clock never goes back",
            )
        step = to - now
        if step > timedelta(seconds=MAX_MOVE_S):
            raise _refuse(
                "to",
                utc_text(to),
                f"must be at most {MAX_MOVE_DAYS} days after the sandbox's time {utc_text(now)}",
            )
    if now + step > LATEST:
        field, value = ("to", utc_text(now + step)) if to is not None else ("advance_s", advance_s)
        raise _refuse(field, value, f"would move the sandbox's time past {utc_text(LATEST)}")
    return offset + step
