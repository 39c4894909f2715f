"""Password hashing (Argon2) and short-lived JWT access tokens."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from mutua.auth.roles import STAFF_ROLES, Role
from mutua.dates import utcnow
from mutua.errors import Forbidden, Unauthorized

_hasher = PasswordHasher()
ALGORITHM = "HS256"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


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
            raise Forbidden(f"role {self.role} may not do this")


SYSTEM = Principal(user_id=0, username="system", role=Role.ADMIN)


def issue_token(principal: Principal, *, secret: str, minutes: int) -> str:
    now = utcnow()
    claims = {
        "sub": str(principal.user_id),
        "usr": principal.username,
        "role": principal.role.value,
        "mid": principal.member_id,
        "iat": now,
        "exp": now + timedelta(minutes=minutes),
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def read_token(token: str, *, secret: str) -> Principal:
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM])
        return Principal(
            user_id=int(claims["sub"]),
            username=claims["usr"],
            role=Role(claims["role"]),
            member_id=claims.get("mid"),
        )
    except jwt.ExpiredSignatureError:
        raise Unauthorized("token expired") from None
    except (jwt.InvalidTokenError, KeyError, ValueError):
        raise Unauthorized("invalid token") from None
