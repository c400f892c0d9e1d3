"""Opening the store: SQLite (embedded default) or PostgreSQL, through the same code.

SQLite runs in WAL mode with ``synchronous=FULL``: a transaction is on disk when COMMIT
returns, so a write answered 2xx survives a crash of the process or the machine (POSTs
waiting for the writer share one commit: ``Store.write_each`` from threads,
``Store.write_soon`` from coroutines). Writers start with ``BEGIN IMMEDIATE`` so that two
writers never deadlock upgrading a read lock; readers do not block writers. PostgreSQL
writers lock the rows they depend on instead (``SELECT … FOR UPDATE`` on the auction, or
``FOR SHARE`` for bid submissions, which may run side by side).
"""

from __future__ import annotations

import asyncio
import contextvars
import queue
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext, suppress
from typing import Any, TypeVar, cast

import anyio.to_thread
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection as Connection  # re-exported: routes use no SQLAlchemy
from sqlalchemy.engine import Engine

DEFAULT_URL = "sqlite:///./vba.db"
BUSY_TIMEOUT_MS = 30_000
GROUP_MAX = 64  # pieces of work sharing one SQLite commit at most

T = TypeVar("T")


def database_url(url: str) -> str:
    """``postgresql://`` means the psycopg 3 driver, the one this project installs."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def open_engine(url: str = DEFAULT_URL) -> Engine:
    """An engine for ``url``, with the durability settings described above."""
    url = database_url(url)
    if not url.startswith("sqlite"):
        return sa.create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
    engine = sa.create_engine(
        url, connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000}
    )

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below decide how transactions start.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in (f"busy_timeout={BUSY_TIMEOUT_MS}", "synchronous=FULL", "foreign_keys=ON"):
            cursor.execute(f"PRAGMA {pragma}")
        _wal(cursor)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _wal(cursor: Any) -> None:
    """Put the file in WAL mode. Switching a new file's journal needs it alone for a moment,
    and SQLite answers "locked" at once instead of waiting when another connection (a
    second server starting beside this one) is in the middle of creating the schema: try
    again for as long as the busy timeout allows."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


class Store:
    """The store of one environment: an engine and its two kinds of transaction."""

    def __init__(self, url: str = DEFAULT_URL) -> None:
        self.url = url
        self.engine = open_engine(url)
        self._writer = self.engine.execution_options(write=True)
        # SQLite has one writer at a time. Threads of this process queue here, in order,
        # rather than in SQLite's busy handler, which polls with sleeps of up to 100 ms
        # and turned the p99 latency of concurrent bids into seconds. Other processes on
        # the same file still meet the busy timeout.
        self._write_lock = threading.Lock() if self.dialect == "sqlite" else nullcontext()
        self._queue: deque[_Pending] = deque()
        self._inbox: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._writer_thread: threading.Thread | None = None
        self._writer_started = threading.Lock()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A transaction that may write; committed when the block ends without error."""
        with self._write_lock, self._writer.begin() as conn:
            yield conn

    def write_each(self, work: Callable[[Connection], T]) -> T:
        """``work`` in a write transaction, returned once its commit is durable.

        On SQLite, works queued meanwhile by other threads share one transaction, each in
        its own savepoint, and so one fsync (group commit): the writer lock is held for
        the fsync, which, one per request, bounded intake. Each work sees the ones before
        it, as if run one after the other; one that raises is rolled back to its savepoint
        alone and raises in its own thread; all answer after the COMMIT (if that fails,
        every work of the group raises). PostgreSQL runs writers side by side: one each.
        """
        if self.dialect != "sqlite":
            with self.write() as conn:
                return work(conn)
        pending = _Pending(work)
        self._queue.append(pending)  # deque.append is atomic
        with self._write_lock:
            while not pending.done:  # else a leader before us ran it and committed
                group: list[_Pending] = []
                while self._queue and len(group) < GROUP_MAX:
                    group.append(self._queue.popleft())
                self._run_group(group)
        return cast(T, pending.answer())

    async def write_soon(self, work: Callable[[Connection], T]) -> T:
        """``write_each`` for a coroutine, without a thread-pool hop per request.

        On SQLite the work goes to this store's writer thread, which runs whatever is
        queued in one transaction (group commit, as ``write_each``) and answers every
        caller of the group on its event loop at once, after the COMMIT. PostgreSQL runs
        writers side by side: ``write_each`` in a worker thread of the server's pool.
        """
        if self.dialect != "sqlite":
            # The server's thread pool (anyio's, as for plain ``def`` routes), not asyncio's
            # default executor, which has only cpu + 4 threads for every worker's writes.
            return await anyio.to_thread.run_sync(self.write_each, work)
        loop = asyncio.get_running_loop()
        pending = _Pending(work, loop.create_future())
        self._start_writer()
        self._inbox.put(pending)
        assert pending.future is not None
        return cast(T, await pending.future)

    def _start_writer(self) -> None:
        if self._writer_thread is None:
            with self._writer_started:
                if self._writer_thread is None:
                    thread = threading.Thread(target=self._write_loop, daemon=True)
                    thread.start()
                    self._writer_thread = thread

    def _write_loop(self) -> None:
        """The writer thread: one group at a time, each answered on its callers' loops."""
        while (first := self._inbox.get()) is not None:
            group = [first]
            while len(group) < GROUP_MAX:
                try:
                    more = self._inbox.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._inbox.put(None)  # stop after this group
                    break
                group.append(more)
            with self._write_lock:  # shared with write() and write_each() callers
                self._run_group(group)
            by_loop: dict[asyncio.AbstractEventLoop, list[_Pending]] = {}
            for pending in group:
                assert pending.future is not None
                by_loop.setdefault(pending.future.get_loop(), []).append(pending)
            for loop, answered in by_loop.items():
                with suppress(RuntimeError):  # a loop closed meanwhile: nobody waits
                    loop.call_soon_threadsafe(_settle, answered)

    def _run_group(self, group: list[_Pending]) -> None:
        """Run ``group`` in one transaction; the caller holds the writer lock."""
        try:
            with self._writer.begin() as conn:
                if len(group) == 1:  # alone: no savepoint, its error rolls back everything
                    group[0].run_alone(conn)
                else:
                    for pending in group:
                        pending.run(conn)
        except BaseException as exc:  # the COMMIT (or BEGIN) failed: nothing is stored
            for pending in group:
                pending.error, pending.result = exc, None
        for pending in group:
            pending.done = True

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A consistent read-only snapshot."""
        with self.engine.begin() as conn:
            yield conn

    def dispose(self) -> None:
        if self._writer_thread is not None:
            self._inbox.put(None)
            self._writer_thread.join()
            self._writer_thread = None
        self.engine.dispose()


def _settle(group: list[_Pending]) -> None:
    """On a caller's event loop: hand each work's outcome to its waiting coroutine."""
    for pending in group:
        assert pending.future is not None
        if pending.future.cancelled():  # the client went away; the write stands
            continue
        if pending.error is not None:
            pending.future.set_exception(pending.error)
        else:
            pending.future.set_result(pending.result)


class _Pending:
    """One work waiting for a group commit, run in its caller's context (request id, log
    and event listeners are context variables)."""

    __slots__ = ("context", "done", "error", "future", "result", "work")

    def __init__(
        self, work: Callable[[Connection], Any], future: asyncio.Future[Any] | None = None
    ) -> None:
        self.work = work
        self.future = future
        self.context = contextvars.copy_context()
        self.done = False
        self.result: Any = None
        self.error: BaseException | None = None

    def run(self, conn: Connection) -> None:
        try:
            with conn.begin_nested():
                self.result = self.context.run(self.work, conn)
        except Exception as exc:  # this work's alone: rolled back to its savepoint
            self.error = exc

    def run_alone(self, conn: Connection) -> None:
        try:
            self.result = self.context.run(self.work, conn)
        except Exception as exc:
            self.error = exc
            raise

    def answer(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.result
