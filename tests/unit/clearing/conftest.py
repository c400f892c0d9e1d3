"""The base auction's result files as a correct writer produces them, for the checker's
tests (verify_base.py describes the auction)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.clearing.verify_base import BASE_ALLOCATION, BASE_AWARDS, base_archive, build_result


@pytest.fixture
def base_files() -> dict[str, Any]:
    return build_result(base_archive(), BASE_AWARDS, BASE_ALLOCATION)
