"""The replay report: outcomes to the four tables, and the files a person opens.

``REPORT_DIR`` gets each table as Parquet and CSV (``replay``: one row per archive,
``products``, ``organisations``, ``differences``) and ``report.html``, a self-contained page
with the plots.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import polars as pl

from auction.csvsafe import write_csv
from clearing.replay.archive import ReplayOutcome
from clearing.replay.html import write_html
from clearing.replay.tables import DAYS, DIFFERENCES, ORGANISATIONS, PRODUCTS


def days_table(outcomes: Sequence[ReplayOutcome]) -> pl.DataFrame:
    """One row per archive (schema ``DAYS``)."""
    return pl.DataFrame([o.day for o in outcomes], schema=DAYS, orient="row")


def products_table(outcomes: Sequence[ReplayOutcome]) -> pl.DataFrame:
    """One row per product of every archive (schema ``PRODUCTS``)."""
    return pl.concat([pl.DataFrame(schema=PRODUCTS), *(o.products for o in outcomes)])


def organisations_table(outcomes: Sequence[ReplayOutcome]) -> pl.DataFrame:
    """One row per organisation of every archive (schema ``ORGANISATIONS``)."""
    return pl.concat([pl.DataFrame(schema=ORGANISATIONS), *(o.organisations for o in outcomes)])


def differences_table(outcomes: Sequence[ReplayOutcome]) -> pl.DataFrame:
    """Every bid whose replay differs from its record (schema ``DIFFERENCES``)."""
    rows = [
        (o.path, o.day["auction_id"], d.bid_id, d.column, d.recorded, d.replayed)
        for o in outcomes
        for d in o.differences
    ]
    return pl.DataFrame(rows, schema=DIFFERENCES, orient="row")


def replay_tables(outcomes: Sequence[ReplayOutcome]) -> dict[str, pl.DataFrame]:
    """The four tables by the name their files get."""
    return {
        "replay": days_table(outcomes),
        "products": products_table(outcomes),
        "organisations": organisations_table(outcomes),
        "differences": differences_table(outcomes),
    }


def write_report(out: Path, tables: Mapping[str, pl.DataFrame], rules: Mapping[str, str]) -> None:
    """Write ``replay_tables``' tables (Parquet and CSV) and the HTML page into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        frame.write_parquet(out / f"{name}.parquet")
        (out / f"{name}.csv").write_text(write_csv(frame))
    write_html(
        out / "report.html",
        tables["replay"],
        tables["products"],
        tables["organisations"],
        tables["differences"],
        rules=rules,
    )
