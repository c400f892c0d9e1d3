"""What happened in an auction's life, told once: a log line for the operator and a call to
whoever listens in this context (the app's metrics).

The services emit an event after the transaction that made it true has committed, so a
line never reports a step that was rolled back. Fields are ids, statuses, counts and
durations: never a bid's price or quantity, never a credential.

The listener lives in a context variable: each app sets its own around the requests it
answers and its scheduler's ticks (``listening``), so that tests with many apps in one
process count into their own metrics; threads started with ``asyncio.to_thread`` or
FastAPI's pool copy it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime

from auction.instants import utc_text

log = logging.getLogger("vba.events")

Listener = Callable[[str, Mapping[str, object]], None]
_listener: ContextVar[Listener | None] = ContextVar("vba_event_listener", default=None)


def instant(value: datetime) -> str:
    """An instant as the API writes it: UTC with ``Z``."""
    return utc_text(value)


def emit(
    event: str,
    message: str,
    *,
    level: int = logging.INFO,
    exc_info: bool = False,
    **fields: object,
) -> None:
    """Log ``message`` with ``event`` and ``fields`` (with the exception being handled if
    ``exc_info``), and tell the context's listener."""
    log.log(level, message, exc_info=exc_info, extra={"fields": {"event": event, **fields}})
    listener = _listener.get()
    if listener is not None:
        listener(event, fields)


@contextmanager
def listening(listener: Listener) -> Iterator[None]:
    """Send this context's events to ``listener`` until the block ends."""
    token = _listener.set(listener)
    try:
        yield
    finally:
        _listener.reset(token)
