"""The field errors of a 422, read from either error body shape.

Today a 422 carries them as the list ``detail``; RFC 9457 problem details carry them as
``errors`` (with ``detail`` one sentence). Tests read them here so that both work.
"""

from __future__ import annotations

from typing import Any


def field_errors(body: Any) -> list[dict[str, Any]]:
    """The items ``{loc, field, value, rule, msg}`` of a refusal's body."""
    if isinstance(body, dict) and isinstance(body.get("errors"), list):
        return body["errors"]
    detail = body.get("detail") if isinstance(body, dict) else None
    assert isinstance(detail, list), f"no field errors in {body!r}"
    return detail
