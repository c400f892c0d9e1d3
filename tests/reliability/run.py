"""``make reliability``: the server attacked as a hostile bidder and a careless operator
would, on SQLite and on PostgreSQL, and one table of figures.

    PYTHONPATH=. python tests/reliability/run.py [--stores sqlite,postgresql]
        [--kills 3] [--step-kills 2] [--examples 10] [--quick] [--write docs/reliability.md]

Per store:

- hostile sweep: every class of tests/reliability/hostile.py in every field and parameter
  of every write endpoint, into a valid request, against a real uvicorn (in a thread, on
  an injected clock): 5xx, 4xx that changed the store, 422 that do not name the field;
- kill -9 (``vba serve`` processes): while four bidders send bids (acknowledged bids
  found / lost after the restart, phantoms), during /clear and /publish (the state after
  the restart: closed or cleared with a result that reproduces its hash and passes the
  checker, published), during a settlement run (whole or absent);
- races: bids around a gate a few seconds away, N posts with one Idempotency-Key, N
  amendments with one If-Match; wrong passwords in a row, and an organisation's writes
  past its burst (throttling: 429 with Retry-After, then let through after that time);
- schemathesis (tests/reliability/schemathesis_run.py) as a bidder and as an operator.

PostgreSQL: ``VBA_TEST_POSTGRES_URL`` or postgresql://postgres@127.0.0.1:5432/test, each
store in a schema of its own, dropped afterwards. Exits non-zero on any 5xx, any lost bid
or any inconsistent state.
"""

from __future__ import annotations

import argparse
import logging
import platform
import sys
import tempfile
import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx2
from rich.console import Console
from rich.table import Table

from api.cli.demo_serve import demo_now
from auction.archive import read_archive
from auction.sample import sample_dir
from auction.store import Store
from benchmarks.common import machine as describe_machine
from tests.reliability import schemathesis_run, trials
from tests.reliability.hostile import (
    HOSTILE,
    TRUSTED,
    Hostile,
    Target,
    build_world,
    pinned,
    probe,
    targets,
    verdict,
)
from tests.reliability.hostile import base_refused as refused
from tests.reliability.servers import (
    Clock,
    DemoWorld,
    copy_store,
    demo_world,
    postgres_schema,
    serving,
)

QUICK_KINDS = ("raw NaN literal", "huge int 10**30", "float 1e17", "NUL byte", "201 characters")


@dataclass
class Sweep:
    requests: int = 0
    server_errors: int = 0
    changed_on_4xx: int = 0
    unnamed_422: int = 0
    no_answer: int = 0  # the connection closed without an HTTP answer
    classes: Counter[str] = field(default_factory=Counter)  # "5xx: endpoint field <- class"


def _fresh_store(stack: ExitStack, store: str, where: Path) -> str:
    if store == "sqlite":
        where.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{where / 'vba.db'}"
    return stack.enter_context(postgres_schema())


def values_for(target: Target, index: int, how: str) -> list[Hostile]:
    """``full``: every class; ``quick``: five; by default the classes of the place's type
    (as in make test) and three more, taken in turn, so that every class goes somewhere."""
    if how == "full":
        return HOSTILE
    if how == "quick":
        return [v for v in HOSTILE if v.kind in QUICK_KINDS]
    chosen = pinned(target)
    turn = [HOSTILE[(3 * index + k) % len(HOSTILE)] for k in range(3)]
    return chosen + [v for v in turn if v not in chosen]


def sweep(store: str, work: Path, how: str) -> Sweep:
    """Hostile classes into every place of every write endpoint, over HTTP."""
    out = Sweep()
    with ExitStack() as stack:
        url = _fresh_store(stack, store, work / "sweep")
        clock = Clock(datetime(2026, 11, 26, 12, 0, tzinfo=UTC))
        base = stack.enter_context(serving(url, clock, **TRUSTED))
        client = stack.enter_context(httpx2.Client(base_url=base, timeout=120))
        db = Store(url)
        stack.callback(db.dispose)
        world = build_world(db, client, clock)
        document = client.get("/openapi.json").json()
        for index, target in enumerate(targets(document, world)):
            base_is_refused = refused(world, target.method, target.template)
            for value in values_for(target, index, how):
                sent = probe(world, target, value)
                if not sent.sendable:
                    continue
                out.requests += 1
                problem = verdict(sent, base_is_refused)
                if problem is None:
                    continue
                where = f"{target.method.upper()} {target.template} {target.name}"
                if sent.status == 0:
                    out.no_answer += 1
                    out.classes[f"no answer: {where} <- {value.kind}"] += 1
                elif sent.status >= 500:
                    out.server_errors += 1
                    out.classes[f"5xx: {where} <- {value.kind}"] += 1
                elif sent.changed:
                    out.changed_on_4xx += 1
                    out.classes[f"{sent.status} stored: {where} <- {value.kind}"] += 1
                else:
                    out.unnamed_422 += 1
                    out.classes[f"422 unnamed: {where} <- {value.kind}"] += 1
    return out


def run_trials(store: str, work: Path, args: argparse.Namespace) -> trials.Figures:
    figures = trials.Figures()
    with ExitStack() as stack:
        url = _fresh_store(stack, store, work / "trials")
        trials.provision(url)
        logs = work / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        server = stack.enter_context(trials.process(url, logs))
        api = trials.Api(server.start(), figures)
        trials.bid_kills(server, api, args.kills, figures)
        trials.step_kills(server, api, url, args.step_kills, figures)
        trials.gate_race(api, figures)
        trials.races(api, figures)
        trials.throttling(api, figures)
    with ExitStack() as stack:
        url = _fresh_store(stack, store, work / "write-limit")
        trials.provision(url)
        trials.write_limit(url, figures)
    return figures


def run_settle_kills(
    store: str, world: DemoWorld, work: Path, kills: int, figures: trials.Figures
) -> None:
    """Kills during settlement runs of the demo's settled day, on a copy of its store."""
    with ExitStack() as stack:
        url = _fresh_store(stack, store, work / "settle")
        copy_store(f"sqlite:///{world.db}", url)
        logs = work / "settle-logs"
        logs.mkdir(parents=True, exist_ok=True)
        server = stack.enter_context(trials.process(url, logs))
        bidder = world.traders["baltic-power-desk"]
        api = trials.Api(server.start(), figures, world.operator, bidder, world.password)
        # The demo settled its sample day; every run of it again is a new version.
        day = read_archive(sample_dir()).config.delivery_day.isoformat()
        trials.settle_kills(server, api, url, day, kills, figures)


@dataclass
class StoreRun:
    store: str
    sweep: Sweep
    figures: trials.Figures
    schemathesis: list[schemathesis_run.RoleRun]
    seconds: float


def run_store(
    store: str, world: DemoWorld, work: Path, args: argparse.Namespace, console: Console
) -> StoreRun:
    started = time.monotonic()
    console.print(f"[{store}] hostile sweep …", markup=False)
    swept = sweep(store, work / store, "quick" if args.quick else args.sweep)
    console.print(f"[{store}] kill -9 trials, races, throttling …", markup=False)
    figures = run_trials(store, work / store, args)
    run_settle_kills(store, world, work / store, args.step_kills, figures)
    console.print(f"[{store}] schemathesis …", markup=False)
    st_runs = []
    with ExitStack() as stack:
        for role in ("bidder", "operator"):
            url = schemathesis_run._store_copy(stack, world, store, work / store / f"st-{role}")
            base = stack.enter_context(
                serving(url, Clock(demo_now()), **schemathesis_run.SERVER_OPTIONS)
            )
            trader = "baltic-power-desk"
            email = world.operator if role == "operator" else world.traders[trader]
            token = schemathesis_run.login(base, email, world.password)
            st_runs.append(
                schemathesis_run.run_role(
                    base,
                    role,
                    token,
                    world.org_ids[trader],
                    args.examples,
                    Path(args.report_dir) / store,
                )
            )
    return StoreRun(store, swept, figures, st_runs, time.monotonic() - started)


def table(runs: list[StoreRun]) -> tuple[list[str], list[list[str]]]:
    header = ["figure", *[r.store for r in runs]]

    def row(label: str, value: Any) -> list[str]:
        return [label, *[str(value(r)) for r in runs]]

    def st(role: str) -> Any:
        def cell(r: StoreRun) -> str:
            found = next(x for x in r.schemathesis if x.role == role)
            return f"{found.cases} cases, {len(found.failures)} failures"

        return cell

    def requests(r: StoreRun) -> int:
        return r.sweep.requests + r.figures.requests + sum(x.cases for x in r.schemathesis)

    def server_errors(r: StoreRun) -> int:
        st_5xx = sum(f.startswith("ST101") for x in r.schemathesis for f in x.failures)
        return r.sweep.server_errors + r.figures.server_errors + st_5xx

    rows = [
        row("requests tried", requests),
        row("5xx seen (must be 0)", server_errors),
        row("hostile sweep: requests", lambda r: r.sweep.requests),
        row("hostile sweep: 5xx", lambda r: r.sweep.server_errors),
        row("hostile sweep: 4xx that stored something", lambda r: r.sweep.changed_on_4xx),
        row("hostile sweep: 422 not naming the field", lambda r: r.sweep.unnamed_422),
        row("hostile sweep: no answer (connection closed)", lambda r: r.sweep.no_answer),
        row("kill -9 while bidding: trials", lambda r: r.figures.bid_trials),
        row("  acknowledged bids", lambda r: r.figures.acknowledged),
        row("  lost (must be 0)", lambda r: r.figures.lost),
        row("  phantom, never answered (allowed)", lambda r: r.figures.phantom_unanswered),
        row("  phantom otherwise (must be 0)", lambda r: r.figures.phantom_bad),
        *[
            row(
                f"kill -9 during {step}: state after restart",
                lambda r, s=step: "; ".join(
                    f"{n}× {state}" for state, n in Counter(r.figures.step_kills.get(s, [])).items()
                ),
            )
            for step in ("clear", "publish", "settle")
        ],
        row("inconsistent states (must be 0)", lambda r: len(r.figures.inconsistent)),
        row(
            "gate race: bids sent / stored at or after the gate",
            lambda r: f"{r.figures.gate_sent} / {r.figures.gate_after}",
        ),
        row("idempotency race", lambda r: r.figures.idempotent_stored),
        row("If-Match race", lambda r: r.figures.if_match),
        row("schemathesis as bidder", st("bidder")),
        row("schemathesis as operator", st("operator")),
        row("throttling observed: sign-in", lambda r: r.figures.throttling),
        row("throttling observed: writes", lambda r: r.figures.write_limit),
        row("run time", lambda r: f"{r.seconds / 60:.1f} min"),
    ]
    return header, rows


def markdown(runs: list[StoreRun]) -> str:
    header, rows = table(runs)
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *["| " + " | ".join(cell.replace("|", "\\|") for cell in r) + " |" for r in rows],
    ]
    details = []
    for run in runs:
        details.append(f"\n### {run.store}: what failed\n")
        for text, n in sorted(run.sweep.classes.items()):
            details.append(f"- {text}" + (f" ({n}×)" if n > 1 else ""))
        for st_run in run.schemathesis:
            details += [f"- schemathesis {st_run.role}: {f}" for f in st_run.failures]
        details += [f"- {s}" for s in run.figures.inconsistent]
    return "\n".join(lines + details) + "\n"


def machine() -> str:
    try:
        return describe_machine()
    except Exception:  # the description is a nicety; the figures stand without it
        return f"{platform.machine()}, {platform.system()} {platform.release()}"


def main(argv: list[str] | None = None) -> int:
    # Every 5xx is counted; its traceback in the server's log would bury the table.
    for name in ("vba.api", "uvicorn.error"):
        logging.getLogger(name).disabled = True
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stores", default="sqlite,postgresql")
    parser.add_argument("--kills", type=int, default=3, help="kill -9 trials while bidding")
    parser.add_argument("--step-kills", type=int, default=2, help="per clear/publish/settle")
    parser.add_argument("--examples", type=int, default=10, help="schemathesis, per operation")
    parser.add_argument("--quick", action="store_true", help="five hostile classes per place")
    parser.add_argument(
        "--sweep",
        choices=["typed", "full"],
        default="typed",
        help="typed: the classes of each place's type and three more; full: all 55",
    )
    parser.add_argument("--report-dir", default="build/reliability")
    parser.add_argument("--write", type=Path, help="write the table into this Markdown file")
    args = parser.parse_args(argv)
    console = Console()
    with tempfile.TemporaryDirectory(prefix="vba-reliability-") as tmp:
        work = Path(tmp)
        console.print("the demo's world (vba demo) …")
        world = demo_world(work / "demo")
        runs = [run_store(store, world, work, args, console) for store in args.stores.split(",")]
    header, rows = table(runs)
    out = Table(*header, title="Reliability figures")
    for r in rows:
        out.add_row(*r)
    console.print(out)
    report_dir = Path(args.report_dir)
    report_dir.mkdir(parents=True, exist_ok=True)
    for run in runs:
        listing = report_dir / f"{run.store}-sweep-failures.txt"
        listing.write_text("".join(f"{text}\n" for text in sorted(run.sweep.classes)))
        console.print(
            f"[{run.store}] {len(run.sweep.classes)} failing (place, class): {listing}",
            markup=False,
        )
    if args.write:
        when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        args.write.write_text(f"## Figures of {when}\n\nMachine: {machine()}.\n\n{markdown(runs)}")
    bad = any(
        r.sweep.server_errors
        or r.figures.server_errors
        or r.figures.lost
        or r.figures.phantom_bad
        or r.figures.inconsistent
        or r.figures.gate_after
        or any(f.startswith("ST101") for x in r.schemathesis for f in x.failures)
        for r in runs
    )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
