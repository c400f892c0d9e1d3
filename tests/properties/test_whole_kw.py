"""A schedule's power is whole kW: a float a hair from an integer (as floating-point
arithmetic gives, ``0.1 * 3 * 1000``) is taken as that integer, anything farther refused."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from pydantic import ValidationError

from api.http.schemas.dispatch import SchedulePoint
from api.http.schemas.fields import KW_TOLERANCE
from auction.limits import MAX_KW

TIME = "2026-11-29T14:30:00Z"
near = st.tuples(
    st.integers(-MAX_KW + 1, MAX_KW - 1), st.floats(-2 * KW_TOLERANCE, 2 * KW_TOLERANCE)
).map(lambda pair: pair[0] + pair[1])
anywhere = st.floats(-MAX_KW + 1, MAX_KW - 1, allow_nan=False)


@given(st.one_of(near, anywhere))
@example(0.1 * 3 * 1000)
@example(300.4)
@example(-299.9999999)
@example(0.5)
def test_a_float_within_the_tolerance_of_a_whole_kw_is_that_kw(power: float) -> None:
    k = round(power)
    # The distance exactly, as rationals: no float rounding in the judge.
    within = abs(Fraction(power) - k) <= Fraction(KW_TOLERANCE)
    body = json.dumps({"power": power, "time": TIME})
    if within:
        assert SchedulePoint.model_validate_json(body).power == k
        return
    with pytest.raises(ValidationError) as caught:
        SchedulePoint.model_validate_json(body)
    [error] = caught.value.errors()
    assert error["loc"] == ("power",)
    assert error["msg"].startswith("power must be whole kW")
