"""Pages from templates: the Jinja2 environment, its filters, and the frame of every page.

Every time a person reads is Europe/Berlin with its zone named (CET or CEST: on a DST day
both occur), 24-hour clock; a ``<time datetime>`` carries the UTC instant. Numbers use
``.`` as the decimal point and a thin space between thousands.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import StrictUndefined
from markupsafe import Markup

from api.http.deps import Call, Context
from auction.accounts import Role
from auction.wallclock import clock

BERLIN_NAME = "Europe/Berlin"
BERLIN = ZoneInfo(BERLIN_NAME)
THIN_SPACE = "\u2009"
TEMPLATES_DIR = Path(__file__).parent / "templates"


@dataclass(frozen=True, slots=True)
class NavItem:
    label: str
    href: str


TRADER_NAV = (
    NavItem("Auctions", "/ui/auctions"),
    NavItem("Dispatch", "/ui/dispatch"),
    NavItem("Invoices", "/ui/invoices"),
    NavItem("Account Settings", "/ui/account"),
)
OPERATOR_NAV = (
    NavItem("Auctions", "/ui/operator/auctions"),
    NavItem("Calendar", "/ui/operator/calendar"),
    NavItem("Fleet", "/ui/operator/fleet"),
    NavItem("Setpoints", "/ui/operator/setpoints"),
    NavItem("Ancillary", "/ui/operator/ancillary"),
    NavItem("Settlement", "/ui/operator/settlement"),
    NavItem("Organisations", "/ui/operator/organisations"),
)


def nav_for(role: Role) -> tuple[NavItem, ...]:
    return OPERATOR_NAV if role is Role.OPERATOR else TRADER_NAV


def berlin(instant: datetime | None, fmt: str = "%d %b %Y %H:%M") -> str:
    """``06 Dec 2026 10:30 CET``: the Berlin wall time with its zone abbreviation."""
    if instant is None:
        return "—"
    local = _aware(instant).astimezone(BERLIN)
    return f"{local.strftime(fmt)} {local.tzname()}"


def hhmm(instant: datetime) -> str:
    """``10:30 CEST``: a time slot's local start, as the dispatch grid labels it."""
    return berlin(instant, "%H:%M")


def end_hhmm(end: datetime, start: datetime) -> str:
    """``24:00 CET``: a window's end on its start's Berlin day (``auction.wallclock``: the
    next midnight reads 24:00, not 00:00)."""
    first, last = _aware(start).astimezone(BERLIN), _aware(end).astimezone(BERLIN)
    return f"{clock(last, first.date(), BERLIN_NAME, '%d %b ')} {last.tzname()}"


def end_tag(end: datetime, start: datetime) -> Markup:
    """``end_hhmm`` in a ``<time datetime>`` tag."""
    iso = utc_iso(end)
    return Markup('<time datetime="{0}" title="{0}">{1}</time>').format(iso, end_hhmm(end, start))


def window_tag(start: datetime, end: datetime) -> Markup:
    """``20:00 CET`` to ``24:00 CET`` in ``<time>`` tags: a window within a Berlin day."""
    return time_tag(start, "%H:%M") + Markup("&ndash;") + end_tag(end, start)


def utc_iso(instant: datetime) -> str:
    """The instant for ``<time datetime>`` and machines: ISO 8601 in UTC with ``Z``."""
    return _aware(instant).astimezone(UTC).isoformat().replace("+00:00", "Z")


def time_tag(instant: datetime | None, fmt: str = "%d %b %Y %H:%M") -> Markup:
    """``<time datetime="…Z" title="…Z">06 Dec 2026 10:30 CET</time>``."""
    if instant is None:
        return Markup("—")
    iso = utc_iso(instant)
    return Markup('<time datetime="{0}" title="{0}">{1}</time>').format(iso, berlin(instant, fmt))


def day_label(day: date) -> str:
    return day.strftime("%a %d %b %Y")


def number(value: float | int | Decimal | None, places: int = 2) -> str:
    """``12 345.60``: fixed decimals, a thin space between thousands; ``—`` for none."""
    if value is None:
        return "—"
    return f"{value:,.{places}f}".replace(",", THIN_SPACE)


def _aware(instant: datetime) -> datetime:
    # Stored instants are UTC; a naive one from a frame is UTC as well.
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=UTC)


def _templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=TEMPLATES_DIR)
    env = templates.env
    env.undefined = StrictUndefined  # a missing variable is an error, never an empty cell
    env.filters.update(
        berlin=berlin,
        hhmm=hhmm,
        end_hhmm=end_hhmm,
        end_tag=end_tag,
        window_tag=window_tag,
        utc_iso=utc_iso,
        time_tag=time_tag,
        day_label=day_label,
        number=number,
    )
    return templates


templates = _templates()


def render(
    request: Request,
    template: str,
    context: Context,
    values: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    title: str,
) -> HTMLResponse:
    """A whole page: ``template`` inside the frame (environment, user, navigation, time)."""
    user = context.user if isinstance(context, Call) else None
    frame = {
        "title": title,
        "environment": context.settings.env,
        "user": user,
        "org": getattr(context, "org", None),
        "nav": () if user is None else nav_for(user.role),
        "path": request.url.path,
        "now": context.now,
    }
    return templates.TemplateResponse(
        request, template, {**frame, **(values or {})}, status_code=status_code
    )
