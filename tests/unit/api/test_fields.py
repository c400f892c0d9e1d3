"""The constrained field types: each limit refuses what the store could not hold, takes
what it can, and shows in the JSON schema (so in OpenAPI)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from api.http.schemas import fields
from api.http.schemas.bids import BidCreate
from auction.limits import MAX_MW, MAX_PRICE_EUR_PER_MW

NUL = "\x00"
CASES: list[tuple[Any, list[object], list[object]]] = [
    # type, accepted, refused
    (
        fields.Key,
        ["p1", "a" * 64, "DAY-WS2", "ümlaut ok"],
        ["", "a" * 65, f"p{NUL}", "a\n", "\ud800", "a\x85"],
    ),
    (
        fields.SafeId,
        ["sample", "hist-2025-01-01", "a.b_c-d", "0", "a" * 64],
        ["a/b", ".", "..", "-x", "_x", "a b", f"x{NUL}", "a" * 65, "ä", ""],
    ),
    (fields.Text, ["g1", "x" * 200, "Gruppe ä"], ["", "x" * 201, f"g{NUL}", "g\x1b", "g\t"]),
    (fields.Name, ["Alpha Trading", "n" * 200], ["", "n" * 201, f"Evil{NUL}Corp"]),
    (
        fields.Email,
        ["trader@example.com", "a@b.c"],
        ["trader", "a@b", "a b@c.d", f"a{NUL}@b.c", "e" * 321 + "@b.c", "a@@b.c"],
    ),
    (fields.Login, ["anything typed", "a@b.c"], ["", f"a{NUL}", "u" * 321]),
    (
        fields.Eic,
        ["10YDE-EON------1", "10YDE-RWENET---I"],
        ["XX", "10YDE-EON------2", "10ZDE-EON------1", "10yde-eon------1", f"10YDE{NUL}"],
    ),
    (
        fields.Mw,
        [Decimal("0.001"), 1, "100000", "12.5"],
        [0, -1, "100000.001", 1e16, "1e999999", "NaN", "Infinity", float("nan"), float("inf")],
    ),
    (
        fields.PriceEurPerMw,
        [0, "999999.99", 1_000_000, "-0"],
        [-0.01, 1e17, 10**30, "1e999999", "NaN", "-Infinity", float("-inf")],
    ),
    (fields.Fraction, [0, 1, "0.5"], [-0.1, 1.1, "NaN"]),
    (fields.Efficiency, ["0.95", 1], [0, 1.01, "NaN"]),
    (fields.ConfigHours, [0, 0.25, 24], [-1, 25, "NaN", float("inf")]),
    (fields.TimeLimitS, [60, 0.5, 3600], [0, 3601, "Infinity", float("nan")]),
    (fields.GateClosureS, [0, 330, 86_400], [-1, 86_401, 10**30]),
    (fields.PowerKw, [0, -100_000_000, 100_000_000], [100_000_001, 10**30]),
    (
        fields.Day,
        ["2000-01-01", "2026-11-29", "2999-12-31"],
        ["1999-12-31", "3000-01-01", "9999-12-31", "0001-01-01"],
    ),
    (
        fields.Instant,
        ["2026-11-27T15:00:00+01:00", "2000-01-01T00:00:00Z"],
        [
            "2026-11-27T15:00:00",  # no offset
            "0001-01-01T00:00:00+05:00",
            "9999-12-31T23:59:59-05:00",
            "2000-01-01T00:00:00+01:00",  # 1999 in UTC
        ],
    ),
    (
        fields.Moment,
        ["2026-11-27T15:00:00+01:00", "2026-11-27T15:00:00"],
        ["0001-01-01T00:00:00+05:00"],
    ),
]  # fmt: skip


@pytest.mark.parametrize(("kind", "good", "bad"), CASES)
def test_each_field_type_takes_what_the_store_holds_and_refuses_the_rest(
    kind: Any, good: list[object], bad: list[object]
) -> None:
    adapter: TypeAdapter[Any] = TypeAdapter(kind)
    for value in good:
        adapter.validate_python(value)
    for value in bad:
        with pytest.raises(ValidationError):
            adapter.validate_python(value)
        if isinstance(value, str | int) and not isinstance(value, bool):
            # As a JSON document too (what a request body is).
            text = f'"{value}"' if isinstance(value, str) else str(value)
            with pytest.raises(ValidationError):
                adapter.validate_json(
                    text.replace("\x00", "\\u0000").encode("utf-8", "surrogatepass")
                )


def test_the_limits_show_in_the_json_schema() -> None:
    schema = BidCreate.model_json_schema()
    props = schema["properties"]
    group = props["exclusive_group"]["anyOf"][0]
    assert (group["maxLength"], group["pattern"]) == (200, r"^[^\x00-\x1f\x7f-\x9f]*$")
    assert props["product_id"]["maxLength"] == 64
    price = props["price_eur_per_mw"]
    assert (price["minimum"], price["maximum"]) == (0, float(MAX_PRICE_EUR_PER_MW))
    quantity = props["quantity_mw"]
    assert (quantity["exclusiveMinimum"], quantity["maximum"]) == (0, float(MAX_MW))
    assert TypeAdapter(fields.SafeId).json_schema()["pattern"] == fields.SAFE_ID
    assert TypeAdapter(fields.Eic).json_schema()["pattern"] == fields.EIC_PATTERN
    eic = TypeAdapter(fields.Eic).json_schema()
    assert (eic["minLength"], eic["maxLength"]) == (16, 16)
    day = TypeAdapter(fields.Day).json_schema()
    assert "2000-01-01" in day["description"]


def test_refusals_are_worded_like_the_domain_s_rules() -> None:
    from api.http.schemas.auctions import OutageIn

    outage = {"asset_id": "a1", "start": "2026-11-29T08:00:00+01:00"}
    outage |= {"end": "2026-11-29T10:00:00+01:00", "available_fraction": "1.5"}
    with pytest.raises(ValidationError) as caught:
        OutageIn.model_validate(outage)
    [error] = caught.value.errors()
    assert error["msg"] == "available_fraction must lie in [0, 1]"
    with pytest.raises(ValidationError) as caught:
        TypeAdapter(fields.Eic).validate_python("10YDE-EON------2")
    assert caught.value.errors()[0]["msg"] == "the EIC's check character is '2', but should be '1'"


def test_the_largest_award_s_payment_fits_the_store_s_integers() -> None:
    """kW x cents of an award at both maxima (1e16), summed over 900 such awards, stays
    inside the store's 64-bit integers; the last day plus two stays inside ``date``."""
    payment = int(MAX_MW * 1000) * int(MAX_PRICE_EUR_PER_MW * 100)
    assert payment * 900 < 2**63
    assert date(2999, 12, 31).toordinal() + 2 < date.max.toordinal()
