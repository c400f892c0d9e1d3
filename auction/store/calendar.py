"""The auction calendar in the store: template versions, the operator's exceptions and
what was decided for each (template, delivery day)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from auction.errors import NotFound
from auction.store.schema import calendar_days, calendar_exceptions, calendar_templates

CREATED, REFUSED, SKIPPED, MISSED = "created", "refused", "skipped", "missed"


@dataclass(frozen=True, slots=True)
class TemplateVersion:
    template_id: str
    version: int
    body: dict[str, Any]
    active: bool
    created_by: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class DayException:
    template_id: str
    delivery_day: date
    action: str  # skip | adapt
    use_template: str | None
    reason: str
    created_by: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class DayOutcome:
    template_id: str
    delivery_day: date
    outcome: str
    auction_id: str | None
    used_template: str | None
    used_version: int | None
    reason: str | None
    decided_at: datetime


def _template(row: sa.Row[Any]) -> TemplateVersion:
    m = row._mapping
    return TemplateVersion(
        m["template_id"],
        m["version"],
        json.loads(m["body_json"]),
        m["active"],
        m["created_by"],
        m["created_at"],
    )


def add_version(
    conn: Connection, template_id: str, body: dict[str, Any], actor: str, now: datetime
) -> TemplateVersion:
    """Store ``body`` as the template's next version (1 for a new template). Two edits at
    once meet at the primary key: the later one fails and changes nothing."""
    t = calendar_templates.c
    latest = conn.execute(
        sa.select(sa.func.max(t.version)).where(t.template_id == template_id)
    ).scalar()
    version = (latest or 0) + 1
    conn.execute(
        calendar_templates.insert().values(
            template_id=template_id,
            version=version,
            body_json=json.dumps(body, sort_keys=True),
            active=bool(body.get("active", True)),
            created_by=actor,
            created_at=now,
        )
    )
    return get_template(conn, template_id, version)


def get_template(conn: Connection, template_id: str, version: int | None = None) -> TemplateVersion:
    """A version of the template, the latest without ``version``."""
    t = calendar_templates.c
    query = sa.select(calendar_templates).where(t.template_id == template_id)
    query = query.where(t.version == version) if version else query.order_by(t.version.desc())
    row = conn.execute(query.limit(1)).first()
    if row is None:
        raise NotFound("template", template_id)
    return _template(row)


def template_versions(conn: Connection, template_id: str) -> list[TemplateVersion]:
    t = calendar_templates.c
    query = sa.select(calendar_templates).where(t.template_id == template_id).order_by(t.version)
    versions = [_template(r) for r in conn.execute(query)]
    if not versions:
        raise NotFound("template", template_id)
    return versions


def latest_templates(conn: Connection) -> list[TemplateVersion]:
    """The latest version of every template, by template id."""
    t = calendar_templates.c
    newest = (
        sa.select(t.template_id, sa.func.max(t.version).label("version"))
        .group_by(t.template_id)
        .subquery()
    )
    query = (
        sa.select(calendar_templates)
        .join(
            newest,
            (t.template_id == newest.c.template_id) & (t.version == newest.c.version),
        )
        .order_by(t.template_id)
    )
    return [_template(r) for r in conn.execute(query)]


def _exception(row: sa.Row[Any]) -> DayException:
    return DayException(**row._mapping)


def put_exception(conn: Connection, exception: DayException) -> None:
    """Set the exception of (template, day), replacing one set before."""
    e = calendar_exceptions.c
    conn.execute(
        calendar_exceptions.delete().where(
            e.template_id == exception.template_id, e.delivery_day == exception.delivery_day
        )
    )
    conn.execute(calendar_exceptions.insert().values(**asdict(exception)))


def delete_exception(conn: Connection, template_id: str, day: date) -> None:
    e = calendar_exceptions.c
    gone = conn.execute(
        calendar_exceptions.delete().where(e.template_id == template_id, e.delivery_day == day)
    ).rowcount
    if not gone:
        raise NotFound("exception", f"{template_id}/{day.isoformat()}")


def exceptions(
    conn: Connection, first: date | None = None, last: date | None = None
) -> list[DayException]:
    """Exceptions of days in [first, last] (every one without bounds), by day, template."""
    return [_exception(r) for r in conn.execute(_by_day(calendar_exceptions, first, last))]


def get_exception(conn: Connection, template_id: str, day: date) -> DayException | None:
    e = calendar_exceptions.c
    row = conn.execute(
        sa.select(*calendar_exceptions.c).where(e.template_id == template_id, e.delivery_day == day)
    ).first()
    return None if row is None else _exception(row)


def _outcome(row: sa.Row[Any]) -> DayOutcome:
    return DayOutcome(**row._mapping)


def day_outcomes(
    conn: Connection, first: date | None = None, last: date | None = None
) -> list[DayOutcome]:
    """What was decided for the days in [first, last], by day, template."""
    return [_outcome(r) for r in conn.execute(_by_day(calendar_days, first, last))]


def get_outcome(
    conn: Connection, template_id: str, day: date, *, lock: bool = False
) -> DayOutcome | None:
    d = calendar_days.c
    query = sa.select(*calendar_days.c).where(d.template_id == template_id, d.delivery_day == day)
    row = conn.execute(query.with_for_update() if lock else query).first()
    return None if row is None else _outcome(row)


def claim_day(conn: Connection, outcome: DayOutcome, *, was_refused: bool) -> bool:
    """Write the decision for (template, day): a new row, or over a refusal (only while
    it is still one). False if another worker decided the day meanwhile (PostgreSQL: its
    insert waits for the other's commit and meets the primary key; IntegrityError)."""
    values = {
        "outcome": outcome.outcome,
        "auction_id": outcome.auction_id,
        "used_template": outcome.used_template,
        "used_version": outcome.used_version,
        "reason": outcome.reason,
        "decided_at": outcome.decided_at,
    }
    d = calendar_days.c
    if was_refused:
        changed = conn.execute(
            calendar_days.update()
            .where(
                d.template_id == outcome.template_id,
                d.delivery_day == outcome.delivery_day,
                d.outcome == REFUSED,
            )
            .values(**values)
        ).rowcount
        return bool(changed)
    conn.execute(
        calendar_days.insert().values(
            template_id=outcome.template_id, delivery_day=outcome.delivery_day, **values
        )
    )
    return True


def _by_day(table: sa.Table, first: date | None, last: date | None) -> sa.Select[Any]:
    """The rows of ``table`` whose delivery_day is in [first, last], by day, template."""
    c = table.c
    query = sa.select(*c).order_by(c.delivery_day, c.template_id)
    if first is not None:
        query = query.where(c.delivery_day >= first)
    if last is not None:
        query = query.where(c.delivery_day <= last)
    return query
