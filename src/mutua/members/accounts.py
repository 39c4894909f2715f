"""Sign-in and accounts. Members sign in with their member number or phone; staff by username."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.orm import Session

from mutua.audit import service as audit
from mutua.auth.models import LoginAttempt, User
from mutua.auth.roles import Role
from mutua.auth.security import (
    SYSTEM,
    Principal,
    credentials_stamp,
    dummy_hash,
    hash_password,
    issue_token,
    verify_password,
)
from mutua.dates import utcnow
from mutua.db import session_factory
from mutua.errors import Conflict, NotFound, Unauthorized, ValidationFailed, shown
from mutua.members.identifiers import canonical_text, member_number_or_none
from mutua.members.models import Member
from mutua.members.phones import normalise_phone
from mutua.settings import Settings


@dataclass(frozen=True)
class Access:
    principal: Principal
    token: str


MIN_PASSWORD_LENGTH, MAX_PASSWORD_LENGTH = 8, 128
MAX_LOGIN_LENGTH = 64
LIMIT_KEY_LENGTH = 80


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
        raise ValidationFailed("by", "%(user)s is not an active staff user", user=f"{username!r}")
    return principal_of(user)


def active_staff(db: Session, *, roles: tuple[Role, ...]) -> list[Principal]:
    """Active staff users with one of these roles, by name (e.g. whom a claim may go to)."""
    users = db.scalars(select(User).where(User.role.in_([r.value for r in roles]),
                                          User.active, User.member_id.is_(None))
                       .order_by(User.username))
    return [principal_of(u) for u in users]


def login_key(login: str) -> str:
    """The one spelling of a login: what sign-in looks up, whatever way it was typed.

    Spaces, full-width characters, a lower-case member number and the ways of writing a
    phone all name one account, so they all count against its failed sign-ins.

    >>> login_key(" ｍ000000123 "), login_key("138-0013-8000"), login_key("admin")
    ('M000000123', '+8613800138000', 'admin')
    """
    text = canonical_text(login)[:MAX_LOGIN_LENGTH]
    return member_number_or_none(text) or _phone_or_none(text) or text


def find_login(db: Session, login: str) -> User | None:
    """A user by username, or a member's account by member number or mobile phone.

    A phone shared by several members' accounts names none of them (sign in by member
    number then), rather than whichever the database finds first.
    """
    key = login_key(login)
    user = db.scalar(select(User).where(User.username == key))
    if user is not None or not key:
        return user
    if key.startswith("+"):
        found = db.scalars(select(User).join(Member, Member.id == User.member_id)
                           .where(Member.phone == key).limit(2)).all()
        return found[0] if len(found) == 1 else None
    return db.scalar(select(User).join(Member, Member.id == User.member_id)
                     .where(Member.member_number == key))


def _phone_or_none(text: str) -> str | None:
    if not text or len(text) > 30:
        return None
    try:
        return normalise_phone(text)
    except ValidationFailed:
        return None


def check_password(db: Session, *, username: str, password: str, settings: Settings,
                   client: str | None = None) -> User:
    """The active user with these credentials; failed attempts are counted and limited.

    Failures count against the account (however its login was typed) and against the
    client's address; past either limit in a minute, even the right password gets 429.
    An unknown login is verified against a dummy hash, so it takes as long as a wrong
    password and its timing does not tell which logins exist.
    """
    user = find_login(db, username)
    keys = _limit_keys(user, username, client)
    _refuse_if_too_many(db, keys, settings)
    candidate_hash = user.password_hash if user is not None else dummy_hash()
    matches = verify_password(candidate_hash, password[:MAX_PASSWORD_LENGTH])
    if user is None or not user.active or not matches or len(password) > MAX_PASSWORD_LENGTH:
        _remember_failure(db, keys)
        raise Unauthorized("wrong username or password")
    return user


def _limit_keys(user: User | None, login: str, client: str | None) -> dict[str, str]:
    """What a failed sign-in counts against: the account, and the client's address."""
    keys = {"account": f"user:{user.id}" if user is not None else f"login:{login_key(login)}"}
    if client:
        keys["address"] = f"addr:{client}"
    return {kind: key[:LIMIT_KEY_LENGTH] for kind, key in keys.items()}


def _refuse_if_too_many(db: Session, keys: dict[str, str], settings: Settings) -> None:
    limits = {"account": settings.login_attempts_per_minute,
              "address": settings.login_attempts_per_minute_per_address}
    since = utcnow() - timedelta(minutes=1)
    for kind, key in keys.items():
        recent = db.scalar(select(func.count()).select_from(LoginAttempt).where(
            LoginAttempt.limit_key == key, LoginAttempt.at >= since))
        if recent >= limits[kind]:
            raise TooManyAttempts("too many failed sign-ins; wait a minute and try again")


def _remember_failure(db: Session, keys: dict[str, str]) -> None:
    # Written in its own transaction: the caller's transaction rolls back on the error.

    with session_factory(db.get_bind())() as s:
        s.add_all([LoginAttempt(limit_key=key) for key in keys.values()])
        s.execute(delete(LoginAttempt).where(LoginAttempt.at < utcnow() - timedelta(hours=1)))
        s.commit()


def authenticate(db: Session, *, username: str, password: str, settings: Settings,
                 client: str | None = None) -> Access:
    user = check_password(db, username=username, password=password, settings=settings,
                          client=client)
    return access_for(user, settings=settings)


def access_for(user: User, *, settings: Settings) -> Access:
    """A bearer token for an account whose credential was just checked (a password, or a
    code sent to its phone)."""
    principal = principal_of(user)
    token = issue_token(principal, secret=settings.secret_key,
                        minutes=settings.access_token_minutes,
                        stamp=credentials_stamp(user.password_hash, secret=settings.secret_key))
    return Access(principal=principal, token=token)


# Read on every signed-in request: built once (its compiled form is then found by the cache
# key the statement keeps, instead of a statement and a key made each time).
_ACCOUNT = select(User.username, User.role, User.member_id, User.active,
                  User.password_hash).where(User.id == bindparam("user_id"))


def principal_now(db: Session, *, claimed: Principal, stamp: str, secret: str) -> Principal:
    """The principal a token or cookie names, as its account stands now.

    Refused (Unauthorized) when the account no longer exists, is deactivated, has another
    role or member, or its password changed after the token or cookie was issued: a signed
    token is only as good as the account behind it, checked on every request.
    """
    # Columns, not objects: read through the connection, past the ORM's statement and
    # result handling (a tenth of a millisecond on every signed-in request).
    row = db.connection().execute(_ACCOUNT, {"user_id": claimed.user_id}).first()
    if row is None or not row.active:
        raise Unauthorized("this account no longer exists or is deactivated; sign in again")
    if row.role != claimed.role.value or row.member_id != claimed.member_id:
        raise Unauthorized("this account's role has changed; sign in again")
    if not hmac.compare_digest(stamp, credentials_stamp(row.password_hash, secret=secret)):
        raise Unauthorized("the password was changed after this sign-in; sign in again")
    return Principal(user_id=claimed.user_id, username=row.username, role=Role(row.role),
                     member_id=row.member_id)


def set_password(db: Session, *, username: str, password: str, actor: Principal = SYSTEM) -> User:
    """A new password for an account; every token and page session issued before it ends."""
    user = _user_named(db, username)
    check_new_password(password)
    user.password_hash = hash_password(password)
    audit.record(db, actor=actor, action="user.password", entity="user", entity_id=user.id)
    return user


def change_own_password(db: Session, *, principal: Principal, current: str, new: str,
                        settings: Settings, client: str | None = None) -> str:
    """A signed-in person changes their password (knowing the current one); returns the new
    token, since the one they used ends with the old password."""
    user = db.get(User, principal.user_id)
    if user is None:
        raise Unauthorized("this account no longer exists or is deactivated; sign in again")
    try:
        check_password(db, username=user.username, password=current, settings=settings,
                       client=client)
    except TooManyAttempts:
        raise
    except Unauthorized:
        raise ValidationFailed("current_password", "is not this account's password") from None
    set_password(db, username=user.username, password=new, actor=principal)
    return issue_token(principal_of(user), secret=settings.secret_key,
                       minutes=settings.access_token_minutes,
                       stamp=credentials_stamp(user.password_hash, secret=settings.secret_key))


def set_active(db: Session, *, username: str, active: bool, actor: Principal = SYSTEM) -> User:
    """Deactivate an account (its tokens and sessions are refused from the next request) or
    activate it again."""
    user = _user_named(db, username)
    user.active = active
    audit.record(db, actor=actor, action="user.activate" if active else "user.deactivate",
                 entity="user", entity_id=user.id)
    return user


def _user_named(db: Session, username: str) -> User:
    user = db.scalar(select(User).where(User.username == login_key(username)))
    if user is None:
        raise NotFound("no account named %(username)s", username=shown(username))
    return user


def check_new_password(password: str) -> None:
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise ValidationFailed("password", "must be %(least)s to %(most)s characters",
                               least=MIN_PASSWORD_LENGTH, most=MAX_PASSWORD_LENGTH)


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
    username = login_key(username)
    if not username or len(username) > 64:
        raise ValidationFailed("username", "must be 1 to %(limit)s characters", limit=64)
    if password_hash is None:
        check_new_password(password)
    if (role is Role.MEMBER) != (member_id is not None):
        raise ValidationFailed("member_id", "is required for member logins and only for them")
    if db.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict("username %(username)s is taken", username=f"{username!r}")
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
