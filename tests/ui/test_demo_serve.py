"""``vba demo --serve``: a newcomer runs it and signs in at the address it prints.

A real process (the console script, no shell) on a free port; no browser needed.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import httpx2

from api.cli.demo import PASSWORD
from tests.api.test_durability import free_port

# Polls while the demo runs (it clears, checks and replays an auction first): generous,
# because a busy machine is slow, and a failure to start shows the log, not a timeout.
START_POLLS = 3000


def test_the_demo_serves_its_store_and_prints_how_to_sign_in(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "demo.log"
    vba = Path(sys.executable).with_name("vba")
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(vba), "demo", "--serve", "--port", str(port), "--out", str(tmp_path / "demo")],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(START_POLLS):
            assert process.poll() is None, f"the demo exited: {log.read_text()}"
            if "Ctrl+C stops the server" in log.read_text():
                break
            time.sleep(0.2)
        printed = re.sub(r"\s+", " ", log.read_text())
        assert f"Web frontend: {url}/ui/" in printed
        assert PASSWORD in printed
        trader = re.search(r"as a trader: (\S+@demo\.example)", printed)
        assert trader is not None, printed
        with httpx2.Client(base_url=url, headers={"origin": url}, timeout=60) as client:
            for _ in range(START_POLLS):
                try:
                    if client.get("/ui/login").status_code == 200:
                        break
                except httpx2.TransportError:
                    time.sleep(0.2)
            answer = client.post(
                "/ui/login",
                data={"email": trader[1], "password": PASSWORD, "next": "/ui/dispatch"},
            )
            assert answer.status_code == 303, answer.text
            upcoming = client.get("/ui/dispatch")
            assert upcoming.status_code == 200
            assert "Upcoming virtual assets" in upcoming.text
            assert client.get("/ui/auctions/next-day").status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=30)
