"""Bodies of /auth and /admin."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from api.http.schemas.fields import Eic, Email, Key, Login, Name, UtcInstant
from auction.accounts import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from auction.model import TENNET_DE

PASSWORD_RULES = (
    f"{MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters, not only blanks, not one of "
    "the 10,000 most common passwords (nor one with digits or symbols around it), not one "
    "character or short part repeated, not a run of the alphabet, the digits or a keyboard "
    "row, not your email, its name part or your organisation's name"
)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AcceptInvite(Strict):
    # Looked up by its SHA-256: a Key's limits keep what cannot be UTF-8 (an unpaired
    # surrogate) and what no token is (NUL, 10 kB) from reaching the hash.
    token: Key = Field(description="the token of the invitation")
    password: str = Field(
        min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH, description=PASSWORD_RULES
    )


class Credentials(Strict):
    username: Login = Field(description="your email address", examples=["trader@example.com"])
    # The bound refuses a huge "password" before argon2 spends time on it.
    password: str = Field(max_length=MAX_PASSWORD_LENGTH)


class PasswordChange(Strict):
    current_password: str = Field(max_length=MAX_PASSWORD_LENGTH)
    new_password: str = Field(
        min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH, description=PASSWORD_RULES
    )


class AccessToken(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the scheme, not a secret
    expires_at: UtcInstant


class Me(BaseModel):
    user_id: str
    email: str
    role: Literal["bidder", "operator"]
    org_id: str = Field(description="use it in /organisations/{orgId}/... paths")
    org_name: str
    environment: Literal["sandbox", "production"]


class OrganisationCreate(Strict):
    name: Name
    eic: Eic = Field(
        description="EIC of the organisation's balancing group (check character validated)"
    )
    tso_zone: Eic = Field(default=TENNET_DE, description="EIC of the TSO control area")


class OrganisationPublic(BaseModel):
    org_id: str
    name: str
    eic: str
    tso_zone: str


class InviteCreate(Strict):
    email: Email
    org_id: Key
    role: Literal["bidder", "operator"] = "bidder"


class InviteDelivery(BaseModel):
    status: Literal["sent", "failed", "off"] = Field(
        description="sent: emailed; failed: the mail server did not take it (detail says "
        "why; the invite stands: pass the link on, or invite again, which replaces it); "
        "off: no VBA_SMTP_URL, pass the link on"
    )
    detail: str


class InviteCreated(BaseModel):
    invite_id: str = Field(description="to list or revoke the invite under /admin/invites")
    email: str
    org_id: str
    role: str
    token: str = Field(description="give it to the user; it works once")
    invite_url: str = Field(
        description="the accept page with the token: the person opens it, chooses a "
        "password and is signed in; shown once, like the token"
    )
    expires_at: UtcInstant
    delivery: InviteDelivery = Field(description="whether the invitation was emailed")


class InvitePublic(BaseModel):
    invite_id: str
    email: str
    org_id: str
    role: str
    created_at: UtcInstant
    expires_at: UtcInstant
    status: Literal["pending", "accepted", "revoked", "expired"]


class UserPublic(BaseModel):
    user_id: str
    email: str
    org_id: str
    role: Literal["bidder", "operator"]
    active: bool = Field(description="false: deactivated, cannot sign in, no token works")
