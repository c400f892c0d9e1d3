"""The sandbox's clock in the store: one row holding how far the sandbox's time runs ahead
of the clock the server is given (its *base*: the wall clock, or a test's).

Every process over the store reads the same row, so a move by one server (or by
``vba sandbox advance``) is seen by the others at their next reading, and it outlives a
restart. Reading it is one primary-key read per reading of the time, no cache: a cache
would let a process run on an old time after another one moved it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta

import sqlalchemy as sa

from auction.lifecycle import Status
from auction.store.engine import Connection, Store
from auction.store.schema import auctions, sandbox_clock

_ROW = sandbox_clock.c.clock_id == 1
_SELECT = sa.select(sandbox_clock.c.offset_us).where(_ROW)


def read_offset(conn: Connection, *, lock: bool = False) -> timedelta:
    """The sandbox's offset (``lock``: held until the transaction ends, for a move)."""
    query = _SELECT.with_for_update() if lock and conn.dialect.name == "postgresql" else _SELECT
    offset_us = conn.execute(query).scalar_one_or_none()
    return timedelta(microseconds=offset_us or 0)


def write_offset(conn: Connection, offset: timedelta) -> None:
    """Store ``offset``. Only moves (``auction.sandbox_clock.moved_offset``) and the setting
    up of a store that nobody uses yet (the demo's) call this: it checks nothing."""
    offset_us = offset // timedelta(microseconds=1)
    if conn.execute(sandbox_clock.update().where(_ROW).values(offset_us=offset_us)).rowcount == 0:
        conn.execute(sandbox_clock.insert().values(clock_id=1, offset_us=offset_us))


def due_instants(conn: Connection, after: datetime, until: datetime) -> list[datetime]:
    """The instants in (``after``, ``until``] at which the scheduler has work: gates of open
    auctions closing, auctions that publish by themselves reaching ``publish_at``."""
    gates = sa.select(auctions.c.gate_close).where(
        auctions.c.status == Status.OPEN.value,
        auctions.c.gate_close > after,
        auctions.c.gate_close <= until,
    )
    publications = sa.select(auctions.c.publish_at).where(
        auctions.c.auto_publish.is_(True),
        auctions.c.status.in_([Status.OPEN.value, Status.CLOSED.value, Status.CLEARED.value]),
        auctions.c.publish_at > after,
        auctions.c.publish_at <= until,
    )
    instants = {*conn.execute(gates).scalars(), *conn.execute(publications).scalars()}
    return sorted(i for i in instants if i is not None)


class StoreClock:
    """The server's time: ``base()`` plus, in the sandbox, the store's offset.

    ``turn`` is held by whoever runs the scheduler's work in this process (the scheduler
    loop, a move catching up on the work it jumped over), so that the two never interleave
    and every piece of due work runs at its own instant, in order.
    """

    def __init__(self, store: Store, base: Callable[[], datetime], *, sandbox: bool) -> None:
        self.store = store
        self.base = base
        self.sandbox = sandbox
        self.turn = threading.Lock()
        self._last_offset = timedelta(0)

    def offset(self) -> timedelta:
        if not self.sandbox:
            return timedelta(0)
        with self.store.read() as conn:
            self._last_offset = read_offset(conn)
        return self._last_offset

    def __call__(self) -> datetime:
        offset = self.offset()
        return self.base() + offset

    def offset_in(self, conn: Connection) -> timedelta:
        """The offset, read in ``conn``'s transaction: a request that reads the store
        anyway (its user) needs no transaction of its own for the time."""
        if self.sandbox:
            self._last_offset = read_offset(conn)
        return self._last_offset

    def last_offset(self) -> timedelta:
        """The offset this process read last: for an error page when the store itself
        failed (never for a rule)."""
        return self._last_offset
