"""Where the bundled sample auction lives, installed or in a checkout."""

from __future__ import annotations

from pathlib import Path


def sample_dir() -> Path:
    """The sample archive: packaged beside this module in a wheel, or data/sample in a checkout."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "_sample", here.parent / "data" / "sample"):
        if (candidate / "auction.json").is_file():
            return candidate
    raise FileNotFoundError("the bundled sample auction is missing (data/sample/auction.json)")
