"""The replay report as one HTML page an analyst opens in a browser, without a server.

Headline, five plot sections and four tables built from the report's frames (``tables.py``).
The figures come from ``plots.py`` as SVG and are inlined, so the page carries no script,
font, image or address of its own; the totals come from ``aggregates.py``. This module holds
the page: the frames conformed to their schemas, the numbers formatted, the summary, the
sections around the figures, the tables and the style. A plain replay (no rules) compares
today's engine with the record; a what-if compares the record with the counterfactual under
the rules.

Every string from the frames (org ids, paths, error messages) is user data and escaped. The
same frames give the same bytes: the figures repeat theirs and no date is written.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from clearing.replay.aggregates import (
    MAX_PLOTTED_ORGS,
    Report,
    change_pct,
    per_month,
    per_organisation,
    total,
    unpaired_rows,
)
from clearing.replay.extra import replay_extra
from clearing.replay.tables import DAYS, DIFFERENCES, ORGANISATIONS, PRODUCTS, STATUSES

MAX_DIFFERENCES = 200  # rows of the differences table; the rest are in differences.csv
ALERT_STATUSES = ("differs", "error")
NO_DATA = "No data."
DASH = "—"

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#222}
main{max-width:1200px;margin:0 auto;padding:1rem 1.5rem 3rem}
h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2.2rem;border-bottom:1px solid #ddd}
nav a{margin-right:.8rem}
.table{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;margin:.5rem 0;font-size:.85rem}
th,td{padding:.2rem .5rem;border-bottom:1px solid #eee;text-align:left;vertical-align:bottom}
td{vertical-align:top;white-space:pre-wrap}
th{background:#f6f6f6;font-weight:600}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
td.num{white-space:nowrap}
td.text{min-width:14ch;overflow-wrap:anywhere}td.name{min-width:24ch}
.statuses span{display:inline-block;margin:.2rem .4rem .2rem 0;padding:.15rem .5rem;
border-radius:.3rem;background:#f0f0f0}
.statuses span.alert{background:#fde2e1;color:#a40000;font-weight:bold}
.note,.empty{color:#666;font-size:.9rem}
svg{max-width:100%;height:auto}
code{background:#f3f3f3;padding:0 .2rem}
"""


@dataclass(frozen=True, slots=True)
class _Column:
    """A table column: header, frame column, formatter, right-aligned or not."""

    header: str
    key: str
    fmt: Callable[[Any], str]
    numeric: bool = True
    name: bool = False  # a name people read (an organisation's): a wider text column


# --- entry points ---------------------------------------------------------------------------


def write_html(
    path: Path,
    days: pl.DataFrame,
    products: pl.DataFrame,
    organisations: pl.DataFrame,
    differences: pl.DataFrame,
    *,
    rules: Mapping[str, str],
    title: str = "Replay report",
) -> None:
    """Write the replay report page to ``path`` (UTF-8)."""
    page = render_html(days, products, organisations, differences, rules=rules, title=title)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")


def render_html(
    days: pl.DataFrame,
    products: pl.DataFrame,
    organisations: pl.DataFrame,
    differences: pl.DataFrame,
    *,
    rules: Mapping[str, str],
    title: str = "Replay report",
) -> str:
    """The replay report as one self-contained HTML page.

    Parameters
    ----------
    days, products, organisations, differences
        Frames with the schemas ``DAYS``, ``PRODUCTS``, ``ORGANISATIONS``, ``DIFFERENCES``.
    rules
        The what-if rules (``KEY=VALUE``); empty for a plain replay.
    title
        The page's title and top heading.
    """
    report = Report(
        days=_conform(days, DAYS),
        products=_conform(products, PRODUCTS),
        organisations=_conform(organisations, ORGANISATIONS),
        differences=_conform(differences, DIFFERENCES),
        rules=dict(rules),
    )
    body = "\n".join(
        [
            f"<h1>{_esc(title)}</h1>",
            _nav(),
            _summary(report),
            *_plot_sections(report),
            _organisations_section(report),
            _months_section(report),
            _differences_section(report),
            _errors_section(report),
        ]
    )
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_esc(title)}</title>\n<style>{_CSS}</style>\n</head>\n"
        f"<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n"
    )


def _conform(frame: pl.DataFrame, schema: pl.Schema) -> pl.DataFrame:
    """The schema's columns in its types; NaN and infinities as null (they cannot be plotted
    or summed to anything meaningful)."""
    columns = []
    for name, dtype in schema.items():
        column = pl.col(name).cast(dtype)
        if dtype == pl.Float64:
            column = pl.when(column.is_finite()).then(column).alias(name)
        columns.append(column)
    return frame.select(columns)


# --- formatting -----------------------------------------------------------------------------


def _esc(value: object) -> str:
    return html.escape(str(value))


def _number(value: float | None, decimals: int) -> str:
    """Thousands separators; rounded first so that -0.001 does not show as -0.00."""
    if value is None:
        return DASH
    return f"{round(value, decimals) + 0.0:,.{decimals}f}"


def _eur(value: float | None) -> str:
    return _number(value, 2)


def _mw(value: float | None) -> str:
    return _number(value, 1)


def _seconds(value: float | None) -> str:
    return _number(value, 1)


def _count(value: int | None) -> str:
    return DASH if value is None else f"{value:,}"


def _share(value: float | None) -> str:
    """A fraction in [0, 1] as a percentage."""
    return DASH if value is None else f"{value * 100:.1f}%"


def _change(value: float | None) -> str:
    return DASH if value is None else f"{round(value, 1) + 0.0:+.1f}%"


def _text(value: object) -> str:
    return DASH if value is None else str(value)


def _day(value: date | None) -> str:
    return DASH if value is None else value.isoformat()


def _month(value: date | None) -> str:
    return "no date" if value is None else value.strftime("%Y-%m")


# --- headline -------------------------------------------------------------------------------


def _nav() -> str:
    links = [
        ("summary", "Summary"),
        ("revenue", "Revenue"),
        ("prices", "Prices"),
        ("volume", "Volume"),
        ("utilisation", "Utilisation"),
        ("comparison", "Comparison"),
        ("organisations", "Organisations"),
        ("months", "Months"),
        ("differences", "Differences"),
        ("errors", "Errors"),
    ]
    return "<nav>" + "".join(f'<a href="#{a}">{t}</a>' for a, t in links) + "</nav>"


def _summary(report: Report) -> str:
    return _section(
        "summary",
        "Summary",
        f"<p>{_esc(_replayed(report.days))}</p>",
        f"<p>{_rules(report.rules)}</p>",
        _status_counts(report.days),
        _totals(report),
    )


def _replayed(days: pl.DataFrame) -> str:
    """How many archives, and which delivery days."""
    archives = f"{_count(days.height)} archive{'' if days.height == 1 else 's'} replayed"
    known: list[date] = days["delivery_day"].drop_nulls().sort().to_list()
    if not known:
        return f"{archives}; no delivery day known."
    if known[0] == known[-1]:
        return f"{archives}, delivery day {_day(known[0])}."
    return f"{archives}, delivery days {_day(known[0])} to {_day(known[-1])}."


def _rules(rules: Mapping[str, str]) -> str:
    if not rules:
        return "Plain replay: today's engine against the record."
    listed = ", ".join(f"<code>{_esc(k)}={_esc(v)}</code>" for k, v in sorted(rules.items()))
    return f"What-if: recorded against counterfactual under {listed}."


def _status_counts(days: pl.DataFrame) -> str:
    """One badge per status, the known ones always shown; differs and error in red if any."""
    counts: dict[str, int] = dict.fromkeys(STATUSES, 0)
    for status, n in days.group_by("status").len().sort("status").iter_rows():
        key = "unknown" if status is None else str(status)
        counts[key] = counts.get(key, 0) + int(n)
    badges = []
    for status, n in counts.items():
        alert = ' class="alert"' if status in ALERT_STATUSES and n > 0 else ""
        badges.append(f"<span{alert}>{_esc(status)} <b>{_count(n)}</b></span>")
    return f'<p class="statuses">{"".join(badges)}</p>'


def _totals(report: Report) -> str:
    """Year totals: recorded beside replayed (or counterfactual), and the change in %."""
    days, orgs = report.days, report.organisations
    compared = [
        ("Revenue (EUR)", days, "recorded_revenue_eur", "revenue_eur", _eur),
        ("Volume (MW, summed over archives)", days, "recorded_volume_mw", "volume_mw", _mw),
        ("Bidder surplus (EUR)", orgs, "recorded_surplus_eur", "surplus_eur", _eur),
    ]
    rows = []
    partial = False
    for label, frame, recorded, new, fmt in compared:
        unpaired = unpaired_rows(frame, recorded, new)
        partial |= unpaired
        change = _change(change_pct(frame, recorded, new)) + ("*" if unpaired else "")
        rows.append(_row([label, fmt(total(frame, recorded)), fmt(total(frame, new)), change]))
    seconds = _seconds(total(days, "seconds"))
    rows.append(_row(["Time to read, clear and compare (s)", DASH, seconds, DASH]))
    head = _row(["Total", "recorded", report.new, "change"], header=True)
    note = (
        '<p class="note">* The change compares only the archives (or organisations) with '
        "both a recorded and a " + report.new + " value.</p>"
        if partial
        else ""
    )
    return f'<table class="totals">{head}{"".join(rows)}</table>{note}'


def _row(cells: Sequence[str], *, header: bool = False) -> str:
    """A row whose first cell is a label and the others numbers (already formatted)."""
    tag = "th" if header else "td"
    first = f"<{tag}>{_esc(cells[0])}</{tag}>"
    rest = "".join(f'<{tag} class="num">{_esc(c)}</{tag}>' for c in cells[1:])
    return f"<tr>{first}{rest}</tr>"


# --- plot sections -------------------------------------------------------------------------


def _plot_sections(report: Report) -> list[str]:
    """The five plot sections, each a figure or a "no data" sentence."""
    sections = [
        (
            "revenue",
            "Revenue per day",
            f"Revenue of each delivery day, {report.new}"
            + (" and recorded" if report.what_if else "")
            + ", with its 7-day rolling mean.",
        ),
        (
            "prices",
            "Clearing prices",
            "Per product family, the lowest accepted price divided by the window's hours "
            "(EUR/MW/h; the clearing price under uniform pricing), volume-weighted mean over "
            "the day's products; the band spans the lowest to the highest accepted price.",
        ),
        (
            "volume",
            "Volume per product family",
            f"Awarded MW·h ({report.new}) per month: awarded MW × window hours.",
        ),
        (
            "utilisation",
            "Fleet utilisation",
            "Share of the fleet's MW·h that backs blocks, per delivery day, and the fleet's "
            "discharge power (right axis).",
        ),
        ("comparison", f"Recorded vs {report.new}", _comparison_caption(report)),
    ]
    with replay_extra():  # matplotlib: only the figures need it
        from clearing.replay.plots import figures_svg
    figures = figures_svg(report)  # keyed by the sections' anchors
    return [
        _section(
            anchor,
            heading,
            f'<p class="note">{_esc(caption)}</p>',
            figures[anchor] or f'<p class="empty">{NO_DATA}</p>',
        )
        for anchor, heading, caption in sections
    ]


def _comparison_caption(report: Report) -> str:
    if report.what_if:
        return (
            "Per organisation over the period: paid EUR and bidder surplus, recorded against "
            f"counterfactual (the {MAX_PLOTTED_ORGS} largest by paid EUR)."
        )
    return (
        "Per archive: replayed revenue against recorded revenue. A faithful engine puts every "
        "point on the diagonal; points off it (red) are regressions."
    )


# --- tables ---------------------------------------------------------------------------------


def _section(anchor: str, heading: str, *parts: str) -> str:
    inner = "\n".join(p for p in parts if p)
    return f'<section id="{anchor}">\n<h2>{_esc(heading)}</h2>\n{inner}\n</section>'


def _table(frame: pl.DataFrame, columns: Sequence[_Column]) -> str:
    """An HTML table; every cell formatted, then escaped."""

    # Numbers never wrap; headers wrap between words; a text cell (a name, an id, a path)
    # wraps between words first, breaks a word only if it must, and is never narrower
    # than 14 characters. The wrapper scrolls sideways only as a last resort.
    def cls(column: _Column) -> str:
        if column.numeric:
            return ' class="num"'
        return ' class="text name"' if column.name else ' class="text"'

    head = "".join(f'<th scope="col"{cls(c)}>{_esc(c.header)}</th>' for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td{cls(c)}>{_esc(c.fmt(row[c.key]))}</td>" for c in columns) + "</tr>"
        for row in frame.iter_rows(named=True)
    )
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    return f'<div class="table">{table}</div>'


def _organisations_section(report: Report) -> str:
    orgs = per_organisation(report.organisations)
    if orgs.is_empty():
        return _section("organisations", "Organisations", f'<p class="empty">{NO_DATA}</p>')
    new = report.new
    columns = [
        _Column("organisation", "org_id", _text, numeric=False, name=True),
        _Column("recorded MW", "recorded_mw", _mw),
        _Column("recorded paid (EUR)", "recorded_paid_eur", _eur),
        _Column("recorded surplus (EUR)", "recorded_surplus_eur", _eur),
        _Column(f"{new} MW", "awarded_mw", _mw),
        _Column(f"{new} paid (EUR)", "paid_eur", _eur),
        _Column(f"{new} surplus (EUR)", "surplus_eur", _eur),
        _Column("change paid (EUR)", "change_paid", _eur),
        _Column("change surplus (EUR)", "change_surplus", _eur),
    ]
    note = (
        '<p class="note">Over the whole period; MW summed over archives. A change counts '
        "only the archives with both a recorded and a " + new + " value.</p>"
    )
    return _section("organisations", "Organisations", note, _table(orgs, columns))


def _months_section(report: Report) -> str:
    months = per_month(report.days)
    if months.is_empty():
        return _section("months", "Months", f'<p class="empty">{NO_DATA}</p>')
    columns = [
        _Column("month", "month", _month, numeric=False),
        _Column("archives", "archives", _count),
        _Column("errors", "errors", _count),
        _Column(f"{report.new} revenue (EUR)", "revenue", _eur),
        _Column("recorded revenue (EUR)", "recorded", _eur),
        _Column("volume (MW, summed)", "volume", _mw),
        _Column("mean utilisation", "utilisation", _share),
    ]
    return _section("months", "Months", _table(months, columns))


def _differences_section(report: Report) -> str:
    differences = report.differences
    if differences.is_empty():
        return _section("differences", "Differences", '<p class="empty">No difference.</p>')
    columns = [
        _Column(header, header, _text, numeric=header in ("recorded", "replayed"))
        for header in ("path", "auction_id", "bid_id", "column", "recorded", "replayed")
    ]
    more = differences.height - MAX_DIFFERENCES
    note = (
        f'<p class="note">{_count(more)} more difference{"" if more == 1 else "s"} not shown '
        "(all are in differences.csv).</p>"
        if more > 0
        else ""
    )
    shown = f'<p class="note">{_count(differences.height)} bid values differ.</p>'
    table = _table(differences.head(MAX_DIFFERENCES), columns)
    return _section("differences", "Differences", shown, table, note)


def _errors_section(report: Report) -> str:
    errors = report.days.filter(
        (pl.col("status") == "error") | pl.col("error").is_not_null()
    ).select("path", "error")
    if errors.is_empty():
        return _section("errors", "Errors", '<p class="empty">No archive failed.</p>')
    columns = [
        _Column("path", "path", _text, numeric=False),
        _Column("message", "error", _text, numeric=False),
    ]
    return _section("errors", "Errors", _table(errors, columns))
