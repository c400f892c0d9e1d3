"""Seeded synthetic data: tools that make auctions, not part of the engine.

``generate(Scenario())`` is the bundled sample auction (``data/sample``), and
``benchmark_scenario``/``hard_scenario`` the books the benchmarks clear;
``history_days(HistoryScenario())`` is the year of daily auctions in ``data/history``.
Both are pure (no file I/O) and seeded: a scenario always gives the same frames
(``data/README.md``). The engine never imports this package.
"""

from auction.synthetic.day import Scenario, benchmark_scenario, catalogue, generate, hard_scenario
from auction.synthetic.history import (
    DayKind,
    HistoryDay,
    HistoryScenario,
    day_kind,
    german_holidays,
    history_day,
    history_days,
    history_fleet,
    history_orgs,
)

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
