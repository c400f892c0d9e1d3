"""The calendar of a historical year: day kinds, holidays, special days, bad weeks.

What kind of market day a date was, and what follows from the calendar alone: fewer bids
on weekends and holidays, more outages in bad weeks, the catalogue growing in July.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from auction.synthetic.products import SAMPLE_CATALOGUE, ProductSpec

# From July the operator also sells a full-day aFRR-only product.
DAY_AFRR = ProductSpec(0, 24, "AFRR")
HISTORY_CATALOGUE: tuple[ProductSpec, ...] = (*SAMPLE_CATALOGUE, DAY_AFRR)
NEW_PRODUCT_FROM = (7, 1)  # (month, day)

# Bids per in-zone asset and day, by calendar; fewer desks trade weekends and holidays.
BIDS_SATURDAY, BIDS_SUNDAY = 0.75, 0.65
# Weeks with many more outages than usual (first day, last day as (month, day)), and why.
BAD_WEEKS = (
    ((3, 10), (3, 16), "inverter firmware roll-out"),
    ((8, 4), (8, 10), "heat: cooling faults"),
)
BAD_WEEK_OUTAGES = 3.0


class DayKind(StrEnum):
    """What kind of market day it was; special kinds override the calendar."""

    WEEKDAY = "weekday"
    WEEKEND = "weekend"
    HOLIDAY = "holiday"
    NO_COMPETITION = "no_competition"
    SCARCITY = "scarcity"


@dataclass(frozen=True, slots=True)
class SpecialDay:
    """A day the market was not itself: few bidders, or scarce capacity and high prices.

    The factors multiply the calendar's number of bids, median bid quantity and central
    values; ``outage_share`` of the in-zone assets fail for the whole day (one common
    cause, instead of the usual Poisson number of short outages); ``max_orgs`` caps how
    many organisations bid.

    Scarcity comes from bigger bids rather than many more of them: books of several
    hundred bids far above the fleet need many more rounds of the clearing's
    decomposition, and bigger bids give the same offered MW in a smaller book.
    """

    kind: DayKind
    note: str
    bid_factor: float = 1.0
    quantity_factor: float = 1.0
    price_factor: float = 1.0
    outage_share: float = 0.0
    max_orgs: int | None = None


def _quiet(note: str) -> SpecialDay:
    return SpecialDay(
        DayKind.NO_COMPETITION, note, quantity_factor=0.8, price_factor=0.9, max_orgs=2
    )


def _scarce(note: str, price: float, outage_share: float = 0.0) -> SpecialDay:
    return SpecialDay(
        DayKind.SCARCITY,
        note,
        bid_factor=1.0,
        quantity_factor=2.8,
        price_factor=price,
        outage_share=outage_share,
    )


# Keyed by (month, day). No-competition days also keep their few bids small.
SPECIAL_DAYS: dict[tuple[int, int], SpecialDay] = {
    (1, 1): _quiet("New Year's Day: one or two desks staffed"),
    (1, 21): _scarce("Dunkelflaute: cold, windless, evening prices above 400 EUR/MWh", 1.7),
    (1, 22): _scarce("Dunkelflaute, second day", 1.8),
    (2, 12): _scarce("cold snap and a grid fault tripping many sites", 1.5, outage_share=0.4),
    (5, 11): _scarce("solar record: deepest negative midday prices of the spring", 1.6),
    (6, 26): _scarce("heatwave: inverter derates, high evening prices", 1.5, outage_share=0.35),
    (7, 2): _scarce("heatwave peak", 1.6, outage_share=0.3),
    (11, 6): _scarce("Dunkelflaute", 1.8),
    (11, 7): _scarce("Dunkelflaute, second day", 1.7),
    (12, 12): _scarce("Dunkelflaute and a transformer fault", 1.6, outage_share=0.3),
    (12, 24): _quiet("Christmas Eve: one or two desks staffed"),
    (12, 25): _quiet("Christmas Day: one or two desks staffed"),
    (12, 26): _quiet("Boxing Day: one or two desks staffed"),
}
QUIET_DAY_BIDS = (8, 20)  # uniform range of bids on a no-competition day


def german_holidays(year: int) -> set[date]:
    """Nationwide German public holidays (the market sees these, not the regional ones)."""
    easter = _easter_sunday(year)
    return {
        date(year, 1, 1),
        easter - timedelta(days=2),  # Good Friday
        easter + timedelta(days=1),  # Easter Monday
        date(year, 5, 1),
        easter + timedelta(days=39),  # Ascension
        easter + timedelta(days=50),  # Whit Monday
        date(year, 10, 3),
        date(year, 12, 25),
        date(year, 12, 26),
    }


def day_kind(day: date) -> tuple[DayKind, SpecialDay]:
    """The day's kind and its special-day knobs (neutral ones on an ordinary day)."""
    special = SPECIAL_DAYS.get((day.month, day.day))
    if special is not None:
        return special.kind, special
    kind = _calendar_kind(day)
    return kind, SpecialDay(kind, "")


def _calendar_kind(day: date) -> DayKind:
    if day in german_holidays(day.year):
        return DayKind.HOLIDAY
    return DayKind.WEEKEND if day.weekday() >= 5 else DayKind.WEEKDAY


def bids_factor(day: date) -> float:
    """Relative number of bids: fewer desks trade on weekends and holidays."""
    if day.weekday() == 6 or day in german_holidays(day.year):
        return BIDS_SUNDAY
    return BIDS_SATURDAY if day.weekday() == 5 else 1.0


def bad_week(day: date) -> bool:
    """Whether ``day`` falls in one of the ``BAD_WEEKS``."""
    return any(
        date(day.year, *first) <= day <= date(day.year, *last) for first, last, _ in BAD_WEEKS
    )


def day_catalogue(day: date) -> tuple[ProductSpec, ...]:
    """The products on sale that day: ``HISTORY_CATALOGUE`` from ``NEW_PRODUCT_FROM``."""
    return HISTORY_CATALOGUE if (day.month, day.day) >= NEW_PRODUCT_FROM else SAMPLE_CATALOGUE


def _easter_sunday(year: int) -> date:
    """Gregorian Easter Sunday (the anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    el = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * el) // 451
    month = (h + el - 7 * m + 114) // 31
    return date(year, month, (h + el - 7 * m + 114) % 31 + 1)
