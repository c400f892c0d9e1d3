"""Production refuses a secret an attacker could guess; the sandbox only wants it long."""

from __future__ import annotations

import secrets

import pytest

from api.http.settings import MIN_SECRET_BITS, Settings, SettingsError, secret_bits


def production(secret: str) -> dict[str, str]:
    return {"VBA_ENV": "production", "VBA_SECRET_KEY": secret}


@pytest.mark.parametrize(
    "weak",
    [
        "a" * 32,
        "a" * 64,
        "ab" * 16,
        "0123" * 10,
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab",
    ],
)
def test_production_refuses_a_secret_without_entropy(weak: str) -> None:
    with pytest.raises(SettingsError) as refused:
        Settings.from_env(production(weak))
    message = str(refused.value)
    assert "VBA_SECRET_KEY" in message
    assert f"at least {MIN_SECRET_BITS}" in message
    assert "secrets.token_urlsafe(48)" in message


@pytest.mark.parametrize(
    "strong", [secrets.token_urlsafe(48), secrets.token_urlsafe(32), secrets.token_hex(32)]
)
def test_production_takes_a_random_secret(strong: str) -> None:
    settings = Settings.from_env(production(strong))
    assert settings.secret_key == strong


def test_a_short_secret_is_refused_everywhere_and_the_sandbox_takes_a_long_one() -> None:
    with pytest.raises(SettingsError, match="at least 32 characters"):
        Settings.from_env({"VBA_SECRET_KEY": "short"})
    # The sandbox's tokens are no secret worth guessing: length is enough there.
    assert Settings.from_env({"VBA_SECRET_KEY": "a" * 32}).secret_key == "a" * 32


def test_the_estimate_counts_repetition_not_length() -> None:
    assert secret_bits("a" * 1000) == 0
    assert secret_bits("ab" * 16) == pytest.approx(32)
    assert secret_bits("") == 0


def test_the_gate_grace_is_read_and_bounded() -> None:
    assert Settings.from_env({}).gate_grace_s == 10
    assert Settings.from_env({"VBA_GATE_GRACE_S": "2.5"}).gate_grace_s == 2.5
    for bad in ("-1", "301", "nan", "soon"):
        with pytest.raises(SettingsError, match=r"VBA_GATE_GRACE_S|gate_grace_s"):
            Settings.from_env({"VBA_GATE_GRACE_S": bad})
