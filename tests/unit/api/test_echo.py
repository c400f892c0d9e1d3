"""A 422 can always be written, whatever value it echoes (issue 16 item 1)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from api.http import echo
from api.http.errors import problem_detail, validation_detail
from auction.errors import Problem

NASTY: list[object] = [
    float("nan"),
    float("inf"),
    float("-inf"),
    Decimal("NaN"),
    Decimal("sNaN"),
    Decimal("-Infinity"),
    Decimal("1E+999999"),
    datetime(2026, 11, 27, 15, tzinfo=UTC),
    date(9999, 12, 31),
    b"\x00\xff" * 1000,
    "x" * 1_000_000,
    "\ud800 lone surrogate",
    "\x00",
    10**5000,
    -(10**30),
    {"nested": [float("nan"), {"deeper": Decimal("NaN")}]},
    [1, 2, float("inf")],
    object(),
]


def _strict(document: Any) -> str:
    """The document as an answer's body: strict JSON, UTF-8."""
    text = json.dumps(document, allow_nan=False, ensure_ascii=False)
    text.encode("utf-8")
    return text


@pytest.mark.parametrize("value", NASTY, ids=lambda v: type(v).__name__)
def test_a_problem_item_can_be_written_whatever_its_value(value: object) -> None:
    item = problem_detail(Problem("bids", 3, "price_eur_per_mw", value, "a rule", bid_id="b1"))
    assert len(_strict(item)) < 2_000
    assert item["loc"] == ["body", 2, "price_eur_per_mw"]
    assert item["field"] == "price_eur_per_mw"


@pytest.mark.parametrize("value", NASTY, ids=lambda v: type(v).__name__)
def test_a_validation_item_can_be_written_whatever_its_input(value: object) -> None:
    errors = [{"loc": ("body", "x" * 100_000, 0), "msg": "m" * 100_000, "input": value}]
    [item] = validation_detail(errors)
    assert len(_strict(item)) < 4_000
    assert item["loc"][2] == 0


def test_echoed_values_keep_their_meaning() -> None:
    assert echo.scalar(float("nan")) == "NaN"
    assert echo.scalar(float("-inf")) == "-Infinity"
    assert echo.scalar(Decimal("12.50")) == "12.50"
    assert echo.scalar(12.5) == 12.5
    assert echo.scalar(True) is True
    assert echo.scalar(7) == 7
    assert echo.scalar(10**30) == "an integer of about 31 digits"
    assert echo.scalar(datetime(2026, 1, 1, tzinfo=UTC)) == "2026-01-01T00:00:00+00:00"
    assert echo.scalar({"a": 1}) is None
    shown = echo.scalar("y" * 1_000)
    assert isinstance(shown, str)
    assert shown.startswith("y" * 200)
    assert shown.endswith("(1,000 characters)")
    assert echo.scalar("\ud800") == "\\ud800"


def test_pydantic_s_own_errors_on_nan_go_through() -> None:
    class M(BaseModel):
        n: int
        d: Decimal

    with pytest.raises(ValidationError) as caught:
        M.model_validate({"n": float("nan"), "d": float("inf")})
    detail = validation_detail(caught.value.errors())
    assert {item["field"] for item in detail} == {"n", "d"}
    _strict(detail)
