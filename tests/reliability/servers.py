"""Stores and servers of the reliability run: the demo's world on SQLite or PostgreSQL,
served by a real uvicorn on 127.0.0.1 with a clock the run sets.

- ``demo_world(workdir)``: ``vba demo``'s whole auction day plus a second auction whose gate
  is open (as the browser tests' world), in a SQLite file; who is in it.
- ``postgres_schema(base)``: a PostgreSQL schema of its own (dropped afterwards), so the
  run never touches what the tests or other runs keep in the same database.
- ``copy_store(source, target)``: every row of every table, in foreign-key order.
- ``serving(url, clock)``: uvicorn in a thread over the store at ``url``.
"""

from __future__ import annotations

import io
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import uvicorn
from rich.console import Console

from api.cli.demo import PASSWORD, run_demo
from api.cli.demo_serve import NEXT_AUCTION, demo_now, open_next_auction
from api.http.app import create_app
from api.http.settings import Settings
from auction.store import Store, migrate
from auction.store.schema import metadata
from tests.api.conftest import postgres_schema as conftest_schema

SECRET = "reliability run: a secret long enough for HS256 signing"
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"


def postgres_base() -> str:
    return os.environ.get("VBA_TEST_POSTGRES_URL") or DEFAULT_POSTGRES


@dataclass(frozen=True)
class DemoWorld:
    """The demo's store and who is in it (every demo user has the demo's password)."""

    db: Path
    operator: str  # email
    traders: dict[str, str]  # organisation name -> email
    org_ids: dict[str, str]  # organisation name -> org id
    sample_auction: str
    next_auction: str = NEXT_AUCTION
    password: str = PASSWORD


def demo_world(workdir: Path) -> DemoWorld:
    """``vba demo`` in ``workdir`` (about half a minute), then the next day's auction open."""
    workdir.mkdir(parents=True, exist_ok=True)
    outcome = run_demo(Console(file=io.StringIO()), workdir)
    db = workdir / "vba.db"
    store = Store(f"sqlite:///{db}")
    try:
        open_next_auction(store, demo_now())
    finally:
        store.dispose()
    ids = {name: org_id for org_id, name in outcome.names.items()}
    traders = {name: f"{name}@demo.example" for name in ids if name != "operator"}
    return DemoWorld(db, "operator@demo.example", traders, ids, outcome.archive.config.auction_id)


@contextmanager
def postgres_schema(base: str | None = None) -> Iterator[str]:
    """A store URL in a fresh schema of the PostgreSQL database at ``base``."""
    with conftest_schema(base or postgres_base()) as url:
        yield url


def copy_store(source_url: str, target_url: str) -> None:
    """Every row of ``source_url``'s tables into the migrated, empty ``target_url``."""
    source, target = Store(source_url), Store(target_url)
    try:
        migrate(target)
        with source.read() as src, target.write() as dst:
            for table in metadata.sorted_tables:
                rows = [dict(r._mapping) for r in src.execute(sa.select(table))]
                if rows:
                    dst.execute(table.insert(), rows)
                for column in table.columns:
                    # A serial key goes on after the rows copied (PostgreSQL keeps a sequence).
                    if column.autoincrement is True and target_url.startswith("postgresql"):
                        dst.execute(
                            sa.text(
                                f"SELECT setval(pg_get_serial_sequence('{table.name}', "
                                f"'{column.name}'), COALESCE(MAX({column.name}), 0) + 1, false) "
                                f"FROM {table.name}"
                            )
                        )
    finally:
        source.dispose()
        target.dispose()


class Clock:
    """The server's clock: the run sets ``now``."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@contextmanager
def serving(
    url: str, clock: Callable[[], datetime], *, env: str = "sandbox", **options: Any
) -> Iterator[str]:
    """A real uvicorn on 127.0.0.1 (a free port) over the store at ``url``; its base URL.
    ``options``: more settings (``hostile.TRUSTED`` for the sweep)."""
    settings = Settings(database_url=url, secret_key=SECRET, token_minutes=600, env=env, **options)
    app = create_app(settings, clock=clock, scheduler=False)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="error", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the server did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
