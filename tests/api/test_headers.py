"""Headers on every answer: the environment (500s included), nosniff, no referrer, and no
caching of tokens, identities and downloads; the pages keep their own."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.responses import Response as PlainResponse
from fastapi.testclient import TestClient
from httpx2 import Response

from api.http.app import create_app
from api.http.settings import Settings
from auction.store import Store
from tests.api.conftest import PASSWORD, SECRET, provision


def failing_app(tmp_path: Path, env: str = "sandbox") -> FastAPI:
    """The app with one more route, for this test only, that fails as a bug would."""
    secret = SECRET if env == "sandbox" else "Vt0p9-Qe3xWm2LrZk8YbN4cHs7JdFa1Gu6TiPo5ElRw"
    settings = Settings(env=env, database_url=f"sqlite:///{tmp_path / 'vba.db'}", secret_key=secret)
    app = create_app(settings, scheduler=False)

    def fails() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/test-only/fails", fails)
    return app


def api_headers_of(answer: Response, env: str = "sandbox") -> None:
    assert answer.headers["X-VBA-Environment"] == env
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["Referrer-Policy"] == "no-referrer"
    assert answer.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("env", ["sandbox", "production"])
def test_a_500_carries_the_environment_and_the_other_headers(tmp_path: Path, env: str) -> None:
    with TestClient(failing_app(tmp_path, env), raise_server_exceptions=False) as client:
        answer = client.get("/test-only/fails")
    assert answer.status_code == 500
    assert "reference" in answer.json()["detail"]
    api_headers_of(answer, env)


def test_every_kind_of_answer_carries_the_headers(
    store: Store, make_client: Callable[[], TestClient]
) -> None:
    client = make_client()
    bidder = provision(store, client, "Kestrel Energy", "bidder")
    answers = {
        200: client.get("/auth/me", headers=bidder.headers),
        401: client.get("/auth/me"),
        404: client.get("/auctions/nowhere", headers=bidder.headers),
        422: client.get("/auctions?limit=0", headers=bidder.headers),
        413: client.post("/auth/public/authenticate", content=b" " * 70_000),
    }
    for status, answer in answers.items():
        assert answer.status_code == status, answer.text
        api_headers_of(answer)
        assert [k for k, _ in answer.headers.multi_items()].count("x-content-type-options") == 1


def test_the_token_and_the_invitation_are_not_cached(
    store: Store, make_client: Callable[[], TestClient]
) -> None:
    client = make_client()
    operator = provision(store, client, "Grid Operator", "operator")
    login = client.post(
        "/auth/public/authenticate", json={"username": operator.email, "password": PASSWORD}
    )
    api_headers_of(login)
    invited = client.post(
        "/admin/invites",
        headers=operator.headers,
        json={"email": "new@example.com", "org_id": operator.org_id},
    )
    assert invited.status_code == 201
    api_headers_of(invited)
    accepted = client.post(
        "/auth/public/accept-invite",
        json={"token": invited.json()["token"], "password": PASSWORD},
    )
    assert accepted.status_code == 201, accepted.text
    api_headers_of(accepted)


def test_pages_keep_their_own_headers_once(make_client: Callable[[], TestClient]) -> None:
    client = make_client()
    page = client.get("/ui/login")
    assert page.status_code == 200
    names = [k for k, _ in page.headers.multi_items()]
    assert names.count("referrer-policy") == names.count("x-content-type-options") == 1
    assert page.headers["Referrer-Policy"] == "same-origin"  # api.web's, for its own links
    assert page.headers["X-VBA-Environment"] == "sandbox"
    assert "Cache-Control" not in page.headers
    vendor = client.get("/static/vendor/swagger-ui-5.36.0.css")
    assert vendor.status_code == 200
    assert vendor.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert vendor.headers["X-Content-Type-Options"] == "nosniff"


def test_downloads_are_not_cached(tmp_path: Path) -> None:
    """A file answer of the API (CSV, XML) and a page's attachment that chose no caching
    of its own: both no-store. Test-only routes stand for the real downloads."""
    app = failing_app(tmp_path)

    def csv_file() -> PlainResponse:
        return PlainResponse("a,b\n1,2\n", media_type="text/csv")

    def page_attachment() -> PlainResponse:
        answer = PlainResponse("<x/>", media_type="application/xml")
        answer.headers["Content-Disposition"] = 'attachment; filename="x.xml"'
        return answer

    app.add_api_route("/test-only/file.csv", csv_file)
    app.add_api_route("/ui/test-only/file.xml", page_attachment)
    with TestClient(app) as client:
        api_file = client.get("/test-only/file.csv")
        page_file = client.get("/ui/test-only/file.xml")
    api_headers_of(api_file)
    assert page_file.headers["Cache-Control"] == "no-store"
    assert page_file.headers["X-Content-Type-Options"] == "nosniff"  # api.web's
