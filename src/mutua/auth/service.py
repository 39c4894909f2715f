"""Sign-in and accounts. Members sign in with their member number or phone; staff by username."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from mutua.audit import service as audit
from mutua.auth.models import LoginAttempt, User
from mutua.auth.roles import Role
from mutua.auth.security import (
    SYSTEM,
    Principal,
    hash_password,
    issue_token,
    verify_password,
)
from mutua.dates import utcnow
from mutua.errors import Conflict, Unauthorized, ValidationFailed
from mutua.settings import Settings


@dataclass(frozen=True)
class Access:
    principal: Principal
    token: str


class TooManyAttempts(Unauthorized):
    status_code = 429
    code = "too_many_attempts"


def principal_of(user: User) -> Principal:
    return Principal(user_id=user.id, username=user.username, role=Role(user.role),
                     member_id=user.member_id)


def staff_named(db: Session, username: str) -> Principal:
    """The active staff user an operator names on the command line (``--by``), to act and
    be audited as: steps that need a person (a second approver) cannot be the system."""
    user = db.scalar(select(User).where(User.username == (username or "").strip()))
    if user is None or not user.active or user.member_id is not None:
        raise ValidationFailed("by", f"{username!r} is not an active staff user")
    return principal_of(user)


def find_login(db: Session, login: str) -> User | None:
    """A user by username, or a member's account by member number or mobile phone."""
    from mutua.members.models import Member

    login = login.strip()
    user = db.scalar(select(User).where(User.username == login))
    if user is None:
        user = db.scalar(
            select(User).join(Member, Member.id == User.member_id).where(
                (Member.member_number == login) | (Member.phone == _phone_or_none(login))
            )
        )
    return user


def _phone_or_none(text: str) -> str | None:
    from mutua.members.phones import normalise_phone

    try:
        return normalise_phone(text)
    except ValidationFailed:
        return None


def check_password(db: Session, *, username: str, password: str, settings: Settings) -> User:
    """The active user with these credentials; failed attempts are counted and limited."""
    since = utcnow() - timedelta(minutes=1)
    recent_failures = db.scalar(
        select(func.count()).select_from(LoginAttempt).where(
            LoginAttempt.username == username, LoginAttempt.at >= since
        )
    )
    if recent_failures >= settings.login_attempts_per_minute:
        raise TooManyAttempts("too many failed sign-ins; wait a minute and try again")
    user = find_login(db, username)
    if user is None or not user.active or not verify_password(user.password_hash, password):
        _remember_failure(db, username, settings)
        raise Unauthorized("wrong username or password")
    return user


def _remember_failure(db: Session, username: str, settings: Settings) -> None:
    # Written in its own transaction: the caller's transaction rolls back on the error.
    from mutua.db import session_factory

    with session_factory(db.get_bind())() as s:
        s.add(LoginAttempt(username=username))
        s.execute(delete(LoginAttempt).where(LoginAttempt.at < utcnow() - timedelta(hours=1)))
        s.commit()


def authenticate(db: Session, *, username: str, password: str, settings: Settings) -> Access:
    user = check_password(db, username=username, password=password, settings=settings)
    principal = principal_of(user)
    token = issue_token(principal, secret=settings.secret_key,
                        minutes=settings.access_token_minutes)
    return Access(principal=principal, token=token)


def create_user(
    db: Session,
    *,
    username: str,
    password: str,
    role: Role,
    display_name: str | None = None,
    member_id: int | None = None,
    actor: Principal = SYSTEM,
    password_hash: str | None = None,
) -> User:
    """A staff account, or (role=member, member_id set) a member's login."""
    if not username or len(username) > 64:
        raise ValidationFailed("username", "must be 1 to 64 characters")
    if password_hash is None and len(password) < 8:
        raise ValidationFailed("password", "must be at least 8 characters")
    if (role is Role.MEMBER) != (member_id is not None):
        raise ValidationFailed("member_id", "is required for member logins and only for them")
    if db.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"username {username!r} is taken")
    user = User(
        username=username,
        display_name=display_name or username,
        password_hash=password_hash or hash_password(password),
        role=role.value,
        member_id=member_id,
    )
    db.add(user)
    db.flush()
    audit.record(db, actor=actor, action="user.create", entity="user", entity_id=user.id,
                 detail={"role": role.value})
    return user
