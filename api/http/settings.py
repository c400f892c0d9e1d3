"""Server settings, from the environment (``VBA_*``)."""

from __future__ import annotations

import math
import os
import secrets
from collections import Counter
from collections.abc import Mapping
from datetime import time
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, Field

from api.services.mail import MailServer, check_sender, mail_server
from auction.store import DEFAULT_URL
from dispatch.ancillary.products import GateRules

MIN_SECRET_LENGTH = 32
# Production's secret must look random: its length times the Shannon entropy of its
# characters (bits per character, from how often each occurs) at least this. 32 'a's
# score 0, a sentence about 140-170, ``secrets.token_urlsafe(48)`` about 330.
MIN_SECRET_BITS = 128
MAKE_SECRET = 'python -c "import secrets; print(secrets.token_urlsafe(48))"'  # noqa: S105 - a command
# Where `vba admin invite` links point when VBA_PUBLIC_URL is not set: `vba serve`'s default.
LOCAL_URL = "http://127.0.0.1:8000"


def secret_bits(secret: str) -> float:
    """An estimate of the secret's entropy in bits: length × Shannon entropy per character.

    It cannot see patterns (``abcd…``), only repetition and a small alphabet; the rule is
    a floor against placeholders, not a proof of randomness.
    """
    n = len(secret)
    counts = Counter(secret).values()
    return -n * sum(c / n * math.log2(c / n) for c in counts) if n else 0.0


class SettingsError(RuntimeError):
    """The server must not start with these settings."""


_CHOICES = {
    "VBA_LOG_FORMAT": ("text", "json"),
    "VBA_LOG_LEVEL": ("debug", "info", "warning", "error"),
}


def _choice(name: str, value: str) -> str:
    """``value`` if it is one of the setting's choices (any case), else a clear error."""
    if value.strip().lower() not in _CHOICES[name]:
        raise ValueError(f"{name}={value!r} is not one of {', '.join(_CHOICES[name])}")
    return value.strip().lower()


def public_url_problem(url: str) -> str | None:
    """Why ``url`` cannot start the links people are sent, or None."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - parsing the port is the check
    except ValueError as exc:
        return f"VBA_PUBLIC_URL is not a valid URL ({exc})"
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return (
            f"VBA_PUBLIC_URL must be an http:// or https:// address with a host, such as "
            f"https://vba.example.com, not {url!r}"
        )
    if parts.query or parts.fragment or parts.username or parts.password:
        return f"VBA_PUBLIC_URL must have no user, query or fragment: {url!r}"
    return None


def _number(
    env: Mapping[str, str], name: str, default: str, kind: type[float] | type[int]
) -> float:
    """The setting ``name`` as a number of ``kind``; a ValueError names the setting."""
    value = env.get(name, default)
    try:
        return kind(value)
    except ValueError:
        raise ValueError(f"{name}={value!r} is not a number") from None


def _flag(value: str) -> bool:
    if value.strip().lower() not in {"0", "1", "true", "false", "yes", "no"}:
        raise ValueError(f"{value!r} is not a yes/no flag (1, 0, true, false, yes, no)")
    return value.strip().lower() in {"1", "true", "yes"}


class Settings(BaseModel):
    env: Literal["sandbox", "production"] = "sandbox"
    database_url: str = DEFAULT_URL
    secret_key: str = Field(default="", repr=False)
    token_minutes: int = Field(default=60, gt=0)
    invite_hours: int = Field(default=72, gt=0)
    # How often the server looks for gates to close and auctions to publish.
    tick_s: float = Field(default=1.0, gt=0)
    # A bid is judged at the instant it arrived: the scheduler seals the book this long
    # after the gate, so that bids that arrived in time but wait in a busy server (in any
    # worker) are still taken. Arrivals after the gate are refused meanwhile.
    gate_grace_s: float = Field(default=10.0, ge=0, le=300)
    # Gates of the TSO's markets for ancillary bids (Europe/Berlin): FCR and aFRR capacity
    # close on D-1 at these times, aFRR energy this many minutes before its quarter-hour.
    fcr_gate: time = time(8, 0)
    afrr_capacity_gate: time = time(9, 0)
    afrr_energy_gate_minutes: int = Field(default=25, ge=0, le=24 * 60)
    # The sign-in throttle keys on the client's address: the TCP peer, which behind a
    # reverse proxy is the proxy. Set only when every request comes through one proxy that
    # appends the client to X-Forwarded-For (its last entry is then the one to believe).
    trust_forwarded_for: bool = False
    # Writes per organisation (token bucket, per server process): far above any real
    # trader or the benchmarks, low enough that a runaway script cannot hog the server.
    org_writes_per_s: float = Field(default=500, gt=0)
    org_write_burst: int = Field(default=5000, ge=1)
    # Logs on stderr (api.http.logs): one line per request and per step of an auction's
    # life, as text for a person or as JSON lines for a log collector.
    log_format: Literal["text", "json"] = "text"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    # The bearer token Prometheus sends to GET /metrics; without one /metrics is off (a
    # 404): bid volumes and error rates are nobody's business but the operator's.
    metrics_token: str = Field(default="", repr=False)
    # The address people reach this server at (behind a proxy: the proxy's); invite links
    # start with it. Empty: the address a request came to (the CLI: LOCAL_URL).
    public_url: str = ""
    # Invitations are emailed through this server when set (api.services.mail's forms).
    smtp_url: str = Field(default="", repr=False)  # may hold a password
    smtp_from: str = ""

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, *, server: bool = True) -> Settings:
        """The settings of the environment, checked; ``server=False`` for a command that
        signs no tokens (``vba admin invite``): it needs no VBA_SECRET_KEY."""
        env = os.environ if environ is None else environ
        try:
            settings = cls(
                env=env.get("VBA_ENV", "sandbox"),
                database_url=env.get("VBA_DATABASE_URL", DEFAULT_URL),
                secret_key=env.get("VBA_SECRET_KEY", ""),
                token_minutes=_number(env, "VBA_TOKEN_MINUTES", "60", int),
                invite_hours=_number(env, "VBA_INVITE_HOURS", "72", int),
                gate_grace_s=_number(env, "VBA_GATE_GRACE_S", "10", float),
                fcr_gate=time.fromisoformat(env.get("VBA_FCR_GATE", "08:00")),
                afrr_capacity_gate=time.fromisoformat(env.get("VBA_AFRR_CAPACITY_GATE", "09:00")),
                afrr_energy_gate_minutes=_number(env, "VBA_AFRR_ENERGY_GATE_MINUTES", "25", int),
                trust_forwarded_for=_flag(env.get("VBA_TRUST_FORWARDED_FOR", "0")),
                org_writes_per_s=_number(env, "VBA_ORG_WRITES_PER_S", "500", float),
                org_write_burst=_number(env, "VBA_ORG_WRITE_BURST", "5000", int),
                log_format=_choice("VBA_LOG_FORMAT", env.get("VBA_LOG_FORMAT", "text")),
                log_level=_choice("VBA_LOG_LEVEL", env.get("VBA_LOG_LEVEL", "info")),
                metrics_token=env.get("VBA_METRICS_TOKEN", ""),
                public_url=env.get("VBA_PUBLIC_URL", "").strip(),
                smtp_url=env.get("VBA_SMTP_URL", "").strip(),
                smtp_from=env.get("VBA_SMTP_FROM", "").strip(),
            )
        except ValueError as exc:  # a number or a time that does not parse
            raise SettingsError(f"a VBA_* setting is not valid: {exc}") from None
        return settings.checked() if server else settings.checked_links()

    def mail_server(self) -> MailServer | None:
        """The mail server invitations go through, None without VBA_SMTP_URL."""
        return mail_server(self.smtp_url) if self.smtp_url else None

    def checked_links(self) -> Settings:
        """Refuse a public URL or a mail server that cannot work: at start, and for
        ``vba admin invite``, which needs no secret."""
        problem = public_url_problem(self.public_url) if self.public_url else None
        if problem:
            raise SettingsError(problem)
        if self.smtp_url:
            try:
                self.mail_server()
                check_sender(self.smtp_from)
            except ValueError as exc:
                raise SettingsError(str(exc)) from None
            if self.env == "production" and not self.public_url:
                # Else an email's link would start with whatever Host header came.
                raise SettingsError(
                    "VBA_SMTP_URL in production needs VBA_PUBLIC_URL (such as "
                    "https://vba.example.com): the links in invitation emails start with it"
                )
        return self.model_copy(update={"public_url": self.public_url.rstrip("/")})

    def gate_rules(self) -> GateRules:
        return GateRules(
            fcr_gate=self.fcr_gate,
            afrr_capacity_gate=self.afrr_capacity_gate,
            afrr_energy_gate_minutes=self.afrr_energy_gate_minutes,
        )

    def checked(self) -> Settings:
        """Refuse production without a random secret (the sandbox gets a random one), a
        short metrics token, and links or a mail server that cannot work."""
        if self.metrics_token and len(self.metrics_token) < MIN_SECRET_LENGTH:
            raise SettingsError(
                f"VBA_METRICS_TOKEN must have at least {MIN_SECRET_LENGTH} characters; "
                f"make one with {MAKE_SECRET}"
            )
        return self.checked_links()._checked_secret()

    def _checked_secret(self) -> Settings:
        if self.secret_key and len(self.secret_key) < MIN_SECRET_LENGTH:
            raise SettingsError(f"VBA_SECRET_KEY must have at least {MIN_SECRET_LENGTH} characters")
        if not self.secret_key:
            if self.env == "production":
                raise SettingsError(
                    "VBA_ENV=production needs VBA_SECRET_KEY (at least "
                    f"{MIN_SECRET_LENGTH} random characters): tokens are signed with it; "
                    f"make one with {MAKE_SECRET}"
                )
            # Sandbox: tokens signed with a per-process key stop working on restart.
            return self.model_copy(update={"secret_key": secrets.token_urlsafe(48)})
        if self.env == "production" and secret_bits(self.secret_key) < MIN_SECRET_BITS:
            raise SettingsError(
                f"VBA_SECRET_KEY is too predictable for production: about "
                f"{secret_bits(self.secret_key):.0f} bits of entropy (length × Shannon "
                f"entropy of its characters), at least {MIN_SECRET_BITS} needed; "
                f"make one with {MAKE_SECRET}"
            )
        return self
