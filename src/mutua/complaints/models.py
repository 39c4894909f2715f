"""A member's complaint and its way to an answer."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from mutua.dates import utcnow
from mutua.db import Base, BigIntPK, BoundedText, UTCDateTime
from mutua.db import catalogue_table as db_catalogue_table

TEXT_LIMIT = 2000
ANSWER_LIMIT = 4000
NAME_LIMIT = 40  # of a holiday: 国庆节调休
SOURCE_LIMIT = 200  # the notice that set it


class Complaint(Base):
    __tablename__ = "complaints"
    __table_args__ = (Index("ix_complaints_quarter_cause", "quarter", "cause"),
                      Index("ix_complaints_status_due", "status", "answer_due_on"))

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True)  # TS000000001
    project_id: Mapped[int | None] = mapped_column(default=None, index=True)
    member_id: Mapped[int] = mapped_column(BigInteger, index=True)
    cause: Mapped[str] = mapped_column(String(12))  # claim | service | decision | premium | other
    claim_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    text: Mapped[str] = mapped_column(BoundedText(TEXT_LIMIT))
    status: Mapped[str] = mapped_column(String(14), default="received")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    received_on: Mapped[date] = mapped_column(Date)  # Asia/Shanghai
    quarter: Mapped[str] = mapped_column(String(7))  # of received_on, for the report
    acknowledge_due_on: Mapped[date] = mapped_column(Date)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    answer_due_on: Mapped[date] = mapped_column(Date)
    extension_reason: Mapped[str] = mapped_column(BoundedText(TEXT_LIMIT), default="")
    owner_id: Mapped[int | None] = mapped_column(default=None)
    owner_name: Mapped[str | None] = mapped_column(String(80), default=None)
    answer: Mapped[str] = mapped_column(BoundedText(ANSWER_LIMIT), default="")
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    answered_on: Mapped[date | None] = mapped_column(Date, default=None)
    answered_by: Mapped[str | None] = mapped_column(String(80), default=None)


class CalendarDay(Base):
    """A public holiday, or a weekend day worked in its place (调休), in mainland China:
    what the working-day calendar changes from Monday to Friday (complaints/calendar.py)."""

    __tablename__ = "working_calendar_days"
    __table_args__ = (db_catalogue_table(),)

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))  # holiday | workday
    name: Mapped[str] = mapped_column(String(NAME_LIMIT))
    source: Mapped[str] = mapped_column(String(SOURCE_LIMIT), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(80), default="")
