"""The HTTP load harness of the intake and schedule benchmarks: servers, accounts, clients.

``servers_running`` starts ``vba serve`` on a fresh SQLite store holding an operator and a
bidder account, next to a bare FastAPI app with one POST that does no work (this file run
as ``python benchmarks/http_load.py --serve-bare PORT``), served by uvicorn with the same
settings. ``drive`` is one client process of the load generator: threads, each holding one
keep-alive ``httpx2.Client``, posting bodies in turn over a measured window. The CPU meters
read Linux /proc. Nothing here imports the project at module level: the bare app's process
runs this file with benchmarks/ first on its path.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
from rich.console import Console

HOST = "127.0.0.1"
SECRET_KEY = "intake-benchmark-secret-key-0123456789abcdef"
PASSWORD = "correct horse battery staple"
TSO_ZONE = "10YDE-EON------1"
EIC_OPERATOR = "10YDE-RWENET---I"
EIC_BIDDER = "10YDE-VE-------2"
WARMUP_S = 2.0


# --------------------------------------------------------------------------- servers


def add_load_arguments(p: argparse.ArgumentParser, seconds: float) -> None:
    """The options of every HTTP load run: phase length, clients, client processes."""
    p.add_argument("--seconds", type=float, default=seconds, help="per phase (default %(default)s)")
    p.add_argument(
        "--concurrency", type=int, default=8, help="clients at once (default %(default)s)"
    )
    p.add_argument(
        "--procs",
        type=int,
        default=2,
        help="client processes sharing the clients, each with its own GIL (default %(default)s)",
    )


def serve_bare(port: int) -> None:
    """The bare app: one POST that does no work, served as ``vba serve`` serves the API.

    A plain ``def`` like the bid route, so it runs in the same threadpool; it does not
    read the body, so the difference to the bid route is all our work.
    """
    from fastapi import FastAPI

    from api.http.serving import serve  # the options of vba serve (h11, no Server header)

    app = FastAPI()

    @app.post("/noop", status_code=201)
    def noop() -> dict[str, str]:
        return {"status": "ok"}

    serve(app, HOST, port)


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    name: str
    proc: subprocess.Popen[bytes]
    url: str
    log: Path


def start_server(name: str, cmd: list[str], env: dict[str, str], port: int, tmp: Path) -> Server:
    log = tmp / f"{name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=tmp)
    return Server(name, proc, f"http://{HOST}:{port}", log)


def wait_ready(server: Server, timeout_s: float = 60.0) -> None:
    """Until the server answers /openapi.json; raise with its log if it died or hung."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            break
        try:
            if httpx2.get(server.url + "/openapi.json", timeout=2).status_code == 200:
                return
        except httpx2.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{server.name} did not start:\n{server.log.read_text()[-3000:]}")


def stop(server: Server) -> None:
    if server.proc.poll() is None:
        server.proc.terminate()
        try:
            server.proc.wait(10)
        except subprocess.TimeoutExpired:
            server.proc.kill()
            server.proc.wait(10)


def busy_s() -> tuple[float, float]:
    """CPU seconds the machine's cores have been busy so far, and stolen by the hypervisor
    (a VM's vCPU waiting for the host), from Linux /proc/stat; zeros elsewhere."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return 0.0, 0.0
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    tick = os.sysconf("SC_CLK_TCK")
    return (user + nice + system + irq + softirq) / tick, steal / tick


def logged_errors(server: Server) -> dict[str, int]:
    """The exception lines of the tracebacks the server logged (a 500 logs one), counted."""
    found: dict[str, int] = {}
    for line in server.log.read_text(errors="replace").splitlines():
        if re.match(r"^[\w.]+(Error|Exception|Exit)\b", line):
            found[line[:300]] = found.get(line[:300], 0) + 1
    return found


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --------------------------------------------------------------------------- accounts


def provision(store: Any) -> None:
    """An operator org and a bidder org, one user each, straight through the store."""
    from api.http.security import hash_password
    from auction.store.accounts import accept_invite, create_invite, create_org

    now = datetime.now(UTC)
    with store.write() as conn:
        for name, eic, role in (
            ("Intake Operator", EIC_OPERATOR, "operator"),
            ("Intake Bidder", EIC_BIDDER, "bidder"),
        ):
            org = create_org(conn, name, eic, TSO_ZONE, now)
            email = f"{role}@intake.example.com"
            token = create_invite(conn, email, org.org_id, role, now, timedelta(hours=1))
            accept_invite(conn, token, hash_password(PASSWORD), now)


def login(client: httpx2.Client, email: str) -> str:
    answer = client.post(
        "/auth/public/authenticate", json={"username": email, "password": PASSWORD}
    )
    answer.raise_for_status()
    return str(answer.json()["access_token"])


def checked(answer: httpx2.Response, status: int) -> dict[str, Any]:
    if answer.status_code != status:
        raise RuntimeError(f"{answer.request.method} {answer.request.url}: {answer.text[:2000]}")
    result: dict[str, Any] = answer.json()
    return result


# --------------------------------------------------------------------------- both servers


@contextmanager
def servers_running(tmp: Path, console: Console) -> Iterator[tuple[dict[str, Server], Any, Path]]:
    """A fresh store with two accounts, ``vba serve`` over it and the bare app; both are
    stopped on the way out, whatever happens."""
    from auction.store import Store, migrate

    db = tmp / "vba.db"
    url = f"sqlite:///{db}"
    store = Store(url)
    migrate(store)
    provision(store)
    env = {
        **os.environ,
        "VBA_DATABASE_URL": url,
        "VBA_SECRET_KEY": SECRET_KEY,
        "VBA_ENV": "sandbox",
    }
    vba_port, bare_port = free_port(), free_port()
    vba_cmd = [str(Path(sys.executable).with_name("vba")), "serve", "--host", HOST]
    bare_cmd = [sys.executable, str(Path(__file__).resolve()), "--serve-bare", str(bare_port)]
    servers: dict[str, Server] = {}
    try:
        servers["vba"] = start_server(
            "vba", [*vba_cmd, "--port", str(vba_port)], env, vba_port, tmp
        )
        servers["bare"] = start_server("bare", bare_cmd, env, bare_port, tmp)
        for server in servers.values():
            wait_ready(server)
            console.print(f"{server.name} server up at {server.url}, pid {server.proc.pid}")
        yield servers, store, db
    finally:
        for server in servers.values():
            stop(server)
        store.dispose()


# --------------------------------------------------------------------------- load


@dataclass(frozen=True)
class Job:
    """One client process: ``threads`` clients, each one keep-alive connection."""

    url: str
    path: str
    token: str
    bodies: tuple[bytes, ...]
    threads: int
    start_at: float  # time.time() of the measured window's start, the same for all
    seconds: float
    warmup_s: float


def drive(job: Job) -> dict[str, Any]:
    """Run one client process's threads; latencies of the measured window, 2xx only."""
    lock = threading.Lock()
    out: dict[str, Any] = {"latencies": [], "ends": [], "warm_ok": 0, "errors": {}}
    end_at = job.start_at + job.seconds
    headers = {"Authorization": f"Bearer {job.token}", "Content-Type": "application/json"}

    def client(k: int) -> None:
        latencies: list[float] = []
        last_end = job.start_at
        warm_ok = 0
        errors: dict[str, int] = {}
        i = k
        with httpx2.Client(base_url=job.url, headers=headers, timeout=300) as http:
            time.sleep(max(0.0, job.start_at - job.warmup_s - time.time()))
            while True:
                started = time.time()
                if started >= end_at:
                    break
                t0 = time.perf_counter()
                try:
                    answer = http.post(job.path, content=job.bodies[i % len(job.bodies)])
                except httpx2.TransportError as exc:  # counted; the client reconnects
                    key = f"transport {type(exc).__name__}: {exc}"
                    errors[key] = errors.get(key, 0) + 1
                    continue
                elapsed = time.perf_counter() - t0
                i += job.threads
                if not answer.is_success:
                    key = f"{answer.status_code} {answer.text[:200]}"
                    errors[key] = errors.get(key, 0) + 1
                elif started < job.start_at:
                    warm_ok += 1
                else:
                    latencies.append(elapsed)
                    last_end = time.time()
        with lock:
            out["latencies"].extend(latencies)
            out["ends"].append(last_end)
            out["warm_ok"] += warm_ok
            for key, n in errors.items():
                out["errors"][key] = out["errors"].get(key, 0) + n

    def meter() -> None:
        # This process's CPU over the measured window exactly, warm-up excluded.
        time.sleep(max(0.0, job.start_at - time.time()))
        cpu0 = time.process_time()
        time.sleep(max(0.0, end_at - time.time()))
        out["client_cpu_s"] = time.process_time() - cpu0

    threads = [threading.Thread(target=client, args=(k,)) for k in range(job.threads)]
    threads.append(threading.Thread(target=meter))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile of sorted ``values`` (NaN when empty)."""
    if not values:
        return math.nan
    return values[min(len(values) - 1, max(0, math.ceil(q * len(values)) - 1))]


def main(argv: list[str] | None = None) -> int:
    """The bare app's own process, which ``servers_running`` starts."""
    p = argparse.ArgumentParser(description="The bare app of the HTTP benchmarks.")
    p.add_argument("--serve-bare", type=int, metavar="PORT", required=True)
    serve_bare(p.parse_args(argv).serve_bare)
    return 0


if __name__ == "__main__":
    sys.exit(main())
