"""What the server does by itself as time passes: close the gates that have passed, clear and
publish the auctions due to publish themselves."""

from __future__ import annotations

from datetime import datetime

from api.services import auctions
from auction.store import Store
from auction.store.auctions import due_to_close, due_to_publish
from auction.store.sandbox_clock import StoreClock


def tick(store: Store, now: datetime) -> None:
    """Close the gates that have passed; clear and publish what is due to publish itself."""
    with store.read() as conn:
        closing = due_to_close(conn, now)
    auctions.close_due(store, closing, now)
    with store.read() as conn:
        publishing = due_to_publish(conn, now)
    auctions.publish_due(store, publishing, now)


def run_due(store: Store, clock: StoreClock) -> None:
    """One round of the scheduler at the clock's time (never beside a sandbox move's own)."""
    with clock.turn:
        tick(store, clock())
