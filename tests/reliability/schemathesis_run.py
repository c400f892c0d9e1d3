"""schemathesis against a real server, once as a bidder and once as an operator.

    PYTHONPATH=. python tests/reliability/schemathesis_run.py [--store sqlite|postgresql]
        [--max-examples N] [--report-dir DIR]

The store is the demo's world (``vba demo``: a published auction, dispatch, settlement,
ancillary bids; and an auction whose gate is open), served by uvicorn on the demo's clock.
Every check runs (``--checks all``: no server error, status codes, content types, headers,
response schemas, negative data rejected, positive data accepted, auth not ignored, …)
over every phase (examples, coverage, fuzzing, stateful links), with a fixed seed and a
bounded number of examples per operation. Not part of ``make test``: ``make reliability``
runs it, and prints the cases and the failures per role.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import httpx2

from api.cli.demo_serve import demo_now
from tests.reliability.servers import (
    Clock,
    DemoWorld,
    copy_store,
    demo_world,
    postgres_schema,
    serving,
)

SEED = 20261128
MAX_EXAMPLES = 15
# The server's clock is pinned to the demo's: the per-organisation write bucket would
# never refill, and schemathesis' writes after the burst would all be 429s.
SERVER_OPTIONS: dict[str, Any] = {"org_write_burst": 10**9}


@dataclass
class RoleRun:
    """What schemathesis did as one role: cases sent, failures by check and operation."""

    role: str
    cases: int = 0
    operations: int = 0
    failures: list[str] = field(default_factory=list)  # "check: METHOD path: message"
    errors: list[str] = field(default_factory=list)  # operations schemathesis could not test
    exit_code: int = 0

    @property
    def by_check(self) -> Counter[str]:
        return Counter(f.split(":", 1)[0] for f in self.failures)


def login(base_url: str, email: str, password: str) -> str:
    with httpx2.Client(base_url=base_url, timeout=30) as client:
        answer = client.post(
            "/auth/public/authenticate", json={"username": email, "password": password}
        )
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["access_token"]
    return token


def st_binary() -> str:
    found = shutil.which("st") or str(Path(sys.executable).with_name("st"))
    return found


def _parse(junit: Path, log: Path, run: RoleRun) -> None:
    """The operations and failures of the JUnit report; the cases from the summary."""
    root = ElementTree.parse(junit).getroot()
    for case in root.iter("testcase"):
        run.operations += 1
        for failure in case.iter("failure"):
            for line in (failure.text or "").splitlines():
                found = re.match(r"^- (ST\d+ .+)$", line.strip())
                if found:
                    run.failures.append(f"{found.group(1)}: {case.get('name')}")
        for error in case.iter("error"):
            run.errors.append(f"{case.get('name')}: {(error.get('message') or '')[:200]}")
    generated = re.search(r"(\d+) generated", log.read_text())
    run.cases += int(generated.group(1)) if generated else 0


# Domain rules the schema cannot state answer 422 (a product that exists, a multiple of
# the increment, a password nobody uses) or 412 (an If-Match naming another version): a
# schema-valid request may get them. Every other check keeps its defaults.
CONFIG = """
[parameters]
org_id = "{org_id}"

[checks.positive_data_acceptance]
expected-statuses = ["2xx", 401, 403, 404, 409, 412, 422, 429]
"""


# Signing out everywhere ends the run's token: every operation tested after it would only
# meet 401s. It gets a pass of its own, after all the others.
LAST = "/auth/logout-all"


def run_role(
    base_url: str, role: str, token: str, org_id: str, max_examples: int, report_dir: Path
) -> RoleRun:
    """schemathesis against ``base_url`` with ``token``: every operation but ``LAST``,
    then ``LAST``. ``{org_id}`` in paths is the trader's organisation (random ids would
    only ever meet the 404 of a missing one)."""
    report_dir = report_dir.resolve()  # schemathesis runs in it (below)
    report_dir.mkdir(parents=True, exist_ok=True)
    config = report_dir / f"{role}.toml"
    config.write_text(CONFIG.format(org_id=org_id))
    run = RoleRun(role)
    for name, only in (
        (role, ["--exclude-path", LAST]),
        (f"{role}-last", ["--include-path", LAST]),
    ):
        _one_pass(base_url, token, max_examples, report_dir, config, name, only, run)
    return run


def _one_pass(
    base_url: str,
    token: str,
    max_examples: int,
    report_dir: Path,
    config: Path,
    name: str,
    operations: list[str],
    run: RoleRun,
) -> None:
    junit = report_dir / f"{name}.xml"
    command = [
        st_binary(),
        "--config-file",
        str(config),
        "run",
        f"{base_url}/openapi.json",
        *operations,
        "--checks",
        "all",
        "--header",
        f"Authorization: Bearer {token}",
        "--max-examples",
        str(max_examples),
        "--seed",
        str(SEED),
        "--generation-deterministic",
        "--workers",
        "1",
        "--request-timeout",
        "30",
        "--continue-on-failure",
        "--no-color",
        "--report",
        "junit",
        "--report-junit-path",
        str(junit),
    ]
    log = report_dir / f"{name}.log"
    with log.open("w") as out:
        # In the report's directory: schemathesis keeps a cache of crashes where it runs.
        done = subprocess.run(
            command, stdout=out, stderr=subprocess.STDOUT, check=False, cwd=report_dir
        )
    run.exit_code = max(run.exit_code, done.returncode)
    if junit.exists():
        _parse(junit, log, run)
    else:
        run.errors.append(f"schemathesis wrote no report (exit {done.returncode}): see {log}")


def run_both(
    store: str, max_examples: int, report_dir: Path, workdir: Path | None = None
) -> list[RoleRun]:
    """The demo's world on ``store``, served; schemathesis as the bidder, then the operator.

    Each role gets its own copy of the world: what the first run changed (auctions
    cancelled, bids withdrawn) does not starve the second.
    """
    with ExitStack() as stack:
        work = workdir or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        world = demo_world(work / "demo")
        runs = []
        for role in ("bidder", "operator"):
            url = _store_copy(stack, world, store, work / role)
            clock = Clock(demo_now())
            base_url = stack.enter_context(serving(url, clock, **SERVER_OPTIONS))
            trader = "baltic-power-desk"  # the demo dispatched for it: it has the most to read
            email = world.operator if role == "operator" else world.traders[trader]
            token = login(base_url, email, world.password)
            org_id = world.org_ids[trader]
            runs.append(run_role(base_url, role, token, org_id, max_examples, report_dir / store))
        return runs


def _store_copy(stack: ExitStack, world: DemoWorld, store: str, where: Path) -> str:
    source = f"sqlite:///{world.db}"
    if store == "sqlite":
        where.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{where / 'vba.db'}"
    else:
        url = stack.enter_context(postgres_schema())
    copy_store(source, url)
    return url


def summary(runs: list[RoleRun]) -> str:
    lines = []
    for run in runs:
        lines.append(
            f"{run.role}: {run.cases} cases over {run.operations} operations, "
            f"{len(run.failures)} failures, exit {run.exit_code}"
        )
        lines += [f"  - {failure}" for failure in run.failures]
        lines += [f"  ! {error}" for error in run.errors]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--max-examples", type=int, default=MAX_EXAMPLES)
    parser.add_argument("--report-dir", type=Path, default=Path("build/schemathesis"))
    args = parser.parse_args(argv)
    runs = run_both(args.store, args.max_examples, args.report_dir)
    print(summary(runs))  # noqa: T201 - a command's output
    return 1 if any(run.failures for run in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
