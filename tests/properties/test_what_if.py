"""What-if rules keep their promises on small generated auctions (tests/strategies.py).

Each property follows from the rule's definition, so none needs a recorded answer:
removing reserve prices only adds eligible bids, a larger fleet only relaxes the capacity
constraints, and uniform pricing charges the lowest accepted price of the product.
Revenue comparisons allow the 0.01 EUR the clearing's optimality promise allows.
"""

from __future__ import annotations

from decimal import Decimal

import polars as pl
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from auction.model import Archive
from clearing import ClearingResult, clear
from clearing.replay import PLAIN, Rules, apply_rules, uniform_pricing
from tests.strategies import archives

TOLERANCE_EUR = Decimal("0.01")
AWARDS = ("bid_id", "awarded_kw", "payment_units", "status", "reason")


def cleared(archive: Archive, rules: Rules) -> ClearingResult:
    result = clear(apply_rules(archive, rules))
    assume(result.status == "optimal")
    return result


@settings(max_examples=40, deadline=None)
@given(archives())
def test_reserve_prices_scaled_by_zero_never_lower_revenue(archive: Archive) -> None:
    plain = cleared(archive, PLAIN)
    free = cleared(archive, Rules(reserve_price_scale=0.0))
    assert free.objective_eur >= plain.objective_eur - TOLERANCE_EUR
    # Without a bid below a reserve price, removing the reserve prices changes nothing.
    if not (plain.awards["reason"] == "below_reserve").any():
        assert_frame_equal(free.awards.select(AWARDS), plain.awards.select(AWARDS))


@settings(max_examples=40, deadline=None)
@given(archives(), st.sampled_from([1.0, 1.25, 1.5, 2.0, 3.0]))
def test_a_larger_fleet_never_lowers_revenue(archive: Archive, scale: float) -> None:
    plain = cleared(archive, PLAIN)
    larger = cleared(archive, Rules(fleet_scale=scale))
    assert larger.objective_eur >= plain.objective_eur - TOLERANCE_EUR


@settings(max_examples=40, deadline=None)
@given(archives())
def test_uniform_pricing_charges_the_lowest_accepted_price_and_never_more_than_the_bid(
    archive: Archive,
) -> None:
    plain = cleared(archive, PLAIN)
    uniform = uniform_pricing(plain)
    awards = uniform.awards.join(
        plain.awards.select("bid_id", paid_as_bid="payment_units"), on="bid_id"
    )
    accepted = awards.filter(pl.col("awarded_kw") > 0)
    lowest = accepted.group_by("product_id").agg(lowest=pl.col("price_cents").min())
    checked = accepted.join(lowest, on="product_id")
    assert (checked["payment_units"] == checked["awarded_kw"] * checked["lowest"]).all()
    assert (awards["payment_units"] <= awards["paid_as_bid"]).all()
    assert (awards.filter(pl.col("awarded_kw") == 0)["payment_units"] == 0).all()
    assert uniform.objective_eur <= plain.objective_eur
    assert uniform.objective_eur * 100_000 == int(uniform.awards["payment_units"].sum())
    # The awards themselves are the pay-as-bid clearing's.
    assert_frame_equal(
        uniform.awards.select("bid_id", "awarded_kw"), plain.awards.select("bid_id", "awarded_kw")
    )


@settings(max_examples=30, deadline=None)
@given(archives(), st.sampled_from([0.5, 1.0, 2.0]))
def test_more_energy_held_for_reserves_never_raises_revenue(archive: Archive, hours: float) -> None:
    plain = cleared(archive, Rules(fcr_energy_h=0.25, afrr_energy_h=1.0))
    stricter = cleared(archive, Rules(fcr_energy_h=0.25 + hours, afrr_energy_h=1.0 + hours))
    assert stricter.objective_eur <= plain.objective_eur + TOLERANCE_EUR
