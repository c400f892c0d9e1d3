"""Opening the store: SQLite (embedded default) or PostgreSQL, through the same code.

SQLite runs in WAL mode with ``synchronous=FULL``: a transaction is on disk when COMMIT
returns, so a write answered 2xx survives a crash of the process or the machine. Writers
start with ``BEGIN IMMEDIATE`` so that two writers never deadlock upgrading a read lock;
readers do not block writers. PostgreSQL writers lock the rows they depend on instead
(``SELECT … FOR UPDATE`` on the auction).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection as Connection  # re-exported: routes use no SQLAlchemy
from sqlalchemy.engine import Engine

DEFAULT_URL = "sqlite:///./vba.db"
BUSY_TIMEOUT_MS = 30_000


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

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A transaction that may write; committed when the block ends without error."""
        with self._write_lock, self._writer.begin() as conn:
            yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A consistent read-only snapshot."""
        with self.engine.begin() as conn:
            yield conn

    def dispose(self) -> None:
        self.engine.dispose()
