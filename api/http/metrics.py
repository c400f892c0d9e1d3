"""Prometheus metrics of one app: requests, bids, clearings, the scheduler, the store.

Every app has its own registry (not prometheus_client's global one), so that the tests'
many apps in one process do not count into each other. Counters live in this process:
with several worker processes (``vba serve --workers``) a scrape answers for the worker
that took it (docs/operations.md, "Several workers"). The store's facts (auctions by
status, how late the scheduler is) are read from the store at scrape time, so they are
the same in every process.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from auction.lifecycle import Status
from auction.store import Store
from auction.store.auctions import count_by_status, oldest_due

# Prometheus 2 and 3 both read the 0.0.4 text format; our names need nothing newer.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
BIDS_ROUTE = "/organisations/{org_id}/auctions/{auction_id}/bids"
# Why a bid submission was refused, by the answer's status.
REFUSALS = {
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    409: "conflict",  # the gate is closed, or a bid id was used before
    412: "precondition",
    413: "too_large",
    422: "invalid",
    429: "throttled",
}
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
CLEARING_BUCKETS = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)


def refusal(status: int) -> str:
    """The reason class of a refused bid submission."""
    return REFUSALS.get(status, "server_error" if status >= 500 else "other")


class StoreFacts(Collector):
    """Gauges read from the store when Prometheus scrapes: auctions by status and how
    long the oldest overdue piece of the scheduler's work has waited."""

    def __init__(self, store: Store, clock: Callable[[], datetime]) -> None:
        self.store = store
        self.clock = clock

    def describe(self) -> Iterator[GaugeMetricFamily]:
        # Without describe() the registry would query the store on registration.
        yield from self._families()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up, auctions, overdue = self._families()
        try:
            now = self.clock()  # the sandbox's clock reads the store too
            with self.store.read() as conn:
                counts = count_by_status(conn)
                due = oldest_due(conn, now)
        except Exception:  # an unreachable store is a fact to report, not a failed scrape
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        for status in Status:
            auctions.add_metric([status.value], counts.get(status, 0))
        overdue.add_metric([], 0.0 if due is None else (now - due).total_seconds())
        yield from (up, auctions, overdue)

    @staticmethod
    def _families() -> tuple[GaugeMetricFamily, GaugeMetricFamily, GaugeMetricFamily]:
        return (
            GaugeMetricFamily("vba_store_up", "1 if the store answered this scrape, else 0"),
            GaugeMetricFamily("vba_auctions", "auctions by status", labels=["status"]),
            GaugeMetricFamily(
                "vba_scheduler_overdue_seconds",
                "how long the oldest passed gate of an open auction, or due automatic "
                "publication, has waited for the scheduler (0: nothing overdue)",
            ),
        )


class Metrics:
    """The metrics of one app, and the calls that move them."""

    def __init__(self, store: Store, clock: Callable[[], datetime]) -> None:
        # No ``*_created`` series beside every counter: they double the scrape and say only
        # when the process started. (A switch of the library, for the whole process.)
        disable_created_metrics()  # type: ignore[no-untyped-call]  # (unannotated upstream)
        self.registry = registry = CollectorRegistry()
        self.requests = Counter(
            "vba_http_requests",
            "HTTP requests answered, by method, route template and status",
            ["method", "route", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "vba_http_request_duration_seconds",
            "time to answer an HTTP request, by method and route template",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.bids_accepted = Counter(
            "vba_bid_submissions_accepted",
            "bid submissions accepted (a batch counts once: all its bids or none)",
            registry=registry,
        )
        self.bids_refused = Counter(
            "vba_bid_submissions_refused",
            "bid submissions refused, by reason class",
            ["reason"],
            registry=registry,
        )
        self.clearing_seconds = Histogram(
            "vba_clearing_duration_seconds",
            "time to clear an auction and check its result independently",
            buckets=CLEARING_BUCKETS,
            registry=registry,
        )
        self.clearings = Counter(
            "vba_clearings", "auctions cleared, by solver status", ["status"], registry=registry
        )
        self.events = Counter(
            "vba_lifecycle_events",
            "steps of auctions' lives, outages and settlement runs, by event",
            ["event"],
            registry=registry,
        )
        self.scheduler_failures = Counter(
            "vba_scheduler_failures",
            "scheduler work that failed: creating a calendar day's auction, closing a gate, "
            "publishing, or a whole tick",
            ["step"],
            registry=registry,
        )
        self.calendar_days = Counter(
            "vba_calendar_days",
            "delivery days the calendar decided, by outcome: created, skipped, or refused and "
            "missed (both logged at ERROR: a day without its auction)",
            ["outcome"],
            registry=registry,
        )
        self.last_tick = Gauge(
            "vba_scheduler_last_tick_timestamp_seconds",
            "when (Unix time) the scheduler last finished a tick",
            registry=registry,
        )
        self.leader = Gauge(
            "vba_scheduler_leader",
            "1 if this worker runs the scheduler (one over all workers on the store), else 0",
            registry=registry,
        )
        registry.register(StoreFacts(store, clock))

    def request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)
        if method == "POST" and route == BIDS_ROUTE:
            if status < 300:
                self.bids_accepted.inc()
            else:
                self.bids_refused.labels(refusal(status)).inc()

    def on_event(self, event: str, fields: Mapping[str, object]) -> None:
        """An event of ``api.services.events``."""
        self.events.labels(event).inc()
        if event == "auction.cleared":
            self.clearings.labels(str(fields["status"])).inc()
            duration = fields["duration_s"]
            assert isinstance(duration, float | int)
            self.clearing_seconds.observe(duration)
        elif event.startswith("calendar.") and event != "calendar.template_saved":
            self.calendar_days.labels(event.removeprefix("calendar.")).inc()
        elif event == "scheduler.failed":
            self.scheduler_failures.labels(str(fields["step"])).inc()

    def leading(self, leading: bool) -> None:
        self.leader.set(1 if leading else 0)

    def ticked(self) -> None:
        self.last_tick.set(time.time())

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
