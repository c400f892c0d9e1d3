"""The ``root`` fixture of the archive tests: the small valid archive of archive_base.py,
written to a temporary directory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.unit.auction.archive_base import CONFIG, TABLES, write_csv


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A small valid archive."""
    (tmp_path / "auction.json").write_text(json.dumps(CONFIG))
    for file, rows in TABLES.items():
        write_csv(tmp_path / file, rows)
    return tmp_path
