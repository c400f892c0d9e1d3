"""Who runs the scheduler among the processes over one store: its leader.

PostgreSQL: the leader holds a session-level advisory lock on a connection of its own.
The lock lives as long as that session: a worker that exits, crashes or is killed closes
its socket, PostgreSQL ends the session and the lock is free for the next worker that
asks (every worker asks once per scheduler round). A machine that vanishes without
closing its socket is noticed by the server's TCP keepalives, set short on this session.
The key is derived from the schema, so stores in different schemas of one database
(the tests') do not share a leader.

SQLite: one process per store file (``vba serve`` refuses several workers over it), so
that process leads.
"""

from __future__ import annotations

import hashlib
from contextlib import suppress

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.pool import NullPool

from auction.store.engine import Store

# A dead peer is noticed after about idle + interval × count seconds.
_KEEPALIVE = {"tcp_keepalives_idle": 5, "tcp_keepalives_interval": 2, "tcp_keepalives_count": 3}
_CONNECT = {"connect_timeout": 5, "keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2}


def lock_key(schema: str) -> int:
    """The advisory lock's key for the scheduler of the store in ``schema`` (signed 64 bits)."""
    digest = hashlib.blake2b(f"vba-engine scheduler {schema}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class Leadership:
    """Whether this process leads: ``hold()`` once per round, ``release()`` at the end.

    Not thread-safe: one scheduler loop calls it, one call at a time."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._engine: sa.Engine | None = None
        self._conn: Connection | None = None
        self.leading = False

    def hold(self) -> bool:
        """Become or stay the leader if no other process is; whether this one leads now.

        A failure to reach the store counts as not leading (the work would fail too)."""
        if self.store.dialect != "postgresql":
            self.leading = True
            return True
        try:
            if self.leading:
                assert self._conn is not None
                self._conn.execute(sa.text("SELECT 1"))  # the session, and so the lock, lives
            else:
                conn = self._connection()
                key = lock_key(conn.execute(sa.text("SELECT current_schema()")).scalar_one())
                query = sa.text("SELECT pg_try_advisory_lock(:key)")
                self.leading = bool(conn.execute(query, {"key": key}).scalar_one())
        except sa.exc.DBAPIError:
            self._drop()
        return self.leading

    def release(self) -> None:
        """Stop leading: closing the session frees the lock at once."""
        self._drop()
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def _connection(self) -> Connection:
        if self._conn is None:
            if self._engine is None:
                # Its own engine without a pool: the lock's session is never lent out.
                self._engine = sa.create_engine(
                    self.store.engine.url, poolclass=NullPool, connect_args=_CONNECT
                )
            conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            for name, value in _KEEPALIVE.items():
                conn.execute(sa.text(f"SET {name} = {int(value)}"))
            if (conn.dialect.server_version_info or (0,)) >= (14,):
                # A database-wide idle timeout must not end the leader's session.
                conn.execute(sa.text("SET idle_session_timeout = 0"))
            self._conn = conn
        return self._conn

    def _drop(self) -> None:
        self.leading = False
        if self._conn is not None:
            conn, self._conn = self._conn, None
            with suppress(sa.exc.DBAPIError):  # a broken session is closed all the same
                conn.close()
