"""Auction templates for the calendar's tests: the body ``PUT /calendar/templates/{id}``
takes, small enough to derive each day's auction by hand."""

from __future__ import annotations

from typing import Any


def template_product(product_id: str, start: str, end: str, **extra: Any) -> dict[str, Any]:
    """A wholesale product (1 MW for 1 h per MW awarded) in the wall times [start, end)."""
    return {
        "product_id": product_id,
        "start": start,
        "end": end,
        "wholesale_mw": "1",
        "wholesale_h": "1",
        "fcr_mw": "0",
        "afrr_pos_mw": "0",
        "afrr_neg_mw": "0",
        "min_mw": "1",
        "increment_mw": "1",
        "reserve_price_eur_per_mw": "10",
        **extra,
    }


def template_body(**changes: Any) -> dict[str, Any]:
    """Open D-7 09:00, close D-2 15:00, publish D-2 17:00 Berlin; a day product and four
    blocks of six hours, one of them over the DST hours 02:00-03:00."""
    body: dict[str, Any] = {
        "auction": {
            "tso_zone": "10YDE-EON------1",
            "gate_open": "D-7 09:00",
            "gate_close": "D-2 15:00",
            "publish_at": "D-2 17:00",
        },
        "products": [
            template_product("DAY", "00:00", "24:00"),
            template_product("NIGHT", "00:00", "06:00"),
            template_product("MORNING", "06:00", "12:00"),
            template_product("AFTERNOON", "12:00", "18:00"),
            template_product("EVENING", "18:00", "24:00"),
        ],
        "allocations": [],
        "auto_publish": True,
    }
    body.update(changes)
    return body
