"""``vba --help`` answers at once: building the parser, printing the help of ``vba`` and of
every command, and ``--version`` import none of the heavy libraries (polars, the solver,
the web app, the store, matplotlib, rich); each command imports them when it runs.

No time is measured here (benchmarks/bench_cli.py does that): a fresh interpreter lists
what is in ``sys.modules`` afterwards.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = (
    "matplotlib",
    "fastapi",
    "starlette",
    "uvicorn",
    "highspy",
    "polars",
    "numpy",
    "scipy",
    "sqlalchemy",
    "pydantic",
    "rich",
    "dask",
    "jinja2",
    "api.services",
    "api.http",
    "auction.model",
    "auction.store",
    "clearing",
    "dispatch",
    "settlement",
)

# Every help the parser can print: vba itself and each command and action.
PROBE = """
import contextlib, io, json, sys
from api.cli.main import build_parser, main

def run(argv):
    with contextlib.redirect_stdout(io.StringIO()) as out:
        try:
            main(argv)
        except SystemExit as exc:
            assert exc.code == 0, (argv, exc.code)
    return out.getvalue()

helps = {"--help": run(["--help"]), "--version": run(["--version"])}
parser = build_parser()
commands = parser._subparsers._group_actions[0].choices
for name, command in commands.items():
    helps[name] = run([name, "--help"])
    for action in command._actions:
        for sub in getattr(action, "choices", None) or {}:
            if isinstance(action.choices, dict):
                helps[f"{name} {sub}"] = run([name, sub, "--help"])
heavy = HEAVY
loaded = sorted(m for m in sys.modules if any(m == h or m.startswith(h + ".") for h in heavy))
print(json.dumps({"loaded": loaded, "helps": helps}))
"""


def probe() -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", f"HEAVY = {HEAVY!r}\n{PROBE}"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    answer: dict[str, object] = json.loads(done.stdout)
    return answer


def test_help_and_version_of_every_command_import_nothing_heavy() -> None:
    answer = probe()
    helps = answer["helps"]
    assert isinstance(helps, dict)
    # The probe reached every command and action, and each printed its usage.
    for name in ("clear", "verify", "dispatch", "demo", "replay", "serve", "settle"):
        assert f"usage: vba {name}" in helps[name]
    assert "usage: vba admin invite" in helps["admin invite"]
    assert "usage: vba ancillary export" in helps["ancillary export"]
    assert helps["--version"].startswith("vba ")
    assert answer["loaded"] == []


def test_a_command_still_imports_its_work_when_it_runs(tmp_path: Path) -> None:
    # The lazy imports are real: vba clear on a missing archive gets as far as reading it.
    done = subprocess.run(
        [sys.executable, "-m", "api.cli.main", "clear", str(tmp_path / "none"), "--out", "o"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr


def test_the_constants_written_out_for_the_parser_agree_with_the_domain() -> None:
    from api.cli import ancillary, replay, store
    from api.services.ancillary import MARKETS
    from auction.model import TENNET_DE
    from clearing.replay.run import EXECUTORS

    assert ancillary.MARKETS == MARKETS
    assert replay.EXECUTORS == EXECUTORS
    assert store.TENNET_DE == TENNET_DE
