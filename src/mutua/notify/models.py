"""The notifications outbox (which is also the member's inbox), each delivery by SMS or
e-mail, and how each member wants to be told."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from mutua.dates import utcnow
from mutua.db import Base, BigIntPK, Money, UTCDateTime, large_table


class Notification(Base):
    """Something that happened which a member is told about, written in the transaction of
    the event itself (a claim decided, a quarter closed), so one is never without the other.

    The text is not stored: ``event`` names a translated template (web/notices.py) and the
    row carries its values (a claim number, a quarter, an amount), so the inbox reads in the
    member's language of the day and no personal data beyond those values is kept.
    ``dispatched_at`` is set once its SMS and e-mail deliveries are queued.
    """

    __tablename__ = "notifications"
    # (project_id, id): the key a distributed table needs, and the index by project.
    __table_args__ = (Index("ix_notifications_member_read", "member_id", "read_at"),
                      Index("ix_notifications_event_ref", "event", "ref_id"),
                      UniqueConstraint("project_id", "id"), large_table())

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    # No foreign keys: the rows are bulk-written (a close tells every member of a pool).
    # The event's project, or the mutual-wide one (catalog/mutual.py) for an account notice
    # or a mutual-wide vote.
    project_id: Mapped[int] = mapped_column()
    member_id: Mapped[int] = mapped_column(BigInteger)
    event: Mapped[str] = mapped_column(String(32))
    ref_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    ref_text: Mapped[str] = mapped_column(String(200), default="")
    amount: Mapped[Decimal | None] = mapped_column(Money(), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None,
                                                           index=True)


class Delivery(Base):
    """One notification sent (or being sent) by one channel: its attempts, the carrier's id,
    the last error, and when to try again."""

    __tablename__ = "notification_deliveries"
    # (notification_id, project_id, id) replaces the index on notification_id: it finds a
    # notification's deliveries as that did and is the key a distributed table needs.
    __table_args__ = (Index("ix_notification_deliveries_due", "status", "next_attempt_at"),
                      UniqueConstraint("notification_id", "project_id", "id"), large_table())

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    notification_id: Mapped[int] = mapped_column(BigInteger)
    project_id: Mapped[int] = mapped_column()  # its notification's
    member_id: Mapped[int] = mapped_column(BigInteger)
    channel: Mapped[str] = mapped_column(String(8))  # sms | email
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending|sent|failed
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    # Where it went, masked (+86138****8000, l***@example.com), and the carrier's message id.
    sent_to: Mapped[str] = mapped_column(String(120), default="")
    carrier_id: Mapped[str] = mapped_column(String(80), default="")
    last_error: Mapped[str] = mapped_column(String(200), default="")


class ContactPreference(Base):
    """How a member wants to be told: channels and language. A member without a row gets
    the inbox and SMS in Chinese."""

    __tablename__ = "member_contact_preferences"

    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), primary_key=True)
    sms: Mapped[bool] = mapped_column(default=True)
    email: Mapped[bool] = mapped_column(default=False)
    email_address: Mapped[str | None] = mapped_column(String(120), default=None)
    locale: Mapped[str] = mapped_column(String(8), default="zh_CN")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
