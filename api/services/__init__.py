"""The service layer: each public function is one step of the product's life.

The rule for transactions, the same in every service module: **a service function takes
the** ``Store`` **and owns its transactions**. It opens them (``store.read()`` to load,
``store.write()`` to change), applies the domain's rules outside them when the work is
long (a clearing, a re-backing LP), and writes with the audit record in one write
transaction, re-checking under the lock that what it loaded still holds. Callers (routes,
CLI commands, the scheduler) never open a transaction around a service call. Helpers that
take a ``Connection`` are private to their module (a leading underscore) or live in
``auction.store``.
"""

from api.services import (
    accounts,
    ancillary,
    auctions,
    calendar,
    calendar_view,
    dispatch,
    frames,
    outages,
    sandbox,
    scheduler,
    settlement,
)

__all__ = [
    "accounts",
    "ancillary",
    "auctions",
    "calendar",
    "calendar_view",
    "dispatch",
    "frames",
    "outages",
    "sandbox",
    "scheduler",
    "settlement",
]
