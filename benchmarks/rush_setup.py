"""The rush's world: a store (a SQLite file or a PostgreSQL schema of its own), an operator
and many bidder organisations in it, the server that serves it, and the auction whose
gate closes at the end of the rush by the server's clock."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx2

from benchmarks.http_load import (
    HOST,
    PASSWORD,
    SECRET_KEY,
    TSO_ZONE,
    Server,
    checked,
    free_port,
    login,
    start_server,
    wait_ready,
)

ROOT = Path(__file__).resolve().parent.parent
AUCTION_ID = "rush"
OPERATOR = "operator@rush.example.com"


def bidder_email(k: int) -> str:
    return f"bidder{k:03d}@rush.example.com"


@contextmanager
def store_url(kind: str, tmp: Path, postgres: str) -> Iterator[str]:
    """A fresh store URL: a SQLite file in ``tmp``, or a PostgreSQL schema of its own in
    the database ``postgres`` names, dropped on the way out."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp / 'rush.db'}"
        return
    import sqlalchemy as sa

    schema = f"rush_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(postgres.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as conn:
        conn.execute(sa.text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in postgres else "?"
    try:
        yield f"{postgres}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def provision(url: str, orgs: int) -> None:
    """Migrate the store; an operator and ``orgs`` bidder organisations, one user each
    (one password hash for all: argon2 is slow on purpose)."""
    from api.http.security import hash_password
    from auction.eic import check_character
    from auction.store import Store, migrate
    from auction.store.accounts import accept_invite, create_invite, create_org

    store = Store(url)
    try:
        migrate(store)
        hashed = hash_password(PASSWORD)
        now = datetime.now(UTC)
        people = [("Rush Operator", "RUSHOPERATOR", "operator", OPERATOR)]
        people += [
            (f"Rush Bidder {k:03d}", f"RUSHBIDDE{k:03d}", "bidder", bidder_email(k))
            for k in range(orgs)
        ]
        with store.write() as conn:
            for name, code, role, email in people:
                eic = f"10X{code}" + check_character(f"10X{code}")
                org = create_org(conn, name, eic, TSO_ZONE, now)
                token = create_invite(conn, email, org.org_id, role, now, timedelta(hours=1))
                accept_invite(conn, token, hashed, now)
    finally:
        store.dispose()


def workers_flag() -> bool:
    """Whether this checkout's ``vba serve`` takes ``--workers``."""
    answer = subprocess.run(
        [sys.executable, "-m", "api.cli.main", "serve", "--help"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )
    return "--workers" in answer.stdout


def start_target(name: str, url: str, workers: int, tmp: Path) -> tuple[Server, str]:
    """This checkout's server over ``url``; with ``workers`` > 1, ``vba serve --workers``
    where it exists, else uvicorn's own ``--workers`` over the app factory. Returns the
    server and the command that runs it, in words."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "VBA_DATABASE_URL": url,
        "VBA_SECRET_KEY": SECRET_KEY,
        "VBA_ENV": "sandbox",
    }
    port = free_port()
    serve = [sys.executable, "-m", "api.cli.main", "serve", "--host", HOST, "--port", str(port)]
    if workers == 1:
        how = "vba serve"
    elif workers_flag():
        serve += ["--workers", str(workers)]
        how = f"vba serve --workers {workers}"
    else:
        serve = [
            *(sys.executable, "-m", "uvicorn", "--factory", "api.http.app:app_from_env"),
            *("--workers", str(workers), "--host", HOST, "--port", str(port)),
            *("--http", "h11", "--no-server-header", "--no-access-log", "--log-level", "warning"),
        ]
        how = f"uvicorn --workers {workers} --factory api.http.app:app_from_env"
    server = start_server(name, serve, env, port, tmp)
    wait_ready(server)
    return server, how


def _shift(value: datetime, days: int, tz: ZoneInfo) -> str:
    local = value.astimezone(tz).replace(tzinfo=None) + timedelta(days=days)
    return local.replace(tzinfo=tz).isoformat()


def server_offset_s(base: str, token: str) -> int:
    """The server's clock minus the real clock (the sandbox's offset; 0 on a fresh store)."""
    headers = {"Authorization": f"Bearer {token}"}
    with httpx2.Client(base_url=base, timeout=60) as client:
        return int(checked(client.get("/sandbox/clock", headers=headers), 200)["offset_s"])


def sample_rows() -> list[dict[str, Any]]:
    """The sample's bid rows (products, quantities, groups): what the rush's bids copy."""
    from auction.archive import read_archive
    from auction.sample import sample_dir

    keys = ("product_id", "quantity_mw", "min_quantity_mw", "price_eur_per_mw", "exclusive_group")
    return [{k: b[k] for k in keys} for b in read_archive(sample_dir()).bids.to_dicts()]


def create_auction(base: str, gate_close: datetime) -> None:
    """The sample fleet and an open auction of the sample's products three days ahead,
    its gate closing at ``gate_close`` (server time); publication an hour later, so no
    clearing competes with the rush."""
    from auction.archive import read_archive
    from auction.sample import sample_dir

    archive = read_archive(sample_dir())
    tz = ZoneInfo(archive.config.time_zone)
    day = gate_close.astimezone(tz).date() + timedelta(days=3)
    shift = (day - archive.config.delivery_day).days
    products = [
        {**p, "start": _shift(p["start"], shift, tz), "end": _shift(p["end"], shift, tz)}
        for p in archive.products.to_dicts()
    ]
    config = {
        **archive.config.model_dump(mode="json"),
        "auction_id": AUCTION_ID,
        "delivery_day": day.isoformat(),
        "gate_open": (gate_close - timedelta(hours=1)).isoformat(),
        "gate_close": gate_close.isoformat(),
        "publish_at": (gate_close + timedelta(hours=1)).isoformat(),
    }
    with httpx2.Client(base_url=base, timeout=60) as client:
        headers = {"Authorization": f"Bearer {login(client, OPERATOR)}"}
        fleet = {"assets": archive.fleet.to_dicts()}
        checked(client.put("/fleet/assets", headers=headers, json=fleet), 200)
        body = {"auction": config, "products": products}
        checked(client.post("/auctions", headers=headers, json=body), 201)
        checked(client.post(f"/auctions/{AUCTION_ID}/open", headers=headers), 200)


def bidders(base: str, orgs: int) -> tuple[list[str], list[str]]:
    """Each bidder's token and bid path, signed in over HTTP."""
    tokens, paths = [], []
    with httpx2.Client(base_url=base, timeout=60) as client:
        for k in range(orgs):
            token = login(client, bidder_email(k))
            me = checked(client.get("/auth/me", headers={"Authorization": f"Bearer {token}"}), 200)
            tokens.append(token)
            paths.append(f"/organisations/{me['org_id']}/auctions/{AUCTION_ID}/bids")
    return tokens, paths


def stored_bids(url: str) -> tuple[dict[str, datetime], str, int]:
    """From the store after the rush: every bid's submitted_at by id, the auction's
    status, and how many times the gate closing was recorded."""
    import sqlalchemy as sa

    from auction.store import Store
    from auction.store.schema import auctions, audit_events, bids

    store = Store(url)
    try:
        with store.read() as conn:
            rows = conn.execute(
                sa.select(bids.c.bid_id, bids.c.submitted_at).where(bids.c.auction_id == AUCTION_ID)
            ).all()
            status = conn.execute(
                sa.select(auctions.c.status).where(auctions.c.auction_id == AUCTION_ID)
            ).scalar_one()
            closings = conn.execute(
                sa.select(sa.func.count()).where(
                    audit_events.c.action == "auction.close",
                    audit_events.c.subject == f"auction/{AUCTION_ID}",
                )
            ).scalar_one()
    finally:
        store.dispose()
    return {r.bid_id: r.submitted_at for r in rows}, str(status), int(closings)
