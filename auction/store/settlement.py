"""Settlement runs in the store: every run of a day is a new version with its invoice
lines and nomination documents; the newest version is the one that counts."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from auction.book import INVOICE_LINES, schema
from auction.errors import Conflict
from auction.store.schema import invoice_lines, nomination_documents, settlement_runs

LINES = INVOICE_LINES


@dataclass(frozen=True, slots=True)
class Run:
    day: date
    version: int
    run_at: datetime
    actor: str
    imbalance_price_cents: int
    report: dict[str, Any]


def next_version(conn: Connection, day: date) -> int:
    """The version the next run of ``day`` gets (1 for the first)."""
    t = settlement_runs.c
    found = conn.execute(sa.select(sa.func.max(t.version)).where(t.day == day)).scalar()
    return int(found or 0) + 1


def save_run(
    conn: Connection, run: Run, lines: pl.DataFrame, documents: list[dict[str, Any]]
) -> None:
    """A run with its invoice lines (``LINES``) and documents (org_id, document_id,
    mtu_json, csv_text, xml_text). A version already stored (another run of the same day
    on another server, on PostgreSQL) is refused as a conflict."""
    try:
        _insert_run(conn, run)
    except sa.exc.IntegrityError:
        raise Conflict(
            f"version {run.version} of {run.day} was stored by another run meanwhile; "
            "nothing was changed: run the settlement again"
        ) from None
    _insert_lines(conn, run, lines, documents)


def _insert_run(conn: Connection, run: Run) -> None:
    conn.execute(
        settlement_runs.insert().values(
            day=run.day,
            version=run.version,
            run_at=run.run_at,
            actor=run.actor,
            imbalance_price_cents=run.imbalance_price_cents,
            report_json=json.dumps(run.report, sort_keys=True, default=str),
        )
    )


def _insert_lines(
    conn: Connection, run: Run, lines: pl.DataFrame, documents: list[dict[str, Any]]
) -> None:
    rows = lines.select(LINES.names()).with_row_index("row_no").to_dicts()
    if rows:
        conn.execute(
            invoice_lines.insert(), [{**r, "day": run.day, "version": run.version} for r in rows]
        )
    if documents:
        conn.execute(
            nomination_documents.insert(),
            [{**d, "day": run.day, "version": run.version} for d in documents],
        )


def latest_run(conn: Connection, day: date) -> Run | None:
    t = settlement_runs.c
    row = conn.execute(
        sa.select(settlement_runs).where(t.day == day).order_by(t.version.desc()).limit(1)
    ).first()
    return None if row is None else _run(row)


def find_run(conn: Connection, day: date, version: int) -> Run | None:
    t = settlement_runs.c
    row = conn.execute(sa.select(settlement_runs).where(t.day == day, t.version == version)).first()
    return None if row is None else _run(row)


def list_runs(conn: Connection, day: date | None = None) -> list[Run]:
    """Every run (or every run of ``day``), the newest day and version first."""
    t = settlement_runs.c
    query = sa.select(settlement_runs).order_by(t.day.desc(), t.version.desc())
    if day is not None:
        query = query.where(t.day == day)
    return [_run(row) for row in conn.execute(query)]


def _run(row: sa.Row[tuple[object, ...]]) -> Run:
    m = row._mapping
    return Run(
        m["day"],
        m["version"],
        m["run_at"],
        m["actor"],
        m["imbalance_price_cents"],
        json.loads(m["report_json"]),
    )


def run_lines(conn: Connection, day: date, version: int) -> tuple[pl.DataFrame, int]:
    """A run's invoice lines (``LINES``, in line order) and its number of documents."""
    t = invoice_lines.c
    query = (
        sa.select(*[t[c] for c in LINES.names()])
        .where(t.day == day, t.version == version)
        .order_by(t.row_no)
    )
    lines = pl.DataFrame(conn.execute(query).all(), schema=LINES, orient="row")
    d = nomination_documents.c
    n_documents = conn.execute(
        sa.select(sa.func.count()).where(d.day == day, d.version == version)
    ).scalar_one()
    return lines, int(n_documents)


def _latest_versions() -> sa.Subquery:
    t = settlement_runs.c
    return sa.select(t.day, sa.func.max(t.version).label("version")).group_by(t.day).subquery()


def org_lines(conn: Connection, org_id: str) -> pl.DataFrame:
    """The organisation's invoice lines of the newest run of every day: day, version and
    ``LINES``, by day and line."""
    t, newest = invoice_lines.c, _latest_versions()
    query = (
        sa.select(t.day, t.version, *[t[c] for c in LINES.names()])
        .join(newest, (t.day == newest.c.day) & (t.version == newest.c.version))
        .where(t.org_id == org_id)
        .order_by(t.day, t.row_no)
    )
    full = schema({"day": pl.Date, "version": pl.Int64, **dict(LINES.items())})
    return pl.DataFrame(conn.execute(query).all(), schema=full, orient="row")


def org_document(conn: Connection, org_id: str, day: date) -> dict[str, Any] | None:
    """The organisation's nomination document of the newest run of ``day``."""
    t, r = nomination_documents.c, settlement_runs.c
    newest = sa.select(sa.func.max(r.version)).where(r.day == day).scalar_subquery()
    row = conn.execute(
        sa.select(nomination_documents).where(t.day == day, t.org_id == org_id, t.version == newest)
    ).first()
    return None if row is None else dict(row._mapping)
