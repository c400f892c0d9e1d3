"""The replay report page: every section, self-contained, escaped, totals that add up, and a
page whatever the frames hold (empty, all errors, one day, unrecorded, random nulls)."""

from __future__ import annotations

import math
import random
import re
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import matplotlib as mpl
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from clearing.replay.aggregates import per_organisation
from clearing.replay.html import render_html, write_html
from clearing.replay.tables import (
    DAYS,
    DIFFERENCES,
    FAMILIES,
    ORGANISATIONS,
    PRODUCTS,
    STATUSES,
)

START = date(2026, 1, 1)
HEADINGS = (
    "Summary",
    "Revenue per day",
    "Clearing prices",
    "Volume per product family",
    "Fleet utilisation",
    "Organisations",
    "Months",
    "Differences",
    "Errors",
)
WHAT_IF = {"pricing": "uniform"}
Frames = tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]


def days_frame(n: int, *, status: str = "same", factor: float = 1.0) -> pl.DataFrame:
    """``n`` consecutive delivery days, one archive each; replayed revenue = recorded × factor."""
    rows = []
    for i in range(n):
        day = START + timedelta(days=i)
        recorded = 1000.0 + 10.25 * i
        rows.append(
            {
                "path": f"history/{day}",
                "auction_id": f"a{i}",
                "delivery_day": day,
                "status": status,
                "solver_status": "optimal",
                "n_bids": 10,
                "n_accepted": 6,
                "revenue_eur": recorded * factor,
                "recorded_revenue_eur": recorded,
                "volume_mw": 50.0 + i,
                "recorded_volume_mw": 50.0 + i,
                "lowest_price_eur_per_mw": 20.0,
                "highest_price_eur_per_mw": 80.0,
                "fleet_mw": 100.0,
                "utilisation": 0.5,
                "differences": 0,
                "seconds": 0.25,
                "error": None,
            }
        )
    return pl.DataFrame(rows, schema=DAYS)


def products_frame(days: pl.DataFrame) -> pl.DataFrame:
    """One product per family and archive: 4 h windows, prices rising with the day."""
    rows = [
        {
            "auction_id": auction_id,
            "delivery_day": day,
            "product_id": f"{family}-1",
            "family": family,
            "hours": 4.0,
            "awarded_mw": 5.0 + k,
            "revenue_eur": (5.0 + k) * 40.0,
            "lowest_price_eur_per_mw": 40.0 + i,
            "highest_price_eur_per_mw": 60.0 + i,
            "recorded_awarded_mw": 5.0 + k,
            "recorded_revenue_eur": (5.0 + k) * 40.0,
        }
        for i, (auction_id, day) in enumerate(days.select("auction_id", "delivery_day").rows())
        for k, family in enumerate(FAMILIES)
    ]
    return pl.DataFrame(rows, schema=PRODUCTS)


def organisations_frame(
    days: pl.DataFrame, orgs: tuple[str, ...] = ("A", "B"), *, factor: float = 1.0
) -> pl.DataFrame:
    """Each organisation in every archive; counterfactual paid and surplus = recorded × factor."""
    rows = [
        {
            "auction_id": auction_id,
            "delivery_day": day,
            "org_id": org,
            "recorded_mw": 2.0,
            "recorded_paid_eur": 100.0 + k,
            "recorded_surplus_eur": 10.5,
            "awarded_mw": 2.0,
            "paid_eur": (100.0 + k) * factor,
            "surplus_eur": 10.5 * factor,
        }
        for auction_id, day in days.select("auction_id", "delivery_day").rows()
        for k, org in enumerate(orgs)
    ]
    return pl.DataFrame(rows, schema=ORGANISATIONS)


def differences_frame(n: int) -> pl.DataFrame:
    rows = [("history/x", "a0", f"b{i}", "awarded_mw", "5", "6") for i in range(n)]
    return pl.DataFrame(rows, schema=DIFFERENCES, orient="row")


def frames(n: int, *, factor: float = 1.0, orgs: tuple[str, ...] = ("A", "B")) -> Frames:
    days = days_frame(n, factor=factor)
    return (
        days,
        products_frame(days),
        organisations_frame(days, orgs, factor=factor),
        differences_frame(0),
    )


def empty() -> Frames:
    return tuple(pl.DataFrame(schema=s) for s in (DAYS, PRODUCTS, ORGANISATIONS, DIFFERENCES))  # type: ignore[return-value]


def render(data: Frames, rules: dict[str, str] | None = None, **kwargs: Any) -> str:
    return render_html(*data, rules=rules or {}, **kwargs)


def section(page: str, anchor: str) -> str:
    found = re.search(rf'<section id="{anchor}">(.*?)</section>', page, re.S)
    assert found, anchor
    return found.group(1)


def eur(value: Any) -> str:
    return f"{value:,.2f}"


def test_the_page_has_every_section_and_five_plots() -> None:
    page = render(frames(20))
    for heading in (*HEADINGS, "Recorded vs replayed"):
        assert f"<h2>{heading}</h2>" in page
    assert page.count("<svg") == 5
    assert "No data." not in page
    assert "20 archives replayed, delivery days 2026-01-01 to 2026-01-20." in page
    assert "Plain replay: today's engine against the record." in page


def test_the_page_is_self_contained() -> None:
    page = render(frames(20, orgs=("A", "B", "C")), WHAT_IF)
    for outside in ('src="http', 'href="http', "<script", "<link", "<img", "@import", "<?xml"):
        assert outside not in page
    assert re.findall(r"url\((?!#)", page) == []  # only the figures' own clip paths
    assert page.startswith("<!DOCTYPE html>")
    assert page.count("<svg") == page.count("</svg>") == 5


def test_user_data_is_escaped() -> None:
    days = days_frame(3).with_columns(
        status=pl.lit("error"), error=pl.lit("<script>alert(1)</script>")
    )
    orgs = organisations_frame(days, ("<b>evil</b>",))
    differences = differences_frame(1).with_columns(bid_id=pl.lit("<i>bid</i>"))
    data = (days, products_frame(days), orgs, differences)
    page = render(data, {"fleet_scale": "<1.5>"}, title="<title> & co")
    for raw in ("<b>evil</b>", "<script>", "<i>bid</i>", "<1.5>", "<title> &"):
        assert raw not in page
    assert "&lt;b&gt;evil&lt;/b&gt;" in section(page, "organisations")
    assert "&lt;b&gt;evil&lt;/b&gt;" in section(page, "comparison")  # the bar label, in SVG
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in section(page, "errors")


def test_the_totals_are_the_sums_of_the_frames() -> None:
    data = frames(30, factor=1.1)
    days, _, orgs, _ = data
    totals = section(render(data, WHAT_IF), "summary")
    assert eur(days["recorded_revenue_eur"].sum()) in totals
    assert eur(days["revenue_eur"].sum()) in totals
    assert f"{days['volume_mw'].sum():,.1f}" in totals
    assert f"{days['seconds'].sum():,.1f}" in totals
    assert eur(orgs["recorded_surplus_eur"].sum()) in totals
    assert eur(orgs["surplus_eur"].sum()) in totals


def test_a_what_if_shows_recorded_beside_counterfactual() -> None:
    page = render(frames(10, factor=1.1), WHAT_IF)
    assert "<h2>Recorded vs counterfactual</h2>" in page
    assert "<code>pricing=uniform</code>" in page
    summary = section(page, "summary")
    assert '<th class="num">recorded</th><th class="num">counterfactual</th>' in summary
    assert summary.count("+10.0%") == 2  # revenue and bidder surplus; volume unchanged
    assert "+0.0%" in summary
    assert "counterfactual paid (EUR)" in section(page, "organisations")


def test_differs_and_errors_are_highlighted() -> None:
    days = pl.concat(
        [days_frame(1, status=s) for s in ("same", "same", "differs", "error")]
    ).with_columns(error=pl.when(pl.col("status") == "error").then(pl.lit("broken")))
    page = render((days, *empty()[1:]))
    assert "<span>same <b>2</b></span>" in page
    assert '<span class="alert">differs <b>1</b></span>' in page
    assert '<span class="alert">error <b>1</b></span>' in page
    assert "<span>unrecorded <b>0</b></span>" in page


def test_differences_beyond_200_are_counted_not_shown() -> None:
    data = (*frames(2)[:3], differences_frame(250))
    differences = section(render(data), "differences")
    assert differences.count("<tr>") == 201  # header and 200 rows
    assert "50 more differences not shown" in differences
    assert "250 bid values differ." in differences


def test_empty_frames_render_a_page() -> None:
    page = render(empty())
    assert "0 archives replayed; no delivery day known." in page
    assert "<svg" not in page
    assert page.count("No data.") == 7  # five plots, organisations, months
    assert "No archive failed." in page


def test_all_errors_render_a_page() -> None:
    numbers = [n for n, t in DAYS.items() if t in (pl.Float64, pl.Int64)]
    days = days_frame(5).with_columns(
        *(pl.lit(None, dtype=DAYS[n]).alias(n) for n in numbers),
        delivery_day=pl.when(pl.col("auction_id") == "a0").then(pl.col("delivery_day")),
        status=pl.lit("error"),
        error=pl.lit("archive unreadable"),
    )
    page = render((days, *empty()[1:]))
    assert "<svg" not in page
    assert "5 archives replayed, delivery day 2026-01-01." in page
    assert section(page, "errors").count("archive unreadable") == 5
    assert '<span class="alert">error <b>5</b></span>' in page


def test_a_single_day_renders_every_plot() -> None:
    assert render(frames(1)).count("<svg") == 5
    assert render(frames(1), WHAT_IF).count("<svg") == 5


def test_unrecorded_archives_leave_the_comparison_without_data() -> None:
    days, products, orgs, differences = frames(5)
    recorded = [c for c in DAYS.names() if c.startswith("recorded_")]
    days = days.with_columns(pl.lit(None, dtype=pl.Float64).alias(c) for c in recorded)
    days = days.with_columns(status=pl.lit("unrecorded"))
    orgs = orgs.with_columns(
        pl.lit(None, dtype=pl.Float64).alias(c) for c in ORGANISATIONS.names() if "recorded" in c
    )
    page = render((days, products, orgs, differences))
    assert page.count("<svg") == 4  # no recorded revenue: no diagonal
    assert '<td>Revenue (EUR)</td><td class="num">—</td>' in page


def test_two_renders_are_identical_and_leave_matplotlib_as_they_found_it(
    tmp_path: Path,
) -> None:
    data = frames(40, factor=0.9, orgs=("A", "B", "C"))
    salt = mpl.rcParams["svg.hashsalt"]
    first = render(data, WHAT_IF)
    assert render(data, WHAT_IF) == first
    assert mpl.rcParams["svg.hashsalt"] == salt
    write_html(tmp_path / "out" / "report.html", *data, rules=WHAT_IF)
    assert (tmp_path / "out" / "report.html").read_text(encoding="utf-8") == first


def test_totals_are_exact_and_do_not_depend_on_the_order_of_the_rows() -> None:
    """Payments on the 1e-5 EUR grid added as floats give other last bits in another order
    (and now and then another cent on the page); the report adds them exactly."""
    days, products, organisations, differences = frames(365, factor=0.9, orgs=("A", "B", "C"))
    rng = random.Random(7)
    organisations = organisations.with_columns(
        paid_eur=pl.Series([round(rng.uniform(0, 99_999), 5) for _ in range(organisations.height)])
    )
    totals = per_organisation(organisations)
    for org in ("A", "B", "C"):
        paid = organisations.filter(pl.col("org_id") == org)["paid_eur"]
        exact = sum(Decimal(str(v)) for v in paid)
        assert totals.row(by_predicate=pl.col("org_id") == org, named=True)["paid_eur"] == float(
            exact
        )
    first = render((days, products, organisations, differences), WHAT_IF)
    for seed in (1, 2):
        shuffled = [
            frame.sample(fraction=1.0, shuffle=True, seed=seed)
            for frame in (days, products, organisations)
        ]
        assert render((*shuffled, differences), WHAT_IF) == first  # type: ignore[arg-type]


# --- robustness -----------------------------------------------------------------------------

FLOATS = st.floats(-1e6, 1e6) | st.sampled_from([math.nan, math.inf, -math.inf, 0.0])
TEXT = st.text(st.characters(codec="utf-8"), max_size=8)
CHOICES = {"status": STATUSES, "family": FAMILIES}


def values(name: str, dtype: pl.DataType) -> st.SearchStrategy[Any]:
    """Any value of the column's type, or null; a few days so that rows share days and months."""
    if dtype == pl.Float64:
        strategy: st.SearchStrategy[Any] = FLOATS
    elif dtype == pl.Int64:
        strategy = st.integers(0, 1000)
    elif dtype == pl.Date:
        strategy = st.dates(date(2026, 1, 1), date(2026, 2, 15))
    elif name in CHOICES:
        strategy = st.sampled_from(CHOICES[name]) | TEXT
    else:
        strategy = TEXT
    return st.none() | strategy


def random_frames(schema: pl.Schema) -> st.SearchStrategy[pl.DataFrame]:
    row = st.fixed_dictionaries({n: values(n, t) for n, t in schema.items()})
    return st.lists(row, max_size=5).map(lambda rows: pl.DataFrame(rows, schema=schema))


# Each example draws five figures: a few examples cover the nulls without a slow test.
@settings(max_examples=20)
@given(
    days=random_frames(DAYS),
    products=random_frames(PRODUCTS),
    orgs=random_frames(ORGANISATIONS),
    differences=random_frames(DIFFERENCES),
    rules=st.sampled_from([{}, WHAT_IF]),
)
def test_random_frames_with_nulls_always_render_a_page(
    days: pl.DataFrame,
    products: pl.DataFrame,
    orgs: pl.DataFrame,
    differences: pl.DataFrame,
    rules: dict[str, str],
) -> None:
    page = render((days, products, orgs, differences), rules)
    assert "<h2>Summary</h2>" in page
    assert f"{days.height} archive" in page
    assert page.rstrip().endswith("</html>")
