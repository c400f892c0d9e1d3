"""Passwords (argon2) and access tokens (JWT, HS256, with an expiry)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from auction.store.accounts import User

ALGORITHM = "HS256"
_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


@cache
def _dummy_hash() -> str:
    return _hasher.hash("a password nobody has")


def verify_password(password: str, stored: str | None) -> bool:
    """Whether ``password`` matches; an unknown user costs the same time as a wrong password."""
    try:
        return _hasher.verify(stored or _dummy_hash(), password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True, slots=True)
class TokenClaims:
    user_id: str
    env: str
    # The user's token generation when it was issued: a later one ends it.
    generation: int = 0


def create_token(
    user_id: str, env: str, key: str, now: datetime, minutes: int, generation: int = 0
) -> tuple[str, datetime]:
    expires = now + timedelta(minutes=minutes)
    claims = {"sub": user_id, "env": env, "iat": now, "exp": expires, "gen": generation}
    return jwt.encode(claims, key, algorithm=ALGORITHM), expires


def read_token(token: str, env: str, key: str, now: datetime) -> TokenClaims | None:
    """The claims of a valid token of this environment, unexpired at ``now``, else None."""
    try:
        # Expiry is judged against the server's clock (``now``), not the library's.
        claims = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            options={"require": ["exp", "sub"], "verify_exp": False, "verify_iat": False},
        )
    except jwt.PyJWTError:
        return None
    if claims.get("env") != env or not now.timestamp() < float(claims["exp"]):
        return None
    # Tokens from before generations existed carry none: generation 0, like their users.
    generation = claims.get("gen", 0)
    if type(generation) is not int:
        return None
    return TokenClaims(str(claims["sub"]), env, generation)


def still_valid(claims: TokenClaims, user: User | None) -> User | None:
    """The token's user, if it still exists, is active and has not ended the token's
    generation (a password change, a sign-out everywhere, a deactivation)."""
    if user is None or not user.active or user.token_generation != claims.generation:
        return None
    return user
