"""Bringing a store up to the newest schema on start, with Alembic.

The revisions are in ``migrations/versions``. ``migrate`` runs those a store lacks, one per
transaction, each taking the store's write lock before it reads the store's revision, so
that two servers starting at once never both run one. Stores of the numbered migrations
that came before (a ``schema_version`` table at 1, 2 or 3) are adopted first: revisions
0001 to 0003 are those migrations, so the store's number is its revision.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from auction.store.engine import Connection, Store

SCRIPTS = Path(__file__).with_name("migrations")
LEGACY = {1: "0001", 2: "0002", 3: "0003"}  # schema_version -> revision


def config(conn: Connection | None = None) -> Config:
    """Alembic's configuration for the store; ``conn``: run on that connection."""
    cfg = Config()
    cfg.set_main_option("script_location", str(SCRIPTS))
    if conn is not None:
        cfg.attributes["connection"] = conn
    return cfg


def current_version(store: Store) -> str | None:
    """The store's revision (None: an empty store, or one not yet adopted)."""
    with store.read() as conn:
        return MigrationContext.configure(conn).get_current_revision()


@cache
def head() -> str:
    """The newest revision this code knows: a store at another one is not ready for it."""
    revision = ScriptDirectory.from_config(config()).get_current_head()
    assert revision is not None  # the project ships its revisions
    return revision


def _lock(store: Store, conn: Connection) -> None:
    if store.dialect == "postgresql":
        # SQLite's writers already queue (BEGIN IMMEDIATE); PostgreSQL's take this lock.
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(7341)"))


def _adopt(conn: Connection, scripts: ScriptDirectory) -> None:
    """Record the revision of a numbered store's version, and drop its ``schema_version``."""
    if not sa.inspect(conn).has_table("schema_version"):
        return
    version = conn.execute(sa.text("SELECT max(version) FROM schema_version")).scalar()
    if version is not None:
        if version not in LEGACY:
            raise RuntimeError(f"the store is at schema version {version}, unknown here")
        MigrationContext.configure(conn).stamp(scripts, LEGACY[version])
    conn.execute(sa.text("DROP TABLE schema_version"))


def _following(scripts: ScriptDirectory, current: str | None) -> str | None:
    """The revision after ``current``; None if ``current`` is the newest."""
    if current is not None:
        scripts.get_revision(current)  # a store newer than this code: fail, not guess
    for script in scripts.walk_revisions():
        if script.down_revision == current:
            return script.revision
    return None


def migrate(store: Store) -> str:
    """Apply every revision the store lacks; returns the store's revision afterwards."""
    scripts = ScriptDirectory.from_config(config())
    while True:
        with store.write() as conn:
            _lock(store, conn)
            _adopt(conn, scripts)
            current = MigrationContext.configure(conn).get_current_revision()
            following = _following(scripts, current)
            if following is None:
                assert current is not None
                return current
            command.upgrade(config(conn), following)
