"""Invitations by email: the mail server of ``VBA_SMTP_URL``, the letter, and sending it.

Only the standard library (``smtplib``, ``email``). Sending happens after the invite's
transaction has committed and never raises: a mail server that is down or refuses the
letter gives a ``Delivery`` saying why, and the invite stands (the operator passes its link
on, or invites again, which replaces it).
"""

from __future__ import annotations

import html
import smtplib
import ssl
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import parseaddr
from typing import Literal
from urllib.parse import quote, unquote, urlsplit
from zoneinfo import ZoneInfo

BERLIN = ZoneInfo("Europe/Berlin")
# A mail server that answers nothing must not hold the operator's request for long.
SEND_TIMEOUT_S = 15.0
# smtp: plain (a relay on this host or network); smtp+starttls: upgraded on the
# submission port; smtps: TLS from the first byte.
_SCHEMES: dict[str, tuple[Literal["plain", "starttls", "tls"], int]] = {
    "smtp": ("plain", 25),
    "smtp+starttls": ("starttls", 587),
    "smtps": ("tls", 465),
}
SMTP_URL_FORM = "smtp://host[:port], smtp+starttls://[user:password@]host[:port] or smtps://..."


@dataclass(frozen=True, slots=True)
class MailServer:
    """Where invitations are sent from, parsed from ``VBA_SMTP_URL``."""

    host: str
    port: int
    security: Literal["plain", "starttls", "tls"]
    username: str = ""
    password: str = field(default="", repr=False)


def mail_server(url: str) -> MailServer:
    """``VBA_SMTP_URL`` as a ``MailServer``; ``ValueError`` says what is wrong with it."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:  # a port that is not a number or out of range
        raise ValueError(f"VBA_SMTP_URL is not a valid URL ({exc}); use {SMTP_URL_FORM}") from None
    scheme = parts.scheme.lower()
    if scheme not in _SCHEMES:
        raise ValueError(
            f"VBA_SMTP_URL must start with smtp://, smtp+starttls:// or smtps://, "
            f"not {scheme + '://' if scheme else 'nothing'}; use {SMTP_URL_FORM}"
        )
    if not parts.hostname:
        raise ValueError(f"VBA_SMTP_URL names no host; use {SMTP_URL_FORM}")
    if parts.path not in {"", "/"} or parts.query or parts.fragment:
        raise ValueError(f"VBA_SMTP_URL has no path, query or fragment; use {SMTP_URL_FORM}")
    security, default_port = _SCHEMES[scheme]
    username, password = unquote(parts.username or ""), unquote(parts.password or "")
    if username and security == "plain":
        raise ValueError(
            "VBA_SMTP_URL has a user and password over plain smtp://, which would send the "
            "password unencrypted; use smtp+starttls:// or smtps://"
        )
    return MailServer(parts.hostname, port or default_port, security, username, password)


def check_sender(sender: str) -> str:
    """``VBA_SMTP_FROM``: one address, with or without a name (``Market <m@example.com>``)."""
    _, address = parseaddr(sender)
    if "@" not in address or any(ch in sender for ch in "\r\n"):
        raise ValueError(
            f"VBA_SMTP_FROM must be one email address, such as "
            f"'VBA market <market@example.com>', not {sender!r}"
        )
    return sender


def invite_link(public_url: str, token: str) -> str:
    """The accept page with the token in the fragment: a browser never sends a fragment to
    a server, so the token stays out of access logs (ours and any proxy's) and Referer
    headers; the page's script moves it into the form."""
    return f"{public_url.rstrip('/')}/ui/accept-invite#token={quote(token, safe='')}"


@dataclass(frozen=True, slots=True)
class Invitation:
    """What the letter says: who is invited where, by whom, until when, and the link."""

    email: str
    org_name: str
    role: str
    environment: str
    inviter: str
    link: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Delivery:
    """What became of the letter: ``sent``, ``failed`` (``detail`` says why) or ``off``
    (no ``VBA_SMTP_URL``: the operator passes the link on)."""

    status: Literal["sent", "failed", "off"]
    detail: str


def _expiry(instant: datetime) -> str:
    local = instant.astimezone(BERLIN)
    return (
        f"{local:%d %b %Y %H:%M} Europe/Berlin time ({instant.astimezone(UTC):%Y-%m-%d %H:%M} UTC)"
    )


def compose_invite(invitation: Invitation, sender: str) -> EmailMessage:
    """The letter: plain text, and the same in simple HTML."""
    i = invitation
    expires = _expiry(i.expires_at)
    message = EmailMessage()
    message["Subject"] = f"Invitation to {i.org_name}: virtual battery auctions, {i.environment}"
    message["From"] = sender
    message["To"] = Address(addr_spec=i.email)
    text = (
        f"Hello,\n\n{i.inviter} invited you to join {i.org_name} as {i.role} on the virtual "
        f"battery auctions, {i.environment} environment.\n\n"
        f"Open this link to choose your password; you are then signed in:\n\n{i.link}\n\n"
        f"The link works once, until {expires}. If it has expired, ask your operator for a "
        f"new invitation. If you did not expect this email, ignore it.\n"
    )
    message.set_content(text)
    e = html.escape
    body = (
        f"<p>Hello,</p>\n<p>{e(i.inviter)} invited you to join <strong>{e(i.org_name)}</strong> "
        f"as <strong>{e(i.role)}</strong> on the virtual battery auctions, "
        f"<strong>{e(i.environment)}</strong> environment.</p>\n"
        f'<p><a href="{e(i.link)}">Choose your password</a>; you are then signed in.</p>\n'
        f"<p>The link works once, until {e(expires)}. If it has expired, ask your operator "
        f"for a new invitation. If you did not expect this email, ignore it.</p>\n"
        f"<p>The link, to copy: {e(i.link)}</p>\n"
    )
    message.add_alternative(
        f"<!doctype html>\n<html><body>\n{body}</body></html>\n", subtype="html"
    )
    return message


def send(server: MailServer, message: EmailMessage, recipient: str) -> None:
    """Hand ``message`` to the mail server for ``recipient`` alone (the envelope never
    takes its recipients from the headers)."""
    context = ssl.create_default_context()
    smtp: smtplib.SMTP
    if server.security == "tls":
        smtp = smtplib.SMTP_SSL(server.host, server.port, timeout=SEND_TIMEOUT_S, context=context)
    else:
        smtp = smtplib.SMTP(server.host, server.port, timeout=SEND_TIMEOUT_S)
    with smtp:
        if server.security == "starttls":
            smtp.starttls(context=context)
        if server.username:
            smtp.login(server.username, server.password)
        smtp.send_message(message, to_addrs=[recipient])


def _reason(exc: Exception, server: MailServer) -> str:
    """One sentence for the operator; never the server's password."""
    where = f"{server.host}:{server.port}"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return f"the mail server {where} refused the recipient: {_codes(exc.recipients)}"
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return f"the mail server {where} refused the sender {exc.sender}: {exc.smtp_error!r}"
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return f"the mail server {where} refused the user and password of VBA_SMTP_URL"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"the mail server {where} answered {exc.smtp_code} {exc.smtp_error!r}"
    if isinstance(exc, smtplib.SMTPException | ssl.SSLError):
        return f"sending through the mail server {where} failed: {exc}"
    if isinstance(exc, OSError):
        return f"could not reach the mail server {where}: {exc.strerror or exc}"
    return f"the invitation could not be written as an email: {exc}"


def _codes(recipients: dict[str, tuple[int, bytes]]) -> str:
    return "; ".join(f"{to} ({code} {text!r})" for to, (code, text) in recipients.items())


def send_invite(server: MailServer | None, sender: str, invitation: Invitation) -> Delivery:
    """Email ``invitation`` if a mail server is set; never raises."""
    if server is None:
        return Delivery(
            "off", "no mail server is set (VBA_SMTP_URL): send the invite link yourself"
        )
    try:
        send(server, compose_invite(invitation, sender), invitation.email)
    except (OSError, ValueError, HeaderParseError) as exc:  # SMTPException is an OSError
        return Delivery("failed", _reason(exc, server))
    return Delivery("sent", f"emailed to {invitation.email}")
