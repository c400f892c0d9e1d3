"""A real uvicorn with the options of ``vba serve``: header size, no Server header, and the
body limit on the wire (a declared length refused unread, a chunked body cut off)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
import uvicorn

from api.http.app import create_app
from api.http.limits import MAX_HEADER_BYTES
from api.http.serving import SERVER_OPTIONS
from api.http.settings import Settings
from tests.api.conftest import SECRET


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """``vba serve``'s uvicorn over a fresh store, on 127.0.0.1 (port 0)."""
    db = tmp_path_factory.mktemp("server") / "vba.db"
    settings = Settings(database_url=f"sqlite:///{db}", secret_key=SECRET)
    app = create_app(settings, scheduler=False)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="on", **SERVER_OPTIONS)
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not uv.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    yield "127.0.0.1", uv.servers[0].sockets[0].getsockname()[1]
    uv.should_exit = True
    thread.join(10)


def exchange(address: tuple[str, int], *parts: bytes) -> bytes:
    """Send ``parts`` on a new connection and read the answer until the server closes.

    The socket timeout only keeps a broken server from hanging the suite; no assertion
    depends on time."""
    with socket.create_connection(address, timeout=60) as sock:
        for part in parts:
            sock.sendall(part)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def test_100_kb_of_headers_are_refused(server: tuple[str, int]) -> None:
    """Sent at once: the app is not asked (its answer would be a 401 without a token)."""
    big = b"GET /auth/me HTTP/1.1\r\nHost: x\r\nX-Padding: " + b"a" * 100_000 + b"\r\n\r\n"
    answer = exchange(server, big)
    assert status_of(answer) in (400, 431)


def test_headers_that_keep_coming_are_cut_off(server: tuple[str, int]) -> None:
    """A head sent in pieces that never ends: the server stops at 16 KiB and answers,
    instead of buffering until the client stops (it would wait forever)."""
    piece = b"X-Padding: " + b"a" * 1000 + b"\r\n"
    answer = exchange(server, b"GET /auth/me HTTP/1.1\r\nHost: x\r\n", *[piece] * 40)
    assert status_of(answer) == 400


def test_headers_within_the_limit_are_served(server: tuple[str, int]) -> None:
    padding = b"a" * (MAX_HEADER_BYTES // 2)
    request = b"GET /auth/me HTTP/1.1\r\nHost: x\r\nX-Padding: " + padding
    answer = exchange(server, request + b"\r\nConnection: close\r\n\r\n")
    assert status_of(answer) == 401  # read, and answered by the app


def test_no_server_header_and_a_date(server: tuple[str, int]) -> None:
    host, port = server
    answer = httpx2.get(f"http://{host}:{port}/openapi.json", timeout=60)
    assert answer.status_code == 200
    assert "server" not in answer.headers
    assert "date" in answer.headers
    assert answer.headers["X-VBA-Environment"] == "sandbox"


def test_a_declared_100_mb_login_is_refused_without_being_sent(server: tuple[str, int]) -> None:
    """The server answers the headers alone: it does not wait for 100 MB it will not read."""
    head = (
        b"POST /auth/public/authenticate HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: application/json\r\nContent-Length: 100000000\r\n\r\n"
    )
    answer = exchange(server, head)
    assert status_of(answer) == 413
    assert b"connection: close" in answer.lower()
    assert b"64 KiB" in answer


def test_a_chunked_login_is_answered_once_it_passes_the_limit(server: tuple[str, int]) -> None:
    """A body that never ends (no last chunk is sent): the 413 comes once 64 KiB have
    passed. A server that waited for the end would never answer."""
    head = (
        b"POST /auth/public/authenticate HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b"400\r\n" + b" " * 1024 + b"\r\n"  # 1 KiB
    answer = exchange(server, head, chunk * 65)
    assert status_of(answer) == 413
    assert b"64 KiB" in answer


def test_the_tests_serve_with_the_options_of_vba_serve() -> None:
    """vba serve and the demo go through api.http.serving; keep them there."""
    root = Path(__file__).parents[2] / "api" / "cli"
    for module in ("store.py", "demo_serve.py"):
        text = (root / module).read_text()
        assert "uvicorn.run(" not in text
        assert "from api.http.serving import serve" in text
