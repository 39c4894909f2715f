"""Collection files, the payments they and the providers' callbacks carry, and the nonces
that keep a callback from being replayed."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from mutua.dates import utcnow
from mutua.db import Base, BigIntPK, BoundedText, Money, UTCDateTime, large_table


class CollectionFile(Base):
    """A settlement file from a bank or a payment platform, kept by its hash: the same
    file uploaded again is refused whole, so nothing in it posts twice."""

    __tablename__ = "collection_files"
    __table_args__ = (UniqueConstraint("project_id", "sha256"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    sha256: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(20))  # bank | wechat | alipay
    filename: Mapped[str] = mapped_column(BoundedText(200), default="")
    lines: Mapped[int]
    posted: Mapped[int]
    queued: Mapped[int]
    repeated: Mapped[int]  # lines whose transaction an earlier file or callback brought
    amount: Mapped[Decimal] = mapped_column(Money())
    uploaded_by: Mapped[int | None] = mapped_column(default=None)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CollectedPayment(Base):
    """One payment received: a line of a collection file or a provider's callback.

    ``state`` posted (matched a due exactly and paid it), queued (waiting for finance:
    ``reason`` partial | over | duplicate | unknown | late), matched (finance applied it
    to a due), refunded (paid back through the provider), held (kept in suspense, with a
    note). The transaction id is unique per project and source: a payment is taken once.
    """

    __tablename__ = "collected_payments"
    __table_args__ = (
        UniqueConstraint("project_id", "source", "transaction_id"),
        Index("ix_collected_payments_project_state", "project_id", "state"),
        Index("ix_collected_payments_file", "file_id"),
        large_table(),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    file_id: Mapped[int | None] = mapped_column(ForeignKey("collection_files.id"), default=None)
    line_no: Mapped[int] = mapped_column(default=0)  # 0 for a callback
    source: Mapped[str] = mapped_column(String(20))
    transaction_id: Mapped[str] = mapped_column(String(64))
    reference: Mapped[str] = mapped_column(String(32))
    member_number: Mapped[str] = mapped_column(String(20), default="")
    payer: Mapped[str] = mapped_column(BoundedText(100), default="")
    amount: Mapped[Decimal] = mapped_column(Money())
    paid_on: Mapped[date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str] = mapped_column(String(12), default="")
    matched_reference: Mapped[str] = mapped_column(String(32), default="")
    refund_id: Mapped[str] = mapped_column(String(64), default="")
    note: Mapped[str] = mapped_column(BoundedText(500), default="")
    resolved_by: Mapped[int | None] = mapped_column(default=None)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CallbackNonce(Base):
    """A nonce a provider's signed callback carried: seen once, refused after (replay)."""

    __tablename__ = "payment_callback_nonces"
    __table_args__ = (UniqueConstraint("project_id", "provider", "nonce"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    provider: Mapped[str] = mapped_column(String(20))
    nonce: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
