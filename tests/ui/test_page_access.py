"""Who may open which page, as a matrix over every page of the app (no browser needed).

Each page route declares who it serves by its one dependency: ``PublicPage``,
``PageUser`` (anyone signed in), ``TraderPage`` or ``OperatorPage``. For every route and
every caller (nobody, a trader, an operator) the answer must follow from that alone; a
form posted from another site, or with no sign of where it came from, is refused before
anything else. A new page without one of these dependencies fails the first test.
"""

from __future__ import annotations

import inspect
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import fastapi.routing
import httpx2 as httpx
import pytest
from fastapi import FastAPI

from api import services
from api.http.app import create_app
from api.http.settings import Settings
from tests.ui.conftest import DISPATCHER, NEXT_AUCTION, LiveServer, World

ROLES = ("PublicPage", "PageUser", "TraderPage", "OperatorPage")


def page_routes(app: FastAPI) -> Iterator[tuple[str, str, str]]:
    """(method, path, role) of every page: ``/`` and ``/ui...``."""
    for route in fastapi.routing.iter_route_contexts(app.routes):
        if not (route.path == "/" or route.path.startswith("/ui")):
            continue
        annotations = [
            str(p.annotation) for p in inspect.signature(route.endpoint).parameters.values()
        ]
        roles = [role for role in ROLES for a in annotations if a.endswith(role)]
        for method in sorted(set(route.methods) - {"HEAD"}):
            yield method, route.path, roles[0] if len(roles) == 1 else f"unclear: {roles}"


@pytest.fixture(scope="module")
def routes(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, str, str]]:
    db = tmp_path_factory.mktemp("routes") / "routes.db"
    app = create_app(Settings(database_url=f"sqlite:///{db}"), scheduler=False)
    return [r for r in page_routes(app) if r[1] != "/"]


def test_every_page_says_whom_it_serves(routes: list[tuple[str, str, str]]) -> None:
    unclear = [(m, p, role) for m, p, role in routes if role not in ROLES]
    assert unclear == []
    assert {role for *_, role in routes} == set(ROLES)


def _concrete(path: str, world: World) -> str:
    values = {
        "auction_id": NEXT_AUCTION,
        "org_id": world.org_ids["quantwatt"],
        "day": world.delivery_day.isoformat(),
        "fmt": "xml",
        "action": "open",
    }
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m[1], str(uuid.uuid4())), path)


@contextmanager
def _client(server: LiveServer, world: World, email: str | None) -> Iterator[httpx.Client]:
    """A client of the pages, signed in as ``email`` (or nobody), sending its Origin."""
    with httpx.Client(base_url=server.url, headers={"origin": server.url}, timeout=60) as client:
        if email is not None:
            answer = client.post("/ui/login", data={"email": email, "password": world.password})
            assert answer.status_code == 303, answer.text
        yield client


@pytest.mark.parametrize("caller", ["nobody", "trader", "operator"])
def test_each_caller_gets_what_the_page_role_allows(
    routes: list[tuple[str, str, str]], server: LiveServer, world: World, caller: str
) -> None:
    email = {"nobody": None, "trader": world.dispatcher, "operator": world.operator}[caller]
    refused = {
        "nobody": {"PageUser", "TraderPage", "OperatorPage"},
        "trader": {"OperatorPage"},
        "operator": {"TraderPage"},
    }[caller]
    with _client(server, world, email) as client:
        for method, path, role in routes:
            if role not in refused or path == "/ui/logout":
                continue
            answer = client.request(method, _concrete(path, world), data={"form_key": "x"})
            where = f"{caller} {method} {path}"
            if caller == "nobody":
                assert answer.status_code == 303, where
                assert answer.headers["location"].startswith("/ui/login"), where
            else:
                assert answer.status_code == 403, where
                assert "text/html" in answer.headers["content-type"], where


@pytest.mark.parametrize("origin", ["cross-site", "no sign"])
def test_a_form_from_elsewhere_is_refused_before_anything_happens(
    routes: list[tuple[str, str, str]], server: LiveServer, world: World, origin: str
) -> None:
    with _client(server, world, world.operator) as client:
        before = client.get("/ui/operator/auctions").text.count("<tr")
        client.headers.pop("origin")
        headers = {"sec-fetch-site": "cross-site"} if origin == "cross-site" else {}
        for method, path, _role in routes:
            if method != "POST":
                continue
            answer = client.post(_concrete(path, world), data={"form_key": "x"}, headers=headers)
            assert answer.status_code == 403, f"{origin} POST {path}"
            assert "nothing was changed" in answer.text, path
        client.headers["origin"] = server.url
        assert client.get("/ui/operator/auctions").text.count("<tr") == before


def test_another_organisations_things_look_like_missing_ones(
    server: LiveServer, world: World
) -> None:
    """A trader opening another organisation's virtual asset gets the page of a missing
    one: the same status and words as for an id that does not exist."""
    vas = services.dispatch.virtual_assets(server.store, world.org_ids[DISPATCHER], server.clock())
    theirs = vas[0]["virtual_asset_id"]
    with _client(server, world, world.traders["quantwatt"]) as client:
        foreign = client.get(f"/ui/dispatch/{theirs}")
        missing = client.get(f"/ui/dispatch/{uuid.uuid4()}")
        foreign_bids = client.get(f"/ui/dispatch/{theirs}/ancillary")
    assert foreign.status_code == missing.status_code == foreign_bids.status_code == 404
    assert _message(foreign.text) == _message(missing.text)


UUID = re.compile(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}")


def _message(html: str) -> str:
    """The error page's message, with the id it names blanked out."""
    found = re.search(r'<div class="refusal" role="alert">\s*<p>(.*?)</p>', html, re.S)
    assert found is not None, html
    return UUID.sub("ID", found[1])
