"""The account life cycle over HTTP, on SQLite and PostgreSQL: the password policy at
invite acceptance and password change, tokens ended by a password change, a sign-out
everywhere or a deactivation, revoked invites, the sign-in throttle and the per-organisation
write limit. The clock is the app's, pinned: nothing here sleeps."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.http.app import create_app
from api.http.settings import Settings
from auction.store import Store
from auction.store.accounts import create_invite, create_org, user_by_email
from auction.store.audit import events
from tests.api.conftest import EICS, PASSWORD, SECRET, Account, Clock, provision

AUTH = "/auth/public/authenticate"

MakeClient = Callable[..., TestClient]


@pytest.fixture
def client_with(store_url: str, clock: Clock) -> Iterator[MakeClient]:
    """Clients of apps over the test's store with some settings changed."""
    clients: list[TestClient] = []

    def make(**changes: Any) -> TestClient:
        settings = Settings(database_url=store_url, secret_key=SECRET, **changes)
        client = TestClient(create_app(settings, clock=clock, scheduler=False))
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def _login(client: TestClient, email: str, password: str, address: str | None = None) -> Any:
    headers = {} if address is None else {"X-Forwarded-For": address}
    return client.post(AUTH, json={"username": email, "password": password}, headers=headers)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _invite(store: Store, clock: Clock, email: str, org_name: str = "Kestrel Power") -> str:
    with store.write() as conn:
        org = create_org(conn, org_name, EICS[1], EICS[0], clock.now)
        return create_invite(conn, email, org.org_id, "bidder", clock.now, timedelta(hours=1))


# -- the password policy ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "rule"),
    [
        (" " * 12, "only blank characters"),
        ("password1234", "most common passwords"),
        ("Qwerty123456!", "most common passwords"),
        ("abcabcabcabc", "repeated"),
        ("abcdefgh1234", "run of the alphabet"),
        ("mia.jensen@kestrel.example", "your email"),
        ("mia.jensen2026", "your email"),
        ("KestrelPower2026", "organisation's name"),
        ("x" * 11, "at least 12 characters"),
        ("x" * 129, "at most 128 characters"),
    ],
)
def test_a_weak_password_is_refused_at_invite_acceptance(
    store: Store,
    make_client: Callable[[], TestClient],
    clock: Clock,
    password: str,
    rule: str,
) -> None:
    client = make_client()
    token = _invite(store, clock, "mia.jensen@kestrel.example")
    answer = client.post("/auth/public/accept-invite", json={"token": token, "password": password})
    assert answer.status_code == 422, answer.text
    [problem] = answer.json()["errors"]
    assert problem["field"] == "password"
    assert rule in problem["rule"] or rule in problem["msg"]
    assert password not in answer.text or password.strip() == ""  # never echoed back
    with store.read() as conn:
        assert user_by_email(conn, "mia.jensen@kestrel.example") is None
    # The invite is still good for a good password.
    answer = client.post(
        "/auth/public/accept-invite",
        json={"token": token, "password": "fjords are deep and long"},
    )
    assert answer.status_code == 201, answer.text


def test_the_openapi_document_shows_the_password_bounds(
    make_client: Callable[[], TestClient],
) -> None:
    schemas = make_client().get("/openapi.json").json()["components"]["schemas"]
    password = schemas["AcceptInvite"]["properties"]["password"]
    assert (password["minLength"], password["maxLength"]) == (12, 128)
    assert "most common" in password["description"]
    assert schemas["Credentials"]["properties"]["password"]["maxLength"] == 128


# -- password change, sign-out everywhere, deactivation -------------------------------


def test_a_password_change_ends_every_token_and_answers_a_new_one(
    store: Store, make_client: Callable[[], TestClient], clock: Clock
) -> None:
    client = make_client()
    alpha = provision(store, client, "Alpha Trading", "bidder", EICS[1])
    second = _login(client, alpha.email, PASSWORD).json()["access_token"]

    wrong = client.post(
        "/auth/password",
        headers=alpha.headers,
        json={"current_password": "not my password", "new_password": "a fresh long passphrase"},
    )
    assert wrong.status_code == 422, wrong.text
    assert wrong.json()["errors"][0]["field"] == "current_password"
    weak = client.post(
        "/auth/password",
        headers=alpha.headers,
        json={"current_password": PASSWORD, "new_password": "alpha.trading1"},
    )
    assert weak.status_code == 422, weak.text
    assert weak.json()["errors"][0]["field"] == "new_password"
    assert client.get("/auth/me", headers=alpha.headers).status_code == 200, "nothing changed"

    # In the same instant of the app's clock as the old tokens were issued.
    answer = client.post(
        "/auth/password",
        headers=alpha.headers,
        json={"current_password": PASSWORD, "new_password": "a fresh long passphrase"},
    )
    assert answer.status_code == 200, answer.text
    new = answer.json()["access_token"]
    for old in (alpha.token, second):
        assert client.get("/auth/me", headers=_bearer(old)).status_code == 401
    assert client.get("/auth/me", headers=_bearer(new)).status_code == 200
    assert _login(client, alpha.email, PASSWORD).status_code == 401
    assert _login(client, alpha.email, "a fresh long passphrase").status_code == 200
    with store.read() as conn:
        assert [e["action"] for e in events(conn, "user/")][-1] == "user.password_change"


def test_sign_out_everywhere_ends_every_token(
    store: Store, make_client: Callable[[], TestClient]
) -> None:
    client = make_client()
    alpha = provision(store, client, "Alpha Trading", "bidder", EICS[1])
    second = _login(client, alpha.email, PASSWORD).json()["access_token"]
    assert client.post("/auth/logout-all", headers=_bearer(second)).status_code == 204
    for token in (alpha.token, second):
        assert client.get("/auth/me", headers=_bearer(token)).status_code == 401
    again = _login(client, alpha.email, PASSWORD).json()["access_token"]
    assert client.get("/auth/me", headers=_bearer(again)).status_code == 200


def test_a_deactivated_user_cannot_sign_in_and_its_tokens_end(
    store: Store, make_client: Callable[[], TestClient]
) -> None:
    client = make_client()
    operator = provision(store, client, "Operator", "operator")
    alpha = provision(store, client, "Alpha Trading", "bidder", EICS[1])
    users = client.get(f"/admin/organisations/{alpha.org_id}/users", headers=operator.headers)
    assert users.status_code == 200, users.text
    [user] = users.json()["items"]
    assert user["active"] is True

    answer = client.post(f"/admin/users/{user['user_id']}/deactivate", headers=operator.headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["active"] is False
    assert client.get("/auth/me", headers=alpha.headers).status_code == 401
    refused = _login(client, alpha.email, PASSWORD)
    wrong = _login(client, alpha.email, "not the password at all")
    # The same answer but for the request's own id.
    assert (refused.status_code, {**refused.json(), "request_id": ""}) == (
        wrong.status_code,
        {**wrong.json(), "request_id": ""},
    )
    assert refused.status_code == 401

    answer = client.post(f"/admin/users/{user['user_id']}/reactivate", headers=operator.headers)
    assert answer.status_code == 200, answer.text
    assert client.get("/auth/me", headers=alpha.headers).status_code == 401, "stays ended"
    assert _login(client, alpha.email, PASSWORD).status_code == 200

    me = client.get("/auth/me", headers=operator.headers).json()
    myself = client.post(f"/admin/users/{me['user_id']}/deactivate", headers=operator.headers)
    assert myself.status_code == 409, myself.text
    unknown = client.post("/admin/users/no-such-user/deactivate", headers=operator.headers)
    assert unknown.status_code == 404
    with store.read() as conn:
        actions = [e["action"] for e in events(conn, "user/")]
    assert actions[-2:] == ["user.deactivate", "user.reactivate"]


def test_a_revoked_invite_gets_the_answer_of_an_unknown_one(
    store: Store, make_client: Callable[[], TestClient]
) -> None:
    client = make_client()
    operator = provision(store, client, "Operator", "operator")
    alpha = provision(store, client, "Alpha Trading", "bidder", EICS[1])
    made = client.post(
        "/admin/invites",
        headers=operator.headers,
        json={"email": "new.trader@example.com", "org_id": alpha.org_id},
    )
    assert made.status_code == 201, made.text
    invite_id, token = made.json()["invite_id"], made.json()["token"]
    listed = client.get(f"/admin/invites?org_id={alpha.org_id}", headers=operator.headers).json()[
        "items"
    ]
    mine = next(i for i in listed if i["invite_id"] == invite_id)
    assert mine["status"] == "pending"
    assert token not in str(listed)

    assert client.delete(f"/admin/invites/{invite_id}", headers=operator.headers).status_code == 204
    assert client.delete(f"/admin/invites/{invite_id}", headers=operator.headers).status_code == 204
    body = {"password": "fjords are deep and long"}
    revoked = client.post("/auth/public/accept-invite", json={"token": token, **body})
    unknown = client.post("/auth/public/accept-invite", json={"token": "no-such-token", **body})
    assert revoked.status_code == 422
    assert {**revoked.json(), "request_id": ""} == {**unknown.json(), "request_id": ""}
    listed = client.get(f"/admin/invites?org_id={alpha.org_id}", headers=operator.headers).json()[
        "items"
    ]
    assert next(i for i in listed if i["invite_id"] == invite_id)["status"] == "revoked"
    # An accepted invite cannot be revoked (deactivate the user instead).
    accepted = next(i for i in listed if i["status"] == "accepted")
    gone = client.delete(f"/admin/invites/{accepted['invite_id']}", headers=operator.headers)
    assert gone.status_code == 409
    with store.read() as conn:
        assert [e["action"] for e in events(conn, "invite/")] == ["invite.revoke"]


# -- the sign-in throttle ---------------------------------------------------------------


def test_a_hundred_wrong_passwords_then_the_right_one_are_throttled(
    store: Store, make_client: Callable[[], TestClient], clock: Clock
) -> None:
    client = make_client()
    alpha = provision(store, client, "Alpha Trading", "bidder", EICS[1])
    statuses = [_login(client, alpha.email, f"wrong guess {i:04d}").status_code for i in range(100)]
    # Five free failures, then every attempt waits (the password is not looked at).
    assert statuses == [401] * 5 + [429] * 95
    right = _login(client, alpha.email, PASSWORD)
    assert right.status_code == 429, right.text
    assert right.headers["Retry-After"] == "1"
    assert right.json()["retry_after_s"] == 1
    assert "retry_at" in right.json()
    clock.advance(seconds=1)
    assert _login(client, alpha.email, PASSWORD).status_code == 200


def test_the_delays_grow_and_an_attackers_address_cannot_lock_the_user_out_for_long(
    store: Store, client_with: MakeClient, clock: Clock
) -> None:
    """Failures from the attacker's address: its own block grows to 15 minutes, the
    account's stops at 60 s, so the real user elsewhere waits a minute at most."""
    client = client_with(trust_forwarded_for=True)
    alpha = provision(store, client, "Alpha Trading", "bidder", EICS[1])
    waits = []
    for i in range(20):
        answer = _login(client, alpha.email, f"wrong guess {i:04d}", address="203.0.113.66")
        assert answer.status_code == 401, answer.text
        if i < 4:  # five failures are free
            continue
        blocked = _login(client, alpha.email, PASSWORD, address="203.0.113.66")
        assert blocked.status_code == 429, blocked.text
        waits.append(int(blocked.headers["Retry-After"]))
        clock.advance(seconds=waits[-1])
    assert waits == [1, 2, 4, 8, 16, 32, 64, 128, 256, 512] + [900] * 6

    # One more failure: the address waits 15 min, the account 60 s.
    assert _login(client, alpha.email, "wrong guess", address="203.0.113.66").status_code == 401
    user = _login(client, alpha.email, PASSWORD, address="198.51.100.7")
    assert user.status_code == 429
    assert user.headers["Retry-After"] == "60"
    clock.advance(seconds=60)
    assert _login(client, alpha.email, PASSWORD, address="198.51.100.7").status_code == 200
    attacker = _login(client, alpha.email, PASSWORD, address="203.0.113.66")
    assert attacker.status_code == 429
    assert int(attacker.headers["Retry-After"]) == 900 - 60


def test_the_client_address_is_the_peer_unless_the_proxy_is_trusted(
    store: Store, client_with: MakeClient
) -> None:
    """Without the setting, X-Forwarded-For is the client's to forge: it is ignored."""
    client = client_with()
    for i in range(5):
        address = f"192.0.2.{i}"
        answer = _login(client, f"nobody{i}@example.com", "wrong password", address=address)
        assert answer.status_code == 401
    answer = _login(client, "nobody.else@example.com", "wrong password", address="192.0.2.99")
    assert answer.status_code == 429, "all from the one peer: its address is throttled"


def test_the_throttle_holds_across_a_restart(
    store: Store, client_with: MakeClient, clock: Clock
) -> None:
    first = client_with()
    alpha = provision(store, first, "Alpha Trading", "bidder", EICS[1])
    for i in range(5):
        assert _login(first, alpha.email, f"wrong guess {i}").status_code == 401
    restarted = client_with()
    assert _login(restarted, alpha.email, PASSWORD).status_code == 429
    clock.advance(seconds=1)
    assert _login(restarted, alpha.email, PASSWORD).status_code == 200


def test_a_throttled_sign_in_page_says_how_long_to_wait(
    store: Store, make_client: Callable[[], TestClient]
) -> None:
    client = make_client()
    alpha = provision(store, client, "Alpha Trading", "bidder", EICS[1])
    form = {"email": alpha.email, "password": "wrong password here"}
    same_origin = {"Sec-Fetch-Site": "same-origin"}
    for _ in range(5):
        assert client.post("/ui/login", data=form, headers=same_origin).status_code == 401
    page = client.post(
        "/ui/login",
        data={**form, "password": PASSWORD},
        headers=same_origin,
        follow_redirects=False,
    )
    assert page.status_code == 429
    assert page.headers["Retry-After"] == "1"
    assert "Too many failed sign-ins. Try again in 1 s." in page.text


# -- the write limit per organisation -------------------------------------------------------


def test_writes_beyond_the_organisations_rate_get_429(
    store: Store, client_with: MakeClient, clock: Clock
) -> None:
    client = client_with(org_writes_per_s=2, org_write_burst=3)
    operator = provision(store, client, "Operator", "operator")
    alpha = provision(store, client, "Alpha Trading", "bidder", EICS[1])
    beta = provision(store, client, "Beta Flex", "bidder", EICS[2])

    def write(account: Account) -> Any:
        return client.post("/auth/logout-all", headers=account.headers)

    def renew(account: Account) -> Account:
        token = _login(client, account.email, PASSWORD).json()["access_token"]
        return Account(account.org_id, account.email, token)

    statuses = []
    for _ in range(4):
        answer = write(alpha)
        statuses.append(answer.status_code)
        if answer.status_code == 204:
            alpha = renew(alpha)
    assert statuses == [204, 204, 204, 429]
    assert answer.headers["Retry-After"] == "1"
    # Reads are not limited, nor is another organisation.
    assert client.get("/auth/me", headers=alpha.headers).status_code == 200
    assert write(beta).status_code == 204
    body = {"name": "Gamma", "eic": EICS[3]}
    assert (
        client.post("/admin/organisations", headers=operator.headers, json=body).status_code == 201
    )
    clock.advance(seconds=1)  # two writes back
    assert write(alpha).status_code == 204


def test_the_account_page_changes_the_password_and_signs_out_everywhere(
    store: Store, make_client: Callable[[], TestClient]
) -> None:
    client = make_client()
    alpha = provision(store, client, "Alpha Trading", "bidder", EICS[1])
    same_origin = {"Sec-Fetch-Site": "same-origin"}
    signed_in = client.post(
        "/ui/login",
        data={"email": alpha.email, "password": PASSWORD},
        headers=same_origin,
        follow_redirects=False,
    )
    assert signed_in.status_code == 303, signed_in.text
    form = {
        "current_password": PASSWORD,
        "new_password": "a fresh long passphrase",
        "new_password_again": "a fresh long passphrase!",
    }
    differ = client.post("/ui/account/password", data=form, headers=same_origin)
    assert differ.status_code == 422
    assert "the two new passwords differ" in differ.text
    weak = {**form, "new_password": "qwerty123456", "new_password_again": "qwerty123456"}
    refused = client.post("/ui/account/password", data=weak, headers=same_origin)
    assert refused.status_code == 422
    assert "most common passwords" in refused.text

    form["new_password_again"] = form["new_password"]
    changed = client.post(
        "/ui/account/password", data=form, headers=same_origin, follow_redirects=False
    )
    assert changed.status_code == 303, changed.text
    # The browser's session goes on, with the new token.
    page = client.get(changed.headers["location"])
    assert "Your password was changed" in page.text
    assert client.get("/auth/me", headers=alpha.headers).status_code == 401

    out = client.post("/ui/account/logout-all", headers=same_origin, follow_redirects=False)
    assert out.status_code == 303
    assert out.headers["location"].startswith("/ui/login")
    assert client.get("/ui/account", follow_redirects=False).status_code == 303
