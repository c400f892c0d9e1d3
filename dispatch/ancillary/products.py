"""The products of the German balancing markets, named as LAYR's API names them.

A bid names its product by ``productDateCode`` = ``YYYY-MM-DD_{product}``:

- FCR capacity: six symmetric 4-hour products, ``NEGPOS_00_04`` … ``NEGPOS_20_24``;
- aFRR capacity: six 4-hour products per direction, ``POS_00_04`` … ``NEG_20_24``;
- aFRR energy: one product per quarter-hour and direction, ``POS_001`` … ``NEG_096``
  (``_092`` on the spring-forward day, ``_100`` on the fall-back day).

The 4-hour windows are wall-clock hours of the delivery day in the market's time zone, so on
the DST days ``00_04`` lasts 3 or 5 hours: its edges are found through zoneinfo, never by
adding 4 hours. Quarter-hours count from local midnight on the day's MTU grid. Capacity
gates close at a local time on D-1; an energy gate closes a fixed lead before its
quarter-hour. The gate times are ``GateRules``, so that a server can make them settings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal, NoReturn
from zoneinfo import ZoneInfo

from auction.errors import DomainError, Problem
from auction.timegrid import DEFAULT_TIME_ZONE, Grid, local_instant

Direction = Literal["NEGPOS", "POS", "NEG"]
ProductMarket = Literal["fcr", "afrr_capacity", "afrr_energy"]
BlockMarket = Literal["fcr", "afrr_pos", "afrr_neg"]

FILE = "ancillary_bids"
COLUMN = "productDateCode"
CAPACITY_HOURS = 4
# First local hour of each of the six capacity products of a day.
CAPACITY_STARTS = tuple(range(0, 24, CAPACITY_HOURS))
ENERGY_MINUTES = 15
DIRECTIONS: tuple[Direction, ...] = ("NEGPOS", "POS", "NEG")
# The reserve block each direction's bids draw on.
BLOCK_MARKET: dict[Direction, BlockMarket] = {
    "NEGPOS": "fcr",
    "POS": "afrr_pos",
    "NEG": "afrr_neg",
}
_DIRECTION: dict[str, Direction] = {d: d for d in DIRECTIONS}
_CODE = re.compile(r"(?P<day>\d{4}-\d{2}-\d{2})_(?P<name>.*)", re.DOTALL)
_CAPACITY = re.compile(r"(?P<direction>NEGPOS|POS|NEG)_(?P<first>\d{2})_(?P<last>\d{2})")
_ENERGY = re.compile(r"(?P<direction>NEGPOS|POS|NEG)_(?P<number>\d{3})")
_FORMAT_RULE = (
    "productDateCode must be YYYY-MM-DD_{product}, e.g. 2026-12-01_NEGPOS_00_04 (FCR), "
    "2026-12-01_POS_04_08 (aFRR capacity) or 2026-12-01_NEG_017 (aFRR energy)"
)
_NAME_RULE = (
    "the product must be NEGPOS_00_04 … NEGPOS_20_24 (FCR), POS_00_04 … POS_20_24 or "
    "NEG_00_04 … NEG_20_24 (aFRR capacity: 4-hour blocks starting at 00, 04, …, 20), or "
    "POS_001 … or NEG_001 … (aFRR energy: the day's quarter-hours)"
)


@dataclass(frozen=True)
class GateRules:
    """When each market's gate closes: capacity at a local time on D-1, energy a lead of
    minutes before its quarter-hour starts (regelleistung.net's defaults)."""

    fcr_gate: time = time(8, 0)
    afrr_capacity_gate: time = time(9, 0)
    afrr_energy_gate_minutes: int = 25
    time_zone: str = DEFAULT_TIME_ZONE

    def __post_init__(self) -> None:
        if self.fcr_gate.tzinfo is not None or self.afrr_capacity_gate.tzinfo is not None:
            raise ValueError("capacity gates are wall-clock times of time_zone, without tzinfo")
        if self.afrr_energy_gate_minutes < 0:
            raise ValueError("afrr_energy_gate_minutes must be >= 0")
        ZoneInfo(self.time_zone)  # an unknown zone fails here, not at the first bid


@dataclass(frozen=True)
class Product:
    """One product of one delivery day. Instants are UTC."""

    code: str  # productDateCode, e.g. 2026-12-01_NEGPOS_00_04
    day: date
    name: str  # NEGPOS_00_04, POS_04_08, NEG_096, …
    market: ProductMarket
    direction: Direction
    block_market: BlockMarket
    start: datetime
    end: datetime
    gate_closure: datetime

    @property
    def is_capacity(self) -> bool:
        """FCR and aFRR capacity products, priced per MW and hour."""
        return self.market != "afrr_energy"


def capacity_product(day: date, direction: Direction, first_hour: int, gates: GateRules) -> Product:
    """The 4-hour product of ``direction`` starting at local ``first_hour`` (0, 4, …, 20)."""
    name = f"{direction}_{first_hour:02d}_{first_hour + CAPACITY_HOURS:02d}"
    fcr = direction == "NEGPOS"
    gate = gates.fcr_gate if fcr else gates.afrr_capacity_gate
    return Product(
        code=f"{day.isoformat()}_{name}",
        day=day,
        name=name,
        market="fcr" if fcr else "afrr_capacity",
        direction=direction,
        block_market=BLOCK_MARKET[direction],
        start=_wall_clock(day, first_hour, gates.time_zone),
        end=_wall_clock(day, first_hour + CAPACITY_HOURS, gates.time_zone),
        gate_closure=local_instant(day - timedelta(days=1), gate, gates.time_zone),
    )


def energy_product(
    day: date, direction: Direction, number: int, grid: Grid, gates: GateRules
) -> Product:
    """The ``number``-th quarter-hour (from 1) of ``grid``, the day's 15-minute grid."""
    name = f"{direction}_{number:03d}"
    start = grid.start + (number - 1) * grid.mtu
    return Product(
        code=f"{day.isoformat()}_{name}",
        day=day,
        name=name,
        market="afrr_energy",
        direction=direction,
        block_market=BLOCK_MARKET[direction],
        start=start,
        end=start + grid.mtu,
        gate_closure=start - timedelta(minutes=gates.afrr_energy_gate_minutes),
    )


def day_products(day: date, gates: GateRules) -> list[Product]:
    """Every product of ``day``: the 6 FCR, the 6 POS then 6 NEG aFRR capacity products, then
    the aFRR energy quarter-hours, all POS then all NEG; each group in time order."""
    grid = Grid.of_day(day, ENERGY_MINUTES, gates.time_zone)
    capacity = [
        capacity_product(day, direction, hour, gates)
        for direction in DIRECTIONS
        for hour in CAPACITY_STARTS
    ]
    energy = [
        energy_product(day, direction, number, grid, gates)
        for direction in DIRECTIONS[1:]
        for number in range(1, grid.n_mtu + 1)
    ]
    return capacity + energy


def parse_product(code: str, gates: GateRules) -> Product:
    """The product a ``productDateCode`` names.

    Raises
    ------
    DomainError
        One problem (column ``productDateCode``, no row) saying what a valid code looks like.
    """
    whole = _CODE.fullmatch(code)
    if whole is None:
        _refuse(code, _FORMAT_RULE)
    try:
        day = date.fromisoformat(whole["day"])
    except ValueError:
        _refuse(code, f"{whole['day']} is not a calendar date; {_FORMAT_RULE}")
    name = whole["name"]
    try:
        if capacity := _CAPACITY.fullmatch(name):
            first, last = int(capacity["first"]), int(capacity["last"])
            if first not in CAPACITY_STARTS or last != first + CAPACITY_HOURS:
                _refuse(code, f"{name!r} is not a product: {_NAME_RULE}")
            return capacity_product(day, _DIRECTION[capacity["direction"]], first, gates)
        if energy := _ENERGY.fullmatch(name):
            direction = _DIRECTION[energy["direction"]]
            if direction == "NEGPOS":
                rule = "FCR has no energy products: NEGPOS only as NEGPOS_00_04 … NEGPOS_20_24"
                _refuse(code, rule)
            grid = Grid.of_day(day, ENERGY_MINUTES, gates.time_zone)
            number = int(energy["number"])
            if not 1 <= number <= grid.n_mtu:
                rule = (
                    f"{day.isoformat()} has {grid.n_mtu} quarter-hours: the aFRR energy products "
                    f"are {direction}_001 … {direction}_{grid.n_mtu:03d}"
                )
                _refuse(code, rule)
            return energy_product(day, direction, number, grid, gates)
    except OverflowError:
        _refuse(code, f"{day.isoformat()} is out of the range of delivery days")
    _refuse(code, f"{name!r} is not a product: {_NAME_RULE}")


def _refuse(code: str, rule: str) -> NoReturn:
    raise DomainError([Problem(FILE, None, COLUMN, code, rule)])


def _wall_clock(day: date, hour: int, time_zone: str) -> datetime:
    """UTC instant of local ``hour`` (0…24) of ``day``; 24 is the next local midnight."""
    return local_instant(day + timedelta(days=hour // 24), time(hour % 24), time_zone)
