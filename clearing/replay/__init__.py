"""Offline replay: clear archived auctions again, compare with the record, ask what-if.

``replay_archive`` is the unit of work (one archive, never raises); ``replay_all`` runs it
over many archives on a local process pool or a Dask cluster; ``report`` turns the
outcomes into tables and files.
"""

from clearing.replay.archive import (
    Difference,
    ReplayOutcome,
    compare,
    find_archives,
    replay_archive,
)
from clearing.replay.rules import PLAIN, Rules, apply_rules, parse_rules, uniform_pricing

__all__ = [
    "PLAIN",
    "Difference",
    "ReplayOutcome",
    "Rules",
    "apply_rules",
    "compare",
    "find_archives",
    "parse_rules",
    "replay_archive",
    "uniform_pricing",
]
