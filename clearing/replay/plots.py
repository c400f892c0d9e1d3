"""The replay report's figures: matplotlib plots of the report's frames, as inline SVG.

Everything about matplotlib lives here, apart from the page (``html.py``) that places the
figures: the settings, the colours and the five plots; what they plot is added up in
``aggregates.py``. Matplotlib comes with the replay extra, so the page imports this module
only when it draws (through ``extra.replay_extra``).

Figures are made without pyplot and written as SVG with no metadata, their text left to the
browser. The same frames give the same bytes: each figure's ids come from a fixed salt and
are renumbered in order of appearance.
"""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import matplotlib as mpl
import matplotlib.ticker as mticker
import numpy as np
import polars as pl
from matplotlib.axes import Axes
from matplotlib.axis import Axis
from matplotlib.figure import Figure
from matplotlib.typing import RcKeyType

from clearing.replay.aggregates import (
    Report,
    family_prices,
    largest_organisations,
    monthly_volume,
    per_day,
)
from clearing.replay.tables import FAMILIES

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
_RECORDED_COLOUR = "#7f7f7f"
_NEW_COLOUR = "#1f77b4"
_ALERT_COLOUR = "#d62728"


def figures_svg(report: Report) -> dict[str, str | None]:
    """The five figures by name, in page order: each an ``<svg>`` element, or None when
    there is nothing to plot."""
    plots: list[tuple[str, Callable[[Report], Figure | None]]] = [
        ("revenue", _plot_revenue),
        ("prices", _plot_prices),
        ("volume", _plot_volume),
        ("utilisation", _plot_utilisation),
        ("comparison", _plot_comparison),
    ]
    return {name: _figure(plot, report, n) for n, (name, plot) in enumerate(plots)}


# --- families and colours -----------------------------------------------------------------------


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


# --- rendering ------------------------------------------------------------------------------


@contextmanager
def _plotting(salt: str) -> Iterator[None]:
    """Matplotlib settings of the figures, and a distinct SVG id salt per figure (the figures
    share one document, so their ids must not collide)."""
    with mpl.rc_context({**_RC, "svg.hashsalt": salt}), warnings.catch_warnings():
        # The browser, not matplotlib, draws the text: a glyph missing from matplotlib's
        # font only makes its layout estimate a little off.
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        yield


def _figure(plot: Callable[[Report], Figure | None], report: Report, n: int) -> str | None:
    """The plot as inline SVG, or None without data.

    Figures are made without pyplot, so no figure manager ever holds them: nothing to close,
    nothing leaks between calls, and no GUI backend is touched.
    """
    with _plotting(f"replay-report-{n}"):
        figure = plot(report)
        if figure is None:
            return None
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


# --- plots ----------------------------------------------------------------------------------


def _plot_revenue(report: Report) -> Figure | None:
    daily = per_day(report.days)
    columns = [("revenue", "revenue_7d", report.new, _NEW_COLOUR)]
    if report.what_if:
        columns.insert(0, ("recorded", "recorded_7d", "recorded", _RECORDED_COLOUR))
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


def _plot_prices(report: Report) -> Figure | None:
    prices = family_prices(report.products)
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


def _plot_volume(report: Report) -> Figure | None:
    volume = monthly_volume(report.products)
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
    ax.set_xticks(
        positions, [m.strftime("%Y-%m") for m in months], rotation=45 if len(months) > 12 else 0
    )
    ax.set_ylabel("awarded MW·h")
    _thousands(ax.yaxis)
    ax.grid(axis="x", visible=False)
    figure.legend(loc="outside upper left", ncols=min(len(families), 6))
    return figure


def _plot_utilisation(report: Report) -> Figure | None:
    daily = per_day(report.days)
    if daily["utilisation"].count() == 0 and daily["fleet"].count() == 0:
        return None
    figure = _new_figure()
    ax = figure.add_subplot()
    x = daily["delivery_day"].to_numpy()
    ax.plot(
        x,
        daily["utilisation"].to_numpy() * 100,
        color=_NEW_COLOUR,
        lw=1,
        marker=_marker(len(x)),
        ms=3,
    )
    ax.set_ylabel("utilisation (%)", color=_NEW_COLOUR)
    ax.set_ylim(bottom=0)
    fleet = ax.twinx()
    fleet.spines["right"].set_visible(True)
    fleet.grid(visible=False)
    fleet.step(
        x,
        daily["fleet"].to_numpy(),
        where="mid",
        color=_RECORDED_COLOUR,
        lw=1,
        marker=_marker(len(x)),
        ms=3,
    )
    fleet.set_ylabel("fleet (MW)", color=_RECORDED_COLOUR)
    fleet.set_ylim(bottom=0)
    _at_least_a_week(ax)
    return figure


def _plot_comparison(report: Report) -> Figure | None:
    return _plot_organisations(report) if report.what_if else _plot_diagonal(report)


def _plot_organisations(report: Report) -> Figure | None:
    """Horizontal bars per organisation: paid and surplus, recorded against counterfactual."""
    orgs = largest_organisations(report.organisations)  # the largest at the top
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
            color=_RECORDED_COLOUR,
            label="recorded",
        )
        ax.barh(
            positions - 0.2,
            orgs[column].fill_null(0).to_numpy(),
            0.4,
            color=_NEW_COLOUR,
            label="counterfactual",
        )
        ax.set_xlabel(what)
        ax.grid(axis="y", visible=False)
        # Half a figure wide: sums of tens of millions of EUR need few, slanted ticks.
        ax.xaxis.set_major_locator(mticker.MaxNLocator(4))
        ax.tick_params(axis="x", labelrotation=30)
        _thousands(ax.xaxis)
    paid.set_yticks(positions, labels)
    paid.margins(y=0.01)
    surplus.tick_params(axis="y", labelleft=False)
    figure.legend(*paid.get_legend_handles_labels(), loc="outside upper left", ncols=2)
    return figure


def _short(org_id: str | None, width: int = 24) -> str:
    """A plot label: long ids cut (the table has them whole)."""
    text = "—" if org_id is None else org_id  # as the tables show a missing value
    return text if len(text) <= width else text[: width - 1] + "…"


def _plot_diagonal(report: Report) -> Figure | None:
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
    ax.plot([low, high], [low, high], color=_RECORDED_COLOUR, lw=0.8, label="replayed = recorded")
    ax.scatter(recorded[~off], replayed[~off], s=10, color=_NEW_COLOUR, label="same revenue")
    ax.scatter(
        recorded[off],
        replayed[off],
        s=16,
        color=_ALERT_COLOUR,
        label=f"different revenue ({int(off.sum())})",
    )
    ax.set_xlabel("recorded revenue (EUR)")
    ax.set_ylabel("replayed revenue (EUR)")
    _thousands(ax.xaxis)
    _thousands(ax.yaxis)
    ax.legend(loc="upper left")
    return figure
