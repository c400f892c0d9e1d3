"""How a real server runs the app: ``vba serve``, ``vba demo --serve`` and the tests that
start one all pass ``SERVER_OPTIONS`` to uvicorn.

- **h11**, not httptools: h11 stops buffering a request head that has passed
  ``MAX_HEADER_BYTES`` while it still arrives (uvicorn answers 400 and closes the
  connection); httptools has no limit and would read 100 MB of headers into memory. A head
  that arrives whole in one read is refused by ``api.http.limits`` (431).
- No ``Server: uvicorn`` header (it tells an attacker what to try); ``Date`` stays.
- No uvicorn access log (``api.http.observe`` logs every request, with its route template
  and request id), and uvicorn leaves the process's logging alone: ``vba serve`` sets it
  up (``api.http.logs``), tests and embedding programs keep theirs.
"""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp

from api.http.limits import MAX_HEADER_BYTES

SERVER_OPTIONS: dict[str, Any] = {
    "http": "h11",
    "h11_max_incomplete_event_size": MAX_HEADER_BYTES,
    "server_header": False,
    "date_header": True,
    "log_level": "warning",
    "access_log": False,
    "log_config": None,
}


def serve(app: ASGIApp, host: str, port: int) -> None:
    """Serve ``app`` on ``host:port`` until interrupted."""
    import uvicorn  # only a server needs it

    uvicorn.run(app, host=host, port=port, **SERVER_OPTIONS)


def serve_workers(host: str, port: int, workers: int) -> None:
    """Serve on ``host:port`` with ``workers`` processes until interrupted.

    uvicorn's supervisor binds the socket, starts the workers (each builds its app from
    the environment: ``api.http.app:app_from_env``), and starts a new worker for one that
    dies or stops answering its health check (checked every half second)."""
    import uvicorn

    uvicorn.run(
        "api.http.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        **SERVER_OPTIONS,
    )
