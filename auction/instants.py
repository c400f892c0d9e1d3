"""How an instant is written wherever a machine or a rule names it: UTC with ``Z``
(``2026-11-28T23:30:00Z``). People read Berlin time on the pages and in the CLI tables."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_text(instant: datetime) -> str:
    """``instant`` in UTC, ISO 8601 with ``Z``; a naive one is UTC already (the store's)."""
    aware = instant.astimezone(UTC) if instant.tzinfo is not None else instant.replace(tzinfo=UTC)
    return aware.isoformat().replace("+00:00", "Z")
