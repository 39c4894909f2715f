"""Per-project books: accounts, journal entries and their postings. Rows are only inserted."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from mutua.dates import utcnow
from mutua.db import Base, BigIntPK, Money, UTCDateTime, large_table


class Account(Base):
    __tablename__ = "ledger_accounts"
    __table_args__ = (UniqueConstraint("project_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(12))  # asset|liability|equity|income|expense


class Entry(Base):
    __tablename__ = "ledger_entries"
    __table_args__ = (
        UniqueConstraint("project_id", "idempotency_key"),
        Index("ix_ledger_entries_project_date", "project_id", "entry_date"),
        large_table(),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    entry_date: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(32))
    memo: Mapped[str] = mapped_column(String(200))
    reference: Mapped[str] = mapped_column(String(64), default="")
    # Set for entries a job must post once only (a close, a payment batch).
    idempotency_key: Mapped[str | None] = mapped_column(String(80), default=None)
    reverses_entry_id: Mapped[int | None] = mapped_column(
        ForeignKey("ledger_entries.id"), default=None
    )
    posted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Posting(Base):
    """One line of an entry: positive amounts are debits, negative are credits."""

    __tablename__ = "ledger_postings"
    # Balances read by (project, account); the id makes it the project's unique key too.
    __table_args__ = (UniqueConstraint("project_id", "account_id", "id",
                                       name="uq_ledger_postings_project_account"),
                      large_table())

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("ledger_entries.id"), index=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"))
    amount: Mapped[Decimal] = mapped_column(Money())


class Overdraft(Base):
    """An approved overdraft facility (透支额度): how far below zero a project's cash may go.

    Recorded by a finance officer or an administrator with a reason, from a date and
    optionally until one; withdrawn rather than deleted.
    """

    __tablename__ = "ledger_overdrafts"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    limit: Mapped[Decimal] = mapped_column(Money())
    reason: Mapped[str] = mapped_column(String(500))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date, default=None)  # inclusive
    approved_by: Mapped[int]
    approved_by_name: Mapped[str] = mapped_column(String(80))
    approved_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    withdrawn_by: Mapped[int | None] = mapped_column(default=None)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
