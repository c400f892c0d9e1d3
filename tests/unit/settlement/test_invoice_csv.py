"""settlement.invoices.lines_csv: the invoice lines a clerk opens in a spreadsheet. Credits
stay negative numbers; text from bidders and operators cannot act as a formula."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from settlement.invoices import lines_csv
from tests.unit.settlement.invoice_base import END, START, award, block, gone, lines_of, va


def test_credits_stay_numbers_and_a_leading_minus_id_is_neutralised() -> None:
    product = "-1+cmd|' /C calc'!A0"
    lines = lines_of(
        awards=[award("b1", "A", 10_000, 3_000, product=product)],
        vas=[{**va("v1", "A", "b1"), "product_id": product}],
        blocks=[block("w1", "v1", "wholesale", 10_000)],
        lost=[gone("w1", START, END, 10_000)],
    )
    assert (lines["amount_units"] < 0).any()  # the base holds a credit
    rows = list(csv.DictReader(io.StringIO(lines_csv(lines), newline="")))
    assert {row["product_id"] for row in rows} == {"'" + product}
    amounts = [row["amount_eur"] for row in rows]
    # A spreadsheet reads "-300.00000" as the number -300: no apostrophe before it.
    assert any(a.startswith("-") for a in amounts)
    assert sum(Decimal(a) for a in amounts) == Decimal(lines["amount_units"].sum()) / 100_000
    assert "amount_units" not in rows[0]
