"""The replay report (``vba replay --out``) in a real Chromium at 1,280 px: no table is wider
than its place on the page, no header or name cell is squeezed to a letter per line, every
section stays within the page. The report is a file (no server); its frames are a synthetic
replay with what a real one can hold at its worst: long organisation names and ids without
a space, sums of hundreds of millions of EUR, long archive paths and error messages.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from playwright.sync_api import Browser, Page

from clearing.replay.html import write_html
from clearing.replay.tables import DAYS, DIFFERENCES, FAMILIES, ORGANISATIONS, PRODUCTS
from tests.ui.conftest import snapshot

pytest.importorskip("matplotlib")  # the report's figures: the replay extra

WIDTH = 1280
START = date(2025, 1, 1)
N_DAYS = 62  # two months and a bit: a Months table of three rows
ORGS = (
    "Nordwestdeutsche Batteriespeicher-Handelsgesellschaft mbH & Co. KG",
    "b7c1d2e3-4f5a-4b6c-8d7e-9f0a1b2c3d4e",  # an id where the name is unknown
    "Kestrel Energy",
    "baltic-power-desk",
)
LONG_PATH = "/srv/archives/" + "/".join(["vba-history-replay-2025"] * 4)


def _days() -> pl.DataFrame:
    rows = []
    for i in range(N_DAYS):
        day = START + timedelta(days=i)
        failed = i % 31 == 5
        rows.append(
            {
                "path": f"{LONG_PATH}/{day}",
                "auction_id": f"hist-{day}",
                "delivery_day": day,
                "status": "error" if failed else ("differs" if i % 7 == 0 else "same"),
                "solver_status": "optimal",
                "n_bids": 10_000,
                "n_accepted": 6_123,
                "revenue_eur": None if failed else 3_456_789.12 + i,
                "recorded_revenue_eur": 3_456_000.0 + i,
                "volume_mw": 98_765.4,
                "recorded_volume_mw": 98_765.4,
                "lowest_price_eur_per_mw": 20.0,
                "highest_price_eur_per_mw": 8_000.0,
                "fleet_mw": 1_000.0,
                "utilisation": 0.5,
                "differences": 3,
                "seconds": 12.5,
                "error": (
                    "ArchiveError: bids.parquet, row 17, column price_eur_per_mw: value "
                    "NaN breaks the rule 'a finite number of EUR' " + LONG_PATH
                    if failed
                    else None
                ),
            }
        )
    return pl.DataFrame(rows, schema=DAYS)


def _frames() -> tuple[pl.DataFrame, ...]:
    days = _days()
    keys = days.select("auction_id", "delivery_day").rows()
    products = [
        {
            "auction_id": auction_id,
            "delivery_day": day,
            "product_id": f"{family}-1",
            "family": family,
            "hours": 4.0,
            "awarded_mw": 5.0 + k,
            "revenue_eur": 123_456.78,
            "lowest_price_eur_per_mw": 40.0,
            "highest_price_eur_per_mw": 60.0,
            "recorded_awarded_mw": 5.0 + k,
            "recorded_revenue_eur": 123_000.0,
        }
        for auction_id, day in keys
        for k, family in enumerate(FAMILIES)
    ]
    organisations: list[dict[str, Any]] = [
        {
            "auction_id": auction_id,
            "delivery_day": day,
            "org_id": org,
            "recorded_mw": 1_234.5,
            "recorded_paid_eur": 987_654.32 + k,
            "recorded_surplus_eur": -123_456.78,
            "awarded_mw": 1_234.5,
            "paid_eur": 876_543.21 + k,
            "surplus_eur": 234_567.89,
        }
        for auction_id, day in keys
        for k, org in enumerate(ORGS)
    ]
    differences = [
        (f"{LONG_PATH}/2025-01-0{i % 9 + 1}", "hist-2025-01-01", ORGS[1], "payment_eur", "1", "2")
        for i in range(30)
    ]
    return (
        days,
        pl.DataFrame(products, schema=PRODUCTS),
        pl.DataFrame(organisations, schema=ORGANISATIONS),
        pl.DataFrame(differences, schema=DIFFERENCES, orient="row"),
    )


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("replay") / "report.html"
    days, products, organisations, differences = _frames()
    write_html(path, days, products, organisations, differences, rules={"pricing": "uniform"})
    return path


@pytest.fixture
def page(browser: Browser, report: Path) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": WIDTH, "height": 900})
    page = context.new_page()
    page.goto(report.as_uri())
    yield page
    context.close()


# Per table: its width and its container's; per header and first-column cell, how much
# narrower it is than it should be: at least its whole text or six "0" widths (``ch``),
# whichever is less (a header "path" needs four, a name of forty letters six).
MEASURE = """() => {
  const width = (cell, text) => {
    const probe = document.createElement("span");
    probe.textContent = text;
    probe.style.whiteSpace = "pre";
    cell.appendChild(probe);
    const w = probe.getBoundingClientRect().width;
    probe.remove();
    return w;
  };
  const inner = (cell) => {
    const style = getComputedStyle(cell);
    return cell.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
  };
  const short = (cell) => {
    const text = cell.textContent;
    const need = Math.min(width(cell, text), width(cell, "000000"));
    return {text, need: Math.floor(need), has: Math.floor(inner(cell))};
  };
  const tables = [...document.querySelectorAll("table")].map((table) => {
    const section = table.closest("section");
    const container = table.parentElement;
    const cells = [...table.querySelectorAll("th, tbody td:first-child")].map(short);
    return {
      section: section ? section.id : "top",
      width: Math.ceil(table.getBoundingClientRect().width),
      scroll: container.scrollWidth,
      room: container.clientWidth,
      squeezed: cells.filter((c) => c.has < c.need),
    };
  });
  const main = document.querySelector("main").getBoundingClientRect();
  const sections = [...document.querySelectorAll("section, h1, nav, figure, svg, img")].map(
    (s) => ({id: s.id || s.tagName, right: Math.ceil(s.getBoundingClientRect().right)}));
  return {
    tables,
    sections,
    main_right: Math.ceil(main.right),
    page_scroll: document.documentElement.scrollWidth,
    viewport: window.innerWidth,
  };
}"""


def test_every_table_fits_its_place_and_no_name_is_squeezed(page: Page) -> None:
    snapshot(page, "replay-report-1280")
    measured = page.evaluate(MEASURE)
    assert measured["page_scroll"] <= measured["viewport"], measured
    sections = {t["section"] for t in measured["tables"]}
    assert {"organisations", "months", "differences", "errors"} <= sections
    for table in measured["tables"]:
        assert table["width"] <= table["room"], table
        assert table["scroll"] <= table["room"], table  # no scroll bar either
        assert table["squeezed"] == [], table
    for section in measured["sections"]:
        assert section["right"] <= measured["main_right"] + 1, section


def test_the_organisation_names_are_whole_words(page: Page) -> None:
    # A name wraps between words (the id has no space: it may break), over a few lines.
    cells = page.locator("#organisations tbody td:first-child")
    texts = cells.all_text_contents()
    assert ORGS[0] in texts
    first = cells.filter(has_text="Nordwestdeutsche")
    lines = first.evaluate(
        """(cell) => {
          const range = document.createRange();
          range.selectNodeContents(cell);
          const probe = document.createElement("span");
          probe.textContent = "KG";
          cell.appendChild(probe);
          const line = probe.getBoundingClientRect().height;
          probe.remove();
          return Math.round(range.getBoundingClientRect().height / line);
        }"""
    )
    assert lines <= 4, lines
