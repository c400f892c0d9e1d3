"""The rush's load generator, open loop: each request leaves at its planned instant.

One client process holds ``threads`` threads, each with one keep-alive ``httpx2.Client``;
they take the process's requests in time order and sleep until each one's instant. A
request finds a free thread at once unless all are waiting for answers: then it leaves
late, and its lateness is recorded (the server's slowness seen as a bidder sees it).
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2


@dataclass(frozen=True)
class RushJob:
    url: str
    paths: tuple[str, ...]  # per organisation
    tokens: tuple[str, ...]  # per organisation
    items: tuple[tuple[int, float, int, bytes], ...]  # (index, send at epoch s, org, body)
    threads: int


def drive_rush(job: RushJob) -> dict[str, Any]:
    """Send the job's requests on time; per request (index, status, sent at, seconds)."""
    lock = threading.Lock()
    results: list[tuple[int, int, float, float]] = []
    nxt = [0]

    def take() -> tuple[int, float, int, bytes] | None:
        with lock:
            if nxt[0] >= len(job.items):
                return None
            nxt[0] += 1
            return job.items[nxt[0] - 1]

    def client() -> None:
        mine: list[tuple[int, int, float, float]] = []
        with httpx2.Client(base_url=job.url, timeout=300) as http:
            while (item := take()) is not None:
                index, at, org, body = item
                time.sleep(max(0.0, at - time.time()))
                headers = {
                    "Authorization": f"Bearer {job.tokens[org]}",
                    "Content-Type": "application/json",
                }
                sent = time.time()
                t0 = time.perf_counter()
                try:
                    status = http.post(job.paths[org], content=body, headers=headers).status_code
                except httpx2.TransportError:
                    status = 0  # counted as a transport error; the client reconnects
                mine.append((index, status, sent, time.perf_counter() - t0))
        with lock:
            results.extend(mine)

    cpu0 = time.process_time()
    threads = [threading.Thread(target=client) for _ in range(job.threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"results": results, "client_cpu_s": time.process_time() - cpu0}


def tree_cpu_s(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and its live descendants (uvicorn's workers)."""
    tick = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        child = int(stat.parent.name)
        parents[child] = int(fields[1])
        cpu[child] = (int(fields[11]) + int(fields[12])) / tick
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        total += cpu.get(p, 0.0)
        todo.extend(c for c, parent in parents.items() if parent == p)
    return total
