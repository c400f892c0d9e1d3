"""Running ``replay_archive`` over many archives: a local process pool, or a Dask cluster.

Both executors run the same per-archive function and hand each outcome to ``on_done`` as it
arrives (for a progress bar); the outcomes come back sorted by path, so the report does not
depend on which worker finished first. Dask is the engine for more than one machine:
``scheduler`` is the address of a running ``dask scheduler`` (its workers need this package
and the archives at the same paths); without it a local Dask cluster is started, which is
what the tests run. Dask comes with the replay extra (``extra.py``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from functools import partial
from multiprocessing import get_context
from pathlib import Path
from typing import Literal

from clearing.replay.archive import ReplayOutcome, replay_archive
from clearing.replay.extra import replay_extra
from clearing.replay.rules import PLAIN, Rules

Executor = Literal["process", "dask"]
# One polars thread per worker: the parallelism is in the processes, and on these small
# frames polars' own thread pool costs more than it gives (benchmarks/README.md, replay).
WORKER_ENV = {"POLARS_MAX_THREADS": "1"}
EXECUTORS: tuple[Executor, ...] = ("process", "dask")


def replay_all(
    paths: Sequence[Path],
    rules: Rules = PLAIN,
    *,
    jobs: int = 1,
    executor: Executor = "process",
    scheduler: str | None = None,
    on_done: Callable[[ReplayOutcome], None] | None = None,
) -> list[ReplayOutcome]:
    """Replay every archive in ``paths`` under ``rules``, ``jobs`` at a time."""
    work = partial(replay_archive, rules=rules)
    done = on_done or (lambda _: None)
    if executor == "dask":
        outcomes = _on_dask(work, paths, jobs, scheduler, done)
    else:
        outcomes = _on_processes(work, paths, jobs, done)
    return sorted(outcomes, key=lambda o: o.path)


def _on_processes(
    work: Callable[[Path], ReplayOutcome],
    paths: Sequence[Path],
    jobs: int,
    done: Callable[[ReplayOutcome], None],
) -> list[ReplayOutcome]:
    # spawn, not fork: HiGHS and polars keep thread pools that a fork would copy half-made.
    context = get_context("spawn")
    outcomes = []
    with (
        _worker_environment(),
        ProcessPoolExecutor(max_workers=max(1, jobs), mp_context=context) as pool,
    ):
        futures = [pool.submit(work, path) for path in paths]  # workers start here
        for future in as_completed(futures):
            outcomes.append(future.result())
            done(outcomes[-1])
    return outcomes


@contextmanager
def _worker_environment() -> Iterator[None]:
    """Workers inherit ``WORKER_ENV`` (unless they are set already)."""
    added = {k: v for k, v in WORKER_ENV.items() if k not in os.environ}
    os.environ.update(added)
    try:
        yield
    finally:
        for key in added:
            del os.environ[key]


def _on_dask(
    work: Callable[[Path], ReplayOutcome],
    paths: Sequence[Path],
    jobs: int,
    scheduler: str | None,
    done: Callable[[ReplayOutcome], None],
) -> list[ReplayOutcome]:
    with replay_extra():  # only this executor needs Dask
        from distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler is None:
        cluster = LocalCluster(
            n_workers=max(1, jobs),
            threads_per_worker=1,
            processes=True,
            # A free port on the loopback: 8787 may be taken (another cluster, a test run).
            dashboard_address="127.0.0.1:0",
            silence_logs=logging.WARNING,  # the progress bar says what is going on
            env=WORKER_ENV,
        )
    outcomes = []
    try:
        with Client(cluster if cluster is not None else scheduler) as client:
            futures = client.map(work, list(paths), pure=False)
            for future in as_completed(futures):
                outcomes.append(future.result())
                done(outcomes[-1])
    finally:
        if cluster is not None:
            cluster.close()
    return outcomes
