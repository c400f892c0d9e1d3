"""The import-linter contracts of pyproject.toml hold, and fail when a module breaks them.

`make lint` runs lint-imports on the tree; here it runs on a copy of the packages with
one forbidden import added each time, to show that each contract catches what it names.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("auction", "clearing", "dispatch", "settlement", "api")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_copy(tmp_path: Path, module: str | None, line: str) -> subprocess.CompletedProcess[str]:
    """lint-imports on a copy of the packages, ``line`` appended to ``module`` (a dotted
    name) if given."""
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    if module is not None:
        path = tmp_path / (module.replace(".", "/") + ".py")
        path.write_text(path.read_text() + f"\n{line}\n")
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_contracts_hold_on_the_tree_as_it_is(tmp_path: Path) -> None:
    done = lint_copy(tmp_path, None, "")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("clearing.fill", "import api.http.app", "Layers import downward only"),
        ("clearing.fill", "import sqlalchemy", "The clearing is pure"),
        ("dispatch.ancillary.bids", "import fastapi", "The ancillary rules are pure"),
        ("dispatch.schedule", "import auction.store.bids", "The domain packages never touch"),
        ("api.http.routes.fleet", "import sqlalchemy", "Routes and pages translate HTTP"),
        ("api.http.routes.fleet", "import auction.store.schema", "Routes and pages translate"),
        ("api.web.pages.fleet", "import sqlalchemy", "Routes and pages translate HTTP"),
        ("dispatch.schedule", "import settlement.day", "Layers import downward only"),
        ("api.services.auctions", "import api.http.errors", "The doors stand on the services"),
        ("api.http.routes.fleet", "import api.cli.main", "The doors stand on the services"),
        ("api.services.auctions", "import api.web.render", "The doors stand on the services"),
        ("api.web.pages.fleet", "import api.cli.main", "The doors stand on the services"),
        ("clearing.fill", "import auction.synthetic", "The synthetic generators are tools"),
    ],
)
def test_a_forbidden_import_breaks_its_contract(
    tmp_path: Path, module: str, line: str, contract: str
) -> None:
    done = lint_copy(tmp_path, module, line)
    assert done.returncode != 0, done.stdout
    broken = [ln for ln in done.stdout.splitlines() if ln.endswith("BROKEN")]
    assert any(ln.startswith(contract) for ln in broken), done.stdout
