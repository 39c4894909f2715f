"""Password hashing (Argon2) and short-lived JWT access tokens.

A token (and a page's session cookie) carries a stamp of the account's password: an HMAC,
under the signing key, of the stored Argon2 hash, as Django's session auth hash does. A
password change makes a new hash, so every token and cookie issued before it stops
matching and is refused on its next request (members.accounts.principal_now).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from mutua.auth.roles import STAFF_ROLES, Role
from mutua.dates import utcnow
from mutua.errors import Forbidden, Unauthorized

# argon2-cffi's defaults are RFC 9106's second recommended option (t=3, m=64 MiB, p=4);
# tests/unit/auth/test_password_cost.py holds them there.
_hasher = PasswordHasher()
ALGORITHM = "HS256"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@lru_cache(maxsize=1)
def dummy_hash() -> str:
    """A hash no password matches, verified when a login names no account: an unknown login
    then takes as long to refuse as a wrong password (an Argon2 verification either way), so
    the answer's timing does not say which logins exist."""
    return hash_password("no account has this password: it only spends the same time")


def credentials_stamp(password_hash: str, *, secret: str) -> str:
    """A short keyed digest of the stored password hash, carried in tokens and cookies."""
    digest = hmac.new(secret.encode(), b"mutua.credentials\x00" + password_hash.encode(),
                      hashlib.sha256)
    return digest.hexdigest()[:32]


@dataclass(frozen=True)
class Principal:
    """Who is acting: a staff user with a role, or a member."""

    user_id: int
    username: str
    role: Role
    member_id: int | None = None

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def is_member(self) -> bool:
        return self.role is Role.MEMBER

    def require_member_or_staff(self, member_id: int, *roles: Role) -> None:
        """A member may act on their own records; staff only with one of ``roles`` (or admin)."""
        if self.is_member:
            if self.member_id != member_id:
                raise Forbidden("this record belongs to another member")
            return
        if self.role is not Role.ADMIN and roles and self.role not in roles:
            raise Forbidden("role %(role)s may not do this", role=self.role)


SYSTEM = Principal(user_id=0, username="system", role=Role.ADMIN)


@dataclass(frozen=True)
class TokenClaims:
    """What a valid token says: who, with which role, and the stamp of their password."""

    principal: Principal
    stamp: str


REQUIRED_CLAIMS = ("sub", "usr", "role", "iat", "exp", "pwd")


def issue_token(principal: Principal, *, secret: str, minutes: int, stamp: str) -> str:
    now = utcnow()
    claims = {
        "sub": str(principal.user_id),
        "usr": principal.username,
        "role": principal.role.value,
        "mid": principal.member_id,
        "pwd": stamp,
        "iat": now,
        "exp": now + timedelta(minutes=minutes),
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def read_token(token: str, *, secret: str) -> TokenClaims:
    """The claims of a token signed with ``secret`` that carries exp and iat and has not
    expired; Unauthorized otherwise. Whether its account still stands is the caller's check."""
    try:
        claims, expires = _verified(token, secret)
    except jwt.ExpiredSignatureError:
        raise Unauthorized("token expired") from None
    except (jwt.InvalidTokenError, KeyError, ValueError, TypeError):
        raise Unauthorized("invalid token") from None
    if time.time() >= expires:  # as PyJWT judges exp, for a token verified before
        raise Unauthorized("token expired")
    return claims


@lru_cache(maxsize=4096)
def _verified(token: str, secret: str) -> tuple[TokenClaims, float]:
    """A token's claims and expiry, its signature checked once: a client sends the same
    token with every request, and decoding and verifying it again cost a tenth of a
    millisecond each time. Only a valid token is kept (lru_cache keeps no exception), so
    forged or random tokens are checked in full every time, as before."""
    claims = jwt.decode(token, secret, algorithms=[ALGORITHM],
                        options={"require": list(REQUIRED_CLAIMS)})
    mid = claims.get("mid")
    principal = Principal(user_id=int(claims["sub"]), username=str(claims["usr"]),
                          role=Role(claims["role"]), member_id=None if mid is None else int(mid))
    return TokenClaims(principal=principal, stamp=str(claims["pwd"])), float(claims["exp"])
