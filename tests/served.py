"""An app served by a real uvicorn in a thread, with ``vba serve``'s options."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from fastapi import FastAPI

from api.http.serving import SERVER_OPTIONS


@contextmanager
def served(app: FastAPI) -> Iterator[int]:
    """Serve ``app`` on 127.0.0.1 (a free port, yielded) until the block ends.

    The deadline only keeps a server that never starts from hanging the suite."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="on", **SERVER_OPTIONS)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield server.servers[0].sockets[0].getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(10)
