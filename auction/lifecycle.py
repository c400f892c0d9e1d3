"""The life of an auction: its statuses, the steps between them, and the bidding gate.

``draft → open → closed → cleared → published``, or ``cancelled`` from any status before
publication. The gate closes by itself: an ``open`` auction whose ``gate_close`` has passed
takes no more bids, whether or not the step to ``closed`` has been written yet.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from auction.accounts import Role
from auction.errors import Conflict


class Status(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"
    CLEARED = "cleared"
    PUBLISHED = "published"
    CANCELLED = "cancelled"


def visible_to(status: Status, role: Role) -> bool:
    """Drafts are the operator's: to anyone else an auction in draft does not exist (404)."""
    return role is Role.OPERATOR or status is not Status.DRAFT


# action -> (the statuses it may start from, the status it leads to)
STEPS: dict[str, tuple[frozenset[Status], Status]] = {
    "open": (frozenset({Status.DRAFT}), Status.OPEN),
    "close": (frozenset({Status.OPEN}), Status.CLOSED),
    # Clearing again replaces the earlier result, until it is published.
    "clear": (frozenset({Status.CLOSED, Status.CLEARED}), Status.CLEARED),
    "publish": (frozenset({Status.CLEARED}), Status.PUBLISHED),
    "cancel": (
        frozenset({Status.DRAFT, Status.OPEN, Status.CLOSED, Status.CLEARED}),
        Status.CANCELLED,
    ),
}


def next_status(action: str, current: Status) -> Status:
    """The status after ``action``; Conflict if the auction's status does not allow it."""
    sources, target = STEPS[action]
    if current not in sources:
        allowed = " or ".join(sorted(s.value for s in sources))
        raise Conflict(
            f"cannot {action} an auction that is {current.value}; it must be {allowed}",
            auction_status=current.value,
        )
    return target


def gate_is_open(
    status: Status, gate_open: datetime | None, gate_close: datetime, now: datetime
) -> bool:
    """Whether bids are taken now: status ``open`` and ``now`` in [gate_open, gate_close)."""
    started = gate_open is None or now >= gate_open
    return status is Status.OPEN and started and now < gate_close


def check_gate(
    status: Status, gate_open: datetime | None, gate_close: datetime, now: datetime
) -> None:
    """Raise Conflict, naming the gate times, unless bids are taken now."""
    if gate_is_open(status, gate_open, gate_close, now):
        return
    # Facts are data (the HTTP layer writes instants in UTC); the sentence is for people.
    facts = {
        "auction_status": status.value,
        "gate_open": gate_open,
        "gate_close": gate_close,
        "now": now,
    }
    if status is Status.OPEN and gate_open is not None and now < gate_open:
        why = f"the gate opens at {gate_open.isoformat()}"
    elif status in (Status.DRAFT,):
        why = "the auction is not open yet"
    elif status is Status.OPEN or now >= gate_close:
        why = f"the gate closed at {gate_close.isoformat()}"
    else:
        why = f"the auction is {status.value}"
    raise Conflict(f"bids are not accepted: {why}", **facts)


def effective_status(status: Status, gate_close: datetime, now: datetime) -> Status:
    """The status as a reader should see it: an open auction past its gate is closed."""
    if status is Status.OPEN and now >= gate_close:
        return Status.CLOSED
    return status


def bidder_view(
    status: Status, gate_open: datetime | None, now: datetime, n_bids: int, n_won: int
) -> str:
    """One organisation's view of an auction, in the guide's words."""
    if status is Status.OPEN and gate_open is not None and now < gate_open:
        return "NOT_STARTED"
    if status in (Status.DRAFT,):
        return "NOT_STARTED"
    if status is Status.OPEN:
        return "RUNNING"
    if n_bids == 0:
        return "NO_BIDS_SUBMITTED"
    if status is Status.PUBLISHED:
        return "WON" if n_won else "LOST"
    if status is Status.CANCELLED:
        return "LOST"
    return "PENDING"
