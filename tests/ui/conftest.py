"""Browser tests: the pages in a real headless Chromium, against a real uvicorn server.

- The browser is Debian's ``chromium`` (or ``chromium-headless-shell``, or ``VBA_CHROMIUM``)
  driven by Playwright from PyPI; never ``playwright install``. Without a browser the tests
  skip, saying why, unless ``VBA_REQUIRE_BROWSER=1`` (``.ci/run`` sets it): then they fail.
- The world: the demo's whole auction day (``run_demo``: fleet, sample auction cleared and
  published, schedules, an outage, ancillary bids, settlement) plus a second auction whose
  gate is open, in one SQLite file made once per session. Each test module serves its own
  copy, on a clock the test sets (``server.clock.now``), starting at ``NOW``.
- Every page test fails on a request to another host, a console error or a CSP violation,
  and runs the browser in New York to prove that pages show Berlin times.
- ``check_accessible(page)`` runs axe-core (vendored) for WCAG 2.2 AA: no violation allowed.
- ``snapshot(page, name)`` keeps a full-page screenshot in ``build/ui-screens/`` (or
  ``VBA_UI_ARTIFACTS``) for a person to look at; no pixel diffs (fonts differ by machine).
"""

from __future__ import annotations

import io
import os
import re
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import uvicorn
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Locator,
    Page,
    Playwright,
    Route,
    expect,
    sync_playwright,
)
from rich.console import Console

from api.cli.demo import PASSWORD, run_demo
from api.cli.demo_serve import NEXT_AUCTION, demo_now, open_next_auction
from api.http.app import create_app
from api.http.serving import SERVER_OPTIONS
from api.http.settings import Settings
from auction.store import Store

SECRET = "browser tests: a secret long enough for HS256"
# D-1 of the sample day, 12:00 CET (as ``vba demo --serve`` starts): the sample auction is
# published, its virtual assets are upcoming and can still be dispatched; the second
# auction's gate is open until 15:00.
NOW = datetime(2026, 11, 28, 11, 0, tzinfo=UTC)
assert demo_now() == NOW
NEXT_DAY = date(2026, 11, 30)
DISPATCHER = "baltic-power-desk"  # the sample's busiest bidder: the demo dispatched for it
ARTIFACTS = Path(os.environ.get("VBA_UI_ARTIFACTS", "build/ui-screens"))
AXE_JS = Path(__file__).parent / "vendor" / "axe-4.14.1.min.js"
# Statuses a page answers on purpose (a refused form); Chromium logs them as console errors.
EXPECTED_STATUSES = ("401", "409", "422")

expect.set_options(timeout=15_000)  # two shared cores: patient, never timing-dependent


def chromium_path() -> str | None:
    return (
        os.environ.get("VBA_CHROMIUM")
        or shutil.which("chromium-headless-shell")
        or shutil.which("chromium")
    )


class Clock:
    """The server's clock: a test sets ``now``."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass(frozen=True)
class World:
    """The seeded store and who is in it."""

    db: Path
    password: str
    operator: str  # email
    traders: dict[str, str]  # organisation name -> email
    org_ids: dict[str, str]  # organisation name -> org id
    sample_auction: str
    delivery_day: date
    next_auction: str = NEXT_AUCTION

    @property
    def dispatcher(self) -> str:
        return self.traders[DISPATCHER]


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    workdir = tmp_path_factory.mktemp("world")
    outcome = run_demo(Console(file=io.StringIO()), workdir)
    db = workdir / "vba.db"
    store = Store(f"sqlite:///{db}")
    try:
        assert open_next_auction(store, NOW) == NEXT_DAY
    finally:
        store.dispose()
    ids = {name: org_id for org_id, name in outcome.names.items()}
    traders = {name: f"{name}@demo.example" for name in ids if name != "operator"}
    return World(
        db=db,
        password=PASSWORD,
        operator="operator@demo.example",
        traders=traders,
        org_ids=ids,
        sample_auction=outcome.archive.config.auction_id,
        delivery_day=outcome.archive.config.delivery_day,
    )


@dataclass
class LiveServer:
    url: str
    clock: Clock
    store: Store


def copy_store(source: Path, target: Path) -> None:
    """A consistent copy of a SQLite store (its WAL included)."""
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()


@pytest.fixture(scope="module")
def server(world: World, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A real uvicorn over this module's own copy of the world, on 127.0.0.1 (port 0)."""
    db = tmp_path_factory.mktemp("store") / "vba.db"
    copy_store(world.db, db)
    clock = Clock(NOW)
    settings = Settings(database_url=f"sqlite:///{db}", secret_key=SECRET, token_minutes=600)
    app = create_app(settings, clock=clock, scheduler=False)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="on", **SERVER_OPTIONS)
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not uv.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    port = uv.servers[0].sockets[0].getsockname()[1]
    yield LiveServer(f"http://127.0.0.1:{port}", clock, app.state.store)
    uv.should_exit = True
    thread.join(10)


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    path = chromium_path()
    if path is None:
        reason = "browser tests need Chromium: apt-get install chromium (or set VBA_CHROMIUM)"
        if os.environ.get("VBA_REQUIRE_BROWSER") == "1":
            pytest.fail(f"VBA_REQUIRE_BROWSER=1 but no browser was found: {reason}")
        pytest.skip(reason)
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=chromium_path())
    yield browser
    browser.close()


@dataclass
class Guard:
    """What a page did that it must not: foreign requests, console errors, CSP violations."""

    base_url: str
    foreign: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    allowed: list[str] = field(default_factory=lambda: list(EXPECTED_STATUSES))

    def allow_status(self, status: int) -> None:
        """A test that opens an error page on purpose (a 404) allows its console line."""
        self.allowed.append(str(status))

    def check(self) -> None:
        assert self.foreign == [], f"requests to other hosts: {self.foreign}"
        assert self.errors == [], f"console errors: {self.errors}"

    def route(self, route: Route) -> None:
        if route.request.url.startswith(self.base_url):
            route.continue_()
        else:
            self.foreign.append(route.request.url)
            route.abort()

    def console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        status = re.search(r"status of (\d{3})", message.text)
        if status is None or status.group(1) not in self.allowed:
            self.errors.append(message.text)


@pytest.fixture
def guard(server: LiveServer) -> Guard:
    return Guard(server.url)


def open_page(browser: Browser, server: LiveServer, guard: Guard) -> Page:
    """A page in a fresh browser context in New York (en-GB), watched by ``guard``: it
    refuses every other host and records console errors and CSP violations."""
    context = browser.new_context(
        base_url=server.url,
        timezone_id="America/New_York",
        locale="en-GB",
        viewport={"width": 1280, "height": 900},
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.route("**/*", guard.route)
    page.on("console", guard.console)
    page.on("pageerror", lambda exc: guard.errors.append(f"page error: {exc}"))
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation', "
        "e => console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI))"
    )
    return page


@pytest.fixture
def page(browser: Browser, server: LiveServer, guard: Guard) -> Iterator[Page]:
    page = open_page(browser, server, guard)
    yield page
    page.context.close()
    guard.check()


def sign_in(page: Page, email: str, next_path: str | None = None, password: str = PASSWORD) -> Page:
    """Sign in through the sign-in page, as a person does: to the role's start page, or
    straight back to ``next_path`` (as after following a link while signed out)."""
    page.goto("/ui/login" if next_path is None else f"/ui/login?next={quote(next_path, safe='/')}")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    if next_path is not None:
        expect(page).to_have_url(next_path)
    # The page's stylesheets and scripts too: a layout read before them (a width, a
    # chart's pixels) would measure the page unstyled on a busy machine.
    page.wait_for_load_state("load")
    return page


@pytest.fixture
def trader(page: Page, world: World) -> Page:
    """The page, signed in as the demo's dispatching trader (baltic-power-desk)."""
    sign_in(page, world.dispatcher)
    return page


@pytest.fixture
def operator(page: Page, world: World) -> Page:
    sign_in(page, world.operator)
    return page


def rest_json(page: Page, email: str, path: str, password: str = PASSWORD) -> Any:
    """What the REST API answers ``email`` for ``path``, with a bearer token (the API
    never reads the pages' cookie)."""
    token = page.request.post(
        "/auth/public/authenticate", data={"username": email, "password": password}
    ).json()["access_token"]
    answer = page.request.get(path, headers={"Authorization": f"Bearer {token}"})
    assert answer.ok, answer.text()
    return answer.json()


def check_accessible(page: Page) -> None:
    """No axe-core violation of WCAG 2.0/2.1/2.2 A and AA on the page as it is now."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_JS.read_text())  # evaluated by the driver: the page's CSP stays strict
    result: dict[str, Any] = page.evaluate(
        "() => axe.run(document, {runOnly: {type: 'tag', values: "
        "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}})"
    )
    problems = [
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(str(n["target"]) for n in v["nodes"][:5])
        for v in result["violations"]
    ]
    assert problems == [], "accessibility violations:\n" + "\n".join(problems)


def painted_pixels(chart: Locator) -> int:
    """The non-transparent pixels of the one canvas in ``chart`` (a blank uPlot draws only
    its axes' text): proof that a chart was drawn, in the browser, from its data."""
    canvas = chart.locator("canvas")
    expect(canvas).to_have_count(1)
    painted: int = canvas.evaluate(
        """c => {
            const px = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
            let n = 0;
            for (let i = 3; i < px.length; i += 4) if (px[i] !== 0) n += 1;
            return n;
        }"""
    )
    return painted


def snapshot(page: Page, name: str) -> Path:
    """A full-page screenshot kept for review (not compared)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
