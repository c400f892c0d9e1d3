"""The replay report as one HTML page an analyst opens in a browser, without a server.

Headline, five plots and four tables built from the report's frames (``tables.py``). The
plots are matplotlib figures written as SVG and inlined, so the page carries no script, font,
image or address of its own. A plain replay (no rules) compares today's engine with the
record; a what-if compares the record with the counterfactual under the rules.

Every string from the frames (org ids, paths, error messages) is user data and escaped. The
same frames give the same bytes: SVG ids come from a fixed salt and no date is written.
"""

from __future__ import annotations

import html
import io
import re
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import matplotlib as mpl
import matplotlib.ticker as mticker
import numpy as np
import polars as pl
from matplotlib.axes import Axes
from matplotlib.axis import Axis
from matplotlib.figure import Figure
from matplotlib.typing import RcKeyType

from clearing.replay.tables import DAYS, DIFFERENCES, FAMILIES, ORGANISATIONS, PRODUCTS, STATUSES

MAX_DIFFERENCES = 200  # rows of the differences table; the rest are in differences.csv
MAX_PLOTTED_ORGS = 25  # bars per panel before a chart stops being readable
ALERT_STATUSES = ("differs", "error")
NO_DATA = "No data."
DASH = "—"

# Text stays text (a tenth of the size of glyph outlines, and selectable); "$" in an org id is
# data, not TeX; the browser draws the fonts, so nothing is embedded or fetched.
_RC: dict[RcKeyType, Any] = {
    "date.converter": "concise",  # "Mar", "May" … rather than full dates on every tick
    "svg.fonttype": "none",
    "text.parse_math": False,
    "path.simplify": True,
    "font.size": 9,
    "font.family": "sans-serif",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "legend.frameon": False,
}
# No metadata block: it would hold a date (not reproducible) and addresses (not needed).
_SVG_METADATA: dict[str, Any] = {"Date": None, "Creator": None, "Format": None, "Type": None}
_FAMILY_COLOURS = {
    "wholesale": "#1f77b4",
    "fcr": "#ff7f0e",
    "afrr": "#2ca02c",
    "stacked": "#9467bd",
}
_OTHER_COLOURS = ("#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#d62728")
RECORDED_COLOUR = "#7f7f7f"
NEW_COLOUR = "#1f77b4"
ALERT_COLOUR = "#d62728"

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#222}
main{max-width:1100px;margin:0 auto;padding:1rem 1.5rem 3rem}
h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2.2rem;border-bottom:1px solid #ddd}
nav a{margin-right:.8rem}
table{border-collapse:collapse;margin:.5rem 0;font-size:.9rem}
th,td{padding:.2rem .6rem;border-bottom:1px solid #eee;text-align:left;vertical-align:top;
white-space:pre-wrap;overflow-wrap:anywhere}
th{background:#f6f6f6}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.statuses span{display:inline-block;margin:.2rem .4rem .2rem 0;padding:.15rem .5rem;
border-radius:.3rem;background:#f0f0f0}
.statuses span.alert{background:#fde2e1;color:#a40000;font-weight:bold}
.note,.empty{color:#666;font-size:.9rem}
svg{max-width:100%;height:auto}
code{background:#f3f3f3;padding:0 .2rem}
"""


@dataclass(frozen=True, slots=True)
class _Report:
    """The four frames, conformed to their schemas, and the what-if rules."""

    days: pl.DataFrame
    products: pl.DataFrame
    organisations: pl.DataFrame
    differences: pl.DataFrame
    rules: Mapping[str, str]

    @property
    def what_if(self) -> bool:
        return bool(self.rules)

    @property
    def new(self) -> str:
        """What the engine's side of the comparison is called."""
        return "counterfactual" if self.what_if else "replayed"


@dataclass(frozen=True, slots=True)
class _Column:
    """A table column: header, frame column, formatter, right-aligned or not."""

    header: str
    key: str
    fmt: Callable[[Any], str]
    numeric: bool = True


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
    report = _Report(
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


# --- aggregation ----------------------------------------------------------------------------


def _sum_or_null(expr: pl.Expr) -> pl.Expr:
    """The sum, or null when every value is null (unknown is not zero)."""
    return pl.when(expr.count() > 0).then(expr.sum())


def _weighted_mean(value: str, weight: str) -> pl.Expr:
    """Mean of ``value`` weighted by ``weight``; the plain mean where no weight is positive."""
    both = pl.col(value).is_not_null() & (pl.col(weight) > 0)
    total = pl.col(weight).filter(both).sum()
    weighted = (pl.col(value) * pl.col(weight)).filter(both).sum() / total
    return pl.when(total > 0).then(weighted).otherwise(pl.col(value).mean())


def _total(frame: pl.DataFrame, column: str) -> float | None:
    values = frame[column].drop_nulls()
    return float(values.sum()) if len(values) else None


def _change_pct(frame: pl.DataFrame, recorded: str, new: str) -> float | None:
    """Change from ``recorded`` to ``new`` in %, over the rows that have both."""
    both = frame.filter(pl.col(recorded).is_not_null() & pl.col(new).is_not_null())
    if both.is_empty():
        return None
    before, after = float(both[recorded].sum()), float(both[new].sum())
    if before == 0:
        return 0.0 if after == 0 else None
    return (after - before) / abs(before) * 100


def _unpaired(frame: pl.DataFrame, recorded: str, new: str) -> bool:
    """Whether some row has one of the two values only (the change then leaves it out)."""
    return bool((frame[recorded].is_null() != frame[new].is_null()).any())


def _per_day(days: pl.DataFrame) -> pl.DataFrame:
    """Archives of the same delivery day added up, with 7-day rolling means of revenue."""
    return (
        days.filter(pl.col("delivery_day").is_not_null())
        .group_by("delivery_day")
        .agg(
            revenue=_sum_or_null(pl.col("revenue_eur")),
            recorded=_sum_or_null(pl.col("recorded_revenue_eur")),
            fleet=_sum_or_null(pl.col("fleet_mw")),
            # Utilisation is MW·h over fleet MW·h: across archives, weight by fleet.
            utilisation=_weighted_mean("utilisation", "fleet_mw"),
        )
        .sort("delivery_day")
        .with_columns(
            revenue_7d=_rolling_week(pl.col("revenue")),
            recorded_7d=_rolling_week(pl.col("recorded")),
        )
    )


def _rolling_week(expr: pl.Expr) -> pl.Expr:
    """Mean over the 7 calendar days ending on each day (gaps and null days left out)."""
    return expr.rolling_mean_by("delivery_day", window_size="7d", min_samples=1)


def _family_prices(products: pl.DataFrame) -> pl.DataFrame:
    """Per delivery day and family: volume-weighted mean, lowest and highest EUR/MW/h."""
    return (
        products.filter(pl.col("delivery_day").is_not_null() & (pl.col("hours") > 0))
        .with_columns(
            family=pl.col("family").fill_null("unknown"),
            low=pl.col("lowest_price_eur_per_mw") / pl.col("hours"),
            high=pl.col("highest_price_eur_per_mw") / pl.col("hours"),
        )
        .group_by("delivery_day", "family")
        .agg(
            price=_weighted_mean("low", "awarded_mw"),
            low=pl.col("low").min(),
            high=pl.col("high").max(),
        )
        .filter(pl.col("price").is_not_null())
        .sort("family", "delivery_day")
    )


def _monthly_volume(products: pl.DataFrame) -> pl.DataFrame:
    """Awarded MW·h per month and family."""
    return (
        products.filter(pl.col("delivery_day").is_not_null())
        .group_by(
            month=pl.col("delivery_day").dt.truncate("1mo"),
            family=pl.col("family").fill_null("unknown"),
        )
        .agg(mwh=_sum_or_null(pl.col("awarded_mw") * pl.col("hours")))
        .filter(pl.col("mwh").is_not_null())
        .sort("month", "family")
    )


def _per_organisation(organisations: pl.DataFrame) -> pl.DataFrame:
    """Totals per organisation over the period; changes over the archives that have both."""
    sums = (
        "recorded_mw",
        "recorded_paid_eur",
        "recorded_surplus_eur",
        "awarded_mw",
        "paid_eur",
        "surplus_eur",
    )
    return (
        organisations.group_by("org_id")
        .agg(
            *(_sum_or_null(pl.col(c)).alias(c) for c in sums),
            # Null minus anything is null: only archives with both sides count.
            change_paid=_sum_or_null(pl.col("paid_eur") - pl.col("recorded_paid_eur")),
            change_surplus=_sum_or_null(pl.col("surplus_eur") - pl.col("recorded_surplus_eur")),
        )
        .sort(["paid_eur", "org_id"], descending=[True, False], nulls_last=True)
    )


def _per_month(days: pl.DataFrame) -> pl.DataFrame:
    return (
        days.group_by(month=pl.col("delivery_day").dt.truncate("1mo"))
        .agg(
            archives=pl.len(),
            errors=(pl.col("status") == "error").sum(),
            revenue=_sum_or_null(pl.col("revenue_eur")),
            recorded=_sum_or_null(pl.col("recorded_revenue_eur")),
            volume=_sum_or_null(pl.col("volume_mw")),
            utilisation=pl.col("utilisation").mean(),
        )
        .sort("month", nulls_last=True)
    )


def _families(present: Sequence[str]) -> list[str]:
    """The known families in their fixed order, then any other, sorted."""
    known = [f for f in FAMILIES if f in present]
    return known + sorted(set(present) - set(FAMILIES))


def _legend_label(name: str) -> str:
    """Matplotlib leaves labels that are blank or start with "_" out of a legend: keep them in."""
    if not name.strip():
        return "(blank)"
    return f" {name}" if name.startswith("_") else name


def _colour(family: str, families: Sequence[str]) -> str:
    if family in _FAMILY_COLOURS:
        return _FAMILY_COLOURS[family]
    others = [f for f in families if f not in _FAMILY_COLOURS]
    return _OTHER_COLOURS[others.index(family) % len(_OTHER_COLOURS)]


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


def _summary(report: _Report) -> str:
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


def _totals(report: _Report) -> str:
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
        unpaired = _unpaired(frame, recorded, new)
        partial |= unpaired
        change = _change(_change_pct(frame, recorded, new)) + ("*" if unpaired else "")
        rows.append(_row([label, fmt(_total(frame, recorded)), fmt(_total(frame, new)), change]))
    seconds = _seconds(_total(days, "seconds"))
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


# --- plots ----------------------------------------------------------------------------------


def _plot_sections(report: _Report) -> list[str]:
    """The five plot sections, each a figure or a "no data" sentence."""
    plots: list[tuple[str, str, str, Callable[[_Report], Figure | None]]] = [
        (
            "revenue",
            "Revenue per day",
            f"Revenue of each delivery day, {report.new}"
            + (" and recorded" if report.what_if else "")
            + ", with its 7-day rolling mean.",
            _plot_revenue,
        ),
        (
            "prices",
            "Clearing prices",
            "Per product family, the lowest accepted price divided by the window's hours "
            "(EUR/MW/h; the clearing price under uniform pricing), volume-weighted mean over "
            "the day's products; the band spans the lowest to the highest accepted price.",
            _plot_prices,
        ),
        (
            "volume",
            "Volume per product family",
            f"Awarded MW·h ({report.new}) per month: awarded MW × window hours.",
            _plot_volume,
        ),
        (
            "utilisation",
            "Fleet utilisation",
            "Share of the fleet's MW·h that backs blocks, per delivery day, and the fleet's "
            "discharge power (right axis).",
            _plot_utilisation,
        ),
        (
            "comparison",
            f"Recorded vs {report.new}",
            _comparison_caption(report),
            _plot_comparison,
        ),
    ]
    return [
        _section(anchor, heading, f'<p class="note">{_esc(caption)}</p>', _figure(plot, report, n))
        for n, (anchor, heading, caption, plot) in enumerate(plots)
    ]


def _comparison_caption(report: _Report) -> str:
    if report.what_if:
        return (
            "Per organisation over the period: paid EUR and bidder surplus, recorded against "
            f"counterfactual (the {MAX_PLOTTED_ORGS} largest by paid EUR)."
        )
    return (
        "Per archive: replayed revenue against recorded revenue. A faithful engine puts every "
        "point on the diagonal; points off it (red) are regressions."
    )


@contextmanager
def _plotting(salt: str) -> Iterator[None]:
    """Matplotlib settings of the page, and a distinct SVG id salt per figure (the figures
    share one document, so their ids must not collide)."""
    with mpl.rc_context({**_RC, "svg.hashsalt": salt}), warnings.catch_warnings():
        # The browser, not matplotlib, draws the text: a glyph missing from matplotlib's
        # font only makes its layout estimate a little off.
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        yield


def _figure(plot: Callable[[_Report], Figure | None], report: _Report, n: int) -> str:
    """The plot as inline SVG, or "no data".

    Figures are made without pyplot, so no figure manager ever holds them: nothing to close,
    nothing leaks between calls, and no GUI backend is touched.
    """
    with _plotting(f"replay-report-{n}"):
        figure = plot(report)
        if figure is None:
            return f'<p class="empty">{NO_DATA}</p>'
        return _svg(figure, f"f{n}-")


def _svg(figure: Figure, prefix: str) -> str:
    """The figure as an ``<svg>`` element, without the XML prologue and doctype."""
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata=_SVG_METADATA)
    text = buffer.getvalue()
    return _own_ids(text[text.index("<svg") :].strip(), prefix)


_TAG = re.compile(r"<[^>]*>")  # text content has its "<" and ">" escaped: never a tag
_ID = re.compile(r'(\bid="|url\(#|href="#)([^"#)]+)')


def _own_ids(svg: str, prefix: str) -> str:
    """Ids and references to them renamed ``prefix`` + order of first appearance.

    Matplotlib hashes clip rectangles into ids, and a layout may differ in the last bit of a
    float from one call to the next: numbering makes the bytes repeat. The prefix keeps the
    ids of the page's figures (``figure_1``, ``axes_1``…) apart in one document.
    """
    names: dict[str, str] = {}

    def rename(match: re.Match[str]) -> str:
        return match[1] + names.setdefault(match[2], f"{prefix}{len(names)}")

    return _TAG.sub(lambda tag: _ID.sub(rename, tag[0]), svg)


def _new_figure(height: float = 3.2) -> Figure:
    return Figure(figsize=(9.0, height), layout="constrained")


def _tick_label(value: float, _position: float | None = None) -> str:
    """Money and energy ticks with thousands separators; small values as they are."""
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:g}"


def _thousands(axis: Axis) -> None:
    axis.set_major_formatter(mticker.FuncFormatter(_tick_label))


def _at_least_a_week(ax: Axes) -> None:
    """Dates spanning less than a week shown as a week: matplotlib spreads one day over years."""
    low, high = (float(v) for v in ax.dataLim.intervalx)
    if np.isfinite(low) and np.isfinite(high) and high - low < 7:  # date units are days
        middle = (low + high) / 2
        ax.set_xlim(middle - 3.5, middle + 3.5)


def _marker(n: int) -> str:
    """Points visible when there are few (a single day is otherwise an invisible line)."""
    return "o" if n <= 31 else ""


def _plot_revenue(report: _Report) -> Figure | None:
    daily = _per_day(report.days)
    columns = [("revenue", "revenue_7d", report.new, NEW_COLOUR)]
    if report.what_if:
        columns.insert(0, ("recorded", "recorded_7d", "recorded", RECORDED_COLOUR))
    columns = [c for c in columns if daily[c[0]].count() > 0]
    if not columns:
        return None
    figure = _new_figure()
    ax = figure.add_subplot()
    x = daily["delivery_day"].to_numpy()
    for value, mean, label, colour in columns:
        ax.plot(
            x,
            daily[value].to_numpy(),
            color=colour,
            lw=0.7,
            alpha=0.5,
            label=label,
            marker=_marker(len(x)),
            ms=3,
        )
        ax.plot(x, daily[mean].to_numpy(), color=colour, lw=1.8, label=f"{label}, 7-day mean")
    _at_least_a_week(ax)
    ax.set_ylabel("EUR per day")
    _thousands(ax.yaxis)
    figure.legend(loc="outside upper left", ncols=2 * len(columns))
    return figure


def _plot_prices(report: _Report) -> Figure | None:
    prices = _family_prices(report.products)
    if prices.is_empty():
        return None
    families = _families(prices["family"].unique().to_list())
    figure = _new_figure()
    ax = figure.add_subplot()
    for family in families:
        rows = prices.filter(pl.col("family") == family)
        x, colour = rows["delivery_day"].to_numpy(), _colour(family, families)
        ax.fill_between(
            x, rows["low"].to_numpy(), rows["high"].to_numpy(), color=colour, alpha=0.1, lw=0
        )
        ax.plot(
            x,
            rows["price"].to_numpy(),
            color=colour,
            lw=1.2,
            label=_legend_label(family),
            marker=_marker(len(x)),
            ms=3,
        )
    _at_least_a_week(ax)
    ax.set_ylabel("EUR/MW/h (lowest accepted ÷ hours)")
    figure.legend(loc="outside upper left", ncols=min(len(families), 6))
    return figure


def _plot_volume(report: _Report) -> Figure | None:
    volume = _monthly_volume(report.products)
    if volume.is_empty():
        return None
    months = volume["month"].unique().sort().to_list()
    families = _families(volume["family"].unique().to_list())
    cells = {(m, f): v for m, f, v in volume.iter_rows()}
    figure = _new_figure()
    ax = figure.add_subplot()
    positions = np.arange(len(months))
    bottom = np.zeros(len(months))
    for family in families:
        heights = np.array([cells.get((m, family), 0.0) for m in months])
        ax.bar(
            positions,
            heights,
            bottom=bottom,
            color=_colour(family, families),
            label=_legend_label(family),
            width=0.7,
        )
        bottom += heights
    ax.set_xticks(positions, [_month(m) for m in months], rotation=45 if len(months) > 12 else 0)
    ax.set_ylabel("awarded MW·h")
    _thousands(ax.yaxis)
    ax.grid(axis="x", visible=False)
    figure.legend(loc="outside upper left", ncols=min(len(families), 6))
    return figure


def _plot_utilisation(report: _Report) -> Figure | None:
    daily = _per_day(report.days)
    if daily["utilisation"].count() == 0 and daily["fleet"].count() == 0:
        return None
    figure = _new_figure()
    ax = figure.add_subplot()
    x = daily["delivery_day"].to_numpy()
    ax.plot(
        x,
        daily["utilisation"].to_numpy() * 100,
        color=NEW_COLOUR,
        lw=1,
        marker=_marker(len(x)),
        ms=3,
    )
    ax.set_ylabel("utilisation (%)", color=NEW_COLOUR)
    ax.set_ylim(bottom=0)
    fleet = ax.twinx()
    fleet.spines["right"].set_visible(True)
    fleet.grid(visible=False)
    fleet.step(
        x,
        daily["fleet"].to_numpy(),
        where="mid",
        color=RECORDED_COLOUR,
        lw=1,
        marker=_marker(len(x)),
        ms=3,
    )
    fleet.set_ylabel("fleet (MW)", color=RECORDED_COLOUR)
    fleet.set_ylim(bottom=0)
    _at_least_a_week(ax)
    return figure


def _plot_comparison(report: _Report) -> Figure | None:
    return _plot_organisations(report) if report.what_if else _plot_diagonal(report)


def _plot_organisations(report: _Report) -> Figure | None:
    """Horizontal bars per organisation: paid and surplus, recorded against counterfactual."""
    orgs = (
        _per_organisation(report.organisations)
        .with_columns(size=pl.max_horizontal(pl.col("recorded_paid_eur", "paid_eur").abs()))
        .sort(["size", "org_id"], descending=[True, False], nulls_last=True)
        .head(MAX_PLOTTED_ORGS)
        .reverse()  # the largest at the top
    )
    if orgs.is_empty():
        return None
    labels = [_short(o) for o in orgs["org_id"].to_list()]
    figure = _new_figure(1.2 + 0.28 * len(labels))
    positions = np.arange(len(labels))
    paid = figure.add_subplot(1, 2, 1)
    surplus = figure.add_subplot(1, 2, 2, sharey=paid)
    for ax, what, column in (
        (paid, "paid (EUR)", "paid_eur"),
        (surplus, "surplus (EUR)", "surplus_eur"),
    ):
        ax.barh(
            positions + 0.2,
            orgs[f"recorded_{column}"].fill_null(0).to_numpy(),
            0.4,
            color=RECORDED_COLOUR,
            label="recorded",
        )
        ax.barh(
            positions - 0.2,
            orgs[column].fill_null(0).to_numpy(),
            0.4,
            color=NEW_COLOUR,
            label="counterfactual",
        )
        ax.set_xlabel(what)
        ax.grid(axis="y", visible=False)
        ax.xaxis.set_major_locator(mticker.MaxNLocator(5))
        _thousands(ax.xaxis)
    paid.set_yticks(positions, labels)
    paid.margins(y=0.01)
    surplus.tick_params(axis="y", labelleft=False)
    figure.legend(*paid.get_legend_handles_labels(), loc="outside upper left", ncols=2)
    return figure


def _short(org_id: str | None, width: int = 24) -> str:
    """A plot label: long ids cut (the table has them whole)."""
    text = DASH if org_id is None else org_id
    return text if len(text) <= width else text[: width - 1] + "…"


def _plot_diagonal(report: _Report) -> Figure | None:
    """Replayed against recorded revenue per archive: off the diagonal is a regression."""
    pairs = report.days.filter(
        pl.col("revenue_eur").is_not_null() & pl.col("recorded_revenue_eur").is_not_null()
    )
    if pairs.is_empty():
        return None
    recorded, replayed = pairs["recorded_revenue_eur"].to_numpy(), pairs["revenue_eur"].to_numpy()
    off = np.abs(replayed - recorded) >= 0.005  # a cent or more apart
    figure = _new_figure(4.2)
    ax = figure.add_subplot()
    low, high = (
        float(min(recorded.min(), replayed.min())),
        float(max(recorded.max(), replayed.max())),
    )
    ax.plot([low, high], [low, high], color=RECORDED_COLOUR, lw=0.8, label="replayed = recorded")
    ax.scatter(recorded[~off], replayed[~off], s=10, color=NEW_COLOUR, label="same revenue")
    ax.scatter(
        recorded[off],
        replayed[off],
        s=16,
        color=ALERT_COLOUR,
        label=f"different revenue ({int(off.sum())})",
    )
    ax.set_xlabel("recorded revenue (EUR)")
    ax.set_ylabel("replayed revenue (EUR)")
    _thousands(ax.xaxis)
    _thousands(ax.yaxis)
    ax.legend(loc="upper left")
    return figure


# --- tables ---------------------------------------------------------------------------------


def _section(anchor: str, heading: str, *parts: str) -> str:
    inner = "\n".join(p for p in parts if p)
    return f'<section id="{anchor}">\n<h2>{_esc(heading)}</h2>\n{inner}\n</section>'


def _table(frame: pl.DataFrame, columns: Sequence[_Column]) -> str:
    """An HTML table; every cell formatted, then escaped."""

    def cls(column: _Column) -> str:
        return ' class="num"' if column.numeric else ""

    head = "".join(f"<th{cls(c)}>{_esc(c.header)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td{cls(c)}>{_esc(c.fmt(row[c.key]))}</td>" for c in columns) + "</tr>"
        for row in frame.iter_rows(named=True)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _organisations_section(report: _Report) -> str:
    orgs = _per_organisation(report.organisations)
    if orgs.is_empty():
        return _section("organisations", "Organisations", f'<p class="empty">{NO_DATA}</p>')
    new = report.new
    columns = [
        _Column("organisation", "org_id", _text, numeric=False),
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


def _months_section(report: _Report) -> str:
    months = _per_month(report.days)
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


def _differences_section(report: _Report) -> str:
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


def _errors_section(report: _Report) -> str:
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
