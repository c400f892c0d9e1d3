"""A template (the body of ``POST /auctions`` with its instants replaced by rules relative to
the delivery day) turned into the body of one day's auction.

The template is the JSON the API stores (docs/api.md, "The auction calendar"): this
module only replaces its rules by the day's instants, its wall times by the day's product
windows, and names the auction; every rule of an auction is then judged by the same code
as ``POST /auctions``.

``dst`` says what a product window becomes on a day of 92 or 100 quarter-hours:

- ``clip`` (the default): the window is wall-clock time. On the spring day a window loses
  the skipped hour, and one wholly inside it is not offered that day; on the autumn day a
  window over 02:00-03:00 holds the repeated hour twice.
- ``shift``: the window keeps its length in hours. It starts at its wall-clock start and
  ends that many hours later, clipped to the end of the day: on the spring day a window
  over the gap ends an hour later on the clock, on the autumn day an hour earlier.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from auction.calendar.walltime import on_day, parse_day_rule, parse_wall_time
from auction.errors import BodyProblems, Problem
from auction.instants import utc_text
from auction.timegrid import DEFAULT_TIME_ZONE, day_bounds

RULE_KEYS = ("create_at", "gate_open", "gate_close", "publish_at")
DST_MODES = ("clip", "shift")


@dataclass(frozen=True, slots=True)
class DayTimes:
    """The instants (UTC) a template gives one delivery day."""

    create_at: datetime
    gate_open: datetime
    gate_close: datetime
    publish_at: datetime


@dataclass(frozen=True, slots=True)
class Rendered:
    """One day's ``POST /auctions`` body, and the products the day had no room for."""

    auction: dict[str, Any]
    products: list[dict[str, Any]]
    allocations: list[dict[str, Any]]
    auto_publish: bool
    dropped: tuple[str, ...]


def time_zone(body: Mapping[str, Any]) -> str:
    """The template's IANA zone (Europe/Berlin by default); a name no zone has is refused
    here, before any day is reckoned in it."""
    zone = str(body["auction"].get("time_zone") or DEFAULT_TIME_ZONE)
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:  # ValueError: malformed
        rule = "time_zone must be a known IANA zone, such as Europe/Berlin"
        problem = Problem("template", None, "time_zone", zone, rule)
        raise BodyProblems([problem], ("body", "auction")) from exc
    return zone


def day_times(body: Mapping[str, Any], day: date) -> DayTimes:
    """When ``day``'s auction is created, opens, closes and publishes; it is created at
    ``create_at`` or, without one, at ``gate_open``."""
    rules = body["auction"]
    zone = time_zone(body)
    gate_open = parse_day_rule(rules["gate_open"]).on(day, zone)
    create = rules.get("create_at")
    return DayTimes(
        create_at=gate_open if not create else parse_day_rule(create).on(day, zone),
        gate_open=gate_open,
        gate_close=parse_day_rule(rules["gate_close"]).on(day, zone),
        publish_at=parse_day_rule(rules["publish_at"]).on(day, zone),
    )


def auction_id(template_id: str, day: date) -> str:
    """The id of the template's auction for ``day``: the same in every worker, so two
    that create the day meet at the auctions' primary key."""
    return f"{template_id}-{day.isoformat()}"


def window(body: Mapping[str, Any], day: date, start: str, end: str) -> tuple[datetime, datetime]:
    """The UTC window of a product given in wall times, per the template's ``dst``
    (module docstring); empty (start == end) if the day has no room for it."""
    zone = time_zone(body)
    day_start, day_end = day_bounds(day, zone)
    since_start, since_end = parse_wall_time(start), parse_wall_time(end)
    first = on_day(day, since_start, zone)
    if body.get("dst", "clip") == "shift":
        last = min(first + (since_end - since_start), day_end)
    else:
        last = on_day(day, since_end, zone)
    first, last = max(first, day_start), min(last, day_end)
    return first, max(first, last)


def render(body: Mapping[str, Any], template_id: str, day: date) -> Rendered:
    """The body of ``POST /auctions`` for ``day``: its id, day and instants, the product
    windows of the day (products without room left out, with their allocations)."""
    times = day_times(body, day)
    auction = {k: v for k, v in body["auction"].items() if k not in RULE_KEYS}
    auction.update(
        auction_id=auction_id(template_id, day),
        delivery_day=day.isoformat(),
        gate_open=utc_text(times.gate_open),
        gate_close=utc_text(times.gate_close),
        publish_at=utc_text(times.publish_at),
    )
    products, dropped = [], []
    for product in body["products"]:
        first, last = window(body, day, product["start"], product["end"])
        if last <= first:
            dropped.append(str(product["product_id"]))
            continue
        products.append({**product, "start": utc_text(first), "end": utc_text(last)})
    allocations = [a for a in body.get("allocations", []) if a["product_id"] not in dropped]
    return Rendered(
        auction, products, allocations, bool(body.get("auto_publish", True)), tuple(dropped)
    )


def nominal_hours(start: str, end: str) -> float:
    """The length of a window on a clock face (24:00 - 00:00 is 24 h)."""
    return (parse_wall_time(end) - parse_wall_time(start)) / timedelta(hours=1)
