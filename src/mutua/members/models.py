"""Members (会员): every policyholder is an owner of the mutual."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from mutua.dates import utcnow
from mutua.db import Base, BigIntPK, BoundedText, UTCDateTime


class Member(Base):
    __tablename__ = "members"
    __table_args__ = (
        # Dependants only: the members who pay for themselves (most rows) stay out of it.
        Index("ix_members_payer_id", "payer_id", postgresql_where=text("payer_id IS NOT NULL"),
              sqlite_where=text("payer_id IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    member_number: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(60))
    # Resident ID number (GB 11643). Shown masked except to roles that need it.
    id_number: Mapped[str] = mapped_column(String(18), unique=True)
    birth_date: Mapped[date] = mapped_column(Date)
    sex: Mapped[str] = mapped_column(String(1))  # "F" | "M", from the ID number
    phone: Mapped[str] = mapped_column(String(20), index=True)  # E.164, e.g. +8613800138000
    occupation_code: Mapped[str] = mapped_column(String(12))
    occupation_class: Mapped[int]
    city: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(12), default="active")
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # A dependant (家属: a child, parent or spouse) is insured under their own member record
    # and paid for by the member ``payer_id`` (members.dependants); None for everyone else.
    payer_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), default=None)
    relation: Mapped[str | None] = mapped_column(String(8), default=None)


class ClosureRequest(Base):
    """A member asks for their account to be closed (issue 19 item 5). Staff close it once
    nothing is in force or open; the records stay as long as the law keeps them."""

    __tablename__ = "member_closure_requests"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    reason: Mapped[str] = mapped_column(BoundedText(500), default="")
    status: Mapped[str] = mapped_column(String(12), default="requested")  # requested | closed
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    handled_by: Mapped[str | None] = mapped_column(String(80), default=None)
