"""Bodies of /auth and /admin."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from api.http.schemas.fields import Eic, Email, Key, Login, Name
from auction.model import TENNET_DE


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AcceptInvite(Strict):
    token: str = Field(description="the token of the invitation")
    password: str = Field(description="at least 12 characters")


class Credentials(Strict):
    username: Login = Field(description="your email address", examples=["trader@example.com"])
    password: str


class AccessToken(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the scheme, not a secret
    expires_at: datetime


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


class InviteCreated(BaseModel):
    email: str
    org_id: str
    role: str
    token: str = Field(description="give it to the user; it works once")
    expires_at: datetime
