"""The replay extra: Dask (``distributed``) and matplotlib, for the analyst's replay only.

A server install stays light without them (``pip install vba-engine``); the analyst installs
``vba-engine[replay]``. The replay imports them only where it uses them, the Dask executor
and the report's figures, inside ``replay_extra``, which turns their absence into one
message saying what to install. ``vba replay`` calls ``check_replay_extra`` first, so that a
missing extra stops it before the archives are replayed, not at the report.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from contextlib import contextmanager

# Top-level modules of the extra (``dask[distributed]`` and ``matplotlib`` in pyproject.toml).
EXTRA_MODULES = ("dask", "distributed", "matplotlib")
MISSING_EXTRA = "vba replay needs the replay extra: pip install 'vba-engine[replay]'"


class ReplayExtraMissing(ImportError):
    """A module of the replay extra is not installed (or does not import)."""


@contextmanager
def replay_extra() -> Iterator[None]:
    """Imports inside the block come from the replay extra: failing, they raise
    ``ReplayExtraMissing``, ``MISSING_EXTRA`` and what failed."""
    try:
        yield
    except ImportError as error:
        raise ReplayExtraMissing(f"{MISSING_EXTRA} ({error})") from error


def check_replay_extra() -> None:
    """Raise ``ReplayExtraMissing`` unless every module of the extra can be found.

    Finds them without importing them (Dask's import alone takes a second).
    """
    for name in EXTRA_MODULES:
        with replay_extra():
            if importlib.util.find_spec(name) is None:
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
