"""The audit trail: who changed what, when. Written in the transaction of the change."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from auction.store.accounts import new_id
from auction.store.schema import audit_events

SYSTEM = "system"  # the actor of what the engine does by itself


def record(
    conn: Connection,
    actor: str,
    action: str,
    subject: str,
    now: datetime,
    *,
    org_id: str | None = None,
    **detail: Any,
) -> None:
    conn.execute(
        audit_events.insert().values(
            event_id=new_id(),
            at=now,
            actor=actor,
            org_id=org_id,
            action=action,
            subject=subject,
            detail_json=json.dumps(detail, sort_keys=True, default=str),
        )
    )


def events(conn: Connection, subject_prefix: str | None = None) -> list[dict[str, Any]]:
    """Events in the order they happened (optionally of subjects starting with a prefix)."""
    query = sa.select(audit_events).order_by(audit_events.c.seq)
    if subject_prefix is not None:
        query = query.where(audit_events.c.subject.startswith(subject_prefix))
    out = []
    for row in conn.execute(query).mappings():
        event = dict(row)
        event["detail"] = json.loads(event.pop("detail_json"))
        out.append(event)
    return out
