"""Invites that arrive: emailed through a real SMTP server (aiosmtpd, on a free port of
127.0.0.1) with a link to the accept page, which takes the token and signs the person in;
expired (the app's pinned clock moved, never the wall clock), revoked and replaced invites
refused like unknown ones; a mail server that is down leaves the invite standing and says
why; the settings that would send useless links refused at start; ``vba admin invite``."""

from __future__ import annotations

import os
import re
import socket
import ssl
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, Session
from fastapi.testclient import TestClient

from api.http.app import create_app
from api.http.settings import Settings, SettingsError
from api.services.mail import Invitation, invite_link, mail_server, send_invite
from auction.store import Store
from auction.store.audit import events
from tests.api.conftest import EICS, SECRET, Account, Clock, provision

ROOT = Path(__file__).resolve().parents[2]
PUBLIC = "https://vba.example.com"
SENDER = "VBA market <market@vba.example.com>"
NEW = "mia.jensen@kestrel.example"
PASSWORD = "fjords are deep and long"
ACCEPT = "/auth/public/accept-invite"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Inbox:
    """What the SMTP server received: each letter with its envelope."""

    def __init__(self) -> None:
        self.letters: list[tuple[Envelope, EmailMessage]] = []

    async def handle_DATA(self, _server: SMTP, _session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes)
        letter = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(letter, EmailMessage)
        self.letters.append((envelope, letter))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[str, Inbox]]:
    """A real SMTP server on 127.0.0.1: its smtp:// URL and its inbox."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield f"smtp://127.0.0.1:{port}", inbox
    finally:
        controller.stop()


MakeClient = Callable[..., TestClient]


@pytest.fixture
def client_with(store_url: str, clock: Clock) -> Iterator[MakeClient]:
    clients: list[TestClient] = []

    def make(**changes: Any) -> TestClient:
        # Tokens last a week of the test clock, which moves past invites' expiry.
        week = 7 * 24 * 60
        settings = Settings(
            database_url=store_url, secret_key=SECRET, token_minutes=week, **changes
        )
        client = TestClient(create_app(settings, clock=clock, scheduler=False))
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def _invite(client: TestClient, operator: Account, org_id: str, email: str = NEW) -> Any:
    answer = client.post(
        "/admin/invites", headers=operator.headers, json={"email": email, "org_id": org_id}
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


def _listed(client: TestClient, operator: Account) -> dict[str, str]:
    """invite_id -> status, whichever list shape the server answers."""
    body = client.get("/admin/invites", headers=operator.headers).json()
    items = body["items"] if isinstance(body, dict) else body
    return {i["invite_id"]: i["status"] for i in items}


def _accept_on_page(client: TestClient, token: str) -> Any:
    form = {"token": token, "password": PASSWORD, "password_again": PASSWORD}
    headers = {"Origin": "http://testserver"}
    return client.post("/ui/accept-invite", data=form, headers=headers, follow_redirects=False)


def test_the_invite_arrives_by_email_and_its_link_signs_the_person_in(
    store: Store, client_with: MakeClient, smtp: tuple[str, Inbox]
) -> None:
    smtp_url, inbox = smtp
    client = client_with(smtp_url=smtp_url, smtp_from=SENDER, public_url=PUBLIC)
    operator = provision(store, client, "Operator", "operator")
    kestrel = provision(store, client, "Kestrel Power", "bidder", EICS[1])

    made = _invite(client, operator, kestrel.org_id)
    token = made["token"]
    assert made["invite_url"] == f"{PUBLIC}/ui/accept-invite#token={token}"
    assert made["delivery"] == {"status": "sent", "detail": f"emailed to {NEW}"}
    assert made["expires_at"] in {"2026-11-29T12:00:00Z", "2026-11-29T12:00:00+00:00"}

    [(envelope, letter)] = inbox.letters
    assert envelope.rcpt_tos == [NEW]
    assert envelope.mail_from == "market@vba.example.com"
    assert letter["To"] == NEW
    assert letter["From"] == SENDER
    # (a long subject is folded onto a second line: compare what a mail reader shows)
    subject = str(letter["Subject"]).strip()
    assert subject == "Invitation to Kestrel Power: virtual battery auctions, sandbox"
    text = letter.get_body(("plain",))
    html = letter.get_body(("html",))
    assert text is not None
    assert html is not None
    for part in (text.get_content(), html.get_content()):
        assert made["invite_url"] in part
        assert "operator@example.com invited you" in part
        assert "29 Nov 2026 13:00 Europe/Berlin time (2026-11-29 12:00 UTC)" in part
    assert f'<a href="{made["invite_url"]}">' in html.get_content()

    # The token is kept only as its hash.
    with store.read() as conn:
        rows = conn.execute(sa.text("SELECT * FROM invites")).all()
    assert token not in str(rows)

    # Following the link: the browser asks for the page without the part after "#"; the
    # page has no token in it and sends no Referer; its script fills the hidden field
    # (tests/ui), here the form is sent as the script leaves it.
    link_path = made["invite_url"].removeprefix(PUBLIC).split("#")[0]
    page = client.get(link_path)
    assert page.status_code == 200
    assert token not in page.text
    assert "data-invite-form" in page.text
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert page.headers["Cache-Control"] == "no-store"
    accepted = _accept_on_page(client, token)
    assert accepted.status_code == 303, accepted.text
    assert accepted.headers["location"] == "/ui/"
    signed_in = client.get("/ui/", follow_redirects=True)
    assert signed_in.status_code == 200
    assert NEW in signed_in.text
    assert _listed(client, operator)[made["invite_id"]] == "accepted"
    # The password works for the API too, and the link works once.
    login = client.post("/auth/public/authenticate", json={"username": NEW, "password": PASSWORD})
    assert login.status_code == 200, login.text
    again = client.post(ACCEPT, json={"token": token, "password": PASSWORD})
    assert again.status_code == 422


def test_an_old_query_link_prefills_only_a_hidden_field(
    store: Store, client_with: MakeClient
) -> None:
    client = client_with()
    operator = provision(store, client, "Operator", "operator")
    token = _invite(client, operator, operator.org_id)["token"]
    page = client.get(f"/ui/accept-invite?token={token}")
    assert page.text.count(token) == 1
    assert f'<input type="hidden" name="token" value="{token}">' in page.text


def test_without_a_mail_server_the_operator_gets_the_link_to_this_server(
    store: Store, client_with: MakeClient, smtp: tuple[str, Inbox]
) -> None:
    client = client_with()
    operator = provision(store, client, "Operator", "operator")
    made = _invite(client, operator, operator.org_id)
    assert made["invite_url"] == f"http://testserver/ui/accept-invite#token={made['token']}"
    assert made["delivery"]["status"] == "off"
    assert "VBA_SMTP_URL" in made["delivery"]["detail"]
    assert smtp[1].letters == []


def _same_refusal(client: TestClient, token: str) -> None:
    """The answer of ``token`` is the answer of a token that never existed."""
    body = {"password": PASSWORD}
    refused = client.post(ACCEPT, json={"token": token, **body})
    unknown = client.post(ACCEPT, json={"token": "no-such-token", **body})
    assert refused.status_code == unknown.status_code == 422
    keep = ("detail", "errors", "title", "status")
    assert {k: refused.json().get(k) for k in keep} == {k: unknown.json().get(k) for k in keep}
    page = _accept_on_page(client, token)
    assert page.status_code == 422
    assert "the invite token is unknown, used or expired" in page.text


def test_an_expired_invite_is_refused_like_an_unknown_one(
    store: Store, client_with: MakeClient, clock: Clock
) -> None:
    client = client_with(invite_hours=2)
    operator = provision(store, client, "Operator", "operator")
    made = _invite(client, operator, operator.org_id)
    clock.advance(hours=2)  # expires_at is the first instant it no longer works
    _same_refusal(client, made["token"])
    assert _listed(client, operator)[made["invite_id"]] == "expired"


def test_a_revoked_invite_is_refused_like_an_unknown_one(
    store: Store, client_with: MakeClient
) -> None:
    client = client_with()
    operator = provision(store, client, "Operator", "operator")
    made = _invite(client, operator, operator.org_id)
    gone = client.delete(f"/admin/invites/{made['invite_id']}", headers=operator.headers)
    assert gone.status_code == 204
    _same_refusal(client, made["token"])
    assert _listed(client, operator)[made["invite_id"]] == "revoked"


def test_inviting_an_email_again_replaces_its_open_invite(
    store: Store, client_with: MakeClient
) -> None:
    client = client_with()
    operator = provision(store, client, "Operator", "operator")
    kestrel = provision(store, client, "Kestrel Power", "bidder", EICS[1])
    first = _invite(client, operator, kestrel.org_id)
    other = _invite(client, operator, kestrel.org_id, "someone.else@kestrel.example")
    second = _invite(client, operator, kestrel.org_id, NEW.upper())  # the same email
    statuses = _listed(client, operator)
    assert statuses[first["invite_id"]] == "revoked"
    assert statuses[second["invite_id"]] == "pending"
    assert statuses[other["invite_id"]] == "pending"  # another email's stays open
    _same_refusal(client, first["token"])
    assert client.post(ACCEPT, json={"token": second["token"], "password": PASSWORD}).is_success
    with store.read() as conn:
        [revoked] = events(conn, f"invite/{first['invite_id']}")
    assert revoked["action"] == "invite.revoke"
    assert "replaced_by" in str(revoked)
    assert second["invite_id"] in str(revoked)


def test_a_mail_server_that_is_down_leaves_the_invite_standing_and_says_why(
    store: Store, client_with: MakeClient
) -> None:
    port = free_port()  # nothing listens there
    client = client_with(smtp_url=f"smtp://127.0.0.1:{port}", smtp_from=SENDER)
    operator = provision(store, client, "Operator", "operator")
    made = _invite(client, operator, operator.org_id)
    assert made["delivery"]["status"] == "failed"
    assert made["delivery"]["detail"].startswith(
        f"could not reach the mail server 127.0.0.1:{port}: "
    )
    assert made["invite_url"].endswith(f"#token={made['token']}")
    assert _listed(client, operator)[made["invite_id"]] == "pending"
    # The operator passes the link on by hand: it works.
    assert client.post(ACCEPT, json={"token": made["token"], "password": PASSWORD}).is_success


def test_the_operator_page_says_whether_the_invite_was_emailed(
    store: Store, client_with: MakeClient, smtp: tuple[str, Inbox]
) -> None:
    smtp_url, inbox = smtp
    client = client_with(smtp_url=smtp_url, smtp_from=SENDER, public_url=PUBLIC)
    operator = provision(store, client, "Operator", "operator")
    login = client.post(
        "/ui/login",
        data={"email": operator.email, "password": "correct horse battery staple"},
        headers={"Origin": "http://testserver"},
        follow_redirects=False,
    )
    assert login.status_code == 303, login.text
    page = client.post(
        "/ui/operator/invites",
        data={"email": NEW, "org_id": operator.org_id, "role": "bidder"},
        headers={"Origin": "http://testserver"},
    )
    assert page.status_code == 201, page.text
    assert f"The invitation was emailed to {NEW}" in page.text
    [(_, letter)] = inbox.letters
    link = re.search(r"https://vba\.example\.com/ui/accept-invite#token=[\w-]+", page.text)
    assert link is not None
    body = letter.get_body(("plain",))
    assert body is not None
    assert link.group(0) in body.get_content()


# -- settings --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"VBA_PUBLIC_URL": "ftp://vba.example.com"}, "must be an http:// or https:// address"),
        ({"VBA_PUBLIC_URL": "vba.example.com"}, "must be an http:// or https:// address"),
        ({"VBA_PUBLIC_URL": "https://vba.example.com/?a=1"}, "no user, query or fragment"),
        ({"VBA_PUBLIC_URL": "https://vba.example.com:99999"}, "not a valid URL"),
        ({"VBA_SMTP_URL": "http://mail.example.com"}, "must start with smtp://"),
        ({"VBA_SMTP_URL": "smtp://", "VBA_SMTP_FROM": SENDER}, "names no host"),
        ({"VBA_SMTP_URL": "smtp://u:p@mail.example.com"}, "password unencrypted"),
        ({"VBA_SMTP_URL": "smtp://mail.example.com"}, "VBA_SMTP_FROM must be one email"),
        (
            {
                "VBA_ENV": "production",
                "VBA_SMTP_URL": "smtps://mail.example.com",
                "VBA_SMTP_FROM": SENDER,
            },
            "needs VBA_PUBLIC_URL",
        ),
    ],
)
def test_settings_that_would_send_useless_links_are_refused_at_start(
    env: dict[str, str], says: str
) -> None:
    with pytest.raises(SettingsError, match=re.escape(says)):
        Settings.from_env({"VBA_SECRET_KEY": SECRET, **env})


def test_the_mail_server_forms() -> None:
    plain = mail_server("smtp://relay.internal")
    assert (plain.host, plain.port, plain.security) == ("relay.internal", 25, "plain")
    starttls = mail_server("smtp+starttls://me%40x.example:p%2Fw@mail.example.com")
    assert (starttls.port, starttls.security) == (587, "starttls")
    assert (starttls.username, starttls.password) == ("me@x.example", "p/w")
    assert "p/w" not in repr(starttls)
    tls = mail_server("smtps://mail.example.com:2465")
    assert (tls.port, tls.security) == (2465, "tls")
    settings = Settings.from_env(
        {"VBA_SMTP_URL": "smtps://u:secret@mail.example.com", "VBA_SMTP_FROM": SENDER}
    )
    assert "secret" not in repr(settings)
    public = Settings.from_env({"VBA_PUBLIC_URL": "https://vba.example.com/"})
    assert invite_link(public.public_url, "t") == "https://vba.example.com/ui/accept-invite#token=t"


# -- vba admin invite -------------------------------------------------------------------


def _vba(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """This checkout's ``vba`` (not an installed one)."""
    return subprocess.run(
        [sys.executable, "-m", "api.cli.main", *args],
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT), **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        cwd=ROOT,
    )


def test_vba_admin_invite_prints_the_link_and_emails_it(
    tmp_path: Path, smtp: tuple[str, Inbox]
) -> None:
    smtp_url, inbox = smtp
    env = {"VBA_DATABASE_URL": f"sqlite:///{tmp_path / 'vba.db'}"}
    created = _vba("admin", "create-org", "Kestrel Power", "--eic", EICS[1], env=env)
    assert created.returncode == 0, created.stderr
    org_id = created.stdout.split()[-1]

    # No mail server: the link to vba serve's default address, the token last.
    plain = _vba("admin", "invite", NEW, "--org", org_id, env=env)
    assert plain.returncode == 0, plain.stderr
    token = plain.stdout.strip().splitlines()[-1]
    assert f"http://127.0.0.1:8000/ui/accept-invite#token={token}" in plain.stdout
    assert "send the invite link yourself" in plain.stdout

    # With one: emailed, with the public address; the first invite is replaced.
    mail_env = {**env, "VBA_SMTP_URL": smtp_url, "VBA_SMTP_FROM": SENDER, "VBA_PUBLIC_URL": PUBLIC}
    mailed = _vba("admin", "invite", NEW, "--org", org_id, env=mail_env)
    assert mailed.returncode == 0, mailed.stderr
    token = mailed.stdout.strip().splitlines()[-1]
    link = f"{PUBLIC}/ui/accept-invite#token={token}"
    assert link in mailed.stdout
    assert f"emailed to {NEW}" in mailed.stdout
    [(envelope, letter)] = inbox.letters
    assert envelope.rcpt_tos == [NEW]
    body = letter.get_body(("plain",))
    assert body is not None
    assert link in body.get_content()
    assert "The market operator invited you" in body.get_content()

    # A mail server that is down: exit 4, the reason, and the invite stands.
    down = {**mail_env, "VBA_SMTP_URL": f"smtp://127.0.0.1:{free_port()}"}
    failed = _vba("admin", "invite", NEW, "--org", org_id, env=down)
    assert failed.returncode == 4, failed.stderr
    assert "the email was not sent" in failed.stdout
    assert "could not reach the mail server" in failed.stdout
    assert failed.stdout.strip().splitlines()[-1] != token

    # A public address that is not http(s): refused before anything is written.
    bad = _vba("admin", "invite", NEW, "--org", org_id, env={**env, "VBA_PUBLIC_URL": "ftp://x"})
    assert bad.returncode == 2
    assert "VBA_PUBLIC_URL must be an http:// or https:// address" in bad.stdout + bad.stderr


# -- encrypted mail servers -------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (openssl), and its key."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )  # fmt: skip
    return cert, key


def _authenticate(
    _server: SMTP, _session: Session, _envelope: Envelope, _mechanism: str, data: Any
) -> AuthResult:
    def text(value: str | bytes) -> str:
        return value.decode() if isinstance(value, bytes) else value

    return AuthResult(success=(text(data.login), text(data.password)) == ("me@x.example", "p/w"))


LETTER = Invitation(
    NEW,
    "Kestrel Power",
    "bidder",
    "sandbox",
    "operator@example.com",
    invite_link(PUBLIC, "t"),
    datetime(2026, 11, 29, 12, tzinfo=UTC),
)


@pytest.mark.parametrize("scheme", ["smtp+starttls", "smtps"])
def test_encrypted_mail_servers_are_verified_and_signed_in_to(
    scheme: str, certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, key = certificate
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    inbox, port = Inbox(), free_port()
    options: dict[str, Any] = (
        {"tls_context": tls, "require_starttls": True, "auth_required": True}
        if scheme == "smtp+starttls"
        # aiosmtpd cannot tell that an ssl_context session is encrypted: it offers AUTH
        # only when told TLS is not needed (the authenticator still judges the login).
        else {"ssl_context": tls, "auth_require_tls": False}
    )
    controller = Controller(
        inbox, hostname="127.0.0.1", port=port, authenticator=_authenticate, **options
    )
    controller.start()
    try:
        url = f"{scheme}://me%40x.example:p%2Fw@127.0.0.1:{port}"
        # A certificate nobody vouches for is refused: the password never goes out.
        untrusted = send_invite(mail_server(url), SENDER, LETTER)
        assert untrusted.status == "failed"
        assert "certificate verify failed" in untrusted.detail
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))
        sent = send_invite(mail_server(url), SENDER, LETTER)
        assert sent.status == "sent", sent.detail
    finally:
        controller.stop()
    [(envelope, _)] = inbox.letters
    assert envelope.rcpt_tos == [NEW]
