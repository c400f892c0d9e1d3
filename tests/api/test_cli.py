"""The operator's commands: vba admin create-org / invite, and vba serve's refusals."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

from fastapi.testclient import TestClient

from api.http.app import create_app
from api.http.settings import Settings
from tests.api.conftest import PASSWORD, SECRET

VBA = Path(sys.executable).with_name("vba")


def vba(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(VBA), *args],
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_create_org_and_invite_print_what_the_next_step_needs(tmp_path: Path) -> None:
    env = {"VBA_DATABASE_URL": f"sqlite:///{tmp_path / 'vba.db'}"}
    created = vba("admin", "create-org", "Kestrel Energy", "--eic", "10YDE-RWENET---I", env=env)
    assert created.returncode == 0, created.stderr
    org_id = created.stdout.strip().splitlines()[-1]
    uuid.UUID(org_id)
    invited = vba(
        "admin", "invite", "Trader@Kestrel.example", "--org", org_id, "--role", "bidder", env=env
    )
    assert invited.returncode == 0, invited.stderr
    token = invited.stdout.strip().splitlines()[-1]

    settings = Settings(database_url=env["VBA_DATABASE_URL"], secret_key=SECRET)
    with TestClient(create_app(settings, scheduler=False)) as client:
        accepted = client.post(
            "/auth/public/accept-invite", json={"token": token, "password": PASSWORD}
        )
        assert accepted.status_code == 201, accepted.text
        again = client.post(
            "/auth/public/accept-invite", json={"token": token, "password": PASSWORD}
        )
        assert again.status_code == 422
        login = client.post(
            "/auth/public/authenticate",
            json={"username": "trader@kestrel.example", "password": PASSWORD},
        )
        assert login.status_code == 200
        me = client.get(
            "/auth/me", headers={"Authorization": f"Bearer {login.json()['access_token']}"}
        )
        assert me.json()["org_id"] == org_id
        assert me.json()["org_name"] == "Kestrel Energy"
        assert me.headers["X-VBA-Environment"] == "sandbox"


def test_a_wrong_check_character_is_refused_and_nothing_is_created(tmp_path: Path) -> None:
    env = {"VBA_DATABASE_URL": f"sqlite:///{tmp_path / 'vba.db'}"}
    bad = vba("admin", "create-org", "Typo GmbH", "--eic", "10YDE-RWENET---J", env=env)
    assert bad.returncode == 2
    assert "check character is 'J', but should be 'I'" in bad.stderr
    good = vba("admin", "create-org", "Typo GmbH", "--eic", "10YDE-RWENET---I", env=env)
    assert good.returncode == 0, good.stderr


def test_wrong_password_and_unknown_user_get_the_same_answer(tmp_path: Path) -> None:
    env = {"VBA_DATABASE_URL": f"sqlite:///{tmp_path / 'vba.db'}"}
    org_id = vba("admin", "create-org", "A", "--eic", "10YDE-EON------1", env=env)
    invite = vba("admin", "invite", "a@a.example", "--org", org_id.stdout.split()[-1], env=env)
    settings = Settings(database_url=env["VBA_DATABASE_URL"], secret_key=SECRET)
    with TestClient(create_app(settings, scheduler=False)) as client:
        token = invite.stdout.split()[-1]
        client.post("/auth/public/accept-invite", json={"token": token, "password": PASSWORD})
        wrong = client.post(
            "/auth/public/authenticate", json={"username": "a@a.example", "password": "nope"}
        )
        unknown = client.post(
            "/auth/public/authenticate", json={"username": "b@a.example", "password": "nope"}
        )
    assert wrong.status_code == unknown.status_code == 401
    assert {**wrong.json(), "request_id": ""} == {**unknown.json(), "request_id": ""}


def test_production_refuses_to_start_without_a_secret(tmp_path: Path) -> None:
    env = {"VBA_ENV": "production", "VBA_DATABASE_URL": f"sqlite:///{tmp_path / 'vba.db'}"}
    refused = vba("serve", "--port", "1", env=env)
    assert refused.returncode == 2
    assert "VBA_SECRET_KEY" in refused.stdout
    short = vba("serve", "--port", "1", env={**env, "VBA_SECRET_KEY": "short"})
    assert short.returncode == 2
    assert "at least 32 characters" in short.stdout
