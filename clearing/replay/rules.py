"""What-if rules: the same auction under another reserve price, fleet, reserve energy or pricing.

``vba replay --rule KEY=VALUE`` takes these keys:

=====================  =========================================================================
reserve_price_scale    every product's reserve price × k (k ≥ 0; 0 removes reserve prices)
fleet_scale            every asset's power and energy × k (k > 0)
fcr_energy_h           energy an FCR block holds in reserve per MW, each direction (h ≥ 0)
afrr_energy_h          energy an aFRR block holds in reserve per MW, its direction (h ≥ 0)
pricing                ``pay_as_bid`` (the rule of the auction) or ``uniform``
time_limit_s           the solver's time limit, seconds (> 0)
=====================  =========================================================================

Under ``uniform`` pricing the awards are the pay-as-bid clearing's, and every accepted bid
pays the lowest accepted price of its product: the counterfactual analysts ask for first.
It keeps the bids as they were; bidders facing another rule might bid otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from decimal import Decimal
from typing import Literal

import polars as pl

from auction.errors import DomainError, Problem
from auction.model import Archive
from auction.units import PAYMENT_UNITS_PER_EUR
from clearing.result import ClearingResult

Pricing = Literal["pay_as_bid", "uniform"]
PRICING: tuple[Pricing, ...] = ("pay_as_bid", "uniform")
FLEET_SIZES = ("p_charge_mw", "p_discharge_mw", "e_min_mwh", "e_max_mwh")


@dataclass(frozen=True, slots=True)
class Rules:
    """The rules of a replay; the defaults change nothing (a plain replay)."""

    reserve_price_scale: float = 1.0
    fleet_scale: float = 1.0
    fcr_energy_h: float | None = None
    afrr_energy_h: float | None = None
    pricing: Pricing = "pay_as_bid"
    time_limit_s: float | None = None

    @property
    def plain(self) -> bool:
        """True when no rule was given: the replay checks the record."""
        return self == PLAIN

    def given(self) -> dict[str, str]:
        """The rules that differ from the auction's own, as KEY: VALUE text."""
        return {
            f.name: str(getattr(self, f.name))
            for f in fields(self)
            if getattr(self, f.name) != getattr(PLAIN, f.name)
        }


PLAIN = Rules()

# Each key: the smallest value allowed, and whether the smallest itself is allowed.
_NUMBERS: dict[str, tuple[float, bool]] = {
    "reserve_price_scale": (0.0, True),
    "fleet_scale": (0.0, False),
    "fcr_energy_h": (0.0, True),
    "afrr_energy_h": (0.0, True),
    "time_limit_s": (0.0, False),
}


def parse_rules(texts: Sequence[str]) -> Rules:
    """``["fleet_scale=1.5", "pricing=uniform"]`` to ``Rules``; every bad one is named."""
    problems: list[Problem] = []
    values: dict[str, object] = {}

    def bad(key: str | None, value: str, rule: str) -> None:
        problems.append(Problem("--rule", None, key, value, rule))

    for text in texts:
        key, sep, value = (part.strip() for part in text.partition("="))
        if not sep or not key:
            bad(None, text, "write each rule as KEY=VALUE, e.g. pricing=uniform")
        elif key in values:
            bad(key, value, "is given twice")
        elif key == "pricing":
            if value in PRICING:
                values[key] = value
            else:
                bad(key, value, f"must be one of {', '.join(PRICING)}")
        elif key in _NUMBERS:
            low, inclusive = _NUMBERS[key]
            number = _number(value)
            if number is None or number < low or (number == low and not inclusive):
                bad(key, value, f"must be a number {'≥' if inclusive else '>'} {low:g}")
            else:
                values[key] = number
        else:
            known = ", ".join([*_NUMBERS, "pricing"])
            bad(key, value, f"is not a rule; the rules are {known}")
    if problems:
        raise DomainError(problems)
    return replace(PLAIN, **values)  # type: ignore[arg-type]


def _number(text: str) -> float | None:
    try:
        number = float(text)
    except ValueError:
        return None
    return number if number == number and abs(number) != float("inf") else None


def apply_rules(archive: Archive, rules: Rules) -> Archive:
    """The archive as the rules change it (prices on the cent grid, sizes on the kW grid)."""
    config = archive.config.model_copy(
        update={
            key: value
            for key, value in (
                ("fcr_energy_h", rules.fcr_energy_h),
                ("afrr_energy_h", rules.afrr_energy_h),
                ("time_limit_s", rules.time_limit_s),
            )
            if value is not None
        }
    )
    products = archive.products
    if rules.reserve_price_scale != 1:
        products = products.with_columns(
            (pl.col("reserve_price_eur_per_mw") * rules.reserve_price_scale).round(2)
        )
    fleet = archive.fleet
    if rules.fleet_scale != 1:
        fleet = fleet.with_columns((pl.col(FLEET_SIZES) * rules.fleet_scale).round(3))
    return replace(archive, config=config, products=products, fleet=fleet)


def uniform_pricing(result: ClearingResult) -> ClearingResult:
    """Every accepted bid pays the lowest accepted price of its product; awards unchanged."""
    awards = result.awards
    lowest = (
        awards.filter(pl.col("awarded_kw") > 0)
        .group_by("product_id")
        .agg(uniform_cents=pl.col("price_cents").min())
    )
    repriced = (
        awards.join(lowest, on="product_id", how="left", maintain_order="left")
        .with_columns(payment_units=pl.col("awarded_kw") * pl.col("uniform_cents").fill_null(0))
        .drop("uniform_cents")
    )
    revenue = Decimal(int(repriced["payment_units"].sum())) / PAYMENT_UNITS_PER_EUR
    return replace(result, awards=repriced, objective_eur=revenue)
