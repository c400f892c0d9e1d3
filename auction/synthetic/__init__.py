"""Seeded synthetic data: tools that make auctions, not part of the engine.

``generate(Scenario())`` is the bundled sample auction (``data/sample``), and
``benchmark_scenario``/``hard_scenario`` the books the benchmarks clear;
``history_days(HistoryScenario())`` is the year of daily auctions in ``data/history``.
Both are pure (no file I/O) and seeded: a scenario always gives the same frames
(``data/README.md``). The engine never imports this package.
"""

from auction.synthetic.day import generate
from auction.synthetic.history import (
    HistoryDay,
    history_day,
    history_days,
    history_fleet,
    history_orgs,
)
from auction.synthetic.market_calendar import DayKind, day_kind, german_holidays
from auction.synthetic.products import catalogue
from auction.synthetic.scenario import HistoryScenario, Scenario, benchmark_scenario, hard_scenario

__all__ = [
    "DayKind",
    "HistoryDay",
    "HistoryScenario",
    "Scenario",
    "benchmark_scenario",
    "catalogue",
    "day_kind",
    "generate",
    "german_holidays",
    "hard_scenario",
    "history_day",
    "history_days",
    "history_fleet",
    "history_orgs",
]
