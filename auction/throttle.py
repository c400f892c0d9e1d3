"""Failed sign-ins and the delays they earn: the rule, apart from where the counts live.

Two counters see every failure: one per account (the email tried) and one per client
address. The first ``free_failures`` cost nothing (a person mistypes); from then on each
failure blocks the next attempt for a delay that doubles (1 s, 2 s, 4 s, ...) up to a cap.
While blocked, attempts are refused without looking at the password, so guessing stops,
and they do not count (a blocked attempt must not lengthen the block).

The caps differ on purpose. An address's cap is long (15 min): it is the attacker's own.
An account's cap is short (60 s): anybody can fail for any email, and a long block would
let an attacker lock the real user out; a success resets the account's count. Counts are
forgotten after ``forget_after`` without a failure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class Scope(StrEnum):
    ACCOUNT = "account"
    ADDRESS = "address"


@dataclass(frozen=True, slots=True)
class Policy:
    free_failures: int
    first_delay: timedelta
    cap: timedelta
    forget_after: timedelta

    def delay(self, failures: int) -> timedelta:
        """The block after the ``failures``-th failure in a row (zero while still free)."""
        if failures < self.free_failures:
            return timedelta(0)
        doublings = min(failures - self.free_failures, 32)  # 2**32 s is past any cap
        return min(self.first_delay * (1 << doublings), self.cap)


POLICIES = {
    Scope.ACCOUNT: Policy(5, timedelta(seconds=1), timedelta(seconds=60), timedelta(hours=1)),
    Scope.ADDRESS: Policy(5, timedelta(seconds=1), timedelta(minutes=15), timedelta(hours=1)),
}


@dataclass(frozen=True, slots=True)
class Failures:
    """The failures counted for one account or one address."""

    count: int
    last_at: datetime
    blocked_until: datetime | None


def after_failure(before: Failures | None, policy: Policy, now: datetime) -> Failures:
    """The count after one more failure at ``now``, and the block it earns."""
    stale = before is None or now - before.last_at >= policy.forget_after
    count = 1 if stale or before is None else before.count + 1
    delay = policy.delay(count)
    return Failures(count, now, now + delay if delay else None)


def blocked_until(states: list[Failures | None], now: datetime) -> datetime | None:
    """The end of the longest block still running at ``now`` among ``states``, if any."""
    ends = [s.blocked_until for s in states if s is not None and s.blocked_until is not None]
    running = [end for end in ends if end > now]
    return max(running) if running else None


def retry_after_s(until: datetime, now: datetime) -> int:
    """Whole seconds to wait (``Retry-After``), at least one."""
    return max(1, math.ceil((until - now).total_seconds()))
