"""The replay extra (Dask, matplotlib) is optional: the server and the CLI import neither, and
without it ``vba replay`` and the replay's functions say what to install.

"Without it" is a fresh interpreter whose ``sys.modules`` maps the extra's modules to None,
so that importing them fails as if they were not installed; nothing is uninstalled.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from clearing.replay.extra import (
    EXTRA_MODULES,
    MISSING_EXTRA,
    ReplayExtraMissing,
    check_replay_extra,
    replay_extra,
)

ROOT = Path(__file__).resolve().parents[3]
SAMPLE = ROOT / "data" / "sample"
WITHOUT_EXTRA = f"import sys\nfor name in {EXTRA_MODULES!r}:\n    sys.modules[name] = None\n"


def python(code: str) -> subprocess.CompletedProcess[str]:
    """``code`` in a fresh interpreter on this tree."""
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_the_server_and_the_cli_import_neither_dask_nor_matplotlib() -> None:
    done = python(
        "import sys\n"
        "import api.http.app, api.cli.main, clearing.replay.report, clearing.replay.run\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {EXTRA_MODULES!r}))\n"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_vba_replay_without_the_extra_says_what_to_install_without_a_traceback() -> None:
    done = python(
        WITHOUT_EXTRA
        + "from api.cli.main import main\n"
        + f"sys.exit(main(['replay', {str(SAMPLE)!r}, '--jobs', '1']))\n"
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"error: {MISSING_EXTRA}" in " ".join(done.stdout.split())
    assert "Traceback" not in done.stdout + done.stderr


def test_the_dask_executor_and_the_figures_say_what_to_install_without_the_extra() -> None:
    code = f"""
from pathlib import Path
import polars as pl
from clearing.replay.extra import ReplayExtraMissing
from clearing.replay.html import render_html
from clearing.replay.run import replay_all
from clearing.replay.tables import DAYS, DIFFERENCES, ORGANISATIONS, PRODUCTS
try:
    replay_all([Path({str(SAMPLE)!r})], executor="dask")
except ReplayExtraMissing as exc:
    print("dask:", exc)
frames = [pl.DataFrame(schema=s) for s in (DAYS, PRODUCTS, ORGANISATIONS, DIFFERENCES)]
try:
    render_html(*frames, rules={{}})
except ReplayExtraMissing as exc:
    print("figures:", exc)
"""
    done = python(WITHOUT_EXTRA + code)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [line.split(":")[0] for line in lines] == ["dask", "figures"]
    assert all(MISSING_EXTRA in line for line in lines)
    assert "distributed" in lines[0]
    assert "matplotlib" in lines[1]


def test_replay_extra_turns_a_failed_import_into_the_message(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(ReplayExtraMissing, match=re.escape(MISSING_EXTRA)), replay_extra():
        import distributed  # noqa: F401
    with pytest.raises(ReplayExtraMissing, match="distributed"):
        check_replay_extra()


def test_with_the_extra_installed_the_check_passes() -> None:
    check_replay_extra()
