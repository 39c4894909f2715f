"""Login accounts: staff users with a role, and member logins tied to a member."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from mutua.dates import utcnow
from mutua.db import Base, BigIntPK, UTCDateTime


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20), index=True)
    member_id: Mapped[int | None] = mapped_column(
        ForeignKey("members.id"), unique=True, default=None
    )
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class LoginAttempt(Base):
    """Failed sign-ins, for rate limiting: one row per thing a failure counts against, the
    account ("user:<id>", or "login:<login>" for one that names no account) and the client's
    address ("addr:<ip>")."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    limit_key: Mapped[str] = mapped_column(String(80), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class PhoneCode(Base):
    """A one-time code sent by SMS to prove a phone (sign-up; password reset, which is also
    an imported member's first sign-in; sign-in by code through the API).

    Only a keyed hash of the code is kept (auth.phone_codes.code_digest). The rows are also
    what limits sending: codes sent to a phone, and from a client address, in the last hour
    are counted here, so the limit holds across server processes. ``phone_seq`` and
    ``client_seq`` number the codes of one phone and of one address; their unique keys make
    two requests that counted the same codes at once take the same number, so only one of
    them is stored (auth.phone_codes.send tries the other again, and it meets the limit).
    """

    __tablename__ = "phone_codes"
    __table_args__ = (UniqueConstraint("phone", "phone_seq"),
                      UniqueConstraint("client", "client_seq"))

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    phone: Mapped[str] = mapped_column(String(20), index=True)
    purpose: Mapped[str] = mapped_column(String(12))  # "signup" | "reset" | "signin"
    code_hash: Mapped[str] = mapped_column(String(64))
    client: Mapped[str | None] = mapped_column(String(64), index=True, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(default=0)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    phone_seq: Mapped[int | None] = mapped_column(default=None)
    client_seq: Mapped[int | None] = mapped_column(default=None)


class SignInSession(Base):
    """One signed-in page session, named by the random id its cookie carries: the person
    can list where they are signed in and end any one of them."""

    __tablename__ = "sign_in_sessions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    client: Mapped[str | None] = mapped_column(String(64), default=None)
    user_agent: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
